"""Keras 3's ``keras.random`` in PyTorch, with the numbers of Keras's TensorFlow backend.

A Keras 3 model or loss that draws noise (a VAE's reparameterisation ``keras.random.normal(shape,
seed=self.seed_generator)``, input noise, a random mask, a shuffled batch) ports by changing its import::

    from torch_impl import keras_random as random     # was: from keras import random

and then draws *the same numbers* as the Keras run, so training histories stay comparable. ``torch.randn`` with
``torch.manual_seed`` gives other numbers.

Every draw is TensorFlow's stateless CPU kernel (Philox4x32-10, :mod:`torch_impl._tf_random`) on the seed pair
Keras's ``draw_seed`` makes:

* ``seed=int``: the pair ``(seed, 0)``, so two calls with the same integer give the same values (Keras's draws
  are stateless);
* ``seed=SeedGenerator(s)``: ``(s, counter)``, the counter advancing by one per draw (Keras's ``next()``);
* ``seed=None``: Keras's global generator, made on first use with a seed from Python's ``random`` (so after
  :func:`set_random_seed`, Keras's ``keras.utils.set_random_seed``, the same stream), advanced by Keras's
  unordered step ``state = (state + 1) * 5387 % 933199``.

Both numbers are reduced ``mod 2**31 - 2`` (Keras's ``_cast_seed``).

``uniform``, ``randint``, ``dropout``, ``shuffle``, ``binomial``, ``categorical`` and float32 ``gamma``/``beta`` are
equal to Keras's bit for bit (float64 ``gamma`` to a few ulp). ``normal`` and ``truncated_normal`` are too on Linux:
TensorFlow's Box-Muller calls the C library's ``logf``/``sincosf`` (``log``/``sincos``), which are not correctly
rounded; glibc's float32 ones are replayed step for step, the float64 ones called (:mod:`torch_impl._tf_random`).
Elsewhere (Windows, macOS) they are evaluated in float64 and rounded: an ulp off on ~1% of the values.

The values:

* ``normal``: ``z * stddev + mean``; ``truncated_normal`` the same from TensorFlow's truncated draw (``|z| < 2``);
  ``uniform``: ``u * (maxval - minval) + minval`` with the bounds cast to ``dtype`` (a Python float becomes a
  float32 first, as ``tf.cast`` does);
* ``randint``: ``minval + bits % (maxval - minval)`` from one 32-bit word per int32 value, two per int64 value
  (other integer dtypes drawn as int64 and cast);
* ``dropout``: ``where(u >= rate, x / (1 - rate), 0)`` with ``u`` uniform in ``x``'s dtype over ``noise_shape``
  (``None`` entries take ``x``'s size); ``rate`` 0 returns ``x`` and 1 zeros, drawing nothing;
* ``shuffle``: ``x`` gathered along ``axis`` by the argsort of a float32 uniform draw;
* ``gamma``: TensorFlow's ``stateless_gamma`` kernel step for step (Marsaglia-Tsang rejection on float64
  normals and uniforms, each value from its own stream); ``beta``: ``X / (X + Y)`` of two gamma draws, the second
  with the seed pair plus 12, as Keras does.

* ``binomial``: TensorFlow's ``stateless_binomial`` kernel step for step (BTRS rejection or binomial inversion per
  output, each from its own stream);
* ``categorical``: TensorFlow's multinomial kernel, its rows split over TensorFlow's thread pool as Eigen's
  ``parallelFor`` splits them (each block reads the stream from its own offset), for a given thread count.

Every function of ``keras.random`` is here.

Example (keras.io's VAE ``Sampling`` layer, ported):
    >>> import torch
    >>> from torch_impl import keras_random as random
    >>> gen = random.SeedGenerator(1337)
    >>> z_mean = torch.zeros(2, 3, dtype=torch.float64)
    >>> z_log_var = torch.zeros(2, 3, dtype=torch.float64)
    >>> eps = random.normal(shape=(2, 3), dtype="float64", seed=gen)   # Keras: the same six values
    >>> z = z_mean + torch.exp(0.5 * z_log_var) * eps
    >>> gen.state    # (seed, counter): the next draw uses counter 1
    (1337, 1)
    >>> torch.equal(random.normal((4,), seed=7), random.normal((4,), seed=7))   # an int seed is stateless
    True
"""

from __future__ import annotations

import math
import random as _py_random
from typing import Optional, Sequence, Union

import numpy as np
import torch

from torch_impl import _tf_random
from torch_impl._ops import _tf_threads, tf_cast
from torch_impl._tf_random import SEED_MOD

__all__ = ["SeedGenerator", "normal", "uniform", "truncated_normal", "randint", "dropout", "shuffle", "gamma",
           "beta", "binomial", "categorical", "set_random_seed", "reset_global_generator", "draw_seed"]

_FLOATS = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64}
_INTS = {"int8": torch.int8, "int16": torch.int16, "int32": torch.int32, "int64": torch.int64, "uint8": torch.uint8,
         "uint16": torch.uint16, "uint32": torch.uint32, "uint64": torch.uint64}
_U32, _U64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF


class SeedGenerator(_tf_random.SeedGenerator):
    """Keras's ``keras.random.SeedGenerator(seed=None, name=None)``: the state ``(seed, counter)``; each draw
    that takes it as ``seed=`` uses the state, then the counter advances by one. ``seed=None`` draws the seed from
    Python's ``random`` (``randint(1, 10**9)``, Keras's ``make_default_seed``).

    Example:
        >>> gen = SeedGenerator(42)
        >>> a, b = normal((2,), seed=gen), normal((2,), seed=gen)
        >>> gen.state, torch.equal(a, b)
        ((42, 2), False)
    """

    def __init__(self, seed: Optional[int] = None, name: Optional[str] = None, **kwargs):
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
        self._init_seed(seed, draws=True)
        self._config_seed = seed
        self.name = name if name is not None else "seed_generator"

    def next(self, ordered: bool = True) -> tuple:
        """The seed pair of this draw, as Keras's ``next``: the state before the step; the step adds one to the
        counter (``ordered``) or maps both numbers to ``(v + 1) * 5387 % 933199`` (the global generator's)."""
        seed, counter = self.state
        if ordered:
            self.state = (seed, counter + 1)
        else:
            self.state = (_int64((seed + 1) * 5387) % 933199, _int64((counter + 1) * 5387) % 933199)
        return seed, counter

    def get_config(self) -> dict:
        return {"seed": self._config_seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> "SeedGenerator":
        return cls(**config)

    def __repr__(self) -> str:
        return f"SeedGenerator(state={self.state})"


def _int64(v: int) -> int:
    """Wrap to int64, as Keras's int64 state variable does."""
    v &= _U64
    return v - (1 << 64) if v >= 1 << 63 else v


_GLOBAL: dict = {"generator": None}


def set_random_seed(seed: int) -> None:
    """Keras's ``keras.utils.set_random_seed(seed)``: seeds Python's ``random``, NumPy and torch, resets the
    global generator that ``seed=None`` draws use (remade on next use with a seed from Python's ``random``) and,
    as its ``tf.random.set_seed``, sets the global seed of ``keras_backend``'s stateful draws (``K.random_normal``...)
    and starts their generators over."""
    if not isinstance(seed, int):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed} (of type {type(seed)})")
    _py_random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    _GLOBAL["generator"] = None
    _tf_random.set_global_seed(seed)


def reset_global_generator() -> None:
    """Drop the global generator that ``seed=None`` draws use (the next such draw makes a new one with a seed from
    Python's ``random``), without reseeding anything. Keras keeps that generator per thread: seedless draws in a
    Python generator that ``fit`` reads from TensorFlow's threads start a new generator for each batch after the
    first two (which Keras reads on the main thread); a port reproduces that by calling this before each later
    batch (``parity_tests/test_field_scripts_round15.py``, MixUp)."""
    _GLOBAL["generator"] = None


def draw_seed(seed: Union[int, SeedGenerator, None]) -> tuple:
    """The ``(seed, counter)`` pair a draw uses, after Keras's ``draw_seed`` and the TensorFlow backend's
    ``_cast_seed`` (both numbers ``mod 2**31 - 2``)."""
    if isinstance(seed, SeedGenerator):
        pair = seed.next()
    elif isinstance(seed, _tf_random.SeedGenerator):
        pair = seed._next_seed()
    elif isinstance(seed, int) and not isinstance(seed, bool):  # Keras: a Python int (not a NumPy one, nor a bool)
        pair = (int(seed), 0)
    elif seed is None:
        if _GLOBAL["generator"] is None:
            _GLOBAL["generator"] = SeedGenerator()
        pair = _GLOBAL["generator"].next(ordered=False)
    else:
        raise ValueError("Argument `seed` must be either an integer or an instance of `SeedGenerator`. "
                         f"Received: seed={seed} (of type {type(seed)})")
    return pair[0] % SEED_MOD, pair[1] % SEED_MOD


def _float_dtype(dtype) -> torch.dtype:
    if dtype is None:
        return torch.get_default_dtype()
    if isinstance(dtype, torch.dtype):
        if dtype in _FLOATS.values():
            return dtype
    elif str(dtype) in _FLOATS:
        return _FLOATS[str(dtype)]
    raise ValueError(f"Invalid dtype for a floating draw: {dtype} (float16, bfloat16, float32 or float64)")


def _shape(shape) -> tuple:
    if isinstance(shape, int):
        shape = (shape,)
    shape = tuple(int(s) for s in shape)
    for s in shape:
        if s < 0:
            raise ValueError(f"Dimension {s} must be >= 0 (TensorFlow raises InvalidArgumentError)")
    return shape


def _convert(value, dtype: torch.dtype, device=None) -> torch.Tensor:
    """``tf.convert_to_tensor(value, dtype)`` of a mean/stddev: a Python number straight into ``dtype``."""
    if isinstance(value, torch.Tensor):
        return value.to(dtype=dtype, device=device)
    return torch.as_tensor(np.asarray(value), dtype=dtype, device=device)


def normal(shape: Sequence[int], mean=0.0, stddev=1.0, dtype=None, seed=None, device=None) -> torch.Tensor:
    """``keras.random.normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None)``: TensorFlow's
    ``stateless_normal``, ``z * stddev + mean`` in ``dtype`` (floatx when None).

    Example:
        >>> normal((3,), dtype="float32", seed=1)    # keras.random.normal((3,), seed=1)
        tensor([ 0.1267, -0.4930,  0.6312])
    """
    dt, shape = _float_dtype(dtype), _shape(shape)
    z = _tf_random.stateless_normal(shape, draw_seed(seed), dt, device)
    return z * _convert(stddev, dt, device) + _convert(mean, dt, device)


def truncated_normal(shape: Sequence[int], mean=0.0, stddev=1.0, dtype=None, seed=None,
                     device=None) -> torch.Tensor:
    """``keras.random.truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None)``: TensorFlow's
    ``stateless_truncated_normal`` (``|z| < 2``), ``z * stddev + mean``."""
    dt, shape = _float_dtype(dtype), _shape(shape)
    z = _tf_random.stateless_truncated_normal(shape, draw_seed(seed), dt, device)
    return z * _convert(stddev, dt, device) + _convert(mean, dt, device)


def uniform(shape: Sequence[int], minval=0.0, maxval=1.0, dtype=None, seed=None, device=None) -> torch.Tensor:
    """``keras.random.uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None)``: TensorFlow's
    ``stateless_uniform``, ``u * (maxval - minval) + minval`` with the bounds ``tf.cast`` to ``dtype``.
    Keras asks for a floating dtype here (integers: :func:`randint`)."""
    if dtype is not None and (str(dtype) in _INTS or dtype in _INTS.values()):
        raise ValueError("`keras.random.uniform` requires a floating point `dtype`. Received: "
                         f"dtype={dtype}. For integer samples, use `keras.random.randint`.")
    dt, shape = _float_dtype(dtype), _shape(shape)
    lo, hi = tf_cast(minval, dt, device), tf_cast(maxval, dt, device)
    return _tf_random.stateless_uniform(shape, draw_seed(seed), dt, device) * (hi - lo) + lo


def randint(shape: Sequence[int], minval, maxval, dtype="int32", seed=None, device=None) -> torch.Tensor:
    """``keras.random.randint(shape, minval, maxval, dtype="int32", seed=None)``: integers in
    ``[minval, maxval)``, TensorFlow's ``stateless_uniform`` for int32 (one Philox word per value) or int64 (two
    words; the other integer dtypes are drawn as int64 and cast), ``minval + bits % (maxval - minval)``."""
    name = str(dtype).replace("torch.", "")
    if name not in _INTS:
        raise ValueError(f"`keras.random.randint` requires an integer `dtype`. Received: dtype={name} ")
    shape = _shape(shape)
    for bound in (minval, maxval):
        if isinstance(bound, float) or (isinstance(bound, torch.Tensor) and bound.is_floating_point()):
            raise TypeError(f"Cannot convert {bound} to EagerTensor of dtype {name} (keras.random.randint takes "
                            "integer bounds)")
    lo, hi = int(minval), int(maxval)
    if hi <= lo:
        raise ValueError(f"Need minval < maxval, got {lo} >= {hi} (TensorFlow raises InvalidArgumentError)")
    draw = "int32" if name == "int32" else "int64"
    n = int(np.prod(shape, dtype=np.int64))
    per = 4 if draw == "int32" else 2
    words = _tf_random._blocks(draw_seed(seed), torch.arange((n + per - 1) // per, dtype=torch.int64,
                                                             device=device)).reshape(-1)
    span = hi - lo
    if draw == "int32":
        bits = words[:n]
        values = lo + torch.remainder(bits, span)  # words are uint32 in int64: exact
    else:
        lo_w, hi_w = words[0::2][:n], words[1::2][:n]
        # (hi << 32 | lo) % span without uint64: split the modulus by Horner's rule in Python ints when needed
        if span <= 1 << 31:
            values = lo + torch.remainder(torch.remainder(hi_w, span) * ((1 << 32) % span) + lo_w, span)
        else:
            full = [(int(h) << 32 | int(w)) % span for h, w in zip(hi_w.tolist(), lo_w.tolist())]
            values = torch.tensor([lo + v for v in full], dtype=torch.int64, device=device)
    return values.to(torch.int64).reshape(shape).to(_INTS[name])


def _gamma_draw(shape: tuple, pair: tuple, alpha, dt: torch.dtype, device) -> torch.Tensor:
    """``tf.random.stateless_gamma(shape, seed=pair, alpha, dtype=dt)``: the kernel's draws, at least float ``tiny``."""
    a = _convert(alpha, dt, device)
    g = _tf_random.stateless_gamma(shape, pair, a, dt, device)
    return torch.maximum(g, torch.tensor(torch.finfo(dt).tiny, dtype=dt, device=device))


def _work_dtype(dt: torch.dtype) -> torch.dtype:
    return torch.float32 if dt == torch.bfloat16 else dt  # TensorFlow's gamma has no bfloat16 kernel: Keras's float32


def gamma(shape: Sequence[int], alpha, dtype=None, seed=None, device=None) -> torch.Tensor:
    """``keras.random.gamma(shape, alpha, dtype=None, seed=None)``: TensorFlow's ``stateless_gamma`` (unit scale;
    Marsaglia-Tsang rejection on float64 normals and uniforms, each value from its own Philox stream), at least
    the dtype's ``tiny``. ``alpha`` (a number, or a tensor whose shape ends ``shape``) is rounded to ``dtype`` first.

    Example (keras.io's MixUp: ``sample_beta_distribution`` from two gamma draws):
        >>> g1 = gamma((3,), alpha=0.2, dtype="float32", seed=1)
        >>> g2 = gamma((3,), alpha=0.2, dtype="float32", seed=2)
        >>> lam = g1 / (g1 + g2)      # the mixing weights Keras draws with the same seeds
        >>> bool(((lam >= 0) & (lam <= 1)).all())
        True
    """
    dt, shape = _float_dtype(dtype), _shape(shape)
    work = _work_dtype(dt)
    return _gamma_draw(shape, draw_seed(seed), alpha, work, device).to(dt)


def beta(shape: Sequence[int], alpha, beta, dtype=None, seed=None, device=None) -> torch.Tensor:
    """``keras.random.beta(shape, alpha, beta, dtype=None, seed=None)``: ``X / (X + Y)`` of two gamma draws, ``X``
    with the seed pair drawn and ``alpha``, ``Y`` with that pair plus 12 (both numbers, as Keras does) and
    ``beta``; both parameters broadcast to ``shape`` first."""
    dt, shape = _float_dtype(dtype), _shape(shape)
    work = _work_dtype(dt)
    s1 = draw_seed(seed)
    s2 = (s1[0] + 12, s1[1] + 12)
    a = torch.broadcast_to(_convert(alpha, work, device), shape)
    b = torch.broadcast_to(_convert(beta, work, device), shape)
    ga = _gamma_draw(shape, s1, a, work, device).to(dt)
    gb = _gamma_draw(shape, s2, b, work, device).to(dt)
    return ga / (ga + gb)


def _hinted(value, hint: torch.dtype, device) -> torch.Tensor:
    """``tf.convert_to_tensor(value, dtype_hint=hint)``, eager: a tensor keeps its dtype; a NumPy array or scalar
    (float64 included: TensorFlow 2.21 casts it, rounding) and a Python number take ``hint``."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    return torch.as_tensor(np.asarray(value)).to(device=device, dtype=hint)


def binomial(shape: Sequence[int], counts, probabilities, dtype=None, seed=None, device=None) -> torch.Tensor:
    """``keras.random.binomial(shape, counts, probabilities, dtype=None, seed=None)``: TensorFlow's
    ``stateless_binomial`` kernel step for step (per output its own Philox stream: Hormann's BTRS rejection where
    ``count * p >= 10``, binomial inversion below, ``p = min(prob, 1 - prob)``; the branch tests in the
    probabilities' dtype, float32 for Python numbers), in ``dtype`` (floatx)."""
    dt, shape = _float_dtype(dtype), _shape(shape)
    work = _work_dtype(dt)
    pair = draw_seed(seed)
    probs = _hinted(probabilities, torch.float32, device)
    counts_t = _hinted(counts, probs.dtype, device)
    if counts_t.dtype != probs.dtype:
        raise TypeError(f"counts ({counts_t.dtype}) and probabilities ({probs.dtype}) must have the same dtype, as "
                        "TensorFlow's StatelessRandomBinomial requires")
    return _tf_random.stateless_binomial(shape, pair, counts_t, probs, work, device).to(dt)


def _divup(a: int, b: int) -> int:
    return (a + b - 1) // b


def _eigen_parallel_for_blocks(n: int, cost: int, threads: int) -> list:
    """The row blocks Eigen's ``ThreadPoolDevice::parallelFor`` (TensorFlow's ``Shard``) cuts ``n`` rows of
    ``cost`` cycles each into on ``threads`` threads: its cost model (100000 startup and per-thread cycles, 40000 per
    task), its block size with at most 4x oversharding and the efficiency search, then its recursive halving."""
    wanted = int((n * cost - 100000) / 100000 + 0.9)
    if n == 1 or threads == 1 or min(threads, max(1, wanted)) == 1:
        return [(0, n)]
    block_size = int(min(n, max(_divup(n, 4 * threads), 1.0 / (cost / 40000))))
    max_block_size = min(n, 2 * block_size)
    block_count = _divup(n, block_size)
    best = block_count / (_divup(block_count, threads) * threads)
    prev = block_count
    while best < 1.0 and prev > 1:
        coarser = _divup(n, prev - 1)
        if coarser > max_block_size:
            break
        count = _divup(n, coarser)
        prev = count
        efficiency = count / (_divup(count, threads) * threads)
        if efficiency + 0.01 >= best:
            block_size, block_count = coarser, count
            best = max(best, efficiency)
    blocks = []
    stack = [(0, n)]
    while stack:
        first, last = stack.pop()
        while last - first > block_size:
            mid = first + _divup((last - first) // 2, block_size) * block_size
            stack.append((mid, last))
            last = mid
        blocks.append((first, last))
    return sorted(blocks)


def categorical(logits, num_samples: int, dtype="int32", seed=None, num_threads: Optional[int] = None):
    """``keras.random.categorical(logits, num_samples, dtype="int32", seed=None)``: TensorFlow's
    ``stateless_categorical`` (its multinomial CPU kernel): per row, the running sum of ``exp(logit - max)`` over the
    finite logits in float64, and per sample the first class whose running sum exceeds ``u * total`` with ``u`` a
    float64 uniform from two Philox words.

    TensorFlow splits the rows over its thread pool when the work is large (about ``rows * 50 * (num_samples *
    log2(C) + C) > 110000`` cycles), and each block of rows reads the stream from its own offset, so the draws
    depend on the thread count: ``num_threads`` is TensorFlow's intra-op thread count (default: the CPUs this
    process may run on, TensorFlow's default). Small batches (text generation's single row) do not depend on it.

    Example:
        >>> categorical(torch.tensor([[0.0, 2.0, -1.0]]), 5, seed=1)     # keras.random.categorical(..., seed=1)
        tensor([[0, 1, 0, 1, 1]], dtype=torch.int32)
    """
    lg = logits.detach() if isinstance(logits, torch.Tensor) else torch.as_tensor(np.asarray(logits))
    if lg.dim() != 2:
        raise ValueError(f"`logits` should be a 2-D tensor with shape [batch_size, num_classes]. Received: "
                         f"logits={tuple(lg.shape)}")
    name = str(dtype).replace("torch.", "")
    if name not in _INTS:
        raise ValueError(f"categorical: dtype must be an integer dtype, got {dtype}")
    pair = draw_seed(seed)
    rows, classes = lg.shape
    num_samples = int(num_samples)
    x = lg.to(torch.float64)
    u = torch.empty(rows, num_samples, dtype=torch.float64, device=x.device)
    if rows and num_samples:
        cost = int(50 * (num_samples * math.log(classes) / math.log(2) + classes)) if classes else 50 * num_samples
        for r0, r1 in _eigen_parallel_for_blocks(rows, cost, num_threads or _tf_threads()):
            n_words = (r1 - r0) * num_samples * 2
            first = r0 * (num_samples + 3) // 4  # the block's Skip, in 128-bit units
            words = _tf_random._blocks(pair, first + torch.arange((n_words + 3) // 4, dtype=torch.int64,
                                                                  device=x.device)).reshape(-1)[:n_words]
            u[r0:r1] = _tf_random._unit_float64(words[0::2], words[1::2]).reshape(r1 - r0, num_samples)
    finite = torch.isfinite(x)
    lowest = float(torch.finfo(lg.dtype).min) if lg.is_floating_point() else float(np.finfo(np.float64).min)
    peak = torch.where(finite, x, torch.tensor(lowest, dtype=torch.float64, device=x.device)).amax(1, keepdim=True) \
        if classes else torch.zeros(rows, 1, dtype=torch.float64, device=x.device)
    e = torch.where(finite, torch.exp(x - peak), torch.zeros((), dtype=torch.float64, device=x.device))
    cdf = torch.cumsum(e, 1)
    total = cdf[:, -1:] if classes else torch.zeros(rows, 1, dtype=torch.float64, device=x.device)
    out = torch.searchsorted(cdf.contiguous(), (u * total).contiguous(), right=True)
    return out.to(_INTS[name])


def dropout(inputs: torch.Tensor, rate: float, noise_shape=None, seed=None) -> torch.Tensor:
    """``keras.random.dropout(inputs, rate, noise_shape=None, seed=None)``: TensorFlow's ``stateless_dropout``,
    ``where(u >= rate, inputs * (1 / (1 - rate)), 0)`` with ``u`` uniform in ``inputs``' dtype over
    ``noise_shape`` (``None`` entries take the input's size). ``rate`` 0 returns ``inputs``, 1 zeros (no draw)."""
    x = inputs if isinstance(inputs, torch.Tensor) else torch.as_tensor(inputs)
    rate = float(rate)
    if rate == 1.0:
        return torch.zeros_like(x)
    if rate == 0.0:
        return x
    pair = draw_seed(seed)  # drawn first, as Keras does: a SeedGenerator advances even when the rate is refused
    if not 0 <= rate < 1:
        raise ValueError(f"`rate` must be a scalar tensor or a float in the range [0, 1). Received: rate={rate}")
    shape = tuple(x.shape) if noise_shape is None else tuple(
        x.shape[i] if s is None else int(s) for i, s in enumerate(noise_shape))
    return _tf_random.apply_dropout(x, _tf_random.stateless_uniform(shape, pair, _float_dtype(x.dtype), x.device), rate)


def shuffle(x: torch.Tensor, axis: int = 0, seed=None) -> torch.Tensor:
    """``keras.random.shuffle(x, axis=0, seed=None)``: ``x`` gathered along ``axis`` by the argsort of a float32
    ``stateless_uniform`` of its length."""
    x = x if isinstance(x, torch.Tensor) else torch.as_tensor(x)
    n = x.shape[axis]
    u = _tf_random.stateless_uniform((n,), draw_seed(seed), torch.float32, x.device)
    order = torch.argsort(u, stable=True)
    return torch.index_select(x, axis, order)

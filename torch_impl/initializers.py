"""Keras 3 initializers for torch tensors: the same initial values as Keras on TensorFlow for the same seed.

``keras.initializers`` draws its random values with TensorFlow's stateless random ops from a seed pair
``[seed, 0]`` (an integer ``seed``), or from a seed that ``random.randint(1, 10**9)`` of Python's global
``random`` module picks when the initializer is made (``seed=None``: so after ``keras.utils.set_random_seed(s)``, or ``random.seed(s)`` here, the initializers made
in the same order get the same seeds).
:mod:`torch_impl._tf_random` reproduces those ops: uniform draws bit for bit; normal and truncated normal draws
bit for bit on Linux (TensorFlow's Box-Muller calls glibc's ``logf`` and ``sincosf``, replayed there; elsewhere
evaluated in float64 and rounded, about 1% of the values an ulp off); ``Orthogonal``'s QR factorization adds float
rounding.

Values come in Keras's layout: a ``Dense`` kernel ``(in, out)``, a ``Conv2D`` kernel ``(kh, kw, in, out)``.
:func:`torch_impl.nn.keras_init_` with ``seed=`` puts them into a torch model in torch's layout. The rules that
decide the figures, from Keras's source: ``VarianceScaling``'s fans (``(in, out)`` for a matrix, times the
receptive field for a kernel of higher rank); uniform limits through ``tf.cast`` of a Python float (float32
rounding, even for float64 weights); truncated normal's ``stddev / 0.87962566103423978`` and cut at 2 standard
deviations; ``Constant`` values through ``ops.cast`` (float32 rounding too).

Example:
    >>> import torch
    >>> from torch_impl import initializers
    >>> w = initializers.GlorotUniform(seed=42)((3, 2))
    >>> w.shape, bool(w.abs().max() <= (6 / 5) ** 0.5)
    (torch.Size([3, 2]), True)
    >>> torch.equal(w, initializers.get("glorot_uniform").__class__(seed=42)((3, 2)))
    True
"""

from __future__ import annotations

import math
import numbers
import random
from typing import Optional, Sequence

import numpy as np
import torch
from torch import nn

from torch_impl import _tf_random
from torch_impl._layer_args import attach, keras_get
from torch_impl._ops import tf_cast
from torch_impl.keras_random import SeedGenerator, draw_seed

__all__ = [
    "Initializer", "Zeros", "Ones", "Constant", "Identity", "RandomUniform", "RandomNormal", "TruncatedNormal",
    "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal",
    "Orthogonal", "compute_fans", "get", "initialize",
]

_TRUNCATED_STDDEV = 0.87962566103423978  # stddev of the standard normal truncated at +-2


def _dtype(dtype) -> torch.dtype:
    if dtype is None:
        return torch.get_default_dtype()  # Keras's floatx
    resolved = dtype if isinstance(dtype, torch.dtype) else getattr(torch, str(dtype), None)
    if not isinstance(resolved, torch.dtype) or not resolved.is_floating_point:
        raise ValueError(f"Initializers make floating values; got dtype={dtype!r}")
    return resolved


def _shape(shape) -> tuple:
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"shape must have non-negative dimensions, got {shape}")
    return shape


def compute_fans(shape: Sequence[int], input_axes: Optional[Sequence[int]] = None,
                 output_axes: Optional[Sequence[int]] = None) -> tuple[int, int]:
    """Keras's ``compute_fans``: ``(fan_in, fan_out)`` of a weight of Keras's layout ``shape``; with both
    ``input_axes`` and ``output_axes``, the products of those axes' sizes."""
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return math.prod(shape[a] for a in input_axes), math.prod(shape[a] for a in output_axes)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base class: ``initializer(shape, dtype=None, device=None)`` returns a new tensor of ``shape`` (Keras's
    layout) in ``dtype`` (default ``torch.get_default_dtype()``, Keras's ``floatx``)."""

    def __call__(self, shape, dtype=None, device=None) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Initializer":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    """All zeros (``"zeros"``)."""

    def __call__(self, shape, dtype=None, device=None):
        return torch.zeros(_shape(shape), dtype=_dtype(dtype), device=device)


class Ones(Initializer):
    """All ones (``"ones"``)."""

    def __call__(self, shape, dtype=None, device=None):
        return torch.ones(_shape(shape), dtype=_dtype(dtype), device=device)


class Constant(Initializer):
    """``value`` everywhere, through ``ops.cast`` as Keras makes it (a Python float, or a list of them, carries
    float32 rounding in a float64 weight; a NumPy value keeps its own precision: TensorFlow's tensor of
    ``np.log([pos / neg])`` is float64). A NumPy array or a list broadcasts against the shape, as Keras's
    ``ops.cast(value) * ops.ones(shape)``.

    Example:
        >>> Constant(np.log([0.05]))((1,), dtype=torch.float64).item() == float(np.log(0.05))
        True
    """

    def __init__(self, value=0.0):
        if isinstance(value, (np.ndarray, np.generic, list, tuple)):
            if np.asarray(value).dtype.kind not in "fiu":
                raise ValueError(f"Constant takes a number or an array of numbers, got value={value!r}")
        elif isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"Constant takes a number, got value={value!r}")
        self.value = value

    def __call__(self, shape, dtype=None, device=None):
        dt = _dtype(dtype)
        ones = torch.ones(_shape(shape), dtype=dt, device=device)
        if isinstance(self.value, (np.ndarray, np.generic)):  # TensorFlow keeps a NumPy value's dtype
            return torch.as_tensor(np.asarray(self.value)).to(dt).to(device) * ones
        if isinstance(self.value, (list, tuple)):  # a Python list: float32 (int32) first, as TensorFlow's
            first = torch.float32 if np.asarray(self.value).dtype.kind == "f" else torch.int32
            return torch.tensor(self.value, dtype=first).to(dt).to(device) * ones
        return tf_cast(float(self.value), dt, device) * ones

    def get_config(self):
        """Keras's config: a NumPy array as Keras serializes it (``{"class_name": "__numpy__", "config": {"value":
        [...], "dtype": ...}}``, JSON-ready), a NumPy scalar as its Python value."""
        value = self.value
        if isinstance(value, np.ndarray) and value.ndim > 0:
            value = {"class_name": "__numpy__", "config": {"value": value.tolist(), "dtype": value.dtype.name}}
        elif isinstance(value, (np.ndarray, np.generic)):
            value = value.item()
        return {"value": value}

    @classmethod
    def from_config(cls, config):
        """Reads Keras's config, a serialized NumPy value included."""
        value = config["value"]
        if isinstance(value, dict) and value.get("class_name") == "__numpy__":
            value = np.array(value["config"]["value"], dtype=value["config"]["dtype"])
        return cls(value)


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only)."""

    def __init__(self, gain: float = 1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None, device=None):
        shape = _shape(shape)
        if len(shape) != 2:
            raise ValueError(f"Identity matrix initializer can only be used for 2D matrices. Received: "
                             f"shape={shape} of rank {len(shape)}.")
        dt = _dtype(dtype)
        return torch.eye(*shape, dtype=dt, device=device) * self.gain

    def get_config(self):
        return {"gain": self.gain}


class _Random(Initializer):
    """A Keras ``RandomInitializer``: an integer ``seed`` gives the same values at every call; ``None`` draws one
    from Python's ``random`` module now (``random.randint(1, 10**9)``, Keras's ``make_default_seed``); a
    :class:`torch_impl.keras_random.SeedGenerator` (or Keras's serialized one) gives new values at every call, one
    ``next()`` each, as Keras's ``draw_seed``."""

    def __init__(self, seed: Optional[int] = None):
        if isinstance(seed, dict) and seed.get("class_name") == "SeedGenerator":  # Keras's serialized generator
            seed = SeedGenerator.from_config(seed.get("config") or {})
        if seed is not None and not isinstance(seed, SeedGenerator) and (
                isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise ValueError("`seed` argument should be an instance of `keras.random.SeedGenerator()` "
                             f"(torch_impl.keras_random.SeedGenerator) or an integer. Received: seed={seed!r}")
        self._init_seed = seed
        if isinstance(seed, SeedGenerator):
            self.seed = seed
        else:
            self.seed = int(seed) if seed is not None else random.randint(1, int(1e9))

    def _pair(self) -> tuple:
        if isinstance(self.seed, SeedGenerator):
            return draw_seed(self.seed)  # (seed, counter), the counter advancing: Keras's draw_seed(SeedGenerator)
        return self.seed % _tf_random.SEED_MOD, 0  # draw_seed: [seed, 0]; _cast_seed: floormod(., 2**31 - 2)

    def get_config(self):
        seed = self._init_seed
        if isinstance(seed, SeedGenerator):  # Keras's serialize_keras_object of a SeedGenerator
            seed = {"module": "keras.random", "class_name": "SeedGenerator", "config": seed.get_config(),
                    "registered_name": None}
        return {"seed": seed}


def _uniform(shape, minval: float, maxval: float, seed: tuple, dtype, device) -> torch.Tensor:
    low, high = tf_cast(minval, dtype, device), tf_cast(maxval, dtype, device)
    return _tf_random.stateless_uniform(shape, seed, dtype, device) * (high - low) + low


def _normal(draw, shape, mean: float, stddev: float, seed: tuple, dtype, device) -> torch.Tensor:
    std, mu = torch.tensor(stddev, dtype=dtype, device=device), torch.tensor(mean, dtype=dtype, device=device)
    return draw(shape, seed, dtype, device) * std + mu


class RandomUniform(_Random):
    """Uniform in ``[minval, maxval)`` (default ``[-0.05, 0.05)``: Keras's ``Embedding``)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: Optional[int] = None):
        self.minval, self.maxval = minval, maxval
        super().__init__(seed)

    def __call__(self, shape, dtype=None, device=None):
        return _uniform(_shape(shape), self.minval, self.maxval, self._pair(), _dtype(dtype), device)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


class RandomNormal(_Random):
    """Normal with ``mean`` and ``stddev`` (default 0, 0.05)."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: Optional[int] = None):
        self.mean, self.stddev = mean, stddev
        super().__init__(seed)

    def __call__(self, shape, dtype=None, device=None):
        return _normal(_tf_random.stateless_normal, _shape(shape), self.mean, self.stddev, self._pair(),
                       _dtype(dtype), device)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class TruncatedNormal(_Random):
    """Normal with ``mean`` and ``stddev`` (default 0, 0.05), redrawn beyond 2 standard deviations."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: Optional[int] = None):
        self.mean, self.stddev = mean, stddev
        super().__init__(seed)

    def __call__(self, shape, dtype=None, device=None):
        return _normal(_tf_random.stateless_truncated_normal, _shape(shape), self.mean, self.stddev, self._pair(),
                       _dtype(dtype), device)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class VarianceScaling(_Random):
    """Keras's ``VarianceScaling``: variance ``scale / n`` with ``n`` the fan in, the fan out or their mean
    (``mode``), drawn from a ``"truncated_normal"``, ``"untruncated_normal"`` or ``"uniform"`` distribution."""

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("uniform", "truncated_normal", "untruncated_normal")

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: Optional[int] = None, input_axes: Optional[Sequence[int]] = None,
                 output_axes: Optional[Sequence[int]] = None):
        if not (isinstance(scale, numbers.Real) and scale > 0):
            raise ValueError(f"Argument `scale` must be positive float. Received: scale={scale}")
        if mode not in self._MODES:
            raise ValueError(f"Invalid `mode` argument: expected one of {set(self._MODES)}. Received: mode={mode}")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(f"Invalid `distribution` argument: expected one of {set(self._DISTRIBUTIONS)}. "
                             f"Received: distribution={distribution}")
        self.scale, self.mode, self.distribution = scale, mode, distribution
        self.input_axes, self.output_axes = input_axes, output_axes
        super().__init__(seed)

    def __call__(self, shape, dtype=None, device=None):
        shape, dt = _shape(shape), _dtype(dtype)
        scale = self.scale
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        if self.mode == "fan_in":
            scale /= max(1.0, fan_in)
        elif self.mode == "fan_out":
            scale /= max(1.0, fan_out)
        else:
            scale /= max(1.0, (fan_in + fan_out) / 2.0)
        if self.distribution == "truncated_normal":
            return _normal(_tf_random.stateless_truncated_normal, shape, 0.0, math.sqrt(scale) / _TRUNCATED_STDDEV,
                           self._pair(), dt, device)
        if self.distribution == "untruncated_normal":
            return _normal(_tf_random.stateless_normal, shape, 0.0, math.sqrt(scale), self._pair(), dt, device)
        limit = math.sqrt(3.0 * scale)
        return _uniform(shape, -limit, limit, self._pair(), dt, device)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, **super().get_config(),
                "input_axes": self.input_axes, "output_axes": self.output_axes}


class _Preset(VarianceScaling):
    """A named ``VarianceScaling`` (its ``get_config`` holds the seed and the fan axes, as Keras's)."""

    _preset: tuple = ()

    def __init__(self, seed: Optional[int] = None, input_axes: Optional[Sequence[int]] = None,
                 output_axes: Optional[Sequence[int]] = None):
        scale, mode, distribution = self._preset
        super().__init__(scale=scale, mode=mode, distribution=distribution, seed=seed, input_axes=input_axes,
                         output_axes=output_axes)

    def get_config(self):
        return {**_Random.get_config(self), "input_axes": self.input_axes, "output_axes": self.output_axes}


class GlorotUniform(_Preset):
    """Uniform in ``+-sqrt(6 / (fan_in + fan_out))``: Keras's default kernel initializer."""

    _preset = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    """Truncated normal with stddev ``sqrt(2 / (fan_in + fan_out))``."""

    _preset = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_Preset):
    """Uniform in ``+-sqrt(6 / fan_in)``."""

    _preset = (2.0, "fan_in", "uniform")


class HeNormal(_Preset):
    """Truncated normal with stddev ``sqrt(2 / fan_in)``."""

    _preset = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_Preset):
    """Uniform in ``+-sqrt(3 / fan_in)``."""

    _preset = (1.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    """Truncated normal with stddev ``sqrt(1 / fan_in)``."""

    _preset = (1.0, "fan_in", "truncated_normal")


class Orthogonal(_Random):
    """An orthogonal matrix (rows or columns, whichever are fewer) times ``gain``: the QR factorization of a
    standard normal draw, signs fixed by ``R``'s diagonal (Keras's recurrent kernels)."""

    def __init__(self, gain: float = 1.0, seed: Optional[int] = None):
        self.gain = gain
        super().__init__(seed)

    def __call__(self, shape, dtype=None, device=None):
        shape, dt = _shape(shape), _dtype(dtype)
        if len(shape) < 2:
            raise ValueError(f"The tensor to initialize must be at least two-dimensional. Received: shape={shape} "
                             f"of rank {len(shape)}.")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        if dt == torch.bfloat16:
            raise ValueError("Orthogonal: TensorFlow's QR has no bfloat16 kernel, so Keras cannot make this weight "
                             "either; initialise it in float32 and cast")
        a = _tf_random.stateless_normal((max(rows, cols), min(rows, cols)), self._pair(), dt, device)
        if dt == torch.float16:  # torch has no half QR: factor the half draw in float32, round the result
            q, r = torch.linalg.qr(a.float())
            q = (q * torch.sign(torch.diagonal(r))).to(dt)
            return self.gain * (q.T if rows < cols else q).reshape(shape)
        q, r = torch.linalg.qr(a)
        q = q * torch.sign(torch.diagonal(r))
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)

    def get_config(self):
        return {"gain": self.gain, **super().get_config()}


_BY_NAME = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "identity": Identity, "random_uniform": RandomUniform,
    "random_normal": RandomNormal, "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal, "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal, "orthogonal": Orthogonal,
}
_CLASSES = {cls.__name__: cls for cls in _BY_NAME.values()}
_ALIASES = {"uniform": "random_uniform", "normal": "random_normal", "one": "ones", "zero": "zeros",
            "IdentityInitializer": "identity", "OrthogonalInitializer": "orthogonal"}


_IDENTIFIERS = {**_BY_NAME, **_CLASSES, **{alias: _BY_NAME[name] for alias, name in _ALIASES.items()}}


def get(identifier) -> Optional[Initializer]:
    """An initializer from Keras's names (``"glorot_uniform"``, ``"he_normal"``, ``"GlorotUniform"``...), a
    ``{"class_name", "config"}`` dict, a class or an instance (returned as is, as is any callable); ``None`` gives
    ``None``. A name makes a new instance, so an unseeded one draws its seed now, as Keras's
    ``initializers.get`` does. A tensor or NumPy array gives an initializer that returns it (cast to ``dtype``)
    for its own shape only, as Keras's."""
    if isinstance(identifier, (torch.Tensor, np.ndarray, np.generic)):
        value = identifier.detach() if isinstance(identifier, torch.Tensor) else torch.as_tensor(np.asarray(identifier))

        def initialize_fn(shape, dtype=None, device=None) -> torch.Tensor:
            if _shape(shape) != tuple(value.shape):
                raise ValueError(f"Expected `shape` to be {tuple(value.shape)} for direct tensor as initializer. "
                                 f"Received shape={shape}")
            return value.to(dtype=_dtype(dtype), device=device)  # Keras: ops.cast(identifier, dtype)

        return initialize_fn
    return keras_get(identifier, _IDENTIFIERS, "initializer")


@torch.no_grad()
def initialize(module: nn.Module, kernel_initializer=None, bias_initializer=None) -> nn.Module:
    """Gives ``module`` Keras's ``kernel_initializer`` / ``bias_initializer`` (anything :func:`get` takes) and
    sets its kernel (``module.weight``, in Keras's layout: a ``Linear``'s ``(in, out)``, a conv's
    ``(*kernel, in, out)``; an ``Embedding``'s table is Keras's ``embeddings``) and bias now; returns the module.

    A name or an unseeded initializer draws its seed now, as Keras's layer does when it is made.
    :func:`torch_impl.nn.keras_init_` keeps these initializers (and sets the rest to Keras's defaults); with
    ``seed=`` it replays Keras's draws: one per random initializer, the kernel's before the bias's.

    Example:
        >>> layer = initialize(torch.nn.Linear(4, 2), kernel_initializer=HeUniform(seed=3), bias_initializer="ones")
        >>> layer.bias.tolist()
        [1.0, 1.0]
    """
    kernel, bias = get(kernel_initializer), get(bias_initializer)
    attach(module, "_keras_initializer", "initializer", kernel, bias)
    for name, init in (("weight", kernel), ("bias", bias)):
        if init is not None:
            _fill(getattr(module, name), init)
    return module


def _fill(param: torch.Tensor, init: Initializer) -> None:
    """``param`` set to ``init``'s values, drawn in Keras's layout (the parameter's ``_keras_layout``)."""
    to_keras = getattr(param, "_keras_layout", lambda w: w)
    from_keras = getattr(param, "_keras_from_layout", lambda k: k)
    shape = tuple(to_keras(param.detach()).shape)
    param.copy_(from_keras(init(shape, dtype=param.dtype, device=param.device)))

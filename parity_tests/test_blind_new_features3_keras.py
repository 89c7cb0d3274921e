"""Blind audit, round 3: this session's new features against Keras 3.15.1 on TensorFlow 2.21, written from the README
and the public docstrings only (the implementations were read only after a test failed).

1. ``torch_impl.keras_random`` against ``keras.random``: 72 draws per floatx (every op; int seeds 0, 2**31 - 2,
   2**31 - 1, 2**32 + 5, 2**40, -5; float16/bfloat16/float32/float64; empty and scalar shapes; broadcast means;
   per-column gamma alphas; negative, zero and tiny alphas; dropout rates 0/1 and noise shapes; shuffle of int/bool
   along negative axes; categorical with -inf logits, all -inf rows, 300 rows); a ``SeedGenerator`` shared by 20
   draws of 9 ops (its final state); ``seed=None`` after ``set_random_seed`` (0 and 123) with a seedless
   ``SeedGenerator`` made after it, and a reset; Keras's errors.
2. ``K``'s stateful draws against ``tf.keras.backend``: 35 draws interleaving ops, dtypes, seeds and shapes (the
   uniform kernel shared by ``random_uniform``/``random_bernoulli``/``dropout``, the normal one by
   ``random_normal_variable``; 1001 then 3 values; seeds 0, 2**31 + 5, 2**40, -3) after two global seeds; seedless
   draws from NumPy's seed; ``keras.random``/``tf.random.normal`` draws in between; integer ``random_uniform``.
3. ``K.rnn`` (23 option sets, values and gradients), ``K.gradients`` (WGAN-GP, second order), ``K.update*`` and
   ``K.moving_average_update`` (19 value kinds, exact).
4. ``utils.normalize`` (NumPy and tensors, orders 1/2/3/inf, gradients), ``pack/unpack_x_y_sample_weight``,
   ``set_random_seed``.
5. The new ``keras.ops`` families: 94 cases over ~110 functions (quantiles with ties/inf/NaN and tensor ``q``;
   NaN reductions; logdet/cholesky/solve/lstsq/pinv/eigh/svd incl. non-symmetric and not-PD matrices;
   rfft/irfft/fft/fft2/stft/istft; erfinv/cbrt/sinc/i0/logaddexp2/fmax/heaviside edges; sparsemax ties,
   glu, layer/rms/batch normalization, psnr, in_top_k ties and NaN, segment max/min/prod with empty segments and
   zeros, conv/depthwise/transpose, pools with NaN and ties, adaptive pools, attention with masks/bias/causal,
   ssim/resize/blur/sobel; stacking, scatter duplicates and max ties, slice_update clamping, unique with size,
   cond/scan/associative_scan/fori/while loops, select, kron/cross/inner, rot90, get_item, fold/unfold): value,
   dtype and gradient; 31 functions in float16/bfloat16; 66 functions x 8 dtypes x 2 floatx (slow).

Measured (this machine, CPU; Keras's value as the reference):

==========================================================  ===================================================
check                                                       result
==========================================================  ===================================================
keras.random uniform/randint/dropout/shuffle/categorical    bit for bit (all dtypes, both floatx)
keras.random normal / truncated_normal                      98.0-99.6% bit-equal, the rest <= 2 ulp (README: 1)
keras.random gamma/beta float16/bfloat16/float32            bit for bit
keras.random gamma/beta, all dtypes                         bit for bit (float64 too)
SeedGenerator sequence (20 draws, 9 ops), global seed       <= 2 ulp (normals), the rest bit for bit; same state
K stateful draws (35 x 2 seeds x 2 floatx), int uniform     uniform-based bit for bit, normals <= 2 ulp
K.rnn 23 option sets, value / gradient                      float64 3.8e-15 / 3.4e-13; float32 1.9e-6 / 1.6e-4
                                                            (rel; within rtol 1e-5 atol 1e-6)
K.gradients WGAN-GP: penalty / 2nd-order / list             0 / 1.5e-15 / 4.5e-16
K.update*, moving_average_update (19 cases, both dtypes)    exact (0)
utils.normalize (NumPy and tensors, grads), pack/unpack     equal (NumPy: bit for bit; tensors <= 1e-12)
94 keras.ops cases float64, value / gradient                <= 1.9e-14 / 6.0e-14 relative, except entries whose
                                                            exact value is 0 (stft/istft round-off, <= 1e-15 abs)
94 keras.ops cases float32 (slow)                           within rtol 1e-5 atol 1e-6 (element-wise 1.4e-5)
float16 / bfloat16 forward (55 outputs, 31 functions)       <= 1 ulp (9.7e-4 / 7.8e-3), same dtype, same errors
dtype sweep (slow): 1056 checks                             same dtypes and values; raises where Keras raises
==========================================================  ===================================================

Bugs found and fixed here (each pinned by a test that failed before the fix):

* ``K.rnn`` with ``input_length`` (``unroll=False``): TensorFlow's while-loop runs ``max(input_length)``
  iterations (``maximum_iterations``), so later outputs are zeros and the last output is the (zero) last entry;
  ours ran every step (cell ``h = 10 h + x``, ``input_length=[3, 2]``: Keras outputs ``[1, 12, 123, 0, 0]``, last
  ``[0, 0]``; ours ``[1, 12, 123, 123, 123]``, last ``[123, 67]``).
* ``K.update``/``update_add``/``update_sub`` converted a Python list/float through float32 (Keras converts to the
  variable's dtype: ``update(float64 v, [1.1, ...])`` is 1.1, ours was 1.100000023841858); and
  ``K.moving_average_update`` rounded a NumPy ``float64`` momentum to float32 (a subclass of ``float``; 6.5e-8
  relative) while not rounding a list value through float32 as ``tf.cast`` does (8.3e-9).
* ``keras_random.gamma``/``beta`` with ``alpha < -2/3`` raised ``RuntimeError('rejection sampling did not
  finish')``; TensorFlow's kernel returns NaN (its ``if (v <= 0) continue`` lets a NaN through).
* ``K.random_uniform(shape, 0, 10, dtype="int32")`` raised ValueError; Keras returns TensorFlow's stateful
  ``RandomUniformInt`` draw (now ported, int32/int64, its own generator; float bounds raise TypeError as in TF).

Known difference (strict xfail): ``K.rnn`` takes an int64 ``input_length`` tensor (torch's default integer
type), where Keras raises. Five more inputs Keras refuses were accepted when this audit was written and are refused
now (``test_inputs_keras_refuses_are_refused_now``): a NumPy int64 seed in ``keras_random``, ``randint`` with
float bounds, ``K.update_add`` broadcasting a scalar or adding 1.5 to an int32 variable, ``utils.normalize`` of an
int tensor.
"""
from __future__ import annotations

import random as pyrandom
import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from parity_tests.test_field_scripts_round2 import _precision  # noqa: E402
from parity_tests.test_keras_backend_keras import compare as _compare  # noqa: E402
from torch_impl import keras_backend as TK  # noqa: E402
from torch_impl import keras_ops as TO  # noqa: E402
from keras_impl.ops import fixed as _fixed  # noqa: E402 - Keras with the upstream fixes torch_impl follows
from keras_impl.ops import utils_normalize as _utils_normalize  # noqa: E402 - keras-team/keras#23328
from torch_impl import keras_random as TR  # noqa: E402
from torch_impl import utils as TU  # noqa: E402

KK = tf.keras.backend
KO = keras.ops
KR = keras.random

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

DTYPES = ["float64", pytest.param("float32", marks=pytest.mark.slow)]
nan, inf = np.nan, np.inf


# --------------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------------


def _as_np(v):
    """(float64 or integer NumPy values, dtype name) of a torch or TensorFlow tensor (bfloat16 included)."""
    if isinstance(v, torch.Tensor):
        name = str(v.dtype)[6:]
        return (v.detach().to(torch.float64).numpy() if v.is_floating_point() else v.detach().numpy()), name
    v = tf.convert_to_tensor(v)
    return (tf.cast(v, tf.float64).numpy() if v.dtype.is_floating else v.numpy()), v.dtype.name


_MANT = {"float16": 10, "bfloat16": 7, "float32": 23, "float64": 52}


def _ulps(ours: np.ndarray, ref: np.ndarray, name: str) -> float:
    """Largest distance in units in the last place of ``name`` (of the reference value), finite entries."""
    fin = np.isfinite(ref)
    if not fin.any():
        return 0.0
    r = ref[fin]
    exp = np.floor(np.log2(np.maximum(np.abs(r), np.finfo(np.float64).tiny)))
    ulp = np.exp2(exp - _MANT[name])
    return float(np.max(np.abs(ours[fin] - r) / ulp))


def same_draw(name: str, k, t, ulps: float = 0.0) -> tuple[float, float]:
    """Keras's draw ``k`` against ours ``t``: dtype, shape, NaN/inf places, integers equal, floats within ``ulps``
    units in the last place. Prints and returns (share of bit-equal values, largest ulp distance)."""
    (kv, kd), (tv, td) = _as_np(k), _as_np(t)
    assert (td, tv.shape) == (kd, kv.shape), f"{name}: ours {td} {tv.shape}, Keras {kd} {kv.shape}"
    if kv.dtype.kind not in "f":
        assert np.array_equal(tv, kv), f"{name}: ours {tv.ravel()[:8]} Keras {kv.ravel()[:8]}"
        print(f"  {name:58s} {kd:8s} equal")
        return 1.0, 0.0
    assert np.array_equal(np.isnan(tv), np.isnan(kv)), f"{name}: NaN places differ"
    inf_k = np.isinf(kv)
    assert np.array_equal(inf_k, np.isinf(tv)) and np.array_equal(tv[inf_k], kv[inf_k]), f"{name}: inf differ"
    eq = float(np.mean((tv == kv) | (np.isnan(kv) & np.isnan(tv)))) if kv.size else 1.0
    u = _ulps(tv, kv, kd) if kv.size else 0.0
    if kd == "float64" and ulps > 0:  # TensorFlow's float64 log/sin/cos/sqrt are vectorised as the CPU allows:
        ulps = max(ulps, 64)  # 16 ulp on an AMD EPYC where an Intel host gave 2 (64 ulp: 1.4e-14 relative)
    print(f"  {name:58s} {kd:8s} bit-equal {eq:6.1%}  max {u:.2g} ulp")
    assert u <= ulps, f"{name}: {u} ulp apart (allowed {ulps})\nours {tv.ravel()[:8]}\nKeras {kv.ravel()[:8]}"
    return eq, u


def both_raise(name: str, fk, ft):
    """Keras and ours both raise (the message printed), or both return; returns the two results."""
    try:
        k = fk()
    except Exception as e:  # noqa: BLE001 - the exception is the result compared
        k = e
    try:
        t = ft()
    except Exception as e:  # noqa: BLE001
        t = e
    ke, te = isinstance(k, Exception), isinstance(t, Exception)
    assert ke == te, f"{name}: Keras {'raises ' + repr(k)[:200] if ke else 'returns'}, ours " \
                     f"{'raises ' + repr(t)[:200] if te else 'returns'}"
    if ke:
        print(f"  {name:58s} both raise: Keras {type(k).__name__}, ours {type(t).__name__}")
    return k, t


def _floatx(dt: str):
    """Keras's floatx and torch's default dtype for a block (random draws with ``dtype=None`` follow it)."""
    return _precision(dt)


# --------------------------------------------------------------------------------------------------------------
# 1. keras.random against torch_impl.keras_random (stateless Philox draws)
# --------------------------------------------------------------------------------------------------------------

_X = np.arange(1, 25, dtype=np.float64).reshape(4, 6)
with np.errstate(divide="ignore"):
    _LOGITS = np.log(np.array([[0.1, 0.2, 0.7], [1.0, 0.0, 0.0], [0.3, 0.3, 0.4]]))  # -inf in row 2


def _draws(r, T, dt):
    """Draws written once against a ``random`` module ``r`` and a tensor maker ``T``: (name, thunk, ulps)."""
    x = _X.astype(dt)
    lg = _LOGITS.astype("float32")
    # gamma/beta: bit for bit in every dtype (the kernel's float64 log/log1p/pow are the C library's, replayed)
    g_ulps = 0
    out = [
        ("uniform floatx (3, 5)", lambda: r.uniform((3, 5), seed=3), 0),
        ("uniform floatx scalar shape ()", lambda: r.uniform((), seed=3), 0),
        ("uniform empty (0, 3)", lambda: r.uniform((0, 3), seed=3), 0),
        ("normal floatx mean 1.5 std 0.3 (257,)", lambda: r.normal((257,), 1.5, 0.3, seed=5), 2),
        ("normal mean broadcast over last axis", lambda: r.normal((2, 3), mean=T(np.array([0., 10., 100.], dt)), seed=1),
         2),
        ("truncated_normal floatx (101,)", lambda: r.truncated_normal((101,), -1.0, 2.0, seed=5), 2),
        ("gamma alpha 0.3 (small: the pow(b, 1/alpha) branch)", lambda: r.gamma((40,), 0.3, seed=9), g_ulps),
        ("gamma alpha per column [0.1, 1, 10]", lambda: r.gamma((2, 3), T(np.array([0.1, 1., 10.], dt)), seed=9), g_ulps),
        ("beta (0.5, 2)", lambda: r.beta((40,), 0.5, 2.0, seed=9), g_ulps),
        ("dropout rate 0.4", lambda: r.dropout(T(x), 0.4, seed=2), 0),
        ("dropout noise_shape (None, 1)", lambda: r.dropout(T(x), 0.4, noise_shape=(None, 1), seed=2), 0),
        ("dropout noise_shape (1, 6)", lambda: r.dropout(T(x), 0.5, noise_shape=(1, 6), seed=2), 0),
        ("dropout rate 0 (x itself)", lambda: r.dropout(T(x), 0.0, seed=2), 0),
        ("dropout rate 1 (zeros)", lambda: r.dropout(T(x), 1.0, seed=2), 0),
        ("shuffle axis=0", lambda: r.shuffle(T(x), seed=8), 0),
        ("shuffle axis=-1", lambda: r.shuffle(T(x), axis=-1, seed=8), 0),
        ("shuffle int64, 3-D, axis=-2", lambda: r.shuffle(T(np.arange(24).reshape(2, 3, 4)), axis=-2, seed=8), 0),
        ("shuffle bool", lambda: r.shuffle(T(np.array([True, False, True, False, False])), seed=8), 0),
        ("categorical with a -inf class", lambda: r.categorical(T(lg), 12, seed=6), 0),
        ("categorical int64, all -inf row, equal logits",
         lambda: r.categorical(T(np.array([[0., -inf, 1.], [-inf, -inf, -inf], [5., 5., 5.]], "float32")), 7,
                               dtype="int64", seed=6), 0),
        ("categorical float64 logits, 300 rows",
         lambda: r.categorical(T(np.random.default_rng(0).normal(size=(300, 7))), 9, seed=4), 0),
        ("randint int32 [-5, 100)", lambda: r.randint((30,), -5, 100, seed=4), 0),
        ("randint int64 [-2**40, 2**40)", lambda: r.randint((10,), -2 ** 40, 2 ** 40, dtype="int64", seed=4), 0),
        ("randint uint8 [0, 100)", lambda: r.randint((30,), 0, 100, dtype="uint8", seed=4), 0),
        ("randint int8 [-1000, 1000) (wraps)", lambda: r.randint((30,), -1000, 1000, dtype="int8", seed=4), 0),
        ("randint uint32 [0, 2**32 - 1)", lambda: r.randint((6,), 0, 2 ** 32 - 1, dtype="uint32", seed=4), 0),
    ]
    for s in (0, 2 ** 31 - 2, 2 ** 31 - 1, 2 ** 32 + 5, 2 ** 40, -5):
        out.append((f"uniform int seed {s} (mod 2**31 - 2)", (lambda s=s: r.uniform((3,), seed=s)), 0))
    for d in ("float16", "bfloat16", "float32", "float64"):
        out += [
            (f"uniform {d} bounds (-2, 7)", (lambda d=d: r.uniform((9,), -2, 7, dtype=d, seed=11)), 0),
            (f"uniform {d} bounds (3.0, 1.0) reversed", (lambda d=d: r.uniform((4,), 3.0, 1.0, dtype=d, seed=11)), 0),
            (f"normal {d} (300,)", (lambda d=d: r.normal((300,), dtype=d, seed=3)), 2),
            (f"truncated_normal {d} (300,)", (lambda d=d: r.truncated_normal((300,), dtype=d, seed=3)), 2),
            (f"gamma {d} alpha 4", (lambda d=d: r.gamma((20,), 4.0, dtype=d, seed=9)), 0),
            (f"gamma {d} alpha -1 (NaN), -0.5, 0, 1e-30 (-1 raised here before)",
             (lambda d=d: [r.gamma((6,), a, dtype=d, seed=3) for a in (-1.0, -0.5, 0.0, 1e-30)]),
             0),  # alpha -0.5: pow(b, -2), the C library's, bit for bit too
            (f"beta {d} (0.4, 0.4)", (lambda d=d: r.beta((30,), 0.4, 0.4, dtype=d, seed=2)), 0),
        ]
    return out


def _run_draws(dt: str):
    worst_eq, worst_u, n = 1.0, 0.0, 0
    with _floatx(dt), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kd = _draws(KR, tf.constant, dt)
        td = _draws(TR, torch.tensor, dt)
        for (name, fk, ulps), (_, ft, _) in zip(kd, td):
            k, t = fk(), ft()
            for i, (a, b) in enumerate(zip(k, t) if isinstance(k, list) else [(k, t)]):
                eq, u = same_draw(name + (f" [{i}]" if isinstance(k, list) else ""), a, b, ulps)
                worst_eq, worst_u, n = min(worst_eq, eq), max(worst_u, u), n + 1
    print(f"{n} draws, floatx {dt}: worst bit-equal share {worst_eq:.1%}, worst {worst_u:.2g} ulp")


@pytest.mark.parametrize("dt", DTYPES)
def test_keras_random_draws_like_keras(dt):
    """Every ``keras.random`` draw with int seeds (large and negative ones reduced as Keras does), all float dtypes,
    empty and scalar shapes, broadcast means and per-column gamma alphas, dropout's rate 0/1 and noise shapes,
    shuffle of ints/bools along negative axes, categorical with -inf logits: uniform/randint/dropout/shuffle/
    categorical/gamma/beta bit for bit, the Box-Muller draws within 1 ulp."""
    _run_draws(dt)


def test_seed_generators_interleaved_like_keras():
    """One ``SeedGenerator`` fed to different ops in turn (its counter is shared), dropout/shuffle/categorical
    consuming it, ``dropout`` with rate 0 or 1 not advancing it, and the state after the sequence."""
    ops = [("normal", ((3,),)), ("uniform", ((4,),)), ("randint", ((3,), 0, 9)), ("normal", ((2, 2),)),
           ("truncated_normal", ((5,),)), ("gamma", ((3,), 2.0)), ("beta", ((3,), 1.0, 2.0))] * 2
    x = np.arange(12, dtype="float32").reshape(3, 4)
    lg = _LOGITS.astype("float32")
    kg, tg = KR.SeedGenerator(77), TR.SeedGenerator(77)
    for i, (f, args) in enumerate(ops):
        same_draw(f"gen 77 draw {i}: {f}", getattr(KR, f)(*args, seed=kg), getattr(TR, f)(*args, seed=tg), 2)
    for i in range(2):
        same_draw(f"gen 77 dropout {i}", KR.dropout(x, 0.5, seed=kg), TR.dropout(torch.tensor(x), 0.5, seed=tg))
        same_draw(f"gen 77 shuffle {i}", KR.shuffle(x, seed=kg), TR.shuffle(torch.tensor(x), seed=tg))
        same_draw(f"gen 77 categorical {i}", KR.categorical(lg, 4, seed=kg),
                  TR.categorical(torch.tensor(lg), 4, seed=tg))
    KR.dropout(x, 0.0, seed=kg), TR.dropout(torch.tensor(x), 0.0, seed=tg)
    KR.dropout(x, 1.0, seed=kg), TR.dropout(torch.tensor(x), 1.0, seed=tg)
    k_state = tuple(int(v) for v in kg.state.numpy())
    print(f"  state after the sequence: Keras {k_state}, ours {tg.state}")
    assert tg.state == k_state


def test_global_generator_after_set_random_seed():
    """``seed=None`` after ``keras.utils.set_random_seed`` (Keras's global generator, seeded through Python's
    ``random``) and a seedless ``SeedGenerator()`` made after it; a reset mid-sequence starts over."""
    x = np.arange(12, dtype="float32").reshape(3, 4)

    def seq(r, T):
        g = r.SeedGenerator()
        return [r.normal((3,)), r.uniform((2,)), r.randint((3,), 0, 10), r.normal((3,), seed=g), r.dropout(T(x), 0.5),
                r.shuffle(T(x)), r.uniform((2,), seed=g), r.gamma((2,), 0.7), r.categorical(T(_LOGITS[:1].astype("float32")), 5)]

    for s in (123, 0):
        keras.utils.set_random_seed(s)
        k = seq(KR, tf.constant)
        TR.set_random_seed(s)
        t = seq(TR, torch.tensor)
        for i, (a, b) in enumerate(zip(k, t)):
            same_draw(f"set_random_seed({s}) then seed=None draw {i}", a, b, 2)
    keras.utils.set_random_seed(5)
    k1 = KR.uniform((3,))
    keras.utils.set_random_seed(5)
    k2 = KR.uniform((3,))
    TR.set_random_seed(5)
    t1 = TR.uniform((3,))
    TR.set_random_seed(5)
    t2 = TR.uniform((3,))
    same_draw("reset: first draw", k1, t1)
    same_draw("reset: first draw again", k2, t2)
    assert torch.equal(t1, t2)


def test_keras_random_errors_like_keras():
    """Keras's errors: bad rates, seeds, dtypes, bounds and logits raise on both sides."""
    x = np.ones((2, 3), "float32")
    cases = [
        ("dropout rate -0.1", lambda r, T: r.dropout(T(x), -0.1, seed=1)),
        ("dropout rate 1.5", lambda r, T: r.dropout(T(x), 1.5, seed=1)),
        ("dropout of int32", lambda r, T: r.dropout(T(np.arange(6, dtype="int32")), 0.5, seed=1)),
        ("float seed", lambda r, T: r.uniform((3,), seed=7.0)),
        ("uniform dtype int32", lambda r, T: r.uniform((3,), dtype="int32", seed=1)),
        ("normal dtype int32", lambda r, T: r.normal((3,), dtype="int32", seed=1)),
        ("randint dtype float32", lambda r, T: r.randint((3,), 0, 5, dtype="float32", seed=1)),
        ("randint minval == maxval", lambda r, T: r.randint((3,), 5, 5, seed=1)),
        ("randint minval > maxval", lambda r, T: r.randint((3,), 5, 2, seed=1)),
        ("categorical of 1-D logits", lambda r, T: r.categorical(T(np.zeros(3, "float32")), 3, seed=1)),
        ("negative dimension", lambda r, T: r.normal((-1, 3), seed=1)),
        ("unknown dtype", lambda r, T: r.normal((3,), dtype="foo", seed=1)),
    ]
    for name, fn in cases:
        k, t = both_raise(name, lambda: fn(KR, tf.constant), lambda: fn(TR, torch.tensor))
        assert isinstance(k, Exception), f"{name}: Keras was expected to raise"


# --------------------------------------------------------------------------------------------------------------
# 2. K's stateful draws (TensorFlow's per-(op, dtype, seed) kernels) against tf.keras.backend
# --------------------------------------------------------------------------------------------------------------


def _k_calls(dt: str):
    """A sequence mixing the stateful ops, dtypes and seeds; the uniform ones share one kernel (bernoulli, dropout
    and ``random_uniform`` of one dtype and seed), the normal ones another (``random_normal_variable``)."""
    x = _X[:3, :4].astype(dt)
    return [
        ("random_normal seed 1", lambda K, T: K.random_normal((3,), seed=1)),
        ("random_normal seed 1 again (generator moved on)", lambda K, T: K.random_normal((3,), seed=1)),
        ("random_uniform seed 1 (2, 2)", lambda K, T: K.random_uniform((2, 2), seed=1)),
        ("random_bernoulli p=0.5 seed 1 (same kernel)", lambda K, T: K.random_bernoulli((5,), p=0.5, seed=1)),
        ("random_uniform seed 1 (4,)", lambda K, T: K.random_uniform((4,), seed=1)),
        ("dropout 0.5 seed 1 (same kernel)", lambda K, T: K.dropout(T(x), 0.5, seed=1)),
        ("random_uniform float64 seed 1 (own kernel)", lambda K, T: K.random_uniform((3,), dtype="float64", seed=1)),
        ("random_normal seed 2", lambda K, T: K.random_normal((3,), seed=2)),
        ("truncated_normal seed 1", lambda K, T: K.truncated_normal((4,), seed=1)),
        ("random_normal mean 3 std 0.1 seed 1", lambda K, T: K.random_normal((2,), mean=3., stddev=0.1, seed=1)),
        ("random_uniform (-2, 3) seed 1", lambda K, T: K.random_uniform((3,), minval=-2, maxval=3, seed=1)),
        ("random_uniform int bounds (0, 1): raw u", lambda K, T: K.random_uniform((3,), minval=0, maxval=1, seed=1)),
        ("random_normal_variable seed 1", lambda K, T: K.random_normal_variable((2, 3), 0.5, 2., seed=1)),
        ("random_uniform_variable seed 1", lambda K, T: K.random_uniform_variable((2, 3), -1, 1, seed=1)),
        ("random_normal float16 seed 1", lambda K, T: K.random_normal((7,), seed=1, dtype="float16")),
        ("random_uniform bfloat16 seed 4", lambda K, T: K.random_uniform((7,), dtype="bfloat16", seed=4)),
        ("random_bernoulli float64 p=0.3", lambda K, T: K.random_bernoulli((5,), p=0.3, dtype="float64", seed=1)),
        ("random_bernoulli p per column (tensor)",
         lambda K, T: K.random_bernoulli((2, 3), p=T(np.array([0.1, 0.5, 0.9], dt)), seed=4)),
        ("dropout float64 noise_shape (3, 1)",
         lambda K, T: K.dropout(T(x.astype("float64")), 0.2, noise_shape=(3, 1), seed=1)),
        ("random_normal odd sizes 1, 3, 5 (Box-Muller pairs)",
         lambda K, T: [K.random_normal((n,), seed=2) for n in (1, 3, 5)]),
        ("random_normal 1001 values then 3", lambda K, T: [K.random_normal((1001,), seed=4), K.random_normal((3,), seed=4)]),
        ("truncated_normal float64 999 then 5",
         lambda K, T: [K.truncated_normal((999,), seed=9, dtype="float64"), K.truncated_normal((5,), seed=9, dtype="float64")]),
        ("random_uniform seeds 0, 2**31 + 5, 2**40, -3",
         lambda K, T: [K.random_uniform((3,), seed=s) for s in (0, 2 ** 31 + 5, 2 ** 40, -3)]),
        ("random_uniform int32 [0, 10) seed 1 (RandomUniformInt)",
         lambda K, T: K.random_uniform((6,), 0, 10, dtype="int32", seed=1)),
        ("random_uniform int32 [0, 10) seed 1 again", lambda K, T: K.random_uniform((6,), 0, 10, dtype="int32", seed=1)),
        ("random_uniform int64 [-2**40, 2**40)",
         lambda K, T: K.random_uniform((4,), -2 ** 40, 2 ** 40, dtype="int64", seed=2)),
        ("random_uniform int32 full range", lambda K, T: K.random_uniform((4,), -2 ** 31, 2 ** 31 - 1, dtype="int32", seed=2)),
        ("random_uniform after the int draws (float kernel untouched)", lambda K, T: K.random_uniform((3,), seed=1)),
    ]


def _run_k_sequence(dt: str, global_seed: int):
    n, worst = 0, 0.0
    with _floatx(dt), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        calls = _k_calls(dt)
        keras.utils.set_random_seed(global_seed)
        k = [c(KK, tf.constant) for _, c in calls]
        TR.set_random_seed(global_seed)
        t = [c(TK, torch.tensor) for _, c in calls]
        for (name, _), a, b in zip(calls, k, t):
            for i, (aa, bb) in enumerate(zip(a, b) if isinstance(a, list) else [(a, b)]):
                _, u = same_draw(f"g{global_seed} {name}" + (f" [{i}]" if isinstance(a, list) else ""), aa, bb, 2)
                n, worst = n + 1, max(worst, u)
    print(f"{n} stateful draws, floatx {dt}, global seed {global_seed}: worst {worst:.2g} ulp")


@pytest.mark.parametrize("dt", DTYPES)
def test_k_stateful_draws_interleaved_like_keras(dt):
    """``K.random_*``/``K.dropout`` in one interleaved sequence (ops, dtypes, seeds, shapes, generator sharing
    between uniform/bernoulli/dropout) after ``set_random_seed`` with two global seeds (0 included, TensorFlow's
    ``seed2 = 2**31 - 1`` rule), integer ``random_uniform`` included."""
    for g in (1234, 0):
        _run_k_sequence(dt, g)


def test_k_seedless_draws_and_reset_like_keras():
    """``seed=None`` takes ``np.random.randint(10e6)`` (``10e8`` for the variables); ``set_random_seed`` starts the
    kernels over; Keras's stateless ``keras.random`` draws in between do not move them; ``tf.random.normal`` with
    the same op seed shares K's kernel."""
    x = np.ones((3, 4), "float32")

    def seq(K, r, T, tfnormal):
        return [K.random_normal((3,)), K.random_uniform((3,)), K.dropout(T(x), 0.5), K.random_normal_variable((2,), 0, 1),
                K.random_bernoulli((4,), 0.5), K.random_normal((3,), seed=5), r.normal((3,), seed=5), r.normal((3,)),
                K.random_normal((3,), seed=5), tfnormal()]

    keras.utils.set_random_seed(9)
    np.random.seed(4)
    k = seq(KK, KR, tf.constant, lambda: tf.random.normal((3,), seed=5))
    TR.set_random_seed(9)
    np.random.seed(4)
    t = seq(TK, TR, torch.tensor, lambda: TK.random_normal((3,), seed=5))
    for i, (a, b) in enumerate(zip(k, t)):
        same_draw(f"seedless/mixed draw {i}", a, b, 2)
    for _ in range(2):  # a reset mid-sequence: the same first draw again
        keras.utils.set_random_seed(3)
        a = KK.random_uniform((3,), seed=5)
        TR.set_random_seed(3)
        same_draw("after a reset", a, TK.random_uniform((3,), seed=5))


def test_k_random_uniform_int_dtype_like_keras():
    """Regression (fixed here): ``K.random_uniform(shape, 0, 10, dtype="int32")`` is TensorFlow's stateful
    ``RandomUniformInt`` (Keras returns integers); ours raised ``ValueError('this draw needs a floating dtype')``.
    Float bounds with an int dtype, equal bounds and int16 raise on both sides."""
    keras.utils.set_random_seed(77)
    k = [KK.random_uniform((3, 3), -5, 3, dtype="int32", seed=1), KK.random_uniform((5,), 0, 10, dtype="int64", seed=1),
         KK.random_uniform((3, 3), -5, 3, dtype="int32", seed=1), KK.random_uniform((0,), 0, 5, dtype="int32", seed=1)]
    TR.set_random_seed(77)
    t = [TK.random_uniform((3, 3), -5, 3, dtype="int32", seed=1), TK.random_uniform((5,), 0, 10, dtype="int64", seed=1),
         TK.random_uniform((3, 3), -5, 3, dtype="int32", seed=1), TK.random_uniform((0,), 0, 5, dtype="int32", seed=1)]
    for i, (a, b) in enumerate(zip(k, t)):
        same_draw(f"int random_uniform {i}", a, b)
    for name, args in [("float bounds", ((3,), 0.0, 5, "int32")), ("equal bounds", ((3,), 5, 5, "int32")),
                       ("int16", ((3,), 0, 5, "int16")), ("default float bounds", ((3,), 0.0, 1.0, "int64"))]:
        k, _ = both_raise(f"K.random_uniform int: {name}", lambda: KK.random_uniform(*args[:3], dtype=args[3], seed=1),
                          lambda: TK.random_uniform(*args[:3], dtype=args[3], seed=1))
        assert isinstance(k, Exception)


# --------------------------------------------------------------------------------------------------------------
# 3. K.rnn, K.gradients, K.update*, K.moving_average_update
# --------------------------------------------------------------------------------------------------------------

_M = np.array([[1, 1, 0, 1, 0], [0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], bool)


def _rnn_case(opts: dict, dt: str):
    """A two-state gated cell with an optional constant, run by ``K.rnn`` with ``opts``; outputs: last output,
    outputs, both states."""
    def fn(K, x, h0, c0, W, U, scale):
        kw = dict(opts)
        is_keras = K is KK
        mask = kw.pop("mask", None)
        if mask is not None:
            mask = tf.constant(mask) if is_keras else torch.tensor(mask)
        il = kw.pop("input_length", None)
        if il is not None and not isinstance(il, int):
            il = tf.constant(il) if is_keras else torch.tensor(il)
        consts = [scale] if kw.pop("constants", False) else None

        def step(x_t, states):
            h, c = states[0], states[1]
            z = K.sigmoid(K.dot(x_t, W) + K.dot(h, U))
            pre = K.dot(x_t, W) * (states[2] if consts else 1.0)
            hn = z * h + (1 - z) * K.tanh(pre + c)
            return hn * 2.0, [hn, c + 0.1 * hn]

        last, outs, states = K.rnn(step, x, [h0, c0], mask=mask, constants=consts, input_length=il, **kw)
        return (last, outs) + tuple(states)

    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(3, 5, 2)), rng.normal(size=(3, 4)), rng.normal(size=(3, 4)),
              rng.normal(size=(2, 4)) * 0.5, rng.normal(size=(4, 4)) * 0.5, rng.normal(size=(3, 4))]
    arrays = [a.astype(dt) for a in arrays]
    if opts.get("time_major"):
        arrays[0] = np.ascontiguousarray(np.swapaxes(arrays[0], 0, 1))
    return fn, arrays


_IL = np.array([2, 4, 1], np.int32)
RNN_OPTIONS = [
    {}, {"go_backwards": True}, {"mask": _M}, {"mask": _M, "go_backwards": True}, {"mask": _M, "zero_output_for_mask": True},
    {"mask": _M, "return_all_outputs": False}, {"constants": True}, {"unroll": True}, {"unroll": True, "mask": _M},
    {"unroll": True, "mask": _M, "go_backwards": True, "zero_output_for_mask": True}, {"time_major": True},
    {"mask": np.zeros((3, 5), bool)},
    # input_length: TensorFlow's while-loop runs max(input_length) steps (fixed here; ours ran all of them)
    {"input_length": np.array([5, 2, 0], np.int32)}, {"input_length": np.array([3, 2, 1], np.int32), "go_backwards": True},
    {"input_length": 3}, {"input_length": np.array([0, 0, 0], np.int32)},
    {"input_length": np.array([0, 0, 0], np.int32), "return_all_outputs": False}, {"input_length": _IL, "mask": _M},
    {"input_length": _IL, "return_all_outputs": False}, {"input_length": np.array([9, 4, 1], np.int32)},
    {"input_length": _IL, "mask": _M, "zero_output_for_mask": True, "go_backwards": True},
    {"input_length": _IL, "unroll": True}, {"input_length": _IL, "zero_output_for_mask": True},
]


@pytest.mark.parametrize("dt", DTYPES)
def test_k_rnn_like_keras(dt):
    """``K.rnn`` over 23 option sets (masks, ``go_backwards``, constants, ``unroll``, ``time_major``,
    ``zero_output_for_mask``, ``return_all_outputs``, ``input_length`` alone and with the others): the last
    output, the outputs, the states and the gradients to the inputs, initial states and weights."""
    worst = [0.0, 0.0]
    with _precision(dt), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for opts in RNN_OPTIONS:
            fn, arrays = _rnn_case(opts, dt)
            name = "K.rnn " + ", ".join(f"{k}={'M' if k == 'mask' else v}" for k, v in opts.items())
            v, g = _compare(name[:52], fn, arrays, grad_idx=(0, 1, 2, 3, 4, 5), dt=dt)
            worst = [max(worst[0], v), max(worst[1], g)]
    print(f"{len(RNN_OPTIONS)} K.rnn option sets, {dt}: worst value {worst[0]:.1e}, gradient {worst[1]:.1e}")


def test_k_rnn_input_length_stops_at_its_max():
    """Regression (fixed here), in numbers: a cell ``h = 10 h + x`` over x = 1..5 with ``input_length=[3, 2]``:
    Keras's outputs stop after max(input_length) = 3 steps (the rest zeros, the last output zeros), ours ran on
    to step 5 ([1, 12, 123, 123, 123] with last output [123, 67])."""
    x = np.arange(1, 11, dtype="float64").reshape(2, 5, 1)

    def step_of(K):
        return lambda x_t, states: (states[0] * 10 + x_t, [states[0] * 10 + x_t])

    k = KK.rnn(step_of(KK), tf.constant(x), [tf.zeros((2, 1), "float64")], input_length=tf.constant([3, 2]))
    t = TK.rnn(step_of(TK), torch.tensor(x), [torch.zeros(2, 1, dtype=torch.float64)], input_length=torch.tensor([3, 2]))
    for name, a, b in zip(("last", "outputs", "state"), (k[0], k[1], k[2][0]), (t[0], t[1], t[2][0])):
        print(f"  {name}: Keras {a.numpy().ravel().tolist()} ours {b.numpy().ravel().tolist()}")
        assert np.array_equal(a.numpy(), b.numpy())
    assert k[1].numpy().ravel().tolist() == [1, 12, 123, 0, 0, 6, 67, 67, 0, 0]


def _critic(K, x, W1, W2):
    return K.dot(K.relu(K.dot(x, W1)), W2) + K.sum(K.square(x), axis=-1, keepdims=True) * 0.1


def _penalty(K, W1, W2, avg):
    g = K.gradients(_critic(K, avg, W1, W2), avg)[0]
    return K.mean(K.square(1 - K.sqrt(K.sum(K.square(g), axis=1))))


def test_k_gradients_wgan_gp_like_keras():
    """``K.gradients`` (``tf.gradients`` in Keras's traced step) in a WGAN-GP penalty on a relu critic: the
    penalty, its gradient to the weights (second order), and ``K.gradients`` of a list of variables (one the loss
    does not reach gives ``None``)."""
    rng = np.random.default_rng(1)
    W1, W2 = rng.normal(size=(3, 4)), rng.normal(size=(4, 1))
    alpha = rng.uniform(size=(5, 1))
    avg_np = alpha * rng.normal(size=(5, 3)) + (1 - alpha) * rng.normal(size=(5, 3))
    vW1, vW2 = tf.Variable(W1), tf.Variable(W2)

    @tf.function
    def keras_side():
        avg = tf.constant(avg_np)
        p = _penalty(KK, vW1, vW2, avg)
        return p, tf.gradients(p, [vW1, vW2]), KK.gradients(_critic(KK, avg, vW1, vW2), [avg, vW1, vW2])

    p, gw, gg = keras_side()
    tW1, tW2 = torch.tensor(W1, requires_grad=True), torch.tensor(W2, requires_grad=True)
    avg = torch.tensor(avg_np, requires_grad=True)
    tp = _penalty(TK, tW1, tW2, avg)
    tgw = torch.autograd.grad(tp, [tW1, tW2])
    tgg = TK.gradients(_critic(TK, avg, tW1, tW2), [avg, tW1, tW2])

    def rel(a, b):
        a, b = np.asarray(a.detach() if isinstance(a, torch.Tensor) else a), b.numpy()
        return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))

    figs = [rel(tp, p)] + [rel(a, b) for a, b in zip(tgw, gw)] + [rel(a, b) for a, b in zip(tgg, gg)]
    print(f"  penalty {figs[0]:.1e}, its weight gradients {max(figs[1:3]):.1e}, K.gradients list {max(figs[3:]):.1e}")
    assert figs[0] <= 1e-12 and max(figs[1:]) <= 1e-10

    a, b = torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor([3.0], requires_grad=True)
    out = TK.gradients(TK.sum(a * 2), [a, b])
    assert out[1] is None and torch.equal(out[0].detach(), torch.tensor([2.0, 2.0]))


@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_k_update_family_like_keras(dt):
    """``K.update``/``update_add``/``update_sub``/``moving_average_update`` on a variable, the values given as
    tensors, NumPy arrays, Python lists, tuples and scalars, NumPy float64 momentum. Regression (fixed here) in
    float64: a Python list went through float32 in ``update*`` (``K.update(v, [1.1, 2.2, 3.3])``: Keras 1.1, ours
    1.100000023841858; 9.5e-8 relative in ``update_add``); ``moving_average_update`` rounded a NumPy float64
    momentum to float32 (6.5e-8 relative) and did not round a list value to float32 as ``tf.cast`` does
    (8.3e-9)."""
    x0 = np.array([0.3, -1.7, 2.2], dt)
    v = np.array([2.5, 1.1, 0.3], dt)
    mom_t = (lambda: tf.constant(0.95, dt), lambda: torch.tensor(0.95, dtype=getattr(torch, dt)))
    cases = [
        ("update tensor", lambda K, T, x: K.update(x, T(v))),
        ("update list", lambda K, T, x: K.update(x, [1.1, 2.2, 3.3])),
        ("update NumPy float64", lambda K, T, x: K.update(x, np.array([0.1, 0.2, 0.3]))),
        ("update_add tensor", lambda K, T, x: K.update_add(x, T(v))),
        ("update_add list", lambda K, T, x: K.update_add(x, [1.1, 2.2, 3.3])),
        ("update_sub list", lambda K, T, x: K.update_sub(x, [1.1, 2.2, 3.3])),
        ("update_sub tensor", lambda K, T, x: K.update_sub(x, T(v) * 3)),
    ]
    for m in (0.99, 0.9, 0.0, 1.0, 0.123456789):
        cases.append((f"moving_average_update momentum {m}", lambda K, T, x, m=m: K.moving_average_update(x, T(v), m)))
    cases += [
        ("moving_average_update list value", lambda K, T, x: K.moving_average_update(x, [2.5, 1.1, 0.3], 0.7)),
        ("moving_average_update tuple value", lambda K, T, x: K.moving_average_update(x, (2.5, 1.1, 0.3), 0.7)),
        ("moving_average_update float value", lambda K, T, x: K.moving_average_update(x, 1.1, 0.7)),
        ("moving_average_update int value", lambda K, T, x: K.moving_average_update(x, 3, 0.7)),
        ("moving_average_update NumPy float64 momentum",
         lambda K, T, x: K.moving_average_update(x, np.array([2.5, 1.1, 0.3]), np.float64(0.99))),
        ("moving_average_update NumPy float32 value", lambda K, T, x: K.moving_average_update(x, v.astype("float32"), 0.7)),
        ("moving_average_update tensor momentum",
         lambda K, T, x: K.moving_average_update(x, T(v), mom_t[0]() if K is KK else mom_t[1]())),
    ]
    worst = 0.0
    for name, fn in cases:
        kv, tv = tf.Variable(x0), torch.tensor(x0)
        _, out_t = fn(KK, tf.constant, kv), fn(TK, torch.tensor, tv)
        assert out_t is tv  # in place
        e = float(np.max(np.abs(tv.numpy() - kv.numpy()) / np.abs(kv.numpy())))
        print(f"  {name:52s} {dt}  rel {e:.1e}")
        assert e == 0.0, f"{name}: ours {tv.numpy()} Keras {kv.numpy()}"
        worst = max(worst, e)
    print(f"{len(cases)} update cases, {dt}: worst {worst:.1e}")


# --------------------------------------------------------------------------------------------------------------
# 4. torch_impl.utils: normalize, pack/unpack_x_y_sample_weight, set_random_seed
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_utils_normalize_like_keras(dt):
    """``keras.utils.normalize`` on NumPy (orders 1, 2, 3, inf; 1-D, 2-D, 3-D; zero rows, NaN/inf, int and list
    inputs; ``axis=0``, where 3.15.1 raises a broadcast error: compared with keras-team/keras#23328's fix) and on
    tensors (order 2 gradient at a zero row: 1e7 clip)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4)).astype(dt)
    x[1] = 0
    x[2, 0] = 1e-8
    x3 = rng.normal(size=(2, 3, 4)).astype(dt)
    cases = []
    for order in (1, 2, 3, np.inf):
        for ax in (-1, 1, 0):
            cases.append((f"NumPy 2-D order {order} axis {ax}", (lambda o=order, a=ax: (x, dict(axis=a, order=o)))))
        cases.append((f"NumPy 3-D order {order} axis 1", (lambda o=order: (x3, dict(axis=1, order=o)))))
        cases.append((f"NumPy 3-D order {order} axis -2", (lambda o=order: (x3, dict(axis=-2, order=o)))))
    cases += [("NumPy 1-D", lambda: (x[0], {})), ("NumPy int", lambda: (np.array([[3, 4], [0, 0]]), {})),
              ("list", lambda: ([[3., 4.], [1., 1.]], {})), ("NumPy axis None", lambda: (x, dict(axis=None))),
              ("NumPy NaN/inf rows", lambda: (np.array([[nan, 1.], [inf, 1.]], dt), {}))]
    n = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, make in cases:
            arr, kw = make()
            # keras-team/keras#23328 (followed): NumPy axis=0 expands the norm at 0 (3.15.1 raises): the fixed Keras
            k, t = both_raise(name, lambda: _utils_normalize(arr, **kw), lambda: TU.normalize(arr, **kw))
            if isinstance(k, Exception):
                continue
            if isinstance(k, np.ndarray):  # NumPy in, NumPy out
                assert isinstance(t, np.ndarray) and t.dtype == k.dtype and t.shape == k.shape, name
            else:  # a list goes through ops.normalize: a tensor
                assert isinstance(t, torch.Tensor), name
            (kv, kd), (tv, td) = _as_np(k), _as_np(t)
            assert td == kd and np.array_equal(tv, kv, equal_nan=True), f"{name}: ours {t} Keras {k}"
            n += 1
        for order in (1, 2, 3):
            for ax in (-1, 0):
                for arr in (x, np.array([[nan, 1.], [inf, 1.], [0., 0.], [1e-9, 1e-9]], dt)):
                    name = f"tensor order {order} axis {ax}"
                    v = tf.Variable(arr)
                    with tf.GradientTape() as tape:
                        k = keras.utils.normalize(v, axis=ax, order=order)
                        s = tf.reduce_sum(k * np.arange(arr.shape[-1], dtype=dt))
                    kg = tape.gradient(s, v).numpy()
                    tv = torch.tensor(arr, requires_grad=True)
                    t = TU.normalize(tv, axis=ax, order=order)
                    (t * torch.arange(arr.shape[-1], dtype=tv.dtype)).sum().backward()
                    rtol = 1e-12 if dt == "float64" else 1e-5
                    np.testing.assert_allclose(t.detach().numpy(), k.numpy(), rtol=rtol, atol=1e-30, err_msg=name)
                    np.testing.assert_allclose(tv.grad.numpy(), kg, rtol=rtol * 100, atol=1e-30, err_msg=name)
                    n += 1
        for order in (0, np.inf):
            both_raise(f"tensor order {order}", lambda: keras.utils.normalize(tf.constant(x), order=order),
                       lambda: TU.normalize(torch.tensor(x), order=order))
    print(f"{n} normalize cases equal to Keras ({dt})")


def test_utils_pack_unpack_and_set_random_seed_like_keras():
    """``pack_x_y_sample_weight`` / ``unpack_x_y_sample_weight`` on every shape of data Keras accepts (and its
    errors); ``set_random_seed`` seeds Python's ``random``, NumPy and torch as Keras's does and refuses the seeds
    Keras refuses."""
    a, b, c = np.ones(2), np.zeros(2), np.full(2, 3.)
    for args in [(a,), (a, b), (a, b, c), (a, None, c), ([a, b],), ((a, b),), ([a], b), ({"x": a},), (a, None, None)]:
        k, t = keras.utils.pack_x_y_sample_weight(*args), TU.pack_x_y_sample_weight(*args)
        assert type(k) is type(t) and repr(k) == repr(t), f"pack{args}: {k!r} vs {t!r}"
    for data in [a, (a,), (a, b), (a, b, c), [a, b], [a, b, c], (a, None), ([a, b], c), {"x": a}, [a], (a, b, c, a), ()]:
        k, t = both_raise(f"unpack {type(data).__name__} of {len(data)}", lambda: keras.utils.unpack_x_y_sample_weight(data),
                          lambda: TU.unpack_x_y_sample_weight(data))
        if not isinstance(k, Exception):
            assert repr(k) == repr(t), f"{k!r} vs {t!r}"
    print("  pack: 9 argument shapes, unpack: 12 data shapes equal")
    keras.utils.set_random_seed(42)
    k = (pyrandom.random(), np.random.random())
    TU.set_random_seed(42)
    t = (pyrandom.random(), np.random.random(), torch.rand(()))
    torch.manual_seed(42)
    print(f"  after set_random_seed(42): Keras {k}, ours {t[:2]}")
    assert k == t[:2] and torch.equal(t[2], torch.rand(()))
    for s in (-1, 1.5, 2 ** 32, np.int64(3)):
        k, _ = both_raise(f"set_random_seed({s!r})", lambda: keras.utils.set_random_seed(s), lambda: TU.set_random_seed(s))
        assert isinstance(k, Exception)
    TU.set_random_seed(2 ** 32 - 1)


# --------------------------------------------------------------------------------------------------------------
# 5. the new keras.ops families (linalg/statistics, FFT/math, nn/image, numpy/indexing/control flow)
# --------------------------------------------------------------------------------------------------------------

def _r(seed, shape, dt, scale=1.0):
    return (np.random.default_rng(seed).normal(size=shape) * scale).astype(dt)

def _spd(dt, n=4, seed=0, batch=()):
    a = np.random.default_rng(seed).normal(size=batch + (n, n))
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(dt)

def _ties(dt):  # ties, negative zero, duplicates
    return np.array([[3., 1., 3., -0., 0., 2., 2., 7.], [1., 1., 1., 1., 1., 1., 1., 1.], [-5., 4., 2.5, -1., 9., 0.5, 2.5, -2.]], dt)

def _with_nan(dt):
    x = _r(1, (3, 6), dt)
    x[0, 1] = nan; x[2, :] = nan; x[1, 3] = inf
    return x

OPS_CASES = [
    # ---- statistics / quantiles
    ("median axis=None ties", lambda o, x: o.median(x), lambda dt: [_ties(dt)], (0,)),
    ("median axis=-1 keepdims", lambda o, x: o.median(x, axis=-1, keepdims=True), lambda dt: [_ties(dt)], (0,)),
    ("median axis=0 even count", lambda o, x: o.median(x, axis=0), lambda dt: [_r(2, (4, 5), dt)], (0,)),
    ("median of inf row", lambda o, x: o.median(x, axis=1), lambda dt: [np.array([[-inf, 1., 2.], [1., inf, 3.], [1., 2., 3.]], dt)], (0,)),
    ("quantile q=0.1 axis=1", lambda o, x: o.quantile(x, 0.1, axis=1), lambda dt: [_r(3, (3, 7), dt)], (0,)),
    ("quantile list q, axis=(0, 1)", lambda o, x: o.quantile(x, [0.0, 0.25, 0.9, 1.0], axis=(0, 1)), lambda dt: [_r(4, (2, 3, 4), dt)], (0,)),
    ("quantile tensor q (grad to q)", lambda o, x, q: o.quantile(x, q, axis=-1), lambda dt: [_r(5, (2, 6), dt), np.array([0.3, 0.65], dt)], (0, 1)),
    ("quantile methods", lambda o, x: [o.quantile(x, 0.37, axis=-1, method=m) for m in ("lower", "higher", "nearest", "midpoint")],
     lambda dt: [_r(6, (3, 5), dt)], (0,)),
    ("percentile 33 axis=-2", lambda o, x: o.percentile(x, 33.0, axis=-2), lambda dt: [_r(7, (5, 3), dt)], (0,)),
    ("nanmedian", lambda o, x: o.nanmedian(x, axis=-1), lambda dt: [_with_nan(dt)[:2]], (0,)),
    ("nanquantile", lambda o, x: o.nanquantile(x, 0.75, axis=1), lambda dt: [_with_nan(dt)[:2]], (0,)),
    ("median int32 (floatx)", lambda o, x: o.median(x, axis=-1), lambda dt: [np.array([[3, 1, 2, 8], [5, 5, -1, 0]], np.int32)], ()),
    ("nanmean/nansum/nanstd/nanvar", lambda o, x: [o.nanmean(x, axis=1), o.nansum(x, axis=-1, keepdims=True), o.nanstd(x, axis=1), o.nanvar(x)],
     lambda dt: [_with_nan(dt)], (0,)),
    ("nanmax/nanmin/nanargmax", lambda o, x: [o.nanmax(x, axis=1), o.nanmin(x, axis=0), o.nanargmax(x, axis=1)], lambda dt: [_with_nan(dt)], (0,)),
    ("nanmean int32", lambda o, x: o.nanmean(x, axis=0), lambda dt: [np.array([[1, 2], [4, 7]], np.int32)], ()),
    # keras-team/keras#23135/#23134 (followed): infinities stay; compared with the fix
    ("nancumsum/nancumprod", lambda o, x: [_fixed(o).nancumsum(x, axis=1), _fixed(o).nancumprod(x, axis=-1)],
     lambda dt: [_with_nan(dt)[:2]], (0,)),
    ("ptp/diff n=2", lambda o, x: [o.ptp(x, axis=-1), o.diff(x, n=2, axis=0)], lambda dt: [_ties(dt)], (0,)),
    ("trapezoid with x", lambda o, y, x: o.trapezoid(y, x, axis=-1), lambda dt: [_r(8, (3, 5), dt), np.sort(_r(9, (5,), dt))], (0, 1)),
    ("corrcoef", lambda o, x: o.corrcoef(x), lambda dt: [_r(10, (3, 6), dt)], (0,)),
    ("histogram", lambda o, x: o.histogram(x, bins=4, range=(-1.0, 1.0)), lambda dt: [np.array([-1., -0.5, 0., 0.5, 1., 2., -3.], dt)], ()),
    ("cdist", lambda o, x, y: o.cdist(x, y), lambda dt: [_r(11, (4, 3), dt), _r(12, (5, 3), dt)], (0, 1)),
    ("cdist batched", lambda o, x, y: o.cdist(x, y), lambda dt: [_r(13, (2, 3, 4), dt), _r(14, (2, 2, 4), dt)], (0, 1)),
    # ---- linear algebra
    ("logdet spd batch", lambda o, a: o.logdet(a), lambda dt: [_spd(dt, 3, 1, (2,))], (0,)),
    ("logdet non-symmetric (lower triangle read)", lambda o, a: o.logdet(a), lambda dt: [_spd(dt, 3, 2) + np.triu(np.ones((3, 3), dt), 1)], (0,)),
    ("logdet not PD -> nan", lambda o, a: o.logdet(a), lambda dt: [np.array([[1., 2.], [2., 1.]], dt)], ()),
    ("slogdet", lambda o, a: o.slogdet(a), lambda dt: [_r(15, (3, 3), dt)], (0,)),
    ("cholesky / upper", lambda o, a: [o.cholesky(a), o.cholesky(a, upper=True)], lambda dt: [_spd(dt, 4, 3)], (0,)),
    ("solve batched", lambda o, a, b: o.solve(a, b), lambda dt: [_spd(dt, 3, 4, (2,)), _r(16, (2, 3, 2), dt)], (0, 1)),
    ("solve_triangular default upper / lower", lambda o, a, b: [o.solve_triangular(a, b), o.solve_triangular(a, b, lower=True)],
     lambda dt: [_spd(dt, 3, 5), _r(17, (3, 2), dt)], (0, 1)),
    ("inv/det", lambda o, a: [o.inv(a), o.det(a)], lambda dt: [_spd(dt, 3, 6) - 2 * np.eye(3, dtype=dt)], (0,)),
    ("lstsq / pinv", lambda o, a, b: [o.lstsq(a, b), o.pinv(a)], lambda dt: [_r(18, (5, 3), dt), _r(19, (5, 2), dt)], (0, 1)),
    ("eigh values + svd values", lambda o, a: [o.eigh(a)[0], o.svd(a, compute_uv=False)], lambda dt: [_spd(dt, 4, 7)], (0,)),
    # ---- fft / signal
    ("rfft / irfft", lambda o, x: list(o.rfft(x)) + [o.irfft(o.rfft(x))], lambda dt: [_r(20, (2, 8), dt)], (0,)),
    ("rfft fft_length pad", lambda o, x: list(o.rfft(x, fft_length=10)), lambda dt: [_r(21, (3, 7), dt)], (0,)),
    ("fft / fft2", lambda o, a, b: list(o.fft((a, b))) + list(o.fft2((a, b))), lambda dt: [_r(22, (2, 4, 4), dt), _r(23, (2, 4, 4), dt)], (0, 1)),
    ("stft hann", lambda o, x: list(o.stft(x, 8, 4, 8)), lambda dt: [_r(24, (2, 32), dt)], (0,)),
    ("stft hamming, fft_length 16, no center", lambda o, x: list(o.stft(x, 10, 3, 16, window="hamming", center=False)),
     lambda dt: [_r(25, (1, 40), dt)], (0,)),
    ("istft(stft)", lambda o, x: o.istft(o.stft(x, 8, 2, 8), 8, 2, 8), lambda dt: [_r(26, (2, 24), dt)], (0,)),
    # ---- element-wise math
    ("erfinv edges", lambda o, x: o.erfinv(x), lambda dt: [np.array([0., -0., 1e-8, 0.5, -0.999, 1 - 1e-6, 1., -1., 1.5], dt)], (0,)),
    ("cbrt edges", lambda o, x: o.cbrt(x), lambda dt: [np.array([0., -8., 27., 1e-30, -1e30, inf, -inf, nan], dt)], (0,)),
    ("cbrt int64", lambda o, x: o.cbrt(x), lambda dt: [np.array([-27, 8, 0], np.int64)], ()),
    ("erfc/sinc/i0", lambda o, x: [o.erfc(x), o.sinc(x), o.i0(x)], lambda dt: [np.array([-3., -0.5, 0.25, 1., 5., 30.], dt)], (0,)),
    ("logaddexp2 / fmax / fmin", lambda o, a, b: [o.logaddexp2(a, b), o.fmax(a, b), o.fmin(a, b)],
     lambda dt: [np.array([0., 1., nan, 3., -inf, 2.], dt), np.array([0., nan, 1., 3., -inf, 5.], dt)], (0, 1)),
    ("heaviside", lambda o, a, b: o.heaviside(a, b), lambda dt: [np.array([-1., 0., 2., -0.], dt), np.array([0.5, 0.3, 0.1, 0.7], dt)], ()),
    # ---- nn / image
    ("sparsemax", lambda o, x: o.sparsemax(x), lambda dt: [np.array([[0.5, 0.4, -1.], [3., 3., 3.], [10., -10., 0.], [0.1, 0.2, 0.15]], dt)], (0,)),
    ("sparsemax axis=0", lambda o, x: o.sparsemax(x, axis=0), lambda dt: [_r(27, (4, 3), dt)], (0,)),
    ("glu axis=-1 / axis=1", lambda o, x: [o.glu(x), o.glu(x, axis=1)], lambda dt: [_r(28, (2, 4, 6), dt)], (0,)),
    ("celu/squareplus/sparse_plus/threshold", lambda o, x: [o.celu(x), o.squareplus(x, b=2), o.sparse_plus(x), o.threshold(x, 0.5, -1.0)],
     lambda dt: [np.array([-2., -1., -0.5, 0., 0.5, 1., 3.], dt)], (0,)),
    ("layer_normalization gamma beta", lambda o, x, g, b: o.layer_normalization(x, g, b, axis=-1), lambda dt: [_r(29, (3, 5), dt), _r(30, (5,), dt), _r(31, (5,), dt)], (0, 1, 2)),
    ("layer_normalization constant row", lambda o, x: o.layer_normalization(x), lambda dt: [np.array([[2., 2., 2.], [1., 2., 3.]], dt)], (0,)),
    ("rms_normalization", lambda o, x, s: o.rms_normalization(x, s, axis=-1), lambda dt: [_r(32, (3, 4), dt), _r(33, (4,), dt)], (0, 1)),
    ("batch_normalization axis=1", lambda o, x, m, v, b, s: o.batch_normalization(x, m, v, axis=1, offset=b, scale=s),
     lambda dt: [_r(34, (4, 3, 2), dt), _r(35, (3,), dt), np.abs(_r(36, (3,), dt)), _r(37, (3,), dt), _r(38, (3,), dt)], (0, 1, 2, 3, 4)),
    ("psnr", lambda o, a, b: o.psnr(a, b, 1.0), lambda dt: [np.random.default_rng(39).uniform(size=(2, 4, 4, 3)).astype(dt),
                                                       np.random.default_rng(40).uniform(size=(2, 4, 4, 3)).astype(dt)], (0, 1)),
    ("psnr identical -> inf", lambda o, a: o.psnr(a, a, 1.0), lambda dt: [np.full((1, 2, 2, 1), 0.5, dt)], ()),
    ("in_top_k ties float32", lambda o, t, p: o.in_top_k(t, p, 2),
     lambda dt: [np.array([0, 1, 2, 3], np.int32), np.array([[1., 1., 1., 0.], [0.1, 0.5, 0.5, 0.5], [nan, 0., 1., 2.], [0., 0., 0., 9.]], np.float32)], ()),
    ("segment_max/min unsorted with empty segment", lambda o, d, i: [o.segment_max(d, i, num_segments=4), o.segment_min(d, i, num_segments=4)],
     lambda dt: [np.array([[1., 5.], [3., 3.], [3., -1.], [0., 2.]], dt), np.array([2, 0, 0, 2], np.int32)], (0,)),
    ("segment_prod with zero", lambda o, d, i: o.segment_prod(d, i, num_segments=2),
     lambda dt: [np.array([2., 0., 3., 4., 0., 0.], dt), np.array([0, 0, 0, 1, 1, 1], np.int32)], (0,)),
    ("segment_max sorted", lambda o, d, i: o.segment_max(d, i, sorted=True),
     lambda dt: [np.array([1., 4., 2., 2.], dt), np.array([0, 0, 2, 2], np.int32)], (0,)),
    ("conv 2d same stride 2", lambda o, x, k: o.conv(x, k, strides=2, padding="same"), lambda dt: [_r(41, (2, 7, 6, 3), dt), _r(42, (3, 3, 3, 4), dt)], (0, 1)),
    ("conv 1-D dilation 2 valid", lambda o, x, k: o.conv(x, k, dilation_rate=2), lambda dt: [_r(43, (2, 9, 2), dt), _r(44, (3, 2, 3), dt)], (0, 1)),
    ("depthwise_conv", lambda o, x, k: o.depthwise_conv(x, k, padding="same"), lambda dt: [_r(45, (1, 5, 5, 2), dt), _r(46, (3, 3, 2, 2), dt)], (0, 1)),
    ("conv_transpose stride 2", lambda o, x, k: o.conv_transpose(x, k, strides=2, padding="same"), lambda dt: [_r(47, (1, 3, 4, 2), dt), _r(48, (3, 3, 5, 2), dt)], (0, 1)),
    ("max_pool ties/nan", lambda o, x: o.max_pool(x, 2, strides=1), lambda dt: [np.array([[[[1.], [1.], [0.]], [[1.], [nan], [2.]], [[-inf], [nan], [2.]]]], dt)], (0,)),
    ("max_pool same 3x3 s2", lambda o, x: o.max_pool(x, 3, strides=2, padding="same"), lambda dt: [_r(49, (2, 5, 5, 3), dt)], (0,)),
    ("average_pool same", lambda o, x: o.average_pool(x, (2, 3), strides=(2, 2), padding="same"), lambda dt: [_r(50, (1, 5, 5, 2), dt)], (0,)),
    ("adaptive pools", lambda o, x: [o.adaptive_average_pool(x, (2, 3)), o.adaptive_max_pool(x, (3, 2))], lambda dt: [_r(51, (1, 7, 5, 2), dt)], (0,)),
    ("dot_product_attention mask causal", lambda o, q, k, v: [o.dot_product_attention(q, k, v, is_causal=True),
                                                           o.dot_product_attention(q, k, v, mask=np.array([[[[True, False, True, False]]]]))],
     lambda dt: [_r(52, (2, 4, 2, 8), dt), _r(53, (2, 4, 2, 8), dt), _r(54, (2, 4, 2, 8), dt)], (0, 1, 2)),
    ("dot_product_attention bias scale", lambda o, q, k, v, b: o.dot_product_attention(q, k, v, bias=b, scale=0.3),
     lambda dt: [_r(55, (1, 3, 2, 4), dt), _r(56, (1, 5, 2, 4), dt), _r(57, (1, 5, 2, 4), dt), _r(58, (1, 2, 3, 5), dt)], (0, 1, 2, 3)),
    ("image.ssim", lambda o, a, b: o.image.ssim(a, b, max_val=1.0, filter_size=3),
     lambda dt: [np.random.default_rng(59).uniform(size=(2, 8, 8, 1)).astype(dt), np.random.default_rng(60).uniform(size=(2, 8, 8, 1)).astype(dt)], (0, 1)),
    ("image.rgb_to_grayscale / sobel_edges", lambda o, x: [o.image.rgb_to_grayscale(x), o.image.sobel_edges(x)],
     lambda dt: [np.random.default_rng(61).uniform(size=(1, 4, 5, 3)).astype(dt)], (0,)),
    ("image.gaussian_blur", lambda o, x: o.image.gaussian_blur(x, (3, 3), (1.0, 1.0)), lambda dt: [np.random.default_rng(62).uniform(size=(1, 6, 6, 2)).astype(dt)], (0,)),
    ("image.resize bilinear up/down", lambda o, x: [o.image.resize(x, (7, 3)), o.image.resize(x, (2, 2))], lambda dt: [np.random.default_rng(63).uniform(size=(1, 5, 4, 2)).astype(dt)], (0,)),
    ("space_to_depth / depth_to_space", lambda o, x: [o.space_to_depth(x, 2), o.depth_to_space(o.space_to_depth(x, 2), 2)], lambda dt: [_r(64, (1, 4, 6, 3), dt)], (0,)),
    # ---- numpy family / indexing / control flow
    ("hstack/vstack/dstack mixed", lambda o, a, b: [o.hstack([a, b]), o.vstack([a, b]), o.dstack([a, b])], lambda dt: [_r(65, (2, 3), dt), _r(66, (2, 3), dt)], (0, 1)),
    ("hstack int + float", lambda o, a, b: o.hstack([a, b]), lambda dt: [np.array([1, 2], np.int32), np.array([0.5], dt)], (1,)),
    ("unstack axis=1", lambda o, x: o.unstack(x, axis=1), lambda dt: [_r(67, (2, 3, 2), dt)], (0,)),
    ("scatter duplicates sum", lambda o, i, v: o.scatter(i, v, (4, 2)), lambda dt: [np.array([[0, 1], [3, 0], [0, 1]], np.int32), np.array([1.5, 2., 4.], dt)], (1,)),
    ("scatter_update rows", lambda o, x, i, u: o.scatter_update(x, i, u), lambda dt: [_r(68, (4, 3), dt), np.array([[1], [3]], np.int32), _r(69, (2, 3), dt)], (0, 2)),
    ("scatter_update max ties", lambda o, x, i, u: o.scatter_update(x, i, u, reduction="max"),
     lambda dt: [np.array([1., 5., 2.], dt), np.array([[0], [0], [2]], np.int32), np.array([1., 0.5, 7.], dt)], (0, 2)),
    ("slice_update clamp", lambda o, x, u: [o.slice_update(x, (1, 2), u), o.slice_update(x, (2, 2), u)], lambda dt: [_r(70, (3, 3), dt), _r(71, (2, 2), dt)], ()),
    ("unique sorted counts inverse", lambda o, x: o.unique(x, return_inverse=True, return_counts=True), lambda dt: [np.array([3., 1., 3., -0., 0., 2., 1.], dt)], ()),
    ("unique size fill", lambda o, x: o.unique(x, return_index=True, size=6, fill_value=-1), lambda dt: [np.array([4, 2, 4, 9], np.int32)], ()),
    ("cond", lambda o, x: o.cond(o.sum(x) > 0, lambda: o.exp(x), lambda: o.square(x)), lambda dt: [_r(72, (3,), dt)], (0,)),
    ("scan cumulative", lambda o, x: o.scan(lambda c, xi: (c * 0.5 + xi, c * xi), o.zeros((2,), dtype=x.dtype), x), lambda dt: [_r(73, (4, 2), dt)], (0,)),
    ("scan reverse", lambda o, x: o.scan(lambda c, xi: (c + o.sin(xi), c), o.zeros((), dtype=x.dtype), x, reverse=True), lambda dt: [_r(74, (5,), dt)], (0,)),
    ("associative_scan add axis=1", lambda o, x: o.associative_scan(lambda a, b: a + b, x, axis=1), lambda dt: [_r(75, (2, 5), dt)], (0,)),
    ("fori_loop / while_loop", lambda o, x: [o.fori_loop(0, 3, lambda i, v: v * x + 1.0, x),
                                              o.while_loop(lambda v: o.sum(v) < 100.0, lambda v: (v * 2.0,), (o.abs(x) + 1.0,))[0]],
     lambda dt: [np.abs(_r(76, (3,), dt)) + 0.5], (0,)),
    ("select", lambda o, x: o.select([x < -0.5, x > 0.5], [x * 2, -x], default=x), lambda dt: [_r(77, (6,), dt)], (0,)),
    ("kron / cross / inner", lambda o, a, b: [o.kron(a, b), o.cross(a, b), o.inner(a, b)], lambda dt: [_r(78, (2, 3), dt), _r(79, (2, 3), dt)], (0, 1)),
    ("rot90 square k=2 / nonsquare k=1", lambda o, x, y: [o.rot90(x, 2), o.rot90(y)], lambda dt: [_r(80, (3, 3), dt), _r(81, (2, 4), dt)], (0, 1)),
    ("get_item slices", lambda o, x: [o.get_item(x, (slice(None), 1)), o.get_item(x, (Ellipsis, slice(1, None, 2))), o.get_item(x, 1)], lambda dt: [_r(82, (3, 4), dt)], (0,)),
    ("argpartition", lambda o, x: o.argpartition(x, 1), lambda dt: [np.array([5, 3, 9, 1, 7], np.int32)], ()),
    ("vander / tri / diagflat", lambda o, x: [o.vander(x, 3), o.diagflat(x, k=1)], lambda dt: [np.array([1.5, -2., 3.], dt)], (0,)),
    ("fold(unfold)", lambda o, x: [o.unfold(x, 2, stride=1), o.fold(o.unfold(x, 2), (4, 4), 2)], lambda dt: [_r(83, (1, 2, 4, 4), dt)], (0,)),
]


def _keras_tensors(fn):
    """Keras's ``ops`` refuse a ``tf.Variable`` in places (``.ndim``): the Keras side gets ``tf.identity`` of the
    variables the tape watches (the gradient flows through it)."""
    return lambda o, *a: fn(o, *[tf.identity(v) if isinstance(v, tf.Variable) else v for v in a])


def _run_ops(cases, dt: str):
    worst, failures = [0.0, 0.0], []
    with _precision(dt), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fn, inputs, grad_idx in cases:
            if dt == "float32" and name.startswith("eigh"):
                grad_idx = ()  # float32 eigenvector round-off: 2.5e-6 absolute on gradients of ~2 (not parity)
            try:
                v, g = _compare(name[:52], _keras_tensors(fn), inputs(dt), grad_idx, dt,
                                zero_set=not (dt == "float32" and name.startswith("istft")), modules=(KO, TO))
            except Exception as e:  # noqa: BLE001 - every case runs; the failures are listed together
                failures.append(f"{name}: {type(e).__name__}: {str(e)[:600]}")
                continue
            worst = [max(worst[0], v), max(worst[1], g)]
    print(f"{len(cases)} keras.ops cases, {dt}: worst value {worst[0]:.1e}, worst gradient {worst[1]:.1e}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("dt", DTYPES)
def test_new_keras_ops_like_keras(dt):
    """~90 cases over ~110 functions of the new families on inputs designed here (ties, -0, NaN/inf, empty
    segments, not-positive-definite and non-symmetric matrices, negative axes, broadcasting, int inputs): value,
    dtype and the gradient of ``sum(out * c)`` against ``keras.ops`` (``tf.GradientTape``)."""
    _run_ops(OPS_CASES, dt)


def test_windows_like_keras():
    """``kaiser``/``hamming`` (float32 whatever floatx), ``bartlett``/``blackman`` (floatx): within float32 rtol
    (TensorFlow's vectorised ``cos`` is an ulp off libm's in places, as the module documents)."""
    for dt in ("float64", "float32"):
        with _precision(dt):
            _compare(f"windows floatx {dt}", lambda o: [o.kaiser(7, 5.0), o.hamming(6), o.hanning(5), o.bartlett(5),
                                                       o.blackman(5)], [], (), "float32", modules=(KO, TO))


def _half_cases():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 8))
    x[0, :3] = [0., 2., 2.]
    p = rng.uniform(size=(2, 6, 6, 1))
    return [
        ("median", lambda o, a: o.median(a, axis=-1), [x]), ("quantile", lambda o, a: o.quantile(a, 0.3, axis=-1), [x]),
        ("nanmean", lambda o, a: o.nanmean(a, axis=-1), [x]), ("nanstd", lambda o, a: o.nanstd(a, axis=0), [x]),
        ("cbrt", lambda o, a: o.cbrt(a), [x]), ("erfinv", lambda o, a: o.erfinv(a), [np.clip(x, -0.99, 0.99)]),
        ("sinc", lambda o, a: o.sinc(a), [x]), ("logaddexp2", lambda o, a: o.logaddexp2(a, a), [x]),
        ("fmax with a Python float", lambda o, a: o.fmax(a, 0.5), [x]), ("celu", lambda o, a: o.celu(a), [x]),
        ("sparsemax", lambda o, a: o.sparsemax(a), [x]), ("glu", lambda o, a: o.glu(a), [x]),
        ("layer_normalization", lambda o, a: o.layer_normalization(a), [x]),
        ("rms_normalization", lambda o, a: o.rms_normalization(a), [x]),
        ("psnr", lambda o, a, b: o.psnr(a, b, 1.0), [p, p[::-1].copy()]),
        ("image.ssim", lambda o, a, b: o.image.ssim(a, b, filter_size=3), [p, p[::-1].copy()]),
        ("image.resize", lambda o, a: o.image.resize(a, (3, 4)), [p]),
        ("max_pool", lambda o, a: o.max_pool(a, 2), [p]), ("average_pool", lambda o, a: o.average_pool(a, 2), [p]),
        ("conv", lambda o, a, k: o.conv(a, k), [p, rng.normal(size=(2, 2, 1, 2))]),
        ("hstack", lambda o, a: o.hstack([a, a]), [x]),
        ("segment_max", lambda o, a, i: o.segment_max(a, i, num_segments=3), [x[:, :2].T[:3].copy(), np.array([0, 2, 2], np.int32)]),
        ("segment_prod", lambda o, a, i: o.segment_prod(a, i, num_segments=2), [np.array([1.5, 2., 3.]), np.array([0, 1, 1], np.int32)]),
        ("cdist", lambda o, a: o.cdist(a, a), [x]), ("corrcoef", lambda o, a: o.corrcoef(a), [x]),
        ("logdet (raises in half)", lambda o, a: o.logdet(a), [np.eye(3) * 2]), ("inv", lambda o, a: o.inv(a), [np.eye(3) * 2 + 0.1]),
        ("rfft (raises in half)", lambda o, a: o.rfft(a), [x]),
        ("dot_product_attention", lambda o, q: o.dot_product_attention(q, q, q), [rng.normal(size=(1, 3, 1, 4))]),
        ("scatter_update", lambda o, a: o.scatter_update(a, np.array([[0], [2]], np.int32), o.ones((2, 8), dtype=a.dtype)), [x]),
        ("unique", lambda o, a: o.unique(a), [np.array([2., 1., 2., 3.])]),
    ]


def test_new_keras_ops_half_precision_like_keras():
    """float16 and bfloat16 inputs (forward): the result dtype Keras gives, values within 2 ulp of the half type
    (relative to max(|value|, 1e-3, max |output| / 8)), and an error wherever Keras raises."""
    worst, n = {}, 0
    for dt, ulp in (("float16", 2 ** -10), ("bfloat16", 2 ** -7)):
        for name, fn, arrs in _half_cases():
            k, t = both_raise(f"{name} {dt}", lambda: fn(KO, *[tf.cast(tf.constant(a), dt) if a.dtype.kind == "f" else a
                                                             for a in arrs]),
                              lambda: fn(TO, *[torch.tensor(a).to(getattr(torch, dt)) if a.dtype.kind == "f"
                                               else torch.tensor(a) for a in arrs]))
            if isinstance(k, Exception):
                continue
            for a, b in zip(k if isinstance(k, (list, tuple)) else [k], t if isinstance(t, (list, tuple)) else [t]):
                (kv, kd), (tv, td) = _as_np(a), _as_np(b)
                assert (td, tv.shape) == (kd, kv.shape), f"{name} {dt}: ours {td} {tv.shape}, Keras {kd} {kv.shape}"
                assert np.array_equal(np.isnan(kv), np.isnan(tv)), f"{name} {dt}: NaN places"
                fin = np.isfinite(kv)
                # relative to the entry, at least 1/8 of the output's largest entry (an entry that sums cancelling
                # terms, as attention's, carries rounding from its terms: 1 float16 ulp of 0.23 on a 0.04 entry)
                floor = max(1e-3, float(np.max(np.abs(kv[fin]))) / 8) if fin.any() else 1e-3
                r = float(np.max(np.abs(kv[fin] - tv[fin]) / np.maximum(np.abs(kv[fin]), floor))) if fin.any() else 0.0
                worst[dt] = max(worst.get(dt, 0.0), r)
                n += 1
                assert r <= 2 * ulp, f"{name} {dt}: {r:.2e}\nours {tv.ravel()[:6]}\nKeras {kv.ravel()[:6]}"
    print(f"{n} half-precision outputs: worst relative error {worst} (1 ulp: float16 9.8e-4, bfloat16 7.8e-3)")


_DTYPE_FUNCS = {
    "median": lambda o, a: o.median(a), "quantile": lambda o, a: o.quantile(a, 0.5, axis=0),
    "percentile": lambda o, a: o.percentile(a, 50), "nanmean": lambda o, a: o.nanmean(a), "nansum": lambda o, a: o.nansum(a),
    "nanmax": lambda o, a: o.nanmax(a, axis=0), "nanstd": lambda o, a: o.nanstd(a), "nanargmax": lambda o, a: o.nanargmax(a),
    "nancumsum": lambda o, a: o.nancumsum(a), "nanprod": lambda o, a: o.nanprod(a), "ptp": lambda o, a: o.ptp(a),
    "diff": lambda o, a: o.diff(a), "trapezoid": lambda o, a: o.trapezoid(a), "corrcoef": lambda o, a: o.corrcoef(a),
    "histogram": lambda o, a: o.histogram(a, bins=3), "cdist": lambda o, a: o.cdist(a, a), "cbrt": lambda o, a: o.cbrt(a),
    "erfinv": lambda o, a: o.erfinv(a), "erfc": lambda o, a: o.erfc(a), "sinc": lambda o, a: o.sinc(a), "i0": lambda o, a: o.i0(a),
    "fmax": lambda o, a: o.fmax(a, a), "logaddexp2": lambda o, a: o.logaddexp2(a, a), "heaviside": lambda o, a: o.heaviside(a, a),
    "trunc": lambda o, a: o.trunc(a), "signbit": lambda o, a: o.signbit(a), "fmod": lambda o, a: o.fmod(a, 3),
    "gcd": lambda o, a: o.gcd(a, a), "deg2rad": lambda o, a: o.deg2rad(a), "sparsemax": lambda o, a: o.sparsemax(a),
    "glu": lambda o, a: o.glu(a), "layer_normalization": lambda o, a: o.layer_normalization(a),
    "rms_normalization": lambda o, a: o.rms_normalization(a), "psnr": lambda o, a: o.psnr(a, o.flip(a), 255),
    "segment_max": lambda o, a: o.segment_max(a, np.array([0, 0, 1, 1], np.int32)),
    "segment_prod": lambda o, a: o.segment_prod(a, np.array([0, 0, 1, 1], np.int32)), "hstack": lambda o, a: o.hstack([a, a]),
    "vstack": lambda o, a: o.vstack([a, a]), "kron": lambda o, a: o.kron(a, a), "inner": lambda o, a: o.inner(a, a),
    "cross": lambda o, a: o.cross(a[:3], a[1:]), "append": lambda o, a: o.append(a, a),
    "rot90": lambda o, a: o.rot90(o.reshape(a, (2, 2))), "vander": lambda o, a: o.vander(a), "diagflat": lambda o, a: o.diagflat(a),
    "unique": lambda o, a: o.unique(a), "argpartition": lambda o, a: o.argpartition(a, 1),
    "scatter_update": lambda o, a: o.scatter_update(a, np.array([[1]], np.int32), a[:1]),
    "slice_update": lambda o, a: o.slice_update(a, (1,), a[:2]), "unstack": lambda o, a: o.unstack(o.reshape(a, (2, 2))),
    "tri": lambda o, a: o.tri(3, dtype=a.dtype), "nonzero": lambda o, a: o.nonzero(a),
    "max_pool": lambda o, a: o.max_pool(o.reshape(a, (1, 4, 1)), 2), "average_pool": lambda o, a: o.average_pool(o.reshape(a, (1, 4, 1)), 2),
    "conv": lambda o, a: o.conv(o.reshape(a, (1, 4, 1)), o.reshape(a[:2], (2, 1, 1))),
    "in_top_k": lambda o, a: o.in_top_k(np.array([1], np.int32), o.reshape(a, (1, 4)), 1), "celu": lambda o, a: o.celu(a),
    "threshold": lambda o, a: o.threshold(a, 1, 0), "logdet": lambda o, a: o.logdet(o.reshape(a, (2, 2))),
    "det": lambda o, a: o.det(o.reshape(a, (2, 2))), "rfft": lambda o, a: o.rfft(a), "bitwise_and": lambda o, a: o.bitwise_and(a, 3),
    "left_shift": lambda o, a: o.left_shift(a, 2), "isin": lambda o, a: o.isin(a, a[:2]),
    "saturate_cast": lambda o, a: o.saturate_cast(a, "uint8"), "ldexp": lambda o, a: o.ldexp(a, 2),
}


@pytest.mark.slow
def test_new_keras_ops_dtypes_like_keras():
    """68 functions on bool/uint8/int8/int32/int64/float16/float32/float64 tensors under floatx float32 and float64:
    the result dtype and value equal to Keras's, and an error wherever Keras raises (1088 checks)."""
    vals, n = np.array([3, 0, 7, 2]), 0
    for fx in ("float32", "float64"):
        with _precision(fx), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for dt in ("bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64"):
                a = vals.astype(dt)
                for name, fn in _DTYPE_FUNCS.items():
                    k, t = both_raise(f"{name} {dt} floatx {fx}", lambda: fn(KO, tf.constant(a)), lambda: fn(TO, torch.tensor(a)))
                    n += 1
                    if isinstance(k, Exception):
                        continue
                    for x, y in zip(k if isinstance(k, (list, tuple)) else [k], t if isinstance(t, (list, tuple)) else [t]):
                        (kv, kd), (tv, td) = _as_np(x), _as_np(y)
                        assert (td, tv.shape) == (kd, kv.shape), f"{name} {dt} floatx {fx}: ours {td}, Keras {kd}"
                        assert np.allclose(tv, kv, rtol=1e-3, equal_nan=True), f"{name} {dt}: ours {tv} Keras {kv}"
    print(f"{n} dtype checks equal to Keras")


def test_segment_max_sorted_with_num_segments_raises_like_keras():
    """``segment_max(..., num_segments=3, sorted=True)``: the TensorFlow backend refuses ``num_segments`` with
    ``sorted=True`` (ValueError); so do we."""
    d, i = np.array([1., 4., 2., 2.]), np.array([0, 0, 2, 2], np.int32)
    k, t = both_raise("segment_max sorted + num_segments", lambda: KO.segment_max(d, i, num_segments=3, sorted=True),
                      lambda: TO.segment_max(torch.tensor(d), torch.tensor(i), num_segments=3, sorted=True))
    assert isinstance(k, Exception)


# --------------------------------------------------------------------------------------------------------------
# 6. known differences (strict xfail): inputs Keras refuses and we accept
# --------------------------------------------------------------------------------------------------------------

_REFUSED_NOW = {  # were strict xfails in this audit; refused like Keras since
    "keras_random: a NumPy int64 seed (Keras: ValueError, not an int)":
        (lambda: KR.uniform((3,), seed=np.int64(7)), lambda: TR.uniform((3,), seed=np.int64(7))),
    "keras_random.randint with float bounds 0.5, 9.7 (Keras: TypeError; ours truncates)":
        (lambda: KR.randint((5,), 0.5, 9.7, seed=1), lambda: TR.randint((5,), 0.5, 9.7, seed=1)),
    "K.update_add of a scalar to a (3,) variable (Keras: shapes must be equal; ours broadcasts)":
        (lambda: KK.update_add(tf.Variable(np.zeros(3)), 0.1), lambda: TK.update_add(torch.zeros(3, dtype=torch.float64), 0.1)),
    "K.update_add of 1.5 to an int32 variable (Keras: TypeError; ours truncates)":
        (lambda: KK.update_add(tf.Variable(np.array([1, 2], np.int32)), 1.5),
         lambda: TK.update_add(torch.tensor([1, 2], dtype=torch.int32), 1.5)),
    "utils.normalize of an int32 tensor (Keras: InvalidArgumentError; ours floats)":
        (lambda: keras.utils.normalize(tf.constant([[3, 4]])), lambda: TU.normalize(torch.tensor([[3, 4]], dtype=torch.int32))),
}


_LENIENT = {
    "K.rnn with an int64 input_length tensor (Keras: InvalidArgumentError; ours runs)":
        (lambda: KK.rnn(lambda x, s: (x, s), tf.ones((1, 2, 1)), [tf.zeros((1, 1))], input_length=tf.constant([1], tf.int64)),
         lambda: TK.rnn(lambda x, s: (x, s), torch.ones(1, 2, 1), [torch.zeros(1, 1)], input_length=torch.tensor([1]))),
}


@pytest.mark.parametrize("case", list(_REFUSED_NOW), ids=range(len(_REFUSED_NOW)))
def test_inputs_keras_refuses_are_refused_now(case):
    fk, ft = _REFUSED_NOW[case]
    k, t = both_raise(case, fk, ft)
    assert isinstance(k, Exception) and isinstance(t, Exception)


@pytest.mark.parametrize("case", list(_LENIENT), ids=range(len(_LENIENT)))
@pytest.mark.xfail(strict=True, reason="Keras raises on these inputs; torch_impl accepts them (known, low impact)")
def test_inputs_keras_refuses_are_refused(case):
    fk, ft = _LENIENT[case]
    k, _ = both_raise(case, fk, ft)
    assert isinstance(k, Exception), f"{case}: Keras no longer raises"

"""``torch_impl.keras_ops``'s FFT/signal ops, windows and element-wise math (``torch_impl/_keras_ops_fft_math.py``)
against Keras 3.15.1's ``keras.ops`` on TensorFlow 2.21.

1. Element-wise math (59 cases) and the complex helpers (11), one case per edge (0, -0, +-1 for arctanh/erfinv,
   NaN, inf, ties, integer and bool inputs): value (dtype and shape included) and the gradient of ``sum(out * c)``
   (cotangent with exact zeros) through ``run_cases`` of test_keras_ops_keras.py: float64 1e-12 values / 1e-10
   gradients, float32 rtol 1e-5 atol 1e-6; NaN, inf and the exact zeros of the gradients identical. Complex
   results are compared as their real and imaginary parts, complex inputs built inside from real ones.
2. FFT, ``stft``/``istft``, ``extract_sequences`` and the windows (26 cases): every output and gradient within
   ``1e-12`` (float64; float32 ``1e-5``) of the largest entry of Keras's (FFT outputs near 0 hold only rounding,
   so the element-wise figure is meaningless there).
3. A multi-resolution STFT loss (three resolutions, spectral convergence + log magnitude, as in Parallel WaveGAN /
   HiFi-GAN ports) written once against ``ops``: value and gradient.
4. Result dtypes of 47 functions on bool/int8/uint8/int32/int64/float16/float32/float64 under floatx float32 and
   float64 (752 checks), equal to Keras's, and we raise exactly where Keras raises; 33 error cases; signatures
   of the 59 functions; the same cases on CUDA against the CPU (``cuda``, skipped without a device).

Measured (this machine, CPU; largest error against Keras):

=====================================================  ===========================  ============================
check                                                  float64                      float32 (``slow``)
=====================================================  ===========================  ============================
59 element-wise cases, value / gradient (relative)     1.0e-15 / 1.9e-15            5.5e-7 / 1.0e-6
11 complex-helper cases, value / gradient              0 / 1.8e-16 (``angle`` of    1.2e-7 / 3.0e-7
                                                       complex128: float32, 1 ulp)
26 FFT/signal cases, value / gradient (of largest)     3.6e-16 / 3.0e-16 (float32   1.9e-7 / 2.2e-7
                                                       windows: 1.2e-7, an ulp)
multi-resolution STFT loss, value / gradient           0 / 1.8e-14                  2.3e-7 / 2.9e-5 (Keras's own
                                                                                    float32 gradient is 1.3e-4
                                                                                    from its float64 one; ours
                                                                                    1.2e-4)
dtype checks                                           752 checks, 0 differences
=====================================================  ===========================  ============================

Default (not ``slow``) tests: about 11 s on one core, 4 s of it the import check in a fresh interpreter.

Keras quirks pinned here (Keras's figures): ``ops.nextafter(float32 1, 2)`` is 1.0 (float64 step cast back);
``ops.cbrt`` and ``ops.sinc`` have gradient NaN at 0; ``ops.logaddexp2`` uses a float32 ``log(2)`` in float64;
``ops.hamming``/``hanning``/``kaiser`` are float32 under floatx float64; ``ops.blackman(5)[0]`` is ``-1.49e-8``;
``ops.left_shift(int32 1, 40)`` is ``-2**31`` (the shift clamps at 31); ``ops.signbit`` of float64 ``-1e-50`` is
True (the float32 cast); ``ops.i0`` of float32 is float64 under floatx float64; ``ops.bitwise_and(int8, 3)`` is
int32 (the Python int is not weak) while ``ops.left_shift(int8, 3)`` is int8; ``ops.erfinv`` is
``ndtri((x + 1) / 2) / sqrt(2)`` (2.1e-6 relative off the exact value at ``1 - 1e-12``); ``ops.saturate_cast(float32
3e9, "int32")`` is ``-2**31`` (NumPy 2 promotion in its limits), and ``saturate_cast`` of int32 to float32 is
``-2**31`` everywhere (``[3, 70000, -5]``: its upper limit ``2**31`` overflows when cast back to int32), of int64
to float32 ``-2**63``, of int32 to bfloat16 ``[0, 0, -5]``; TensorFlow cannot differentiate a cropping
``rfft``/``irfft`` (its gradient raises InvalidArgumentError): those cases compare values only.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from parity_tests.test_field_scripts_round2 import _precision  # noqa: E402
from parity_tests.test_keras_backend_keras import _cotangent, _err, _flat, _x, run_without_tensorflow  # noqa: E402
from parity_tests.test_keras_ops_keras import (  # noqa: E402
    _dtype_check, _keras_side, _sample, _torch_side, _TENSOR_DTYPES, compare, run_cases)
from torch_impl import _keras_ops_fft_math as FM  # noqa: E402
from torch_impl import keras_ops as TO  # noqa: E402

KO = keras.ops

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

DTYPES = ["float64", pytest.param("float32", marks=pytest.mark.slow)]
nan, inf = np.nan, np.inf


def _a(*v, dt="float64"):
    return np.array(v, dt)


def _r(shape, seed, dt, scale=1.0):
    return (np.random.default_rng(seed).normal(size=shape) * scale).astype(dt)


# --------------------------------------------------------------------------------------------------------------
# 1. element-wise math
# --------------------------------------------------------------------------------------------------------------

X = lambda d: [_x(d)]  # noqa: E731


def _pair_nan(d):
    return [_a(nan, 1.0, nan, 2.0, 0.0, -0.0, inf, -inf, 3.0, 1.5, dt=d),
            _a(1.0, nan, nan, 2.0, -0.0, 0.0, nan, 1.0, -inf, 1.5, dt=d)]


def _ties(d):
    x = _x(d)
    y = _r(x.shape, 3, d)
    y[:, ::2] = x[:, ::2]
    return [x, y]


MATH_CASES = [
    ("arccosh [1, NaN below]", lambda o, x: o.arccosh(x),
     lambda d: [_a(1.0, 1.0000001, 1.5, 2.0, 1.0, 10.0, 0.5, inf, 1e8, dt=d)], (0,)),
    ("arcsinh", lambda o, x: o.arcsinh(x), lambda d: [np.concatenate([_x(d).ravel(), _a(1e10, -1e10, inf, dt=d)])],
     (0,)),
    ("arctanh at +-1 (0 cotangent at 1: NaN)", lambda o, x: o.arctanh(x),
     lambda d: [_a(-1.0, 1.0, 0.0, 0.5, 1.0, -0.999, 0.3, 2.0, -0.0, 1e-9, dt=d)], (0,)),
    ("cbrt (0, -0, cubes)", lambda o, x: o.cbrt(x),
     lambda d: [np.concatenate([_x(d).ravel(), _a(8.0, -27.0, 1e-30, inf, nan, dt=d)])], (0,)),
    ("erfc (tails)", lambda o, x: o.erfc(x),
     lambda d: [np.concatenate([3 * _x(d).ravel(), _a(5.0, -5.0, 9.0, inf, -inf, nan, dt=d)])], (0,)),
    ("erfinv at +-1", lambda o, x: o.erfinv(x),
     lambda d: [_a(-1.0, 1.0, 0.0, 0.5, 1.0, -0.99, 1e-8, 0.999, 1.5, -0.3, 0.9, 0.999999, 1 - 1e-7, -1 + 1e-7,
                   dt=d)], (0,)),
    ("deg2rad", lambda o, x: o.deg2rad(x), lambda d: [90 * _x(d)], (0,)),
    ("rad2deg", lambda o, x: o.rad2deg(x), X, (0,)),
    ("deg2rad int32 (floatx)", lambda o, x: o.deg2rad(x), lambda d: [_a(0, 90, -180, 360, dt="int32")], ()),
    ("rad2deg int64 (float64)", lambda o, x: o.rad2deg(x), lambda d: [_a(0, 1, -3, dt="int64")], ()),
    ("fabs (0, NaN)", lambda o, x: o.fabs(x), lambda d: [np.concatenate([_x(d).ravel(), _a(nan, inf, dt=d)])], (0,)),
    ("fabs int8 (floatx)", lambda o, x: o.fabs(x), lambda d: [_a(-3, 0, 4, dt="int8")], ()),
    ("fmax ties", lambda o, x, y: o.fmax(x, y), _ties, (0, 1)),
    ("fmin ties", lambda o, x, y: o.fmin(x, y), _ties, (0, 1)),
    ("fmax NaN", lambda o, x, y: o.fmax(x, y), _pair_nan, (0, 1)),
    ("fmin NaN", lambda o, x, y: o.fmin(x, y), _pair_nan, (0, 1)),
    ("fmax Python float", lambda o, x: o.fmax(x, 0.5), X, (0,)),
    ("fmin int32, Python int", lambda o, x: o.fmin(x, 2), lambda d: [_a(1, 5, -3, dt="int32")], ()),
    ("fmod (signs, 0 divisor: NaN)", lambda o, x, y: o.fmod(x, y),
     lambda d: [_a(5.5, -5.5, 5.5, -5.5, 0.0, -0.0, 3.0, 7.25, inf, 1.0, dt=d),
                _a(2.0, 2.0, -2.0, -2.0, 3.0, 3.0, 0.0, 0.5, 2.0, inf, dt=d)], (0, 1)),
    ("fmod Python float (float32 tensor)", lambda o, x: o.fmod(x, 0.75), X, (0,)),
    ("fmod int32", lambda o, x, y: o.fmod(x, y), lambda d: [_a(7, -7, 7, -7, 0, dt="int32"),
                                                            _a(3, 3, -3, -3, 5, dt="int32")], ()),
    ("fmod uint8", lambda o, x, y: o.fmod(x, y), lambda d: [_a(7, 200, dt="uint8"), _a(3, 7, dt="uint8")], ()),
    ("gcd int32", lambda o, x, y: o.gcd(x, y), lambda d: [_a(12, -18, 0, 0, 7, 100, dt="int32"),
                                                          _a(18, 12, 5, 0, -21, 75, dt="int32")], ()),
    ("gcd uint8 / int8 (int16)", lambda o, x, y: o.gcd(x, y), lambda d: [_a(12, 200, dt="uint8"),
                                                                           _a(-18, 50, dt="int8")], ()),
    ("lcm int64", lambda o, x, y: o.lcm(x, y), lambda d: [_a(4, -6, 0, 0, 21, dt="int64"),
                                                          _a(6, 4, 5, 0, 6, dt="int64")], ()),
    ("heaviside (0, -0, NaN)", lambda o, x, y: o.heaviside(x, y),
     lambda d: [_a(-1.0, 0.0, -0.0, 2.0, nan, -inf, inf, 0.0, dt=d), _a(0.5, 0.25, 0.75, 3.0, 0.1, 1.0, 1.0, nan,
                                                                       dt=d)], (0, 1)),
    ("heaviside int32 (floatx)", lambda o, x, y: o.heaviside(x, y),
     lambda d: [_a(-2, 0, 3, dt="int32"), _a(5, 5, 5, dt="int32")], ()),
    ("i0", lambda o, x: o.i0(x), lambda d: [np.concatenate([3 * _x(d).ravel(), _a(20.0, -30.0, nan, dt=d)])], (0,)),
    ("sinc (0: NaN gradient)", lambda o, x: o.sinc(x),
     lambda d: [np.concatenate([_x(d).ravel(), _a(0.5, -1.5, 1e-9, 100.25, nan, dt=d)])], (0,)),
    ("signbit (-0, NaN, tiny)", lambda o, x: o.signbit(x),
     lambda d: [_a(-0.0, 0.0, -1e-50 if d == "float64" else -1e-45, -2.0, 3.0, nan, -nan, -inf, dt=d)], ()),
    ("signbit int8, bool", lambda o, x, b: (o.signbit(x), o.signbit(b)),
     lambda d: [_a(-1, 0, 5, dt="int8"), np.array([True, False])], ()),
    ("trunc", lambda o, x: o.trunc(x), lambda d: [_a(-0.5, 0.5, -2.7, 2.7, -3.0, nan, inf, -inf, -0.0, 1e20, dt=d)],
     (0,)),
    ("trunc int16", lambda o, x: o.trunc(x), lambda d: [_a(-3, 4, dt="int16")], ()),
    ("ldexp", lambda o, x, e: o.ldexp(x, e),
     lambda d: [_a(1.5, -0.75, 0.0, -0.0, inf, nan, 3.0, 1e-3, dt=d), _a(3, -2, 5, 1, 2, 1, 0, 2000, dt="int32")],
     (0,)),
    ("ldexp int32 Python int (floatx)", lambda o, x: o.ldexp(x, 3), lambda d: [_a(1, -2, 0, dt="int32")], ()),
    ("logaddexp2 ties", lambda o, x, y: o.logaddexp2(x, y), _ties, (0, 1)),
    ("logaddexp2 NaN, inf", lambda o, x, y: o.logaddexp2(x, y), _pair_nan, (0, 1)),
    ("nextafter", lambda o, x, y: o.nextafter(x, y),
     lambda d: [_a(1.0, 1.0, 0.0, -0.0, 2.0, nan, 1e-300, dt=d), _a(2.0, 0.0, 1.0, -1.0, 2.0, 1.0, 0.0, dt=d)],
     (0, 1)),
    ("isneginf / isposinf", lambda o, x: (o.isneginf(x), o.isposinf(x)),
     lambda d: [_a(-inf, inf, nan, 0.0, -1.0, dt=d)], ()),
    ("isneginf int32", lambda o, x: (o.isneginf(x), o.isposinf(x)), lambda d: [_a(-1, 5, dt="int32")], ()),
    ("isreal", lambda o, x, a, b: (o.isreal(x), o.isreal(_c(o, a, b))), lambda d: [_x(d), *_z(d)], ()),
    ("isin (NaN, invert)", lambda o, x, y: (o.isin(x, y), o.isin(x, y, invert=True),
                                            o.isin(x, y, assume_unique=True)),
     lambda d: [_a(1.0, 2.0, nan, 3.0, -0.0, 2.0, dt=d), _a(2.0, 0.0, nan, 2.0, dt=d)], ()),
    ("isin int32 in float32 (promoted)", lambda o, x, y: o.isin(x, y),
     lambda d: [_a(1, 2, 3, dt="int32"), _a(2.0, 2.5, dt="float32")], ()),
    ("logical_xor", lambda o, x, y: o.logical_xor(x, y), lambda d: [_a(1.0, 0.0, nan, 0.0, dt=d),
                                                                    _a(0.0, 0.0, 1.0, -0.0, dt=d)], ()),
    ("bitwise and/or/xor int32", lambda o, x, y: (o.bitwise_and(x, y), o.bitwise_or(x, y), o.bitwise_xor(x, y)),
     lambda d: [_a(12, -7, 0, 255, dt="int32"), _a(10, 3, -1, 256, dt="int32")], ()),
    ("bitwise_and uint8 / int8 (int16), int8 with 3", lambda o, x, y: (o.bitwise_and(x, y), o.bitwise_or(y, 3)),
     lambda d: [_a(12, 255, dt="uint8"), _a(-7, 3, dt="int8")], ()),
    ("bitwise_invert / not", lambda o, x, u: (o.bitwise_invert(x), o.bitwise_not(u)),
     lambda d: [_a(0, -1, 5, dt="int32"), _a(0, 255, 5, dt="uint8")], ()),
    ("left/right shift (clamped, negative)", lambda o, x, s: (o.left_shift(x, s), o.right_shift(x, s),
                                                              o.bitwise_left_shift(x, 40), o.bitwise_right_shift(x, 2)),
     lambda d: [_a(1, -3, 5, 1, -1024, dt="int32"), _a(3, 1, 40, -1, 33, dt="int32")], ()),
    ("shifts uint8 / int8", lambda o, x, s: (o.left_shift(x, s), o.right_shift(x, s), o.left_shift(s, 3)),
     lambda d: [_a(255, 1, 7, dt="uint8"), _a(9, 7, 2, dt="int8")], ()),
    ("shifts uint16 / uint16, uint16 by 3", lambda o, x, s: (o.left_shift(x, s), o.right_shift(x, s),
                                                             o.left_shift(x, 3), o.right_shift(x, 3)),
     lambda d: [_a(65535, 1, 7, dt="uint16"), _a(9, 15, 20, dt="uint16")], ()),
    ("shifts uint32 / uint32, int64 by 70", lambda o, x, s, y: (o.left_shift(x, s), o.right_shift(x, s),
                                                                o.left_shift(y, 70), o.right_shift(y, 70)),
     lambda d: [_a(4294967295, 1, 7, dt="uint32"), _a(1, 40, 31, dt="uint32"), _a(1, -5, 3, dt="int64")], ()),
    ("saturate_cast to uint8 / int8 / float16", lambda o, x: (o.saturate_cast(x, "uint8"), o.saturate_cast(x, "int8"),
                                                              o.saturate_cast(x, "float16")),
     lambda d: [_a(-1.5, 300.0, inf, -inf, 3.7, -200.0, 1e6, dt=d)], (0,)),
    ("saturate_cast to int32 (float32: 3e9 gives -2**31)", lambda o, x: o.saturate_cast(x, "int32"),
     lambda d: [_a(3e9, -3e9, 2147483647.0, 12.9, -12.9, dt=d)], (0,)),
    ("saturate_cast NaN to uint8 / int16 / uint32 / int32", lambda o, x: tuple(
        o.saturate_cast(x, t) for t in ("uint8", "int16", "uint32", "int32")),
     lambda d: [_a(nan, 1e10, -1e10, 3.5, dt=d)], ()),
    ("saturate_cast int32 to int8 / uint8 / float16", lambda o, x: (
        o.saturate_cast(x, "int8"), o.saturate_cast(x, "uint8"), o.saturate_cast(x, "float16")),
     lambda d: [_a(-1000, -5, 0, 100, 70000, dt="int32")], ()),
    ("saturate_cast int32 / int64 to float32, bfloat16 (Keras: -2**31 / 0)", lambda o, x, y: (
        o.saturate_cast(x, "float32"), o.cast(o.saturate_cast(x, "bfloat16"), "float32"), o.saturate_cast(y, "float32"),
        o.saturate_cast(x, "float64")), lambda d: [_a(3, 70000, -5, dt="int32"), _a(3, 2 ** 40, dt="int64")], ()),
    ("saturate_cast bool to float32, float to bool", lambda o, b, x: (o.saturate_cast(b, "float32"),
                                                                      o.saturate_cast(x, "bool")),
     lambda d: [np.array([True, False]), _a(0.0, 0.5, -2.0, dt=d)], ()),
    ("allclose", lambda o, x, y: (o.allclose(x, y), o.allclose(x, x + 1e-6), o.allclose(x, y, equal_nan=True),
                                  o.allclose(x, x, rtol=0.0, atol=0.0)),
     lambda d: [_a(1.0, inf, nan, 0.0, dt=d), _a(1.0, inf, nan, 1e-9, dt=d)], ()),
    ("allclose int32 / int64", lambda o, x, y: (o.allclose(x, y), o.allclose(x, x)),
     lambda d: [_a(1, 2, dt="int32"), _a(1, 3, dt="int64")], ()),
]


def _ri(o, z):
    """A complex result as (real, imag) by the framework's own functions (not the ops under test), so that its
    values and the gradients through it are compared."""
    return (tf.math.real(z), tf.math.imag(z)) if o is KO else (torch.real(z), torch.imag(z))


def _z(d, seed=21):
    """The real and imaginary parts of 8 complex numbers (-3, 0, -0 - 0j, 2j first), in ``d``."""
    rng = np.random.default_rng(seed)
    re, im = rng.normal(size=8), rng.normal(size=8)
    re[:4], im[:4] = [-3.0, 0.0, -0.0, 0.0], [0.0, 0.0, -0.0, 2.0]
    return [re.astype(d), im.astype(d)]


def _c(o, re, im):
    """A complex tensor from its parts by the framework's own function, so the gradients reach ``re`` and
    ``im`` as real tensors (compare() checks real gradients in full)."""
    return tf.complex(re, im) if o is KO else torch.complex(re, im)


COMPLEX_CASES = [
    ("real / imag / conj of complex", lambda o, a, b: (*_ri(o, o.conj(_c(o, a, b))), *_ri(o, o.conjugate(_c(o, a, b))),
                                                       o.real(_c(o, a, b)), o.imag(_c(o, a, b))), _z, (0, 1)),
    ("real / imag / conj of real", lambda o, x: (o.real(x), o.imag(x), o.conj(x)), X, (0,)),
    ("real / imag / conj int32, imag bool", lambda o, x, b: (o.real(x), o.imag(x), o.conj(x), o.imag(b)),
     lambda d: [_a(1, -2, dt="int32"), np.array([True])], ()),
    ("angle of real (pi below 0, NaN: 0)", lambda o, x: o.angle(x),
     lambda d: [_a(-1.0, 0.0, -0.0, 2.0, nan, -inf, dt=d)], (0,)),
    ("angle int64, bool (floatx)", lambda o, x, b: (o.angle(x), o.angle(b)),
     lambda d: [_a(-1, 0, 3, dt="int64"), np.array([True, False])], ()),
    ("view_as_complex (complex64 always) -> view_as_real", lambda o, x: (
        *_ri(o, o.view_as_complex(x)), o.view_as_real(o.view_as_complex(x))), lambda d: [_r((3, 2), 22, d)], (0,)),
    ("view_as_complex of inf / NaN parts (nan + inf j)", lambda o, x: _ri(o, o.view_as_complex(x)),
     lambda d: [_a([inf, 1.0], [1.0, inf], [nan, 0.0], [-inf, -0.0], [-0.0, -0.0], [2.5, -inf], dt=d)], (0,)),
    ("view_as_real of complex and real", lambda o, a, b, x: (o.view_as_real(_c(o, a, b)), o.view_as_real(x)),
     lambda d: [*_z(d), _x(d, (2, 3))], (0, 1, 2)),
    ("polar", lambda o, r, a: _ri(o, o.polar(r, a)), lambda d: [np.abs(_x(d)), 3 * _r((3, 8), 23, d)], (0, 1)),
    ("polar Python floats (float32)", lambda o: _ri(o, o.polar(2.0, 0.5)), lambda d: [], ()),
]


ANGLE_CASE = ("angle of complex (complex128: float32; 0: NaN gradient)", lambda o, a, b: o.angle(_c(o, a, b)), _z,
              (0, 1))


@pytest.mark.parametrize("dt", DTYPES)
def test_complex_helpers_like_keras(dt):
    """real, imag, conj, angle, view_as_complex, view_as_real, polar: values (complex ones as real and imaginary
    parts), dtypes, gradients (complex built from real parts inside, so the gradients are real). ``angle`` of
    complex128 is float32 in Keras: float32 tolerances in both dtypes."""
    run_cases(COMPLEX_CASES, dt)
    name, fn, inputs, grad_idx = ANGLE_CASE
    with _precision(dt):
        compare(name, fn, inputs(dt), grad_idx, "float32")


@pytest.mark.parametrize("dt", DTYPES)
def test_elementwise_math_like_keras(dt):
    """Every case of MATH_CASES: value, dtype, gradients (float64 1e-12 / 1e-10; float32 rtol 1e-5)."""
    run_cases(MATH_CASES, dt)


# --------------------------------------------------------------------------------------------------------------
# 2. FFT, signal, windows: errors relative to the largest entry
# --------------------------------------------------------------------------------------------------------------

SCALED_TOL = {"float64": (1e-12, 1e-10), "float32": (1e-5, 1e-5)}


def compare_scaled(name, fn, arrays, grad_idx, dt):
    """Each output's dtype and shape, and ``max |ours - Keras| / max |Keras|`` of every output and gradient within
    the standard (NaN and inf in the same places); returns the two worst figures."""
    k_outs, k_grads = _keras_side(fn, arrays, grad_idx)
    t_outs, t_grads = _torch_side(fn, arrays, grad_idx)
    assert len(k_outs) == len(t_outs), name
    worst = [0.0, 0.0]
    pairs = [(k.numpy(), t.detach().numpy(), 0) for k, t in zip(k_outs, t_outs)]
    pairs += [(np.asarray(k), np.asarray(t), 1) for k, t in zip(k_grads, t_grads)]
    for k, t, kind in pairs:
        assert str(k.dtype) == str(t.dtype), f"{name}: dtype {t.dtype} vs Keras {k.dtype}"
        assert k.shape == t.shape, f"{name}: shape {t.shape} vs Keras {k.shape}"
        tol = SCALED_TOL["float32" if k.dtype == np.float32 else dt][kind]  # the windows are float32 in float64
        scale = float(np.max(np.abs(k[np.isfinite(k)]))) if np.isfinite(k).any() else 1.0
        e, why = _err(t, k, 0.0, tol * max(scale, 1e-300))
        assert not why, f"{name} {dt} {'gradient' if kind else 'value'}: {why}\nours {t}\nKeras {k}"
        if k.size and scale > 0:
            fin = np.isfinite(k)
            worst[kind] = max(worst[kind], float(np.max(np.abs(t[fin].astype(np.float64) - k[fin])) / scale))
    print(f"{name:58s} {dt}  value {worst[0]:.1e}  grad {worst[1]:.1e} (of the largest)")
    return worst


def _sig(d, shape=(2, 64), seed=11):
    return [_r(shape, seed, d)]


def _cplx(shape, seed=12):
    return lambda d: [_r(shape, seed, d), _r(shape, seed + 1, d)]


_WIN10 = np.random.default_rng(5).uniform(0.2, 1.0, 10)

FFT_CASES = [
    ("fft", lambda o, r, i: o.fft((r, i)), _cplx((3, 8)), (0, 1)),
    ("fft odd length 7", lambda o, r, i: o.fft((r, i)), _cplx((2, 7)), (0, 1)),
    ("fft2", lambda o, r, i: o.fft2((r, i)), _cplx((2, 4, 6)), (0, 1)),
    ("ifft2", lambda o, r, i: o.ifft2((r, i)), _cplx((2, 4, 6)), (0, 1)),
    ("rfft", lambda o, x: o.rfft(x), lambda d: _sig(d, (3, 10)), (0,)),
    ("rfft fft_length 16 (pad), 15 (odd)", lambda o, x: (*o.rfft(x, 16), *o.rfft(x, 15)), lambda d: _sig(d, (3, 10)),
     (0,)),
    # TensorFlow cannot differentiate a cropping rfft/irfft (InvalidArgumentError in its gradient): values only
    ("rfft fft_length 8, 9 (crop; values)", lambda o, x: (*o.rfft(x, 8), *o.rfft(x, 9)), lambda d: _sig(d, (3, 10)),
     ()),
    ("irfft (default 2 (n - 1))", lambda o, r, i: o.irfft((r, i)), _cplx((3, 6)), (0, 1)),
    ("irfft fft_length 11 (odd), 14 (pad)", lambda o, r, i: (o.irfft((r, i), 11), o.irfft((r, i), 14)),
     _cplx((3, 6)), (0, 1)),
    ("irfft fft_length 6, 4 (crop; values)", lambda o, r, i: (o.irfft((r, i), 6), o.irfft((r, i), 4)), _cplx((3, 6)),
     ()),
    ("rfft -> irfft round trip", lambda o, x: o.irfft(o.rfft(x), 10), lambda d: _sig(d, (3, 10)), (0,)),
    ("stft hann, center", lambda o, x: o.stft(x, 16, 4, 16), _sig, (0,)),
    ("stft hamming, seq 12 < fft 16, stride 5, no center",
     lambda o, x: o.stft(x, 12, 5, 16, window="hamming", center=False), _sig, (0,)),
    ("stft array window (10), fft 16, odd padding", lambda o, x: o.stft(x, 10, 3, 16, window=_WIN10), _sig, (0,)),
    ("stft window None, fft 15 (odd)", lambda o, x: o.stft(x, 15, 6, 15, window=None), _sig, (0,)),
    ("stft 1-D and 3-D signals", lambda o, x, y: o.stft(x, 8, 4, 8) + o.stft(y, 8, 2, 8),
     lambda d: [_r((40,), 3, d), _r((2, 2, 24), 4, d)], (0, 1)),
    ("istft hann, center", lambda o, r, i: o.istft((r, i), 16, 4, 16), _cplx((2, 9, 9)), (0, 1)),
    ("istft hamming, seq 12, stride 5, no center", lambda o, r, i: o.istft((r, i), 12, 5, 16, window="hamming",
                                                                           center=False), _cplx((2, 9, 9)), (0, 1)),
    ("istft array window, length 30", lambda o, r, i: o.istft((r, i), 10, 3, 16, length=30, window=_WIN10),
     _cplx((2, 9, 9)), (0, 1)),
    ("istft window None (overlap-add only)", lambda o, r, i: o.istft((r, i), 16, 8, 16, window=None),
     _cplx((2, 5, 9)), (0, 1)),
    ("istft stride > seq (zero window sum: 0)", lambda o, r, i: o.istft((r, i), 6, 8, 8, center=False),
     _cplx((2, 4, 5)), (0, 1)),
    ("istft(stft(x)) round trip", lambda o, x: o.istft(o.stft(x, 16, 4, 16), 16, 4, 16), _sig, (0,)),
    ("extract_sequences", lambda o, x: o.extract_sequences(x, 5, 3), lambda d: _sig(d, (2, 3, 20)), (0,)),
    ("extract_sequences shorter than a frame", lambda o, x: o.extract_sequences(x, 9, 2), lambda d: _sig(d, (2, 7)),
     (0,)),
    ("windows bartlett/blackman (floatx)", lambda o: (o.bartlett(5), o.bartlett(6), o.bartlett(1), o.bartlett(0),
                                                      o.blackman(5), o.blackman(8), o.blackman(1)), lambda d: [], ()),
    ("windows hamming/hanning/kaiser (float32)", lambda o: (o.hamming(6), o.hamming(7), o.hamming(1), o.hanning(6),
                                                            o.hanning(9), o.kaiser(8, 5.0), o.kaiser(5, 2.5),
                                                            o.kaiser(1, 3.0), o.kaiser(6, 0.0)), lambda d: [], ()),
]


def run_scaled(cases, dt):
    worst, failures = [0.0, 0.0], []
    with _precision(dt), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fn, inputs, grad_idx in cases:
            try:
                v, g = compare_scaled(name, fn, inputs(dt), grad_idx, dt)
            except Exception as e:  # noqa: BLE001 - all run, failures listed together
                failures.append(f"{name}: {type(e).__name__}: {str(e)[:600]}")
                continue
            worst = [max(worst[0], v), max(worst[1], g)]
    print(f"{len(cases)} cases, {dt}: worst value {worst[0]:.1e}, worst gradient {worst[1]:.1e} (of the largest)")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("dt", DTYPES)
def test_fft_signal_like_keras(dt):
    """Every case of FFT_CASES: dtype, shape, value and gradients within 1e-12 / 1e-10 (float32 1e-5) of the
    largest entry of Keras's."""
    run_scaled(FFT_CASES, dt)


# --------------------------------------------------------------------------------------------------------------
# 3. a multi-resolution STFT loss written with ops
# --------------------------------------------------------------------------------------------------------------


def mr_stft_loss(ops, y_true, y_pred, resolutions=((32, 8, 32), (64, 16, 48), (16, 4, 16))):
    """Spectral convergence + log-magnitude L1, averaged over (fft_length, hop, window length) resolutions, as
    written for audio models with ``from keras import ops``."""
    total = 0.0
    for fft_length, hop, win in resolutions:
        tr, ti = ops.stft(y_true, win, hop, fft_length)
        pr, pi = ops.stft(y_pred, win, hop, fft_length)
        mag_t = ops.sqrt(ops.maximum(ops.square(tr) + ops.square(ti), 1e-7))
        mag_p = ops.sqrt(ops.maximum(ops.square(pr) + ops.square(pi), 1e-7))
        sc = ops.sqrt(ops.sum(ops.square(mag_t - mag_p))) / ops.sqrt(ops.sum(ops.square(mag_t)))
        log_mag = ops.mean(ops.abs(ops.log(mag_t) - ops.log(mag_p)))
        total = total + sc + log_mag
    return total / len(resolutions)


def _mr_inputs(d):
    t = np.linspace(0, 1, 256)
    clean = np.stack([np.sin(2 * np.pi * 13 * t), 0.5 * np.sin(2 * np.pi * 31 * t + 0.3)])
    noisy = clean + 0.1 * np.random.default_rng(9).normal(size=clean.shape)
    return [clean.astype(d), noisy.astype(d)]


@pytest.mark.parametrize("dt", DTYPES)
def test_multi_resolution_stft_loss_like_keras(dt):
    """The loss's value and its gradient with respect to ``y_pred``, against Keras: float64 1e-12 / 1e-10
    (gradient relative to its largest entry), float32 1e-5."""
    with _precision(dt):
        (k_out,), (k_grad,) = _keras_side(lambda o, a, b: mr_stft_loss(o, a, b), _mr_inputs(dt), (1,))
        (t_out,), (t_grad,) = _torch_side(lambda o, a, b: mr_stft_loss(o, a, b), _mr_inputs(dt), (1,))
    kv, tv = float(k_out.numpy()), float(t_out.detach())
    assert str(t_out.dtype)[6:] == k_out.dtype.name
    v_err = abs(tv - kv) / abs(kv)
    g_err = float(np.max(np.abs(t_grad - k_grad)) / np.max(np.abs(k_grad)))
    tol = SCALED_TOL[dt]
    print(f"multi-resolution STFT loss {dt}: Keras {kv:.15g} ours {tv:.15g}: value {v_err:.1e}, gradient {g_err:.1e}")
    assert v_err <= tol[0]
    if dt == "float64":
        assert g_err <= tol[1]
        return
    # float32: the log-magnitude term divides by magnitudes down to sqrt(1e-7): Keras's own float32 gradient is
    # 1.3e-4 (of the largest entry) from its float64 one. Ours must be closer to Keras's than that, and as close
    # to the float64 gradient as Keras's is (within 20 %).
    with _precision("float64"):
        (_,), (g64,) = _keras_side(lambda o, a, b: mr_stft_loss(o, a, b), _mr_inputs("float64"), (1,))
    k_off = float(np.max(np.abs(k_grad - g64)) / np.max(np.abs(g64)))
    t_off = float(np.max(np.abs(t_grad - g64)) / np.max(np.abs(g64)))
    print(f"  float32 gradients from Keras's float64 one: Keras {k_off:.1e}, ours {t_off:.1e}")
    assert g_err <= k_off and t_off <= 1.2 * k_off


# --------------------------------------------------------------------------------------------------------------
# 4. dtypes, errors, signatures
# --------------------------------------------------------------------------------------------------------------

UNARY = {n: (lambda n_: lambda o, x: getattr(o, n_)(x))(n) for n in (
    "arccosh", "arcsinh", "arctanh", "cbrt", "erfc", "erfinv", "deg2rad", "rad2deg", "fabs", "i0", "sinc", "signbit",
    "trunc", "isneginf", "isposinf", "isreal", "bitwise_invert", "real", "imag", "conj", "angle", "view_as_real")}
UNARY.update({
    "fmax 1.5": lambda o, x: o.fmax(x, 1.5), "fmin 2": lambda o, x: o.fmin(x, 2), "fmod 2": lambda o, x: o.fmod(x, 2),
    "fmod x": lambda o, x: o.fmod(x, x), "gcd x": lambda o, x: o.gcd(x, x), "lcm 4": lambda o, x: o.lcm(x, 4),
    "heaviside x": lambda o, x: o.heaviside(x, x), "ldexp 2": lambda o, x: o.ldexp(x, 2),
    "ldexp x": lambda o, x: o.ldexp(o.ones((3,)), x), "logaddexp2 x": lambda o, x: o.logaddexp2(x, x),
    "nextafter x": lambda o, x: o.nextafter(x, x), "isin 2": lambda o, x: o.isin(x, [2]),
    "logical_xor 1": lambda o, x: o.logical_xor(x, 1), "bitwise_and 3": lambda o, x: o.bitwise_and(x, 3),
    "bitwise_xor x": lambda o, x: o.bitwise_xor(x, x), "left_shift 1": lambda o, x: o.left_shift(x, 1),
    "right_shift x": lambda o, x: o.right_shift(x, x), "saturate_cast int8": lambda o, x: o.saturate_cast(x, "int8"),
    "saturate_cast float16": lambda o, x: o.saturate_cast(x, "float16"), "allclose x": lambda o, x: o.allclose(x, x),
    "rfft": lambda o, x: o.rfft(x)[0], "stft": lambda o, x: o.stft(o.tile(x, (3,)), 4, 2, 4)[1],
    "extract_sequences": lambda o, x: o.extract_sequences(x, 2, 1),
    "view_as_complex": lambda o, x: o.view_as_real(o.view_as_complex(o.stack([x, x], axis=-1))),
    "polar x": lambda o, x: o.view_as_real(o.polar(x, x)),
})


def test_dtypes_like_keras():
    """Each function of UNARY on every tensor dtype under floatx float32 and float64: the result dtype (and value,
    1e-3) equal to Keras's; where Keras raises we raise, and the reverse."""
    failures, ours_only, n = [], [], 0
    for fx in ("float32", "float64"):
        with _precision(fx), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, fn in UNARY.items():
                for dt in _TENSOR_DTYPES:
                    n += 1
                    try:
                        r = _dtype_check(fn, [_sample(dt)], f"{name}({dt})", fx)
                    except AssertionError as e:
                        failures.append(str(e).splitlines()[0])
                        continue
                    if r.startswith("Keras raises"):
                        ours_only.append(f"{name}({dt}) {fx}")
    print(f"{n} dtype checks; {len(failures)} differences; Keras raises where we compute: {ours_only}")
    assert not failures, "\n".join(failures)
    assert not ours_only


ERROR_CASES = [
    ("fft int parts", lambda o: o.fft((o.ones((2,), "int32"), o.ones((2,), "int32")))),
    ("fft mixed float32/float64", lambda o: o.fft((o.ones((2,), "float32"), o.ones((2,), "float64")))),
    ("fft float16", lambda o: o.fft((o.ones((2,), "float16"), o.ones((2,), "float16")))),
    ("fft shapes differ", lambda o: o.fft((o.ones((2,)), o.ones((3,))))),
    ("fft not a pair", lambda o: o.fft(o.ones((2,)))),
    ("rfft int32", lambda o: o.rfft(o.ones((4,), "int32"))),
    ("rfft float16", lambda o: o.rfft(o.ones((4,), "float16"))),
    ("stft int32", lambda o: o.stft(o.ones((16,), "int32"), 4, 2, 4)),
    ("stft fft_length < sequence_length", lambda o: o.stft(o.ones((16,)), 4, 2, 3)),
    ("stft window 'blackman'", lambda o: o.stft(o.ones((16,)), 4, 2, 4, window="blackman")),
    ("stft window of the wrong length", lambda o: o.stft(o.ones((16,)), 4, 2, 4, window=np.ones(3))),
    ("stft centre padding past the signal", lambda o: o.stft(o.ones((3,)), 4, 2, 8)),
    ("istft window of the wrong length", lambda o: o.istft((o.ones((3, 3)), o.ones((3, 3))), 4, 2, 4,
                                                           window=np.ones(3))),
    ("erfc int32", lambda o: o.erfc(o.ones((2,), "int32"))),
    ("erfinv int32", lambda o: o.erfinv(o.ones((2,), "int32"))),
    ("fmax bool", lambda o: o.fmax(o.ones((2,), "bool"), o.ones((2,), "bool"))),
    ("heaviside bool", lambda o: o.heaviside(o.ones((2,), "bool"), o.ones((2,), "bool"))),
    ("fmod int by 0", lambda o: o.fmod(o.ones((2,), "int32"), o.zeros((2,), "int32"))),
    ("gcd float", lambda o: o.gcd(o.ones((2,)), o.ones((2,)))),
    ("gcd bool", lambda o: o.gcd(o.ones((2,), "bool"), o.ones((2,), "bool"))),
    ("lcm float", lambda o: o.lcm(o.ones((2,)), o.ones((2,), "int32"))),
    ("ldexp float exponent", lambda o: o.ldexp(o.ones((2,)), o.ones((2,)))),
    ("ldexp bool exponent", lambda o: o.ldexp(o.ones((2,)), o.ones((2,), "bool"))),
    ("bitwise_and bool", lambda o: o.bitwise_and(o.ones((2,), "bool"), o.ones((2,), "bool"))),
    ("bitwise_and float", lambda o: o.bitwise_and(o.ones((2,)), o.ones((2,)))),
    ("bitwise_invert bool", lambda o: o.bitwise_invert(o.ones((2,), "bool"))),
    ("left_shift float", lambda o: o.left_shift(o.ones((2,)), 1)),
    ("real of bool", lambda o: o.real(o.ones((2,), "bool"))),
    ("conj of bool", lambda o: o.conj(o.ones((2,), "bool"))),
    ("view_as_complex last axis 3", lambda o: o.view_as_complex(o.ones((2, 3)))),
    ("polar float64 with float32", lambda o: o.polar(o.ones((2,), "float64"), o.ones((2,), "float32"))),
    ("polar int32", lambda o: o.polar(o.ones((2,), "int32"), o.ones((2,), "int32"))),
    ("polar float16", lambda o: o.polar(o.ones((2,), "float16"), o.ones((2,), "float16"))),
]


def test_errors_like_keras():
    """Where Keras raises, we raise too (ValueError / TypeError / ZeroDivisionError)."""
    for name, fn in ERROR_CASES:
        with pytest.raises(Exception) as k:
            fn(KO)
        with pytest.raises((ValueError, TypeError, ZeroDivisionError)) as t:
            fn(TO)
        print(f"{name:42s} Keras {type(k.value).__name__:22s} ours {type(t.value).__name__}")


def test_signatures_like_keras():
    """Every function of the module exists in ``keras.ops`` with the same argument names, order and defaults, and
    resolves through ``torch_impl.keras_ops``."""
    for n in FM.__all__:
        assert getattr(TO, n) is getattr(FM, n), n
        ks, ts = (inspect.signature(getattr(m, n)).parameters.values() for m in (KO, FM))
        assert [(p.name, p.default, p.kind) for p in ts] == [(p.name, p.default, p.kind) for p in ks], n
    print(f"{len(FM.__all__)} functions: keras.ops's signatures")


def test_quirks_pinned():
    """The quirks of the module docstring, as numbers (Keras's value beside ours)."""
    rows = []
    with _precision("float32"):
        for label, fn in [
            ("nextafter(float32 1, 2)", lambda o: o.nextafter(o.ones((1,)), 2 * o.ones((1,)))),
            ("blackman(5)[0]", lambda o: o.blackman(5)[:1]),
            ("left_shift(int32 1, 40)", lambda o: o.left_shift(o.ones((1,), "int32"), 40)),
        ]:
            k, t = fn(KO).numpy(), fn(TO).numpy()
            rows.append((label, k, t))
            assert np.array_equal(k, t), (label, k, t)
    with _precision("float64"):
        k, t = KO.hamming(4), TO.hamming(4)
        assert k.dtype.name == str(t.dtype)[6:] == "float32"
        x = np.array([0.0])
        kg = _keras_side(lambda o, a: o.cbrt(a), [x], (0,))[1][0]
        tg = _torch_side(lambda o, a: o.cbrt(a), [x], (0,))[1][0]
        rows.append(("cbrt gradient at 0", kg, tg))
        assert np.isnan(kg).all() and np.isnan(tg).all()
        ks = KO.logaddexp2(np.zeros(1), np.zeros(1)).numpy()
        ts = TO.logaddexp2(torch.zeros(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)).numpy()
        rows.append(("logaddexp2(0., 0.) float64 (NumPy: 1.0)", ks, ts))
        assert ks == ts and ks[0] != 1.0, (ks, ts)
    for r in rows:
        print(f"{r[0]:42s} Keras {np.asarray(r[1]).tolist()}  ours {np.asarray(r[2]).tolist()}")


def test_module_imports_without_tensorflow():
    """The module never imports TensorFlow or Keras."""
    out = run_without_tensorflow("""
        import torch
        from torch_impl import keras_ops as ops
        print(float(ops.stft(torch.ones(32, dtype=torch.float64), 8, 4, 8)[0].sum()))
    """)
    # 9 frames of a periodic 8-point Hann window on ones: DC 4, bin 1 -2, the rest 0: 9 * 2
    assert abs(float(out.split()[-1]) - 18.0) < 1e-9, out


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cases_on_cuda_like_cpu():
    """Every case of this file and the multi-resolution STFT loss on a CUDA device (tensors made under
    ``torch.device("cuda")``): the CPU port's dtypes, values and gradients, float64, within 1e-12 (values) and
    1e-10 (gradients) of the largest entry (float32 outputs 1e-5; cuFFT and CUDA's math round differently); NaN
    and inf in the same places."""

    def run(fn, arrays, grad_idx, dev):
        with torch.device(dev):
            ins = [torch.tensor(a, device=dev, requires_grad=i in grad_idx) for i, a in enumerate(arrays)]
            outs = _flat(fn(TO, *ins))
            floats = [o for o in outs if isinstance(o, torch.Tensor) and o.is_floating_point()]
            if floats and grad_idx and any(o.requires_grad for o in floats):
                sum((o * torch.from_numpy(_cotangent(tuple(o.shape), str(o.dtype)[6:], seed=7 + k)).to(dev)).sum()
                    for k, o in enumerate(floats)).backward()
            vals = [o.detach().cpu().numpy() for o in outs]
            grads = [None if ins[i].grad is None else ins[i].grad.cpu().numpy() for i in grad_idx]
        return vals, grads

    def close(a, b, kind, what):
        assert a.dtype == b.dtype and a.shape == b.shape, what
        tol = (1e-5 if b.dtype == np.float32 else (1e-12, 1e-10)[kind]) if b.dtype.kind == "f" else 0.0
        fin = np.isfinite(b)
        scale = float(np.max(np.abs(b[fin]))) if b.dtype.kind == "f" and fin.any() else 1.0
        _, why = _err(a, b, tol, tol * scale)
        assert not why, f"{what}: {why}"

    mr = ("multi-resolution STFT loss", lambda o, a, b: mr_stft_loss(o, a, b), _mr_inputs, (1,))
    cases = MATH_CASES + COMPLEX_CASES + [ANGLE_CASE] + FFT_CASES + [mr]
    with _precision("float64"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fn, inputs, grad_idx in cases:
            arrays = inputs("float64")
            cpu_v, cpu_g = run(fn, arrays, grad_idx, "cpu")
            gpu_v, gpu_g = run(fn, arrays, grad_idx, "cuda")
            for a, b in zip(gpu_v, cpu_v):
                close(a, b, 0, name)
            for a, b in zip(gpu_g, cpu_g):
                assert (a is None) == (b is None), name
                if a is not None:
                    close(a, b, 1, f"{name} gradient")
    print(f"{len(cases)} cases on CUDA like the CPU")

"""TensorFlow's CPU float32 ``tf.math.log``, ``tf.math.sigmoid`` and ``tf.sin``/``tf.cos`` bit for bit, on float32 torch
tensors (:func:`tf_sincos`: Eigen's ``psincos_float``, for the image layers' rotations).

TensorFlow 2.21's x86-64 wheel evaluates both with the Eigen it bundles (``tensorflow/include/Eigen``), in AVX packets
of 8 floats (no FMA: ``pmadd`` is a rounded multiply then a rounded add), under flush-to-zero and
denormals-are-zero: a denormal input or intermediate result counts as zero. The last ``size % 8`` elements of the
flattened tensor, which do not fill a packet, take Eigen's scalar path instead (``TensorExecutor``'s ``EvalRange``):

* log: ``plog_impl_float`` (Eigen/src/Core/arch/Default/GenericPacketMathFunctions.h: ``pfrexp_generic``, a
  [2/3] rational approximation of ``log1p`` on ``[sqrt(1/2) - 1, sqrt(2) - 1)``, ``e * ln2`` added back); tail:
  the C library's ``logf`` (``numext::log``; under DAZ glibc's gives a positive denormal -103.97208, not -inf).
* sigmoid: ``scalar_logistic_op<float>::packetOp`` (Eigen/src/Core/functors/UnaryFunctors.h: ``x`` clamped to
  16.6355324, zero below -104, ``exp(x / 2)`` by Cephes' range reduction, a degree-5 polynomial and
  ``pldexp_fast``, squared, then ``e / (1 + e)``); tail: ``scalar_logistic_op<float>::operator()``,
  ``e = expf(min(x, 16.6355324)); e / (1 + e)``.

torch's own ``log`` is an ulp off for ~24% of float32 values and ``sigmoid`` (``1 / (1 + exp(-x))``) for most:
enough to move a probability across a threshold or to break an exact tie. Forward values only (no gradient).
This is the x86-64 wheel's arithmetic (an aarch64 build has NEON packets of 4 and FMA, which round otherwise).

Platform guard: the float32 replays run only where :func:`replay_exact` is true, an x86-64 machine
(``platform.machine()`` ``x86_64``/``AMD64``) on Linux with glibc whose C math library loads (``_libm.HAVE_LIBM``:
the scalar tail and the denormal ``logf`` are glibc's). Elsewhere ``log``, ``sigmoid`` and float32 ``tf_sincos`` are
torch's own functions (ulps off TensorFlow there, whose arithmetic on that platform is not replayed).
"""

from __future__ import annotations


import functools
import math
import platform
import sys

import numpy as np
import torch

from torch_impl._libm import HAVE_LIBM, c_function, c_map

_PACKET = 8  # AVX: Packet8f
_NORMAL_MIN = 1.1754943508222875e-38  # 2**-126


_EXPF, _LOGF = c_function("expf"), c_function("logf")  # Eigen's scalar path calls them
_SINF, _COSF = c_function("sinf"), c_function("cosf")


@functools.lru_cache(maxsize=None)
def replay_exact() -> bool:
    """Whether this platform runs TensorFlow's arithmetic that this module replays (x86-64, Linux, glibc): the
    float32 ``log``/``sigmoid``/``tf_sincos`` replays are used only then, torch's functions otherwise."""
    return (platform.machine() in ("x86_64", "AMD64") and sys.platform.startswith("linux")
            and platform.libc_ver()[0] == "glibc" and HAVE_LIBM)


def flush_denormals(x: torch.Tensor) -> torch.Tensor:
    """Flush-to-zero / denormals-are-zero, as TensorFlow's CPU kernels run (``ScopedFlushDenormal``): a denormal
    of ``x``'s dtype becomes a zero of its sign."""
    return torch.where(x.abs() < torch.finfo(x.dtype).tiny, x * 0.0, x)


_ftz = flush_denormals


def _f32(v: float) -> float:
    """The float32 value of a C float literal (each constant below converts to float32 exactly as C does)."""
    return float(np.float32(v))


def _scalar(v: float) -> float:
    """A Python float of a float32, flushed to zero if denormal (the tail runs under the same FTZ/DAZ mode)."""
    return 0.0 * v if abs(v) < _NORMAL_MIN else v


def _packets_and_tail(x: torch.Tensor, packet_fn, scalar_fn) -> torch.Tensor:
    flat = x.detach().reshape(-1)
    n = flat.numel()
    k = n - n % _PACKET
    out = torch.empty_like(flat)
    if k:
        out[:k] = packet_fn(flat[:k])
    for i in range(k, n):
        out[i] = scalar_fn(float(flat[i]))
    return out.reshape(x.shape)


# --------------------------------------------------------------------------------------------------------------
# log
# --------------------------------------------------------------------------------------------------------------

_LOG_ALPHA = [_f32(c) for c in (0.18256296349849254, 1.0000000190281063, 1.0000000190281136)]
_LOG_BETA = [_f32(c) for c in (0.049616247954120038, 0.59923249590823520, 1.4999999999999927, 1.0)]
_SQRTHF = _f32(0.707106781186547524)
_LN2 = _f32(0.693147180559945309417232121458176568)
_NAN_ALL_ONES = -1  # Eigen ORs the invalid mask into the result: 0xffffffff


def _plog(x0: torch.Tensor) -> torch.Tensor:
    x0 = _ftz(x0)
    # pfrexp_generic: x0 = m * 2**e with m in [0.5, 1) (x0 is normal or zero after FTZ)
    bits = x0.view(torch.int32)
    expo = ((bits & 0x7FFFFFFF) >> 23).to(torch.float32)
    special = (x0 == 0) | (expo == 255.0)
    m = torch.where(special, x0, ((bits & ~0x7F800000) | 0x3F000000).view(torch.float32))
    e = torch.where(special, torch.zeros_like(x0), expo - 126.0)
    # shift m to [sqrt(1/2), sqrt(2)) and centre it on 0
    below = m < _SQRTHF
    tmp = torch.where(below, m, torch.zeros_like(m))
    x = m - 1.0
    e = e - below.to(torch.float32)
    x = x + tmp
    p = torch.full_like(x, _LOG_ALPHA[0])
    for c in _LOG_ALPHA[1:]:  # ppolevl: Horner, pmadd = a rounded multiply and a rounded add
        p = p * x + c
    p = x * p
    q = torch.full_like(x, _LOG_BETA[0])
    for c in _LOG_BETA[1:]:
        q = q * x + c
    x = e * _LN2 + p / q
    x = torch.where(x0 == float("inf"), x0, x)
    invalid = (x0 < 0) | torch.isnan(x0)
    x = torch.where(invalid, torch.full_like(bits, _NAN_ALL_ONES).view(torch.float32), x)
    return torch.where(x0 == 0, torch.full_like(x, float("-inf")), x)


# glibc's logf scales a denormal by 2**23 first, which DAZ turns into 0: its bits then read as 2**-150
_LOGF_DENORMAL = _f32(-150 * 0.6931471805599453)


def _log_scalar(v: float) -> float:
    if v != 0.0 and abs(v) < _NORMAL_MIN:
        return float("nan") if v < 0 else _LOGF_DENORMAL
    return _LOGF(v)


def log(x: torch.Tensor) -> torch.Tensor:
    """TensorFlow's CPU ``tf.math.log`` of a float32 tensor, bit for bit (no gradient; torch's ``log`` where
    :func:`replay_exact` is false)."""
    if not replay_exact():
        return torch.log(x.detach())
    return _packets_and_tail(x, _plog, _log_scalar)


# --------------------------------------------------------------------------------------------------------------
# sigmoid
# --------------------------------------------------------------------------------------------------------------

_EXP_HI = _f32(16.6355324)
_LOG2EF = _f32(1.44269504088896341)
_EXP_C1 = _f32(-0.693359375)
_EXP_C2 = _f32(2.12194440e-4)
_EXP_P = [_f32(c) for c in (0.49999141693115234375, 0.16666877269744873046875, 4.1898667812347412109375e-2,
                            8.33471305668354034423828125e-3)]


def _plogistic(x0: torch.Tensor) -> torch.Tensor:
    x0 = _ftz(x0)
    zero = x0 < -104.0
    x = _ftz(torch.clamp(x0, max=_EXP_HI) * 0.5)  # NaN stays NaN (Eigen's pmin(a, b) keeps a's NaN)
    m = torch.floor(x * _LOG2EF + 0.5)
    r = m * _EXP_C1 + x
    r = m * _EXP_C2 + r
    r2 = _ftz(r * r)
    p_even = r2 * _EXP_P[2] + _EXP_P[0]
    p_odd = r2 * _EXP_P[3] + _EXP_P[1]
    p = r * p_odd + p_even
    p = r2 * p + (r + 1.0)
    # pldexp_fast: p * 2**m, the biased exponent clamped to [0, 255] (NaN m: any bits, p is NaN anyway)
    biased = torch.clamp(torch.nan_to_num(m, nan=0.0) + 127.0, 0.0, 255.0).to(torch.int32)
    e = _ftz(p * (biased << 23).view(torch.float32))
    e = _ftz(e * e)
    out = _ftz(e / (e + 1.0))
    return torch.where(zero, torch.zeros_like(out), out)


def _logistic_scalar(v: float) -> float:
    v = _scalar(v)
    e = _scalar(_EXPF(_EXP_HI if _EXP_HI < v else v))  # numext::mini: std::min, NaN stays NaN
    return _scalar(float(np.float32(e) / (np.float32(1.0) + np.float32(e))))


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """TensorFlow's CPU ``tf.math.sigmoid`` of a float32 tensor, bit for bit (no gradient; torch's ``sigmoid``
    where :func:`replay_exact` is false)."""
    if not replay_exact():
        return torch.sigmoid(x.detach())
    return _packets_and_tail(x, _plogistic, _logistic_scalar)


# --------------------------------------------------------------------------------------------------------------
# sin / cos
# --------------------------------------------------------------------------------------------------------------

def _c32(value: float) -> torch.Tensor:
    return torch.tensor(np.float32(value), dtype=torch.float32)


def _eigen_sincos_float(x: torch.Tensor, sine: bool) -> torch.Tensor:
    """Eigen's ``psincos_float<sine>`` without FMA (``pmadd`` = a rounded product, then a rounded sum), for
    ``|x| < 18838`` (the large-argument Payne-Hanek branch is not replayed: Keras's angles are within 2 pi)."""
    ax = x.abs()
    y = ax * _c32(0.636619746685028076171875)  # 2 / pi
    y_round = y + _c32(12582912.0)  # 2**23 + 2**22: the nearest integer in the low mantissa bits
    y_int = y_round.view(torch.int32).to(torch.int64)
    y = y_round - _c32(12582912.0)
    r = ax
    for c in (-1.5703125, -0.000483989715576171875, 1.62865035235881805419921875e-07,
              5.5644315544167710640977020375430583953857421875e-11):
        r = r + y * _c32(c)
    if sine:
        flip = (x.view(torch.int32) < 0) ^ (((y_int >> 1) & 1) == 1)
    else:
        flip = (((y_int + 1) >> 1) & 1) == 1
    even = (y_int & 1) == 0
    x2 = r * r
    p_cos = _c32(2.4372266125283204019069671630859375e-05)
    for c in (-0.00138865201734006404876708984375, 0.041666619479656219482421875, -0.5, 1.0):
        p_cos = p_cos * x2 + _c32(c)
    p_sin = _c32(-0.0001959234114083702898469196984621021329076029360294342041015625)
    for c in (0.0083326873655616851693794799871284340042620897293090820312500000,
              -0.1666666203982298255503735617821803316473960876464843750000000000):
        p_sin = p_sin * x2 + _c32(c)
    p_sin = p_sin * x2
    p_sin = p_sin * r + r
    out = torch.where(even, p_sin, p_cos) if sine else torch.where(even, p_cos, p_sin)
    return torch.where(flip, -out, out)  # the sign bit flipped (pxor)


def tf_sincos(x: torch.Tensor, sine: bool) -> torch.Tensor:
    """``tf.sin``/``tf.cos`` of a CPU tensor as TensorFlow's CPU kernel computes it: float32 by Eigen's
    ``psincos_float`` on each full packet of 8 and the C library's ``sinf``/``cosf`` on the rest; float64 by the C
    library's ``sin``/``cos`` (``std::sin``, Python's ``math``); other dtypes torch's, and float32 too where
    :func:`replay_exact` is false."""
    if x.dtype == torch.float64:
        return c_map(math.sin if sine else math.cos, x)
    if x.dtype != torch.float32 or not replay_exact():
        return torch.sin(x) if sine else torch.cos(x)
    return _packets_and_tail(x, lambda t: _eigen_sincos_float(t, sine), _SINF if sine else _COSF)

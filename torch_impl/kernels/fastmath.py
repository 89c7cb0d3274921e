"""Element-wise math for the kernels: Keras's clip bounds and float32 functions cheaper than the defaults.

The element-wise kernels (binary crossentropy, binary and categorical focal)
run out of instruction issue before they run out of memory bandwidth on an
H100 in bfloat16. ``python -m benchmarks.ptxas_report --sass`` counts the
instructions per element of each kernel's main loop; these helpers are where
the count went down:

* ``_exp_ftz``: ``exp`` without the denormal fix-up (3 instructions fewer):
  a result below ``2**-126`` becomes 0. For the online softmax's running
  sums (a flushed term is below the sum's rounding), softmax numerators and
  ``exp(-|x|)`` of the binary losses, where it moves a loss or gradient by
  under ``1.2e-38`` absolute, and probabilities that Keras's clip raises to
  ``1e-7`` anyway.
* ``_rcp``: ``1 / z`` is one ``MUFU.RCP`` on a GPU (``div.approx``, within
  1 ulp for the ``z`` the kernels pass: normal and below ``2**126``) where
  ``/`` is ``div.full`` with a range fix-up around it (about 6 instructions).
  The interpreter, which has no libdevice, divides.
* ``_div_rn``: ``a / b`` correctly rounded where ``/`` on a GPU is not
  (``div.full``, 2 ulp): per-row divisors whose last bit decides Keras's clip.
* ``_log_unit``: ``log(x)`` for normal, finite, positive ``x``: a range
  reduction to ``[2/3, 4/3)`` and a degree-7 polynomial, at most about 1.1
  ulp (measured against float64 on 6 million float32 in ``[1e-7, 1]``), with
  none of the special cases (zero, denormal, inf, NaN) of ``tl.log``, which
  compiles to libdevice's ``logf`` (about 27 instructions). Only for values
  already clipped to Keras's ``[1e-7, 1 - 1e-7]``.
* ``_log1p``: ``log(1 + e)`` for ``0 <= e <= 1`` as ``e * P(e)``, at most 2 ulp,
  with no division and no log (GPU logs are approximate near 1).
"""

from __future__ import annotations

import math
import struct

import triton
import triton.language as tl
from triton.language.extra import libdevice

from torch_impl.kernels import interpreter_mode

EPS = tl.constexpr(1e-7)  # keras.config.epsilon(); a constexpr so kernels may read it
ONE_MINUS_EPS = tl.constexpr(1.0 - 1e-7)


def _log_of_float32(v: float) -> float:
    return math.log(struct.unpack("f", struct.pack("f", v))[0])


#: log of the clip bounds as float32 holds them (the logs Keras takes of clipped probabilities)
LOG_EPS = tl.constexpr(_log_of_float32(1e-7))
LOG_ONE_MINUS_EPS = tl.constexpr(_log_of_float32(1.0 - 1e-7))
#: libdevice's approximate division and exp compile to one MUFU each; the interpreter has no libdevice
_LIBDEVICE = tl.constexpr(not interpreter_mode())
_LN2 = tl.constexpr(0.6931471805599453)


@triton.jit
def _keras_clip(v):
    """``(clip(v, 1e-7, 1 - 1e-7), inside)``: Keras's probability clip and where its gradient is not zero (the
    closed interval; not at NaN). ``tl.maximum`` drops a NaN (the clipped value is then 1e-7, a valid input of
    ``_log_unit``): callers whose loss must stay NaN, as TensorFlow's clip keeps it, select it back."""
    return tl.minimum(tl.maximum(v, EPS), ONE_MINUS_EPS), (v >= EPS) & (v <= ONE_MINUS_EPS)


@triton.jit
def _rcp(z):
    """``1 / z`` for normal ``z`` below ``2**126`` (the kernels pass ``1 + e``, ``o``, ``1 - o``)."""
    if _LIBDEVICE:
        r = libdevice.fast_dividef(1.0, z)
    else:
        r = 1.0 / z
    return r


@triton.jit
def _div_rn(a, b):
    """``a / b`` correctly rounded, as TensorFlow and PyTorch divide: on a GPU Triton's ``/`` is ``div.full``
    (within 2 ulp). For per-row divisors whose rounding decides which probabilities land on a clip bound."""
    if _LIBDEVICE:
        r = tl.math.div_rn(a, b)
    else:
        r = a / b
    return r


@triton.jit
def _exp_ftz(x):
    """``exp(x)`` with results below 2**-126 flushed to zero: FMUL + MUFU.EX2 on a GPU, where ``tl.exp`` adds
    a denormal fix-up (3 instructions). Only where such a result cannot matter (see the module docstring). The
    interpreter flushes too, so the CPU tests see the GPU's zeros."""
    if _LIBDEVICE:
        r = libdevice.fast_expf(x)
    else:
        r = tl.exp(x)
        r = tl.where(r < 1.1754943508222875e-38, 0.0, r)  # 2**-126, the smallest normal float32
    return r


@triton.jit
def _log1p(e):
    # e * P(e), P the degree-9 fit of log1p(e)/e on [0, 1] in relative error (Chebyshev nodes,
    # coefficients rounded to float32)
    p = -0.0031639994122087955
    p = p * e + 0.019487686455249786
    p = p * e - 0.05626952648162842
    p = p * e + 0.10532950609922409
    p = p * e - 0.15263274312019348
    p = p * e + 0.19661018252372742
    p = p * e - 0.24951167404651642
    p = p * e + 0.33329665660858154
    p = p * e - 0.49999889731407166
    p = p * e + 1.0
    return e * p


@triton.jit
def _log_unit(x):
    """``log(x)`` for normal, finite, positive float32 ``x`` (no zero, denormal, inf or NaN handling)."""
    bits = x.to(tl.int32, bitcast=True)
    k = (bits - 0x3F2AAAAB) & -8388608  # 2**23 * the exponent that puts x / 2**e in [2/3, 4/3)
    f = (bits - k).to(tl.float32, bitcast=True) - 1.0  # exact
    # log1p(f) = f - f**2/2 + f**3 R(f) on [-1/3, 1/3), R of degree 7 (fit like _log1p's)
    r = -0.1264292597770691
    r = r * f + 0.14005275070667267
    r = r * f - 0.122418113052845
    r = r * f + 0.14000912010669708
    r = r * f - 0.16676318645477295
    r = r * f + 0.20010778307914734
    r = r * f - 0.24999889731407166
    r = r * f + 0.3333320617675781
    t = r * f - 0.5
    return (k >> 23).to(tl.float32) * _LN2 + (f + (f * f) * t)


@triton.jit
def _ipow(q, N: tl.constexpr):
    r = tl.full(q.shape, 1.0, tl.float32)
    for _ in tl.static_range(N):
        r = r * q
    return r


@triton.jit
def _pow(q, gamma, GAMMA_INT: tl.constexpr):
    """q**gamma, q**(gamma - 1); exact products for a small integer gamma."""
    if GAMMA_INT >= 1:
        f1 = _ipow(q, GAMMA_INT - 1)
        f = f1 * q
    elif GAMMA_INT == 0:
        f = tl.full(q.shape, 1.0, tl.float32)
        f1 = 1.0 / q
    else:
        lq = tl.log(q)
        f = tl.where(q > 0.0, tl.exp(gamma * lq), tl.where(q == 0.0, tl.where(gamma == 0.0, 1.0, 0.0), float("nan")))
        g1 = gamma - 1.0
        f1 = tl.where(q > 0.0, tl.exp(g1 * lq),
                      tl.where(q == 0.0, tl.where(g1 == 0.0, 1.0, tl.where(g1 > 0.0, 0.0, float("inf"))), float("nan")))
    return f, f1

"""TensorFlow's stateless random numbers on its CPU kernels, bit for bit, in torch.

Keras on TensorFlow draws Dropout masks and initial weights with ``tf.random.stateless_uniform``,
``stateless_normal`` and ``stateless_truncated_normal`` from a seed pair. ``StatelessRandomGetKeyCounter``
scrambles the int32 pair with one Philox4x32-10 block (key ``0x02461E293EC8F720``, counter
``[seed0, 0, seed1, 0]``): the Philox key is the block's first two words, the counter ``[0, 0, w2, w3]``. The
``...V2`` kernels then fill the tensor in row-major order, one "group" of values per Philox block at counter
``+ g`` (uniform, normal), or, for the truncated normal, each group from its own stream of blocks starting at
counter ``+ g * skip`` (``skip`` = 256 blocks for float32, 128 for float64: TensorFlow reserves 256 samples per
output value).

* uniform: four float32/float16/bfloat16 values per block (the low 23/10/7 bits of each word as a mantissa in
  ``[1, 2)``, minus 1), or two float64 values (20 bits of the first word and the 32 of the second);
* normal: Box-Muller, ``u1 = max(uniform, 1e-7)``, ``v = 2 pi uniform``, ``sqrt(-2 log u1) * (sin v, cos v)``:
  four float32 values per block from two word pairs (half types: the float32 values rounded), two float64
  values from the four words;
* truncated normal: the same Box-Muller pairs from the group's stream, keeping the values with ``|x| < 2`` in
  order until the group (four float32 or two float64 values) is full.

:class:`SeedGenerator` is Keras's per-layer ``SeedGenerator`` (the ``(seed, counter)`` pair those draws take) and
:func:`dropout_mask` Keras's ``backend.random.dropout`` of ones, the mask of its recurrent layers.

The transcendental functions are the C library's, as TensorFlow's Box-Muller calls them on Linux: float32
``logf`` and ``sincosf`` are glibc's (2.28 and later: the optimized-routines table and polynomial code) replayed
step for step in float64 (:func:`_glibc_logf`, :func:`_glibc_sincosf`, equal to glibc on all 2**23 inputs each
of them can get here, with or without glibc's FMA variants), used where the C library gives the same values on a
check sample (:func:`_libm_box_muller`); float64 ``log``, ``sin`` and ``cos`` are the C library's through Python's
``math`` on Linux (glibc's ``sincos`` is its ``sin`` and ``cos``). Elsewhere (Windows, macOS, no glibc:
TensorFlow calls another libm there anyway) they are evaluated in float64 (torch) and rounded: a normal may
differ by an ulp on about 1% of the values.
The gamma kernel's float64 ``log``, ``log1p`` and ``pow`` are the C library's too (Python's ``math`` and ``**``
per element), with its subnormals flushed to zero as TensorFlow's CPU kernels run: its draws are bit for bit; so are
the binomial kernel's ``log``/``log1p`` (its ``sqrt`` correctly rounded, its ``constant / x`` true divisions).
"""

from __future__ import annotations

import functools
import math
import sys
from typing import NamedTuple, Optional, Sequence

import numpy as np
import torch

from torch_impl._eigen_math import flush_denormals
from torch_impl._libm import HAVE_LIBM, c_function, c_map
from torch_impl._ops import tf_sqrt  # correctly rounded (torch's CPU sqrt is not)

# Philox4x32-10 (TensorFlow's random::PhiloxRandom): the multipliers and the per-round key bumps
_PHILOX_M0, _PHILOX_M1 = 0xD2511F53, 0xCD9E8D57
_PHILOX_W0, _PHILOX_W1 = 0x9E3779B9, 0xBB67AE85
_U32 = 0xFFFFFFFF
_MAXINT32 = 2**31 - 1
SEED_MOD = 2**31 - 2  # keras.src.backend.tensorflow.random._cast_seed: floormod(seed, tf.int32.max - 1)
_TRUNCATED_SKIP = {torch.float64: 128}  # blocks reserved per truncated-normal group; 256 for the 4-value types


def _philox_scalar(ctr: tuple, key: tuple) -> tuple:
    """One Philox4x32-10 block on Python ints (TensorFlow's key scrambling of a stateless seed)."""
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for _ in range(10):
        p0, p1 = _PHILOX_M0 * c0, _PHILOX_M1 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0, p1 & _U32, (p0 >> 32) ^ c3 ^ k1, p0 & _U32)
        k0, k1 = (k0 + _PHILOX_W0) & _U32, (k1 + _PHILOX_W1) & _U32
    return c0, c1, c2, c3


def _mulhilo(m: int, b: torch.Tensor) -> tuple:
    """``(m * b) >> 32`` and ``(m * b) & 0xFFFFFFFF`` for uint32 ``m`` and an int64 tensor of uint32 ``b``, in
    16-bit halves so that no int64 product overflows."""
    p_lo, p_hi = b * (m & 0xFFFF), b * (m >> 16)  # < 2**48 each; m * b = p_hi * 2**16 + p_lo
    return (p_hi + (p_lo >> 16)) >> 16, (p_lo + ((p_hi & 0xFFFF) << 16)) & _U32


def _key_counter(seed: tuple) -> tuple:
    s0, s1 = (int(s) for s in seed)  # as int64: a negative seed's high word is 0xFFFFFFFF
    w = _philox_scalar((s0 & _U32, (s0 >> 32) & _U32, s1 & _U32, (s1 >> 32) & _U32), (0x3EC8F720, 0x02461E29))
    return (w[0], w[1]), (w[2], w[3])


class PhiloxStream(NamedTuple):
    """A Philox generator at a position: its key, counter words 2-3 and the counter's low 64 bits (``base``): what
    a stateful TensorFlow kernel hands its fill (a stateless draw is the stream of its seed pair at ``base`` 0)."""
    key: tuple
    w2: int
    w3: int
    base: int = 0


def _blocks(seed, offsets: torch.Tensor) -> torch.Tensor:
    """The Philox blocks at counter ``+ offsets`` (an int64 tensor of any shape) of a seed pair's stream or of a
    :class:`PhiloxStream`: ``offsets.shape + (4,)`` uint32 words in int64."""
    if isinstance(seed, PhiloxStream):
        return _philox_blocks(seed.key, seed.w2, seed.w3, offsets + seed.base)
    key, (w2, w3) = _key_counter(seed)
    return _philox_blocks(key, w2, w3, offsets)


def _philox_blocks(key: tuple, w2: int, w3: int, offsets: torch.Tensor) -> torch.Tensor:
    """Philox4x32-10 blocks for ``key`` at counters ``[offsets (64 bits), w2, w3]``."""
    k0, k1 = key
    c0, c1 = offsets & _U32, offsets >> 32
    c2, c3 = torch.full_like(offsets, w2), torch.full_like(offsets, w3)
    for _ in range(10):
        hi0, lo0 = _mulhilo(_PHILOX_M0, c0)
        hi1, lo1 = _mulhilo(_PHILOX_M1, c2)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0, k1 = (k0 + _PHILOX_W0) & _U32, (k1 + _PHILOX_W1) & _U32
    return torch.stack((c0, c1, c2, c3), dim=-1)


def _unit_float32(words: torch.Tensor) -> torch.Tensor:
    """TensorFlow's ``Uint32ToFloat``: ``[1, 2)`` from the low 23 bits, minus 1 (float32)."""
    return ((words & 0x7FFFFF) | 0x3F800000).to(torch.int32).view(torch.float32) - 1.0


def _unit_float64(hi: torch.Tensor, lo: torch.Tensor) -> torch.Tensor:
    """TensorFlow's ``Uint64ToDouble``: 20 bits of ``hi`` and 32 of ``lo`` as the mantissa, minus 1."""
    return ((1023 << 52) | ((hi & 0xFFFFF) << 32) | lo).view(torch.float64) - 1.0


def stateless_uniform(shape: Sequence[int], seed: tuple, dtype: torch.dtype, device=None) -> torch.Tensor:
    """``tf.random.stateless_uniform(shape, seed, dtype)`` in ``[0, 1)``, bit for bit."""
    n = math.prod(shape)
    per = 2 if dtype == torch.float64 else 4
    words = _blocks(seed, torch.arange((n + per - 1) // per, dtype=torch.int64, device=device))
    if dtype == torch.float64:
        u = _unit_float64(words[:, 0::2], words[:, 1::2]).reshape(-1)
        return u[:n].reshape(tuple(shape))
    if dtype == torch.float32:
        u = ((words & 0x7FFFFF) | 0x3F800000).to(torch.int32).reshape(-1).view(torch.float32)
    elif dtype == torch.float16:
        u = ((words & 0x3FF) | 0x3C00).to(torch.int16).reshape(-1).view(torch.float16)
    elif dtype == torch.bfloat16:
        u = ((words & 0x7F) | 0x3F80).to(torch.int16).reshape(-1).view(torch.bfloat16)
    else:
        raise ValueError(f"stateless_uniform needs a floating dtype (float16, bfloat16, float32, float64), got {dtype}")
    return (u[:n] - torch.ones((), dtype=dtype, device=device)).reshape(tuple(shape))


_hex = float.fromhex
# glibc's logf (sysdeps/ieee754/flt-32/e_logf.c, e_logf_data.c): (1/c, log c) per subinterval, ln 2, log1p's poly
_LOGF_TAB = [(_hex(a), _hex(b)) for a, b in (
    ("0x1.661ec79f8f3bep+0", "-0x1.57bf7808caadep-2"), ("0x1.571ed4aaf883dp+0", "-0x1.2bef0a7c06ddbp-2"),
    ("0x1.49539f0f010bp+0", "-0x1.01eae7f513a67p-2"), ("0x1.3c995b0b80385p+0", "-0x1.b31d8a68224e9p-3"),
    ("0x1.30d190c8864a5p+0", "-0x1.6574f0ac07758p-3"), ("0x1.25e227b0b8eap+0", "-0x1.1aa2bc79c81p-3"),
    ("0x1.1bb4a4a1a343fp+0", "-0x1.a4e76ce8c0e5ep-4"), ("0x1.12358f08ae5bap+0", "-0x1.1973c5a611cccp-4"),
    ("0x1.0953f419900a7p+0", "-0x1.252f438e10c1ep-5"), ("0x1p+0", "0x0p+0"),
    ("0x1.e608cfd9a47acp-1", "0x1.aa5aa5df25984p-5"), ("0x1.ca4b31f026aap-1", "0x1.c5e53aa362eb4p-4"),
    ("0x1.b2036576afce6p-1", "0x1.526e57720db08p-3"), ("0x1.9c2d163a1aa2dp-1", "0x1.bc2860d22477p-3"),
    ("0x1.886e6037841edp-1", "0x1.1058bc8a07ee1p-2"), ("0x1.767dcf5534862p-1", "0x1.4043057b6ee09p-2"))]
_LOGF_LN2 = _hex("0x1.62e42fefa39efp-1")
_LOGF_A = [_hex(a) for a in ("-0x1.00ea348b88334p-2", "0x1.5575b0be00b6ap-2", "-0x1.ffffef20a4123p-2")]
# glibc's sincosf (s_sincosf.h, sincosf_poly.h, s_sincosf_data.c): 2/pi * 2**24, pi/2, cosine c0..c4, sine s1..s3
_SINCOSF_HPI_INV, _SINCOSF_HPI = _hex("0x1.45F306DC9C883p+23"), _hex("0x1.921FB54442D18p0")
_SINCOSF_C = [_hex(a) for a in ("0x1p0", "-0x1.ffffffd0c621cp-2", "0x1.55553e1068f19p-5", "-0x1.6c087e89a359dp-10",
                                "0x1.99343027bf8c3p-16")]
_SINCOSF_S = [_hex(a) for a in ("-0x1.555545995a603p-3", "0x1.1107605230bc4p-7", "-0x1.994eb3774cf24p-13")]


def _glibc_logf(x: torch.Tensor) -> torch.Tensor:
    """glibc's ``logf`` (2.27 and later) of float32 ``x`` (normal, positive, not 1: Box-Muller's ``u1``), its
    float64 steps replayed: ``x = 2**k z`` with ``z`` near 1, ``log1p(z / c - 1) + log c + k ln 2`` from one of
    16 table entries and a cubic, rounded once (not correctly rounded: 0.7% of ``u1`` differ from float64's log
    rounded). Equal to glibc's (its FMA variant too) on every ``u1`` a Box-Muller can draw."""
    ix = x.view(torch.int32)
    tmp = ix - 0x3F330000
    k = tmp >> 23
    tab = torch.tensor(_LOGF_TAB, dtype=torch.float64, device=x.device)[(tmp >> 19) & 15]
    z = (ix - (k << 23)).view(torch.float32).double()
    r = z * tab[..., 0] - 1.0
    y0 = k.double() * _LOGF_LN2 + tab[..., 1]
    r2 = r * r
    y = (r * _LOGF_A[1] + _LOGF_A[2]).add_(r2 * _LOGF_A[0])
    return y.mul_(r2).add_(y0 + r).float()


def _glibc_sincosf(x: torch.Tensor) -> tuple:
    """glibc's ``sincosf`` (2.28 and later) of float32 ``x`` in ``[0, 120)`` (Box-Muller's ``v1`` in ``[0, 2
    pi)``): the quadrant ``n`` from ``x * 2/pi`` (scaled, truncated), ``x - n pi/2`` and the sine and cosine
    polynomials in float64, swapped and negated by the quadrant. Equal to glibc's (``sinf``/``cosf`` too) on every
    ``v1`` a Box-Muller can draw."""
    xd = x.double()
    n = ((xd * _SINCOSF_HPI_INV).to(torch.int32) + 0x800000) >> 24  # 0 below pi/4, as glibc's direct branch
    xr = xd - n.double() * _SINCOSF_HPI
    c0, c1, c2, c3, c4 = _SINCOSF_C
    s1, s2, s3 = _SINCOSF_S
    x2 = xr * xr
    x4, x3 = x2 * x2, x2 * xr
    sin = (xr + x3 * s1).add_((x3 * x2).mul_(x2 * s3 + s2)).float()
    cos = (x2 * c1 + c0).add_(x4 * c2).add_((x4 * x2).mul_(x2 * c4 + c3)).float()
    odd, neg_sin, neg_cos = (n & 1) == 1, (n & 3) >= 2, ((n + 1) & 3) >= 2
    s, c = torch.where(odd, cos, sin), torch.where(odd, sin, cos)
    s, c = torch.where(neg_sin, -s, s), torch.where(neg_cos, -c, c)
    tiny = x < 2.0**-12  # glibc returns (x, 1) there
    return torch.where(tiny, x, s), torch.where(tiny, torch.ones_like(c), c)


@functools.lru_cache(maxsize=None)
def _libm_box_muller() -> tuple:
    """Whether to take the C library's functions (float32, float64) as TensorFlow's Box-Muller does: float32 where
    the C library's ``logf``, ``sinf`` and ``cosf`` equal :func:`_glibc_logf`/:func:`_glibc_sincosf` on 512
    inputs spread over the range (17 of the 1536 values differ from float64 math rounded); float64 (Python's ``math``,
    the C library's ``log``/``sin``/``cos``) on Linux, where TensorFlow calls ``sincos``."""
    linux = sys.platform.startswith("linux")
    if not (linux and HAVE_LIBM):
        return False, False
    k = (torch.arange(512, dtype=torch.int32) * 16381 + 3) % 2**23
    u = _unit_float32(k).clamp_min(np.float32(1e-7))
    v = (2 * math.pi * u.double()).float()
    logf, sinf, cosf = c_function("logf"), c_function("sinf"), c_function("cosf")
    s, c = _glibc_sincosf(v)
    same = (_glibc_logf(u).tolist() == [logf(a) for a in u.tolist()] and s.tolist() == [sinf(a) for a in v.tolist()]
            and c.tolist() == [cosf(a) for a in v.tolist()])
    return same, True


def _box_muller_float32(x0: torch.Tensor, x1: torch.Tensor) -> tuple:
    """TensorFlow's ``BoxMullerFloat``: float32 pairs from two words each (glibc's ``logf``/``sincosf`` replayed
    where the C library is glibc, else float64 math rounded per step)."""
    u1 = torch.clamp_min(_unit_float32(x0), np.float32(1e-7))
    v1 = (2 * math.pi * _unit_float32(x1).double()).float()  # 2.0f * M_PI: a double product, rounded
    if _libm_box_muller()[0]:
        u2 = tf_sqrt(-2.0 * _glibc_logf(u1))
        s, c = _glibc_sincosf(v1)
        return s * u2, c * u2
    v1 = v1.double()
    u2 = tf_sqrt(-2.0 * torch.log(u1.double()).float())
    return (torch.sin(v1).float() * u2), (torch.cos(v1).float() * u2)


def _box_muller_float64(x0, x1, x2, x3) -> tuple:
    """TensorFlow's ``BoxMullerDouble``: a float64 pair from four words (the C library's ``log``, ``sin`` and
    ``cos`` through Python's ``math`` on Linux, else torch's)."""
    u1 = torch.clamp_min(_unit_float64(x0, x1), 1e-7)
    v1 = 2 * math.pi * _unit_float64(x2, x3)
    if _libm_box_muller()[1]:
        u2 = tf_sqrt(-2.0 * c_map(math.log, u1))
        return c_map(math.sin, v1) * u2, c_map(math.cos, v1) * u2
    u2 = tf_sqrt(-2.0 * torch.log(u1))
    return torch.sin(v1) * u2, torch.cos(v1) * u2


def _standard_normal(words: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The normals of each block of ``words`` (``(..., 4)``), in order: ``(..., 4)`` float32 or ``(..., 2)``
    float64."""
    if dtype == torch.float64:
        return torch.stack(_box_muller_float64(*words.unbind(-1)), dim=-1)
    a0, a1 = _box_muller_float32(words[..., 0], words[..., 1])
    b0, b1 = _box_muller_float32(words[..., 2], words[..., 3])
    return torch.stack((a0, a1, b0, b1), dim=-1)


def _check_float(dtype: torch.dtype, what: str) -> None:
    if dtype not in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        raise ValueError(f"{what} needs a floating dtype (float16, bfloat16, float32, float64), got {dtype}")


def stateless_normal(shape: Sequence[int], seed: tuple, dtype: torch.dtype, device=None,
                     mean: Optional[float] = None, stddev: Optional[float] = None) -> torch.Tensor:
    """``tf.random.stateless_normal(shape, seed, mean, stddev, dtype)``; half types are the float32 values
    rounded. ``mean``/``stddev`` (Python numbers) are cast to ``dtype`` and applied as TensorFlow does,
    ``z * stddev + mean``; left out, the standard normal itself."""
    _check_float(dtype, "stateless_normal")
    n = math.prod(shape)
    base = torch.float64 if dtype == torch.float64 else torch.float32
    per = 2 if base == torch.float64 else 4
    words = _blocks(seed, torch.arange((n + per - 1) // per, dtype=torch.int64, device=device))
    z = _standard_normal(words, base).reshape(-1)[:n].to(dtype).reshape(tuple(shape))
    if mean is None and stddev is None:
        return z
    return (z * torch.tensor(1.0 if stddev is None else stddev, dtype=dtype, device=device)
            + torch.tensor(0.0 if mean is None else mean, dtype=dtype, device=device))


def stateless_truncated_normal(shape: Sequence[int], seed: tuple, dtype: torch.dtype, device=None) -> torch.Tensor:
    """``tf.random.stateless_truncated_normal(shape, seed, dtype)`` (mean 0, stddev 1, ``|x| < 2``); half types
    are the float32 values rounded."""
    _check_float(dtype, "stateless_truncated_normal")
    n = math.prod(shape)
    base = torch.float64 if dtype == torch.float64 else torch.float32
    group = 2 if base == torch.float64 else 4
    skip = _TRUNCATED_SKIP.get(base, 256)
    groups = (n + group - 1) // group
    if n == 0:
        return torch.empty(tuple(shape), dtype=dtype, device=device)
    blocks = 4  # a group's first blocks: 8 (float32) or 4 (float64) candidates per block pair, ~95% kept
    while True:
        offsets = torch.arange(groups, dtype=torch.int64, device=device)[:, None] * skip + torch.arange(
            blocks, dtype=torch.int64, device=device)
        values = _standard_normal(_blocks(seed, offsets), base).reshape(groups, -1)  # the stream's order
        kept = values.abs() < 2.0
        rank = kept.cumsum(1)
        if groups == 0 or bool((rank[:, -1] >= group).all()):
            break
        blocks *= 2  # a group short of values (rare): read further into its stream
    take = kept & (rank <= group)
    out = values[take].reshape(groups, group)
    return out.reshape(-1)[:n].to(dtype).reshape(tuple(shape))


class _OutputStreams:
    """Per-output Philox streams (output ``i`` reads its own blocks from counter ``rows[i]``, one block count per
    output) and the two-value float64 buffers TensorFlow's rejection samplers read, last value first, refilled from
    the stream's next block: normals (Box-Muller) and uniforms (``SampleBuffer`` / the ``UNIFORM`` macro)."""

    def __init__(self, seed, rows: torch.Tensor):
        m = rows.numel()
        self.seed, self.rows = seed, rows
        self.blk = torch.zeros(m, dtype=torch.int64, device=rows.device)
        self.buf = {kind: torch.zeros(m, 2, dtype=torch.float64, device=rows.device) for kind in ("normal", "uniform")}
        self.rem = {kind: torch.zeros(m, dtype=torch.int64, device=rows.device) for kind in ("normal", "uniform")}

    def take(self, who: torch.Tensor, normal: bool = False) -> torch.Tensor:
        """The next normal (or uniform) of each output in ``who``."""
        kind = "normal" if normal else "uniform"
        buf, rem = self.buf[kind], self.rem[kind]
        refill = who & (rem == 0)
        if bool(refill.any()):
            w = _blocks(self.seed, self.rows[refill] + self.blk[refill])
            if normal:
                f0, f1 = _box_muller_float64(w[:, 0], w[:, 1], w[:, 2], w[:, 3])
            else:
                f0, f1 = _unit_float64(w[:, 0], w[:, 1]), _unit_float64(w[:, 2], w[:, 3])
            buf[refill] = torch.stack((f0, f1), dim=1)
            rem[refill] = 2
            self.blk[refill] += 1
        value = buf.gather(1, (rem - 1).clamp_min(0)[:, None]).reshape(-1)
        rem[who] -= 1
        return value


def _c_log(t: float) -> float:
    """C's ``log`` (``math.log``), with its ``-inf`` at 0 and NaN below."""
    return math.log(t) if t > 0 else (-math.inf if t == 0 else math.nan)


def _c_pow(b: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
    """C's ``pow(b, e)`` per element (``b ** e``) for ``b`` in ``[0, 1)``, ``pow(0, e < 0) = inf`` included."""
    return torch.tensor([bb ** ee if bb > 0 else (0.0 if ee > 0 else math.inf if ee < 0 else 1.0)
                         for bb, ee in zip(b.tolist(), e.tolist())], dtype=torch.float64, device=b.device)


def stateless_gamma(shape: Sequence[int], seed, alpha: torch.Tensor, dtype: torch.dtype, device=None) -> torch.Tensor:
    """``StatelessRandomGammaV3``'s draws (unit scale) for ``alpha`` (its shape a suffix of ``shape``), rounded to
    ``dtype``: TensorFlow's CPU kernel step for step. Output ``i`` (ordered alpha-major: ``alpha_idx *
    samples_per_alpha + sample_idx``) reads its own Philox stream from counter ``+ 256 i``; ``alpha == 1`` is
    ``-log1p(-u)`` of the first block's second float64 uniform; otherwise Marsaglia-Tsang with ``d = alpha - 1/3``
    (``+ 2/3`` below 1, then times ``b ** (1 / alpha)``), normals and uniforms taken from two-value float64 buffers
    last value first, each refilled from the stream's next block."""
    shape = tuple(int(s) for s in shape)
    n = math.prod(shape)
    alpha = alpha.detach().to(torch.float64).reshape(-1).to(device)
    num_alphas = alpha.numel()
    if n == 0:
        return torch.empty(shape, dtype=dtype, device=device)
    if num_alphas == 0:
        raise ValueError(f"Input alpha should have non-zero element count, got: {num_alphas}")
    per_alpha = n // num_alphas
    pos = torch.arange(n, dtype=torch.int64, device=device)
    a_idx = pos % num_alphas
    output_idx = a_idx * per_alpha + pos // num_alphas
    base = output_idx * 256
    a = alpha[a_idx]
    res = torch.zeros(n, dtype=torch.float64, device=device)

    one = a == 1.0
    if bool(one.any()):
        w = _blocks(seed, base[one])
        u = _unit_float64(w[:, 2], w[:, 3])
        res[one] = -c_map(math.log1p, -u)  # the C library's log1p, as the kernel's `-log1p(-u)`

    rest = torch.nonzero(~one).reshape(-1)
    if rest.numel():
        ar = a[rest]
        below = ar < 1
        d = ar + torch.where(below, torch.tensor(2.0 / 3, dtype=torch.float64),
                             torch.tensor(-1.0 / 3, dtype=torch.float64))
        # `1.0 / 3 / sqrt(d)`: a true division (torch's `scalar / tensor` is `tensor.reciprocal() * scalar`, an ulp
        # off c for alphas 2.5, 3, -0.5 ...)
        c = torch.full_like(d, 1.0 / 3) / tf_sqrt(d)
        m = rest.numel()
        streams = _OutputStreams(seed, base[rest])
        out = torch.zeros(m, dtype=torch.float64, device=device)
        active = torch.ones(m, dtype=torch.bool, device=device)

        for _ in range(10000):
            if not bool(active.any()):
                break
            x = streams.take(active, normal=True)
            v = 1 + c * x
            trying = active & ~(v <= 0)  # TensorFlow's `if (v <= 0) continue;`: a NaN v (alpha < -2/3) goes on
            v3 = v * v * v
            u = streams.take(trying)
            accept = trying & (u < 1 - 0.0331 * (x * x) * (x * x))
            slow = trying & ~accept  # the squeeze failed: the two logs (the C library's, as the kernel's `log`)
            if bool(slow.any()):
                us, xs, v3s, ds = u[slow], x[slow], v3[slow], d[slow]
                accept[slow] = c_map(_c_log, us) < 0.5 * xs * xs + ds * (1 - v3s + c_map(_c_log, v3s))
            value = d * v3
            small = accept & below
            if bool(small.any()):
                b = streams.take(small)
                # TensorFlow runs its kernels with subnormals flushed to zero: the power's and the product's
                scaled = value[small] * flush_denormals(_c_pow(b[small], 1 / ar[small]))
                value[small] = flush_denormals(scaled)
            out = torch.where(accept, value, out)
            active = active & ~accept
        else:
            raise RuntimeError("stateless_gamma: rejection sampling did not finish")
        res[rest] = out
    return res.to(dtype).reshape(shape)


_STIRLING_TAIL = (0.0810614667953272, 0.0413406959554092, 0.0276779256849983, 0.02079067210376509,
                  0.0166446911898211, 0.0138761288230707, 0.0118967099458917, 0.0104112652619720,
                  0.00925546218271273, 0.00833056343336287)


def _stirling_tail(k: torch.Tensor) -> torch.Tensor:
    table = torch.tensor(_STIRLING_TAIL, dtype=torch.float64, device=k.device)
    kp1sq = (k + 1) * (k + 1)
    # `1.0 / 1260 / kp1sq`: a true division (torch's `scalar / tensor` is `reciprocal() * scalar`, an ulp off)
    big = (1.0 / 12 - (1.0 / 360 - torch.full_like(kp1sq, 1.0 / 1260) / kp1sq) / kp1sq) / (k + 1)
    return torch.where(k <= 9, table[k.clamp(0, 9).long()], big)


def _binomial_inversion(seed, rows, count, prob) -> torch.Tensor:
    u_buf = _OutputStreams(seed, rows)
    geom_sum = torch.zeros_like(count)
    num = torch.zeros_like(count)
    active = torch.ones(count.shape, dtype=torch.bool, device=count.device)
    denominator = c_map(math.log1p, -prob)  # the C library's log1p and log, as the kernel's numext:: calls
    while bool(active.any()):
        u = u_buf.take(active)
        geom = torch.zeros_like(u)
        geom[active] = torch.ceil(c_map(_c_log, u[active]) / denominator[active])
        geom_sum = torch.where(active, geom_sum + geom, geom_sum)
        done = active & (geom_sum > count)
        num = torch.where(active & ~done, num + 1, num)
        active = active & ~done
    return num


def _btrs_constants(count: torch.Tensor, prob: torch.Tensor) -> tuple:
    """BTRS's ``(b, a, c, v_r, r, alpha, m)`` per output, in float64 as the kernel's C arithmetic."""
    stddev = tf_sqrt(count * prob * (1 - prob))  # correctly rounded, as C's sqrt
    b = 1.15 + 2.53 * stddev
    a = -0.0873 + 0.0248 * b + 0.01 * prob
    c = count * prob + 0.5
    v_r = 0.92 - torch.full_like(b, 4.2) / b  # true divisions (torch's `4.2 / b` is `b.reciprocal() * 4.2`)
    r = prob / (1 - prob)
    alpha = (2.83 + torch.full_like(b, 5.1) / b) * stddev
    m = torch.floor((count + 1) * prob)
    return b, a, c, v_r, r, alpha, m


def _binomial_btrs(seed, rows, count, prob) -> torch.Tensor:
    b, a, c, v_r, r, alpha, m = _btrs_constants(count, prob)
    u_buf = _OutputStreams(seed, rows)
    out = torch.zeros_like(count)
    active = torch.ones(count.shape, dtype=torch.bool, device=count.device)
    for _ in range(100000):
        if not bool(active.any()):
            break
        u = u_buf.take(active) - 0.5
        v = u_buf.take(active)
        us = 0.5 - torch.abs(u)
        k = torch.floor((2 * a / us + b) * u + c)
        accept = active & (us >= 0.07) & (v <= v_r)
        sensible = active & ~accept & (k >= 0) & (k <= count)
        if bool(sensible.any()):  # the C library's log (the kernel's numext::log), on the candidates that need it
            s_, ks, ns, ms, rs = sensible, k[sensible], count[sensible], m[sensible], r[sensible]
            with np.errstate(all="ignore"):
                lv = c_map(_c_log, v[s_] * alpha[s_] / (a[s_] / (us[s_] * us[s_]) + b[s_]))
                upper = ((ms + 0.5) * c_map(_c_log, (ms + 1) / (rs * (ns - ms + 1)))
                         + (ns + 1) * c_map(_c_log, (ns - ms + 1) / (ns - ks + 1))
                         + (ks + 0.5) * c_map(_c_log, rs * (ns - ks + 1) / (ks + 1))
                         + _stirling_tail(ms) + _stirling_tail(ns - ms)
                         - _stirling_tail(ks) - _stirling_tail(ns - ks))
            accept[s_] = lv <= upper
        out = torch.where(accept, k, out)
        active = active & ~accept
    else:
        raise RuntimeError("stateless_binomial: rejection sampling did not finish")
    return out


def stateless_binomial(shape: Sequence[int], seed, counts: torch.Tensor, probs: torch.Tensor,
                       dtype: torch.dtype, device=None) -> torch.Tensor:
    """``StatelessRandomBinomial``'s CPU kernel step for step: per output (alpha-major order, as the gamma's), with
    ``count`` and ``prob`` in their own dtype for the branch tests (``count * prob >= 10`` in it): 0 for ``count <= 0``
    or ``prob <= 0``, ``count`` for ``prob >= 1``; else, with ``p = min(prob, 1 - prob)`` (the count minus the draw
    above 0.5), Hormann's BTRS from the stream at counter ``+ 256 i`` when ``count * p >= 10``, binomial inversion
    (geometric sums) from counter ``+ 42 i`` below; NaN for a NaN probability."""
    shape = tuple(int(s) for s in shape)
    n = math.prod(shape)
    counts, probs = torch.broadcast_tensors(counts.detach().to(device), probs.detach().to(device))
    t_dtype = probs.dtype
    counts_f, probs_f = counts.reshape(-1), probs.reshape(-1)
    num_batches = counts_f.numel()
    if n == 0:
        return torch.empty(shape, dtype=dtype, device=device)
    per_batch = n // num_batches
    pos = torch.arange(n, dtype=torch.int64, device=device)
    b_idx = pos % num_batches
    output_idx = b_idx * per_batch + pos // num_batches
    count_t, prob_t = counts_f[b_idx], probs_f[b_idx]
    dcount = count_t.to(torch.float64)
    res = torch.zeros(n, dtype=torch.float64, device=device)
    one, half, ten = (torch.tensor(v, dtype=t_dtype, device=device) for v in (1.0, 0.5, 10.0))
    zero_case = (dcount <= 0) | (prob_t <= 0)
    full_case = ~zero_case & (prob_t >= one)
    low = ~zero_case & ~full_case & (prob_t <= half)
    high = ~zero_case & ~full_case & (prob_t > half)
    nan_case = ~(zero_case | full_case | low | high)
    res[full_case] = dcount[full_case]
    res[nan_case] = float("nan")
    q_t = one - prob_t
    for side, p_t in ((low, prob_t), (high, q_t)):
        big = side & (count_t * p_t >= ten)
        small = side & ~(count_t * p_t >= ten)
        dp = p_t.to(torch.float64)
        for sel, fn, skip in ((big, _binomial_btrs, 256), (small, _binomial_inversion, 42)):
            if bool(sel.any()):
                draw = fn(seed, output_idx[sel] * skip, dcount[sel], dp[sel])
                res[sel] = dcount[sel] - draw if side is high else draw
    return res.to(dtype).reshape(shape)


# --------------------------------------------------------------------------------------------------------------
# TensorFlow's stateful random kernels (tf.random.normal/uniform/truncated_normal with a seed, tf.nn.dropout with a
# seed: what Keras 2's K.random_* call)
# --------------------------------------------------------------------------------------------------------------

DEFAULT_GRAPH_SEED = 87654321  # tensorflow/python/framework/random_seed.py


class _StatefulKernels:
    """TensorFlow's eager kernel cache for the stateful random ops: one Philox generator per ``(op, dtype, seed,
    seed2)``, created at ``PhiloxRandom(seed, seed2)`` (key ``(seed, 0)``, counter ``[0, 0, seed2, 0]``) and
    advanced ``256 * n`` blocks per call of ``n`` values (``GuardedPhiloxRandom::ReserveRandomOutputs``);
    ``tf.random.set_seed`` empties the cache."""

    def __init__(self) -> None:
        self.global_seed: Optional[int] = None
        self.offsets: dict = {}


_KERNELS = _StatefulKernels()


def set_global_seed(seed: Optional[int]) -> None:
    """``tf.random.set_seed(seed)``: the global seed of the stateful ops; every cached generator starts over."""
    _KERNELS.global_seed = None if seed is None else int(seed)
    _KERNELS.offsets.clear()


def global_seed() -> Optional[int]:
    """The seed ``set_global_seed`` set (``tf.random.set_seed`` / ``keras.utils.set_random_seed``), or None."""
    return _KERNELS.global_seed


def op_seeds(op_seed: int) -> tuple[int, int]:
    """``random_seed.get_seed(op_seed)`` in eager mode, for an explicit op seed: ``(global seed or
    DEFAULT_GRAPH_SEED, op_seed)``, each ``mod 2**31 - 1``; ``(0, 0)`` becomes ``(0, 2**31 - 1)``."""
    g = DEFAULT_GRAPH_SEED if _KERNELS.global_seed is None else _KERNELS.global_seed % _MAXINT32
    seeds = (g, int(op_seed) % _MAXINT32)
    return (0, _MAXINT32) if seeds == (0, 0) else seeds


def stateful_stream(op: str, dtype: torch.dtype, op_seed: int, n: int) -> PhiloxStream:
    """The stream the next call of TensorFlow's stateful ``op`` (``"RandomUniform"``, ``"RandomStandardNormal"``,
    ``"TruncatedNormal"``...) with ``seed=op_seed`` draws ``n`` values of ``dtype`` from; the cached generator
    advances past them."""
    s1, s2 = op_seeds(op_seed)
    k = (op, dtype, s1, s2)
    base = _KERNELS.offsets.get(k, 0)
    _KERNELS.offsets[k] = base + 256 * int(n)
    return PhiloxStream((s1 & _U32, (s1 >> 32) & _U32), s2 & _U32, (s2 >> 32) & _U32, base)


class SeedGenerator:
    """Keras's ``SeedGenerator`` of a random layer: ``state = (seed, counter)``, the seed drawn from Python's
    ``random`` when none is given (Keras's ``make_default_seed``; ``draws=False``: none drawn, as Keras makes no
    generator), the counter advancing by one per draw."""

    def _init_seed(self, seed: Optional[int], draws: bool) -> None:
        if seed is None:
            import random
            seed = random.randint(1, int(1e9)) if draws else 0  # keras.src.random.seed_generator.make_default_seed
        if not isinstance(seed, int):
            raise ValueError(f"Argument `seed` must be an integer. Received: seed={seed}")
        self._initial_seed, self._counter = int(seed), 0
        self._seed_value = int(seed)

    @property
    def state(self) -> tuple:
        """``(seed, counter)``: Keras's ``seed_generator.state``; the next training call draws with it."""
        return self._seed_value, self._counter

    @state.setter
    def state(self, value) -> None:
        seed, counter = (int(v) for v in value)
        self._seed_value, self._counter = seed, counter

    def reset(self, seed: Optional[int] = None, counter: int = 0):
        """Restart the stream: ``state = (seed or the layer's seed, counter)``; returns the layer."""
        self.state = (self._initial_seed if seed is None else seed, counter)
        return self

    def _next_seed(self) -> tuple:
        """The seed pair of this draw (Keras's ``_cast_seed``: both reduced ``mod 2**31 - 2``); the counter
        advances."""
        seed = (self._seed_value % SEED_MOD, self._counter % SEED_MOD)
        self._counter += 1
        return seed


def apply_dropout(x: torch.Tensor, u: torch.Tensor, rate: float) -> torch.Tensor:
    """TensorFlow's ``_dropout`` given its uniform draw ``u`` (broadcasting against ``x``):
    ``where(u >= rate, x * (1 / (1 - rate)), 0)``, the scale rounded to ``x``'s dtype."""
    scale = torch.tensor(1 / (1 - rate), dtype=x.dtype, device=x.device)
    keep = u.to(x.device) >= torch.tensor(rate, dtype=u.dtype, device=x.device)
    return torch.where(keep, x * scale, torch.zeros((), dtype=x.dtype, device=x.device))


def dropout_mask(shape: Sequence[int], rate: float, stream: SeedGenerator, dtype: torch.dtype,
                 device=None) -> torch.Tensor:
    """Keras's ``backend.random.dropout(ones(shape), rate, seed=stream)`` on TensorFlow: ``1 / (1 - rate)``
    (rounded to ``dtype``) where ``tf.nn.experimental.stateless_dropout``'s uniform draw is ``>= rate``, else 0;
    one draw of ``stream``. ``rate`` 0 gives ones and 1 zeros, neither drawing (as Keras's)."""
    if rate == 0:
        return torch.ones(tuple(shape), dtype=dtype, device=device)
    if rate == 1:
        return torch.zeros(tuple(shape), dtype=dtype, device=device)
    u = stateless_uniform(shape, stream._next_seed(), dtype, device)
    return apply_dropout(torch.ones(tuple(shape), dtype=dtype, device=device), u, rate)




def _shuffle_op_seeds(seed: int) -> tuple[int, int]:
    """``tf.random.shuffle``'s op seeds in a fresh ``tf.data`` function under the global seed ``seed``."""
    seed1, seed2 = int(seed) % _MAXINT32, 0
    return (seed1, _MAXINT32) if (seed1, seed2) == (0, 0) else (seed1, seed2)


def _random_shuffle(order: np.ndarray, seeds: tuple[int, int], block: int) -> int:
    """TensorFlow's ``RandomShuffle`` kernel on ``order`` in place, its Philox stream at 128-bit block ``block``;
    returns the next call's block (the kernel reserves ``len(order) - 1`` 32-bit words, rounded up to blocks)."""
    samples = len(order) - 1
    if samples <= 0:
        return block
    seed1, seed2 = seeds
    blocks = (samples + 3) // 4
    words = _philox_blocks((seed1 & _U32, seed1 >> 32), seed2 & _U32, seed2 >> 32,
                           torch.arange(block, block + blocks, dtype=torch.int64)).reshape(-1)[:samples].numpy()
    for i, w in enumerate(words.tolist()):
        j = i + w % (samples + 1 - i)
        order[i], order[j] = order[j], order[i]
    return block + blocks


def keras_shuffle_order(n: int, seed: int, shuffle=True, batch_size=None) -> np.ndarray:
    """The order in which Keras 3 on TensorFlow feeds ``n`` samples to ``model.fit(shuffle=True)`` after
    ``keras.utils.set_random_seed(seed)`` (or ``tf.random.set_seed(seed)``); with ``shuffle="batch"``, the order
    of ``fit(shuffle="batch", batch_size=batch_size)``.

    Keras's ``ArrayDataAdapter`` shuffles the indices with ``tf.random.shuffle`` inside a ``tf.data`` function;
    with a global seed its op seeds are ``(seed mod 2**31-1, 0)`` (``random_seed.get_seed``: a fresh function
    graph counts ops from 0; ``(0, 0)`` becomes ``(0, 2**31-1)``), and each epoch runs a fresh kernel, so every
    epoch, and every ``fit`` call, sees this same order. ``RandomShuffle``'s kernel: a stateful Philox4x32-10
    stream with key ``seed`` and counter ``[block, 0, seed2]``, one 32-bit word per swap: for ``i`` in
    ``0..n-2`` swap ``i`` with ``i + word_i % (n - i)``. ``shuffle="batch"`` keeps the batches in order and runs
    that kernel on each batch's indices in turn (``indices_dataset.map(tf.random.shuffle)``): one stream, each
    call reserving its ``size - 1`` words rounded up to whole 128-bit blocks (all measured against Keras's
    epoch iterator).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer (keras.utils.set_random_seed's), got {seed!r}")
    if shuffle not in (True, "batch"):
        raise ValueError(f'shuffle must be True or "batch", got {shuffle!r}')
    seeds, order = _shuffle_op_seeds(seed), np.arange(n)
    if shuffle is True:
        _random_shuffle(order, seeds, 0)
        return order
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f'shuffle="batch" needs the positive integer batch_size, got {batch_size!r}')
    block = 0
    for start in range(0, n, int(batch_size)):
        view = order[start:start + int(batch_size)]  # a view: shuffled in place
        block = _random_shuffle(view, seeds, block)
    return order

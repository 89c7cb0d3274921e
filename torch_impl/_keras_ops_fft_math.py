"""Part of :mod:`torch_impl.keras_ops` (import the functions from there): keras.ops's FFT/signal ops, windows and
the rest of its element-wise math, with the TensorFlow backend's values, dtypes and gradients (Keras 3.15.1).

Functions: ``fft``, ``fft2``, ``ifft2``, ``rfft``, ``irfft``, ``stft``, ``istft``, ``extract_sequences``; windows
``bartlett``, ``blackman``, ``hamming``, ``hanning``, ``kaiser``; ``arccosh``, ``arcsinh``, ``arctanh``, ``cbrt``,
``erfc``, ``erfinv``, ``deg2rad``, ``rad2deg``, ``fabs``, ``fmax``, ``fmin``, ``fmod``, ``gcd``, ``lcm``,
``heaviside``, ``i0``, ``sinc``, ``signbit``, ``trunc``, ``ldexp``, ``logaddexp2``, ``nextafter``, ``isneginf``,
``isposinf``, ``isreal``, ``isin``, ``logical_xor``, ``bitwise_and``/``or``/``xor``/``not``/``invert``,
``bitwise_left_shift``/``left_shift``, ``bitwise_right_shift``/``right_shift``, ``saturate_cast``, ``allclose``;
complex helpers ``real``, ``imag``, ``conj``/``conjugate``, ``angle``, ``view_as_complex``, ``view_as_real``,
``polar``.

Quirks of Keras's TensorFlow backend kept here (torch's own functions differ):

* The FFT ops take and return ``(real, imag)`` tuples of float32/float64 tensors (mixed or float16 parts raise
  TypeError, integer parts ValueError); ``ifft2`` is ``conj(fft2(conj(x))) / (h * w)``; ``stft`` pads with
  ``reflect`` (``center=True``, ``fft_length // 2`` each side), zero-pads the window to ``fft_length`` in the middle
  and takes only ``"hann"``/``"hamming"`` (periodic) or an array; ``istft`` divides by the overlapped squared
  window (0 where that sum is 0, TensorFlow's ``inverse_stft_window_fn``). TensorFlow cannot differentiate a
  *cropping* ``rfft``/``irfft`` (``fft_length`` below the input's length: InvalidArgumentError in the gradient);
  ours gives the gradient.
* ``hamming``/``hanning``/``kaiser`` are float32 whatever floatx (``bartlett`` and ``blackman`` floatx);
  ``blackman(5)``'s ends are ``-1.49e-8``, not 0 (float32 ``2 * pi``). Float32 windows may differ from
  TensorFlow's by an ulp (its vectorised ``cos``).
* ``erfinv`` is TensorFlow's ``ndtri((x + 1) / 2) / sqrt(2)``, less precise than ``torch.special.erfinv`` near 0
  and +-1 (6.1e-9 relative at ``1e-8``, 2.1e-6 at ``1 - 1e-12``, float64): we give Keras's value.
* ``cbrt`` is ``sign(x) * |x| ** (1/3)``: gradient NaN at 0 (torch: inf); int64 becomes float64.
* ``i0``, ``deg2rad``, ``rad2deg``, ``heaviside`` make int64 float64 (other integers floatx); ``i0`` of float32
  under floatx float64 is float64.
* ``sinc`` has gradient NaN at 0 (``where`` over ``sin(pi x) / (pi x)``); ``logaddexp2`` uses ``log(2)`` rounded
  to float32 even in float64 (``logaddexp2(0., 0.)`` is 0.9999999972521647); ``nextafter`` steps in float64 then
  casts back, so in float32 it returns ``x1`` (``nextafter(float32 1, 2) == 1``), with gradient 1 to ``x1``.
* ``fmax``/``fmin``: the non-NaN operand wins, a tie's gradient goes whole to ``x1``; ``fmod`` is
  ``sign(x1) * floormod(|x1|, |x2|)`` (gradient 0 at ``x1 = 0``; ``-inf`` to ``x2`` at ``x1 = inf``), Python
  scalars become float32/int32 tensors first.
* ``signbit`` of float64 looks at the float32 cast (``-1e-50`` is True); ``trunc`` of integers as they are.
* The shifts clamp the shift to ``[0, bits - 1]`` (``left_shift(int32 1, 40)`` is ``-2**31``; torch gives 0);
  ``left_shift(x, 3)`` takes a Python int in ``x``'s dtype, but ``bitwise_and(int8, 3)`` is int32 (not weak).
* Booleans raise in ``fmax``/``fmin``, ``heaviside``, the bitwise ops, ``gcd``/``lcm``, ``real`` and ``conj``.
* ``saturate_cast``'s limits use NumPy 2's promotion: float32 to int32 clips at ``2**31`` (not 2147483520), so
  ``saturate_cast(float32 3e9, "int32")`` is ``-2**31`` in Keras, and here (x86's out-of-range cast, as
  TensorFlow's); NaN casts to 0 for uint32 (torch: ``2**31``). From integers to floats Keras's limits overflow:
  ``saturate_cast(int32 [3, 70000, -5], "float32")`` is ``-2**31`` everywhere, int64 to float32 ``-2**63``,
  int32 to bfloat16 ``[0, 0, -5]`` (Keras's result, kept: the limits are computed with NumPy as Keras does).
* ``angle`` of complex128 is float32 (Keras maps complex128 to complex64), its gradient NaN at 0 (torch: 0); of
  a real tensor ``pi`` below 0 and 0 elsewhere (NaN too), no gradient. ``view_as_complex`` is complex64 whatever
  the input, built with TensorFlow's naive complex product (``[1, inf]`` is ``nan + inf j``). ``imag`` of a real
  tensor is zeros (torch raises).
"""

from __future__ import annotations

__all__: list = [
    "fft", "fft2", "ifft2", "rfft", "irfft", "stft", "istft", "extract_sequences",
    "bartlett", "blackman", "hamming", "hanning", "kaiser",
    "arccosh", "arcsinh", "arctanh", "cbrt", "erfc", "erfinv", "deg2rad", "rad2deg", "fabs", "fmax", "fmin", "fmod",
    "gcd", "lcm", "heaviside", "i0", "sinc", "signbit", "trunc", "ldexp", "logaddexp2", "nextafter", "isneginf",
    "isposinf", "isreal", "isin", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
    "bitwise_invert", "bitwise_left_shift", "left_shift", "bitwise_right_shift", "right_shift", "saturate_cast",
    "allclose", "real", "imag", "conj", "conjugate", "angle", "view_as_complex", "view_as_real", "polar",
]

import math  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from torch_impl import _ops  # noqa: E402
from torch_impl import keras_backend as _K  # noqa: E402
from torch_impl import keras_ops as _ko  # noqa: E402,F401

_INTS = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8, torch.uint16, torch.uint32, torch.uint64)
_UINTS = (torch.uint8, torch.uint16, torch.uint32, torch.uint64)


def _is_int(x: torch.Tensor) -> bool:
    return x.dtype in _INTS


def _tensor_pair(x1, x2):
    """Both operands converted as TensorFlow does (Python float: float32, int: int32; not weak), then cast to
    their ``result_type``."""
    a, b = _ko._t(x1), _ko._t(x2)
    dt = _ko._tdt(_ko.result_type(_ko._dname(a), _ko._dname(b)))
    return _ko._same_device(a.to(dt), b.to(dt))


def _const(v, like: torch.Tensor) -> torch.Tensor:
    """A Python number as a tensor of ``like``'s dtype and device (``tf.constant(v, dtype)``)."""
    return torch.tensor(v, dtype=like.dtype, device=like.device)


# --------------------------------------------------------------------------------------------------------------
# FFT and signal
# --------------------------------------------------------------------------------------------------------------


def _complex_of(x) -> torch.Tensor:
    """Keras's ``_get_complex_tensor_from_tuple``: ``x = (real, imag)``, same shape, float32 or float64."""
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"Input `x` should be a tuple of two tensors - real and imaginary.Received: x={x}")
    real, imag = _ko._t(x[0]), _ko._t(x[1])
    if real.shape != imag.shape:
        raise ValueError("Input `x` should be a tuple of two tensors - real and imaginary.Both the real and "
                         f"imaginary parts should have the same shape. Received: x[0].shape = {tuple(real.shape)}, "
                         f"x[1].shape = {tuple(imag.shape)}")
    if not real.is_floating_point() or not imag.is_floating_point():
        raise ValueError(f"At least one tensor in input `x` is not of type float.Received: x={x}.")
    if real.dtype != imag.dtype or real.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"The `real` and `imag` components have incorrect types: {_ko._dname(real)} "
                        f"{_ko._dname(imag)}. They must be consistent, and one of [tf.float32, tf.float64]")
    return torch.complex(real, imag)


def _parts(z: torch.Tensor):
    return torch.real(z), torch.imag(z)


def fft(x):
    """``ops.fft(x)``: the FFT over the last axis of ``x = (real, imag)``; returns ``(real, imag)``."""
    return _parts(torch.fft.fft(_complex_of(x)))


def fft2(x):
    """``ops.fft2(x)``: the 2-D FFT over the last two axes of ``x = (real, imag)``; returns ``(real, imag)``."""
    return _parts(torch.fft.fft2(_complex_of(x)))


def ifft2(x):
    """``ops.ifft2(x)``: Keras's ``fft2((real, -imag))`` conjugated and divided by ``h * w`` (in the real dtype),
    not ``torch.fft.ifft2`` (the same up to rounding)."""
    real, imag = x
    real, imag = _ko._t(real), _ko._t(imag)
    h = _const(float(real.shape[-2]), real)
    w = _const(float(real.shape[-1]), real)
    fr, fi = fft2((real, -imag))
    return fr / (h * w), -fi / (h * w)


def _real_float(x, name: str) -> torch.Tensor:
    x = _ko._t(x)
    if x.dtype not in (torch.float32, torch.float64):
        raise ValueError(f"{name} requires tf.float32 or tf.float64 inputs, got: {_ko._dname(x)}")
    return x


def rfft(x, fft_length=None):
    """``ops.rfft(x, fft_length=None)``: ``(real, imag)`` of the FFT of a real float32/float64 signal over the last
    axis (cropped or zero-padded to ``fft_length``); integers and float16 raise ValueError."""
    x = _real_float(x, "RFFT")
    return _parts(torch.fft.rfft(x, n=None if fft_length is None else int(fft_length)))


def irfft(x, fft_length=None):
    """``ops.irfft(x, fft_length=None)``: the real inverse of :func:`rfft` (``fft_length`` defaults to
    ``2 * (n - 1)``; the imaginary parts of the DC and Nyquist terms are ignored)."""
    z = _complex_of(x)
    return torch.fft.irfft(z, n=None if fft_length is None else int(fft_length))


def _frame(x: torch.Tensor, length: int, step: int) -> torch.Tensor:
    """``tf.signal.frame(x, length, step, axis=-1, pad_end=False)``: ``(..., frames, length)``, no frame when
    the signal is shorter than ``length``."""
    n = x.shape[-1]
    if n < length:
        return x.new_zeros(*x.shape[:-1], 0, length)
    return x.unfold(-1, length, step)


def extract_sequences(x, sequence_length, sequence_stride):
    """``ops.extract_sequences(x, sequence_length, sequence_stride)``: frames of the last axis,
    ``(..., num_frames, sequence_length)`` with ``num_frames = 1 + (n - sequence_length) // sequence_stride``
    (none when ``n < sequence_length``: torch's ``unfold`` raises)."""
    return _frame(_ko._t(x), int(sequence_length), int(sequence_stride))


def _raised_cosine(n: int, periodic: bool, dtype: torch.dtype, a: float, b: float, device=None) -> torch.Tensor:
    """``tf.signal.hann_window``/``hamming_window``: ``a - b cos(2 pi k / m)``, every constant in ``dtype``."""
    if n == 1:
        return torch.ones(1, dtype=dtype, device=device)
    m = n + (1 if periodic and n % 2 == 0 else 0) - 1
    count = torch.arange(n, device=device).to(dtype)
    cos_arg = torch.tensor(2 * np.pi, dtype=dtype, device=device) * count / torch.tensor(float(m), dtype=dtype,
                                                                                          device=device)
    a_t, b_t = (torch.tensor(v, dtype=dtype, device=device) for v in (a, b))
    return a_t - b_t * torch.cos(cos_arg)


def _stft_window(window, sequence_length: int, fft_length: int, dtype, device) -> torch.Tensor:
    if isinstance(window, str):
        a, b = (0.5, 0.5) if window == "hann" else (0.54, 0.46)
        win = _raised_cosine(sequence_length, True, dtype, a, b, device)
    else:
        win = _ko._t(window).to(dtype=dtype, device=device)
    if win.dim() != 1 or win.shape[-1] != sequence_length:
        raise ValueError("The shape of `window` must be equal to [sequence_length].Received: window "
                         f"shape={tuple(win.shape)}")
    l_pad = (fft_length - sequence_length) // 2
    return F.pad(win, (l_pad, fft_length - sequence_length - l_pad))


def _check_window_name(window) -> None:
    if isinstance(window, str) and window not in {"hann", "hamming"}:
        raise ValueError('If a string is passed to `window`, it must be one of `"hann"`, `"hamming"`. Received: '
                         f"window={window}")


def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """``ops.stft(...)``: ``(real, imag)``, shape ``(..., frames, fft_length // 2 + 1)``. ``center`` pads
    ``fft_length // 2`` on each side with ``reflect`` (too short a signal raises); the window (periodic
    ``"hann"``/``"hamming"``, an array of ``sequence_length`` or ``None``) is zero-padded to ``fft_length`` in the
    middle; frames of ``fft_length`` every ``sequence_stride``. float32/float64 only (TypeError otherwise)."""
    x = _ko._t(x)
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"Invalid input type. Expected `float32` or `float64`. Received: input type={x.dtype}")
    if fft_length < sequence_length:
        raise ValueError("`fft_length` must equal or larger than `sequence_length`. Received: "
                         f"sequence_length={sequence_length}, fft_length={fft_length}")
    _check_window_name(window)
    if center:
        p = fft_length // 2
        if p >= x.shape[-1]:
            raise ValueError(f"paddings must be less than the dimension size: {p}, {p} not less than "
                             f"{x.shape[-1]} (TensorFlow's MirrorPad raises InvalidArgumentError)")
        lead = x.shape[:-1]
        x = F.pad(x.reshape(-1, 1, x.shape[-1]), (p, p), mode="reflect").reshape(*lead, -1)
    frames = _frame(x, int(fft_length), int(sequence_stride))
    if window is not None:
        frames = frames * _stft_window(window, int(sequence_length), int(fft_length), x.dtype, x.device)
    return _parts(torch.fft.rfft(frames, n=int(fft_length)))


def _overlap_and_add(frames: torch.Tensor, step: int) -> torch.Tensor:
    """``tf.signal.overlap_and_add``: ``(..., frames, length)`` to ``(..., (frames - 1) * step + length)``."""
    nf, length = frames.shape[-2], frames.shape[-1]
    out_len = (nf - 1) * step + length if nf else length
    idx = (torch.arange(nf, device=frames.device)[:, None] * step
           + torch.arange(length, device=frames.device)[None, :]).reshape(-1)
    lead = frames.shape[:-2]
    out = frames.new_zeros(*lead, out_len)
    return out.index_add(-1, idx, frames.reshape(*lead, nf * length))


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann", center=True):
    """``ops.istft(...)``: the inverse of :func:`stft` (``x = (real, imag)``): ``irfft`` of each frame, times
    TensorFlow's ``inverse_stft_window_fn`` window (the forward window over the overlapped sum of its squares, 0
    where that sum is 0), overlap-added, then ``[fft_length // 2 : -(fft_length // 2)]`` when ``center`` (or
    ``length`` samples from there)."""
    z = _complex_of(x)
    dtype = torch.real(z).dtype
    _check_window_name(window)
    n_frames = z.shape[-2]
    expected_output_len = fft_length + sequence_stride * (n_frames - 1)
    frames = torch.fft.irfft(z, n=int(fft_length))
    if window is not None:
        win = _stft_window(window, int(sequence_length), int(fft_length), dtype, z.device)
        step, flen = int(sequence_stride), int(fft_length)
        overlaps = -(-flen // step)
        denom = F.pad(torch.square(win), (0, overlaps * step - flen)).reshape(overlaps, step)
        denom = denom.sum(0, keepdim=True).tile(overlaps, 1).reshape(overlaps * step)[:flen]
        win = torch.where(denom == 0, torch.zeros_like(win), win / denom)
        frames = frames * win
    y = _overlap_and_add(frames, int(sequence_stride))
    start = 0 if center is False else fft_length // 2
    if length is not None:
        end = start + length
    elif center is True:
        # keras-team/keras#23255 (after 3.15.1, followed): 3.15.1's end -(fft_length // 2) is 0 for fft_length 1
        # (an empty output)
        end = expected_output_len - (fft_length // 2)
    else:
        end = expected_output_len
    return y[..., start:end]


# --------------------------------------------------------------------------------------------------------------
# windows
# --------------------------------------------------------------------------------------------------------------


def _floatx_dtype() -> torch.dtype:
    return _ko._tdt(_ko.floatx())


def bartlett(x):
    """``ops.bartlett(x)``: the triangular window of ``x`` points, floatx (``x`` of 0 or 1: float32)."""
    n = int(x)
    if n == 0:
        return torch.zeros(0, dtype=torch.float32)
    if n == 1:
        return torch.ones(1, dtype=torch.float32)
    dt = _floatx_dtype()
    xt = torch.tensor(float(n), dtype=dt)
    k = torch.arange(n).to(dt)
    half = (xt - 1) / 2
    two = torch.tensor(2.0, dtype=dt)
    return torch.where(k <= half, two * k / (xt - 1), two - two * k / (xt - 1))


def blackman(x):
    """``ops.blackman(x)``: ``0.42 - 0.5 cos(2 pi n / (x - 1)) + 0.08 cos(4 pi n / (x - 1))`` in floatx, every
    constant in floatx (its ends are ``-1.49e-8`` in float32, not 0)."""
    dt = _floatx_dtype()
    xt = torch.tensor(float(x), dtype=dt)
    k = torch.arange(int(x)).to(dt)
    nm1 = xt - 1
    safe = torch.where(nm1 == 0, torch.ones_like(nm1), nm1)
    c = lambda v: torch.tensor(v, dtype=dt)  # noqa: E731
    term2 = c(-0.5) * torch.cos(c(2 * np.pi) * k / safe)
    term3 = c(0.08) * torch.cos(c(4 * np.pi) * k / safe)
    window = c(0.42) + term2 + term3
    return torch.where(nm1 == 0, torch.ones_like(window), window)


def hamming(x):
    """``ops.hamming(x)``: ``tf.signal.hamming_window(x, periodic=False)``: float32 whatever floatx."""
    return _raised_cosine(int(x), False, torch.float32, 0.54, 0.46)


def hanning(x):
    """``ops.hanning(x)``: ``tf.signal.hann_window(x, periodic=False)``: float32 whatever floatx."""
    return _raised_cosine(int(x), False, torch.float32, 0.5, 0.5)


def kaiser(x, beta):
    """``ops.kaiser(x, beta)``: ``tf.signal.kaiser_window``, float32 whatever floatx:
    ``exp(num - beta) i0e(num) / i0e(beta)`` with ``num = beta sqrt(relu(1 - (k / half)**2))``."""
    n = int(x)
    if n == 1:
        return torch.ones(1, dtype=torch.float32)
    half = (torch.tensor(float(n), dtype=torch.float32) - 1.0) / 2.0
    arg = torch.arange(-float(half), float(half) + 0.1, 1.0, dtype=torch.float32)
    b = torch.tensor(beta, dtype=torch.float32)
    num = b * torch.sqrt(torch.relu(1.0 - torch.square(arg / half)))
    return torch.exp(num - b) * (torch.special.i0e(num) / torch.special.i0e(b))


# --------------------------------------------------------------------------------------------------------------
# element-wise math
# --------------------------------------------------------------------------------------------------------------


def _unary_float_dtype(x: torch.Tensor) -> torch.Tensor:
    """int64 becomes floatx, anything else ``result_type(x, float)`` (Keras's arccosh/arcsinh/arctanh/sinc)."""
    return _ko._float_of(x)


class _TfUnary(torch.autograd.Function):
    """An element-wise op with TensorFlow's registered gradient (``grad_fn(g, x, y)``)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x, fwd, grad_fn):
        return fwd(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0], output)
        ctx.grad_fn = inputs[2]

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return ctx.grad_fn(g, x, y), None, None


def arccosh(x):
    """``ops.arccosh(x)``: gradient ``g / sinh(y)`` (TensorFlow's, from the output; inf at 1, NaN below)."""
    x = _unary_float_dtype(_ko._t(x))
    return _TfUnary.apply(x, torch.acosh, lambda g, x_, y: g / torch.sinh(y))


def arcsinh(x):
    """``ops.arcsinh(x)``: gradient ``g / cosh(y)``."""
    x = _unary_float_dtype(_ko._t(x))
    return _TfUnary.apply(x, torch.asinh, lambda g, x_, y: g / torch.cosh(y))


def arctanh(x):
    """``ops.arctanh(x)``: gradient ``g * (1 / (1 - x**2))`` (inf at +-1, NaN there where ``g`` is 0)."""
    x = _unary_float_dtype(_ko._t(x))
    return _TfUnary.apply(x, torch.atanh, lambda g, x_, y: g * torch.reciprocal(1 - torch.square(x_)))


def cbrt(x):
    """``ops.cbrt(x)``: ``sign(x) * |x| ** (1/3)`` (the exponent rounded to x's dtype): gradient NaN at 0 (torch's
    ``pow`` composition: inf). int64 becomes float64, other integers and float32 floatx."""
    x = _ko._t(x)
    name = _ko._dname(x)
    if name == "int64":
        x = x.to(torch.float64)
    elif name not in ("bfloat16", "float16", "float64"):
        x = x.to(_floatx_dtype())
    return _K.sign(x) * _ko.power(_ops.tf_abs(x), 1.0 / 3.0)


def _float_only(x: torch.Tensor, name: str) -> torch.Tensor:
    if not x.is_floating_point():
        raise TypeError(f"Value for attr 'T' of {_ko._dname(x)} is not in the list of allowed values: bfloat16, "
                        f"half, float, double (ops.{name}: TensorFlow raises InvalidArgumentError)")
    return x


def erfc(x):
    """``ops.erfc(x)``: floats only (integers raise); gradient ``g * (-2 / sqrt(pi)) * exp(-x**2)``."""
    x = _float_only(_ko._t(x), "erfc")
    c = -2 / np.sqrt(np.pi)
    return _TfUnary.apply(x, torch.special.erfc, lambda g, x_, y: g * _const(c, g) * torch.exp(-torch.square(x_)))


def _eigen_erfinv(x: torch.Tensor) -> torch.Tensor:
    """TensorFlow's (Eigen's) ``erfinv``: ``ndtri((x + 1) / 2) * sqrt(1/2)``, not ``torch.special.erfinv``."""
    return torch.special.ndtri((x + 1) / 2) * _const(math.sqrt(0.5), x)


def erfinv(x):
    """``ops.erfinv(x)``: TensorFlow's ``ndtri((x + 1) / 2) / sqrt(2)``, which loses relative precision near 0 and
    +-1 (float64 ``erfinv(1e-8)`` is 6.1e-9 and ``erfinv(1 - 1e-12)`` 2.1e-6 relative off ``torch.special.erfinv``,
    the exact one); floats only (float16/bfloat16 computed in float32); gradient ``g * sqrt(pi) / 2 * exp(y**2)``
    (inf at +-1)."""
    x = _float_only(_ko._t(x), "erfinv")
    c = np.sqrt(np.pi) / 2
    fn = lambda v: _TfUnary.apply(v, _eigen_erfinv,  # noqa: E731
                                  lambda g, x_, y: g * _const(c, g) * torch.exp(torch.square(y)))
    if x.dtype in (torch.float16, torch.bfloat16):
        return fn(x.to(torch.float32)).to(x.dtype)
    return fn(x)


def _angle_dtype(x: torch.Tensor) -> torch.Tensor:
    name = _ko._dname(x)
    if name in ("bool", "int8", "int16", "int32", "uint8", "uint16", "uint32"):
        return x.to(_floatx_dtype())
    if name == "int64":
        return x.to(torch.float64)
    return x


def deg2rad(x):
    """``ops.deg2rad(x)``: ``x * (pi / 180)`` with both constants in x's dtype; int64 becomes float64."""
    x = _angle_dtype(_ko._t(x))
    return x * (_const(math.pi, x) / _const(180.0, x))


def rad2deg(x):
    """``ops.rad2deg(x)``: ``x * (180 / pi)`` with both constants in x's dtype; int64 becomes float64."""
    x = _angle_dtype(_ko._t(x))
    return x * (_const(180.0, x) / _const(math.pi, x))


def fabs(x):
    """``ops.fabs(x)``: integers and booleans become floatx; gradient ``g * sign(x)``."""
    x = _ko._t(x)
    if not x.is_floating_point():
        x = x.to(_floatx_dtype())
    return _ops.tf_abs(x)


def _fmaxmin(x1, x2, largest: bool):
    a, b = _ko._binary(x1, x2)
    if not a.is_floating_point():
        return (_ko.maximum if largest else _ko.minimum)(a, b)
    a, b = torch.broadcast_tensors(a, b)
    res = (_K._maximum if largest else _K._minimum)(a, b)
    na, nb = torch.isnan(a), torch.isnan(b)
    res = torch.where(na & ~nb, b, res)
    return torch.where(nb & ~na, a, res)


def fmax(x1, x2):
    """``ops.fmax(x1, x2)``: the maximum ignoring a NaN operand; a tie's gradient goes whole to ``x1``; booleans
    raise."""
    return _fmaxmin(x1, x2, True)


def fmin(x1, x2):
    """``ops.fmin(x1, x2)``: the minimum ignoring a NaN operand; a tie's gradient goes whole to ``x1``."""
    return _fmaxmin(x1, x2, False)


class _TfFloorMod(torch.autograd.Function):
    """``tf.math.floormod`` of floats (same shapes): gradients ``g`` and ``-g * floor(x / y)`` (``-inf`` for
    ``x = inf``; torch's ``remainder`` gives NaN there)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x, y):
        return torch.remainder(x, y)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g, -g * torch.floor(x / y)


def fmod(x1, x2):
    """``ops.fmod(x1, x2)``: ``sign(x1) * floormod(|x1|, |x2|)``; Python scalars are float32/int32 tensors first
    (not weak); booleans int32; integer division by 0 raises. Gradient to ``x1``: ``sign(x1)**2`` (0 at 0)."""
    a, b = _ko._t(x1), _ko._t(x2)
    dt = _ko.result_type(_ko._dname(a), _ko._dname(b))
    if dt == "bool":
        dt = "int32"
    compute = "int32" if dt in ("uint8", "uint16", "uint32") else dt
    a, b = _ko._same_device(a.to(_ko._tdt(compute)), b.to(_ko._tdt(compute)))
    if not a.is_floating_point() and bool((b == 0).any()):
        raise ZeroDivisionError("Integer division by zero (ops.fmod: TensorFlow raises InvalidArgumentError)")
    if a.is_floating_point():
        a, b = torch.broadcast_tensors(a, b)
        out = _K.sign(a) * _TfFloorMod.apply(_ops.tf_abs(a), _ops.tf_abs(b))
    else:
        out = torch.sign(a) * torch.remainder(torch.abs(a), torch.abs(b))
    return out.to(_ko._tdt(dt))


def _int_pair(x1, x2, name: str):
    a, b = _tensor_pair(x1, x2)
    if not _is_int(a):
        raise TypeError(f"Arguments to {name} must be integers.")
    return a, b


def gcd(x1, x2):
    """``ops.gcd(x1, x2)``: integers only (booleans and floats raise TypeError); non-negative."""
    a, b = _int_pair(x1, x2, "gcd")
    a, b = torch.broadcast_tensors(a, b)
    if a.dtype in _UINTS:
        return torch.gcd(a.to(torch.int64), b.to(torch.int64)).to(a.dtype)
    return torch.gcd(torch.abs(a), torch.abs(b))


def lcm(x1, x2):
    """``ops.lcm(x1, x2)``: ``|x1| * (|x2| // gcd)``, 0 where the gcd is 0; integers only."""
    a0, b0 = _ko._t(x1), _ko._t(x2)
    if not (_is_int(a0) and _is_int(b0)):
        raise TypeError(f"Arguments to lcm must be integers. Received: x1.dtype={_ko._dname(a0)}, "
                        f"x2.dtype={_ko._dname(b0)}")
    a, b = _tensor_pair(a0, b0)
    if a.dtype not in _UINTS:
        a, b = torch.abs(a), torch.abs(b)
    d = gcd(a, b)
    safe = torch.where(d == 0, torch.ones_like(d), d)
    res = a * torch.div(b, safe, rounding_mode="floor")
    return torch.where(d == 0, torch.zeros_like(res), res)


def heaviside(x1, x2):
    """``ops.heaviside(x1, x2)``: 0 below 0, 1 above, ``x2`` at 0 and at NaN; integers floatx (int64 float64),
    booleans raise; the gradient goes to ``x2`` only."""
    a, b = _ko._t(x1), _ko._t(x2)
    dt = _ko.result_type(_ko._dname(a), _ko._dname(b))
    if dt in ("int8", "int16", "int32", "uint8", "uint16", "uint32"):
        dt = _ko.floatx()
    elif dt == "int64":
        dt = "float64"
    if dt == "bool":
        raise TypeError("Cannot convert 0 to EagerTensor of dtype bool (ops.heaviside does not take booleans)")
    a, b = _ko._same_device(a.to(_ko._tdt(dt)), b.to(_ko._tdt(dt)))
    a, b = torch.broadcast_tensors(a, b)
    zeros, ones = torch.zeros_like(a.detach()), torch.ones_like(a.detach())
    return torch.where(a < 0, zeros, torch.where(a > 0, ones, b))


def i0(x):
    """``ops.i0(x)``: the modified Bessel function of order 0, gradient ``g * i1(x)``; int64 and float64 give
    float64, float16/bfloat16 stay, anything else floatx (float32 becomes float64 under floatx float64)."""
    x = _ko._t(x)
    name = _ko._dname(x)
    if name in ("int64", "float64"):
        x = x.to(torch.float64)
    elif name not in ("bfloat16", "float16"):
        x = x.to(_floatx_dtype())
    if x.dtype in (torch.float16, torch.bfloat16):
        return _TfUnary.apply(x.float(), torch.special.i0, lambda g, x_, y: g * torch.special.i1(x_)).to(x.dtype)
    return _TfUnary.apply(x, torch.special.i0, lambda g, x_, y: g * torch.special.i1(x_))


def sinc(x):
    """``ops.sinc(x)``: ``where(x == 0, 1, sin(pi x) / (pi x))``: gradient NaN at 0 (``torch.sinc``: 0)."""
    x = _unary_float_dtype(_ko._t(x))
    pi_x = x * _const(np.pi, x)
    return torch.where(x == 0, torch.ones_like(x.detach()), torch.sin(pi_x) / pi_x)


def signbit(x):
    """``ops.signbit(x)``: the sign bit of the float32 cast (so a float64 ``-1e-50`` is True); integers ``x < 0``;
    booleans all False."""
    x = _ko._t(x)
    if x.dtype == torch.bool:
        return torch.zeros_like(x, dtype=torch.bool)
    if not x.is_floating_point():
        return x < 0
    return torch.signbit(x.detach().to(torch.float32))


def trunc(x):
    """``ops.trunc(x)``: toward zero; integers and booleans as they are; no gradient (zeros)."""
    x = _ko._t(x)
    if not x.is_floating_point():
        return x
    return torch.where(x < 0, torch.ceil(x), torch.floor(x))


def ldexp(x1, x2):
    """``ops.ldexp(x1, x2)``: ``x1 * 2.0 ** x2`` in ``result_type(x1, x2, float)`` (``x1`` where it is 0 or inf);
    ``x2`` must be an integer (booleans and floats raise TypeError)."""
    a, b = _ko._t(x1), _ko._t(x2)
    dt = _ko._tdt(_ko.result_type(_ko._dname(a), _ko._dname(b), float))
    if not _is_int(b):
        raise TypeError(f"ldexp exponent must be an integer type. Received: x2 dtype={_ko._dname(b)}")
    a, b = _ko._same_device(a.to(dt), b.to(dt))
    result = a * torch.pow(_const(2.0, a), b)
    return torch.where(torch.isinf(a) | (a == 0), a, result)


def logaddexp2(x1, x2):
    """``ops.logaddexp2(x1, x2)``: ``max + log1p(exp(-|x1 - x2| ln2)) / ln2`` with ``ln2`` computed in float32
    (even in float64: 1.7e-8 relative from NumPy's), ``x1 + x2`` where the difference is NaN."""
    a, b = _ko._binary(x1, x2, float)
    a, b = torch.broadcast_tensors(a, b)
    delta = a - b
    log2 = torch.log(torch.tensor(2.0, dtype=torch.float32)).to(a.dtype).to(a.device)
    val = _K._maximum(a, b) + torch.log1p(torch.exp(-_ops.tf_abs(delta) * log2)) / log2
    return torch.where(torch.isnan(delta), a + b, val)


class _NextAfter(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(a, b, dt):
        return torch.nextafter(a.to(torch.float64), b.to(torch.float64)).to(dt)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.shapes = (inputs[0].shape, inputs[1].shape)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        ga = g.sum_to_size(sa) if g.shape != sa else g
        gb = torch.zeros(sb, dtype=g.dtype, device=g.device)
        return ga, gb, None


def nextafter(x1, x2):
    """``ops.nextafter(x1, x2)``: computed in float64 and cast to ``result_type(x1, x2, float)``: in float32 it
    returns ``x1`` (the float64 step rounds back); gradient 1 to ``x1``, 0 to ``x2``."""
    a, b = _ko._t(x1), _ko._t(x2)
    dt = _ko._tdt(_ko.result_type(_ko._dname(a), _ko._dname(b), float))
    a, b = _ko._same_device(a, b)
    if not a.is_floating_point():
        a = a.to(dt)
    if not b.is_floating_point():
        b = b.to(dt)
    return _NextAfter.apply(a, b, dt)


def isneginf(x):
    """``ops.isneginf(x)``: booleans and integers all False."""
    x = _ko._t(x)
    if not x.is_floating_point():
        return torch.zeros_like(x, dtype=torch.bool)
    return x == -math.inf


def isposinf(x):
    """``ops.isposinf(x)``: booleans and integers all False."""
    x = _ko._t(x)
    if not x.is_floating_point():
        return torch.zeros_like(x, dtype=torch.bool)
    return x == math.inf


def isreal(x):
    """``ops.isreal(x)``: all True for real tensors (``imag == 0`` for complex ones)."""
    x = _ko._t(x)
    if x.is_complex():
        return torch.imag(x) == 0
    return torch.ones_like(x, dtype=torch.bool)


def isin(x1, x2, assume_unique=False, invert=False):
    """``ops.isin(x1, x2, assume_unique=False, invert=False)``: both cast to their ``result_type`` (Python lists
    as TensorFlow converts them: float32/int32), NaN is in nothing; shape of ``x1``."""
    a, b = _tensor_pair(x1, x2)
    if a.numel() == 0 or b.numel() == 0:
        return torch.zeros(a.shape, dtype=torch.bool, device=a.device)
    res = (a.detach().reshape(-1, 1) == b.detach().reshape(1, -1)).any(dim=1)
    if invert:
        res = ~res
    return res.reshape(a.shape)


def logical_xor(x1, x2):
    """``ops.logical_xor(x1, x2)``: both cast to bool."""
    a, b = _ko._same_device(_ko._t(x1).to(torch.bool), _ko._t(x2).to(torch.bool))
    return torch.logical_xor(a, b)


def _bitwise_pair(x, y, name: str):
    a, b = _tensor_pair(x, y)
    if not _is_int(a):
        raise TypeError(f"Value for attr 'T' of {_ko._dname(a)} is not in the list of allowed values: int8, int16, "
                        f"int32, int64, uint8, uint16, uint32, uint64 (ops.{name}: TensorFlow raises "
                        "InvalidArgumentError)")
    return a, b


def bitwise_and(x, y):
    """``ops.bitwise_and(x, y)``: integers only (booleans raise); a Python int is an int32 tensor (not weak)."""
    return torch.bitwise_and(*_bitwise_pair(x, y, "bitwise_and"))


def bitwise_or(x, y):
    """``ops.bitwise_or(x, y)``: integers only."""
    return torch.bitwise_or(*_bitwise_pair(x, y, "bitwise_or"))


def bitwise_xor(x, y):
    """``ops.bitwise_xor(x, y)``: integers only."""
    return torch.bitwise_xor(*_bitwise_pair(x, y, "bitwise_xor"))


def bitwise_invert(x):
    """``ops.bitwise_invert(x)``: integers only (booleans raise; ``torch.bitwise_not`` of bool is ``not``)."""
    x = _ko._t(x)
    if not _is_int(x):
        raise TypeError(f"Value for attr 'T' of {_ko._dname(x)} is not in the list of allowed values: int8, int16, "
                        "int32, int64, uint8, uint16, uint32, uint64 (ops.bitwise_invert: TensorFlow raises "
                        "InvalidArgumentError)")
    return torch.bitwise_not(x)


def bitwise_not(x):
    """``ops.bitwise_not(x)``: :func:`bitwise_invert`."""
    return bitwise_invert(x)


def _shift(x, y, left: bool, name: str):
    x = _ko._t(x)
    if isinstance(y, int) and not isinstance(y, bool):  # TensorFlow converts a Python int to x's dtype
        if not _is_int(x):
            raise TypeError(f"ops.{name} takes integers (TensorFlow raises InvalidArgumentError)")
        bits = torch.iinfo(x.dtype).bits
        shift = torch.full(x.shape, _py_clamp(int(y), 0, bits - 1), dtype=torch.int64, device=x.device)
    else:
        x, y = _bitwise_pair(x, y, name)
        bits = torch.iinfo(x.dtype).bits
        shift = y.to(torch.int64).clamp(0, bits - 1)
    if x.dtype == torch.uint64:
        raise NotImplementedError(f"ops.{name} of uint64 is not ported")
    if x.dtype in (torch.uint16, torch.uint32):  # few torch kernels for these: shift in int64 and mask
        xw = x.to(torch.int64)
        out = (xw << shift) & ((1 << bits) - 1) if left else xw >> shift
        return out.to(x.dtype)
    shift = shift.to(x.dtype)
    return torch.bitwise_left_shift(x, shift) if left else torch.bitwise_right_shift(x, shift)


def _py_clamp(v: int, lo: int, hi: int) -> int:
    return lo if v < lo else hi if v > hi else v


def bitwise_left_shift(x, y):
    """``ops.bitwise_left_shift(x, y)``: the shift clamped to ``[0, bits - 1]`` (TensorFlow's kernel; torch gives
    0 past the width); a Python int ``y`` takes x's dtype, a tensor is promoted with ``x``."""
    return _shift(x, y, True, "bitwise_left_shift")


def left_shift(x, y):
    """``ops.left_shift``: :func:`bitwise_left_shift`."""
    return bitwise_left_shift(x, y)


def bitwise_right_shift(x, y):
    """``ops.bitwise_right_shift(x, y)``: arithmetic for signed integers, the shift clamped to ``[0, bits - 1]``."""
    return _shift(x, y, False, "bitwise_right_shift")


def right_shift(x, y):
    """``ops.right_shift``: :func:`bitwise_right_shift`."""
    return bitwise_right_shift(x, y)


def _np_dtype(name: str):
    if name == "bfloat16":
        try:
            import ml_dtypes
        except ImportError as e:  # pragma: no cover - ml_dtypes comes with TensorFlow/JAX, not with torch
            raise NotImplementedError("ops.saturate_cast with bfloat16 needs the ml_dtypes package") from e
        return ml_dtypes.bfloat16
    return np.dtype(name)


def _np_limits(name: str):
    """Keras's ``get_dtype_min_max``: Python ints for bool and integers, NumPy scalars for floats (NumPy 2's
    promotion treats the first as weak)."""
    if name == "bool":
        return 0, 1
    if "int" in name:
        info = np.iinfo(name)
        return int(info.min), int(info.max)
    if name == "bfloat16":
        import ml_dtypes
        info = ml_dtypes.finfo(ml_dtypes.bfloat16)
    else:
        info = np.finfo(name)
    return info.min, info.max


def saturate_cast(x, dtype):
    """``ops.saturate_cast(x, dtype)``: clipped to the range both dtypes hold, then cast; the limits are Keras's,
    computed with NumPy 2's promotion: a limit the input dtype rounds past is stepped toward 0 only when the
    rounded value still compares above it *in the input dtype*, so float32 to int32 clips at ``2**31`` and the
    cast of ``3e9`` gives ``-2**31`` (Keras's result; the out-of-range cast is x86's, as TensorFlow's). The
    gradient passes inside the range (at the bounds too), as :func:`torch_impl.keras_ops.clip`."""
    x = _ko._t(x)
    out_name, in_name = _ko._dtype_name(dtype), _ko._dname(x)
    in_min, in_max = _np_limits(in_name)
    out_min, out_max = _np_limits(out_name)
    in_np = _np_dtype(in_name)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lo = np.maximum(in_min, out_min).astype(in_np)
        if lo < out_min:
            lo = np.nextafter(lo, 0, dtype=in_np)
        hi = np.minimum(in_max, out_max).astype(in_np)
        if hi > out_max:
            hi = np.nextafter(hi, 0, dtype=in_np)
    lo_v, hi_v = (int(v) if in_name == "bool" or "int" in in_name else float(v) for v in (lo, hi))
    y = _ko.clip(x, lo_v, hi_v)
    if out_name in ("uint32", "uint64") and y.is_floating_point():  # TensorFlow casts NaN to 0 (torch: 2**31)
        y = torch.where(torch.isnan(y), torch.zeros_like(y), y)
    return y.to(_ko._tdt(out_name))


def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """``ops.allclose(...)``: ``all((finite & |x1 - x2| <= atol + rtol |x2|) | x1 == x2)`` in the promoted dtype
    (so ``inf == inf`` counts; NaN only with ``equal_nan``); a 0-d bool tensor."""
    a, b = _tensor_pair(x1, x2)
    a, b = a.detach(), b.detach()
    if a.is_floating_point():
        finite = torch.isfinite(a) & torch.isfinite(b)
        close = torch.abs(a - b) <= (atol + rtol * torch.abs(b))
        res = (finite & close) | (a == b)
        if equal_nan:
            res = res | (torch.isnan(a) & torch.isnan(b))
        return torch.all(res)
    return torch.all(a == b)


# --------------------------------------------------------------------------------------------------------------
# complex helpers
# --------------------------------------------------------------------------------------------------------------


def _not_bool(x: torch.Tensor, name: str) -> torch.Tensor:
    if x.dtype == torch.bool:
        raise TypeError(f"ops.{name}: input must be a numeric tensor, but got tensor with dtype bool (TensorFlow "
                        "raises TypeError)")
    return x


def real(x):
    """``ops.real(x)``: the real part (float32/float64 of complex64/complex128); a real or integer tensor as it
    is; booleans raise TypeError."""
    x = _not_bool(_ko._t(x), "real")
    return torch.real(x) if x.is_complex() else x


def imag(x):
    """``ops.imag(x)``: the imaginary part; zeros of x's dtype for real, integer and boolean tensors (torch's
    ``imag`` raises on real tensors), no gradient there."""
    x = _ko._t(x)
    return torch.imag(x) if x.is_complex() else torch.zeros_like(x.detach())


def conj(x):
    """``ops.conj(x)``: the complex conjugate (materialised); real and integer tensors as they are; booleans
    raise TypeError."""
    x = _not_bool(_ko._t(x), "conj")
    return torch.conj_physical(x) if x.is_complex() else x


def conjugate(x):
    """``ops.conjugate``: :func:`conj`."""
    return conj(x)


class _TfAngle(torch.autograd.Function):
    """``tf.math.angle`` of a complex tensor: gradient ``-g / complex(imag, real)`` (NaN at 0; torch: 0)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(z):
        return torch.angle(z)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, g):
        z, = ctx.saved_tensors
        w = torch.complex(torch.imag(z), torch.real(z))
        return -torch.complex(g, torch.zeros_like(g)) * torch.reciprocal(w)


def angle(x):
    """``ops.angle(x)``: ``atan2(imag, real)``; complex128 is first cast to complex64 (Keras's promotion maps
    complex128 to complex64), so its angle is float32; real tensors give ``pi`` below 0 and 0 elsewhere (NaN and
    -0. included: torch's ``angle`` keeps NaN), no gradient; integers and booleans floatx (int64 too)."""
    x = _ko._t(x)
    name = _ko._dname(x)
    dt = _ko.floatx() if name == "int64" else _ko.result_type(name, float)
    x = x.to(_ko._tdt(dt))
    if x.is_complex():
        return _TfAngle.apply(x)
    return torch.where(x < 0, _const(math.pi, x).expand_as(x), torch.zeros_like(x)).detach()


def view_as_complex(x):
    """``ops.view_as_complex(x)``: ``(..., 2)`` to complex64 whatever x's dtype (float64 is rounded to
    float32), as ``real + 1j * imag`` with TensorFlow's naive complex product (``[1, inf]`` is ``nan + inf j``);
    the last axis must be 2 (ValueError)."""
    x = _ko._t(x)
    if x.dim() < 1 or x.shape[-1] != 2:
        raise ValueError("Last dimension of input must be size 2 (real and imaginary). Received shape: "
                         f"{tuple(x.shape)}")
    re, im = x[..., 0].to(torch.float32), x[..., 1].to(torch.float32)
    # TensorFlow's naive complex product 1j * (im + 0j) = (0 im - 1 * 0) + (0 * 0 + 1 im) j: an infinite imaginary
    # part gives a NaN real part (torch's product: NaN in both)
    r2, i2 = 0.0 * im - 0.0, 0.0 + im
    return torch.complex(re + r2, 0.0 + i2)


def view_as_real(x):
    """``ops.view_as_real(x)``: ``stack([real(x), imag(x)], -1)`` (a real tensor gets zeros as its imaginary
    part)."""
    x = _ko._t(x)
    return torch.stack((real(x), imag(x)), dim=-1)


def polar(abs_, angle):  # noqa: F811 - Keras's argument name
    """``ops.polar(abs_, angle)``: ``complex(abs_ * cos(angle), abs_ * sin(angle))``; both must end as the same
    float32/float64 dtype (TensorFlow's ``*`` does not promote: mixed or integer inputs raise); Python floats are
    float32."""
    a, t = _ko._t(abs_), _ko._t(angle)
    c, s = _ko.cos(t), _ko.sin(t)
    if a.dtype != c.dtype:
        raise TypeError(f"cannot compute Mul as input #1(zero-based) was expected to be a {_ko._dname(a)} tensor "
                        f"but is a {_ko._dname(c)} tensor (ops.polar; TensorFlow raises InvalidArgumentError)")
    return _complex_of((a * c, a * s))

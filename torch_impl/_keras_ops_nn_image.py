"""Part of :mod:`torch_impl.keras_ops` (import the functions from there): keras.ops's remaining nn functions and
``keras.ops.image``'s, with the TensorFlow backend's values, gradients and dtypes (Keras 3.15.1).

Functions: the activations ``celu``, ``glu``, ``hard_shrink``, ``hard_tanh``, ``soft_shrink``, ``tanh_shrink``,
``threshold``, ``sparse_plus``, ``sparse_sigmoid``, ``sparsemax``, ``squareplus``; ``psnr``;
``rms_normalization``, ``layer_normalization``, ``batch_normalization``; ``in_top_k``; ``segment_max``,
``segment_min``, ``segment_prod``; ``conv``, ``depthwise_conv``, ``separable_conv``, ``conv_transpose``,
``max_pool``, ``average_pool``, ``adaptive_average_pool``, ``adaptive_max_pool``, ``depth_to_space``,
``space_to_depth``; ``dot_product_attention``; and the namespace ``image`` (as ``keras.ops.image``:
``ops.image.ssim``, ``resize``, ``rgb_to_grayscale``, ``rgb_to_hsv``, ``hsv_to_rgb``, ``gaussian_blur``,
``sobel_edges``, ``crop_images``, ``pad_images``, ``extract_patches``, ``extract_patches_3d``,
``affine_transform``, ``perspective_transform``, ``map_coordinates``, ``elastic_transform``,
``scale_and_translate``).

Quirks of Keras's TensorFlow backend kept here (torch's functions differ):

* ``ops.sparsemax``'s threshold is ``(sum of the cumulative sums over the support - 1) / k``, not
  ``(cumsum_k - 1) / k``: where the support has two or more entries the output does not sum to 1
  (``sparsemax([0.5, 0.4, -1])`` is ``[0.3, 0.2, 0]``; the paper's: ``[0.55, 0.45, 0]``).
* ``ops.in_top_k(targets, predictions, k)`` takes float32 predictions only (float64 raises, as TensorFlow's
  ``InTopKV2``); ties count in (fewer than ``k`` scores strictly above the target's); a row with a non-finite
  score is ``False``.
* ``ops.segment_max``/``segment_min`` (unsorted) give an empty segment the dtype's lowest/highest finite value
  (``-3.4028235e38`` in float32, not ``-inf``); with ``sorted=True`` an empty segment is 0. The gradient of a tie
  is split evenly between the tied entries. ``segment_prod``'s gradient at a zero entry is the product of the
  others (0 where a segment has two zeros). ``num_segments`` defaults to ``max(segment_ids) + 1``.
* ``ops.celu``'s gradient at 0 is 2 (``tf.maximum``/``tf.minimum`` both give a tie to ``x``; torch's: 1).
  ``ops.hard_tanh`` passes the gradient at +-1; ``hard_shrink``/``soft_shrink`` have gradient 0 at
  ``+-threshold``.
* ``ops.rms_normalization``/``layer_normalization`` compute in at least float32 and cast the result back to the
  input's dtype (an int32 input gives int32); their ``epsilon`` is 1e-7 (torch: 1e-5 / machine epsilon);
  ``layer_normalization``'s variance has no gradient through its mean (``tf.nn.moments``);
  ``batch_normalization``'s ``epsilon`` is 1e-3.
* ``ops.dot_product_attention``'s scale (default ``1 / sqrt(H)``) is a float32 number even in float64; masked
  logits are ``-0.7 * 3.38953e38`` (a fully masked row is uniform, not NaN).
* ``ops.image.resize`` (bilinear) computes in float32 whatever the input dtype, as TensorFlow's kernel (float64
  images: float32-precision values, and Keras's ``saturate_cast`` back: ``inf`` becomes +-3.4028235e38),
  half-pixel centres; so do its other methods, replayed from TensorFlow's CPU kernels: ``'bicubic'``
  (``ResizeBicubic``: Keys cubic weights read from a 1024-step table, taps outside renormalised),
  ``'area'`` (``ResizeArea``; TensorFlow has no gradient for it: backward raises LookupError), and
  ``antialias=True`` or ``'lanczos3'``/``'lanczos5'`` (``ScaleAndTranslate`` with the triangle/Keys/Lanczos
  kernels; its gradient kernel takes float32 images only: float64/half images' backward raises, as in
  TensorFlow);
* ``ops.image.affine_transform``/``perspective_transform`` are ``ImageProjectiveTransformV3`` replayed
  (:func:`torch_impl.image.affine_transform`), with TensorFlow's registered gradient: the incoming gradient
  resampled by the inverse transform (not the adjoint of the resampling); the perspective homography and that
  inverse are TensorFlow's float32 ``MatrixSolve``/``MatrixInverse`` (Eigen's partial-pivot LU) replayed;
* ``ops.image.map_coordinates``: Keras's ``'reflect'``/``'mirror'`` fold ``abs(index)`` (``-1`` reads index 1;
  scipy's ``reflect``: 0) and ``'mirror'`` raises where an index reaches ``size`` (mod ``2 size``); integer
  coordinates with ``order=0`` truncate float inputs; an invalid ``fill_mode`` raises AttributeError;
  ``elastic_transform`` draws ``dx`` and ``dy`` from the same seed (equal displacements along both axes) with
  Keras's uncast seed pair; ``scale_and_translate`` (Keras's own dense-weight implementation) raises on integer
  images as Keras does; ``ops.image.ssim`` returns the input's dtype (uint8
  images: a truncated uint8); ``gaussian_blur`` scrambles a non-square kernel (Keras's reshape of the outer
  product) and reads ``data_format=None`` as channels_last; ``hsv_to_rgb`` has no gradient (TensorFlow registers
  none); ``rgb_to_hsv`` has TensorFlow's piecewise gradient.
* ``ops.max_pool``/``adaptive_max_pool``: a NaN never wins a window (TensorFlow's CPU kernel folds
  ``acc = x if x > acc`` from the lowest finite float: a window of NaN and -inf gives ``-3.4028235e38`` in
  float32, ``-1.797e308`` in float64), while the gradient goes to the window's first entry unless a later one is
  strictly greater (a NaN first entry keeps it), as ``MaxPoolGrad`` (3-D: to the maximum, none from a window
  of NaN and -inf, as ``MaxPool3DGrad``); ``torch``'s pools propagate NaN. ``max_pool`` is ``K.pool2d``'s and
  ``nn.MaxPooling2D``'s pooling (torch's, and the exact rule only where an output is NaN or -inf).
  ``segment_max``/``segment_min`` fold in data order: a NaN replaces the running value and is replaced by the next
  entry (``segment_max([nan, 1])`` is 1, ``segment_max([2, nan])`` NaN).
* ``ops.psnr`` of integer images takes an integer (truncated) mean of the squared error.
* The activations raise on integer and boolean inputs (TensorFlow: TypeError / InvalidArgumentError);
  ``conv``/``conv_transpose``/``max_pool``/``adaptive_max_pool`` take int32 (pools: any integer) as TensorFlow
  does (computed here through float64: exact below 2**53).

Where TensorFlow's CPU kernels raise and its GPU kernels compute (2-D ``conv`` with ``channels_first``,
``conv_transpose`` with ``dilation_rate > 1``, float64 3-D pools), this module computes (checked against Keras's
transposed channels_last call, as the adjoint of ``conv``, and in float32).

Known difference (pinned by a strict xfail): ``sparsemax`` of a row holding NaN (TensorFlow's sort leaves the NaN
at an implementation-defined place; torch sorts it first).

Every function of ``keras.ops.image`` is here.
"""

from __future__ import annotations

__all__: list = [
    "celu", "glu", "hard_shrink", "hard_tanh", "soft_shrink", "tanh_shrink", "threshold", "sparse_plus",
    "sparse_sigmoid", "sparsemax", "squareplus", "psnr", "rms_normalization", "layer_normalization",
    "batch_normalization", "in_top_k", "segment_max", "segment_min", "segment_prod", "conv", "depthwise_conv",
    "separable_conv", "conv_transpose", "max_pool", "average_pool", "adaptive_average_pool", "adaptive_max_pool",
    "depth_to_space", "space_to_depth", "dot_product_attention", "image", "ctc_decode",
]

import itertools  # noqa: E402
import math  # noqa: E402
import types  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from torch_impl import keras_backend as _K  # noqa: E402
from torch_impl import keras_ops as _ko  # noqa: E402,F401

_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _floating(x, name: str) -> torch.Tensor:
    """A tensor of a floating dtype; integers and booleans raise, as in TensorFlow (which has no integer kernel for
    these ops or cannot convert their float constants)."""
    x = _ko._t(x)
    if x.dtype not in _FLOATS:
        raise TypeError(f"ops.{name} takes floating inputs (TensorFlow raises on {_ko._dname(x)}); cast them "
                        "first, e.g. ops.cast(x, 'float32')")
    return x


def _c(value, ref: torch.Tensor) -> torch.Tensor:
    """A Python number as a 0-d tensor of ``ref``'s dtype (TensorFlow converts a Python operand to the tensor's
    dtype)."""
    return torch.as_tensor(value, dtype=ref.dtype, device=ref.device)


# --------------------------------------------------------------------------------------------------------------
# activations
# --------------------------------------------------------------------------------------------------------------


def celu(x, alpha=1.0) -> torch.Tensor:
    """``ops.celu(x, alpha=1.0)``: ``maximum(x, 0) + alpha * expm1(minimum(x, 0) / alpha)``; gradient 2 at 0
    (TensorFlow's max/min give a tie to ``x`` both times; ``F.celu``: 1)."""
    x = _floating(x, "celu")
    zero = _c(0.0, x)
    return _K._maximum(x, zero) + alpha * torch.expm1(_K._minimum(x, zero) / alpha)


def glu(x, axis=-1) -> torch.Tensor:
    """``ops.glu(x, axis=-1)``: ``a * sigmoid(b)`` of the two halves along ``axis``; an odd size raises
    ValueError."""
    x = _ko._t(x)
    if x.shape[axis] % 2 != 0:
        raise ValueError(f"axis size must be divisible by 2. Received: x.shape={tuple(x.shape)} with axis={axis}")
    x = _floating(x, "glu")
    a, b = torch.chunk(x, 2, dim=axis)
    return a * torch.sigmoid(b)


def hard_tanh(x) -> torch.Tensor:
    """``ops.hard_tanh(x)``: ``clip_by_value(x, -1, 1)``: the gradient passes at +-1 (``F.hardtanh``: 0)."""
    x = _floating(x, "hard_tanh")
    return _K._clip_by_value(x, -1.0, 1.0)


def hard_shrink(x, threshold=0.5) -> torch.Tensor:
    """``ops.hard_shrink(x, threshold=0.5)``: ``x`` where ``|x| > threshold``, else 0 (gradient 0 at the
    threshold)."""
    x = _floating(x, "hard_shrink")
    return torch.where(torch.abs(x) > _c(threshold, x), x, torch.zeros_like(x))


def soft_shrink(x, threshold=0.5) -> torch.Tensor:
    """``ops.soft_shrink(x, threshold=0.5)``: ``x -+ threshold`` beyond ``+-threshold``, else 0."""
    x = _floating(x, "soft_shrink")
    t = _c(threshold, x)
    return torch.where(x > t, x - t, torch.where(x < -t, x + t, torch.zeros_like(x)))


def tanh_shrink(x) -> torch.Tensor:
    """``ops.tanh_shrink(x)``: ``x - tanh(x)``."""
    x = _floating(x, "tanh_shrink")
    return x - torch.tanh(x)


def threshold(x, threshold, default_value) -> torch.Tensor:  # noqa: F811 - Keras's argument name
    """``ops.threshold(x, threshold, default_value)``: ``x`` where ``x > threshold``, else ``default_value`` (in
    ``x``'s dtype); integer ``x`` works with integer numbers (TensorFlow cannot convert a float to an int)."""
    x = _ko._t(x)
    if x.dtype == torch.bool:
        raise TypeError("ops.threshold does not take booleans (TensorFlow raises)")
    if not x.is_floating_point():
        for v in (threshold, default_value):
            if isinstance(v, float) or (isinstance(v, torch.Tensor) and v.is_floating_point()):
                raise TypeError(f"ops.threshold: cannot convert {v!r} to {_ko._dname(x)} (TensorFlow raises "
                                "TypeError)")
    t = threshold if isinstance(threshold, torch.Tensor) else _c(threshold, x)
    d = default_value if isinstance(default_value, torch.Tensor) else _c(default_value, x)
    return torch.where(x > t, x, d)


def sparse_plus(x) -> torch.Tensor:
    """``ops.sparse_plus(x)``: 0 for ``x <= -1``, ``(x + 1)**2 / 4`` for ``-1 < x < 1``, ``x`` from 1."""
    x = _floating(x, "sparse_plus")
    return torch.where(x <= -1, torch.zeros_like(x), torch.where(x < 1, 0.25 * torch.square(x + 1), x))


def sparse_sigmoid(x) -> torch.Tensor:
    """``ops.sparse_sigmoid(x)``: 0 for ``x <= -1``, 1 for ``x >= 1``, ``(x + 1) / 2`` between (gradient 0 at
    +-1)."""
    x = _floating(x, "sparse_sigmoid")
    return torch.where(x <= -1, _c(0.0, x), torch.where(x >= 1, _c(1.0, x), 0.5 * (x + 1)))


def _tf_descending_order(row: list) -> list:
    """The permutation TensorFlow's CPU ``top_k`` with ``k = n`` (``tf.sort(..., "DESCENDING")``) gives a row:
    ``std::sort`` of the indices by ``row[b] < row[a]`` (libstdc++'s introsort; a NaN compares false both ways, so
    it lands where the algorithm leaves it: first in ``[nan, 0.5, 0.2]``, last in ``[0.3, 0.9, nan]``), then each
    run of equal values put in index order."""
    from torch_impl import _stl

    n = len(row)
    order = list(range(n))
    _stl.sort(order, lambda a, b: row[b] < row[a])
    i = 0
    while i + 1 < n:
        j = i + 1
        while j < n and row[order[i]] == row[order[j]]:
            j += 1
        order[i:j] = sorted(order[i:j])
        i = j
    return order


def sparsemax(x, axis=-1) -> torch.Tensor:
    """``ops.sparsemax(x, axis=-1)``: Keras's TensorFlow formula, whose threshold sums the cumulative sums over the
    support (``tau = (sum_{j <= k} cumsum_j - 1) / k``): the output does not sum to 1 once the support has two
    entries (the paper's ``tau`` is ``(cumsum_k - 1) / k``). A row holding NaN sorts as TensorFlow's ``top_k``
    (:func:`_tf_descending_order`): a NaN it leaves first makes every other entry inf, as in Keras."""
    x = _floating(x, "sparsemax")
    order = torch.sort(x, dim=axis, descending=True, stable=True).indices
    nan_rows = torch.isnan(x).any(axis)
    if bool(nan_rows.any()):
        last = order.movedim(axis, -1).clone()
        rows = x.detach().movedim(axis, -1)
        for at in nan_rows.nonzero().tolist():
            last[tuple(at)] = torch.tensor(_tf_descending_order(rows[tuple(at)].tolist()), device=x.device)
        order = last.movedim(-1, axis)
    srt = torch.gather(x, axis, order)
    cums = torch.cumsum(srt, dim=axis)
    n = x.shape[axis]
    r_shape = [1] * x.dim()
    r_shape[axis] = -1
    r = torch.arange(1, n + 1, dtype=x.dtype, device=x.device).reshape(r_shape)
    support = srt - (cums - 1) / r > 0
    cums_safe = torch.where(support, cums, _c(0.0, x))
    k = torch.sum(support.to(x.dtype), dim=axis, keepdim=True)
    tau = (torch.sum(cums_safe, dim=axis, keepdim=True) - 1) / k
    return _K._maximum(x - tau, _c(0.0, x))


def squareplus(x, b=4) -> torch.Tensor:
    """``ops.squareplus(x, b=4)``: ``(x + sqrt(x**2 + b)) / 2``."""
    x = _floating(x, "squareplus")
    b = _ko._t(b, x.dtype) if not isinstance(b, torch.Tensor) else b.to(x.dtype)
    return (x + torch.sqrt(torch.square(x) + b)) / 2


# --------------------------------------------------------------------------------------------------------------
# psnr and the normalizations
# --------------------------------------------------------------------------------------------------------------


def psnr(x1, x2, max_val) -> torch.Tensor:
    """``ops.psnr(x1, x2, max_val)``: ``20 log10(max_val) - 10 log10(mean((x1 - x2)**2))`` over every entry, with
    TensorFlow's ``log(x) / log(10)``; ``max_val`` in ``x2``'s dtype; the shapes must be equal (ValueError).
    Integer images: an integer (truncated) mean, then float32 (int64: floatx), as Keras."""
    x1, x2 = _ko._t(x1), _ko._t(x2)
    if x1.shape != x2.shape:
        raise ValueError(f"Input shapes {tuple(x1.shape)} and {tuple(x2.shape)} must match for PSNR calculation. ")
    if x1.dtype != x2.dtype:
        raise TypeError(f"ops.psnr: x1 is {_ko._dname(x1)}, x2 {_ko._dname(x2)} (TensorFlow raises "
                        "InvalidArgumentError on the subtraction)")
    if x1.dtype == torch.bool:
        raise TypeError("ops.psnr does not take booleans (TensorFlow raises)")
    mv = _ko._t(max_val, x2.dtype) if not isinstance(max_val, torch.Tensor) else max_val.to(x2.dtype)
    sq = torch.square(x1 - x2)
    if x1.is_floating_point():
        mse = torch.mean(sq)
    else:
        mse = torch.div(torch.sum(sq, dtype=sq.dtype), max(sq.numel(), 1), rounding_mode="trunc")
    return 20 * _ko.log10(mv) - 10 * _ko.log10(mse)


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    return _ko._tdt(_ko.result_type(_ko._dname(x), "float32"))


def rms_normalization(x, scale=None, axis=-1, epsilon=None) -> torch.Tensor:
    """``ops.rms_normalization(x, scale=None, axis=-1, epsilon=None)``: ``x * rsqrt(mean(x**2) + epsilon) * scale``
    computed in at least float32 and cast back to ``x``'s dtype; ``epsilon`` defaults to 1e-7 (``F.rms_norm``'s
    default is the dtype's machine epsilon)."""
    eps = _K.epsilon() if epsilon is None else epsilon
    x = _ko._t(x)
    original = x.dtype
    x = x.to(_compute_dtype(x))
    if scale is not None:
        scale = _ko._t(scale).to(x.dtype)
    if isinstance(axis, (tuple, list)):
        axis = sorted(axis)
    if x.dim() == 0:
        x = x.unsqueeze(0)
    dims = _ko._dims(x, axis)
    rrms = torch.rsqrt(torch.mean(torch.square(x), dims, keepdim=True) + eps)
    out = x * rrms
    if scale is not None:
        out = out * scale
    return out.to(original)


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs) -> torch.Tensor:
    """``ops.layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None)``: ``x * inv + (beta - mean *
    inv)`` with ``inv = rsqrt(var + eps) * gamma`` (``tf.nn.moments``: no gradient through the mean inside the
    variance), computed in at least float32 and cast back; ``epsilon`` defaults to 1e-7 (``F.layer_norm``: 1e-5).
    The deprecated ``rms_scaling=True`` is ``x * rsqrt(var + eps) * gamma``, as Keras."""
    rms_scaling = kwargs.pop("rms_scaling", False)
    if kwargs:
        raise TypeError(f"ops.layer_normalization got unexpected keyword arguments {sorted(kwargs)}")
    eps = _K.epsilon() if epsilon is None else epsilon
    x = _ko._t(x)
    original = x.dtype
    x = x.to(_compute_dtype(x))
    if gamma is not None:
        gamma = _ko._t(gamma).to(x.dtype)
    if beta is not None:
        beta = _ko._t(beta).to(x.dtype)
    nd = x.dim()
    axes = sorted([axis] if isinstance(axis, int) else list(axis))
    shape = [1] * nd
    for d in axes:
        shape[d] = x.shape[d]

    def bc(v):
        return v.reshape(shape) if v is not None and v.dim() != nd else v

    if rms_scaling:
        inv = torch.rsqrt(_ko.var(x, axis=tuple(axes), keepdims=True) + eps)
        out = x * inv
        if gamma is not None:
            out = out * bc(gamma)
        return out.to(original)
    mean, variance = _ko.moments(x, axes=tuple(axes), keepdims=True)
    gamma, beta = bc(gamma), bc(beta)
    inv = torch.rsqrt(variance + eps)
    if gamma is not None:
        inv = inv * gamma
    res = -mean * inv
    if beta is not None:
        res = res + beta
    return (x * inv + res).to(original)


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3) -> torch.Tensor:
    """``ops.batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3)``:
    ``tf.nn.batch_normalization``: ``x * inv + (offset - mean * inv)``, ``inv = rsqrt(variance + epsilon) *
    scale`` (the statistics along ``axis`` of ``x``); floating inputs only."""
    x = _floating(x, "batch_normalization")
    mean, variance = _ko._t(mean), _ko._t(variance)
    offset = None if offset is None else _ko._t(offset)
    scale = None if scale is None else _ko._t(scale)
    if axis != -1:
        shape = [1] * x.dim()
        shape[axis] = mean.shape[0]
        mean, variance = mean.reshape(shape), variance.reshape(shape)
        offset = None if offset is None else offset.reshape(shape)
        scale = None if scale is None else scale.reshape(shape)
    inv = torch.rsqrt(variance + epsilon)
    if scale is not None:
        inv = inv * scale
    shift = offset - mean * inv if offset is not None else -mean * inv
    return x * inv.to(x.dtype) + shift.to(x.dtype)


# --------------------------------------------------------------------------------------------------------------
# in_top_k and the segment reductions
# --------------------------------------------------------------------------------------------------------------


def in_top_k(targets, predictions, k) -> torch.Tensor:
    """``ops.in_top_k(targets, predictions, k)``: ``tf.math.in_top_k``: whether fewer than ``k`` classes score
    strictly above the target (ties count in); ``False`` for a row with a non-finite score or an id out of range.
    ``predictions`` must be float32 and ``targets`` int32/int64 (TensorFlow raises otherwise: a float64 tensor of
    scores too; NumPy scores are converted to float32 as TensorFlow converts them)."""
    given_tensor = isinstance(predictions, torch.Tensor)
    targets, predictions = _ko._t(targets), _ko._t(predictions)
    if not given_tensor and predictions.is_floating_point():  # NumPy/lists: converted to the op's float32, as TF
        predictions = predictions.to(torch.float32)
    if predictions.dtype != torch.float32:
        raise TypeError(f"ops.in_top_k: predictions must be float32, got {_ko._dname(predictions)} (TensorFlow's "
                        "InTopKV2 raises InvalidArgumentError)")
    if targets.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"ops.in_top_k: targets must be int32 or int64, got {_ko._dname(targets)} (TensorFlow "
                        "raises InvalidArgumentError)")
    if predictions.dim() > 2 and tuple(targets.shape) == tuple(predictions.shape[:-1]):
        # keras-team/keras#23232 (after 3.15.1, followed): more leading axes are flattened into the batch (3.15.1
        # raises: TensorFlow's in_top_k takes 2-D predictions only)
        out = _K.in_top_k(predictions.reshape(-1, predictions.shape[-1]), targets.reshape(-1), int(k))
        return out.reshape(targets.shape)
    if predictions.dim() != 2 or targets.dim() != 1 or targets.shape[0] != predictions.shape[0]:
        raise ValueError(f"ops.in_top_k: predictions must be (..., classes) and targets of their leading shape; "
                         f"got {tuple(predictions.shape)} and {tuple(targets.shape)}")
    return _K.in_top_k(predictions, targets, int(k))


def _segment_prep(data, segment_ids, num_segments, sorted_, name):
    data, ids = _ko._t(data), _ko._t(segment_ids)
    if ids.dim() > 1:
        raise ValueError(f"Argument `segment_ids` should be an 1-D vector, got shape: {ids.dim()}. Consider either "
                         "flatten input with segment_ids.reshape((-1)) and data.reshape((-1, ) + "
                         "data.shape[len(segment_ids.shape):]) or vectorize with vmap.")
    if ids.shape[0] != data.shape[0]:
        raise ValueError(f"Argument `segment_ids` and `data` should have same leading dimension. Got "
                         f"{tuple(ids.shape)} v.s. {tuple(data.shape)}.")
    if sorted_ and num_segments is not None:
        raise ValueError("Argument `num_segments` cannot be set when sorted is True when using the tensorflow "
                         f"backend.Received: num_segments={num_segments}, sorted={sorted_}.")
    if data.dtype == torch.bool:
        raise TypeError(f"ops.{name} does not take booleans (TensorFlow raises)")
    ids = ids.to(torch.int64).to(data.device)
    if sorted_:
        if ids.numel() and (bool((ids[1:] < ids[:-1]).any()) or int(ids.min()) < 0):
            raise ValueError(f"ops.{name}(sorted=True): segment ids must be sorted and non-negative (TensorFlow "
                             "raises InvalidArgumentError)")
        n = int(ids.max()) + 1 if ids.numel() else 0
    else:
        n = int(num_segments) if num_segments is not None else (int(ids.max()) + 1 if ids.numel() else 0)
        if ids.numel() and int(ids.max()) >= n:
            raise ValueError(f"segment_ids {int(ids.max())} is out of range [0, {n}) (TensorFlow raises "
                             "InvalidArgumentError)")
    return data, ids, n


def _empty_value(dtype: torch.dtype, reduce: str, sorted_: bool):
    if reduce == "prod":
        return 1
    if sorted_:
        return 0
    info = torch.finfo(dtype) if dtype.is_floating_point else torch.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


class _SegmentReduce(torch.autograd.Function):
    """Segment max/min/prod over axis 0 with TensorFlow's gradients (``_UnsortedSegmentMinOrMaxGrad``: a tie
    splits the gradient evenly; ``_UnsortedSegmentProdGrad``: at a zero entry the product of the others, 0 where a
    segment holds two zeros). Negative ids are dropped."""

    @staticmethod
    def forward(ctx, data, ids, n, reduce, fill):
        keep = ids >= 0
        idx = ids.clamp_min(0)
        out = torch.full((n, *data.shape[1:]), fill, dtype=data.dtype, device=data.device)
        index = idx[keep].reshape(-1, *[1] * (data.dim() - 1)).expand(-1, *data.shape[1:])
        if reduce != "prod" and data.is_floating_point() and bool(torch.isnan(data[keep]).any()):
            out = _SegmentReduce._nan_fold(data[keep], index, out, reduce)
        elif index.numel():
            out = out.scatter_reduce(0, index, data[keep], reduce, include_self=False)
        ctx.reduce, ctx.n = reduce, n
        ctx.save_for_backward(data, ids, out)
        return out

    @staticmethod
    def _nan_fold(data, index, out, reduce):
        """TensorFlow's segment max/min kernels fold ``out = out if out > x else x`` in data order: a NaN replaces
        the running value and is replaced by the next entry, so a segment is the max (min) of the entries after its
        last NaN, or NaN if a NaN comes last."""
        pos = torch.arange(data.shape[0], device=data.device).reshape(-1, *[1] * (data.dim() - 1)).expand(data.shape)
        minus = torch.full(out.shape, -1, dtype=torch.long, device=data.device)
        last_nan = minus.scatter_reduce(0, index, torch.where(torch.isnan(data), pos, -1), "amax", include_self=True)
        last = minus.scatter_reduce(0, index, pos, "amax", include_self=True)
        after = pos > last_nan.gather(0, index)
        info = torch.finfo(data.dtype)
        neutral = torch.full_like(out, info.min if reduce == "amax" else info.max)
        folded = neutral.scatter_reduce(0, index, torch.where(after, data, neutral.gather(0, index)), reduce,
                                        include_self=True)
        folded = torch.where(last >= 0, folded, out)  # an empty segment keeps its value (sorted: 0)
        return torch.where((last_nan == last) & (last >= 0), torch.full_like(out, math.nan), folded)

    @staticmethod
    def backward(ctx, grad):
        data, ids, out = ctx.saved_tensors
        keep = (ids >= 0).reshape(-1, *[1] * (data.dim() - 1))
        idx = ids.clamp_min(0)
        n = ctx.n

        def seg_sum(v):
            z = torch.zeros((n, *v.shape[1:]), dtype=v.dtype, device=v.device)
            k = ids >= 0
            return z.index_add(0, idx[k], v[k])

        g_at = grad[idx]
        if ctx.reduce in ("amax", "amin"):
            sel = (data == out[idx]) & keep
            count = seg_sum(sel.to(grad.dtype))
            return torch.where(sel, (grad / count)[idx], torch.zeros_like(g_at)), None, None, None, None
        is_zero = data == 0
        num_zeros = seg_sum(is_zero.to(torch.int32))
        grad = torch.where(num_zeros > 1, torch.zeros_like(grad), grad)
        nz = torch.where(is_zero, torch.ones_like(data), data)
        nz_prod = _SegmentReduce.forward(_Ctx(), nz, ids, n, "prod", 1)
        partial = torch.where(is_zero, nz_prod[idx], out[idx] / data)
        g_at = torch.where(keep, grad[idx], torch.zeros_like(g_at))
        return g_at * partial, None, None, None, None


class _Ctx:
    def save_for_backward(self, *a):
        pass


def _segment(data, segment_ids, num_segments, sorted_, reduce, name):
    data, ids, n = _segment_prep(data, segment_ids, num_segments, sorted_, name)
    return _SegmentReduce.apply(data, ids, n, reduce, _empty_value(data.dtype, reduce, sorted_))


def segment_max(data, segment_ids, num_segments=None, sorted=False) -> torch.Tensor:  # noqa: A002 - Keras's name
    """``ops.segment_max(data, segment_ids, num_segments=None, sorted=False)``: the maximum of the rows of ``data``
    per id; an empty segment is the dtype's lowest finite value (``sorted=True``: 0); ``num_segments`` defaults to
    ``max(segment_ids) + 1``; a tie splits the gradient evenly."""
    return _segment(data, segment_ids, num_segments, sorted, "amax", "segment_max")


def segment_min(data, segment_ids, num_segments=None, sorted=False) -> torch.Tensor:  # noqa: A002 - Keras's name
    """``ops.segment_min(...)``: as :func:`segment_max`, the minimum (empty: the dtype's largest finite value;
    ``sorted=True``: 0)."""
    return _segment(data, segment_ids, num_segments, sorted, "amin", "segment_min")


def segment_prod(data, segment_ids, num_segments=None, sorted=False) -> torch.Tensor:  # noqa: A002 - Keras's name
    """``ops.segment_prod(...)``: the product per id (empty: 1); gradient at a zero entry the product of the
    others, 0 where a segment has two zeros (TensorFlow's)."""
    return _segment(data, segment_ids, num_segments, sorted, "prod", "segment_prod")


# --------------------------------------------------------------------------------------------------------------
# convolutions and pooling (TensorFlow's 'same' padding: the odd pad at the end)
# --------------------------------------------------------------------------------------------------------------


def _conv_nd(x: torch.Tensor, kernel: torch.Tensor, strides, padding: str, data_format, dilation_rate,
             depthwise: bool) -> torch.Tensor:
    data_format = _K._data_format(data_format)
    padding = _K._padding_mode(str(padding).lower())
    nd = x.dim() - 2
    if nd not in (1, 2, 3) or kernel.dim() != nd + 2:
        raise ValueError(f"Expected a rank 3 to 5 input and a kernel of the same rank, got {tuple(x.shape)} and "
                         f"{tuple(kernel.shape)}")
    if x.dtype != kernel.dtype:
        raise TypeError(f"The input ({_ko._dname(x)}) and the kernel ({_ko._dname(kernel)}) must have one dtype "
                        "(TensorFlow raises)")
    if x.dtype not in _FLOATS and not (x.dtype == torch.int32 and not depthwise):
        raise TypeError(f"The convolutions take floating (or int32) inputs; got {_ko._dname(x)}")
    if x.dtype == torch.int32:  # TensorFlow's int32 Conv: computed here in float64, exact below 2**53
        return _conv_nd(x.double(), kernel.double(), strides, padding, data_format, dilation_rate, depthwise).to(
            torch.int32)
    strides = _K._tuple(strides, nd, "strides")
    dilation = _K._tuple(dilation_rate, nd, "dilation_rate")
    xc = _K._to_channels_first(x, data_format)
    channels = xc.shape[1]
    if depthwise:  # (*k, in, mult) -> (in * mult, 1, *k)
        if kernel.shape[nd] != channels:
            raise ValueError(f"The depthwise kernel's input channels ({kernel.shape[nd]}) differ from the input's "
                             f"({channels})")
        weight, groups = kernel.reshape(*kernel.shape[:nd], 1, -1).permute(nd + 1, nd, *range(nd)), channels
    else:
        k_in = kernel.shape[nd]
        if channels % k_in != 0:
            raise ValueError(f"The number of input channels ({channels}) must be a multiple of the kernel's input "
                             f"channels ({k_in})")
        weight, groups = kernel.permute(nd + 1, nd, *range(nd)), channels // k_in
    if padding == "same":
        xc = F.pad(xc, _K._torch_pad(_K._same_pads(xc.shape[2:], kernel.shape[:nd], strides, dilation)))
    for n, k, d in zip(xc.shape[2:], kernel.shape[:nd], dilation):
        if n < (k - 1) * d + 1 and x.numel():
            raise ValueError("The convolution operation resulted in an empty output. This can happen if the input is "
                             "too small for the given kernel size, strides, dilation rate, and padding mode.")
    out = (F.conv1d, F.conv2d, F.conv3d)[nd - 1](xc, weight.contiguous(), stride=strides, dilation=dilation,
                                                 groups=groups)
    return _K._from_channels_first(out, data_format)


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1) -> torch.Tensor:
    """``ops.conv(inputs, kernel, strides=1, padding='valid', data_format=None, dilation_rate=1)``: 1-3 spatial
    axes, kernel ``(*spatial, in / groups, out)`` (fewer kernel input channels than the input's: a grouped
    convolution); TensorFlow's ``'same'`` padding (the odd pad at the end, also with strides)."""
    return _conv_nd(_ko._t(inputs), _ko._t(kernel), strides, padding, data_format, dilation_rate, False)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1) -> torch.Tensor:
    """``ops.depthwise_conv(...)``: kernel ``(*spatial, in, multiplier)``, output channel ``c * multiplier + m``
    (1 or 2 spatial axes)."""
    x = _ko._t(inputs)
    if x.dim() not in (3, 4):
        raise ValueError(f"ops.depthwise_conv takes a rank 3 or 4 input, got {tuple(x.shape)}")
    return _conv_nd(x, _ko._t(kernel), strides, padding, data_format, dilation_rate, True)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1) -> torch.Tensor:
    """``ops.separable_conv(...)``: the depthwise convolution (strides, padding, dilation), then the pointwise
    ``1 x 1`` kernel ``(*1, in * multiplier, out)``."""
    dw = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return _conv_nd(dw, _ko._t(pointwise_kernel), 1, "valid", data_format, 1, False)


class _TfMaxWindows(torch.autograd.Function):
    """TensorFlow's CPU ``MaxPool`` over given windows of the flattened spatial axes (``idx``, ``(O, K)``, the
    window's entries in row-major order; ``valid`` False for padding): the value folds ``acc = x if x > acc`` from
    the dtype's lowest finite value (a NaN never wins; a window of NaN and -inf gives the lowest finite value), and
    ``MaxPoolGrad`` sends the gradient to the window's first entry unless a later one is strictly greater (a NaN
    first entry keeps it)."""

    @staticmethod
    def forward(ctx, xc, idx, valid, out_shape):
        n, c = xc.shape[:2]
        xf = xc.reshape(n, c, -1)
        vals = xf[:, :, idx]  # (N, C, O, K)
        lowest = torch.finfo(xc.dtype).min
        ok = valid & ~torch.isnan(vals)
        out = torch.where(ok, vals, torch.full_like(vals, lowest)).amax(-1).clamp_min(lowest)
        first = valid.to(torch.int8).argmax(-1)  # (O,)
        v_first = vals.gather(-1, first.expand(n, c, -1).unsqueeze(-1)).squeeze(-1)
        key = torch.where(ok, vals, torch.full_like(vals, -math.inf))
        best = key.argmax(-1)  # first occurrence of the maximum
        chosen = torch.where(torch.isnan(v_first) | (key.amax(-1) == -math.inf), first.expand(n, c, -1), best)
        ctx.save_for_backward(torch.gather(idx.expand(n, c, *idx.shape), -1, chosen.unsqueeze(-1)).squeeze(-1))
        ctx.in_shape = xc.shape
        return out.reshape(n, c, *out_shape)

    @staticmethod
    def backward(ctx, grad):
        (pos,) = ctx.saved_tensors
        n, c = ctx.in_shape[:2]
        g = torch.zeros(n, c, math.prod(ctx.in_shape[2:]), dtype=grad.dtype, device=grad.device)
        g.scatter_add_(-1, pos, grad.reshape(n, c, -1))
        return g.reshape(ctx.in_shape), None, None, None


def _windows(axes: list, sizes) -> tuple:
    """Per-axis ``(idx (o, k), valid (o, k))`` windows into spatial axes of ``sizes``: the flattened ``(O, K)``
    indices (outputs and window entries both row-major) and validity."""
    strides = [math.prod(sizes[i + 1:]) for i in range(len(sizes))]
    nd = len(axes)
    flat, ok = 0, True
    for i, ((idx, val), st) in enumerate(zip(axes, strides)):
        shape = [1] * (2 * nd)
        shape[i], shape[nd + i] = idx.shape
        flat = flat + (idx.clamp(0, sizes[i] - 1) * st).reshape(shape)
        ok = ok & val.reshape(shape)
    o = math.prod(a[0].shape[0] for a in axes)
    return flat.reshape(o, -1), ok.reshape(o, -1)


def _pool(inputs, pool_size, strides, padding, data_format, mode):
    x = _ko._t(inputs)
    nd = x.dim() - 2
    if nd not in (1, 2, 3):
        raise ValueError(f"Pooling takes a rank 3 to 5 input, got {tuple(x.shape)}")
    if mode == "avg" and x.dtype not in _FLOATS:
        raise TypeError(f"ops.average_pool takes floating inputs; got {_ko._dname(x)} (TensorFlow raises)")
    strides = pool_size if strides is None else strides
    padding = str(padding).lower()
    if mode == "max" and x.dtype not in _FLOATS:
        if x.dtype == torch.bool:
            raise TypeError("ops.max_pool does not take booleans (TensorFlow raises)")
        # TensorFlow max-pools integers; torch has no integer kernel: through float64 (exact below 2**53)
        return _K._pool(x.double(), pool_size, strides, padding, data_format, mode, nd).to(x.dtype)
    return _K._pool(x, pool_size, strides, padding, data_format, mode, nd)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None) -> torch.Tensor:
    """``ops.max_pool(inputs, pool_size, strides=None, padding='valid', data_format=None)``: ``strides`` default to
    ``pool_size``; TensorFlow's ``'same'`` padding never wins a max."""
    return _pool(inputs, pool_size, strides, padding, data_format, "max")


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None) -> torch.Tensor:
    """``ops.average_pool(...)``: TensorFlow's ``'same'`` padding is left out of each window's count
    (``F.avg_pool2d``'s ``count_include_pad=True`` default counts it)."""
    return _pool(inputs, pool_size, strides, padding, data_format, "avg")


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None, data_format=None,
                   dilation_rate=1) -> torch.Tensor:
    """``ops.conv_transpose(inputs, kernel, strides=1, padding='valid', output_padding=None, data_format=None,
    dilation_rate=1)``: the gradient of a TensorFlow convolution, kernel ``(*spatial, out, in)``; the output size
    per axis is Keras's: ``'valid'``: ``(n - 1) s + k + (output_padding or max(k, s) - k)``, ``'same'``: ``n s``
    (with ``output_padding``: ``(n - 1) s + k % 2 + output_padding``), with ``k`` the dilated kernel size;
    TensorFlow's ``'same'`` crop (the odd row at the end)."""
    data_format = _K._data_format(data_format)
    padding = str(padding).lower()
    if padding not in ("valid", "same"):
        raise ValueError(f"The `padding` argument must be one of 'valid', 'same'. Received: padding={padding}")
    x, kernel = _ko._t(inputs), _ko._t(kernel)
    nd = x.dim() - 2
    if nd not in (1, 2, 3) or kernel.dim() != nd + 2:
        raise ValueError(f"Expected a rank 3 to 5 input and a kernel of the same rank, got {tuple(x.shape)} and "
                         f"{tuple(kernel.shape)}")
    channels = x.shape[-1] if data_format == "channels_last" else x.shape[1]
    if channels != kernel.shape[-1]:
        raise ValueError("The number of input channels must match the kernel's input channels. Received: input "
                         f"channels={channels}, kernel input channels={kernel.shape[-1]}, "
                         f"data_format='{data_format}'.")
    if x.dtype != kernel.dtype or x.dtype not in (*_FLOATS, torch.int32):
        raise TypeError(f"ops.conv_transpose takes floating (or int32) inputs of one dtype; got {_ko._dname(x)} "
                        f"and {_ko._dname(kernel)}")
    if x.dtype == torch.int32:  # TensorFlow's int32 kernel: computed here in float64, exact below 2**53
        return conv_transpose(x.double(), kernel.double(), strides, padding, output_padding, data_format,
                              dilation_rate).to(torch.int32)
    strides = _K._tuple(strides, nd, "strides")
    dilation = _K._tuple(dilation_rate, nd, "dilation_rate")
    out_pad = (None,) * nd if output_padding is None else _K._tuple(output_padding, nd, "output_padding")
    xc = _K._to_channels_first(x, data_format)
    sizes, crops = [], []
    for n_in, k, s, d, op in zip(xc.shape[2:], kernel.shape[:nd], strides, dilation, out_pad):
        k_eff = (k - 1) * d + 1
        if padding == "valid":
            n_out = (n_in - 1) * s + k_eff + (max(k_eff, s) - k_eff if op is None else op)
            expected = (n_out - k_eff) // s + 1
        else:
            n_out = n_in * s if op is None else (n_in - 1) * s + k_eff % 2 + op
            expected = -(-n_out // s)
        if expected != n_in or n_out <= 0:
            raise ValueError(f"ops.conv_transpose: an output of size {n_out} does not convolve back to {n_in} "
                             f"(TensorFlow raises InvalidArgumentError)")
        before = max((n_in - 1) * s + k_eff - n_out, 0) // 2 if padding == "same" else 0
        sizes.append(n_out)
        crops.append(before)
    weight = kernel.permute(nd + 1, nd, *range(nd)).contiguous()  # (in, out, *k)
    full = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[nd - 1](xc, weight, stride=strides,
                                                                               dilation=dilation)
    short = [max(b + n - full.shape[2 + i], 0) for i, (b, n) in enumerate(zip(crops, sizes))]
    if any(short):
        full = F.pad(full, [v for sh in reversed(short) for v in (0, sh)])
    out = full[(slice(None), slice(None), *[slice(b, b + n) for b, n in zip(crops, sizes)])]
    return _K._from_channels_first(out, data_format)


def _adaptive(inputs, output_size, data_format, mode):
    data_format = _K._data_format(data_format)
    x = _ko._t(inputs)
    nd = x.dim() - 2
    if nd not in (1, 2, 3):
        raise ValueError(f"adaptive_{mode}_pool supports 1D, 2D, or 3D inputs only.")
    size = (output_size,) * nd if isinstance(output_size, int) else tuple(output_size)
    if mode == "max" and x.dtype not in _FLOATS:
        if x.dtype == torch.bool:
            raise TypeError("ops.adaptive_max_pool does not take booleans (TensorFlow raises)")
        # TensorFlow max-pools integers; torch has no integer kernel: through float64 (exact below 2**53)
        return _adaptive(x.double(), output_size, data_format, mode).to(x.dtype)
    xc = _K._to_channels_first(x, data_format)
    for n, o in zip(xc.shape[2:], size):
        # Keras's windows: start floor(i n / o), end ceil((i + 1) n / o) (in float32); torch's are the same, in
        # integers: equal while the float32 products are exact
        if n * o >= 2 ** 24:
            raise NotImplementedError("adaptive pooling of sizes whose product reaches 2**24 is not ported")
    if mode == "average":
        fn = (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d)[nd - 1]
        return _K._from_channels_first(fn(xc, size), data_format)
    # TensorFlow: a max pool along each axis in turn (Keras's "two-pool gather"), each with MaxPool's NaN rule
    out = xc
    for axis, o in enumerate(size):
        sizes = tuple(out.shape[2:])
        n = sizes[axis]
        start = torch.floor(torch.arange(o, dtype=torch.float32) * n / o).long().clamp_max(n - 1)
        end = torch.ceil(torch.arange(1, o + 1, dtype=torch.float32) * n / o).long().clamp_max(n)
        small = -(-n // o)
        length = torch.where(end - start == small + 1, small + 1, small)
        k = torch.arange(small + 1).reshape(1, -1)
        idx = start.reshape(-1, 1) + k
        axes = [(torch.arange(m).reshape(-1, 1), torch.ones(m, 1, dtype=torch.bool)) for m in sizes]
        axes[axis] = (idx, (k < length.reshape(-1, 1)) & (idx < n))
        flat, valid = _windows(axes, sizes)
        out_shape = tuple(a[0].shape[0] for a in axes)
        out = _TfMaxWindows.apply(out, flat.to(xc.device), valid.to(xc.device), out_shape)
    return _K._from_channels_first(out, data_format)


def adaptive_average_pool(inputs, output_size, data_format=None) -> torch.Tensor:
    """``ops.adaptive_average_pool(inputs, output_size, data_format=None)``: window ``i`` of ``n`` entries into
    ``o`` spans ``[floor(i n / o), ceil((i + 1) n / o))`` (torch's windows)."""
    return _adaptive(inputs, output_size, data_format, "average")


def adaptive_max_pool(inputs, output_size, data_format=None) -> torch.Tensor:
    """``ops.adaptive_max_pool(inputs, output_size, data_format=None)``: the windows of
    :func:`adaptive_average_pool`."""
    return _adaptive(inputs, output_size, data_format, "max")


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None) -> torch.Tensor:
    """``ops.dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
    flash_attention=None, attn_logits_soft_cap=None)``: inputs ``(B, T, N, H)``; ``softmax(q k^T * scale + bias)``
    with masked logits set to ``-0.7 * 3.38953e38`` (a fully masked row is uniform, not NaN), the softmax in at
    least float32. ``scale`` defaults to ``1 / sqrt(H)`` computed in float32, and any ``scale`` is rounded to
    float32 (``tf.cast`` of a Python float) even in float64; ``mask`` is True where a query may attend; grouped
    key/value heads are repeated. ``flash_attention=True`` and a soft cap raise (TensorFlow backend)."""
    if attn_logits_soft_cap is not None:
        raise ValueError("attn_logits_soft_cap is only supported for JAX on TPU. Set attn_logits_soft_cap=None when "
                         "not using JAX on TPU.")
    if flash_attention:
        raise ValueError("Flash attention is not supported in tensorflow backend.")
    q, k, v = _ko._t(query), _ko._t(key), _ko._t(value)
    if q.dim() != 4:
        raise ValueError(f"`dot_product_attention` only supports 4D inputs. Received: query.shape={tuple(q.shape)}, "
                         f"key.shape={tuple(k.shape)}, value.shape={tuple(v.shape)}.")
    dt = _ko._tdt(_ko.result_type(_ko._dname(q), _ko._dname(k), _ko._dname(v)))
    if dt in (torch.int8, torch.uint8, torch.int16, torch.uint16):
        raise TypeError(f"ops.dot_product_attention: TensorFlow has no {dt} einsum (it raises NotFoundError)")
    q, k, v = q.to(dt), k.to(dt), v.to(dt)
    nq, nk = q.shape[2], k.shape[2]
    if nq > nk > 1:
        k, v = k.repeat_interleave(nq // nk, dim=2), v.repeat_interleave(nq // nk, dim=2)
    if bias is not None:
        bias = _ko._t(bias).to(dt)
    if scale is None:
        scale = 1.0 / torch.sqrt(torch.tensor(float(k.shape[-1]), dtype=torch.float32))
    scale = torch.as_tensor(scale).to(torch.float32) if not isinstance(scale, torch.Tensor) else scale
    logits_dt = _ko._tdt(_ko.result_type(_ko._dname(q), "float32"))
    logits = torch.einsum("btnh,bsnh->bnts", q, k).to(logits_dt)
    logits = logits * scale.to(logits_dt).to(logits.device)
    if bias is not None:
        logits = logits + bias.to(logits_dt)
    if mask is not None or is_causal:
        keep = torch.ones(logits.shape, dtype=torch.bool, device=logits.device)
        if mask is not None:
            keep = keep & _ko._t(mask).to(torch.bool).to(logits.device)
        if is_causal:
            t, s_ = logits.shape[2], logits.shape[3]
            keep = keep & torch.ones(t, s_, dtype=torch.bool, device=logits.device).tril()
        neg = torch.tensor(65500.0 * -0.7 if logits.dtype == torch.float16 else 3.38953e38 * -0.7,
                           dtype=torch.float64).to(logits.dtype)
        logits = torch.where(keep, logits, neg.to(logits.device))
    probs_dt = _ko._tdt(_ko.result_type(_ko._dname(logits), "float32"))
    probs = torch.softmax(logits.to(probs_dt), dim=-1).to(k.dtype)
    return torch.einsum("bnts,bsnh->btnh", probs, v)


def _block(block_size) -> int:
    b = int(block_size)
    if b < 2:
        raise ValueError(f"Value for attr 'block_size' of {b} must be at least minimum 2 (TensorFlow raises)")
    return b


def depth_to_space(x, block_size, data_format="channels_last") -> torch.Tensor:
    """``ops.depth_to_space(x, block_size, data_format='channels_last')``: ``tf.nn.depth_to_space``: channel
    ``(i * b + j) * C' + c`` goes to offset ``(i, j)`` of the block (``F.pixel_shuffle`` orders ``(c, i, j)``)."""
    x = _ko._t(x)
    b = _block(block_size)
    if x.dim() != 4:
        raise ValueError(f"ops.depth_to_space takes a rank 4 input, got {tuple(x.shape)}")
    if data_format == "channels_first":
        x = x.permute(0, 2, 3, 1)
    n, h, w, c = x.shape
    if c % (b * b):
        raise ValueError(f"Dimension size must be evenly divisible by {b * b} but is {c}")
    y = x.reshape(n, h, w, b, b, c // (b * b)).permute(0, 1, 3, 2, 4, 5).reshape(n, h * b, w * b, c // (b * b))
    return y.permute(0, 3, 1, 2) if data_format == "channels_first" else y


def space_to_depth(x, block_size, data_format="channels_last") -> torch.Tensor:
    """``ops.space_to_depth(x, block_size, data_format='channels_last')``: the inverse of :func:`depth_to_space`
    (``tf.nn.space_to_depth``'s channel order)."""
    x = _ko._t(x)
    b = _block(block_size)
    if x.dim() != 4:
        raise ValueError(f"ops.space_to_depth takes a rank 4 input, got {tuple(x.shape)}")
    if data_format == "channels_first":
        x = x.permute(0, 2, 3, 1)
    n, h, w, c = x.shape
    if h % b or w % b:
        raise ValueError(f"Image width {w} and height {h} should be divisible by block_size: {b}")
    y = x.reshape(n, h // b, b, w // b, b, c).permute(0, 1, 3, 2, 4, 5).reshape(n, h // b, w // b, b * b * c)
    return y.permute(0, 3, 1, 2) if data_format == "channels_first" else y


# --------------------------------------------------------------------------------------------------------------
# keras.ops.image
# --------------------------------------------------------------------------------------------------------------


def _image_data_format(data_format) -> str:
    return _K._data_format(data_format)


def _gaussian_kernel(size: int, sigma: float, dtype: torch.dtype, device) -> torch.Tensor:
    x = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2.0
    g = torch.exp(-(x * x) / (2.0 * sigma ** 2))
    g = g / torch.sum(g)
    return torch.outer(g, g)


def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
         data_format=None) -> torch.Tensor:
    """``ops.image.ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
    data_format=None)``: Keras's SSIM (a normalised ``filter_size``-square Gaussian window, ``'valid'``
    convolutions, ``sigma = E[xy] - mu mu``, the mean over the map, then over the channels): one value per image
    (a scalar for a 3-D input), in ``image1``'s dtype (integer images: truncated)."""
    data_format = _image_data_format(data_format)
    image1, image2 = _ko._t(image1), _ko._t(image2)
    original = image1.dtype
    compute = _ko._tdt(_ko.result_type(_ko._dname(image1), float))
    image1, image2 = image1.to(compute), image2.to(compute)
    for i, im in enumerate((image1, image2), 1):
        if im.dim() not in (3, 4):
            raise ValueError(f"Invalid image{i} rank: expected rank 3 (single image) or rank 4 (batch of images). "
                             f"Received input with shape: image{i}.shape={tuple(im.shape)}")
    unbatched = image1.dim() == 3
    if unbatched:
        image1, image2 = image1.unsqueeze(0), image2.unsqueeze(0)
    if data_format == "channels_last":
        image1, image2 = image1.movedim(-1, 1), image2.movedim(-1, 1)
    b, c, h, w = image1.shape
    if h < filter_size or w < filter_size:
        raise ValueError("The convolution operation resulted in an empty output. This can happen if the input is "
                         "too small for the given kernel size, strides, dilation rate, and padding mode.")
    kernel = _gaussian_kernel(int(filter_size), filter_sigma, compute, image1.device).reshape(
        1, 1, filter_size, filter_size)
    c1 = (k1 * max_val) ** 2
    c2 = (k2 * max_val) ** 2
    a = image1.reshape(-1, 1, h, w)
    bb = image2.reshape(-1, 1, h, w)

    def filt(v):
        return F.conv2d(v, kernel)

    mu1, mu2 = filt(a), filt(bb)
    mu1_sq, mu2_sq, mu1_mu2 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    s1 = filt(a * a) - mu1_sq
    s2 = filt(bb * bb) - mu2_sq
    s12 = filt(a * bb) - mu1_mu2
    num = (2.0 * mu1_mu2 + c1) * (2.0 * s12 + c2)
    den = (mu1_sq + mu2_sq + c1) * (s1 + s2 + c2)
    val = torch.mean(num / den, dim=(1, 2, 3)).reshape(b, c).mean(-1)
    if unbatched:
        val = val.squeeze(0)
    return val.to(original)


def rgb_to_grayscale(images, data_format=None) -> torch.Tensor:
    """``ops.image.rgb_to_grayscale(images, data_format=None)``: ``0.2989 R + 0.5870 G + 0.1140 B`` (the weights in
    the compute dtype), in the input's dtype (integers: truncated); one channel: the input as it is."""
    data_format = _image_data_format(data_format)
    images = _ko._t(images)
    axis = -1 if data_format == "channels_last" else -3
    if images.dim() not in (3, 4):
        raise ValueError("Invalid images rank: expected rank 3 (single image) or rank 4 (batch of images). Received "
                         f"input with shape: images.shape={tuple(images.shape)}")
    if images.shape[axis] not in (1, 3):
        raise ValueError("Invalid channel size: expected 3 (RGB) or 1 (Grayscale). Received input with shape: "
                         f"images.shape={tuple(images.shape)}")
    if images.shape[axis] == 1:
        return images
    original = images.dtype
    x = images.to(_ko._tdt(_ko.result_type(_ko._dname(images), float)))
    wts = torch.tensor([0.2989, 0.5870, 0.1140], dtype=torch.float64).to(x.dtype).to(x.device)
    y = torch.tensordot(x.movedim(axis, -1), wts, dims=([-1], [0]))
    return y.unsqueeze(axis).to(original)


def _f32(v) -> torch.Tensor:
    return torch.tensor(v, dtype=torch.float32)


def _bilinear_axis(n_in: int, n_out: int):
    """TensorFlow's ``compute_interpolation_weights`` (half-pixel centres), in float32: lower and upper source
    indices and the lerp of each output index."""
    scale = _f32(n_in) / _f32(n_out)
    pos = (torch.arange(n_out, dtype=torch.float32) + 0.5) * scale - 0.5
    fl = torch.floor(pos)
    lower = fl.long().clamp_min(0)
    upper = torch.ceil(pos).long().clamp_max(n_in - 1)
    return lower, upper, pos - fl


class _TfResizeBilinear(torch.autograd.Function):
    """``ResizeBilinear(half_pixel_centers=True)`` on NHWC: the input read as float32, ``top + (bottom - top) *
    y_lerp`` of the row lerps, a float32 output; ``ResizeBilinearGrad``: ``T(g * (1 - y_lerp) * (1 - x_lerp))``...
    in float32, accumulated in the input's dtype (float for half types)."""

    @staticmethod
    def forward(ctx, x, out_h, out_w):
        n, h, w, c = x.shape
        ylo, yhi, yl = (t.to(x.device) for t in _bilinear_axis(h, out_h))
        xlo, xhi, xl = (t.to(x.device) for t in _bilinear_axis(w, out_w))
        ctx.save_for_backward(ylo, yhi, yl, xlo, xhi, xl)
        ctx.in_shape, ctx.in_dtype = (n, h, w, c), x.dtype
        x32 = x.to(torch.float32)
        if (out_h, out_w) == (h, w):
            return x32.clone()
        top_rows, bottom_rows = x32[:, ylo], x32[:, yhi]
        tl, tr = top_rows[:, :, xlo], top_rows[:, :, xhi]
        bl, br = bottom_rows[:, :, xlo], bottom_rows[:, :, xhi]
        xl_, yl_ = xl.reshape(1, 1, -1, 1), yl.reshape(1, -1, 1, 1)
        top = tl + (tr - tl) * xl_
        bottom = bl + (br - bl) * xl_
        return top + (bottom - top) * yl_

    @staticmethod
    def backward(ctx, g):
        ylo, yhi, yl, xlo, xhi, xl = ctx.saved_tensors
        n, h, w, c = ctx.in_shape
        acc_dt = torch.float32 if ctx.in_dtype in (torch.float16, torch.bfloat16) else ctx.in_dtype
        g = g.to(torch.float32)
        iy, ix = (1.0 - yl).reshape(1, -1, 1, 1), (1.0 - xl).reshape(1, 1, -1, 1)
        yl_, xl_ = yl.reshape(1, -1, 1, 1), xl.reshape(1, 1, -1, 1)
        out = torch.zeros(n, h * w, c, dtype=acc_dt, device=g.device)
        oh, ow = g.shape[1], g.shape[2]
        for ys, wy in ((ylo, iy), (yhi, yl_)):
            for xs, wx in ((xlo, ix), (xhi, xl_)):
                term = (g * wy * wx).to(acc_dt).reshape(n, oh * ow, c)
                flat = (ys.reshape(-1, 1) * w + xs.reshape(1, -1)).reshape(-1)
                out.index_add_(1, flat, term)
        return out.reshape(n, h, w, c).to(ctx.in_dtype), None, None


def _nearest_axis(n_in: int, n_out: int) -> torch.Tensor:
    """``ResizeNearestNeighbor(half_pixel_centers=True)``: ``max(min(floor((i + 0.5) * scale), n - 1), 0)`` in
    float32."""
    scale = _f32(n_in) / _f32(n_out)
    return torch.floor((torch.arange(n_out, dtype=torch.float32) + 0.5) * scale).long().clamp(0, n_in - 1)


def _saturate_cast(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``keras.ops.saturate_cast``: clip to the range both dtypes hold (as ``x``'s dtype, nudged toward 0 where
    rounding overshoots), then cast: a float32 ``inf`` cast to float64 becomes ``3.4028234663852886e38``."""

    def bounds(dt):
        info = torch.finfo(dt) if dt.is_floating_point else torch.iinfo(dt)
        return float(info.min), float(info.max)

    (in_min, in_max), (out_min, out_max) = bounds(x.dtype), bounds(dtype)
    zero = torch.zeros((), dtype=x.dtype)
    lo = torch.tensor(max(in_min, out_min), dtype=x.dtype)
    if float(lo) < out_min:
        lo = torch.nextafter(lo, zero)
    hi = torch.tensor(min(in_max, out_max), dtype=x.dtype)
    if float(hi) > out_max:
        hi = torch.nextafter(hi, zero)
    return _K._clip_by_value(x, float(lo), float(hi)).to(dtype)


# --------------------------------------------------------------------------------------------------------------
# ops.image.resize: TensorFlow's bicubic, area and scale-and-translate (antialias, lanczos) kernels
# --------------------------------------------------------------------------------------------------------------

_F32_MIN_NORMAL = float(np.finfo(np.float32).tiny)


def _keys_table() -> np.ndarray:
    """``resize_bicubic_op.cc``'s ``InitCoeffsTable(-0.5)``: 1025 pairs computed in double from float ``x``,
    stored as float."""
    a = -0.5
    table = np.zeros((1025, 2), np.float32)
    for i in range(1025):
        x = float(np.float32(i * 1.0 / 1024))
        table[i, 0] = np.float32(((a + 2) * x - (a + 3)) * x * x + 1)
        x = float(np.float32(x + 1.0))
        table[i, 1] = np.float32(((a * x - 5 * a) * x + 8 * a) * x - 4 * a)
    return table


_KEYS_TABLE: list = []


def _bicubic_axis(n_in: int, n_out: int):
    """``GetWeightsAndIndices<HalfPixelScaler, use_keys_cubic=true>``: four indices (clamped) and float32 weights
    per output (the table at ``lrintf(delta * 1024)``; taps outside the image weigh 0, the rest renormalised)."""
    if not _KEYS_TABLE:
        _KEYS_TABLE.append(_keys_table())
    table = _KEYS_TABLE[0]
    f32 = np.float32
    scale = f32(n_in) / f32(n_out)
    idx = np.zeros((n_out, 4), np.int64)
    wts = np.zeros((n_out, 4), np.float32)
    for o in range(n_out):
        in_f = (f32(o) + f32(0.5)) * scale - f32(0.5)
        loc = int(np.floor(in_f))
        delta = in_f - f32(loc)
        off = int(np.rint(delta * f32(1024)))
        taps = (table[off, 1], table[off, 0], table[1024 - off, 0], table[1024 - off, 1])
        for k in range(4):
            want = loc - 1 + k
            idx[o, k] = min(n_in - 1, max(0, want))
            wts[o, k] = taps[k] if idx[o, k] == want else f32(0)
        s = ((wts[o, 0] + wts[o, 1]) + wts[o, 2]) + wts[o, 3]
        if abs(s) >= 1000 * _F32_MIN_NORMAL:
            wts[o] = wts[o] * (f32(1) / s)
    return torch.from_numpy(idx), torch.from_numpy(wts)


class _TfResizeBicubic(torch.autograd.Function):
    """``ResizeBicubic(half_pixel_centers=True)`` on NHWC: the four rows interpolated at each of the four columns,
    then along x, in float32 (a float32 output); ``ResizeBicubicGrad``: ``T(T(g) * wy * wx)`` accumulated in the
    images' dtype (float32/float64; TensorFlow gives half types no gradient)."""

    @staticmethod
    def forward(ctx, x, out_h, out_w):
        n, h, w, c = x.shape
        yi, yw = _bicubic_axis(h, out_h)
        xi, xw = _bicubic_axis(w, out_w)
        yi, yw, xi, xw = (t.to(x.device) for t in (yi, yw, xi, xw))
        ctx.save_for_backward(yi, yw, xi, xw)
        ctx.in_shape, ctx.in_dtype = (n, h, w, c), x.dtype
        x32 = x.to(torch.float32)
        cols = None
        for k in range(4):
            term = x32[:, yi[:, k]] * yw[:, k].reshape(1, -1, 1, 1)
            cols = term if cols is None else cols + term
        out = None
        for k in range(4):
            term = cols[:, :, xi[:, k]] * xw[:, k].reshape(1, 1, -1, 1)
            out = term if out is None else out + term
        return out

    @staticmethod
    def backward(ctx, g):
        if ctx.in_dtype not in (torch.float32, torch.float64):
            return None, None, None
        yi, yw, xi, xw = ctx.saved_tensors
        n, h, w, c = ctx.in_shape
        dt = ctx.in_dtype
        g = g.to(torch.float32).to(dt)
        out = torch.zeros(n, h * w, c, dtype=dt, device=g.device)
        oh, ow = g.shape[1], g.shape[2]
        for i in range(4):
            gy = g * yw[:, i].to(dt).reshape(1, -1, 1, 1)
            for j in range(4):
                term = (gy * xw[:, j].to(dt).reshape(1, 1, -1, 1)).reshape(n, oh * ow, c)
                flat = (yi[:, i].reshape(-1, 1) * w + xi[:, j].reshape(1, -1)).reshape(-1)
                out.index_add_(1, flat, term)
        return out.reshape(n, h, w, c), None, None


def _area_axis(n_in: int, n_out: int):
    """``ResizeArea``'s cells along an axis: the input indices (clamped) and float32 coverage weights of each
    output (``floor(o * scale)`` to ``ceil((o + 1) * scale)``), padded; with the axis' scale."""
    f32 = np.float32
    scale = f32(n_in) / f32(n_out)
    rows = []
    for o in range(n_out):
        lo, hi = f32(o) * scale, f32(o + 1) * scale
        start, end = int(np.floor(lo)), int(np.ceil(hi))
        cells = []
        for i in range(start, end):
            if f32(i) < lo:
                s = scale if f32(i + 1) > hi else f32(i + 1) - lo
            else:
                s = hi - f32(i) if f32(i + 1) > hi else f32(1.0)
            cells.append((min(n_in - 1, max(0, i)), f32(s)))
        rows.append(cells)
    k = max(len(r) for r in rows)
    idx = np.zeros((n_out, k), np.int64)
    wts = np.zeros((n_out, k), np.float32)
    count = np.zeros(n_out, np.int64)
    for o, cells in enumerate(rows):
        count[o] = len(cells)
        for j, (i, s) in enumerate(cells):
            idx[o, j], wts[o, j] = i, s
    return torch.from_numpy(idx), torch.from_numpy(wts), torch.from_numpy(count), scale


class _TfResizeArea(torch.autograd.Function):
    """``ResizeArea`` (float32 output): per row of each cell, the first column times its coverage, the middle
    columns added, the last times its coverage; the rows times their coverage summed; times
    ``1 / (scale_y scale_x)``. TensorFlow registers no gradient (LookupError)."""

    @staticmethod
    def forward(ctx, x, out_h, out_w):
        n, h, w, c = x.shape
        yi, yw, yc, sy = (t.to(x.device) if isinstance(t, torch.Tensor) else t for t in _area_axis(h, out_h))
        xi, xw, xc, sx = (t.to(x.device) if isinstance(t, torch.Tensor) else t for t in _area_axis(w, out_w))
        x32 = x.to(torch.float32)
        last = (xc - 1).reshape(1, 1, -1, 1)
        row_sums = x32[:, :, xi[:, 0]] * xw[:, 0].reshape(1, 1, -1, 1)  # (n, h, out_w, c)
        for k in range(1, xi.shape[1]):
            v = x32[:, :, xi[:, k]]
            term = torch.where(k == last, v * xw[:, k].reshape(1, 1, -1, 1), v)  # middle columns: added as they are
            row_sums = torch.where(k < xc.reshape(1, 1, -1, 1), row_sums + term, row_sums)
        out = torch.zeros(n, out_h, out_w, c, dtype=torch.float32, device=x.device)
        for k in range(yi.shape[1]):
            term = row_sums[:, yi[:, k]] * yw[:, k].reshape(1, -1, 1, 1)
            out = torch.where(k < yc.reshape(1, -1, 1, 1), out + term, out)
        scale = np.float32(1.0 / float(np.float32(sy * sx)))
        return out * float(scale)

    @staticmethod
    def backward(ctx, g):
        raise LookupError("gradient registry has no entry for: ResizeArea (TensorFlow registers no gradient for "
                          "ops.image.resize(interpolation='area'))")


def _lanczos(radius: float):
    f32 = np.float32
    k_pi = f32(3.14159265359)
    r = f32(radius)

    def sinf(v):
        from torch_impl._libm import c_function
        return f32(c_function("sinf")(float(v)))

    def kernel(x):
        x = abs(x)
        if x > r:
            return f32(0.0)
        if x <= f32(1e-3):
            return f32(1.0)
        return ((r * sinf(k_pi * x)) * sinf((k_pi * x) / r)) / (((k_pi * k_pi) * x) * x)
    return kernel, r


def _triangle(x):
    x = abs(x)
    return np.float32(1.0) - x if x < np.float32(1.0) else np.float32(0.0)


def _keys_cubic(x):
    f32 = np.float32
    x = abs(x)
    if x >= f32(2.0):
        return f32(0.0)
    if x >= f32(1.0):
        return ((f32(-0.5) * x + f32(2.5)) * x - f32(4.0)) * x + f32(2.0)
    return ((f32(1.5) * x - f32(2.5)) * x) * x + f32(1.0)


_SAMPLING_KERNELS = {"triangle": (_triangle, np.float32(1.0)), "keyscubic": (_keys_cubic, np.float32(2.0)),
                     "lanczos3": _lanczos(3.0), "lanczos5": _lanczos(5.0)}


def _spans(kernel_name: str, n_out: int, n_in: int, scale, translate, antialias: bool):
    """``ComputeSpansCore``: per output, the first input index and ``span_size`` float32 weights (normalised; 0
    past the span and for samples outside the image)."""
    f32 = np.float32
    kernel, radius = _SAMPLING_KERNELS[kernel_name]
    inv_scale = f32(1.0 / float(scale))
    inv_translate = -inv_scale * f32(translate)
    kernel_scale = max(inv_scale, f32(1.0)) if antialias else f32(1.0)
    span_size = min(2 * int(math.ceil(float(radius * kernel_scale))) + 1, n_in)
    one_over = f32(1.0) / kernel_scale
    starts = np.zeros(n_out, np.int64)
    weights = np.zeros((n_out, span_size), np.float32)
    for x in range(n_out):
        sample = (f32(x) + f32(0.5)) * inv_scale + inv_translate
        if sample < 0 or sample > n_in:
            continue
        lo = int(math.ceil(float((sample - radius * kernel_scale) - f32(0.5))))
        hi = int(math.floor(float((sample + radius * kernel_scale) - f32(0.5))))
        lo = min(max(lo, 0), n_in - 1)
        hi = min(max(hi, 0), n_in - 1) + 1
        ws, total = [], f32(0.0)
        for src in range(lo, hi):
            wgt = kernel(abs(((f32(src) + f32(0.5)) - sample) * one_over))
            total = total + wgt
            ws.append(wgt)
        if abs(total) >= 1000 * _F32_MIN_NORMAL:
            inv = f32(1.0) / total
            weights[x, :len(ws)] = [wv * inv for wv in ws]
        starts[x] = lo
    return starts, weights


def _grad_spans(starts: np.ndarray, weights: np.ndarray, n_in: int):
    """``ComputeGradSpansCore``: the forward spans reversed (per input, the outputs it feeds, in order)."""
    comps: list = [[] for _ in range(n_in)]
    for o in range(weights.shape[0]):
        for j in range(weights.shape[1]):
            i = int(starts[o]) + j
            if weights[o, j] != 0 and i < n_in:
                comps[i].append((o, weights[o, j]))
    size = max([c[-1][0] - c[0][0] + 1 for c in comps if c] or [0])
    g_starts = np.zeros(n_in, np.int64)
    g_weights = np.zeros((n_in, size), np.float32)
    for i, c in enumerate(comps):
        if c:
            g_starts[i] = c[0][0]
            for o, wv in c:
                g_weights[i, o - c[0][0]] += wv
    return g_starts, g_weights


def _gather_spans(x: torch.Tensor, dim: int, starts: np.ndarray, weights: np.ndarray) -> torch.Tensor:
    """TensorFlow's ``GatherRows``/``GatherColumns`` along ``dim`` of a float32 tensor: each output the float32
    sum from 0 of ``weight * input`` over its span, in order."""
    n_in = x.shape[dim]
    st = torch.from_numpy(starts).to(x.device)
    wt = torch.from_numpy(weights).to(x.device)
    shape = [1] * x.dim()
    shape[dim] = -1
    out = None
    for k in range(weights.shape[1]):
        idx = st + k
        ok = (idx < n_in).reshape(shape)
        term = x.index_select(dim, idx.clamp(max=n_in - 1)) * wt[:, k].reshape(shape)
        if out is None:
            out = torch.zeros_like(term)
        out = torch.where(ok, out + term, out)
    if out is None:
        shp = list(x.shape)
        shp[dim] = len(starts)
        out = x.new_zeros(shp)
    return out


class _TfScaleAndTranslate(torch.autograd.Function):
    """``ScaleAndTranslate`` (``tf.image.resize`` with ``antialias=True`` or a Lanczos kernel) on NHWC: rows, then
    columns, in float32; ``ScaleAndTranslateGrad`` for float32 images (TensorFlow's gradient raises for the other
    dtypes: its kernel takes float32 only)."""

    @staticmethod
    def forward(ctx, x, out_h, out_w, kernel_name, antialias):
        n, h, w, c = x.shape
        f32 = np.float32
        sy, sx = f32(out_h) / f32(h), f32(out_w) / f32(w)
        rows = _spans(kernel_name, out_h, h, sy, 0.0, antialias)
        cols = _spans(kernel_name, out_w, w, sx, 0.0, antialias)
        ctx.spans, ctx.sizes, ctx.in_dtype = (rows, cols), (h, w), x.dtype
        out = _gather_spans(x.to(torch.float32), 1, *rows)
        return _gather_spans(out, 2, *cols)

    @staticmethod
    def backward(ctx, g):
        if ctx.in_dtype != torch.float32:
            raise TypeError("ScaleAndTranslateGrad takes float32 images only (TensorFlow: InvalidArgumentError "
                            f"'cannot compute ScaleAndTranslateGrad'): the images are {ctx.in_dtype}")
        (rows, cols), (h, w) = ctx.spans, ctx.sizes
        out = _gather_spans(g.to(torch.float32), 1, *_grad_spans(*rows, h))
        return _gather_spans(out, 2, *_grad_spans(*cols, w)), None, None, None, None


def _resize_other(x: torch.Tensor, out_h: int, out_w: int, interpolation: str, antialias: bool) -> torch.Tensor:
    """``tf.image.resize``'s other methods on NHWC images (a float32 result)."""
    if interpolation == "area":
        return _TfResizeArea.apply(x, out_h, out_w)
    if interpolation == "bicubic" and not antialias:
        return _TfResizeBicubic.apply(x, out_h, out_w)
    name = {"bilinear": "triangle", "bicubic": "keyscubic"}.get(interpolation, interpolation)
    return _TfScaleAndTranslate.apply(x, out_h, out_w, name, antialias)


_SCALE_AND_TRANSLATE_METHODS = ("linear", "bilinear", "trilinear", "cubic", "bicubic", "tricubic", "lanczos3",
                                "lanczos5")


def _sat_kernel(method: str, x: torch.Tensor) -> torch.Tensor:
    """Keras's ``_kernels`` (TensorFlow ops in ``x``'s dtype; maxima give a tie to their first argument)."""
    zero = torch.zeros((), dtype=x.dtype, device=x.device)
    if method == "linear":
        return _K._maximum(zero, 1 - torch.abs(x))
    if method == "cubic":
        out = ((1.5 * x - 2.5) * x) * x + 1.0
        out = torch.where(x >= 1.0, ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0, out)
        return torch.where(x >= 2.0, zero, out)
    radius = 3.0 if method == "lanczos3" else 5.0
    y = radius * torch.sin(math.pi * x) * torch.sin(math.pi * x / radius)
    out = torch.where(x > 1e-3, y / torch.where(x != 0, math.pi ** 2 * (x * x), torch.ones_like(x)),
                      torch.ones_like(x))
    return torch.where(x > radius, zero, out)


def _sat_weights(n_in: int, n_out: int, scale: torch.Tensor, translation: torch.Tensor, method: str,
                 antialias: bool) -> torch.Tensor:
    """Keras's ``_compute_weight_mat``: ``(n_in, n_out)`` normalised kernel weights, 0 for samples outside."""
    dt = scale.dtype
    inv_scale = 1.0 / scale
    kernel_scale = _K._maximum(inv_scale, torch.ones((), dtype=dt, device=scale.device)) if antialias else 1.0
    sample = (torch.arange(n_out, dtype=dt, device=scale.device) + 0.5) * inv_scale - translation * inv_scale - 0.5
    x = torch.abs(sample[None, :] - torch.arange(n_in, dtype=dt, device=scale.device)[:, None]) / kernel_scale
    weights = _sat_kernel(method, x)
    total = torch.sum(weights, dim=0, keepdim=True)
    zero = torch.zeros((), dtype=dt, device=scale.device)
    weights = torch.where(torch.abs(total) > 1000.0 * float(np.finfo(np.float32).eps),
                          weights / torch.where(total != 0, total, torch.ones_like(total)), zero)
    inside = (sample >= -0.5) & (sample <= float(n_in) - 0.5)
    return torch.where(inside[None, :], weights, zero)


def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method,
                        antialias=True) -> torch.Tensor:
    """``ops.image.scale_and_translate(images, output_shape, scale, translation, spatial_dims, method,
    antialias=True)``: Keras's own TensorFlow implementation (not ``tf.raw_ops.ScaleAndTranslate``): per spatial
    dimension a dense ``(in, out)`` weight matrix in the dtype of ``scale``/``translation`` (cast to the images'),
    applied with a tensor product. Integer (and bool) images raise, as in Keras 3.15.1 (its clip of the rounded
    float32 result by integer bounds fails in TensorFlow). Gradients to the images, ``scale`` and ``translation``
    (through the kernel weights)."""
    if method not in _SCALE_AND_TRANSLATE_METHODS:
        raise ValueError("Invalid value for argument `method`. Expected of one "
                         f"{set(_SCALE_AND_TRANSLATE_METHODS)}. Received: method={method}")
    if method in ("linear", "bilinear", "trilinear", "triangle"):
        method = "linear"
    elif method in ("cubic", "bicubic", "tricubic"):
        method = "cubic"
    x = _ko._t(images)
    scale, translation = _ko._t(scale), _ko._t(translation)
    dt = _ko._tdt(_ko.result_type(scale.dtype, translation.dtype))
    scale, translation = scale.to(dt), translation.to(dt)
    if len(spatial_dims) == 0:
        return x
    if x.dtype not in _FLOATS:  # Keras clips the float32 result by integer bounds: TensorFlow raises
        raise TypeError(f"ops.image.scale_and_translate of {_ko._dname(x)} images raises in Keras 3.15.1 (its "
                        "tf.clip_by_value of the float32 result by the images' integer min/max: "
                        "InvalidArgumentError); cast the images to a float dtype first")
    out = x
    for i, d in enumerate(spatial_dims):
        d = d % x.dim()
        w = _sat_weights(x.shape[d], int(output_shape[d]), scale[i], translation[i], method, antialias)
        out = torch.tensordot(out, w.to(out.dtype), dims=([d], [0])).movedim(-1, d)
    return out


_RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic", "area")


def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None) -> torch.Tensor:
    """``ops.image.resize(images, size, interpolation='bilinear', antialias=False, crop_to_aspect_ratio=False,
    pad_to_aspect_ratio=False, fill_mode='constant', fill_value=0.0, data_format=None)``: TensorFlow's
    half-pixel ``'bilinear'`` (computed in float32 whatever the input's dtype, as TensorFlow's kernel, then cast
    back: float64 images give float32-precision values; integers are rounded half to even and saturated) and
    ``'nearest'`` (``floor((i + 0.5) * in / out)``, in the input's dtype); Keras's centred crop/pad to the aspect
    ratio (its float32 arithmetic; the pad is ``int((pad - n) / 2)`` on both sides). ``'bicubic'``, ``'area'``,
    ``'lanczos3'``/``'lanczos5'`` and ``antialias=True`` are TensorFlow's ``ResizeBicubic``/``ResizeArea``/
    ``ScaleAndTranslate`` CPU kernels replayed (float32 results, equal bit for bit), with their gradients where
    TensorFlow has one (none for ``'area'``; ``ScaleAndTranslate``'s for float32 images only: backward raises
    otherwise)."""
    data_format = _image_data_format(data_format)
    if interpolation not in _RESIZE_INTERPOLATIONS:
        raise ValueError("Invalid value for argument `interpolation`. Expected of one "
                         f"{set(_RESIZE_INTERPOLATIONS)}. Received: interpolation={interpolation}")
    if len(size) != 2:
        raise ValueError(f"Expected `size` to be a tuple of 2 integers. Received: size={size}")
    if size[0] <= 0 or size[1] <= 0:
        raise ValueError(f"`size` must have positive height and width. Received: size={size}")
    images = _ko._t(images)
    if images.dim() not in (3, 4):
        raise ValueError("Invalid images rank: expected rank 3 (single image) or rank 4 (batch of images). Received "
                         f"input with shape: images.shape={tuple(images.shape)}")
    if pad_to_aspect_ratio and crop_to_aspect_ratio:
        raise ValueError("Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be `True`.")
    if fill_mode != "constant":
        raise ValueError("Invalid value for argument `fill_mode`. Only `'constant'` is supported. Received: "
                         f"fill_mode={fill_mode}")
    if images.dtype == torch.bool:
        raise TypeError("ops.image.resize does not take booleans (TensorFlow raises)")
    out_h, out_w = int(size[0]), int(size[1])
    unbatched = images.dim() == 3
    x = images.unsqueeze(0) if unbatched else images
    if data_format == "channels_first":
        x = x.permute(0, 2, 3, 1)
    h, w = x.shape[1], x.shape[2]

    def f32_int(v):  # tf.cast(float32 value, 'int32'): truncation
        return int(torch.trunc(v).item())

    if crop_to_aspect_ratio:
        ch = max(min(h, f32_int(_f32(w * out_h) / _f32(out_w))), 1)
        cw = max(min(w, f32_int(_f32(h * out_w) / _f32(out_h))), 1)
        hs, ws = f32_int(_f32(h - ch) / 2), f32_int(_f32(w - cw) / 2)
        x = x[:, hs:hs + ch, ws:ws + cw]
    elif pad_to_aspect_ratio:
        ph = max(h, f32_int(_f32(w * out_h) / _f32(out_w)))
        pw = max(w, f32_int(_f32(h * out_w) / _f32(out_h)))
        hs, ws = f32_int(_f32(ph - h) / 2), f32_int(_f32(pw - w) / 2)
        if hs > 0:
            block = torch.ones(x.shape[0], hs, w, x.shape[3], dtype=x.dtype, device=x.device) * _c(fill_value, x)
            x = torch.cat([block, x, block], dim=1)
        if ws > 0:
            block = torch.ones(x.shape[0], h, ws, x.shape[3], dtype=x.dtype, device=x.device) * _c(fill_value, x)
            x = torch.cat([block, x, block], dim=2)
    if interpolation == "nearest":
        yi = _nearest_axis(x.shape[1], out_h).to(x.device)
        xi = _nearest_axis(x.shape[2], out_w).to(x.device)
        out = x[:, yi][:, :, xi]
    else:
        if interpolation == "bilinear" and not antialias:
            out = _TfResizeBilinear.apply(x, out_h, out_w)
        else:
            out = _resize_other(x, out_h, out_w, interpolation, antialias)
        if out.dtype != images.dtype:
            if not images.dtype.is_floating_point:
                out = torch.round(out)
            out = _saturate_cast(out, images.dtype)
    if data_format == "channels_first":
        out = out.permute(0, 3, 1, 2)
    return out.squeeze(0) if unbatched else out


def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None) -> torch.Tensor:
    """``ops.image.gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None)``: a depthwise
    ``'same'`` convolution (zero padding) with Keras's TensorFlow kernel: ``exp(-0.5 (x / sigma)**2)`` normalised,
    in the images' dtype. Keras quirks kept: the kernel is ``outer(k(size[1], sigma[1]), k(size[0], sigma[0]))``
    read as a ``size[0] x size[1]`` array (a non-square ``kernel_size`` scrambles it), and ``data_format=None``
    means channels_last whatever ``image_data_format()`` says."""
    images = _floating(images, "image.gaussian_blur")
    if images.dim() not in (3, 4):
        raise ValueError("Invalid images rank: expected rank 3 (single image) or rank 4 (batch of images). Received "
                         f"input with shape: images.shape={tuple(images.shape)}")
    dt = images.dtype
    ks = torch.as_tensor(np.asarray(kernel_size, dtype=np.float64)).to(dt)
    sg = torch.as_tensor(np.asarray(sigma, dtype=np.float64)).to(dt)

    def k1d(size, sig):
        x = torch.arange(int(size), dtype=dt) - (size - 1) / 2
        k = torch.exp(-0.5 * (x / sig) ** 2)
        return k / torch.sum(k)

    kh, kw = int(kernel_size[0]), int(kernel_size[1])
    kernel = torch.outer(k1d(ks[1], sg[1]), k1d(ks[0], sg[0])).reshape(kh, kw).to(images.device)
    unbatched = images.dim() == 3
    x = images.unsqueeze(0) if unbatched else images
    if data_format == "channels_first":
        x = x.permute(0, 2, 3, 1)
    c = x.shape[-1]
    out = _conv_nd(x, kernel.reshape(kh, kw, 1, 1).expand(kh, kw, c, 1).contiguous(), 1, "same", "channels_last", 1,
                   True)
    if data_format == "channels_first":
        out = out.permute(0, 3, 1, 2)
    return out.squeeze(0) if unbatched else out


def sobel_edges(images, data_format=None) -> torch.Tensor:
    """``ops.image.sobel_edges(images, data_format=None)``: ``tf.image.sobel_edges``: reflect padding, the
    ``[[-1, -2, -1], [0, 0, 0], [1, 2, 1]]`` kernel and its transpose; output ``(..., channels, 2)`` with the
    vertical (dy) then the horizontal (dx) response. Batched (4-D) images."""
    data_format = _image_data_format(data_format)
    x = _ko._t(images)
    if x.dim() != 4:
        raise ValueError(f"ops.image.sobel_edges takes a 4-D batch of images, got shape {tuple(x.shape)}")
    if x.dtype == torch.bool:
        raise TypeError("ops.image.sobel_edges does not take booleans (TensorFlow raises)")
    if data_format == "channels_first":
        x = x.permute(0, 2, 3, 1)
    n, h, w, c = x.shape
    k = torch.tensor([[[-1, -2, -1], [0, 0, 0], [1, 2, 1]], [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]],
                     dtype=torch.float64).permute(1, 2, 0).to(x.dtype).to(x.device)  # (3, 3, 2)
    kernel = k.reshape(3, 3, 1, 2).expand(3, 3, c, 2).contiguous()
    xc = F.pad(x.permute(0, 3, 1, 2), [1, 1, 1, 1], mode="reflect").permute(0, 2, 3, 1)
    out = _conv_nd(xc, kernel, 1, "valid", "channels_last", 1, True).reshape(n, h, w, c, 2)
    return out.permute(0, 3, 1, 2, 4) if data_format == "channels_first" else out


def _spatial_hw(images: torch.Tensor, data_format: str):
    return (images.shape[-3], images.shape[-2]) if data_format == "channels_last" else (images.shape[-2],
                                                                                          images.shape[-1])


def _check_three(a, b, t, names):
    if [a, b, t].count(None) != 1:
        raise ValueError(f"Must specify exactly two of {names[0]}, {names[1]}, {names[2]}. Received: {names[0]}={a}, "
                         f"{names[1]}={b}, {names[2]}={t}")
    for v, nm in zip((a, b, t), names):
        if v is not None and v < 0:
            raise ValueError(f"{nm} must be >= 0. Received: {nm}={v}")


def _rank_3_or_4(images: torch.Tensor):
    if images.dim() not in (3, 4):
        raise ValueError("Invalid images rank: expected rank 3 (single image) or rank 4 (batch of images). Received: "
                         f"images.shape={tuple(images.shape)}")


def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None, right_cropping=None,
                target_height=None, target_width=None, data_format=None) -> torch.Tensor:
    """``ops.image.crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None,
    right_cropping=None, target_height=None, target_width=None, data_format=None)``: exactly two of each triple;
    a slice."""
    data_format = _image_data_format(data_format)
    images = _ko._t(images)
    _rank_3_or_4(images)
    _check_three(top_cropping, bottom_cropping, target_height, ("top_cropping", "bottom_cropping", "target_height"))
    _check_three(left_cropping, right_cropping, target_width, ("left_cropping", "right_cropping", "target_width"))
    h, w = _spatial_hw(images, data_format)
    top = h - target_height - bottom_cropping if top_cropping is None else top_cropping
    th = h - bottom_cropping - top if target_height is None else target_height
    left = w - target_width - right_cropping if left_cropping is None else left_cropping
    tw = w - right_cropping - left if target_width is None else target_width
    for v, nm in ((top, "top_cropping"), (th, "target_height"), (left, "left_cropping"), (tw, "target_width")):
        if v < 0:
            raise ValueError(f"{nm} must be >= 0. Received: {nm}={v}")
    if top + th > h or left + tw > w:
        raise ValueError(f"ops.image.crop_images: the crop ({top}:{top + th}, {left}:{left + tw}) exceeds the "
                         f"images' {h} x {w} (TensorFlow's slice raises)")
    if data_format == "channels_last":
        return images[..., top:top + th, left:left + tw, :]
    return images[..., top:top + th, left:left + tw]


def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None, right_padding=None,
               target_height=None, target_width=None, data_format=None) -> torch.Tensor:
    """``ops.image.pad_images(images, top_padding=None, left_padding=None, bottom_padding=None, right_padding=None,
    target_height=None, target_width=None, data_format=None)``: exactly two of each triple; zero padding."""
    data_format = _image_data_format(data_format)
    images = _ko._t(images)
    _rank_3_or_4(images)
    _check_three(top_padding, bottom_padding, target_height, ("top_padding", "bottom_padding", "target_height"))
    _check_three(left_padding, right_padding, target_width, ("left_padding", "right_padding", "target_width"))
    h, w = _spatial_hw(images, data_format)
    top = target_height - bottom_padding - h if top_padding is None else top_padding
    bottom = target_height - top - h if bottom_padding is None else bottom_padding
    left = target_width - right_padding - w if left_padding is None else left_padding
    right = target_width - left - w if right_padding is None else right_padding
    for v, nm in ((top, "top_padding"), (left, "left_padding"), (right, "right_padding"),
                  (bottom, "bottom_padding")):
        if v < 0:
            raise ValueError(f"{nm} must be >= 0. Received: {nm}={v}")
    pads = [0, 0, left, right, top, bottom] if data_format == "channels_last" else [left, right, top, bottom]
    return F.pad(images, pads)


def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid", data_format=None) -> torch.Tensor:
    """``ops.image.extract_patches(images, size, strides=None, dilation_rate=1, padding='valid', data_format=None)``:
    Keras's convolution with an identity kernel: each output vector is a patch in ``(row, column, channel)`` order;
    ``strides`` default to ``size``; a 3-tuple ``size`` takes volumes."""
    if not isinstance(size, int):
        if not isinstance(size, (tuple, list)):
            raise TypeError(f"Invalid `size` argument. Expected an int or a tuple. Received: size={size} of type "
                            f"{type(size).__name__}")
        if len(size) not in (2, 3):
            raise ValueError(f"Invalid `size` argument. Expected a tuple of length 2 or 3. Received: size={size} with "
                             f"length {len(size)}")
    data_format = _image_data_format(data_format)
    x = _ko._t(images)
    nd = 3 if (not isinstance(size, int) and len(size) == 3) else 2
    patch = (size,) * nd if isinstance(size, int) else tuple(size)
    if nd == 2 and not strides:
        strides = size
    if nd == 3 and strides is None:
        strides = size
    if nd == 3 and not isinstance(strides, int) and len(strides) != 3:
        raise ValueError(f"Invalid `strides` argument. Got: {strides}")
    c = x.shape[-1] if data_format == "channels_last" else x.shape[-nd - 1]
    out_dim = math.prod(patch) * c
    kernel = torch.eye(out_dim, dtype=x.dtype, device=x.device).reshape(*patch, c, out_dim)
    unbatched = x.dim() == nd + 1
    if unbatched:
        x = x.unsqueeze(0)
    out = _conv_nd(x, kernel, strides, padding, data_format, dilation_rate, False)
    return out.squeeze(0) if unbatched else out


def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid",
                       data_format=None) -> torch.Tensor:
    """``ops.image.extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding='valid',
    data_format=None)``: :func:`extract_patches` of volumes (an int ``size`` is a cube)."""
    if isinstance(size, int):
        size = (size, size, size)
    elif len(size) != 3:
        raise TypeError(f"Invalid `size` argument. Expected an int or a tuple of length 3. Received: size={size}")
    return extract_patches(volumes, tuple(size), strides, dilation_rate, padding, data_format)


def _tf_rgb_to_hsv_values(x: torch.Tensor) -> torch.Tensor:
    """TensorFlow's ``RGBToHSV`` kernel on (..., 3): ``h = norm * (g - b)`` (red the max), ``norm * (b - r) + 2/6``
    (green), ``norm * (r - g) + 4/6``, ``norm = (1 / range) * (1 / 6)``, 0 where ``range == 0``, ``+1`` where
    negative; ``s = range / v`` (0 where ``v <= 0``)."""
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    v = torch.amax(x, dim=-1)
    rng = v - torch.amin(x, dim=-1)
    zero = torch.zeros_like(v)
    s = torch.where(v > 0, rng / v, zero)
    norm = (1 / rng) * (_c(1.0, x) / _c(6.0, x))
    h = torch.where(r == v, norm * (g - b), torch.where(g == v, norm * (b - r) + _c(2.0, x) / _c(6.0, x),
                                                        norm * (r - g) + _c(4.0, x) / _c(6.0, x)))
    h = torch.where(rng > 0, h, zero)
    h = torch.where(h < 0, h + 1, h)
    return torch.stack([h, s, v], dim=-1)


def _recip(v: torch.Tensor) -> torch.Tensor:  # div_no_nan(1, v)
    return torch.where(v == 0, torch.zeros_like(v), 1 / torch.where(v == 0, torch.ones_like(v), v))


class _TfRgbToHsv(torch.autograd.Function):
    """``tf.image.rgb_to_hsv`` with TensorFlow's registered gradient (``_RGBToHSVGrad``, its piecewise formula
    term by term, ties broken R > G > B)."""

    @staticmethod
    def forward(ctx, x):
        out = _tf_rgb_to_hsv_values(x)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        r, g, b = x[..., 0], x[..., 1], x[..., 2]
        sat, val = out[..., 1], out[..., 2]
        dt = x.dtype

        def f(m):
            return m.to(dt)

        rb, gb, bb = f((r >= b) & (r >= g)), f((g > r) & (g >= b)), f((b > r) & (b > g))
        rs, gs, bs = f((r < b) & (r < g)), f((g <= r) & (g < b)), f((b <= r) & (b <= g))
        rp, gp, bp = f(r > 0), f(g > 0), f(b > 0)
        ds_dr = rp * (rb * (gs * g + bs * b) * _recip(torch.square(r)) + rs * -1 * _recip((gb * g) + (bb * b)))
        ds_dg = gp * (gb * (rs * r + bs * b) * _recip(torch.square(g)) + gs * -1 * _recip((rb * r) + (bb * b)))
        ds_db = bp * (bb * (gs * g + rs * r) * _recip(torch.square(b)) + bs * -1 * _recip((gb * g) + (rb * r)))
        rs2, rv2 = _recip(torch.square(sat)), _recip(torch.square(val))
        sq = torch.square
        dh_dr = (60 * (rp * rb * -1 * (g - b) * rs2 * rv2) + 60 * (gp * gb * rs * (b - g) * _recip(sq(r - g)))
                 + 60 * (gp * gb * bs * -1 * _recip(g - b)) + 60 * (bp * bb * rs * (b - g) * _recip(sq(b - r)))
                 + 60 * (bp * bb * gs * _recip(b - g))) / 360
        dh_dg = (60 * (gp * gb * -1 * (b - r) * rs2 * rv2) + 60 * (rp * rb * gs * (r - b) * _recip(sq(r - g)))
                 + 60 * (rp * rb * bs * _recip(r - b)) + 60 * (bp * bb * gs * (r - b) * _recip(sq(b - g)))
                 + 60 * (bp * bb * rs * -1 * _recip(b - r))) / 360
        dh_db = (60 * (bp * bb * -1 * (r - g) * rs2 * rv2) + 60 * (rp * rb * bs * (g - r) * _recip(sq(r - b)))
                 + 60 * (rp * rb * gs * -1 * _recip(r - g)) + 60 * (gp * gb * bs * (g - r) * _recip(sq(g - b)))
                 + 60 * (gp * gb * rs * _recip(g - r))) / 360
        gh, gsat, gv = grad[..., 0], grad[..., 1], grad[..., 2]
        dv = torch.stack([gv * rb, gv * gb, gv * bb], dim=-1)
        ds = torch.stack([gsat * ds_dr, gsat * ds_dg, gsat * ds_db], dim=-1)
        dh = torch.stack([gh * dh_dr, gh * dh_dg, gh * dh_db], dim=-1)
        return (dv + ds) + dh


def _hsv_prep(images, data_format, name):
    data_format = _image_data_format(data_format)
    x = _ko._t(images)
    if x.dim() not in (3, 4):
        raise ValueError("Invalid images rank: expected rank 3 (single image) or rank 4 (batch of images). Received "
                         f"input with shape: images.shape={tuple(x.shape)}")
    if x.dtype not in _FLOATS:
        raise ValueError(f"Invalid images dtype: expected float dtype. Received: images.dtype={_ko._dname(x)}")
    if data_format == "channels_first":
        x = x.movedim(-3, -1)
    return x, data_format


def rgb_to_hsv(images, data_format=None) -> torch.Tensor:
    """``ops.image.rgb_to_hsv(images, data_format=None)``: TensorFlow's ``RGBToHSV`` kernel (hue in [0, 1)) and its
    registered gradient (a piecewise formula, ties broken R > G > B; 0 through ``div_no_nan`` where a difference is
    0); float images only (ValueError)."""
    x, data_format = _hsv_prep(images, data_format, "rgb_to_hsv")
    out = _TfRgbToHsv.apply(x)
    return out.movedim(-1, -3) if data_format == "channels_first" else out


def hsv_to_rgb(images, data_format=None) -> torch.Tensor:
    """``ops.image.hsv_to_rgb(images, data_format=None)``: TensorFlow's ``HSVToRGB`` kernel
    (``(1 - s + s * clip(|6h - 3| - 1, 0, 1)) * v``...). TensorFlow registers no gradient for it: the output is
    detached here (no gradient flows, as in Keras), float images only (ValueError)."""
    x, data_format = _hsv_prep(images, data_format, "hsv_to_rgb")
    x = x.detach()
    h, s, v = x[..., 0], x[..., 1], x[..., 2]
    dh = h * 6

    def cl(t):
        return t.clamp_min(0).clamp_max(1)

    dr = cl(torch.abs(dh - 3) - 1)
    dg = cl(-torch.abs(dh - 2) + 2)
    db = cl(-torch.abs(dh - 4) + 2)
    one_s = -s + 1
    out = torch.stack([(one_s + s * dr) * v, (one_s + s * dg) * v, (one_s + s * db) * v], dim=-1)
    return out.movedim(-1, -3) if data_format == "channels_first" else out


# --------------------------------------------------------------------------------------------------------------
# keras.ops.image: affine_transform, perspective_transform, map_coordinates, elastic_transform
# --------------------------------------------------------------------------------------------------------------

_AFFINE_INTERPOLATIONS = ("nearest", "bilinear")
_AFFINE_FILL_MODES = ("constant", "nearest", "wrap", "reflect")
_MAP_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")
_PROJECTIVE_DTYPES = (torch.uint8, torch.int32, torch.int64, torch.float16, torch.bfloat16, torch.float32,
                      torch.float64)  # ImageProjectiveTransformV3's


def _eigen_solve(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """TensorFlow's ``MatrixSolve``/``MatrixInverse`` of one float32 matrix ``a`` (n, n) against ``b`` (n, m):
    Eigen's unblocked ``PartialPivLU`` (the first largest ``|pivot|``, the column divided by the pivot, the
    rank-1 update ``c - l * u``), then the two triangular solves of its row-major TRSM (``x_j`` minus each
    ``x_k l_jk`` in turn, times ``1 / u_jj``), each operation rounded to float32 (no FMA). A zero pivot raises as
    TensorFlow does."""
    lu, x = a.clone(), b.clone()
    n = lu.shape[0]
    for k in range(n):
        p = k + int(torch.argmax(lu[k:, k].abs()))  # the first of equal |values|
        if lu[p, k] != 0:
            if p != k:
                lu[[k, p]] = lu[[p, k]]
                x[[k, p]] = x[[p, k]]  # the permutation, applied to the right-hand side as Eigen's P * b
            lu[k + 1:, k] = lu[k + 1:, k] / lu[k, k]
        if k < n - 1:
            lu[k + 1:, k + 1:] = lu[k + 1:, k + 1:] - lu[k + 1:, k:k + 1] * lu[k:k + 1, k + 1:]
    if bool((lu.diagonal().abs() == 0).any()):
        raise ValueError("Input matrix is not invertible. (TensorFlow: InvalidArgumentError)")
    for j in range(n):  # unit lower
        for k in range(j):
            x[j] = x[j] - x[k] * lu[j, k]
    for j in range(n - 1, -1, -1):  # upper
        for k in range(j + 1, n):
            x[j] = x[j] - x[k] * lu[j, k]
        x[j] = x[j] * (1.0 / lu[j, j])
    return x


def _inverse_transforms(t: torch.Tensor) -> torch.Tensor:
    """The gradient's transforms (TensorFlow's ``_image_projective_transform_v3_grad``): each ``[a0 .. c1]`` as the
    3x3 matrix with a last entry 1, inverted in float32 (:func:`_eigen_solve`), divided by its last entry."""
    eye = torch.eye(3, dtype=torch.float32, device=t.device)
    rows = []
    for row in t.to(torch.float32):
        inv = _eigen_solve(torch.cat([row, row.new_ones(1)]).reshape(3, 3), eye).reshape(9)
        rows.append((inv / inv[8:9])[:8])
    return torch.stack(rows)


class _ProjectiveTransform(torch.autograd.Function):
    """``ImageProjectiveTransformV3`` on NHWC images (:func:`torch_impl.image.affine_transform`, TensorFlow's
    kernel replayed) with TensorFlow's registered gradient: the incoming gradient resampled by the inverse
    transforms with the same interpolation and fill mode, fill 0 (not the adjoint of the resampling); the
    transforms get none."""

    @staticmethod
    def forward(ctx, images, transforms, interpolation, fill_mode, fill_value):
        from torch_impl.image import affine_transform as _tf_affine
        ctx.save_for_backward(transforms)
        ctx.interpolation, ctx.fill_mode = interpolation, fill_mode
        return _tf_affine(images, transforms, interpolation, fill_mode, fill_value, "channels_last")

    @staticmethod
    def backward(ctx, g):
        from torch_impl.image import affine_transform as _tf_affine
        (transforms,) = ctx.saved_tensors
        grad = _tf_affine(g.contiguous(), _inverse_transforms(transforms), ctx.interpolation, ctx.fill_mode, 0.0,
                          "channels_last")
        return grad, None, None, None, None


def _check_rank_3_or_4(images) -> None:
    if len(images.shape) not in (3, 4):
        raise ValueError("Invalid images rank: expected rank 3 (single image) or rank 4 (batch of images). Received "
                         f"input with shape: images.shape={tuple(images.shape)}")


def _check_interpolation(interpolation) -> None:
    if interpolation not in _AFFINE_INTERPOLATIONS:
        raise ValueError("Invalid value for argument `interpolation`. Expected of one "
                         f"{_AFFINE_INTERPOLATIONS}. Received: interpolation={interpolation}")


def _check_affine_fill_mode(fill_mode) -> None:
    if fill_mode not in _AFFINE_FILL_MODES:
        raise ValueError("Invalid value for argument `fill_mode`. Expected of one "
                         f"{_AFFINE_FILL_MODES}. Received: fill_mode={fill_mode}")


def _projective(images: torch.Tensor, transforms: torch.Tensor, interpolation: str, fill_mode: str, fill_value,
                data_format: str) -> torch.Tensor:
    """Keras's ``ImageProjectiveTransformV3`` call: batch/unbatch, channels_first through NHWC, float32
    transforms ``(1 or N, 8)``."""
    if images.dtype not in _PROJECTIVE_DTYPES:
        raise TypeError(f"ImageProjectiveTransformV3 does not take {_ko._dname(images)} images (TensorFlow raises): "
                        "uint8, int32, int64, float16, bfloat16, float32, float64 only")
    unbatched = images.dim() == 3
    x = images.unsqueeze(0) if unbatched else images
    if data_format == "channels_first":
        x = x.permute(0, 2, 3, 1)
    t = transforms.to(device=x.device, dtype=torch.float32)
    t = t.unsqueeze(0) if t.dim() == 1 else t
    if t.shape[-1] != 8 or t.shape[0] not in (1, x.shape[0]):
        raise ValueError("Input transform should be num_images x 8 or 1 x 8 (TensorFlow: InvalidArgumentError). "
                         f"Received transform.shape={tuple(transforms.shape)} for {x.shape[0]} images")
    out = _ProjectiveTransform.apply(x, t, interpolation, fill_mode, fill_value)
    if data_format == "channels_first":
        out = out.permute(0, 3, 1, 2)
    return out.squeeze(0) if unbatched else out


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0,
                     data_format=None) -> torch.Tensor:
    """``ops.image.affine_transform(images, transform, interpolation='bilinear', fill_mode='constant',
    fill_value=0, data_format=None)``: TensorFlow's ``ImageProjectiveTransformV3`` bit for bit
    (:func:`torch_impl.image.affine_transform`: float32 coordinates, bilinear in float32 even for float64 images,
    the border blends with ``fill_value``, ``c0``/``c1`` projective terms honoured) in the images' dtype. Its
    gradient is TensorFlow's: the incoming gradient resampled by the inverse transform (not the adjoint: it differs
    from torch's autograd wherever the transform is not a whole-pixel shift); the transform has none."""
    data_format = _image_data_format(data_format)
    _check_interpolation(interpolation)
    _check_affine_fill_mode(fill_mode)
    _check_rank_3_or_4(images)
    if len(transform.shape) not in (1, 2):
        raise ValueError("Invalid transform rank: expected rank 1 (single transform) or rank 2 (batch of "
                         f"transforms). Received input with shape: transform.shape={tuple(transform.shape)}")
    return _projective(_ko._t(images), _ko._t(transform), interpolation, fill_mode, fill_value, data_format)


def _homography(start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
    """Keras's ``compute_homography_matrix``: the 8x8 system of the four point pairs (float32 products) solved
    per image as TensorFlow's ``tf.linalg.solve`` (:func:`_eigen_solve`)."""
    out = []
    for s, e in zip(start, end):
        rows, target = [], []
        zero, one = e.new_zeros(()), e.new_ones(())
        for i in range(4):
            ex, ey, sx, sy = e[i, 0], e[i, 1], s[i, 0], s[i, 1]
            rows.append(torch.stack([ex, ey, one, zero, zero, zero, -sx * ex, -sx * ey]))
            rows.append(torch.stack([zero, zero, zero, ex, ey, one, -sy * ex, -sy * ey]))
            target += [sx, sy]
        out.append(_eigen_solve(torch.stack(rows), torch.stack(target).reshape(8, 1)).reshape(8))
    return torch.stack(out)


def perspective_transform(images, start_points, end_points, interpolation="bilinear", fill_value=0,
                          data_format=None) -> torch.Tensor:
    """``ops.image.perspective_transform(images, start_points, end_points, interpolation='bilinear',
    fill_value=0, data_format=None)``: Keras's homography from the four ``(x, y)`` point pairs (``(4, 2)`` or
    ``(N, 4, 2)``, float32, solved as TensorFlow's float32 ``MatrixSolve``), then ``ImageProjectiveTransformV3``
    with ``fill_mode='constant'`` (as :func:`affine_transform`, TensorFlow's gradient to the images; the points get
    none)."""
    data_format = _image_data_format(data_format)
    start = _ko._t(start_points).to(torch.float32)
    end = _ko._t(end_points).to(torch.float32)
    _check_interpolation(interpolation)
    _check_rank_3_or_4(images)
    for name, p in (("start_points", start), ("end_points", end)):
        if p.dim() not in (2, 3) or tuple(p.shape[-2:]) != (4, 2):
            raise ValueError(f"Invalid {name} shape: expected (4,2) for a single image or (N,4,2) for a batch. "
                             f"Received shape: {tuple(p.shape)}")
    if start.shape != end.shape:
        raise ValueError("start_points and end_points must have the same shape. Received "
                         f"start_points.shape={tuple(start.shape)}, end_points.shape={tuple(end.shape)}")
    start = start.unsqueeze(0) if start.dim() == 2 else start
    end = end.unsqueeze(0) if end.dim() == 2 else end
    transforms = _homography(start.detach(), end.detach())
    return _projective(_ko._t(images), transforms, interpolation, "constant", fill_value, data_format)


def _tf_to_int32(v: torch.Tensor) -> torch.Tensor:
    """``tf.cast(float, 'int32')``: truncation; NaN, +-inf and values out of range give ``-2**31`` (x86's
    ``cvttss2si``)."""
    v = v.to(torch.float64)  # exact (half types' range would overflow the bounds)
    ok = torch.isfinite(v) & (v > -2147483649.0) & (v < 2147483648.0)
    return torch.where(ok, torch.trunc(torch.where(ok, v, torch.zeros_like(v))),
                       torch.full_like(v, -2147483648.0)).to(torch.int32)


def _map_fix(index: torch.Tensor, size: int, fill_mode: str):
    """Keras's ``process_coordinates``: (index into the axis, valid mask or None). Keras's ``'reflect'`` and
    ``'mirror'`` fold ``abs(index)`` (``-1`` reads index 1 in both), and ``'mirror'`` maps ``size`` (mod
    ``2 size``) to ``size``, past the end (TensorFlow's gather raises)."""
    if fill_mode == "constant":
        return index.clamp(0, size - 1), (index >= 0) & (index < size)
    if fill_mode == "nearest":
        return index.clamp(0, size - 1), None
    if fill_mode == "wrap":
        return torch.remainder(index, size), None
    a = index.abs()
    mod = torch.remainder(a, 2 * size)
    under = mod < size
    out = torch.where(under, mod, 2 * size - mod)
    if fill_mode == "reflect":
        out = torch.where(under, out, out - 1)
    return out, None


def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0) -> torch.Tensor:
    """``ops.image.map_coordinates(inputs, coordinates, order, fill_mode='constant', fill_value=0)``: Keras's
    TensorFlow implementation (``order`` 0: ``tf.round``, half to even; 1: linear weights ``c - floor(c)`` in the
    coordinates' dtype, the corners summed in Keras's order); the result in the inputs' dtype (integer inputs
    rounded half to even). Quirks kept: integer coordinates with ``order=0`` truncate float inputs to integers;
    ``'reflect'``/``'mirror'`` fold ``abs(index)`` (unlike scipy, ``-1`` reads index 1), and ``'mirror'`` raises
    where an index reaches ``size`` mod ``2 size`` (TensorFlow's gather out of range); an invalid ``fill_mode``
    raises AttributeError (Keras's message formatting fails). Gradients: to the inputs, and with ``order=1`` to
    the coordinates (``floor`` passes none); ``order=0`` gives the coordinates none."""
    x = _ko._t(inputs)
    if isinstance(coordinates, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in coordinates):
        c = torch.stack([_ko._t(v) for v in coordinates])
    else:
        c = _ko._t(coordinates)
    if c.shape[0] != x.dim():
        raise ValueError("First dim of `coordinates` must be the same as the rank of `inputs`. Received inputs with "
                         f"shape: {tuple(x.shape)} and coordinate leading dim of {c.shape[0]}")
    if c.dim() < 2:
        raise ValueError(f"Invalid coordinates rank: expected at least rank 2. Received input with shape: "
                         f"{tuple(c.shape)}")
    if fill_mode not in _MAP_FILL_MODES:
        raise AttributeError(f"Invalid value for argument `fill_mode`. Expected one of {set(_MAP_FILL_MODES)}. "
                             f"Received: fill_mode={fill_mode} (Keras 3.15.1 raises AttributeError: "
                             "'set' object has no attribute 'keys')")
    fill = _ko._t(fill_value, dtype=_ko._dname(x)).to(x.device)
    if order not in (0, 1):
        raise NotImplementedError("map_coordinates currently requires order<=1")
    integer_c = not (c.is_floating_point() or c.is_complex())
    if order == 1 and integer_c:
        raise TypeError(f"map_coordinates(order=1) takes floating coordinates (TensorFlow's Floor has no "
                        f"{_ko._dname(c)} kernel)")
    per_axis = []
    for k, size in enumerate(x.shape):
        ck = c[k]
        if order == 0:
            index = ck.to(torch.int32) if integer_c else _tf_to_int32(torch.round(ck))
            nodes = [(index, torch.ones((), dtype=ck.dtype, device=ck.device))]
        else:
            lower = torch.floor(ck)
            upper_w = ck - lower
            index = _tf_to_int32(lower)
            nodes = [(index, 1 - upper_w), (index + 1, upper_w)]
        per_axis.append([(*_map_fix(i, size, fill_mode), w) for i, w in nodes])
    flat_x = x.reshape(-1)
    strides = [math.prod(x.shape[k + 1:]) for k in range(x.dim())]
    result = None
    for items in itertools.product(*per_axis):
        flat = torch.zeros(c.shape[1:], dtype=torch.int64, device=c.device)
        for (index, _, _), size, stride in zip(items, x.shape, strides):
            if bool(((index < 0) | (index >= size)).any()):
                raise IndexError(f"indices {index[(index < 0) | (index >= size)][:1].tolist()} do not index into "
                                 f"param shape {list(x.shape)} (TensorFlow's GatherNd: InvalidArgumentError; Keras's "
                                 "'mirror' mode maps an index at size mod 2 size past the end)")
            flat = flat + index.to(torch.int64) * stride
        weights = [w for _, _, w in items]
        dtype = weights[0].dtype
        gathered = flat_x[flat].to(dtype)
        if fill_mode == "constant":
            valid = items[0][1]
            for _, v, _ in items[1:]:
                valid = valid & v
            gathered = torch.where(valid, gathered, fill.to(dtype))
        w = weights[0]
        for wk in weights[1:]:
            w = w * wk
        term = w * gathered
        result = term if result is None else result + term
    if x.dtype not in _FLOATS and x.dtype != torch.bool and result.is_floating_point():
        result = torch.round(result)
    return result.to(x.dtype)


def _elastic_normal(shape: tuple, pair: tuple, dtype: torch.dtype, device) -> torch.Tensor:
    """``tf.random.stateless_normal(shape, seed=pair, dtype)`` on Keras's uncast seed (``draw_seed``'s int64 pair:
    all 64 bits of each number enter TensorFlow's key, not ``mod 2**31 - 2``)."""
    from torch_impl import _tf_random as _tr
    if dtype not in _FLOATS:
        raise TypeError(f"ops.image.elastic_transform takes floating images (TensorFlow's stateless_normal has no "
                        f"{dtype} kernel)")
    s0, s1 = (int(v) & 0xFFFFFFFFFFFFFFFF for v in pair)
    w = _tr._philox_scalar((s0 & 0xFFFFFFFF, s0 >> 32, s1 & 0xFFFFFFFF, s1 >> 32), (0x3EC8F720, 0x02461E29))
    n = math.prod(shape)
    base = torch.float64 if dtype == torch.float64 else torch.float32
    per = 2 if base == torch.float64 else 4
    words = _tr._philox_blocks((w[0], w[1]), w[2], w[3],
                               torch.arange((n + per - 1) // per, dtype=torch.int64, device=device))
    return _tr._standard_normal(words, base).reshape(-1)[:n].to(dtype).reshape(shape)


def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0,
                      seed=None, data_format=None) -> torch.Tensor:
    """``ops.image.elastic_transform(images, alpha=20.0, sigma=5.0, interpolation='bilinear', fill_mode='reflect',
    fill_value=0.0, seed=None, data_format=None)``: Keras's TensorFlow implementation: a standard normal field
    ``(N, H, W)`` in the images' dtype from ``seed`` (an int, a ``keras_random.SeedGenerator``, advanced once, or
    None: the global generator) times ``sigma``, blurred by :func:`gaussian_blur` (kernel ``6 int(sigma) | 1``),
    times ``alpha``, added to the pixel grid and resampled per image and channel by :func:`map_coordinates`
    (order 0/1 for nearest/bilinear). Quirk kept: Keras draws ``dx`` and ``dy`` with the same seed, so the
    displacement is the same along both axes (``dy == dx``). Floating images only."""
    from torch_impl import keras_random as _kr
    data_format = _image_data_format(data_format)
    _check_interpolation(interpolation)
    _check_affine_fill_mode(fill_mode)
    _check_rank_3_or_4(images)
    images = _ko._t(images)
    dt = images.dtype
    name = _ko._dname(images)
    alpha_t = _ko._t(alpha, dtype=name).to(images.device)
    sigma_t = _ko._t(sigma, dtype=name).to(images.device)
    kernel = (6 * int(_tf_to_int32(sigma_t.to(torch.float64)))) | 1
    unbatched = images.dim() == 3
    x = images.unsqueeze(0) if unbatched else images
    if data_format == "channels_last":
        batch, height, width, channels = x.shape
        channel_axis = -1
    else:
        batch, channels, height, width = x.shape
        channel_axis = 1
    if isinstance(seed, _kr.SeedGenerator):
        pair = seed.next()
    elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        pair = (int(seed), 0)
    elif seed is None:
        pair = _kr.draw_seed(None)
    else:
        raise ValueError("Argument `seed` must be either an integer or an instance of `SeedGenerator`. "
                         f"Received: seed={seed} (of type {type(seed)})")
    d = _elastic_normal((batch, height, width), pair, dt, x.device) * sigma_t
    d = gaussian_blur(d.unsqueeze(channel_axis), kernel_size=(kernel, kernel), sigma=(float(sigma_t), float(sigma_t)),
                      data_format=data_format).squeeze(channel_axis)  # dx; dy is the same draw
    gx = torch.arange(width, dtype=dt, device=x.device).reshape(1, 1, width)
    gy = torch.arange(height, dtype=dt, device=x.device).reshape(1, height, 1)
    dist_x, dist_y = gx + alpha_t * d, gy + alpha_t * d
    order = _AFFINE_INTERPOLATIONS.index(interpolation)
    outs = []
    for i in range(channels):
        per_image = []
        for b in range(batch):
            img = x[b, ..., i] if data_format == "channels_last" else x[b, i]
            per_image.append(map_coordinates(img, torch.stack([dist_y[b], dist_x[b]]), order, fill_mode, fill_value))
        outs.append(torch.stack(per_image))
    out = torch.stack(outs, dim=-1 if data_format == "channels_last" else 1)
    out = out.squeeze(0) if unbatched else out
    return out.to(dt)


image = types.SimpleNamespace(
    ssim=ssim, rgb_to_grayscale=rgb_to_grayscale, resize=resize, gaussian_blur=gaussian_blur, sobel_edges=sobel_edges,
    crop_images=crop_images, pad_images=pad_images, extract_patches=extract_patches,
    extract_patches_3d=extract_patches_3d, rgb_to_hsv=rgb_to_hsv, hsv_to_rgb=hsv_to_rgb,
    affine_transform=affine_transform, perspective_transform=perspective_transform, map_coordinates=map_coordinates,
    elastic_transform=elastic_transform, scale_and_translate=scale_and_translate)
image.__doc__ = ("``keras.ops.image``'s ported functions: " + ", ".join(
    f"``{n}``" for n in vars(image) if not n.startswith("_")) + ".")


def ctc_decode(inputs, sequence_lengths, strategy: str = "greedy", beam_width: int = 100, top_paths: int = 1,
               merge_repeated: bool = True, mask_index: int = 0):
    """``ops.ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1,
    merge_repeated=True, mask_index=0)``: TensorFlow's CTC decoders on ``inputs`` ``(N, T, C)`` (logits, the blank
    at ``mask_index``; Keras moves that column last, decodes, and shifts the labels back). Returns ``(decoded,
    scores)``: ``decoded`` int32 ``(top_paths, N, T)`` padded with -1; ``scores`` ``(N, 1)`` (greedy: minus the sum
    of each step's maximum) or ``(N, top_paths)`` (beam search: the paths' log probabilities). The beam search runs
    TensorFlow's algorithm step for step (``torch_impl._ctc_decode``) and does not merge repeats (Keras passes no
    ``merge_repeated`` to it), exactly tied beams in TensorFlow's order."""
    from torch_impl import _ctc_decode
    x = _ko._t(inputs)
    if x.dim() != 3:
        raise ValueError(f"ctc_decode: inputs must be (batch, steps, classes), got shape {tuple(x.shape)}")
    dt = _ko._tdt(_ko.result_type(_ko._dname(x), "float32"))
    x = x.detach().to(dt)
    n, steps, classes = x.shape
    lengths = _ko._t(sequence_lengths).to(torch.int64).reshape(-1).tolist()
    if len(lengths) != n or any(v < 0 or v > steps for v in lengths):
        raise ValueError(f"ctc_decode: sequence_lengths must hold {n} lengths in [0, {steps}], got {lengths}")
    if strategy not in ("greedy", "beam_search"):
        raise ValueError(f"Invalid strategy {strategy}. Supported values are 'greedy' and 'beam_search'.")
    blank = None if mask_index is None else int(mask_index) % classes
    if blank is not None:
        x = torch.cat([x[..., :blank], x[..., blank + 1:], x[..., blank:blank + 1]], -1)
    scores = x.cpu().numpy()
    if strategy == "greedy":
        paths, score = _ctc_decode.greedy_decode(scores, lengths, merge_repeated=merge_repeated)
        all_paths = [paths]
    else:
        all_paths, score = _ctc_decode.beam_search_decode(scores, lengths, int(beam_width), int(top_paths),
                                                          merge_repeated=False)
    decoded = _ctc_decode.dense_paths(all_paths, n, steps).to(torch.int32)
    if blank is not None:
        decoded = torch.where(decoded >= blank, decoded + 1, decoded)
    return decoded.to(x.device), torch.as_tensor(score).to(x.device)

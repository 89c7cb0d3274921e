"""Keras 3 losses, re-implemented natively in PyTorch: the crossentropy family (with fused CUDA kernels) and the
rest of ``keras.losses`` (regression, hinge, KL/Poisson, Dice/Tversky, Circle, generalized crossentropy, CTC).

Every loss comes twice, as in Keras: an unreduced functional form
(``categorical_crossentropy(y_true, y_pred, ...)`` returns one loss per sample)
and a ``torch.nn.Module`` class that applies Keras's reduction, sample weights
and masks (``CategoricalCrossentropy(...)(y_true, y_pred, sample_weight)``).
Argument names, argument order (``y_true`` first) and defaults are Keras's.

The numbers are Keras's numbers on its TensorFlow backend (keras 3.15.1):
probabilities are clipped to ``[1e-7, 1 - 1e-7]`` (zero gradient outside),
``from_logits`` paths use TensorFlow's fused crossentropy ops and their
gradients, reductions divide by the number of elements (see
:mod:`torch_impl.reduction`). Half-precision inputs compute in float32, float64
stays float64.

Example:
    >>> import torch
    >>> from torch_impl import losses
    >>> y_true = torch.tensor([[0., 1., 0.], [0., 0., 1.]])
    >>> y_pred = torch.tensor([[0.05, 0.95, 0.], [0.1, 0.8, 0.1]])
    >>> losses.CategoricalCrossentropy()(y_true, y_pred)
    tensor(1.1769)
    >>> losses.categorical_crossentropy(y_true, y_pred)
    tensor([0.0513, 2.3026])
"""

from __future__ import annotations

import math
import numbers
import os
import re
import sys
import warnings
from typing import Callable, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from torch_impl import _fused, _ops
from torch_impl.reduction import (
    element_weights,
    reduce_weighted_values,
    squeeze_or_expand_to_same_rank,
    standardize_reduction,
)

__all__ = [
    "Loss",
    "LossFunctionWrapper",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "BinaryCrossentropy",
    "BinaryFocalCrossentropy",
    "CategoricalFocalCrossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "categorical_focal_crossentropy",
    "focal_loss",
    # the rest of keras.losses
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError",
    "CosineSimilarity", "Huber", "LogCosh", "Hinge", "SquaredHinge", "CategoricalHinge", "KLDivergence", "Poisson",
    "Dice", "Tversky", "Circle", "CategoricalGeneralizedCrossEntropy", "CTC",
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "cosine_similarity", "huber", "log_cosh", "hinge", "squared_hinge",
    "categorical_hinge", "kl_divergence", "poisson", "dice", "tversky", "circle",
    "categorical_generalized_cross_entropy", "ctc", "l2_normalize",
    "get",
    "make",
    "serialize",
    "deserialize",
    "set_label_check",
]

TensorLike = Union[torch.Tensor, Sequence, float, int]
_HALF = (torch.float16, torch.bfloat16)


# --------------------------------------------------------------------------
# input handling and argument checks
# --------------------------------------------------------------------------


_POLICIES = {"mixed_float16": torch.float16, "mixed_bfloat16": torch.bfloat16}  # Keras policy -> compute dtype


def _resolve_dtype(dtype) -> Optional[torch.dtype]:
    """A loss's ``dtype=``: ``None``, a floating torch dtype, its name, or a Keras mixed-precision policy name
    (its compute dtype). Anything else raises: an integer dtype would round the predictions to integers."""
    if dtype is None:
        return None
    resolved = dtype if isinstance(dtype, torch.dtype) else None
    if isinstance(dtype, str):
        resolved = _POLICIES.get(dtype) or getattr(torch, dtype, None)
    if not isinstance(resolved, torch.dtype) or not resolved.is_floating_point:
        raise ValueError(f"Invalid dtype {dtype!r}: expected None, a floating torch.dtype, its name like "
                         "'float32', or 'mixed_float16'/'mixed_bfloat16'.")
    return resolved


def _compute_dtype(y_pred: torch.Tensor, dtype: Optional[torch.dtype]) -> torch.dtype:
    if dtype is not None:
        return dtype
    if y_pred.dtype in _HALF:
        return torch.float32
    if y_pred.is_floating_point():
        return y_pred.dtype
    return torch.get_default_dtype()


def _snake_case(name: str) -> str:
    """Keras's default loss name from a class name (``keras.src.utils.naming.to_snake_case``)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", re.sub(r"\W+", "", name))
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _as_tensor(x: TensorLike, device=None) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x if device is None or x.device == device else x.to(device)
    return torch.as_tensor(x, device=device)


def _prepare(y_true, y_pred, dtype=None, labels_are_indices=False, keep_half=False):
    """Convert inputs to tensors; floats to the compute dtype (halves -> float32).

    With ``keep_half`` (the fused kernels, which read half precision and
    accumulate in float32) ``y_pred`` keeps a float16/bfloat16 dtype.
    """
    y_pred = _as_tensor(y_pred)
    if y_pred.is_complex():
        raise ValueError(f"y_pred must be real, got dtype {y_pred.dtype}")
    pred_is_integer = not y_pred.is_floating_point()
    cdt = _compute_dtype(y_pred, dtype)
    # An explicit half dtype (Keras: the loss computes in it) rounds the inputs to
    # it; the arithmetic runs in float32 and Loss.forward rounds the result back.
    round_to = cdt if cdt in _HALF else None
    cdt = torch.float32 if round_to is not None else cdt
    kernel_half = keep_half and dtype is None and y_pred.dtype in _HALF
    if not kernel_half:
        given = y_pred
        y_pred = (y_pred if round_to is None else y_pred.to(round_to)).to(cdt)
        if round_to is not None and given.dtype == round_to and y_pred is not given:
            # Keras's convert_to_tensor to the loss's own (half) dtype is the identity: the prediction keeps the
            # logits behind its activation (computed here in float32, as the rest)
            for attr in ("_keras_logits", "_keras_activation"):
                if getattr(given, attr, None) is not None:
                    setattr(y_pred, attr, getattr(given, attr))
    y_true = _as_tensor(y_true, y_pred.device)
    if pred_is_integer and y_true.is_floating_point():
        _warn_swapped(y_true, y_pred)
    # the kernels read any float target (but float64) and compute in float32: no copy for them
    kernel_reads_y = kernel_half and y_true.is_floating_point() and y_true.dtype != torch.float64
    if not (labels_are_indices or kernel_reads_y):
        y_true = (y_true if round_to is None else y_true.to(round_to)).to(cdt)
    return y_true, y_pred


_SWAPPED = (" The arguments look swapped: torch_impl losses take Keras's order, loss(y_true, y_pred), where "
            "torch's F.cross_entropy / nn.CrossEntropyLoss take (input, target).")


def _user_stacklevel() -> int:
    """The ``stacklevel`` of the first caller outside torch_impl and torch's module machinery."""
    inside = (os.path.dirname(os.path.abspath(__file__)), os.path.dirname(os.path.abspath(torch.__file__)))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(inside):
        frame, level = frame.f_back, level + 1
    return level


def _warn_swapped(y_true: torch.Tensor, y_pred: torch.Tensor) -> None:
    warnings.warn(f"y_pred has an integer dtype and y_true the float dtype {y_true.dtype}: "
                  f"predictions are never integers.{_SWAPPED} Keras casts them and computes; so does torch_impl.",
                  stacklevel=_user_stacklevel())


def _kernels_for(y_pred) -> bool:
    """Whether the fused Triton kernels take this prediction (see torch_impl.kernels)."""
    if not isinstance(y_pred, torch.Tensor):
        return False
    from torch_impl import kernels

    return kernels.use_triton(y_pred)


_REDUCING = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight")
_class_last_2d = _fused._rows  # ``t`` with the class ``axis`` moved last, as rows: (R, C)


def _check_axis(axis) -> int:
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis!r} of type {type(axis)}")
    return int(axis)


def _canonical_axis(axis: int, rank: int, name: str = "y_pred") -> int:
    if rank == 0:
        raise ValueError(f"`{name}` must be at least rank 1 to have an axis {axis}. Received a scalar.")
    if not -rank <= axis < rank:
        raise ValueError(f"axis={axis} is out of range for {name} of rank {rank}.")
    return axis % rank


class _Smoothing(float):
    """A label smoothing given as a NumPy float32/float16 scalar: Keras's ``1.0 - label_smoothing`` is then
    NumPy scalar arithmetic in that type (rounded), kept here as ``complement``."""

    complement: float


def _check_label_smoothing(label_smoothing) -> float:
    if label_smoothing is None:  # Keras tests `if label_smoothing:`
        return 0.0
    try:
        s = float(label_smoothing)
    except (TypeError, ValueError):
        s = math.nan  # not a number: rejected below
    if not 0.0 <= s <= 1.0:
        raise ValueError(f"`label_smoothing` must be a float in [0, 1]. Received: label_smoothing={label_smoothing!r}")
    if not isinstance(label_smoothing, torch.Tensor) and str(getattr(label_smoothing, "dtype", "")) in (
            "float32", "float16"):  # a NumPy scalar
        s = _Smoothing(s)
        s.complement = float(1.0 - label_smoothing)
    return s


def _complement(label_smoothing: float) -> float:
    """Keras's ``1.0 - label_smoothing`` (in float32 for a NumPy float32 smoothing, as NumPy computes it)."""
    return getattr(label_smoothing, "complement", 1.0 - label_smoothing)


def _check_gamma(gamma) -> float:
    g = float(gamma)
    if not g >= 0.0:  # also rejects NaN
        raise ValueError(f"`gamma` must be >= 0. Received: gamma={gamma!r}")
    return g


def _check_nonnegative(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not v >= 0.0:  # also rejects NaN
        raise ValueError(f"`{name}` must be a float >= 0. Received: {name}={value!r}")
    return v


def _check_q(q) -> float:
    try:
        v = float(q)
    except (TypeError, ValueError):
        v = math.nan
    if not 0 < v < 1:
        raise ValueError(f"q must be in the interval (0, 1). Received: q={q!r}")
    return v


def _check_real(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value:
        raise ValueError(f"`{name}` must be a number. Received: {name}={value!r}")
    return float(value)


def _check_axes(axis):
    """An ``axis`` argument of a reduction over several axes (Dice, Tversky): None, an int or a tuple of ints."""
    if axis is None:
        return None
    if isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
        return int(axis)
    if isinstance(axis, (tuple, list)) and all(isinstance(a, numbers.Integral) and not isinstance(a, bool)
                                               for a in axis):
        return tuple(int(a) for a in axis)
    raise ValueError(f"`axis` must be None, an int or a tuple of ints. Received: axis={axis!r}")


def _check_alpha_scalar(alpha) -> float:
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise ValueError(f"`alpha` must be a float. Received: alpha={alpha!r}") from None
    if a != a:
        raise ValueError("`alpha` must not be NaN.")
    return a


def _check_binary_alpha(alpha, apply_class_balancing) -> Optional[float]:
    """Binary focal's ``alpha``: one float; ``None`` is kept when class balancing is off (Keras never reads it
    then)."""
    if alpha is None and not apply_class_balancing:
        return None
    try:
        n = torch.as_tensor(alpha).numel()
    except (TypeError, ValueError, RuntimeError):
        n = 1  # not numbers at all: _check_alpha_scalar says so
    if n != 1:
        raise ValueError("BinaryFocalCrossentropy: `alpha` must be one float; Keras also broadcasts an array "
                         "of per-column weights against the labels, which torch_impl does not. Weight the "
                         f"columns through sample_weight instead. Received: alpha={alpha!r}")
    return _check_alpha_scalar(alpha)


def _check_ignore_class(ignore_class) -> Optional[int]:
    """``ignore_class``: an integer, or a float holding one (Keras compares labels with it either way)."""
    if ignore_class is None:
        return None
    if isinstance(ignore_class, numbers.Real) and not isinstance(ignore_class, bool) and \
            float(ignore_class).is_integer():
        return int(ignore_class)
    raise ValueError(f"`ignore_class` must be an integer or None. Received: {ignore_class!r}")


def _tf_sequence_dtype(seq) -> torch.dtype:
    """The float dtype ``tf.convert_to_tensor`` gives a list or tuple: its first number's (TensorFlow infers from
    the first element, nested lists descended, and converts the rest to it): float64 for a NumPy float64 (or a
    float64 array), float16 for a NumPy float16, float32 for a Python float, an int or a bool (ints with floats
    among them become float32; all ints int32, which Keras's ``multiply`` then promotes to the inputs' dtype)."""
    x = seq
    while isinstance(x, (list, tuple)) and len(x) > 0:
        x = x[0]
    if hasattr(x, "dtype"):  # a NumPy scalar or array, a tensor
        try:
            dt = torch.as_tensor(x).dtype
        except (TypeError, ValueError, RuntimeError):
            dt = None
        if dt is not None and dt.is_floating_point:
            return dt
    return torch.float32


def _check_alpha_categorical(alpha):
    if isinstance(alpha, numbers.Real) and not isinstance(alpha, bool) and not hasattr(alpha, "dtype"):
        return _check_alpha_scalar(alpha)
    # Like Keras on TensorFlow: a Python list or tuple converts as tf.convert_to_tensor converts it (the first
    # element's type: Python floats to float32, whatever floatx is, so per-class alphas are rounded to float32 even
    # in a float64 loss; NumPy float64 scalars to float64); an array or tensor keeps its own float dtype. A float64
    # alpha (a NumPy float64 scalar too) makes Keras's ops.multiply promote float32 losses to float64.
    if isinstance(alpha, torch.Tensor) and alpha.requires_grad:
        raise ValueError("`alpha` is a constant of the loss (Keras's is): it gets no gradient. Pass "
                         "alpha.detach().")
    try:
        if isinstance(alpha, (list, tuple)):
            dt = _tf_sequence_dtype(alpha)
            try:
                t = torch.tensor(alpha, dtype=dt)
            except TypeError:  # 0-d arrays among the elements
                t = torch.stack([torch.as_tensor(v).to(dt) for v in alpha])
        else:
            t = torch.as_tensor(alpha)
    except (TypeError, ValueError, RuntimeError) as e:  # Keras's convert_to_tensor raises ValueError
        raise ValueError(f"Attempt to convert a value ({alpha!r}) with an unsupported type ({type(alpha)}) to a "
                         "Tensor: `alpha` must be a float or a 1-D sequence of per-class floats.") from e
    if not t.is_floating_point():
        t = t.to(torch.get_default_dtype())
    if t.dim() == 0:
        a = _check_alpha_scalar(t.item())
        if t.dtype != torch.float64:
            return a
        t = t.reshape(1)  # a float64 scalar: one value for every class, kept float64 (Keras promotes with it)
    if t.dim() > 1 and all(d == 1 for d in t.shape[:-1]):
        t = t.reshape(-1)  # (1, C) broadcasts over the rows as (C,), as Keras's multiply does
    if t.dim() != 1 or t.numel() == 0:
        raise ValueError(f"`alpha` must be a float or a 1-D sequence of per-class floats. Received shape {tuple(t.shape)}")
    if not _is_compiling() and bool(torch.isnan(t).any()):
        raise ValueError("`alpha` must not contain NaN.")
    return t


def _same_shape_or_raise(y_true: torch.Tensor, y_pred: torch.Tensor, loss: str, axis: int | None = None):
    if y_true.dim() < 1:
        raise ValueError(
            "Arguments `target` and `output` must be at least rank 1. "
            f"Received: y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}"
        )
    if y_true.shape == y_pred.shape:
        return
    hint = ""
    if axis is not None and y_pred.dim() >= 1:
        ax = axis % y_pred.dim()
        no_class = y_pred.shape[:ax] + y_pred.shape[ax + 1:]
        with_one = y_pred.shape[:ax] + (1,) + y_pred.shape[ax + 1:]
        if tuple(y_true.shape) in (tuple(no_class), tuple(with_one)) and y_pred.shape[ax] > 1:
            hint = (
                f" y_true looks like integer class labels (one per sample) while {loss} needs "
                "one-hot (or probability) targets of y_pred's shape: use "
                "SparseCategoricalCrossentropy for integer labels, or one-hot encode them."
            )
    elif loss.startswith("binary"):
        if y_pred.dim() == y_true.dim() + 1 and y_pred.shape[:-1] == y_true.shape and y_pred.shape[-1] > 1:
            hint = (
                " y_pred has a class axis that y_true lacks: for integer labels and a "
                "multi-class (softmax) output use SparseCategoricalCrossentropy."
            )
    raise ValueError(
        f"{loss}: arguments `y_true` and `y_pred` must have the same shape. "
        f"Received: y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}.{hint}"
    )


def _warn_single_class(y_pred: torch.Tensor, axis: int, loss: str):
    if y_pred.dim() >= 1 and y_pred.shape[axis] == 1:
        warnings.warn(
            f"In loss {loss}, expected y_pred.shape to be (batch_size, num_classes) "
            f"with num_classes > 1. Received: y_pred.shape={tuple(y_pred.shape)}. "
            "Consider using 'binary_crossentropy' if you only have 2 classes.",
            SyntaxWarning,
            stacklevel=3,
        )


def _smooth_categorical(y_true: torch.Tensor, label_smoothing: float, axis: int) -> torch.Tensor:
    # Keras 3.15.1 counts classes along y_true's LAST axis; upstream counts along
    # `axis`. We follow the fix (identical when axis is the last axis).
    if not label_smoothing or y_true.numel() == 0:
        return y_true
    num_classes = y_true.shape[axis]
    return y_true * _complement(label_smoothing) + (label_smoothing / num_classes)


def _binary_focal_behind_softmax(y_true, p, logits, apply_class_balancing, alpha, gamma, label_smoothing, axis):
    """Keras's binary focal crossentropy on a softmax output (a custom loss, or the class, on a two-unit softmax
    inside ``fit``): its ``binary_crossentropy`` finds the softmax's logits and takes the *sigmoid* crossentropy of
    them, while the focal factor ``(1 - p_t)**gamma`` comes from the softmax probabilities ``p`` themselves."""
    p = p.float() if p.dtype in _HALF else p
    z = logits.to(p.dtype)
    y = y_true.to(p.dtype)
    if label_smoothing:
        y = y * _complement(label_smoothing) + 0.5 * label_smoothing
    return _fused.focal_mean(y, p, _ops.sigmoid_xent(y, z), gamma, alpha, apply_class_balancing, axis)


def _is_compiling() -> bool:
    return torch.compiler.is_compiling()


# --------------------------------------------------------------------------
# functional forms (unreduced)
# --------------------------------------------------------------------------


def _keras_logits(y_pred, from_logits: bool, fn_name: str):
    """Keras's ``_get_logits``: a prediction that carries ``_keras_logits`` (the logits behind a sigmoid/softmax
    output; :func:`torch_impl.fit.fit` attaches them as Keras's activations do) hands its crossentropy those
    logits, whatever ``from_logits`` says; so a custom loss ``fn(y_true, y_pred)`` that calls these functions
    inside ``fit`` computes what it computes inside ``model.fit``. Plain tensors are untouched."""
    logits = getattr(y_pred, "_keras_logits", None)
    if logits is None:
        return y_pred, from_logits
    if from_logits:
        warnings.warn(f"`{fn_name}` received `from_logits=True`, but the `output` argument was produced by a "
                      "sigmoid or softmax activation and thus does not represent logits. Was this intended?",
                      UserWarning, stacklevel=3)
    return logits, True


@_ops.without_autocast
def categorical_crossentropy(
    y_true: TensorLike,
    y_pred: TensorLike,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> torch.Tensor:
    """Categorical crossentropy per sample, as ``keras.losses.categorical_crossentropy``.

    From probabilities: ``y_pred`` is divided by its sum over ``axis``, clipped
    to ``[1e-7, 1 - 1e-7]`` and ``-sum(y_true * log(p))`` is taken. From logits:
    softmax crossentropy with TensorFlow's gradient ``softmax(z) - y_true``.

    Args:
        y_true: one-hot or probability targets, same shape as ``y_pred``.
        y_pred: probabilities (or logits with ``from_logits=True``).
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: in ``[0, 1]``; targets become ``y*(1-s) + s/C``.
        axis: the class axis.

    Returns:
        The loss with ``axis`` reduced away, e.g. shape ``(N,)``.

    Example:
        >>> import torch
        >>> categorical_crossentropy(torch.tensor([[0., 1., 0.]]),
        ...                          torch.tensor([[0.05, 0.95, 0.]]))
        tensor([0.0513])
    """
    axis = _check_axis(axis)
    label_smoothing = _check_label_smoothing(label_smoothing)
    y_pred, from_logits = _keras_logits(y_pred, bool(from_logits), "categorical_crossentropy")
    kernel = bool(from_logits) and _kernels_for(y_pred)
    y_true, y_pred = _prepare(y_true, y_pred, keep_half=kernel)
    return _categorical_crossentropy(y_true, y_pred, bool(from_logits), label_smoothing, axis)


def _categorical_crossentropy(y_true, y_pred, from_logits, label_smoothing, axis):
    _same_shape_or_raise(y_true, y_pred, "categorical_crossentropy", axis)
    axis = _canonical_axis(axis, y_pred.dim())
    _warn_single_class(y_pred, axis, "categorical_crossentropy")
    if from_logits and _kernels_for(y_pred):
        from torch_impl.kernels import ops

        rows = ops.softmax_xent_rows(_class_last_2d(y_pred, axis), _class_last_2d(y_true, axis), False, label_smoothing)
        return rows.reshape(y_pred.shape[:axis] + y_pred.shape[axis + 1:])
    y_pred = y_pred.float() if y_pred.dtype in _HALF else y_pred
    y_true = _smooth_categorical(y_true, label_smoothing, axis)
    if from_logits:
        return _ops.softmax_xent(y_true, y_pred, axis)
    # y_pred / sum(y_pred, axis), clipped to [1e-7, 1 - 1e-7], then -sum(y * log(p))
    return _fused.categorical_probs(y_true, y_pred, axis)


_SYNC_LABEL_CHECK = {"cuda": False}


def set_label_check(cuda_sync: bool) -> None:
    """How sparse labels are range-checked on CUDA.

    Labels are always checked. On CPU a bad label raises ``ValueError``. On
    CUDA the default check runs on the device without a host sync, and a bad
    label stops the device with a device-side assertion (as ``F.cross_entropy``
    does); ``set_label_check(cuda_sync=True)`` raises ``ValueError`` instead, at
    the cost of one device sync per call.
    """
    _SYNC_LABEL_CHECK["cuda"] = bool(cuda_sync)


def _sparse_labels(y_true: torch.Tensor, y_pred: torch.Tensor, axis: int, ignore_class,
                   check_range: bool = True, loss: str = "sparse_categorical_crossentropy") -> torch.Tensor:
    """Squeeze, check shape, integrality and range of sparse labels; return int64.

    ``check_range=False`` when a fused kernel checks the range itself.
    """
    rank = y_pred.dim()
    if rank < 1:
        raise ValueError(f"Argument `output` must be at least rank 1. Received: y_pred.shape={tuple(y_pred.shape)}")
    if y_true.dim() == rank and y_true.shape[axis] == 1:
        y_true = y_true.squeeze(axis)
    expected = y_pred.shape[:axis] + y_pred.shape[axis + 1:]
    if y_true.shape != expected:
        hint = ""
        if y_true.dim() == rank and y_true.shape[axis] == y_pred.shape[axis] and y_pred.shape[axis] > 1:
            hint = (
                " y_true looks one-hot encoded (it has y_pred's class axis): use "
                "CategoricalCrossentropy for one-hot targets, or pass integer labels "
                "(y_true.argmax(axis)) to SparseCategoricalCrossentropy."
            )
        raise ValueError(
            f"{loss}: `y_true` must have the shape of `y_pred` "
            f"without the class axis {axis}, i.e. {tuple(expected)}. Received: "
            f"y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}.{hint}"
        )
    if y_true.is_complex():
        raise ValueError(f"sparse labels must be integers, got dtype {y_true.dtype}")
    if y_true.is_floating_point():
        if not _ops.values_hidden(y_true) and y_true.numel() and bool((y_true != torch.trunc(y_true)).any()):
            raise ValueError(
                f"{loss}: `y_true` holds non-integer values; "
                "it must hold integer class ids. Probability or one-hot targets go to "
                "CategoricalCrossentropy."
            )
        y_true = y_true.to(torch.int64)
    else:
        y_true = y_true.to(torch.int64)
    if check_range and not _ops.values_hidden(y_true) and y_true.numel():
        num_classes = y_pred.shape[axis]
        bad = (y_true < 0) | (y_true >= num_classes)
        if ignore_class is not None:
            bad &= y_true != ignore_class
        if y_true.is_cuda and not _SYNC_LABEL_CHECK["cuda"]:
            # no device sync: a bad label stops the device with this message
            torch._assert_async(~bad.any(), f"{loss}: a label is outside [0, {num_classes})")
        elif bool(bad.any()):
            first = int(y_true[bad][0])
            raise ValueError(
                f"{loss}: label {first} is outside the valid "
                f"range [0, {num_classes}) of y_pred's class axis"
                + ("" if ignore_class is None else f" (and is not ignore_class={ignore_class})")
                + "."
            )
    return y_true


@_ops.without_autocast
def sparse_categorical_crossentropy(
    y_true: TensorLike,
    y_pred: TensorLike,
    from_logits: bool = False,
    ignore_class: Optional[int] = None,
    axis: int = -1,
) -> torch.Tensor:
    """Crossentropy with integer targets, as ``keras.losses.sparse_categorical_crossentropy``.

    From probabilities: ``y_pred`` is clipped to ``[1e-7, 1 - 1e-7]``, logged and
    passed through softmax crossentropy, which renormalises the clipped
    probabilities implicitly. From logits: softmax crossentropy. Entries whose
    label equals ``ignore_class`` get loss 0 and no gradient (the classes also
    exclude them from the mean). A class ``axis`` other than the last follows
    Keras's torch backend (the only one that supports it).

    Args:
        y_true: integer class ids of ``y_pred``'s shape without ``axis`` (a
            trailing 1-dim is squeezed).
        y_pred: probabilities (or logits with ``from_logits=True``).
        from_logits: whether ``y_pred`` holds logits.
        ignore_class: a label value to mask out, e.g. ``-1`` or ``255``.
        axis: the class axis.

    Example:
        >>> import torch
        >>> sparse_categorical_crossentropy(torch.tensor([1, 2]),
        ...     torch.tensor([[0.05, 0.95, 0.], [0.1, 0.8, 0.1]]))
        tensor([0.0513, 2.3026])
    """
    if ignore_class is None:  # Keras masks y_pred first with ignore_class: a new tensor, no logits behind it
        y_pred, from_logits = _keras_logits(y_pred, bool(from_logits), "sparse_categorical_crossentropy")
    res, valid = _sparse_categorical_crossentropy_masked(y_true, y_pred, from_logits, ignore_class, axis)
    if valid is not None:
        # Keras's function marks the ignored entries (set_keras_mask on its result): a LossFunctionWrapper of a
        # function returning it, or a Mean given it with a sample weight, leaves them out as Keras's do
        res._keras_mask = valid
    return res


def _sparse_categorical_crossentropy_masked(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1, dtype=None):
    axis = _check_axis(axis)
    ignore_class = _check_ignore_class(ignore_class)
    kernel = bool(from_logits) and _kernels_for(y_pred)
    y_true, y_pred = _prepare(y_true, y_pred, dtype, labels_are_indices=True, keep_half=kernel)
    axis = _canonical_axis(axis, y_pred.dim())
    kernel_last = kernel and axis == y_pred.dim() - 1
    labels = _sparse_labels(y_true, y_pred, axis, ignore_class, check_range=not kernel_last)
    if kernel_last:
        from torch_impl.kernels import ops

        rows = ops.softmax_xent_rows(y_pred.reshape(-1, y_pred.shape[-1]), labels.reshape(-1), True, 0.0, ignore_class)
        return rows.reshape(labels.shape), (None if ignore_class is None else labels != ignore_class)
    y_pred = y_pred.float() if y_pred.dtype in _HALF else y_pred
    valid = None
    if ignore_class is not None:
        valid = labels != ignore_class
        labels = torch.where(valid, labels, torch.zeros_like(labels))
        y_pred = torch.where(valid.unsqueeze(axis), y_pred, torch.zeros_like(y_pred))
    if axis == y_pred.dim() - 1:
        # TensorFlow backend: clip + log, then sparse softmax crossentropy.
        logits = y_pred if from_logits else torch.log(_ops.clip(y_pred))
        res = _ops.sparse_xent(labels, logits)
    else:
        # Keras's torch backend (TensorFlow supports axis=-1 only).
        moved = y_pred.movedim(axis, 1).contiguous()  # nll_loss's CPU backward needs it (channels-last input)
        if from_logits:
            res = F.cross_entropy(moved, labels, reduction="none")
        else:
            output = _ops.clip(moved / moved.sum(1, keepdim=True))
            res = F.nll_loss(torch.log(output), labels, reduction="none")
    if valid is not None:
        res = torch.where(valid, res, torch.zeros_like(res))
    return res, valid


@_ops.without_autocast
def binary_crossentropy(
    y_true: TensorLike,
    y_pred: TensorLike,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> torch.Tensor:
    """Binary crossentropy averaged over ``axis``, as ``keras.losses.binary_crossentropy``.

    From probabilities: clip to ``[1e-7, 1 - 1e-7]``, then
    ``-(y log p + (1-y) log(1-p))``. From logits: the stable
    ``max(x,0) - x*y + log1p(exp(-|x|))``. Smoothing: ``y*(1-s) + 0.5*s``.

    Example:
        >>> import torch
        >>> binary_crossentropy(torch.tensor([[0., 1.], [0., 0.]]),
        ...                     torch.tensor([[0.6, 0.4], [0.4, 0.6]]))
        tensor([0.9163, 0.7136])
    """
    axis = _check_axis(axis)
    label_smoothing = _check_label_smoothing(label_smoothing)
    y_pred, from_logits = _keras_logits(y_pred, bool(from_logits), "binary_crossentropy")
    y_true, y_pred = _prepare(y_true, y_pred, keep_half=_kernels_for(y_pred))
    return _binary_crossentropy(y_true, y_pred, bool(from_logits), label_smoothing, axis)


def _binary_crossentropy(y_true, y_pred, from_logits, label_smoothing, axis):
    _same_shape_or_raise(y_true, y_pred, "binary_crossentropy")
    axis = _canonical_axis(axis, y_pred.dim())
    if _kernels_for(y_pred):
        from torch_impl.kernels import ops

        rows = ops.binary_rows(_class_last_2d(y_pred, axis), _class_last_2d(y_true, axis), from_logits,
                               smoothing=label_smoothing)
        return rows.reshape(y_pred.shape[:axis] + y_pred.shape[axis + 1:])
    y_pred = y_pred.float() if y_pred.dtype in _HALF else y_pred
    if label_smoothing:
        y_true = y_true * _complement(label_smoothing) + 0.5 * label_smoothing
    # from logits: max(x,0) - x*y + log1p(exp(-|x|)); from probabilities: clip,
    # then -(y log p + (1-y) log(1-p)); mean over the axis
    return _fused.binary_crossentropy(y_true, y_pred, from_logits, axis)


@_ops.without_autocast
def binary_focal_crossentropy(
    y_true: TensorLike,
    y_pred: TensorLike,
    apply_class_balancing: bool = False,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> torch.Tensor:
    """Binary focal crossentropy, as ``keras.losses.binary_focal_crossentropy``.

    ``mean(weight * (1 - p_t)**gamma * bce, axis)`` with ``p_t = y*p + (1-y)*(1-p)``
    and ``weight = y*alpha + (1-y)*(1-alpha)`` when ``apply_class_balancing``.
    With ``from_logits`` Keras (TensorFlow backend) applies the sigmoid for
    ``p_t`` but computes ``bce`` with the stable logits formula (the sigmoid
    output carries its logits), not with clipped probabilities.

    Example:
        >>> import torch
        >>> binary_focal_crossentropy(torch.tensor([[0., 1.], [0., 0.]]),
        ...                           torch.tensor([[0.6, 0.4], [0.4, 0.6]]), gamma=2.0)
        tensor([0.3299, 0.2058])
    """
    axis = _check_axis(axis)
    label_smoothing = _check_label_smoothing(label_smoothing)
    gamma = _check_gamma(gamma)
    alpha = _check_binary_alpha(alpha, apply_class_balancing)
    if not from_logits and getattr(y_pred, "_keras_activation", None) != "softmax":
        # Keras: the crossentropy term from the logits behind a sigmoid output, the factor from it (equal to the
        # sigmoid of those logits); behind a softmax output the factor needs the probabilities (below)
        y_pred, from_logits = _keras_logits(y_pred, False, "binary_focal_crossentropy")
    y_true, y_pred = _prepare(y_true, y_pred, keep_half=_kernels_for(y_pred))
    return _binary_focal_crossentropy(
        y_true, y_pred, bool(apply_class_balancing), alpha, gamma, bool(from_logits), label_smoothing, axis
    )


def _binary_focal_crossentropy(y_true, y_pred, apply_class_balancing, alpha, gamma, from_logits, label_smoothing, axis):
    _same_shape_or_raise(y_true, y_pred, "binary_focal_crossentropy")
    axis = _canonical_axis(axis, y_pred.dim())
    logits = getattr(y_pred, "_keras_logits", None)
    if logits is not None and not from_logits and getattr(y_pred, "_keras_activation", None) == "softmax":
        return _binary_focal_behind_softmax(y_true, y_pred, logits, apply_class_balancing, alpha, gamma,
                                            label_smoothing, axis)
    if _kernels_for(y_pred):
        from torch_impl.kernels import ops

        rows = ops.binary_rows(_class_last_2d(y_pred, axis), _class_last_2d(y_true, axis), from_logits, True,
                               apply_class_balancing, gamma, alpha, label_smoothing)
        return rows.reshape(y_pred.shape[:axis] + y_pred.shape[axis + 1:])
    y_pred = y_pred.float() if y_pred.dtype in _HALF else y_pred
    if label_smoothing:
        y_true = y_true * _complement(label_smoothing) + 0.5 * label_smoothing
    # (weight *) (1 - p_t)**gamma * bce; with from_logits bce is the logits formula
    return _fused.binary_focal(y_true, y_pred, gamma, alpha, apply_class_balancing, from_logits, axis)


@_ops.without_autocast
def categorical_focal_crossentropy(
    y_true: TensorLike,
    y_pred: TensorLike,
    alpha: Union[float, Sequence[float], torch.Tensor] = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> torch.Tensor:
    """Categorical focal crossentropy, as ``keras.losses.categorical_focal_crossentropy``.

    Softmax if ``from_logits``; divide by the sum over ``axis``; clip; then
    ``sum(-y * log(p) * alpha * (1 - p)**gamma, axis)``. ``alpha`` is a float or
    one float per class (broadcast along ``axis``); a float64 ``alpha`` (a NumPy
    float64 too) on float32 inputs returns float64, as Keras's ``ops.multiply`` promotes.

    Example:
        >>> import torch
        >>> categorical_focal_crossentropy(torch.tensor([[0., 1., 0.], [0., 0., 1.]]),
        ...     torch.tensor([[0.05, 0.9, 0.05], [0.1, 0.85, 0.05]]))
        tensor([2.6340e-04, 6.7591e-01])
    """
    axis = _check_axis(axis)
    label_smoothing = _check_label_smoothing(label_smoothing)
    gamma = _check_gamma(gamma)
    alpha = _check_alpha_categorical(alpha)
    y_true, y_pred = _prepare(y_true, y_pred, keep_half=_kernels_for(y_pred))
    return _categorical_focal_crossentropy(y_true, y_pred, alpha, gamma, bool(from_logits), label_smoothing, axis)


def _categorical_focal_crossentropy(y_true, y_pred, alpha, gamma, from_logits, label_smoothing, axis):
    _same_shape_or_raise(y_true, y_pred, "categorical_focal_crossentropy", axis)
    axis = _canonical_axis(axis, y_pred.dim())
    _warn_single_class(y_pred, axis, "categorical_focal_crossentropy")
    if isinstance(alpha, torch.Tensor):
        alpha = _per_class_alpha(alpha, y_pred.shape[axis], f"along axis {axis} (shape {tuple(y_pred.shape)})")
        if alpha.dtype == torch.float64 and y_pred.dtype != torch.float64:
            return _categorical_focal_promoted(y_true, y_pred, alpha, gamma, from_logits, label_smoothing, axis)
    if _kernels_for(y_pred):
        from torch_impl.kernels import ops

        a = alpha.to(device=y_pred.device, dtype=torch.float32).reshape(-1) if isinstance(alpha, torch.Tensor) else alpha
        rows = ops.categorical_focal_rows(_class_last_2d(y_pred, axis), _class_last_2d(y_true, axis), from_logits,
                                          gamma, a, label_smoothing)
        return rows.reshape(y_pred.shape[:axis] + y_pred.shape[axis + 1:])
    y_pred = y_pred.float() if y_pred.dtype in _HALF else y_pred
    y_true = _smooth_categorical(y_true, label_smoothing, axis)
    if isinstance(alpha, torch.Tensor):
        num_classes = y_pred.shape[axis]
        view = [1] * y_pred.dim()
        view[axis] = num_classes
        alpha = alpha.to(device=y_pred.device, dtype=y_pred.dtype).reshape(view)
    # softmax if from_logits; p / sum(p); clip; sum(-y log(p) * alpha * (1 - p)**gamma)
    return _fused.categorical_focal(y_true, y_pred, alpha, gamma, from_logits, axis)


def _per_class_alpha(alpha: torch.Tensor, num_classes: int, where: str) -> torch.Tensor:
    """A tensor ``alpha`` as one value per class: one value broadcast to every class (as Keras's multiply; a
    contiguous copy, which the fused kernels read), else exactly ``num_classes`` values (``ValueError``)."""
    if alpha.numel() == 1 and num_classes != 1:
        alpha = alpha.reshape(1).expand(num_classes).contiguous()
    if alpha.numel() != num_classes:
        raise ValueError(f"categorical_focal_crossentropy: per-class `alpha` has {alpha.numel()} values but y_pred "
                         f"has {num_classes} classes {where}.")
    return alpha


def _categorical_focal_promoted(y_true, y_pred, alpha, gamma, from_logits, label_smoothing, axis):
    """Keras's categorical focal crossentropy with a float64 ``alpha`` on float32 (or half) inputs, op for op:
    everything in the inputs' dtype up to ``ops.multiply(modulating_factor, alpha)``, which promotes to float64;
    the crossentropy term and the sum then in float64 (the functional form returns float64)."""
    y_pred = y_pred.float() if y_pred.dtype in _HALF else y_pred
    y_true = _smooth_categorical(y_true.to(y_pred.dtype), label_smoothing, axis)
    if from_logits:
        y_pred = torch.softmax(y_pred, axis)
    output = _ops.clip(y_pred / y_pred.sum(axis, keepdim=True))
    cce = -y_true * torch.log(output)
    view = [1] * y_pred.dim()
    view[axis] = y_pred.shape[axis]
    weighting_factor = _ops.tf_pow(1.0 - output, gamma).double() * alpha.to(y_pred.device).reshape(view)
    return (weighting_factor * cce.double()).sum(axis)


def focal_loss(gamma: float = 2.0, alpha: float = 0.25) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The classic community binary focal loss, as a factory (``focal_loss()(y_true, y_pred)``).

    This is the widely copied Keras snippet (not part of Keras)::

        pt_1 = where(y_true == 1, y_pred, 1);  pt_0 = where(y_true == 0, y_pred, 0)
        clip both to [1e-7, 1 - 1e-7]
        loss = -sum(alpha * (1 - pt_1)**gamma * log(pt_1))
               -sum((1 - alpha) * pt_0**gamma * log(1 - pt_0))

    It sums over every element (a scalar, no per-sample values), so
    ``model.compile(loss=focal_loss())`` trains on a batch SUM, unlike Keras's
    mean-reduced losses; entries of ``y_true`` that are neither 0 nor 1 add
    nothing. ``keras_impl.losses.focal_loss`` is the same code on TensorFlow.
    Wrap it in :class:`LossFunctionWrapper` to reproduce ``compile`` with
    sample or class weights.

    Example:
        >>> import torch
        >>> fl = focal_loss(gamma=2.0, alpha=0.25)
        >>> fl(torch.tensor([[0., 1.]]), torch.tensor([[0.3, 0.8]]))
        tensor(0.0263)
    """
    gamma = _check_gamma(gamma)
    alpha = _check_alpha_scalar(alpha)

    @_ops.without_autocast
    def focal_loss_fixed(y_true: TensorLike, y_pred: TensorLike) -> torch.Tensor:
        y_true, y_pred = _prepare(y_true, y_pred)
        pt_1 = torch.where(y_true == 1, y_pred, torch.ones_like(y_pred))
        pt_0 = torch.where(y_true == 0, y_pred, torch.zeros_like(y_pred))
        pt_1 = _ops.clip(pt_1)
        pt_0 = _ops.clip(pt_0)
        pos = (alpha * _ops.tf_pow(1.0 - pt_1, gamma) * torch.log(pt_1)).sum()
        neg = ((1 - alpha) * _ops.tf_pow(pt_0, gamma) * torch.log(1.0 - pt_0)).sum()
        return -pos - neg

    focal_loss_fixed.gamma = gamma
    focal_loss_fixed.alpha = alpha
    return focal_loss_fixed


# --------------------------------------------------------------------------
# the rest of keras.losses: regression, hinge, probabilistic, segmentation, similarity, sequence
# --------------------------------------------------------------------------

# Keras makes these two constants without a dtype, so float32 whatever floatx says (keras 3.15.1):
_EPSILON_F32 = float(torch.tensor(_ops.EPSILON, dtype=torch.float32))  # convert_to_tensor(backend.epsilon())
_LOG2_F32 = float(torch.log(torch.tensor(2.0, dtype=torch.float32)))  # ops.log(2.0)


def _float_pair(y_true: TensorLike, y_pred: TensorLike, align: bool = True, loss: Optional[str] = None,
                broadcast: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """``y_pred`` as a float tensor (integers -> float32 as Keras's ``ops.mean``; halves -> float32, as every
    loss here computes them) and ``y_true`` in its dtype and on its device; ranks aligned by one trailing 1-dim
    when ``align`` (the functions Keras aligns itself). Shapes that do not broadcast raise ``ValueError`` (Keras:
    ``InvalidArgumentError``), and so does a scalar pair for a ``loss`` that averages over the last axis (Keras:
    "Invalid reduction dimension -1")."""
    y_pred = _as_tensor(y_pred)
    if y_pred.is_complex():
        raise ValueError(f"y_pred must be real, got dtype {y_pred.dtype}")
    if not y_pred.is_floating_point() or y_pred.dtype in _HALF:
        y_pred = y_pred.to(torch.float32)
    y_true = _as_tensor(y_true, y_pred.device).to(y_pred.dtype)
    if align:
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    if not broadcast:  # labels and probabilities (generalized crossentropy): checked by the loss
        return y_true, y_pred
    try:
        shape = torch.broadcast_shapes(y_true.shape, y_pred.shape)
    except RuntimeError:
        raise ValueError(f"{loss or 'loss'}: incompatible shapes: y_true.shape={tuple(y_true.shape)}, "
                         f"y_pred.shape={tuple(y_pred.shape)}") from None
    if loss is not None and len(shape) == 0:
        raise ValueError(f"{loss}: y_true and y_pred are scalars; the loss averages over their last axis, so they "
                         "need at least rank 1 (Keras: Invalid reduction dimension -1)")
    return y_true, y_pred


def _constant(value: float, like: torch.Tensor) -> torch.Tensor:
    """``ops.convert_to_tensor(value, dtype=like.dtype)``: the value rounded to the inputs' dtype."""
    return torch.tensor(value, dtype=like.dtype, device=like.device)


@_ops.without_autocast
def mean_squared_error(y_true: TensorLike, y_pred: TensorLike) -> torch.Tensor:
    """``mean(square(y_true - y_pred), axis=-1)`` after aligning ranks, as ``keras.losses.mean_squared_error``.

    Example:
        >>> import torch
        >>> mean_squared_error(torch.tensor([[0., 1.], [0., 0.]]), torch.tensor([[1., 1.], [1., 0.]]))
        tensor([0.5000, 0.5000])
    """
    y_true, y_pred = _float_pair(y_true, y_pred, loss="mean_squared_error")
    return (y_true - y_pred).square().mean(-1)


@_ops.without_autocast
def mean_absolute_error(y_true: TensorLike, y_pred: TensorLike) -> torch.Tensor:
    """``mean(abs(y_true - y_pred), axis=-1)`` after aligning ranks, as ``keras.losses.mean_absolute_error``.

    Example:
        >>> import torch
        >>> mean_absolute_error(torch.tensor([[0., 1.], [0., 0.]]), torch.tensor([[1., 1.], [1., 0.]]))
        tensor([0.5000, 0.5000])
    """
    y_true, y_pred = _float_pair(y_true, y_pred, loss="mean_absolute_error")
    return _ops.tf_abs(y_true - y_pred).mean(-1)


@_ops.without_autocast
def mean_absolute_percentage_error(y_true: TensorLike, y_pred: TensorLike) -> torch.Tensor:
    """``100 * mean(abs((y_true - y_pred) / max(abs(y_true), 1e-7)), axis=-1)`` after aligning ranks.

    Example:
        >>> import torch
        >>> mean_absolute_percentage_error(torch.tensor([[2., 4.]]), torch.tensor([[1., 5.]]))
        tensor([37.5000])
    """
    y_true, y_pred = _float_pair(y_true, y_pred, loss="mean_absolute_percentage_error")
    diff = _ops.tf_abs((y_true - y_pred) / torch.clamp_min(_ops.tf_abs(y_true), _ops.EPSILON))
    return 100.0 * diff.mean(-1)


@_ops.without_autocast
def mean_squared_logarithmic_error(y_true: TensorLike, y_pred: TensorLike) -> torch.Tensor:
    """``mean(square(log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)), axis=-1)`` after aligning ranks
    (``eps`` is 1e-7 rounded to float32, as Keras makes it).

    Example:
        >>> import torch
        >>> mean_squared_logarithmic_error(torch.tensor([[0., 1.]]), torch.tensor([[1., 1.]]))
        tensor([0.2402])
    """
    y_true, y_pred = _float_pair(y_true, y_pred, loss="mean_squared_logarithmic_error")
    first = torch.log(torch.clamp_min(y_pred, _EPSILON_F32) + 1.0)
    second = torch.log(torch.clamp_min(y_true, _EPSILON_F32) + 1.0)
    return (first - second).square().mean(-1)


def l2_normalize(x: torch.Tensor, axis=-1) -> torch.Tensor:
    """Keras's ``ops.normalize(x, axis)``: ``x * min(rsqrt(sum(x**2, axis)), 1 / 1e-7)`` (a 0-d ``x`` becomes
    rank 1); a zero vector stays zero."""
    if x.dim() == 0:
        x = x.unsqueeze(0)
    axis = tuple(range(x.dim())) if axis is None else axis
    inv_norm = _ops.tf_rsqrt(x.square().sum(axis, keepdim=True))
    return x * torch.clamp_max(inv_norm, 1.0 / _ops.EPSILON)


@_ops.without_autocast
def cosine_similarity(y_true: TensorLike, y_pred: TensorLike, axis: int = -1) -> torch.Tensor:
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``, as ``keras.losses.cosine_similarity``: -1
    for the same direction, 0 for orthogonal vectors (or a zero vector), 1 for opposite ones.

    Example:
        >>> import torch
        >>> cosine_similarity(torch.tensor([[0., 1.], [1., 1.]]), torch.tensor([[1., 0.], [1., 1.]]))
        tensor([-0.0000, -1.0000])
    """
    y_true, y_pred = _float_pair(y_true, y_pred)
    axis = _check_axes(axis)
    ranks = max(y_true.dim(), y_pred.dim(), 1)
    for a in (() if axis is None else (axis,) if isinstance(axis, int) else axis):
        if not -ranks <= a < ranks:
            raise ValueError(f"cosine_similarity: axis={a} is out of range for inputs of rank {ranks}")
    product = l2_normalize(y_true, axis) * l2_normalize(y_pred, axis)
    return -(product.sum() if axis is None else product.sum(axis))


@_ops.without_autocast
def huber(y_true: TensorLike, y_pred: TensorLike, delta: float = 1.0) -> torch.Tensor:
    """Huber loss averaged over the last axis, as ``keras.losses.huber``: ``0.5 * e**2`` where ``|e| <= delta``,
    ``delta * |e| - 0.5 * delta**2`` beyond (``e = y_pred - y_true``; ``delta`` in the inputs' dtype).

    Example:
        >>> import torch
        >>> huber(torch.tensor([[0., 1.], [0., 0.]]), torch.tensor([[0.6, 0.4], [0.4, 3.0]]))
        tensor([0.1800, 1.2900])
    """
    y_true, y_pred = _float_pair(y_true, y_pred, loss="huber")
    delta = _constant(_check_nonnegative(delta, "delta"), y_pred)
    error = y_pred - y_true
    abs_error = _ops.tf_abs(error)
    return torch.where(abs_error <= delta, 0.5 * error.square(), delta * abs_error - 0.5 * delta.square()).mean(-1)


@_ops.without_autocast
def log_cosh(y_true: TensorLike, y_pred: TensorLike) -> torch.Tensor:
    """``mean(log(cosh(y_pred - y_true)), axis=-1)`` after aligning ranks, as Keras computes it:
    ``x + softplus(-2x) - log(2)`` with TensorFlow's softplus, ``log(2)`` rounded to float32.

    Example:
        >>> import torch
        >>> log_cosh(torch.tensor([[0., 1.], [0., 0.]]), torch.tensor([[1., 1.], [0., 0.]]))
        tensor([0.2169, 0.0000])
    """
    y_true, y_pred = _float_pair(y_true, y_pred, loss="log_cosh")
    x = y_pred - y_true
    return (x + _ops.tf_softplus(x * -2.0) - _LOG2_F32).mean(-1)


def _hinge_labels(y_true: torch.Tensor) -> torch.Tensor:
    """Keras's ``convert_binary_labels_to_hinge``: labels that are all 0 or 1 (the whole batch) become -1 or 1;
    any other labels (already -1/1) are used as given."""
    is_binary = ((y_true == 0) | (y_true == 1)).all()
    return torch.where(is_binary, 2.0 * y_true - 1.0, y_true)


@_ops.without_autocast
def hinge(y_true: TensorLike, y_pred: TensorLike) -> torch.Tensor:
    """``mean(max(1 - y_true * y_pred, 0), axis=-1)``, as ``keras.losses.hinge``; labels that are all 0/1 are
    taken as -1/1. No rank alignment here, as in Keras (the :class:`Hinge` class aligns).

    Example:
        >>> import torch
        >>> hinge(torch.tensor([[0., 1.]]), torch.tensor([[0.6, 0.4]]))
        tensor([1.1000])
    """
    y_true, y_pred = _float_pair(y_true, y_pred, align=False, loss="hinge")
    return torch.clamp_min(1.0 - _hinge_labels(y_true) * y_pred, 0.0).mean(-1)


@_ops.without_autocast
def squared_hinge(y_true: TensorLike, y_pred: TensorLike) -> torch.Tensor:
    """``mean(square(max(1 - y_true * y_pred, 0)), axis=-1)``, as ``keras.losses.squared_hinge``; 0/1 labels
    taken as -1/1.

    Example:
        >>> import torch
        >>> squared_hinge(torch.tensor([[0., 1.]]), torch.tensor([[0.6, 0.4]]))
        tensor([1.4600])
    """
    y_true, y_pred = _float_pair(y_true, y_pred, align=False, loss="squared_hinge")
    return torch.clamp_min(1.0 - _hinge_labels(y_true) * y_pred, 0.0).square().mean(-1)


@_ops.without_autocast
def categorical_hinge(y_true: TensorLike, y_pred: TensorLike) -> torch.Tensor:
    """``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` over the last axis (one-hot labels), as
    ``keras.losses.categorical_hinge``.

    Example:
        >>> import torch
        >>> categorical_hinge(torch.tensor([[0., 1.]]), torch.tensor([[0.6, 0.4]]))
        tensor([1.2000])
    """
    y_true, y_pred = _float_pair(y_true, y_pred, align=False, loss="categorical_hinge")
    pos = (y_true * y_pred).sum(-1)
    neg = ((1.0 - y_true) * y_pred).amax(-1)  # amax: ties share the gradient, as TensorFlow's reduce_max
    return torch.clamp_min(neg - pos + 1.0, 0.0)


@_ops.without_autocast
def kl_divergence(y_true: TensorLike, y_pred: TensorLike) -> torch.Tensor:
    """``sum(y_true * log(y_true / y_pred), axis=-1)``, both clipped to ``[1e-7, 1]``, as
    ``keras.losses.kl_divergence`` (no rank alignment here; :class:`KLDivergence` aligns).

    Example:
        >>> import torch
        >>> kl_divergence(torch.tensor([[0., 1.]]), torch.tensor([[0.4, 0.6]]))
        tensor([0.5108])
    """
    y_true, y_pred = _float_pair(y_true, y_pred, align=False, loss="kl_divergence")
    y_true = y_true.clamp(_ops.EPSILON, 1.0)
    y_pred = y_pred.clamp(_ops.EPSILON, 1.0)
    return (y_true * torch.log(y_true / y_pred)).sum(-1)


@_ops.without_autocast
def poisson(y_true: TensorLike, y_pred: TensorLike) -> torch.Tensor:
    """``mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)``, as ``keras.losses.poisson`` (``y_pred`` a
    rate, e.g. behind an exponential or softplus output; no rank alignment here).

    Example:
        >>> import torch
        >>> poisson(torch.tensor([[0., 1.]]), torch.tensor([[1., 1.]]))
        tensor([1.0000])
    """
    y_true, y_pred = _float_pair(y_true, y_pred, align=False, loss="poisson")
    return (y_pred - y_true * torch.log(y_pred + _ops.EPSILON)).mean(-1)


def _sum(x: torch.Tensor, axis, loss: str) -> torch.Tensor:
    """``ops.sum(x, axis)``: ``None`` sums every element of ``x`` (each operand over its own axes); an axis out
    of ``x``'s range, or one given twice, raises ``ValueError``."""
    axes = _check_axes(axis)
    if axes is None:
        return x.sum()
    axes = (axes,) if isinstance(axes, int) else axes
    if any(not -x.dim() <= a < x.dim() for a in axes) or len({a % max(x.dim(), 1) for a in axes}) != len(axes):
        raise ValueError(f"{loss}: axis={axis!r} is out of range or repeated for a tensor of rank {x.dim()}")
    return x.sum(axes)


@_ops.without_autocast
def dice(y_true: TensorLike, y_pred: TensorLike, axis=None) -> torch.Tensor:
    """``1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + 1e-7)`` over ``axis``, as
    ``keras.losses.dice``: ``axis=None`` gives one value for the whole batch; ``axis=(1, 2, 3)`` one per
    image of a ``(N, H, W, C)`` mask.

    Example:
        >>> import torch
        >>> y_true = torch.tensor([[[[1.], [1.]], [[0.], [0.]]], [[[1.], [1.]], [[0.], [0.]]]])
        >>> y_pred = torch.tensor([[[[0.], [1.]], [[0.], [1.]]], [[[0.4], [0.]], [[0.], [0.9]]]])
        >>> dice(y_true, y_pred, axis=(1, 2, 3))
        tensor([0.5000, 0.7576])
    """
    y_true, y_pred = _float_pair(y_true, y_pred, align=False, loss=None)
    intersection = _sum(y_true * y_pred, axis, "dice")
    return 1 - 2.0 * intersection / (_sum(y_true, axis, "dice") + _sum(y_pred, axis, "dice") + _ops.EPSILON)


@_ops.without_autocast
def tversky(y_true: TensorLike, y_pred: TensorLike, alpha: float = 0.5, beta: float = 0.5, axis=None) -> torch.Tensor:
    """``1 - TP / (TP + alpha * FP + beta * FN + 1e-7)`` with soft counts over ``axis``, as
    ``keras.losses.tversky`` documents it: ``alpha`` weighs the false positives ``sum(y_pred * (1 - y_true))``,
    ``beta`` the false negatives ``sum((1 - y_pred) * y_true)``; ``alpha = beta = 0.5`` is the Dice loss.

    This is Keras's fix (keras-team/keras#23333, after 3.15.1). Keras 3.15.1 swaps the two: its
    ``tversky(y_true, y_pred, alpha=b, beta=a)`` is ``tversky(y_true, y_pred, alpha=a, beta=b)`` here (equal when
    ``alpha == beta``).

    Example:
        >>> import torch
        >>> tversky(torch.tensor([[1., 1., 0.]]), torch.tensor([[0.8, 0.2, 0.3]]), alpha=0.3, beta=0.7)
        tensor(0.4413)
    """
    alpha, beta = _check_real(alpha, "alpha"), _check_real(beta, "beta")
    y_true, y_pred = _float_pair(y_true, y_pred, align=False, loss=None)
    intersection = _sum(y_true * y_pred, axis, "tversky")
    fn = _sum((1 - y_pred) * y_true, axis, "tversky")
    fp = _sum(y_pred * (1 - y_true), axis, "tversky")
    return 1 - intersection / (intersection + fp * alpha + fn * beta + _ops.EPSILON)


def _int_labels(labels: torch.Tensor, loss: str) -> torch.Tensor:
    """Integer class ids from ``labels`` (``ops.cast(labels, "int32")``), refusing fractional values Keras would
    truncate."""
    if labels.is_complex():
        raise ValueError(f"{loss}: labels must be integers, got dtype {labels.dtype}")
    if labels.is_floating_point():
        if not _ops.values_hidden(labels) and labels.numel() and bool((labels != torch.trunc(labels)).any()):
            raise ValueError(f"{loss}: `y_true` holds non-integer values; it must hold integer class ids.")
    return labels.to(torch.int64)


@_ops.without_autocast
def circle(y_true: TensorLike, y_pred: TensorLike, ref_labels: Optional[TensorLike] = None,
           ref_embeddings: Optional[TensorLike] = None, remove_diagonal: bool = True, gamma: float = 80.0,
           margin: float = 0.4) -> torch.Tensor:
    """Circle loss (Sun et al., 2020) of unit-norm embeddings ``y_pred`` ``(N, D)`` with class ids ``y_true``
    ``(N,)``, as ``keras.losses.circle``: one value per query; the queries with no pair that scores (value 0)
    are marked in ``_keras_mask`` and left out of the mean by :class:`Circle`.

    Pairs are the rows of ``ref_embeddings`` (default: the batch itself) with labels ``ref_labels``; with
    ``remove_diagonal`` a query is not its own positive.

    Example:
        >>> import torch
        >>> emb = torch.nn.functional.normalize(torch.tensor([[1., 0.], [0.8, 0.6], [0., 1.]]), dim=1)
        >>> circle(torch.tensor([0, 0, 1]), emb)
        tensor([1.8698e-10, 6.4017e+00, 0.0000e+00])
    """
    y_pred = _as_tensor(y_pred)
    if not y_pred.is_floating_point() or y_pred.dtype in _HALF:
        y_pred = y_pred.to(torch.float32)
    labels = _int_labels(_as_tensor(y_true, y_pred.device), "circle")
    ref = y_pred if ref_embeddings is None else _as_tensor(ref_embeddings, y_pred.device).to(y_pred.dtype)
    ref_labels = labels if ref_labels is None else _int_labels(_as_tensor(ref_labels, y_pred.device), "circle")
    if y_pred.dim() != 2 or ref.dim() != 2:
        raise ValueError(f"circle: embeddings must be (batch, dim); got y_pred {tuple(y_pred.shape)}, "
                         f"ref_embeddings {tuple(ref.shape)}")
    if y_pred.shape[1] != ref.shape[1] or labels.numel() != y_pred.shape[0] or ref_labels.numel() != ref.shape[0]:
        raise ValueError(f"circle: {labels.numel()} labels for {y_pred.shape[0]} embeddings of size "
                         f"{y_pred.shape[1]}, {ref_labels.numel()} reference labels for {ref.shape[0]} reference "
                         f"embeddings of size {ref.shape[1]}: the counts and the sizes must agree")
    distances = torch.clamp_min(1 - y_pred @ ref.T, 0.0)
    query = labels.reshape(-1, 1) if labels.dim() == 1 else labels
    key = ref_labels.reshape(-1, 1) if ref_labels.dim() == 1 else ref_labels
    positive = query == key.T
    negative = ~positive
    if remove_diagonal:
        positive = positive & ~torch.eye(query.numel(), key.numel(), dtype=torch.bool, device=y_pred.device)
    pos_weights = torch.clamp_min((margin + distances) * positive.to(distances.dtype), 0.0)
    neg_weights = torch.clamp_min((1 + margin - distances) * negative.to(distances.dtype), 0.0)
    pos_wdists = -1 * gamma * pos_weights * (margin - distances)
    neg_wdists = gamma * neg_weights * ((1 - margin) - distances)
    minus_inf = torch.tensor(float("-inf"), dtype=distances.dtype, device=distances.device)

    def logsumexp(x):  # tf.reduce_logsumexp: log(sum(exp(x - m))) + m, m the finite row max held constant (its
        # gradient exp(x - m) / sum, not torch's exp(x - lse): a gamma-scaled lse rounded to float32 costs bits)
        m = x.amax(1, keepdim=True)
        m = torch.where(torch.isfinite(m), m, torch.zeros_like(m)).detach()
        return torch.log(torch.exp(x - m).sum(1)) + m.squeeze(1)

    p_loss = logsumexp(torch.where(positive, pos_wdists, minus_inf))
    n_loss = logsumexp(torch.where(negative, neg_wdists, minus_inf))
    values = _ops.tf_softplus(p_loss + n_loss)
    values._keras_mask = values > 0
    return values


@_ops.without_autocast
def categorical_generalized_cross_entropy(y_true: TensorLike, y_pred: TensorLike, q: float) -> torch.Tensor:
    """Generalized crossentropy (Zhang & Sabuncu, 2018) of integer labels ``y_true`` ``(N,)`` and
    probabilities ``y_pred`` ``(N, C)``: ``(1 - p**q) / q`` with ``p`` the true class's probability, as
    ``keras.losses.categorical_generalized_cross_entropy``. Labels of shape ``(N, 1)`` are squeezed and a
    label outside ``[0, C)`` raises (Keras broadcasts the first to ``(N, N)`` and scores the second as
    ``p = 0``).

    Example:
        >>> import torch
        >>> categorical_generalized_cross_entropy(torch.tensor([0, 1]), torch.tensor([[0.7, 0.3], [0.2, 0.8]]), 0.5)
        tensor([0.3267, 0.2111])
    """
    q = _check_q(q)
    y_true, y_pred = _float_pair(y_true, y_pred, align=False, broadcast=False)
    labels = _sparse_labels(y_true, y_pred, y_pred.dim() - 1, None, loss="categorical_generalized_cross_entropy")
    one_hot = (labels.unsqueeze(-1) == torch.arange(y_pred.shape[-1], device=y_pred.device)).to(y_pred.dtype)
    p = (y_pred * one_hot).sum(-1)
    return (1 - _ops.tf_pow(p, q)) / q


@_ops.without_autocast
def ctc(y_true: TensorLike, y_pred: TensorLike) -> torch.Tensor:
    """Connectionist temporal classification loss per sequence, as ``keras.losses.ctc``.

    ``y_true`` ``(N, S)`` holds label ids padded with 0, which is also the blank class; ``y_pred`` ``(N, T, C)``
    holds logits over ``T`` steps (all of them used). Computed by ``torch.nn.functional.ctc_loss`` on the log
    softmax in float64 (torch's float32 CTC gradient is up to ~2e-5 off for sharp logits; Keras's float32
    TensorFlow CTC is not), the result in float32 (float64 for float64 inputs). Keras counts a row's non-zero
    labels and reads that many from its start, so a 0 inside a row (``[1, 0, 2]``) makes the blank a target: the
    values agree with Keras's, the gradients of the blank class do not (pad at the end). An impossible alignment
    (more labels than steps allow) gives ``inf``, where Keras's TensorFlow CTC gives a large finite value (its
    paths start from ``log(1e-307)``, about -707, not ``-inf``; a loss past about 707 is capped there).

    Example:
        >>> import torch
        >>> ctc(torch.tensor([[1, 2]]), torch.zeros(1, 3, 3))
        tensor([1.6864])
    """
    y_pred = _as_tensor(y_pred)
    y_true = _as_tensor(y_true, y_pred.device)
    if y_true.dim() != 2:
        raise ValueError("Targets `y_true` are expected to be a tensor of shape `(batch_size, max_length)` in "
                         f"integer format. Received: y_true.shape={tuple(y_true.shape)}")
    if y_pred.dim() != 3:
        raise ValueError("Logits `y_pred` are expected to be a tensor of shape `(batch_size, max_length, "
                         f"num_classes)`. Received: y_pred.shape={tuple(y_pred.shape)}")
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(f"ctc: {y_true.shape[0]} label sequences for a batch of {y_pred.shape[0]} logit sequences")
    labels = _int_labels(y_true, "ctc")
    num_classes = y_pred.shape[-1]
    if labels.numel() and not _ops.values_hidden(labels):
        if bool(((labels < 0) | (labels >= num_classes)).any()):
            raise ValueError(f"ctc: a label is outside [0, {num_classes}) (0 is the blank and the padding)")

    result_dtype = y_pred.dtype if y_pred.dtype == torch.float64 else torch.float32
    # in float64: torch's float32 CTC gradient is up to ~2e-5 off for sharp logits, TensorFlow's is not
    work = torch.float32 if y_pred.device.type == "mps" else torch.float64
    log_probs = torch.log_softmax(y_pred.to(work), dim=-1).transpose(0, 1)  # (T, N, C)
    steps = torch.full((y_pred.shape[0],), y_pred.shape[1], dtype=torch.int64, device=y_pred.device)
    label_lengths = (labels != 0).sum(-1)
    values = F.ctc_loss(log_probs, labels, steps, label_lengths, blank=0, reduction="none", zero_infinity=False)
    return values.to(result_dtype)


# --------------------------------------------------------------------------
# classes
# --------------------------------------------------------------------------


class Loss(nn.Module):
    """Base class: ``loss(y_true, y_pred, sample_weight=None)`` with Keras's reduction.

    Subclasses implement :meth:`call`, as in Keras: it receives ``y_true`` and
    ``y_pred`` as tensors of the compute dtype and returns the unreduced losses
    (a tensor), or ``(losses, mask)`` with a boolean mask of valid entries.

    Args (Keras's order: ``Loss(name, reduction, dtype)``, so ``super().__init__("my_loss")`` names it):
        name: a name, as in Keras; by default the class name in snake case
            (``"categorical_crossentropy"``), Keras's default names.
        reduction: ``"sum_over_batch_size"`` (default), ``"sum"``, ``"mean"``,
            ``"mean_with_sample_weight"``, ``"none"`` or ``None``.
        dtype: compute dtype. ``None`` (default) computes in ``y_pred``'s dtype,
            with float16/bfloat16 promoted to float32. (Keras's ``None`` means
            ``keras.config.floatx()``, normally float32, even for float64 inputs;
            pass ``dtype=torch.float32`` for that.) An explicit ``float16`` or
            ``bfloat16`` rounds the inputs to it and returns the loss in it, as
            Keras does; the arithmetic in between runs in float32.
    """

    def __init__(self, name: Optional[str] = None, reduction: Optional[str] = "sum_over_batch_size", dtype=None):
        super().__init__()  # Keras's argument order: Loss(name, reduction, dtype)
        self.reduction = standardize_reduction(reduction)
        self.name = name or _snake_case(type(self).__name__)
        self._dtype = _resolve_dtype(dtype)

    @property
    def dtype(self) -> Optional[torch.dtype]:
        """The compute dtype given at construction (read-only, as Keras's ``Loss.dtype``)."""
        return self._dtype

    #: the built-in crossentropies convert their inputs inside ``call`` (labels stay integers, half inputs may
    #: stay half for the kernels); any other loss gets them converted first, as Keras's ``Loss.__call__`` does
    _call_converts_inputs = False

    @_ops.without_autocast
    def __call__(self, *args, **kwargs):  # under torch.autocast too the loss computes as Keras's (float32)
        return super().__call__(*args, **kwargs)

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor):
        raise NotImplementedError

    def values_and_mask(self, y_true: TensorLike, y_pred: TensorLike):
        """``(losses, mask)`` before sample weights and the reduction: ``call`` on converted inputs."""
        if not self._call_converts_inputs:
            y_true, y_pred = _prepare(y_true, y_pred, self.dtype)
        out = self.call(y_true, y_pred)
        return out if isinstance(out, tuple) else (out, None)

    def forward(self, y_true: TensorLike, y_pred: TensorLike, sample_weight=None) -> torch.Tensor:
        in_mask = getattr(y_pred, "_keras_mask", None)  # Keras's get_keras_mask(y_pred): a padding mask, say
        values, mask = self.values_and_mask(y_true, y_pred)
        if in_mask is not None:
            mask = in_mask if mask is None else in_mask.to(mask.device).bool() & mask.bool()
        out = reduce_weighted_values(values, sample_weight, mask=mask, reduction=self.reduction)
        # Keras returns the loss in its dtype; a half dtype was computed in float32 (see _prepare)
        return out.to(self.dtype) if self.dtype in _HALF else out

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict) -> "Loss":
        """The loss ``get_config`` described (Keras's ``from_config``)."""
        return cls(**config)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")


class LossFunctionWrapper(Loss):
    """Turn a function ``fn(y_true, y_pred, **kwargs)`` into a reducing :class:`Loss`.

    Like Keras's wrapper (what ``model.compile(loss=fn)`` builds): ranks of
    ``y_true``/``y_pred`` are aligned by one trailing 1-dim before ``fn`` runs,
    then sample weights and the reduction are applied.

    Example:
        >>> import torch
        >>> wrapped = LossFunctionWrapper(focal_loss())
        >>> wrapped(torch.tensor([0., 1.]), torch.tensor([[0.3], [0.8]]))
        tensor(0.0263)
    """

    def __init__(self, fn: Callable, reduction: Optional[str] = "sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(reduction=reduction, name=name or getattr(fn, "__name__", None), dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):  # the inputs arrive converted (Loss.values_and_mask)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if self.fn is sparse_categorical_crossentropy and self._fn_kwargs.get("ignore_class") is not None:
            # Keras's function marks the ignored entries (a Keras mask on its result); the reduction skips them
            return _sparse_categorical_crossentropy_masked(y_true, y_pred, **self._fn_kwargs)
        values = self.fn(y_true, y_pred, **self._fn_kwargs)
        return values, getattr(values, "_keras_mask", None)  # a user function may mark entries the same way

    def get_config(self) -> dict:
        return {**super().get_config(), "fn": getattr(self.fn, "__name__", repr(self.fn)), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict) -> "LossFunctionWrapper":
        """From ``get_config``; ``fn`` given by name must be one of this module's functional losses. Keras's config
        (``fn`` serialized as ``keras.losses.serialize`` writes a function) is deserialized as Keras's
        ``from_config`` does, a custom function found in ``deserialize``'s ``custom_objects``."""
        config = dict(config)
        if isinstance(config.get("fn"), dict):  # Keras's from_config: deserialize_keras_object(config)
            from torch_impl import _serialization

            config = _serialization.deserialize_keras_object(config, _keras_namespace())
        if isinstance(config.get("fn"), str):
            fn = _FUNCTIONS.get(config["fn"])
            if fn is None:
                raise ValueError(f"LossFunctionWrapper.from_config: unknown function {config['fn']!r}; pass the "
                                 f"function itself as `fn` (known by name: {sorted(_FUNCTIONS)})")
            config["fn"] = fn
        return cls(**config)


def _keras_function_route(loss: "Loss", y_true, y_pred, sample_weight):
    """Keras's crossentropy classes are ``LossFunctionWrapper`` s of the functions, and the functions find the
    logits a sigmoid/softmax output carries (``_keras_logits``: a Keras activation's output, or
    :class:`torch_impl.nn.Softmax`'s). For such a prediction the class runs as that wrapper (the same rank
    alignment and dtype conversion, which lose the logits where Keras loses them); ``None`` for any other."""
    if getattr(y_pred, "_keras_logits", None) is None:
        return None
    wrapper = LossFunctionWrapper(loss._keras_function, reduction=loss.reduction, name=loss.name, dtype=loss.dtype,
                                  **loss._kwargs())
    return wrapper(y_true, y_pred, sample_weight)


class _Wrapped(Loss):
    """A Keras LossFunctionWrapper around one of this module's private cores."""

    #: the public function Keras's class wraps, where it finds the logits behind an activation (None: it does not)
    _keras_function: Optional[Callable] = None

    _call_converts_inputs = True

    _fn: Callable
    _labels_are_indices = False
    _binary = False  # True for the binary losses: no class axis (no single-class warning, no one-hot hint)

    def _kwargs(self) -> dict:
        raise NotImplementedError

    def get_config(self) -> dict:
        cfg = {**super().get_config(), **self._kwargs()}
        if isinstance(cfg.get("alpha"), torch.Tensor):
            # a list as given (Python floats; NumPy float64s kept, which from_config converts at float64 again, as
            # Keras does); an array or tensor as given, as Keras's config keeps it (a list would come back from
            # from_config rounded to float32)
            given = getattr(self, "_alpha_as_given", None)
            cfg["alpha"] = ([v if isinstance(v, float) else float(v) for v in given] if isinstance(given, (list, tuple))
                            else given if hasattr(given, "dtype") else cfg["alpha"].tolist())
        return cfg

    def _kernel_path(self) -> bool:
        """Whether this configuration has a fused kernel (when the device allows)."""
        return False

    def _fused_reduced(self, y_true, y_pred, sample_weight):
        """The reduced loss from one fused kernel, or None (then the generic path runs)."""
        if not (self.reduction in _REDUCING and self.dtype is None and self._kernel_path() and _kernels_for(y_pred)):
            return None
        if getattr(y_pred, "_keras_activation", None) == "softmax" and isinstance(self, BinaryFocalCrossentropy):
            return None  # Keras's mix behind a softmax output (_binary_focal_behind_softmax): the eager path
        y_true, y_pred = _prepare(y_true, y_pred, keep_half=True)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        _same_shape_or_raise(y_true, y_pred, type(self).__name__, None if self._binary else self.axis)
        axis = _canonical_axis(self.axis, y_pred.dim())
        r = element_weights(y_pred.shape[:axis] + y_pred.shape[axis + 1:], sample_weight, None, self.reduction,
                            torch.float32, y_pred.device)
        if r is None:
            return None
        if not self._binary:
            _warn_single_class(y_pred, axis, type(self).__name__)
        return self._reduced_kernel(_class_last_2d(y_pred, axis), _class_last_2d(y_true, axis), r)

    def _reduced_kernel(self, x2, y2, r):
        raise NotImplementedError

    def forward(self, y_true, y_pred, sample_weight=None):
        if self._keras_function is not None:
            routed = _keras_function_route(self, y_true, y_pred, sample_weight)
            if routed is not None:
                return routed
        masked = getattr(y_pred, "_keras_mask", None) is not None  # the fused kernels take no mask: eager path
        fused = None if masked else self._fused_reduced(y_true, y_pred, sample_weight)
        return fused if fused is not None else super().forward(y_true, y_pred, sample_weight)

    def call(self, y_true, y_pred):
        keep_half = self._kernel_path() and _kernels_for(y_pred)
        y_true, y_pred = _prepare(y_true, y_pred, self.dtype, self._labels_are_indices, keep_half=keep_half)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return type(self)._fn(y_true, y_pred, **self._kwargs()), None


class CategoricalCrossentropy(_Wrapped):
    """Crossentropy between one-hot (or probability) targets and predictions.

    Keras's ``keras.losses.CategoricalCrossentropy``: same arguments, same
    numbers. Use :class:`SparseCategoricalCrossentropy` for integer labels.

    Args:
        from_logits: whether ``y_pred`` holds logits (recommended; a model that
            ends in a softmax layer trains in Keras as if it did).
        label_smoothing: in ``[0, 1]``; targets become ``y*(1-s) + s/C``.
        axis: the class axis.
        reduction, name, dtype: see :class:`Loss`.

    Example:
        >>> import torch
        >>> y_true = torch.tensor([[0., 1., 0.], [0., 0., 1.]])
        >>> y_pred = torch.tensor([[0.05, 0.95, 0.], [0.1, 0.8, 0.1]])
        >>> cce = CategoricalCrossentropy()
        >>> cce(y_true, y_pred)
        tensor(1.1769)
        >>> cce(y_true, y_pred, sample_weight=torch.tensor([0.3, 0.7]))
        tensor(0.8136)
        >>> CategoricalCrossentropy(reduction="sum")(y_true, y_pred)
        tensor(2.3539)
    """

    _fn = staticmethod(_categorical_crossentropy)
    _keras_function = staticmethod(categorical_crossentropy)

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: Optional[str] = "sum_over_batch_size", name: str = "categorical_crossentropy", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_label_smoothing(label_smoothing)
        self.axis = _check_axis(axis)

    def _kwargs(self):
        return dict(from_logits=self.from_logits, label_smoothing=self.label_smoothing, axis=self.axis)

    def _kernel_path(self) -> bool:
        return self.from_logits

    def _reduced_kernel(self, x2, y2, r):
        from torch_impl.kernels import ops

        return ops.softmax_xent_reduced(x2, y2, r, False, self.label_smoothing)


class SparseCategoricalCrossentropy(Loss):
    """Crossentropy between integer labels and predictions.

    Keras's ``keras.losses.SparseCategoricalCrossentropy`` (argument order as
    in Keras: ``from_logits, ignore_class, reduction, axis``). Entries labelled
    ``ignore_class`` are masked: no loss, no gradient, and the mean runs over
    the remaining entries.

    Example:
        >>> import torch
        >>> y_true = torch.tensor([1, 2])
        >>> y_pred = torch.tensor([[0.05, 0.95, 0.], [0.1, 0.8, 0.1]])
        >>> SparseCategoricalCrossentropy()(y_true, y_pred)
        tensor(1.1769)
        >>> SparseCategoricalCrossentropy(ignore_class=2)(y_true, y_pred)
        tensor(0.0513)
    """

    _call_converts_inputs = True

    def __init__(self, from_logits: bool = False, ignore_class: Optional[int] = None,
                 reduction: Optional[str] = "sum_over_batch_size", axis: int = -1,
                 name: str = "sparse_categorical_crossentropy", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        ignore_class = _check_ignore_class(ignore_class)
        self.from_logits = bool(from_logits)
        self.ignore_class = ignore_class
        self.axis = _check_axis(axis)

    def call(self, y_true, y_pred):
        keep_half = self.from_logits and _kernels_for(y_pred)
        y_true, y_pred = _prepare(y_true, y_pred, self.dtype, labels_are_indices=True, keep_half=keep_half)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return _sparse_categorical_crossentropy_masked(
            y_true, y_pred, self.from_logits, self.ignore_class, self.axis, self.dtype
        )

    _keras_function = staticmethod(sparse_categorical_crossentropy)

    def _kwargs(self) -> dict:
        return dict(from_logits=self.from_logits, ignore_class=self.ignore_class, axis=self.axis)

    def forward(self, y_true, y_pred, sample_weight=None):
        routed = _keras_function_route(self, y_true, y_pred, sample_weight)
        if routed is not None:
            return routed
        if self.from_logits and self.reduction in _REDUCING and _kernels_for(y_pred) and self.dtype is None \
                and getattr(y_pred, "_keras_mask", None) is None:
            y_true, y_pred = _prepare(y_true, y_pred, labels_are_indices=True, keep_half=True)
            y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
            axis = _canonical_axis(self.axis, y_pred.dim())
            if axis == y_pred.dim() - 1:
                labels = _sparse_labels(y_true, y_pred, axis, self.ignore_class, check_range=False)
                valid = None if self.ignore_class is None else labels != self.ignore_class
                r = element_weights(labels.shape, sample_weight, valid, self.reduction, torch.float32, y_pred.device)
                if r is not None:
                    from torch_impl.kernels import ops

                    return ops.softmax_xent_reduced(y_pred.reshape(-1, y_pred.shape[-1]), labels.reshape(-1), r,
                                                    True, 0.0, self.ignore_class)
        return super().forward(y_true, y_pred, sample_weight)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits, "ignore_class": self.ignore_class, "axis": self.axis}


class BinaryCrossentropy(_Wrapped):
    """Binary crossentropy, Keras's ``keras.losses.BinaryCrossentropy``.

    The per-sample loss is the mean over ``axis`` of the element-wise
    crossentropy; ``y_true`` of shape ``(N,)`` against ``y_pred`` ``(N, 1)`` is
    aligned, never broadcast to ``(N, N)``.

    Example:
        >>> import torch
        >>> y_true = torch.tensor([[0., 1.], [0., 0.]])
        >>> y_pred = torch.tensor([[-18.6, 0.51], [2.94, -12.8]])
        >>> BinaryCrossentropy(from_logits=True)(y_true, y_pred)
        tensor(0.8655)
        >>> BinaryCrossentropy(from_logits=True)(y_true, y_pred, sample_weight=[0.8, 0.2])
        tensor(0.2436)
    """

    _fn = staticmethod(_binary_crossentropy)
    _keras_function = staticmethod(binary_crossentropy)
    _binary = True

    def _kernel_path(self) -> bool:
        return True

    def _reduced_kernel(self, x2, y2, r):
        from torch_impl.kernels import ops

        return ops.binary_reduced(x2, y2, r, self.from_logits, smoothing=self.label_smoothing)

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: Optional[str] = "sum_over_batch_size", name: str = "binary_crossentropy", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_label_smoothing(label_smoothing)
        self.axis = _check_axis(axis)

    def _kwargs(self):
        return dict(from_logits=self.from_logits, label_smoothing=self.label_smoothing, axis=self.axis)


class BinaryFocalCrossentropy(_Wrapped):
    """Binary focal crossentropy, Keras's ``keras.losses.BinaryFocalCrossentropy``.

    Example:
        >>> import torch
        >>> y_true = torch.tensor([[0., 1.], [0., 0.]])
        >>> y_pred = torch.tensor([[-18.6, 0.51], [2.94, -12.8]])
        >>> BinaryFocalCrossentropy(gamma=3, from_logits=True)(y_true, y_pred)
        tensor(0.6470)
        >>> BinaryFocalCrossentropy(apply_class_balancing=True, gamma=3, from_logits=True)(y_true, y_pred)
        tensor(0.4821)
    """

    _fn = staticmethod(_binary_focal_crossentropy)
    _keras_function = staticmethod(binary_focal_crossentropy)
    _binary = True

    def _kernel_path(self) -> bool:
        return True

    def _reduced_kernel(self, x2, y2, r):
        from torch_impl.kernels import ops

        return ops.binary_reduced(x2, y2, r, self.from_logits, True, self.apply_class_balancing, self.gamma,
                                  self.alpha, self.label_smoothing)

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25, gamma: float = 2.0,
                 from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: Optional[str] = "sum_over_batch_size", name: str = "binary_focal_crossentropy", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        self.apply_class_balancing = bool(apply_class_balancing)
        self.alpha = _check_binary_alpha(alpha, self.apply_class_balancing)
        self.gamma = _check_gamma(gamma)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_label_smoothing(label_smoothing)
        self.axis = _check_axis(axis)

    def _kwargs(self):
        return dict(apply_class_balancing=self.apply_class_balancing, alpha=self.alpha, gamma=self.gamma,
                    from_logits=self.from_logits, label_smoothing=self.label_smoothing, axis=self.axis)


class CategoricalFocalCrossentropy(_Wrapped):
    """Alpha-balanced categorical focal crossentropy, Keras's ``keras.losses.CategoricalFocalCrossentropy``.

    Example:
        >>> import torch
        >>> y_true = torch.tensor([[0., 1., 0.], [0., 0., 1.]])
        >>> y_pred = torch.tensor([[0.05, 0.95, 0.], [0.1, 0.8, 0.1]])
        >>> CategoricalFocalCrossentropy()(y_true, y_pred)
        tensor(0.2332)
        >>> CategoricalFocalCrossentropy(alpha=[0.25, 0.5, 0.25])(y_true, y_pred)
        tensor(0.2332)
    """

    _fn = staticmethod(_categorical_focal_crossentropy)

    def _kernel_path(self) -> bool:
        # also with a float64 alpha (a NumPy array's default) on float32 inputs: Keras computes those losses in
        # float64 and casts them to float32, which the eager path replays; the fused kernel (CUDA) computes in
        # float32 with alpha rounded, within float32's tolerance of it, at the kernel's speed
        return True

    def call(self, y_true, y_pred):
        values, mask = super().call(y_true, y_pred)
        if values.dtype == torch.float64 and isinstance(self._alpha, torch.Tensor) and \
                self._alpha.dtype == torch.float64:
            # Keras's Loss casts the losses to its dtype: a float64 alpha promoted them only inside
            cdt = _compute_dtype(_as_tensor(y_pred), self.dtype)
            values = values.to(torch.float32 if cdt in _HALF else cdt)
        return values, mask

    def _reduced_kernel(self, x2, y2, r):
        from torch_impl.kernels import ops

        alpha = self._alpha
        if isinstance(alpha, torch.Tensor):
            alpha = _per_class_alpha(alpha, x2.shape[-1], f"along axis {self.axis}")
            alpha = alpha.to(device=x2.device, dtype=torch.float32).reshape(-1)
        return ops.categorical_focal_reduced(x2, y2, r, self.from_logits, self.gamma, alpha, self.label_smoothing)

    def __init__(self, alpha: Union[float, Sequence[float], torch.Tensor] = 0.25, gamma: float = 2.0,
                 from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: Optional[str] = "sum_over_batch_size", name: str = "categorical_focal_crossentropy",
                 dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        self.alpha = alpha
        self.gamma = _check_gamma(gamma)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_label_smoothing(label_smoothing)
        self.axis = _check_axis(axis)

    @property
    def alpha(self):
        """``alpha`` as given (a float, or the per-class list, array or tensor), as Keras keeps it; the loss
        computes with it checked (a list converted as Keras's ``convert_to_tensor``: Python floats rounded to
        float32, NumPy float64s kept)."""
        return self._alpha_as_given

    @alpha.setter
    def alpha(self, value) -> None:
        self._alpha = _check_alpha_categorical(value)
        self._alpha_as_given = self._alpha if isinstance(self._alpha, float) else value

    def _kwargs(self):
        return dict(alpha=self._alpha, gamma=self.gamma, from_logits=self.from_logits,
                    label_smoothing=self.label_smoothing, axis=self.axis)


# the rest of keras.losses: Keras's LossFunctionWrapper subclasses (ranks aligned, then the function)


class MeanSquaredError(LossFunctionWrapper):
    """Mean of squared errors, Keras's ``keras.losses.MeanSquaredError`` (``"mse"``).

    Unlike ``torch.nn.MSELoss``, the per-sample loss averages over the last axis first and the reduction then
    divides the weighted sum by the number of samples; ``y_true`` ``(N,)`` against ``y_pred`` ``(N, 1)`` is
    aligned, never broadcast to ``(N, N)``.

    Example:
        >>> import torch
        >>> y_true = torch.tensor([[0., 1.], [0., 0.]])
        >>> y_pred = torch.tensor([[1., 1.], [1., 0.]])
        >>> MeanSquaredError()(y_true, y_pred)
        tensor(0.5000)
        >>> MeanSquaredError()(y_true, y_pred, sample_weight=torch.tensor([0.7, 0.3]))
        tensor(0.2500)
    """

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size", name: str = "mean_squared_error",
                 dtype=None):
        super().__init__(mean_squared_error, reduction=reduction, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return Loss.get_config(self)


class MeanAbsoluteError(LossFunctionWrapper):
    """Mean of absolute errors, Keras's ``keras.losses.MeanAbsoluteError`` (``"mae"``).

    Example:
        >>> import torch
        >>> MeanAbsoluteError()(torch.tensor([[0., 1.], [0., 0.]]), torch.tensor([[1., 1.], [1., 0.]]))
        tensor(0.5000)
    """

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size", name: str = "mean_absolute_error",
                 dtype=None):
        super().__init__(mean_absolute_error, reduction=reduction, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return Loss.get_config(self)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    """Mean absolute percentage error, Keras's ``keras.losses.MeanAbsolutePercentageError`` (``"mape"``):
    ``100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7))``.

    Example:
        >>> import torch
        >>> MeanAbsolutePercentageError()(torch.tensor([[1., 1.], [1., 0.]]), torch.tensor([[1., 1.], [1., 0.]]))
        tensor(0.)
    """

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size",
                 name: str = "mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, reduction=reduction, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return Loss.get_config(self)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """Mean squared logarithmic error, Keras's ``keras.losses.MeanSquaredLogarithmicError`` (``"msle"``).

    Example:
        >>> import torch
        >>> MeanSquaredLogarithmicError()(torch.tensor([[0., 1.], [0., 0.]]), torch.tensor([[1., 1.], [1., 0.]]))
        tensor(0.2402)
    """

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size",
                 name: str = "mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, reduction=reduction, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return Loss.get_config(self)


class CosineSimilarity(LossFunctionWrapper):
    """Negative cosine similarity along ``axis``, Keras's ``keras.losses.CosineSimilarity`` (minimising it
    aligns the vectors; a zero vector scores 0).

    ``get_config`` includes ``axis`` (Keras 3.15.1 leaves it out, so its round trip resets it to -1).

    Example:
        >>> import torch
        >>> CosineSimilarity()(torch.tensor([[0., 1.], [1., 1.]]), torch.tensor([[1., 0.], [1., 1.]]))
        tensor(-0.5000)
    """

    def __init__(self, axis: int = -1, reduction: Optional[str] = "sum_over_batch_size",
                 name: str = "cosine_similarity", dtype=None):
        _check_axes(axis)
        super().__init__(cosine_similarity, reduction=reduction, name=name, dtype=dtype, axis=axis)
        self.axis = self._fn_kwargs["axis"]

    def get_config(self) -> dict:
        return {**Loss.get_config(self), "axis": self.axis}


class Huber(LossFunctionWrapper):
    """Huber loss, Keras's ``keras.losses.Huber`` (``0.5 * e**2`` inside ``delta``, linear beyond; averaged
    over the last axis). ``torch.nn.HuberLoss`` gives the same element values but averages over every element.

    ``get_config`` includes ``delta`` (Keras 3.15.1 leaves it out, so its round trip resets it to 1.0).

    Example:
        >>> import torch
        >>> Huber()(torch.tensor([[0., 1.], [0., 0.]]), torch.tensor([[0.6, 0.4], [0.4, 3.0]]))
        tensor(0.7350)
    """

    def __init__(self, delta: float = 1.0, reduction: Optional[str] = "sum_over_batch_size",
                 name: str = "huber_loss", dtype=None):
        super().__init__(huber, reduction=reduction, name=name, dtype=dtype, delta=_check_nonnegative(delta, "delta"))
        self.delta = self._fn_kwargs["delta"]

    def get_config(self) -> dict:
        return {**Loss.get_config(self), "delta": self.delta}


class LogCosh(LossFunctionWrapper):
    """Mean of ``log(cosh(y_pred - y_true))``, Keras's ``keras.losses.LogCosh``.

    Example:
        >>> import torch
        >>> LogCosh()(torch.tensor([[0., 1.], [0., 0.]]), torch.tensor([[1., 1.], [0., 0.]]))
        tensor(0.1084)
    """

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size", name: str = "log_cosh", dtype=None):
        super().__init__(log_cosh, reduction=reduction, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return Loss.get_config(self)


class Hinge(LossFunctionWrapper):
    """Hinge loss, Keras's ``keras.losses.Hinge``: labels -1/1 (labels that are all 0/1 are converted).

    Example:
        >>> import torch
        >>> Hinge()(torch.tensor([[0., 1.], [0., 0.]]), torch.tensor([[0.6, 0.4], [0.4, 0.6]]))
        tensor(1.3000)
    """

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size", name: str = "hinge", dtype=None):
        super().__init__(hinge, reduction=reduction, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return Loss.get_config(self)


class SquaredHinge(LossFunctionWrapper):
    """Squared hinge loss, Keras's ``keras.losses.SquaredHinge`` (labels as :class:`Hinge`).

    Example:
        >>> import torch
        >>> SquaredHinge()(torch.tensor([[0., 1.], [0., 0.]]), torch.tensor([[0.6, 0.4], [0.4, 0.6]]))
        tensor(1.8600)
    """

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size", name: str = "squared_hinge", dtype=None):
        super().__init__(squared_hinge, reduction=reduction, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return Loss.get_config(self)


class CategoricalHinge(LossFunctionWrapper):
    """Categorical hinge loss of one-hot labels, Keras's ``keras.losses.CategoricalHinge``.

    Example:
        >>> import torch
        >>> CategoricalHinge()(torch.tensor([[0., 1.], [0., 0.]]), torch.tensor([[0.6, 0.4], [0.4, 0.6]]))
        tensor(1.4000)
    """

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size", name: str = "categorical_hinge",
                 dtype=None):
        super().__init__(categorical_hinge, reduction=reduction, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return Loss.get_config(self)


class KLDivergence(LossFunctionWrapper):
    """Kullback-Leibler divergence ``sum(y_true * log(y_true / y_pred))``, Keras's ``keras.losses.KLDivergence``
    (both clipped to ``[1e-7, 1]``; ``y_pred`` holds probabilities, unlike ``torch.nn.KLDivLoss``'s
    log-probabilities).

    Example:
        >>> import torch
        >>> KLDivergence()(torch.tensor([[0., 1.], [0., 0.]]), torch.tensor([[0.6, 0.4], [0.4, 0.6]]))
        tensor(0.4581)
    """

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size", name: str = "kl_divergence", dtype=None):
        super().__init__(kl_divergence, reduction=reduction, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return Loss.get_config(self)


class Poisson(LossFunctionWrapper):
    """Poisson loss ``mean(y_pred - y_true * log(y_pred + 1e-7))``, Keras's ``keras.losses.Poisson``
    (``y_pred`` a rate; ``torch.nn.PoissonNLLLoss(log_input=False)`` adds its epsilon inside the log too but
    averages over every element).

    Example:
        >>> import torch
        >>> Poisson()(torch.tensor([[0., 1.], [0., 0.]]), torch.tensor([[1., 1.], [0., 0.]]))
        tensor(0.5000)
    """

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size", name: str = "poisson", dtype=None):
        super().__init__(poisson, reduction=reduction, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return Loss.get_config(self)


class Dice(LossFunctionWrapper):
    """Dice loss, Keras's ``keras.losses.Dice``: ``1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred))``
    over ``axis`` (``None``: the whole batch, one value that the sample weights then scale).

    Example:
        >>> import torch
        >>> y_true = torch.tensor([[[[1.], [1.]], [[0.], [0.]]], [[[1.], [1.]], [[0.], [0.]]]])
        >>> y_pred = torch.tensor([[[[0.], [1.]], [[0.], [1.]]], [[[0.4], [0.]], [[0.], [0.9]]]])
        >>> Dice()(y_true, y_pred)
        tensor(0.6164)
        >>> Dice(axis=(1, 2, 3), reduction=None)(y_true, y_pred)
        tensor([0.5000, 0.7576])
    """

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size", name: str = "dice", axis=None,
                 dtype=None):
        _check_axes(axis)
        super().__init__(dice, reduction=reduction, name=name, dtype=dtype, axis=axis)
        self.axis = self._fn_kwargs["axis"]

    def get_config(self) -> dict:
        return {**Loss.get_config(self), "axis": self.axis}


class Tversky(LossFunctionWrapper):
    """Tversky loss, Keras's ``keras.losses.Tversky`` with Keras's fix (keras-team/keras#23333): ``alpha`` weighs
    the false positives, ``beta`` the false negatives, as Keras documents (Keras 3.15.1 swaps them; see
    :func:`tversky`; ``alpha = beta = 0.5`` is :class:`Dice`).

    Example:
        >>> import torch
        >>> Tversky(alpha=0.3, beta=0.7)(torch.tensor([[1., 1., 0.]]), torch.tensor([[0.8, 0.2, 0.3]]))
        tensor(0.4413)
    """

    def __init__(self, alpha: float = 0.5, beta: float = 0.5, reduction: Optional[str] = "sum_over_batch_size",
                 name: str = "tversky", axis=None, dtype=None):
        _check_axes(axis)
        super().__init__(tversky, reduction=reduction, name=name, dtype=dtype, alpha=_check_real(alpha, "alpha"),
                         beta=_check_real(beta, "beta"), axis=axis)
        self.alpha, self.beta, self.axis = (self._fn_kwargs[k] for k in ("alpha", "beta", "axis"))

    def get_config(self) -> dict:
        return {**Loss.get_config(self), "alpha": self.alpha, "beta": self.beta, "axis": self.axis}


class Circle(LossFunctionWrapper):
    """Circle loss for metric learning, Keras's ``keras.losses.Circle``: ``y_true`` class ids ``(N,)``,
    ``y_pred`` unit-norm embeddings ``(N, D)``; the mean runs over the queries with a non-zero loss, as
    Keras's (its function marks the others).

    Example:
        >>> import torch
        >>> emb = torch.nn.functional.normalize(torch.tensor([[1., 0.], [0.8, 0.6], [0., 1.]]), dim=1)
        >>> Circle()(torch.tensor([0, 0, 1]), emb)
        tensor(3.2008)
    """

    def __init__(self, gamma: float = 80.0, margin: float = 0.4, remove_diagonal: bool = True,
                 reduction: Optional[str] = "sum_over_batch_size", name: str = "circle", dtype=None):
        super().__init__(circle, reduction=reduction, name=name, dtype=dtype, gamma=float(gamma),
                         margin=float(margin), remove_diagonal=bool(remove_diagonal))
        self.gamma, self.margin, self.remove_diagonal = (self._fn_kwargs[k] for k in ("gamma", "margin",
                                                                                       "remove_diagonal"))

    def get_config(self) -> dict:
        return {**Loss.get_config(self), "gamma": self.gamma, "margin": self.margin,
                "remove_diagonal": self.remove_diagonal}


class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
    """Generalized crossentropy, robust to noisy labels, Keras's
    ``keras.losses.CategoricalGeneralizedCrossEntropy``: integer labels, probabilities, ``(1 - p**q) / q``
    with ``q`` in ``(0, 1)``.

    Example:
        >>> import torch
        >>> y_true = torch.tensor([0, 1, 0, 1])
        >>> y_pred = torch.tensor([[0.7, 0.3], [0.2, 0.8], [0.6, 0.4], [0.4, 0.6]])
        >>> CategoricalGeneralizedCrossEntropy()(y_true, y_pred)
        tensor(0.3599)
    """

    def __init__(self, q: float = 0.5, reduction: Optional[str] = "sum_over_batch_size",
                 name: str = "categorical_generalized_cross_entropy", dtype=None):
        super().__init__(categorical_generalized_cross_entropy, reduction=reduction, name=name, dtype=dtype,
                         q=_check_q(q))
        self.q = self._fn_kwargs["q"]

    def get_config(self) -> dict:
        return {**Loss.get_config(self), "q": self.q}


class CTC(LossFunctionWrapper):
    """Connectionist temporal classification loss, Keras's ``keras.losses.CTC`` (see :func:`ctc`: labels
    ``(N, S)`` padded with the blank 0, logits ``(N, T, C)``).

    Example:
        >>> import torch
        >>> CTC()(torch.tensor([[1, 2], [1, 0]]), torch.zeros(2, 3, 3))
        tensor(1.5952)
    """

    def __init__(self, reduction: Optional[str] = "sum_over_batch_size", name: str = "ctc", dtype=None):
        super().__init__(ctc, reduction=reduction, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return Loss.get_config(self)


_BY_NAME = {
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "binary_focal_crossentropy": BinaryFocalCrossentropy,
    "categorical_focal_crossentropy": CategoricalFocalCrossentropy,
    "mean_squared_error": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "cosine_similarity": CosineSimilarity,
    "huber": Huber,
    "log_cosh": LogCosh,
    "hinge": Hinge,
    "squared_hinge": SquaredHinge,
    "categorical_hinge": CategoricalHinge,
    "kl_divergence": KLDivergence,
    "poisson": Poisson,
    "dice": Dice,
    "tversky": Tversky,
    "circle": Circle,
    "categorical_generalized_cross_entropy": CategoricalGeneralizedCrossEntropy,
    "ctc": CTC,
}
# keras.losses.get's aliases
_ALIASES = {"bce": "binary_crossentropy", "BCE": "binary_crossentropy", "mse": "mean_squared_error",
            "MSE": "mean_squared_error", "mae": "mean_absolute_error", "MAE": "mean_absolute_error",
            "mape": "mean_absolute_percentage_error", "MAPE": "mean_absolute_percentage_error",
            "msle": "mean_squared_logarithmic_error", "MSLE": "mean_squared_logarithmic_error",
            "kld": "kl_divergence", "KLD": "kl_divergence"}
_CLASSES = {cls.__name__: cls for cls in _BY_NAME.values()}
_FUNCTIONS = {name: globals()[name] for name in _BY_NAME}  # the functional form of each name


def make(name, **options) -> Loss:
    """The :class:`Loss` for a Keras loss name, class name or functional form, built with ``options``.

    What ``model.compile(loss="categorical_crossentropy")`` builds in Keras,
    and :func:`keras_impl.losses.make_loss` on the Keras side: always a
    reducing loss instance (unlike :func:`get`, which returns the functional
    form for a function name, as Keras's ``get`` does).

    Example:
        >>> make("sparse_categorical_crossentropy", from_logits=True)
        SparseCategoricalCrossentropy(reduction='sum_over_batch_size', from_logits=True, ignore_class=None, axis=-1)
    """
    if not isinstance(name, str):  # a functional form: categorical_crossentropy -> CategoricalCrossentropy
        name = next((n for n, fn in _FUNCTIONS.items() if fn is name), name)
    key = _ALIASES.get(name, name) if isinstance(name, str) else name
    cls = _CLASSES.get(key) or _BY_NAME.get(key)
    if cls is None:
        raise ValueError(f"Unknown loss {name!r}. Known: {sorted(_BY_NAME) + sorted(_CLASSES)}")
    return cls(**options)


def get(identifier):
    """A loss from an identifier, as ``keras.losses.get``.

    * a function name (``"categorical_crossentropy"``, alias ``"bce"``): the
      unreduced functional form, one loss per sample, as in Keras;
    * a class name (``"CategoricalCrossentropy"``): an instance with the
      default options;
    * a dict ``{"class_name": ..., "config": {...}}`` (Keras's serialized
      form, as ``keras.losses.serialize`` or :func:`serialize` writes it): what
      :func:`deserialize` makes of it, a class made into an instance; a dict it
      cannot resolve raises ``ValueError`` ("Could not interpret loss
      identifier"), as Keras's;
    * a :class:`Loss` class: an instance; a :class:`Loss` instance or any
      callable: returned as is; ``None``: ``None``.

    For an instance with options from a name, see :func:`make`.

    Example:
        >>> get("categorical_crossentropy").__name__
        'categorical_crossentropy'
        >>> get({"class_name": "BinaryCrossentropy", "config": {"from_logits": True}}).from_logits
        True
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):  # Keras's get: deserialize, then a class is instantiated
        obj = deserialize(identifier)
        if callable(obj):
            return obj() if isinstance(obj, type) else obj
        raise ValueError(f"Could not interpret loss identifier: {identifier}")
    if isinstance(identifier, str):
        name = _ALIASES.get(identifier, identifier)
        if name in _FUNCTIONS:
            return _FUNCTIONS[name]
        return make(name)
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")


# ---------------------------------------------------------------------------------- serialize / deserialize

#: functions Keras exports first as ``keras.metrics.<name>`` (their canonical API name; the rest are
#: ``keras.losses.<name>``): ``keras.losses.deserialize`` looks an alias up in that module
_KERAS_METRICS_FUNCTIONS = frozenset({
    "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy", "categorical_focal_crossentropy",
    "categorical_hinge", "hinge", "kl_divergence", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_error", "mean_squared_logarithmic_error", "poisson", "sparse_categorical_crossentropy",
    "squared_hinge"})
#: keras.losses.ALL_OBJECTS_DICT: what keras.losses.deserialize resolves by name (Keras 3.15.1 leaves
#: CategoricalGeneralizedCrossEntropy and its function out, so their names come back unresolved, as there)
_KERAS_ALL_OBJECTS = {
    "Loss": Loss, "LossFunctionWrapper": LossFunctionWrapper,
    **{n: c for n, c in _CLASSES.items() if c is not CategoricalGeneralizedCrossEntropy},
    **{n: f for n, f in _FUNCTIONS.items() if f is not categorical_generalized_cross_entropy},
    **{alias: _FUNCTIONS[target] for alias, target in _ALIASES.items()},
}
_NAMESPACE = None


def _keras_namespace():
    """This module's objects under their Keras API names (see :mod:`torch_impl._serialization`)."""
    global _NAMESPACE
    if _NAMESPACE is None:
        from torch_impl._serialization import KerasNamespace

        canonical = {Loss: "keras.Loss", **{c: f"keras.losses.{n}" for n, c in _CLASSES.items()},
                     **{f: f"keras.{'metrics' if n in _KERAS_METRICS_FUNCTIONS else 'losses'}.{n}"
                        for n, f in _FUNCTIONS.items()}}
        in_module = {"Loss": Loss, **_CLASSES, **_FUNCTIONS}
        _NAMESPACE = KerasNamespace(
            symbols={name: obj for obj, name in canonical.items()}, canonical=canonical,
            modules={"keras": {"Loss": Loss}, "keras.losses": in_module, "keras.src.losses.loss": {"Loss": Loss},
                     "keras.metrics": {n: _FUNCTIONS[n] for n in _KERAS_METRICS_FUNCTIONS},
                     "keras.src.losses.losses": {**in_module, "LossFunctionWrapper": LossFunctionWrapper}},
            private={LossFunctionWrapper: "keras.src.losses.losses"})
    return _NAMESPACE


def _keras_config(loss) -> dict:
    """``get_config`` as Keras's serializer sees it: a wrapper's ``fn`` as the function (serialized as Keras
    writes functions), a categorical focal ``alpha`` array or tensor as given."""
    config = loss.get_config()
    if isinstance(loss, LossFunctionWrapper) and isinstance(config.get("fn"), str) \
            and config["fn"] == getattr(loss.fn, "__name__", None):
        config["fn"] = loss.fn
    if isinstance(loss, CategoricalFocalCrossentropy) and not isinstance(loss.alpha, (float, list, tuple)):
        config["alpha"] = loss.alpha
    return config


def serialize(loss):
    """Keras's ``keras.losses.serialize``: the dict Keras writes for a loss, a loss function or anything Keras's
    serializer takes.

    * a built-in class: ``{"module": "keras.losses", "class_name": "CategoricalCrossentropy", "config":
      get_config(), "registered_name": None}``, as Keras's (the config has Keras's keys, and ``axis`` for
      ``SparseCategoricalCrossentropy`` / ``CosineSimilarity`` and ``delta`` for ``Huber``, which Keras 3.15.1
      drops; Keras reads them back);
    * :class:`LossFunctionWrapper`: Keras's ``{"module": "keras.src.losses.losses", "class_name":
      "LossFunctionWrapper", ..., "registered_name": "LossFunctionWrapper"}`` with ``fn`` serialized;
    * a function (one of this module's or yours): ``{"module": "builtins", "class_name": "function", "config":
      its name, "registered_name": "function"}``; a ``lambda``: Keras's ``"__lambda__"`` (marshalled code, with
      Keras's warning);
    * your :class:`Loss` subclass: its module (``None`` for ``__main__``), class name, config and
      ``registered_name`` the class name, as Keras writes a custom class;
    * ``None``, strings and numbers as they are; NumPy arrays and torch tensors in a config as Keras's
      ``"__numpy__"`` / ``"__tensor__"``.

    Keras's ``keras.losses.deserialize`` and :func:`deserialize` read the dict back.

    Example:
        >>> serialize(BinaryCrossentropy(from_logits=True))["config"]["from_logits"]
        True
        >>> serialize(huber)
        {'module': 'builtins', 'class_name': 'function', 'config': 'huber', 'registered_name': 'function'}
    """
    from torch_impl._serialization import serialize_keras_object

    return serialize_keras_object(loss, _keras_namespace(),
                                  lambda obj: _keras_config(obj) if isinstance(obj, Loss) else obj.get_config())


def deserialize(name, custom_objects: Optional[dict] = None):
    """Keras's ``keras.losses.deserialize``: a loss instance or function from its serialized form.

    Takes what ``keras.losses.serialize`` (or :func:`serialize`) writes, a short ``{"class_name": ...,
    "config": {...}}``, and names: a class name gives an instance with the defaults, a function name the
    function. ``custom_objects`` maps names to your classes and functions (a custom class's dict needs it).
    Keras's rules, quirks included: a name it does not know comes back unchanged (``deserialize("foo")`` is
    ``"foo"``, a dict of an unknown class gives its class name; :func:`get` raises ``ValueError`` there), the
    aliases ``"mse"``, ``"bce"``... raise ``ValueError`` (``keras.losses.get`` takes them), a custom class's dict
    without ``custom_objects`` raises ``TypeError``, and ``CategoricalGeneralizedCrossEntropy`` (missing from
    Keras 3.15.1's table) comes back as its name.

    Example:
        >>> deserialize({"module": "keras.losses", "class_name": "CategoricalCrossentropy",
        ...              "config": {"from_logits": True, "label_smoothing": 0.1}, "registered_name": None})
        CategoricalCrossentropy(reduction='sum_over_batch_size', from_logits=True, label_smoothing=0.1, axis=-1)
        >>> deserialize("huber") is huber
        True
    """
    from torch_impl._serialization import deserialize_keras_object

    return deserialize_keras_object(name, _keras_namespace(), custom_objects=custom_objects,
                                    module_objects=_KERAS_ALL_OBJECTS)

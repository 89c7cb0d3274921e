"""Keras 3 loss reductions, sample weights and masks, in PyTorch.

This module reproduces ``keras/src/losses/loss.py`` (Keras 3.15) operation for
operation:

* ``sum_over_batch_size`` and ``mean`` divide the weighted sum by the NUMBER of
  loss elements, not by the sum of weights; ``mean_with_sample_weight`` divides
  by the sum of the weights (of the mask, when there is a mask but no weight);
  every division is divide-no-nan (0/0 gives 0).
* A mask (from ``ignore_class``) is folded into the sample weight; under
  ``sum_over_batch_size``/``mean`` the valid entries weigh ``total/valid`` so
  the mean runs over valid entries only.
* Ranks are aligned by squeezing or expanding ONE trailing 1-dim, so a loss of
  shape ``(N,)`` against a weight of shape ``(N, 1)`` never broadcasts to
  ``(N, N)``.
* A loss of shape ``()`` or ``(0,)`` is returned unreduced.

Example:
    >>> import torch
    >>> from torch_impl.reduction import reduce_weighted_values
    >>> values = torch.tensor([1.0, 2.0, 3.0, 4.0])
    >>> reduce_weighted_values(values, torch.tensor([1.0, 0.0, 1.0, 0.0]))
    tensor(1.)
    >>> reduce_weighted_values(values, torch.tensor([1.0, 0.0, 1.0, 0.0]),
    ...                        reduction="mean_with_sample_weight")
    tensor(2.)
"""

from __future__ import annotations

import math
import warnings
from typing import Optional, Union

import torch

__all__ = [
    "REDUCTIONS",
    "element_weights",
    "standardize_reduction",
    "squeeze_or_expand_to_same_rank",
    "apply_mask",
    "reduce_values",
    "reduce_weighted_values",
]

#: Every reduction Keras 3 accepts. ``None`` and ``"none"`` do not reduce.
REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def standardize_reduction(reduction: Optional[str]) -> Optional[str]:
    """Return ``reduction`` if Keras accepts it, else raise ``ValueError``."""
    if not (reduction is None or (isinstance(reduction, str) and reduction in REDUCTIONS)):
        raise ValueError(
            "Invalid value for argument `reduction`. Expected one of "
            f"{list(REDUCTIONS)}. Received: reduction={reduction}"  # Keras's text (no repr)
        )
    return reduction


def squeeze_or_expand_to_same_rank(
    x1: torch.Tensor, x2: torch.Tensor, expand_rank_1: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Align ranks by one trailing 1-dim, exactly like Keras.

    If the ranks differ by one and the higher-rank tensor ends in a 1-dim, that
    dim is squeezed; except that a rank-1 partner is expanded instead (when
    ``expand_rank_1``), so ``(N,)`` vs ``(N, 1)`` becomes ``(N, 1)`` vs ``(N, 1)``.
    Other rank differences are left for broadcasting.
    """
    r1, r2 = x1.dim(), x2.dim()
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = x2.unsqueeze(-1)
        else:
            x1 = x1.squeeze(-1)
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1.unsqueeze(-1)
        else:
            x2 = x2.squeeze(-1)
    return x1, x2


_WEIGHT_HINT = (
    "Pass one weight per sample with shape (batch,) or (batch, 1) for per-sample "
    "losses, or one weight per loss element with the loss's shape (for "
    "per-element losses of shape (batch, d1, ...), a per-sample weight must be "
    "(batch, 1, ...) so that it broadcasts)."
)


def _broadcast_mul(a: torch.Tensor, b: torch.Tensor, message: str) -> torch.Tensor:
    try:
        torch.broadcast_shapes(a.shape, b.shape)
    except RuntimeError:
        raise ValueError(message + " " + _WEIGHT_HINT) from None
    return a * b


def _warn_if_weights_enlarge(values: torch.Tensor, sample_weight: torch.Tensor) -> None:
    """Keras multiplies the losses by a weight of more elements without a word (a ``(N, D)`` weight on the ``(N,)``
    losses of a crossentropy averaged over its last axis, with ``N == D``, gives ``(N, N)``); the same numbers
    here, with a warning."""
    try:
        shape = torch.broadcast_shapes(values.shape, sample_weight.shape)
    except RuntimeError:
        return  # _broadcast_mul raises
    if math.prod(shape) > values.numel() and values.dim() == 0:
        warnings.warn("a loss function returned one number for the batch, so sample_weight (or class_weight) of "
                      f"shape {tuple(sample_weight.shape)} only rescales it by the weights' mean (Keras does the "
                      "same): return one loss per sample to weigh the samples.", UserWarning, stacklevel=4)
    elif math.prod(shape) > values.numel():
        warnings.warn(f"sample_weight of shape {tuple(sample_weight.shape)} broadcasts the losses of shape "
                      f"{tuple(values.shape)} to {tuple(shape)} (Keras does the same, silently). For one weight per "
                      "element of a loss averaged over its last axis (binary crossentropy), give the loss "
                      "y[..., None] and p[..., None] so that it keeps that axis.", UserWarning, stacklevel=4)


def _divide_no_nan(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # 0 where the divisor is 0, like tf.math.divide_no_nan (the gradient too).
    safe = torch.where(y == 0, torch.ones_like(y), y)
    return torch.where(y == 0, torch.zeros_like(x), x / safe)


def _as_sample_weight(sample_weight, device, dtype: torch.dtype) -> torch.Tensor:
    """A user's sample weight as a real tensor of ``dtype`` on ``device``. Python numbers, lists and arrays
    convert straight to ``dtype``, as Keras converts them (``0.1`` stays exact in a float64 loss); booleans (a
    mask) become 0 and 1."""
    if not isinstance(sample_weight, torch.Tensor):
        try:
            return torch.as_tensor(sample_weight, dtype=dtype, device=device)
        except (TypeError, ValueError, RuntimeError) as e:
            raise ValueError(f"sample_weight must be real numbers, got {sample_weight!r}") from e
    if sample_weight.is_complex():
        raise ValueError(f"sample_weight must be real numbers, got dtype {sample_weight.dtype}")
    return sample_weight.to(dtype)


def _numel(t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return torch.tensor(float(t.numel()), dtype=dtype, device=t.device)


def apply_mask(
    sample_weight: Optional[torch.Tensor],
    mask: Optional[torch.Tensor],
    dtype: torch.dtype,
    reduction: Optional[str],
) -> Optional[torch.Tensor]:
    """Fold a boolean mask into the sample weight, as Keras's ``apply_mask``."""
    if mask is None:
        return sample_weight
    if reduction in ("mean", "sum_over_batch_size"):
        total = _numel(mask, dtype)
        valid = mask.to(dtype).sum()
        mask_weight = _divide_no_nan(total, valid)
        float_mask = torch.where(mask.bool(), mask_weight, torch.zeros((), dtype=dtype, device=mask.device))
    else:
        float_mask = mask.to(dtype)
    if sample_weight is None:
        return float_mask
    sample_weight = sample_weight.to(dtype)
    float_mask, sample_weight = squeeze_or_expand_to_same_rank(float_mask, sample_weight)
    return _broadcast_mul(
        sample_weight, float_mask,
        f"sample_weight of shape {tuple(sample_weight.shape)} does not broadcast against the "
        f"mask of the losses (ignore_class, or the prediction's _keras_mask), shape {tuple(float_mask.shape)}.",
    )


def reduce_values(
    values: torch.Tensor,
    sample_weight: Optional[torch.Tensor] = None,
    reduction: Optional[str] = "sum_over_batch_size",
) -> torch.Tensor:
    """Reduce already-weighted loss values (Keras's ``reduce_values``)."""
    if reduction is None or reduction == "none" or values.dim() == 0 or tuple(values.shape) == (0,):
        return values
    loss = values.sum()
    if reduction in ("sum_over_batch_size", "mean", "mean_with_sample_weight"):
        if reduction == "mean_with_sample_weight" and sample_weight is not None:
            loss = _divide_no_nan(loss, sample_weight.sum().to(loss.dtype))
        else:
            n = values.numel()  # a Python number: divide-no-nan without tensor ops
            loss = loss / n if n else loss * 0.0  # 0, still in the graph (an empty batch backpropagates zeros)
    return loss


def reduce_weighted_values(
    values: torch.Tensor,
    sample_weight=None,
    mask: Optional[torch.Tensor] = None,
    reduction: Optional[str] = "sum_over_batch_size",
) -> torch.Tensor:
    """Weight, mask and reduce per-element losses exactly like Keras.

    Args:
        values: unreduced losses, e.g. shape ``(N,)``.
        sample_weight: ``None``, a scalar, a per-sample ``(N,)``/``(N, 1)``
            tensor or a per-element tensor; anything ``torch.as_tensor`` takes.
        mask: optional boolean tensor of ``values``'s shape (valid entries True).
        reduction: one of :data:`REDUCTIONS`.
    """
    reduction = standardize_reduction(reduction)
    dtype = values.dtype
    if sample_weight is not None:
        sample_weight = _as_sample_weight(sample_weight, values.device, dtype)
    sample_weight = apply_mask(sample_weight, mask, dtype=dtype, reduction=reduction)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        _warn_if_weights_enlarge(values, sample_weight)
        values = _broadcast_mul(
            values, sample_weight,
            f"sample_weight of shape {tuple(sample_weight.shape)} cannot be applied to losses of "
            f"shape {tuple(values.shape)}: after aligning one trailing 1-dim the shapes do not broadcast.",
        )
    return reduce_values(values, sample_weight, reduction)


def element_weights(
    values_shape: tuple,
    sample_weight,
    mask: Optional[torch.Tensor],
    reduction: Optional[str],
    dtype: torch.dtype,
    device,
) -> Optional[Union[torch.Tensor, float]]:
    """Weights ``r`` with ``reduce_weighted_values(values, ...) == sum(r * values.flatten())``.

    For fused kernels that fold Keras's reduction into the loss. A Python float
    when every element weighs the same (no sample weight, no mask); ``None``
    when the reduction does not reduce, when the sample weight broadcasts
    the losses to a larger shape, or when it requires a gradient (then the
    generic path must run).
    """
    reduction = standardize_reduction(reduction)
    if reduction in (None, "none") or len(values_shape) == 0 or tuple(values_shape) == (0,):
        return None
    if isinstance(sample_weight, torch.Tensor) and sample_weight.requires_grad:
        return None  # the fused kernels give no gradient for the weights: the generic path does
    n = math.prod(values_shape)
    if sample_weight is None and mask is None:
        return 1.0 if reduction == "sum" else (1.0 / n if n else 0.0)
    if sample_weight is not None:
        sample_weight = _as_sample_weight(sample_weight, device, dtype)
    sw = apply_mask(sample_weight, mask, dtype=dtype, reduction=reduction)  # not None: one of the two is given
    v, s = squeeze_or_expand_to_same_rank(torch.ones(values_shape, dtype=dtype, device=device), sw)
    try:
        shape = torch.broadcast_shapes(v.shape, s.shape)
    except RuntimeError:
        return None  # the generic path raises the clear error
    if math.prod(shape) != n:
        return None
    w = (v * s).reshape(-1)
    if reduction == "sum":
        return w
    if reduction == "mean_with_sample_weight":
        return _divide_no_nan(w, sw.sum())
    return w / n if n else torch.zeros_like(w)

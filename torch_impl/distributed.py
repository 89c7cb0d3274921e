"""Global-batch-correct losses under ``torch.distributed`` (DDP, FSDP).

A loss reduced on each rank and then averaged by DDP (gradients divided by the
world size) equals the loss of the global batch only when every rank divides
by the same number: ``mean_with_sample_weight`` divides by the LOCAL sum of
the weights, ``ignore_class`` by the LOCAL count of valid entries, and under
``sum_over_batch_size`` ranks with unequal batch sizes weigh their samples
differently; a ``sum`` comes out divided by the world size.

:class:`GlobalBatchLoss` wraps any :class:`torch_impl.losses.Loss` and makes
the reduction global: each rank computes its weighted sum, the denominators
(element count, sum of the weights, count of valid entries) are summed over
the process group with one small ``all_reduce`` (they carry no gradient; the
losses are never all-reduced), and the rank returns

    ``local weighted sum / global denominator * world_size``

so that DDP's (or FSDP's) gradient averaging yields exactly the gradient of
the loss of the whole global batch, as one process would compute it. The
value a rank returns is therefore NOT the global loss (it is ``world_size``
times the rank's share of it); log :attr:`GlobalBatchLoss.last_global_loss`
(free: it rides on the same ``all_reduce``) or :meth:`GlobalBatchLoss.global_value`.

Without an initialised process group the wrapper returns the plain loss, so
the same code runs on one process.

Example:
    >>> import torch
    >>> from torch_impl import losses
    >>> from torch_impl.distributed import GlobalBatchLoss
    >>> loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    >>> wrapped = GlobalBatchLoss(loss)      # no process group: the plain loss
    >>> y, z = torch.tensor([0, -1, 2]), torch.zeros(3, 3)
    >>> bool(wrapped(y, z) == loss(y, z))
    True
    >>> wrapped.global_value(wrapped(y, z))  # the global loss, for logging
    tensor(1.0986)
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.distributed as dist
from torch import nn

from torch_impl.losses import Loss
from torch_impl.reduction import _as_sample_weight, _divide_no_nan, apply_mask, reduce_weighted_values, standardize_reduction

__all__ = ["GlobalBatchLoss", "global_batch", "is_distributed", "GRAD_REDUCTIONS"]

#: How the data-parallel wrapper combines the ranks' gradients: ``"mean"`` (DDP,
#: FSDP and FSDP2 by default) or ``"sum"`` (e.g. tf.distribute-style summing).
GRAD_REDUCTIONS = ("mean", "sum")

# Slots of the one float64 vector that is all-reduced per call.
_NUM, _DEN, _WSUM, _SCALAR_VALUES, _LOCAL_DEN = range(5)


def is_distributed() -> bool:
    """Whether a default process group is initialised (the wrapper then reduces globally)."""
    return dist.is_available() and dist.is_initialized()


class GlobalBatchLoss(nn.Module):
    """Make a torch_impl loss reduce over the global batch of a process group.

    ``GlobalBatchLoss(loss)(y_true, y_pred, sample_weight)`` takes the same
    arguments as ``loss`` (each rank passes its own part of the batch) and
    reproduces ``loss.reduction`` over the concatenation of all ranks' batches:

    * ``"sum_over_batch_size"`` / ``"mean"``: weighted sum over the number of
      elements of the global batch (under ``ignore_class``: over the global
      count of valid entries);
    * ``"mean_with_sample_weight"``: over the global sum of the weights (of
      the mask when there is a mask but no weight; a scalar weight, which
      every rank must pass alike, is not summed: Keras divides by it);
    * ``"sum"``: the global sum;
    * ``"none"`` / ``None``: the plain per-sample losses, unchanged.

    A loss whose function returns one scalar per batch (e.g.
    ``LossFunctionWrapper(focal_loss())``, which sums over its batch) is
    treated as a sum over the batch: the global value is the sum of the
    ranks' scalars times Keras's weight factor (``sum(w) / N`` etc.) taken
    over the global batch. A function returning a batch MEAN cannot be made
    global; return per-sample values instead.

    Args:
        loss: a :class:`torch_impl.losses.Loss` instance.
        group: the data-parallel process group (the ranks that split the
            batch and average gradients); ``None`` is the default group.
        grad_reduction: how the data-parallel wrapper combines gradients:
            ``"mean"`` (DDP and FSDP divide by the world size: each rank's
            value is multiplied by the world size) or ``"sum"`` (gradients
            are summed: no multiplication).

    Attributes:
        last_global_loss: after each reducing call under a process group, the
            detached loss of the global batch (identical on every rank);
            ``None`` before.

    Example:
        >>> import torch
        >>> from torch_impl import losses
        >>> wrapped = GlobalBatchLoss(losses.CategoricalCrossentropy(reduction="mean_with_sample_weight"))
        >>> y = torch.tensor([[0., 1.], [1., 0.]])
        >>> p = torch.tensor([[0.2, 0.8], [0.6, 0.4]])
        >>> wrapped(y, p, sample_weight=torch.tensor([1., 3.]))
        tensor(0.4389)
        >>> wrapped.reduction
        'mean_with_sample_weight'
    """

    def __init__(self, loss: Loss, group: Optional[dist.ProcessGroup] = None, grad_reduction: str = "mean"):
        super().__init__()
        if isinstance(loss, GlobalBatchLoss):
            raise ValueError("The loss is already a GlobalBatchLoss; wrap the torch_impl loss only once.")
        if not isinstance(loss, Loss):
            hint = (" For a function fn(y_true, y_pred), pass losses.LossFunctionWrapper(fn)."
                    if callable(loss) and not isinstance(loss, nn.Module) else "")
            raise ValueError(
                "GlobalBatchLoss wraps a torch_impl.losses.Loss (e.g. losses.CategoricalCrossentropy(...)), "
                f"whose unreduced values and mask it needs. Received {loss!r} of type {type(loss).__name__}.{hint}"
            )
        if grad_reduction not in GRAD_REDUCTIONS:
            raise ValueError(f"grad_reduction must be one of {list(GRAD_REDUCTIONS)}. Received: {grad_reduction!r}")
        standardize_reduction(loss.reduction)
        self.loss = loss
        self.group = group
        self.grad_reduction = grad_reduction
        self.last_global_loss: Optional[torch.Tensor] = None

    @property
    def reduction(self) -> Optional[str]:
        """The wrapped loss's reduction, made global."""
        return self.loss.reduction

    def world_size(self) -> int:
        """The number of ranks in ``group``; 1 without a process group."""
        return dist.get_world_size(self.group) if is_distributed() else 1

    def extra_repr(self) -> str:
        return f"grad_reduction={self.grad_reduction!r}"

    def forward(self, y_true, y_pred, sample_weight=None) -> torch.Tensor:
        reduction = standardize_reduction(self.loss.reduction)
        if not is_distributed() or reduction in (None, "none"):
            return self.loss(y_true, y_pred, sample_weight)
        values, mask = self.loss.values_and_mask(y_true, y_pred)
        dtype, device = values.dtype, values.device
        if sample_weight is not None:
            sample_weight = _as_sample_weight(sample_weight, device, dtype)

        local = torch.zeros(5, dtype=torch.float64, device=device)
        if values.dim() == 0:
            num = self._scalar_terms(values, sample_weight, mask, reduction, local)
        else:
            num = self._elementwise_terms(values, sample_weight, mask, reduction, local)
        local[_NUM] = num.detach().to(torch.float64)

        world = dist.get_world_size(self.group)
        total = local.clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM, group=self.group)  # denominators (and the detached sum)
        # one host synchronisation; every rank sees the same sums, so all raise or none does
        flags = dict(zip((_SCALAR_VALUES, _LOCAL_DEN), map(int, total[[_SCALAR_VALUES, _LOCAL_DEN]].tolist())))
        for slot, what in ((_SCALAR_VALUES, "returned a scalar loss"), (_LOCAL_DEN, "passed a scalar sample_weight")):
            if flags[slot] not in (0, world):
                raise ValueError(
                    f"GlobalBatchLoss: {flags[slot]} of {world} ranks {what}; the ranks must agree "
                    "(same loss, same kind of sample_weight) for the global reduction to be defined."
                )
        # A scalar weight is the same on every rank: its denominator (and weight sum) stay local.
        den = local[_DEN] if flags[_LOCAL_DEN] else total[_DEN]
        if flags[_SCALAR_VALUES]:
            # the ranks' scalars add up; Keras's weight factor is taken over the global batch
            if sample_weight is None:
                factor = torch.ones_like(den)
            else:
                wsum = local[_WSUM] if flags[_LOCAL_DEN] else total[_WSUM]
                factor = wsum if reduction == "sum" else _divide_no_nan(wsum, den)
            self.last_global_loss = (total[_NUM] * factor).to(dtype)
            value = num * factor.to(dtype)
        elif reduction == "sum":
            self.last_global_loss = total[_NUM].to(dtype)
            value = num
        else:
            self.last_global_loss = _divide_no_nan(total[_NUM], den).to(dtype)
            value = _divide_no_nan(num, den.to(dtype))  # Keras's divide-no-nan, by the global divisor
        # DDP/FSDP divide the summed gradients by the world size: multiply it back
        return value * world if self.grad_reduction == "mean" else value

    def _elementwise_terms(self, values, sample_weight, mask, reduction, local) -> torch.Tensor:
        """Local weighted sum; writes this rank's denominator into ``local``."""
        # The mask folded in as 0/1 weights (apply_mask does so for every reduction but the two means);
        # reduction="none" gives the weighted values, with Keras's own shape checks.
        w = apply_mask(sample_weight, mask, dtype=values.dtype, reduction="none")
        weighted = reduce_weighted_values(values, w, reduction="none")
        if reduction in ("sum_over_batch_size", "mean"):
            if mask is None:
                local[_DEN] = weighted.numel()
            elif mask.numel():
                # Keras: valid entries weigh total/valid and the sum is divided by
                # numel(weighted), i.e. the divisor is valid * numel(weighted) / total.
                local[_DEN] = mask.sum().to(torch.float64) * (weighted.numel() / mask.numel())
        elif reduction == "mean_with_sample_weight":
            if w is None:
                local[_DEN] = weighted.numel()
            else:
                local[_DEN] = w.detach().sum().to(torch.float64)
                local[_LOCAL_DEN] = float(w.dim() == 0)
        return weighted.sum()

    def _scalar_terms(self, values, sample_weight, mask, reduction, local) -> torch.Tensor:
        """A loss that is one scalar per batch: a sum, scaled by Keras's weight factor."""
        if mask is not None:
            raise ValueError("GlobalBatchLoss: the loss returned a scalar together with a mask; "
                             "return one value per element so that the mask can be applied.")
        local[_SCALAR_VALUES] = 1.0
        if sample_weight is None:
            return values
        if sample_weight.dim() == 0:  # Keras leaves values * w unreduced: the factor is w itself
            local[_WSUM] = sample_weight.detach().to(torch.float64)
            local[_DEN] = 1.0
            local[_LOCAL_DEN] = 1.0
            return values
        w = sample_weight.detach().to(torch.float64)
        local[_WSUM] = w.sum()
        if reduction in ("sum_over_batch_size", "mean"):
            local[_DEN] = torch.broadcast_shapes(values.shape, w.shape).numel()
        elif reduction == "mean_with_sample_weight":
            local[_DEN] = w.sum()
        return values

    def global_value(self, value: torch.Tensor) -> torch.Tensor:
        """The global-batch loss from the value this wrapper returned on each rank (for logging).

        All-reduces ``value`` (detached) over the group and undoes the
        ``world_size`` scaling: the same number on every rank, equal to
        :attr:`last_global_loss`. Without a process group: ``value`` detached.
        """
        value = torch.as_tensor(value).detach()
        if not is_distributed():
            return value
        if value.dim() != 0:
            raise ValueError("global_value needs the scalar a reducing GlobalBatchLoss returned; "
                             f"received a tensor of shape {tuple(value.shape)}.")
        total = value.clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM, group=self.group)
        return total / dist.get_world_size(self.group) if self.grad_reduction == "mean" else total


def global_batch(loss: Loss, group: Optional[dist.ProcessGroup] = None,
                 grad_reduction: str = "mean") -> GlobalBatchLoss:
    """``GlobalBatchLoss(loss, group, grad_reduction)``: the opt-in as a function.

    Example:
        >>> from torch_impl import losses
        >>> global_batch(losses.BinaryCrossentropy(from_logits=True))
        GlobalBatchLoss(
          grad_reduction='mean'
          (loss): BinaryCrossentropy(reduction='sum_over_batch_size', from_logits=True, label_smoothing=0.0, axis=-1)
        )
    """
    return GlobalBatchLoss(loss, group=group, grad_reduction=grad_reduction)

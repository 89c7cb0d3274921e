"""Eager fused forward/backward for the element-wise and probability losses (private).

Every loss here reduces along one axis (a mean for the binary losses, a sum
for the categorical ones), so it is computed on a rows view ``(R, C)`` of the
input with that axis last. Each loss has:

* ``reference(x, y, dim, *params)``: Keras's computation written op for op
  (what TensorFlow differentiates). Used for double backward
  (``create_graph=True``) and for a gradient w.r.t. ``y_true``.
* ``forward``/``backward`` on the rows view: the same numbers and the same
  chain rule written out by hand in float arithmetic (PyTorch's autograd for
  the op-for-op version spends most of its time in boolean masks,
  ``torch.where`` and broadcast products).

On CPU the rows are processed in chunks of about 2**18 elements, so that the
temporaries of a chain of element-wise passes stay in cache and are recycled
by the allocator instead of being page-faulted in afresh for every pass.

The clip of ``tf.clip_by_value`` passes the gradient inside the closed interval
``[1e-7, 1 - 1e-7]`` and blocks it outside and at NaN (:func:`_mask_clipped`).
"""

from __future__ import annotations

import math

from typing import Union

import torch

from torch_impl._ops import clip, functorch_active, sigmoid_xent, sigmoid_xent_grad, sigmoid_xent_with_exp, tf_pow

Alpha = Union[float, torch.Tensor]

#: elements per chunk on CPU (rows are never split)
CHUNK_ELEMENTS = 1 << 18


def _mask_clipped(d: torch.Tensor, clipped: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
    """``where(raw inside the clip interval, d, 0)``, i.e. where ``clipped == raw``."""
    inside = clipped == raw  # False outside the interval and at NaN
    out = d.mul_(inside.to(d.dtype))
    # inf * 0 and NaN * 0 must give 0, as a select does; a sum detects them cheaply
    if not torch.compiler.is_compiling() and not bool(torch.isfinite(out.sum())):
        out = torch.where(inside, d, torch.zeros((), dtype=d.dtype, device=d.device))
    return out


def _rows(t: torch.Tensor, dim: int) -> torch.Tensor:
    moved = t.movedim(dim, -1)
    return moved.reshape(math.prod(moved.shape[:-1]), moved.shape[-1])  # also for an empty reduced axis


def _chunks(rows: int, cols: int, device: torch.device):
    if device.type != "cpu" or torch.compiler.is_compiling():
        return [slice(0, rows)]
    step = max(1, CHUNK_ELEMENTS // max(cols, 1))
    return [slice(i, min(i + step, rows)) for i in range(0, rows, step)] or [slice(0, 0)]


class _FusedLoss(torch.autograd.Function):
    """``apply(impl, x, y, dim, *params)``: ``impl`` reduces ``x`` (and ``y``) along ``dim``.

    The forward intermediates the backward needs (``impl.forward``'s second
    result: tensors with the chunk's rows as first axis) are gathered into
    whole-size buffers, so the backward pass does not recompute them.
    """

    @staticmethod
    def forward(ctx, impl, x, y, dim, *params):
        ctx.impl, ctx.dim, ctx.params = impl, dim, params
        x2, y2 = _rows(x, dim), _rows(y, dim)
        p2 = ctx.row_params = impl.row_params(params)
        out, ctx.kept = _forward_rows(impl, x2, y2, p2)
        ctx.save_for_backward(x, y)
        return out.reshape(x.shape[:dim] + x.shape[dim + 1:])

    @staticmethod
    def backward(ctx, grad):
        impl, dim, params, kept = ctx.impl, ctx.dim, ctx.params, ctx.kept
        x, y = ctx.saved_tensors
        if kept is None:  # freed by an earlier backward of a retained graph: recompute
            kept = _forward_rows(impl, _rows(x, dim), _rows(y, dim), ctx.row_params)[1]
        nones = (None,) * len(params)
        if torch.is_grad_enabled() or ctx.needs_input_grad[2]:
            grads = _reference_grads(impl, x, y, dim, params, ctx.needs_input_grad[1:3], grad)
            return (None, *grads, None, *nones)
        if not ctx.needs_input_grad[1]:
            return (None, None, None, None, *nones)
        x2, y2 = _rows(x, dim), _rows(y, dim)
        g1 = grad.reshape(-1, 1)
        p2 = ctx.row_params
        chunks = _chunks(x2.shape[0], x2.shape[1], x2.device)
        if len(chunks) == 1:
            gx = impl.backward(g1, x2, y2, kept, *p2)
        else:
            gx = torch.empty_like(x2)
            for sl in chunks:
                extra = tuple(None if t is None else t[sl] for t in kept)
                gx[sl] = impl.backward(g1[sl], x2[sl], y2[sl], extra, *p2)
        ctx.kept = None
        moved = x.movedim(dim, -1).shape
        return (None, gx.reshape(moved).movedim(-1, dim), None, None, *nones)


def _forward_rows(impl, x2, y2, p2) -> tuple:
    """``(row losses, kept)``: ``impl.forward`` over the rows view in chunks, its intermediates gathered into
    whole-size buffers."""
    out = x2.new_empty(x2.shape[0])
    chunks = _chunks(x2.shape[0], x2.shape[1], x2.device)
    kept = None
    for sl in chunks:
        value, extra = impl.forward(x2[sl], y2[sl], *p2)
        if len(chunks) == 1:
            return value, extra
        out[sl] = value
        if kept is None:
            kept = tuple(None if t is None else t.new_empty((x2.shape[0],) + t.shape[1:]) for t in extra)
        for buf, t in zip(kept, extra):
            if t is not None:
                buf[sl] = t
    return out, kept


def _apply(impl, x, y, dim, *params):
    """``impl``'s loss along ``dim``: the hand-written forward/backward, or under a ``torch.func`` transform
    Keras's op-for-op computation (functorch differentiates and batches plain ops; a custom
    autograd.Function would need its own vmap rule)."""
    if functorch_active():
        return impl.reference(x, y, dim, *params)
    return _FusedLoss.apply(impl, x, y, dim, *params)


def _reference_grads(impl, x, y, dim, params, needs, grad):
    """Gradients of ``impl.reference`` by autograd (double backward, label gradients)."""
    create = torch.is_grad_enabled()
    with torch.enable_grad():
        ins = [t if (create and t.requires_grad) else t.detach().requires_grad_(bool(n)) for t, n in zip((x, y), needs)]
        out = impl.reference(ins[0], ins[1], dim, *params)
        wanted = [t for t, n in zip(ins, needs) if n]
        grads = iter(torch.autograd.grad(out, wanted, grad, create_graph=create, allow_unused=True))
    return tuple(next(grads) if n else None for n in needs)


class _Impl:
    @staticmethod
    def row_params(params):
        """The params as ``forward``/``backward`` take them on the rows view (the reduced axis last)."""
        return params


# --------------------------------------------------------------------------
# binary crossentropy (mean over the axis)
# --------------------------------------------------------------------------


def _bce_probs_elementwise(p, y):
    output = clip(p)
    bce = y * torch.log(output)
    bce = bce + (1 - y) * torch.log(1 - output)
    return -bce


def _bce_probs_value(p, y):
    o = clip(p)
    b = torch.rsub(o, 1.0).log_().mul_(torch.rsub(y, 1.0))  # (1 - y) * log(1 - o)
    return o.log_().mul_(y).add_(b).neg_()  # -(y * log(o) + (1 - y) * log(1 - o))


def _bce_probs_grad(grad, p, y):
    """d/dp of the element-wise clipped BCE, times ``grad``."""
    o = clip(p)
    d = torch.rsub(y, 1.0).div_(torch.rsub(o, 1.0))  # (1 - y) / (1 - o)
    d.sub_(y / o).mul_(grad)
    return _mask_clipped(d, o, p)


class _BceProbs(_Impl):
    @staticmethod
    def reference(p, y, dim):
        return _bce_probs_elementwise(p, y).mean(dim)

    @staticmethod
    def forward(p, y):
        return _bce_probs_value(p, y).mean(-1), ()

    @staticmethod
    def backward(grad, p, y, extra):
        return _bce_probs_grad(grad / p.shape[-1], p, y)


class _BceLogits(_Impl):
    @staticmethod
    def reference(x, y, dim):
        return sigmoid_xent(y, x).mean(dim)

    @staticmethod
    def forward(x, y):
        value, e = sigmoid_xent_with_exp(y, x)
        return value.mean(-1), (e,)

    @staticmethod
    def backward(grad, x, y, extra):
        return sigmoid_xent_grad(x, y, extra[0]).mul_(grad / x.shape[-1])


def binary_crossentropy(y: torch.Tensor, x: torch.Tensor, from_logits: bool, dim: int) -> torch.Tensor:
    """Keras's binary crossentropy, averaged over ``dim``."""
    return _apply(_BceLogits if from_logits else _BceProbs, x, y, dim)


# --------------------------------------------------------------------------
# binary focal crossentropy (mean over the axis)
# --------------------------------------------------------------------------


def _balance_weight(y, alpha):
    return (y * alpha).add_(torch.rsub(y, 1.0).mul_(1 - alpha))  # y*alpha + (1-y)*(1-alpha)


def focal_mean(y, p, bce, gamma, alpha, balance, dim):
    """Keras's binary focal crossentropy from its parts, op for op: ``(1 - p_t)**gamma * bce`` with ``p_t = y p +
    (1 - y)(1 - p)``, weighted by ``y alpha + (1 - y)(1 - alpha)`` with class balancing, averaged over ``dim``."""
    p_t = y * p + (1 - y) * (1 - p)
    focal = tf_pow(1.0 - p_t, gamma) * bce
    if balance:
        focal = (y * alpha + (1 - y) * (1 - alpha)) * focal
    return focal.mean(dim)


class _BinaryFocal(_Impl):
    @staticmethod
    def reference(x, y, dim, gamma, alpha, balance, from_logits):
        if from_logits:
            bce = sigmoid_xent(y, x)
            p = torch.sigmoid(x)
        else:
            bce = _bce_probs_elementwise(x, y)
            p = x
        return focal_mean(y, p, bce, gamma, alpha, balance, dim)

    @staticmethod
    def forward(x, y, gamma, alpha, balance, from_logits):
        if from_logits:
            bce, e = sigmoid_xent_with_exp(y, x)
            p = torch.sigmoid(x)
        else:
            bce, e, p = _bce_probs_value(x, y), None, x
        p_t = (y * p).add_(torch.rsub(y, 1.0).mul_(torch.rsub(p, 1.0)))  # y p + (1-y)(1-p)
        q = p_t.neg_().add_(1.0)  # 1 - p_t
        out = torch.pow(q, gamma).mul_(bce)
        if balance:
            out = _balance_weight(y, alpha).mul_(out)
        return out.mean(-1), (q, bce, p, e)

    @staticmethod
    def backward(grad, x, y, extra, gamma, alpha, balance, from_logits):
        q, bce, p, e = extra
        grad = grad / x.shape[-1]
        if balance:
            grad = _balance_weight(y, alpha).mul_(grad)
        d_bce = torch.pow(q, gamma).mul_(grad)  # d out / d bce = the focal factor
        # d out / d q = grad * bce * gamma * q**(gamma - 1) (TF's pow gradient, no special case)
        d_q = bce.mul_(grad).mul_(gamma).mul_(torch.pow(q, gamma - 1.0))
        # q = 1 - (y p + (1 - y)(1 - p)): TF adds the two paths, y * (-d_q) and
        # -(1 - y) * (-d_q); written as (1 - 2y) * d_q it would lose the NaN that
        # TF gets from 0 * inf when q == 0 and gamma < 1.
        d_p = torch.rsub(y, 1.0).mul_(d_q).sub_(d_q.mul_(y))
        if from_logits:
            d_p.mul_(torch.rsub(p, 1.0).mul_(p))  # sigmoid'
            return d_p.add_(sigmoid_xent_grad(x, y, e).mul_(d_bce))
        return _bce_probs_grad(d_bce, x, y).add_(d_p)


def binary_focal(y, x, gamma: float, alpha: float, balance: bool, from_logits: bool, dim: int) -> torch.Tensor:
    """Keras's binary focal crossentropy, averaged over ``dim``."""
    # alpha is read only with class balancing (it may be None then)
    return _apply(_BinaryFocal, x, y, dim, float(gamma), float(alpha) if balance else 0.0, bool(balance),
                  bool(from_logits))


# --------------------------------------------------------------------------
# categorical crossentropy from probabilities and categorical focal (sum over the axis)
# --------------------------------------------------------------------------


def _normalize_backward(d_out: torch.Tensor, out: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Gradient through ``out = p / sum(p)`` (last axis): ``(d_out - sum(d_out * out)) / s``."""
    return d_out.sub_(torch.linalg.vecdot(d_out, out).unsqueeze(-1)).div_(s)


class _CategoricalProbs(_Impl):
    @staticmethod
    def reference(p, y, dim):
        output = clip(p / p.sum(dim, keepdim=True))
        return -(y * torch.log(output)).sum(dim)

    @staticmethod
    def forward(p, y):
        s = p.sum(-1, keepdim=True)
        out = p / s
        return torch.linalg.vecdot(y, clip(out).log_()).neg_(), (s, out)

    @staticmethod
    def backward(grad, p, y, extra):
        s, out = extra
        o = clip(out)
        d = (y / o).mul_(grad).neg_()  # d/do of -y log(o)
        return _normalize_backward(_mask_clipped(d, o, out), out, s)


def categorical_probs(y, p, dim: int) -> torch.Tensor:
    """Keras's categorical crossentropy from probabilities along ``dim``."""
    return _apply(_CategoricalProbs, p, y, dim)


class _CategoricalFocal(_Impl):
    @staticmethod
    def row_params(params):
        alpha, gamma, from_logits = params
        if isinstance(alpha, torch.Tensor):
            alpha = alpha.reshape(-1)  # per-class alpha, now along the last axis
        return alpha, gamma, from_logits

    @staticmethod
    def reference(x, y, dim, alpha, gamma, from_logits):
        p = torch.softmax(x, dim) if from_logits else x
        output = clip(p / p.sum(dim, keepdim=True))
        cce = -y * torch.log(output)
        weighting_factor = tf_pow(1.0 - output, gamma) * alpha
        return (weighting_factor * cce).sum(dim)

    @staticmethod
    def forward(x, y, alpha, gamma, from_logits):
        p = torch.softmax(x, -1) if from_logits else x
        s = p.sum(-1, keepdim=True)
        out = p / s
        o = clip(out)
        wf = torch.rsub(o, 1.0).pow_(gamma).mul_(alpha).mul_(y)  # alpha (1-o)^gamma y
        return torch.linalg.vecdot(wf, o.log_()).neg_(), (p, s, out)

    @staticmethod
    def backward(grad, x, y, extra, alpha, gamma, from_logits):
        p, s, out = extra
        o = clip(out)
        one_minus_o = torch.rsub(o, 1.0)
        ya = (y * alpha).mul_(grad)  # grad * alpha * y
        # d/do of -alpha y (1-o)^gamma log(o) = -alpha y (1-o)^gamma / o + alpha y log(o) gamma (1-o)^(gamma-1)
        d = torch.pow(one_minus_o, gamma).mul_(ya).div_(o).neg_()
        d.add_(torch.log(o).mul_(ya).mul_(gamma).mul_(one_minus_o.pow_(gamma - 1.0)))
        d = _normalize_backward(_mask_clipped(d, o, out), out, s)
        if from_logits:  # softmax backward: (d - sum(d p)) p
            d = d.sub_(torch.linalg.vecdot(d, p).unsqueeze(-1)).mul_(p)
        return d


def categorical_focal(y, x, alpha: Alpha, gamma: float, from_logits: bool, dim: int) -> torch.Tensor:
    """Keras's categorical focal crossentropy along ``dim`` (``alpha`` broadcastable)."""
    return _apply(_CategoricalFocal, x, y, dim, alpha, float(gamma), bool(from_logits))


__all__ = ["binary_crossentropy", "binary_focal", "categorical_probs", "categorical_focal", "CHUNK_ELEMENTS"]

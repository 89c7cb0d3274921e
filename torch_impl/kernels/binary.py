"""Fused Triton kernel: Keras's binary crossentropy and binary focal crossentropy.

Element-wise losses averaged over the last axis (Keras's ``mean(axis=-1)``),
on a rows view ``(R, D)``. One kernel computes, per element, the loss and its
derivative, and per row the mean; it writes the row losses (times a per-row
weight or one scale) and, when asked, the gradient ``w_i / D * dloss``. The
backward of the unreduced form is the same kernel with the incoming per-row
gradient as the weight and the loss store turned off.

Keras/TensorFlow semantics:

* from logits: ``max(x,0) - x*y + log1p(exp(-|x|))``, derivative summed as
  ``((x>=0) - y) - sign(x) exp(-|x|)/(1+exp(-|x|))`` (TensorFlow's order);
* from probabilities: ``p`` clipped to ``[1e-7, 1-1e-7]``, gradient zero
  outside the closed interval and at NaN; a NaN prediction still gives a NaN
  loss (TensorFlow's clip keeps NaN);
* label smoothing ``y (1-s) + s/2``;
* focal: ``(1 - p_t)**gamma * bce`` with ``p_t = y p + (1-y)(1-p)`` from the
  unclipped probability (``sigmoid(x)`` for logits), class balancing
  ``y a + (1-y)(1-a)``; the derivative of ``q**gamma`` is ``gamma q**(gamma-1)``
  with no special case (TensorFlow's), and the two ``p_t`` paths are summed
  separately so ``0 * inf`` gives NaN where TensorFlow's does.

Per element from logits: one exp and one reciprocal (``sigmoid(-|x|)`` and, for
focal, ``sigmoid(x)`` come from both), and ``log1p`` as a polynomial; from
probabilities the clipped logs and reciprocals of ``fastmath``. The row sum is
accumulated element-wise and reduced once per row block.
"""

from __future__ import annotations

import triton
import triton.language as tl

from torch_impl.kernels.fastmath import _exp_ftz, _keras_clip, _log1p, _log_unit, _pow, _rcp
from torch_impl.kernels.layout import _aligned, _row_block


@triton.jit
def _binary_xent(
    x_ptr, stride_x,
    y_ptr, stride_y,
    w_ptr,
    loss_ptr,
    grad_ptr, stride_g,
    n_rows, n_cols,
    smoothing, gamma, alpha, scale,
    FROM_LOGITS: tl.constexpr,
    FOCAL: tl.constexpr,
    BALANCE: tl.constexpr,
    GAMMA_INT: tl.constexpr,
    HAS_WEIGHT: tl.constexpr,
    HAS_SMOOTHING: tl.constexpr,
    WRITE_LOSS: tl.constexpr,
    WRITE_GRAD: tl.constexpr,
    BLOCK_R: tl.constexpr,
    BLOCK_D: tl.constexpr,
    EVEN_D: tl.constexpr,
    ALIGN: tl.constexpr,
):
    n_cols, stride_x, stride_y = _aligned(n_cols, ALIGN), _aligned(stride_x, ALIGN), _aligned(stride_y, ALIGN)
    stride_g = _aligned(stride_g, ALIGN)
    rows, row_ok, rows64 = _row_block(tl.program_id(0), n_rows, BLOCK_R)
    cols = tl.arange(0, BLOCK_D)
    w = tl.full([BLOCK_R], 1.0, tl.float32) * scale
    if HAS_WEIGHT:
        w = tl.load(w_ptr + rows, mask=row_ok, other=0.0).to(tl.float32)
    gw = w / n_cols  # d(mean)/d(element), times the row weight
    # element-wise partial sums, reduced across the row once after the loop; with EVEN_D (BLOCK_D divides
    # the row) nothing is masked by column, and the rows past n_rows sum values that are never stored
    acc = tl.zeros([BLOCK_R, BLOCK_D], tl.float32)
    for start in range(0, n_cols, BLOCK_D):
        c = start + cols
        if EVEN_D:
            mask = tl.broadcast_to(row_ok[:, None], [BLOCK_R, BLOCK_D])
        else:
            mask = row_ok[:, None] & (c[None, :] < n_cols)
        x = tl.load(x_ptr + rows64[:, None] * stride_x + c[None, :], mask=mask, other=0.5).to(tl.float32)
        y = tl.load(y_ptr + rows64[:, None] * stride_y + c[None, :], mask=mask, other=0.0).to(tl.float32)
        if HAS_SMOOTHING:
            y = y * (1.0 - smoothing) + 0.5 * smoothing
        if FROM_LOGITS:
            e = _exp_ftz(-tl.abs(x))  # below 2**-126 the loss and gradient move by < 1.2e-38
            r = _rcp(1.0 + e)
            s = e * r  # e / (1 + e): sigmoid(-|x|)
            b = (tl.maximum(x, 0.0) - x * y) + _log1p(e)
            pos = x >= 0.0
            db = (tl.where(pos, 1.0, 0.0) - y) + tl.where(pos, -s, s)
        else:
            o, inside = _keras_clip(x)
            b = -(y * _log_unit(o) + (1.0 - y) * _log_unit(1.0 - o))
            b = tl.where(x == x, b, x)  # TensorFlow's clip keeps a NaN
            db = tl.where(inside, (1.0 - y) * _rcp(1.0 - o) - y * _rcp(o), 0.0)
        if FOCAL:
            if FROM_LOGITS:
                p = tl.where(pos, r, s)  # sigmoid(x) from the same exp and reciprocal
            else:
                p = x
            p_t = y * p + (1.0 - y) * (1.0 - p)
            q = 1.0 - p_t
            f, f1 = _pow(q, gamma, GAMMA_INT)
            loss = f * b
            dq = b * gamma * f1  # d loss / d q
            dp = (1.0 - y) * dq - y * dq
            if FROM_LOGITS:
                dp = dp * (p * (1.0 - p))
            d = f * db + dp
            if BALANCE:
                wb = y * alpha + (1.0 - y) * (1.0 - alpha)
                loss = wb * loss
                d = wb * d
        else:
            loss = b
            d = db
        if WRITE_LOSS:
            if EVEN_D:
                acc += loss
            else:
                acc += tl.where(mask, loss, 0.0)
        if WRITE_GRAD:
            g = d * gw[:, None]
            tl.store(grad_ptr + rows64[:, None] * stride_g + c[None, :], g.to(grad_ptr.dtype.element_ty), mask=mask)
    if WRITE_LOSS:
        tl.store(loss_ptr + rows, tl.sum(acc, axis=1) / n_cols * w, mask=row_ok)

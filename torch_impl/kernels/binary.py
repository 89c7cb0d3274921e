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
  outside the closed interval and at NaN;
* label smoothing ``y (1-s) + s/2``;
* focal: ``(1 - p_t)**gamma * bce`` with ``p_t = y p + (1-y)(1-p)`` from the
  unclipped probability (``sigmoid(x)`` for logits), class balancing
  ``y a + (1-y)(1-a)``; the derivative of ``q**gamma`` is ``gamma q**(gamma-1)``
  with no special case (TensorFlow's), and the two ``p_t`` paths are summed
  separately so ``0 * inf`` gives NaN where TensorFlow's does.
"""

from __future__ import annotations

import triton
import triton.language as tl

from torch_impl.kernels.layout import _aligned, _row_block

EPS = tl.constexpr(1e-7)  # keras.config.epsilon(); a constexpr so kernels may read it
ONE_MINUS_EPS = tl.constexpr(1.0 - 1e-7)


@triton.jit
def _log1p(e):
    # log(1 + e) for 0 <= e <= 1 to float32 accuracy, without libdevice and
    # without relying on log near 1 (GPU logs are approximate there):
    # log1p(e) = 2 atanh(t), t = e / (2 + e) <= 1/3, odd series to t**17.
    t = e / (2.0 + e)
    t2 = t * t
    s = 1.0 / 17.0
    s = s * t2 + 1.0 / 15.0
    s = s * t2 + 1.0 / 13.0
    s = s * t2 + 1.0 / 11.0
    s = s * t2 + 1.0 / 9.0
    s = s * t2 + 1.0 / 7.0
    s = s * t2 + 1.0 / 5.0
    s = s * t2 + 1.0 / 3.0
    s = s * t2 + 1.0
    return 2.0 * t * s


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
    WRITE_LOSS: tl.constexpr,
    WRITE_GRAD: tl.constexpr,
    BLOCK_R: tl.constexpr,
    BLOCK_D: tl.constexpr,
    ALIGN: tl.constexpr = 1,
):
    n_cols, stride_x, stride_y = _aligned(n_cols, ALIGN), _aligned(stride_x, ALIGN), _aligned(stride_y, ALIGN)
    stride_g = _aligned(stride_g, ALIGN)
    rows, row_ok, rows64 = _row_block(tl.program_id(0), n_rows, BLOCK_R)
    cols = tl.arange(0, BLOCK_D)
    w = tl.full([BLOCK_R], 1.0, tl.float32) * scale
    if HAS_WEIGHT:
        w = tl.load(w_ptr + rows, mask=row_ok, other=0.0).to(tl.float32)
    gw = w / n_cols  # d(mean)/d(element), times the row weight
    total = tl.zeros([BLOCK_R], tl.float32)
    for start in range(0, n_cols, BLOCK_D):
        c = start + cols
        mask = row_ok[:, None] & (c[None, :] < n_cols)
        x = tl.load(x_ptr + rows64[:, None] * stride_x + c[None, :], mask=mask, other=0.5).to(tl.float32)
        y = tl.load(y_ptr + rows64[:, None] * stride_y + c[None, :], mask=mask, other=0.0).to(tl.float32)
        y = y * (1.0 - smoothing) + 0.5 * smoothing
        if FROM_LOGITS:
            e = tl.exp(-tl.abs(x))
            b = (tl.maximum(x, 0.0) - x * y) + _log1p(e)
            s = e / (e + 1.0)
            pos = x >= 0.0
            db = (tl.where(pos, 1.0, 0.0) - y) + tl.where(pos, -s, s)
        else:
            o = tl.minimum(tl.maximum(x, EPS), ONE_MINUS_EPS)
            b = -(y * tl.log(o) + (1.0 - y) * tl.log(1.0 - o))
            inside = (x >= EPS) & (x <= ONE_MINUS_EPS)
            db = tl.where(inside, (1.0 - y) / (1.0 - o) - y / o, 0.0)
        if FOCAL:
            if FROM_LOGITS:
                p = 1.0 / (1.0 + tl.exp(-x))
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
            total += tl.sum(tl.where(mask, loss, 0.0), axis=1)
        if WRITE_GRAD:
            g = d * gw[:, None]
            tl.store(grad_ptr + rows64[:, None] * stride_g + c[None, :], g.to(grad_ptr.dtype.element_ty), mask=mask)
    if WRITE_LOSS:
        tl.store(loss_ptr + rows, total / n_cols * w, mask=row_ok)

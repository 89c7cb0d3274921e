"""Fused Triton kernel: Keras's categorical focal crossentropy (one row per sample).

``loss = sum_j alpha_j y_j (1 - o_j)**gamma (-log o_j)`` with
``o = clip(p / sum(p), 1e-7, 1 - 1e-7)``, ``p = softmax(z)`` from logits or the
given probabilities; targets smoothed as ``y (1-s) + s/C``; ``alpha`` one float
or one per class. The gradient through the clip is zero outside the closed
interval; through the normalisation it is ``(d - sum(d * out)) / sum(p)``, and
through the softmax ``p * (...)`` (the ``sum(dp * p)`` term of the softmax
backward is zero in exact arithmetic here and is left out). From logits the
single pass divides by ``sum(p)`` as Keras does: it is 1 only to rounding, and
that rounding decides which probabilities within an ulp of a clip bound are
clipped. The chunked kernel takes it as 1 (finding it would cost one more
sweep), so there such an entry can get a zero gradient where Keras's does not,
or the reverse; values and gradients stay within the float32 tolerance.

Passes over a row: statistics (max and sum, or the sum), then the loss and
``A = sum(d * out)``, then (when the gradient is written) the gradient. Rows
that fit one tile take ``_categorical_focal_single_pass``, which reads the
predictions and targets once and runs the three passes on registers.
"""

from __future__ import annotations

import triton
import triton.language as tl

from torch_impl.kernels.fastmath import (EPS, LOG_EPS, LOG_ONE_MINUS_EPS, ONE_MINUS_EPS, _div_rn, _exp_ftz,
                                          _keras_clip, _log_unit, _pow, _rcp)
from torch_impl.kernels.layout import _aligned, _row_block
from torch_impl.kernels.softmax_xent import LANE_MAX_START, _lane_softmax_merge, _lane_softmax_step


@triton.jit
def _chunk(x_ptr, stride_x, y_ptr, stride_y, alpha_ptr, rows64, row_ok, c, n_cols, shift, log_d, inv_s, smoothing, gamma,
           alpha, FROM_LOGITS: tl.constexpr, ALPHA_PER_CLASS: tl.constexpr, GAMMA_INT: tl.constexpr,
           HAS_SMOOTHING: tl.constexpr):
    """One chunk of a row: mask, p, out = p/s, o = clip(out), alpha*y, log(o), (1-o)**gamma, (1-o)**(gamma-1)."""
    mask = row_ok[:, None] & (c[None, :] < n_cols)
    x = tl.load(x_ptr + rows64[:, None] * stride_x + c[None, :], mask=mask, other=0.0).to(tl.float32)
    y = tl.load(y_ptr + rows64[:, None] * stride_y + c[None, :], mask=mask, other=0.0).to(tl.float32)
    a = _alpha(alpha_ptr, c, n_cols, alpha, ALPHA_PER_CLASS)
    if FROM_LOGITS:
        log_p = (x - shift[:, None]) - log_d[:, None]
        p = _exp_ftz(log_p)  # below 2**-126 Keras's clip raises it to 1e-7 either way
    else:
        p, log_p = x, x
    out, o, ay, log_o, f, f1, inside = _terms(p, log_p, y, a, inv_s, smoothing, gamma, n_cols, FROM_LOGITS, GAMMA_INT,
                                                  HAS_SMOOTHING)
    return mask, p, out, o, ay, log_o, f, f1, inside


@triton.jit
def _alpha(alpha_ptr, c, n_cols, alpha, ALPHA_PER_CLASS: tl.constexpr):
    if ALPHA_PER_CLASS:
        a = tl.load(alpha_ptr + c, mask=c < n_cols, other=0.0).to(tl.float32)[None, :]
    else:
        a = alpha
    return a


@triton.jit
def _terms(p, log_p, y, a, inv_s, smoothing, gamma, n_cols, FROM_LOGITS: tl.constexpr, GAMMA_INT: tl.constexpr,
           HAS_SMOOTHING: tl.constexpr):
    """The per-element terms from the softmax ``p`` and its log ``log_p`` (from logits) or the given
    probabilities ``p``, ``inv_s`` (1 / the row sum of ``p``), targets ``y`` and alpha ``a``.

    From logits ``log(clip(out))`` is ``log_p`` inside the clip interval and the log of the bound outside:
    Keras takes the log of the rounded, renormalised softmax, which differs by that rounding (about 1e-7
    absolute in the log, far inside the float32 tolerance), and no log is computed per element.
    """
    out = p * inv_s[:, None]
    o, inside = _keras_clip(out)
    if HAS_SMOOTHING:
        y = y * (1.0 - smoothing) + smoothing / n_cols
    f, f1 = _pow(1.0 - o, gamma, GAMMA_INT)
    if FROM_LOGITS:  # a NaN in the row makes log_p NaN
        log_o = tl.where(out < EPS, LOG_EPS, tl.where(out > ONE_MINUS_EPS, LOG_ONE_MINUS_EPS, log_p))
    else:
        log_o = tl.where(out == out, _log_unit(o), out)  # a NaN from p / sum(p) survives the clip, as in TensorFlow
    return out, o, a * y, log_o, f, f1, inside


@triton.jit
def _dloss_dout(ay, log_o, o, f, f1, gamma, w):
    """``w * d(-ay (1 - o)**gamma log o) / do`` inside the clip interval (callers zero it outside)."""
    return ay * (gamma * f1 * log_o - f * _rcp(o)) * w[:, None]


@triton.jit
def _categorical_focal_single_pass(
    x_ptr, stride_x,
    y_ptr, stride_y,
    alpha_ptr,
    w_ptr,
    loss_ptr,
    grad_ptr, stride_g,
    n_rows, n_cols,
    smoothing, gamma, alpha, scale,
    FROM_LOGITS: tl.constexpr,
    ALPHA_PER_CLASS: tl.constexpr,
    GAMMA_INT: tl.constexpr,
    HAS_SMOOTHING: tl.constexpr,
    HAS_WEIGHT: tl.constexpr,
    WRITE_LOSS: tl.constexpr,
    WRITE_GRAD: tl.constexpr,
    BLOCK_R: tl.constexpr,
    BLOCK_C: tl.constexpr,
    ALIGN: tl.constexpr = 1,
):
    """Rows that fit one tile (``n_cols <= BLOCK_C``): predictions and targets read ONCE.

    The three passes of ``_categorical_focal`` (statistics, loss and
    ``A = sum(d * out)``, gradient) run on the tile held in registers.
    """
    n_cols, stride_x, stride_y = _aligned(n_cols, ALIGN), _aligned(stride_x, ALIGN), _aligned(stride_y, ALIGN)
    stride_g = _aligned(stride_g, ALIGN)
    rows, row_ok, rows64 = _row_block(tl.program_id(0), n_rows, BLOCK_R)
    c = tl.arange(0, BLOCK_C)
    mask = row_ok[:, None] & (c[None, :] < n_cols)
    x = tl.load(x_ptr + rows64[:, None] * stride_x + c[None, :], mask=mask, other=0.0).to(tl.float32)
    y = tl.load(y_ptr + rows64[:, None] * stride_y + c[None, :], mask=mask, other=0.0).to(tl.float32)
    a = _alpha(alpha_ptr, c, n_cols, alpha, ALPHA_PER_CLASS)
    if FROM_LOGITS:
        z = tl.where(mask, x, float("-inf"))
        m = tl.max(z, axis=1)
        zs = z - tl.where(m == float("-inf"), 0.0, m)[:, None]
        e = _exp_ftz(zs)  # 0 in the masked lanes; below 2**-126 Keras's clip raises it to 1e-7 either way
        d = tl.sum(e, axis=1)
        p = e * _div_rn(1.0, d)[:, None]  # exp(z - max) / sum, TensorFlow's softmax, from the exps in registers
        log_p = zs - tl.log(d)[:, None]
    else:
        p, log_p = x, x
    # Keras divides by the sum again, also after a softmax: that sum is 1 only to rounding, and the rounding
    # decides which probabilities within an ulp of the clip bounds are clipped (zero gradient)
    inv_s = _div_rn(1.0, tl.sum(p, axis=1))
    w = tl.full([BLOCK_R], 1.0, tl.float32) * scale
    if HAS_WEIGHT:
        w = tl.load(w_ptr + rows, mask=row_ok, other=0.0).to(tl.float32)
    out, o, ay, log_o, f, f1, inside = _terms(p, log_p, y, a, inv_s, smoothing, gamma, n_cols, FROM_LOGITS, GAMMA_INT,
                                                  HAS_SMOOTHING)
    if WRITE_LOSS:
        tl.store(loss_ptr + rows, tl.sum(tl.where(mask, -(ay * f) * log_o, 0.0), axis=1) * w, mask=row_ok)
    if WRITE_GRAD:
        dd = tl.where(inside & mask, _dloss_dout(ay, log_o, o, f, f1, gamma, w), 0.0)
        a_acc = tl.sum(dd * out, axis=1)
        g = (dd - a_acc[:, None]) * inv_s[:, None]
        if FROM_LOGITS:
            g = g * p
        tl.store(grad_ptr + rows64[:, None] * stride_g + c[None, :], g.to(grad_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _categorical_focal(
    x_ptr, stride_x,
    y_ptr, stride_y,
    alpha_ptr,
    w_ptr,
    loss_ptr,
    grad_ptr, stride_g,
    n_rows, n_cols,
    smoothing, gamma, alpha, scale,
    FROM_LOGITS: tl.constexpr,
    ALPHA_PER_CLASS: tl.constexpr,
    GAMMA_INT: tl.constexpr,
    HAS_SMOOTHING: tl.constexpr,
    HAS_WEIGHT: tl.constexpr,
    WRITE_LOSS: tl.constexpr,
    WRITE_GRAD: tl.constexpr,
    BLOCK_R: tl.constexpr,
    BLOCK_C: tl.constexpr,
    ALIGN: tl.constexpr = 1,
):
    n_cols, stride_x, stride_y = _aligned(n_cols, ALIGN), _aligned(stride_x, ALIGN), _aligned(stride_y, ALIGN)
    stride_g = _aligned(stride_g, ALIGN)
    rows, row_ok, rows64 = _row_block(tl.program_id(0), n_rows, BLOCK_R)
    cols = tl.arange(0, BLOCK_C)

    # pass 1: softmax statistics (per-lane online max/sum) or the probability sum
    m_v = tl.full([BLOCK_R, BLOCK_C], LANE_MAX_START, tl.float32)
    d_v = tl.zeros([BLOCK_R, BLOCK_C], tl.float32)
    for start in range(0, n_cols, BLOCK_C):
        c = start + cols
        mask = row_ok[:, None] & (c[None, :] < n_cols)
        if FROM_LOGITS:
            z = tl.load(x_ptr + rows64[:, None] * stride_x + c[None, :], mask=mask, other=float("-inf")).to(tl.float32)
            m_v, d_v = _lane_softmax_step(m_v, d_v, z)
        else:
            d_v += tl.load(x_ptr + rows64[:, None] * stride_x + c[None, :], mask=mask, other=0.0).to(tl.float32)
    if FROM_LOGITS:
        shift, d = _lane_softmax_merge(m_v, d_v)
        log_d = tl.log(d)
        s = tl.full([BLOCK_R], 1.0, tl.float32)
    else:
        s = tl.sum(d_v, axis=1)
        shift = s * 0.0
        log_d = s * 0.0

    inv_s = _div_rn(1.0, s)
    w = tl.full([BLOCK_R], 1.0, tl.float32) * scale
    if HAS_WEIGHT:
        w = tl.load(w_ptr + rows, mask=row_ok, other=0.0).to(tl.float32)

    # pass 2: the loss and A = sum_j d_j out_j (d = w * dloss/dout, zero where clipped)
    total = tl.zeros([BLOCK_R], tl.float32)
    a_acc = tl.zeros([BLOCK_R], tl.float32)
    for start in range(0, n_cols, BLOCK_C):
        mask, p, out, o, ay, log_o, f, f1, inside = _chunk(
            x_ptr, stride_x, y_ptr, stride_y, alpha_ptr, rows64, row_ok, start + cols, n_cols, shift, log_d, inv_s,
            smoothing, gamma, alpha, FROM_LOGITS, ALPHA_PER_CLASS, GAMMA_INT, HAS_SMOOTHING)
        if WRITE_LOSS:
            total += tl.sum(tl.where(mask, -(ay * f) * log_o, 0.0), axis=1)
        if WRITE_GRAD:
            dd = tl.where(inside & mask, _dloss_dout(ay, log_o, o, f, f1, gamma, w), 0.0)
            a_acc += tl.sum(dd * out, axis=1)
    if WRITE_LOSS:
        tl.store(loss_ptr + rows, total * w, mask=row_ok)

    # pass 3: the gradient (d - A) / s, times p from logits
    if WRITE_GRAD:
        for start in range(0, n_cols, BLOCK_C):
            c = start + cols
            mask, p, out, o, ay, log_o, f, f1, inside = _chunk(
                x_ptr, stride_x, y_ptr, stride_y, alpha_ptr, rows64, row_ok, c, n_cols, shift, log_d, inv_s,
                smoothing, gamma, alpha, FROM_LOGITS, ALPHA_PER_CLASS, GAMMA_INT, HAS_SMOOTHING)
            dd = tl.where(inside, _dloss_dout(ay, log_o, o, f, f1, gamma, w), 0.0)
            g = (dd - a_acc[:, None]) * inv_s[:, None]
            if FROM_LOGITS:
                g = g * p
            tl.store(grad_ptr + rows64[:, None] * stride_g + c[None, :], g.to(grad_ptr.dtype.element_ty), mask=mask)

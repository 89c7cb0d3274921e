"""Fused Triton kernels: softmax crossentropy from logits (Keras's CCE and sparse CCE).

One program handles ``BLOCK_R`` rows. Two forward kernels:

* ``_softmax_xent_fwd_single_pass``: rows that fit one tile (up to
  ``ops._single_pass_max_cols()`` classes) are loaded once, kept in registers,
  and the loss and the gradient are written from them: one read of the
  logits, one write of the gradient.
* ``_softmax_xent_fwd``: any row length; the row is read in chunks of
  ``BLOCK_C`` classes with an online softmax (running max and rescaled sum),
  so a vocabulary of any size needs no N x C intermediate. It can also write
  the gradient in a second sweep over the row (which re-reads the row, mostly
  from L2).

Keras semantics (TensorFlow ops):

* loss = ``sum_j y_j (lse - z_j)`` for probability targets (label smoothing
  ``y (1-s) + s/C`` applied in the kernel), ``lse - z_t`` for class indices;
* gradient ``softmax(z) - y`` (TensorFlow's, also for target rows that do not
  sum to 1);
* rows whose label is ``ignore_class`` get loss 0 and gradient 0;
* a per-row weight ``w`` (or one ``scale`` for all rows) multiplies loss and
  gradient: the Keras reduction and sample weights folded in by the caller.

Accumulation is float32 whatever the input dtype; the gradient is written in
the logits' dtype.
"""

from __future__ import annotations

import triton
import triton.language as tl

from torch_impl.kernels.fastmath import _exp_ftz
from torch_impl.kernels.layout import _aligned, _row_block


#: where the per-lane running max starts: finite, so that a -inf logit gives exp(-inf - m) = 0 and never
#: -inf - -inf (a row of -inf ends with shift = this and a NaN loss, as in TensorFlow)
LANE_MAX_START = tl.constexpr(-3.4028234663852886e38)


@triton.jit
def _lane_softmax_step(m_v, d_v, z):
    """One chunk of the per-lane online softmax: ``m_v`` the running max, ``d_v = sum exp(z - m_v)``.

    One exp per element: ``exp(-|z - m_v|)`` is ``exp(z - m_v)`` when ``z`` is not a new max, else the factor
    that rescales the old sum. ``d_v`` is 0 (nothing seen, e = 0) or at least 1, so flushing results below
    2**-126 to zero changes no sum.
    """
    diff = z - m_v
    e = _exp_ftz(-tl.abs(diff))  # a term below 2**-126 is lost against d_v >= 1 anyway
    d_v = tl.where(diff > 0.0, d_v * e + 1.0, d_v + e)
    return tl.maximum(m_v, z), d_v


@triton.jit
def _lane_softmax_step_with_targets(m_v, d_v, sy_v, acc_v, z, y, mask):
    """``_lane_softmax_step`` that also keeps ``sy_v = sum y`` and ``acc_v = sum y (m_v - z)`` per lane (the
    loss is ``sum y (shift - z) + sum y * log_d`` once the lanes are merged). ``y`` is 0 in the masked lanes;
    a real ``y = 0`` against a ``-inf`` logit gives TensorFlow's ``0 * inf = NaN``."""
    diff = z - m_v
    # a new max moves the old terms by sy_v * diff (skipped while sy_v = 0: diff may be huge from -FLT_MAX)
    acc_v = tl.where(diff > 0.0, acc_v + tl.where(sy_v == 0.0, 0.0, sy_v * diff),
                     acc_v - tl.where(mask, y * diff, 0.0))
    m_v, d_v = _lane_softmax_step(m_v, d_v, z)
    return m_v, d_v, sy_v + y, acc_v


@triton.jit
def _lane_softmax_merge_with_targets(m_v, d_v, sy_v, acc_v):
    """``(shift, d, sum y, sum y (shift - z))`` from the lanes of ``_lane_softmax_step_with_targets``."""
    shift, d = _lane_softmax_merge(m_v, d_v)
    acc = tl.sum(acc_v + tl.where(sy_v == 0.0, 0.0, sy_v * (shift[:, None] - m_v)), axis=1)
    return shift, d, tl.sum(sy_v, axis=1), acc


@triton.jit
def _lane_softmax_merge(m_v, d_v):
    """``(shift, d)``: the row max and ``sum exp(z - shift)`` from the lanes of ``_lane_softmax_step``."""
    shift = tl.max(m_v, axis=1)
    return shift, tl.sum(d_v * tl.exp(m_v - shift[:, None]), axis=1)


@triton.jit
def _write_grad(logits_ptr, stride_l, target_ptr, stride_t, grad_ptr, stride_g, rows64, row_ok, cols, n_cols,
                shift, log_d, t, valid, w, smoothing, TARGET_IS_INDEX: tl.constexpr, HAS_IGNORE: tl.constexpr,
                HAS_SMOOTHING: tl.constexpr, BLOCK_C: tl.constexpr, LOAD_EVICT: tl.constexpr,
                STORE_EVICT: tl.constexpr):
    """grad = w * (softmax(z) - y) over the row, chunk by chunk (y smoothed, or one-hot of t); zero in the
    ``ignore_class`` rows (not ``0 * NaN``: Keras selects with ``where``).

    ``LOAD_EVICT``/``STORE_EVICT``: L2 eviction hints ("" for none). After a first
    sweep that kept the row in L2 ("evict_last"), this last read and the
    gradient store are streamed ("evict_first") so they do not push out the
    rows other programs are about to re-read.
    """
    inv_c = 1.0 / n_cols
    t32 = t.to(tl.int32)  # a label below n_cols (or unused): 32-bit compares
    for start in range(0, n_cols, BLOCK_C):
        c = start + cols
        mask = row_ok[:, None] & (c[None, :] < n_cols)
        z = tl.load(logits_ptr + rows64[:, None] * stride_l + c[None, :], mask=mask, other=0.0,
                    eviction_policy=LOAD_EVICT).to(tl.float32)
        p = _exp_ftz((z - shift[:, None]) - log_d[:, None])
        if TARGET_IS_INDEX:
            g = p - tl.where(cols[None, :] == (t32 - start)[:, None], 1.0, 0.0)  # no per-element add
        else:
            y = tl.load(target_ptr + rows64[:, None] * stride_t + c[None, :], mask=mask, other=0.0,
                        eviction_policy=LOAD_EVICT).to(tl.float32)
            if HAS_SMOOTHING:
                y = y * (1.0 - smoothing) + smoothing * inv_c
            g = p - y
        g = g * w[:, None]
        if HAS_IGNORE:
            g = tl.where(valid[:, None], g, 0.0)
        tl.store(grad_ptr + rows64[:, None] * stride_g + c[None, :], g.to(grad_ptr.dtype.element_ty), mask=mask,
                 eviction_policy=STORE_EVICT)


@triton.jit
def _labels(target_ptr, stride_t, rows64, row_ok, TARGET_IS_INDEX: tl.constexpr):
    """The rows' labels as loaded (int64), for ``_row_loads``; ``rows64`` as a placeholder without class
    indices."""
    t = rows64
    if TARGET_IS_INDEX:
        t = tl.load(target_ptr + rows64 * stride_t, mask=row_ok, other=0).to(tl.int64)
    return t


@triton.jit
def _check_labels(t, flag_ptr, rows, row_ok, n_cols, ignore_class, w, HAS_IGNORE: tl.constexpr,
                  BLOCK_R: tl.constexpr):
    """(t, valid, w) from loaded labels ``t``: ``ignore_class`` rows given t = 0 and weight 0.

    Out-of-range labels clear the flag (an int32 the caller keeps at 1 and
    asserts on) and are read as 0, so nothing is read out of bounds. ``valid`` is ``row_ok`` without
    ``HAS_IGNORE``.
    """
    valid = row_ok
    if HAS_IGNORE:
        valid = t != ignore_class
        t = tl.where(valid, t, 0)
        w = tl.where(valid, w, 0.0)
    bad = row_ok & ((t < 0) | (t >= n_cols))
    tl.store(flag_ptr + rows * 0, tl.full([BLOCK_R], 0, tl.int32), mask=bad)
    t = tl.where(bad, 0, t)
    return t, valid, w


@triton.jit
def _row_loads(logits_ptr, stride_l, labels, weight_ptr, flag_ptr, rows, rows64, row_ok, n_cols, ignore_class,
               scale, TARGET_IS_INDEX: tl.constexpr, HAS_WEIGHT: tl.constexpr, HAS_IGNORE: tl.constexpr,
               BLOCK_R: tl.constexpr):
    """``(w, t, valid, z_t)``: the rows' weights (``scale`` without per-row weights); for class indices the
    checked ``labels`` (``_labels``, ``_check_labels``), whether each row counts, and the target logits, loaded
    at the labels. Without class indices ``t``, ``valid`` and ``z_t`` are placeholders."""
    w = tl.full([BLOCK_R], 1.0, tl.float32) * scale
    if HAS_WEIGHT:
        w = tl.load(weight_ptr + rows, mask=row_ok, other=0.0).to(tl.float32)
    if TARGET_IS_INDEX:
        t, valid, w = _check_labels(labels, flag_ptr, rows, row_ok, n_cols, ignore_class, w, HAS_IGNORE, BLOCK_R)
        z_t = tl.load(logits_ptr + rows64 * stride_l + t, mask=row_ok, other=0.0).to(tl.float32)
    else:
        t, valid, z_t = rows64, row_ok, w
    return w, t, valid, z_t


@triton.jit
def _softmax_xent_fwd(
    logits_ptr, stride_l,
    target_ptr, stride_t,
    weight_ptr,
    loss_ptr, shift_ptr, logd_ptr,
    grad_ptr, stride_g,
    flag_ptr,
    n_rows, n_cols,
    smoothing, ignore_class, scale,
    TARGET_IS_INDEX: tl.constexpr,
    HAS_WEIGHT: tl.constexpr,
    HAS_IGNORE: tl.constexpr,
    HAS_SMOOTHING: tl.constexpr,
    WRITE_GRAD: tl.constexpr,
    BLOCK_R: tl.constexpr,
    BLOCK_C: tl.constexpr,
    FIRST_EVICT: tl.constexpr = "",
    SECOND_EVICT: tl.constexpr = "",
    ALIGN: tl.constexpr = 1,
    EARLY_LABELS: tl.constexpr = False,
):
    # L2 eviction hints ("" for none): with WRITE_GRAD the caller may keep the row in
    # L2 for the gradient sweep (FIRST_EVICT="evict_last") and stream that sweep
    # (SECOND_EVICT="evict_first"). EARLY_LABELS: the label's load issued before the sweep, so its
    # latency hides behind it (benchmarks/NOTES.md item 22; only the label, to keep 32 registers).
    n_cols, stride_l, stride_g = _aligned(n_cols, ALIGN), _aligned(stride_l, ALIGN), _aligned(stride_g, ALIGN)
    if not TARGET_IS_INDEX:
        stride_t = _aligned(stride_t, ALIGN)
    rows, row_ok, rows64 = _row_block(tl.program_id(0), n_rows, BLOCK_R)
    cols = tl.arange(0, BLOCK_C)
    if EARLY_LABELS:
        labels = _labels(target_ptr, stride_t, rows64, row_ok, TARGET_IS_INDEX)

    inv_c = 1.0 / n_cols
    if TARGET_IS_INDEX:
        # Online softmax kept per lane (no cross-warp reduction inside the loop), one exp per element
        m_v = tl.full([BLOCK_R, BLOCK_C], LANE_MAX_START, tl.float32)
        d_v = tl.zeros([BLOCK_R, BLOCK_C], tl.float32)
        for start in range(0, n_cols, BLOCK_C):
            c = start + cols
            mask = row_ok[:, None] & (c[None, :] < n_cols)
            z = tl.load(logits_ptr + rows64[:, None] * stride_l + c[None, :], mask=mask,
                        other=float("-inf"), eviction_policy=FIRST_EVICT).to(tl.float32)
            m_v, d_v = _lane_softmax_step(m_v, d_v, z)
        shift, d = _lane_softmax_merge(m_v, d_v)
    else:
        # Probability targets: the same per-lane online softmax, also keeping sum y and sum y (m - z) per lane
        m_v = tl.full([BLOCK_R, BLOCK_C], LANE_MAX_START, tl.float32)
        d_v = tl.zeros([BLOCK_R, BLOCK_C], tl.float32)
        sy_v = tl.zeros([BLOCK_R, BLOCK_C], tl.float32)
        acc_v = tl.zeros([BLOCK_R, BLOCK_C], tl.float32)
        for start in range(0, n_cols, BLOCK_C):
            c = start + cols
            mask = row_ok[:, None] & (c[None, :] < n_cols)
            z = tl.load(logits_ptr + rows64[:, None] * stride_l + c[None, :], mask=mask,
                        other=float("-inf"), eviction_policy=FIRST_EVICT).to(tl.float32)
            y = tl.load(target_ptr + rows64[:, None] * stride_t + c[None, :], mask=mask, other=0.0,
                        eviction_policy=FIRST_EVICT).to(tl.float32)
            if HAS_SMOOTHING:  # off: the masked lanes' y is already 0
                y = tl.where(mask, y * (1.0 - smoothing) + smoothing * inv_c, 0.0)
            m_v, d_v, sy_v, acc_v = _lane_softmax_step_with_targets(m_v, d_v, sy_v, acc_v, z, y, mask)
        shift, d, sy, acc = _lane_softmax_merge_with_targets(m_v, d_v, sy_v, acc_v)
    log_d = tl.log(d)  # lse = shift + log_d, kept apart: (z - shift) - log_d loses nothing

    if not EARLY_LABELS:
        labels = _labels(target_ptr, stride_t, rows64, row_ok, TARGET_IS_INDEX)
    w, t, valid, z_t = _row_loads(logits_ptr, stride_l, labels, weight_ptr, flag_ptr, rows, rows64, row_ok, n_cols,
                                  ignore_class, scale, TARGET_IS_INDEX, HAS_WEIGHT, HAS_IGNORE, BLOCK_R)
    if TARGET_IS_INDEX:
        loss = log_d - (z_t - shift)  # TF: log(sum exp(z - max)) - (z_t - max)
        if HAS_IGNORE:
            loss = tl.where(valid, loss, 0.0)
    else:
        loss = acc + sy * log_d  # sum y (lse - z)
    tl.store(loss_ptr + rows, loss * w, mask=row_ok)
    tl.store(shift_ptr + rows, shift, mask=row_ok)
    tl.store(logd_ptr + rows, log_d, mask=row_ok)

    if WRITE_GRAD:
        _write_grad(logits_ptr, stride_l, target_ptr, stride_t, grad_ptr, stride_g, rows64, row_ok, cols, n_cols,
                    shift, log_d, t, valid, w, smoothing, TARGET_IS_INDEX, HAS_IGNORE, HAS_SMOOTHING, BLOCK_C,
                    SECOND_EVICT, SECOND_EVICT)


@triton.jit
def _softmax_xent_fwd_single_pass(
    logits_ptr, stride_l,
    target_ptr, stride_t,
    weight_ptr,
    loss_ptr, shift_ptr, logd_ptr,
    grad_ptr, stride_g,
    flag_ptr,
    n_rows, n_cols,
    smoothing, ignore_class, scale,
    TARGET_IS_INDEX: tl.constexpr,
    HAS_WEIGHT: tl.constexpr,
    HAS_IGNORE: tl.constexpr,
    HAS_SMOOTHING: tl.constexpr,
    BLOCK_R: tl.constexpr,
    BLOCK_C: tl.constexpr,
    ALIGN: tl.constexpr = 1,
    EARLY_LABELS: tl.constexpr = False,
):
    """Loss and gradient of rows that fit one tile (``n_cols <= BLOCK_C``): the logits are read ONCE.

    ``EARLY_LABELS``: the weights, labels and target logits are loaded before the row rather than after
    its reductions, so their latency (two dependent round trips) hides behind the row's load.

    The row stays in registers from the load to the gradient store, so forward
    + backward move exactly one read of the logits (and targets) and one write
    of the gradient. Same results as ``_softmax_xent_fwd`` with ``WRITE_GRAD``.
    """
    n_cols, stride_l, stride_g = _aligned(n_cols, ALIGN), _aligned(stride_l, ALIGN), _aligned(stride_g, ALIGN)
    if not TARGET_IS_INDEX:
        stride_t = _aligned(stride_t, ALIGN)
    rows, row_ok, rows64 = _row_block(tl.program_id(0), n_rows, BLOCK_R)
    cols = tl.arange(0, BLOCK_C)
    if EARLY_LABELS:
        w, t, valid, z_t = _row_loads(logits_ptr, stride_l, _labels(target_ptr, stride_t, rows64, row_ok,
                                                                    TARGET_IS_INDEX),
                                      weight_ptr, flag_ptr, rows, rows64, row_ok, n_cols, ignore_class, scale,
                                      TARGET_IS_INDEX, HAS_WEIGHT, HAS_IGNORE, BLOCK_R)
    mask = row_ok[:, None] & (cols[None, :] < n_cols)
    z = tl.load(logits_ptr + rows64[:, None] * stride_l + cols[None, :], mask=mask,
                other=float("-inf")).to(tl.float32)
    m = tl.max(z, axis=1)
    shift = tl.where(m == float("-inf"), 0.0, m)
    zs = z - shift[:, None]
    e = _exp_ftz(zs)  # 0 in the masked lanes (z = -inf there, shift finite or +inf)
    d = tl.sum(e, axis=1)
    log_d = tl.log(d)

    if not EARLY_LABELS:
        w, t, valid, z_t = _row_loads(logits_ptr, stride_l, _labels(target_ptr, stride_t, rows64, row_ok,
                                                                    TARGET_IS_INDEX),
                                      weight_ptr, flag_ptr, rows, rows64, row_ok, n_cols, ignore_class, scale,
                                      TARGET_IS_INDEX, HAS_WEIGHT, HAS_IGNORE, BLOCK_R)
    inv_c = 1.0 / n_cols
    if TARGET_IS_INDEX:
        loss = log_d - (z_t - shift)  # TF: log(sum exp(z - max)) - (z_t - max)
        if HAS_IGNORE:
            loss = tl.where(valid, loss, 0.0)
        y = tl.where(cols[None, :] == t.to(tl.int32)[:, None], 1.0, 0.0)  # t < n_cols: a 32-bit compare
    else:
        y = tl.load(target_ptr + rows64[:, None] * stride_t + cols[None, :], mask=mask, other=0.0).to(tl.float32)
        if HAS_SMOOTHING:  # off: the masked lanes' y is already 0
            y = tl.where(mask, y * (1.0 - smoothing) + smoothing * inv_c, 0.0)
        # sum y (lse - z) = sum y (shift - z) + sum y * log_d
        acc = tl.sum(tl.where(mask, -y * zs, 0.0), axis=1)  # TF's 0 * inf = NaN kept
        loss = acc + tl.sum(y, axis=1) * log_d
    tl.store(loss_ptr + rows, loss * w, mask=row_ok)
    tl.store(shift_ptr + rows, shift, mask=row_ok)
    tl.store(logd_ptr + rows, log_d, mask=row_ok)
    # softmax as TensorFlow's kernel forms it, exp(z - max) / sum, from the exps already in registers
    g = (e * (1.0 / d)[:, None] - y) * w[:, None]
    if TARGET_IS_INDEX and HAS_IGNORE:
        g = tl.where(valid[:, None], g, 0.0)
    tl.store(grad_ptr + rows64[:, None] * stride_g + cols[None, :], g.to(grad_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _softmax_xent_bwd(
    logits_ptr, stride_l,
    target_ptr, stride_t,
    shift_ptr, logd_ptr, grad_out_ptr,
    grad_ptr, stride_g,
    n_rows, n_cols,
    smoothing, ignore_class,
    TARGET_IS_INDEX: tl.constexpr,
    HAS_IGNORE: tl.constexpr,
    HAS_SMOOTHING: tl.constexpr,
    BLOCK_R: tl.constexpr,
    BLOCK_C: tl.constexpr,
    ALIGN: tl.constexpr = 1,
):
    n_cols, stride_l, stride_g = _aligned(n_cols, ALIGN), _aligned(stride_l, ALIGN), _aligned(stride_g, ALIGN)
    if not TARGET_IS_INDEX:
        stride_t = _aligned(stride_t, ALIGN)

    rows, row_ok, rows64 = _row_block(tl.program_id(0), n_rows, BLOCK_R)
    cols = tl.arange(0, BLOCK_C)
    shift = tl.load(shift_ptr + rows, mask=row_ok, other=0.0)
    log_d = tl.load(logd_ptr + rows, mask=row_ok, other=0.0)
    w = tl.load(grad_out_ptr + rows, mask=row_ok, other=0.0).to(tl.float32)
    valid = row_ok
    if TARGET_IS_INDEX:
        t = tl.load(target_ptr + rows64 * stride_t, mask=row_ok, other=0).to(tl.int64)
        if HAS_IGNORE:
            valid = t != ignore_class
    else:
        t = rows64  # unused
    _write_grad(logits_ptr, stride_l, target_ptr, stride_t, grad_ptr, stride_g, rows64, row_ok, cols, n_cols,
                shift, log_d, t, valid, w, smoothing, TARGET_IS_INDEX, HAS_IGNORE and TARGET_IS_INDEX, HAS_SMOOTHING,
                BLOCK_C, "", "")


@triton.jit
def _scale_unless_one(x_ptr, scale_ptr, n, BLOCK: tl.constexpr):
    """x *= scale, in place, skipped (no memory traffic) when scale == 1."""
    s = tl.load(scale_ptr).to(tl.float32)
    if s != 1.0:
        offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
        mask = offs < n
        x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(tl.float32)
        tl.store(x_ptr + offs, (x * s).to(x_ptr.dtype.element_ty), mask=mask)

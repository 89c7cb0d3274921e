"""A float64 NumPy oracle of the Keras losses (values only), no TensorFlow needed: the property tests
compare torch_impl with it, and the doctor computes an untrained model's loss with it.

Written from Keras's source independently of ``torch_impl`` so the property
tests compare two derivations. Inputs are NumPy arrays; the class axis is
moved last first, so every formula below is the axis=-1 one.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-7


def _clip(p):
    return np.clip(p, EPS, 1.0 - EPS)


def _logsumexp(z):
    m = np.max(z, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return (m + np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True)))[..., 0]


def _last(x, axis):
    return np.moveaxis(x, axis, -1)


def categorical_crossentropy(y, p, from_logits=False, label_smoothing=0.0, axis=-1):
    y, p = _last(np.asarray(y, float), axis), _last(np.asarray(p, float), axis)
    if label_smoothing:
        y = y * (1 - label_smoothing) + label_smoothing / y.shape[-1]
    if from_logits:
        return np.sum(y * (_logsumexp(p)[..., None] - p), axis=-1)
    out = _clip(p / np.sum(p, axis=-1, keepdims=True))
    return -np.sum(y * np.log(out), axis=-1)


def sparse_categorical_crossentropy(y, p, from_logits=False, ignore_class=None, axis=-1):
    p = np.asarray(p, float)
    y = np.asarray(y)
    if y.ndim == p.ndim and y.shape[axis] == 1:
        y = np.squeeze(y, axis)
    y = y.astype(np.int64)
    last = axis % p.ndim == p.ndim - 1
    p = _last(p, axis)
    valid = np.ones(y.shape, bool) if ignore_class is None else y != ignore_class
    y = np.where(valid, y, 0)
    p = np.where(valid[..., None], p, 0.0)
    if last:
        z = p if from_logits else np.log(_clip(p))
        res = _logsumexp(z) - np.take_along_axis(z, y[..., None], -1)[..., 0]
    else:  # Keras's torch backend
        if from_logits:
            res = _logsumexp(p) - np.take_along_axis(p, y[..., None], -1)[..., 0]
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                out = _clip(p / np.sum(p, axis=-1, keepdims=True))
                res = -np.take_along_axis(np.log(out), y[..., None], -1)[..., 0]
    return np.where(valid, res, 0.0), (None if ignore_class is None else valid)


def _bce(y, p, from_logits):
    if from_logits:
        return np.maximum(p, 0) - p * y + np.log1p(np.exp(-np.abs(p)))
    o = _clip(p)
    return -(y * np.log(o) + (1 - y) * np.log(1 - o))


def binary_crossentropy(y, p, from_logits=False, label_smoothing=0.0, axis=-1):
    y, p = np.asarray(y, float), np.asarray(p, float)
    if label_smoothing:
        y = y * (1 - label_smoothing) + 0.5 * label_smoothing
    return np.mean(_bce(y, p, from_logits), axis=axis)


def binary_focal_crossentropy(y, p, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                              label_smoothing=0.0, axis=-1):
    y, p = np.asarray(y, float), np.asarray(p, float)
    if label_smoothing:
        y = y * (1 - label_smoothing) + 0.5 * label_smoothing
    bce = _bce(y, p, from_logits)  # Keras/TF: the logits formula when from_logits
    if from_logits:
        p = 1.0 / (1.0 + np.exp(-p))
    p_t = y * p + (1 - y) * (1 - p)
    f = (1 - p_t) ** gamma * bce
    if apply_class_balancing:
        f = (y * alpha + (1 - y) * (1 - alpha)) * f
    return np.mean(f, axis=axis)


def categorical_focal_crossentropy(y, p, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    y, p = _last(np.asarray(y, float), axis), _last(np.asarray(p, float), axis)
    if label_smoothing:
        y = y * (1 - label_smoothing) + label_smoothing / y.shape[-1]
    if from_logits:
        e = np.exp(p - np.max(p, axis=-1, keepdims=True))
        p = e / np.sum(e, axis=-1, keepdims=True)
    out = _clip(p / np.sum(p, axis=-1, keepdims=True))
    a = np.asarray(alpha, float)
    return np.sum(-y * np.log(out) * a * (1 - out) ** gamma, axis=-1)


def focal_loss(y, p, gamma=2.0, alpha=0.25):
    y, p = np.asarray(y, float), np.asarray(p, float)
    pt_1 = _clip(np.where(y == 1, p, 1.0))
    pt_0 = _clip(np.where(y == 0, p, 0.0))
    return -np.sum(alpha * (1 - pt_1) ** gamma * np.log(pt_1)) - np.sum((1 - alpha) * pt_0**gamma * np.log(1 - pt_0))


def reduce(values, sample_weight=None, mask=None, reduction="sum_over_batch_size"):
    """Keras's reduce_weighted_values in NumPy (float64)."""
    values = np.asarray(values, float)

    def align(a, b):
        if a.ndim == b.ndim + 1 and a.shape[-1] == 1:
            if b.ndim == 1:
                b = b[..., None]
            else:
                a = a[..., 0]
        elif b.ndim == a.ndim + 1 and b.shape[-1] == 1:
            if a.ndim == 1:
                a = a[..., None]
            else:
                b = b[..., 0]
        return a, b

    sw = None if sample_weight is None else np.asarray(sample_weight, float)
    if mask is not None:
        m = mask.astype(float)
        if reduction in ("mean", "sum_over_batch_size"):
            valid = m.sum()
            m = np.where(mask, m.size / valid if valid else 0.0, 0.0)
        if sw is None:
            sw = m
        else:
            m, sw = align(m, sw)
            sw = sw * m
    if sw is not None:
        values, sw = align(values, sw)
        values = values * sw
    if reduction in (None, "none") or values.shape in ((), (0,)):
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    div = sw.sum() if (reduction == "mean_with_sample_weight" and sw is not None) else values.size
    return total / div if div else 0.0

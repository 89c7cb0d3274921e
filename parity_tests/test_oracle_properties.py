"""Property tests: torch_impl (float64) against the NumPy float64 oracle, no TensorFlow.

Hypothesis draws shapes, class axes, options, reductions, sample weights and
values (probabilities or logits, with edge values mixed in); values must agree
to 1e-12 relative, and gradients must agree with the oracle's central finite
differences where the loss is smooth.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from scenarios import oracle
from torch_impl import losses

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none"]


@st.composite
def layouts(draw, min_classes=2):
    rank = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank)))
    axis = draw(st.sampled_from([-1] + list(range(rank))))
    ax = axis % rank
    c = draw(st.integers(min_classes, 6))
    shape = shape[:ax] + (c,) + shape[ax + 1:]
    return shape, axis


def _probs(draw, shape, axis, edge):
    raw = draw(hnp.arrays(np.float64, shape, elements=st.floats(1e-3, 1.0)))
    p = raw / raw.sum(axis=axis, keepdims=True)
    if edge:
        mask = draw(hnp.arrays(np.int8, shape, elements=st.integers(0, 3)))
        p = np.where(mask == 0, 0.0, np.where(mask == 1, 1.0, p))
    return p


def _sample_weight(draw, loss_shape):
    kind = draw(st.sampled_from(["none", "scalar", "per_element"] + (["per_sample"] if len(loss_shape) == 1 else [])))
    if kind == "none":
        return None
    if kind == "scalar":
        return np.array(draw(st.floats(0.0, 3.0)))
    return draw(hnp.arrays(np.float64, loss_shape, elements=st.floats(0.0, 3.0)))


def _check(ours: torch.Tensor, expected: np.ndarray, scale: float = 1.0):
    """1e-12 relative; a loss that is a small difference of large terms (lse - z)
    keeps the absolute rounding of its terms, hence the scaled absolute floor."""
    ours = ours.detach().numpy()
    assert ours.shape == np.shape(expected)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-14 * scale)


@SETTINGS
@given(data=st.data())
def test_categorical_values(data):
    shape, axis = data.draw(layouts())
    from_logits = data.draw(st.booleans())
    s = data.draw(st.sampled_from([0.0, 0.1, 0.5]))
    red = data.draw(st.sampled_from(REDUCTIONS))
    if from_logits:
        p = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-50, 50)))
    else:
        p = _probs(data.draw, shape, axis, data.draw(st.booleans()))
        assume(np.all(p.sum(axis=axis) > 0))
    idx = data.draw(hnp.arrays(np.int64, np.delete(shape, axis % len(shape)).tolist() or (), elements=st.integers(0, shape[axis] - 1)))
    y = np.moveaxis(np.eye(shape[axis])[idx], -1, axis)
    sw = _sample_weight(data.draw, np.shape(idx))
    ours = losses.CategoricalCrossentropy(from_logits, s, axis, reduction=red)(torch.tensor(y), torch.tensor(p), sw)
    scale = (1 + np.abs(p).max()) * (1 + (np.abs(sw).max() if sw is not None else 0)) * y.size
    _check(ours, oracle.reduce(oracle.categorical_crossentropy(y, p, from_logits, s, axis), sw, reduction=red), scale)


@SETTINGS
@given(data=st.data())
def test_categorical_focal_values(data):
    shape, axis = data.draw(layouts())
    from_logits = data.draw(st.booleans())
    gamma = data.draw(st.sampled_from([0.0, 0.5, 2.0, 3.0]))
    per_class = data.draw(st.booleans())
    c = shape[axis]
    alpha = np.array(data.draw(st.lists(st.floats(0.05, 1.0), min_size=c, max_size=c))) if per_class else 0.25
    p = (data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-30, 30))) if from_logits
         else _probs(data.draw, shape, axis, False))
    y = _probs(data.draw, shape, axis, False)  # soft targets
    ours = losses.categorical_focal_crossentropy(torch.tensor(y), torch.tensor(p), alpha=alpha, gamma=gamma,
                                                 from_logits=from_logits, axis=axis)
    exp = oracle.categorical_focal_crossentropy(y, p, alpha, gamma, from_logits, 0.0, axis)
    _check(ours, exp, (1 + np.abs(p).max()) * p.size)


@SETTINGS
@given(data=st.data())
def test_sparse_values(data):
    shape, axis = data.draw(layouts())
    # Keras's wrapper squeezes a trailing 1-dim of y_pred when y_true has one
    # rank less; with the class axis elsewhere that (faithfully) fails: skip.
    assume(not (shape[-1] == 1 and axis % len(shape) != len(shape) - 1))
    from_logits = data.draw(st.booleans())
    ignore = data.draw(st.sampled_from([None, -1, 0]))
    red = data.draw(st.sampled_from(REDUCTIONS))
    p = (data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-50, 50))) if from_logits
         else _probs(data.draw, shape, axis, data.draw(st.booleans())))
    lshape = tuple(int(d) for d in np.delete(shape, axis % len(shape)))
    low = -1 if ignore == -1 else 0
    y = data.draw(hnp.arrays(np.int64, lshape, elements=st.integers(low, shape[axis] - 1)))
    sw = _sample_weight(data.draw, lshape)
    ours = losses.SparseCategoricalCrossentropy(from_logits, ignore, red, axis)(torch.tensor(y), torch.tensor(p), sw)
    vals, mask = oracle.sparse_categorical_crossentropy(y, p, from_logits, ignore, axis)
    scale = (1 + np.abs(p).max()) * (1 + (np.abs(sw).max() if sw is not None else 0)) * p.size
    _check(ours, oracle.reduce(vals, sw, mask, reduction=red), scale)


@SETTINGS
@given(data=st.data())
def test_binary_values(data):
    shape, axis = data.draw(layouts(min_classes=1))
    from_logits = data.draw(st.booleans())
    s = data.draw(st.sampled_from([0.0, 0.2]))
    red = data.draw(st.sampled_from(REDUCTIONS))
    p = data.draw(hnp.arrays(np.float64, shape, elements=(st.floats(-60, 60) if from_logits else st.floats(0.0, 1.0))))
    y = data.draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0, 0.3])))
    sw = _sample_weight(data.draw, tuple(int(d) for d in np.delete(shape, axis % len(shape))))
    focal = data.draw(st.booleans())
    if focal:
        kw = dict(apply_class_balancing=data.draw(st.booleans()), alpha=0.3, gamma=data.draw(st.sampled_from([0.0, 1.0, 2.0])))
        ours = losses.BinaryFocalCrossentropy(from_logits=from_logits, label_smoothing=s, axis=axis, reduction=red, **kw)
        exp = oracle.binary_focal_crossentropy(y, p, from_logits=from_logits, label_smoothing=s, axis=axis, **kw)
    else:
        ours = losses.BinaryCrossentropy(from_logits, s, axis, reduction=red)
        exp = oracle.binary_crossentropy(y, p, from_logits, s, axis)
    scale = (1 + np.abs(p).max()) * (1 + (np.abs(sw).max() if sw is not None else 0)) * p.size
    _check(ours(torch.tensor(y), torch.tensor(p), sw), oracle.reduce(exp, sw, reduction=red), scale)


@SETTINGS
@given(p=hnp.arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 4)), elements=st.floats(0, 1)),
       data=st.data())
def test_community_focal_values(p, data):
    y = data.draw(hnp.arrays(np.float64, p.shape, elements=st.sampled_from([0.0, 1.0])))
    g, a = data.draw(st.sampled_from([0.0, 2.0, 0.5])), data.draw(st.floats(0, 1))
    _check(losses.focal_loss(g, a)(torch.tensor(y), torch.tensor(p)), oracle.focal_loss(y, p, g, a), 20 * p.size)


# ---- gradients: autograd vs central differences of the oracle, on smooth inputs ----

def _fd_grad(f, x, h=1e-6):
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        g[i] = (f(xp) - f(xm)) / (2 * h)
    return g


@pytest.mark.parametrize("loss,kw", [
    ("categorical_crossentropy", dict(from_logits=True, label_smoothing=0.1)),
    ("categorical_crossentropy", dict(from_logits=False)),
    ("sparse_categorical_crossentropy", dict(from_logits=True)),
    ("sparse_categorical_crossentropy", dict(from_logits=False)),
    ("binary_crossentropy", dict(from_logits=True)),
    ("binary_crossentropy", dict(from_logits=False, label_smoothing=0.2)),
    ("binary_focal_crossentropy", dict(from_logits=True, gamma=2.0, apply_class_balancing=True)),
    ("binary_focal_crossentropy", dict(from_logits=False, gamma=1.5)),
    ("categorical_focal_crossentropy", dict(from_logits=True, gamma=2.0)),
    ("categorical_focal_crossentropy", dict(from_logits=False, gamma=2.0, alpha=[0.2, 0.3, 0.5, 0.4])),
])
@pytest.mark.parametrize("axis", [-1, 1])
def test_gradients_match_finite_differences(loss, kw, axis):
    rng = np.random.default_rng(abs(hash((loss, axis))) % 2**32)
    shape = (3, 4, 2) if axis == 1 else (3, 2, 4)
    if kw.get("from_logits"):
        x = rng.normal(size=shape)
    else:
        x = rng.uniform(0.1, 1.0, size=shape)
        if loss != "binary_crossentropy" and loss != "binary_focal_crossentropy":
            x = x / x.sum(axis=axis, keepdims=True)
    if loss == "sparse_categorical_crossentropy":
        y = rng.integers(0, 4, size=tuple(np.delete(shape, axis % 3)))
    elif loss.startswith("binary"):
        y = rng.integers(0, 2, size=shape).astype(float)
    else:
        y = np.moveaxis(np.eye(4)[rng.integers(0, 4, size=tuple(np.delete(shape, axis % 3)))], -1, axis)
    fn = getattr(losses, loss)
    of = getattr(oracle, loss)
    cot = rng.normal(size=tuple(np.delete(shape, axis % 3)))

    def f(arr):
        out = of(y, arr, axis=axis, **kw)
        out = out[0] if isinstance(out, tuple) else out
        return float(np.sum(out * cot))

    xt = torch.tensor(x, requires_grad=True)
    (fn(torch.tensor(y), xt, axis=axis, **kw) * torch.tensor(cot)).sum().backward()
    fd = _fd_grad(f, x)
    err = np.max(np.abs(xt.grad.numpy() - fd)) / np.max(np.abs(fd))
    print(f"{loss} {kw} axis={axis}: autograd vs finite differences, rel err {err:.2e}")
    assert err < 1e-6

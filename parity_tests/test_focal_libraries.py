"""Focal losses from the libraries people port from, reproduced with torch_impl's focal losses.

Each library's formula is restated in float64 NumPy from its source (the oracle) and the numbers its own tests
and docstrings expect are the references. The recipes (README, "Porting focal losses from other libraries"):

* TensorFlow Addons ``tfa.losses.sigmoid_focal_crossentropy(y, p, alpha, gamma, from_logits)`` (per-sample SUM
  over the last axis of ``alpha_t (1 - p_t)**gamma * K.binary_crossentropy``; Keras 2's ``K.binary_crossentropy``
  adds ``1e-7`` inside the logs): exactly ``K.sum(K.binary_focal_crossentropy(y, p, apply_class_balancing=True,
  alpha=alpha, gamma=gamma, from_logits=from_logits), axis=-1)`` with ``torch_impl.keras_backend as K``; and
  ``losses.binary_focal_crossentropy(..., apply_class_balancing=True, ...) * C`` (``C`` = last-axis size): exact
  from logits, from probabilities off by the ``+1e-7`` in the logs (at most ``alpha * log 2`` = 0.173 per entry,
  where a label 1 meets a probability 0).
* ``focal-loss`` (artemmavrin): ``binary_focal_loss(y, p, gamma, pos_weight=w)`` is ``(1 + w) *
  binary_focal_crossentropy(y[..., None], p[..., None], apply_class_balancing=True, alpha=w / (1 + w),
  gamma=gamma)`` for 0/1 labels (no ``pos_weight``: no class balancing); label smoothing differs for
  ``gamma > 0`` (the package weighs each term by its own factor, Keras uses ``(1 - p_t)**gamma`` of the
  smoothed labels). ``sparse_categorical_focal_loss(y, p, gamma, class_weight)`` is
  ``categorical_focal_crossentropy(one_hot(y), p, alpha=class_weight or 1.0, gamma=gamma)``: exact where no
  softmax probability is below ``1e-7`` (Keras clips it; the package's logits path does not).
* kornia ``binary_focal_loss_with_logits(pred, target, alpha, gamma, reduction)``: ``BinaryFocalCrossentropy(
  apply_class_balancing=alpha is not None, alpha, gamma, from_logits=True, reduction=none/sum_over_batch_size/
  sum)(target[..., None], pred[..., None])`` for 0/1 targets; ``ignore_index``, ``weight`` and ``pos_weight`` as
  element-wise ``sample_weight``. ``focal_loss(pred, target, alpha, gamma)`` is ``CategoricalFocalCrossentropy(
  alpha=[1 - alpha, alpha, ..., alpha], gamma, from_logits=True, axis=1)`` given kornia's one-hot target (its
  ``1e-6`` off-label entries included), summed over the classes (kornia's ``'mean'`` also divides by ``C``).
* segmentation_models ``BinaryFocalLoss(alpha, gamma)`` is ``BinaryFocalCrossentropy(apply_class_balancing=True,
  alpha, gamma)`` for 0/1 masks; ``CategoricalFocalLoss(alpha, gamma)`` is ``CategoricalFocalCrossentropy(alpha,
  gamma) / C`` on rows that sum to 1.

No TensorFlow, Keras or the libraries themselves are imported: the oracles and the libraries' published numbers
are the references. The restatements were checked by hand against the libraries' code (kornia 0.8.1 and 0.8.2,
focal-loss 0.0.7, tfa's and segmentation_models' sources run on TensorFlow 2.21's ``tf.keras.backend``): within
1.4e-14 in float64. Runs in about 3 s.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.special import expit, log_expit, log_softmax, softmax

from torch_impl import keras_backend as K
from torch_impl import losses

EPS = 1e-7  # Keras's (and every library's here) backend epsilon
F64 = dict(rtol=1e-12, atol=1e-15)


def t64(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


def maxdiff(a, b) -> float:
    a = a.detach().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def close(ours, ref, rtol, atol, what=""):
    ours = ours.detach().numpy() if isinstance(ours, torch.Tensor) else np.asarray(ours)
    print(f"{what}: max abs diff {maxdiff(ours, ref):.2e}")
    np.testing.assert_allclose(ours, np.asarray(ref), rtol=rtol, atol=atol)


def extreme_probabilities(rng, n, c):
    """Random probabilities with the clip's edges planted: 0, 1, below/at/above 1e-7 and 1 - 1e-7."""
    p = rng.uniform(0.0, 1.0, size=(n, c))
    edges = np.array([0.0, 1.0, 1e-9, EPS, 3e-7, 1 - 1e-9, 1 - EPS, 1 - 3e-7, 0.5, 1e-3])
    p.flat[: edges.size * 2] = np.tile(edges, 2)
    y = (rng.uniform(size=(n, c)) < 0.4).astype(np.float64)
    y.flat[: edges.size * 2] = np.repeat([0.0, 1.0], edges.size)  # every edge with both labels
    return y, p


def keras3_binary_focal(y, p, alpha, gamma, balanced, from_logits, smoothing=0.0):
    """keras.losses.binary_focal_crossentropy (TensorFlow backend: from logits the bce is the logits formula)."""
    y = y * (1 - smoothing) + 0.5 * smoothing
    if from_logits:
        prob, bce = expit(p), np.maximum(p, 0) - p * y + np.log1p(np.exp(-np.abs(p)))
    else:
        prob, pc = p, np.clip(p, EPS, 1 - EPS)
        bce = -(y * np.log(pc) + (1 - y) * np.log(1 - pc))
    p_t = y * prob + (1 - y) * (1 - prob)
    out = (1 - p_t) ** gamma * bce
    return (y * alpha + (1 - y) * (1 - alpha)) * out if balanced else out


# ---------------------------------------------------------------------------------------------------------------
# TensorFlow Addons: tensorflow_addons/losses/focal_loss.py (tfa 0.23, the last release)
# ---------------------------------------------------------------------------------------------------------------


def k2_binary_crossentropy(y, p, from_logits):
    """tf.keras 2's K.binary_crossentropy (what tfa calls): clip AND add epsilon inside the logs."""
    if from_logits:
        return np.maximum(p, 0) - p * y + np.log1p(np.exp(-np.abs(p)))
    pc = np.clip(p, EPS, 1 - EPS)
    return -(y * np.log(pc + EPS) + (1 - y) * np.log(1 - pc + EPS))


def tfa_sigmoid_focal_crossentropy(y, p, alpha=0.25, gamma=2.0, from_logits=False):
    """tfa.losses.sigmoid_focal_crossentropy restated: note ``if alpha:`` / ``if gamma:`` (0 and None switch off),
    and ``tf.cast(alpha, y_true.dtype)`` of a Python float goes through float32 (0.6 -> 0.60000002)."""
    y = np.asarray(y, dtype=np.float64)
    alpha = alpha and float(np.float32(alpha))
    gamma = gamma and float(np.float32(gamma))
    ce = k2_binary_crossentropy(y, p, from_logits)
    prob = expit(p) if from_logits else p
    p_t = y * prob + (1 - y) * (1 - prob)
    alpha_factor = y * alpha + (1 - y) * (1 - alpha) if alpha else 1.0
    modulating_factor = (1 - p_t) ** gamma if gamma else 1.0
    return np.sum(alpha_factor * modulating_factor * ce, axis=-1)


def tfa_recipe_exact(y, p, alpha=0.25, gamma=2.0, from_logits=False):
    """tfa's source ported with ``torch_impl.keras_backend`` (Keras 2's epsilon-in-the-logs BCE): exact. For
    float64 bit-parity give alpha and gamma rounded to float32 as tfa's ``tf.cast`` does (0.25, 2.0 are exact)."""
    alpha = alpha and float(np.float32(alpha))
    gamma = gamma and float(np.float32(gamma))
    return K.sum(K.binary_focal_crossentropy(y, p, apply_class_balancing=bool(alpha), alpha=alpha or 0.25,
                                             gamma=gamma or 0.0, from_logits=from_logits), axis=-1)


def tfa_recipe(y, p, alpha=0.25, gamma=2.0, from_logits=False, sample_weight=None, reduction="none"):
    """``SigmoidFocalCrossEntropy(alpha, gamma, from_logits, reduction)`` with torch_impl's loss class: Keras's
    mean over the last axis times its size gives tfa's sum."""
    loss = losses.BinaryFocalCrossentropy(apply_class_balancing=bool(alpha), alpha=alpha or 0.25, gamma=gamma or 0.0,
                                          from_logits=from_logits, reduction=reduction)
    return loss(y, p, sample_weight=sample_weight) * y.shape[-1]


def test_tfa_docstring_values():
    """tfa's docstring: ``SigmoidFocalCrossEntropy()(y_true=[[1.], [1.], [0.]], y_pred=[[0.97], [0.91], [0.03]])``
    prints ``[6.8532745e-06, 1.9097870e-04, 2.0559824e-05]`` (float32)."""
    ref = np.array([6.8532745e-06, 1.9097870e-04, 2.0559824e-05])
    y = torch.tensor([[1.0], [1.0], [0.0]])
    p = torch.tensor([[0.97], [0.91], [0.03]])
    exact = tfa_recipe_exact(y, p)
    close(exact, ref, rtol=2e-7, atol=0, what="tfa docstring, K port (float32)")
    ours = tfa_recipe(y, p)
    # the Keras 3 loss has no epsilon in the logs: off by alpha_t (1-p_t)^2 log(1 + 1e-7/p_t), 3.4e-6 relative here
    rel = np.abs(ours.numpy() - ref) / ref
    print(f"tfa docstring, BinaryFocalCrossentropy * C (float32): relative diff {rel.max():.1e}")
    assert 1e-6 < rel.max() < 1e-5
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-5)  # the doc's 5 significant digits hold


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("y_true_dtype", [torch.float32, torch.uint8])
@pytest.mark.parametrize("y_pred_dtype", [np.float32, np.float64])
def test_tfa_test_without_logits(y_pred_dtype, y_true_dtype, from_logits):
    """tfa's ``test_without_logits``: alpha=gamma=None is ``tf.keras.losses.binary_crossentropy`` (assert_allclose,
    rtol 1e-7), and with gamma=2 the ratio bce/focal has the orders of magnitude [1000, 100, 10, 10, 100, 1000]."""
    y_pred = np.asarray([[0.97], [0.91], [0.73], [0.27], [0.09], [0.03]]).astype(y_pred_dtype)
    y_true = np.asarray([[1], [1], [1], [0], [0], [0]])
    if from_logits:
        y_pred = np.log(y_pred / (1.0 - y_pred))
    yt, yp = torch.tensor(y_true).to(y_true_dtype), torch.tensor(y_pred)
    # the reference: tf.keras 2's binary_crossentropy (mean over the last axis of K.binary_crossentropy) computed
    # in the predictions' dtype, as tfa's test does; its rtol 1e-7 compares TensorFlow with itself, NumPy's and
    # torch's float32 logs differ by up to an ulp (1.9e-7 measured), so 2.4e-7 in float32
    ref_bce = k2_binary_crossentropy(y_true.astype(y_pred_dtype), y_pred, from_logits).astype(y_pred_dtype).mean(-1)
    rtol = 1e-7 if y_pred_dtype == np.float64 else 2.4e-7
    fl = tfa_recipe_exact(yt.to(yp.dtype), yp, alpha=None, gamma=None, from_logits=from_logits).numpy()
    close(fl, ref_bce, rtol=rtol, atol=0, what=f"tfa alpha=gamma=None, K port, {y_pred_dtype.__name__}")
    ours = tfa_recipe(yt, yp, alpha=None, gamma=None, from_logits=from_logits).numpy()
    if from_logits:
        close(ours, ref_bce, rtol=rtol, atol=0, what="tfa alpha=gamma=None, BinaryFocalCrossentropy from logits")
    else:  # Keras 3 leaves the epsilon out of the logs: -log(p) against -log(p + 1e-7)
        rel = np.abs(ours - ref_bce) / ref_bce
        print(f"tfa alpha=gamma=None, BinaryFocalCrossentropy from probabilities: relative diff {rel.max():.1e}")
        assert rel.max() < 5e-6
    for fl in (tfa_recipe_exact(yt.to(yp.dtype), yp, alpha=None, gamma=2.0, from_logits=from_logits).numpy(),
               tfa_recipe(yt, yp, alpha=None, gamma=2.0, from_logits=from_logits).numpy()):
        order_of_ratio = np.power(10.0, np.floor(np.log10(ref_bce / fl)))
        np.testing.assert_allclose(order_of_ratio, [1000, 100, 10, 10, 100, 1000])


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("alpha,gamma", [(0.25, 2.0), (0.6, 1.5), (None, 2.0), (0.25, None), (0.0, 2.0), (None, 0.0)])
def test_tfa_oracle_grid(alpha, gamma, from_logits):
    """tfa's formula (float64 oracle) on random and clip-edge inputs, per sample and with sample weights. The
    recipes get alpha and gamma rounded to float32, as tfa's ``tf.cast`` rounds them (in float64 an alpha of 0.6
    given as 0.6 is up to 4e-8 off, relative)."""
    alpha32, gamma32 = alpha and float(np.float32(alpha)), gamma and float(np.float32(gamma))
    rng = np.random.default_rng(19)
    y, p = extreme_probabilities(rng, 40, 5)
    if from_logits:
        p = rng.normal(size=p.shape) * 6
        p[0, :3] = [40.0, -40.0, 800.0]
    ref = tfa_sigmoid_focal_crossentropy(y, p, alpha, gamma, from_logits)
    close(tfa_recipe_exact(t64(y), t64(p), alpha, gamma, from_logits), ref, **F64, what="tfa grid, K port")
    ours = tfa_recipe(t64(y), t64(p), alpha32, gamma32, from_logits)
    # what the class recipe computes is Keras 3's formula times C, exactly
    k3 = keras3_binary_focal(y, p, alpha32 or 0.25, gamma32 or 0.0, bool(alpha), from_logits).sum(-1)
    close(ours, k3, **F64, what="tfa grid, BinaryFocalCrossentropy * C vs Keras 3 formula")
    diff = maxdiff(ours, ref)
    # per entry (a trailing 1-axis: tfa's sum over it is the entry itself)
    d_entry = maxdiff(tfa_recipe(t64(y)[..., None], t64(p)[..., None], alpha32, gamma32, from_logits),
                      tfa_sigmoid_focal_crossentropy(y[..., None], p[..., None], alpha, gamma, from_logits))
    print(f"tfa alpha={alpha} gamma={gamma} from_logits={from_logits}: recipe vs tfa max abs diff {diff:.3e} "
          f"per sample, {d_entry:.3e} per entry")
    if from_logits:
        assert diff < 1e-12
        if alpha == 0.6:  # alpha not rounded to float32 as tfa's tf.cast does
            rel = np.max(np.abs(tfa_recipe(t64(y), t64(p), alpha, gamma, True).numpy() - ref) / ref)
            print(f"  alpha=0.6 given unrounded: relative diff {rel:.2e}")
            assert 1e-8 < rel < 1e-7  # float32 0.6 is 0.6 (1 + 4.0e-8), and 1 - it 0.4 (1 - 6.0e-8)
    else:
        # the whole difference is the epsilon in the logs; the largest where a 1 meets p <= 1e-7 (or a 0 meets
        # p >= 1 - 1e-7): -log(1e-7) against -log(2e-7), i.e. alpha_t * log(2)
        worst = (max(alpha32, 1 - alpha32) if alpha else 1.0) * math.log(2.0)
        assert d_entry == pytest.approx(worst, rel=1e-9)
    # a (N,) sample weight and reduction="sum_over_batch_size": tf.keras 2 divides the weighted sum by N, as Keras 3
    w = rng.uniform(0, 2, size=y.shape[0])
    ref_red = np.sum(ref * w) / y.shape[0]
    ours_red = tfa_recipe(t64(y), t64(p), alpha32, gamma32, from_logits, t64(w), "sum_over_batch_size")
    if from_logits:
        close(ours_red, ref_red, **F64, what="tfa sum_over_batch_size + sample_weight")
    else:
        print(f"tfa sum_over_batch_size + sample_weight: max abs diff {maxdiff(ours_red, ref_red):.3e}")
        assert 0 < maxdiff(ours_red, ref_red) <= worst * 8 * 2 / y.shape[0]  # 8 planted clipped misses, w < 2


def test_tfa_alpha_zero_means_no_balancing():
    """tfa tests ``if alpha:``, so alpha=0.0 weighs nothing (it is alpha=None); Keras's alpha=0 zeroes positives."""
    y, p = t64([[1.0, 0.0, 1.0]]), t64([[0.3, 0.4, 0.8]])
    ref = tfa_sigmoid_focal_crossentropy(y.numpy(), p.numpy(), alpha=0.0)
    close(tfa_recipe(y, p, alpha=0.0), ref, rtol=1e-5, atol=0, what="tfa alpha=0 -> apply_class_balancing=False")
    keras_alpha0 = losses.binary_focal_crossentropy(y, p, apply_class_balancing=True, alpha=0.0) * 3
    assert abs(float(keras_alpha0[0]) - float(ref[0])) > 0.1


# ---------------------------------------------------------------------------------------------------------------
# focal-loss (artemmavrin): src/focal_loss/_binary_focal_loss.py, _categorical_focal_loss.py (0.0.7)
# ---------------------------------------------------------------------------------------------------------------


def pkg_binary_focal_loss(y, p, gamma, pos_weight=None, from_logits=False, label_smoothing=None):
    """focal_loss.binary_focal_loss restated (both its branches)."""
    y = np.asarray(y, dtype=np.float64)
    if from_logits:
        x = p
        if label_smoothing is not None:
            y = (1 - label_smoothing) * y + label_smoothing * 0.5
        prob = expit(x)
        softplus_neg = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)  # log(1 + exp(-x))
        if label_smoothing is None:
            if pos_weight is None:  # tf.nn.sigmoid_cross_entropy_with_logits
                ce = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
            else:  # tf.nn.weighted_cross_entropy_with_logits
                ce = (1 - y) * x + (1 + (pos_weight - 1) * y) * softplus_neg
            return np.where(y.astype(bool), (1 - prob) ** gamma, prob ** gamma) * ce
        pos_term, neg_term = y * (1 - prob) ** gamma, (1 - y) * prob ** gamma
        log_weight = pos_term * (1.0 if pos_weight is None else pos_weight) + neg_term
        return neg_term * x + softplus_neg * log_weight
    q = np.maximum(1 - p, EPS)
    pm = np.maximum(p, EPS)
    pos_loss = -(q ** gamma) * np.log(pm) * (1.0 if pos_weight is None else pos_weight)
    neg_loss = -(pm ** gamma) * np.log(q)
    if label_smoothing is None:
        return np.where(y.astype(bool), pos_loss, neg_loss)
    y = (1 - label_smoothing) * y + label_smoothing * 0.5
    return y * pos_loss + (1 - y) * neg_loss


def pkg_binary_recipe(y, p, gamma, pos_weight=None, from_logits=False, label_smoothing=None):
    """Element-wise (the trailing 1-axis): pos_weight w becomes alpha = w / (1 + w), times (1 + w)."""
    w = pos_weight
    out = losses.binary_focal_crossentropy(
        y[..., None], p[..., None], apply_class_balancing=w is not None, alpha=0.25 if w is None else w / (1 + w),
        gamma=gamma, from_logits=from_logits, label_smoothing=label_smoothing or 0.0)
    return out if w is None else out * (1 + w)


def pkg_numpy_binary_focal_loss(y_true, y_pred, gamma, from_logits=False, pos_weight=None, label_smoothing=None):
    """The package's own test oracle (tests/test_binary_focal_loss.py::numpy_binary_focal_loss)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if from_logits:
        y_pred = expit(y_pred)
    if label_smoothing is not None:
        y_true = y_true.astype(y_pred.dtype)
        y_true = (1 - label_smoothing) * y_true + label_smoothing * 0.5
    loss = -y_true * ((1 - y_pred) ** gamma) * np.log(y_pred)
    if pos_weight is not None:
        loss *= pos_weight
    loss -= (1 - y_true) * (y_pred ** gamma) * np.log(1 - y_pred)
    return loss


def test_pkg_docstring_values():
    """The package's doctests: ``binary_focal_loss([0, 1, 1], [0.1, 0.7, 0.9], gamma=2)`` prints
    ``[0.001 0.032 0.001]``, ``BinaryFocalLoss(gamma=2)`` of it ``0.011``; ``sparse_categorical_focal_loss([0, 1, 2],
    [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.2, 0.2, 0.6]], gamma=2)`` prints ``[0.009 0.032 0.082]`` and
    ``SparseCategoricalFocalLoss(gamma=2)`` of it ``0.040919524`` (float32)."""
    y, p = torch.tensor([0.0, 1.0, 1.0]), torch.tensor([0.1, 0.7, 0.9])
    per = pkg_binary_recipe(y, p, gamma=2)
    print(f"focal-loss binary doctest: {per.numpy()}")
    np.testing.assert_array_equal(np.round(per.numpy(), 3), np.array([0.001, 0.032, 0.001], np.float32))
    assert f"{float(losses.BinaryFocalCrossentropy(gamma=2)(y, p)):.3f}" == "0.011"
    ys = torch.tensor([0, 1, 2])
    ps = torch.tensor([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.2, 0.2, 0.6]])
    onehot = F.one_hot(ys, 3).float()
    per = losses.categorical_focal_crossentropy(onehot, ps, alpha=1.0, gamma=2)
    np.testing.assert_array_equal(np.round(per.numpy(), 3), np.array([0.009, 0.032, 0.082], np.float32))
    mean = losses.CategoricalFocalCrossentropy(alpha=1.0, gamma=2)(onehot, ps)
    close(mean, 0.040919524, rtol=1e-7, atol=0, what="focal-loss SparseCategoricalFocalLoss doctest (float32)")
    # Keras's default alpha is 0.25: left in, the port is a quarter of the package's loss
    default = float(losses.CategoricalFocalCrossentropy(gamma=2)(onehot, ps))
    assert default == pytest.approx(0.25 * float(mean), rel=1e-6)


@pytest.mark.parametrize("label_smoothing", [None, 0.1, 0.5])
@pytest.mark.parametrize("pos_weight", [None, 1, 2])
@pytest.mark.parametrize("gamma", [0, 1, 2])
def test_pkg_binary_computation_sanity_checks(gamma, pos_weight, label_smoothing):
    """The package's ``test_computation_sanity_checks`` (labels 0,0,0,0,0,1,1,1,1,1, logits -5..4, atol = rtol =
    1e-5 against its NumPy oracle), and its ``test_reduce_to_keras_loss_*`` (gamma=0 equals Keras's BCE with the
    same smoothing). With smoothing and gamma > 0 (or a pos_weight other than 1) the package weighs each term by
    its own factor: no recipe."""
    y = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    logits = np.arange(-5, 5).astype(np.float64)
    probs = expit(logits)
    for from_logits, pred in ((False, probs), (True, logits)):
        ref = pkg_numpy_binary_focal_loss(y, pred, gamma, from_logits, pos_weight, label_smoothing)
        np.testing.assert_allclose(pkg_binary_focal_loss(y, pred, gamma, pos_weight, from_logits, label_smoothing),
                                   ref, rtol=1e-5, atol=1e-5)  # the restated package agrees with its test oracle
        ours = pkg_binary_recipe(t64(y), t64(pred), gamma, pos_weight, from_logits, label_smoothing)
        if label_smoothing is None or (gamma == 0 and (pos_weight or 1) == 1):
            close(ours, ref, rtol=1e-5, atol=1e-5, what=f"focal-loss binary g={gamma} w={pos_weight} "
                                                        f"s={label_smoothing} logits={from_logits}")
            close(ours, pkg_binary_focal_loss(y, pred, gamma, pos_weight, from_logits, label_smoothing),
                  rtol=1e-12, atol=1e-15, what="  vs the restated package, float64")
        else:
            d = maxdiff(ours, ref)
            print(f"focal-loss binary g={gamma} s={label_smoothing} logits={from_logits}: smoothing differs by {d:.3e}")
            assert d > 1e-3
    if gamma == 0 and pos_weight is None:  # test_reduce_to_keras_loss_*: Keras's BCE (tf.keras 2: +1e-7 in the logs)
        s = label_smoothing or 0.0
        ys = y * (1 - s) + 0.5 * s
        k2 = k2_binary_crossentropy(ys, probs, False).mean()
        close(losses.BinaryFocalCrossentropy(gamma=0, label_smoothing=s)(t64(y), t64(probs)), k2, rtol=1e-6,
              atol=1e-6, what="focal-loss gamma=0 vs tf.keras BinaryCrossentropy")


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("pos_weight", [None, 0.5, 3.0])
@pytest.mark.parametrize("gamma", [0.0, 2.0, 3.5])
def test_pkg_binary_oracle_grid(gamma, pos_weight, from_logits):
    """The package's formula on random and clip-edge inputs. From probabilities the package clips ``p`` and
    ``1 - p`` at 1e-7 from below only; Keras clips ``p`` to [1e-7, 1 - 1e-7]: a ``p`` below 1e-7 against a 0 label
    costs ``-log(1 - p)`` in the package and ``-log(1 - 1e-7)`` in Keras (1e-7 apart, times the weight; with
    gamma > 0 the focal factor hides it: 5.3e-10)."""
    rng = np.random.default_rng(7)
    y, p = extreme_probabilities(rng, 50, 4)
    if from_logits:
        p = rng.normal(size=p.shape) * 8
        p[0, :2] = [60.0, -60.0]
    ref = pkg_binary_focal_loss(y, p, gamma, pos_weight, from_logits)
    ours = pkg_binary_recipe(t64(y), t64(p), gamma, pos_weight, from_logits)
    d = maxdiff(ours, ref)
    print(f"focal-loss binary grid g={gamma} w={pos_weight} logits={from_logits}: max abs diff {d:.2e}")
    assert d < (1e-13 if from_logits else 1.01e-7 * max(pos_weight or 1.0, 1.0))
    inside = (p > EPS) & (p < 1 - EPS) if not from_logits else np.ones_like(p, bool)
    np.testing.assert_allclose(ours.numpy()[inside], ref[inside], rtol=1e-12, atol=1e-15)
    # BinaryFocalLoss(...)(y, p, sample_weight): Keras's mean over the last axis, then sum_over_batch_size
    w = rng.uniform(0, 2, size=y.shape[0])
    ref_red = np.mean(ref * w[:, None])
    wt = 1.0 if pos_weight is None else pos_weight
    red = losses.BinaryFocalCrossentropy(apply_class_balancing=pos_weight is not None, alpha=wt / (1 + wt), gamma=gamma,
                                         from_logits=from_logits)(t64(y), t64(p), sample_weight=t64(w))
    red = red * (1 + wt) if pos_weight is not None else red
    close(red, ref_red, rtol=1e-12, atol=2e-6, what="  BinaryFocalLoss with sample_weight")


def pkg_sparse_categorical_focal_loss(y, p, gamma, class_weight=None, from_logits=False):
    """focal_loss.sparse_categorical_focal_loss restated (axis=-1): log(clip(p)) into the sparse softmax
    crossentropy (which renormalises), the focal factor from the unclipped probability of the label."""
    if from_logits:
        logits, probs = p, softmax(p, axis=-1)
    else:
        logits, probs = np.log(np.clip(p, EPS, 1 - EPS)), p
    rows = np.arange(len(y))
    xent = -log_softmax(logits, axis=-1)[rows, y]
    g = np.asarray(gamma, dtype=np.float64)
    g = g if g.ndim == 0 else g[y]
    loss = (1 - probs[rows, y]) ** g * xent
    return loss if class_weight is None else loss * np.asarray(class_weight)[y]


PKG_SPARSE_LOGITS = np.array([[6., 9., 2.], [7., 8., 1.], [9., 7., 9.], [3., 2., 9.], [3., 9., 4.], [0., 5., 7.],
                              [2., 0., 3.], [4., 7., 4.], [6., 2., 4.], [8., 6., 9.], [0., 0., 3.], [6., 6., 4.],
                              [3., 9., 5.], [7., 5., 3.], [4., 6., 0.]])
PKG_SPARSE_Y = np.repeat([0, 1, 2], 5)


def pkg_numpy_sparse_categorical_focal_loss(y_true, y_pred, gamma, from_logits=False):
    """The package's own test oracle (tests/test_sparse_categorical_focal_loss.py), axis=-1."""
    y_true_one_hot = np.eye(y_pred.shape[-1])[y_true]
    y_pred = softmax(y_pred, axis=-1) if from_logits else np.clip(y_pred, 1e-7, 1 - 1e-7)
    return np.sum(-y_true_one_hot * (1 - y_pred) ** np.asarray(gamma) * np.log(y_pred), axis=-1)


@pytest.mark.parametrize("gamma", [0, 1, 2, [2, 2, 2]])
def test_pkg_sparse_computation_sanity_checks(gamma):
    """The package's ``test_computation_sanity_checks`` (15 rows of 3 logits, atol = rtol = 1e-5) and
    ``test_class_weight`` (the weighted loss is the unweighted one times ``class_weight[y]``). A per-class gamma
    has no Keras counterpart; all-equal (``[2, 2, 2]``) is the scalar."""
    g = float(np.asarray(gamma).ravel()[0])
    onehot = t64(np.eye(3)[PKG_SPARSE_Y])
    probs = softmax(PKG_SPARSE_LOGITS, axis=-1)
    for from_logits, pred in ((False, probs), (True, PKG_SPARSE_LOGITS)):
        ref = pkg_numpy_sparse_categorical_focal_loss(PKG_SPARSE_Y, pred, gamma, from_logits)
        ours = losses.categorical_focal_crossentropy(onehot, t64(pred), alpha=1.0, gamma=g, from_logits=from_logits)
        close(ours, ref, rtol=1e-5, atol=1e-5, what=f"focal-loss sparse gamma={gamma} logits={from_logits}")
        close(ours, pkg_sparse_categorical_focal_loss(PKG_SPARSE_Y, pred, gamma, None, from_logits), **F64,
              what="  vs the restated package, float64")
    rng = np.random.default_rng(0)
    for _ in range(10):
        cw = rng.uniform(size=3)
        weighted = losses.categorical_focal_crossentropy(onehot, t64(probs), alpha=t64(cw), gamma=g)
        plain = losses.categorical_focal_crossentropy(onehot, t64(probs), alpha=1.0, gamma=g)
        torch.testing.assert_close(weighted, plain * t64(cw[PKG_SPARSE_Y]), rtol=1e-12, atol=0)
        close(weighted, pkg_sparse_categorical_focal_loss(PKG_SPARSE_Y, probs, g, cw), **F64,
              what="  class_weight as alpha")


@pytest.mark.parametrize("from_logits", [False, True])
def test_pkg_sparse_oracle_grid(from_logits):
    """Random rows (5 classes) with saturated ones. The recipe matches where every softmax probability is in
    [1e-7, 1 - 1e-7]; a label probability below 1e-7 is clipped by Keras (loss capped at -log(1e-7) = 16.1, zero
    gradient), not by the package's logits path (its true -log p, here 40 apart); from probabilities the package
    renormalises only inside the log, so rows not summing to 1 differ too."""
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(64, 5)) * 3
    logits[0] = [60.0, 0.0, 0.0, 0.0, 0.0]  # label 1 far below 1e-7
    logits[1] = [0.0, 60.0, 0.0, 0.0, 0.0]  # label 1 saturated correct
    y = rng.integers(0, 5, size=64)
    y[0] = y[1] = 1
    cw = rng.uniform(0.2, 2.0, size=5)
    pred = logits if from_logits else softmax(logits, axis=-1)
    ref = pkg_sparse_categorical_focal_loss(y, pred, 2.0, cw, from_logits)
    ours = losses.categorical_focal_crossentropy(t64(np.eye(5)[y]), t64(pred), alpha=t64(cw), gamma=2.0,
                                                 from_logits=from_logits).numpy()
    p_all = softmax(logits, axis=-1)
    inside = np.all((p_all >= EPS) & (p_all <= 1 - EPS), axis=-1)
    np.testing.assert_allclose(ours[inside], ref[inside], rtol=1e-12, atol=1e-15)
    d = np.abs(ours - ref)
    print(f"focal-loss sparse grid logits={from_logits}: inside the clip max abs diff {d[inside].max():.1e}; "
          f"saturated wrong row: package {ref[0]:.4f}, recipe {ours[0]:.4f}; saturated right row diff {d[1]:.1e}")
    if from_logits:
        assert ref[0] == pytest.approx(cw[1] * 60.0, rel=1e-6) and ours[0] == pytest.approx(cw[1] * -math.log(EPS))
    else:  # the package clips too; it renormalises the clipped row and keeps the unclipped p in the factor
        assert d[0] < 3e-7 * ref[0]
    assert d[1] < 1e-12
    # probabilities that do not sum to 1 (sigmoid outputs given to a softmax loss): Keras renormalises first
    q = expit(rng.normal(size=(64, 5)))
    ref_q = pkg_sparse_categorical_focal_loss(y, q, 2.0)
    ours_q = losses.categorical_focal_crossentropy(t64(np.eye(5)[y]), t64(q), alpha=1.0, gamma=2.0).numpy()
    rel = np.max(np.abs(ours_q - ref_q) / ref_q)
    print(f"focal-loss sparse, rows not summing to 1: relative diff up to {rel:.2f}")
    assert rel > 0.1


# ---------------------------------------------------------------------------------------------------------------
# kornia: kornia/losses/focal.py (0.8.x / 0.9)
# ---------------------------------------------------------------------------------------------------------------

KORNIA_REDUCTION = {"none": "none", "mean": "sum_over_batch_size", "sum": "sum"}


def kornia_binary_focal_loss_with_logits(pred, target, alpha=0.25, gamma=2.0, reduction="none", pos_weight=None,
                                         weight=None, ignore_index=-100):
    """kornia.losses.binary_focal_loss_with_logits restated in NumPy (logsigmoid: no clipping)."""
    log_pos, log_neg = log_expit(pred), log_expit(-pred)
    if ignore_index is not None:
        mask = target != ignore_index
        target = np.where(mask, target, 0)
        log_pos, log_neg = log_pos * mask, log_neg * mask
    pos = -np.exp(log_neg) ** gamma * target * log_pos
    neg = -np.exp(log_pos) ** gamma * (1.0 - target) * log_neg
    if alpha is not None:
        pos, neg = alpha * pos, (1.0 - alpha) * neg
    view = [-1] + [1] * (pred.ndim - 2)
    if pos_weight is not None:
        pos = np.reshape(pos_weight, view) * pos
    loss = pos + neg
    if weight is not None:
        loss = np.reshape(weight, view) * loss
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


def kornia_binary_recipe(pred, target, alpha=0.25, gamma=2.0, reduction="none", pos_weight=None, weight=None,
                         ignore_index=-100):
    """BinaryFocalCrossentropy on a trailing 1-axis (one loss per element); ignored elements, ``weight`` and (for
    0/1 targets) ``pos_weight`` as element-wise sample weights."""
    sw = torch.ones_like(pred)
    if ignore_index is not None:
        valid = target != ignore_index
        target = torch.where(valid, target, torch.zeros_like(target))
        sw = sw * valid
    view = [-1] + [1] * (pred.dim() - 2)
    if pos_weight is not None:
        sw = sw * (target * pos_weight.view(view) + (1 - target))
    if weight is not None:
        sw = sw * weight.view(view)
    loss = losses.BinaryFocalCrossentropy(apply_class_balancing=alpha is not None,
                                          alpha=0.25 if alpha is None else alpha, gamma=gamma, from_logits=True,
                                          reduction=KORNIA_REDUCTION[reduction])
    return loss(target[..., None], pred[..., None], sample_weight=sw[..., None])


def kornia_one_hot(target, num_classes, new_style=True):
    """kornia's one_hot (eps=1e-6): 0.8.2 and later ``onehot*(1-eps) + eps``; up to 0.8.1 ``onehot + eps``."""
    onehot = np.moveaxis(np.eye(num_classes)[target], -1, 1)
    return onehot * (1 - 1e-6) + 1e-6 if new_style else onehot + 1e-6


def kornia_focal_loss(pred, target, alpha, gamma=2.0, reduction="none", weight=None, ignore_index=-100,
                      new_style=True):
    """kornia.losses.focal_loss restated: log_softmax over dim 1, one loss per class (not summed)."""
    mask = None
    if ignore_index is not None:
        mask = target != ignore_index
        target = np.where(mask, target, 0)
    t = kornia_one_hot(target, pred.shape[1], new_style)
    if mask is not None:
        t = t * mask[:, None]
    logp = log_softmax(pred, axis=1)
    loss = -(1.0 - np.exp(logp)) ** gamma * logp * t
    view = [-1] + [1] * (pred.ndim - 2)
    if alpha is not None:
        loss = np.reshape([1 - alpha] + [alpha] * (pred.shape[1] - 1), view) * loss
    if weight is not None:
        loss = np.reshape(weight, view) * loss
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


def kornia_focal_recipe(pred, target, alpha, gamma=2.0, reduction="none", weight=None, ignore_index=-100,
                        new_style=True):
    """CategoricalFocalCrossentropy(axis=1) given kornia's target; kornia's 'none' summed over the classes."""
    c = pred.shape[1]
    valid = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index
    target = torch.where(valid, target, torch.zeros_like(target))
    onehot = F.one_hot(target, c).movedim(-1, 1).to(pred.dtype)
    y = (onehot * (1 - 1e-6) + 1e-6 if new_style else onehot + 1e-6) * valid.unsqueeze(1)
    a = torch.ones(c, dtype=pred.dtype) if alpha is None else torch.tensor([1 - alpha] + [alpha] * (c - 1),
                                                                           dtype=pred.dtype)
    if weight is not None:
        a = a * weight
    out = losses.CategoricalFocalCrossentropy(alpha=a, gamma=gamma, from_logits=True, axis=1,
                                              reduction=KORNIA_REDUCTION[reduction])(y, pred)
    return out / c if reduction == "mean" else out


def test_kornia_binary_numeric_stability():
    """kornia's ``test_numeric_stability``: logits [[100, -100]], labels [[1, 0]] give [[0, 0]]."""
    for dtype in (torch.float32, torch.float64):
        out = kornia_binary_recipe(torch.tensor([[100.0, -100.0]], dtype=dtype), torch.tensor([[1.0, 0.0]], dtype=dtype))
        print(f"kornia numeric stability {dtype}: {out.tolist()}")
        torch.testing.assert_close(out, torch.zeros(1, 2, dtype=dtype))


@pytest.mark.parametrize("ignore_index", [-100, None])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_kornia_binary_same_as_torch_bce(reduction, ignore_index):
    """kornia's ``test_value_same_as_torch_bce_loss`` (alpha=None, gamma=0, soft targets torch.rand) and
    ``..._pos_weight_weight`` (per-class ``pos_weight`` and ``weight`` on 0/1 targets here: the recipe carries
    ``pos_weight`` as a sample weight, which is only the same for 0/1 targets), against
    ``F.binary_cross_entropy_with_logits`` at torch's default tolerances."""
    g = torch.Generator().manual_seed(5)
    for dtype in (torch.float32, torch.float64):
        logits = torch.rand(2, 3, 2, generator=g, dtype=dtype)
        labels = torch.rand(2, 3, 2, generator=g, dtype=dtype)
        ours = kornia_binary_recipe(logits, labels, alpha=None, gamma=0.0, reduction=reduction, ignore_index=ignore_index)
        ref = F.binary_cross_entropy_with_logits(logits, labels, reduction=reduction)
        print(f"kornia vs F.binary_cross_entropy_with_logits {reduction} {dtype}: {maxdiff(ours, ref):.1e}")
        torch.testing.assert_close(ours, ref)
        labels01 = (labels > 0.5).to(dtype)
        pos_weight = torch.rand(3, 1, generator=g, dtype=dtype) * 3
        weight = torch.rand(3, 1, generator=g, dtype=dtype)
        ours = kornia_binary_recipe(logits, labels01, alpha=None, gamma=0.0, reduction=reduction,
                                    pos_weight=pos_weight.view(-1), weight=weight.view(-1))
        ref = F.binary_cross_entropy_with_logits(logits, labels01, reduction=reduction, pos_weight=pos_weight,
                                                 weight=weight)
        torch.testing.assert_close(ours, ref)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("alpha,gamma", [(0.25, 2.0), (None, 2.0), (0.8, 0.5), (0.5, 0.0)])
def test_kornia_binary_oracle_grid(alpha, gamma, reduction):
    """kornia's formula (float64 oracle) on (N, C, H) logits incl. saturated ones, with ignore_index, per-class
    weight and pos_weight; gradients against kornia's own torch code. Soft targets differ (kornia weighs each term
    by its own focal factor and alpha)."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(4, 3, 5)) * 6
    x[0, 0, :4] = [50.0, -50.0, 800.0, -800.0]
    t = (rng.uniform(size=x.shape) < 0.4).astype(np.float64)
    t[0, 0, :4] = [1.0, 0.0, 0.0, 1.0]
    t[1, 1, :2] = -100  # ignored
    pw, w = rng.uniform(0.5, 3, size=3), rng.uniform(0.2, 1, size=3)
    ref = kornia_binary_focal_loss_with_logits(x, t, alpha, gamma, reduction, pw, w)
    xt = t64(x).requires_grad_()
    ours = kornia_binary_recipe(xt, t64(t), alpha, gamma, reduction, t64(pw), t64(w))
    close(ours, ref, **F64, what=f"kornia binary alpha={alpha} gamma={gamma} {reduction}")
    # gradient: kornia's code itself in torch
    xk = t64(x).requires_grad_()
    tk = t64(t)
    mask = tk != -100
    tk = torch.where(mask, tk, torch.zeros_like(tk))
    lp, ln = F.logsigmoid(xk) * mask, F.logsigmoid(-xk) * mask
    pos, neg = -ln.exp().pow(gamma) * tk * lp, -lp.exp().pow(gamma) * (1.0 - tk) * ln
    if alpha is not None:
        pos, neg = alpha * pos, (1.0 - alpha) * neg
    kl = (t64(w).view(-1, 1) * (t64(pw).view(-1, 1) * pos + neg))
    kl = {"none": kl, "mean": kl.mean(), "sum": kl.sum()}[reduction]
    cot = torch.rand(kl.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    (gk,) = torch.autograd.grad(kl, xk, cot)
    (go,) = torch.autograd.grad(ours, xt, cot)
    # gamma < 1: (1 - p_t)**gamma has an infinite slope at p_t = 1. Keras (TensorFlow's pow and sigmoid gradients,
    # 0 * inf) and so torch_impl give NaN where the sigmoid rounds p_t to 1 (|x| = 50, 800, right label; gamma=0
    # too); kornia's pow(exp(logsigmoid)) gives NaN where exp(logsigmoid) underflows to 0 (|x| = 800, wrong label;
    # torch's pow gradient is 0 for gamma=0). Measured against keras 3.15.1 by hand.
    right = torch.zeros_like(go, dtype=torch.bool)
    right[0, 0, :2] = True
    wrong = torch.zeros_like(go, dtype=torch.bool)
    wrong[0, 0, 2:4] = True
    assert torch.equal(go.isnan(), right if gamma < 1 else torch.zeros_like(right))
    assert torch.equal(gk.isnan(), wrong if 0 < gamma < 1 else torch.zeros_like(wrong))
    both = ~(go.isnan() | gk.isnan())
    print(f"  gradient vs kornia's torch code: max abs diff {maxdiff(go[both], gk[both]):.1e} "
          f"(NaN: torch_impl {int(go.isnan().sum())}, kornia {int(gk.isnan().sum())})")
    torch.testing.assert_close(go[both], gk[both], rtol=1e-10, atol=1e-14)
    if gamma > 0 or alpha not in (None, 0.5):  # soft targets: no recipe (but for BCE, or BCE / 2)
        soft = rng.uniform(size=x.shape)
        d = maxdiff(kornia_binary_recipe(t64(x), t64(soft), alpha, gamma, "none"),
                    kornia_binary_focal_loss_with_logits(x, soft, alpha, gamma, "none"))
        print(f"  soft targets: max abs diff {d:.2e}")
        assert d > 1e-3


def test_kornia_focal_gamma0_is_crossentropy():
    """kornia's focal_loss with alpha=None, gamma=0 is the crossentropy against its one-hot target (1e-6 off the
    label): ``F.cross_entropy`` with those probabilities as targets, the independent reference."""
    g = torch.Generator().manual_seed(2)
    pred = torch.randn(2, 4, 3, 2, generator=g, dtype=torch.float64)
    target = torch.randint(4, (2, 3, 2), generator=g)
    y = F.one_hot(target, 4).movedim(-1, 1).double() * (1 - 1e-6) + 1e-6
    ref = F.cross_entropy(pred, y, reduction="none")
    close(kornia_focal_recipe(pred, target, alpha=None, gamma=0.0), ref, **F64, what="kornia focal gamma=0 vs F.cross_entropy")


@pytest.mark.parametrize("new_style", [True, False], ids=["kornia>=0.8.2", "kornia<=0.8.1"])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("alpha,gamma", [(0.25, 2.0), (None, 1.5), (0.5, 0.0)])
def test_kornia_focal_oracle_grid(alpha, gamma, reduction, new_style):
    """kornia.losses.focal_loss (float64 oracle) on (N, C, H, W) logits with ignore_index and per-class weight;
    'none' compared after summing kornia's per-class output over dim 1. Keras clips the softmax at 1e-7 where
    kornia's log_softmax does not: a saturated row differs (printed, asserted)."""
    rng = np.random.default_rng(13)
    pred = rng.normal(size=(3, 4, 3, 2)) * 3
    target = rng.integers(0, 4, size=(3, 3, 2))
    target[0, 0, :] = -100
    weight = rng.uniform(0.2, 2.0, size=4)
    ref = kornia_focal_loss(pred, target, alpha, gamma, reduction, weight, new_style=new_style)
    ref = ref.sum(1) if reduction == "none" else ref
    ours = kornia_focal_recipe(t64(pred), torch.as_tensor(target), alpha, gamma, reduction, t64(weight),
                               new_style=new_style)
    close(ours, ref, **F64, what=f"kornia focal alpha={alpha} gamma={gamma} {reduction}")
    other = kornia_focal_loss(pred, target, alpha, gamma, reduction, weight, new_style=not new_style)
    other = other.sum(1) if reduction == "none" else other
    print(f"  the other kornia version's one-hot: {maxdiff(other, ref):.1e} apart")
    assert maxdiff(other, ref) > 1e-8  # the recipe must follow the installed kornia's one_hot
    sat = pred.copy()
    sat[1, :, 0, 0] = [40.0, -40.0, 0.0, 0.0]  # class 1 at exp(-80): below Keras's clip
    target_sat = target.copy()
    target_sat[1, 0, 0] = 0
    ref_s = kornia_focal_loss(sat, target_sat, alpha, gamma, "none", weight, new_style=new_style).sum(1)
    ours_s = kornia_focal_recipe(t64(sat), torch.as_tensor(target_sat), alpha, gamma, "none", t64(weight),
                                 new_style=new_style).numpy()
    d = np.abs(ours_s - ref_s)
    print(f"  saturated entry: kornia {ref_s[1, 0, 0]:.6e} recipe {ours_s[1, 0, 0]:.6e} (others {np.delete(d, 6).max():.1e})")
    assert d[1, 0, 0] > 1e-5 and np.delete(d, 6).max() < 1e-13  # flat index 6 = (1, 0, 0)


# ---------------------------------------------------------------------------------------------------------------
# segmentation_models (qubvel): segmentation_models/base/functional.py (1.0.1)
# ---------------------------------------------------------------------------------------------------------------


def sm_binary_focal_loss(gt, pr, gamma=2.0, alpha=0.25):
    """segmentation_models' binary_focal_loss: clip, both focal factors from the CLIPPED pr, mean of everything."""
    pr = np.clip(pr, EPS, 1 - EPS)
    loss_1 = -gt * (alpha * (1 - pr) ** gamma * np.log(pr))
    loss_0 = -(1 - gt) * ((1 - alpha) * pr ** gamma * np.log(1 - pr))
    return np.mean(loss_0 + loss_1)


def sm_categorical_focal_loss(gt, pr, gamma=2.0, alpha=0.25, class_indexes=None):
    """segmentation_models' categorical_focal_loss (channels_last): gather channels, clip, mean of everything."""
    if class_indexes is not None:
        gt, pr = gt[..., class_indexes], pr[..., class_indexes]
    pr = np.clip(pr, EPS, 1 - EPS)
    return np.mean(-gt * (alpha * (1 - pr) ** gamma * np.log(pr)))


@pytest.mark.parametrize("alpha,gamma", [(0.25, 2.0), (0.5, 1.0), (0.9, 0.0)])
def test_sm_binary_focal_loss(alpha, gamma):
    """segmentation_models has no focal tests; its formula (float64) on (B, H, W, 1) masks with clip edges. The
    package takes the focal factor from the clipped prediction, Keras from the unclipped: at p = 0 against a 1,
    alpha * (1 - 1e-7)**gamma * 16.1 against alpha * 16.1 (gamma * 1.6e-6 * alpha apart), equal inside the clip."""
    rng = np.random.default_rng(17)
    gt = (rng.uniform(size=(2, 8, 8, 1)) < 0.3).astype(np.float64)
    pr = rng.uniform(size=gt.shape)
    edges = np.array([0.0, 1.0, 1e-9, 1 - 1e-9, EPS, 1 - EPS])
    pr.flat[:12] = np.tile(edges, 2)
    gt.flat[:12] = np.repeat([0.0, 1.0], 6)
    ref = sm_binary_focal_loss(gt, pr, gamma, alpha)
    ours = losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=alpha, gamma=gamma)(t64(gt), t64(pr))
    d = maxdiff(ours, ref)
    print(f"segmentation_models BinaryFocalLoss alpha={alpha} gamma={gamma}: {float(ours):.10f} vs {ref:.10f}, {d:.1e}")
    assert d < 2 * 16.2 * gamma * EPS / gt.size + 1e-15
    inside = pr.copy()
    inside.flat[:12] = 0.5
    close(losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=alpha, gamma=gamma)(t64(gt), t64(inside)),
          sm_binary_focal_loss(gt, inside, gamma, alpha), **F64, what="  inside the clip")


@pytest.mark.parametrize("class_indexes", [None, [1, 3]])
@pytest.mark.parametrize("alpha,gamma", [(0.25, 2.0), (1.0, 0.0)])
def test_sm_categorical_focal_loss(alpha, gamma, class_indexes):
    """segmentation_models' CategoricalFocalLoss on softmax masks (B, H, W, C): CategoricalFocalCrossentropy / C
    (class_indexes: alpha 0 on the other channels, divided by the number kept). Masks that do not sum to 1 over
    the channels differ: Keras renormalises first (printed, asserted)."""
    rng = np.random.default_rng(23)
    c = 4
    pr = softmax(rng.normal(size=(2, 6, 6, c)) * 3, axis=-1)
    gt = np.eye(c)[rng.integers(0, c, size=(2, 6, 6))]
    ref = sm_categorical_focal_loss(gt, pr, gamma, alpha, class_indexes)
    kept = c if class_indexes is None else len(class_indexes)
    a = np.full(c, alpha) if class_indexes is None else np.where(np.isin(np.arange(c), class_indexes), alpha, 0.0)
    ours = losses.CategoricalFocalCrossentropy(alpha=t64(a), gamma=gamma)(t64(gt), t64(pr)) / kept
    close(ours, ref, **F64, what=f"segmentation_models CategoricalFocalLoss alpha={alpha} gamma={gamma} "
                                 f"class_indexes={class_indexes}")
    sig = expit(rng.normal(size=pr.shape))
    ref_sig = sm_categorical_focal_loss(gt, sig, gamma, alpha, class_indexes)
    rel = abs(float(losses.CategoricalFocalCrossentropy(alpha=t64(a), gamma=gamma)(t64(gt), t64(sig)) / kept)
              - ref_sig) / ref_sig
    print(f"  sigmoid masks (rows not summing to 1): relative diff {rel:.3f}")
    assert rel > 1e-2

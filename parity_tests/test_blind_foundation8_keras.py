"""Blind audit 8: the foundation, as an outside user's first checks, against Keras 3.15.1 (TensorFlow backend).

Written from the README and Keras 3.15.1's documentation only (torch_impl's source and the other parity tests
unread while writing). What a porting user checks first: every ``>>>`` value of the loss docstrings in
``keras/src/losses/losses.py`` with torch_impl's class and functional forms (against the printed number and
against real Keras, float32 and float64); class weighting (``class_weight_to_sample_weight`` against Keras's
``class_weight_to_sample_weights``, ``compute_class_weight`` against scikit-learn, no normalisation of the
weights); the focal losses' options; reductions and sample weights with torch-shaped inputs (``(N, C, H, W)``
with ``axis=1``, int64 labels, non-contiguous tensors, float16/bfloat16); gradients against TensorFlow's tape,
double backward, ``vmap(grad)``; Keras's Adam / AdamW / SGD for 5 steps; a small ``fit`` against
``keras.Model.fit``; the errors the README promises. ``pytest -s`` prints every measured figure.

Standards (DESIGN.md): float64 values within 1e-12 and gradients within 1e-10 (norm-wise relative,
``max|a - b| / max|b|``); float32 ``|a - b| <= 1e-5 |b| + 1e-6``; half-precision gradients within one unit in the
last place; fit histories within 1e-8 relative (float64).

Measured (2026-12-07, CPU), worst per group:

| what | float64 | float32 / half |
|---|---|---|
| 32 class-docstring and 10 functional-docstring values against real Keras | 5.8e-16 | 3.6e-7 abs |
| the same against the printed numbers | within one printed digit (largest 9.2e-4 on ``1.730``) | |
| focal options (balancing, alpha, gamma 0/1.5/3, smoothing, logits), values / gradients | 5.1e-16 / 6.0e-16 | |
| reductions x sample-weight shapes (36), ignore_class, masks, mixed dtypes, weight gradients | 2.1e-16 | equal tolerance |
| (N, C, H, W) with ``axis=1``, other axes, int64 / strided / bool inputs | 3.5e-16 | |
| float16 / bfloat16 predictions | | values 4.8e-7 abs of Keras float32, gradients 0 ulp |
| clipped probabilities (zero-gradient sets equal), NaN / inf positions | 2.1e-16 | |
| double backward (Hessian-vector products vs TensorFlow), vmap(grad) | 4.7e-16, 1.3e-16 | |
| Adam / AdamW / SGD, 5 steps | 1.1e-15 | |
| ``fit`` histories (class_weight, validation; shuffled with a seed) | 2.8e-16 | 2.1e-7 (same classes) |
| class weights vs Keras's rule and scikit-learn | equal | |

Found: no numeric difference. One undocumented difference: ``CategoricalCrossentropy(from_logits=True, axis=-2)``
(any negative axis but -1) raises in Keras on TensorFlow (``test_other_class_axes_like_keras``), torch_impl
computes it. Keras's docstring of ``binary_focal_crossentropy`` prints ``[0.916, 0.714]`` for the call with the
default ``gamma=2.0`` (keras/src/losses/losses.py:2487-2490); Keras itself returns ``[0.330, 0.206]``, as here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from torch_impl import losses  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl.class_weight import class_weight_to_sample_weight, compute_class_weight  # noqa: E402

pytestmark = pytest.mark.keras

F64 = np.float64


def _rel(a, b) -> float:
    """Norm-wise relative error ``max|a - b| / max|b|`` (0 when both are all zero)."""
    a = np.asarray(a, dtype=F64)
    b = np.asarray(b, dtype=F64)
    assert a.shape == b.shape, (a.shape, b.shape)
    if a.size == 0:
        return 0.0
    scale = np.max(np.abs(b))
    diff = np.max(np.abs(a - b))
    return float(diff / scale) if scale > 0 else float(diff)


def _f32_ok(a, b) -> float:
    """Largest ``|a - b| - (1e-5 |b| + 1e-6)``; <= 0 means within the float32 standard."""
    a = np.asarray(a, dtype=F64)
    b = np.asarray(b, dtype=F64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.max(np.abs(a - b) - (1e-5 * np.abs(b) + 1e-6))) if a.size else -1.0


def _np(t) -> np.ndarray:
    return t.detach().cpu().double().numpy() if isinstance(t, torch.Tensor) else np.asarray(t, dtype=F64)


def _keras_value_grad(fn, y, p, cot=None, **kw):
    """Keras value and the tape gradient of ``sum(value * cot)`` with respect to ``p``."""
    pv = tf.Variable(p)
    with tf.GradientTape() as tape:
        v = fn(tf.constant(y), pv, **kw)
        s = tf.reduce_sum(v * tf.constant(cot, dtype=v.dtype)) if cot is not None else tf.reduce_sum(v)
    return v.numpy(), tape.gradient(s, pv).numpy()


def _torch_value_grad(fn, y, p, cot=None, **kw):
    pt = torch.tensor(p, requires_grad=True)
    yt = torch.as_tensor(y)
    v = fn(yt, pt, **kw)
    s = (v * torch.as_tensor(cot, dtype=v.dtype)).sum() if cot is not None else v.sum()
    s.backward()
    return v.detach().numpy(), pt.grad.numpy()


def _doc_tol(expected: str) -> float:
    """One unit of the last printed digit (Keras's docstrings round or truncate), plus float32's resolution (Keras
    prints float32 values; torch_impl computes NumPy float64 input in float64, Keras in floatx)."""
    if "e" in expected.lower():
        return 1e-6 * abs(float(expected))
    dec = len(expected.split(".")[1]) if "." in expected else 0
    return 10.0**-dec + 1.2e-7 * abs(float(expected))


# ----------------------------------------------------------------------------------------------------------------
# 1. Keras's docstring examples, class forms
# ----------------------------------------------------------------------------------------------------------------

_BCE_Y1, _BCE_P1 = [0, 1, 0, 0], [-18.6, 0.51, 2.94, -12.8]
_BCE_Y2, _BCE_P2 = [[0, 1], [0, 0]], [[-18.6, 0.51], [2.94, -12.8]]
_CCE_Y, _CCE_P = [[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
_DICE_Y = [[[[1.0], [1.0]], [[0.0], [0.0]]], [[[1.0], [1.0]], [[0.0], [0.0]]]]
_DICE_P = [[[[0.0], [1.0]], [[0.0], [1.0]]], [[[0.4], [0.0]], [[0.0], [0.9]]]]

# (class name, constructor arguments, y_true, y_pred, sample_weight, printed value(s))
DOC_CLASS_CASES = [
    ("BinaryCrossentropy", dict(from_logits=True), _BCE_Y1, _BCE_P1, None, "0.8654"),
    ("BinaryCrossentropy", dict(from_logits=True), _BCE_Y2, _BCE_P2, None, "0.8654"),
    ("BinaryCrossentropy", dict(from_logits=True), _BCE_Y2, _BCE_P2, [0.8, 0.2], "0.243"),
    ("BinaryCrossentropy", dict(from_logits=True, reduction="sum"), _BCE_Y2, _BCE_P2, None, "1.730"),
    ("BinaryCrossentropy", dict(from_logits=True, reduction=None), _BCE_Y2, _BCE_P2, None, ["0.235", "1.496"]),
    ("BinaryFocalCrossentropy", dict(gamma=2, from_logits=True), _BCE_Y1, _BCE_P1, None, "0.691"),
    ("BinaryFocalCrossentropy", dict(apply_class_balancing=True, gamma=2, from_logits=True), _BCE_Y1, _BCE_P1,
     None, "0.51"),
    ("BinaryFocalCrossentropy", dict(gamma=3, from_logits=True), _BCE_Y2, _BCE_P2, None, "0.647"),
    ("BinaryFocalCrossentropy", dict(apply_class_balancing=True, gamma=3, from_logits=True), _BCE_Y2, _BCE_P2,
     None, "0.482"),
    ("BinaryFocalCrossentropy", dict(gamma=3, from_logits=True), _BCE_Y2, _BCE_P2, [0.8, 0.2], "0.133"),
    ("BinaryFocalCrossentropy", dict(apply_class_balancing=True, gamma=3, from_logits=True), _BCE_Y2, _BCE_P2,
     [0.8, 0.2], "0.097"),
    ("BinaryFocalCrossentropy", dict(gamma=4, from_logits=True, reduction="sum"), _BCE_Y2, _BCE_P2, None, "1.222"),
    ("BinaryFocalCrossentropy", dict(apply_class_balancing=True, gamma=4, from_logits=True, reduction="sum"),
     _BCE_Y2, _BCE_P2, None, "0.914"),
    ("BinaryFocalCrossentropy", dict(gamma=5, from_logits=True, reduction=None), _BCE_Y2, _BCE_P2, None,
     ["0.0017", "1.1561"]),
    ("BinaryFocalCrossentropy", dict(apply_class_balancing=True, gamma=5, from_logits=True, reduction=None),
     _BCE_Y2, _BCE_P2, None, ["0.0004", "0.8670"]),
    ("CategoricalCrossentropy", {}, _CCE_Y, _CCE_P, None, "1.177"),
    ("CategoricalCrossentropy", {}, _CCE_Y, _CCE_P, [0.3, 0.7], "0.814"),
    ("CategoricalCrossentropy", dict(reduction="sum"), _CCE_Y, _CCE_P, None, "2.354"),
    ("CategoricalCrossentropy", dict(reduction=None), _CCE_Y, _CCE_P, None, ["0.0513", "2.303"]),
    ("CategoricalFocalCrossentropy", {}, _CCE_Y, _CCE_P, None, "0.23315276"),
    ("CategoricalFocalCrossentropy", {}, _CCE_Y, _CCE_P, [0.3, 0.7], "0.1632"),
    ("CategoricalFocalCrossentropy", dict(reduction="sum"), _CCE_Y, _CCE_P, None, "0.46631"),
    ("CategoricalFocalCrossentropy", dict(reduction=None), _CCE_Y, _CCE_P, None,
     ["3.2058331e-05", "4.6627346e-01"]),
    ("SparseCategoricalCrossentropy", {}, [1, 2], _CCE_P, None, "1.177"),
    ("SparseCategoricalCrossentropy", {}, [1, 2], _CCE_P, [0.3, 0.7], "0.814"),
    ("SparseCategoricalCrossentropy", dict(reduction="sum"), [1, 2], _CCE_P, None, "2.354"),
    ("SparseCategoricalCrossentropy", dict(reduction=None), [1, 2], _CCE_P, None, ["0.0513", "2.303"]),
    ("MeanSquaredError", {}, [1.0, 0.0, 1.0], [0.9, 0.1, 0.8], None, "0.02"),
    ("MeanAbsoluteError", {}, [1.0, 0.3, 1.0], [1.9, 0.3, 1.8], None, "0.5666667"),
    ("MeanAbsolutePercentageError", {}, [100.0, 200.0, 300.0], [90.0, 210.0, 310.0], None, "6.111111"),
    ("Dice", dict(axis=(1, 2, 3), reduction=None), _DICE_Y, _DICE_P, None, ["0.5", "0.75757575"]),
    ("Dice", {}, _DICE_Y, _DICE_P, None, "0.6164384"),
]


def _check_doc(got, expected, label):
    got = np.atleast_1d(_np(got))
    exp = expected if isinstance(expected, list) else [expected]
    assert got.shape == (len(exp),), (label, got.shape)
    for g, e in zip(got, exp):
        err = abs(g - float(e))
        print(f"{label}: got {g:.8g}, docstring {e}, |diff| {err:.1e}")
        assert err <= _doc_tol(e), (label, g, e)


@pytest.mark.parametrize("name,kw,y,p,sw,expected", DOC_CLASS_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(DOC_CLASS_CASES)])
def test_docstring_class_examples(name, kw, y, p, sw, expected):
    """Each ``>>>`` value of Keras's class docstrings: the printed number, real Keras in float32 and float64."""
    yt = np.asarray(y)
    p64 = np.asarray(p, dtype=F64)
    sw64 = None if sw is None else np.asarray(sw, dtype=F64)
    ours = getattr(losses, name)(**kw)
    # as the user types it: NumPy arrays in, as in the docstring
    got_np = ours(yt, p64, sample_weight=sw64)
    _check_doc(got_np, expected, f"{name}{kw} (NumPy in)")
    # float32 tensors against Keras's default float32
    k32 = getattr(keras.losses, name)(**kw)(yt, p64.astype(np.float32),
                                           sample_weight=None if sw is None else sw64.astype(np.float32))
    t32 = ours(torch.as_tensor(yt), torch.tensor(p64, dtype=torch.float32),
               sample_weight=None if sw is None else torch.tensor(sw64, dtype=torch.float32))
    assert t32.dtype == torch.float32
    e32 = _f32_ok(_np(t32), np.asarray(k32))
    d32 = float(np.max(np.abs(_np(t32) - np.asarray(k32, dtype=F64))))
    # float64 against Keras's dtype="float64" loss
    k64 = getattr(keras.losses, name)(dtype="float64", **kw)(yt, p64, sample_weight=sw64)
    t64 = ours(torch.as_tensor(yt), torch.tensor(p64), sample_weight=None if sw is None else torch.tensor(sw64))
    assert t64.dtype == torch.float64
    r64 = _rel(_np(t64), np.asarray(k64))
    print(f"{name}{kw}: float64 rel {r64:.1e}; float32 max abs diff {d32:.1e}")
    assert r64 <= 1e-12
    assert e32 <= 0


# ----------------------------------------------------------------------------------------------------------------
# 2. Keras's docstring examples, functional forms (Python lists in, as written there)
# ----------------------------------------------------------------------------------------------------------------

DOC_FUNC_CASES = [
    ("categorical_crossentropy", {}, _CCE_Y, _CCE_P, ["0.0513", "2.303"], None),
    ("categorical_focal_crossentropy", {}, [[0, 1, 0], [0, 0, 1]], [[0.05, 0.9, 0.05], [0.1, 0.85, 0.05]],
     ["2.63401289e-04", "6.75912094e-01"], None),
    ("sparse_categorical_crossentropy", {}, [1, 2], _CCE_P, ["0.0513", "2.303"], None),
    ("binary_crossentropy", {}, [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], ["0.916", "0.714"], None),
    ("binary_focal_crossentropy", dict(gamma=2), [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]],
     ["0.330", "0.206"], None),
    ("cosine_similarity", dict(axis=-1), [[0.0, 1.0], [1.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0], [-1.0, -1.0]],
     ["-0.", "-0.99999994", "0.99999994"], None),
    # the docstrings print the batch mean for these two
    ("huber", {}, [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], "0.155", "mean"),
    ("log_cosh", {}, [[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]], "0.108", "mean"),
    ("dice", dict(axis=(1, 2, 3)), _DICE_Y, _DICE_P, ["0.5", "0.75757575"], None),
    ("dice", {}, _DICE_Y, _DICE_P, "0.6164384", None),
]


@pytest.mark.parametrize("name,kw,y,p,expected,post", DOC_FUNC_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(DOC_FUNC_CASES)])
def test_docstring_functional_examples(name, kw, y, p, expected, post):
    fn = getattr(losses, name)
    got = fn(y, p, **kw)  # Python lists, as the docstring writes them (README: taken as arrays)
    if post == "mean":
        got = got.mean()
    if name == "cosine_similarity":  # float32 prints -0.99999994; float64 gives -1: one float32 ulp
        got = _np(got)
        assert np.max(np.abs(got - np.array([0.0, -1.0, 1.0]))) < 1e-7
    else:
        _check_doc(got, expected, f"{name}{kw}")
    # against real Keras, float64 arrays
    y64, p64 = np.asarray(y, dtype=F64), np.asarray(p, dtype=F64)
    if name == "sparse_categorical_crossentropy":
        y64 = np.asarray(y)
    kv = np.asarray(getattr(keras.losses, name)(y64, p64, **kw))
    tv = _np(fn(torch.as_tensor(y64), torch.tensor(p64), **kw))
    r = _rel(tv, kv)
    print(f"{name}{kw}: float64 rel to Keras {r:.1e}")
    assert r <= 1e-12


def test_keras_docstring_misprint_default_gamma_binary_focal():
    """Keras's ``binary_focal_crossentropy`` docstring calls it without ``gamma`` and prints the BCE values
    ``[0.916, 0.714]`` (keras/src/losses/losses.py:2487-2490); the default ``gamma=2.0`` gives the focal values, in
    Keras as here."""
    y, p = [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]
    k = np.asarray(keras.losses.binary_focal_crossentropy(y, p))
    t = _np(losses.binary_focal_crossentropy(y, p))
    bce = _np(losses.binary_crossentropy(y, p))
    print(f"binary_focal_crossentropy(y, p): Keras {k}, ours {t}, BCE {bce}")
    assert np.max(np.abs(k - [0.330, 0.206])) < 1e-3 and np.max(np.abs(t - k)) < 1e-6
    assert np.max(np.abs(bce - [0.916, 0.714])) < 1e-3


# ----------------------------------------------------------------------------------------------------------------
# 3. Class weights
# ----------------------------------------------------------------------------------------------------------------

def test_class_weight_to_sample_weight_matches_keras_fit_rule():
    """Keras's ``class_weight_to_sample_weights`` (what ``fit(class_weight=...)`` runs) for every label form."""
    from keras.src.trainers.data_adapters.data_adapter_utils import class_weight_to_sample_weights as kcw

    rng = np.random.default_rng(1)
    ids = rng.integers(0, 4, size=40)
    cw = {0: 1.0, 1: 10.0, 2: 0.3}  # class 3 absent: weighs 1.0
    forms = {
        "ids (N,)": ids,
        "ids (N, 1)": ids[:, None],
        "one-hot": np.eye(4)[ids],
        "float ids": ids.astype(np.float32),
        "int64 tensor": torch.as_tensor(ids, dtype=torch.int64),
        "one-hot tensor": torch.nn.functional.one_hot(torch.as_tensor(ids), 4).float(),
    }
    for label, y in forms.items():
        ref = kcw(np.asarray(y), cw)
        got = class_weight_to_sample_weight(y, cw)
        assert isinstance(got, torch.Tensor) and got.shape == (40,)
        assert got.dtype == torch.get_default_dtype()
        d = float(np.max(np.abs(_np(got) - ref)))
        print(f"class_weight_to_sample_weight, {label}: max abs diff to Keras {d:.1e}")
        assert d == 0.0
    assert float(class_weight_to_sample_weight(ids, cw)[ids == 3].max()) == 1.0


def test_compute_class_weight_balanced_matches_scikit_learn():
    sk = pytest.importorskip("sklearn.utils.class_weight")
    y = np.array([0] * 70 + [1] * 20 + [2] * 7 + [3] * 3)
    ref = sk.compute_class_weight("balanced", classes=np.arange(4), y=y)
    ours_dict = compute_class_weight(y)
    assert isinstance(ours_dict, dict) and sorted(ours_dict) == [0, 1, 2, 3]
    d1 = max(abs(ours_dict[c] - ref[c]) for c in range(4))
    ours_arr = compute_class_weight("balanced", classes=[0, 1, 2, 3], y=y)
    assert isinstance(ours_arr, np.ndarray) and ours_arr.dtype == np.float64
    d2 = float(np.max(np.abs(ours_arr - ref)))
    oh = compute_class_weight(np.eye(4)[y])  # one-hot labels
    d3 = max(abs(oh[c] - ref[c]) for c in range(4))
    tt = compute_class_weight(torch.as_tensor(y[:, None]))  # (N, 1) int64 tensor
    d4 = max(abs(tt[c] - ref[c]) for c in range(4))
    print(f"compute_class_weight vs scikit-learn: dict {d1:.1e}, array {d2:.1e}, one-hot {d3:.1e}, (N,1) {d4:.1e}")
    assert max(d1, d2, d3, d4) <= 1e-15 * max(ref)
    # the README's figures: {0: 0.37, 1: 6.67, 2: 6.67}
    readme = compute_class_weight(np.array([0] * 90 + [1] * 5 + [2] * 5))
    assert abs(readme[0] - 0.37037) < 1e-5 and abs(readme[1] - 6.6667) < 1e-4


def test_class_weighted_loss_is_not_normalised_like_keras():
    """``sum(w_i l_i) / N``: Keras does not divide by the sum of the class weights (torch's CrossEntropyLoss does)."""
    rng = np.random.default_rng(2)
    z = rng.normal(size=(12, 3))
    y = rng.integers(0, 3, size=12)
    cw = {0: 1.0, 1: 10.0, 2: 10.0}
    sw = class_weight_to_sample_weight(torch.as_tensor(y), cw, dtype=torch.float64)
    ours = losses.SparseCategoricalCrossentropy(from_logits=True)(torch.as_tensor(y), torch.tensor(z),
                                                                  sample_weight=sw)
    k = keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")(y, z, sample_weight=_np(sw))
    per = _np(losses.sparse_categorical_crossentropy(torch.as_tensor(y), torch.tensor(z), from_logits=True))
    explicit = float(np.sum(_np(sw) * per) / 12)
    torch_builtin = float(torch.nn.functional.cross_entropy(torch.tensor(z), torch.as_tensor(y),
                                                            weight=torch.tensor([1.0, 10.0, 10.0], dtype=torch.float64)))
    r = _rel(_np(ours), np.asarray(k))
    print(f"class-weighted SCCE: ours {float(ours):.12f}, Keras {float(k):.12f} (rel {r:.1e}), sum(w l)/N "
          f"{explicit:.12f}, torch CrossEntropyLoss(weight) {torch_builtin:.12f}")
    assert r <= 1e-12 and abs(float(ours) - explicit) <= 1e-12 * explicit
    assert abs(torch_builtin - explicit) > 1e-3  # the normalisation really differs on this batch
    # mean_with_sample_weight is the normalised one
    mw = losses.SparseCategoricalCrossentropy(from_logits=True, reduction="mean_with_sample_weight")(
        torch.as_tensor(y), torch.tensor(z), sample_weight=sw)
    assert abs(float(mw) - torch_builtin) <= 1e-12 * torch_builtin


# ----------------------------------------------------------------------------------------------------------------
# 4. Focal losses: options, values and gradients
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("balance", [False, True])
def test_binary_focal_options_values_and_gradients(from_logits, balance):
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, size=(6, 5)).astype(F64)
    p = rng.normal(scale=3, size=(6, 5)) if from_logits else rng.uniform(0.02, 0.98, size=(6, 5))
    sw = rng.uniform(0, 2, size=6)
    worst_v = worst_g = 0.0
    for gamma in (0.0, 1.5, 3.0):
        for alpha, s in ((0.25, 0.0), (0.6, 0.1)):
            kw = dict(apply_class_balancing=balance, alpha=alpha, gamma=gamma, from_logits=from_logits,
                      label_smoothing=s)
            kv, kg = _keras_value_grad(keras.losses.BinaryFocalCrossentropy(dtype="float64", **kw), y, p,
                                       sample_weight=sw)
            tv, tg = _torch_value_grad(losses.BinaryFocalCrossentropy(**kw), y, p, sample_weight=torch.tensor(sw))
            worst_v, worst_g = max(worst_v, _rel(tv, kv)), max(worst_g, _rel(tg, kg))
            fv = losses.binary_focal_crossentropy(torch.tensor(y), torch.tensor(p), **kw)
            kf = keras.losses.binary_focal_crossentropy(y, p, **kw)
            worst_v = max(worst_v, _rel(_np(fv), np.asarray(kf)))
    print(f"BinaryFocal from_logits={from_logits} balance={balance}: value rel {worst_v:.1e}, grad rel {worst_g:.1e}")
    assert worst_v <= 1e-12 and worst_g <= 1e-10


@pytest.mark.parametrize("from_logits", [False, True])
def test_categorical_focal_per_class_alpha_values_and_gradients(from_logits):
    rng = np.random.default_rng(4)
    ids = rng.integers(0, 4, size=7)
    y = np.eye(4)[ids]
    p = rng.normal(scale=2, size=(7, 4)) if from_logits else rng.dirichlet(np.ones(4), size=7)
    worst_v = worst_g = 0.0
    for alpha in (0.25, np.array([0.1, 0.4, 0.3, 0.9]), 1.0):
        for gamma, s in ((2.0, 0.0), (0.5, 0.05), (0.0, 0.0)):
            kw = dict(gamma=gamma, from_logits=from_logits, label_smoothing=s)
            kv, kg = _keras_value_grad(keras.losses.CategoricalFocalCrossentropy(alpha=alpha, dtype="float64", **kw),
                                       y, p)
            ta = torch.tensor(alpha) if isinstance(alpha, np.ndarray) else alpha
            tv, tg = _torch_value_grad(losses.CategoricalFocalCrossentropy(alpha=ta, **kw), y, p)
            worst_v, worst_g = max(worst_v, _rel(tv, kv)), max(worst_g, _rel(tg, kg))
    # gamma=0, alpha=1 is plain CCE
    cce = losses.categorical_crossentropy(torch.tensor(y), torch.tensor(p), from_logits=from_logits)
    cf = losses.categorical_focal_crossentropy(torch.tensor(y), torch.tensor(p), alpha=1.0, gamma=0.0,
                                               from_logits=from_logits)
    d = _rel(_np(cf), _np(cce))
    print(f"CategoricalFocal from_logits={from_logits}: value rel {worst_v:.1e}, grad rel {worst_g:.1e}; "
          f"alpha=1 gamma=0 vs CCE {d:.1e}")
    assert worst_v <= 1e-12 and worst_g <= 1e-10 and d <= 1e-14


def test_soft_labels_label_gradients_and_alpha_list_like_keras():
    """Soft labels with the gradient with respect to them too, per-class ``alpha`` as a Python list or tuple (float32
    rounding in a float64 loss, as Keras), sparse CCE from probabilities whose rows do not sum to 1."""
    rng = np.random.default_rng(25)

    def both(fn_k, fn_t, y, p, **kw):
        yv, pv = tf.Variable(y), tf.Variable(p)
        with tf.GradientTape(persistent=True) as tape:
            s = tf.reduce_sum(fn_k(yv, pv, **kw))
        yt, pt = torch.tensor(y, requires_grad=True), torch.tensor(p, requires_grad=True)
        v = fn_t(yt, pt, **kw)
        v.sum().backward()
        return max(_rel(_np(v), s.numpy()), _rel(_np(pt.grad), tape.gradient(s, pv).numpy()),
                   _rel(_np(yt.grad), tape.gradient(s, yv).numpy()))

    ys = rng.uniform(size=(6, 4))
    z = rng.normal(size=(6, 4))
    pb = rng.uniform(0.01, 0.99, (6, 4))
    worst = 0.0
    for name, kw, pp in (("BinaryFocalCrossentropy", dict(apply_class_balancing=True, alpha=0.3, gamma=2.5), pb),
                         ("BinaryFocalCrossentropy", dict(apply_class_balancing=True, alpha=0.3, gamma=2.5,
                                                          from_logits=True, label_smoothing=0.2), z),
                         ("BinaryCrossentropy", dict(from_logits=True), z),
                         ("CategoricalCrossentropy", dict(from_logits=True, label_smoothing=0.1), z),
                         ("CategoricalFocalCrossentropy", dict(from_logits=True), z),
                         ("CategoricalCrossentropy", {}, pb)):
        worst = max(worst, both(getattr(keras.losses, name)(dtype="float64", **kw), getattr(losses, name)(**kw),
                                ys, pp))
    y1 = np.eye(4)[rng.integers(0, 4, 6)]
    pd = rng.dirichlet(np.ones(4), size=6)
    for alpha in ([0.1, 0.4, 0.3, 0.9], (0.1, 0.4, 0.3, 0.9)):
        worst = max(worst, both(keras.losses.CategoricalFocalCrossentropy(alpha=alpha, dtype="float64"),
                                losses.CategoricalFocalCrossentropy(alpha=alpha), y1, pd))
    pu = rng.uniform(size=(6, 4)) * 3
    ids = rng.integers(0, 4, 6)
    kv, kg = _keras_value_grad(keras.losses.SparseCategoricalCrossentropy(dtype="float64"), ids, pu)
    tv, tg = _torch_value_grad(losses.SparseCategoricalCrossentropy(), torch.as_tensor(ids), pu)
    worst = max(worst, _rel(tv, kv), _rel(tg, kg))
    print(f"soft labels (value, d/dy_pred, d/dy_true), alpha list/tuple, unnormalised sparse: worst rel {worst:.1e}")
    assert worst <= 1e-12


# ----------------------------------------------------------------------------------------------------------------
# 5. Reductions and sample weights
# ----------------------------------------------------------------------------------------------------------------

REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]


def test_every_reduction_and_sample_weight_shape_like_keras():
    rng = np.random.default_rng(5)
    z = rng.normal(size=(6, 4))
    y = np.eye(4)[rng.integers(0, 4, size=6)]
    z3 = rng.normal(size=(3, 5, 4))  # (N, T, C)
    y3 = np.eye(4)[rng.integers(0, 4, size=(3, 5))]
    weights = {
        "none": None,
        "scalar": 0.7,
        "(N,)": np.array([0.0, 1.0, 2.0, 0.5, 0.0, 3.0]),
        "(N, 1)": np.array([[0.0], [1.0], [2.0], [0.5], [0.0], [3.0]]),
    }
    # (N,) against (N, T) losses does not broadcast in Keras either (keras/src/losses/loss.py:119-137 only
    # squeezes or expands a trailing 1-dim): checked to raise on both sides below
    weights3 = {"(N, 1)": rng.uniform(size=(3, 1)), "(N, T)": rng.uniform(size=(3, 5)), "scalar": 2.5}
    worst = 0.0
    n = 0
    for red in REDUCTIONS:
        for (yy, zz, ws) in ((y, z, weights), (y3, z3, weights3)):
            if zz.ndim == 3 and red in ("sum", "none"):  # "mean" and None cover these paths for (N, T) losses
                continue
            for wname, w in ws.items():
                kv, kg = _keras_value_grad(
                    keras.losses.CategoricalCrossentropy(from_logits=True, reduction=red, dtype="float64"), yy, zz,
                    sample_weight=w)
                tw = None if w is None else (w if np.isscalar(w) else torch.tensor(w))
                tv, tg = _torch_value_grad(losses.CategoricalCrossentropy(from_logits=True, reduction=red), yy, zz,
                                           sample_weight=tw)
                assert tv.shape == kv.shape, (red, wname, tv.shape, kv.shape)
                worst = max(worst, _rel(tv, kv), _rel(tg, kg))
                n += 1
    print(f"CCE from logits, {n} reduction x sample-weight cases: worst rel (value or grad) {worst:.1e}")
    assert worst <= 1e-12
    with pytest.raises(Exception):
        keras.losses.CategoricalCrossentropy(from_logits=True, dtype="float64")(y3, z3, sample_weight=np.ones(3))
    with pytest.raises(ValueError):
        losses.CategoricalCrossentropy(from_logits=True)(torch.tensor(y3), torch.tensor(z3),
                                                         sample_weight=torch.ones(3, dtype=torch.float64))


def test_label_shape_alignment_empty_batch_and_scalar_weight_mean():
    # (N,) labels against (N, 1) probabilities: one value per sample, never (N, N)
    y = np.array([0.0, 1.0, 1.0, 0.0])
    p = np.array([[0.2], [0.7], [0.4], [0.1]])
    tv = losses.BinaryCrossentropy(reduction=None)(torch.tensor(y), torch.tensor(p))
    kv = keras.losses.BinaryCrossentropy(reduction=None, dtype="float64")(y, p)
    assert tuple(tv.shape) == tuple(kv.shape) == (4,)
    r1 = _rel(_np(tv), np.asarray(kv))
    # (N, 1) int labels to sparse CCE
    ys = np.array([[2], [0], [1]])
    ps = np.array([[0.1, 0.2, 0.7], [0.5, 0.3, 0.2], [0.3, 0.3, 0.4]])
    r2 = _rel(_np(losses.SparseCategoricalCrossentropy()(torch.as_tensor(ys), torch.tensor(ps))),
              np.asarray(keras.losses.SparseCategoricalCrossentropy(dtype="float64")(ys, ps)))
    # mean_with_sample_weight with a scalar weight: the sum of the losses times w over w
    mw = losses.BinaryCrossentropy(reduction="mean_with_sample_weight")(torch.tensor(y), torch.tensor(p),
                                                                        sample_weight=0.5)
    kmw = keras.losses.BinaryCrossentropy(reduction="mean_with_sample_weight", dtype="float64")(y, p,
                                                                                                sample_weight=0.5)
    r3 = _rel(_np(mw), np.asarray(kmw))
    # an empty batch: Keras gives a (0,)-shaped result for sum_over_batch_size
    e = losses.CategoricalCrossentropy()(torch.zeros(0, 3, dtype=torch.float64), torch.zeros(0, 3, dtype=torch.float64))
    ke = keras.losses.CategoricalCrossentropy(dtype="float64")(np.zeros((0, 3)), np.zeros((0, 3)))
    print(f"(N,) vs (N,1) {r1:.1e}; (N,1) sparse labels {r2:.1e}; scalar-weight mean_with_sample_weight {r3:.1e}; "
          f"empty batch shapes ours {tuple(e.shape)} Keras {tuple(ke.shape)}")
    assert max(r1, r2, r3) <= 1e-12
    assert tuple(e.shape) == tuple(ke.shape)


def test_mixed_dtypes_ignore_class_masks_and_weight_gradients_like_keras():
    """dtype mixing (float32 predictions with float64 weights, float16 one-hot labels, uint8/int16/float labels),
    ``ignore_class`` under every reduction (also all ignored, and with (N, T) / (N, 1) / scalar weights), and the
    gradient with respect to the sample weights."""
    rng = np.random.default_rng(20)
    z32 = rng.normal(size=(6, 4)).astype(np.float32)
    ids = rng.integers(0, 4, 6)
    sw64 = rng.uniform(size=6)
    worst32, worst64 = -np.inf, 0.0
    got = losses.SparseCategoricalCrossentropy(from_logits=True)(torch.as_tensor(ids), torch.tensor(z32),
                                                                 sample_weight=torch.tensor(sw64))
    ref = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(ids, z32, sample_weight=sw64)
    assert got.dtype == torch.float32  # Keras: the loss's dtype, the weights cast to it
    worst32 = max(worst32, _f32_ok(_np(got), np.asarray(ref)))
    for tdt, ndt in ((torch.uint8, np.uint8), (torch.int16, np.int16), (torch.int32, np.int32),
                     (torch.float32, np.float32)):
        got = losses.SparseCategoricalCrossentropy(from_logits=True)(torch.as_tensor(ids).to(tdt), torch.tensor(z32))
        ref = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(ids.astype(ndt), z32)
        worst32 = max(worst32, _f32_ok(_np(got), np.asarray(ref)))
    y1 = np.eye(4)[ids]
    got = losses.CategoricalCrossentropy(from_logits=True)(torch.tensor(y1, dtype=torch.float16),
                                                           torch.tensor(z32, dtype=torch.float64))
    assert got.dtype == torch.float64
    ref = keras.losses.CategoricalCrossentropy(from_logits=True, dtype="float64")(y1.astype(np.float16),
                                                                                   z32.astype(F64))
    worst64 = max(worst64, _rel(_np(got), np.asarray(ref)))
    z64 = z32.astype(F64)
    yi = ids.copy()
    yi[[1, 3]] = -1
    for red in REDUCTIONS:
        for y_, ic in ((yi, -1), (np.full(6, 2), 2)):  # some ignored; all ignored
            got = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=ic, reduction=red)(
                torch.as_tensor(y_), torch.tensor(z64), sample_weight=torch.tensor(sw64))
            ref = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=ic, reduction=red,
                                                             dtype="float64")(y_, z64, sample_weight=sw64)
            assert tuple(got.shape) == tuple(np.shape(ref))
            worst64 = max(worst64, _rel(_np(got), np.asarray(ref)))
    zt = rng.normal(size=(3, 5, 4))
    yt = rng.integers(0, 4, (3, 5))
    yt[0, :2] = 3
    for w in (rng.uniform(size=(3, 1)), rng.uniform(size=(3, 5)), 1.7):
        got = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=3)(
            torch.as_tensor(yt), torch.tensor(zt), sample_weight=w if np.isscalar(w) else torch.tensor(w))
        ref = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=3, dtype="float64")(
            yt, zt, sample_weight=w)
        worst64 = max(worst64, _rel(_np(got), np.asarray(ref)))
    # gradient with respect to the sample weights
    swv = tf.Variable(sw64)
    with tf.GradientTape() as tape:
        lk = keras.losses.CategoricalCrossentropy(from_logits=True, dtype="float64")(y1, z64, sample_weight=swv)
    gk = tape.gradient(lk, swv).numpy()
    swt = torch.tensor(sw64, requires_grad=True)
    losses.CategoricalCrossentropy(from_logits=True)(torch.tensor(y1), torch.tensor(z64), sample_weight=swt).backward()
    rg = _rel(_np(swt.grad), gk)
    print(f"mixed dtypes: float32 |diff| - (1e-5|ref| + 1e-6) at most {worst32:.1e}; ignore_class / half labels float64 rel {worst64:.1e}; "
          f"d loss / d sample_weight rel {rg:.1e}")
    assert worst32 <= 0 and worst64 <= 1e-12 and rg <= 1e-10


def test_non_finite_logits_and_nan_weights_like_keras():
    """-inf / +inf logits (masked classes) and NaN sample weights: the same values, NaN and inf positions."""
    rng = np.random.default_rng(21)
    z = rng.normal(size=(4, 5))
    z[0, 1] = -np.inf
    z[1, :] = -np.inf
    z[2, 3] = np.inf
    y1 = np.eye(5)[[1, 2, 3, 0]]
    yb = (rng.uniform(size=(4, 5)) > 0.5).astype(F64)
    configs = [("CategoricalCrossentropy", y1), ("SparseCategoricalCrossentropy", np.array([1, 2, 3, 0])),
               ("CategoricalFocalCrossentropy", y1), ("BinaryCrossentropy", yb), ("BinaryFocalCrossentropy", yb)]
    worst = 0.0
    runs = [(n, y, z, None, None) for n, y in configs]
    sw = np.array([1.0, np.nan, 2.0, 0.0])
    zf = rng.normal(size=(4, 5))
    runs += [("CategoricalCrossentropy", y1, zf, sw, red) for red in ("sum_over_batch_size", "mean_with_sample_weight")]
    for name, y, zz, w, red in runs:
        kv, kg = _keras_value_grad(getattr(keras.losses, name)(from_logits=True, reduction=red, dtype="float64"), y, zz,
                                   sample_weight=w)
        tv, tg = _torch_value_grad(getattr(losses, name)(from_logits=True, reduction=red), y, zz,
                                   sample_weight=None if w is None else torch.tensor(w))
        for a, b in ((tv, kv), (tg, kg)):
            assert np.array_equal(np.isnan(a), np.isnan(b)), (name, a, b)
            assert np.array_equal(np.isposinf(a), np.isposinf(b)) and np.array_equal(np.isneginf(a), np.isneginf(b))
            fin = np.isfinite(b)
            if fin.any():
                worst = max(worst, _rel(a[fin], b[fin]))
    print(f"non-finite logits / NaN weights: NaN and inf positions equal, finite entries rel {worst:.1e}")
    assert worst <= 1e-12


def test_other_class_axes_like_keras():
    """axis=0, 1 and -2 on (A, B, C) inputs. Keras on TensorFlow raises for CategoricalCrossentropy from logits
    with a negative axis other than -1 (TensorFlow's ``softmax_cross_entropy_with_logits`` builds
    ``range(axis)``: tensorflow/python/ops/nn_ops.py:4135-4144, reached from
    keras/src/backend/tensorflow/nn.py:1364); torch_impl gives Keras's number for the same axis counted from the
    front. Not listed among the README's deliberate differences."""
    rng = np.random.default_rng(22)
    zz = rng.normal(size=(3, 5, 4))
    worst = 0.0
    for ax in (0, 1, -2):
        yy = np.moveaxis(np.eye(zz.shape[ax])[rng.integers(0, zz.shape[ax],
                                                           size=[s for i, s in enumerate(zz.shape) if i != ax % 3])],
                         -1, ax % 3)
        for name, kw in (("CategoricalCrossentropy", dict(from_logits=True)), ("CategoricalCrossentropy", {}),
                         ("CategoricalFocalCrossentropy", dict(from_logits=True)),
                         ("BinaryCrossentropy", dict(from_logits=True)),
                         ("BinaryFocalCrossentropy", dict(from_logits=True, apply_class_balancing=True))):
            p = zz if kw.get("from_logits") else np.abs(zz)
            kax = ax
            if name == "CategoricalCrossentropy" and kw and ax == -2:
                with pytest.raises(Exception, match="Requires start <= limit"):
                    keras.losses.CategoricalCrossentropy(axis=-2, dtype="float64", **kw)(yy, p)
                kax = 1
            kv, kg = _keras_value_grad(getattr(keras.losses, name)(axis=kax, reduction=None, dtype="float64", **kw),
                                       yy, p)
            tv, tg = _torch_value_grad(getattr(losses, name)(axis=ax, reduction=None, **kw), yy, p)
            worst = max(worst, _rel(tv, kv), _rel(tg, kg))
    print(f"class axis 0, 1, -2: worst rel (value or grad) {worst:.1e}")
    assert worst <= 1e-12


# ----------------------------------------------------------------------------------------------------------------
# 6. Torch-shaped inputs: (N, C, H, W) with axis=1, int64 labels, non-contiguous, devices, half types
# ----------------------------------------------------------------------------------------------------------------

def test_channels_first_categorical_and_binary_axis1_like_keras():
    rng = np.random.default_rng(6)
    z = rng.normal(size=(2, 4, 3, 5))  # (N, C, H, W)
    y = np.moveaxis(np.eye(4)[rng.integers(0, 4, size=(2, 3, 5))], -1, 1)
    cot = rng.normal(size=(2, 3, 5))
    kv, kg = _keras_value_grad(keras.losses.CategoricalCrossentropy(from_logits=True, axis=1, reduction=None,
                                                                    dtype="float64"), y, z, cot=cot)
    tv, tg = _torch_value_grad(losses.CategoricalCrossentropy(from_logits=True, axis=1, reduction=None), y, z, cot=cot)
    r_cce = max(_rel(tv, kv), _rel(tg, kg))
    yb = rng.integers(0, 2, size=(2, 4, 3, 5)).astype(F64)
    kv, kg = _keras_value_grad(keras.losses.BinaryCrossentropy(from_logits=True, axis=1, reduction=None,
                                                               dtype="float64"), yb, z, cot=cot)
    tv, tg = _torch_value_grad(losses.BinaryCrossentropy(from_logits=True, axis=1, reduction=None), yb, z, cot=cot)
    r_bce = max(_rel(tv, kv), _rel(tg, kg))
    print(f"(N, C, H, W), axis=1: CCE from logits {r_cce:.1e}, BCE from logits {r_bce:.1e}")
    assert tv.shape == (2, 3, 5)
    assert max(r_cce, r_bce) <= 1e-12


def test_channels_first_sparse_and_focal_axis1_equal_keras_channels_last():
    """Keras on TensorFlow rejects sparse CCE with axis=1: compare with its channels-last run (torch backend's)."""
    rng = np.random.default_rng(7)
    z = rng.normal(size=(2, 5, 4, 3))  # (N, C, H, W)
    lab = rng.integers(0, 5, size=(2, 4, 3))
    z_last = np.moveaxis(z, 1, -1)
    cot = rng.normal(size=(2, 4, 3))
    kv, kg = _keras_value_grad(keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None,
                                                                          dtype="float64"), lab, z_last, cot=cot)
    tv, tg = _torch_value_grad(losses.SparseCategoricalCrossentropy(from_logits=True, axis=1, reduction=None),
                               torch.as_tensor(lab, dtype=torch.int64), z, cot=cot)
    r_s = max(_rel(tv, kv), _rel(np.moveaxis(tg, 1, -1), kg))
    alpha = np.array([0.1, 0.2, 0.3, 0.25, 0.15])
    y1h = np.eye(5)[lab]
    kv, kg = _keras_value_grad(keras.losses.CategoricalFocalCrossentropy(alpha=alpha, from_logits=True,
                                                                         reduction=None, dtype="float64"),
                               y1h, z_last, cot=cot)
    tv, tg = _torch_value_grad(losses.CategoricalFocalCrossentropy(alpha=torch.tensor(alpha), from_logits=True,
                                                                   axis=1, reduction=None),
                               np.moveaxis(y1h, -1, 1), z, cot=cot)
    r_f = max(_rel(tv, kv), _rel(np.moveaxis(tg, 1, -1), kg))
    print(f"(N, C, H, W), axis=1 against Keras channels-last: sparse CCE {r_s:.1e}, per-class-alpha focal {r_f:.1e}")
    assert max(r_s, r_f) <= 1e-12


def test_int64_labels_requires_grad_non_contiguous_and_device():
    rng = np.random.default_rng(8)
    z = torch.tensor(rng.normal(size=(5, 12))).T  # (C, N) storage: a non-contiguous (N, C) view
    assert not z.is_contiguous()
    big = torch.as_tensor(rng.integers(0, 5, size=24), dtype=torch.int64)
    lab = big[::2]  # strided int64 labels
    assert not lab.is_contiguous() and lab.dtype == torch.int64
    swb = torch.tensor(rng.uniform(size=(12, 2)))
    sw = swb[:, 1]  # non-contiguous weights
    zl = z.detach().requires_grad_(True)  # still the transposed view
    assert not zl.is_contiguous()
    zc2 = z.detach().contiguous().clone().requires_grad_(True)
    fn = losses.SparseCategoricalCrossentropy(from_logits=True)
    a = fn(lab, zl, sample_weight=sw)
    b = fn(lab.contiguous(), zc2, sample_weight=sw.contiguous())
    a.backward()
    b.backward()
    assert a.device.type == "cpu" and zl.grad.device.type == "cpu"
    assert torch.equal(a, b) and torch.equal(zl.grad, zc2.grad)
    kv, kg = _keras_value_grad(keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64"),
                               lab.numpy(), zl.detach().numpy(), sample_weight=sw.numpy())
    r = max(_rel(_np(a), kv), _rel(_np(zl.grad), kg))
    # BCE with a non-contiguous probability view and bool labels
    pv = torch.tensor(rng.uniform(0.01, 0.99, size=(7, 6)))[:, ::2]
    yb = torch.as_tensor(rng.integers(0, 2, size=(7, 3))).bool()
    tb = losses.BinaryCrossentropy()(yb, pv)
    kb = keras.losses.BinaryCrossentropy(dtype="float64")(yb.numpy().astype(F64), pv.numpy())
    r2 = _rel(_np(tb), np.asarray(kb))
    print(f"int64 strided labels, transposed logits, strided weights: rel {r:.1e} (equal to contiguous); "
          f"bool labels + strided probabilities {r2:.1e}")
    assert max(r, r2) <= 1e-12


def _ulp(v: np.ndarray, mant: int, tiny: float) -> np.ndarray:
    v = np.abs(v)
    e = np.floor(np.log2(np.maximum(v, tiny)))
    return np.maximum(2.0 ** (e - mant), tiny)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["float16", "bfloat16"])
def test_half_inputs_compute_in_float32_like_keras(dtype):
    rng = np.random.default_rng(9)
    mant, tiny = (10, 2.0**-24) if dtype == torch.float16 else (7, 2.0**-133)
    cases = [
        ("SparseCategoricalCrossentropy", dict(from_logits=True), rng.integers(0, 6, size=16),
         rng.normal(scale=2, size=(16, 6))),
        ("CategoricalCrossentropy", dict(from_logits=True, label_smoothing=0.1),
         np.eye(6)[rng.integers(0, 6, size=16)], rng.normal(scale=2, size=(16, 6))),
        ("BinaryCrossentropy", {}, rng.integers(0, 2, size=(16, 3)).astype(F64), rng.uniform(0.05, 0.95, (16, 3))),
        ("BinaryFocalCrossentropy", dict(from_logits=True, apply_class_balancing=True),
         rng.integers(0, 2, size=(16, 3)).astype(F64), rng.normal(size=(16, 3))),
    ]
    worst_v, worst_d, worst_gulp = -np.inf, 0.0, 0.0
    for name, kw, y, p in cases:
        ph = torch.tensor(p, dtype=torch.float32).to(dtype).requires_grad_(True)
        v = getattr(losses, name)(**kw)(torch.as_tensor(y), ph)
        assert v.dtype in (torch.float32, dtype)
        v.backward()
        assert ph.grad.dtype == dtype
        p32 = ph.detach().float().numpy()  # the half values, exactly, in float32
        kv, kg = _keras_value_grad(getattr(keras.losses, name)(**kw), y.astype(np.int64) if "Sparse" in name
                                   else y.astype(np.float32), p32)
        worst_v = max(worst_v, _f32_ok(_np(v), kv))
        worst_d = max(worst_d, float(np.max(np.abs(_np(v) - kv))))
        kg_h = torch.tensor(kg).to(dtype).double().numpy()
        gulp = float(np.max(np.abs(_np(ph.grad) - kg_h) / _ulp(kg_h, mant, tiny)))
        worst_gulp = max(worst_gulp, gulp)
    print(f"{dtype}: value max abs diff to Keras float32 {worst_d:.1e}; gradient within {worst_gulp:.2f} ulp")
    assert worst_v <= 0 and worst_gulp <= 1.0


# ----------------------------------------------------------------------------------------------------------------
# 7. Gradients: clipping, double backward, vmap(grad)
# ----------------------------------------------------------------------------------------------------------------

def test_gradients_with_clipped_probabilities_and_zero_gradient_sets():
    """Probabilities at 0, 1 and just inside the clip: the same values, gradients and zero-gradient entries."""
    rng = np.random.default_rng(10)
    p = rng.dirichlet(np.ones(4), size=8)
    p[0] = [0.0, 1.0, 0.0, 0.0]
    p[1] = [1e-9, 1 - 1e-9, 0.0, 0.0]
    p[2] = [0.5, 0.5 - 5e-8, 5e-8, 0.0]
    ids = rng.integers(0, 4, size=8)
    ids[:3] = [1, 0, 2]
    y = np.eye(4)[ids]
    pb = rng.uniform(size=(8, 4))
    pb[0] = [0.0, 1.0, 1e-8, 1 - 1e-8]
    yb = rng.integers(0, 2, size=(8, 4)).astype(F64)
    configs = [
        ("CategoricalCrossentropy", {}, y, p),
        ("CategoricalCrossentropy", dict(label_smoothing=0.2), y, p),
        ("SparseCategoricalCrossentropy", {}, ids, p),
        ("CategoricalFocalCrossentropy", {}, y, p),
        ("BinaryCrossentropy", {}, yb, pb),
        ("BinaryFocalCrossentropy", dict(gamma=2.0), yb, pb),
    ]
    worst_v = worst_g = 0.0
    for name, kw, yy, pp in configs:
        kv, kg = _keras_value_grad(getattr(keras.losses, name)(dtype="float64", **kw), yy, pp)
        tv, tg = _torch_value_grad(getattr(losses, name)(**kw), yy, pp)
        worst_v, worst_g = max(worst_v, _rel(tv, kv)), max(worst_g, _rel(tg, kg))
        zk, zt = kg == 0, tg == 0
        assert np.array_equal(zk, zt), (name, kw, np.argwhere(zk != zt))
        assert zk.any(), name  # the clip really is hit
    print(f"clipped probabilities, 6 losses: value rel {worst_v:.1e}, grad rel {worst_g:.1e}, zero sets equal")
    assert worst_v <= 1e-12 and worst_g <= 1e-10


def _tf_hvp(fn, y, z, v):
    zv = tf.Variable(z)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            loss = fn(tf.constant(y), zv)
        g = inner.gradient(loss, zv)
        gv = tf.reduce_sum(g * tf.constant(v))
    return g.numpy(), outer.gradient(gv, zv).numpy()


def _torch_hvp(fn, y, z, v):
    zt = torch.tensor(z, requires_grad=True)
    loss = fn(torch.as_tensor(y), zt)
    (g,) = torch.autograd.grad(loss, zt, create_graph=True)
    (h,) = torch.autograd.grad((g * torch.tensor(v)).sum(), zt)
    return g.detach().numpy(), h.numpy()


@pytest.mark.parametrize("name,kw,kind", [
    ("CategoricalCrossentropy", dict(from_logits=True), "onehot"),
    ("CategoricalCrossentropy", dict(from_logits=False), "onehot"),
    ("BinaryCrossentropy", dict(from_logits=True, label_smoothing=0.1), "binary"),
    ("BinaryFocalCrossentropy", dict(from_logits=True, gamma=2.0, apply_class_balancing=True), "binary"),
    ("CategoricalFocalCrossentropy", dict(from_logits=True, gamma=2.0), "onehot"),
])
def test_double_backward_hessian_vector_product_like_tensorflow(name, kw, kind):
    rng = np.random.default_rng(11)
    if kw.get("from_logits"):
        z = rng.normal(size=(5, 4))
    else:
        z = rng.dirichlet(np.ones(4), size=5)
    y = np.eye(4)[rng.integers(0, 4, size=5)] if kind == "onehot" else rng.integers(0, 2, (5, 4)).astype(F64)
    v = rng.normal(size=(5, 4))
    kg, kh = _tf_hvp(getattr(keras.losses, name)(dtype="float64", **kw), y, z, v)
    tg, th = _torch_hvp(getattr(losses, name)(**kw), y, z, v)
    rg, rh = _rel(tg, kg), _rel(th, kh)
    print(f"{name}{kw}: gradient rel {rg:.1e}, Hessian-vector product rel {rh:.1e}")
    assert rg <= 1e-10 and rh <= 1e-10


def test_sparse_double_backward_against_analytic_hessian():
    """TensorFlow's sparse softmax crossentropy has no second derivative; the analytic one is the oracle."""
    rng = np.random.default_rng(12)
    z = rng.normal(size=(6, 5))
    lab = rng.integers(0, 5, size=6)
    v = rng.normal(size=(6, 5))
    _, th = _torch_hvp(losses.SparseCategoricalCrossentropy(from_logits=True), lab, z, v)
    pr = np.exp(z - z.max(1, keepdims=True))
    pr /= pr.sum(1, keepdims=True)
    ref = (pr * v - pr * np.sum(pr * v, 1, keepdims=True)) / 6  # (diag(p) - p p^T) v / N
    r = _rel(th, ref)
    print(f"sparse CCE from logits, Hessian-vector product vs analytic: rel {r:.1e}")
    assert r <= 1e-10


@pytest.mark.slow
def test_vmap_grad_per_sample_gradients_like_keras():
    rng = np.random.default_rng(13)
    z = torch.tensor(rng.normal(size=(7, 4)))
    y = torch.as_tensor(rng.integers(0, 4, size=7), dtype=torch.int64)
    loss_fn = losses.SparseCategoricalCrossentropy(from_logits=True)
    per = torch.func.vmap(torch.func.grad(lambda zz, t: loss_fn(t[None], zz[None])))(z, y)
    _, kg = _keras_value_grad(keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None,
                                                                         dtype="float64"), y.numpy(), z.numpy())
    r = _rel(_np(per), kg)  # rows are independent: the per-sample gradients are the rows of d(sum)/dz
    print(f"vmap(grad) per-sample gradients of sparse CCE vs Keras: rel {r:.1e}")
    assert r <= 1e-10


# ----------------------------------------------------------------------------------------------------------------
# 8. Optimizers: 5 steps on a small model against Keras's
# ----------------------------------------------------------------------------------------------------------------

def _keras_mlp(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((4,), dtype="float64"), keras.layers.Dense(8, activation="tanh",
                                                                                  dtype="float64"),
                             keras.layers.Dense(3, dtype="float64")])


def _torch_mlp(kmodel):
    from torch_impl.nn import load_keras_weights

    m = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
    load_keras_weights(m, kmodel.get_weights())
    return m


@pytest.mark.parametrize("opt_name,kw", [
    ("Adam", dict(learning_rate=0.01)),
    pytest.param("Adam", dict(learning_rate=0.05, beta_1=0.8, beta_2=0.95, epsilon=1e-3, amsgrad=True),
                 marks=pytest.mark.slow),
    pytest.param("AdamW", dict(learning_rate=0.02, weight_decay=0.05), marks=pytest.mark.slow),
    pytest.param("SGD", dict(learning_rate=0.1, momentum=0.9, nesterov=True), marks=pytest.mark.slow),
    pytest.param("SGD", dict(learning_rate=0.3), marks=pytest.mark.slow),
])
def test_optimizer_five_steps_like_keras(opt_name, kw):
    rng = np.random.default_rng(14)
    x = rng.normal(size=(10, 4))
    y = rng.integers(0, 3, size=10)
    km = _keras_mlp()
    tm = _torch_mlp(km)
    kl = keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")
    tl = losses.SparseCategoricalCrossentropy(from_logits=True)
    kopt = getattr(keras.optimizers, opt_name)(**kw)
    topt = getattr(optim, opt_name)(tm.parameters(), **kw)
    xt, yt = torch.tensor(x), torch.as_tensor(y)
    worst = 0.0
    for _ in range(5):
        with tf.GradientTape() as tape:
            lk = kl(y, km(x))
        kopt.apply_gradients(zip(tape.gradient(lk, km.trainable_variables), km.trainable_variables))
        topt.zero_grad()
        lt = tl(yt, tm(xt))
        lt.backward()
        topt.step()
        worst = max(worst, _rel(_np(lt), lk.numpy()))
        kw_ = km.get_weights()
        tw = [tm[0].weight.T, tm[0].bias, tm[2].weight.T, tm[2].bias]
        for a, b in zip(tw, kw_):
            worst = max(worst, _rel(_np(a), b))
    print(f"{opt_name}{kw}: 5 steps, worst rel (loss or weight) {worst:.1e}")
    assert worst <= 1e-12


# ----------------------------------------------------------------------------------------------------------------
# 9. fit against keras.Model.fit
# ----------------------------------------------------------------------------------------------------------------

def _fit_pair(loss_k, loss_t, y, class_weight=None, epochs=3, shuffle=False, seed=None, out_act="softmax",
              units=3, metrics=("accuracy",), validation=True, dtype="float64", tensors=False):
    from torch_impl import fit
    from torch_impl.nn import build_model, load_keras_weights

    rng = np.random.default_rng(15)
    x = rng.normal(size=(50, 5)).astype(dtype)
    xv = rng.normal(size=(20, 5)).astype(dtype)
    yv = y[-20:]
    from keras.src.backend.common import global_state

    old_floatx, old_default = keras.backend.floatx(), torch.get_default_dtype()
    old_policy = global_state.get_global_attribute("dtype_policy")  # None after clear_session: Sequential pins it
    keras.backend.set_floatx(dtype)
    torch.set_default_dtype(getattr(torch, dtype))
    try:
        keras.utils.set_random_seed(seed or 0)
        # explicit layer dtypes: Keras caches its global dtype policy at the first layer made
        # (keras/src/dtype_policies/dtype_policy.py:577-583), so set_floatx alone leaves later layers float32
        km = keras.Sequential([keras.Input((5,), dtype=dtype),
                               keras.layers.Dense(16, activation="relu", dtype=dtype),
                               keras.layers.Dense(units, activation=out_act, dtype=dtype)])
        assert all(w.dtype == np.dtype(dtype) for w in km.get_weights())
        km.compile(optimizer=keras.optimizers.Adam(0.02), loss=loss_k, metrics=list(metrics))
        spec = {"input_dim": 5, "layers": [{"type": "dense", "units": 16, "activation": "relu"},
                                           {"type": "dense", "units": units, "activation": out_act}]}
        tm = build_model(spec, dtype=getattr(torch, dtype))
        w0 = km.get_weights()
        load_keras_weights(tm, w0)
        val = (xv, yv) if validation else None
        kh = km.fit(x, y[:50], batch_size=16, epochs=epochs, shuffle=shuffle, class_weight=class_weight,
                    validation_data=val, verbose=0).history
        th = fit.fit(tm, x, y[:50], loss=loss_t, optimizer=optim.Adam(tm.parameters(), learning_rate=0.02),
                     batch_size=16, epochs=epochs, shuffle=shuffle, seed=seed, class_weight=class_weight,
                     validation_data=val, metrics=list(metrics), verbose=0).history
        if tensors:  # what a torch user passes: tensors, int64 labels, a non-contiguous x; the same history
            tm2 = load_keras_weights(build_model(spec, dtype=getattr(torch, dtype)), w0)
            xt = torch.tensor(x).T.contiguous().T
            assert not xt.is_contiguous()
            th2 = fit.fit(tm2, xt, torch.as_tensor(y[:50]), loss=loss_t,
                          optimizer=optim.Adam(tm2.parameters(), learning_rate=0.02), batch_size=16, epochs=epochs,
                          shuffle=shuffle, seed=seed, class_weight=class_weight, validation_data=val,
                          metrics=list(metrics), verbose=0).history
            assert th2 == th, (th2, th)
    finally:
        keras.backend.set_floatx(old_floatx)
        global_state.set_global_attribute("dtype_policy", old_policy)
        torch.set_default_dtype(old_default)
    assert sorted(kh) == sorted(th), (sorted(kh), sorted(th))
    per_key = {k: _rel(th[k], kh[k]) if max(np.abs(kh[k])) > 0 else float(np.max(np.abs(th[k]))) for k in kh}
    print("per key:", {k: f"{v:.1e}" for k, v in per_key.items()})
    return kh, th, max(per_key.values()), (km, tm, xv)


def test_fit_history_like_keras_with_class_weight():
    rng = np.random.default_rng(16)
    y = rng.choice(3, size=70, p=[0.7, 0.2, 0.1])
    kh, th, worst, _ = _fit_pair("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy(), y,
                                 class_weight={0: 0.5, 1: 2.0, 2: 4.0}, tensors=True)
    print(f"fit vs keras.Model.fit (float64, sparse CCE, softmax output, class_weight): keys {sorted(kh)}, "
          f"worst rel {worst:.1e}; Keras loss {np.round(kh['loss'], 6).tolist()}")
    assert worst <= 1e-8


@pytest.mark.slow
def test_fit_history_like_keras_shuffled_binary_focal():
    rng = np.random.default_rng(17)
    y = rng.integers(0, 2, size=(70, 1)).astype(F64)
    kh, th, worst, _ = _fit_pair(keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=1.5,
                                                                      dtype="float64"),
                                 losses.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=1.5), y,
                                 class_weight={0: 1.0, 1: 3.0}, epochs=4, shuffle=True, seed=5, out_act="sigmoid",
                                 units=1)
    print(f"fit vs keras.Model.fit (float64, binary focal, sigmoid, shuffle with seed): worst rel {worst:.1e}")
    assert worst <= 1e-8


@pytest.mark.slow
def test_fit_float32_history_and_predictions_like_keras():
    """float32 (Keras's default floatx): DESIGN.md's float32 standard, the same predicted classes."""
    rng = np.random.default_rng(24)
    y = np.eye(3)[rng.choice(3, size=70, p=[0.6, 0.3, 0.1])]
    kh, th, worst, (km, tm, xv) = _fit_pair(keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
                                            losses.CategoricalCrossentropy(label_smoothing=0.1), y,
                                            class_weight={0: 1.0, 1: 2.0, 2: 6.0}, epochs=4, dtype="float32")
    kp = km.predict(xv, verbose=0)
    with torch.no_grad():
        tp = torch.softmax(tm(torch.tensor(xv)), -1).numpy()
    print(f"fit vs keras.Model.fit (float32, CCE + label smoothing, class_weight): worst rel {worst:.1e}; "
          f"predictions max abs diff {np.max(np.abs(tp - kp)):.1e}")
    assert worst <= 1e-5
    assert np.array_equal(np.argmax(tp, -1), np.argmax(kp, -1))


@pytest.mark.slow
def test_torch_compile_fullgraph_matches_eager():
    rng = np.random.default_rng(18)
    z = torch.tensor(rng.normal(size=(9, 5)), requires_grad=True)
    y = torch.as_tensor(rng.integers(0, 5, size=9))
    fn = losses.SparseCategoricalCrossentropy(from_logits=True)
    cf = torch.compile(lambda a, b: fn(a, b), fullgraph=True)
    v1 = cf(y, z)
    (g1,) = torch.autograd.grad(v1, z)
    v2 = fn(y, z)
    (g2,) = torch.autograd.grad(v2, z)
    r = max(_rel(_np(v1), _np(v2)), _rel(_np(g1), _np(g2)))
    print(f"torch.compile(fullgraph=True) vs eager: rel {r:.1e}")
    assert r <= 1e-12


# ----------------------------------------------------------------------------------------------------------------
# 10. Errors and NaN handling
# ----------------------------------------------------------------------------------------------------------------

def test_bad_sparse_labels_raise_value_error_naming_the_label():
    p = torch.softmax(torch.randn(4, 3, dtype=torch.float64), -1)
    fn = losses.SparseCategoricalCrossentropy()
    with pytest.raises(ValueError, match="7"):
        fn(torch.tensor([0, 1, 7, 2]), p)
    with pytest.raises(ValueError, match="-1"):
        fn(torch.tensor([0, -1, 1, 2]), p)
    with pytest.raises(ValueError):
        fn(torch.tensor([0.0, 1.5, 1.0, 2.0]), p)  # not integral
    # ignore_class=-1 masks instead, as Keras
    y = np.array([0, -1, 1, 2])
    got = losses.SparseCategoricalCrossentropy(ignore_class=-1)(torch.as_tensor(y), p)
    ref = keras.losses.SparseCategoricalCrossentropy(ignore_class=-1, dtype="float64")(y, p.numpy())
    r = _rel(_np(got), np.asarray(ref))
    print(f"ignore_class=-1 vs Keras: rel {r:.1e}")
    assert r <= 1e-12


def test_swapped_label_forms_and_shape_errors():
    p = torch.softmax(torch.randn(4, 3, dtype=torch.float64), -1)
    # torch's argument order (input, target) given to a Keras-order loss: a warning at the caller's line
    with pytest.warns(UserWarning, match="swapped") as rec:
        with pytest.raises(ValueError):
            losses.SparseCategoricalCrossentropy(from_logits=True)(p, torch.tensor([0, 1, 2, 1]))
    assert rec[0].filename == __file__
    with pytest.raises(ValueError, match="SparseCategoricalCrossentropy"):
        losses.CategoricalCrossentropy()(torch.tensor([0, 1, 2, 1]), p)  # integer labels to CCE
    with pytest.raises(ValueError, match="CategoricalCrossentropy"):
        losses.SparseCategoricalCrossentropy()(torch.eye(3, dtype=torch.float64)[[0, 1, 2, 1]], p)  # one-hot to SCCE
    y_wrong = np.eye(4)[[0, 1, 2, 1]]
    with pytest.raises(ValueError):
        keras.losses.CategoricalCrossentropy()(y_wrong, p.numpy())
    with pytest.raises(ValueError):
        losses.CategoricalCrossentropy()(torch.tensor(y_wrong), p)  # (4, 4) against (4, 3)
    with pytest.raises(ValueError):
        losses.CategoricalFocalCrossentropy()(torch.tensor([[0.0], [1.0], [2.0], [1.0]]), p)
    with pytest.raises((ValueError, RuntimeError)):
        losses.CategoricalCrossentropy()(torch.eye(3, dtype=torch.float64)[[0, 1, 2, 1]], p,
                                         sample_weight=torch.ones(3, dtype=torch.float64))


def test_bad_options_and_class_weights_raise():
    with pytest.raises(ValueError):
        losses.CategoricalCrossentropy(label_smoothing=1.5)
    with pytest.raises(ValueError):
        losses.BinaryFocalCrossentropy(gamma=-1.0)
    with pytest.raises(ValueError):
        class_weight_to_sample_weight(np.array([0, 1, 1]), {"a": 2.0})
    with pytest.raises(ValueError):
        class_weight_to_sample_weight(np.array([0, 1, 1]), {0: float("nan")})
    with pytest.raises(ValueError):
        class_weight_to_sample_weight(np.array([0, 1, 1]), {1.5: 2.0})
    # "2" still means class 2, as Keras's int() cast
    sw = class_weight_to_sample_weight(np.array([0, 2, 1]), {"2": 5.0})
    assert _np(sw).tolist() == [1.0, 5.0, 1.0]


def test_nan_inputs_propagate_at_keras_positions():
    rng = np.random.default_rng(19)
    z = rng.normal(size=(5, 4))
    z[1, 2] = np.nan
    p = rng.uniform(0.05, 0.95, size=(5, 4))
    p[3, 0] = np.nan
    yb = rng.integers(0, 2, size=(5, 4)).astype(F64)
    y1 = np.eye(4)[rng.integers(0, 4, size=5)]
    ids = rng.integers(0, 4, size=5)
    configs = [
        ("CategoricalCrossentropy", dict(from_logits=True), y1, z),
        ("SparseCategoricalCrossentropy", dict(from_logits=True), ids, z),
        ("BinaryCrossentropy", dict(from_logits=True), yb, z),
        ("BinaryCrossentropy", {}, yb, p),
        ("CategoricalCrossentropy", {}, y1, p),
        ("BinaryFocalCrossentropy", dict(from_logits=True), yb, z),
    ]
    for name, kw, yy, pp in configs:
        kv, kg = _keras_value_grad(getattr(keras.losses, name)(reduction=None, dtype="float64", **kw), yy, pp)
        tv, tg = _torch_value_grad(getattr(losses, name)(reduction=None, **kw), yy, pp)
        assert np.array_equal(np.isnan(tv), np.isnan(kv)), (name, kw, tv, kv)
        assert np.array_equal(np.isnan(tg), np.isnan(kg)), (name, kw)
        ok = ~np.isnan(kv)
        r = _rel(tv[ok], kv[ok])
        print(f"NaN input, {name}{kw}: NaN rows ours {np.flatnonzero(np.isnan(tv)).tolist()}, Keras "
              f"{np.flatnonzero(np.isnan(kv)).tolist()}; gradient NaN count {int(np.isnan(tg).sum())} / "
              f"{int(np.isnan(kg).sum())}; other rows rel {r:.1e}")
        assert r <= 1e-12


def test_losses_get_and_config_round_trip_like_keras():
    y, p = np.asarray(_CCE_Y, dtype=F64), np.asarray(_CCE_P, dtype=F64)
    f = losses.get("categorical_crossentropy")
    assert _rel(_np(f(torch.tensor(y), torch.tensor(p))), np.asarray(keras.losses.categorical_crossentropy(y, p))) \
        <= 1e-12
    kl = keras.losses.CategoricalFocalCrossentropy(alpha=0.3, gamma=1.5, label_smoothing=0.1, reduction="sum")
    ours = losses.get(keras.losses.serialize(kl))
    assert isinstance(ours, losses.CategoricalFocalCrossentropy)
    cfg = ours.get_config()
    kcfg = kl.get_config()
    for k in ("alpha", "gamma", "label_smoothing", "reduction", "from_logits", "axis"):
        assert cfg[k] == kcfg[k], (k, cfg[k], kcfg[k])
    kv = keras.losses.CategoricalFocalCrossentropy(alpha=0.3, gamma=1.5, label_smoothing=0.1, reduction="sum",
                                                   dtype="float64")(y, p)
    r = _rel(_np(ours(torch.tensor(y), torch.tensor(p))), np.asarray(kv))
    print(f"losses.get(keras.losses.serialize(...)): config keys equal, value rel {r:.1e}")
    assert r <= 1e-12
    assert math.isfinite(float(ours(torch.tensor(y), torch.tensor(p))))


def test_custom_losses_wrapper_subclass_and_make_like_keras():
    """``LossFunctionWrapper(fn)``, a ``Loss`` subclass with ``call`` and ``losses.make(name, ...)``: Keras's sample
    weights and reductions applied to the per-sample values."""
    from keras.src.losses.losses import LossFunctionWrapper as KerasWrapper  # not exported as keras.losses.*

    rng = np.random.default_rng(23)
    y = rng.normal(size=(6, 3))
    p = rng.normal(size=(6, 3))
    w = rng.uniform(size=(6, 1))

    def k_fn(yt, yp):
        return keras.ops.mean(keras.ops.abs(yt - yp) ** 1.5, axis=-1)

    def t_fn(yt, yp):
        return torch.mean(torch.abs(yt - yp) ** 1.5, dim=-1)

    class KLoss(keras.losses.Loss):
        def call(self, yt, yp):
            return keras.ops.sum(keras.ops.square(yt - yp), axis=-1)

    class TLoss(losses.Loss):
        def call(self, yt, yp):
            return torch.sum(torch.square(yt - yp), dim=-1)

    worst = 0.0
    for red in ("sum_over_batch_size", "sum", "mean_with_sample_weight", None):
        kv, kg = _keras_value_grad(KerasWrapper(k_fn, reduction=red, dtype="float64"), y, p,
                                   sample_weight=w)
        tv, tg = _torch_value_grad(losses.LossFunctionWrapper(t_fn, reduction=red), y, p,
                                   sample_weight=torch.tensor(w))
        worst = max(worst, _rel(tv, kv), _rel(tg, kg))
        kv, kg = _keras_value_grad(KLoss(reduction=red, dtype="float64"), y, p, sample_weight=w)
        tv, tg = _torch_value_grad(TLoss(reduction=red), y, p, sample_weight=torch.tensor(w))
        worst = max(worst, _rel(tv, kv), _rel(tg, kg))
    yl = np.eye(3)[rng.integers(0, 3, 6)]
    made = losses.make("categorical_crossentropy", from_logits=True, label_smoothing=0.1)
    ref = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1, dtype="float64")(yl, p)
    worst = max(worst, _rel(_np(made(torch.tensor(yl), torch.tensor(p))), np.asarray(ref)))
    print(f"LossFunctionWrapper, Loss subclass (4 reductions, (N, 1) weights), make(): worst rel {worst:.1e}")
    assert worst <= 1e-12

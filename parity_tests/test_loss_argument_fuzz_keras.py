"""Loss-argument fuzz against Keras 3.15.1 (TensorFlow backend, same process).

Hypothesis (derandomized, a bounded number of examples) draws, for every loss of ``torch_impl.losses`` that has a
Keras counterpart, the class or its functional form, random constructor and call arguments Keras accepts
(``reduction``, ``from_logits``, ``label_smoothing``, ``axis``, ``ignore_class``, ``alpha``/``gamma``/
``apply_class_balancing``, ``delta``, ``q``, ``dtype=``...) and the inputs users pass (ranks 1 to 4, ``y_true`` of
``y_pred``'s rank, one less or one more, integer and boolean labels, saturated probabilities, sample weights
scalar / ``(N,)`` / ``(N, 1)`` / per-timestep / full / zero, float32 and float64), and compares the value and the
gradient w.r.t. ``y_pred`` with Keras's: float64 within 1e-12 (values) and 1e-10 (gradients) relative, float32
within rtol 1e-5 / atol 1e-6, the same set of zero gradients (DESIGN.md's parity standards; a float32 case
outside them passes only if torch_impl is no further from the float64 truth than twice Keras's own float32 error,
and the counts of such cases are printed; Circle's float32 gradients are held to 1e-5 of their largest entry, as
in test_losses_rest_keras.py). Where Keras raises, torch_impl must raise too. The cases where torch_impl
deliberately differs (README, "Where we deliberately differ from Keras 3.15.1") are not drawn; a from-logits
categorical crossentropy with a negative ``axis`` other than -1, which TensorFlow refuses, is compared with Keras
given the same axis counted from the front. Each test prints the largest differences it asserted.

What it found (tests at the end): torch's float32 CTC gradient (now computed in float64); TensorFlow's CTC capped
near 707; TensorFlow's refusal of negative class axes with ``from_logits``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pytest
import torch

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from keras_impl.losses import with_upstream_fixes  # noqa: E402
from torch_impl import losses as L  # noqa: E402
from torch_impl.reduction import reduce_weighted_values  # noqa: E402

pytestmark = pytest.mark.keras

_NP = {"float32": np.float32, "float64": np.float64}
_REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", None, "none")

# class name -> (functional name, family)
LOSSES = {
    "CategoricalCrossentropy": ("categorical_crossentropy", "categorical"),
    "CategoricalFocalCrossentropy": ("categorical_focal_crossentropy", "categorical"),
    "SparseCategoricalCrossentropy": ("sparse_categorical_crossentropy", "sparse"),
    "BinaryCrossentropy": ("binary_crossentropy", "binary"),
    "BinaryFocalCrossentropy": ("binary_focal_crossentropy", "binary"),
    "MeanSquaredError": ("mean_squared_error", "regression"),
    "MeanAbsoluteError": ("mean_absolute_error", "regression"),
    "MeanAbsolutePercentageError": ("mean_absolute_percentage_error", "regression"),
    "MeanSquaredLogarithmicError": ("mean_squared_logarithmic_error", "regression"),
    "LogCosh": ("log_cosh", "regression"),
    "Huber": ("huber", "regression"),
    "CosineSimilarity": ("cosine_similarity", "regression"),
    "Hinge": ("hinge", "hinge"),
    "SquaredHinge": ("squared_hinge", "hinge"),
    "CategoricalHinge": ("categorical_hinge", "categorical"),
    "KLDivergence": ("kl_divergence", "probability"),
    "Poisson": ("poisson", "rate"),
    "Dice": ("dice", "segmentation"),
    "Tversky": ("tversky", "segmentation"),
    "CategoricalGeneralizedCrossEntropy": ("categorical_generalized_cross_entropy", "cgce"),
    "CTC": ("ctc", "ctc"),
    "Circle": ("circle", "circle"),
}


@dataclass
class Case:
    name: str
    form: str  # "class" or "function"
    dtype: str  # the inputs' float dtype
    y_true: np.ndarray
    y_pred: np.ndarray
    kwargs: dict = field(default_factory=dict)  # constructor / function arguments
    reduction: Any = "sum_over_batch_size"
    sample_weight: Any = None
    loss_dtype: Optional[str] = None  # torch_impl's dtype= (None: the inputs' dtype)
    mask: Optional[np.ndarray] = None  # a Keras mask carried by y_pred (``_keras_mask``), e.g. from padding

    def describe(self) -> str:
        sw = self.sample_weight
        sw = None if sw is None else (sw if np.isscalar(sw) else f"{np.asarray(sw).dtype}{np.shape(sw)}")
        return (f"{self.name}[{self.form}] {self.dtype} y_true {self.y_true.dtype}{self.y_true.shape} "
                f"y_pred {self.y_pred.shape} kwargs={self.kwargs} reduction={self.reduction!r} sw={sw} "
                f"dtype={self.loss_dtype!r}" + ("" if self.mask is None else f" mask{self.mask.shape}"))


# --------------------------------------------------------------------------------------------- drawing cases


class _Draw:
    """The choices of one case: Hypothesis's ``data.draw`` for the structure, a NumPy generator (seeded by a drawn
    integer) for the numbers."""

    def __init__(self, data):
        self.data = data
        self.rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))

    def pick(self, options, label=None):
        return self.data.draw(st.sampled_from(list(options)), label=label)

    def int(self, lo, hi, label=None):
        return self.data.draw(st.integers(lo, hi), label=label)

    def flag(self, label=None):
        return self.data.draw(st.booleans(), label=label)


def _shape(d: _Draw, rank: int) -> tuple:
    n = d.pick((1, 2, 3, 4, 1, 2, 3, 4) + ((0,) if rank > 1 else ()), "N")  # sometimes an empty batch
    return tuple(n if i == 0 else d.pick((1, 2, 3, 4)) for i in range(rank))


def _saturate(d: _Draw, p: np.ndarray, dtype) -> np.ndarray:
    """Put a few exact 0s, 1s and clip boundaries into probabilities ``p``."""
    if d.flag("saturate"):
        special = np.array([0.0, 1.0, 1e-7, 1 - 1e-7, 1e-9, 1 - 1e-9, 0.5], dtype)
        hit = d.rng.random(p.shape) < 0.3
        p = np.where(hit, d.rng.choice(special, p.shape), p)
    return p.astype(dtype)


def _probs(d: _Draw, shape, axis, dtype, normalized=True):
    z = d.rng.normal(size=shape) * d.pick((1.0, 4.0))
    if z.size == 0:
        return z.astype(dtype)
    if normalized:
        e = np.exp(z - z.max(axis=axis, keepdims=True))
        p = e / e.sum(axis=axis, keepdims=True)
    else:
        p = d.rng.random(shape)
    return _saturate(d, p, dtype)


def _logits(d: _Draw, shape, dtype):
    scale = d.pick((1.0, 5.0, 40.0, 1e3))
    return (d.rng.normal(size=shape) * scale).astype(dtype)


def _label_dtype(d: _Draw, dtype):
    return d.pick((dtype, dtype, "float64", "int32", "int64", "bool"), "label dtype")  # float64 labels: NumPy's


def _rank_variant(d: _Draw, y_true: np.ndarray, y_pred_shape: tuple, allow_drop=True) -> np.ndarray:
    """``y_true`` of ``y_pred``'s rank, or with a trailing 1 added, or (when ``y_pred`` ends in 1) dropped: the
    ranks Keras squeezes or expands."""
    v = d.pick(("same", "same", "plus1", "minus1") if allow_drop else ("same", "same", "plus1"), "rank variant")
    if v == "plus1":
        return y_true[..., None]
    if v == "minus1" and y_pred_shape[-1] == 1 and len(y_pred_shape) >= 2:
        return y_true[..., 0]
    return y_true


def _categorical(d: _Draw, name: str, dtype: str, form_fn: bool) -> tuple:
    rank = d.int(1, 4, "rank")
    shape = _shape(d, rank)
    if name == "CategoricalHinge" and shape[0] == 0:
        # Keras's ops.max refuses the empty batch; torch_impl returns (0,) as for every loss (a listed difference,
        # parity_tests/test_blind_audit_round3_keras.py)
        shape = (1,) + shape[1:]
    if name != "CategoricalHinge" and rank >= 2 and shape[-1] > 1 and d.flag("channels first"):
        axis = d.pick((1, 1 - rank) if rank > 1 else (0,), "axis")
    else:
        axis = d.pick((-1, rank - 1, -1, rank - 1, rank, -rank - 1), "axis")  # out of range: both raise
    ax = axis if name != "CategoricalHinge" and -rank <= axis < rank else -1  # the labels' class axis
    kw: dict = {}
    if name != "CategoricalHinge":
        kw["axis"] = axis
        kw["from_logits"] = d.flag("from_logits")
        last = ax % rank == rank - 1
        # label smoothing or per-class alpha with `axis` not the last: a deliberate difference (README)
        if last or shape[-1] == shape[ax]:
            kw["label_smoothing"] = d.pick((0.0, 0.0, 0.1, 0.5, 1.0, np.float32(0.1)), "label_smoothing")
    if name == "CategoricalFocalCrossentropy":
        kw["gamma"] = d.pick((0.0, 1.0, 2.0, 2.5), "gamma")
        alphas = [0.25, 0.5, 1.0]
        if ax % rank == rank - 1:
            alphas.append("per_class")
        a = d.pick(alphas, "alpha")
        if a == "per_class":
            a = [float(x) for x in d.rng.uniform(0.1, 1.0, shape[ax]).round(3)]
            a = d.pick((a, tuple(a), np.asarray(a, dtype)), "alpha container")
        kw["alpha"] = a
    c = shape[ax]
    ids = d.rng.integers(0, c, shape[:ax % rank] + shape[ax % rank + 1:])
    one_hot = np.moveaxis(np.eye(c)[ids], -1, ax % rank)
    form = d.pick(("one_hot", "one_hot", "soft", "sparse_labels"), "labels")
    if form == "soft":
        y = _probs(d, shape, ax, np.float64)
        y_true = y.astype(dtype)
    elif form == "sparse_labels" and c > 1 and ax % rank == rank - 1 and name != "CategoricalFocalCrossentropy":
        # (categorical focal broadcasts such labels in Keras where the sizes allow: a deliberate difference)
        y_true = ids.astype("int64")  # an error in Keras (shapes differ)
    else:
        y_true = one_hot.astype(_label_dtype(d, dtype))
        if not (form_fn and name == "CategoricalFocalCrossentropy"):  # its function broadcasts (deliberate)
            y_true = _rank_variant(d, y_true, shape)
    if rank == 1 and y_true.ndim == 2 and name != "CategoricalHinge":
        # the class expands y_pred to (N, 1), whose last axis is not `axis` 0 and has one class: label smoothing
        # and per-class alpha then meet the deliberate differences (README)
        kw["label_smoothing"] = kw["label_smoothing"] if axis == -1 else 0.0
        kw["alpha"] = 0.25 if isinstance(kw.get("alpha"), (list, tuple, np.ndarray)) else kw.get("alpha")
        if kw["alpha"] is None:
            del kw["alpha"]
    if name == "CategoricalHinge" or kw.get("from_logits"):
        y_pred = _logits(d, shape, dtype)
    else:
        y_pred = _probs(d, shape, ax, dtype, normalized=d.pick((True, True, False)))
    return y_true, y_pred, kw


def _sparse(d: _Draw, dtype: str) -> tuple:
    rank = d.int(1, 4, "rank")
    shape = _shape(d, rank)
    axis = d.pick((-1, rank - 1), "axis")
    c = shape[-1]
    kw = {"axis": axis, "from_logits": d.flag("from_logits")}
    labels = d.rng.integers(0, c, shape[:-1])
    ignore = d.pick((None, None, -1, 0, c - 1, 255), "ignore_class")
    if ignore is not None:
        kw["ignore_class"] = ignore
        hit = d.rng.random(labels.shape) < 0.3
        labels = np.where(hit, ignore, labels)
    ldt = d.pick(("int32", "int64", "uint8", dtype), "label dtype")
    if ldt == "uint8":
        ldt = "int32" if labels.size and labels.min() < 0 else ldt
    y_true = labels.astype(ldt)
    if d.flag("trailing 1"):
        y_true = y_true[..., None]
    y_pred = _logits(d, shape, dtype) if kw["from_logits"] else _probs(d, shape, -1, dtype,
                                                                         normalized=d.pick((True, False)))
    return y_true, y_pred, kw


def _binary(d: _Draw, name: str, dtype: str) -> tuple:
    rank = d.int(1, 4, "rank")
    shape = _shape(d, rank)
    kw = {"from_logits": d.flag("from_logits"), "axis": d.pick((-1, -1, rank - 1, 0, rank) if rank > 1 else (-1, 0, 1)),
          "label_smoothing": d.pick((0.0, 0.0, 0.1, 0.5, 1.0, np.float32(0.1)), "label_smoothing")}
    if name == "BinaryFocalCrossentropy":
        kw["apply_class_balancing"] = d.flag("apply_class_balancing")
        kw["alpha"] = d.pick((0.25, 0.5, 0.9, 0.0, 1.0), "alpha")
        kw["gamma"] = d.pick((0.0, 1.0, 2.0, 3.5, 2), "gamma")
    form = d.pick(("hard", "hard", "soft"), "labels")
    if form == "soft":
        y_true = d.rng.random(shape).round(2).astype(dtype)
    else:
        y_true = (d.rng.random(shape) < 0.5).astype(_label_dtype(d, dtype))
    y_true = _rank_variant(d, y_true, shape)
    y_pred = _logits(d, shape, dtype) if kw["from_logits"] else _probs(d, shape, -1, dtype, normalized=False)
    return y_true, y_pred, kw


def _regression(d: _Draw, name: str, family: str, dtype: str) -> tuple:
    rank = d.int(1, 4, "rank")
    shape = _shape(d, rank)
    kw: dict = {}
    if name == "Huber":
        kw["delta"] = d.pick((1.0, 0.5, 2.0, 0.0, 1e-3), "delta")
    if name == "CosineSimilarity":
        kw["axis"] = d.pick(tuple(range(-rank, rank)) + (rank,), "axis")
        # over a 1-element axis the similarity is +-1 with a gradient of pure rounding residue in both: not drawn
        shape = tuple(max(s, 2) if i == kw["axis"] % rank and kw["axis"] < rank else s for i, s in enumerate(shape))
    if family == "hinge":
        y = (d.rng.random(shape) < 0.5).astype(np.float64)
        y_true = (y if d.flag("0/1 labels") else 2 * y - 1).astype(d.pick((dtype, "int32", "int64")))
        if d.pick((False, False, True), "soft hinge labels"):
            y_true = d.rng.random(shape).round(2).astype(dtype)
    elif family == "probability":
        y_true = _probs(d, shape, -1, dtype, normalized=d.flag("normalized"))
    elif family == "rate":
        y_true = d.rng.poisson(2.0, shape).astype(d.pick((dtype, "int32")))
    else:
        y_true = (d.rng.normal(size=shape) * d.pick((1.0, 10.0))).astype(d.pick((dtype, "float64")))
        if d.flag("integer targets"):
            y_true = np.round(y_true).astype(d.pick(("int32", "int64")))
    if family == "probability":
        y_pred = _probs(d, shape, -1, dtype, normalized=d.flag("normalized"))
    elif family == "rate" or name == "MeanSquaredLogarithmicError":
        y_pred = np.abs(d.rng.normal(size=shape) * 3).astype(dtype)
        if name == "MeanSquaredLogarithmicError" and d.flag("negatives"):
            y_pred = (d.rng.normal(size=shape) * 3).astype(dtype)
    else:
        y_pred = (d.rng.normal(size=shape) * d.pick((1.0, 10.0))).astype(dtype)
    if d.flag("ties") and y_true.dtype != bool:  # kinks: y_pred == y_true, |e| == delta, margins
        hit = d.rng.random(shape) < 0.3
        tie = y_true.astype(dtype) + (kw.get("delta", 0.0) if name == "Huber" else 0.0)
        y_pred = np.where(hit, tie, y_pred).astype(dtype)
    variant = d.pick(("same", "same", "plus1", "minus1", "no_last"), "rank variant")
    if variant == "plus1":
        y_true = y_true[..., None]
    elif variant == "minus1" and rank >= 2 and shape[-1] == 1:
        y_true = y_true[..., 0]
    elif variant == "no_last" and rank >= 2 and shape[-1] > 1:
        y_true = y_true[..., 0]  # broadcasts only where the sizes happen to agree; else an error in both
    return y_true, y_pred, kw


def _segmentation(d: _Draw, name: str, dtype: str) -> tuple:
    rank = d.int(1, 4, "rank")
    shape = _shape(d, rank)
    kw: dict = {}
    ax = d.pick(("none", "int", "tuple"), "axis form")
    if ax == "int":
        kw["axis"] = d.pick(tuple(range(-rank, rank)))
    elif ax == "tuple" and rank > 1:
        kw["axis"] = tuple(range(1, rank))
    if name == "Tversky":
        kw["alpha"] = d.pick((0.5, 0.3, 0.7, 0.0), "alpha")
        kw["beta"] = d.pick((0.5, 0.3, 0.7, 1.0), "beta")
    y_true = (d.rng.random(shape) < 0.5).astype(_label_dtype(d, dtype))
    y_pred = _probs(d, shape, -1, dtype, normalized=False)
    return y_true, y_pred, kw


def draw_case(data, names=tuple(LOSSES)) -> Case:
    d = _Draw(data)
    name = d.pick(names, "loss")
    fn_name, family = LOSSES[name]
    form = d.pick(("class", "class", "function"), "form")
    dtype = d.pick(("float32", "float64"), "dtype")
    if family == "categorical":
        y_true, y_pred, kw = _categorical(d, name, dtype, form == "function")
    elif family == "sparse":
        y_true, y_pred, kw = _sparse(d, dtype)
    elif family == "binary":
        y_true, y_pred, kw = _binary(d, name, dtype)
    elif family == "segmentation":
        y_true, y_pred, kw = _segmentation(d, name, dtype)
    elif family == "cgce":
        n, c = d.int(1, 5), d.int(2, 4)
        y_true = d.rng.integers(0, c, n).astype(d.pick(("int32", "int64", dtype)))
        y_pred = _probs(d, (n, c), -1, dtype)
        kw = {"q": d.pick((0.5, 0.1, 0.9, 0.7))}
    elif family == "ctc":
        n, t, c, s = d.int(1, 4), d.int(3, 6), d.int(2, 5), d.int(1, 3)
        lengths = d.rng.integers(0, min(s, t // 2) + 1, n)
        y_true = np.zeros((n, s), d.pick(("int32", "int64")))
        for i, k in enumerate(lengths):
            y_true[i, :k] = d.rng.integers(1, c, k)
        # logits of moderate scale: past a loss of ~707 TensorFlow's CTC saturates (README; a test below)
        y_pred = (d.rng.normal(size=(n, t, c)) * d.pick((1.0, 5.0))).astype(dtype)
        kw = {}
        dtype = "float32"  # Keras's CTC runs in float32 (torch_impl's too): compared at float32 tolerances
        y_pred = y_pred.astype(np.float32)
    elif family == "circle":
        n, dim = d.int(2, 6), d.int(2, 4)
        y_true = d.rng.integers(0, d.int(1, 3), n).astype(d.pick(("int32", "int64")))
        e = d.rng.normal(size=(n, dim))
        y_pred = (e / np.linalg.norm(e, axis=1, keepdims=True)).astype(dtype)
        kw = {"gamma": d.pick((80.0, 1.0, 10.0)), "margin": d.pick((0.4, 0.1, 0.25)),
              "remove_diagonal": d.flag("remove_diagonal")}
        if not kw["remove_diagonal"]:
            # a unit embedding's distance to itself, 1 - e.e, is +-1e-16 after either framework's matmul: exactly
            # on max(., 0)'s kink, where the gradient is the rounding's choice; shorter embeddings leave the kink
            y_pred = (y_pred * 0.9).astype(dtype)
    else:
        y_true, y_pred, kw = _regression(d, name, family, dtype)
    case = Case(name=name, form=form, dtype=dtype, y_true=y_true, y_pred=y_pred, kwargs=kw)
    if form == "class":
        case.reduction = d.pick(_REDUCTIONS, "reduction")
        case.loss_dtype = d.pick((None, None, dtype, "float32"), "dtype=")
        case.sample_weight = _sample_weight(d, case)
        if y_pred.ndim >= 2 and name not in ("CTC", "Circle") and d.pick((False, False, False, True), "mask"):
            case.mask = d.rng.random(y_pred.shape[:-1]) < 0.7
    return case


def _sample_weight(d: _Draw, case: Case):
    n = case.y_pred.shape[0]
    dt = d.pick((case.dtype, case.dtype, "float64"), "sample_weight dtype")
    form = d.pick(("none", "none", "scalar", "N", "N1", "NT", "full", "zeros", "bool", "list"), "sample_weight")
    pred_shape = case.y_pred.shape
    if form == "scalar":
        return d.pick((0.5, 2.0, 0.0, 1))
    if form == "N":
        return d.rng.uniform(0, 2, n).astype(dt)
    if form == "N1":
        return d.rng.uniform(0, 2, (n, 1)).astype(dt)
    if form == "NT" and len(pred_shape) >= 3:
        return d.rng.uniform(0, 2, pred_shape[:2]).astype(dt)
    if form == "full":  # one weight per element of y_pred's shape without its last axis (the loss's shape)
        return d.rng.uniform(0, 2, pred_shape[:-1] or (1,)).astype(dt)
    if form == "zeros":
        return np.zeros(n, dt)
    if form == "bool":
        return d.rng.random(n) < 0.5
    if form == "list":
        return [float(x) for x in d.rng.uniform(0, 2, n).round(3)]
    return None


# ---------------------------------------------------------------------------------------------- running both


class Raised(Exception):
    pass


def keras_result(case: Case):
    """Keras's value and gradient w.r.t. ``y_pred`` (the gradient of the sum for an unreduced loss)."""
    fn_name = LOSSES[case.name][0]
    kw = with_upstream_fixes(fn_name, case.kwargs)
    rank = case.y_pred.ndim  # after the class's alignment: (N,) predictions of (N, 1) labels become (N, 1)
    rank += case.form == "class" and rank == 1 and case.y_true.ndim == 2 and case.y_true.shape[-1] == 1
    if case.name == "CategoricalCrossentropy" and kw.get("from_logits") and -rank <= kw["axis"] < -1:
        # TensorFlow's softmax_cross_entropy_with_logits fails on a negative axis other than -1 (Keras's other
        # backends take it): the reference is the same axis counted from the front
        kw = {**kw, "axis": kw["axis"] % rank}
    x = tf.constant(case.y_pred)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with tf.GradientTape() as tape:
            tape.watch(x)
            if case.mask is not None:
                keras.src.backend.set_keras_mask(x, tf.constant(case.mask))
            if case.form == "function":
                v = getattr(keras.losses, fn_name)(case.y_true, x, **kw)
            else:
                kdt = case.loss_dtype or case.dtype
                loss = getattr(keras.losses, case.name)(reduction=case.reduction, dtype=kdt, **kw)
                v = loss(case.y_true, x, sample_weight=case.sample_weight)
        g = tape.gradient(v, x)
    g = np.zeros(case.y_pred.shape) if g is None else np.asarray(g)
    return np.asarray(v), g


def torch_result(case: Case):
    x = torch.tensor(case.y_pred, requires_grad=True)
    if case.mask is not None:
        x._keras_mask = torch.as_tensor(case.mask)
    y = torch.as_tensor(case.y_true)
    sw = case.sample_weight
    if isinstance(sw, np.ndarray):
        sw = torch.as_tensor(sw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if case.form == "function":
            v = getattr(L, LOSSES[case.name][0])(y, x, **case.kwargs)
        else:
            loss = getattr(L, case.name)(reduction=case.reduction, dtype=case.loss_dtype, **case.kwargs)
            v = loss(y, x, sample_weight=sw)
    (g,) = torch.autograd.grad(v.sum(), x, allow_unused=True)
    g = np.zeros(case.y_pred.shape) if g is None else g.numpy()
    return v.detach().numpy(), g


def _run(fn, case):
    try:
        return fn(case), None
    except Exception as e:  # noqa: BLE001 - any raise counts
        return None, e


# float64 gradients below this are rounding residue for unit-scale inputs (Circle's self-distance 1 - e.e is
# +-1e-16 after either framework's matmul: clamped to 0 in one, a 1e-20 gradient in the other)
_FLOOR64 = 1e-18


def _tiny(dtype: str) -> float:
    return float(np.finfo(_NP[dtype]).tiny)


def _reference64(case: Case):
    """The float64 truth of a float32 case: Keras in float64 (for CTC, which Keras computes in float32 whatever
    the dtype, torch's CTC in float64)."""
    c = Case(**{**case.__dict__, "y_pred": case.y_pred.astype(np.float64), "dtype": "float64"})
    if c.loss_dtype is not None:
        c.loss_dtype = "float64"
    if isinstance(c.sample_weight, np.ndarray) and c.sample_weight.dtype == np.float32:
        c.sample_weight = c.sample_weight.astype(np.float64)
    if case.name != "CTC":
        v, g = keras_result(c)
        return np.asarray(v, np.float64), np.asarray(g, np.float64)
    x = torch.tensor(c.y_pred, requires_grad=True)
    labels = torch.as_tensor(case.y_true).long()
    n, t = x.shape[:2]
    v = torch.nn.functional.ctc_loss(x.log_softmax(-1).transpose(0, 1), labels, torch.full((n,), t),
                                     (labels != 0).sum(-1), reduction="none")
    if case.form == "class":
        v = reduce_weighted_values(v, c.sample_weight, reduction=case.reduction)
    (g,) = torch.autograd.grad(v.sum(), x)
    return v.detach().numpy(), g.numpy()


def _as_close_as_keras(ours, theirs, truth, finite) -> bool:
    """``ours`` is within float32 tolerances of Keras's, or no further from the float64 ``truth`` than twice
    Keras's own float32 error (and the tolerances)."""
    o, k, r = ours[finite], theirs[finite], truth[finite]
    return bool(np.all(np.abs(o - r) <= 2 * np.abs(k - r) + 1e-5 * np.abs(r) + 1e-6))


def compare(case: Case) -> dict:
    """Both sides on ``case``; raise AssertionError on a disagreement, else return the differences measured."""
    kr, ke = _run(keras_result, case)
    ours, oe = _run(torch_result, case)
    if ke is not None or oe is not None:
        assert (ke is None) == (oe is None), (
            f"{case.describe()}: Keras {'raised ' + type(ke).__name__ + ': ' + str(ke)[:300] if ke else 'computed'}, "
            f"torch_impl {'raised ' + type(oe).__name__ + ': ' + str(oe)[:300] if oe else 'computed'}")
        return {"raised": True}
    (kv, kg), (ov, og) = kr, ours
    assert kv.shape == ov.shape, f"{case.describe()}: value shape Keras {kv.shape}, torch_impl {ov.shape}"
    assert kg.shape == og.shape
    compute = case.loss_dtype or case.dtype
    if case.form == "function" or case.name == "CTC":
        compute = case.dtype
    kv64, ov64, kg64, og64 = (np.asarray(a, np.float64) for a in (kv, ov, kg, og))
    tiny = _tiny(compute)
    kg64 = np.where(np.abs(kg64) < tiny, 0.0, kg64)  # TensorFlow flushes subnormals to zero
    og64 = np.where(np.abs(og64) < tiny, 0.0, og64)
    finite_v = np.isfinite(kv64)
    assert np.array_equal(np.isnan(kv64), np.isnan(ov64)) and np.array_equal(np.isposinf(kv64), np.isposinf(ov64)) \
        and np.array_equal(np.isneginf(kv64), np.isneginf(ov64)), f"{case.describe()}: non-finite {kv} vs {ov}"
    dv = float(np.max(np.abs(kv64[finite_v] - ov64[finite_v]), initial=0.0))
    finite_g = np.isfinite(kg64)
    assert np.array_equal(finite_g, np.isfinite(og64)), f"{case.describe()}: non-finite gradients {kg} vs {og}"
    dg = float(np.max(np.abs(kg64[finite_g] - og64[finite_g]), initial=0.0))
    if compute == "float64":
        v_scale = np.max(np.abs(kv64[finite_v]), initial=0.0)
        g_scale = np.max(np.abs(kg64[finite_g]), initial=0.0)
        v_ok = np.all(np.abs(kv64[finite_v] - ov64[finite_v]) <= 1e-12 * np.abs(kv64[finite_v]) + 1e-14 * v_scale
                      + 1e-300)
        g_ok = np.all(np.abs(kg64[finite_g] - og64[finite_g]) <= 1e-10 * np.abs(kg64[finite_g]) + 1e-12 * g_scale
                      + _FLOOR64)
    fallback = False
    if compute == "float32":
        v_ok = np.allclose(ov64[finite_v], kv64[finite_v], rtol=1e-5, atol=1e-6)
        g_ok = np.allclose(og64[finite_g], kg64[finite_g], rtol=1e-5, atol=1e-6)
        fallback = not (v_ok and g_ok)
        if fallback:  # an ill-conditioned float32 case: no further from the float64 truth than Keras
            rv, rg = _reference64(case)
            v_ok = v_ok or _as_close_as_keras(ov64, kv64, rv, finite_v)
            g_ok = g_ok or _as_close_as_keras(og64, kg64, rg, finite_g)
        if not g_ok and case.name == "Circle":
            # Circle's gradients are sums of gamma-scaled terms that cancel: in float32 held to 1e-5 of the
            # largest entry, as parity_tests/test_losses_rest_keras.py holds them
            g_ok = dg <= 1e-5 * np.max(np.abs(kg64[finite_g]), initial=0.0)
    assert v_ok, f"{case.describe()}: value max abs diff {dv:.3e}: Keras {kv}, torch_impl {ov}"
    assert g_ok, f"{case.describe()}: gradient max abs diff {dg:.3e}:\nKeras {kg}\ntorch_impl {og}"
    # a zero against a rounding-level residue of the other side (``1 - y / y`` in float32) is no clip mismatch
    # (float32: of unit-scale gradients, e.g. a cosine similarity over a 1-element axis, or CTC's underflows)
    noise = 4 * float(np.finfo(_NP[compute]).eps) * np.max(np.abs(kg64[finite_g]), initial=1.0 * (compute == "float32"))
    noise = max(noise, _FLOOR64 if compute == "float64" else 0.0)
    zeros_k = (kg64 == 0) & ~((np.abs(og64) <= noise) & (og64 != 0))
    zeros_o = (og64 == 0) & ~((np.abs(kg64) <= noise) & (kg64 != 0))
    assert np.array_equal(zeros_k, zeros_o), (
        f"{case.describe()}: zero-gradient entries differ (noise level {noise:.1e}): Keras zero, torch_impl "
        f"{og64[zeros_k & ~zeros_o].tolist()}; torch_impl zero, Keras {kg64[zeros_o & ~zeros_k].tolist()}"
        f"\nKeras {kg}\ntorch_impl {og}")
    return {"dv": dv, "dg": dg, "compute": compute, "fallback": fallback}


class _Stats:
    def __init__(self):
        self.n = self.raised = self.fallback = 0
        self.dv = {"float32": 0.0, "float64": 0.0}
        self.dg = {"float32": 0.0, "float64": 0.0}

    def add(self, r: dict):
        self.n += 1
        if r.get("raised"):
            self.raised += 1
            return
        self.fallback += r["fallback"]
        self.dv[r["compute"]] = max(self.dv[r["compute"]], r["dv"])
        self.dg[r["compute"]] = max(self.dg[r["compute"]], r["dg"])

    def report(self, label: str):
        print(f"{label}: {self.n} cases ({self.raised} raising in both, {self.fallback} float32 ones held to the "
              "float64 truth instead); max abs diff value float64 "
              f"{self.dv['float64']:.2e} float32 {self.dv['float32']:.2e}, gradient float64 {self.dg['float64']:.2e} "
              f"float32 {self.dg['float32']:.2e}")


_SETTINGS = dict(derandomize=True, deadline=None, database=None, print_blob=True,
                 suppress_health_check=list(HealthCheck))


def _fuzz(names, max_examples, label):
    stats = _Stats()

    @settings(max_examples=max_examples, **_SETTINGS)
    @given(st.data())
    def run(data):
        stats.add(compare(draw_case(data, names)))

    run()
    stats.report(label)


_CROSSENTROPY = ("CategoricalCrossentropy", "CategoricalFocalCrossentropy", "SparseCategoricalCrossentropy",
                 "BinaryCrossentropy", "BinaryFocalCrossentropy")
_REST = tuple(n for n in LOSSES if n not in _CROSSENTROPY)


def test_crossentropy_family_fuzz():
    _fuzz(_CROSSENTROPY, 120, "crossentropy family")


def test_other_losses_fuzz():
    _fuzz(_REST, 160, "regression/hinge/probabilistic/segmentation/CTC/circle")


@pytest.mark.slow
def test_crossentropy_family_fuzz_large():
    _fuzz(_CROSSENTROPY, 1500, "crossentropy family (large)")


@pytest.mark.slow
def test_other_losses_fuzz_large():
    _fuzz(_REST, 1500, "the other losses (large)")


# ------------------------------------------------------------------------- what the fuzz found, one test each


def _both(keras_fn, torch_fn, y_true, y_pred):
    x = tf.constant(y_pred)
    with tf.GradientTape() as tape:
        tape.watch(x)
        kv = keras_fn(y_true, x)
    kg = tape.gradient(kv, x).numpy()
    xt = torch.tensor(y_pred, requires_grad=True)
    ov = torch_fn(torch.as_tensor(y_true), xt)
    (og,) = torch.autograd.grad(ov.sum(), xt)
    return np.asarray(kv), kg, ov.detach().numpy(), og.numpy()


def test_ctc_float32_gradient_of_sharp_logits_like_keras():
    """CTC on float32 logits of scale 40: torch's float32 CTC gradient was up to 2.3e-5 off Keras's (and 300x
    further from the float64 truth than TensorFlow's: 1.7e-5 here); torch_impl now runs torch's CTC in float64."""
    rng = np.random.default_rng(9)
    y = np.array([[1, 2, 0], [2, 0, 0], [1, 1, 0]], np.int32)
    z = (rng.normal(size=(3, 6, 3)) * 40).astype(np.float32)
    kv, kg, ov, og = _both(keras.losses.ctc, L.ctc, y, z)
    print(f"CTC float32, logits scale 40: value max abs diff {np.abs(ov - kv).max():.2e}, gradient "
          f"{np.abs(og - kg).max():.2e}")
    np.testing.assert_allclose(ov, kv, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(og, kg, rtol=1e-5, atol=1e-6)
    assert ov.dtype == np.float32 and og.dtype == np.float32


def test_ctc_saturated_logits_follow_the_float64_truth():
    """Past a loss of about 707 (``-log(1e-307)``) TensorFlow's CTC saturates: Keras reports 706.9 with a
    vanishing gradient where the loss is 1222.9 with gradient +-1 (a listed difference); torch_impl gives the
    float64 truth."""
    y = np.array([[1, 1, 0]], np.int32)
    z = (np.random.default_rng(3).normal(size=(1, 4, 2)) * 1e3).astype(np.float32)
    kv, kg, ov, og = _both(keras.losses.ctc, L.ctc, y, z)
    x64 = torch.tensor(z.astype(np.float64), requires_grad=True)
    lab = torch.as_tensor(y).long()
    rv = torch.nn.functional.ctc_loss(x64.log_softmax(-1).transpose(0, 1), lab, torch.tensor([4]),
                                      (lab != 0).sum(-1), reduction="none")
    (rg,) = torch.autograd.grad(rv.sum(), x64)
    print(f"CTC, logits scale 1e3: Keras {kv.tolist()} (gradient max {np.abs(kg).max():.1e}), torch_impl "
          f"{ov.tolist()}, float64 truth {rv.tolist()}; gradient off the truth by {np.abs(og - rg.numpy()).max():.1e}")
    assert kv[0] < 707.0 < ov[0] and np.abs(kg).max() < 1e-5
    np.testing.assert_allclose(ov, rv.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(og, rg.numpy(), atol=1e-6)


@pytest.mark.parametrize("axis", [-2, -3])
def test_categorical_crossentropy_from_logits_negative_class_axis(axis):
    """``CategoricalCrossentropy(from_logits=True, axis=-3)``: TensorFlow's softmax_cross_entropy_with_logits
    fails on a negative axis other than -1 (``Requires start <= limit``, Keras's other backends compute it);
    torch_impl computes the loss of the same axis counted from the front, which Keras on TensorFlow takes."""
    rng = np.random.default_rng(4)
    z = rng.normal(size=(2, 3, 4, 5))
    y = np.moveaxis(np.eye(z.shape[axis])[rng.integers(0, z.shape[axis], (2, 4, 5) if axis == -3 else (2, 3, 5))],
                    -1, axis % 4)
    with pytest.raises(Exception, match="start <= limit"):
        keras.losses.categorical_crossentropy(y, z, from_logits=True, axis=axis)
    kv, kg, ov, og = _both(lambda a, b: keras.losses.CategoricalCrossentropy(from_logits=True, axis=axis % 4,
                                                                             dtype="float64")(a, b),
                           lambda a, b: L.CategoricalCrossentropy(from_logits=True, axis=axis)(a, b), y, z)
    print(f"axis={axis}: Keras/TensorFlow raises; torch_impl vs Keras's axis={axis % 4}: value diff "
          f"{abs(float(ov) - float(kv)):.1e}, gradient max abs diff {np.abs(og - kg).max():.1e}")
    assert abs(float(ov) - float(kv)) <= 1e-12 * abs(float(kv))
    np.testing.assert_allclose(og, kg, rtol=1e-10, atol=1e-16)

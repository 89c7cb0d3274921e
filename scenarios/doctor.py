"""The training doctor's rules: findings from numbers (NumPy and scikit-learn only).

Both frameworks measure the same things (:class:`torch_impl.diagnose.TrainingDoctor`,
:class:`keras_impl.diagnose.DoctorCallback`) and hand them here, so a Keras run
and a PyTorch run are judged by identical rules:

* :func:`check_setup`, before training: the labels against the loss (integer vs
  one-hot vs binary, values outside [0, 1] for binary crossentropy, all-zero
  target rows, a single class), the output layer against the loss (softmax or
  sigmoid, ``from_logits``), and class imbalance without class weights.
* :func:`check_training`, from per-epoch records ``{"loss", "grad_norms",
  "clip_fraction", "pred_hist"}``: vanishing, exploding or zero gradients
  (first/last layer kernel-gradient ratio), outputs saturated at the 1e-7 clip,
  a constant loss, a first epoch far above the untrained model's loss or a
  loss that rebounds or oscillates (learning rate too high), NaN/inf, a
  negative crossentropy, prediction collapse to one class, and a linear model
  that does no better than the majority class.
* :func:`check_outcome`, after training on held-out data: per-class recall,
  balanced accuracy, the confusion matrix, and a minority class the model
  ignores.

Every :class:`Finding` has an id, a severity (``error``, ``warning``), the
stage, the evidence in numbers and the fix.

Example:
    >>> import numpy as np
    >>> f = check_setup(np.array([0, 1, 2, 1]), loss="categorical_crossentropy", n_outputs=3,
    ...                 output_activation="softmax")
    >>> [x.id for x in f]
    ['integer_labels_for_categorical']
    >>> print(f[0].fix)
    Use SparseCategoricalCrossentropy with integer labels, or one-hot encode them (keras.utils.to_categorical).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Optional, Sequence

import numpy as np

from scenarios import oracle

__all__ = ["Finding", "RULES", "check_setup", "check_training", "check_outcome", "diagnose", "diagnose_arrays",
           "load_array", "render", "ids", "to_json", "chance_level", "setup_record", "epoch_record", "train_accuracy",
           "start_loss"]

EPS = 1e-7
CATEGORICAL = ("categorical_crossentropy", "categorical_focal_crossentropy")
SPARSE = ("sparse_categorical_crossentropy",)
BINARY = ("binary_crossentropy", "binary_focal_crossentropy", "focal_loss")
#: output activations whose outputs are probabilities
PROBABILITY_ACTIVATIONS = ("softmax", "sigmoid", "manual_softmax")

#: id -> (severity, stage, title, fix)
RULES: dict[str, tuple[str, str, str, str]] = {
    "integer_labels_for_categorical": (
        "error", "before", "integer class labels given to a categorical loss",
        "Use SparseCategoricalCrossentropy with integer labels, or one-hot encode them "
        "(keras.utils.to_categorical)."),
    "one_hot_labels_for_sparse": (
        "error", "before", "one-hot labels given to sparse categorical crossentropy",
        "Use CategoricalCrossentropy with one-hot labels, or pass labels.argmax(-1)."),
    "labels_outside_0_1": (
        "error", "before", "binary crossentropy labels outside [0, 1]",
        "Binary crossentropy needs labels in [0, 1]. For K classes use a softmax output of K units with "
        "SparseCategoricalCrossentropy (integer labels) or CategoricalCrossentropy (one-hot)."),
    "zero_target_rows": (
        "error", "before", "target rows of all zeros",
        "Every target row must name a class (one 1 per row): an all-zero row has loss 0 whatever the model "
        "predicts, yet its gradient (softmax(z) - 0) still moves the weights. Check the label encoding."),
    "single_class_labels": (
        "error", "before", "every label is the same class",
        "A model trained on one class learns to always predict it. Check the data loading and the labels."),
    "class_imbalance": (
        "warning", "before", "imbalanced classes without class weights",
        "Pass class_weight (the suggested 'balanced' weights are in the evidence), or use "
        "CategoricalFocalCrossentropy with a per-class alpha; judge by per-class recall, not accuracy."),
    "softmax_on_one_unit": (
        "error", "before", "softmax over a single output unit",
        "A softmax of one unit is always 1.0: the model cannot learn. Use sigmoid with binary crossentropy, "
        "or two softmax units with a categorical loss."),
    "softmax_output_with_binary_loss": (
        "warning", "before", "softmax output with binary crossentropy",
        "For one label per sample use a categorical loss with the softmax; for multi-label targets use a "
        "sigmoid output with binary crossentropy."),
    "sigmoid_output_with_categorical_loss": (
        "warning", "before", "sigmoid output with a categorical loss",
        "Sigmoid outputs do not sum to 1 (Keras rescales them, silently). Use a softmax output for "
        "categorical crossentropy."),
    "probabilities_given_as_logits": (
        "error", "before", "from_logits=True on probabilities",
        "The output already is a softmax/sigmoid probability: use from_logits=False, or remove the output "
        "activation and keep from_logits=True (numerically better). Keras on TensorFlow hides this one: a "
        "Keras softmax/sigmoid output carries its logits, which the loss then takes (with a warning), so the "
        "run trains as from_logits=False; on Keras's JAX/torch backends and in a plain PyTorch port the loss "
        "squashes the probabilities a second time."),
    "logits_given_as_probabilities": (
        "error", "before", "from_logits=False on unbounded outputs",
        "The outputs are not probabilities (outside [0, 1]); Keras clips them to [1e-7, 1 - 1e-7] and the "
        "clipped entries get no gradient. Use from_logits=True, or add a softmax/sigmoid output."),
    "non_finite": (
        "error", "during", "NaN or inf in the loss or the gradients",
        "Lower the learning rate, clip gradients (clipnorm), check the inputs for NaN/inf, and compute the "
        "loss from logits (from_logits=True) rather than from probabilities."),
    "negative_loss": (
        "error", "during", "negative crossentropy",
        "A crossentropy cannot be negative with valid targets: the labels are outside [0, 1] (binary) or "
        "the target rows are not distributions. Fix the labels."),
    "zero_gradients": (
        "error", "during", "every kernel gradient is exactly 0",
        "Nothing trains. Usually saturated probabilities at the clip (see saturated_outputs): compute the "
        "loss from logits (a Keras softmax layer, or from_logits=True), not from a hand-made softmax."),
    "saturated_outputs": (
        "error", "during", "outputs saturated at the clip and the loss does not move",
        "Probabilities at 1e-7 / 1 - 1e-7 are clipped and the clip passes no gradient. Use the logits "
        "(from_logits=True, or a Keras softmax/sigmoid layer, whose logits Keras uses), lower the learning "
        "rate, and check the initialisation."),
    "vanishing_gradients": (
        "warning", "during", "vanishing gradients in the first layers",
        "Use ReLU (or GELU) hidden activations with BatchNormalization, He/Glorot initialisation, or fewer "
        "saturating layers; residual connections for deep nets."),
    "exploding_gradients": (
        "warning", "during", "exploding gradients",
        "Lower the learning rate, clip gradients (clipnorm / global_clipnorm), add BatchNormalization."),
    "constant_loss": (
        "warning", "during", "the loss does not change",
        "Check that gradients reach the weights (saturation, zero targets), the learning rate, and that the "
        "labels match the loss."),
    "learning_rate_too_high": (
        "warning", "during", "the loss overshoots, rebounds or oscillates",
        "Lower the learning rate (e.g. 10x; Adam's default is 0.001), or clip gradients."),
    "prediction_collapse": (
        "error", "during", "the model predicts one class for every input",
        "With imbalanced data: class_weight='balanced' or a focal loss with per-class alpha. With "
        "balanced data: the features may carry no signal, or the learning rate is too high."),
    "linear_model_at_chance": (
        "warning", "during", "a model without hidden layers does no better than the majority class",
        "Add a hidden layer (e.g. Dense(64, 'relu')): a softmax layer alone draws linear class boundaries. "
        "If a deeper model does no better either, the features carry no signal about the labels."),
    "minority_class_ignored": (
        "warning", "after", "a minority class is mostly missed",
        "Pass class_weight ('balanced'), or use CategoricalFocalCrossentropy with a per-class alpha; "
        "tune the decision threshold on validation data."),
}


@dataclass
class Finding:
    id: str
    severity: str
    stage: str
    title: str
    evidence: str
    fix: str
    numbers: dict = field(default_factory=dict)


def _finding(rule: str, evidence: str, **numbers) -> Finding:
    severity, stage, title, fix = RULES[rule]
    return Finding(rule, severity, stage, title, evidence, fix, _plain(numbers))


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return _plain(x.tolist())
    if isinstance(x, (np.floating, np.integer, np.bool_)):
        return x.item()
    return x


# --------------------------------------------------------------------------------------------- labels
def _class_indices(y: np.ndarray, loss: str) -> Optional[np.ndarray]:
    """Integer class per sample when the labels name classes (else None)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        if np.any(y.sum(1) <= 0):
            return None
        return y.argmax(1)
    flat = y.reshape(-1) if y.ndim <= 1 or (y.ndim == 2 and y.shape[1] == 1) else None
    if flat is None or flat.size == 0 or not np.all(np.isfinite(flat)) or not np.all(flat == np.round(flat)):
        return None
    if loss in BINARY and (flat.min() < 0 or flat.max() > 1):
        return None
    return flat.astype(np.int64)


def _predicted_classes(outputs: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """The class each output row predicts: argmax, or ``> threshold`` for a one-unit output."""
    return (outputs[:, 0] > threshold).astype(np.int64) if outputs.shape[1] == 1 else outputs.argmax(1)


def chance_level(y: np.ndarray, n_outputs: int, loss: str, class_weight: Optional[dict] = None) -> Optional[float]:
    """The loss of the best constant prediction (the label frequencies, weighted by class weights)."""
    idx = _class_indices(y, loss)
    if idx is None or loss not in CATEGORICAL + SPARSE + ("binary_crossentropy",) or idx.min() < 0:
        return None
    counts = np.bincount(idx, minlength=max(2, n_outputs)).astype(np.float64)
    w = np.array([float((class_weight or {}).get(c, 1.0)) for c in range(len(counts))])
    mass = counts * w / counts.sum()
    if mass.sum() <= 0:
        return None
    q = mass / mass.sum()
    nz = mass > 0
    return float(-(mass[nz] * np.log(np.clip(q[nz], EPS, 1))).sum())


def check_setup(y, *, loss: str, n_outputs: int, output_activation: Optional[str] = None,
                from_logits: bool = False, class_weight: Optional[dict] = None, sample_weight=None,
                alpha: Any = None, predictions: Optional[np.ndarray] = None) -> list[Finding]:
    """Findings about labels, loss and output layer before training.

    Args:
        y: the labels as given to the loss.
        loss: the Keras loss name (``"categorical_crossentropy"``, ...; ``"focal_loss"`` for the
            community focal loss).
        n_outputs: units of the output layer.
        output_activation: ``"softmax"``, ``"sigmoid"``, ``"linear"``/``None`` (logits) or
            ``"manual_softmax"`` (probabilities without their logits).
        alpha: a focal loss's ``alpha`` (a per-class list counts as class balancing).
        predictions: model outputs on (some of) the inputs, to check ``from_logits``.
    """
    y = np.asarray(y)
    out: list[Finding] = []
    if y.dtype.kind not in "biuf":
        raise ValueError(f"labels must be numeric; got dtype {y.dtype}")
    nonfinite = int(np.sum(~np.isfinite(y.astype(np.float64)))) if y.size else 0
    if nonfinite:
        out.append(_finding("non_finite", f"{nonfinite} labels are NaN/inf", count=nonfinite))
        return out
    one_hot_like = y.ndim >= 2 and y.shape[-1] == n_outputs and n_outputs > 1
    if loss in CATEGORICAL and n_outputs > 1 and not one_hot_like:
        out.append(_finding("integer_labels_for_categorical",
                            f"labels of shape {tuple(y.shape)} for {n_outputs} output units "
                            f"(values {_value_summary(y)})", label_shape=list(y.shape), n_outputs=n_outputs))
    if loss in SPARSE and y.ndim >= 2 and y.shape[-1] == n_outputs and n_outputs > 1:
        out.append(_finding("one_hot_labels_for_sparse",
                            f"labels of shape {tuple(y.shape)} (one column per class) for sparse categorical "
                            "crossentropy, which wants one integer per sample", label_shape=list(y.shape)))
    if loss in BINARY and y.size and (y.min() < 0 or y.max() > 1):
        out.append(_finding("labels_outside_0_1", f"labels range over [{_num(y.min())}, {_num(y.max())}] "
                            f"(distinct values {_value_summary(y)})", min=float(y.min()), max=float(y.max())))
    if loss in CATEGORICAL and one_hot_like and y.size:
        zero = int(np.sum(np.all(y == 0, axis=-1)))
        if zero:
            out.append(_finding("zero_target_rows", f"{zero} of {int(np.prod(y.shape[:-1]))} target rows are all "
                                "zeros", rows=zero))
    idx = _class_indices(y, loss)
    if idx is not None and idx.size and not any(f.id in ("integer_labels_for_categorical", "one_hot_labels_for_sparse")
                                                for f in out):
        counts = np.bincount(idx, minlength=max(2, n_outputs))
        present = counts[counts > 0]
        if len(present) == 1:
            out.append(_finding("single_class_labels", f"all {idx.size} labels are class {int(idx[0])}",
                                counts=counts))
        elif len(present) >= 2:
            ratio = float(present.max() / present.min())
            balanced_by = class_weight is not None or sample_weight is not None or (
                alpha is not None and np.ndim(alpha) == 1)
            if ratio >= 4.0 and not balanced_by:
                classes = np.flatnonzero(counts)
                suggested = {int(c): float(idx.size / (len(classes) * counts[c])) for c in classes}
                out.append(_finding(
                    "class_imbalance",
                    f"class counts {counts.tolist()} (largest/smallest {ratio:.1f}); 'balanced' class_weight "
                    + "{" + ", ".join(f"{c}: {w:.3g}" for c, w in suggested.items()) + "}",
                    counts=counts, ratio=ratio, balanced_class_weight=suggested))
    act = (output_activation or "linear").lower()
    if act == "softmax" and n_outputs == 1:
        out.append(_finding("softmax_on_one_unit", "the output layer is softmax over 1 unit", n_outputs=1))
    if act == "softmax" and n_outputs > 1 and loss in BINARY:
        out.append(_finding("softmax_output_with_binary_loss", f"softmax over {n_outputs} units, loss {loss}"))
    if act == "sigmoid" and n_outputs > 1 and loss in CATEGORICAL + SPARSE:
        out.append(_finding("sigmoid_output_with_categorical_loss", f"sigmoid over {n_outputs} units, loss {loss}"))
    if from_logits and act in PROBABILITY_ACTIVATIONS:
        out.append(_finding("probabilities_given_as_logits", f"output activation {act} and from_logits=True"))
    elif predictions is not None:
        p = np.asarray(predictions, dtype=np.float64)
        finite = p[np.isfinite(p)]
        if finite.size:
            outside = float(np.mean((finite < 0) | (finite > 1)))
            if not from_logits and outside > 0:
                out.append(_finding("logits_given_as_probabilities",
                                    f"{100 * outside:.1f}% of the outputs lie outside [0, 1] with from_logits=False "
                                    f"(range [{_num(finite.min())}, {_num(finite.max())}])", fraction_outside=outside))
            elif from_logits and outside == 0 and act not in PROBABILITY_ACTIVATIONS:
                rows_sum_1 = p.ndim == 2 and p.shape[1] > 1 and bool(np.allclose(p.sum(1), 1, atol=1e-4))
                if rows_sum_1 or (p.ndim >= 1 and finite.min() >= 0 and finite.max() <= 1 and n_outputs == 1
                                  and finite.size >= 20 and float(finite.std()) < 0.5):
                    out.append(_finding("probabilities_given_as_logits",
                                        "every output lies in [0, 1]" + (" and rows sum to 1" if rows_sum_1 else "")
                                        + " with from_logits=True", rows_sum_to_1=rows_sum_1))
    return out


def _num(v) -> str:
    return f"{float(v):.4g}"


def _value_summary(y: np.ndarray) -> str:
    u = np.unique(y)
    return ("{" + ", ".join(_num(v) for v in u[:8]) + (", ..." if u.size > 8 else "") + "}") if u.size else "{}"


# ------------------------------------------------------------------------------------------- training
def check_training(epochs: Sequence[dict], *, n_dense: int, hidden_layers: Optional[int] = None,
                   labels: Optional[np.ndarray] = None, loss: str = "", n_outputs: int = 2,
                   train_accuracy: Optional[float] = None,
                   start_grad_norms: Optional[Sequence[float]] = None,
                   start_loss: Optional[float] = None) -> list[Finding]:
    """Findings from per-epoch records ``{"loss", "grad_norms", "clip_fraction", "pred_hist"}``.

    ``labels`` are the probe's labels (for prediction collapse and the majority rate);
    ``hidden_layers`` defaults to ``n_dense - 1``; ``start_grad_norms`` are the per-layer
    kernel-gradient norms before the first step; ``start_loss`` the loss of the untrained model
    on the probe (:func:`start_loss`): a first epoch far above it overshot.
    """
    out: list[Finding] = []
    if not epochs:
        return out
    hidden = n_dense - 1 if hidden_layers is None else hidden_layers
    loss_curve = np.array([e.get("loss", np.nan) for e in epochs], dtype=np.float64)
    norms = [np.asarray(e.get("grad_norms") or [], dtype=np.float64) for e in epochs]
    bad = int(np.sum(~np.isfinite(loss_curve))) + sum(int(np.sum(~np.isfinite(n))) for n in norms)
    if bad:
        first = next(i for i, e in enumerate(epochs) if not np.isfinite(e.get("loss", np.nan))
                     or not np.all(np.isfinite(norms[i])))
        out.append(_finding("non_finite", f"{bad} non-finite loss/gradient values, first at epoch {first + 1}",
                            first_epoch=first + 1))
        return out
    if np.any(loss_curve < 0):
        out.append(_finding("negative_loss", f"loss {_num(loss_curve.min())} at epoch {int(loss_curve.argmin()) + 1}",
                            loss=loss_curve))
    all_zero = all(n.size and np.all(n == 0) for n in norms)
    clip = np.array([e.get("clip_fraction", 0.0) for e in epochs], dtype=np.float64)
    spread = float((loss_curve.max() - loss_curve.min()) / max(abs(loss_curve[0]), 1e-12))
    if all_zero:
        out.append(_finding("zero_gradients", f"all {norms[0].size} kernel gradients are 0 in every epoch"))
    if clip[-1] >= 0.5 and (all_zero or spread < 1e-4):
        out.append(_finding("saturated_outputs", f"{100 * clip[-1]:.0f}% of the output probabilities at the clip; "
                            f"loss moved by {spread:.1e} relative over {len(epochs)} epochs",
                            clip_fraction=clip, loss_spread=spread))
    elif len(epochs) >= 3 and spread < 1e-3 and not all_zero:
        out.append(_finding("constant_loss", f"loss {_num(loss_curve[0])} -> {_num(loss_curve[-1])} over "
                            f"{len(epochs)} epochs ({spread:.1e} relative)", loss=loss_curve))
    ratios = [float(n[0] / n[-1]) for n in norms if n.size >= 2 and n[-1] > 0]
    start = np.asarray(start_grad_norms if start_grad_norms is not None else [], dtype=np.float64)
    start_ratio = float(start[0] / start[-1]) if start.size >= 2 and start[-1] > 0 else None
    if ratios and n_dense >= 3:
        med = float(np.median(ratios))
        worst = min(med, start_ratio) if start_ratio is not None else med
        if worst < 0.2:
            out.append(_finding("vanishing_gradients",
                                "first/last layer kernel-gradient norm ratio "
                                + (f"{start_ratio:.3g} before training, " if start_ratio is not None else "")
                                + f"{med:.3g} at epoch ends (median) across {n_dense} dense layers",
                                ratio_start=start_ratio, ratio_median=med, ratios=ratios))
    largest = max(float(n.max()) for n in norms if n.size) if ratios else 0.0
    if ratios and (max(ratios) > 50 or largest > 1e4):
        out.append(_finding("exploding_gradients", f"largest first/last ratio {max(ratios):.3g}, largest kernel "
                            f"gradient norm {largest:.3g}", ratios=ratios))
    if (start_loss is not None and np.isfinite(start_loss) and start_loss > 0 and loss_curve[0] > 1.5 * start_loss
            and loss_curve[0] - start_loss > 0.5):
        # the first epoch's mean loss is an average over the first steps: far above the untrained model's
        # loss, those steps overshot (a sound learning rate does not make the loss worse than at the start)
        out.append(_finding("learning_rate_too_high",
                            f"the first epoch's loss {_num(loss_curve[0])} is {loss_curve[0] / start_loss:.1f}x the "
                            f"untrained model's {_num(start_loss)}: the first steps overshoot",
                            start_loss=start_loss, first_epoch_loss=float(loss_curve[0])))
    if len(epochs) >= 3 and not np.any(loss_curve < 0):
        best = int(loss_curve.argmin())
        rebound = float(loss_curve[-1] / loss_curve[best] - 1) if loss_curve[best] > 0 else 0.0
        scale = 0.05 * abs(loss_curve[0])  # rises smaller than this are noise near convergence
        rises = np.diff(loss_curve)
        jumps = int(np.sum((rises > 0.1 * loss_curve[:-1]) & (rises > scale)))
        if (rebound > 0.5 and loss_curve[-1] - loss_curve[best] > scale) or jumps >= 2:
            out.append(_finding("learning_rate_too_high",
                                f"loss {' -> '.join(_num(v) for v in loss_curve[:12])}"
                                f"{' ...' if len(loss_curve) > 12 else ''}: {jumps} epochs rose by more than 10%, "
                                f"final loss {rebound:.0%} above the best (epoch {best + 1})",
                                rebound=rebound, rises=jumps))
    hist = np.asarray(epochs[-1].get("pred_hist") or [], dtype=np.int64)
    lab = None if labels is None else _class_indices(np.asarray(labels), loss)
    n_label_classes = 0 if lab is None or lab.size == 0 or lab.min() < 0 else int(np.sum(np.bincount(lab) > 0))
    if hist.size and int(np.sum(hist > 0)) == 1 and n_label_classes >= 2:
        c = int(np.flatnonzero(hist)[0])
        out.append(_finding("prediction_collapse", f"every one of {int(hist.sum())} probe predictions is class {c} "
                            f"while the labels have {n_label_classes} classes", pred_hist=hist))
    if hidden == 0 and lab is not None and n_label_classes >= 2 and train_accuracy is not None and len(epochs) >= 5:
        majority = float(np.bincount(lab).max() / lab.size)
        if train_accuracy <= majority + 0.1:
            out.append(_finding("linear_model_at_chance",
                                f"training accuracy {train_accuracy:.3f} against a majority-class rate {majority:.3f} "
                                f"after {len(epochs)} epochs, with no hidden layer", accuracy=train_accuracy,
                                majority=majority))
    return out


# -------------------------------------------------------------------------------------------- outcome
def check_outcome(y_true, probabilities, *, loss: str = "categorical_crossentropy",
                  n_outputs: Optional[int] = None) -> tuple[dict, list[Finding]]:
    """Per-class recall, balanced accuracy and confusion matrix on held-out data; a minority class missed."""
    from sklearn.metrics import balanced_accuracy_score, confusion_matrix

    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim == 1:
        p = p[:, None]
    n_out = n_outputs or p.shape[1]
    pred = _predicted_classes(p)
    y = _class_indices(np.asarray(y_true), loss)
    if y is None or y.shape != pred.shape or y.min() < 0:
        return {}, []
    n_classes = max(2, n_out, int(y.max()) + 1)
    labels = list(range(n_classes))
    cm = confusion_matrix(y, pred, labels=labels)
    support = cm.sum(1)
    recall = [float(cm[c, c] / support[c]) if support[c] else None for c in labels]
    metrics = {"n": int(y.size), "accuracy": float(np.mean(pred == y)),
               "balanced_accuracy": float(balanced_accuracy_score(y, pred)), "recall": recall,
               "support": support.tolist(), "confusion_matrix": cm.tolist(),
               "predicted": np.bincount(pred, minlength=n_classes).tolist()}
    out = []
    freq = support / max(1, support.sum())
    present = [c for c in labels if support[c] > 0]
    if len(present) >= 2:
        minority = [c for c in present if freq[c] < 0.5 / len(present)]
        missed = [c for c in minority if recall[c] is not None and recall[c] < 0.5]
        if missed:
            out.append(_finding("minority_class_ignored",
                                "; ".join(f"class {c}: recall {recall[c]:.2f} on {support[c]} samples "
                                          f"({100 * freq[c]:.1f}% of the data)" for c in missed)
                                + f"; balanced accuracy {metrics['balanced_accuracy']:.3f} vs accuracy "
                                  f"{metrics['accuracy']:.3f}", classes=missed, recall=recall))
    return metrics, out


# -------------------------------------------------------------- the frameworks' doctors' measurements
def setup_record(y: np.ndarray, outputs: np.ndarray, *, loss: str, from_logits: bool, alpha: Any,
                 output_activation: str, class_weight: Optional[dict], sample_weight, n_dense: int,
                 grad_norms: Callable[[], list[float]]) -> dict:
    """The set-up facts a framework's doctor measures before training (``setup`` of :func:`diagnose`).

    ``outputs``: the model's outputs on the probe inputs; ``loss``, ``from_logits``, ``alpha``: the
    loss's facts (the doctors' ``loss_facts``); ``grad_norms``: measures the per-layer gradient norms
    at the start (a loss that rejects the labels raises ValueError: no norms, check_setup says why).
    """
    try:
        start_grad_norms = grad_norms()
    except ValueError:
        start_grad_norms = None
    return {"y": y, "loss": loss, "n_outputs": int(outputs.shape[1]) if outputs.ndim == 2 else 1,
            "output_activation": output_activation, "from_logits": from_logits, "class_weight": class_weight,
            "sample_weight": sample_weight, "alpha": alpha, "predictions": outputs, "n_dense": n_dense,
            "start_grad_norms": start_grad_norms}


def epoch_record(loss_value: float, grad_norms: list[float], outputs: np.ndarray, output_activation: str) -> dict:
    """One per-epoch record for :func:`check_training` from the model's outputs on the probe.

    The fraction of probabilities at the clip (probability outputs only) and the predicted-class
    histogram (a one-unit output predicts 1 above 0.5, or above 0 for a logit).
    """
    probs = outputs if output_activation in PROBABILITY_ACTIVATIONS else None
    pred = _predicted_classes(outputs, 0.5 if probs is not None else 0.0)
    return {"loss": float(loss_value), "grad_norms": grad_norms,
            "clip_fraction": float(np.mean((probs <= EPS) | (probs >= 1 - EPS))) if probs is not None else 0.0,
            "pred_hist": np.bincount(pred, minlength=max(2, outputs.shape[1])).tolist()}


def train_accuracy(y: np.ndarray, loss: str, outputs: np.ndarray) -> Optional[float]:
    """Accuracy of ``outputs`` (probabilities, one row per label) on labels ``y`` as given to ``loss``."""
    idx = _class_indices(y, loss)
    if idx is None or idx.shape != (len(outputs),):
        return None
    return float(np.mean(_predicted_classes(outputs) == idx))


def start_loss(setup: dict) -> Optional[float]:
    """The untrained model's loss on the probe, from the set-up facts (``None`` where it cannot be known).

    Categorical, sparse categorical and binary crossentropy, Keras's reduction (the weighted sum over
    the number of samples), from the outputs measured before training, by the float64 oracle of
    Keras's losses (:mod:`scenarios.oracle`): probabilities through Keras's clip to [1e-7, 1 - 1e-7],
    logits (``from_logits`` with a linear output) through the softmax / sigmoid crossentropy. Saturated probabilities (1% or more at the clip) give ``None``: the
    logits behind them, which Keras would use, are not known.

    Example:
        >>> import numpy as np
        >>> round(start_loss({"y": np.array([0, 1]), "loss": "sparse_categorical_crossentropy",
        ...                   "predictions": np.full((2, 2), 0.5), "output_activation": "softmax"}), 4)
        0.6931
    """
    loss = setup.get("loss")
    p, y = setup.get("predictions"), setup.get("y")
    if loss not in CATEGORICAL[:1] + SPARSE + ("binary_crossentropy",) or p is None or y is None:
        return None
    p, y = np.asarray(p, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if p.ndim != 2 or len(y) != len(p) or not np.all(np.isfinite(p)) or not np.all(np.isfinite(y)):
        return None
    logits = bool(setup.get("from_logits")) and str(setup.get("output_activation") or "linear").lower() \
        not in PROBABILITY_ACTIVATIONS
    if not logits and (p.min() < 0 or p.max() > 1 or np.mean((p <= EPS) | (p >= 1 - EPS)) >= 0.01):
        return None
    if loss == "binary_crossentropy":
        t = y.reshape(len(y), -1)
        if t.shape[1] != p.shape[1]:
            return None
        per = oracle.binary_crossentropy(t, p, from_logits=logits)
    elif loss in SPARSE:
        idx = y.reshape(-1)
        if idx.shape != (len(p),) or np.any(idx != np.round(idx)) or idx.min() < 0 or idx.max() >= p.shape[1]:
            return None
        per = oracle.sparse_categorical_crossentropy(idx, p, from_logits=logits)[0]
    else:
        if y.shape != p.shape:
            return None
        per = oracle.categorical_crossentropy(y, p, from_logits=logits)
    w = setup.get("sample_weight")
    if w is not None and np.size(w) == len(per):
        w = np.asarray(w, dtype=np.float64).reshape(-1)
    elif setup.get("class_weight"):
        idx = _class_indices(np.asarray(setup["y"]), loss)
        if idx is None:
            return None
        cw = setup["class_weight"]
        w = np.array([float(cw.get(int(c), 1.0)) for c in idx])
    else:
        w = np.ones_like(per)
    return float(np.sum(w * per) / len(per))


# ------------------------------------------------------------------------------------------ the whole
def diagnose(setup: Optional[dict] = None, epochs: Optional[Sequence[dict]] = None,
             outcome: Optional[dict] = None) -> dict:
    """Run the three stages from a measurement record (what the frameworks' doctors produce).

    ``setup``: keyword arguments of :func:`check_setup` plus ``n_dense`` and ``labels``;
    ``epochs``: the per-epoch records; ``outcome``: ``{"y_true", "probabilities"}`` on held-out data.
    Returns ``{"findings": [...], "outcome": metrics}`` (JSON-ready).
    """
    setup = dict(setup or {})
    findings: list[Finding] = []
    n_dense = int(setup.pop("n_dense", 0) or 0)
    train_accuracy = setup.pop("train_accuracy", None)
    start_grad_norms = setup.pop("start_grad_norms", None)
    if setup:
        findings += check_setup(setup["y"], **{k: v for k, v in setup.items() if k != "y"})
    if epochs:
        findings += check_training(epochs, n_dense=n_dense, labels=setup.get("y"), loss=setup.get("loss", ""),
                                   n_outputs=setup.get("n_outputs", 2), train_accuracy=train_accuracy,
                                   start_grad_norms=start_grad_norms, start_loss=start_loss(setup))
    metrics: dict = {}
    if outcome is not None and outcome.get("probabilities") is not None:
        metrics, f = check_outcome(outcome["y_true"], outcome["probabilities"], loss=setup.get("loss", ""),
                                   n_outputs=setup.get("n_outputs"))
        findings += f
    return {"findings": _one_per_rule(findings), "outcome": metrics}


def _one_per_rule(findings: Iterable[Finding]) -> list[dict]:
    """The findings as dicts, the first of each rule only."""
    seen, unique = set(), []
    for f in findings:
        if f.id not in seen:
            seen.add(f.id)
            unique.append(asdict(f))
    return unique


def load_array(path: str, what: str) -> np.ndarray:
    """A numeric array from ``.npy``, ``.npz`` (its only array), ``.csv``/``.txt``; ``ValueError`` says what is wrong."""
    from pathlib import Path

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{what}: no such file: {path}")
    try:
        if p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                if len(z.files) != 1:
                    raise ValueError(f"{what}: {path} holds {len(z.files)} arrays ({', '.join(z.files)}); "
                                     "save exactly one")
                a = z[z.files[0]]
        elif p.suffix in (".csv", ".txt"):
            a = np.loadtxt(p, delimiter="," if p.suffix == ".csv" else None, ndmin=1)
        else:
            a = np.load(p, allow_pickle=False)
    except ValueError as e:
        if str(e).startswith(what):
            raise
        raise ValueError(f"{what}: cannot read {path} as a numeric array ({e})") from None
    except OSError as e:
        raise ValueError(f"{what}: cannot read {path}: {e}") from None
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{what}: {path} has dtype {a.dtype}; expected numbers (int, float or bool)")
    if a.ndim == 0 or a.size == 0:
        raise ValueError(f"{what}: {path} is empty or a scalar (shape {a.shape}); expected one entry per sample")
    return a


def diagnose_arrays(y_true, predictions, *, loss: str, from_logits: bool = False,
                    class_weight: Optional[dict] = None) -> dict:
    """The doctor on a user's own arrays: labels as given to ``loss`` and the model's outputs for them.

    Checks the labels against the loss and the outputs against ``from_logits``, then treats the
    predictions as held-out: recall, balanced accuracy, confusion matrix, a minority class missed,
    predictions collapsed onto one class, outputs at the clip.
    """
    y = np.asarray(y_true)
    p = np.asarray(predictions, dtype=np.float64)
    if p.ndim > 2 or (p.ndim == 2 and p.shape[1] == 0):
        raise ValueError(f"predictions must have shape (samples,) or (samples, classes); got {p.shape}")
    if y.shape[0] != p.shape[0]:
        raise ValueError(f"labels have {y.shape[0]} samples but predictions have {p.shape[0]}")
    known = CATEGORICAL + SPARSE + BINARY
    if loss not in known:
        raise ValueError(f"unknown loss {loss!r}; known: {', '.join(known)}")
    n_out = 1 if p.ndim == 1 else p.shape[1]
    findings = check_setup(y, loss=loss, n_outputs=n_out, from_logits=from_logits, class_weight=class_weight,
                           predictions=p)
    if from_logits:  # the doctor reads probabilities
        z = p if p.ndim == 2 else p[:, None]
        probs = 1 / (1 + np.exp(-z)) if z.shape[1] == 1 else np.exp(z - z.max(1, keepdims=True))
        if z.shape[1] > 1:
            probs = probs / probs.sum(1, keepdims=True)
    else:
        probs = p if p.ndim == 2 else p[:, None]
    finite = np.isfinite(probs)
    numbers: dict = {"clip_fraction": float(np.mean(finite & ((probs <= EPS) | (probs >= 1 - EPS))))}
    if not np.all(finite):
        findings.append(_finding("non_finite", f"{int(np.sum(~finite))} predictions are NaN/inf"))
    metrics, f = check_outcome(y, np.where(finite, probs, 0.0), loss=loss, n_outputs=n_out)
    findings += f
    if metrics:
        predicted = np.asarray(metrics["predicted"])
        support = np.asarray(metrics["support"])
        if int(np.sum(predicted > 0)) == 1 and int(np.sum(support > 0)) >= 2:
            findings.append(_finding("prediction_collapse",
                                     f"every one of {metrics['n']} predictions is class {int(predicted.argmax())} "
                                     f"while the labels have {int(np.sum(support > 0))} classes",
                                     pred_hist=predicted))
    if numbers["clip_fraction"] >= 0.5:
        metrics["note"] = (f"{100 * numbers['clip_fraction']:.0f}% of the probabilities are at the 1e-7 clip: "
                           "if they come from a hand-made softmax they get no gradient (use logits)")
    metrics.update(numbers)
    return {"findings": _one_per_rule(findings), "outcome": metrics}


def render(diagnosis: dict, title: str = "") -> str:
    """A plain-text report of :func:`diagnose`'s result."""
    lines = [title] if title else []
    findings = diagnosis.get("findings", [])
    if not findings:
        lines.append("No findings: nothing in the numbers points to a known failure mode.")
    for f in findings:
        lines.append(f"[{f['severity'].upper()}] {f['id']} ({f['stage']} training): {f['title']}")
        lines.append(f"    evidence: {f['evidence']}")
        lines.append(f"    fix:      {f['fix']}")
    m = diagnosis.get("outcome") or {}
    if m.get("confusion_matrix") is not None:
        lines.append(f"held-out: accuracy {m['accuracy']:.3f}, balanced accuracy {m['balanced_accuracy']:.3f}, "
                     "recall per class [" + ", ".join("-" if r is None else f"{r:.2f}" for r in m["recall"]) + "]")
        lines.append("confusion matrix (rows: true class, columns: predicted):")
        lines += ["    " + " ".join(f"{v:6d}" for v in row) for row in m["confusion_matrix"]]
    if m.get("note"):
        lines.append(m["note"])
    return "\n".join(lines)


def ids(diagnosis: dict, severities: Iterable[str] = ("error", "warning")) -> list[str]:
    """The finding ids of a diagnosis at the given severities."""
    sev = set(severities)
    return [f["id"] for f in diagnosis.get("findings", []) if f["severity"] in sev]


def to_json(diagnosis: dict) -> str:
    return json.dumps(_plain(diagnosis), indent=1)

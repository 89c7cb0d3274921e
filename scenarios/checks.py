"""Measure a scenario run and evaluate its checks (NumPy only).

:func:`summarise` turns a runner's output into plain numbers: the loss and
accuracy curves, predicted-class histograms, per-class recall on the test set,
the mean predicted probability (one-unit outputs), the fraction of output
probabilities at the 1e-7 clip, and the first/last layer gradient-norm ratio.
:func:`evaluate_checks` applies a scenario's ``checks`` to a summary (some
checks compare with another scenario's summary).

Example:
    >>> import numpy as np
    >>> s = summarise({"history": {"loss": [1.0, 0.5]}, "probabilities": np.array([[0.9, 0.1], [0.8, 0.2]])},
    ...               y=np.array([0, 1]))
    >>> s["pred_hist_train"], evaluate_checks([("single_class_predicted", "train")], s, {})[0]["passed"]
    ([2, 0], True)
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

__all__ = ["summarise", "evaluate_checks"]

EPS = 1e-7


def _classes(probs: np.ndarray) -> np.ndarray:
    return (probs[:, 0] > 0.5).astype(int) if probs.shape[1] == 1 else probs.argmax(1)


def _labels(y: np.ndarray, n_out: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return np.where(y.sum(1) > 0, y.argmax(1), -1)  # an all-zero target row has no class
    return y.reshape(-1).astype(int)


def summarise(result: dict, y: np.ndarray, y_test: Optional[np.ndarray] = None) -> dict[str, Any]:
    """Plain-number summary of one framework's run (see the module docstring)."""
    probs = np.asarray(result["probabilities"], dtype=np.float64)
    n_out = probs.shape[1]
    n_classes = max(2, n_out)
    hist = result["history"]
    pred = _classes(probs)
    out: dict[str, Any] = {
        "loss": [float(v) for v in hist.get("loss", [])],
        "accuracy": [float(v) for v in hist.get("accuracy", [])],
        "pred_hist_train": np.bincount(pred, minlength=n_classes).tolist(),
        "clip_fraction": float(np.mean((probs <= EPS) | (probs >= 1 - EPS))),
        "mean_prediction": float(probs.mean()) if n_out == 1 else None,
    }
    labels = _labels(y, n_out)
    if n_out == 1:  # one sigmoid unit: how each label value is predicted, and the clipped-probability floor
        raw = np.asarray(y, dtype=np.float64).reshape(-1)
        if raw.shape == pred.shape:
            out["positive_rate_by_label"] = {_key(v): float(np.mean(pred[raw == v])) for v in np.unique(raw)}
            out["bce_probability_floor"] = _bce_probability_floor(raw)
    if labels.shape == pred.shape and labels.size and labels.min() >= 0 and labels.max() < n_classes:
        out["train_accuracy"] = float(np.mean(pred == labels))
        out["label_hist_train"] = np.bincount(labels, minlength=n_classes).tolist()
        out["recall_train"] = _recall(pred, labels, n_classes)
    else:  # labels that are not classes of this output (e.g. 0..3 into one sigmoid unit)
        out["train_accuracy"] = None
    test = result.get("test_probabilities")
    if test is not None and y_test is not None:
        tp = _classes(np.asarray(test, dtype=np.float64))
        yt = _labels(y_test, n_out)
        out["pred_hist_test"] = np.bincount(tp, minlength=n_classes).tolist()
        out["recall_test"] = _recall(tp, yt, n_classes)
        out["label_hist_test"] = np.bincount(yt, minlength=n_classes).tolist()
        out["test_accuracy"] = float(np.mean(tp == yt))
    g = result.get("grad_norms")
    if g:
        out["grad_norms"] = [float(v) for v in g]
        out["grad_ratio"] = float(g[0] / g[-1]) if g[-1] else float("inf")
    if out.get("recall_test") is not None:
        present = [r for r in out["recall_test"] if r is not None]
        out["test_balanced_accuracy"] = float(np.mean(present)) if present else None
    return out


def _key(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _bce_probability_floor(y: np.ndarray) -> float:
    """The lowest mean binary crossentropy reachable through clipped probabilities (p in [1e-7, 1 - 1e-7]).

    For a label y the loss -(y log p + (1 - y) log(1 - p)) is smallest at p = clip(y): a label above 1
    is rewarded most at p = 1 - 1e-7, so through probabilities the loss is bounded below. Keras on a
    sigmoid layer computes it from the logits instead, where the bound does not exist.
    """
    p = np.clip(y, EPS, 1 - EPS)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def _recall(pred: np.ndarray, labels: np.ndarray, n_classes: int) -> list:
    return [float(np.mean(pred[labels == c] == c)) if np.any(labels == c) else None for c in range(n_classes)]


def _hist(summary: dict, split: str) -> list:
    return summary["pred_hist_test" if split == "test" else "pred_hist_train"]


def evaluate_checks(checks: list, summary: dict, others: dict[str, dict]) -> list[dict]:
    """[{check, passed, measured}] for every check; ``others`` maps scenario name -> summary."""
    out = []
    for check in checks:
        kind, args = check[0], check[1:]
        loss = summary.get("loss") or [float("nan")]
        measured: Any
        if kind == "loss_exactly":
            measured = max(abs(v - args[0]) for v in loss)
            ok = measured == 0.0
        elif kind == "loss_decreases":
            measured = (loss[0] - loss[-1]) / abs(loss[0]) if loss[0] else 0.0
            ok = measured >= args[0]
        elif kind == "loss_rebounds":  # the final loss above the best one by at least this fraction
            best = min(loss)
            measured = loss[-1] / best - 1 if best > 0 else 0.0
            ok = measured >= args[0]
        elif kind in ("loss_constant_fraction", "loss_constant_fraction_above"):
            measured = (max(loss) - min(loss)) / abs(loss[0]) if loss[0] else 0.0
            ok = measured <= args[0] if kind == "loss_constant_fraction" else measured > args[0]
        elif kind == "loss_curve_matches_other":  # the same trajectory, epoch by epoch, within args[1] relative
            other = others.get(args[0])
            measured = (None if other is None or len(other["loss"]) != len(loss) else
                        max(abs(a - b) / max(abs(b), 1e-300) for a, b in zip(loss, other["loss"])))
            ok = measured is not None and measured <= args[1]
        elif kind == "loss_rises_at_least":  # epochs whose loss rose by more than args[0] (relative): >= args[1]
            measured = sum(1 for a, b in zip(loss, loss[1:]) if b > a * (1 + args[0]))
            ok = measured >= args[1]
        elif kind == "loss_rebounds_peak":  # the highest loss after the best epoch, above the best by this fraction
            best = int(np.argmin(loss))
            measured = max(loss[best:]) / loss[best] - 1 if loss[best] > 0 else 0.0
            ok = measured >= args[0]
        elif kind == "first_loss_above_other":
            other = others.get(args[0])
            measured = (loss[0], None if other is None else other["loss"][0])
            ok = other is not None and loss[0] > other["loss"][0]
        elif kind == "final_drop_at_least":  # the loss still falls by this much in the last epoch
            measured = loss[-2] - loss[-1] if len(loss) >= 2 else 0.0
            ok = measured >= args[0]
        elif kind == "final_loss_below_probability_floor":
            measured = (loss[-1], summary.get("bce_probability_floor"))
            ok = measured[1] is not None and loss[-1] < measured[1]
        elif kind in ("positive_rate_at_least", "positive_rate_at_most"):  # one sigmoid unit, per label value
            rates = summary.get("positive_rate_by_label") or {}
            vals = [rates.get(_key(v)) for v in args[0]]
            measured = None if any(v is None for v in vals) else (min(vals) if kind.endswith("least") else max(vals))
            ok = measured is not None and (measured >= args[1] if kind.endswith("least") else measured <= args[1])
        elif kind == "min_grad_norm_above":
            measured = min(summary.get("grad_norms") or [0.0])
            ok = measured > args[0]
        elif kind in ("test_balanced_accuracy_below", "test_balanced_accuracy_above"):
            measured = summary.get("test_balanced_accuracy")
            ok = measured is not None and (measured < args[0] if kind.endswith("below") else measured > args[0])
        elif kind == "final_loss_above":
            measured = loss[-1]
            ok = measured > args[0]
        elif kind == "final_loss_below":
            measured = loss[-1]
            ok = measured < args[0]
        elif kind == "final_loss_above_other":
            other = others.get(args[0])
            measured = (loss[-1], None if other is None else other["loss"][-1])
            ok = other is not None and loss[-1] > other["loss"][-1]
        elif kind == "single_class_predicted":
            measured = _hist(summary, args[0])
            ok = sum(1 for c in measured if c) == 1
        elif kind == "classes_predicted_at_least":
            measured = _hist(summary, args[1])
            ok = sum(1 for c in measured if c) >= args[0]
        elif kind in ("recall_at_least", "recall_at_most"):
            measured = summary["recall_test"][args[0]]
            ok = measured is not None and (measured >= args[1] if kind == "recall_at_least" else measured <= args[1])
        elif kind in ("min_minority_recall_at_least", "min_minority_recall_at_most"):
            measured = min(r for r in summary["recall_test"][1:] if r is not None)
            ok = measured >= args[0] if kind.endswith("least") else measured <= args[0]
        elif kind == "grad_ratio_below":
            measured = summary["grad_ratio"]
            ok = measured < args[0]
        elif kind == "grad_ratio_above":
            measured = summary["grad_ratio"]
            ok = measured > args[0]
        elif kind == "mean_prediction_above":
            measured = summary["mean_prediction"]
            ok = measured > args[0]
        elif kind == "mean_prediction_between":
            measured = summary["mean_prediction"]
            ok = args[0] < measured < args[1]
        elif kind == "clip_fraction_above":
            measured = summary["clip_fraction"]
            ok = measured > args[0]
        elif kind == "test_accuracy_above":
            measured = summary.get("test_accuracy")
            ok = measured is not None and measured > args[0]
        elif kind == "test_accuracy_below":
            measured = summary.get("test_accuracy")
            ok = measured is not None and measured < args[0]
        elif kind == "test_accuracy_above_other":
            other = others.get(args[0])
            measured = (summary.get("test_accuracy"), None if other is None else other.get("test_accuracy"))
            ok = other is not None and summary["test_accuracy"] > other["test_accuracy"]
        else:
            raise ValueError(f"unknown check {kind!r}")
        out.append({"check": " ".join(str(a) for a in check), "passed": bool(ok), "measured": measured})
    return out

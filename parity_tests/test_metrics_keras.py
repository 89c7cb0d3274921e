"""``torch_impl.metrics`` against ``keras.metrics`` (keras 3.15.1, TensorFlow backend).

Every metric class, in several configurations, is fed the same three batches on both sides (with and without
sample weights, float64 and float32) and its ``result()`` compared after each batch. The batches hold the
values that decide the counts: predictions exactly on a threshold or a bucket edge of AUC's 200 thresholds,
0 and 1, values outside [0, 1] (AUC clips them, Precision does not), ties for argmax and top-k; regression
targets with zeros (MAPE's epsilon, MSLE's clip), -1/1 hinge labels, and segmentation maps for the IoUs with
class ids out of range, fractional ids, -0.0 / NaN / tied scores.
Then whole training runs: ``torch_impl.fit`` with metric names and objects against ``keras.Model.fit``.
"""

from __future__ import annotations

import contextlib
import re
import warnings
import zlib

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

from keras_impl.metrics import keras_metric_class  # noqa: E402
from parity_tests.test_field_scripts_round2 import _check_history, _dense, _precision  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, metrics, optim  # noqa: E402
from torch_impl.callbacks import EarlyStopping  # noqa: E402

pytestmark = pytest.mark.keras

TOL = {"float64": (1e-12, 1e-12), "float32": (1e-5, 1e-6)}  # rtol, atol


# --------------------------------------------------------------------------------------------------------------
# data: three batches per kind
# --------------------------------------------------------------------------------------------------------------


_SEGMENT_KINDS = ("segment", "segment_probs", "segment_onehot", "onehot_ids")


def _batches(kind: str, seed: int, weighted: bool):
    rng = np.random.default_rng(seed)
    out = []
    for b in range(3):
        n = 24 + 5 * b
        if kind in ("binary", "multilabel"):
            width = 1 if kind == "binary" else 4
            y = (rng.random((n, width)) < 0.4).astype(np.float64)
            p = rng.random((n, width))
            edges = np.concatenate([[0.0, 1.0, 0.5, 0.2, 0.8, 0.25, 0.75, 1.0 / 199, 100.0 / 199, 1e-7, 0.7, 0.3],
                                    rng.integers(0, 200, 6) / 199.0, [-0.1, 1.2]])
            flat = p.reshape(-1)
            flat[rng.choice(flat.size, edges.size, replace=False)] = edges
            out.append((y, p))
        elif kind in ("onehot", "sparse", "sparse_n1", "logits_onehot", "logits_sparse"):
            c = 5
            z = rng.normal(size=(n, c)) * 2
            z[:3] = np.round(z[:3])  # ties
            z[3, :] = 1.0
            z[4, 1] = z[4, 3] = z[4].max() + 1
            labels = rng.integers(0, c, n)
            if kind.startswith("logits"):
                p = z
            else:
                e = np.exp(z - z.max(1, keepdims=True))
                p = e / e.sum(1, keepdims=True)
                p[:5] = np.round(p[:5], 2)  # exact ties survive
            y = {"onehot": np.eye(c)[labels], "logits_onehot": np.eye(c)[labels], "sparse": labels,
                 "logits_sparse": labels, "sparse_n1": labels[:, None]}[kind]
            out.append((y, p))
        elif kind == "exact":
            y = rng.integers(0, 3, (n, 1)).astype(np.float64)
            p = rng.integers(0, 3, (n, 1)).astype(np.float64)
            out.append((y, p))
        elif kind in ("regression", "regression_3d"):
            y = rng.normal(size=(n, 4) if kind == "regression" else (n, 5, 3)) * 2 + 0.5
            p = y + rng.normal(size=y.shape) * 0.7
            y.reshape(-1)[rng.choice(y.size, 3, replace=False)] = 0.0  # MAPE's epsilon, MSLE's clip
            p.reshape(-1)[rng.choice(p.size, 2, replace=False)] = 1e-8
            out.append((y, p))
        elif kind == "counts":  # Poisson targets and positive rates
            y = rng.poisson(2.0, (n, 3)).astype(np.float64)
            p = np.exp(rng.normal(size=(n, 3)) * 0.5) * 2
            p[0, 0] = 0.0
            out.append((y, p))
        elif kind == "pm1":  # hinge labels -1 / 1 and scores
            y = rng.choice([-1.0, 1.0], (n, 3))
            p = rng.normal(size=(n, 3))
            p[:2] = np.round(p[:2])  # margins exactly 0 or 1
            out.append((y, p))
        elif kind in _SEGMENT_KINDS:  # 4 classes on 4x4 images
            c = 4
            ids = rng.integers(0, c, (n, 4, 4))
            scores = rng.random((n, 4, 4, c))
            scores[0, 0, 0] = [-0.0, 0.0, -0.0, 0.0]  # TensorFlow's argmax: -0.0 below 0.0
            scores[0, 0, 1] = [0.3, np.nan, 0.5, 0.2]  # argmax never picks NaN
            scores[0, 0, 2] = [0.1, 0.4, 0.4, 0.1]  # a tie: the lower index
            pred_ids = rng.integers(0, c, (n, 4, 4)).astype(np.float64)
            if kind == "segment":  # ids outside [0, 4), fractions (cast toward zero)
                y = np.where(rng.random(ids.shape) < 0.1, rng.choice([-1, 4, 255], ids.shape), ids)
                pred_ids.reshape(-1)[rng.choice(pred_ids.size, 8, replace=False)] = [-1, 4, -0.5, 2.5, 3.9, 0.7,
                                                                                     -0.5, 1.5]
                out.append((y, pred_ids))
            elif kind == "segment_probs":
                out.append((ids, scores))
            else:
                y = np.eye(c)[ids]
                y[rng.random(ids.shape) < 0.05] = 0.0  # an all-zero label row: argmax 0
                out.append((y, scores if kind == "segment_onehot" else pred_ids))
        else:
            raise ValueError(kind)
    if weighted:  # one weight per sample (per pixel for the segmentation kinds, as Keras's IoU needs)
        out = [(y, p, rng.choice([0.0, 0.5, 1.0, 2.5, 3.0], size=y.shape[:3] if kind in _SEGMENT_KINDS
                                 else y.shape[0])) for y, p in out]
    else:
        out = [(y, p, None) for y, p in out]
    return out


# (id, Keras class, kwargs, data kind); torch_impl's class has Keras's name and arguments
CASES = [
    ("accuracy", "Accuracy", {}, "exact"),
    ("binary_accuracy", "BinaryAccuracy", {}, "binary"),
    ("binary_accuracy_t03_multilabel", "BinaryAccuracy", {"threshold": 0.3}, "multilabel"),
    ("binary_accuracy_t07", "BinaryAccuracy", {"threshold": 0.7}, "binary"),  # float32(0.7) < 0.7: on edge data
    ("categorical_accuracy", "CategoricalAccuracy", {}, "onehot"),
    ("sparse_categorical_accuracy", "SparseCategoricalAccuracy", {}, "sparse"),
    ("sparse_categorical_accuracy_n1", "SparseCategoricalAccuracy", {}, "sparse_n1"),
    ("top_1", "TopKCategoricalAccuracy", {"k": 1}, "onehot"),
    ("top_2", "TopKCategoricalAccuracy", {"k": 2}, "onehot"),
    ("sparse_top_3", "SparseTopKCategoricalAccuracy", {"k": 3}, "sparse"),
    ("sparse_top_2_n1", "SparseTopKCategoricalAccuracy", {"k": 2}, "sparse_n1"),
    ("bce", "BinaryCrossentropy", {}, "binary"),
    ("bce_smoothed_multilabel", "BinaryCrossentropy", {"label_smoothing": 0.1}, "multilabel"),
    ("cce", "CategoricalCrossentropy", {}, "onehot"),
    ("cce_logits_smoothed", "CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2},
     "logits_onehot"),
    ("scce", "SparseCategoricalCrossentropy", {}, "sparse"),
    ("scce_logits", "SparseCategoricalCrossentropy", {"from_logits": True}, "logits_sparse"),
    ("scce_ignore_class", "SparseCategoricalCrossentropy", {"ignore_class": 2}, "sparse"),  # weighted: masked
    ("mse", "MeanSquaredError", {}, "multilabel"),
    ("mae", "MeanAbsoluteError", {}, "binary"),
    ("tp", "TruePositives", {}, "binary"),
    ("fp_multilabel", "FalsePositives", {}, "multilabel"),
    ("tn_thresholds", "TrueNegatives", {"thresholds": [0.2, 0.5, 0.8]}, "binary"),
    ("fn_even_thresholds", "FalseNegatives", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}, "multilabel"),
    ("precision", "Precision", {}, "binary"),
    ("precision_thresholds", "Precision", {"thresholds": [0.1, 0.5, 0.9]}, "multilabel"),
    ("precision_top_2", "Precision", {"top_k": 2}, "multilabel"),
    ("precision_class_1", "Precision", {"class_id": 1}, "onehot"),
    ("precision_top_2_class_3", "Precision", {"top_k": 2, "class_id": 3}, "multilabel"),
    ("precision_top_2_threshold", "Precision", {"top_k": 2, "thresholds": 0.25}, "multilabel"),
    ("precision_dtype_float16", "Precision", {"dtype": "float16"}, "binary"),  # counts in floatx, as Keras
    ("fp_dtype_float16", "FalsePositives", {"dtype": "float16", "thresholds": [0.3, 0.7]}, "binary"),
    ("recall", "Recall", {}, "binary"),
    ("recall_even_thresholds", "Recall", {"thresholds": [0.0, 0.5, 1.0]}, "multilabel"),
    ("recall_top_1", "Recall", {"top_k": 1}, "onehot"),
    ("auc", "AUC", {}, "binary"),
    ("auc_multilabel_flat", "AUC", {}, "multilabel"),
    ("auc_pr", "AUC", {"curve": "PR"}, "binary"),
    ("auc_pr_majoring", "AUC", {"curve": "PR", "summation_method": "majoring"}, "multilabel"),
    ("auc_roc_minoring", "AUC", {"summation_method": "minoring"}, "binary"),
    ("auc_prgain", "AUC", {"curve": "PRGAIN"}, "multilabel"),
    ("auc_3_thresholds", "AUC", {"num_thresholds": 3}, "binary"),
    ("auc_50_thresholds_pr", "AUC", {"num_thresholds": 50, "curve": "pr"}, "multilabel"),
    ("auc_given_thresholds", "AUC", {"thresholds": [0.6, 0.3, 0.5]}, "binary"),
    ("auc_given_even_thresholds", "AUC", {"thresholds": [0.25, 0.5, 0.75]}, "multilabel"),
    ("auc_multi_label", "AUC", {"multi_label": True}, "multilabel"),
    ("auc_multi_label_pr_weights", "AUC", {"multi_label": True, "curve": "PR", "label_weights": [1, 2, 0, 1]},
     "multilabel"),
    ("auc_multi_label_given_thresholds", "AUC", {"multi_label": True, "thresholds": [0.2, 0.7]}, "multilabel"),
    ("auc_label_weights_flat", "AUC", {"label_weights": [0.5, 1, 2, 1]}, "multilabel"),
    ("auc_from_logits", "AUC", {"from_logits": True}, "logits_onehot"),
    ("auc_dtype_float16_pr", "AUC", {"dtype": "float16", "curve": "PR"}, "multilabel"),
    ("auc_thresholds_outside_0_1", "AUC", {"thresholds": [-0.5, 0.3, 1.5]}, "binary"),  # Keras takes them
    ("f1", "F1Score", {}, "onehot"),
    ("f1_micro_threshold", "F1Score", {"average": "micro", "threshold": 0.5}, "multilabel"),
    ("f1_macro", "F1Score", {"average": "macro"}, "onehot"),
    ("fbeta_weighted", "FBetaScore", {"average": "weighted", "beta": 2.0, "threshold": 0.3}, "multilabel"),
    # at a fixed sensitivity / specificity / precision / recall
    ("sens_at_spec", "SensitivityAtSpecificity", {"specificity": 0.5}, "binary"),
    ("sens_at_spec_2_thresholds", "SensitivityAtSpecificity", {"specificity": 0.0, "num_thresholds": 2},
     "multilabel"),
    ("spec_at_sens_50_thresholds", "SpecificityAtSensitivity", {"sensitivity": 0.8, "num_thresholds": 50},
     "multilabel"),
    ("precision_at_recall_class_2", "PrecisionAtRecall", {"recall": 0.6, "class_id": 2}, "onehot"),
    ("recall_at_precision", "RecallAtPrecision", {"precision": 0.4}, "binary"),
    ("recall_at_precision_1_threshold", "RecallAtPrecision", {"precision": 0.4, "num_thresholds": 1},
     "multilabel"),
    # regression
    ("rmse", "RootMeanSquaredError", {}, "regression"),
    ("rmse_3d", "RootMeanSquaredError", {}, "regression_3d"),
    ("mape", "MeanAbsolutePercentageError", {}, "regression"),
    ("msle", "MeanSquaredLogarithmicError", {}, "regression"),
    ("cosine", "CosineSimilarity", {}, "regression"),
    ("cosine_axis_1", "CosineSimilarity", {"axis": 1}, "regression_3d"),
    ("logcosh", "LogCoshError", {}, "regression"),
    ("r2", "R2Score", {}, "regression"),
    ("r2_variance_weighted", "R2Score", {"class_aggregation": "variance_weighted_average"}, "regression"),
    ("r2_per_output", "R2Score", {"class_aggregation": None}, "regression"),
    ("r2_adjusted", "R2Score", {"num_regressors": 3}, "regression"),
    ("r2_adjusted_fallback_first", "R2Score", {"num_regressors": 150}, "regression"),
    ("r2_single_output", "R2Score", {}, "binary"),
    ("pearson", "PearsonCorrelation", {}, "regression"),
    ("pearson_axis_1", "PearsonCorrelation", {"axis": 1}, "regression_3d"),
    ("concordance", "ConcordanceCorrelation", {}, "regression"),
    ("concordance_axis_1", "ConcordanceCorrelation", {"axis": 1}, "regression_3d"),
    # hinge and probabilistic
    ("hinge_01_labels", "Hinge", {}, "binary"),
    ("hinge_pm1", "Hinge", {}, "pm1"),
    ("squared_hinge_pm1", "SquaredHinge", {}, "pm1"),
    ("squared_hinge_01_multilabel", "SquaredHinge", {}, "multilabel"),
    ("categorical_hinge", "CategoricalHinge", {}, "onehot"),
    ("categorical_hinge_logits", "CategoricalHinge", {}, "logits_onehot"),
    ("kld", "KLDivergence", {}, "onehot"),
    ("kld_clipped_multilabel", "KLDivergence", {}, "multilabel"),
    ("poisson", "Poisson", {}, "counts"),
    # intersection over union
    ("iou_classes_0_2", "IoU", {"num_classes": 4, "target_class_ids": [0, 2]}, "segment"),
    ("iou_class_3_float32_state", "IoU", {"num_classes": 4, "target_class_ids": [3], "dtype": "float32"},
     "segment"),
    ("iou_dense_true_and_pred", "IoU", {"num_classes": 4, "target_class_ids": [3, 1], "sparse_y_true": False,
                                        "sparse_y_pred": False}, "segment_onehot"),
    ("mean_iou", "MeanIoU", {"num_classes": 4}, "segment"),
    ("mean_iou_ignore_class", "MeanIoU", {"num_classes": 4, "ignore_class": 2}, "segment"),
    ("mean_iou_float64_state", "MeanIoU", {"num_classes": 4, "dtype": "float64"}, "segment"),
    ("mean_iou_dense_pred", "MeanIoU", {"num_classes": 4, "sparse_y_pred": False}, "segment_probs"),
    ("one_hot_iou", "OneHotIoU", {"num_classes": 4, "target_class_ids": [0, 3]}, "segment_onehot"),
    ("one_hot_iou_ignore_class", "OneHotIoU", {"num_classes": 4, "target_class_ids": [1, 2], "ignore_class": 0},
     "segment_onehot"),
    ("one_hot_mean_iou", "OneHotMeanIoU", {"num_classes": 4}, "segment_onehot"),
    ("one_hot_mean_iou_sparse_pred", "OneHotMeanIoU", {"num_classes": 4, "sparse_y_pred": True}, "onehot_ids"),
    ("binary_iou", "BinaryIoU", {}, "binary"),
    ("binary_iou_class_1_t03", "BinaryIoU", {"target_class_ids": [1], "threshold": 0.3}, "binary"),
]


def _run(cls_name: str, kwargs: dict, kind: str, dt: str, weighted: bool):
    batches = _batches(kind, seed=zlib.crc32((cls_name + kind).encode()) % 1000, weighted=weighted)
    k_res, t_res = [], []
    with _precision(dt) as tdt:
        km = keras_metric_class(cls_name)(**kwargs)  # with the upstream fixes torch_impl follows (R2Score)
        tm = getattr(metrics, cls_name)(**kwargs)
        for y, p, w in batches:
            yk = y.astype(dt) if y.dtype.kind == "f" else y
            # TensorFlow's in_top_k takes float32 scores only (Keras's top-k metrics raise on float64):
            # Keras gets them in float32, torch_impl in float64
            pk = p.astype("float32" if "TopK" in cls_name else dt)
            km.update_state(yk, pk, sample_weight=None if w is None else w.astype(dt))
            k_res.append(np.asarray(km.result()))
            yt = torch.as_tensor(yk)
            tm.update_state(yt, torch.as_tensor(p, dtype=tdt), None if w is None else torch.as_tensor(w, dtype=tdt))
            r = tm.result()
            # floatx, as Keras (float32 for the IoUs, which Keras computes in float32 whatever floatx)
            assert r.dtype == getattr(torch, k_res[-1].dtype.name) == (torch.float32 if "IoU" in cls_name else tdt)
            t_res.append(r.numpy().astype(np.float64))
    return k_res, t_res


@pytest.mark.filterwarnings("ignore:You are passing weight as `float`:UserWarning")  # the IoUs, both sides
@pytest.mark.filterwarnings("ignore:More independent predictors:UserWarning")  # R2Score's fall-back, both sides
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dt", ["float64", "float32"])
@pytest.mark.parametrize("case,cls_name,kwargs,kind", CASES, ids=[c[0] for c in CASES])
def test_metric_matches_keras(case, cls_name, kwargs, kind, dt, weighted):
    k_res, t_res = _run(cls_name, kwargs, kind, dt, weighted)
    rtol, atol = TOL[dt]
    k_res = [k.astype(np.float64) for k in k_res]
    err = max(float(np.max(np.abs(k - t))) for k, t in zip(k_res, t_res))
    print(f"{case} {dt} {'weighted' if weighted else 'unweighted'}: Keras {np.round(k_res[-1], 6).tolist()} "
          f"torch_impl {np.round(t_res[-1], 6).tolist()} max abs diff {err:.1e}")
    for k, t in zip(k_res, t_res):
        assert k.shape == t.shape
        np.testing.assert_allclose(t, k, rtol=rtol, atol=atol)


def test_top_k_float64_keras_fails_torch_impl_computes():
    """Keras's top-k accuracies fail on float64 scores (TensorFlow's ``InTopKV2`` has no double kernel);
    torch_impl computes them (the parity cases above compare with Keras given the scores in float32)."""
    tf = pytest.importorskip("tensorflow")
    y, p = np.eye(3)[[0, 2]], np.array([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]])
    with _precision("float64"):
        with pytest.raises(tf.errors.InvalidArgumentError):
            keras.metrics.TopKCategoricalAccuracy(k=1)(y, p)
        value = float(metrics.TopKCategoricalAccuracy(k=1)(torch.as_tensor(y), torch.as_tensor(p)))
    assert value == 0.5


def test_reset_and_call_like_keras():
    """``reset_state`` starts over; calling a metric updates it and returns the result (Keras's ``__call__``)."""
    y, p = np.array([[1.0], [0.0], [1.0]]), np.array([[0.9], [0.6], [0.3]])
    with _precision("float64"):
        km, tm = keras.metrics.AUC(), metrics.AUC()
        first = (float(km(y, p)), float(tm(torch.as_tensor(y), torch.as_tensor(p))))
        km.reset_state()
        tm.reset_state()
        second = (float(km(y[:2], p[:2])), float(tm(torch.as_tensor(y[:2]), torch.as_tensor(p[:2]))))
    print(f"AUC first {first}, after reset {second}")
    assert first[0] == pytest.approx(first[1], rel=1e-12) and second[0] == pytest.approx(second[1], rel=1e-12)
    assert second[0] != first[0]


def test_in_top_k_non_finite_and_out_of_range_like_tensorflow():
    """TensorFlow's ``in_top_k``: a row with a non-finite score is a miss; ties at the k-th score are hits."""
    tf = pytest.importorskip("tensorflow")
    pred = np.array([[0.1, np.nan, 0.3], [0.5, 0.5, 0.1], [0.2, 0.2, 0.2], [np.inf, 0.1, 0.0], [0.3, 0.2, 0.1]])
    labels = np.array([2, 1, 0, 0, 2])
    k_hits = tf.math.in_top_k(tf.constant(labels, tf.int32), tf.constant(pred, tf.float32), 1).numpy()
    t_hits = metrics._in_top_k(torch.as_tensor(labels), torch.as_tensor(pred, dtype=torch.float32), 1).numpy()
    print(f"in_top_k: TensorFlow {k_hits.tolist()} torch_impl {t_hits.tolist()}")
    assert k_hits.tolist() == t_hits.tolist()


def test_get_names_like_keras():
    """The names ``compile`` takes resolve to the same metric classes and default names."""
    for name in ("AUC", "auc", "precision", "Precision", "recall", "binary_crossentropy", "bce", "mse", "MAE",
                 "true_positives", "FalseNegatives", "top_k_categorical_accuracy", "f1_score", "categorical_accuracy",
                 "RootMeanSquaredError", "root_mean_squared_error", "mape", "MAPE", "msle", "MSLE", "r2_score",
                 "log_cosh_error", "LogCoshError", "cosine_similarity", "hinge", "SquaredHinge", "categorical_hinge",
                 "kl_divergence", "Poisson", "pearson_correlation", "ConcordanceCorrelation", "binary_io_u"):
        k, t = keras.metrics.get(name), metrics.get(name)
        print(f"{name}: Keras {type(k).__name__}({k.name!r}) torch_impl {type(t).__name__}({t.name!r})")
        # Keras uniquifies default names per process (auc, auc_1, ...); the name is the part before
        assert type(k).__name__ == type(t).__name__ and re.sub(r"_\d+$", "", k.name) == t.name
    for name in ("IoU", "mean_io_u", "one_hot_mean_io_u", "sensitivity_at_specificity",
                 "PrecisionAtRecall", "MeanMetricWrapper"):  # a required argument: both fail making it
        with pytest.raises(TypeError):
            keras.metrics.get(name)
        with pytest.raises(TypeError):
            metrics.get(name)
    with pytest.raises(ValueError, match="Could not interpret"):
        metrics.get("precison")


def _required(cls_name: str) -> dict:
    return {"IoU": {"num_classes": 3, "target_class_ids": [1]}, "MeanIoU": {"num_classes": 3},
            "OneHotIoU": {"num_classes": 3, "target_class_ids": [1]}, "OneHotMeanIoU": {"num_classes": 3},
            "SensitivityAtSpecificity": {"specificity": 0.5}, "SpecificityAtSensitivity": {"sensitivity": 0.5},
            "PrecisionAtRecall": {"recall": 0.5}, "RecallAtPrecision": {"precision": 0.5}}.get(cls_name, {})


def test_names_and_directions_like_keras():
    """Every class: Keras's default name and ``_direction`` (what callbacks' ``mode="auto"`` follows)."""
    for cls in metrics._CLASSES:
        if cls is metrics.MeanMetricWrapper:  # needs its function: a wrapped loss is minimised, any other none
            pairs = [(keras.metrics.MeanMetricWrapper(keras.losses.binary_crossentropy),
                      cls(losses.binary_crossentropy)),
                     (keras.metrics.MeanMetricWrapper(lambda t, p: p), cls(lambda t, p: p))]
        else:
            pairs = [(getattr(keras.metrics, cls.__name__)(**_required(cls.__name__)),
                      cls(**_required(cls.__name__)))]
        for k, t in pairs:
            assert re.sub(r"_\d+$", "", k.name) == t.name, (cls.__name__, k.name, t.name)
            assert getattr(k, "_direction", None) == t._direction, (cls.__name__, k._direction, t._direction)


_FUNCTIONS = [  # (name, keras function, data kind, kwargs)
    ("mean_absolute_percentage_error", "mean_absolute_percentage_error", "regression", {}),
    ("mean_squared_logarithmic_error", "mean_squared_logarithmic_error", "regression", {}),
    ("log_cosh", "log_cosh", "regression", {}),
    ("cosine_similarity", None, "regression_3d", {"axis": 1}),
    ("pearson_correlation", "pearson_correlation", "regression_3d", {"axis": -2}),
    ("concordance_correlation", "concordance_correlation", "regression", {}),
    ("hinge", "hinge", "pm1", {}),
    ("hinge", "hinge", "binary", {}),
    ("squared_hinge", "squared_hinge", "multilabel", {}),
    ("categorical_hinge", "categorical_hinge", "logits_onehot", {}),
    ("kl_divergence", "kl_divergence", "multilabel", {}),
    ("poisson", "poisson", "counts", {}),
]


@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_metric_functions_like_keras(dt):
    """The functional forms against ``keras.metrics``' functions (``cosine_similarity`` against the one
    ``keras.metrics.CosineSimilarity`` wraps: ``keras.losses.cosine_similarity`` is its negative), per sample,
    with a rank mismatch as Keras aligns it (or broadcasts it, for the functions that do not align)."""
    from keras.src.metrics.regression_metrics import cosine_similarity as k_cosine

    rtol, atol = TOL[dt]
    with _precision(dt) as tdt:
        for name, k_name, kind, kwargs in _FUNCTIONS:
            y, p, _ = _batches(kind, seed=7, weighted=False)[0]
            pairs = [(y, p)]
            if y.ndim == 2 and y.shape[1] == 1:  # (N,) labels against (N, 1) outputs
                pairs.append((y[:, 0], p))
            for yy, pp in pairs:
                k_fn = k_cosine if k_name is None else getattr(keras.metrics, k_name)
                k = np.asarray(k_fn(yy.astype(dt), pp.astype(dt), **kwargs))
                t = getattr(metrics, name)(torch.as_tensor(yy.astype(dt)), torch.as_tensor(pp, dtype=tdt), **kwargs)
                print(f"{name} {kind} {yy.shape} {pp.shape}: shape {k.shape}, max abs diff "
                      f"{np.max(np.abs(k - t.numpy())):.1e}")
                assert t.dtype == tdt and k.shape == tuple(t.shape)
                np.testing.assert_allclose(t.numpy(), k, rtol=rtol, atol=atol)


def test_iou_weights_threshold_and_axis_like_keras():
    """Keras's IoU details: float weights are truncated (int64 matrix, with Keras's warning) unless ``dtype`` is
    a float; ``BinaryIoU`` thresholds the predictions in float32 (0.49999999 counts as 0.5). Keras's
    ``OneHotIoU``/``MeanIoU`` with a class axis other than -1 fail in ``result()`` (Keras sums the per-class IoUs
    over ``axis``): torch_impl computes them, equal to Keras's on the channels-last data."""
    tf = pytest.importorskip("tensorflow")
    y, p, w = np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), np.array([0.5, 1.5, 2.9, 1.0])
    with _precision("float64"):
        for dtype in (None, "float64"):
            km = keras.metrics.MeanIoU(num_classes=3, dtype=dtype)
            tm = metrics.MeanIoU(num_classes=3, dtype=dtype)
            with pytest.warns(UserWarning, match="dtype is `int`") if dtype is None else _no_warning():
                km.update_state(y, p, sample_weight=w)
            with pytest.warns(UserWarning, match="dtype is `int`") if dtype is None else _no_warning():
                tm.update_state(torch.as_tensor(y), torch.as_tensor(p), sample_weight=torch.as_tensor(w))
            cm_k, cm_t = np.asarray(km.variables[0]), tm.total_cm.numpy()
            print(f"dtype {dtype}: Keras matrix {cm_k.tolist()} torch_impl {cm_t.tolist()}")
            assert cm_k.dtype.name == str(tm.total_cm.dtype).replace("torch.", "")
            assert np.array_equal(cm_k, cm_t) and float(km.result()) == float(tm.result())
        kb, tb = keras.metrics.BinaryIoU(), metrics.BinaryIoU()
        yb, pb = np.array([1.0, 0.0, 1.0]), np.array([0.49999999, 0.3, 0.7])
        k_iou, t_iou = float(kb(yb, pb)), float(tb(torch.as_tensor(yb), torch.as_tensor(pb)))
        print(f"BinaryIoU with 0.49999999 predicted: Keras {k_iou} torch_impl {t_iou}")
        assert k_iou == t_iou and t_iou > 0.99  # 1 / (1 + 1e-7) in float32: every prediction right

        rng = np.random.default_rng(11)
        labels = np.eye(3)[rng.integers(0, 3, (6, 5))]  # (N, H, C): channels last
        scores = rng.random((6, 5, 3))
        for cls, kwargs in (("OneHotMeanIoU", {}), ("OneHotIoU", {"target_class_ids": [0, 2]})):
            k_last = getattr(keras.metrics, cls)(num_classes=3, **kwargs)
            k_last.update_state(labels, scores)
            k_first = getattr(keras.metrics, cls)(num_classes=3, axis=1, **kwargs)
            k_first.update_state(labels.transpose(0, 2, 1), scores.transpose(0, 2, 1))
            with pytest.raises(tf.errors.InvalidArgumentError):
                k_first.result()
            t_first = getattr(metrics, cls)(num_classes=3, axis=1, **kwargs)
            t_first.update_state(torch.as_tensor(labels.transpose(0, 2, 1)), torch.as_tensor(scores.transpose(0, 2, 1)))
            print(f"{cls} axis=1: torch_impl {float(t_first.result())}, Keras channels-last {float(k_last.result())}")
            assert float(t_first.result()) == float(k_last.result())


@contextlib.contextmanager
def _no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_bad_arguments_raise_like_keras():
    for cls, kwargs in [("AUC", {"num_thresholds": 1}), ("AUC", {"curve": "ROCK"}),
                        ("AUC", {"summation_method": "trapezoid"}), ("AUC", {"num_labels": 3}),
                        ("Precision", {"thresholds": [0.5, 1.5]}), ("Recall", {"thresholds": -0.1}),
                        ("F1Score", {"average": "mean"}), ("F1Score", {"threshold": 1}),
                        ("FBetaScore", {"beta": 2}),
                        ("IoU", {"num_classes": 3, "target_class_ids": [0, 3]}),
                        ("OneHotIoU", {"num_classes": 2, "target_class_ids": [2]}),
                        ("BinaryIoU", {"target_class_ids": [1, 2]}),
                        ("R2Score", {"class_aggregation": "median"}), ("R2Score", {"num_regressors": -1}),
                        ("SensitivityAtSpecificity", {"specificity": 1.5}),
                        ("SpecificityAtSensitivity", {"sensitivity": -0.1}),
                        ("PrecisionAtRecall", {"recall": 0.5, "num_thresholds": 0}),
                        ("RecallAtPrecision", {"precision": 2})]:
        with pytest.raises(ValueError):
            getattr(keras.metrics, cls)(**kwargs)
        with pytest.raises(ValueError):
            getattr(metrics, cls)(**kwargs)


# --------------------------------------------------------------------------------------------------------------
# whole runs: fit with metric names and objects
# --------------------------------------------------------------------------------------------------------------


def _binary_data(n=300, d=6, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = (x[:, 0] - 0.5 * x[:, 1] + 0.5 * rng.normal(size=n) > 0.8).astype("float64")[:, None]  # ~25% positive
    return x, y


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_fit_binary_metrics_like_keras(dt):
    """An imbalanced binary classifier (sigmoid output) with the metrics people log for it, names and objects
    mixed, ``class_weight``, ``validation_split`` and weighted metrics: every history key, every epoch. The
    ``binary_crossentropy`` metric follows Keras onto the logits (a saturated model shows it)."""
    x, y = _binary_data()
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(0)
        km = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(8, activation="relu"),
                               keras.layers.Dense(1, activation="sigmoid")])
        w = km.get_weights()
        tm = torch.nn.Sequential(_dense(w[0], w[1]), torch.nn.ReLU(), _dense(w[2], w[3]))

        def chosen(mod):
            return ["AUC", "precision", mod.Recall(name="rec"), "binary_crossentropy", "mse", "accuracy",
                    mod.AUC(curve="PR", name="pr_auc"), mod.TruePositives(thresholds=[0.3, 0.5], name="tp"),
                    mod.TruePositives(name="tp_05"), mod.FalseNegatives(name="fn"), mod.BinaryAccuracy(threshold=0.3, name="acc_03"),
                    mod.BinaryIoU(name="iou"), mod.SensitivityAtSpecificity(0.8, name="sens_at_spec"), "hinge",
                    mod.R2Score(name="r2")]

        def weighted(mod):
            return ["AUC", mod.Precision(name="precision")]

        km.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=chosen(keras.metrics),
                   weighted_metrics=weighted(keras.metrics))
        cw = {0: 1.0, 1: 3.0}
        kh = km.fit(x, y, batch_size=32, epochs=4, shuffle=False, verbose=0, validation_split=0.25,
                    class_weight=cw).history
        th = tfit.fit(tm, x, y, loss=losses.BinaryCrossentropy(), optimizer=optim.Adam(tm.parameters(), 0.05),
                      metrics=chosen(metrics), weighted_metrics=weighted(metrics), batch_size=32, epochs=4,
                      shuffle=False, verbose=0, validation_split=0.25, class_weight=cw,
                      output_activation="sigmoid").history
        # a saturated model: the crossentropy metric on the logits, as the loss
        with torch.no_grad():
            for p in tm.parameters():
                p.mul_(30.0)
        km.set_weights([v * 30.0 for v in km.get_weights()])
        ke = km.evaluate(x, y, verbose=0, return_dict=True)
        te = tfit.evaluate(tm, x, y, loss=losses.BinaryCrossentropy(), metrics=["binary_crossentropy", "AUC"],
                           output_activation="sigmoid")
    print(f"keys: Keras {sorted(kh)}")
    assert sorted(th) == sorted(kh)
    # Keras's history keeps a per-threshold metric's training value as a view of its variables, which the
    # validation then overwrites: its "tp" repeats "val_tp" (a Keras bug; torch_impl logs the training counts)
    print(f"tp at 0.3, 0.5: Keras {np.asarray(kh['tp']).tolist()} (= val_tp {np.asarray(kh['val_tp']).tolist()}),"
          f" torch_impl {th['tp']}; torch_impl tp_05 {th['tp_05']}")
    assert np.array_equal(np.asarray(kh["tp"]), np.asarray(kh["val_tp"]))
    assert np.array_equal(np.asarray(th["tp"])[:, 1], th["tp_05"]) and th["tp"] != th["val_tp"]
    kh = {k: np.asarray([np.asarray(e, np.float64) for e in v]) for k, v in kh.items() if k != "tp"}
    _check_history({k: np.asarray(v, np.float64) for k, v in th.items()}, kh, dt)
    print(f"saturated evaluate: Keras loss {ke['loss']:.6f} bce {ke['binary_crossentropy']:.6f}; torch_impl loss "
          f"{te['loss']:.6f} bce {te['binary_crossentropy']:.6f} auc {te['AUC']:.6f} (Keras {ke['AUC']:.6f})")
    tol = 1e-10 if dt == "float64" else 1e-5
    assert te["binary_crossentropy"] == pytest.approx(ke["binary_crossentropy"], rel=tol)
    assert te["binary_crossentropy"] == pytest.approx(te["loss"], rel=tol)  # the logits, not the clipped output
    assert te["AUC"] == pytest.approx(ke["AUC"], rel=tol)


@pytest.mark.slow  # make test headroom; test_fit_binary_metrics_like_keras runs by default
@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_fit_multiclass_metrics_like_keras(dt):
    """A softmax classifier with sparse labels: top-k, sparse crossentropy as a metric, a callable metric
    (``MeanMetricWrapper`` named after the function) and duplicate names; then one-hot labels with
    F1 / AUC / per-class precision; EarlyStopping on ``val_auc`` in auto mode (maximised, as in Keras)."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(240, 5))
    labels = np.argmax(x[:, :4] + 0.8 * rng.normal(size=(240, 4)), 1)

    def brier(y_true, y_pred):  # a user's metric function (torch or TensorFlow ops by side)
        return (y_true - y_pred) ** 2

    with _precision(dt):
        for variant in ("sparse", "one_hot"):
            keras.utils.set_random_seed(1)
            km = keras.Sequential([keras.Input((5,)), keras.layers.Dense(16, activation="tanh"),
                                   keras.layers.Dense(4, activation="softmax")])
            w = km.get_weights()
            tm = torch.nn.Sequential(_dense(w[0], w[1]), torch.nn.Tanh(), _dense(w[2], w[3]))
            if variant == "sparse":
                y = labels
                loss_name = "sparse_categorical_crossentropy"

                def chosen(mod):  # TensorFlow's in_top_k has no float64 kernel: Keras's top-k fails there
                    top_k = [mod.SparseTopKCategoricalAccuracy(k=2, name="top2")] if dt == "float32" else []
                    return ["accuracy"] + top_k + ["sparse_categorical_crossentropy", "acc", "accuracy"]
                extra_k, extra_t = [], []
            else:
                y = np.eye(4)[labels]
                loss_name = "categorical_crossentropy"

                def chosen(mod):
                    top_k = [mod.TopKCategoricalAccuracy(k=2)] if dt == "float32" else []
                    return ["accuracy", mod.F1Score(average="macro"), mod.AUC(name="auc"),
                            mod.Precision(class_id=2, name="p2")] + top_k + ["categorical_crossentropy"]
                extra_k, extra_t = [brier], [lambda t, p: (t - p) ** 2]
                extra_t[0].__name__ = "brier"
            km.compile(optimizer=keras.optimizers.Adam(0.02), loss=loss_name,
                       metrics=chosen(keras.metrics) + extra_k)
            kcb = [keras.callbacks.EarlyStopping(monitor="val_auc", patience=1)] if variant == "one_hot" else []
            tcb = [EarlyStopping(monitor="val_auc", patience=1)] if variant == "one_hot" else []
            kh = km.fit(x, y, batch_size=24, epochs=6, shuffle=False, verbose=0, validation_split=0.2,
                        callbacks=kcb).history
            th = tfit.fit(tm, x, y, loss=loss_name, optimizer=optim.Adam(tm.parameters(), 0.02),
                          metrics=chosen(metrics) + extra_t, batch_size=24, epochs=6, shuffle=False, verbose=0,
                          validation_split=0.2, output_activation="softmax", callbacks=tcb).history
            print(f"{variant}: keys {sorted(kh)}, {len(kh['loss'])} epochs")
            assert sorted(th) == sorted(kh) and len(th["loss"]) == len(kh["loss"])
            _check_history(th, kh, dt)


def test_argmax_of_negative_zero_and_nan_like_keras():
    """Keras's ``ops.argmax`` takes ``-0.0`` below ``0.0`` (its flush-to-zero fix) and TensorFlow's never picks
    a NaN: the categorical accuracies of such rows, against Keras's metric functions."""
    nan = float("nan")
    pred = np.array([[-0.0, 0.0, -1.0], [0.0, -0.0, -1.0], [-0.0, -0.0, -0.0], [nan, 0.2, 0.1], [-1.0, -0.0, nan]])
    labels = np.array([1, 0, 2, 1, 1])
    for dt in ("float32", "float64"):
        with _precision(dt) as tdt:
            k_sparse = np.asarray(keras.metrics.sparse_categorical_accuracy(labels, pred.astype(dt)))
            k_cat = np.asarray(keras.metrics.categorical_accuracy(np.eye(3)[labels], pred.astype(dt)))
            t_sparse = metrics.sparse_categorical_accuracy(torch.as_tensor(labels), torch.as_tensor(pred, dtype=tdt))
            t_cat = metrics.categorical_accuracy(torch.as_tensor(np.eye(3)[labels]), torch.as_tensor(pred, dtype=tdt))
        print(f"{dt}: Keras {k_sparse.tolist()} {k_cat.tolist()}, torch_impl {t_sparse.tolist()} {t_cat.tolist()}")
        assert k_sparse.tolist() == t_sparse.tolist() and k_cat.tolist() == t_cat.tolist()


def test_audit_edge_behaviours_like_keras():
    """Found by an audit against Keras: F-scores' (N, 1) weights (Keras 3.15.1 raises; torch_impl follows the fix
    #23335, element-wise weights, equal to Keras with the fix); bool one-hot labels; top-k beyond the columns fails,
    NaN scores rank last in top-k; AUC's explicit thresholds are a list, not range-checked."""
    tf = pytest.importorskip("tensorflow")
    y, p = np.eye(3)[[0, 2]], np.array([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]])
    with _precision("float64"):
        with pytest.raises(ValueError):
            keras.metrics.F1Score()(y, p, sample_weight=np.ones((2, 1)))
        w = np.array([[0.5], [2.0]])
        k = np.asarray(keras_metric_class("F1Score")()(y, p, sample_weight=w))
        t = metrics.F1Score()(torch.as_tensor(y), torch.as_tensor(p), torch.as_tensor(w)).numpy()
        np.testing.assert_allclose(t, k, rtol=1e-12)
        k = float(keras.metrics.CategoricalAccuracy()(y.astype(bool), p))
        t = float(metrics.CategoricalAccuracy()(torch.as_tensor(y.astype(bool)), torch.as_tensor(p)))
        assert k == t == 0.5
        with pytest.raises(tf.errors.InvalidArgumentError):
            keras.metrics.Precision(top_k=4)(y, p)
        with pytest.raises(ValueError, match="top_k=4"):
            metrics.Precision(top_k=4)(torch.as_tensor(y), torch.as_tensor(p))
        yn, pn = np.array([[0.0, 1.0, 0.0]]), np.array([[0.54, 0.27, np.nan]])
        k = float(keras.metrics.Precision(top_k=2, thresholds=0.25)(yn, pn))
        t = float(metrics.Precision(top_k=2, thresholds=0.25)(torch.as_tensor(yn), torch.as_tensor(pn)))
        print(f"top-2 precision with a NaN score: Keras {k}, torch_impl {t}")
        assert k == t == 0.5
        for side in (keras.metrics, metrics):
            with pytest.raises(TypeError):
                side.AUC(thresholds=0.5)
        # an empty rank-1 batch: the mean over an empty axis, NaN (it failed reshaping here)
        k = np.asarray(keras.losses.binary_crossentropy(np.zeros(0), np.zeros(0)))
        t = losses.binary_crossentropy(torch.zeros(0, dtype=torch.float64), torch.zeros(0, dtype=torch.float64))
        assert k.shape == tuple(t.shape) == () and np.isnan(k) and torch.isnan(t)


def test_losses_as_metrics_on_logits_like_keras():
    """Loss functions and loss objects given as metrics (``metrics=[keras.losses.binary_crossentropy]``), on a
    saturated sigmoid / softmax model: Keras's crossentropy takes the logits behind the output, as for the loss;
    the names are the loss object's ``name`` and the function's name in snake case; EarlyStopping on a loss
    object's metric minimises."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(64, 4))
    labels = (x[:, 0] + 0.3 * rng.normal(size=64) > 0).astype(int)

    def myAbsErr(y_true, y_pred):  # noqa: N802  (a camel-case name: Keras logs my_abs_err)
        return abs(y_true - y_pred)

    with _precision("float64"):
        for act, units in (("sigmoid", 1), ("softmax", 2)):
            y = labels[:, None].astype("float64") if units == 1 else np.eye(2)[labels]
            keras.utils.set_random_seed(2)
            km = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units, activation=act)])
            km.set_weights([v * 40.0 for v in km.get_weights()])  # saturated: clipped probabilities differ
            w = km.get_weights()
            tm = torch.nn.Sequential(_dense(w[0], w[1]))
            if units == 1:
                kmet = [keras.losses.binary_crossentropy, keras.losses.BinaryCrossentropy(name="lb"),
                        keras.losses.binary_focal_crossentropy, myAbsErr]
                tmet = [losses.binary_crossentropy, losses.BinaryCrossentropy(name="lb"),
                        losses.binary_focal_crossentropy, myAbsErr]
                loss = "binary_crossentropy"
            else:
                kmet = [keras.losses.categorical_crossentropy, keras.losses.CategoricalCrossentropy(name="lb"),
                        myAbsErr]
                tmet = [losses.categorical_crossentropy, losses.CategoricalCrossentropy(name="lb"), myAbsErr]
                loss = "categorical_crossentropy"
            km.compile(optimizer=keras.optimizers.SGD(1e-3), loss=loss, metrics=kmet)
            kcb = [keras.callbacks.EarlyStopping(monitor="val_lb", patience=1)]
            kh = km.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0, validation_split=0.25,
                        callbacks=kcb).history
            th = tfit.fit(tm, x, y, loss=loss, optimizer=optim.SGD(tm.parameters(), 1e-3), metrics=tmet,
                          batch_size=16, epochs=3, shuffle=False, verbose=0, validation_split=0.25,
                          output_activation=act, callbacks=[EarlyStopping(monitor="val_lb", patience=1)]).history
            print(f"{act}: keys {sorted(kh)}")
            assert sorted(th) == sorted(kh)
            _check_history(th, kh, "float64")
    # a metric class: its instance's default name (Keras's then gets a per-process suffix: auc_3)
    assert tfit.resolve_metrics([metrics.AUC, lambda t, p: p])[0][0] == "auc"
    assert tfit.resolve_metrics([lambda t, p: p])[0][0] == "lambda"

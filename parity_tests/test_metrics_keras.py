"""``torch_impl.metrics`` against ``keras.metrics`` (keras 3.15.1, TensorFlow backend).

Every metric class, in several configurations, is fed the same three batches on both sides (with and without
sample weights, float64 and float32) and its ``result()`` compared after each batch. The batches hold the
values that decide the counts: predictions exactly on a threshold or a bucket edge of AUC's 200 thresholds,
0 and 1, values outside [0, 1] (AUC clips them, Precision does not), ties for argmax and top-k.
Then whole training runs: ``torch_impl.fit`` with metric names and objects against ``keras.Model.fit``.
"""

from __future__ import annotations

import re
import zlib

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

from parity_tests.test_field_scripts_round2 import _check_history, _dense, _precision  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, metrics, optim  # noqa: E402
from torch_impl.callbacks import EarlyStopping  # noqa: E402

pytestmark = pytest.mark.keras

TOL = {"float64": (1e-12, 1e-12), "float32": (1e-5, 1e-6)}  # rtol, atol


# --------------------------------------------------------------------------------------------------------------
# data: three batches per kind
# --------------------------------------------------------------------------------------------------------------


def _batches(kind: str, seed: int, weighted: bool):
    rng = np.random.default_rng(seed)
    out = []
    for b in range(3):
        n = 24 + 5 * b
        if kind in ("binary", "multilabel"):
            width = 1 if kind == "binary" else 4
            y = (rng.random((n, width)) < 0.4).astype(np.float64)
            p = rng.random((n, width))
            edges = np.concatenate([[0.0, 1.0, 0.5, 0.2, 0.8, 0.25, 0.75, 1.0 / 199, 100.0 / 199, 1e-7],
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
        else:
            raise ValueError(kind)
    if weighted:
        out = [(y, p, rng.choice([0.0, 0.5, 1.0, 2.5, 3.0], size=y.shape[0])) for y, p in out]
    else:
        out = [(y, p, None) for y, p in out]
    return out


# (id, Keras class, kwargs, data kind); torch_impl's class has Keras's name and arguments
CASES = [
    ("accuracy", "Accuracy", {}, "exact"),
    ("binary_accuracy", "BinaryAccuracy", {}, "binary"),
    ("binary_accuracy_t03_multilabel", "BinaryAccuracy", {"threshold": 0.3}, "multilabel"),
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
    ("f1", "F1Score", {}, "onehot"),
    ("f1_micro_threshold", "F1Score", {"average": "micro", "threshold": 0.5}, "multilabel"),
    ("f1_macro", "F1Score", {"average": "macro"}, "onehot"),
    ("fbeta_weighted", "FBetaScore", {"average": "weighted", "beta": 2.0, "threshold": 0.3}, "multilabel"),
]


def _run(cls_name: str, kwargs: dict, kind: str, dt: str, weighted: bool):
    batches = _batches(kind, seed=zlib.crc32((cls_name + kind).encode()) % 1000, weighted=weighted)
    k_res, t_res = [], []
    with _precision(dt) as tdt:
        km = getattr(keras.metrics, cls_name)(**kwargs)
        tm = getattr(metrics, cls_name)(**kwargs)
        for y, p, w in batches:
            yk = y.astype(dt) if y.dtype.kind == "f" else y
            # TensorFlow's in_top_k takes float32 scores only (Keras's top-k metrics raise on float64):
            # Keras gets them in float32, torch_impl in float64
            pk = p.astype("float32" if "TopK" in cls_name else dt)
            km.update_state(yk, pk, sample_weight=None if w is None else w.astype(dt))
            k_res.append(np.asarray(km.result(), np.float64))
            yt = torch.as_tensor(yk)
            tm.update_state(yt, torch.as_tensor(p, dtype=tdt), None if w is None else torch.as_tensor(w, dtype=tdt))
            r = tm.result()
            assert r.dtype == tdt, r.dtype
            t_res.append(r.numpy().astype(np.float64))
    return k_res, t_res


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dt", ["float64", "float32"])
@pytest.mark.parametrize("case,cls_name,kwargs,kind", CASES, ids=[c[0] for c in CASES])
def test_metric_matches_keras(case, cls_name, kwargs, kind, dt, weighted):
    k_res, t_res = _run(cls_name, kwargs, kind, dt, weighted)
    rtol, atol = TOL[dt]
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
                 "true_positives", "FalseNegatives", "top_k_categorical_accuracy", "f1_score", "categorical_accuracy"):
        k, t = keras.metrics.get(name), metrics.get(name)
        print(f"{name}: Keras {type(k).__name__}({k.name!r}) torch_impl {type(t).__name__}({t.name!r})")
        # Keras uniquifies default names per process (auc, auc_1, ...); the name is the part before
        assert type(k).__name__ == type(t).__name__ and re.sub(r"_\d+$", "", k.name) == t.name
    with pytest.raises(ValueError, match="not implemented in torch_impl"):
        metrics.get("RootMeanSquaredError")
    with pytest.raises(ValueError, match="Could not interpret"):
        metrics.get("precison")


def test_bad_arguments_raise_like_keras():
    for cls, kwargs in [("AUC", {"num_thresholds": 1}), ("AUC", {"curve": "ROCK"}),
                        ("AUC", {"summation_method": "trapezoid"}), ("AUC", {"num_labels": 3}),
                        ("Precision", {"thresholds": [0.5, 1.5]}), ("Recall", {"thresholds": -0.1}),
                        ("F1Score", {"average": "mean"}), ("F1Score", {"threshold": 1}),
                        ("FBetaScore", {"beta": 2})]:
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
                    mod.AUC(curve="PR", name="pr_auc"), mod.TruePositives(thresholds=[0.3, 0.5], name="tp"), mod.TruePositives(name="tp_05"),
                    mod.FalseNegatives(name="fn"), mod.BinaryAccuracy(threshold=0.3, name="acc_03")]

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


@pytest.mark.parametrize("dt", ["float64", "float32"])
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

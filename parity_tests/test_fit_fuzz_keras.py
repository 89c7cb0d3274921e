"""Seeded fuzz of whole ``fit`` runs: ``torch_impl.fit`` against ``keras.Model.fit`` (Keras 3.15.1, TensorFlow).

Each case id seeds a ``numpy.random.RandomState`` that draws one training configuration, as a port copies it:

* a small ``Sequential`` MLP: 1-3 ``Dense`` layers (hidden activations among relu / tanh / sigmoid / softmax /
  linear), sometimes a ``Dropout(0)`` or a ``BatchNormalization`` between them;
* a task and its loss: binary / categorical / sparse categorical crossentropy on probabilities or on logits (with
  ``label_smoothing``, ``ignore_class`` where Keras takes them), binary / categorical focal crossentropy, or a
  regression loss (mse, mae, huber, logcosh), the output activation to match (or not: a sigmoid output under
  ``from_logits=True`` is what a port may write);
* an optimizer (Adam, AdamW, SGD with momentum / nesterov, RMSprop, Adagrad, Nadam) with a random learning rate,
  sometimes ``clipnorm`` or ``clipvalue``;
* ``batch_size`` (often not dividing N), 1-3 epochs, ``shuffle=False``, ``class_weight`` (a dict, sometimes
  missing classes: they weigh 1 in Keras) or ``sample_weight``, ``validation_split`` or ``validation_data`` (with
  or without its weights), metrics of the task that ``torch_impl.metrics`` has (accuracy variants, AUC, precision,
  recall, mae, mse...), no ``loss_weights``.

Keras builds the model (``keras_impl.models.build_model``, its initializers seeded with the case id) and its initial
weights go into the torch model (``load_keras_weights``); both ``fit`` with ``shuffle=False``. Asserted: the same
history keys, every key within 1e-10 relative at every epoch, and the final weights (BatchNormalization's moving
statistics too) within 1e-10 of each tensor's largest entry (or of a thousandth of the model's largest weight, where
that is larger; the bias of a linear Dense that a BatchNormalization follows, whose gradient is rounding noise, of the
model's largest weight), in float64 (floatx and torch's default dtype). Every fourth case runs in float32 without
BatchNormalization, within 3e-5: with it, ulp-level differences in the order of the batch sums grow through its
backward pass (a mean subtracted from a handful of samples) beyond any float32 tolerance, on Keras's side too
(``draw_case(311, "float32", batchnorm=True)``, a BatchNormalization over batches of 2: Keras's float32 weights 2.3
(relative) from its float64 run, torch_impl's 0.41 from Keras's).
Where Keras's ``fit`` raises, torch_impl's raises the same exception type, at the same point (before the first step,
or after training) or earlier. One case in ten makes a port's slip: a short ``sample_weight`` or ``y``, a
``validation_data`` 4-tuple or with a short ``y``, a ``validation_split`` that leaves no validation sample; and
``class_weight`` with ``sample_weight``. The maximum differences are printed.

Measured (``test_fit_fuzz_many``, 240 cases through Keras's compiled ``fit``): float64 histories within 6.3e-13 and
weights within 1.4e-11; float32 2.6e-7 and 2.0e-6; 43 cases raising ValueError on both sides (7 of them after an epoch
of training in Keras: with ``validation_split`` Keras cuts every array at ``x``'s length, ``array_slicing.py:496``, and
meets a short ``sample_weight`` or ``y`` only in the validation part; torch_impl checks before training).
Found and fixed in ``torch_impl.fit``: a ``validation_data`` whose ``y`` or sample weights had fewer rows than its
``x`` trained and logged a ``val_loss`` (one row broadcast against the predictions) where Keras raises "Data
cardinality is ambiguous" (``test_short_validation_arrays_raise_like_keras``).

The default test runs 6 cheap cases (at most 3 training steps, one of them with a BatchNormalization) with Keras
eagerly (``run_eagerly=True``: the same arithmetic as its graph up to the graph optimizer's ulps; it saves tracing a
training and a test function per case); the slow one 240 cases through Keras's compiled ``fit``.
"""

from __future__ import annotations

import warnings
from typing import Optional

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

from keras_impl.models import build_model as keras_model  # noqa: E402
from keras_impl.models import floatx  # noqa: E402
from parity_tests.test_fit_keras import _DefaultDtype  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, optim  # noqa: E402
from torch_impl.nn import build_model, keras_weights, load_keras_weights  # noqa: E402

pytestmark = pytest.mark.keras

#: float64: relative, per history entry and per weight tensor (against its largest entry); float32 the same
TOL = {"float64": 1e-10, "float32": 3e-5}

# ------------------------------------------------------------------------------------------------- the draw


def _choice(rng, options):
    return options[rng.randint(len(options))]


def _draw_model(rng, d_in: int, units_out: int, out_act: str, batchnorm: bool) -> dict:
    layers = []
    for _ in range(rng.randint(0, 3)):  # hidden Dense layers
        layers.append({"type": "dense", "units": int(rng.randint(2, 9)),
                       "activation": _choice(rng, ["relu", "tanh", "sigmoid", "softmax", "linear"])})
        extra = rng.rand()
        if extra < 0.15:
            layers.append({"type": "dropout", "rate": 0.0, "seed": int(rng.randint(100))})
        elif extra < 0.35:
            bn = {"type": "batchnorm", "momentum": float(_choice(rng, [0.99, 0.9, 0.5])),
                  "epsilon": float(_choice(rng, [1e-3, 1e-5]))}
            if batchnorm:
                layers.append(bn)
    layers.append({"type": "dense", "units": units_out, "activation": out_act})
    return {"input_dim": d_in, "layers": layers}


def _draw_task(rng, n: int, x: np.ndarray) -> dict:
    """The loss (class name and arguments), the output layer, the labels and the metrics."""
    task = _choice(rng, ["binary", "binary", "categorical", "sparse", "sparse", "bfocal", "cfocal", "regression"])
    c = int(rng.randint(2, 5))
    logits = rng.rand() < 0.5
    kw: dict = {}
    ids = np.argmax(x[:, :c] + rng.normal(size=(n, c)), -1) if x.shape[1] >= c else rng.randint(0, c, n)
    if task in ("binary", "bfocal"):
        units = _choice(rng, [1, 1, 2])  # 2: multi-label
        y = (x[:, :units] + rng.normal(size=(n, units)) > 0).astype(np.float64)
        name = "BinaryCrossentropy" if task == "binary" else "BinaryFocalCrossentropy"
        out = "linear" if logits else "sigmoid"
        kw["from_logits"] = logits if rng.rand() < 0.9 else not logits  # sometimes a mismatched port
        if rng.rand() < 0.4:
            kw["label_smoothing"] = float(_choice(rng, [0.1, 0.2, 0.05]))
        if task == "bfocal":
            kw["gamma"] = float(_choice(rng, [2.0, 0.0, 1.5, 3.0]))
            if rng.rand() < 0.5:
                kw["apply_class_balancing"] = True
                kw["alpha"] = float(_choice(rng, [0.25, 0.5, 0.75]))
        metrics = _choice(rng, [["accuracy"], ["binary_accuracy", "auc"], ["precision", "recall"], ["acc", "mse"],
                                []])
        n_classes = 2
    elif task in ("categorical", "cfocal"):
        y = np.eye(c)[ids]
        name = "CategoricalCrossentropy" if task == "categorical" else "CategoricalFocalCrossentropy"
        out = "linear" if logits else "softmax"
        kw["from_logits"] = logits
        if rng.rand() < 0.4:
            kw["label_smoothing"] = float(_choice(rng, [0.1, 0.2]))
        if task == "cfocal":
            kw["gamma"] = float(_choice(rng, [2.0, 0.5, 3.0]))
            kw["alpha"] = float(_choice(rng, [0.25, 0.5, 1.0]))
        metrics = _choice(rng, [["accuracy"], ["categorical_accuracy", "auc"], ["acc", "categorical_crossentropy"],
                                []])
        n_classes = c
    elif task == "sparse":
        y = ids.astype(_choice(rng, [np.int64, np.int32, np.float64]))
        name = "SparseCategoricalCrossentropy"
        out = "linear" if logits else "softmax"
        kw["from_logits"] = logits
        if rng.rand() < 0.3:
            kw["ignore_class"] = int(_choice(rng, [0, c - 1, -1]))
            if kw["ignore_class"] == -1:
                y = np.where(rng.rand(n) < 0.2, -1, y).astype(y.dtype)
        metrics = _choice(rng, [["accuracy"], ["sparse_categorical_accuracy"], ["acc"], []])
        n_classes = c
    else:
        units = _choice(rng, [1, 2])
        y = x[:, :units] * 0.7 + 0.3 * rng.normal(size=(n, units))
        name = _choice(rng, ["MeanSquaredError", "MeanAbsoluteError", "Huber", "LogCosh"])
        if name == "Huber":
            kw["delta"] = float(_choice(rng, [1.0, 0.5, 2.0]))
        out = _choice(rng, ["linear", "linear", "tanh", "relu"])
        metrics = _choice(rng, [["mae"], ["mse", "root_mean_squared_error"], ["r2_score"], []])
        n_classes = 0
    return {"task": task, "loss": (name, kw), "units": y.shape[1] if y.ndim == 2 else c, "out": out, "y": y,
            "metrics": metrics, "n_classes": n_classes}


def _draw_optimizer(rng) -> tuple[str, dict]:
    name = _choice(rng, ["Adam", "AdamW", "SGD", "SGD", "RMSprop", "Adagrad", "Nadam"])
    kw = {"learning_rate": float(10 ** rng.uniform(-3, -0.7))}
    if name == "SGD":
        if rng.rand() < 0.6:
            kw["momentum"] = float(_choice(rng, [0.9, 0.5, 0.99]))
            kw["nesterov"] = bool(rng.rand() < 0.5)
    elif name == "AdamW":
        kw["weight_decay"] = float(_choice(rng, [0.004, 0.01, 0.1]))
    elif name == "Adam" and rng.rand() < 0.3:
        kw["amsgrad"] = True
    elif name == "RMSprop":
        if rng.rand() < 0.3:
            kw["momentum"] = 0.9
        if rng.rand() < 0.3:
            kw["centered"] = True
    clip = rng.rand()
    if clip < 0.15:
        kw["clipnorm"] = float(_choice(rng, [0.1, 1.0]))
    elif clip < 0.3:
        kw["clipvalue"] = float(_choice(rng, [0.05, 0.5]))
    return name, kw


def _class_weight(rng, n_classes: int) -> dict:
    keys = [k for k in range(n_classes) if rng.rand() < 0.8]  # sometimes a class missing: it weighs 1
    return {k: float(np.round(rng.uniform(0.2, 4.0), 3)) for k in keys}


def draw_case(case_id: int, fx: str = "float64", batchnorm: Optional[bool] = None) -> dict:
    """The configuration of a case id; ``batchnorm``: keep its drawn BatchNormalization layers (default: in float64
    only)."""
    rng = np.random.RandomState(case_id)
    n, d = int(rng.randint(6, 41)), int(rng.randint(2, 6))
    x = rng.normal(size=(n, d)) * float(_choice(rng, [1.0, 2.0, 0.5]))
    task = _draw_task(rng, n, x)
    spec = _draw_model(rng, d, task["units"], task["out"],
                       batchnorm=fx == "float64" if batchnorm is None else batchnorm)
    bs = rng.randint(4)  # None (32: one batch), any size (often not dividing n, sometimes above it), small
    fit_kw: dict = {"epochs": int(rng.randint(1, 4)),
                    "batch_size": None if bs == 0 else int(rng.randint(1, n + 3) if bs == 1 else rng.randint(2, 9))}
    weighting = rng.rand()
    if weighting < 0.3 and task["n_classes"]:
        fit_kw["class_weight"] = _class_weight(rng, task["n_classes"])
    elif weighting < 0.55:
        fit_kw["sample_weight"] = np.round(rng.uniform(0.0, 3.0, n), 2)
    elif weighting < 0.6 and task["n_classes"]:  # both: Keras's ValueError before training
        fit_kw["class_weight"] = _class_weight(rng, task["n_classes"])
        fit_kw["sample_weight"] = np.ones(n)
    val = rng.rand()
    if val < 0.35:
        fit_kw["validation_split"] = float(_choice(rng, [0.2, 0.25, 0.3]))
    elif val < 0.6:
        nv = int(rng.randint(3, 12))
        xv = rng.normal(size=(nv, d)) * x.std()
        yv = _labels_like(task, rng, nv)
        fit_kw["validation_data"] = (xv, yv) if rng.rand() < 0.6 else (xv, yv, np.round(rng.uniform(0.1, 2, nv), 2))
    case = {"id": case_id, "fx": fx, "x": x, "y": task["y"], "spec": spec, "loss": task["loss"],
            "optimizer": _draw_optimizer(rng), "metrics": task["metrics"], "fit": fit_kw, "task": task["task"],
            "mistake": None}
    if rng.rand() < 0.1:  # a port's slip: Keras raises (before training, or at the first validation)
        _mistake(rng, case, task)
    return case


def _mistake(rng, case: dict, task: dict) -> None:
    kind = _choice(rng, ["sample_weight_short", "y_short", "validation_data_4", "validation_short",
                         "validation_split_empty"])
    fit_kw, n = case["fit"], len(case["x"])
    case["mistake"] = kind
    if kind == "sample_weight_short":
        fit_kw.pop("class_weight", None)
        fit_kw["sample_weight"] = np.ones(n - 1)
    elif kind == "y_short":
        case["y"] = case["y"][:-1]
    elif kind == "validation_split_empty":  # floor(n * 0.01) == 0 validation samples
        fit_kw.pop("validation_data", None)
        fit_kw["validation_split"] = 0.99
    else:
        fit_kw.pop("validation_split", None)
        nv = int(rng.randint(2, 6))
        xv = rng.normal(size=(nv, case["x"].shape[1]))
        yv = _labels_like(task, rng, nv)
        fit_kw["validation_data"] = (xv, yv, np.ones(nv), np.ones(nv)) if kind == "validation_data_4" else \
            (xv, yv[:-1])


def _labels_like(task: dict, rng, nv: int) -> np.ndarray:
    """Validation labels of the training labels' form."""
    y = task["y"]
    if task["task"] in ("binary", "bfocal"):
        return (rng.rand(nv, y.shape[1]) < 0.5).astype(y.dtype)
    if task["task"] in ("categorical", "cfocal"):
        return np.eye(y.shape[1])[rng.randint(0, y.shape[1], nv)]
    if task["task"] == "sparse":
        return rng.randint(0, task["units"], nv).astype(y.dtype)
    return rng.normal(size=(nv, y.shape[1]))


def describe(case: dict) -> str:
    fit_kw = {k: (f"array{np.shape(v)}" if isinstance(v, np.ndarray) else
                  (tuple(f"array{np.shape(a)}" for a in v) if k == "validation_data" else v))
              for k, v in case["fit"].items()}
    layers = [(L["type"], L.get("units"), L.get("activation")) if L["type"] == "dense" else L["type"]
              for L in case["spec"]["layers"]]
    slip = f", {case['mistake']}" if case["mistake"] else ""
    return (f"case {case['id']} ({case['fx']}{slip}): x{case['x'].shape} y{case['y'].shape} {case['y'].dtype}, "
            f"layers {layers}, loss {case['loss']}, optimizer {case['optimizer']}, metrics {case['metrics']}, "
            f"fit {fit_kw}")


# ----------------------------------------------------------------------------------------------- the runs


def _cast(case: dict, a):
    if a is None or not isinstance(a, np.ndarray) or not np.issubdtype(a.dtype, np.floating):
        return a
    return a.astype(case["fx"])


def _fit_kw(case: dict) -> dict:
    kw = dict(case["fit"])
    for k in ("sample_weight",):
        if k in kw:
            kw[k] = _cast(case, kw[k])
    if "validation_data" in kw:
        kw["validation_data"] = tuple(_cast(case, a) for a in kw["validation_data"])
    return kw


def keras_run(case: dict, run_eagerly: bool):
    """``(status, history or exception, final weights, initial weights)``, status "ok" or "raised"."""
    name, loss_kw = case["loss"]
    opt_name, opt_kw = case["optimizer"]
    with floatx(case["fx"]), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras.utils.set_random_seed(case["id"])
        km = keras_model(case["spec"])
        w0 = km.get_weights()
        km.compile(getattr(keras.optimizers, opt_name)(**opt_kw), getattr(keras.losses, name)(**loss_kw),
                   metrics=list(case["metrics"]), run_eagerly=run_eagerly)
        try:
            h = km.fit(_cast(case, case["x"]), _cast(case, case["y"]), shuffle=False, verbose=0, **_fit_kw(case))
        except Exception as e:  # noqa: BLE001 - the type is compared
            return "raised", e, km.get_weights(), w0
        return "ok", {k: [float(v) for v in vs] for k, vs in h.history.items()}, km.get_weights(), w0


def torch_run(case: dict, w0):
    name, loss_kw = case["loss"]
    opt_name, opt_kw = case["optimizer"]
    dtype = getattr(torch, case["fx"])
    with _DefaultDtype(dtype), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tm = build_model(case["spec"], dtype=dtype)
        load_keras_weights(tm, w0)
        try:
            h = tfit.fit(tm, case["x"], case["y"], loss=getattr(losses, name)(**loss_kw),
                         optimizer=getattr(optim, opt_name)(tm.parameters(), **opt_kw),
                         metrics=list(case["metrics"]), shuffle=False, verbose=0, **_fit_kw(case))
        except Exception as e:  # noqa: BLE001 - the type is compared
            return "raised", e, keras_weights(tm)
        return "ok", {k: [float(v) for v in vs] for k, vs in h.history.items()}, keras_weights(tm)


def _rel(a, b) -> float:
    """Largest |a - b| / |b| (0 where both are equal, NaN equal to NaN)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    if same.all():
        return 0.0
    with np.errstate(all="ignore"):
        r = np.abs(a - b) / np.maximum(np.abs(b), 1e-300)
    return float(np.max(np.where(same, 0.0, np.nan_to_num(r, nan=np.inf))))


def _tensor_rel(a, b, floor: float) -> float:
    """Largest |a - b| relative to the tensor's largest entry, or to ``floor`` where that is larger."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return np.inf
    if np.array_equal(a, b):
        return 0.0
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), floor))


def _cancelled_biases(spec: dict) -> set:
    """The indices (in ``get_weights()``) of the biases of linear Dense layers that a BatchNormalization follows:
    it subtracts the batch mean, so their gradient is rounding noise (~1e-17, not the same on both sides), which
    Adam divides by its epsilon; they are compared against the model's largest weight."""
    out, i, layers = set(), 0, spec["layers"]
    for j, layer in enumerate(layers):
        if layer["type"] == "dense":
            nxt = [L["type"] for L in layers[j + 1:] if L["type"] != "dropout"][:1]
            if nxt == ["batchnorm"] and layer.get("activation") in (None, "linear"):
                out.add(i + 1)
            i += 2
        elif layer["type"] == "batchnorm":
            i += 4
    return out


def run_case(case: dict, run_eagerly: bool = True) -> dict:
    """Both runs and the comparison; returns the figures (and raises AssertionError on a mismatch)."""
    k_status, k_out, k_w, w0 = keras_run(case, run_eagerly)
    t_status, t_out, t_w = torch_run(case, w0)
    what = describe(case)
    if k_status == "raised":
        assert t_status == "raised", f"{what}\nKeras raised {type(k_out).__name__}: {k_out}; torch_impl trained"
        assert isinstance(t_out, type(k_out)), (f"{what}\nKeras raised {type(k_out).__name__}: {k_out}\n"
                                                f"torch_impl raised {type(t_out).__name__}: {t_out}")
        # at the same point, or earlier: with validation_split Keras cuts every array at x's length
        # (array_slicing.py:496) and finds a short sample_weight or y only in the validation part, at the first
        # validation, after an epoch of training; torch_impl checks the lengths before training
        k_trained = any(not np.array_equal(a, b) for a, b in zip(k_w, w0))
        t_trained = any(not np.array_equal(a, b) for a, b in zip(t_w, w0))
        assert k_trained or not t_trained, (f"{what}\nKeras raised {type(k_out).__name__} "
                                        f"{'after' if k_trained else 'before'} training, torch_impl "
                                        f"{'after' if t_trained else 'before'}: {k_out!s:.300} / {t_out!s:.300}")
        point = "after" if k_trained else "before"
        return {"raised": f"{type(k_out).__name__} (Keras's {point} training)", "hist": 0.0, "weights": 0.0}
    if t_status == "raised":
        raise AssertionError(f"{what}\nKeras trained; torch_impl raised {type(t_out).__name__}: {t_out}") from t_out
    assert sorted(t_out) == sorted(k_out), f"{what}\nhistory keys: torch_impl {sorted(t_out)}, Keras {sorted(k_out)}"
    hist = {k: _rel(t_out[k], k_out[k]) for k in k_out}
    assert all(len(t_out[k]) == len(k_out[k]) for k in k_out)
    assert len(t_w) == len(k_w)
    largest = max(float(np.max(np.abs(w))) for w in k_w)
    floors = [largest if i in _cancelled_biases(case["spec"]) else 1e-3 * largest for i in range(len(k_w))]
    weights = max(_tensor_rel(a, b, f) for a, b, f in zip(t_w, k_w, floors, strict=True))
    tol = TOL[case["fx"]]
    worst_key = max(hist, key=hist.get)
    bad = {k: v for k, v in hist.items() if not v <= tol}
    assert not bad and weights <= tol, (f"{what}\nhistory rel {hist}\nweights rel {weights:.2e}\n"
                                        f"torch_impl {t_out}\nKeras {k_out}")
    return {"raised": None, "hist": hist[worst_key], "key": worst_key, "weights": weights}


def _fuzz(case_ids, run_eagerly: bool) -> None:
    worst = {"float64": [0.0, 0.0], "float32": [0.0, 0.0]}
    raised: dict = {}
    failures = []
    for cid in case_ids:
        case = draw_case(cid, _fx(cid))
        try:
            r = run_case(case, run_eagerly)
        except AssertionError as e:
            failures.append(str(e))
            continue
        if r["raised"]:
            raised[r["raised"]] = raised.get(r["raised"], 0) + 1
        else:
            w = worst[case["fx"]]
            w[0], w[1] = max(w[0], r["hist"]), max(w[1], r["weights"])
        print(f"case {cid} ({case['fx']}, {case['task']}, {case['loss'][0]}, {case['optimizer'][0]}): "
              + (f"both raised {r['raised']}" if r["raised"] else
                 f"history max rel {r['hist']:.1e} ({r['key']}), weights max rel {r['weights']:.1e}"))
    print(f"{len(case_ids)} cases; max rel history/weights: float64 {worst['float64'][0]:.1e}/"
          f"{worst['float64'][1]:.1e}, float32 {worst['float32'][0]:.1e}/{worst['float32'][1]:.1e}; "
          f"raised on both sides: {raised}")
    assert not failures, f"{len(failures)} of {len(case_ids)} cases differ:\n" + "\n\n".join(failures)


def optimizer_steps(case: dict) -> int:
    """The training steps of a case's ``fit`` (what the eager Keras run costs)."""
    kw, n = case["fit"], len(case["x"])
    if kw.get("validation_split"):
        n = int(np.floor(n * (1.0 - kw["validation_split"])))
    return int(np.ceil(n / (kw["batch_size"] or 32))) * kw["epochs"]


def default_case_ids(count: int = 6, max_steps: int = 3) -> list:
    """The first ``count`` case ids of at most ``max_steps`` training steps (the default run's time budget), the
    last one replaced by the first such case with a BatchNormalization if none has one."""
    out, cid, batchnorm = [], 0, None
    while len(out) < count or batchnorm is None:
        case = draw_case(cid, _fx(cid))
        if optimizer_steps(case) <= max_steps:
            has_bn = any(layer["type"] == "batchnorm" for layer in case["spec"]["layers"])
            if len(out) < count:
                out.append(cid)
                batchnorm = cid if has_bn and batchnorm is None else batchnorm
            elif has_bn:
                batchnorm = cid
        cid += 1
    return out if batchnorm in out else out[:-1] + [batchnorm]


def _fx(case_id: int) -> str:
    return "float32" if case_id % 4 == 3 else "float64"


def test_fit_fuzz():
    _fuzz(default_case_ids(), run_eagerly=True)


@pytest.mark.slow
def test_fit_fuzz_many():
    _fuzz(range(240), run_eagerly=False)


def test_short_validation_arrays_raise_like_keras():
    """Found by this fuzz: a ``validation_data`` whose ``y`` or sample weights hold fewer rows than its ``x``
    trained and reported a ``val_loss`` (one row broadcast against the predictions); Keras's ``ValueError``
    ("Data cardinality is ambiguous") at the first validation, torch_impl's before training."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 2)), rng.normal(size=(8, 1))
    spec = {"input_dim": 2, "layers": [{"type": "dense", "units": 1}]}
    for vd in ((x[:2], y[:1]), (x[:2], y[:2], np.ones(1))):
        km = keras_model(spec)
        km.compile("sgd", "mse", run_eagerly=True)
        with pytest.raises(ValueError, match="Data cardinality is ambiguous") as k_err:
            km.fit(x, y, validation_data=vd, verbose=0)
        tm = build_model(spec)
        w0 = keras_weights(tm)
        with pytest.raises(ValueError, match="Data cardinality is ambiguous") as t_err:
            tfit.fit(tm, x, y, loss="mse", optimizer=optim.SGD(tm.parameters()), validation_data=vd, verbose=0)
        print(f"validation_data {[np.shape(a) for a in vd]}: Keras {str(k_err.value)!r}; torch_impl "
              f"{str(t_err.value)!r}")
        assert all(np.array_equal(a, b) for a, b in zip(keras_weights(tm), w0))  # before training


def test_port_slips_keras_accepts_torch_impl_refuses():
    """The three slips the fuzz leaves out of its draw (README, "Where we deliberately differ"): Keras 3.15.1 takes
    ``batch_size=0`` as its default 32 and a negative ``validation_split`` as none (an empty validation pass, no
    ``val_`` entries), both training as without the argument, and fails inside TensorFlow on an ``(N, 2)``
    ``sample_weight`` for ``(N, 1)`` outputs; torch_impl raises ``ValueError`` naming the argument, before
    training."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 2)), rng.normal(size=(40, 1))
    spec = {"input_dim": 2, "layers": [{"type": "dense", "units": 1}]}

    def keras_fit(**kw):
        keras.utils.set_random_seed(0)
        km = keras_model(spec)
        km.compile("sgd", "mse", run_eagerly=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the empty validation pass's "ran out of data"
            return km.fit(x, y, epochs=1, shuffle=False, verbose=0, **kw).history

    plain = keras_fit()
    for kw in ({"batch_size": 0}, {"validation_split": -0.1}):
        got = keras_fit(**kw)
        print(f"Keras fit({kw}): {got} (without it: {plain})")
        assert got == plain
    with pytest.raises(Exception) as k_err:
        keras_fit(sample_weight=np.ones((40, 2)))
    print(f"Keras (N, 2) sample_weight: {type(k_err.value).__name__}")
    assert type(k_err.value).__name__ == "InvalidArgumentError"
    for kw, name in (({"batch_size": 0}, "batch_size"), ({"validation_split": -0.1}, "validation_split"),
                     ({"sample_weight": np.ones((40, 2))}, "sample_weight")):
        tm = build_model(spec)
        w0 = keras_weights(tm)
        with pytest.raises(ValueError, match=name):
            tfit.fit(tm, x, y, loss="mse", optimizer=optim.SGD(tm.parameters()), epochs=1, verbose=0, **kw)
        assert all(np.array_equal(a, b) for a, b in zip(keras_weights(tm), w0))  # before training

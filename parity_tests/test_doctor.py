"""The training doctor: each rule on numbers that should and should not trigger it, the framework
measurements on a small model, and the ``lossparity doctor`` command on good and unusable files.

(That every catalogue scenario gets its expected findings in both frameworks is asserted in
test_scenarios.py, where the catalogue runs.)
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from scenarios import doctor as D


def _ids(findings) -> list[str]:
    return [f.id for f in findings]


# --------------------------------------------------------------------------------------------- before
@pytest.mark.parametrize("loss,y,n_out,expected", [
    ("categorical_crossentropy", np.array([0, 1, 2, 1]), 3, ["integer_labels_for_categorical"]),
    ("categorical_crossentropy", np.array([[0], [1], [2], [1]]), 3, ["integer_labels_for_categorical"]),
    ("categorical_focal_crossentropy", np.array([0, 1, 2, 1]), 3, ["integer_labels_for_categorical"]),
    ("sparse_categorical_crossentropy", np.eye(3)[[0, 1, 2, 1]], 3, ["one_hot_labels_for_sparse"]),
    ("binary_crossentropy", np.array([0, 1, 2, 3, 1, 0]), 1, ["labels_outside_0_1"]),
    ("binary_focal_crossentropy", np.array([-1, 1, 1, -1]), 1, ["labels_outside_0_1"]),
    ("categorical_crossentropy", np.zeros((6, 3)), 3, ["zero_target_rows"]),
    ("sparse_categorical_crossentropy", np.zeros(10, int), 3, ["single_class_labels"]),
    ("sparse_categorical_crossentropy", np.r_[np.zeros(90), np.ones(10)].astype(int), 2, ["class_imbalance"]),
    ("categorical_crossentropy", np.eye(3)[[0, 1, 2] * 5], 3, []),
    ("sparse_categorical_crossentropy", np.array([0, 1, 2, 1, 0, 2]), 3, []),
    ("binary_crossentropy", np.array([0.0, 1.0, 0.2, 0.9]), 1, []),  # soft binary targets are fine
])
def test_label_rules(loss, y, n_out, expected):
    got = _ids(D.check_setup(y, loss=loss, n_outputs=n_out, output_activation="softmax" if n_out > 1 else "sigmoid"))
    print(loss, y.shape, "->", got)
    assert got == expected


def test_imbalance_is_silenced_by_class_weight_sample_weight_or_per_class_alpha():
    y = np.r_[np.zeros(90), np.ones(10)].astype(int)
    base = dict(loss="sparse_categorical_crossentropy", n_outputs=2, output_activation="softmax")
    f = D.check_setup(y, **base)
    assert _ids(f) == ["class_imbalance"]
    assert f[0].numbers["balanced_class_weight"] == {"0": pytest.approx(100 / 180), "1": pytest.approx(5.0)}
    assert not D.check_setup(y, class_weight={0: 1, 1: 9}, **base)
    assert not D.check_setup(y, sample_weight=np.ones(100), **base)
    cf = dict(base, loss="categorical_focal_crossentropy")
    assert _ids(D.check_setup(np.eye(2)[y], alpha=0.25, **cf)) == ["class_imbalance"]  # one alpha for all
    assert not D.check_setup(np.eye(2)[y], alpha=[0.1, 0.9], **cf)


@pytest.mark.parametrize("act,n_out,loss,from_logits,expected", [
    ("softmax", 1, "binary_crossentropy", False, ["softmax_on_one_unit"]),
    ("softmax", 3, "binary_crossentropy", False, ["softmax_output_with_binary_loss"]),
    ("sigmoid", 3, "categorical_crossentropy", False, ["sigmoid_output_with_categorical_loss"]),
    ("softmax", 3, "categorical_crossentropy", True, ["probabilities_given_as_logits"]),
    ("sigmoid", 1, "binary_crossentropy", True, ["probabilities_given_as_logits"]),
    ("softmax", 3, "categorical_crossentropy", False, []),
    ("linear", 3, "categorical_crossentropy", True, []),
])
def test_output_layer_rules(act, n_out, loss, from_logits, expected):
    y = np.eye(n_out)[[0, 1, 2, 0] if n_out == 3 else [0, 0, 0, 0]] if loss != "binary_crossentropy" \
        else np.array([0, 1, 1, 0] if n_out == 1 else np.eye(3)[[0, 1, 2, 0]])
    got = [i for i in _ids(D.check_setup(y, loss=loss, n_outputs=n_out, output_activation=act,
                                         from_logits=from_logits)) if i != "single_class_labels"]
    print(act, n_out, loss, from_logits, "->", got)
    assert got == expected


def test_from_logits_checked_on_the_outputs():
    y = np.array([0, 1, 2, 1])
    logits = np.array([[2.0, -1.0, 0.5], [0.1, 3.0, -2.0], [-1.0, 0.0, 4.0], [0.0, 2.0, 1.0]])
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    kw = dict(loss="sparse_categorical_crossentropy", n_outputs=3, output_activation=None)
    assert _ids(D.check_setup(y, predictions=logits, **kw)) == ["logits_given_as_probabilities"]
    assert _ids(D.check_setup(y, predictions=probs, from_logits=True, **kw)) == ["probabilities_given_as_logits"]
    assert not D.check_setup(y, predictions=probs, **kw)
    assert not D.check_setup(y, predictions=logits, from_logits=True, **kw)


# --------------------------------------------------------------------------------------------- during
def _epochs(losses, norms=(1.0, 1.0), clip=0.0, hist=(5, 5)):
    return [{"loss": v, "grad_norms": list(norms), "clip_fraction": clip, "pred_hist": list(hist)} for v in losses]


LABELS = np.array([0, 1] * 5)


@pytest.mark.parametrize("epochs,kw,expected", [
    (_epochs([1.0, 0.8, 0.6, 0.5]), {}, []),
    (_epochs([1.0, 0.8, float("nan")]), {}, ["non_finite"]),
    (_epochs([1.0, 0.2, -3.0]), {}, ["negative_loss"]),
    (_epochs([1.0, 1.0, 1.0], norms=(0.0, 0.0), clip=1.0), {}, ["zero_gradients", "saturated_outputs"]),
    (_epochs([0.7, 0.7, 0.7]), {}, ["constant_loss"]),
    (_epochs([1.0, 0.9, 0.8], norms=(0.01, 0.5, 1.0)), {"n_dense": 3}, ["vanishing_gradients"]),
    (_epochs([1.0, 0.9, 0.8], norms=(0.01, 1.0)), {"n_dense": 2}, []),  # two layers: not a depth problem
    (_epochs([1.0, 0.9, 0.8], norms=(100.0, 0.5, 1.0)), {"n_dense": 3}, ["exploding_gradients"]),
    (_epochs([3.0, 1.0, 0.4, 0.9, 1.5]), {}, ["learning_rate_too_high"]),
    (_epochs([3.0, 1.0, 1.5, 0.8, 1.4, 0.6]), {}, ["learning_rate_too_high"]),
    (_epochs([0.7, 0.3, 0.1, 0.05, 0.03, 0.035, 0.025, 0.03]), {}, []),  # noise near convergence
    (_epochs([1.0, 0.9, 0.8], hist=(10, 0)), {}, ["prediction_collapse"]),
    (_epochs([0.7, 0.69, 0.69, 0.69, 0.69]), {"n_dense": 1, "train_accuracy": 0.55}, ["linear_model_at_chance"]),
    (_epochs([0.7, 0.6, 0.5, 0.4, 0.3]), {"n_dense": 1, "train_accuracy": 0.9}, []),
    (_epochs([0.7, 0.69, 0.69, 0.69, 0.69]), {"n_dense": 2, "train_accuracy": 0.55}, []),  # has a hidden layer
])
def test_training_rules(epochs, kw, expected):
    kw = {"n_dense": 2, **kw}
    got = _ids(D.check_training(epochs, labels=LABELS, loss="sparse_categorical_crossentropy", **kw))
    print([e["loss"] for e in epochs], kw, "->", got)
    assert got == expected


def test_vanishing_uses_the_start_of_training():
    e = _epochs([2.3, 2.2, 2.1], norms=(0.5, 0.5, 1.0))
    assert not D.check_training(e, n_dense=3)
    f = D.check_training(e, n_dense=3, start_grad_norms=[0.01, 0.2, 1.0])
    assert _ids(f) == ["vanishing_gradients"] and f[0].numbers["ratio_start"] == pytest.approx(0.01)


# ---------------------------------------------------------------------------------------------- after
def test_outcome_metrics_and_minority_rule():
    y = np.r_[np.zeros(90), np.ones(10)].astype(int)
    p = np.c_[np.full(100, 0.7), np.full(100, 0.3)]
    p[-3:] = [0.2, 0.8]  # 3 of 10 minority samples found
    m, f = D.check_outcome(y, p, loss="sparse_categorical_crossentropy")
    print(m)
    assert m["confusion_matrix"] == [[90, 0], [7, 3]]
    assert m["recall"] == [1.0, 0.3] and m["balanced_accuracy"] == pytest.approx(0.65)
    assert _ids(f) == ["minority_class_ignored"]
    p[-6:] = [0.2, 0.8]
    assert not D.check_outcome(y, p, loss="sparse_categorical_crossentropy")[1]


# ---------------------------------------------------------------------------------------- frameworks
def _small_problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4))
    y = (x[:, 0] > 0).astype(np.int64)
    spec = {"input_dim": 4, "layers": [{"type": "dense", "units": 8, "activation": "sigmoid"},
                                       {"type": "dense", "units": 8, "activation": "sigmoid"},
                                       {"type": "dense", "units": 2, "activation": "softmax"}]}
    return x, y, spec


def test_torch_doctor_measures_and_diagnoses():
    from torch_impl import losses, optim
    from torch_impl.diagnose import TrainingDoctor
    from torch_impl.fit import fit
    from torch_impl.nn import build_model

    x, y, spec = _small_problem()
    torch.manual_seed(0)
    model = build_model(spec, dtype=torch.float32)
    loss = losses.SparseCategoricalCrossentropy()
    doctor = TrainingDoctor(model, loss, x, y)
    facts = doctor.setup_facts()
    assert facts["loss"] == "sparse_categorical_crossentropy" and facts["n_outputs"] == 2
    assert facts["output_activation"] == "softmax" and facts["n_dense"] == 3 and len(facts["start_grad_norms"]) == 3
    assert not D.ids(doctor.diagnose_setup())
    fit(model, x, y, loss=loss, optimizer=optim.Adam(model.parameters(), learning_rate=0.01), epochs=3,
        verbose=0, generator=0, on_epoch_end=doctor.on_epoch_end)
    assert len(doctor.epochs) == 3
    rec = doctor.epochs[-1]
    assert set(rec) == {"loss", "grad_norms", "clip_fraction", "pred_hist"} and sum(rec["pred_hist"]) == 64
    d = doctor.diagnose(x, y)
    print(doctor.render(d))
    assert d["outcome"]["n"] == 64


@pytest.mark.keras
def test_keras_doctor_measures_the_same_numbers_as_the_torch_doctor():
    pytest.importorskip("keras")
    import keras
    from keras.src.backend.common import global_state

    from keras_impl.diagnose import DoctorCallback
    from keras_impl.models import build_model as keras_model
    from torch_impl import losses
    from torch_impl.diagnose import TrainingDoctor
    from torch_impl.nn import build_model, load_keras_weights

    x, y, spec = _small_problem()
    policy = global_state.get_global_attribute("dtype_policy")  # None after clear_session: Sequential pins it
    keras.config.set_floatx("float64")
    torch.set_default_dtype(torch.float64)  # Keras's floatx on the torch side (the loss computes in it)
    try:
        km = keras_model(spec, dtype="float64")
        cb = DoctorCallback(x, y, loss=keras.losses.SparseCategoricalCrossentropy())
        cb.set_model(km)
        kf = cb.setup_facts()
        tm = build_model(spec, dtype=torch.float64)
        load_keras_weights(tm, km.get_weights())
        tf_ = TrainingDoctor(tm, losses.SparseCategoricalCrossentropy(), x, y).setup_facts()
    finally:
        keras.config.set_floatx("float32")
        global_state.set_global_attribute("dtype_policy", policy)
        torch.set_default_dtype(torch.float32)
    diff = np.max(np.abs(np.array(kf["start_grad_norms"]) - np.array(tf_["start_grad_norms"])))
    print("start gradient norms", kf["start_grad_norms"], "max diff", diff)
    assert diff < 1e-12
    assert np.max(np.abs(kf["predictions"] - tf_["predictions"])) < 1e-12
    for k in ("loss", "n_outputs", "output_activation", "from_logits", "n_dense"):
        assert kf[k] == tf_[k], k


# -------------------------------------------------------------------------------------------------- CLI
def test_cli_on_arrays(tmp_path, capsys):
    from scenarios.cli import main

    y = np.r_[np.zeros(90), np.ones(10)].astype(int)
    p = np.c_[np.full(100, 0.8), np.full(100, 0.2)]
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "p.npy", p)
    out = tmp_path / "d.json"
    rc = main(["doctor", "--labels", str(tmp_path / "y.npy"), "--predictions", str(tmp_path / "p.npy"),
               "--loss", "sparse_categorical_crossentropy", "--json", str(out)])
    text = capsys.readouterr().out
    print(text)
    assert rc == 1 and "prediction_collapse" in text and "minority_class_ignored" in text
    data = json.loads(out.read_text())
    assert {f["id"] for f in data["findings"]} == {"class_imbalance", "minority_class_ignored", "prediction_collapse"}
    assert data["outcome"]["confusion_matrix"] == [[90, 0], [10, 0]]
    np.savetxt(tmp_path / "good_p.csv", np.c_[np.where(y == 0, 0.9, 0.1), np.where(y == 0, 0.1, 0.9)], delimiter=",")
    rc = main(["doctor", "--labels", str(tmp_path / "y.npy"), "--predictions", str(tmp_path / "good_p.csv"),
               "--loss", "sparse_categorical_crossentropy", "--class-weight", '{"0": 1, "1": 9}'])
    assert rc == 0 and "No findings" in capsys.readouterr().out


@pytest.mark.parametrize("make,needle", [
    (lambda d: (d / "missing.npy", None), "no such file"),
    (lambda d: (d / "s.npy", np.array(["a", "b"])), "expected numbers"),
    (lambda d: (d / "e.npy", np.zeros(0)), "empty"),
    (lambda d: (d / "t.txt", "not numbers at all"), "cannot read"),
    (lambda d: (d / "short.npy", np.zeros(7)), "labels have 7 samples but predictions have 100"),
    (lambda d: (d / "rank3.npy", np.zeros((100, 2, 2))), None),
])
def test_cli_rejects_unusable_files_clearly(tmp_path, capsys, make, needle):
    from scenarios.cli import main

    np.save(tmp_path / "p.npy", np.full((100, 2), 0.5))
    path, content = make(tmp_path)
    if isinstance(content, str):
        path.write_text(content)
    elif content is not None:
        np.save(path, content)
    labels, preds = (str(path), str(tmp_path / "p.npy"))
    if path.name == "rank3.npy":
        np.save(tmp_path / "y.npy", np.zeros(100, int))
        labels, preds, needle = str(tmp_path / "y.npy"), str(path), "predictions must have shape"
    rc = main(["doctor", "--labels", labels, "--predictions", preds, "--loss", "sparse_categorical_crossentropy"])
    out = capsys.readouterr().out
    print(out)
    assert rc == 2 and needle in out and "Traceback" not in out


def test_cli_needs_a_scenario_or_all_three_arrays(capsys):
    from scenarios.cli import main

    assert main(["doctor"]) == 2
    assert main(["doctor", "--labels", "y.npy"]) == 2
    assert main(["doctor", "no_such_scenario"]) == 2
    assert "unknown loss" not in capsys.readouterr().out


@pytest.mark.keras
def test_cli_on_a_scenario(capsys):
    from scenarios.cli import main

    rc = main(["doctor", "bce_labels_0_3_literal"])
    out = capsys.readouterr().out
    print(out)
    assert rc == 0 and out.count("labels_outside_0_1") >= 2 and "as expected" in out

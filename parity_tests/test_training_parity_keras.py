"""Whole training runs: torch_impl (optim + nn + fit) against Keras fit, same data, weights and batch order.

float64: every epoch's loss and accuracy within 1e-8 relative over 20 epochs,
final weights (BatchNormalization moving statistics included) and
evaluation-mode outputs within 1e-8. float32: final loss within 1e-3 relative
and the same predicted classes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("keras")

from scenarios.runner import run_keras, run_torch  # noqa: E402
from scenarios.training import TrainingRun, compare_histories  # noqa: E402

pytestmark = pytest.mark.keras

RNG = np.random.default_rng(0)
X = RNG.normal(size=(192, 8))
_W = RNG.normal(size=(8, 3))
Y3 = np.argmax(X @ _W + RNG.normal(size=(192, 3)), -1)
Y2 = (X[:, 0] + 0.5 * X[:, 1] + RNG.normal(scale=0.5, size=192) > 0.8).astype(np.float64)

ARCHS = {
    "dense_softmax": ({"input_dim": 8, "layers": [{"type": "dense", "units": 16, "activation": "relu"},
                                                  {"type": "dense", "units": 3, "activation": "softmax"}]},
                      ("categorical_crossentropy", {}), ("adam", {"learning_rate": 0.01}), np.eye(3)[Y3],
                      {0: 1.0, 1: 3.0, 2: 0.5}),
    "deep_sigmoid": ({"input_dim": 8, "layers": [{"type": "dense", "units": 32, "activation": "sigmoid"},
                                                 {"type": "dense", "units": 16, "activation": "sigmoid"},
                                                 {"type": "dense", "units": 3, "activation": "softmax"}]},
                     ("sparse_categorical_crossentropy", {}), ("sgd", {"learning_rate": 0.1, "momentum": 0.9}), Y3,
                     {0: 2.0, 2: 0.7}),
    "relu_batchnorm": ({"input_dim": 8, "layers": [{"type": "dense", "units": 32, "activation": "relu"},
                                                   {"type": "batchnorm"},
                                                   {"type": "dense", "units": 16, "activation": "relu"},
                                                   {"type": "batchnorm"},
                                                   {"type": "dense", "units": 3, "activation": "softmax"}]},
                       ("categorical_crossentropy", {}), ("rmsprop", {"learning_rate": 0.003}), np.eye(3)[Y3],
                       {0: 1.0, 1: 10.0, 2: 10.0}),
    "sigmoid_bce": ({"input_dim": 8, "layers": [{"type": "dense", "units": 16, "activation": "relu"},
                                                {"type": "dense", "units": 1, "activation": "sigmoid"}]},
                    ("binary_crossentropy", {}), ("adam", {"learning_rate": 0.01}), Y2, {0: 1.0, 1: 4.0}),
}


def _run(arch, weighted, dtype):
    spec, loss, opt, y, cw = ARCHS[arch]
    run = TrainingRun(f"{arch}-{'cw' if weighted else 'plain'}", spec, loss, opt, X, y, batch_size=25, epochs=20,
                      seed=3, class_weight=cw if weighted else None, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_torch(run), run_keras(run)


@pytest.mark.parametrize("weighted", [False, True], ids=["plain", "class_weight"])
@pytest.mark.parametrize("arch", list(ARCHS))
def test_float64_trajectories(arch, weighted):
    ours, ref = _run(arch, weighted, "float64")
    cmp = compare_histories(ours["history"], ref["history"], "float64")
    w_err = max(float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)) for a, b in zip(ours["weights"], ref["weights"]))
    p_err = float(np.max(np.abs(ours["probabilities"] - ref["probabilities"])))
    print(f"{arch} {'class_weight' if weighted else 'plain'} float64: per-epoch rel "
          f"{ {k: f'{v:.1e}' for k, v in cmp['per_metric'].items()} }, weights {w_err:.1e}, outputs {p_err:.1e}; "
          f"final loss {ref['history']['loss'][-1]:.6f}")
    assert cmp["passed"], cmp
    assert w_err < 1e-8  # includes BatchNormalization moving mean and variance
    assert p_err < 1e-8  # evaluation mode: BatchNormalization uses the moving statistics


@pytest.mark.parametrize("weighted", [False, True], ids=["plain", "class_weight"])
@pytest.mark.parametrize("arch", [pytest.param(a, marks=pytest.mark.slow) if a == "relu_batchnorm" else a
                                  for a in ARCHS])  # relu_batchnorm: the heaviest; its float64 run is exact
def test_float32_final_loss_and_classes(arch, weighted):
    ours, ref = _run(arch, weighted, "float32")
    cmp = compare_histories(ours["history"], ref["history"], "float32")
    po, pr = ours["probabilities"], ref["probabilities"]
    classes_o = (po[:, 0] > 0.5).astype(int) if po.shape[1] == 1 else po.argmax(1)
    classes_r = (pr[:, 0] > 0.5).astype(int) if pr.shape[1] == 1 else pr.argmax(1)
    print(f"{arch} float32: final loss rel {cmp['per_metric']['loss']:.1e}; "
          f"predicted-class histogram {np.bincount(classes_o).tolist()} vs Keras {np.bincount(classes_r).tolist()}")
    assert cmp["passed"], cmp
    np.testing.assert_array_equal(classes_o, classes_r)


def test_validation_data_and_batchnorm_eval_mode():
    """val_loss / val_accuracy each epoch (evaluation mode: BatchNormalization's moving statistics)."""
    spec, loss, opt, y, _ = ARCHS["relu_batchnorm"]
    xv = RNG.normal(size=(50, 8))
    yv = np.eye(3)[np.argmax(xv @ _W, -1)]
    run = TrainingRun("val", spec, loss, opt, X, y, batch_size=32, epochs=8, seed=5, dtype="float64",
                      validation=(xv, yv))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, ref = run_torch(run), run_keras(run)
    assert {"val_loss", "val_accuracy"} <= set(ours["history"])
    cmp = compare_histories(ours["history"], ref["history"], "float64")
    print("validation per-epoch rel:", {k: f"{v:.1e}" for k, v in cmp["per_metric"].items()})
    assert cmp["passed"], cmp


@pytest.mark.parametrize("opt", [
    ("adam", {"learning_rate": 0.01, "use_ema": True, "ema_momentum": 0.9}),
    ("adam", {"learning_rate": 0.01, "gradient_accumulation_steps": 2, "loss_scale_factor": 8.0}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "use_ema": True, "ema_overwrite_frequency": 5,
             "gradient_accumulation_steps": 3}),
], ids=["ema", "accumulation-loss_scale", "ema-overwrite-accumulation"])
def test_optimizer_options_over_a_whole_fit(opt):
    """EMA (fit ends with the averaged weights), gradient accumulation and loss scaling through fit."""
    spec, loss, _, y, cw = ARCHS["dense_softmax"]
    run = TrainingRun(f"opt-{opt[1]}", spec, loss, opt, X, y, batch_size=25, epochs=6, seed=4, class_weight=cw,
                      dtype="float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, ref = run_torch(run), run_keras(run)
    cmp = compare_histories(ours["history"], ref["history"], "float64")
    w_err = max(float(np.max(np.abs(a - b)) / np.max(np.abs(b))) for a, b in zip(ours["weights"], ref["weights"]))
    print(f"{opt}: per-epoch rel {cmp['per_metric']}, final weights {w_err:.1e}")
    assert cmp["passed"], cmp
    assert w_err < 1e-8

"""``torch_impl.constraints`` against ``keras.constraints`` and ``keras.Model.fit`` (keras 3.15.1, TensorFlow).

Each constraint's projection, Dense and Conv2D kernels in torch's layout, then whole runs: Hinton's Dropout +
MaxNorm recipe (SGD with momentum, seeded Dropout), and models from one spec on both sides.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

from keras_impl.models import build_model as keras_build  # noqa: E402
from parity_tests.test_field_scripts_round2 import _check_history, _dense, _precision  # noqa: E402
from torch_impl import constraints, optim  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl.nn import Dropout, build_model, load_keras_weights  # noqa: E402

pytestmark = pytest.mark.keras

CONSTRAINTS = [("MaxNorm", {"max_value": 0.7}), ("MaxNorm", {"max_value": 1.5, "axis": 1}), ("NonNeg", {}),
               ("UnitNorm", {}), ("UnitNorm", {"axis": 1}), ("MinMaxNorm", {"min_value": 0.5, "max_value": 0.9}),
               ("MinMaxNorm", {"min_value": 0.2, "max_value": 1.1, "rate": 0.3, "axis": 1})]


@pytest.mark.parametrize("dt", ["float64", "float32"])
@pytest.mark.parametrize("cls,kwargs", CONSTRAINTS, ids=[f"{c}{sorted(k.items())}" for c, k in CONSTRAINTS])
def test_constraint_on_a_dense_kernel_like_keras(cls, kwargs, dt):
    """A Keras kernel ``(in, out)`` projected by Keras; the torch ``Linear`` holding it ``(out, in)`` projected by
    ``apply_constraints``: equal bit for bit in float64; in float32 within an ulp (the norms' sums add in
    another order than TensorFlow's reduction)."""
    rng = np.random.default_rng(1)
    kernel = (rng.normal(size=(7, 5)) * 0.6).astype(dt)
    with _precision(dt):
        expected = np.asarray(getattr(keras.constraints, cls)(**kwargs)(kernel))
        layer = constraints.constrain(_dense(kernel, np.zeros(5, dt)),
                                      kernel_constraint=getattr(constraints, cls)(**kwargs))
        constraints.apply_constraints([layer.weight])
    got = layer.weight.detach().numpy().T
    err = float(np.max(np.abs(got - expected)))
    print(f"{cls}{kwargs} {dt}: max abs diff {err:.1e}")
    assert got.dtype == expected.dtype
    assert err == 0.0 if dt == "float64" else np.allclose(got, expected, rtol=2.4e-7, atol=0)


def test_conv_kernel_in_keras_layout():
    """``MaxNorm(axis=[0, 1, 2])`` on a Conv2D kernel ``(kh, kw, in, out)``: per output filter, as Keras; the torch
    ``Conv2d`` weight ``(out, in, kh, kw)`` gets the same projection."""
    rng = np.random.default_rng(2)
    kernel = rng.normal(size=(3, 3, 2, 4))
    with _precision("float64"):
        expected = np.asarray(keras.constraints.MaxNorm(1.0, axis=[0, 1, 2])(kernel))
        conv = torch.nn.Conv2d(2, 4, 3, dtype=torch.float64)
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(np.transpose(kernel, (3, 2, 0, 1))))
        constraints.constrain(conv, kernel_constraint=constraints.MaxNorm(1.0, axis=[0, 1, 2]))
        constraints.apply_constraints([conv.weight])
    got = np.transpose(conv.weight.detach().numpy(), (2, 3, 1, 0))
    print(f"conv MaxNorm: max abs diff {np.max(np.abs(got - expected)):.1e}")
    assert np.allclose(got, expected, rtol=1e-15, atol=0)


def test_get_like_keras():
    for ident in ("max_norm", "MaxNorm", "non_neg", "unit_norm", "min_max_norm",
                  {"class_name": "MaxNorm", "config": {"max_value": 3, "axis": 0}}):
        k, t = keras.constraints.get(ident), constraints.get(ident)
        print(f"{ident}: Keras {type(k).__name__}{k.get_config()} torch_impl {t!r}")
        assert type(k).__name__ == type(t).__name__ and k.get_config() == t.get_config()
    with pytest.raises(ValueError, match="Could not interpret"):
        constraints.get("maxnorm")


def _data(n=192, d=8, classes=3, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = np.argmax(x[:, :classes] + 0.6 * rng.normal(size=(n, classes)), 1)
    return x, y


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_dropout_and_maxnorm_recipe_like_keras(dt):
    """Hinton's recipe as Keras tutorials write it: Dense(64, relu, kernel_constraint=MaxNorm(3)), Dropout(0.5),
    Dense(3, softmax) with a NonNeg bias, SGD(0.5, momentum 0.9) (a rate that pushes the norms into the cap):
    every epoch's loss and accuracy, validation included, and the final weights."""
    x, y = _data()
    with _precision(dt):
        keras.utils.set_random_seed(4)
        km = keras.Sequential([
            keras.Input((8,)),
            keras.layers.Dense(64, activation="relu", kernel_constraint=keras.constraints.MaxNorm(3)),
            keras.layers.Dropout(0.5, seed=21),
            keras.layers.Dense(3, activation="softmax", bias_constraint=keras.constraints.NonNeg())])
        w = km.get_weights()
        hidden = constraints.constrain(_dense(w[0], w[1]), kernel_constraint=constraints.MaxNorm(3))
        out = constraints.constrain(_dense(w[2], w[3]), bias_constraint="non_neg")
        tm = torch.nn.Sequential(hidden, torch.nn.ReLU(), Dropout(0.5, seed=21), out)
        km.compile(optimizer=keras.optimizers.SGD(0.5, momentum=0.9), loss="sparse_categorical_crossentropy",
        metrics=["accuracy"])
        kh = km.fit(x, y, batch_size=32, epochs=6, shuffle=False, verbose=0, validation_split=0.25).history
        th = tfit.fit(tm, x, y, loss="sparse_categorical_crossentropy", output_activation="softmax",
                      optimizer=optim.SGD(tm.parameters(), 0.5, momentum=0.9), batch_size=32, epochs=6,
                      shuffle=False, verbose=0, validation_split=0.25, metrics=["accuracy"]).history
    print(f"Dropout + MaxNorm, {dt}:")
    _check_history(th, kh, dt)
    kw = km.get_weights()
    tw = [hidden.weight.detach().numpy().T, hidden.bias.detach().numpy(), out.weight.detach().numpy().T,
          out.bias.detach().numpy()]
    err = max(float(np.max(np.abs(a - b))) for a, b in zip(tw, kw))
    norms = np.sqrt((kw[0] ** 2).sum(0))
    print(f"  final weights max abs diff {err:.1e}; hidden kernel norms max {norms.max():.6f} (cap 3); output "
          f"bias min {kw[3].min():.3g}")
    assert err <= (1e-12 if dt == "float64" else 1e-4)
    assert norms.max() <= 3.0 + 1e-6 and norms.max() > 2.9  # the cap was reached and held


def test_spec_models_with_constraints():
    x, y = _data(seed=5)
    spec = {"input_dim": 8, "layers": [
        {"type": "dense", "units": 16, "activation": "tanh", "kernel_constraint": {"class_name": "MaxNorm",
                                                                                   "config": {"max_value": 1.0}}},
        {"type": "dense", "units": 3, "activation": "softmax", "kernel_constraint": "unit_norm",
         "bias_constraint": "non_neg"}]}
    with _precision("float64"):
        keras.utils.set_random_seed(6)
        km = keras_build(spec)
        w = km.get_weights()
        km.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy", metrics=[])
        kh = km.fit(x, y, batch_size=32, epochs=4, shuffle=False, verbose=0).history
        tm = build_model(spec)
        load_keras_weights(tm, w)
        th = tfit.fit(tm, x, y, loss="sparse_categorical_crossentropy", optimizer=optim.Adam(tm.parameters(), 0.05),
                      batch_size=32, epochs=4, shuffle=False, verbose=0, metrics=()).history
    print("spec model with constraints:")
    _check_history(th, kh, "float64")

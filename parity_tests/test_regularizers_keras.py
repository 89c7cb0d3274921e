"""``torch_impl.regularizers`` against ``keras.regularizers`` and ``keras.Model.fit`` (keras 3.15.1, TensorFlow).

Values and gradients of every regularizer, then whole training runs of models with kernel, bias and activity
regularizers (and the L2-regularised model a port gets wrong by using torch's ``weight_decay``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras_impl.models import build_model as keras_build  # noqa: E402
from parity_tests.test_field_scripts_round2 import _check_history, _dense, _precision, _rel  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, optim, regularizers  # noqa: E402
from torch_impl.nn import build_model, load_keras_weights  # noqa: E402

pytestmark = pytest.mark.keras

REGS = [("L2", {"l2": 0.003}), ("L1", {"l1": 0.1}), ("L1L2", {"l1": 0.02, "l2": 0.5}), ("L1L2", {"l2": 0.1}),
        ("L2", {}), ("OrthogonalRegularizer", {"factor": 0.3}),
        ("OrthogonalRegularizer", {"factor": 0.2, "mode": "columns"})]


@pytest.mark.parametrize("dt", ["float64", "float32"])
@pytest.mark.parametrize("cls,kwargs", REGS, ids=[f"{c}{sorted(k.items())}" for c, k in REGS])
def test_regularizer_value_and_gradient_like_keras(cls, kwargs, dt):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(37, 9)).astype(dt)
    x[0, 0] = 0.0  # abs at 0: gradient 0 on both sides
    with _precision(dt):
        kreg = getattr(keras.regularizers, cls)(**kwargs)
        if cls == "OrthogonalRegularizer" and dt == "float64":  # Keras 3.15.1: float32 factor * float64 sum
            with pytest.raises(tf.errors.InvalidArgumentError):
                kreg(tf.Variable(x))
            value = float(getattr(regularizers, cls)(**kwargs)(torch.tensor(x)))
            k32 = float(kreg(tf.Variable(x.astype("float32"))))
            print(f"{cls}{kwargs} float64: Keras fails; torch_impl {value:.10g} (Keras on float32: {k32:.10g})")
            assert value == pytest.approx(k32, rel=1e-5)
            return
        v = tf.Variable(x)
        with tf.GradientTape() as tape:
            k_value = kreg(v)
        k_grad = tape.gradient(k_value, v).numpy()
        t = torch.tensor(x, requires_grad=True)
        t_value = getattr(regularizers, cls)(**kwargs)(t)
        t_value.backward()
    rv, rg = _rel(t_value.detach().numpy(), k_value.numpy()), float(np.max(np.abs(t.grad.numpy() - k_grad)))
    print(f"{cls}{kwargs} {dt}: Keras {float(k_value):.10g} torch_impl {float(t_value):.10g} rel {rv:.1e}; "
          f"gradient max abs diff {rg:.1e}")
    assert t_value.dtype == getattr(torch, dt)
    if dt == "float64":
        assert rv <= 1e-12 and rg <= 1e-12 * max(1.0, float(np.max(np.abs(k_grad))))
    else:  # TensorFlow's float32 rsqrt is approximate (the orthogonal regularizer's normalisation)
        assert rv <= 1e-5 and np.allclose(t.grad.numpy(), k_grad, rtol=1e-5, atol=1e-6)


def test_get_and_config_like_keras():
    for ident in ("l1", "l2", "l1l2", "L1L2", "orthogonal_regularizer", {"class_name": "L2", "config": {"l2": 0.5}}):
        k, t = keras.regularizers.get(ident), regularizers.get(ident)
        print(f"{ident}: Keras {type(k).__name__}{k.get_config()} torch_impl {t!r}")
        assert type(k).__name__ == type(t).__name__ and k.get_config() == t.get_config()
    for bad in (-1.0, float("nan"), "0.1"):
        with pytest.raises(ValueError):
            keras.regularizers.L2(bad)
        with pytest.raises(ValueError):
            regularizers.L2(bad)
    for bad in ("l3", "l1_l2"):  # Keras's snake case of L1L2 is "l1l2"
        with pytest.raises(ValueError, match="Could not interpret"):
            keras.regularizers.get(bad)
        with pytest.raises(ValueError, match="Could not interpret"):
            regularizers.get(bad)


def _data(n=160, d=6, classes=3, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = np.argmax(x[:, :classes] + 0.7 * rng.normal(size=(n, classes)), 1)
    return x, y


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_fit_with_kernel_bias_and_activity_regularizers_like_keras(dt):
    """Dense(16, relu, kernel L2, bias L1, activity L1L2) -> Dense(3, softmax, kernel L1L2), Adam, a
    validation split: the logged loss (compiled loss + penalties, Keras's order), val_loss and accuracy every
    epoch, and the final weights."""
    x, y = _data()
    with _precision(dt):
        keras.utils.set_random_seed(3)
        km = keras.Sequential([
            keras.Input((6,)),
            keras.layers.Dense(16, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-2),
                               bias_regularizer=keras.regularizers.L1(1e-2),
                               activity_regularizer=keras.regularizers.L1L2(1e-3, 1e-3)),
            keras.layers.Dense(3, activation="softmax", kernel_regularizer=keras.regularizers.L1L2(1e-3, 1e-2))])
        w = km.get_weights()
        hidden = regularizers.regularize(_dense(w[0], w[1]), kernel_regularizer=regularizers.L2(1e-2),
                                         bias_regularizer=regularizers.L1(1e-2))
        block = regularizers.regularize(torch.nn.Sequential(hidden, torch.nn.ReLU()),
                                        activity_regularizer=regularizers.L1L2(1e-3, 1e-3))
        out = regularizers.regularize(_dense(w[2], w[3]), kernel_regularizer=regularizers.L1L2(1e-3, 1e-2))
        tm = torch.nn.Sequential(block, out)
        km.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy",
        metrics=["accuracy"])
        kh = km.fit(x, y, batch_size=32, epochs=5, shuffle=False, verbose=0, validation_split=0.25).history
        th = tfit.fit(tm, x, y, loss=losses.SparseCategoricalCrossentropy(), output_activation="softmax",
                      optimizer=optim.Adam(tm.parameters(), 0.02), batch_size=32, epochs=5, shuffle=False,
                      verbose=0, validation_split=0.25, metrics=["accuracy"]).history
        ke = km.evaluate(x, y, verbose=0, return_dict=True)
        te = tfit.evaluate(tm, x, y, loss=losses.SparseCategoricalCrossentropy(), output_activation="softmax",
                           metrics=["accuracy"])
    print(f"regularized fit, {dt}:")
    _check_history(th, kh, dt)
    kw = km.get_weights()
    tw = [hidden.weight.detach().numpy().T, hidden.bias.detach().numpy(), out.weight.detach().numpy().T,
          out.bias.detach().numpy()]
    werr = max(float(np.max(np.abs(a - b))) for a, b in zip(tw, kw))
    print(f"  final weights max abs diff {werr:.1e}; evaluate loss Keras {ke['loss']:.10g} "
          f"torch_impl {te['loss']:.10g}")
    assert werr <= (1e-12 if dt == "float64" else 1e-4)
    assert te["loss"] == pytest.approx(ke["loss"], rel=1e-12 if dt == "float64" else 1e-5)


def test_spec_models_with_regularizers_and_the_weight_decay_trap():
    """Models from one spec on both sides (``kernel_regularizer``/``bias_regularizer`` keys) train alike; the
    same model ported with torch's ``Adam(weight_decay=2 * l2)`` (the penalty's gradient, not its loss) logs
    another loss and ends on other weights."""
    x, y = _data(seed=4)
    spec = {"input_dim": 6, "layers": [
        {"type": "dense", "units": 12, "activation": "tanh", "kernel_regularizer": {"class_name": "L2",
                                                                                    "config": {"l2": 0.01}},
         "bias_regularizer": "l1"},
        {"type": "dense", "units": 3, "activation": "softmax", "kernel_regularizer": "l2"}]}
    with _precision("float64"):
        keras.utils.set_random_seed(5)
        km = keras_build(spec)
        w = km.get_weights()
        km.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy", metrics=[])
        kh = km.fit(x, y, batch_size=32, epochs=4, shuffle=False, verbose=0).history
        tm = build_model(spec)
        load_keras_weights(tm, w)
        th = tfit.fit(tm, x, y, loss="sparse_categorical_crossentropy", optimizer=optim.Adam(tm.parameters(), 0.02),
                      batch_size=32, epochs=4, shuffle=False, verbose=0, metrics=()).history
        plain = build_model({"input_dim": 6, "layers": [{k: v for k, v in layer.items() if "regularizer" not in k}
                                                          for layer in spec["layers"]]})
        load_keras_weights(plain, w)
        trap = torch.optim.Adam(plain.parameters(), lr=0.02, eps=1e-7, weight_decay=2 * 0.01)
        ph = tfit.fit(plain, x, y, loss="sparse_categorical_crossentropy", optimizer=trap, batch_size=32, epochs=4,
                      shuffle=False, verbose=0, metrics=()).history
    print("spec model:")
    _check_history(th, kh, "float64")
    gap = _rel(ph["loss"], kh["loss"])
    print(f"  torch Adam(weight_decay=0.02) instead: loss {np.round(ph['loss'], 6).tolist()} (rel {gap:.1e})")
    assert gap > 1e-2


def test_activity_regularizer_needs_a_tensor_output_and_specs_refuse_unknown_keys():
    """Found by an audit: an activity regularizer on a module with a tuple output used to add nothing, silently;
    it now says which module to regularize (``nn.LSTM``/``nn.GRU`` themselves take Keras's activity regularizer:
    ``test_rnn_regularizers_keras.py``). A spec key neither side builds (``activity_regularizer``) fails on both
    sides instead of vanishing on the Keras one."""
    wrapped = regularizers.regularize(torch.nn.Sequential(torch.nn.LSTM(6, 4, batch_first=True)),
                                      activity_regularizer="l2")
    with pytest.raises(ValueError, match="not a tensor"):
        wrapped(torch.randn(5, 3, 6))
    spec = {"input_dim": 4, "layers": [{"type": "dense", "units": 3, "activity_regularizer": "l2"}]}
    for build in (build_model, keras_build):
        with pytest.raises(ValueError, match="unknown key"):
            build(spec)

"""``torch_impl.nn.Normalization`` against ``keras.layers.Normalization`` (Keras 3.15.1 on TensorFlow): ``adapt``
statistics, outputs and input gradients for the axis settings, ``invert``, given statistics and batch-by-batch
adaptation; then TensorFlow's "Basic regression: predict fuel efficiency" tutorial (a normalizer adapted to the
features, two Dense(64, relu), ``loss="mean_absolute_error"``, Adam, a validation split) ported with torch_impl.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from parity_tests.test_field_scripts_round2 import _check_history, _precision  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl.nn import Normalization  # noqa: E402

pytestmark = pytest.mark.keras


def _keras_out_and_grad(layer, x):
    xv = tf.Variable(x)
    with tf.GradientTape() as tape:
        out = layer(xv)
        total = tf.reduce_sum(out * out)
    return np.asarray(out), tape.gradient(total, xv).numpy()


def _torch_out_and_grad(layer, x):
    xt = torch.tensor(x, requires_grad=True)
    out = layer(xt)
    (out * out).sum().backward()
    return out.detach().numpy(), xt.grad.numpy()


CASES = [({"axis": -1}, (40, 5)), ({"axis": None}, (40, 5)), ({"axis": (1, 2)}, (30, 4, 3)),
         ({"axis": 1}, (30, 4, 3)), ({"axis": -1, "invert": True}, (40, 5))]


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("kwargs,shape", CASES, ids=[str(c[0]) for c in CASES])
def test_adapt_outputs_and_gradients_like_keras(kwargs, shape, dt):
    rng = np.random.default_rng(1)
    data = (rng.normal(size=shape) * rng.uniform(0.1, 50, size=shape[1:]) + 7).astype(dt)
    data[:, 0] = 3.0 if len(shape) == 2 else data[:, 0]  # a constant feature: variance 0, the 1e-7 floor
    x = (rng.normal(size=(6,) + shape[1:]) * 5).astype(dt)
    with _precision(dt):
        k = keras.layers.Normalization(**kwargs)
        k.adapt(data)
        ko, kg = _keras_out_and_grad(k, x)
        t = Normalization(**kwargs)
        t.adapt(data)
        to, tg = _torch_out_and_grad(t, x)
        kb = keras.layers.Normalization(**kwargs)  # batch by batch: Keras's streaming update
        kb.adapt([data[i:i + 7] for i in range(0, len(data), 7)])
        tb = Normalization(**kwargs)
        tb.adapt([data[i:i + 7] for i in range(0, len(data), 7)])
        kbo, tbo = np.asarray(kb(x)), tb(torch.tensor(x)).numpy()
    rtol = 1e-12 if dt == "float64" else 2e-6
    rel = float(np.max(np.abs(to - ko) / np.maximum(np.abs(ko), 1)))
    grel = float(np.max(np.abs(tg - kg) / np.maximum(np.abs(kg), 1)))
    brel = float(np.max(np.abs(tbo - kbo) / np.maximum(np.abs(kbo), 1)))
    print(f"{kwargs} {dt}: outputs within {rel:.1e}, input gradients {grel:.1e}; adapted batch by batch {brel:.1e}")
    assert rel <= rtol and grel <= rtol and brel <= (1e-12 if dt == "float64" else 1e-5)


def test_given_statistics_and_errors_like_keras():
    x = np.arange(12, dtype="float32").reshape(4, 3)
    for mean, var in ((2.0, 4.0), ([1.0, 2.0, 3.0], [1.0, 0.25, 9.0])):
        k = np.asarray(keras.layers.Normalization(mean=mean, variance=var)(x))
        t = Normalization(mean=mean, variance=var)(torch.tensor(x)).numpy()
        np.testing.assert_allclose(t, k, rtol=1e-7)
    for kwargs in ({"mean": 1.0}, {"mean": [1.0, 2.0], "variance": [1.0]}, {"mean": [[1.0]], "variance": [[1.0]]}):
        with pytest.raises(ValueError):
            keras.layers.Normalization(**kwargs)
        with pytest.raises(ValueError):
            Normalization(**kwargs)
    k = np.asarray(keras.layers.Normalization()(x))  # not adapted: Keras builds mean 0, variance 1
    t = Normalization()(torch.tensor(x)).numpy()
    assert np.array_equal(t, k) and np.array_equal(t, x)
    print("given mean/variance as Keras; the same argument errors; no statistics: the identity, as Keras's")


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_basic_regression_tutorial_like_keras(dt):
    """TensorFlow's "Basic regression" tutorial (auto-mpg: 9 numeric features of very different scales; here
    synthetic data of the same shape): ``Normalization`` adapted to the training features, Dense(64, relu) x2,
    Dense(1), ``loss="mean_absolute_error"``, ``Adam(0.001)``, ``validation_split=0.2``: every epoch's
    ``loss`` and ``val_loss``."""
    rng = np.random.default_rng(0)
    n = 314
    scales = np.array([1.0, 100.0, 50.0, 1000.0, 3.0, 5.0, 1.0, 1.0, 1.0])
    x = (rng.normal(size=(n, 9)) * scales + scales * 2).astype(dt)
    y = (x[:, :4] / scales[:4]) @ np.array([-3.0, -2.0, 1.0, -4.0]) + 25 + rng.normal(size=n)
    with _precision(dt):
        keras.utils.set_random_seed(0)
        normalizer = keras.layers.Normalization(axis=-1)
        normalizer.adapt(x)
        km = keras.Sequential([keras.Input((9,)), normalizer, keras.layers.Dense(64, activation="relu"),
                               keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)])
        dense = [layer.get_weights() for layer in km.layers[1:]]
        km.compile(loss="mean_absolute_error", optimizer=keras.optimizers.Adam(0.001))
        # the tutorial's fit shuffles; both sides take the batches in order here (Keras's shuffle order is
        # tf.data's, see torch_impl.fit for replaying a given order)
        kh = km.fit(x, y, validation_split=0.2, verbose=0, epochs=6, shuffle=False).history
        norm = Normalization(axis=-1)
        norm.adapt(x)
        layers = []
        for i, (kernel, bias) in enumerate(dense):
            lin = torch.nn.Linear(*kernel.shape)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(kernel.T.copy()))
                lin.bias.copy_(torch.from_numpy(bias))
            layers += [lin] + ([torch.nn.ReLU()] if i < 2 else [])
        tm = torch.nn.Sequential(norm, *layers)
        th = tfit.fit(tm, x, y, loss="mean_absolute_error", optimizer=optim.Adam(tm.parameters(), 0.001),
                      validation_split=0.2, verbose=0, epochs=6, shuffle=False, metrics=()).history
    print(f"basic regression tutorial, {dt}:")
    _check_history(th, kh, dt)

"""Real-world Keras scripts, round 3: the regression side, ported with torch_impl as a user would.

1. TensorFlow's "Time series forecasting" tutorial, its LSTM model: ``LSTM(32, return_sequences=True)`` then
   ``Dense(1)`` on every step, ``loss=MeanSquaredError()``, ``metrics=[MeanAbsoluteError()]``, Adam,
   ``EarlyStopping(monitor="val_loss", patience=2, mode="min")`` with validation data.
2. A Keras count-regression script: an exponential output with ``loss="poisson"`` and the ``mae`` metric,
   Nadam, sample weights, a validation split.
3. A Huber regression (heavy-tailed noise) with SGD momentum, ``mae``/``mse`` metrics and ``ReduceLROnPlateau``
   on ``val_mae``.

Each trains from Keras's initial weights (moved with ``load_keras_weights``) on the same batches; the standard is
DESIGN.md's: float64 histories within 1e-8 relative in every epoch (measured: 5.2e-16 at most), float32 within
1e-3 (measured: 2.0e-7).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from parity_tests.test_field_scripts_round2 import _check_history, _precision  # noqa: E402
from torch_impl import callbacks as tcb  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, metrics, optim  # noqa: E402
from torch_impl.nn import load_keras_weights  # noqa: E402

pytestmark = pytest.mark.keras


def _windows(series: np.ndarray, width: int):
    """Inputs of ``width`` steps and the next step's first feature as each step's label (the tutorial's
    ``WindowGenerator(input_width=24, label_width=24, shift=1)``, shortened)."""
    xs = np.stack([series[i:i + width] for i in range(len(series) - width)])
    ys = np.stack([series[i + 1:i + width + 1, :1] for i in range(len(series) - width)])
    return xs, ys


class _LstmForecaster(torch.nn.Module):
    def __init__(self, features: int, units: int):
        super().__init__()
        self.lstm = torch.nn.LSTM(features, units, batch_first=True)
        self.dense = torch.nn.Linear(units, 1)

    def forward(self, x):
        return self.dense(self.lstm(x)[0])


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_time_series_lstm_tutorial_like_keras(dt):
    rng = np.random.default_rng(0)
    t = np.arange(700)
    series = np.stack([np.sin(t / 24 * 2 * np.pi) + 0.1 * rng.normal(size=t.size),
                       np.cos(t / 24 * 2 * np.pi), rng.normal(size=t.size) * 0.5], axis=1).astype(dt)
    x, y = _windows(series, 12)
    x_train, y_train, x_val, y_val = x[:480], y[:480], x[480:], y[480:]
    with _precision(dt):
        keras.utils.set_random_seed(1)
        km = keras.Sequential([keras.Input((12, 3)), keras.layers.LSTM(16, return_sequences=True),
                               keras.layers.Dense(1)])
        km.compile(loss=keras.losses.MeanSquaredError(), optimizer=keras.optimizers.Adam(),
                   metrics=[keras.metrics.MeanAbsoluteError()])
        tm = load_keras_weights(_LstmForecaster(3, 16).to(getattr(torch, dt)), km.get_weights())
        kh = km.fit(x_train, y_train, epochs=8, batch_size=32, shuffle=False, verbose=0,
                    validation_data=(x_val, y_val),
                    callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, mode="min")]).history
        th = tfit.fit(tm, x_train, y_train, loss=losses.MeanSquaredError(), optimizer=optim.Adam(tm.parameters()),
                      metrics=[metrics.MeanAbsoluteError()], epochs=8, batch_size=32, shuffle=False, verbose=0,
                      validation_data=(x_val, y_val),
                      callbacks=[tcb.EarlyStopping(monitor="val_loss", patience=2, mode="min")]).history
    print(f"time-series LSTM tutorial, {dt}: {len(kh['loss'])} epochs in Keras, {len(th['loss'])} here")
    assert set(th) == set(kh) and len(th["loss"]) == len(kh["loss"])
    _check_history(th, kh, dt)


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_poisson_counts_with_sample_weights_like_keras(dt):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 4)).astype(dt)
    rate = np.exp(0.4 * x[:, 0] - 0.3 * x[:, 1] + 0.5)
    y = rng.poisson(rate).astype(dt)
    sw = rng.uniform(0.5, 2.0, size=200).astype(dt)
    with _precision(dt):
        keras.utils.set_random_seed(3)
        km = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"),
                               keras.layers.Dense(1, activation="exponential")])
        km.compile(loss="poisson", optimizer=keras.optimizers.Nadam(0.01), metrics=["mae"])
        w0 = km.get_weights()
        kh = km.fit(x, y, sample_weight=sw, epochs=5, batch_size=25, shuffle=False, verbose=0,
                    validation_split=0.2).history
        tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).to(getattr(torch, dt))
        load_keras_weights(tm, w0)
        th = tfit.fit(tm, x, y, sample_weight=sw, loss="poisson", output_activation="exponential",
                      optimizer=optim.Nadam(tm.parameters(), 0.01), metrics=["mae"], epochs=5, batch_size=25,
                      shuffle=False, verbose=0, validation_split=0.2).history
    print(f"Poisson counts, sample weights, Nadam, {dt}:")
    _check_history(th, kh, dt)


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_huber_with_schedule_and_reduce_lr_like_keras(dt):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(160, 5)).astype(dt)
    y = (x @ rng.normal(size=5) + rng.standard_t(2, size=160)).astype(dt)  # heavy tails: Huber's case
    with _precision(dt):
        keras.utils.set_random_seed(4)
        km = keras.Sequential([keras.Input((5,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
        km.compile(loss=keras.losses.Huber(delta=1.5), optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
                   metrics=["mae", "mse"])
        w0 = km.get_weights()
        kh = km.fit(x, y, epochs=10, batch_size=32, shuffle=False, verbose=0, validation_split=0.25,
                    callbacks=[keras.callbacks.ReduceLROnPlateau(monitor="val_mae", factor=0.5, patience=1,
                                                                 min_lr=1e-3)]).history
        tm = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1)).to(getattr(torch, dt))
        load_keras_weights(tm, w0)
        th = tfit.fit(tm, x, y, loss=losses.Huber(delta=1.5), optimizer=optim.SGD(tm.parameters(), 0.05, momentum=0.9),
                      metrics=["mae", "mse"], epochs=10, batch_size=32, shuffle=False, verbose=0,
                      validation_split=0.25,
                      callbacks=[tcb.ReduceLROnPlateau(monitor="val_mae", factor=0.5, patience=1, min_lr=1e-3)]).history
    print(f"Huber(delta=1.5), SGD momentum, ReduceLROnPlateau on val_mae, {dt}:")
    _check_history(th, kh, dt)

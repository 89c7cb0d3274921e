"""``torch_impl.callbacks`` against the expectations of Keras's own callback tests.

The reference is Keras 3.15.1's ``keras/src/callbacks/early_stopping_test.py``,
``reduce_lr_on_plateau_test.py``, ``learning_rate_scheduler_test.py`` and ``terminate_on_nan_test.py``:
each test below translates one of their test methods with the same inputs, the same expected numbers
and the same assertion, running ``torch_impl.fit`` where Keras runs ``model.fit``. Keras's models there
compile ``loss="mse"``: here the function ``mean((y - p)**2, -1)`` given to ``fit`` (Keras's
``compile(loss=fn)``). Where a Keras test monitors its ``"mse"`` metric (``fit`` computes accuracies
only), the translation monitors ``"loss"`` (said at the test). A rate compared with ``==`` in Keras is a
float32 variable against a Python float (TensorFlow casts the float): here the float32 rounding of the
number. The file imports neither TensorFlow nor Keras; each test prints what it asserts.

Run: ``.venv/bin/python -m pytest -q -s parity_tests/test_keras_reference_callbacks.py``
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torch_impl import callbacks, optim, schedules
from torch_impl import fit as tfit


def mse(y_true, y_pred):
    return ((y_true - y_pred) ** 2).mean(-1)


def f32(x: float) -> float:
    """A Python float as Keras's float32 learning-rate variable compares with it."""
    return float(np.float32(x))


def _test_data(seed=0, n=10, input_dim=3, classes=2):
    """``test_utils.get_test_data(train_samples=10, test_samples=10, input_shape=(3,), num_classes=2)`` and
    ``to_categorical``: class-dependent Gaussian inputs, one-hot targets."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, size=2 * n)
    x = rng.normal(size=(2 * n, input_dim)) + y[:, None]
    return x[:n], np.eye(classes)[y[:n]], x[n:], np.eye(classes)[y[n:]]


def _dense_model(seed=0):
    """``Sequential([layers.Dense(5), layers.Dense(2)])``."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Linear(5, 2))


def _fit(model, optimizer, cbs, epochs, validation=True, **kwargs):
    x, y, xv, yv = _test_data()
    return tfit.fit(model, x, y, loss=mse, optimizer=optimizer, callbacks=cbs, epochs=epochs, verbose=0,
                    metrics=(), validation_data=(xv, yv) if validation else None, **kwargs)


# ------------------------------------------------------------------------------------- early_stopping_test


def test_early_stopping_patience():
    losses = [10.0, 9.0, 8.0, 9.0, 8.9, 8.8, 8.7, 8.6, 8.5]
    for patience in [0, 1, 2, 3]:
        stopper = callbacks.EarlyStopping(monitor="loss", patience=patience)
        model = torch.nn.Linear(1, 1)
        model.stop_training = False  # a Keras model's attribute
        stopper.set_model(model)
        stopper.on_train_begin()
        for epoch, loss in enumerate(losses):
            stopper.on_epoch_end(epoch=epoch, logs={"loss": loss})
            if stopper.model.stop_training:
                break
        print(f"patience {patience}: stopped_epoch {stopper.stopped_epoch} (Keras's test: {max(patience, 1) + 2})")
        assert stopper.stopped_epoch == max(patience, 1) + 2


def test_early_stopping_reuse():
    """Keras monitors its ``"mse"`` metric with ``loss="mae"``; here ``"loss"`` (the mse)."""
    rng = np.random.default_rng(0)
    data = rng.random((100, 1))
    labels = np.where(data > 0.5, 1, 0).astype("float64")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(1, 1), torch.nn.ReLU(), torch.nn.Linear(1, 1), torch.nn.ReLU())
    stopper = callbacks.EarlyStopping(monitor="loss", patience=3)
    lengths = []
    for _ in range(2):
        h = tfit.fit(model, data, labels, loss=mse, optimizer=optim.SGD(model.parameters()), callbacks=[stopper],
                     verbose=0, epochs=20, metrics=())
        lengths.append(len(h.epoch))
    print(f"two fits with one EarlyStopping(patience=3): {lengths} epochs (Keras's test: each >= 3)")
    assert all(n >= 3 for n in lengths)


def test_state_reset_across_fit_calls_early_stopping():
    stopper = callbacks.EarlyStopping(monitor="loss", patience=3)
    stopper.set_model(torch.nn.Linear(1, 1))
    stopper.on_train_begin()
    stopper.best, stopper.wait, stopper.stopped_epoch, stopper.best_epoch = 0.1, 3, 5, 5
    stopper.best_weights = object()
    stopper.on_train_begin()
    print(f"after on_train_begin: best {stopper.best}, wait {stopper.wait}, stopped_epoch {stopper.stopped_epoch}")
    assert stopper.best is None and stopper.wait == 0 and stopper.stopped_epoch == 0
    assert stopper.best_epoch == 0 and stopper.best_weights is None


@pytest.mark.parametrize("kwargs,epochs_at_least", [
    ({"baseline": 0.6}, 3), ({"start_from_epoch": 2}, 5), ({"start_from_epoch": 2, "patience": 0}, 2)],
    ids=["baseline", "start_from_epoch", "start_from_epoch-patience-0"])
def test_early_stopping_with_baseline_and_start_from_epoch(kwargs, epochs_at_least):
    """Keras monitors ``"mse"`` with ``loss="mae"``: here ``"loss"`` (the mse)."""
    rng = np.random.default_rng(1)
    x, y = rng.random((10, 5)), rng.random((10, 1))
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(5, 1), torch.nn.ReLU(), torch.nn.Linear(1, 1), torch.nn.ReLU())
    stopper = callbacks.EarlyStopping(monitor="loss", **dict({"patience": 3}, **kwargs))
    h = tfit.fit(model, x, y, loss=mse, optimizer=optim.SGD(model.parameters()), callbacks=[stopper], verbose=0,
                 epochs=20, metrics=())
    print(f"EarlyStopping({kwargs}): {len(h.epoch)} epochs (Keras's test: >= {epochs_at_least})")
    assert len(h.epoch) >= epochs_at_least


class _DummyModel:
    """Keras's test's ``DummyModel``: weights are the epoch number."""

    def __init__(self):
        self.stop_training = False
        self.weights = -1

    def get_weights(self):
        return self.weights

    def set_weights(self, weights):
        self.weights = weights

    def set_weight_to_epoch(self, epoch):
        self.weights = epoch


@pytest.mark.parametrize("case", ["patience-2", "no-epoch-beats-baseline", "another-callback-stops"])
def test_early_stopping_final_weights_when_restoring_model_weights(case):
    if case == "patience-2":
        stop = callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
        losses, stop_at, expected = [0.2, 0.15, 0.1, 0.11, 0.12], None, (None, 2)
    else:
        stop = callbacks.EarlyStopping(monitor="val_loss", patience=5, baseline=0.5, restore_best_weights=True)
        losses = [0.9, 0.8, 0.7, 0.71, 0.72, 0.73]
        stop_at, expected = (None, (5, 2)) if case == "no-epoch-beats-baseline" else (3, (4, 2))
    stop.set_model(_DummyModel())
    epochs_trained = 0
    stop.on_train_begin()
    for epoch in range(len(losses)):
        epochs_trained += 1
        stop.model.set_weight_to_epoch(epoch=epoch)
        stop.on_epoch_end(epoch, logs={"val_loss": losses[epoch]})
        if epoch == stop_at:
            stop.model.stop_training = True
        if stop.model.stop_training:
            break
    stop.on_train_end()
    print(f"{case}: {epochs_trained} epochs, restored the weights of epoch {stop.model.get_weights()} "
          f"(Keras's test: {expected})")
    if expected[0] is not None:
        assert epochs_trained == expected[0]
    assert stop.model.get_weights() == expected[1]


# ------------------------------------------------------------------------------- reduce_lr_on_plateau_test


def test_reduces_lr_with_model_fit():
    model = _dense_model()
    opt = optim.Adam(model.parameters(), learning_rate=0.1)
    _fit(model, opt, [callbacks.ReduceLROnPlateau(patience=1, factor=0.1, monitor="val_loss", min_delta=100)], 2)
    print(f"rate after 2 epochs: {opt.learning_rate!r} (Keras's test: 0.01 as float32)")
    assert opt.learning_rate == f32(0.01)


@pytest.mark.parametrize("which", ["ReduceLROnPlateau", "LearningRateScheduler"])
def test_throws_when_optimizer_has_schedule(which):
    model = _dense_model()
    opt = optim.Adam(model.parameters(),
                     learning_rate=schedules.PolynomialDecay(initial_learning_rate=0.1, decay_steps=10))
    cb = (callbacks.ReduceLROnPlateau(patience=1, factor=0.1, monitor="val_loss", min_delta=100)
          if which == "ReduceLROnPlateau" else callbacks.LearningRateScheduler(lambda step, lr: lr / 2))
    with pytest.raises(TypeError, match="This optimizer was created with a `LearningRateSchedule`"):
        _fit(model, opt, [cb], 2)
    print(f"{which} with a schedule: TypeError, as Keras's test expects")


def test_verbose_logging_reduce_lr(capsys):
    model = _dense_model()
    _fit(model, optim.Adam(model.parameters(), learning_rate=0.1),
         [callbacks.ReduceLROnPlateau(patience=1, factor=0.1, monitor="val_loss", min_delta=100, verbose=1)], 2)
    out = capsys.readouterr().out
    print(out.strip())
    assert "ReduceLROnPlateau reducing learning rate to 0.01" in out


def test_honors_min_lr():
    model = _dense_model()
    opt = optim.Adam(model.parameters(), learning_rate=0.1)
    _fit(model, opt, [callbacks.ReduceLROnPlateau(patience=1, factor=0.1, monitor="val_loss", min_delta=10,
                                                  min_lr=0.005)], 4)
    print(f"rate after 4 epochs: {opt.learning_rate!r} (Keras's test: 0.005 as float32)")
    assert opt.learning_rate == f32(0.005)


def test_cooldown():
    model = _dense_model()
    opt = optim.Adam(model.parameters(), learning_rate=0.1)
    _fit(model, opt, [callbacks.ReduceLROnPlateau(patience=1, factor=0.1, monitor="val_loss", min_delta=100,
                                                  cooldown=2)], 4)
    print(f"rate after 4 epochs with cooldown 2: {opt.learning_rate!r} (Keras's test: allclose 0.001)")
    np.testing.assert_allclose(opt.learning_rate, 0.001, rtol=1e-6, atol=1e-6)


def test_state_reset_across_fit_calls_reduce_lr():
    reduce_lr = callbacks.ReduceLROnPlateau(patience=1, factor=0.1, monitor="loss", min_delta=0, cooldown=2)
    reduce_lr.set_model(_dense_model())
    reduce_lr.on_train_begin()
    reduce_lr.best, reduce_lr.wait, reduce_lr.cooldown_counter = 0.5, 3, 2
    reduce_lr.on_train_begin()
    print(f"after on_train_begin: best {reduce_lr.best}, wait {reduce_lr.wait}, "
          f"cooldown_counter {reduce_lr.cooldown_counter}")
    assert reduce_lr.best is None and reduce_lr.wait == 0 and reduce_lr.cooldown_counter == 0


# --------------------------------------------------------------------------- learning_rate_scheduler_test


def test_updates_learning_rate():
    model = _dense_model()
    opt = optim.SGD(model.parameters())
    _fit(model, opt, [callbacks.LearningRateScheduler(lambda step: 1.0 / (2.0 + step), verbose=1)], 1,
         validation=False)
    print(f"rate: {opt.learning_rate!r} (Keras's test: 0.5)")
    assert opt.learning_rate == 0.5


def test_verbose_logging_scheduler(capsys):
    model = _dense_model()
    _fit(model, optim.SGD(model.parameters()),
         [callbacks.LearningRateScheduler(lambda step: 1.0 / (1.0 + step), verbose=1)], 1, validation=False)
    out = capsys.readouterr().out
    print(out.strip())
    assert "LearningRateScheduler setting learning rate to 1.0" in out


def test_schedule_dependent_on_previous_learning_rate():
    model = _dense_model()
    opt = optim.Adam(model.parameters(), learning_rate=0.03)
    _fit(model, opt, [callbacks.LearningRateScheduler(lambda step, lr: lr / 2)], 2, validation=False)
    print(f"rate: {opt.learning_rate!r} (Keras's test: 0.03 / 4 as float32)")
    assert opt.learning_rate == f32(0.03 / 4.0)


def test_learning_rate_in_history():
    model = _dense_model()
    h = _fit(model, optim.SGD(model.parameters()), [callbacks.LearningRateScheduler(lambda step, lr: 0.5)], 1,
             validation=False)
    print(f"history: {h.history}")
    assert "learning_rate" in h.history and type(h.history["learning_rate"][0]) is float
    assert h.history["learning_rate"][0] == 0.5


# ----------------------------------------------------------------------------------- terminate_on_nan_test


def test_terminate_on_nan():
    rng = np.random.default_rng(1337)
    x_train, x_test = rng.random((10, 3)), rng.random((10, 3))
    y_train, y_test = (np.eye(2)[rng.choice(np.arange(2), size=10)] for _ in range(2))
    layers = []
    for i in range(5):
        layer = torch.nn.Linear(3 if i == 0 else 2, 2)
        torch.nn.init.constant_(layer.weight, 1e5)
        torch.nn.init.zeros_(layer.bias)
        layers += [layer, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(2, 2)).float()
    h = tfit.fit(model, x_train, y_train, loss=mse, optimizer=optim.SGD(model.parameters()), batch_size=4,
                 validation_data=(x_test, y_test), callbacks=[callbacks.TerminateOnNaN()], epochs=20, verbose=0,
                 metrics=())
    loss = h.history["loss"]
    print(f"loss history: {loss} (Keras's test: one epoch, NaN or inf)")
    assert len(loss) == 1 and (np.isnan(loss[0]) or np.isinf(loss[0]))


@pytest.mark.parametrize("raise_error", [False, True])
def test_terminate_on_nan_graceful_stop_or_raise(raise_error):
    model = torch.nn.Linear(1, 1)
    x, y = np.array([[1.0], [2.0]]), np.array([[np.inf], [np.inf]])
    cb = callbacks.TerminateOnNaN(raise_error=raise_error)
    run = lambda: tfit.fit(model, x, y, loss=mse, optimizer=optim.SGD(model.parameters()), epochs=2,  # noqa: E731
                           batch_size=1, callbacks=[cb], verbose=0, metrics=())
    if raise_error:
        with pytest.raises(RuntimeError, match="NaN or Inf loss encountered"):
            run()
        print("raise_error=True: RuntimeError")
    else:
        h = run()
        print(f"raise_error=False: {len(h.history['loss'])} epoch(s) (Keras's test: < 4)")
        assert len(h.history["loss"]) < 4

"""``torch_impl.callbacks`` in ``torch_impl.fit`` against the same callbacks in ``keras.Model.fit``.

EarlyStopping (patience, restore_best_weights, min_delta, baseline, start_from_epoch, auto mode on a
loss and on an accuracy), ReduceLROnPlateau (factor, patience, cooldown, min_lr, the ``learning_rate``
history key), TerminateOnNaN, and a callback of one's own that stops mid-epoch: from identical data and
weights, float64, the histories (keys, number of epochs, every value within 1e-12 relative), the
callbacks' counters and the final weights agree. Every test prints its figures.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
layers = keras.layers

from parity_tests.test_field_scripts_round2 import _dense, _precision  # noqa: E402
from torch_impl import callbacks as tcb  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, optim  # noqa: E402

pytestmark = pytest.mark.keras


def _noisy_data(n=80, d=5, seed=0):
    """Few samples, noisy labels: a wide net overfits, so val_loss turns up after a few epochs."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = ((x[:, 0] + 1.5 * rng.normal(size=n)) > 0).astype("int64")
    return x, y


def _run(keras_cbs, torch_cbs, opt=("adam", 0.05), epochs=25, data=None, metrics=("accuracy",), weighted_metrics=(),
         validation_split=0.25):
    """Both fits in float64 from the same weights; returns (Keras history, torch history, Keras final weights,
    torch final weights in Keras's layout)."""
    x, y = data if data is not None else _noisy_data()
    name, lr = opt
    with _precision("float64"):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((x.shape[1],)), layers.Dense(64, activation="relu"), layers.Dense(2)])
        w = model.get_weights()
        model.compile(optimizer={"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD}[name](lr),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=list(metrics),
                      weighted_metrics=list(weighted_metrics))
        kh = model.fit(x, y, batch_size=16, epochs=epochs, validation_split=validation_split, shuffle=False,
                       verbose=0, callbacks=keras_cbs).history
        net = torch.nn.Sequential(_dense(w[0], w[1]), torch.nn.ReLU(), _dense(w[2], w[3]))
        t_opt = {"adam": optim.Adam, "sgd": optim.SGD}[name](net.parameters(), learning_rate=lr)
        th = tfit.fit(net, x, y, loss=losses.SparseCategoricalCrossentropy(from_logits=True), optimizer=t_opt,
                      batch_size=16, epochs=epochs, validation_split=validation_split, shuffle=False, verbose=0,
                      metrics=list(metrics), weighted_metrics=list(weighted_metrics), callbacks=torch_cbs).history
        tw = [p.detach().numpy().T if p.dim() == 2 else p.detach().numpy() for p in net.parameters()]
        return kh, th, model.get_weights(), tw


def _compare(kh, th, kw=None, tw=None, label=""):
    assert list(kh) == list(th), (list(kh), list(th))  # Keras's order too: sorted, callbacks' additions last
    worst = 0.0
    for k in kh:
        assert len(kh[k]) == len(th[k]), (k, len(kh[k]), len(th[k]))
        a, b = np.asarray(th[k], np.float64), np.asarray(kh[k], np.float64)
        same_nan = np.isnan(a) & np.isnan(b)
        with np.errstate(invalid="ignore"):
            r = np.where(same_nan, 0.0, np.abs(a - b) / np.maximum(np.abs(b), 1e-300))
        worst = max(worst, float(np.max(r)) if r.size else 0.0)
    wgap = max(float(np.max(np.abs(a - b))) for a, b in zip(kw, tw)) if kw is not None else 0.0
    print(f"{label}: {len(kh['loss'])} epochs, keys {sorted(kh)}, max rel {worst:.1e}, final weights "
          f"max |diff| {wgap:.1e}")
    assert worst <= 1e-12 and wgap <= 1e-12


def test_early_stopping_restores_the_best_weights():
    k = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    t = tcb.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    kh, th, kw, tw = _run([k], [t])
    _compare(kh, th, kw, tw, "EarlyStopping(val_loss, patience=2, restore_best_weights)")
    print(f"  stopped_epoch Keras {k.stopped_epoch} torch_impl {t.stopped_epoch}; best_epoch {k.best_epoch} / "
          f"{t.best_epoch}")
    assert len(kh["loss"]) < 25 and (k.stopped_epoch, k.best_epoch) == (t.stopped_epoch, t.best_epoch)
    assert int(np.argmin(kh["val_loss"])) == k.best_epoch  # the restored weights are not the last ones


@pytest.mark.parametrize("kwargs", [
    {"monitor": "val_accuracy", "patience": 3, "min_delta": 0.02},
    {"monitor": "val_loss", "patience": 1, "baseline": 0.5, "start_from_epoch": 2},
    {"monitor": "loss", "mode": "max", "patience": 2},
], ids=["accuracy-min_delta", "baseline-start_from_epoch", "mode-max"])
def test_early_stopping_options(kwargs):
    k, t = keras.callbacks.EarlyStopping(**kwargs), tcb.EarlyStopping(**kwargs)
    kh, th, kw, tw = _run([k], [t])
    _compare(kh, th, kw, tw, f"EarlyStopping({kwargs})")
    assert k.stopped_epoch == t.stopped_epoch


def test_reduce_lr_on_plateau_logs_and_reduces_like_keras():
    kwargs = {"monitor": "val_loss", "factor": 0.5, "patience": 1, "cooldown": 1, "min_lr": 0.004}
    kh, th, kw, tw = _run([keras.callbacks.ReduceLROnPlateau(**kwargs)], [tcb.ReduceLROnPlateau(**kwargs)],
                          opt=("sgd", 0.05), epochs=20)
    _compare(kh, th, kw, tw, f"ReduceLROnPlateau({kwargs})")
    print(f"  learning_rate: {kh['learning_rate']}")
    assert len(set(kh["learning_rate"])) >= 3 and min(kh["learning_rate"]) == np.float32(0.004)


def test_both_callbacks_together_and_a_torch_optimizer():
    """EarlyStopping + ReduceLROnPlateau as a Keras script uses them; and ReduceLROnPlateau driving a plain
    ``torch.optim.SGD`` (no floatx: the rate is not rounded, so the figures only approach Keras's)."""
    kcbs = [keras.callbacks.EarlyStopping(patience=4, restore_best_weights=True),
            keras.callbacks.ReduceLROnPlateau(factor=0.3, patience=2)]
    tcbs = [tcb.EarlyStopping(patience=4, restore_best_weights=True), tcb.ReduceLROnPlateau(factor=0.3, patience=2)]
    kh, th, kw, tw = _run(kcbs, tcbs, epochs=40)
    _compare(kh, th, kw, tw, "EarlyStopping + ReduceLROnPlateau")
    x, y = _noisy_data()
    net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)).double()
    sgd = torch.optim.SGD(net.parameters(), lr=0.5)
    with _precision("float64"):
        h = tfit.fit(net, x, y, loss=losses.SparseCategoricalCrossentropy(from_logits=True), optimizer=sgd,
                     epochs=12, validation_split=0.25, verbose=0, generator=0,
                     callbacks=[tcb.ReduceLROnPlateau(factor=0.5, patience=1, min_delta=0.0)],
                     metrics=["accuracy"]).history
    print(f"torch.optim.SGD: learning_rate {h['learning_rate']}")
    assert h["learning_rate"][0] == 0.5 and min(h["learning_rate"]) < 0.5 and sgd.param_groups[0]["lr"] < 0.5


def _step_decay(epoch, lr):
    return lr if epoch < 3 else lr * 0.8


def _old_api(epoch):
    return 0.05 / (1 + epoch)


@pytest.mark.parametrize("schedule", [pytest.param(_step_decay, id="epoch-lr"),
                                      pytest.param(_old_api, id="epoch-only", marks=pytest.mark.slow)])
def test_learning_rate_scheduler_like_keras(schedule):
    """The tutorials' step decay ``schedule(epoch, lr)``, and the older ``schedule(epoch)``."""
    kh, th, kw, tw = _run([keras.callbacks.LearningRateScheduler(schedule)],
                          [tcb.LearningRateScheduler(schedule)], opt=("sgd", 0.05), epochs=8)
    _compare(kh, th, kw, tw, f"LearningRateScheduler({schedule.__name__})")
    print(f"  learning_rate: {np.round(kh['learning_rate'], 6).tolist()}")
    assert len(set(kh["learning_rate"])) > 3
    with pytest.raises(ValueError, match="should be a float"):
        _run([], [tcb.LearningRateScheduler(lambda epoch: 1)], epochs=1)


def test_terminate_on_nan_stops_after_the_batch():
    """A learning rate that blows up: the epoch where the loss turns NaN or infinite is the last one, cut after
    that batch (its validation still runs)."""
    x, y = _noisy_data()
    kh, th, kw, tw = _run([keras.callbacks.TerminateOnNaN()], [tcb.TerminateOnNaN()], opt=("sgd", 1e6),
                          data=(x * 1e3, y), epochs=10)
    _compare(kh, th, label="TerminateOnNaN, SGD lr 1e6")
    assert len(kh["loss"]) < 10 and not np.isfinite(kh["loss"][-1])


class _KerasStopAt(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch == 2 and len(self.model.history.epoch) == 1:
            self.logs = dict(logs)
            self.model.stop_training = True


class _TorchStopAt(tcb.Callback):
    epochs_done = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_done += 1

    def on_train_batch_end(self, batch, logs=None):
        if batch == 2 and self.epochs_done == 1:
            self.logs = dict(logs)
            self.model.stop_training = True


def test_own_callback_stops_mid_epoch_with_keras_batch_logs():
    """``self.model.stop_training = True`` in ``on_train_batch_end``: the epoch ends after that batch; the
    batch logs are the epoch's running means (loss and accuracy), as Keras's."""
    k, t = _KerasStopAt(), _TorchStopAt()
    kh, th, kw, tw = _run([k], [t])
    _compare(kh, th, kw, tw, "stop_training at batch 2 of epoch 2")
    print(f"  batch logs: Keras {k.logs}, torch_impl {t.logs}")
    assert sorted(k.logs) == sorted(t.logs) and all(abs(k.logs[n] - t.logs[n]) <= 1e-12 for n in k.logs)
    assert len(kh["loss"]) == 2


def test_auto_mode_errors_and_missing_monitor_like_keras():
    for monitor in ("weighted_accuracy", "val_auc"):
        for side, cb in (("keras", keras.callbacks.EarlyStopping(monitor=monitor)),
                         ("torch", tcb.EarlyStopping(monitor=monitor))):
            with pytest.raises(ValueError, match="automatically determine"):
                if side == "keras":
                    _run([cb], [], epochs=1, weighted_metrics=["accuracy"])
                else:
                    _run([], [cb], epochs=1, weighted_metrics=["accuracy"])
    with pytest.warns(UserWarning, match="not available"):
        _run([], [tcb.EarlyStopping(monitor="val_loss", mode="min")], epochs=1, validation_split=0.0)
    with pytest.raises(ValueError, match="factor"):
        tcb.ReduceLROnPlateau(factor=1.0)
    print("auto mode: weighted_accuracy and val_auc raise ValueError on both sides")


def test_schedule_rate_is_not_settable_like_keras():
    from torch_impl import schedules
    p = torch.nn.Parameter(torch.zeros(2))
    opt = optim.Adam([p], learning_rate=schedules.ExponentialDecay(0.1, 10, 0.9))
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.01
    opt2 = optim.Adam([p], learning_rate=0.1)
    opt2.learning_rate = 0.05
    print(f"settable rate: {opt2.learning_rate!r} (float32 floatx: {float(np.float32(0.05))!r})")
    assert opt2.learning_rate == float(np.float32(0.05))


@pytest.mark.slow  # 7 s in the suite; ReduceLROnPlateau is checked in float64 by default
def test_plateau_compared_in_float32_like_keras():
    """Keras's ``ops.less(value - min_delta, best)`` converts the Python floats to float32: a float64 loss that
    improves by less than float32's resolution is no improvement (torch_impl compared in float64 and ran 3
    more epochs / reduced no rate)."""
    stop = (keras.callbacks.EarlyStopping(monitor="loss", patience=0), tcb.EarlyStopping(monitor="loss", patience=0))
    kh, th, kw, tw = _run([stop[0]], [stop[1]], opt=("sgd", 1e-9), epochs=5)
    _compare(kh, th, kw, tw, "EarlyStopping(loss, patience=0), SGD lr 1e-9")
    assert len(kh["loss"]) == 2
    kw_ = {"monitor": "loss", "patience": 0, "min_delta": 0, "factor": 0.5}
    kh, th, kw, tw = _run([keras.callbacks.ReduceLROnPlateau(**kw_)], [tcb.ReduceLROnPlateau(**kw_)],
                          opt=("sgd", 1e-9), epochs=5)
    _compare(kh, th, kw, tw, "ReduceLROnPlateau(loss, patience=0), SGD lr 1e-9")
    print(f"  learning_rate: {kh['learning_rate']}")
    assert kh["learning_rate"][-1] < 1e-9


def test_negative_rate_from_a_schedule_trains_like_keras():
    """Keras assigns any rate a callback sets; a linear decay that goes below 0 keeps training."""
    decay = lambda epoch, lr: 0.05 - 0.02 * epoch  # noqa: E731
    kh, th, kw, tw = _run([keras.callbacks.LearningRateScheduler(decay)], [tcb.LearningRateScheduler(decay)],
                          opt=("sgd", 0.05), epochs=5)
    _compare(kh, th, kw, tw, "LearningRateScheduler to negative rates")
    assert min(kh["learning_rate"]) < 0


class _Recording:
    """Records every ``on_*`` hook call as (hook, batch or epoch, a copy of the logs)."""

    def __getattribute__(self, name):
        attr = super().__getattribute__(name)
        if name.startswith("on_") and callable(attr):
            def record(*args, **kwargs):
                logs = kwargs.get("logs", args[-1] if args and isinstance(args[-1], (dict, type(None))) else None)
                index = [a for a in args if isinstance(a, int)]
                super(_Recording, self).__getattribute__("calls").append(
                    (name, index[0] if index else None, dict(logs) if logs is not None else None))
                return attr(*args, **kwargs)
            return record
        return attr


class _KerasRecorder(_Recording, keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []


class _TorchRecorder(_Recording, tcb.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []


def test_every_hook_call_and_its_logs_like_keras():
    """The sequence of hook calls Keras's ``fit`` makes (train and validation ``on_test_*`` hooks, the old
    ``on_batch_*`` names routed from ``on_train_batch_*``), each with Keras's logs: ``{}`` where there are
    none, running means in batch logs, the validation's own (unprefixed) logs, the epoch's sorted logs,
    ``on_train_end`` with the last epoch's logs before callbacks added to them; and ``params``."""
    k, t = _KerasRecorder(), _TorchRecorder()
    rate = (keras.callbacks.ReduceLROnPlateau(patience=1), tcb.ReduceLROnPlateau(patience=1))
    kh, th, _, _ = _run([rate[0], k], [rate[1], t], epochs=2)
    kc = [c for c in k.calls if c[0] not in ("on_predict_begin", "on_predict_end")]
    print(f"{len(kc)} hook calls in Keras, {len(t.calls)} in torch_impl; first {kc[:4]}; "
          f"params Keras {k.params}, torch_impl {t.params}")
    assert [(c[0], c[1]) for c in kc] == [(c[0], c[1]) for c in t.calls]
    for a, b in zip(kc, t.calls):
        assert (a[2] is None) == (b[2] is None) and list(a[2] or {}) == list(b[2] or {}), (a, b)
        for key in a[2] or {}:
            assert abs(a[2][key] - b[2][key]) <= 1e-12 * max(1.0, abs(a[2][key])), (a, b)
    assert k.params == t.params


def test_bare_metric_name_is_one_metric_where_keras_raises():
    """Keras's ``compile(metrics="accuracy")`` raises; torch_impl takes the bare name as ``["accuracy"]`` (an
    unambiguous call, listed under the deliberate differences) and logs what Keras logs for the list."""
    x, y = _noisy_data(n=8)
    model = keras.Sequential([keras.Input((5,)), layers.Dense(2)])
    net = torch.nn.Linear(5, 2)
    for arg in ("metrics", "weighted_metrics"):
        with pytest.raises(ValueError, match=f"Expected `{arg}` argument to be a list"):
            model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", **{arg: "accuracy"})
            model.fit(x, y, epochs=1, verbose=0)
        h = tfit.fit(net, x, y, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                     optimizer=optim.SGD(net.parameters()), epochs=1, verbose=0,
                     **({arg: "accuracy"} if arg == "metrics" else {"metrics": (), arg: "accuracy"}))
        print(f"{arg}='accuracy': Keras raises; torch_impl logs {sorted(h.history)}")
        assert sorted(h.history) == ["accuracy", "loss"]


@pytest.mark.parametrize("freq", [2, [1, 4]], ids=["every-2nd", "list"])
def test_initial_epoch_validation_freq_and_batch_size_like_keras(freq):
    """``fit(initial_epoch=1, epochs=5, validation_freq=..., validation_batch_size=7)`` with a schedule on the
    epoch index: the same epochs, validation only where Keras validates, the same figures."""
    x, y = _noisy_data()
    decay = lambda epoch, lr: 0.1 / (1 + epoch)  # noqa: E731
    with _precision("float64"):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((5,)), layers.Dense(16, activation="relu"), layers.Dense(2)])
        w = model.get_weights()
        model.compile(optimizer=keras.optimizers.SGD(0.1),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        k = model.fit(x, y, batch_size=16, epochs=5, initial_epoch=1, validation_split=0.25, validation_freq=freq,
                      validation_batch_size=7, shuffle=False, verbose=0,
                      callbacks=[keras.callbacks.LearningRateScheduler(decay)])
        net = torch.nn.Sequential(_dense(w[0], w[1]), torch.nn.ReLU(), _dense(w[2], w[3]))
        t = tfit.fit(net, x, y, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                     optimizer=optim.SGD(net.parameters(), learning_rate=0.1), batch_size=16, epochs=5,
                     initial_epoch=1, validation_split=0.25, validation_freq=freq, validation_batch_size=7,
                     shuffle=False, verbose=0, callbacks=[tcb.LearningRateScheduler(decay)], metrics=["accuracy"])
    print(f"validation_freq={freq}: epochs Keras {k.epoch} torch_impl {t.epoch}; val_loss Keras "
          f"{np.round(k.history['val_loss'], 6).tolist()}")
    assert k.epoch == t.epoch
    _compare(k.history, t.history, label=f"initial_epoch=1, validation_freq={freq}")
    assert len(k.history["val_loss"]) == (2 if freq == 2 else 1) and len(k.history["loss"]) == 4

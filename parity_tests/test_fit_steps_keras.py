"""``fit(steps_per_epoch=..., validation_steps=...)``, ``evaluate(steps=...)`` and ``predict(steps=...)`` on arrays,
against Keras 3.15.1 on TensorFlow run in the same process.

Keras's rules (``trainers/data_adapters/array_data_adapter.py``, ``trainers/epoch_iterator.py``,
``backend/tensorflow/trainer.py``): without ``batch_size`` the batch size is ``ceil(N / steps)`` (32 without
``steps``); an epoch reads ``steps_per_epoch`` batches from a pass that is continued across epochs, a used-up pass
ending its epoch early with the warning "Your input ran out of data" (so ``steps_per_epoch`` over the batches of
a pass gives a whole pass per epoch, warned), the next epoch starting a new pass in Keras's shuffle order (the same
order every pass); a validation with ``validation_steps`` reads the first ``validation_steps`` batches anew each
time, in batches of ``validation_batch_size or batch_size``, else ``ceil(N_val / validation_steps)``; ``evaluate``
and ``predict`` read their first ``steps`` batches. Both sides start from Keras's initial weights after
``keras.utils.set_random_seed(seed)`` (``keras_init_(net, seed=seed)``), ``fit(..., seed=seed)`` replays Keras's
shuffle, and the histories, the batches per epoch, ``params["steps"]``, Adam's step count and the warnings are
compared. float64 histories within 1e-12 (relative), float32 (slow) within 1e-6.

Run: ``.venv/bin/python -m pytest -q -s -p no:cacheprovider parity_tests/test_fit_steps_keras.py``
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

from parity_tests.grid import every_nth  # noqa: E402
from parity_tests.test_field_scripts_round2 import _check_history, _precision  # noqa: E402
from torch_impl import callbacks as tcb  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl.nn import keras_init_  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

RAN_OUT = "Your input ran out of data"


def _record(self):
    self.batches, self.val_batches, self.steps = [], [], None


def _hooks():
    """The same observer body for a Keras and a torch_impl callback: batches per epoch and per validation."""

    def on_train_begin(self, logs=None):
        self.steps = self.params["steps"]

    def on_epoch_begin(self, epoch, logs=None):
        self.batches.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.batches[-1] += 1

    def on_test_begin(self, logs=None):
        self.val_batches.append(0)

    def on_test_batch_end(self, batch, logs=None):
        self.val_batches[-1] += 1

    return dict(on_train_begin=on_train_begin, on_epoch_begin=on_epoch_begin, on_train_batch_end=on_train_batch_end,
                on_test_begin=on_test_begin, on_test_batch_end=on_test_batch_end)


class _KerasObserver(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        _record(self)


class _TorchObserver(tcb.Callback):
    def __init__(self):
        super().__init__()
        _record(self)


for _name, _fn in _hooks().items():
    setattr(_KerasObserver, _name, _fn)
    setattr(_TorchObserver, _name, _fn)


def _data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    return x, (x[:, :1] * 0.7 - x[:, 1:2] ** 2 + 0.1 * rng.normal(size=(n, 1)))


def _ran_out(caught) -> int:
    return sum(RAN_OUT in str(w.message) for w in caught)


def _both(fit_kw: dict, n: int = 23, seed: int = 5, dt: str = "float64", epochs: int = 3):
    """Keras's and torch_impl's run of ``fit(x, y, epochs=epochs, **fit_kw)``: (history, observer, Adam's
    iterations, "ran out" warnings) each."""
    x, y = _data(n)
    fit_kw = dict(fit_kw)
    if fit_kw.get("validation_data") == "own":
        fit_kw["validation_data"] = _data(10, seed=1)
    out = []
    with _precision(dt):
        keras.utils.set_random_seed(seed)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="tanh"), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse", metrics=["mae"])
        obs = _KerasObserver()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            h = model.fit(x, y, epochs=epochs, verbose=0, callbacks=[obs], **fit_kw).history
        out.append((h, obs, int(model.optimizer.iterations), _ran_out(caught)))
        net = keras_init_(torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 1)),
                          seed=seed)
        obs = _TorchObserver()
        opt = optim.get({"class_name": "Adam", "config": {"learning_rate": 0.05}}, net.named_parameters())
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            h = tfit.fit(net, x, y, loss="mse", optimizer=opt, metrics=["mae"], epochs=epochs, verbose=0,
                         callbacks=[obs], seed=seed, **fit_kw).history
        iterations = opt.param_groups[0]["iterations"]
        out.append((h, obs, iterations, _ran_out(caught)))
    return out


def _compare(fit_kw, expected_batches, expected_warnings, dt="float64", **kw):
    (kh, kobs, kit, kwarn), (th, tobs, tit, twarn) = _both(fit_kw, dt=dt, **kw)
    print(f"{fit_kw}: batches per epoch Keras {kobs.batches} torch_impl {tobs.batches}, validation batches "
          f"{kobs.val_batches} / {tobs.val_batches}, params steps {kobs.steps} / {tobs.steps}, Adam iterations "
          f"{kit} / {tit}, 'ran out' warnings {kwarn} / {twarn}")
    assert kobs.batches == expected_batches  # Keras's rule, as read from its source
    assert tobs.batches == kobs.batches and tobs.val_batches == kobs.val_batches
    assert tobs.steps == kobs.steps and tit == kit == sum(kobs.batches)
    assert twarn == kwarn == expected_warnings
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt)
    return kh, th


# (fit arguments, Keras's batches per epoch, Keras's "ran out" warnings); 23 samples, 3 epochs unless told
CASES = {
    # batch 4: 6 batches a pass; 4 a step: epoch 2 ends the pass after 2 (warned), epoch 3 starts a new pass
    "fewer_steps": (dict(batch_size=4, steps_per_epoch=4), [4, 2, 4], 1),
    # 8 steps of a 6-batch pass: each epoch a whole pass, warned
    "more_steps": (dict(batch_size=4, steps_per_epoch=8), [6, 6, 6], 3),
    # no batch_size: ceil(23 / 5) = 5 samples a batch, 5 batches, one pass an epoch
    "no_batch_size": (dict(steps_per_epoch=5), [5, 5, 5], 0),
    # no batch_size: ceil(23 / 7) = 4 a batch, 6 batches < 7 steps: warned every epoch
    "no_batch_size_ran_out": (dict(steps_per_epoch=7), [6, 6, 6], 3),
    "unshuffled": (dict(batch_size=3, steps_per_epoch=5, shuffle=False), [5, 3, 5], 1),
    # validation_split 0.25: 17 training samples (ceil(17/3) = 6 a batch), 6 validation samples in batches of
    # ceil(6/2) = 3
    "validation_split_steps": (dict(steps_per_epoch=3, validation_split=0.25, validation_steps=2), [3, 3, 3], 0),
    # validation_data of 10 in batches of 4 (3 batches), validation_steps 5: 3 read, warned at each validation
    "validation_data_more_steps": (dict(batch_size=4, steps_per_epoch=4, validation_data="own",
                                        validation_steps=5), [4, 2, 4], 1 + 3),
}


@pytest.mark.parametrize("case", every_nth(list(CASES), 2))
def test_fit_steps_per_epoch_like_keras(case):
    fit_kw, batches, warned = CASES[case]
    _compare(fit_kw, batches, warned)


SLOW_CASES = {
    "batch_shuffle": (dict(steps_per_epoch=2, shuffle="batch", batch_size=5), [2, 2, 1, 2, 2], 1),
    "validation_steps_alone": (dict(validation_data="own", validation_steps=3), [1, 1, 1, 1, 1], 0),
    "validation_batch_size": (dict(steps_per_epoch=4, validation_data="own", validation_steps=2,
                                   validation_batch_size=3), [4, 4, 4, 4, 4], 0),
    "validation_steps_without_batch_size": (dict(steps_per_epoch=2, validation_data="own", validation_steps=4),
                                            [2, 2, 2, 2, 2], 0),
    # a pass used up at an epoch's last step: a new pass next epoch, no warning
    "one_step": (dict(batch_size=8, steps_per_epoch=1), [1, 1, 1, 1, 1], 0),
    "sample_weight_and_val_split": (dict(steps_per_epoch=4, batch_size=5, validation_split=0.2, validation_steps=1,
                                         sample_weight=np.linspace(0.5, 2, 23)), [4, 4, 4, 4, 4], 0),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(SLOW_CASES))
def test_fit_steps_per_epoch_more_cases_like_keras(case):
    fit_kw, batches, warned = SLOW_CASES[case]
    _compare(fit_kw, batches, warned, epochs=5)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["fewer_steps", "no_batch_size_ran_out", "validation_split_steps"])
def test_fit_steps_per_epoch_float32_like_keras(case):
    fit_kw, batches, warned = CASES[case]
    _compare(fit_kw, batches, warned, dt="float32")


def test_evaluate_and_predict_steps_like_keras():
    x, y = _data(10)
    with _precision("float64"):
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="tanh"), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        net = keras_init_(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1)), seed=3)
        # (steps, batch_size): batches of ceil(10 / steps) without batch_size; more steps than batches warn
        for steps, batch_size, rows, warned in [(3, None, 10, 0), (2, 3, 6, 0), (7, 3, 10, 1), (4, None, 10, 0)]:
            with warnings.catch_warnings(record=True) as k_caught:
                warnings.simplefilter("always")
                k_eval = model.evaluate(x, y, steps=steps, batch_size=batch_size, return_dict=True, verbose=0)
                k_pred = model.predict(x, steps=steps, batch_size=batch_size, verbose=0)
            with warnings.catch_warnings(record=True) as t_caught:
                warnings.simplefilter("always")
                t_eval = tfit.evaluate(net, x, y, loss="mse", metrics=["mae"], steps=steps, batch_size=batch_size)
                t_pred = tfit.predict(net, x, steps=steps, batch_size=batch_size)
            diff = {k: abs(t_eval[k] - k_eval[k]) / abs(k_eval[k]) for k in k_eval}
            print(f"steps={steps} batch_size={batch_size}: evaluate Keras {k_eval} max rel "
                  f"{max(diff.values()):.1e}; predict rows {k_pred.shape[0]} / {t_pred.shape[0]}, max abs "
                  f"{np.max(np.abs(t_pred - k_pred)):.1e}; warnings {_ran_out(k_caught)} / {_ran_out(t_caught)}")
            assert sorted(t_eval) == sorted(k_eval) and max(diff.values()) <= 1e-12
            assert k_pred.shape == t_pred.shape == (rows, 1)
            np.testing.assert_allclose(t_pred, k_pred, rtol=1e-12, atol=1e-14)
            assert _ran_out(t_caught) == _ran_out(k_caught) == 2 * warned
        # the first 2 batches of 3: the loss of the first 6 samples
        np.testing.assert_allclose(tfit.evaluate(net, x, y, loss="mse", steps=2, batch_size=3)["loss"],
                                   tfit.evaluate(net, x[:6], y[:6], loss="mse")["loss"], rtol=1e-15)


def test_evaluate_and_predict_steps_callbacks_params():
    """Keras's ``params["steps"]`` is ``steps`` when given (measured: ``steps=7`` over 4 batches reports 7)."""
    x, y = _data(10)
    seen = {}

    class Params(tcb.Callback):
        def on_test_begin(self, logs=None):
            seen["test"] = (self.params["steps"], [])

        def on_test_batch_end(self, batch, logs=None):
            seen["test"][1].append(batch)

        def on_predict_begin(self, logs=None):
            seen["predict"] = (self.params["steps"], [])

        def on_predict_batch_end(self, batch, logs=None):
            seen["predict"][1].append(batch)

    net = torch.nn.Linear(4, 1).double()
    with pytest.warns(UserWarning, match=RAN_OUT):
        tfit.evaluate(net, x, y, loss="mse", steps=7, batch_size=3, callbacks=[Params()])
    with pytest.warns(UserWarning, match=RAN_OUT):
        tfit.predict(net, x, steps=7, batch_size=3, callbacks=[Params()])
    print("evaluate / predict steps=7 over 4 batches: params steps and batches", seen)
    assert seen == {"test": (7, [0, 1, 2, 3]), "predict": (7, [0, 1, 2, 3])}


def test_numpy_shuffle_passes_continue_across_epochs():
    """Without ``seed`` (a NumPy order): with ``steps_per_epoch`` the epochs share one permutation per pass, as
    Keras's pass is continued; a new pass draws a new one."""
    x = np.arange(12, dtype=np.float32)[:, None]
    y = np.zeros((12, 1), np.float32)
    seen = []

    class Recorder(torch.nn.Linear):
        def forward(self, inputs):
            seen.append(inputs[:, 0].long().tolist())
            return super().forward(inputs)

    net = Recorder(1, 1)
    with pytest.warns(UserWarning, match=RAN_OUT):
        tfit.fit(net, x, y, loss="mse", optimizer="sgd", batch_size=3, steps_per_epoch=3, epochs=4, generator=0,
                 verbose=0)
    # 4 batches a pass, 3 steps an epoch: epochs of 3, 1, 3, 1 batches
    passes = [sum(seen[:4], []), sum(seen[4:], [])]
    print("NumPy-shuffled passes:", passes)
    assert len(seen) == 8 and all(sorted(p) == list(range(12)) for p in passes) and passes[0] != passes[1]
    rng = np.random.default_rng(0)
    assert passes == [rng.permutation(12).tolist(), rng.permutation(12).tolist()]


def test_steps_errors_like_keras():
    """A negative ``steps_per_epoch`` / ``validation_steps`` / ``steps`` raises ``ValueError`` in both (Keras's: a
    TensorFlow shape error); no samples with ``steps_per_epoch``: Keras 3.15.1 fails with ZeroDivisionError,
    torch_impl with a ValueError."""
    x, y = _data(10)
    x32, y32 = x.astype("float32"), y.astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    net = torch.nn.Linear(4, 1)
    for kw in [dict(steps_per_epoch=-1), dict(validation_split=0.2, validation_steps=-1)]:
        with pytest.raises(ValueError) as k_info:
            model.fit(x32, y32, verbose=0, **kw)
        with pytest.raises(ValueError, match="must be a positive integer or None") as t_info:
            tfit.fit(net, x32, y32, loss="mse", optimizer="sgd", verbose=0, **kw)
        print(f"{kw}: Keras {str(k_info.value)[:60]!r}, torch_impl {str(t_info.value)[:60]!r}")
    with pytest.raises(ValueError):
        model.evaluate(x32, y32, steps=-1, verbose=0)
    with pytest.raises(ValueError, match="must be a positive integer or None"):
        tfit.evaluate(net, x32, y32, loss="mse", steps=-1)
    with pytest.raises(ValueError, match="must be a positive integer or None"):
        tfit.predict(net, x32, steps=-1)
    with pytest.raises(ZeroDivisionError):
        model.fit(x32[:0], y32[:0], steps_per_epoch=2, verbose=0)
    with pytest.raises(ValueError, match="no training samples"):
        tfit.fit(net, x32[:0], y32[:0], loss="mse", optimizer="sgd", steps_per_epoch=2, verbose=0)

"""``callbacks=`` of ``torch_impl.fit.evaluate`` and ``predict`` (and ``fit``'s validation) against Keras 3.15.1's
``model.evaluate`` / ``model.predict`` / ``model.fit`` on TensorFlow.

A user ``Callback`` subclass records every hook call: its name, its batch index, its logs and whether they came by
keyword. Compared with the same recorder (a ``keras.callbacks.Callback``) on the Keras model the torch model ports
(``Dense(8, relu) -> Dense(3, softmax)``, the same weights): the sequence of calls, ``params``, and every logs
dict (keys, types, values):

* ``evaluate``: ``on_test_begin({})``, per batch ``on_test_batch_begin(b, logs={})`` /
  ``on_test_batch_end(b, logs=<running loss and metrics>)``, ``on_test_end(<results>)``; ``params``
  ``{"verbose", "epochs": 1, "steps"}``; on a generator a last ``on_test_batch_begin`` for the step that finds
  the input exhausted, and ``steps`` ``None``;
* ``predict``: ``on_predict_batch_end(b, logs={"outputs": <the batch's softmax outputs, a NumPy array>})``; a
  one-number batch output becomes a Python float, a list of outputs stays a list of tensors (Keras's TensorFlow
  tensors, torch_impl's torch tensors), a dict's outputs become keys of the logs (Keras flattens nested logs);
* ``self.model.stop_evaluating`` / ``stop_predicting`` set in a batch hook: the run ends after that batch, the
  results (outputs) so far come back; in ``fit``'s validation too (``val_`` figures of the batches run);
* ``LambdaCallback(on_predict_begin=...)`` (Keras's ``test_lambda_callback_during_prediction``);
* ``verbose``: Keras's default ``"auto"`` (a progress bar), 1, 2 (one line) and 0: the same text printed as
  Keras's, times aside, and ``params["verbose"]`` as given.

Measured (max relative error of the logged values against Keras's; outputs norm-wise):

=============================================  ===============================  ==================
case                                           float64                          float32 (``slow``)
=============================================  ===============================  ==================
evaluate, arrays (3 batches, 8 hook calls)     3.0e-16                          1.7e-7
evaluate, generator (``steps`` None and 2)     0                                -
predict, arrays (``outputs`` of each batch)    1.9e-16                          1.2e-7
predict, generator / list / dict outputs       1.9e-16                          -
stop_evaluating / stop_predicting              0 / 1.9e-16                      -
fit, validation stopped after 2 of 3 batches   30 hook calls, logs 1.5e-16,     -
                                               history equal (0)
=============================================  ===============================  ==================
"""

from __future__ import annotations

import contextlib
import re
import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from parity_tests.test_field_scripts_round2 import DTYPES, _dense, _normwise, _precision, _rel  # noqa: E402
from torch_impl import callbacks as tcb  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import optim  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
         "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
         "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end")


def _recorder(base):
    """A user callback (a subclass of ``base``) that records each hook call: ``(hook, index, logs, by
    keyword)``; ``stop=(hook, index)`` sets ``stop_evaluating`` / ``stop_predicting`` there."""

    class Recorder(base):
        def __init__(self, stop=None):
            super().__init__()
            self.calls, self.stop = [], stop

    def hook_method(hook):
        def method(self, *args, **kwargs):
            index = args[0] if args and isinstance(args[0], int) else None
            logs = kwargs["logs"] if "logs" in kwargs else (args[-1] if args and not isinstance(args[-1], int)
                                                            else None)
            self.calls.append((hook, index, dict(logs) if logs is not None else None, "logs" in kwargs))
            if self.stop == (hook, index):
                setattr(self.model, "stop_evaluating" if "test" in hook else "stop_predicting", True)
        return method

    for hook in HOOKS:
        setattr(Recorder, hook, hook_method(hook))
    return Recorder


KerasRecorder, TorchRecorder = _recorder(keras.callbacks.Callback), _recorder(tcb.Callback)


def _value_error(k, t, tol: float) -> float:
    """The worst relative error between a Keras log value and torch_impl's, after checking their kinds."""
    if isinstance(k, float):
        assert type(t) is float, (k, t)
        return _rel(t, k)
    if isinstance(k, np.ndarray):
        assert isinstance(t, np.ndarray) and t.shape == k.shape and t.dtype == k.dtype, (k, t)
        return _normwise(t, k)
    if isinstance(k, list):  # Keras's backend tensors: TensorFlow's there, torch's here
        assert isinstance(t, list) and len(t) == len(k)
        assert all(isinstance(a, tf.Tensor) for a in k) and all(isinstance(b, torch.Tensor) for b in t)
        return max(_normwise(b.numpy(), a.numpy()) for a, b in zip(k, t))
    raise AssertionError(f"unexpected log value {k!r}")


def _compare_calls(kc, tc, tol: float) -> float:
    """The same hook calls, in order, with the same logs (keys in order, kinds, values within ``tol``)."""
    assert [(c[0], c[1], c[3]) for c in kc] == [(c[0], c[1], c[3]) for c in tc], (kc, tc)
    worst = 0.0
    for a, b in zip(kc, tc):
        assert (a[2] is None) == (b[2] is None) and list(a[2] or {}) == list(b[2] or {}), (a, b)
        for key in a[2] or {}:
            worst = max(worst, _value_error(a[2][key], b[2][key], tol))
    assert worst <= tol, worst
    return worst


def _tol(dt: str) -> float:
    return 1e-12 if dt == "float64" else 1e-5


def _data(n=20, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)), rng.integers(0, 3, n), rng.uniform(0.5, 1.5, n)


def _models(dt: str, outputs: str = "one"):
    """The Keras model (compiled: sparse crossentropy, accuracy) and its torch port (logits out,
    ``output_activation``). ``outputs``: ``"one"``, ``"list"`` (softmax ``a`` and linear ``b``), ``"dict"``."""
    with _precision(dt):
        keras.utils.set_random_seed(1)
        inp = keras.Input((4,))
        h = keras.layers.Dense(8, activation="relu")(inp)
        a = keras.layers.Dense(3, activation="softmax", name="a")(h)
        b = keras.layers.Dense(1, name="b")(h)
        out = {"one": a, "list": [a, b], "dict": {"a": a, "b": b}}[outputs]
        km = keras.Model(inp, out)
        km.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy"
                   if outputs == "one" else None, metrics=["accuracy"] if outputs == "one" else None,
                   weighted_metrics=["accuracy"] if outputs == "one" else None)
    w = [np.asarray(v) for v in km.get_weights()]
    hidden, head_a = _dense(w[0], w[1]), _dense(w[2], w[3])
    head_b = _dense(w[4], w[5]) if outputs != "one" else None

    class Net(torch.nn.Module):
        output_activation = "softmax" if outputs == "one" else (["softmax", None] if outputs == "list"
                                                               else {"a": "softmax", "b": None})

        def __init__(self):
            super().__init__()
            self.hidden, self.head_a, self.head_b = hidden, head_a, head_b

        def forward(self, x):
            z = torch.relu(self.hidden(x))
            if outputs == "one":
                return self.head_a(z)
            return [self.head_a(z), self.head_b(z)] if outputs == "list" else {"a": self.head_a(z),
                                                                               "b": self.head_b(z)}

    return km, Net()


def _generator(x, y=None, batch=8):
    for i in range(0, len(x), batch):
        yield (x[i:i + batch],) if y is None else (x[i:i + batch], y[i:i + batch])


@pytest.mark.parametrize("dt", DTYPES)
def test_evaluate_calls_test_hooks_like_keras(dt):
    """``evaluate(..., callbacks=[recorder])`` on arrays (20 samples, batches of 8; sample weights and a
    weighted metric): the hook calls, their logs, ``params`` and the returned dict, as Keras's."""
    x, y, sw = _data()
    km, net = _models(dt)
    k, t = KerasRecorder(), TorchRecorder()
    with _precision(dt):
        kr = km.evaluate(x, y, sample_weight=sw, batch_size=8, verbose=0, callbacks=[k], return_dict=True)
        tr = tfit.evaluate(net, x, y, sample_weight=sw, loss="sparse_categorical_crossentropy", batch_size=8,
                           metrics=["accuracy"], weighted_metrics=["accuracy"], callbacks=[t], verbose=0)
    worst = _compare_calls(k.calls, t.calls, _tol(dt))
    print(f"{dt}: {len(k.calls)} hook calls {[c[0][3:] for c in k.calls]}; params Keras {k.params} torch_impl "
          f"{t.params}; last batch logs {t.calls[-2][2]}; logs max rel {worst:.1e}")
    assert k.params == t.params == {"verbose": 0, "epochs": 1, "steps": 3}
    assert t.calls[-1][2] == {key: tr[key] for key in sorted(tr)} and _rel(list(tr.values()),
                                                                          [kr[key] for key in tr]) <= _tol(dt)
    assert t.model is net and [c[0] for c in t.calls].count("on_test_batch_end") == 3


@contextlib.contextmanager
def _no_ran_out_warning():
    """The "Your input ran out of data" warning raised as an error: keras-team/keras#23360 (followed) gives it only
    with ``steps`` / ``steps_per_epoch``."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*ran out of data")
        yield


def test_evaluate_on_a_generator_like_keras():
    """Batches from a generator: a last ``on_test_batch_begin`` for the step that finds the input exhausted (no
    ``on_test_batch_end``), ``params["steps"]`` ``None``; with ``steps=2``, two batches and ``steps`` 2."""
    x, y, _ = _data()
    km, net = _models("float64")
    for steps in (None, 2):
        k, t = KerasRecorder(), TorchRecorder()
        with _precision("float64"), pytest.warns(UserWarning, match="ran out of data") if steps is None \
                else contextlib.nullcontext():
            km.evaluate(_generator(x, y), steps=steps, verbose=0, callbacks=[k])
        # Keras 3.15.1 warns "ran out of data" without steps; later Keras and torch_impl do not (#23360)
        with _precision("float64"), _no_ran_out_warning():
            tfit.evaluate(net, _generator(x, y), loss="sparse_categorical_crossentropy", steps=steps,
                          metrics=["accuracy"], weighted_metrics=["accuracy"], callbacks=[t], verbose=0)
        worst = _compare_calls(k.calls, t.calls, 1e-12)
        print(f"steps={steps}: {[(c[0][8:], c[1]) for c in t.calls]}; params {t.params}; logs max rel {worst:.1e}")
        assert k.params == t.params == {"verbose": 0, "epochs": 1, "steps": steps}


@pytest.mark.parametrize("dt", DTYPES)
def test_predict_calls_predict_hooks_like_keras(dt):
    """``predict(..., callbacks=[recorder])``: ``on_predict_batch_end`` logs ``{"outputs": ...}`` with the
    batch's softmax outputs as a NumPy array (Keras's pythonified backend tensor), ``on_predict_end({})``; the
    batches' logged outputs make up what ``predict`` returns."""
    x, _, _ = _data()
    km, net = _models(dt)
    k, t = KerasRecorder(), TorchRecorder()
    with _precision(dt):
        kp = km.predict(x, batch_size=8, verbose=0, callbacks=[k])
        tp = tfit.predict(net, x, batch_size=8, callbacks=[t], verbose=0)
    worst = _compare_calls(k.calls, t.calls, _tol(dt))
    print(f"{dt}: {[(c[0][11:], c[1], {key: np.shape(v) for key, v in (c[2] or {}).items()}) for c in t.calls]}; "
          f"params {t.params}; outputs max rel (norm-wise) {worst:.1e}")
    assert k.params == t.params == {"verbose": 0, "epochs": 1, "steps": 3}
    np.testing.assert_array_equal(np.concatenate([c[2]["outputs"] for c in t.calls
                                                  if c[0] == "on_predict_batch_end"]), tp)
    assert _normwise(tp, kp) <= _tol(dt)


def test_one_number_output_logs_a_float_like_keras():
    """A one-unit output predicted on one sample: Keras's log flattening turns the ``(1, 1)`` array into a
    Python float; torch_impl's too."""
    x, _, _ = _data()
    with _precision("float64"):
        keras.utils.set_random_seed(2)
        km = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        k = KerasRecorder()
        km.predict(x[:1], verbose=0, callbacks=[k])
    w = km.get_weights()
    t = TorchRecorder()
    tfit.predict(_dense(w[0], w[1]), x[:1], callbacks=[t])
    _compare_calls(k.calls, t.calls, 1e-12)
    print(f"outputs of one sample: Keras {k.calls[2][2]} torch_impl {t.calls[2][2]}")
    assert type(t.calls[2][2]["outputs"]) is float


def test_predict_on_a_generator_and_several_outputs_like_keras():
    """``predict`` on a generator of ``(x,)`` batches (a last ``on_predict_batch_begin`` for the exhausted
    step, ``steps`` ``None``); a list of outputs logs a list of tensors; a dict of outputs logs each output
    under its name (no ``"outputs"`` key: Keras flattens nested logs)."""
    x, _, _ = _data()
    km, net = _models("float64")
    k, t = KerasRecorder(), TorchRecorder()
    with _precision("float64"), pytest.warns(UserWarning, match="ran out of data"):
        km.predict(_generator(x), verbose=0, callbacks=[k])
    with _no_ran_out_warning():  # Keras 3.15.1 warns; later Keras and torch_impl do not (keras-team/keras#23360)
        tfit.predict(net, _generator(x), callbacks=[t], verbose=0)
    worst = _compare_calls(k.calls, t.calls, 1e-12)
    print(f"generator: {[(c[0][11:], c[1]) for c in t.calls]}, params {t.params}, max rel {worst:.1e}")
    assert k.params == t.params and t.params["steps"] is None
    for outputs in ("list", "dict"):
        km, net = _models("float64", outputs)
        k, t = KerasRecorder(), TorchRecorder()
        with _precision("float64"):
            km.predict(x, batch_size=8, verbose=0, callbacks=[k])
        tfit.predict(net, x, batch_size=8, callbacks=[t])
        worst = _compare_calls(k.calls, t.calls, 1e-12)
        logs = t.calls[2][2]
        print(f"{outputs} outputs: batch logs {{{', '.join(f'{key}: {type(v).__name__}' for key, v in logs.items())}}}"
              f", max rel {worst:.1e}")
        assert list(logs) == (["outputs"] if outputs == "list" else ["a", "b"])


def test_stop_evaluating_and_stop_predicting_like_keras():
    """A callback sets ``self.model.stop_evaluating`` after batch 1 / ``stop_predicting`` after batch 0: the run
    ends there, ``on_test_end`` gets (and ``evaluate`` returns) the figures of the batches run, ``predict``
    returns their outputs."""
    x, y, _ = _data()
    km, net = _models("float64")
    k, t = KerasRecorder(stop=("on_test_batch_end", 1)), TorchRecorder(stop=("on_test_batch_end", 1))
    with _precision("float64"):
        kr = km.evaluate(x, y, batch_size=8, verbose=0, callbacks=[k], return_dict=True)
        tr = tfit.evaluate(net, x, y, loss="sparse_categorical_crossentropy", batch_size=8, metrics=["accuracy"],
                           weighted_metrics=["accuracy"], callbacks=[t])
    worst = _compare_calls(k.calls, t.calls, 1e-12)
    print(f"stop_evaluating after batch 1: {[(c[0][8:], c[1]) for c in t.calls]}; Keras {kr} torch_impl {tr}")
    assert _rel(tr["loss"], kr["loss"]) <= 1e-12 and tr["accuracy"] == kr["accuracy"] and len(t.calls) == 6
    k, t = KerasRecorder(stop=("on_predict_batch_end", 0)), TorchRecorder(stop=("on_predict_batch_end", 0))
    with _precision("float64"):
        kp = km.predict(x, batch_size=8, verbose=0, callbacks=[k])
    tp = tfit.predict(net, x, batch_size=8, callbacks=[t])
    worst = max(worst, _compare_calls(k.calls, t.calls, 1e-12))
    print(f"stop_predicting after batch 0: outputs Keras {kp.shape} torch_impl {tp.shape}; max rel {worst:.1e}")
    assert tp.shape == kp.shape == (8, 3) and _normwise(tp, kp) <= 1e-12


def test_fit_validation_calls_test_hooks_and_stops_like_keras():
    """``fit`` with ``validation_data`` calls the ``on_test_*`` hooks around each validation, with ``fit``'s
    ``params``; a callback's ``stop_evaluating`` ends that validation early, and the epoch's ``val_`` figures
    are those of the batches run, as Keras's."""
    x, y, _ = _data()
    km, net = _models("float64")
    stop = ("on_test_batch_end", 1)
    k, t = KerasRecorder(stop=stop), TorchRecorder(stop=stop)
    with _precision("float64"):
        kh = km.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, validation_data=(x[:12], y[:12]),
                    validation_batch_size=4, callbacks=[k]).history
        th = tfit.fit(net, x, y, loss="sparse_categorical_crossentropy",
                      optimizer=optim.SGD(net.parameters(), 0.1), batch_size=8, epochs=2, shuffle=False, verbose=0,
                      validation_data=(x[:12], y[:12]), validation_batch_size=4, metrics=["accuracy"],
                      weighted_metrics=["accuracy"], callbacks=[t]).history
    worst = _compare_calls(k.calls, t.calls, 1e-12)
    tests = [(c[0][8:], c[1]) for c in t.calls if "test" in c[0]]
    print(f"{len(t.calls)} hook calls; validation hooks {tests}; params {t.params}; logs max rel {worst:.1e}")
    for key in kh:
        print(f"  {key}: Keras {kh[key]} torch_impl {th[key]}")
        assert _rel(th[key], kh[key]) <= 1e-8, key
    assert k.params == t.params and tests.count(("batch_end", 1)) == 2
    assert ("batch_begin", 2) not in tests


def test_lambda_callback_during_prediction_and_evaluation():
    """Keras's ``test_lambda_callback_during_prediction``: ``LambdaCallback(on_predict_begin=...)`` runs in
    ``predict``; ``on_test_begin`` / ``on_test_end`` given by keyword run in ``evaluate``."""
    x, y, _ = _data(16)
    net = torch.nn.Linear(4, 1)
    log = []
    tfit.predict(net, x, batch_size=4, callbacks=[tcb.LambdaCallback(
        on_predict_begin=lambda logs: log.append("on_predict_begin_executed"),
        on_predict_batch_end=lambda batch, logs: log.append(("batch", batch, logs["outputs"].shape)))])
    tfit.evaluate(net, x, y.astype(float), loss="mse", batch_size=4, callbacks=[tcb.LambdaCallback(
        on_test_begin=lambda logs: log.append("on_test_begin"), on_test_end=lambda logs: log.append(sorted(logs)))])
    print(log)
    assert log == ["on_predict_begin_executed"] + [("batch", b, (4, 1)) for b in range(4)] + \
        ["on_test_begin", ["loss"]]
    with pytest.raises(TypeError, match="Callback instances"):
        tfit.predict(net, x, callbacks=[lambda logs: None])


def _shown(text: str) -> str:
    """What a progress bar leaves on screen (its last state: the text after the last ``\\r``, trailing blanks cut),
    the times (elapsed, ETA, per step) replaced by ``T``."""
    last = text.split("\r")[-1].rstrip(" \n")
    return re.sub(r"\d+(ms|us|s)/step", "T/step", re.sub(r"(\x1b\[1m|- )\d+s(\x1b\[0m| )", r"\1T\2", last))


def test_evaluate_and_predict_verbose_default_like_keras(capsys):
    """``verbose`` of ``evaluate`` and ``predict``: Keras's default ``"auto"`` (``trainers/trainer.py:755,846``,
    ``callbacks/progbar_logger.py:31-33``: a ``Progbar`` of ``verbose=1``) draws a progress bar, redrawn in place
    (``\\b...\\r``), its last state with the results, e.g. ``3/3 ━━━━━━━━━━━━━━━━━━━━ 0s 6ms/step - accuracy:
    0.5000 - loss: 1.3933`` (``utils/progbar.py``); ``verbose=2`` one line ``3/3 - 0s - 16ms/step - accuracy: ...``
    (``predict``: ``3/3 - 0s - 14ms/step``); ``0`` nothing; ``params["verbose"]`` as given (``"auto"`` by
    default). torch_impl printed nothing by default (its default was 0) and ``verbose=2`` printed no time."""
    x, y, _ = _data()
    km, net = _models("float64")
    kw = dict(loss="sparse_categorical_crossentropy", metrics=["accuracy"], weighted_metrics=["accuracy"])
    shown = []
    for verbose in (None, 1, 2, 0):
        arg = {} if verbose is None else {"verbose": verbose}
        k, t = KerasRecorder(), TorchRecorder()
        out = {}
        with _precision("float64"):
            kr = km.evaluate(x, y, batch_size=8, callbacks=[k], return_dict=True, **arg)
            out["k_eval"] = capsys.readouterr().out
            tr = tfit.evaluate(net, x, y, batch_size=8, callbacks=[t], **kw, **arg)
            out["t_eval"] = capsys.readouterr().out
            kp = km.predict(x, batch_size=8, **arg)
            out["k_pred"] = capsys.readouterr().out
            tp = tfit.predict(net, x, batch_size=8, **arg)
            out["t_pred"] = capsys.readouterr().out
        err = max(_rel([tr[key] for key in kr], list(kr.values())), _normwise(tp, kp))
        shown.append((verbose, {key: _shown(v) for key, v in out.items()}, k.params["verbose"], err))
        assert k.params["verbose"] == t.params["verbose"] == ("auto" if verbose is None else verbose)
        assert err <= 1e-12
        for what in ("eval", "pred"):
            kt, tt = out[f"k_{what}"], out[f"t_{what}"]
            if verbose == 0:
                assert kt == tt == ""
                continue
            assert _shown(kt) == _shown(tt) != "", (verbose, what, kt, tt)
            if verbose == 2:  # one line, no bar
                assert kt.count("\n") == tt.count("\n") == 1 and "\r" not in kt + tt
            else:  # a bar redrawn in place, ended by a line break
                assert kt.startswith("\r") and tt.startswith("\r") and kt.endswith("\n") and tt.endswith("\n")
    with capsys.disabled():
        for verbose, texts, params, err in shown:
            print(f"\nverbose={verbose!r} (params {params!r}, figures max rel {err:.1e}):")
            for key, text in texts.items():
                print(f"  {key}: {text!r}")

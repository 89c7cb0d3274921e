"""Several outputs: the errors Keras 3.15.1 raises at the first step of ``fit``, against ``torch_impl.fit``.

Keras's ``CompileLoss`` and ``CompileMetrics`` (``keras/src/trainers/compile_utils.py``) are built as the first step
runs (after ``on_train_begin`` and ``on_train_batch_begin``), so their errors come then, not at ``compile``.
torch_impl raised some of them when it set its arguments up (before ``on_train_begin``), with its own messages, or
trained where Keras raises. Each case here: the exception's type and ``args`` (Keras's message), the callbacks each
side ran before it, and the weights after it.

1. ``loss_weights`` a dict of other keys than a ``loss`` dict (naming an output ``y`` lacks): Keras pairs the two
   flat (each in its sorted keys' order) when they are as long, else ``ValueError: `loss_weights` must match the
   number of losses, got 1 losses and 2 weights.`` (``compile_utils.py:617-629``, counting the dicts' keys);
   torch_impl raised its own error at set-up (or trained, with ``output_names`` or ``y`` one array);
2. a ``metrics`` / ``weighted_metrics`` dict naming an output the model lacks: Keras's ``ValueError`` from
   ``CompileMetrics.build`` ("dictionary key mismatch; ... Invalid `metrics`. ...", 315-336; for a model returning
   a list "Expected an instance of tuple, got ..."); torch_impl's message (or its error at set-up with
   ``output_names``);
3. a ``loss`` dict naming every output (or a list) and a dict ``y`` without an output's labels: Keras's
   ``ValueError: y_true and y_pred have different structures.`` (764-798); one loss for every output, its
   ``KeyError: "The path: ('a',) ..."`` for the model's first output (565-574); torch_impl raised at set-up;
4. the moment against the update: Keras's default (traced) step raises these before any update, the weights as
   they were; ``run_eagerly=True`` applies the first step's update before its metrics' errors (measured: weights
   moved by 8.5e-2), which torch_impl (raising before its update, as the default step) does not copy.
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from parity_tests.test_field_scripts_round2 import _check_history, _precision  # noqa: E402
from parity_tests.test_fit_multi_output_keras import (_Heads, _heads_data, _heads_fit_both, _keras_heads,  # noqa: E402
                                                      _max_abs)
from torch_impl import callbacks as tcb  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl.nn import load_keras_weights  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread"),
              pytest.mark.filterwarnings("ignore:Gradients do not exist")]


def _both_fail(compile_args, y, names=None, as_list=False, eager=True):
    """Keras's fit and torch_impl's of the same weights, each failing at its first step: ``(Keras's exception,
    torch_impl's, Keras's events, torch_impl's, how far Keras's weights moved, how far torch_impl's moved)``."""
    x = _heads_data()[0]
    keras.utils.set_random_seed(41)
    model = _keras_heads(as_list=as_list)
    w0 = model.get_weights()
    net = load_keras_weights(_Heads(as_list=as_list), w0)
    t0 = [p.detach().clone() for p in net.parameters()]
    model.compile(optimizer=keras.optimizers.SGD(0.1), run_eagerly=eager, **compile_args)
    k_events, t_events = [], []
    with pytest.raises(Exception) as kerr:
        model.fit(x, y, epochs=1, batch_size=10, verbose=0, callbacks=[keras.callbacks.LambdaCallback(
            on_train_begin=lambda logs: k_events.append("begin"),
            on_train_batch_begin=lambda batch, logs: k_events.append("batch"))])
    with pytest.raises(Exception) as terr:
        tfit.fit(net, x, y, optimizer=optim.SGD(net.parameters(), learning_rate=0.1), epochs=1, batch_size=10,
                 verbose=0, **compile_args, **({"output_names": names} if names else {}),
                 callbacks=[tcb.LambdaCallback(on_train_begin=lambda logs: t_events.append("begin"),
                                               on_train_batch_begin=lambda batch, logs: t_events.append("batch"))])
    k_moved = max(float(np.max(np.abs(a - b))) for a, b in zip(model.get_weights(), w0))
    t_moved = max(float((p.detach() - q).abs().max()) for p, q in zip(net.parameters(), t0))
    print(f"{compile_args}, y {type(y).__name__}{sorted(y) if isinstance(y, dict) else ''}, output_names {names}, "
          f"{'list' if as_list else 'dict'} model, eager {eager}:\n  Keras {kerr.value!r} {k_events}, weights moved "
          f"{k_moved:.1e}\n  torch_impl {terr.value!r} {t_events}, weights moved {t_moved:.1e}")
    return kerr.value, terr.value, k_events, t_events, k_moved, t_moved


def _assert_same(result, error=ValueError):
    kerr, terr, k_events, t_events, k_moved, t_moved = result
    assert type(kerr) is error and isinstance(terr, error) and isinstance(terr, ValueError)
    assert terr.args == kerr.args
    assert t_events == k_events == ["begin", "batch"]
    assert t_moved == 0.0


LOSS_WEIGHTS = [  # compile's arguments, y (of x, ya, yb), output_names, a model returning a list
    (dict(loss={"b": "mse"}, loss_weights={"a": 1.0, "b": 0.5}), lambda d: {"b": d[2]}, None, False),
    (dict(loss={"b": "mse"}, loss_weights={"a": 1.0, "b": 0.5}), lambda d: {"b": d[2]}, ["a", "b"], False),
    (dict(loss={"b": "mse"}, loss_weights={"a": 1.0, "b": 0.5}), lambda d: d[2], None, False),
    (dict(loss={"a": "mse", "b": "mse"}, loss_weights={"b": 2.0}), lambda d: {"a": d[1], "b": d[2]}, None, False),
    (dict(loss=["mse", "mse"], loss_weights=[1.0, 2.0, 3.0]), lambda d: [d[1], d[2]], ["a", "b"], True),
]
METRICS = [
    (dict(loss={"b": "mse"}, metrics={"zz": "mae"}), lambda d: {"b": d[2]}, None, False),
    (dict(loss={"a": "mse", "b": "mse"}, metrics={"zz": ["mae"]}), lambda d: {"a": d[1], "b": d[2]}, ["a", "b"],
     False),
    (dict(loss={"a": "mse", "b": "mse"}, metrics={"b": "mae", "zz": "mse"}), lambda d: {"a": d[1], "b": d[2]}, None,
     False),
    (dict(loss={"a": "mse", "b": "mse"}, weighted_metrics={"zz": "mae"}), lambda d: {"a": d[1], "b": d[2]}, None,
     False),
    (dict(loss=["mse", "mse"], metrics={"zz": "mae"}), lambda d: [d[1], d[2]], ["a", "b"], True),
]
STRUCTURES = [
    (dict(loss={"a": "mse", "b": "mse"}, metrics={"a": "mae"}), lambda d: {"b": d[2]}, None, False),
    (dict(loss={"a": "mse", "b": "mse"}), lambda d: {"b": d[2]}, ["a", "b"], False),
    (dict(loss=["mse", "mse"], metrics={"a": "mae"}), lambda d: {"b": d[2]}, ["a", "b"], True),
    (dict(loss=["mse", "mse"]), lambda d: {"b": d[2]}, ["a", "b"], False),
]
ONE_LOSS = [
    (dict(loss="mse"), lambda d: {"b": d[2]}, None, False),
    (dict(loss="mse", metrics={"a": "mae"}), lambda d: {"b": d[2]}, ["a", "b"], False),
    (dict(loss="mse"), lambda d: {"a": d[1]}, ["a", "b"], False),
    (dict(loss="mse"), lambda d: {"b": d[2]}, ["a", "b"], True),
]


def test_first_step_errors_like_keras():
    """One case of each (default suite): 1. ``loss={"b": ...}``, ``loss_weights={"a": ..., "b": ...}`` and ``y``
    for ``b``; 2. ``metrics={"zz": ...}``; 3. a ``loss`` dict naming ``a`` and ``b``, ``y`` for ``b`` alone."""
    data = _heads_data()
    with _precision("float64"):
        for compile_args, make_y, names, as_list in (LOSS_WEIGHTS[0], METRICS[0], STRUCTURES[0]):
            _assert_same(_both_fail(compile_args, make_y(data), names, as_list))


@pytest.mark.slow
@pytest.mark.parametrize("cases", ["LOSS_WEIGHTS", "METRICS", "STRUCTURES"])
def test_more_first_step_errors_like_keras(cases):
    data = _heads_data()
    with _precision("float64"):
        for compile_args, make_y, names, as_list in globals()[cases]:
            result = _both_fail(compile_args, make_y(data), names, as_list)
            _assert_same(result)
            if cases == "METRICS":
                assert "Invalid `" in str(result[1]) and ("dictionary key mismatch" in str(result[1]) or as_list)
            if cases == "STRUCTURES":
                assert str(result[1]).startswith("y_true and y_pred have different structures.")


@pytest.mark.slow
def test_one_loss_and_a_dict_y_of_fewer_outputs_like_keras():
    """One loss for every output, a dict ``y`` without some outputs' labels: Keras's ``KeyError`` for the model's
    first output (``('a',)`` even where ``y`` lacks ``b``; ``(0,)`` for a model returning a list)."""
    data = _heads_data()
    with _precision("float64"):
        for compile_args, make_y, names, as_list in ONE_LOSS:
            result = _both_fail(compile_args, make_y(data), names, as_list)
            _assert_same(result, KeyError)
            assert "can't be found in either the model's output" in str(result[1])


@pytest.mark.slow
def test_loss_weights_dict_of_other_keys_paired_like_keras():
    """A ``loss_weights`` dict of other keys than the ``loss`` dict but as long: Keras pairs them flat, in each
    one's sorted keys' order, and trains (torch_impl raised at set-up)."""
    x, ya, yb, _, _ = _heads_data()
    with _precision("float64"):
        for y, compile_args in (({"b": yb}, dict(loss={"b": "mse"}, loss_weights={"a": 2.0})),
                                ({"a": ya, "b": yb}, dict(loss={"a": "mse", "b": "mae"},
                                                          loss_weights={"a": 1.0, "c": 3.0}))):
            kh, th = _heads_fit_both("ab", False, y, compile_args, names=False)
            print(f"{compile_args}: keys {sorted(kh)}, max abs diff {_max_abs(th, kh):.1e}")
            assert sorted(th) == sorted(kh)
            _check_history(th, kh, "float64")
            assert _max_abs(th, kh) < 1e-13


@pytest.mark.slow
def test_metrics_errors_before_the_update_as_keras_default_step():
    """Keras's default (traced) step raises its metrics' errors before any update; ``run_eagerly=True`` applies the
    first step's update first. torch_impl raises before its update (as the default step)."""
    data = _heads_data()
    with _precision("float64"):
        for compile_args, y in ((dict(loss={"b": "mse"}, metrics={"b": ["mae"]}), {"b": data[2]}),
                                (METRICS[0][0], {"b": data[2]})):
            traced = _both_fail(compile_args, y, eager=False)
            eager = _both_fail(compile_args, y, eager=True)
            for kerr, terr, k_events, t_events, k_moved, t_moved in (traced, eager):
                assert type(kerr) is type(terr) or isinstance(terr, type(kerr))
                assert terr.args == kerr.args and t_events == k_events == ["begin", "batch"] and t_moved == 0.0
            assert traced[4] == 0.0 and eager[4] > 1e-2  # Keras: traced, no update; eager, the update first

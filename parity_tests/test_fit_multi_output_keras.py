"""Keras models of several outputs, trained by Keras 3.15.1 and by ``torch_impl.fit`` as a user would port them.

The Keras scripts: ``keras.Model(inp, [out_a, out_b])`` or ``keras.Model(inp, {"a": ..., "b": ...})``,
``compile(loss=[...] / {...} / one loss, loss_weights=..., metrics=[[...], [...]] / {...})``, ``fit(x, [ya, yb])``
or ``fit(x, {"a": ya, ...})`` with per-output ``sample_weight``, ``validation_split`` / ``validation_data``,
``EarlyStopping`` on a per-output validation loss, ``evaluate(return_dict=True)`` and ``predict``. The ports: a torch
model returning a list (named with ``output_names=``, Keras's output layers' names) or a dict of logits, with
``output_activation`` per output.

1. a two-head classifier/regressor (softmax + sparse crossentropy, linear + mse), an L2-regularized shared layer,
   ``loss_weights=[1.0, 0.2]``, per-output metrics and weighted metrics, ``validation_split`` (float64, float32);
2. dict outputs, ``loss`` / ``loss_weights`` / metrics as dicts, ``sample_weight`` as a dict, ``validation_data``
   with per-output sample weights, ``EarlyStopping(monitor="val_a_loss", mode="min", restore_best_weights=True)``;
3. one loss for two outputs, named outputs and unnamed ones (Keras's subclassed model: the per-output loss is
   named after the loss, ``mse_loss``, once for both outputs, and the metrics carry no output name);
4. ``evaluate`` (Keras's ``return_dict=True``) and ``predict`` (a list, a dict);
5. the per-output losses' batch means (unweighted, below), checked against the batch values themselves;
6. the errors: losses and outputs that do not match, unknown names, ``class_weight`` with several outputs;
7. ``y`` as a list for a model returning a dict (its keys sorted, whatever ``output_names``; logs named by the keys;
   measured within 3.7e-16), and Keras's TypeError on ``sample_weight`` with such a list ``y``;
8. two outputs of one layer (``output_names`` repeated): Keras's keys (``split_mse``, ``split_mse_1``, one
   ``split_loss``) and values, histories and ``evaluate`` (dict and list) within 3.2e-16;
9. ``y`` only for the outputs with a loss (a ``loss`` dict naming fewer outputs, a list with ``None``; one array
   or a shorter list; with ``class_weight``): Keras's loss placement and its metrics' zip, Keras's ``KeyError`` for
   one loss; ``sample_weight=[w, None]``; a model returning a dict of one output with ``y`` one array; the same
   without ``output_names`` for a model returning a dict (its keys in any order; one array, a list, a dict ``y``),
   and Keras's errors there (``TypeError`` for listed weights, ``KeyError`` for a dict ``y`` with metrics, at the
   first step also where the metrics name an output ``y`` lacks or ``output_names`` are given); a dict ``y`` for a
   ``loss`` dict's outputs with ``output_names`` trains as Keras's.

Keras's rules these pin (``keras/src/trainers/compile_utils.py``): ``loss`` is ``sum(w_i * loss_i)`` plus the
regularization penalties once, averaged over the batches weighted by their sizes; each ``<name>_loss`` is the
unweighted loss of one output averaged over the batches *unweighted* (its tracker's ``sample_weight`` is the
batch dimension of the traced step, unknown, so ``None``): with a partial last batch the logged per-output losses
do not add up to ``loss``. Metrics are logged as ``<name>_<metric>`` (``<name>_weighted_<metric>`` for a weighted
metric whose name is taken).

Standards (DESIGN.md): float64 histories within 1e-8 relative every epoch, float32 within 1e-3; the same history
keys. Measured: float64 histories within 4.2e-16 every epoch, float32 within 1.8e-7, ``evaluate`` within
2.6e-16 and predictions within 8.9e-16 (float64).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402

from parity_tests.test_field_scripts_round2 import F64, _check_history, _precision, _rel  # noqa: E402
from torch_impl import callbacks as tcb  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl.nn import load_keras_weights  # noqa: E402
from torch_impl.regularizers import L2, regularize  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

DTYPES = ["float64", pytest.param("float32", marks=pytest.mark.slow)]


def _data(n: int, seed: int):
    """Six features; a 3-class label from two of them (with label noise) and a noisy regression target."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    ya = (x[:, 0] + 0.8 * rng.normal(size=n) > 0).astype(np.int64) + (x[:, 1] > 1)
    yb = 2 * x[:, 2:3] - x[:, 3:4] + rng.normal(size=(n, 1))
    return x, ya, yb


class _TwoHead(torch.nn.Module):
    """Shared ``Dense(16, relu, kernel_regularizer=L2(0.01))``, a 3-class head (logits) and a regression head, in
    Keras's layer order; returns ``[logits, regression]`` (or a dict keyed ``"a"``, ``"b"``)."""

    def __init__(self, as_dict: bool = False, l2: float = 0.0):
        super().__init__()
        self.shared = torch.nn.Linear(6, 16)
        if l2:
            regularize(self.shared, kernel_regularizer=L2(l2))
        self.a, self.b = torch.nn.Linear(16, 3), torch.nn.Linear(16, 1)
        self.as_dict = as_dict

    def forward(self, x):
        h = torch.relu(self.shared(x))
        return {"a": self.a(h), "b": self.b(h)} if self.as_dict else [self.a(h), self.b(h)]


def _keras_two_head(names=("cls", "reg"), as_dict: bool = False, l2: float = 0.0):
    inp = keras.Input((6,))
    h = layers.Dense(16, activation="relu", kernel_regularizer=keras.regularizers.L2(l2) if l2 else None)(inp)
    a = layers.Dense(3, activation="softmax", name=names[0])(h)
    b = layers.Dense(1, name=names[1])(h)
    return keras.Model(inp, {names[0]: a, names[1]: b} if as_dict else [a, b])


# --------------------------------------------------------------------------------------------------------------
# 1. two heads, list outputs
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", DTYPES)
def test_two_head_list_outputs_like_keras(dt):
    """90 samples, ``validation_split=0.2``: 72 to train in batches of 16 (the last one of 8, so the per-output
    losses are Keras's unweighted batch means), 18 to validate (a batch of 16 and one of 2)."""
    x, ya, yb = _data(90, seed=0)
    x, yb = x.astype(dt), yb.astype(dt)
    compile_args = dict(loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.2],
                        metrics=[["accuracy"], ["mae", "mse"]], weighted_metrics=[["accuracy"], []])
    with _precision(dt):
        keras.utils.set_random_seed(0)
        model = _keras_two_head(l2=0.01)
        net = load_keras_weights(_TwoHead(l2=0.01), model.get_weights())
        model.compile(optimizer=keras.optimizers.Adam(0.01), **compile_args)
        kh = model.fit(x, [ya, yb], batch_size=16, epochs=6, validation_split=0.2, shuffle=False, verbose=0).history
        th = tfit.fit(net, x, [ya, yb], optimizer=optim.Adam(net.parameters(), learning_rate=0.01),
                      output_names=["cls", "reg"], output_activation=["softmax", None], batch_size=16, epochs=6,
                      validation_split=0.2, shuffle=False, verbose=0, **compile_args).history
    print(f"two heads, list outputs, {dt}: keys {sorted(kh)}")
    assert sorted(th) == sorted(kh) == sorted(
        ["loss", "cls_loss", "reg_loss", "cls_accuracy", "cls_weighted_accuracy", "reg_mae", "reg_mse"]
        + ["val_loss", "val_cls_loss", "val_reg_loss", "val_cls_accuracy", "val_cls_weighted_accuracy",
           "val_reg_mae", "val_reg_mse"])
    _check_history(th, kh, dt)
    gap = kh["loss"][0] - (kh["cls_loss"][0] + 0.2 * kh["reg_loss"][0])
    print(f"  epoch 1: loss - (cls_loss + 0.2 reg_loss) = {gap:.3e} (the L2 penalty, and the per-output losses' "
          "unweighted batch means)")


def test_per_output_losses_are_unweighted_batch_means_like_keras():
    """Keras's ``<name>_loss`` trackers get ``sample_weight=y_pred.shape[0]``, which is ``None`` inside the traced
    train step (the batch dimension is unknown): each batch counts once, a partial last batch as much as a full one,
    while ``loss`` weighs the batches by their sizes. Without training (SGD at rate 0) and without penalties, 40
    samples in batches of 16, 16 and 8: ``loss`` is the weighted sum over all samples and ``cls_loss`` the mean of the
    three batch values, on both sides."""
    x, ya, yb = _data(40, seed=10)
    with _precision("float64"):
        keras.utils.set_random_seed(11)
        model = _keras_two_head()
        net = load_keras_weights(_TwoHead(), model.get_weights())
        model.compile(optimizer=keras.optimizers.SGD(0.0), loss=["sparse_categorical_crossentropy", "mse"])
        kh = model.fit(x, [ya, yb], batch_size=16, epochs=1, shuffle=False, verbose=0).history
        th = tfit.fit(net, x, [ya, yb], optimizer=optim.SGD(net.parameters(), learning_rate=0.0),
                      loss=["sparse_categorical_crossentropy", "mse"], output_names=["cls", "reg"],
                      output_activation=["softmax", None], batch_size=16, epochs=1, shuffle=False, verbose=0).history
        probs = model.predict(x, verbose=0)[0]
    per_sample = -np.log(probs[np.arange(40), ya])
    batches = [per_sample[i:i + 16].mean() for i in range(0, 40, 16)]
    print(f"cls_loss: Keras {kh['cls_loss'][0]:.12f}, torch_impl {th['cls_loss'][0]:.12f}; mean of the batch values "
          f"{np.mean(batches):.12f}, of the samples {per_sample.mean():.12f}")
    assert kh["cls_loss"][0] == pytest.approx(np.mean(batches), rel=1e-12)
    assert abs(np.mean(batches) - per_sample.mean()) > 1e-4
    _check_history(th, kh, "float64")


# --------------------------------------------------------------------------------------------------------------
# 2. dict outputs, per-output sample weights, EarlyStopping on a per-output validation loss
# --------------------------------------------------------------------------------------------------------------


def test_dict_outputs_sample_weights_and_early_stopping_like_keras():
    x, ya, yb = _data(60, seed=1)
    xv, yav, ybv = _data(30, seed=2)
    rng = np.random.default_rng(3)
    sw = {"a": rng.uniform(0.2, 1.5, 60), "b": rng.uniform(0.5, 1.0, 60)}
    val_sw = {"a": rng.uniform(0.2, 1.5, 30), "b": np.ones(30)}
    compile_args = dict(loss={"a": "sparse_categorical_crossentropy", "b": "mse"}, loss_weights={"a": 1.0, "b": 0.3},
                        metrics={"b": ["mae"]}, weighted_metrics={"a": ["accuracy"], "b": ["mse"]})
    epochs = 40
    with _precision("float64"):
        keras.utils.set_random_seed(2)
        model = _keras_two_head(names=("a", "b"), as_dict=True)
        net = load_keras_weights(_TwoHead(as_dict=True), model.get_weights())
        model.compile(optimizer=keras.optimizers.Adam(0.05), **compile_args)
        kh = model.fit(x, {"a": ya, "b": yb}, sample_weight=sw, batch_size=16, epochs=epochs, shuffle=False,
                       validation_data=(xv, {"a": yav, "b": ybv}, val_sw), verbose=0,
                       callbacks=[keras.callbacks.EarlyStopping(monitor="val_a_loss", mode="min", patience=2,
                                                                restore_best_weights=True)]).history
        th = tfit.fit(net, x, {"a": ya, "b": yb}, sample_weight=sw,
                      optimizer=optim.Adam(net.parameters(), learning_rate=0.05),
                      output_activation={"a": "softmax"}, batch_size=16, epochs=epochs, shuffle=False,
                      validation_data=(xv, {"a": yav, "b": ybv}, val_sw), verbose=0,
                      callbacks=[tcb.EarlyStopping(monitor="val_a_loss", mode="min", patience=2,
                                                   restore_best_weights=True)], **compile_args).history
        k_pred = model.predict(xv, verbose=0)
        t_pred = tfit.predict(net, xv, output_activation={"a": "softmax"})
    print(f"dict outputs: EarlyStopping on val_a_loss stopped Keras after {len(kh['loss'])} of {epochs} epochs, "
          f"torch_impl after {len(th['loss'])}; keys {sorted(kh)}")
    assert len(th["loss"]) == len(kh["loss"]) < epochs
    assert sorted(th) == sorted(kh)
    assert {"a_loss", "b_loss", "a_accuracy", "b_mae", "b_mse", "val_a_loss", "val_b_mse"} <= set(kh)
    _check_history(th, kh, "float64")
    assert isinstance(t_pred, dict) and list(t_pred) == list(k_pred)
    worst = max(float(np.max(np.abs(t_pred[k] - k_pred[k]))) for k in k_pred)
    print(f"  predictions of the restored best weights within {worst:.1e}")
    assert worst <= 1e-12


def test_early_stopping_auto_mode_on_an_output_loss_raises_like_keras():
    """Keras's ``mode="auto"`` looks the monitored name up among the metric objects, whose names carry no output
    name: ``val_a_loss`` (and ``val_a_accuracy``) is found nowhere, and both sides ask for ``mode``."""
    x, ya, yb = _data(20, seed=4)
    data = dict(x=x, y={"a": ya, "b": yb}, validation_data=(x, {"a": ya, "b": yb}), epochs=1, verbose=0)
    loss = {"a": "sparse_categorical_crossentropy", "b": "mse"}
    with _precision("float64"):
        model = _keras_two_head(names=("a", "b"), as_dict=True)
        model.compile(optimizer="sgd", loss=loss)
        with pytest.raises(ValueError, match="isn't able to automatically determine") as k_err:
            model.fit(callbacks=[keras.callbacks.EarlyStopping(monitor="val_a_loss")], **data)
        net = _TwoHead(as_dict=True)
        with pytest.raises(ValueError, match="isn't able to automatically determine") as t_err:
            tfit.fit(net, optimizer="sgd", loss=loss, callbacks=[tcb.EarlyStopping(monitor="val_a_loss")], **data)
    print(f"Keras: {str(k_err.value)[:90]}...\ntorch_impl: {str(t_err.value)[:90]}...")


# --------------------------------------------------------------------------------------------------------------
# 3. one loss for two outputs
# --------------------------------------------------------------------------------------------------------------


class _TwoRegressions(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.shared, self.o1, self.o2 = torch.nn.Linear(6, 16), torch.nn.Linear(16, 1), torch.nn.Linear(16, 1)

    def forward(self, x):
        h = torch.tanh(self.shared(x))
        return self.o1(h), self.o2(h)


class _KerasTwoRegressions(keras.Model):
    """The same model subclassed: Keras knows no output names."""

    def __init__(self):
        super().__init__(name="two_regressions")
        self.shared, self.o1, self.o2 = layers.Dense(16, activation="tanh"), layers.Dense(1), layers.Dense(1)

    def call(self, x):
        h = self.shared(x)
        return [self.o1(h), self.o2(h)]


@pytest.mark.parametrize("named", [True, False], ids=["functional", "subclassed"])
def test_one_loss_for_two_outputs_like_keras(named):
    """``loss="mse"`` for both outputs, ``metrics=[["mae"], ["mae"]]``. Named outputs log ``o1_loss``, ``o2_loss``,
    ``o1_mae``, ``o2_mae``. Without names (a subclassed Keras model; a torch model without ``output_names``) Keras
    names each output's loss after the loss, so both are ``mse_loss`` and the log keeps the second output's, and
    the metrics are ``mae`` and ``mae_1``."""
    x, _, _ = _data(50, seed=5)
    y1, y2 = x[:, :1] - x[:, 1:2], np.sin(x[:, 2:3])
    with _precision("float64"):
        keras.utils.set_random_seed(4)
        if named:
            inp = keras.Input((6,))
            h = layers.Dense(16, activation="tanh")(inp)
            model = keras.Model(inp, [layers.Dense(1, name="o1")(h), layers.Dense(1, name="o2")(h)])
        else:
            model = _KerasTwoRegressions()
            model(x[:1])
        net = load_keras_weights(_TwoRegressions(), model.get_weights())
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=[["mae"], ["mae"]])
        kh = model.fit(x, [y1, y2], batch_size=16, epochs=4, shuffle=False, verbose=0).history
        th = tfit.fit(net, x, [y1, y2], optimizer=optim.SGD(net.parameters(), learning_rate=0.05), loss="mse",
                      metrics=[["mae"], ["mae"]], output_names=["o1", "o2"] if named else None, batch_size=16,
                      epochs=4, shuffle=False, verbose=0).history
    print(f"one loss for two outputs ({'named' if named else 'unnamed'}): keys {sorted(kh)}")
    assert sorted(th) == sorted(kh) == (["loss", "o1_loss", "o1_mae", "o2_loss", "o2_mae"] if named
                                        else ["loss", "mae", "mae_1", "mse_loss"])
    _check_history(th, kh, "float64")


# --------------------------------------------------------------------------------------------------------------
# 4. evaluate and predict
# --------------------------------------------------------------------------------------------------------------


def test_evaluate_and_predict_several_outputs_like_keras():
    """Untrained two-head model, 70 samples in batches of 32 (a partial last batch), per-output sample weights as a
    list; ``evaluate`` as Keras's ``return_dict=True``; ``predict`` a list of arrays, one per output."""
    x, ya, yb = _data(70, seed=6)
    rng = np.random.default_rng(7)
    sw = [rng.uniform(0.1, 2.0, 70), rng.uniform(0.5, 1.0, 70)]
    compile_args = dict(loss=["sparse_categorical_crossentropy", "mae"], loss_weights=[0.5, 2.0],
                        metrics=[["accuracy", "sparse_categorical_crossentropy"], ["mse"]],
                        weighted_metrics=[["accuracy"], ["mse"]])
    with _precision("float64"):
        keras.utils.set_random_seed(8)
        model = _keras_two_head(l2=0.05)
        net = load_keras_weights(_TwoHead(l2=0.05), model.get_weights())
        model.compile(optimizer="adam", **compile_args)
        k_eval = model.evaluate(x, [ya, yb], sample_weight=sw, batch_size=32, return_dict=True, verbose=0)
        t_eval = tfit.evaluate(net, x, [ya, yb], sample_weight=sw, batch_size=32, output_names=["cls", "reg"],
                               output_activation=["softmax", None], **compile_args)
        k_pred = model.predict(x, verbose=0)
        t_pred = tfit.predict(net, x, output_activation=["softmax", None])
    print(f"evaluate: Keras {k_eval}\n  torch_impl {t_eval}")
    assert sorted(t_eval) == sorted(k_eval)
    assert "cls_weighted_accuracy" in k_eval and "reg_weighted_mse" in k_eval
    worst = max(_rel(t_eval[k], k_eval[k]) for k in k_eval)
    print(f"  max rel {worst:.1e}")
    assert worst <= F64
    assert isinstance(t_pred, list) and len(t_pred) == 2
    err = [float(np.max(np.abs(t - k))) for t, k in zip(t_pred, k_pred)]
    print(f"predict: a list of {[p.shape for p in t_pred]}, within {max(err):.1e}")
    assert max(err) <= 1e-13


# --------------------------------------------------------------------------------------------------------------
# 5. errors
# --------------------------------------------------------------------------------------------------------------


def _fit_two_head(**kwargs):
    x, ya, yb = _data(12, seed=9)
    args = dict(optimizer="sgd", loss=["sparse_categorical_crossentropy", "mse"], epochs=1, verbose=0,
                output_names=["cls", "reg"])
    args.update(kwargs)
    y = args.pop("y", [ya, yb])
    return tfit.fit(_TwoHead(as_dict=args.pop("as_dict", False)), x, y, **args)


def test_losses_that_do_not_match_the_outputs_raise():
    x, ya, yb = _data(12, seed=9)
    for loss in (["sparse_categorical_crossentropy", "mse", "mse"], ["sparse_categorical_crossentropy"]):
        with pytest.raises(ValueError, match=rf"`loss` has {len(loss)} entries for a model of 2 outputs"):
            _fit_two_head(loss=loss)
    with pytest.raises(ValueError, match="The model returns 2 outputs, and y has 3 per-output arrays"):
        _fit_two_head(y=[ya, yb, yb], loss="mse", output_names=None)
    with pytest.raises(ValueError, match="`loss_weights` must match the number of losses, got 2 losses and 3"):
        _fit_two_head(loss_weights=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="`metrics` has 1 entries for a model of 2 outputs"):
        _fit_two_head(metrics=["accuracy"])
    with pytest.raises(ValueError, match="y is one array"):
        tfit.fit(_TwoHead(), x, ya, optimizer="sgd", loss=["mse", "mse"], verbose=0)


def test_unknown_output_names_raise():
    x, ya, yb = _data(12, seed=9)
    with pytest.raises(ValueError, match=r"`loss` names outputs \['zz'\] the model does not have; its outputs: "
                                         r"\['cls', 'reg'\]"):
        _fit_two_head(loss={"cls": "sparse_categorical_crossentropy", "zz": "mse"})
    with pytest.raises(ValueError, match=r"Expected keys \['cls', 'reg'\] in loss dict"):  # Keras's message
        _fit_two_head(loss={"cls": "sparse_categorical_crossentropy"})
    with pytest.raises(ValueError, match=r"Invalid `metrics`"):  # Keras's, at the first step (test_metrics_key_...)
        _fit_two_head(metrics={"zz": ["mae"]})
    with pytest.raises(ValueError, match=r"`y` names outputs \['zz'\]"):
        _fit_two_head(y={"cls": ya, "zz": yb})
    with pytest.raises(ValueError, match=r"The model returns the outputs \['a', 'b'\]"):
        _fit_two_head(as_dict=True, y={"cls": ya, "reg": yb})  # named cls/reg, returns a/b
    # a list y follows the returned dict's keys instead, as Keras's (test_list_y_for_dict_outputs_like_keras)
    assert sorted(_fit_two_head(as_dict=True).history) == ["a_loss", "b_loss", "loss"]
    with pytest.raises(ValueError, match="the outputs have no names"):
        _fit_two_head(output_names=None, metrics={"cls": ["accuracy"]})


def test_one_loss_with_a_weight_per_output_raises_like_keras():
    msg = "`loss_weights` must match the number of losses, got 1 losses and 2 weights."
    x, ya, yb = _data(12, seed=9)
    with _precision("float64"):
        model = _keras_two_head()
        model.compile(optimizer="sgd", loss="mse", loss_weights=[1.0, 0.5])
        with pytest.raises(ValueError, match=msg):
            model.fit(x, [ya.reshape(-1, 1).astype(float), yb], epochs=1, verbose=0)
    with pytest.raises(ValueError, match=msg):
        _fit_two_head(loss="mse", loss_weights=[1.0, 0.5])


def test_class_weight_with_several_outputs_raises_like_keras():
    msg = "`class_weight` is only supported for Models with a single output."
    x, ya, yb = _data(12, seed=9)
    with _precision("float64"):
        model = _keras_two_head()
        model.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy", "mse"])
        with pytest.raises(ValueError, match=msg):
            model.fit(x, [ya, yb], class_weight={0: 1.0, 1: 2.0, 2: 1.0}, epochs=1, verbose=0)
    for y in ([ya, yb], {"cls": ya, "reg": yb}):
        with pytest.raises(ValueError, match=msg):
            _fit_two_head(y=y, class_weight={0: 1.0, 1: 2.0, 2: 1.0})


# --------------------------------------------------------------------------------------------------------------
# 7. evaluate(return_dict=False): Keras's default return, in Keras's order
# --------------------------------------------------------------------------------------------------------------


def test_evaluate_list_return_in_keras_order():
    """``loss, acc = model.evaluate(x, y)``: Keras returns a list ordered by ``model.metrics_names`` (the compiled
    metrics by their own names, metrics before weighted metrics, the per-output losses), then the other keys sorted,
    and the loss alone as a float. Three compiles: two heads with per-output metrics, one output with a weighted
    metric whose logged name is taken (Keras's list then repeats the unweighted value), the loss alone."""
    x, ya, yb = _data(40, seed=3)
    cases = [
        (dict(loss=["sparse_categorical_crossentropy", "mse"], metrics=[["accuracy"], ["mae", "mse"]],
              weighted_metrics=[["accuracy"], []]), True),
        (dict(loss="sparse_categorical_crossentropy", metrics=["accuracy", "sparse_categorical_crossentropy"],
              weighted_metrics=["accuracy"]), False),
        (dict(loss="sparse_categorical_crossentropy"), False),
    ]
    with _precision("float64"):
        for compile_args, two in cases:
            keras.utils.set_random_seed(1)
            if two:
                model = _keras_two_head()
                net = load_keras_weights(_TwoHead(), model.get_weights())
                y, kw = [ya, yb], dict(output_names=["cls", "reg"], output_activation=["softmax", None])
            else:
                model = keras.Sequential([keras.Input((6,)), layers.Dense(3, activation="softmax")])
                net = load_keras_weights(torch.nn.Linear(6, 3), model.get_weights())
                y, kw = ya, dict(output_activation="softmax")
            model.compile(optimizer="adam", **compile_args)
            k_list = model.evaluate(x, y, batch_size=16, verbose=0)
            t_list = tfit.evaluate(net, x, y, batch_size=16, return_dict=False, **kw, **compile_args)
            k_dict = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
            print(f"  {sorted(k_dict)}: Keras {np.round(k_list, 6).tolist()}, ours {np.round(t_list, 6).tolist()}")
            assert type(t_list) is type(k_list)
            assert np.shape(t_list) == np.shape(k_list)
            assert _rel(t_list, k_list) < 1e-12
    with pytest.raises(ValueError, match="verbose"):
        tfit.evaluate(net, x, y, loss="mse", verbose=3)


def test_evaluate_and_predict_verbose_like_keras(capsys):
    """``verbose=`` as Keras's scripts pass it: 0 prints nothing, 2 Keras's one line of logs (with its time)."""
    net = torch.nn.Linear(6, 3).double()
    x, ya, _ = _data(20, seed=4)
    tfit.evaluate(net, x, ya, loss="sparse_categorical_crossentropy", output_activation="softmax", verbose=0)
    tfit.predict(net, x, verbose=0)
    assert capsys.readouterr().out == ""
    logs = tfit.evaluate(net, x, ya, loss="sparse_categorical_crossentropy", output_activation="softmax",
                         batch_size=8, verbose=2)
    out = capsys.readouterr().out
    print(out)
    assert out.strip().startswith("3/3 - ") and out.strip().endswith(f"/step - loss: {logs['loss']:.4f}")
    assert tfit.predict(net, x, verbose="auto").shape == (20, 3)


def test_dict_outputs_named_apart_from_output_names_like_keras():
    """A functional model returning ``{"a": Dense(3, name="cls"), "b": Dense(1, name="reg")}``: its
    ``output_names`` are the layers' names (``["cls", "reg"]``), not the dict's keys. Keras's ``CompileMetrics``
    then names the outputs by the keys (sorted; ``compile_utils.py`` ``CompileMetrics.build``) and ``CompileLoss``
    follows the dict: losses, metrics, ``y`` and the logs keyed ``a``/``b``. The port passes the model's
    ``output_names`` as they are. A model returning a list with ``y`` keyed apart from its ``output_names``: Keras
    raises (TypeError inside ``CompileLoss``), torch_impl ``ValueError``."""
    x, ya, yb = _data(40, seed=7)
    compile_args = dict(loss={"a": "sparse_categorical_crossentropy", "b": "mse"}, metrics={"a": ["accuracy"],
                                                                                            "b": ["mae"]})
    with _precision("float64"):
        keras.utils.set_random_seed(5)
        inp = keras.Input((6,))
        h = layers.Dense(16, activation="relu")(inp)
        model = keras.Model(inp, {"a": layers.Dense(3, activation="softmax", name="cls")(h),
                                  "b": layers.Dense(1, name="reg")(h)})
        names = list(model.output_names)
        net = load_keras_weights(_TwoHead(as_dict=True), model.get_weights())
        model.compile(optimizer=keras.optimizers.SGD(0.1), **compile_args)
        kh = model.fit(x, {"a": ya, "b": yb}, batch_size=16, epochs=3, shuffle=False, verbose=0).history
        th = tfit.fit(net, x, {"a": ya, "b": yb}, optimizer=optim.SGD(net.parameters(), learning_rate=0.1),
                      output_names=names, output_activation={"a": "softmax"}, batch_size=16, epochs=3,
                      shuffle=False, verbose=0, **compile_args).history
        ke = model.evaluate(x, {"a": ya, "b": yb}, batch_size=16, verbose=0, return_dict=True)
        te = tfit.evaluate(net, x, {"a": ya, "b": yb}, output_names=names, output_activation={"a": "softmax"},
                           batch_size=16, **compile_args)
        listed = keras.Model(inp, [model.get_layer("cls").output, model.get_layer("reg").output])
        listed.compile(optimizer="sgd", loss="mse")
        with pytest.raises((TypeError, ValueError)):
            listed.evaluate(x, {"a": ya, "b": yb}, verbose=0)
    print(f"dict outputs {{'a', 'b'}}, output_names {names}: keys {sorted(kh)}, ours {sorted(th)}; evaluate "
          f"within {max(abs(te[k] - ke[k]) for k in ke):.1e}")
    assert names == ["cls", "reg"]
    assert sorted(th) == sorted(kh) == ["a_accuracy", "a_loss", "b_loss", "b_mae", "loss"]
    _check_history(th, kh, "float64")
    assert sorted(te) == sorted(ke) and max(abs(te[k] - ke[k]) for k in ke) <= 1e-12
    with pytest.raises(ValueError, match=r"`y` names outputs \['a', 'b'\] the model does not have"):
        tfit.evaluate(_TwoHead(), x, {"a": ya, "b": yb}, output_names=names, loss="mse")


class _KeyedApart(torch.nn.Module):
    """Shared ``Dense(16, relu)``, then ``cls`` and ``reg`` heads (Keras's layer order: the outputs' flat, sorted
    key order); returns ``{"zb": reg, "a": cls logits}``: keys in unsorted order, named apart from the output
    layers' names."""

    def __init__(self):
        super().__init__()
        self.shared, self.cls, self.reg = torch.nn.Linear(6, 16), torch.nn.Linear(16, 3), torch.nn.Linear(16, 1)

    def forward(self, x):
        h = torch.relu(self.shared(x))
        return {"zb": self.reg(h), "a": self.cls(h)}


def test_predict_dict_outputs_named_apart_from_output_names_like_keras():
    """Keras 3.15.1's ``predict`` of a functional model returning ``{"zb": Dense(1, name="reg"), "a": Dense(3,
    softmax, name="cls")}`` (``output_names`` ``["cls", "reg"]``, the layers' names in the keys' sorted order): a
    dict of arrays keyed by the model's keys, in the model's order (``zb``, ``a``), as its call returns them. The
    port, given the model's ``output_names`` (or carrying them as an attribute), returns the same dict; its
    ``output_activation`` is keyed by the dict's keys (or a list in their sorted order), as ``fit``'s."""
    x, _, _ = _data(37, seed=11)
    with _precision("float64"):
        keras.utils.set_random_seed(6)
        inp = keras.Input((6,))
        h = layers.Dense(16, activation="relu")(inp)
        model = keras.Model(inp, {"zb": layers.Dense(1, name="reg")(h),
                                  "a": layers.Dense(3, activation="softmax", name="cls")(h)})
        names = list(model.output_names)
        k_pred = model.predict(x, batch_size=8, verbose=0)
        net = load_keras_weights(_KeyedApart(), model.get_weights())
        t_by_arg = tfit.predict(net, x, batch_size=8, output_names=names, output_activation={"a": "softmax"})
        net.output_names = names  # a port carrying Keras's output_names as an attribute
        t_by_attr = tfit.predict(net, x, batch_size=8, output_activation=["softmax", None])
    worst = max(_rel(t[k], k_pred[k]) for t in (t_by_arg, t_by_attr) for k in k_pred)
    print(f"  output_names {names}: Keras predict keys {list(k_pred)}, ours {list(t_by_arg)}, {list(t_by_attr)}; "
          f"max rel {worst:.1e}")
    assert names == ["cls", "reg"] and list(k_pred) == ["zb", "a"]
    for t in (t_by_arg, t_by_attr):
        assert type(t) is dict and list(t) == list(k_pred)
        assert all(t[k].shape == k_pred[k].shape and t[k].dtype == k_pred[k].dtype for k in k_pred)
    assert worst <= 1e-12
    assert np.allclose(k_pred["a"].sum(1), 1.0)  # the softmax applied to "a" only


# --------------------------------------------------------------------------------------------------------------
# y as a list for a model returning a dict
# --------------------------------------------------------------------------------------------------------------


def _keras_keyed_apart():
    """``{"a": Dense(3, softmax, name="zz_cls"), "b": Dense(1, name="aa_reg")}``: ``output_names``
    ``["zz_cls", "aa_reg"]`` (the layers' names in the keys' sorted order), which sort apart from the keys."""
    inp = keras.Input((6,))
    h = layers.Dense(16, activation="relu")(inp)
    a = layers.Dense(3, activation="softmax", name="zz_cls")(h)
    return keras.Model(inp, {"a": a, "b": layers.Dense(1, name="aa_reg")(h)})


@pytest.mark.parametrize("args", ["dicts", "lists"])
def test_list_y_for_dict_outputs_like_keras(args):
    """Keras 3.15.1 takes ``y`` (and ``validation_data``'s ``y``) as a list for a model returning a dict, in the
    order of its flattened outputs, the keys sorted (``CompileLoss.call`` packs ``y_true`` into ``y_pred``'s
    structure, ``compile_utils.py:756``; ``CompileMetrics.build`` flattens a dict ``y_pred`` by its sorted keys,
    ``compile_utils.py:198``), not in the order of ``output_names`` sorted (``aa_reg`` before ``zz_cls``): the logs
    keyed by the dict's keys, as with a dict ``y``. The port: ``output_names`` given (``dicts``) or not (``lists``,
    as a subclassed model's port); ``loss`` / ``loss_weights`` / ``metrics`` / ``output_activation`` as dicts keyed
    by the model's keys or as lists in their sorted order. Keras runs eagerly on batches of equal size."""
    x, ya, yb = _data(64, seed=21)
    xv, yav, ybv = _data(16, seed=22)
    if args == "dicts":
        compile_args = dict(loss={"b": "mse", "a": "sparse_categorical_crossentropy"},
                            loss_weights={"a": 1.0, "b": 0.3},
                            metrics={"a": ["accuracy"], "b": ["mae"]})
        port = dict(output_activation={"a": "softmax"})
    else:
        compile_args = dict(loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.3],
                            metrics=[["accuracy"], ["mae"]], weighted_metrics=[[], ["mse"]])
        port = dict(output_activation=["softmax", None])
    with _precision("float64"):
        keras.utils.set_random_seed(8)
        model = _keras_keyed_apart()
        names = list(model.output_names)
        net = load_keras_weights(_TwoHead(as_dict=True), model.get_weights())
        if args == "dicts":
            port["output_names"] = names
        model.compile(optimizer=keras.optimizers.SGD(0.1), run_eagerly=True, **compile_args)
        kh = model.fit(x, [ya, yb], batch_size=16, epochs=2, shuffle=False, validation_split=0.25, verbose=0).history
        kh2 = model.fit(x, [ya, yb], batch_size=16, epochs=1, shuffle=False, validation_data=(xv, [yav, ybv]),
                        verbose=0).history
        ke = model.evaluate(x, [ya, yb], batch_size=16, verbose=0, return_dict=True)
        opt = optim.SGD(net.parameters(), learning_rate=0.1)
        th = tfit.fit(net, x, [ya, yb], optimizer=opt, batch_size=16, epochs=2, shuffle=False, validation_split=0.25,
                      verbose=0, **port, **compile_args).history
        th2 = tfit.fit(net, x, [ya, yb], optimizer=opt, batch_size=16, epochs=1, shuffle=False,
                       validation_data=(xv, [yav, ybv]), verbose=0, **port, **compile_args).history
        te = tfit.evaluate(net, x, [ya, yb], batch_size=16, **port, **compile_args)
    d = max(_rel(t[k], k_[k]) for t, k_ in ((th, kh), (th2, kh2), (te, ke)) for k in k_)
    print(f"list y, dict outputs {{'a', 'b'}}, output_names {names}, {args}: keys {list(kh)}; histories and "
          f"evaluate within rel {d:.1e}")
    assert names == ["zz_cls", "aa_reg"]
    assert {"a_loss", "b_loss", "a_accuracy", "b_mae", "val_a_accuracy", "val_b_loss"} <= set(kh)
    assert list(th) == list(kh) and list(th2) == list(kh2) and list(te) == list(ke)
    assert d < 1e-12


def test_list_y_for_dict_outputs_errors_like_keras():
    """Keras 3.15.1 fails on any ``sample_weight`` (a list, or one array) with a list ``y`` for a model returning a
    dict: its data adapter gives the weights ``y``'s list structure, then ``CompileLoss`` looks them up by the
    dict's keys (``compile_utils.py:826-827``: ``TypeError: tuple indices must be integers or slices, not str``);
    torch_impl raises TypeError, pointing to dicts. ``class_weight`` with several outputs: Keras's ValueError on
    both. A model returning a list still refuses ``loss`` keyed by names it does not have."""
    x, ya, yb = _data(16, seed=23)
    sw = np.linspace(0.5, 1.5, 16)
    with _precision("float64"):
        keras.utils.set_random_seed(9)
        model = _keras_keyed_apart()
        net = load_keras_weights(_TwoHead(as_dict=True), model.get_weights())
        model.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy", "mse"], run_eagerly=True)
        port = dict(loss=["sparse_categorical_crossentropy", "mse"], output_activation=["softmax", None])
        for weights in ([sw, 2 * sw], sw):
            with pytest.raises(TypeError, match="tuple indices must be integers"):
                model.evaluate(x, [ya, yb], sample_weight=weights, verbose=0)
            with pytest.raises(TypeError, match="y and sample_weight as dicts"):
                tfit.evaluate(net, x, [ya, yb], sample_weight=weights, **port)
            with pytest.raises(TypeError, match="y and sample_weight as dicts"):
                tfit.fit(net, x, [ya, yb], sample_weight=weights, optimizer=optim.SGD(net.parameters()),
                         verbose=0, **port)
        with pytest.raises(ValueError, match="only supported for Models with a single output"):
            model.fit(x, [ya, yb], class_weight={0: 1.0, 1: 2.0, 2: 1.0}, verbose=0)
        with pytest.raises(ValueError, match="only supported for Models with a single output"):
            tfit.fit(net, x, [ya, yb], class_weight={0: 1.0, 1: 2.0, 2: 1.0},
                     optimizer=optim.SGD(net.parameters()), verbose=0, **port)
        ke = model.evaluate(x, {"a": ya, "b": yb}, sample_weight={"a": sw, "b": 2 * sw}, verbose=0, return_dict=True)
        te = tfit.evaluate(net, x, {"a": ya, "b": yb}, sample_weight={"a": sw, "b": 2 * sw}, **port)
    d = max(_rel(te[k], ke[k]) for k in ke)
    print(f"sample weights as dicts instead: evaluate within rel {d:.1e}")
    assert list(te) == list(ke) and d < 1e-12
    with pytest.raises(ValueError, match=r"`loss` names outputs \['a', 'b'\] the model does not have"):
        tfit.evaluate(_TwoHead(), x, [ya, yb], loss={"a": "sparse_categorical_crossentropy", "b": "mse"},
                      output_names=["cls", "reg"])


# --------------------------------------------------------------------------------------------------------------
# 8. two outputs of one layer: repeated output names
# --------------------------------------------------------------------------------------------------------------


class _KerasSplit(layers.Layer):
    """A layer returning two outputs: a functional model names both after it (``functional.py:148``)."""

    def call(self, h):
        return [h[:, :2], h[:, 2:]]


class _Split(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = torch.nn.Linear(6, 4)

    def forward(self, x):
        h = self.dense(x)
        return [h[:, :2], h[:, 2:]]


def test_two_outputs_of_one_layer_repeated_names_like_keras():
    """``output_names=["split", "split"]``: Keras's logs tell the outputs apart only in the metrics (``split_mse``,
    ``split_mse_1``, ``split_weighted_mse``, ``split_weighted_mse_1``; ``compile_utils.py:375-411``); both per-output
    losses log as ``split_loss``, the second output's kept (Keras's ``get_metrics_result`` overwrites; its
    ``evaluate`` list repeats it, as ``metrics_names`` holds it twice). A dict keyed by the repeated name gives its
    entry to both outputs (``loss``, ``metrics``, ``y``: Keras's ``CompileLoss`` / ``CompileMetrics`` look each
    output's name up); a ``loss_weights`` dict with a ``loss`` list raises Keras's ValueError."""
    x, _, _ = _data(24, seed=30)
    ya, yb = x[:, :2] - x[:, 2:4], np.sin(x[:, 3:5])
    sw = np.random.default_rng(31).uniform(0.5, 1.5, 24)
    val = (x[:16], [ya[:16], yb[:16]], sw[:16])
    cases = [dict(loss=["mse", "mae"], loss_weights=[1.0, 2.0], metrics=[["mse"], ["mse"]],
                  weighted_metrics=[["mse"], ["mse"]]),
             dict(loss={"split": "mse"}, metrics={"split": ["mae"]}, y={"split": ya})]
    worst = 0.0
    with _precision("float64"):
        for args in cases:
            keras.utils.set_random_seed(30)
            inp = keras.Input((6,))
            model = keras.Model(inp, _KerasSplit(name="split")(layers.Dense(4)(inp)))
            net = load_keras_weights(_Split(), model.get_weights())
            assert list(model.output_names) == ["split", "split"]
            y = args.pop("y", [ya, yb])
            fit_args = dict(batch_size=8, epochs=2, shuffle=False, verbose=0)  # full batches: eager Keras's
            # per-output loss trackers weigh the batches by their sizes, traced ones do not (see above)
            if isinstance(y, list):
                fit_args.update(sample_weight=sw, validation_data=val)
            else:
                fit_args.update(epochs=1)
            model.compile(optimizer=keras.optimizers.SGD(0.05), run_eagerly=True, **args)
            kh = model.fit(x, y, **fit_args).history
            k_dict, k_list = model.evaluate(x, y, verbose=0, return_dict=True), model.evaluate(x, y, verbose=0)
            args.update(output_names=["split", "split"])
            th = tfit.fit(net, x, y, optimizer=optim.SGD(net.parameters(), learning_rate=0.05), **fit_args,
                          **args).history
            t_dict = tfit.evaluate(net, x, y, verbose=0, **args)
            t_list = tfit.evaluate(net, x, y, verbose=0, return_dict=False, **args)
            print(f"repeated names, {sorted(args)}: keys {sorted(kh)}; evaluate list {np.round(k_list, 6).tolist()}")
            assert sorted(th) == sorted(kh) and sorted(t_dict) == sorted(k_dict) and len(t_list) == len(k_list)
            assert k_list[1] == k_list[2] == k_dict["split_loss"]  # metrics_names holds split_loss twice
            _check_history(th, kh, "float64")
            worst = max(worst, _rel(t_list, k_list), *(_rel(t_dict[k], k_dict[k]) for k in k_dict),
                        *(_rel(th[k], kh[k]) for k in kh))
        with pytest.raises(ValueError, match="got 2 losses and 1 weights"):
            model.compile(optimizer="sgd", loss=["mse", "mae"], loss_weights={"split": 2.0})
            model.evaluate(x, [ya, yb], verbose=0)
        with pytest.raises(ValueError, match="got 2 losses and 1 weights"):
            tfit.evaluate(net, x, [ya, yb], loss=["mse", "mae"], loss_weights={"split": 2.0},
                          output_names=["split", "split"], verbose=0)
    print(f"  histories, evaluate dict and list within rel {worst:.1e}")
    assert sorted(kh) == ["loss", "split_loss", "split_mae", "split_mae_1"]
    assert worst <= F64


# --------------------------------------------------------------------------------------------------------------
# 9. y for fewer outputs than the model has, with a loss; sample weights and class weights per output
# --------------------------------------------------------------------------------------------------------------


class _Heads(torch.nn.Module):
    """``Dense(4, tanh)`` and a ``Dense(2)`` head per key; returns a dict keyed by them (or a list)."""

    def __init__(self, keys=("a", "b"), as_list: bool = False):
        super().__init__()
        self.keys, self.as_list = list(keys), as_list
        self.dense = torch.nn.Linear(3, 4)
        self.heads = torch.nn.ModuleList(torch.nn.Linear(4, 2) for _ in keys)

    def forward(self, x):
        h = torch.tanh(self.dense(x))
        outs = [head(h) for head in self.heads]
        return outs if self.as_list else dict(zip(self.keys, outs))


def _keras_heads(keys=("a", "b"), as_list: bool = False):
    inp = keras.Input((3,))
    h = layers.Dense(4, activation="tanh")(inp)
    outs = [layers.Dense(2, name=k)(h) for k in keys]
    return keras.Model(inp, outs if as_list else dict(zip(keys, outs)))


def _heads_data():
    rng = np.random.default_rng(40)
    x, ya, yb = rng.normal(size=(30, 3)), rng.normal(size=(30, 2)), rng.normal(size=(30, 2))
    return x, ya, yb, rng.integers(0, 2, size=30), rng.uniform(0.5, 2.0, size=30)


def _heads_fit_both(keys, as_list, y, compile_args, fit_args=None, names=True):
    """Keras's fit (eager, float64) and torch_impl's of the same weights; ``(Keras's history, torch_impl's)``."""
    fit_args = dict(epochs=2, batch_size=10, shuffle=False, verbose=0, **(fit_args or {}))
    keras.utils.set_random_seed(41)
    model = _keras_heads(keys, as_list)
    net = load_keras_weights(_Heads(keys, as_list), model.get_weights())
    model.compile(optimizer=keras.optimizers.SGD(0.1), run_eagerly=True, **compile_args)
    kh = model.fit(y=y, x=_heads_data()[0], **fit_args).history
    th = tfit.fit(net, _heads_data()[0], y, optimizer=optim.SGD(net.parameters(), learning_rate=0.1),
                  **({"output_names": list(keys)} if names else {}), **fit_args, **compile_args).history
    return kh, th


def _max_abs(th: dict, kh: dict) -> float:
    return max(float(np.max(np.abs(np.subtract(th[k], kh[k])))) for k in kh)


SHORTER = {  # compile's arguments, y (of x, ya, yb, labels), the model's keys, a list model, fit's arguments
    "dict-loss-one-array": (dict(loss={"b": "mse"}, metrics={"a": "mae", "b": "mse"}), lambda d: d[2], "ab", False,
                            dict(validation_split=0.2)),
    "dict-loss-list": (dict(loss={"a": "mse", "c": "mae"}, metrics={"b": "mae"}), lambda d: [d[1], d[2]], "abc",
                       False, {}),
    "list-loss-one-array": (dict(loss=[None, "mse"], weighted_metrics=[["mae"], ["mse"]]), lambda d: d[2], "ab",
                            True, "sample_weight"),
    "dict-loss-class-weight": (dict(loss={"b": "sparse_categorical_crossentropy"}), lambda d: d[3], "ab", False,
                               dict(class_weight={0: 1.0, 1: 3.0}, validation_split=0.2)),
}


@pytest.mark.filterwarnings("ignore:Gradients do not exist")  # Keras's: an output without a loss
@pytest.mark.parametrize("case", [c if c == "dict-loss-one-array" else pytest.param(c, marks=pytest.mark.slow)
                                  for c in SHORTER])
def test_y_for_the_outputs_with_a_loss_like_keras(case):
    """``y`` (one array or a shorter list) only for the outputs a ``loss`` dict (or a list with ``None``) names:
    Keras's ``CompileLoss`` gives the flat ``y`` to the losses not ``None``, a dict's in its sorted keys' order
    (``compile_utils.py:766-786``), while ``CompileMetrics`` zips the same flat ``y`` with the outputs in order
    (``compile_utils.py:344-352``): ``b``'s labels measure ``a``'s ``mae`` here, and the outputs past ``y`` get no
    metrics. ``class_weight`` with such a ``y`` (one array, not nested) weighs every output, as its array adapter
    converts it. torch_impl raised ("The model has 2 outputs", "y has no labels for outputs ['a']", Keras's
    ``class_weight`` error) for a model returning a dict and one array; its metrics took the loss's labels."""
    compile_args, make_y, keys, as_list, fit_args = SHORTER[case]
    data = _heads_data()
    if fit_args == "sample_weight":
        fit_args = dict(sample_weight=data[4], validation_data=(data[0][:8], data[2][:8], data[4][:8]))
    with _precision("float64"):
        kh, th = _heads_fit_both(tuple(keys), as_list, make_y(data), compile_args, fit_args)
    print(f"y for the outputs with a loss, {case}: keys {sorted(kh)}, max abs diff {_max_abs(th, kh):.1e}")
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, "float64")
    assert _max_abs(th, kh) < 1e-12
    if case.startswith("dict-loss-one"):
        assert sorted(kh) == ["a_mae", "loss", "val_a_mae", "val_loss"]


def test_y_for_fewer_outputs_errors_like_keras():
    """One loss for a model returning a dict of two outputs and ``y`` of one array (or a list of one): Keras
    3.15.1 raises ``KeyError`` at the first step (``compile_utils.py:565-574``; the loss goes to every output);
    torch_impl raised ``AttributeError: 'dict' object has no attribute 'to'`` for one array, a ValueError for the
    list; now Keras's ``KeyError`` (``args[0]`` its message; also a ``ValueError``) with the fix. A ``loss`` dict
    naming fewer outputs than the model returns, with ``y`` for them and no ``output_names``: Keras trains; torch_impl
    raised a ValueError naming ``output_names``, and now names the outputs by the model's dict at its first call
    (the next tests)."""
    x, ya, _, _, _ = _heads_data()
    with _precision("float64"):
        keras.utils.set_random_seed(42)
        model = _keras_heads()
        model.compile(optimizer="sgd", loss="mse", run_eagerly=True)
        for y in (ya, [ya]):
            with pytest.raises(KeyError) as kerr:
                model.fit(x, y, epochs=1, verbose=0)
            with pytest.raises(KeyError) as terr:
                tfit.fit(_Heads(), x, y, loss="mse", optimizer="sgd", epochs=1, verbose=0)
            print(f"one loss, y {type(y).__name__}: Keras {kerr.value!r}\n  torch_impl {terr.value}")
            assert terr.value.args == kerr.value.args and isinstance(terr.value, ValueError)


def _heads_fit_keyed(keys, y, compile_args, fit_args):
    """As :func:`_heads_fit_both` for a model returning a dict in ``keys``' order, without ``output_names``; the
    port's layers get the weights of Keras's by name (Keras orders a dict model's weights otherwise)."""
    fit_args = {**dict(epochs=2, batch_size=10, shuffle=False, verbose=0), **fit_args}
    keras.utils.set_random_seed(41)
    model = _keras_heads(keys)
    net = _Heads(keys)
    with torch.no_grad():
        for layer, module in [(model.layers[1], net.dense)] + [(model.get_layer(k), h) for k, h in zip(keys,
                                                                                                  net.heads)]:
            kernel, bias = layer.get_weights()
            module.weight.copy_(torch.as_tensor(kernel.T))
            module.bias.copy_(torch.as_tensor(bias))
    model.compile(optimizer=keras.optimizers.SGD(0.1), run_eagerly=True, **compile_args)
    kh = model.fit(_heads_data()[0], y, **fit_args).history
    th = tfit.fit(net, _heads_data()[0], y, optimizer=optim.SGD(net.parameters(), learning_rate=0.1), **fit_args,
                  **compile_args).history
    return kh, th


BY_KEYS = {  # compile's arguments, y (of x, ya, yb, labels, w), the model's keys (in its dict's order), fit's arguments
    "one-array-keys-b-a": (dict(loss={"b": "mse"}, metrics={"a": "mae", "b": "mse"}), lambda d: d[2], "ba",
                           dict(validation_split=0.2)),
    "list-keys-c-a-b": (dict(loss={"c": "mse", "a": "mae"}, loss_weights={"a": 0.5, "c": 2.0},
                             metrics={"b": ["mae"], "c": ["mse"]}), lambda d: [d[1], d[2]], "cab",
                        dict(validation_split=0.2, batch_size=8)),  # full batches (eager Keras, see above)
    "dict-keys-b-a-weighted": (dict(loss={"b": "mse"}), lambda d: {"b": d[2]}, "ba",
                               "dict_sample_weight"),
}


@pytest.mark.filterwarnings("ignore:Gradients do not exist")  # Keras's: an output without a loss
@pytest.mark.parametrize("case", [c if c == "one-array-keys-b-a" else pytest.param(c, marks=pytest.mark.slow)
                                  for c in BY_KEYS])
def test_y_for_a_loss_dicts_outputs_without_output_names_like_keras(case):
    """A model returning a dict, a ``loss`` dict naming some of its outputs and ``y`` for them alone (one array, a
    list in the loss's sorted keys' order, a dict), without ``output_names`` (a subclassed model's port): Keras
    trains (``CompileLoss`` packs the flat ``y`` into the loss dict's structure, ``compile_utils.py:766-786``, and
    finds each output by its key; ``CompileMetrics`` zips the flat ``y`` with the outputs in their sorted keys'
    order, 344-352); torch_impl asked for ``output_names``, and now names the outputs by the dict's keys at the
    model's first call, whatever the dict's order (``"cab"``: ``c`` first)."""
    compile_args, make_y, keys, fit_args = BY_KEYS[case]
    data = _heads_data()
    if fit_args == "dict_sample_weight":
        fit_args = dict(sample_weight={"b": data[4]}, validation_data=(data[0][:8], {"b": data[2][:8]},
                                                                       {"b": data[4][:8]}))
    with _precision("float64"):
        kh, th = _heads_fit_keyed(tuple(keys), make_y(data), compile_args, fit_args)
    print(f"y for a loss dict's outputs, no output_names, {case}: keys {sorted(kh)}, max abs diff "
          f"{_max_abs(th, kh):.1e}")
    assert sorted(th) == sorted(kh)
    assert _max_abs(th, kh) < 1e-14
    if case == "one-array-keys-b-a":
        assert sorted(kh) == ["a_mae", "loss", "val_a_mae", "val_loss"]  # b's labels zipped with a (sorted)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Gradients do not exist")
def test_y_for_a_loss_dicts_outputs_errors_like_keras():
    """The same without ``output_names``: ``sample_weight`` as a list (or one array with a list ``y``), Keras's
    ``TypeError`` at the first step (its adapter gives the weights ``y``'s list structure, looked up by the dict's
    keys, ``compile_utils.py:826-827``); a dict ``y`` without an output's labels and metrics, its ``KeyError``
    (``CompileMetrics`` looks every output's name up, 339-341); a ``loss`` key the model lacks, its ``KeyError``
    (568-574). Each after ``on_train_begin``, as Keras's."""
    x, ya, yb, _, w = _heads_data()
    cases = [(dict(loss={"b": "mse"}), yb, dict(sample_weight=[w]), TypeError),
             (dict(loss={"b": "mse"}), [yb], dict(sample_weight=w), TypeError),
             (dict(loss={"b": "mse"}, metrics={"b": ["mae"]}), {"b": yb}, {}, KeyError),
             (dict(loss={"zz": "mse"}), yb, {}, KeyError)]
    with _precision("float64"):
        for compile_args, y, fit_args, error in cases:
            keras.utils.set_random_seed(41)
            model = _keras_heads()
            model.compile(optimizer="sgd", run_eagerly=True, **compile_args)
            k_events, t_events = [], []
            with pytest.raises(error) as kerr:
                model.fit(x, y, epochs=1, verbose=0, **fit_args, callbacks=[
                    keras.callbacks.LambdaCallback(on_train_begin=lambda logs: k_events.append("begin"))])
            with pytest.raises(error) as terr:
                tfit.fit(_Heads(), x, y, optimizer="sgd", epochs=1, verbose=0, **compile_args, **fit_args,
                         callbacks=[tcb.LambdaCallback(on_train_begin=lambda logs: t_events.append("begin"))])
            print(f"{compile_args}, y {type(y).__name__}, {sorted(fit_args)}: Keras {kerr.value!r}\n  torch_impl "
                  f"{terr.value}")
            assert k_events == t_events == ["begin"]
            if error is KeyError:
                assert terr.value.args == kerr.value.args


def _first_step_errors(cases, as_list=False, eager=True):
    """Keras's fit and torch_impl's of each ``(compile's arguments, y, output_names)`` case, each failing: the two
    exceptions and the callbacks each side ran before (``on_train_begin``, ``on_train_batch_begin``)."""
    x = _heads_data()[0]
    out = []
    for compile_args, y, names in cases:
        keras.utils.set_random_seed(41)
        model = _keras_heads(as_list=as_list)
        model.compile(optimizer="sgd", run_eagerly=eager, **compile_args)
        k_events, t_events = [], []
        with pytest.raises(Exception) as kerr:
            model.fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.LambdaCallback(
                on_train_begin=lambda logs: k_events.append("begin"),
                on_train_batch_begin=lambda batch, logs: k_events.append("batch"))])
        with pytest.raises(Exception) as terr:
            tfit.fit(_Heads(as_list=as_list), x, y, optimizer="sgd", epochs=1, verbose=0, **compile_args,
                     **({"output_names": names} if names else {}),
                     callbacks=[tcb.LambdaCallback(on_train_begin=lambda logs: t_events.append("begin"),
                                                   on_train_batch_begin=lambda batch, logs: t_events.append("batch"))])
        print(f"{compile_args}, y {type(y).__name__}, output_names {names}: Keras {kerr.value!r} {k_events}\n"
              f"  torch_impl {terr.value!r} {t_events}: {terr.value}")
        out.append((kerr.value, terr.value, k_events, t_events))
    return out


@pytest.mark.filterwarnings("ignore:Gradients do not exist")
def test_dict_y_without_outputs_metrics_look_up_errors_like_keras():
    """A dict ``y`` for the outputs a ``loss`` dict names, and metrics: Keras 3.15.1's ``CompileMetrics`` looks
    every output's name up in the dict ``y`` (``compile_utils.py:339-341``), ``KeyError`` at the first step (after
    ``on_train_batch_begin``), whether the metrics name an output ``y`` lacks (``a``, without ``output_names``:
    torch_impl raised ``ValueError("`metrics` names outputs ['a'] the model does not have")`` when it set the
    arguments up) or only the labelled one, with ``output_names`` (torch_impl raised ``Expected keys ['a', 'b'] in
    loss dict`` then, Keras's error for a model returning a list). Now Keras's ``KeyError`` at its moment (also a
    ``ValueError``)."""
    _, _, yb, _, _ = _heads_data()
    cases = [(dict(loss={"b": "mse"}, metrics={"a": "mae"}), {"b": yb}, None),
             (dict(loss={"b": "mse"}, metrics={"b": "mae"}), {"b": yb}, ["a", "b"])]
    with _precision("float64"):
        for kerr, terr, k_events, t_events in _first_step_errors(cases):
            assert type(kerr) is KeyError and isinstance(terr, KeyError) and isinstance(terr, ValueError)
            assert terr.args == kerr.args == ("a",)
            assert t_events == k_events == ["begin", "batch"]


@pytest.mark.filterwarnings("ignore:Gradients do not exist")
def test_dict_y_without_outputs_named_by_output_names_trains_like_keras():
    """``output_names`` given, a model returning a dict, a ``loss`` dict and a dict ``y`` for its outputs alone,
    no metrics: Keras trains (its ``CompileLoss`` finds each loss's output by its key; the ``Expected keys`` error is
    for a model returning a list, ``compile_utils.py:565-582``); torch_impl raised that error when it set the
    arguments up, and now trains as Keras."""
    _, _, yb, _, w = _heads_data()
    with _precision("float64"):
        kh, th = _heads_fit_both("ab", False, {"b": yb}, dict(loss={"b": "mse"}),
                                 dict(sample_weight={"b": w}, validation_split=0.2))
    print(f"dict y for b of a, b, output_names: keys {sorted(kh)}, Keras's loss {kh['loss']}, max abs diff "
          f"{_max_abs(th, kh):.1e}")
    assert sorted(th) == sorted(kh) == ["loss", "val_loss"]
    assert _max_abs(th, kh) < 1e-14


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Gradients do not exist")
def test_dict_y_without_outputs_more_errors_like_keras():
    """More of the above: ``weighted_metrics`` naming the unlabelled output (``KeyError``); with ``output_names``,
    metrics naming it (``KeyError``) and a model returning a list (Keras's ``ValueError: Expected keys ...`` at the
    first step, where torch_impl raised it at set-up); a list ``y`` in the wrong order for outputs of other widths
    (Keras's default, traced step: ``ValueError: Dimensions must be equal, but are 3 and 2 for '{{node
    compile_loss/mse/sub}} ...`` with the graph's node names, which torch_impl does not copy; eager Keras's
    ``InvalidArgumentError`` is no ``ValueError``): the type and the moment."""
    x, ya, yb, _, _ = _heads_data()
    with _precision("float64"):
        results = _first_step_errors([(dict(loss={"b": "mse"}, weighted_metrics={"a": "mae"}), {"b": yb}, None),
                                      (dict(loss={"b": "mse"}, metrics={"a": "mae"}), {"b": yb}, ["a", "b"])])
        for kerr, terr, k_events, t_events in results:
            assert type(kerr) is KeyError and isinstance(terr, KeyError) and isinstance(terr, ValueError)
            assert terr.args == kerr.args == ("a",) and t_events == k_events == ["begin", "batch"]
        results = _first_step_errors([(dict(loss={"b": "mse"}, metrics={"b": "mae"}), {"b": yb}, ["a", "b"]),
                                      (dict(loss={"b": "mse"}), {"b": yb}, ["a", "b"])], as_list=True)
        for kerr, terr, k_events, t_events in results:
            assert type(kerr) is ValueError and type(terr) is ValueError and terr.args == kerr.args
            assert "Expected keys ['a', 'b'] in loss dict" in str(terr) and t_events == k_events == ["begin", "batch"]
        wide = np.concatenate([ya, yb[:, :1]], axis=1)  # labels of 3 columns for the 2 of output a
        for as_list in (True, False):
            results = _first_step_errors([(dict(loss=["mse", "mse"] if as_list else {"a": "mse", "b": "mse"}),
                                           [wide, yb], ["a", "b"] if as_list else None)], as_list=as_list, eager=False)
            for kerr, terr, k_events, t_events in results:
                assert type(kerr) is ValueError and type(terr) is ValueError and t_events == k_events == ["begin",
                                                                                                        "batch"]
                assert "Dimensions must be equal, but are 3 and 2" in str(kerr)
                assert "y_true.shape=(30, 3), y_pred.shape=(30, 2)" in str(terr)


def test_per_output_sample_weight_none_and_one_output_dict_like_keras():
    """``sample_weight=[w, None]`` (the second output unweighted, as Keras takes it) raised a NumPy error
    ("setting an array element with a sequence"); a model returning a dict of one output with ``y`` one array
    (Keras trains it as one output, ``compile_utils.py:743-748``, its metrics unprefixed), here with
    ``class_weight``, raised ``AttributeError``."""
    x, ya, yb, labels, w = _heads_data()
    with _precision("float64"):
        kh, th = _heads_fit_both(("a", "b"), True, [ya, yb], dict(loss=["mse", "mae"], weighted_metrics=[["mae"],
                                 ["mse"]]), dict(sample_weight=[w, None]))
        print(f"sample_weight=[w, None]: keys {sorted(kh)}, max abs diff {_max_abs(th, kh):.1e}")
        assert sorted(th) == sorted(kh) and "a_mae" in kh
        _check_history(th, kh, "float64")
        assert _max_abs(th, kh) < 1e-12
        kh, th = _heads_fit_both(("a",), False, labels, dict(loss="sparse_categorical_crossentropy",
                                 metrics=["accuracy"]), dict(class_weight={0: 1.0, 1: 3.0}), names=False)
        print(f"dict of one output, y one array, class_weight: keys {sorted(kh)}, max abs diff "
              f"{_max_abs(th, kh):.1e}")
        assert sorted(th) == sorted(kh) == ["accuracy", "loss"]
        _check_history(th, kh, "float64")
        assert _max_abs(th, kh) < 1e-12

"""Real-world Keras 3 scripts, round 13 (a training loop written from scratch with ``add_loss``, custom
``train_step``/``test_step`` models, PointNet's ``ops``-written activity regularizer), ported to PyTorch with
torch_impl as a user would port them from the README: ``torch_impl.losses``, ``torch_impl.optim``,
``torch_impl.metrics`` (the same ``update_state``/``result``/``reset_state``), ``torch_impl.fit``/``evaluate``/
``predict``, ``from torch_impl import keras_ops as ops``, ``torch_impl.regularizers.regularize``.

1. keras.io guide "Writing a training loop from scratch" (Keras 3, TensorFlow): a ``Dense(relu)``,
   ``Dense(relu)``, ``Dense(10)`` model, ``tf.GradientTape``, ``SparseCategoricalCrossentropy(from_logits=True)``,
   ``train_acc_metric = keras.metrics.SparseCategoricalAccuracy()`` updated every step and reset every epoch, a
   validation loop with ``val_acc_metric``; and its "low-level handling of losses" part: an
   ``ActivityRegularizationLayer`` whose ``call`` does ``self.add_loss(1e-2 * ops.sum(inputs))``, the loop adding
   ``sum(model.losses)``. The port: a torch loop, the penalty kept on the module and added by hand. (The guide's
   ``SGD(1e-3)`` barely moves a small model in 3 epochs; the runs use ``Adam(1e-2)``, which the guide also names.)
2. keras.io guide "Customizing what happens in fit()": ``CustomModel.train_step`` with ``self.compute_loss(y=y,
   y_pred=y_pred)`` and every ``self.metrics`` updated by hand under ``compile(optimizer="adam", loss="mse",
   metrics=["mae"])`` (Keras's shuffle, validation data, ``evaluate``); the lower-level ``CustomModel`` with its
   own ``Mean(name="loss")``, ``MeanAbsoluteError(name="mae")``, ``keras.losses.mean_squared_error``, ``metrics``
   property and ``test_step`` (``compile(optimizer="adam")``, ``fit(shuffle=False, validation_data)``,
   ``evaluate``). Ports: torch loops with ``torch_impl.metrics`` (and ``torch_impl.fit`` for comparison).
3. keras.io "Point cloud classification with PointNet": the ``OrthogonalRegularizer(keras.regularizers.
   Regularizer)`` written with ``ops`` (``ops.eye``, ``ops.reshape``, ``ops.tensordot(x, x, axes=(2, 2))``,
   ``ops.sum(self.l2reg * ops.square(xxt - self.eye))``) as the ``activity_regularizer`` of both T-nets' last
   ``Dense`` (zeros kernel, identity bias), ``Conv1D(kernel_size=1)`` + ``BatchNormalization(momentum=0.0)`` +
   ``relu`` blocks, ``GlobalMaxPooling1D``, ``Dot(axes=(2, 1))``, a softmax head, ``sparse_categorical_crossentropy``,
   ``Adam(0.001)``, ``sparse_categorical_accuracy``; filters scaled down, Dropouts left out. The port: the same
   regularizer written with ``torch_impl.keras_ops`` and attached with ``regularize(activity_regularizer=...)``,
   ``torch_impl.nn.BatchNormalization``, ``torch_impl.fit(seed=S)``/``evaluate``/``predict``.

Small synthetic data shaped like the scripts', 3 epochs; both sides start from Keras's initial weights
(``load_keras_weights``), in Keras's shuffle order (``fit(seed=S)``, ``keras_shuffle_order``) or in order.
Standards (DESIGN.md): float64 within 1e-8 relative every step/epoch, float32 within 1e-3 with the same classes.
Measured (max relative error over every logged value; weights normwise):

==========================  ===========================================  ==========================================
script                      float64                                      float32 (``slow``)
==========================  ===========================================  ==========================================
1 loop from scratch         12 step losses 1.5e-16; train/val accuracy   1.0e-7; accuracies equal; weights 1.7e-7
                            equal every epoch; final weights 4.0e-16
1 + ``add_loss`` penalty    2.5e-16; accuracies equal; weights 3.8e-16   8.1e-8; accuracies equal; weights 3.8e-7
                            (the port without the penalty: 4.7e-1)       (without the penalty: 4.3e-1)
2 ``compute_loss``          every key 2.1e-16; evaluate 2.0e-16;         1.6e-7; evaluate 1.0e-7; weights 8.0e-8
  ``train_step``            weights 1.7e-16 (``torch_impl.fit``: the     (``fit``'s weighted loss 6.6e-2 off)
                            same weights, its loss 1.6e-1 off: below)
2 lower-level model +       every key 3.8e-16; evaluate 1.9e-16;         9.4e-8; evaluate 0; weights 3.7e-8
  ``test_step``             weights 1.0e-15 (backward of the mean:
                            1.4e-2 off)
3 PointNet                  train 3.7e-16, val 3.3e-13; evaluate         train 2.0e-7, val 1.6e-4; evaluate
                            1.8e-13, predict 1.4e-12; the same classes   1.0e-4, predict 3.4e-4; the same classes
                            (without the penalty: 1.7e-1)                (without the penalty: 1.6e-1)
==========================  ===========================================  ==========================================

(PointNet's inference side runs on ``momentum=0.0`` moving statistics, one batch's variance of a few ReLU
channels: it amplifies rounding about 1000-fold, in float64 3.7e-16 -> 3.3e-13, float32 2e-7 -> 1.6e-4; the
training side, the accuracies and the predicted classes agree in both.)

What the ports found (no torch_impl gap; each Keras behaviour pinned by a test):

* The "Customizing fit()" guide's ``train_step`` updates the ``"loss"`` tracker with ``metric.update_state(loss)``:
  weight 1 per batch, where Keras's own ``train_step`` weighs a batch by its size. With 100 samples in batches of
  32 (the last one 4), Keras logs the plain mean of the 4 batch losses (0.334813, float64) where its built-in
  step (and ``torch_impl.fit``) logs the size-weighted 0.279976: the same training (``mae``, ``val_*``, weights
  equal), another ``loss``. A port that replaces the custom step by ``fit`` must copy the unweighted tracker
  (``test_custom_train_step_compute_loss_like_fit``).
* The lower-level ``CustomModel`` differentiates ``keras.losses.mean_squared_error``'s per-sample VECTOR:
  ``tape.gradient`` of a vector is the gradient of its sum (the batch size times a mean's). The port backpropagates
  ``loss.sum()``; the habitual ``loss.mean().backward()`` trains another run even under Adam (1.4e-2 off in 3
  epochs: the epsilon) (``test_low_level_custom_model_with_own_metrics``).
* PointNet's ``OrthogonalRegularizer`` does not compute ``X X^T`` per sample: ``ops.tensordot(x, x, axes=(2, 2))``
  of ``(B, n, n)`` is ``(B, n, B, n)``, reshaped into ``B * B`` matrices (every pair of samples), so the penalty
  (divided by the batch size, Keras 3) grows with the batch: ``evaluate`` in one batch of 16 logs 0.1389 more
  than the last validation in batches of 8, with the same weights, in Keras and in the port, which writes the
  regularizer with ``torch_impl.keras_ops`` as the script does and reproduces it
  (``test_pointnet_orthogonal_activity_regularizer_like_keras``).
* ``add_loss(1e-2 * ops.sum(inputs))`` in the from-scratch loop: the port's ``forward`` calls
  ``torch_impl.regularizers.add_loss`` and its loop adds ``sum(regularization_losses(net))`` (``sum(model.losses)``);
  the port that forgets it logs step losses 47% off (float64).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers, ops  # noqa: E402

from parity_tests.test_field_scripts_round2 import (  # noqa: E402
    DTYPES, _check_history, _normwise, _precision, _rel, _tol)
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, optim  # noqa: E402
from torch_impl import metrics as tmetrics  # noqa: E402
from torch_impl.nn import load_keras_weights  # noqa: E402
from torch_impl.regularizers import add_loss, regularization_losses  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]


# --------------------------------------------------------------------------------------------------------------
# 1. "Writing a training loop from scratch"
# --------------------------------------------------------------------------------------------------------------

IN1, HID1, CLS1 = 20, 16, 10


def _loop_data(dt, n=64, nv=32, seed=0):
    rng = np.random.default_rng(seed)
    protos = rng.normal(size=(CLS1, IN1))
    y = rng.integers(0, CLS1, size=n + nv)
    x = (protos[y] + rng.normal(size=(n + nv, IN1))).astype(dt)
    return (x[:n], y[:n].astype("int64")), (x[n:], y[n:].astype("int64"))


class ActivityRegularizationLayer(layers.Layer):
    """The guide's layer."""

    def call(self, inputs):
        self.add_loss(1e-2 * ops.sum(inputs))
        return inputs


def _keras_loop(dt, train, val, penalty, epochs=3, batch=16):
    keras.utils.set_random_seed(1)
    inputs = keras.Input(shape=(IN1,), name="digits")
    x1 = layers.Dense(HID1, activation="relu")(inputs)
    if penalty:
        x1 = ActivityRegularizationLayer()(x1)
    x2 = layers.Dense(HID1, activation="relu")(x1)
    outputs = layers.Dense(CLS1, name="predictions")(x2)
    model = keras.Model(inputs=inputs, outputs=outputs)
    initial = model.get_weights()
    optimizer = keras.optimizers.Adam(learning_rate=1e-2)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    train_acc_metric = keras.metrics.SparseCategoricalAccuracy()
    val_acc_metric = keras.metrics.SparseCategoricalAccuracy()
    train_dataset = tf.data.Dataset.from_tensor_slices(train).batch(batch)
    val_dataset = tf.data.Dataset.from_tensor_slices(val).batch(batch)
    h = {"step_loss": [], "train_acc": [], "val_acc": []}
    for _ in range(epochs):
        for x_batch_train, y_batch_train in train_dataset:
            with tf.GradientTape() as tape:
                logits = model(x_batch_train, training=True)
                loss_value = loss_fn(y_batch_train, logits)
                if penalty:
                    loss_value += sum(model.losses)
            grads = tape.gradient(loss_value, model.trainable_weights)
            optimizer.apply_gradients(zip(grads, model.trainable_weights))
            train_acc_metric.update_state(y_batch_train, logits)
            h["step_loss"].append(float(loss_value))
        h["train_acc"].append(float(train_acc_metric.result()))
        train_acc_metric.reset_state()
        for x_batch_val, y_batch_val in val_dataset:
            val_logits = model(x_batch_val, training=False)
            val_acc_metric.update_state(y_batch_val, val_logits)
        h["val_acc"].append(float(val_acc_metric.result()))
        val_acc_metric.reset_state()
    return h, initial, model.get_weights()


class _LoopNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.d1, self.d2, self.out = (torch.nn.Linear(IN1, HID1), torch.nn.Linear(HID1, HID1),
                                      torch.nn.Linear(HID1, CLS1))

    def forward(self, x, with_penalty=False):
        h = torch.relu(self.d1(x))
        if with_penalty:  # the port of ActivityRegularizationLayer's add_loss(1e-2 * ops.sum(inputs))
            add_loss(self, 1e-2 * h.sum())
        return self.out(torch.relu(self.d2(h)))


def _torch_loop(net, train, val, penalty, epochs=3, batch=16):
    optimizer = optim.Adam(net.parameters(), learning_rate=1e-2)
    loss_fn = losses.SparseCategoricalCrossentropy(from_logits=True)
    train_acc_metric = tmetrics.SparseCategoricalAccuracy()
    val_acc_metric = tmetrics.SparseCategoricalAccuracy()
    h = {"step_loss": [], "train_acc": [], "val_acc": []}
    x, y = (torch.as_tensor(a) for a in train)
    xv, yv = (torch.as_tensor(a) for a in val)
    for _ in range(epochs):
        net.train()
        for i in range(0, len(x), batch):
            xb, yb = x[i:i + batch], y[i:i + batch]
            logits = net(xb, with_penalty=penalty)
            loss_value = loss_fn(yb, logits)
            if penalty:
                loss_value = loss_value + sum(regularization_losses(net))  # reading them clears them
            optimizer.zero_grad()
            loss_value.backward()
            optimizer.step()
            train_acc_metric.update_state(yb, logits.detach())
            h["step_loss"].append(float(loss_value.detach()))
        h["train_acc"].append(float(train_acc_metric.result()))
        train_acc_metric.reset_state()
        net.eval()
        with torch.no_grad():
            for i in range(0, len(xv), batch):
                val_acc_metric.update_state(yv[i:i + batch], net(xv[i:i + batch]))
        h["val_acc"].append(float(val_acc_metric.result()))
        val_acc_metric.reset_state()
    return h


@pytest.mark.parametrize("penalty", [False, True], ids=["plain", "add_loss"])
@pytest.mark.parametrize("dt", DTYPES)
def test_training_loop_from_scratch_like_keras(dt, penalty):
    train, val = _loop_data(dt)
    with _precision(dt):
        kh, initial, kfinal = _keras_loop(dt, train, val, penalty)
        net = load_keras_weights(_LoopNet(), initial)
        th = _torch_loop(net, train, val, penalty)
    tol = _tol(dt)
    r = _rel(th["step_loss"], kh["step_loss"])
    print(f"\n[{dt}, {'add_loss' if penalty else 'plain'}] {len(kh['step_loss'])} step losses: Keras "
          f"{kh['step_loss'][0]:.6f}..{kh['step_loss'][-1]:.6f}, max rel {r:.1e}")
    assert r <= tol
    for k in ("train_acc", "val_acc"):
        print(f"  {k}: Keras {kh[k]} torch_impl {th[k]}")
        assert th[k] == kh[k], k  # accuracies: counts over 64 / 32 samples, equal
    w = max(_normwise(p.detach().numpy(), (k.T if k.ndim == 2 else k))
            for p, k in zip(net.parameters(), kfinal))
    print(f"  final weights normwise {w:.1e}")
    assert w <= tol
    if penalty:  # the penalty matters: the port that forgets sum(model.losses) logs (and trains) something else
        with _precision(dt):
            naive = _torch_loop(load_keras_weights(_LoopNet(), initial), train, val, False)
        rn = _rel(naive["step_loss"], kh["step_loss"])
        print(f"  the port without the penalty: step losses max rel {rn:.1e}")
        assert rn > 0.1


# --------------------------------------------------------------------------------------------------------------
# 2. "Customizing what happens in fit()"
# --------------------------------------------------------------------------------------------------------------

IN2 = 32


def _fit_data(dt, n=100, seed=3):
    """The guide's ``np.random.random((1000, 32))`` / ``np.random.random((1000, 1))``, smaller."""
    rng = np.random.default_rng(seed)
    return rng.random((n, IN2)).astype(dt), rng.random((n, 1)).astype(dt)


class CustomModel(keras.Model):
    """The guide's first ``CustomModel``: ``train_step`` with ``self.compute_loss``, every metric updated by hand
    (the ``"loss"`` tracker with the loss, ``compile_metrics`` with ``y, y_pred``)."""

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        trainable_vars = self.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)
        self.optimizer.apply_gradients(zip(gradients, trainable_vars))
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


class LowLevelModel(keras.Model):
    """The guide's lower-level ``CustomModel``: its own ``Mean(name="loss")`` and ``MeanAbsoluteError(name="mae")``,
    ``keras.losses.mean_squared_error`` (a per-sample vector: ``tape.gradient`` differentiates its SUM), its own
    ``metrics`` property (so Keras resets the trackers every epoch), and the guide's ``test_step``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = keras.losses.mean_squared_error(y, y_pred)
        trainable_vars = self.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)
        self.optimizer.apply_gradients(zip(gradients, trainable_vars))
        self.loss_tracker.update_state(loss)
        self.mae_metric.update_state(y, y_pred)
        return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        loss = keras.losses.mean_squared_error(y, y_pred)
        self.loss_tracker.update_state(loss)
        self.mae_metric.update_state(y, y_pred)
        return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

    @property
    def metrics(self):
        return [self.loss_tracker, self.mae_metric]


def _keras_dense_model(cls, seed):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(IN2,))
    outputs = layers.Dense(1)(inputs)
    return cls(inputs, outputs)


def _train_step_port(net, x, y, xv, yv, order, epochs=3, batch=32):
    """The port of the guide's ``CustomModel.train_step`` (``compute_loss`` = the compiled MSE) in a torch loop, in
    Keras's shuffle order: the ``"loss"`` tracker gets ``update_state(loss)``, weight 1 per batch, as the guide
    writes it; the validation is Keras's default ``test_step`` (``torch_impl.fit.evaluate``)."""
    opt = optim.Adam(net.parameters())
    loss_fn = losses.MeanSquaredError()
    loss_tracker, mae = tmetrics.Mean(name="loss"), tmetrics.MeanAbsoluteError(name="mae")
    x, y = torch.as_tensor(x[order]), torch.as_tensor(y[order])
    h = {"loss": [], "mae": [], "val_loss": [], "val_mae": []}
    for _ in range(epochs):
        loss_tracker.reset_state()
        mae.reset_state()
        for i in range(0, len(x), batch):
            xb, yb = x[i:i + batch], y[i:i + batch]
            y_pred = net(xb)
            loss = loss_fn(yb, y_pred)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_tracker.update_state(loss.detach())
            mae.update_state(yb, y_pred.detach())
        h["loss"].append(float(loss_tracker.result()))
        h["mae"].append(float(mae.result()))
        v = tfit.evaluate(net, xv, yv, loss="mse", metrics=["mae"], return_dict=True)
        h["val_loss"].append(v["loss"])
        h["val_mae"].append(v["mae"])
    return h


@pytest.mark.parametrize("dt", DTYPES)
def test_custom_train_step_compute_loss_like_fit(dt):
    """The guide's ``CustomModel.train_step`` with ``compute_loss`` under ``compile(optimizer="adam", loss="mse",
    metrics=["mae"])`` and Keras's shuffling (100 samples, batches of 32: the last one holds 4), validation with
    the default ``test_step``, then ``evaluate``. Keras's quirk: the guide's ``metric.update_state(loss)`` weighs
    every batch 1, where Keras's own ``train_step`` weighs it by its size, so the logged ``loss`` is the plain mean
    of the 4 batch losses (the 4-sample batch counts as much as a 32-sample one). ``torch_impl.fit`` (Keras's own
    step) trains the same weights and logs the same ``mae``/``val_*`` but its weighted ``loss``; the port of the
    step as written (a torch loop, ``torch_impl.metrics.Mean``) logs Keras's."""
    from torch_impl.utils import keras_shuffle_order

    x, y = _fit_data(dt)
    xv, yv = _fit_data(dt, n=40, seed=4)
    with _precision(dt):
        model = _keras_dense_model(CustomModel, 6)
        initial = model.get_weights()
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        kh = model.fit(x, y, epochs=3, batch_size=32, validation_data=(xv, yv), verbose=0).history
        ke = model.evaluate(xv, yv, verbose=0, return_dict=True)
        net = load_keras_weights(torch.nn.Linear(IN2, 1), initial)
        th = _train_step_port(net, x, y, xv, yv, keras_shuffle_order(len(x), 6))
        te = tfit.evaluate(net, xv, yv, loss="mse", metrics=["mae"], return_dict=True)
        fnet = load_keras_weights(torch.nn.Linear(IN2, 1), initial)
        fh = tfit.fit(fnet, x, y, epochs=3, batch_size=32, validation_data=(xv, yv), seed=6, optimizer="adam",
                      loss="mse", metrics=["mae"], verbose=0).history
    print(f"\n[{dt}] the port of the custom train_step, history keys {sorted(kh)}")
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt)
    r = max(_rel(te[k], ke[k]) for k in ke)
    print(f"  evaluate: Keras {ke} torch_impl {te} max rel {r:.1e}")
    assert sorted(te) == sorted(ke) and r <= _tol(dt)
    w = max(_normwise(net.weight.detach().numpy().T, model.get_weights()[0]),
            _normwise(net.bias.detach().numpy(), model.get_weights()[1]))
    wf = max(_normwise(fnet.weight.detach().numpy().T, model.get_weights()[0]),
             _normwise(fnet.bias.detach().numpy(), model.get_weights()[1]))
    print(f"  final weights normwise {w:.1e} (torch_impl.fit: {wf:.1e})")
    assert w <= _tol(dt) and wf <= _tol(dt)
    print("  torch_impl.fit (Keras's own train_step):")
    _check_history(fh, kh, dt, keys=["mae", "val_loss", "val_mae"])
    rl = _rel(fh["loss"], kh["loss"])
    print(f"  its batch-size-weighted loss {np.round(fh['loss'], 6).tolist()}: rel {rl:.1e} from the guide's")
    assert rl > 1e-2


def _low_level_port(net, x, y, xv, yv, epochs=3, batch=32, reduce_=torch.sum):
    """The port of the lower-level ``CustomModel`` under ``fit(shuffle=False)``: a torch loop, the per-sample MSE
    vector's sum backpropagated (what ``tape.gradient`` of a vector does), the trackers reset every epoch and
    before validation (Keras resets ``model.metrics`` at both)."""
    opt = optim.Adam(net.parameters())  # compile(optimizer="adam")
    loss_tracker, mae_metric = tmetrics.Mean(name="loss"), tmetrics.MeanAbsoluteError(name="mae")
    x, y, xv, yv = (torch.as_tensor(a) for a in (x, y, xv, yv))
    h = {"loss": [], "mae": [], "val_loss": [], "val_mae": []}
    for _ in range(epochs):
        loss_tracker.reset_state()
        mae_metric.reset_state()
        for i in range(0, len(x), batch):
            xb, yb = x[i:i + batch], y[i:i + batch]
            y_pred = net(xb)
            loss = losses.mean_squared_error(yb, y_pred)
            opt.zero_grad()
            reduce_(loss).backward()
            opt.step()
            loss_tracker.update_state(loss.detach())
            mae_metric.update_state(yb, y_pred.detach())
        h["loss"].append(float(loss_tracker.result()))
        h["mae"].append(float(mae_metric.result()))
        with torch.no_grad():
            loss_tracker.reset_state()
            mae_metric.reset_state()
            for i in range(0, len(xv), batch):
                y_pred = net(xv[i:i + batch])
                loss_tracker.update_state(losses.mean_squared_error(yv[i:i + batch], y_pred))
                mae_metric.update_state(yv[i:i + batch], y_pred)
        h["val_loss"].append(float(loss_tracker.result()))
        h["val_mae"].append(float(mae_metric.result()))
    return h


@pytest.mark.parametrize("dt", DTYPES)
def test_low_level_custom_model_with_own_metrics(dt):
    """The guide's lower-level ``CustomModel`` (own ``Mean``/``MeanAbsoluteError``, ``mean_squared_error``'s vector,
    ``compile(optimizer="adam")`` without a loss) and its ``test_step`` through ``validation_data`` and
    ``evaluate``. The port: a torch loop with ``torch_impl.metrics``; the port that backpropagates the MEAN of the
    vector (the natural torch habit) is another run."""
    x, y = _fit_data(dt, seed=5)
    xv, yv = _fit_data(dt, n=40, seed=6)
    with _precision(dt):
        model = _keras_dense_model(LowLevelModel, 7)
        initial = model.get_weights()
        model.compile(optimizer="adam")
        kh = model.fit(x, y, epochs=3, batch_size=32, shuffle=False, validation_data=(xv, yv), verbose=0).history
        ke = model.evaluate(xv, yv, batch_size=32, verbose=0, return_dict=True)
        net = load_keras_weights(torch.nn.Linear(IN2, 1), initial)
        th = _low_level_port(net, x, y, xv, yv)
        naive = _low_level_port(load_keras_weights(torch.nn.Linear(IN2, 1), initial), x, y, xv, yv,
                                reduce_=torch.mean)
    print(f"\n[{dt}] history keys {sorted(kh)}")
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt)
    # evaluate after fit: the guide's test_step on the trained model = the last epoch's validation
    r = max(_rel(ke[k], th["val_" + k][-1]) for k in ("loss", "mae"))
    print(f"  evaluate: Keras {ke}, the port's last validation {th['val_loss'][-1]:.8f} "
          f"{th['val_mae'][-1]:.8f}: max rel {r:.1e}")
    assert sorted(ke) == ["loss", "mae"] and r <= _tol(dt)
    w = max(_normwise(net.weight.detach().numpy().T, model.get_weights()[0]),
            _normwise(net.bias.detach().numpy(), model.get_weights()[1]))
    rn = _rel(naive["loss"], kh["loss"])
    print(f"  final weights normwise {w:.1e}; the mean-backward port: loss max rel {rn:.1e}")
    assert w <= _tol(dt) and rn > 1e-3


# --------------------------------------------------------------------------------------------------------------
# 3. "Point cloud classification with PointNet"
# --------------------------------------------------------------------------------------------------------------

POINTS, CLS3 = 16, 4
TNET_CONV, TNET_DENSE = (8, 16, 32), (16, 8)  # the script's (32, 64, 512) and (256, 128), smaller
MAIN_FEAT = 8  # the script's 32


def _point_clouds(dt, n, seed):
    """Point clouds of 4 classes: each a random anisotropic, rotated blob (the script samples ModelNet meshes)."""
    rng = np.random.default_rng(seed)
    scales = np.array([[1.0, 1.0, 1.0], [2.0, 0.5, 0.5], [0.3, 1.5, 1.5], [1.5, 1.5, 0.2]])
    y = rng.integers(0, CLS3, size=n)
    x = rng.normal(size=(n, POINTS, 3)) * scales[y][:, None, :]
    q = np.linalg.qr(rng.normal(size=(n, 3, 3)))[0]
    return np.einsum("npi,nij->npj", x, q).astype(dt), y.astype("int64")


class OrthogonalRegularizer(keras.regularizers.Regularizer):
    """The script's regularizer, as written (``ops.tensordot(x, x, axes=(2, 2))`` of ``(B, n, n)`` tensors is
    ``(B, n, B, n)``: the ``-1`` reshape makes ``B * B`` matrices, every pair of samples of the batch)."""

    def __init__(self, num_features, l2reg=0.001):
        self.num_features = num_features
        self.l2reg = l2reg
        self.eye = ops.eye(num_features)

    def __call__(self, x):
        x = ops.reshape(x, (-1, self.num_features, self.num_features))
        xxt = ops.tensordot(x, x, axes=(2, 2))
        xxt = ops.reshape(xxt, (-1, self.num_features, self.num_features))
        return ops.sum(self.l2reg * ops.square(xxt - self.eye))


def _conv_bn(x, filters):
    x = layers.Conv1D(filters, kernel_size=1, padding="valid")(x)
    x = layers.BatchNormalization(momentum=0.0)(x)
    return layers.Activation("relu")(x)


def _dense_bn(x, filters):
    x = layers.Dense(filters)(x)
    x = layers.BatchNormalization(momentum=0.0)(x)
    return layers.Activation("relu")(x)


def _tnet(inputs, num_features):
    bias = keras.initializers.Constant(np.eye(num_features).flatten())
    reg = OrthogonalRegularizer(num_features)
    x = inputs
    for f in TNET_CONV:
        x = _conv_bn(x, f)
    x = layers.GlobalMaxPooling1D()(x)
    for f in TNET_DENSE:
        x = _dense_bn(x, f)
    x = layers.Dense(num_features * num_features, kernel_initializer="zeros", bias_initializer=bias,
                     activity_regularizer=reg)(x)
    feat_T = layers.Reshape((num_features, num_features))(x)
    return layers.Dot(axes=(2, 1))([inputs, feat_T])


def _keras_pointnet():
    inputs = keras.Input(shape=(POINTS, 3))
    x = _tnet(inputs, 3)
    x = _conv_bn(x, MAIN_FEAT)
    x = _conv_bn(x, MAIN_FEAT)
    x = _tnet(x, MAIN_FEAT)
    for f in TNET_CONV:
        x = _conv_bn(x, f)
    x = layers.GlobalMaxPooling1D()(x)
    for f in TNET_DENSE:
        x = _dense_bn(x, f)  # (the script's Dropout(0.3) after each left out)
    outputs = layers.Dense(CLS3, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="pointnet")


def _port_pointnet(orthogonal_penalty=True):
    """The port: channels-last clouds in, logits out (``fit(output_activation="softmax")``); ``Conv1d(k=1)`` on
    the transposed cloud, torch_impl's ``BatchNormalization(momentum=0.0)``, the T-net's last ``Linear`` given
    the ported regularizer with ``torch_impl.regularizers.regularize`` (``fit`` adds it, over the batch size)."""
    from torch_impl import keras_ops as tops
    from torch_impl import regularizers as R
    from torch_impl.nn import BatchNormalization

    class OrthogonalRegularizerPort(R.Regularizer):
        def __init__(self, num_features, l2reg=0.001):
            self.num_features = num_features
            self.l2reg = l2reg
            self.eye = tops.eye(num_features)

        def __call__(self, x):
            x = tops.reshape(x, (-1, self.num_features, self.num_features))
            xxt = tops.tensordot(x, x, axes=(2, 2))
            xxt = tops.reshape(xxt, (-1, self.num_features, self.num_features))
            return tops.sum(self.l2reg * tops.square(xxt - self.eye))

    def conv_bn(i, o):
        return [torch.nn.Conv1d(i, o, 1), BatchNormalization(o, momentum=0.0), torch.nn.ReLU()]

    def dense_bn(i, o):
        return [torch.nn.Linear(i, o), BatchNormalization(o, momentum=0.0), torch.nn.ReLU()]

    class MaxPool(torch.nn.Module):  # GlobalMaxPooling1D over the points of (B, C, P)
        def forward(self, x):
            return x.amax(dim=2)

    class TNet(torch.nn.Module):
        def __init__(self, i, n):
            super().__init__()
            c = (i,) + TNET_CONV
            d = (TNET_CONV[-1],) + TNET_DENSE
            self.n = n
            self.body = torch.nn.Sequential(*sum((conv_bn(a, b) for a, b in zip(c, c[1:])), []), MaxPool(),
                                            *sum((dense_bn(a, b) for a, b in zip(d, d[1:])), []))
            self.out = torch.nn.Linear(TNET_DENSE[-1], n * n)
            if orthogonal_penalty:
                R.regularize(self.out, activity_regularizer=OrthogonalRegularizerPort(n))

        def forward(self, x):  # x: (B, C, P)
            t = self.out(self.body(x)).reshape(-1, self.n, self.n)
            return (x.transpose(1, 2) @ t).transpose(1, 2)  # Dot(axes=(2, 1))([inputs, feat_T])

    class PointNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            c = (MAIN_FEAT,) + TNET_CONV
            d = (TNET_CONV[-1],) + TNET_DENSE
            self.t1 = TNet(3, 3)
            self.mid = torch.nn.Sequential(*conv_bn(3, MAIN_FEAT), *conv_bn(MAIN_FEAT, MAIN_FEAT))
            self.t2 = TNet(MAIN_FEAT, MAIN_FEAT)
            self.head = torch.nn.Sequential(*sum((conv_bn(a, b) for a, b in zip(c, c[1:])), []), MaxPool(),
                                            *sum((dense_bn(a, b) for a, b in zip(d, d[1:])), []),
                                            torch.nn.Linear(TNET_DENSE[-1], CLS3))

        def forward(self, x):  # x: (B, P, 3), as the script feeds it
            return self.head(self.t2(self.mid(self.t1(x.transpose(1, 2)))))

    return PointNet()


@pytest.mark.slow  # 12 s; OrthogonalRegularizer is checked by default in test_regularizers_keras.py
@pytest.mark.parametrize("dt", DTYPES)
def test_pointnet_orthogonal_activity_regularizer_like_keras(dt):
    """The PointNet script: ``compile(loss="sparse_categorical_crossentropy", Adam(0.001),
    metrics=["sparse_categorical_accuracy"])``, ``fit`` with validation data (Keras's shuffle), ``evaluate`` (the
    moving statistics of ``momentum=0.0``: the last training batch's), ``predict``; the port without the T-nets'
    penalty is another run."""
    x, y = _point_clouds(dt, 32, 0)
    xv, yv = _point_clouds(dt, 16, 1)
    kw = dict(epochs=3, batch_size=16, validation_data=(xv, yv), validation_batch_size=8)
    with _precision(dt):
        keras.utils.set_random_seed(11)
        model = _keras_pointnet()
        initial = model.get_weights()
        model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.Adam(learning_rate=0.001),
                      metrics=["sparse_categorical_accuracy"])
        kh = model.fit(x, y, verbose=0, **kw).history
        ke = model.evaluate(xv, yv, verbose=0, return_dict=True)
        kp = model.predict(xv, verbose=0)
        tkw = dict(loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"],
                   output_activation="softmax")
        runs = {}
        for penalty in (True, False):
            net = load_keras_weights(_port_pointnet(penalty), initial)
            h = tfit.fit(net, x, y, seed=11, verbose=0, optimizer=optim.Adam(net.parameters(), learning_rate=0.001),
                         **kw, **tkw).history
            runs[penalty] = (net, h)
        net, th = runs[True]
        te = tfit.evaluate(net, xv, yv, return_dict=True, **tkw)
        tp = tfit.predict(net, xv, output_activation="softmax")
    print(f"\n[{dt}] PointNet, history keys {sorted(kh)}")
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt)
    r = max(_rel(te[k], ke[k]) for k in ke)
    rp = _normwise(tp, kp)
    print(f"  evaluate: Keras {ke} torch_impl {te} max rel {r:.1e}; predict normwise {rp:.1e}")
    assert sorted(te) == sorted(ke) and r <= _tol(dt) and rp <= _tol(dt)
    assert (tp.argmax(-1) == kp.argmax(-1)).all()
    # the script's tensordot pairs every two samples of a batch: the penalty over the batch size grows with the
    # batch, so evaluate (one batch of 16) logs more than the last validation (two batches of 8), in both
    gap = ke["loss"] - kh["val_loss"][-1]
    print(f"  evaluate(batch 16) - last val_loss(batches of 8): Keras {gap:.6f}, torch_impl "
          f"{te['loss'] - th['val_loss'][-1]:.6f}")
    assert gap > 1e-2
    rn = _rel(runs[False][1]["loss"], kh["loss"])
    print(f"  the port without the orthogonal penalty: loss max rel {rn:.1e}")
    assert rn > 1e-2

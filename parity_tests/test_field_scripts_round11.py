"""Real-world Keras scripts, round 11 (custom ``compute_loss``, soft labels, a tutorial's metric zoo, windowed time
series, subclassed losses and metrics, several outputs), ported to PyTorch with torch_impl as a user would port them
from the README.

1. keras.io "Knowledge Distillation" (Keras 3 version): a ``Distiller(keras.Model)`` overriding ``compile`` and
   ``compute_loss`` (``teacher(x, training=False)``, ``student_loss_fn=SparseCategoricalCrossentropy(
   from_logits=True)``, ``distillation_loss_fn=KLDivergence()`` on ``ops.softmax(pred / temperature, axis=1)``,
   ``* temperature**2``, ``alpha=0.1``, ``temperature=10``), the teacher/student convnets (strided ``"same"``
   ``Conv2D``, ``LeakyReLU(negative_slope=0.2)``, ``MaxPooling2D(2, strides=1, padding="same")``, ``Flatten``,
   ``Dense(10)``), ``teacher.fit``, ``distiller.fit``/``evaluate``, the scratch student from ``clone_model``. Port:
   a torch ``Distiller`` module with the same ``compute_loss`` (torch_impl's losses), a loop over Keras's batches
   (``keras_shuffle_order``) with torch_impl's ``Mean`` tracker and ``SparseCategoricalAccuracy``.
2. StackOverflow "label smoothing with sparse categorical crossentropy": ``def scce_with_ls(y, y_hat): y =
   tf.one_hot(tf.cast(y, tf.int32), n_classes); return categorical_crossentropy(y, y_hat, label_smoothing=0.1)``
   in ``compile(loss=...)`` on a softmax output, ``metrics=["accuracy"]``, ``validation_split``; port: the same
   three lines with ``F.one_hot`` and ``torch_impl.losses.categorical_crossentropy`` given to ``torch_impl.fit``.
3. TensorFlow's "Classification on imbalanced data": the tutorial's eleven ``METRICS`` (``BinaryCrossentropy(name=
   'cross entropy')``, ``MeanSquaredError(name='Brier score')``, ``tp``/``fp``/``tn``/``fn``, ``accuracy``,
   ``precision``, ``recall``, ``auc``, ``AUC(name='prc', curve='PR')``), ``make_model(output_bias=np.log([pos /
   neg]))`` with ``Constant(output_bias)``, ``Dense(16, relu, input_shape=...)``, an unseeded ``Dropout(0.5)``,
   initial weights saved and loaded into each model, ``EarlyStopping(monitor='val_prc', mode='max',
   restore_best_weights=True)``, ``class_weight = {0: (1 / neg) * (total / 2.0), 1: ...}``, the NumPy
   oversampling, ``evaluate`` as a list, ``predict`` and the confusion matrix.
4. keras.io "MixUp augmentation for image classification": ``mix_up`` of two shuffled datasets with a Beta draw
   (ratio of Gammas), one-hot labels mixed into soft targets, ``Conv2D``/``MaxPooling2D``/unseeded ``Dropout(0.2)``/
   ``GlobalAveragePooling2D``/``Dense(softmax)``, ``initial_model.save_weights`` + ``load_weights``,
   ``compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])``, ``fit(train_ds_mu,
   validation_data=...)`` (here a Python generator of mixed batches with ``steps_per_epoch``), ``evaluate``.
5. keras.io "Timeseries forecasting for weather prediction": ``normalize`` on the training split,
   ``keras.preprocessing.timeseries_dataset_from_array(x, y, sequence_length=past // step, sampling_rate=step,
   batch_size=...)`` with the targets ``past + future`` steps on, ``LSTM(32)`` -> ``Dense(1)``,
   ``Adam(learning_rate=0.001)``, ``loss="mse"``, ``EarlyStopping(monitor="val_loss", min_delta=0, patience=5)``,
   ``ModelCheckpoint(save_weights_only=True, save_best_only=True)``, ``model.predict`` of validation batches.
6. keras.io guide "Training & evaluation with the built-in methods": ``CustomMSE(keras.losses.Loss)``
   (``regularization_factor``) on ``ops.one_hot`` labels, ``CategoricalTruePositives(keras.metrics.Metric)``
   (``add_variable``, ``assign_add``, ``reset_state``), ``class_weight`` (class 5 twice) and the equivalent
   ``sample_weight``, each on a fresh ``get_uncompiled_model()``; ports subclass ``torch_impl.losses.Loss`` and
   ``torch_impl.metrics.Metric``.
7. StackOverflow "class_weight for a multi-output model": ``class_weight`` refused for two outputs (Keras and
   torch_impl, the same message); the workaround, scikit-learn's ``compute_sample_weight`` per output as
   ``sample_weight=[w_kind, w_flag]``, ``loss_weights``, per-output ``metrics`` (``AUC``) and
   ``weighted_metrics``, ``validation_split``, ``evaluate``, ``predict``.

Small synthetic data shaped like each script's, few epochs; both sides from the same weights (``keras_init_(net,
seed=S)`` after ``keras.utils.set_random_seed(S)``: weights and unseeded Dropout seeds, several models in the
script's construction order) and the same batches (``fit(seed=S)``, ``keras_shuffle_order``, the same generator).
Standards (DESIGN.md): float64 histories within 1e-8 relative every epoch, float32 within 1e-3 with the same
predicted classes. Measured (max relative error over every history key and epoch; ``slow`` runs marked *):

======================  ================================================  =============================================
script                  float64                                           float32 (``slow``)
======================  ================================================  =============================================
1 distillation          teacher 0, distiller 6.5e-15 (the KL of two       distiller 2.9e-6 (the same cancellation),
                        softmaxes at T=10: a difference of near-equal     teacher and scratch 0; evaluate 1.2e-6;
                        logs), evaluate 1.6e-14; weights 5.0e-15          weights 4.9e-6 norm-wise
2 label smoothing       1.8e-16; predict 3.1e-16, same classes            1.7e-7; predict 1.4e-7, same classes
3 imbalanced data*      weighted 3.0e-16, oversampled 6.0e-16;            2.4e-7 / 3.0e-7; evaluate 2.3e-7; the same
                        evaluate (12 figures) 2.8e-16; predict 6.0e-16;   confusion matrices
                        the same confusion matrices
4 MixUp                 4.0e-16; predict 3.3e-16; test accuracy and       1.1e-7; predict 1.7e-7; the same
                        Dropout seed state equal
5 weather*              2.1e-16; predictions 1.6e-16; best checkpoints'   1.5e-7; predictions 2.2e-7; checkpoints
                        weights 2.8e-16 (initial: QR rounding 2.9e-16)    3.6e-7
6 training guide        3.0e-16 (the four runs); weights 1.2e-16         0 (every figure equal); weights 9.0e-8
7 multi-output*         2.9e-16; evaluate 1.6e-16; predict 2.9e-16        2.4e-7; evaluate equal; predict 1.8e-7
======================  ================================================  =============================================

What the ports found (each pinned by a test):

* torch_impl gap, fixed (``torch_impl/initializers.py``; ``test_constant_initializer_takes_numpy_values_like_keras``):
  script 3 writes ``tf.keras.initializers.Constant(np.log([pos / neg]))``, a NumPy array;
  ``torch_impl.initializers.Constant`` refused it (``ValueError: Constant takes a number``), and ``float(...)`` of
  it, the obvious way round, rounds through float32 (9.9e-8 off Keras's float64 bias): Keras's ``ops.cast`` keeps a
  NumPy value's precision and rounds a Python float or list through float32. Now as Keras (arrays broadcast).
* torch_impl gap, fixed (``torch_impl/utils.py``: ``timeseries_dataset_from_array``;
  ``test_timeseries_dataset_from_array_like_keras``): script 5 builds its data with Keras's
  ``timeseries_dataset_from_array``, which torch_impl lacked; its windows, the targets' offset (``targets`` sliced as
  ``data``) and the window count are easy to get wrong by hand. The new function gives Keras's batches element for
  element (5 argument sets, with and without targets, unbatched) and Keras's ``ValueError`` messages;
  ``shuffle=True`` raises ``NotImplementedError`` (TensorFlow's shuffle buffer is not replayed).
* torch_impl difference, fixed (``torch_impl/fit.py``, ``_MultiOutput.sample_weights``;
  ``test_multi_output_sample_weight_structures_like_keras``): for script 7's list-output model Keras refuses a
  ``sample_weight`` whose structure is not ``y``'s (a dict for a list, a list for a dict: "You should provide one
  `sample_weight` array per output in `y`"); torch_impl trained with either. Now the same ``ValueError``.
* Keras 3.15.1 bug, not reproduced (``test_multi_output_dict_sample_weight_where_keras_crashes``): a dict ``y``
  and a dict ``sample_weight`` keyed by output name pass Keras's data adapter, then ``CompileLoss`` indexes the
  dict by position (``KeyError: 0``) for a functional model with list outputs; torch_impl trains each output with
  its own weights, equal to Keras's run given the same data as lists (README, "Where we deliberately differ").
* Keras behaviours, matched by the ports: the tutorial's ``Distiller`` trains its teacher too (the teacher is a
  tracked attribute, so its weights are in ``distiller.trainable_variables``; ``training=False`` only switches
  inference behaviour; KLDivergence's gradient through ``softmax(teacher_pred / T)`` moves the teacher by 1.2e-2);
  the usual torch port (teacher under ``no_grad``, an optimizer on the student) ends 4.6e-2 off Keras's loss
  (``test_keras_distiller_trains_the_teacher``). ``Dense(bias_initializer=None)`` (script 3's ``make_model()``
  without ``output_bias``) is not Keras's default zeros but ``add_weight``'s glorot_uniform: one more seed drawn,
  so every later unseeded Dropout's seed moves (the port: ``initialize(out, bias_initializer="glorot_uniform")``;
  with zero biases the class-weighted model's history was 15% off in ``Brier score``;
  ``test_dense_bias_initializer_none_draws_a_glorot_bias``). Keras's ``load_weights`` does not restore a Dropout's
  seed state (each model keeps its own). The guide's ``CategoricalTruePositives`` compares ``(B,)`` labels with
  ``(B, 1)`` argmaxes: a ``(B, B)`` broadcast, 2202 "true positives" of 320 samples, in both. The label-smoothing
  answer raises on CIFAR-style ``(N, 1)`` labels in both (``one_hot`` gives ``(B, 1, C)``;
  ``test_label_smoothing_answer_with_column_labels_raises_in_both``), and ``SparseCategoricalCrossentropy(
  label_smoothing=...)`` is a ``TypeError`` in both. The imbalanced-data tutorial's metrics need ``(N, 1)``
  labels: with ``(N,)`` labels Keras's ``BinaryCrossentropy`` metric raises (ranks), as torch_impl's does; its
  ``zip(model.metrics_names, results)`` prints two lines only in Keras 3 (``['loss', 'compile_metrics']``).
* Port notes: ``tf.keras.initializers.Constant`` of a NumPy array keeps float64; a Dropout after a convolution
  draws its mask on the channels-last map (``tnn.Dropout(x.movedim(1, -1))``, README); torch's LSTM recurrent
  kernel from ``keras_init_`` is Keras's orthogonal matrix within QR rounding (2.9e-16), not bit for bit.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers, ops  # noqa: E402

from parity_tests.test_field_scripts_round2 import (  # noqa: E402
    _check_history, DTYPES, _histogram, _normwise, _precision, _rel, _weights_apart)
from parity_tests.test_field_scripts_round7 import _same_pad2d  # noqa: E402
from torch_impl import callbacks as tcb  # noqa: E402
from torch_impl import initializers  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, optim  # noqa: E402
from torch_impl import metrics as tmetrics  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl.initializers import initialize  # noqa: E402
from torch_impl.nn import keras_init_, keras_weights  # noqa: E402
from torch_impl import utils as torch_impl_utils  # noqa: E402
from torch_impl.utils import keras_shuffle_order  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]


def _same_initial_weights(net: torch.nn.Module, keras_weights_: list) -> float:
    """``keras_init_(seed=...)``'s weights against the Keras model's, array by array (bit for bit)."""
    ours = keras_weights(net)
    assert len(ours) == len(keras_weights_)
    worst = 0.0
    for a, b in zip(ours, keras_weights_):
        assert a.shape == b.shape, (a.shape, b.shape)
        worst = max(worst, float(np.max(np.abs(a - b))))
    assert worst == 0.0, worst
    return worst


def _nchw(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def _digits(n: int, size: int = 8, classes: int = 10, seed: int = 0):
    """MNIST-like ``(N, size, size, 1)`` images in [0, 1] (``x / 255.0``): a class-dependent stroke pattern and
    noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    proto = rng.uniform(0, 1, (classes, size, size, 1)) > 0.6
    x = 0.7 * proto[y] + 0.3 * rng.uniform(0, 1, (n, size, size, 1))
    return np.round(255 * x) / 255.0, y


# --------------------------------------------------------------------------------------------------------------
# 1. keras.io "Knowledge Distillation": a Distiller(keras.Model) overriding compute_loss
# --------------------------------------------------------------------------------------------------------------


class KerasDistiller(keras.Model):
    """The tutorial's ``Distiller`` (Keras 3 version), as written."""

    def __init__(self, student, teacher):
        super().__init__()
        self.teacher = teacher
        self.student = student

    def compile(self, optimizer, metrics, student_loss_fn, distillation_loss_fn, alpha=0.1, temperature=3):
        super().compile(optimizer=optimizer, metrics=metrics)
        self.student_loss_fn = student_loss_fn
        self.distillation_loss_fn = distillation_loss_fn
        self.alpha = alpha
        self.temperature = temperature

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, allow_empty=False):
        teacher_pred = self.teacher(x, training=False)
        student_loss = self.student_loss_fn(y, y_pred)
        distillation_loss = self.distillation_loss_fn(
            ops.softmax(teacher_pred / self.temperature, axis=1),
            ops.softmax(y_pred / self.temperature, axis=1),
        ) * (self.temperature**2)
        loss = self.alpha * student_loss + (1 - self.alpha) * distillation_loss
        return loss

    def call(self, x):
        return self.student(x)


def _keras_convnet(filters: tuple, name: str):
    """The tutorial's teacher (256, 512 filters) and student (16, 32), scaled down to 8x8 images."""
    return keras.Sequential([
        keras.Input(shape=(8, 8, 1)),
        layers.Conv2D(filters[0], (3, 3), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.MaxPooling2D(pool_size=(2, 2), strides=(1, 1), padding="same"),
        layers.Conv2D(filters[1], (3, 3), strides=(2, 2), padding="same"),
        layers.Flatten(),
        layers.Dense(10),
    ], name=name)


class ConvNet(torch.nn.Module):
    """The port of the teacher/student: NCHW, TensorFlow's "same" padding at the end, Keras's LeakyReLU slope, a
    channels-last Flatten (README)."""

    def __init__(self, filters: tuple):
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, filters[0], 3, stride=2)
        self.act = tnn.LeakyReLU(negative_slope=0.2)
        self.c2 = torch.nn.Conv2d(filters[0], filters[1], 3, stride=2)
        self.dense = torch.nn.Linear(2 * 2 * filters[1], 10)

    def forward(self, x):
        x = self.act(self.c1(_same_pad2d(x, 3, 2)))
        x = F.max_pool2d(_same_pad2d(x, 2, 1, value=-float("inf")), 2, stride=1)
        x = self.c2(_same_pad2d(x, 3, 2))
        return self.dense(x.movedim(1, -1).flatten(1))


class Distiller(torch.nn.Module):
    """The port: Keras's ``Distiller`` as a torch module (``forward`` is its ``call``), ``compute_loss`` with
    torch_impl's losses; teacher made first, then student, then the scratch student (Keras's construction order,
    which ``keras_init_(seed=...)`` replays)."""

    def __init__(self, student, teacher, scratch=None):
        super().__init__()
        self.teacher = teacher
        self.student = student
        self.scratch = scratch

    def forward(self, x):
        return self.student(x)

    def teacher_and_student(self) -> list:
        """Keras's ``distiller.trainable_variables``: the teacher's weights and the student's."""
        return list(self.teacher.parameters()) + list(self.student.parameters())

    def compute_loss(self, x, y, y_pred, student_loss_fn, distillation_loss_fn, alpha, temperature,
                     teacher_grad: bool = True):
        with torch.set_grad_enabled(teacher_grad and torch.is_grad_enabled()):
            teacher_pred = self.teacher(x)
        student_loss = student_loss_fn(y, y_pred)
        distillation_loss = distillation_loss_fn(
            torch.softmax(teacher_pred / temperature, dim=1),
            torch.softmax(y_pred / temperature, dim=1),
        ) * (temperature**2)
        return alpha * student_loss + (1 - alpha) * distillation_loss


def _distill_port(d: Distiller, x, y, order, epochs: int, opt, teacher_grad: bool, batch_size: int = 32):
    """``distiller.fit(x, y, epochs)``'s train steps as a torch loop: Keras's batches (``order``), the loss figure
    Keras's ``Mean`` tracker (``sample_weight`` = batch size), ``SparseCategoricalAccuracy`` on the student's
    logits."""
    student_loss_fn = losses.SparseCategoricalCrossentropy(from_logits=True)
    distillation_loss_fn = losses.KLDivergence()
    loss_tracker, acc = tmetrics.Mean(name="loss"), tmetrics.SparseCategoricalAccuracy()
    xt, yt = torch.as_tensor(x, dtype=torch.get_default_dtype()), torch.as_tensor(y)
    history = {"loss": [], "sparse_categorical_accuracy": []}
    for _ in range(epochs):
        loss_tracker.reset_state()
        acc.reset_state()
        for start in range(0, len(order), batch_size):
            idx = torch.as_tensor(order[start:start + batch_size])
            xb, yb = xt[idx], yt[idx]
            y_pred = d(xb)
            loss = d.compute_loss(xb, yb, y_pred, student_loss_fn, distillation_loss_fn, alpha=0.1, temperature=10,
                                  teacher_grad=teacher_grad)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_tracker.update_state(loss.detach(), sample_weight=len(idx))
            acc.update_state(yb, y_pred.detach())
        history["loss"].append(float(loss_tracker.result()))
        history["sparse_categorical_accuracy"].append(float(acc.result()))
    return history


def _distill_evaluate(d: Distiller, x, y, batch_size: int = 32) -> dict:
    """``distiller.evaluate(x_test, y_test, return_dict=True)``: Keras's ``test_step`` calls ``compute_loss`` too."""
    loss_tracker, acc = tmetrics.Mean(name="loss"), tmetrics.SparseCategoricalAccuracy()
    xt, yt = torch.as_tensor(x, dtype=torch.get_default_dtype()), torch.as_tensor(y)
    with torch.no_grad():
        for start in range(0, len(y), batch_size):
            xb, yb = xt[start:start + batch_size], yt[start:start + batch_size]
            y_pred = d(xb)
            loss = d.compute_loss(xb, yb, y_pred, losses.SparseCategoricalCrossentropy(from_logits=True),
                                  losses.KLDivergence(), alpha=0.1, temperature=10)
            loss_tracker.update_state(loss, sample_weight=len(yb))
            acc.update_state(yb, y_pred)
    return {"loss": float(loss_tracker.result()), "sparse_categorical_accuracy": float(acc.result())}


@functools.lru_cache(maxsize=None)  # the tests of one run share it
def _run_distillation(dt: str, seed: int = 11, scratch: bool = False):
    """The tutorial in Keras and its port; ``out["usual"]``: the usual torch port as well (the teacher frozen);
    ``scratch``: the tutorial's closing comparison too, a student trained alone (``clone_model``)."""
    x, y = _digits(160, seed=1)
    x = x.astype(dt)
    x_train, y_train, x_test, y_test = x[:128], y[:128], x[128:], y[128:]
    out = {}
    with _precision(dt):
        keras.utils.set_random_seed(seed)
        teacher = _keras_convnet((16, 32), "teacher")
        student = _keras_convnet((4, 8), "student")
        student_scratch = keras.models.clone_model(student) if scratch else None
        d = keras_init_(Distiller(ConvNet((4, 8)), ConvNet((16, 32)), ConvNet((4, 8)) if scratch else None),
                        seed=seed)
        # keras_init_ replays construction order: the torch module declares teacher, student, scratch
        out["init"] = _same_initial_weights(
            d, teacher.get_weights() + student.get_weights() + (student_scratch.get_weights() if scratch else []))
        # Train teacher as usual
        teacher.compile(optimizer=keras.optimizers.Adam(),
                        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                        metrics=[keras.metrics.SparseCategoricalAccuracy()])
        out["teacher"] = (teacher.fit(x_train, y_train, epochs=3, verbose=0).history,
                          tfit.fit(d.teacher, _nchw(x_train), y_train, epochs=3, seed=seed, verbose=0,
                                   optimizer=optim.Adam(d.teacher.parameters()),
                                   loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                                   metrics=[tmetrics.SparseCategoricalAccuracy()]).history)
        out["teacher_eval"] = (
            teacher.evaluate(x_test, y_test, verbose=0, return_dict=True),
            tfit.evaluate(d.teacher, _nchw(x_test), y_test, loss=losses.SparseCategoricalCrossentropy(
                from_logits=True), metrics=[tmetrics.SparseCategoricalAccuracy()]))
        teacher_before = [w.copy() for w in teacher.get_weights()]
        # Initialize and compile distiller
        distiller = KerasDistiller(student=student, teacher=teacher)
        distiller.compile(
            optimizer=keras.optimizers.Adam(),
            metrics=[keras.metrics.SparseCategoricalAccuracy()],
            student_loss_fn=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            distillation_loss_fn=keras.losses.KLDivergence(),
            alpha=0.1,
            temperature=10,
        )
        # Distill teacher to student
        kh = distiller.fit(x_train, y_train, epochs=3, verbose=0).history
        k_eval = distiller.evaluate(x_test, y_test, verbose=0, return_dict=True)
        out["teacher_moved"] = max(float(np.max(np.abs(a - b))) for a, b in zip(teacher.get_weights(),
                                                                                teacher_before))
        # the port: Keras's distiller.trainable_variables are the teacher's and the student's
        order = keras_shuffle_order(len(y_train), seed)
        th = _distill_port(d, _nchw(x_train), y_train, order, 3, optim.Adam(d.teacher_and_student()), True)
        t_eval = _distill_evaluate(d, _nchw(x_test), y_test)
        # the usual port: the same teacher (trained anew from the same weights), frozen while distilling
        u = keras_init_(Distiller(ConvNet((4, 8)), ConvNet((16, 32)), ConvNet((4, 8))), seed=seed)
        tfit.fit(u.teacher, _nchw(x_train), y_train, epochs=3, seed=seed, verbose=0,
                 optimizer=optim.Adam(u.teacher.parameters()),
                 loss=losses.SparseCategoricalCrossentropy(from_logits=True))
        out["usual"] = _distill_port(u, _nchw(x_train), y_train, order, 3, optim.Adam(u.student.parameters()), False)
        out["usual_eval"] = _distill_evaluate(u, _nchw(x_test), y_test)
        out["distill"] = (kh, th)
        out["distill_eval"] = (k_eval, t_eval)
        out["weights"] = _weights_apart(torch.nn.ModuleList([d.teacher, d.student]),
                                        teacher.get_weights() + student.get_weights())
        if not scratch:
            return out
        # Train student as done usually (for comparison)
        student_scratch.compile(optimizer=keras.optimizers.Adam(),
                                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                                metrics=[keras.metrics.SparseCategoricalAccuracy()])
        out["scratch"] = (student_scratch.fit(x_train, y_train, epochs=3, verbose=0).history,
                          tfit.fit(d.scratch, _nchw(x_train), y_train, epochs=3, seed=seed, verbose=0,
                                   optimizer=optim.Adam(d.scratch.parameters()),
                                   loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                                   metrics=[tmetrics.SparseCategoricalAccuracy()]).history)
    return out


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.slow  # 6-12 s in the suite: make test-all (make test headroom)
def test_knowledge_distillation_like_keras(dt):
    """The tutorial as written: the teacher trained with ``fit``, ``Distiller.compile(optimizer=Adam(),
    metrics=[SparseCategoricalAccuracy()], student_loss_fn=SparseCategoricalCrossentropy(from_logits=True),
    distillation_loss_fn=KLDivergence(), alpha=0.1, temperature=10)``, ``distiller.fit``, ``distiller.evaluate``,
    the scratch student (``clone_model``; in the ``slow`` float32 run). The port's loop steps the teacher too:
    Keras's distiller does
    (``test_keras_distiller_trains_the_teacher``)."""
    out = _run_distillation(dt, scratch=dt == "float32")
    print(f"knowledge distillation, {dt}: initial weights of teacher, student (scratch student) {out['init']:.1e}")
    for part in ("teacher", "distill", "scratch")[:3 if "scratch" in out else 2]:
        kh, th = out[part]
        print(f" {part}:")
        assert sorted(th) == sorted(kh)
        _check_history(th, kh, dt)
    for part in ("teacher_eval", "distill_eval"):
        ke, te = out[part]
        r = max(_rel(te[k], ke[k]) for k in ke)
        print(f" {part}: Keras {ke} torch_impl {te}: max rel {r:.1e}")
        assert r <= (1e-12 if dt == "float64" else 1e-5)
    print(f" teacher and student weights after distillation {out['weights']:.1e} (norm-wise); Keras's teacher "
          f"moved by {out['teacher_moved']:.1e} while distilling")
    assert out["weights"] <= (1e-12 if dt == "float64" else 1e-4)


@pytest.mark.slow  # runs the slow test_knowledge_distillation_like_keras's float64 distillation (20-30 s)
def test_keras_distiller_trains_the_teacher():
    """Keras quirk of the tutorial (matched, not copied blindly): its teacher is a tracked attribute of the
    ``Distiller``, so ``distiller.trainable_variables`` hold the teacher's weights, and ``teacher(x,
    training=False)`` in ``compute_loss`` only switches inference behaviour: KLDivergence's gradient through
    ``softmax(teacher_pred / T)`` (its ``y_true``) steps the teacher with the student. The usual torch port (the
    teacher under ``torch.no_grad()``, an optimizer on the student's parameters) trains another student."""
    out = _run_distillation("float64", scratch=False)  # the main test's run (cached)
    kh, th = out["distill"]
    r = _rel(out["usual"]["loss"], kh["loss"])
    print(f"Keras's teacher moved by {out['teacher_moved']:.1e} during distiller.fit; the usual port (teacher "
          f"frozen): loss Keras {np.round(kh['loss'], 6).tolist()} port {np.round(out['usual']['loss'], 6).tolist()}"
          f", max rel {r:.1e}; evaluate Keras {out['distill_eval'][0]} usual port {out['usual_eval']}")
    assert out["teacher_moved"] > 1e-4
    assert r > 1e-3  # far past the float64 standard (1e-8); the faithful port is within 1e-14
    assert _rel(th["loss"], kh["loss"]) <= 1e-12


# --------------------------------------------------------------------------------------------------------------
# 2. StackOverflow "label smoothing with sparse categorical crossentropy": one_hot inside a custom loss
# --------------------------------------------------------------------------------------------------------------

N_CLASSES = 4


def scce_with_ls(y, y_hat):
    """The StackOverflow answer, as pasted (``SparseCategoricalCrossentropy`` has no ``label_smoothing``)."""
    y = tf.one_hot(tf.cast(y, tf.int32), N_CLASSES)
    return keras.losses.categorical_crossentropy(y, y_hat, label_smoothing=0.1)


def scce_with_ls_port(y, y_hat):
    """The port: the same three lines with torch and torch_impl's functional loss."""
    y = F.one_hot(y.long(), N_CLASSES).to(y_hat.dtype)
    return losses.categorical_crossentropy(y, y_hat, label_smoothing=0.1)


def _blobs(n: int, features: int = 6, classes: int = N_CLASSES, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centers = rng.normal(0, 1.5, (classes, features))
    return centers[y] + rng.normal(0, 1, (n, features)), y


def _keras_mlp(classes: int = N_CLASSES):
    return keras.Sequential([keras.Input((6,)), layers.Dense(16, activation="relu"),
                             layers.Dense(classes, activation="softmax")])


def _mlp(classes: int = N_CLASSES):
    return torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, classes))


@pytest.mark.parametrize("dt", DTYPES)
def test_label_smoothing_sparse_labels_answer_like_keras(dt):
    """``model.compile("adam", loss=scce_with_ls, metrics=["accuracy"])`` on a softmax output with ``(N,)`` integer
    labels, ``fit(validation_split=0.2)``; the port hands the same function (torch's ``one_hot``) to
    ``torch_impl.fit``, softmax logits out. Keras's ``"accuracy"`` is the sparse one here, and the custom function
    gets the softmax's logits behind it (Keras's ``_keras_logits``) in both."""
    x, y = _blobs(160)
    x = x.astype(dt)
    with _precision(dt):
        keras.utils.set_random_seed(21)
        model = _keras_mlp()
        net = keras_init_(_mlp(), seed=21)
        model.compile("adam", loss=scce_with_ls, metrics=["accuracy"])
        kh = model.fit(x, y, batch_size=16, epochs=4, validation_split=0.2, verbose=0).history
        th = tfit.fit(net, x, y, batch_size=16, epochs=4, validation_split=0.2, loss=scce_with_ls_port,
                      optimizer="adam", metrics=["accuracy"], output_activation="softmax", seed=21,
                      verbose=0).history
        kp, tp = model.predict(x, verbose=0), tfit.predict(net, x, output_activation="softmax")
    print(f"label smoothing with sparse labels (one_hot in the loss), {dt}:")
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt)
    r = _normwise(tp, kp)
    print(f"  predict {r:.1e} norm-wise; classes Keras {_histogram(kp.argmax(1), 4)} torch_impl "
          f"{_histogram(tp.argmax(1), 4)}")
    assert r <= (1e-12 if dt == "float64" else 1e-5)
    assert (kp.argmax(1) == tp.argmax(1)).all()


def test_label_smoothing_answer_with_column_labels_raises_in_both():
    """CIFAR-10's ``y_train`` is ``(N, 1)``: ``one_hot`` makes ``(B, 1, C)`` against the ``(B, C)`` output and
    Keras's ``categorical_crossentropy`` raises ``ValueError`` (ranks), as torch_impl's does (shapes); the
    answer's fix, ``tf.squeeze``/``y.reshape(-1)`` first, trains as the ``(N,)`` labels. And
    ``SparseCategoricalCrossentropy(label_smoothing=0.1)``, the line people try first, is a ``TypeError`` in
    both."""
    x, y = _blobs(32)
    with _precision("float64"):
        keras.utils.set_random_seed(21)
        model = _keras_mlp()
        net = keras_init_(_mlp(), seed=21)
        model.compile("adam", loss=scce_with_ls)
        with pytest.raises(ValueError, match="same rank") as k_err:
            model.fit(x, y[:, None], batch_size=16, epochs=1, verbose=0)
        with pytest.raises(ValueError, match="same shape") as t_err:
            tfit.fit(net, x, y[:, None], batch_size=16, epochs=1, loss=scce_with_ls_port, optimizer="adam",
                     output_activation="softmax", verbose=0)
    print(f"(N, 1) labels: Keras {type(k_err.value).__name__}: {str(k_err.value)[:110]}\n"
          f"  torch_impl {type(t_err.value).__name__}: {str(t_err.value)[:110]}")
    with pytest.raises(TypeError, match="label_smoothing"):
        keras.losses.SparseCategoricalCrossentropy(label_smoothing=0.1)
    with pytest.raises(TypeError, match="label_smoothing"):
        losses.SparseCategoricalCrossentropy(label_smoothing=0.1)


# --------------------------------------------------------------------------------------------------------------
# 3. TensorFlow's "Classification on imbalanced data": output bias, eleven metrics, class weights, oversampling
# --------------------------------------------------------------------------------------------------------------


def _keras_metrics():
    """The tutorial's ``METRICS``, as written (names with spaces included)."""
    return [
        keras.metrics.BinaryCrossentropy(name='cross entropy'),  # same as model's loss
        keras.metrics.MeanSquaredError(name='Brier score'),
        keras.metrics.TruePositives(name='tp'),
        keras.metrics.FalsePositives(name='fp'),
        keras.metrics.TrueNegatives(name='tn'),
        keras.metrics.FalseNegatives(name='fn'),
        keras.metrics.BinaryAccuracy(name='accuracy'),
        keras.metrics.Precision(name='precision'),
        keras.metrics.Recall(name='recall'),
        keras.metrics.AUC(name='auc'),
        keras.metrics.AUC(name='prc', curve='PR'),  # precision-recall curve
    ]


def _torch_metrics():
    """The port: the same list from ``torch_impl.metrics``."""
    return [
        tmetrics.BinaryCrossentropy(name='cross entropy'),
        tmetrics.MeanSquaredError(name='Brier score'),
        tmetrics.TruePositives(name='tp'),
        tmetrics.FalsePositives(name='fp'),
        tmetrics.TrueNegatives(name='tn'),
        tmetrics.FalseNegatives(name='fn'),
        tmetrics.BinaryAccuracy(name='accuracy'),
        tmetrics.Precision(name='precision'),
        tmetrics.Recall(name='recall'),
        tmetrics.AUC(name='auc'),
        tmetrics.AUC(name='prc', curve='PR'),
    ]


def make_model(n_features, metrics=None, output_bias=None):
    """The tutorial's ``make_model``, as written (``input_shape`` on the first Dense, an unseeded Dropout)."""
    if output_bias is not None:
        output_bias = tf.keras.initializers.Constant(output_bias)
    model = keras.Sequential([
        keras.layers.Dense(16, activation='relu', input_shape=(n_features,)),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(1, activation='sigmoid', bias_initializer=output_bias),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss=keras.losses.BinaryCrossentropy(),
                  metrics=metrics or _keras_metrics())
    return model


class FraudNet(torch.nn.Module):
    """The port of ``make_model``'s network: logits out (``output_activation="sigmoid"``), an unseeded
    ``tnn.Dropout``. ``bias_initializer=None`` (``make_model()`` without ``output_bias``) is not Keras's default
    zeros but ``add_weight``'s default, glorot_uniform: one more seed drawn (``test_dense_bias_initializer_none_
    draws_a_glorot_bias``); ``glorot_bias=False`` is the port that misses it."""

    def __init__(self, n_features: int, output_bias=None, glorot_bias: bool = True):
        super().__init__()
        self.hidden = torch.nn.Linear(n_features, 16)
        self.drop = tnn.Dropout(0.5)
        self.out = torch.nn.Linear(16, 1)
        if output_bias is not None:
            initialize(self.out, bias_initializer=initializers.Constant(output_bias))  # the tutorial's array
        elif glorot_bias:
            initialize(self.out, bias_initializer="glorot_uniform")

    def forward(self, x):
        return self.out(self.drop(torch.relu(self.hidden(x))))


def _transactions(n: int = 900, features: int = 6, seed: int = 4):
    """Credit-card-like data: ~6% positives; StandardScaler then ``np.clip(..., -5, 5)`` as the tutorial."""
    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=n) < 0.06).astype(np.int64)
    x = rng.standard_t(3, (n, features)) + 1.4 * y[:, None] * rng.normal(1, 0.5, features)
    x = (x - x[:600].mean(0)) / x[:600].std(0)
    return np.clip(x, -5, 5), y.reshape(-1, 1)  # the tutorial's labels: (N, 1) (``bool_train_labels = y[:, 0]``)


def _confusion(labels, predictions, p=0.5):
    from sklearn.metrics import confusion_matrix
    return confusion_matrix(labels, predictions > p).tolist()


def _run_imbalanced(dt: str, variants=("baseline", "weighted"), seed: int = 8, epochs: int = 12, patience: int = 3,
                    glorot_bias: bool = True):
    """The tutorial's ``EPOCHS = 100`` and ``patience=10`` scaled to ``epochs`` and ``patience``; ``BATCH_SIZE =
    2048`` of 182,276 rows to 64 of 600."""
    x, y = _transactions()
    x = x.astype(dt)
    train_features, train_labels = x[:600], y[:600]
    val_features, val_labels = x[600:750], y[600:750]
    test_features, test_labels = x[750:], y[750:]
    neg, pos = np.bincount(train_labels[:, 0])
    total = neg + pos
    BATCH_SIZE = 64
    out = {}
    with _precision(dt):
        keras.utils.set_random_seed(seed)
        initial_bias = np.log([pos / neg])
        model = make_model(x.shape[1], output_bias=initial_bias)
        keras_models = {v: make_model(x.shape[1]) for v in variants}
        # the port: every network made in the script's order (keras_init_ replays the weights and Dropout seeds)
        nets = keras_init_(torch.nn.ModuleList([FraudNet(x.shape[1], output_bias=initial_bias)] + [
            FraudNet(x.shape[1], glorot_bias=glorot_bias) for _ in variants]), seed=seed)
        out["init"] = _same_initial_weights(nets[0], model.get_weights())
        out["initial_loss"] = (model.evaluate(train_features, train_labels, batch_size=BATCH_SIZE, verbose=0)[0],
                               tfit.evaluate(nets[0], train_features, train_labels, batch_size=BATCH_SIZE,
                                             loss=losses.BinaryCrossentropy(), output_activation="sigmoid",
                                             return_dict=False, metrics=_torch_metrics())[0])
        weight_for_0 = (1 / neg) * (total / 2.0)
        weight_for_1 = (1 / pos) * (total / 2.0)
        class_weight = {0: weight_for_0, 1: weight_for_1}
        # the tutorial's NumPy oversampling
        bool_train_labels = train_labels[:, 0] != 0
        pos_features, neg_features = train_features[bool_train_labels], train_features[~bool_train_labels]
        pos_labels, neg_labels = train_labels[bool_train_labels], train_labels[~bool_train_labels]
        np.random.seed(seed)
        ids = np.arange(len(pos_features))
        choices = np.random.choice(ids, len(neg_features))
        res_pos_features, res_pos_labels = pos_features[choices], pos_labels[choices]
        resampled_features = np.concatenate([res_pos_features, neg_features], axis=0)
        resampled_labels = np.concatenate([res_pos_labels, neg_labels], axis=0)
        order = np.arange(len(resampled_labels))
        np.random.shuffle(order)
        resampled_features, resampled_labels = resampled_features[order], resampled_labels[order]
        for i, v in enumerate(variants):
            k = keras_models[v]
            k.set_weights(model.get_weights())  # model.load_weights(initial_weights): weights, not Dropout seeds
            net = nets[1 + i]
            net.load_state_dict({**net.state_dict(), **{n: p for n, p in nets[0].state_dict().items()
                                                        if "drop" not in n}})
            fx, fy = (resampled_features, resampled_labels) if v == "oversampled" else (train_features,
                                                                                      train_labels)
            cw = class_weight if v == "weighted" else None
            early_stopping = keras.callbacks.EarlyStopping(monitor='val_prc', verbose=0, patience=patience, mode='max',
                                                           restore_best_weights=True)
            kh = k.fit(fx, fy, batch_size=BATCH_SIZE, epochs=epochs, callbacks=[early_stopping],
                       validation_data=(val_features, val_labels), class_weight=cw, verbose=0).history
            th = tfit.fit(net, fx, fy, batch_size=BATCH_SIZE, epochs=epochs, class_weight=cw,
                          callbacks=[tcb.EarlyStopping(monitor='val_prc', patience=patience, mode='max',
                                                       restore_best_weights=True)],
                          validation_data=(val_features, val_labels), loss=losses.BinaryCrossentropy(),
                          optimizer=optim.Adam(net.parameters(), learning_rate=1e-3), metrics=_torch_metrics(),
                          output_activation="sigmoid", seed=seed, verbose=0).history
            k_results = k.evaluate(test_features, test_labels, batch_size=BATCH_SIZE, verbose=0)
            t_results = tfit.evaluate(net, test_features, test_labels, batch_size=BATCH_SIZE,
                                      loss=losses.BinaryCrossentropy(), metrics=_torch_metrics(),
                                      output_activation="sigmoid", return_dict=False)
            kp = k.predict(test_features, batch_size=BATCH_SIZE, verbose=0)
            tp = tfit.predict(net, test_features, batch_size=BATCH_SIZE, output_activation="sigmoid")
            out[v] = dict(history=(kh, th), evaluate=(k_results, t_results), predict=(kp, tp),
                          cm=(_confusion(test_labels, kp), _confusion(test_labels, tp)),
                          names=k.metrics_names)
    return out


def _check_imbalanced(out: dict, dt: str) -> None:
    print(f"  initial weights {out['init']:.1e}; initial loss with the output bias log(pos/neg): Keras "
          f"{out['initial_loss'][0]:.6f} torch_impl {out['initial_loss'][1]:.6f}")
    assert _rel(out["initial_loss"][1], out["initial_loss"][0]) <= (1e-12 if dt == "float64" else 1e-5)
    for v in (k for k in out if isinstance(out[k], dict)):
        kh, th = out[v]["history"]
        print(f" {v}: {len(kh['loss'])} epochs in both")
        assert sorted(th) == sorted(kh)
        _check_history(th, kh, dt)
        (ke, te), (kp, tp), (kc, tc) = out[v]["evaluate"], out[v]["predict"], out[v]["cm"]
        assert len(te) == len(ke) == 12
        r_eval, r_pred = _rel(te, ke), _normwise(tp, kp)
        print(f"  evaluate (the 12 figures) max rel {r_eval:.1e}; predict {r_pred:.1e} norm-wise; confusion matrix "
              f"Keras {kc} torch_impl {tc}; Keras's metrics_names {out[v]['names']}")
        assert r_eval <= (1e-12 if dt == "float64" else 1e-5)
        assert r_pred <= (1e-12 if dt == "float64" else 1e-5)
        assert kc == tc


@pytest.mark.slow  # Keras's fit with the eleven metrics costs 8 s to trace
@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_imbalanced_data_tutorial_like_keras(dt):
    """The tutorial's baseline and class-weighted models: ``make_model(output_bias=np.log([pos/neg]))``, its
    initial weights saved and loaded into each model (not the Dropout seeds: Keras's ``load_weights`` leaves the
    seed state alone), eleven metrics under the tutorial's names (``"cross entropy"``, ``"Brier score"``, ``tp`` ...
    ``prc``), ``EarlyStopping(monitor='val_prc', patience=10, mode='max', restore_best_weights=True)``,
    ``class_weight={0: (1 / neg) * (total / 2.0), 1: (1 / pos) * (total / 2.0)}``, ``evaluate`` (as a list) and
    the confusion matrix of ``predict``."""
    out = _run_imbalanced(dt, variants=("weighted",) if dt == "float64" else ("baseline", "weighted"))
    print(f"TF 'Classification on imbalanced data', {dt}:")
    _check_imbalanced(out, dt)


@pytest.mark.slow
@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_imbalanced_data_oversampled_like_keras(dt):
    """The tutorial's baseline and its NumPy oversampling (``np.random.choice`` of positives up to the negatives'
    count, ``np.random.shuffle``), the same model and callbacks, the tutorial's patience (10) over 25 epochs."""
    out = _run_imbalanced(dt, variants=("baseline", "oversampled"), epochs=25, patience=10)
    print(f"TF 'Classification on imbalanced data', oversampled, {dt}:")
    _check_imbalanced(out, dt)


def test_dense_bias_initializer_none_draws_a_glorot_bias():
    """Keras behaviour, matched by the port (``initialize(out, bias_initializer="glorot_uniform")``): the tutorial's
    ``Dense(1, activation='sigmoid', bias_initializer=output_bias)`` with ``output_bias=None`` is not Keras's default
    ``"zeros"``: ``initializers.get(None)`` is ``None`` and ``add_weight(initializer=None)`` takes glorot_uniform,
    a random bias drawn from the seed sequence. The weights are replaced by ``load_weights`` afterwards, but the
    draw moves every later unseeded seed: a port with zero biases (``keras_init_``'s default) gives the
    class-weighted model's Dropout another seed, and its history another course (15% off in ``Brier score``)."""
    with _precision("float64"):
        keras.utils.set_random_seed(3)
        k = keras.Sequential([keras.Input((6,)), layers.Dense(16, activation="relu"), layers.Dropout(0.5),
                              layers.Dense(1, activation="sigmoid", bias_initializer=None)])
        net = keras_init_(FraudNet(6), seed=3)
        zero = keras_init_(FraudNet(6, glorot_bias=False), seed=3)
    kb = k.layers[-1].bias.numpy()
    print(f"Dense(1, bias_initializer=None): Keras's bias {kb}, the port's {net.out.bias.detach().numpy()}, "
          f"keras_init_'s default {zero.out.bias.detach().numpy()}")
    assert kb[0] != 0.0
    _same_initial_weights(net, k.get_weights())
    # the tutorial's three make_model calls (the output-bias model, the baseline, the class-weighted one)
    with _precision("float64"):
        keras.utils.set_random_seed(8)
        ks = [make_model(6, output_bias=np.log([0.05])), make_model(6), make_model(6)]
        k_seeds = [int(m.layers[1].seed_generator.state.numpy()[0]) for m in ks]
        ports = {}
        for glorot in (True, False):
            nets = keras_init_(torch.nn.ModuleList([FraudNet(6, output_bias=np.log([0.05]))] + [
                FraudNet(6, glorot_bias=glorot) for _ in range(2)]), seed=8)
            ports[glorot] = [n.drop.state[0] for n in nets]
    print(f"  the Dropout seeds of the three models: Keras {k_seeds}, the port {ports[True]}, the port with zero "
          f"biases {ports[False]} (measured: its class-weighted history 15% off Keras's in 'Brier score')")
    assert ports[True] == k_seeds
    assert ports[False][:2] == k_seeds[:2] and ports[False][2] != k_seeds[2]


def test_constant_initializer_takes_numpy_values_like_keras():
    """torch_impl gap, fixed (``torch_impl/initializers.py``): the tutorial's ``Constant(np.log([pos / neg]))``
    passes a NumPy array, which ``torch_impl.initializers.Constant`` refused (``ValueError: Constant takes a
    number``); ``float(...)`` of it, the obvious workaround, rounds through float32 (9.9e-8 off Keras's float64
    bias), since Keras's ``ops.cast`` keeps a NumPy value's float64 and rounds a Python float. Now as Keras: NumPy
    arrays and scalars at their own precision, Python floats and lists through float32, arrays broadcast."""
    b = np.log([30 / 570])
    cases = [b, b[0], float(b[0]), [float(b[0])], b.astype(np.float32), np.array([1.0, 2.0, 3.0]), 0.1,
             np.float32(0.1), [1, 2, 3]]
    with _precision("float64"):
        for v in cases:
            kv = keras.initializers.Constant(v)((3,), dtype="float64").numpy()
            tv = initializers.Constant(v)((3,), dtype=torch.float64).numpy()
            print(f"Constant({v!r}): Keras {kv.tolist()} torch_impl {tv.tolist()}")
            assert np.array_equal(kv, tv)
        d = layers.Dense(1, bias_initializer=keras.initializers.Constant(b))
        d.build((None, 4))
        net = initialize(torch.nn.Linear(4, 1), bias_initializer=initializers.Constant(b))
    assert net.bias.item() == d.bias.numpy()[0] == b[0]


# --------------------------------------------------------------------------------------------------------------
# 4. keras.io "MixUp augmentation for image classification": mixed soft labels, a generator of mixed batches
# --------------------------------------------------------------------------------------------------------------


def sample_beta_distribution(rng, size, concentration_0=0.2, concentration_1=0.2):
    """The tutorial's Beta draw as the ratio of two Gamma draws (NumPy's here: both sides read one stream)."""
    gamma_1_sample = rng.gamma(concentration_1, size=size)
    gamma_2_sample = rng.gamma(concentration_0, size=size)
    return gamma_1_sample / (gamma_1_sample + gamma_2_sample)


def mix_up(rng, ds_one, ds_two, alpha=0.2):
    """The tutorial's ``mix_up``, as written but for NumPy in place of ``keras.ops``."""
    images_one, labels_one = ds_one
    images_two, labels_two = ds_two
    batch_size = images_one.shape[0]
    l = sample_beta_distribution(rng, batch_size, alpha, alpha)  # noqa: E741 (the tutorial's name)
    x_l = np.reshape(l, (batch_size, 1, 1, 1))
    y_l = np.reshape(l, (batch_size, 1))
    images = images_one * x_l + images_two * (1 - x_l)
    labels = labels_one * y_l + labels_two * (1 - y_l)
    return (images, labels)


def train_ds_mu(x_train, y_train, batch_size, seed, dtype, channels_first=False):
    """``tf.data.Dataset.zip((train_ds_one, train_ds_two)).map(mix_up)``, each dataset shuffled anew every pass,
    as a Python generator (endless, as ``.repeat()``): the same generator function, seeded alike, feeds Keras's
    ``fit`` and the port's."""
    rng = np.random.default_rng(seed)
    n = len(x_train)
    while True:
        one, two = rng.permutation(n), rng.permutation(n)
        for start in range(0, n - batch_size + 1, batch_size):
            a, b = one[start:start + batch_size], two[start:start + batch_size]
            images, labels = mix_up(rng, (x_train[a], y_train[a]), (x_train[b], y_train[b]), alpha=0.2)
            images = images.astype(dtype)
            yield (_nchw(images) if channels_first else images), labels.astype(dtype)


def get_training_model():
    """The tutorial's model, as written, on 16x16 images."""
    model = keras.Sequential([
        layers.Input(shape=(16, 16, 1)),
        layers.Conv2D(16, (5, 5), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(32, (5, 5), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Dropout(0.2),
        layers.GlobalAveragePooling2D(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    return model


class MixUpNet(torch.nn.Module):
    """The port (NCHW; the Dropout on Keras's channels-last map, README); softmax logits out."""

    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, 16, 5)
        self.c2 = torch.nn.Conv2d(16, 32, 5)
        self.drop = tnn.Dropout(0.2)
        self.dense = torch.nn.Linear(32, 128)
        self.out = torch.nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.c1(x)), 2)
        x = F.max_pool2d(torch.relu(self.c2(x)), 2)
        x = self.drop(x.movedim(1, -1)).mean((1, 2))
        return self.out(torch.relu(self.dense(x)))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.slow  # 6-12 s in the suite: make test-all (make test headroom)
def test_mixup_soft_labels_like_keras(dt):
    """``initial_model = get_training_model(); initial_model.save_weights(...)``, ``model = get_training_model();
    model.load_weights(...)``, ``model.compile(loss="categorical_crossentropy", optimizer="adam",
    metrics=["accuracy"])``, ``model.fit(train_ds_mu, validation_data=val_ds, epochs=EPOCHS)`` (here
    ``steps_per_epoch`` of the endless generator), ``_, test_acc = model.evaluate(test_ds)``. The labels are
    ``one_hot`` then mixed: soft targets, Keras's ``"accuracy"`` the categorical one (argmax of the mix)."""
    x, y = _digits(320, size=16, seed=5)
    x = x.astype(dt)
    y_oh = keras.ops.convert_to_numpy(keras.ops.one_hot(y, 10)).astype(dt)
    x_train, y_train = x[:224], y_oh[:224]
    x_val, y_val, x_test, y_test = x[224:272], y_oh[224:272], x[272:], y_oh[272:]
    steps, epochs = 7, 3
    with _precision(dt):
        keras.utils.set_random_seed(42)
        initial_model = get_training_model()
        model = get_training_model()
        model.set_weights(initial_model.get_weights())  # save_weights / load_weights: not the Dropout seed
        nets = keras_init_(torch.nn.ModuleList([MixUpNet(), MixUpNet()]), seed=42)
        net = nets[1]
        net.load_state_dict({**net.state_dict(), **{k: v for k, v in nets[0].state_dict().items()
                                                    if "drop" not in k}})
        _same_initial_weights(net, model.get_weights())
        model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
        kh = model.fit(train_ds_mu(x_train, y_train, 32, 7, dt), steps_per_epoch=steps, epochs=epochs,
                       validation_data=(x_val, y_val), verbose=0).history
        _, k_test_acc = model.evaluate(x_test, y_test, verbose=0)
        kp = model.predict(x_test, verbose=0)
        th = tfit.fit(net, train_ds_mu(x_train, y_train, 32, 7, dt, channels_first=True), steps_per_epoch=steps,
                      epochs=epochs, validation_data=(_nchw(x_val), y_val), loss="categorical_crossentropy",
                      optimizer="adam", metrics=["accuracy"], output_activation="softmax", verbose=0).history
        _, t_test_acc = tfit.evaluate(net, _nchw(x_test), y_test, loss="categorical_crossentropy",
                                      metrics=["accuracy"], output_activation="softmax", return_dict=False)
        tp = tfit.predict(net, _nchw(x_test), output_activation="softmax")
    print(f"MixUp (soft labels from a generator), {dt}:")
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt)
    r = _normwise(tp, kp)
    print(f"  test accuracy Keras {k_test_acc} torch_impl {t_test_acc}; predict {r:.1e} norm-wise; Keras's Dropout "
          f"seed state {model.layers[4].seed_generator.state.numpy().tolist()} the port's {list(net.drop.state)}")
    assert t_test_acc == k_test_acc
    assert r <= (1e-12 if dt == "float64" else 1e-5)
    assert list(net.drop.state) == model.layers[4].seed_generator.state.numpy().tolist()


# --------------------------------------------------------------------------------------------------------------
# 5. keras.io "Timeseries forecasting for weather prediction": timeseries_dataset_from_array, LSTM, checkpoints
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [
    dict(sequence_length=20, sampling_rate=6, batch_size=64),  # the tutorial's call (scaled)
    dict(sequence_length=5, sequence_stride=3, sampling_rate=2, batch_size=7, start_index=4, end_index=190),
    dict(sequence_length=4, batch_size=None, start_index=10),
    dict(sequence_length=8, sampling_rate=3, batch_size=16, no_targets=True),
    dict(sequence_length=350, batch_size=8),  # longer than the data: no window
])
def test_timeseries_dataset_from_array_like_keras(kwargs):
    """torch_impl gap, fixed (``torch_impl/utils.py``): the tutorial builds its data with
    ``keras.preprocessing.timeseries_dataset_from_array(x_train, y_train, sequence_length=120, sampling_rate=6,
    batch_size=256)``; torch_impl had no counterpart, and the windows, the targets' offset (``targets[start_index +
    i]``, ``targets`` sliced as ``data``) and the number of windows are easy to get wrong by hand.
    ``torch_impl.utils.timeseries_dataset_from_array`` gives Keras's batches, equal element for element."""
    kwargs = dict(kwargs)
    no_targets = kwargs.pop("no_targets", False)
    rng = np.random.default_rng(0)
    data, targets = rng.normal(size=(300, 3)), rng.normal(size=(300, 1))
    t = None if no_targets else targets
    kb = list(keras.utils.timeseries_dataset_from_array(data, t, **kwargs).as_numpy_iterator())
    ours = torch_impl_utils.timeseries_dataset_from_array(data, t, **kwargs)
    tb = list(ours)
    print(f"{kwargs}{' no targets' if no_targets else ''}: {len(kb)} batches (Keras), {len(tb)} (torch_impl), "
          f"len() {len(ours)}")
    assert len(kb) == len(tb) == len(ours)
    for a, b in zip(kb, tb):
        for u, v in (zip(a, b) if isinstance(a, tuple) else [(a, b)]):
            assert u.dtype == v.dtype and u.shape == v.shape and np.array_equal(u, v)


def test_timeseries_dataset_from_array_errors_like_keras():
    """The same ``ValueError`` for the same arguments; ``shuffle=True`` (TensorFlow's shuffle buffer) refused."""
    data = np.zeros((20, 2))
    for kwargs in (dict(start_index=-1), dict(start_index=25), dict(start_index=5, end_index=4),
                   dict(end_index=20), dict(sampling_rate=0), dict(sequence_stride=30)):
        with pytest.raises(ValueError) as k_err:
            keras.utils.timeseries_dataset_from_array(data, None, sequence_length=3, **kwargs)
        with pytest.raises(ValueError) as t_err:
            torch_impl_utils.timeseries_dataset_from_array(data, None, sequence_length=3, **kwargs)
        print(f"{kwargs}: {k_err.value}")
        assert str(t_err.value) == str(k_err.value)
    with pytest.raises(NotImplementedError, match="shuffle"):
        torch_impl_utils.timeseries_dataset_from_array(data, None, sequence_length=3, shuffle=True, seed=1)


def _weather(n: int = 1400, seed: int = 6):
    """Seven weather-like features (pressure, temperature ...: daily cycles, drift and noise), hourly."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    base = np.stack([np.sin(2 * np.pi * t / 24 + k) * (1 + 0.2 * k) for k in range(7)], 1)
    drift = np.cumsum(rng.normal(0, 0.05, (n, 7)), 0)
    return base + drift + rng.normal(0, 0.1, (n, 7))


class WeatherLSTM(torch.nn.Module):
    """``LSTM(32)`` on ``(batch, steps, features)`` (the last step's output), ``Dense(1)``."""

    def __init__(self, features: int = 7, units: int = 32):
        super().__init__()
        self.lstm = torch.nn.LSTM(features, units, batch_first=True)
        self.dense = torch.nn.Linear(units, 1)

    def forward(self, x):
        return self.dense(self.lstm(x)[0][:, -1])


@pytest.mark.slow  # Keras's LSTM: 8 s
@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_weather_forecasting_like_keras(dt, tmp_path):
    """The tutorial as written (Jena climate scaled: ``step = 6``, ``past = 120``, ``future = 12``,
    ``batch_size = 64``): ``normalize`` with the training split's mean/std, the targets ``future`` steps after the
    window's end, ``timeseries_dataset_from_array`` for training and validation, ``LSTM(32)`` -> ``Dense(1)``,
    ``Adam(learning_rate=0.001)``, ``loss="mse"``, ``EarlyStopping(monitor="val_loss", min_delta=0,
    patience=5)``, ``ModelCheckpoint(save_weights_only=True, save_best_only=True)``, then ``model.predict(x)`` of
    validation batches as the tutorial's plots take them. The port: the same dataset from ``torch_impl.utils``, a
    torch ``LSTM`` with ``keras_init_``'s weights, ``torch_impl.fit``."""
    split_fraction, step, past, future, learning_rate, batch_size, epochs = 0.715, 6, 120, 12, 0.001, 64, 4
    features = _weather()
    train_split = int(split_fraction * int(features.shape[0]))
    data_mean, data_std = features[:train_split].mean(axis=0), features[:train_split].std(axis=0)
    features = ((features - data_mean) / data_std).astype(dt)
    train_data, val_data = features[:train_split], features[train_split:]
    start = past + future
    end = start + train_split
    x_train, y_train = train_data[:, :7], features[start:end][:, [1]]
    sequence_length = int(past / step)
    x_end = len(val_data) - past - future
    label_start = train_split + past + future
    x_val, y_val = val_data[:x_end][:, :7], features[label_start:][:, [1]]
    with _precision(dt):
        keras.utils.set_random_seed(17)
        dataset_train = keras.preprocessing.timeseries_dataset_from_array(
            x_train, y_train, sequence_length=sequence_length, sampling_rate=step, batch_size=batch_size)
        dataset_val = keras.preprocessing.timeseries_dataset_from_array(
            x_val, y_val, sequence_length=sequence_length, sampling_rate=step, batch_size=batch_size)
        for batch in dataset_train.take(1):
            inputs, targets = batch
        inputs = keras.layers.Input(shape=(inputs.shape[1], inputs.shape[2]))
        lstm_out = keras.layers.LSTM(32)(inputs)
        outputs = keras.layers.Dense(1)(lstm_out)
        model = keras.Model(inputs=inputs, outputs=outputs)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse")
        net = keras_init_(WeatherLSTM(), seed=17)
        init = _weights_apart(net, model.get_weights())  # the orthogonal recurrent kernel: QR rounding (README)
        es_callback = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=0, patience=5)
        modelckpt_callback = keras.callbacks.ModelCheckpoint(
            monitor="val_loss", filepath=str(tmp_path / "model_checkpoint.weights.h5"), verbose=0,
            save_weights_only=True, save_best_only=True)
        kh = model.fit(dataset_train, epochs=epochs, validation_data=dataset_val,
                       callbacks=[es_callback, modelckpt_callback], verbose=0).history
        k_preds = [model.predict(x, verbose=0)[0] for x, y in dataset_val.take(5)]
        # the port
        t_train = torch_impl_utils.timeseries_dataset_from_array(
            x_train, y_train, sequence_length=sequence_length, sampling_rate=step, batch_size=batch_size)
        t_val = torch_impl_utils.timeseries_dataset_from_array(
            x_val, y_val, sequence_length=sequence_length, sampling_rate=step, batch_size=batch_size)
        th = tfit.fit(net, t_train, epochs=epochs, validation_data=t_val, loss="mse",
                      optimizer=optim.Adam(net.parameters(), learning_rate=learning_rate),
                      callbacks=[tcb.EarlyStopping(monitor="val_loss", min_delta=0, patience=5),
                                 tcb.ModelCheckpoint(monitor="val_loss", save_weights_only=True, save_best_only=True,
                                                     filepath=str(tmp_path / "model_checkpoint.weights.pt"))],
                      verbose=0).history
        t_preds = [tfit.predict(net, x)[0] for x, _ in list(t_val)[:5]]
        best = net.state_dict()
        net.load_state_dict(torch.load(tmp_path / "model_checkpoint.weights.pt"))
        model.load_weights(str(tmp_path / "model_checkpoint.weights.h5"))
        ck = _weights_apart(net, model.get_weights())
        net.load_state_dict(best)
    print(f"weather forecasting (timeseries_dataset_from_array, LSTM(32), ModelCheckpoint), {dt}: "
          f"{len(t_train)} training and {len(t_val)} validation batches; initial weights {init:.1e} norm-wise")
    assert init <= (1e-15 if dt == "float64" else 1e-6)
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt)
    r = _normwise(np.array(t_preds), np.array(k_preds))
    print(f"  the plots' predictions (take(5): the first window of each validation batch) {r:.1e} norm-wise; best "
          f"checkpoints' weights {ck:.1e}")
    assert r <= (1e-12 if dt == "float64" else 1e-5)
    assert ck <= (1e-12 if dt == "float64" else 1e-5)


# --------------------------------------------------------------------------------------------------------------
# 6. keras.io guide "Training & evaluation with the built-in methods": a Loss subclass, a Metric subclass,
#    class_weight and sample_weight
# --------------------------------------------------------------------------------------------------------------


def get_uncompiled_model(features: int = 20):
    """The guide's functional model (``Dense(64)`` x2 on 784 pixels scaled to 16 units on 20 features)."""
    inputs = keras.Input(shape=(features,), name="digits")
    x = layers.Dense(16, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(16, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    return model


def get_compiled_model():
    model = get_uncompiled_model()
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])
    return model


class CustomMSE(keras.losses.Loss):
    """The guide's custom loss, as written."""

    def __init__(self, regularization_factor=0.1, name="custom_mse"):
        super().__init__(name=name)
        self.regularization_factor = regularization_factor

    def call(self, y_true, y_pred):
        mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
        reg = ops.mean(ops.square(0.5 - y_pred), axis=-1)
        return mse + reg * self.regularization_factor


class CategoricalTruePositives(keras.metrics.Metric):
    """The guide's custom metric, as written."""

    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
        values = ops.cast(y_true, "int32") == ops.cast(y_pred, "int32")
        values = ops.cast(values, "float32")
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, "float32")
            values = ops.multiply(values, sample_weight)
        self.true_positives.assign_add(ops.sum(values))

    def result(self):
        return self.true_positives

    def reset_state(self):
        self.true_positives.assign(0)


class CustomMSEPort(losses.Loss):
    """The port: ``torch_impl.losses.Loss`` subclassed as the guide subclasses Keras's."""

    def __init__(self, regularization_factor=0.1, name="custom_mse"):
        super().__init__(name=name)
        self.regularization_factor = regularization_factor

    def call(self, y_true, y_pred):
        mse = torch.mean(torch.square(y_true - y_pred), dim=-1)
        reg = torch.mean(torch.square(0.5 - y_pred), dim=-1)
        return mse + reg * self.regularization_factor


class CategoricalTruePositivesPort(tmetrics.Metric):
    """The port: ``torch_impl.metrics.Metric`` subclassed, torch ops for ``keras.ops``."""

    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.add_variable((), "true_positives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = torch.reshape(torch.argmax(y_pred, dim=1), (-1, 1))
        values = y_true.to(torch.int32) == y_pred.to(torch.int32)
        values = values.to(torch.float32)
        if sample_weight is not None:
            values = values * sample_weight.to(torch.float32)
        self.true_positives = self.true_positives + torch.sum(values)

    def result(self):
        return self.true_positives


class GuideNet(torch.nn.Module):
    def __init__(self, features: int = 20):
        super().__init__()
        self.dense_1 = torch.nn.Linear(features, 16)
        self.dense_2 = torch.nn.Linear(16, 16)
        self.predictions = torch.nn.Linear(16, 10)

    def forward(self, x):
        return self.predictions(torch.relu(self.dense_2(torch.relu(self.dense_1(x)))))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.slow  # 6-12 s in the suite: make test-all (make test headroom)
def test_training_guide_custom_loss_metric_weights_like_keras(dt):
    """The guide's four runs, each on a fresh ``get_uncompiled_model()``: ``compile(optimizer=keras.optimizers.
    Adam(), loss=CustomMSE())`` on ``ops.one_hot`` labels; ``RMSprop(learning_rate=1e-3)``,
    ``SparseCategoricalCrossentropy()``, ``metrics=[CategoricalTruePositives()]`` for 3 epochs; ``class_weight``
    (class 5 counted twice); ``sample_weight`` (the same, per sample). The ports subclass ``torch_impl.losses.Loss``
    and ``torch_impl.metrics.Metric`` with the guide's code in torch ops."""
    x, y = _blobs(320, features=20, classes=10, seed=9)
    x = x.astype(dt)
    x_train, y_train = x, y
    class_weight = {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0, 5: 2.0, 6: 1.0, 7: 1.0, 8: 1.0, 9: 1.0}
    sample_weight = np.ones(shape=(len(y_train),))
    sample_weight[y_train == 5] = 2.0
    runs = {}
    with _precision(dt):
        keras.utils.set_random_seed(1234)
        y_train_one_hot = keras.ops.convert_to_numpy(ops.one_hot(y_train, num_classes=10))
        ks = [get_uncompiled_model(), get_uncompiled_model(), get_compiled_model(), get_compiled_model()]
        nets = keras_init_(torch.nn.ModuleList([GuideNet() for _ in range(4)]), seed=1234)
        for k, n in zip(ks, nets):
            _same_initial_weights(n, k.get_weights())
        ks[0].compile(optimizer=keras.optimizers.Adam(), loss=CustomMSE())
        ks[1].compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                      loss=keras.losses.SparseCategoricalCrossentropy(), metrics=[CategoricalTruePositives()])
        kw = dict(batch_size=64, verbose=0)
        runs["CustomMSE"] = (
            ks[0].fit(x_train, y_train_one_hot, epochs=1, **kw).history,
            tfit.fit(nets[0], x_train, y_train_one_hot, epochs=1, optimizer=optim.Adam(nets[0].parameters()),
                     loss=CustomMSEPort(), output_activation="softmax", seed=1234, **kw).history)
        runs["CategoricalTruePositives"] = (
            ks[1].fit(x_train, y_train, epochs=3, **kw).history,
            tfit.fit(nets[1], x_train, y_train, epochs=3,
                     optimizer=optim.RMSprop(nets[1].parameters(), learning_rate=1e-3),
                     loss=losses.SparseCategoricalCrossentropy(), metrics=[CategoricalTruePositivesPort()],
                     output_activation="softmax", seed=1234, **kw).history)
        runs["class_weight"] = (
            ks[2].fit(x_train, y_train, class_weight=class_weight, epochs=1, **kw).history,
            tfit.fit(nets[2], x_train, y_train, class_weight=class_weight, epochs=1, optimizer="rmsprop",
                     loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"],
                     output_activation="softmax", seed=1234, **kw).history)
        runs["sample_weight"] = (
            ks[3].fit(x_train, y_train, sample_weight=sample_weight, epochs=1, **kw).history,
            tfit.fit(nets[3], x_train, y_train, sample_weight=sample_weight, epochs=1, optimizer="rmsprop",
                     loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"],
                     output_activation="softmax", seed=1234, **kw).history)
        weights = max(_weights_apart(n, k.get_weights()) for k, n in zip(ks, nets))
    print(f"training guide (CustomMSE, CategoricalTruePositives, class_weight, sample_weight), {dt}:")
    for name, (kh, th) in runs.items():
        print(f" {name}:")
        assert sorted(th) == sorted(kh)
        _check_history(th, kh, dt)
    ctp = runs["CategoricalTruePositives"][0]["categorical_true_positives"]
    print(f"  final weights of the four models {weights:.1e} norm-wise; the guide's metric counts {ctp} 'true "
          f"positives' of {len(y_train)} samples: (B,) labels against (B, 1) argmaxes compare all B x B pairs, in "
          f"both")
    assert max(ctp) > len(y_train)  # the guide's broadcast, kept by the port
    assert weights <= (1e-12 if dt == "float64" else 1e-5)


# --------------------------------------------------------------------------------------------------------------
# 7. StackOverflow "class_weight for a multi-output model": per-output sample weights, loss_weights
# --------------------------------------------------------------------------------------------------------------


class TwoHeads(torch.nn.Module):
    """The port of the answer's functional model: a shared ``Dense(16, relu)``, a softmax head ``"kind"`` and a
    sigmoid head ``"flag"`` (logits out, ``output_names`` as Keras's output layers)."""

    output_names = ["kind", "flag"]

    def __init__(self, features: int = 8):
        super().__init__()
        self.shared = torch.nn.Linear(features, 16)
        self.kind = torch.nn.Linear(16, 3)
        self.flag = torch.nn.Linear(16, 1)

    def forward(self, x):
        h = torch.relu(self.shared(x))
        return [self.kind(h), self.flag(h)]


@pytest.mark.slow  # Keras's two-output fit with AUC and its evaluate: 10 s
@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_multi_output_class_weight_workaround_like_keras(dt):
    """``model.fit(x, {"kind": ..., "flag": ...}, class_weight=...)`` raises in Keras 3 (and in torch_impl, the
    same message) for a model of two outputs; the answer's workaround, scikit-learn's ``compute_sample_weight``
    per output passed as ``sample_weight=[w_kind, w_flag]`` with ``y=[kind, flag]`` (Keras 3.15.1 needs the two
    in the outputs' list structure: ``test_multi_output_sample_weight_structures_like_keras``), with
    ``loss_weights={"kind": 1.0,
    "flag": 0.3}``, ``metrics={"kind": "accuracy", "flag": ["accuracy", keras.metrics.AUC(name="auc")]}``,
    ``weighted_metrics={"kind": ["accuracy"]}``, ``validation_split=0.25``; then ``evaluate`` and ``predict``."""
    from sklearn.utils.class_weight import compute_sample_weight

    rng = np.random.default_rng(12)
    x = rng.normal(size=(240, 8))
    kind = np.digitize(x[:, 0] + 0.5 * x[:, 1], [-0.9, 1.2])  # 3 unbalanced classes
    flag = ((x[:, 2] - x[:, 3] > 1.3) | (rng.uniform(size=240) < 0.03)).astype(np.float64)
    x = x.astype(dt)
    w_kind = compute_sample_weight("balanced", kind)
    w_flag = compute_sample_weight({0: 1.0, 1: 4.0}, flag)
    with _precision(dt):
        keras.utils.set_random_seed(77)
        inp = keras.Input((8,), name="features")
        h = layers.Dense(16, activation="relu")(inp)
        model = keras.Model(inp, [layers.Dense(3, activation="softmax", name="kind")(h),
                                  layers.Dense(1, activation="sigmoid", name="flag")(h)])
        net = keras_init_(TwoHeads(), seed=77)
        _same_initial_weights(net, model.get_weights())
        compile_args = dict(loss={"kind": "sparse_categorical_crossentropy", "flag": "binary_crossentropy"},
                            loss_weights={"kind": 1.0, "flag": 0.3})
        model.compile(optimizer="adam", metrics={"kind": "accuracy", "flag": ["accuracy", keras.metrics.AUC(
            name="auc")]}, weighted_metrics={"kind": ["accuracy"]}, **compile_args)
        with pytest.raises(ValueError, match="single output") as k_err:
            model.fit(x, {"kind": kind, "flag": flag}, class_weight={0: 1.0, 1: 2.0, 2: 3.0}, verbose=0)
        with pytest.raises(ValueError, match="single output"):
            tfit.fit(net, x, {"kind": kind, "flag": flag}, class_weight={0: 1.0, 1: 2.0, 2: 3.0}, verbose=0,
                     optimizer="adam", output_activation={"kind": "softmax", "flag": "sigmoid"}, **compile_args)
        kh = model.fit(x, [kind, flag], sample_weight=[w_kind, w_flag],
                       batch_size=32, epochs=5, validation_split=0.25, verbose=0).history
        k_eval = model.evaluate(x, {"kind": kind, "flag": flag}, verbose=0, return_dict=True)
        kp = model.predict(x, verbose=0)
        th = tfit.fit(net, x, [kind, flag], sample_weight=[w_kind, w_flag],
                      batch_size=32, epochs=5, validation_split=0.25, verbose=0, seed=77,
                      optimizer=optim.Adam(net.parameters()),
                      metrics={"kind": "accuracy", "flag": ["accuracy", tmetrics.AUC(name="auc")]},
                      weighted_metrics={"kind": ["accuracy"]},
                      output_activation={"kind": "softmax", "flag": "sigmoid"}, **compile_args).history
        t_eval = tfit.evaluate(net, x, {"kind": kind, "flag": flag}, output_activation={"kind": "softmax",
                               "flag": "sigmoid"}, metrics={"kind": "accuracy", "flag": ["accuracy", tmetrics.AUC(
                                   name="auc")]}, weighted_metrics={"kind": ["accuracy"]}, **compile_args)
        tp = tfit.predict(net, x, output_activation={"kind": "softmax", "flag": "sigmoid"})
    print(f"multi-output class weights as per-output sample weights, {dt}: class_weight refused by both "
          f"({k_err.value})")
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt)
    assert sorted(t_eval) == sorted(k_eval)
    r = max(_rel(t_eval[k], k_eval[k]) for k in k_eval)
    rp = max(_normwise(a, b) for a, b in zip(tp, kp))
    print(f"  evaluate {sorted(k_eval)} max rel {r:.1e}; predict (both outputs) {rp:.1e} norm-wise")
    assert r <= (1e-12 if dt == "float64" else 1e-5)
    assert rp <= (1e-12 if dt == "float64" else 1e-5)


def _two_heads_keras(seed: int):
    keras.utils.set_random_seed(seed)
    inp = keras.Input((8,))
    h = layers.Dense(16, activation="relu")(inp)
    model = keras.Model(inp, [layers.Dense(3, activation="softmax", name="kind")(h),
                              layers.Dense(1, activation="sigmoid", name="flag")(h)])
    model.compile("sgd", loss={"kind": "sparse_categorical_crossentropy", "flag": "binary_crossentropy"})
    return model


def _two_heads_data():
    rng = np.random.default_rng(0)
    return (rng.normal(size=(64, 8)), rng.integers(0, 3, 64), (rng.uniform(size=64) < 0.2).astype(float),
            rng.uniform(size=64), rng.uniform(size=64))


@pytest.mark.parametrize("case", ["list y, dict sample_weight", "dict y, list sample_weight"])
def test_multi_output_sample_weight_structures_like_keras(case):
    """torch_impl difference, fixed (``torch_impl/fit.py``, ``_MultiOutput.sample_weights``): for the answer's
    model (list outputs) Keras's data adapter refuses a ``sample_weight`` whose structure is not ``y``'s
    (``ValueError: You should provide one `sample_weight` array per output in `y`. The two structures did not
    match``); torch_impl trained with either mix. Now the same ValueError."""
    x, ya, yb, wa, wb = _two_heads_data()
    y, sw = (([ya, yb], {"kind": wa, "flag": wb}) if case.startswith("list") else
             ({"kind": ya, "flag": yb}, [wa, wb]))
    with _precision("float64"):
        model = _two_heads_keras(1)
        net = keras_init_(TwoHeads(), seed=1)
        with pytest.raises(ValueError, match="one `sample_weight` array per output") as k_err:
            model.fit(x, y, sample_weight=sw, epochs=1, verbose=0)
        with pytest.raises(ValueError, match="one `sample_weight` array per output") as t_err:
            tfit.fit(net, x, y, sample_weight=sw, epochs=1, verbose=0, optimizer="sgd",
                     loss={"kind": "sparse_categorical_crossentropy", "flag": "binary_crossentropy"},
                     output_activation={"kind": "softmax", "flag": "sigmoid"})
    print(f"{case}: Keras {str(k_err.value)[:100]!r}...\n  torch_impl {str(t_err.value)!r}")


def test_multi_output_dict_sample_weight_where_keras_crashes():
    """A deliberate difference (README, "Where we deliberately differ"): for a model with list outputs, ``y`` and
    ``sample_weight`` as dicts keyed by output name pass Keras 3.15.1's data adapter, then its ``CompileLoss``
    looks the weights up by position: ``KeyError: 0``. torch_impl trains, each output weighted by its own entry:
    the run Keras gives for the same data as lists in output order."""
    x, ya, yb, wa, wb = _two_heads_data()
    with _precision("float64"):
        with pytest.raises(KeyError):
            _two_heads_keras(1).fit(x, {"kind": ya, "flag": yb}, sample_weight={"kind": wa, "flag": wb}, epochs=1,
                                    verbose=0)
        kh = _two_heads_keras(1).fit(x, [ya, yb], sample_weight=[wa, wb], epochs=2, shuffle=False,
                                     verbose=0).history
        net = keras_init_(TwoHeads(), seed=1)
        th = tfit.fit(net, x, {"kind": ya, "flag": yb}, sample_weight={"kind": wa, "flag": wb}, epochs=2,
                      shuffle=False, verbose=0, optimizer="sgd",
                      loss={"kind": "sparse_categorical_crossentropy", "flag": "binary_crossentropy"},
                      output_activation={"kind": "softmax", "flag": "sigmoid"}).history
    err = max(_rel(th[k], kh[k]) for k in kh)
    print(f"dict y and dict sample_weight: Keras raises KeyError; ours equals Keras's list run within {err:.1e} "
          f"over {sorted(kh)}")
    assert sorted(th) == sorted(kh) and err < 1e-12

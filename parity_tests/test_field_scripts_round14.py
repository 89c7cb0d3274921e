"""Real-world Keras scripts, round 14 (focal losses written by hand and from a package, per-label and per-class
weights by hand, a detection loss with masks, a Deep & Cross tabular model, a Tversky segmentation loss), ported to
PyTorch with torch_impl as a user would port them from the README: ``torch_impl.losses.Loss`` subclasses,
``from torch_impl import keras_backend as K`` / ``keras_ops``, ``torch_impl.fit``/``evaluate``/``predict``,
``torch_impl.optim`` with ``torch_impl.schedules``, ``torch_impl.nn`` (``keras_init_``, ``BatchNormalization``,
``Dropout``, ``load_keras_weights``).

1. keras.io "Object Detection with RetinaNet": ``RetinaNetBoxLoss`` (smooth L1, ``delta=1``),
   ``RetinaNetClassificationLoss`` (``sigmoid_cross_entropy_with_logits`` times ``alpha_t (1 - p_t)**gamma``, summed
   over the classes), ``RetinaNetLoss`` (``tf.one_hot`` of the class ids, -1 background and -2 ignored anchors
   masked, ``divide_no_nan`` by the positive count, images without objects included), ``compile(loss=RetinaNetLoss(
   num_classes), optimizer=SGD(PiecewiseConstantDecay(...), momentum=0.9))`` on a per-anchor head with the script's
   prior-probability bias; ``fit`` with validation data, ``evaluate``, ``predict``. Also the loss alone (value and
   gradient) and its focal part against the built-in ``BinaryFocalCrossentropy(apply_class_balancing=True,
   from_logits=True)``.
2. keras.io "Large-scale multi-label text classification": TF-IDF bigram features (``TextVectorization(
   output_mode="tf_idf")``'s formula in NumPy), ``StringLookup(output_mode="multi_hot")`` targets with their
   ``[UNK]`` column, the ``shallow_mlp_model`` (``Dense(relu)`` x2, ``Dense(vocabulary_size, sigmoid)``),
   ``compile(loss="binary_crossentropy", optimizer="adam", metrics=["binary_accuracy"])``, ``fit`` with validation
   data, ``_, binary_acc = evaluate(...)``, the top-3 terms from ``predict``.
3. Coursera "AI for Medical Diagnosis" (ChestX-ray14): ``compute_class_freqs`` and ``get_weighted_loss(pos_weights,
   neg_weights, epsilon=1e-7)`` (per-label class weighting by hand: for each label ``-K.mean(w_pos y log(p + eps))
   - K.mean(w_neg (1 - y) log(1 - p + eps))``, summed) in ``compile(optimizer="adam", loss=...)`` on a sigmoid
   multi-label convnet (DenseNet121 there), NumPy float64 weights against float32/float64 tensors; the usual torch
   port ``nn.BCEWithLogitsLoss(pos_weight=w_pos / w_neg)`` alongside.
4. keras.io "Structured data learning with Wide, Deep, and Cross networks" (covertype): the dict of named
   ``Input``s, ``Embedding(input_dim=len(vocabulary), output_dim=int(sqrt(len(vocabulary))))`` per categorical
   feature (ids from ``StringLookup``, computed in NumPy), ``ops.expand_dims`` numeric features, the cross layers
   ``x0 * Dense(units)(cross) + cross``, ``BatchNormalization``, the deep tower (``Dense``/``BatchNormalization``/
   ``ReLU``/unseeded ``Dropout``), ``concatenate``, a softmax head, ``Adam(learning_rate)``,
   ``SparseCategoricalCrossentropy()``, ``SparseCategoricalAccuracy()``, ``evaluate``, ``predict``. The port takes
   the features as keyword arguments, ``keras_init_(net, seed=S)`` for the weights and Dropout seeds,
   ``nn.Embedding(sparse=True)``.
5. nabsabraham/focal-tversky-unet ``losses.py``: ``tversky`` (``alpha=0.7``, module-level ``smooth = 1``),
   ``focal_tversky`` (``K.pow(1 - pt_1, 0.75)``) and ``dsc`` written with ``K``, ``compile(loss=focal_tversky,
   metrics=[dsc, tversky])`` on a small sigmoid segmentation net, an uneven last batch, validation, ``evaluate``.
6. The ``focal-loss`` package (artemmavrin): ``SparseCategoricalFocalLoss(gamma=2, class_weight=[...])`` (its
   ``sparse_categorical_focal_loss``: ``log(clip(p))`` into ``sparse_softmax_cross_entropy_with_logits``, the
   modulation ``(1 - p_y)**gamma`` from the unclipped probability, ``tf.gather`` of ``class_weight``) in
   ``compile(..., metrics=["accuracy"])`` on a softmax classifier of imbalanced classes; ``gamma=0`` against the
   built-in loss with ``fit(class_weight=...)``; the package against ``CategoricalFocalCrossentropy(alpha=w)``.
7. TensorFlow's "Image segmentation" tutorial, its first try at class weights: ``fit(class_weight={0: 2.0, 1: 2.0,
   2: 1.0})`` on ``(N, H, W, 1)`` masks (the tutorial's ``add_sample_weights`` that follows is round 7's).

Small synthetic data shaped like the scripts', 3-4 epochs; both sides start from Keras's initial weights
(``load_keras_weights``, or ``keras_init_(seed=S)`` where unseeded Dropouts need Keras's seeds), in Keras's shuffle
order (``fit(seed=S)``). Where a script hard-codes float32 (RetinaNet's ``tf.cast(..., tf.float32)``, ``tf.where``
of Python floats, the package's ``tf.convert_to_tensor(gamma, tf.float32)``), the Keras side casts to the output's
dtype instead: identical in float32, the only way its float64 run works. Standards (DESIGN.md): float64 within
1e-8 relative every epoch, float32 within 1e-3 with the same classes. Measured (max relative error over every
history key and epoch; weights and predictions normwise):

=========================  ===============================================  =========================================
script                     float64                                          float32 (``slow``)
=========================  ===============================================  =========================================
1 RetinaNet head           2.7e-16; evaluate 1.1e-16, predict 2.2e-16,      1.0e-7; evaluate 0, predict 8.3e-8,
                           weights 5.1e-16; the loss alone: value 0,        weights 2.0e-7
                           gradient 3.3e-16
2 multi-label text         3.4e-16; evaluate 2.1e-16, predict 3.8e-16,      1.1e-7; evaluate 9.8e-8, predict 1.4e-7;
  (``slow``)               the same top-3 terms                             the same top-3 terms
3 chest X-ray weighted     3.4e-16; predict 1.9e-16, weights 2.8e-15        1.2e-7; predict 1.1e-7, weights 5.5e-7
  loss (``slow``)          (``BCEWithLogitsLoss(pos_weight)``: 9.7e-3)      (``BCEWithLogitsLoss``: 9.4e-3)
4 Deep & Cross             train 2.3e-16, val 7.2e-14; evaluate 7.1e-14,    train 6.3e-8, val 5.3e-5; evaluate
  (``slow``)               predict 5.0e-13; initial weights equal;          5.3e-5, predict 3.0e-4; the same classes
                           dense-Embedding port 1.2e-2                      (dense Embedding: 1.2e-2)
5 focal Tversky            2.9e-16 (6 keys); evaluate 1.9e-16               1.9e-7; evaluate 1.4e-7
6 focal-loss package       gamma 2: 2.2e-16, evaluate 3.4e-16; gamma 0      gamma 2: 2.6e-7; gamma 0: 1.4e-7;
                           (``slow``): 3.0e-16; = ``fit(class_weight)``     = ``fit(class_weight)`` 0 (Keras) / 0
                           2.1e-16 (Keras) / 2.3e-16 (torch_impl); vs the   (torch_impl)
                           built-in focal: values 4.9e-16, logit
                           gradients 1.8e-16
=========================  ===============================================  =========================================

(Deep & Cross's validation side: its deep-tower ``Dense`` biases sit in front of ``BatchNormalization``, their exact
gradient is 0, and Adam at 0.01 steps them on each framework's rounding noise; training mode normalises them away,
inference with the lagging moving mean does not: 2e-16 -> 7e-14 in float64, 6e-8 -> 5e-5 in float32, as round 5's
FordA. The training figures, accuracies and predicted classes agree.)

What the ports found:

* torch_impl gap, fixed: ``fit(class_weight=...)`` on ``(N, H, W)`` integer masks (TensorFlow's segmentation
  tutorial) first warned that the labels "are read as one-hot rows ... each sample gets the weight of its row's
  largest entry's position", then raised ``ValueError`` because they give several ids per sample: a warning about a
  reading that never happens. It now warns only where that reading is used (one id per sample, e.g. ``(N, T)``
  labels); the ``ValueError`` (Keras: ``TypeError``) is unchanged
  (``test_segmentation_tutorial_class_weight_on_masks_refused``).
* RetinaNet as published does not run on Keras 3: ``super().__init__(reduction="auto")`` raises ``ValueError``
  (Keras 3.15.1 accepts ``sum_over_batch_size``, ``sum``, ``mean``, ``mean_with_sample_weight``, ``none``,
  ``None``; torch_impl's ``Loss`` raises the same); ``"sum_over_batch_size"`` is what Keras 2's AUTO meant. Its
  ``tf.one_hot`` of the -1 (background) and -2 (ignored) ids gives rows of zeros where ``F.one_hot``, the usual
  port, raises: ``torch_impl.keras_ops.one_hot`` is ``tf.one_hot``. The built-in ``BinaryFocalCrossentropy(
  apply_class_balancing=True, from_logits=True)`` is the script's focal loss divided by the class count, even at
  logit 20: its ``from_logits`` path runs ``ops.sigmoid`` and then the probability crossentropy, but the sigmoid's
  output carries its logits on TensorFlow, so no 1e-7 clip (DESIGN.md's summary of this path reads as if it
  clipped; torch_impl, Keras and the script agree).
* The chest X-ray loss is a SUM over labels of per-label means with both classes weighted; ``BCEWithLogitsLoss(
  pos_weight=w_pos / w_neg)`` keeps the ratio but is a mean with the negatives weighted 1: predictions 9.7e-3 off
  after 16 Adam steps. The script's ``K`` function ports as is; NumPy float64 weights times float32 tensors work in
  both frameworks.
* Deep & Cross: ``model.get_weights()`` lists a functional model's weights in graph order (the deep tower's first
  ``Dense`` before the cross layers), not in construction order: ``load_keras_weights`` into a module declared in
  construction order raises on the first shape mismatch (a silent mix-up where the shapes agree); ``keras_init_(
  seed=S)`` follows construction order and gives Keras's initial weights and Dropout seeds exactly. ``fit`` casts
  NumPy integer features to the model's float dtype (pass integer tensors, as the README says, or ``.long()``
  them); a dense ``nn.Embedding`` trains another run (1.2e-2; ``fit`` warns).
* Focal Tversky: ``dsc`` and ``tversky`` as ``compile`` metrics are batch-level scalars; Keras averages them over
  batches UNweighted (a 4-sample batch counts as much as an 8-sample one) while the loss is weighted by batch
  size; torch_impl's metric wrapper and loss tracker do the same (checked against a hand computation).
* The ``focal-loss`` package's ``class_weight`` is Keras's ``fit(class_weight=...)`` applied inside the loss: with
  ``gamma=0`` the training history equals the built-in loss with ``fit(class_weight)`` (bit for bit in float32),
  but its ``val_loss`` is weighted too (``fit``'s class weights never weigh validation). Against the built-in
  ``CategoricalFocalCrossentropy(alpha=w, gamma=2)``: equal values and logit gradients; their probability
  gradients differ by a constant per row (the built-in renormalises its modulation too), which the softmax
  removes; at a saturated wrong prediction (``p = 4e-10``) the built-in's row has no gradient and the package's a
  3e-9 one.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers, ops  # noqa: E402

from parity_tests.test_field_scripts_round2 import (  # noqa: E402
    DTYPES, _check_history, _normwise, _precision, _rel, _tol)
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import keras_ops as tops  # noqa: E402
from torch_impl import losses, optim, schedules  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl.nn import keras_init_, load_keras_weights  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

#: the scripts whose float64 run does not fit the default suite's time budget either
SLOW_DTYPES = [pytest.param("float64", marks=pytest.mark.slow), pytest.param("float32", marks=pytest.mark.slow)]


def _weights_normwise(net_weights, keras_weights) -> float:
    return max(_normwise(a, b) for a, b in zip(net_weights, keras_weights))


# --------------------------------------------------------------------------------------------------------------
# 1. keras.io "Object Detection with RetinaNet": RetinaNetLoss (focal + smooth L1, masks, divide_no_nan)
# --------------------------------------------------------------------------------------------------------------

ANCHORS, FEAT1, CLS1 = 12, 6, 3
PRIOR = -math.log((1 - 0.01) / 0.01)  # the script's prior_probability bias of the classification head


class RetinaNetBoxLoss(keras.losses.Loss):
    """The script's smooth L1 (``tf.where(|d| < delta, 0.5 d**2, |d| - 0.5)`` summed over the 4 box values)."""

    def __init__(self, delta):
        super().__init__(reduction="none", name="RetinaNetBoxLoss")
        self._delta = delta

    def call(self, y_true, y_pred):
        difference = y_true - y_pred
        absolute_difference = tf.abs(difference)
        squared_difference = difference**2
        loss = tf.where(tf.less(absolute_difference, self._delta), 0.5 * squared_difference,
                        absolute_difference - 0.5)
        return tf.reduce_sum(loss, axis=-1)


class RetinaNetClassificationLoss(keras.losses.Loss):
    """The script's focal loss: ``sigmoid_cross_entropy_with_logits`` times ``alpha_t (1 - p_t)**gamma``, summed
    over the classes (``tf.where`` of two Python floats is float32: cast for the float64 run)."""

    def __init__(self, alpha, gamma):
        super().__init__(reduction="none", name="RetinaNetClassificationLoss")
        self._alpha = alpha
        self._gamma = gamma

    def call(self, y_true, y_pred):
        cross_entropy = tf.nn.sigmoid_cross_entropy_with_logits(labels=y_true, logits=y_pred)
        probs = tf.nn.sigmoid(y_pred)
        alpha = tf.where(tf.equal(y_true, 1.0), self._alpha, (1.0 - self._alpha))
        alpha = tf.cast(alpha, y_pred.dtype)  # (float32 from Python floats: the float64 run's only change here)
        pt = tf.where(tf.equal(y_true, 1.0), probs, 1 - probs)
        loss = alpha * tf.pow(1.0 - pt, self._gamma) * cross_entropy
        return tf.reduce_sum(loss, axis=-1)


class RetinaNetLoss(keras.losses.Loss):
    """The script's wrapper. Two changes Keras 3 forces: ``reduction="auto"`` raises (``"sum_over_batch_size"``,
    what Keras 2's AUTO meant), and ``tf.float32`` is the output's dtype (the script's hard-coded float32 cast
    cannot meet Keras 3's float64 ``y_true``; identical in float32)."""

    def __init__(self, num_classes=80, alpha=0.25, gamma=2.0, delta=1.0, reduction="sum_over_batch_size"):
        super().__init__(reduction=reduction, name="RetinaNetLoss")
        self._clf_loss = RetinaNetClassificationLoss(alpha, gamma)
        self._box_loss = RetinaNetBoxLoss(delta)
        self._num_classes = num_classes

    def call(self, y_true, y_pred):
        dt = y_pred.dtype
        box_labels = y_true[:, :, :4]
        box_predictions = y_pred[:, :, :4]
        cls_labels = tf.one_hot(tf.cast(y_true[:, :, 4], dtype=tf.int32), depth=self._num_classes, dtype=dt)
        cls_predictions = y_pred[:, :, 4:]
        positive_mask = tf.cast(tf.greater(y_true[:, :, 4], -1.0), dtype=dt)
        ignore_mask = tf.cast(tf.equal(y_true[:, :, 4], -2.0), dtype=dt)
        clf_loss = self._clf_loss(cls_labels, cls_predictions)
        box_loss = self._box_loss(box_labels, box_predictions)
        zero = tf.constant(0.0, dt)  # (the script's 0.0: float32)
        clf_loss = tf.where(tf.equal(ignore_mask, 1.0), zero, clf_loss)
        box_loss = tf.where(tf.equal(positive_mask, 1.0), box_loss, zero)
        normalizer = tf.reduce_sum(positive_mask, axis=-1)
        clf_loss = tf.math.divide_no_nan(tf.reduce_sum(clf_loss, axis=-1), normalizer)
        box_loss = tf.math.divide_no_nan(tf.reduce_sum(box_loss, axis=-1), normalizer)
        return clf_loss + box_loss


class RetinaNetBoxLossPort(losses.Loss):
    def __init__(self, delta):
        super().__init__(reduction="none", name="RetinaNetBoxLoss")
        self._delta = delta

    def call(self, y_true, y_pred):
        difference = y_true - y_pred
        absolute_difference = difference.abs()
        loss = torch.where(absolute_difference < self._delta, 0.5 * difference**2, absolute_difference - 0.5)
        return loss.sum(dim=-1)


class RetinaNetClassificationLossPort(losses.Loss):
    def __init__(self, alpha, gamma):
        super().__init__(reduction="none", name="RetinaNetClassificationLoss")
        self._alpha = alpha
        self._gamma = gamma

    def call(self, y_true, y_pred):
        cross_entropy = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
        probs = torch.sigmoid(y_pred)
        alpha = torch.where(y_true == 1.0, self._alpha, 1.0 - self._alpha)
        pt = torch.where(y_true == 1.0, probs, 1 - probs)
        return (alpha * (1.0 - pt) ** self._gamma * cross_entropy).sum(dim=-1)


class RetinaNetLossPort(losses.Loss):
    """The port: torch ops, but ``tf.one_hot`` as ``torch_impl.keras_ops.one_hot`` (``F.one_hot`` raises on the
    background id -1 and the ignored id -2, which ``tf.one_hot`` turns into rows of zeros) and
    ``tf.math.divide_no_nan`` as ``keras_ops.divide_no_nan``."""

    def __init__(self, num_classes=80, alpha=0.25, gamma=2.0, delta=1.0, reduction="sum_over_batch_size"):
        super().__init__(reduction=reduction, name="RetinaNetLoss")
        self._clf_loss = RetinaNetClassificationLossPort(alpha, gamma)
        self._box_loss = RetinaNetBoxLossPort(delta)
        self._num_classes = num_classes

    def call(self, y_true, y_pred):
        ids = y_true[:, :, 4]
        cls_labels = tops.one_hot(ids.to(torch.int32), self._num_classes, dtype=y_pred.dtype)
        positive_mask = (ids > -1.0).to(y_pred.dtype)
        ignore_mask = (ids == -2.0).to(y_pred.dtype)
        clf_loss = self._clf_loss(cls_labels, y_pred[:, :, 4:])
        box_loss = self._box_loss(y_true[:, :, :4], y_pred[:, :, :4])
        clf_loss = torch.where(ignore_mask == 1.0, 0.0, clf_loss)
        box_loss = torch.where(positive_mask == 1.0, box_loss, 0.0)
        normalizer = positive_mask.sum(dim=-1)
        clf_loss = tops.divide_no_nan(clf_loss.sum(dim=-1), normalizer)
        box_loss = tops.divide_no_nan(box_loss.sum(dim=-1), normalizer)
        return clf_loss + box_loss


def _anchor_data(dt, n, seed):
    """Per-anchor features and the LabelEncoder's targets: 4 box offsets and a class id per anchor, -1 for
    background (most anchors), -2 for ignored ones; one image in eight has no object at all (normalizer 0)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, ANCHORS, FEAT1))
    score = x[..., 0] + 0.3 * rng.normal(size=(n, ANCHORS))
    ids = np.where(score > 0.9, np.argmax(x[..., 1:1 + CLS1], axis=-1), -1).astype(float)
    ids[(score > 0.6) & (score <= 0.9)] = -2.0
    ids[::8] = np.where(ids[::8] >= 0, -1.0, ids[::8])  # images without objects
    boxes = 0.5 * x[..., 2:6] + 0.2 * rng.normal(size=(n, ANCHORS, 4))
    boxes[..., 0] += 2.0 * (x[..., 3] > 1.5)  # a few offsets past delta=1: the L1 branch
    y = np.concatenate([boxes, ids[..., None]], axis=-1)
    return x.astype(dt), y.astype(dt)


def _keras_retina_head():
    inputs = keras.Input((ANCHORS, FEAT1))
    h = layers.Dense(16, activation="relu")(inputs)
    box = layers.Dense(4)(h)
    cls = layers.Dense(CLS1, bias_initializer=keras.initializers.Constant(PRIOR))(h)
    return keras.Model(inputs, layers.Concatenate()([box, cls]))


class _RetinaHead(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.h, self.box, self.cls = (torch.nn.Linear(FEAT1, 16), torch.nn.Linear(16, 4),
                                      torch.nn.Linear(16, CLS1))

    def forward(self, x):
        h = torch.relu(self.h(x))
        return torch.cat([self.box(h), self.cls(h)], dim=-1)


BOUNDARIES, RATES = [4, 8], [0.02, 0.05, 0.01]


@pytest.mark.parametrize("dt", DTYPES)
def test_retinanet_focal_and_box_loss_like_keras(dt):
    """``model.compile(loss=RetinaNetLoss(num_classes), optimizer=SGD(PiecewiseConstantDecay(...), momentum=0.9))``
    on a per-anchor head (the classification bias at the script's prior), ``fit`` with validation data in
    Keras's shuffle order, ``evaluate``, ``predict``. The port: the three losses as ``torch_impl.losses.Loss``
    subclasses written with torch ops, ``torch_impl.optim.SGD`` on ``torch_impl.schedules.PiecewiseConstantDecay``."""
    x, y = _anchor_data(dt, 48, 0)
    xv, yv = _anchor_data(dt, 16, 1)
    assert (y[..., 4] == -2).any() and (y[..., 4] >= 0).any() and ((y[..., 4] >= 0).sum(-1) == 0).any()
    kw = dict(batch_size=8, epochs=3, validation_data=(xv, yv))
    with _precision(dt):
        keras.utils.set_random_seed(3)
        model = _keras_retina_head()
        initial = model.get_weights()
        sched = keras.optimizers.schedules.PiecewiseConstantDecay(boundaries=BOUNDARIES, values=RATES)
        model.compile(loss=RetinaNetLoss(CLS1), optimizer=keras.optimizers.SGD(learning_rate=sched, momentum=0.9))
        kh = model.fit(x, y, verbose=0, **kw).history
        ke = model.evaluate(xv, yv, verbose=0, return_dict=True)
        kp = model.predict(xv, verbose=0)
        net = load_keras_weights(_RetinaHead(), initial)
        opt = optim.SGD(net.parameters(), momentum=0.9,
                        learning_rate=schedules.PiecewiseConstantDecay(boundaries=BOUNDARIES, values=RATES))
        th = tfit.fit(net, x, y, loss=RetinaNetLossPort(CLS1), optimizer=opt, seed=3, verbose=0, **kw).history
        te = tfit.evaluate(net, xv, yv, loss=RetinaNetLossPort(CLS1), return_dict=True)
        tp = tfit.predict(net, xv)
    print(f"\n[{dt}] RetinaNet head, history keys {sorted(kh)}")
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt)
    r = _rel(te["loss"], ke["loss"])
    rp = _normwise(tp, kp)
    w = _weights_normwise([p.detach().numpy().T if p.dim() == 2 else p.detach().numpy() for p in net.parameters()],
                          model.get_weights())
    print(f"  evaluate: Keras {ke['loss']:.8f} torch_impl {te['loss']:.8f} rel {r:.1e}; predict normwise {rp:.1e}; "
          f"final weights normwise {w:.1e}")
    assert r <= _tol(dt) and rp <= _tol(dt) and w <= _tol(dt)
    assert kh["loss"][-1] < kh["loss"][0]  # it trains


def test_retinanet_loss_pieces_and_builtin_focal():
    """The script's loss on fixed tensors (float64): value and gradient against Keras's; ``reduction="auto"``
    (the script as written) raises ``ValueError`` in Keras 3 and in torch_impl; ``F.one_hot`` (the usual port of
    ``tf.one_hot``) raises on the -1/-2 ids; and the script's classification loss against the built-in
    ``BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.25, gamma=2.0, from_logits=True)``: the same
    focal weighting; the built-in averages over the classes where the script sums (a factor ``num_classes``), and
    nothing else: its ``from_logits`` path applies ``ops.sigmoid`` and then the probability crossentropy, but on
    the TensorFlow backend the sigmoid's output carries its logits (``_keras_logits``), so the crossentropy is the
    exact softplus, not the clipped ``-log(1e-7) = 16.12``, even at logit 20 (torch_impl's the same)."""
    with pytest.raises(ValueError, match="reduction"):
        RetinaNetLoss(CLS1, reduction="auto")
    with pytest.raises(ValueError, match="reduction"):
        RetinaNetLossPort(CLS1, reduction="auto")
    with pytest.raises(RuntimeError):
        F.one_hot(torch.tensor([-1, 0, 2]), CLS1)
    ids = np.array([-2, -1, 0, 2])
    k1h = tf.one_hot(ids, CLS1, dtype=tf.float64).numpy()
    assert np.array_equal(tops.one_hot(torch.tensor(ids), CLS1, dtype=torch.float64).numpy(), k1h)

    rng = np.random.default_rng(7)
    _, y = _anchor_data("float64", 8, 5)
    z = rng.normal(size=(8, ANCHORS, 4 + CLS1)) * 3.0
    with _precision("float64"):
        zk = tf.Variable(z)
        with tf.GradientTape() as tape:
            lk = RetinaNetLoss(CLS1)(tf.constant(y), zk)
        gk = tape.gradient(lk, zk).numpy()
        zt = torch.tensor(z, requires_grad=True)
        lt = RetinaNetLossPort(CLS1)(torch.tensor(y), zt)
        lt.backward()
    rv, rg = _rel(lt.item(), float(lk)), _normwise(zt.grad.numpy(), gk)
    print(f"\nRetinaNetLoss value Keras {float(lk):.12f} port {lt.item():.12f} rel {rv:.1e}; "
          f"gradient normwise {rg:.1e}")
    assert rv <= 1e-12 and rg <= 1e-10

    # the script's focal part against the built-in binary focal crossentropy, in both frameworks
    labels = np.eye(CLS1)[rng.integers(0, CLS1, size=(6,))]
    logits = rng.normal(size=(6, CLS1))
    labels[0] = [0.0, 1.0, 0.0]
    logits[0] = [20.0, -3.0, 20.0]  # two background classes saturated (p = 1 - 2e-9, past the 1 - 1e-7 clip)
    with _precision("float64"):
        script = RetinaNetClassificationLoss(0.25, 2.0)(labels, logits).numpy()
        kb = keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.25, gamma=2.0,
                                                  from_logits=True, reduction=None)(labels, logits).numpy()
    tb = losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.25, gamma=2.0, from_logits=True,
                                        reduction=None)(torch.tensor(labels), torch.tensor(logits)).numpy()
    rb = _rel(tb, kb)
    mod = _rel(CLS1 * kb, script)
    print(f"built-in focal: torch_impl vs Keras rel {rb:.1e}; the script's sum vs {CLS1} x the built-in mean "
          f"rel {mod:.1e} (saturated row: script {script[0]:.6f}, {CLS1} x built-in {CLS1 * kb[0]:.6f})")
    assert rb <= 1e-12 and mod <= 1e-12
    assert script[0] > 30.0  # 0.75 * 2 * 20.0 (+ the positive class): the exact softplus, no clip at 16.12


# --------------------------------------------------------------------------------------------------------------
# 2. keras.io "Large-scale multi-label text classification" (arXiv abstracts)
# --------------------------------------------------------------------------------------------------------------

TERMS = ["[UNK]", "cs.LG", "cs.CV", "stat.ML", "cs.AI", "eess.IV", "cs.RO"]  # StringLookup(output_mode="multi_hot")
VOCAB2 = 40


def _tfidf_abstracts(dt, n, seed):
    """Bag-of-bigram counts of synthetic abstracts whose words depend on their subject terms, turned into
    ``TextVectorization(output_mode="tf_idf")``'s features (count times ``log(1 + N / (1 + df))``, the idf of the
    training split), and the multi-hot terms: column 0 is ``StringLookup``'s ``[UNK]``, never set."""
    rng = np.random.default_rng(seed)
    topic_words = np.random.default_rng(100).random((len(TERMS) - 1, VOCAB2)) ** 4  # the same in every split
    labels = np.zeros((n, len(TERMS)))
    for i in range(n):
        labels[i, 1 + rng.choice(len(TERMS) - 1, size=rng.integers(1, 4), replace=False)] = 1.0
    rate = 0.3 + labels[:, 1:] @ topic_words * 3.0
    counts = rng.poisson(rate).astype(float)
    return counts, labels


def _tfidf(counts, train_counts):
    idf = np.log(1.0 + len(train_counts) / (1.0 + (train_counts > 0).sum(0)))
    return counts * idf


def _keras_shallow_mlp():
    """The tutorial's ``make_model()`` (512/256 units there)."""
    return keras.Sequential([layers.Dense(32, activation="relu"), layers.Dense(16, activation="relu"),
                             layers.Dense(len(TERMS), activation="sigmoid")])


@pytest.mark.parametrize("dt", SLOW_DTYPES)
def test_multi_label_text_classification_like_keras(dt):
    """``compile(loss="binary_crossentropy", optimizer="adam", metrics=["binary_accuracy"])``, ``fit`` with
    validation data, ``_, binary_acc = model.evaluate(test)`` and the tutorial's top-3 terms from ``predict``.
    The port: ``torch.nn.Sequential`` logits, ``torch_impl.fit(output_activation="sigmoid")``/``evaluate``/
    ``predict``. (The tutorial's ``tf.data`` shuffle buffer is not replayable: both feed arrays in Keras's ``fit``
    shuffle order.)"""
    c, y = _tfidf_abstracts(dt, 96, 0)
    cv, yv = _tfidf_abstracts(dt, 32, 1)
    ct, yt = _tfidf_abstracts(dt, 32, 2)
    x, xv, xt = (_tfidf(a, c).astype(dt) for a in (c, cv, ct))
    y, yv, yt = (a.astype(dt) for a in (y, yv, yt))
    kw = dict(batch_size=16, epochs=4, validation_data=(xv, yv))
    with _precision(dt):
        keras.utils.set_random_seed(2)
        model = _keras_shallow_mlp()
        model.build((None, VOCAB2))
        initial = model.get_weights()
        model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["binary_accuracy"])
        kh = model.fit(x, y, verbose=0, **kw).history
        k_loss, k_acc = model.evaluate(xt, yt, verbose=0)
        kp = model.predict(xt, verbose=0)
        net = torch.nn.Sequential(torch.nn.Linear(VOCAB2, 32), torch.nn.ReLU(), torch.nn.Linear(32, 16),
                                  torch.nn.ReLU(), torch.nn.Linear(16, len(TERMS)))
        load_keras_weights(net, initial)
        tkw = dict(loss="binary_crossentropy", metrics=["binary_accuracy"], output_activation="sigmoid")
        th = tfit.fit(net, x, y, optimizer="adam", seed=2, verbose=0, **kw, **tkw).history
        t_loss, t_acc = tfit.evaluate(net, xt, yt, return_dict=False, **tkw)
        tp = tfit.predict(net, xt, output_activation="sigmoid")
    print(f"\n[{dt}] multi-label MLP, history keys {sorted(kh)}")
    assert sorted(th) == sorted(kh) == ["binary_accuracy", "loss", "val_binary_accuracy", "val_loss"]
    _check_history(th, kh, dt)
    r = max(_rel(t_loss, k_loss), _rel(t_acc, k_acc))
    rp = _normwise(tp, kp)

    def top3(p):
        return [[t for _, t in sorted(zip(row, TERMS), key=lambda pair: pair[0], reverse=True)][:3] for row in p]

    same_top3 = top3(tp) == top3(kp)
    print(f"  evaluate: Keras ({k_loss:.8f}, {k_acc:.8f}) torch_impl ({t_loss:.8f}, {t_acc:.8f}) max rel {r:.1e}; "
          f"predict normwise {rp:.1e}; top-3 terms equal: {same_top3}; [UNK] column max prob {kp[:, 0].max():.4f}")
    assert r <= _tol(dt) and rp <= _tol(dt) and same_top3


# --------------------------------------------------------------------------------------------------------------
# 3. Coursera "AI for Medical Diagnosis" (ChestX-ray14): get_weighted_loss(pos_weights, neg_weights)
# --------------------------------------------------------------------------------------------------------------

FINDINGS, IMG3 = 5, 8


def compute_class_freqs(labels):
    """The assignment's solution."""
    N = labels.shape[0]
    positive_frequencies = np.sum(labels, axis=0) / N
    negative_frequencies = 1 - positive_frequencies
    return positive_frequencies, negative_frequencies


def _make_weighted_loss(K):
    """``get_weighted_loss`` as the assignment writes it, for a given ``K`` (Keras's legacy backend or
    ``torch_impl.keras_backend``): a sum over the labels of per-label means, the positives weighted by the
    negative frequency and the negatives by the positive one, ``K.log(p + epsilon)``."""

    def get_weighted_loss(pos_weights, neg_weights, epsilon=1e-7):
        def weighted_loss(y_true, y_pred):
            loss = 0.0
            for i in range(len(pos_weights)):
                loss_pos = -1 * K.mean(pos_weights[i] * y_true[:, i] * K.log(y_pred[:, i] + epsilon))
                loss_neg = -1 * K.mean(neg_weights[i] * (1 - y_true[:, i]) * K.log(1 - y_pred[:, i] + epsilon))
                loss += loss_pos + loss_neg
            return loss
        return weighted_loss
    return get_weighted_loss


def _xray_data(dt, n, seed):
    rng = np.random.default_rng(seed)
    prevalence = np.array([0.05, 0.1, 0.2, 0.3, 0.5])
    y = (rng.random((n, FINDINGS)) < prevalence).astype(float)
    x = rng.normal(size=(n, IMG3, IMG3, 1)) * 0.5
    for f in range(FINDINGS):  # a bright patch per finding
        x[y[:, f] == 1, f:f + 3, f:f + 3, 0] += 1.0
    return x.astype(dt), y.astype(dt)


def _keras_xray_model():
    """DenseNet121 + GlobalAveragePooling2D + Dense(14, sigmoid) in the assignment; a small convnet here."""
    inputs = keras.Input((IMG3, IMG3, 1))
    h = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    h = layers.GlobalAveragePooling2D()(h)
    return keras.Model(inputs, layers.Dense(FINDINGS, activation="sigmoid")(h))


class _XrayNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.out = torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.Linear(8, FINDINGS)

    def forward(self, x):  # NHWC in, as the Keras script feeds it
        return self.out(torch.relu(self.conv(x.permute(0, 3, 1, 2))).mean(dim=(2, 3)))


@pytest.mark.parametrize("dt", SLOW_DTYPES)
def test_chest_xray_weighted_loss_like_keras(dt):
    """``model.compile(optimizer="adam", loss=get_weighted_loss(pos_weights, neg_weights))`` with the weights from
    ``compute_class_freqs`` (NumPy float64 arrays, as the assignment has them), ``fit`` with validation data,
    ``predict``. The port: the same function with ``from torch_impl import keras_backend as K``, given to
    ``torch_impl.fit`` on a sigmoid output (a custom loss sees the probabilities, as in Keras). The usual torch
    port, ``nn.BCEWithLogitsLoss(pos_weight=pos_weights / neg_weights)``, weighs the labels in the same ratio but
    is another loss (a mean over labels, not a sum; the negatives weighted 1): another run."""
    from tensorflow.keras import backend as KK

    from torch_impl import keras_backend as TK

    x, y = _xray_data(dt, 64, 0)
    xv, yv = _xray_data(dt, 32, 1)
    freq_pos, freq_neg = compute_class_freqs(y.astype(np.float64))
    pos_weights, neg_weights = freq_neg, freq_pos
    kw = dict(batch_size=16, epochs=4, validation_data=(xv, yv))
    with _precision(dt):
        keras.utils.set_random_seed(4)
        model = _keras_xray_model()
        initial = model.get_weights()
        model.compile(optimizer="adam", loss=_make_weighted_loss(KK)(pos_weights, neg_weights))
        kh = model.fit(x, y, verbose=0, **kw).history
        kp = model.predict(xv, verbose=0)
        net = load_keras_weights(_XrayNet(), initial)
        th = tfit.fit(net, x, y, optimizer="adam", loss=_make_weighted_loss(TK)(pos_weights, neg_weights),
                      output_activation="sigmoid", seed=4, verbose=0, **kw).history
        tp = tfit.predict(net, xv, output_activation="sigmoid")
        usual = load_keras_weights(_XrayNet(), initial)  # the usual torch port, in the same fit
        bce = torch.nn.BCEWithLogitsLoss(pos_weight=torch.as_tensor(pos_weights / neg_weights,
                                                                    dtype=torch.get_default_dtype()))
        uh = tfit.fit(usual, x, y, optimizer="adam", loss=lambda yt, z: bce(z, yt), seed=4, verbose=0,
                      **kw).history
        up = tfit.predict(usual, xv, output_activation="sigmoid")
    print(f"\n[{dt}] pos_weights {np.round(pos_weights, 4).tolist()}, history keys {sorted(kh)}")
    assert sorted(th) == sorted(kh) == ["loss", "val_loss"]
    _check_history(th, kh, dt)
    rp = _normwise(tp, kp)
    w = _weights_normwise([p.detach().numpy() for p in net.parameters()],
                          [np.transpose(a, (3, 2, 0, 1)) if a.ndim == 4 else (a.T if a.ndim == 2 else a)
                           for a in model.get_weights()])
    ru = _normwise(up, kp)
    print(f"  predict normwise {rp:.1e}; final weights normwise {w:.1e}; BCEWithLogitsLoss(pos_weight) port: "
          f"loss {np.round(uh['loss'], 6).tolist()}, its predictions {ru:.1e} off Keras's")
    assert rp <= _tol(dt) and w <= _tol(dt)
    assert ru > 1e-3  # far outside the standard, though Adam hides most of the rescaling


# --------------------------------------------------------------------------------------------------------------
# 4. keras.io "Structured data learning with Wide, Deep, and Cross networks" (covertype): the Deep & Cross model
# --------------------------------------------------------------------------------------------------------------

NUMERIC4 = ["elevation", "slope", "hillshade"]
CATEGORICAL4 = {"wilderness_area": 4, "soil_type": 9}  # vocabulary sizes: embedding dims int(sqrt(size))
FEATURES4 = ["elevation", "wilderness_area", "slope", "soil_type", "hillshade"]
CLS4, HIDDEN4, DROP4 = 4, [16, 16], 0.1


def _covertype(dt, n, seed):
    """Standardised numeric columns and integer-coded categorical ones (what ``StringLookup(num_oov_indices=0,
    output_mode="int")`` gives; done in NumPy on both sides), a cover type from both."""
    rng = np.random.default_rng(seed)
    x = {}
    for f in FEATURES4:
        x[f] = (rng.integers(0, CATEGORICAL4[f], size=n).astype("int32") if f in CATEGORICAL4
                else rng.normal(size=n).astype(dt))
    score = np.stack([x["elevation"] + (x["soil_type"] % 3 == 0), x["slope"] - x["hillshade"],
                      0.8 * (x["wilderness_area"] == 2) - x["elevation"], 0.5 * np.ones(n)], -1)
    y = np.argmax(score + 0.5 * rng.normal(size=(n, CLS4)), axis=-1)
    return x, y.astype("int64")


def _keras_deep_and_cross(dt):
    """The tutorial's ``create_model_inputs`` / ``encode_inputs(use_embedding=True)`` /
    ``create_deep_and_cross_model``; integer ids in place of its strings. Returns the model and its weighted layers
    in construction order (``get_weights()`` lists them in graph order: the deep tower's first)."""
    made = []

    def mk(layer):
        made.append(layer)
        return layer

    inputs = {f: layers.Input(name=f, shape=(), dtype="int32" if f in CATEGORICAL4 else dt) for f in FEATURES4}
    encoded = []
    for f in inputs:
        if f in CATEGORICAL4:
            encoded.append(mk(layers.Embedding(input_dim=CATEGORICAL4[f],
                                               output_dim=int(math.sqrt(CATEGORICAL4[f]))))(inputs[f]))
        else:
            encoded.append(ops.expand_dims(inputs[f], -1))
    x0 = layers.concatenate(encoded)
    cross = x0
    for _ in HIDDEN4:
        units = cross.shape[-1]
        x = mk(layers.Dense(units))(cross)
        cross = x0 * x + cross
    cross = mk(layers.BatchNormalization())(cross)
    deep = x0
    for units in HIDDEN4:
        deep = mk(layers.Dense(units))(deep)
        deep = mk(layers.BatchNormalization())(deep)
        deep = layers.ReLU()(deep)
        deep = layers.Dropout(DROP4)(deep)
    merged = layers.concatenate([cross, deep])
    outputs = mk(layers.Dense(units=CLS4, activation="softmax"))(merged)
    return keras.Model(inputs=inputs, outputs=outputs), made


class _DeepAndCross(torch.nn.Module):
    """The port. Modules declared in Keras's construction order (embeddings, cross Dense layers, BatchNorm, the
    deep blocks with their Dropouts, the head), so ``keras_init_(seed=S)`` replays Keras's initial weights and the
    unseeded Dropouts' seeds; ``nn.Embedding(sparse=True)`` for Keras's row-sparse Adam step; called with the
    features as keyword arguments (``fit`` of a dict)."""

    def __init__(self, sparse=True):
        super().__init__()
        width = len(NUMERIC4) + sum(int(math.sqrt(v)) for v in CATEGORICAL4.values())
        self.emb = torch.nn.ModuleDict({f: torch.nn.Embedding(v, int(math.sqrt(v)), sparse=sparse)
                                        for f, v in CATEGORICAL4.items() if f in FEATURES4})
        self.cross = torch.nn.ModuleList([torch.nn.Linear(width, width) for _ in HIDDEN4])
        self.cross_bn = tnn.BatchNormalization(width)
        deep, d = [], width
        for units in HIDDEN4:
            deep += [torch.nn.Linear(d, units), tnn.BatchNormalization(units), torch.nn.ReLU(), tnn.Dropout(DROP4)]
            d = units
        self.deep = torch.nn.Sequential(*deep)
        self.head = torch.nn.Linear(width + d, CLS4)

    def forward(self, **features):
        x0 = torch.cat([self.emb[f](features[f].long()) if f in CATEGORICAL4 else features[f][:, None]
                        for f in FEATURES4], dim=-1)
        cross = x0
        for dense in self.cross:
            cross = x0 * dense(cross) + cross
        return self.head(torch.cat([self.cross_bn(cross), self.deep(x0)], dim=-1))


def _as_torch_features(x):
    return {f: torch.as_tensor(v) for f, v in x.items()}  # integer ids stay integer tensors (Keras's int32 Input)


@pytest.mark.parametrize("dt", SLOW_DTYPES)
def test_deep_and_cross_network_like_keras(dt):
    """``compile(optimizer=keras.optimizers.Adam(learning_rate), loss=keras.losses.SparseCategoricalCrossentropy(),
    metrics=[keras.metrics.SparseCategoricalAccuracy()])``, ``fit`` on the dict of features with validation data,
    ``_, accuracy = model.evaluate(test)``, ``predict``. The port: ``keras_init_(net, seed=S)`` (initial weights
    and the unseeded Dropouts' seeds), ``torch_impl.fit(seed=S)`` of the same dict, softmax logits out. A port with
    dense ``nn.Embedding``s trains another run (``fit`` warns)."""
    x, y = _covertype(dt, 96, 0)
    xv, yv = _covertype(dt, 32, 1)
    kw = dict(batch_size=16, epochs=3, validation_data=(xv, yv))
    with _precision(dt):
        keras.utils.set_random_seed(5)
        model, made = _keras_deep_and_cross(dt)
        initial = [w for layer in made for w in layer.get_weights()]
        # get_weights() is in graph order (the deep tower's Dense before the cross layers): not the port's order
        with pytest.raises(ValueError, match="Keras layout"):
            load_keras_weights(_DeepAndCross(), model.get_weights())
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                      loss=keras.losses.SparseCategoricalCrossentropy(),
                      metrics=[keras.metrics.SparseCategoricalAccuracy()])
        kh = model.fit(x, y, verbose=0, **kw).history
        k_loss, k_acc = model.evaluate(xv, yv, verbose=0)
        kp = model.predict(xv, verbose=0)
        tkw = dict(loss=losses.SparseCategoricalCrossentropy(), metrics=[tmetrics_sca()],
                   output_activation="softmax")
        runs = {}
        for sparse in (True, False):
            net = keras_init_(_DeepAndCross(sparse), seed=5)
            if sparse:
                from torch_impl.nn import keras_weights
                w0 = _weights_normwise(keras_weights(net), initial)
            opt = optim.Adam(net.parameters(), learning_rate=0.01)
            with pytest.warns(UserWarning, match="Embedding") if not sparse else _nullcontext():
                h = tfit.fit(net, _as_torch_features(x), y, optimizer=opt, seed=5, verbose=0,
                             **{**kw, "validation_data": (_as_torch_features(xv), yv)}, **tkw).history
            runs[sparse] = (net, h)
        net, th = runs[True]
        t_loss, t_acc = tfit.evaluate(net, _as_torch_features(xv), yv, return_dict=False, **tkw)
        tp = tfit.predict(net, _as_torch_features(xv), output_activation="softmax")
    print(f"\n[{dt}] Deep & Cross, initial weights (keras_init_) normwise {w0:.1e}, history keys {sorted(kh)}")
    assert w0 == 0.0
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt)
    r = max(_rel(t_loss, k_loss), _rel(t_acc, k_acc))
    rp = _normwise(tp, kp)
    rd = _rel(runs[False][1]["loss"], kh["loss"])
    print(f"  evaluate: Keras ({k_loss:.8f}, {k_acc:.6f}) torch_impl ({t_loss:.8f}, {t_acc:.6f}) max rel {r:.1e}; "
          f"predict normwise {rp:.1e}; dense-Embedding port: loss max rel {rd:.1e}")
    # float32 predict: inference reads the moving means that follow the deep tower's Dense biases, which Adam
    # steps on each side's rounding noise (their exact gradient is 0, see the note in the module docstring): measured
    # 3.0e-4 normwise on one CPU, 1.0e-3 on an AMD EPYC, while evaluate's loss stays within 3.0e-4 and the classes
    # agree; the probabilities are held to 1e-2 in float32, the loss to the standard.
    assert r <= _tol(dt) and rp <= (_tol(dt) if dt == "float64" else 1e-2) and (tp.argmax(-1) == kp.argmax(-1)).all()
    assert rd > _tol(dt)


def tmetrics_sca():
    from torch_impl import metrics as tmetrics
    return tmetrics.SparseCategoricalAccuracy()


def _nullcontext():
    import contextlib
    return contextlib.nullcontext()


# --------------------------------------------------------------------------------------------------------------
# 5. nabsabraham/focal-tversky-unet: focal_tversky loss with the dsc and tversky metrics, written with K
# --------------------------------------------------------------------------------------------------------------

IMG5 = 12


def _make_tversky_losses(K):
    """The repository's ``losses.py`` (module-level ``smooth = 1``), for a given ``K``."""
    smooth = 1

    def dsc(y_true, y_pred):
        smooth = 1.
        y_true_f = K.flatten(y_true)
        y_pred_f = K.flatten(y_pred)
        intersection = K.sum(y_true_f * y_pred_f)
        score = (2. * intersection + smooth) / (K.sum(y_true_f) + K.sum(y_pred_f) + smooth)
        return score

    def tversky(y_true, y_pred):
        y_true_pos = K.flatten(y_true)
        y_pred_pos = K.flatten(y_pred)
        true_pos = K.sum(y_true_pos * y_pred_pos)
        false_neg = K.sum(y_true_pos * (1 - y_pred_pos))
        false_pos = K.sum((1 - y_true_pos) * y_pred_pos)
        alpha = 0.7
        return (true_pos + smooth) / (true_pos + alpha * false_neg + (1 - alpha) * false_pos + smooth)

    def focal_tversky(y_true, y_pred):
        pt_1 = tversky(y_true, y_pred)
        gamma = 0.75
        return K.pow((1 - pt_1), gamma)

    return dsc, tversky, focal_tversky


def _lesions(dt, n, seed):
    """Small bright lesions (about 6% of the pixels) on noise: the imbalance the Tversky alpha=0.7 targets."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, IMG5, IMG5, 1)) * 0.5
    y = np.zeros((n, IMG5, IMG5, 1))
    for i in range(n):
        r, c = rng.integers(0, IMG5 - 3, size=2)
        y[i, r:r + 3, c:c + 3, 0] = 1.0
    x += 1.2 * y
    return x.astype(dt), y.astype(dt)


def _keras_lesion_net():
    inputs = keras.Input((IMG5, IMG5, 1))
    h = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    return keras.Model(inputs, layers.Conv2D(1, 1, activation="sigmoid")(h))


class _LesionNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.Conv2d(8, 1, 1)

    def forward(self, x):  # NHWC in and out
        return self.c2(torch.relu(self.c1(x.permute(0, 3, 1, 2)))).permute(0, 2, 3, 1)


@pytest.mark.parametrize("dt", DTYPES)
def test_focal_tversky_segmentation_like_keras(dt):
    """``model.compile(optimizer=Adam(1e-2), loss=focal_tversky, metrics=[dsc, tversky])`` on a sigmoid
    segmentation net, 36 images in batches of 8 (the last holds 4), validation data, ``evaluate``. The functions
    are batch-level scalars: the logged loss weighs each batch by its size (Keras's loss tracker) while the
    metrics average the batches' values unweighted (``MeanMetricWrapper`` of a scalar counts 1). The port: the same
    functions with ``from torch_impl import keras_backend as K``, in ``torch_impl.fit(metrics=[dsc, tversky])``."""
    from tensorflow.keras import backend as KK

    from torch_impl import keras_backend as TK

    x, y = _lesions(dt, 36, 0)
    xv, yv = _lesions(dt, 12, 1)
    kw = dict(batch_size=8, epochs=3, validation_data=(xv, yv))
    kdsc, ktv, kft = _make_tversky_losses(KK)
    tdsc, ttv, tft = _make_tversky_losses(TK)
    with _precision(dt):
        keras.utils.set_random_seed(6)
        model = _keras_lesion_net()
        initial = model.get_weights()
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-2), loss=kft, metrics=[kdsc, ktv])
        kh = model.fit(x, y, verbose=0, **kw).history
        ke = model.evaluate(xv, yv, verbose=0, return_dict=True)
        net = load_keras_weights(_LesionNet(), initial)
        tkw = dict(loss=tft, metrics=[tdsc, ttv], output_activation="sigmoid")
        th = tfit.fit(net, x, y, optimizer=optim.Adam(net.parameters(), learning_rate=1e-2), seed=6, verbose=0,
                      **kw, **tkw).history
        te = tfit.evaluate(net, xv, yv, return_dict=True, **tkw)
        # one epoch's figures by hand from the final weights: loss weighted by batch size, metrics unweighted
        sizes = [8, 8, 8, 8, 4]
        with torch.no_grad():
            per_batch = [(float(tft(torch.as_tensor(y[i:i + 8]), torch.sigmoid(net(torch.as_tensor(x[i:i + 8]))))),
                          float(tdsc(torch.as_tensor(y[i:i + 8]), torch.sigmoid(net(torch.as_tensor(x[i:i + 8]))))))
                         for i in range(0, 36, 8)]
    print(f"\n[{dt}] focal Tversky, history keys {sorted(kh)}")
    assert sorted(th) == sorted(kh) == ["dsc", "loss", "tversky", "val_dsc", "val_loss", "val_tversky"]
    _check_history(th, kh, dt)
    r = max(_rel(te[k], ke[k]) for k in ke)
    print(f"  evaluate: Keras {ke} torch_impl {te} max rel {r:.1e}")
    assert sorted(te) == sorted(ke) and r <= _tol(dt)
    with _precision(dt):
        km = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    weighted = sum(s * v[0] for s, v in zip(sizes, per_batch)) / 36
    unweighted = sum(v[1] for v in per_batch) / 5
    print(f"  evaluate(train, batch 8): Keras loss {km['loss']:.8f} = size-weighted batch mean {weighted:.8f}; "
          f"Keras dsc {km['dsc']:.8f} = plain batch mean {unweighted:.8f} "
          f"(size-weighted would be {sum(s * v[1] for s, v in zip(sizes, per_batch)) / 36:.8f})")
    assert _rel(weighted, km["loss"]) <= _tol(dt) and _rel(unweighted, km["dsc"]) <= _tol(dt)


# --------------------------------------------------------------------------------------------------------------
# 6. the ``focal-loss`` package (artemmavrin): SparseCategoricalFocalLoss(gamma, class_weight)
# --------------------------------------------------------------------------------------------------------------

CLS6, IN6 = 3, 6


def sparse_categorical_focal_loss_tf(y_true, y_pred, gamma, *, class_weight=None, from_logits=False):
    """The package's function for ``(N, C)`` predictions, as written (``gamma`` and ``class_weight`` converted to
    float32 there: here to the prediction's dtype, the float64 run's only change)."""
    y_pred = tf.convert_to_tensor(y_pred)
    gamma = tf.convert_to_tensor(gamma, dtype=y_pred.dtype)
    if class_weight is not None:
        class_weight = tf.convert_to_tensor(class_weight, dtype=y_pred.dtype)
    y_true = tf.dtypes.cast(y_true, dtype=tf.dtypes.int64)
    if from_logits:
        logits = y_pred
        probs = tf.nn.softmax(y_pred, axis=-1)
    else:
        probs = y_pred
        logits = tf.math.log(tf.clip_by_value(y_pred, keras.backend.epsilon(), 1 - keras.backend.epsilon()))
    xent_loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y_true, logits=logits)
    y_true_rank = y_true.shape.rank
    probs = tf.gather(probs, y_true, axis=-1, batch_dims=y_true_rank)
    focal_modulation = (1 - probs) ** gamma
    loss = focal_modulation * xent_loss
    if class_weight is not None:
        class_weight = tf.gather(class_weight, y_true, axis=0, batch_dims=y_true_rank)
        loss *= class_weight
    return loss


class SparseCategoricalFocalLoss(keras.losses.Loss):
    def __init__(self, gamma, class_weight=None, from_logits=False, **kwargs):
        super().__init__(**kwargs)
        self.gamma, self.class_weight, self.from_logits = gamma, class_weight, from_logits

    def call(self, y_true, y_pred):
        return sparse_categorical_focal_loss_tf(y_true, y_pred, self.gamma, class_weight=self.class_weight,
                                                from_logits=self.from_logits)


class SparseCategoricalFocalLossPort(losses.Loss):
    """The port in torch: ``F.cross_entropy`` of ``log(clip(p))`` (the package's
    ``sparse_softmax_cross_entropy_with_logits`` of them), the modulation from the unclipped probability."""

    def __init__(self, gamma, class_weight=None, from_logits=False, **kwargs):
        super().__init__(**kwargs)
        self.gamma, self.class_weight, self.from_logits = gamma, class_weight, from_logits

    def call(self, y_true, y_pred):
        y_true = y_true.long()
        if self.from_logits:
            logits, probs = y_pred, torch.softmax(y_pred, dim=-1)
        else:
            probs, logits = y_pred, torch.log(y_pred.clamp(1e-7, 1 - 1e-7))
        loss = (1 - probs.gather(-1, y_true[:, None])[:, 0]) ** self.gamma * F.cross_entropy(
            logits, y_true, reduction="none")
        if self.class_weight is not None:
            loss = loss * torch.as_tensor(self.class_weight, dtype=y_pred.dtype)[y_true]
        return loss


def _imbalanced3(dt, n, seed):
    rng = np.random.default_rng(seed)
    y = rng.choice(CLS6, size=n, p=[0.75, 0.17, 0.08])
    protos = np.random.default_rng(100).normal(size=(CLS6, IN6)) * 1.2  # the same in every split
    return (protos[y] + rng.normal(size=(n, IN6))).astype(dt), y.astype("int64")


def _keras_mlp6():
    inputs = keras.Input((IN6,))
    h = layers.Dense(12, activation="relu")(inputs)
    return keras.Model(inputs, layers.Dense(CLS6, activation="softmax")(h))


def _mlp6():
    return torch.nn.Sequential(torch.nn.Linear(IN6, 12), torch.nn.ReLU(), torch.nn.Linear(12, CLS6))


CW6 = [0.25, 1.0, 2.5]


def _package_runs(dt, gamma):
    """Keras's ``fit``/``evaluate`` with the package's loss and torch_impl's with the port, from the same weights."""
    x, y = _imbalanced3(dt, 80, 0)
    xv, yv = _imbalanced3(dt, 40, 1)
    kw = dict(batch_size=16, epochs=4, validation_data=(xv, yv))
    with _precision(dt):
        keras.utils.set_random_seed(8)
        model = _keras_mlp6()
        initial = model.get_weights()
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss=SparseCategoricalFocalLoss(gamma=gamma,
                      class_weight=CW6), metrics=["accuracy"])
        kh = model.fit(x, y, verbose=0, **kw).history
        ke = model.evaluate(xv, yv, verbose=0, return_dict=True)
        net = load_keras_weights(_mlp6(), initial)
        tkw = dict(loss=SparseCategoricalFocalLossPort(gamma=gamma, class_weight=CW6), metrics=["accuracy"],
                   output_activation="softmax")
        th = tfit.fit(net, x, y, optimizer=optim.Adam(net.parameters(), 0.01), seed=8, verbose=0, **kw,
                      **tkw).history
        te = tfit.evaluate(net, xv, yv, return_dict=True, **tkw)
    print(f"\n[{dt}] SparseCategoricalFocalLoss(gamma={gamma}, class_weight={CW6}), keys {sorted(kh)}")
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt)
    r = max(_rel(te[k], ke[k]) for k in ke)
    print(f"  evaluate: Keras {ke} torch_impl {te} max rel {r:.1e}")
    assert r <= _tol(dt)
    return (x, y, kw, initial), kh


@pytest.mark.parametrize("dt", DTYPES)
def test_focal_loss_package_sparse_categorical_like_keras(dt):
    """The package's README use: ``model.compile(optimizer=Adam(0.01), loss=SparseCategoricalFocalLoss(gamma=2,
    class_weight=[...]), metrics=["accuracy"])`` on a softmax classifier (a custom loss: it gets the softmax's
    probabilities), ``fit`` with validation data, ``evaluate``; the port, a ``torch_impl.losses.Loss`` subclass,
    in ``torch_impl.fit``."""
    _, kh = _package_runs(dt, 2.0)
    assert kh["accuracy"][-1] > kh["accuracy"][0]


@pytest.mark.parametrize("dt", SLOW_DTYPES)
def test_focal_loss_package_gamma0_is_fit_class_weight(dt):
    """The package's ``class_weight`` multiplies each sample's loss by its class's weight and the mean still
    divides by the batch size: with ``gamma=0`` it trains exactly as ``fit(class_weight=dict(enumerate(...)))``
    with ``sparse_categorical_crossentropy`` (Keras's built-in, on the softmax's logits; torch_impl's too); only
    ``val_loss`` differs, as ``fit``'s class weights never weigh validation."""
    (x, y, kw, initial), k0 = _package_runs(dt, 0.0)
    cw = dict(enumerate(CW6))
    with _precision(dt):
        model = _keras_mlp6()
        model.set_weights(initial)
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        kcw = model.fit(x, y, class_weight=cw, verbose=0, **kw).history
        net = load_keras_weights(_mlp6(), initial)
        tcw = tfit.fit(net, x, y, optimizer=optim.Adam(net.parameters(), 0.01), seed=8, verbose=0,
                       class_weight=cw, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                       output_activation="softmax", **kw).history
    print("  gamma=0 against sparse_categorical_crossentropy + fit(class_weight): Keras")
    _check_history(kcw, k0, dt, keys=["loss", "accuracy", "val_accuracy"])
    print("  ... and torch_impl.fit(class_weight=...)")
    _check_history(tcw, k0, dt, keys=["loss", "accuracy", "val_accuracy"])
    rv = _rel(kcw["val_loss"], k0["val_loss"])
    print(f"  (val_loss: fit(class_weight) leaves validation unweighted: {np.round(kcw['val_loss'], 6).tolist()} "
          f"against the package's weighted {np.round(k0['val_loss'], 6).tolist()}, rel {rv:.1e})")
    assert rv > 1e-2


def test_focal_loss_package_against_builtin_categorical_focal():
    """The package's ``SparseCategoricalFocalLoss(gamma=2, class_weight=w)`` and the built-in
    ``CategoricalFocalCrossentropy(alpha=w, gamma=2)`` on one-hot labels are the same formula
    (``-w_c (1 - p_c)^2 log p_c``) on a softmax's moderate probabilities: values and the gradients with respect to
    the logits agree (float64: Keras's built-in, torch_impl's, the package in TensorFlow and its torch port). (With
    respect to the probabilities they differ by a constant per row: the built-in renormalises ``p / sum(p)`` in its
    modulation too, the package only in its crossentropy; the softmax's Jacobian removes it.) At a saturated wrong
    prediction (``p_c = 1e-9``) both clip the log at ``1e-7``; the built-in's row then has no gradient at all, the
    package's keeps the modulation's, ``2 w_c log(1e-7) p_c (1 - p_c)``-sized: 1e-8, as stuck in practice."""
    rng = np.random.default_rng(3)
    y = np.array([0, 1, 2, 2, 1, 0])
    logits = rng.normal(size=(6, CLS6)) * 2.0
    logits[0] = [-21.0, 0.0, 0.0]  # class 0 true, p_0 ~ 1e-9: past the clip
    onehot = np.eye(CLS6)[y]
    with _precision("float64"):
        zk = tf.Variable(logits)
        with tf.GradientTape(persistent=True) as tape:
            p = tf.nn.softmax(zk)
            pkg = SparseCategoricalFocalLoss(gamma=2.0, class_weight=CW6, reduction=None)(y, p)
            blt = keras.losses.CategoricalFocalCrossentropy(alpha=CW6, gamma=2.0, reduction=None)(onehot, p)
            pkg_sum, blt_sum = tf.reduce_sum(pkg), tf.reduce_sum(blt)
        g_pkg, g_blt = tape.gradient(pkg_sum, zk).numpy(), tape.gradient(blt_sum, zk).numpy()
        zt = torch.tensor(logits, requires_grad=True)
        pt = torch.softmax(zt, dim=-1)
        tpkg = SparseCategoricalFocalLossPort(gamma=2.0, class_weight=CW6, reduction=None)(torch.tensor(y), pt)
        tblt = losses.CategoricalFocalCrossentropy(alpha=CW6, gamma=2.0, reduction=None)(torch.tensor(onehot), pt)
        gt_pkg = torch.autograd.grad(tpkg.sum(), zt, retain_graph=True)[0].numpy()
        gt_blt = torch.autograd.grad(tblt.sum(), zt)[0].numpy()
    pkg, blt = pkg.numpy(), blt.numpy()
    figures = {"package vs built-in (rows 1-5)": (_rel(blt[1:], pkg[1:]), _normwise(g_blt[1:], g_pkg[1:])),
               "torch port of the package": (_rel(tpkg.detach().numpy(), pkg), _normwise(gt_pkg, g_pkg)),
               "torch_impl built-in": (_rel(tblt.detach().numpy(), blt), _normwise(gt_blt, g_blt))}
    print()
    for name, (rv, rg) in figures.items():
        print(f"{name}: values rel {rv:.1e}, logit gradients normwise {rg:.1e}")
        assert rv <= 1e-12 and rg <= 1e-10, name
    print(f"saturated row (p_0 = {float(p[0, 0]):.1e}): values package {pkg[0]:.8f} built-in {blt[0]:.8f}; "
          f"logit gradient row: package {g_pkg[0].tolist()}, built-in {g_blt[0].tolist()}")
    assert (g_blt[0] == 0).all() and 1e-10 < np.abs(g_pkg[0]).max() < 1e-6


# --------------------------------------------------------------------------------------------------------------
# 7. TensorFlow's "Image segmentation" tutorial: fit(class_weight=...) on (N, H, W, 1) masks
# --------------------------------------------------------------------------------------------------------------


def test_segmentation_tutorial_class_weight_on_masks_refused():
    """The tutorial's "Optional: Imbalanced classes and class weights" first tries ``model.fit(...,
    class_weight={0: 2.0, 1: 2.0, 2: 1.0})`` on ``(N, 128, 128, 1)`` masks, which Keras refuses (3.15.1 with arrays:
    ``TypeError: only length-1 arrays can be converted to Python scalars``; the tutorial's tf.data: ``ValueError:
    class_weight not supported for 3+ dimensional targets``), and then writes ``add_sample_weights``. torch_impl
    refuses too, with a ``ValueError`` naming the per-pixel ``sample_weight`` way out (a documented difference in
    the exception type); ``(N, H, W)`` masks the same, and without the "labels read as one-hot rows" warning it
    used to give first (about a reading that never happens: fixed here). (``add_sample_weights``' per-pixel
    weights in ``fit``: ``test_field_scripts_round7.py``.)"""
    rng = np.random.default_rng(0)
    x = rng.random((8, 4, 4, 3)).astype("float32")
    masks = rng.integers(0, 3, size=(8, 4, 4, 1))
    cw = {0: 2.0, 1: 2.0, 2: 1.0}
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, layers.Conv2D(3, 1)(inputs))
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])

    class Port(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 3, 1)

        def forward(self, x):
            return self.conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)

    for y in (masks, masks[..., 0]):
        with pytest.raises(TypeError, match="length-1 arrays"):
            model.fit(x, y, class_weight=cw, epochs=1, verbose=0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no "read as one-hot rows" warning before the error (it was, for (N, H, W))
            with pytest.raises(ValueError, match="sample_weight") as err:
                tfit.fit(Port(), x, y, class_weight=cw, optimizer="adam", verbose=0,
                         loss=losses.SparseCategoricalCrossentropy(from_logits=True))
        print(f"\nmasks {y.shape}: Keras TypeError; torch_impl ValueError: {str(err.value)[:120]}...")

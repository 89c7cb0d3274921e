"""Real-world Keras scripts, round 43: crossentropy on custom heads. Five sources, each Keras side as written (small
seeded shapes, run in Keras 3.15.1 in this process), the PyTorch port a porter writes (the published torch twin
where one exists), and the port through torch_impl's public API (``torch_impl.losses``, ``keras_backend``,
``keras_ops``, ``optim``, ``nn``).

1. ArcFace, 4uiiurz1/keras-arcface ``metrics.py`` (https://github.com/4uiiurz1/keras-arcface): a layer taking
   ``[x, y]``, ``tf.nn.l2_normalize`` of the features and of ``W``, ``theta = tf.acos(K.clip(logits, -1 +
   K.epsilon(), 1 - K.epsilon()))``, ``cos(theta + m)`` at the label, times ``s = 30``, ``tf.nn.softmax``; compiled
   with ``categorical_crossentropy``. Its PyTorch twin, ronghuaiyang/arcface-pytorch ``models/metrics.py``
   ``ArcMarginProduct`` (``easy_margin=False``: ``phi = cos(theta) cos(m) - sin(theta) sin(m)`` where ``cos(theta)
   > th = cos(pi - m)``, else ``cos(theta) - mm``, ``mm = sin(pi - m) m``; logits out) with
   ``nn.CrossEntropyLoss()``. (Its ``device='cuda'`` one-hot is built on the input's device here.)
2. Ordinal regression, ck37/coral-ordinal (https://github.com/ck37/coral-ordinal, ``coral_ordinal/loss.py``:
   ``_label_to_levels`` by ``tf.sequence_mask``, ``_coral_ordinal_loss_no_reduction``; ``layer.py``
   ``CoralOrdinal``: one shared unit plus ``num_classes - 1`` biases) against its PyTorch twin,
   Raschka-research-group/coral-pytorch ``coral_pytorch/losses.py`` ``coral_loss(logits, levels,
   importance_weights, reduction='mean')``. The package's ``OrdinalCrossEntropy`` reduces by
   ``tf.keras.losses.Reduction``, absent from Keras 3 (``AttributeError``); the Keras side here is the package's
   ``call`` returning the per-sample losses and Keras's ``Loss`` reducing them (``sum_over_batch_size``, sample
   weights applied by Keras), the package's own functions verbatim.
3. keras.io "CutMix data augmentation for image classification" (https://keras.io/examples/vision/cutmix/):
   ``label = lambda_value * label1 + (1 - lambda_value) * label2``, a ``Dense(num_classes, softmax)`` head,
   ``loss="categorical_crossentropy"``; with ``CategoricalCrossentropy(label_smoothing=0.1)`` as the MixUp
   scripts add. The port: ``F.cross_entropy(logits, soft_targets, label_smoothing=0.1)``.
4. keras.io "Semi-supervised image classification using contrastive pretraining with SimCLR"
   (https://keras.io/examples/vision/semisupervised_simclr/): ``contrastive_loss`` (``tf.math.l2_normalize``,
   ``matmul(p1, p2^T) / temperature``, ``sparse_categorical_crossentropy(range(N), sim, from_logits=True)`` both
   ways, halved: one loss per example) and ``train_step``'s ``tape.gradient(contrastive_loss, ...)`` of that
   *vector* (TensorFlow differentiates its sum), the tracker logging its mean. The usual port: ``F.normalize``,
   ``F.cross_entropy(sim, arange(N))`` (a mean) both ways, ``loss.backward()``, ``torch.optim.Adam``.
5. Center loss with ``Embedding``-held centers (bojone's recipe, as in mishidemudong/ai_medical_predict
   ``Train_predict_2Model.py``): ``centers = Embedding(nb_classes, feature_size)(input_target)``, ``l2_loss =
   Lambda(lambda x: K.sum(K.square(x[0] - x[1][:, 0]), 1, keepdims=True))``, ``compile(optimizer="adam",
   loss=["sparse_categorical_crossentropy", lambda y_true, y_pred: y_pred], loss_weights=[1., 0.2])``. The port:
   ``nn.Embedding`` centers, ``nn.CrossEntropyLoss`` + ``0.2 * l2.mean()``, ``torch.optim.Adam``.

Standards: values and gradients norm-wise (max abs difference over max abs value) within 4e-15 in float64, 2e-6
in float32 (ArcFace's float32 gradients 1e-5: ``acos``' slope near the clip); fits: every history key every epoch
within 1e-12 relative in float64 (1e-4 in float32), final weights within 1e-12 absolute (1e-5). The default run checks
each source once in float64 (values and gradients; SimCLR's three and the center loss's two Adam steps); float32 and
the 3-epoch ``fit`` runs are ``slow``. Measured (float64, float32 in brackets; printed by each test):

=====================  =================================================  ============================================
source                 the porter's port                                  torch_impl port
=====================  =================================================  ============================================
1 ArcFace              arcface-pytorch twin + ``CrossEntropyLoss``:       eager (probabilities into
                       eager Keras (52 of 80 probabilities clipped):      ``losses.CategoricalCrossentropy``): value
                       value 1.3 (1.5), gradients 2.3 (3.9) off; traced   0 (6.3e-8), gradients 0 (2.4e-6); traced
                       Keras (the logits behind ``tf.nn.softmax``):       (logits into ``F.cross_entropy``): 5.6e-16
                       value 5.2e-2 (2.0e-2), gradients 0.54 (0.47): the  (7.8e-7); ``fit`` 3 epochs 1.7e-16
                       ``cos(theta) - mm`` branch (4 samples past         (1.0e-7), weights 1.7e-16 (6.0e-8)
                       ``theta > pi - m``)
2 CORAL                ``coral_loss`` with float64 importance weights:    value 0, gradients 2.2e-16 (1.1e-7); ``fit``
                       3.2e-9 / 1.0e-8 (the package rounds them to        1.4e-16 (0), weights 1.1e-16 (3.0e-8)
                       float32); with float32 weights Keras's (2.2e-16)
3 CutMix + smoothing   ``F.cross_entropy(soft, label_smoothing=0.1)``:    3.6e-16 (8.8e-8); ``fit`` 1.5e-16 (0),
                       4.1e-16 (2.0e-7): the same formula                 weights 1.1e-16 (6.0e-8)
4 SimCLR               mean ``F.cross_entropy``: first loss 2.8e-16, the  losses 2.8e-16 (8.9e-8), gradients 8.8e-16
                       gradient 1/8 of Keras's (``tape.gradient`` of the  (1.2e-6), weights after 3 steps 6.9e-18
                       per-example vector: its sum); ``torch.optim.Adam`` (6.5e-9)
                       (eps 1e-8 on 8x smaller gradients): weights
                       9.3e-8 (2.1e-7) off after 3 steps
5 center loss          first loss and gradients 3.1e-16 (1.9e-7); dense   ``nn.Embedding(sparse=True)`` +
                       ``nn.Embedding``: centers 4.1e-4 (7.3e-4) off      ``optim.Adam``: losses 1.1e-16 (5.8e-8),
                       after one Adam step, 6.9e-4 (1.1e-3) after two     weights 3.3e-19 (1.9e-9); ``fit`` 3 epochs
                       (Keras's second moment of a center: the sum of     1.8e-16 (9.1e-8), weights 3.5e-18 (3.0e-8)
                       its samples' squared rows)
=====================  =================================================  ============================================

torch_impl matched Keras everywhere; no torch_impl change. Keras facts (Keras 3.15.1, ``keras/src/``):
``backend/tensorflow/nn.py`` 1262-1295 ``_get_logits``: a tensor with ``_keras_logits`` (Keras's activations set it,
``activations/activations.py`` 161) gives its logits; otherwise only a graph tensor whose ``op.type`` is ``Softmax``
(not an ``EagerTensor``) gives its input: a raw ``tf.nn.softmax`` ending (keras-arcface) is clipped (1375-1377) in an
eager step and taken from logits in ``fit``'s traced one. ``ops/nn.py`` 2712-2730 ``_normalize``: ``x *
minimum(rsqrt(sum(x**2)), 1 / eps)``. coral-ordinal's ``OrdinalCrossEntropy`` needs ``tf.keras.losses.Reduction``
(gone in Keras 3), casts ``importance_weights`` to float32, and ``CoralOrdinal`` pins its weights to float32 (a
float64 model fails at ``tf.matmul``); here its loss returns the per-sample losses to Keras's reduction, its layer
takes the layer's dtype.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from parity_tests.test_field_scripts_round2 import _precision  # noqa: E402
from torch_impl import keras_backend as K  # noqa: E402
from torch_impl import keras_ops  # noqa: E402
from torch_impl import losses, optim  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

TOL = {"float64": 4e-15, "float32": 2e-6}  # values and gradients, norm-wise
DTYPES = ["float64", pytest.param("float32", marks=pytest.mark.slow)]


def _gap(a, b) -> float:
    """Norm-wise distance of ``a`` from ``b``: max abs difference over max abs value."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def _np(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return keras.ops.convert_to_numpy(tf.convert_to_tensor(t))


def _leaf(a) -> torch.Tensor:
    return torch.tensor(np.array(a), requires_grad=True)


# --------------------------------------------------------------------------------------------------------------
# 1. ArcFace: 4uiiurz1/keras-arcface against ronghuaiyang/arcface-pytorch
# --------------------------------------------------------------------------------------------------------------


class KerasArcFace(keras.layers.Layer):
    """4uiiurz1/keras-arcface ``ArcFace`` (``K.clip`` is Keras 2's ``tf.clip_by_value``)."""

    def __init__(self, n_classes=10, s=30.0, m=0.50, **kwargs):
        super().__init__(**kwargs)
        self.n_classes, self.s, self.m = n_classes, s, m

    def build(self, input_shape):
        self.W = self.add_weight(name="W", shape=(input_shape[0][-1], self.n_classes),
                                 initializer="glorot_uniform", trainable=True)

    def call(self, inputs):
        x, y = inputs
        x = tf.nn.l2_normalize(x, axis=1)
        W = tf.nn.l2_normalize(self.W, axis=0)
        logits = x @ W
        eps = keras.backend.epsilon()
        theta = tf.acos(tf.clip_by_value(logits, -1.0 + eps, 1.0 - eps))
        target_logits = tf.cos(theta + self.m)
        logits = logits * (1 - y) + target_logits * y
        logits *= self.s
        return tf.nn.softmax(logits)


class ArcMarginProduct(torch.nn.Module):
    """ronghuaiyang/arcface-pytorch ``ArcMarginProduct`` (the one-hot on the input's device)."""

    def __init__(self, in_features, out_features, s=30.0, m=0.50, easy_margin=False):
        super().__init__()
        self.s, self.m = s, m
        self.weight = torch.nn.Parameter(torch.empty(out_features, in_features))
        torch.nn.init.xavier_uniform_(self.weight)
        self.easy_margin = easy_margin
        self.cos_m, self.sin_m = math.cos(m), math.sin(m)
        self.th = math.cos(math.pi - m)
        self.mm = math.sin(math.pi - m) * m

    def forward(self, input, label):
        cosine = F.linear(F.normalize(input), F.normalize(self.weight))
        sine = torch.sqrt(1.0 - torch.pow(cosine, 2))
        phi = cosine * self.cos_m - sine * self.sin_m
        if self.easy_margin:
            phi = torch.where(cosine > 0, phi, cosine)
        else:
            phi = torch.where(cosine > self.th, phi, cosine - self.mm)
        one_hot = torch.zeros(cosine.size(), device=cosine.device)
        one_hot.scatter_(1, label.view(-1, 1).long(), 1)
        output = (one_hot * phi) + ((1.0 - one_hot) * cosine)
        output *= self.s
        return output


def arcface_probs(x, W, y, s=30.0, m=0.50, logits_out=False):
    """The Keras layer written with ``torch_impl.keras_backend``: the same clip, the same ``acos``/``cos`` path
    (``logits_out``: the scaled logits, before the softmax)."""
    x = K.l2_normalize(x, axis=1)
    W = K.l2_normalize(W, axis=0)
    logits = x @ W
    theta = torch.acos(K.clip(logits, -1.0 + K.epsilon(), 1.0 - K.epsilon()))
    target_logits = torch.cos(theta + m)
    logits = (logits * (1 - y) + target_logits * y) * s
    return logits if logits_out else torch.softmax(logits, -1)


def _arcface_data(dt, n=16, d=3, c=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(dt)
    labels = rng.integers(0, c, n)
    return x, labels, np.eye(c, dtype=dt)[labels]


@pytest.mark.parametrize("dt", DTYPES)
def test_arcface_layer_value_and_gradients(dt):
    """The Keras layer's softmax into ``categorical_crossentropy``, value and gradients for the features and ``W``.
    Eager (a ``GradientTape`` step written by hand) Keras takes the probabilities, clipped to ``[1e-7, 1 - 1e-7]``:
    at ``s = 30`` most are clipped, the loss of a sample at most ``-log(1e-7)`` with no gradient; the layer written
    with ``keras_backend`` into ``losses.CategoricalCrossentropy`` is Keras's. In a ``tf.function`` (``fit``'s step)
    Keras finds the ``Softmax`` op and takes its logits: the clip is gone, the Keras formula's logits into
    ``F.cross_entropy`` are Keras's there. The twin (``ArcMarginProduct`` + ``nn.CrossEntropyLoss``) is apart in both:
    its ``cos(theta) - mm`` branch past ``theta > pi - m``, where Keras keeps ``cos(theta + m)``."""
    x, labels, y = _arcface_data(dt)
    with _precision(dt):
        keras.utils.set_random_seed(1)
        layer = KerasArcFace(n_classes=5)
        layer.build([x.shape, y.shape])
        # four samples labelled with their farthest class: cos(theta) < cos(pi - m), the twin's other branch
        w0 = _np(layer.W)
        cos = (x / np.linalg.norm(x, axis=1, keepdims=True)) @ (w0 / np.linalg.norm(w0, axis=0))
        labels[:4] = cos[:4].argmin(1)
        y = np.eye(5, dtype=dt)[labels]
        far = int(np.sum(cos[np.arange(16), labels] < math.cos(math.pi - 0.5)))
        xv = tf.Variable(x)
        cce = keras.losses.CategoricalCrossentropy()

        def keras_step():
            with tf.GradientTape() as tape:
                probs = layer([xv, tf.constant(y)])
                loss = cce(y, probs)
            return loss, probs, tape.gradient(loss, [xv, layer.W])

        k_loss, probs, k_g = keras_step()
        g_loss, _, g_g = tf.function(keras_step)()  # fit's traced step: the logits behind tf.nn.softmax
        k_loss, probs, g_loss = _np(k_loss), _np(probs), _np(g_loss)
        k_g, g_g = [_np(g) for g in k_g], [_np(g) for g in g_g]
        w = _np(layer.W)

        def port(loss_of):
            xt, wt = _leaf(x), _leaf(w)
            loss = loss_of(xt, wt)
            loss.backward()
            return _np(loss), [xt.grad, wt.grad]

        def figures(loss, grads, ref_loss, ref_grads):
            return {"value": _gap(loss, ref_loss), "d x": _gap(grads[0], ref_grads[0]),
                    "d W": _gap(grads[1], ref_grads[1])}

        yt, lt = torch.tensor(y), torch.tensor(labels)
        eager = figures(*port(lambda xt, wt: losses.CategoricalCrossentropy()(yt, arcface_probs(xt, wt, yt))),
                        k_loss, k_g)
        traced = figures(*port(lambda xt, wt: F.cross_entropy(arcface_probs(xt, wt, yt, logits_out=True), lt)),
                         g_loss, g_g)

        twin = ArcMarginProduct(3, 5)
        twin.weight.data = torch.tensor(w.T.copy())
        xn = _leaf(x)
        twin_loss_ = torch.nn.CrossEntropyLoss()(twin(xn, lt), lt)
        twin_loss_.backward()
        twin_loss_, twin_g = _np(twin_loss_), [xn.grad, twin.weight.grad.T]
        naive_eager = figures(twin_loss_, twin_g, k_loss, k_g)
        naive_traced = figures(twin_loss_, twin_g, g_loss, g_g)
    clipped = int(np.sum((probs < 1e-7) | (probs > 1 - 1e-7)))
    print(f"ArcFace ({dt}): {far} samples past theta > pi - m; Keras loss eager {float(k_loss):.6f} ({clipped} of "
          f"{probs.size} probabilities clipped), traced {float(g_loss):.6f}; torch_impl port vs eager {eager}; "
          f"Keras formula + F.cross_entropy "
          f"vs traced {traced}; arcface-pytorch twin vs eager {naive_eager}, vs traced {naive_traced} (norm-wise)")
    tol = TOL[dt] if dt == "float64" else 1e-5  # float32: acos' slope 1 / sqrt(1 - c**2) near the clip, 2.4e-6
    assert max(eager.values()) <= tol and max(traced.values()) <= tol
    assert abs(k_loss - g_loss) > 1  # the clip, eager only
    assert far >= 2 and min(naive_eager.values()) > 0.1 and min(naive_traced.values()) > 1e-3


# --------------------------------------------------------------------------------------------------------------
# 2. CORAL ordinal regression: coral-ordinal (Keras) against coral-pytorch
# --------------------------------------------------------------------------------------------------------------


def _label_to_levels(labels, num_classes):
    """coral_ordinal/loss.py, verbatim."""
    return tf.sequence_mask(labels, maxlen=num_classes - 1, dtype=tf.float32)


def _coral_ordinal_loss_no_reduction(logits, levels, importance):
    """coral_ordinal/loss.py, verbatim."""
    levels = tf.cast(levels, dtype=logits.dtype)
    importance = tf.cast(importance, dtype=logits.dtype)
    return -tf.reduce_sum((tf.math.log_sigmoid(logits) * levels
                           + (tf.math.log_sigmoid(logits) - logits) * (1.0 - levels)) * importance, axis=1)


class KerasOrdinalCrossEntropy(keras.losses.Loss):
    """coral_ordinal's ``OrdinalCrossEntropy.call`` for Keras 3: the per-sample losses, Keras's ``Loss`` reduces
    them and applies ``sample_weight`` (the package's ``_reduce_losses`` reads ``tf.keras.losses.Reduction``, which
    Keras 3 does not have)."""

    def __init__(self, num_classes=None, importance_weights=None, name="ordinal_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes, self.importance_weights = num_classes, importance_weights

    def call(self, y_true, y_pred):
        y_pred = tf.convert_to_tensor(y_pred)
        y_true = tf.cast(y_true, y_pred.dtype)
        if self.num_classes is None:
            self.num_classes = int(y_pred.get_shape().as_list()[1]) + 1
        tf_levels = _label_to_levels(tf.squeeze(y_true), self.num_classes)
        if self.importance_weights is None:
            importance_weights = tf.ones(self.num_classes - 1, dtype=tf.float32)
        else:
            importance_weights = tf.cast(self.importance_weights, dtype=tf.float32)
        return _coral_ordinal_loss_no_reduction(y_pred, tf_levels, importance_weights)


def coral_loss(logits, levels, importance_weights=None, reduction="mean"):
    """coral_pytorch/losses.py ``coral_loss``, verbatim."""
    term1 = (F.logsigmoid(logits) * levels + (F.logsigmoid(logits) - logits) * (1 - levels))
    if importance_weights is not None:
        term1 *= importance_weights
    val = (-torch.sum(term1, dim=1))
    if reduction == "mean":
        return torch.mean(val)
    if reduction == "sum":
        return torch.sum(val)
    return val


def levels_from_labelbatch(labels, num_classes):
    """coral_pytorch/dataset.py ``levels_from_labelbatch``: ``[1] * label + [0] * (num_classes - 1 - label)``."""
    return torch.stack([torch.tensor([1] * int(lab) + [0] * (num_classes - 1 - int(lab)), dtype=torch.float32)
                        for lab in labels])


class OrdinalCrossEntropy(losses.Loss):
    """The package's loss on torch_impl: ``keras_ops.log_sigmoid``, the importance weights rounded to float32 first as
    the package's ``tf.cast(importance_weights, tf.float32)`` does; ``losses.Loss`` reduces and weighs."""

    def __init__(self, num_classes, importance_weights=None, name="ordinal_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes, self.importance_weights = num_classes, importance_weights

    def call(self, y_true, y_pred):
        levels = (torch.arange(self.num_classes - 1) < y_true.reshape(-1, 1)).to(y_pred.dtype)
        iw = torch.ones(self.num_classes - 1) if self.importance_weights is None else self.importance_weights
        iw = torch.as_tensor(np.asarray(iw, np.float32)).to(y_pred.dtype)
        ls = keras_ops.log_sigmoid(y_pred)
        return -keras_ops.sum((ls * levels + (ls - y_pred) * (1.0 - levels)) * iw, axis=1)


@pytest.mark.parametrize("dt", DTYPES)
def test_coral_ordinal_loss_value_and_gradients(dt):
    """``CoralOrdinal``'s logits (one shared unit plus 4 biases, 5 ranks) into the package's loss with
    ``importance_weights=[1, 0.7, 0.5, 0.3]`` and sample weights, against ``coral_loss`` (``reduction=None`` times the
    weights, meaned; importance weights as given) and against the torch_impl ``Loss``. The package rounds its
    importance weights to float32 (``tf.cast(..., tf.float32)``) before casting them to the logits' dtype: in
    float64 ``coral_loss`` with float64 weights is 1e-8 apart, with the same float32 weights Keras's to rounding."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((12, 6)).astype(dt)
    labels = rng.integers(0, 5, (12, 1))
    sw = rng.uniform(0.5, 2.0, 12).astype(dt)
    iw = [1.0, 0.7, 0.5, 0.3]
    with _precision(dt):
        keras.utils.set_random_seed(3)
        fc = keras.initializers.GlorotUniform()((6, 1)).numpy()
        bias = (0.1 * rng.standard_normal(4)).astype(dt)
        fcv, bv = tf.Variable(fc), tf.Variable(bias)
        with tf.GradientTape() as tape:
            logits = tf.matmul(x, fcv) + bv  # CoralOrdinal.call
            k_loss = KerasOrdinalCrossEntropy(5, importance_weights=iw)(labels, logits, sample_weight=sw)
        k_g = [_np(g) for g in tape.gradient(k_loss, [fcv, bv])]
        k_loss = _np(k_loss)

        def run(loss_of):
            fct, bt = _leaf(fc), _leaf(bias)
            loss = loss_of(torch.tensor(x) @ fct + bt)
            loss.backward()
            return {"value": _gap(_np(loss), k_loss), "d fc": _gap(fct.grad, k_g[0]), "d bias": _gap(bt.grad, k_g[1])}

        levels = levels_from_labelbatch(labels[:, 0], 5)
        port = run(lambda z: OrdinalCrossEntropy(5, importance_weights=iw)(torch.tensor(labels), z,
                                                                             sample_weight=torch.tensor(sw)))
        twin = run(lambda z: (coral_loss(z, levels, torch.tensor(iw, dtype=z.dtype), reduction=None)
                              * torch.tensor(sw)).mean())
        twin32 = run(lambda z: (coral_loss(z, levels, torch.tensor(iw, dtype=torch.float32), reduction=None)
                                * torch.tensor(sw)).mean())
    print(f"CORAL ({dt}): Keras loss {float(k_loss):.10f}; torch_impl port {port}; coral_loss, importance weights "
          f"in {dt} {twin}, in float32 {twin32} (norm-wise)")
    assert max(port.values()) <= TOL[dt] and max(twin32.values()) <= TOL[dt]
    if dt == "float64":
        assert 1e-10 < max(twin.values()) < 1e-6


# --------------------------------------------------------------------------------------------------------------
# 3. CutMix / MixUp soft labels with label smoothing
# --------------------------------------------------------------------------------------------------------------


def _cutmix_data(dt, n=16, d=6, c=4, seed=4):
    """keras.io CutMix's label mix: ``lambda_value * label1 + (1 - lambda_value) * label2`` with ``lambda_value = 1 -
    (target_w * target_h) / (IMG_SIZE * IMG_SIZE)`` cast to float32 (here per pair, boxes on a 32x32 image)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(dt)
    l1, l2 = rng.integers(0, c, n), rng.integers(0, c, n)
    wh = rng.integers(1, 32, (n, 2))
    lam = (1 - wh[:, 0] * wh[:, 1] / (32 * 32)).astype(np.float32).astype(dt)[:, None]
    eye = np.eye(c, dtype=dt)
    return x, lam * eye[l1] + (1 - lam) * eye[l2]


def _cutmix_model(dt):
    keras.utils.set_random_seed(5)
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(4, activation="softmax")])


def _torch_head(w):
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4))
    for p, a in zip(net.parameters(), (w[0].T, w[1], w[2].T, w[3])):
        p.data = torch.tensor(np.array(a))
    return net


@pytest.mark.parametrize("dt", DTYPES)
def test_cutmix_soft_labels_label_smoothing(dt):
    """CutMix's mixed labels into ``CategoricalCrossentropy(label_smoothing=0.1)`` on the ``Dense(4, softmax)`` head
    (Keras takes the logits cached on the softmax output, eager too), value and kernel gradients, against
    ``F.cross_entropy(logits, soft, label_smoothing=0.1)`` and ``losses.CategoricalCrossentropy(from_logits=True,
    label_smoothing=0.1)`` on the torch head's logits. For targets summing to 1 torch's smoothing of probability
    targets, ``(1 - s) H(y, p) + s H(u, p)``, is Keras's ``H((1 - s) y + s / C, p)``: equal to rounding; without
    smoothing too (the keras.io script)."""
    x, y = _cutmix_data(dt)
    out = {}
    with _precision(dt):
        model = _cutmix_model(dt)
        w = model.get_weights()
        for s in (0.0, 0.1):
            with tf.GradientTape() as tape:
                k_loss = keras.losses.CategoricalCrossentropy(label_smoothing=s)(y, model(x))
            k_g = [_np(g) for g in tape.gradient(k_loss, model.trainable_weights)]
            k_loss = _np(k_loss)
            for label, loss_of in (
                    ("torch_impl", lambda z: losses.CategoricalCrossentropy(from_logits=True, label_smoothing=s)(
                        torch.tensor(y), z)),
                    ("F.cross_entropy", lambda z: F.cross_entropy(z, torch.tensor(y), label_smoothing=s))):
                net = _torch_head(w)
                loss = loss_of(net(torch.tensor(x)))
                loss.backward()
                grads = [net[0].weight.grad.T, net[0].bias.grad, net[2].weight.grad.T, net[2].bias.grad]
                out[label, s] = max([_gap(_np(loss), k_loss)] + [_gap(g, kg) for g, kg in zip(grads, k_g)])
    print(f"CutMix soft labels ({dt}): max norm-wise gap over value and gradients: "
          + ", ".join(f"{label} s={s}: {g:.1e}" for (label, s), g in out.items()))
    assert max(out.values()) <= TOL[dt]


# --------------------------------------------------------------------------------------------------------------
# 4. SimCLR's contrastive loss (keras.io)
# --------------------------------------------------------------------------------------------------------------


def keras_contrastive_loss(projections_1, projections_2, temperature):
    """keras.io SimCLR ``ContrastiveModel.contrastive_loss`` (less its accuracy metric): one loss per example."""
    projections_1 = tf.math.l2_normalize(projections_1, axis=1)
    projections_2 = tf.math.l2_normalize(projections_2, axis=1)
    similarities = tf.matmul(projections_1, projections_2, transpose_b=True) / temperature
    batch_size = tf.shape(projections_1)[0]
    contrastive_labels = tf.range(batch_size)
    loss_1_2 = keras.losses.sparse_categorical_crossentropy(contrastive_labels, similarities, from_logits=True)
    loss_2_1 = keras.losses.sparse_categorical_crossentropy(contrastive_labels, tf.transpose(similarities),
                                                            from_logits=True)
    return (loss_1_2 + loss_2_1) / 2


def contrastive_loss(projections_1, projections_2, temperature):
    """The same on torch_impl: ``K.l2_normalize``, ``losses.sparse_categorical_crossentropy(from_logits=True)``; one
    loss per example, as the Keras method returns."""
    projections_1 = K.l2_normalize(projections_1, axis=1)
    projections_2 = K.l2_normalize(projections_2, axis=1)
    similarities = projections_1 @ projections_2.T / temperature
    labels = torch.arange(similarities.shape[0])
    loss_1_2 = losses.sparse_categorical_crossentropy(labels, similarities, from_logits=True)
    loss_2_1 = losses.sparse_categorical_crossentropy(labels, similarities.T, from_logits=True)
    return (loss_1_2 + loss_2_1) / 2


def naive_contrastive_loss(projections_1, projections_2, temperature):
    """The usual port: ``F.normalize``, ``F.cross_entropy`` (a mean) both ways."""
    similarities = F.normalize(projections_1) @ F.normalize(projections_2).T / temperature
    labels = torch.arange(similarities.shape[0])
    return (F.cross_entropy(similarities, labels) + F.cross_entropy(similarities.T, labels)) / 2


def _simclr_run(dt, steps=3, n=8, temperature=0.1):
    """The projection head ``Dense(8, relu)``, ``Dense(8)`` on two fixed views, ``steps`` of ``train_step``'s
    contrastive part (``keras.optimizers.Adam()``) in Keras, in the torch_impl port (``sum().backward()``, as
    ``tape.gradient`` of the vector; ``optim.Adam``) and in the usual port (``F.cross_entropy`` means,
    ``torch.optim.Adam(lr=1e-3)``); the logged (mean) losses, the first step's gradients and the final weights."""
    rng = np.random.default_rng(6)
    f1, f2 = (rng.standard_normal((n, 5)).astype(dt) for _ in range(2))
    keras.utils.set_random_seed(7)
    head = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(8)])
    w0 = head.get_weights()
    opt = keras.optimizers.Adam()
    k_log, k_g0 = [], None
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = keras_contrastive_loss(head(f1, training=True), head(f2, training=True), temperature)
        grads = tape.gradient(loss, head.trainable_weights)
        opt.apply_gradients(zip(grads, head.trainable_weights))
        k_log.append(float(np.mean(_np(loss))))  # contrastive_loss_tracker.update_state(contrastive_loss)
        k_g0 = k_g0 or [_np(g) for g in grads]
    res = {"keras": (k_log, k_g0, head.get_weights())}
    for label in ("torch_impl", "naive"):
        net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8))
        for p, a in zip(net.parameters(), (w0[0].T, w0[1], w0[2].T, w0[3])):
            p.data = torch.tensor(np.array(a))
        t_opt = optim.Adam(net.parameters()) if label == "torch_impl" else torch.optim.Adam(net.parameters(), lr=1e-3)
        log, g0 = [], None
        for _ in range(steps):
            t_opt.zero_grad()
            p1, p2 = net(torch.tensor(f1)), net(torch.tensor(f2))
            if label == "torch_impl":
                per_example = contrastive_loss(p1, p2, temperature)
                per_example.sum().backward()
                log.append(float(per_example.mean().detach()))
            else:
                loss = naive_contrastive_loss(p1, p2, temperature)
                loss.backward()
                log.append(float(loss.detach()))
            g0 = g0 or [net[0].weight.grad.T.clone(), net[0].bias.grad.clone(), net[2].weight.grad.T.clone(),
                        net[2].bias.grad.clone()]
            t_opt.step()
        ws = [net[0].weight.T, net[0].bias, net[2].weight.T, net[2].bias]
        res[label] = (log, [_np(g) for g in g0], [_np(p) for p in ws])
    return res


@pytest.mark.parametrize("dt", DTYPES)
def test_simclr_contrastive_loss_three_adam_steps(dt):
    """The first logged loss agrees everywhere (the usual port's mean is the tracker's); ``tape.gradient`` of the
    per-example vector is the gradient of its *sum*, N = 8 times the usual port's ``F.cross_entropy`` mean's. Adam
    normalises the scale away but for its epsilon (Keras's 1e-7 against ``torch.optim.Adam``'s 1e-8, on gradients
    N times smaller): the usual port's weights leave Keras's after 3 steps. The torch_impl port (the sum,
    ``optim.Adam``) is Keras's."""
    with _precision(dt):
        res = _simclr_run(dt)
    k_log, k_g, k_w = res["keras"]
    figs = {}
    for label in ("torch_impl", "naive"):
        log, g, w = res[label]
        figs[label] = {"first loss": _gap(log[0], k_log[0]), "loss": _gap(log, k_log),
                       "grad": max(_gap(a, b) for a, b in zip(g, k_g)),
                       "weights": max(float(np.max(np.abs(a - b))) for a, b in zip(w, k_w))}
    ratio = float(np.median(np.abs(k_g[2]) / np.maximum(np.abs(res["naive"][1][2]), 1e-300)))
    print(f"SimCLR ({dt}): Keras c_loss {np.round(k_log, 10).tolist()}; torch_impl port {figs['torch_impl']}; usual "
          f"port {figs['naive']} (loss, gradient norm-wise; weights max abs); Keras's gradient / the usual port's: "
          f"{ratio:.6f}")
    tol = TOL[dt]
    assert figs["torch_impl"]["loss"] <= tol and figs["torch_impl"]["grad"] <= tol
    assert figs["torch_impl"]["weights"] <= (1e-15 if dt == "float64" else 1e-6)
    assert figs["naive"]["first loss"] <= tol and abs(ratio - 8) < 1e-6
    assert figs["naive"]["weights"] > 1e-9


# --------------------------------------------------------------------------------------------------------------
# 5. Center loss with Embedding-held centers
# --------------------------------------------------------------------------------------------------------------


def _center_model(dt, nb_classes=3, feature_size=4):
    """The recipe (its Conv2D/MaxPooling2D/Flatten backbone a ``Dense``): ``Embedding``-held centers, the ``l2_loss``
    Lambda (``K.sum``/``K.square`` as ``keras.ops``), two outputs, the second's loss its own output."""
    keras.utils.set_random_seed(8)
    input_image = keras.Input((6,))
    feature = keras.layers.Dense(feature_size, activation="relu")(input_image)
    predict = keras.layers.Dense(nb_classes, activation="softmax", name="softmax")(feature)
    input_target = keras.Input((1,))
    centers = keras.layers.Embedding(nb_classes, feature_size)(input_target)
    l2_loss = keras.layers.Lambda(lambda x: keras.ops.sum(keras.ops.square(x[0] - x[1][:, 0]), 1, keepdims=True),
                                  name="l2_loss")([feature, centers])
    model_train = keras.Model(inputs=[input_image, input_target], outputs=[predict, l2_loss])
    model_train.compile(optimizer="adam", loss=["sparse_categorical_crossentropy", lambda y_true, y_pred: y_pred],
                        loss_weights=[1., 0.2])
    return model_train


class CenterLossNet(torch.nn.Module):
    def __init__(self, sparse: bool):
        super().__init__()
        self.backbone, self.head = torch.nn.Linear(6, 4), torch.nn.Linear(4, 3)
        self.centers = torch.nn.Embedding(3, 4, sparse=sparse)

    def forward(self, image, target):
        feature = torch.relu(self.backbone(image))
        l2 = torch.sum(torch.square(feature - self.centers(target.long())[:, 0]), 1, keepdim=True)
        return self.head(feature), l2


def _center_key(path):
    """Keras's weight path -> the torch port's parameter."""
    if "embedding" in path:
        return "centers"
    return ("head" if path.startswith("softmax") else "backbone") + ("/kernel" if "kernel" in path else "/bias")


def _center_params(net):
    return {"backbone/kernel": net.backbone.weight, "backbone/bias": net.backbone.bias,
            "head/kernel": net.head.weight, "head/bias": net.head.bias, "centers": net.centers.weight}


def _center_batches(dt):
    """Two batches of 8 (classes 0-2, then 0-1 only): each center is looked up once per sample of its class."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((16, 6)).astype(dt)
    t = np.concatenate([rng.permutation(np.arange(8) % 3), rng.integers(0, 2, 8)])[:, None]
    return [(x[:8], t[:8]), (x[8:], t[8:])]


@pytest.mark.parametrize("dt", DTYPES)
def test_center_loss_embedding_centers_two_adam_steps(dt):
    """Two of Keras's training steps (``compute_loss`` of the compiled losses and ``loss_weights``,
    ``optimizer.apply_gradients``, eager) against the torch ports: the first loss and gradients agree everywhere
    (the ``Embedding``'s as a dense array). Keras steps the ``Embedding`` on its ``IndexedSlices`` gradient, one
    row per lookup, i.e. per sample of the class: Adam's second moment of a center is the sum of its samples'
    squared gradients, not the square of their sum (README "Row-sparse gradients"), so a center moves by other
    steps from the first batch on. ``nn.Embedding(sparse=True)`` with ``optim.Adam`` does as Keras; a dense
    ``nn.Embedding`` (with ``optim.Adam`` or the usual ``torch.optim.Adam``) leaves Keras's centers."""
    batches = _center_batches(dt)
    with _precision(dt):
        model = _center_model(dt)
        w0 = model.get_weights()
        k_losses, k_g0, k_c1 = [], None, None
        for xb, tb in batches:
            with tf.GradientTape() as tape:
                preds = model([xb, tb], training=True)
                loss = model.compute_loss(x=[xb, tb], y=[tb, np.zeros_like(tb, dt)], y_pred=preds)
            grads = tape.gradient(loss, model.trainable_weights)
            model.optimizer.apply_gradients(zip(grads, model.trainable_weights))
            k_losses.append(float(_np(loss)))
            k_g0 = k_g0 or [_np(g) for g in grads]
            k_c1 = k_c1 if k_losses[1:] else _np(next(v for v in model.weights if "embedding" in v.path))
        paths = [v.path for v in model.weights]
        k_w = model.get_weights()
    print(f"center loss ({dt}): Keras's weights {paths}")

    res = {}
    for label in ("torch_impl (sparse Embedding)", "dense Embedding, optim.Adam", "usual port"):
        with _precision(dt):
            net = CenterLossNet(sparse=label.startswith("torch_impl"))
            params = _center_params(net)
            for path, a in zip(paths, w0):
                params[_center_key(path)].data = torch.tensor(np.array(a.T if "kernel" in path else a))
            if label == "usual port":
                opt = torch.optim.Adam(net.parameters(), lr=1e-3)
            else:
                opt = optim.Adam(net.parameters())
            t_losses, g0, c1 = [], None, None
            for xb, tb in batches:
                opt.zero_grad()
                logits, l2 = net(torch.tensor(xb), torch.tensor(tb))
                if label == "usual port":
                    loss = torch.nn.CrossEntropyLoss()(logits, torch.tensor(tb[:, 0])) + 0.2 * l2.mean()
                else:
                    loss = (losses.SparseCategoricalCrossentropy(from_logits=True)(torch.tensor(tb), logits)
                            + 0.2 * losses.LossFunctionWrapper(lambda y_true, y_pred: y_pred)(torch.zeros_like(l2),
                                                                                            l2))
                loss.backward()
                t_losses.append(float(loss.detach()))
                g0 = g0 or {k: (p.grad.to_dense() if p.grad.is_sparse else p.grad).clone() for k, p in params.items()}
                opt.step()
                c1 = c1 if t_losses[1:] else _np(net.centers.weight).copy()
        as_keras = {k: (lambda t, k=k: _np(t.T if k.endswith("kernel") else t)) for k in params}
        gaps_g = [_gap(as_keras[_center_key(path)](g0[_center_key(path)]), g) for path, g in zip(paths, k_g0)]
        gaps_w = {_center_key(path): float(np.max(np.abs(as_keras[_center_key(path)](params[_center_key(path)]) - a)))
                  for path, a in zip(paths, k_w)}
        res[label] = {"first loss": _gap(t_losses[0], k_losses[0]), "loss": _gap(t_losses, k_losses),
                      "grad": max(gaps_g), "weights": max(gaps_w.values()), "centers": gaps_w["centers"],
                      "centers after step 1": float(np.max(np.abs(c1 - k_c1)))}
    print(f"center loss ({dt}): Keras losses {np.round(k_losses, 10).tolist()}; "
          + "; ".join(f"{label} {fig}" for label, fig in res.items())
          + " (loss, gradients norm-wise; weights, centers max abs after two steps)")
    tol = TOL[dt]
    port = res["torch_impl (sparse Embedding)"]
    assert port["loss"] <= tol and port["grad"] <= tol and port["weights"] <= (1e-15 if dt == "float64" else 1e-6)
    for label in ("dense Embedding, optim.Adam", "usual port"):
        assert res[label]["first loss"] <= tol and res[label]["grad"] <= tol
        assert res[label]["centers"] > 1e-4 and res[label]["loss"] > 1e-6


# --------------------------------------------------------------------------------------------------------------
# Short fits (slow): Keras's fit against torch_impl's, from Keras's initial weights, in Keras's shuffle order
# --------------------------------------------------------------------------------------------------------------


class ArcFaceNet(torch.nn.Module):
    """``Dense(8)`` features into the Keras ArcFace formula (``arcface_probs``' logits); ``fit(output_activation=
    "softmax")``: Keras's traced step takes the logits behind ``tf.nn.softmax``."""

    def __init__(self):
        super().__init__()
        self.dense = torch.nn.Linear(3, 8)
        self.W = torch.nn.Parameter(torch.empty(8, 5))

    def forward(self, x, y):
        return arcface_probs(self.dense(x), self.W, y, logits_out=True)


@pytest.mark.slow  # two Keras fits (tracing), 2-4 s
@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_arcface_and_center_loss_fits(dt):
    """ArcFace (``[x, y]`` inputs, ``Dense(8)``, the layer, ``categorical_crossentropy``, Adam(0.01)) and the center
    loss model (as compiled above), 3 epochs of batches of 8 in Keras's ``fit`` and in torch_impl's: every history
    key every epoch within 1e-12 relative in float64 (1e-4 in float32), the final weights within 1e-12 (1e-5)."""
    rng = np.random.default_rng(10)
    x = rng.standard_normal((32, 3)).astype(dt)
    labels = rng.integers(0, 5, 32)
    y = np.eye(5, dtype=dt)[labels]
    xc = rng.standard_normal((32, 6)).astype(dt)
    tc = rng.integers(0, 3, (32, 1))
    out = {}
    with _precision(dt):
        keras.utils.set_random_seed(11)
        inp_x, inp_y = keras.Input((3,)), keras.Input((5,))
        arc = keras.Model([inp_x, inp_y], KerasArcFace(n_classes=5)([keras.layers.Dense(8)(inp_x), inp_y]))
        arc.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy")
        w0 = arc.get_weights()
        keras.utils.set_random_seed(12)
        kh = arc.fit([x, y], y, batch_size=8, epochs=3, verbose=0).history
        net = ArcFaceNet()
        net.dense.weight.data, net.dense.bias.data = torch.tensor(w0[0].T.copy()), torch.tensor(w0[1])
        net.W.data = torch.tensor(w0[2])
        from torch_impl import fit as tfit
        th = tfit.fit(net, [x, y], y, loss="categorical_crossentropy", output_activation="softmax",
                      optimizer=optim.Adam(net.parameters(), learning_rate=0.01), batch_size=8, epochs=3, seed=12,
                      verbose=0).history
        wk = arc.get_weights()
        wt = [_np(net.dense.weight.T), _np(net.dense.bias), _np(net.W)]
        out["ArcFace"] = (kh, th, max(float(np.max(np.abs(a - b))) for a, b in zip(wt, wk)))

        model = _center_model(dt)
        w0 = model.get_weights()
        paths = [v.path for v in model.weights]
        keras.utils.set_random_seed(13)
        kh = model.fit([xc, tc], [tc, np.zeros((32, 1), dt)], batch_size=8, epochs=3, verbose=0).history
        net = CenterLossNet(sparse=True)
        params = _center_params(net)
        for path, a in zip(paths, w0):
            params[_center_key(path)].data = torch.tensor(np.array(a.T if "kernel" in path else a))
        th = tfit.fit(net, [xc, tc], [tc, np.zeros((32, 1), dt)],
                      loss=["sparse_categorical_crossentropy", lambda y_true, y_pred: y_pred], loss_weights=[1., 0.2],
                      output_activation=["softmax", None], output_names=["softmax", "l2_loss"],
                      optimizer=optim.Adam(net.parameters()), batch_size=8, epochs=3, seed=13, verbose=0).history
        wt = {p: _np(params[_center_key(p)].T if "kernel" in p else params[_center_key(p)]) for p in paths}
        out["center loss"] = (kh, th, max(float(np.max(np.abs(wt[p] - a))) for p, a in zip(paths, model.get_weights())))
    for name, (kh, th, wgap) in out.items():
        worst = max(_rel_list(th[k], kh[k]) for k in kh)
        print(f"{name} fit ({dt}): Keras {({k: np.round(v, 8).tolist() for k, v in kh.items()})}; torch_impl max rel "
              f"{worst:.1e} over {sorted(kh)}, final weights max |diff| {wgap:.1e}")
        assert sorted(th) == sorted(kh)
        assert worst <= (1e-12 if dt == "float64" else 1e-4)
        assert wgap <= (1e-12 if dt == "float64" else 1e-5)


class KerasCoralOrdinal(keras.layers.Layer):
    """coral_ordinal ``CoralOrdinal``: one shared unit (``glorot_uniform``) plus ``num_classes - 1`` zero biases. The
    package pins both weights to ``dtype=tf.float32``; here the layer's dtype (a float64 run fails on the package's
    float32 kernel: ``tf.matmul`` of float64 inputs)."""

    def __init__(self, num_classes, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes

    def build(self, input_shape):
        self.fc = self.add_weight(shape=(input_shape[-1], 1), initializer="glorot_uniform", trainable=True)
        self.linear_1_bias = self.add_weight(shape=(self.num_classes - 1,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return tf.matmul(inputs, self.fc) + self.linear_1_bias


@pytest.mark.slow  # two Keras fits (tracing), 2-4 s
@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_coral_and_cutmix_fits(dt):
    """CORAL (``Dense(8, relu)``, ``CoralOrdinal(5)``, the package's loss with importance weights, Adam(0.01)) and
    CutMix's soft labels (``Dense(8, relu)``, ``Dense(4, softmax)``, ``CategoricalCrossentropy(label_smoothing=0.1)``,
    Adam(0.01)), 3 epochs of batches of 8 in Keras's ``fit`` and torch_impl's: histories within 1e-12 relative in
    float64 (1e-4 in float32), final weights within 1e-12 (1e-5)."""
    from torch_impl import fit as tfit
    rng = np.random.default_rng(14)
    x = rng.standard_normal((32, 6)).astype(dt)
    ranks = rng.integers(0, 5, (32, 1))
    xm, ym = _cutmix_data(dt, n=32, seed=15)
    iw = [1.0, 0.7, 0.5, 0.3]
    out = {}
    with _precision(dt):
        keras.utils.set_random_seed(16)
        coral = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"), KerasCoralOrdinal(5)])
        coral.compile(optimizer=keras.optimizers.Adam(0.01), loss=KerasOrdinalCrossEntropy(5, importance_weights=iw))
        mix = _cutmix_model(dt)
        mix.compile(optimizer=keras.optimizers.Adam(0.01),
                    loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1))
        for name, model, xs, ys, loss, act in (
                ("CORAL", coral, x, ranks, OrdinalCrossEntropy(5, importance_weights=iw), None),
                ("CutMix", mix, xm, ym, losses.CategoricalCrossentropy(label_smoothing=0.1), "softmax")):
            w0 = model.get_weights()
            net = torch.nn.Sequential(torch.nn.Linear(xs.shape[1], 8), torch.nn.ReLU(),
                                      torch.nn.Linear(8, w0[2].shape[1]))
            if name == "CORAL":  # the shared unit plus the biases: a Linear(8, 1) and a bias vector
                net[2] = torch.nn.Linear(8, 1, bias=False)
                net.append(_AddBias(4))
            for p_, a in zip(net.parameters(), (w0[0].T, w0[1], w0[2].T, w0[3])):
                p_.data = torch.tensor(np.array(a))
            keras.utils.set_random_seed(17)
            kh = model.fit(xs, ys, batch_size=8, epochs=3, verbose=0).history
            th = tfit.fit(net, xs, ys, loss=loss, output_activation=act, batch_size=8, epochs=3, seed=17, verbose=0,
                          optimizer=optim.Adam(net.parameters(), learning_rate=0.01)).history
            wt = [_np(p_) for p_ in net.parameters()]
            wgap = max(float(np.max(np.abs(a - (b.T if b.ndim == 2 else b)))) for a, b in zip(wt, model.get_weights()))
            out[name] = (kh, th, wgap)
    for name, (kh, th, wgap) in out.items():
        worst = max(_rel_list(th[k], kh[k]) for k in kh)
        print(f"{name} fit ({dt}): Keras {({k: np.round(v, 8).tolist() for k, v in kh.items()})}; torch_impl max rel "
              f"{worst:.1e} over {sorted(kh)}, final weights max |diff| {wgap:.1e}")
        assert sorted(th) == sorted(kh)
        assert worst <= (1e-12 if dt == "float64" else 1e-4)
        assert wgap <= (1e-12 if dt == "float64" else 1e-5)


class _AddBias(torch.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.bias = torch.nn.Parameter(torch.zeros(n))

    def forward(self, z):
        return z + self.bias


def _rel_list(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))

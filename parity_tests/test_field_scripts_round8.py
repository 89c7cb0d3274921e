"""Real-world Keras snippets, round 8: the crossentropy family, class weights and focal loss, as people paste them
(StackOverflow answers, blog posts, Kaggle notebooks), ported to PyTorch with torch_impl as such a user would.

Every snippet trains a small MLP (``Dense(8, relu)`` -> ``Dense(units, activation)``, ``optimizer="adam"``,
``batch_size=32``, 6 epochs, Keras's default shuffle after ``keras.utils.set_random_seed(S)``) on scikit-learn
data; the port starts from the same weights (``keras_init_(net, seed=S)``) and runs ``torch_impl.fit(...,
seed=S)``. A "usual port" is run inside the same ``torch_impl.fit`` so that only the loss differs.

1. umbertogriffo's ``binary_focal_loss(gamma=2., alpha=.25)`` (``K.clip``/``K.pow``/``K.log``, ``tf.where``,
   ``K.mean(K.sum(loss, axis=1))``) in ``model.compile(loss=...)``; the same function in torch; the built-in
   ``BinaryFocalCrossentropy(apply_class_balancing=True)`` in both frameworks.
2. mkocabas's ``focal_loss(gamma=2., alpha=.25)`` (pt_1/pt_0, a batch SUM) with and without ``class_weight``;
   its port ``torch_impl.losses.focal_loss``.
3. umbertogriffo's ``categorical_focal_loss(alpha=[[.25, .25, .25]], gamma=2)``; ports: the same function in
   torch, ``torch_impl.losses.CategoricalFocalCrossentropy(alpha=0.25 or [.25] * 3, gamma=2.)``.
4. ``weighted_bce(pos_weight)``: ``K.binary_crossentropy(y_true, y_pred) * (y_true * w + (1 - y_true))``;
   ports: the legacy formula written out, ``nn.BCEWithLogitsLoss(pos_weight=...)``; its "modernised" form
   with ``keras.losses.binary_crossentropy`` / ``torch_impl.losses.binary_crossentropy``.
5. ``tf.nn.weighted_cross_entropy_with_logits(labels, logits, pos_weight)`` on a ``Dense(1)`` logit;
   port ``nn.BCEWithLogitsLoss(pos_weight=...)``.
6. ``dict(enumerate(compute_class_weight("balanced", classes=np.unique(y), y=y)))`` (and ``dict(zip(...))``) in
   ``fit(class_weight=..., validation_split=0.2)``, one-hot + ``categorical_crossentropy`` and integer +
   ``sparse_categorical_crossentropy``, ``weighted_metrics=["accuracy"]``; port ``nn.CrossEntropyLoss(weight=)``.
7. ``fit(sample_weight=compute_sample_weight("balanced", y))``; plain-loop ports ``(ce * w).mean()`` and
   ``(ce * w).sum() / w.sum()``; ``class_weight`` and ``sample_weight`` together.
8. Label mix-ups: ``categorical_crossentropy`` with ``(N,)`` / ``(N, 1)`` integer labels,
   ``sparse_categorical_crossentropy`` with one-hot labels.
9. ``loss="binary_crossentropy"`` on a ``Dense(2, softmax)`` with one-hot labels; port ``nn.Softmax`` +
   ``nn.BCELoss``. ``BinaryFocalCrossentropy`` on the same output.
10. ``CategoricalCrossentropy(from_logits=True)`` on a softmax output; port ``nn.Softmax`` + ``nn.CrossEntropyLoss``.
11. ``categorical_crossentropy`` on ``Dense(1, sigmoid)`` (loss 0.0000e+00) and on ``Dense(3, sigmoid)``.
12. ``CategoricalCrossentropy(label_smoothing=0.1)``; port ``nn.CrossEntropyLoss(label_smoothing=0.1)``, with
    and without class weights.
13. ``metrics=["accuracy"]`` on a multi-label sigmoid output; the usual torch accuracy code.
14. ``K.mean(K.categorical_crossentropy(y_true, y_pred), axis=-1)`` on a saturated softmax; ports: the legacy
    formula written out, ``torch_impl.losses.categorical_crossentropy``.
15. ``model.evaluate(..., sample_weight=...)`` with ``weighted_metrics``, and the averages people compute by hand.

Figures: the port against Keras, max relative error of every history key over every epoch (float64 standard 1e-8;
float32, the ``slow`` runs, 1e-3 with the same predicted-class histogram); the last column, the usual port or the
other Keras loss against the snippet's Keras run (history or probabilities, as said):

============================  =======================  =======  ======================================================
snippet                       float64                  float32  the usual port, the other Keras loss
============================  =======================  =======  ======================================================
1 binary focal, hand-written  2.7e-16 (pred. 7.3e-16)  9.1e-8   built-in vs hand-written 2.3e-16 here; at a logit of
                                                                -30, label 1: built-in 7.5, hand-written 4.03 (clip)
2 summed focal                1.4e-16                  7.3e-8   ~30x the built-in's mean; runs 6.7e-3 apart
  + class_weight              2.6e-16                  1.0e-7   runs 0.12 apart (the weights do not weigh samples)
3 categorical focal           1.3e-16                  1.6e-7   CategoricalFocalCrossentropy 1.3e-16, Keras's 2.6e-16
4 weighted_bce, K.bce         2.3e-16                  1.7e-7   BCEWithLogitsLoss(pos_weight) 3.9e-7 (float32 5.9e-7)
5 weighted_ce_with_logits     4.3e-16                  1.8e-7   it is BCEWithLogitsLoss(pos_weight)
6 balanced class_weight       3.5e-16 (val_* too)      1.7e-7   CrossEntropyLoss(weight=): loss 7.9e-3, predict 1.3e-2
7 compute_sample_weight       0 (pred. 8.4e-16)        1.0e-7   (ce * w).mean() 8.4e-16; / w.sum(): 5.1e-3 apart
9 BCE, 2-unit softmax         3.8e-16                  2.2e-7   nn.Softmax + nn.BCELoss: 7.5e-2 apart
10 from_logits on softmax     2.2e-16                  8.6e-8   double softmax: 5.2e-2 apart
11 CCE, Dense(3, sigmoid)     0 (Dense(1): 2.1e-16)    8.4e-8   CrossEntropyLoss on logits 0; sigmoid port 9.5e-2
12 label_smoothing=0.1        2.7e-16                  1.2e-7   CrossEntropyLoss(label_smoothing) 2.7e-16; with
                                                                class weights 1.502 against Keras's 1.391
13 multi-label accuracy       1.7e-16                  8.6e-8   torch's usual accuracy 0.627, Keras's 0.1875
14 K.mean(K.cce), saturated   0 (pred. 2.9e-14)        8.0e-8   torch_impl.losses.categorical_crossentropy 0.61
15 evaluate(sample_weight)    1 ulp                    equal    np.average(l, weights=w) 1.28, Keras's 2.56
============================  =======================  =======  ======================================================

Findings.

torch_impl (each pinned by a test):

* BUG, silent, fixed (``test_binary_focal_function_on_softmax_output_like_keras``): a custom loss calling
  ``torch_impl.losses.binary_focal_crossentropy(y_true, y_pred)`` inside ``torch_impl.fit(output_activation=
  "softmax")`` took the focal factor from ``sigmoid(logits)``; Keras (``keras/src/losses/losses.py``
  ``binary_focal_crossentropy``) takes it from ``y_pred``, the softmax probabilities, and only the crossentropy
  term from the logits (``backend/tensorflow/nn.py`` ``_get_logits`` uses ``_keras_logits`` whatever the
  activation). 0.0122 against 0.000495 on a row. The class form raised ``ValueError`` on a softmax output, so a
  Keras script with ``BinaryFocalCrossentropy`` on a 2-unit softmax did not port. Now ``fit`` marks the output's
  activation and both forms compute Keras's mix (``test_binary_focal_on_two_unit_softmax``: histories equal).
* Missing warning, fixed (``test_from_logits_on_softmax_output_warns_like_keras``): Keras warns that
  ``from_logits=True`` got a softmax output; ``torch_impl.fit``'s ``compiled_loss`` said nothing (the number was
  Keras's already). It warns now.
* Misleading warning text, fixed (``test_summed_focal_closure_like_keras``): a loss function that returns one
  number for the batch (mkocabas's focal) with ``class_weight`` warned with a hint for another case; it now says
  that the weights only rescale the batch's loss by their mean.
* API gap: no port of Keras 3's legacy backend (``tf.keras.backend`` as ``K``). ``K.binary_crossentropy`` clips
  and then takes ``log(p + 1e-7)`` / ``log(1 - p + 1e-7)`` per element; ``K.categorical_crossentropy`` (and the
  sparse one) never look for the logits behind a softmax. ``torch_impl.losses.*`` are Keras 3's functions, so a
  ``K.``-snippet ported with them is off: 3.9e-7 on ``weighted_bce`` (float64), 61 % of the loss on a saturated
  softmax with ``K.mean(K.categorical_crossentropy(...))``. The ports here write the legacy formulas out.

Usual-port pitfalls (torch_impl's port keeps the standard in each case): ``nn.CrossEntropyLoss(weight=...)`` for
``class_weight`` divides each batch by its sum of weights (Keras by the batch size); ``(ce * w).sum() / w.sum()``
for ``sample_weight`` likewise (``(ce * w).mean()`` is Keras's rule); ``BCEWithLogitsLoss(pos_weight)`` for a
``K.binary_crossentropy`` closure misses the legacy ``+ 1e-7`` inside the logs and the clip (it is exact for
``tf.nn.weighted_cross_entropy_with_logits``); "modernising" that closure to ``keras.losses.binary_crossentropy``
(or torch_impl's) averages over the last axis and the ``(N, 1)`` weight then broadcasts to ``(N, N)``, in both
frameworks; ``nn.Softmax`` + ``nn.BCELoss`` for BCE on a 2-unit softmax and ``nn.Softmax`` +
``nn.CrossEntropyLoss`` for ``from_logits=True`` train other losses; ``CrossEntropyLoss(weight,
label_smoothing)`` weighs the smoothing term per class; the usual torch accuracy on sigmoid outputs is Keras's
``binary_accuracy``, not the ``accuracy`` the script prints; ``np.average(losses, weights=w)`` is not
``evaluate``'s weighted loss. Ports that are fine as they are: ``nn.CrossEntropyLoss(label_smoothing=0.1)`` on the
logits, ``nn.CrossEntropyLoss`` on the logits for ``categorical_crossentropy`` on a sigmoid output, the
hand-written focal functions line for line, and ``torch_impl.losses.CategoricalFocalCrossentropy`` /
``BinaryFocalCrossentropy(apply_class_balancing=True)`` for the hand-written focal losses (unsaturated outputs).

Keras quirks, reproduced by torch_impl: binary crossentropy on a 2-unit softmax is the sigmoid crossentropy of the
softmax's logits, not the BCE of its probabilities; ``from_logits=True`` on a softmax output is silently undone
(the same run to the bit); ``categorical_crossentropy`` on ``Dense(1, sigmoid)`` logs 0.0 and still moves the
weights (TensorFlow's gradient ``softmax - y = 1 - y``; torch's ``log_softmax`` port stays put), and on
``Dense(3, sigmoid)`` trains the softmax crossentropy of the logits; ``"accuracy"`` on multi-hot labels is
``CategoricalAccuracy``; integer labels to ``categorical_crossentropy`` and one-hot labels to the sparse loss raise
``ValueError`` (no silent broadcast) and ``class_weight`` with ``sample_weight`` raises; a summed focal loss with
``class_weight`` only scales by the batch's mean weight; the focal snippet's ``tf.cast(y_true, tf.float32)`` raises
under ``set_floatx("float64")`` (torch promotes silently); ``evaluate``'s weighted loss is ``sum(w * l) / N``, so
with "balanced" weights it is the mean of the per-class mean losses and the weighted accuracy is scikit-learn's
``balanced_accuracy_score``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402

from parity_tests.test_field_scripts_round2 import F32, F64, _check_history, _histogram, _precision, _rel  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, optim  # noqa: E402
from torch_impl.nn import keras_init_  # noqa: E402
from torch_impl.utils import keras_shuffle_order  # noqa: E402

K = tf.keras.backend  # the snippets' ``from tensorflow.keras import backend as K`` (Keras 3's legacy backend)

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

DTYPES = ["float64", pytest.param("float32", marks=pytest.mark.slow)]
EPOCHS = 6


def _tol(dt: str) -> float:
    return F64 if dt == "float64" else F32


def _hist_rel(a: dict, b: dict, key: str = "loss") -> float:
    return _rel(a[key], b[key])


# --------------------------------------------------------------------------------------------------------------
# data, the model every snippet trains, both fits
# --------------------------------------------------------------------------------------------------------------


def _multiclass(n: int = 240, seed: int = 0, scale: float = 1.0):
    """Three imbalanced classes (75/17/8 %), six features."""
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=n, n_features=6, n_informative=4, n_redundant=0, n_classes=3,
                               n_clusters_per_class=1, weights=[0.75, 0.17, 0.08], class_sep=1.0, random_state=seed)
    return x * scale, y


def _binary(n: int = 240, seed: int = 1, scale: float = 1.0):
    """Two classes, 15 % positives, six features."""
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=n, n_features=6, n_informative=4, n_redundant=0, weights=[0.85],
                               flip_y=0.02, class_sep=0.8, random_state=seed)
    return x * scale, y


def _keras_mlp(units: int, activation, features: int = 6, hidden: int = 8):
    return keras.Sequential([keras.Input((features,)), layers.Dense(hidden, activation="relu"),
                             layers.Dense(units, activation=activation)])


def _torch_mlp(units: int, features: int = 6, hidden: int = 8, tail: torch.nn.Module | None = None):
    """The port of ``_keras_mlp``: logits out (Keras's activation is ``output_activation``), or ``tail`` (the
    usual hand port's ``nn.Softmax``/``nn.Sigmoid``) after them."""
    mods = [torch.nn.Linear(features, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, units)]
    return torch.nn.Sequential(*(mods + ([tail] if tail is not None else [])))


def _keras_fit(seed: int, units: int, activation, x, y, loss, *, epochs: int = EPOCHS, metrics=(), lr=None,
               **fit_kw):
    """``keras.utils.set_random_seed(seed)``, the model, ``compile(optimizer="adam", loss=loss, metrics=...)``,
    ``fit(x, y, batch_size=32, epochs=...)`` with Keras's default shuffle. Reseeding replays the same initial
    weights and batch order, so two Keras runs differ only in what they are given."""
    keras.utils.set_random_seed(seed)
    model = _keras_mlp(units, activation, x.shape[1])
    model.compile(optimizer="adam" if lr is None else keras.optimizers.Adam(lr), loss=loss, metrics=list(metrics))
    history = model.fit(x, y, batch_size=32, epochs=epochs, verbose=0, **fit_kw).history
    return model, history


def _torch_fit(seed: int, units: int, activation, x, y, loss, *, epochs: int = EPOCHS, metrics=(), lr=None,
               tail=None, **fit_kw):
    """The port: the same initial weights (``keras_init_(seed=...)``), ``torch_impl.fit(..., seed=seed)`` (Keras's
    batch order), Keras's Adam."""
    net = keras_init_(_torch_mlp(units, x.shape[1], tail=tail), seed=seed)
    opt = "adam" if lr is None else optim.Adam(net.parameters(), learning_rate=lr)
    history = tfit.fit(net, x, y, loss=loss, optimizer=opt, metrics=list(metrics), output_activation=activation,
                       batch_size=32, epochs=epochs, seed=seed, verbose=0, **fit_kw).history
    return net, history


# --------------------------------------------------------------------------------------------------------------
# 1. the hand-written binary focal losses
# --------------------------------------------------------------------------------------------------------------


def binary_focal_loss(gamma=2.0, alpha=0.25, y_dtype=None):
    """umbertogriffo/focal-loss-keras's ``binary_focal_loss``, the most copied one. The snippet casts
    ``y_true`` to ``tf.float32`` (``y_dtype=tf.float32``, the float32 runs); ``y_dtype=None`` casts to
    ``y_pred``'s dtype, so that it also runs in float64, where the snippet as pasted raises (see the test)."""

    def binary_focal_loss_fixed(y_true, y_pred):
        y_true = tf.cast(y_true, y_dtype or y_pred.dtype)
        epsilon = K.epsilon()
        y_pred = K.clip(y_pred, epsilon, 1.0 - epsilon)
        p_t = tf.where(K.equal(y_true, 1), y_pred, 1 - y_pred)
        alpha_factor = K.ones_like(y_true) * alpha
        alpha_t = tf.where(K.equal(y_true, 1), alpha_factor, 1 - alpha_factor)
        cross_entropy = -K.log(p_t)
        weight = alpha_t * K.pow((1 - p_t), gamma)
        loss = weight * cross_entropy
        loss = K.mean(K.sum(loss, axis=1))
        return loss

    return binary_focal_loss_fixed


def torch_binary_focal_loss(gamma=2.0, alpha=0.25):
    """Its port, line for line with torch ops."""

    def binary_focal_loss_fixed(y_true, y_pred):
        y_true = y_true.to(y_pred.dtype)
        epsilon = 1e-7
        y_pred = torch.clamp(y_pred, epsilon, 1.0 - epsilon)
        p_t = torch.where(y_true == 1, y_pred, 1 - y_pred)
        alpha_t = torch.where(y_true == 1, alpha, 1 - alpha)
        cross_entropy = -torch.log(p_t)
        weight = alpha_t * torch.pow(1 - p_t, gamma)
        return (weight * cross_entropy).sum(1).mean()

    return binary_focal_loss_fixed


def focal_loss(gamma=2.0, alpha=0.25):
    """mkocabas/focal-loss-keras's ``focal_loss`` (the pt_1/pt_0 form, with the later ``K.clip``): a SUM over
    the batch. ``torch_impl.losses.focal_loss`` is its port."""

    def focal_loss_fixed(y_true, y_pred):
        pt_1 = tf.where(tf.equal(y_true, 1), y_pred, tf.ones_like(y_pred))
        pt_0 = tf.where(tf.equal(y_true, 0), y_pred, tf.zeros_like(y_pred))
        epsilon = K.epsilon()
        pt_1 = K.clip(pt_1, epsilon, 1.0 - epsilon)
        pt_0 = K.clip(pt_0, epsilon, 1.0 - epsilon)
        return -K.sum(alpha * K.pow(1.0 - pt_1, gamma) * K.log(pt_1)) \
            - K.sum((1 - alpha) * K.pow(pt_0, gamma) * K.log(1.0 - pt_0))

    return focal_loss_fixed


@pytest.mark.parametrize("dt", DTYPES)
def test_hand_written_binary_focal_closure_like_keras(dt):
    """``model.compile(optimizer="adam", loss=binary_focal_loss(gamma=2., alpha=.25), metrics=["accuracy"])`` on
    a ``Dense(1, sigmoid)`` output: the port (the same function in torch, ``torch_impl.fit(loss=fn,
    output_activation="sigmoid")``) keeps the standard; Keras's built-in ``BinaryFocalCrossentropy(
    apply_class_balancing=True, alpha=.25, gamma=2.)`` is the same loss on these (unsaturated) outputs, to
    rounding; ``torch_impl.losses.BinaryFocalCrossentropy`` with those options ports the hand-written one too."""
    x, y = _binary()
    x, y = x.astype(dt), y.astype(dt)
    seed = 5
    with _precision(dt):
        as_pasted = tf.float32 if dt == "float32" else None  # the snippet's cast; float64 needs y_pred's dtype
        model, kh = _keras_fit(seed, 1, "sigmoid", x, y, binary_focal_loss(gamma=2.0, alpha=0.25, y_dtype=as_pasted),
                               metrics=["accuracy"])
        k_prob = model.predict(x, verbose=0)
        net, th = _torch_fit(seed, 1, "sigmoid", x, y, torch_binary_focal_loss(gamma=2.0, alpha=0.25),
                             metrics=["accuracy"])
        t_prob = tfit.predict(net, x, output_activation="sigmoid")
        builtin = keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.25, gamma=2.0)
        _, kh_builtin = _keras_fit(seed, 1, "sigmoid", x, y, builtin, metrics=["accuracy"])
        t_builtin = losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.25, gamma=2.0)
        _, th_builtin = _torch_fit(seed, 1, "sigmoid", x, y, t_builtin, metrics=["accuracy"])
        # values on saturated outputs: the clip of the hand-written loss against the built-in's logits
        z = tf.constant(np.array([[-30.0], [-12.0], [0.3], [16.5], [40.0]], dt))
        yy = tf.constant(np.array([[1.0], [0.0], [1.0], [0.0], [1.0]], dt))
        per = keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, reduction=None)
        sat_builtin = per(yy, keras.activations.sigmoid(z)).numpy()
        sat_hand = [float(binary_focal_loss()(yy[i:i + 1], keras.activations.sigmoid(z[i:i + 1])))
                    for i in range(5)]
    print(f"binary_focal_loss(gamma=2., alpha=.25) hand-written, {dt}:")
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt)
    r = _rel(t_prob, k_prob)
    print(f"  predict max rel {r:.1e}")
    assert r <= (1e-12 if dt == "float64" else 1e-4)
    near = _hist_rel(kh_builtin, kh)
    print(f"  Keras built-in BinaryFocalCrossentropy(apply_class_balancing=True) vs the hand-written, loss history "
          f"max rel {near:.1e}; torch_impl.losses.BinaryFocalCrossentropy port vs the hand-written Keras "
          f"{_hist_rel(th_builtin, kh):.1e}")
    assert near <= _tol(dt) and _hist_rel(th_builtin, kh) <= _tol(dt)
    print(f"  saturated logits [-30, -12, 0.3, 16.5, 40] (labels 1 0 1 0 1): built-in {np.round(sat_builtin, 4)}, "
          f"hand-written {np.round(sat_hand, 4)}")
    # the hand-written loss tops out at the clip: -0.25 * log(1e-7) = 4.03 for a sure wrong positive
    assert abs(sat_hand[0] - 0.25 * -np.log(1e-7)) < 1e-3 * 4 and sat_builtin[0] > 7


def test_binary_focal_closure_as_pasted_raises_in_float64():
    """The snippet casts ``y_true`` to ``tf.float32``: with ``keras.backend.set_floatx("float64")`` its
    ``alpha_t * K.pow(...)`` multiplies float32 by float64 and TensorFlow raises; torch promotes silently."""
    yy = np.array([[1.0], [0.0]])
    p = np.array([[0.7], [0.2]])
    with pytest.raises(tf.errors.InvalidArgumentError):
        binary_focal_loss(y_dtype=tf.float32)(tf.constant(yy), tf.constant(p))
    fl32 = torch_binary_focal_loss()
    v = fl32(torch.tensor(yy, dtype=torch.float32), torch.tensor(p))  # y_true float32, y_pred float64
    print(f"as pasted, float64 predictions: Keras raises InvalidArgumentError, the torch port gives {float(v):.6f} "
          f"({v.dtype})")
    assert v.dtype == torch.float64


@pytest.mark.parametrize("class_weight", [None, "balanced"])
@pytest.mark.parametrize("dt", DTYPES)
def test_summed_focal_closure_like_keras(dt, class_weight):
    """``model.compile(loss=[focal_loss(alpha=.25, gamma=2)], optimizer="adam")`` (mkocabas), with and without
    ``class_weight``: ``torch_impl.losses.focal_loss`` in ``torch_impl.fit`` keeps the standard. The function
    returns one number for the batch (a sum), so a ``class_weight`` cannot weigh samples: Keras multiplies the
    scalar by each sample's weight and averages, i.e. the sum times the batch's MEAN class weight; torch_impl's
    wrapper does the same. Against the built-in (a mean) the logged loss is ~32 times larger (the batch size), and
    Adam being nearly scale-free, the trained model is close to the built-in's but not the same; with the class
    weights the two runs part further (the built-in weighs the positives 3.2 times, the summed loss does not).
    torch_impl warns that the weights broadcast a scalar loss (its hint, about losses averaged over their last
    axis, does not fit this case: see the module docstring)."""
    from sklearn.utils.class_weight import compute_class_weight

    x, y = _binary(seed=3)
    x, y = x.astype(dt), y.astype(dt)
    cw = None if class_weight is None else dict(enumerate(compute_class_weight("balanced", classes=np.unique(y), y=y)))
    seed = 8
    with _precision(dt):
        model, kh = _keras_fit(seed, 1, "sigmoid", x, y, [focal_loss(alpha=0.25, gamma=2)], class_weight=cw)
        k_prob = model.predict(x, verbose=0)
        with warnings.catch_warnings(record=True) as t_warned:
            warnings.simplefilter("always")
            net, th = _torch_fit(seed, 1, "sigmoid", x, y, losses.focal_loss(alpha=0.25, gamma=2), class_weight=cw)
        t_prob = tfit.predict(net, x, output_activation="sigmoid")
        builtin = keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.25, gamma=2.0)
        m_builtin, kh_builtin = _keras_fit(seed, 1, "sigmoid", x, y, builtin, class_weight=cw)
        b_prob = m_builtin.predict(x, verbose=0)
    print(f"focal_loss(alpha=.25, gamma=2) summed, class_weight={cw}, {dt}:")
    _check_history(th, kh, dt)
    r = _rel(t_prob, k_prob)
    ratio = np.asarray(kh["loss"]) / np.asarray(kh_builtin["loss"])
    moved = float(np.max(np.abs(b_prob - k_prob)))
    print(f"  predict max rel {r:.1e}; the summed loss over the built-in's mean, per epoch: {np.round(ratio, 2)}; "
          f"predictions of the two Keras runs differ by up to {moved:.1e}")
    said = sorted({str(w.message) for w in t_warned if "returned one number for the batch" in str(w.message)})
    print(f"  torch_impl's warnings about it: {len(said)} {said[:1]}")
    assert r <= (1e-12 if dt == "float64" else 1e-4)
    assert np.all(ratio > 10) and moved > 1e-4
    assert bool(said) == (class_weight is not None)


# --------------------------------------------------------------------------------------------------------------
# 2. the hand-written categorical focal loss
# --------------------------------------------------------------------------------------------------------------


def categorical_focal_loss(alpha, gamma=2.0):
    """umbertogriffo/focal-loss-keras's ``categorical_focal_loss`` (its ``np.array(alpha, dtype=np.float32)`` is
    ``K.floatx()`` here, so that it also runs in float64: a float32 array times float64 raises in TensorFlow)."""
    alpha = np.array(alpha, dtype=K.floatx())

    def categorical_focal_loss_fixed(y_true, y_pred):
        epsilon = K.epsilon()
        y_pred = K.clip(y_pred, epsilon, 1.0 - epsilon)
        cross_entropy = -y_true * K.log(y_pred)
        loss = alpha * K.pow(1 - y_pred, gamma) * cross_entropy
        return K.mean(K.sum(loss, axis=-1))

    return categorical_focal_loss_fixed


def torch_categorical_focal_loss(alpha, gamma=2.0):
    alpha = torch.tensor(alpha)

    def categorical_focal_loss_fixed(y_true, y_pred):
        y_pred = torch.clamp(y_pred, 1e-7, 1.0 - 1e-7)
        cross_entropy = -y_true * torch.log(y_pred)
        loss = alpha * torch.pow(1 - y_pred, gamma) * cross_entropy
        return loss.sum(-1).mean()

    return categorical_focal_loss_fixed


@pytest.mark.parametrize("dt", DTYPES)
def test_hand_written_categorical_focal_closure_like_keras(dt):
    """``model.compile(loss=[categorical_focal_loss(alpha=[[.25, .25, .25]], gamma=2)], metrics=["accuracy"],
    optimizer="adam")`` on a 3-class softmax with ``to_categorical`` labels. Ports: the same function in torch;
    ``torch_impl.losses.CategoricalFocalCrossentropy(alpha=0.25, gamma=2.0)`` (Keras's built-in; it divides by
    the row sum first, which a softmax makes 1 to rounding); per-class ``alpha=[.25, .25, .25]`` too. All keep the
    standard against the hand-written Keras run, and the Keras built-in is within rounding of it."""
    x, y = _multiclass(seed=2)
    Y = keras.utils.to_categorical(y).astype(dt)
    x = x.astype(dt)
    seed = 13
    with _precision(dt):
        model, kh = _keras_fit(seed, 3, "softmax", x, Y, [categorical_focal_loss(alpha=[[0.25, 0.25, 0.25]], gamma=2)],
                               metrics=["accuracy"])
        k_prob = model.predict(x, verbose=0)
        net, th = _torch_fit(seed, 3, "softmax", x, Y, torch_categorical_focal_loss([[0.25, 0.25, 0.25]], gamma=2),
                             metrics=["accuracy"])
        t_prob = tfit.predict(net, x, output_activation="softmax")
        _, th_cls = _torch_fit(seed, 3, "softmax", x, Y, losses.CategoricalFocalCrossentropy(alpha=0.25, gamma=2.0),
                               metrics=["accuracy"])
        _, th_pc = _torch_fit(seed, 3, "softmax", x, Y,
                              losses.CategoricalFocalCrossentropy(alpha=[0.25, 0.25, 0.25], gamma=2.0),
                              metrics=["accuracy"])
        _, kh_builtin = _keras_fit(seed, 3, "softmax", x, Y,
                                   keras.losses.CategoricalFocalCrossentropy(alpha=0.25, gamma=2.0),
                                   metrics=["accuracy"])
    print(f"categorical_focal_loss(alpha=[[.25]*3], gamma=2) hand-written, {dt}:")
    _check_history(th, kh, dt)
    r = _rel(t_prob, k_prob)
    figures = {"torch_impl CategoricalFocalCrossentropy(0.25)": _hist_rel(th_cls, kh),
               "torch_impl CategoricalFocalCrossentropy([.25]*3)": _hist_rel(th_pc, kh),
               "Keras built-in CategoricalFocalCrossentropy": _hist_rel(kh_builtin, kh)}
    print(f"  predict max rel {r:.1e}; loss histories against the hand-written Keras run: "
          + ", ".join(f"{k} {v:.1e}" for k, v in figures.items()))
    assert r <= (1e-12 if dt == "float64" else 1e-4)
    assert max(figures.values()) <= _tol(dt)
    assert _histogram(t_prob.argmax(-1), 3) == _histogram(k_prob.argmax(-1), 3)


# --------------------------------------------------------------------------------------------------------------
# 3. weighted binary crossentropy: the K.binary_crossentropy closure, tf.nn.weighted_cross_entropy_with_logits
# --------------------------------------------------------------------------------------------------------------


def weighted_bce(pos_weight):
    """The StackOverflow closure: Keras's legacy ``K.binary_crossentropy`` (clip to [1e-7, 1 - 1e-7], then
    ``log(p + 1e-7)`` and ``log(1 - p + 1e-7)``, one value per element) times ``y * w + (1 - y)``."""

    def loss(y_true, y_pred):
        bce = K.binary_crossentropy(y_true, y_pred)
        weight = y_true * pos_weight + (1.0 - y_true)
        return K.mean(bce * weight)

    return loss


def torch_weighted_bce(pos_weight):
    """The port that reproduces it: ``K.binary_crossentropy`` written out (torch_impl has no legacy-backend
    functions; ``torch_impl.losses.binary_crossentropy`` is Keras 3's, see the test)."""

    def loss(y_true, y_pred):
        eps = 1e-7
        p = torch.clamp(y_pred, eps, 1.0 - eps)
        bce = -(y_true * torch.log(p + eps) + (1 - y_true) * torch.log(1 - p + eps))
        weight = y_true * pos_weight + (1.0 - y_true)
        return torch.mean(bce * weight)

    return loss


def bce_with_logits_pos_weight(pos_weight):
    """The usual PyTorch port: ``nn.BCEWithLogitsLoss(pos_weight=torch.tensor([w]))`` on the logits."""
    fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor([pos_weight]))
    return lambda y_true, logits: fn(logits, y_true)


@pytest.mark.parametrize("dt", DTYPES)
def test_weighted_bce_closure_like_keras(dt):
    """``pos_weight = neg / pos``, ``model.compile(loss=weighted_bce(pos_weight), optimizer="adam")`` on a
    ``Dense(1, sigmoid)``: the written-out legacy formula keeps the standard; ``BCEWithLogitsLoss(pos_weight)`` on
    the logits (the usual port) does not: Keras's legacy BCE adds 1e-7 inside the logs (1e-7 to 1e-6 relative
    per element, 4 % on a saturated one) and clips."""
    x, y = _binary(seed=4)
    x, y = x.astype(dt), y.astype(dt)
    pos_weight = float((y == 0).sum() / (y == 1).sum())
    seed = 21
    with _precision(dt):
        model, kh = _keras_fit(seed, 1, "sigmoid", x, y, weighted_bce(pos_weight))
        k_prob = model.predict(x, verbose=0)
        net, th = _torch_fit(seed, 1, "sigmoid", x, y, torch_weighted_bce(pos_weight))
        t_prob = tfit.predict(net, x, output_activation="sigmoid")
        _, th_usual = _torch_fit(seed, 1, None, x, y, bce_with_logits_pos_weight(pos_weight))
    print(f"weighted_bce(pos_weight={pos_weight:.3f}) with K.binary_crossentropy, {dt}:")
    _check_history(th, kh, dt)
    r = _rel(t_prob, k_prob)
    usual = _hist_rel(th_usual, kh)
    print(f"  predict max rel {r:.1e}; the usual BCEWithLogitsLoss(pos_weight) port: loss history max rel {usual:.1e}")
    assert r <= (1e-12 if dt == "float64" else 1e-4)
    if dt == "float64":
        assert usual > 1e-8  # outside the standard: the legacy 1e-7 inside the logs
    else:
        assert usual < F32  # inside the float32 one: 1e-7 relative is float32 rounding


def test_weighted_bce_modernised_broadcasts_in_both():
    """Porting the closure to Keras 3's ``keras.losses.binary_crossentropy`` (or torch_impl's, its port) changes
    two things: it averages over the last axis, so ``bce`` is ``(N,)`` and ``bce * weight`` with the ``(N, 1)``
    weight broadcasts to ``(N, N)`` (the mean of all products: the positives' weight no longer goes with the
    positives); and on a sigmoid output it uses the logits, no clip. torch_impl reproduces that Keras number; the
    legacy closure's is another."""
    rng = np.random.default_rng(7)
    z = rng.normal(size=(10, 1)) * 4
    z[0, 0] = -25.0
    y = (rng.random((10, 1)) < 0.3).astype("float64")
    y[0, 0] = 1.0
    w = 3.0

    def k_modern(y_true, y_pred):
        bce = keras.losses.binary_crossentropy(y_true, y_pred)
        return keras.ops.mean(bce * (y_true * w + (1.0 - y_true)))

    def t_modern(y_true, y_pred):
        bce = losses.binary_crossentropy(y_true, y_pred)
        return torch.mean(bce * (y_true * w + (1.0 - y_true)))

    with _precision("float64"):
        kz = tf.constant(z)
        k_p = keras.activations.sigmoid(kz)  # carries the logits, as a sigmoid layer's output does
        legacy = float(weighted_bce(w)(tf.constant(y), k_p))
        modern = float(k_modern(tf.constant(y), k_p))
        tz = torch.tensor(z)
        t_p = torch.sigmoid(tz)
        t_p._keras_logits = tz  # what torch_impl.fit's output_activation="sigmoid" hands a loss
        t_modern_v = float(t_modern(torch.tensor(y), t_p))
        t_legacy = float(torch_weighted_bce(w)(torch.tensor(y), torch.sigmoid(tz)))
        elementwise = float(torch.mean(F.binary_cross_entropy_with_logits(tz, torch.tensor(y), reduction="none")
                                       * (torch.tensor(y) * w + 1 - torch.tensor(y))))
    print(f"weighted BCE on one batch (a logit -25 with label 1): legacy K closure {legacy:.6f} (its torch port "
          f"{t_legacy:.6f}); Keras 3 keras.losses.binary_crossentropy closure {modern:.6f} (torch_impl's "
          f"{t_modern_v:.6f}), (N, N) broadcast; the elementwise weighted BCE from the logits {elementwise:.6f}")
    assert abs(t_legacy - legacy) <= 1e-12 * abs(legacy)
    assert abs(t_modern_v - modern) <= 1e-12 * abs(modern)
    assert abs(modern - legacy) > 0.05 * legacy and abs(elementwise - legacy) > 0.05 * legacy


def weighted_ce_with_logits(pos_weight):
    """``tf.nn.weighted_cross_entropy_with_logits`` on a linear ``Dense(1)`` output."""

    def loss(y_true, y_pred):
        return K.mean(tf.nn.weighted_cross_entropy_with_logits(labels=y_true, logits=y_pred, pos_weight=pos_weight))

    return loss


@pytest.mark.parametrize("dt", DTYPES)
def test_weighted_cross_entropy_with_logits_is_bce_with_logits_pos_weight(dt):
    """``loss=weighted_ce_with_logits(pos_weight)`` on a ``Dense(1)`` logit: here the usual port,
    ``nn.BCEWithLogitsLoss(pos_weight=torch.tensor([w]))``, IS Keras's run (the same formula,
    ``(1 - y) x + (1 + (w - 1) y) (log1p(exp(-|x|)) + max(-x, 0))``)."""
    x, y = _binary(seed=4)
    x, y = x.astype(dt), y.astype(dt)
    pos_weight = float((y == 0).sum() / (y == 1).sum())
    seed = 21
    with _precision(dt):
        model, kh = _keras_fit(seed, 1, None, x, y, weighted_ce_with_logits(pos_weight))
        k_z = model.predict(x, verbose=0)
        net, th = _torch_fit(seed, 1, None, x, y, bce_with_logits_pos_weight(pos_weight))
        t_z = tfit.predict(net, x)
    print(f"tf.nn.weighted_cross_entropy_with_logits(pos_weight={pos_weight:.3f}) vs BCEWithLogitsLoss, {dt}:")
    _check_history(th, kh, dt)
    r = float(np.max(np.abs(t_z - k_z)) / np.max(np.abs(k_z)))
    print(f"  predicted logits norm-wise {r:.1e}")
    assert r <= (1e-12 if dt == "float64" else 1e-5)


# --------------------------------------------------------------------------------------------------------------
# 4. class_weight and sample_weight from scikit-learn
# --------------------------------------------------------------------------------------------------------------


def cross_entropy_weight(class_weights, one_hot: bool):
    """The usual PyTorch port of ``class_weight``: ``nn.CrossEntropyLoss(weight=torch.tensor(class_weights))`` on
    the logits with integer targets (it divides by the sum of the batch's weights, Keras by the batch size)."""
    fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(class_weights, dtype=torch.get_default_dtype()))
    return lambda y_true, logits: fn(logits, (y_true.argmax(-1) if one_hot else y_true).long())


@pytest.mark.parametrize("labels", ["one_hot", "sparse"])
@pytest.mark.parametrize("dt", DTYPES)
def test_balanced_class_weight_dict_like_keras(dt, labels):
    """``class_weights = compute_class_weight("balanced", classes=np.unique(y), y=y)``, ``class_weight =
    dict(enumerate(class_weights))`` (or ``dict(zip(np.unique(y), class_weights))``, numpy keys),
    ``model.fit(x, y, validation_split=0.2, class_weight=class_weight)`` with ``to_categorical(y)`` and
    ``"categorical_crossentropy"`` or integer ``y`` and ``"sparse_categorical_crossentropy"``,
    ``metrics=["accuracy"]``, ``weighted_metrics=["accuracy"]``: ``torch_impl.fit(class_weight=...)`` keeps the
    standard (the class weights weigh the training loss and the weighted metric, not the validation figures, in
    both); ``nn.CrossEntropyLoss(weight=...)`` does not: it divides each batch's weighted sum by
    the batch's sum of weights, Keras by the batch size. With "balanced" weights the whole data's weights sum
    to N, so the epoch figures are only ~1 % apart, but every batch's step is scaled differently."""
    from sklearn.utils.class_weight import compute_class_weight

    x, y = _multiclass(seed=5)
    x = x.astype(dt)
    class_weights = compute_class_weight("balanced", classes=np.unique(y), y=y)
    if labels == "one_hot":
        class_weight = dict(enumerate(class_weights))
    else:  # the other common spelling: numpy integer keys
        class_weight = dict(zip(np.unique(y), class_weights))
    target = keras.utils.to_categorical(y).astype(dt) if labels == "one_hot" else y
    loss = "categorical_crossentropy" if labels == "one_hot" else "sparse_categorical_crossentropy"
    seed = 17
    with _precision(dt):
        keras.utils.set_random_seed(seed)
        model = _keras_mlp(3, "softmax")
        model.compile(optimizer="adam", loss=loss, metrics=["accuracy"], weighted_metrics=["accuracy"])
        kh = model.fit(x, target, batch_size=32, epochs=EPOCHS, validation_split=0.2, class_weight=class_weight,
                       verbose=0).history
        k_prob = model.predict(x, verbose=0)
        net, th = _torch_fit(seed, 3, "softmax", x, target, loss, metrics=["accuracy"], weighted_metrics=["accuracy"],
                             validation_split=0.2, class_weight=class_weight)
        t_prob = tfit.predict(net, x, output_activation="softmax")
        net_u, th_usual = _torch_fit(seed, 3, None, x, target, cross_entropy_weight(class_weights, labels == "one_hot"),
                                     metrics=["accuracy"], validation_split=0.2)
        u_prob = tfit.predict(net_u, x, output_activation="softmax")
    print(f"class_weight {({k: round(float(v), 3) for k, v in class_weight.items()})}, {labels} labels, {dt}:")
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt)
    r = _rel(t_prob, k_prob)
    usual, moved = _hist_rel(th_usual, kh), float(np.max(np.abs(u_prob - k_prob)))
    print(f"  predict max rel {r:.1e}; nn.CrossEntropyLoss(weight=...) port: loss history max rel {usual:.1e} "
          f"(Keras {np.round(kh['loss'][:2], 4).tolist()}..., the port "
          f"{np.round(th_usual['loss'][:2], 4).tolist()}...), "
          f"probabilities up to {moved:.1e} apart after {EPOCHS} epochs")
    assert r <= (1e-12 if dt == "float64" else 1e-4)
    assert _histogram(t_prob.argmax(-1), 3) == _histogram(k_prob.argmax(-1), 3)
    assert usual > 1e-4 and moved > 1e-3


def _plain_loop(net, x, y, sw, seed: int, epochs: int, normalise: str):
    """A plain PyTorch loop over Keras's batches (``keras_shuffle_order``) with Keras's Adam:
    ``(F.cross_entropy(z, y, reduction="none") * w).mean()`` or ``... .sum() / w.sum()``."""
    opt = optim.Adam(net.parameters())
    xt, yt, wt = torch.from_numpy(x), torch.from_numpy(y).long(), torch.from_numpy(sw).to(torch.get_default_dtype())
    order = torch.from_numpy(keras_shuffle_order(len(x), seed))
    for _ in range(epochs):
        for start in range(0, len(x), 32):
            idx = order[start:start + 32]
            per_sample = F.cross_entropy(net(xt[idx]), yt[idx], reduction="none") * wt[idx]
            loss = per_sample.mean() if normalise == "mean" else per_sample.sum() / wt[idx].sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net


@pytest.mark.parametrize("dt", DTYPES)
def test_compute_sample_weight_balanced_like_keras(dt):
    """``sample_weight = compute_sample_weight("balanced", y)``, ``model.fit(x, y, sample_weight=sample_weight)``
    with ``"sparse_categorical_crossentropy"``, ``metrics=["accuracy"]``, ``weighted_metrics=["accuracy"]``:
    ``torch_impl.fit(sample_weight=...)`` keeps the standard. A plain loop with ``(ce * w).mean()`` IS Keras's
    rule (sum of weighted losses over the batch size); ``(ce * w).sum() / w.sum()`` is not."""
    from sklearn.utils.class_weight import compute_sample_weight

    x, y = _multiclass(seed=6)
    x = x.astype(dt)
    sample_weight = compute_sample_weight("balanced", y)
    seed = 19
    with _precision(dt):
        keras.utils.set_random_seed(seed)
        model = _keras_mlp(3, "softmax")
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      weighted_metrics=["accuracy"])
        kh = model.fit(x, y, sample_weight=sample_weight, batch_size=32, epochs=EPOCHS, verbose=0).history
        k_prob = model.predict(x, verbose=0)
        net, th = _torch_fit(seed, 3, "softmax", x, y, "sparse_categorical_crossentropy", metrics=["accuracy"],
                             weighted_metrics=["accuracy"], sample_weight=sample_weight)
        t_prob = tfit.predict(net, x, output_activation="softmax")
        loops = {n: torch.softmax(_plain_loop(keras_init_(_torch_mlp(3), seed=seed), x, y, sample_weight, seed,
                                              EPOCHS, n)(torch.from_numpy(x)), -1).detach().numpy()
                 for n in ("mean", "sum_over_weights")}
    print(f"compute_sample_weight('balanced', y) (weights {np.unique(sample_weight.round(3)).tolist()}), {dt}:")
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt)
    r = _rel(t_prob, k_prob)
    mean_r = _rel(loops["mean"], k_prob)
    off = float(np.max(np.abs(loops["sum_over_weights"] - k_prob)))
    print(f"  predict max rel {r:.1e}; plain loop (ce * w).mean(): predict max rel {mean_r:.1e}; "
          f"(ce * w).sum() / w.sum(): probabilities up to {off:.1e} apart")
    assert r <= (1e-12 if dt == "float64" else 1e-4)
    assert mean_r <= (1e-10 if dt == "float64" else 1e-4) and off > 1e-3


def test_class_weight_and_sample_weight_together_raise_in_both():
    """``model.fit(x, y, class_weight=class_weight, sample_weight=sample_weight)`` (both from scikit-learn):
    Keras raises ``ValueError("You cannot `class_weight` and `sample_weight` at the same time.")``; so does
    torch_impl.fit. (Multiply them into one ``sample_weight`` instead.)"""
    from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight

    x, y = _multiclass(n=64, seed=7)
    class_weight = dict(enumerate(compute_class_weight("balanced", classes=np.unique(y), y=y)))
    sample_weight = compute_sample_weight("balanced", y)
    with _precision("float64"):
        keras.utils.set_random_seed(1)
        model = _keras_mlp(3, "softmax")
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        with pytest.raises(ValueError, match="at the same time") as k_err:
            model.fit(x, y, class_weight=class_weight, sample_weight=sample_weight, verbose=0)
        with pytest.raises(ValueError, match="at the same time") as t_err:
            tfit.fit(keras_init_(_torch_mlp(3), seed=1), x, y, loss="sparse_categorical_crossentropy",
                     optimizer="adam", output_activation="softmax", class_weight=class_weight,
                     sample_weight=sample_weight, verbose=0)
    print(f"class_weight and sample_weight together: Keras {str(k_err.value)!r}, torch_impl {str(t_err.value)!r}")


# --------------------------------------------------------------------------------------------------------------
# 5. the label mix-ups
# --------------------------------------------------------------------------------------------------------------


def test_label_format_mixups_raise_in_both():
    """``loss="categorical_crossentropy"`` given integer labels (``(N,)`` or ``(N, 1)``), and
    ``"sparse_categorical_crossentropy"`` given ``to_categorical`` labels: Keras 3 raises ``ValueError`` at the
    first step (no silent broadcast), and so does torch_impl.fit (its message says which loss to use). The usual
    torch port cannot make the mistake: ``nn.CrossEntropyLoss`` takes class indices and, since torch 1.10,
    probability targets too, so both "mistakes" train correctly there."""
    x, y = _multiclass(n=64, seed=7)
    Y = keras.utils.to_categorical(y)
    cases = [("categorical_crossentropy", y.astype("float64"), "(N,) integers"),
             ("categorical_crossentropy", y[:, None].astype("float64"), "(N, 1) integers"),
             ("sparse_categorical_crossentropy", Y, "one-hot")]
    with _precision("float64"):
        for loss, target, what in cases:
            keras.utils.set_random_seed(1)
            model = _keras_mlp(3, "softmax")
            model.compile(optimizer="adam", loss=loss)
            with pytest.raises(ValueError) as k_err:
                model.fit(x, target, epochs=1, verbose=0)
            net = keras_init_(_torch_mlp(3), seed=1)
            with pytest.raises(ValueError) as t_err:
                tfit.fit(net, x, target, loss=loss, optimizer="adam", output_activation="softmax", epochs=1,
                         verbose=0)
            print(f"{loss} with {what} labels: Keras ValueError {str(k_err.value).splitlines()[0][:110]!r}; "
                  f"torch_impl ValueError {str(t_err.value)[:150]!r}...")
            hint = "use SparseCategoricalCrossentropy for integer labels" if loss == "categorical_crossentropy" else \
                "use CategoricalCrossentropy for one-hot targets"
            assert hint in str(t_err.value)
        z = keras_init_(_torch_mlp(3), seed=1)(torch.from_numpy(x)).detach()
        as_indices = torch.nn.CrossEntropyLoss()(z, torch.from_numpy(y))
        as_probabilities = torch.nn.CrossEntropyLoss()(z, torch.from_numpy(Y))
    print(f"nn.CrossEntropyLoss: integer targets {float(as_indices):.12f}, one-hot targets "
          f"{float(as_probabilities):.12f} (the same loss)")
    assert abs(float(as_indices) - float(as_probabilities)) <= 1e-14


# --------------------------------------------------------------------------------------------------------------
# 6. a loss that does not fit the output: binary crossentropy on a 2-unit softmax, from_logits=True on a softmax
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", DTYPES)
def test_binary_crossentropy_on_two_unit_softmax_like_keras(dt):
    """``Dense(2, activation="softmax")``, ``compile(loss="binary_crossentropy", metrics=["accuracy"])``,
    ``to_categorical`` labels. Keras's binary crossentropy finds the logits behind the softmax (``_keras_logits``)
    and computes ``sigmoid`` crossentropy of each logit: the loss it trains is NOT the binary crossentropy of the
    softmax probabilities. ``torch_impl.fit(loss="binary_crossentropy",
    output_activation="softmax")`` reproduces it; the usual port, ``nn.Softmax`` + ``nn.BCELoss``, trains the
    other loss. Keras 3's ``"accuracy"`` is categorical accuracy here (Keras 2 picked binary accuracy from the
    loss; for a 2-unit softmax they agree)."""
    x, y = _binary(seed=9)
    x = x.astype(dt)
    Y = keras.utils.to_categorical(y).astype(dt)
    seed = 23
    with _precision(dt):
        model, kh = _keras_fit(seed, 2, "softmax", x, Y, "binary_crossentropy", metrics=["accuracy"])
        k_prob = model.predict(x, verbose=0)
        net, th = _torch_fit(seed, 2, "softmax", x, Y, "binary_crossentropy", metrics=["accuracy"])
        t_prob = tfit.predict(net, x, output_activation="softmax")
        bce = torch.nn.BCELoss()
        net_u, th_usual = _torch_fit(seed, 2, None, x, Y, lambda y_true, p: bce(p, y_true), metrics=["accuracy"],
                                     tail=torch.nn.Softmax(dim=-1))
        u_prob = tfit.predict(net_u, x)
        p0 = torch.softmax(keras_init_(_torch_mlp(2), seed=seed)(torch.from_numpy(x)), -1).detach()
        start = float(bce(p0, torch.from_numpy(Y)))
        keras.utils.set_random_seed(seed)
        m0 = _keras_mlp(2, "softmax")
        m0.compile(loss="binary_crossentropy")
        k_start = float(m0.evaluate(x, Y, verbose=0))
    print(f"binary_crossentropy on a 2-unit softmax, {dt}:")
    _check_history(th, kh, dt)
    r = _rel(t_prob, k_prob)
    moved = float(np.max(np.abs(u_prob - k_prob)))
    print(f"  predict max rel {r:.1e}; at the initial weights Keras's loss is {k_start:.4f}, the BCE of the softmax "
          f"probabilities {start:.4f}; the nn.Softmax + nn.BCELoss port's probabilities end up to {moved:.1e} from "
          f"Keras's")
    assert r <= (1e-12 if dt == "float64" else 1e-4)
    assert abs(start - k_start) > 0.01 and moved > 0.01


@pytest.mark.parametrize("dt", DTYPES)
def test_from_logits_true_on_a_softmax_output_like_keras(dt):
    """``Dense(3, activation="softmax")`` with ``CategoricalCrossentropy(from_logits=True)`` (a double softmax,
    one would think): Keras takes the logits behind the softmax and warns ("received `from_logits=True`, but the
    `output` argument was produced by a Softmax activation"), so it trains exactly as with
    ``from_logits=False``. torch_impl.fit does the same (it does not warn: see
    ``test_from_logits_on_softmax_output_warns_like_keras``); the usual port, ``nn.Softmax`` in the model and
    ``nn.CrossEntropyLoss``, is a real double softmax and learns much slower."""
    x, y = _multiclass(seed=10)
    x = x.astype(dt)
    Y = keras.utils.to_categorical(y).astype(dt)
    seed = 29
    with _precision(dt):
        with warnings.catch_warnings(record=True) as k_warned:
            warnings.simplefilter("always")
            model, kh = _keras_fit(seed, 3, "softmax", x, Y, keras.losses.CategoricalCrossentropy(from_logits=True),
                                   metrics=["accuracy"])
        k_prob = model.predict(x, verbose=0)
        _, kh_plain = _keras_fit(seed, 3, "softmax", x, Y, "categorical_crossentropy", metrics=["accuracy"])
        net, th = _torch_fit(seed, 3, "softmax", x, Y, losses.CategoricalCrossentropy(from_logits=True),
                             metrics=["accuracy"])
        t_prob = tfit.predict(net, x, output_activation="softmax")
        ce = torch.nn.CrossEntropyLoss()
        net_u, th_usual = _torch_fit(seed, 3, None, x, Y, lambda y_true, p: ce(p, y_true.argmax(-1)),
                                     metrics=["accuracy"], tail=torch.nn.Softmax(dim=-1))
        u_prob = tfit.predict(net_u, x)
    said = [str(w.message) for w in k_warned if "from_logits=True" in str(w.message)]
    print(f"CategoricalCrossentropy(from_logits=True) on a softmax output, {dt}: Keras warned {len(said)} times "
          f"({said[0][:100]!r}...)")
    _check_history(th, kh, dt)
    same = _hist_rel(kh_plain, kh)
    moved = float(np.max(np.abs(u_prob - k_prob)))
    print(f"  predict max rel {_rel(t_prob, k_prob):.1e}; Keras from_logits=True vs from_logits=False: {same:.1e}; "
          f"nn.Softmax + nn.CrossEntropyLoss (double softmax): accuracy {np.round(th_usual['accuracy'], 3).tolist()} "
          f"against Keras's {np.round(kh['accuracy'], 3).tolist()}, probabilities up to {moved:.1e} apart")
    assert said and same == 0.0
    assert _rel(t_prob, k_prob) <= (1e-12 if dt == "float64" else 1e-4)
    assert moved > 0.05


def test_from_logits_on_softmax_output_warns_like_keras():
    """torch_impl difference (a warning, not a number): Keras warns when a crossentropy with ``from_logits=True``
    gets a softmax/sigmoid output (``keras/src/backend/tensorflow/nn.py``, ``_get_logits``); torch_impl.fit with
    ``output_activation="softmax"`` and ``CategoricalCrossentropy(from_logits=True)`` computes Keras's number but
    says nothing (``torch_impl/fit.py`` ``compiled_loss`` copies the loss with ``from_logits=True`` and never
    looks at the user's flag; the functional form, ``torch_impl.losses._keras_logits``, does warn)."""
    x, y = _multiclass(n=40, seed=10)
    Y = keras.utils.to_categorical(y)
    with _precision("float64"):
        net = keras_init_(_torch_mlp(3), seed=1)
        with warnings.catch_warnings(record=True) as t_warned:
            warnings.simplefilter("always")
            tfit.fit(net, x, Y, loss=losses.CategoricalCrossentropy(from_logits=True), optimizer="adam",
                     output_activation="softmax", epochs=1, verbose=0)
    said = [str(w.message) for w in t_warned if "from_logits" in str(w.message)]
    print(f"torch_impl.fit, from_logits=True on output_activation='softmax': warnings about it {said}")
    assert said


@pytest.mark.parametrize("dt", DTYPES)
def test_categorical_crossentropy_on_sigmoid_outputs_like_keras(dt):
    """Two classic mix-ups. ``Dense(1, activation="sigmoid")`` with ``loss="categorical_crossentropy"`` (the
    "loss: 0.0000e+00, accuracy stuck" question): a softmax over one unit is 1, so the loss is 0, and both Keras
    and torch_impl warn that one class is one too few. Yet the weights move: TensorFlow's softmax crossentropy has
    the gradient ``softmax(z) - y = 1 - y`` whatever the loss, so every label-0 sample pushes its logit down and
    the sigmoid outputs sink. torch_impl.fit reproduces that run; the torch port ``-(y * log_softmax(z)).sum(-1)``
    has autograd's gradient ``sum(y) softmax(z) - y = 0`` and stays put.
    ``Dense(3, activation="sigmoid")`` with ``"categorical_crossentropy"`` on one-hot labels: Keras's loss finds
    the logits behind the sigmoid and trains the softmax crossentropy of them (the sigmoid only shows in
    ``predict``); torch_impl.fit(output_activation="sigmoid") does the same, and so does the port
    ``nn.CrossEntropyLoss`` on the logits; the port of what the script says on paper (``nn.Sigmoid`` in the
    model, the crossentropy of the normalised sigmoid outputs) trains something else."""
    xb, yb = _binary(n=96, seed=16)
    xb, yb = xb.astype(dt), yb.astype(dt)
    x, y = _multiclass(seed=17)
    x = x.astype(dt)
    Y = keras.utils.to_categorical(y).astype(dt)
    seed = 47
    with _precision(dt):
        start = tfit.predict(keras_init_(_torch_mlp(1), seed=seed), xb, output_activation="sigmoid")
        with warnings.catch_warnings(record=True) as k_warned:
            warnings.simplefilter("always")
            model1, kh1 = _keras_fit(seed, 1, "sigmoid", xb, yb, "categorical_crossentropy", epochs=3,
                                     metrics=["accuracy"])
        k_prob1 = model1.predict(xb, verbose=0)
        with warnings.catch_warnings(record=True) as t_warned:
            warnings.simplefilter("always")
            net1, th1 = _torch_fit(seed, 1, "sigmoid", xb, yb, "categorical_crossentropy", epochs=3,
                                   metrics=["accuracy"])
        t_prob1 = tfit.predict(net1, xb, output_activation="sigmoid")
        net0, th0 = _torch_fit(seed, 1, None, xb, yb, lambda y_true, z: -(y_true * torch.log_softmax(z, -1)).sum(-1),
                               epochs=3)
        u_prob1 = tfit.predict(net0, xb, output_activation="sigmoid")
        model, kh = _keras_fit(seed, 3, "sigmoid", x, Y, "categorical_crossentropy", metrics=["accuracy"])
        k_prob = model.predict(x, verbose=0)
        net, th = _torch_fit(seed, 3, "sigmoid", x, Y, "categorical_crossentropy", metrics=["accuracy"])
        t_prob = tfit.predict(net, x, output_activation="sigmoid")
        ce = torch.nn.CrossEntropyLoss()
        _, th_ce = _torch_fit(seed, 3, None, x, Y, lambda y_true, z: ce(z, y_true.argmax(-1)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch_impl warns that Keras would train the logits: that is the point
            net_p, th_paper = _torch_fit(seed, 3, None, x, Y, "categorical_crossentropy", metrics=["accuracy"],
                                         tail=torch.nn.Sigmoid())
        p_prob = tfit.predict(net_p, x)
    k_said = [str(w.message)[:90] for w in k_warned if "num_classes > 1" in str(w.message)]
    t_said = [str(w.message)[:90] for w in t_warned if "num_classes > 1" in str(w.message)]
    print(f"categorical_crossentropy on Dense(1, sigmoid), {dt}: loss Keras {kh1['loss']}, torch_impl {th1['loss']}, "
          f"the log_softmax port {th0['loss']}; warnings Keras {len(k_said)} {k_said[:1]}, torch_impl {len(t_said)}")
    print(f"  mean sigmoid output: start {start.mean():.4f}, Keras {k_prob1.mean():.4f}, torch_impl "
          f"{t_prob1.mean():.4f} (predict max rel {_rel(t_prob1, k_prob1):.1e}), the log_softmax port "
          f"{u_prob1.mean():.4f}; accuracy Keras {np.round(kh1['accuracy'], 4).tolist()}, torch_impl "
          f"{np.round(th1['accuracy'], 4).tolist()}")
    assert kh1["loss"] == [0.0] * 3 and th1["loss"] == [0.0] * 3 and th0["loss"] == [0.0] * 3 and k_said and t_said
    assert _rel(t_prob1, k_prob1) <= (1e-12 if dt == "float64" else 1e-4)
    assert k_prob1.mean() < start.mean() - 0.01 and np.array_equal(u_prob1, start)
    print(f"categorical_crossentropy on Dense(3, sigmoid), {dt}:")
    _check_history(th, kh, dt)
    ce_rel, paper = _hist_rel(th_ce, kh), float(np.max(np.abs(p_prob - k_prob)))
    print(f"  predict max rel {_rel(t_prob, k_prob):.1e}; nn.CrossEntropyLoss on the logits: loss history max rel "
          f"{ce_rel:.1e}; nn.Sigmoid + the crossentropy of its outputs: loss {np.round(th_paper['loss'], 4).tolist()} "
          f"against Keras's {np.round(kh['loss'], 4).tolist()}, sigmoid outputs up to {paper:.1e} apart")
    assert _rel(t_prob, k_prob) <= (1e-12 if dt == "float64" else 1e-4)
    assert ce_rel <= _tol(dt) and paper > 0.01


@pytest.mark.parametrize("balanced", [False, True])
def test_binary_focal_on_two_unit_softmax(balanced):
    """``Dense(2, activation="softmax")`` with ``keras.losses.BinaryFocalCrossentropy(gamma=2.0)`` and one-hot
    labels: Keras takes the crossentropy term from the softmax's logits (a sigmoid crossentropy of each logit)
    and the focal factor from the softmax probabilities. torch_impl.fit refused the loss object on a softmax output
    (``ValueError``); it now trains Keras's mix, and so does the functional form in a custom loss."""
    x, y = _binary(n=64, seed=18)
    Y = keras.utils.to_categorical(y)
    kw = dict(gamma=2.0, apply_class_balancing=balanced)
    with _precision("float64"):
        _, kh = _keras_fit(3, 2, "softmax", x, Y, keras.losses.BinaryFocalCrossentropy(**kw), epochs=3)
        _, th = _torch_fit(3, 2, "softmax", x, Y, losses.BinaryFocalCrossentropy(**kw), epochs=3)
        _, kh_fn = _keras_fit(3, 2, "softmax", x, Y,
                              lambda t, p: keras.losses.binary_focal_crossentropy(t, p, **kw), epochs=3)
        _, th_fn = _torch_fit(3, 2, "softmax", x, Y, lambda t, p: losses.binary_focal_crossentropy(t, p, **kw),
                              epochs=3)
    print(f"BinaryFocalCrossentropy(apply_class_balancing={balanced}) on a 2-unit softmax: Keras {kh['loss']}, "
          f"torch_impl {th['loss']} (max rel {_rel(th['loss'], kh['loss']):.1e}); as a custom-loss function "
          f"{_rel(th_fn['loss'], kh_fn['loss']):.1e}")
    _check_history(th, kh, "float64")
    _check_history(th_fn, kh_fn, "float64")


def test_binary_focal_function_on_softmax_output_like_keras():
    """torch_impl bug, fixed: a custom loss ``lambda y_true, y_pred: keras.losses.binary_focal_crossentropy(
    y_true, y_pred, gamma=2.0)`` on a softmax output. In Keras the focal factor comes from ``y_pred`` (the softmax
    probabilities) and the crossentropy from the logits behind them. ``torch_impl.fit`` hands the custom loss the
    softmax output carrying its logits (and, now, its activation), and ``torch_impl.losses.binary_focal_crossentropy``
    swapped ``y_pred`` for the logits with ``from_logits=True``, so its focal factor was ``sigmoid(logits)``:
    another number (0.0122 against Keras's 0.000495 on the first row here)."""
    z = np.array([[2.0, -1.0], [0.3, 0.9], [-4.0, 3.0]])
    y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    with _precision("float64"):
        kz = tf.constant(z)
        with tf.GradientTape() as tape:
            tape.watch(kz)
            k_val = keras.losses.binary_focal_crossentropy(tf.constant(y), keras.activations.softmax(kz), gamma=2.0)
        k_grad = tape.gradient(k_val, kz).numpy()
        tz = torch.tensor(z, requires_grad=True)
        tp = torch.softmax(tz, -1)
        tp._keras_logits, tp._keras_activation = tz, "softmax"  # what torch_impl.fit hands a custom loss
        t = losses.binary_focal_crossentropy(torch.tensor(y), tp, gamma=2.0)
        t.sum().backward()
    print(f"binary_focal_crossentropy on softmax outputs: Keras {k_val.numpy()}, torch_impl {t.detach().numpy()}; "
          f"gradients {_rel(tz.grad.numpy(), k_grad):.1e}")
    assert _rel(t.detach().numpy(), k_val.numpy()) <= 1e-12
    assert _rel(tz.grad.numpy(), k_grad) <= 1e-10


# --------------------------------------------------------------------------------------------------------------
# 7. label smoothing
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", DTYPES)
def test_label_smoothing_like_keras(dt):
    """``loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1)`` on a softmax output: both
    ``torch_impl.losses.CategoricalCrossentropy(label_smoothing=0.1)`` and the usual port,
    ``nn.CrossEntropyLoss(label_smoothing=0.1)`` on the logits with integer targets, keep the standard (torch
    smooths with ``s / C`` as Keras; the gradient is ``softmax - y_smooth`` in both). Not so once a class weight
    joins: ``CrossEntropyLoss(weight=w, label_smoothing=0.1)`` weighs the smoothing term of each class by that
    class's weight and divides by the weights' sum; Keras's ``class_weight`` weighs the whole sample."""
    x, y = _multiclass(seed=11)
    x = x.astype(dt)
    Y = keras.utils.to_categorical(y).astype(dt)
    seed = 31
    with _precision(dt):
        model, kh = _keras_fit(seed, 3, "softmax", x, Y, keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
                               metrics=["accuracy"])
        k_prob = model.predict(x, verbose=0)
        net, th = _torch_fit(seed, 3, "softmax", x, Y, losses.CategoricalCrossentropy(label_smoothing=0.1),
                             metrics=["accuracy"])
        t_prob = tfit.predict(net, x, output_activation="softmax")
        ce = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
        _, th_usual = _torch_fit(seed, 3, None, x, Y, lambda y_true, z: ce(z, y_true.argmax(-1)))
        # with class weights, on the trained model's outputs
        w = np.array([0.5, 2.0, 4.0], dt)
        z = net(torch.from_numpy(x)).detach()
        k_val = float(keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(
            Y, keras.activations.softmax(tf.constant(z.numpy())), sample_weight=w[y]))
        t_val = float(losses.CategoricalCrossentropy(label_smoothing=0.1, from_logits=True)(
            torch.from_numpy(Y), z, sample_weight=torch.from_numpy(w[y])))
        u_val = float(torch.nn.CrossEntropyLoss(weight=torch.from_numpy(w), label_smoothing=0.1)(
            z, torch.from_numpy(y)))
    print(f"CategoricalCrossentropy(label_smoothing=0.1), {dt}:")
    _check_history(th, kh, dt)
    usual = _hist_rel(th_usual, kh)
    print(f"  predict max rel {_rel(t_prob, k_prob):.1e}; nn.CrossEntropyLoss(label_smoothing=0.1): loss history max "
          f"rel {usual:.1e}")
    print(f"  with class weights {w.tolist()}: Keras {k_val:.6f}, torch_impl {t_val:.6f} (rel "
          f"{abs(t_val - k_val) / k_val:.1e}), CrossEntropyLoss(weight, label_smoothing) {u_val:.6f}")
    assert _rel(t_prob, k_prob) <= (1e-12 if dt == "float64" else 1e-4)
    assert usual <= _tol(dt)
    assert abs(t_val - k_val) <= (1e-12 if dt == "float64" else 1e-5) * k_val
    assert abs(u_val - k_val) > 0.05 * k_val


# --------------------------------------------------------------------------------------------------------------
# 8. metrics=["accuracy"] on a multi-label sigmoid output
# --------------------------------------------------------------------------------------------------------------


def _multilabel(n: int = 240, seed: int = 12):
    from sklearn.datasets import make_multilabel_classification

    x, y = make_multilabel_classification(n_samples=n, n_features=6, n_classes=4, n_labels=2, random_state=seed)
    return (x - x.mean(0)) / x.std(0), y


@pytest.mark.parametrize("dt", DTYPES)
def test_accuracy_on_multilabel_sigmoid_like_keras(dt):
    """``Dense(4, activation="sigmoid")``, ``compile(loss="binary_crossentropy", metrics=["accuracy",
    "binary_accuracy"])`` on multi-hot labels. Keras 3 resolves ``"accuracy"`` from the shapes, not the loss:
    ``(N, 4)`` labels and a 4-unit output give ``CategoricalAccuracy``, ``argmax(y) == argmax(p)`` (all-zero rows
    count as class 0); ``binary_accuracy`` is the per-label figure. torch_impl.fit logs both as Keras; the usual
    torch accuracy, ``((torch.sigmoid(z) > 0.5).float() == y).float().mean()``, is ``binary_accuracy``, not the
    ``accuracy`` the Keras script prints."""
    x, y = _multilabel()
    x, y = x.astype(dt), y.astype(dt)
    seed = 37
    with _precision(dt):
        model, kh = _keras_fit(seed, 4, "sigmoid", x, y, "binary_crossentropy", metrics=["accuracy", "binary_accuracy"])
        k_eval = model.evaluate(x, y, verbose=0, return_dict=True)
        net, th = _torch_fit(seed, 4, "sigmoid", x, y, "binary_crossentropy", metrics=["accuracy", "binary_accuracy"])
        t_eval = tfit.evaluate(net, x, y, loss="binary_crossentropy", metrics=["accuracy", "binary_accuracy"],
                               output_activation="sigmoid")
        z = net(torch.from_numpy(x)).detach()
        usual = float(((torch.sigmoid(z) > 0.5).float() == torch.from_numpy(y)).float().mean())
        exact = float(((torch.sigmoid(z) > 0.5).float() == torch.from_numpy(y)).all(-1).float().mean())
    print(f"multi-label sigmoid, metrics=['accuracy', 'binary_accuracy'], {dt}:")
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt)
    print(f"  evaluate: Keras {k_eval}, torch_impl {t_eval}; the usual torch accuracy {usual:.6f} (exact-match "
          f"ratio {exact:.6f})")
    for k in k_eval:
        assert _rel(t_eval[k], k_eval[k]) <= _tol(dt)
    assert abs(usual - k_eval["binary_accuracy"]) <= 1e-6 and abs(usual - k_eval["accuracy"]) > 0.05


# --------------------------------------------------------------------------------------------------------------
# 9. K.mean(K.categorical_crossentropy(y_true, y_pred), axis=-1): the legacy backend on a softmax output
# --------------------------------------------------------------------------------------------------------------


def custom_cce(y_true, y_pred):
    """The custom-loss template of many answers."""
    return K.mean(K.categorical_crossentropy(y_true, y_pred), axis=-1)


def torch_custom_cce_legacy(y_true, y_pred):
    """Its port: ``K.categorical_crossentropy`` (legacy: the probabilities, normalised and clipped) written out."""
    p = y_pred / y_pred.sum(-1, keepdim=True)
    p = torch.clamp(p, 1e-7, 1 - 1e-7)
    return torch.mean(-(y_true * torch.log(p)).sum(-1), -1)


def torch_custom_cce_keras3(y_true, y_pred):
    """The port a torch_impl user writes first: ``torch_impl.losses.categorical_crossentropy`` is Keras 3's
    ``keras.losses.categorical_crossentropy``, which, on ``torch_impl.fit``'s softmax output, takes the logits."""
    return torch.mean(losses.categorical_crossentropy(y_true, y_pred), -1)


@pytest.mark.parametrize("dt", DTYPES)
def test_k_mean_k_categorical_crossentropy_like_keras(dt):
    """``model.compile(loss=custom_cce, optimizer="adam")`` on a softmax output, on unscaled features (x20) that
    saturate it: some true-class probabilities start below 1e-7. ``K.categorical_crossentropy`` (Keras 3's
    ``tf.keras.backend``, the legacy backend) computes from the clipped probabilities, so those samples give no
    gradient; the built-in ``"categorical_crossentropy"`` (and ``keras.losses.categorical_crossentropy`` in a
    custom loss) take the logits behind the softmax. The written-out legacy port keeps the standard;
    ``torch_impl.losses.categorical_crossentropy`` in the closure matches Keras's built-in instead, far from the
    script's run."""
    x, y = _multiclass(seed=14, scale=20.0)
    x = x.astype(dt)
    Y = keras.utils.to_categorical(y).astype(dt)
    seed = 41
    with _precision(dt):
        model, kh = _keras_fit(seed, 3, "softmax", x, Y, custom_cce)
        k_prob = model.predict(x, verbose=0)
        _, kh_builtin = _keras_fit(seed, 3, "softmax", x, Y, "categorical_crossentropy")
        net, th = _torch_fit(seed, 3, "softmax", x, Y, torch_custom_cce_legacy)
        t_prob = tfit.predict(net, x, output_activation="softmax")
        _, th_k3 = _torch_fit(seed, 3, "softmax", x, Y, torch_custom_cce_keras3)
        p0 = torch.softmax(keras_init_(_torch_mlp(3), seed=seed)(torch.from_numpy(x)), -1)
        clipped = int((p0[torch.arange(len(y)), torch.from_numpy(y)] < 1e-7).sum())
    print(f"K.mean(K.categorical_crossentropy(...), axis=-1) on a saturated softmax, {dt}: {clipped} of {len(y)} "
          f"true-class probabilities below 1e-7 at the start")
    _check_history(th, kh, dt)
    r = _rel(t_prob, k_prob) if dt == "float64" else float(np.max(np.abs(t_prob - k_prob)))  # float32: underflows
    builtin, k3 = _hist_rel(kh_builtin, kh), _hist_rel(th_k3, kh)
    print(f"  predict max {'rel' if dt == 'float64' else 'abs'} {r:.1e}; Keras built-in 'categorical_crossentropy' "
          f"vs the script: loss history max rel "
          f"{builtin:.2f} ({np.round(kh_builtin['loss'], 2).tolist()} against {np.round(kh['loss'], 2).tolist()}); "
          f"torch_impl.losses.categorical_crossentropy port: {k3:.2f}, the built-in's run within "
          f"{_hist_rel(th_k3, kh_builtin):.1e}")
    assert clipped > 0
    assert r <= (1e-10 if dt == "float64" else 1e-4)
    assert builtin > 0.1 and k3 > 0.1 and _hist_rel(th_k3, kh_builtin) <= _tol(dt)


# --------------------------------------------------------------------------------------------------------------
# 10. model.evaluate with sample_weight, and the averages people compute by hand
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_evaluate_with_sample_weight_and_hand_averages(dt):
    """``model.evaluate(x, y, sample_weight=compute_sample_weight("balanced", y), return_dict=True)`` with
    ``metrics=["accuracy"]``, ``weighted_metrics=["accuracy"]``: torch_impl.evaluate gives the same dict. By hand:
    Keras's loss is ``sum(w * l) / N`` (``np.average(l, weights=w)`` divides by ``sum(w)``, another number in
    general, but the "balanced" weights sum to N); with "balanced" weights it equals the mean of the per-class
    mean losses, and the weighted accuracy is scikit-learn's ``balanced_accuracy_score``."""
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.utils.class_weight import compute_sample_weight

    x, y = _multiclass(n=250, seed=15)
    x = x.astype(dt)
    sw = compute_sample_weight("balanced", y)
    other = np.where(y == 0, 1.0, 5.0)  # a hand-made weighting whose sum is not N
    seed = 43
    with _precision(dt):
        model, _ = _keras_fit(seed, 3, "softmax", x, y, "sparse_categorical_crossentropy", epochs=2)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      weighted_metrics=["accuracy"])
        k_eval = model.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
        k_other = model.evaluate(x, y, sample_weight=other, verbose=0, return_dict=True)
        net, _ = _torch_fit(seed, 3, "softmax", x, y, "sparse_categorical_crossentropy", epochs=2)
        kw = dict(loss="sparse_categorical_crossentropy", metrics=["accuracy"], weighted_metrics=["accuracy"],
                  output_activation="softmax")
        t_eval = tfit.evaluate(net, x, y, sample_weight=sw, **kw)
        t_other = tfit.evaluate(net, x, y, sample_weight=other, **kw)
        p = model.predict(x, verbose=0)
        per_sample = keras.losses.sparse_categorical_crossentropy(y, p).numpy().astype("float64")
    per_class = [float(per_sample[y == c].mean()) for c in range(3)]
    by_hand = {"sum(w*l)/N": float(np.sum(other * per_sample) / len(y)),
               "np.average(l, weights=w)": float(np.average(per_sample, weights=other))}
    macro = float(np.mean(per_class))
    bal = balanced_accuracy_score(y, p.argmax(-1))
    print(f"evaluate with sample_weight, {dt}: 'balanced' Keras {k_eval}, torch_impl {t_eval}; weights 1/5 Keras "
          f"{k_other}, torch_impl {t_other}")
    print(f"  by hand (weights 1/5): {by_hand}; per-class mean losses {np.round(per_class, 6).tolist()}, their mean "
          f"{macro:.8f} against Keras's balanced-weight loss {k_eval['loss']:.8f}; balanced_accuracy_score {bal:.6f} "
          f"against Keras's weighted_accuracy {k_eval['weighted_accuracy']:.6f}")
    for k in k_eval:
        assert _rel(t_eval[k], k_eval[k]) <= (1e-12 if dt == "float64" else 1e-6), k
        assert _rel(t_other[k], k_other[k]) <= (1e-12 if dt == "float64" else 1e-6), k
    tol = 1e-12 if dt == "float64" else 1e-5
    assert abs(by_hand["sum(w*l)/N"] - k_other["loss"]) <= tol * k_other["loss"]
    assert abs(by_hand["np.average(l, weights=w)"] - k_other["loss"]) > 0.1 * k_other["loss"]
    assert abs(macro - k_eval["loss"]) <= tol * macro and abs(bal - k_eval["weighted_accuracy"]) <= tol

"""Keras-side losses: the community focal loss and name-based construction.

Every Keras loss is Keras's own (``keras.losses``); this
module adds the classic community binary focal loss exactly as it circulates
(``focal_loss(gamma=2., alpha=.25)``, the pt_1/pt_0 form, clip 1e-7, summed) and
:func:`make_loss`, which builds a Keras loss from the same name and options the
PyTorch side uses (``torch_impl.losses.make``).

Example:
    >>> import numpy as np
    >>> from keras_impl.losses import focal_loss, make_loss
    >>> float(focal_loss()(np.array([[0., 1.]], "float32"), np.array([[0.3, 0.8]], "float32")))
    0.0...
    >>> make_loss("categorical_crossentropy", from_logits=True).from_logits
    True
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras.src.losses.losses import LossFunctionWrapper  # what compile(loss=fn) builds

__all__ = ["focal_loss", "make_loss", "LOSS_CLASSES", "with_upstream_fixes"]

#: Keras name -> Keras class, the same names as ``torch_impl.losses.make``.
LOSS_CLASSES = {
    "categorical_crossentropy": keras.losses.CategoricalCrossentropy,
    "sparse_categorical_crossentropy": keras.losses.SparseCategoricalCrossentropy,
    "binary_crossentropy": keras.losses.BinaryCrossentropy,
    "binary_focal_crossentropy": keras.losses.BinaryFocalCrossentropy,
    "categorical_focal_crossentropy": keras.losses.CategoricalFocalCrossentropy,
    "mean_squared_error": keras.losses.MeanSquaredError,
    "mean_absolute_error": keras.losses.MeanAbsoluteError,
    "mean_absolute_percentage_error": keras.losses.MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": keras.losses.MeanSquaredLogarithmicError,
    "cosine_similarity": keras.losses.CosineSimilarity,
    "huber": keras.losses.Huber,
    "log_cosh": keras.losses.LogCosh,
    "hinge": keras.losses.Hinge,
    "squared_hinge": keras.losses.SquaredHinge,
    "categorical_hinge": keras.losses.CategoricalHinge,
    "kl_divergence": keras.losses.KLDivergence,
    "poisson": keras.losses.Poisson,
    "dice": keras.losses.Dice,
    "tversky": keras.losses.Tversky,
    "circle": keras.losses.Circle,
    "categorical_generalized_cross_entropy": keras.losses.CategoricalGeneralizedCrossEntropy,
    "ctc": keras.losses.CTC,
}


def focal_loss(gamma: float = 2.0, alpha: float = 0.25):
    """The community binary focal loss, verbatim in behaviour (not part of Keras).

    Returns ``focal_loss_fixed(y_true, y_pred)``, a scalar summed over every
    element. Use it as ``model.compile(loss=focal_loss())``.
    """

    def focal_loss_fixed(y_true, y_pred):
        y_pred = tf.convert_to_tensor(y_pred)
        y_true = tf.cast(y_true, y_pred.dtype)
        pt_1 = tf.where(tf.equal(y_true, 1), y_pred, tf.ones_like(y_pred))
        pt_0 = tf.where(tf.equal(y_true, 0), y_pred, tf.zeros_like(y_pred))
        epsilon = 1e-7
        pt_1 = tf.clip_by_value(pt_1, epsilon, 1.0 - epsilon)
        pt_0 = tf.clip_by_value(pt_0, epsilon, 1.0 - epsilon)
        return -tf.reduce_sum(alpha * tf.pow(1.0 - pt_1, gamma) * tf.math.log(pt_1)) - tf.reduce_sum(
            (1 - alpha) * tf.pow(pt_0, gamma) * tf.math.log(1 - pt_0)
        )

    return focal_loss_fixed


def with_upstream_fixes(name: str, config: dict) -> dict:
    """The Keras 3.15.1 options that compute what Keras's later fixes (which torch_impl follows, DESIGN.md) compute
    for ``config``: ``tversky`` swaps ``alpha`` and ``beta`` (keras-team/keras#23333: 3.15.1 weighs the false
    negatives by ``alpha``, against its own documentation)."""
    if name != "tversky":
        return config
    config = dict(config)
    alpha, beta = config.pop("alpha", 0.5), config.pop("beta", 0.5)
    return {**config, "alpha": beta, "beta": alpha}


def make_loss(name: str, **config) -> keras.losses.Loss:
    """A Keras loss instance from its snake_case name and constructor options (with :func:`with_upstream_fixes`)."""
    config = with_upstream_fixes(name, config)
    if name == "focal_loss":
        fn_kwargs = {k: config.pop(k) for k in ("gamma", "alpha") if k in config}
        return LossFunctionWrapper(focal_loss(**fn_kwargs), **config)
    try:
        cls = LOSS_CLASSES[name]
    except KeyError:
        raise ValueError(f"Unknown loss {name!r}. Known: {sorted(LOSS_CLASSES) + ['focal_loss']}") from None
    return cls(**config)

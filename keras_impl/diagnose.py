"""Training diagnostics for Keras models (the training doctor's measurements), TensorFlow backend.

Example:
    >>> import numpy as np
    >>> from keras_impl.diagnose import layer_gradient_norms
    >>> from keras_impl.models import build_model
    >>> m = build_model({"input_dim": 3, "layers": [{"type": "dense", "units": 2, "activation": "softmax"}]})
    >>> len(layer_gradient_norms(m, np.ones((4, 3), "float32"), np.array([0, 1, 0, 1]),
    ...                          "sparse_categorical_crossentropy"))
    1
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from keras_impl.losses import make_loss

__all__ = ["layer_gradient_norms"]


def layer_gradient_norms(model, x, y, loss, sample_weight=None) -> list[tuple[str, float]]:
    """L2 norm of d(loss)/d(kernel) for every Dense layer, whole batch, training mode; state restored."""
    if isinstance(loss, str):
        loss = make_loss(loss)
    elif isinstance(loss, tuple):
        loss = make_loss(loss[0], **loss[1])
    saved = model.get_weights()
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    kernels = [layer.kernel for layer in dense]
    xt = tf.constant(np.asarray(x, dtype=model.inputs[0].dtype if model.inputs else None))
    try:
        with tf.GradientTape() as tape:
            value = loss(y, model(xt, training=True), sample_weight=sample_weight)
        grads = tape.gradient(value, kernels)
    finally:
        model.set_weights(saved)
    return [(layer.name, float(tf.norm(g))) for layer, g in zip(dense, grads)]

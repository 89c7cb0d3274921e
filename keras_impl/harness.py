"""NumPy in, NumPy out: evaluate a Keras loss and its gradient w.r.t. ``y_pred``.

The reference side of the loss-parity grid. ``torch_impl.harness`` has the same
function for PyTorch; ``scenarios.loss_parity`` runs both on the same arrays.

Example:
    >>> import numpy as np
    >>> from keras_impl.harness import loss_value_and_grad
    >>> r = loss_value_and_grad("categorical_crossentropy", {"from_logits": True},
    ...                         np.eye(3), np.zeros((3, 3)), dtype="float64")
    >>> round(float(r["value"]), 6), r["grad"].shape
    (1.098612, (3, 3))
"""

from __future__ import annotations

from typing import Any, Optional

import keras
import numpy as np
import tensorflow as tf

from keras_impl.losses import focal_loss, make_loss, with_upstream_fixes

__all__ = ["loss_value_and_grad"]

_FN_KEYS = {"reduction", "name", "dtype"}


def _functional(name: str):
    if name == "focal_loss":
        return lambda y_true, y_pred, **kw: focal_loss(**kw)(y_true, y_pred)
    return getattr(keras.losses, name)


def loss_value_and_grad(
    name: str,
    config: dict,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    sample_weight: Optional[np.ndarray] = None,
    *,
    dtype: str = "float32",
    input_dtype: Optional[str] = None,
    functional: bool = False,
    cotangent_seed: Optional[int] = None,
) -> dict[str, Any]:
    """Loss value and d(loss)/d(y_pred) from Keras on TensorFlow.

    Args:
        name: snake_case loss name (``"binary_crossentropy"``, ``"focal_loss"``, ...).
        config: constructor options (``reduction`` too) or, with ``functional``,
            the function's keyword arguments.
        dtype: the loss's compute dtype (``dtype=`` of the Keras loss).
        input_dtype: dtype of the ``y_pred`` variable (e.g. ``"bfloat16"``);
            defaults to ``dtype``.
        functional: call ``keras.losses.<name>`` instead of the class.
        cotangent_seed: seeds the incoming gradient of a non-scalar loss,
            ``np.random.default_rng(seed).normal(size=loss.shape)`` (default: ones).

    Returns:
        ``{"value", "grad", "error"}``: arrays, or ``error=(type name, message)``
        when Keras raised.
    """
    input_dtype = input_dtype or dtype
    # float16 is rounded straight from float64 (NumPy), bfloat16 from float32.
    arr = np.asarray(y_pred, dtype=np.float64)
    x = tf.Variable(arr.astype(input_dtype) if input_dtype != "bfloat16"
                    else tf.cast(arr.astype(np.float32), tf.bfloat16))
    try:
        with tf.GradientTape() as tape:
            if functional:
                kwargs = with_upstream_fixes(name, {k: v for k, v in config.items() if k not in _FN_KEYS})
                xp = tf.cast(x, dtype)
                value = _functional(name)(y_true, xp, **kwargs)
            else:
                loss = make_loss(name, dtype=dtype, **config)
                value = loss(y_true, x, sample_weight=sample_weight)
        if value.shape.rank == 0 or cotangent_seed is None:
            grad = tape.gradient(value, x)
        else:
            cot = np.random.default_rng(cotangent_seed).normal(size=tuple(value.shape))
            grad = tape.gradient(value, x, output_gradients=tf.constant(cot, dtype=value.dtype))
    except (ValueError, TypeError, IndexError, tf.errors.InvalidArgumentError) as e:
        return {"value": None, "grad": None, "error": (type(e).__name__, str(e))}
    g = np.zeros(x.shape, np.float64) if grad is None else np.asarray(tf.cast(grad, tf.float64))
    return {"value": np.asarray(value), "grad": g, "error": None}

"""Keras metrics with the upstream fixes torch_impl follows (DESIGN.md: where released Keras has a bug fixed
upstream, follow the fix): the reference the parity tests compare ``torch_impl.metrics`` with.

* ``R2Score``: keras-team/keras#23334, the adjusted score's ``n`` counts samples (rows); Keras 3.15.1 counts every
  value (``N * D``), which differs for several output columns.
* ``FBetaScore`` / ``F1Score``: keras-team/keras#23335, a sample weight multiplies the values element-wise: a scalar,
  ``(N,)`` (per row), ``(N, 1)`` or ``(N, C)``; Keras 3.15.1 multiplies by ``expand_dims(w, 1)``, which raises
  for a scalar and crosses every pair of rows for 2-D weights.

:func:`keras_metric_class` gives the fixed class for these names and ``keras.metrics``' own class otherwise.
"""

from __future__ import annotations

import keras
from keras import ops

__all__ = ["R2Score", "FBetaScore", "F1Score", "keras_metric_class"]


class R2Score(keras.metrics.R2Score):
    """``keras.metrics.R2Score`` with keras-team/keras#23334: ``num_samples`` grows by the rows of ``y_true``."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(y_true, y_pred, sample_weight=sample_weight)  # adds ops.size(y_true)
        y_true = ops.convert_to_tensor(y_true)
        rows = ops.shape(y_true)[0] if len(y_true.shape) else 1
        dt = self.num_samples.dtype
        self.num_samples.assign(self.num_samples - ops.cast(ops.size(y_true), dt) + ops.cast(rows, dt))


class FBetaScore(keras.metrics.FBetaScore):
    """``keras.metrics.FBetaScore`` with keras-team/keras#23335: element-wise sample weights."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        if sample_weight is None:
            return super().update_state(y_true, y_pred)
        y_true = ops.convert_to_tensor(y_true, dtype=self.dtype)
        y_pred = ops.convert_to_tensor(y_pred, dtype=self.dtype)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        if self.threshold is None:
            top = ops.max(y_pred, axis=-1, keepdims=True)
            y_pred = ops.logical_and(y_pred >= top, ops.abs(y_pred) > 1e-9)
        else:
            y_pred = y_pred > self.threshold
        y_pred = ops.cast(y_pred, self.dtype)
        y_true = ops.cast(y_true, self.dtype)
        w = ops.convert_to_tensor(sample_weight, dtype=self.dtype)
        if len(w.shape) == 1:
            w = ops.expand_dims(w, 1)

        def weighted_sum(val):
            return ops.sum(ops.multiply(val, w), axis=self.axis)

        self.true_positives.assign(self.true_positives + weighted_sum(y_pred * y_true))
        self.false_positives.assign(self.false_positives + weighted_sum(y_pred * (1 - y_true)))
        self.false_negatives.assign(self.false_negatives + weighted_sum((1 - y_pred) * y_true))
        self.intermediate_weights.assign(self.intermediate_weights + weighted_sum(y_true))


class F1Score(FBetaScore):
    """``keras.metrics.F1Score`` (``FBetaScore`` with ``beta=1``) with keras-team/keras#23335."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config


_FIXED = {"R2Score": R2Score, "FBetaScore": FBetaScore, "F1Score": F1Score}


def keras_metric_class(name: str):
    """The Keras metric class ``name``, with the upstream fixes torch_impl follows."""
    return _FIXED.get(name) or getattr(keras.metrics, name)

"""Keras metrics with the upstream fixes torch_impl follows (DESIGN.md: where released Keras has a bug fixed
upstream, follow the fix): the reference the parity tests compare ``torch_impl.metrics`` with.

* ``R2Score``: keras-team/keras#23334, the adjusted score's ``n`` counts samples (rows); Keras 3.15.1 counts every
  value (``N * D``), which differs for several output columns.

:func:`keras_metric_class` gives the fixed class for these names and ``keras.metrics``' own class otherwise.
"""

from __future__ import annotations

import keras
from keras import ops

__all__ = ["R2Score", "keras_metric_class"]


class R2Score(keras.metrics.R2Score):
    """``keras.metrics.R2Score`` with keras-team/keras#23334: ``num_samples`` grows by the rows of ``y_true``."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(y_true, y_pred, sample_weight=sample_weight)  # adds ops.size(y_true)
        y_true = ops.convert_to_tensor(y_true)
        rows = ops.shape(y_true)[0] if len(y_true.shape) else 1
        dt = self.num_samples.dtype
        self.num_samples.assign(self.num_samples - ops.cast(ops.size(y_true), dt) + ops.cast(rows, dt))


_FIXED = {"R2Score": R2Score}


def keras_metric_class(name: str):
    """The Keras metric class ``name``, with the upstream fixes torch_impl follows."""
    return _FIXED.get(name) or getattr(keras.metrics, name)

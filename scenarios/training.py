"""Framework-neutral training runs: model spec, loss, optimizer, data, initial
weights and batch order (NumPy only).

A :class:`TrainingRun` holds everything both frameworks need to train the
same model from the same start: the layer spec (read by
``torch_impl.nn.build_model`` and ``keras_impl.models.build_model``), Keras-layout
initial weights drawn here with Keras's default initialisers, and the
per-epoch permutations. :mod:`scenarios.runner` trains it in each framework
and :func:`compare_histories` compares the results.

Example:
    >>> from scenarios.training import TrainingRun, initial_weights
    >>> spec = {"input_dim": 3, "layers": [{"type": "dense", "units": 2, "activation": "softmax"}]}
    >>> [w.shape for w in initial_weights(spec, seed=0)]
    [(3, 2), (2,)]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

__all__ = ["TrainingRun", "initial_weights", "epoch_orders", "compare_histories", "TRAJECTORY_TOLERANCE"]

#: dtype -> relative tolerance of every per-epoch loss/accuracy value
TRAJECTORY_TOLERANCE = {"float64": 1e-8, "float32": 1e-3}


def initial_weights(spec: dict, seed: int, dtype: str = "float64") -> list[np.ndarray]:
    """Keras-layout initial weights: glorot_uniform kernels, zero biases, BN (1, 0, 0, 1)."""
    rng = np.random.default_rng(seed)
    width = int(spec["input_dim"])
    out: list[np.ndarray] = []
    for layer in spec["layers"]:
        if layer["type"] == "dense":
            units = int(layer["units"])
            limit = np.sqrt(6.0 / (width + units))
            out.append(rng.uniform(-limit, limit, size=(width, units)).astype(dtype))
            if layer.get("use_bias", True):
                out.append(np.zeros(units, dtype))
            width = units
        elif layer["type"] == "batchnorm":
            out += [np.ones(width, dtype), np.zeros(width, dtype), np.zeros(width, dtype), np.ones(width, dtype)]
    return out


def epoch_orders(n: int, epochs: int, seed: int, shuffle: bool = True) -> list[np.ndarray]:
    """The permutations ``torch_impl.fit.fit(generator=seed)`` draws: one per epoch."""
    rng = np.random.default_rng(seed)
    return [rng.permutation(n) if shuffle else np.arange(n) for _ in range(epochs)]


@dataclass
class TrainingRun:
    """One training configuration, run identically in both frameworks."""

    name: str
    model: dict
    loss: tuple  # (keras loss name, config)
    optimizer: tuple  # (name, config): adam / sgd / rmsprop
    x: np.ndarray
    y: np.ndarray
    batch_size: int = 32
    epochs: int = 20
    seed: int = 0
    class_weight: Optional[dict] = None
    dtype: str = "float64"
    shuffle: bool = True
    weights: Optional[list] = field(default=None, repr=False)
    validation: Optional[tuple] = field(default=None, repr=False)  # (x_val, y_val)
    x_test: Optional[np.ndarray] = field(default=None, repr=False)  # outputs reported after training
    measure_gradients: bool = False  # per-layer gradient norms at the start
    doctor: bool = False  # the training doctor's measurements (setup facts, one record per epoch)

    def initial_weights(self) -> list[np.ndarray]:
        return self.weights if self.weights is not None else initial_weights(self.model, self.seed, self.dtype)

    def orders(self) -> list[np.ndarray]:
        return epoch_orders(len(self.x), self.epochs, self.seed, self.shuffle)


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = np.maximum(np.abs(b), 1e-300)
    return float(np.max(np.abs(a - b) / scale)) if a.size else 0.0


def compare_histories(ours: dict, ref: dict, dtype: str) -> dict[str, Any]:
    """Per-metric worst relative difference, and whether the design's standard holds.

    float64: every epoch's loss and accuracy within 1e-8 relative; float32: the
    final loss within 1e-3 relative and the same predicted classes (checked by
    the caller from the predictions).
    """
    tol = TRAJECTORY_TOLERANCE[dtype]
    out: dict[str, Any] = {"per_metric": {}, "passed": True}
    for key in sorted(set(ours) & set(ref)):
        a, b = np.asarray(ours[key]), np.asarray(ref[key])
        if a.shape != b.shape:
            out["per_metric"][key] = float("inf")
            out["passed"] = False
            continue
        rel = _rel(a, b) if dtype == "float64" else _rel(a[-1:], b[-1:])
        out["per_metric"][key] = rel
        out["passed"] &= bool(rel <= tol)
    missing = set(ref) ^ set(ours)
    if missing:
        out["passed"] = False
        out["missing"] = sorted(missing)
    return out

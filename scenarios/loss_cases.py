"""The loss-parity grid: framework-neutral cases (NumPy only).

A :class:`LossCase` names a loss, its options, a dtype, a shape/axis layout, an
input kind (random or an edge case) and a sample-weight kind; :meth:`LossCase.arrays`
draws the NumPy inputs deterministically from the case's seed. Both frameworks
evaluate the same arrays (``keras_impl.harness`` / ``torch_impl.harness``) and
:mod:`scenarios.loss_parity` compares them.

:func:`full_grid` is the whole cartesian product (the ``slow`` suite);
:func:`default_grid` covers every value of every axis against a rotating choice
of the others (the default suite), and every edge input for every loss.

Example:
    >>> from scenarios.loss_cases import default_grid
    >>> cases = default_grid()
    >>> c = cases[0]
    >>> y_true, y_pred, sw = c.arrays()
    >>> y_pred.shape == c.pred_shape
    True
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field, replace
from typing import Any, Optional

import numpy as np

__all__ = [
    "LOSSES",
    "REDUCTIONS",
    "LossCase",
    "default_grid",
    "full_grid",
    "EPS",
]

EPS = 1e-7
CATEGORICAL = ("categorical_crossentropy", "categorical_focal_crossentropy")
SPARSE = ("sparse_categorical_crossentropy",)
BINARY = ("binary_crossentropy", "binary_focal_crossentropy", "focal_loss")
LOSSES = CATEGORICAL + SPARSE + BINARY
REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)
DTYPES = ("float64", "float32", "bfloat16", "float16")
SAMPLE_WEIGHTS = ("none", "scalar", "per_sample", "per_sample_col", "per_element", "zeros")

# Layouts: (name, prediction shape, class/feature axis)
LAYOUTS = {
    "rank1": ((5,), -1),
    "rank2": ((6, 5), -1),
    "rank3": ((3, 4, 5), -1),
    "rank4": ((2, 3, 2, 5), -1),
    "rank3_axis1": ((3, 5, 4), 1),
    "rank4_axis1": ((2, 5, 3, 2), 1),
}

# Edge inputs. Each applies to the loss families listed.
EDGES = {
    "random": LOSSES,
    "probs_0_1": LOSSES,  # exact 0 and 1 predictions
    "at_clip": LOSSES,  # predictions exactly at 1e-7 and 1-1e-7 (float32 values)
    "logits_100": LOSSES,  # logits +-100
    "zero_rows": CATEGORICAL + BINARY,  # target rows of all zeros
    "single_class": LOSSES,  # every sample in one class
    "soft_targets": CATEGORICAL + BINARY,  # probability targets, not one-hot
    "ignore_all": SPARSE,  # every label is ignore_class
    "empty": LOSSES,  # batch of 0 samples
}


def _f32(x: float) -> float:
    return float(np.float32(x))


@dataclass(frozen=True)
class LossCase:
    loss: str
    config: dict = field(default_factory=dict, hash=False, compare=False)
    dtype: str = "float32"
    layout: str = "rank2"
    edge: str = "random"
    sample_weight: str = "none"
    functional: bool = False

    # ----- derived -----
    @property
    def config_key(self) -> str:
        return ",".join(f"{k}={v}" for k, v in sorted(self.config.items(), key=lambda kv: kv[0]) if k != "reduction")

    @property
    def id(self) -> str:
        red = self.config.get("reduction", "sum_over_batch_size")
        f = "fn" if self.functional else str(red)
        return f"{self.loss}[{self.config_key}]-{f}-{self.dtype}-{self.layout}-{self.edge}-sw_{self.sample_weight}"

    @property
    def compute_dtype(self) -> str:
        return "float64" if self.dtype == "float64" else "float32"

    @property
    def axis(self) -> int:
        return LAYOUTS[self.layout][1]

    @property
    def pred_shape(self) -> tuple:
        shape = LAYOUTS[self.layout][0]
        if self.edge == "empty":
            shape = (0,) + shape[1:] if len(shape) > 1 else (0,)
        return shape

    @property
    def seed(self) -> int:
        return int.from_bytes(hashlib.sha256(self.id.encode()).digest()[:4], "little")

    @property
    def axis_is_last(self) -> bool:
        return self.axis % len(self.pred_shape) == len(self.pred_shape) - 1

    @property
    def reference(self) -> str:
        """Which Keras computation is the reference for this case.

        * ``"tensorflow"``: Keras 3.15.1 on TensorFlow, as is.
        * ``"tensorflow_axis_last"``: Keras on TensorFlow with the class axis moved
          last, for the cases where Keras 3.15.1 mishandles ``axis != -1`` (label
          smoothing counts classes along the last axis; a per-class ``alpha``
          broadcasts along the last axis). That is the fixed behaviour we follow.
        * ``"keras_torch_backend"``: Keras on its torch backend, the only one that
          supports sparse crossentropy with a class axis other than the last.
        """
        if self.axis_is_last:
            return "tensorflow"
        if self.loss in SPARSE:
            return "keras_torch_backend"
        if self.loss in CATEGORICAL and (
            self.config.get("label_smoothing") or isinstance(self.config.get("alpha"), list)
        ):
            return "tensorflow_axis_last"
        return "tensorflow"

    def with_config(self, **kw) -> "LossCase":
        return replace(self, config={**self.config, **kw})

    def full_config(self) -> dict:
        cfg = dict(self.config)
        if self.loss != "focal_loss" and (self.layout != "rank2" or self.axis != -1):
            cfg.setdefault("axis", self.axis)
        return cfg

    # ----- data -----
    def arrays(self) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        """(y_true, y_pred, sample_weight) as float64/int64 NumPy arrays."""
        rng = np.random.default_rng(self.seed)
        shape = self.pred_shape
        axis = self.axis % len(shape)
        n_classes = shape[axis]
        y_pred = self._predictions(rng, shape, axis, bool(self.config.get("from_logits", False)))
        y_true = self._targets(rng, shape, axis, n_classes)
        sw = self._sample_weight(rng, shape, axis)
        return y_true, y_pred, sw

    def _predictions(self, rng, shape, axis, from_logits):
        edge = self.edge
        if from_logits:
            z = rng.normal(scale=3.0, size=shape)
            if edge == "logits_100":
                z = np.where(rng.uniform(size=shape) < 0.5, 100.0, -100.0)
                z = np.where(rng.uniform(size=shape) < 0.2, rng.normal(size=shape), z)
            elif edge in ("probs_0_1", "at_clip"):
                z = z * 10.0  # saturates sigmoid/softmax in float32
            return z
        if self.loss in BINARY:
            p = rng.uniform(0.02, 0.98, size=shape)
        else:
            p = rng.gamma(1.0, size=shape) + 1e-3
            p = p / p.sum(axis=axis, keepdims=True)
        mask = rng.uniform(size=shape)
        if edge == "probs_0_1":
            p = np.where(mask < 0.25, 0.0, np.where(mask > 0.8, 1.0, p))
        elif edge == "at_clip":
            p = np.where(mask < 0.3, _f32(EPS), np.where(mask > 0.7, _f32(1 - EPS), p))
        elif edge == "logits_100":
            # the probability analogue: outputs saturated far beyond the clip
            p = np.where(mask < 0.4, 1e-30, np.where(mask > 0.7, 1.0 - 1e-12, p))
        return p

    def _targets(self, rng, shape, axis, n_classes):
        edge = self.edge
        if self.loss in SPARSE:
            label_shape = tuple(np.delete(shape, axis))
            y = rng.integers(0, max(n_classes, 1), size=label_shape)
            if edge == "single_class":
                y = np.full(label_shape, 1 % max(n_classes, 1))
            ig = self.config.get("ignore_class")
            if ig is not None:
                if edge == "ignore_all":
                    y = np.full(label_shape, ig)
                else:
                    y = np.where(rng.uniform(size=label_shape) < 0.3, ig, y)
            return y.astype(np.int64)
        if self.loss in CATEGORICAL:
            idx = rng.integers(0, max(n_classes, 1), size=tuple(np.delete(shape, axis)))
            if edge == "single_class":
                idx[...] = 0
            y = np.moveaxis(np.eye(n_classes)[idx], -1, axis) if n_classes else np.zeros(shape)
            if edge == "zero_rows":
                rows = rng.uniform(size=idx.shape) < 0.5
                y = y * np.expand_dims(~rows, axis)
            elif edge == "soft_targets":
                y = rng.dirichlet(np.ones(n_classes), size=idx.shape)
                y = np.moveaxis(y, -1, axis)
            return y
        # binary
        y = (rng.uniform(size=shape) < 0.5).astype(np.float64)
        if edge == "single_class":
            y[...] = 1.0
        elif edge == "zero_rows":
            y[...] = 0.0
        elif edge == "soft_targets":
            y = rng.uniform(size=shape)
        return y

    def loss_shape(self) -> tuple:
        shape = self.pred_shape
        if self.loss == "focal_loss":
            return ()
        axis = self.axis % len(shape)
        return tuple(np.delete(shape, axis)) if len(shape) else ()

    def _sample_weight(self, rng, shape, axis):
        kind = self.sample_weight
        if kind == "none":
            return None
        if kind == "scalar":
            return np.array(0.7)
        lshape = self.loss_shape()
        n = shape[0] if len(shape) > 1 else 1
        if kind == "per_sample":
            return rng.uniform(0.1, 2.0, size=(n,)) if lshape else rng.uniform(0.1, 2.0, size=(1,))
        if kind == "per_sample_col":
            return rng.uniform(0.1, 2.0, size=(n, 1))
        if kind == "per_element":
            return rng.uniform(0.1, 2.0, size=lshape if lshape else (1,))
        if kind == "zeros":
            return np.zeros(lshape if lshape else (1,))
        raise ValueError(kind)


def _configs(loss: str) -> list[dict]:
    """Option sets per loss (reduction is added separately)."""
    if loss == "categorical_crossentropy":
        return [dict(from_logits=f, label_smoothing=s) for f in (False, True) for s in (0.0, 0.1)]
    if loss == "sparse_categorical_crossentropy":
        return [dict(from_logits=f, ignore_class=i) for f in (False, True) for i in (None, -1, 0)]
    if loss == "binary_crossentropy":
        return [dict(from_logits=f, label_smoothing=s) for f in (False, True) for s in (0.0, 0.2)]
    if loss == "binary_focal_crossentropy":
        return [
            dict(from_logits=f, apply_class_balancing=b, gamma=g, label_smoothing=s)
            for f in (False, True)
            for b, g, s in ((False, 2.0, 0.0), (True, 2.0, 0.1), (True, 0.5, 0.0), (False, 0.0, 0.0))
        ]
    if loss == "categorical_focal_crossentropy":
        return [
            dict(from_logits=f, alpha=a, gamma=g, label_smoothing=s)
            for f in (False, True)
            for a, g, s in ((0.25, 2.0, 0.0), ([0.1, 0.2, 0.3, 0.15, 0.25], 3.0, 0.1), (0.5, 0.0, 0.0))
        ]
    if loss == "focal_loss":
        return [dict(gamma=2.0, alpha=0.25), dict(gamma=0.5, alpha=0.75)]
    raise ValueError(loss)


def _layouts(loss: str) -> list[str]:
    if loss == "focal_loss":
        return ["rank1", "rank2", "rank3"]
    return list(LAYOUTS)


def full_grid() -> list[LossCase]:
    """The broad grid of the ``slow`` suite (a few thousand cases).

    Per loss and option set: every reduction x sample-weight kind x dtype (the
    layout rotating), and every layout x edge input x dtype (the reduction and
    sample weight rotating), plus the functional form in every dtype x layout.
    """
    out = []
    for loss in LOSSES:
        layouts = _layouts(loss)
        for cfg in _configs(loss):
            for i, (red, sw, dt) in enumerate(itertools.product(REDUCTIONS, SAMPLE_WEIGHTS, DTYPES)):
                out.append(LossCase(loss, {**cfg, "reduction": red}, dt, layouts[i % len(layouts)], "random", sw))
            edges = [e for e in EDGES if loss in EDGES[e] and (e != "ignore_all" or cfg.get("ignore_class") is not None)]
            for i, (lay, edge, dt) in enumerate(itertools.product(layouts, edges, DTYPES)):
                red = REDUCTIONS[i % len(REDUCTIONS)]
                out.append(LossCase(loss, {**cfg, "reduction": red}, dt, lay, edge, SAMPLE_WEIGHTS[i % len(SAMPLE_WEIGHTS)]))
            for dt, lay in itertools.product(DTYPES, layouts):
                out.append(LossCase(loss, cfg, dt, lay, "random", "none", functional=True))
    return [c for c in out if _valid(c)]


def _valid(c: LossCase) -> bool:
    if c.edge == "empty" and c.layout == "rank1":
        return False  # a rank-1 prediction is one sample: "empty" would mean zero classes
    if c.loss == "categorical_focal_crossentropy" and isinstance(c.config.get("alpha"), list):
        axis = c.axis % len(c.pred_shape)
        return c.pred_shape[axis] == len(c.config["alpha"])
    return True


def default_grid() -> list[LossCase]:
    """A representative subset: every value of every axis, every edge for every loss.

    For each loss and option set: each reduction, each sample-weight kind, each
    dtype, each layout and each edge input appears at least once, the other
    axes rotating through their values.
    """
    out: list[LossCase] = []
    for loss in LOSSES:
        for ci, cfg in enumerate(_configs(loss)):
            layouts = _layouts(loss)
            edges = [e for e in EDGES if loss in EDGES[e] and (e != "ignore_all" or cfg.get("ignore_class") is not None)]
            axes = [
                ("reduction", list(REDUCTIONS)),
                ("sample_weight", list(SAMPLE_WEIGHTS)),
                ("dtype", list(DTYPES)),
                ("layout", layouts),
                ("edge", edges),
            ]
            k = max(len(v) for _, v in axes)
            for i in range(k):
                red = REDUCTIONS[(i + ci) % len(REDUCTIONS)]
                case = LossCase(
                    loss,
                    {**cfg, "reduction": red},
                    DTYPES[(i + 2 * ci) % len(DTYPES)],
                    layouts[(i + ci) % len(layouts)],
                    edges[(i + 3 * ci) % len(edges)],
                    SAMPLE_WEIGHTS[(i + ci) % len(SAMPLE_WEIGHTS)],
                )
                out.append(case)
            out.append(LossCase(loss, cfg, DTYPES[ci % 2], layouts[ci % len(layouts)], "random", "none", functional=True))
    return [c for c in out if _valid(c)]


def case_meta(c: LossCase) -> dict[str, Any]:
    return {
        "loss": c.loss,
        "options": c.config_key,
        "reduction": "functional" if c.functional else str(c.config.get("reduction", "sum_over_batch_size")),
        "dtype": c.dtype,
        "layout": c.layout,
        "edge": c.edge,
        "sample_weight": c.sample_weight,
    }

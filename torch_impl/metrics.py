"""Keras 3 metrics for torch tensors, with Keras's numbers.

Every metric of ``keras.metrics``, as Keras computes it on its TensorFlow backend (keras 3.15.1): accuracies
(``Accuracy``, ``BinaryAccuracy``, ``CategoricalAccuracy``, ``SparseCategoricalAccuracy``,
``TopKCategoricalAccuracy``, ``SparseTopKCategoricalAccuracy``), the confusion-matrix metrics of imbalanced data
(``TruePositives``, ``FalsePositives``, ``TrueNegatives``, ``FalseNegatives``, ``Precision``, ``Recall``,
``AUC``, ``F1Score``, ``FBetaScore``, ``SensitivityAtSpecificity``, ``SpecificityAtSensitivity``,
``PrecisionAtRecall``, ``RecallAtPrecision``), the crossentropies as metrics (``BinaryCrossentropy``,
``CategoricalCrossentropy``, ``SparseCategoricalCrossentropy``), ``KLDivergence`` and ``Poisson``, the
regression metrics (``MeanSquaredError``, ``MeanAbsoluteError``, ``RootMeanSquaredError``,
``MeanAbsolutePercentageError``, ``MeanSquaredLogarithmicError``, ``CosineSimilarity``, ``LogCoshError``,
``R2Score``, ``PearsonCorrelation``, ``ConcordanceCorrelation``), the hinges (``Hinge``, ``SquaredHinge``,
``CategoricalHinge``) and the segmentation IoUs (``IoU``, ``BinaryIoU``, ``MeanIoU``, ``OneHotIoU``,
``OneHotMeanIoU``); ``Mean``, ``Sum`` and ``MeanMetricWrapper`` for your own. The functions Keras exposes as
metric functions (``hinge``, ``kl_divergence``, ``log_cosh``, ``pearson_correlation``...) give the per-sample
values.

Each is a stateful object, as in Keras: ``update_state(y_true, y_pred, sample_weight=None)`` adds a batch,
``result()`` gives the value so far (a 0-d tensor, or one per threshold / class), ``reset_state()`` starts
over; calling it updates and returns the result. ``y_pred`` holds probabilities (what a Keras model with a
sigmoid/softmax output hands its metrics). The state is kept in the metric's ``dtype`` (default ``floatx``,
here ``torch.get_default_dtype()`` when the metric is made; int64 for the IoUs, as Keras's ``"int"``), as
Keras keeps its variables, and follows the inputs' device.

The rules that decide the figures, from Keras's source:

* a prediction is positive when it is strictly greater than the threshold (default 0.5); ``y_true`` counts
  as positive when non-zero; multi-dimensional inputs are flattened (``AUC(multi_label=True)`` keeps one
  curve per label); ``top_k`` keeps each row's k largest (ties to the lower index) and ``class_id`` one column;
* ``AUC`` uses ``num_thresholds`` (200) evenly spaced thresholds with ``-1e-7`` and ``1 + 1e-7`` at the
  ends, puts each prediction in its bucket as Keras's memory-efficient update does, and sums the curve
  with ``summation_method`` (``"interpolation"``: trapezoids for ROC, Davis & Goadrich's interpolation for
  PR); ratios are divide-no-nan;
* averaged metrics average per sample first (the pixels or time steps of one sample, then the samples),
  weighted by ``sample_weight`` (Keras's ``Mean``);
* ``TopK`` accuracies count a label as hit when fewer than k scores are strictly greater than its score, and
  as a miss when any score of the row is not finite (TensorFlow's ``in_top_k``); argmax never picks a NaN
  (TensorFlow's ``argmax``);
* the ``...AtSensitivity`` / ``...AtPrecision`` family buckets predictions on ``num_thresholds`` evenly spaced
  thresholds from 0 to 1 (no epsilon ends: a prediction of 0 is never positive) and takes the best rate among
  the thresholds that meet the constraint;
* the IoUs accumulate a confusion matrix of class ids (integers by default: float sample weights are truncated,
  as in Keras) and give a float32 result; the hinges take labels that are all 0/1 as -1/1.

:func:`get` resolves Keras's names (``"AUC"``, ``"auc"``, ``"precision"``, ``"Recall"``, ``"mse"``,
``"binary_crossentropy"``...); :func:`torch_impl.fit.fit` takes names and metric objects in ``metrics=`` and
``weighted_metrics=``, like ``model.compile``.

Example:
    >>> import torch
    >>> from torch_impl import metrics
    >>> y_true = torch.tensor([[0.], [1.], [1.], [0.]])
    >>> y_pred = torch.tensor([[0.1], [0.8], [0.4], [0.6]])
    >>> m = metrics.Precision()
    >>> m.update_state(y_true, y_pred)
    >>> float(m.result())
    0.5
    >>> round(float(metrics.AUC()(y_true, y_pred)), 4)
    0.75
"""

from __future__ import annotations

import inspect
import re
import warnings
from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch

from torch_impl import _eigen_math
from torch_impl import losses as L
from torch_impl._ops import tf_sum
from torch_impl.losses import (  # Keras's metric functions are its loss functions
    categorical_hinge,
    hinge,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    squared_hinge,
)
from torch_impl.reduction import apply_mask, squeeze_or_expand_to_same_rank

__all__ = [
    "Metric", "Mean", "Sum", "MeanMetricWrapper",
    "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
    "MeanSquaredError", "MeanAbsoluteError",
    "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives", "Precision", "Recall", "AUC",
    "FBetaScore", "F1Score",
    "SensitivityAtSpecificity", "SpecificityAtSensitivity", "PrecisionAtRecall", "RecallAtPrecision",
    "RootMeanSquaredError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "CosineSimilarity",
    "LogCoshError", "R2Score", "Hinge", "SquaredHinge", "CategoricalHinge", "KLDivergence", "Poisson",
    "PearsonCorrelation", "ConcordanceCorrelation", "IoU", "BinaryIoU", "MeanIoU", "OneHotIoU", "OneHotMeanIoU",
    "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "mean_squared_error",
    "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_logarithmic_error",
    "cosine_similarity", "log_cosh", "hinge", "squared_hinge", "categorical_hinge", "kl_divergence", "poisson",
    "pearson_correlation", "concordance_correlation", "get", "serialize", "deserialize",
]

EPSILON = 1e-7  # keras.backend.epsilon()
NEG_INF = -1e10  # metrics_utils.NEG_INF: the score of the entries top_k filters out

_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
           "float64": torch.float64, "mixed_float16": torch.float16, "mixed_bfloat16": torch.bfloat16,
           "int8": torch.int8, "uint8": torch.uint8, "int16": torch.int16, "int32": torch.int32,
           "int64": torch.int64}


def _resolve_dtype(dtype) -> torch.dtype:
    """A metric's ``dtype`` as Keras takes it: ``None`` (``floatx``), a name (``"float32"``, ``"int32"``, a
    ``"mixed_*"`` policy: its compute dtype) or a torch dtype."""
    if dtype is None:
        return torch.get_default_dtype()
    if isinstance(dtype, torch.dtype) and dtype in _DTYPES.values():
        return dtype
    if isinstance(dtype, str) and dtype in _DTYPES:
        return _DTYPES[dtype]
    raise ValueError(f"dtype must be None, a torch dtype or one of {sorted(_DTYPES)}, got {dtype!r}")


def _snake_case(name: str) -> str:
    """Keras's ``to_snake_case`` (``"AUC"`` -> ``"auc"``, ``"FBetaScore"`` -> ``"f_beta_score"``)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _tensor(x, dtype: Optional[torch.dtype] = None, device=None) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x if dtype is None else x.to(dtype)
    a = np.asarray(x)
    if dtype is None and a.dtype == np.float64 and not isinstance(x, (np.ndarray, np.generic)):
        # Python floats (a list, a number) in float32, as Keras's convert_to_tensor takes them (TensorFlow's
        # default float type, whatever floatx is)
        dtype = torch.float32
    return torch.as_tensor(a, dtype=dtype, device=device)


def _pair(y_true, y_pred, squeeze: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """``y_pred`` as a tensor and ``y_true`` in its dtype and on its device (ranks aligned when ``squeeze``).
    Integer predictions (``[[1, 0], ...]``, as Keras's own tests pass them) compute in float32, as Keras's
    ``ops.mean`` of an integer tensor does."""
    y_pred = _tensor(y_pred)
    if not y_pred.is_floating_point():
        y_pred = y_pred.to(torch.float32)
    y_true = _tensor(y_true, device=y_pred.device).to(y_pred.device, y_pred.dtype)
    if squeeze:
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return y_true, y_pred


def _divide_no_nan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.where(b == 0, torch.zeros_like(a), a / torch.where(b == 0, torch.ones_like(b), b))


def _argmax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """Keras's ``ops.argmax`` on TensorFlow: half floats go to float32, ``-0.0`` counts as ``-tiny`` (below
    ``0.0``; Keras's flush-to-zero fix), and TensorFlow's ``argmax`` takes the first entry greater than
    everything before it, starting from the lowest finite value, so NaN never wins (torch's ``argmax`` takes a
    NaN as the maximum)."""
    x = x.movedim(axis, -1)
    if not x.is_floating_point():
        return (x.to(torch.uint8) if x.dtype == torch.bool else x).argmax(-1)
    if x.dtype in (torch.float16, torch.bfloat16):
        x = x.float()
    info = torch.finfo(x.dtype)
    x = torch.where((x == 0) & torch.signbit(x), torch.full((), -info.tiny, dtype=x.dtype, device=x.device), x)
    return torch.nan_to_num(x, nan=info.min, posinf=float("inf"), neginf=info.min).argmax(-1)


# --------------------------------------------------------------------------
# base classes
# --------------------------------------------------------------------------


class Metric:
    """Keras's ``Metric``: state variables in ``dtype``, ``update_state``, ``result``, ``reset_state``.

    Subclasses make their variables with :meth:`add_variable` in ``__init__`` (or on the first update) and
    implement ``update_state`` and ``result``.

    Example:
        >>> class Count(Metric):
        ...     def __init__(self, name="count"):
        ...         super().__init__(name=name)
        ...         self.n = self.add_variable((), "n")
        ...     def update_state(self, y_true, y_pred, sample_weight=None):
        ...         self.n += y_pred.shape[0]
        ...     def result(self):
        ...         return self.n
        >>> float(Count()(torch.zeros(3), torch.zeros(3)))
        3.0
    """

    _direction: Optional[str] = None  # "up" / "down": what callbacks' mode="auto" maximises / minimises

    def __init__(self, name: Optional[str] = None, dtype=None):
        self.name = name if name is not None else _snake_case(type(self).__name__)
        self._dtype = _resolve_dtype(dtype)
        self._variables: list[str] = []

    @property
    def dtype(self) -> torch.dtype:
        """The compute dtype; read-only, as Keras's (``metric.dtype = ...`` raises ``AttributeError``)."""
        return self._dtype

    def add_variable(self, shape, name: str, dtype=None) -> torch.Tensor:
        """A zero state tensor of ``shape`` kept as attribute ``name`` and zeroed by :meth:`reset_state`, in
        ``dtype`` (default ``floatx``, as a Keras variable: the confusion-matrix metrics and AUC keep their
        counts in ``floatx`` whatever the metric's ``dtype``; ``Mean``, ``Sum``, the F-scores and the IoUs
        pass their own)."""
        value = torch.zeros(shape, dtype=torch.get_default_dtype() if dtype is None else dtype)
        setattr(self, name, value)
        self._variables.append(name)
        return value

    def _submetrics(self) -> list["Metric"]:
        """The metrics held in attributes (directly, or in lists, tuples and dict values, nested), as Keras's
        tracker finds them: their variables count as this metric's and the default reset_state zeroes them."""
        found: list[Metric] = []

        def walk(v) -> None:
            if isinstance(v, Metric):
                if v is not self and all(v is not f for f in found):
                    found.append(v)
            elif isinstance(v, (list, tuple)):
                for x in v:
                    walk(x)
            elif isinstance(v, dict):
                for x in v.values():
                    walk(x)

        for value in vars(self).values():
            walk(value)
        return found

    @property
    def variables(self) -> list[torch.Tensor]:
        """The state tensors: this metric's (``add_variable`` order), then its sub-metrics' (Keras's order)."""
        out = [getattr(self, n) for n in self._variables]
        for m in self._submetrics():
            out.extend(m.variables)
        return out

    def _on(self, device) -> None:
        """Moves the state to the inputs' device."""
        for n in self._variables:
            v = getattr(self, n)
            if v.device != device:
                setattr(self, n, v.to(device))

    def reset_state(self) -> None:
        """Zeroes every variable, the sub-metrics' included (Keras's default ``reset_state``)."""
        for n in self._variables:
            setattr(self, n, torch.zeros_like(getattr(self, n)))
        for m in self._submetrics():
            Metric.reset_state(m)

    def update_state(self, *args, **kwargs) -> None:
        raise NotImplementedError

    def result(self) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, *args, **kwargs) -> torch.Tensor:
        with torch.no_grad():
            self.update_state(*args, **kwargs)
            return self.result()

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": str(self.dtype).replace("torch.", "")}

    @classmethod
    def from_config(cls, config: dict) -> "Metric":
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _samplewise(values: torch.Tensor, sample_weight, dtype: torch.dtype, reduce: Callable):
    """Keras's ``reduce_to_samplewise_values``: values cast to ``dtype``; the weight aligned to the values' rank
    by one trailing 1-dim, the values reduced over the axes the weight lacks, then weighted, and both reduced to
    one figure per sample. A mask the values carry (``_keras_mask``) weighs them only next to a sample weight,
    as in Keras."""
    mask = getattr(values, "_keras_mask", None)
    values = values.to(dtype)
    if sample_weight is not None:
        sample_weight = _tensor(sample_weight, dtype, values.device).to(values.device)
        if mask is not None:
            sample_weight = apply_mask(sample_weight, mask.to(values.device), dtype, reduction="sum")
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        if values.dim() > sample_weight.dim():
            values = reduce(values, dim=tuple(range(sample_weight.dim(), values.dim())))
        try:
            sample_weight = torch.broadcast_to(sample_weight, values.shape)
        except RuntimeError:  # Keras's broadcast_to fails too (ValueError inside fit)
            raise ValueError(
                f"sample_weight of shape {tuple(sample_weight.shape)} cannot be broadcast to the metric's values of "
                f"shape {tuple(values.shape)}; Keras raises too. A metric function that returns one number per batch "
                "(a dice coefficient or an f1 score written with K.sum) cannot be weighted: give it in `metrics`, "
                "not `weighted_metrics`.") from None
        values = values * sample_weight
        if sample_weight.dim() > 1:
            sample_weight = reduce(sample_weight, dim=tuple(range(1, sample_weight.dim())))
    if values.dim() > 1:
        values = reduce(values, dim=tuple(range(1, values.dim())))
    return values, sample_weight


class Sum(Metric):
    """Keras's ``Sum``: the (weighted) sum of the values."""

    def __init__(self, name: str = "sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.add_variable((), "total", self.dtype)

    def update_state(self, values, sample_weight=None) -> None:
        values = _tensor(values)
        self._on(values.device)
        values, _ = _samplewise(values, sample_weight, self.dtype, torch.sum)
        self.total = self.total + values.sum()

    def result(self) -> torch.Tensor:
        return self.total.clone()


class Mean(Metric):
    """Keras's ``Mean``: the (weighted) mean of the values, per sample first.

    Example:
        >>> m = Mean()
        >>> m.update_state(torch.tensor([1., 3.]), sample_weight=torch.tensor([1., 0.]))
        >>> float(m.result())
        1.0
    """

    def __init__(self, name: str = "mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.add_variable((), "total", self.dtype)
        self.add_variable((), "count", self.dtype)

    def update_state(self, values, sample_weight=None) -> None:
        values = _tensor(values)
        self._on(values.device)
        values, sample_weight = _samplewise(values, sample_weight, self.dtype, torch.mean)
        self.total = self.total + values.sum()
        if sample_weight is not None:
            n = sample_weight.sum()
        else:
            n = values.shape[0] if values.dim() >= 1 else 1
        self.count = self.count + torch.as_tensor(n, dtype=self.dtype, device=self.count.device)

    def result(self) -> torch.Tensor:
        return _divide_no_nan(self.total, self.count)


class MeanMetricWrapper(Mean):
    """Keras's ``MeanMetricWrapper``: the mean of ``fn(y_true, y_pred, **kwargs)`` (one value per sample, or per
    pixel / time step).

    Example:
        >>> m = MeanMetricWrapper(lambda t, p: (t - p).abs(), name="abs_error")
        >>> float(m(torch.tensor([1., 2.]), torch.tensor([1.5, 2.])))
        0.25
    """

    def __init__(self, fn: Callable, name: Optional[str] = None, dtype=None, **kwargs):
        super().__init__(name=name if name is not None else "mean_metric_wrapper", dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs
        if fn in _LOSS_FUNCTIONS or isinstance(fn, L.Loss):  # Keras: a wrapped loss is minimised
            self._direction = "down"

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        mask = getattr(y_pred, "_keras_mask", None)  # Keras: the prediction's mask weighs the values (no rescale)
        y_pred = _tensor(y_pred)
        y_true = _tensor(y_true, device=y_pred.device)
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        if mask is not None:
            sw = None if sample_weight is None else _tensor(sample_weight, self.dtype, values.device)
            sample_weight = apply_mask(sw, mask.to(values.device), self.dtype, reduction="sum")
        super().update_state(values, sample_weight)

    def get_config(self) -> dict:
        """Keras's: the wrapper's ``fn`` (the callable itself here) and its options; a named subclass
        (``BinaryAccuracy``, ``TopKCategoricalAccuracy``, the crossentropies...) gives its own arguments."""
        if type(self) is MeanMetricWrapper:
            return {**super().get_config(), "fn": self._fn, **self._fn_kwargs}
        return {**super().get_config(), **self._fn_kwargs}

    def update_values(self, values: torch.Tensor, sample_weight=None) -> None:
        """Adds per-sample values computed elsewhere (``fit`` computes the crossentropy metrics on the logits
        Keras finds behind a sigmoid/softmax output)."""
        Mean.update_state(self, values, sample_weight)


# --------------------------------------------------------------------------
# accuracies
# --------------------------------------------------------------------------


def _floatx(x: torch.Tensor) -> torch.Tensor:
    return x.to(torch.get_default_dtype())


def accuracy(y_true, y_pred) -> torch.Tensor:
    """``keras.metrics.Accuracy``'s values: 1 where ``y_true == y_pred`` (after aligning ranks)."""
    y_pred = _tensor(y_pred)
    y_true = _tensor(y_true, device=y_pred.device).to(y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return _floatx(y_true == y_pred)


def binary_accuracy(y_true, y_pred, threshold: float = 0.5) -> torch.Tensor:
    """1 where ``y_pred > threshold`` equals ``y_true`` (compared in ``y_true``'s dtype, as Keras: smoothed
    labels such as 0.9 never match)."""
    y_pred = _tensor(y_pred)
    y_true = _tensor(y_true, device=y_pred.device)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    # Keras converts the threshold to a float32 tensor and compares in the promoted dtype
    if y_pred.is_floating_point():
        y_pred = y_pred.to(torch.promote_types(y_pred.dtype, torch.float32))
    return _floatx(y_true == (y_pred > float(np.float32(threshold))).to(y_true.dtype))


def categorical_accuracy(y_true, y_pred) -> torch.Tensor:
    """1 where the argmax of ``y_true`` (one-hot) equals the argmax of ``y_pred``."""
    y_pred = _tensor(y_pred)
    y_true = _argmax(_tensor(y_true, device=y_pred.device)).to(y_pred.dtype)
    shape, reshape = y_true.shape, False
    if y_true.dim() == y_pred.dim():
        y_true, reshape = y_true.squeeze(-1), True
    matches = _floatx(y_true == _argmax(y_pred).to(y_true.dtype))
    return matches.reshape(shape) if reshape else matches


def sparse_categorical_accuracy(y_true, y_pred) -> torch.Tensor:
    """1 where the integer label equals the argmax of ``y_pred`` (a trailing 1-dim of the labels squeezed)."""
    y_pred = _tensor(y_pred)
    y_true = _tensor(y_true, device=y_pred.device).to(y_pred.dtype)
    shape, reshape = y_true.shape, False
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true, reshape = y_true.squeeze(-1), True
    matches = _floatx(y_true == _argmax(y_pred).to(y_true.dtype))
    if reshape:
        matches = matches.reshape(shape)
    if matches.dim() > 1 and matches.shape[-1] == 1:
        matches = matches.squeeze(-1)
    return matches


def _in_top_k(targets: torch.Tensor, predictions: torch.Tensor, k: int) -> torch.Tensor:
    """TensorFlow's ``in_top_k``: fewer than ``k`` scores strictly greater than the target's (ties count as
    in); False for a target out of range or any non-finite score in the row."""
    n_classes = predictions.shape[-1]
    valid = (targets >= 0) & (targets < n_classes)
    target_score = predictions.gather(-1, torch.where(valid, targets, 0).long().unsqueeze(-1))
    greater = (predictions > target_score).sum(-1)
    finite = torch.isfinite(predictions).all(-1)
    return valid & finite & (greater < k)


def top_k_categorical_accuracy(y_true, y_pred, k: int = 5) -> torch.Tensor:
    """1 where the one-hot label's class is among the ``k`` highest scores."""
    y_pred = _tensor(y_pred)
    y_true = _argmax(_tensor(y_true, device=y_pred.device).to(y_pred.dtype))
    shape = y_true.shape
    if y_pred.dim() > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    matches = _floatx(_in_top_k(y_true.reshape(-1), y_pred, k))
    return matches.reshape(shape) if len(shape) > 1 else matches


def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5, from_sorted_ids: bool = False) -> torch.Tensor:
    """1 where the integer label is among the ``k`` highest scores (``from_sorted_ids``: ``y_pred`` holds class
    ids sorted by score, and the label must be among the first ``k``)."""
    y_pred = _tensor(y_pred)
    y_true = _tensor(y_true, device=y_pred.device)
    y_true = y_true.to(y_pred.dtype) if from_sorted_ids else y_true.to(torch.int32)
    shape = y_true.shape
    if y_pred.dim() > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    flat = y_true.reshape(-1) if y_true.dim() > 1 else y_true
    if from_sorted_ids:
        matches = (flat.unsqueeze(1) == y_pred[:, :k]).any(1)
    else:
        matches = _in_top_k(flat, y_pred, k)
    matches = _floatx(matches)
    return matches.reshape(shape) if len(shape) > 1 else matches


class Accuracy(MeanMetricWrapper):
    """How often ``y_pred`` equals ``y_true`` (exact equality; the ``"accuracy"`` name in ``fit`` resolves to
    the binary, categorical or sparse accuracy instead)."""

    _direction = "up"

    def __init__(self, name: str = "accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches the binary label.

    Example:
        >>> float(BinaryAccuracy()(torch.tensor([[1.], [0.]]), torch.tensor([[0.7], [0.6]])))
        0.5
    """

    _direction = "up"

    def __init__(self, name: str = "binary_accuracy", dtype=None, threshold: float = 0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the highest score is the one-hot label's class."""

    _direction = "up"

    def __init__(self, name: str = "categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the highest score is the integer label."""

    _direction = "up"

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label's class is among the ``k`` highest scores."""

    _direction = "up"

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=_check_k(k))
        self.k = k


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the ``k`` highest scores."""

    _direction = "up"

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype=None,
                 from_sorted_ids: bool = False):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=_check_k(k),
                         from_sorted_ids=bool(from_sorted_ids))
        self.k, self.from_sorted_ids = k, from_sorted_ids

    def get_config(self) -> dict:
        config = {**Metric.get_config(self), "k": self.k}
        if self.from_sorted_ids:  # as Keras: only when set
            config["from_sorted_ids"] = True
        return config


# --------------------------------------------------------------------------
# crossentropies and errors as metrics
# --------------------------------------------------------------------------


class BinaryCrossentropy(MeanMetricWrapper):
    """The mean binary crossentropy (``keras.metrics.BinaryCrossentropy``)."""

    def __init__(self, name: str = "binary_crossentropy", dtype=None, from_logits: bool = False,
                 label_smoothing: float = 0.0):
        super().__init__(L.binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)
        self.from_logits, self.label_smoothing = from_logits, label_smoothing


class CategoricalCrossentropy(MeanMetricWrapper):
    """The mean categorical crossentropy (``keras.metrics.CategoricalCrossentropy``)."""

    def __init__(self, name: str = "categorical_crossentropy", dtype=None, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1):
        super().__init__(L.categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """The mean sparse categorical crossentropy (``keras.metrics.SparseCategoricalCrossentropy``). With
    ``ignore_class``, as in Keras: unweighted, an ignored entry counts as a 0 in the mean; with a
    ``sample_weight``, the ignored entries' weights are zeroed (the loss's mask), so the mean runs over the
    valid entries only."""

    def __init__(self, name: str = "sparse_categorical_crossentropy", dtype=None, from_logits: bool = False,
                 ignore_class: Optional[int] = None, axis: int = -1):
        super().__init__(L.sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)
        self.from_logits, self.ignore_class, self.axis = from_logits, ignore_class, axis

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        pred_mask = getattr(y_pred, "_keras_mask", None)
        if pred_mask is not None and self.ignore_class is not None:
            # Keras's MeanMetricWrapper: the prediction's mask joins the weight first, then the loss's mask
            sw = None if sample_weight is None else _tensor(sample_weight, self.dtype, pred_mask.device)
            sample_weight = apply_mask(sw, pred_mask, self.dtype, reduction="sum")
            y_pred = _tensor(y_pred).view_as(y_pred)  # the same values, without the mask (applied above)
        if self.ignore_class is None or sample_weight is None:
            return super().update_state(y_true, y_pred, sample_weight)
        y_pred = _tensor(y_pred)
        values, valid = L._sparse_categorical_crossentropy_masked(_tensor(y_true, device=y_pred.device), y_pred,
                                                                  self.from_logits, self.ignore_class, self.axis)
        # Keras's Mean applies the mask the loss attaches to its values to the sample weight
        mask, sample_weight = squeeze_or_expand_to_same_rank(valid.to(self.dtype),
                                                             _tensor(sample_weight, self.dtype, y_pred.device))
        self.update_values(values, sample_weight * mask)


class MeanSquaredError(MeanMetricWrapper):
    """The mean of the squared errors (on probabilities, for a classifier: a Brier score)."""

    _direction = "down"

    def __init__(self, name: str = "mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """The mean of the absolute errors."""

    _direction = "down"

    def __init__(self, name: str = "mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


# --------------------------------------------------------------------------
# confusion-matrix metrics
# --------------------------------------------------------------------------


def _thresholds(thresholds, default: float) -> list[float]:
    """Keras's ``parse_init_thresholds``: a list, every value in ``[0, 1]``."""
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    bad = [t for t in values if t is None or not (0 <= t <= 1)]
    if bad:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad}")
    return [float(t) for t in values]


def _evenly_distributed(thresholds) -> bool:
    """Keras's ``is_evenly_distributed_thresholds``: 3 or more, equal to ``arange(n) / (n - 1)`` within 1e-7."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=EPSILON))


def _filter_top_k(x: torch.Tensor, k: int) -> torch.Tensor:
    """The ``k`` largest of each row kept, the rest set to ``NEG_INF`` (TensorFlow's ``top_k``: ties to the
    lower index, NaN below every number)."""
    if k > x.shape[-1]:  # TensorFlow's TopKV2 raises
        raise ValueError(f"top_k={k} is more than the {x.shape[-1]} scores per row")
    key = torch.nan_to_num(x, nan=-float("inf"), posinf=float("inf"), neginf=-float("inf"))
    idx = torch.sort(key, dim=-1, descending=True, stable=True).indices[..., :k]
    mask = torch.zeros_like(x).scatter_(-1, idx, 1.0)
    return x * mask + NEG_INF * (1 - mask)


def _confusion_update(metric: Metric, names: dict, y_true, y_pred, thresholds: list, evenly: bool,
                      top_k=None, class_id=None, sample_weight=None, multi_label=False, label_weights=None) -> None:
    """Keras's ``update_confusion_matrix_variables``: adds the weighted counts of the conditions in ``names``
    (``{"tp": attribute, ...}``) at every threshold to ``metric``'s variables."""
    y_pred = _tensor(y_pred)
    metric._on(y_pred.device)
    dtype = getattr(metric, next(iter(names.values()))).dtype  # Keras: the variables' dtype (floatx)
    y_true = _tensor(y_true, device=y_pred.device).to(dtype)
    y_pred = y_pred.to(dtype)
    with_epsilon = evenly and (thresholds[0] < 0.0 or thresholds[-1] > 1.0)
    thr = torch.tensor(np.asarray(thresholds, dtype=np.float64), dtype=dtype, device=y_pred.device)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if y_true.shape != y_pred.shape:  # Keras fails inside TensorFlow here
        raise ValueError(f"{type(metric).__name__}: y_true and y_pred must have the same shape (after a trailing "
                         f"1-dim is squeezed), got {tuple(y_true.shape)} and {tuple(y_pred.shape)}; give one-hot "
                         "or binary labels, not class ids")
    if sample_weight is not None:
        sample_weight = _tensor(sample_weight, dtype, y_pred.device).to(y_pred.device).unsqueeze(-1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight, expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.dim() == 1:
            raise ValueError("When class_id is provided, y_pred must be a 2D array with shape (num_samples, "
                             f"num_classes), found shape: {tuple(y_pred.shape)}")
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
    if evenly:
        counts = _bucketed_counts(y_true, y_pred, thr.shape[0], sample_weight, label_weights, multi_label,
                                  with_epsilon)
    else:
        counts = _thresholded_counts(y_true, y_pred, thr, sample_weight, label_weights, multi_label, names)
    for cond, attr in names.items():
        setattr(metric, attr, getattr(metric, attr) + counts[cond])


def _weights(y_pred: torch.Tensor, sample_weight, label_weights, multi_label: bool):
    w = None
    if sample_weight is not None:
        w = torch.broadcast_to(sample_weight.to(y_pred.dtype), y_pred.shape)
    if label_weights is not None:
        lw = torch.broadcast_to(label_weights.to(y_pred.device).unsqueeze(0), y_pred.shape)
        w = lw if w is None else w * lw
    if w is not None and not multi_label:
        w = w.reshape(-1)
    return w


def _bucketed_counts(y_true, y_pred, num_thresholds: int, sample_weight, label_weights, multi_label: bool,
                     with_epsilon: bool) -> dict:
    """Keras's memory-efficient update for evenly spaced thresholds: each prediction goes to bucket
    ``ceil(p * (n - 1)) - 1`` (predictions clipped to [0, 1]; bucket -1 dropped, or moved to 0 when the end
    thresholds carry the epsilon), and the counts at each threshold are the reversed cumulative sums."""
    w = _weights(y_pred, sample_weight, label_weights, multi_label)
    weights = torch.ones((), dtype=y_pred.dtype, device=y_pred.device) if w is None else w.to(y_true.dtype)
    y_pred = y_pred.clamp(0.0, 1.0)
    y_true = (y_true != 0).to(y_true.dtype)
    if not multi_label:
        y_true, y_pred = y_true.reshape(-1), y_pred.reshape(-1)
    true_labels = y_true * weights
    false_labels = (1.0 - y_true) * weights
    buckets = torch.ceil(y_pred * (torch.tensor(num_thresholds, dtype=y_pred.dtype) - 1)) - 1
    if with_epsilon:
        buckets = torch.relu(buckets)
    buckets = buckets.to(torch.int64)

    def segment_sum(data: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """TensorFlow's ``unsorted_segment_sum`` per label column (entries with an id outside ``[0, n)``
        dropped), in the entries' order: ``(n,)``, or ``(n, labels)`` for ``(N, labels)`` ids."""
        data = torch.broadcast_to(data, ids.shape)
        keep = (ids >= 0) & (ids < num_thresholds)
        labels = ids.shape[1] if ids.dim() == 2 else 1
        slots = ids + torch.arange(labels, device=ids.device) * num_thresholds if ids.dim() == 2 else ids
        out = torch.zeros(labels * num_thresholds, dtype=data.dtype, device=data.device)
        out.index_add_(0, slots[keep], data[keep])
        return out.reshape(labels, num_thresholds).T if ids.dim() == 2 else out

    tp = torch.flip(torch.cumsum(torch.flip(segment_sum(true_labels, buckets), [0]), 0), [0])
    fp = torch.flip(torch.cumsum(torch.flip(segment_sum(false_labels, buckets), [0]), 0), [0])
    true_labels = torch.broadcast_to(true_labels, y_pred.shape)
    false_labels = torch.broadcast_to(false_labels, y_pred.shape)
    total_true = true_labels.sum(0) if multi_label else true_labels.sum()
    total_false = false_labels.sum(0) if multi_label else false_labels.sum()
    return {"tp": tp, "fp": fp, "tn": total_false - fp, "fn": total_true - tp}


def _thresholded_counts(y_true, y_pred, thr: torch.Tensor, sample_weight, label_weights, multi_label: bool,
                        wanted) -> dict:
    """Keras's general update: ``y_pred > threshold`` at every threshold (first axis), the weighted counts of
    the ``wanted`` cases (``"tp"``, ``"fp"``, ``"tn"``, ``"fn"``)."""
    w = _weights(y_pred, sample_weight, label_weights if not multi_label else None, multi_label)
    if multi_label:
        pred = y_pred.unsqueeze(0) > thr.reshape(-1, *([1] * y_pred.dim()))
        label = (y_true != 0).unsqueeze(0)
    else:
        pred = y_pred.reshape(1, -1) > thr.reshape(-1, 1)
        label = (y_true != 0).reshape(1, -1)
    zero = torch.zeros((), dtype=y_pred.dtype, device=y_pred.device)
    cases = {"tp": lambda: label & pred, "fp": lambda: ~label & pred, "tn": lambda: ~label & ~pred,
             "fn": lambda: label & ~pred}

    def count(mask: torch.Tensor) -> torch.Tensor:
        if w is None:
            return mask.to(y_pred.dtype).sum(1)
        return torch.where(mask, w.to(y_pred.dtype).unsqueeze(0), zero).sum(1)

    return {cond: count(cases[cond]()) for cond in wanted}


class _ConfusionMatrixConditionCount(Metric):
    _cond: str

    def __init__(self, thresholds=None, name: Optional[str] = None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = _thresholds(thresholds, 0.5)
        self._evenly = _evenly_distributed(self.thresholds)
        self.add_variable((len(self.thresholds),), "accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        _confusion_update(self, {self._cond: "accumulator"}, y_true, y_pred, self.thresholds, self._evenly,
                          sample_weight=sample_weight)

    def result(self) -> torch.Tensor:
        return self.accumulator[0] if len(self.thresholds) == 1 else self.accumulator.clone()

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    """The (weighted) number of positives predicted positive (``y_pred > threshold``, default 0.5)."""
    _cond = "tp"


class FalsePositives(_ConfusionMatrixConditionCount):
    """The (weighted) number of negatives predicted positive."""
    _cond = "fp"


class TrueNegatives(_ConfusionMatrixConditionCount):
    """The (weighted) number of negatives predicted negative."""
    _cond = "tn"


class FalseNegatives(_ConfusionMatrixConditionCount):
    """The (weighted) number of positives predicted negative."""
    _cond = "fn"


class _PrecisionRecall(Metric):
    _direction = "up"
    _other: tuple[str, str]  # (condition, attribute) beside the true positives

    def __init__(self, thresholds=None, top_k: Optional[int] = None, class_id: Optional[int] = None,
                 name: Optional[str] = None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        self.thresholds = _thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        self._evenly = _evenly_distributed(self.thresholds)
        self.add_variable((len(self.thresholds),), "true_positives")
        self.add_variable((len(self.thresholds),), self._other[1])

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        _confusion_update(self, {"tp": "true_positives", self._other[0]: self._other[1]}, y_true, y_pred,
                          self.thresholds, self._evenly, top_k=self.top_k, class_id=self.class_id,
                          sample_weight=sample_weight)

    def result(self) -> torch.Tensor:
        tp = self.true_positives
        out = _divide_no_nan(tp, tp + getattr(self, self._other[1]))
        return out[0] if len(self.thresholds) == 1 else out

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """``tp / (tp + fp)`` (0 when nothing is predicted positive).

    Example:
        >>> float(Precision()(torch.tensor([0., 1., 1., 1.]), torch.tensor([1., 1., 0., 0.])))
        0.5
    """
    _other = ("fp", "false_positives")


class Recall(_PrecisionRecall):
    """``tp / (tp + fn)`` (0 when there is no positive label).

    Example:
        >>> round(float(Recall()(torch.tensor([0., 1., 1., 1.]), torch.tensor([1., 0., 1., 1.]))), 4)
        0.6667
    """
    _other = ("fn", "false_negatives")


_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = ("interpolation", "majoring", "minoring")


class AUC(Metric):
    """Area under the ROC or PR curve, approximated on ``num_thresholds`` thresholds as Keras does.

    Args:
        num_thresholds: evenly spaced thresholds (more than 1), ignored when ``thresholds`` is given.
        curve: ``"ROC"``, ``"PR"`` or ``"PRGAIN"``.
        summation_method: ``"interpolation"``, ``"majoring"`` or ``"minoring"``.
        thresholds: explicit thresholds, a list (``-1e-7`` and ``1 + 1e-7`` are added).
        multi_label: one curve per label of a ``(N, L)`` output, their AUCs averaged (by ``label_weights``).
        num_labels: the ``L`` of ``multi_label``, else taken from the first batch.
        label_weights: per-label weights (of the counts, or of the average with ``multi_label``).
        from_logits: apply a sigmoid to ``y_pred`` first (float32 on the CPU: TensorFlow's, bit for bit).

    Example:
        >>> y_true, y_pred = torch.tensor([0., 0., 1., 1.]), torch.tensor([0., 0.5, 0.3, 0.9])
        >>> round(float(AUC(num_thresholds=3)(y_true, y_pred)), 4)
        0.75
    """

    _direction = "up"

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC", summation_method: str = "interpolation",
                 name: Optional[str] = None, dtype=None, thresholds=None, multi_label: bool = False,
                 num_labels: Optional[int] = None, label_weights=None, from_logits: bool = False):
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            if not isinstance(thresholds, (list, tuple, np.ndarray)):  # Keras's sorted(thresholds) fails
                raise TypeError(f"AUC: `thresholds` must be a list of thresholds, got {thresholds!r}")
            inner = sorted(float(t) for t in thresholds)  # not range-checked, as in Keras
            self.num_thresholds = len(inner) + 2
            self._evenly = _evenly_distributed(np.array([0.0] + inner + [1.0]))
        else:
            if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, (int, np.integer)) \
                    or num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an integer > 1. Received: "
                                 f"num_thresholds={num_thresholds}")
            self.num_thresholds = int(num_thresholds)
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        self._thresholds = [0.0 - EPSILON] + inner + [1.0 + EPSILON]
        key = str(curve).lower() if isinstance(curve, str) else None
        if key not in _CURVES or curve not in (key, _CURVES[key]):
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are ["PR", "ROC", "PRGAIN"]')
        self.curve = _CURVES[key]
        if summation_method not in _SUMMATIONS + tuple(s.capitalize() for s in _SUMMATIONS):
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". Expected values are '
                             '["interpolation", "majoring", "minoring"]')
        self.summation_method = summation_method.lower()
        super().__init__(name=name, dtype=dtype)
        self.multi_label, self.num_labels = bool(multi_label), num_labels
        self.label_weights = None if label_weights is None else _tensor(label_weights, self.dtype)
        self.from_logits = bool(from_logits)
        self._built = False
        if self.multi_label:
            if num_labels:
                self._build((None, num_labels))
        else:
            if num_labels:
                raise ValueError("`num_labels` is needed only when `multi_label` is True.")
            self._build(None)

    @property
    def thresholds(self) -> list[float]:
        return list(self._thresholds)

    def _build(self, shape) -> None:
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. Found rank {len(shape)}. "
                                 f"Full shape received for `y_pred`: {tuple(shape)}")
            self._num_labels = shape[1]
            var_shape = (self.num_thresholds, self._num_labels)
        else:
            var_shape = (self.num_thresholds,)
        for n in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            if n not in self._variables:
                self.add_variable(var_shape, n)
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = _tensor(y_pred)
        if not self._built:
            self._build(tuple(y_pred.shape))
        if self.from_logits:  # float32 on the CPU: TensorFlow's sigmoid bit for bit (a threshold sees its rounding)
            y_pred = (_eigen_math.sigmoid(y_pred) if y_pred.dtype == torch.float32 and y_pred.device.type == "cpu"
                      else torch.sigmoid(y_pred))
        _confusion_update(self, {"tp": "true_positives", "tn": "true_negatives", "fp": "false_positives",
                                 "fn": "false_negatives"}, y_true, y_pred, self._thresholds, self._evenly,
                          sample_weight=sample_weight, multi_label=self.multi_label,
                          label_weights=None if self.multi_label else self.label_weights)

    def _average(self, by_threshold: torch.Tensor) -> torch.Tensor:
        if not self.multi_label:
            return by_threshold.sum()
        by_label = by_threshold.sum(0)
        if self.label_weights is None:
            return by_label.mean()
        lw = self.label_weights.to(by_label.device)
        return _divide_no_nan((by_label * lw).sum(), lw.sum())

    def _interpolate_pr_auc(self) -> torch.Tensor:
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        prec_slope = _divide_no_nan(dtp, torch.clamp(dp, min=0))
        intercept = tp[1:] - prec_slope * p[1:]
        safe_p_ratio = torch.where((p[:-1] > 0) & (p[1:] > 0), _divide_no_nan(p[:-1], torch.clamp(p[1:], min=0)),
                                   torch.ones_like(p[1:]))
        increment = _divide_no_nan(prec_slope * (dtp + intercept * torch.log(safe_p_ratio)),
                                   torch.clamp(tp[1:] + fn[1:], min=0))
        return self._average(increment)

    def result(self) -> torch.Tensor:
        if not self._built:
            return torch.zeros((), dtype=self.dtype)
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc()
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, _divide_no_nan(tp, tp + fp)
        else:  # PRGAIN
            scale = _divide_no_nan(tp + fn, tn + fp)
            recall_gain = 1.0 - scale * _divide_no_nan(fn, tp)
            precision_gain = 1.0 - scale * _divide_no_nan(fp, tp)
            recall_gain = torch.where(tp == 0, torch.zeros_like(tp), recall_gain)
            precision_gain = torch.where(tp == 0, torch.ones_like(tp), precision_gain)
            x, y = torch.clamp(recall_gain, min=0.0), precision_gain
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = torch.minimum(y[:-1], y[1:])
        else:
            heights = torch.maximum(y[:-1], y[1:])
        return self._average((x[:-1] - x[1:]) * heights)

    def reset_state(self) -> None:
        if self._built:
            super().reset_state()

    def get_config(self) -> dict:
        lw = self.label_weights
        config = {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                  "summation_method": self.summation_method, "multi_label": self.multi_label,
                  "num_labels": self.num_labels, "label_weights": None if lw is None else lw.tolist(),
                  "from_logits": self.from_logits}
        if self._init_from_thresholds:  # the given thresholds, without the two added ends
            config["thresholds"] = self.thresholds[1:-1]
        return config


class FBetaScore(Metric):
    """Keras's ``FBetaScore`` on ``(N, C)`` outputs: per-class F-beta (``average=None``), or ``"micro"``,
    ``"macro"``, ``"weighted"``. Without ``threshold`` each row's highest score is the prediction. A sample weight
    weighs the values element-wise (a scalar, ``(N,)``, ``(N, 1)`` or ``(N, C)``), as Keras's fix
    keras-team/keras#23335 does (Keras 3.15.1 raises for a scalar and crosses every pair of rows for 2-D weights).

    Example:
        >>> m = F1Score(threshold=0.5)
        >>> m(torch.tensor([[1., 0.], [0., 1.]]), torch.tensor([[0.9, 0.2], [0.6, 0.7]]))
        tensor([0.6667, 1.0000])
    """

    _direction = "up"

    def __init__(self, average: Optional[str] = None, beta: float = 1.0, threshold: Optional[float] = None,
                 name: str = "fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError("Invalid `average` argument value. Expected one of: {None, 'micro', 'macro', "
                             f"'weighted'}}. Received: average={average}")
        if not isinstance(beta, float):
            raise ValueError(f"Invalid `beta` argument value. It should be a Python float. Received: beta={beta} "
                             f"of type '{type(beta)}'")
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. Received: beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError("Invalid `threshold` argument value. It should be a Python float. Received: "
                                 f"threshold={threshold} of type '{type(threshold)}'")
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError("Invalid `threshold` argument value. It should verify 0 < threshold <= 1. "
                                 f"Received: threshold={threshold}")
        self.average, self.beta, self.threshold = average, beta, threshold
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, y_true_shape, y_pred_shape) -> None:
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError("FBetaScore expects 2D inputs with shape (batch_size, output_dim). Received input "
                             f"shapes: y_pred.shape={tuple(y_pred_shape)} and y_true.shape={tuple(y_true_shape)}.")
        shape = (y_pred_shape[-1],) if self.average != "micro" else ()
        for n in ("true_positives", "false_positives", "false_negatives", "intermediate_weights"):
            self.add_variable(shape, n, self.dtype)
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = _tensor(y_pred).to(self.dtype)
        y_true = _tensor(y_true, device=y_pred.device).to(self.dtype)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        self._on(y_pred.device)
        if self.threshold is None:
            top = y_pred.max(-1, keepdim=True).values
            y_pred = (y_pred >= top) & (y_pred.abs() > 1e-9)
        else:
            y_pred = y_pred > self.threshold
        y_pred = y_pred.to(self.dtype)
        if sample_weight is not None:
            # Keras's fix keras-team/keras#23335: element-wise weights, a scalar, (N,), (N, 1) or (N, C) (Keras 3.15.1
            # multiplies by expand_dims(w, 1): a scalar raises, 2-D weights cross every pair of rows)
            sample_weight = _tensor(sample_weight, self.dtype, y_pred.device).to(y_pred.device)
            if sample_weight.dim() == 1:
                sample_weight = sample_weight.unsqueeze(1)
            if sample_weight.dim() > 2 or (sample_weight.dim() == 2 and (
                    sample_weight.shape[0] not in (1, y_pred.shape[0])
                    or sample_weight.shape[1] not in (1, y_pred.shape[1]))):
                raise ValueError(f"{type(self).__name__} takes a scalar, (batch_size,), (batch_size, 1) or "
                                 f"(batch_size, {y_pred.shape[1]}) sample weight; got shape "
                                 f"{tuple(sample_weight.shape)}")

        def weighted_sum(v: torch.Tensor) -> torch.Tensor:
            if sample_weight is not None:
                v = v * sample_weight
            return v.sum() if self.axis is None else v.sum(self.axis)

        new = {"true_positives": self.true_positives + weighted_sum(y_pred * y_true),
               "false_positives": self.false_positives + weighted_sum(y_pred * (1 - y_true)),
               "false_negatives": self.false_negatives + weighted_sum((1 - y_pred) * y_true),
               "intermediate_weights": self.intermediate_weights + weighted_sum(y_true)}
        for n, v in new.items():
            # Keras's variable.assign raises where the sum broadcasts the state to another shape (a later batch
            # whose labels broadcast against the scores: (N,) labels with (N, 1) scores)
            if v.shape != getattr(self, n).shape:
                raise ValueError(f"{type(self).__name__}: this batch turns the state of shape "
                                 f"{tuple(getattr(self, n).shape)} into {tuple(v.shape)}; give y_true and y_pred of "
                                 "shape (batch_size, output_dim), as the first batch (Keras raises too)")
        for n, v in new.items():
            setattr(self, n, v)

    def result(self) -> torch.Tensor:
        if not self._built:
            return torch.zeros((), dtype=self.dtype)
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        precision = tp / (tp + fp + EPSILON)
        recall = tp / (tp + fn + EPSILON)
        beta2 = self.beta ** 2
        f = precision * recall / (beta2 * precision + recall + EPSILON) * (1 + beta2)
        if self.average == "weighted":
            w = self.intermediate_weights / (self.intermediate_weights.sum() + EPSILON)
            return (f * w).sum()
        if self.average is not None:
            return f.mean()
        return f

    def reset_state(self) -> None:
        if self._built:
            super().reset_state()

    def get_config(self) -> dict:
        return {**super().get_config(), "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """:class:`FBetaScore` with ``beta=1``: the harmonic mean of precision and recall."""

    def __init__(self, average: Optional[str] = None, threshold: Optional[float] = None, name: str = "f1_score",
                 dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["beta"]
        return config


# --------------------------------------------------------------------------
# regression, hinge and probabilistic metrics
# --------------------------------------------------------------------------




def cosine_similarity(y_true, y_pred, axis: int = -1) -> torch.Tensor:
    """The cosine of the angle between ``y_true`` and ``y_pred`` along ``axis`` (``keras.metrics``'s sign: 1 for
    the same direction; ``keras.losses.cosine_similarity`` is its negative).

    Example:
        >>> cosine_similarity(torch.tensor([[0., 1.], [1., 1.]]), torch.tensor([[1., 0.], [1., 1.]]))
        tensor([0.0000, 1.0000])
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return (L.l2_normalize(y_true, axis) * L.l2_normalize(y_pred, axis)).sum(axis)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """The mean of :func:`mean_absolute_percentage_error` (``"mape"``).

    Example:
        >>> float(MeanAbsolutePercentageError()(torch.tensor([[2., 4.]]), torch.tensor([[1., 5.]])))
        37.5
    """

    _direction = "down"

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """The mean of :func:`mean_squared_logarithmic_error` (``"msle"``)."""

    _direction = "down"

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """The square root of the mean of the squared errors (averaged per sample first, as Keras's ``Mean``).

    Example:
        >>> float(RootMeanSquaredError()(torch.tensor([[0., 1.], [1., 1.]]), torch.tensor([[1., 1.], [1., 1.]])))
        0.5
    """

    _direction = "down"

    def __init__(self, name: str = "root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = _tensor(y_pred).to(self.dtype)
        y_true = _tensor(y_true, device=y_pred.device).to(y_pred.device, self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        super().update_state((y_pred - y_true).square(), sample_weight=sample_weight)

    def result(self) -> torch.Tensor:
        return torch.sqrt(super().result())


class CosineSimilarity(MeanMetricWrapper):
    """The mean of :func:`cosine_similarity` along ``axis``."""

    _direction = "up"

    def __init__(self, name: str = "cosine_similarity", dtype=None, axis: int = -1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


class LogCoshError(MeanMetricWrapper):
    """The mean of :func:`log_cosh` (default name ``"logcosh"``, as in Keras)."""

    _direction = "down"

    def __init__(self, name: str = "logcosh", dtype=None):
        super().__init__(log_cosh, name=name, dtype=dtype)


class Hinge(MeanMetricWrapper):
    """The mean of :func:`hinge`."""

    _direction = "down"

    def __init__(self, name: str = "hinge", dtype=None):
        super().__init__(hinge, name=name, dtype=dtype)


class SquaredHinge(MeanMetricWrapper):
    """The mean of :func:`squared_hinge`."""

    _direction = "down"

    def __init__(self, name: str = "squared_hinge", dtype=None):
        super().__init__(squared_hinge, name=name, dtype=dtype)


class CategoricalHinge(MeanMetricWrapper):
    """The mean of :func:`categorical_hinge`."""

    _direction = "down"

    def __init__(self, name: str = "categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, name=name, dtype=dtype)


class KLDivergence(MeanMetricWrapper):
    """The mean of :func:`kl_divergence`.

    Example:
        >>> round(float(KLDivergence()(torch.tensor([[0., 1.]]), torch.tensor([[0.4, 0.6]]))), 4)
        0.5108
    """

    _direction = "down"

    def __init__(self, name: str = "kl_divergence", dtype=None):
        super().__init__(kl_divergence, name=name, dtype=dtype)


class Poisson(MeanMetricWrapper):
    """The mean of :func:`poisson`."""

    _direction = "down"

    def __init__(self, name: str = "poisson", dtype=None):
        super().__init__(poisson, name=name, dtype=dtype)


_R2_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """The coefficient of determination of ``(N, D)`` outputs, one score per output column aggregated by
    ``class_aggregation`` (``"uniform_average"``, ``"variance_weighted_average"``, or ``None`` for the
    per-column scores); ``num_regressors > 0`` gives the adjusted score, where ``n`` counts the samples (rows)
    seen, as Keras's fix keras-team/keras#23334 does (Keras 3.15.1 counts every value, ``N * D``: the same for one
    output column), and Keras's fall-back (with its warning) when ``n - 1 <= num_regressors``.
    As Keras's, the state is ``floatx`` whatever ``dtype`` says (the inputs are cast to ``dtype``, the sums
    kept in ``floatx``): ``R2Score(dtype="float64")`` gives a float32 result under the default floatx.

    Example:
        >>> y_true = torch.tensor([[1.], [4.], [3.]])
        >>> y_pred = torch.tensor([[2.], [4.], [4.]])
        >>> round(float(R2Score()(y_true, y_pred)), 4)
        0.5714
    """

    _direction = "up"

    def __init__(self, class_aggregation: Optional[str] = "uniform_average", num_regressors: int = 0,
                 name: str = "r2_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in _R2_AGGREGATIONS:
            raise ValueError("Invalid value for argument `class_aggregation`. Expected one of "
                             f"{_R2_AGGREGATIONS}. Received: class_aggregation={class_aggregation}")
        if num_regressors < 0:
            raise ValueError("Invalid value for argument `num_regressors`. Expected a value >= 0. "
                             f"Received: num_regressors={num_regressors}")
        self.class_aggregation, self.num_regressors = class_aggregation, num_regressors
        self.add_variable((), "num_samples")
        self._built = False

    def _build(self, y_true_shape, y_pred_shape) -> None:
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError("R2Score expects 2D inputs with shape (batch_size, output_dim). Received input "
                             f"shapes: y_pred.shape={tuple(y_pred_shape)} and y_true.shape={tuple(y_true_shape)}.")
        for n in ("squared_sum", "sum", "total_mse", "count"):
            self.add_variable((y_pred_shape[-1],), n)
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = _tensor(y_pred).to(self.dtype)
        y_true = _tensor(y_true, device=y_pred.device).to(y_pred.device, self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        self._on(y_pred.device)
        sw = _tensor(1.0 if sample_weight is None else sample_weight, self.dtype, y_pred.device).to(y_pred.device)
        if sw.dim() == 1:
            sw = sw.unsqueeze(1)
        sw = torch.broadcast_to(sw, y_true.shape)
        weighted = y_true * sw
        # Keras's state variables are floatx (its add_variable calls name no dtype): each sum is added in the
        # wider dtype and assigned back in the state's
        state = self.sum.dtype
        self.sum = (self.sum + weighted.sum(0)).to(state)
        self.squared_sum = (self.squared_sum + (y_true * weighted).sum(0)).to(state)
        self.total_mse = (self.total_mse + ((y_true - y_pred).square() * sw).sum(0)).to(state)
        self.count = (self.count + sw.sum(0)).to(state)
        # rows, Keras's fix keras-team/keras#23334 (3.15.1 counts every value, N * D, as a sample)
        self.num_samples = self.num_samples + (y_true.shape[0] if y_true.dim() else 1)

    def result(self) -> torch.Tensor:
        if not self._built:
            return torch.zeros((), dtype=torch.get_default_dtype())
        mean = self.sum / self.count
        total = self.squared_sum - self.sum * mean
        raw = 1 - self.total_mse / total
        raw = torch.where(torch.isinf(raw), torch.zeros_like(raw), raw)
        if self.class_aggregation == "uniform_average":
            r2 = raw.mean()
        elif self.class_aggregation == "variance_weighted_average":
            r2 = (total * raw).sum() / total.sum()
        else:
            r2 = raw
        if self.num_regressors != 0:
            n_samples = float(self.num_samples)
            if self.num_regressors > n_samples - 1:
                warnings.warn("More independent predictors than datapoints in adjusted R2 score. Falling back to "
                              "standard R2 score.", stacklevel=2)
            elif self.num_regressors == n_samples - 1:
                warnings.warn("Division by zero in Adjusted R2 score. Falling back to standard R2 score.",
                              stacklevel=2)
            else:  # Keras takes n and p in float32
                n = torch.tensor(n_samples, dtype=torch.float32)
                p = torch.tensor(float(self.num_regressors), dtype=torch.float32)
                num = (1.0 - r2) * (n - 1.0).to(r2.device, r2.dtype)
                r2 = 1.0 - num / (n - p - 1.0).to(r2.device, r2.dtype)
        return r2

    def get_config(self) -> dict:
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


# --------------------------------------------------------------------------
# correlations
# --------------------------------------------------------------------------


def _reduce_std(x: torch.Tensor, axis: int) -> torch.Tensor:
    """``tf.math.reduce_std``: the square root of the mean squared deviation from the mean."""
    return torch.sqrt((x - x.mean(axis, keepdim=True)).square().mean(axis, keepdim=True))


def _reduce_var(x: torch.Tensor, axis: int) -> torch.Tensor:
    return (x - x.mean(axis, keepdim=True)).square().mean(axis, keepdim=True)


def pearson_correlation(y_true, y_pred, axis: int = -1) -> torch.Tensor:
    """Pearson's correlation of ``y_true`` and ``y_pred`` along ``axis`` (population standard deviations).

    Example:
        >>> pearson_correlation(torch.tensor([[1., 2., 3.]]), torch.tensor([[2., 4., 7.]]))
        tensor([0.9934])
    """
    y_true, y_pred = _pair(y_true, y_pred)
    t = y_true - y_true.mean(axis, keepdim=True)
    p = y_pred - y_pred.mean(axis, keepdim=True)
    t = t / _reduce_std(t, axis)
    p = p / _reduce_std(p, axis)
    return (t * p).mean(axis)


def concordance_correlation(y_true, y_pred, axis: int = -1) -> torch.Tensor:
    """Lin's concordance correlation of ``y_true`` and ``y_pred`` along ``axis``, computed as Keras does
    (``mean(2 * (y_true - mean_pred) * (y_pred - mean_pred) / (var_true + var_pred + (mean_true - mean_pred)**2
    + 1e-7))``)."""
    y_true, y_pred = _pair(y_true, y_pred)
    true_mean = y_true.mean(axis, keepdim=True)
    pred_mean = y_pred.mean(axis, keepdim=True)
    true_var = _reduce_var(y_true - true_mean, axis)
    pred_var = _reduce_var(y_pred - pred_mean, axis)
    covar = (y_true - pred_mean) * (y_pred - pred_mean)
    norm = true_var + pred_var + (true_mean - pred_mean).square()
    return (2 * covar / (norm + EPSILON)).mean(axis)


class PearsonCorrelation(MeanMetricWrapper):
    """The mean of :func:`pearson_correlation` along ``axis`` (one value per sample for ``axis=-1``)."""

    _direction = "up"

    def __init__(self, name: str = "pearson_correlation", dtype=None, axis: int = -1):
        super().__init__(pearson_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


class ConcordanceCorrelation(MeanMetricWrapper):
    """The mean of :func:`concordance_correlation` along ``axis``."""

    _direction = "up"

    def __init__(self, name: str = "concordance_correlation", dtype=None, axis: int = -1):
        super().__init__(concordance_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


# --------------------------------------------------------------------------
# sensitivity / specificity at a fixed value
# --------------------------------------------------------------------------


class _SensitivitySpecificity(Metric):
    """Keras's ``SensitivitySpecificityBase``: the four counts at ``num_thresholds`` evenly spaced thresholds in
    ``[0, 1]`` (bucketed; one threshold, 0.5, when ``num_thresholds=1``), and the best ``dependent`` rate among
    the thresholds whose ``constrained`` rate is at least ``value``."""

    _direction = "up"
    _value_name: str  # the constrained rate, also the argument's name
    _dependent: str  # the rate maximised

    def __init__(self, value: float, num_thresholds: int = 200, class_id: Optional[int] = None,
                 name: Optional[str] = None, dtype=None):
        if value < 0 or value > 1:
            raise ValueError(f"Argument `{self._value_name}` must be in the range [0, 1]. "
                             f"Received: {self._value_name}={value}")
        setattr(self, self._value_name, value)
        self.num_thresholds = num_thresholds
        super().__init__(name=name, dtype=dtype)
        if num_thresholds <= 0:
            raise ValueError(f"Argument `num_thresholds` must be an integer > 0. Received: "
                             f"num_thresholds={num_thresholds}")
        self.value, self.class_id = value, class_id
        if num_thresholds == 1:
            self.thresholds, self._evenly = [0.5], False
        else:
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds, self._evenly = [0.0] + inner + [1.0], True
        for n in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            self.add_variable((len(self.thresholds),), n)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        _confusion_update(self, {"tp": "true_positives", "tn": "true_negatives", "fp": "false_positives",
                                 "fn": "false_negatives"}, y_true, y_pred, self.thresholds, self._evenly,
                          class_id=self.class_id, sample_weight=sample_weight)

    def result(self) -> torch.Tensor:
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        rates = {"sensitivity": _divide_no_nan(tp, tp + fn), "recall": _divide_no_nan(tp, tp + fn),
                 "specificity": _divide_no_nan(tn, tn + fp), "precision": _divide_no_nan(tp, tp + fp)}
        return self._find_max_under_constraint(rates[self._value_name], rates[self._dependent])

    def _find_max_under_constraint(self, constrained: torch.Tensor, dependent: torch.Tensor) -> torch.Tensor:
        # Keras's ops.greater_equal converts a Python number to a float32 tensor first: in float64 the constraint
        # is float32(value) (a rate of exactly 3/5 falls below float32(0.6)); a NumPy scalar keeps its dtype
        value = self.value
        if isinstance(value, (int, float)) and not isinstance(value, np.generic):
            value = float(np.float32(value))
        feasible = constrained >= torch.tensor(value, dtype=constrained.dtype, device=constrained.device)
        zero = torch.zeros((), dtype=dependent.dtype, device=dependent.device)
        return torch.maximum(torch.where(feasible, dependent, zero).max(), zero)

    def get_config(self) -> dict:
        return {**super().get_config(), self._value_name: self.value, "num_thresholds": self.num_thresholds,
                "class_id": self.class_id}


class SensitivityAtSpecificity(_SensitivitySpecificity):
    """The best sensitivity (recall) among the thresholds whose specificity is at least ``specificity``.

    Example:
        >>> m = SensitivityAtSpecificity(0.5, num_thresholds=3)
        >>> float(m(torch.tensor([0., 0., 1., 1.]), torch.tensor([0.2, 0.6, 0.4, 0.8])))
        0.5
    """

    _value_name = "specificity"
    _dependent = "sensitivity"

    def __init__(self, specificity: float, num_thresholds: int = 200, class_id: Optional[int] = None,
                 name: Optional[str] = None, dtype=None):
        super().__init__(specificity, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)


class SpecificityAtSensitivity(_SensitivitySpecificity):
    """The best specificity among the thresholds whose sensitivity (recall) is at least ``sensitivity``."""

    _value_name = "sensitivity"
    _dependent = "specificity"

    def __init__(self, sensitivity: float, num_thresholds: int = 200, class_id: Optional[int] = None,
                 name: Optional[str] = None, dtype=None):
        super().__init__(sensitivity, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)


class PrecisionAtRecall(_SensitivitySpecificity):
    """The best precision among the thresholds whose recall is at least ``recall``."""

    _value_name = "recall"
    _dependent = "precision"

    def __init__(self, recall: float, num_thresholds: int = 200, class_id: Optional[int] = None,
                 name: Optional[str] = None, dtype=None):
        super().__init__(recall, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)


class RecallAtPrecision(_SensitivitySpecificity):
    """The best recall among the thresholds whose precision is at least ``precision``."""

    _value_name = "precision"
    _dependent = "recall"

    def __init__(self, precision: float, num_thresholds: int = 200, class_id: Optional[int] = None,
                 name: Optional[str] = None, dtype=None):
        super().__init__(precision, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)


# --------------------------------------------------------------------------
# intersection over union
# --------------------------------------------------------------------------


_INT_DTYPES = {"int": torch.int64, "int32": torch.int32, "int64": torch.int64}


def _iou_dtype(dtype) -> torch.dtype:
    """The IoU metrics' state dtype: Keras's default is ``"int"`` (int64), so float weights are truncated."""
    if dtype is None:
        return torch.int64
    if isinstance(dtype, torch.dtype) and dtype in (torch.int32, torch.int64):
        return dtype
    if isinstance(dtype, str) and dtype in _INT_DTYPES:
        return _INT_DTYPES[dtype]
    return _resolve_dtype(dtype)


class _IoUBase(Metric):
    """Keras's ``_IoUBase``: a ``(num_classes, num_classes)`` confusion matrix (rows: true class, columns:
    predicted class) of the (weighted) pixels, in ``dtype`` (default int64, as Keras's ``"int"``)."""

    _direction = "up"

    def __init__(self, num_classes: int, name: Optional[str] = None, dtype=None, ignore_class: Optional[int] = None,
                 sparse_y_true: bool = True, sparse_y_pred: bool = True, axis: int = -1):
        super().__init__(name=name)
        self._dtype = _iou_dtype(dtype)
        self.num_classes, self.ignore_class = num_classes, ignore_class
        self.sparse_y_true, self.sparse_y_pred, self.axis = sparse_y_true, sparse_y_pred, axis
        self.add_variable((num_classes, num_classes), "total_cm", self.dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = _tensor(y_pred)
        y_true = _tensor(y_true, device=y_pred.device).to(y_pred.device)
        self._on(y_pred.device)
        if not self.sparse_y_true:
            y_true = _argmax(y_true, self.axis)
        if not self.sparse_y_pred:
            y_pred = _argmax(y_pred, self.axis)
        # a cast to an integer dtype truncates toward zero, as TensorFlow's
        y_true = y_true.to(self.dtype).reshape(-1)
        y_pred = y_pred.to(self.dtype).reshape(-1)
        if y_true.numel() != y_pred.numel() and 1 not in (y_true.numel(), y_pred.numel()):
            # Keras fails here too (its LogicalAnd of the two bounds masks: "Dimensions must be equal");
            # the usual cause is a softmax output given to the default sparse_y_pred=True
            hint = (" y_pred holds class scores (e.g. a softmax output): pass sparse_y_pred=False to take their "
                    f"argmax along axis={self.axis}, as Keras's IoU metrics require."
                    if self.sparse_y_pred and y_true.numel() and y_pred.numel() % y_true.numel() == 0 else "")
            raise ValueError(f"{type(self).__name__}: y_true has {y_true.numel()} class ids and y_pred "
                             f"{y_pred.numel()} once flattened; they must be one per pixel/sample.{hint}")
        if sample_weight is None:
            sw = torch.ones((), dtype=self.dtype, device=y_pred.device)
        else:
            if hasattr(sample_weight, "dtype") and "float" in str(sample_weight.dtype) \
                    and not self.dtype.is_floating_point:
                warnings.warn("You are passing weight as `float`, but dtype is `int`. This may result in an "
                              "incorrect weight due to type casting Consider using integer weights.", stacklevel=2)
            sw = _tensor(sample_weight, device=y_pred.device).to(y_pred.device).to(self.dtype)
            if sw.dim() > 1:
                sw = sw.reshape(-1)
        sw = torch.broadcast_to(sw, y_true.shape)
        n = self.num_classes
        valid = (y_true >= 0) & (y_true < n) & (y_pred >= 0) & (y_pred < n)
        if self.ignore_class is not None:
            valid = valid & (y_true != torch.tensor(self.ignore_class).to(y_true.dtype))
        zero = torch.zeros((), dtype=self.dtype, device=y_pred.device)
        y_true = torch.where(valid, y_true, zero).to(torch.int64)
        y_pred = torch.where(valid, y_pred, zero).to(torch.int64)
        sw = torch.where(valid, sw, zero)
        cm = torch.zeros(n * n, dtype=self.dtype, device=y_pred.device).index_add_(0, y_true * n + y_pred, sw)
        self.total_cm = self.total_cm + cm.reshape(n, n)

    def result(self) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {**super().get_config(), "num_classes": self.num_classes, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class IoU(_IoUBase):
    """Intersection over union, ``tp / (tp + fp + fn)`` per class from the accumulated confusion matrix,
    averaged over ``target_class_ids`` (classes never seen, predicted nor true, left out of the average).

    Labels and predictions are class ids (``sparse_y_true`` / ``sparse_y_pred``; else the argmax along
    ``axis``), flattened; ids outside ``[0, num_classes)`` and ``ignore_class`` are not counted. The matrix is
    in ``dtype``, by default int64 as in Keras, so float sample weights are truncated (with Keras's warning);
    the result is float32, as Keras computes it.

    Example:
        >>> m = IoU(num_classes=2, target_class_ids=[0])
        >>> round(float(m(torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 0, 1]))), 4)
        0.3333
    """

    def __init__(self, num_classes: int, target_class_ids: Sequence[int], name: Optional[str] = None, dtype=None,
                 ignore_class: Optional[int] = None, sparse_y_true: bool = True, sparse_y_pred: bool = True,
                 axis: int = -1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)
        if max(target_class_ids) >= num_classes:
            raise ValueError(f"Target class id {max(target_class_ids)} is out of range, which is "
                             f"[0, {num_classes}).")
        self.target_class_ids = list(target_class_ids)

    def result(self) -> torch.Tensor:
        cm = self.total_cm
        sum_over_row, sum_over_col, tp = cm.sum(0), cm.sum(1), torch.diagonal(cm)
        denominator = sum_over_row + sum_over_col - tp
        ids = torch.tensor(self.target_class_ids, dtype=torch.int64, device=cm.device)
        tp, denominator = tp[ids].to(torch.float32), denominator[ids].to(torch.float32)
        valid = denominator > 1e-9
        num_valid = tf_sum(valid.to(torch.float32))
        iou = torch.where(valid, tp / (denominator + EPSILON), torch.zeros((), dtype=torch.float32,
                                                                            device=cm.device))
        # Keras sums over ``axis`` here, which fails for an axis other than -1 / 0: the sum is over the classes
        return tf_sum(iou) / (num_valid + EPSILON)

    def get_config(self) -> dict:
        return {**super().get_config(), "target_class_ids": self.target_class_ids}


class BinaryIoU(IoU):
    """:class:`IoU` of a binary task: a prediction (taken in float32) is class 1 when ``>= threshold``.

    Example:
        >>> m = BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
        >>> round(float(m(torch.tensor([0, 1, 0, 1]), torch.tensor([0.1, 0.2, 0.4, 0.7]))), 4)
        0.3333
    """

    def __init__(self, target_class_ids: Sequence[int] = (0, 1), threshold: float = 0.5,
                 name: Optional[str] = None, dtype=None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = _tensor(y_pred)
        y_true = _tensor(y_true, device=y_pred.device).to(y_pred.device).to(self.dtype)
        y_pred = y_pred.to(torch.float32) >= torch.tensor(self.threshold, dtype=torch.float32)
        super().update_state(y_true, y_pred.to(self.dtype), sample_weight)

    def get_config(self) -> dict:
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold, "name": self.name,
                "dtype": str(self.dtype).replace("torch.", "")}


class MeanIoU(IoU):
    """:class:`IoU` averaged over all ``num_classes`` classes.

    Example:
        >>> m = MeanIoU(num_classes=2)
        >>> round(float(m(torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 0, 1]))), 4)
        0.3333
    """

    def __init__(self, num_classes: int, name: Optional[str] = None, dtype=None, ignore_class: Optional[int] = None,
                 sparse_y_true: bool = True, sparse_y_pred: bool = True, axis: int = -1):
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["target_class_ids"]
        return config


class OneHotIoU(IoU):
    """:class:`IoU` of one-hot labels (``sparse_y_true=False``) and, by default, scores (argmax along ``axis``)."""

    def __init__(self, num_classes: int, target_class_ids: Sequence[int], name: Optional[str] = None, dtype=None,
                 ignore_class: Optional[int] = None, sparse_y_pred: bool = False, axis: int = -1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["sparse_y_true"]
        return config


class OneHotMeanIoU(MeanIoU):
    """:class:`MeanIoU` of one-hot labels and, by default, scores."""

    def __init__(self, num_classes: int, name: Optional[str] = None, dtype=None, ignore_class: Optional[int] = None,
                 sparse_y_pred: bool = False, axis: int = -1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["sparse_y_true"]
        return config


_LOSS_FUNCTIONS = (L.binary_crossentropy, L.categorical_crossentropy, L.sparse_categorical_crossentropy,
                   L.binary_focal_crossentropy, L.categorical_focal_crossentropy, mean_squared_error,
                   mean_absolute_error, mean_absolute_percentage_error, mean_squared_logarithmic_error, log_cosh,
                   hinge, squared_hinge, categorical_hinge, kl_divergence, poisson)

# --------------------------------------------------------------------------
# names
# --------------------------------------------------------------------------


_CLASSES = (Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
            SparseTopKCategoricalAccuracy, BinaryCrossentropy, CategoricalCrossentropy,
            SparseCategoricalCrossentropy, MeanSquaredError, MeanAbsoluteError, TruePositives, FalsePositives,
            TrueNegatives, FalseNegatives, Precision, Recall, AUC, FBetaScore, F1Score, Mean, Sum,
            RootMeanSquaredError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError, CosineSimilarity,
            LogCoshError, R2Score, Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson,
            SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision,
            PearsonCorrelation, ConcordanceCorrelation, IoU, BinaryIoU, MeanIoU, OneHotIoU, OneHotMeanIoU,
            MeanMetricWrapper)
_BY_NAME: dict[str, type] = {c.__name__: c for c in _CLASSES}
_BY_NAME.update({_snake_case(c.__name__): c for c in _CLASSES})
_BY_NAME.update({"bce": BinaryCrossentropy, "BCE": BinaryCrossentropy, "mse": MeanSquaredError,
                 "MSE": MeanSquaredError, "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
                 "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
                 "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError})


def get(identifier) -> Union[Metric, Callable]:
    """A metric from an identifier, as ``keras.metrics.get``: a class or snake-case name (``"AUC"``,
    ``"auc"``, ``"Precision"``, ``"binary_crossentropy"``, ``"r2_score"``) or alias (``"mse"``, ``"mae"``,
    ``"bce"``, ``"mape"``, ``"msle"``) gives an instance with the default options (a class with a required
    argument, such as ``IoU`` or ``MeanMetricWrapper``, fails as in Keras); a class gives an instance; a metric or other callable is
    returned as is. ``"accuracy"``/``"acc"`` is resolved from the shapes by ``fit``, as ``compile`` does.

    Example:
        >>> get("auc").name, get("Precision").thresholds
        ('auc', [0.5])
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):  # Keras's get: deserialize, then a class is instantiated
        obj = deserialize(identifier)
        if callable(obj):
            return obj() if inspect.isclass(obj) else obj
        raise ValueError(f"Could not interpret metric identifier: {identifier}")
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier)
        if cls is None:
            raise ValueError(f"Could not interpret metric identifier: {identifier}")
        return cls()
    if inspect.isclass(identifier) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, Metric) or callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret metric identifier: {identifier}")


# ---------------------------------------------------------------------------------- serialize / deserialize

#: keras.metrics.ALL_OBJECTS_DICT: the classes by name and snake-case name, and the aliases
_KERAS_ALL_OBJECTS = {**{c.__name__: c for c in _CLASSES}, **{_snake_case(c.__name__): c for c in _CLASSES},
                      "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy, "mse": MeanSquaredError,
                      "MSE": MeanSquaredError, "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
                      "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
                      "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError}
#: the functions Keras exports as keras.metrics.<name>
_KERAS_FUNCTIONS = ("binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
                    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "pearson_correlation",
                    "concordance_correlation")
_NAMESPACE = None


def _keras_namespace():
    """This module's objects under their Keras API names (see :mod:`torch_impl._serialization`)."""
    global _NAMESPACE
    if _NAMESPACE is None:
        from torch_impl._serialization import KerasNamespace

        functions = {n: globals()[n] for n in _KERAS_FUNCTIONS}
        canonical = {**{c: f"keras.metrics.{c.__name__}" for c in (Metric, *_CLASSES)},
                     **{f: f"keras.metrics.{n}" for n, f in functions.items()}}
        _NAMESPACE = KerasNamespace(symbols={name: obj for obj, name in canonical.items()}, canonical=canonical,
                                    modules={"keras.metrics": {**{c.__name__: c for c in (Metric, *_CLASSES)},
                                                               **functions}})
    return _NAMESPACE


def serialize(metric):
    """Keras's ``keras.metrics.serialize``: ``{"module": "keras.metrics", "class_name": "AUC", "config":
    get_config(), "registered_name": None}`` for a built-in metric, Keras's function and custom-class forms
    otherwise (as :func:`torch_impl.losses.serialize`).

    Example:
        >>> serialize(AUC(curve="PR"))["config"]["curve"]
        'PR'
    """
    from torch_impl._serialization import serialize_keras_object

    return serialize_keras_object(metric, _keras_namespace())


def deserialize(config, custom_objects: Optional[dict] = None):
    """Keras's ``keras.metrics.deserialize``: a metric from the dict ``keras.metrics.serialize`` (or
    :func:`serialize`) writes, a short ``{"class_name": ..., "config": {...}}``, or a class name; Keras's rules
    (an unknown name comes back unchanged; :func:`get` raises there).

    Example:
        >>> deserialize({"class_name": "Precision", "config": {"thresholds": [0.2, 0.4]}}).thresholds
        [0.2, 0.4]
    """
    from torch_impl._serialization import deserialize_keras_object

    return deserialize_keras_object(config, _keras_namespace(), custom_objects=custom_objects,
                                    module_objects=_KERAS_ALL_OBJECTS)

"""Class weights as Keras's ``fit(class_weight=...)`` applies them.

Keras turns ``class_weight`` into a per-sample weight before the loss sees it:
labels of shape ``(N, C)`` are reduced with ``argmax``, ``(N, 1)`` is squeezed,
the result is rounded (half to even) to an integer class id, and each sample
gets ``class_weight.get(id, 1.0)``; classes missing from the dict weigh 1.0.
The weights are stored in ``floatx`` (here ``torch.get_default_dtype()``), so
``0.1`` is ``float32(0.1)`` in a float32 setting. That weight then goes through
the loss's reduction like any sample weight, so under the default
``sum_over_batch_size`` the weighted sum is divided by the number of samples,
NOT by the sum of the weights (``torch.nn.CrossEntropyLoss(weight=...)``
divides by the sum of the weights).

Keys are converted with ``int(key)`` like current Keras (so ``"2"``, ``2.0``,
``np.int64(2)`` mean class 2 and ``True``/``False`` classes 1/0); a key that is
not an integer raises ``ValueError`` (Keras 3.15.1 silently ignores it, every
sample of that class then weighing 1.0). A non-integral number such as ``1.5``
raises too (upstream Keras would truncate it to 1).

Where Keras goes on with a silently wrong weight, these functions raise
``ValueError`` instead: NaN or infinite labels (Keras casts them to an arbitrary
int32), class ids outside int32 (Keras wraps them around), labels that are not
numbers, NaN/infinite weights or weights that overflow the weight dtype, and
labels with several class ids per sample (sequence labels ``(N, T, C)``, where
Keras raises ``TypeError``).

Example:
    >>> import torch
    >>> from torch_impl.class_weight import class_weight_to_sample_weight, compute_class_weight
    >>> y = torch.tensor([0, 0, 0, 1])
    >>> class_weight_to_sample_weight(y, {0: 1.0, 1: 3.0})
    tensor([1., 1., 1., 3.])
    >>> compute_class_weight(y)
    {0: 0.6666666666666666, 1: 2.0}
"""

from __future__ import annotations

import numbers
import warnings
from typing import Mapping, Optional, Sequence, Union

import numpy as np
import torch

__all__ = ["class_weight_to_sample_weight", "compute_class_weight", "labels_to_class_ids", "normalize_class_weight"]

ArrayLike = Union[torch.Tensor, np.ndarray, Sequence]

_INT32 = np.iinfo(np.int32)


def _to_numpy(y: ArrayLike) -> np.ndarray:
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu()
        if y.dtype == torch.bfloat16:
            y = y.float()  # exact
        return y.numpy()
    return np.asarray(y)


def _where(bad: np.ndarray) -> str:
    """``"2 entries, the first at index 5"`` for a boolean array."""
    idx = np.argwhere(bad)
    first = tuple(int(i) for i in idx[0])
    n = len(idx)
    return f"{n} entr{'y' if n == 1 else 'ies'}, the first at index {first if len(first) > 1 else first[0]}"


def labels_to_class_ids(y: ArrayLike) -> np.ndarray:
    """Integer class ids from labels the way Keras fit does (argmax / squeeze / round half to even).

    ``y`` of shape ``(N,)``, ``(N, 1)`` or one-hot/probabilities ``(N, C)``
    (argmax, the first maximum on ties), as a tensor, array or list; bool
    labels are 0/1. Like Keras, higher ranks work only when they leave one id
    per sample (``(N, 1, C)``, ``(N, 1, 1)``); otherwise (sequence labels
    ``(N, T, C)``, ``(N, T, 1)``) ``ValueError`` (Keras raises ``TypeError``).
    NaN/infinite labels, labels that are not numbers and ids outside int32
    (where Keras's int32 cast would wrap) raise ``ValueError``.

    Example:
        >>> labels_to_class_ids([[0.5], [1.5], [2.5]]).tolist()  # half to even
        [0, 2, 2]
    """
    y_np = _to_numpy(y)
    shape = tuple(y_np.shape)
    if y_np.dtype.kind not in "biuf":
        raise ValueError(
            f"class_weight needs numeric labels (class ids, one-hot or probabilities); received labels of dtype "
            f"{y_np.dtype}. Map the labels to integer class ids first (e.g. sklearn.preprocessing.LabelEncoder).")
    if y_np.ndim == 0:
        raise ValueError(f"class_weight needs one label per sample: y of shape (N,), (N, 1) or one-hot (N, C). "
                         f"Received a scalar y ({y_np.item()!r}).")
    if y_np.dtype.kind == "f":
        bad = ~np.isfinite(y_np)
        if bad.any():
            raise ValueError(f"class_weight: the labels contain NaN or inf ({_where(bad)} of y of shape {shape}); "
                             "class ids cannot be derived from them (Keras would cast them to an arbitrary int32 id).")
    if y_np.ndim > 1:  # Keras: argmax over the last axis, or squeeze a trailing 1
        one_id = int(np.prod(y_np.shape[1:-1])) == 1  # else the ValueError below, not this reading
        if y_np.shape[-1] != 1 and y_np.size and one_id and (y_np.min() < 0 or y_np.max() > 1):
            warnings.warn(f"class_weight: labels of shape {shape} are read as one-hot rows (Keras's rule: the "
                          "argmax over the last axis), but they hold values outside [0, 1], as class ids per "
                          "timestep would; each sample gets the weight of its row's largest entry's position. For "
                          "sequence labels pass per-element weights as sample_weight instead.", UserWarning,
                          stacklevel=3)
        y_np = np.argmax(y_np, axis=-1) if y_np.shape[-1] != 1 else np.squeeze(y_np, axis=-1)
        if y_np.ndim > 1:
            if int(np.prod(y_np.shape[1:])) != 1:
                raise ValueError(
                    "class_weight needs one class id per sample: y of shape (N,), (N, 1) or one-hot (N, C). "
                    f"Received y of shape {shape}, which gives {int(np.prod(y_np.shape[1:]))} class ids per sample "
                    "(Keras's fit raises TypeError here for arrays and PyDatasets; a tf.data.Dataset gets one "
                    "weight per remaining element). For sequence or image labels pass per-element weights as "
                    "sample_weight instead (e.g. sample_weight=w[masks]: Keras's tf.data run).")
            y_np = y_np.reshape(y_np.shape[0])  # (N, 1, C) and (N, 1, 1) work in Keras: one id per sample
    if y_np.dtype.kind == "f":
        y_np = np.round(y_np).astype(np.float64)  # half to even in the labels' dtype, as Keras's np.round
    out_of_range = (y_np < _INT32.min) | (y_np > _INT32.max)
    if out_of_range.any():
        raise ValueError(f"class_weight: class ids must fit in int32 (Keras casts them to int32, so "
                         f"{y_np[out_of_range][0].item()!r} would wrap around). Out of range in y of shape "
                         f"{shape}: {_where(out_of_range)}.")
    return y_np.astype(np.int64)


def _class_key(key) -> Optional[int]:
    """``int(key)`` for a key that names an integer class id (``True`` is 1, ``"2"`` and ``2.0`` are 2), else None."""
    if isinstance(key, (bool, np.bool_, numbers.Integral)):
        return int(key)
    if isinstance(key, numbers.Real):
        try:
            return int(key) if float(key).is_integer() else None
        except (OverflowError, ValueError):  # inf, nan
            return None
    if isinstance(key, str):
        try:
            return int(key.strip())
        except ValueError:
            return None
    return None


def normalize_class_weight(class_weight: Mapping) -> dict[int, float]:
    """Check ``class_weight`` and return it with ``int`` keys and ``float`` values (see the module docstring).

    Example:
        >>> normalize_class_weight({np.int64(0): 1, "1": np.float32(0.5), 2.0: 3})
        {0: 1.0, 1: 0.5, 2: 3.0}
        >>> normalize_class_weight({False: 1, True: 4})  # bool keys are classes 0 and 1, as in Keras
        {0: 1.0, 1: 4.0}
    """
    if not hasattr(class_weight, "items") or not hasattr(class_weight, "get"):
        hint = (" (scikit-learn's compute_class_weight('balanced', classes=classes, y=y) returns the weights in "
                "the order of `classes`: pass dict(zip(classes, weights)))") \
            if isinstance(class_weight, (np.ndarray, list, tuple)) else ""
        raise ValueError(
            "`class_weight` must be a dict mapping integer class ids to weights. "
            f"Received: {class_weight!r} of type {type(class_weight).__name__}.{hint}"
        )
    out: dict[int, float] = {}
    origin: dict[int, object] = {}
    for key, value in class_weight.items():
        k = _class_key(key)
        if k is None:
            raise ValueError(
                "`class_weight` must be a dictionary with integer keys (class ids). "
                f"Received an invalid key {key!r} of type {type(key).__name__}."
            )
        if k in out:
            raise ValueError(f"`class_weight` has two keys for class {k}: {origin[k]!r} and {key!r}.")
        try:
            w = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"`class_weight` values must be numbers. Received {value!r} for class {key!r}.") from None
        if not np.isfinite(w):
            raise ValueError(f"`class_weight` values must be finite. Received {value!r} for class {key!r}.")
        out[k], origin[k] = w, key
    return out


def class_weight_to_sample_weight(
    y: ArrayLike,
    class_weight: Mapping,
    dtype: Optional[torch.dtype] = None,
    device: Optional[Union[str, torch.device]] = None,
) -> torch.Tensor:
    """Per-sample weights from ``class_weight``, exactly as Keras ``fit`` makes them.

    Args:
        y: labels of shape ``(N,)``, ``(N, 1)`` or one-hot ``(N, C)`` (:func:`labels_to_class_ids`).
        class_weight: ``{class_id: weight}``; missing classes weigh 1.0.
        dtype: weight dtype, default ``torch.get_default_dtype()`` (Keras: floatx;
            so in a float32 setting the weights are float32-rounded like Keras's).
        device: default ``y``'s device when ``y`` is a tensor, else CPU.

    Returns:
        A tensor of shape ``(N,)``.

    Example:
        >>> class_weight_to_sample_weight([[0., 1.], [1., 0.]], {1: 10})
        tensor([10.,  1.])
    """
    cw = normalize_class_weight(class_weight)
    dtype = dtype or torch.get_default_dtype()
    if not dtype.is_floating_point:
        raise ValueError(f"class_weight_to_sample_weight: dtype must be a floating dtype, got {dtype}")
    ids = labels_to_class_ids(y)
    uniq, inverse = np.unique(ids, return_inverse=True)
    table = torch.tensor([cw.get(int(c), 1.0) for c in uniq], dtype=torch.float64).to(dtype)  # one rounding
    if not torch.isfinite(table).all():
        big = {int(c): cw[int(c)] for c, t in zip(uniq, table.tolist()) if not np.isfinite(t)}
        raise ValueError(f"`class_weight` values {big} overflow the weight dtype {dtype} (Keras: floatx) to inf.")
    weights = table[torch.as_tensor(inverse.reshape(-1), dtype=torch.long)]
    if device is None and isinstance(y, torch.Tensor):
        device = y.device
    return weights.to(device) if device is not None else weights


_NOT_GIVEN = object()


def compute_class_weight(
    y_or_class_weight=_NOT_GIVEN,
    /,
    class_weight: Union[str, Mapping, None] = _NOT_GIVEN,  # type: ignore[assignment]
    classes: Optional[Sequence[int]] = None,
    *,
    y: ArrayLike = _NOT_GIVEN,  # type: ignore[assignment]
    sample_weight: Optional[ArrayLike] = None,
) -> Union[dict[int, float], np.ndarray]:
    """Class weights by scikit-learn's rule, as a ``{class_id: weight}`` dict (ours) or, called as scikit-learn's
    function, as its array.

    ``"balanced"`` gives ``n_samples / (n_classes * count(class))`` (scikit-learn's
    ``compute_class_weight``); labels may be integer, ``(N, 1)`` or one-hot
    (:func:`labels_to_class_ids`). Two calling conventions:

    * ours: ``compute_class_weight(y, class_weight="balanced", classes=None)`` gives the dict that
      ``fit(class_weight=...)`` takes;
    * scikit-learn's: ``compute_class_weight("balanced", classes=classes, y=y)`` (a str, dict or ``None``
      first, ``y`` by keyword; ``classes`` may be left out: the ids in ``y``) gives what scikit-learn's gives, a
      float64 array in the order of ``classes``, so that code written for it (``dict(enumerate(weights))``,
      ``dict(zip(classes, weights))``) means the same with this import (a dict there would silently give
      ``{0: 0, 1: 1}``).

    Args:
        y: the training labels (first argument, or keyword ``y=``).
        class_weight: ``"balanced"``, a dict or ``None`` (all ones), as in scikit-learn.
        classes: the class ids to weigh; default the ids present in ``y``. With
            ``"balanced"`` every class must occur in ``y`` and every label of ``y``
            must be in ``classes`` (``ValueError`` otherwise, as in scikit-learn).
        sample_weight: per-sample weights for the ``"balanced"`` counts
            (scikit-learn's argument; needs scikit-learn >= 1.6).

    Example:
        >>> compute_class_weight([0] * 900 + [1] * 100)
        {0: 0.5555555555555556, 1: 5.0}
        >>> compute_class_weight("balanced", classes=[0, 1], y=[0] * 900 + [1] * 100)  # scikit-learn's call
        array([0.55555556, 5.        ])
    """
    from sklearn.utils.class_weight import compute_class_weight as _sk_compute

    first_is_weight = y_or_class_weight is None or isinstance(y_or_class_weight, (str, Mapping))
    sklearn_call = y is not _NOT_GIVEN  # y by keyword: scikit-learn's convention, and its return type
    if y is not _NOT_GIVEN:  # y by keyword: the first argument, if any, is the class weight (scikit-learn's order)
        if y_or_class_weight is not _NOT_GIVEN:
            if not first_is_weight:
                raise TypeError("compute_class_weight: y given twice (first argument and y=); scikit-learn's order "
                                "is compute_class_weight('balanced', classes=..., y=...)")
            if class_weight is not _NOT_GIVEN:
                raise TypeError("compute_class_weight: class_weight given twice (first argument and class_weight=)")
            class_weight = y_or_class_weight
    elif y_or_class_weight is _NOT_GIVEN or first_is_weight:
        raise TypeError("compute_class_weight: missing the labels y; call compute_class_weight(y, 'balanced') or "
                        "compute_class_weight('balanced', classes=..., y=y)")
    else:
        y = y_or_class_weight
    if class_weight is _NOT_GIVEN:
        class_weight = "balanced"
    if isinstance(class_weight, str) and class_weight != "balanced":
        raise ValueError(f"compute_class_weight: class_weight must be 'balanced', a dict or None, got {class_weight!r}")
    if not (class_weight is None or isinstance(class_weight, (str, Mapping))):
        raise ValueError("compute_class_weight: class_weight must be 'balanced', a dict or None, got "
                         f"{class_weight!r} of type {type(class_weight).__name__}")

    if sklearn_call and _to_numpy(y).dtype.kind in "OSU" and classes is not None:
        # string (or object) labels, as scikit-learn takes them: its computation as it is (no class ids here)
        kw = {} if sample_weight is None else {"sample_weight": _to_numpy(sample_weight)}
        return _sk_compute(class_weight, classes=_to_numpy(classes).reshape(-1), y=_to_numpy(y).reshape(-1), **kw)
    ids = labels_to_class_ids(y)
    present = np.unique(ids)
    if classes is None:
        cls = present
    else:
        cls = _to_numpy(classes).reshape(-1)
        if cls.dtype.kind not in "biuf" or (cls.dtype.kind == "f" and not np.all(np.mod(cls, 1) == 0)):
            raise ValueError(f"compute_class_weight: classes must be integer class ids, got {cls.tolist()!r}")
        cls = cls.astype(np.int64)
        extra = np.setdiff1d(present, cls)
        if extra.size:
            raise ValueError(f"classes should include all valid labels that can be in y: y has class ids "
                             f"{extra.tolist()} that are not in classes={cls.tolist()}.")
        if isinstance(class_weight, str):
            missing = np.setdiff1d(cls, present)
            if missing.size:
                raise ValueError(
                    f"classes should have valid labels that are in y: classes {missing.tolist()} do not occur in y, "
                    "and 'balanced' (n_samples / (n_classes * count)) has no weight for a class without samples. "
                    "Leave them out of classes, or give them weights with a dict.")
    if isinstance(class_weight, Mapping):
        class_weight = normalize_class_weight(class_weight)
    kw = {} if sample_weight is None else {"sample_weight": _to_numpy(sample_weight)}
    weights = _sk_compute(class_weight, classes=cls, y=ids, **kw)
    if sklearn_call:
        return np.asarray(weights, dtype=np.float64)
    return {int(c): float(w) for c, w in zip(cls, weights)}

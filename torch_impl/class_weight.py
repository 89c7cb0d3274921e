"""Class weights as Keras's ``fit(class_weight=...)`` applies them.

Keras turns ``class_weight`` into a per-sample weight before the loss sees it:
labels of shape ``(N, C)`` are reduced with ``argmax``, ``(N, 1)`` is squeezed,
the result is rounded (half to even) to an integer class id, and each sample
gets ``class_weight.get(id, 1.0)``; classes missing from the dict weigh 1.0.
That weight then goes through the loss's reduction like any sample weight, so
under the default ``sum_over_batch_size`` the weighted sum is divided by the
number of samples, NOT by the sum of the weights (``torch.nn.CrossEntropyLoss
(weight=...)`` divides by the sum of the weights).

Keys are converted with ``int(key)`` like current Keras (so ``"2"`` means class 2);
a key that is not an integer raises ``ValueError`` (Keras 3.15.1 silently ignores
it, every sample of that class then weighing 1.0). A non-integral number such
as ``1.5`` raises too (upstream Keras would truncate it to 1).

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
from typing import Mapping, Optional, Sequence, Union

import numpy as np
import torch

__all__ = ["class_weight_to_sample_weight", "compute_class_weight", "labels_to_class_ids", "normalize_class_weight"]

ArrayLike = Union[torch.Tensor, np.ndarray, Sequence]


def _to_numpy(y: ArrayLike) -> np.ndarray:
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu()
        if y.dtype == torch.bfloat16:
            y = y.float()
        return y.numpy()
    return np.asarray(y)


def labels_to_class_ids(y: ArrayLike) -> np.ndarray:
    """Integer class ids from labels the way Keras fit does (argmax / squeeze / round).

    Raises ``ValueError`` for labels of rank 0 or above 2 (Keras's array path
    supports one class per sample only).
    """
    y_np = _to_numpy(y)
    if y_np.ndim == 0 or y_np.ndim > 2:
        raise ValueError(
            "class_weight needs one label per sample: y of shape (N,), (N, 1) or one-hot "
            f"(N, C). Received y of shape {tuple(y_np.shape)}. For sequence or image labels, "
            "build per-element sample weights instead."
        )
    if y_np.ndim == 2:
        y_np = np.argmax(y_np, axis=-1) if y_np.shape[-1] != 1 else np.squeeze(y_np, axis=-1)
    if y_np.dtype.kind not in "iub":
        if y_np.size and not np.all(np.isfinite(y_np)):
            raise ValueError("labels contain NaN or inf; class ids cannot be derived.")
        y_np = np.round(y_np)
    return y_np.astype(np.int64)


def normalize_class_weight(class_weight: Mapping) -> dict[int, float]:
    """Check ``class_weight`` and return it with ``int`` keys (see the module docstring)."""
    if not hasattr(class_weight, "items") or not hasattr(class_weight, "get"):
        raise ValueError(
            "`class_weight` must be a dict mapping integer class ids to weights. "
            f"Received: {class_weight!r} of type {type(class_weight).__name__}."
        )
    out: dict[int, float] = {}
    for key, value in class_weight.items():
        if isinstance(key, (bool, np.bool_)):
            ok = False
        elif isinstance(key, numbers.Integral):
            ok, k = True, int(key)
        elif isinstance(key, numbers.Real):
            ok = float(key).is_integer()
            k = int(key) if ok else None
        elif isinstance(key, str):
            try:
                k, ok = int(key.strip()), True
            except ValueError:
                ok = False
        else:
            ok = False
        if not ok:
            raise ValueError(
                "`class_weight` must be a dictionary with integer keys (class ids). "
                f"Received an invalid key {key!r} of type {type(key).__name__}."
            )
        if k in out:
            raise ValueError(f"`class_weight` has two keys for class {k}.")
        try:
            w = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"`class_weight` values must be numbers. Received {value!r} for class {key!r}.") from None
        if not np.isfinite(w):
            raise ValueError(f"`class_weight` values must be finite. Received {value!r} for class {key!r}.")
        out[k] = value
    return out


def class_weight_to_sample_weight(
    y: ArrayLike,
    class_weight: Mapping,
    dtype: Optional[torch.dtype] = None,
    device: Optional[Union[str, torch.device]] = None,
) -> torch.Tensor:
    """Per-sample weights from ``class_weight``, exactly as Keras ``fit`` makes them.

    Args:
        y: labels of shape ``(N,)``, ``(N, 1)`` or one-hot ``(N, C)``.
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
    ids = labels_to_class_ids(y)
    dtype = dtype or torch.get_default_dtype()
    np_dtype = {torch.float64: np.float64, torch.float32: np.float32, torch.float16: np.float16}.get(dtype, np.float32)
    weights = np.ones(ids.shape[0], dtype=np_dtype)
    for i, c in enumerate(ids.tolist()):
        weights[i] = cw.get(c, 1.0)
    if device is None and isinstance(y, torch.Tensor):
        device = y.device
    return torch.as_tensor(weights, device=device).to(dtype)


def compute_class_weight(
    y: ArrayLike,
    class_weight: Union[str, Mapping, None] = "balanced",
    classes: Optional[Sequence[int]] = None,
) -> dict[int, float]:
    """Class weights as a ``{class_id: weight}`` dict, by scikit-learn's rule.

    ``"balanced"`` gives ``n_samples / (n_classes * count(class))`` (scikit-learn's
    ``compute_class_weight``); labels may be integer, ``(N, 1)`` or one-hot.

    Args:
        y: the training labels.
        class_weight: ``"balanced"``, a dict or ``None`` (all ones), as in scikit-learn.
        classes: the class ids to weigh; default the ids present in ``y``.

    Example:
        >>> compute_class_weight([0] * 900 + [1] * 100)
        {0: 0.5555555555555556, 1: 5.0}
    """
    from sklearn.utils.class_weight import compute_class_weight as _sk_compute

    ids = labels_to_class_ids(y)
    cls = np.unique(ids) if classes is None else np.asarray(classes)
    if isinstance(class_weight, Mapping):
        class_weight = normalize_class_weight(class_weight)
    weights = _sk_compute(class_weight, classes=cls, y=ids)
    return {int(c): float(w) for c, w in zip(cls, weights)}

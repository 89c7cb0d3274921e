"""Keras's label utility for ported scripts: ``to_categorical``.

Example:
    >>> from torch_impl.utils import to_categorical
    >>> to_categorical([0, 2, 1])
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]])
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

__all__ = ["to_categorical"]


def to_categorical(x, num_classes: Optional[int] = None):
    """``keras.utils.to_categorical``: class ids to one-hot rows.

    As Keras's: a trailing 1-dim of the labels is dropped (``(N, 1)`` gives ``(N, C)``); ``num_classes``
    defaults to the largest id + 1; NumPy arrays and lists give a float64 NumPy array (what Keras's NumPy path
    returns), a torch tensor gives a tensor in ``torch.get_default_dtype()`` (Keras's ``floatx``) on its device.
    Unlike Keras, an id that is negative, not integral (``1.5``) or ``>= num_classes`` raises ``ValueError``
    (Keras's NumPy path indexes from the end, truncates, or fails with an ``IndexError``).
    """
    is_tensor = isinstance(x, torch.Tensor)
    ids = x.detach().cpu().numpy() if is_tensor else np.asarray(x)
    if ids.dtype == bool:
        ids = ids.astype(np.int64)
    if ids.size and (not np.all(np.isfinite(ids.astype(np.float64))) or np.any(ids != np.round(ids))):
        raise ValueError("to_categorical takes integer class ids; got non-integral values such as "
                         f"{ids[ids != np.round(ids)].reshape(-1)[:3].tolist()}")
    ids = ids.astype(np.int64)
    shape = ids.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    flat = ids.reshape(-1)
    if num_classes is None or num_classes == 0:
        num_classes = int(flat.max()) + 1 if flat.size else 0
    if flat.size and (flat.min() < 0 or flat.max() >= num_classes):
        bad = flat[(flat < 0) | (flat >= num_classes)][:3].tolist()
        raise ValueError(f"to_categorical: class ids must be in [0, {num_classes}); got {bad}")
    out = np.zeros((flat.size, num_classes))
    out[np.arange(flat.size), flat] = 1
    out = out.reshape(tuple(shape) + (num_classes,))
    if is_tensor:
        return torch.as_tensor(out, dtype=torch.get_default_dtype(), device=x.device)
    return out

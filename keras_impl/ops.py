"""``keras.ops`` with the upstream fixes torch_impl follows (DESIGN.md: where released Keras has a bug fixed
upstream, follow the fix): the reference the parity tests compare ``torch_impl.keras_ops`` with where Keras 3.15.1
differs from later Keras. Each function is the fixed code of keras-team/keras master written with Keras 3.15.1's
own ops (TensorFlow backend), so its values and gradients are TensorFlow's:

* ``hypot``: #23157, an infinite input gives ``inf`` (3.15.1: NaN for ``(inf, inf)``, ``(inf, nan)``);
* ``isclose``: #23136, ``(finite & |x1 - x2| <= atol + rtol |x2|) | x1 == x2`` (3.15.1: ``inf`` is not close
  to ``inf``, and ``-inf`` is close to ``inf``);
* ``nancumsum`` / ``nancumprod``: #23135 / #23134, infinities stay (3.15.1: the dtype's max/min);
* ``unravel_index``: #23434, NumPy's coordinates for scalar and N-D indices (3.15.1 walks ``shape`` forwards);
* ``rot90``: #23435, NumPy's rotation of non-square planes (3.15.1 scrambles them for ``k % 4 == 2``);
* ``searchsorted``: #23436, values of any shape (3.15.1: 1-D only);
* ``roll``: #23242, ``shift`` and ``axis`` broadcast against each other (3.15.1: same length only);
* ``in_top_k``: #23232, predictions of rank > 2 (3.15.1: 2-D only);
* ``cdist``: #23213, inputs promoted to ``result_type(x, y, float)`` (3.15.1: same float dtypes only);
* ``istft``: #23255, ``center=True`` ends at ``len - fft_length // 2`` (3.15.1: at ``-(fft_length // 2)``,
  an empty output for ``fft_length=1``);
* ``average``: #23249, NumPy's weight-shape checks and a one-element axis tuple with 1-D weights;
* ``normalize``: #23093, ``order=2`` is ``x * rsqrt(maximum(sum(x**2), eps**2))`` (3.15.1:
  ``x * minimum(rsqrt(sum(x**2)), 1 / eps)``, which rounds differently below the clamp);
* ``utils_normalize`` (``keras.utils.normalize``): #23328, a NumPy array's norm is expanded back at ``axis``
  (3.15.1: at ``axis or -1``, so ``axis=0`` raises or divides by the wrong norms).

:data:`fixed_ops` is ``keras.ops`` with these replaced; :func:`fixed` maps ``keras.ops`` to it (and anything else
to itself), for test cases written as ``fn(ops, *inputs)``.
"""

from __future__ import annotations

import types

import keras
import numpy as np
from keras import ops

__all__ = ["hypot", "isclose", "nancumsum", "nancumprod", "unravel_index", "rot90", "searchsorted", "roll",
           "in_top_k", "cdist", "istft", "average", "normalize", "fixed_ops", "fixed", "utils_normalize"]


def hypot(x1, x2):
    """keras-team/keras#23157."""
    x1, x2 = ops.convert_to_tensor(x1), ops.convert_to_tensor(x2)
    out = ops.hypot(x1, x2)
    return ops.where(ops.logical_or(ops.isinf(ops.abs(x1)), ops.isinf(ops.abs(x2))),
                     ops.cast(np.inf, out.dtype), out)


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """keras-team/keras#23136."""
    x1, x2 = ops.convert_to_tensor(x1), ops.convert_to_tensor(x2)
    dtype = keras.backend.result_type(x1.dtype, x2.dtype)
    if "float" not in dtype:
        return ops.isclose(x1, x2, rtol, atol, equal_nan)
    x1, x2 = ops.cast(x1, dtype), ops.cast(x2, dtype)
    finite = ops.logical_and(ops.isfinite(x1), ops.isfinite(x2))
    close = ops.less_equal(ops.abs(x1 - x2), atol + rtol * ops.abs(x2))
    out = ops.logical_or(ops.logical_and(finite, close), ops.equal(x1, x2))
    if equal_nan:
        out = ops.logical_or(out, ops.logical_and(ops.isnan(x1), ops.isnan(x2)))
    return out


def nancumsum(x, axis=None, dtype=None):
    """keras-team/keras#23135."""
    return ops.cumsum(ops.nan_to_num(x, posinf=np.inf, neginf=-np.inf), axis=axis, dtype=dtype)


def nancumprod(x, axis=None, dtype=None):
    """keras-team/keras#23134."""
    return ops.cumprod(ops.nan_to_num(x, nan=1.0, posinf=np.inf, neginf=-np.inf), axis=axis, dtype=dtype)


def unravel_index(indices, shape):
    """keras-team/keras#23434: the 1-D path of 3.15.1 for indices of every rank."""
    idx = ops.convert_to_tensor(indices)
    if len(idx.shape) == 1:
        return ops.unravel_index(idx, shape)
    flat = ops.unravel_index(ops.reshape(idx, (-1,)), shape)
    return tuple(ops.reshape(c, tuple(idx.shape)) for c in flat)


def rot90(array, k=1, axes=(0, 1)):
    """keras-team/keras#23435: for ``k % 4 == 2`` two flips (3.15.1's one turn is right for every shape)."""
    array = ops.convert_to_tensor(array)
    if k % 4 != 2:
        return ops.rot90(array, k, axes)
    return ops.flip(array, axis=tuple(axes))


def searchsorted(sorted_sequence, values, side="left"):
    """keras-team/keras#23436."""
    values = ops.convert_to_tensor(values)
    out = ops.searchsorted(sorted_sequence, ops.reshape(values, (-1,)), side=side)
    return ops.reshape(out, tuple(values.shape))


def _as_list(v):
    v = v.tolist() if hasattr(v, "tolist") else v
    return list(v) if isinstance(v, (tuple, list)) else [v]


def roll(x, shift, axis=None):
    """keras-team/keras#23242 (``normalize_shift_and_axis``)."""
    if axis is None:
        return ops.roll(x, shift)
    shifts, axes = _as_list(shift), _as_list(axis)
    if len(shifts) == 1:
        shifts = shifts * len(axes)
    if len(axes) == 1:
        axes = axes * len(shifts)
    if len(shifts) != len(axes):
        raise ValueError(f"`shift` and `axis` must be broadcastable to the same length. Received: shift={shift}, "
                         f"axis={axis}")
    return ops.roll(x, shifts, axis=axes)


def in_top_k(targets, predictions, k):
    """keras-team/keras#23232."""
    predictions = ops.convert_to_tensor(predictions)
    if len(predictions.shape) <= 2:
        return ops.in_top_k(targets, predictions, k)
    targets = ops.convert_to_tensor(targets)
    out = ops.in_top_k(ops.reshape(targets, (-1,)), ops.reshape(predictions, (-1, predictions.shape[-1])), k)
    return ops.reshape(out, tuple(targets.shape))


def cdist(x, y):
    """keras-team/keras#23213."""
    x, y = ops.convert_to_tensor(x), ops.convert_to_tensor(y)
    dtype = keras.backend.result_type(x.dtype, y.dtype, float)
    return ops.cdist(ops.cast(x, dtype), ops.cast(y, dtype))


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann", center=True):
    """keras-team/keras#23255: the uncentred output cut to ``[fft_length // 2 : len - fft_length // 2]``."""
    if length is not None or not center:
        return ops.istft(x, sequence_length, sequence_stride, fft_length, length=length, window=window,
                         center=center)
    full = ops.istft(x, sequence_length, sequence_stride, fft_length, window=window, center=False)
    half = fft_length // 2
    return full[..., half:full.shape[-1] - half]


def average(x, axis=None, weights=None):
    """keras-team/keras#23249."""
    if weights is None:
        return ops.average(x, axis=axis)
    x, w = ops.convert_to_tensor(x), ops.convert_to_tensor(weights)
    if len(w.shape) == 1 and len(x.shape) > 1:
        if axis is None or (isinstance(axis, (list, tuple)) and len(axis) != 1):
            raise ValueError("Axis must be specified when shapes of a and weights differ.")
        axis = axis[0] if isinstance(axis, (list, tuple)) else axis
        if w.shape[0] != x.shape[axis % len(x.shape)]:
            raise ValueError("Shape of weights must be consistent with shape of a along specified axis.")
    elif tuple(x.shape) != tuple(w.shape):
        if axis is None:
            raise ValueError("Axis must be specified when shapes of a and weights differ.")
        raise ValueError("Shape of weights must be consistent with shape of a along specified axis.")
    return ops.average(x, axis=axis, weights=w)


def normalize(x, axis=-1, order=2, epsilon=None):
    """keras-team/keras#23093."""
    if order != 2:
        return ops.normalize(x, axis=axis, order=order, epsilon=epsilon)
    x = ops.convert_to_tensor(x)
    if len(x.shape) == 0:
        x = ops.expand_dims(x, 0)
    epsilon = keras.backend.epsilon() if epsilon is None else epsilon
    square_sum = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return x * ops.rsqrt(ops.maximum(square_sum, epsilon * epsilon))


_FIXED = {name: globals()[name] for name in __all__[:13]}
fixed_ops = types.SimpleNamespace(**{**{name: getattr(ops, name) for name in dir(ops) if not name.startswith("_")},
                                     **_FIXED})


def fixed(o):
    """``keras.ops`` -> :data:`fixed_ops` (Keras with the upstream fixes); any other module unchanged."""
    return fixed_ops if o is ops else o


def utils_normalize(x, axis=-1, order=2):
    """``keras.utils.normalize`` with keras-team/keras#23328: a NumPy array's norm is expanded back at ``axis``
    (``-1`` for ``None``); tensors go to ``keras.utils.normalize`` unchanged."""
    if not isinstance(x, np.ndarray):
        return keras.utils.normalize(x, axis=axis, order=order)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, -1 if axis is None else axis)

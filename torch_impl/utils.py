"""Keras's utilities for ported scripts: ``to_categorical``, ``normalize``, ``pad_sequences``,
``timeseries_dataset_from_array`` (Keras's sliding windows as re-iterable batches), ``pack_x_y_sample_weight`` /
``unpack_x_y_sample_weight`` (a custom ``train_step``'s data), ``set_random_seed`` (Keras's, for the draws of
:mod:`torch_impl.keras_random` and ``keras_backend``) and ``keras_shuffle_order`` (the order
``model.fit(shuffle=True)`` feeds the samples in after ``keras.utils.set_random_seed``).

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

__all__ = ["to_categorical", "normalize", "pad_sequences", "keras_shuffle_order", "timeseries_dataset_from_array",
           "pack_x_y_sample_weight", "unpack_x_y_sample_weight", "set_random_seed", "set_keras_mask", "get_keras_mask"]


def set_random_seed(seed: int) -> None:
    """``keras.utils.set_random_seed(seed)``: :func:`torch_impl.keras_random.set_random_seed` (Python's
    ``random``, NumPy, torch, Keras's global generator and TensorFlow's global seed of the stateful draws)."""
    from torch_impl import keras_random
    keras_random.set_random_seed(seed)


def normalize(x, axis: int = -1, order: int = 2):
    """``keras.utils.normalize(x, axis=-1, order=2)``: a NumPy array is divided by its ``np.linalg.norm`` along
    ``axis`` (a zero norm counts as 1) and stays NumPy; a tensor goes through ``keras.ops.normalize`` (``x *
    min(rsqrt(sum(x**2)), 1e7)`` for order 2), as Keras's does. For NumPy input the norm is expanded back at
    ``axis`` (``-1`` for ``None``): keras-team/keras#23328, after 3.15.1, followed; Keras 3.15.1 expands it at
    ``axis or -1``, so its ``axis=0`` raises (a broadcast error) or, for a square array, divides by the wrong norms.

    Example:
        >>> normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
        array([[0.6, 0.8],
               [0. , 0. ]])
    """
    if isinstance(x, np.ndarray):
        norm = np.atleast_1d(np.linalg.norm(x, order, axis))
        norm[norm == 0] = 1
        axis = -1 if axis is None else axis  # keras-team/keras#23328 (3.15.1: axis or -1)
        return x / np.expand_dims(norm, axis)
    from torch_impl import keras_ops
    return keras_ops.normalize(x, axis=axis, order=order)


def unpack_x_y_sample_weight(data):
    """``keras.utils.unpack_x_y_sample_weight(data)``: ``(x, y, sample_weight)`` from ``x``, ``(x,)``, ``(x, y)``
    or ``(x, y, sample_weight)`` (a list counts as a tuple), ``None`` for what is missing."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return (data, None, None)
    if len(data) in (1, 2, 3):
        return tuple(data) + (None,) * (3 - len(data))
    raise ValueError("Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
                     f"found: {data}")


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """``keras.utils.pack_x_y_sample_weight(x, y=None, sample_weight=None)``: ``x`` alone (``(x,)`` if ``x`` is a
    list or tuple), ``(x, y)`` or ``(x, y, sample_weight)``."""
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


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


def pad_sequences(sequences, maxlen: Optional[int] = None, dtype="int32", padding: str = "pre",
                  truncating: str = "pre", value=0.0) -> np.ndarray:
    """Keras's ``keras.utils.pad_sequences``: a list of ``num_samples`` sequences as a ``(num_samples, maxlen,
    *item_shape)`` NumPy array of ``dtype``, shorter sequences padded with ``value`` and longer ones truncated,
    at the front (``"pre"``, the default for both, as Keras) or the back (``"post"``); ``maxlen`` defaults to
    the longest sequence. Keras's errors for a non-iterable, items of another shape, an unknown ``padding`` or
    ``truncating`` and a string ``value`` with a non-string ``dtype``.

    With the default front padding a recurrent model reads the padding first: ``torch.nn.utils.rnn``'s packed
    sequences (``pack_padded_sequence``) expect the tokens at the front, so shift them (or pad with
    ``padding="post"``) when porting Keras's ``mask_zero=True``.

    Example:
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]], maxlen=2).tolist()
        [[0, 1], [2, 3], [5, 6]]
        >>> pad_sequences([[1], [2, 3]], padding="post", value=-1).tolist()
        [[1, -1], [2, 3]]
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    lengths, item_shape, seen = [], (), False
    for seq in sequences:
        try:
            lengths.append(len(seq))
        except TypeError as e:
            raise ValueError(f"`sequences` must be a list of iterables. Found non-iterable: {seq}") from e
        if not seen and len(seq):
            item_shape, seen = np.asarray(seq).shape[1:], True
    if maxlen is None:
        maxlen = int(np.max(lengths))
    stringy = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not stringy:
        raise ValueError(f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\n"
                         "You should set `dtype=object` for variable length strings.")
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood')
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood')
    out = np.full((len(sequences), maxlen) + tuple(item_shape), value, dtype=dtype)
    for i, seq in enumerate(sequences):
        if not len(seq):
            continue  # an empty sequence: all padding
        kept = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]  # Keras's slices (maxlen 0 keeps all)
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != tuple(item_shape):
            raise ValueError(f"Shape of sample {kept.shape[1:]} of sequence at position {i} is different from "
                             f"expected shape {item_shape}")
        if padding == "post":
            out[i, :len(kept)] = kept
        else:
            out[i, -len(kept):] = kept
    return out


def keras_shuffle_order(n: int, seed: int, shuffle=True, batch_size: Optional[int] = None) -> np.ndarray:
    """The sample order of Keras's ``model.fit(x, y, shuffle=True)`` (Keras 3 on TensorFlow, array inputs) after
    ``keras.utils.set_random_seed(seed)``, bit for bit: ``x[order]`` in batches of ``batch_size`` is what each
    epoch's training steps see (``n`` is the number of training samples, after a ``validation_split``).

    Keras shuffles with TensorFlow's ``RandomShuffle`` inside a fresh ``tf.data`` function, seeded by the global
    seed alone, so **every epoch, and every ``fit`` call, sees the same order** (Keras 3.15.1 with TensorFlow
    2.21; measured). ``torch_impl.fit.fit(..., seed=seed)`` uses it. Without a global seed Keras's order is
    random and cannot be replayed.

    ``shuffle="batch"`` (with the fit's ``batch_size``) gives the order of ``fit(shuffle="batch")``: the batches
    stay in order and TensorFlow shuffles the indices inside each one, from one stream across the epoch's
    batches; again the same in every epoch.

    Example:
        >>> keras_shuffle_order(10, seed=1)  # keras.utils.set_random_seed(1); model.fit(x[:10], y[:10])
        array([2, 4, 0, 8, 9, 1, 5, 6, 3, 7])
        >>> keras_shuffle_order(10, seed=1, shuffle="batch", batch_size=4)  # fit(..., shuffle="batch")
        array([0, 1, 2, 3, 7, 6, 4, 5, 8, 9])
    """
    from torch_impl._tf_random import keras_shuffle_order as order

    return order(n, seed, shuffle, batch_size)


class TimeseriesDataset:
    """The batches of :func:`timeseries_dataset_from_array`: iterable again at each epoch, as the
    ``tf.data.Dataset`` it stands for (``for inputs, targets in dataset``, ``len(dataset)`` batches; ``fit`` and
    ``evaluate`` take it as ``x``). Each batch is ``(windows, targets)`` (or the windows alone), NumPy arrays in
    the dtypes of ``data`` and ``targets``."""

    def __init__(self, data: np.ndarray, targets: Optional[np.ndarray], positions: np.ndarray,
                 sequence_length: int, sampling_rate: int, batch_size: Optional[int]):
        self._data, self._targets, self._positions = data, targets, positions
        self._offsets = np.arange(sequence_length) * sampling_rate
        self._batch_size = batch_size

    def __len__(self) -> int:
        if self._batch_size is None:
            return len(self._positions)
        return -(-len(self._positions) // self._batch_size)

    def __iter__(self):
        size = self._batch_size or 1
        for start in range(0, len(self._positions), size):
            pos = self._positions[start:start + size]
            windows = self._data[pos[:, None] + self._offsets]
            targets = None if self._targets is None else self._targets[pos]
            if self._batch_size is None:  # unbatched: one window at a time
                windows, targets = windows[0], None if targets is None else targets[0]
            yield windows if targets is None else (windows, targets)


def timeseries_dataset_from_array(data, targets, sequence_length: int, sequence_stride: int = 1,
                                  sampling_rate: int = 1, batch_size: Optional[int] = 128, shuffle: bool = False,
                                  seed: Optional[int] = None, start_index: Optional[int] = None,
                                  end_index: Optional[int] = None) -> TimeseriesDataset:
    """Keras's ``keras.utils.timeseries_dataset_from_array`` (``keras.preprocessing.``'s too): sliding windows
    of ``sequence_length`` steps, ``sampling_rate`` apart, starting every ``sequence_stride`` steps of
    ``data[start_index:end_index]``; the target of the window starting at ``i`` is ``targets[start_index + i]``
    (Keras's rule: ``targets`` sliced as ``data``); the same windows, targets, batches and order as Keras's
    dataset, and Keras's ``ValueError`` for the same arguments. ``shuffle=True`` raises ``NotImplementedError``:
    Keras shuffles the start positions with NumPy, then the windows again in a TensorFlow shuffle buffer, whose
    order is TensorFlow's own (use ``shuffle=False`` and let ``fit`` shuffle, or feed Keras's batches).

    Example:
        >>> ds = timeseries_dataset_from_array(np.arange(10), np.arange(10) * 10, sequence_length=3, batch_size=4)
        >>> [(x.tolist(), y.tolist()) for x, y in ds][0]
        ([[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]], [0, 10, 20, 30])
    """
    data = np.asarray(data)
    if start_index:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: start_index={start_index}")
        if start_index >= len(data):
            raise ValueError("`start_index` must be lower than the length of the data. Received: "
                             f"start_index={start_index}, for data of length {len(data)}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError("`end_index` must be higher than `start_index`. Received: "
                             f"start_index={start_index}, and end_index={end_index} ")
        if end_index >= len(data):
            raise ValueError("`end_index` must be lower than the length of the data. Received: "
                             f"end_index={end_index}, for data of length {len(data)}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: end_index={end_index}")
    for name, value in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        if value <= 0:
            raise ValueError(f"`{name}` must be higher than 0. Received: {name}={value}")
        if value >= len(data):
            raise ValueError(f"`{name}` must be lower than the length of the data. Received: {name}={value}, "
                             f"for data of length {len(data)}")
    if shuffle:
        raise NotImplementedError(
            "timeseries_dataset_from_array(shuffle=True): Keras shuffles the windows in a TensorFlow shuffle buffer "
            "(buffer_size=batch_size * 8), an order not replayed here; pass shuffle=False")
    start_index = start_index or 0
    end_index = len(data) if end_index is None else end_index
    num_seqs = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = np.asarray(targets)
        num_seqs = min(num_seqs, len(targets))
    positions = np.arange(0, max(num_seqs, 0), sequence_stride)
    return TimeseriesDataset(data[start_index:end_index], None if targets is None else
                             targets[start_index:end_index], positions, sequence_length, sampling_rate, batch_size)


def set_keras_mask(x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """Mark ``x`` with a Keras mask (``x._keras_mask = mask``; ``None`` removes it) and return ``x``, as a Keras
    layer's output carries the padding mask of ``Embedding(mask_zero=True)``, ``Masking`` or a layer's
    ``compute_mask``. torch_impl's losses read it as Keras's ``Loss.__call__`` does (with the loss's own mask, e.g.
    ``ignore_class``; under ``sum_over_batch_size`` the valid entries weigh ``count / valid``), and so do the
    mean metrics (the mask weighs their values, no rescale) and :func:`torch_impl.fit.fit` (set it on the
    model's output in ``forward``).

    Example:
        >>> import torch
        >>> from torch_impl import losses
        >>> tokens = torch.tensor([[5, 2, 0, 0]])                  # 0 is padding
        >>> logits = set_keras_mask(torch.zeros(1, 4, 3), tokens != 0)
        >>> losses.SparseCategoricalCrossentropy(from_logits=True)(torch.tensor([[1, 2, 0, 0]]), logits)
        tensor(1.0986)
    """
    if mask is None:
        if hasattr(x, "_keras_mask"):
            del x._keras_mask
        return x
    x._keras_mask = torch.as_tensor(mask, device=x.device).bool()
    return x


def get_keras_mask(x) -> Optional[torch.Tensor]:
    """The Keras mask ``x`` carries (:func:`set_keras_mask`), or ``None``."""
    return getattr(x, "_keras_mask", None)

"""Keras's data adapters and epoch iterator, for ``torch_impl.fit``'s ``fit``, ``evaluate`` and ``predict`` given
batches instead of arrays: a Python generator or iterator, a ``torch.utils.data.DataLoader``, or a
``keras.utils.PyDataset``-shaped object (Keras 3.15.1's ``trainers/data_adapters/`` and ``EpochIterator``, as its
TensorFlow backend reads them).

What they reproduce (measured against Keras; ``parity_tests/test_fit_iterables_keras.py``): the two batches Keras's
TensorFlow backend reads first for the dataset's signature (:data:`PEEKED`), and replays when a generator runs out;
passes continued across epochs with ``steps_per_epoch`` and restarted without it; the "Your input ran out of data"
warning, given only with ``steps_per_epoch`` / ``steps`` (keras-team/keras#23360, after 3.15.1, followed: Keras
3.15.1 also warns when an input without them runs out, e.g. every epoch of a generator); a PyDataset's batch order shuffled with Python's ``random`` and its ``on_epoch_end`` calls; ``class_weight``
per PyDataset batch; each batch checked against the first batches' structure, ranks and sizes.

Example:
    >>> import numpy as np
    >>> batches = ((np.ones((2, 3)), np.zeros(2)) for _ in range(3))
    >>> data_kind(batches), data_kind(np.ones((4, 3)))
    ('generator', None)
"""

from __future__ import annotations

import collections.abc
import itertools
import numbers
import random
import types
import warnings
from typing import Optional

import numpy as np
import torch
import torch.utils.data

from torch_impl.class_weight import class_weight_to_sample_weight

__all__ = ["PEEKED", "arrays_per_output", "batch_rows", "data_adapter", "data_kind", "EpochIterator", "summary",
           "unpack", "unsupported_arg"]

def arrays_per_output(v) -> bool:
    """A list or tuple of arrays/tensors (not a list of plain rows or numbers, which is one array)."""
    return isinstance(v, (list, tuple)) and len(v) > 0 and all(
        isinstance(t, (np.ndarray, torch.Tensor)) and t.ndim >= 1 for t in v)



#: Keras's ``NUM_BATCHES_FOR_TENSOR_SPEC``: the batches its TensorFlow backend reads first for the dataset's signature
PEEKED = 2


def _is_pydataset(x) -> bool:
    """A ``keras.utils.PyDataset`` or an object shaped like one (``__getitem__`` giving batches, and ``__len__``
    or ``num_batches``), told by duck typing: torch_impl never imports Keras."""
    if any(c.__name__ == "PyDataset" and "keras" in str(c.__module__) for c in type(x).__mro__):
        return True
    return hasattr(x, "__getitem__") and (hasattr(x, "__len__") or hasattr(x, "num_batches"))


def data_kind(x) -> Optional[str]:
    """How ``fit`` reads ``x``: ``None`` for arrays (and lists/tuples/dicts of them), else Keras's name of the
    data type (``"generator"``, ``"torch DataLoader"``, ``"PyDataset"``) or torch_impl's (``"Python iterator"``:
    any other one-shot iterator; ``"Python iterable"``: any other re-iterable object, read again each epoch as a
    DataLoader is). A string raises Keras's ``Unrecognized data type``."""
    if isinstance(x, (str, bytes)):
        raise ValueError(f"Unrecognized data type: x={x} (of type {type(x)})")
    if x is None or isinstance(x, (np.ndarray, torch.Tensor, list, tuple, dict, numbers.Number)):
        return None
    if hasattr(x, "__array__") or hasattr(x, "shape"):
        return None  # array-likes (a pandas frame, a TensorFlow tensor): converted as arrays
    if isinstance(x, types.GeneratorType):
        return "generator"
    if isinstance(x, torch.utils.data.DataLoader):
        return "torch DataLoader"
    if isinstance(x, torch.utils.data.Dataset):
        raise ValueError(
            f"Unrecognized data type: x is a torch {type(x).__name__}, which gives one sample per index, not "
            "batches (Keras's fit refuses it too). Wrap it in a torch.utils.data.DataLoader(dataset, "
            "batch_size=...), which fit takes as Keras does.")
    if _is_pydataset(x):
        return "PyDataset"
    if isinstance(x, collections.abc.Iterator):
        return "Python iterator"
    if isinstance(x, collections.abc.Iterable):
        return "Python iterable"
    return None


def unsupported_arg(arg_name: str, arg_description: str, kind: str):
    """Keras's ``raise_unsupported_arg``."""
    raise ValueError(f"When providing `x` as a {kind}, `{arg_name}` should not be passed. Instead, "
                     f"{arg_description} should be included as part of the {kind}.")


def summary(value, limit: int = 200) -> str:
    """A batch for an error message: its arrays' shapes, not their values."""
    def walk(v):
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k!r}: {walk(w)}" for k, w in v.items()) + "}"
        if isinstance(v, (list, tuple)) and not _plain_values(v):
            inner = ", ".join(walk(w) for w in v)
            return f"({inner}{',' if len(v) == 1 else ''})" if isinstance(v, tuple) else f"[{inner}]"
        shape = getattr(v, "shape", None)
        if shape is not None:
            return f"{type(v).__name__}(shape={tuple(shape)})"
        return repr(v)[:60]
    s = walk(value)
    return s if len(s) <= limit else s[:limit] + "..."


def _plain_values(v) -> bool:
    """A list/tuple of plain numbers (one array given as rows), not a structure of arrays."""
    return isinstance(v, (list, tuple)) and len(v) > 0 and not any(
        isinstance(w, (list, tuple, dict)) or hasattr(w, "shape") for w in v)


def _leaves(value, path: str):
    """``(path, shape)`` of each array of a batch (tuples, lists and dicts walked, as Keras's ``tree.flatten``; a
    list of plain numbers is one array); ``None`` entries skipped."""
    if value is None:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{path}[{k!r}]")
        return
    if isinstance(value, (list, tuple)) and not _plain_values(value):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{path}[{i}]")
        return
    shape = getattr(value, "shape", None)
    yield path, tuple(int(d) for d in (shape if shape is not None else np.shape(value)))


class _BatchSpec:
    """The signature Keras's TensorFlow backend gives the ``tf.data`` pipeline of batches: the structure and every
    array's rank from the first two batches, each dimension fixed where those agree (the batch dimension free); a
    later batch that does not fit raises (Keras: ``Generator yielded an element of shape (4, 3) where an element of
    shape (None, 2) was expected``)."""

    def __init__(self, batches: list, kind: str):
        self.kind = kind
        first = list(_leaves(batches[0], "batch"))
        for b in batches[1:]:
            other = list(_leaves(b, "batch"))
            if [p for p, _ in other] != [p for p, _ in first]:
                raise ValueError(f"The {kind}'s first two batches differ in structure: {summary(batches[0])} and "
                                 f"{summary(b)}; every batch must hold the same arrays.")
            for (path, s0), (_, s1) in zip(first, other):
                if len(s0) != len(s1):
                    raise ValueError(
                        "When passing a dataset to a Keras model, the corresponding arrays in each batch must have the "
                        f"same rank. Received: {path} of shape {s0} in batch 0 and of shape {s1} in batch 1.")
        for path, shape in first:
            if len(shape) < 1:
                raise ValueError("When passing a dataset to a Keras model, the arrays must be at least rank 1. "
                                 f"Received: {path} of rank 0 (a scalar) in batch 0.")
        self.paths = [p for p, _ in first]
        self.shapes = []
        for i, (path, s0) in enumerate(first):
            dims = [s0] + [list(_leaves(b, "batch"))[i][1] for b in batches[1:]]
            self.shapes.append((None,) + tuple(d[0] if len(set(d)) == 1 else None for d in zip(*[s[1:] for s in dims])))

    def check(self, batch, step: int) -> None:
        leaves = list(_leaves(batch, "batch"))
        if [p for p, _ in leaves] != self.paths:
            raise ValueError(f"Batch {step} of the {self.kind} is {summary(batch)}, but the first batches hold the "
                             f"arrays {self.paths}: every batch must have the same structure.")
        for (path, shape), spec in zip(leaves, self.shapes):
            if len(shape) != len(spec) or any(s is not None and s != d for s, d in zip(spec, shape)):
                dims = ", ".join("None" if s is None else str(s) for s in spec)
                spec_s = f"({dims}{',' if len(spec) == 1 else ''})"
                raise ValueError(
                    f"Batch {step} of the {self.kind} holds {path} of shape {shape} where an array of shape {spec_s} "
                    "was expected: as Keras on TensorFlow, the first two batches fix every dimension but the "
                    "batch's (a dimension they disagree on may vary).")


class _GeneratorAdapter:
    """Keras's ``GeneratorDataAdapter`` for a Python generator (and here any other one-shot iterator): the first
    two batches are read at once (for the ``tf.data`` signature) and *replayed* at the start of every new pass,
    ``itertools.chain(first_two, generator)``; so a generator that ran out gives those two batches again, then
    nothing. ``num_batches`` unknown."""

    num_batches = None

    def __init__(self, gen, kind: str):
        self.kind = kind
        self.gen = gen
        self.first = list(itertools.islice(gen, PEEKED))
        if not self.first:
            noun = kind.split()[-1]
            raise ValueError(f"When passing a Python {noun} to a Keras model, the {noun} must yield at least one "
                             f"batch. Received an empty {noun}.")
        if kind == "generator" and not isinstance(self.first[0], tuple):
            raise ValueError("When passing a Python generator to a Keras model, the generator must return a tuple, "
                             "either (input,) or (inputs, targets) or (inputs, targets, sample_weights). "
                             f"Received: {summary(self.first[0])}")
        self.spec = _BatchSpec(self.first, kind)
        self.first_batch = self.first[0]

    def get_iterator(self):
        return itertools.chain(self.first, self.gen)

    def on_epoch_begin(self) -> None:
        pass

    def on_epoch_end(self) -> None:
        pass


class _LoaderAdapter:
    """Keras's ``TorchDataLoaderAdapter`` (and here any other re-iterable object): read anew each pass;
    ``num_batches`` is ``len(loader)`` when its dataset has a length. On TensorFlow Keras first reads two batches
    of a fresh pass for the ``tf.data`` signature: done here too, as that pass draws from torch's global RNG (a
    ``shuffle=True`` loader's order, the worker seeds), so the epochs then see Keras's orders."""

    def __init__(self, loader, kind: str):
        self.kind, self.loader = kind, loader
        if isinstance(loader, torch.utils.data.DataLoader):
            self.num_batches = len(loader) if hasattr(loader.dataset, "__len__") else None
        else:
            try:
                self.num_batches = len(loader)
            except TypeError:
                self.num_batches = None
        first = [self.standardize(b) for b in itertools.islice(loader, PEEKED)]
        if not first:
            raise ValueError(f"The {kind} gave no batch: it must yield at least one batch.")
        self.spec = _BatchSpec(first, kind)
        self.first_batch = first[0]

    @staticmethod
    def standardize(batch):
        # Keras: ``tuple(batch)`` of the collated list (x, y[, sample_weight]); a lone array is the input
        return tuple(batch) if isinstance(batch, (list, tuple)) else (batch,)

    def get_iterator(self):
        # a generator: the loader's pass (and its RNG draws) starts at the first batch read, as in Keras, where a
        # pass made at an epoch's end and replaced unread at the next epoch's start draws nothing
        for batch in self.loader:
            yield self.standardize(batch)

    def on_epoch_begin(self) -> None:
        pass

    def on_epoch_end(self) -> None:
        pass


class _PyDatasetAdapter:
    """Keras's ``PyDatasetAdapter``: batch ``i`` is ``dataset[i]``; a pass reads indices ``0..num_batches-1``,
    shuffled with Python's ``random.shuffle`` (the global ``random`` module, which ``keras.utils.set_random_seed``
    seeds) when ``shuffle``; ``num_batches=None``: endless. ``class_weight`` becomes each batch's sample weight.
    Its ``on_epoch_begin`` / ``on_epoch_end`` are called where Keras calls them (``on_epoch_end`` also once when
    ``fit`` or ``evaluate`` starts). On TensorFlow Keras reads batches 0 and 1 first, for the ``tf.data``
    signature: done here too (a dataset that counts its reads sees Keras's). The batches are read in this
    thread, whatever ``workers`` says."""

    kind = "PyDataset"

    def __init__(self, dataset, class_weight=None, shuffle: bool = False):
        self.dataset, self.class_weight, self.shuffle = dataset, class_weight, shuffle
        try:
            n = dataset.num_batches if hasattr(type(dataset), "num_batches") or hasattr(dataset, "num_batches") \
                else len(dataset)
        except NotImplementedError:
            n = None
        self.num_batches = None if n is None else int(n)
        count = PEEKED if self.num_batches is None else min(PEEKED, self.num_batches)
        first = [self.standardize(dataset[i]) for i in range(count)]
        if not first:
            raise ValueError("The PyDataset has length 0")
        self.spec = _BatchSpec(first, "PyDataset")
        self.first_batch = first[0]

    def standardize(self, batch):
        """Keras's ``_standardize_batch``."""
        if isinstance(batch, dict):
            return batch
        if isinstance(batch, np.ndarray):
            batch = (batch,)
        if isinstance(batch, list):
            batch = tuple(batch)
        if not isinstance(batch, tuple) or len(batch) not in (1, 2, 3):
            raise ValueError("PyDataset.__getitem__() must return a tuple or a dict. If a tuple, it must be ordered "
                             "either (input,) or (inputs, targets) or (inputs, targets, sample_weights). "
                             f"Received: {summary(batch, 100)} of type {type(batch)}")
        if self.class_weight is not None:
            if len(batch) == 3:
                raise ValueError("You cannot specify `class_weight` and `sample_weight` at the same time.")
            if len(batch) == 2:
                if isinstance(batch[1], dict) or arrays_per_output(batch[1]):
                    raise ValueError("`class_weight` is only supported for Models with a single output: the "
                                     "PyDataset's batches hold one label array per output. (Give each output's class "
                                     "weights as its sample_weight, class_weight_to_sample_weight(y_i, "
                                     "class_weight_i), in the batches.)")
                batch = batch + (class_weight_to_sample_weight(batch[1], self.class_weight),)
        return batch

    def get_iterator(self):
        if self.num_batches is None:
            return (self.standardize(self.dataset[i]) for i in itertools.count())
        return self._finite()

    def _finite(self):
        indices = range(self.num_batches)
        if self.shuffle:
            indices = list(indices)
            random.shuffle(indices)
        for i in indices:
            yield self.standardize(self.dataset[i])

    def on_epoch_begin(self) -> None:
        hook = getattr(self.dataset, "on_epoch_begin", None)
        if callable(hook):
            hook()

    def on_epoch_end(self) -> None:
        hook = getattr(self.dataset, "on_epoch_end", None)
        if callable(hook):
            hook()


def data_adapter(x, kind: str, y=None, sample_weight=None, class_weight=None, shuffle: bool = False):
    """Keras's ``get_data_adapter`` for data given as batches: its errors for ``y`` / ``sample_weight`` /
    ``class_weight`` given beside them, its warning for ``shuffle=True`` it ignores."""
    if y is not None:
        unsupported_arg("y", "the targets", kind)
    if sample_weight is not None:
        unsupported_arg("sample_weights", "the sample weights", kind)
    if kind == "PyDataset":
        adapter = _PyDatasetAdapter(x, class_weight=class_weight, shuffle=shuffle)
        if adapter.num_batches is None and shuffle:
            warnings.warn("`shuffle=True` was passed, but will be ignored since the data `x` was provided as an "
                          "infinite PyDataset. The PyDataset is expected to already be shuffled.", UserWarning,
                          stacklevel=3)
        return adapter
    if class_weight is not None:
        if kind == "torch DataLoader":
            raise ValueError("Argument `class_weight` is not supported for torch DataLoader inputs. You can modify "
                             "your `__getitem__ ` method to return input tensor, label and class_weight. "
                             f"Alternatively, use a custom training loop. Received: class_weight={class_weight}")
        raise ValueError(f"Argument `class_weight` is not supported for {'Python ' * (kind == 'generator')}{kind} "
                         "inputs. Received: "
                         f"class_weight={class_weight}")
    if shuffle:  # Keras's warnings (fit's default shuffle=True gives it)
        noun = kind.split()[-1]
        what = "yield already-shuffled data" if kind in ("generator", "Python iterator") else "already be shuffled"
        warnings.warn(f"`shuffle=True` was passed, but will be ignored since the data `x` was provided as a {kind}. "
                      f"The {noun} is expected to {what}.", UserWarning, stacklevel=3)
    if kind in ("generator", "Python iterator"):
        return _GeneratorAdapter(x, kind)
    return _LoaderAdapter(x, kind)


class EpochIterator:
    """Keras's ``EpochIterator`` (``keras/src/trainers/epoch_iterator.py``, one step per execution), which decides
    which batches each epoch reads:

    * without ``steps``: a pass over the data per epoch. A generator has no length, so its first epoch reads it to
      the end; every later pass gets the two batches Keras read first (``_GeneratorAdapter``). Keras 3.15.1 warns
      ``Your input ran out of data`` at each such end; later Keras (keras-team/keras#23360) and this do not;
    * with ``steps``: ``steps`` batches per epoch from a pass that is *continued* across epochs (a DataLoader or a
      PyDataset too: a new pass starts only when one is used up, so with ``steps`` not dividing ``len(loader)`` an
      epoch ends early, with the warning); a pass that ends early ends the epoch, with the warning.

    ``fit`` iterates ``for step, iterator in epoch_iterator`` inside ``catch_stop_iteration()`` and takes one batch
    per step with ``next(iterator)``."""

    def __init__(self, adapter, steps: Optional[int] = None):
        self.data_adapter = adapter
        self.steps_per_epoch = steps
        self._current_iterator = None
        self._steps_seen = 0
        self._num_batches = adapter.num_batches

    @staticmethod
    def _interrupted_warning() -> None:
        warnings.warn("Your input ran out of data; interrupting training. Make sure that your dataset or generator "
                      "can generate at least `steps_per_epoch * epochs` batches. You may need to use the "
                      "`.repeat()` function when building your dataset.", UserWarning, stacklevel=4)

    def reset(self) -> None:
        self._current_iterator = None
        self._num_batches = self.data_adapter.num_batches
        self._steps_seen = 0
        self.data_adapter.on_epoch_end()

    def __iter__(self):
        self.data_adapter.on_epoch_begin()
        steps_per_epoch = self.steps_per_epoch or self._num_batches or -1
        if steps_per_epoch > 0:
            if self._current_iterator is None or self.steps_per_epoch is None:
                self._current_iterator = iter(self.data_adapter.get_iterator())
                self._steps_seen = 0
            for step in range(steps_per_epoch):
                if self._num_batches and self._steps_seen >= self._num_batches:
                    if self.steps_per_epoch:
                        self._interrupted_warning()
                    break
                self._steps_seen += 1
                yield step, self._current_iterator
            if self._num_batches and self._steps_seen >= self._num_batches:
                self._current_iterator = iter(self.data_adapter.get_iterator())
                self._steps_seen = 0
        else:
            iterator = iter(self.data_adapter.get_iterator())
            step = -1
            while True:
                step += 1
                self._steps_seen = step + 1
                yield step, iterator
        self.data_adapter.on_epoch_end()

    def catch_stop_iteration(self) -> "_CatchStopIteration":
        return _CatchStopIteration(self)

    def _ran_out(self) -> None:
        if self._num_batches is None:
            self._num_batches = self._steps_seen
        if self.steps_per_epoch:  # keras-team/keras#23360 (after 3.15.1, followed): running out of an input of
            self._interrupted_warning()  # unknown size is how its size is found, not an interruption
        self._current_iterator = None
        self.data_adapter.on_epoch_end()

    @property
    def num_batches(self) -> Optional[int]:
        return self.steps_per_epoch or self._num_batches


class _CatchStopIteration:
    """Keras's ``EpochIterator.catch_stop_iteration``: an input that runs out ends the epoch (with the warning)."""

    def __init__(self, epoch_iterator: EpochIterator):
        self.epoch_iterator = epoch_iterator

    def __enter__(self):
        return self

    def __exit__(self, typ, value, tb) -> bool:
        if typ is not None and issubclass(typ, StopIteration):
            self.epoch_iterator._ran_out()
            return True
        return False


def unpack(batch, kind: str) -> tuple:
    """Keras's ``unpack_x_y_sample_weight``: ``(x, y, sample_weight)`` from ``x``, ``(x,)``, ``(x, y)`` or
    ``(x, y, sample_weight)`` (a list taken as a tuple)."""
    if isinstance(batch, list):
        batch = tuple(batch)
    if not isinstance(batch, tuple):
        return batch, None, None
    if len(batch) in (1, 2, 3):
        return tuple(batch) + (None,) * (3 - len(batch))
    raise ValueError("Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, found: "
                     f"{summary(batch)} (a {len(batch)}-tuple, from the {kind})")


def batch_rows(value) -> Optional[int]:
    """The number of samples of a batch's ``x`` (its first array, as Keras's loss tracker takes it)."""
    for _, shape in _leaves(value, ""):
        return shape[0] if shape else None
    return None

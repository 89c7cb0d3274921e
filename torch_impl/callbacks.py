"""Keras's training callbacks for :func:`torch_impl.fit.fit`: ``EarlyStopping``, ``ReduceLROnPlateau``,
``LearningRateScheduler``, ``TerminateOnNaN``, ``ModelCheckpoint``, ``CSVLogger``, ``LambdaCallback``,
``SwapEMAWeights``, ``BackupAndRestore``, and the ``Callback`` base to write your own.

``fit(..., callbacks=[...])`` calls them where ``keras.Model.fit`` (Keras 3.15.1, TensorFlow backend) does:
``on_train_begin``; per epoch ``on_epoch_begin``, per batch ``on_train_batch_begin`` /
``on_train_batch_end`` (logs: the epoch's running means so far, as Keras's), the validation, then
``on_epoch_end(epoch, logs)`` (a callback may add to ``logs``: ``ReduceLROnPlateau`` adds
``"learning_rate"``, which the history then records, as Keras's ``History`` runs last); training stops
after the batch or epoch where a callback set ``self.model.stop_training = True``; then the optimizer's
``finalize_variable_values`` and ``on_train_end`` (``EarlyStopping`` restores the best weights there).
A callback sees ``self.model`` (the torch module) and ``self.optimizer`` (Keras's ``self.model.optimizer``).
``evaluate(..., callbacks=[...])`` and ``fit``'s validation call ``on_test_begin``, per batch
``on_test_batch_begin`` / ``on_test_batch_end`` (the running loss and metrics) and ``on_test_end`` (the
results); ``predict(..., callbacks=[...])`` calls ``on_predict_begin``, per batch ``on_predict_batch_begin`` /
``on_predict_batch_end`` (logs ``{"outputs": ...}``: the batch's activated outputs, a NumPy array, as
Keras's; a list of tensors for a list of outputs, a dict's outputs as keys of their own) and
``on_predict_end``. ``params`` is then ``{"verbose", "epochs": 1, "steps"}``.

The Keras rules kept (from ``keras/src/callbacks``): ``mode="auto"`` minimises a monitor named ``loss`` /
``val_loss``, maximises an accuracy that ``fit`` logs under that name (``val_`` removed), and raises
``ValueError`` for anything else (``weighted_accuracy`` included: Keras looks the name up among its
metric objects, which are named ``accuracy``); ``min_delta`` counts against the monitor's direction;
``EarlyStopping`` counts an epoch before it compares, never stops at epoch 0, ignores epochs before
``start_from_epoch``, and keeps the first monitored epoch's weights as the best until one improves;
``ReduceLROnPlateau`` reduces only while the rate exceeds ``float32(min_lr)``, to
``max(rate * factor, min_lr)`` stored in ``floatx``, then waits ``cooldown`` epochs. A missing monitor
warns and is skipped. ``ModelCheckpoint`` saves when Keras's would (every epoch or every ``save_freq``
batches, ``save_best_only`` on the same comparison, ``initial_value_threshold``), under Keras's formatted
file names (``"ckpt-{epoch:02d}-{val_loss:.3f}.pt"``), with ``torch.save`` (the module, or its
``state_dict`` with ``save_weights_only=True``); ``CSVLogger`` writes Keras's format byte for byte (the
same logs give Keras's file: the sorted keys, ``NA`` for an epoch without validation, ``append``);
``LambdaCallback`` calls functions with Keras's arguments. Batch hooks get their logs by keyword
(``on_train_batch_end(batch, logs=logs)``), the others positionally, as Keras's ``CallbackList`` calls them.

Example:
    >>> import numpy as np, torch
    >>> from torch_impl import fit, losses, optim
    >>> from torch_impl.callbacks import EarlyStopping, ReduceLROnPlateau
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(64, 4)); y = (x[:, 0] + rng.normal(size=64) > 0).astype(int)
    >>> _ = torch.manual_seed(0); model = torch.nn.Sequential(torch.nn.Linear(4, 64), torch.nn.ReLU(),
    ...                                                       torch.nn.Linear(64, 2))
    >>> stop = EarlyStopping(patience=2, restore_best_weights=True)
    >>> hist = fit.fit(model, x, y, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
    ...                optimizer=optim.Adam(model.parameters(), learning_rate=0.05), epochs=100, verbose=0,
    ...                validation_split=0.25, generator=0,
    ...                callbacks=[stop, ReduceLROnPlateau(factor=0.5, patience=1)])
    >>> len(hist.history["loss"]) < 100, stop.best_epoch < stop.stopped_epoch, "learning_rate" in hist.history
    (True, True, True)
"""

from __future__ import annotations

import collections.abc
import contextlib
import copy
import csv
import json
import math
import os
import pickle
import re
import shutil
import warnings
from typing import Callable, Optional, Union

import numpy as np
import torch

from torch_impl.nn import keras_embedding_gradients

__all__ = ["Callback", "CallbackList", "MonitorCallback", "EarlyStopping", "ReduceLROnPlateau",
           "LearningRateScheduler", "TerminateOnNaN", "ModelCheckpoint", "CSVLogger", "LambdaCallback",
           "SwapEMAWeights", "BackupAndRestore"]


class Callback:
    """Keras's ``keras.callbacks.Callback``: override the hooks you need. ``fit`` sets ``self.model`` and
    ``self.optimizer`` before ``on_train_begin`` (``evaluate`` and ``predict`` set ``self.model``).
    ``on_batch_end`` is the older name of ``on_train_batch_end`` (Keras's base class routes one to the other).
    The ``on_test_*`` hooks run in ``evaluate`` and in ``fit``'s validation, the ``on_predict_*`` hooks in
    ``predict``; ``self.model.stop_evaluating = True`` / ``self.model.stop_predicting = True`` in a batch hook
    ends the run after that batch, as Keras's."""

    def __init__(self):
        self.model: Optional[torch.nn.Module] = None
        self.optimizer: Optional[torch.optim.Optimizer] = None
        self.params: dict = {}

    def set_params(self, params: dict) -> None:
        """Keras's ``params``: ``{"verbose", "epochs", "steps"}`` of the ``fit`` call (of ``evaluate`` /
        ``predict``: ``epochs`` 1, ``steps`` the number of batches, ``None`` when unknown)."""
        self.params = params

    def set_model(self, model: torch.nn.Module) -> None:
        self.model = model

    def set_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer = optimizer

    def on_train_begin(self, logs: Optional[dict] = None) -> None:
        pass

    def on_train_end(self, logs: Optional[dict] = None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: Optional[dict] = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        pass

    def on_train_batch_begin(self, batch: int, logs: Optional[dict] = None) -> None:
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: Optional[dict] = None) -> None:
        self.on_batch_end(batch, logs=logs)

    def on_batch_begin(self, batch: int, logs: Optional[dict] = None) -> None:
        pass

    def on_batch_end(self, batch: int, logs: Optional[dict] = None) -> None:
        pass

    def on_test_begin(self, logs: Optional[dict] = None) -> None:
        pass

    def on_test_end(self, logs: Optional[dict] = None) -> None:
        pass

    def on_test_batch_begin(self, batch: int, logs: Optional[dict] = None) -> None:
        pass

    def on_test_batch_end(self, batch: int, logs: Optional[dict] = None) -> None:
        pass

    def on_predict_begin(self, logs: Optional[dict] = None) -> None:
        pass

    def on_predict_end(self, logs: Optional[dict] = None) -> None:
        pass

    def on_predict_batch_begin(self, batch: int, logs: Optional[dict] = None) -> None:
        pass

    def on_predict_batch_end(self, batch: int, logs: Optional[dict] = None) -> None:
        pass


def _pythonify(logs: Optional[dict]) -> dict:
    """Keras's ``pythonify_logs``: a new dict, keys sorted, a nested dict's entries merged in, values Python
    floats where they convert (``{}`` for no logs). A torch tensor becomes a NumPy array first, and stays one
    where ``float`` fails (``predict``'s batch ``"outputs"``, as Keras's backend tensors do)."""
    out = {}
    for k, v in sorted((logs or {}).items()):
        if isinstance(v, dict):
            out.update(_pythonify(v))
            continue
        try:
            if isinstance(v, torch.Tensor):
                v = v.detach().cpu()
                v = (v.float() if v.dtype == torch.bfloat16 else v).numpy()
            v = float(v)
        except (TypeError, ValueError):
            pass
        out[k] = v
    return out


def _flatten_callbacks(callbacks) -> list:
    """Keras's ``tree.flatten(callbacks)``: one callback, or lists, tuples and dicts (values in sorted key order) of
    them, nested (``fit(callbacks=early_stopping)`` works in Keras)."""
    if isinstance(callbacks, dict):
        return [cb for key in sorted(callbacks) for cb in _flatten_callbacks(callbacks[key])]
    if isinstance(callbacks, (list, tuple)):
        return [cb for item in callbacks for cb in _flatten_callbacks(item)]
    return [callbacks]


class CallbackList:
    """Keras's ``CallbackList``: calls a hook on every callback, in order, each call with one fresh dict of
    logs sorted by key (what a callback adds to the epoch's logs, the history, which Keras runs last,
    records too). Used by :func:`torch_impl.fit.fit`, :func:`~torch_impl.fit.evaluate` and
    :func:`~torch_impl.fit.predict` (which pass no optimizer: a callback keeps the one it had)."""

    def __init__(self, callbacks, model, optimizer, params: dict, metric_directions: Callable[[], dict] = dict):
        self.callbacks = _flatten_callbacks(callbacks) if callbacks else []
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks take torch_impl.callbacks.Callback instances, got {type(cb).__name__}")
            cb.set_model(model)
            if optimizer is not None:
                cb.set_optimizer(optimizer)
            cb.set_params(dict(params))
            if isinstance(cb, MonitorCallback):
                # Keras's auto mode looks the monitor up among the metric objects (built on the first batch)
                cb.metric_directions = metric_directions

    def __bool__(self) -> bool:
        return bool(self.callbacks)

    def _call(self, hook: str, *args, logs=None) -> dict:
        logs = _pythonify(logs)
        for cb in self.callbacks:
            if args and hook.endswith(("batch_begin", "batch_end")):
                getattr(cb, hook)(*args, logs=logs)  # Keras passes a batch hook's logs by keyword
            else:
                getattr(cb, hook)(*args, logs)
        return logs

    def on_train_begin(self, logs=None):
        return self._call("on_train_begin", logs=logs)

    def on_train_end(self, logs=None):
        return self._call("on_train_end", logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        return self._call("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        return self._call("on_epoch_end", epoch, logs=logs)

    def on_train_batch_begin(self, batch, logs=None):
        return self._call("on_train_batch_begin", batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        return self._call("on_train_batch_end", batch, logs=logs)

    def on_test_begin(self, logs=None):
        return self._call("on_test_begin", logs=logs)

    def on_test_end(self, logs=None):
        return self._call("on_test_end", logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        return self._call("on_test_batch_begin", batch, logs=logs)

    def on_test_batch_end(self, batch, logs=None):
        return self._call("on_test_batch_end", batch, logs=logs)

    def on_predict_begin(self, logs=None):
        return self._call("on_predict_begin", logs=logs)

    def on_predict_end(self, logs=None):
        return self._call("on_predict_end", logs=logs)

    def on_predict_batch_begin(self, batch, logs=None):
        return self._call("on_predict_batch_begin", batch, logs=logs)

    def on_predict_batch_end(self, batch, logs=None):
        return self._call("on_predict_batch_end", batch, logs=logs)


class MonitorCallback(Callback):
    """Keras's ``MonitorCallback``: the direction of ``monitor`` and what counts as an improvement."""

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", baseline: Optional[float] = None,
                 min_delta: float = 0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.", stacklevel=2)
            mode = "auto"
        self.monitor, self.mode, self.best = monitor, mode, baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None
        # () -> {metric object name: Keras's _direction "up"/"down"/None} (set by CallbackList)
        self.metric_directions: Callable[[], dict] = dict

    def _set_monitor_op(self) -> None:
        if self.mode == "min":
            self.monitor_op = np.less
        elif self.mode == "max":
            self.monitor_op = np.greater
        else:
            name = self.monitor.removeprefix("val_")
            if name == "loss":
                self.monitor_op = np.less
            direction = self.metric_directions().get(name)
            if direction is not None:
                self.monitor_op = np.greater if direction == "up" else np.less
            if self.monitor_op is None:
                raise ValueError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but Keras isn't able to "
                    "automatically determine whether that metric should be maximized or minimized. Pass "
                    "`mode='max'` in order to monitor based on the highest metric value, or pass `mode='min'` "
                    "in order to use the lowest value.")
        if self.monitor_op is np.less:
            self.min_delta *= -1

    def _is_improvement(self, monitor_value: float, reference_value: Optional[float]) -> bool:
        """Keras's ``monitor_op(value - min_delta, reference)``: the difference in Python floats, then both
        compared as ``ops.less``/``ops.greater`` convert Python floats: in float32 (a float64 run's loss
        that changes by less than float32's resolution is not an improvement)."""
        if reference_value is None:
            return True
        with np.errstate(over="ignore"):  # beyond float32's range: inf (Keras's conversion raises there)
            a, b = np.float32(monitor_value - self.min_delta), np.float32(reference_value)
        return bool(self.monitor_op(a, b))


class EarlyStopping(MonitorCallback):
    """Keras's ``EarlyStopping``: stop when ``monitor`` has not improved for ``patience`` epochs.

    Args (Keras's): monitor ``"val_loss"``, min_delta 0, patience 0, verbose 0, mode ``"auto"``,
    baseline ``None`` (an epoch that improves on the best but not on the baseline does not reset the
    wait), restore_best_weights ``False`` (the model's ``state_dict`` of the best epoch, buffers such as
    BatchNormalization's moving statistics included, as Keras's ``get_weights``), start_from_epoch 0.
    ``stopped_epoch`` and ``best_epoch`` are 0-based, as Keras's.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: Optional[float] = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0):
        super().__init__(monitor, mode, min_delta=min_delta)  # Keras 3.15.1 passes no baseline here either
        self.patience, self.verbose, self.baseline = patience, verbose, baseline
        self.wait = self.stopped_epoch = 0
        self.restore_best_weights, self.best_weights = restore_best_weights, None
        self.start_from_epoch = start_from_epoch

    def on_train_begin(self, logs=None):
        self.wait = self.stopped_epoch = self.best_epoch = 0
        self.best = self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = _weights(self.model), epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = _weights(self.model)
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            _set_weights(self.model, self.best_weights)

    def get_monitor_value(self, logs) -> Optional[float]:
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                          f"Available metrics are: {','.join(list(logs.keys()))}", stacklevel=2)
        return value


class ReduceLROnPlateau(MonitorCallback):
    """Keras's ``ReduceLROnPlateau``: multiply the learning rate by ``factor`` when ``monitor`` has not
    improved for ``patience`` epochs, then wait ``cooldown`` epochs.

    Args (Keras's): monitor ``"val_loss"``, factor 0.1 (must be < 1), patience 10, verbose 0, mode
    ``"auto"``, min_delta 1e-4, cooldown 0, min_lr 0. Every epoch it logs the rate in use as
    ``"learning_rate"`` (in the history too; a ``MultiOptimizer``: each optimizer's as ``"learning_rate_<name>"``,
    and each one's rate is reduced, as Keras 3.15.1). A :mod:`torch_impl.optim` optimizer stores the new rate in
    ``floatx`` as Keras's variable does (one with a schedule raises ``TypeError``, as Keras); another torch
    optimizer gets it in every parameter group's ``lr``.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0, **kwargs):
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        self.factor, self.min_lr, self.patience, self.verbose = factor, min_lr, patience, verbose
        self.cooldown, self.cooldown_counter, self.wait = cooldown, 0, 0

    def _reset(self) -> None:
        self.best, self.cooldown_counter, self.wait = None, 0, 0

    def on_train_begin(self, logs=None):
        self._reset()

    def _reduce_optimizer_lr(self, epoch: int, optimizer=None, name: str = "") -> bool:
        optimizer = self.optimizer if optimizer is None else optimizer
        old_lr = _learning_rate(optimizer)
        if old_lr > np.float32(self.min_lr):
            new_lr = max(old_lr * self.factor, self.min_lr)
            _set_learning_rate(optimizer, new_lr)
            if self.verbose > 0:
                name_str = f" {name}" if name else ""
                print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing{name_str} learning rate to {new_lr}.")
            return True
        return False

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        _log_learning_rates(self.optimizer, logs)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(list(logs.keys()))}.", stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best, self.wait = current, 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                subs = getattr(self.optimizer, "optimizers", None)  # a MultiOptimizer: each one's rate, as Keras
                reduced = [self._reduce_optimizer_lr(epoch)] if subs is None else \
                    [self._reduce_optimizer_lr(epoch, opt, getattr(opt, "name", "")) for opt in subs]
                if any(reduced):
                    self.cooldown_counter, self.wait = self.cooldown, 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0


class LearningRateScheduler(Callback):
    """Keras's ``LearningRateScheduler``: before each epoch the rate becomes ``schedule(epoch, lr)`` (``lr``:
    the current rate as the optimizer holds it; a ``schedule(epoch)`` of one argument works too, as in
    Keras); it must return a float (``ValueError`` otherwise, as Keras). Logs ``"learning_rate"`` (a
    ``MultiOptimizer``: each optimizer's rate scheduled and logged as ``"learning_rate_<name>"``, as Keras 3.15.1).

    Example:
        >>> import torch
        >>> from torch_impl import optim
        >>> cb = LearningRateScheduler(lambda epoch, lr: lr if epoch < 1 else lr * 0.5)
        >>> cb.set_optimizer(optim.SGD([torch.nn.Parameter(torch.zeros(1))], learning_rate=0.1))
        >>> cb.on_epoch_begin(0); cb.on_epoch_begin(1); round(cb.optimizer.learning_rate, 6)
        0.05
    """

    def __init__(self, schedule, verbose: int = 0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def _update_optimizer_lr(self, optimizer, epoch: int) -> float:
        try:  # Keras: the new API first, then the old one
            rate = self.schedule(epoch, _learning_rate(optimizer))
        except TypeError:
            rate = self.schedule(epoch)
        if not isinstance(rate, (float, np.float32, np.float64)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {rate}")
        _set_learning_rate(optimizer, float(rate))
        return rate

    def on_epoch_begin(self, epoch, logs=None):
        subs = getattr(self.optimizer, "optimizers", None)
        if subs is not None:  # a MultiOptimizer: each optimizer's rate, as Keras
            for opt in subs:
                rate = self._update_optimizer_lr(opt, epoch)
                if self.verbose > 0:
                    name = getattr(opt, "name", "")
                    print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting {name} learning rate to {rate}.")
            return
        rate = self._update_optimizer_lr(self.optimizer, epoch)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            _log_learning_rates(self.optimizer, logs)


class TerminateOnNaN(Callback):
    """Keras's ``TerminateOnNaN``: stop after the batch whose running loss is NaN or infinite (the epoch's
    validation and ``on_epoch_end`` still run, as in Keras); ``raise_error=True`` raises ``RuntimeError``."""

    def __init__(self, raise_error: bool = False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and (math.isnan(loss) or math.isinf(loss)):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                                   "Terminating training immediately.")
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class _SavesEveryNBatches:
    """``save_freq`` counted in batches, as Keras's ``ModelCheckpoint`` and ``BackupAndRestore`` count them."""

    save_freq: Union[str, int]
    _batches_seen_since_last_saving: int
    _last_batch_seen: Optional[int]

    def _should_save_on_batch(self, batch: int) -> bool:
        """Keras's count of the batches since the last save (a batch index not above the last one seen starts
        a new epoch)."""
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            add_batches = batch + 1
        else:
            add_batches = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add_batches
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False


@contextlib.contextmanager
def _optimizer_state_on(model: torch.nn.Module, optimizer):
    """``optimizer.state_dict()`` as ``model.optimizer_state_dict`` while the module is saved (Keras's ``.keras``
    file holds the optimizer's variables), the attribute as it was afterwards; nothing for ``optimizer`` ``None``."""
    if optimizer is None:
        yield
        return
    missing = object()
    before = model.__dict__.get("optimizer_state_dict", missing)
    model.__dict__["optimizer_state_dict"] = optimizer.state_dict()
    try:
        yield
    finally:
        if before is missing:
            del model.__dict__["optimizer_state_dict"]
        else:
            model.__dict__["optimizer_state_dict"] = before


class ModelCheckpoint(_SavesEveryNBatches, MonitorCallback):
    """Keras's ``ModelCheckpoint``: save the model at the end of every epoch (or every ``save_freq`` training
    batches), or with ``save_best_only`` only when ``monitor`` improves on the best so far.

    Args (Keras's): filepath (a ``str`` or ``PathLike``; ``str.format`` fields: ``epoch`` (1-based), on a batch
    save ``batch`` (1-based, unless the logs hold a ``"batch"``) and any key of the logs, e.g.
    ``"ckpt-{epoch:02d}-{val_loss:.3f}.pt"``; missing parent folders are made), monitor ``"val_loss"``,
    verbose 0 (1: Keras's messages), save_best_only ``False``, save_weights_only ``False``, mode ``"auto"``,
    save_freq ``"epoch"`` or an ``int`` number of training batches (counted across epochs, the batch logs
    then being the epoch's running means), initial_value_threshold ``None`` (the best to beat at first).

    What is saved is torch's: ``torch.save(model.state_dict(), path)`` with ``save_weights_only=True`` (load
    with ``model.load_state_dict(torch.load(path))``), else ``torch.save(model, path)``, the whole module
    (``torch.load(path, weights_only=False)``; without the hooks ``fit`` puts on a sparse ``nn.Embedding`` for
    the run). Any suffix is taken; Keras's formats ``.keras`` / ``.h5`` / ``.weights.h5`` raise ``ValueError``
    (write ``.pt``). The optimizer's state goes where a Keras 3.15.1 resume finds it, by file kind: the whole module
    (Keras's ``.keras``, whose ``load_model`` restores the optimizer's ``iterations`` and moments) carries
    ``optimizer.state_dict()`` as the loaded module's ``optimizer_state_dict`` attribute (the state when it was
    saved); the ``state_dict`` alone does not (Keras's ``.weights.h5`` holds the optimizer's variables, but
    ``load_weights`` into a newly compiled model skips them with a warning: its optimizer restarts). To resume as
    Keras's ``load_model`` + ``fit(initial_epoch=k)``: ``model = torch.load(path, weights_only=False)``, a new
    optimizer of the same kind on ``model.parameters()``, ``opt.load_state_dict(model.optimizer_state_dict)``, then
    ``fit(model, ..., optimizer=opt, initial_epoch=k)``. ``include_optimizer=False`` saves no optimizer state;
    ``include_optimizer=True`` saves ``{"model": <the module or its state_dict>, "optimizer":
    optimizer.state_dict()}``, with ``save_weights_only=True`` too.

    Keras's rules kept: an improvement is the :class:`MonitorCallback` comparison (``mode="auto"`` as
    ``EarlyStopping``'s, in float32); the best is kept across ``fit`` calls (Keras resets it only in the
    constructor); a monitor missing from the logs warns (``"Can save best model only with ... available."``)
    and saves, as does one with several values (a per-threshold metric). One difference: Keras 3.15.1 resolves
    ``mode`` at the first epoch's end, so its batch-level ``save_best_only`` fails (``TypeError``) on a
    comparison before then; here the direction is resolved at that comparison.

    Example:
        >>> import os, shutil, tempfile
        >>> import numpy as np, torch
        >>> from torch_impl import fit, losses, optim
        >>> rng = np.random.default_rng(2)
        >>> x = rng.normal(size=(64, 4)); y = (x[:, 0] + rng.normal(size=64) > 0).astype(int)
        >>> _ = torch.manual_seed(0); model = torch.nn.Linear(4, 2)
        >>> tmp = tempfile.mkdtemp()
        >>> ckpt = ModelCheckpoint(os.path.join(tmp, "ckpt", "{epoch:02d}-{val_loss:.3f}.pt"),
        ...                        save_best_only=True, save_weights_only=True)
        >>> hist = fit.fit(model, x, y, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
        ...                optimizer=optim.SGD(model.parameters(), learning_rate=0.5), epochs=4, verbose=0,
        ...                validation_split=0.25, shuffle=False, callbacks=[ckpt])
        >>> [round(v, 3) for v in hist.history["val_loss"]], sorted(os.listdir(os.path.join(tmp, "ckpt")))
        ([0.651, 0.602, 0.603, 0.616], ['01-0.651.pt', '02-0.602.pt'])
        >>> best = torch.nn.Linear(4, 2); best.load_state_dict(torch.load(os.path.join(tmp, "ckpt", "02-0.602.pt")))
        <All keys matched successfully>
        >>> shutil.rmtree(tmp)
    """

    def __init__(self, filepath, monitor: str = "val_loss", verbose: int = 0, save_best_only: bool = False,
                 save_weights_only: bool = False, mode: str = "auto", save_freq="epoch",
                 initial_value_threshold: Optional[float] = None, include_optimizer: Optional[bool] = None):
        super().__init__(monitor, mode, initial_value_threshold)
        self.include_optimizer = include_optimizer
        self.verbose = verbose
        self.filepath = os.fspath(filepath) if isinstance(filepath, os.PathLike) else filepath
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None
        self._current_epoch = 0
        if self.save_freq != "epoch" and not isinstance(self.save_freq, int):
            raise ValueError(f"Unrecognized save_freq: {self.save_freq}. Expected save_freq are 'epoch' or integer "
                             "values")
        if str(self.filepath).endswith((".keras", ".h5")):
            suggestion = re.sub(r"(\.weights)?\.(keras|h5)$", ".pt", str(self.filepath))
            raise ValueError(
                "ModelCheckpoint saves torch files (torch.save of the model, or of its state_dict with "
                "save_weights_only=True), not Keras's .keras/.h5/.weights.h5 formats: give a filepath ending in "
                f"`.pt` (e.g. {suggestion!r}). Received: filepath={self.filepath}")

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:  # Keras: once the metrics are built
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    def _should_save_model(self, epoch: int, batch: Optional[int], logs: Optional[dict], filepath: str) -> bool:
        logs = logs or {}
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
            return True
        if isinstance(current, (list, tuple)) or (isinstance(current, (np.ndarray, torch.Tensor)) and current.ndim > 0):
            warnings.warn(f"Can save best model only when `monitor` is a scalar value. Received: "
                          f"{np.asarray(current)}. Falling back to `save_best_only=False`.", stacklevel=3)
            return True
        if self.monitor_op is None:  # a batch save before the first epoch's end (Keras: TypeError)
            self._set_monitor_op()
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to {current:.5f}, saving model "
                      f"to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False

    def _save_model(self, epoch: int, batch: Optional[int], logs: Optional[dict]) -> None:
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, batch, logs, filepath):
            return
        if os.path.isdir(filepath):  # Keras turns h5py's IsADirectoryError into this
            raise IOError("Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an existing "
                          f"directory: {filepath}")
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if self.save_weights_only:
            saved = self.model.state_dict()
            if self.include_optimizer:
                saved = {"model": saved, "optimizer": self.optimizer.state_dict()}
            torch.save(saved, filepath)
        elif self.include_optimizer:
            with keras_embedding_gradients.hooks_removed(self.model):
                torch.save({"model": self.model, "optimizer": self.optimizer.state_dict()}, filepath)
        else:
            with keras_embedding_gradients.hooks_removed(self.model), _optimizer_state_on(
                    self.model, None if self.include_optimizer is False else getattr(self, "optimizer", None)):
                torch.save(self.model, filepath)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

    def _get_file_path(self, epoch: int, batch: Optional[int], logs: Optional[dict]) -> str:
        """``filepath`` with ``epoch + 1``, ``batch + 1`` (a batch save) and the logs filled in."""
        logs = logs or {}
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". Reason: {e}')


class CSVLogger(Callback):
    """Keras's ``CSVLogger``: one row per epoch in ``filename``, Keras's bytes.

    Args (Keras's): filename, separator ``","``, append ``False`` (``True``: add to an existing file, with no
    second header when it has a first line). The header is ``epoch`` then the first epoch's log keys sorted
    (with no ``val_`` key among them, the ``val_`` name of each is added: a ``validation_freq`` run logs its
    validation under them later); each row the 0-based epoch and the values, as Python's ``csv`` writes them
    (``str`` of the float, ``nan``, ``NA`` for a key the epoch did not log, ``"[a, b]"`` quoted for a value with
    several, such as a per-threshold metric); lines end in ``\\r\\n`` (the ``csv`` module's ``excel`` dialect);
    the file is flushed every epoch and closed at the end of training.

    Example:
        >>> import os, shutil, tempfile
        >>> import numpy as np, torch
        >>> from torch_impl import fit, losses, optim
        >>> x = np.random.default_rng(0).normal(size=(32, 4)); y = (x[:, 0] > 0).astype(int)
        >>> _ = torch.manual_seed(0); model = torch.nn.Linear(4, 2)
        >>> tmp = tempfile.mkdtemp(); path = os.path.join(tmp, "log.csv")
        >>> _ = fit.fit(model, x, y, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
        ...             optimizer=optim.SGD(model.parameters(), learning_rate=0.1), epochs=2, verbose=0,
        ...             shuffle=False, callbacks=[CSVLogger(path)], metrics=["accuracy"])
        >>> with open(path, newline="") as f:
        ...     lines = f.read().split("\\r\\n")
        >>> lines[0], lines[1].split(",")[0], lines[1].split(",")[-2:], len(lines)
        ('epoch,accuracy,loss,val_accuracy,val_loss', '0', ['NA', 'NA'], 4)
        >>> shutil.rmtree(tmp)
    """

    def __init__(self, filename, separator: str = ",", append: bool = False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename) if isinstance(filename, os.PathLike) else filename
        self.append = append
        self.writer = None
        self.keys: Optional[list] = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, "r") as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        if self.csv_file and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode)  # text mode, newline as Keras's file_utils.File opens it
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs.keys())
            if self.keys and not any(key.startswith("val_") for key in self.keys):
                self.keys.extend([f"val_{k}" for k in self.keys])
        if not self.writer:
            class CustomDialect(csv.excel):
                delimiter = self.sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + (self.keys or []),
                                         dialect=CustomDialect)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((key, _csv_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


def _csv_value(value):
    """Keras's ``handle_value``: a string as is; an iterable (not a 0-d array) as ``"[a, b]"`` of ``str`` of its
    elements; anything else as is (``csv`` writes ``str`` of it). Keras's several-valued log is a NumPy array in
    the metric's dtype: a list of floats is formatted as floatx (``torch.get_default_dtype()``) elements where
    they are exactly that, so float32 values print as Keras's ``str(np.float32)`` does."""
    if isinstance(value, str):
        return value
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value
    if isinstance(value, collections.abc.Iterable):
        items = list(value)
        if isinstance(value, (list, tuple)) and items and all(type(v) is float for v in items):
            floatx = torch.empty(0).numpy().dtype
            as_floatx = np.asarray(items, dtype=floatx)
            if all(float(a) == v or (math.isnan(a) and math.isnan(v)) for a, v in zip(as_floatx, items)):
                items = list(as_floatx)
        return f'"[{", ".join(map(str, items))}]"'
    return value


class LambdaCallback(Callback):
    """Keras's ``LambdaCallback``: a callback of functions. ``on_epoch_begin`` / ``on_epoch_end`` are called
    as ``f(epoch, logs)``, ``on_train_begin`` / ``on_train_end`` as ``f(logs)``, ``on_train_batch_begin`` /
    ``on_train_batch_end`` as ``f(batch, logs=logs)``; any other hook of :class:`Callback` by keyword
    (``on_test_begin=f``, ``on_batch_end=f``...), as is any other name (stored as an attribute, as Keras).

    Example:
        >>> import numpy as np, torch
        >>> from torch_impl import fit, losses, optim
        >>> x = np.random.default_rng(0).normal(size=(32, 4)); y = (x[:, 0] > 0).astype(int)
        >>> model = torch.nn.Linear(4, 2); seen = []
        >>> cb = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append((epoch, sorted(logs))),
        ...                     on_train_batch_end=lambda batch, logs: seen.append(batch),
        ...                     on_train_end=lambda logs: seen.append("end"))
        >>> _ = fit.fit(model, x, y, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
        ...             optimizer=optim.SGD(model.parameters()), batch_size=16, epochs=2, verbose=0,
        ...             callbacks=[cb], metrics=["accuracy"])
        >>> seen
        [0, 1, (0, ['accuracy', 'loss']), 0, 1, (1, ['accuracy', 'loss']), 'end']
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        self.__dict__.update(kwargs)
        if on_epoch_begin is not None:
            self.on_epoch_begin = on_epoch_begin
        if on_epoch_end is not None:
            self.on_epoch_end = on_epoch_end
        if on_train_begin is not None:
            self.on_train_begin = on_train_begin
        if on_train_end is not None:
            self.on_train_end = on_train_end
        if on_train_batch_begin is not None:
            self.on_train_batch_begin = on_train_batch_begin
        if on_train_batch_end is not None:
            self.on_train_batch_end = on_train_batch_end


class SwapEMAWeights(Callback):
    """Keras's ``SwapEMAWeights``: evaluate (and predict) with the optimizer's moving averages of the weights.

    With an optimizer made with ``use_ema=True`` (:mod:`torch_impl.optim`: ``SGD(..., use_ema=True,
    ema_momentum=0.9)``, or inside a ``LossScaleOptimizer`` / ``MultiOptimizer``), ``on_test_begin`` swaps each
    trainable parameter with its moving average in place and ``on_test_end`` swaps them back, so ``fit``'s
    ``val_`` figures are those of the averaged weights, the weights ``fit`` leaves in the model at its end
    (``finalize_variable_values``). ``swap_on_epoch=True`` also swaps them in at each epoch's end and out at the
    next epoch's start, so callbacks after this one (a ``ModelCheckpoint``) see the averaged weights; at the
    last epoch's end the averages are set to the weights then in the model, as Keras does.

    Keras 3.15.1's rules kept: the swap is TensorFlow's in-place ``w += a; a = w - a; w -= a`` (exact when a weight
    and its average are close, as they are in practice; rounded as Keras's otherwise); a parameter not yet
    stepped swaps with Keras's zero average; an optimizer without ``use_ema`` raises ``ValueError("SwapEMAWeights
    must be used when `use_ema=True` is set on the optimizer. ...")`` at the first swap (a ``MultiOptimizer``:
    when none of its optimizers has it). Keras's quirk: ``on_predict_end`` swaps back only when the averages are
    NOT in the model, so after ``predict(..., callbacks=[swap])`` the model keeps the averaged weights (and the
    averages the trained weights) until the next swap.

    Example:
        >>> import numpy as np, torch
        >>> from torch_impl import fit, optim
        >>> x = np.random.default_rng(0).normal(size=(32, 3)); y = x @ np.ones((3, 1))
        >>> model = torch.nn.Linear(3, 1)
        >>> opt = optim.SGD(model.parameters(), learning_rate=0.1, use_ema=True, ema_momentum=0.9)
        >>> hist = fit.fit(model, x, y, loss="mse", optimizer=opt, epochs=3, verbose=0, shuffle=False,
        ...                validation_data=(x, y), callbacks=[SwapEMAWeights()])
        >>> hist.history["val_loss"][-1] == fit.evaluate(model, x, y, loss="mse", verbose=0)["loss"]  # EMA weights
        True
    """

    def __init__(self, swap_on_epoch: bool = False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _ema_optimizers(self) -> list:
        """The optimizers whose averages are swapped (Keras's ``_apply_to_ema_optimizers`` checks)."""
        optimizer = self.optimizer
        if optimizer is None:
            raise ValueError("SwapEMAWeights swaps the weights with the averages of the optimizer `fit` trains with "
                             "(use_ema=True): run it in fit (evaluate and predict then use the optimizer of that fit).")
        if hasattr(optimizer, "inner_optimizer"):  # LossScaleOptimizer
            optimizer = optimizer.inner_optimizer
        if hasattr(optimizer, "optimizers"):  # MultiOptimizer
            ema = [opt for opt in optimizer.optimizers if getattr(opt, "use_ema", False)]
            if not ema:
                raise ValueError("SwapEMAWeights must be used when at least one inner optimizer has `use_ema=True` "
                                 "set. Received a MultiOptimizer with all inner optimizers having `use_ema=False`.")
            return ema
        if not getattr(optimizer, "use_ema", False):
            raise ValueError("SwapEMAWeights must be used when `use_ema=True` is set on the optimizer. Received: "
                             f"use_ema={getattr(optimizer, 'use_ema', False)}")
        return [optimizer]

    def _pairs(self):
        """``(weight, average)`` of every parameter the optimizers average (Keras's ``_trainable_variables`` and
        ``_model_variables_moving_average``; an average not made yet is Keras's zeros)."""
        for opt in self._ema_optimizers():
            for group in opt.param_groups:
                for p in group["params"]:
                    state = opt.state[p]
                    if not p.requires_grad and "average" not in state:
                        continue
                    if "average" not in state:
                        state["average"] = torch.zeros_like(p)
                    yield p, state["average"]

    @torch.no_grad()
    def _swap_variables(self) -> None:
        for var, average in self._pairs():  # TensorFlow's swap by addition (no new variable)
            var.add_(average)
            average.copy_(var - average)
            var.sub_(average)

    @torch.no_grad()
    def _finalize_ema_values(self) -> None:
        for var, average in self._pairs():
            average.copy_(var)

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch and self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True
            # fit's finalize_variable_values will copy the averages into the weights: the averages must be the
            # averaged weights now in the model
            if epoch == self.params["epochs"] - 1:
                self._finalize_ema_values()

    def on_test_begin(self, logs=None):
        if not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True

    def on_test_end(self, logs=None):
        if self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False

    def on_predict_begin(self, logs=None):
        if not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True

    def on_predict_end(self, logs=None):
        if not self._ema_weights_in_model:  # sic: Keras 3.15.1's test, so the averaged weights stay in the model
            self._swap_variables()
            self._ema_weights_in_model = False


class BackupAndRestore(_SavesEveryNBatches, Callback):
    """Keras's ``BackupAndRestore``: back up the training state, and resume an interrupted ``fit`` from it.

    Each save writes ``backup_dir/latest.weights.pt`` (``torch.save({"model": model.state_dict(), "optimizer":
    optimizer.state_dict()})``: the parameters and buffers, and the optimizer's slots and step count, as Keras's
    ``latest.weights.h5`` holds the model's and the optimizer's variables) and ``backup_dir/training_metadata.json``
    (Keras's ``{"epoch": <epochs done>, "batch": <last batch seen>}``). When ``fit`` starts
    (``on_train_begin``) with a backup in ``backup_dir``, the state is loaded and the model's ``_initial_epoch``
    set to the saved epoch: ``fit`` then runs from that epoch to ``epochs`` (Keras's ``self._initial_epoch or
    initial_epoch``; a backup saved within an epoch restarts that epoch). When ``fit`` ends, ``backup_dir`` is
    deleted (``delete_checkpoint=True``).

    Args (Keras's): backup_dir (a path; a folder for this callback alone; made when missing; empty or ``None``:
    ``ValueError("Empty `backup_dir` argument passed")``), save_freq ``"epoch"`` (each epoch's end) or an ``int``
    (every that many training batches, counted across epochs; anything else: ``ValueError("Invalid value for
    argument `save_freq`...")``), double_checkpoint ``False`` (``True``: the previous backup is kept as ``.bkp``
    files, and loaded when the latest one cannot be read), delete_checkpoint ``True``.

    Keras's rules kept: a model whose parameters are not built (a lazy ``torch.nn.LazyLinear`` not called yet)
    raises ``ValueError`` at ``fit``'s start; the restored ``_initial_epoch`` stays on the model, so a later ``fit``
    of that model starts there too, with or without the callback (set ``model._initial_epoch = None`` to start
    over); ``save_freq=False`` (Keras's preemption setting, an ``int`` to Python) saves after every batch. An
    unreadable latest backup (a torch ``load`` error) falls back to the previous one where there is one, else
    raises; a backup of another model (keys or shapes that differ) raises as ``load_state_dict`` does.

    Example:
        >>> import os, tempfile
        >>> import numpy as np, torch
        >>> from torch_impl import fit
        >>> class Interrupt(Callback):
        ...     def on_epoch_begin(self, epoch, logs=None):
        ...         if epoch == 4:
        ...             raise RuntimeError("Interrupting!")
        >>> backup = BackupAndRestore(backup_dir=os.path.join(tempfile.mkdtemp(), "backup"))
        >>> model = torch.nn.Linear(20, 10)
        >>> x, y = np.arange(100.0).reshape(5, 20), np.zeros((5, 10))
        >>> try:
        ...     _ = fit.fit(model, x, y, loss="mse", optimizer="sgd", epochs=10, batch_size=1, verbose=0,
        ...                 callbacks=[backup, Interrupt()])
        ... except RuntimeError:
        ...     pass
        >>> history = fit.fit(model, x, y, loss="mse", optimizer="sgd", epochs=10, batch_size=1, verbose=0,
        ...                   callbacks=[backup])
        >>> history.epoch  # resumed at the 0-based epoch 4
        [4, 5, 6, 7, 8, 9]
        >>> os.path.exists(backup.backup_dir)
        False
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint: bool = False,
                 delete_checkpoint: bool = True):
        super().__init__()
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        self.backup_dir = os.fspath(backup_dir)
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.pt")
        self._training_metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._prev_weights_path = f"{self._weights_path}.bkp"
        self._prev_training_metadata_path = f"{self._training_metadata_path}.bkp"
        if save_freq != "epoch" and not isinstance(save_freq, int):
            raise ValueError(f"Invalid value for argument `save_freq`. Received: save_freq={save_freq}. Expected "
                             "either 'epoch' or an integer value.")

    def on_train_begin(self, logs=None):
        try:
            self._load_model()
        except OSError as e:  # Keras: the weights may be corrupted, try the previous ones
            if not os.path.exists(self._prev_weights_path):
                raise e
            shutil.copy(self._prev_weights_path, self._weights_path)
            if os.path.exists(self._prev_training_metadata_path):
                shutil.copy(self._prev_training_metadata_path, self._training_metadata_path)
            elif os.path.exists(self._training_metadata_path):
                os.remove(self._training_metadata_path)
            self._load_model()

    def _load_model(self) -> None:
        """Restore the training state from ``backup_dir`` (nothing when it holds none)."""
        if any(isinstance(t, torch.nn.parameter.UninitializedTensorMixin)
               for t in list(self.model.parameters()) + list(self.model.buffers())):
            raise ValueError("To use the BackupAndRestore callback, you model must be built before you call `fit()`. "
                             f"Model {type(self.model).__name__} is unbuilt. You can build it beforehand by calling "
                             "it on a batch of data.")
        if os.path.exists(self._weights_path):
            try:
                state = torch.load(self._weights_path, map_location="cpu", weights_only=True)
            except _UNREADABLE as e:  # as h5py's OSError on a corrupted file
                raise OSError(f"Unable to read the backup {self._weights_path}: {e}") from e
            self.model.load_state_dict(state["model"])
            if self.optimizer is not None and state.get("optimizer") is not None:
                self.optimizer.load_state_dict(state["optimizer"])
        if os.path.exists(self._training_metadata_path):
            with open(self._training_metadata_path, "r") as f:
                training_metadata = json.loads(f.read())
            self.model._initial_epoch = training_metadata["epoch"]

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save_model()

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model()

    def _save_model(self) -> None:
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._weights_path):
            shutil.copy(self._weights_path, self._prev_weights_path)
        if self.double_checkpoint and os.path.exists(self._training_metadata_path):
            shutil.copy(self._training_metadata_path, self._prev_training_metadata_path)
        optimizer = self.optimizer.state_dict() if hasattr(self.optimizer, "state_dict") else None
        torch.save({"model": self.model.state_dict(), "optimizer": optimizer}, self._weights_path)
        with open(self._training_metadata_path, "w") as f:
            f.write(json.dumps({"epoch": self._current_epoch, "batch": self._last_batch_seen}))

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)


#: what ``torch.load`` raises on a file it cannot read (Keras catches h5py's ``OSError``)
_UNREADABLE = (OSError, EOFError, RuntimeError, pickle.UnpicklingError)


def _weights(model):
    """Keras's ``model.get_weights()``: every parameter and buffer of a torch module, copied (a model object
    with ``get_weights`` of its own is asked for them)."""
    if not isinstance(model, torch.nn.Module) and hasattr(model, "get_weights"):
        return model.get_weights()
    return copy.deepcopy(model.state_dict())


def _set_weights(model, weights) -> None:
    if not isinstance(model, torch.nn.Module) and hasattr(model, "set_weights"):
        model.set_weights(weights)
    else:
        model.load_state_dict(weights)


def _set_learning_rate(optimizer: torch.optim.Optimizer, value: float) -> None:
    """Keras's ``optimizer.learning_rate = value``: torch_impl.optim stores it in floatx (a schedule raises
    ``TypeError``); another torch optimizer gets it in every parameter group."""
    if hasattr(type(optimizer), "learning_rate"):
        optimizer.learning_rate = value
    else:
        for group in optimizer.param_groups:
            group["lr"] = value


def _log_learning_rates(optimizer, logs: dict) -> None:
    """Keras's ``logs["learning_rate"]``; a MultiOptimizer's rates as ``learning_rate_<name>``, one per optimizer."""
    subs = getattr(optimizer, "optimizers", None)
    if subs is None:
        logs["learning_rate"] = _learning_rate(optimizer)
        return
    seen: dict = {}
    for opt in subs:  # Keras's names are unique ("sgd", "sgd_1"); torch_impl's are not: the same suffixes here
        name = getattr(opt, "name", type(opt).__name__.lower())
        n = seen[name] = seen.get(name, -1) + 1
        logs[f"learning_rate_{name}_{n}" if n else f"learning_rate_{name}"] = _learning_rate(opt)


def _learning_rate(optimizer: torch.optim.Optimizer) -> float:
    """Keras's ``float(optimizer.learning_rate)``: torch_impl.optim's (floatx-rounded), else the first group's."""
    if hasattr(type(optimizer), "learning_rate"):
        return float(optimizer.learning_rate)
    return float(optimizer.param_groups[0]["lr"])

"""Keras's training callbacks for :func:`torch_impl.fit.fit`: ``EarlyStopping``, ``ReduceLROnPlateau``,
``LearningRateScheduler``, ``TerminateOnNaN``, and the ``Callback`` base to write your own.

``fit(..., callbacks=[...])`` calls them where ``keras.Model.fit`` (Keras 3.15.1, TensorFlow backend) does:
``on_train_begin``; per epoch ``on_epoch_begin``, per batch ``on_train_batch_begin`` /
``on_train_batch_end`` (logs: the epoch's running means so far, as Keras's), the validation, then
``on_epoch_end(epoch, logs)`` (a callback may add to ``logs``: ``ReduceLROnPlateau`` adds
``"learning_rate"``, which the history then records, as Keras's ``History`` runs last); training stops
after the batch or epoch where a callback set ``self.model.stop_training = True``; then the optimizer's
``finalize_variable_values`` and ``on_train_end`` (``EarlyStopping`` restores the best weights there).
A callback sees ``self.model`` (the torch module) and ``self.optimizer`` (Keras's ``self.model.optimizer``).

The Keras rules kept (from ``keras/src/callbacks``): ``mode="auto"`` minimises a monitor named ``loss`` /
``val_loss``, maximises an accuracy that ``fit`` logs under that name (``val_`` removed), and raises
``ValueError`` for anything else (``weighted_accuracy`` included: Keras looks the name up among its
metric objects, which are named ``accuracy``); ``min_delta`` counts against the monitor's direction;
``EarlyStopping`` counts an epoch before it compares, never stops at epoch 0, ignores epochs before
``start_from_epoch``, and keeps the first monitored epoch's weights as the best until one improves;
``ReduceLROnPlateau`` reduces only while the rate exceeds ``float32(min_lr)``, to
``max(rate * factor, min_lr)`` stored in ``floatx``, then waits ``cooldown`` epochs. A missing monitor
warns and is skipped.

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

import copy
import math
import warnings
from typing import Callable, Optional

import numpy as np
import torch

__all__ = ["Callback", "CallbackList", "MonitorCallback", "EarlyStopping", "ReduceLROnPlateau",
           "LearningRateScheduler", "TerminateOnNaN"]


class Callback:
    """Keras's ``keras.callbacks.Callback``: override the hooks you need. ``fit`` sets ``self.model`` and
    ``self.optimizer`` before ``on_train_begin``. ``on_batch_end`` is the older name of
    ``on_train_batch_end`` (Keras's base class routes one to the other)."""

    def __init__(self):
        self.model: Optional[torch.nn.Module] = None
        self.optimizer: Optional[torch.optim.Optimizer] = None
        self.params: dict = {}

    def set_params(self, params: dict) -> None:
        """Keras's ``params``: ``{"verbose", "epochs", "steps"}`` of the ``fit`` call."""
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


def _pythonify(logs: Optional[dict]) -> dict:
    """Keras's ``pythonify_logs``: a new dict, keys sorted, values Python floats where they convert (``{}``
    for no logs)."""
    out = {}
    for k, v in sorted((logs or {}).items()):
        try:
            out[k] = float(v)
        except (TypeError, ValueError):
            out[k] = v
    return out


class CallbackList:
    """Keras's ``CallbackList``: calls a hook on every callback, in order, each call with one fresh dict of
    logs sorted by key (what a callback adds to the epoch's logs, the history, which Keras runs last,
    records too). Used by :func:`torch_impl.fit.fit`."""

    def __init__(self, callbacks, model, optimizer, params: dict, metric_directions: Callable[[], dict] = dict):
        self.callbacks = list(callbacks or ())
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks take torch_impl.callbacks.Callback instances, got {type(cb).__name__}")
            cb.set_model(model)
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
    ``"learning_rate"`` (in the history too). A :mod:`torch_impl.optim` optimizer stores the new rate in
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

    def _reduce_optimizer_lr(self, epoch: int) -> bool:
        old_lr = _learning_rate(self.optimizer)
        if old_lr > np.float32(self.min_lr):
            new_lr = max(old_lr * self.factor, self.min_lr)
            _set_learning_rate(self.optimizer, new_lr)
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
            return True
        return False

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        logs["learning_rate"] = _learning_rate(self.optimizer)
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
            if self.wait >= self.patience and self._reduce_optimizer_lr(epoch):
                self.cooldown_counter, self.wait = self.cooldown, 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0


class LearningRateScheduler(Callback):
    """Keras's ``LearningRateScheduler``: before each epoch the rate becomes ``schedule(epoch, lr)`` (``lr``:
    the current rate as the optimizer holds it; a ``schedule(epoch)`` of one argument works too, as in
    Keras); it must return a float (``ValueError`` otherwise, as Keras). Logs ``"learning_rate"``.

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

    def on_epoch_begin(self, epoch, logs=None):
        try:  # Keras: the new API first, then the old one
            rate = self.schedule(epoch, _learning_rate(self.optimizer))
        except TypeError:
            rate = self.schedule(epoch)
        if not isinstance(rate, (float, np.float32, np.float64)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {rate}")
        _set_learning_rate(self.optimizer, float(rate))
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _learning_rate(self.optimizer)


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


def _learning_rate(optimizer: torch.optim.Optimizer) -> float:
    """Keras's ``float(optimizer.learning_rate)``: torch_impl.optim's (floatx-rounded), else the first group's."""
    if hasattr(type(optimizer), "learning_rate"):
        return float(optimizer.learning_rate)
    return float(optimizer.param_groups[0]["lr"])

"""Keras models, optimizers and training from the framework-neutral specs.

* :func:`build_model` reads the same layer spec as ``torch_impl.nn.build_model``
  (``{"input_dim": 4, "layers": [{"type": "dense", "units": 8, "activation": "relu"}, ...]}``)
  and returns a ``keras.Sequential``, optionally with given NumPy weights
  (``model.get_weights()`` order and layout).
* :func:`make_optimizer` builds ``keras.optimizers.Adam`` / ``SGD`` / ``RMSprop``.
* :func:`fit` runs one ``model.fit`` with an explicit batch order per epoch
  (a ``keras.utils.PyDataset`` that serves epoch ``e``'s permutation), so a
  PyTorch run can use the same order, and returns the same history structure
  as ``torch_impl.fit``.
* :func:`floatx` sets ``keras.config.floatx`` for a block (float64 runs).

Example:
    >>> import numpy as np
    >>> from keras_impl.models import build_model
    >>> m = build_model({"input_dim": 4, "layers": [{"type": "dense", "units": 3, "activation": "softmax"}]})
    >>> [w.shape for w in m.get_weights()]
    [(4, 3), (3,)]
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Optional, Sequence

import keras
import numpy as np

from keras_impl.losses import make_loss

__all__ = ["build_model", "make_optimizer", "fit", "floatx"]


@contextlib.contextmanager
def floatx(dtype: str) -> Iterator[None]:
    """``keras.config.set_floatx(dtype)`` and the matching global dtype policy for the block (what a script that
    sets floatx first gets), both restored afterwards as they were stored: Keras pins a policy from the floatx of
    the moment the first layer is made (``keras.config.dtype_policy()`` stores it), which would outlive the
    block or ignore its floatx."""
    from keras.src.backend.common import global_state

    previous = keras.config.floatx()
    policy = global_state.get_global_attribute("dtype_policy")
    keras.config.set_floatx(dtype)
    keras.config.set_dtype_policy(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(previous)
        global_state.set_global_attribute("dtype_policy", policy)


_SPEC_KEYS = {"dense": {"type", "units", "activation", "use_bias", "kernel_regularizer", "bias_regularizer",
                        "kernel_constraint", "bias_constraint", "kernel_initializer", "bias_initializer"},
              "batchnorm": {"type", "momentum", "epsilon"}, "dropout": {"type", "rate", "seed"},
              "activation": {"type", "activation"}}


def build_model(spec: dict, weights: Optional[Sequence[np.ndarray]] = None, dtype: Optional[str] = None):
    """A ``keras.Sequential`` from the layer spec (dense, batchnorm, activation, dropout)."""
    dtype = dtype or keras.config.floatx()
    layers = [keras.Input(shape=(int(spec["input_dim"]),), dtype=dtype)]
    for layer in spec["layers"]:
        kind = layer.get("type")
        extra = sorted(set(layer) - _SPEC_KEYS.get(kind, set(layer)))
        if extra:  # as torch_impl.nn.build_model: a key neither side builds must not vanish on one
            raise ValueError(f"model spec layer ({kind}): unknown key(s) {extra}; a {kind} layer takes "
                             f"{sorted(_SPEC_KEYS[kind])}")
        if kind == "dense":
            act = layer.get("activation")
            manual = act == "manual_softmax"
            layers.append(keras.layers.Dense(int(layer["units"]), activation=None if manual else act,
                                             use_bias=layer.get("use_bias", True), dtype=dtype,
                                             kernel_regularizer=layer.get("kernel_regularizer"),
                                             bias_regularizer=layer.get("bias_regularizer"),
                                             kernel_constraint=layer.get("kernel_constraint"),
                                             bias_constraint=layer.get("bias_constraint"),
                                             kernel_initializer=layer.get("kernel_initializer", "glorot_uniform"),
                                             bias_initializer=layer.get("bias_initializer", "zeros")))
            if manual:  # a hand-written softmax: its output carries no logits for the loss to find
                layers.append(keras.layers.Lambda(_manual_softmax, dtype=dtype))
        elif kind == "batchnorm":
            layers.append(keras.layers.BatchNormalization(momentum=layer.get("momentum", 0.99),
                                                          epsilon=layer.get("epsilon", 1e-3), dtype=dtype))
        elif kind == "activation":
            layers.append(keras.layers.Activation(layer["activation"], dtype=dtype))
        elif kind == "dropout":
            layers.append(keras.layers.Dropout(layer["rate"], seed=layer["seed"], dtype=dtype))
        else:
            raise ValueError(f"unknown layer type {kind!r} in model spec (dense, batchnorm, activation, dropout)")
    model = keras.Sequential(layers)
    if weights is not None:
        expected = [w.shape for w in model.get_weights()]
        got = [np.shape(w) for w in weights]
        if expected != got:
            raise ValueError(f"weights do not fit the model: expected shapes {expected}, got {got}")
        model.set_weights([np.asarray(w, dtype=dtype) for w in weights])
    return model


def _manual_softmax(x):
    e = keras.ops.exp(x - keras.ops.max(x, axis=-1, keepdims=True))
    return e / keras.ops.sum(e, axis=-1, keepdims=True)


_OPTIMIZERS = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop", "adagrad": "Adagrad",
               "adadelta": "Adadelta", "adamax": "Adamax", "nadam": "Nadam", "lion": "Lion", "lamb": "Lamb",
               "ftrl": "Ftrl", "adafactor": "Adafactor", "muon": "Muon",
               "schedule_free_adamw": "ScheduleFreeAdamW"}


def make_optimizer(name: str, **config):
    """``keras.optimizers.<Adam|SGD|RMSprop|...>(**config)`` by lower-case name."""
    try:
        return getattr(keras.optimizers, _OPTIMIZERS[name.lower()])(**config)
    except KeyError:
        raise ValueError(f"Unknown optimizer {name!r}; known: {sorted(_OPTIMIZERS)}") from None


class _OrderedBatches(keras.utils.PyDataset):
    """The batches of every epoch in the given order: one ``model.fit`` call for the whole run."""

    def __init__(self, x, y, sw, orders, batch_size: int):
        super().__init__()
        self.x, self.y, self.sw, self.orders, self.batch_size = x, y, sw, orders, int(batch_size)
        self.epoch = -1

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def on_epoch_begin(self):
        self.epoch += 1

    def __getitem__(self, i):
        idx = self.orders[max(self.epoch, 0)][i * self.batch_size:(i + 1) * self.batch_size]
        if self.sw is None:
            return self.x[idx], self.y[idx]
        return self.x[idx], self.y[idx], self.sw[idx]


def fit(model, x, y, *, loss, optimizer, batch_size: int, epochs: int, orders: Optional[Sequence[np.ndarray]] = None,
        class_weight: Optional[dict] = None, sample_weight=None, validation_data=None,
        metrics: Sequence[str] = ("accuracy",), callbacks: Sequence = ()) -> dict:
    """``model.fit`` with the batch order given per epoch; returns ``{"loss": [...], "accuracy": [...], ...}``.

    Args:
        loss: a Keras loss, or ``(name, config)`` for :func:`keras_impl.losses.make_loss`.
        optimizer: a Keras optimizer, or ``(name, config)`` for :func:`make_optimizer`.
        orders: one permutation of ``range(len(x))`` per epoch (``None``: data order).
        callbacks: Keras callbacks, called for every epoch (e.g. :class:`keras_impl.diagnose.DoctorCallback`).
    """
    if isinstance(loss, tuple):
        loss = make_loss(loss[0], **loss[1])
    if isinstance(optimizer, tuple):
        optimizer = make_optimizer(optimizer[0], **optimizer[1])
    model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics))
    x, y = np.asarray(x), np.asarray(y)
    sw = None if sample_weight is None else np.asarray(sample_weight)
    orders = [np.arange(len(x))] * epochs if orders is None else [np.asarray(o) for o in orders[:epochs]]
    if len(orders) < epochs:
        raise ValueError(f"orders has {len(orders)} batch orders for {epochs} epochs; give one per epoch.")
    batches = _OrderedBatches(x, y, sw, orders, batch_size)
    h = model.fit(batches, epochs=epochs, shuffle=False, verbose=0, class_weight=class_weight,
                  validation_data=validation_data, callbacks=list(callbacks))
    history = {k: [float(v) for v in vals] for k, vals in h.history.items()}
    return history

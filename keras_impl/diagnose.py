"""The training doctor for Keras models (TensorFlow backend): measurements before, during and after training.

:func:`layer_gradient_norms` measures the kernel-gradient norm of every Dense
layer; :class:`DoctorCallback` is a ``keras.callbacks.Callback`` that checks the
labels, loss and output layer when training starts, records the same per-epoch
measurements as :class:`torch_impl.diagnose.TrainingDoctor`, and diagnoses the
run with the same framework-neutral rules (:mod:`scenarios.doctor`).

    doctor = DoctorCallback(x_train, y_train, class_weight=cw)
    model.fit(x_train, y_train, epochs=10, class_weight=cw, callbacks=[doctor])
    print(doctor.render(doctor.diagnose(x_test, y_test)))

Example:
    >>> import numpy as np
    >>> from keras_impl.diagnose import layer_gradient_norms
    >>> from keras_impl.models import build_model
    >>> m = build_model({"input_dim": 3, "layers": [{"type": "dense", "units": 2, "activation": "softmax"}]})
    >>> len(layer_gradient_norms(m, np.ones((4, 3), "float32"), np.array([0, 1, 0, 1]),
    ...                          "sparse_categorical_crossentropy"))
    1
"""

from __future__ import annotations

from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from keras_impl.losses import make_loss

__all__ = ["layer_gradient_norms", "DoctorCallback", "loss_facts"]


def layer_gradient_norms(model, x, y, loss, sample_weight=None) -> list[tuple[str, float]]:
    """L2 norm of d(loss)/d(kernel) for every Dense layer, whole batch, training mode; state restored."""
    if isinstance(loss, str):
        loss = make_loss(loss)
    elif isinstance(loss, tuple):
        loss = make_loss(loss[0], **loss[1])
    # a training-mode call updates BatchNormalization's moving statistics: restore them afterwards
    stateful = any(layer.non_trainable_weights for layer in model.layers)
    saved = model.get_weights() if stateful else None
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    kernels = [layer.kernel for layer in dense]
    xt = tf.constant(np.asarray(x, dtype=model.inputs[0].dtype if model.inputs else None))
    try:
        with tf.GradientTape() as tape:
            value = loss(y, model(xt, training=True), sample_weight=sample_weight)
        grads = tape.gradient(value, kernels)
    finally:
        if saved is not None:
            model.set_weights(saved)
    return [(layer.name, float(tf.norm(g))) for layer, g in zip(dense, grads)]


def loss_facts(loss) -> dict:
    """``{"loss": keras name, "from_logits": bool, "alpha": ...}`` of a Keras loss (object or name)."""
    if isinstance(loss, str):
        return {"loss": loss, "from_logits": False, "alpha": None}
    cfg = loss.get_config() if hasattr(loss, "get_config") else {}
    fn = getattr(loss, "fn", None)
    name = getattr(fn, "__name__", None) if fn is not None else None
    name = name if name and not name.startswith("<") else getattr(loss, "name", type(loss).__name__)
    if "focal_loss" in str(name) and "crossentropy" not in str(name):
        name = "focal_loss"
    alpha = cfg.get("alpha")
    return {"loss": str(name), "from_logits": bool(cfg.get("from_logits", False)),
            "alpha": np.asarray(alpha) if isinstance(alpha, (list, tuple)) else alpha}


def _output_activation(model) -> str:
    last = model.layers[-1]
    if isinstance(last, keras.layers.Lambda):
        return "manual_softmax"
    act = getattr(last, "activation", None)
    return getattr(act, "__name__", "linear") if act is not None else "linear"


class DoctorCallback(keras.callbacks.Callback):
    """Measure a Keras model around ``fit`` and diagnose it (see the module docstring).

    Args:
        x, y: training inputs and labels; the first ``probe_size`` samples are the probe on which
            gradients and predictions are measured at every epoch end.
        loss: the loss (default: the compiled one).
        class_weight, sample_weight: as given to ``fit``.
    """

    def __init__(self, x, y, *, loss=None, class_weight: Optional[dict] = None, sample_weight=None,
                 probe_size: int = 1024):
        super().__init__()
        n = min(len(y), probe_size)
        self.x, self.y = np.asarray(x)[:n], np.asarray(y)[:n]
        self.loss_ = loss
        self.class_weight = class_weight
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)[:n]
        self.epochs: list[dict] = []
        self._setup: Optional[dict] = None

    def _loss(self):
        return self.loss_ if self.loss_ is not None else self.model.loss

    def _outputs(self, x=None) -> np.ndarray:
        """The model's outputs on ``x`` (default: the probe) in inference mode."""
        x = self.x if x is None else x
        x = tf.constant(np.asarray(x, dtype=self.model.inputs[0].dtype if self.model.inputs else None))
        return np.asarray(self.model(x, training=False), dtype=np.float64)

    def _probe_weights(self):
        if self.sample_weight is not None:
            return self.sample_weight
        if self.class_weight is not None:
            from keras.src.trainers.data_adapters.data_adapter_utils import class_weight_to_sample_weights

            return class_weight_to_sample_weights(self.y, self.class_weight)
        return None

    def setup_facts(self) -> dict:
        """What :func:`scenarios.doctor.check_setup` needs, measured once (before training) and kept."""
        if self._setup is None:
            self._setup = self._measure_setup()
        return dict(self._setup)

    def _measure_setup(self) -> dict:
        from scenarios.doctor import setup_record

        facts = loss_facts(self._loss())
        out = self._outputs()
        n_dense = sum(isinstance(layer, keras.layers.Dense) for layer in self.model.layers)
        return setup_record(self.y, out, **facts, output_activation=_output_activation(self.model),
                            class_weight=self.class_weight, sample_weight=self.sample_weight, n_dense=n_dense,
                            grad_norms=self._grad_norms)

    def _grad_norms(self) -> list[float]:
        return [n for _, n in layer_gradient_norms(self.model, self.x, self.y, self._loss(), self._probe_weights())]

    def measure(self, loss_value: float) -> dict:
        """One epoch record: the loss, per-layer kernel-gradient norms, probabilities at the clip, predictions."""
        from scenarios.doctor import epoch_record

        return epoch_record(loss_value, self._grad_norms(), self._outputs(), _output_activation(self.model))

    def on_train_begin(self, logs=None):
        self.setup_facts()  # the first call measures the untrained model; later fit() calls keep it

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(self.measure((logs or {})["loss"]))

    def _train_accuracy(self) -> Optional[float]:
        from scenarios.doctor import train_accuracy

        return train_accuracy(self.y, loss_facts(self._loss())["loss"], self._outputs())

    def diagnose_setup(self, model=None) -> dict:
        """Findings before training (``model`` when the callback is not attached yet)."""
        from scenarios.doctor import diagnose

        if model is not None:
            self.set_model(model)
        return diagnose(self.setup_facts())

    def diagnose(self, x_test=None, y_test=None) -> dict:
        """All findings so far: setup, the recorded epochs, and held-out recall when ``x_test`` is given."""
        from scenarios.doctor import diagnose

        facts = self.setup_facts()
        facts["train_accuracy"] = self._train_accuracy()
        outcome = None if x_test is None else {"y_true": np.asarray(y_test), "probabilities": self._outputs(x_test)}
        return diagnose(facts, self.epochs, outcome)

    @staticmethod
    def render(diagnosis: dict, title: str = "") -> str:
        from scenarios.doctor import render

        return render(diagnosis, title)

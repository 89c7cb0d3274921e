"""The training doctor for torch models: measurements before, during and after training.

:func:`layer_gradient_norms` measures the kernel-gradient norm of every Linear
layer. :class:`TrainingDoctor` checks the labels, the loss and the output layer
before training, records per-epoch measurements while a model trains (pass
``doctor.on_epoch_end`` to :func:`torch_impl.fit.fit`, or call it from your own
loop) and evaluates held-out predictions afterwards; the findings come from
the framework-neutral rules in :mod:`scenarios.doctor`, the same rules the
Keras side (:mod:`keras_impl.diagnose`) uses.

    doctor = TrainingDoctor(model, loss, x_train, y_train)
    print(doctor.render(doctor.diagnose_setup()))          # before training
    fit(model, x_train, y_train, loss=loss, optimizer=opt, epochs=10, on_epoch_end=doctor.on_epoch_end)
    print(doctor.render(doctor.diagnose(x_test, y_test)))  # everything, with held-out recall

Example:
    >>> import torch
    >>> from torch_impl import losses
    >>> from torch_impl.diagnose import layer_gradient_norms
    >>> from torch_impl.nn import build_model
    >>> m = build_model({"input_dim": 3, "layers": [{"type": "dense", "units": 4, "activation": "sigmoid"},
    ...                                             {"type": "dense", "units": 2, "activation": "softmax"}]})
    >>> [name for name, _ in layer_gradient_norms(m, torch.randn(8, 3), torch.randint(0, 2, (8,)),
    ...                                             losses.SparseCategoricalCrossentropy())]
    ['0', '2']
"""

from __future__ import annotations

import copy
from typing import Optional

import numpy as np
import torch

__all__ = ["layer_gradient_norms", "TrainingDoctor", "loss_facts"]


def layer_gradient_norms(model: torch.nn.Module, x, y, loss, sample_weight=None,
                         output_activation: Optional[str] = None) -> list[tuple[str, float]]:
    """L2 norm of d(loss)/d(kernel) for every Linear layer, on the whole batch, in training mode.

    The loss is the compiled one Keras would use (softmax/sigmoid outputs on
    their logits). The model's state (BatchNormalization statistics) is
    restored afterwards.
    """
    from torch_impl.fit import compiled_loss

    p = next(model.parameters())
    xt = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x, dtype=p.dtype, device=p.device)
    yt = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y, device=p.device)
    if yt.is_floating_point():
        yt = yt.to(p.dtype)
    sw = None if sample_weight is None else torch.as_tensor(np.asarray(sample_weight), dtype=p.dtype, device=p.device)
    act = output_activation if output_activation is not None else getattr(model, "output_activation", None)
    state = copy.deepcopy(model.state_dict())
    was_training = model.training
    model.train()
    linears = [(name, m) for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    try:
        value = compiled_loss(loss, act)(yt, model(xt), sw)
        grads = torch.autograd.grad(value, [m.weight for _, m in linears])
    finally:
        model.load_state_dict(state)
        model.train(was_training)
    return [(name, float(g.norm())) for (name, _), g in zip(linears, grads)]


#: torch_impl loss class -> Keras loss name
_LOSS_NAMES = {
    "CategoricalCrossentropy": "categorical_crossentropy",
    "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
    "BinaryCrossentropy": "binary_crossentropy",
    "BinaryFocalCrossentropy": "binary_focal_crossentropy",
    "CategoricalFocalCrossentropy": "categorical_focal_crossentropy",
}


def loss_facts(loss) -> dict:
    """``{"loss": keras name, "from_logits": bool, "alpha": ...}`` of a torch_impl loss."""
    name = _LOSS_NAMES.get(type(loss).__name__)
    if name is None:
        fn = getattr(loss, "fn", None)
        fn_name = getattr(fn, "__name__", "") or getattr(loss, "name", "")
        name = "focal_loss" if "focal" in fn_name else (fn_name or type(loss).__name__)
    alpha = getattr(loss, "alpha", None)
    if isinstance(alpha, torch.Tensor):
        alpha = alpha.detach().cpu().numpy()
    return {"loss": name, "from_logits": bool(getattr(loss, "from_logits", False)), "alpha": alpha}


def _numpy(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


class TrainingDoctor:
    """Measure a torch model around training and diagnose it (see the module docstring).

    Args:
        model: the model; a :func:`torch_impl.nn.build_model` model (returns logits and names its
            ``output_activation``) or any module whose output the loss takes as is.
        loss: a torch_impl loss.
        x, y: training inputs and labels; the first ``probe_size`` samples are the probe on which
            gradients and predictions are measured at every epoch end.
        class_weight, sample_weight: as given to ``fit`` (they change the gradients and silence the
            imbalance finding).
        output_activation: overrides ``model.output_activation``.
    """

    def __init__(self, model: torch.nn.Module, loss, x, y, *, class_weight: Optional[dict] = None,
                 sample_weight=None, output_activation: Optional[str] = None, probe_size: int = 1024):
        n = min(len(y), probe_size)
        self.model, self.loss = model, loss
        self.x, self.y = _numpy(x)[:n], _numpy(y)[:n]
        self.class_weight = class_weight
        self.sample_weight = None if sample_weight is None else _numpy(sample_weight)[:n]
        act = output_activation if output_activation is not None else getattr(model, "output_activation", None)
        self.output_activation = act or "linear"
        self.epochs: list[dict] = []
        self._setup: Optional[dict] = None
        self.setup_facts()  # before training: labels, outputs and gradients at the start

    # -- measurements
    def _outputs(self, x=None) -> np.ndarray:
        """The model's outputs on ``x`` (default: the probe) in inference mode (probabilities for
        softmax/sigmoid models)."""
        p = next(self.model.parameters())
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                xt = torch.as_tensor(self.x if x is None else _numpy(x), dtype=p.dtype, device=p.device)
                out = self.model.predict_proba(xt) if hasattr(self.model, "predict_proba") else self.model(xt)
        finally:
            self.model.train(was_training)
        return _numpy(out).astype(np.float64)

    def _probe_weights(self):
        if self.sample_weight is not None:
            return self.sample_weight
        if self.class_weight is not None:
            from torch_impl.class_weight import class_weight_to_sample_weight

            return _numpy(class_weight_to_sample_weight(torch.as_tensor(self.y), self.class_weight))
        return None

    def setup_facts(self) -> dict:
        """What :func:`scenarios.doctor.check_setup` needs, measured once (before training) and kept."""
        if self._setup is None:
            self._setup = self._measure_setup()
        return dict(self._setup)

    def _measure_setup(self) -> dict:
        from scenarios.doctor import setup_record

        facts = loss_facts(self.loss)
        out = self._outputs()
        n_dense = sum(isinstance(m, torch.nn.Linear) for m in self.model.modules())
        return setup_record(self.y, out, **facts, output_activation=self.output_activation,
                            class_weight=self.class_weight, sample_weight=self.sample_weight, n_dense=n_dense,
                            grad_norms=self._grad_norms)

    def _grad_norms(self) -> list[float]:
        return [n for _, n in layer_gradient_norms(self.model, self.x, self.y, self.loss, self._probe_weights(),
                                                    output_activation=self.output_activation)]

    def measure(self, loss_value: float) -> dict:
        """One epoch record: the loss, per-layer kernel-gradient norms, probabilities at the clip, predictions."""
        from scenarios.doctor import epoch_record

        return epoch_record(loss_value, self._grad_norms(), self._outputs(), self.output_activation)

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        """Record an epoch (``logs["loss"]`` is the epoch's loss); the callback of :func:`torch_impl.fit.fit`."""
        self.epochs.append(self.measure(logs["loss"]))

    # -- findings
    def _train_accuracy(self) -> Optional[float]:
        from scenarios.doctor import train_accuracy

        return train_accuracy(self.y, loss_facts(self.loss)["loss"], self._outputs())

    def diagnose_setup(self) -> dict:
        """Findings before training."""
        from scenarios.doctor import diagnose

        return diagnose(self.setup_facts())

    def diagnose(self, x_test=None, y_test=None) -> dict:
        """All findings so far: setup, the recorded epochs, and held-out recall when ``x_test`` is given."""
        from scenarios.doctor import diagnose

        facts = self.setup_facts()
        facts["train_accuracy"] = self._train_accuracy()
        outcome = None if x_test is None else {"y_true": _numpy(y_test), "probabilities": self._outputs(x_test)}
        return diagnose(facts, self.epochs, outcome)

    @staticmethod
    def render(diagnosis: dict, title: str = "") -> str:
        from scenarios.doctor import render

        return render(diagnosis, title)

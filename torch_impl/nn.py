"""Keras-default layers for PyTorch models: initialisation, BatchNormalization,
weights in Keras layout, and models built from a framework-neutral spec.

* :func:`keras_init_` gives ``Linear``/``Conv`` layers Keras's defaults:
  ``glorot_uniform`` kernels (``U(-l, l)``, ``l = sqrt(6 / (fan_in + fan_out))``)
  and zero biases (torch's default is Kaiming-uniform weights and non-zero biases).
* :class:`BatchNormalization` is Keras's layer: momentum 0.99 for the moving
  statistics (``moving = moving * 0.99 + batch * 0.01``; torch's momentum is
  the complement), epsilon 1e-3, the moving variance from the *biased* batch
  variance (torch uses the unbiased one), and TensorFlow's normalisation
  ``x * (gamma * rsqrt(var + eps)) + (beta - mean * gamma * rsqrt(var + eps))``.
* :func:`load_keras_weights` loads ``model.get_weights()``-style arrays
  (Dense kernel ``(in, out)``; BatchNormalization gamma, beta, moving mean,
  moving variance) into a torch model, with a clear error on any count or
  shape mismatch; :func:`keras_weights` is the reverse.
* :func:`build_model` builds ``torch.nn.Sequential`` from the layer spec that
  ``keras_impl.models.build_model`` also reads, e.g.
  ``{"input_dim": 4, "layers": [{"type": "dense", "units": 8, "activation": "relu"},
  {"type": "batchnorm"}, {"type": "dense", "units": 3, "activation": "softmax"}]}``.
  The model returns the output layer's *logits*; ``model.output_activation``
  names the activation Keras would apply (a Keras model ending in softmax or
  sigmoid hands its crossentropy those logits, see :mod:`torch_impl.fit`).

Example:
    >>> import torch
    >>> from torch_impl.nn import BatchNormalization, keras_init_
    >>> layer = keras_init_(torch.nn.Linear(4, 3))
    >>> bool((layer.bias == 0).all())
    True
    >>> bn = BatchNormalization(3)
    >>> bn.momentum, bn.epsilon
    (0.99, 0.001)
"""

from __future__ import annotations

import math
import warnings
from typing import Optional, Sequence

import numpy as np
import torch
from torch import nn

__all__ = ["glorot_uniform_", "keras_init_", "BatchNormalization", "BatchNorm1d", "BatchNorm2d", "Activation",
           "build_model",
           "load_keras_weights", "keras_weights", "ACTIVATIONS"]


def _fans(weight: torch.Tensor) -> tuple[int, int]:
    if weight.dim() < 2:
        raise ValueError(f"glorot_uniform needs a weight of rank >= 2, got shape {tuple(weight.shape)}")
    receptive = math.prod(weight.shape[2:]) if weight.dim() > 2 else 1
    return weight.shape[1] * receptive, weight.shape[0] * receptive  # torch layout: (out, in, *kernel)


@torch.no_grad()
def glorot_uniform_(weight: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Keras's ``glorot_uniform`` on a torch-layout weight ``(out, in, *kernel)``."""
    fan_in, fan_out = _fans(weight)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return weight.uniform_(-limit, limit, generator=generator)


@torch.no_grad()
def keras_init_(module: nn.Module, generator: Optional[torch.Generator] = None) -> nn.Module:
    """Keras's default initialisation for every Linear/Conv (and BatchNormalization) inside ``module``."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            glorot_uniform_(m.weight, generator)
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, (BatchNormalization, nn.BatchNorm1d, nn.BatchNorm2d)):
            if getattr(m, "weight", None) is not None:  # gamma (scale=False: none)
                m.weight.fill_(1.0)
            if getattr(m, "bias", None) is not None:  # beta (center=False: none)
                m.bias.zero_()
            m.running_mean.zero_()
            m.running_var.fill_(1.0)
    return module


class BatchNormalization(nn.Module):
    """Keras's ``BatchNormalization`` for inputs ``(N, C)`` or channels-first ``(N, C, ...)``.

    Args:
        num_features: C.
        momentum: Keras's momentum (0.99): ``moving = moving * momentum + batch * (1 - momentum)``.
        epsilon: 1e-3 as in Keras.
        axis: the feature axis (1 for torch layouts; -1 for channels-last inputs).

    Parameters and buffers use torch's names (``weight`` = gamma, ``bias`` =
    beta, ``running_mean``, ``running_var``) so checkpoints and
    ``nn.BatchNorm`` tooling keep working.

    ``bn.trainable = False`` is Keras's frozen BatchNormalization (fine-tuning):
    gamma and beta stop requiring gradients and the layer runs in inference
    mode (moving statistics, no update) even in ``train()`` mode.
    """

    def __init__(self, num_features: int, momentum: float = 0.99, epsilon: float = 1e-3, axis: int = 1,
                 center: bool = True, scale: bool = True, dtype: Optional[torch.dtype] = None, device=None):
        super().__init__()
        if not 0 <= momentum <= 1:
            raise ValueError(f"momentum must be in [0, 1], got {momentum!r}")
        self.num_features, self.momentum, self.epsilon, self.axis = num_features, momentum, epsilon, axis
        kw = dict(dtype=dtype, device=device)
        self.weight = nn.Parameter(torch.ones(num_features, **kw)) if scale else None
        self.bias = nn.Parameter(torch.zeros(num_features, **kw)) if center else None
        self.register_buffer("running_mean", torch.zeros(num_features, **kw))
        self.register_buffer("running_var", torch.ones(num_features, **kw))
        self._trainable = True

    @property
    def trainable(self) -> bool:
        """Keras's ``layer.trainable``; ``False`` freezes gamma/beta and forces inference mode."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for p in (self.weight, self.bias):
            if p is not None:
                p.requires_grad_(self._trainable)

    def extra_repr(self) -> str:
        return f"{self.num_features}, momentum={self.momentum}, epsilon={self.epsilon}, axis={self.axis}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        axis = self.axis % x.dim()
        if x.shape[axis] != self.num_features:
            raise ValueError(f"BatchNormalization({self.num_features}) got input of shape {tuple(x.shape)} "
                             f"with {x.shape[axis]} features on axis {self.axis}")
        reduce = [d for d in range(x.dim()) if d != axis]
        view = [1] * x.dim()
        view[axis] = self.num_features
        if self.training and self._trainable:
            # tf.nn.moments: the variance uses stop_gradient(mean)
            mean = x.mean(dim=reduce, keepdim=True)
            variance = torch.square(x - mean.detach()).mean(dim=reduce, keepdim=True)
            with torch.no_grad():
                m, v = mean.reshape(-1), variance.reshape(-1)
                self.running_mean.copy_(self.running_mean * self.momentum + m * (1.0 - self.momentum))
                self.running_var.copy_(self.running_var * self.momentum + v * (1.0 - self.momentum))
        else:
            mean = self.running_mean.reshape(view).to(x.dtype)
            variance = self.running_var.reshape(view).to(x.dtype)
        # tf.nn.batch_normalization
        inv = torch.rsqrt(variance + self.epsilon)
        if self.weight is not None:
            inv = inv * self.weight.reshape(view)
        offset = -mean * inv if self.bias is None else self.bias.reshape(view) - mean * inv
        return x * inv + offset


class BatchNorm1d(BatchNormalization):
    """Keras-semantics BatchNormalization for ``(N, C)`` or ``(N, C, L)`` inputs (torch naming)."""


class BatchNorm2d(BatchNormalization):
    """Keras-semantics BatchNormalization for ``(N, C, H, W)`` inputs (torch naming)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"BatchNorm2d expects (N, C, H, W) input, got shape {tuple(x.shape)}")
        return super().forward(x)


class Activation(nn.Module):
    """A Keras activation by name: linear, relu, sigmoid, tanh, softmax."""

    def __init__(self, name: str):
        super().__init__()
        if name not in ACTIVATIONS:
            raise ValueError(f"Unknown activation {name!r}; known: {sorted(k for k in ACTIVATIONS if k)}")
        self.name = name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ACTIVATIONS[self.name](x)

    def extra_repr(self) -> str:
        return self.name


ACTIVATIONS = {
    None: lambda x: x,
    "linear": lambda x: x,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": lambda x: torch.softmax(x, -1),
    # a softmax written out by hand: the loss sees probabilities, not logits (no Keras logits shortcut)
    "manual_softmax": lambda x: torch.softmax(x, -1),
}


class KerasSequential(nn.Sequential):
    """A Sequential built from a spec; returns logits, ``output_activation`` says what Keras applies."""

    output_activation: Optional[str] = None

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """The Keras model's output: the output activation applied to the logits."""
        return ACTIVATIONS[self.output_activation](self(x))


def build_model(spec: dict, dtype: Optional[torch.dtype] = None, device=None) -> KerasSequential:
    """``torch.nn.Sequential`` from a framework-neutral layer spec (see the module docstring).

    Layers: ``dense`` (``units``, ``activation``, ``use_bias``), ``batchnorm``
    (``momentum``, ``epsilon``), ``activation`` (``activation``). Weights get
    Keras's defaults; load shared weights with :func:`load_keras_weights`.
    """
    if "layers" not in spec or "input_dim" not in spec:
        raise ValueError("a model spec needs 'input_dim' and 'layers'")
    mods: list[nn.Module] = []
    width = int(spec["input_dim"])
    layers = list(spec["layers"])
    if not layers or layers[-1].get("type") != "dense":
        raise ValueError("the last layer of a model spec must be a dense layer (the output layer)")
    for i, layer in enumerate(layers):
        kind = layer.get("type")
        if kind == "dense":
            mods.append(nn.Linear(width, int(layer["units"]), bias=layer.get("use_bias", True), dtype=dtype,
                                  device=device))
            width = int(layer["units"])
            act = layer.get("activation")
            if i < len(layers) - 1 and act not in (None, "linear"):
                mods.append(Activation(act))
        elif kind == "batchnorm":
            mods.append(BatchNormalization(width, momentum=layer.get("momentum", 0.99),
                                           epsilon=layer.get("epsilon", 1e-3), dtype=dtype, device=device))
        elif kind == "activation":
            mods.append(Activation(layer["activation"]))
        else:
            raise ValueError(f"unknown layer type {kind!r} in model spec (dense, batchnorm, activation)")
    model = KerasSequential(*mods)
    model.output_activation = layers[-1].get("activation") or "linear"
    keras_init_(model)
    return model


def _weight_slots(model: nn.Module) -> list[tuple[str, torch.Tensor, str]]:
    """(description, tensor, layout) in Keras's ``get_weights()`` order."""
    slots = []
    for name, m in model.named_modules():
        if isinstance(m, nn.Linear):
            slots.append((f"{name}.kernel", m.weight, "transpose"))
            if m.bias is not None:
                slots.append((f"{name}.bias", m.bias, "same"))
        elif isinstance(m, (BatchNormalization, nn.BatchNorm1d, nn.BatchNorm2d)):
            if m.weight is not None:
                slots.append((f"{name}.gamma", m.weight, "same"))
            if m.bias is not None:
                slots.append((f"{name}.beta", m.bias, "same"))
            slots.append((f"{name}.moving_mean", m.running_mean, "same"))
            slots.append((f"{name}.moving_variance", m.running_var, "same"))
        elif isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            raise ValueError("load_keras_weights supports Dense and BatchNormalization layers; "
                             f"{name} is a {type(m).__name__}")
    return slots


@torch.no_grad()
def load_keras_weights(model: nn.Module, weights: Sequence[np.ndarray]) -> nn.Module:
    """Load Keras-layout arrays (``keras_model.get_weights()``) into ``model``, in module order.

    The arrays are matched by position: declare the modules in the order of Keras's ``get_weights()`` (for a
    functional model with several branches that is Keras's layer order, not necessarily yours). Raises
    ``ValueError`` naming the slot when the counts or a shape differ; two same-shaped layers in swapped order
    cannot be told apart. ``torch.nn.BatchNorm1d``/``2d`` take the arrays but not Keras's semantics (momentum,
    epsilon, variance): a warning says so; :class:`BatchNormalization` has them.
    """
    torch_bn = [name for name, m in model.named_modules()
                if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and not isinstance(m, BatchNormalization)]
    if torch_bn:
        warnings.warn(f"load_keras_weights: {', '.join(torch_bn)} {'is a' if len(torch_bn) == 1 else 'are'} torch "
                      "BatchNorm: it normalises and updates its running statistics unlike Keras (momentum 0.1 of "
                      "the new batch, unbiased variance, eps 1e-5); use torch_impl.nn.BatchNormalization for "
                      "Keras's training run.", UserWarning, stacklevel=3)
    slots = _weight_slots(model)
    weights = list(weights)
    if len(weights) != len(slots):
        raise ValueError(f"expected {len(slots)} weight arrays for this model ({', '.join(s[0] for s in slots)}), "
                         f"got {len(weights)}")
    for (name, tensor, layout), given in zip(slots, weights):
        given = np.asarray(given)
        if layout == "transpose" and given.ndim != 2:
            raise ValueError(f"{name}: a Dense kernel must be 2-D (in, out), got shape {given.shape}")
        w = given.T if layout == "transpose" else given
        if tuple(w.shape) != tuple(tensor.shape):
            want = tuple(tensor.shape[::-1]) if layout == "transpose" else tuple(tensor.shape)
            raise ValueError(f"{name}: expected an array of shape {want} (Keras layout), got {tuple(given.shape)}")
        tensor.copy_(torch.as_tensor(np.ascontiguousarray(w), dtype=tensor.dtype))
    return model


@torch.no_grad()
def keras_weights(model: nn.Module) -> list[np.ndarray]:
    """The model's weights as Keras-layout NumPy arrays (the inverse of :func:`load_keras_weights`)."""
    out = []
    for _, tensor, layout in _weight_slots(model):
        a = tensor.detach().cpu().numpy()
        out.append(a.T.copy() if layout == "transpose" else a.copy())
    return out

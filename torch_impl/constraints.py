"""Keras's weight constraints for torch modules, applied after each optimizer step as Keras's optimizer does.

A Keras layer made with ``kernel_constraint=MaxNorm(3)`` (the classic companion of Dropout) has its kernel
projected after every update: ``w * clip(norm, 0, 3) / (1e-7 + norm)``, norms over ``axis`` of the kernel in
Keras's layout (``axis=0``: per output unit). :func:`constrain` attaches :class:`MaxNorm`, :class:`NonNeg`,
:class:`UnitNorm` or :class:`MinMaxNorm` to a module's kernel (``weight``, read in Keras's layout) and bias
(a torch RNN's kernels, recurrent kernels and Keras's bias, every layer and direction);
:mod:`torch_impl.optim`'s optimizers apply them after each step (also the accumulate-only steps of
``gradient_accumulation_steps``, and after the moving averages of ``use_ema``, as Keras's ``apply`` does) to
the parameters that got a gradient. Norms use TensorFlow's correctly rounded square root.

Example:
    >>> import torch
    >>> from torch_impl import constraints, optim
    >>> layer = constraints.constrain(torch.nn.Linear(3, 2), kernel_constraint=constraints.MaxNorm(1.0))
    >>> opt = optim.SGD(layer.parameters(), learning_rate=10.0)
    >>> layer(torch.ones(4, 3)).sum().backward(); opt.step()
    >>> bool((layer.weight.norm(dim=1) <= 1.0).all())  # each unit's incoming weights: norm at most 1
    True
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from torch_impl._layer_args import attach_layer, keras_get
from torch_impl._ops import tf_sqrt

__all__ = ["Constraint", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm", "get", "constrain", "apply_constraints"]

EPSILON = 1e-7  # keras.backend.epsilon()


def _norms(w: torch.Tensor, axis) -> torch.Tensor:
    return tf_sqrt(w.square().sum(dim=axis, keepdim=True))


class Constraint:
    """Keras's ``Constraint``: ``c(w)`` is the projected weight (``w`` itself here)."""

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return w

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Constraint":
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


class MaxNorm(Constraint):
    """Norms over ``axis`` capped at ``max_value``: ``w * clip(norm, 0, max_value) / (1e-7 + norm)``.

    Example:
        >>> MaxNorm(1.0)(torch.tensor([[3.0], [4.0]]))  # the column's norm 5 -> 1
        tensor([[0.6000],
                [0.8000]])
    """

    def __init__(self, max_value: float = 2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        norms = _norms(w, self.axis)
        desired = norms.clamp(0, self.max_value)
        return w * (desired / (EPSILON + norms))

    def get_config(self) -> dict:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Negative weights set to 0."""

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return torch.maximum(w, torch.zeros((), dtype=w.dtype, device=w.device))


class UnitNorm(Constraint):
    """Norms over ``axis`` made 1: ``w / (1e-7 + norm)``."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return w / (EPSILON + _norms(w, self.axis))

    def get_config(self) -> dict:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Norms over ``axis`` moved into ``[min_value, max_value]`` at ``rate`` (1: all the way)."""

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        norms = _norms(w, self.axis)
        desired = self.rate * norms.clamp(self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (EPSILON + norms))

    def get_config(self) -> dict:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


_BY_NAME = {"Constraint": Constraint, "MaxNorm": MaxNorm, "NonNeg": NonNeg, "UnitNorm": UnitNorm,
            "MinMaxNorm": MinMaxNorm, "constraint": Constraint, "max_norm": MaxNorm, "non_neg": NonNeg,
            "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm}


def get(identifier) -> Optional[Constraint]:
    """A constraint from what a Keras layer argument takes: a name (``"max_norm"``, ``"NonNeg"``), a dict
    ``{"class_name": "MaxNorm", "config": {"max_value": 3}}``, a class, an instance or a callable; ``None``.

    Example:
        >>> get("max_norm"), get({"class_name": "MaxNorm", "config": {"max_value": 3}})
        (MaxNorm(max_value=2, axis=0), MaxNorm(max_value=3, axis=0))
    """
    return keras_get(identifier, _BY_NAME, "constraint")


def constrain(module: nn.Module, kernel_constraint=None, bias_constraint=None, recurrent_constraint=None) -> nn.Module:
    """Gives ``module`` Keras's ``kernel_constraint`` (on ``module.weight``, in Keras's layout),
    ``bias_constraint`` and (for a recurrent module) ``recurrent_constraint`` (anything :func:`get` takes);
    returns the module. :mod:`torch_impl.optim`'s optimizers apply them after each step.

    A torch RNN (``nn.LSTM``, ``nn.GRU``, ``nn.RNN`` and :mod:`torch_impl.rnn`'s) gets them on every layer and
    direction, on the weights :func:`torch_impl.regularizers.regularize` reads, in Keras's layout: the kernel
    ``weight_ih_l{k}[_reverse]`` ``(in, gates units)`` (``axis=0``: per unit and gate), the recurrent kernel
    ``weight_hh_l{k}[_reverse]``, the bias Keras's one (``bias_ih + bias_hh``, the projection written into
    ``bias_ih``; a GRU's ``reset_after=True`` bias: the ``(2, 3 units)`` variable ``bias_ih`` over ``bias_hh``,
    projected as one and written into both).

    Example:
        >>> layer = constrain(torch.nn.Linear(4, 2), kernel_constraint="non_neg")
        >>> layer.weight._keras_constraint
        NonNeg()
        >>> gru = constrain(torch.nn.GRU(3, 4), recurrent_constraint=MaxNorm(1.0))
        >>> gru.weight_hh_l0._keras_constraint
        MaxNorm(max_value=1.0, axis=0)
    """
    attach_layer(module, "_keras_constraint", "constraint", get(kernel_constraint), get(bias_constraint),
                 get(recurrent_constraint))
    return module


@torch.no_grad()
def apply_constraints(params) -> None:
    """Projects each parameter that has a constraint (Keras's ``variable.assign(variable.constraint(variable))``
    after an update); what the optimizers call after each step."""
    for p in params:
        c = getattr(p, "_keras_constraint", None)
        if c is not None:
            p.copy_(p._keras_from_layout(c(p._keras_layout(p))))

"""Keras's learning-rate schedules (``keras.optimizers.schedules``) for the ``torch_impl.optim`` optimizers.

Pass one as ``learning_rate``: the optimizer evaluates it before every step at
Keras's step count (``optimizer`` steps taken so far, counting accumulation
steps, as Keras's ``_iterations``). Like Keras on TensorFlow, a schedule made
from Python numbers computes in float32 whatever ``floatx`` is (TensorFlow
makes float32 tensors of Python floats), and the optimizer casts the rate to
each parameter's dtype; a tensor ``initial_learning_rate`` sets the dtype. The
arithmetic follows Keras 3.15.1's ops one by one, including which
hyper-parameters TensorFlow rounds to float32 first (``ops.cast`` of a Python
float: ``decay_rate``, ``end_learning_rate``, ``power``, ``alpha`` where cast,
``warmup_target``). Values agree with Keras's to float32 rounding (the cosines
to an ulp or two: TensorFlow's and torch's ``cos`` differ there).

A subclass implements ``__call__(self, step)`` like a Keras schedule; any other
callable given as ``learning_rate`` is called with no argument, as Keras does.

Example:
    >>> import torch
    >>> from torch_impl import optim, schedules
    >>> w = torch.nn.Parameter(torch.zeros(2))
    >>> opt = optim.SGD([w], learning_rate=schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5))
    >>> round(float(opt.param_groups[0]["lr"]), 6)
    0.1
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
           "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts"]


def _t(value, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """``ops.convert_to_tensor(value)`` on TensorFlow: a tensor keeps its dtype, a Python number is float32."""
    if isinstance(value, torch.Tensor):
        return value if dtype is None else value.to(dtype)
    return torch.tensor(value, dtype=dtype or torch.float32)


def _cast(value, dtype: torch.dtype) -> torch.Tensor:
    """``ops.cast(python_number, dtype)`` on TensorFlow: a float goes through float32 first; ints are exact."""
    if isinstance(value, float):
        return torch.tensor(value, dtype=torch.float32).to(dtype)
    return torch.tensor(value, dtype=dtype)


def _check_decay_steps(value, name: str = "decay_steps") -> None:
    if not value > 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")


class LearningRateSchedule:
    """Base class: ``schedule(step)`` is the learning rate after ``step`` optimizer steps."""

    def __call__(self, step) -> torch.Tensor:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override "
                                  "`__call__(self, step)`.")

    def get_config(self) -> dict:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override `get_config()`.")

    @classmethod
    def from_config(cls, config: dict) -> "LearningRateSchedule":
        return cls(**config)

    def __repr__(self) -> str:
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        except NotImplementedError:
            args = ""
        return f"{type(self).__name__}({args})"


class _RateDecay(LearningRateSchedule):
    """Shared by the exponential and inverse-time decays: ``p = step / decay_steps``, floored with
    ``staircase``."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float, staircase: bool = False,
                 name: Optional[str] = None):
        _check_decay_steps(decay_steps)
        self.initial_learning_rate, self.decay_steps, self.decay_rate = initial_learning_rate, decay_steps, decay_rate
        self.staircase, self.name = staircase, name or type(self).__name__

    def _start_and_p(self, step):
        lr0 = _t(self.initial_learning_rate)
        p = _cast(step, lr0.dtype) / _cast(self.decay_steps, lr0.dtype)
        return lr0, (torch.floor(p) if self.staircase else p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_RateDecay):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (the exponent floored with ``staircase``)."""

    def __call__(self, step):
        lr0, p = self._start_and_p(step)
        return lr0 * torch.pow(_cast(self.decay_rate, lr0.dtype), p)


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` up to ``boundaries[0]`` (inclusive), ``values[i]`` in ``(boundaries[i-1], boundaries[i]]``,
    ``values[-1]`` after the last boundary."""

    def __init__(self, boundaries: Sequence[int], values: Sequence[float], name: str = "PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError("The length of boundaries should be 1 less than the length of values. Received: "
                             f"boundaries={boundaries} of length {len(boundaries)}, and values={values} of length "
                             f"{len(values)}.")
        self.boundaries, self.values, self.name = list(boundaries), list(values), name

    def __call__(self, step):
        values = [_t(v) for v in self.values]
        if step <= self.boundaries[0]:
            return values[0]
        if step > self.boundaries[-1]:
            return values[-1]
        for low, high, value in zip(self.boundaries[:-1], self.boundaries[1:], values[1:-1]):
            if low < step <= high:
                return value
        return values[-1]  # unreachable for sorted boundaries

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - step / decay_steps) ** power + end``; with ``cycle`` the horizon grows in
    multiples of ``decay_steps``, else the step stops at ``decay_steps``."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, end_learning_rate: float = 0.0001,
                 power: float = 1.0, cycle: bool = False, name: str = "PolynomialDecay"):
        _check_decay_steps(decay_steps)
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.end_learning_rate, self.power, self.cycle, self.name = end_learning_rate, power, cycle, name

    def __call__(self, step):
        lr0 = _t(self.initial_learning_rate)
        dt = lr0.dtype
        end = _cast(self.end_learning_rate, dt)
        power = _cast(self.power, dt)
        s = _cast(step, dt)
        horizon = _cast(self.decay_steps, dt)
        if self.cycle:
            multiplier = torch.where(s == 0, _t(1.0, dt), torch.ceil(s / _t(self.decay_steps, dt)))
            horizon = horizon * multiplier
        else:
            s = torch.minimum(s, horizon)
        p = s / horizon
        return (lr0 - end) * torch.pow(1 - p, power) + end

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class InverseTimeDecay(_RateDecay):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (floored with ``staircase``)."""

    def __call__(self, step):
        lr0, p = self._start_and_p(step)
        return lr0 / (_t(1, lr0.dtype) + _cast(self.decay_rate, lr0.dtype) * p)


class CosineDecay(LearningRateSchedule):
    """Cosine decay from the initial rate (or, after ``warmup_steps`` of linear warm-up, from
    ``warmup_target``) to ``alpha`` times it over ``decay_steps``."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0, name: str = "CosineDecay",
                 warmup_target: Optional[float] = None, warmup_steps: int = 0):
        _check_decay_steps(decay_steps)
        self.initial_learning_rate, self.decay_steps, self.alpha, self.name = (initial_learning_rate, decay_steps,
                                                                              alpha, name)
        self.warmup_target, self.warmup_steps = warmup_target, warmup_steps

    def _decay(self, s, decay_steps, decay_from, dt):
        fraction = s / decay_steps
        cosine = 0.5 * (1.0 + torch.cos(_t(math.pi, dt) * fraction))
        return decay_from * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        lr0 = _t(self.initial_learning_rate)
        dt = lr0.dtype
        decay_steps = _cast(self.decay_steps, dt)
        s = _cast(step, dt)
        if self.warmup_target is None:
            return self._decay(torch.minimum(s, decay_steps), decay_steps, lr0, dt)
        target = _cast(self.warmup_target, dt)
        warmup_steps = _cast(self.warmup_steps, dt)
        s = torch.minimum(s, decay_steps + warmup_steps)
        if s < warmup_steps:
            return (target - lr0) * (s / warmup_steps) + lr0
        return self._decay(s - warmup_steps, decay_steps, target, dt)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): periods ``first_decay_steps * t_mul**i``, peaks ``m_mul**i``."""

    def __init__(self, initial_learning_rate: float, first_decay_steps: int, t_mul: float = 2.0, m_mul: float = 1.0,
                 alpha: float = 0.0, name: str = "SGDRDecay"):
        _check_decay_steps(first_decay_steps, "first_decay_steps")
        self.initial_learning_rate, self.first_decay_steps = initial_learning_rate, first_decay_steps
        self._t_mul, self._m_mul, self.alpha, self.name = t_mul, m_mul, alpha, name

    def __call__(self, step):
        lr0 = _t(self.initial_learning_rate)
        dt = lr0.dtype
        alpha, t_mul, m_mul = _cast(self.alpha, dt), _cast(self._t_mul, dt), _cast(self._m_mul, dt)
        fraction = _cast(step, dt) / _cast(self.first_decay_steps, dt)
        if t_mul == 1.0:
            i_restart = torch.floor(fraction)
            fraction = fraction - i_restart
        else:
            i_restart = torch.floor(torch.log((1.0 - fraction * (1.0 - t_mul)).to(dt)) / torch.log(t_mul))
            sum_r = (1.0 - torch.pow(t_mul, i_restart)) / (1.0 - t_mul)
            fraction = (fraction - sum_r) / torch.pow(t_mul, i_restart)
        cosine = 0.5 * torch.pow(m_mul, i_restart) * (1.0 + torch.cos(_t(math.pi, dt) * fraction))
        return lr0 * ((1 - alpha) * cosine + alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self._t_mul, "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}

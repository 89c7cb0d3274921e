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
``warmup_target``).

The arithmetic is the one ``model.fit`` runs: its train step is a
``tf.function``, and TensorFlow's graph optimizer (Grappler) rewrites a schedule
before it runs: ``x / constant`` becomes ``x * (1 / constant)``, chains of
constants fold into one (``pi * (step / decay_steps)`` into ``(pi / decay_steps)
* step``, ``0.5 * ... * (1 - alpha)`` into one factor), a constant ``power`` of 2,
1, 0.5, 0, -0.5 or -1 becomes a square, identity, square root, ones, reciprocal
square root or reciprocal, and ``0 + x`` goes. The scalar ``log`` and ``cos``
are the C library's ``logf``/``cosf``, which TensorFlow calls for a scalar
(torch's own differ by an ulp on about one input in ten, enough to move
``CosineDecayRestarts``' restart index at a restart step). Measured: every
rate of 19 configurations over steps 0-300 equals Keras's inside a
``tf.function`` bit for bit (``parity_tests/test_schedules_keras.py``; rates
below float32's normal range, about 1e-38, aside: TensorFlow flushes them).
Keras called eagerly (``schedule(step)`` outside a function, or
``run_eagerly=True``) divides instead, and differs from ``fit`` by an ulp at
some steps, and by a whole restart or cycle at some restart steps of
``CosineDecayRestarts`` and ``PolynomialDecay(cycle=True)``.

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

from torch_impl._libm import c_function
from torch_impl._ops import tf_cast

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
           "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts", "get"]


def _t(value, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """``ops.convert_to_tensor(value)`` on TensorFlow: a tensor keeps its dtype, a Python number is float32."""
    if isinstance(value, torch.Tensor):
        return value if dtype is None else value.to(dtype)
    return torch.tensor(value, dtype=dtype or torch.float32)


def _cast(value, dtype: torch.dtype) -> torch.Tensor:
    """``ops.cast(python_number, dtype)`` on TensorFlow: a float goes through float32 first; ints are exact."""
    if isinstance(value, torch.Tensor):  # a step given as a tensor (Keras: a variable): cast as it is
        value = value.detach()
    return tf_cast(value, dtype)


def _scalar_fn(name: str, x: torch.Tensor) -> torch.Tensor:
    """``name`` ("log", "cos" or "sqrt") of a scalar as TensorFlow computes it on the host: the C library's
    ``logf``/``cosf``/``sqrtf`` in float32, ``log``/``cos``/``sqrt`` in float64 (:func:`torch_impl._libm.c_function`:
    TensorFlow's kernels call them for a scalar; torch's ``log``/``cos`` differ by an ulp on about one input in ten,
    enough to move ``CosineDecayRestarts``' restart index at a restart step; torch's float32 ``sqrt`` of a 0-d
    tensor can be an ulp off the correctly rounded one)."""
    if x.numel() == 1 and x.dtype in (torch.float32, torch.float64):
        fn = c_function(name + ("f" if x.dtype == torch.float32 else ""))
        return torch.tensor(fn(float(x)), dtype=x.dtype).reshape(x.shape)
    return getattr(torch, name)(x)


def _recip(value: torch.Tensor) -> torch.Tensor:
    """``1 / value`` in its dtype: TensorFlow's graph optimizer turns ``x / constant`` into ``x * (1 / constant)``
    (``ConstantFolding::ReduceDivToReciprocalMul``), which rounds differently from the division."""
    return torch.reciprocal(value)


def _constant_pow(x: torch.Tensor, power_t: torch.Tensor) -> torch.Tensor:
    """``x ** power`` for a constant ``power`` as TensorFlow's graph optimizer rewrites it (``ConvertPow``):
    2 a square, 1 ``x``, 0.5 a square root, 0 ones, -0.5 a reciprocal square root, -1 a reciprocal; other
    powers ``pow`` (3: see ``PolynomialDecay``)."""
    p = float(power_t)
    if p == 2.0:
        return x * x
    if p == 1.0:
        return x
    if p == 0.5:
        return _scalar_fn("sqrt", x)
    if p == 0.0:
        return torch.ones_like(x)
    if p == -0.5:
        return torch.reciprocal(_scalar_fn("sqrt", x))  # TensorFlow's host Rsqrt: 1 / sqrt(x), two roundings
    if p == -1.0:
        return torch.reciprocal(x)
    return torch.pow(x, power_t)


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

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_RateDecay):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (the exponent floored with ``staircase``)."""

    def __call__(self, step):
        lr0 = _t(self.initial_learning_rate)
        dt = lr0.dtype
        p = _cast(step, dt) * _recip(_cast(self.decay_steps, dt))
        if self.staircase:
            p = torch.floor(p)
        return lr0 * torch.pow(_cast(self.decay_rate, dt), p)


class InverseTimeDecay(_RateDecay):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (floored with ``staircase``)."""

    def __call__(self, step):
        lr0 = _t(self.initial_learning_rate)
        dt = lr0.dtype
        s, r, rate = _cast(step, dt), _recip(_cast(self.decay_steps, dt)), _cast(self.decay_rate, dt)
        if self.staircase:
            rate_p = rate * torch.floor(s * r)
        else:
            rate_p = s * (rate * r)  # the two constants folded into one
        return lr0 / (_t(1, dt) + rate_p)


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
            multiplier = torch.where(s == 0, _t(1.0, dt), torch.ceil(s * _recip(horizon)))
            p = s / (horizon * multiplier)  # not a constant divisor: a true division
        else:
            p = torch.minimum(s, horizon) * _recip(horizon)
        base = 1 - p
        if float(power) == 3.0:  # x * x**2, then the constant rate pushed down the product (Grappler)
            return ((lr0 - end) * base) * (base * base) + end
        return (lr0 - end) * _constant_pow(base, power) + end

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay from the initial rate (or, after ``warmup_steps`` of linear warm-up, from
    ``warmup_target``) to ``alpha`` times it over ``decay_steps``."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0, name: str = "CosineDecay",
                 warmup_target: Optional[float] = None, warmup_steps: int = 0):
        _check_decay_steps(decay_steps)
        self.initial_learning_rate, self.decay_steps, self.alpha, self.name = (initial_learning_rate, decay_steps,
                                                                              alpha, name)
        self.warmup_target, self.warmup_steps = warmup_target, warmup_steps

    def _decay(self, s, decay_steps, decay_from, dt, constant_steps: bool):
        pi = _t(math.pi, dt)
        if constant_steps:  # pi * (s * (1 / decay_steps)) with the constants folded
            angle = (pi * _recip(decay_steps)) * s
        else:  # inside the warm-up's cond TensorFlow sees no constants: as written
            angle = pi * (s / decay_steps)
        # 0.5 * (1 + cos) * (1 - alpha) + alpha, the two constant factors folded into one
        return decay_from * ((1.0 + _scalar_fn("cos", angle)) * (_t(0.5, dt) * _t(1 - self.alpha, dt)) + self.alpha)

    def __call__(self, step):
        lr0 = _t(self.initial_learning_rate)
        dt = lr0.dtype
        decay_steps = _cast(self.decay_steps, dt)
        s = _cast(step, dt)
        if self.warmup_target is None:
            return self._decay(torch.minimum(s, decay_steps), decay_steps, lr0, dt, True)
        target = _cast(self.warmup_target, dt)
        warmup_steps = _cast(self.warmup_steps, dt)
        s = torch.minimum(s, decay_steps + warmup_steps)
        if s < warmup_steps:
            return (target - lr0) * (s / warmup_steps) + lr0
        return self._decay(s - warmup_steps, decay_steps, target, dt, False)

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
        fraction = _cast(step, dt) * _recip(_cast(self.first_decay_steps, dt))
        one = _t(1.0, dt)
        if t_mul == 1.0:
            i_restart = torch.floor(fraction)
            fraction = fraction - i_restart
        else:  # the constants 1 - t_mul, 1 / (1 - t_mul) and 1 / log(t_mul) folded
            i_restart = torch.floor(_scalar_fn("log", one - fraction * (one - t_mul)) *
                                    _recip(_scalar_fn("log", t_mul)))
            t_pow = torch.pow(t_mul, i_restart)
            fraction = (fraction - (one - t_pow) * _recip(one - t_mul)) / t_pow
        # 0.5 * m_mul**i * (1 + cos) * (1 - alpha) + alpha, the constants 0.5 and 1 - alpha folded into one
        factor = torch.pow(m_mul, i_restart) * (_t(0.5, dt) * (one - alpha))
        cosine = one + _scalar_fn("cos", _t(math.pi, dt) * fraction)
        if float(alpha) == 0.0:  # `0 + x` removed, the constant rate pushed down the product
            return cosine * (factor * lr0)
        return (alpha + cosine * factor) * lr0

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self._t_mul, "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


def get(identifier) -> LearningRateSchedule:
    """A schedule from Keras's serialized form (``keras.optimizers.schedules.serialize(s)``: ``{"class_name":
    "ExponentialDecay", "config": {...}}``), or a schedule (returned as is).

    Example:
        >>> get({"class_name": "ExponentialDecay", "config": {"initial_learning_rate": 0.1, "decay_steps": 10,
        ...                                                   "decay_rate": 0.5}})
        ExponentialDecay(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5, staircase=False)
    """
    if isinstance(identifier, LearningRateSchedule):
        return identifier
    classes = {c.__name__: c for c in (ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay, PolynomialDecay,
                                       CosineDecay, CosineDecayRestarts)}
    if isinstance(identifier, dict) and identifier.get("class_name") in classes:
        return classes[identifier["class_name"]].from_config(dict(identifier.get("config") or {}))
    raise ValueError(f"Could not interpret learning rate schedule: {identifier!r} (a serialized Keras schedule of "
                     f"{', '.join(sorted(classes))}, or a schedule)")

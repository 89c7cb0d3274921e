"""Keras-faithful optimizers: ``Adam``, ``SGD`` and ``RMSprop`` as ``torch.optim.Optimizer``s.

Each ``step`` computes what Keras 3's ``optimizer.apply`` computes, operation
for operation and in the parameter's dtype: gradient clipping
(``clipnorm`` / ``global_clipnorm`` / ``clipvalue``), decoupled weight decay
``w -= w * wd * lr``, then the update rule, then one shared iteration count.
Hyper-parameter defaults are Keras's. Two details that make torch's own
optimizers differ:

* Adam: ``alpha = lr * sqrt(1 - b2^t) / (1 - b1^t)``,
  ``w -= alpha * m / (sqrt(v) + eps)`` with ``eps = 1e-7`` outside the bias
  correction; ``m += (g - m) * (1 - b1)``. ``torch.optim.Adam`` puts eps inside
  (``m_hat / (sqrt(v_hat) + eps)``), so no setting of it takes Keras's step.
* The learning rate is a Keras variable of ``floatx`` (float32 by default): a
  float64 model still trains with ``float32(0.001)``. Here the learning rate is
  rounded to ``torch.get_default_dtype()``, the analogue of ``floatx``.
* Hyper-parameters that Keras passes through ``ops.cast`` (Adam's ``beta_1``
  and ``beta_2`` in the bias correction, SGD's ``momentum``, ``weight_decay``)
  carry float32 rounding even in float64 (TensorFlow makes a float32 tensor of
  a Python float before casting it); those used directly in an op (Adam's
  ``1 - beta_1``, RMSprop's ``rho``, every ``epsilon``) are exact. Followed here.

A ``torch_impl.schedules`` schedule (Keras's ``learning_rate=schedule``) sets the
rate of every parameter group before each step, so it overrides a
``torch.optim.lr_scheduler`` and cannot be combined with per-group rates (that
raises). With a constant rate, ``torch.optim.lr_scheduler`` and per-group
``lr`` work as with any torch optimizer. ``use_ema`` averages the parameters
that require a gradient (Keras's trainable variables).

Example:
    >>> import torch
    >>> from torch_impl.optim import Adam
    >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    >>> opt = Adam([w], learning_rate=0.1)
    >>> w.grad = torch.tensor([0.5, -0.5]); opt.step()
    >>> w.detach()
    tensor([ 0.9000, -1.9000])
"""

from __future__ import annotations

import math
from typing import Iterable, Optional

import torch

from torch_impl.schedules import LearningRateSchedule

__all__ = ["KerasOptimizer", "Adam", "SGD", "RMSprop"]


def _scalar(value: float, dtype: torch.dtype) -> float:
    """``value`` rounded to ``dtype``: a Python number in a Keras op with a tensor of that dtype."""
    return torch.tensor(value, dtype=dtype).item()


def _cast(value: float, dtype: torch.dtype) -> float:
    """``ops.cast(value, dtype)`` of a Python float on Keras's TensorFlow backend.

    ``tf.cast`` first makes a float32 tensor of the Python number, so the
    value carries float32 rounding even when cast to float64.
    """
    return torch.tensor(value, dtype=torch.float32).to(dtype).item()


def _buffer(state: dict, key: str, like: torch.Tensor) -> torch.Tensor:
    """The optimizer variable ``key`` in a parameter's ``state``, made as zeros like the parameter on first use
    (Keras's ``add_variable_from_reference``)."""
    if key not in state:
        state[key] = torch.zeros_like(like)
    return state[key]


class KerasOptimizer(torch.optim.Optimizer):
    """The Keras ``apply`` machinery; subclasses implement :meth:`update_step`.

    Args:
        params: parameters or parameter groups, as for any torch optimizer.
        learning_rate: Keras's name (``lr`` is accepted too): a number, a
            :mod:`torch_impl.schedules` schedule (evaluated before every step at
            the step count, as Keras does) or a callable taking no argument.
        weight_decay: decoupled decay ``w -= w * weight_decay * lr`` before the update.
        clipnorm: clip each gradient to this L2 norm.
        global_clipnorm: clip all gradients together to this global L2 norm.
        clipvalue: clip each gradient element to ``[-clipvalue, clipvalue]``.
        use_ema, ema_momentum, ema_overwrite_frequency: Keras's moving average of
            the weights: after each step ``average = m * average + (1 - m) * w``
            (``m = 0`` on the first step), copied into the weights every
            ``ema_overwrite_frequency`` steps and by :meth:`finalize_variable_values`
            (``torch_impl.fit`` calls it at the end, as Keras's ``fit`` does).
        loss_scale_factor: gradients are divided by it; :meth:`scale_loss`
            multiplies a loss by it (Keras's trainer calls it before backward).
        gradient_accumulation_steps: update every ``n`` steps with the mean of
            the ``n`` gradients (clipping and weight decay on that mean);
            ``iterations`` then counts updates, as in Keras.
        name: a name, as in Keras.
    """

    _keras_name = "optimizer"

    def __init__(self, params, defaults: dict, learning_rate: float, weight_decay: Optional[float] = None,
                 clipnorm: Optional[float] = None, clipvalue: Optional[float] = None,
                 global_clipnorm: Optional[float] = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: Optional[int] = None, loss_scale_factor: Optional[float] = None,
                 gradient_accumulation_steps: Optional[int] = None, name: Optional[str] = None,
                 lr: Optional[float] = None):
        if lr is not None:
            learning_rate = lr
        self._lr_schedule = None
        if isinstance(learning_rate, LearningRateSchedule) or (callable(learning_rate)
                                                               and not isinstance(learning_rate, (int, float))):
            self._lr_schedule = learning_rate
            learning_rate = self._scheduled_rate(0)
        if not (isinstance(learning_rate, (int, float)) and learning_rate >= 0 and math.isfinite(learning_rate)):
            raise ValueError(f"learning_rate must be a finite number >= 0 or a schedule, got {learning_rate!r}")
        if sum(x is not None for x in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set (as in Keras).")
        for arg, value in (("weight_decay", weight_decay), ("clipnorm", clipnorm), ("clipvalue", clipvalue),
                           ("global_clipnorm", global_clipnorm)):
            if value is not None and not value >= 0:
                raise ValueError(f"{arg} must be >= 0, got {value!r}")
        if gradient_accumulation_steps and not (isinstance(gradient_accumulation_steps, int)
                                                and gradient_accumulation_steps >= 2):
            raise ValueError("`gradient_accumulation_steps` must be an integer >= 2. Received: "
                             f"gradient_accumulation_steps={gradient_accumulation_steps!r}")
        if use_ema and not 0 <= ema_momentum <= 1:
            raise ValueError(f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum!r}")
        if use_ema and ema_overwrite_frequency is not None and not (
                isinstance(ema_overwrite_frequency, int) and ema_overwrite_frequency >= 1):
            raise ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None. Received: "
                             f"ema_overwrite_frequency={ema_overwrite_frequency!r}")
        if loss_scale_factor is not None and not (loss_scale_factor > 0 and math.isfinite(loss_scale_factor)):
            raise ValueError(f"loss_scale_factor must be a finite number > 0, got {loss_scale_factor!r}")
        # Keras keeps the learning rate in a floatx variable
        learning_rate = _scalar(learning_rate, torch.get_default_dtype())
        super().__init__(params, dict(defaults, lr=learning_rate, weight_decay=weight_decay, iterations=0))
        if self._lr_schedule is not None and any(g["lr"] != learning_rate for g in self.param_groups):
            raise ValueError("A learning-rate schedule sets the rate of every parameter group (Keras has one "
                             "learning rate per optimizer): give groups their own `lr` without a schedule, or "
                             "one optimizer per schedule.")
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.use_ema, self.ema_momentum = bool(use_ema), ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency if use_ema else None
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps or None
        self.name = name or self._keras_name
        self._no_weight_decay: set[int] = set()  # ids of parameters excluded from weight decay

    def _scheduled_rate(self, step: int) -> float:
        """The schedule's rate at Keras's raw step count; a plain callable is called with no argument. A Python
        number it returns is rounded to float32, as TensorFlow's cast of it to the parameter's dtype does."""
        if isinstance(self._lr_schedule, LearningRateSchedule):
            value = self._lr_schedule(step)
        else:
            value = self._lr_schedule()
        if isinstance(value, torch.Tensor):
            return float(value)
        return float(torch.tensor(value, dtype=torch.float32))

    @property
    def learning_rate(self) -> float:
        """Keras's ``optimizer.learning_rate``: the rate the next step will use (a schedule evaluated at the step
        count so far; ``param_groups[0]["lr"]`` holds the rate of the last step taken)."""
        if self._lr_schedule is not None and self.param_groups:
            return self._scheduled_rate(self.param_groups[0]["iterations"])
        return float(self.param_groups[0]["lr"]) if self.param_groups else float("nan")

    @property
    def iterations(self) -> int:
        """Keras's ``optimizer.iterations``: updates applied so far (steps // gradient_accumulation_steps)."""
        return self._keras_iterations(self.param_groups[0]) if self.param_groups else 0

    def _keras_iterations(self, group: dict) -> int:
        steps = self.gradient_accumulation_steps
        return group["iterations"] // steps if steps else group["iterations"]

    def scale_loss(self, loss: torch.Tensor) -> torch.Tensor:
        """``loss * loss_scale_factor`` (Keras's ``scale_loss``; ``step`` divides the gradients back)."""
        return loss * self.loss_scale_factor if self.loss_scale_factor is not None else loss

    @torch.no_grad()
    def finalize_variable_values(self, var_list: Optional[Iterable[torch.Tensor]] = None) -> None:
        """With ``use_ema``, copy the moving averages into the weights (Keras calls it when ``fit`` ends);
        ``var_list`` (Keras's argument) limits it to those of this optimizer's parameters."""
        if self.use_ema:
            for p in (self._all_params() if var_list is None else var_list):
                average = self.state[p].get("average")
                if average is not None:
                    p.copy_(average)

    def _all_params(self) -> list:
        return [p for group in self.param_groups for p in group["params"]]

    def _clip(self, grads: list) -> list:
        if self.clipnorm:
            out = []
            for g in grads:  # tf.clip_by_norm, per tensor
                l2sum = (g * g).sum()
                l2norm = torch.where(l2sum > 0, torch.sqrt(torch.where(l2sum > 0, l2sum, torch.ones_like(l2sum))), l2sum)
                out.append((g * self.clipnorm) / torch.maximum(l2norm, torch.tensor(self.clipnorm, dtype=g.dtype,
                                                                                      device=g.device)))
            return out
        if self.global_clipnorm:
            norm = torch.sqrt(sum((g * g).sum().to(torch.float64 if g.dtype == torch.float64 else torch.float32)
                                  for g in grads))
            c = self.global_clipnorm
            scale_finite = c * torch.minimum(1.0 / norm, torch.tensor(1.0 / c, dtype=norm.dtype, device=norm.device))
            scale = scale_finite + (norm - norm)  # NaN for a non-finite norm, as Keras
            return [g * scale.to(g.dtype) for g in grads]
        if self.clipvalue:
            return [torch.clamp(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        pairs = [(p, group) for group in self.param_groups for p in group["params"] if p.grad is not None]
        if pairs and self._lr_schedule is not None:
            rate = self._scheduled_rate(self.param_groups[0]["iterations"])
            for group in self.param_groups:
                group["lr"] = rate
        if pairs:
            for p, _ in pairs:
                if p.grad.is_sparse:
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
            grads = [p.grad.to(p.dtype) for p, _ in pairs]
            if self.loss_scale_factor is not None:
                grads = [g / self.loss_scale_factor for g in grads]
            steps = self.gradient_accumulation_steps
            if steps and (pairs[0][1]["iterations"] + 1) % steps != 0:  # accumulate only
                for (p, _), g in zip(pairs, grads):
                    acc = _buffer(self.state[p], "gradient_accumulator", p)
                    acc.copy_(g + acc)
            else:
                if steps:  # the update step: the mean of the accumulated gradients and this one
                    accs = [_buffer(self.state[p], "gradient_accumulator", p) for p, _ in pairs]
                    grads = [(g + a) / steps for g, a in zip(grads, accs)]
                grads = self._clip(grads)
                for (p, group), g in zip(pairs, grads):
                    lr = _scalar(group["lr"], p.dtype)
                    wd = group["weight_decay"]
                    if wd is not None and id(p) not in self._no_weight_decay:
                        p.sub_(p * _cast(wd, p.dtype) * lr)
                    self.update_step(g, p, lr, group, self.state[p])
                if steps:
                    for a in accs:
                        a.zero_()
        if self.use_ema and pairs:
            self._update_moving_averages()
        for group in self.param_groups:
            group["iterations"] += 1
        return loss

    def _update_moving_averages(self) -> None:
        """Keras's ``_update_model_variables_moving_average``, then the periodic overwrite; every trainable
        parameter (Keras averages its trainable variables: a frozen one keeps its value)."""
        momentum = 0.0 if self.iterations == 0 else self.ema_momentum
        for p in self._all_params():
            if not p.requires_grad:
                continue
            average = _buffer(self.state[p], "average", p)
            average.copy_(momentum * average + (1 - momentum) * p)
        if self.ema_overwrite_frequency and (self.iterations + 1) % self.ema_overwrite_frequency == 0:
            self.finalize_variable_values()

    def update_step(self, gradient: torch.Tensor, variable: torch.Tensor, lr: float, group: dict, state: dict):
        raise NotImplementedError

    def exclude_from_weight_decay(self, var_list: Iterable[torch.Tensor]) -> None:
        """Keras's ``exclude_from_weight_decay(var_list=...)``: for THIS optimizer only.

        (Keras's ``var_names=`` has no counterpart: torch tensors carry no
        names; pass ``[p for n, p in model.named_parameters() if ...]``.)
        """
        for p in var_list:
            if not isinstance(p, torch.Tensor):
                raise ValueError(f"exclude_from_weight_decay takes tensors, got {type(p).__name__}")
            self._no_weight_decay.add(id(p))


class Adam(KerasOptimizer):
    """Keras's ``Adam`` (defaults: learning_rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7).

    Example:
        >>> import torch
        >>> model = torch.nn.Linear(3, 2)
        >>> opt = Adam(model.parameters(), learning_rate=1e-3, amsgrad=True)
    """

    _keras_name = "adam"

    def __init__(self, params, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, **kwargs):
        if not 0.0 <= beta_1 < 1.0 or not 0.0 <= beta_2 < 1.0:
            raise ValueError(f"beta_1 and beta_2 must be in [0, 1), got {beta_1!r}, {beta_2!r}")
        if not epsilon >= 0:
            raise ValueError(f"epsilon must be >= 0, got {epsilon!r}")
        super().__init__(params, dict(beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad),
                         learning_rate, **kwargs)

    def update_step(self, gradient, variable, lr, group, state):
        dt = variable.dtype
        local_step = torch.tensor(float(self._keras_iterations(group) + 1), dtype=dt)
        beta_1_power = torch.pow(torch.tensor(_cast(group["beta_1"], dt), dtype=dt), local_step)
        beta_2_power = torch.pow(torch.tensor(_cast(group["beta_2"], dt), dtype=dt), local_step)
        lr_t = torch.tensor(lr, dtype=dt)
        alpha = (lr_t * torch.sqrt(1 - beta_2_power) / (1 - beta_1_power)).item()
        m, v = _buffer(state, "momentum", variable), _buffer(state, "velocity", variable)
        m.add_((gradient - m).mul_(_scalar(1 - group["beta_1"], dt)))
        v.add_((gradient * gradient - v).mul_(_scalar(1 - group["beta_2"], dt)))
        if group["amsgrad"]:
            v_hat = _buffer(state, "velocity_hat", variable)
            torch.maximum(v_hat, v, out=v_hat)
            v = v_hat
        variable.sub_((m * alpha).div_(torch.sqrt(v).add_(_scalar(group["epsilon"], dt))))


class SGD(KerasOptimizer):
    """Keras's ``SGD`` (defaults: learning_rate 0.01, momentum 0, nesterov False).

    With momentum: ``m = m * momentum - g * lr``; then ``w += m`` or, nesterov,
    ``w += m * momentum - g * lr`` (torch.optim.SGD keeps ``lr`` out of ``m``).
    """

    _keras_name = "sgd"

    def __init__(self, params, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False, **kwargs):
        if not (isinstance(momentum, (int, float)) and 0 <= momentum <= 1):
            raise ValueError(f"`momentum` must be a float between [0, 1]. Received: momentum={momentum!r}")
        super().__init__(params, dict(momentum=momentum, nesterov=nesterov), learning_rate, **kwargs)

    def update_step(self, gradient, variable, lr, group, state):
        dt = variable.dtype
        if group["momentum"] != 0:
            m = _buffer(state, "momentum", variable)
            mom = _cast(group["momentum"], dt)
            scaled = gradient * lr  # Keras computes it twice under nesterov: the same value
            m.copy_(m * mom - scaled)
            if group["nesterov"]:
                variable.add_(m * mom - scaled)
            else:
                variable.add_(m)
        else:
            variable.sub_(gradient * lr)


class RMSprop(KerasOptimizer):
    """Keras's ``RMSprop`` (defaults: learning_rate 0.001, rho 0.9, momentum 0, epsilon 1e-7, centered False).

    ``v = rho v + (1-rho) g^2``; ``w -= lr g / sqrt(v + eps)`` (eps inside the
    square root, unlike torch.optim.RMSprop).
    """

    _keras_name = "rm_sprop"

    def __init__(self, params, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, **kwargs):
        if not 0 <= rho <= 1:
            raise ValueError(f"rho must be in [0, 1], got {rho!r}")
        super().__init__(params, dict(rho=rho, momentum=momentum, epsilon=epsilon, centered=centered),
                         learning_rate, **kwargs)

    def update_step(self, gradient, variable, lr, group, state):
        dt = variable.dtype
        rho = _scalar(group["rho"], dt)
        one_minus_rho = _scalar(1 - group["rho"], dt)
        eps = _scalar(group["epsilon"], dt)
        velocity = _buffer(state, "velocity", variable)
        velocity.copy_(velocity * rho + (gradient * gradient) * one_minus_rho)
        if group["centered"]:
            avg = _buffer(state, "average_gradient", variable)
            avg.copy_(avg * rho + gradient * one_minus_rho)
            denominator = velocity - avg * avg + eps
        else:
            denominator = velocity + eps
        increment = (gradient * lr) / torch.sqrt(denominator)
        if group["momentum"] > 0:
            mom = _buffer(state, "momentum", variable)
            mom.copy_(mom * _scalar(group["momentum"], dt) + increment)
            variable.sub_(mom)
        else:
            variable.sub_(increment)

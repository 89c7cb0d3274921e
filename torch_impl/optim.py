"""Keras-faithful optimizers: ``Adam``, ``AdamW``, ``SGD``, ``RMSprop``, ``Adagrad``, ``Adadelta``, ``Adamax``,
``Nadam``, ``Lion``, ``Lamb``, ``Ftrl``, ``Adafactor``, ``Muon`` and ``ScheduleFreeAdamW`` as ``torch.optim.Optimizer``s.

Each ``step`` computes what Keras 3's ``optimizer.apply`` computes inside
``model.fit``, operation for operation and in the parameter's dtype: loss-scale
and accumulation unscaling, gradient clipping (``clipnorm`` /
``global_clipnorm`` / ``clipvalue``), decoupled weight decay, the update rule,
the moving average, then one shared iteration count. Hyper-parameter defaults
are Keras's. The details that make torch's own optimizers differ:

* Adam: ``alpha = lr * sqrt(1 - b2^t) / (1 - b1^t)``,
  ``w -= alpha * m / (sqrt(v) + eps)`` with ``eps = 1e-7`` outside the bias
  correction; ``m += (g - m) * (1 - b1)``. ``torch.optim.Adam`` puts eps inside
  (``m_hat / (sqrt(v_hat) + eps)``), so no setting of it takes Keras's step.
* The learning rate is a Keras variable of ``floatx`` (float32 by default): a
  float64 model still trains with ``float32(0.001)``. Here the learning rate is
  rounded to ``torch.get_default_dtype()`` at construction, the analogue of
  ``floatx`` (also a rate set later, e.g. by a ``torch.optim.lr_scheduler``).
* Hyper-parameters that Keras passes through ``ops.cast`` (Adam's ``beta_1``
  and ``beta_2`` in the bias correction, SGD's ``momentum``, ``weight_decay``)
  carry float32 rounding even in float64 (TensorFlow makes a float32 tensor of
  a Python float before casting it); those used directly in an op (Adam's
  ``1 - beta_1``, RMSprop's ``rho``, every ``epsilon``, ``ema_momentum``) are
  rounded to the parameter's dtype only. Followed here.
* ``fit`` runs the update in a ``tf.function``, and TensorFlow's graph
  optimizer (Grappler) rewrites some of Keras's arithmetic before it runs;
  the step here computes the rewritten form (measured against Keras inside a
  ``tf.function``, see ``parity_tests/test_optim_fuzz_keras.py``):
  ``g / loss_scale_factor`` and ``(g + accumulated) / steps`` become a
  multiplication by the rounded reciprocal; weight decay becomes
  ``w -= w * (wd * lr)`` (``(w * wd) * lr`` for a 0-d parameter); SGD's
  ``g * lr`` of a gradient that was just multiplied by a factor (the
  reciprocals above, the global-norm scale) becomes ``g0 * (factor * lr)``;
  RMSprop's ``lr g / sqrt(d)`` becomes ``lr g * (1 / sqrt(d))`` and its
  centered ``v - avg^2 + eps`` becomes ``v + (eps - avg^2)``; Adam with
  ``epsilon=0`` multiplies by ``1 / sqrt(v)``. Keras called eagerly
  (``run_eagerly=True``) divides instead and differs by an ulp. float16/bfloat16 parameters: TensorFlow's
  ``Rsqrt`` and float16 sums as Eigen computes them (:func:`_rsqrt`, :func:`_sum`), Keras's Python numbers
  rounded to the half type, no constant push-down (``parity_tests/test_optim_half_keras.py``, bit for bit).
* TensorFlow's square root is correctly rounded and its sums run in Eigen's
  order; torch's CPU ``sqrt`` is not correctly rounded (an ulp off on about 15%
  of float32 inputs) and ``torch.sum`` adds in another order, so on the CPU the
  square roots here come from NumPy and the norms of the clipping from a sum in
  Eigen's order (x86-64 AVX / ARM NEON packet widths; exact for tensors up to
  about 100k elements, above which TensorFlow splits a sum over its threads).

Left as they are (measured in the fuzz; an ulp-level difference each):
TensorFlow flushes subnormal results to zero (torch keeps them); float32
RMSprop (and Adam with ``epsilon=0``) under ``fit`` uses TensorFlow's
vectorized ``Rsqrt``, a hardware approximation that no portable code
reproduces; with float32 weight decay under an ``ExponentialDecay`` /
``CosineDecay`` / ``CosineDecayRestarts`` schedule, ``fit`` merges the
schedule's last product into the decay's; for a one-element parameter that is
not 0-d, the order of those re-associated products follows the graph's node
names. A gradient that is itself a product or sum in Keras's graph (an
element-wise layer's) can join the rewritten products too: that depends on the
model. A plain callable rate is called at every step here; ``fit`` traces it
once.

Row-sparse gradients (an ``Embedding``'s): on TensorFlow Keras's optimizers get
a ``tf.IndexedSlices``, one row per token occurrence, and run their ops on the
rows until an op densifies them, which changes the step wherever a token
repeats in a batch: Adam's and RMSprop's second moment of a row is the sum of
its occurrences' squares, not the square of their sum; ``clipnorm`` and
``global_clipnorm`` measure the occurrences; ``clipvalue`` clips each occurrence
before they are summed; SGD subtracts each occurrence in turn. The uncoalesced
sparse COO gradient of ``nn.Embedding(..., sparse=True)`` carries the same rows,
and ``step`` follows Keras's rules on it (float64 bit for bit against ``fit``,
``parity_tests/test_optim_sparse_keras.py``); the dense gradient of
``nn.Embedding(sparse=False)`` takes the dense step. With
``gradient_accumulation_steps`` Keras densifies the rows (no difference); with
``loss_scale_factor`` Keras raises ``TypeError``, and so does ``step``. Other
sparse layouts raise.

A ``torch_impl.schedules`` schedule (Keras's ``learning_rate=schedule``) sets the
rate of every parameter group before each step, so it overrides a
``torch.optim.lr_scheduler`` and cannot be combined with per-group rates (that
raises). With a constant rate, ``torch.optim.lr_scheduler`` and per-group
``lr`` work as with any torch optimizer. ``use_ema`` averages the parameters
that require a gradient (Keras's trainable variables). A parameter whose
``grad`` is ``None`` is skipped, as Keras skips a variable without gradient;
a ``step`` where no parameter has a gradient changes nothing and is not counted
(Keras raises ``ValueError`` there).

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
import re
import warnings
from typing import Iterable, Optional

import numpy as np
import torch

from torch_impl._ops import _eigen_full_sum, tf_cast, tf_mean, tf_sqrt, tf_sum
from torch_impl.constraints import apply_constraints
from torch_impl.schedules import LearningRateSchedule

__all__ = ["KerasOptimizer", "Adam", "AdamW", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "Lion",
           "Lamb", "Ftrl", "Adafactor", "Muon", "ScheduleFreeAdamW", "LossScaleOptimizer", "MultiOptimizer",
           "get"]


class _ArgumentError(ValueError, TypeError):
    """An argument the Keras optimizer does not take: Keras raises ``ValueError``; Python a ``TypeError``."""


def _scalar(value: float, dtype: torch.dtype) -> float:
    """``value`` rounded to ``dtype``: a Python number in a Keras op with a tensor of that dtype."""
    return torch.tensor(value, dtype=dtype).item()


def _cast(value: float, dtype: torch.dtype) -> float:
    """``ops.cast(value, dtype)`` of a Python float on Keras's TensorFlow backend.

    ``tf.cast`` first makes a float32 tensor of the Python number, so the
    value carries float32 rounding even when cast to float64.
    """
    return tf_cast(value, dtype).item()


def _reciprocal(value: float, dtype: torch.dtype, device) -> torch.Tensor:
    """``1 / value`` rounded in ``dtype``: Grappler folds ``x / constant`` into ``x * (1 / constant)``."""
    return torch.reciprocal(torch.tensor(value, dtype=dtype, device=device))


_HALF = (torch.float16, torch.bfloat16)


def _rsqrt(x: torch.Tensor) -> torch.Tensor:
    """``Rsqrt(x)``, which ``fit`` computes for Grappler's ``x / sqrt(y) -> x * rsqrt(y)``. float32/float64:
    ``1 / sqrt(x)`` (TensorFlow's vectorized float32 ``Rsqrt`` is an approximation, left as is). float16/bfloat16
    on the CPU, as Eigen computes it (measured, x86-64): packets of 8 elements in float32, rounded once (here
    from float64: torch's half ``rsqrt`` is not correctly rounded on small tensors), and the last ``numel % 8``
    elements in flat order on Eigen's scalar path, ``1 / sqrt(x)`` rounded at each of the two operations."""
    root = torch.reciprocal(tf_sqrt(x))
    if x.dtype in _HALF and x.device.type == "cpu":
        n = x.numel() - x.numel() % 8
        root = root.contiguous()
        root.view(-1)[:n] = torch.reciprocal(tf_sqrt(x.reshape(-1)[:n].double())).to(x.dtype)
    return root


def _sum(x: torch.Tensor) -> torch.Tensor:
    """``ops.sum`` of all of ``x`` (a 0-d tensor) as TensorFlow sums on the CPU: :func:`tf_sum` (Eigen's order;
    bfloat16 accumulates in float32, as torch's sum), float16 in Eigen's half order (``_ops._eigen_full_sum``)."""
    if x.dtype == torch.float16 and x.device.type == "cpu" and not x.requires_grad:
        with np.errstate(over="ignore", invalid="ignore"):
            return torch.from_numpy(np.array(_eigen_full_sum(x.numpy(), 8)))
    return tf_sum(x)


def _buffer(state: dict, key: str, like: torch.Tensor) -> torch.Tensor:
    """The optimizer variable ``key`` in a parameter's ``state``, made as zeros like the parameter on first use
    (Keras's ``add_variable_from_reference``)."""
    if key not in state:
        state[key] = torch.zeros_like(like)
    return state[key]


class _Grad:
    """A gradient as ``base * factor`` (``factor`` a 0-d tensor or ``None``): the last operation of Keras's
    graph, kept apart because Grappler re-associates it with SGD's ``* lr`` when that is its only use."""

    __slots__ = ("base", "factor")

    def __init__(self, base: torch.Tensor, factor: Optional[torch.Tensor] = None):
        self.base, self.factor = base, factor

    def value(self) -> torch.Tensor:
        return self.base if self.factor is None else self.base * self.factor

    def times(self, lr: float, constant_rate: bool = False) -> torch.Tensor:
        """``gradient * lr`` as ``fit`` computes it: ``base * (factor * lr)`` where :func:`_scalars_first`."""
        if self.factor is not None and _scalars_first(self.base, constant_rate):
            return self.base * (self.factor * lr)
        return self.value() * lr


class _Slices:
    """A row-sparse gradient as Keras on TensorFlow holds an ``Embedding``'s: ``tf.IndexedSlices``, one row of
    ``values`` per token occurrence at ``indices`` (duplicates kept, not summed). torch gives it as the
    uncoalesced sparse COO gradient of ``nn.Embedding(..., sparse=True)``.

    Keras's ops treat it row by row until an operation densifies it (TensorFlow's ``unsorted_segment_sum``: the
    rows of one index added in occurrence order): ``ops.square``, ``ops.clip``, ``tf.clip_by_norm`` and a product
    with a scalar work on each occurrence; ``ops.add``/``ops.subtract`` with a dense tensor, a product with a
    tensor and ``ops.sum`` densify; ``assign_add``/``assign_sub`` scatter each occurrence into the variable in
    turn. So Adam's second moment of a row is the sum of its occurrences' squares, not the square of their
    sum."""

    __slots__ = ("indices", "values", "shape")

    def __init__(self, indices: torch.Tensor, values: torch.Tensor, shape: torch.Size):
        self.indices, self.values, self.shape = indices, values, shape

    @classmethod
    def of(cls, grad: torch.Tensor, param: torch.Tensor) -> "_Slices":
        """The slices of a sparse COO gradient of ``param`` whose first dimension alone is sparse (an
        ``nn.Embedding(sparse=True)`` weight's); any other sparse layout raises (Keras has no counterpart)."""
        if grad.layout != torch.sparse_coo or grad.sparse_dim() != 1 or grad.shape != param.shape:
            raise RuntimeError(
                f"torch_impl.optim takes a sparse gradient only as row slices (the sparse COO gradient of "
                f"nn.Embedding(..., sparse=True), Keras's tf.IndexedSlices); got layout {grad.layout}, "
                f"{grad.sparse_dim() if grad.layout == torch.sparse_coo else '-'} sparse dimension(s), shape "
                f"{tuple(grad.shape)} for a parameter of shape {tuple(param.shape)}")
        return cls(grad._indices()[0], grad._values().to(param.dtype), param.shape)

    def dense(self, values: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``tf.convert_to_tensor`` of the slices (of ``values`` at the same indices): occurrences summed."""
        values = self.values if values is None else values
        return torch.zeros(self.shape, dtype=values.dtype, device=values.device).index_add_(0, self.indices, values)

    def scatter_sub(self, variable: torch.Tensor, values: torch.Tensor) -> None:
        """``assign_sub(variable, slices)``: TensorFlow's ``ScatterSub``, each occurrence subtracted in turn."""
        variable.index_add_(0, self.indices, -values)


def _summed_and_squared(gradient) -> tuple:
    """``(g, g^2)`` as Keras's ops see a gradient: for row slices the occurrences summed (``ops.subtract`` with a
    dense tensor densifies) and the squares summed (``ops.square`` squares each occurrence first)."""
    if isinstance(gradient, _Slices):
        return gradient.dense(), gradient.dense(gradient.values * gradient.values)
    return gradient, gradient * gradient


def _scalars_first(t: torch.Tensor, constant_rate: bool) -> bool:
    """Whether ``fit`` computes ``t * a * b`` (``a``, ``b`` scalars) as ``t * (a * b)``: Grappler's
    MinimizeBroadcasts multiplies the two scalars first unless ``t`` is 0-d too (one shape: nothing is
    reordered; measured: a ``(1,)`` tensor is reordered, a 0-d one is not). A constant rate (a plain callable,
    which ``fit`` traces once) is folded with the other scalar whatever the shape (constant folding)."""
    return t.dim() > 0 or constant_rate


class KerasOptimizer(torch.optim.Optimizer):
    """The Keras ``apply`` machinery; subclasses implement :meth:`update_step`.

    Args:
        params: parameters or parameter groups, as for any torch optimizer.
        learning_rate: Keras's name (``lr`` is accepted too): a number, a
            :mod:`torch_impl.schedules` schedule (evaluated before every step at
            the step count, as Keras does) or a callable taking no argument.
        weight_decay: decoupled decay ``w -= w * weight_decay * lr`` before the update.
        clipnorm: clip each gradient to this L2 norm.
        global_clipnorm: clip all gradients together to this global L2 norm (over every parameter group, as
            one Keras optimizer whose variables differ in weight decay, e.g. ``exclude_from_weight_decay``; for
            a norm per group use one optimizer per group, or :class:`MultiOptimizer`).
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

    Invalid arguments raise ``ValueError`` where Keras does (two clipping
    options, ``gradient_accumulation_steps`` < 2, ``ema_momentum`` outside
    [0, 1] or a non-integer ``ema_overwrite_frequency`` with ``use_ema``, an
    argument Keras does not know), and also where Keras would train on
    nonsense (a negative, infinite or NaN rate, decay or clipping value, a
    ``loss_scale_factor`` <= 0). ``decay`` warns and is ignored, as in Keras.
    """

    _keras_name = "optimizer"

    def __init__(self, params, defaults: dict, learning_rate: float, weight_decay: Optional[float] = None,
                 clipnorm: Optional[float] = None, clipvalue: Optional[float] = None,
                 global_clipnorm: Optional[float] = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: Optional[int] = None, loss_scale_factor: Optional[float] = None,
                 gradient_accumulation_steps: Optional[int] = None, name: Optional[str] = None,
                 lr: Optional[float] = None, **kwargs):
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.", stacklevel=3)
        if kwargs:
            raise _ArgumentError(f"Argument(s) not recognized: {kwargs}")
        if lr is not None:
            learning_rate = lr
        self._lr_schedule = None
        if isinstance(learning_rate, LearningRateSchedule) or (callable(learning_rate)
                                                               and not isinstance(learning_rate, (int, float))):
            self._lr_schedule = learning_rate
            learning_rate = self._scheduled_rate(0)
        if isinstance(learning_rate, bool) or not (isinstance(learning_rate, (int, float)) and learning_rate >= 0
                                                   and math.isfinite(learning_rate)):
            raise ValueError("Argument `learning_rate` should be a finite float >= 0, an instance of "
                             "torch_impl.schedules.LearningRateSchedule, or a callable (that takes no argument "
                             f"and returns the learning rate). Received instead: learning_rate={learning_rate!r}")
        if sum(x is not None for x in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                             f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}")
        for arg, value in (("weight_decay", weight_decay), ("clipnorm", clipnorm), ("clipvalue", clipvalue),
                           ("global_clipnorm", global_clipnorm)):
            if value is not None and not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"`{arg}` must be a finite number >= 0 or None. Received: {arg}={value!r}")
        if gradient_accumulation_steps and not (isinstance(gradient_accumulation_steps, int)
                                                and gradient_accumulation_steps >= 2):
            raise ValueError("`gradient_accumulation_steps` must be an integer >= 2. Received: "
                             f"gradient_accumulation_steps={gradient_accumulation_steps!r}")
        if use_ema and not 0 <= ema_momentum <= 1:
            raise ValueError(f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum!r}")
        # Keras: a falsy frequency (None or 0) never overwrites
        if use_ema and ema_overwrite_frequency and not (isinstance(ema_overwrite_frequency, int)
                                                        and ema_overwrite_frequency >= 1):
            raise ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None. Received: "
                             f"ema_overwrite_frequency={ema_overwrite_frequency!r}")
        if loss_scale_factor is not None and not (loss_scale_factor > 0 and math.isfinite(loss_scale_factor)):
            raise ValueError("`loss_scale_factor` must be a finite number > 0 or None. Received: "
                             f"loss_scale_factor={loss_scale_factor!r}")
        # Keras keeps the learning rate in a floatx variable
        self._floatx = torch.get_default_dtype()
        learning_rate = _scalar(learning_rate, self._floatx)
        super().__init__(params, dict(defaults, lr=learning_rate, weight_decay=weight_decay, iterations=0,
                                      floatx=self._floatx))
        if self._lr_schedule is not None and any(g["lr"] != learning_rate for g in self.param_groups):
            raise ValueError("A learning-rate schedule sets the rate of every parameter group (Keras has one "
                             "learning rate per optimizer): give groups their own `lr` without a schedule, or "
                             "one optimizer per schedule.")
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.use_ema, self.ema_momentum = bool(use_ema), ema_momentum
        self.ema_overwrite_frequency = (ema_overwrite_frequency or None) if use_ema else None
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps or None
        self.name = name or self._keras_name
        self._no_weight_decay: set[int] = set()  # ids of parameters excluded from weight decay
        # a plain callable: fit traces it once, its value a constant of the graph
        self._constant_rate = self._lr_schedule is not None and not isinstance(self._lr_schedule,
                                                                               LearningRateSchedule)

    def __getstate__(self) -> dict:
        """torch's pickles only ``defaults``, ``state`` and ``param_groups``: the Keras options (clipping, EMA,
        loss scaling, accumulation, schedule, name) go too, so that a pickled or deep-copied optimizer steps as
        the original (Keras's optimizers pickle, ``optimizer_test.py::test_pickleable_optimizers``); the
        parameters excluded from weight decay (and Muon's names), kept by ``id``, go by position."""
        state = super().__getstate__()
        position = {id(p): i for i, p in enumerate(self._all_params())}
        for key, value in self.__dict__.items():
            if key not in state and not key.startswith("_optimizer_"):  # torch's hooks: torch remakes them
                state[key] = value
        state["_no_weight_decay"] = sorted(position[i] for i in self._no_weight_decay if i in position)
        if "_names" in state:
            state["_names"] = {position[i]: n for i, n in self._names.items() if i in position}
        return state

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        params = self._all_params()
        if isinstance(self.__dict__.get("_no_weight_decay"), list):  # positions (from __getstate__)
            self._no_weight_decay = {id(params[i]) for i in self._no_weight_decay}
            if "_names" in self.__dict__:
                self._names = {id(params[i]): n for i, n in self._names.items()}

    #: options of the whole optimizer (Keras's optimizer attributes), which a parameter group cannot set
    _OPTIMIZER_WIDE = ("clipnorm", "clipvalue", "global_clipnorm", "use_ema", "ema_momentum",
                       "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps", "name")

    def add_param_group(self, param_group: dict) -> None:
        """As torch's, with Keras's name ``learning_rate`` taken for ``lr``; a group added later joins Keras's
        single step count (not 0). The optimizer-wide options (clipping, EMA, loss scaling, accumulation) cannot
        be set per group: ``ValueError`` (one optimizer per setting, or :class:`MultiOptimizer`)."""
        if isinstance(param_group, dict):
            wide = [k for k in self._OPTIMIZER_WIDE if k in param_group]
            if wide:
                raise ValueError(f"{type(self).__name__}: {wide} apply to the whole optimizer (Keras's optimizer "
                                 "attributes), not to a parameter group; make one optimizer per setting (e.g. "
                                 "with torch_impl.optim.MultiOptimizer).")
            if "learning_rate" in param_group:
                if "lr" in param_group:
                    raise ValueError("a parameter group gives both `learning_rate` and `lr`: give one")
                param_group = dict(param_group)
                param_group["lr"] = param_group.pop("learning_rate")
        count = self.param_groups[0]["iterations"] if self.param_groups else 0
        super().add_param_group(param_group)
        self.param_groups[-1]["iterations"] = count

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
        """Keras's ``optimizer.learning_rate``: the rate the next step will use, as its floatx variable holds it
        (a schedule evaluated at the step count so far; ``param_groups[0]["lr"]`` holds the rate of the last
        step taken). Settable as in Keras (every group's rate; groups of different rates are scaled by new / old;
        a number not once a schedule is in use; a schedule or a callable replaces the rate for the next steps)."""
        if self._lr_schedule is not None and self.param_groups:
            return self._scheduled_rate(self._steps)
        return self._rate(self.param_groups[0]) if self.param_groups else float("nan")

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        if isinstance(value, LearningRateSchedule) or (callable(value) and not isinstance(value, (int, float))):
            # Keras (2 and 3.15.1, base_optimizer.py:711) takes a schedule or a callable here too, for the steps
            # to come (a float assigned afterwards raises below)
            self._lr_schedule = value
            self._constant_rate = not isinstance(value, LearningRateSchedule)
            for group in self.param_groups:
                group["lr"] = self._scheduled_rate(self._steps)
            return
        if self._lr_schedule is not None:
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object as its "
                            "`learning_rate` constructor argument, hence its learning rate is not settable. If "
                            "you need the learning rate to be settable, you should instantiate the optimizer "
                            "with a float `learning_rate` argument.")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
            raise ValueError(f"learning_rate must be a number, got {value!r}")
        # any number, as Keras assigns it (a decay schedule in a callback may go below 0); groups with rates of
        # their own (each one Keras optimizer) are scaled by new / old, keeping their ratios (ReduceLROnPlateau's
        # factor, a LearningRateScheduler's step)
        rates = [group["lr"] for group in self.param_groups]
        old = rates[0] if rates else 0.0
        if len(set(rates)) > 1 and old != 0:
            for group in self.param_groups:
                group["lr"] = float(value) * (group["lr"] / old)
            self.param_groups[0]["lr"] = float(value)
        else:
            for group in self.param_groups:
                group["lr"] = float(value)

    @property
    def _steps(self) -> int:
        """Keras's ``_iterations``: steps taken, accumulation steps included (kept in every group)."""
        return self.param_groups[0]["iterations"] if self.param_groups else 0

    @property
    def iterations(self) -> int:
        """Keras's ``optimizer.iterations``: updates applied so far (steps // gradient_accumulation_steps)."""
        steps = self.gradient_accumulation_steps
        return self._steps // steps if steps else self._steps

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
        """Keras's ``_clip_gradients`` of a list of gradient tensors (values as ``fit`` computes them)."""
        return [g.value() for g in self._clip_grads([_Grad(g) for g in grads])]

    def _clip_grads(self, grads: list, params: Optional[list] = None) -> list:
        if self.clipnorm:
            # tf.clip_by_norm, per Keras variable: of row slices, of their values (per occurrence); torch
            # parameters that are one Keras variable (a GRU's bias_ih and bias_hh: Keras's (2, 3 units) bias,
            # marked by torch_impl.nn) share the norm of both
            values = [g.values if isinstance(g, _Slices) else g.value() for g in grads]
            squares = [_sum(v * v) for v in values]
            joint: dict = {}
            for i, p in enumerate(params or ()):
                key = getattr(p, "_keras_variable", None)
                if key is not None:
                    joint.setdefault(key, []).append(i)
            for members in joint.values():
                total = _sum(torch.stack([squares[i] for i in members]))
                for i in members:
                    squares[i] = total
            out = []
            for g, v, l2sum in zip(grads, values, squares):
                pos = l2sum > 0
                l2norm = torch.where(pos, tf_sqrt(torch.where(pos, l2sum, torch.ones_like(l2sum))), l2sum)
                clip = torch.tensor(self.clipnorm, dtype=v.dtype, device=v.device)
                clipped = (v * clip) / torch.maximum(l2norm, clip)
                out.append(_Slices(g.indices, clipped, g.shape) if isinstance(g, _Slices) else _Grad(clipped))
            return out
        if self.global_clipnorm:
            # ops.sum(ops.square(slices)) sums the densified squares; v * scale densifies the slices
            squares = [_sum(g.dense(g.values * g.values)) if isinstance(g, _Slices) else _sum(g.value() * g.value())
                       for g in grads]
            values = [g.dense() if isinstance(g, _Slices) else g.value() for g in grads]
            # ops.stack promotes (float16 and bfloat16 to float32); squares of one dtype stay in it (half too)
            wide = squares[0].dtype
            for sq in squares[1:]:
                wide = torch.promote_types(wide, sq.dtype)
            norm = tf_sqrt(_sum(torch.stack([s.to(wide) for s in squares])))  # ops.sum(ops.stack(...))
            c = self.global_clipnorm
            scale_finite = _scalar(c, wide) * torch.minimum(torch.reciprocal(norm), torch.tensor(
                1.0 / c, dtype=wide, device=norm.device))
            scale = scale_finite + (norm - norm)  # NaN for a non-finite norm, as Keras
            return [_Grad(v, scale.to(v.dtype)) for v in values]
        if self.clipvalue:
            return [_Slices(g.indices, torch.clamp(g.values, -self.clipvalue, self.clipvalue), g.shape)
                    if isinstance(g, _Slices) else _Grad(torch.clamp(g.value(), -self.clipvalue, self.clipvalue))
                    for g in grads]
        return grads

    def _rate(self, group: dict) -> float:
        """The group's learning rate as Keras holds it: a schedule's value, else the floatx variable's (the floatx
        is kept in the group, so that a state_dict carries it)."""
        if self._lr_schedule is not None:
            return group["lr"]
        return _scalar(group["lr"], group.get("floatx", self._floatx))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        pairs = [(p, group) for group in self.param_groups for p in group["params"] if p.grad is not None]
        if not pairs:  # Keras raises ("No gradients provided for any variable.") and counts no step
            return loss
        if not self._row_slices and any(p.grad.is_sparse for p, _ in pairs):
            raise RuntimeError(
                f"torch_impl.optim.{type(self).__name__} takes dense gradients: Keras on TensorFlow steps an "
                "Embedding's row slices (tf.IndexedSlices) with this optimizer in a way not reproduced here. Use "
                "nn.Embedding(..., sparse=False) (Keras's step then differs where a token repeats in a batch), or "
                "an optimizer that follows Keras's row-sparse step (all but Adafactor).")
        grads = [_Slices.of(p.grad, p) if p.grad.is_sparse else _Grad(p.grad.to(p.dtype)) for p, _ in pairs]
        if self.loss_scale_factor is not None and any(isinstance(g, _Slices) for g in grads):
            raise _ArgumentError(
                "Keras cannot apply `loss_scale_factor` to a row-sparse gradient: on TensorFlow its `g / scale` "
                "raises TypeError (unsupported operand type(s) for /: 'IndexedSlices' and 'float') for an "
                "Embedding's gradient. Use a dense gradient (nn.Embedding(..., sparse=False)) or no "
                "loss_scale_factor.")
        if self._lr_schedule is not None:
            rate = self._scheduled_rate(self._steps)
            for group in self.param_groups:
                group["lr"] = rate
        if self.loss_scale_factor is not None:  # g / scale, in fit g * (1 / scale)
            grads = [_Grad(g.base, _reciprocal(self.loss_scale_factor, g.base.dtype, g.base.device)) for g in grads]
        steps = self.gradient_accumulation_steps
        if steps:  # Keras adds an accumulator to every gradient, which densifies row slices
            grads = [_Grad(g.dense()) if isinstance(g, _Slices) else g for g in grads]
        if steps and (self._steps + 1) % steps != 0:  # accumulate only
            for (p, _), g in zip(pairs, grads):
                acc = _buffer(self.state[p], "gradient_accumulator", p)
                acc.copy_(g.value() + acc)
        else:
            if steps:  # the update: the mean of the accumulated gradients and this one, in fit a product
                grads = [_Grad(g.value() + _buffer(self.state[p], "gradient_accumulator", p),
                               _reciprocal(steps, p.dtype, p.device)) for (p, _), g in zip(pairs, grads)]
            grads = self._clip_grads(grads, [p for p, _ in pairs])
            self._before_updates(pairs)
            for (p, group), g in zip(pairs, grads):
                lr = _scalar(self._rate(group), p.dtype)
                wd = self._weight_decay_of(p, group)
                if wd is not None and id(p) not in self._no_weight_decay:
                    wd = _cast(wd, p.dtype)
                    if _scalars_first(p, self._constant_rate):
                        p.sub_(p * _scalar(wd * lr, p.dtype))
                    else:
                        p.sub_(p * wd * lr)
                if not isinstance(g, _Slices) and not self._takes_factored_gradient:
                    g = g.value()
                self.update_step(g, p, lr, group, self.state[p])
            if steps:  # Keras zeroes every accumulator, also those of parameters without a gradient now
                for p in self._all_params():
                    acc = self.state[p].get("gradient_accumulator") if p in self.state else None
                    if acc is not None:
                        acc.zero_()
        if self.use_ema:
            self._update_moving_averages()
        apply_constraints(p for p, _ in pairs)  # Keras: after the update, on the variables that had a gradient
        for group in self.param_groups:
            group["iterations"] += 1
        return loss

    _takes_factored_gradient = False  # SGD takes the _Grad (its ``g * lr`` is re-associated in fit)
    _row_slices = True  # follows Keras's step on an Embedding's row-sparse gradient (tf.IndexedSlices)

    def _weight_decay_of(self, p: torch.Tensor, group: dict) -> Optional[float]:
        """The decoupled weight decay of ``p`` (Keras's ``_apply_weight_decay``: the optimizer's)."""
        return group["weight_decay"]

    def _before_updates(self, pairs: list) -> None:
        """Keras's ``_backend_update_step`` before the per-variable updates (Nadam's momentum product)."""

    def _update_moving_averages(self) -> None:
        """Keras's ``_update_model_variables_moving_average``, then the periodic overwrite; every trainable
        parameter (Keras averages its trainable variables: a frozen one keeps its value). The momentum is
        ``cast(iterations != 0) * ema_momentum`` in the parameter's dtype, and ``1 - momentum`` is computed in
        that dtype."""
        first = self.iterations == 0
        for p in self._all_params():
            if not p.requires_grad:
                continue
            momentum = 0.0 if first else _scalar(self.ema_momentum, p.dtype)
            average = _buffer(self.state[p], "average", p)
            average.copy_(average * momentum + p * _scalar(1 - momentum, p.dtype))
        if self.ema_overwrite_frequency and (self.iterations + 1) % self.ema_overwrite_frequency == 0:
            self.finalize_variable_values()

    def update_step(self, gradient: torch.Tensor, variable: torch.Tensor, lr: float, group: dict, state: dict):
        raise NotImplementedError

    def _decay_power(self, group: dict, key: str, dt: torch.dtype) -> torch.Tensor:
        """Keras's ``ops.power(ops.cast(self.<key>, dtype), iterations + 1)``: the bias correction's ``beta^t``
        (``beta`` through ``tf.cast``: float32 rounding even in float64)."""
        step = torch.tensor(float(self.iterations + 1), dtype=dt)
        return torch.pow(torch.tensor(_cast(group[key], dt), dtype=dt), step)

    def exclude_from_weight_decay(self, var_list: Iterable[torch.Tensor]) -> None:
        """Keras's ``exclude_from_weight_decay(var_list=...)``: for THIS optimizer only; each call replaces the
        list of the one before, as in Keras.

        (Keras's ``var_names=`` has no counterpart: torch tensors carry no
        names; pass ``[p for n, p in model.named_parameters() if ...]``.)
        """
        excluded = set()
        for p in var_list:
            if not isinstance(p, torch.Tensor):
                raise ValueError(f"exclude_from_weight_decay takes tensors, got {type(p).__name__}")
            excluded.add(id(p))
        self._no_weight_decay = excluded  # Keras replaces the set at each call


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
            raise ValueError(f"`beta_1` and `beta_2` must be in [0, 1). Received: beta_1={beta_1!r}, "
                             f"beta_2={beta_2!r}")
        if not epsilon >= 0:
            raise ValueError(f"`epsilon` must be >= 0. Received: epsilon={epsilon!r}")
        super().__init__(params, dict(beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad),
                         learning_rate, **kwargs)

    def update_step(self, gradient, variable, lr, group, state):
        dt = variable.dtype
        beta_1_power, beta_2_power = self._decay_power(group, "beta_1", dt), self._decay_power(group, "beta_2", dt)
        lr_t = torch.tensor(lr, dtype=dt)
        alpha = (lr_t * tf_sqrt(1 - beta_2_power) / (1 - beta_1_power)).item()
        m, v = _buffer(state, "momentum", variable), _buffer(state, "velocity", variable)
        gradient, square = _summed_and_squared(gradient)
        m.add_((gradient - m).mul_(_scalar(1 - group["beta_1"], dt)))
        v.add_((square - v).mul_(_scalar(1 - group["beta_2"], dt)))
        if group["amsgrad"]:
            v_hat = _buffer(state, "velocity_hat", variable)
            torch.maximum(v_hat, v, out=v_hat)
            v = v_hat
        eps = _scalar(group["epsilon"], dt)
        if eps == 0:  # fit: Grappler drops "+ 0" and turns x / sqrt(v) into x * rsqrt(v)
            variable.sub_((m * alpha).mul_(_rsqrt(v)))
        else:
            variable.sub_((m * alpha).div_(tf_sqrt(v).add_(eps)))


class AdamW(Adam):
    """Keras's ``AdamW``: :class:`Adam` with decoupled weight decay, ``weight_decay`` 0.004 by default (it may
    not be ``None``). Keras's argument order: learning_rate, weight_decay, beta_1, beta_2, epsilon, amsgrad.

    Example:
        >>> import torch
        >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = AdamW([w], learning_rate=0.1, weight_decay=0.5)
        >>> w.grad = torch.tensor([0.5, -0.5]); opt.step()
        >>> w.detach()  # w - w * 0.5 * 0.1, then Adam's step
        tensor([ 0.8500, -1.8000])
    """

    _keras_name = "adam_w"  # Keras 3.15.1: AdamW().name

    def __init__(self, params, learning_rate: float = 0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False, **kwargs):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(params, learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay, **kwargs)


class SGD(KerasOptimizer):
    """Keras's ``SGD`` (defaults: learning_rate 0.01, momentum 0, nesterov False).

    With momentum: ``m = m * momentum - g * lr``; then ``w += m`` or, nesterov,
    ``w += m * momentum - g * lr`` (torch.optim.SGD keeps ``lr`` out of ``m``).
    """

    _keras_name = "sgd"
    _takes_factored_gradient = True

    def __init__(self, params, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False, **kwargs):
        if isinstance(momentum, bool) or not (isinstance(momentum, (int, float)) and 0 <= momentum <= 1):
            raise ValueError(f"`momentum` must be a float between [0, 1]. Received: momentum={momentum!r}")
        super().__init__(params, dict(momentum=momentum, nesterov=nesterov), learning_rate, **kwargs)

    def update_step(self, gradient, variable, lr, group, state):
        dt = variable.dtype
        if isinstance(gradient, _Slices):  # g * lr per occurrence; subtracted from m densified, else scattered
            scaled = gradient.values * lr
            if group["momentum"] == 0:
                gradient.scatter_sub(variable, scaled)
                return
            scaled = gradient.dense(scaled)
        else:
            grad = gradient if isinstance(gradient, _Grad) else _Grad(gradient)
            scaled = grad.times(lr, self._constant_rate)  # Keras computes it twice under nesterov: one node in fit
        if group["momentum"] != 0:
            m = _buffer(state, "momentum", variable)
            mom = _cast(group["momentum"], dt)
            m.copy_(m * mom - scaled)
            if group["nesterov"]:
                variable.add_(m * mom - scaled)
            else:
                variable.add_(m)
        else:
            variable.sub_(scaled)


class RMSprop(KerasOptimizer):
    """Keras's ``RMSprop`` (defaults: learning_rate 0.001, rho 0.9, momentum 0, epsilon 1e-7, centered False).

    ``v = rho v + (1-rho) g^2``; ``w -= lr g / sqrt(v + eps)`` (eps inside the
    square root, unlike torch.optim.RMSprop), computed as ``fit`` does:
    ``lr g * (1 / sqrt(v + eps))``; centered: ``v + (eps - avg^2)`` (``(v - avg^2) + eps`` in float16/bfloat16,
    which Grappler does not reassociate).
    """

    _keras_name = "rm_sprop"

    def __init__(self, params, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, **kwargs):
        if not 0 <= rho <= 1:
            raise ValueError(f"`rho` must be in [0, 1]. Received: rho={rho!r}")
        super().__init__(params, dict(rho=rho, momentum=momentum, epsilon=epsilon, centered=centered),
                         learning_rate, **kwargs)

    def update_step(self, gradient, variable, lr, group, state):
        dt = variable.dtype
        rho = _scalar(group["rho"], dt)
        one_minus_rho = _scalar(1 - group["rho"], dt)
        eps = _scalar(group["epsilon"], dt)
        velocity = _buffer(state, "velocity", variable)
        slices = gradient if isinstance(gradient, _Slices) else None
        if slices is not None:  # the products per occurrence, densified by the sums
            velocity.copy_(velocity * rho + slices.dense((slices.values * slices.values) * one_minus_rho))
        else:
            velocity.copy_(velocity * rho + (gradient * gradient) * one_minus_rho)
        if group["centered"]:
            avg = _buffer(state, "average_gradient", variable)
            if slices is not None:
                avg.copy_(avg * rho + slices.dense(slices.values * one_minus_rho))
            else:
                avg.copy_(avg * rho + gradient * one_minus_rho)
            if dt in (torch.float16, torch.bfloat16):  # Grappler pushes no constant down in half/bfloat16
                denominator = (velocity - avg * avg) + eps
            else:
                denominator = velocity + (eps - avg * avg)  # fit: Grappler's constant push-down
        else:
            denominator = velocity + eps
        if slices is not None:  # lr g / sqrt(d) per occurrence, the root of its row (only those rows computed)
            root = tf_sqrt(denominator.index_select(0, slices.indices))
            if group["centered"] and not bool(torch.all(root > 0)):
                # Keras's sparse divide then takes a path that fails on repeated rows (InvalidArgumentError)
                raise FloatingPointError(
                    "centered RMSprop: v - avg^2 + epsilon is <= 0 or NaN for a row of this row-sparse (Embedding) "
                    "gradient: with a token repeated in a batch, v sums the occurrences' squares while avg^2 "
                    "squares their sum. Keras 3.15.1 on TensorFlow fails at this step too (InvalidArgumentError "
                    "in its sparse divide); use centered=False or a dense gradient (nn.Embedding(sparse=False)).")
            increment = (slices.values * lr) / root
            if group["momentum"] <= 0:
                slices.scatter_sub(variable, increment)
                return
            increment = slices.dense(increment)
        else:
            increment = (gradient * lr) * _rsqrt(denominator)  # fit: x / sqrt(y) -> x * rsqrt(y)
        if group["momentum"] > 0:
            mom = _buffer(state, "momentum", variable)
            mom.copy_(mom * _scalar(group["momentum"], dt) + increment)
            variable.sub_(mom)
        else:
            variable.sub_(increment)


def _t(value: float, dtype: torch.dtype) -> torch.Tensor:
    """A 0-d tensor: scalar arithmetic rounded in ``dtype`` at every operation, as Keras's scalar ops."""
    return torch.tensor(value, dtype=dtype)


def _check_epsilon(epsilon) -> None:
    if isinstance(epsilon, bool) or not (isinstance(epsilon, (int, float)) and epsilon >= 0 and math.isfinite(epsilon)):
        raise ValueError(f"`epsilon` must be a finite number >= 0. Received: epsilon={epsilon!r}")


def _check_unit(value, name: str, closed_low: bool = True, closed_high: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and (value >= 0 if closed_low else value > 0) and (value <= 1 if closed_high else value < 1)
    if not ok:
        low, high = "[" if closed_low else "(", "]" if closed_high else ")"
        raise ValueError(f"`{name}` must be in {low}0, 1{high}. Received: {name}={value!r}")


class _MomentOptimizer(KerasOptimizer):
    """An optimizer with two moment decays and an epsilon, Keras's defaults and checks (Adamax, Nadam, Lamb)."""

    def __init__(self, params, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, **kwargs):
        _check_unit(beta_1, "beta_1")
        _check_unit(beta_2, "beta_2")
        _check_epsilon(epsilon)
        super().__init__(params, dict(beta_1=beta_1, beta_2=beta_2, epsilon=epsilon), learning_rate, **kwargs)


class Adagrad(KerasOptimizer):
    """Keras's ``Adagrad`` (defaults: learning_rate 0.001, initial_accumulator_value 0.1, epsilon 1e-7).

    ``a += g^2``; ``w -= lr g / sqrt(a + eps)``, computed as ``fit`` does (``lr g * (1 / sqrt(a + eps))``). The
    accumulator starts at ``initial_accumulator_value`` (carrying float32 rounding, as Keras's ``Constant``
    initializer casts it); ``torch.optim.Adagrad`` starts at 0 with eps 1e-10 outside the root, and its default
    rate is 0.01.

    Example:
        >>> import torch
        >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = Adagrad([w], learning_rate=0.1)
        >>> w.grad = torch.tensor([0.5, -0.5]); opt.step()
        >>> w.detach()
        tensor([ 0.9155, -1.9155])
    """

    _keras_name = "adagrad"

    def __init__(self, params, learning_rate: float = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, **kwargs):
        if isinstance(initial_accumulator_value, bool) or not (isinstance(initial_accumulator_value, (int, float))
                                                               and initial_accumulator_value >= 0
                                                               and math.isfinite(initial_accumulator_value)):
            raise ValueError("`initial_accumulator_value` must be a finite number >= 0. Received: "
                             f"initial_accumulator_value={initial_accumulator_value!r}")
        _check_epsilon(epsilon)
        super().__init__(params, dict(initial_accumulator_value=initial_accumulator_value, epsilon=epsilon),
                         learning_rate, **kwargs)

    def update_step(self, gradient, variable, lr, group, state):
        dt = variable.dtype
        if "accumulator" not in state:
            state["accumulator"] = torch.full_like(variable, _cast(group["initial_accumulator_value"], dt))
        accumulator = state["accumulator"]
        if isinstance(gradient, _Slices):
            # Keras on row slices: each occurrence's square scattered into the accumulator in turn, each
            # occurrence's lr g divided by its row's root and scattered out of the weights in turn
            rows = gradient
            accumulator.index_add_(0, rows.indices, rows.values * rows.values)
            root = tf_sqrt(accumulator + _scalar(group["epsilon"], dt))
            rows.scatter_sub(variable, (rows.values * lr) / root[rows.indices])
            return
        accumulator.add_(gradient * gradient)
        # fit: x / sqrt(y) -> x * rsqrt(y)
        variable.sub_((gradient * lr) * _rsqrt(accumulator + _scalar(group["epsilon"], dt)))


class Adadelta(KerasOptimizer):
    """Keras's ``Adadelta`` (defaults: learning_rate 0.001, rho 0.95, epsilon 1e-7).

    ``a = rho a + (1 - rho) g^2``; ``d = -sqrt(s + eps) g / sqrt(a + eps)``; ``s = rho s + (1 - rho) d^2``;
    ``w += lr d``. ``torch.optim.Adadelta`` has the same rule with rate 1.0 and eps 1e-6 by default: a port that
    keeps torch's defaults takes steps 1000 times Keras's.

    Example:
        >>> import torch
        >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = Adadelta([w], learning_rate=1.0)
        >>> w.grad = torch.tensor([0.5, -0.5]); opt.step()
        >>> w.detach()
        tensor([ 0.9986, -1.9986])
    """

    _keras_name = "adadelta"

    def __init__(self, params, learning_rate: float = 0.001, rho: float = 0.95, epsilon: float = 1e-7, **kwargs):
        _check_unit(rho, "rho", closed_high=True)
        _check_epsilon(epsilon)
        super().__init__(params, dict(rho=rho, epsilon=epsilon), learning_rate, **kwargs)

    def update_step(self, gradient, variable, lr, group, state):
        dt = variable.dtype
        rho, one_minus_rho = _scalar(group["rho"], dt), _scalar(1 - group["rho"], dt)
        eps = _scalar(group["epsilon"], dt)
        grad_acc = _buffer(state, "accumulated_grad", variable)
        delta_acc = _buffer(state, "accumulated_delta_var", variable)
        if isinstance(gradient, _Slices):
            # Keras on row slices: the products per occurrence (their sums densify the accumulators), the
            # occurrence's root ratios from its row, each occurrence's step scattered into the weights in turn
            rows = gradient
            grad_acc.copy_(grad_acc * rho + rows.dense((rows.values * rows.values) * one_minus_rho))
            delta = -((tf_sqrt(delta_acc + eps)[rows.indices] * rows.values) / tf_sqrt(grad_acc + eps)[rows.indices])
            delta_acc.copy_(delta_acc * rho + rows.dense((delta * delta) * one_minus_rho))
            variable.index_add_(0, rows.indices, delta * lr)
            return
        grad_acc.copy_(grad_acc * rho + (gradient * gradient) * one_minus_rho)
        # fit: x / sqrt(y) -> x * rsqrt(y)
        delta = -((tf_sqrt(delta_acc + eps) * gradient) * _rsqrt(grad_acc + eps))
        delta_acc.copy_(delta_acc * rho + (delta * delta) * one_minus_rho)
        variable.add_(delta * lr)


class Adamax(_MomentOptimizer):
    """Keras's ``Adamax`` (defaults: learning_rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7).

    ``m += (g - m)(1 - beta_1)``; ``u = max(beta_2 u, |g|)``; ``w -= lr m / ((1 - beta_1^t)(u + eps))``
    (``torch.optim.Adamax`` adds eps inside the max instead and its default rate is 0.002).

    Example:
        >>> import torch
        >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = Adamax([w], learning_rate=0.1)
        >>> w.grad = torch.tensor([0.5, -0.5]); opt.step()
        >>> w.detach()
        tensor([ 0.9000, -1.9000])
    """

    _keras_name = "adamax"

    def update_step(self, gradient, variable, lr, group, state):
        dt = variable.dtype
        beta_1_power = self._decay_power(group, "beta_1", dt)
        m, u = _buffer(state, "momentum", variable), _buffer(state, "norm", variable)
        if isinstance(gradient, _Slices):  # Keras on row slices: |g| per occurrence, then their sum
            gradient, magnitude = gradient.dense(), gradient.dense(gradient.values.abs())
        else:
            magnitude = gradient.abs()
        m.add_((gradient - m) * _scalar(1 - group["beta_1"], dt))
        u.copy_(torch.maximum(u * _scalar(group["beta_2"], dt), magnitude))
        variable.sub_((m * lr) / ((1 - beta_1_power) * (u + _scalar(group["epsilon"], dt))))


class Nadam(_MomentOptimizer):
    """Keras's ``Nadam`` (defaults: learning_rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7): Adam with
    Nesterov momentum and Dozat's momentum schedule ``u_t = beta_1 (1 - 0.5 * 0.96^t)``, whose running product
    Keras keeps in one variable of the first parameter's dtype. ``torch.optim.Nadam`` uses
    ``momentum_decay=0.004`` (``0.96 ** (t * 0.004)``), eps 1e-8 and rate 0.002 by default.

    Example:
        >>> import torch
        >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = Nadam([w], learning_rate=0.1)
        >>> w.grad = torch.tensor([0.5, -0.5]); opt.step()
        >>> w.detach()
        tensor([ 0.8937, -1.8937])
    """

    _keras_name = "nadam"

    def _before_updates(self, pairs):
        # one product per parameter group (each group is one Keras optimizer: its beta_1, the dtype of its first
        # variable); kept in the state under the group's index, so state_dict carries it
        for index, group in enumerate(self.param_groups):
            dt = group["params"][0].dtype if group["params"] else self._floatx
            key = f"u_product_{index}"
            product = self.state.get(key)
            if product is None:
                product = _t(1.0, dt)
            step = _t(float(self.iterations + 1), dt)
            # Keras's Python beta_1 enters the product rounded to its dtype (float16/bfloat16 too)
            self.state[key] = product * _scalar(group["beta_1"], dt) * (1.0 - 0.5 * torch.pow(_t(0.96, dt), step))

    def _group_index(self, group: dict) -> int:
        return next(i for i, g in enumerate(self.param_groups) if g is group)

    def update_step(self, gradient, variable, lr, group, state):
        dt = variable.dtype
        local_step, next_step = _t(float(self.iterations + 1), dt), _t(float(self.iterations + 2), dt)
        decay = _t(_cast(0.96, dt), dt)
        beta_1, beta_2 = _t(_cast(group["beta_1"], dt), dt), _t(_cast(group["beta_2"], dt), dt)
        u_t = beta_1 * (1.0 - 0.5 * torch.pow(decay, local_step))
        u_t_1 = beta_1 * (1.0 - 0.5 * torch.pow(decay, next_step))
        u_product_t = self.state[f"u_product_{self._group_index(group)}"].to(dt)
        u_product_t_1 = u_product_t * u_t_1
        beta_2_power = torch.pow(beta_2, local_step)
        m, v = _buffer(state, "momentum", variable), _buffer(state, "velocity", variable)
        if isinstance(gradient, _Slices):  # Keras on row slices: the scalar products per occurrence
            current = gradient.dense(((1 - u_t) * gradient.values) / (1 - u_product_t))
        else:
            current = ((1 - u_t) * gradient) / (1 - u_product_t)
        gradient, square = _summed_and_squared(gradient)
        m.add_((gradient - m) * (1 - beta_1))
        v.add_((square - v) * (1 - beta_2))
        m_hat = (u_t_1 * m) / (1 - u_product_t_1) + current
        v_hat = v / (1 - beta_2_power)
        eps = _scalar(group["epsilon"], dt)
        if eps == 0:  # fit: Grappler drops "+ 0" and turns x / sqrt(v) into x * rsqrt(v)
            variable.sub_((m_hat * lr) * _rsqrt(v_hat))
        else:
            variable.sub_((m_hat * lr) / (tf_sqrt(v_hat) + eps))


class Lion(KerasOptimizer):
    """Keras's ``Lion`` (defaults: learning_rate 0.001, beta_1 0.9, beta_2 0.99): ``w -= lr sign(beta_1 m +
    (1 - beta_1) g)``; ``m = beta_2 m + (1 - beta_2) g``.

    Example:
        >>> import torch
        >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = Lion([w], learning_rate=0.1)
        >>> w.grad = torch.tensor([0.5, -0.5]); opt.step()
        >>> w.detach()
        tensor([ 0.9000, -1.9000])
    """

    _keras_name = "lion"

    def __init__(self, params, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.99, **kwargs):
        if isinstance(beta_1, bool) or not (isinstance(beta_1, (int, float)) and 0 < beta_1 <= 1):
            raise ValueError("Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer degenerates "
                             f"to SignSGD. Received: beta_1={beta_1}.")
        _check_unit(beta_2, "beta_2", closed_high=True)
        super().__init__(params, dict(beta_1=beta_1, beta_2=beta_2), learning_rate, **kwargs)

    def update_step(self, gradient, variable, lr, group, state):
        dt = variable.dtype
        beta_1, beta_2 = _t(_cast(group["beta_1"], dt), dt), _t(_cast(group["beta_2"], dt), dt)
        m = _buffer(state, "momentum", variable)
        if isinstance(gradient, _Slices):  # the products per occurrence, densified by the sums
            g1, g2 = gradient.dense(gradient.values * (1.0 - beta_1)), gradient.dense(gradient.values * (1.0 - beta_2))
        else:
            g1, g2 = gradient * (1.0 - beta_1), gradient * (1.0 - beta_2)
        update = m * beta_1 + g1
        variable.sub_(torch.where(torch.isnan(update), update, torch.sign(update)) * lr)  # TF's sign(NaN) is NaN
        m.copy_(m * beta_2 + g2)


class Lamb(_MomentOptimizer):
    """Keras's ``Lamb`` (defaults: learning_rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7): Adam's
    bias-corrected update ``u = m_hat / (sqrt(v_hat) + eps)`` scaled per parameter by the trust ratio
    ``||w|| / ||u||`` (1 where either norm is 0); the norms sum in TensorFlow's order.

    Example:
        >>> import torch
        >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = Lamb([w], learning_rate=0.1)
        >>> w.grad = torch.tensor([0.5, -0.5]); opt.step()
        >>> w.detach()
        tensor([ 0.8419, -1.8419])
    """

    _keras_name = "lamb"

    def update_step(self, gradient, variable, lr, group, state):
        dt = variable.dtype
        beta_1_power, beta_2_power = self._decay_power(group, "beta_1", dt), self._decay_power(group, "beta_2", dt)
        m, v = _buffer(state, "momentum", variable), _buffer(state, "velocity", variable)
        gradient, square = _summed_and_squared(gradient)
        m.add_((gradient - m) * _scalar(1 - group["beta_1"], dt))
        v.add_((square - v) * _scalar(1 - group["beta_2"], dt))
        m_hat, v_hat = m / (1.0 - beta_1_power), v / (1.0 - beta_2_power)
        eps = _scalar(group["epsilon"], dt)
        # fit: Grappler drops "+ 0" and turns x / sqrt(v) into x * rsqrt(v)
        update = m_hat * _rsqrt(v_hat) if eps == 0 else m_hat / (tf_sqrt(v_hat) + eps)
        w_norm = tf_sqrt(_sum(variable * variable))
        g_norm = tf_sqrt(_sum(update * update))
        one = torch.ones((), dtype=dt)
        ratio = torch.where(w_norm > 0, torch.where(g_norm > 0, w_norm / g_norm, one), one)
        variable.sub_(ratio * lr * update)


class Ftrl(KerasOptimizer):
    """Keras's ``Ftrl`` (defaults: learning_rate 0.001, learning_rate_power -0.5, initial_accumulator_value
    0.1, l1/l2/l2-shrinkage regularization 0, beta 0): follow-the-regularized-leader with per-coordinate rates,
    as ``fit`` computes it (Grappler turns ``pow(a, 0.5)`` into ``sqrt(a)``). A ``learning_rate_power`` other
    than -0.5, -1 or 0 goes through TensorFlow's vectorized ``pow`` (Eigen's own algorithm), which differs from
    torch's by an ulp on some entries. No torch counterpart.

    Example:
        >>> import torch
        >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = Ftrl([w], learning_rate=0.1)
        >>> w.grad = torch.tensor([0.5, -0.5]); opt.step()
        >>> w.detach()
        tensor([ 0.3810, -0.8464])
    """

    _keras_name = "ftrl"

    def __init__(self, params, learning_rate: float = 0.001, learning_rate_power: float = -0.5,
                 initial_accumulator_value: float = 0.1, l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0, l2_shrinkage_regularization_strength: float = 0.0,
                 beta: float = 0.0, **kwargs):
        for name, value, sign in (("initial_accumulator_value", initial_accumulator_value, 1),
                                  ("learning_rate_power", learning_rate_power, -1),
                                  ("l1_regularization_strength", l1_regularization_strength, 1),
                                  ("l2_regularization_strength", l2_regularization_strength, 1),
                                  ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength, 1),
                                  ("beta", beta, 0)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value * sign < 0:
                need = {1: "positive or zero", -1: "negative or zero", 0: "a finite number"}[sign]
                raise ValueError(f"`{name}` needs to be {need}. Received: {name}={value!r}.")
        super().__init__(params, dict(learning_rate_power=learning_rate_power,
                                      initial_accumulator_value=initial_accumulator_value,
                                      l1_regularization_strength=l1_regularization_strength,
                                      l2_regularization_strength=l2_regularization_strength,
                                      l2_shrinkage_regularization_strength=l2_shrinkage_regularization_strength,
                                      beta=beta), learning_rate, **kwargs)

    @staticmethod
    def _power(x: torch.Tensor, exponent: float) -> torch.Tensor:
        """``ops.power(x, exponent)`` as ``fit`` runs it: Grappler's ``pow(x, 0.5)`` is ``sqrt(x)``, and
        ``pow(x, 1)`` is ``x``."""
        if exponent == 0.5:
            return tf_sqrt(x)
        if exponent == 1.0:
            return x
        return torch.pow(x, exponent)  # TensorFlow's vectorized pow is Eigen's own: an ulp apart here and there

    def update_step(self, gradient, variable, lr, group, state):
        dt = variable.dtype
        if "accumulator" not in state:
            state["accumulator"] = torch.full_like(variable, _cast(group["initial_accumulator_value"], dt))
        accum, linear = state["accumulator"], _buffer(state, "linear", variable)
        power = -group["learning_rate_power"]
        lr_t = _t(lr, dt)
        # Keras's Python numbers enter its ops rounded to the variable's dtype (float16/bfloat16 too)
        l2_reg = _scalar(group["l2_regularization_strength"], dt) + _scalar(group["beta"], dt) / (2.0 * lr_t)
        gradient, square = _summed_and_squared(gradient)
        grad = gradient + _scalar(2 * group["l2_shrinkage_regularization_strength"], dt) * variable
        new_accum = accum + square
        new_power = self._power(new_accum, power)
        linear.add_(grad - ((new_power - self._power(accum, power)) / lr_t) * variable)
        quadratic = new_power / lr_t + 2 * l2_reg
        l1 = _scalar(group["l1_regularization_strength"], dt)
        variable.copy_((torch.clamp(linear, -l1, l1) - linear) / quadratic)
        accum.copy_(new_accum)


class Adafactor(KerasOptimizer):
    """Keras's ``Adafactor`` (defaults: learning_rate 0.001, beta_2_decay -0.8, epsilon_1 1e-30, epsilon_2 1e-3,
    clip_threshold 1.0, relative_step True): the second moment of a parameter of rank >= 2 kept factored, as a
    mean over its last axis ``r`` and over its second-to-last axis ``c``, ``v = (r / mean(r)) c``; of a lower
    rank in full. With ``beta = 1 - t^beta_2_decay`` and ``g2 = g^2 + epsilon_1``: ``r = beta r + (1 - beta)
    mean(g2, -1)``, likewise ``c``; ``u = g / sqrt(v)``, clipped to an RMS of ``clip_threshold``; ``w -= max(
    epsilon_2, rms(w)) min(lr, 1 / sqrt(t)) u``. The means and RMSs sum in TensorFlow's order
    (:func:`torch_impl._ops.tf_mean`).

    As in Keras 3.15.1, the step size is ``min(lr, 1 / sqrt(t))`` whatever ``relative_step`` says (Keras takes
    that minimum twice when it is True, once when it is False). ``torch.optim.Adafactor`` (torch >= 2.5) runs
    the same algorithm with its own reduction orders and epsilons (it clamps by the dtype's machine epsilon
    where Keras adds ``epsilon_1``) and a default rate of 0.01: close to Keras (a ``fit`` of
    ``parity_tests/test_optim_adafactor_keras.py``: 5.7e-12 in float64), not bit for bit, and without Keras's
    EMA, gradient clipping, accumulation and loss-scale options.

    Example:
        >>> import torch
        >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = Adafactor([w], learning_rate=0.1)
        >>> w.grad = torch.tensor([0.5, -0.5]); opt.step()
        >>> w.detach()
        tensor([ 0.8419, -1.8419])
    """

    _keras_name = "adafactor"
    _row_slices = False

    def __init__(self, params, learning_rate: float = 0.001, beta_2_decay: float = -0.8, epsilon_1: float = 1e-30,
                 epsilon_2: float = 1e-3, clip_threshold: float = 1.0, relative_step: bool = True, **kwargs):
        for name, value, positive in (("beta_2_decay", beta_2_decay, False), ("epsilon_1", epsilon_1, False),
                                      ("epsilon_2", epsilon_2, False), ("clip_threshold", clip_threshold, True)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or (name != "beta_2_decay" and not (value > 0 if positive else value >= 0)):
                need = "a finite number" if name == "beta_2_decay" else \
                    ("a finite number > 0" if positive else "a finite number >= 0")
                raise ValueError(f"`{name}` must be {need}. Received: {name}={value!r}.")
        super().__init__(params, dict(beta_2_decay=beta_2_decay, epsilon_1=epsilon_1, epsilon_2=epsilon_2,
                                      clip_threshold=clip_threshold, relative_step=bool(relative_step)),
                         learning_rate, **kwargs)

    @staticmethod
    def _rms(x: torch.Tensor) -> torch.Tensor:
        return tf_sqrt(tf_mean(x * x))

    def update_step(self, gradient, variable, lr, group, state):
        dt = variable.dtype
        step = _t(float(self.iterations + 1), dt)
        inverse_root = 1.0 / tf_sqrt(step)
        rho = torch.minimum(_t(lr, dt), inverse_root)  # Keras: lr = min(lr, 1/sqrt(t)) first, a no-op here
        alpha = torch.maximum(_t(_cast(group["epsilon_2"], dt), dt), self._rms(variable)) * rho
        square = gradient * gradient + _scalar(group["epsilon_1"], dt)
        decay = group["beta_2_decay"]
        # fit: Grappler's pow(t, -0.5) is rsqrt(t), pow(t, 0.5) sqrt(t)
        power = 1.0 / tf_sqrt(step) if decay == -0.5 else tf_sqrt(step) if decay == 0.5 else \
            torch.pow(step, _t(decay, dt))
        beta = 1.0 - power
        if variable.dim() >= 2:
            r, c = state.get("r"), state.get("c")
            if r is None:
                r = state["r"] = variable.new_zeros(variable.shape[:-1])
                c = state["c"] = variable.new_zeros(variable.shape[:-2] + variable.shape[-1:])
            r.copy_(beta * r + (1.0 - beta) * tf_mean(square, -1))
            c.copy_(beta * c + (1.0 - beta) * tf_mean(square, -2))
            v = (r / tf_mean(r, -1, keepdims=True)).unsqueeze(-1) * c.unsqueeze(-2)
        else:
            v = _buffer(state, "velocity", variable)
            v.copy_(beta * v + (1.0 - beta) * square)
        update = gradient * _rsqrt(v)  # fit: x / sqrt(y) -> x * rsqrt(y)
        clip = self._rms(update) * _reciprocal(group["clip_threshold"], dt, update.device)  # fit: x / c -> x * (1/c)
        update = update / torch.maximum(torch.ones((), dtype=dt), clip)
        variable.sub_(alpha * update)


class ScheduleFreeAdamW(KerasOptimizer):
    """Keras's ``ScheduleFreeAdamW`` (defaults: learning_rate 0.0025, beta_1 0.9, beta_2 0.999, epsilon 1e-8,
    warmup_steps 0; Defazio et al., 2024): the weights are ``y = (1 - beta_1) z + beta_1 x``, where ``z`` (Keras's
    ``momentum``, starting at the weights) takes the Adam-preconditioned step ``z -= lr g / (sqrt(v / (1 -
    beta_2^t)) + eps)`` and ``x``, the average of the ``z``s, is recovered from the weights as ``(y - (1 -
    beta_1) z) / beta_1``; the rate ramps up linearly over ``warmup_steps``. As in Keras, the weights stay the
    interpolation ``y`` (Keras has no switch to ``x`` for evaluation; ``x`` is ``(w - (1 - beta_1) z) /
    beta_1``), and ``beta_1``, ``beta_2`` and ``epsilon`` carry float32 rounding (``ops.cast``). Keras 3.15.1
    recovers ``x`` with the ``z`` of after the step (its ``momentum_old`` is the variable, read after the
    update), where the paper uses the ``z`` of before; followed here. Keras's ``model.fit`` on TensorFlow
    builds the optimizer in the first trace of its step, which TensorFlow only uses to create variables, so its
    copy of the weights into the momentum never runs: in every dtype (float16, bfloat16 too) ``z`` starts at 0,
    and the first step sets every weight to about ``+-lr`` (the model restarts from near zero) unless the
    optimizer was built first (``optimizer.build(model.trainable_variables)`` before ``fit``, or a custom
    loop); torch_impl starts from the weights, as Keras's optimizer built that way does (README, "Where we
    deliberately differ").
    ``torch.optim`` has no schedule-free optimizer (the ``schedulefree`` package's ``AdamWScheduleFree``
    differs: ``train()``/``eval()`` swap the weights, a warmup-weighted average, its own decay).

    Example:
        >>> import torch
        >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = ScheduleFreeAdamW([w], learning_rate=0.1)
        >>> w.grad = torch.tensor([0.5, -0.5]); opt.step()
        >>> w.detach()  # at the first step the weights are the momentum's: 1 - 0.1 * 0.5 / |0.5|
        tensor([ 0.9000, -1.9000])
        >>> w.grad = torch.tensor([0.5, -0.5]); opt.step()
        >>> w.detach()
        tensor([ 0.8500, -1.8500])
    """

    _keras_name = "schedule_free_adam_w"

    def _before_updates(self, pairs: list) -> None:
        """Keras's ``build`` at the first ``apply`` (before the weight decay): every parameter's momentum starts
        as a copy of its weights then."""
        for p in self._all_params():
            if "momentum" not in self.state[p]:
                self.state[p]["momentum"] = p.detach().clone()

    def __init__(self, params, learning_rate: float = 0.0025, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, warmup_steps: int = 0, **kwargs):
        if isinstance(beta_1, bool) or not (isinstance(beta_1, (int, float)) and 0 < beta_1 <= 1):
            raise ValueError(f"`beta_1` must be in (0, 1] (the weights are divided by it). Received: "
                             f"beta_1={beta_1!r}")
        _check_unit(beta_2, "beta_2")
        _check_epsilon(epsilon)
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
            raise ValueError(f"`warmup_steps` must be an integer >= 0. Received: warmup_steps={warmup_steps!r}")
        super().__init__(params, dict(beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, warmup_steps=warmup_steps),
                         learning_rate, **kwargs)

    def update_step(self, gradient, variable, lr, group, state):
        dt = variable.dtype
        step = _t(float(self.iterations + 1), dt)
        beta_1, beta_2 = _t(_cast(group["beta_1"], dt), dt), _t(_cast(group["beta_2"], dt), dt)
        eps = _cast(group["epsilon"], dt)
        lr_t = _t(lr, dt)
        if group["warmup_steps"] > 0:  # fit: step / warmup_steps -> step * (1 / warmup_steps)
            lr_t = lr_t * torch.minimum(step * _reciprocal(group["warmup_steps"], dt, "cpu"), _t(1.0, dt))
        z, v = state["momentum"], _buffer(state, "velocity", variable)
        correction = 1.0 - torch.pow(beta_2, step)
        v.add_((_summed_and_squared(gradient)[1] - v) * (1.0 - beta_2))
        if isinstance(gradient, _Slices):
            # Keras on row slices: each occurrence's lr g divided by its row's denominator and scattered out of the
            # momentum in turn
            denominator = tf_sqrt(v / correction) + eps
            gradient.scatter_sub(z, (lr_t * gradient.values) / denominator[gradient.indices])
        elif eps == 0:  # fit: Grappler drops "+ 0" and turns x / sqrt(y) into x * rsqrt(y)
            z.sub_((lr_t * gradient) * _rsqrt(v / correction))
        else:
            z.sub_((lr_t * gradient) / (tf_sqrt(v / correction) + eps))
        weight = 1.0 / step
        one_minus_beta_1 = 1.0 - beta_1
        # Keras's momentum_old is the momentum variable itself (read after its update), so x is recovered with
        # the new z; fit divides by the constant beta_1 as a product with its reciprocal
        # x_old = (variable - one_minus_beta_1 * z) * torch.reciprocal(beta_1), and in fit Grappler multiplies
        # the two scalars of (1 - weight) * (d * r) first (MinimizeBroadcasts), unless d is 0-d too
        d, r = variable - one_minus_beta_1 * z, torch.reciprocal(beta_1)
        if _scalars_first(variable, False):
            x_new = ((1.0 - weight) * r) * d + weight * z
        else:
            x_new = (1.0 - weight) * (d * r) + weight * z
        variable.copy_(one_minus_beta_1 * z + beta_1 * x_new)


class Muon(KerasOptimizer):
    """Keras's ``Muon`` (defaults: learning_rate 0.001, momentum 0.95, nesterov, 5 Newton-Schulz steps with
    ``(a, b, c) = (3.4445, -4.7750, 2.0315)``, ``rms_rate`` 0.2, weight_decay 0.004; AdamW with adam_beta_1 0.9,
    adam_beta_2 0.999, epsilon 1e-7, adam_weight_decay 0.004, adam_lr_ratio 1).

    A 2-D parameter takes Muon's step: ``m += g + (momentum - 1) m``; ``u = g + momentum m`` (or ``m`` without
    ``nesterov``); ``u`` orthogonalised by ``ns_steps`` quintic Newton-Schulz iterations of ``u / (||u||_F +
    1e-7)`` (on ``u^T`` when it has more rows than columns); ``w -= lr u sqrt(max(rows, cols)) rms_rate``
    (``rms_rate=None``: without the factor). Every other parameter takes Keras's Adam step at ``lr *
    adam_lr_ratio`` with ``adam_weight_decay``: those not 2-D, and, as Keras decides by a variable's path,
    those whose name contains ``"embedding"`` (any case; with ``exclude_embeddings``) or matches a regular
    expression of ``exclude_layers``. Names come from the parameters given with their names
    (``Muon(model.named_parameters())``; torch >= 2.6 keeps them in ``param_groups``): name a torch
    ``nn.Embedding`` module with "embedding" in it (Keras's ``Embedding`` layer path has it), or list it in
    ``exclude_layers``. ``exclude_layers`` without names raises ``ValueError``. An ``nn.Embedding(sparse=True)``
    gradient (Keras's row slices) takes Keras's row-sparse AdamW step, as :class:`Adam`'s. The weight decay is decoupled as
    in Keras: ``w -= w * wd * lr`` with the full rate, ``adam_weight_decay`` for the Adam parameters.

    The norm sums in TensorFlow's order; the Newton-Schulz matrix products are torch's (TensorFlow multiplies in
    its own order): within about 1e-15 (float64) / 1e-6 (float32) of the largest entry per step, not bit for
    bit (``parity_tests/test_optim_muon_keras.py``). ``torch.optim.Muon`` (torch >= 2.9) takes 2-D parameters
    only and by default another step (weight decay 0.1, the rate scaled by ``sqrt(max(1, rows / cols))``:
    2.7e-2 of the largest entry off Keras after 6 steps); with ``weight_decay=0`` and
    ``adjust_lr_fn="match_rms_adamw"`` it is Keras's step to bfloat16 rounding (its Newton-Schulz iterations
    run in bfloat16: 2.9e-4 off).

    Example:
        >>> import torch
        >>> w = torch.nn.Parameter(torch.tensor([[1.0, -2.0], [0.5, 0.0]]))
        >>> opt = Muon([w], learning_rate=0.1, weight_decay=None)
        >>> w.grad = torch.tensor([[0.5, -0.5], [0.0, 1.0]]); opt.step()
        >>> w.detach()
        tensor([[ 0.9726, -1.9951],
                [ 0.4887, -0.0210]])
    """

    _keras_name = "muon"

    def __init__(self, params, learning_rate: float = 0.001, adam_beta_1: float = 0.9, adam_beta_2: float = 0.999,
                 adam_weight_decay: Optional[float] = 0.004, epsilon: float = 1e-7,
                 weight_decay: Optional[float] = 0.004, exclude_layers: Optional[list] = None,
                 exclude_embeddings: bool = True, muon_a: float = 3.4445, muon_b: float = -4.7750,
                 muon_c: float = 2.0315, adam_lr_ratio: float = 1, momentum: float = 0.95, ns_steps: int = 5,
                 nesterov: bool = True, rms_rate: Optional[float] = 0.2, **kwargs):
        _check_unit(adam_beta_1, "adam_beta_1")
        _check_unit(adam_beta_2, "adam_beta_2")
        _check_epsilon(epsilon)
        _check_unit(momentum, "momentum", closed_high=True)
        if isinstance(ns_steps, bool) or not isinstance(ns_steps, int) or ns_steps < 0:
            raise ValueError(f"`ns_steps` must be an integer >= 0. Received: ns_steps={ns_steps!r}")
        for name, value in (("muon_a", muon_a), ("muon_b", muon_b), ("muon_c", muon_c),
                            ("adam_lr_ratio", adam_lr_ratio), ("rms_rate", rms_rate),
                            ("adam_weight_decay", adam_weight_decay)):
            if value is None and name in ("rms_rate", "adam_weight_decay"):
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or \
                    (name in ("adam_lr_ratio", "rms_rate", "adam_weight_decay") and value < 0):
                raise ValueError(f"`{name}` must be a finite number{' >= 0' if name[0] in 'ar' else ''}. "
                                 f"Received: {name}={value!r}")
        layers = list(exclude_layers or [])
        if not all(isinstance(k, str) for k in layers):
            raise ValueError(f"`exclude_layers` must be a list of strings (regular expressions). Received: "
                             f"{exclude_layers!r}")
        self._names: dict[int, str] = {}  # filled as the groups are added (add_param_group)
        super().__init__(params, dict(adam_beta_1=adam_beta_1, adam_beta_2=adam_beta_2, epsilon=epsilon,
                                      adam_weight_decay=adam_weight_decay, muon_a=muon_a, muon_b=muon_b,
                                      muon_c=muon_c, adam_lr_ratio=adam_lr_ratio, momentum=momentum,
                                      ns_steps=ns_steps, nesterov=bool(nesterov), rms_rate=rms_rate),
                         learning_rate, weight_decay=weight_decay, **kwargs)
        self.exclude_layers, self.exclude_embeddings = layers, bool(exclude_embeddings)
        if layers and not self._names:
            raise ValueError("`exclude_layers` matches parameter names, and these parameters have none: pass "
                             "`model.named_parameters()` (torch >= 2.6 keeps the names).")

    def add_param_group(self, param_group: dict) -> None:
        """As torch's; the names of its parameters (given as ``named_parameters()``) kept for Keras's path
        rules, also for a group added later."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        self._names.update((id(p), name) for p, name in zip(group["params"], group.get("param_names") or ()))

    def uses_adam(self, p: torch.Tensor) -> bool:
        """Whether ``p`` takes the Adam step (Keras's ``_should_use_adamw``)."""
        if p.dim() != 2:
            return True
        name = self._names.get(id(p), "")
        if self.exclude_embeddings and "embedding" in name.lower():
            return True
        return any(re.search(keyword, name) for keyword in self.exclude_layers)

    def _weight_decay_of(self, p, group):
        if id(p) in self._no_weight_decay:
            return None
        return group["adam_weight_decay"] if self.uses_adam(p) else group["weight_decay"]

    def update_step(self, gradient, variable, lr, group, state):
        dt = variable.dtype
        m = _buffer(state, "momentum", variable)
        if self.uses_adam(variable):
            ratio = group["adam_lr_ratio"]
            if ratio != 1:  # Keras: the floatx rate times the ratio, in floatx (a float32 product by default)
                floatx = group.get("floatx", self._floatx)
                lr = _scalar(float(torch.tensor(self._rate(group), dtype=floatx) * torch.tensor(ratio, dtype=floatx)),
                             dt)
            adam = dict(beta_1=group["adam_beta_1"], beta_2=group["adam_beta_2"], epsilon=group["epsilon"],
                        amsgrad=False)
            # ratio 1: the rate given, as Keras's update_step(gradient, variable, learning_rate) takes it
            Adam.update_step(self, gradient, variable, lr, adam, state)
            return
        if isinstance(gradient, _Slices):  # an Embedding kept on Muon's step: ops.add densifies the rows
            gradient = gradient.dense()
        momentum = group["momentum"]
        m.add_(gradient + m * _scalar(momentum - 1, dt))
        g = gradient + _scalar(momentum, dt) * m if group["nesterov"] else m
        update = self._newton_schulz(g, group)
        floatx = group.get("floatx", self._floatx)
        if dt in _HALF:  # Keras: the floatx rate times a float16/bfloat16 update is floatx; assign_sub rounds it
            wide = torch.promote_types(floatx, dt)
            x = _scalar(self._rate(group), wide) * update.to(wide)
        else:
            x = lr * update
        if group["rms_rate"] is not None:
            # Keras: sqrt of the int32 max(rows, cols) in floatx, then cast to the parameter's dtype
            root = torch.sqrt(torch.tensor(float(max(x.shape[0], x.shape[1])), dtype=floatx)).to(x.dtype)
            x = x * root * _scalar(group["rms_rate"], x.dtype)
        variable.sub_(x.to(dt))

    @staticmethod
    def _newton_schulz(x: torch.Tensor, group: dict) -> torch.Tensor:
        """Keras's ``zeropower_via_newtonschulz5``."""
        dt = x.dtype
        a, b, c = (_scalar(group[k], dt) for k in ("muon_a", "muon_b", "muon_c"))
        tall = x.shape[-2] > x.shape[-1]
        if tall:
            x = x.transpose(-2, -1)
        x = x / (tf_sqrt(_sum(x * x)) + _scalar(1e-7, dt))
        for _ in range(group["ns_steps"]):
            gram = x @ x.transpose(-2, -1)
            x = a * x + (b * gram + (c * gram) @ gram) @ x
        return x.transpose(-2, -1) if tall else x


_BY_NAME = {cls.__name__.lower(): cls for cls in (Adam, AdamW, SGD, RMSprop, Adagrad, Adadelta, Adamax, Nadam, Lion,
                                                 Lamb, Ftrl, Adafactor, Muon, ScheduleFreeAdamW)}


def get(identifier, params) -> torch.optim.Optimizer:
    """Keras's ``keras.optimizers.get`` for ``params``: a name as ``compile(optimizer=...)`` takes it (the class
    name in any case: ``"adam"``, ``"RMSprop"``, ``"schedulefreeadamw"``; ``"lamb"`` too, which Keras's registry
    lacks) gives that optimizer with Keras's defaults; a serialized one (``keras.optimizers.serialize(opt)``:
    ``{"class_name": "Adam", "config": {...}}``, a schedule in its config included; a ``LossScaleOptimizer``
    with its inner one) gives it with that config; a torch optimizer is returned as is. ``params`` as for any torch optimizer (pass
    ``model.named_parameters()`` for :class:`Muon`'s name rules).

    Example:
        >>> import torch
        >>> opt = get("adam", torch.nn.Linear(2, 1).parameters())
        >>> type(opt).__name__, opt.learning_rate == torch.tensor(0.001).item()
        ('Adam', True)
    """
    if isinstance(identifier, torch.optim.Optimizer) or isinstance(identifier, LossScaleOptimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Could not interpret optimizer identifier: {identifier!r} (known: "
                             f"{', '.join(sorted(_BY_NAME))})")
        return cls(params)
    if isinstance(identifier, dict) and str(identifier.get("class_name", "")).lower() == "lossscaleoptimizer":
        config = dict(identifier.get("config") or {})
        inner = get(config.pop("inner_optimizer"), params)
        return LossScaleOptimizer(inner, **config)
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = _BY_NAME.get(str(identifier["class_name"]).lower())
        if cls is None:
            raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")
        config = dict(identifier.get("config") or {})
        rate = config.get("learning_rate")
        if isinstance(rate, dict):  # a serialized schedule
            from torch_impl import schedules

            config["learning_rate"] = schedules.get(rate)
        return cls(params, **config)  # the name as serialized, as Keras's deserialize keeps it
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r} (a name such as 'adam', a "
                     "serialized Keras optimizer, or a torch optimizer)")


class LossScaleOptimizer:
    """Keras's ``LossScaleOptimizer(inner_optimizer, initial_scale=2**15, dynamic_growth_steps=2000)``: dynamic
    loss scaling around a torch_impl optimizer (or a :class:`MultiOptimizer`, whose ``loss_scale_factor`` and its
    optimizers' it sets to ``None``, as Keras's), as Keras's ``mixed_float16`` training wraps its optimizer.

    :meth:`scale_loss` multiplies the loss by the current scale (``torch_impl.fit`` calls it before
    ``backward``, as Keras's trainer does). :meth:`step` checks every gradient: all finite, it divides them by the
    scale and steps the inner optimizer, then doubles the scale after ``dynamic_growth_steps`` finite steps in a
    row; any ``inf``/``NaN``, it skips the step (the inner optimizer's ``iterations`` does not advance) and
    halves the scale. The scale is a float32 value, as Keras's variable. ``torch.amp.GradScaler`` differs: it
    starts at 2**16, and ``growth_interval`` counts from its last backoff in another way.

    Example:
        >>> import torch
        >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = LossScaleOptimizer(SGD([w], learning_rate=0.1), initial_scale=8.0, dynamic_growth_steps=2)
        >>> opt.scale_loss(torch.tensor(1.5))
        tensor(12.)
        >>> w.grad = torch.tensor([float("inf"), 8.0]); opt.step(); opt.scale, opt.iterations
        (4.0, 0)
        >>> w.grad = torch.tensor([4.0, 4.0]); opt.step(); w.detach(), opt.iterations
        (tensor([ 0.9000, -2.1000]), 1)
    """

    _BASE_DEFAULTS = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
                      "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                      "loss_scale_factor": None, "gradient_accumulation_steps": None}

    def __init__(self, inner_optimizer: KerasOptimizer, initial_scale: float = 2.0**15,
                 dynamic_growth_steps: int = 2000, name: Optional[str] = None, **kwargs):
        if not kwargs.pop("dynamic", True):
            raise ValueError("LossScaleOptimizer no longer supports `dynamic=False`. Instead, simply set "
                             "`loss_scale_factor` directly on the `inner_optimizer`.")
        for arg, default in self._BASE_DEFAULTS.items():
            if arg in kwargs and kwargs.pop(arg) != default:
                raise ValueError(f"LossScaleOptimizer does not support `{arg}`. Instead, set `{arg}` on the "
                                 "`inner_optimizer`.")
        if kwargs:
            raise ValueError(f"LossScaleOptimizer does not support arguments: `{'`, `'.join(kwargs)}`.")
        if not isinstance(inner_optimizer, (KerasOptimizer, MultiOptimizer)):
            raise ValueError("LossScaleOptimizer wraps a torch_impl.optim optimizer or MultiOptimizer (Keras's inner "
                             f"optimizer), got {type(inner_optimizer).__name__}")
        if isinstance(dynamic_growth_steps, bool) or not isinstance(dynamic_growth_steps, int) \
                or dynamic_growth_steps < 1:
            raise ValueError(f"`dynamic_growth_steps` must be an integer >= 1. Received: {dynamic_growth_steps!r}")
        self.inner_optimizer = inner_optimizer
        self.initial_scale, self.dynamic_growth_steps = initial_scale, dynamic_growth_steps
        self.name = name or "loss_scale_optimizer"
        inner_optimizer.loss_scale_factor = None  # as Keras: the dynamic scale replaces it (a MultiOptimizer's too)
        self._scale = torch.tensor(initial_scale, dtype=torch.float32)
        self.step_counter = 0

    @property
    def scale(self) -> float:
        """The current loss scale (Keras's ``dynamic_scale``)."""
        return float(self._scale)

    @property
    def param_groups(self) -> list:
        return self.inner_optimizer.param_groups

    @property
    def state(self):
        return self.inner_optimizer.state

    @property
    def iterations(self) -> int:
        return self.inner_optimizer.iterations

    @property
    def learning_rate(self) -> float:
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self.inner_optimizer.learning_rate = value

    def scale_loss(self, loss: torch.Tensor) -> torch.Tensor:
        """``loss * scale``."""
        return loss * self._scale.to(loss.device, loss.dtype if loss.is_floating_point() else torch.float32)

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.inner_optimizer.zero_grad(set_to_none=set_to_none)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        params = [p for group in self.param_groups for p in group["params"] if p.grad is not None]
        # Keras's check_finite: one verdict for all the gradients (one host sync, not one per parameter)
        finite = bool(torch.stack([torch.isfinite(p.grad.coalesce().values() if p.grad.is_sparse else p.grad).all()
                                   for p in params]).all()) if params else True
        if not finite:  # skip the step, halve the scale
            self.step_counter = 0
            self._scale = self._scale * 0.5
            return loss
        for p in params:
            p.grad = p.grad / self._scale.to(p.grad.device, p.grad.dtype)
        self.inner_optimizer.step()
        if self.step_counter == self.dynamic_growth_steps - 1:
            self.step_counter = 0
            self._scale = self._scale * 2.0
        else:
            self.step_counter += 1
        return loss

    def finalize_variable_values(self, var_list=None) -> None:
        self.inner_optimizer.finalize_variable_values(var_list)

    def state_dict(self) -> dict:
        return {"inner": self.inner_optimizer.state_dict(), "scale": self.scale, "step_counter": self.step_counter}

    def load_state_dict(self, state: dict) -> None:
        self.inner_optimizer.load_state_dict(state["inner"])
        self._scale = torch.tensor(state["scale"], dtype=torch.float32)
        self.step_counter = int(state["step_counter"])


class MultiOptimizer:
    """Keras's ``MultiOptimizer``: each parameter stepped by one of several optimizers, e.g. an encoder by Adam and
    the rest by SGD. Build each optimizer on its own parameters (Keras's ``OptimizerMap`` or selector function
    chose them by variable path; here the parameter groups say it); ``step`` lets each optimizer apply its own
    parameters' gradients, with its own clipping, decay, schedule and step count, in the order given, and counts
    one step of its own (Keras's ``iterations``). ``loss_scale_factor`` (default ``None``) replaces those of the
    optimizers, as Keras's does, and :meth:`scale_loss` uses it. As in Keras, it has no ``learning_rate``
    (``AttributeError``; ``LearningRateScheduler`` and ``ReduceLROnPlateau`` set each optimizer's, as Keras's); a
    parameter in two optimizers raises ``ValueError`` (Keras maps each variable to one). ``fit`` takes it as any
    optimizer.

    Example:
        >>> import torch
        >>> encoder, head = torch.nn.Linear(3, 4), torch.nn.Linear(4, 2)
        >>> opt = MultiOptimizer([Adam(encoder.parameters(), learning_rate=1e-3),
        ...                       SGD(head.parameters(), learning_rate=0.1)])
        >>> [type(o).__name__ for o in opt.optimizers], opt.iterations
        (['Adam', 'SGD'], 0)
    """

    def __init__(self, optimizers, loss_scale_factor: Optional[float] = None, name: Optional[str] = None):
        self.optimizers = list(optimizers)
        if not self.optimizers:
            raise ValueError("MultiOptimizer needs at least one optimizer")
        seen: set = set()
        for opt in self.optimizers:
            if isinstance(opt, (MultiOptimizer, LossScaleOptimizer)):
                raise ValueError(f"{type(opt).__name__} cannot be used inside an MultiOptimizer.")
            if not isinstance(opt, torch.optim.Optimizer):
                raise ValueError(f"MultiOptimizer takes torch optimizers, got {type(opt).__name__}")
            ids = {id(p) for group in opt.param_groups for p in group["params"]}
            if ids & seen:
                raise ValueError("A parameter is in two of the MultiOptimizer's optimizers (Keras maps each variable "
                                 "to one optimizer).")
            seen |= ids
        if loss_scale_factor is not None and not (loss_scale_factor > 0 and math.isfinite(loss_scale_factor)):
            raise ValueError("`loss_scale_factor` must be a finite number > 0 or None. Received: "
                             f"loss_scale_factor={loss_scale_factor!r}")
        self.loss_scale_factor = loss_scale_factor  # Keras: it overrides the sub-optimizers' own
        self.name = name or "multi_optimizer"
        self.iterations = 0

    @property
    def loss_scale_factor(self) -> Optional[float]:
        return self._loss_scale_factor

    @loss_scale_factor.setter
    def loss_scale_factor(self, value: Optional[float]) -> None:
        """Set on every optimizer too, as Keras's setter does (a ``LossScaleOptimizer`` around it sets ``None``)."""
        self._loss_scale_factor = value
        for opt in self.optimizers:
            if isinstance(opt, KerasOptimizer):
                opt.loss_scale_factor = value

    @property
    def param_groups(self) -> list:
        return [group for opt in self.optimizers for group in opt.param_groups]

    @property
    def state(self) -> dict:
        merged: dict = {}
        for opt in self.optimizers:
            merged.update(opt.state)
        return merged

    @property
    def learning_rate(self):
        raise AttributeError("Learning rate cannot be accessed on a MultiOptimizer. Access the learning rate on the "
                             "individual sub-optimizers instead.")

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        raise AttributeError("Learning rate cannot be set on a MultiOptimizer. Set the learning rate on the "
                             "individual sub-optimizers instead.")

    def scale_loss(self, loss: torch.Tensor) -> torch.Tensor:
        return loss * self.loss_scale_factor if self.loss_scale_factor is not None else loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        for opt in self.optimizers:
            opt.zero_grad(set_to_none=set_to_none)

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if not any(p.grad is not None for group in self.param_groups for p in group["params"]):
            return loss  # Keras: no gradient, nothing applied
        for opt in self.optimizers:
            if any(p.grad is not None for group in opt.param_groups for p in group["params"]):
                opt.step()
        self.iterations += 1
        return loss

    def finalize_variable_values(self, var_list=None) -> None:
        """Each optimizer's, on its own parameters (of ``var_list`` when given), as Keras's."""
        wanted = None if var_list is None else {id(p) for p in var_list}
        for opt in self.optimizers:
            finalize = getattr(opt, "finalize_variable_values", None)
            if finalize is None:
                continue
            own = [p for group in opt.param_groups for p in group["params"]]
            finalize(own if wanted is None else [p for p in own if id(p) in wanted])

    def state_dict(self) -> dict:
        return {"optimizers": [opt.state_dict() for opt in self.optimizers], "iterations": self.iterations}

    def load_state_dict(self, state: dict) -> None:
        if len(state["optimizers"]) != len(self.optimizers):
            raise ValueError(f"state_dict of {len(state['optimizers'])} optimizers for {len(self.optimizers)}")
        for opt, s in zip(self.optimizers, state["optimizers"]):
            opt.load_state_dict(s)
        self.iterations = state["iterations"]


"""Keras's legacy backend (``K``, the module ``tensorflow.keras.backend``) in PyTorch, with TensorFlow's numbers.

Custom losses and metrics written for Keras 2 call the legacy backend: ``K.clip``, ``K.binary_crossentropy``,
``K.mean``, ``K.switch``... In Keras 3 (3.15.1) that name resolves to ``keras/src/legacy/backend.py``: thin
wrappers around TensorFlow ops. Replacing each ``K.x`` by the torch function of the same name silently changes
the numbers, for example:

* ``K.binary_crossentropy`` clips to ``[1e-7, 1 - 1e-7]`` *and* adds ``1e-7`` inside both logs (so it is not
  ``keras.losses.binary_crossentropy``, nor torch's ``binary_cross_entropy``, which caps the log at -100: a sure
  wrong prediction costs 15.42 in Keras, 100 in torch); it never looks for the logits behind a sigmoid.
* ``K.categorical_crossentropy`` divides by the sum over ``axis`` first and clips (of a ``K.softmax`` output too:
  16.12 at most, where ``keras.losses.categorical_crossentropy`` takes the softmax's logits and gives e.g. 102);
  the sparse one casts the labels to int (``1.9`` is class 1) and clips before its log.
* ``K.std`` / ``K.var`` are the population ones (``torch.std`` divides by ``N - 1``); ``K.mean`` of integers is an
  integer (truncated), of booleans a floatx.
* ``K.clip(x, lo, hi)`` with ``lo > hi`` gives ``lo`` (``torch.clamp`` gives ``hi``); ``None`` bounds are
  infinite; the gradient passes at the bounds.
* ``K.maximum`` / ``K.minimum`` give the whole gradient of a tie to the *first* argument (``torch.maximum``
  splits it in halves, ``torch.relu`` gives none): a triplet loss ``K.maximum(d_pos - d_neg + margin, 0.)``
  exactly at its margin trains differently.
* ``K.sqrt`` clamps negatives to 0 and its gradient is 0 wherever the incoming one is 0 (torch: NaN at 0);
  ``K.cumprod``'s gradient is 0 at a zero entry (TensorFlow's ``div_no_nan``); ``K.abs`` and ``K.sign`` keep a NaN.
* ``K.argmax`` skips NaN (torch returns the NaN's index); ``K.one_hot`` gives float32 rows of zeros for ids out of
  range (``F.one_hot`` gives int64 and raises); ``K.l2_normalize`` normalises over *all* axes by default
  (``F.normalize`` over ``dim=1``), as ``x * rsqrt(max(sum(x**2), 1e-12))``; ``K.hard_sigmoid`` is
  ``clip(0.2 x + 0.5, 0, 1)`` (``F.hardsigmoid`` is ``x / 6 + 0.5``); ``K.relu(x, alpha=0.1)`` uses
  ``float32(0.1)`` even in float64 (1.5e-8 relative off ``0.1 x``).
* Reductions over ``axis=[]`` reduce nothing (torch's ``sum(dim=[])`` reduces everything); ``K.max`` of an empty
  axis is ``-inf``; ``K.switch`` with a lower-rank condition appends axes to the condition (numpy broadcasting
  would prepend them).
* Python constants take the tensor's dtype (``K.epsilon()`` is exactly ``1e-7`` in a float64 model), but
  ``K.cast_to_floatx(0.1)`` and ``K.constant`` are floatx (float32) values.

This module is a torch port of those functions: same arguments, same values, and TensorFlow's gradients (ties,
bounds, zeros, NaN), in float32 and float64, checked against ``tf.keras.backend`` by
``parity_tests/test_keras_backend_keras.py``. A loss written with ``K`` ports by changing its import only::

    from torch_impl import keras_backend as K     # was K = tensorflow.keras.backend: the same loss, the same numbers

What stays torch: Python operators on tensors (``+``, ``*``, ``/``, ``**``, slicing) are torch's, which compute
what TensorFlow's do, to rounding. Where Keras raises on mixed dtypes (a float32 label times a float64
prediction) torch promotes.

The layers' ops take TensorFlow's layouts (channels last unless ``data_format='channels_first'``, kernels
``(*k, in, out)``) and its ``'same'`` padding (the odd pad at the end, with strides too): ``conv1d`` (also
``'causal'``), ``conv2d``, ``conv3d``, ``depthwise_conv2d``, ``separable_conv2d``, ``conv2d_transpose``, ``pool2d``,
``pool3d``, ``bias_add``, ``batch_normalization``, the paddings and ``resize_images``/``resize_volumes``. The CTC
functions of Keras 2's OCR and speech scripts are here: ``ctc_batch_cost`` (the blank is the LAST class; exact in
float64, where TensorFlow's kernel is float32 inside), ``ctc_decode`` (greedy, and TensorFlow's beam search step
for step) and ``ctc_label_dense_to_sparse``. The random draws (``random_normal``, ``random_uniform``,
``truncated_normal``, ``random_bernoulli``, the ``random_*_variable`` and ``dropout``) are TensorFlow's stateful
kernels: one generator per op, dtype and seed, moving on with each call until
``torch_impl.keras_random.set_random_seed`` (Keras's ``set_random_seed``) starts them over. ``rnn`` is Keras 2's
loop over time of a custom cell, with its masking rules; ``gradients`` is ``tf.gradients`` (differentiable, for
gradient penalties) and ``update``/``update_add``/``update_sub``/``moving_average_update`` write in place. ``floatx`` is
``torch.get_default_dtype()`` (``set_floatx`` sets it); ``epsilon`` is this module's own setting (1e-7). The
constants a loss makes (``K.variable(weights)``, ``K.constant``, ``K.ones``...) live on torch's default device:
for a model on a GPU make them under ``with torch.device("cuda"):`` (TensorFlow places them itself).

Keras 2 functions that Keras 3's legacy backend dropped are here with Keras 2's definition: ``logsumexp``
(``tf.reduce_logsumexp``). Augmented assignments in a field loss (``y_pred /= K.sum(y_pred, -1, True)``) rebind a
name in TensorFlow but write in place in torch: on a model output autograd then raises (rewrite as
``y_pred = y_pred / ...``).

Example (a Keras 2 focal loss, ported by its import; float64: 1e-7 is exact):
    >>> import torch
    >>> from torch_impl import keras_backend as K
    >>> def focal(y_true, y_pred, gamma=2.0, alpha=0.25):
    ...     y_pred = K.clip(y_pred, K.epsilon(), 1.0 - K.epsilon())
    ...     p_t = K.switch(K.equal(y_true, 1), y_pred, 1 - y_pred)
    ...     return K.mean(-alpha * K.pow(1.0 - p_t, gamma) * K.log(p_t), axis=-1)
    >>> y = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    >>> p = torch.tensor([[1.0, 0.25]], dtype=torch.float64, requires_grad=True)
    >>> loss = focal(y, p)
    >>> loss.backward()
    >>> print(f"{loss.item():.8f}", p.grad.tolist())   # p = 1 sits at the clip: no gradient there
    0.00224752 [[0.0, 0.02839679619490297]]
    >>> K.binary_crossentropy(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]))  # not torch's 100
    tensor([15.4249, 15.3332])
"""

from __future__ import annotations

import contextlib
import math
import numbers
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F

from torch_impl import _ops, _tf_random

__all__ = [
    # configuration
    "epsilon", "set_epsilon", "floatx", "set_floatx", "image_data_format", "set_image_data_format",
    # tensors and their attributes
    "cast", "cast_to_floatx", "constant", "variable", "zeros", "ones", "eye", "zeros_like", "ones_like", "arange",
    "shape", "int_shape", "ndim", "dtype", "count_params", "get_value", "batch_get_value", "eval", "set_value",
    "batch_set_value", "is_sparse", "to_dense", "name_scope",
    # element-wise math
    "abs", "sign", "round", "square", "sqrt", "exp", "log", "pow", "sin", "cos", "tanh", "sigmoid", "hard_sigmoid",
    "softplus", "softsign", "relu", "elu", "softmax", "clip", "maximum", "minimum",
    "equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "switch",
    # reductions
    "sum", "mean", "max", "min", "prod", "std", "var", "any", "all", "argmax", "argmin", "logsumexp", "cumsum",
    "cumprod", "l2_normalize", "in_top_k",
    # shapes
    "flatten", "batch_flatten", "reshape", "expand_dims", "squeeze", "concatenate", "stack", "permute_dimensions",
    "transpose", "tile", "repeat", "repeat_elements", "reverse", "gather", "one_hot", "dot", "batch_dot",
    "stop_gradient", "map_fn", "foldl", "foldr",
    # the layers' ops
    "conv1d", "conv2d", "conv3d", "depthwise_conv2d", "separable_conv2d", "conv2d_transpose", "pool2d", "pool3d",
    "bias_add", "batch_normalization", "temporal_padding", "spatial_2d_padding", "spatial_3d_padding",
    "resize_images", "resize_volumes",
    # CTC
    "ctc_label_dense_to_sparse", "ctc_batch_cost", "ctc_decode",
    # random draws (TensorFlow's stateful kernels)
    "random_normal", "random_uniform", "truncated_normal", "random_bernoulli", "random_normal_variable",
    "random_uniform_variable", "dropout",
    # the recurrent loop, gradients, variable updates
    "rnn", "gradients", "update", "update_add", "update_sub", "moving_average_update",
    # losses
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "binary_focal_crossentropy", "categorical_focal_crossentropy",
]

_py_abs, _py_all, _py_any, _py_max, _py_min, _py_round, _py_sum, _py_pow = abs, all, any, max, min, round, sum, pow

TensorLike = Union[torch.Tensor, np.ndarray, float, int, bool, Sequence]

# --------------------------------------------------------------------------------------------------------------
# configuration: epsilon (this module's), floatx (torch's default dtype), image data format
# --------------------------------------------------------------------------------------------------------------

_config = {"epsilon": _ops.EPSILON, "image_data_format": "channels_last"}


def epsilon() -> float:
    """``K.epsilon()``: the fuzz factor, a Python float (1e-7 unless :func:`set_epsilon` changed it)."""
    return _config["epsilon"]


def set_epsilon(value: float) -> None:
    """``K.set_epsilon(value)``: the value :func:`epsilon` returns (the crossentropies here read it per call)."""
    _config["epsilon"] = float(value)


def floatx() -> str:
    """``K.floatx()``: here the name of ``torch.get_default_dtype()`` (``'float32'`` unless set)."""
    return str(torch.get_default_dtype()).replace("torch.", "")


def set_floatx(value: str) -> None:
    """``K.set_floatx(value)``: ``torch.set_default_dtype`` (``'float16'``, ``'bfloat16'``, ``'float32'``,
    ``'float64'``)."""
    if value not in ("float16", "bfloat16", "float32", "float64"):
        raise ValueError(f"Unknown floatx type: {value!r}; expected 'float16', 'bfloat16', 'float32' or 'float64'")
    torch.set_default_dtype(getattr(torch, value))


def image_data_format() -> str:
    """``K.image_data_format()``: ``'channels_last'`` unless set."""
    return _config["image_data_format"]


def set_image_data_format(data_format: str) -> None:
    """``K.set_image_data_format(data_format)``."""
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(f"Unknown data_format: {data_format!r}")
    _config["image_data_format"] = data_format


# --------------------------------------------------------------------------------------------------------------
# conversions (TensorFlow's rules)
# --------------------------------------------------------------------------------------------------------------


def _torch_dtype(dt) -> Optional[torch.dtype]:
    """A dtype given as Keras takes it: a name (``'float32'``), a NumPy or torch dtype, Python ``float``/``bool``
    (TensorFlow: float32, bool) or ``None``."""
    if dt is None or isinstance(dt, torch.dtype):
        return dt
    if dt is float:
        return torch.float32
    if dt is bool:
        return torch.bool
    name = dt if isinstance(dt, str) else np.dtype(dt).name
    resolved = getattr(torch, name, None) if name != "float" else None
    if not isinstance(resolved, torch.dtype):
        raise ValueError(f"Unknown dtype {dt!r}")
    return resolved


def _t(x: TensorLike) -> torch.Tensor:
    """``tf.convert_to_tensor(x)`` (:func:`torch_impl._ops.tf_convert`: NumPy values keep their dtype, Python
    floats become float32 and Python ints int32, not floatx); a list of tensors is stacked, as TensorFlow packs it."""
    if isinstance(x, (list, tuple)) and x and _py_all(isinstance(v, torch.Tensor) for v in x):
        return torch.stack(list(x))
    return _ops.tf_convert(x)


def _like(value, ref: torch.Tensor) -> torch.Tensor:
    """A Python number (or array) converted to ``ref``'s dtype and device, as TensorFlow converts the other operand
    of a binary op; a tensor as it is."""
    if isinstance(value, torch.Tensor):
        return value
    return torch.as_tensor(np.asarray(value), dtype=ref.dtype, device=ref.device)


def _pair(x, y) -> tuple[torch.Tensor, torch.Tensor]:
    """Both operands of a binary op as tensors: a Python number takes the other one's dtype; two tensors of
    different floating dtypes compute in the wider one (TensorFlow raises)."""
    if not isinstance(x, torch.Tensor) and not isinstance(y, torch.Tensor):
        x = _t(x)
    if not isinstance(x, torch.Tensor):
        x = _like(x, y)
    if not isinstance(y, torch.Tensor):
        y = _like(y, x)
    if x.dtype != y.dtype:
        common = torch.promote_types(x.dtype, y.dtype)
        x, y = x.to(common), y.to(common)
    return x, y


def _bounds(dt: torch.dtype, eps: float) -> tuple[float, float]:
    """``epsilon_ = convert_to_tensor(eps, dt)`` and ``1 - epsilon_``, both computed in ``dt`` (Python floats that
    hold exactly those values)."""
    e = torch.tensor(eps, dtype=dt)
    return float(e), float(1.0 - e)


# --------------------------------------------------------------------------------------------------------------
# TensorFlow gradients torch does not give
# --------------------------------------------------------------------------------------------------------------


def _unbroadcast(grad: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    return grad if grad.shape == shape else grad.sum_to_size(shape)


class _TfMaxMin(torch.autograd.Function):
    """``tf.maximum`` / ``tf.minimum``: NaN propagates; the gradient of a tie goes to ``x`` whole
    (``x >= y`` / ``x <= y``), the rest to ``y`` (also where a NaN makes the comparison false). The value of a tie
    is ``y``'s, as TensorFlow's vectorised CPU kernel returns it: ``maximum(-0., 0.)`` is ``+0.`` (its scalar
    tail, the last ``n % 8`` float32 elements, returns ``x``'s ``-0.``), which decides ``K.sqrt``'s ``+inf``
    gradient at ``-0.``."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x, y, take_max):
        return torch.where(x == y, y, torch.maximum(x, y) if take_max else torch.minimum(x, y))

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, y, take_max = inputs
        ctx.take_max = take_max
        ctx.save_for_backward(x, y)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        mask = (x >= y) if ctx.take_max else (x <= y)
        zeros = torch.zeros_like(grad)
        gx = _unbroadcast(torch.where(mask, grad, zeros), x.shape) if ctx.needs_input_grad[0] else None
        gy = _unbroadcast(torch.where(mask, zeros, grad), y.shape) if ctx.needs_input_grad[1] else None
        return gx, gy, None


class _TfPowTensor(torch.autograd.Function):
    """``tf.pow(x, y)`` with a tensor exponent: ``dx = g y x**(y-1)``, ``dy = g z log(x)`` where ``x > 0``, else 0."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x, y):
        return torch.pow(x, y)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0], inputs[1], output)

    @staticmethod
    def backward(ctx, grad):
        x, y, z = ctx.saved_tensors
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = _unbroadcast(grad * y * torch.pow(x, y - 1), x.shape)
        if ctx.needs_input_grad[1]:
            mask = x > 0
            log_x = torch.where(mask, torch.log(torch.where(mask, x, torch.ones_like(x))), torch.zeros_like(x))
            gy = _unbroadcast(grad * z * log_x, y.shape)
        return gx, gy


class _TfSqrt(torch.autograd.Function):
    """``tf.sqrt``: correctly rounded on the CPU (``_ops.tf_sqrt``), gradient ``0.5 g / y`` and 0 where ``g == 0``
    (torch: ``0 / 0 = NaN`` at ``x = 0``)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x):
        return _ops.tf_sqrt(x.detach())

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(output)

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return torch.where(grad == 0, torch.zeros_like(grad), (0.5 * grad) / y)


class _TfCumprod(torch.autograd.Function):
    """``tf.math.cumprod``: TensorFlow's gradient ``div_no_nan(reverse_cumsum(cumprod(x) * g), x)``, 0 at a zero
    entry (torch's is the true derivative there)."""

    @staticmethod
    def forward(x, axis):
        return torch.cumprod(x, axis)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.axis = inputs[1]
        ctx.save_for_backward(inputs[0], output)

    @staticmethod
    def backward(ctx, grad):
        x, prod = ctx.saved_tensors
        out = torch.flip(torch.cumsum(torch.flip(prod * grad, (ctx.axis,)), ctx.axis), (ctx.axis,))
        zero = x == 0
        return torch.where(zero, torch.zeros_like(out), out / torch.where(zero, torch.ones_like(x), x)), None


class _TfSoftsign(torch.autograd.Function):
    """``tf.math.softsign``: ``x / (|x| + 1)``, gradient ``g / (|x| + 1)**2`` (TensorFlow's ``SoftsignGrad``)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x):
        return x / (torch.abs(x) + 1)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / torch.square(torch.abs(x) + 1)


def _maximum(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return _TfMaxMin.apply(x, y, True)


def _minimum(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return _TfMaxMin.apply(x, y, False)


def _clip_by_value(x: torch.Tensor, lo, hi) -> torch.Tensor:
    """``tf.clip_by_value``: ``maximum(minimum(x, hi), lo)``. With Python bounds ``lo <= hi`` that is
    ``torch.clamp`` (gradient inside the closed interval, 0 at NaN); otherwise the composition (``lo`` wins when
    ``lo > hi``; tensor bounds get their share of the gradient)."""
    if not isinstance(lo, torch.Tensor) and not isinstance(hi, torch.Tensor) and x.is_floating_point():
        lo_c, hi_c = (float(torch.tensor(v, dtype=x.dtype)) for v in (lo, hi))
        if lo_c <= hi_c:
            out = torch.clamp(x, lo_c, hi_c)
            # a -0. tied with a 0. bound becomes +0. (the tie's value is y's, see _TfMaxMin; a Python -0. bound is
            # +0. too in TensorFlow, whose eager constant cache does not tell -0. from 0.); an addition keeps the
            # gradient
            return out + 0.0 if lo_c == 0 or hi_c == 0 else out
    return _maximum(*_pair(_minimum(*_pair(x, hi)), lo))


# --------------------------------------------------------------------------------------------------------------
# tensors and their attributes
# --------------------------------------------------------------------------------------------------------------


def _floatx_dtype() -> torch.dtype:
    return torch.get_default_dtype()


def cast(x: TensorLike, dtype) -> torch.Tensor:
    """``K.cast(x, dtype)``: ``tf.cast`` (floats to integers truncate toward zero; the gradient passes between
    floating dtypes)."""
    return _t(x).to(_torch_dtype(dtype))


def cast_to_floatx(x: TensorLike) -> torch.Tensor:
    """``K.cast_to_floatx(x)``: ``x`` in floatx. Keras returns a NumPy array for a non-tensor; here a tensor, so
    that torch arithmetic is not handed to NumPy (a float32 ``0.1`` in a float64 model is
    ``0.10000000149011612`` in both)."""
    if isinstance(x, torch.Tensor):
        return x.to(_floatx_dtype())
    return torch.as_tensor(np.asarray(x, dtype=str(_floatx_dtype()).replace("torch.", "")),
                           device=torch.get_default_device())


def constant(value, dtype=None, shape=None, name=None) -> torch.Tensor:
    """``K.constant(value, dtype=floatx, shape=None)``: a scalar fills ``shape``, else it is a reshape. On torch's
    default device (``torch.set_default_device``), as :func:`variable`, :func:`zeros`, :func:`ones`..."""
    dt = _torch_dtype(dtype) or _floatx_dtype()
    t = torch.as_tensor(np.asarray(value.detach().cpu() if isinstance(value, torch.Tensor) else value), dtype=dt,
                        device=torch.get_default_device())
    if shape is not None:
        shape = tuple(shape) if not isinstance(shape, int) else (shape,)
        t = t.reshape(()).expand(shape).clone() if t.numel() == 1 else t.reshape(shape)
    return t


def variable(value, dtype=None, name=None, constraint=None) -> torch.Tensor:
    """``K.variable(value, dtype=floatx)``: a tensor holding a copy of ``value`` (no gradient: a loss's constant
    such as class weights; :func:`set_value` changes it in place)."""
    return constant(value, dtype=dtype).clone()


def zeros(shape, dtype=None, name=None) -> torch.Tensor:
    """``K.zeros(shape, dtype=floatx)``."""
    return torch.zeros(shape, dtype=_torch_dtype(dtype) or _floatx_dtype())


def ones(shape, dtype=None, name=None) -> torch.Tensor:
    """``K.ones(shape, dtype=floatx)``."""
    return torch.ones(shape, dtype=_torch_dtype(dtype) or _floatx_dtype())


def eye(size, dtype=None, name=None) -> torch.Tensor:
    """``K.eye(size, dtype=floatx)``."""
    return torch.eye(size, dtype=_torch_dtype(dtype) or _floatx_dtype())


def zeros_like(x: TensorLike, dtype=None, name=None) -> torch.Tensor:
    """``K.zeros_like(x, dtype=None)``."""
    x = _t(x)
    return torch.zeros_like(x, dtype=_torch_dtype(dtype) or x.dtype)


def ones_like(x: TensorLike, dtype=None, name=None) -> torch.Tensor:
    """``K.ones_like(x, dtype=None)``."""
    x = _t(x)
    return torch.ones_like(x, dtype=_torch_dtype(dtype) or x.dtype)


def arange(start, stop=None, step=1, dtype="int32") -> torch.Tensor:
    """``K.arange(start, stop=None, step=1, dtype='int32')``: one argument is the stop (a negative one gives an
    empty range)."""
    if stop is None:
        start, stop = 0, _py_max(start, 0)
    return torch.arange(start, stop, step).to(_torch_dtype(dtype))


def shape(x: TensorLike) -> torch.Tensor:
    """``K.shape(x)``: the shape as an int32 tensor."""
    return torch.tensor(tuple(_t(x).shape), dtype=torch.int32)


def int_shape(x) -> tuple:
    """``K.int_shape(x)``: the shape as a tuple of ints."""
    return tuple(int(d) for d in x.shape)


def ndim(x: TensorLike) -> int:
    """``K.ndim(x)``: the rank."""
    return _t(x).dim()


def dtype(x: TensorLike) -> str:
    """``K.dtype(x)``: the dtype's name, e.g. ``'float32'``."""
    return str(_t(x).dtype).replace("torch.", "")


def count_params(x: TensorLike) -> int:
    """``K.count_params(x)``: the number of elements."""
    return int(math.prod(_t(x).shape))


def get_value(x):
    """``K.get_value(x)``: a NumPy array (a non-tensor as it is)."""
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x


eval = get_value  # noqa: A001 - Keras's name


def batch_get_value(tensors) -> list:
    """``K.batch_get_value(tensors)``."""
    return [get_value(x) for x in tensors]


def set_value(x: torch.Tensor, value) -> None:
    """``K.set_value(x, value)``: ``value`` (cast to ``x``'s dtype) written into ``x`` in place."""
    with torch.no_grad():
        x.copy_(torch.as_tensor(np.asarray(value), dtype=x.dtype, device=x.device).expand_as(x))


def batch_set_value(tuples) -> None:
    """``K.batch_set_value([(x, value), ...])``."""
    for x, value in tuples:
        set_value(x, value)


def is_sparse(tensor) -> bool:
    """``K.is_sparse(tensor)``: a torch sparse tensor."""
    return isinstance(tensor, torch.Tensor) and tensor.is_sparse


def to_dense(tensor):
    """``K.to_dense(tensor)``."""
    return tensor.to_dense() if is_sparse(tensor) else tensor


def name_scope(name: str):
    """``K.name_scope(name)``: a context that does nothing here."""
    return contextlib.nullcontext()


# --------------------------------------------------------------------------------------------------------------
# element-wise math
# --------------------------------------------------------------------------------------------------------------


def abs(x: TensorLike) -> torch.Tensor:  # noqa: A001 - Keras's name
    """``K.abs``: gradient ``g * sign(x)`` (0 at 0, NaN at NaN)."""
    x = _t(x)
    return _ops.tf_abs(x) if x.is_floating_point() else torch.abs(x)


def sign(x: TensorLike) -> torch.Tensor:
    """``K.sign``: ``sign(NaN)`` is NaN (torch's is 0); no gradient (zeros)."""
    x = _t(x)
    s = torch.sign(x)
    return torch.where(torch.isnan(x), x.detach(), s) if x.is_floating_point() else s


def round(x: TensorLike) -> torch.Tensor:  # noqa: A001 - Keras's name
    """``K.round``: half to even (``round(0.5) = 0``, ``round(1.5) = 2``); no gradient (zeros)."""
    return torch.round(_t(x))


def square(x: TensorLike) -> torch.Tensor:
    """``K.square``."""
    return torch.square(_t(x))


def sqrt(x: TensorLike) -> torch.Tensor:
    """``K.sqrt``: ``sqrt(maximum(x, 0))``: 0 for a negative ``x`` (torch: NaN) with gradient 0 there; at ``x = 0``
    the gradient is ``inf`` (the tie of ``maximum`` goes to ``x``), or 0 where the incoming gradient is 0."""
    x = _t(x)
    return _TfSqrt.apply(_maximum(x, torch.zeros((), dtype=x.dtype, device=x.device)))


def exp(x: TensorLike) -> torch.Tensor:
    """``K.exp``."""
    return torch.exp(_t(x))


def log(x: TensorLike) -> torch.Tensor:
    """``K.log``: no clip (``log(0) = -inf``, gradient ``inf``)."""
    return torch.log(_t(x))


def pow(x: TensorLike, a) -> torch.Tensor:  # noqa: A001 - Keras's name
    """``K.pow(x, a)``: ``tf.pow``. Gradient ``g a x**(a-1)`` without torch's special case at ``a = 0`` (NaN at
    ``x = 0``); a tensor exponent gets ``g z log(x)`` where ``x > 0``, else 0."""
    x = _t(x)
    if isinstance(a, torch.Tensor):
        x, a = _pair(x, a)
        return _TfPowTensor.apply(x, a) if x.is_floating_point() else torch.pow(x, a)
    return _ops.tf_pow(x, a) if x.is_floating_point() else torch.pow(x, a)


def sin(x: TensorLike) -> torch.Tensor:
    """``K.sin``."""
    return torch.sin(_t(x))


def cos(x: TensorLike) -> torch.Tensor:
    """``K.cos``."""
    return torch.cos(_t(x))


def tanh(x: TensorLike) -> torch.Tensor:
    """``K.tanh``."""
    return torch.tanh(_t(x))


def sigmoid(x: TensorLike) -> torch.Tensor:
    """``K.sigmoid``: ``tf.sigmoid`` (no ``_keras_logits``: Keras's legacy sigmoid does not attach them)."""
    return torch.sigmoid(_t(x))


def hard_sigmoid(x: TensorLike) -> torch.Tensor:
    """``K.hard_sigmoid``: ``clip(0.2 x + 0.5, 0, 1)``, gradient 0.2 up to and including the bounds
    (``F.hardsigmoid`` is ``x / 6 + 0.5``)."""
    x = _t(x)
    return torch.clamp(x * 0.2 + 0.5, 0.0, 1.0)


def softplus(x: TensorLike) -> torch.Tensor:
    """``K.softplus``: TensorFlow's cut-offs and gradient ``sigmoid(x)``."""
    return _ops.tf_softplus(_t(x))


def softsign(x: TensorLike) -> torch.Tensor:
    """``K.softsign``: ``x / (|x| + 1)``."""
    return _TfSoftsign.apply(_t(x))


def relu(x: TensorLike, alpha: float = 0.0, max_value=None, threshold: float = 0.0) -> torch.Tensor:
    """``K.relu(x, alpha=0., max_value=None, threshold=0.)``, Keras's branches: leaky (``alpha`` alone: gradient
    ``alpha`` at 0, and ``alpha`` rounded to float32 even in float64, TensorFlow's attribute); ``max_value == 6``
    is ``relu6`` (gradient 0 at 6), any other ``max_value`` a clip (gradient 1 at ``max_value``); ``threshold``
    keeps ``x > threshold``."""
    x = _t(x)
    dt = x.dtype
    if alpha != 0.0:
        if max_value is None and threshold == 0:  # TensorFlow's LeakyRelu holds alpha as a float32 attribute
            return F.leaky_relu(x, float(np.float32(alpha)))
        negative_part = torch.relu(-x + threshold) if threshold != 0 else torch.relu(-x)
    else:
        negative_part = 1
    clip_max = max_value is not None
    if threshold != 0:
        x = x * (x > threshold).to(dt)
    elif max_value is not None and max_value == 6:
        x = F.relu6(x)
        clip_max = False
    else:
        x = torch.relu(x)
    if clip_max:
        x = _clip_by_value(x, _like(0, x), _like(max_value, x))
    if alpha != 0.0:
        x = x - _like(alpha, x) * negative_part
    return x


def elu(x: TensorLike, alpha: float = 1.0) -> torch.Tensor:
    """``K.elu(x, alpha=1.)``: ``tf.nn.elu``, times ``alpha`` where ``x <= 0``."""
    x = _t(x)
    res = _ops.tf_elu(x)
    if alpha == 1:
        return res
    return torch.where(x > 0, res, alpha * res)


def softmax(x: TensorLike, axis=-1) -> torch.Tensor:
    """``K.softmax(x, axis=-1)``: a tuple of axes normalises over them together; a 1-D ``x`` raises. The output
    carries its logits (``_keras_logits``), as Keras's does, so a ``torch_impl.losses`` crossentropy of it uses
    them."""
    x = _t(x)
    if x.dim() <= 1:
        raise ValueError(f"Cannot apply softmax to a tensor that is 1D. Received input: {x}")
    if isinstance(axis, int):
        out = torch.softmax(x, axis)
    else:
        numerator = torch.exp(x - max(x, axis=axis, keepdims=True))
        out = numerator / sum(numerator, axis=axis, keepdims=True)
    out._keras_logits = x
    return out


def clip(x: TensorLike, min_value, max_value) -> torch.Tensor:
    """``K.clip(x, min_value, max_value)``: ``None`` bounds are infinite; Python bounds with ``max < min`` become
    ``max = min`` (so the result is ``min_value``; ``torch.clamp`` gives ``max_value``); the gradient passes on the
    closed interval (at the bounds too) and is 0 at NaN, which stays NaN."""
    x = _t(x)
    if isinstance(min_value, (int, float)) and isinstance(max_value, (int, float)) and max_value < min_value:
        max_value = min_value
    if min_value is None:
        min_value = -np.inf
    if max_value is None:
        max_value = np.inf
    return _clip_by_value(x, min_value, max_value)


def maximum(x: TensorLike, y: TensorLike) -> torch.Tensor:
    """``K.maximum(x, y)``: NaN propagates; a tie's gradient goes to ``x`` whole (``torch.maximum`` halves it)."""
    return _maximum(*_pair(x, y))


def minimum(x: TensorLike, y: TensorLike) -> torch.Tensor:
    """``K.minimum(x, y)``: NaN propagates; a tie's gradient goes to ``x`` whole."""
    return _minimum(*_pair(x, y))


def equal(x, y) -> torch.Tensor:
    """``K.equal``."""
    return torch.eq(*_pair(x, y))


def not_equal(x, y) -> torch.Tensor:
    """``K.not_equal``."""
    return torch.ne(*_pair(x, y))


def greater(x, y) -> torch.Tensor:
    """``K.greater``."""
    return torch.gt(*_pair(x, y))


def greater_equal(x, y) -> torch.Tensor:
    """``K.greater_equal``."""
    return torch.ge(*_pair(x, y))


def less(x, y) -> torch.Tensor:
    """``K.less``."""
    return torch.lt(*_pair(x, y))


def less_equal(x, y) -> torch.Tensor:
    """``K.less_equal``."""
    return torch.le(*_pair(x, y))


def switch(condition, then_expression, else_expression):
    """``K.switch(condition, then, else)``: a scalar condition picks a branch (callables: only the one taken is
    called); otherwise ``where``, and a condition of rank >= 2 but below the branches' gets trailing axes
    (``(N, T)`` against ``(N, T, C)`` selects per ``(n, t)``). A rank-1 condition broadcasts as NumPy does (against
    the *last* axis), as Keras 3's does (Keras 2 picked rows)."""
    cond = _t(condition)
    if cond.dtype != torch.bool:
        cond = cond.to(torch.bool)
    if cond.dim() == 0:
        branch = then_expression if bool(cond) else else_expression
        branch = branch() if callable(branch) else branch
        return branch if isinstance(branch, torch.Tensor) else _t(branch)
    then_expression = then_expression() if callable(then_expression) else then_expression
    else_expression = else_expression() if callable(else_expression) else else_expression
    expr_ndim = then_expression.dim() if isinstance(then_expression, torch.Tensor) else np.ndim(then_expression)
    if cond.dim() > expr_ndim:
        raise ValueError("Rank of `condition` should be less than or equal to rank of `then_expression` and "
                         f"`else_expression`. ndim(condition)={cond.dim()}, ndim(then_expression)={expr_ndim}")
    if cond.dim() > 1:
        cond = cond.reshape(tuple(cond.shape) + (1,) * (expr_ndim - cond.dim()))
    then_t, else_t = then_expression, else_expression
    if not isinstance(then_t, torch.Tensor) or not isinstance(else_t, torch.Tensor):
        then_t, else_t = _pair(then_t, else_t)
    elif then_t.dtype != else_t.dtype:
        then_t, else_t = _pair(then_t, else_t)
    return torch.where(cond, then_t, else_t)


# --------------------------------------------------------------------------------------------------------------
# reductions
# --------------------------------------------------------------------------------------------------------------


def _dims(x: torch.Tensor, axis) -> tuple:
    """``axis`` (``None``, an int, a list or tuple) as sorted non-negative dims; ``None`` is every axis, ``[]``
    none. Out of range raises, as TensorFlow's ``InvalidArgumentError``."""
    n = x.dim()
    if axis is None:
        return tuple(range(n))
    if isinstance(axis, torch.Tensor):
        axis = axis.tolist()
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    for a in axes:
        if not -_py_max(n, 1) <= int(a) < _py_max(n, 1):
            raise ValueError(f"Invalid reduction dimension {a} for input with {n} dimensions.")
    return tuple(sorted({int(a) % _py_max(n, 1) for a in axes})) if n else ()


def _no_bool(x: torch.Tensor, name: str) -> torch.Tensor:
    """TensorFlow has no boolean sum, product or extreme (``InvalidArgumentError``); torch's would be silent."""
    if x.dtype == torch.bool:
        raise TypeError(f"K.{name} does not take booleans (Keras raises InvalidArgumentError); cast them first, "
                        "e.g. K.cast(x, K.floatx())")
    return x


def _reduced_shape(x: torch.Tensor, dims: tuple, keepdims: bool) -> tuple:
    return tuple(1 if i in dims else s for i, s in enumerate(x.shape) if keepdims or i not in dims)


def sum(x: TensorLike, axis=None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001 - Keras's name
    """``K.sum(x, axis=None, keepdims=False)``: integers stay in their dtype (torch widens int32 to int64);
    ``axis=[]`` reduces nothing."""
    x = _no_bool(_t(x), "sum")
    dims = _dims(x, axis)
    if not dims:
        return x
    return torch.sum(x, dims, keepdim=keepdims, dtype=None if x.is_floating_point() else x.dtype)


def mean(x: TensorLike, axis=None, keepdims: bool = False) -> torch.Tensor:
    """``K.mean(x, axis=None, keepdims=False)``: booleans are cast to floatx first; integers give the truncated
    integer mean (``mean([-1, -2, -2]) = -1``), summed without wrapping (uint8 ``[255, 255, 1]`` gives 170, as
    TensorFlow's); an empty axis gives NaN."""
    x = _t(x)
    if x.dtype == torch.bool:
        x = x.to(_floatx_dtype())
    dims = _dims(x, axis)
    if not dims:
        return x
    if x.is_floating_point() or x.is_complex():
        return torch.mean(x, dims, keepdim=keepdims)
    count = math.prod(x.shape[d] for d in dims)
    total = torch.sum(x, dims, keepdim=keepdims, dtype=torch.int64)  # TensorFlow's mean does not wrap the sum
    return torch.div(total, count, rounding_mode="trunc").to(x.dtype)


def _extreme(x: TensorLike, axis, keepdims: bool, largest: bool) -> torch.Tensor:
    x = _no_bool(_t(x), "max" if largest else "min")
    dims = _dims(x, axis)
    if not dims:
        return x
    if _py_any(x.shape[d] == 0 for d in dims):  # TensorFlow: the reduction's identity, -inf / +inf (or the dtype's)
        if x.is_floating_point():
            fill = -math.inf if largest else math.inf
        else:
            info = torch.iinfo(x.dtype)
            fill = info.min if largest else info.max
        return torch.full(_reduced_shape(x, dims, keepdims), fill, dtype=x.dtype, device=x.device)
    return (torch.amax if largest else torch.amin)(x, dims, keepdim=keepdims)


def max(x: TensorLike, axis=None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001 - Keras's name
    """``K.max``: ties share the gradient equally (as ``torch.amax``); NaN propagates; an empty axis gives
    ``-inf``."""
    return _extreme(x, axis, keepdims, True)


def min(x: TensorLike, axis=None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001 - Keras's name
    """``K.min``: ties share the gradient equally; NaN propagates; an empty axis gives ``inf``."""
    return _extreme(x, axis, keepdims, False)


def prod(x: TensorLike, axis=None, keepdims: bool = False) -> torch.Tensor:
    """``K.prod(x, axis=None, keepdims=False)``."""
    x = _no_bool(_t(x), "prod")
    dims = _dims(x, axis)
    if not dims:
        return x
    out = x
    keep_int = None if x.is_floating_point() else x.dtype
    for d in sorted(dims, reverse=True):
        out = torch.prod(out, d, keepdim=keepdims, dtype=keep_int)
    return out


def var(x: TensorLike, axis=None, keepdims: bool = False) -> torch.Tensor:
    """``K.var``: the population variance ``mean(square(x - mean(x)))`` (``torch.var`` divides by ``N - 1``);
    booleans are cast to floatx, integers raise ``TypeError``."""
    x = _t(x)
    if x.dtype == torch.bool:
        x = x.to(_floatx_dtype())
    if not (x.is_floating_point() or x.is_complex()):
        raise TypeError(f"Input must be either real or complex. Received integer type {x.dtype}.")
    means = mean(x, axis=axis, keepdims=True)
    return mean(torch.square(x - means), axis=axis, keepdims=keepdims)


def std(x: TensorLike, axis=None, keepdims: bool = False) -> torch.Tensor:
    """``K.std``: ``sqrt(var(x))`` with the population variance; its gradient is NaN where the variance is 0."""
    return _TfSqrt.apply(var(x, axis=axis, keepdims=keepdims))


def any(x: TensorLike, axis=None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001 - Keras's name
    """``K.any``: ``x`` cast to bool, then reduced."""
    x = _t(x).to(torch.bool)
    dims = _dims(x, axis)
    return torch.any(x, dim=dims, keepdim=keepdims) if dims else x


def all(x: TensorLike, axis=None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001 - Keras's name
    """``K.all``: ``x`` cast to bool, then reduced."""
    x = _t(x).to(torch.bool)
    dims = _dims(x, axis)
    return torch.all(x, dim=dims, keepdim=keepdims) if dims else x


def argmax(x: TensorLike, axis: int = -1) -> torch.Tensor:
    """``K.argmax``: int64, the first of ties; NaN never wins (torch's argmax returns a NaN's index); booleans
    as 0/1."""
    x = _t(x)
    if x.dtype == torch.bool:
        x = x.to(torch.uint8)
    if x.is_floating_point():
        x = torch.where(torch.isnan(x), torch.full_like(x, -math.inf), x)
    return torch.argmax(x, dim=axis)


def argmin(x: TensorLike, axis: int = -1) -> torch.Tensor:
    """``K.argmin``: int64, the first of ties; NaN never wins; booleans as 0/1."""
    x = _t(x)
    if x.dtype == torch.bool:
        x = x.to(torch.uint8)
    if x.is_floating_point():
        x = torch.where(torch.isnan(x), torch.full_like(x, math.inf), x)
    return torch.argmin(x, dim=axis)


def logsumexp(x: TensorLike, axis=None, keepdims: bool = False) -> torch.Tensor:
    """Keras 2's ``K.logsumexp`` (dropped from Keras 3's legacy backend): ``tf.reduce_logsumexp``, i.e.
    ``log(sum(exp(x - m))) + m`` with ``m`` the (finite, else 0) max, held constant for the gradient."""
    x = _t(x)
    raw_max = max(x, axis=axis, keepdims=True)
    my_max = torch.where(torch.isfinite(raw_max), raw_max, torch.zeros_like(raw_max)).detach()
    result = torch.log(sum(torch.exp(x - my_max), axis=axis, keepdims=keepdims))
    if not keepdims:
        my_max = my_max.reshape(result.shape)
    return result + my_max


def cumsum(x: TensorLike, axis: int = 0) -> torch.Tensor:
    """``K.cumsum(x, axis=0)``."""
    x = _no_bool(_t(x), "cumsum")
    return torch.cumsum(x, axis, dtype=None if x.is_floating_point() else x.dtype)


def cumprod(x: TensorLike, axis: int = 0) -> torch.Tensor:
    """``K.cumprod(x, axis=0)``: TensorFlow's gradient, 0 at the zero entries (``div_no_nan``)."""
    x = _no_bool(_t(x), "cumprod")
    if not x.is_floating_point():
        return torch.cumprod(x, axis, dtype=x.dtype)
    return _TfCumprod.apply(x, axis % _py_max(x.dim(), 1))


def l2_normalize(x: TensorLike, axis=None) -> torch.Tensor:
    """``K.l2_normalize(x, axis=None)``: ``x * rsqrt(maximum(sum(x**2, axis), 1e-12))`` over *every* axis by
    default (``F.normalize`` uses ``dim=1`` and ``x / max(norm, eps)``); a zero vector stays 0."""
    x = _t(x)
    square_sum = sum(torch.square(x), axis=axis, keepdims=True)
    x_inv_norm = _ops.tf_rsqrt(_maximum(*_pair(square_sum, 1e-12)))
    return x * x_inv_norm


def in_top_k(predictions: TensorLike, targets: TensorLike, k: int) -> torch.Tensor:
    """``K.in_top_k(predictions, targets, k)``: whether fewer than ``k`` classes score strictly higher than the
    target (ties count in); ``False`` for a row with a non-finite score or a target out of range."""
    pred, tgt = _t(predictions), _t(targets).long()
    c = pred.shape[1]
    valid = (tgt >= 0) & (tgt < c)
    tp = pred.gather(1, tgt.clamp(0, c - 1).unsqueeze(1))
    higher = (pred > tp).sum(1)
    return valid & torch.isfinite(pred).all(1) & (higher < k)


# --------------------------------------------------------------------------------------------------------------
# shapes
# --------------------------------------------------------------------------------------------------------------


def flatten(x: TensorLike) -> torch.Tensor:
    """``K.flatten``: ``reshape(x, [-1])``."""
    return _t(x).reshape(-1)


def batch_flatten(x: TensorLike) -> torch.Tensor:
    """``K.batch_flatten``: ``(N, ...)`` to ``(N, prod(...))`` (``(N,)`` becomes ``(N, 1)``)."""
    x = _t(x)
    return x.reshape(-1, math.prod(x.shape[1:]))


def reshape(x: TensorLike, shape) -> torch.Tensor:
    """``K.reshape``."""
    return _t(x).reshape(tuple(int(s) for s in shape))


def expand_dims(x: TensorLike, axis: int = -1) -> torch.Tensor:
    """``K.expand_dims(x, axis=-1)``."""
    return _t(x).unsqueeze(axis)


def squeeze(x: TensorLike, axis: int) -> torch.Tensor:
    """``K.squeeze(x, axis)``: raises if that axis is not 1 (``torch.squeeze`` silently does nothing)."""
    x = _t(x)
    if x.shape[axis] != 1:
        raise ValueError(f"Can not squeeze dim[{axis}], expected a dimension of 1, got {x.shape[axis]}")
    return x.squeeze(axis)


def concatenate(tensors, axis: int = -1) -> torch.Tensor:
    """``K.concatenate(tensors, axis=-1)``."""
    return torch.cat([_t(t) for t in tensors], dim=axis)


def stack(x, axis: int = 0) -> torch.Tensor:
    """``K.stack(x, axis=0)``."""
    return torch.stack([_t(t) for t in x], dim=axis)


def permute_dimensions(x: TensorLike, pattern) -> torch.Tensor:
    """``K.permute_dimensions(x, pattern)``."""
    return _t(x).permute(*pattern)


def transpose(x: TensorLike) -> torch.Tensor:
    """``K.transpose``: every axis reversed (``tf.transpose``)."""
    x = _t(x)
    return x.permute(*reversed(range(x.dim())))


def tile(x: TensorLike, n) -> torch.Tensor:
    """``K.tile(x, n)``: one multiple per axis (an int for a 1-D ``x``)."""
    x = _t(x)
    n = [n] if isinstance(n, int) else [int(v) for v in n]
    if len(n) != x.dim():
        raise ValueError(f"Expected multiples argument to be a vector of length {x.dim()} but got length {len(n)}")
    return x.repeat(*n)


def repeat(x: TensorLike, n: int) -> torch.Tensor:
    """``K.repeat(x, n)``: ``(N, D)`` to ``(N, n, D)``."""
    x = _t(x)
    if x.dim() != 2:
        raise ValueError(f"Expected input `x` to have rank 2. Received: rank(x)={x.dim()}")
    return x.unsqueeze(1).repeat(1, n, 1)


def repeat_elements(x: TensorLike, rep: int, axis: int) -> torch.Tensor:
    """``K.repeat_elements(x, rep, axis)``: each slice repeated ``rep`` times (``np.repeat``)."""
    return torch.repeat_interleave(_t(x), rep, dim=axis)


def reverse(x: TensorLike, axes) -> torch.Tensor:
    """``K.reverse(x, axes)``."""
    return torch.flip(_t(x), [axes] if isinstance(axes, int) else list(axes))


def gather(reference: TensorLike, indices: TensorLike) -> torch.Tensor:
    """``K.gather(reference, indices)``: rows of ``reference`` (axis 0); out of range raises."""
    reference = _t(reference)
    idx = _t(indices).long()
    n = reference.shape[0]
    if idx.numel() and not _ops.values_hidden(idx) and bool(((idx < 0) | (idx >= n)).any()):
        raise IndexError(f"indices {idx.reshape(-1).tolist()[:5]}... are not in [0, {n})")
    return reference[idx]


def one_hot(indices: TensorLike, num_classes: int) -> torch.Tensor:
    """``K.one_hot(indices, num_classes)``: float32 (whatever floatx), a row of zeros for an id out of
    ``[0, num_classes)`` (``F.one_hot`` returns int64 and raises); float ids raise ``TypeError``."""
    indices = _t(indices)
    if indices.is_floating_point():
        raise TypeError(f"one_hot takes integer indices, got {indices.dtype}")
    classes = torch.arange(num_classes, device=indices.device)
    return (indices.long().unsqueeze(-1) == classes).to(torch.float32)


def dot(x: TensorLike, y: TensorLike) -> torch.Tensor:
    """``K.dot(x, y)``: ``matmul`` for 2-D inputs; above 2-D, ``x``'s last axis against ``y``'s second to last
    (``(2, 3, 4) . (5, 4, 6)`` is ``(2, 3, 5, 6)``, Theano's dot)."""
    x, y = _pair(x, y)
    if x.dim() > 2 or y.dim() > 2:
        x_shape, y_shape = tuple(x.shape), tuple(y.shape)
        perm = list(range(y.dim()))
        perm = [perm.pop(-2)] + perm
        xt = x.reshape(-1, x_shape[-1])
        yt = y.permute(*perm).reshape(y_shape[-2], -1)
        return torch.matmul(xt, yt).reshape(x_shape[:-1] + y_shape[:-2] + y_shape[-1:])
    if x.dim() < 2 or y.dim() < 2:
        raise ValueError(f"In[0] and In[1] must be at least 2-D for dot, got shapes {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    return torch.matmul(x, y)


def batch_dot(x: TensorLike, y: TensorLike, axes=None) -> torch.Tensor:
    """``K.batch_dot(x, y, axes=None)``: per-sample dot products, Keras's axis rules (``axes=1`` on two ``(N, D)``
    gives ``(N, 1)``)."""
    x, y = _pair(x, y)
    x_ndim, y_ndim = x.dim(), y.dim()
    if x_ndim < 2 or y_ndim < 2:
        raise ValueError(f"Cannot do batch_dot on inputs with rank < 2. Received inputs with shapes "
                         f"{tuple(x.shape)} and {tuple(y.shape)}.")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"Cannot do batch_dot on inputs with different batch sizes. Received inputs with shapes "
                         f"{tuple(x.shape)} and {tuple(y.shape)}.")
    if isinstance(axes, int):
        axes = [axes, axes]
    if axes is None:
        axes = [x_ndim - 1, y_ndim - 1] if y_ndim == 2 else [x_ndim - 1, y_ndim - 2]
    if _py_any(isinstance(a, (list, tuple)) for a in axes):
        raise ValueError(f"Multiple target dimensions are not supported. Expected: None, int, (int, int), "
                         f"Provided: {axes}")
    axes = list(axes)
    if axes[0] < 0:
        axes[0] += x_ndim
    if axes[1] < 0:
        axes[1] += y_ndim
    if 0 in axes:
        raise ValueError("Cannot perform batch_dot over axis 0. If your inputs are not batched, add a dummy batch "
                         "dimension to your inputs using K.expand_dims(x, 0)")
    a0, a1 = axes
    if x.shape[a0] != y.shape[a1]:
        raise ValueError(f"Cannot do batch_dot on inputs with shapes {tuple(x.shape)} and {tuple(y.shape)} with "
                         f"axes={axes}. x.shape[{a0}] != y.shape[{a1}] ({x.shape[a0]} != {y.shape[a1]}).")
    orig_x_ndim, orig_y_ndim = x_ndim, y_ndim
    if x_ndim == 2:
        x = x.unsqueeze(1)
        a0 += 1
        x_ndim += 1
    if y_ndim == 2:
        y = y.unsqueeze(2)
        y_ndim += 1
    if a0 != x_ndim - 1:
        pattern = list(range(x_ndim))
        for i in range(a0, x_ndim - 1):
            pattern[i] = pattern[i + 1]
        pattern[-1] = a0
        x = x.permute(*pattern)
    if a1 != 1:
        pattern = list(range(y_ndim))
        for i in range(a1, 1, -1):
            pattern[i] = pattern[i - 1]
        pattern[1] = a1
        y = y.permute(*pattern)
    x_mid_dims = y_trail_dims = None
    if x_ndim > 3:
        x_mid_dims = tuple(x.shape[1:-1])
        x = x.reshape(x.shape[0], -1, x.shape[-1])
    if y_ndim > 3:
        y_trail_dims = tuple(y.shape[2:])
        y = y.reshape(y.shape[0], y.shape[1], -1)
    result = torch.matmul(x, y)
    out_shape = tuple(result.shape)
    if x_mid_dims is not None:
        out_shape = out_shape[:1] + x_mid_dims + out_shape[-1:]
    if y_trail_dims is not None:
        out_shape = out_shape[:-1] + y_trail_dims
    result = result.reshape(out_shape)
    if orig_x_ndim == 2:
        result = result.squeeze(1)
    elif orig_y_ndim == 2:
        result = result.squeeze(-1)
    return result


def stop_gradient(variables):
    """``K.stop_gradient``: ``detach``; a list or tuple gives a list (Keras: a ``map``)."""
    if isinstance(variables, (list, tuple)):
        return [_t(v).detach() for v in variables]
    return _t(variables).detach()


def map_fn(fn: Callable, elems, name=None, dtype=None) -> Any:
    """``K.map_fn(fn, elems)``: ``fn`` on each slice along axis 0, the results stacked."""
    if isinstance(elems, (list, tuple)):
        out = [fn(tuple(e)) for e in zip(*[_t(t).unbind(0) for t in elems])]
    else:
        out = [fn(e) for e in _t(elems).unbind(0)]
    return torch.stack([_t(o) for o in out])


def foldl(fn: Callable, elems, initializer=None, name=None):
    """``K.foldl(fn, elems, initializer=None)``: left fold along axis 0."""
    items = list(_t(elems).unbind(0))
    acc = items.pop(0) if initializer is None else initializer
    for e in items:
        acc = fn(acc, e)
    return acc


def foldr(fn: Callable, elems, initializer=None, name=None):
    """``K.foldr(fn, elems, initializer=None)``: right fold along axis 0."""
    items = list(_t(elems).unbind(0))
    acc = items.pop() if initializer is None else initializer
    for e in reversed(items):
        acc = fn(acc, e)
    return acc


# --------------------------------------------------------------------------------------------------------------
# the legacy crossentropies (not keras.losses': no logits behind a sigmoid/softmax, epsilon inside the BCE logs)
# --------------------------------------------------------------------------------------------------------------


def _same_dtype(target: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """Labels in the predictions' floating dtype (TensorFlow raises on a mismatch; torch computes)."""
    return target if target.dtype == output.dtype else target.to(output.dtype)


def binary_crossentropy(target: TensorLike, output: TensorLike, from_logits: bool = False) -> torch.Tensor:
    """``K.binary_crossentropy(target, output, from_logits=False)``, element-wise (no mean over an axis).

    From probabilities: clip to ``[eps, 1 - eps]`` (in ``output``'s dtype), then
    ``-(target * log(output + eps) + (1 - target) * log(1 - output + eps))``: a sure wrong prediction costs
    ``-log(2e-7) = 15.42`` (float32: 15.33 for a wrong 1, ``1 - eps`` rounds to ``1 - 1.19e-7``). The shapes
    broadcast ((N,) against (N, 1) gives (N, N), as in Keras). Never the logits behind a sigmoid. From logits:
    ``tf.nn.sigmoid_cross_entropy_with_logits`` (equal shapes).
    """
    target, output = _t(target), _t(output)
    if not output.is_floating_point():
        output = output.to(torch.float32)
    if from_logits:
        if target.shape != output.shape:
            raise ValueError(f"`logits` and `labels` must have the same shape, received ({tuple(output.shape)} vs "
                             f"{tuple(target.shape)}).")
        return _ops.sigmoid_xent(_same_dtype(target, output), output)
    eps = epsilon()
    lo, hi = _bounds(output.dtype, eps)
    output = torch.clamp(output, lo, hi)
    bce = target * torch.log(output + eps)
    bce = bce + (1 - target) * torch.log(1 - output + eps)
    return -bce


def _check_same_shape(target: torch.Tensor, output: torch.Tensor) -> None:
    if target.shape != output.shape:
        raise ValueError(f"Shapes {tuple(target.shape)} and {tuple(output.shape)} are incompatible")


def categorical_crossentropy(target: TensorLike, output: TensorLike, from_logits: bool = False,
                             axis: int = -1) -> torch.Tensor:
    """``K.categorical_crossentropy(target, output, from_logits=False, axis=-1)``: ``output`` divided by its sum
    over ``axis``, clipped to ``[eps, 1 - eps]``, ``-sum(target * log(output), axis)``; from logits, the softmax
    crossentropy with TensorFlow's gradient ``softmax - target``. Equal shapes only. Never the logits behind a
    softmax (``keras.losses.categorical_crossentropy`` uses them)."""
    target, output = _t(target), _t(output)
    _check_same_shape(target, output)
    target = _same_dtype(target, output)
    if from_logits:
        return _ops.softmax_xent(target, output, axis)
    output = output / torch.sum(output, axis, keepdim=True)
    lo, hi = _bounds(output.dtype, epsilon())
    output = torch.clamp(output, lo, hi)
    return -torch.sum(target * torch.log(output), axis)


def sparse_categorical_crossentropy(target: TensorLike, output: TensorLike, from_logits: bool = False,
                                    axis: int = -1, ignore_class: Optional[int] = None) -> torch.Tensor:
    """``K.sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1, ignore_class=None)``.

    The labels are cast to int64 (truncated: 1.9 is class 1); probabilities are clipped and logged; the class
    axis moves last; labels whose rank is not ``output``'s minus one are flattened (a rank-2 output gives ``(N,)``,
    a higher one the output's shape without the class axis). ``ignore_class``: those entries are 0 and the result
    carries the valid mask as ``_keras_mask``. A label out of ``[0, C)`` raises ``ValueError`` (TensorFlow's CPU
    kernel raises ``InvalidArgumentError``).
    """
    target, output = _t(target), _t(output)
    target = target.to(torch.int64)
    if not output.is_floating_point():
        output = output.to(torch.float32)
    if not from_logits:
        lo, hi = _bounds(output.dtype, epsilon())
        output = torch.log(torch.clamp(output, lo, hi))
    rank = output.dim()
    axis %= rank
    if axis != rank - 1:
        output = output.permute(*range(axis), *range(axis + 1, rank), axis)
    output_shape = tuple(output.shape)
    update_shape = target.dim() != rank - 1
    if update_shape:
        target = target.reshape(-1)
        output = output.reshape(-1, output_shape[-1])
    valid = None
    if ignore_class is not None:
        valid = target != int(ignore_class)
        target, output = target[valid], output[valid]
    c = output_shape[-1]
    if target.numel() and not _ops.values_hidden(target):
        bad = (target < 0) | (target >= c)
        if bool(bad.any()):
            raise ValueError(f"Received a label value of {int(target[bad].reshape(-1)[0])} which is outside the "
                             f"valid range of [0, {c}).")
    res = _ops.sparse_xent(target, output)
    if valid is not None:
        res_shape = output_shape[:-1]
        valid = valid.reshape(res_shape)
        full = torch.zeros(res_shape, dtype=res.dtype, device=res.device)
        full = full.masked_scatter(valid, res)
        full._keras_mask = valid
        return full
    if update_shape and rank >= 3:
        res = res.reshape(output_shape[:-1])
    return res


def binary_focal_crossentropy(target: TensorLike, output: TensorLike, apply_class_balancing: bool = False,
                              alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False) -> torch.Tensor:
    """``K.binary_focal_crossentropy``: ``(1 - p_t)**gamma`` (``p_t`` from the unclipped ``output``, or its
    sigmoid) times this module's :func:`binary_crossentropy` (epsilon in the logs), element-wise; with
    ``apply_class_balancing`` times ``target * alpha + (1 - target) * (1 - alpha)``."""
    target, output = _t(target), _t(output)
    sigmoidal = torch.sigmoid(output) if from_logits else output
    p_t = target * sigmoidal + (1 - target) * (1 - sigmoidal)
    focal_factor = _ops.tf_pow(1.0 - p_t, gamma)
    bce = binary_crossentropy(target, output, from_logits=from_logits)
    focal_bce = focal_factor * bce
    if apply_class_balancing:
        weight = target * alpha + (1 - target) * (1 - alpha)
        focal_bce = weight * focal_bce
    return focal_bce


def categorical_focal_crossentropy(target: TensorLike, output: TensorLike, alpha=0.25, gamma: float = 2.0,
                                   from_logits: bool = False, axis: int = -1) -> torch.Tensor:
    """``K.categorical_focal_crossentropy``: softmax if ``from_logits``, divide by the sum, clip, then
    ``sum(alpha * (1 - p)**gamma * -target * log(p), axis)`` (``alpha`` a number or one per class)."""
    target, output = _t(target), _t(output)
    _check_same_shape(target, output)
    target = _same_dtype(target, output)
    if from_logits:
        output = torch.softmax(output, axis)
    output = output / torch.sum(output, axis, keepdim=True)
    lo, hi = _bounds(output.dtype, epsilon())
    output = torch.clamp(output, lo, hi)
    cce = -target * torch.log(output)
    modulating_factor = _ops.tf_pow(1.0 - output, gamma)
    weighting_factor = modulating_factor * _like(alpha, output)
    return torch.sum(weighting_factor * cce, axis)


# --------------------------------------------------------------------------------------------------------------
# the layers' ops: convolutions, pooling, padding, resizing, bias and batch normalisation (TensorFlow's layouts)
# --------------------------------------------------------------------------------------------------------------


def _data_format(data_format: Optional[str]) -> str:
    data_format = image_data_format() if data_format is None else data_format
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(f"Unknown data_format: {data_format}")
    return data_format


def _padding_mode(padding: str) -> str:
    if padding not in ("same", "valid"):
        raise ValueError(f"Invalid padding: {padding}")
    return padding


def _tuple(value, nd: int, name: str) -> tuple:
    if isinstance(value, numbers.Integral):
        return (int(value),) * nd
    if not isinstance(value, (tuple, list, torch.Size, np.ndarray)):  # e.g. a float given positionally to a later slot
        raise ValueError(f"`{name}` must be an integer or a tuple of {nd} integers. Received: {name}={value!r}")
    value = tuple(int(v) for v in value)
    if len(value) != nd:
        raise ValueError(f"`{name}` must be a tuple of {nd} integers. Received: {name}={value}")
    return value


def _same_pads(sizes: Sequence[int], kernel: Sequence[int], strides: Sequence[int],
               dilation: Sequence[int]) -> list:
    """TensorFlow's ``SAME`` padding per spatial axis: ``ceil(n / s)`` outputs, the odd pad at the end."""
    pads = []
    for n, k, s, d in zip(sizes, kernel, strides, dilation):
        k_eff = (k - 1) * d + 1
        total = _py_max((-(-n // s) - 1) * s + k_eff - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def _torch_pad(pads: list) -> list:
    """Per-axis ``(before, after)`` pairs (first spatial axis first) as ``F.pad``'s list (last axis first)."""
    out: list = []
    for before, after in reversed(pads):
        out += [before, after]
    return out


def _to_channels_first(x: torch.Tensor, data_format: str) -> torch.Tensor:
    return x if data_format == "channels_first" else x.movedim(-1, 1)


def _from_channels_first(x: torch.Tensor, data_format: str) -> torch.Tensor:
    return x if data_format == "channels_first" else x.movedim(1, -1)


def _float_pair(x: TensorLike, kernel: TensorLike) -> tuple[torch.Tensor, torch.Tensor]:
    x, kernel = _pair(_t(x), _t(kernel))
    if not x.is_floating_point():
        raise TypeError(f"The convolutions take floating inputs; got {x.dtype}")
    return x, kernel


def _conv(x: TensorLike, kernel: TensorLike, strides, padding: str, data_format, dilation_rate, nd: int,
          groups_from_kernel: bool = False) -> torch.Tensor:
    """``tf.nn.convolution`` on a ``channels_last`` or ``channels_first`` input with a TensorFlow kernel
    ``(*spatial, in, out)`` (depthwise: ``(*spatial, in, multiplier)``, out channel ``c * multiplier + m``)."""
    data_format = _data_format(data_format)
    padding = _padding_mode(padding)
    x, kernel = _float_pair(x, kernel)
    if x.dim() != nd + 2 or kernel.dim() != nd + 2:
        raise ValueError(f"Expected a rank-{nd + 2} input and kernel, got {tuple(x.shape)} and {tuple(kernel.shape)}")
    strides = _tuple(strides, nd, "strides")
    dilation = _tuple(dilation_rate, nd, "dilation_rate")
    xc = _to_channels_first(x, data_format)
    channels = xc.shape[1]
    if groups_from_kernel:  # depthwise: (*k, in, mult) -> (in * mult, 1, *k)
        if kernel.shape[nd] != channels:
            raise ValueError(f"The depthwise kernel's input channels ({kernel.shape[nd]}) differ from the input's "
                             f"({channels})")
        weight = kernel.reshape(*kernel.shape[:nd], 1, -1).permute(nd + 1, nd, *range(nd))
        groups = channels
    else:
        if kernel.shape[nd] != channels:
            raise ValueError(f"The kernel's input channels ({kernel.shape[nd]}) differ from the input's "
                             f"({channels})")
        weight = kernel.permute(nd + 1, nd, *range(nd))
        groups = 1
    if padding == "same":
        pads = _same_pads(xc.shape[2:], kernel.shape[:nd], strides, dilation)
        xc = F.pad(xc, _torch_pad(pads))
    conv = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
    out = conv(xc, weight.contiguous(), stride=strides, dilation=dilation, groups=groups)
    return _from_channels_first(out, data_format)


def conv1d(x: TensorLike, kernel: TensorLike, strides: int = 1, padding: str = "valid", data_format=None,
           dilation_rate: int = 1) -> torch.Tensor:
    """``K.conv1d``: kernel ``(width, in, out)``; ``padding`` ``'valid'``, ``'same'`` (TensorFlow's: the odd pad
    at the end) or ``'causal'`` (``dilation_rate * (width - 1)`` zeros in front)."""
    data_format = _data_format(data_format)
    kernel = _t(kernel)
    if padding == "causal":
        left = int(dilation_rate) * (kernel.shape[0] - 1)
        x = _t(x)
        x = F.pad(x, [left, 0]) if data_format == "channels_first" else F.pad(x, [0, 0, left, 0])
        padding = "valid"
    return _conv(x, kernel, strides, padding, data_format, dilation_rate, 1)


def conv2d(x: TensorLike, kernel: TensorLike, strides=(1, 1), padding: str = "valid", data_format=None,
           dilation_rate=(1, 1)) -> torch.Tensor:
    """``K.conv2d``: kernel ``(kh, kw, in, out)``, NHWC unless ``data_format='channels_first'``; TensorFlow's
    ``'same'`` padding (the odd pad at the bottom/right, also with strides)."""
    return _conv(x, kernel, strides, padding, data_format, dilation_rate, 2)


def conv3d(x: TensorLike, kernel: TensorLike, strides=(1, 1, 1), padding: str = "valid", data_format=None,
           dilation_rate=(1, 1, 1)) -> torch.Tensor:
    """``K.conv3d``: kernel ``(kd, kh, kw, in, out)``, NDHWC unless ``data_format='channels_first'``."""
    return _conv(x, kernel, strides, padding, data_format, dilation_rate, 3)


def depthwise_conv2d(x: TensorLike, depthwise_kernel: TensorLike, strides=(1, 1), padding: str = "valid",
                     data_format=None, dilation_rate=(1, 1)) -> torch.Tensor:
    """``K.depthwise_conv2d``: kernel ``(kh, kw, in, multiplier)``; output channel ``c * multiplier + m``."""
    return _conv(x, depthwise_kernel, strides, padding, data_format, dilation_rate, 2, groups_from_kernel=True)


def separable_conv2d(x: TensorLike, depthwise_kernel: TensorLike, pointwise_kernel: TensorLike, strides=(1, 1),
                     padding: str = "valid", data_format=None, dilation_rate=(1, 1)) -> torch.Tensor:
    """``K.separable_conv2d``: the depthwise convolution (strides, padding and dilation there), then the ``1 x 1``
    pointwise kernel ``(1, 1, in * multiplier, out)``."""
    if len(_tuple(strides, 2, "strides")) != 2:
        raise ValueError("`strides` must be a tuple of 2 integers.")
    depthwise = depthwise_conv2d(x, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv2d(depthwise, pointwise_kernel, (1, 1), "valid", data_format)


def conv2d_transpose(x: TensorLike, kernel: TensorLike, output_shape, strides=(1, 1), padding: str = "valid",
                     data_format=None, dilation_rate=(1, 1)) -> torch.Tensor:
    """``K.conv2d_transpose``: the gradient of a TensorFlow convolution; kernel ``(kh, kw, out, in)``,
    ``output_shape`` the full output shape in ``data_format`` (its batch entry may be ``None``).

    As in Keras, a ``dilation_rate`` other than ``(1, 1)`` runs TensorFlow's ``atrous_conv2d_transpose``, which has
    no strides: ``strides`` are then ignored (both dilations must be equal).
    """
    data_format = _data_format(data_format)
    padding = _padding_mode(padding)
    x, kernel = _float_pair(x, kernel)
    strides = _tuple(strides, 2, "strides")
    dilation = _tuple(dilation_rate, 2, "dilation_rate")
    if dilation != (1, 1):
        if dilation[0] != dilation[1]:
            raise ValueError("Expected the 2 dimensions of the `dilation_rate` argument to be equal to each other. "
                             f"Received: dilation_rate={dilation}")
        strides = (1, 1)
    xc = _to_channels_first(x, data_format)
    output_shape = tuple(output_shape)
    out_sizes = output_shape[2:4] if data_format == "channels_first" else output_shape[1:3]
    out_channels = output_shape[1] if data_format == "channels_first" else output_shape[3]
    if kernel.shape[3] != xc.shape[1] or kernel.shape[2] != out_channels:
        raise ValueError(f"conv2d_transpose: kernel {tuple(kernel.shape)} does not map {xc.shape[1]} input channels "
                         f"to {out_channels} output channels (kernel layout (kh, kw, out, in))")
    weight = kernel.permute(3, 2, 0, 1).contiguous()  # (in, out, kh, kw)
    full = F.conv_transpose2d(xc, weight, stride=strides, dilation=dilation)
    crops = []
    for axis, (n_in, n_out, k, s, d) in enumerate(zip(xc.shape[2:], out_sizes, kernel.shape[:2], strides,
                                                       dilation)):
        k_eff = (k - 1) * d + 1
        expected = -(-n_out // s) if padding == "same" else (n_out - k_eff) // s + 1
        if n_out < 0 or expected != n_in:
            raise ValueError(f"conv2d_transpose: output_shape {output_shape} does not match the input's spatial size "
                             f"{tuple(xc.shape[2:])} with padding={padding!r} and strides={strides}")
        before = _py_max((n_in - 1) * s + k_eff - n_out, 0) // 2 if padding == "same" else 0
        crops.append((before, n_out))
    short = [_py_max(before + n - full.shape[2 + i], 0) for i, (before, n) in enumerate(crops)]
    if _py_any(short):
        full = F.pad(full, [0, short[1], 0, short[0]])
    out = full[:, :, crops[0][0]: crops[0][0] + crops[0][1], crops[1][0]: crops[1][0] + crops[1][1]]
    return _from_channels_first(out, data_format)


def _empty_valid_pool(xc: torch.Tensor, pool_size, strides) -> Optional[torch.Tensor]:
    """TensorFlow's ``"valid"`` pooling of a channels-first ``xc`` whose window is larger than the input on some
    axis: an empty output (an empty slice of ``xc``, so autograd still works); ``None`` otherwise."""
    outs = [_py_max(0, (n - k) // s + 1) for n, k, s in zip(xc.shape[2:], pool_size, strides)]
    if 0 not in outs:
        return None
    return xc[(slice(None), slice(None)) + tuple(slice(0, o) for o in outs)]


class _TfMaxPool(torch.autograd.Function):
    """TensorFlow's CPU max pooling of a channels-first ``xp`` (``'same'`` padding already added as ``-inf``,
    ``before`` pads in front on each axis). ``MaxPool`` folds ``acc = x if x > acc`` from the dtype's lowest finite
    value: a NaN never wins, a window of NaN and -inf gives the lowest finite value. 1-D/2-D (``MaxPoolGrad``): the
    gradient goes to the window's first entry unless a later one is strictly greater (a NaN first entry keeps it;
    the padding is no entry). 3-D (``MaxPool3DGrad``, entries equal to the output): to the window's first maximum,
    none from a window of NaN and -inf (TensorFlow's also goes to every tied maximum: here to the first only). Here:
    torch's pool of ``xp`` with NaN as ``-inf`` (its index is the first strict maximum); in 1-D/2-D a window of NaN
    and -inf or with a NaN first entry sends its gradient to that first entry."""

    @staticmethod
    def forward(ctx, xp, pool_size, strides, before):
        nd = xp.dim() - 2
        xs = xp.masked_fill(torch.isnan(xp), -math.inf)
        out, idx = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[nd - 1](xs, pool_size, strides, return_indices=True)
        dead = out == -math.inf
        keep = None
        if nd == 3:
            keep = ~dead
        else:  # the flat index of each window's first entry that is not padding
            sizes = xp.shape[2:]
            first = torch.zeros((), dtype=torch.long, device=xp.device)
            for i, (o, s, b) in enumerate(zip(out.shape[2:], strides, before)):
                step = math.prod(sizes[i + 1:])  # (a Python list: inductor fails on an arange clamped to b)
                first = first.unsqueeze(-1) + torch.tensor([_py_max(j * s, b) * step for j in range(o)],
                                                           device=xp.device)
            nan_first = torch.isnan(xp.flatten(2)[:, :, first.flatten()]).reshape(out.shape)
            idx = torch.where(dead | nan_first, first, idx)
        ctx.save_for_backward(idx, keep)
        ctx.in_shape = xp.shape
        return out.masked_fill(dead, torch.finfo(xp.dtype).min)

    @staticmethod
    def backward(ctx, grad):
        idx, keep = ctx.saved_tensors
        n, c = ctx.in_shape[:2]
        if keep is not None:
            grad = torch.where(keep, grad, 0)
        g = torch.zeros((n, c, math.prod(ctx.in_shape[2:])), dtype=grad.dtype, device=grad.device)
        g = g.scatter_add(-1, idx.reshape(n, c, -1), grad.reshape(n, c, -1))
        return g.reshape(ctx.in_shape), None, None, None


def _pool(x: TensorLike, pool_size, strides, padding: str, data_format, pool_mode: str, nd: int) -> torch.Tensor:
    data_format = _data_format(data_format)
    padding = _padding_mode(padding)
    pool_size = _tuple(pool_size, nd, "pool_size")
    strides = _tuple(strides, nd, "strides")
    if pool_mode not in ("max", "avg"):
        raise ValueError(f"Invalid pooling mode: {pool_mode}")
    x = _t(x)
    xc = _to_channels_first(x, data_format)
    pads = _same_pads(xc.shape[2:], pool_size, strides, (1,) * nd) if padding == "same" else [(0, 0)] * nd
    if padding == "valid":
        empty = _empty_valid_pool(xc, pool_size, strides)
        if empty is not None:
            return _from_channels_first(empty, data_format)
    if pool_mode == "max":
        if _py_any(p != (0, 0) for p in pads):
            xc = F.pad(xc, _torch_pad(pads), value=-math.inf)
        if xc.is_floating_point() and torch.compiler.is_compiling():
            return _from_channels_first(_TfMaxPool.apply(xc, pool_size, strides, [p[0] for p in pads]), data_format)
        out = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[nd - 1](xc, pool_size, strides)
        # torch's max lets a NaN win its window and gives -inf for a window of -inf; TensorFlow's never does. Only
        # then (one min over the output to find out) the exact, slower, path
        if xc.is_floating_point() and out.numel() and not bool(out.detach().amin() > -math.inf):
            out = _TfMaxPool.apply(xc, pool_size, strides, [p[0] for p in pads])
    else:  # TensorFlow's average leaves the padding out of the count
        avg = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[nd - 1]
        if _py_any(p != (0, 0) for p in pads):
            def window_sums(t: torch.Tensor) -> torch.Tensor:
                if nd == 1:  # avg_pool1d has no divisor_override: a 1 x k window of avg_pool2d
                    return F.avg_pool2d(t.unsqueeze(-2), (1, pool_size[0]), (1, strides[0]),
                                        divisor_override=1).squeeze(-2)
                return avg(t, pool_size, strides, divisor_override=1)
            total = window_sums(F.pad(xc, _torch_pad(pads)))
            ones = torch.ones((1, 1, *xc.shape[2:]), dtype=xc.dtype, device=xc.device)
            count = window_sums(F.pad(ones, _torch_pad(pads)))
            out = total / count
        else:
            out = avg(xc, pool_size, strides)
    return _from_channels_first(out, data_format)


def pool2d(x: TensorLike, pool_size, strides=(1, 1), padding: str = "valid", data_format=None,
           pool_mode: str = "max") -> torch.Tensor:
    """``K.pool2d``: max or average pooling with TensorFlow's ``'same'`` padding (the padding never wins a max
    and is left out of an average's count)."""
    if len(pool_size) != 2:
        raise ValueError("`pool_size` must be a tuple of 2 integers.")
    if len(strides) != 2:
        raise ValueError("`strides` must be a tuple of 2 integers.")
    return _pool(x, pool_size, strides, padding, data_format, pool_mode, 2)


def pool3d(x: TensorLike, pool_size, strides=(1, 1, 1), padding: str = "valid", data_format=None,
           pool_mode: str = "max") -> torch.Tensor:
    """``K.pool3d``: :func:`pool2d` over three spatial axes."""
    return _pool(x, pool_size, strides, padding, data_format, pool_mode, 3)


def bias_add(x: TensorLike, bias: TensorLike, data_format=None) -> torch.Tensor:
    """``K.bias_add``: a 1-D bias along the channel axis (the last, or axis 1 for ``'channels_first'``), or a bias
    of rank ``ndim(x) - 1`` (channels last in it) for rank-3 to rank-5 inputs."""
    data_format = _data_format(data_format)
    x, bias = _pair(_t(x), _t(bias))
    if bias.dim() != 1 and bias.dim() != x.dim() - 1:
        raise ValueError(f"Unexpected bias dimensions {bias.dim()}. Expected it to be 1 or {x.dim() - 1} dimensions")
    if bias.dim() == 1:
        axis = 1 if data_format == "channels_first" else x.dim() - 1
        if x.dim() < 2 or x.shape[axis] != bias.shape[0]:
            raise ValueError(f"Must provide as many biases as the channel dimension of the input tensor: bias "
                             f"{tuple(bias.shape)}, input {tuple(x.shape)} ({data_format})")
        shape = [1] * x.dim()
        shape[axis] = bias.shape[0]
        return x + bias.reshape(shape)
    if x.dim() in (3, 4, 5):
        if data_format == "channels_first":
            return x + bias.permute(bias.dim() - 1, *range(bias.dim() - 1)).unsqueeze(0)
        return x + bias.unsqueeze(0)
    raise ValueError(f"bias_add: a rank-{bias.dim()} bias needs a rank-3 to rank-5 input, got rank {x.dim()}")


def batch_normalization(x: TensorLike, mean: TensorLike, var: TensorLike, beta, gamma, axis: int = -1,
                        epsilon: float = 1e-3) -> torch.Tensor:  # noqa: A002 - Keras's name
    """``K.batch_normalization`` (``tf.nn.batch_normalization``, ``axis`` unused as in Keras):
    ``inv = rsqrt(var + epsilon) * gamma``, ``x * inv + (beta - mean * inv)`` in that order."""
    x = _t(x)
    mean, var = _like(mean, x), _like(var, x)
    inv = torch.rsqrt(var + epsilon)
    if gamma is not None:
        inv = inv * _like(gamma, x)
    shift = _like(beta, x) - mean * inv if beta is not None else -mean * inv
    return x * inv.to(x.dtype) + shift.to(x.dtype)


def temporal_padding(x: TensorLike, padding=(1, 1)) -> torch.Tensor:
    """``K.temporal_padding``: zeros before and after the middle axis of ``(N, T, C)``."""
    if len(padding) != 2:
        raise ValueError(f"Expected `padding` to be a tuple of 2 integers. Received: padding={padding}")
    return F.pad(_t(x), [0, 0, int(padding[0]), int(padding[1])])


def _spatial_padding(x: TensorLike, padding, data_format, nd: int) -> torch.Tensor:
    if len(padding) != nd or _py_any(len(p) != 2 for p in padding):
        word = {2: "2", 3: "3"}[nd]
        raise ValueError(f"Expected `padding` to be a tuple of {word} tuples of 2 integers. Received: "
                         f"padding={padding}")
    data_format = _data_format(data_format)
    pads = [(int(a), int(b)) for a, b in padding]
    x = _t(x)
    if data_format == "channels_first":
        return F.pad(x, _torch_pad(pads))
    return F.pad(x, [0, 0] + _torch_pad(pads))


def spatial_2d_padding(x: TensorLike, padding=((1, 1), (1, 1)), data_format=None) -> torch.Tensor:
    """``K.spatial_2d_padding``: zeros around the two spatial axes."""
    return _spatial_padding(x, padding, data_format, 2)


def spatial_3d_padding(x: TensorLike, padding=((1, 1), (1, 1), (1, 1)), data_format=None) -> torch.Tensor:
    """``K.spatial_3d_padding``: zeros around the three spatial axes."""
    return _spatial_padding(x, padding, data_format, 3)


def resize_images(x: TensorLike, height_factor: int, width_factor: int, data_format: str,
                  interpolation: str = "nearest") -> torch.Tensor:
    """``K.resize_images`` by integer factors: ``'nearest'`` repeats pixels (the dtype kept); ``'bilinear'`` is
    ``tf.image.resize``'s half-pixel bilinear, in float32 as TensorFlow returns it. TensorFlow's other methods
    (``'area'``, ``'bicubic'``, ``'gaussian'``, ``'lanczos3'``, ``'lanczos5'``, ``'mitchellcubic'``) are not
    ported and raise ``NotImplementedError``."""
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(f"Invalid `data_format` argument: {data_format}")
    known = ("area", "bicubic", "bilinear", "gaussian", "lanczos3", "lanczos5", "mitchellcubic", "nearest")
    if interpolation not in known:
        names = '"' + '", "'.join(known) + '"'
        raise ValueError(f'`interpolation` argument should be one of: {names}. Received: "{interpolation}".')
    x = _t(x)
    xc = _to_channels_first(x, data_format)
    if interpolation == "nearest":
        out = xc.repeat_interleave(int(height_factor), dim=2).repeat_interleave(int(width_factor), dim=3)
    elif interpolation == "bilinear":
        size = (xc.shape[2] * int(height_factor), xc.shape[3] * int(width_factor))
        out = F.interpolate(xc.to(torch.float32), size=size, mode="bilinear", align_corners=False)
    else:
        raise NotImplementedError(f"resize_images: interpolation={interpolation!r} is not ported (use 'nearest' "
                                  "or 'bilinear')")
    return _from_channels_first(out, data_format)


def resize_volumes(x: TensorLike, depth_factor: int, height_factor: int, width_factor: int,
                   data_format: str) -> torch.Tensor:
    """``K.resize_volumes``: each voxel repeated along the three spatial axes."""
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(f"Invalid data_format: {data_format}")
    first = 2 if data_format == "channels_first" else 1
    out = _t(x)
    for offset, factor in enumerate((depth_factor, height_factor, width_factor)):
        out = out.repeat_interleave(int(factor), dim=first + offset)
    return out


# --------------------------------------------------------------------------------------------------------------
# CTC: the loss of Keras 2's OCR and speech models, and its decoders (the blank is the LAST class)
# --------------------------------------------------------------------------------------------------------------


def ctc_label_dense_to_sparse(labels: TensorLike, label_lengths: TensorLike) -> torch.Tensor:
    """``K.ctc_label_dense_to_sparse``: the first ``label_lengths[n]`` labels of each row as a sparse COO tensor
    of ``labels``' shape (indices ``[row, position]`` in row order)."""
    labels, lengths = _t(labels), _t(label_lengths).reshape(-1).to(torch.int64)
    if labels.dim() != 2 or lengths.shape[0] != labels.shape[0]:
        raise ValueError(f"ctc_label_dense_to_sparse: labels (N, S) and N lengths expected, got "
                         f"{tuple(labels.shape)} and {tuple(lengths.shape)}")
    positions = torch.arange(labels.shape[1], device=labels.device)
    mask = positions.unsqueeze(0) < lengths.to(labels.device).unsqueeze(1)
    indices = mask.nonzero().t()
    return torch.sparse_coo_tensor(indices, labels[mask], tuple(labels.shape), check_invariants=True,
                                   is_coalesced=True)


def _lengths(value: TensorLike, n: int, name: str) -> torch.Tensor:
    t = _t(value)
    if t.dim() != 2 or t.shape != (n, 1):
        raise ValueError(f"ctc_batch_cost: `{name}` must have shape (batch_size, 1) = ({n}, 1), got "
                         f"{tuple(t.shape)}")
    return t.reshape(-1).to(torch.int64)  # tf.cast to int32 truncates a float length


def _raise_ctc_input_error(labels: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor, steps: int,
                       classes: int) -> None:
    """TensorFlow's error (as ``ValueError``) for the first invalid row of a CTC batch."""
    for row in range(labels.shape[0]):
        length, used = int(inputs[row]), int(targets[row])
        if length > steps or length < 0:
            raise ValueError(f"ctc_batch_cost: input_length {length} of row {row} is outside [0, {steps}]")
        if used <= 0:
            raise ValueError(f"ctc_batch_cost: label length is zero in row {row} (TensorFlow: \"Labels length "
                             "is zero\")")
        if used > labels.shape[1]:
            raise ValueError(f"ctc_batch_cost: label_length {used} of row {row} is longer than y_true's "
                             f"{labels.shape[1]} columns")
        if used > length:
            raise ValueError(f"ctc_batch_cost: not enough time for the target in row {row} (required: {used}, "
                             f"available: {length})")
        row_labels = labels[row, :used]
        if bool((row_labels < 0).any()):
            raise ValueError(f"ctc_batch_cost: row {row} has a negative label ({row_labels.tolist()}); "
                             "TensorFlow: \"All labels must be nonnegative integers\"")
        null = row_labels >= classes - 1
        if bool(null.any()) and not bool(null[int(null.nonzero()[0, 0]):].all()):
            raise ValueError(f"ctc_batch_cost: row {row} has a label after a null one (index >= "
                             f"{classes - 1}, the blank): {row_labels.tolist()}; TensorFlow: \"Saw a non-null "
                             "label (index >= num_classes - 1) following a null label\"")


def ctc_batch_cost(y_true: TensorLike, y_pred: TensorLike, input_length: TensorLike,
                   label_length: TensorLike) -> torch.Tensor:
    """``K.ctc_batch_cost(y_true, y_pred, input_length, label_length)``: the CTC loss of each row, shape ``(N, 1)``.

    ``y_pred`` ``(N, T, C)`` holds softmax probabilities whose LAST class is the blank; ``y_true`` ``(N, S)`` the
    labels (the first ``label_length[n]`` of each row are read, the rest ignored); ``input_length`` and
    ``label_length`` are ``(N, 1)``. As TensorFlow computes it: ``log(y_pred + epsilon)``, renormalised by a log
    softmax over the classes (TensorFlow's CTC treats its inputs as logits), then the CTC negative log likelihood
    over the first ``input_length[n]`` steps, in ``y_pred``'s dtype; the gradient is TensorFlow's (zero after a
    row's ``input_length``). As TensorFlow's, a label ``>= C - 1`` (the blank, or a padding value over it, as
    keras.io's handwriting script's ``99``) ends the row's labelling: ``[1, 2, 99, 99]`` costs what ``[1, 2]``
    costs. A labelling whose repeats need more steps than ``input_length`` costs ``inf``, as in TensorFlow, with
    TensorFlow's finite gradient there (the softmax of the inputs: masking the ``inf`` out of a loss leaves the
    other rows' gradients intact, where torch's ``F.ctc_loss`` gives NaN).
    TensorFlow's errors are ``ValueError`` here: a label length of 0 or over ``input_length`` (padding included),
    an ``input_length`` over ``T``, a negative label, a label after a null one.

    Example (two steps, classes ``{0, 1, blank}``, the label ``[1]``):
        >>> import torch
        >>> from torch_impl import keras_backend as K
        >>> p = torch.tensor([[[0.2, 0.6, 0.2], [0.1, 0.3, 0.6]]], dtype=torch.float64)
        >>> K.ctc_batch_cost(torch.tensor([[1]]), p, torch.tensor([[2]]), torch.tensor([[1]]))
        tensor([[0.5108]], dtype=torch.float64)
    """
    y_pred = _t(y_pred)
    if y_pred.dim() != 3:
        raise ValueError(f"ctc_batch_cost: y_pred must be (batch_size, steps, classes), got {tuple(y_pred.shape)}")
    if not y_pred.is_floating_point():
        y_pred = y_pred.to(torch.float32)
    n, steps, classes = y_pred.shape
    labels = _t(y_true)
    if labels.dim() != 2 or labels.shape[0] != n:
        raise ValueError(f"ctc_batch_cost: y_true must be (batch_size, max_label_length) = ({n}, S), got "
                         f"{tuple(labels.shape)}")
    labels = labels.to(torch.int64).to(y_pred.device)
    inputs = _lengths(input_length, n, "input_length").to(y_pred.device)
    targets = _lengths(label_length, n, "label_length").to(y_pred.device)
    # TensorFlow's labelling of a row: its first label_length labels up to the first null one (>= C - 1, the blank
    # or a padding value over it: keras.io's handwriting script pads with 99), which ends it
    positions = torch.arange(labels.shape[1], device=labels.device)
    read = positions < targets.unsqueeze(1)
    ends = read & (labels >= classes - 1)
    if not _ops.values_hidden(inputs):
        after_null = read & ~ends & ((ends.cumsum(1) - ends.long()) > 0)
        invalid = ((inputs > steps) | (inputs < 0) | (targets <= 0) | (targets > labels.shape[1]) | (targets > inputs)
                   | (read & (labels < 0)).any(1) | after_null.any(1))
        if bool(invalid.any()):  # one check on the batch; the first bad row's error, as TensorFlow words it
            _raise_ctc_input_error(labels, inputs, targets, steps, classes)
    first_null = torch.where(ends, positions, torch.full_like(positions, labels.shape[1])).min(1).values
    effective = torch.minimum(targets, first_null)
    safe_labels = torch.where(positions < effective.unsqueeze(1), labels, torch.zeros_like(labels))
    log_inputs = torch.log(y_pred + epsilon())
    log_probs = torch.log_softmax(log_inputs, dim=-1).transpose(0, 1)  # (T, N, C)
    # a row whose labelling (with a blank between repeats) needs more steps than it has costs inf; TensorFlow's
    # gradient there is the softmax of its inputs (no path to subtract), finite, not torch's NaN
    repeats = ((labels[:, 1:] == labels[:, :-1]) & (positions[1:] < effective.unsqueeze(1))).sum(1)
    impossible = effective + repeats > inputs
    loss = F.ctc_loss(log_probs, safe_labels, inputs, effective, blank=classes - 1, reduction="none",
                      zero_infinity=True)
    if bool(impossible.any()):
        within = (torch.arange(steps, device=inputs.device).unsqueeze(0) < inputs.unsqueeze(1)).unsqueeze(-1)
        mass = torch.where(within, torch.logsumexp(log_inputs, -1, keepdim=True), 0).sum((1, 2))
        loss = torch.where(impossible, (mass - mass.detach()) + math.inf, loss)
    return loss.to(y_pred.dtype).unsqueeze(1)


def ctc_decode(y_pred: TensorLike, input_length: TensorLike, greedy: bool = True, beam_width: int = 100,
               top_paths: int = 1) -> tuple[list, torch.Tensor]:
    """``K.ctc_decode(y_pred, input_length, greedy=True, beam_width=100, top_paths=1)``.

    ``y_pred`` ``(N, T, C)`` softmax probabilities (blank last), ``input_length`` ``(N,)``. Decodes
    ``log(y_pred + epsilon)`` as TensorFlow does (float32 on the CPU with TensorFlow's log, bit for bit) and returns
    ``([decoded], log_prob)``: ``decoded`` holds ``(N, T)`` int64 tensors, each row's labels then ``-1``;
    ``greedy``: one path (first maximum per step, repeats merged, blanks dropped) and ``log_prob`` ``(N, 1)`` =
    minus the sum of the step maxima (TensorFlow's sign); beam search: TensorFlow's algorithm
    (``torch_impl._ctc_decode``), ``top_paths`` paths and their log probabilities ``(N, top_paths)``; a path drops
    a label equal to the one before it (TensorFlow v1's ``merge_repeated``). Runs on the CPU in Python (no
    gradient, as TensorFlow's decoders have none).

    Example:
        >>> import torch
        >>> from torch_impl import keras_backend as K
        >>> p = torch.tensor([[[0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.7, 0.2, 0.1]]])
        >>> decoded, log_prob = K.ctc_decode(p, torch.tensor([3]))
        >>> decoded[0]
        tensor([[ 1,  0, -1]])
    """
    from torch_impl import _ctc_decode, _eigen_math

    y_pred = _t(y_pred)
    if y_pred.dim() != 3:
        raise ValueError(f"ctc_decode: y_pred must be (batch_size, steps, classes), got {tuple(y_pred.shape)}")
    if not y_pred.is_floating_point():
        y_pred = y_pred.to(torch.float32)
    n, steps, _ = y_pred.shape
    lengths = _t(input_length)
    if lengths.dim() != 1 or lengths.shape[0] != n:
        raise ValueError(f"ctc_decode: input_length must be a vector of {n} lengths, got {tuple(lengths.shape)}")
    lengths = lengths.to(torch.int64).tolist()
    if _py_any(length < 0 or length > steps for length in lengths):
        raise ValueError(f"ctc_decode: an input_length is outside [0, {steps}]: {lengths}")
    shifted = y_pred.detach() + epsilon()
    if shifted.dtype == torch.float32 and shifted.device.type == "cpu":
        # TensorFlow's float32 log (Eigen's), bit for bit, over Keras's time-major (T, N, C) layout
        scores = _eigen_math.log(shifted.transpose(0, 1)).transpose(0, 1).numpy()
    else:
        scores = torch.log(shifted).cpu().numpy()
    if greedy:
        paths, log_prob = _ctc_decode.greedy_decode(scores, lengths)
        all_paths = [paths]
    else:
        all_paths, log_prob = _ctc_decode.beam_search_decode(scores, lengths, int(beam_width), int(top_paths))
    decoded = list(_ctc_decode.dense_paths(all_paths, n, steps).to(y_pred.device))
    return decoded, torch.as_tensor(log_prob).to(y_pred.device)


# --------------------------------------------------------------------------------------------------------------
# Random draws: TensorFlow's *stateful* kernels (tf.random.normal/uniform/truncated_normal, tf.nn.dropout with a
# seed), as Keras 2's K.random_* call them
# --------------------------------------------------------------------------------------------------------------

def _op_seed(seed, high) -> int:
    """Keras's legacy rule: no seed draws one from NumPy's global generator (``np.random.randint(high)``)."""
    if seed is None:
        return int(np.random.randint(high))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer or None, got {seed!r}")
    return int(seed)


def _random_shape(shape) -> tuple:
    if isinstance(shape, torch.Tensor):
        shape = shape.tolist()
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    out = tuple(int(s.item()) if isinstance(s, torch.Tensor) else int(s) for s in shape)
    for s in out:
        if s < 0:
            raise ValueError(f"Dimension {s} must be >= 0 (TensorFlow raises InvalidArgumentError)")
    return out


def _random_float_dtype(dtype) -> torch.dtype:
    dt = _torch_dtype(dtype) or _floatx_dtype()
    if not dt.is_floating_point:
        raise ValueError(f"this draw needs a floating dtype, got {dtype}")
    return dt


def _stateful_values(op: str, shape: tuple, dt: torch.dtype, op_seed: int) -> torch.Tensor:
    n = math.prod(shape)
    stream = _tf_random.stateful_stream(op, dt, op_seed, n)
    if op == "RandomStandardNormal":
        return _tf_random.stateless_normal(shape, stream, dt)
    if op == "TruncatedNormal":
        return _tf_random.stateless_truncated_normal(shape, stream, dt)
    return _tf_random.stateless_uniform(shape, stream, dt)


def _scalar(value, dt: torch.dtype) -> torch.Tensor:
    """``ops.convert_to_tensor(value, dtype)`` of a mean, stddev or bound."""
    if isinstance(value, torch.Tensor):
        return value.to(dt)
    return torch.as_tensor(np.asarray(value), dtype=dt)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None) -> torch.Tensor:
    """``K.random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None)``: TensorFlow's stateful
    ``tf.random.normal``, ``z * stddev + mean``, bit for bit (off Linux an ulp on ~1% of the values: glibc's
    ``logf``/``sincosf``, :mod:`torch_impl._tf_random`).

    As in TensorFlow's eager mode, each ``(op, dtype, seed)`` keeps its generator: two calls with ``seed=1`` give
    different values, until :func:`torch_impl.keras_random.set_random_seed` (``keras.utils.set_random_seed``,
    which calls ``tf.random.set_seed``) starts them over; the global seed (``87654321`` when none is set) is the
    generator's key. ``seed=None`` takes ``np.random.randint(10e6)``, as Keras does.

    Example (Keras 2's VAE: ``epsilon = K.random_normal(shape=(batch, latent_dim), mean=0., stddev=1.0)``):
        >>> from torch_impl import keras_random
        >>> keras_random.set_random_seed(1234)
        >>> random_normal((3,), seed=1)       # tf.random.set_seed(1234); K.random_normal((3,), seed=1)
        tensor([-0.3236,  1.8577,  0.3956])
        >>> random_normal((3,), seed=1)       # the same op and seed: the generator has moved on
        tensor([ 0.3767, -0.1155, -0.2529])
    """
    dt, shape = _random_float_dtype(dtype), _random_shape(shape)
    z = _stateful_values("RandomStandardNormal", shape, dt, _op_seed(seed, 10e6))
    return z * _scalar(stddev, dt) + _scalar(mean, dt)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None) -> torch.Tensor:
    """``K.truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None)``: TensorFlow's stateful
    ``tf.random.truncated_normal`` (``|z| < 2``), ``z * stddev + mean``; generators as :func:`random_normal`."""
    dt, shape = _random_float_dtype(dtype), _random_shape(shape)
    z = _stateful_values("TruncatedNormal", shape, dt, _op_seed(seed, 10e6))
    return z * _scalar(stddev, dt) + _scalar(mean, dt)


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None) -> torch.Tensor:
    """``K.random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None)``: TensorFlow's stateful
    ``tf.random.uniform``, ``u * (maxval - minval) + minval`` (``u`` alone for the integer bounds 0 and 1), bit for
    bit; generators as :func:`random_normal`. An int32/int64 ``dtype`` is TensorFlow's stateful
    ``RandomUniformInt`` (integer bounds only, ``minval + bits % (maxval - minval)``), its own generator."""
    if _torch_dtype(dtype) in (torch.int32, torch.int64):
        return _stateful_randint(shape, minval, maxval, _torch_dtype(dtype), _op_seed(seed, 10e6))
    dt, shape = _random_float_dtype(dtype), _random_shape(shape)
    u = _stateful_values("RandomUniform", shape, dt, _op_seed(seed, 10e6))
    raw_zero = isinstance(minval, int) and not isinstance(minval, bool) and minval == 0
    raw_one = isinstance(maxval, int) and not isinstance(maxval, bool) and maxval == 1
    if raw_zero and raw_one:
        return u
    lo, hi = _scalar(minval, dt), _scalar(maxval, dt)
    return u * hi if raw_zero else u * (hi - lo) + lo


def _stateful_randint(shape, minval, maxval, dt: torch.dtype, op_seed: int) -> torch.Tensor:
    """``tf.random.uniform(shape, minval, maxval, dtype=int32/int64, seed)``: the stateful ``RandomUniformInt``
    kernel, one 32-bit word per int32 value, two (low word first) per int64 value, ``lo + bits % (hi - lo)``."""
    def bound(v, what):
        if isinstance(v, torch.Tensor) and not v.is_floating_point() and v.numel() == 1:
            return int(v)
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            return int(v)
        raise TypeError(f"Cannot convert {v!r} to EagerTensor of dtype {str(dt)[6:]} ({what})")
    lo, hi = bound(minval, "minval"), bound(maxval, "maxval")
    shape = _random_shape(shape)
    if lo >= hi:
        raise ValueError(f"Need minval < maxval, got {lo} >= {hi} (TensorFlow raises InvalidArgumentError)")
    n, per = math.prod(shape), 4 if dt == torch.int32 else 2
    stream = _tf_random.stateful_stream("RandomUniformInt", dt, op_seed, n)
    words = _tf_random._blocks(stream, torch.arange((n + per - 1) // per, dtype=torch.int64)).reshape(-1)
    span = hi - lo
    if dt == torch.int32:
        values = [lo + int(w) % span for w in words[:n].tolist()]
    else:
        low, high = words[0::2][:n].tolist(), words[1::2][:n].tolist()
        values = [lo + ((int(h) << 32) | int(w)) % span for h, w in zip(high, low)]
    return torch.tensor(values, dtype=torch.int64).reshape(shape).to(dt)


def random_bernoulli(shape, p=0.0, dtype=None, seed=None) -> torch.Tensor:
    """``K.random_bernoulli(shape, p=0.0, dtype=None, seed=None)``: ``1`` where TensorFlow's stateful uniform draw
    is ``<= p``, else ``0``, in ``dtype`` (floatx)."""
    dt, shape = _random_float_dtype(dtype), _random_shape(shape)
    u = _stateful_values("RandomUniform", shape, dt, _op_seed(seed, 10e6))
    return (u <= _scalar(p, dt)).to(dt)


def random_normal_variable(shape, mean, scale, dtype=None, name=None, seed=None) -> torch.Tensor:
    """``K.random_normal_variable(shape, mean, scale, dtype=None, name=None, seed=None)``: the values of
    ``tf.compat.v1.random_normal_initializer(mean, scale, seed)(shape)`` (the stateful normal; ``seed=None`` takes
    ``np.random.randint(10e8)``), as a tensor like :func:`variable`'s."""
    dt, shape = _random_float_dtype(dtype), _random_shape(shape)
    z = _stateful_values("RandomStandardNormal", shape, dt, _op_seed(seed, 10e8))
    return z * _scalar(scale, dt) + _scalar(mean, dt)


def random_uniform_variable(shape, low, high, dtype=None, name=None, seed=None) -> torch.Tensor:
    """``K.random_uniform_variable(shape, low, high, dtype=None, name=None, seed=None)``: the values of
    ``tf.compat.v1.random_uniform_initializer(low, high, seed)(shape)`` (``seed=None``: ``np.random.randint(10e8)``),
    as a tensor like :func:`variable`'s."""
    dt, shape = _random_float_dtype(dtype), _random_shape(shape)
    u = _stateful_values("RandomUniform", shape, dt, _op_seed(seed, 10e8))
    return u * (_scalar(high, dt) - _scalar(low, dt)) + _scalar(low, dt)


def dropout(x: TensorLike, level: float, noise_shape=None, seed=None) -> torch.Tensor:
    """``K.dropout(x, level, noise_shape=None, seed=None)``: ``tf.nn.dropout(x, rate=level, noise_shape, seed)``:
    ``where(u >= level, x * (1 / (1 - level)), 0)`` with ``u`` TensorFlow's stateful uniform in ``x``'s dtype over
    ``noise_shape`` (``None`` entries take ``x``'s size); ``level`` 0 returns ``x`` (no draw). ``seed=None`` takes
    ``np.random.randint(10e6)``. The gradient flows through the kept entries, scaled."""
    x = _t(x)
    op_seed = _op_seed(seed, 10e6)
    if not x.is_floating_point():
        raise ValueError(f"`x.dtype` must be a floating point tensor as `x` will be scaled. Received: "
                         f"x_dtype={str(x.dtype).replace('torch.', '')}")
    level = float(level)
    if not 0 <= level < 1:
        raise ValueError(f"`rate` must be a scalar tensor or a float in the range [0, 1). Received: rate={level}")
    if level == 0:
        return x
    shape = tuple(x.shape) if noise_shape is None else tuple(
        x.shape[i] if s is None else int(s) for i, s in enumerate(noise_shape))
    return _tf_random.apply_dropout(x, _stateful_values("RandomUniform", shape, x.dtype, op_seed), level)


# --------------------------------------------------------------------------------------------------------------
# K.rnn: Keras 2's loop over time of a custom cell
# --------------------------------------------------------------------------------------------------------------

def _flat(x) -> tuple:
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def _pack(like, flat: Sequence[torch.Tensor]):
    if isinstance(like, (list, tuple)):
        return type(like)(flat)
    return flat[0]


def _where_rows(mask_t: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``tf.where`` of a per-sample condition (``(B,)`` or ``(B, 1)``) over ``a``/``b`` of any rank ``>= 1``."""
    m = mask_t.reshape(mask_t.shape[0], *([1] * (a.dim() - 1)))
    return torch.where(m, a, b)


def rnn(step_function: Callable, inputs, initial_states, go_backwards: bool = False, mask=None, constants=None,
        unroll: bool = False, input_length=None, time_major: bool = False, zero_output_for_mask: bool = False,
        return_all_outputs: bool = True):
    """``K.rnn(step_function, inputs, initial_states, ...)``: Keras 2's loop over the time axis of a custom cell,
    ``(last_output, outputs, new_states)``.

    ``step_function(input_t, states + constants) -> (output_t, new_states)`` is called per step on ``inputs`` of
    shape ``(batch, time, ...)`` (``(time, batch, ...)`` with ``time_major``; a list or tuple of such tensors is
    handed over as one), in reverse with ``go_backwards``. Keras's masking: where ``mask`` (``(batch, time)``) is
    False, the states keep their previous values and the output repeats the previous step's (zeros before the
    first step, or zeros throughout with ``zero_output_for_mask``); an ``input_length`` tensor (``(batch,)``) masks
    the steps at and past each sample's length when there is no mask (TensorFlow's while-loop; ``unroll=True``
    ignores it), and any ``input_length`` (an int too) stops the loop after ``max(input_length)`` steps, as the
    while-loop's ``maximum_iterations`` does: the later outputs are zeros, and so is the last output. As Keras's
    eager loop, the cell is called once more first, on the first step and the initial
    states, to learn the output's shape (a cell that draws random numbers draws once more there too; not with
    ``unroll=True``). ``return_all_outputs=False`` returns the last output only, with a time axis of 1.
    Keras's unrolled loop (``unroll=True``) is kept as it is: with ``zero_output_for_mask`` it zeroes the masked
    outputs after the loop with the mask in its original time order (with ``go_backwards``, the mirrored steps);
    it raises for a cell of several outputs, and with a mask, ``zero_output_for_mask`` and
    ``return_all_outputs=False`` (both raise here too).

    Example (a SimpleRNN cell):
        >>> W, U = torch.full((2, 3), 0.1), torch.eye(3) * 0.5
        >>> def step(x_t, states):
        ...     h = torch.tanh(x_t @ W + states[0] @ U)
        ...     return h, [h]
        >>> x = torch.ones(1, 4, 2)
        >>> last, outputs, states = rnn(step, x, [torch.zeros(1, 3)], mask=torch.tensor([[1, 1, 1, 0]]))
        >>> outputs.shape, torch.equal(outputs[:, 3], outputs[:, 2])   # the masked step repeats the last output
        (torch.Size([1, 4, 3]), True)
    """
    flat_inputs = tuple(_t(x) for x in _flat(inputs))
    for x in flat_inputs:
        if x.dim() < 3:
            raise ValueError(f"Shape must be at least rank 3 but is rank {x.dim()}")
    if not time_major:
        flat_inputs = tuple(x.transpose(0, 1) for x in flat_inputs)
    steps = flat_inputs[0].shape[0]
    states = tuple(_flat(initial_states))
    constants = tuple(constants or ())
    if go_backwards:
        flat_inputs = tuple(x.flip(0) for x in flat_inputs)
    if mask is not None:
        mask = _t(mask)
        mask = mask if mask.dtype == torch.bool else mask.to(torch.bool)
        if mask.dim() == 2:
            mask = mask.unsqueeze(-1)
        if not time_major:
            mask = mask.transpose(0, 1)
        if go_backwards:
            mask = mask.flip(0)

    if unroll and mask is not None and zero_output_for_mask and not return_all_outputs:
        # Keras's unrolled loop zeroes the masked outputs with the whole (time, batch) mask after the loop, which
        # broadcasts the single kept output back to every step; TensorFlow's set_shape then raises
        raise ValueError("Tensor's shape is not compatible with supplied shape: K.rnn(unroll=True, mask=...,"
                         " zero_output_for_mask=True, return_all_outputs=False) fails in Keras")

    def masking(t: int):
        if mask is not None:
            return mask[t]
        if input_length is not None and not unroll and isinstance(input_length, torch.Tensor):
            if go_backwards:
                rev = input_length.max() - 1 - input_length
                return rev < t
            return input_length > t
        return None

    def input_at(t: int):
        return _pack(inputs, [x[t] for x in flat_inputs])

    if not unroll:
        if steps == 0:
            raise ValueError("K.rnn needs at least one time step")
        first, _ = step_function(input_at(0), states + constants)
        prev = tuple(torch.zeros_like(o) for o in _flat(first))
    else:
        prev = None
    # Keras's unrolled loop carries the previous output under the mask even with zero_output_for_mask, and zeroes
    # the masked outputs after the loop with the mask in its original time order (so with go_backwards it zeroes
    # the mirrored steps); TensorFlow's while-loop zeroes them in the loop
    zero_in_loop = zero_output_for_mask and not unroll
    written = []
    iterations = steps
    if input_length is not None and not unroll:
        # TensorFlow's while-loop runs ``maximum_iterations=reduce_max(input_length)`` steps: the outputs past them
        # stay zeros (unwritten TensorArray entries), the last output is the last (maybe zero) entry
        iterations = int(torch.as_tensor(input_length).max().clamp(0, steps))  # (K.min/K.max shadow the builtins)
    for t in range(iterations):
        output, new_states = step_function(input_at(t), states + constants)
        if unroll and isinstance(output, (list, tuple)):
            raise ValueError("Tensor's shape is not compatible with supplied shape: K.rnn(unroll=True) with a cell "
                             "of several outputs fails in Keras (it stacks the outputs' tuples)")
        flat_out, flat_new = _flat(output), tuple(_flat(new_states))
        m = masking(t)
        if m is not None:
            if prev is None:
                prev = tuple(torch.zeros_like(o) for o in flat_out)
            fill = tuple(torch.zeros_like(o) for o in flat_out) if zero_in_loop else prev
            flat_out = tuple(_where_rows(m, o, f) for o, f in zip(flat_out, fill))
            flat_new = tuple(_where_rows(m, s, ps) for s, ps in zip(flat_new, states))
        prev = flat_out
        states = flat_new
        if return_all_outputs:
            written.append(flat_out)
        else:
            written = [flat_out]
    if iterations < steps:  # the unwritten steps (all of them, or the one slot of return_all_outputs=False)
        zeros = tuple(torch.zeros_like(o) for o in _flat(first))
        written += [zeros] * ((steps if return_all_outputs else 1) - len(written))
        if not iterations:
            output = first
    stacked = tuple(torch.stack([w[i] for w in written]) for i in range(len(written[0])))
    last = tuple(o[-1] for o in stacked)
    if unroll and mask is not None and zero_output_for_mask:
        original = mask.flip(0) if go_backwards else mask  # (time, batch, 1), the caller's time order
        last = tuple(_where_rows(mask[-1], o, torch.zeros_like(o)) for o in last)
        stacked = tuple(torch.where(original.reshape(*original.shape[:2], *([1] * (o.dim() - 2))), o,
                                    torch.zeros_like(o)) for o in stacked)
    like = output
    outputs = _pack(like, stacked)
    last_output = _pack(like, last)
    if not time_major:
        outputs = _pack(like, [o.transpose(0, 1) for o in _flat(outputs)])
    return last_output, outputs, tuple(states)


# --------------------------------------------------------------------------------------------------------------
# Gradients and variable updates
# --------------------------------------------------------------------------------------------------------------

def gradients(loss: torch.Tensor, variables) -> list:
    """``K.gradients(loss, variables)``: ``tf.gradients``, the gradient of ``sum(loss)`` with respect to each
    variable (``None`` for one the loss does not depend on), kept differentiable (``create_graph=True``), so a
    penalty on it trains: Keras 2's WGAN-GP ``gradients = K.gradients(y_pred, averaged_samples)[0]``.

    Keras runs it inside its traced training step (``tf.gradients`` raises in eager mode); here it works anywhere
    autograd recorded ``loss`` from the variables (tensors with ``requires_grad``).

    Example:
        >>> x = torch.tensor([1.0, 2.0], requires_grad=True)
        >>> g = gradients(x ** 3, [x])[0]
        >>> g, torch.autograd.grad(g.sum(), x)[0]     # 3 x**2, and its own gradient 6 x
        (tensor([ 3., 12.], grad_fn=<MulBackward0>), tensor([ 6., 12.]))
    """
    single = isinstance(variables, torch.Tensor)
    xs = [variables] if single else list(variables)
    loss = _t(loss)
    if not loss.requires_grad:
        return [None] * len(xs)
    total = loss.sum() if loss.dim() else loss
    wanted = [i for i, v in enumerate(xs) if isinstance(v, torch.Tensor) and v.requires_grad]
    grads = torch.autograd.grad(total, [xs[i] for i in wanted], create_graph=True, allow_unused=True)
    out: list = [None] * len(xs)
    for i, g in zip(wanted, grads):
        out[i] = g
    return out


def _assigned(value, x: torch.Tensor) -> torch.Tensor:
    """The value ``Variable.assign*`` converts: ``tf.convert_to_tensor(value, dtype=x.dtype)``, so a Python float
    or list goes straight to ``x``'s dtype (exact in float64, not through float32)."""
    v = value if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))
    if not x.is_floating_point() and (v.is_floating_point() or v.is_complex()):
        raise TypeError(f"Cannot convert {value!r} to EagerTensor of dtype {str(x.dtype).replace('torch.', '')} "
                        "(TensorFlow's assign takes the variable's dtype)")
    if tuple(v.shape) != tuple(x.shape):
        raise ValueError(f"Shapes {tuple(x.shape)} and {tuple(v.shape)} are incompatible (TensorFlow's assign needs "
                         "the variable's shape)")
    return v.to(device=x.device, dtype=x.dtype)


def update(x: torch.Tensor, new_x) -> torch.Tensor:
    """``K.update(x, new_x)``: ``x.assign(new_x)``, in place; returns ``x``."""
    with torch.no_grad():
        x.copy_(_assigned(new_x, x))
    return x


def update_add(x: torch.Tensor, increment) -> torch.Tensor:
    """``K.update_add(x, increment)``: ``x.assign_add(increment)``, in place; returns ``x``."""
    with torch.no_grad():
        x.add_(_assigned(increment, x))
    return x


def update_sub(x: torch.Tensor, decrement) -> torch.Tensor:
    """``K.update_sub(x, decrement)``: ``x.assign_sub(decrement)``, in place; returns ``x``."""
    with torch.no_grad():
        x.sub_(_assigned(decrement, x))
    return x


def moving_average_update(x: torch.Tensor, value, momentum) -> torch.Tensor:
    """``K.moving_average_update(x, value, momentum)``: ``x -= (x - value) * (1 - momentum)`` in place, with
    ``momentum`` and ``value`` ``tf.cast`` to ``x``'s dtype (a Python float through float32 first: ``0.99`` is
    ``0.9900000095367432`` in a float64 ``x``); returns ``x``."""
    m = _ops.tf_cast(momentum, x.dtype)
    v = _ops.tf_cast(value, x.dtype)
    with torch.no_grad():
        x.sub_((x - v) * (1 - m))
    return x

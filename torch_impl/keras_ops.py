"""Keras 3's ``keras.ops`` in PyTorch, with the numbers of Keras's TensorFlow backend.

Keras 3 code writes custom losses and metrics with ``from keras import ops`` (keras.io's contrastive loss, VAE,
dice and triplet losses). Replacing each ``ops.x`` by the torch function of the same name silently changes the
numbers and the dtypes, for example:

* ``ops.gelu`` is the *tanh approximation* by default (``approximate=True``; ``F.gelu`` is exact: 1.8e-4
  relative apart at x = 1), with its constant 0.044715 rounded to float32 even in float64; ``ops.leaky_relu``'s
  slope is 0.2 (``F.leaky_relu``: 0.01), held as a float32 (TensorFlow's attribute: in float64 the negative side
  is ``float32(0.2) * x``).
* ``ops.std`` / ``ops.var`` are the population ones (``torch.std`` divides by ``N - 1``); ``ops.mean``,
  ``ops.std``, ``ops.sqrt``, ``ops.log``, ``ops.exp`` of integers are floats (``torch.mean`` of an int tensor
  raises); ``ops.sum`` of booleans is int32; ``ops.argmax`` is int32 (torch: int64), over the flattened tensor
  when ``axis=None``, and treats ``-0.`` as below ``+0.``.
* Keras's own type promotion (``keras.backend.result_type``, JAX's lattice), not torch's: ``ops.add(int32, 1.5)``
  is float32 (floatx: float64 under ``set_floatx('float64')``), ``ops.divide`` of integers is floatx, int32 with
  float16 is float16, Python scalars are "weak" (they take the tensor's dtype and are exact in it). But the
  comparisons convert a Python float to float32 *first*: ``ops.greater(x64, 0.1)`` compares with
  ``float32(0.1) = 0.10000000149011612``.
* ``ops.maximum`` / ``ops.minimum`` give the whole gradient of a tie to the first argument (``torch.maximum``
  halves it): ``ops.maximum(margin - d, 0.)`` exactly at the margin trains differently; ``ops.clip`` passes the
  gradient at the bounds, and ``ops.clip(x, 0.6, 0.4)`` is 0.6 (TensorFlow's ``clip_by_value``; torch: 0.4).
* ``ops.sqrt`` has gradient 0 where the incoming gradient is 0 (torch: NaN at 0); ``ops.cumprod``'s gradient is
  0 at a zero entry; ``ops.abs`` and ``ops.sign`` keep a NaN; ``ops.selu``'s gradient at 0 is ``scale``
  (torch: ``scale * alpha``).
* ``ops.one_hot`` is floatx with rows of zeros for ids out of range (``F.one_hot``: int64, raises);
  ``ops.normalize`` is ``x * min(rsqrt(sum(x**2)), 1 / eps)`` over ``axis=-1``; ``ops.moments`` stops the
  gradient through the mean inside the variance (``tf.nn.moments``); ``ops.norm`` of a zero vector has gradient
  NaN, as TensorFlow's.
* ``ops.binary_crossentropy`` clips to ``[1e-7, 1 - 1e-7]`` (a sure wrong prediction costs 16.118, torch's
  ``binary_cross_entropy`` 100), with no ``+ eps`` in the logs (unlike the legacy ``K.binary_crossentropy``);
  ``ops.categorical_crossentropy`` divides by the sum over ``axis`` first.

Every function here takes keras.ops's arguments (names and defaults), returns Keras's dtype, and has TensorFlow's
gradient (ties, bounds, zeros, NaN), in float32 and float64, checked against ``keras.ops`` on TensorFlow by
``parity_tests/test_keras_ops_keras.py``. A loss written with ``ops`` ports by changing its import only::

    from torch_impl import keras_ops as ops     # was: from keras import ops

Crossentropies of a sigmoid/softmax output: Keras's ``ops.sigmoid`` and ``ops.softmax`` (so also a model's
sigmoid/softmax layer) attach their logits to the output (``_keras_logits``), and
``ops.binary_crossentropy`` / ``ops.categorical_crossentropy`` / ``ops.sparse_categorical_crossentropy`` then use
the logits whatever ``from_logits`` says (no clipping: a saturated wrong softmax costs its logit gap, not at most
16.12). Here
:func:`sigmoid` and :func:`softmax` attach them too, and ``torch_impl.fit`` attaches them to the output of its
``output_activation``; a plain torch model that ends with ``torch.sigmoid`` carries none: pass its logits with
``from_logits=True`` to get Keras's numbers.

What stays torch: Python operators on tensors (``+``, ``*``, ``/``, slicing) are torch's, with torch's type
promotion (in Keras they call ``ops.add``... on Keras tensors, but in a loss ``y_true`` and ``y_pred`` are
TensorFlow tensors, whose operators are TensorFlow's: they raise on mixed dtypes where torch promotes).

The rest of ``keras.ops`` lives in four family modules, imported from here (``ops.det``, ``ops.stft``,
``ops.image.ssim``...; their docstrings list each family's quirks): linear algebra and statistics
(``_keras_ops_linalg``: ``cholesky``... ``svd``, ``median``, ``quantile``, the ``nan`` reductions, ``cdist``),
FFT/signal and the remaining element-wise math (``_keras_ops_fft_math``), the remaining nn ops and ``ops.image``
(``_keras_ops_nn_image``), the array ops and control flow (``_keras_ops_numpy_more``). ``ops.linalg``, ``ops.nn``
and ``ops.numpy`` are here as Keras's sub-namespaces. Every one of keras.ops 3.15.1's 337 functions and of
``ops.image``'s 16 is here; not ported: sparse tensors. Random draws are :mod:`torch_impl.keras_random`.
``ctc_loss`` is here (blank ``mask_index=0``, computed in float32 as TensorFlow does). ``floatx`` is
``torch.get_default_dtype()``; ``epsilon`` is ``torch_impl.keras_backend.epsilon()`` (1e-7).

Example (keras.io's siamese contrastive loss, ported by its import):
    >>> import torch
    >>> from torch_impl import keras_ops as ops
    >>> def contrastive_loss(y_true, y_pred, margin=1.0):
    ...     square_pred = ops.square(y_pred)
    ...     margin_square = ops.square(ops.maximum(margin - (y_pred), 0))
    ...     return ops.mean((1 - y_true) * square_pred + (y_true) * margin_square)
    >>> y = torch.tensor([[1.0], [0.0]], dtype=torch.float64)
    >>> d = torch.tensor([[0.75], [0.5]], dtype=torch.float64, requires_grad=True)
    >>> loss = contrastive_loss(y, d)
    >>> loss.backward()
    >>> print(loss.item(), d.grad.flatten().tolist())   # Keras: 0.15625 [-0.25, 0.5]
    0.15625 [-0.25, 0.5]
    >>> x = torch.zeros(1, requires_grad=True)
    >>> ops.maximum(x, 0.0).sum().backward()
    >>> x.grad   # a tie: the whole gradient to x (torch.maximum: 0.5, F.relu: 0)
    tensor([1.])
    >>> ops.mean(torch.tensor([1, 2], dtype=torch.int32)), ops.argmax(torch.tensor([[0.0, -0.0]]))
    (tensor(1.5000), tensor(0, dtype=torch.int32))
    >>> ops.gelu(torch.tensor([1.0])), ops.leaky_relu(torch.tensor([-1.0]))
    (tensor([0.8412]), tensor([-0.2000]))
"""

from __future__ import annotations

import functools
import math
import string
import warnings
from typing import Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F

from torch_impl import _ops
from torch_impl import keras_backend as _K

__all__ = [
    # math / numpy
    "add", "subtract", "multiply", "divide", "true_divide", "divide_no_nan", "power", "negative", "abs", "absolute",
    "square", "sqrt", "rsqrt", "exp", "expm1", "log", "log1p", "log2", "log10", "sign", "round", "floor", "ceil",
    "clip", "maximum", "minimum", "where", "mean", "sum", "prod", "max", "amax", "min", "amin", "std", "var", "any",
    "all", "argmax", "argmin", "cumsum", "cumprod", "logsumexp", "sort", "argsort", "top_k", "norm", "moments",
    "normalize", "matmul", "dot", "einsum", "tensordot", "transpose", "reshape", "expand_dims", "squeeze",
    "concatenate", "stack", "split", "tile", "repeat", "broadcast_to", "pad", "take", "take_along_axis",
    "one_hot", "multi_hot",
    "equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "logical_and", "logical_or",
    "logical_not", "isnan", "isinf", "isfinite", "nan_to_num", "cast", "convert_to_tensor", "shape", "zeros",
    "ones", "zeros_like", "ones_like", "full", "full_like", "arange", "linspace", "eye", "stop_gradient", "erf",
    "segment_sum", "tanh", "sin", "cos", "sinh", "cosh", "size", "ndim", "count_nonzero", "floor_divide", "mod",
    "logaddexp", "flip", "roll", "tril", "triu", "diag", "diagonal", "trace", "outer", "isclose", "hypot",
    "arctan2", "arcsin", "arccos", "arctan", "tan", "exp2", "reciprocal", "average",
    "searchsorted", "digitize", "bincount",
    # nn
    "relu", "relu6", "sigmoid", "softplus", "softsign", "silu", "swish", "log_sigmoid", "leaky_relu",
    "hard_sigmoid", "hard_silu", "hard_swish", "elu", "selu", "gelu", "softmax", "log_softmax",
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy", "ctc_loss",
    # helpers
    "result_type", "floatx", "epsilon",
]

_py_abs, _py_all, _py_any, _py_max, _py_min, _py_round, _py_sum = abs, all, any, max, min, round, sum

TensorLike = Union[torch.Tensor, np.ndarray, float, int, bool, Sequence]

floatx = _K.floatx
epsilon = _K.epsilon

# --------------------------------------------------------------------------------------------------------------
# Keras's type promotion (keras/src/backend/common/dtypes.py, TensorFlow backend), in pure Python
# --------------------------------------------------------------------------------------------------------------

_LATTICE = {
    "bool": ["int"], "uint8": ["int16", "uint16"], "uint16": ["int32", "uint32"], "uint32": ["int64", "uint64"],
    "uint64": ["float"], "int": ["uint8", "int8", "complex64"], "int8": ["int16"], "int16": ["int32"],
    "int32": ["int64"], "int64": ["float"], "float": ["bfloat16", "float16"], "bfloat16": ["float32"],
    "float16": ["float32"], "float32": ["float64", "complex64"], "float64": ["complex128"],
    "complex64": ["complex128"], "complex128": [],
}


def _upper_bounds() -> dict:
    ub = {n: {n} for n in _LATTICE}
    for n in _LATTICE:
        while True:
            new = set().union(*(_LATTICE[b] for b in ub[n]))
            if new.issubset(ub[n]):
                break
            ub[n] |= new
    return ub


_UB = _upper_bounds()


@functools.lru_cache(512)
def _lub(*nodes: str) -> str:
    n_set = set(nodes)
    cub = set.intersection(*(_UB[n] for n in n_set))
    lub = (cub & n_set) or {c for c in cub if cub.issubset(_UB[c])}
    if len(lub) != 1:
        raise ValueError(f"Input dtypes {tuple(nodes)} have no available implicit dtype promotion path. Try "
                         "explicitly casting inputs to the desired output type.")
    return lub.pop()


def _dtype_name(dt) -> str:
    """A dtype (torch, NumPy, a name, Python ``int``/``float``/``bool``) as Keras's standardised name; Python
    ``int`` is ``'int64'`` and ``float`` ``'float32'`` (the TensorFlow backend's map)."""
    if dt is int:
        return "int64"
    if dt is float:
        return "float32"
    if dt is bool:
        return "bool"
    if dt is None:  # Keras's standardize_dtype(None) is floatx (NumPy's np.dtype(None) would be float64)
        return floatx()
    if isinstance(dt, torch.dtype):
        return str(dt).replace("torch.", "")
    if isinstance(dt, str):
        return {"float": "float32", "int": "int64", "double": "float64"}.get(dt, dt)
    return np.dtype(dt).name


def result_type(*dtypes) -> str:
    """``keras.backend.result_type`` (TensorFlow backend): Keras's promotion lattice; Python ``int`` and ``float``
    are weak types (they resolve to the precision of floatx); ``None`` is floatx."""
    if not dtypes:
        return floatx()
    names, weak = [], []
    for d in dtypes:
        weak.append(d is int or d is float)
        names.append(_dtype_name(floatx() if d is None else d))
    if len(names) == 1:
        out, out_weak = names[0], weak[0]
    elif len(set(names)) == 1 and not _py_all(weak):
        out, out_weak = names[0], False
    elif _py_all(weak):
        out, out_weak = _lub(*sorted(set(names))), True
    else:
        def respect(d, w):
            if not w or d == "bool":
                return d
            return "float" if "float" in d else "int" if "int" in d else "complex"
        out = _lub(*sorted({respect(d, w) for d, w in zip(names, weak)}))
        out_weak = out in ("int", "float")
    out_weak = out != "bool" and out_weak
    if out_weak:
        precision = floatx()[-2:]
        ind = "f" if out == "bfloat16" else out[:1]
        out = "bool" if ind == "b" else f"int{precision}" if ind == "i" else f"uint{precision}" if ind == "u" \
            else f"float{precision}"
    return {"uint64": "uint32", "complex128": "complex64"}.get(out, out)


def _tdt(name) -> torch.dtype:
    """A dtype name (or torch/NumPy dtype, Python type) as a torch dtype."""
    if isinstance(name, torch.dtype):
        return name
    return getattr(torch, _dtype_name(name))


def _dname(x) -> str:
    """The dtype name of a tensor, or Python ``int``/``float``/``bool`` for a Python scalar (weak)."""
    if isinstance(x, torch.Tensor):
        return str(x.dtype).replace("torch.", "")
    return type(x)


def _is_py_scalar(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, torch.Tensor)


# --------------------------------------------------------------------------------------------------------------
# conversions
# --------------------------------------------------------------------------------------------------------------


def convert_to_tensor(x: TensorLike, dtype=None, sparse=None, ragged=None) -> torch.Tensor:
    """``ops.convert_to_tensor(x, dtype=None)``: a tensor as it is (cast to ``dtype`` if given: the gradient
    passes between floating dtypes); NumPy arrays keep their dtype; Python floats (and lists of them) are float32
    and Python ints int32 (TensorFlow's conversion, not floatx); with an integer or bool ``dtype`` a float is
    converted first, then cast (truncated)."""
    if isinstance(x, torch.Tensor):
        return x if dtype is None else x.to(_tdt(dtype))
    if dtype is not None and not isinstance(x, (np.ndarray, np.generic)):
        name = _dtype_name(dtype)
        if name == "bool" or "int" in name:
            return _K._t(x).to(_tdt(name))
        return torch.as_tensor(np.asarray(x, dtype=np.float64 if "float" in name else None)).to(_tdt(name))
    if isinstance(x, (np.ndarray, np.generic)) and x.dtype.name == "bfloat16":  # ml_dtypes' (torch can't read it)
        t = torch.as_tensor(np.asarray(x, np.float32)).to(torch.bfloat16)  # exact
    else:
        t = _K._t(x)
    return t if dtype is None else t.to(_tdt(dtype))


_t = convert_to_tensor


def cast(x: TensorLike, dtype) -> torch.Tensor:
    """``ops.cast(x, dtype)``: ``tf.cast`` (floats to integers truncate toward zero; the gradient passes between
    floating dtypes)."""
    return _t(x).to(_tdt(dtype))


def _binary(x1, x2, *extra):
    """keras.ops's binary-op preamble: tensors converted, Python scalars kept weak, both converted to
    ``result_type(x1, x2, *extra)`` (a weak scalar is exact in that dtype)."""
    if not _is_py_scalar(x1):
        x1 = _t(x1)
    if not _is_py_scalar(x2):
        x2 = _t(x2)
    dt = _tdt(result_type(_dname(x1), _dname(x2), *extra))
    return _same_device(_t(x1, dt), _t(x2, dt))


def _same_device(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A converted Python number or array (on the CPU) moved to the other operand's device."""
    if a.device != b.device:
        if a.device.type == "cpu" and not a.requires_grad:
            a = a.to(b.device)
        elif b.device.type == "cpu" and not b.requires_grad:
            b = b.to(a.device)
    return a, b


def _no_bool(a: torch.Tensor, name: str) -> torch.Tensor:
    """TensorFlow has no boolean add, multiply, maximum, minimum, negative or sign (it raises); torch's would
    compute."""
    if a.dtype == torch.bool:
        raise TypeError(f"ops.{name} does not take booleans (TensorFlow raises NotFoundError/InvalidArgumentError); "
                        "cast them first, e.g. ops.cast(x, 'int32')")
    return a


def _float_of(x: torch.Tensor) -> torch.Tensor:
    """The unary float ops' dtype rule: int64 becomes floatx, anything else ``result_type(x.dtype, float)``."""
    name = _dname(x)
    dt = floatx() if name == "int64" else result_type(name, float)
    return x.to(_tdt(dt))


def _to_floatx_if_int(x: torch.Tensor) -> torch.Tensor:
    return x if x.is_floating_point() or x.is_complex() else x.to(_tdt(floatx()))


def _axes(x: torch.Tensor, axis) -> Optional[tuple]:
    """``axis`` as sorted non-negative dims; ``None`` stays ``None`` (every axis)."""
    if axis is None:
        return None
    n = _py_max(x.dim(), 1)
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    for a in axes:
        if not -n <= int(a) < n:
            raise ValueError(f"Invalid reduction dimension {a} for input with {x.dim()} dimensions.")
    return tuple(sorted({int(a) % n for a in axes}))


def _dims(x: torch.Tensor, axis) -> tuple:
    a = _axes(x, axis)
    return tuple(range(x.dim())) if a is None else a


# --------------------------------------------------------------------------------------------------------------
# element-wise arithmetic
# --------------------------------------------------------------------------------------------------------------


def add(x1, x2) -> torch.Tensor:
    """``ops.add(x1, x2)``: Keras's promotion (``int32 + 1.5`` is floatx, ``float32 + float64`` float64)."""
    a, b = _binary(x1, x2)
    return torch.add(_no_bool(a, "add"), b)


def subtract(x1, x2) -> torch.Tensor:
    """``ops.subtract(x1, x2)``."""
    a, b = _binary(x1, x2)
    return torch.sub(_no_bool(a, "subtract"), b)


def multiply(x1, x2) -> torch.Tensor:
    """``ops.multiply(x1, x2)``."""
    a, b = _binary(x1, x2)
    return torch.mul(_no_bool(a, "multiply"), b)


def divide(x1, x2) -> torch.Tensor:
    """``ops.divide(x1, x2)``: always floating (``result_type(x1, x2, float)``: ints give floatx)."""
    return torch.div(*_binary(x1, x2, float))


def true_divide(x1, x2) -> torch.Tensor:
    """``ops.true_divide``: :func:`divide`."""
    return divide(x1, x2)


def divide_no_nan(x1, x2) -> torch.Tensor:
    """``ops.divide_no_nan(x1, x2)``: 0 where ``x2 == 0`` (even for a NaN numerator), gradients 0 there."""
    a, b = _binary(x1, x2, float)
    zero = b == 0
    safe = torch.where(zero, torch.ones_like(b), b)
    return torch.where(zero, torch.zeros((), dtype=a.dtype, device=a.device), a / safe)


def power(x1, x2) -> torch.Tensor:
    """``ops.power(x1, x2)``: ``tf.pow`` in the promoted dtype (a Python exponent is a tensor of that dtype):
    gradient ``g y x**(y-1)`` (NaN at ``x = 0, y = 0``, torch: 0) and ``g z log(x)`` where ``x > 0``, else 0."""
    a, b = _binary(x1, x2)
    if not a.is_floating_point():
        return torch.pow(a, b)
    return _K._TfPowTensor.apply(*torch.broadcast_tensors(a, b)) if a.shape != b.shape else \
        _K._TfPowTensor.apply(a, b)


def negative(x) -> torch.Tensor:
    """``ops.negative(x)``: unsigned integers and booleans raise (TensorFlow has no such kernel)."""
    x = _no_bool(_t(x), "negative")
    if x.dtype in (torch.uint8, torch.uint16, torch.uint32, torch.uint64):
        raise TypeError(f"ops.negative does not take {x.dtype} (TensorFlow raises NotFoundError)")
    return torch.neg(x)


def absolute(x) -> torch.Tensor:
    """``ops.absolute(x)``: gradient ``g sign(x)`` (0 at 0, NaN at NaN); booleans as they are."""
    x = _t(x)
    if x.dtype == torch.bool or x.dtype in (torch.uint8, torch.uint16, torch.uint32):
        return x
    return _ops.tf_abs(x) if x.is_floating_point() else torch.abs(x)


abs = absolute  # noqa: A001 - Keras's name


def square(x) -> torch.Tensor:
    """``ops.square(x)``: booleans become int32."""
    x = _t(x)
    if x.dtype == torch.bool:
        x = x.to(torch.int32)
    return torch.square(x)


def sqrt(x) -> torch.Tensor:
    """``ops.sqrt(x)``: ``tf.math.sqrt`` (NaN for negatives, correctly rounded); its gradient ``0.5 g / y`` is
    ``inf`` at 0, but 0 where the incoming gradient is 0 (torch: NaN). Integers become floatx."""
    return _K._TfSqrt.apply(_float_of(_t(x)))


def rsqrt(x) -> torch.Tensor:
    """``ops.rsqrt(x)``: ``tf.math.rsqrt``, gradient 0 where the incoming one is 0."""
    x = _t(x)
    return _ops.tf_rsqrt(x)


def _unary_float(fn, x):
    x = _t(x)
    return fn(_to_floatx_if_int(x) if x.dtype == torch.bool or not x.is_floating_point() else x)


def exp(x) -> torch.Tensor:
    """``ops.exp(x)``: integers and booleans become floatx."""
    return _unary_float(torch.exp, x)


def expm1(x) -> torch.Tensor:
    """``ops.expm1(x)``: integers and booleans become floatx."""
    return _unary_float(torch.expm1, x)


def log(x) -> torch.Tensor:
    """``ops.log(x)``: no clip (``log(0) = -inf``); integers become floatx."""
    return torch.log(_float_of(_t(x)))


def log1p(x) -> torch.Tensor:
    """``ops.log1p(x)``."""
    return torch.log1p(_float_of(_t(x)))


def log2(x) -> torch.Tensor:
    """``ops.log2(x)``: ``log(x) / log(2)`` in ``x``'s dtype (TensorFlow's composition, not ``torch.log2``)."""
    x = _float_of(_t(x))
    return torch.log(x) / torch.log(torch.tensor(2, dtype=x.dtype, device=x.device))


def log10(x) -> torch.Tensor:
    """``ops.log10(x)``: ``log(x) / log(10)`` in ``x``'s dtype."""
    x = _float_of(_t(x))
    return torch.log(x) / torch.log(torch.tensor(10, dtype=x.dtype, device=x.device))


def sign(x) -> torch.Tensor:
    """``ops.sign(x)``: ``sign(NaN)`` is NaN (torch's is 0); no gradient (zeros)."""
    return _K.sign(_no_bool(_t(x), "sign"))


def round(x, decimals: int = 0) -> torch.Tensor:  # noqa: A001 - Keras's name
    """``ops.round(x, decimals=0)``: half to even; ``decimals`` multiplies by ``10**decimals``, rounds and divides
    back, with the factor rounded to float32 first (``tf.cast`` of a Python float): ``decimals=-1`` multiplies by
    ``float32(0.1)`` even in float64, so ``round(25, -1)`` is 29 for an int32 25 under floatx float64 (and 20
    under float32); integers with ``decimals > 0`` as they are. No gradient (zeros)."""
    x = _t(x)
    if decimals == 0:
        return torch.round(x)
    factor_value = float(np.float32(math.pow(10, decimals)))
    if not x.is_floating_point():
        if decimals > 0:
            return x
        y = x.to(_tdt(floatx()))
    else:
        y = x
    factor = torch.tensor(factor_value, dtype=y.dtype, device=y.device)
    return (torch.round(y * factor) / factor).to(x.dtype)


def floor(x) -> torch.Tensor:
    """``ops.floor(x)``: integers become floats; no gradient."""
    return torch.floor(_float_of(_t(x)))


def ceil(x) -> torch.Tensor:
    """``ops.ceil(x)``: integers become floats; no gradient."""
    return torch.ceil(_float_of(_t(x)))


def clip(x, x_min, x_max) -> torch.Tensor:
    """``ops.clip(x, x_min, x_max)``: ``tf.clip_by_value``: ``x_min`` wins where ``x_min > x_max`` (torch.clamp:
    ``x_max``); the gradient passes on the closed interval (at the bounds too) and is 0 at NaN, which stays NaN;
    booleans become int32."""
    x = _t(x)
    if x.dtype == torch.bool:
        x = x.to(torch.int32)
    if x_min is None or x_max is None:
        raise ValueError("ops.clip needs both bounds (TensorFlow's clip_by_value does not take None)")
    if not x.is_floating_point():  # TensorFlow converts the bounds to x's integer dtype: a float one raises
        for bound in (x_min, x_max):
            if isinstance(bound, float) or (isinstance(bound, (torch.Tensor, np.ndarray, np.generic))
                                            and _t(bound).is_floating_point()):
                raise TypeError(f"Cannot convert {bound} to EagerTensor of dtype {_dname(x)} (ops.clip of an "
                                "integer tensor takes integer bounds, as TensorFlow's clip_by_value)")
    return _K._clip_by_value(x, x_min, x_max)


def maximum(x1, x2) -> torch.Tensor:
    """``ops.maximum(x1, x2)``: NaN propagates; a tie's gradient goes whole to ``x1`` (``torch.maximum`` halves
    it, ``F.relu`` gives none)."""
    a, b = _binary(x1, x2)
    _no_bool(a, "maximum")
    return _K._maximum(a, b) if a.is_floating_point() else torch.maximum(a, b)


def minimum(x1, x2) -> torch.Tensor:
    """``ops.minimum(x1, x2)``: NaN propagates; a tie's gradient goes whole to ``x1``."""
    a, b = _binary(x1, x2)
    _no_bool(a, "minimum")
    return _K._minimum(a, b) if a.is_floating_point() else torch.minimum(a, b)


def where(condition, x1=None, x2=None):
    """``ops.where(condition, x1=None, x2=None)``: the condition cast to bool; the branches promoted as
    :func:`add`'s operands; with neither branch the indices of the nonzero entries (a tuple of int32 tensors,
    as Keras's)."""
    cond = _t(condition).to(torch.bool)
    if x1 is not None and x2 is not None:
        a, b = _binary(x1, x2)
        if cond.device != a.device and cond.device.type == "cpu":
            cond = cond.to(a.device)
        return torch.where(cond, a, b)
    if x1 is None and x2 is None:
        return tuple(i.to(torch.int32) for i in torch.nonzero(cond, as_tuple=True))
    raise ValueError("`x1` and `x2` either both should be `None` or both should have non-None value.")


# --------------------------------------------------------------------------------------------------------------
# reductions
# --------------------------------------------------------------------------------------------------------------


def mean(x, axis=None, keepdims: bool = False) -> torch.Tensor:
    """``ops.mean(x, axis=None, keepdims=False)``: integers and booleans give float32 (computed in
    ``result_type(x, 'float32')``: float64 stays float64); ``axis=()`` reduces nothing."""
    x = _t(x)
    ori = _dname(x)
    compute = _tdt(result_type(ori, "float32"))
    dims = _dims(x, axis)
    xc = x.to(compute)
    if not dims and axis is not None:
        out = xc
    else:
        out = torch.mean(xc, dims, keepdim=keepdims)
    return out if ("int" in ori or ori == "bool") else out.to(x.dtype)


def sum(x, axis=None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001 - Keras's name
    """``ops.sum(x, axis=None, keepdims=False)``: booleans, int8 and int16 sum as int32 (uint8/uint16 as
    uint32), other integers in their dtype (torch widens to int64)."""
    x = _t(x)
    name = _dname(x)
    if name in ("bool", "int8", "int16"):
        x = x.to(torch.int32)
    elif name in ("uint8", "uint16"):
        x = x.to(torch.int64)
    dims = _dims(x, axis)
    out = x if (not dims and axis is not None) else torch.sum(x, dims, keepdim=keepdims,
                                                                dtype=None if x.is_floating_point() else x.dtype)
    return out.to(torch.uint32) if name in ("uint8", "uint16") else out


def prod(x, axis=None, keepdims: bool = False, dtype=None) -> torch.Tensor:
    """``ops.prod(x, axis=None, keepdims=False, dtype=None)``: booleans, int8, int16 as int32, uint8 and uint16 as
    uint32."""
    x = _t(x)
    unsigned = False
    if dtype is None:
        name = _dname(x)
        if name in ("bool", "int8", "int16"):
            x = x.to(torch.int32)
        elif name in ("uint8", "uint16"):
            x, unsigned = x.to(torch.int64), True
    else:
        x = x.to(_tdt(dtype))
    dims = _dims(x, axis)
    out = x
    keep = None if x.is_floating_point() else x.dtype
    for d in sorted(dims, reverse=True):
        out = torch.prod(out, d, keepdim=keepdims, dtype=keep)
    return out.to(torch.uint32) if unsigned else out


def _extreme(x, axis, keepdims, initial, largest: bool) -> torch.Tensor:
    x = _t(x)
    name = "max" if largest else "min"
    if initial is None and x.numel() == 0:
        raise ValueError(f"Cannot compute the {name} of an empty tensor.")
    dims = _dims(x, axis)
    if x.dtype == torch.bool:
        out = (torch.any if largest else torch.all)(x, dim=dims, keepdim=keepdims) if dims else x
        if initial is not None:
            init = bool(initial)
            out = (out | init) if largest else (out & init)
        return out
    if not dims and axis is not None:
        out = x
    elif _py_any(x.shape[d] == 0 for d in dims):
        fill = (-math.inf if largest else math.inf) if x.is_floating_point() else \
            (torch.iinfo(x.dtype).min if largest else torch.iinfo(x.dtype).max)
        out = torch.full(_K._reduced_shape(x, dims, keepdims), fill, dtype=x.dtype, device=x.device)
    else:
        out = (torch.amax if largest else torch.amin)(x, dims, keepdim=keepdims)
    if initial is not None:
        out = (maximum if largest else minimum)(out, initial)
    return out


def max(x, axis=None, keepdims: bool = False, initial=None) -> torch.Tensor:  # noqa: A001 - Keras's name
    """``ops.max(x, axis=None, keepdims=False, initial=None)``: ties share the gradient (``tf.reduce_max``); NaN
    propagates; an empty tensor raises ``ValueError`` (without ``initial``); booleans are ``any``."""
    return _extreme(x, axis, keepdims, initial, True)


def min(x, axis=None, keepdims: bool = False, initial=None) -> torch.Tensor:  # noqa: A001 - Keras's name
    """``ops.min(x, axis=None, keepdims=False, initial=None)``: as :func:`max`."""
    return _extreme(x, axis, keepdims, initial, False)


def amax(x, axis=None, keepdims: bool = False) -> torch.Tensor:
    """``ops.amax``: :func:`max`."""
    return max(x, axis=axis, keepdims=keepdims)


def amin(x, axis=None, keepdims: bool = False) -> torch.Tensor:
    """``ops.amin``: :func:`min`."""
    return min(x, axis=axis, keepdims=keepdims)


def _variance(x: torch.Tensor, axis, keepdims: bool) -> torch.Tensor:
    """``tf.math.reduce_variance``: ``mean(square(x - mean(x, keepdims=True)))``."""
    dims = _dims(x, axis)
    if not dims and axis is not None:
        return torch.square(x - x)
    m = torch.mean(x, dims, keepdim=True)
    return torch.mean(torch.square(x - m), dims, keepdim=keepdims)


def var(x, axis=None, keepdims: bool = False) -> torch.Tensor:
    """``ops.var(x, axis=None, keepdims=False)``: the population variance (``torch.var`` divides by ``N - 1``);
    integers are computed in float32 and returned as floatx."""
    x = _t(x)
    compute = _tdt(result_type(_dname(x), "float32"))
    out_dt = _tdt(result_type(_dname(x), float))
    return _variance(x.to(compute), axis, keepdims).to(out_dt)


def std(x, axis=None, keepdims: bool = False) -> torch.Tensor:
    """``ops.std(x, axis=None, keepdims=False)``: ``sqrt`` of the population variance (``torch.std``: N - 1);
    its gradient is NaN where the variance is 0; integers and booleans become floatx."""
    x = _t(x)
    if not x.is_floating_point():
        x = x.to(_tdt(floatx()))
    return _K._TfSqrt.apply(_variance(x, axis, keepdims))


def any(x, axis=None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001 - Keras's name
    """``ops.any``: ``x`` cast to bool, then reduced."""
    x = _t(x).to(torch.bool)
    dims = _dims(x, axis)
    return torch.any(x, dim=dims, keepdim=keepdims) if dims else x


def all(x, axis=None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001 - Keras's name
    """``ops.all``: ``x`` cast to bool, then reduced."""
    x = _t(x).to(torch.bool)
    dims = _dims(x, axis)
    return torch.all(x, dim=dims, keepdim=keepdims) if dims else x


def _arg(x, axis, keepdims, largest: bool) -> torch.Tensor:
    x = _t(x)
    if x.dtype == torch.bool:
        x = x.to(torch.uint8)
    if x.is_floating_point() and x.dim() > 0:
        if x.dtype in (torch.float16, torch.bfloat16):
            x = x.to(torch.float32)
        tiny = torch.finfo(x.dtype).tiny
        x = torch.where((x == 0) & torch.signbit(x), torch.full_like(x, -tiny), x)  # -0. is below +0.
        x = torch.where(torch.isnan(x), torch.full_like(x, -math.inf if largest else math.inf), x)
    fn = torch.argmax if largest else torch.argmin
    if axis is None:
        out = fn(x.reshape(-1), 0)
        if keepdims:
            out = out.reshape((1,) * x.dim())
    else:
        out = fn(x, dim=axis, keepdim=keepdims)
    return out.to(torch.int32)


def argmax(x, axis=None, keepdims: bool = False) -> torch.Tensor:
    """``ops.argmax(x, axis=None, keepdims=False)``: int32; over the flattened tensor when ``axis=None``; the
    first of ties; ``-0.`` counts below ``+0.``; NaN never wins (torch's returns the NaN)."""
    return _arg(x, axis, keepdims, True)


def argmin(x, axis=None, keepdims: bool = False) -> torch.Tensor:
    """``ops.argmin(x, axis=None, keepdims=False)``: int32, as :func:`argmax`."""
    return _arg(x, axis, keepdims, False)


def cumsum(x, axis=None, dtype=None) -> torch.Tensor:
    """``ops.cumsum(x, axis=None, dtype=None)``: ``axis=None`` flattens; booleans become int32; integers keep
    their dtype."""
    x = _t(x, dtype)
    if x.dtype == torch.bool:
        x = x.to(torch.int32)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return torch.cumsum(x, axis, dtype=None if x.is_floating_point() else x.dtype)


def cumprod(x, axis=None, dtype=None) -> torch.Tensor:
    """``ops.cumprod(x, axis=None, dtype=None)``: TensorFlow's gradient, 0 at a zero entry (``div_no_nan``)."""
    x = _t(x, dtype)
    if x.dtype == torch.bool:
        x = x.to(torch.int32)
    if axis is None:
        x, axis = x.reshape(-1), 0
    if not x.is_floating_point():
        return torch.cumprod(x, axis, dtype=x.dtype)
    return _K._TfCumprod.apply(x, axis % _py_max(x.dim(), 1))


def logsumexp(x, axis=None, keepdims: bool = False) -> torch.Tensor:
    """``ops.logsumexp(x, axis=None, keepdims=False)``: ``tf.reduce_logsumexp``."""
    return _K.logsumexp(_t(x), axis=axis, keepdims=keepdims)


def sort(x, axis: int = -1) -> torch.Tensor:
    """``ops.sort(x, axis=-1)``: ascending; ``axis=None`` flattens."""
    x = _t(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    if x.dtype == torch.bool:
        return torch.sort(x.to(torch.int8), dim=axis, stable=True).values.to(torch.bool)
    return torch.sort(x, dim=axis, stable=True).values


def argsort(x, axis: int = -1) -> torch.Tensor:
    """``ops.argsort(x, axis=-1)``: int32, ties in index order; a scalar gives ``[0]``."""
    x = _t(x)
    if x.dim() == 0:
        return torch.tensor([0], dtype=torch.int32)
    if x.dtype == torch.bool:
        x = x.to(torch.uint8)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return torch.argsort(x, dim=axis, stable=True).to(torch.int32)


def top_k(x, k: int, sorted: bool = True):  # noqa: A002 - Keras's name
    """``ops.top_k(x, k, sorted=True)``: ``(values, indices)`` over the last axis, indices int32, ties in index
    order (``torch.topk`` leaves them unspecified)."""
    x = _t(x)
    order = torch.sort(x, dim=-1, descending=True, stable=True).indices[..., :k]
    return torch.gather(x, -1, order), order.to(torch.int32)


def norm(x, ord=None, axis=None, keepdims: bool = False) -> torch.Tensor:  # noqa: A002 - Keras's name
    """``ops.norm(x, ord=None, axis=None, keepdims=False)``: vector norms (one axis: ``None``/2, ``inf``,
    ``-inf``, 0, any number ``p`` as ``sum(|x|**p)**(1/p)``) and matrix norms (two axes: ``None``/``'fro'``,
    1, -1, ``inf``, ``-inf``; ``'nuc'``, 2, -2 from the singular values). ``axis=None`` is every axis (a
    Frobenius norm of a matrix). The 2-norm is ``sqrt(sum(x * x))``: gradient NaN at a zero vector, as
    TensorFlow's; integers become floats."""
    x = _t(x)
    ndim = x.dim()
    axis = tuple(range(ndim)) if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
    if _py_any(a < -ndim or a >= ndim for a in axis):
        raise ValueError(f"All `axis` values must be in the range [-ndim, ndim). Received inputs with ndim={ndim}, "
                         f"while axis={axis}")
    x = _float_of(x)
    if len(axis) == 1:
        ax = axis[0]
        if ord is None or ord == 2:
            return _K._TfSqrt.apply(torch.sum(x * x, ax, keepdim=keepdims))
        if ord == float("inf"):
            return torch.amax(_ops.tf_abs(x), ax, keepdim=keepdims)
        if ord == float("-inf"):
            return torch.amin(_ops.tf_abs(x), ax, keepdim=keepdims)
        if ord == 0:
            return torch.sum((x != 0).to(x.dtype), ax, keepdim=keepdims)
        if isinstance(ord, str):
            raise ValueError(f"Invalid `ord` argument for vector norm. Received: ord={ord}")
        p = torch.tensor(ord, dtype=x.dtype, device=x.device)
        out = torch.sum(_K._TfPowTensor.apply(_ops.tf_abs(x), p.expand_as(x)), ax, keepdim=keepdims)
        return _K._TfPowTensor.apply(out, (1.0 / p).expand_as(out))
    if len(axis) == 2:
        row, col = (a % ndim for a in axis)
        if ord is None or ord == "fro":
            return _K._TfSqrt.apply(torch.sum(x * x, axis, keepdim=keepdims))
        if ord in (1, -1):
            if not keepdims and col > row:
                col -= 1
            s = torch.sum(_ops.tf_abs(x), row, keepdim=keepdims)
            return (torch.amax if ord == 1 else torch.amin)(s, col, keepdim=keepdims)
        if ord in (float("inf"), float("-inf")):
            if not keepdims and row > col:
                row -= 1
            s = torch.sum(_ops.tf_abs(x), col, keepdim=keepdims)
            return (torch.amax if ord > 0 else torch.amin)(s, row, keepdim=keepdims)
        if ord in ("nuc", 2, -2):
            sv = torch.linalg.svdvals(torch.movedim(x, (row, col), (-2, -1)))
            out = torch.amin(sv, -1) if ord == -2 else torch.amax(sv, -1) if ord == 2 else torch.sum(sv, -1)
            if keepdims:
                out = out.unsqueeze(row).unsqueeze(col) if row < col else out.unsqueeze(col).unsqueeze(row)
            return out
        raise ValueError(f"Invalid `ord` argument for matrix norm. Received: ord={ord}")
    raise ValueError(f"Improper number of dimensions to norm: axis={axis}")


def moments(x, axes, keepdims: bool = False, synchronized: bool = False):
    """``ops.moments(x, axes, keepdims=False)``: ``tf.nn.moments``: ``(mean, variance)`` with the variance
    ``mean(square(x - stop_gradient(mean)))`` (no gradient through the mean inside it)."""
    x = _t(x)
    half = x.dtype if x.dtype in (torch.float16, torch.bfloat16) else None
    if half is not None:  # Keras: computed in float32, clipped to float16's range (bfloat16 too), cast back
        x = x.float()
    dims = _dims(x, axes)
    m = torch.mean(x, dims, keepdim=True)
    v = torch.mean(torch.square(x - m.detach()), dims, keepdim=True)
    if not keepdims:
        m, v = m.squeeze(dims) if dims else m, v.squeeze(dims) if dims else v
    if half is not None:
        f16 = float(torch.finfo(torch.float16).max)
        m, v = torch.clamp(m, -f16, f16).to(half), torch.clamp(v, -f16, f16).to(half)
    return m, v


def normalize(x, axis: int = -1, order: int = 2, epsilon: Optional[float] = None) -> torch.Tensor:
    """``ops.normalize(x, axis=-1, order=2, epsilon=None)``: for ``order=2`` ``x * rsqrt(maximum(sum(x**2),
    eps**2))`` (keras-team/keras#23093, after 3.15.1, followed; 3.15.1's ``minimum(rsqrt(sum(x**2)), 1 / eps)``
    differs by rounding below the clamp: float32 ``eps=1e-3`` gives 999.99994 for 1000; a zero vector stays 0 with
    the gradient ``1 / eps``; ``F.normalize`` divides by ``max(norm, 1e-12)``), else ``x / maximum(norm(x,
    order), eps)``; ``eps`` defaults to 1e-7."""
    if not isinstance(order, int) or not order >= 1:
        raise ValueError(f"Argument `order` must be an int >= 1. Received: order={order}")
    x = _t(x)
    if not (x.is_floating_point() or x.is_complex()):  # TensorFlow's rsqrt / norm take floats only
        raise ValueError(f"ops.normalize: Value for attr 'T' of {_dname(x)} is not in the list of allowed values "
                         "(TensorFlow raises InvalidArgumentError for integer and boolean tensors)")
    if x.dim() == 0:
        x = x.unsqueeze(0)
    eps = _K.epsilon() if epsilon is None else epsilon
    if order == 2:
        square_sum = sum(square(x), axis=axis, keepdims=True)
        inv_norm = rsqrt(maximum(square_sum, eps * eps))
        return x * inv_norm
    n = norm(x, ord=order, axis=axis, keepdims=True)
    return divide(x, maximum(n, eps))


# --------------------------------------------------------------------------------------------------------------
# linear algebra and shapes
# --------------------------------------------------------------------------------------------------------------


def matmul(x1, x2) -> torch.Tensor:
    """``ops.matmul(x1, x2)``: Keras's promotion (integers are multiplied as floats, then cast back; two int8
    matrices give int32)."""
    a, b = _t(x1), _t(x2)
    if a.dtype == b.dtype == torch.int8 and a.dim() != 1 and b.dim() != 1:  # TensorFlow's int8 matmul: int32 out
        return torch.matmul(a.to(torch.int32), b.to(torch.int32))
    compute = _tdt(result_type(_dname(a), _dname(b), float))
    out_dt = _tdt(result_type(_dname(a), _dname(b)))
    return torch.matmul(a.to(compute), b.to(compute)).to(out_dt)


def dot(x1, x2) -> torch.Tensor:
    """``ops.dot(x1, x2)``: NumPy's ``dot`` (a scalar multiplies; ``x2`` of rank 1 contracts the last axes;
    otherwise ``x1``'s last axis against ``x2``'s second to last)."""
    a, b = _t(x1), _t(x2)
    out_dt = _tdt(result_type(_dname(a), _dname(b)))
    compute = _tdt(result_type(out_dt, float))
    a, b = a.to(compute), b.to(compute)
    if a.dim() == 0 or b.dim() == 0:
        out = a * b
    elif b.dim() == 1:
        out = torch.tensordot(a, b, dims=([-1 % a.dim()], [0]))
    else:
        out = torch.tensordot(a, b, dims=([a.dim() - 1], [b.dim() - 2]))
    return out.to(out_dt)


def tensordot(x1, x2, axes=2) -> torch.Tensor:
    """``ops.tensordot(x1, x2, axes=2)``."""
    a, b = _t(x1), _t(x2)
    out_dt = result_type(_dname(a), _dname(b))
    compute = _tdt(out_dt if out_dt in ("int32", "int64", "float16", "float32", "float64", "bfloat16")
                   else result_type(out_dt, float))
    if not isinstance(axes, int):
        axes = [[axes[0]] if isinstance(axes[0], int) else list(axes[0]),
                [axes[1]] if isinstance(axes[1], int) else list(axes[1])]
    return torch.tensordot(a.to(compute), b.to(compute), dims=axes).to(_tdt(out_dt))


def einsum(subscripts: str, *operands, **kwargs) -> torch.Tensor:
    """``ops.einsum(subscripts, *operands)``: in the operands' promoted dtype (int8 operands only: int32); an implicit
    output (no ``->``) in Keras's order: its TensorFlow backend renames the letters in order of appearance, so
    ``einsum("ji", x)`` is ``x`` (NumPy's is ``x.T``)."""
    ts = [_t(o) for o in operands]
    dt = _tdt(result_type(*[_dname(t) for t in ts]))
    if {_dname(t) for t in ts} == {"int8"}:  # Keras: int8 operands give int32 (as JAX)
        dt = torch.int32
    compute = dt if dt.is_floating_point else torch.float64 if dt == torch.int64 else torch.float32
    if isinstance(subscripts, str):  # Keras's _normalize_einsum_subscripts
        letters = {}
        subscripts = "".join(string.ascii_letters[letters.setdefault(c, len(letters))]
                             if c in string.ascii_letters else c for c in subscripts)
    return torch.einsum(subscripts, *[t.to(compute) for t in ts]).to(dt)


def transpose(x, axes=None) -> torch.Tensor:
    """``ops.transpose(x, axes=None)``: every axis reversed by default; repeated axes raise."""
    x = _t(x)
    if not axes:
        return x.permute(*reversed(range(x.dim())))
    for a in axes:  # Keras's canonicalize_axis: an axis out of range raises (no wrap-around)
        if not -x.dim() <= a < x.dim():
            raise ValueError(f"axis {a} is out of bounds for an array with dimension {x.dim()}.")
    axes = tuple(a % x.dim() for a in axes)
    if len(set(axes)) != len(axes):
        raise ValueError("`axes` must be a valid permutation of the input dimensions (no duplicates). Received: "
                         f"axes={list(axes)} for input of rank {x.dim()}.")
    return x.permute(*axes)


def reshape(x, newshape) -> torch.Tensor:
    """``ops.reshape(x, newshape)``."""
    newshape = (newshape,) if isinstance(newshape, int) else tuple(int(s) for s in newshape)
    if _py_any(s < -1 for s in newshape) or newshape.count(-1) > 1:  # Keras's validate_reshape_shape
        raise ValueError(f"Each dimension in `newshape` must be a non-negative integer, or `-1` for a single "
                         f"unknown dimension. Received: newshape={newshape}." if _py_any(s < -1 for s in newshape)
                         else f"There must be at most one unknown dimension (-1) in `newshape`. Received: "
                         f"newshape={newshape}.")
    return _t(x).reshape(newshape)


def broadcast_to(x, shape) -> torch.Tensor:
    """``ops.broadcast_to(x, shape)``: NumPy's broadcasting rules, the dtype kept (a copy, not a view)."""
    return _t(x).broadcast_to(_shape_arg(shape)).clone()


def expand_dims(x, axis) -> torch.Tensor:
    """``ops.expand_dims(x, axis)``: an int or a tuple of axes (of the output)."""
    x = _t(x)
    axis = (axis,) if isinstance(axis, int) else tuple(axis)
    out_ndim = x.dim() + len(axis)
    for a in sorted(a % out_ndim for a in axis):
        x = x.unsqueeze(a)
    return x


def squeeze(x, axis=None) -> torch.Tensor:
    """``ops.squeeze(x, axis=None)``: a named axis that is not 1 raises (``torch.squeeze`` does nothing)."""
    x = _t(x)
    if axis is None:
        return x.squeeze()
    axis = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axis:
        if x.shape[a] != 1:
            raise ValueError(f"Cannot squeeze axis={a}, because the dimension is not 1.")
    return x.squeeze(tuple(a % x.dim() for a in axis))


def concatenate(xs, axis: int = 0) -> torch.Tensor:
    """``ops.concatenate(xs, axis=0)``: mixed dtypes promoted as Keras does."""
    ts = [_t(x) for x in xs]
    dts = {t.dtype for t in ts}
    if len(dts) > 1:
        dt = _tdt(result_type(*[_dname(t) for t in ts]))
        ts = [t.to(dt) for t in ts]
    return torch.cat(ts, dim=axis)


def stack(x, axis: int = 0) -> torch.Tensor:
    """``ops.stack(x, axis=0)``: mixed dtypes (Python scalars weak) promoted as Keras does."""
    names = {_dname(a) if isinstance(a, torch.Tensor) or _is_py_scalar(a) else _dname(_t(a)) for a in x}
    if len(names) > 1:
        dt = _tdt(result_type(*names))
        ts = [_t(a, dt) for a in x]
    else:
        ts = [_t(a) for a in x]
    return torch.stack(ts, dim=axis)


def split(x, indices_or_sections, axis: int = 0) -> list:
    """``ops.split(x, indices_or_sections, axis=0)``: ``n`` equal sections (must divide) or split indices."""
    x = _t(x)
    size = x.shape[axis]
    if isinstance(indices_or_sections, int):
        if size % indices_or_sections:
            raise ValueError(f"array split does not result in an equal division: {size} into "
                             f"{indices_or_sections} sections")
        # tensor_split: a zero-size axis still gives n (empty) sections, as Keras; torch.split gives one
        return list(torch.tensor_split(x, indices_or_sections, dim=axis))
    idx = [0] + [int(i) for i in indices_or_sections] + [size]
    return list(torch.split(x, [b - a for a, b in zip(idx[:-1], idx[1:])], dim=axis))


def tile(x, repeats) -> torch.Tensor:
    """``ops.tile(x, repeats)``: NumPy's tile (fewer repeats than axes repeat the last axes)."""
    x = _t(x)
    repeats = [repeats] if isinstance(repeats, int) else [int(r) for r in repeats]
    if len(repeats) < x.dim():
        repeats = [1] * (x.dim() - len(repeats)) + repeats
    while len(repeats) > x.dim():
        x = x.unsqueeze(0)
    return x.repeat(*repeats)


def repeat(x, repeats, axis=None) -> torch.Tensor:
    """``ops.repeat(x, repeats, axis=None)``: ``np.repeat`` (``axis=None`` flattens)."""
    x = _t(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    if not isinstance(repeats, int):
        repeats = _t(repeats).to(torch.int64)
    return torch.repeat_interleave(x, repeats, dim=axis)


def pad(x, pad_width, mode: str = "constant", constant_values=None) -> torch.Tensor:
    """``ops.pad(x, pad_width, mode='constant', constant_values=None)``: ``pad_width`` NumPy's way (one pair per
    axis, before/after); modes ``'constant'``, ``'reflect'``, ``'symmetric'``."""
    x = _t(x)
    if constant_values is not None and mode != "constant":
        raise ValueError(f"Argument `constant_values` can only be provided when `mode == 'constant'`. Received: "
                         f"mode={mode}")
    pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64).reshape(-1, 2) if np.ndim(pad_width) else
                         np.full((1, 2), int(pad_width)), (x.dim(), 2))
    if mode == "constant":
        flat = [int(v) for pair in pw[::-1] for v in pair]
        return F.pad(x, flat, value=0 if constant_values is None else constant_values)
    if mode not in ("reflect", "symmetric"):
        raise ValueError(f"Unsupported padding mode: {mode}")
    for d in range(x.dim()):
        before, after = int(pw[d][0]), int(pw[d][1])
        if before == 0 and after == 0:
            continue
        n = x.shape[d]
        if mode == "reflect":
            idx = list(range(before, 0, -1)) + list(range(n)) + list(range(n - 2, n - 2 - after, -1))
        else:
            idx = list(range(before - 1, -1, -1)) + list(range(n)) + list(range(n - 1, n - 1 - after, -1))
        x = torch.index_select(x, d, torch.tensor(idx, device=x.device))
    return x


def take(x, indices, axis=None) -> torch.Tensor:
    """``ops.take(x, indices, axis=None)``: ``axis=None`` flattens; negative indices count from the end."""
    x = _t(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    idx = _t(indices).to(torch.int64)
    n = x.shape[axis]
    idx = torch.where(idx < 0, idx + n, idx)
    if idx.numel() and not _ops.values_hidden(idx) and bool(((idx < 0) | (idx >= n)).any()):
        raise IndexError(f"indices {idx.reshape(-1).tolist()[:5]}... are not in [0, {n})")
    out = torch.index_select(x, axis, idx.reshape(-1))
    return out.reshape(tuple(x.shape[:axis % _py_max(x.dim(), 1)]) + tuple(idx.shape)
                       + tuple(x.shape[axis % _py_max(x.dim(), 1) + 1:]))


def take_along_axis(x, indices, axis=None) -> torch.Tensor:
    """``ops.take_along_axis(x, indices, axis=None)``: broadcasting as NumPy's; negative indices count from the
    end."""
    x = _t(x)
    idx = _t(indices).to(torch.int64)
    if axis is None:
        if idx.dim() != 1:
            raise ValueError(f"`indices` must be 1D if axis=None. Received: indices.shape={tuple(idx.shape)}")
        x, axis = x.reshape(-1), 0
    axis %= x.dim()
    xs, isz = list(x.shape), list(idx.shape)
    xs[axis] = isz[axis] = 1
    b = list(torch.broadcast_shapes(tuple(xs), tuple(isz)))
    xb, ib = list(b), list(b)
    xb[axis], ib[axis] = x.shape[axis], idx.shape[axis]
    x, idx = x.expand(xb), idx.expand(ib)
    idx = torch.where(idx < 0, idx + x.shape[axis], idx)
    return torch.gather(x, axis, idx)


def one_hot(x, num_classes: int, axis: int = -1, dtype=None, sparse: bool = False) -> torch.Tensor:
    """``ops.one_hot(x, num_classes, axis=-1, dtype=None)``: floatx by default (``F.one_hot``: int64); an id
    out of ``[0, num_classes)`` gives a row of zeros (``F.one_hot`` raises); float ids are truncated."""
    if sparse:
        raise ValueError("sparse=True is not supported here")
    x = _t(x).to(torch.int64)
    dt = _tdt(dtype or floatx())
    classes = torch.arange(num_classes, device=x.device)
    out = (x.unsqueeze(-1) == classes).to(dt)
    if axis != -1:
        out = torch.movedim(out, -1, axis)
    return out


def multi_hot(inputs, num_classes: Optional[int] = None, axis: int = -1, dtype=None, sparse: bool = False,
              **kwargs) -> torch.Tensor:
    """``ops.multi_hot(inputs, num_classes=None, axis=-1, dtype=None)``: the one-hot rows of each sample merged by
    a max (axis 1 for a batch of id lists, 0 for one list); floatx by default; ``num_tokens=`` is the legacy name of
    ``num_classes``."""
    if num_classes is None and "num_tokens" in kwargs:
        num_classes = kwargs.pop("num_tokens")
    if num_classes is None:
        raise ValueError("Argument `num_classes` must be specified.")
    x = _t(inputs)
    reduction_axis = 1 if x.dim() > 1 else 0
    dt = dtype or floatx()
    oh = one_hot(x, num_classes, axis=axis, dtype=dt)
    if _dtype_name(dt) == "bool":
        return torch.any(oh, dim=reduction_axis)
    return torch.amax(oh, dim=reduction_axis)


def _compare(op, x1, x2) -> torch.Tensor:
    a, b = _t(x1), _t(x2)  # Python scalars converted first: a float is a float32
    dt = _tdt(result_type(_dname(a), _dname(b)))
    if dt == torch.bool and op not in (torch.eq, torch.ne):  # TensorFlow has no ordering kernel for booleans
        name = {torch.gt: "greater", torch.ge: "greater_equal", torch.lt: "less", torch.le: "less_equal"}[op]
        raise TypeError(f"ops.{name} of two boolean tensors: TensorFlow's Greater/Less kernels take no bool "
                        "(Keras raises InvalidArgumentError)")
    return op(*_same_device(a.to(dt), b.to(dt)))


def equal(x1, x2) -> torch.Tensor:
    """``ops.equal(x1, x2)``: a Python float is converted to float32 first (``equal(x64, 0.1)`` compares with
    ``float32(0.1)``)."""
    return _compare(torch.eq, x1, x2)


def not_equal(x1, x2) -> torch.Tensor:
    """``ops.not_equal(x1, x2)``."""
    return _compare(torch.ne, x1, x2)


def greater(x1, x2) -> torch.Tensor:
    """``ops.greater(x1, x2)``."""
    return _compare(torch.gt, x1, x2)


def greater_equal(x1, x2) -> torch.Tensor:
    """``ops.greater_equal(x1, x2)``."""
    return _compare(torch.ge, x1, x2)


def less(x1, x2) -> torch.Tensor:
    """``ops.less(x1, x2)``."""
    return _compare(torch.lt, x1, x2)


def less_equal(x1, x2) -> torch.Tensor:
    """``ops.less_equal(x1, x2)``."""
    return _compare(torch.le, x1, x2)


def logical_and(x1, x2) -> torch.Tensor:
    """``ops.logical_and``: both cast to bool."""
    return torch.logical_and(_t(x1).to(torch.bool), _t(x2).to(torch.bool))


def logical_or(x1, x2) -> torch.Tensor:
    """``ops.logical_or``: both cast to bool."""
    return torch.logical_or(_t(x1).to(torch.bool), _t(x2).to(torch.bool))


def logical_not(x) -> torch.Tensor:
    """``ops.logical_not``: cast to bool."""
    return torch.logical_not(_t(x).to(torch.bool))


def isnan(x) -> torch.Tensor:
    """``ops.isnan``: False for integers."""
    return torch.isnan(_t(x))


def isinf(x) -> torch.Tensor:
    """``ops.isinf``: False for integers."""
    return torch.isinf(_t(x))


def isfinite(x) -> torch.Tensor:
    """``ops.isfinite``: True for integers."""
    return torch.isfinite(_t(x))


def nan_to_num(x, nan: float = 0.0, posinf=None, neginf=None) -> torch.Tensor:
    """``ops.nan_to_num(x, nan=0.0, posinf=None, neginf=None)``: infinities become the dtype's max/min; integers
    as they are; the gradient passes where ``x`` is kept."""
    x = _t(x)
    if not x.is_floating_point():
        return x
    fi = torch.finfo(x.dtype)

    def c(v):
        return torch.tensor(v, dtype=x.dtype, device=x.device)

    x = torch.where(torch.isnan(x), c(nan), x)
    x = torch.where(torch.isinf(x) & (x > 0), c(fi.max if posinf is None else posinf), x)
    return torch.where(torch.isinf(x) & (x < 0), c(fi.min if neginf is None else neginf), x)


# --------------------------------------------------------------------------------------------------------------
# creation
# --------------------------------------------------------------------------------------------------------------


def shape(x) -> tuple:
    """``ops.shape(x)``: a tuple of ints."""
    return tuple(int(d) for d in _t(x).shape)


def _shape_arg(s) -> tuple:
    return (int(s),) if isinstance(s, (int, np.integer)) else tuple(int(v) for v in s)


def zeros(shape, dtype=None) -> torch.Tensor:  # noqa: F811 - Keras's argument name
    """``ops.zeros(shape, dtype=None)``: floatx."""
    return torch.zeros(_shape_arg(shape), dtype=_tdt(dtype or floatx()))


def ones(shape, dtype=None) -> torch.Tensor:  # noqa: F811
    """``ops.ones(shape, dtype=None)``: floatx."""
    return torch.ones(_shape_arg(shape), dtype=_tdt(dtype or floatx()))


def zeros_like(x, dtype=None) -> torch.Tensor:
    """``ops.zeros_like(x, dtype=None)``: ``x``'s dtype."""
    x = _t(x)
    return torch.zeros_like(x, dtype=_tdt(dtype) if dtype else x.dtype)


def ones_like(x, dtype=None) -> torch.Tensor:
    """``ops.ones_like(x, dtype=None)``: ``x``'s dtype."""
    x = _t(x)
    return torch.ones_like(x, dtype=_tdt(dtype) if dtype else x.dtype)


def full(shape, fill_value, dtype=None) -> torch.Tensor:  # noqa: F811
    """``ops.full(shape, fill_value, dtype=None)``: floatx by default (a fill of 7 is ``7.0``)."""
    v = _t(fill_value, dtype or floatx())
    return v.expand(_shape_arg(shape)).clone()


def full_like(x, fill_value, dtype=None) -> torch.Tensor:
    """``ops.full_like(x, fill_value, dtype=None)``: ``x``'s dtype by default."""
    x = _t(x)
    v = _t(fill_value, result_type(dtype or _dname(x)))
    return v.expand(x.shape).clone()


def arange(start, stop=None, step=None, dtype=None) -> torch.Tensor:
    """``ops.arange(start, stop=None, step=None, dtype=None)``: the dtype from the arguments' (Python ints:
    int32, floats: floatx)."""
    if dtype is None:
        ds = [_dname(start)] + [_dname(v) for v in (stop, step) if v is not None]
        dtype = result_type(*ds)
    if stop is None:
        start, stop = 0, start
    step = 1 if step is None else step
    vals = [float(v) if isinstance(v, torch.Tensor) else v for v in (start, stop, step)]
    if (vals[2] > 0 and vals[0] > vals[1]) or (vals[2] < 0 and vals[0] < vals[1]) or vals[2] == 0:
        raise ValueError(f"Requires start <= limit when delta > 0 (and start >= limit when delta < 0): "
                         f"{vals[0]}/{vals[1]}/{vals[2]} (TensorFlow's Range raises)")
    dt = _tdt(dtype)
    if dt.is_floating_point:
        n = _py_max(math.ceil((vals[1] - vals[0]) / vals[2]), 0)
        return (torch.arange(n, dtype=dt) * torch.tensor(vals[2], dtype=dt) + torch.tensor(vals[0], dtype=dt))
    return torch.arange(*vals).to(dt)


def _tf_linspace(a: torch.Tensor, b: torch.Tensor, num: int) -> torch.Tensor:
    """``tf.linspace(a, b, num)`` along a new first axis: ``a``, then ``a + delta * k`` for ``k = 1..num-2`` with
    ``delta = (b - a) / max(num - 1, 1)``, then ``b`` itself (the first ``num`` of these)."""
    delta = (b - a) / _py_max(num - 1, 1)
    k = torch.arange(1, _py_max(num - 1, 1), dtype=a.dtype).reshape((-1,) + (1,) * a.dim())
    inner = a.unsqueeze(0) + delta.unsqueeze(0) * k
    return torch.cat([a.unsqueeze(0), inner, b.unsqueeze(0)], 0)[:num]


def linspace(start, stop, num: int = 50, endpoint: bool = True, retstep: bool = False, dtype=None, axis: int = 0):
    """``ops.linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0)``: floats by default;
    integer dtypes floor."""
    if num < 0:
        raise ValueError(f"`num` must be a non-negative integer. Received: num={num}")
    if dtype is None:
        # Keras: getattr(x, "dtype", type(x)), so a NumPy array start/stop counts with its own dtype
        dtype = result_type(*(getattr(v, "dtype", type(v)) for v in (start, stop)), float)
    dtype = _dtype_name(dtype)
    # integers: converted to the dtype first, then TensorFlow's int / int (float64) does the arithmetic
    cdt = _tdt(dtype) if "float" in dtype else torch.float64
    a, b = _t(start, _tdt(dtype)).to(cdt), _t(stop, _tdt(dtype)).to(cdt)
    a, b = torch.broadcast_tensors(a, b)
    step = torch.tensor(float("nan"), dtype=cdt)
    if endpoint:
        out = _tf_linspace(a, b, num)
        if num > 1:
            step = (b - a) / (num - 1)
    else:  # Keras: tf.linspace(start, stop - step, num) with step = (stop - start) / num
        if num > 0:
            step = (b - a) / num
        out = _tf_linspace(a, b - step, num) if num > 1 else _tf_linspace(a, b, num)
    out = torch.movedim(out, 0, axis)
    if "int" in dtype:
        out = torch.floor(out)
    out = out.to(_tdt(dtype))
    return (out, step) if retstep else out


def eye(N: int, M: Optional[int] = None, k: int = 0, dtype=None) -> torch.Tensor:
    """``ops.eye(N, M=None, k=0, dtype=None)``: floatx. With ``k != 0`` Keras's TensorFlow backend pads an identity
    of size ``min(M - k, N + k)`` by ``((max(-k, 0), max(N - M + k, 0)), (max(k, 0), max(M - N - k, 0)))``, which
    for ``N != M`` is not ``N x M`` (``eye(2, 4, k=1)`` is 3 x 5): reproduced here."""
    M = N if M is None else M
    dt = _tdt(dtype or floatx())
    if k == 0:
        return torch.eye(N, M, dtype=dt)
    out = torch.eye(_py_max(_py_min(M - k, N + k), 0), dtype=dt)
    pads = (_py_max(k, 0), _py_max(M - N - k, 0), _py_max(-k, 0), _py_max(N - M + k, 0))
    return F.pad(out, pads)


def stop_gradient(variable) -> torch.Tensor:
    """``ops.stop_gradient(variable)``: ``detach``."""
    return _t(variable).detach()


def erf(x) -> torch.Tensor:
    """``ops.erf(x)``: ``tf.math.erf``."""
    return torch.erf(_t(x))


def segment_sum(data, segment_ids, num_segments: Optional[int] = None, sorted: bool = False) -> torch.Tensor:  # noqa
    """``ops.segment_sum(data, segment_ids, num_segments=None, sorted=False)``: sums of the rows of ``data`` per
    id; ``num_segments`` defaults to the number of *distinct* ids (TensorFlow backend: ids ``[0, 2, 0]`` raise,
    as an id past it does); negative ids are dropped."""
    data = _t(data)
    ids = _t(segment_ids).to(torch.int64)
    if sorted and num_segments is not None:
        raise ValueError("Argument `num_segments` cannot be set when sorted is True when using the tensorflow "
                         f"backend.Received: num_segments={num_segments}, sorted={sorted}.")
    if num_segments is None:
        num_segments = int(ids.max()) + 1 if sorted else int(torch.unique(ids).numel())
    out = torch.zeros((num_segments,) + tuple(data.shape[1:]), dtype=data.dtype, device=data.device)
    if ids.numel() and not _ops.values_hidden(ids) and int(ids.max()) >= num_segments:
        raise ValueError(f"segment_ids {int(ids.max())} is out of range [0, {num_segments}) (TensorFlow raises "
                         "InvalidArgumentError)")
    keep = ids >= 0  # negative ids are dropped
    return out.index_add(0, ids[keep], data[keep])


def tanh(x) -> torch.Tensor:
    """``ops.tanh(x)``: integers become floats."""
    return torch.tanh(_float_of(_t(x)))


def sin(x) -> torch.Tensor:
    """``ops.sin(x)``."""
    return torch.sin(_float_of(_t(x)))


def cos(x) -> torch.Tensor:
    """``ops.cos(x)``."""
    return torch.cos(_float_of(_t(x)))


def sinh(x) -> torch.Tensor:
    """``ops.sinh(x)``."""
    return torch.sinh(_float_of(_t(x)))


def cosh(x) -> torch.Tensor:
    """``ops.cosh(x)``."""
    return torch.cosh(_float_of(_t(x)))


def size(x) -> torch.Tensor:
    """``ops.size(x)``: the number of elements, an int32 scalar tensor."""
    return torch.tensor(_t(x).numel(), dtype=torch.int32)


def ndim(x) -> int:
    """``ops.ndim(x)``: the rank, an int."""
    return _t(x).dim()


def count_nonzero(x, axis=None) -> torch.Tensor:
    """``ops.count_nonzero(x, axis=None)``: int32."""
    x = _t(x)
    dims = _dims(x, axis)
    nz = (x != 0).to(torch.int32)
    return nz if (not dims and axis is not None) else torch.sum(nz, dims, dtype=torch.int32)


def floor_divide(x1, x2) -> torch.Tensor:
    """``ops.floor_divide(x1, x2)``: ``tf.math.floordiv`` in the promoted dtype (floats: ``floor(x1 / x2)``); no
    gradient."""
    a, b = _binary(x1, x2)
    if a.is_floating_point():
        return torch.floor(a.detach() / b.detach())
    return torch.div(a, b, rounding_mode="floor")


def mod(x1, x2) -> torch.Tensor:
    """``ops.mod(x1, x2)``: the floored remainder (the divisor's sign), in the promoted dtype (booleans as
    int32)."""
    a, b = _t(x1), _t(x2)  # Python scalars converted first (a float is a float32)
    dt = result_type(_dname(a), _dname(b))
    dt = _tdt("int32" if dt == "bool" else dt)
    return torch.remainder(*_same_device(a.to(dt), b.to(dt)))


def logaddexp(x1, x2) -> torch.Tensor:
    """``ops.logaddexp(x1, x2)``: ``maximum(x1, x2) + log1p(exp(-|x1 - x2|))`` (``x1 + x2`` where the difference
    is NaN), TensorFlow's composition and gradients."""
    a, b = _t(x1), _t(x2)
    dt = _tdt(result_type(_dname(a), _dname(b), float))
    a, b = _same_device(a.to(dt), b.to(dt))
    delta = a - b
    return torch.where(torch.isnan(delta), a + b, _K._maximum(a, b) + torch.log1p(torch.exp(-_ops.tf_abs(delta))))


# --------------------------------------------------------------------------------------------------------------
# nn: activations
# --------------------------------------------------------------------------------------------------------------


class _TfSelu(torch.autograd.Function):
    """``tf.nn.selu`` with TensorFlow's ``SeluGrad``: ``g (y + scale alpha)`` where ``x < 0``, ``g scale``
    elsewhere (at 0 too: torch gives ``scale alpha``)."""

    generate_vmap_rule = True
    ALPHA, SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

    @staticmethod
    def forward(x):
        a = torch.tensor(_TfSelu.ALPHA, dtype=x.dtype)
        s = torch.tensor(_TfSelu.SCALE, dtype=x.dtype)
        return torch.where(x < 0, s * a * (torch.exp(x) - 1), s * x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0], output)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        a = torch.tensor(_TfSelu.ALPHA, dtype=x.dtype)
        s = torch.tensor(_TfSelu.SCALE, dtype=x.dtype)
        return torch.where(x < 0, grad * (y + s * a), grad * s)


def relu(x) -> torch.Tensor:
    """``ops.relu(x)``: gradient 0 at 0."""
    return torch.relu(_t(x))


def relu6(x) -> torch.Tensor:
    """``ops.relu6(x)``: gradient 0 at 0 and at 6."""
    return F.relu6(_t(x))


def sigmoid(x) -> torch.Tensor:
    """``ops.sigmoid(x)``: the output carries its logits (``_keras_logits``), as Keras's: the crossentropies here
    (and ``torch_impl.losses``') use them."""
    x = _t(x)
    out = torch.sigmoid(x)
    out._keras_logits = x
    return out


def softplus(x) -> torch.Tensor:
    """``ops.softplus(x)``: TensorFlow's cut-offs, gradient ``sigmoid(x)``."""
    return _ops.tf_softplus(_t(x))


def softsign(x) -> torch.Tensor:
    """``ops.softsign(x)``: ``x / (|x| + 1)``."""
    return _K._TfSoftsign.apply(_t(x))


def silu(x) -> torch.Tensor:
    """``ops.silu(x)`` (``ops.swish``): ``x * sigmoid(x)``."""
    x = _t(x)
    return F.silu(x)


swish = silu


def log_sigmoid(x) -> torch.Tensor:
    """``ops.log_sigmoid(x)``: ``-softplus(-x)`` with TensorFlow's softplus."""
    return -_ops.tf_softplus(-_t(x))


def leaky_relu(x, negative_slope: float = 0.2) -> torch.Tensor:
    """``ops.leaky_relu(x, negative_slope=0.2)``: slope 0.2 by default (``F.leaky_relu``: 0.01), held as a float32
    (TensorFlow's attribute: ``float32(0.2)`` in float64 too); gradient ``negative_slope`` at 0."""
    return F.leaky_relu(_t(x), float(np.float32(negative_slope)))


def hard_sigmoid(x) -> torch.Tensor:
    """``ops.hard_sigmoid(x)``: ``relu6(x + 3) / 6`` (gradient 0 at -3 and 3; ``K.hard_sigmoid`` is
    ``0.2 x + 0.5``)."""
    x = _t(x)
    return F.relu6(x + 3.0) / 6.0


def hard_silu(x) -> torch.Tensor:
    """``ops.hard_silu(x)`` (``ops.hard_swish``): ``x * hard_sigmoid(x)``."""
    x = _t(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def elu(x, alpha: float = 1.0) -> torch.Tensor:
    """``ops.elu(x, alpha=1.0)``: ``tf.nn.elu``, times ``alpha`` where ``x <= 0``."""
    return _K.elu(_t(x), alpha)


def selu(x) -> torch.Tensor:
    """``ops.selu(x)``: gradient ``scale`` at 0 (TensorFlow's ``SeluGrad``; torch: ``scale * alpha``)."""
    return _TfSelu.apply(_t(x))


def gelu(x, approximate: bool = True) -> torch.Tensor:
    """``ops.gelu(x, approximate=True)``: the tanh approximation by default (``F.gelu``'s default is exact),
    TensorFlow's composition ``0.5 x (1 + tanh(0.7978845608028654 (x + c x**3)))``; exact:
    ``0.5 x erfc(-x k)``. ``c = 0.044715`` and ``k = 0.7071067811865476`` are rounded to float32 even in float64
    (``tf.cast`` of a Python float): 3.3e-10 off the float64 formula at x = 1."""
    x = _t(x)
    if not x.is_floating_point():
        x = x.to(torch.float32)
    if approximate:  # tf.cast(0.044715, dtype): a float32 constant, even in float64
        coeff = torch.tensor(float(np.float32(0.044715)), dtype=x.dtype)
        return 0.5 * x * (1.0 + torch.tanh(0.7978845608028654 * (x + coeff * _ops.tf_pow(x, 3))))
    return 0.5 * x * torch.erfc(-x * torch.tensor(float(np.float32(0.7071067811865476)), dtype=x.dtype))


def _axis_tuple_apply(fn, x: torch.Tensor, axis: tuple) -> torch.Tensor:
    keep = [v for v in range(x.dim()) if v not in axis]
    xt = x.permute(*keep, *axis)
    y = fn(xt.reshape(*[x.shape[v] for v in keep], -1), -1).reshape(xt.shape)
    combined = [*keep, *axis]
    return y.permute(*sorted(range(len(combined)), key=combined.__getitem__))


def softmax(x, axis=-1) -> torch.Tensor:
    """``ops.softmax(x, axis=-1)``: ``axis=None`` normalises over every entry, a tuple over those axes together.
    The output carries its logits (``_keras_logits``)."""
    x = _t(x)
    if axis is None:
        out = torch.softmax(x.reshape(-1), -1).reshape(x.shape)
    elif isinstance(axis, tuple):
        out = _axis_tuple_apply(torch.softmax, x, axis)
    else:
        _ops.warn_softmax_of_size_one(x, axis)
        out = torch.softmax(x, axis)
    out._keras_logits = x
    return out


def log_softmax(x, axis=-1) -> torch.Tensor:
    """``ops.log_softmax(x, axis=-1)``: ``axis=None`` over every entry, a tuple over those axes together."""
    x = _t(x)
    if axis is None:
        return torch.log_softmax(x.reshape(-1), -1).reshape(x.shape)
    if isinstance(axis, tuple):
        return _axis_tuple_apply(torch.log_softmax, x, axis)
    return torch.log_softmax(x, axis)


# --------------------------------------------------------------------------------------------------------------
# nn: the backend crossentropies (keras.ops.binary_crossentropy...)
# --------------------------------------------------------------------------------------------------------------


def _get_logits(output: torch.Tensor, from_logits: bool, op_type: str, fn_name: str):
    logits = getattr(output, "_keras_logits", None)
    if logits is None:
        return output, from_logits
    if from_logits:
        warnings.warn(f'"`{fn_name}` received `from_logits=True`, but the `output` argument was produced by a '
                      f"{op_type} activation and thus does not represent logits. Was this intended?", stacklevel=3)
    return logits, True


def _same_shape(target: torch.Tensor, output: torch.Tensor) -> None:
    if target.dim() != output.dim():
        raise ValueError("Arguments `target` and `output` must have the same rank (ndim). Received: "
                         f"target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}")
    if target.shape != output.shape:
        raise ValueError("Arguments `target` and `output` must have the same shape. Received: "
                         f"target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}")


def _clip_eps(output: torch.Tensor) -> torch.Tensor:
    eps = _K.epsilon()
    lo, hi = float(torch.tensor(eps, dtype=output.dtype)), float(torch.tensor(1.0 - eps, dtype=output.dtype))
    return torch.clamp(output, lo, hi)


def binary_crossentropy(target, output, from_logits: bool = False) -> torch.Tensor:
    """``ops.binary_crossentropy(target, output, from_logits=False)``, element-wise: clip to ``[eps, 1 - eps]``,
    ``-(t log(p) + (1 - t) log(1 - p))`` (no ``+ eps`` in the logs, unlike ``K.binary_crossentropy``); the logits
    behind an :func:`sigmoid` output are used; from logits ``tf.nn.sigmoid_cross_entropy_with_logits``. Equal
    shapes only."""
    target, output = _t(target), _t(output)
    _same_shape(target, output)
    output, from_logits = _get_logits(output, from_logits, "Sigmoid", "binary_crossentropy")
    target = _K._same_dtype(target, output)
    if from_logits:
        return _ops.sigmoid_xent(target, output)
    output = _clip_eps(output)
    bce = target * torch.log(output)
    bce = bce + (1 - target) * torch.log(1 - output)
    return -bce


def categorical_crossentropy(target, output, from_logits: bool = False, axis: int = -1) -> torch.Tensor:
    """``ops.categorical_crossentropy(target, output, from_logits=False, axis=-1)``: ``output`` divided by its sum
    over ``axis``, clipped to ``[eps, 1 - eps]``, ``-sum(t log(p), axis)``; the logits behind a :func:`softmax`
    output are used; from logits the softmax crossentropy (gradient ``softmax - target``)."""
    target, output = _t(target), _t(output)
    if target.dim() < 1:
        raise ValueError("Arguments `target` and `output` must be at least rank 1. Received: "
                         f"target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}")
    _same_shape(target, output)
    output, from_logits = _get_logits(output, from_logits, "Softmax", "categorical_crossentropy")
    target = _K._same_dtype(target, output)
    if from_logits:
        return _ops.softmax_xent(target, output, axis)
    output = output / torch.sum(output, axis, keepdim=True)
    output = _clip_eps(output)
    return -torch.sum(target * torch.log(output), axis)


def sparse_categorical_crossentropy(target, output, from_logits: bool = False, axis: int = -1) -> torch.Tensor:
    """``ops.sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1)``: labels cast to int64
    (1.9 is class 1), a trailing label axis of 1 squeezed; probabilities clipped and logged; the logits behind a
    :func:`softmax` output are used; only the last axis is the class axis. A label out of range raises
    ``ValueError`` (TensorFlow's CPU kernel: ``InvalidArgumentError``)."""
    output = _t(output)
    if axis != -1 and axis != output.dim() - 1:
        raise ValueError(f"Only axis=-1 is currently supported. Received: axis={axis}")
    output, from_logits = _get_logits(output, from_logits, "Softmax", "sparse_categorical_crossentropy")
    target = _t(target).to(torch.int64)
    if target.dim() == output.dim() and target.shape[-1] == 1:
        target = target.squeeze(-1)
    if output.dim() < 1:
        raise ValueError(f"Argument `output` must be at least rank 1. Received: output.shape={tuple(output.shape)}")
    if tuple(target.shape) != tuple(output.shape[:-1]):
        raise ValueError("Arguments `target` and `output` must have the same shape up until the last dimension: "
                         f"target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}")
    if not from_logits:
        output = torch.log(_clip_eps(output))
    c = output.shape[-1]
    if target.numel() and not _ops.values_hidden(target):
        bad = (target < 0) | (target >= c)
        if bool(bad.any()):
            raise ValueError(f"Received a label value of {int(target[bad].reshape(-1)[0])} which is outside the "
                             f"valid range of [0, {c}).")
    res = _ops.sparse_xent(target.reshape(-1), output.reshape(-1, c))
    return res.reshape(target.shape)


def ctc_loss(target, output, target_length, output_length, mask_index: int = 0) -> torch.Tensor:
    """``ops.ctc_loss(target, output, target_length, output_length, mask_index=0)``: per sequence; ``target``
    ``(N, S)`` label ids (the first ``target_length`` of each row are read), ``output`` ``(N, T, C)`` *logits*
    (the log softmax is taken here), ``output_length`` steps used; the blank is class ``mask_index`` (0 by
    default: Keras 3's convention; ``K.ctc_batch_cost``'s blank is the last class). Computed in float32 as
    TensorFlow's ``tf.nn.ctc_loss`` (float64 inputs too, the result cast back). An impossible alignment gives
    ``inf`` (TensorFlow: a large finite value)."""
    target = _t(target).to(torch.int64)
    output = _t(output)
    res_dt = _tdt(result_type(_dname(output), "float32"))
    compute = torch.float32 if res_dt == torch.float64 else res_dt
    c = output.shape[-1]
    log_probs = torch.log_softmax(output.to(compute), dim=-1).transpose(0, 1)  # (T, N, C)
    values = F.ctc_loss(log_probs, target, _t(output_length).to(torch.int64), _t(target_length).to(torch.int64),
                        blank=int(mask_index) % c, reduction="none", zero_infinity=False)
    return values.to(res_dt)


# --------------------------------------------------------------------------------------------------------------
# more of keras.ops.numpy (TensorFlow backend's dtype rules and gradients)
# --------------------------------------------------------------------------------------------------------------


def flip(x, axis=None) -> torch.Tensor:
    """``ops.flip(x, axis=None)``: every axis when ``axis`` is None (``tf.reverse``)."""
    x = _t(x)
    dims = tuple(range(x.dim())) if axis is None else tuple(
        a % _py_max(x.dim(), 1) for a in ((axis,) if isinstance(axis, int) else axis))
    return torch.flip(x, dims) if dims else x


def roll(x, shift, axis=None) -> torch.Tensor:
    """``ops.roll(x, shift, axis=None)``: over the flattened tensor when ``axis`` is None, shape kept; ``shift``
    and ``axis`` (ints, sequences or arrays) broadcast against each other as NumPy's (keras-team/keras#23242,
    after 3.15.1, followed: 3.15.1 raises unless they have the same length), a repeated axis adds its shifts."""
    x = _t(x)
    if axis is None:
        return torch.roll(x.reshape(-1), shift, 0).reshape(x.shape)
    shifts, axes = _roll_shift_axis(shift, axis)
    return torch.roll(x, shifts, axes)


def _roll_shift_axis(shift, axis) -> tuple:
    """Keras's ``normalize_shift_and_axis`` (keras-team/keras#23242): ``shift`` and ``axis`` as lists of ints of
    one length, a length-1 one repeated; ``ValueError`` otherwise."""
    def as_list(v):
        v = v.tolist() if hasattr(v, "tolist") else v
        if not isinstance(v, (int, tuple, list)):
            raise ValueError(f"`value` must be an integer, tuple or list. Received: value={v}")
        return [int(i) for i in v] if isinstance(v, (tuple, list)) else [int(v)]

    shifts, axes = as_list(shift), as_list(axis)
    if len(shifts) == 1:
        shifts = shifts * len(axes)
    if len(axes) == 1:
        axes = axes * len(shifts)
    if len(shifts) != len(axes):
        raise ValueError(f"`shift` and `axis` must be broadcastable to the same length. Received: shift={shift}, "
                         f"axis={axis}")
    return tuple(shifts), tuple(axes)


def tril(x, k=0) -> torch.Tensor:
    """``ops.tril(x, k=0)``: the last two axes (``tf.linalg.band_part`` / a mask), zeros above diagonal ``k``."""
    return torch.tril(_t(x), int(k))


def triu(x, k=0) -> torch.Tensor:
    """``ops.triu(x, k=0)``: the last two axes, zeros below diagonal ``k``."""
    return torch.triu(_t(x), int(k))


def diagonal(x, offset=0, axis1=0, axis2=1) -> torch.Tensor:
    """``ops.diagonal(x, offset=0, axis1=0, axis2=1)``: the other axes first, the diagonal last; an offset
    beyond the matrix raises (Keras's TensorFlow backend: InvalidArgumentError; NumPy: an empty diagonal)."""
    x = _t(x)
    if axis1 % _py_max(x.dim(), 1) == axis2 % _py_max(x.dim(), 1):  # Keras's check (ops/numpy.py)
        raise ValueError(f"`axis1` and `axis2` cannot be the same. Received: axis1={axis1}, axis2={axis2}")
    rows, cols = x.shape[axis1], x.shape[axis2]
    if offset != 0 and (offset <= -rows or offset >= cols):
        raise ValueError(f"ops.diagonal: offset {offset} is out of range for a {rows} x {cols} matrix (Keras's "
                         "TensorFlow backend raises InvalidArgumentError)")
    return torch.diagonal(x, int(offset), axis1, axis2)


def diag(x, k=0) -> torch.Tensor:
    """``ops.diag(x, k=0)``: a 1-D ``x`` becomes a square matrix of size ``len(x) + |k|`` with ``x`` on diagonal
    ``k``; a 2-D ``x`` gives its diagonal ``k`` (:func:`diagonal`); other ranks raise."""
    x = _t(x)
    if x.dim() == 1:
        return torch.diag(x, int(k))
    if x.dim() == 2:
        return diagonal(x, offset=k)
    raise ValueError(f"`x` must be 1d or 2d. Received: x.shape={tuple(x.shape)}")


def trace(x, offset=0, axis1=0, axis2=1) -> torch.Tensor:
    """``ops.trace(x, offset=0, axis1=0, axis2=1)``: the sum of diagonal ``offset``; bool/int8/int16 sum to int32,
    uint8/uint16 to uint32 (other dtypes kept). Keras masks with its ``ops.eye(N, M, k=offset)``, which is not
    ``N x M`` for ``N != M`` and ``offset != 0``: then it raises (``trace(ones((3, 8)), 1)``), as here."""
    x = _t(x)
    name = _dname(x)
    name = "int32" if name in ("bool", "int8", "int16") else "uint32" if name in ("uint8", "uint16") else name
    x = x.to(_tdt(name))
    n, m = x.shape[axis1], x.shape[axis2]
    mask = eye(n, m, k=offset, dtype="bool")  # Keras masks with its eye, whose quirk makes N != M, k != 0 raise
    if tuple(mask.shape) != (n, m):
        raise ValueError(f"ops.trace(offset={offset}) of a {n} x {m} matrix: Keras's TensorFlow backend raises "
                         f"(its ops.eye({n}, {m}, k={offset}) is {tuple(mask.shape)})")
    x = torch.movedim(x, (axis1, axis2), (-2, -1))
    if name == "uint32":  # torch's sum does not take uint32: int64 then back (exact for small sums)
        x = x.to(torch.int64)
    out = torch.where(mask.to(x.device), x, torch.zeros_like(x)).sum((-2, -1), dtype=x.dtype)
    return out.to(torch.uint32) if name == "uint32" else out


def outer(x1, x2) -> torch.Tensor:
    """``ops.outer(x1, x2)``: both flattened, ``result_type`` of their dtypes (Python scalars: int32/float32
    tensors first)."""
    a, b = _t(x1), _t(x2)
    dt = _tdt(result_type(_dname(a), _dname(b)))
    a, b = _same_device(a.to(dt), b.to(dt))
    return a.reshape(-1, 1) * b.reshape(-1)  # booleans: a logical and, as Keras's


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False) -> torch.Tensor:
    """``ops.isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False)``: ``(finite & |x1 - x2| <= atol + rtol *
    |x2|) | x1 == x2`` in the promoted float dtype, so ``inf`` is close to ``inf`` (NumPy's, and Keras's after
    keras-team/keras#23136; Keras 3.15.1 says False); equality for integers and booleans."""
    a, b = _t(x1), _t(x2)
    dt = _tdt(result_type(_dname(a), _dname(b)))
    a, b = _same_device(a.to(dt), b.to(dt))
    if not dt.is_floating_point:
        return a == b
    a, b = a.detach(), b.detach()
    # keras-team/keras#23136 (after 3.15.1, followed): equal infinities are close (3.15.1: inf - inf is NaN)
    out = (torch.isfinite(a) & torch.isfinite(b) & (torch.abs(a - b) <= (atol + rtol * torch.abs(b)))) | (a == b)
    if equal_nan:
        out = out | (torch.isnan(a) & torch.isnan(b))
    return out


def hypot(x1, x2) -> torch.Tensor:
    """``ops.hypot(x1, x2)``: ``max(|x1|, |x2|) * sqrt(1 + divide_no_nan(min, max)**2)`` (TensorFlow's composition
    and its gradients: a tie of ``|x1| = |x2|`` gives ``maximum``'s part to ``x1``), ``inf`` where an input is
    infinite (keras-team/keras#23157, followed); int8..int32/uint become floatx, int64 float64."""
    a, b = _t(x1), _t(x2)
    dt = result_type(_dname(a), _dname(b))
    dt = floatx() if dt in ("int8", "int16", "int32", "uint8", "uint16", "uint32") else \
        "float64" if dt == "int64" else dt
    a, b = _same_device(a.to(_tdt(dt)), b.to(_tdt(dt)))
    aa, ab = absolute(a), absolute(b)
    mx, mn = maximum(aa, ab), minimum(aa, ab)
    ratio = divide_no_nan(mn, mx)
    out = mx * sqrt(1.0 + square(ratio))
    # keras-team/keras#23157 (after 3.15.1, followed): an infinite input gives inf (3.15.1: NaN for (inf, inf)
    # and (inf, NaN), the ratio being inf / inf)
    return torch.where(torch.isinf(aa) | torch.isinf(ab), torch.tensor(math.inf, dtype=out.dtype,
                                                                        device=out.device), out)


def arctan2(x1, x2) -> torch.Tensor:
    """``ops.arctan2(x1, x2)``: in ``result_type(x1, x2, float)``."""
    a, b = _t(x1), _t(x2)
    dt = _tdt(result_type(_dname(a), _dname(b), float))
    return torch.atan2(*_same_device(a.to(dt), b.to(dt)))


def arcsin(x) -> torch.Tensor:
    """``ops.arcsin(x)``: integers become floats (int64: floatx)."""
    return torch.asin(_float_of(_t(x)))


def arccos(x) -> torch.Tensor:
    """``ops.arccos(x)``."""
    return torch.acos(_float_of(_t(x)))


def arctan(x) -> torch.Tensor:
    """``ops.arctan(x)``."""
    return torch.atan(_float_of(_t(x)))


def tan(x) -> torch.Tensor:
    """``ops.tan(x)``."""
    return torch.tan(_float_of(_t(x)))


def exp2(x) -> torch.Tensor:
    """``ops.exp2(x)``: ``pow(2, x)``; integers and booleans become floatx."""
    x = _to_floatx_if_int(_t(x))
    return torch.pow(torch.tensor(2.0, dtype=x.dtype, device=x.device), x)


def reciprocal(x) -> torch.Tensor:
    """``ops.reciprocal(x)``: ``tf.math.reciprocal`` (``1 / x``; ``1 / 0`` is inf), in ``x``'s dtype."""
    x = _t(x)
    if not x.is_floating_point():
        raise TypeError(f"ops.reciprocal of {_dname(x)}: cast to a float first")
    return torch.reciprocal(x)


def average(x, axis=None, weights=None) -> torch.Tensor:
    """``ops.average(x, axis=None, weights=None)``: in ``result_type(x, weights, float)``; with weights of ``x``'s
    rank ``sum(x * w, axis) / sum(w, axis)``, with 1-D weights along ``axis`` ``tensordot(x, w) / sum(w)`` (no
    check of a zero weight sum: NaN or inf, as Keras's)."""
    x = _t(x)
    if weights is None:
        x = x.to(_tdt(result_type(_dname(x), float)))
        if axis is None:
            return torch.mean(x)
        dims = _dims(x, axis)  # axis=() reduces nothing (tf.reduce_mean); torch's dim=() would reduce all
        return torch.mean(x, dims) if dims else x
    w = _t(weights)
    # keras-team/keras#23249 (after 3.15.1, followed): NumPy's checks of the weights' shape (3.15.1 broadcasts
    # weights of x's rank, e.g. (1, 3) against (2, 3), and fails inside TensorFlow for an axis given as a tuple)
    if w.dim() == 1 and x.dim() > 1:
        if axis is None or (isinstance(axis, (list, tuple)) and len(axis) != 1):
            raise ValueError("Axis must be specified when shapes of a and weights differ.")
        axis = axis[0] if isinstance(axis, (list, tuple)) else axis
        if w.shape[0] != x.shape[int(axis) % x.dim()]:
            raise ValueError("Shape of weights must be consistent with shape of a along specified axis.")
    elif x.shape != w.shape:
        if axis is None:
            raise ValueError("Axis must be specified when shapes of a and weights differ.")
        raise ValueError("Shape of weights must be consistent with shape of a along specified axis.")
    dt = _tdt(result_type(_dname(x), _dname(w), float))
    x, w = _same_device(x.to(dt), w.to(dt))
    if axis is None:
        return torch.sum(x * w) / torch.sum(w)
    if x.dim() == w.dim():
        dims = _dims(x, axis)
        return torch.sum(x * w, dims) / torch.sum(w, dims) if dims else (x * w) / w
    return torch.tensordot(x, w, dims=([int(axis)], [0])) / torch.sum(w)


def searchsorted(sorted_sequence, values, side="left") -> torch.Tensor:
    """``ops.searchsorted(sorted_sequence, values, side="left")``: a 1-D sequence and values of its dtype, of any
    shape (the result has the values' shape: keras-team/keras#23436, after 3.15.1, followed; 3.15.1 raises for
    values that are not 1-D); int32 indices. A NaN value goes to 0 with ``side="left"`` (``std::lower_bound``;
    torch and NumPy: the end) and to the end with ``"right"``."""
    s, v = _t(sorted_sequence), _t(values)
    if s.dim() != 1:
        raise ValueError("`searchsorted` only supports 1-D sorted sequences. Received: "
                         f"sorted_sequence.shape={tuple(s.shape)}")
    if s.dtype != v.dtype:
        raise TypeError(f"ops.searchsorted: {_dname(s)} sequence and {_dname(v)} values (TensorFlow raises)")
    s, v = _same_device(s, v)
    shape, v = v.shape, v.reshape(-1)
    out = torch.searchsorted(s, v, side=side, out_int32=True)
    if side == "left" and v.is_floating_point():  # TensorFlow's lower_bound puts NaN first (torch: last)
        out = torch.where(torch.isnan(v), torch.zeros_like(out), out)
    return out.reshape(shape)


def digitize(x, bins) -> torch.Tensor:
    """``ops.digitize(x, bins)``: ``tf.raw_ops.Bucketize``: int32 ``i`` with ``bins[i-1] <= x < bins[i]``; the bins
    are float32 (an attribute ``list(float)``), so in float64 ``digitize(0.1, [0.1])`` is 0 (``float32(0.1)`` is
    above 0.1; NumPy: 1), and integers are compared as float32."""
    x = _t(x)
    b = torch.tensor([float(v) for v in bins], dtype=torch.float32, device=x.device)
    if x.dtype == torch.float64:
        b = b.to(torch.float64)
    else:
        x = x.to(torch.float32)  # float16 is cast to float32 by Keras; C++ compares an integer with a float as float
    return torch.bucketize(x.detach(), b, out_int32=True, right=True)


def bincount(x, weights=None, minlength=0, sparse=False) -> torch.Tensor:
    """``ops.bincount(x, weights=None, minlength=0, sparse=False)``: ``tf.math.bincount(axis=-1)``: a 2-D ``x``
    counts each row, all rows of length ``max(max(x) + 1, minlength)``; int32 counts, or with weights
    ``result_type(x, weights)`` of ``x``'s dtype before its cast to int32 (float64 ``x`` with float32 weights:
    float64), summed in int32/float32 for smaller weight dtypes, as Keras; negative values
    raise (TensorFlow: InvalidArgumentError). No gradient; ``sparse=True`` is not ported."""
    if sparse:
        raise NotImplementedError("ops.bincount(sparse=True): sparse tensors are not ported")
    x = _t(x)
    if x.dim() not in (1, 2):
        raise ValueError(f"ops.bincount: x must be 1-D or 2-D, got shape {tuple(x.shape)}")
    x_name = _dname(x)  # Keras's result dtype uses x's dtype before its cast to int32 (float64 x: float64)
    if x.dtype not in (torch.int32, torch.int64):
        x = x.to(torch.int32)
    if x.numel() and int(x.min()) < 0:
        raise ValueError("ops.bincount: negative values (TensorFlow raises InvalidArgumentError)")
    length = _py_max(int(x.max()) + 1 if x.numel() else 0, int(minlength))
    if weights is None:
        dt, w = torch.int32, torch.ones(x.shape, dtype=torch.int32, device=x.device)
    else:
        w = _t(weights)
        dt = _tdt(result_type(x_name, _dname(w)))
        if w.dtype not in (torch.int32, torch.int64, torch.float32, torch.float64):
            w = w.to(torch.int32 if "int" in _dname(w) else torch.float32)  # bool, float16: float32
        w = w.to(x.device).detach()
    lead = x.shape[:-1]
    out = torch.zeros(*lead, length, dtype=w.dtype, device=x.device)
    out = out.scatter_add(-1, x.long(), w.expand(x.shape))
    return out.to(dt)


# --------------------------------------------------------------------------------------------------------------
# The rest of keras.ops, one module per family. Each defines its ``__all__`` first, then imports this module as
# ``_ko`` and uses its helpers at call time, so either module may be imported first; names resolve here through
# PEP 562's module ``__getattr__`` (and are cached in this module on first use).
# --------------------------------------------------------------------------------------------------------------

import importlib as _importlib  # noqa: E402
import sys  # noqa: E402

_FAMILY_MODULES = ("torch_impl._keras_ops_linalg", "torch_impl._keras_ops_fft_math", "torch_impl._keras_ops_nn_image",
                   "torch_impl._keras_ops_numpy_more")
for _family in _FAMILY_MODULES:
    __all__ += list(getattr(_importlib.import_module(_family), "__all__", ()))


class _Namespace:
    """A ``keras.ops`` sub-namespace (``ops.linalg``, ``ops.nn``, ``ops.numpy``): its names, this module's
    functions."""

    def __init__(self, name: str, names: str):
        self._name, self._names = name, tuple(names.split())

    def __getattr__(self, attr: str):
        if attr in self._names:
            return getattr(sys.modules[__name__], attr)  # this module, its lazily loaded families included
        raise AttributeError(f"keras_ops.{self._name} has no attribute {attr!r} (keras.ops.{self._name} in Keras "
                             "3.15.1 has none either, or it is not ported)")

    def __dir__(self):
        return list(self._names)


linalg = _Namespace("linalg", "cholesky cholesky_inverse det eig eigh inv jvp lstsq lu_factor matrix_rank norm pinv "
                              "qr solve solve_triangular svd")
nn = _Namespace("nn", "adaptive_average_pool adaptive_max_pool average_pool batch_normalization binary_crossentropy "
                      "categorical_crossentropy celu conv conv_transpose ctc_decode ctc_loss depth_to_space depthwise_conv "
                      "dot_product_attention elu fold gelu glu hard_shrink hard_sigmoid hard_silu hard_swish "
                      "hard_tanh layer_normalization leaky_relu log_sigmoid log_softmax max_pool moments multi_hot "
                      "normalize one_hot polar psnr relu relu6 rms_normalization selu separable_conv sigmoid silu "
                      "soft_shrink softmax softplus softsign space_to_depth sparse_categorical_crossentropy "
                      "sparse_plus sparse_sigmoid sparsemax squareplus swish tanh_shrink threshold unfold")
numpy = _Namespace("numpy", " ".join(
    "abs absolute add all allclose amax amin angle any append arange arccos arccosh arcsin arcsinh arctan arctan2 "
    "arctanh argmax argmin argpartition argsort array array_split average bartlett bincount bitwise_and "
    "bitwise_invert bitwise_left_shift bitwise_not bitwise_or bitwise_right_shift bitwise_xor blackman broadcast_to "
    "cbrt ceil clip concatenate conj conjugate copy corrcoef correlate cos cosh count_nonzero cross cumprod cumsum "
    "deg2rad diag diagflat diagonal diff digitize divide divide_no_nan dot dsplit dstack einsum empty empty_like "
    "equal exp exp2 expand_dims expm1 eye fabs flip fliplr flipud floor floor_divide fmax fmin fmod full full_like "
    "gcd geomspace get_item greater greater_equal hamming hanning heaviside histogram hsplit hstack hypot i0 "
    "identity imag inner isclose isfinite isin isinf isnan isneginf isposinf isreal kaiser kron lcm ldexp "
    "left_shift less less_equal linspace log log10 log1p log2 logaddexp logaddexp2 logical_and logical_not "
    "logical_or logical_xor logspace matmul max maximum mean median meshgrid min minimum mod moveaxis multiply "
    "nan_to_num nanargmax nanargmin nancumprod nancumsum nanmax nanmean nanmedian nanmin nanpercentile nanprod "
    "nanquantile nanstd nansum nanvar ndim negative nextafter nonzero not_equal ones ones_like outer pad percentile "
    "power prod ptp quantile rad2deg ravel real reciprocal repeat reshape right_shift roll rot90 round searchsorted "
    "select sign signbit sin sinc sinh size slogdet sort split sqrt square squeeze stack std subtract sum swapaxes "
    "take take_along_axis tan tanh tensordot tile trace transpose trapezoid tri tril triu true_divide trunc unique "
    "unravel_index vander var vdot vectorize view vsplit vstack where zeros zeros_like".split()))
__all__ += ["linalg", "nn", "numpy"]


def __getattr__(name: str):
    for family in _FAMILY_MODULES:
        mod = _importlib.import_module(family)
        if name in getattr(mod, "__all__", ()):
            value = getattr(mod, name)
            globals()[name] = value
            return value
    raise AttributeError(f"module 'torch_impl.keras_ops' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))

"""Part of :mod:`torch_impl.keras_ops` (import the functions from there): the rest of ``keras.ops``'s array ops,
its indexing ops and its control flow, with the TensorFlow backend's values, dtypes, gradients and quirks.

Shape/stack/split: ``append``, ``array_split``, ``hstack``, ``vstack``, ``dstack``, ``hsplit``, ``vsplit``,
``dsplit``, ``moveaxis``, ``swapaxes``, ``ravel``, ``rot90``, ``fliplr``, ``flipud``, ``unstack``.
Products: ``kron``, ``inner``, ``vdot``, ``cross``. Creation: ``array``, ``tri``, ``diagflat``, ``meshgrid``,
``logspace``, ``geomspace``, ``vander``, ``identity``, ``empty``, ``empty_like``, ``copy``. Indexing: ``get_item``,
``slice``, ``slice_update``, ``scatter``, ``scatter_update``, ``select``, ``nonzero``, ``unravel_index``,
``unique``, ``argpartition``. Einops and blocks: ``rearrange``, ``fold``, ``unfold``. Misc: ``is_tensor``,
``dtype``, ``convert_to_numpy``, ``view``. Control flow (plain
Python loops: autograd differentiates through them): ``cond``, ``switch``, ``scan``, ``map``, ``fori_loop``,
``while_loop``, ``associative_scan``, ``vectorized_map``, ``vectorize``, ``custom_gradient``.

Keras (TensorFlow backend) quirks reproduced here (each pinned by parity_tests/test_keras_ops_numpy_more_keras.py):

* ``select`` promotes with NumPy's rules (``tf.experimental.numpy``), not Keras's: int32 with float32 is float64.
* ``slice_update`` clamps the start so the update fits (XLA's ``dynamic_update_slice``): a start of 2 for a 2-long
  update in a 3-long axis writes at 1; a negative start writes at 0.
* (not a quirk any more) ``unravel_index`` of a scalar or an N-D (N != 1) index: Keras 3.15.1 walks ``shape``
  forwards (``unravel_index(4, (2, 3))`` is ``(2, 0)``); later Keras (keras-team/keras#23434) and this module give
  NumPy's ``(1, 1)``.
* ``argpartition`` casts ``x`` to int32 first (floats truncate) and zeroes the ``kth + 1`` smallest before taking
  the largest of the rest: with negative entries the result is not a partition (``[-5, -3, -1, -2]``, kth 1:
  ``[0, 1, 0, 1]``); with 2-D ``x`` the mask is summed over the rows.
* ``unique`` with ``size`` pads ``return_index`` with 1 (and counts with 0); ``sorted=False`` keeps first-occurrence
  order; NaNs stay distinct (with NaNs and ``sorted=True`` TensorFlow's ``argsort`` order is not reproduced).
* ``get_item`` indexes as TensorFlow: a Python list key is a tuple of indices (``x[[1, 0]]`` is ``x[1, 0]``);
  index arrays, floats and masks inside a tuple raise ``TypeError``; an out-of-range integer raises.
* (not a quirk any more) ``rot90`` with ``k % 4 == 2`` on a non-square plane: Keras 3.15.1 scrambles the entries;
  later Keras (keras-team/keras#23435) and this module give NumPy's rotation.
* ``slice_update``, ``unique`` and a same-size ``view`` have no gradient in TensorFlow (``LookupError`` under a
  ``GradientTape``): ``unique``/``view`` here are cut from the graph; ``slice_update`` is differentiable (the
  gradients Keras gives for the same update written with ``scatter_update``).
* ``vander`` uses TensorFlow's ``pow`` gradient (NaN at ``x = 0`` from the power-0 column).
* ``logspace``/``geomspace`` start exactly at ``start`` (``tf.linspace``): ``logspace(-inf, 1, 3)[0]`` is 0.
* ``dtype`` of a list or a Python number raises ``AttributeError`` (Keras reads ``x.dtype``).
* ``vectorize`` raises ``ValueError`` whenever it would have to map over an axis (the TensorFlow backend's
  ``_vmap_fn`` refuses ``in_axes`` that is not ``0``): only all-size-1 inputs pass; ``excluded`` is ignored.
* ``kron``, ``view`` and ``meshgrid`` of mixed or boolean inputs raise as TensorFlow does.
* ``hstack``/``vstack``/``dstack``/``append``/``cross``/``kron`` promote mixed dtypes with Keras's rules;
  ``inner``/``vdot`` compute in floats and cast back (int8 stays int8).
* ``scatter`` sums duplicate indices; ``scatter_update(..., reduction='max'|'min')`` splits the gradient among
  ties (TensorFlow's ``TensorScatterMax`` gradient); ``reduction='mul'`` multiplies sequentially.
* ``custom_gradient``: the decorated function returns ``(value, grad_fn)``; ``grad_fn`` is called as TensorFlow
  calls it, positionally with one upstream gradient per output (``grad_fn(*upstream)``), so Keras's portable
  ``def grad(*args, upstream=None)`` works.
* ``fori_loop``'s counter is a Python int; ``while_loop``/``fori_loop`` convert their results to tensors at the end
  (Python floats become float32, ints int32).
"""

from __future__ import annotations

__all__: list = [
    "append", "array", "array_split", "hstack", "vstack", "dstack", "hsplit", "vsplit", "dsplit", "moveaxis",
    "swapaxes", "ravel", "rot90", "fliplr", "flipud", "kron", "inner", "vdot", "cross", "tri", "diagflat",
    "meshgrid", "logspace", "geomspace", "vander", "unique", "nonzero", "unravel_index", "unstack", "slice",
    "slice_update", "scatter", "scatter_update", "get_item", "select", "copy", "identity", "empty", "empty_like",
    "is_tensor", "dtype", "convert_to_numpy", "view", "argpartition", "rearrange", "fold", "unfold",
    "cond", "switch", "scan", "map", "fori_loop", "while_loop", "associative_scan", "vectorized_map", "vectorize",
    "custom_gradient", "correlate",
]

import builtins as _builtins  # noqa: E402
import functools  # noqa: E402
import re  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_impl import keras_ops as _ko  # noqa: E402,F401

_py_slice = _builtins.slice


def _canon(axis: int, ndim: int) -> int:
    if not -ndim <= axis < _builtins.max(ndim, 1):
        raise ValueError(f"Axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % _builtins.max(ndim, 1)


def _promote(ts):
    """Tensors cast to Keras's ``result_type`` of their dtypes when these differ."""
    names = {_ko._dname(t) for t in ts}
    if len(names) > 1:
        dt = _ko._tdt(_ko.result_type(*names))
        ts = [t.to(dt) for t in ts]
    return ts


# --------------------------------------------------------------------------------------------------------------
# shape, stack, split
# --------------------------------------------------------------------------------------------------------------


def append(x1, x2, axis=None) -> torch.Tensor:
    """``ops.append(x1, x2, axis=None)``: both converted (a Python float is float32), Keras's promotion;
    ``axis=None`` flattens both."""
    a, b = _promote([_ko._t(x1), _ko._t(x2)])
    if axis is None:
        return torch.cat([a.reshape(-1), b.reshape(-1)], 0)
    return torch.cat([a, b], dim=axis)


def array(x, dtype=None) -> torch.Tensor:
    """``ops.array(x, dtype=None)``: :func:`convert_to_tensor` (Python floats are float32, ints int32)."""
    return _ko._t(x, dtype)


def array_split(x, indices_or_sections, axis: int = 0) -> list:
    """``ops.array_split(x, indices_or_sections, axis=0)``: ``n`` sections, the first ``size % n`` one longer;
    only an int ``n > 0`` (a list raises ``TypeError``, unlike NumPy)."""
    if not isinstance(indices_or_sections, int):
        raise TypeError("Argument `indices_or_sections` must be of type `int`. "
                        f"Received: indices_or_sections={indices_or_sections}")
    if indices_or_sections <= 0:
        raise ValueError("Argument `indices_or_sections` must be a positive integer. "
                         f"Received: indices_or_sections={indices_or_sections}")
    if not isinstance(axis, int):
        raise TypeError(f"Argument `axis` must be of type `int`. Received: {axis}")
    x = _ko._t(x)
    n = indices_or_sections
    total = x.shape[axis]
    avg, rem = divmod(total, n)
    return list(torch.split(x, [avg + 1] * rem + [avg] * (n - rem), dim=axis))


def _stack_dtypes(xs):
    names = {_ko._dname(x) if isinstance(x, torch.Tensor) or _ko._is_py_scalar(x) else _ko._dname(_ko._t(x))
             for x in xs}
    if len(names) > 1:
        dt = _ko.result_type(*names)
        return [_ko._t(x, dt) for x in xs]
    return [_ko._t(x) for x in xs]


def hstack(xs) -> torch.Tensor:
    """``ops.hstack(xs)``: along axis 1 (axis 0 for 1-D); mixed dtypes promoted as Keras does."""
    xs = _stack_dtypes(xs)
    return torch.cat(xs, 0 if xs[0].dim() == 1 else 1)


def vstack(xs) -> torch.Tensor:
    """``ops.vstack(xs)``: concatenation along axis 0 (1-D inputs are *not* made rows: they concatenate)."""
    return torch.cat(_stack_dtypes(xs), 0)


def dstack(xs) -> torch.Tensor:
    """``ops.dstack(xs)``: along axis 2 (scalars become ``(1, 1, 1)``, 1-D ``(1, n, 1)``, 2-D ``(m, n, 1)``)."""
    xs = _promote([_ko._t(x) for x in xs])
    out = []
    for x in xs:
        if x.dim() == 0:
            x = x.reshape(1, 1, 1)
        elif x.dim() == 1:
            x = x[None, :, None]
        elif x.dim() == 2:
            x = x[:, :, None]
        out.append(x)
    return torch.cat(out, 2)


def hsplit(x, indices_or_sections) -> list:
    """``ops.hsplit(x, indices_or_sections)``: :func:`split` along axis 1 (axis 0 for 1-D)."""
    x = _ko._t(x)
    return _ko.split(x, indices_or_sections, axis=0 if x.dim() == 1 else 1)


def vsplit(x, indices_or_sections) -> list:
    """``ops.vsplit(x, indices_or_sections)``: :func:`split` along axis 0."""
    return _ko.split(x, indices_or_sections, axis=0)


def dsplit(x, indices_or_sections) -> list:
    """``ops.dsplit(x, indices_or_sections)``: :func:`split` along axis 2."""
    return _ko.split(x, indices_or_sections, axis=2)


def moveaxis(x, source, destination) -> torch.Tensor:
    """``ops.moveaxis(x, source, destination)``: ints or sequences of equal length."""
    x = _ko._t(x)
    src = tuple(source) if isinstance(source, (list, tuple)) else (source,)
    dst = tuple(destination) if isinstance(destination, (list, tuple)) else (destination,)
    src = tuple(_canon(int(a), x.dim()) for a in src)
    dst = tuple(_canon(int(a), x.dim()) for a in dst)
    if len(src) != len(dst):
        raise ValueError("Inconsistent number of `source` and `destination`. "
                         f"Received: source={source}, destination={destination}")
    if src == dst:
        return x
    return torch.movedim(x, src, dst)


def swapaxes(x, axis1, axis2) -> torch.Tensor:
    """``ops.swapaxes(x, axis1, axis2)``."""
    x = _ko._t(x)
    a1, a2 = _canon(int(axis1), x.dim()), _canon(int(axis2), x.dim())
    return x if a1 == a2 else torch.transpose(x, a1, a2)


def ravel(x) -> torch.Tensor:
    """``ops.ravel(x)``: flattened (row-major)."""
    return _ko._t(x).reshape(-1)


def rot90(array, k: int = 1, axes=(0, 1)) -> torch.Tensor:  # noqa: A002 - Keras's name
    """``ops.rot90(array, k=1, axes=(0, 1))``: NumPy's rotation, non-square planes included (keras-team/keras#23435,
    after 3.15.1, followed: 3.15.1 scrambles the entries of a non-square plane for ``k % 4 == 2``); fewer than 2
    dims or equal axes raise."""
    x = _ko._t(array)
    if x.dim() < 2:
        raise ValueError(f"Input array must have at least 2 dimensions. Received: array.ndim={x.dim()}")
    if len(axes) != 2 or axes[0] == axes[1]:
        raise ValueError(f"Invalid axes: {axes}. Axes must be a tuple of two different dimensions.")
    k = k % 4
    if k == 0:
        return x
    nd = x.dim()
    axes = tuple(a if a >= 0 else nd + a for a in axes)
    perm = [i for i in range(nd) if i not in axes] + list(axes)
    x = x.permute(perm)
    if k == 1:
        x = torch.flip(x, [-1]).transpose(-1, -2)
    elif k == 2:
        x = torch.flip(x, [-2, -1])
    else:
        x = torch.flip(x, [-2]).transpose(-1, -2)
    inv = [0] * nd
    for i, p in enumerate(perm):
        inv[p] = i
    return x.permute(inv)


def fliplr(x) -> torch.Tensor:
    """``ops.fliplr(x)``: axis 1 reversed."""
    return torch.flip(_ko._t(x), [1])


def flipud(x) -> torch.Tensor:
    """``ops.flipud(x)``: axis 0 reversed."""
    return torch.flip(_ko._t(x), [0])


def unstack(x, num=None, axis: int = 0) -> list:
    """``ops.unstack(x, num=None, axis=0)``: a list of the slices along ``axis``; a wrong ``num`` raises."""
    x = _ko._t(x)
    if num is not None and x.shape[axis] != num:
        raise ValueError(f"Input shape axis {axis} must equal {num}, got shape {list(x.shape)} (TensorFlow raises "
                         "InvalidArgumentError)")
    return list(torch.unbind(x, dim=axis))


# --------------------------------------------------------------------------------------------------------------
# products
# --------------------------------------------------------------------------------------------------------------


def kron(x1, x2) -> torch.Tensor:
    """``ops.kron(x1, x2)``: Keras's promotion; booleans raise (TensorFlow has no boolean multiply)."""
    a, b = _promote([_ko._t(x1), _ko._t(x2)])
    if a.dtype == torch.bool:
        raise TypeError("ops.kron does not take booleans (TensorFlow raises InvalidArgumentError)")
    return torch.kron(a, b)


def _float_compute(x1, x2):
    a, b = _ko._t(x1), _ko._t(x2)
    rdt = _ko.result_type(_ko._dname(a), _ko._dname(b))
    cdt = _ko._tdt(_ko.result_type(rdt, float))
    return a.to(cdt), b.to(cdt), _ko._tdt(rdt)


def inner(x1, x2) -> torch.Tensor:
    """``ops.inner(x1, x2)``: over the last axes, computed in ``result_type(.., float)`` and cast back (two int8
    give int8, wrapping)."""
    a, b, rdt = _float_compute(x1, x2)
    out = a * b if a.dim() == 0 or b.dim() == 0 else torch.tensordot(a, b, dims=([-1], [-1]))
    return out.to(rdt)


def vdot(x1, x2) -> torch.Tensor:
    """``ops.vdot(x1, x2)``: the dot of the flattened inputs (computed in floats, cast back)."""
    a, b, rdt = _float_compute(x1, x2)
    return torch.dot(a.reshape(-1), b.reshape(-1)).to(rdt)


def cross(x1, x2, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis=None) -> torch.Tensor:
    """``ops.cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None)``: 2-vectors padded with a zero; two
    2-vectors give the z component only."""
    a, b = _promote([_ko._t(x1), _ko._t(x2)])
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)
    da, db = a.shape[-1], b.shape[-1]
    if da == 2:
        a = torch.nn.functional.pad(a, (0, 1))
    if db == 2:
        b = torch.nn.functional.pad(b, (0, 1))
    a, b = torch.broadcast_tensors(a, b)
    c = torch.linalg.cross(a, b, dim=-1)
    if da == 2 and db == 2:
        return c[..., 2]
    return moveaxis(c, -1, axisc)


# --------------------------------------------------------------------------------------------------------------
# creation
# --------------------------------------------------------------------------------------------------------------


def tri(N: int, M=None, k: int = 0, dtype=None) -> torch.Tensor:
    """``ops.tri(N, M=None, k=0, dtype=None)``: ones at and below diagonal ``k``, floatx by default."""
    M = N if M is None else M
    dt = _ko._tdt(dtype or _ko.floatx())
    return torch.tril(torch.ones(N, M, dtype=torch.bool), k).to(dt)


def diagflat(x, k: int = 0) -> torch.Tensor:
    """``ops.diagflat(x, k=0)``: the flattened ``x`` on diagonal ``k`` of a square matrix."""
    return _ko.diag(_ko._t(x).reshape(-1), k)


def meshgrid(*x, indexing: str = "xy") -> list:
    """``ops.meshgrid(*x, indexing='xy')``: ``tf.meshgrid`` (mixed dtypes raise)."""
    ts = [_ko._t(a) for a in x]
    if len({t.dtype for t in ts}) > 1:
        raise TypeError("ops.meshgrid of mixed dtypes (TensorFlow raises InvalidArgumentError)")
    if indexing not in ("xy", "ij"):
        raise ValueError("Argument `indexing` must be either 'xy' or 'ij'")
    return list(torch.meshgrid(*[t.reshape(-1) for t in ts], indexing=indexing))


def _linspace_exact_start(start, stop, num, endpoint, dtype, axis):
    """``ops.linspace`` whose first entry is ``start`` itself, as ``tf.linspace``'s (``keras_ops.linspace``
    computes ``start + 0 * step``, NaN for an infinite step: ``linspace(-inf, 1, 3)[0]``)."""
    r = _ko.linspace(start, stop, num=num, endpoint=endpoint, dtype=dtype, axis=axis)
    if num < 1:
        return r
    s = _ko._t(start, r.dtype if r.is_floating_point() else _ko.floatx())
    if not r.is_floating_point():
        s = torch.floor(s)
    m = torch.movedim(r, axis, 0)
    m = torch.cat([s.to(r.dtype).expand(m.shape[1:]).unsqueeze(0), m[1:]], 0)
    return torch.movedim(m, 0, axis)


def logspace(start, stop, num: int = 50, endpoint: bool = True, base=10, dtype=None, axis: int = 0):
    """``ops.logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0)``: ``base ** linspace``
    (``tf.pow``; an integer ``dtype`` floors the exponents first)."""
    r = _linspace_exact_start(start, stop, num, endpoint, dtype, axis)
    if r.dtype in (torch.bool, torch.uint8, torch.uint16, torch.uint32, torch.uint64):
        raise TypeError(f"ops.logspace with dtype {r.dtype} (TensorFlow has no such pow: InvalidArgumentError)")
    b = _ko._t(base, _ko._dname(r)) if not isinstance(base, torch.Tensor) else base.to(r.dtype)
    return torch.pow(b, r)


def geomspace(start, stop, num: int = 50, endpoint: bool = True, dtype=None, axis: int = 0):
    """``ops.geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0)``: ``logspace`` of
    ``log|start| / log(10)`` to ``log|stop| / log(10)``, times the sign of ``start``."""
    s, e = _ko._t(start), _ko._t(stop)
    cdt = _ko._tdt(dtype or _ko.floatx())
    ls, le = torch.log(_ko.abs(s).to(cdt)), torch.log(_ko.abs(e).to(cdt))
    lb = torch.log(torch.tensor(10.0, dtype=ls.dtype, device=ls.device))
    r = logspace(ls / lb, le / lb, num=num, endpoint=endpoint, base=10, dtype=dtype, axis=axis)
    return r * torch.sign(s.to(ls.dtype)).to(r.dtype)


def vander(x, N=None, increasing: bool = False) -> torch.Tensor:
    """``ops.vander(x, N=None, increasing=False)``: ``tf.pow`` in ``result_type(x, 'float32')``, cast back to
    ``x``'s dtype; its gradient is TensorFlow's ``g y x**(y-1)`` (NaN at ``x = 0`` for the power 0)."""
    x = _ko._t(x)
    if x.dim() != 1:
        raise ValueError(f"Input tensor must be 1-dimensional. Received: input.shape={tuple(x.shape)}")
    if N is not None:
        if not isinstance(N, int):
            raise TypeError(f"Argument `N` must be of type `int`. Received: N={N} of type {type(N)}")
        if N < 0:
            raise ValueError(f"Argument 'N' must be nonnegative. Received: N={N}")
    if not isinstance(increasing, bool):
        raise TypeError(f"Argument `increasing` must be of type `bool`. Received: increasing={increasing} of "
                        f"type {type(increasing)}")
    N = x.shape[0] if N is None else N
    cdt = _ko._tdt(_ko.result_type(_ko._dname(x), "float32"))
    powers = torch.arange(N, dtype=cdt, device=x.device) if increasing else \
        torch.arange(N - 1, -1, -1, dtype=cdt, device=x.device)
    xe = x.to(cdt).unsqueeze(-1)
    xe, pw = torch.broadcast_tensors(xe, powers)
    return _ko._K._TfPowTensor.apply(xe, pw).to(x.dtype)


def identity(n: int, dtype=None) -> torch.Tensor:
    """``ops.identity(n, dtype=None)``: the ``n x n`` identity, floatx by default."""
    return _ko.eye(n, n, dtype=dtype)


def empty(shape, dtype=None) -> torch.Tensor:
    """``ops.empty(shape, dtype=None)``: zeros (TensorFlow's), floatx by default."""
    return _ko.zeros(shape, dtype=dtype)


def empty_like(x, dtype=None) -> torch.Tensor:
    """``ops.empty_like(x, dtype=None)``: zeros like ``x``."""
    return _ko.zeros_like(x, dtype=dtype)


def copy(x) -> torch.Tensor:
    """``ops.copy(x)``: a copy (the gradient passes)."""
    return _ko._t(x).clone()


# --------------------------------------------------------------------------------------------------------------
# indexing
# --------------------------------------------------------------------------------------------------------------


def get_item(x, key):
    """``ops.get_item(x, key)``: ``x[key]`` as TensorFlow indexes: integers, slices (negative steps too, clamped),
    ``...``, ``None`` and scalar int32/int64 tensors, or a whole-key boolean mask; a Python list key is a tuple of
    indices (``x[[1, 0]]`` is ``x[1, 0]``); out-of-range integers raise ``IndexError``, index arrays, floats and
    masks inside a tuple ``TypeError`` (TensorFlow's rules, not torch's advanced indexing)."""
    x = _ko._t(x)
    if isinstance(key, list):
        key = tuple(key)
    if isinstance(key, np.ndarray) and key.dtype == bool:
        key = torch.from_numpy(key)
    if isinstance(key, torch.Tensor) and key.dtype == torch.bool:
        return x[key.to(x.device)]  # a whole-key mask: tf.boolean_mask
    parts = key if isinstance(key, tuple) else (key,)
    for p in parts:
        ok = p is None or p is Ellipsis or isinstance(p, (_py_slice, int, np.integer)) and not isinstance(p, bool) \
            or isinstance(p, torch.Tensor) and p.dim() == 0 and p.dtype in (torch.int32, torch.int64)
        if not ok:
            raise TypeError("Only integers, slices (`:`), ellipsis (`...`), tf.newaxis (`None`) and scalar "
                            f"tf.int32/tf.int64 tensors are valid indices, got {p!r}")
    dim = 0
    n_real = _builtins.sum(1 for p in parts if p is not None and p is not Ellipsis)
    for p in parts:
        if p is Ellipsis:
            dim += x.dim() - n_real
            continue
        if p is None:
            continue
        if isinstance(p, (int, np.integer)) or (isinstance(p, torch.Tensor) and p.dim() == 0
                                                 and not p.is_floating_point() and p.dtype != torch.bool):
            if dim >= x.dim():
                raise ValueError(f"Array has shape {tuple(x.shape)} but slice has to many indices. Received: `{key}`")
            n = x.shape[dim]
            i = int(p)
            if not -n <= i < n:
                raise IndexError(f"slice index {i} of dimension {dim} out of bounds (TensorFlow raises "
                                 "InvalidArgumentError)")
        dim += p.dim() if isinstance(p, torch.Tensor) and p.dtype == torch.bool else 1
    # torch slices take no negative step: such a slice becomes ``:`` and then an index_select on its output axis
    dim, out_dim, flips, new_key = 0, 0, [], []
    for p in parts:
        if p is Ellipsis:
            covered = x.dim() - n_real
            dim, out_dim = dim + covered, out_dim + covered
        elif p is None:
            out_dim += 1
        elif isinstance(p, _py_slice):
            if p.step is not None and int(p.step) < 0:
                flips.append((out_dim, list(range(*p.indices(x.shape[dim])))))
                p = _py_slice(None)
            dim, out_dim = dim + 1, out_dim + 1
        elif isinstance(p, torch.Tensor) and p.dtype == torch.bool:
            dim, out_dim = dim + p.dim(), out_dim + 1
        else:
            dim += 1
        new_key.append(p)
    out = x[tuple(new_key) if isinstance(key, tuple) else new_key[0]]
    for d, idx in flips:
        out = torch.index_select(out, d, torch.tensor(idx, dtype=torch.long, device=out.device))
    return out


def _starts(start_indices) -> list:
    if isinstance(start_indices, torch.Tensor):
        return [int(v) for v in start_indices.reshape(-1).tolist()]
    return [int(v) for v in start_indices]


def slice(inputs, start_indices, shape) -> torch.Tensor:  # noqa: A001 - Keras's name
    """``ops.slice(inputs, start_indices, shape)``: ``tf.slice`` (a size of -1 takes the rest; a slice that does not
    fit raises, unlike Python slicing)."""
    x = _ko._t(inputs)
    starts = _starts(start_indices)
    sizes = [int(v) for v in (shape.reshape(-1).tolist() if isinstance(shape, torch.Tensor) else shape)]
    if len(starts) != x.dim() or len(sizes) != x.dim():
        raise ValueError(f"Expected begin and size arguments to be 1-D tensors of size {x.dim()} (TensorFlow raises "
                         "InvalidArgumentError)")
    for d, (s, n) in enumerate(zip(starts, sizes)):
        full = x.shape[d]
        n = full - s if n == -1 else n
        if not (0 <= s <= full and 0 <= n <= full - s):
            raise ValueError(f"Expected size[{d}] in [0, {full - s}], but got {n} (TensorFlow raises "
                             "InvalidArgumentError)")
        x = x.narrow(d, s, n)
    return x


def slice_update(inputs, start_indices, updates) -> torch.Tensor:
    """``ops.slice_update(inputs, start_indices, updates)``: XLA's ``dynamic_update_slice``: each start is clamped
    to ``[0, dim - update_dim]`` (the update always fits); the gradient of ``inputs`` is 0 under the update."""
    x = _ko._t(inputs)
    u = _ko._t(updates)
    if u.dtype != x.dtype:
        u = u.to(x.dtype) if not isinstance(updates, torch.Tensor) else u
        if u.dtype != x.dtype:
            raise TypeError(f"ops.slice_update: updates of dtype {u.dtype} into {x.dtype} (TensorFlow raises)")
    starts = _starts(start_indices)
    if u.dim() != x.dim() or len(starts) != x.dim():
        raise ValueError("ops.slice_update: `updates` and `start_indices` must have the rank of `inputs` "
                         "(TensorFlow raises InvalidArgumentError)")
    idx = []
    for d in range(x.dim()):
        if u.shape[d] > x.shape[d]:
            raise ValueError(f"ops.slice_update: update dimension {d} ({u.shape[d]}) exceeds the input's "
                             f"({x.shape[d]}) (TensorFlow raises InvalidArgumentError)")
        s = _builtins.min(_builtins.max(starts[d], 0), x.shape[d] - u.shape[d])
        idx.append(_py_slice(s, s + u.shape[d]))
    out = x.clone()
    out[tuple(idx)] = u.to(x.device)
    return out


def _index_tuple(indices: torch.Tensor, shape) -> tuple:
    """``tf.scatter_nd``'s index tensor ``(..., k)`` checked against ``shape`` and split into ``k`` index arrays."""
    k = indices.shape[-1]
    for j in range(k):
        col = indices[..., j]
        if col.numel() and (bool((col < 0).any()) or bool((col >= shape[j]).any())):
            raise IndexError(f"indices {indices.reshape(-1, k).tolist()[:4]}... do not index into shape "
                             f"{list(shape)} (TensorFlow raises InvalidArgumentError)")
    return tuple(indices[..., j].long() for j in range(k))


def scatter(indices, values, shape) -> torch.Tensor:
    """``ops.scatter(indices, values, shape)``: ``tf.scatter_nd``: zeros of ``shape`` with ``values`` added at
    ``indices`` (duplicates sum)."""
    v = _ko._t(values)
    idx = _ko._t(indices).to(v.device)
    shape = _ko._shape_arg(shape)
    out = torch.zeros(shape, dtype=v.dtype, device=v.device)
    return out.index_put(_index_tuple(idx, shape), v, accumulate=True)


class _ScatterMinMax(torch.autograd.Function):
    """``tf.tensor_scatter_nd_max``/``min`` with TensorFlow's gradient: split equally among the tied candidates
    (the input and the updates that equal the result)."""

    @staticmethod
    def forward(ctx, x, u, idx_t, largest):
        out = x.clone()
        red = "amax" if largest else "amin"
        flat_idx = _flat_index(idx_t, x.shape)
        k = len(idx_t)
        tail = x.shape[k:]
        out2 = out.reshape((-1,) + tuple(tail))
        u2 = u.reshape((-1,) + tuple(tail))
        index = flat_idx.reshape((-1,) + (1,) * len(tail)).expand(u2.shape)
        out2 = out2.scatter_reduce(0, index, u2, reduce=red, include_self=True)
        out = out2.reshape(x.shape)
        ctx.save_for_backward(x, u, out)
        ctx.idx_t = idx_t
        return out

    @staticmethod
    def backward(ctx, g):
        x, u, out = ctx.saved_tensors
        idx_t = ctx.idx_t
        xi = (x == out).to(g.dtype)
        yi = (u == out[idx_t]).to(g.dtype)
        num = xi.index_put(idx_t, yi, accumulate=True)
        gx = g * xi / num
        gu = (g / num)[idx_t] * yi
        return gx, gu, None, None


def _flat_index(idx_t, shape) -> torch.Tensor:
    flat = torch.zeros_like(idx_t[0])
    for j, i in enumerate(idx_t):
        flat = flat * shape[j] + i
    return flat


def scatter_update(inputs, indices, updates, reduction=None) -> torch.Tensor:
    """``ops.scatter_update(inputs, indices, updates, reduction=None)``: ``tf.tensor_scatter_nd_update`` (or
    ``_add``/``_max``/``_min``; ``'mul'`` one update after the other). The dtype is ``inputs``'s: a list of
    updates is converted to it, a tensor of another dtype raises. With ``reduction=None`` and duplicate indices
    the last update wins and each duplicate gets the gradient of the entry (as TensorFlow's ``gather_nd``)."""
    if reduction is not None:
        reduction = reduction.lower()
        if reduction not in ("add", "max", "min", "mul"):
            raise ValueError(f"Invalid reduction: {reduction}. Supported values are: None, 'add', 'max', 'min', "
                             "'mul'.")
    x = _ko._t(inputs)
    u = updates if isinstance(updates, torch.Tensor) else _ko._t(np.asarray(updates), x.dtype) \
        if isinstance(updates, (list, tuple, int, float)) else _ko._t(updates)
    if u.dtype != x.dtype:
        if isinstance(updates, np.ndarray):
            u = u.to(x.dtype)
        else:
            raise TypeError(f"ops.scatter_update: updates of dtype {u.dtype} into {x.dtype} (TensorFlow raises "
                            "InvalidArgumentError)")
    u = u.to(x.device)
    idx_t = _index_tuple(_ko._t(indices).to(x.device), x.shape)
    if reduction is None:
        return x.index_put(idx_t, u)
    if reduction == "add":
        return x.index_put(idx_t, u, accumulate=True)
    if reduction in ("max", "min"):
        return _ScatterMinMax.apply(x, u, idx_t, reduction == "max")
    out = x
    for i in range(u.shape[0]):
        one = tuple(t[i:i + 1] for t in idx_t)
        out = out.index_put(one, out[one] * u[i:i + 1])
    return out


def _np_dtype(t: torch.Tensor):
    if t.dtype == torch.bfloat16:
        try:
            import ml_dtypes  # TensorFlow's bfloat16 NumPy type (NumPy's promotion knows it)
        except ImportError as e:  # pragma: no cover - installed with TensorFlow and JAX
            raise TypeError("ops.select of bfloat16 needs the ml_dtypes package for NumPy's promotion") from e
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(str(t.dtype).replace("torch.", ""))


def select(condlist, choicelist, default=0) -> torch.Tensor:
    """``ops.select(condlist, choicelist, default=0)``: the first choice whose condition holds, else ``default``.
    The dtype follows NumPy's promotion (``tf.experimental.numpy.select``), not Keras's: int32 with float32 is
    float64, an int32 choice with ``default=0.5`` float64."""
    if not isinstance(condlist, (list, tuple)) or not isinstance(choicelist, (list, tuple)):
        raise ValueError("condlist and choicelist must be lists. Received: "
                         f"type(condlist) = {type(condlist)}, type(choicelist) = {type(choicelist)}")
    condlist, choicelist = list(condlist), list(choicelist)
    if not condlist or not choicelist:
        raise ValueError("condlist and choicelist must not be empty. Received: "
                         f"condlist = {condlist}, choicelist = {choicelist}")
    if len(condlist) != len(choicelist):
        raise ValueError(f"condlist must have length equal to choicelist ({len(condlist)} vs {len(choicelist)})")

    def npd(a):
        if isinstance(a, (bool, int, float)):
            return a
        return _np_dtype(_ko._t(a))
    dt_np = np.result_type(*[npd(a) for a in [default] + choicelist])
    dt = _ko._tdt(dt_np.name if dt_np.name != "bfloat16" else "bfloat16")
    dev = next((a.device for a in [default] + choicelist + condlist if isinstance(a, torch.Tensor)), None)
    out = (_ko._t(default, dt) if not isinstance(default, torch.Tensor) else default.to(dt)).to(dev)
    for c, ch in zip(condlist[::-1], choicelist[::-1]):
        ch = (_ko._t(ch, dt) if not isinstance(ch, torch.Tensor) else ch.to(dt)).to(dev)
        c = _ko._t(c).to(dev)
        c = c if c.dtype == torch.bool else c != 0
        out = torch.where(c, ch, out)
    return out


def nonzero(x) -> tuple:
    """``ops.nonzero(x)``: one int32 index tensor per axis (a scalar raises, as TensorFlow's ``Where``)."""
    x = _ko._t(x)
    if x.dim() == 0:
        raise ValueError("WhereOp : Unhandled input dimensions: 0 (TensorFlow raises InvalidArgumentError)")
    return tuple(i.to(torch.int32) for i in torch.nonzero(x != 0, as_tuple=True))


def unravel_index(indices, shape) -> tuple:
    """``ops.unravel_index(indices, shape)``: the indices' dtype (a Python int is int32); NumPy's coordinates for
    indices of any rank (keras-team/keras#23434, after 3.15.1, followed: 3.15.1 walks ``shape`` forwards for
    scalar or N-D (N != 1) indices, so its ``unravel_index(4, (2, 3))`` is ``(2, 0)``, NumPy's ``(1, 1)``)."""
    idx = _ko._t(indices)
    if idx.dtype == torch.bool:
        raise TypeError("ops.unravel_index of booleans (TensorFlow raises TypeError)")
    if None in shape:
        raise ValueError(f"`shape` argument cannot contain `None`. Received: shape={shape}")
    dt = idx.dtype
    coords = []
    for d in reversed(shape):
        coords.append((idx % d).to(dt))
        idx = idx // d
    return tuple(reversed(coords))


def unique(x, sorted: bool = True, return_index: bool = False, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, axis=None, size=None, fill_value=None):
    """``ops.unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False, axis=None,
    size=None, fill_value=None)``: values (``x``'s dtype), then int32 first-occurrence indices, inverse and counts.
    ``sorted=False`` keeps first-occurrence order; ``size`` truncates or pads (values with ``fill_value`` or 0,
    indices with 1, counts with 0); NaNs stay distinct. No gradient (TensorFlow's ``Unique`` has none)."""
    x = _ko._t(x).detach()
    if sorted and x.dtype == torch.bool:
        raise TypeError("ops.unique(sorted=True) of booleans (TensorFlow's argsort raises InvalidArgumentError)")
    orig_shape = x.shape
    flat = axis is None
    if flat:
        x = x.reshape(-1)
        ax = 0
    else:
        ax = _canon(int(axis), x.dim())
    n = x.shape[ax]
    # first-occurrence order (tf.unique): group equal slices; NaN never equals itself
    xm = torch.movedim(x, ax, 0)
    xm = xm.reshape(n, int(np.prod(xm.shape[1:], dtype=np.int64)))
    if n and xm.shape[1] and not (xm.is_floating_point() and bool(torch.isnan(xm).any())):
        inv = torch.unique(xm, dim=0, return_inverse=True)[1].reshape(-1)
        k = int(inv.max()) + 1
        first = torch.full((k,), n, dtype=torch.int64, device=inv.device).scatter_reduce(
            0, inv, torch.arange(n, device=inv.device), "amin")
        order = torch.argsort(first)
        rank = torch.empty_like(order)
        rank[order] = torch.arange(k, device=inv.device)
        inverse, first = rank[inv].to(torch.int32), first[order]
    else:  # NaNs (each one distinct, as in TensorFlow) or empty slices: compare the slices one by one
        groups, inverse_l = [], []
        for i in range(n):
            row = xm[i]
            for g, j in enumerate(groups):
                if bool(torch.equal(xm[j], row)) and not bool(torch.isnan(row).any() if row.is_floating_point()
                                                               else False):
                    inverse_l.append(g)
                    break
            else:
                inverse_l.append(len(groups))
                groups.append(i)
        inverse = torch.tensor(inverse_l, dtype=torch.int32, device=x.device)
        first = torch.tensor(groups, dtype=torch.int64, device=x.device)
    m = first.shape[0]
    counts = torch.bincount(inverse.long(), minlength=m).to(torch.int32)
    index = first.to(torch.int32)
    if sorted and m:
        keys = xm[first]
        order = torch.arange(m, device=x.device)
        for c in range(keys.shape[1] - 1, -1, -1):  # lexicographic: stable sorts from the last column
            col = keys[order, c]
            order = order[torch.sort(col, stable=True).indices]
        first, index, counts = first[order], index[order], counts[order]
        inv_perm = torch.empty_like(order)
        inv_perm[order] = torch.arange(m, device=x.device)
        inverse = inv_perm[inverse.long()].to(torch.int32)
    y = torch.index_select(x, ax, first)
    if size is not None:
        t = _builtins.min(m, size)
        y = y.narrow(ax, 0, t)
        index, counts = index[:t], counts[:t]
        pad = _builtins.max(0, size - m)
        if pad:
            fill = _ko._t(0 if fill_value is None else fill_value, _ko._dname(y))
            pshape = list(y.shape)
            pshape[ax] = pad
            y = torch.cat([y, fill.to(y.device).expand(pshape)], ax)
            index = torch.cat([index, torch.ones(pad, dtype=torch.int32, device=x.device)])
            counts = torch.cat([counts, torch.zeros(pad, dtype=torch.int32, device=x.device)])
    if return_inverse and flat:
        inverse = inverse.reshape(orig_shape)
    res = [y]
    if return_index:
        res.append(index)
    if return_inverse:
        res.append(inverse)
    if return_counts:
        res.append(counts)
    return tuple(res) if len(res) > 1 else res[0]


def argpartition(x, kth, axis=-1) -> torch.Tensor:
    """``ops.argpartition(x, kth, axis=-1)``: Keras's TensorFlow algorithm, int32: ``x`` cast to int32 (floats
    truncate), the ``kth + 1`` smallest (``top_k`` of ``-x``), then the largest of the rest after zeroing those
    positions. With negative entries this is not a partition, and for N-D ``x`` the mask of the smallest is
    summed over the first axis (Keras's quirks, reproduced)."""
    x = _ko._t(x)
    x = x.to(torch.int32)
    if axis is None:
        x, axis, orig = x.reshape(-1), 0, None
    else:
        orig = axis
    x = swapaxes(x, axis, -1)
    n = x.shape[-1]
    k = _builtins.min(_builtins.max(int(kth), 0), n - 1)
    bottom = torch.sort(x, dim=-1, stable=True).indices[..., :k + 1]
    mask = torch.nn.functional.one_hot(bottom, n).sum(0)
    where = torch.nonzero(mask, as_tuple=True)
    final = x.clone()
    final[where] = 0
    top = torch.sort(-final.long(), dim=-1, stable=True).indices[..., :n - k - 1]
    out = torch.cat([bottom, top], -1).to(torch.int32)
    return out if orig is None else swapaxes(out, -1, axis)


# --------------------------------------------------------------------------------------------------------------
# misc
# --------------------------------------------------------------------------------------------------------------


def is_tensor(x) -> bool:
    """``ops.is_tensor(x)``: a torch tensor (NumPy arrays and Python numbers are not)."""
    return isinstance(x, torch.Tensor)


def dtype(x) -> str:
    """``ops.dtype(x)``: Keras's standardised name (``'float32'``...) of a tensor's or array's dtype; a list or a
    Python number raises ``AttributeError`` (as Keras: it reads ``x.dtype``)."""
    if not hasattr(x, "dtype"):
        raise AttributeError(f"'{type(x).__name__}' object has no attribute 'dtype'")
    return _ko._dtype_name(x.dtype)


def convert_to_numpy(x) -> np.ndarray:
    """``ops.convert_to_numpy(x)``: a NumPy array (detached, on the CPU)."""
    if isinstance(x, torch.Tensor):
        return np.array(x.detach().cpu().numpy())
    return np.array(x)


def view(x, dtype=None) -> torch.Tensor:  # noqa: F811 - Keras's name
    """``ops.view(x, dtype=None)``: the bits as another dtype (``tf.bitcast``): a smaller item size multiplies the
    last axis, a larger one divides it (must divide); booleans raise."""
    x = _ko._t(x)
    new = _ko._tdt(dtype) if dtype else x.dtype
    if x.dtype == torch.bool or new == torch.bool:
        raise TypeError("ops.view of booleans (TensorFlow's bitcast raises InvalidArgumentError)")
    old_s, new_s = x.element_size(), torch.empty((), dtype=new).element_size()
    last = x.shape[-1] if x.dim() else -1
    if (last == -1 and old_s != new_s) or (last * old_s % new_s != 0):
        raise ValueError(f"Cannot view array of shape {tuple(x.shape)} and dtype {x.dtype} as dtype {new} because "
                         "the total number of bytes is not divisible by the new itemsize.")
    if old_s < new_s and last % (new_s // old_s):
        raise ValueError(f"Cannot view dtype. Last dimension size ({last}) must be divisible by the ratio of new/old "
                         f"item sizes ({new_s // old_s}).")
    x = x.detach()  # tf.bitcast has no gradient (TensorFlow raises LookupError under a GradientTape)
    if x.dim() == 0:
        return x.reshape(1).view(new).reshape(())
    return x.contiguous().view(new)


# --------------------------------------------------------------------------------------------------------------
# rearrange (keras/src/ops/einops.py), fold / unfold (keras.ops.nn)
# --------------------------------------------------------------------------------------------------------------

_GROUP = re.compile(r"\(([\w\s]+)\)")


def rearrange(tensor, pattern: str, **axes_lengths) -> torch.Tensor:
    """``ops.rearrange(tensor, pattern, **axes_lengths)``: Keras's einops subset (``'b (h p) w -> b h (p w)'``):
    named axes, groups ``(a b)`` on either side (one unknown length per input group, inferred), no ``...``,
    no ``1``; a reshape, a transpose and a reshape, as Keras does."""
    x = _ko._t(tensor)
    inp, outp = re.split(r"\s*->\s*", pattern)
    in_axes = re.findall(r"\w+|\(.*?\)", inp)
    out_axes = re.findall(r"\w+|\(.*?\)", outp)
    axes_map = {}
    for ax, dim in zip(in_axes, x.shape):
        g = _GROUP.match(ax)
        if g:
            inner = g.group(1).split()
            known = [a for a in inner if a in axes_lengths]
            inferred = [a for a in inner if a not in axes_lengths]
            if inferred:
                prod_known = 1
                for a in known:
                    prod_known *= axes_lengths[a]
                axes_lengths[inferred[0]] = dim // prod_known
            axes_map.update({a: axes_lengths[a] for a in inner})
        else:
            axes_map[ax] = dim
    groups_out = [_GROUP.match(a).group(1).split() if _GROUP.match(a) else [a] for a in out_axes]
    flat_out = [a for g in groups_out for a in g]
    sizes = []
    for ax in in_axes:
        if "(" in ax:
            sizes.extend(axes_lengths[a] for a in re.findall(r"\w+", ax))
        else:
            sizes.append(axes_map[ax])
    if tuple(sizes) != tuple(x.shape):
        x = _ko.reshape(x, sizes)
    flat_in = [a for ax in in_axes for a in (_GROUP.match(ax).group(1).split() if _GROUP.match(ax) else [ax])]
    x = _ko.transpose(x, [flat_in.index(a) for a in flat_out])
    out_shape = []
    for g in groups_out:
        n = 1
        for a in g:
            n *= axes_map[a]
        out_shape.append(n)
    return _ko.reshape(x, out_shape)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def unfold(x, kernel_size, dilation=1, padding=0, stride=1) -> torch.Tensor:
    """``ops.unfold(x, kernel_size, dilation=1, padding=0, stride=1)``: the sliding blocks of an NCHW ``x`` as
    ``(N, C * kH * kW, L)`` (``F.unfold``'s layout); not 4-D raises ``ValueError``."""
    x = _ko._t(x)
    if x.dim() != 4:
        raise ValueError(f"Input must be a 4D tensor. Received: input.shape={tuple(x.shape)}")
    return torch.nn.functional.unfold(x, _pair(kernel_size), dilation=_pair(dilation), padding=_pair(padding),
                                      stride=_pair(stride))


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1) -> torch.Tensor:
    """``ops.fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1)``: the blocks ``(N, C * kH * kW,
    L)`` summed back into ``(N, C, oH, oW)`` (col2im, ``F.fold``); not 3-D raises ``ValueError``."""
    x = _ko._t(x)
    if x.dim() != 3:
        raise ValueError(f"Input must be a 3D tensor. Received: input.shape={tuple(x.shape)}")
    return torch.nn.functional.fold(x, _pair(output_size), _pair(kernel_size), dilation=_pair(dilation),
                                    padding=_pair(padding), stride=_pair(stride))


# --------------------------------------------------------------------------------------------------------------
# control flow (plain Python: autograd follows the branch taken / unrolls the loop)
# --------------------------------------------------------------------------------------------------------------


def _is_nested(s) -> bool:
    return isinstance(s, (list, tuple, dict))


def _flatten(s) -> list:
    if isinstance(s, dict):
        return [v for k in _builtins.sorted(s) for v in _flatten(s[k])]
    if isinstance(s, (list, tuple)):
        return [v for e in s for v in _flatten(e)]
    return [s]


def _pack(structure, flat: list):
    it = iter(flat)

    def rec(s):
        if isinstance(s, dict):
            vals = {k: rec(s[k]) for k in _builtins.sorted(s)}
            return type(s)((k, vals[k]) for k in s)
        if isinstance(s, (list, tuple)):
            vals = [rec(e) for e in s]
            return type(s)(*vals) if hasattr(s, "_fields") else type(s)(vals)
        return next(it)
    return rec(structure)


def _structure(s):
    """The nesting of ``s`` (leaves as ``0``; lists and tuples alike), to compare two structures."""
    if isinstance(s, dict):
        return {k: _structure(v) for k, v in s.items()}
    if isinstance(s, (list, tuple)):
        return tuple(_structure(v) for v in s)
    return 0


def _map_structure(fn, s):
    return _pack(s, [fn(v) for v in _flatten(s)])


def _to_tensor_leaf(v):
    return v if isinstance(v, torch.Tensor) or v is None else _ko._t(v)


def cond(pred, true_fn, false_fn):
    """``ops.cond(pred, true_fn, false_fn)``: ``true_fn()`` if ``pred`` else ``false_fn()`` (only one branch runs)."""
    p = bool(pred.item()) if isinstance(pred, torch.Tensor) else bool(pred)
    return true_fn() if p else false_fn()


def switch(index, branches, *operands):
    """``ops.switch(index, branches, *operands)``: ``branches[index](*operands)``, ``index`` clamped into range."""
    i = int(index.item()) if isinstance(index, torch.Tensor) else int(index)
    i = _builtins.min(_builtins.max(i, 0), len(branches) - 1)
    return branches[i](*operands)


def scan(f, init, xs=None, length=None, reverse: bool = False, unroll=1):
    """``ops.scan(f, init, xs=None, length=None, reverse=False, unroll=1)``: ``jax.lax.scan``: ``f(carry, x) ->
    (carry, y)``; the ``y`` stacked (``reverse`` walks backwards, the ``y`` keep their positions). As Keras's
    TensorFlow backend, ``y`` is stored in arrays shaped and typed like ``init``'s leaves and packed in ``init``'s
    structure: extra leaves of ``y`` are dropped, fewer leaves or another dtype/shape raise; ``y = None`` gives
    zeros."""
    if not callable(f):
        raise TypeError(f"`f` should be a callable. Received: f={f}")
    if not isinstance(unroll, bool) and (not isinstance(unroll, int) or unroll < 1):
        raise ValueError(f"`unroll` must be an positive integer or boolean. Received: unroll={unroll}")
    if xs is None and length is None:
        raise ValueError("Got no `xs` to scan over and `length` not provided.")
    xs_flat = [] if xs is None else [_ko._t(v) for v in _flatten(xs)]
    n = int(length) if length is not None else xs_flat[0].shape[0]
    carry_flat = [_ko._t(v) for v in _flatten(init)]
    out_nested = _is_nested(init)

    def pack_out(flat):
        return _pack(init, flat) if out_nested else flat[0]

    ys = [[None] * n for _ in carry_flat]
    order = range(n - 1, -1, -1) if reverse else range(n)
    for i in order:
        px = None
        if xs_flat:
            px = _pack(xs, [v[i] for v in xs_flat]) if _is_nested(xs) else xs_flat[0][i]
        carry, y = f(pack_out(carry_flat), px)
        if y is not None:
            y_flat = _flatten(y)
            if len(y_flat) < len(carry_flat):
                raise ValueError("The two structures don't have the same nested structure: ops.scan's `y` must "
                                 "have the structure of `init` (Keras's TensorFlow backend stores it so)")
            for j, v in enumerate(y_flat[:len(carry_flat)]):  # extra leaves dropped, as Keras's zip
                v = _ko._t(v)
                c = carry_flat[j]
                if v.dtype != c.dtype:
                    raise TypeError(f"ops.scan: `y` of dtype {v.dtype} where `init` is {c.dtype} (TensorFlow's "
                                    "TensorArray raises InvalidArgumentError)")
                if v.shape != c.shape:
                    raise ValueError(f"Incompatible shape for value ({tuple(v.shape)}), expected ({tuple(c.shape)})")
                ys[j][i] = v
        if carry is not None:
            carry_flat = [_ko._t(v) for v in _flatten(carry)]
    ys_flat = []
    for j, c in enumerate(carry_flat):
        col = ys[j]
        if n == 0 or any(v is None for v in col):
            filled = [v if v is not None else torch.zeros_like(c) for v in col]
            ys_flat.append(torch.stack(filled) if n else torch.zeros((0,) + tuple(c.shape), dtype=c.dtype))
        else:
            ys_flat.append(torch.stack(col))
    return pack_out(carry_flat), pack_out(ys_flat)


def map(f, xs):  # noqa: A001 - Keras's name
    """``ops.map(f, xs)``: ``f`` over the leading axis of ``xs`` (nested structures too), the results stacked."""
    xs = _map_structure(_ko._t, xs)
    flat = _flatten(xs)
    n = flat[0].shape[0]
    outs = []
    for i in range(n):
        x_i = _pack(xs, [v[i] for v in flat]) if _is_nested(xs) else flat[0][i]
        outs.append(f(x_i))
    if not outs:
        raise ValueError("ops.map over an empty leading axis is not supported here")
    first = outs[0]
    stacked = [torch.stack([_ko._t(_flatten(o)[j]) for o in outs]) for j in range(len(_flatten(first)))]
    return _pack(first, stacked) if _is_nested(first) else stacked[0]


def fori_loop(lower, upper, body_fun, init_val):
    """``ops.fori_loop(lower, upper, body_fun, init_val)``: ``val = body_fun(i, val)`` for ``i`` in
    ``range(lower, upper)`` (``i`` a Python int, as in TensorFlow's eager loop); the result converted to tensors."""
    val = init_val
    i = lower
    while i < upper:
        val = body_fun(i, val)
        i = i + 1
    return _map_structure(_to_tensor_leaf, val)


def while_loop(cond, body, loop_vars, maximum_iterations=None):  # noqa: F811 - Keras's argument name
    """``ops.while_loop(cond, body, loop_vars, maximum_iterations=None)``: ``loop_vars = body(*loop_vars)`` while
    ``cond(*loop_vars)``; a tuple/list of loop variables is unpacked into ``cond``/``body``, a single one passed as
    it is; the results converted to tensors (Python floats float32, ints int32). A ``body`` that changes the
    nesting of the loop variables raises ``ValueError`` (shapes and dtypes may change, as in TensorFlow's eager
    loop)."""
    is_tuple = isinstance(loop_vars, (tuple, list))
    lv = tuple(loop_vars) if is_tuple else (loop_vars,)
    # tf.while_loop converts the loop variables to tensors first (a NumPy array then adds to a tensor)
    lv = tuple(_map_structure(_to_tensor_leaf, v) for v in lv)
    structure = _structure(lv)
    it = 0
    while maximum_iterations is None or it < int(maximum_iterations):
        c = cond(*lv)
        if not (bool(c.item()) if isinstance(c, torch.Tensor) else bool(c)):
            break
        out = body(*lv)
        lv = tuple(out) if is_tuple else (out,)
        if _structure(lv) != structure:  # TensorFlow's eager loop: nest.assert_same_structure
            raise ValueError("The two structures don't have the same nested structure: ops.while_loop's `body` "
                             f"returned {_structure(lv)} for loop variables {structure}")
        it += 1
    lv = tuple(_map_structure(_to_tensor_leaf, v) for v in lv)
    return lv if is_tuple else lv[0]


def associative_scan(f, elems, reverse: bool = False, axis: int = 0):
    """``ops.associative_scan(f, elems, reverse=False, axis=0)``: the prefix scan with ``f``, combined in the same
    order as Keras's TensorFlow backend (the odd/even recursion of ``tfp.math.scan_associative``), so rounding
    matches too."""
    if not callable(f):
        raise TypeError(f"`f` should be a callable. Received: f={f}")
    flat = [_ko._t(e) for e in _flatten(elems)]
    if reverse:
        flat = [torch.flip(e, [axis]) for e in flat]

    def combine(a_flat, b_flat):
        a = _pack(elems, a_flat) if _is_nested(elems) else a_flat[0]
        b = _pack(elems, b_flat) if _is_nested(elems) else b_flat[0]
        return [_ko._t(v) for v in _flatten(f(a, b))]

    def sl(x, start=0, stop=None, step=1):
        idx = [_py_slice(None)] * x.dim()
        idx[axis] = _py_slice(start, stop, step)
        return x[tuple(idx)]

    num = flat[0].shape[axis]
    if not _builtins.all(e.shape[axis] == num for e in flat[1:]):
        raise ValueError("Array inputs to associative_scan must have the same first dimension. (saw: "
                         f"{[tuple(e.shape) for e in flat]})")

    def interleave(a, b):
        na, nb = a.shape[axis], b.shape[axis]
        ax = axis % a.dim()

        def with_b(a_):
            shp = list(a_.shape)
            shp[ax] = 2 * nb
            return torch.cat([a_.unsqueeze(ax + 1), b.unsqueeze(ax + 1)], ax + 1).reshape(shp)
        if na == nb + 1:
            return torch.cat([with_b(sl(a, 0, na - 1)), sl(a, na - 1, na)], ax)
        return with_b(a)

    def scan_(es):
        n = es[0].shape[axis]
        if n < 2:
            return es
        reduced = combine([sl(e, 0, -1, 2) for e in es], [sl(e, 1, None, 2) for e in es])
        if n == 2:
            return [torch.cat([sl(e, 0, 1), r], axis) for r, e in zip(reduced, es)]
        if n == 3:
            rr = combine(reduced, [sl(e, 2, 3) for e in es])
            return [torch.cat([sl(e, 0, 1), r, q], axis) for q, r, e in zip(rr, reduced, es)]
        odd = scan_(reduced)
        if n % 2 == 0:
            res = combine([sl(o, 0, -1) for o in odd], [sl(e, 2, None, 2) for e in es])
        else:
            res = combine(list(odd), [sl(e, 2, None, 2) for e in es])
        even = [torch.cat([sl(e, 0, 1), r], axis) for e, r in zip(es, res)]
        return [interleave(a, b) for a, b in zip(even, odd)]

    out = scan_(flat)
    if reverse:
        out = [torch.flip(e, [axis]) for e in out]
    return _pack(elems, out) if _is_nested(elems) else out[0]


def vectorized_map(function, elements):
    """``ops.vectorized_map(function, elements)``: ``function`` on each slice along the first axis, stacked
    (``tf.vectorized_map``'s values; computed by a loop here)."""
    return map(function, elements)


_SIG_ARG = r"\w+(?:,\w+)*"
_SIG_ARGS = rf"\((?:{_SIG_ARG})?\)"
_SIGNATURE = rf"^{_SIG_ARGS}(?:,{_SIG_ARGS})*->{_SIG_ARGS}(?:,{_SIG_ARGS})*$"


def _parse_signature(signature: str):
    if not re.match(_SIGNATURE, signature):
        raise ValueError(f"not a valid gufunc signature: {signature}")
    ins, outs = signature.split("->")
    parse = lambda s: [tuple(re.findall(r"\w+", a)) for a in re.findall(_SIG_ARGS, s)]  # noqa: E731
    return parse(ins), parse(outs)


def vectorize(pyfunc, *, excluded=None, signature=None):
    """``ops.vectorize(pyfunc, *, excluded=None, signature=None)``: as Keras's TensorFlow backend, which can only
    call ``pyfunc`` on inputs whose loop (non-core) dimensions are all 1 (the result gets those axes back) and
    raises ``ValueError`` as soon as it would have to map over an axis; ``excluded`` is ignored (Keras's
    ``excluded = None or set()``)."""

    @functools.wraps(pyfunc)
    def wrapped(*args, **kwargs):
        if kwargs:
            func = functools.partial(pyfunc, **kwargs)
        else:
            func = pyfunc
        in_core = _parse_signature(signature)[0] if signature is not None else [()] * len(args)
        none_args = {i for i, a in enumerate(args) if a is None}
        if _builtins.any(none_args):
            if _builtins.any(in_core[i] != () for i in none_args):
                raise ValueError(f"Cannot pass None at locations {none_args} with signature={signature}")
            keep = [i for i in range(len(args)) if i not in none_args]
            base = func

            def func(*a, _base=base, _keep=keep, _n=len(args)):  # noqa: F811
                full, it = [None] * _n, iter(a)
                for i in _keep:
                    full[i] = next(it)
                return _base(*full)
            args = tuple(args[i] for i in keep)
            in_core = [in_core[i] for i in keep]
        args = tuple(_ko._t(a) for a in args)
        if len(in_core) != len(args):
            raise TypeError(f"wrong number of positional arguments: expected {len(in_core)}, got {len(args)}")
        noncore = [tuple(a.shape[:a.dim() - len(c)]) for a, c in zip(args, in_core)]
        bshape = tuple(torch.broadcast_shapes(*noncore)) if noncore else ()
        squeezed, rev = [], []
        for a, nc in zip(args, noncore):
            filled = (1,) * (len(bshape) - len(nc)) + nc
            rev.append(filled[::-1])
            sq = tuple(i for i, s in enumerate(nc) if s == 1)
            squeezed.append(a.squeeze(sq) if sq else a)
        expand = []
        for negdim, sizes in enumerate(zip(*rev)):
            if _builtins.all(s == 1 for s in sizes):
                expand.append(len(bshape) - 1 - negdim)
            else:
                raise ValueError("Not supported with `vectorize()` with the TensorFlow backend.")
        result = func(*squeezed)
        if not expand:
            return result
        if isinstance(result, tuple):
            return tuple(_ko.expand_dims(r, tuple(expand)) for r in result)
        return _ko.expand_dims(result, tuple(expand))
    return wrapped


def custom_gradient(f):
    """``ops.custom_gradient(f)``: ``f(*args)`` returns ``(value, grad_fn)``; the decorated function returns
    ``value`` (a tensor or a tuple/list of them), and its gradient for the tensor arguments is
    ``grad_fn(*upstream)``, called as TensorFlow calls it: positionally, one upstream gradient per output (Keras's
    portable ``def grad(*args, upstream=None)`` sees ``args = (upstream,)``). ``grad_fn`` returns one gradient per
    argument (a single tensor for one argument); ``None`` is a zero gradient."""

    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        if kwargs:  # passed through, not differentiated (as TensorFlow's eager custom_gradient)
            return custom_gradient(functools.partial(f, **kwargs))(*args)
        n = len(args)
        tensor_pos = [i for i, a in enumerate(args) if isinstance(a, torch.Tensor)]
        box = {}

        class _Fn(torch.autograd.Function):
            @staticmethod
            def forward(ctx, *targs):
                call = list(args)
                for i, t in zip(tensor_pos, targs):
                    call[i] = t
                value, grad_fn = f(*call)
                box["nested"] = isinstance(value, (tuple, list))
                box["type"] = type(value)
                box["grad_fn"] = grad_fn
                outs = tuple(value) if box["nested"] else (value,)
                outs = tuple(o.clone() if any(o is t for t in targs) else o for o in (_ko._t(v) for v in outs))
                return outs

            @staticmethod
            def backward(ctx, *grads):
                with torch.enable_grad():
                    g = box["grad_fn"](*grads)
                g = list(g) if isinstance(g, (tuple, list)) else [g]
                if len(g) == n:
                    g = [g[i] for i in tensor_pos]
                if len(g) != len(tensor_pos):
                    raise ValueError(f"custom_gradient: grad_fn returned {len(g)} gradients for {n} arguments")
                return tuple(None if v is None else _ko._t(v) for v in g)

        outs = _Fn.apply(*[args[i] for i in tensor_pos])
        if box["nested"]:
            return box["type"](outs)
        return outs[0]
    return wrapped


def correlate(x1, x2, mode: str = "valid") -> torch.Tensor:
    """``ops.correlate(x1, x2, mode="valid")``: the cross-correlation of two 1-D tensors, ``out[k] = sum_j x1[k +
    j] x2[j]`` (TensorFlow's ``conv1d`` with ``x2`` as the filter; ``"full"`` pads ``x1`` by ``len(x2) - 1`` on both
    sides, ``"same"`` takes the middle ``max(n, m)`` of the full one, so for an even filter it sits one place off
    NumPy's). The dtype: int64 gives float64, float16/bfloat16/float64 stay, the rest float32."""
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"Invalid mode: '{mode}'. Mode must be one of: 'full', 'same', 'valid'.")
    a, b = _ko._t(x1), _ko._t(x2)
    name = _ko.result_type(_ko._dname(a), _ko._dname(b))
    name = "float64" if name == "int64" else name if name in ("bfloat16", "float16", "float64") else "float32"
    dt = _ko._tdt(name)
    work = torch.float32 if dt in (torch.float16, torch.bfloat16) else dt
    a, b = a.to(work), b.to(work)
    if a.dim() != 1 or b.dim() != 1:
        raise ValueError(f"ops.correlate takes 1-D tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    n, m = a.shape[0], b.shape[0]

    def full() -> torch.Tensor:
        pad = _builtins.max(m - 1, 0)
        return torch.nn.functional.conv1d(torch.nn.functional.pad(a, (pad, pad))[None, None], b[None, None])[0, 0]

    if mode == "full":
        out = full()
    elif mode == "same":
        out_len = _builtins.max(n, m)
        start = (n + m - 1 - out_len) // 2
        out = full()[start:start + out_len]
    else:
        if m > n:
            raise ValueError(f"ops.correlate(mode='valid'): the second input ({m}) is longer than the first ({n}) "
                             "(TensorFlow's conv1d raises InvalidArgumentError)")
        out = torch.nn.functional.conv1d(a[None, None], b[None, None])[0, 0]
    return out.to(dt)

"""The 57 array, indexing and control-flow ``keras.ops`` of ``torch_impl/_keras_ops_numpy_more.py`` (reached as
``torch_impl.keras_ops.<name>``) against Keras 3.15.1's ``keras.ops`` on TensorFlow 2.21.

1. CASES (194, default) and SLOW_CASES (9: ``map``, ``vectorize``, ``fold``, whose Keras side is slow to trace):
   value (dtype and shape included) and the gradient of ``sum(out * c)`` (``tf.GradientTape`` against
   ``torch.autograd``, a cotangent with exact zeros), through ``run_cases`` of test_keras_ops_keras: negative axes,
   mixed dtypes and Python scalars, empty inputs, duplicate / tied scatter indices, clamped ``slice_update``
   starts, TensorFlow's ``get_item`` keys, infinite ``logspace`` ends, the control flow with gradients through the
   branches and loops, ``custom_gradient``, four small losses built from these ops (FIELD_CASES). float64 by
   default, float32 ``slow``.
2. Dtypes: 34 functions on bool/int8/uint8/int32/int64/float16/float32/float64 (default) and 7 on every pair of
   those (``slow``), under floatx float32 and float64: result dtype and value equal to Keras's; wherever Keras
   raises we raise.
3. ERRORS (51): inputs Keras rejects raise here too, with Keras's type where Keras raises ``ValueError``/
   ``TypeError`` itself, a ``ValueError``/``IndexError``/``TypeError`` where TensorFlow's kernel raises.
4. Gradients TensorFlow does not have: ``slice_update`` (``LookupError`` in Keras; ours equals Keras's gradient of
   the same update written with ``scatter_update``), ``unique`` and ``view`` (no gradient in both).

Measured (this machine, CPU; largest relative error against Keras):

===========================================  ==============================  ==============================
check                                        float64                         float32 (``slow``)
===========================================  ==============================  ==============================
194 CASES, value / gradient                  2.5e-16 / 3.0e-15               1.6e-7 / 1.3e-6
9 SLOW_CASES (``slow``), value / gradient    0 / 0                           1.2e-7 / 0
``slice_update`` gradient vs scatter form    0 (bitwise)                     -
dtype checks, one input (floatx 32 and 64)   544 checks: 0 differences, 16 raise in both
dtype checks, pairs (``slow``)               896 checks: 0 differences, 2 raise in both
51 error inputs                              raise in both (types as above)
===========================================  ==============================  ==============================

Keras quirks pinned here (see the module docstring of torch_impl/_keras_ops_numpy_more.py): ``select``'s NumPy
promotion (int32 with float32 is float64); ``slice_update`` clamps its start; ``argpartition`` casts to int32 and
is no partition with negative entries; ``unique(size=...)`` pads indices with 1; a
list key of ``get_item`` is a tuple of indices, index arrays raise; ``vectorize`` raises on the TensorFlow backend
as soon as it would map over an axis; ``scan`` keeps only as many ``y`` leaves as ``init`` has.
Found in keras_ops.py and fixed: ``keras_ops.linspace(-inf, 1, 3)[0]`` was NaN (Keras: -inf); ``linspace`` is now
``tf.linspace`` step for step (``test_linspace_like_tf_linspace``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

import torch  # noqa: E402

from parity_tests.test_field_scripts_round2 import _precision  # noqa: E402
from parity_tests.test_keras_backend_keras import _x, run_without_tensorflow  # noqa: E402
from parity_tests.test_keras_ops_keras import KO, TO, _dtype_check, run_cases  # noqa: E402
from keras_impl.ops import fixed as _fixed  # noqa: E402 - Keras with the upstream fixes torch_impl follows

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

nan, inf = np.nan, np.inf


def _i(*v, dt="int32"):
    return np.array(v, dt)


def _r(shape, seed=0):
    return lambda d: [np.random.default_rng(seed).normal(size=shape).astype(d)]


def _r2(s1, s2, seed=0):
    def make(d):
        g = np.random.default_rng(seed)
        return [g.normal(size=s1).astype(d), g.normal(size=s2).astype(d)]
    return make


def _T(o, x):
    """A tensor (Keras's hsplit/moveaxis/swapaxes/cross/vectorize read ``x.ndim``, which a ``tf.Variable`` lacks)."""
    return o.copy(x)


X = lambda d: [_x(d)]  # noqa: E731  (3, 8) with 0, -0, +-1, +-2.5, 6, 1e-7 in the first row
X3 = lambda d: [_x(d, (2, 3, 4))]  # noqa: E731


def _ties(d):
    """A (4,) input and updates that tie with it and with each other at index 0 (scatter max/min)."""
    return [np.array([1.0, 5.0, -2.0, 0.5], d), np.array([1.0, 1.0, 7.0, -3.0], d)]


def _scan_xs(d):
    return [np.array([1.0, 2.0, 0.0, -1.5], d), np.array([[0.5, 1.0], [2.0, -1.0], [1.5, 0.0], [3.0, 2.0]], d)]


def _leaves(out):
    """A nested result as a flat list (``compare`` takes one level)."""
    return [v for part in out for v in (_leaves(part) if isinstance(part, (list, tuple)) else [part])]


def _cg_log1pexp(o):
    @o.custom_gradient
    def log1pexp(x):
        e = o.exp(x)

        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            return o.multiply(upstream, 1.0 - 1.0 / o.add(1, e))
        return o.log(1 + e), grad
    return log1pexp


def _cg_scaled(o):
    @o.custom_gradient
    def scaled(x, scale=1.0):  # the keyword is not differentiated; the gradient comes back as a list
        def grad(upstream):
            return [upstream * scale * 2.0]
        return x * scale, grad
    return scaled


def _cg_clip(o):
    @o.custom_gradient
    def clip_grad(x, y):  # the true gradient, clipped to [-0.5, 0.5]
        def grad(upstream):
            return o.clip(upstream * y, -0.5, 0.5), o.clip(upstream * x, -0.5, 0.5)
        return x * y, grad
    return clip_grad


# (id, fn(ops, *inputs), inputs(dt) -> list of arrays, indices of inputs to differentiate)
CASES = [
    # --- stack / concat / split
    ("append axis=None", lambda o, a, b: o.append(a, b), _r2((2, 3), (4,)), (0, 1)),
    ("append axis=0", lambda o, a, b: o.append(a, b, axis=0), _r2((2, 3), (1, 3)), (0, 1)),
    ("append axis=-1", lambda o, a, b: o.append(a, b, axis=-1), _r2((2, 3), (2, 2)), (0, 1)),
    ("append float, int32", lambda o, a, b: o.append(a, b), lambda d: [_x(d, (2,)), _i(1, 2)], (0,)),
    ("append Python float, int32", lambda o, a: o.append(a, 3.5), lambda d: [_i(1, 2)], ()),
    ("append Python float", lambda o, a: o.append(a, 3.5), _r((2,)), (0,)),
    ("append empty", lambda o, a, b: o.append(a, b), lambda d: [np.zeros((0,), d), _x(d, (3,))], (0, 1)),
    ("array_split 8 into 3, axis 1", lambda o, x: o.array_split(x, 3, axis=1), X, (0,)),
    ("array_split axis=-1 into 5", lambda o, x: o.array_split(x, 5, axis=-1), X3, (0,)),
    ("array_split into more than size", lambda o, x: o.array_split(x, 5, axis=0), _r((3, 2)), (0,)),
    ("hstack 2-D", lambda o, a, b: o.hstack([a, b]), _r2((2, 3), (2, 1)), (0, 1)),
    ("hstack 1-D", lambda o, a, b: o.hstack([a, b]), _r2((3,), (2,)), (0, 1)),
    ("hstack float, int32", lambda o, a, b: o.hstack([a, b]), lambda d: [_x(d, (2,)), _i(1, 2)], (0,)),
    ("vstack 2-D", lambda o, a, b: o.vstack([a, b]), _r2((2, 3), (1, 3)), (0, 1)),
    ("vstack 1-D concatenates", lambda o, a, b: o.vstack([a, b]), _r2((3,), (2,)), (0, 1)),
    ("dstack 1-D", lambda o, a, b: o.dstack([a, b]), _r2((3,), (3,)), (0, 1)),
    ("dstack 2-D and 3-D", lambda o, a, b: o.dstack([a, b]), _r2((2, 3), (2, 3, 2)), (0, 1)),
    ("dstack scalars", lambda o, a, b: o.dstack([a, b]), _r2((), ()), (0, 1)),
    ("hsplit 2 of 8 cols", lambda o, x: o.hsplit(_T(o, x), 2), X, (0,)),
    ("hsplit at [1, 5]", lambda o, x: o.hsplit(_T(o, x), [1, 5]), X, (0,)),
    ("hsplit 1-D", lambda o, x: o.hsplit(_T(o, x), 2), _r((6,)), (0,)),
    ("vsplit 3", lambda o, x: o.vsplit(x, 3), X, (0,)),
    ("dsplit at [1]", lambda o, x: o.dsplit(x, [1]), X3, (0,)),
    ("unstack axis 0", lambda o, x: o.unstack(x), X, (0,)),
    ("unstack axis=-1 num=4", lambda o, x: o.unstack(x, num=4, axis=-1), X3, (0,)),
    ("empty: hstack, vstack, kron", lambda o, e, x: [o.hstack([e, x]), o.vstack([o.reshape(e, (0, 3)), x[None]]),
                                                     o.kron(e, x)], lambda d: [np.zeros((0,), d), _x(d, (3,))], (0, 1)),
    ("empty: select, scatter", lambda o, e: [o.select([e > 0], [e]), o.scatter(np.zeros((0, 1), np.int32), e, (2,))],
     lambda d: [np.zeros((0,), d)], (0,)),
    ("empty: unique", lambda o, e: o.unique(e, return_counts=True), lambda d: [np.zeros((0,), d)], ()),
    ("geomspace to inf, logspace from -inf", lambda o: [o.geomspace(1.0, np.inf, 3), o.logspace(-np.inf, 1.0, 3)],
     lambda d: [], ()),
    # --- axes
    ("moveaxis 0 -> -1", lambda o, x: o.moveaxis(_T(o, x), 0, -1), X3, (0,)),
    ("moveaxis [0, 1] -> [-1, 0]", lambda o, x: o.moveaxis(_T(o, x), [0, 1], [-1, 0]), X3, (0,)),
    ("moveaxis same", lambda o, x: o.moveaxis(_T(o, x), 1, 1), X3, (0,)),
    ("swapaxes -1, 0", lambda o, x: o.swapaxes(_T(o, x), -1, 0), X3, (0,)),
    ("swapaxes same", lambda o, x: o.swapaxes(_T(o, x), 1, -2), X3, (0,)),
    ("ravel", lambda o, x: o.ravel(x), X3, (0,)),
    ("rot90", lambda o, x: o.rot90(x), X, (0,)),
    # keras-team/keras#23435 (followed): 3.15.1 scrambles a non-square plane for k=2; compared with the fix
    ("rot90 k=2", lambda o, x: _fixed(o).rot90(x, k=2), X, (0,)),
    ("rot90 k=-1 axes=(2, 1)", lambda o, x: o.rot90(x, k=-1, axes=(2, 1)), X3, (0,)),
    ("rot90 k=3 axes=(-1, 0)", lambda o, x: o.rot90(x, k=3, axes=(-1, 0)), X3, (0,)),
    ("rot90 k=4", lambda o, x: o.rot90(x, k=4), X, (0,)),
    ("fliplr", lambda o, x: o.fliplr(x), X3, (0,)),
    ("flipud", lambda o, x: o.flipud(x), X, (0,)),
    # --- products
    ("kron 2-D", lambda o, a, b: o.kron(a, b), _r2((2, 3), (3, 2)), (0, 1)),
    ("kron 1-D, 2-D", lambda o, a, b: o.kron(a, b), _r2((3,), (2, 2)), (0, 1)),
    ("kron int32, float", lambda o, a, b: o.kron(a, b), lambda d: [_i(1, 2), _x(d, (2,))], (1,)),
    ("inner 2-D", lambda o, a, b: o.inner(a, b), _r2((2, 3), (4, 3)), (0, 1)),
    ("inner scalar", lambda o, a, b: o.inner(a, b), _r2((), (3,)), (0, 1)),
    ("inner int8", lambda o, a, b: o.inner(a, b), lambda d: [_i(100, 2, dt="int8"), _i(3, 4, dt="int8")], ()),
    ("vdot 2-D", lambda o, a, b: o.vdot(a, b), _r2((2, 3), (3, 2)), (0, 1)),
    ("vdot int32, float", lambda o, a, b: o.vdot(a, b), lambda d: [_i(1, 2), _x(d, (2,))], (1,)),
    ("cross 3-vectors", lambda o, a, b: o.cross(_T(o, a), _T(o, b)), _r2((4, 3), (4, 3)), (0, 1)),
    ("cross broadcast", lambda o, a, b: o.cross(_T(o, a), _T(o, b)), _r2((4, 3), (3,)), (0, 1)),
    ("cross 2-vectors", lambda o, a, b: o.cross(_T(o, a), _T(o, b)), _r2((4, 2), (4, 2)), (0, 1)),
    ("cross 2 and 3", lambda o, a, b: o.cross(_T(o, a), _T(o, b)), _r2((4, 2), (4, 3)), (0, 1)),
    ("cross axis=0", lambda o, a, b: o.cross(_T(o, a), _T(o, b), axis=0), _r2((3, 4), (3, 4)), (0, 1)),
    ("cross axisa=0 axisc=0", lambda o, a, b: o.cross(_T(o, a), _T(o, b), axisa=0, axisc=0), _r2((3, 4), (4, 3)),
     (0, 1)),
    # --- creation
    ("tri", lambda o: o.tri(3, 4), lambda d: [], ()),
    ("tri k=-1", lambda o: o.tri(4, 3, -1), lambda d: [], ()),
    ("tri k=5 int32", lambda o: o.tri(3, 4, 5, dtype="int32"), lambda d: [], ()),
    ("tri k=-9", lambda o: o.tri(3, k=-9), lambda d: [], ()),
    ("diagflat 2-D", lambda o, x: o.diagflat(x), _r((2, 2)), (0,)),
    ("diagflat k=-1", lambda o, x: o.diagflat(x, -1), _r((3,)), (0,)),
    ("diagflat k=2", lambda o, x: o.diagflat(x, 2), _r((2,)), (0,)),
    ("meshgrid xy", lambda o, a, b: o.meshgrid(a, b), _r2((3,), (2,)), (0, 1)),
    ("meshgrid xy three", lambda o, a, b: o.meshgrid(a, b, b[:1]), _r2((3,), (2,)), (0, 1)),
    ("meshgrid ij three", lambda o, a, b: o.meshgrid(a, b, a, indexing="ij"), _r2((3,), (2,)), (0, 1)),
    ("logspace", lambda o: o.logspace(0.0, 2.0, 5), lambda d: [], ()),
    ("logspace base 2, no endpoint", lambda o: o.logspace(-1.0, 3.0, 4, endpoint=False, base=2), lambda d: [], ()),
    ("logspace int32", lambda o: o.logspace(0, 3, 4, dtype="int32"), lambda d: [], ()),
    ("logspace tensors, axis=1", lambda o, a, b: o.logspace(a, b, 3, axis=1), _r2((2,), (2,)), (0, 1)),
    ("geomspace", lambda o: o.geomspace(1.0, 1000.0, 4), lambda d: [], ()),
    ("geomspace negative", lambda o: o.geomspace(-1.0, -100.0, 3), lambda d: [], ()),
    ("geomspace from 0", lambda o: o.geomspace(0.0, 10.0, 3), lambda d: [], ()),
    ("logspace num=1, num=0", lambda o: [o.logspace(0.0, 1.0, 1), o.logspace(0.0, 1.0, 0)], lambda d: [], ()),
    ("geomspace float64", lambda o: o.geomspace(2.0, 3.0, 5, dtype="float64"), lambda d: [], ()),
    ("vander", lambda o, x: o.vander(x), _r((4,)), (0,)),
    ("vander N=3 increasing", lambda o, x: o.vander(x, 3, increasing=True), _r((4,)), (0,)),
    ("vander with a 0 (NaN gradient)", lambda o, x: o.vander(x), lambda d: [np.array([0.0, 2.0, -1.5], d)], (0,)),
    ("vander int32", lambda o, x: o.vander(x), lambda d: [_i(2, -3, 4)], ()),
    ("identity", lambda o: o.identity(3), lambda d: [], ()),
    ("identity int8", lambda o: o.identity(2, dtype="int8"), lambda d: [], ()),
    ("empty", lambda o: o.empty((2, 3)), lambda d: [], ()),
    ("empty_like", lambda o, x: o.empty_like(x), X, (0,)),
    ("empty_like int32", lambda o, x: o.empty_like(x, dtype="int32"), X, (0,)),
    ("copy", lambda o, x: o.copy(x), X, (0,)),
    ("array of floats", lambda o: o.array([1.5, 2.0]), lambda d: [], ()),
    ("array of ints", lambda o: o.array([[1, 2]]), lambda d: [], ()),
    ("array dtype", lambda o: o.array([1, 2], dtype="float64"), lambda d: [], ()),
    ("array of a tensor", lambda o, x: o.array(x), X, (0,)),
    # --- indexing
    ("get_item int", lambda o, x: o.get_item(x, 1), X, (0,)),
    ("get_item -1", lambda o, x: o.get_item(x, -1), X, (0,)),
    ("get_item slices", lambda o, x: o.get_item(x, (slice(None, None, 2), slice(1, -1))), X, (0,)),
    ("get_item negative step", lambda o, x: o.get_item(x, (slice(None), slice(None, None, -3))), X, (0,)),
    ("get_item None, Ellipsis", lambda o, x: o.get_item(x, (None, Ellipsis, 2)), X3, (0,)),
    ("get_item list is a tuple", lambda o, x: o.get_item(x, [1, 0]), X, (0,)),
    ("get_item bool mask", lambda o, x, m: o.get_item(x, m), lambda d: [_x(d), np.array([True, False, True])],
     (0,)),
    ("get_item 0-d tensor", lambda o, x, i: o.get_item(x, i), lambda d: [_x(d), np.array(2, np.int32)], (0,)),
    ("get_item clamped slice", lambda o, x: o.get_item(x, slice(1, 99)), X, (0,)),
    ("get_item NumPy bool mask", lambda o, x: o.get_item(x, np.array([False, True, True])), X, (0,)),
    ("get_item Ellipsis, 0-d tensor", lambda o, x, i: o.get_item(x, (Ellipsis, i)),
     lambda d: [_x(d), np.array(-2, np.int64)], (0,)),
    ("get_item np.int64", lambda o, x: o.get_item(x, (slice(None), np.int64(3))), X, (0,)),
    ("slice", lambda o, x: o.slice(x, [1, 2], [2, 3]), X, (0,)),
    ("slice size -1", lambda o, x: o.slice(x, [0, 5], [-1, -1]), X, (0,)),
    ("slice tensor starts", lambda o, x, s: o.slice(x, s, [1, 2, 2]), lambda d: [_x(d, (2, 3, 4)), _i(1, 0, 2)],
     (0,)),
    ("slice_update", lambda o, x, u: o.slice_update(x, [1, 2], u), _r2((3, 8), (2, 3)), ()),
    ("slice_update clamped start", lambda o, x, u: o.slice_update(x, [2, 7], u), _r2((3, 8), (2, 3)), ()),
    ("slice_update negative start", lambda o, x, u: o.slice_update(x, [-1, -3], u), _r2((3, 8), (2, 3)), ()),
    ("slice_update whole", lambda o, x, u: o.slice_update(x, [0, 0], u), _r2((2, 2), (2, 2)), ()),
    ("scatter", lambda o, v: o.scatter([[0, 1], [2, 3]], v, (3, 4)), _r((2,)), (0,)),
    ("scatter duplicates add", lambda o, v: o.scatter([[1], [1], [0]], v, (3,)), _r((3,)), (0,)),
    ("scatter rows", lambda o, v: o.scatter(np.array([[2], [0]], np.int64), v, (3, 2)), _r((2, 2)), (0,)),
    ("scatter_update", lambda o, x, u: o.scatter_update(x, [[0, 1], [2, 3]], u), _r2((3, 4), (2,)), (0, 1)),
    ("scatter_update rows", lambda o, x, u: o.scatter_update(x, [[1]], u), _r2((3, 4), (1, 4)), (0, 1)),
    ("scatter_update add dup", lambda o, x, u: o.scatter_update(x, [[0], [0], [2]], u, reduction="add"),
     _r2((4,), (3,)), (0, 1)),
    ("scatter_update max ties", lambda o, x, u: o.scatter_update(x, [[0], [0], [1], [3]], u, reduction="max"),
     _ties, (0, 1)),
    ("scatter_update min ties", lambda o, x, u: o.scatter_update(x, [[0], [0], [1], [3]], u, reduction="MIN"),
     _ties, (0, 1)),
    ("scatter_update mul dup", lambda o, x, u: o.scatter_update(x, [[0], [0], [2]], u, reduction="mul"),
     _r2((4,), (3,)), (0, 1)),
    ("scatter_update mul rows", lambda o, x, u: o.scatter_update(x, [[1], [1]], u, reduction="mul"),
     _r2((3, 2), (2, 2)), (0, 1)),
    ("select", lambda o, x, y: o.select([x > 0, y > 0.5], [x, y]), _r2((3, 4), (3, 4)), (0, 1)),
    ("select default tensor", lambda o, x, y: o.select([x > 0], [x], y), _r2((3, 4), (3, 4)), (0, 1)),
    ("select overlap, first wins", lambda o, x, y: o.select([x > -1, x > 0], [x, y], 0.5), _r2((3, 4), (3, 4)),
     (0, 1)),
    ("select int32 and float (NumPy promotion)", lambda o, x, i: o.select([x > 0, x < 0], [i, x]),
     lambda d: [_x(d, (2,)), _i(3, 4)], (0,)),
    ("select int32, default 0.5", lambda o, i, c: o.select([c], [i], default=0.5),
     lambda d: [_i(3, 4), np.array([True, False])], ()),
    ("nonzero", lambda o, x: o.nonzero(x), X, ()),
    ("nonzero 1-D ints", lambda o, x: o.nonzero(x), lambda d: [_i(0, 3, 0, -1)], ()),
    ("nonzero empty", lambda o, x: o.nonzero(x), lambda d: [np.zeros((0, 2), d)], ()),
    ("unravel_index 1-D", lambda o, i: o.unravel_index(i, (3, 4)), lambda d: [_i(0, 5, 11, 7)], ()),
    ("unravel_index 1-D int64, 3 dims", lambda o, i: o.unravel_index(i, (2, 3, 4)), lambda d: [_i(23, 4, dt="int64")],
     ()),
    ("unravel_index negative", lambda o, i: o.unravel_index(i, (3, 4)), lambda d: [_i(-1, -5, 13)], ()),
    # keras-team/keras#23434 (followed): 3.15.1 walks the shape forwards for scalar and N-D indices
    # (unravel_index(4, (2, 3)) is (2, 0), NumPy's (1, 1)); compared with the fix
    ("unravel_index scalar", lambda o: _fixed(o).unravel_index(4, (2, 3)), lambda d: [], ()),
    ("unravel_index 2-D", lambda o, i: _fixed(o).unravel_index(i, (2, 3)),
     lambda d: [np.array([[4], [5]], np.int32)], ()),
    ("unique", lambda o, x: o.unique(x), lambda d: [np.array([3.0, 1.0, 3.0, -2.0, 1.0, 0.0, -0.0], d)], ()),
    ("unique all outputs", lambda o, x: o.unique(x, return_index=True, return_inverse=True, return_counts=True),
     lambda d: [np.array([[3, 1], [3, 2], [1, 1]], np.int32)], ()),
    ("unique sorted=False", lambda o, x: o.unique(x, sorted=False, return_index=True, return_inverse=True,
                                                   return_counts=True), lambda d: [_i(3, 1, 3, 2, 1)], ()),
    ("unique size pads (index 1)", lambda o, x: o.unique(x, return_index=True, return_counts=True, size=6,
                                                          fill_value=-1), lambda d: [_i(3, 1, 3, 2, 1)], ()),
    ("unique size truncates", lambda o, x: o.unique(x, return_inverse=True, return_counts=True, size=2),
     lambda d: [_i(3, 1, 3, 2, 1)], ()),
    ("unique axis=0", lambda o, x: o.unique(x, axis=0, return_inverse=True, return_counts=True),
     lambda d: [np.array([[2, 1], [1, 5], [2, 1], [1, 3]], np.int32)], ()),
    ("unique axis=-1 floats", lambda o, x: o.unique(x, axis=-1, return_index=True),
     lambda d: [np.array([[2.0, 1.0, 2.0], [0.5, 3.0, 0.5]], d)], ()),
    ("unique 300 ints, unsorted", lambda o, x: o.unique(x, sorted=False, return_index=True, return_inverse=True,
                                                         return_counts=True),
     lambda d: [np.random.default_rng(1).integers(-20, 20, size=(20, 15)).astype(np.int32)], ()),
    ("unique 60 rows axis=0", lambda o, x: o.unique(x, axis=0, return_index=True, return_inverse=True,
                                                     return_counts=True),
     lambda d: [np.random.default_rng(2).integers(0, 2, size=(60, 4)).astype(d)], ()),
    ("unique NaNs distinct", lambda o, x: o.unique(x, sorted=False, return_counts=True),
     lambda d: [np.array([nan, 1.0, nan, 1.0], d)], ()),
    ("argpartition", lambda o, x: o.argpartition(x, 2), lambda d: [_i(7, 3, 9, 1, 5, 3)], ()),
    ("argpartition floats truncate", lambda o, x: o.argpartition(x, 1), lambda d: [np.array([3.5, 1.2, 2.7, 0.1], d)],
     (0,)),
    ("argpartition negative (quirk)", lambda o, x: o.argpartition(x, 1), lambda d: [_i(-5, -3, -1, -2)], ()),
    ("argpartition 2-D (quirk)", lambda o, x: o.argpartition(x, 1), lambda d: [np.array([[3, 1, 2], [9, 7, 8]],
                                                                                          np.int32)], ()),
    ("argpartition 3x5 axis=0", lambda o, x: o.argpartition(x, 1, axis=0), lambda d: [np.array(
        [[3, 1, 2, 8, 0], [9, 7, 8, 1, 2], [4, 4, 6, 5, 1]], np.int32)], ()),
    ("argpartition 3x5 rows", lambda o, x: o.argpartition(x, 0), lambda d: [np.array(
        [[3, 1, 2, 8, 0], [9, 7, 8, 1, 2], [4, 4, 6, 5, 1]], np.int32)], ()),
    ("argpartition axis=None", lambda o, x: o.argpartition(x, 2, axis=None), lambda d: [_i(4, 0, 3, 9)], ()),
    ("argpartition kth clipped", lambda o, x: o.argpartition(x, 10), lambda d: [_i(4, 0, 3)], ()),
    ("view float64 as int32", lambda o, x: o.view(o.cast(x, "float64"), "int32"), X, (0,)),
    ("view float32 as uint8", lambda o, x: o.view(o.cast(x, "float32"), "uint8"), X, (0,)),
    ("view int8 as int32", lambda o, x: o.view(x, "int32"), lambda d: [np.arange(-4, 4, dtype=np.int8)], ()),
    ("view same", lambda o, x: o.view(x), _r((2,)), ()),
    # --- einops, blocks
    ("rearrange merge", lambda o, x: o.rearrange(x, "b h w -> b (h w)"), X3, (0,)),
    ("rearrange split and merge", lambda o, x: o.rearrange(x, "b (h p) w -> b h (p w)", p=3), _r((2, 6, 2)), (0,)),
    ("rearrange permute", lambda o, x: o.rearrange(x, "a b c -> c a b"), X3, (0,)),
    ("rearrange inferred", lambda o, x: o.rearrange(x, "(a b) c -> b a c", a=2), _r((6, 2)), (0,)),
    ("unfold", lambda o, x: o.unfold(x, 2), _r((2, 3, 4, 5)), (0,)),
    ("unfold stride padding dilation", lambda o, x: o.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=2),
     _r((1, 2, 5, 7)), (0,)),
    # --- control flow, with gradients through it
    ("cond true", lambda o, x: o.cond(o.sum(x) < 100, lambda: x * 2, lambda: x - 1), X, (0,)),
    ("cond false", lambda o, x: o.cond(o.sum(x) > 100, lambda: x * 2, lambda: o.square(x)), X, (0,)),
    ("switch clamped", lambda o, x: o.switch(5, [lambda a: a + 1, lambda a: a * a], x), X, (0,)),
    ("switch negative, two operands", lambda o, x, y: o.switch(-2, [lambda a, b: a * b, lambda a, b: a - b], x, y),
     _r2((3,), (3,)), (0, 1)),
    ("switch tensor index", lambda o, x, i: o.switch(i, [lambda a: a + 1, lambda a: a * a], x),
     lambda d: [_x(d), np.array(1, np.int32)], (0,)),
    ("scan", lambda o, c, x: o.scan(lambda c_, v: (c_ + v, c_ * v), c, x), _r2((2,), (5, 2)), (0, 1)),
    ("scan reverse", lambda o, c, x: o.scan(lambda c_, v: (c_ * v + 1, c_ * v), c, x, reverse=True),
     _r2((2,), (5, 2)), (0, 1)),
    ("scan length, xs None", lambda o, c: o.scan(lambda c_, v: (c_ * 1.5, c_ + 1), c, None, length=3), _r((2,)),
     (0,)),
    ("scan nested carry and xs", lambda o, a, b: _leaves(o.scan(
        lambda c, v: ((c[0] + v[0], c[1] * v[1]), (c[0] * v[0], c[1] + v[1])),
        (o.zeros_like(a[0]), o.ones_like(b[0])), (a, b))), _scan_xs, (0, 1)),
    ("scan y None gives zeros", lambda o, c, x: o.scan(lambda c_, v: (c_ + v, None), c, x), _r2((2,), (3, 2)),
     (0, 1)),
    ("scan extra y leaves dropped", lambda o, c, x: o.scan(lambda c_, v: (c_ * v, (c_ + v, c_)), c, x),
     _r2((2,), (3, 2)), (0, 1)),
    ("scan carry None", lambda o, c, x: o.scan(lambda c_, v: (None, c_ * v), c, x), _r2((2,), (3, 2)), (0, 1)),
    ("scan unroll=True", lambda o, c, x: o.scan(lambda c_, v: (c_ + v, c_), c, x, unroll=True), _r2((), (4,)),
     (0, 1)),
    ("fori_loop", lambda o, x: o.fori_loop(0, 4, lambda i, v: v * x + i, o.ones_like(x)), X, (0,)),
    ("fori_loop tuple", lambda o, x: o.fori_loop(1, 3, lambda i, v: (v[0] + v[1] * i, v[1] * x), (x, x)), X, (0,)),
    ("fori_loop empty range", lambda o, x: o.fori_loop(3, 1, lambda i, v: v * 0, x), X, (0,)),
    ("while_loop tuple", lambda o, x: o.while_loop(lambda a, b: o.sum(b) < 50, lambda a, b: (a + 1, b * 2),
                                                    (0, o.abs(x) + 1)), X, (0,)),
    ("while_loop single", lambda o, x: o.while_loop(lambda v: o.max(v) < 10, lambda v: v * 1.5 + x * x, x * x), X,
     (0,)),
    ("while_loop maximum_iterations", lambda o, x: o.while_loop(lambda v: True, lambda v: v * x, o.ones_like(x),
                                                                 maximum_iterations=3), X, (0,)),
    ("while_loop list body, shape change", lambda o, x: o.while_loop(
        lambda a, b: o.sum(a) < 40, lambda a, b: [a * 2, o.stack([b, b])], (o.abs(x) + 1, x[0])), X, (0,)),
    ("while_loop Python scalars", lambda o: o.while_loop(lambda a, b: a < 5, lambda a, b: (a + 1, b * 2), (0, 1.0)),
     lambda d: [], ()),
    ("associative_scan add 7", lambda o, x: o.associative_scan(lambda a, b: a + b, x), _r((7, 2)), (0,)),
    ("associative_scan mul 1..9", lambda o, x: [o.associative_scan(lambda a, b: a * b, x[:n]) for n in range(1, 10)],
     _r((9,)), (0,)),
    ("associative_scan axis=1 reverse", lambda o, x: o.associative_scan(lambda a, b: o.maximum(a, b), x,
                                                                         reverse=True, axis=1), X, (0,)),
    ("associative_scan affine pairs", lambda o, a, b: o.associative_scan(
        lambda p, q: (p[0] * q[0], p[1] * q[0] + q[1]), (a, b)), _r2((6,), (6,)), (0, 1)),
    ("vectorized_map", lambda o, x: o.vectorized_map(lambda v: o.sum(v) * v, x), X, (0,)),
    ("vectorized_map tuple", lambda o, a, b: o.vectorized_map(lambda v: v[0] * v[1], (a, b)), _r2((3, 2), (3, 2)),
     (0, 1)),
    ("custom_gradient log1pexp", lambda o, x: _cg_log1pexp(o)(x), X, (0,)),
    ("custom_gradient kwargs, list grad", lambda o, x: _cg_scaled(o)(x, scale=3.0), X, (0,)),
    ("select bfloat16 and float32", lambda o, x: o.select([x > 0], [o.cast(x, "bfloat16")], o.cast(x, "float32")),
     X, ()),
    ("custom_gradient clipped", lambda o, x, y: _cg_clip(o)(x, y), lambda d: [_x(d), _x(d, seed=3)], (0, 1)),
]

#: the cases whose Keras side is slow to trace (tf.map_fn, tf.vectorized_map, fold's scatter loop): ``slow``
SLOW_CASES = [
    ("fold", lambda o, x: o.fold(x, (4, 5), 2), _r((2, 8, 12)), (0,)),
    ("fold stride padding dilation", lambda o, x: o.fold(x, (5, 7), (2, 3), dilation=(1, 2), padding=1, stride=2),
     _r((1, 12, 9)), (0,)),
    ("fold of unfold", lambda o, x: o.fold(o.unfold(x, 3, padding=1), (4, 4), 3, padding=1), _r((1, 2, 4, 4)),
     (0,)),
    ("map", lambda o, x: o.map(lambda v: o.sum(v * v), x), X, (0,)),
    ("map nested", lambda o, a, b: o.map(lambda v: (v[0] * 2, v[0] * v[1]), (a, b)), _r2((3,), (3, 2)), (0, 1)),
    ("map dict", lambda o, a, b: o.map(lambda v: v["p"] * v["q"], {"p": a, "q": b}), _r2((3, 2), (3, 2)), (0, 1)),
    ("vectorize 0-d", lambda o, a, b: o.vectorize(lambda p, q: p * q + 1)(_T(o, a), _T(o, b)), _r2((), ()), (0, 1)),
    ("vectorize size-1 axes", lambda o, a, b: o.vectorize(lambda p, q: p - q)(_T(o, a), _T(o, b)),
     _r2((1, 1), (1,)), (0, 1)),
    ("vectorize signature", lambda o, a: o.vectorize(lambda p: o.sum(p), signature="(n)->()")(_T(o, a)),
     _r((1, 3)), (0,)),
]


def _smoothed_ce(o, logits, labels):
    """Label-smoothed crossentropy with the one-hot built by ``scatter``."""
    n, c = logits.shape
    one_hot = o.scatter(o.stack([o.arange(n), labels], axis=1), o.ones((n,)), (n, c))
    target = o.select([one_hot > 0], [o.full_like(logits, 0.9 + 0.1 / c)], 0.1 / c)
    return -o.mean(o.sum(target * o.log_softmax(logits), axis=-1))


def _discounted(o, rewards, values):
    """A discounted-return loss: ``scan`` in reverse over the time axis."""
    _, returns = o.scan(lambda c, r: (r + 0.9 * c, r + 0.9 * c), o.zeros_like(rewards[0]), rewards, reverse=True)
    return o.mean(o.square(returns - values))


FIELD_CASES = [
    ("loss: smoothed CE (scatter, select)", _smoothed_ce, lambda d: [_x(d, (4, 5)), _i(0, 4, 2, 2)], (0,)),
    ("loss: sliced MSE (slice, get_item)", lambda o, p, y: o.mean(o.square(
        o.slice(p, [0, 1], [-1, 2]) - o.get_item(y, (slice(None), slice(1, 3))))), _r2((4, 5), (4, 5)), (0, 1)),
    ("loss: discounted returns (scan)", _discounted, _r2((6, 2), (6, 2)), (0, 1)),
    ("loss: masked mean (nonzero, take, ravel)", lambda o, p, m: o.mean(
        o.take(o.ravel(p), o.nonzero(o.ravel(m))[0])), lambda d: [_x(d, (3, 4)), _i(*([1, 0, 1, 1] * 3))], (0,)),
]
CASES += FIELD_CASES


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_cases_like_keras(dt):
    """Every case of CASES: value, dtype, shape, and the gradients of ``sum(out * c)``."""
    run_cases(CASES, dt)


@pytest.mark.slow
@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_slow_cases_like_keras(dt):
    """SLOW_CASES (``map``, ``vectorize``, ``fold``), as CASES."""
    run_cases(SLOW_CASES, dt)


# --------------------------------------------------------------------------------------------------------------
# 2. dtypes
# --------------------------------------------------------------------------------------------------------------

_TENSOR_DTYPES = ["bool", "int8", "uint8", "int32", "int64", "float16", "float32", "float64"]


def _sample(dt: str) -> np.ndarray:
    if dt == "bool":
        return np.array([True, False, True])
    return np.array([1, 2, 3], dt)


ONE = {  # fn(ops, x) on each dtype of _TENSOR_DTYPES
    "append": lambda o, x: o.append(x, x), "hstack": lambda o, x: o.hstack([x, x]),
    "vstack": lambda o, x: o.vstack([x, x]), "dstack": lambda o, x: o.dstack([x, x]),
    "kron": lambda o, x: o.kron(x, x), "inner": lambda o, x: o.inner(x, x), "vdot": lambda o, x: o.vdot(x, x),
    "cross": lambda o, x: o.cross(x, x), "vander": lambda o, x: o.vander(x),
    "select": lambda o, x: o.select([o.greater(o.cast(x, "int32"), 1)], [x]),
    "diagflat": lambda o, x: o.diagflat(x), "ravel": lambda o, x: o.ravel(x),
    "rot90": lambda o, x: o.rot90(o.reshape(o.append(x, x), (2, 3))), "copy": lambda o, x: o.copy(x),
    "array": lambda o, x: o.array(x), "empty_like": lambda o, x: o.empty_like(x),
    "unique": lambda o, x: o.unique(x), "unique counts": lambda o, x: o.unique(x, return_counts=True)[1],
    "argpartition": lambda o, x: o.argpartition(x, 1), "nonzero": lambda o, x: o.nonzero(x)[0],
    "meshgrid": lambda o, x: o.meshgrid(x, x)[0], "unstack": lambda o, x: o.unstack(x)[0],
    "moveaxis": lambda o, x: o.moveaxis(o.reshape(o.append(x, x), (2, 3)), 0, 1),
    "tri dtype": lambda o, x: o.tri(2, dtype=o.dtype(x)), "identity dtype": lambda o, x: o.identity(2, o.dtype(x)),
    "view int8": lambda o, x: o.view(x, "int8"),
    "unravel_index": lambda o, x: o.unravel_index(x, (2, 3))[0],
    "scatter": lambda o, x: o.scatter([[0], [2]], x[:2], (3,)),
    "scatter_update": lambda o, x: o.scatter_update(x, [[1]], x[:1]),
    "slice_update": lambda o, x: o.slice_update(x, [1], x[:1]),
    "get_item": lambda o, x: o.get_item(x, slice(1, None)), "slice": lambda o, x: o.slice(x, [1], [2]),
    "logspace dtype": lambda o, x: o.logspace(0, 1, 3, dtype=o.dtype(x)),
    "empty dtype": lambda o, x: o.empty((2,), dtype=o.dtype(x)),
}
_PAIR_DTYPES = ["bool", "int8", "uint8", "int32", "int64", "float16", "float32", "float64"]
TWO = {  # fn(ops, x1, x2) on each pair
    "append": lambda o, a, b: o.append(a, b), "hstack": lambda o, a, b: o.hstack([a, b]),
    "vstack": lambda o, a, b: o.vstack([a, b]), "dstack": lambda o, a, b: o.dstack([a, b]),
    "inner": lambda o, a, b: o.inner(a, b), "cross": lambda o, a, b: o.cross(_T(o, a), _T(o, b)),
    "select": lambda o, a, b: o.select([o.greater(o.cast(a, "int32"), 1)], [a], b),
}


@pytest.mark.parametrize("which", ["one", pytest.param("two", marks=pytest.mark.slow)])
def test_dtypes_like_keras(which):
    """Result dtype and value of ONE on every dtype (default) and of TWO on every pair (``slow``), under floatx
    float32 and float64; wherever Keras raises we raise too."""
    failures, ours_only, n, both_raise = [], [], 0, 0
    for fx in ("float32", "float64"):
        with _precision(fx), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if which == "one":
                checks = [(f"{k}({d})", fn, [_sample(d)]) for k, fn in ONE.items() for d in _TENSOR_DTYPES]
            else:
                checks = [(f"{k}({d1}, {d2})", fn, [_sample(d1), _sample(d2)]) for k, fn in TWO.items()
                          for d1 in _PAIR_DTYPES for d2 in _PAIR_DTYPES]
            for label, fn, arrays in checks:
                n += 1
                try:
                    r = _dtype_check(fn, arrays, label, fx)
                except AssertionError as e:
                    failures.append(str(e).splitlines()[0])
                    continue
                both_raise += r == "both raise"
                if r.startswith("Keras raises"):
                    ours_only.append(f"{label} floatx={fx}")
    print(f"{n} dtype checks; {both_raise} raise in both; {len(failures)} differences; we compute where Keras "
          f"raises: {len(ours_only)}")
    assert not failures, f"{len(failures)} of {n}:\n" + "\n".join(failures[:40])
    assert not ours_only, ours_only[:40]


def test_select_numpy_promotion():
    """``select``'s dtype is NumPy's promotion (``tf.experimental.numpy``), not Keras's lattice: int32 with
    float32 is float64 (Keras's ``result_type``: float32)."""
    with _precision("float32"):
        k = KO.select([tf.constant([True, False])], [tf.constant([1, 2], tf.int32)], tf.constant([0.5, 0.5]))
        t = TO.select([torch.tensor([True, False])], [torch.tensor([1, 2], dtype=torch.int32)],
                      torch.tensor([0.5, 0.5]))
        print("select(int32, float32):", k.dtype.name, str(t.dtype), "; keras.backend.result_type:",
              keras.backend.result_type("int32", "float32"))
        assert k.dtype.name == "float64" == str(t.dtype)[6:]
        assert np.array_equal(k.numpy(), t.numpy())


# --------------------------------------------------------------------------------------------------------------
# 3. errors
# --------------------------------------------------------------------------------------------------------------

_F = lambda: np.arange(6.0).reshape(2, 3)  # noqa: E731
ERRORS = [  # (label, fn(ops, x), x)
    ("array_split with a list", lambda o, x: o.array_split(x, [1]), _F()),
    ("array_split 0 sections", lambda o, x: o.array_split(x, 0), _F()),
    ("array_split axis 1.0", lambda o, x: o.array_split(x, 2, axis=1.0), _F()),
    ("hsplit unequal", lambda o, x: o.hsplit(_T(o, x), 2), _F()),
    ("moveaxis lengths differ", lambda o, x: o.moveaxis(_T(o, x), [0, 1], [0]), _F()),
    ("rot90 1-D", lambda o, x: o.rot90(x[0]), _F()),
    ("rot90 equal axes", lambda o, x: o.rot90(x, axes=(1, 1)), _F()),
    ("rot90 three axes", lambda o, x: o.rot90(x, axes=(0, 1, 1)), _F()),
    ("kron bool", lambda o, x: o.kron(o.greater(x, 1), o.greater(x, 1)), _F()),
    ("meshgrid mixed dtypes", lambda o, x: o.meshgrid(x[0], o.cast(x[0], "int32")), _F()),
    ("vander 2-D", lambda o, x: o.vander(x), _F()),
    ("vander N float", lambda o, x: o.vander(x[0], 2.0), _F()),
    ("vander N < 0", lambda o, x: o.vander(x[0], -1), _F()),
    ("vander increasing 1", lambda o, x: o.vander(x[0], 2, increasing=1), _F()),
    ("unstack wrong num", lambda o, x: o.unstack(x, num=3), _F()),
    ("slice beyond", lambda o, x: o.slice(x, [1, 1], [2, 2]), _F()),
    ("slice negative start", lambda o, x: o.slice(x, [-1, 0], [1, 1]), _F()),
    ("slice_update bigger update", lambda o, x: o.slice_update(x, [0, 0], o.ones((3, 3), "float64")), _F()),
    ("slice_update dtype", lambda o, x: o.slice_update(x, [0, 0], o.ones((1, 1), "float32")), _F()),
    ("scatter out of range", lambda o, x: o.scatter([[5]], x[0, :1], (3,)), _F()),
    ("scatter_update out of range", lambda o, x: o.scatter_update(x, [[0, 3]], x[0, :1]), _F()),
    ("scatter_update negative index", lambda o, x: o.scatter_update(x, [[-1, 0]], x[0, :1]), _F()),
    ("scatter_update dtype", lambda o, x: o.scatter_update(x, [[0, 0]], o.ones((1,), "float32")), _F()),
    ("scatter_update reduction 'sub'", lambda o, x: o.scatter_update(x, [[0, 0]], x[0, :1], reduction="sub"), _F()),
    ("get_item out of range", lambda o, x: o.get_item(x, 5), _F()),
    ("get_item out of range, 2nd axis", lambda o, x: o.get_item(x, (0, -4)), _F()),
    ("get_item index array", lambda o, x: o.get_item(x, np.array([0, 1])), _F()),
    ("get_item float", lambda o, x: o.get_item(x, 1.0), _F()),
    ("get_item mask in a tuple", lambda o, x: o.get_item(x, (np.array([True, False]), 1)), _F()),
    ("select not lists", lambda o, x: o.select(o.greater(x, 1), x), _F()),
    ("select empty", lambda o, x: o.select([], []), _F()),
    ("select lengths differ", lambda o, x: o.select([o.greater(x, 1)], [x, x]), _F()),
    ("nonzero scalar", lambda o, x: o.nonzero(x[0, 0]), _F()),
    ("unravel_index None in shape", lambda o, x: o.unravel_index(o.cast(x[0], "int32"), (None, 3)), _F()),
    ("view bool", lambda o, x: o.view(o.greater(x, 1), "int8"), _F()),
    ("view bytes don't divide", lambda o, x: o.view(o.cast(x, "int8"), "int32"), _F()),
    ("scan f not callable", lambda o, x: o.scan(3, x, x), _F()),
    ("scan no xs, no length", lambda o, x: o.scan(lambda c, v: (c, c), x), _F()),
    ("scan unroll 0", lambda o, x: o.scan(lambda c, v: (c, c), x[0], x, unroll=0), _F()),
    ("scan y with fewer leaves", lambda o, x: o.scan(lambda c, v: ((c[0] + v, c[1]), c[0]), (x[0], x[0]), x), _F()),
    ("scan y of another dtype", lambda o, x: o.scan(lambda c, v: (c + v, o.cast(c, "int32")), x[0], x), _F()),
    ("scan y of another shape", lambda o, x: o.scan(lambda c, v: (c + v, o.stack([c, c])), x[0], x), _F()),
    ("while_loop body adds a variable", lambda o, x: o.while_loop(lambda a, b: o.sum(a) < 30,
                                                                   lambda a, b: (a + 1, b, b), (x, x)), _F()),
    ("while_loop body nests a variable", lambda o, x: o.while_loop(lambda a, b: o.sum(a) < 30,
                                                                    lambda a, b: (a + 1, (b, b)), (x, x)), _F()),
    ("while_loop single becomes a pair", lambda o, x: o.while_loop(lambda a: o.sum(a) < 30, lambda a: (a + 1, a), x),
     _F()),
    ("associative_scan not callable", lambda o, x: o.associative_scan(3, x), _F()),
    ("associative_scan lengths differ", lambda o, x: o.associative_scan(lambda a, b: a, (x, x[:1])), _F()),
    ("vectorize maps over an axis", lambda o, x: o.vectorize(lambda v: v * 2)(x), _F()),
    ("unfold 3-D", lambda o, x: o.unfold(x, 2), _F()),
    ("fold 2-D", lambda o, x: o.fold(x, (2, 2), 1), _F()),
    ("vectorize bad signature", lambda o, x: o.vectorize(lambda v: v, signature="n->()")(x), _F()),
]

_KERAS_OWN = (ValueError, TypeError)


@pytest.mark.parametrize("label,fn,x", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_like_keras(label, fn, x):
    """Keras raises, and so do we: Keras's own ``ValueError``/``TypeError`` with the same type; where TensorFlow's
    kernel raises (``InvalidArgumentError``), a ``ValueError``, ``IndexError`` or ``TypeError``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as ke:
            fn(KO, tf.constant(x))
        with pytest.raises(Exception) as te:
            fn(TO, torch.from_numpy(x))
    kt, tt = type(ke.value), type(te.value)
    print(f"{label}: Keras {kt.__name__}: {str(ke.value)[:80]!r}; ours {tt.__name__}: {str(te.value)[:80]!r}")
    if kt in _KERAS_OWN:
        assert tt is kt, f"{label}: ours {tt.__name__}, Keras {kt.__name__}"
    else:
        assert issubclass(tt, (ValueError, IndexError, TypeError)), f"{label}: ours {tt.__name__}"


def test_misc_like_keras():
    """``is_tensor``, ``dtype`` and ``convert_to_numpy`` (Python values, not tensors)."""
    with _precision("float32"):
        x64 = np.array([1.5, 2.0])
        for label, k, t in [
            ("is_tensor(tensor)", KO.is_tensor(tf.constant(x64)), TO.is_tensor(torch.from_numpy(x64))),
            ("is_tensor(ndarray)", KO.is_tensor(x64), TO.is_tensor(x64)),
            ("is_tensor(float)", KO.is_tensor(1.0), TO.is_tensor(1.0)),
            ("dtype(float64)", KO.dtype(tf.constant(x64)), TO.dtype(torch.from_numpy(x64))),
            ("dtype(bool)", KO.dtype(tf.constant([True])), TO.dtype(torch.tensor([True]))),
            ("dtype(float16 ndarray)", KO.dtype(x64.astype("float16")), TO.dtype(x64.astype("float16"))),
        ]:
            print(f"{label}: Keras {k!r}, ours {t!r}")
            assert k == t, label
        for v in ([1, 2], 1.5):  # Keras reads ``x.dtype``
            with pytest.raises(AttributeError):
                KO.dtype(v)
            with pytest.raises(AttributeError):
                TO.dtype(v)
        for v in (tf.constant(x64), [1, 2], 3.5):
            k = KO.convert_to_numpy(v)
            t = TO.convert_to_numpy(torch.from_numpy(x64) if isinstance(v, tf.Tensor) else v)
            print("convert_to_numpy:", repr(k), repr(t))
            assert isinstance(t, np.ndarray) and t.dtype == k.dtype and np.array_equal(t, k)
        y = torch.tensor([1.0, 2.0], requires_grad=True)
        assert isinstance(TO.convert_to_numpy(y * 2), np.ndarray)


@pytest.mark.slow
def test_module_without_tensorflow():
    """The module imports and runs in an interpreter that refuses TensorFlow and Keras."""
    out = run_without_tensorflow("""
        import torch
        from torch_impl import keras_ops as ops
        print(ops.hstack([torch.tensor([1, 2]), torch.tensor([0.5])]).tolist(), ops.unravel_index(4, (2, 3)))
    """)
    assert "[1.0, 2.0, 0.5]" in out and "(tensor(1" in out, out  # NumPy's (1, 1): keras-team/keras#23434


# --------------------------------------------------------------------------------------------------------------
# 4. ops TensorFlow cannot differentiate
# --------------------------------------------------------------------------------------------------------------


def _block_indices(start, ushape, xshape):
    """The indices ``slice_update`` writes (its start clamped as XLA clamps it)."""
    s = [min(max(a, 0), n - m) for a, m, n in zip(start, ushape, xshape)]
    grid = np.meshgrid(*[np.arange(a, a + m) for a, m in zip(s, ushape)], indexing="ij")
    return np.stack([g.reshape(-1) for g in grid], -1).astype(np.int32)


@pytest.mark.parametrize("start", [[1, 2], [2, 7], [-1, -3]])
def test_slice_update_gradient(start):
    """TensorFlow registers no gradient for ``XlaDynamicUpdateSlice``: ``ops.slice_update`` under a
    ``GradientTape`` raises ``LookupError``. Ours is differentiable: its gradients (0 under the update for
    ``inputs``, the incoming gradient of the block for ``updates``) equal Keras's gradients of the same update
    written with ``ops.scatter_update``, and its values equal Keras's ``slice_update``."""
    g = np.random.default_rng(0)
    x, u = g.normal(size=(3, 8)), g.normal(size=(2, 3))
    c = g.uniform(0.5, 1.5, size=(3, 8))
    xv, uv = tf.Variable(x), tf.Variable(u)
    with tf.GradientTape() as tape:
        k_out = KO.slice_update(xv, start, uv)
        s = tf.reduce_sum(k_out * c)
    with pytest.raises(LookupError):
        tape.gradient(s, [xv, uv])
    with tf.GradientTape() as tape:
        k_ref = KO.scatter_update(xv, _block_indices(start, u.shape, x.shape), tf.reshape(uv, [-1]))
        s = tf.reduce_sum(k_ref * c)
    kgx, kgu = [t.numpy() for t in tape.gradient(s, [xv, uv])]
    xt, ut = torch.tensor(x, requires_grad=True), torch.tensor(u, requires_grad=True)
    out = TO.slice_update(xt, start, ut)
    (out * torch.from_numpy(c)).sum().backward()
    print(f"slice_update start={start}: value diff {np.max(np.abs(out.detach().numpy() - k_out.numpy())):.1e}, "
          f"grad diffs {np.max(np.abs(xt.grad.numpy() - kgx)):.1e} / {np.max(np.abs(ut.grad.numpy() - kgu)):.1e}")
    assert np.array_equal(out.detach().numpy(), k_out.numpy()) and np.array_equal(k_ref.numpy(), k_out.numpy())
    assert np.array_equal(xt.grad.numpy(), kgx) and np.array_equal(ut.grad.numpy(), kgu)


def test_no_gradient_ops():
    """``unique`` and ``view`` have no gradient in TensorFlow (``LookupError`` under a tape for ``Unique`` and a
    same-size ``Bitcast``, ``None`` through an integer view); ours are cut from the graph (no silent nonzero
    gradient)."""
    x = np.array([2.0, 1.0, 2.0, 0.5])
    for label, fn in [("unique", lambda o, v: o.unique(v)), ("view", lambda o, v: o.view(v, "int32")),
                      ("view same dtype", lambda o, v: o.view(v))]:
        xv = tf.Variable(x)
        with tf.GradientTape() as tape:
            out = fn(KO, xv)
            s = tf.reduce_sum(tf.cast(out, tf.float64))
        try:
            k = "gradient None" if tape.gradient(s, xv) is None else "a gradient"
        except LookupError:
            k = "LookupError"
        t = fn(TO, torch.tensor(x, requires_grad=True))
        print(f"{label}: Keras {k}; ours requires_grad={t.requires_grad}")
        assert k in ("LookupError", "gradient None") and not t.requires_grad


@pytest.mark.parametrize("args,kw", [((-np.inf, 1.0, 3), {}), ((0.0, np.inf, 3), {}), ((0.1, 0.7, 7), {"endpoint": False}),
                                     ((0, 100, 7), {"dtype": "int64", "endpoint": False}), ((1, 10, 4), {"dtype": "int32"}),
                                     ((0.3, 1e7, 11), {"dtype": "float64"}), ((2.0, 3.0, 1), {"endpoint": False})])
def test_linspace_like_tf_linspace(args, kw):
    """``ops.linspace`` is ``tf.linspace``: the first entry ``start`` itself (``linspace(-inf, 1, 3)`` is ``[-inf,
    nan, 1]``; it was ``[nan, nan, 1]`` before this audit), the inner ones ``start + delta * k``; with
    ``endpoint=False`` Keras's ``tf.linspace(start, stop - step, num)``; integers computed in float64."""
    k = np.asarray(KO.linspace(*args, **kw))
    t = TO.linspace(*args, **kw).numpy()
    print(f"linspace{args} {kw}: Keras {k}, ours {t}")
    assert k.dtype == t.dtype and np.array_equal(k, t, equal_nan=True)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_like_cpu():
    """The ops that build index or helper tensors (``unique``, ``vander``, ``geomspace``, ``select``, ``scatter``,
    ``scatter_update``, ``slice_update``, ``get_item`` with a negative step, ``argpartition``) on CUDA equal the
    CPU results (whose parity with Keras the tests above check)."""
    x = torch.tensor([[3.0, 1.0, 3.0], [-2.0, 0.5, 1.0]], dtype=torch.float64)
    fns = {
        "unique": lambda t: TO.unique(t, sorted=False, return_index=True, return_inverse=True, return_counts=True,
                                      size=8),
        "vander": lambda t: TO.vander(t[0]), "geomspace": lambda t: TO.geomspace(t[0, :2], t[0, 1:], 3),
        "select": lambda t: TO.select([t > 1], [t], 0.5), "scatter": lambda t: TO.scatter([[0], [2]], t[0, :2], (4,)),
        "scatter_update max": lambda t: TO.scatter_update(t, [[0, 0], [0, 0]], [5.0, 3.0], reduction="max"),
        "slice_update": lambda t: TO.slice_update(t, [1, 2], [[7.0, 8.0]]),
        "get_item": lambda t: TO.get_item(t, (slice(None), slice(None, None, -2))),
        "argpartition": lambda t: TO.argpartition(t, 1),
    }
    for name, fn in fns.items():
        cpu, gpu = fn(x), fn(x.cuda())
        for a, b in zip(cpu if isinstance(cpu, tuple) else (cpu,), gpu if isinstance(gpu, tuple) else (gpu,)):
            assert b.device.type == "cuda" and torch.equal(a, b.cpu()), name


def test_correlate_like_keras():
    rng = np.random.default_rng(5)
    worst = 0.0
    for n, m in [(5, 3), (6, 2), (4, 4), (7, 1), (3, 5)]:
        a, b = rng.normal(size=n), rng.normal(size=m)
        for mode in ("valid", "same", "full"):
            if mode == "valid" and m > n:
                for mod, conv in ((KO, lambda v: v), (TO, torch.tensor)):
                    with pytest.raises(Exception):
                        mod.correlate(conv(a), conv(b), mode=mode)
                continue
            k = np.asarray(KO.correlate(a, b, mode=mode))
            t = TO.correlate(torch.tensor(a), torch.tensor(b), mode=mode).numpy()
            assert k.dtype == t.dtype and k.shape == t.shape, (n, m, mode)
            worst = max(worst, float(np.abs(k - t).max() / np.abs(k).max()))
    for dts in [("int32", "int32"), ("int64", "int32"), ("float16", "float16"), ("int8", "float32")]:
        a, b = np.arange(1, 6).astype(dts[0]), np.array([1, 0, 2]).astype(dts[1])
        assert str(np.asarray(KO.correlate(a, b)).dtype) == str(TO.correlate(torch.tensor(a), torch.tensor(b)).dtype
                                                               ).replace("torch.", "")
    with pytest.raises(ValueError, match="Invalid mode"):
        TO.correlate(torch.ones(3), torch.ones(2), mode="bad")
    print(f"correlate: 14 cases within {worst:.1e}, dtypes equal")
    assert worst <= 1e-14


def test_sub_namespaces_like_keras():
    """``ops.linalg.x``, ``ops.nn.x``, ``ops.numpy.x``: Keras's names, the same functions as ``ops.x``."""
    for ns in ("linalg", "nn", "numpy"):
        names = [n for n in dir(getattr(KO, ns)) if not n.startswith("_")]
        ours = dir(getattr(TO, ns))
        missing = sorted(set(names) - set(ours))
        assert missing == [], (ns, missing)
        for n in names:
            if n not in missing:
                assert getattr(getattr(TO, ns), n) is getattr(TO, n), (ns, n)
        with pytest.raises(AttributeError):
            getattr(getattr(TO, ns), "no_such_op")
    print("keras_ops.linalg / nn / numpy: every Keras name")

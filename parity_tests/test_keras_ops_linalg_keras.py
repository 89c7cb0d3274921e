"""``torch_impl.keras_ops``'s linear algebra and statistics (``torch_impl/_keras_ops_linalg.py``) against Keras
3.15.1's ``keras.ops`` on TensorFlow 2.21.

1. 135 cases (``CASES``): the 39 functions of the module on edges (ties, exact quantile indices, NaN/inf, all-NaN
   slices, singular and rank-deficient matrices, non-symmetric inputs to the lower-triangle readers, batches,
   ``axis``/``keepdims``/``q`` shapes, integer inputs) and six losses/metrics written with ``ops`` (two Gaussian
   NLLs, Mahalanobis, median absolute deviation, batch-hard triplet with ``cdist``, pinball + quantile): value,
   dtype and shape, and the gradient of ``sum(out * c)`` (``tf.GradientTape`` against ``torch.autograd``; the
   cotangent has exact zeros; NaN/inf/zero positions must agree). Factorisations unique up to sign (``svd``,
   ``eigh``) through sign-invariant functions (``|u|``, ``u s^2 vh``, eigenvalues); ``eig`` as a set.
2. Dtypes: 40 calls on bool/int8/uint8/int16/int32/int64/float16/float32/float64 under floatx float32 and float64:
   every output's dtype and value (rtol 1e-3) as Keras's, and an error wherever Keras raises.
3. 37 error cases (ValueError where Keras raises ValueError); gradients TensorFlow refuses raise here too.
4. Keras's quirks pinned (ours equal to Keras, different from NumPy/torch), signatures, CUDA (skipped without).

Measured (this machine, CPU; largest relative error against Keras):

=====================================  ===============================  =====================================
check                                  float64                          float32 (``slow``)
=====================================  ===============================  =====================================
135 cases, value / gradient            7.1e-14 / 4.2e-14                3.2e-5 / 4.2e-5 relative, on small
                                                                        entries of LAPACK-vs-Eigen factorisations
                                                                        (within rtol 1e-5 atol 1e-6 everywhere)
quantiles, NaN reductions, cdist...    0 (bit-equal) / <= 2.9e-16       0 / <= 2.6e-6
``eig`` (as a set / ``|v|``)           1.5e-15 / 1.8e-16 (abs)          2.7e-7 / 1.8e-7
dtype checks                           720 checks: 0 differences; both raise on 124 (function, dtype) pairs
errors                                 37 cases: we raise wherever Keras raises, the same type for its
                                       ValueError / TypeError
=====================================  ===============================  =====================================

Quirks matched (``test_quirks_like_keras`` prints Keras / ours / NumPy or torch): ``quantile(x, 0.1)`` in float64
uses ``float32(0.1)`` (``quantile(arange(11), 0.1)`` = 1.0000000149, NumPy 1); ``percentile`` computes ``q / 100``
in floatx; ``median([-inf, 1, 2])`` is NaN (linear interpolation ``y[1] * 1 + y[0] * 0``); ``nancumsum`` keeps inf
(keras-team/keras#23135, followed; 3.15.1: the float max); ``trapezoid(dx=0.1)`` in float64 uses ``float32(0.1)``;
``logdet`` reads the lower triangle and is NaN for a singular or indefinite matrix; ``cholesky(upper=True)`` is the
adjoint of the lower factor; ``solve_triangular`` is upper by default; ``pinv``'s default ``rcond`` is ``10 * max(m,
n) * eps``; ``nanargmax`` of an all-NaN slice is -1; ``corrcoef`` of int64 truncates the mean to an integer;
``eigh``'s gradient is lower-triangular; ``lu_factor`` has no gradient (and raises on a batch).

Harness note: Keras's linalg functions read ``x.ndim``, which a ``tf.Variable`` lacks, so the Keras side of a
differentiated input gets ``tf.identity`` of it (``_plain``).

"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from parity_tests.test_field_scripts_round2 import _precision  # noqa: E402
from parity_tests.test_keras_backend_keras import run_without_tensorflow  # noqa: E402
from parity_tests.test_keras_ops_keras import run_cases  # noqa: E402
from torch_impl import _keras_ops_linalg as LM  # noqa: E402
from torch_impl import keras_ops as ops  # noqa: E402
from keras_impl.ops import fixed as _fixed  # noqa: E402 - Keras with the upstream fixes torch_impl follows

KO = keras.ops

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

nan, inf = np.nan, np.inf

# --------------------------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------------------------


def _rng(seed):
    return np.random.default_rng(seed)


def _spd(dt, n=4, batch=(), seed=10):
    m = _rng(seed).normal(size=batch + (n, n))
    return (m @ np.swapaxes(m, -1, -2) + n * np.eye(n)).astype(dt)


def _sym_gapped(dt, seed=19):
    """A symmetric matrix with well separated eigenvalues 1, 3, 6, 10 (eigenvectors well conditioned)."""
    q, _ = np.linalg.qr(_rng(seed).normal(size=(4, 4)))
    return ((q * np.array([1.0, 3.0, 6.0, 10.0])) @ q.T).astype(dt)


def _gen(dt, n=4, batch=(), seed=11):
    return (_rng(seed).normal(size=batch + (n, n)) + 2 * np.eye(n)).astype(dt)


def _rect(dt, shape=(5, 3), seed=12):
    return _rng(seed).normal(size=shape).astype(dt)


def _vec(dt, shape=(4,), seed=13):
    return _rng(seed).normal(size=shape).astype(dt)


def _tri(dt, lower, n=4, seed=14):
    m = _rng(seed).normal(size=(n, n)) + 3 * np.eye(n)  # the other triangle filled: it must be ignored
    return m.astype(dt)


def _data(dt, shape=(3, 8), seed=15):
    """Normal values with ties: the first row holds 0.5 four times."""
    x = _rng(seed).normal(size=shape)
    x.reshape(-1)[[0, 2, 3, 5]] = 0.5
    return x.astype(dt)


def _odd(dt, seed=16):
    x = _rng(seed).normal(size=(3, 7))
    x[0, [1, 4]] = x[0, 2]  # a tie at the median
    return x.astype(dt)


def _nans(dt, seed=17):
    x = _rng(seed).normal(size=(4, 5))
    x[0, [0, 3]] = nan
    x[1, :] = nan
    x[2, 1] = inf
    x[3, 2] = -inf
    return x.astype(dt)


def _nans_finite(dt, seed=18):
    x = _rng(seed).normal(size=(4, 5))
    x[0, [0, 3]] = nan
    x[1, :] = nan
    x[2, 4] = nan
    x[3, [1, 3]] = x[3, 2]  # ties
    return x.astype(dt)


def _i32(*v):
    return np.array(v, np.int32)


# (id, fn(ops, *inputs), inputs(dt) -> list of arrays, indices of inputs to differentiate)
LINALG_CASES = [
    ("det", lambda o, a: o.det(a), lambda d: [_gen(d)], (0,)),
    ("det batch", lambda o, a: o.det(a), lambda d: [_gen(d, 3, (2,))], (0,)),
    ("inv", lambda o, a: o.inv(a), lambda d: [_gen(d)], (0,)),
    ("inv batch", lambda o, a: o.inv(a), lambda d: [_spd(d, 3, (2,))], (0,)),
    ("logdet spd", lambda o, a: o.logdet(a), lambda d: [_spd(d)], (0,)),
    ("logdet batch", lambda o, a: o.logdet(a), lambda d: [_spd(d, 3, (2,))], (0,)),
    ("logdet not positive definite / singular: NaN", lambda o, a: o.logdet(a),
     lambda d: [np.stack([-np.eye(2), [[1.0, 2.0], [2.0, 1.0]], [[0.0, 0.0], [0.0, 1.0]], np.eye(2)]).astype(d)],
     ()),
    ("logdet non-symmetric (lower triangle read)", lambda o, a: o.logdet(a + o.triu(o.ones_like(a), 1)),
     lambda d: [_spd(d)], (0,)),
    ("slogdet", lambda o, a: o.slogdet(a), lambda d: [_gen(d)], (0,)),
    ("slogdet negative det", lambda o, a: o.slogdet(a), lambda d: [_gen(d)[[1, 0, 2, 3]]], (0,)),
    ("slogdet singular: (0, -inf)", lambda o, a: o.slogdet(a), lambda d: [np.ones((3, 3), d)], ()),
    ("slogdet batch", lambda o, a: o.slogdet(a), lambda d: [_gen(d, 3, (2,))], (0,)),
    ("solve matrix b", lambda o, a, b: o.solve(a, b), lambda d: [_gen(d), _rect(d, (4, 2))], (0, 1)),
    ("solve vector b", lambda o, a, b: o.solve(a, b), lambda d: [_gen(d), _vec(d)], (0, 1)),
    ("solve batch", lambda o, a, b: o.solve(a, b), lambda d: [_gen(d, 3, (2,)), _rect(d, (2, 3, 2))], (0, 1)),
    ("solve batch vector", lambda o, a, b: o.solve(a, b), lambda d: [_gen(d, 3, (2,)), _rect(d, (2, 3))],
     (0, 1)),
    ("solve_triangular default (upper)", lambda o, a, b: o.solve_triangular(a, b), lambda d: [_tri(d, False),
     _rect(d, (4, 2))], (0, 1)),
    ("solve_triangular lower", lambda o, a, b: o.solve_triangular(a, b, lower=True), lambda d: [_tri(d, True),
     _vec(d)], (0, 1)),
    ("cholesky", lambda o, a: o.cholesky(a), lambda d: [_spd(d)], (0,)),
    ("cholesky upper", lambda o, a: o.cholesky(a, upper=True), lambda d: [_spd(d)], (0,)),
    ("cholesky batch", lambda o, a: o.cholesky(a), lambda d: [_spd(d, 3, (2,))], (0,)),
    ("cholesky non-symmetric (lower triangle read)", lambda o, a: o.cholesky(a + o.triu(o.ones_like(a), 1)),
     lambda d: [_spd(d)], (0,)),
    ("cholesky_inverse", lambda o, a: o.cholesky_inverse(a), lambda d: [np.linalg.cholesky(_spd(d))], (0,)),
    ("cholesky_inverse upper", lambda o, a: o.cholesky_inverse(a, upper=True),
     lambda d: [np.linalg.cholesky(_spd(d)).T.copy()], (0,)),
    ("Gaussian NLL via cholesky + solve_triangular",
     lambda o, s, r: (lambda low: o.sum(o.square(o.solve_triangular(low, r, lower=True)))
                      + 2 * o.sum(o.log(o.diagonal(low))))(o.cholesky(s)),
     lambda d: [_spd(d), _vec(d)], (0, 1)),
    ("multivariate Gaussian NLL via logdet + solve (batch)",
     lambda o, s, r: o.mean(0.5 * o.logdet(s) + 0.5 * o.sum(r * o.solve(s, r), axis=-1)),
     lambda d: [_spd(d, 3, (2,)), _rect(d, (2, 3))], (0, 1)),
    ("Mahalanobis via inv", lambda o, s, r: o.sum(r * o.matmul(o.inv(s), r)), lambda d: [_spd(d), _vec(d)], (0, 1)),
    ("lstsq over-determined", lambda o, a, b: o.lstsq(a, b), lambda d: [_rect(d), _vec(d, (5,))], (0, 1)),
    ("lstsq 2-D b", lambda o, a, b: o.lstsq(a, b), lambda d: [_rect(d), _rect(d, (5, 2), 3)], (0, 1)),
    ("lstsq under-determined", lambda o, a, b: o.lstsq(a, b), lambda d: [_rect(d, (3, 5)), _vec(d, (3,))], (0, 1)),
    ("lstsq rank-deficient", lambda o, a, b: o.lstsq(a, b), lambda d: [_rect(d) @ np.diag([1.0, 1.0, 0.0]).astype(d),
     _vec(d, (5,))], ()),
    ("pinv", lambda o, a: o.pinv(a), lambda d: [_rect(d)], (0,)),
    ("pinv wide", lambda o, a: o.pinv(a), lambda d: [_rect(d, (3, 5))], (0,)),
    ("pinv rank-deficient", lambda o, a: o.pinv(a), lambda d: [_rect(d) @ np.diag([1.0, 1.0, 0.0]).astype(d)], ()),
    ("pinv rcond=0.5", lambda o, a: o.pinv(a, rcond=0.5), lambda d: [_rect(d)], (0,)),
    ("matrix_rank", lambda o, a: o.matrix_rank(a), lambda d: [_rect(d)], ()),
    ("matrix_rank deficient", lambda o, a: o.matrix_rank(a), lambda d: [_rect(d) @ np.diag([1.0, 1.0, 0.0]).astype(d)],
     ()),
    ("matrix_rank tol=1.0", lambda o, a: o.matrix_rank(a, tol=1.0), lambda d: [_rect(d) * np.array([1.0, 0.1, 3.0],
                                                                                                   d)], ()),
    ("svd values", lambda o, a: o.svd(a, compute_uv=False), lambda d: [_rect(d)], (0,)),
    ("svd u s^2 vh (reduced)", lambda o, a: (lambda u, s, v: o.matmul(u * s[None, :] ** 2, v))(
        *o.svd(a, full_matrices=False)), lambda d: [_rect(d)], (0,)),
    ("svd |u|, s, |vh| (reduced)", lambda o, a: (lambda u, s, v: (o.abs(u), s, o.abs(v)))(
        *o.svd(a, full_matrices=False)), lambda d: [_rect(d)], (0,)),
    ("svd full_matrices |u|, s, |vh|", lambda o, a: (lambda u, s, v: (o.abs(u), s, o.abs(v)))(*o.svd(a)),
     lambda d: [_rect(d)], ()),
    ("svd full_matrices 4 x 3 |u|, s, |vh|", lambda o, a: (lambda u, s, v: (o.abs(u), s, o.abs(v)))(*o.svd(a)),
     lambda d: [_rect(d, (4, 3))], (0,)),
    ("eigh values", lambda o, a: o.eigh(a)[0], lambda d: [_spd(d)], (0,)),
    ("eigh |vectors|", lambda o, a: o.abs(o.eigh(a)[1]), lambda d: [_sym_gapped(d)], (0,)),
    ("eigh lower triangle read", lambda o, a: o.eigh(a + o.triu(o.ones_like(a), 1))[0], lambda d: [_spd(d)], (0,)),
    ("qr reduced", lambda o, a: o.qr(a), lambda d: [_rect(d)], (0,)),
    ("qr complete values", lambda o, a: o.qr(a, mode="complete"), lambda d: [_rect(d)], ()),
    ("qr square batch", lambda o, a: o.qr(a), lambda d: [_gen(d, 3, (2,))], (0,)),
    ("lu_factor", lambda o, a: o.lu_factor(a), lambda d: [_gen(d)], ()),
    ("lu_factor pivots", lambda o, a: o.lu_factor(a),
     lambda d: [_gen(d)[[3, 1, 0, 2]] * np.array([[1], [2], [5], [0.5]], d)], ()),
    ("svd full_matrices 3 x 4 |u|, s, |vh|", lambda o, a: (lambda u, s, v: (o.abs(u), s, o.abs(v)))(*o.svd(a)),
     lambda d: [_rect(d, (3, 4))], (0,)),
]


def _q(d, v):
    return np.asarray(v, d)


STAT_CASES = [
    ("median axis=None (even count, ties)", lambda o, x: o.median(x), lambda d: [_data(d)], (0,)),
    ("median axis=1", lambda o, x: o.median(x, axis=1), lambda d: [_data(d)], (0,)),
    ("median axis=0 keepdims", lambda o, x: o.median(x, axis=0, keepdims=True), lambda d: [_data(d)], (0,)),
    ("median axis=(0, 1) keepdims", lambda o, x: o.median(x, axis=(0, 1), keepdims=True), lambda d: [_data(d)], (0,)),
    ("median axis=None keepdims", lambda o, x: o.median(x, keepdims=True), lambda d: [_data(d)], (0,)),
    ("median odd count, tie at the median", lambda o, x: o.median(x, axis=-1), lambda d: [_odd(d)], (0,)),
    ("median 3-D axis=(0, 2)", lambda o, x: o.median(x, axis=(2, 0)), lambda d: [_data(d, (2, 3, 5))], (0,)),
    ("median with inf neighbour: NaN", lambda o, x: o.median(x, axis=-1),
     lambda d: [np.array([[-inf, 1.0, 2.0], [1.0, 2.0, inf], [-inf, 1.0, inf]], d)], (0,)),
    ("median with NaN", lambda o, x: o.median(x, axis=-1), lambda d: [_nans(d)], (0,)),
    ("median of one value", lambda o, x: o.median(x, axis=0), lambda d: [_vec(d, (1, 3))], (0,)),
    ("median int32", lambda o, x: o.median(x), lambda d: [_i32(3, 1, 4, 1, 5, 9)], ()),
    ("quantile q=0.1 (float32 q)", lambda o, x: o.quantile(x, 0.1), lambda d: [_data(d)], (0,)),
    ("quantile q=0.3 axis=1", lambda o, x: o.quantile(x, 0.3, axis=1), lambda d: [_data(d)], (0,)),
    ("quantile q list axis=0", lambda o, x: o.quantile(x, [0.0, 0.25, 0.9, 1.0], axis=0), lambda d: [_data(d)], (0,)),
    ("quantile q array keepdims", lambda o, x, q: o.quantile(x, q, axis=1, keepdims=True),
     lambda d: [_data(d), _q(d, [0.1, 0.5, 0.7])], (0,)),
    ("quantile q array axis=None keepdims", lambda o, x, q: o.quantile(x, q, keepdims=True),
     lambda d: [_data(d), _q(d, [0.1, 0.7])], (0,)),
    ("quantile q float64 tensor (gradient to q)", lambda o, x, q: o.quantile(x, q, axis=1),
     lambda d: [_data(d), _q("float64", 0.1)], (0, 1)),
    ("quantile q array: gradient to q", lambda o, x, q: o.quantile(x, q, axis=0),
     lambda d: [_data(d), _q(d, [0.3, 0.6])], (0, 1)),
    ("percentile q tensor: gradient to q", lambda o, x, q: o.percentile(x, q, axis=1),
     lambda d: [_data(d), _q(d, [30.0, 65.0])], (0, 1)),
    ("nanquantile q tensor: gradient to q", lambda o, x, q: o.nanquantile(x, q, axis=1),
     lambda d: [_nans_finite(d)[[0, 2, 3]], _q(d, 0.4)], (0, 1)),
    ("quantile lower", lambda o, x: o.quantile(x, [0.3, 0.5], axis=1, method="lower"), lambda d: [_data(d)], (0,)),
    ("quantile higher", lambda o, x: o.quantile(x, [0.3, 0.5], axis=1, method="higher"), lambda d: [_data(d)], (0,)),
    ("quantile nearest", lambda o, x: o.quantile(x, [0.3, 0.5, 0.5 / 7], axis=1, method="nearest"),
     lambda d: [_data(d)], (0,)),
    ("quantile midpoint", lambda o, x: o.quantile(x, [0.3, 0.5], axis=1, method="midpoint"), lambda d: [_data(d)],
     (0,)),
    ("quantile int32 q list", lambda o, x: o.quantile(x, [0.25, 0.5]), lambda d: [_i32(3, 1, 4, 1, 5, 9, 2)], ()),
    ("percentile 10", lambda o, x: o.percentile(x, 10), lambda d: [_data(d)], (0,)),
    ("percentile list axis=1", lambda o, x: o.percentile(x, [25, 50, 75], axis=1), lambda d: [_data(d)], (0,)),
    ("percentile 33.3 nearest", lambda o, x: o.percentile(x, 33.3, axis=0, method="nearest"), lambda d: [_data(d)],
     (0,)),
    ("median absolute deviation metric", lambda o, x: o.median(o.abs(x - o.median(x, axis=1, keepdims=True)),
                                                               axis=1), lambda d: [_data(d)], (0,)),
    ("batch-hard triplet loss with cdist", lambda o, a, p: o.mean(o.maximum(
        o.diagonal(o.cdist(a, p)) - o.min(o.cdist(a, p) + 1e3 * o.eye(4), axis=1) + 0.5, 0.0)),
     lambda d: [_rect(d, (4, 3)), _rect(d, (4, 3), 5)], (0, 1)),
    ("pinball loss at the 0.9 quantile of residuals", lambda o, y, p: o.mean(o.maximum(
        0.9 * (y - p), -0.1 * (y - p))) + o.quantile(y - p, 0.9), lambda d: [_data(d), _data(d, seed=4)], (0, 1)),
    ("nanmedian axis=None", lambda o, x: o.nanmedian(x), lambda d: [_nans_finite(d)], (0,)),
    ("nanmedian axis=1 (an all-NaN row)", lambda o, x: o.nanmedian(x, axis=1), lambda d: [_nans_finite(d)], (0,)),
    ("nanmedian axis=0 keepdims", lambda o, x: o.nanmedian(x, axis=0, keepdims=True), lambda d: [_nans_finite(d)],
     (0,)),
    ("nanquantile q list axis=1", lambda o, x: o.nanquantile(x, [0.1, 0.5], axis=1),
     lambda d: [_nans_finite(d)[[0, 2, 3]]], (0,)),
    ("nanquantile axis=None keepdims", lambda o, x: o.nanquantile(x, 0.3, keepdims=True),
     lambda d: [_nans_finite(d)], (0,)),
    ("nanquantile with inf", lambda o, x: o.nanquantile(x, 0.5, axis=1), lambda d: [_nans(d)], (0,)),
    ("nanpercentile 30 axis=1 higher", lambda o, x: o.nanpercentile(x, 30, axis=1, method="higher"),
     lambda d: [_nans_finite(d)], (0,)),
    ("nanmean", lambda o, x: o.nanmean(x), lambda d: [_nans_finite(d)], (0,)),
    ("nanmean axis=1", lambda o, x: o.nanmean(x, axis=1), lambda d: [_nans_finite(d)], (0,)),
    ("nanmean axis=0 keepdims", lambda o, x: o.nanmean(x, axis=0, keepdims=True), lambda d: [_nans_finite(d)], (0,)),
    ("nanmean axis=()", lambda o, x: o.nanmean(x, axis=()), lambda d: [_nans_finite(d)], (0,)),
    ("nanmean int32", lambda o, x: o.nanmean(x), lambda d: [_i32(1, 2, 4)], ()),
    ("nansum axis=1", lambda o, x: o.nansum(x, axis=1), lambda d: [_nans(d)], (0,)),
    ("nansum", lambda o, x: o.nansum(x, keepdims=True), lambda d: [_nans_finite(d)], (0,)),
    ("nanprod axis=1", lambda o, x: o.nanprod(x, axis=1), lambda d: [_nans_finite(d)], (0,)),
    ("nanprod with zero", lambda o, x: o.nanprod(x, axis=0), lambda d: [np.array([[0.0, 2.0], [nan, 0.0], [3.0, 0.0]],
                                                                                  d)], (0,)),
    ("nanmax axis=1 (ties, all-NaN row)", lambda o, x: o.nanmax(x, axis=1), lambda d: [_nans_finite(d)], (0,)),
    ("nanmax", lambda o, x: o.nanmax(x), lambda d: [_nans(d)], (0,)),
    ("nanmin axis=1 keepdims", lambda o, x: o.nanmin(x, axis=1, keepdims=True), lambda d: [_nans_finite(d)], (0,)),
    ("nanmin axis=0", lambda o, x: o.nanmin(x, axis=0), lambda d: [_nans(d)], (0,)),
    ("nanvar axis=1", lambda o, x: o.nanvar(x, axis=1), lambda d: [_nans_finite(d)], (0,)),
    ("nanvar", lambda o, x: o.nanvar(x), lambda d: [_nans_finite(d)], (0,)),
    ("nanstd axis=0 keepdims", lambda o, x: o.nanstd(x, axis=0, keepdims=True), lambda d: [_nans_finite(d)], (0,)),
    ("nanstd constant row (sqrt at 0)", lambda o, x: o.nanstd(x, axis=1),
     lambda d: [np.array([[2.0, nan, 2.0], [1.0, 2.0, 4.0]], d)], (0,)),
    ("nanargmax axis=1 (-1 for all NaN)", lambda o, x: o.nanargmax(x, axis=1), lambda d: [_nans(d)], ()),
    ("nanargmax", lambda o, x: o.nanargmax(x), lambda d: [_nans_finite(d)], ()),
    ("nanargmin axis=0 keepdims", lambda o, x: o.nanargmin(x, axis=0, keepdims=True), lambda d: [_nans(d)], ()),
    # keras-team/keras#23135 (followed): infinities stay (3.15.1: the float max); compared with the fix
    ("nancumsum axis=1 (inf stays)", lambda o, x: _fixed(o).nancumsum(x, axis=1), lambda d: [_nans(d)], (0,)),
    ("nancumsum flat", lambda o, x: o.nancumsum(x), lambda d: [_nans_finite(d)], (0,)),
    ("nancumprod axis=0", lambda o, x: o.nancumprod(x, axis=0), lambda d: [_nans_finite(d)], (0,)),
    ("ptp", lambda o, x: o.ptp(x), lambda d: [_data(d)], (0,)),
    ("ptp axis=1 keepdims (ties)", lambda o, x: o.ptp(x, axis=1, keepdims=True), lambda d: [_data(d)], (0,)),
    ("ptp int32", lambda o, x: o.ptp(x), lambda d: [_i32(3, -1, 7)], ()),
    ("diff", lambda o, x: o.diff(x), lambda d: [_data(d)], (0,)),
    ("diff n=2 axis=0", lambda o, x: o.diff(x, n=2, axis=0), lambda d: [_data(d, (4, 3))], (0,)),
    ("diff n=0", lambda o, x: o.diff(x, n=0), lambda d: [_data(d)], (0,)),
    ("diff int32 / bool", lambda o, x: (o.diff(x), o.diff(o.greater(x, 2))), lambda d: [_i32(3, 1, 4, 1, 5)], ()),
    ("trapezoid", lambda o, y: o.trapezoid(y), lambda d: [_data(d)], (0,)),
    ("trapezoid dx=0.1 (a float32 dx)", lambda o, y: o.trapezoid(y, dx=0.1, axis=0), lambda d: [_data(d)], (0,)),
    ("trapezoid x", lambda o, y, x: o.trapezoid(y, x), lambda d: [_data(d), np.sort(_vec(d, (8,)))], (0, 1)),
    ("trapezoid x axis=0", lambda o, y, x: o.trapezoid(y, x, axis=0), lambda d: [_data(d), np.sort(_data(d, seed=3),
                                                                                                   0)], (0, 1)),
    ("trapezoid int32", lambda o, y: o.trapezoid(y), lambda d: [_i32(1, 4, 9)], ()),
    ("cdist", lambda o, x, y: o.cdist(x, y), lambda d: [_rect(d, (4, 3)), _rect(d, (5, 3), 2)], (0, 1)),
    ("cdist batch", lambda o, x, y: o.cdist(x, y), lambda d: [_rect(d, (2, 4, 3)), _rect(d, (2, 2, 3), 2)], (0, 1)),
    ("cdist zero distance: NaN gradient", lambda o, x, y: o.cdist(x, y), lambda d: [_rect(d, (2, 3)),
     _rect(d, (2, 3))], (0, 1)),
    ("corrcoef", lambda o, x: o.corrcoef(x), lambda d: [_data(d)], (0,)),
    ("corrcoef perfectly correlated rows (clip)", lambda o, x: o.corrcoef(x),
     lambda d: [np.stack([_vec(d, (6,)), 3 * _vec(d, (6,)), -_vec(d, (6,))])], ()),
    ("corrcoef int32", lambda o, x: o.corrcoef(x), lambda d: [np.array([[1, 2, 4], [3, 1, 0]], np.int32)], ()),
    ("histogram", lambda o, x: o.histogram(x), lambda d: [_vec(d, (30,))], (0,)),
    ("histogram bins=4 range", lambda o, x: o.histogram(x, bins=4, range=(-1.0, 1.5)), lambda d: [_vec(d, (30,))],
     (0,)),
    ("histogram all equal", lambda o, x: o.histogram(x, bins=3), lambda d: [np.full(5, 2.5, d)], (0,)),
    ("histogram int range", lambda o, x: o.histogram(x, bins=3, range=(0, 2)), lambda d: [_vec(d, (30,))], (0,)),
]

def _plain(fn):
    """Keras's linalg functions call ``x.ndim``, which a ``tf.Variable`` (``compare``'s differentiated inputs) lacks:
    the Keras side gets ``tf.identity`` of them (a plain tensor, the same gradient)."""
    def run(o, *args):
        if o is KO:
            args = [tf.identity(a) if isinstance(a, tf.Variable) else a for a in args]
        return fn(o, *args)
    return run


CASES = [(name, _plain(fn), inputs, grad_idx) for name, fn, inputs, grad_idx in LINALG_CASES + STAT_CASES]


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_functions_like_keras(dt):
    """Every case (value, dtype, shape, gradient of ``sum(out * c)``) against Keras."""
    run_cases(CASES, dt)


# --------------------------------------------------------------------------------------------------------------
# dtypes: every function on every tensor dtype, floatx float32 and float64
# --------------------------------------------------------------------------------------------------------------

SWEEP_DTYPES = ["bool", "int8", "uint8", "int16", "int32", "int64", "float16", "float32", "float64"]


def _mat(dt):
    return np.array([[2, 1], [1, 3]], dt) if dt != "bool" else np.array([[True, False], [False, True]])


def _row(dt):
    return np.array([[3, 1, 2, 2], [0, 4, 1, 1]], dt) if dt != "bool" else np.array([[True, False, True, True],
                                                                                     [False, True, True, False]])


SWEEP = {  # name -> (fn(ops, x), sample(dt))
    "det": (lambda o, x: o.det(x), _mat), "inv": (lambda o, x: o.inv(x), _mat),
    "logdet": (lambda o, x: o.logdet(x), _mat), "slogdet": (lambda o, x: o.slogdet(x), _mat),
    "cholesky": (lambda o, x: o.cholesky(x), _mat), "cholesky_inverse": (lambda o, x: o.cholesky_inverse(x), _mat),
    "solve": (lambda o, x: o.solve(x, x), _mat), "solve_triangular": (lambda o, x: o.solve_triangular(x, x), _mat),
    "lstsq": (lambda o, x: o.lstsq(x, x), _mat), "lu_factor": (lambda o, x: o.lu_factor(x), _mat),
    "qr": (lambda o, x: o.qr(x), _mat), "svd": (lambda o, x: o.svd(x, compute_uv=False), _mat),
    "eigh": (lambda o, x: o.eigh(x)[0], _mat), "pinv": (lambda o, x: o.pinv(x), _mat),
    "matrix_rank": (lambda o, x: o.matrix_rank(x), _mat), "eig": (lambda o, x: o.eig(x)[0], _mat),
    # cdist: keras-team/keras#23213 (followed) casts to result_type(x, y, float); 3.15.1 raises for integers
    "corrcoef": (lambda o, x: o.corrcoef(x), _row), "cdist": (lambda o, x: _fixed(o).cdist(x, x), _row),
    "median": (lambda o, x: o.median(x, axis=1), _row), "quantile": (lambda o, x: o.quantile(x, [0.3, 0.5]), _row),
    "percentile": (lambda o, x: o.percentile(x, 40, axis=0), _row),
    "nanmedian": (lambda o, x: o.nanmedian(x), _row), "nanquantile": (lambda o, x: o.nanquantile(x, 0.3), _row),
    "nanquantile axis": (lambda o, x: o.nanquantile(x, 0.3, axis=1), _row),
    "nanpercentile": (lambda o, x: o.nanpercentile(x, 30), _row),
    "histogram": (lambda o, x: o.histogram(o.reshape(x, (-1,)), bins=3), _row),
    "trapezoid": (lambda o, x: o.trapezoid(x), _row), "ptp": (lambda o, x: o.ptp(x, axis=1), _row),
    "diff": (lambda o, x: o.diff(x), _row), "nanmean": (lambda o, x: o.nanmean(x, axis=1), _row),
    "nansum": (lambda o, x: o.nansum(x, axis=1), _row), "nanprod": (lambda o, x: o.nanprod(x, axis=1), _row),
    "nanmax": (lambda o, x: o.nanmax(x, axis=1), _row), "nanmin": (lambda o, x: o.nanmin(x), _row),
    "nanstd": (lambda o, x: o.nanstd(x, axis=1), _row), "nanvar": (lambda o, x: o.nanvar(x), _row),
    "nanargmax": (lambda o, x: o.nanargmax(x, axis=1), _row), "nanargmin": (lambda o, x: o.nanargmin(x), _row),
    "nancumsum": (lambda o, x: o.nancumsum(x, axis=1), _row), "nancumprod": (lambda o, x: o.nancumprod(x), _row),
}


def _outs(fn, mod, x):
    try:
        out = fn(mod, x)
    except Exception as e:  # noqa: BLE001 - compared: both must raise
        return e
    return [np.asarray(o.detach() if isinstance(o, torch.Tensor) else o) for o in
            (out if isinstance(out, (tuple, list)) else [out])]


def _sweep(names, fxs=("float32", "float64")):
    failures, raises, n = [], set(), 0
    for fx in fxs:
        with _precision(fx), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name in names:
                fn, sample = SWEEP[name]
                for dt in SWEEP_DTYPES:
                    n += 1
                    x = sample(dt)
                    k, t = _outs(fn, KO, tf.constant(x)), _outs(fn, ops, torch.from_numpy(x))
                    label = f"{name}({dt}) floatx={fx}"
                    if isinstance(k, Exception) or isinstance(t, Exception):
                        if not (isinstance(k, Exception) and isinstance(t, Exception)):
                            failures.append(f"{label}: Keras {k!r:.150} ours {t!r:.150}")
                        else:
                            raises.add(f"{name}({dt})")
                        continue
                    kd, td = [str(a.dtype) for a in k], [str(a.dtype) for a in t]
                    if kd != td:
                        failures.append(f"{label}: dtypes {td}, Keras {kd}")
                        continue
                    for a, b in zip(t, k):
                        if a.shape != b.shape or not np.allclose(a.astype(np.float64), b.astype(np.float64),
                                                                 rtol=1e-3, atol=1e-3, equal_nan=True):
                            failures.append(f"{label}: {a} vs Keras {b}")
    return n, failures, raises


def test_dtypes_like_keras():
    """Each function on bool/int8/uint8/int16/int32/int64/float16/float32/float64 under floatx float32 and float64:
    the result dtypes (every output) and values (rtol 1e-3) equal to Keras's, and where Keras raises we raise."""
    n, failures, raises = _sweep(list(SWEEP))
    print(f"{n} dtype checks, {len(failures)} differences; both raise on {len(raises)} (function, dtype) pairs, "
          f"e.g. {sorted(raises)[:6]}")
    assert not failures, "\n".join(failures)


# --------------------------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------------------------


def _f(*shape, dt="float64", seed=0):
    return _rng(seed).normal(size=shape).astype(dt)


ERRORS = [  # (name, fn(ops, conv)); conv turns a NumPy array into the module's tensor
    ("cholesky not positive definite", lambda o, c: o.cholesky(c(-np.eye(3)))),
    ("cholesky NaN", lambda o, c: o.cholesky(c(np.array([[nan, 0.0], [0.0, 1.0]])))),
    ("cholesky non-square", lambda o, c: o.cholesky(c(_f(2, 3)))),
    ("cholesky 1-D", lambda o, c: o.cholesky(c(_f(3)))),
    ("cholesky_inverse non-square", lambda o, c: o.cholesky_inverse(c(_f(2, 3)))),
    ("det non-square", lambda o, c: o.det(c(_f(2, 3)))),
    ("inv singular", lambda o, c: o.inv(c(np.ones((3, 3))))),
    ("inv 1-D", lambda o, c: o.inv(c(_f(3)))),
    ("slogdet non-square", lambda o, c: o.slogdet(c(_f(2, 3)))),
    ("solve singular", lambda o, c: o.solve(c(np.ones((3, 3))), c(_f(3)))),
    ("solve incompatible shapes", lambda o, c: o.solve(c(_spd("float64", 3)), c(_f(4)))),
    ("solve b scalar", lambda o, c: o.solve(c(_spd("float64", 3)), c(np.array(1.0)))),
    ("solve mixed float32/float64", lambda o, c: o.solve(c(_spd("float64", 3)), c(_f(3, dt="float32")))),
    ("solve_triangular non-square", lambda o, c: o.solve_triangular(c(_f(2, 3)), c(_f(2)))),
    ("solve_triangular incompatible", lambda o, c: o.solve_triangular(c(_spd("float64", 3)), c(_f(4, 2)))),
    ("lstsq leading dims", lambda o, c: o.lstsq(c(_f(5, 3)), c(_f(4)))),
    ("lstsq 3-D a", lambda o, c: o.lstsq(c(_f(5, 3, 2)), c(_f(5)))),
    ("lstsq 3-D b", lambda o, c: o.lstsq(c(_f(5, 3)), c(_f(5, 2, 2)))),
    ("qr mode='r'", lambda o, c: o.qr(c(_f(3, 3)), mode="r")),
    ("svd 1-D", lambda o, c: o.svd(c(_f(3)))),
    ("eigh non-square", lambda o, c: o.eigh(c(_f(2, 3)))),
    ("eig non-square", lambda o, c: o.eig(c(_f(2, 3)))),
    ("lu_factor batch", lambda o, c: o.lu_factor(c(_f(2, 3, 3)))),
    ("lu_factor non-square", lambda o, c: o.lu_factor(c(_f(2, 3)))),
    ("histogram bins=2.0", lambda o, c: o.histogram(c(_f(5)), bins=2.0)),
    ("histogram bins=-1", lambda o, c: o.histogram(c(_f(5)), bins=-1)),
    ("histogram range a list", lambda o, c: o.histogram(c(_f(5)), range=[0.0, 1.0])),
    ("histogram range reversed", lambda o, c: o.histogram(c(_f(5)), range=(1.0, 0.0))),
    ("histogram 2-D", lambda o, c: o.histogram(c(_f(2, 3)))),
    ("diff n=-1", lambda o, c: o.diff(c(_f(5)), n=-1)),
    ("diff of a scalar", lambda o, c: o.diff(c(np.array(1.0)))),
    ("cdist 1-D", lambda o, c: o.cdist(c(_f(3)), c(_f(2, 3)))),
    ("cdist last dims differ", lambda o, c: o.cdist(c(_f(2, 3)), c(_f(2, 4)))),
    # ("cdist mixed float32/float64"): computed in float64 since keras-team/keras#23213 (followed), checked in
    # parity_tests/test_keras_upstream_fixes2.py
    ("ptp bool", lambda o, c: o.ptp(c(np.array([True, False])))),
    ("nanquantile all-NaN row with a list q", lambda o, c: o.nanquantile(c(np.array([[nan, nan], [1.0, 2.0]])),
                                                                          [0.2, 0.5], axis=1)),
    ("nanquantile int32 along an axis", lambda o, c: o.nanquantile(c(np.array([[1, 2], [3, 4]], np.int32)), 0.5,
                                                                    axis=1)),
]


@pytest.mark.parametrize("case", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_like_keras(case):
    """Where Keras raises, we raise (ValueError where Keras raises ValueError; TensorFlow's own errors as
    ValueError / TypeError / torch's LinAlgError, a RuntimeError)."""
    name, fn = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as k:
            fn(KO, tf.constant)
        with pytest.raises((ValueError, TypeError, RuntimeError)) as t:
            fn(ops, torch.from_numpy)
    if isinstance(k.value, (ValueError, TypeError)):
        assert isinstance(t.value, type(k.value)), f"{name}: Keras {type(k.value).__name__}, ours {type(t.value)}"
    print(f"{name:42s} Keras {type(k.value).__name__:22s} ours {type(t.value).__name__}")


def test_gradients_tensorflow_refuses_raise():
    """``lu_factor`` (TensorFlow has no Lu gradient: LookupError), ``svd(full_matrices=True)`` with
    ``|m - n| > 1`` (NotImplementedError), ``det``/``slogdet`` of a singular matrix (InvalidArgumentError: the
    gradient inverts it) raise in the backward pass instead of giving torch's gradient (0, inf)."""
    a = _f(3, 3)
    b = _f(5, 3)
    sing = np.array([[1.0, 2.0], [2.0, 4.0]])
    for name, fn, x in [("lu_factor", lambda o, v: o.sum(o.lu_factor(v)[0]), a),
                        ("svd full_matrices 5 x 3", lambda o, v: o.sum(o.abs(o.svd(v)[0])), b),
                        ("det of a singular matrix", lambda o, v: o.det(v), sing),
                        ("slogdet of a singular matrix", lambda o, v: o.slogdet(v)[1], sing)]:
        v = tf.Variable(x)
        with pytest.raises(Exception) as k:
            with tf.GradientTape() as tape:
                out = fn(KO, tf.identity(v))
            tape.gradient(out, v)
        t_in = torch.tensor(x, requires_grad=True)
        with pytest.raises(RuntimeError) as t:
            fn(ops, t_in).backward()
        print(f"{name:26s} Keras {type(k.value).__name__:20s} ours {type(t.value).__name__}: {str(t.value)[:60]}")


# --------------------------------------------------------------------------------------------------------------
# eig: complex, order and phases the routine's
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_eig_like_keras_up_to_order_and_phase(dt):
    """``ops.eig`` of a real matrix with a complex pair: Keras's complex dtype; the eigenvalues as a set and the
    eigenvectors' moduli (phase-free), matched by eigenvalue, within the value tolerance. The order is the
    routine's (TensorFlow: Eigen; torch: LAPACK geev): printed, not asserted."""
    a = np.array([[2.0, -3.0, 0.5, 0.0], [3.0, 2.0, 0.0, 0.1], [0.2, 0.0, 5.0, 1.0], [0.0, 0.3, 0.0, -1.0]], dt)
    rtol = 1e-12 if dt == "float64" else 1e-5
    with _precision(dt):
        kw, kv = (t.numpy() for t in KO.eig(tf.constant(a)))
        tw, tv = (t.numpy() for t in ops.eig(torch.from_numpy(a)))
    assert tw.dtype == kw.dtype and tv.dtype == kv.dtype, (tw.dtype, kw.dtype)
    ko, to = np.lexsort((kw.imag, kw.real)), np.lexsort((tw.imag, tw.real))
    w_err = np.max(np.abs(tw[to] - kw[ko]) / np.abs(kw[ko]))
    v_err = np.max(np.abs(np.abs(tv[:, to]) - np.abs(kv[:, ko])))
    same_order = bool(np.array_equal(ko, to))
    print(f"eig {dt}: {kw.dtype}, eigenvalues rel {w_err:.1e}, |eigenvectors| abs {v_err:.1e}, "
          f"same order as TensorFlow: {same_order}")
    assert w_err <= rtol and v_err <= (1e-10 if dt == "float64" else 1e-5)


# --------------------------------------------------------------------------------------------------------------
# Keras's quirks, pinned: ours equal to Keras's, and different from NumPy / torch
# --------------------------------------------------------------------------------------------------------------


def test_quirks_like_keras():
    """Each quirk: Keras's value, ours (equal), and NumPy's or torch's (different)."""
    rows = []

    def row(label, k, t, other, other_name):
        k, t, other = (np.asarray(v, np.float64) for v in (k, t, other))
        assert np.allclose(t, k, rtol=1e-12, atol=1e-15, equal_nan=True), (label, k, t)
        assert not np.allclose(k, other, rtol=1e-13, atol=0, equal_nan=True), (label, k, other)
        rows.append(f"{label:58s} Keras {np.ravel(k)[:3]!s:34s} ours equal (1e-12); {other_name} {np.ravel(other)[:3]}")

    with _precision("float64"):
        x = np.arange(11.0)
        row("quantile(arange(11), 0.1) in float64: q = float32(0.1)", KO.quantile(x, 0.1),
            ops.quantile(torch.from_numpy(x), 0.1), np.quantile(x, 0.1), "NumPy")
        y = np.array([-inf, 1.0, 2.0])
        row("median([-inf, 1, 2]): y[1] * 1 + y[0] * 0 = NaN", KO.median(y), ops.median(torch.from_numpy(y)),
            np.median(y), "NumPy")
        z = np.array([1.0, inf, nan, 2.0])
        row("nancumsum([1, inf, nan, 2]): inf stays (keras-team/keras#23135)", _fixed(KO).nancumsum(z),
            ops.nancumsum(torch.from_numpy(z)), KO.nancumsum(z), "3.15.1's float max")
        yy = np.array([1.0, 2.0, 4.0])
        row("trapezoid(y, dx=0.1) in float64: dx = float32(0.1)", KO.trapezoid(yy, dx=0.1),
            ops.trapezoid(torch.from_numpy(yy), dx=0.1), np.trapezoid(yy, dx=0.1), "NumPy")
        s = _spd("float64", 3)
        ns = s + np.triu(np.ones((3, 3)), 1)
        row("logdet of a non-symmetric matrix: its lower triangle", KO.logdet(ns), ops.logdet(torch.from_numpy(ns)),
            torch.logdet(torch.from_numpy(ns)), "torch.logdet")
        row("logdet of a singular PSD matrix: NaN", KO.logdet(np.diag([0.0, 1.0])),
            ops.logdet(torch.from_numpy(np.diag([0.0, 1.0]))), torch.logdet(torch.from_numpy(np.diag([0.0, 1.0]))),
            "torch.logdet")
        row("cholesky(x, upper=True) of a non-symmetric x", KO.cholesky(ns, upper=True),
            ops.cholesky(torch.from_numpy(ns), upper=True), torch.linalg.cholesky(torch.from_numpy(ns), upper=True),
            "torch")
        row("solve_triangular(a, b): upper by default", KO.solve_triangular(ns, np.ones(3)),
            ops.solve_triangular(torch.from_numpy(ns), torch.ones(3, dtype=torch.float64)),
            torch.linalg.solve_triangular(torch.from_numpy(ns), torch.ones(3, 1, dtype=torch.float64),
                                          upper=False)[:, 0], "lower")
        m = np.array([[1.0, 0.0], [0.0, 2e-15]])
        row("pinv rcond: 10 * max(m, n) * eps (drops 2e-15)", KO.pinv(m), ops.pinv(torch.from_numpy(m)),
            np.linalg.pinv(m), "NumPy")
        q = np.array([[nan, 1.0, 3.0], [nan, nan, nan]])
        row("nanargmax of an all-NaN row: -1", KO.nanargmax(q, axis=1), ops.nanargmax(torch.from_numpy(q), axis=1),
            [2, 0], "NumPy raises; say")
        iv = np.array([[1, 2, 4], [3, 1, 0]], np.int64)
        row("corrcoef of int64: a truncated integer mean", KO.corrcoef(iv), ops.corrcoef(torch.from_numpy(iv)),
            np.corrcoef(iv), "NumPy")
    with _precision("float32"):
        x = np.arange(11.0)
        row("percentile(float64 x, 10), floatx float32: float32(10) / 100", KO.percentile(x, 10),
            ops.percentile(torch.from_numpy(x), 10), np.percentile(x, 10.0), "NumPy")
    print("\n".join(rows))


def test_signatures_like_keras():
    """Every function of the module exists in ``keras.ops`` with the same argument names, order and defaults."""
    for n in LM.__all__:
        assert hasattr(KO, n) and getattr(ops, n) is getattr(LM, n), n
        ks, ts = (inspect.signature(getattr(m, n)).parameters.values() for m in (KO, ops))
        assert [(p.name, p.default, p.kind) for p in ts] == [(p.name, p.default, p.kind) for p in ks], n
    print(f"{len(LM.__all__)} functions: keras.ops's signatures")


@pytest.mark.slow
def test_module_imports_without_tensorflow():
    """The linalg module imports and runs without TensorFlow or Keras."""
    out = run_without_tensorflow("""
        import torch
        from torch_impl import keras_ops as ops
        x = torch.tensor([[4.0, 1.0], [1.0, 3.0]], dtype=torch.float64)
        print(float(ops.logdet(x)), float(ops.median(torch.tensor([3.0, 1.0, 2.0]))))
    """)
    assert out.split() == [repr(float(np.log(11.0))), "2.0"], out


# --------------------------------------------------------------------------------------------------------------
# CUDA
# --------------------------------------------------------------------------------------------------------------

DEVICE_CALLS = [  # (name, fn(ops, *tensors), inputs) — differentiable in the first input
    ("logdet", lambda o, a: o.logdet(a), lambda: [_spd("float64", 3, (2,))]),
    ("slogdet", lambda o, a: o.slogdet(a)[1], lambda: [_gen("float64")]),
    ("solve", lambda o, a, b: o.solve(a, b), lambda: [_gen("float64"), _vec("float64")]),
    ("solve_triangular", lambda o, a, b: o.solve_triangular(a, b, lower=True), lambda: [_tri("float64", True),
                                                                                        _vec("float64")]),
    ("cholesky", lambda o, a: o.cholesky(a, upper=True), lambda: [_spd("float64")]),
    ("cholesky_inverse", lambda o, a: o.cholesky_inverse(a), lambda: [np.linalg.cholesky(_spd("float64"))]),
    ("lstsq", lambda o, a, b: o.lstsq(a, b), lambda: [_rect("float64"), _vec("float64", (5,))]),
    ("pinv", lambda o, a: o.pinv(a), lambda: [_rect("float64")]),
    ("matrix_rank", lambda o, a: o.matrix_rank(a), lambda: [_rect("float64")]),
    ("lu_factor", lambda o, a: o.lu_factor(a)[1], lambda: [_gen("float64")[[2, 0, 3, 1]]]),
    ("svd 4 x 3", lambda o, a: o.abs(o.svd(a)[0]), lambda: [_rect("float64", (4, 3))]),
    ("eigh", lambda o, a: o.eigh(a)[0], lambda: [_spd("float64")]),
    ("median", lambda o, x: o.median(x, axis=1), lambda: [_data("float64")]),
    ("quantile", lambda o, x: o.quantile(x, [0.2, 0.9], axis=0, keepdims=True), lambda: [_data("float64")]),
    ("percentile", lambda o, x: o.percentile(x, 30), lambda: [_data("float64")]),
    ("nanquantile", lambda o, x: o.nanquantile(x, 0.3, axis=1), lambda: [_nans_finite("float64")]),
    ("nanmedian", lambda o, x: o.nanmedian(x), lambda: [_nans_finite("float64")]),
    ("nanmean", lambda o, x: o.nanmean(x, axis=1), lambda: [_nans_finite("float64")]),
    ("nanstd", lambda o, x: o.nanstd(x, axis=0), lambda: [_nans_finite("float64")]),
    ("nanargmax", lambda o, x: o.nanargmax(x, axis=1), lambda: [_nans("float64")]),
    ("nancumprod", lambda o, x: o.nancumprod(x, axis=1), lambda: [_nans("float64")]),
    ("histogram", lambda o, x: o.histogram(x, bins=4)[0], lambda: [_vec("float64", (20,))]),
    ("histogram range", lambda o, x: o.histogram(x, bins=3, range=(-1.0, 1.0))[1], lambda: [_vec("float64", (20,))]),
    ("corrcoef", lambda o, x: o.corrcoef(x), lambda: [_data("float64")]),
    ("cdist", lambda o, x, y: o.cdist(x, y), lambda: [_rect("float64", (4, 3)), _rect("float64", (2, 3), 1)]),
    ("trapezoid", lambda o, y, x: o.trapezoid(y, x), lambda: [_data("float64"), np.sort(_vec("float64", (8,)))]),
    ("diff", lambda o, x: o.diff(x, n=2), lambda: [_data("float64")]),
    ("ptp", lambda o, x: o.ptp(x, axis=0), lambda: [_data("float64")]),
]


def _device_like_cpu(device: str) -> float:
    """Every DEVICE_CALLS case on ``device`` against the CPU: value and the gradient of its first input."""
    worst = 0.0
    for name, fn, inputs in DEVICE_CALLS:
        results = []
        for dev in ("cpu", device):
            ts = [torch.tensor(a, device=dev) for a in inputs()]
            ts[0].requires_grad_(True)
            out = fn(ops, *ts)
            assert out.device.type == torch.device(dev).type, (name, out.device)
            grad = None
            if out.requires_grad:
                out.sum().backward()
                grad = ts[0].grad.cpu().numpy()
            results.append((out.detach().cpu().numpy(), grad))
        (cv, cg), (dv, dg) = results
        assert cv.dtype == dv.dtype and cv.shape == dv.shape, name
        assert np.allclose(dv, cv, rtol=1e-10, atol=1e-12, equal_nan=True), (name, dv, cv)
        if cg is not None:
            assert np.allclose(dg, cg, rtol=1e-9, atol=1e-12, equal_nan=True), (name, dg, cg)
        if cv.dtype.kind == "f" and np.isfinite(cv).any():
            fin = np.isfinite(cv)
            worst = max(worst, float(np.max(np.abs(dv[fin] - cv[fin]) / np.maximum(np.abs(cv[fin]), 1e-300))))
    return worst


def test_device_code_path_on_cpu():
    """The device-placement code (tensors made inside the functions follow the input's device) run on the CPU."""
    print(f"{len(DEVICE_CALLS)} calls, cpu against cpu: worst {_device_like_cpu('cpu'):.1e}")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_like_cpu():
    """The same calls on CUDA (float64): values within 1e-10 and gradients within 1e-9 of the CPU's (cuSOLVER /
    MAGMA against LAPACK)."""
    print(f"{len(DEVICE_CALLS)} calls, cuda against cpu: worst value {_device_like_cpu('cuda'):.1e}")

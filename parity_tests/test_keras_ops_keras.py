"""``torch_impl.keras_ops`` against Keras 3.15.1's ``keras.ops`` on TensorFlow 2.21 (the ``from keras import ops`` of
Keras 3 custom losses and metrics).

1. Every function (149, keras.ops's signatures; the 21 of ``flip`` to ``bincount`` in
   test_keras_ops_more_keras.py), one case per edge (ties, clip bounds, 0, -0, NaN, inf, empty,
   ``axis=None``/tuples/keepdims, integer, bool and Python-scalar inputs): value (dtype and shape included) and the
   gradient of ``sum(out * c)`` for a cotangent ``c`` with exact zeros (``tf.GradientTape`` against
   ``torch.autograd``), float64 and float32. Standards: float64 values 1e-12 and gradients 1e-10 relative, float32
   rtol 1e-5 atol 1e-6; NaN, inf and the set of zero gradients identical. ``ctc_loss`` separately (float32 inside).
2. Keras's type promotion: 46 functions on bool/int8/uint8/int32/int64/float16/float32/float64 tensors, and seven
   binary ops on every pair of those and Python int/float scalars, under floatx float32 and float64: the result
   dtype and value equal to Keras's, and an error wherever Keras raises.
3. Nine field losses/metrics written once against an ``ops`` parameter (keras.io's siamese contrastive loss with
   its euclidean distance, a VAE loss with ``keras.losses.binary_crossentropy`` of ``ops.sigmoid``, dice, keras.io's
   triplet loss at its margin, a focal loss, a weighted BCE with ``ops.binary_crossentropy``, Keras's log-cosh, an
   F1 metric, a one-hot categorical crossentropy): value and gradient, float64 and float32; three Adam steps of
   ``model.fit`` against ``torch_impl.fit`` for eight of them (one default, the rest ``slow``).
4. The naive ``torch.x`` port's error, to show what the module is for.

Measured (this machine, CPU; largest relative error against Keras):

==============================================  ============================  ==============================
check                                           float64                       float32 (``slow``)
==============================================  ============================  ==============================
271 function cases, value / gradient            1.1e-14 / 6.5e-13             4.9e-6 / 2.4e-5 (within rtol
                                                                              1e-5 atol 1e-6 everywhere)
``ctc_loss`` (float32 inside, as TensorFlow)    7.6e-8 / 6.1e-4 (atol 1e-6)   the same
dtype checks (section 2)                        2136 checks: 0 differences; we raise wherever Keras raises
9 field losses, value / gradient                <= 4.0e-16 / <= 4.3e-15       <= 1.2e-7 / <= 2.3e-6
3 Adam steps, 8 losses (model.fit vs fit)       <= 4.2e-16                    <= 1.1e-7
==============================================  ============================  ==============================

Naive port (``ops.x`` -> ``torch.x``), float64, relative error against Keras (ours: 0 on each):

==========================================================  ================================
``F.gelu(x)`` (exact) for ``ops.gelu(x)`` (tanh approx.)    1.8e-4 at x = 1
``F.leaky_relu`` (slope 0.01) for ``ops.leaky_relu`` (0.2)  0.95
``torch.std`` / ``torch.var`` (N - 1) on 4 values           0.15 / 0.33
``F.binary_cross_entropy``, a sure wrong prediction         5.2 (100 against 16.118)
``torch.maximum`` in the triplet loss at the margin         gradient 0.5 off (a tie halved)
``torch.mean`` of int32                                     raises (Keras: float32 1.5)
==========================================================  ================================

Keras quirks found and matched (pinned here): the comparisons convert a Python float to float32 before the
promotion (``ops.greater(x64, 0.1)`` compares with 0.10000000149011612) while the arithmetic keeps it weak and
exact; ``tf.cast`` of a Python float rounds it to float32 first, so in float64 ``ops.gelu``'s 0.044715 (3.3e-10 off
at x = 1) and ``ops.round(x, -1)``'s factor 0.1 are float32 values (``round(int32 25, -1)`` is 29 under floatx
float64, 20 under float32); ``ops.eye(N, M, k)`` with ``N != M`` and ``k != 0`` is not ``N x M``
(``eye(2, 4, k=1)`` is 3 x 5); ``ops.segment_sum`` without ``num_segments`` counts the distinct ids (ids ``[0, 2,
0]`` raise); ``ops.argmax``/``argmin`` return int32 over the flattened tensor for ``axis=None`` and treat -0. as
below +0.; ``ops.mean`` of int64 is float32 whatever floatx; ``ops.var`` of integers computes in float32 and casts
to floatx; ``ops.max`` of an empty tensor raises; ``ops.sum`` of bool/int8 is int32 and ``ops.prod`` of uint8
uint32; two int8 matrices ``matmul`` to int32; ``ops.one_hot`` is floatx; ``ops.selu``'s gradient at 0 is
``scale``; ``ops.log(2.0)`` is a float32 ``0.6931471824645996``, which the log-cosh loss casts into float64.
TensorFlow flushes float32 subnormals in its sparse softmax crossentropy gradient (torch keeps 7e-45): the case
stays clear of them.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from parity_tests.test_field_scripts_round2 import _precision  # noqa: E402
from parity_tests.test_keras_backend_keras import (  # noqa: E402
    _cotangent, _err, _flat, _keras_side as _keras_side_of, _nan, _onehot, _p, _ties, _torch_side as _torch_side_of,
    _x, _y, compare as _compare, run_without_tensorflow)
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import keras_ops as TO  # noqa: E402
from torch_impl import losses as tlosses  # noqa: E402
from torch_impl.nn import keras_init_  # noqa: E402

KO = keras.ops

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

DTYPES = ["float64", pytest.param("float32", marks=pytest.mark.slow)]

# --------------------------------------------------------------------------------------------------------------
# comparison: compare(...) of test_keras_backend_keras with keras.ops / torch_impl.keras_ops, tuple outputs too
# --------------------------------------------------------------------------------------------------------------


def compare(name: str, fn, arrays, grad_idx=(0,), dt: str = "float64", zero_set: bool = True):
    """``fn(ops, *inputs)`` with ``keras.ops`` and ``torch_impl.keras_ops``: each output's dtype and value, the
    gradients of ``sum(out * c)``; prints and returns the largest relative errors."""
    return _compare(name, fn, arrays, grad_idx, dt, zero_set, modules=(KO, TO))


def _keras_side(fn, arrays, grad_idx):
    return _keras_side_of(fn, KO, arrays, grad_idx)


def _torch_side(fn, arrays, grad_idx):
    return _torch_side_of(fn, TO, arrays, grad_idx)


# --------------------------------------------------------------------------------------------------------------
# 1. the functions
# --------------------------------------------------------------------------------------------------------------

nan, inf = np.nan, np.inf














def _i32(*v):
    return np.array(v, np.int32)


X = lambda d: [_x(d)]  # noqa: E731
X3 = lambda d: [_x(d, (2, 3, 4))]  # noqa: E731
P = lambda d: [_p(d)]  # noqa: E731
NAN = lambda d: [_nan(d)]  # noqa: E731

# (id, fn(ops, *inputs), inputs(dt) -> list of arrays, indices of inputs to differentiate)
CASES = [
    # arithmetic and Keras's promotion with Python scalars
    ("add", lambda o, x, y: o.add(x, y), _ties, (0, 1)),
    ("add python float", lambda o, x: o.add(x, 0.1), X, (0,)),
    ("add int32 + 1.5 (floatx)", lambda o, x: o.add(x, 1.5), lambda d: [_i32(1, -2, 3)], ()),
    ("add bias-like (3, 8) + (8,)", lambda o, x, b: o.add(x, b), lambda d: [_x(d), _x(d)[1].copy()], (0, 1)),
    ("subtract", lambda o, x, y: o.subtract(x, y), _ties, (0, 1)),
    ("subtract 1 - x", lambda o, x: o.subtract(1, x), X, (0,)),
    ("multiply", lambda o, x, y: o.multiply(x, y), _ties, (0, 1)),
    ("multiply by 0.1", lambda o, x: o.multiply(x, 0.1), X, (0,)),
    ("divide", lambda o, x, y: o.divide(x, y), _ties, (0, 1)),
    ("divide by 0, 0/0", lambda o, x, y: o.divide(x, y), lambda d: [np.array([1.0, 0.0, -1.0, nan], d),
                                                                   np.array([0.0, 0.0, -0.0, 1.0], d)], (0, 1)),
    ("divide int32 (floatx)", lambda o, x, y: o.divide(x, y), lambda d: [_i32(1, 7, -3), _i32(2, 2, 2)], ()),
    ("true_divide", lambda o, x: o.true_divide(x, 3.0), X, (0,)),
    ("divide_no_nan", lambda o, x, y: o.divide_no_nan(x, y), lambda d: [np.array([1.0, 0.0, nan, 2.0, 3.0], d),
                                                                       np.array([0.0, 0.0, 0.0, 4.0, -0.5], d)],
     (0, 1)),
    ("power 2.0", lambda o, x: o.power(x, 2.0), X, (0,)),
    ("power 3 (python int)", lambda o, x: o.power(x, 3), X, (0,)),
    ("power 0.5 of |x| (0 included)", lambda o, x: o.power(o.abs(x), 0.5), X, (0,)),
    ("power 0.0 at 0", lambda o, x: o.power(x, 0.0), X, (0,)),
    ("power tensor exponent", lambda o, x, a: o.power(x, a),
     lambda d: [np.abs(_x(d)), np.random.default_rng(5).uniform(-1, 2, (3, 8)).astype(d)], (0, 1)),
    ("power int32", lambda o, x: o.power(x, 2), lambda d: [_i32(1, -2, 3)], ()),
    ("negative", lambda o, x: o.negative(x), X, (0,)),
    ("abs", lambda o, x: o.abs(x), X, (0,)),
    ("absolute nan", lambda o, x: o.absolute(x), NAN, (0,)),
    ("abs int32", lambda o, x: o.abs(x), lambda d: [_i32(-3, 0, 2)], ()),
    ("square", lambda o, x: o.square(x), X, (0,)),
    ("square bool (int32)", lambda o, x: o.square(x > 0), X, ()),
    ("sqrt of |x| (0 included)", lambda o, x: o.sqrt(o.abs(x)), X, (0,)),
    ("sqrt negatives (nan)", lambda o, x: o.sqrt(x), X, (0,)),
    ("sqrt nan, inf", lambda o, x: o.sqrt(x), NAN, (0,)),
    ("sqrt int32 (floatx)", lambda o, x: o.sqrt(x), lambda d: [_i32(0, 4, 2)], ()),
    ("rsqrt", lambda o, x: o.rsqrt(o.abs(x) + 0.5), X, (0,)),
    ("exp", lambda o, x: o.exp(x), X, (0,)),
    ("exp int32", lambda o, x: o.exp(x), lambda d: [_i32(0, 1, 2)], ()),
    ("expm1", lambda o, x: o.expm1(x), X, (0,)),
    ("log of |x| (0 included)", lambda o, x: o.log(o.abs(x)), X, (0,)),
    ("log int32", lambda o, x: o.log(x), lambda d: [_i32(1, 2, 10)], ()),
    ("log python float (float32)", lambda o, x: o.multiply(o.log(2.0), o.ones_like(x)), X, ()),
    ("log1p", lambda o, x: o.log1p(o.abs(x)), X, (0,)),
    ("log2", lambda o, x: o.log2(o.abs(x) + 1.0), X, (0,)),
    ("log10", lambda o, x: o.log10(o.abs(x) + 1.0), X, (0,)),
    ("sign nan", lambda o, x: o.sign(x), NAN, (0,)),
    ("round half to even", lambda o, x: o.round(x), lambda d: [np.array([0.5, 1.5, 2.5, -0.5, -1.5, 0.49], d)],
     (0,)),
    ("round decimals=2", lambda o, x: o.round(x, 2), lambda d: [np.array([0.125, 2.675, -1.005, 0.0049], d)], (0,)),
    ("round decimals=-1 int32", lambda o, x: o.round(x, -1), lambda d: [_i32(15, 25, -35, 14)], ()),
    ("round decimals=-1 float", lambda o, x: o.round(x, -1), lambda d: [np.array([15.0, 25.0, -35.0, 14.0], d)],
     (0,)),
    ("floor", lambda o, x: o.floor(x * 3.0), X, (0,)),
    ("ceil", lambda o, x: o.ceil(x * 3.0), X, (0,)),
    ("floor int32 (floatx)", lambda o, x: o.floor(x), lambda d: [_i32(1, -2)], ()),
    # clip, maximum, minimum, where
    ("clip eps, 1 - eps at the bounds", lambda o, p: o.clip(p, 1e-7, 1.0 - 1e-7), P, (0,)),
    ("clip min > max (0.6, 0.4)", lambda o, p: o.clip(p, 0.6, 0.4), P, (0,)),
    ("clip 0, 1 at the bounds", lambda o, x: o.clip(x, 0.0, 1.0), X, (0,)),
    ("clip nan", lambda o, x: o.clip(x, -1.0, 1.0), NAN, (0,)),
    ("clip tensor bounds", lambda o, x, lo, hi: o.clip(x, lo, hi),
     lambda d: [_x(d), np.full((3, 8), -1.0, d), np.array(1.0, d)], (0, 1, 2)),
    ("clip int32", lambda o, x: o.clip(x, 2, 6), lambda d: [_i32(1, 5, 9)], ()),
    ("clip bool (int32)", lambda o, x: o.clip(x > 0, 0, 1), X, ()),
    ("maximum ties", lambda o, x, y: o.maximum(x, y), _ties, (0, 1)),
    ("minimum ties", lambda o, x, y: o.minimum(x, y), _ties, (0, 1)),
    ("maximum(x, 0)", lambda o, x: o.maximum(x, 0), X, (0,)),
    ("maximum(0., x): the tie to the constant", lambda o, x: o.maximum(0.0, x), X, (0,)),
    ("minimum(x, 1.)", lambda o, x: o.minimum(x, 1.0), X, (0,)),
    ("maximum nan", lambda o, x, y: o.maximum(x, y), lambda d: [_nan(d), _nan(d)[::-1].copy()], (0, 1)),
    ("maximum int32 with 1.5 (floatx)", lambda o, x: o.maximum(x, 1.5), lambda d: [_i32(1, 2)], ()),
    ("where", lambda o, x, y: o.where(x > y, x, y), _ties, (0, 1)),
    ("where python scalars", lambda o, x: o.where(x > 0, 0.25, 0.75), X, ()),
    ("where x, python float", lambda o, x: o.where(x > 0, x, 0.0), X, (0,)),
    ("where nan branch not taken", lambda o, x: o.where(x > 0, o.log(x), x), X, (0,)),
    # reductions
    *[(f"{op} axis={ax!r} keepdims={kd}",
       (lambda op_, ax_, kd_: lambda o, x: getattr(o, op_)(x, axis=ax_, keepdims=kd_))(op, ax, kd), X3, (0,))
      for op in ("sum", "mean", "max", "min", "prod", "std", "var", "logsumexp")
      for ax, kd in ((None, False), (None, True), (0, False), (-1, True), ((0, 2), False), ((), False))],
    ("max ties share the gradient", lambda o, x: o.max(x, axis=-1), lambda d: [np.array([[2, 3, 3, 1], [5, 5, 5, 5]],
                                                                                          d)], (0,)),
    ("amax, amin", lambda o, x: (o.amax(x, axis=0), o.amin(x, axis=1)), X, (0,)),
    ("max nan", lambda o, x: o.max(x, axis=-1), lambda d: [np.array([[nan, 1.0], [1.0, nan], [2.0, 1.0]], d)], (0,)),
    ("max initial", lambda o, x: o.max(x, axis=0, initial=0.5), X, (0,)),
    ("max bool (any)", lambda o, x: o.max(x > 0, axis=0), X, ()),
    ("sum of an empty axis", lambda o, x: o.sum(x, axis=0), lambda d: [np.zeros((0, 3), d)], (0,)),
    ("mean of an empty axis (nan)", lambda o, x: o.mean(x, axis=0), lambda d: [np.zeros((0, 3), d)], (0,)),
    ("mean int32 (float32)", lambda o, x: o.mean(x), lambda d: [_i32(1, 2, 2)], ()),
    ("mean int64", lambda o, x: o.mean(x, axis=0), lambda d: [np.array([[1, 2], [4, 7]], np.int64)], ()),
    ("mean bool", lambda o, x: o.mean(x > 0, axis=-1), X, ()),
    ("sum bool (int32)", lambda o, x: o.sum(x > 0, axis=-1), X, ()),
    ("sum int8 (int32)", lambda o, x: o.sum(x), lambda d: [np.array([100, 100, 100], np.int8)], ()),
    ("prod int32", lambda o, x: o.prod(x, axis=0), lambda d: [np.array([[1, 2], [3, 5]], np.int32)], ()),
    ("std int32 (floatx)", lambda o, x: o.std(x), lambda d: [_i32(1, 2, 4, 7)], ()),
    ("var int32 (float32 -> floatx)", lambda o, x: o.var(x), lambda d: [_i32(1, 2, 4, 7)], ()),
    ("std of a constant row (nan gradient)", lambda o, x: o.std(x, axis=-1),
     lambda d: [np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]], d)], (0,)),
    ("any, all", lambda o, x: (o.any(x > 1, axis=0), o.all(x > -3, axis=1), o.any(x)), X, ()),
    ("argmax axis=None (flat, int32)", lambda o, x: o.argmax(x), X, ()),
    ("argmax -0 below +0", lambda o, x: o.argmax(x, axis=-1), lambda d: [np.array([[-0.0, 0.0], [0.0, -0.0]], d)],
     ()),
    ("argmin keepdims", lambda o, x: o.argmin(x, axis=0, keepdims=True), X, ()),
    ("argmax ties, int32", lambda o, x: o.argmax(x, axis=-1), lambda d: [np.array([[1, 3, 3], [2, 2, 0]], np.int32)],
     ()),
    ("cumsum axis=None", lambda o, x: o.cumsum(x), X, (0,)),
    ("cumsum axis=1", lambda o, x: o.cumsum(x, axis=1), X, (0,)),
    ("cumsum bool", lambda o, x: o.cumsum(x > 0, axis=1), X, ()),
    ("cumprod zero entry", lambda o, x: o.cumprod(x, axis=-1), lambda d: [np.array([[2.0, 0.0, 3.0, 4.0],
                                                                                    [1.5, -2.0, 0.5, 3.0]], d)],
     (0,)),
    ("sort", lambda o, x: o.sort(x), X, (0,)),
    ("sort axis=0", lambda o, x: o.sort(x, axis=0), X, (0,)),
    ("argsort (int32)", lambda o, x: o.argsort(x), X, ()),
    ("top_k", lambda o, x: o.top_k(x, 3), X, (0,)),
    ("top_k ties", lambda o, x: o.top_k(x, 2), lambda d: [np.array([[1.0, 3.0, 3.0, 2.0], [5.0, 5.0, 5.0, 1.0]], d)],
     (0,)),
    # norms and normalisation
    ("norm (all axes)", lambda o, x: o.norm(x), X, (0,)),
    ("norm axis=-1", lambda o, x: o.norm(x, axis=-1), X, (0,)),
    ("norm axis=-1 keepdims, zero row (nan grad)", lambda o, x: o.norm(x, axis=-1, keepdims=True),
     lambda d: [np.vstack([np.zeros((1, 4)), np.ones((1, 4))]).astype(d)], (0,)),
    ("norm ord=1", lambda o, x: o.norm(x, ord=1, axis=-1), X, (0,)),
    ("norm ord=inf", lambda o, x: o.norm(x, ord=np.inf, axis=-1), X, (0,)),
    ("norm ord=0", lambda o, x: o.norm(x, ord=0, axis=-1), X, ()),
    ("norm ord=3", lambda o, x: o.norm(x, ord=3, axis=1), lambda d: [_x(d)[1:]], (0,)),
    ("norm fro axis=(0, 1)", lambda o, x: o.norm(x, ord="fro", axis=(0, 1)), X3, (0,)),
    ("norm ord=1 matrix", lambda o, x: o.norm(x, ord=1, axis=(1, 2)), lambda d: [_x(d, (2, 3, 4), seed=5)], (0,)),
    ("norm ord=inf matrix keepdims", lambda o, x: o.norm(x, ord=np.inf, axis=(1, 2), keepdims=True),
     lambda d: [_x(d, (2, 3, 4), seed=5)], (0,)),
    ("norm int32 (floatx)", lambda o, x: o.norm(x), lambda d: [_i32(3, 4)], ()),
    ("moments", lambda o, x: o.moments(x, axes=[0]), X, (0,)),
    ("moments keepdims", lambda o, x: o.moments(x, axes=(0, 2), keepdims=True), X3, (0,)),
    ("normalize", lambda o, x: o.normalize(x), X, (0,)),
    ("normalize zero row", lambda o, x: o.normalize(x, axis=-1),
     lambda d: [np.vstack([np.zeros((1, 4)), np.ones((1, 4))]).astype(d)], (0,)),
    ("normalize axis=0", lambda o, x: o.normalize(x, axis=0), X, (0,)),
    ("normalize order=1", lambda o, x: o.normalize(x, order=1), X, (0,)),
    # linear algebra, shapes
    ("matmul", lambda o, a, b: o.matmul(a, b), lambda d: [_x(d), _x(d, (8, 2), 6)], (0, 1)),
    ("matmul batched", lambda o, a, b: o.matmul(a, b), lambda d: [_x(d, (2, 3, 4)), _x(d, (4, 5), 6)], (0, 1)),
    ("matmul vector", lambda o, a, b: o.matmul(a, b), lambda d: [_x(d), _x(d, (8,), 6)], (0, 1)),
    ("matmul int32", lambda o, a, b: o.matmul(a, b),
     lambda d: [_i32(1, 2, 3).reshape(1, 3), _i32(4, 5, 6).reshape(3, 1)], ()),
    ("dot", lambda o, a, b: o.dot(a, b), lambda d: [_x(d, (2, 3, 4)), _x(d, (5, 4, 2), 6)], (0, 1)),
    ("dot vectors", lambda o, a, b: o.dot(a, b), lambda d: [_x(d, (4,)), _x(d, (4,), 6)], (0, 1)),
    ("einsum", lambda o, a, b: o.einsum("bij,jk->bik", a, b), lambda d: [_x(d, (2, 3, 4)), _x(d, (4, 5), 6)], (0, 1)),
    ("tensordot", lambda o, a, b: o.tensordot(a, b, axes=([1, 2], [0, 1])),
     lambda d: [_x(d, (2, 3, 4)), _x(d, (3, 4, 2), 6)], (0, 1)),
    ("tensordot axes=1", lambda o, a, b: o.tensordot(a, b, axes=1), lambda d: [_x(d), _x(d, (8, 2), 6)], (0, 1)),
    ("transpose", lambda o, x: o.transpose(x), X3, (0,)),
    ("transpose axes", lambda o, x: o.transpose(x, (1, 0, 2)), X3, (0,)),
    ("reshape", lambda o, x: o.reshape(x, (4, -1)), X, (0,)),
    ("reshape [-1]", lambda o, x: o.reshape(x, [-1]), X, (0,)),
    ("expand_dims tuple", lambda o, x: o.expand_dims(x, (0, -1)), X, (0,)),
    ("squeeze", lambda o, x: o.squeeze(o.reshape(x, (3, 1, 8, 1)), axis=1), X, (0,)),
    ("squeeze all", lambda o, x: o.squeeze(o.reshape(x, (3, 1, 8, 1))), X, (0,)),
    ("concatenate", lambda o, x, y: o.concatenate([x, y], axis=1), _ties, (0, 1)),
    ("concatenate axis=0 default", lambda o, x, y: o.concatenate([x, y]), _ties, (0, 1)),
    ("concatenate int32 + float", lambda o, x, y: o.concatenate([o.cast(x > 0, "int32"), y]), _ties, (1,)),
    ("stack", lambda o, x, y: o.stack([x, y], axis=-1), _ties, (0, 1)),
    ("split sections", lambda o, x: o.split(x, 4, axis=1), X, (0,)),
    ("split indices", lambda o, x: o.split(x, [1, 5], axis=1), X, (0,)),
    ("tile", lambda o, x: o.tile(x, (2, 1)), X, (0,)),
    ("tile fewer repeats", lambda o, x: o.tile(x, 2), X, (0,)),
    ("repeat axis=None", lambda o, x: o.repeat(x, 2), X, (0,)),
    ("repeat axis=0 per row", lambda o, x: o.repeat(x, [1, 0, 2], axis=0), X, (0,)),
    ("pad constant", lambda o, x: o.pad(x, ((1, 0), (2, 1))), X, (0,)),
    ("pad constant_values", lambda o, x: o.pad(x, ((1, 1), (0, 0)), constant_values=-1.5), X, (0,)),
    ("pad reflect", lambda o, x: o.pad(x, ((1, 2), (2, 1)), mode="reflect"), X, (0,)),
    ("pad symmetric", lambda o, x: o.pad(x, ((1, 2), (2, 1)), mode="symmetric"), X, (0,)),
    ("take axis=None", lambda o, x: o.take(x, [0, 5, -1]), X, (0,)),
    ("take axis=1 repeated", lambda o, x: o.take(x, np.array([[0, 1], [1, -2]], np.int32), axis=1), X, (0,)),
    ("take_along_axis", lambda o, x: o.take_along_axis(x * 1.0, o.argsort(x, axis=1)[:, :3], axis=1), X, (0,)),
    ("take_along_axis broadcast", lambda o, x, i: o.take_along_axis(x * 1.0, i, axis=0),
     lambda d: [_x(d), np.array([[0], [2]], np.int64)], (0,)),
    # encodings
    ("one_hot (floatx, ids out of range)", lambda o, i: o.one_hot(i, 4), lambda d: [_i32(0, 3, 4, -1, 2)], ()),
    ("one_hot axis=0 dtype", lambda o, i: o.one_hot(i, 3, axis=0, dtype="int32"), lambda d: [_i32(0, 2, 1)], ()),
    ("one_hot float ids", lambda o, i: o.one_hot(i, 3), lambda d: [np.array([0.0, 1.9, 2.0], d)], ()),
    ("multi_hot", lambda o, i: o.multi_hot(i, 5), lambda d: [np.array([[0, 2, 2], [4, 1, 0]], np.int32)], ()),
    ("multi_hot 1-D", lambda o, i: o.multi_hot(i, 5), lambda d: [_i32(0, 3, 3)], ()),
    ("multi_hot num_tokens, bool", lambda o, i: o.multi_hot(i, num_tokens=4, dtype="bool"),
     lambda d: [np.array([[0, 2], [3, 3]], np.int32)], ()),
    # comparisons, logic, predicates
    ("equal ties", lambda o, x, y: o.equal(x, y), _ties, ()),
    ("not_equal", lambda o, x, y: o.not_equal(x, y), _ties, ()),
    ("greater", lambda o, x, y: o.greater(x, y), _ties, ()),
    ("greater_equal", lambda o, x, y: o.greater_equal(x, y), _ties, ()),
    ("less", lambda o, x, y: o.less(x, y), _ties, ()),
    ("less_equal 0", lambda o, x: o.less_equal(x, 0), X, ()),
    ("greater than 0.1: float32(0.1)", lambda o, x: o.greater(x, 0.1),
     lambda d: [np.array([0.1, 0.10000000149011612, 0.1000000015, 0.2], d)], ()),
    ("equal int32 vs 1.5", lambda o, x: o.equal(x, 1.0), lambda d: [_i32(1, 2)], ()),
    ("logical_and, or, not", lambda o, x, y: (o.logical_and(x > 0, y), o.logical_or(x, y > 0), o.logical_not(x)),
     _ties, ()),
    ("isnan, isinf, isfinite", lambda o, x: (o.isnan(x), o.isinf(x), o.isfinite(x)), NAN, ()),
    ("isnan int32", lambda o, x: (o.isnan(x), o.isfinite(x)), lambda d: [_i32(1, 2)], ()),
    ("nan_to_num", lambda o, x: o.nan_to_num(x), NAN, (0,)),
    ("nan_to_num values", lambda o, x: o.nan_to_num(x, nan=0.5, posinf=9.0, neginf=-9.0), NAN, (0,)),
    # creation and conversion
    ("cast float -> int32 (truncation)", lambda o, x: o.cast(x * 3.0, "int32"), X, ()),
    ("cast float64 <-> float32 gradient", lambda o, x: o.cast(x, "float32") * 2.0, X, (0,)),
    ("convert_to_tensor python list", lambda o, x: (o.convert_to_tensor([1.5, 2.0]), o.convert_to_tensor([1, 2]),
                                                    o.convert_to_tensor(3), o.convert_to_tensor(True)), X, ()),
    ("convert_to_tensor dtype", lambda o, x: (o.convert_to_tensor(1.7, "int32"), o.convert_to_tensor([0.1], "float64"),
                                              o.convert_to_tensor(x, "float32")), X, ()),
    ("zeros, ones, full (floatx)", lambda o, x: (o.zeros((2, 3)), o.ones(4), o.full((2,), 7),
                                                 o.full((2,), 1.5, dtype="int32")), X, ()),
    ("zeros_like, ones_like, full_like", lambda o, x: (o.zeros_like(x), o.ones_like(x, dtype="int32"),
                                                       o.full_like(x, 0.1), o.full_like(x > 0, 2.5, "float32")),
     X, ()),
    ("arange", lambda o, x: (o.arange(5), o.arange(1, 4, 0.5), o.arange(2.0), o.arange(0, 10, 3, dtype="float64"),
                             o.arange(5, 1, -1), o.arange(0)), X, ()),
    ("linspace", lambda o, x: (o.linspace(0, 1, 7), o.linspace(0.0, 1.0, 5, endpoint=False),
                               o.linspace(0, 10, 4, dtype="int32"), o.linspace(-1.0, 3.0, 1)), X, ()),
    ("eye", lambda o, x: (o.eye(3), o.eye(2, 4, k=1), o.eye(4, 3, k=-1, dtype="int32")), X, ()),
    ("stop_gradient", lambda o, x: x * o.stop_gradient(x), X, (0,)),
    ("erf", lambda o, x: o.erf(x), X, (0,)),
    ("segment_sum", lambda o, x, s: o.segment_sum(x, s), lambda d: [_x(d), _i32(0, 1, 0)], (0,)),
    ("segment_sum negative id dropped", lambda o, x, s: o.segment_sum(x, s, num_segments=2),
     lambda d: [_x(d), _i32(0, -1, 1)], (0,)),
    ("segment_sum num_segments", lambda o, x, s: o.segment_sum(x, s, num_segments=4), lambda d: [_x(d), _i32(0, 2, 0)],
     (0,)),
    ("segment_sum sorted", lambda o, x, s: o.segment_sum(x, s, sorted=True), lambda d: [_x(d), _i32(0, 0, 2)], (0,)),
    ("tanh, sin, cos, sinh, cosh", lambda o, x: (o.tanh(x), o.sin(x), o.cos(x), o.sinh(x), o.cosh(x)), X, (0,)),
    ("tanh int32", lambda o, x: o.tanh(x), lambda d: [_i32(0, 1, -2)], ()),
    ("size, count_nonzero", lambda o, x: (o.size(x), o.count_nonzero(x), o.count_nonzero(x, axis=1)), X, ()),
    ("floor_divide", lambda o, x, y: o.floor_divide(x, y), _ties, (0, 1)),
    ("floor_divide int32", lambda o, x: o.floor_divide(x, 3), lambda d: [_i32(7, -7, 6)], ()),
    ("mod", lambda o, x: o.mod(x, 0.75), X, (0,)),
    ("mod tensors", lambda o, x, y: o.mod(x, y), lambda d: [_x(d)[1:], _x(d, seed=9)[1:]], (0, 1)),
    ("mod int32 negative", lambda o, x: o.mod(x, 3), lambda d: [_i32(7, -7, 6)], ()),
    ("logaddexp ties, inf, nan", lambda o, x, y: o.logaddexp(x, y),
     lambda d: [np.concatenate([_ties(d)[0].ravel(), [inf, -inf, nan, inf]]).astype(d),
                np.concatenate([_ties(d)[1].ravel(), [1.0, -inf, 0.0, inf]]).astype(d)], (0, 1)),
    # nn
    ("relu", lambda o, x: o.relu(x), X, (0,)),
    ("relu6 at 0 and 6", lambda o, x: o.relu6(x), X, (0,)),
    ("sigmoid (+-100)", lambda o, x: o.sigmoid(x), lambda d: [np.concatenate([_x(d).ravel(), [-100, 100, 40]])
                                                               .astype(d)], (0,)),
    ("softplus", lambda o, x: o.softplus(x), lambda d: [np.concatenate([_x(d).ravel(), [-50, 50, -15, 15]])
                                                         .astype(d)], (0,)),
    ("softsign", lambda o, x: o.softsign(x), X, (0,)),
    ("silu", lambda o, x: o.silu(x), X, (0,)),
    ("swish", lambda o, x: o.swish(x), X, (0,)),
    ("log_sigmoid (+-50)", lambda o, x: o.log_sigmoid(x), lambda d: [np.concatenate([_x(d).ravel(), [-50, 50]])
                                                                      .astype(d)], (0,)),
    ("leaky_relu default 0.2", lambda o, x: o.leaky_relu(x), X, (0,)),
    ("leaky_relu 0.1", lambda o, x: o.leaky_relu(x, negative_slope=0.1), X, (0,)),
    ("hard_sigmoid at +-3", lambda o, x: o.hard_sigmoid(x * 1.2), X, (0,)),
    ("hard_silu", lambda o, x: o.hard_silu(x * 1.2), X, (0,)),
    ("elu", lambda o, x: o.elu(x), X, (0,)),
    ("elu alpha=0.5", lambda o, x: o.elu(x, alpha=0.5), X, (0,)),
    ("selu (gradient at 0)", lambda o, x: o.selu(x), X, (0,)),
    ("gelu approximate (default)", lambda o, x: o.gelu(x), X, (0,)),
    ("gelu exact", lambda o, x: o.gelu(x, approximate=False), X, (0,)),
    ("softmax", lambda o, x: o.softmax(x), X, (0,)),
    ("softmax axis=0", lambda o, x: o.softmax(x, axis=0), X, (0,)),
    ("softmax axis=None", lambda o, x: o.softmax(x, axis=None), X, (0,)),
    ("softmax axis=(0, 2)", lambda o, x: o.softmax(x, axis=(0, 2)), X3, (0,)),
    ("log_softmax", lambda o, x: o.log_softmax(x), X, (0,)),
    ("log_softmax axis=(1, 2)", lambda o, x: o.log_softmax(x, axis=(1, 2)), X3, (0,)),
    ("binary_crossentropy at the clip", lambda o, y, p: o.binary_crossentropy(y, p), lambda d: [_y(dt=d), _p(d)],
     (0, 1)),
    ("binary_crossentropy from_logits", lambda o, y, z: o.binary_crossentropy(y, z, from_logits=True),
     lambda d: [_y((3, 8), dt=d), _x(d) * 20], (0, 1)),
    ("binary_crossentropy of ops.sigmoid: its logits", lambda o, y, z: o.binary_crossentropy(y, o.sigmoid(z)),
     lambda d: [_y((3, 8), dt=d), _x(d) * 20], (0, 1)),
    ("categorical_crossentropy", lambda o, y, p: o.categorical_crossentropy(y, p),
     lambda d: [_onehot(4, 6, dt=d), _p(d)], (0, 1)),
    ("categorical_crossentropy axis=0", lambda o, y, p: o.categorical_crossentropy(y, p, axis=0),
     lambda d: [_onehot(6, 4, dt=d).T.copy(), _p(d)], (0, 1)),
    ("categorical_crossentropy from_logits", lambda o, y, z: o.categorical_crossentropy(y, z, from_logits=True),
     lambda d: [_onehot(3, 8, dt=d), _x(d) * 12], (0, 1)),
    ("categorical_crossentropy of ops.softmax: logits", lambda o, y, z: o.categorical_crossentropy(y, o.softmax(z)),
     lambda d: [np.eye(8, dtype=d)[np.argmin(_x(d), 1)], _x(d) * 12], (0, 1)),
    ("sparse_categorical_crossentropy", lambda o, y, p: o.sparse_categorical_crossentropy(y, p),
     lambda d: [_i32(1, 0, 5, 2), _p(d)], (1,)),
    ("sparse_categorical_crossentropy (N, 1) float labels", lambda o, y, p: o.sparse_categorical_crossentropy(y, p),
     lambda d: [np.array([[1.9], [0.0], [5.0], [2.0]], d), _p(d)], (1,)),
    ("sparse_categorical_crossentropy from_logits (N, T)",
     lambda o, y, z: o.sparse_categorical_crossentropy(y, z, from_logits=True),
     lambda d: [np.array([[1, 2], [0, 3]], np.int64), _x(d, (2, 2, 4))], (1,)),
    ("sparse_categorical_crossentropy of ops.softmax", lambda o, y, z: o.sparse_categorical_crossentropy(
        y, o.softmax(z)), lambda d: [_i32(1, 0, 7), _x(d) * 6], (1,)),  # * 12: float32 subnormals, flushed by TF
]


def run_cases(cases, dt: str) -> None:
    """``compare`` every ``(name, fn, inputs, grad_idx)`` case in ``dt``; all run, the failures are listed together."""
    worst, failures = [0.0, 0.0], []
    with _precision(dt), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fn, inputs, grad_idx in cases:
            try:
                v, g = compare(name, fn, inputs(dt), grad_idx, dt)
            except Exception as e:  # noqa: BLE001 - every case runs; the failures are listed together
                failures.append(f"{name}: {type(e).__name__}: {str(e)[:600]}")
                continue
            worst = [max(worst[0], v), max(worst[1], g)]
    print(f"{len(cases)} cases, {dt}: worst value {worst[0]:.1e}, worst gradient {worst[1]:.1e}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_functions_like_keras(dt):
    """Every case of CASES (one test per dtype, to keep the suite's overhead low): value, dtype, gradients."""
    run_cases(CASES, dt)


def _ctc_inputs(dt):
    rng = np.random.default_rng(8)
    target = np.array([[1, 2, 2, 0], [3, 1, 0, 0], [2, 3, 1, 3]], np.int32)
    return [target, rng.normal(size=(3, 9, 5)).astype(dt) * 2, np.array([3, 2, 4], np.int32),
            np.array([9, 6, 8], np.int32)]


CTC_CASES = [
    ("ctc_loss mask_index=0", lambda o, t, z, tl, zl: o.ctc_loss(t, z, tl, zl), _ctc_inputs, (1,)),
    ("ctc_loss mask_index=4 (last)", lambda o, t, z, tl, zl: o.ctc_loss(t, z, tl, zl, mask_index=4), _ctc_inputs,
     (1,)),
]


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_ctc_loss_like_keras(dt):
    """``ops.ctc_loss``: TensorFlow computes it in float32 (float64 inputs too): float32 tolerances in both
    dtypes, the dtype of the result Keras's."""
    with _precision(dt):
        for name, fn, inputs, grad_idx in CTC_CASES:
            compare(name, fn, inputs(dt), grad_idx, "float32")


def test_signatures_like_keras():
    """Every function here exists in ``keras.ops`` with the same argument names, order and defaults."""
    import inspect

    # "image" is the keras.ops.image namespace: its functions' signatures in test_keras_ops_nn_image_keras.py;
    # linalg/nn/numpy are keras.ops's sub-namespaces (test_keras_ops_numpy_more_keras.py)
    names = [n for n in TO.__all__ if n not in ("result_type", "floatx", "epsilon", "image", "linalg", "nn", "numpy")]
    for n in names:
        assert hasattr(KO, n), n
        ks, ts = (inspect.signature(getattr(m, n)).parameters.values() for m in (KO, TO))
        assert [(p.name, p.default, p.kind) for p in ts] == [(p.name, p.default, p.kind) for p in ks], n
    print(f"{len(names)} functions: keras.ops's signatures")


# --------------------------------------------------------------------------------------------------------------
# 2. Keras's type promotion
# --------------------------------------------------------------------------------------------------------------

_TENSOR_DTYPES = ["bool", "int8", "uint8", "int32", "int64", "float16", "float32", "float64"]


def _sample(dt: str) -> np.ndarray:
    if dt == "bool":
        return np.array([True, False, True])
    return np.array([1, 2, 3], dt)


UNARY = {
    "negative": lambda o, x: o.negative(x), "abs": lambda o, x: o.abs(x), "square": lambda o, x: o.square(x),
    "sqrt": lambda o, x: o.sqrt(x), "exp": lambda o, x: o.exp(x), "log": lambda o, x: o.log(x),
    "log1p": lambda o, x: o.log1p(x), "expm1": lambda o, x: o.expm1(x), "floor": lambda o, x: o.floor(x),
    "ceil": lambda o, x: o.ceil(x), "round": lambda o, x: o.round(x), "sign": lambda o, x: o.sign(x),
    "mean": lambda o, x: o.mean(x), "sum": lambda o, x: o.sum(x), "prod": lambda o, x: o.prod(x),
    "max": lambda o, x: o.max(x), "std": lambda o, x: o.std(x), "var": lambda o, x: o.var(x),
    "argmax": lambda o, x: o.argmax(x), "cumsum": lambda o, x: o.cumsum(x), "cumprod": lambda o, x: o.cumprod(x),
    "norm": lambda o, x: o.norm(x), "clip": lambda o, x: o.clip(x, 0, 2), "isnan": lambda o, x: o.isnan(x),
    "zeros_like": lambda o, x: o.zeros_like(x), "full_like": lambda o, x: o.full_like(x, 1),
    "one_hot": lambda o, x: o.one_hot(x, 4), "sort": lambda o, x: o.sort(x), "argsort": lambda o, x: o.argsort(x),
    "add 1": lambda o, x: o.add(x, 1), "add 1.5": lambda o, x: o.add(x, 1.5), "multiply True": lambda o, x:
    o.multiply(x, True), "divide 2": lambda o, x: o.divide(x, 2), "power 2": lambda o, x: o.power(x, 2),
    "maximum 1.5": lambda o, x: o.maximum(x, 1.5), "where 1, x": lambda o, x: o.where(True, 1, x),
    "equal 1.0": lambda o, x: o.equal(x, 1.0), "relu": lambda o, x: o.relu(o.cast(x, "float32")),
    "matmul": lambda o, x: o.matmul(o.reshape(x, (1, 3)), o.reshape(x, (3, 1))),
    "dot": lambda o, x: o.dot(x, x), "stack 1.5": lambda o, x: o.stack([x, x]),
    "tanh": lambda o, x: o.tanh(x), "mod 2": lambda o, x: o.mod(x, 2), "floor_divide 2": lambda o, x:
    o.floor_divide(x, 2), "count_nonzero": lambda o, x: o.count_nonzero(x), "logaddexp": lambda o, x: o.logaddexp(x, x),
}
# (the Keras-side exceptions: Keras raises, e.g. abs of uint8/bool returns the input, sort of float16)
BINARY_DTYPES = ["bool", "int8", "uint8", "int32", "int64", "float16", "float32", "float64", int, float]


def _as(v, dt):
    if dt is int:
        return 2
    if dt is float:
        return 0.5
    return _sample(dt)


def _run(fn, mod, arrays, conv):
    try:
        out = fn(mod, *[conv(a) if isinstance(a, np.ndarray) else a for a in arrays])
    except Exception as e:  # noqa: BLE001 - compared below: both must raise
        return e
    return out


def _dtype_check(fn, arrays, name: str, fx: str) -> str:
    k = _run(fn, KO, arrays, tf.constant)
    t = _run(fn, TO, arrays, torch.from_numpy)
    if isinstance(k, Exception):
        return "both raise" if isinstance(t, Exception) else f"Keras raises ({type(k).__name__}), ours does not"
    if isinstance(t, Exception):
        raise AssertionError(f"{name} floatx={fx}: ours raises {t!r}, Keras gives {k}")
    kd, td = str(np.asarray(k).dtype), str(t.detach().numpy().dtype)
    assert kd == td, f"{name} floatx={fx}: dtype {td}, Keras {kd}"
    kv, tv = np.asarray(k).astype(np.float64), t.detach().numpy().astype(np.float64)
    assert kv.shape == tv.shape and np.allclose(tv, kv, rtol=1e-3, atol=1e-3, equal_nan=True), \
        f"{name} floatx={fx}: {tv} vs Keras {kv}"
    return kd


def test_dtype_promotion_like_keras():
    """Each function of UNARY on every tensor dtype, and ``ops.add``/``multiply``/``divide``/``maximum``/
    ``equal``/``where``/``power``/``matmul`` on every pair of dtypes (Python int and float included), under
    floatx float32 and float64: the result dtype (and value) equal to Keras's, and where Keras raises we raise."""
    ours_only, failures, n = [], [], 0

    def check(fn, arrays, label, fx):
        try:
            r = _dtype_check(fn, arrays, label, fx)
        except AssertionError as e:
            failures.append(str(e).splitlines()[0])
            return
        if r.startswith("Keras raises"):
            ours_only.append(label)

    for fx in ("float32", "float64"):
        with _precision(fx), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, fn in UNARY.items():
                for dt in _TENSOR_DTYPES:
                    check(fn, [_sample(dt)], f"{name}({dt})", fx)
                    n += 1
            for op in ("add", "multiply", "divide", "maximum", "equal", "power", "subtract"):
                for d1 in BINARY_DTYPES:
                    for d2 in BINARY_DTYPES:
                        fn = (lambda op_: lambda o, a, b: getattr(o, op_)(a, b))(op)
                        check(fn, [_as(None, d1), _as(None, d2)], f"{op}({d1}, {d2})", fx)
                        n += 1
    print(f"{n} dtype checks; {len(failures)} dtype differences; Keras raises where we compute: {ours_only}")
    assert not failures, f"{len(failures)} of {n}:\n" + "\n".join(failures)
    assert not ours_only


def test_promotion_examples():
    """The README's examples of Keras's promotion, against Keras."""
    rows = []
    with _precision("float32"):
        for label, fn in [("ops.add(int32, 1.5)", lambda o: o.add(o.convert_to_tensor([1, 2]), 1.5)),
                          ("ops.mean(int32)", lambda o: o.mean(o.convert_to_tensor([1, 2]))),
                          ("ops.divide(int32, int32)", lambda o: o.divide(o.convert_to_tensor([1]),
                                                                           o.convert_to_tensor([2]))),
                          ("ops.add(int32, float16)", lambda o: o.add(o.convert_to_tensor([1]),
                                                                      o.cast([0.5], "float16"))),
                          ("ops.argmax(float32)", lambda o: o.argmax(o.convert_to_tensor([0.5, 1.0]))),
                          ("ops.sum(bool)", lambda o: o.sum(o.convert_to_tensor([True, True])))]:
            k, t = fn(KO), fn(TO)
            rows.append((label, str(k.dtype.name), str(t.dtype)[6:]))
            assert rows[-1][1] == rows[-1][2], rows[-1]
    with _precision("float64"):
        k = KO.add(KO.convert_to_tensor([1, 2]), 1.5)
        t = TO.add(TO.convert_to_tensor([1, 2]), 1.5)
        rows.append(("ops.add(int32, 1.5), floatx float64", k.dtype.name, str(t.dtype)[6:]))
        assert rows[-1][1] == rows[-1][2]
    for r in rows:
        print(f"{r[0]:40s} Keras {r[1]:8s} ours {r[2]}")


def test_errors_like_keras():
    """Where Keras raises, we raise too (ValueError / TypeError / IndexError)."""
    cases = [
        ("max of empty", lambda o: o.max(o.zeros((0,)))),
        ("squeeze a non-1 axis", lambda o: o.squeeze(o.zeros((2, 3)), axis=0)),
        ("transpose repeated axes", lambda o: o.transpose(o.zeros((2, 3)), (0, 0))),
        ("binary_crossentropy shapes", lambda o: o.binary_crossentropy(o.zeros((2, 3)), o.zeros((2, 1)))),
        ("categorical_crossentropy ranks", lambda o: o.categorical_crossentropy(o.zeros((2,)), o.zeros((2, 1)))),
        ("sparse_categorical_crossentropy axis", lambda o: o.sparse_categorical_crossentropy(
            o.zeros((2,)), o.zeros((3, 2)), axis=0)),
        ("normalize order 0", lambda o: o.normalize(o.ones((2, 3)), order=0)),
        ("norm bad ord", lambda o: o.norm(o.ones((3,)), ord="fro")),
        ("linspace num < 0", lambda o: o.linspace(0, 1, -1)),
        ("arange start > stop, step > 0", lambda o: o.arange(5, 1)),
        ("segment_sum id past the distinct count", lambda o: o.segment_sum(o.ones((3,)),
                                                                           o.convert_to_tensor([0, 2, 0]))),
        ("where one branch", lambda o: o.where(o.ones((2,)) > 0, o.ones((2,)))),
        ("segment_sum sorted with num_segments", lambda o: o.segment_sum(o.ones((2,)), o.convert_to_tensor([0, 1]),
                                                                         num_segments=2, sorted=True)),
    ]
    for name, fn in cases:
        with pytest.raises(Exception) as k:
            fn(KO)
        with pytest.raises((ValueError, TypeError, IndexError, RuntimeError)) as t:
            fn(TO)
        print(f"{name:42s} Keras {type(k.value).__name__:22s} ours {type(t.value).__name__}")


# --------------------------------------------------------------------------------------------------------------
# 3. field losses and metrics written with ops
# --------------------------------------------------------------------------------------------------------------


def field_losses(ops, losses) -> dict:
    """Keras 3 losses and metrics as written with ``from keras import ops`` (``losses``: ``keras.losses`` or
    ``torch_impl.losses``, for the VAE's ``keras.losses.binary_crossentropy``)."""

    def contrastive_loss(margin=1.0):  # keras.io examples/vision/siamese_contrastive.py
        def euclidean_distance(vects):
            x, y = vects
            sum_square = ops.sum(ops.square(x - y), axis=1, keepdims=True)
            return ops.sqrt(ops.maximum(sum_square, 1e-7))

        def loss(y_true, y_pred):
            y_pred = euclidean_distance((y_pred[:, :3], y_pred[:, 3:]))
            square_pred = ops.square(y_pred)
            margin_square = ops.square(ops.maximum(margin - (y_pred), 0))
            return ops.mean((1 - y_true) * square_pred + (y_true) * margin_square)
        return loss

    def vae_loss(y_true, y_pred):  # keras.io examples/generative/vae.py train_step, as one loss on (N, 8)
        data = ops.reshape(y_true[:, :4], (-1, 2, 2))
        reconstruction = ops.reshape(ops.sigmoid(y_pred[:, :4]), (-1, 2, 2))
        z_mean, z_log_var = y_pred[:, 4:6], y_pred[:, 6:8]
        reconstruction_loss = ops.mean(ops.sum(losses.binary_crossentropy(data, reconstruction), axis=(1,)))
        kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
        kl_loss = ops.mean(ops.sum(kl_loss, axis=1))
        return reconstruction_loss + kl_loss

    def dice_loss(smooth=1e-6):  # segmentation notebooks
        def loss(y_true, y_pred):
            y_true_f = ops.reshape(y_true, [-1])
            y_pred_f = ops.reshape(y_pred, [-1])
            intersection = ops.sum(y_true_f * y_pred_f)
            return 1 - (2.0 * intersection + smooth) / (ops.sum(y_true_f) + ops.sum(y_pred_f) + smooth)
        return loss

    def triplet_loss(margin=0.5):  # keras.io examples/vision/siamese_network.py, anchor/positive/negative
        def loss(y_true, y_pred):
            anchor, positive, negative = y_pred[:, :2], y_pred[:, 2:4], y_pred[:, 4:6]
            ap_distance = ops.sum(ops.square(anchor - positive), -1)
            an_distance = ops.sum(ops.square(anchor - negative), -1)
            return ops.maximum(ap_distance - an_distance + margin, 0.0)
        return loss

    def focal_loss(gamma=2.0, alpha=0.25):
        def loss(y_true, y_pred):
            y_pred = ops.clip(y_pred, 1e-7, 1.0 - 1e-7)
            p_t = ops.where(ops.equal(y_true, 1), y_pred, 1 - y_pred)
            alpha_t = ops.where(ops.equal(y_true, 1), alpha, 1 - alpha)
            return ops.mean(-alpha_t * ops.power(1.0 - p_t, gamma) * ops.log(p_t), axis=-1)
        return loss

    def weighted_bce(pos_weight=3.0):
        def loss(y_true, y_pred):
            bce = ops.binary_crossentropy(y_true, y_pred)
            weights = y_true * pos_weight + (1.0 - y_true)
            return ops.mean(weights * bce, axis=-1)
        return loss

    def log_cosh(y_true, y_pred):  # Keras 3's own losses.log_cosh
        def _logcosh(x):
            return x + ops.softplus(x * -2.0) - ops.cast(ops.log(2.0), x.dtype)
        return ops.mean(_logcosh(y_pred - y_true), axis=-1)

    def f1_metric(y_true, y_pred):
        y_pred = ops.round(ops.clip(y_pred, 0, 1))
        tp = ops.sum(y_true * y_pred, axis=0)
        fp = ops.sum((1 - y_true) * y_pred, axis=0)
        fn = ops.sum(y_true * (1 - y_pred), axis=0)
        precision = ops.divide_no_nan(tp, tp + fp)
        recall = ops.divide_no_nan(tp, tp + fn)
        return ops.mean(ops.divide_no_nan(2 * precision * recall, precision + recall))

    def onehot_cce(y_true, y_pred):  # sparse labels one-hot encoded in the loss
        labels = ops.one_hot(ops.cast(ops.squeeze(y_true, -1), "int32"), 3, dtype=y_pred.dtype)
        return ops.categorical_crossentropy(labels, y_pred)

    return {"contrastive_loss": contrastive_loss(), "vae_loss": vae_loss, "dice_loss": dice_loss(),
            "triplet_loss": triplet_loss(), "focal_loss": focal_loss(), "weighted_bce": weighted_bce(),
            "log_cosh": log_cosh, "f1_metric": f1_metric, "onehot_cce": onehot_cce}


def _fl(o):
    return field_losses(o, keras.losses if o is KO else tlosses)


def _field_data(name: str, dt: str):
    rng = np.random.default_rng(11)
    if name in ("focal_loss", "weighted_bce", "dice_loss", "f1_metric"):
        y = _y((6, 4), seed=12, dt=dt)
        p = rng.uniform(0.02, 0.98, (6, 4))
        p[0] = [1.0, 0.0, 0.5, 1e-9]  # saturated, and 0.5 (round half to even in f1)
        p[1] = 1 - y[1]  # sure and wrong
        return y, p.astype(dt)
    if name == "contrastive_loss":
        y = np.array([[1.0], [0.0], [0.0], [1.0], [0.0]], dt)
        e = rng.normal(size=(5, 6))
        e[1, 3:] = e[1, :3] + [1.0, 0.0, 0.0]  # distance exactly at the margin
        e[3, 3:] = e[3, :3]  # distance 0: maximum(sum, eps) clamps
        return y, e.astype(dt)
    if name == "triplet_loss":
        y = np.zeros((4, 1), dt)
        e = rng.normal(size=(4, 6)) * 0.5
        e[0] = [0.0, 0.0, 0.5, 0.0, 1.0, 0.0]  # ap 0.25, an 1.0, margin 0.5: ... 0.25 - 1 + 0.5 < 0
        e[1] = [0.0, 0.0, 0.0, 0.0, 0.5, 0.5]  # ap 0 - an 0.5 + margin 0.5 = 0: exactly at the margin
        return y, e.astype(dt)
    if name == "vae_loss":
        y = np.concatenate([_y((5, 4), seed=13), np.zeros((5, 4))], 1).astype(dt)
        z = rng.normal(size=(5, 8)) * 3
        z[0, :4] = [40.0, -40.0, 0.0, 20.0]  # saturated sigmoids: the logits behind ops.sigmoid are used
        return y, z.astype(dt)
    if name == "onehot_cce":
        y = np.array([[0], [2], [1], [2]], dt)
        p = rng.uniform(0.05, 1.0, (4, 3))
        p[0] = [0.0, 1.0, 0.0]
        p /= p.sum(-1, keepdims=True)
        return y, p.astype(dt)
    y = rng.normal(size=(6, 3))  # log_cosh
    p = y + rng.normal(size=(6, 3)) * 2
    p[0, 0] = y[0, 0]
    return y.astype(dt), p.astype(dt)


FIELD = list(field_losses(KO, keras.losses))


@pytest.mark.parametrize("dt", DTYPES)
def test_field_losses_ported_by_their_import(dt):
    """``field_losses(ops)[name](y_true, y_pred)`` with keras.ops and ours: value and gradient w.r.t.
    ``y_pred`` (and the labels where a gradient reaches them)."""
    for name in FIELD:
        y, p = _field_data(name, dt)
        grad_idx = {"f1_metric": (), "onehot_cce": (1,)}.get(name, (0, 1))
        with _precision(dt):
            compare(name, lambda o, a, b, n=name: _fl(o)[n](a, b), [y, p], grad_idx, dt)


# --------------------------------------------------------------------------------------------------------------
# 4. the naive port: ops.x -> torch.x
# --------------------------------------------------------------------------------------------------------------


def test_naive_torch_port_errors():
    """What ``ops.x`` -> ``torch.x`` costs (float64, relative error against Keras), and ours."""
    x = np.array([-2.0, -1.0, 0.0, 1.0, 3.0])
    rows = []
    with _precision("float64"):
        def row(label, k, naive, ours):
            k = np.asarray(k, np.float64)
            n_err = float(np.max(np.abs(np.asarray(naive, np.float64) - k) / np.maximum(np.abs(k), 1e-300)))
            o_err = float(np.max(np.abs(np.asarray(ours, np.float64) - k) / np.maximum(np.abs(k), 1e-300)))
            rows.append((label, n_err, o_err))

        xt = torch.tensor(x)
        row("gelu at 1 (approximate=True)", KO.gelu(tf.constant(x))[3], F.gelu(xt)[3], TO.gelu(xt)[3].detach())
        row("leaky_relu (slope 0.2)", KO.leaky_relu(tf.constant(x))[:2], F.leaky_relu(xt)[:2], TO.leaky_relu(xt)[:2])
        row("std (population)", KO.std(tf.constant(x[1:])), torch.std(xt[1:]), TO.std(xt[1:]))
        row("var (population)", KO.var(tf.constant(x[1:])), torch.var(xt[1:]), TO.var(xt[1:]))
        yb, pb = np.array([[1.0, 0.0]]), np.array([[0.0, 0.3]])
        row("binary_crossentropy, a sure wrong 0", KO.binary_crossentropy(tf.constant(yb), tf.constant(pb))[0, 0],
            F.binary_cross_entropy(torch.tensor(pb), torch.tensor(yb), reduction="none")[0, 0],
            TO.binary_crossentropy(torch.tensor(yb), torch.tensor(pb))[0, 0])
        # triplet loss exactly at the margin: the gradient (torch.maximum halves the tie)
        y, e = _field_data("triplet_loss", "float64")
        _, (kg,) = _keras_side(lambda o, a, b: _fl(o)["triplet_loss"](a, b), [y, e], (1,))
        naive = torch.tensor(e, requires_grad=True)
        a_, p_, n_ = naive[:, :2], naive[:, 2:4], naive[:, 4:6]
        nl = torch.maximum(((a_ - p_) ** 2).sum(-1) - ((a_ - n_) ** 2).sum(-1) + 0.5, torch.tensor(0.0,
                                                                                                 dtype=torch.float64))
        (nl * torch.from_numpy(_cotangent(tuple(nl.shape), "float64"))).sum().backward()
        _, (og,) = _torch_side(lambda o, a, b: _fl(o)["triplet_loss"](a, b), [y, e], (1,))
        rows.append(("triplet gradient at the margin", float(np.max(np.abs(naive.grad.numpy()[1] - kg[1])
                                                               / np.abs(kg[1]).max())),
                     float(np.max(np.abs(og - kg)))))
        with pytest.raises(RuntimeError):
            torch.mean(torch.tensor([1, 2], dtype=torch.int32))
        assert TO.mean(torch.tensor([1, 2], dtype=torch.int32)).item() == float(KO.mean(tf.constant([1, 2]))) == 1.5
    print(f"{'ops.x':40s} {'torch.x error':>14s} {'ours':>9s}")
    for label, n_err, o_err in rows:
        print(f"{label:40s} {n_err:14.2e} {o_err:9.1e}")
        assert n_err > 1e-5 and o_err <= 1e-12, label
    print("torch.mean(int32) raises; ops.mean gives float32 1.5 in both")


# --------------------------------------------------------------------------------------------------------------
# 5. three Adam steps: model.fit against torch_impl.fit
# --------------------------------------------------------------------------------------------------------------

TRAIN = {  # loss -> (units, activation, data kind)
    "focal_loss": (4, "sigmoid", "multilabel"),
    "weighted_bce": (4, "sigmoid", "multilabel"),
    "dice_loss": (4, "sigmoid", "multilabel"),
    "contrastive_loss": (6, None, "pairs"),
    "triplet_loss": (6, None, "triplets"),
    "vae_loss": (8, None, "vae"),
    "log_cosh": (2, None, "regression"),
    "onehot_cce": (3, "softmax", "sparse"),
}


def _train_data(kind: str, dt: str):
    rng = np.random.default_rng(21)
    x = rng.normal(size=(32, 5))
    if kind == "multilabel":
        y = (x[:, :4] + 0.5 * rng.normal(size=(32, 4)) > 0).astype(dt)
    elif kind == "pairs":
        y = (x[:, :1] > 0).astype(dt)
    elif kind == "triplets":
        y = np.zeros((32, 1), dt)
    elif kind == "vae":
        y = np.concatenate([(x[:, :4] > 0), np.zeros((32, 4))], 1).astype(dt)
    elif kind == "sparse":
        y = np.argmax(x[:, :3], 1)[:, None].astype(dt)
    else:
        y = (x[:, :2] * [1.0, -2.0]).astype(dt)
    return x.astype(dt), y


def _three_steps(name: str, dt: str):
    units, activation, kind = TRAIN[name]
    x, y = _train_data(kind, dt)
    seed = 3
    with _precision(dt), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras.utils.set_random_seed(seed)
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dense(units, activation=activation)])
        model.compile(optimizer="adam", loss=_fl(KO)[name])
        kh = model.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0).history["loss"]
        net = keras_init_(torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, units)),
                          seed=seed)
        th = tfit.fit(net, x, y, loss=_fl(TO)[name], optimizer="adam", output_activation=activation,
                      batch_size=32, epochs=3, shuffle=False, verbose=0).history["loss"]
    return kh, th


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
@pytest.mark.parametrize("name", [n if n == "weighted_bce" else
                                  pytest.param(n, marks=pytest.mark.slow) for n in TRAIN])
def test_three_adam_steps_like_model_fit(name, dt):
    """``compile(optimizer="adam", loss=field_losses(ops)[name])``, ``fit(batch_size=32, epochs=3)`` against
    ``torch_impl.fit`` with the loss written on ``torch_impl.keras_ops``, from the same weights: float64 histories
    1e-8 relative, float32 1e-3."""
    t0 = time.perf_counter()
    kh, th = _three_steps(name, dt)
    rel = float(np.max(np.abs(np.subtract(th, kh)) / np.abs(kh)))
    print(f"{name} {dt}: Keras {np.round(kh, 8).tolist()} torch_impl {np.round(th, 8).tolist()} max rel {rel:.1e} "
          f"({time.perf_counter() - t0:.1f} s)")
    assert rel <= (1e-8 if dt == "float64" else 1e-3)


def test_module_imports_without_tensorflow():
    """``torch_impl.keras_ops`` never imports TensorFlow or Keras (a fresh interpreter that refuses them)."""
    out = run_without_tensorflow("""
        import torch
        from torch_impl import keras_ops as ops
        print(float(ops.binary_crossentropy(torch.tensor([1.0]), torch.tensor([0.0]))[0]))
    """)
    assert abs(float(out.split()[-1]) - 16.1181) < 1e-4


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_functions_and_field_losses_on_cuda_like_cpu():
    """Every case of CASES and every field loss on a CUDA device (tensors made under ``torch.device("cuda")``):
    the CPU port's values and gradients, float64, to 1e-12 / 1e-10 relative (NaN, inf and zero gradients in the
    same places; cuBLAS may round differently)."""

    def run(fn, arrays, grad_idx, dev):
        with torch.device(dev):
            ins = [torch.tensor(a, device=dev, requires_grad=i in grad_idx) for i, a in enumerate(arrays)]
            outs = _flat(fn(TO, *ins))
            floats = [o for o in outs if isinstance(o, torch.Tensor) and o.is_floating_point()]
            if floats and grad_idx and any(o.requires_grad for o in floats):
                sum((o * torch.from_numpy(_cotangent(tuple(o.shape), str(o.dtype)[6:], seed=7 + k)).to(dev)).sum()
                    for k, o in enumerate(floats)).backward()
            vals = [o.detach().cpu().numpy() if isinstance(o, torch.Tensor) else np.asarray(o) for o in outs]
            grads = [None if ins[i].grad is None else ins[i].grad.cpu().numpy() for i in grad_idx]
        return vals, grads

    cases = list(CASES) + [(n, (lambda n_: lambda o, a, b: _fl(o)[n_](a, b))(n), (lambda n_: lambda d: list(
        _field_data(n_, d)))(n), (1,) if n != "f1_metric" else ()) for n in FIELD]
    with _precision("float64"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fn, inputs, grad_idx in cases:
            arrays = inputs("float64")
            cpu_v, cpu_g = run(fn, arrays, grad_idx, "cpu")
            gpu_v, gpu_g = run(fn, arrays, grad_idx, "cuda")
            for a, b in zip(gpu_v, cpu_v):
                assert a.dtype == b.dtype, name
                _, why = _err(a, b, 1e-12, 1e-15)
                assert not why, f"{name}: {why}"
            for a, b in zip(gpu_g, cpu_g):
                assert (a is None) == (b is None), name
                if a is not None:
                    _, why = _err(a, b, 1e-10, 1e-13, zero_set=True)
                    assert not why, f"{name} gradient: {why}"
    print(f"{len(cases)} cases on CUDA like the CPU")

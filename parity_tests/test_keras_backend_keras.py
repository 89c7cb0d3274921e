"""``torch_impl.keras_backend`` against Keras 3.15.1's legacy backend (``tf.keras.backend``, the ``K`` of Keras 2
era field code), on TensorFlow 2.21.

1. Every function, one case per edge (exact 0/1 probabilities, values at the clip bounds, ties, NaN, negative and
   empty axes, ``axis=[]``, keepdims, out-of-range ids): the value (dtype and shape included) and the gradient of
   ``sum(out * c)`` for a cotangent ``c`` with exact zeros (``tf.GradientTape`` against ``torch.autograd``), in
   float32 and float64. Standards: float64 values 1e-12 and gradients 1e-10 relative, float32 rtol 1e-5 atol 1e-6;
   NaN, inf and the set of zero gradients identical.
2. Fifteen losses and a metric as pasted from the field (focal, weighted BCE, Keras 2's own BCE, dice, focal
   Tversky, Jaccard, contrastive with its ``euclidean_distance``, triplet, smooth L1, weighted and focal
   categorical crossentropy, a masked sparse crossentropy, Pearson and CCC losses, f1), written once against a
   ``K`` parameter: Keras's module or ours, nothing else changes. Values and gradients on inputs with saturated
   probabilities and exact ties at the margins, float64 and float32.
3. The same source with ``K.x`` replaced by the torch function a port reaches for (``naive``), to show what the
   port is for: the figures of the error.
4. Three Adam steps of ``model.fit`` (one batch per epoch) against ``torch_impl.fit`` from the same weights.

Keras quirks found (each pinned by a case here, the figures are Keras's):

* ``K.binary_crossentropy`` clips AND adds ``eps`` inside both logs, and (unlike Keras 2) never uses the logits
  behind a sigmoid: a sure wrong prediction costs 15.4249 (float32: 15.3332 for a wrong "1", as ``1 - 1e-7`` rounds
  to ``1 - 1.19e-7``); ``F.binary_cross_entropy`` gives 100. At p = 0.5 the ``+ eps`` moves the loss by 2.9e-7
  relative (float64).
* ``K.sparse_categorical_crossentropy`` truncates float labels (1.9 is class 1); ``K.categorical_crossentropy``
  renormalises by the sum over ``axis``; neither looks for the logits behind a softmax.
* ``K.clip(x, 0.6, 0.4)`` is 0.6 everywhere (``torch.clamp``: 0.4); ``None`` bounds are infinite; gradient 1 at
  both bounds, 0 at NaN.
* ``K.maximum``/``K.minimum``: the gradient of a tie goes whole to the first argument (``torch.maximum``: half
  each; ``F.relu``: none); with a NaN the value is NaN and the gradient goes to the other argument.
* ``K.sqrt`` is ``sqrt(maximum(x, 0))``: 0 for negatives with gradient 0; gradient ``inf`` at 0 unless the
  incoming gradient is 0, then 0 (torch: NaN). ``K.pow(0, 0.5)`` has gradient NaN in the same place (no guard).
* ``K.cumprod``'s gradient is 0 at a zero entry (``div_no_nan``): [2, 0, 3, 4] gives 0, not 32.
* ``K.std``/``K.var``: population (``torch.std``: N - 1); of booleans float32; of integers ``TypeError``.
  ``K.mean`` of int32 [-1, -2, -2] is -1 (truncated); of booleans floatx.
* Reductions with ``axis=[]`` return ``x`` (torch reduces everything); over an empty axis max is -inf, min inf,
  mean NaN, sum 0; ``K.max`` ties share the gradient.
* ``K.argmax`` ignores NaN ([nan, 5, 5] gives 1; torch 0); ``K.one_hot`` is float32 with zero rows for ids out of
  range; ``K.in_top_k`` is False for any row holding a non-finite score.
* ``K.switch`` with a rank-1 condition broadcasts it against the LAST axis (Keras 2 picked rows); rank >= 2
  conditions get trailing axes; a scalar condition calls only the chosen branch.
* ``K.relu(x, max_value=6)`` is relu6 (gradient 0 at 6), ``max_value=5`` a clip (gradient 1 at 5);
  ``K.hard_sigmoid`` is ``0.2 x + 0.5`` clipped (torch: ``x / 6 + 0.5``); ``K.l2_normalize`` defaults to all axes
  and ``rsqrt(max(sum sq, 1e-12))``.
* ``K.cast_to_floatx(0.1)`` is a float32 value (in a float64 product: 0.10000000149011612); ``K.variable`` and
  ``K.constant`` are floatx, and multiplying them into a float64 tensor raises in TensorFlow.
* ``K.logsumexp`` (Keras 2) is gone from Keras 3's legacy backend; ours is ``tf.reduce_logsumexp``.
* ``K.relu(x, alpha=0.1)`` (``tf.nn.leaky_relu``) holds alpha as a float32 attribute: in float64 the negative side
  is ``float32(0.1) * x``, 1.5e-8 relative off ``0.1 * x``.
* ``K.softmax`` keeps its logits: ``keras.losses.categorical_crossentropy(y, K.softmax(z))`` gives 102.0 where
  ``K.categorical_crossentropy(y, K.softmax(z))`` stops at ``-log(1e-7) = 16.118`` (the same row).
* ``tf.maximum(-0., 0.)`` is ``+0.`` in TensorFlow's vectorised kernel (the value of a tie is the second
  argument's), ``-0.`` in its scalar tail: ``K.sqrt(-0.)`` has gradient ``+inf``; ``1 / K.clip(-0., 0., 1.)`` is
  ``+inf``.
* Booleans: ``K.sum``/``prod``/``max``/``min``/``cumsum``/``cumprod`` raise (torch's ``sum`` of booleans is an
  integer count, its ``max`` a boolean), ``K.mean``/``std``/``var`` cast them to floatx.
* Loss sources that write ``y_pred /= K.sum(...)`` (wassname's weighted CCE, umbertogriffo's categorical focal)
  run in place in torch: autograd raises at ``backward`` on a model output (loud); the ports here write
  ``y_pred = y_pred / ...``.
"""

from __future__ import annotations

import doctest
import math
import time
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from parity_tests.grid import every_nth  # noqa: E402
from parity_tests.test_field_scripts_round2 import _precision  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import keras_backend as TK  # noqa: E402
from torch_impl.nn import keras_init_  # noqa: E402

KK = tf.keras.backend  # ``from tensorflow.keras import backend as K`` in Keras 3.15.1: keras/src/legacy/backend.py

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

TOL = {  # (rtol, atol) for values, then for gradients
    "float64": ((1e-12, 1e-15), (1e-10, 1e-13)),
    "float32": ((1e-5, 1e-6), (1e-5, 1e-6)),
}
DTYPES = ["float64", "float32"]


# --------------------------------------------------------------------------------------------------------------
# comparison
# --------------------------------------------------------------------------------------------------------------


def _err(ours: np.ndarray, ref: np.ndarray, rtol: float, atol: float, zero_set: bool = False) -> tuple[float, str]:
    """(largest relative error, '' or why it fails). NaN and inf must sit in the same places; with ``zero_set``
    the exact zeros too (the clipped entries of a gradient)."""
    ours, ref = np.asarray(ours), np.asarray(ref)
    if ours.shape != ref.shape:
        return math.inf, f"shape {ours.shape} != {ref.shape}"
    if ref.dtype.kind not in "fc":
        return (0.0, "") if np.array_equal(ours, ref) else (math.inf, f"{ours} != {ref}")
    if not np.array_equal(np.isnan(ours), np.isnan(ref)):
        return math.inf, "NaN positions differ"
    inf_ref, inf_ours = np.isinf(ref), np.isinf(ours)
    if not np.array_equal(inf_ref, inf_ours) or not np.array_equal(ours[inf_ref], ref[inf_ref]):
        return math.inf, "inf positions differ"
    if zero_set and not np.array_equal(ours == 0, ref == 0):
        return math.inf, f"zero gradients differ at {np.argwhere((ours == 0) != (ref == 0))[:4].tolist()}"
    fin = np.isfinite(ref)
    a, b = ours[fin].astype(np.float64), ref[fin].astype(np.float64)
    if a.size == 0:
        return 0.0, ""
    d = np.abs(a - b)
    with np.errstate(over="ignore"):
        rel = float(np.max(d / np.maximum(np.abs(b), 1e-300)))
    bad = d > atol + rtol * np.abs(b)
    return rel if np.any(b != 0) else float(np.max(d)), ("" if not np.any(bad) else f"max abs {np.max(d):.2e}")


def _cotangent(shape, dt: str, seed: int = 7) -> np.ndarray:
    """The incoming gradient: U(0.5, 1.5) with an exact 0 in every fifth place (the fifth, tenth...)."""
    c = np.random.default_rng(seed).uniform(0.5, 1.5, size=shape).astype(dt)
    c.reshape(-1)[4::5] = 0
    return c


def _flat(out) -> list:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _keras_side(fn, module, arrays, grad_idx):
    ins = [tf.Variable(a) if i in grad_idx else tf.constant(a) for i, a in enumerate(arrays)]
    with tf.GradientTape() as tape:
        outs = _flat(fn(module, *ins))
        terms = [tf.reduce_sum(o * _cotangent(o.shape, o.dtype.name, seed=7 + k)) for k, o in enumerate(outs)
                 if isinstance(o, tf.Tensor) and o.dtype.is_floating]
        s = tf.add_n(terms) if terms and grad_idx else None
    grads = []
    if s is not None:
        gs = tape.gradient(s, [ins[i] for i in grad_idx])
        grads = [np.zeros(arrays[i].shape, arrays[i].dtype) if g is None else tf.convert_to_tensor(g).numpy()
                 for i, g in zip(grad_idx, gs)]
    return outs, grads


def _torch_side(fn, module, arrays, grad_idx):
    ins = [torch.tensor(a, requires_grad=i in grad_idx) for i, a in enumerate(arrays)]
    outs = _flat(fn(module, *ins))
    grads = []
    terms = [(o * torch.from_numpy(_cotangent(tuple(o.shape), str(o.dtype)[6:], seed=7 + k))).sum()
             for k, o in enumerate(outs) if isinstance(o, torch.Tensor) and o.is_floating_point()]
    if terms and grad_idx:
        s = sum(terms)
        if s.requires_grad:
            s.backward()
        grads = [np.zeros(arrays[i].shape, arrays[i].dtype) if ins[i].grad is None else ins[i].grad.numpy()
                 for i in grad_idx]
    return outs, grads


def compare(name: str, fn, arrays, grad_idx=(0,), dt: str = "float64", zero_set: bool = True,
            modules=None) -> tuple[float, float]:
    """Run ``fn(K, *inputs)`` with Keras's module and ours (``modules``: the pair, Keras's legacy ``K`` and
    ``torch_impl.keras_backend`` by default); assert each output's value (dtype too) and the gradients of
    ``sum(out * c)``; print and return the largest relative errors."""
    keras_module, torch_module = modules if modules is not None else (KK, TK)
    (vr, va), (gr, ga) = TOL[dt]
    k_outs, k_grads = _keras_side(fn, keras_module, arrays, grad_idx)
    t_outs, t_grads = _torch_side(fn, torch_module, arrays, grad_idx)
    assert len(k_outs) == len(t_outs), f"{name}: {len(t_outs)} outputs, Keras {len(k_outs)}"
    v_err = 0.0
    for k_out, t_out in zip(k_outs, t_outs):
        k_val = k_out.numpy() if hasattr(k_out, "numpy") else np.asarray(k_out)
        t_val = t_out.detach().numpy() if isinstance(t_out, torch.Tensor) else np.asarray(t_out)
        assert str(t_val.dtype) == str(k_val.dtype), f"{name}: dtype {t_val.dtype} vs Keras {k_val.dtype}"
        e, why = _err(t_val, k_val, vr, va)
        assert not why, f"{name} {dt} value: {why}\nours {t_val}\nKeras {k_val}"
        v_err = max(v_err, e)
    g_err = 0.0
    for i, (tg, kg) in enumerate(zip(t_grads, k_grads)):
        # float32: the absolute floor scales with the gradient's size, since an entry that sums cancelling terms
        # (a convolution's input gradient) carries rounding from its largest terms, whose order TensorFlow's
        # kernels choose by CPU (1e-6 x 43 for a separable conv whose entries reach 43, seen on an AMD EPYC)
        fin = np.abs(kg[np.isfinite(kg)]) if np.size(kg) else np.zeros(1)
        scale = max(1.0, float(np.max(fin))) if dt == "float32" and fin.size else 1.0
        e, why = _err(tg, kg, gr, ga * scale, zero_set=zero_set)
        assert not why, f"{name} {dt} gradient of input {grad_idx[i]}: {why}\nours {tg}\nKeras {kg}"
        g_err = max(g_err, e)
    print(f"{name:52s} {dt}  value {v_err:.1e}  grad {g_err:.1e}")
    return v_err, g_err


# --------------------------------------------------------------------------------------------------------------
# 1. the functions
# --------------------------------------------------------------------------------------------------------------

nan, inf = np.nan, np.inf


def _x(dt, shape=(3, 8), seed=0):
    """Normal values with edges in the first row: 0, -0, +-1, +-2.5, 6, 1e-7."""
    x = np.random.default_rng(seed).normal(size=shape)
    flat = x.reshape(-1)
    edges = [0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 6.0, 1e-7]
    flat[:len(edges)] = edges[:flat.size]
    return x.astype(dt)


def _p(dt, shape=(4, 6), seed=1):
    """Probabilities with 0, 1, eps and 1 - eps (in ``dt``), 0.5 and 1e-9 in the first row."""
    p = np.random.default_rng(seed).uniform(0.01, 0.99, size=shape).astype(dt)
    eps = np.asarray(1e-7, dt)
    edges = [0.0, 1.0, eps, np.asarray(1, dt) - eps, 0.5, 1e-9]
    p.reshape(-1)[:len(edges)] = edges[:p.size]
    return p


def _y(shape=(4, 6), seed=2, dt="float64"):
    return (np.random.default_rng(seed).uniform(size=shape) < 0.5).astype(dt)


def _ties(dt):
    x = _x(dt)
    y = np.random.default_rng(3).normal(size=x.shape).astype(dt)
    y[:, ::2] = x[:, ::2]  # every other column ties
    return x, y


def _nan(dt):
    return np.array([nan, 0.0, -1.0, 2.0, -0.0, inf, -inf, 3.0], dt)


def _onehot(n, c, seed=4, dt="float64"):
    return np.eye(c, dtype=dt)[np.random.default_rng(seed).integers(0, c, n)]


# (id, fn(K, *inputs), inputs(dt) -> list of arrays, indices of inputs to differentiate)
CASES = [
    # element-wise
    ("abs", lambda K, x: K.abs(x), lambda d: [_x(d)], (0,)),
    ("abs nan", lambda K, x: K.abs(x), lambda d: [_nan(d)], (0,)),
    ("sign nan", lambda K, x: K.sign(x), lambda d: [_nan(d)], (0,)),
    ("round half to even", lambda K, x: K.round(x), lambda d: [np.array([0.5, 1.5, 2.5, -0.5, -1.5, 0.49], d)], (0,)),
    ("square", lambda K, x: K.square(x), lambda d: [_x(d)], (0,)),
    ("sqrt negatives, 0", lambda K, x: K.sqrt(x), lambda d: [_x(d)], (0,)),
    ("sqrt nan", lambda K, x: K.sqrt(x), lambda d: [_nan(d)], (0,)),
    ("exp", lambda K, x: K.exp(x), lambda d: [_x(d)], (0,)),
    ("log of |x| (0 included)", lambda K, x: K.log(K.abs(x)), lambda d: [_x(d)], (0,)),
    ("pow 2.0", lambda K, x: K.pow(x, 2.0), lambda d: [_x(d)], (0,)),
    ("pow int 3", lambda K, x: K.pow(x, 3), lambda d: [_x(d)], (0,)),
    ("pow 0.5 at 0", lambda K, x: K.pow(K.abs(x), 0.5), lambda d: [_x(d)], (0,)),
    ("pow 0.0 at 0", lambda K, x: K.pow(x, 0.0), lambda d: [_x(d)], (0,)),
    ("pow tensor exponent", lambda K, x, a: K.pow(x, a),
     lambda d: [np.abs(_x(d)), np.random.default_rng(5).uniform(-1, 2, (3, 8)).astype(d)], (0, 1)),
    ("pow tensor exponent, negative base", lambda K, x, a: K.pow(x, a),
     lambda d: [np.array([-2.0, 0.0, 3.0], d), np.array([2.0, 2.0, 0.5], d)], (0, 1)),
    ("sin", lambda K, x: K.sin(x), lambda d: [_x(d)], (0,)),
    ("cos", lambda K, x: K.cos(x), lambda d: [_x(d)], (0,)),
    ("tanh", lambda K, x: K.tanh(x), lambda d: [_x(d)], (0,)),
    ("sigmoid (+-100)", lambda K, x: K.sigmoid(x), lambda d: [np.concatenate([_x(d).ravel(), [-100, 100, 40]])
                                                               .astype(d)], (0,)),
    ("hard_sigmoid at +-2.5", lambda K, x: K.hard_sigmoid(x), lambda d: [_x(d)], (0,)),
    ("softplus", lambda K, x: K.softplus(x), lambda d: [np.concatenate([_x(d).ravel(), [-50, 50, -15, 15]])
                                                         .astype(d)], (0,)),
    ("softsign", lambda K, x: K.softsign(x), lambda d: [_x(d)], (0,)),
    ("relu", lambda K, x: K.relu(x), lambda d: [_x(d)], (0,)),
    ("relu alpha (leaky)", lambda K, x: K.relu(x, alpha=0.1), lambda d: [_x(d)], (0,)),
    ("relu max_value=6 (relu6)", lambda K, x: K.relu(x, max_value=6), lambda d: [_x(d)], (0,)),
    ("relu max_value=2.5 (clip)", lambda K, x: K.relu(x, max_value=2.5), lambda d: [_x(d)], (0,)),
    ("relu max_value=-1", lambda K, x: K.relu(x, max_value=-1.0), lambda d: [_x(d)], (0,)),
    ("relu threshold=1", lambda K, x: K.relu(x, threshold=1.0), lambda d: [_x(d)], (0,)),
    ("relu alpha, max_value, threshold", lambda K, x: K.relu(x, alpha=0.2, max_value=2.5, threshold=1.0),
     lambda d: [_x(d)], (0,)),
    ("relu alpha, max_value", lambda K, x: K.relu(x, alpha=0.2, max_value=2.5), lambda d: [_x(d)], (0,)),
    ("elu", lambda K, x: K.elu(x), lambda d: [_x(d)], (0,)),
    ("elu alpha=0.5", lambda K, x: K.elu(x, alpha=0.5), lambda d: [_x(d)], (0,)),
    ("softmax", lambda K, x: K.softmax(x), lambda d: [_x(d)], (0,)),
    ("softmax axis=0", lambda K, x: K.softmax(x, axis=0), lambda d: [_x(d)], (0,)),
    ("softmax axis=(0, 1)", lambda K, x: K.softmax(x, axis=(0, 1)), lambda d: [_x(d)], (0,)),
    ("keras.losses CCE of K.softmax: its logits", None,
     lambda d: [np.eye(8, dtype=d)[np.argmin(_x(d), 1)], _x(d) * 12], (0, 1)),  # least likely class: past the clip
    ("K.categorical_crossentropy of K.softmax: clipped", lambda K, y, z: K.categorical_crossentropy(y, K.softmax(z)),
     lambda d: [np.eye(8, dtype=d)[np.argmin(_x(d), 1)], _x(d) * 12], (0, 1)),
    ("clip eps, 1 - eps at the bounds", lambda K, p: K.clip(p, K.epsilon(), 1.0 - K.epsilon()), lambda d: [_p(d)],
     (0,)),
    ("clip min > max (0.6, 0.4)", lambda K, p: K.clip(p, 0.6, 0.4), lambda d: [_p(d)], (0,)),
    ("clip min = max = x", lambda K, p: K.clip(p, 0.5, 0.5), lambda d: [_p(d)], (0,)),
    ("clip None, 0.4", lambda K, p: K.clip(p, None, 0.4), lambda d: [_p(d)], (0,)),
    ("clip -1, None", lambda K, x: K.clip(x, -1, None), lambda d: [_x(d)], (0,)),
    ("clip int bounds on floats", lambda K, x: K.clip(x, 0, 1), lambda d: [_x(d)], (0,)),
    ("clip -0. at a 0. bound, then 1/x", lambda K, x: 1.0 / K.clip(x, 0.0, 1.0), lambda d: [_nan(d)], (0,)),
    ("maximum(-0., 0.) then 1/x", lambda K, x: 1.0 / K.maximum(x, 0.0), lambda d: [_nan(d)], (0,)),
    ("clip nan", lambda K, x: K.clip(x, -1.0, 1.0), lambda d: [_nan(d)], (0,)),
    ("clip tensor bounds", lambda K, x, lo, hi: K.clip(x, lo, hi),
     lambda d: [_x(d), np.full((3, 8), -1.0, d), np.array(1.0, d)], (0, 1, 2)),
    ("clip tensor bounds min > max", lambda K, x, lo, hi: K.clip(x, lo, hi),
     lambda d: [_x(d), np.array(1.0, d), np.array(-1.0, d)], (0, 1, 2)),
    ("clip ints", lambda K, x: K.clip(x, 2, 6), lambda d: [np.array([1, 5, 9], np.int32)], ()),
    ("maximum ties", lambda K, x, y: K.maximum(x, y), _ties, (0, 1)),
    ("minimum ties", lambda K, x, y: K.minimum(x, y), _ties, (0, 1)),
    ("maximum(x, 0)", lambda K, x: K.maximum(x, 0.0), lambda d: [_x(d)], (0,)),
    ("maximum(0., x): the tie to the constant", lambda K, x: K.maximum(0.0, x), lambda d: [_x(d)], (0,)),
    ("minimum(x, 1)", lambda K, x: K.minimum(x, 1), lambda d: [_x(d)], (0,)),
    ("maximum broadcast (3, 8) (8,)", lambda K, x, y: K.maximum(x, y),
     lambda d: [_ties(d)[0], _ties(d)[0][0].copy()], (0, 1)),
    ("maximum nan", lambda K, x, y: K.maximum(x, y), lambda d: [_nan(d), _nan(d)[::-1].copy()], (0, 1)),
    ("minimum nan", lambda K, x, y: K.minimum(x, y), lambda d: [_nan(d), _nan(d)[::-1].copy()], (0, 1)),
    ("maximum(sum, eps) (euclidean_distance)", lambda K, x: K.maximum(K.sum(K.square(x), axis=1, keepdims=True),
                                                                      K.epsilon()),
     lambda d: [np.vstack([np.zeros((1, 8)), _x(d)[1:], np.full((1, 8), 1e-4)]).astype(d)], (0,)),
    ("equal", lambda K, x, y: K.equal(x, y), _ties, ()),
    ("not_equal", lambda K, x, y: K.not_equal(x, y), _ties, ()),
    ("greater", lambda K, x, y: K.greater(x, y), _ties, ()),
    ("greater_equal", lambda K, x, y: K.greater_equal(x, y), _ties, ()),
    ("less", lambda K, x, y: K.less(x, y), _ties, ()),
    ("less_equal", lambda K, x: K.less_equal(x, 0.0), lambda d: [_x(d)], ()),
    ("equal(y, 1) on labels", lambda K, y: K.equal(y, 1), lambda d: [_y(dt=d)], ()),
    ("switch elementwise", lambda K, x, y: K.switch(K.greater(x, y), x * 2.0, y - 1.0), _ties, (0, 1)),
    ("switch rank-1 condition: last axis", lambda K, x, y: K.switch(K.greater(x[0], 0.0), x, y), _ties, (0, 1)),
    ("switch rank-2 condition, rank-3 branches", lambda K, x, y: K.switch(K.greater(x[:, :2], 0.0),
                                                                          K.reshape(x, (3, 2, 4)),
                                                                          K.reshape(y, (3, 2, 4))), _ties, (0, 1)),
    ("switch scalar condition, callables", lambda K, x, y: K.switch(K.greater(K.sum(x), 100.0), lambda: x * 2.0,
                                                                    lambda: y * 3.0), _ties, (0, 1)),
    ("switch float condition", lambda K, x, y: K.switch(x, x, y), _ties, (0, 1)),
    ("switch nan in the branch not taken", lambda K, x: K.switch(x > 0, K.log(K.abs(x) + 1.0), K.sqrt(x)),
     lambda d: [_x(d)], (0,)),
    # reductions
    *[(f"{op} axis={ax!r} keepdims={kd}",
       (lambda op_, ax_, kd_: lambda K, x: getattr(K, op_)(x, axis=ax_, keepdims=kd_))(op, ax, kd),
       lambda d: [_x(d, (2, 3, 4))], (0,))
      for op in ("sum", "mean", "max", "min", "prod", "std", "var")
      for ax, kd in ((None, False), (None, True), (0, False), (-1, True), ((0, 2), False), ([1, -1], True),
                     ([], False), (-3, False))],
    ("max ties share the gradient", lambda K, x: K.max(x, axis=-1), lambda d: [np.array([[2, 3, 3, 1], [5, 5, 5, 5]],
                                                                                         d)], (0,)),
    ("min ties", lambda K, x: K.min(x), lambda d: [np.array([[2, 1, 3, 1]], d)], (0,)),
    ("max nan", lambda K, x: K.max(x, axis=-1), lambda d: [np.array([[nan, 1.0], [1.0, nan], [2.0, 1.0]], d)], (0,)),
    ("sum of an empty axis", lambda K, x: K.sum(x, axis=0), lambda d: [np.zeros((0, 3), d)], (0,)),
    ("mean of an empty axis", lambda K, x: K.mean(x, axis=0), lambda d: [np.zeros((0, 3), d)], (0,)),
    ("max of an empty axis", lambda K, x: K.max(x, axis=0), lambda d: [np.zeros((0, 3), d)], (0,)),
    ("min of an empty axis", lambda K, x: K.min(x, axis=0, keepdims=True), lambda d: [np.zeros((0, 3), d)], (0,)),
    ("mean of booleans (floatx)", lambda K, x: K.mean(K.greater(x, 0.0), axis=-1), lambda d: [_x(d)], ()),
    ("mean of int32 (truncated)", lambda K, x: K.mean(x), lambda d: [np.array([-1, -2, -2], np.int32)], ()),
    ("mean of int32 axis 0", lambda K, x: K.mean(x, axis=0), lambda d: [np.array([[1, 2], [3, 5]], np.int32)], ()),
    ("sum of int32", lambda K, x: K.sum(x, axis=-1), lambda d: [np.array([[1, 2], [3, 5]], np.int32)], ()),
    ("std of booleans", lambda K, x: K.std(K.greater(x, 0.0)), lambda d: [_x(d)], ()),
    ("std of a constant (NaN gradient)", lambda K, x: K.std(x, axis=-1), lambda d: [np.array([[2.0, 2, 2], [1, 2, 4]],
                                                                                               d)], (0,)),
    ("var of a constant", lambda K, x: K.var(x, axis=-1), lambda d: [np.array([[2.0, 2, 2], [1, 2, 4]], d)], (0,)),
    ("any", lambda K, x: K.any(x, axis=-1), lambda d: [np.array([[0.0, 0.5], [0, 0]], d)], ()),
    ("all keepdims", lambda K, x: K.all(x, axis=0, keepdims=True), lambda d: [np.array([[1.0, 2], [0, 1]], d)], ()),
    ("any of everything", lambda K, x: K.any(x), lambda d: [np.array([[0.0, 0], [0, 0]], d)], ()),
    ("argmax ties", lambda K, x: K.argmax(x), lambda d: [np.array([[1, 3, 3], [2, 2, 2]], d)], ()),
    ("argmax nan", lambda K, x: K.argmax(x), lambda d: [np.array([[nan, 5, 5], [3, nan, 2], [nan, nan, nan],
                                                                  [nan, -inf, -inf], [inf, nan, 1]], d)], ()),
    ("argmin nan", lambda K, x: K.argmin(x, axis=-1), lambda d: [np.array([[nan, 5, 5], [3, nan, 2], [nan, -inf, 0]],
                                                                           d)], ()),
    ("argmax axis 0", lambda K, x: K.argmax(x, axis=0), lambda d: [_x(d)], ()),
    ("logsumexp (tf.reduce_logsumexp)", None, lambda d: [np.array([[-inf, -inf, 1], [inf, 1, 2], [1, 2, 3],
                                                                   [-inf, -inf, -inf]], d)], (0,)),
    ("logsumexp keepdims", None, lambda d: [_x(d)], (0,)),
    ("cumsum", lambda K, x: K.cumsum(x, axis=1), lambda d: [_x(d)], (0,)),
    ("cumprod zeros (div_no_nan)", lambda K, x: K.cumprod(x, axis=0), lambda d: [np.array([2.0, 0.0, 3.0, 4.0], d)],
     (0,)),
    ("cumprod axis -1", lambda K, x: K.cumprod(x, axis=-1), lambda d: [_x(d)], (0,)),
    ("l2_normalize all axes (default)", lambda K, x: K.l2_normalize(x), lambda d: [_x(d)], (0,)),
    ("l2_normalize axis -1, zero row", lambda K, x: K.l2_normalize(x, axis=-1),
     lambda d: [np.vstack([np.zeros((1, 8)), _x(d)[1:]]).astype(d)], (0,)),
    ("l2_normalize tiny row (1e-7)", lambda K, x: K.l2_normalize(x, axis=1),
     lambda d: [np.array([[1e-7, 0.0], [3, 4]], d)], (0,)),
    ("in_top_k", lambda K, p, t: K.in_top_k(p, t, 2),
     lambda d: [np.array([[1, inf, 0], [1, 2, 0], [1, 2, 3], [3, 3, 3], [1, 2, 2], [nan, 1, 2]], np.float32),
                np.array([0, 2, 5, 2, 0, 2], np.int32)], ()),
    # shapes
    ("flatten", lambda K, x: K.flatten(x) * 2.0, lambda d: [_x(d, (2, 3, 4))], (0,)),
    ("batch_flatten", lambda K, x: K.batch_flatten(x), lambda d: [_x(d, (2, 3, 4))], (0,)),
    ("batch_flatten (N,)", lambda K, x: K.batch_flatten(x), lambda d: [_x(d, (8,))], (0,)),
    ("reshape", lambda K, x: K.reshape(x, (4, -1)), lambda d: [_x(d)], (0,)),
    ("expand_dims", lambda K, x: K.expand_dims(x), lambda d: [_x(d)], (0,)),
    ("expand_dims 0", lambda K, x: K.expand_dims(x, 0), lambda d: [_x(d)], (0,)),
    ("squeeze", lambda K, x: K.squeeze(x, -1), lambda d: [_x(d, (3, 8, 1))], (0,)),
    ("concatenate axis -1", lambda K, x, y: K.concatenate([x, y]), _ties, (0, 1)),
    ("concatenate axis 0", lambda K, x, y: K.concatenate([x, y], axis=0), _ties, (0, 1)),
    ("stack", lambda K, x, y: K.stack([x, y], axis=1), _ties, (0, 1)),
    ("permute_dimensions", lambda K, x: K.permute_dimensions(x, (2, 0, 1)), lambda d: [_x(d, (2, 3, 4))], (0,)),
    ("transpose (all axes)", lambda K, x: K.transpose(x), lambda d: [_x(d, (2, 3, 4))], (0,)),
    ("tile", lambda K, x: K.tile(x, (2, 3)), lambda d: [_x(d)], (0,)),
    ("tile int on 1-D", lambda K, x: K.tile(x, 2), lambda d: [_x(d, (8,))], (0,)),
    ("repeat", lambda K, x: K.repeat(x, 3), lambda d: [_x(d)], (0,)),
    ("repeat_elements", lambda K, x: K.repeat_elements(x, 2, axis=1), lambda d: [_x(d)], (0,)),
    ("reverse", lambda K, x: K.reverse(x, 1), lambda d: [_x(d)], (0,)),
    ("reverse axes", lambda K, x: K.reverse(x, [0, 1]), lambda d: [_x(d)], (0,)),
    ("gather", lambda K, x, i: K.gather(x, i), lambda d: [_x(d), np.array([2, 0, 2], np.int32)], (0,)),
    ("gather 2-D indices", lambda K, x, i: K.gather(x, i), lambda d: [_x(d), np.array([[2, 0], [1, 1]], np.int64)],
     (0,)),
    ("one_hot out of range", lambda K, i: K.one_hot(i, 3), lambda d: [np.array([0, 2, -1, 3, 1], np.int32)], ()),
    ("one_hot 2-D int64", lambda K, i: K.one_hot(i, 4), lambda d: [np.array([[0, 3], [1, 1]], np.int64)], ()),
    ("dot 2-D", lambda K, x, y: K.dot(x, y), lambda d: [_x(d), _x(d, (8, 5), 9)], (0, 1)),
    ("dot 3-D . 3-D", lambda K, x, y: K.dot(x, y), lambda d: [_x(d, (2, 3, 4)), _x(d, (5, 4, 6), 9)], (0, 1)),
    ("dot 3-D . 2-D", lambda K, x, y: K.dot(x, y), lambda d: [_x(d, (2, 3, 4)), _x(d, (4, 6), 9)], (0, 1)),
    ("batch_dot axes=1 (N, D)", lambda K, x, y: K.batch_dot(x, y, axes=1), _ties, (0, 1)),
    ("batch_dot 3-D default", lambda K, x, y: K.batch_dot(x, y), lambda d: [_x(d, (2, 3, 4)), _x(d, (2, 4, 5), 9)],
     (0, 1)),
    ("batch_dot (2, 3) (2, 3, 4)", lambda K, x, y: K.batch_dot(x, y), lambda d: [_x(d, (2, 3)), _x(d, (2, 3, 4), 9)],
     (0, 1)),
    ("batch_dot axes (2, 1)", lambda K, x, y: K.batch_dot(x, y, axes=(2, 1)),
     lambda d: [_x(d, (2, 3, 4)), _x(d, (2, 4, 5), 9)], (0, 1)),
    ("batch_dot 4-D", lambda K, x, y: K.batch_dot(x, y, axes=(3, 1)),
     lambda d: [_x(d, (2, 3, 2, 4)), _x(d, (2, 4, 3, 2), 9)], (0, 1)),
    ("stop_gradient", lambda K, x: K.stop_gradient(x) * x, lambda d: [_x(d)], (0,)),
    # conversions and constructors
    ("cast float -> int32 (truncation)", lambda K, x: K.cast(x * 3.0, "int32"), lambda d: [_x(d)], ()),
    ("cast float -> float (gradient passes)", lambda K, x: K.cast(x, "float64") * K.cast(x, "float64"),
     lambda d: [_x(d)], (0,)),
    ("cast bool -> floatx", lambda K, x: K.cast(K.greater(x, 0.0), K.floatx()), lambda d: [_x(d)], ()),
    ("cast_to_floatx tensor", lambda K, x: K.cast_to_floatx(x), lambda d: [_x(d)], (0,)),
    ("cast_to_floatx(0.1) times x", lambda K, x: x * K.cast_to_floatx(0.1), lambda d: [_x(d)], (0,)),
    ("ones_like", lambda K, x: K.ones_like(x) * x, lambda d: [_x(d)], (0,)),
    ("zeros_like int32", lambda K, x: K.zeros_like(x, dtype="int32"), lambda d: [_x(d)], ()),
    ("constant floatx", lambda K: K.constant([1.0, 2.5]), lambda d: [], ()),
    ("constant fills shape", lambda K: K.constant(3.0, shape=(2, 2)), lambda d: [], ()),
    ("constant reshapes", lambda K: K.constant([1.0, 2, 3, 4], shape=(2, 2), dtype="float64"), lambda d: [], ()),
    ("variable floatx", lambda K: K.variable(np.array([0.5, 2.0])) * 1.0, lambda d: [], ()),
    ("ones", lambda K: K.ones((2, 3)) * 1.0, lambda d: [], ()),
    ("zeros int32", lambda K: K.zeros((2,), dtype="int32") + 0, lambda d: [], ()),
    ("eye", lambda K: K.eye(3) * 1.0, lambda d: [], ()),
    ("arange(5)", lambda K: K.arange(5), lambda d: [], ()),
    ("arange(-3) empty", lambda K: K.arange(-3), lambda d: [], ()),
    ("arange(5, 1, -2)", lambda K: K.arange(5, 1, -2), lambda d: [], ()),
    ("arange(2.5) float32", lambda K: K.arange(0, 2.5, 0.5, dtype="float32"), lambda d: [], ()),
    ("shape", lambda K, x: K.shape(x), lambda d: [_x(d, (2, 3, 4))], ()),
    # the crossentropies
    ("binary_crossentropy probs (0/1/eps edges)", lambda K, y, p: K.binary_crossentropy(y, p),
     lambda d: [_y(dt=d), _p(d)], (0, 1)),
    ("binary_crossentropy soft targets", lambda K, y, p: K.binary_crossentropy(y, p),
     lambda d: [np.random.default_rng(6).uniform(size=(4, 6)).astype(d), _p(d)], (0, 1)),
    ("binary_crossentropy broadcast (4,) (4, 1)", lambda K, y, p: K.binary_crossentropy(y, p),
     lambda d: [_y((4,), dt=d), _p(d, (4, 1))], (0, 1)),
    ("binary_crossentropy from_logits", lambda K, y, z: K.binary_crossentropy(y, z, from_logits=True),
     lambda d: [_y((3, 8), dt=d), _x(d) * 10], (0, 1)),
    ("binary_focal_crossentropy", lambda K, y, p: K.binary_focal_crossentropy(y, p), lambda d: [_y(dt=d), _p(d)],
     (0, 1)),
    ("binary_focal_crossentropy balanced, gamma 3", lambda K, y, p: K.binary_focal_crossentropy(
        y, p, apply_class_balancing=True, alpha=0.3, gamma=3.0), lambda d: [_y(dt=d), _p(d)], (0, 1)),
    ("binary_focal_crossentropy from_logits", lambda K, y, z: K.binary_focal_crossentropy(y, z, from_logits=True),
     lambda d: [_y((3, 8), dt=d), _x(d) * 10], (0, 1)),
    ("categorical_crossentropy unnormalised, zeros", lambda K, y, p: K.categorical_crossentropy(y, p),
     lambda d: [_onehot(4, 6, dt=d), _p(d) * 3.0], (0, 1)),
    ("categorical_crossentropy zero target row", lambda K, y, p: K.categorical_crossentropy(y, p),
     lambda d: [np.vstack([np.zeros((1, 6)), _onehot(3, 6)]).astype(d), _p(d)], (0, 1)),
    ("categorical_crossentropy from_logits", lambda K, y, z: K.categorical_crossentropy(y, z, from_logits=True),
     lambda d: [_onehot(3, 8, dt=d), _x(d) * 10], (0, 1)),
    ("categorical_crossentropy axis=1 of (2, 3, 4)", lambda K, y, p: K.categorical_crossentropy(y, p, axis=1),
     lambda d: [np.moveaxis(_onehot(8, 3), -1, 1).reshape(2, 4, 3).transpose(0, 2, 1).astype(d),
                _p(d, (2, 3, 4))], (0, 1)),
    ("categorical_crossentropy from_logits axis=1", lambda K, y, z: K.categorical_crossentropy(y, z, True, axis=1),
     lambda d: [_onehot(8, 3, dt=d).reshape(2, 4, 3).transpose(0, 2, 1).copy(), _x(d, (2, 3, 4))], (0, 1)),
    ("categorical_focal_crossentropy", lambda K, y, p: K.categorical_focal_crossentropy(y, p),
     lambda d: [_onehot(4, 6, dt=d), _p(d)], (0, 1)),
    ("categorical_focal_crossentropy alpha per class, logits", lambda K, y, z: K.categorical_focal_crossentropy(
        y, z, alpha=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], gamma=1.5, from_logits=True),
     lambda d: [_onehot(3, 8, dt=d), _x(d)], (0, 1)),
    ("sparse_categorical_crossentropy float labels 1.9, -0.5", lambda K, y, p: K.sparse_categorical_crossentropy(y, p),
     lambda d: [np.array([1.9, 0.2, -0.5, 5.0], d), _p(d)], (1,)),
    ("sparse_categorical_crossentropy (N, 1) labels", lambda K, y, p: K.sparse_categorical_crossentropy(y, p),
     lambda d: [np.array([[1], [0], [5], [3]], d), _p(d)], (1,)),
    ("sparse_categorical_crossentropy (N, T, 1) labels", lambda K, y, p: K.sparse_categorical_crossentropy(y, p),
     lambda d: [np.array([[[1], [0]], [[2], [2]]], d), _p(d, (2, 2, 3))], (1,)),
    ("sparse_categorical_crossentropy (N, T) labels", lambda K, y, p: K.sparse_categorical_crossentropy(y, p),
     lambda d: [np.array([[1, 0], [2, 2]], np.int32), _p(d, (2, 2, 3))], (1,)),
    ("sparse_categorical_crossentropy from_logits", lambda K, y, z: K.sparse_categorical_crossentropy(y, z, True),
     lambda d: [np.array([1, 0, 7], np.int64), _x(d) * 10], (1,)),
    ("sparse_categorical_crossentropy axis=1", lambda K, y, p: K.sparse_categorical_crossentropy(y, p, axis=1),
     lambda d: [np.array([[0, 1, 2, 0], [2, 2, 1, 0]], np.int32), _p(d, (2, 3, 4))], (1,)),
    ("sparse_categorical_crossentropy ignore_class=0", lambda K, y, p: K.sparse_categorical_crossentropy(
        y, p, ignore_class=0), lambda d: [np.array([1, 0, 5, 0], np.int32), _p(d)], (1,)),
    ("sparse_categorical_crossentropy ignore_class (N, T)", lambda K, y, p: K.sparse_categorical_crossentropy(
        y, p, ignore_class=2), lambda d: [np.array([[1, 2], [2, 0]], np.int32), _p(d, (2, 2, 3))], (1,)),
]


def _logsumexp(K, x, keepdims=False):
    if K is KK:  # Keras 3 dropped K.logsumexp: Keras 2's was tf.reduce_logsumexp
        return tf.reduce_logsumexp(x, axis=-1, keepdims=keepdims)
    return K.logsumexp(x, axis=-1, keepdims=keepdims)


def _cce_of_softmax(K, y, z):
    """``keras.losses.categorical_crossentropy(y, K.softmax(z))``: Keras's softmax output carries its logits and
    the loss uses them (saturated logits: no clip); ours too (``torch_impl.losses``)."""
    from torch_impl import losses as tl

    return (keras.losses if K is KK else tl).categorical_crossentropy(y, K.softmax(z))


_SPECIAL = {"keras.losses CCE of K.softmax: its logits": _cce_of_softmax,
            "logsumexp (tf.reduce_logsumexp)": lambda K, x: _logsumexp(K, x),
            "logsumexp keepdims": lambda K, x: _logsumexp(K, x, True)}


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_function_like_keras(case, dt):
    name, fn, inputs, grad_idx = case
    fn = fn or _SPECIAL[name]
    with _precision(dt):
        compare(name, fn, inputs(dt), grad_idx, dt)


def test_attributes_and_config_like_keras():
    x = np.zeros((2, 3, 4), np.float32)
    for f in ("int_shape", "ndim", "dtype", "count_params"):
        ours, ref = getattr(TK, f)(torch.from_numpy(x)), getattr(KK, f)(tf.Variable(x))
        print(f"K.{f}: {ours!r} (Keras {ref!r})")
        assert ours == ref
    assert TK.epsilon() == KK.epsilon() == 1e-7 and TK.floatx() == KK.floatx() == "float32"
    assert TK.image_data_format() == KK.image_data_format()
    v_t, v_k = TK.variable([1.0, 2.0]), KK.variable([1.0, 2.0])
    TK.set_value(v_t, [3, 4])
    KK.set_value(v_k, [3, 4])
    assert np.array_equal(TK.get_value(v_t), KK.get_value(v_k)) and TK.eval(v_t).dtype == KK.eval(v_k).dtype
    seq = np.arange(6.0, dtype=np.float32).reshape(3, 2)
    assert np.array_equal(TK.map_fn(lambda r: TK.sum(r), torch.from_numpy(seq)).numpy(),
                          KK.map_fn(lambda r: KK.sum(r), tf.constant(seq)).numpy())
    for fold in ("foldl", "foldr"):
        ours = getattr(TK, fold)(lambda a, b: a * 2 + b, torch.tensor([1.0, 2.0, 3.0]))
        ref = getattr(KK, fold)(lambda a, b: a * 2 + b, tf.constant([1.0, 2.0, 3.0]))
        assert float(ours) == float(ref), fold
    a, b = TK.stop_gradient([torch.ones(1, requires_grad=True), torch.ones(1, requires_grad=True)])
    assert not a.requires_grad and not b.requires_grad
    eps = TK.epsilon()
    try:
        TK.set_epsilon(1e-4)
        KK.set_epsilon(1e-4)
        p = np.array([0.0, 0.5, 1.0], np.float32)
        y = np.array([1.0, 1.0, 0.0], np.float32)
        ours = TK.binary_crossentropy(torch.from_numpy(y), torch.from_numpy(p)).numpy()
        ref = KK.binary_crossentropy(tf.constant(y), tf.constant(p)).numpy()
        print(f"set_epsilon(1e-4): K.binary_crossentropy {ours} (Keras {ref})")
        assert np.allclose(ours, ref, rtol=1e-6, atol=0)
    finally:
        TK.set_epsilon(eps)
        KK.set_epsilon(eps)


def test_errors_like_keras():
    """Where Keras raises, the port raises (torch alone would compute something)."""
    checks = [
        ("softmax of 1-D", lambda K, T: K.softmax(T([1.0, 2.0]))),
        ("squeeze of a non-1 axis", lambda K, T: K.squeeze(T(np.ones((2, 3), np.float32)), 1)),
        ("std of ints", lambda K, T: K.std(T(np.array([1, 2], np.int32)))),
        ("one_hot of floats", lambda K, T: K.one_hot(T([0.0, 2.0]), 3)),
        ("categorical_crossentropy shape mismatch", lambda K, T: K.categorical_crossentropy(
            T(np.ones((1, 2), np.float32)), T(np.ones((1, 3), np.float32)))),
        ("binary_crossentropy from_logits shape mismatch", lambda K, T: K.binary_crossentropy(
            T(np.ones((3,), np.float32)), T(np.ones((3, 1), np.float32)), from_logits=True)),
        ("sparse label out of range", lambda K, T: K.sparse_categorical_crossentropy(
            T(np.array([3], np.int32)), T(np.array([[0.2, 0.3, 0.5]], np.float32)))),
        ("sparse label -1", lambda K, T: K.sparse_categorical_crossentropy(
            T(np.array([-1], np.int32)), T(np.array([[0.2, 0.3, 0.5]], np.float32)))),
        ("switch condition above the branches' rank", lambda K, T: K.switch(
            T(np.ones((2, 2), bool)), T(np.ones((2,), np.float32)), T(np.zeros((2,), np.float32)))),
        ("reduction axis out of range", lambda K, T: K.sum(T(np.ones((2, 2), np.float32)), axis=2)),
        *[(f"{f} of booleans", (lambda f_: lambda K, T: getattr(K, f_)(T(np.array([True, False]))))(f))
          for f in ("sum", "prod", "max", "min", "cumsum", "cumprod")],
    ]
    for name, f in checks:
        with pytest.raises(Exception) as ke:
            f(KK, tf.constant)
        with pytest.raises((ValueError, TypeError, IndexError, RuntimeError)) as te:
            f(TK, lambda a: torch.as_tensor(np.asarray(a)))
        print(f"{name}: Keras {ke.type.__name__}, ours {te.type.__name__}")


def test_float64_constants_take_the_tensor_dtype():
    """``K.epsilon()`` and other Python constants are converted to the tensor's dtype (1e-7 exactly in float64);
    the naive ``torch.tensor(K.epsilon())`` is a float32 constant: its clip bound is 1.00000001e-07 in a float64
    model."""
    p = np.array([1e-9, 0.5], np.float64)
    ref = KK.clip(tf.constant(p), KK.epsilon(), 1 - KK.epsilon()).numpy()
    ours = TK.clip(torch.from_numpy(p), TK.epsilon(), 1 - TK.epsilon()).numpy()
    naive = torch.clamp(torch.from_numpy(p), torch.tensor(1e-7), torch.tensor(1 - 1e-7)).numpy()
    print(f"clip(1e-9) float64: Keras {ref[0]!r}, ours {ours[0]!r}, torch.tensor(eps) bound {naive[0]!r}")
    assert ours[0] == ref[0] == 1e-7 and naive[0] != 1e-7


def test_docstring_example_runs():
    import torch_impl.keras_backend as mod

    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    print(f"torch_impl.keras_backend: {res.attempted} examples")
    assert res.failed == 0 and res.attempted > 0


def test_docstring_focal_matches_keras():
    """The module docstring's focal loss and BCE figures are Keras's."""
    def focal(K, y_true, y_pred, gamma=2.0, alpha=0.25):
        y_pred = K.clip(y_pred, K.epsilon(), 1.0 - K.epsilon())
        p_t = K.switch(K.equal(y_true, 1), y_pred, 1 - y_pred)
        return K.mean(-alpha * K.pow(1.0 - p_t, gamma) * K.log(p_t), axis=-1)

    compare("docstring focal", focal, [np.array([[1.0, 0.0]]), np.array([[1.0, 0.25]])], (1,), "float64")
    ref = KK.binary_crossentropy(tf.constant([1.0, 0.0]), tf.constant([0.0, 1.0])).numpy()
    print(f"K.binary_crossentropy([1, 0], [0, 1]) float32: {ref}")
    assert np.allclose(ref, [15.4249, 15.3332], atol=1e-4)


# --------------------------------------------------------------------------------------------------------------
# 2. field losses, written once against K
# --------------------------------------------------------------------------------------------------------------


def field_losses(K) -> dict:
    """The snippets as they are pasted from GitHub gists, blog posts and StackOverflow answers (Keras 2 era),
    written against the module ``K``: ``field_losses(tf.keras.backend)`` is Keras's, ``field_losses(
    torch_impl.keras_backend)`` the port. Nothing else differs. Each: ``name -> fn(y_true, y_pred)``."""

    def binary_focal_loss(gamma=2.0, alpha=0.25):  # umbertogriffo/focal-loss-keras (K.switch for tf.where)
        def binary_focal_loss_fixed(y_true, y_pred):
            epsilon = K.epsilon()
            y_pred = K.clip(y_pred, epsilon, 1.0 - epsilon)
            p_t = K.switch(K.equal(y_true, 1), y_pred, 1 - y_pred)
            alpha_factor = K.ones_like(y_true) * alpha
            alpha_t = K.switch(K.equal(y_true, 1), alpha_factor, 1 - alpha_factor)
            cross_entropy = -K.log(p_t)
            weight = alpha_t * K.pow((1 - p_t), gamma)
            loss = weight * cross_entropy
            return K.mean(K.sum(loss, axis=1))
        return binary_focal_loss_fixed

    def weighted_bce(pos_weight=3.0):  # "weighted binary crossentropy" answers
        def loss(y_true, y_pred):
            bce = K.binary_crossentropy(y_true, y_pred)
            weight = y_true * pos_weight + (1.0 - y_true)
            return K.mean(weight * bce, axis=-1)
        return loss

    def keras2_binary_crossentropy(y_true, y_pred):  # Keras 2.2's own losses.binary_crossentropy
        return K.mean(K.binary_crossentropy(y_true, y_pred), axis=-1)

    def dice_coef_loss(smooth=1.0):  # the U-Net Kaggle kernels
        def dice_coef(y_true, y_pred):
            y_true_f = K.flatten(y_true)
            y_pred_f = K.flatten(y_pred)
            intersection = K.sum(y_true_f * y_pred_f)
            return (2.0 * intersection + smooth) / (K.sum(y_true_f) + K.sum(y_pred_f) + smooth)

        def loss(y_true, y_pred):
            return 1 - dice_coef(y_true, y_pred)
        return loss

    def focal_tversky(alpha=0.7, gamma=0.75, smooth=1.0):  # nabsabraham/focal-tversky-unet
        def tversky(y_true, y_pred):
            y_true_pos = K.flatten(y_true)
            y_pred_pos = K.flatten(y_pred)
            true_pos = K.sum(y_true_pos * y_pred_pos)
            false_neg = K.sum(y_true_pos * (1 - y_pred_pos))
            false_pos = K.sum((1 - y_true_pos) * y_pred_pos)
            return (true_pos + smooth) / (true_pos + alpha * false_neg + (1 - alpha) * false_pos + smooth)

        def loss(y_true, y_pred):
            pt_1 = tversky(y_true, y_pred)
            return K.pow((1 - pt_1), gamma)
        return loss

    def jaccard_distance(smooth=100):  # keras-contrib losses.jaccard_distance
        def loss(y_true, y_pred):
            intersection = K.sum(K.abs(y_true * y_pred), axis=-1)
            sum_ = K.sum(K.abs(y_true) + K.abs(y_pred), axis=-1)
            jac = (intersection + smooth) / (sum_ - intersection + smooth)
            return (1 - jac) * smooth
        return loss

    def contrastive_loss(margin=1.0):  # keras.io siamese_contrastive, euclidean_distance on y_pred's halves
        def euclidean_distance(vects):
            x, y = vects
            sum_square = K.sum(K.square(x - y), axis=1, keepdims=True)
            return K.sqrt(K.maximum(sum_square, K.epsilon()))

        def loss(y_true, y_pred):
            d = y_pred.shape[-1] // 2
            dist = euclidean_distance((y_pred[:, :d], y_pred[:, d:]))
            square_pred = K.square(dist)
            margin_square = K.square(K.maximum(margin - dist, 0))
            return K.mean(y_true * square_pred + (1 - y_true) * margin_square)
        return loss

    def triplet_loss(alpha=0.5):  # FaceNet ports: anchor, positive, negative side by side in y_pred
        def loss(y_true, y_pred):
            d = y_pred.shape[-1] // 3
            anchor, positive, negative = y_pred[:, :d], y_pred[:, d:2 * d], y_pred[:, 2 * d:]
            pos_dist = K.sum(K.square(anchor - positive), axis=-1)
            neg_dist = K.sum(K.square(anchor - negative), axis=-1)
            basic_loss = pos_dist - neg_dist + alpha
            return K.mean(K.maximum(basic_loss, 0.0))
        return loss

    def smooth_l1(delta=1.0):  # Faster R-CNN ports
        def loss(y_true, y_pred):
            x = K.abs(y_true - y_pred)
            x = K.switch(x < delta, 0.5 * x ** 2, delta * (x - 0.5 * delta))
            return K.sum(x, axis=-1)
        return loss

    def weighted_categorical_crossentropy(weights):  # wassname's gist (``y_pred /=`` written out, see below)
        weights = K.variable(weights)

        def loss(y_true, y_pred):
            y_pred = y_pred / K.sum(y_pred, axis=-1, keepdims=True)
            y_pred = K.clip(y_pred, K.epsilon(), 1 - K.epsilon())
            loss = y_true * K.log(y_pred) * weights
            return -K.sum(loss, -1)
        return loss

    def categorical_focal_loss(alpha=0.25, gamma=2.0):  # umbertogriffo's categorical_focal_loss
        def loss(y_true, y_pred):
            y_pred = y_pred / K.sum(y_pred, axis=-1, keepdims=True)
            epsilon = K.epsilon()
            y_pred = K.clip(y_pred, epsilon, 1.0 - epsilon)
            cross_entropy = -y_true * K.log(y_pred)
            loss = alpha * K.pow(1 - y_pred, gamma) * cross_entropy
            return K.mean(K.sum(loss, axis=-1))
        return loss

    def masked_sparse_crossentropy(y_true, y_pred):  # seq2seq tutorials: class 0 is padding
        mask = K.cast(K.not_equal(y_true, 0), K.floatx())
        ce = K.sparse_categorical_crossentropy(y_true, y_pred)
        return K.sum(ce * mask) / K.sum(mask)

    def correlation_coefficient_loss(y_true, y_pred):  # the Pearson-r loss of StackOverflow 46619869
        x, y = y_true, y_pred
        mx, my = K.mean(x), K.mean(y)
        xm, ym = x - mx, y - my
        r_num = K.sum(xm * ym)
        r_den = K.sqrt(K.sum(K.square(xm)) * K.sum(K.square(ym)))
        r = r_num / r_den
        r = K.maximum(K.minimum(r, 1.0), -1.0)
        return 1 - K.square(r)

    def ccc_loss(y_true, y_pred):  # concordance correlation coefficient (affect recognition repos)
        mean_t, mean_p = K.mean(y_true), K.mean(y_pred)
        var_t, var_p = K.var(y_true), K.var(y_pred)
        cov = K.mean((y_true - mean_t) * (y_pred - mean_p))
        return 1 - 2 * cov / (var_t + var_p + K.square(mean_t - mean_p))

    def f1_metric(y_true, y_pred):  # the f1_m / precision_m / recall_m metrics
        def recall_m(y_true, y_pred):
            true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))
            possible_positives = K.sum(K.round(K.clip(y_true, 0, 1)))
            return true_positives / (possible_positives + K.epsilon())

        def precision_m(y_true, y_pred):
            true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))
            predicted_positives = K.sum(K.round(K.clip(y_pred, 0, 1)))
            return true_positives / (predicted_positives + K.epsilon())

        precision, recall = precision_m(y_true, y_pred), recall_m(y_true, y_pred)
        return 2 * ((precision * recall) / (precision + recall + K.epsilon()))

    return {
        "binary_focal_loss": binary_focal_loss(),
        "weighted_bce": weighted_bce(),
        "keras2_binary_crossentropy": keras2_binary_crossentropy,
        "dice_coef_loss": dice_coef_loss(),
        "focal_tversky": focal_tversky(),
        "jaccard_distance": jaccard_distance(),
        "contrastive_loss": contrastive_loss(),
        "triplet_loss": triplet_loss(),
        "smooth_l1": smooth_l1(),
        "weighted_categorical_crossentropy": weighted_categorical_crossentropy(np.array([0.5, 2.0, 1.0])),
        "categorical_focal_loss": categorical_focal_loss(),
        "masked_sparse_crossentropy": masked_sparse_crossentropy,
        "correlation_coefficient_loss": correlation_coefficient_loss,
        "ccc_loss": ccc_loss,
        "f1_metric": f1_metric,
    }


def _field_data(name: str, dt: str):
    """(y_true, y_pred) for a field loss: saturated probabilities (exact 0 and 1), distances exactly at the margin,
    errors exactly at the Huber delta, clipped correlations."""
    rng = np.random.default_rng(11)
    if name in ("binary_focal_loss", "weighted_bce", "keras2_binary_crossentropy", "dice_coef_loss", "focal_tversky",
                "jaccard_distance", "f1_metric"):
        y = _y((6, 4), seed=12, dt=dt)
        p = rng.uniform(0.02, 0.98, (6, 4))
        p[0] = [1.0, 0.0, 0.5, 1e-9]  # saturated and a tie at 0.5 (round half to even in f1)
        p[1] = 1 - y[1]  # sure and wrong
        return y, p.astype(dt)
    if name in ("weighted_categorical_crossentropy", "categorical_focal_loss"):
        y = _onehot(6, 3, seed=13, dt=dt)
        p = rng.uniform(0.05, 1.0, (6, 3))
        p[0] = [0.0, 1.0, 0.0]
        p[1] = [1.0, 0.0, 0.0]
        p /= p.sum(-1, keepdims=True)
        return y, p.astype(dt)
    if name == "masked_sparse_crossentropy":
        y = np.array([[1, 0, 2, 2], [0, 0, 1, 3]], dt)  # (N, T) labels, 0 = padding
        p = rng.uniform(0.05, 1.0, (2, 4, 4))
        p[0, 0] = [0.0, 0.0, 1.0, 0.0]  # sure and wrong
        p /= p.sum(-1, keepdims=True)
        return y, p.astype(dt)
    if name == "contrastive_loss":
        y = np.array([[1.0], [0.0], [0.0], [1.0], [0.0]], dt)
        e = rng.normal(size=(5, 6))
        e[1, 3:] = e[1, :3] + [1.0, 0.0, 0.0]  # a negative pair exactly at the margin (distance 1)
        e[3, 3:] = e[3, :3]  # a positive pair at distance 0: the maximum(sum, eps) clamps
        return y, e.astype(dt)
    if name == "triplet_loss":
        y = np.zeros((4, 1), dt)
        e = rng.normal(size=(4, 6)) * 0.5
        e[0] = [0.25, 0.5, 0.25, 0.5, 0.75, 1.0]  # pos 0, neg 0.5, alpha 0.5: exactly at the margin
        return y, e.astype(dt)
    if name == "smooth_l1":
        y = rng.normal(size=(4, 4))
        p = y + rng.normal(size=(4, 4))
        p[0] = y[0] + [1.0, -1.0, 0.0, 0.5]  # |error| exactly at delta, and 0
        return y.astype(dt), p.astype(dt)
    # regression: Pearson, CCC
    y = rng.normal(size=(8, 1))
    return y.astype(dt), (0.7 * y + 0.3 * rng.normal(size=(8, 1))).astype(dt)


FIELD = list(field_losses(KK))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("name", FIELD)
def test_field_loss_ported_by_its_import(name, dt):
    """``field_losses(K)[name](y_true, y_pred)``: Keras's K and ours, value and gradient with respect to
    ``y_pred`` (and the labels where they are floats a gradient can reach)."""
    y, p = _field_data(name, dt)
    grad_idx = (1,) if name in ("masked_sparse_crossentropy", "f1_metric") else (0, 1)
    if name == "f1_metric":
        grad_idx = ()
    with _precision(dt):
        compare(name, lambda K, a, b: field_losses(K)[name](a, b), [y, p], grad_idx, dt)


def test_in_place_division_of_y_pred_is_loud_in_torch():
    """wassname's and umbertogriffo's snippets write ``y_pred /= K.sum(y_pred, axis=-1, keepdims=True)``: a
    rebinding in TensorFlow, an in-place write in torch. On a model output autograd refuses it at ``backward``
    (loud, not silent); rewrite it as ``y_pred = y_pred / ...``."""
    def as_pasted(K, y_true, y_pred):
        y_pred /= K.sum(y_pred, axis=-1, keepdims=True)
        y_pred = K.clip(y_pred, K.epsilon(), 1 - K.epsilon())
        return -K.sum(y_true * K.log(y_pred), -1)

    y = _onehot(4, 3)
    z = np.random.default_rng(0).normal(size=(4, 3))
    with tf.GradientTape() as tape:
        zt = tf.Variable(z)
        k = KK.sum(as_pasted(KK, tf.constant(y), tf.nn.softmax(zt)))
    assert tape.gradient(k, zt) is not None
    zz = torch.tensor(z, requires_grad=True)
    loss = as_pasted(TK, torch.tensor(y), torch.softmax(zz, -1)).sum()
    assert abs(loss.item() - float(k)) < 1e-12
    with pytest.raises(RuntimeError, match="inplace"):
        loss.backward()
    print("y_pred /= ...: same value, torch's backward raises (modified by an inplace operation)")


# --------------------------------------------------------------------------------------------------------------
# 3. the naive port: K.x replaced by the torch function of that name
# --------------------------------------------------------------------------------------------------------------


def _dims(axis):
    return axis if axis is None or isinstance(axis, int) else tuple(axis)


def _red(f):
    def g(x, axis=None, keepdims=False):
        return f(x) if axis is None else f(x, dim=_dims(axis), keepdim=keepdims)
    return g


NAIVE = types.SimpleNamespace(  # what a port by hand reaches for
    epsilon=lambda: 1e-7, floatx=lambda: str(torch.get_default_dtype())[6:],
    clip=torch.clamp, abs=torch.abs, log=torch.log, exp=torch.exp, square=torch.square, sqrt=torch.sqrt,
    pow=torch.pow, maximum=lambda x, y: torch.maximum(x, torch.as_tensor(y, dtype=x.dtype)),
    minimum=lambda x, y: torch.minimum(x, torch.as_tensor(y, dtype=x.dtype)), round=torch.round,
    flatten=torch.flatten, sum=_red(torch.sum), mean=_red(torch.mean), var=_red(torch.var), std=_red(torch.std),
    equal=torch.eq, not_equal=torch.ne, ones_like=torch.ones_like, switch=torch.where,
    cast=lambda x, dt: x.to(getattr(torch, dt)), variable=lambda v: torch.as_tensor(v, dtype=torch.get_default_dtype()),
    binary_crossentropy=lambda y, p: F.binary_cross_entropy(p, y, reduction="none"),
    sparse_categorical_crossentropy=lambda y, p: F.nll_loss(torch.log(p).movedim(-1, 1), y.long(), reduction="none"),
)


def _naive_vs_ours(name: str, dt: str = "float64"):
    """(naive port's value rel. error, its gradient rel. error, ours, ours) against Keras."""
    y, p = _field_data(name, dt)
    with _precision(dt):
        (k_out,), (k_grad,) = _keras_side(lambda K, a, b: field_losses(K)[name](a, b), KK, [y, p], (1,))
        figures = []
        for K in (NAIVE, TK):
            fn = field_losses(K)[name]
            yt, pt = torch.tensor(y), torch.tensor(p, requires_grad=True)
            out = fn(yt, pt)
            (out * torch.from_numpy(_cotangent(tuple(out.shape), dt))).sum().backward()
            v, _ = _err(out.detach().numpy(), k_out.numpy(), 0, 0)
            g, _ = _err(pt.grad.numpy(), k_grad, 0, 0)
            figures += [v, g]
    return figures


NAIVE_CASES = ["weighted_bce", "keras2_binary_crossentropy", "masked_sparse_crossentropy", "ccc_loss",
               "contrastive_loss", "triplet_loss", "binary_focal_loss", "dice_coef_loss"]


def test_naive_torch_port_errors():
    """The same sources with ``K.x`` -> ``torch.x``: the naive port's error against Keras, and ours (float64).
    The README's table."""
    print(f"{'loss':30s} {'naive value':>12s} {'naive grad':>11s} {'ours value':>11s} {'ours grad':>10s}")
    rows = {}
    for name in NAIVE_CASES:
        nv, ng, ov, og = _naive_vs_ours(name)
        rows[name] = (nv, ng)
        print(f"{name:30s} {nv:12.1e} {ng:11.1e} {ov:11.1e} {og:10.1e}")
        assert ov <= 1e-12 and og <= 1e-10
    # the port is needed: BCE's eps and -100 cap, the unclipped log, torch.var's N - 1, the tie of maximum
    for name in ("weighted_bce", "keras2_binary_crossentropy", "masked_sparse_crossentropy", "ccc_loss"):
        assert rows[name][0] > 1e-3, name
    assert rows["triplet_loss"][1] > 1e-3  # torch.maximum halves the gradient at the margin
    for name in ("binary_focal_loss", "dice_coef_loss", "contrastive_loss"):  # these port fine by hand
        assert rows[name][0] <= 1e-12 and rows[name][1] <= 1e-10, name


# --------------------------------------------------------------------------------------------------------------
# 4. three Adam steps: model.fit against torch_impl.fit
# --------------------------------------------------------------------------------------------------------------

# loss -> (units, activation, data kind)
TRAIN = {
    "binary_focal_loss": (4, "sigmoid", "multilabel"),
    "weighted_bce": (4, "sigmoid", "multilabel"),
    "dice_coef_loss": (4, "sigmoid", "multilabel"),
    "focal_tversky": (4, "sigmoid", "multilabel"),
    "jaccard_distance": (4, "sigmoid", "multilabel"),
    "weighted_categorical_crossentropy": (3, "softmax", "onehot"),
    "categorical_focal_loss": (3, "softmax", "onehot"),
    "masked_sparse_crossentropy": (4, "softmax", "sparse"),
    "contrastive_loss": (6, None, "pairs"),
    "triplet_loss": (6, None, "triplets"),
    "smooth_l1": (2, None, "regression"),
    "correlation_coefficient_loss": (1, None, "regression1"),
    "ccc_loss": (1, None, "regression1"),
}


def _train_data(kind: str, dt: str):
    rng = np.random.default_rng(21)
    x = rng.normal(size=(32, 5))
    if kind == "multilabel":
        y = (x[:, :4] + 0.5 * rng.normal(size=(32, 4)) > 0).astype(dt)
    elif kind == "onehot":
        y = np.eye(3)[np.argmax(x[:, :3], 1)].astype(dt)
    elif kind == "sparse":
        y = np.argmax(x[:, :4], 1).astype(dt)
    elif kind == "pairs":
        y = (x[:, :1] > 0).astype(dt)
    elif kind == "triplets":
        y = np.zeros((32, 1), dt)
    elif kind == "regression":
        y = (x[:, :2] * [1.0, -2.0]).astype(dt)
    else:
        y = (x[:, :1] * 2 + x[:, 1:2]).astype(dt)
    return x.astype(dt), y


def _three_steps(name: str, dt: str) -> tuple[list, list]:
    units, activation, kind = TRAIN[name]
    x, y = _train_data(kind, dt)
    seed = 3
    with _precision(dt):
        keras.utils.set_random_seed(seed)
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dense(units, activation=activation)])
        model.compile(optimizer="adam", loss=field_losses(KK)[name])
        kh = model.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0).history["loss"]
        net = keras_init_(torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, units)),
                          seed=seed)
        th = tfit.fit(net, x, y, loss=field_losses(TK)[name], optimizer="adam", output_activation=activation,
                      batch_size=32, epochs=3, shuffle=False, verbose=0).history["loss"]
    return kh, th


def _check_training(name: str, dt: str) -> None:
    t0 = time.perf_counter()
    kh, th = _three_steps(name, dt)
    rel = float(np.max(np.abs(np.subtract(th, kh)) / np.abs(kh)))
    print(f"{name} {dt}: Keras {np.round(kh, 8).tolist()} torch_impl {np.round(th, 8).tolist()} max rel {rel:.1e} "
          f"({time.perf_counter() - t0:.1f} s)")
    assert rel <= (1e-8 if dt == "float64" else 1e-3)


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
@pytest.mark.parametrize("name", every_nth(list(TRAIN), 2))
def test_three_adam_steps_like_model_fit(name, dt):
    """``compile(optimizer="adam", loss=field_losses(K)[name])`` and ``fit(batch_size=32, epochs=3)`` on 32
    samples (three Adam steps) against ``torch_impl.fit`` with ``field_losses(torch_impl.keras_backend)[name]``
    from the same initial weights: float64 loss histories 1e-8 relative, float32 1e-3."""
    _check_training(name, dt)


# --------------------------------------------------------------------------------------------------------------
# the module stays torch-only; CUDA
# --------------------------------------------------------------------------------------------------------------


def run_without_tensorflow(statements: str) -> str:
    """``statements`` run in a fresh interpreter that refuses to import TensorFlow or Keras; their stdout."""
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    src = textwrap.dedent(f"""
        import sys, importlib.abc
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.split(".")[0] in ("tensorflow", "keras", "tf_keras"):
                    raise ImportError("blocked: " + name)
        sys.meta_path.insert(0, Block())
        sys.path.insert(0, {str(root)!r})
    """) + textwrap.dedent(statements)
    r = subprocess.run([sys.executable, "-c", src], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def test_module_imports_without_tensorflow():
    """``torch_impl.keras_backend`` never imports TensorFlow or Keras (run in a fresh interpreter that refuses
    them)."""
    out = run_without_tensorflow("""
        import torch
        from torch_impl import keras_backend as K
        print(float(K.binary_crossentropy(torch.tensor([1.0]), torch.tensor([0.0]))[0]))
    """)
    assert abs(float(out.split()[-1]) - 15.4249) < 1e-4


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_field_losses_on_cuda_like_cpu():
    """The field losses on a CUDA device: the CPU port's values and gradients (float64, to rounding)."""
    for name in FIELD:
        y, p = _field_data(name, "float64")
        out = {}
        for dev in ("cpu", "cuda"):
            with torch.device(dev):  # K.variable(weights) is made on the default device
                yt, pt = torch.tensor(y, device=dev), torch.tensor(p, device=dev, requires_grad=True)
                v = field_losses(TK)[name](yt, pt)
                if name != "f1_metric":
                    v.sum().backward()
            out[dev] = (v.detach().cpu().numpy(), None if pt.grad is None else pt.grad.cpu().numpy())
        e, why = _err(out["cuda"][0], out["cpu"][0], 1e-12, 1e-15)
        assert not why, name
        if out["cpu"][1] is not None:
            e2, why = _err(out["cuda"][1], out["cpu"][1], 1e-10, 1e-13)
            assert not why, name
        print(f"{name} cuda vs cpu: value {e:.1e}")

"""Blind tests of three new features, written from their public docstrings only, every expectation from real Keras
3.15.1 on TensorFlow 2.21 (run in the same test):

1. ``torch_impl.keras_backend`` (Keras's legacy backend ``tf.keras.backend``, "K"): functions on inputs of mixed ranks
   and dtypes (values, dtypes, shapes, TensorFlow's gradients), the crossentropies with ``axis`` / label ranks /
   ``ignore_class``, integer and boolean reductions, ``set_epsilon``; and Keras-2 losses and metrics written with
   ``K`` trained by ``torch_impl.fit`` against the same function in ``keras.Model.fit`` (3 epochs, float64/float32).
2. ``torch_impl.data_adapters`` through ``fit``/``evaluate``/``predict``: generators of varying batch sizes (numpy or
   torch tensors), dict inputs and multi-output labels in the batches, sample weights in the batches, a PyDataset
   with ``class_weight`` / ``shuffle`` / ``on_epoch_end``, DataLoaders with ``drop_last`` and ``shuffle``,
   ``steps_per_epoch`` / ``validation_steps`` / ``steps``, EarlyStopping on generator training, Keras's errors; and
   ``fit(shuffle="batch", seed=...)`` with a loss that sees the order of the samples inside a batch.
3. ``torch_impl.image`` (RandomRotation / RandomZoom / RandomTranslation / RandomContrast / RandomBrightness, from
   ``torch_impl.nn``): odd and 1x1 sizes, factors at and past their limits, value ranges, integer and unbatched
   images, both layouts, eval mode, constructor errors; a Sequential with augmentation trained by ``fit`` against
   Keras's ``model.fit`` with the seeds replayed by ``keras_init_(net, seed=...)``.

Standards: float64 1e-12 relative (histories, values, gradients: the largest difference over the largest magnitude
of an array), float32 1e-6; integer/boolean results and augmented images exactly. Every figure asserted is printed.
The five bugs it found (K.mean of narrow integers, K.argmax of booleans, per-output means of an evaluation that
runs out, fit(shuffle=False, seed=...), RandomBrightness on integer images) are fixed; their tests pass.
"""

from __future__ import annotations

import math
import random
import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from parity_tests.test_field_scripts_round2 import _precision  # noqa: E402
from keras_impl.trainers import upstream_epoch_iterator  # noqa: E402 - keras-team/keras#23360, followed
from torch_impl import callbacks as tcallbacks  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import keras_backend as KP  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl import optim  # noqa: E402

KT = tf.keras.backend  # what a Keras-2 script imports as K
pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

TOL = {"float64": 1e-12, "float32": 1e-6}


# --------------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------------


def _gap(ours, ref) -> float:
    """The largest difference over the largest magnitude (finite entries; 0 for two empty/all-zero arrays)."""
    a, b = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    finite = np.isfinite(b)
    if not finite.any():
        return 0.0
    scale = max(float(np.max(np.abs(b[finite]))), 1e-300)
    return float(np.max(np.abs(a[finite] - b[finite]))) / scale


def _assert_same(name: str, ours, ref, dt: str, what: str = "value") -> None:
    ours, ref = np.asarray(ours), np.asarray(ref)
    assert ours.shape == ref.shape, f"{name} {what}: shape {ours.shape} != Keras {ref.shape}"
    assert str(ours.dtype) == str(ref.dtype), f"{name} {what}: dtype {ours.dtype} != Keras {ref.dtype}"
    if ref.dtype.kind in "biu":
        print(f"  {name} {what}: Keras {ref.ravel()[:6].tolist()} torch_impl {ours.ravel()[:6].tolist()} ({ref.dtype})")
        assert np.array_equal(ours, ref), name
        return
    r, o = ref.astype(np.float64), ours.astype(np.float64)
    assert np.array_equal(np.isnan(o), np.isnan(r)), f"{name} {what}: NaN at other places"
    inf = np.isinf(r)
    assert np.array_equal(np.isinf(o), inf) and np.array_equal(o[inf], r[inf]), f"{name} {what}: infinities differ"
    gap = _gap(o[~np.isnan(r)], r[~np.isnan(r)])
    print(f"  {name} {what}: {ref.dtype}{list(ref.shape)} Keras {np.round(r.ravel()[:3], 7).tolist()} "
          f"rel gap {gap:.1e}")
    assert gap <= TOL[dt], f"{name} {what}: {gap:.2e}"


def _k_compare(name: str, fn, arrays, dt: str, grad: bool = True) -> None:
    """``fn(K, *inputs)`` with ``K`` = ``tf.keras.backend`` and ``torch_impl.keras_backend``: value, dtype, shape, and
    the gradient of ``sum(out * w)`` (a fixed random ``w``) with respect to every floating input."""
    kin = [tf.Variable(a) if a.dtype.kind == "f" else tf.constant(a) for a in arrays]
    tin = [torch.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    with tf.GradientTape() as tape:
        kout = fn(KT, *kin)
        w = np.random.default_rng(0).normal(size=np.shape(kout))
        ks = tf.reduce_sum(kout * tf.cast(w, kout.dtype)) if kout.dtype.is_floating else None
    tout = fn(KP, *tin)
    _assert_same(name, tout.detach().numpy(), np.asarray(kout), dt)
    if not (grad and ks is not None):
        return
    kvars = [v for v in kin if isinstance(v, tf.Variable)]
    tvars = [t for t in tin if t.requires_grad]
    kgrads = tape.gradient(ks, kvars)
    ts = (tout * torch.tensor(w, dtype=tout.dtype)).sum()
    tgrads = torch.autograd.grad(ts, tvars, allow_unused=True) if ts.requires_grad else [None] * len(tvars)
    for i, (kg, tg, t) in enumerate(zip(kgrads, tgrads, tvars)):
        kg = np.zeros(t.shape, t.detach().numpy().dtype) if kg is None else np.asarray(tf.convert_to_tensor(kg))
        tg = np.zeros(t.shape, t.detach().numpy().dtype) if tg is None else tg.numpy()
        _assert_same(name, tg, kg, dt, what=f"grad[{i}]")


def _check_history(th: dict, kh: dict, dt: str, keys=None) -> None:
    """Every key of Keras's history (and no other), every epoch, within the standard of ``dt``."""
    if keys is None:
        assert sorted(th) == sorted(kh), (sorted(th), sorted(kh))
    for k in keys or kh:
        gap = _gap(th[k], kh[k])
        print(f"  {k}: Keras {np.round(kh[k], 7).tolist()} torch_impl {np.round(th[k], 7).tolist()} rel {gap:.1e}")
        assert len(th[k]) == len(kh[k]), k
        assert gap <= TOL[dt], k


def _check_logs(tl: dict, kl: dict, dt: str, what: str) -> None:
    for k in kl:
        gap = _gap(tl[k], kl[k])
        print(f"  {what} {k}: Keras {kl[k]:.10g} torch_impl {tl[k]:.10g} rel {gap:.1e}")
        assert gap <= TOL[dt], (what, k)


class _MLP(torch.nn.Module):
    """The port of ``Dense(h, relu) -> Dense(out, activation)`` from the Keras model's weights."""

    def __init__(self, weights, activation=None):
        super().__init__()
        self.layers_ = torch.nn.ModuleList()
        for kernel, bias in zip(weights[::2], weights[1::2]):
            lin = torch.nn.Linear(*kernel.shape, dtype=torch.get_default_dtype())
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.T)))
                lin.bias.copy_(torch.from_numpy(bias))
            self.layers_.append(lin)
        self.output_activation = activation

    def forward(self, x):
        for i, lin in enumerate(self.layers_):
            x = lin(x)
            if i < len(self.layers_) - 1:
                x = torch.relu(x)
        return x


def _keras_mlp(n_in: int, hidden: int, n_out: int, activation, seed: int = 0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((n_in,)), layers.Dense(hidden, activation="relu"),
                             layers.Dense(n_out, activation=activation)])


def _pair(n_in, hidden, n_out, activation, seed=0):
    km = _keras_mlp(n_in, hidden, n_out, activation, seed)
    return km, _MLP([w.numpy() for w in km.weights], activation)


# ==============================================================================================================
# 1. keras_backend
# ==============================================================================================================

_RNG = np.random.default_rng(11)
_X3, _X3B, _P3 = _RNG.normal(size=(2, 3, 4)), _RNG.normal(size=(2, 5, 4)), _RNG.uniform(0.01, 1, size=(2, 3, 4))
_X2, _Y3 = _RNG.normal(size=(2, 4)), (_RNG.uniform(size=(2, 3, 4)) > 0.5).astype(float)
_X4, _XR = _RNG.normal(size=(2, 3, 4, 5)), _RNG.normal(size=(2, 5, 6, 3))
_LAB = _RNG.integers(0, 4, size=(2, 3)).astype(float)

# name -> (fn(K, *inputs), inputs as float64 arrays (cast to the test's dtype) or integer arrays)
_SHAPE_CASES = {
    "batch_dot (N,3,4).(N,4) axes=None": (lambda K, a, b: K.batch_dot(a, b), [_X3, _X2]),
    "batch_dot (N,4).(N,3,4) axes=(1,2)": (lambda K, a, b: K.batch_dot(a, b, (1, 2)), [_X2, _X3]),
    "batch_dot (N,3,4).(N,5,4) axes=(-1,-1)": (lambda K, a, b: K.batch_dot(a, b, (-1, -1)), [_X3, _X3B]),
    "batch_dot (N,3,4).(N,3,5) axes=1": (lambda K, a, b: K.batch_dot(a, b, 1), [_X3, _X3B.transpose(0, 2, 1)[:, :3]]),
    "batch_dot (N,3,4,5).(N,5,6,3) axes=(1,3)": (lambda K, a, b: K.batch_dot(a, b, (1, 3)), [_X4, _XR]),
    "batch_dot (N,4).(N,4) axes=1": (lambda K, a, b: K.batch_dot(a, b, 1), [_X2, _X2[::-1].copy()]),
    "dot (2,3,4).(4,5)": (lambda K, a, b: K.dot(a, b), [_X3, _X3B[0].T.copy()]),
    "dot (2,4).(3,4,5)": (lambda K, a, b: K.dot(a, b), [_X2, _X4[0]]),
    "dot (2,3,4).(6,4,5)": (lambda K, a, b: K.dot(a, b), [_X3, _RNG.normal(size=(6, 4, 5))]),
    "repeat_elements axis=-1": (lambda K, a: K.repeat_elements(a, 2, -1), [_X3]),
    "repeat_elements axis=1": (lambda K, a: K.repeat_elements(a, 3, 1), [_X3]),
    "repeat (N,D)": (lambda K, a: K.repeat(a, 3), [_X2]),
    "tile": (lambda K, a: K.tile(a, [2, 1, 3]), [_X3]),
    "tile int on 1-D": (lambda K, a: K.tile(a, 3), [_X2[0]]),
    "concatenate axis=-2": (lambda K, a, b: K.concatenate([a, b], -2), [_X3, _X3B]),
    "stack axis=-1": (lambda K, a, b: K.stack([a, b], -1), [_X3, _P3]),
    "reverse axes [0, 2]": (lambda K, a: K.reverse(a, [0, 2]), [_X3]),
    "permute_dimensions": (lambda K, a: K.permute_dimensions(a, (2, 0, 1)), [_X3]),
    "transpose 3-D": (lambda K, a: K.transpose(a), [_X3]),
    "batch_flatten": (lambda K, a: K.batch_flatten(a), [_X4]),
    "reshape -1": (lambda K, a: K.reshape(a, (-1, 2)), [_X3]),
    "expand_dims -2": (lambda K, a: K.expand_dims(a, -2), [_X2]),
    "squeeze -1": (lambda K, a: K.squeeze(a, -1), [_X3[..., :1]]),
    "gather 2-D indices": (lambda K, r, i: K.gather(r, i), [_X2.T.copy(), np.array([[0, 3], [2, 2]], "int32")]),
    "switch rank-2 condition, rank-3 branches": (lambda K, a, b: K.switch(K.greater(a[..., 0], 0), a, b), [_X3, _P3]),
    "switch (N,1) condition, rank-3 branches": (lambda K, a, b: K.switch(K.greater(a[:, :1, 0], 0), a, b),
                                                [_X3, _P3]),
    "switch rank-1 condition (numpy broadcasting)": (lambda K, a, b: K.switch(K.greater(a[0, 0], 0), a, b),
                                                     [_X3, _P3]),
    "switch scalar tensor condition": (lambda K, a, b: K.switch(K.greater(K.sum(a), 0), a, b), [_X3, _P3]),
    "switch else a Python float": (lambda K, a: K.switch(K.greater(a, 0), a, 0.0), [_X3]),
    "switch float condition, broadcast else": (lambda K, c, a, b: K.switch(c, a, b),
                                               [np.array([[0.0, 2.0], [0.5, 0.0]]), _X2[:, :2].copy(),
                                                _X2[:1, 2:].copy()]),
    "map_fn": (lambda K, a: K.map_fn(lambda r: K.sum(r * r), a), [_X2]),
    "foldl": (lambda K, a: K.foldl(lambda acc, r: acc * 0.5 + r, a), [_X3]),
}

_MATH_CASES = {
    **{f"relu {kw}": ((lambda kw: lambda K, a: K.relu(a * 4, **kw))(kw), [_X3])
       for kw in [dict(alpha=0.1), dict(alpha=0.1, max_value=6.0), dict(alpha=0.2, max_value=1.0),
                  dict(alpha=0.3, threshold=0.5), dict(max_value=0.5, threshold=-0.2),
                  dict(alpha=0.1, max_value=0.7, threshold=0.1), dict(max_value=6, threshold=1.0)]},
    "relu at its kinks": (lambda K, a: K.relu(a, alpha=0.5, max_value=2.0),
                          [np.array([-1.0, 0.0, 1.0, 2.0, 3.0])]),
    "relu threshold exactly at x": (lambda K, a: K.relu(a, alpha=0.5, threshold=1.0),
                                    [np.array([1.0, 0.0, 2.0, -1.0])]),
    "elu alpha 0.5": (lambda K, a: K.elu(a, 0.5), [np.concatenate([_X3.ravel(), [0.0, -0.0]])]),
    "hard_sigmoid at the bounds": (lambda K, a: K.hard_sigmoid(a), [np.array([-3.0, -2.5, 0.0, 2.5, 3.0])]),
    "softplus large": (lambda K, a: K.softplus(a * 30), [_X3]),
    "softsign": (lambda K, a: K.softsign(a), [_X3]),
    "softmax axis=1": (lambda K, a: K.softmax(a, 1), [_X3]),
    "softmax axis=(1, 2)": (lambda K, a: K.softmax(a, (1, 2)), [_X3]),
    "l2_normalize axis=-1, a zero row": (lambda K, a: K.l2_normalize(a, -1), [np.array([[0.0, 0.0], [3.0, 4.0]])]),
    "l2_normalize axis=(1, 2)": (lambda K, a: K.l2_normalize(a, (1, 2)), [_X3]),
    "l2_normalize all axes": (lambda K, a: K.l2_normalize(a), [_X3]),
    "clip numpy float32 bounds swapped": (lambda K, a: K.clip(a, np.float32(0.4), np.float32(0.1)), [_X3]),
    "clip tensor bounds per element": (lambda K, a, lo: K.clip(a, lo, 1.0), [_X3[0], np.abs(_X3[1]) * 0.3]),
    "clip int bounds at the bounds": (lambda K, a: K.clip(a, 0, 1), [np.array([-1.0, 0.0, 0.5, 1.0, 2.0])]),
    "round half to even": (lambda K, a: K.round(a), [np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5])]),
    "sign of -0 and NaN": (lambda K, a: K.sign(a), [np.array([-0.0, 0.0, np.nan, -2.0])]),
    "sqrt at 0 and below": (lambda K, a: K.sqrt(a), [np.array([-1.0, 0.0, 4.0])]),
    "pow tensor exponent": (lambda K, a, b: K.pow(a, b), [np.array([-1.0, 0.0, 4.0, 2.0]),
                                                           np.array([2.0, 3.0, 0.5, -1.0])]),
    "pow 0.5 of negatives": (lambda K, a: K.pow(a, 0.5), [np.array([-1.0, 0.0, 4.0])]),
    "maximum broadcast tie": (lambda K, a, b: K.maximum(a, b), [np.array([[1.0, 0.5], [0.5, 0.2]]), np.array([0.5])]),
    "minimum broadcast tie, reversed": (lambda K, a, b: K.minimum(b, a),
                                        [np.array([[1.0, 0.5], [0.5, 0.2]]), np.array([0.5])]),
    "cumprod through zeros": (lambda K, a: K.cumprod(a, 1), [np.array([[1.0, 0.0, 2.0, 0.0, 3.0]])]),
    "cumsum -1": (lambda K, a: K.cumsum(a, -1), [_X3]),
    "var axes (0, 2)": (lambda K, a: K.var(a, (0, 2)), [_X3]),
    "std keepdims": (lambda K, a: K.std(a, -1, True), [_X3]),
    "std of a constant row": (lambda K, a: K.std(a, 1), [np.array([[1.0, 1.0], [3.0, 4.0]])]),
    "mean axis list": (lambda K, a: K.mean(a, [0, 1]), [_X3]),
    "mean axis=() keepdims": (lambda K, a: K.mean(a, (), True), [_X3]),
    "sum axis=[]": (lambda K, a: K.sum(a, []), [_X3]),
    "max keepdims": (lambda K, a: K.max(a, 1, True), [_X3]),
    "prod": (lambda K, a: K.prod(a, -1), [_X3]),
    "logsumexp (Keras 2: tf.reduce_logsumexp)": (None, [np.array([[-np.inf, -np.inf], [np.inf, 1.0], [1e3, 1e3]])]),
    "cast to float32 passes the gradient": (lambda K, a: K.cast(a, "float32") * 2, [_X2]),
    "cast_to_floatx(0.1) times x": (lambda K, a: a * K.cast_to_floatx(0.1), [_X2]),
    "variable as a loss constant": (lambda K, a: a * K.variable([1.0, 2.0, 0.5, 3.0]), [_X2]),
    "mean of a boolean": (lambda K, a: K.mean(K.greater(a, 0), -1), [_X3]),
    "std of a boolean": (lambda K, a: K.std(K.greater(a, 0), -1), [_X3]),
}

_XENT_CASES = {
    "binary_crossentropy (N,) against (N,1) broadcasts": (lambda K, t, p: K.binary_crossentropy(t, p),
                                                          [_Y3[:, 0, 0], _P3[:, 0, :1]]),
    "binary_crossentropy sure wrong predictions": (lambda K, t, p: K.binary_crossentropy(t, p),
                                                   [np.array([0.3, 1.0, 0.0, 1.0]), np.array([0.0, 0.0, 1.0, 1.0])]),
    "binary_crossentropy from logits, extreme": (lambda K, t, p: K.binary_crossentropy(t, p, True),
                                                 [np.array([0.3, 0.7, 1.0, 0.0]), np.array([-800.0, 800, 0, 40])]),
    "categorical_crossentropy axis=1": (lambda K, t, p: K.categorical_crossentropy(t, p, axis=1), [_Y3, _P3]),
    "categorical_crossentropy logits axis=1": (lambda K, t, p: K.categorical_crossentropy(t, p, True, axis=1),
                                               [_Y3, _X3]),
    "categorical_crossentropy of K.softmax (probabilities, clipped)": (
        lambda K, t, p: K.categorical_crossentropy(t, K.softmax(p)), [_Y3, _X3 * 20]),
    "categorical_crossentropy rows summing to 0 or negative": (
        lambda K, t, p: K.categorical_crossentropy(t, p), [np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]]),
                                                          np.array([[0.0, 0.0], [0.3, 0.2], [-0.5, 1.0]])]),
    "sparse (N,T) labels, (N,T,C) output": (lambda K, t, p: K.sparse_categorical_crossentropy(t, p), [_LAB, _P3]),
    "sparse (N,T,1) labels": (lambda K, t, p: K.sparse_categorical_crossentropy(t, p), [_LAB[..., None], _P3]),
    "sparse (N,1) labels, (N,C)": (lambda K, t, p: K.sparse_categorical_crossentropy(t, p), [_LAB[:, :1], _P3[:, 0]]),
    "sparse int32 labels": (lambda K, t, p: K.sparse_categorical_crossentropy(t, p), [_LAB.astype("int32"), _P3]),
    "sparse float labels 1.9 / -0.5 truncate": (lambda K, t, p: K.sparse_categorical_crossentropy(t, p),
                                                [np.array([1.9, 0.2, 0.5]), np.array([[0.2, 0.8], [0.5, 0.5],
                                                                                      [0.9, 0.1]])]),
    "sparse logits axis=1, (N,H,W) labels": (lambda K, t, p: K.sparse_categorical_crossentropy(t, p, True, axis=1),
                                             [_RNG.integers(0, 3, size=(2, 2, 2)).astype(float),
                                              _RNG.normal(size=(2, 3, 2, 2))]),
    "sparse logits axis=1, (N,1,H,W) labels": (
        lambda K, t, p: K.sparse_categorical_crossentropy(t, p, True, axis=1),
        [_RNG.integers(0, 3, size=(2, 1, 2, 2)).astype(float), _RNG.normal(size=(2, 3, 2, 2))]),
    "sparse ignore_class=2": (lambda K, t, p: K.sparse_categorical_crossentropy(t, p, ignore_class=2), [_LAB, _P3]),
    "sparse ignore_class=-1 (int labels)": (
        lambda K, t, p: K.sparse_categorical_crossentropy(t, p, ignore_class=-1),
        [np.array([-1, 1, 0], "int32"), np.array([[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]])]),
    "sparse ignore_class, every label ignored": (
        lambda K, t, p: K.sparse_categorical_crossentropy(t, p, ignore_class=0),
        [np.array([0, 0], "int32"), np.array([[0.2, 0.8], [0.5, 0.5]])]),
    "binary_focal balanced alpha 0.4 gamma 1.5": (
        lambda K, t, p: K.binary_focal_crossentropy(t, p, True, 0.4, 1.5), [_Y3, _P3]),
    "binary_focal from logits": (lambda K, t, p: K.binary_focal_crossentropy(t, p, from_logits=True), [_Y3, _X3 * 5]),
    "categorical_focal alpha per class": (
        lambda K, t, p: K.categorical_focal_crossentropy(t, p, alpha=[0.1, 0.2, 0.3, 0.4]), [_Y3, _P3]),
    "categorical_focal from logits axis=1": (
        lambda K, t, p: K.categorical_focal_crossentropy(t, p, from_logits=True, axis=1), [_Y3, _X3]),
}

_INT_CASES = {  # integer/boolean inputs and results: exact
    "mean int32 (truncated)": (lambda K, a: K.mean(a, 1), [np.array([[-1, -2, -2], [3, 4, 6]], "int32")]),
    "mean int64 all": (lambda K, a: K.mean(a), [np.array([[-1, -2, -2], [3, 4, 6]], "int64")]),
    "sum int32 stays int32": (lambda K, a: K.sum(a, 0), [np.array([[-1, -2, -2], [3, 4, 6]], "int32")]),
    "sum uint8 wraps": (lambda K, a: K.sum(a, 1), [np.array([[255, 255, 1]], "uint8")]),
    "max / prod / cumsum int": (lambda K, a: K.concatenate([K.max(a, 1), K.prod(a, 1), K.cumsum(a, 1)[:, -1]], 0),
                                [np.array([[-1, -2, -2], [3, 4, 6]], "int32")]),
    "argmax int axis 0": (lambda K, a: K.argmax(a, 0), [np.array([[-1, 5, -2], [3, 4, 6]], "int32")]),
    "argmin 3-D axis 1 ties": (lambda K, a: K.argmin(a, 1), [_RNG.integers(0, 3, size=(2, 4, 3)).astype("int32")]),
    "one_hot int32 2-D, out-of-range ids": (lambda K, a: K.one_hot(a, 4), [np.array([[0, -1, 3], [4, 2, 1]], "int32")]),
    "one_hot uint8": (lambda K, a: K.one_hot(a, 3), [np.array([0, 2, 1], "uint8")]),
    "cast float -> int32 truncates": (lambda K, a: K.cast(a * 0 + K.constant([-1.7, 1.7, 2.5], dtype=a.dtype),
                                                          "int32"), [np.zeros(3)]),
    "equal float vs Python int": (lambda K, a: K.equal(K.round(a), 1), [np.array([1.0, 0.0, 0.6])]),
    "any / all with keepdims": (lambda K, a: K.concatenate([K.any(a, 1, True), K.all(a, 1, True)], 1),
                                [np.array([[0.0, 0.0], [0.0, np.nan], [1.0, 2.0]])]),
    "in_top_k ties, k past the classes": (
        lambda K, p, t: K.concatenate([K.in_top_k(p, t, 5), K.in_top_k(p, t, 1), K.in_top_k(p, t, 0)], 0),
        [np.array([[0.1, 0.2, 0.2], [0.3, 0.3, 0.3]], "float32"), np.array([1, 2], "int32")]),
    "shape": (lambda K, a: K.shape(a), [np.zeros((2, 3, 1))]),
    "arange negative stop, float step": (lambda K, a: K.concatenate([K.cast(K.arange(-3), "float64"),
                                                                     K.arange(0, 1, 0.25, dtype="float64")], 0),
                                         [np.zeros(1)]),
    "zeros_like int32 / ones int32": (lambda K, a: K.concatenate([K.zeros_like(a, dtype="int32"),
                                                                  K.ones((2, 2), dtype="int32")], 0),
                                      [np.zeros((2, 2))]),
}


def _cast_inputs(arrays, dt):
    return [a.astype(dt) if a.dtype.kind == "f" and a.dtype != np.float32 else a for a in arrays]


@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_k_shapes_and_broadcasting_like_tf_keras_backend(dt):
    """batch_dot over every axis rule, dot above 2-D, repeat/tile/concatenate, switch with conditions of every rank
    (rank 1 broadcasts against the last axis; rank >= 2 gets trailing axes), map_fn/foldl: values and gradients."""
    with _precision(dt):
        for name, (fn, arrays) in _SHAPE_CASES.items():
            _k_compare(name, fn, _cast_inputs(arrays, dt), dt)


@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_k_math_at_kinks_ties_and_bounds_like_tf_keras_backend(dt):
    """Activations at their kinks, clips with numpy/tensor/int bounds (numpy float32 bounds swapped are not Python
    floats: no swap in Keras), round half to even, sqrt/pow at 0 and below, ties of maximum/minimum under
    broadcasting, reductions over lists/empty tuples, boolean means in floatx."""
    with _precision(dt):
        for name, (fn, arrays) in _MATH_CASES.items():
            if fn is None:  # Keras 3's legacy backend has no logsumexp; Keras 2's was tf.reduce_logsumexp
                x = _cast_inputs(arrays, dt)[0]
                kv, tv = tf.reduce_logsumexp(tf.constant(x), 1), KP.logsumexp(torch.tensor(x), 1)
                _assert_same(name, tv.numpy(), kv.numpy(), dt)
                continue
            _k_compare(name, fn, _cast_inputs(arrays, dt), dt)


@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_k_crossentropies_axes_label_ranks_ignore_class(dt):
    """The legacy crossentropies: broadcasting in binary_crossentropy, ``axis=1``, probabilities that sum to 0 or
    hold negatives, sparse labels of every rank (float ids truncate), channels-first ``axis=1``,
    ``ignore_class`` (also of every label), focal variants: values and gradients."""
    with _precision(dt):
        for name, (fn, arrays) in _XENT_CASES.items():
            _k_compare(name, fn, _cast_inputs(arrays, dt), dt)


@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_k_integer_and_boolean_results_exactly(dt):
    """Integer reductions keep their dtype (means truncate, sums wrap as TensorFlow's), argmax/argmin int64,
    one_hot float32 rows of zeros out of range, in_top_k with ties, shape int32: exactly as Keras."""
    with _precision(dt):
        for name, (fn, arrays) in _INT_CASES.items():
            _k_compare(name, fn, _cast_inputs(arrays, dt), dt, grad=False)


def test_k_mean_of_narrow_integers_accumulates_wide_like_tensorflow():
    """The docstring: "integers give the truncated integer mean". TensorFlow's mean of a uint8 image mask
    ``[255, 255, 1]`` is ``511 // 3 = 170`` (its sum wraps to 255, its mean does not)."""
    cases = [np.array([[255, 255, 1]], "uint8"), np.array([[100, 100, 50]], "int8"),
             np.array([[30000, 30000, 3]], "int16"), np.array([[2**31 - 1, 2**31 - 1, 1]], "int32")]
    bad = []
    for a in cases:
        k, t = KT.mean(tf.constant(a), 1).numpy(), KP.mean(torch.tensor(a), 1).numpy()
        print(f"  K.mean({a.dtype} {a.tolist()}, 1): Keras {k.tolist()} torch_impl {t.tolist()}")
        if not np.array_equal(k, t):
            bad.append(str(a.dtype))
    assert not bad, bad


def test_k_argmax_of_booleans():
    """``K.argmax(K.greater(x, t))`` (the first element above a threshold) works in Keras: ``[1]`` for
    ``[[False, True, True]]``."""
    for fn, v, expected in [("argmax", [[False, True, True]], [1]), ("argmin", [[True, False, True]], [1])]:
        k = getattr(KT, fn)(tf.constant(v)).numpy()
        print(f"  K.{fn}({v}): Keras {k.tolist()}")
        assert k.tolist() == expected
        t = getattr(KP, fn)(torch.tensor(v)).numpy()
        print(f"  K.{fn}({v}): torch_impl {t.tolist()}")
        assert t.tolist() == k.tolist()


@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_k_set_epsilon_reaches_every_crossentropy(dt):
    """``K.set_epsilon(1e-3)`` (Keras: ``keras.config.set_epsilon``) changes the clip and the ``+ eps`` inside the
    logs of all five crossentropies."""
    t3, p3 = np.array([1.0, 0.0, 1.0], dt), np.array([0.0, 0.0, 0.5], dt)
    fns = {"binary": lambda K, t, p: K.binary_crossentropy(t, p),
           "categorical": lambda K, t, p: K.categorical_crossentropy(t[None], p[None]),
           "sparse": lambda K, t, p: K.sparse_categorical_crossentropy(K.cast(t[:1] * 2, "int32"), p[None] + 0.1),
           "binary_focal": lambda K, t, p: K.binary_focal_crossentropy(t, p),
           "categorical_focal": lambda K, t, p: K.categorical_focal_crossentropy(t[None], p[None])}
    with _precision(dt):
        old_k, old_t = keras.config.epsilon(), KP.epsilon()
        try:
            keras.config.set_epsilon(1e-3)
            KP.set_epsilon(1e-3)
            assert KT.epsilon() == KP.epsilon() == 1e-3
            for name, fn in fns.items():
                _k_compare(f"eps=1e-3 {name}", fn, [t3, p3], dt)
        finally:
            keras.config.set_epsilon(old_k)
            KP.set_epsilon(old_t)


# ---- K inside losses and metrics trained by fit ----------------------------------------------------------------


def _k_weighted_cce(K):
    w = K.variable([1.0, 2.0, 0.5])  # made once, outside the traced loss (Keras: a tf.Variable)

    def weighted_cce(y_true, y_pred):
        y_pred = y_pred / K.sum(y_pred, axis=-1, keepdims=True)
        y_pred = K.clip(y_pred, K.epsilon(), 1 - K.epsilon())
        return -K.sum(y_true * K.log(y_pred) * w, -1)
    return weighted_cce


def _k_focal(K):
    def focal(y_true, y_pred):
        y_pred = K.clip(y_pred, K.epsilon(), 1.0 - K.epsilon())
        p_t = K.switch(K.equal(y_true, 1), y_pred, 1 - y_pred)
        return K.mean(-0.25 * K.pow(1.0 - p_t, 2.0) * K.log(p_t), axis=-1)
    return focal


def _k_dice(K):
    def dice(y_true, y_pred):  # one number per batch
        yt, yp = K.flatten(y_true), K.flatten(y_pred)
        return 1 - (2.0 * K.sum(yt * yp) + 1.0) / (K.sum(yt) + K.sum(yp) + 1.0)
    return dice


def _k_contrastive(K):
    def contrastive(y_true, y_pred):
        return K.mean(y_true * K.square(y_pred) + (1 - y_true) * K.square(K.maximum(1.0 - y_pred, 0)))
    return contrastive


def _k_bce(K):
    def bce(y_true, y_pred):
        return K.mean(K.binary_crossentropy(y_true, y_pred), axis=-1)
    return bce


def _k_sparse_ignore(K):
    def sparse_ignore0(y_true, y_pred):  # carries a Keras mask: the reduction skips class 0
        return K.sparse_categorical_crossentropy(y_true, y_pred, ignore_class=0)
    return sparse_ignore0


def _k_pearson(K):
    def pearson(y_true, y_pred):
        xm, ym = y_pred - K.mean(y_pred), y_true - K.mean(y_true)
        r = K.sum(xm * ym) / (K.sqrt(K.sum(K.square(xm)) * K.sum(K.square(ym))) + 1e-7)
        return 1 - r + K.var(y_pred) * 0.1
    return pearson


def _k_cosine(K):
    def cosine(y_true, y_pred):
        return -K.sum(K.l2_normalize(y_true, -1) * K.l2_normalize(y_pred, -1), axis=-1)
    return cosine


def _k_sparse_logits(K):
    def sparse_logits(y_true, y_pred):
        return K.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)
    return sparse_logits


def _k_temporal(K):
    def temporal(y_true, y_pred):  # (N, T) values: a (N, T) sample weight weighs each
        return K.square(y_true - y_pred)
    return temporal


def _k_accuracy_metric(K):
    def top_acc(y_true, y_pred):
        return K.mean(K.cast(K.equal(K.argmax(y_true, -1), K.argmax(y_pred, -1)), K.floatx()))
    return top_acc


_FIT_DATA = np.random.default_rng(5)
_FX = _FIT_DATA.normal(size=(40, 5))
_FCLS = np.argmax(_FX[:, :3] + _FIT_DATA.normal(size=(40, 3)) * 0.5, -1)
_FSW = _FIT_DATA.uniform(0.2, 2.0, size=40)

# name -> (loss factory, outputs, output activation, labels, extra fit arguments)
_K_FIT_CASES = {
    "weighted_cce softmax": (_k_weighted_cce, 3, "softmax", np.eye(3)[_FCLS], {}),
    "focal via switch, (N,) labels vs (N,1) sigmoid": (_k_focal, 1, "sigmoid", (_FX[:, 0] > 0) * 1.0, {}),
    "dice over the batch": (_k_dice, 1, "sigmoid", (_FX[:, :1] > 0) * 1.0, {}),
    "contrastive, linear output": (_k_contrastive, 1, None, (_FX[:, :1] > 0) * 1.0, {}),
    "K.binary_crossentropy, (N,) labels": (_k_bce, 1, "sigmoid", (_FX[:, 0] > 0) * 1.0, {}),
    "sparse ignore_class=0 (masked mean)": (_k_sparse_ignore, 3, "softmax", _FCLS, {}),
    "pearson with K.var": (_k_pearson, 1, None, _FX[:, :1] * 2 + 1, {}),
    "cosine with l2_normalize": (_k_cosine, 3, None, np.eye(3)[_FCLS] + 0.1, {}),
    "sparse logits + class_weight": (_k_sparse_logits, 3, None, _FCLS, {"class_weight": {0: 1.0, 1: 3.0, 2: 0.5}}),
    "sparse logits + sample_weight": (_k_sparse_logits, 3, None, _FCLS, {"sample_weight": _FSW}),
    "per-timestep values + (N,T) sample_weight": (_k_temporal, 4, None, _FX[:, :4] * 0.5,
                                                  {"sample_weight": _FIT_DATA.uniform(0, 1, size=(40, 4))}),
}
_K_FIT_DEFAULT = {("weighted_cce softmax", "float64"), ("focal via switch, (N,) labels vs (N,1) sigmoid", "float32"),
                  ("dice over the batch", "float64"), ("sparse ignore_class=0 (masked mean)", "float32"),
                  ("per-timestep values + (N,T) sample_weight", "float64")}


@pytest.mark.parametrize("case,dt", [(c, dt) if (c, dt) in _K_FIT_DEFAULT else
                                     pytest.param(c, dt, marks=pytest.mark.slow)
                                     for c in _K_FIT_CASES for dt in ("float64", "float32")])
def test_k_loss_in_fit_like_keras_model_fit(case, dt):
    """A Keras-2 loss written with ``K`` (and a ``K`` accuracy metric), ``compile(loss=fn, metrics=[metric])`` +
    ``fit`` (Adam, batch 16 of 40: a partial batch, 3 epochs, no shuffle) against the same function with
    ``torch_impl.keras_backend`` in ``torch_impl.fit``; then ``evaluate``."""
    factory, n_out, act, y, extra = _K_FIT_CASES[case]
    with _precision(dt):
        km, net = _pair(5, 6, n_out, act)
        kw = {k: (v.astype(dt) if isinstance(v, np.ndarray) else v) for k, v in extra.items()}
        x, y = _FX.astype(dt), y.astype(dt)
        km.compile(optimizer=keras.optimizers.Adam(0.05), loss=factory(KT), metrics=[_k_accuracy_metric(KT)])
        kh = km.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0, **kw).history
        th = tfit.fit(net, x, y, loss=factory(KP), metrics=[_k_accuracy_metric(KP)],
                      optimizer=optim.Adam(net.parameters(), learning_rate=0.05), batch_size=16, epochs=3,
                      shuffle=False, verbose=0, **kw).history
        _check_history(th, kh, dt)
        ek = km.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
        et = tfit.evaluate(net, x, y, loss=factory(KP), metrics=[_k_accuracy_metric(KP)], batch_size=16)
        _check_logs(et, ek, dt, "evaluate")


# ==============================================================================================================
# 2. data adapters: fit / evaluate / predict on batches
# ==============================================================================================================

_DR = np.random.default_rng(0)
_DX = _DR.normal(size=(45, 5))
_DY = np.argmax(_DX[:, :3] + _DR.normal(size=(45, 3)) * 0.5, -1)
_DY2 = _DX[:, :2] @ _DR.normal(size=(2, 2))
_DSW = _DR.uniform(0.2, 2.0, size=45)
_SIZES = (10, 7, 3, 12, 13)  # 45 samples, uneven batches


def _batches(dt, endless=False, as_torch=False, with_sw=False, sizes=_SIZES):
    while True:
        i = 0
        for s in sizes:
            b = (_DX[i:i + s].astype(dt), _DY[i:i + s], _DSW[i:i + s].astype(dt))
            if as_torch:
                b = tuple(torch.tensor(v) for v in b)
            yield b if with_sw else b[:2]
            i += s
        if not endless:
            return


def _fit_both(dt, k_data, t_data, k_kw=None, t_kw=None, epochs=3, metrics=("accuracy",), weighted=(),
              py_seed=None, torch_seed=None, k_callbacks=None, t_callbacks=None):
    """The same MLP trained by Keras's fit and torch_impl's on fresh data objects from ``k_data()`` / ``t_data()``;
    returns both histories and both models (and the ``Your input ran out of data`` warnings counted)."""
    km, net = _pair(5, 6, 3, "softmax")
    km.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy",
               metrics=list(metrics), weighted_metrics=list(weighted))
    out = {}
    for side in ("keras", "torch"):
        data = k_data() if side == "keras" else t_data()
        if py_seed is not None:
            random.seed(py_seed)
        if torch_seed is not None:
            torch.manual_seed(torch_seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if side == "keras":
                with upstream_epoch_iterator():  # warns only with steps_per_epoch, as torch_impl (#23360)
                    h = km.fit(data, epochs=epochs, verbose=0, callbacks=k_callbacks() if k_callbacks else None,
                               **(k_kw or {})).history
            else:
                h = tfit.fit(net, data, loss="sparse_categorical_crossentropy", metrics=list(metrics),
                             weighted_metrics=list(weighted),
                             optimizer=optim.Adam(net.parameters(), learning_rate=0.05), epochs=epochs, verbose=0,
                             callbacks=t_callbacks() if t_callbacks else (), **(t_kw or {})).history
        out[side] = (h, data, sum("ran out of data" in str(w.message) for w in caught))
    return out, km, net


@pytest.mark.parametrize("dt", [pytest.param("float64"), pytest.param("float32", marks=pytest.mark.slow)])
def test_generator_of_uneven_batches_with_steps_and_continued_passes(dt):
    """An endless generator of batches of 10, 7, 3, 12, 13 samples: ``steps_per_epoch=5`` (one pass an epoch; the
    epoch loss weighs each batch by its size) and ``steps_per_epoch=3`` (the pass continues across epochs)."""
    with _precision(dt):
        for steps in (5, 3):
            print(f" steps_per_epoch={steps}")
            out, _, _ = _fit_both(dt, lambda: _batches(dt, True), lambda: _batches(dt, True),
                                  dict(steps_per_epoch=steps), dict(steps_per_epoch=steps))
            _check_history(out["torch"][0], out["keras"][0], dt)


@pytest.mark.parametrize("dt", [pytest.param("float64"), pytest.param("float32", marks=pytest.mark.slow)])
def test_finite_generator_runs_out_like_keras(dt):
    """A finite generator: without ``steps_per_epoch`` (epoch 1 reads it to the end, later epochs get the two
    batches Keras read first; 3.15.1 warns each epoch, later Keras and torch_impl do not: keras-team/keras#23360)
    and with ``steps_per_epoch=4`` (the input runs out in epoch 2, with the warning)."""
    with _precision(dt):
        for kw in ({}, dict(steps_per_epoch=4)):
            out, _, _ = _fit_both(dt, lambda: _batches(dt), lambda: _batches(dt), kw, kw)
            print(f" {kw}: 'ran out of data' warnings Keras {out['keras'][2]} torch_impl {out['torch'][2]}")
            _check_history(out["torch"][0], out["keras"][0], dt)
            # keras-team/keras#23360 (followed): the warning only with steps_per_epoch (3.15.1: also without)
            assert out["torch"][2] == out["keras"][2] and (out["keras"][2] > 0) == bool(kw)


def test_generator_of_torch_tensors_equals_generator_of_numpy():
    """A generator of torch tensors (x, y int64 labels, sample weights) trains exactly as the same batches in
    NumPy do, in Keras and here."""
    dt = "float64"
    with _precision(dt):
        out_np, _, _ = _fit_both(dt, lambda: _batches(dt, True, with_sw=True),
                                 lambda: _batches(dt, True, as_torch=True, with_sw=True),
                                 dict(steps_per_epoch=5), dict(steps_per_epoch=5))
        _check_history(out_np["torch"][0], out_np["keras"][0], dt)
        out_t, _, _ = _fit_both(dt, lambda: _batches(dt, True, with_sw=True),
                                lambda: _batches(dt, True, with_sw=True), dict(steps_per_epoch=5),
                                dict(steps_per_epoch=5))
        for k in out_np["torch"][0]:
            print(f"  {k}: torch tensors {out_np['torch'][0][k]} numpy {out_t['torch'][0][k]}")
            assert out_np["torch"][0][k] == out_t["torch"][0][k]


@pytest.mark.parametrize("dt", [pytest.param("float64"), pytest.param("float32", marks=pytest.mark.slow)])
def test_sample_weights_in_batches_weighted_metrics_and_generator_validation(dt):
    """``(x, y, sample_weight)`` batches with ``weighted_metrics``; validation on a finite generator (read to its end
    at the first validation, its two first batches afterwards)."""
    with _precision(dt):
        out, km, net = _fit_both(dt, lambda: _batches(dt, True, with_sw=True), lambda: _batches(dt, True, with_sw=True),
                                 dict(steps_per_epoch=5, validation_data=_batches(dt)),
                                 dict(steps_per_epoch=5, validation_data=_batches(dt)), weighted=("accuracy",))
        _check_history(out["torch"][0], out["keras"][0], dt)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for steps in (None, 2):
                ek = km.evaluate(_batches(dt, with_sw=True), steps=steps, verbose=0, return_dict=True)
                et = tfit.evaluate(net, _batches(dt, with_sw=True), steps=steps, loss="sparse_categorical_crossentropy",
                                   metrics=["accuracy"], weighted_metrics=["accuracy"])
                _check_logs(et, ek, dt, f"evaluate(steps={steps})")
            for steps in (None, 3):
                pk = km.predict(_batches(dt), steps=steps, verbose=0)
                pt = tfit.predict(net, _batches(dt), steps=steps)
                print(f"  predict(steps={steps}): shapes Keras {pk.shape} torch_impl {pt.shape} rel {_gap(pt, pk):.1e}")
                assert pt.shape == pk.shape and _gap(pt, pk) <= TOL[dt]


class _TwoHeads(torch.nn.Module):
    """The port of ``Model({"a": (3,), "b": (2,)}, [Dense(3, softmax, name="cls"), Dense(2, name="reg")])``."""

    def __init__(self, weights):
        super().__init__()
        self.h, self.c, self.r = torch.nn.Linear(5, 6), torch.nn.Linear(6, 3), torch.nn.Linear(6, 2)
        with torch.no_grad():
            for lin, kernel, bias in zip([self.h, self.c, self.r], weights[::2], weights[1::2]):
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.T)))
                lin.bias.copy_(torch.from_numpy(bias))
        self.output_names, self.output_activation = ["cls", "reg"], ["softmax", None]

    def forward(self, a, b):
        h = torch.relu(self.h(torch.cat([a, b], -1)))
        return [self.c(h), self.r(h)]


def _keras_two_heads():
    keras.utils.set_random_seed(0)
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    h = layers.Dense(6, activation="relu")(layers.Concatenate()([a, b]))
    return keras.Model({"a": a, "b": b}, [layers.Dense(3, activation="softmax", name="cls")(h),
                                          layers.Dense(2, name="reg")(h)])


def _dict_batches(dt, y_style, endless=True, sizes=_SIZES):
    while True:
        i = 0
        for s in sizes:
            x = {"a": _DX[i:i + s, :3].astype(dt), "b": _DX[i:i + s, 3:].astype(dt)}
            y1, y2 = _DY[i:i + s], _DY2[i:i + s].astype(dt)
            yield x, ({"cls": y1, "reg": y2} if y_style == "dict" else (y1, y2))
            i += s
        if not endless:
            return


_TWO_HEAD_COMPILE = dict(loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5],
                         metrics=[["accuracy"], ["mae"]])


@pytest.mark.parametrize("dt,y_style", [("float64", "dict"), pytest.param("float32", "tuple", marks=pytest.mark.slow),
                                        pytest.param("float64", "tuple", marks=pytest.mark.slow),
                                        pytest.param("float32", "dict", marks=pytest.mark.slow)])
def test_dict_inputs_and_multi_output_labels_in_batches(dt, y_style):
    """Batches ``({"a": ..., "b": ...}, {"cls": y1, "reg": y2})`` (or a tuple of labels) from an endless generator
    of uneven batches for a two-input, two-output model: ``loss``, ``cls_loss``, ``reg_loss``, per-output metrics
    (validation on arrays); then ``evaluate(steps=3)`` and ``predict(steps=4)`` on generators."""
    with _precision(dt):
        km = _keras_two_heads()
        net = _TwoHeads([w.numpy() for w in km.weights])
        km.compile(optimizer=keras.optimizers.Adam(0.05), **_TWO_HEAD_COMPILE)
        val = ({"a": _DX[:20, :3].astype(dt), "b": _DX[:20, 3:].astype(dt)},
               {"cls": _DY[:20], "reg": _DY2[:20].astype(dt)} if y_style == "dict"
               else (_DY[:20], _DY2[:20].astype(dt)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kh = km.fit(_dict_batches(dt, y_style), steps_per_epoch=5, epochs=3, verbose=0,
                        validation_data=val).history
            th = tfit.fit(net, _dict_batches(dt, y_style), steps_per_epoch=5, epochs=3, verbose=0,
                          validation_data=val, optimizer=optim.Adam(net.parameters(), learning_rate=0.05),
                          **_TWO_HEAD_COMPILE).history
            _check_history(th, kh, dt)
            ek = km.evaluate(_dict_batches(dt, y_style), steps=3, verbose=0, return_dict=True)
            et = tfit.evaluate(net, _dict_batches(dt, y_style), steps=3, **_TWO_HEAD_COMPILE)
            _check_logs(et, ek, dt, "evaluate(steps=3)")
            pk = km.predict(_dict_batches(dt, y_style), steps=4, verbose=0)
            pt = tfit.predict(net, _dict_batches(dt, y_style), steps=4)
        for i, (a, b) in enumerate(zip(pt, pk)):
            print(f"  predict(steps=4) output {i}: shapes Keras {b.shape} torch_impl {a.shape} rel {_gap(a, b):.1e}")
            assert a.shape == b.shape and _gap(a, b) <= TOL[dt]


class _TwoLinear(torch.nn.Module):
    def __init__(self, weights):
        super().__init__()
        self.a, self.b = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
        with torch.no_grad():
            for lin, kernel, bias in zip([self.a, self.b], weights[::2], weights[1::2]):
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.T)))
                lin.bias.copy_(torch.from_numpy(bias))
        self.output_names = ["a", "b"]

    def forward(self, x):
        return [self.a(x), self.b(x)]


def test_multi_output_losses_when_an_evaluation_generator_runs_out():
    """The module docstring: a step whose input runs out "still advances ... the per-batch means (as Keras's
    compiled step does)". Keras's test step does that too: a two-output model evaluated on a generator of 3
    batches logs ``a_loss = (l1 + l2 + l3) / 4``; ``loss`` (weighted by the batch sizes) is unaffected. The same
    in ``fit``'s validation on a generator (epoch 1: 3 batches / 4 steps; later: the 2 replayed / 3)."""
    rng = np.random.default_rng(0)
    x, y1, y2 = rng.normal(size=(12, 2)), rng.normal(size=(12, 1)), rng.normal(size=(12, 1))

    def gen():
        for i in range(0, 12, 4):
            yield x[i:i + 4], (y1[i:i + 4], y2[i:i + 4])

    with _precision("float64"):
        keras.utils.set_random_seed(0)
        inp = keras.Input((2,))
        km = keras.Model(inp, [layers.Dense(1, name="a")(inp), layers.Dense(1, name="b")(inp)])
        km.compile(optimizer=keras.optimizers.SGD(0.1), loss=["mse", "mse"])
        net = _TwoLinear([w.numpy() for w in km.weights])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ek = km.evaluate(gen(), verbose=0, return_dict=True)
            ea = km.evaluate(x, [y1, y2], batch_size=4, verbose=0, return_dict=True)
            et = tfit.evaluate(net, gen(), loss=["mse", "mse"])
            print(f"  Keras on arrays {ea}")
            assert abs(ek["a_loss"] - ea["a_loss"] * 3 / 4) <= 1e-12 * ea["a_loss"]  # Keras: 3 batches over 4 steps
            _check_logs(et, ek, "float64", "evaluate(generator)")
            kh = km.fit(gen(), epochs=3, verbose=0, validation_data=gen()).history
            th = tfit.fit(net, gen(), epochs=3, verbose=0, validation_data=gen(), loss=["mse", "mse"],
                          optimizer=optim.SGD(net.parameters(), learning_rate=0.1)).history
        _check_history(th, kh, "float64")


class _KerasBatches(keras.utils.PyDataset):
    """A PyDataset of ``batch``-sample batches of the 45 samples (the last partial) that records its calls."""

    def __init__(self, dt, batch=10, labels="int", with_sw=False, **kwargs):
        super().__init__(**kwargs)
        self.dt, self.batch, self.labels, self.with_sw = dt, batch, labels, with_sw
        self.ends, self.begins, self.calls = 0, 0, []

    def __len__(self):
        return math.ceil(len(_DX) / self.batch)

    def __getitem__(self, i):
        self.calls.append(i)
        sl = slice(i * self.batch, (i + 1) * self.batch)
        y = {"int": _DY[sl], "onehot": np.eye(3)[_DY[sl]].astype(self.dt), "column": _DY[sl][:, None],
             "float": _DY[sl].astype(self.dt)}[self.labels]
        b = (_DX[sl].astype(self.dt), y)
        return b + (_DSW[sl].astype(self.dt),) if self.with_sw else b

    def on_epoch_begin(self):
        self.begins += 1

    def on_epoch_end(self):
        self.ends += 1


class _DuckBatches:
    """The same object without Keras: ``__len__``, ``__getitem__``, ``on_epoch_begin``, ``on_epoch_end``."""

    def __init__(self, dt, batch=10, labels="int", with_sw=False):
        self.dt, self.batch, self.labels, self.with_sw = dt, batch, labels, with_sw
        self.ends, self.begins, self.calls = 0, 0, []

    __len__ = _KerasBatches.__len__
    __getitem__ = _KerasBatches.__getitem__
    on_epoch_begin = _KerasBatches.on_epoch_begin
    on_epoch_end = _KerasBatches.on_epoch_end


_CW = {0: 1.0, 1: 3.0, 2: 0.5}


@pytest.mark.parametrize("labels,class_weight,loss_kind,dt", [
    ("int", _CW, "sparse", "float64"), ("onehot", _CW, "categorical", "float32"),
    pytest.param("int", _CW, "sparse", "float32", marks=pytest.mark.slow),
    pytest.param("onehot", _CW, "categorical", "float64", marks=pytest.mark.slow),
    pytest.param("column", {1: 4.0}, "sparse", "float64", marks=pytest.mark.slow),  # (N, 1); missing classes weigh 1
])
def test_pydataset_class_weight_per_batch(labels, class_weight, loss_kind, dt):
    """``class_weight`` on a PyDataset (Keras's weight of each batch from its labels: ids, one-hot argmax, (N, 1)
    squeezed, missing classes 1.0) with ``weighted_metrics``; the PyDataset's ``__getitem__`` calls (two read
    ahead first) and its ``on_epoch_begin``/``on_epoch_end`` counts, as Keras's."""
    loss = f"{loss_kind}_crossentropy" if loss_kind == "categorical" else "sparse_categorical_crossentropy"
    with _precision(dt):
        km, net = _pair(5, 6, 3, "softmax")
        km.compile(optimizer=keras.optimizers.Adam(0.05), loss=loss, metrics=["accuracy"],
                   weighted_metrics=["accuracy"])
        kd, td = _KerasBatches(dt, labels=labels), _DuckBatches(dt, labels=labels)
        kh = km.fit(kd, epochs=3, verbose=0, shuffle=False, class_weight=class_weight).history
        th = tfit.fit(net, td, loss=loss, metrics=["accuracy"], weighted_metrics=["accuracy"], epochs=3, verbose=0,
                      shuffle=False, class_weight=class_weight,
                      optimizer=optim.Adam(net.parameters(), learning_rate=0.05)).history
        _check_history(th, kh, dt)
        print(f"  calls Keras {kd.calls}\n        torch_impl {td.calls}\n  on_epoch_begin {kd.begins}/{td.begins} "
              f"on_epoch_end {kd.ends}/{td.ends}")
        assert td.calls == kd.calls and (td.begins, td.ends) == (kd.begins, kd.ends)


@pytest.mark.parametrize("dt", [pytest.param("float64"), pytest.param("float32", marks=pytest.mark.slow)])
def test_pydataset_shuffled_with_python_random_and_steps(dt):
    """``shuffle=True`` shuffles a PyDataset's batch order with Python's ``random`` (seeded alike before each fit):
    a whole pass per epoch, then ``steps_per_epoch=3`` of 7 batches with ``class_weight`` (passes continued, an
    epoch ending early); and validation on a PyDataset."""
    with _precision(dt):
        out, _, _ = _fit_both(dt, lambda: _KerasBatches(dt, batch=7), lambda: _DuckBatches(dt, batch=7),
                              dict(shuffle=True, validation_data=_KerasBatches(dt, batch=20)),
                              dict(shuffle=True, validation_data=_DuckBatches(dt, batch=20)), py_seed=123)
        _check_history(out["torch"][0], out["keras"][0], dt)
        print(f"  calls Keras {out['keras'][1].calls}\n        torch_impl {out['torch'][1].calls}")
        assert out["torch"][1].calls == out["keras"][1].calls
        out, _, _ = _fit_both(dt, lambda: _KerasBatches(dt, batch=7), lambda: _DuckBatches(dt, batch=7),
                              dict(shuffle=True, steps_per_epoch=3, class_weight=_CW),
                              dict(shuffle=True, steps_per_epoch=3, class_weight=_CW), py_seed=1, epochs=4)
        _check_history(out["torch"][0], out["keras"][0], dt)
        kc, tc = out["keras"][1].calls, out["torch"][1].calls
        print(f"  calls Keras {kc}\n        torch_impl {tc} (Keras's tf.data may read ahead at the end)")
        assert kc[:len(tc)] == tc  # tf.data's read-ahead (timing-dependent, not reproduced) may read more


def _loader(dt, batch=8, shuffle=False, drop_last=False):
    return DataLoader(TensorDataset(torch.tensor(_DX.astype(dt)), torch.tensor(_DY)), batch_size=batch,
                      shuffle=shuffle, drop_last=drop_last)


_LOADER_CASES = ["drop_last, steps_per_epoch=7", "shuffle=True", "validation_steps=2", "drop_last",
                 "shuffle + drop_last, steps_per_epoch=4", "batch 1, shuffle, steps_per_epoch=10"]


@pytest.mark.parametrize("dt,cases", [("float64", _LOADER_CASES[:3]),
                                      pytest.param("float64", _LOADER_CASES[3:], marks=pytest.mark.slow),
                                      pytest.param("float32", _LOADER_CASES, marks=pytest.mark.slow)])
def test_dataloader_drop_last_shuffle_and_validation_steps(dt, cases):
    """The same DataLoader objects handed to Keras's fit and to torch_impl's: ``drop_last=True`` (5 batches of 8,
    the last 5 samples never seen), with ``steps_per_epoch=7`` (passes continued); ``shuffle=True`` under the same
    torch seed (Keras reads the loader once more before training); validation on a loader with
    ``validation_steps=2``; a loader of 1-sample batches with steps not dividing its length."""
    with _precision(dt):
        for name, mk, kw, seed in [
            ("drop_last", lambda: _loader(dt, drop_last=True), {}, None),
            ("drop_last, steps_per_epoch=7", lambda: _loader(dt, drop_last=True), dict(steps_per_epoch=7), None),
            ("shuffle=True", lambda: _loader(dt, shuffle=True), {}, 11),
            ("shuffle + drop_last, steps_per_epoch=4", lambda: _loader(dt, shuffle=True, drop_last=True),
             dict(steps_per_epoch=4), 3),
            ("validation_steps=2", lambda: _loader(dt), dict(validation_steps=2), None),
            ("batch 1, shuffle, steps_per_epoch=10", lambda: _loader(dt, batch=1, shuffle=True),
             dict(steps_per_epoch=10), 4),
        ]:
            if name not in cases:
                continue
            print(f" {name}")
            val = (lambda: _loader(dt, batch=10)) if "validation" in name else (lambda: None)
            out, _, _ = _fit_both(dt, mk, mk, dict(kw, validation_data=val()), dict(kw, validation_data=val()),
                                  torch_seed=seed)
            _check_history(out["torch"][0], out["keras"][0], dt)


@pytest.mark.parametrize("dt", [pytest.param("float64"), pytest.param("float32", marks=pytest.mark.slow)])
def test_evaluate_and_predict_on_loaders_and_pydatasets_with_steps(dt):
    """``evaluate(steps=)``/``predict(steps=)`` on a shuffled DataLoader (same torch seed), on a PyDataset (steps
    past its length: one pass), and ``predict`` on a PyDataset giving bare arrays."""

    class KBare(_KerasBatches):
        def __getitem__(self, i):
            return super().__getitem__(i)[0]

    class TBare(_DuckBatches):
        def __getitem__(self, i):
            return _DuckBatches.__getitem__(self, i)[0]

    with _precision(dt):
        km, net = _pair(5, 6, 3, "softmax")
        km.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        for name, kd, td, steps, seed in [("shuffled loader", lambda: _loader(dt, shuffle=True),
                                           lambda: _loader(dt, shuffle=True), 3, 21),
                                          ("PyDataset, steps past its length", lambda: _KerasBatches(dt),
                                           lambda: _DuckBatches(dt), 7, None),
                                          ("PyDataset, steps=2", lambda: _KerasBatches(dt), lambda: _DuckBatches(dt),
                                           2, None)]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.manual_seed(seed or 0)
                ek = km.evaluate(kd(), steps=steps, verbose=0, return_dict=True)
                torch.manual_seed(seed or 0)
                et = tfit.evaluate(net, td(), steps=steps, loss="sparse_categorical_crossentropy",
                                   metrics=["accuracy"])
                _check_logs(et, ek, dt, f"evaluate {name}")
                torch.manual_seed(seed or 0)
                pk = km.predict(kd(), steps=steps, verbose=0)
                torch.manual_seed(seed or 0)
                pt = tfit.predict(net, td(), steps=steps)
            print(f"  predict {name}: Keras {pk.shape} torch_impl {pt.shape} rel {_gap(pt, pk):.1e}")
            assert pt.shape == pk.shape and _gap(pt, pk) <= TOL[dt]
        pk, pt = km.predict(KBare(dt), verbose=0), tfit.predict(net, TBare(dt))
        print(f"  predict on bare-array batches: Keras {pk.shape} torch_impl {pt.shape} rel {_gap(pt, pk):.1e}")
        assert pt.shape == pk.shape and _gap(pt, pk) <= TOL[dt]


def test_early_stopping_on_generator_training():
    """An endless generator (9-sample batches, ``steps_per_epoch=3``), validation arrays, ``EarlyStopping(monitor=
    "loss", patience=1, min_delta=0.02)`` out of 30 epochs: the same stopping epoch and history."""
    dt = "float64"

    def gen():
        while True:
            for i in range(0, 45, 9):
                yield _DX[i:i + 9].astype(dt), _DY[i:i + 9]

    with _precision(dt):
        out, _, _ = _fit_both(dt, gen, gen, dict(steps_per_epoch=3, validation_data=(_DX[:20], _DY[:20])),
                              dict(steps_per_epoch=3, validation_data=(_DX[:20], _DY[:20])), epochs=30,
                              k_callbacks=lambda: [keras.callbacks.EarlyStopping(monitor="loss", patience=1,
                                                                                 min_delta=0.02)],
                              t_callbacks=lambda: [tcallbacks.EarlyStopping(monitor="loss", patience=1,
                                                                            min_delta=0.02)])
        print(f"  epochs run: Keras {len(out['keras'][0]['loss'])} torch_impl {len(out['torch'][0]['loss'])}")
        assert 3 <= len(out["keras"][0]["loss"]) < 30
        _check_history(out["torch"][0], out["keras"][0], dt)


class _Pool(torch.nn.Module):
    """The port of ``GlobalAveragePooling1D() -> Dense(2)``: any sequence length."""

    def __init__(self, weights):
        super().__init__()
        self.d = torch.nn.Linear(3, 2)
        with torch.no_grad():
            self.d.weight.copy_(torch.from_numpy(np.ascontiguousarray(weights[0].T)))
            self.d.bias.copy_(torch.from_numpy(weights[1]))

    def forward(self, x):
        return self.d(x.mean(1))


def test_generator_batches_of_variable_sequence_length_and_keras_errors():
    """Sequences of length 4, 6, 5, 7 (the first two differ, so Keras's signature leaves the length free): the same
    history; then Keras's errors where the first two agree on a length the third breaks, for a list batch, a bare
    array, a new feature size, rank or structure, an empty generator, and class_weight beside per-batch weights."""
    rng = np.random.default_rng(1)

    def seqs(lengths, endless=True):
        data = [(rng.normal(size=(4, t, 3)), rng.normal(size=(4, 2))) for t in lengths]
        while True:
            yield from data
            if not endless:
                return

    with _precision("float64"):
        for lengths, steps, endless in [((4, 6, 5, 7), 4, True), ((4, 6, 5, 7), None, False)]:
            keras.utils.set_random_seed(0)
            km = keras.Sequential([keras.Input((None, 3)), layers.GlobalAveragePooling1D(), layers.Dense(2)])
            km.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
            net = _Pool([w.numpy() for w in km.weights])
            rng = np.random.default_rng(1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                kh = km.fit(seqs(lengths, endless), steps_per_epoch=steps, epochs=2, verbose=0).history
                rng = np.random.default_rng(1)
                th = tfit.fit(net, seqs(lengths, endless), steps_per_epoch=steps, epochs=2, verbose=0, loss="mse",
                              optimizer=optim.SGD(net.parameters(), learning_rate=0.1)).history
            _check_history(th, kh, "float64")

        x, y = np.ones((4, 3)), np.zeros((4, 2))

        def bad(kind):
            if kind == "list batch":
                while True:
                    yield [x, y]
            elif kind == "bare array":
                while True:
                    yield x
            elif kind == "length breaks":
                yield np.ones((4, 4, 3)), y
                yield np.ones((4, 4, 3)), y
                yield np.ones((4, 5, 3)), y
            elif kind == "feature size":
                yield x, y
                yield x, y
                yield np.ones((4, 5)), y
            elif kind == "rank":
                yield x, y
                yield x, y
                yield np.ones((4, 3, 1)), y
            elif kind == "structure":
                yield x, y
                yield x, y
                yield x, y, np.ones(4)
            elif kind == "empty":
                return

        for kind in ["list batch", "bare array", "length breaks", "feature size", "rank", "structure", "empty"]:
            inp = (None, 3) if kind == "length breaks" else (3,)
            keras.utils.set_random_seed(0)
            km = keras.Sequential([keras.Input(inp)] + ([layers.GlobalAveragePooling1D()] if len(inp) == 2 else [])
                                  + [layers.Dense(2)])
            km.compile(optimizer="sgd", loss="mse")
            net = _Pool([w.numpy() for w in km.weights]) if len(inp) == 2 else torch.nn.Linear(3, 2)
            errors = []
            for side in ("keras", "torch"):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        if side == "keras":
                            km.fit(bad(kind), steps_per_epoch=3, epochs=1, verbose=0)
                        else:
                            tfit.fit(net, bad(kind), steps_per_epoch=3, epochs=1, verbose=0, loss="mse",
                                     optimizer=optim.SGD(net.parameters()))
                        errors.append(None)
                    except Exception as e:  # Keras's errors come through TensorFlow's PyFunc
                        errors.append(f"{type(e).__name__}: {str(e).splitlines()[0][:90]}")
            print(f"  {kind}: Keras {errors[0]}\n  {' ' * len(kind)}  torch_impl {errors[1]}")
            assert errors[0] is not None and errors[1] is not None, kind

        for side in ("keras", "torch"):
            kd = _KerasBatches("float64", with_sw=True) if side == "keras" else _DuckBatches("float64", with_sw=True)
            km, net = _pair(5, 6, 3, "softmax")
            km.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            with pytest.raises(ValueError, match="class_weight` and `sample_weight"):
                if side == "keras":
                    km.fit(kd, class_weight=_CW, verbose=0)
                else:
                    tfit.fit(net, kd, class_weight=_CW, verbose=0, loss="sparse_categorical_crossentropy",
                             optimizer="adam")


def _position_loss(K):
    def by_position(y_true, y_pred):  # weighs the i-th sample of a batch by i + 1: sees the order inside a batch
        w = K.cumsum(K.ones_like(y_true[:, :1]), 0)
        return K.sum(K.square(y_true - y_pred) * w, -1)
    return by_position


@pytest.mark.parametrize("dt", [pytest.param("float64"), pytest.param("float32", marks=pytest.mark.slow)])
def test_shuffle_batch_with_seed_reorders_inside_batches_like_keras(dt):
    """``fit(shuffle="batch", seed=s)`` against ``set_random_seed(s)`` + ``fit(shuffle="batch")``, with a loss that
    weighs each sample by its position in the batch (so the order inside a batch shows): plain, with
    ``validation_split``, ``sample_weight`` (shuffled along), one batch of everything, and a batch larger than the
    data; ``shuffle=True`` with the same seed for comparison."""
    rng = np.random.default_rng(0)
    x, y = _DX, _DX[:, :2] @ rng.normal(size=(2, 2))
    with _precision(dt):
        cases = [(7, 8, {}, "batch"), (3, 16, dict(validation_split=0.2), "batch"),
                 (5, 10, dict(sample_weight=_DSW), "batch"), (11, 45, {}, "batch"),
                 (12, 64, dict(sample_weight=_DSW), "batch"), (7, 8, {}, True)]
        for seed, batch, kw, shuffle in cases if dt == "float32" else cases[1:3] + cases[4:5]:
            print(f" seed {seed} batch {batch} shuffle={shuffle!r} {sorted(kw)}")
            km, net = _pair(5, 6, 2, None)
            km.compile(optimizer=keras.optimizers.Adam(0.05), loss=_position_loss(KT))
            kw = {k: v.astype(dt) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
            keras.utils.set_random_seed(seed)
            kh = km.fit(x.astype(dt), y.astype(dt), batch_size=batch, epochs=3, shuffle=shuffle, verbose=0,
                        **kw).history
            th = tfit.fit(net, x.astype(dt), y.astype(dt), batch_size=batch, epochs=3, shuffle=shuffle, seed=seed,
                          loss=_position_loss(KP), optimizer=optim.Adam(net.parameters(), learning_rate=0.05),
                          verbose=0, **kw).history
            _check_history(th, kh, dt)


def test_seed_with_shuffle_false_trains_in_order():
    """A Keras script ported as written: ``set_random_seed(7)`` then ``fit(shuffle=False)``. The docstring says
    ``seed`` is "the Keras run's keras.utils.set_random_seed(seed)" (conflicting only with ``generator``)."""
    dt = "float64"
    with _precision(dt):
        km, net = _pair(5, 6, 3, "softmax")
        km.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
        keras.utils.set_random_seed(7)
        kh = km.fit(_DX, _DY, batch_size=8, epochs=2, shuffle=False, verbose=0).history
        th = tfit.fit(net, _DX, _DY, batch_size=8, epochs=2, shuffle=False, seed=7,
                      loss="sparse_categorical_crossentropy",
                      optimizer=optim.Adam(net.parameters(), learning_rate=0.05), verbose=0).history
        _check_history(th, kh, dt)


# ==============================================================================================================
# 3. image augmentation layers
# ==============================================================================================================


def _augment_both(name, k_layer, t_layer, images, calls=2, torch_layout="channels_first"):
    """Calls a Keras layer (NHWC, ``training=True``) and the torch one (``torch_layout``) ``calls`` times on the
    same images: every augmented image equal (bit for bit), and the seed generators' states equal."""
    for c in range(calls):
        k = np.asarray(k_layer(images, training=True))
        t_in = torch.as_tensor(images)
        if torch_layout == "channels_first":
            t_in = t_in.permute(0, 3, 1, 2) if t_in.dim() == 4 else t_in.permute(2, 0, 1)
        t = t_layer(t_in)
        if torch_layout == "channels_first":
            t = t.permute(0, 2, 3, 1) if t.dim() == 4 else t.permute(1, 2, 0)
        t = t.detach().numpy()
        gap = float(np.max(np.abs(t.astype(float) - k.astype(float)))) if k.size else 0.0
        print(f"  {name} call {c}: {k.dtype}{list(k.shape)} max |torch_impl - Keras| {gap}")
        assert t.shape == k.shape and str(t.dtype) == str(k.dtype), (t.shape, k.shape, t.dtype, k.dtype)
        assert gap == 0.0, name
    k_state = tuple(int(v) for v in k_layer.generator.state.numpy())
    print(f"  {name}: states Keras {k_state} torch_impl {t_layer.state}")
    assert tuple(t_layer.state) == k_state


_LAYER_FACTORIES = {
    "RandomRotation(0.3)": (lambda m: m.RandomRotation(0.3, seed=3)),
    "RandomZoom(0.3)": (lambda m: m.RandomZoom(0.3, seed=3)),
    "RandomZoom((-0.5, 0.2), (0.1, 0.9), constant 7": (
        lambda m: m.RandomZoom((-0.5, 0.2), (0.1, 0.9), seed=4, fill_mode="constant", fill_value=7.0)),
    "RandomTranslation(0.4, 0.3, wrap)": (lambda m: m.RandomTranslation(0.4, 0.3, seed=5, fill_mode="wrap")),
    "RandomTranslation nearest/nearest": (
        lambda m: m.RandomTranslation(0.4, 0.3, seed=5, fill_mode="nearest", interpolation="nearest")),
    "RandomContrast(0.8)": (lambda m: m.RandomContrast(0.8, seed=6)),
    "RandomBrightness(0.5)": (lambda m: m.RandomBrightness(0.5, seed=7)),
}


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("hw", [(7, 5), (1, 1), (2, 3), (1, 9), (8, 1)])
def test_augmentation_on_odd_and_degenerate_sizes(hw, dt):
    """Every layer on 3 images of 7x5, 1x1, 2x3, 1x9, 8x1 pixels, 2 channels, two training calls: Keras's images bit
    for bit (float64: all but RandomRotation, which cannot train in float64 in Keras 3.15, nor here)."""
    images = np.random.default_rng(hw[0] * 10 + hw[1]).uniform(0, 255, size=(3, *hw, 2)).astype(dt)
    with _precision(dt):
        for name, make in _LAYER_FACTORIES.items():
            if dt == "float64" and name.startswith("RandomRotation"):
                with pytest.raises(Exception):
                    make(layers)(images, training=True)
                with pytest.raises(TypeError):
                    make(tnn)(torch.as_tensor(images).permute(0, 3, 1, 2))
                print(f"  {name}: raises in float64 in Keras and torch_impl")
                continue
            _augment_both(f"{name} {hw}", make(layers), make(tnn), images)


_LIMIT_CASES = {
    "rotation (-1, 1), a full turn": (lambda m: m.RandomRotation((-1, 1), seed=1), 1.0),
    "rotation 1.0, constant -3": (lambda m: m.RandomRotation(1.0, seed=2, fill_mode="constant", fill_value=-3.0), 1.0),
    "rotation reversed tuple (0.2, -0.1)": (lambda m: m.RandomRotation((0.2, -0.1), seed=9), 1.0),
    "rotation factor 0": (lambda m: m.RandomRotation(0, seed=9), 1.0),
    "rotation (0.5, 2.0): a tuple past the bound": (lambda m: m.RandomRotation((0.5, 2.0), seed=9), 1.0),
    "rotation -0.3": (lambda m: m.RandomRotation(-0.3, seed=9), 1.0),
    "zoom 1.0 (down to nothing)": (lambda m: m.RandomZoom(1.0, seed=3), 1.0),
    "zoom (-0.99, 1.0) constant": (lambda m: m.RandomZoom((-0.99, 1.0), seed=3, fill_mode="constant"), 1.0),
    "zoom -0.5": (lambda m: m.RandomZoom(-0.5, seed=3), 1.0),
    "zoom width only": (lambda m: m.RandomZoom(0.0, 0.5, seed=3), 1.0),
    "zoom (0.2, 0.2) nearest": (lambda m: m.RandomZoom((0.2, 0.2), seed=3, fill_mode="nearest"), 1.0),
    "translation 1.0, reflect": (lambda m: m.RandomTranslation(1.0, 1.0, seed=4), 1.0),
    "translation (-1, -1) x (1, 1), constant": (
        lambda m: m.RandomTranslation((-1, -1), (1, 1), seed=4, fill_mode="constant", fill_value=1.5), 1.0),
    "contrast 1.0": (lambda m: m.RandomContrast(1.0, seed=5), 1.0),
    "contrast 0": (lambda m: m.RandomContrast(0.0, seed=5), 1.0),
    "contrast (0.5, 0.2) sorted": (lambda m: m.RandomContrast((0.5, 0.2), seed=5), 1.0),
    "contrast (-0.5, 0.5): factor 1.5": (lambda m: m.RandomContrast((-0.5, 0.5), seed=5), 1.0),
    "contrast (0.9, 3.0)": (lambda m: m.RandomContrast((0.9, 3.0), seed=5), 1.0),
    "contrast value_range (0, 1)": (lambda m: m.RandomContrast(0.7, value_range=(0, 1), seed=5), 1 / 255),
    "contrast value_range reversed (255, 0)": (lambda m: m.RandomContrast(0.7, value_range=(255, 0), seed=5), 1.0),
    "contrast value_range (-1, 1)": (lambda m: m.RandomContrast(0.9, value_range=(-1, 1), seed=5), "signed"),
    "brightness 1.0": (lambda m: m.RandomBrightness(1.0, seed=6), 1.0),
    "brightness (-1, -1): black": (lambda m: m.RandomBrightness((-1, -1), seed=6), 1.0),
    "brightness (0.5, 2.0): a tuple past the bound": (lambda m: m.RandomBrightness((0.5, 2.0), seed=6), 1.0),
    "brightness (0.3, -0.2) sorted": (lambda m: m.RandomBrightness((0.3, -0.2), seed=6), 1.0),
    "brightness value_range (0, 1)": (lambda m: m.RandomBrightness(0.4, value_range=(0, 1), seed=6), 1 / 255),
    "brightness value_range (1, 0) sorted": (lambda m: m.RandomBrightness(0.4, value_range=(1, 0), seed=6), 1 / 255),
    "brightness value_range [-1, 1]": (lambda m: m.RandomBrightness(0.4, value_range=[-1.0, 1.0], seed=6), "signed"),
    "brightness of pixels outside (0, 255)": (lambda m: m.RandomBrightness(0.1, seed=6), "wide"),
}


def test_factors_and_value_ranges_at_and_past_their_limits():
    """Factors at their bounds, reversed tuples, tuples Keras accepts past the bound (only their first entry is
    checked against the upper bound and their second against the lower one), factor 0, ``value_range`` (0, 1),
    reversed, signed, pixels outside it; 9 images (an AVX packet of 8 angles plus one), float32, bit for bit."""
    images = np.random.default_rng(1).uniform(0, 255, size=(9, 6, 5, 3)).astype("float32")
    scaled = {1.0: images, 1 / 255: images / 255, "signed": images / 127.5 - 1, "wide": images * 2 - 100}
    with _precision("float32"):
        for name, (make, scale) in _LIMIT_CASES.items():
            _augment_both(name, make(layers), make(tnn), scaled[scale].astype("float32"))


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_integer_unbatched_and_channels_last_images(dt):
    """uint8 and int32 images through the geometric layers (cast to floatx as Keras casts them), unbatched
    ``(H, W, C)`` images through every layer, and torch layers built with ``data_format="channels_last"`` on NHWC
    images; Keras layers with ``data_format="channels_first"`` on NCHW images give the torch layers' numbers (the
    contrast told ``keras_data_format="channels_first"``: its means are summed in another order)."""
    rng = np.random.default_rng(2)
    u8 = rng.integers(0, 256, size=(4, 5, 6, 3)).astype("uint8")
    i32 = rng.integers(-50, 300, size=(4, 5, 6, 3)).astype("int32")
    single = rng.uniform(0, 255, size=(5, 6, 3)).astype(dt)
    nhwc = rng.uniform(0, 255, size=(5, 7, 6, 3)).astype(dt)
    with _precision(dt):
        for name, make in _LAYER_FACTORIES.items():
            if dt == "float64" and name.startswith("RandomRotation"):
                continue
            if not name.startswith(("RandomContrast", "RandomBrightness")):  # Keras: those keep or refuse integers
                _augment_both(f"{name} uint8", make(layers), make(tnn), u8)
                _augment_both(f"{name} int32", make(layers), make(tnn), i32)
            _augment_both(f"{name} unbatched", make(layers), make(tnn), single)
            _augment_both(f"{name} torch channels_last", make(layers), make(_WithLayout(tnn, "channels_last")),
                          nhwc, torch_layout="channels_last")
            k_cf = make(_WithLayout(layers, "channels_first"))
            t_cf = make(_WithLayout(tnn, keras_layout="channels_first"))  # the documented keras_data_format
            for c in range(2):
                nchw = np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2))
                k, t = np.asarray(k_cf(nchw, training=True)), t_cf(torch.as_tensor(nchw)).numpy()
                print(f"  {name} Keras channels_first call {c}: max gap {float(np.max(np.abs(k - t)))}")
                assert np.array_equal(k, t)


class _WithLayout:
    """A stand-in for ``keras.layers`` / ``torch_impl.nn`` whose layers are built with ``data_format=...`` (or, with
    ``keras_layout``, torch_impl's RandomContrast told the layout of the Keras layer whose sums it replays)."""

    def __init__(self, module, data_format=None, keras_layout=None):
        self.module, self.data_format, self.keras_layout = module, data_format, keras_layout

    def __getattr__(self, name):
        ctor = getattr(self.module, name)
        extra = {} if self.data_format is None else {"data_format": self.data_format}
        if self.keras_layout is not None and name == "RandomContrast":
            extra["keras_data_format"] = self.keras_layout
        return lambda *args, **kwargs: ctor(*args, **kwargs, **extra)


def test_eval_mode_is_the_identity_and_draws_nothing():
    """``module.eval()`` (Keras: ``training=False``): the images come back unchanged, nothing is drawn (a later
    training call gives Keras's next images), also for ``predict`` of a model holding the layers."""
    images = np.random.default_rng(3).uniform(0, 255, size=(5, 7, 6, 3)).astype("float32")
    with _precision("float32"):
        for name, make in _LAYER_FACTORIES.items():
            k, t = make(layers), make(tnn)
            t.eval()
            ko = np.asarray(k(images, training=False))
            to = t(torch.as_tensor(images).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
            k_state = tuple(int(v) for v in k.generator.state.numpy())
            print(f"  {name} eval: max change Keras {float(np.max(np.abs(ko - images)))} torch_impl "
                  f"{float(np.max(np.abs(to - images)))}; states {k_state} {t.state}")
            assert np.array_equal(ko, images) and np.array_equal(to, images) and tuple(t.state) == k_state
            t.train()
            _augment_both(f"{name} then train", k, t, images, calls=1)


def test_constructor_errors_like_keras():
    """Out-of-range factors (numbers and tuples), zoom at -1, 3-tuples, strings, unknown fill modes and
    interpolations, bad value ranges raise as Keras's; what Keras accepts (``None`` where its base class turns it
    into 0, numpy float64, translation -1) is accepted."""
    cases = [("RandomRotation", (1.5,), {}), ("RandomRotation", ((-2, -1.5),), {}),
             ("RandomRotation", ((0.1, 0.2, 0.3),), {}), ("RandomRotation", (0.1,), dict(fill_mode="mirror")),
             ("RandomRotation", (0.1,), dict(interpolation="bicubic")), ("RandomRotation", (np.float32(0.2),), {}),
             ("RandomRotation", (None,), {}), ("RandomZoom", (-1.0,), {}), ("RandomZoom", (1.2,), {}),
             ("RandomZoom", ((-1.0, 0.2),), {}), ("RandomZoom", (0.2, (0.5, 1.5)), {}),
             ("RandomTranslation", (1.2, 0.1), {}), ("RandomTranslation", ((-1.2, 0.1), 0.1), {}),
             ("RandomTranslation", (-1.0, 0.1), {}), ("RandomContrast", (1.2,), {}), ("RandomContrast", (-0.2,), {}),
             ("RandomContrast", ((1.2, 1.5),), {}), ("RandomContrast", ((-1.0, -0.5),), {}),
             ("RandomContrast", (None,), {}), ("RandomBrightness", (1.2,), {}),
             ("RandomBrightness", ((-2.0, -1.5),), {}), ("RandomBrightness", (0.2,), dict(value_range=(0, 1, 2))),
             ("RandomBrightness", (0.2,), dict(value_range=5)), ("RandomBrightness", ("0.2",), {}),
             ("RandomBrightness", (None,), {}), ("RandomBrightness", (np.float64(0.2),), {})]
    for name, args, kw in cases:
        outcome = []
        for module in (layers, tnn):
            try:
                getattr(module, name)(*args, **kw)
                outcome.append("ok")
            except Exception as e:  # noqa: BLE001 - the type is compared
                outcome.append(type(e).__name__)
        print(f"  {name}{args} {kw}: Keras {outcome[0]} torch_impl {outcome[1]}")
        assert outcome[0] == outcome[1], (name, args, kw)


def test_brightness_of_integer_images_like_keras():
    """Keras's own docstring example for RandomBrightness: integer images stay integer ("output will be int64");
    in eval mode too."""
    img = np.array([[[[10], [100]], [[200], [250]]]], dtype="int32")
    with _precision("float32"):
        k = np.asarray(layers.RandomBrightness(0.5, seed=1)(img, training=True))
        t = tnn.RandomBrightness(0.5, seed=1, data_format="channels_last")(torch.tensor(img)).numpy()
        print(f"  Keras {k.ravel().tolist()} {k.dtype}; torch_impl {t.ravel().tolist()} {t.dtype}")
        assert str(t.dtype) == str(k.dtype) and np.array_equal(t, k)


class _ToNHWC(torch.nn.Module):
    def forward(self, z):
        return z.permute(0, 2, 3, 1)


def _augmented_models(dt, rotation, seeded, h, w, dropout=False):
    s = (lambda i: dict(seed=i)) if seeded else (lambda i: {})
    keras.utils.set_random_seed(7)
    k_aug = ([layers.RandomRotation(0.2, **s(1))] if rotation else []) + [
        layers.RandomZoom(0.2, 0.1, **s(2)), layers.RandomTranslation(0.1, 0.2, **s(3)),
        layers.RandomContrast(0.3, **s(4)), layers.RandomBrightness(0.2, **s(5))]
    km = keras.Sequential([keras.Input((h, w, 3))] + k_aug + ([layers.Dropout(0.3)] if dropout else []) + [
        layers.Rescaling(1 / 255), layers.Conv2D(4, 3, padding="same", activation="relu"),
        layers.GlobalAveragePooling2D(), layers.Dense(3, activation="softmax")])
    t_aug = ([tnn.RandomRotation(0.2, **s(1))] if rotation else []) + [
        tnn.RandomZoom(0.2, 0.1, **s(2)), tnn.RandomTranslation(0.1, 0.2, **s(3)),
        tnn.RandomContrast(0.3, **s(4)), tnn.RandomBrightness(0.2, **s(5))]
    head = [_ToNHWC(), tnn.Dropout(0.3), _FromNHWC()] if dropout else []  # Keras's Dropout masks NHWC positions
    net = torch.nn.Sequential(*t_aug, *head, tnn.Rescaling(1 / 255), torch.nn.Conv2d(3, 4, 3, padding=1),
                              torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                              torch.nn.Linear(4, 3))
    tnn.keras_init_(net, seed=7)  # the weights and the unseeded layers' seeds Keras drew after set_random_seed(7)
    net.output_activation = "softmax"
    return km, k_aug, net, t_aug


class _FromNHWC(torch.nn.Module):
    def forward(self, z):
        return z.permute(0, 3, 1, 2)


@pytest.mark.parametrize("dt,rotation,seeded,hw", [
    ("float64", False, True, (1, 1)),
    ("float32", True, False, (9, 7)),
    pytest.param("float64", False, False, (9, 7), marks=pytest.mark.slow),
    pytest.param("float32", True, True, (3, 3), marks=pytest.mark.slow),
])
def test_augmented_classifier_trained_by_fit_like_keras(dt, rotation, seeded, hw):
    """``keras.Sequential([Random* layers, Rescaling, Conv2D, GlobalAveragePooling2D, Dense(softmax)])`` built after
    ``set_random_seed(7)`` (seeded layers or not) and fitted (batch 8 of 20, 3 epochs, validation arrays) against
    the torch Sequential with ``keras_init_(net, seed=7)``: the same history, seed states, ``predict`` (no
    augmentation) and ``evaluate``."""
    h, w = hw
    rng = np.random.default_rng(4)
    x, y = rng.uniform(0, 255, size=(20, h, w, 3)).astype(dt), rng.integers(0, 3, size=20)
    with _precision(dt):
        km, k_aug, net, t_aug = _augmented_models(dt, rotation, seeded, h, w)
        km.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        kh = km.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, validation_data=(x[:6], y[:6])).history
        xt = torch.as_tensor(x).permute(0, 3, 1, 2).contiguous()
        th = tfit.fit(net, xt, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      optimizer=optim.Adam(net.parameters(), learning_rate=0.01),
                      validation_data=(xt[:6], y[:6])).history
        _check_history(th, kh, dt)
        ks = [tuple(int(v) for v in layer.generator.state.numpy()) for layer in k_aug]
        ts = [tuple(layer.state) for layer in t_aug]
        print(f"  seed states Keras {ks}\n              torch_impl {ts}")
        assert ks == ts
        pk, pt = km.predict(x[:5], verbose=0), tfit.predict(net, xt[:5])
        print(f"  predict (no augmentation): rel {_gap(pt, pk):.1e}")
        assert _gap(pt, pk) <= TOL[dt]
        ek = km.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
        et = tfit.evaluate(net, xt, y, batch_size=8, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        _check_logs(et, ek, dt, "evaluate")


@pytest.mark.slow
@pytest.mark.parametrize("dt,rotation,steps", [("float32", True, None), ("float64", False, None),
                                               ("float32", True, 4)])
def test_augmentation_on_a_finite_generator_advances_seeds_on_ran_out_steps(dt, rotation, steps):
    """Augmentation + Dropout trained on a finite generator of 3 batches (NCHW for torch, NHWC for Keras): without
    ``steps_per_epoch`` (3 + 2 + 2 batches and a ran-out step each epoch) and with ``steps_per_epoch=4``: Keras's
    compiled step draws its transforms even on the step whose input ran out, so the seed states reach 10."""
    rng = np.random.default_rng(6)
    n, h, w = 18, 6, 5
    x, y = rng.uniform(0, 255, size=(n, h, w, 3)).astype(dt), rng.integers(0, 3, size=n)

    def gen(channels_first):
        for i in range(0, n, 6):
            yield (np.ascontiguousarray(x[i:i + 6].transpose(0, 3, 1, 2)) if channels_first else x[i:i + 6],
                   y[i:i + 6])

    with _precision(dt):
        km, k_aug, net, t_aug = _augmented_models(dt, rotation, False, h, w, dropout=True)
        km.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kh = km.fit(gen(False), epochs=3, steps_per_epoch=steps, verbose=0).history
            th = tfit.fit(net, gen(True), epochs=3, steps_per_epoch=steps, verbose=0,
                          loss="sparse_categorical_crossentropy",
                          optimizer=optim.Adam(net.parameters(), learning_rate=0.01)).history
        _check_history(th, kh, dt)
        ks = [tuple(int(v) for v in layer.generator.state.numpy()) for layer in k_aug]
        ts = [tuple(layer.state) for layer in t_aug]
        print(f"  seed states Keras {ks}\n              torch_impl {ts}")
        assert ks == ts

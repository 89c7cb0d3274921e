"""Keras's global and adaptive pooling layers in torch (``torch_impl.nn.GlobalAveragePooling1D/2D/3D``,
``GlobalMaxPooling1D/2D/3D``, ``AdaptiveAveragePooling1D/2D/3D``, ``AdaptiveMaxPooling1D/2D/3D``) against the real
Keras 3.15.1 layers on TensorFlow 2.21, masks included.

Each case calls the Keras layer and ours on the same tensor (the same ``data_format``, ``keepdims``) and compares
the outputs and the input gradients of ``sum(y * c)`` (``c`` random; gradients by ``tf.GradientTape``). Figures are
``max |ours - Keras|`` (NaN must be NaN in both). The classic porting bug is ``GlobalAveragePooling1D`` after
``Embedding(mask_zero=True)``: Keras averages the valid steps only (``sum(where(mask, x, 0)) / sum(mask)``,
``keras/src/layers/pooling/global_average_pooling1d.py:70-83``), where ``x.mean(1)`` and
``torch.nn.AdaptiveAvgPool1d(1)`` average the padding too.

Measured (torch 2.13 CPU, 2026-12-07):

=========================================================================  ==================  ==================
case                                                                       values              input gradients
=========================================================================  ==================  ==================
Global{Average,Max}Pooling{1,2,3}D x data_format x keepdims (24, float64)  <= 1.7e-16           0
the same, float32 (slow; 2 of them by default)                             <= 8.9e-8            0
GlobalAveragePooling1D masked: right/left padding, all-masked rows, bool/  <= 2.2e-16, NaN      0 (all-masked
int/float masks, given or attached (``set_keras_mask``), 2 x 2 layouts     rows NaN in both     rows: 0 in both)
each (18 cases, 6 slow)
GlobalMaxPooling1D after Embedding(mask_zero): mask dropped, warning       0 (padding wins)     --
GlobalMaxPooling NaN, ties, -inf                                           0 (NaN in both)      0 (NaN / halves)
float16: GAP (float32 inside) / GMP / masked GAP (Keras sums in float16;  0 / 0 / 0 (bitwise;  0 (masked; 2
ours too, in Eigen's order; 2 layouts, keepdims, 2,000 steps)              masked was 3.1e-2)  layouts, keepdims)
Adaptive{Average,Max}Pooling{1,2}D float64 (8), 3D float32 (4)             <= 1.1e-16 / 6.0e-8  <= 1.1e-16 / 3e-8
fit: Embedding(mask_zero) -> GlobalAveragePooling1D -> Dense, 3 epochs,    history <= 1.9e-16  (float32: 0);
validation split; float64 eager (default), compiled and float32 (slow)     relative            x.mean(1): 35% off
=========================================================================  ==================  ==================

Keras facts pinned here: a row with every step masked gives NaN (``0 / 0``) with a zero gradient; any nonzero mask
entry counts as valid (``ops.cast(mask, "bool")``); the pooled output carries no mask (``compute_mask`` returns
``None``); ``GlobalMaxPooling1D`` (and the 2-D/3-D layers) take no mask: Keras warns ("does not support masking and
will therefore destroy the mask information") and pools the padded steps too; Keras's masked float16 average sums
in float16 (its plain one in float32), in Eigen's order, which ours replays (packets of 8 half adds, their
horizontal sum in float32, rows over 1,600 steps split at packet-aligned offsets); a masked sum beyond 65504 is
inf in both.

Run: ``.venv/bin/python -m pytest -q -s -p no:cacheprovider parity_tests/test_global_pooling_keras.py``
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402

from parity_tests.test_field_scripts_round2 import _precision, _rel  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl.utils import get_keras_mask, set_keras_mask  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

_TOL = {"float64": (1e-12, 1e-12), "float32": (1e-6, 1e-6)}  # (atol on values ~1, atol on gradients)
_SHAPES = {1: (3, 7, 4), 2: (2, 5, 6, 3), 3: (2, 3, 4, 5, 2)}


def _keras_call(layer, x: np.ndarray, c: np.ndarray, mask=None, attach: bool = False):
    """Keras's output and the input gradient of ``sum(y * c)`` (NaN entries of ``y`` contribute ``c``'s
    gradient path as TensorFlow computes it)."""
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        if mask is not None and attach:
            xt2 = tf.identity(xt)
            xt2._keras_mask = tf.constant(mask)
            y = layer(xt2)
        elif mask is not None:
            y = layer(xt, mask=tf.constant(mask))
        else:
            y = layer(xt)
        loss = tf.reduce_sum(y * tf.constant(c, dtype=y.dtype))
    return y.numpy(), tape.gradient(loss, xt).numpy()


def _torch_call(module, x: np.ndarray, c: np.ndarray, mask=None, attach: bool = False):
    xt = torch.tensor(x, requires_grad=True)
    if mask is not None and attach:
        y = module(set_keras_mask(xt * 1, torch.as_tensor(mask)))
    elif mask is not None:
        y = module(xt, mask=torch.as_tensor(mask))
    else:
        y = module(xt)
    (y * torch.as_tensor(c, dtype=y.dtype)).sum().backward()
    return y, xt.grad.numpy()


def _diff(a, b) -> float:
    """max |a - b| with NaN required in the same places (and counted 0 there, as equal infinities are)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    ok = ~np.isnan(a) & (a != b)
    return float(np.max(np.abs(a[ok] - b[ok]), initial=0.0))


def _check(name: str, k, t, dt: str):
    (ky, kg), (ty, tg) = k, t
    ty = ty.detach().numpy()
    assert ty.dtype == ky.dtype, (ty.dtype, ky.dtype)
    dv, dg = _diff(ty, ky), _diff(tg, kg)
    print(f"{name} {dt}: shape {ty.shape}, values {dv:.1e}, input gradients {dg:.1e}")
    assert dv <= _TOL[dt][0] and dg <= _TOL[dt][1]
    return dv, dg


_GLOBAL = [(mode, nd, df, keep) for mode in ("Average", "Max") for nd in (1, 2, 3)
           for df in ("channels_last", "channels_first") for keep in (False, True)]


def _global_params():
    out = []
    for case in _GLOBAL:
        out.append(pytest.param(*case, "float64", id="-".join(map(str, case)) + "-float64"))
        fast = case in (("Average", 1, "channels_last", False), ("Max", 2, "channels_first", True))
        out.append(pytest.param(*case, "float32", id="-".join(map(str, case)) + "-float32",
                                marks=() if fast else pytest.mark.slow))
    return out


@pytest.mark.parametrize("mode, nd, data_format, keepdims, dt", _global_params())
def test_global_pooling_matches_keras(mode, nd, data_format, keepdims, dt):
    """``Global{Average,Max}Pooling{nd}D(data_format, keepdims)``: values and input gradients."""
    rng = np.random.default_rng(nd)
    x = rng.normal(size=_SHAPES[nd]).astype(dt)
    if mode == "Max":
        x[0, 1] = x[0, 0]  # ties: the gradient is shared
    name = f"Global{mode}Pooling{nd}D"
    klayer = getattr(layers, name)(data_format=data_format, keepdims=keepdims, dtype=dt)
    ours = getattr(tnn, name)(data_format, keepdims)
    kout = klayer(tf.constant(x))
    c = rng.normal(size=tuple(kout.shape)).astype(dt)
    _check(f"{name}({data_format}, keepdims={keepdims})", _keras_call(klayer, x, c), _torch_call(ours, x, c), dt)


_MASKS = {  # (N=4, steps=6)
    "right padding": np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1], [1, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0]]),
    "left padding": np.array([[0, 0, 0, 1, 1, 1], [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 1], [0, 1, 1, 1, 1, 1]]),
    "all-masked rows": np.array([[0, 0, 0, 0, 0, 0], [1, 0, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0], [0, 1, 1, 0, 0, 1]]),
}


@pytest.mark.parametrize("mask_dtype, attach", [
    ("bool", False), ("int32", False), ("float32", False), ("bool", True),
    pytest.param("int32", True, marks=pytest.mark.slow), pytest.param("float32", True, marks=pytest.mark.slow)])
@pytest.mark.parametrize("masks", list(_MASKS))
def test_masked_global_average_pooling1d_matches_keras(masks, mask_dtype, attach):
    """``GlobalAveragePooling1D`` with a mask, given as ``mask=`` or carried by the input (Keras's
    ``_keras_mask``; ours ``set_keras_mask``), both data formats and ``keepdims``: the mean over the valid steps;
    an all-masked row is NaN in both, with a zero gradient; a float mask of 0.25 counts as valid."""
    rng = np.random.default_rng(5)
    mask = _MASKS[masks].astype(mask_dtype)
    if mask_dtype == "float32":
        mask = mask * np.float32(0.25)  # ops.cast(mask, "bool"): nonzero is valid
    for data_format in ("channels_last", "channels_first"):
        for keepdims in (False, True):
            shape = (4, 6, 3) if data_format == "channels_last" else (4, 3, 6)
            x = rng.normal(size=shape)
            klayer = layers.GlobalAveragePooling1D(data_format=data_format, keepdims=keepdims, dtype="float64")
            c = rng.normal(size=(4, 1, 3) if keepdims and data_format == "channels_last" else
                           (4, 3, 1) if keepdims else (4, 3))
            k = _keras_call(klayer, x, c, mask, attach)
            t = _torch_call(tnn.GlobalAveragePooling1D(data_format, keepdims), x, c, mask, attach)
            assert get_keras_mask(t[0]) is None  # compute_mask: None
            _check(f"masked GAP1D {masks} {mask_dtype} mask {'attached' if attach else 'given'} {data_format} "
                   f"keepdims={keepdims}", k, t, "float64")
            if masks == "all-masked rows":
                assert np.isnan(k[0][[0, 2]]).all() and (k[1][[0, 2]] == 0).all()
            unmasked = x.mean(1 if data_format == "channels_last" else 2)
            assert np.abs(unmasked - t[0].detach().numpy().reshape(unmasked.shape))[3].max() > 1e-3  # not x.mean


def test_global_max_pooling1d_drops_the_mask_like_keras():
    """``Embedding(mask_zero=True)`` -> ``GlobalMaxPooling1D``: Keras's layer takes no mask; it warns that it
    destroys the mask and takes the max over the padded steps too (the padding token's embedding wins where it
    is largest). Ours: the same values and the same warning when the input carries a mask;
    ``GlobalAveragePooling2D`` likewise."""
    tokens = np.array([[1, 2, 0, 0, 0], [0, 0, 3, 4, 5], [6, 0, 0, 0, 0]])
    emb = layers.Embedding(10, 3, mask_zero=True, dtype="float64")
    emb.build()
    weights = np.random.default_rng(3).normal(size=(10, 3))
    weights[0, 1] = 4.0  # the padding token's embedding the largest in one column (was an unseeded draw: flaky)
    emb.set_weights([weights])
    h = emb(tokens)
    assert h._keras_mask is not None
    with warnings.catch_warnings(record=True) as kw:
        warnings.simplefilter("always")
        ky = layers.GlobalMaxPooling1D(dtype="float64")(h).numpy()
    table = torch.tensor(emb.get_weights()[0])
    ht = set_keras_mask(table[torch.tensor(tokens)], torch.tensor(tokens) != 0)
    with warnings.catch_warnings(record=True) as tw:
        warnings.simplefilter("always")
        ty = tnn.GlobalMaxPooling1D("channels_last")(ht).numpy()
    valid_only = np.stack([table.numpy()[t[t != 0]].max(0) for t in tokens])
    print(f"GlobalMaxPooling1D after Embedding(mask_zero): max |ours - Keras| {_diff(ty, ky):.1e}; "
          f"Keras vs the max over the valid steps only {np.abs(ky - valid_only).max():.1e}; warnings: Keras "
          f"{[str(w.message)[:60] for w in kw]}, ours {[str(w.message)[:60] for w in tw]}")
    assert _diff(ty, ky) == 0.0
    assert np.abs(ky - valid_only).max() > 0  # the padding took part
    assert any("does not support masking" in str(w.message) for w in kw)
    assert any("does not support masking" in str(w.message) for w in tw)
    with pytest.warns(UserWarning, match="does not support masking"):
        tnn.GlobalAveragePooling2D("channels_last")(set_keras_mask(torch.zeros(2, 3, 4, 5), torch.ones(2, 3)))


def test_global_max_pooling_nan_and_ties_like_keras():
    """A NaN in a window: NaN out, NaN gradient for the whole window (``tf.reduce_max``'s ``0 / 0``); ties share
    the gradient (``x.max(dim)`` would give it to one entry); a window of -inf gives -inf."""
    x = np.array([[[np.nan, 1.0], [1.0, 2.0], [2.0, 2.0]], [[1.0, -np.inf], [-1.0, -np.inf], [1.0, -np.inf]]])
    c = np.array([[1.0, 2.0], [3.0, 4.0]])
    k = _keras_call(layers.GlobalMaxPooling1D(dtype="float64"), x, c)
    t = _torch_call(tnn.GlobalMaxPooling1D("channels_last"), x, c)
    _check("GlobalMaxPooling1D NaN/ties/-inf", k, t, "float64")
    np.testing.assert_array_equal(np.isnan(t[1]), np.isnan(k[1]))
    assert np.isnan(k[1][0, :, 0]).all() and k[1][1, 0, 0] == k[1][1, 2, 0] == 1.5
    assert k[0][1, 1] == -np.inf


def test_global_pooling_float16_like_keras():
    """float16: Keras's plain mean computes in float32 and rounds (equal here); its max is exact (equal); its
    masked mean sums in float16 (TensorFlow's float16 reduction), ours too, in Eigen's order (h47: bitwise equal;
    it was summed in float32 and rounded once, 3.1e-2 apart). A masked sum beyond 65504 is inf in both."""
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(3, 300, 4)) * 100).astype("float16")
    mask = rng.random((3, 300)) < 0.7
    for name, kw in (("GlobalAveragePooling1D", {}), ("GlobalMaxPooling1D", {}),
                     ("GlobalAveragePooling1D", {"mask": mask})):
        klayer = getattr(layers, name)(dtype="float16")
        ky = (klayer(tf.constant(x), mask=tf.constant(mask)) if kw else klayer(tf.constant(x))).numpy()
        ty = getattr(tnn, name)("channels_last")(torch.tensor(x), **{k: torch.tensor(v) for k, v in kw.items()})
        ty = ty.numpy()
        assert ty.dtype == ky.dtype == np.float16
        diff = float(np.abs(ty.astype(np.float64) - ky).max())
        if not kw:
            print(f"{name} float16: max |ours - Keras| {diff:.1e}")
            assert diff == 0.0
            continue
        m = mask[..., None]
        oracle = (x.astype(np.float64) * m).sum(1) / m.sum(1)
        bound = float(np.finfo(np.float16).eps) * float(np.abs(x).max())
        err_t, err_k = (float(np.abs(v.astype(np.float64) - oracle).max()) for v in (ty, ky))
        print(f"{name} float16 masked: max |ours - Keras| {diff:.1e} (bound eps16 max|x| = {bound:.2f}); vs the "
              f"float64 oracle: ours {err_t:.1e}, Keras {err_k:.1e}")
        assert np.array_equal(ty, ky)
    big = np.full((1, 100, 1), 1000, np.float16)
    ones = np.ones((1, 100), bool)
    ky = layers.GlobalAveragePooling1D(dtype="float16")(tf.constant(big), mask=tf.constant(ones)).numpy()
    ty = tnn.GlobalAveragePooling1D("channels_last")(torch.tensor(big), mask=torch.tensor(ones)).numpy()
    print(f"masked float16 mean of 100 x 1000: Keras {ky.ravel()}, ours {ty.ravel()}; unmasked Keras "
          f"{layers.GlobalAveragePooling1D(dtype='float16')(tf.constant(big)).numpy().ravel()}")
    assert np.isinf(ky).all() and np.isinf(ty).all()


@pytest.mark.parametrize("data_format,keepdims,steps,channels", [("channels_last", False, 37, 12),
                                                                 ("channels_last", True, 300, 1),
                                                                 ("channels_first", False, 2000, 3)])
def test_masked_float16_average_bitwise_like_keras(data_format, keepdims, steps, channels):
    """Masked float16 GlobalAveragePooling1D: values bitwise Keras's (TensorFlow's float16 sums in Eigen's order:
    packets of 8, their horizontal sum in float32, rows over 1,600 steps split at packet-aligned offsets) and
    gradients equal, in both layouts, with keepdims."""
    rng = np.random.default_rng(steps)
    shape = (3, steps, channels) if data_format == "channels_last" else (3, channels, steps)
    x = (rng.normal(size=shape) * 30).astype(np.float16)
    mask = rng.random((3, steps)) < 0.7
    cot = rng.uniform(0.5, 2.0, (3, 1, channels) if keepdims and data_format == "channels_last" else
                      (3, channels, 1) if keepdims else (3, channels)).astype(np.float16)
    xv = tf.Variable(x)
    with tf.GradientTape() as tape:
        ky = layers.GlobalAveragePooling1D(data_format=data_format, keepdims=keepdims, dtype="float16")(
            xv, mask=tf.constant(mask))
        s = tf.reduce_sum(tf.cast(ky * cot, tf.float32))
    kg = tape.gradient(s, xv).numpy()
    xt = torch.tensor(x, requires_grad=True)
    ty = tnn.GlobalAveragePooling1D(data_format, keepdims=keepdims)(xt, mask=torch.tensor(mask))
    (ty * torch.tensor(cot)).float().sum().backward()
    axis, m = (1, mask[..., None]) if data_format == "channels_last" else (2, mask[:, None])
    masked = np.where(m, x, np.float16(0))
    once = masked.astype(np.float32).sum(axis).astype(np.float16)  # the float32 sum rounded once (h47's before)
    off = int((once != tf.reduce_sum(tf.constant(masked), axis).numpy()).sum())
    print(f"  {data_format} keepdims={keepdims} {shape}: max |ours - Keras| "
          f"{np.abs(ty.detach().numpy().astype(np.float64) - ky.numpy()).max():.1e}, gradient "
          f"{np.abs(xt.grad.numpy().astype(np.float64) - kg).max():.1e}; a float32 sum rounded once differs from "
          f"TensorFlow's in {off} of {once.size} sums")
    assert ty.dtype == torch.float16 and ky.dtype == tf.float16
    assert np.array_equal(ty.detach().numpy(), ky.numpy()) and np.array_equal(xt.grad.numpy(), kg)


_ADAPTIVE = [(mode, nd, df, size) for mode in ("Average", "Max") for nd, size in ((1, 3), (2, (3, 2)), (3, (2, 3, 2)))
             for df in ("channels_last", "channels_first")]


@pytest.mark.parametrize("mode, nd, data_format, output_size", _ADAPTIVE)
def test_adaptive_pooling_matches_keras(mode, nd, data_format, output_size):
    """``Adaptive{Average,Max}Pooling{nd}D(output_size, data_format)``: values and input gradients (3-D in
    float32: TensorFlow's CPU has no float64 3-D pool)."""
    dt = "float32" if nd == 3 else "float64"
    rng = np.random.default_rng(nd)
    spatial = {1: (8,), 2: (7, 5), 3: (5, 7, 3)}[nd]
    shape = (2, *spatial, 3) if data_format == "channels_last" else (2, 3, *spatial)
    x = rng.normal(size=shape).astype(dt)
    name = f"Adaptive{mode}Pooling{nd}D"
    klayer = getattr(layers, name)(output_size, data_format=data_format, dtype=dt)
    ours = getattr(tnn, name)(output_size, data_format)
    c = rng.normal(size=tuple(klayer(tf.constant(x)).shape)).astype(dt)
    _check(f"{name}({output_size}, {data_format})", _keras_call(klayer, x, c), _torch_call(ours, x, c), dt)


def test_layers_arguments_like_keras():
    """Keras's argument checks (``output_size``) and its shapes; the channels-first default; the masks only
    GlobalAveragePooling1D takes."""
    for nd in (1, 2, 3):
        for bad in ((1, 2, 3, 4), "2", 2.0):
            kind = ValueError if nd == 1 and isinstance(bad, tuple) else TypeError
            with pytest.raises(kind) as ke:
                getattr(layers, f"AdaptiveAveragePooling{nd}D")(bad)
            with pytest.raises(kind) as te:
                getattr(tnn, f"AdaptiveAveragePooling{nd}D")(bad)
            assert str(te.value) == str(ke.value), (str(te.value), str(ke.value))
        assert tnn.__dict__[f"AdaptiveMaxPooling{nd}D"](2).output_size == (2,) * nd
    assert tnn.GlobalAveragePooling2D().data_format == tnn.AdaptiveMaxPooling2D(2).data_format == "channels_first"
    assert tnn.GlobalMaxPooling2D(keepdims=True)(torch.zeros(2, 3, 4, 5)).shape == (2, 3, 1, 1)
    assert tnn.GlobalMaxPooling3D("channels_last")(torch.zeros(2, 3, 4, 5, 6)).shape == (2, 6)
    with pytest.raises(TypeError):
        layers.GlobalAveragePooling2D()(np.zeros((1, 2, 2, 1)), mask=np.ones((1, 2)))
    with pytest.raises(TypeError):
        tnn.global_average_pooling(torch.zeros(1, 1, 2, 2), mask=torch.ones(1, 2))
    with pytest.raises(ValueError, match="rank-3"):
        tnn.GlobalAveragePooling1D()(torch.zeros(2, 3))
    xi, mi = np.arange(12, dtype="int32").reshape(2, 3, 2), np.array([[1, 1, 0], [0, 0, 1]])
    for kw in ({}, {"mask": mi}):  # integers: float32 (ops.mean), float64 masked (TensorFlow's truediv)
        ky = layers.GlobalAveragePooling1D()(xi, **kw).numpy()
        ty = tnn.GlobalAveragePooling1D("channels_last")(torch.tensor(xi), **{k: torch.tensor(v) for k, v in
                                                                                kw.items()}).numpy()
        assert ty.dtype == ky.dtype and np.array_equal(ty, ky), (ty.dtype, ky.dtype)
    assert tnn.GlobalMaxPooling1D("channels_last")(torch.tensor(xi)).dtype == torch.int32
    print("Adaptive*Pooling output_size errors: Keras's types and messages; shapes as Keras's compute_output_shape")


# ------------------------------------------------------------------- the text classifier, trained on both sides


class _MaskedBag(torch.nn.Module):
    """Embedding(mask_zero=True) -> GlobalAveragePooling1D -> Dense(2), channels_last as Keras's."""

    def __init__(self, w, masked: bool = True):
        super().__init__()
        self.embedding = torch.nn.Embedding(*w[0].shape, sparse=True)  # Keras's IndexedSlices step
        self.pool = tnn.GlobalAveragePooling1D("channels_last")
        self.out = torch.nn.Linear(*w[1].shape)
        self.masked = masked  # False: the usual port, x.mean(1)
        tnn.load_keras_weights(self, w)

    def forward(self, tokens):
        tokens = tokens.long()
        h = self.embedding(tokens)
        return self.out(self.pool(set_keras_mask(h, tokens != 0)) if self.masked else h.mean(1))


@pytest.mark.parametrize("dt, eager", [("float64", True), pytest.param("float64", False, marks=pytest.mark.slow),
                                       pytest.param("float32", False, marks=pytest.mark.slow)])
def test_masked_text_classifier_fit_like_keras(dt, eager):
    """``Embedding(20, 8, mask_zero=True) -> GlobalAveragePooling1D -> Dense(2)``, Adam, 3 epochs, validation
    split; sequences padded right and left (no empty row): every history key agrees with Keras's; ``x.mean(1)``
    in place of the masked pooling does not. The default case runs Keras's fit eagerly (``run_eagerly=True``:
    half the time, no tf.function tracing); the slow ones its compiled ``fit``."""
    rng = np.random.default_rng(4)
    n, t = 48, 9
    lengths = rng.integers(1, t + 1, n)
    pos = np.arange(t)[None]
    valid = np.where(np.arange(n)[:, None] % 2 == 0, pos < lengths[:, None], pos >= t - lengths[:, None])
    tokens = np.where(valid, rng.integers(1, 20, (n, t)), 0).astype(np.int32)
    y = ((tokens % 3 == 0).sum(1) > (tokens % 3 == 1).sum(1)).astype(np.int64)
    with _precision(dt), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((t,), dtype="int32"), layers.Embedding(20, 8, mask_zero=True),
                                  layers.GlobalAveragePooling1D(), layers.Dense(2)])
        w = [a.copy() for a in model.get_weights()]
        model.compile(optimizer=keras.optimizers.Adam(0.05),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"],
                      run_eagerly=eager)
        kh = model.fit(tokens, y, batch_size=16, epochs=3, validation_split=0.25, shuffle=False, verbose=0).history
        runs = {}
        for masked in (True, False):
            net = _MaskedBag(w, masked)
            runs[masked] = tfit.fit(net, tokens, y, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                                    optimizer=optim.Adam(net.parameters(), learning_rate=0.05), batch_size=16,
                                    epochs=3, validation_split=0.25, shuffle=False, verbose=0,
                                    metrics=["accuracy"]).history
    worst = 0.0
    for key, values in kh.items():
        err = _rel(runs[True][key], values)
        worst = max(worst, err)
        mode = "eager" if eager else "compiled"
        print(f"{dt} {mode} {key}: Keras {np.round(values, 8).tolist()} ours "
              f"{np.round(runs[True][key], 8).tolist()} rel {err:.1e}")
    off = _rel(runs[False]["loss"], kh["loss"])
    print(f"{dt}: the unmasked x.mean(1) port's loss is {off:.1e} off Keras's")
    assert worst <= (1e-12 if dt == "float64" else 1e-5)
    assert off > 1e-3

"""Blind audit (helper h14) of this session's new features, written from README.md and the docstrings only, against
Keras 3.15.1 on TensorFlow 2.21 run in the same process (float64):

1. ``fit``/``evaluate``/``predict`` with ``steps_per_epoch`` / ``validation_steps`` / ``steps`` on arrays (odd N,
   steps not dividing N, steps over the batches, ``batch_size`` None or given, ``validation_split``,
   ``class_weight``, ``shuffle="batch"``), batches per epoch counted by a callback;
2. max pooling over windows with NaN / -inf / +inf (values and input gradients vs TensorFlow), an un-adapted
   ``Normalization`` (Keras returns its input: mean 0, variance 1);
3. ``torch_impl.attention.MultiHeadAttention`` options (``attention_axes``, ``use_gate``, tuple ``output_shape``,
   ``sliding_window``, input masks, a seeded ``kernel_initializer``) with Keras's weights moved by
   ``load_keras_weights``;
4. ``regularize`` / ``constrain`` on stacked bidirectional torch RNNs: ``model.losses`` and one constrained SGD step;
5. ``optimizer.learning_rate = schedule`` between two ``fit`` calls and from a callback mid-training.

Values within 1e-12 (relative), gradients within 1e-10.

Found: one Keras difference, not followed (strict xfail): on TensorFlow, compiled (``run_eagerly=False``, the
default), a schedule assigned to ``optimizer.learning_rate`` after ``fit``'s train function was traced is ignored
by the training steps (they keep reading the old learning-rate variable, which the setter untracks,
``optimizers/base_optimizer.py:707-734``; ``make_train_function`` returns the cached function,
``backend/tensorflow/trainer.py:254``), although ``optimizer.learning_rate`` then reports the schedule's value;
torch_impl applies the schedule from the next step, as Keras with ``run_eagerly=True`` does (within 2.2e-16).
Noted: an unseeded ``he_normal`` / ``orthogonal`` MultiHeadAttention after ``random.seed(s)`` gives Keras's
initial weights within an ulp (5.6e-17 / 3.3e-16 absolute), not always bit for bit.

Run: ``.venv/bin/python -m pytest -q -s -p no:cacheprovider parity_tests/test_blind_new_features5_keras.py``
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from parity_tests.test_field_scripts_round2 import _precision  # noqa: E402
from torch_impl import callbacks as tcb  # noqa: E402
from torch_impl import constraints as C  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl import regularizers as R  # noqa: E402
from torch_impl import schedules  # noqa: E402
from torch_impl import initializers as tinit  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl.attention import MultiHeadAttention  # noqa: E402
from torch_impl.keras_ops import max_pool as t_max_pool  # noqa: E402
from torch_impl.nn import keras_init_, keras_weights, load_keras_weights  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1.0))) if a.size else 0.0


# ---------------------------------------------------------------------------------------------------------------
# 1. steps on arrays


class _Count:
    """Counts the batches of each epoch and keeps ``params["steps"]``; mixed into either framework's Callback."""

    def __init__(self):
        super().__init__()
        self.batches, self.steps = [], None

    def on_train_begin(self, logs=None):
        self.steps = self.params.get("steps")

    def on_epoch_begin(self, epoch, logs=None):
        self.batches.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.batches[-1] += 1


class _KCount(_Count, keras.callbacks.Callback):
    pass


class _TCount(_Count, tcb.Callback):
    pass


def _cls_data(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    y = (np.argmax(x[:, :3] + 0.3 * rng.normal(size=(n, 3)), 1)).astype("int64")
    return x, y


STEP_CASES = {
    "odd_n_steps_no_bs": dict(n=23, kw=dict(steps_per_epoch=4)),
    "bs5_steps3_continued": dict(n=23, kw=dict(batch_size=5, steps_per_epoch=3)),
    "steps_over_batches": dict(n=17, kw=dict(batch_size=8, steps_per_epoch=7)),
    "val_split_val_steps": dict(n=29, kw=dict(validation_split=0.3, steps_per_epoch=3, validation_steps=2)),
    "val_steps_bs_given": dict(n=21, kw=dict(batch_size=4, validation_split=0.25, validation_steps=1)),
    "class_weight_steps": dict(n=19, kw=dict(steps_per_epoch=5, class_weight={0: 0.3, 1: 2.5, 2: 1.0})),
    "shuffle_batch_steps": dict(n=22, kw=dict(batch_size=6, steps_per_epoch=3, shuffle="batch")),
    "no_shuffle_steps1": dict(n=13, kw=dict(steps_per_epoch=1, shuffle=False)),
    "val_data_val_bs_steps": dict(n=20, kw=dict(steps_per_epoch=2, validation_data=_cls_data(9, seed=1),
                                                validation_steps=2, validation_batch_size=3)),
    "val_data_val_steps_over": dict(n=11, kw=dict(batch_size=4, validation_data=_cls_data(7, seed=2),
                                                  validation_steps=5, validation_freq=2)),
}
FAST_STEP_CASES = ["bs5_steps3_continued", "val_split_val_steps", "class_weight_steps"]


def _run_steps(n, kw, seed=7, epochs=3):
    x, y = _cls_data(n)
    out = []
    with _precision("float64"):
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="tanh"),
                               keras.layers.Dense(3, activation="softmax")])
        km.compile(optimizer=keras.optimizers.Adam(0.03), loss="sparse_categorical_crossentropy",
                   metrics=["accuracy"])
        obs = _KCount()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            h = km.fit(x, y, epochs=epochs, verbose=0, callbacks=[obs], **kw).history
            ev = km.evaluate(x, y, steps=2, batch_size=4, verbose=0, return_dict=True)
            pr = km.predict(x, steps=3, verbose=0)
        out.append((h, obs, ev, pr))
        net = keras_init_(torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3)),
                          seed=seed)
        opt = optim.get({"class_name": "Adam", "config": {"learning_rate": 0.03}}, net.named_parameters())
        obs = _TCount()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            h = tfit.fit(net, x, y, loss="sparse_categorical_crossentropy", optimizer=opt, metrics=["accuracy"],
                         output_activation="softmax", epochs=epochs, verbose=0, callbacks=[obs], seed=seed,
                         **kw).history
            ev = tfit.evaluate(net, x, y, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                               output_activation="softmax", steps=2, batch_size=4)
            pr = tfit.predict(net, x, steps=3, output_activation="softmax")
        out.append((h, obs, ev, pr))
    return out


@pytest.mark.parametrize("case", [pytest.param(c, marks=() if c in FAST_STEP_CASES else pytest.mark.slow)
                                  for c in STEP_CASES])
def test_fit_steps_on_arrays_like_keras(case):
    (kh, kobs, kev, kpr), (th, tobs, tev, tpr) = _run_steps(**STEP_CASES[case])
    print(f"\n  {case}: batches/epoch keras {kobs.batches} torch {tobs.batches}, steps {kobs.steps}/{tobs.steps}")
    assert tobs.batches == kobs.batches and tobs.steps == kobs.steps
    assert sorted(th) == sorted(kh), (sorted(th), sorted(kh))
    err = max(_rel(th[k], kh[k]) for k in kh)
    ev_err = max(_rel(tev[k], kev[k]) for k in kev)
    assert tpr.shape == kpr.shape, (tpr.shape, kpr.shape)
    pr_err = _rel(tpr, kpr)
    print(f"  history max rel diff {err:.1e}; evaluate(steps=2) {ev_err:.1e}; predict(steps=3) {pr_err:.1e} "
          f"shape {kpr.shape}")
    assert err <= 1e-12 and ev_err <= 1e-12 and pr_err <= 1e-12


EVAL_CASES = [dict(steps=3), dict(steps=9), dict(steps=4, batch_size=7), dict(steps=2, batch_size=30),
              dict(steps=23), dict(steps=2, batch_size=5), dict(steps=1, batch_size=4)]


@pytest.mark.parametrize("kw", [pytest.param(kw, marks=() if i in (1, 5, 6) else pytest.mark.slow)
                                for i, kw in enumerate(EVAL_CASES)], ids=lambda kw: "-".join(f"{k}{v}" for k, v in kw.items()))
def test_evaluate_predict_steps_without_training_like_keras(kw):
    """``evaluate``/``predict`` with ``steps`` (odd N=23; ``batch_size`` None: ``ceil(N / steps)``; steps over the
    batches: the pass runs out) on Keras's initial weights; Keras's batches counted by a callback."""
    x, y = _cls_data(23, seed=4)

    class KC(keras.callbacks.Callback):
        n = 0

        def on_test_batch_end(self, batch, logs=None):
            KC.n += 1

        def on_predict_batch_end(self, batch, logs=None):
            KC.n += 100

    class TC(tcb.Callback):
        n = 0

        def on_test_batch_end(self, batch, logs=None):
            TC.n += 1

        def on_predict_batch_end(self, batch, logs=None):
            TC.n += 100

    with _precision("float64"):
        keras.utils.set_random_seed(9)
        km = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        km.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        net = keras_init_(torch.nn.Sequential(torch.nn.Linear(4, 3)), seed=9)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kev = km.evaluate(x, y, verbose=0, return_dict=True, callbacks=[KC()], **kw)
            kpr = km.predict(x, verbose=0, callbacks=[KC()], **kw)
            tev = tfit.evaluate(net, x, y, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                                output_activation="softmax", callbacks=[TC()], **kw)
            tpr = tfit.predict(net, x, output_activation="softmax", callbacks=[TC()], **kw)
    err = max(_rel(tev[k], kev[k]) for k in kev)
    print(f"\n  {kw}: keras batches {KC.n} torch {TC.n}; evaluate {kev} max rel diff {err:.1e}; predict "
          f"{kpr.shape} vs {tpr.shape}")
    assert TC.n == KC.n and tpr.shape == kpr.shape and sorted(tev) == sorted(kev)
    assert err <= 1e-12 and _rel(tpr, kpr) <= 1e-12


# ---------------------------------------------------------------------------------------------------------------
# 2. max pooling with non-finite windows; un-adapted Normalization


def _pool_input(shape, rng):
    x = rng.normal(size=shape)
    flat = x.reshape(-1)
    idx = rng.permutation(flat.size)
    k = flat.size // 6
    flat[idx[:k]] = np.nan
    flat[idx[k:2 * k]] = -np.inf
    flat[idx[2 * k:2 * k + k // 2]] = np.inf
    # whole windows of NaN, of -inf, of NaN and -inf, in the first sample, first channel (channels-last)
    x[(0,) + (slice(0, 2),) * (len(shape) - 2) + (0,)] = np.nan
    x[(0,) + (slice(2, 4),) * (len(shape) - 2) + (0,)] = -np.inf
    sl = (0,) + (slice(4, 6),) * (len(shape) - 2) + (0,)
    x[sl] = np.nan
    x[(0,) + (4,) * (len(shape) - 2) + (0,)] = -np.inf
    return x


POOL_CASES = [(1, 2, None, "valid"), (1, 3, 2, "same"), (2, 2, None, "valid"), (2, 3, 2, "same"),
              (2, (2, 3), (1, 2), "valid")]


def _tf_pool(x, pool, strides, padding, w):
    xv = tf.Variable(x)
    with tf.GradientTape() as tape:
        y = keras.ops.max_pool(xv, pool, strides, padding)
        s = tf.reduce_sum(tf.where(tf.math.is_finite(y), y, tf.zeros_like(y)) * w)
    return y.numpy(), tape.gradient(s, xv).numpy()


@pytest.mark.parametrize("rank,pool,strides,padding", POOL_CASES)
def test_max_pool_nonfinite_like_tensorflow(rank, pool, strides, padding):
    rng = np.random.default_rng(rank * 10 + (3 if padding == "same" else 0))
    x = _pool_input((2,) + (7,) * rank + (3,), rng)
    w = rng.normal(size=keras.ops.max_pool(x, pool, strides, padding).shape)
    ky, kg = _tf_pool(x, pool, strides, padding, tf.constant(w))
    layer = {1: tnn.MaxPooling1D, 2: tnn.MaxPooling2D, 3: tnn.MaxPooling3D}[rank](pool, strides=strides,
                                                                                  padding=padding)
    for name in ("keras_ops.max_pool", f"nn.MaxPooling{rank}D"):
        xt = torch.tensor(x, requires_grad=True)
        if name.startswith("keras_ops"):
            y = t_max_pool(xt, pool, strides, padding)
        else:
            y = layer(xt.movedim(-1, 1)).movedim(1, -1)
        s = (torch.where(torch.isfinite(y), y, torch.zeros_like(y)) * torch.tensor(w)).sum()
        (g,) = torch.autograd.grad(s, xt)
        yv, gv = y.detach().numpy(), g.numpy()
        print(f"\n  {name} pool={pool} strides={strides} {padding}: NaN out {int(np.isnan(ky).sum())}, "
              f"-inf out {int(np.isneginf(ky).sum())}, +inf out {int(np.isposinf(ky).sum())}, "
              f"lowest-float out {int((ky == np.finfo(np.float64).min).sum())}")
        np.testing.assert_array_equal(yv, ky)  # NaN / inf positions equal, finite values bit for bit
        gerr = float(np.max(np.abs(gv - kg)))
        print(f"  values equal; input gradient max abs diff {gerr:.1e}")
        assert np.array_equal(np.isnan(gv), np.isnan(kg)) and gerr <= 1e-10


def test_max_pool_3d_nonfinite_float32_values_like_tensorflow():
    """3-D (float32: TensorFlow has no float64 MaxPool3D); values only (its CPU MaxPool3DGrad is pinned as a strict
    xfail in test_blind_new_features4_keras.py)."""
    rng = np.random.default_rng(33)
    x = _pool_input((2, 6, 6, 6, 2), rng).astype(np.float32)
    for pool, strides, padding in [(2, None, "valid"), (3, 2, "same")]:
        ky = keras.ops.max_pool(tf.constant(x), pool, strides, padding).numpy()
        ty = t_max_pool(torch.tensor(x), pool, strides, padding).numpy()
        tl = tnn.MaxPooling3D(pool, strides=strides, padding=padding)(torch.tensor(x).movedim(-1, 1))
        print(f"\n  3-D pool={pool} {padding}: lowest-float out {int((ky == np.finfo(np.float32).min).sum())}, "
              f"NaN out {int(np.isnan(ky).sum())}")
        np.testing.assert_array_equal(ty, ky)
        np.testing.assert_array_equal(tl.movedim(1, -1).numpy(), ky)


@pytest.mark.parametrize("kw", [dict(), dict(axis=None), dict(axis=(1,)), dict(invert=True),
                                dict(axis=(1, 2), invert=True), dict(axis=-2)])
def test_unadapted_normalization_like_keras(kw):
    x = np.random.default_rng(1).normal(size=(2, 3, 4)) * 5
    with _precision("float64"):
        k = keras.layers.Normalization(**kw)
        ky = np.asarray(k(x))
        t = tnn.Normalization(**kw)
        xt = torch.tensor(x, requires_grad=True)
        ty = t(xt)
        (g,) = torch.autograd.grad(ty.sum(), xt)
    print(f"\n  Normalization({kw}) un-adapted: max abs diff {float(np.max(np.abs(ty.detach().numpy() - ky))):.1e}")
    np.testing.assert_array_equal(ty.detach().numpy(), ky)
    assert ty.dtype == torch.float64
    np.testing.assert_array_equal(g.numpy(), np.ones_like(x))


# ---------------------------------------------------------------------------------------------------------------
# 3. MultiHeadAttention options


def _mask(rng, shape):
    m = rng.random(shape) > 0.3
    m[..., 0] = True
    return m


MHA_CASES = {
    "gate_tuple_output": dict(layer=dict(num_heads=2, key_dim=3, value_dim=5, use_gate=True, output_shape=(2, 3)),
                              q=(2, 4, 6), v=(2, 5, 7)),
    "axes_image": dict(layer=dict(num_heads=2, key_dim=3, attention_axes=(1, 2)), q=(2, 3, 4, 6), v=(2, 3, 4, 6)),
    "axes_last_rank4": dict(layer=dict(num_heads=3, key_dim=2, attention_axes=(2,), use_gate=True),
                            q=(2, 3, 4, 5), v=(2, 3, 6, 5)),
    "sliding_causal_masks": dict(layer=dict(num_heads=2, key_dim=5, sliding_window=2), q=(3, 6, 4), v=(3, 6, 4),
                                 causal=True, masks=True),
    "window1_all_masked_rows": dict(layer=dict(num_heads=1, key_dim=2, sliding_window=1), q=(3, 4, 3), v=(3, 5, 3),
                                    masks="empty"),
    "axes_rank4_masks_all_masked": dict(layer=dict(num_heads=2, key_dim=2, attention_axes=(2,)), q=(2, 3, 4, 3),
                                        v=(2, 3, 5, 3), masks="empty"),
    "sliding_only_masks_key": dict(layer=dict(num_heads=2, key_dim=3, sliding_window=3, use_gate=True),
                                   q=(2, 5, 4), v=(2, 7, 3), key=(2, 7, 6), masks=True),
}


def _mha_pair(case, rng):
    spec = MHA_CASES[case]
    q, v = rng.normal(size=spec["q"]), rng.normal(size=spec["v"])
    k = rng.normal(size=spec["key"]) if "key" in spec else None
    km = keras.layers.MultiHeadAttention(**spec["layer"])
    masks = {}
    if spec.get("masks"):
        nm = len(spec["q"]) - 1
        masks = dict(query_mask=_mask(rng, spec["q"][:nm]), value_mask=_mask(rng, spec["v"][:nm]))
        if spec["masks"] == "empty":  # a sample whose values are all masked, a masked query
            masks["value_mask"][0] = False
            masks["query_mask"][(1,) * nm] = False
        if k is not None:
            masks["key_mask"] = _mask(rng, spec["key"][:2])
    return spec, q, v, k, km, masks


def _keras_mha(km, q, v, k, masks, causal):
    qv, vv = tf.Variable(q), tf.Variable(v)
    kv = tf.Variable(k) if k is not None else None
    with tf.GradientTape() as tape:
        qt, vt = tf.identity(qv), tf.identity(vv)
        kt = tf.identity(kv) if kv is not None else None
        if masks:
            keras.src.backend.set_keras_mask(qt, tf.constant(masks["query_mask"]))
            keras.src.backend.set_keras_mask(vt, tf.constant(masks["value_mask"]))
            if kt is not None:
                keras.src.backend.set_keras_mask(kt, tf.constant(masks["key_mask"]))
        y = km(qt, vt, key=kt, use_causal_mask=causal)
        s = tf.reduce_sum(y * tf.cos(tf.reshape(tf.range(tf.size(y), dtype=y.dtype), y.shape)))
    srcs = [qv, vv] + ([kv] if kv is not None else [])
    return y.numpy(), [g.numpy() for g in tape.gradient(s, srcs)]


@pytest.mark.parametrize("case", list(MHA_CASES))
def test_mha_options_like_keras(case):
    rng = np.random.default_rng(len(case))
    with _precision("float64"):
        keras.utils.set_random_seed(2)
        spec, q, v, k, km, masks = _mha_pair(case, rng)
        causal = spec.get("causal", False)
        ky, kg = _keras_mha(km, q, v, k, masks, causal)  # builds the layer
        km.set_weights([rng.normal(size=w.shape) * 0.5 for w in km.get_weights()])
        ky, kg = _keras_mha(km, q, v, k, masks, causal)
        if masks:  # the masks reach Keras's layer (they change its output)
            assert np.max(np.abs(_keras_mha(km, q, v, k, {}, causal)[0] - ky)) > 1e-3
        lk = dict(spec["layer"])
        tm = MultiHeadAttention(q.shape[-1], lk.pop("num_heads"), lk.pop("key_dim"),
                                key_input_dim=(k if k is not None else v).shape[-1], value_input_dim=v.shape[-1],
                                dtype=torch.float64, **lk)
        load_keras_weights(tm, km.get_weights())
        ts = [torch.tensor(a, requires_grad=True) for a in (q, v) + ((k,) if k is not None else ())]
        tmasks = {n: torch.tensor(m) for n, m in masks.items()}
        y = tm(ts[0], ts[1], ts[2] if k is not None else None, use_causal_mask=causal, **tmasks)
        s = (y * torch.cos(torch.arange(y.numel(), dtype=y.dtype).reshape(y.shape))).sum()
        tg = torch.autograd.grad(s, ts)
    err = _rel(y.detach().numpy(), ky)
    gerr = max(float(np.max(np.abs(a.numpy() - b))) for a, b in zip(tg, kg))
    print(f"\n  MHA {case}: out {ky.shape} max rel diff {err:.1e}; input grads max abs diff {gerr:.1e}")
    assert y.shape == ky.shape and err <= 1e-12 and gerr <= 1e-10


def test_mha_scores_axes_attention_mask_like_keras():
    """``return_attention_scores`` over two attention axes with an explicit ``attention_mask`` and input masks."""
    rng = np.random.default_rng(12)
    q, v = rng.normal(size=(2, 3, 2, 4)), rng.normal(size=(2, 2, 3, 4))
    am = rng.random((2, 3, 2, 2, 3)) > 0.4
    am[..., 0, 0] = True
    with _precision("float64"):
        km = keras.layers.MultiHeadAttention(2, 3, value_dim=2, attention_axes=(1, 2), output_shape=(3,))
        km(q, v)
        km.set_weights([rng.normal(size=w.shape) * 0.5 for w in km.get_weights()])
        ky, ks = km(q, v, attention_mask=am, return_attention_scores=True)
        tm = MultiHeadAttention(4, 2, 3, value_dim=2, attention_axes=(1, 2), output_shape=(3,), dtype=torch.float64)
        load_keras_weights(tm, km.get_weights())
        ty, ts = tm(torch.tensor(q), torch.tensor(v), attention_mask=torch.tensor(am), return_attention_scores=True)
    e1, e2 = _rel(ty.detach().numpy(), ky.numpy()), _rel(ts.detach().numpy(), ks.numpy())
    print(f"\n  MHA axes (1, 2) + attention_mask: out {tuple(ky.shape)} {e1:.1e}, scores {tuple(ks.shape)} {e2:.1e}")
    assert tuple(ts.shape) == tuple(ks.shape) and e1 <= 1e-12 and e2 <= 1e-12


def test_mha_seeded_kernel_initializer_like_keras():
    with _precision("float64"):
        km = keras.layers.MultiHeadAttention(2, 3, value_dim=4, use_gate=True, output_shape=(5,),
                                             kernel_initializer=keras.initializers.GlorotUniform(seed=11),
                                             bias_initializer=keras.initializers.RandomNormal(seed=3))
        km(np.zeros((1, 2, 6)), np.zeros((1, 3, 7)))
        tm = MultiHeadAttention(6, 2, 3, value_dim=4, use_gate=True, output_shape=(5,), value_input_dim=7,
                                dtype=torch.float64,
                                kernel_initializer=tinit.GlorotUniform(seed=11),
                                bias_initializer=tinit.get({"class_name": "RandomNormal", "config": {"seed": 3}}))
    kw, tw = km.get_weights(), keras_weights(tm)
    assert [w.shape for w in kw] == [w.shape for w in tw]
    err = max(float(np.max(np.abs(a - b))) for a, b in zip(tw, kw))
    print(f"\n  MHA seeded initializers: {len(kw)} weights, max abs diff {err:.1e}")
    assert err == 0.0


@pytest.mark.parametrize("init", ["he_normal", "orthogonal"])
def test_mha_unseeded_initializer_after_random_seed_like_keras(init):
    """README: after ``random.seed(s)`` the module holds Keras's initial weights after
    ``keras.utils.set_random_seed(s)`` (an unseeded initializer draws a seed per projection)."""
    import random

    with _precision("float64"):
        keras.utils.set_random_seed(5)
        km = keras.layers.MultiHeadAttention(2, 3, value_dim=2, use_gate=True, kernel_initializer=init,
                                             bias_initializer="random_uniform")
        km(np.zeros((1, 2, 4)), np.zeros((1, 3, 4)))
        random.seed(5)
        tm = MultiHeadAttention(4, 2, 3, value_dim=2, use_gate=True, dtype=torch.float64, kernel_initializer=init,
                                bias_initializer="random_uniform")
    kw, tw = km.get_weights(), keras_weights(tm)
    err = max(float(np.max(np.abs(a - b))) for a, b in zip(tw, kw))
    which = [i for i, (a, b) in enumerate(zip(tw, kw)) if not np.array_equal(a, b)]
    print(f"\n  MHA unseeded {init} after random.seed(5): {len(kw)} weights, max abs diff {err:.1e} (not bit for "
          f"bit: weights {which})")
    assert [w.shape for w in kw] == [w.shape for w in tw] and err <= 1e-12


# ---------------------------------------------------------------------------------------------------------------
# 4. regularize / constrain on stacked bidirectional torch RNNs

F_, T_, H_ = 3, 4, 2


def _keras_rnn(kind, **kw):
    cls = keras.layers.LSTM if kind == "lstm" else keras.layers.GRU
    return keras.Sequential([keras.Input((T_, F_)),
                             keras.layers.Bidirectional(cls(H_, return_sequences=True, **kw)),
                             keras.layers.Bidirectional(cls(H_, return_sequences=True, **kw))])


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_rnn_regularized_constrained_step_like_keras(kind):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, T_, F_))
    with _precision("float64"):
        keras.utils.set_random_seed(3)
        km = _keras_rnn(kind, kernel_regularizer=keras.regularizers.L1L2(0.01, 0.03),
                        recurrent_regularizer=keras.regularizers.L1(0.02),
                        bias_regularizer=keras.regularizers.L2(0.05),
                        kernel_constraint=keras.constraints.MaxNorm(0.7),
                        recurrent_constraint=keras.constraints.UnitNorm(),
                        bias_constraint=keras.constraints.NonNeg())
        km.set_weights([rng.normal(size=w.shape) * 0.6 for w in km.get_weights()])
        rnn = (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(F_, H_, num_layers=2, bidirectional=True,
                                                                  batch_first=True, dtype=torch.float64)
        load_keras_weights(rnn, km.get_weights())
        R.regularize(rnn, kernel_regularizer=R.L1L2(0.01, 0.03), recurrent_regularizer=R.L1(0.02),
                     bias_regularizer=R.L2(0.05))
        C.constrain(rnn, kernel_constraint=C.MaxNorm(0.7), recurrent_constraint=C.UnitNorm(),
                    bias_constraint=C.NonNeg())
        w = rng.normal(size=(2, T_, 2 * H_))
        # Keras: loss = sum(out * w) + sum(model.losses), one SGD step (constraints after it)
        with tf.GradientTape() as tape:
            out = km(x)
            k_pen = tf.add_n(km.losses)
            k_loss = tf.reduce_sum(out * w) + k_pen
        grads = tape.gradient(k_loss, km.trainable_variables)
        kopt = keras.optimizers.SGD(0.2)
        kopt.apply(grads, km.trainable_variables)
        t_out, _ = rnn(torch.tensor(x))
        t_pen = sum(R.regularization_losses(rnn))
        t_loss = (t_out * torch.tensor(w)).sum() + t_pen
        topt = optim.SGD([p for p in rnn.parameters() if p.requires_grad], learning_rate=0.2)
        topt.zero_grad()
        t_loss.backward()
        topt.step()
    pen_err = _rel(float(t_pen.detach()), float(k_pen))
    loss_err = _rel(float(t_loss.detach()), float(k_loss))
    kw, tw = km.get_weights(), keras_weights(rnn)
    w_err = max(float(np.max(np.abs(a - b))) for a, b in zip(tw, kw))
    print(f"\n  {kind} 2x bidirectional: {len(km.losses)} Keras penalties, sum {float(k_pen):.6f} rel diff "
          f"{pen_err:.1e}; loss {loss_err:.1e}; weights after a constrained SGD step max abs diff {w_err:.1e}")
    assert pen_err <= 1e-12 and loss_err <= 1e-12 and w_err <= 1e-10


# ---------------------------------------------------------------------------------------------------------------
# 5. optimizer.learning_rate = schedule mid-training


def _lr_models(seed=4):
    keras.utils.set_random_seed(seed)
    km = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(1)])
    net = keras_init_(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)),
                      seed=seed)
    return km, net


_COMPILED_IGNORES = pytest.mark.xfail(strict=True, reason=(
    "Keras 3.15.1 on TensorFlow, compiled (run_eagerly=False, the default): a schedule assigned to "
    "optimizer.learning_rate after the train function was traced is silently ignored (the traced step keeps "
    "reading the old, now untracked, learning-rate variable; make_train_function caches it, "
    "backend/tensorflow/trainer.py:254), while optimizer.learning_rate reports the schedule's value; "
    "torch_impl applies the schedule, as Keras with run_eagerly=True does"))
EAGER = [pytest.param(True, id="keras_eager"), pytest.param(False, id="keras_compiled", marks=_COMPILED_IGNORES)]
EAGER_SLOW_COMPILED = [EAGER[0], pytest.param(False, id="keras_compiled", marks=[_COMPILED_IGNORES, pytest.mark.slow])]


@pytest.mark.parametrize("eager", EAGER)
@pytest.mark.parametrize("opt_name", ["SGD", pytest.param("Adam", marks=pytest.mark.slow)])
def test_learning_rate_schedule_assigned_between_fits_like_keras(opt_name, eager):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(21, 3))
    y = np.sin(x[:, :1]) + x[:, 1:2]
    with _precision("float64"):
        km, net = _lr_models()
        km.compile(optimizer=getattr(keras.optimizers, opt_name)(0.05), loss="mse", run_eagerly=eager)
        topt = getattr(optim, opt_name)(net.parameters(), learning_rate=0.05)
        kh = [km.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history]
        th = [tfit.fit(net, x, y, loss="mse", optimizer=topt, epochs=2, batch_size=8, shuffle=False,
                       verbose=0).history]
        km.optimizer.learning_rate = keras.optimizers.schedules.ExponentialDecay(0.2, 2, 0.5)
        topt.learning_rate = schedules.ExponentialDecay(0.2, 2, 0.5)
        kh.append(km.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history)
        th.append(tfit.fit(net, x, y, loss="mse", optimizer=topt, epochs=2, batch_size=8, shuffle=False,
                           verbose=0).history)
        k_lr, t_lr = float(km.optimizer.learning_rate), float(topt.learning_rate)
    err = max(_rel(t["loss"], k["loss"]) for t, k in zip(th, kh))
    w_err = max(float(np.max(np.abs(a - b))) for a, b in zip(keras_weights(net), km.get_weights()))
    print(f"\n  {opt_name} (Keras run_eagerly={eager}): lr after {k_lr:.6g} / {t_lr:.6g}; losses keras {kh[1]['loss']} torch {th[1]['loss']}; "
          f"max rel diff {err:.1e}, weights {w_err:.1e}")
    assert abs(k_lr - t_lr) <= 1e-15 and err <= 1e-12 and w_err <= 1e-10


@pytest.mark.parametrize("eager", EAGER_SLOW_COMPILED)
def test_learning_rate_schedule_assigned_in_callback_like_keras(eager):
    """A schedule assigned from ``on_epoch_end`` of epoch 0 (steps counted from the start of training)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(15, 3))
    y = x[:, :1] * 0.5 - x[:, 2:] ** 2

    class KSet(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                self.model.optimizer.learning_rate = keras.optimizers.schedules.PiecewiseConstantDecay(
                    [3], [0.3, 0.01])

    class TSet(tcb.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                topt.learning_rate = schedules.PiecewiseConstantDecay([3], [0.3, 0.01])

    with _precision("float64"):
        km, net = _lr_models(6)
        km.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", run_eagerly=eager)
        topt = optim.SGD(net.parameters(), learning_rate=0.05)
        kh = km.fit(x, y, epochs=3, batch_size=5, shuffle=False, verbose=0, callbacks=[KSet()]).history
        th = tfit.fit(net, x, y, loss="mse", optimizer=topt, epochs=3, batch_size=5, shuffle=False, verbose=0,
                      callbacks=[TSet()]).history
    err = _rel(th["loss"], kh["loss"])
    print(f"\n  schedule set in a callback (Keras run_eagerly={eager}): keras {kh['loss']} torch {th['loss']} max rel diff {err:.1e}")
    assert err <= 1e-12

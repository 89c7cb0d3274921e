"""Keras 3.15.1's ``Attention`` (Luong) and ``AdditiveAttention`` (Bahdanau) in :class:`torch_impl.nn.Attention` and
:class:`torch_impl.nn.AdditiveAttention`, against the real layers with the same weights: ``score_mode`` ``"dot"`` /
``"concat"``, ``use_scale``, a separate key, the query and value masks (given as ``mask=[...]`` or carried by the
inputs, Keras's ``_keras_mask``), ``use_causal_mask``, ``return_attention_scores``, the dropout on the attention
weights in training from a seed (two calls: the stream advances) and in eval, a fully masked row, leading batch axes
that broadcast; the outputs, the attention scores and the gradients of the inputs and the weights (``scale``,
``concat_score_weight``), the mask the output carries, Keras's errors for bad inputs, ``keras_init_(seed=...)``'s
replay of Keras's draws.

Measured (max abs diff against Keras, two calls in training, the largest output or gradient 1.6 to 5.4): float64
outputs within 8.9e-16, scores within 2.2e-16, input and weight gradients within 1.3e-15; float32 within 2.4e-7 /
1.2e-7 / 6.0e-7; the output's carried mask equal to Keras's in every case; ``keras_init_(seed=...)``: the initial
``scale`` and the dropout seeds equal to Keras's. Bug fixed on the way (``torch_impl/nn.py``): ``load_keras_weights``
could not load a 0-d weight (``np.ascontiguousarray`` makes it 1-d), as these layers' scalar ``scale``.

Keras facts pinned here (``keras/src/layers/attention/attention.py``): a masked score is ``score - 1e9`` (65504 in
float16; 177-180), not ``-inf``, so a row with no valid value is the softmax of its shifted scores, not zeros (in
float64 its unmasked softmax to ~1e-7; in float32, where the ulp of 1e9 is 64, close to uniform); the returned attention scores are the weights *after* the dropout (183-189); the output is zeroed where the
query mask is False (235-238) and carries the query mask (``compute_mask``, 244-248); the ``scale`` and
``concat_score_weight`` weights start at 1 (94-108); ``AdditiveAttention``'s ``scale`` is ``(dim,)``
``glorot_uniform`` (``additive_attention.py`` 72-79); a direct call's ``training`` defaults to ``False``.
"""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras.src import backend as keras_backend  # noqa: E402

from parity_tests.test_field_scripts_round2 import _precision  # noqa: E402
from torch_impl.nn import AdditiveAttention, Attention, keras_init_, keras_weights, load_keras_weights  # noqa: E402

pytestmark = pytest.mark.keras

_QM = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool)  # (B, Tq)
_VM = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 0]], bool)  # (B, Tv)
_EMPTY_VM = np.array([[0, 0, 0, 0, 0], [1, 0, 1, 1, 1]], bool)  # batch 0: nothing to attend

#: name: (additive, Keras's arguments, query shape, value shape, key shape, masks, how the masks come ("mask": the
#: call's argument, "carried": the inputs' _keras_mask), call arguments, training)
CASES = {
    "dot-scores": (False, {}, (2, 4, 3), (2, 5, 3), None, None, "", dict(return_attention_scores=True), False),
    "dot-scale-key": (False, dict(use_scale=True), (2, 4, 3), (2, 5, 2), (2, 5, 3), None, "",
                      dict(return_attention_scores=True), False),
    "concat": (False, dict(score_mode="concat"), (2, 4, 3), (2, 5, 3), None, None, "", {}, False),
    "concat-scale-masks": (False, dict(score_mode="concat", use_scale=True), (2, 4, 3), (2, 5, 2), (2, 5, 3),
                           [_QM, _VM], "mask", dict(return_attention_scores=True), False),
    "dot-causal-masks": (False, dict(use_scale=True), (2, 4, 3), (2, 5, 3), None, [_QM, _VM], "mask",
                         dict(use_causal_mask=True, return_attention_scores=True), False),
    "dot-carried-masks": (False, {}, (2, 4, 3), (2, 5, 3), None, [_QM, _VM], "carried",
                          dict(return_attention_scores=True), False),
    "dot-value-mask-only-causal": (False, {}, (2, 5, 3), (2, 5, 3), None, [None, _VM], "mask",
                                   dict(use_causal_mask=True), False),
    "dot-fully-masked-row": (False, dict(use_scale=True), (2, 4, 3), (2, 5, 3), None, [None, _EMPTY_VM], "mask",
                             dict(return_attention_scores=True), False),
    "dot-dropout-train": (False, dict(dropout=0.3, seed=3), (2, 4, 3), (2, 5, 3), None, [_QM, _VM], "mask",
                          dict(return_attention_scores=True), True),
    "dot-dropout-eval": (False, dict(dropout=0.3, seed=3), (2, 4, 3), (2, 5, 3), None, None, "", {}, False),
    "concat-dropout-causal-train": (False, dict(score_mode="concat", use_scale=True, dropout=0.5, seed=5),
                                    (2, 5, 3), (2, 5, 3), None, None, "", dict(use_causal_mask=True), True),
    "dot-batch-axes": (False, dict(use_scale=True), (2, 3, 4, 3), (2, 1, 5, 3), None, None, "",
                       dict(return_attention_scores=True), False),
    "additive": (True, {}, (2, 4, 3), (2, 5, 2), (2, 5, 3), None, "", dict(return_attention_scores=True), False),
    "additive-no-scale-masks-causal": (True, dict(use_scale=False), (2, 5, 3), (2, 5, 3), None, [_QM[:, [0, 1, 2, 3, 3]],
                                                                                                 _VM], "mask",
                                       dict(use_causal_mask=True), False),
    "additive-carried-dropout-train": (True, dict(dropout=0.4, seed=2), (2, 4, 3), (2, 5, 3), None, [_QM, _VM],
                                       "carried", dict(return_attention_scores=True), True),
}
#: the default suite's cases (float64), the rest ``slow``: masks given and carried, concat with scale,
#: additive, dropout in training
_DEFAULT = {"concat-scale-masks", "additive-carried-dropout-train"}


def _params():
    for dt in ("float64", "float32"):
        for name in CASES:
            slow = dt == "float32" or name not in _DEFAULT
            yield pytest.param(name, dt, marks=[pytest.mark.slow] if slow else [], id=f"{name}-{dt}")


def _keras_layer(additive: bool, kw: dict):
    return (keras.layers.AdditiveAttention if additive else keras.layers.Attention)(**kw)


def _torch_layer(additive: bool, kw: dict, dim: int):
    return AdditiveAttention(dim, **kw) if additive else Attention(**kw)


def _like_keras(name: str, dt: str):
    """Max abs diffs of the outputs, scores and gradients over two calls, the largest Keras output or gradient, and
    whether the output masks agree."""
    additive, kw, qs, vs, ks, masks, how, call, training = CASES[name]
    rng = np.random.default_rng(1)
    with _precision(dt) as tdt:
        q, v = rng.normal(size=qs).astype(dt), rng.normal(size=vs).astype(dt)
        k = None if ks is None else rng.normal(size=ks).astype(dt)
        keras.utils.set_random_seed(7)
        layer = _keras_layer(additive, kw)
        arrays = [a for a in (q, v, k) if a is not None]
        tf_in = [tf.constant(a) for a in arrays]
        layer(tf_in)  # built (training off: the stream stays)
        layer.set_weights([w + (0.3 * rng.normal(size=w.shape)).astype(dt) for w in layer.get_weights()])
        m = _torch_layer(additive, kw, qs[-1])
        load_keras_weights(m, layer.get_weights())
        m.train(not training)  # the explicit `training` decides, not the module's mode
        t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
        k_mask = t_mask = None
        if how == "mask":
            k_mask = [None if a is None else tf.constant(a) for a in masks]
            t_mask = [None if a is None else torch.tensor(a) for a in masks]
        w_out = np.linspace(-1, 1, vs[-1]).astype(dt)
        out_d = scores_d = grad_d = scale = 0.0
        masks_agree = True
        for _ in range(2 if training else 1):  # the second call: the dropout stream advanced
            if how == "carried":
                for t, tt, a in zip(tf_in, t_in, masks):
                    keras_backend.set_keras_mask(t, tf.constant(a))
                    tt._keras_mask = torch.tensor(a)
            with tf.GradientTape() as tape:
                tape.watch(tf_in)
                res = layer(tf_in, mask=k_mask, training=training, **call)
                out = res[0] if call.get("return_attention_scores") else res
                loss = tf.reduce_sum(out * w_out)
                if call.get("return_attention_scores"):
                    loss = loss + tf.reduce_sum(res[1] * np.linspace(0.5, 1.5, res[1].shape[-1]).astype(dt))
            k_grads = tape.gradient(loss, tf_in + layer.trainable_weights)
            m.zero_grad()
            for t in t_in:
                t.grad = None
            t_res = m(t_in, mask=t_mask, training=training, **call)
            t_out = t_res[0] if call.get("return_attention_scores") else t_res
            t_loss = (t_out * torch.tensor(w_out)).sum()
            if call.get("return_attention_scores"):
                t_loss = t_loss + (t_res[1] * torch.tensor(np.linspace(0.5, 1.5, res[1].shape[-1]).astype(dt))).sum()
            t_loss.backward()
            t_grads = [t.grad for t in t_in] + [p.grad for p in m.parameters()]
            assert tuple(t_out.shape) == tuple(out.shape) and t_out.dtype == tdt
            out_d = max(out_d, float(np.max(np.abs(t_out.detach().numpy() - out.numpy()))))
            if call.get("return_attention_scores"):
                scores_d = max(scores_d, float(np.max(np.abs(t_res[1].detach().numpy() - res[1].numpy()))))
            grad_d = max([grad_d] + [float(np.max(np.abs(a.numpy() - b.numpy())))
                                     for a, b in zip(t_grads, k_grads, strict=True)])
            scale = max([scale, float(np.max(np.abs(out.numpy())))] + [float(np.max(np.abs(g.numpy())))
                                                                         for g in k_grads])
            k_carried = getattr(out, "_keras_mask", None)
            t_carried = getattr(t_out, "_keras_mask", None)
            masks_agree &= (k_carried is None) == (t_carried is None) and (
                k_carried is None or np.array_equal(np.asarray(k_carried), t_carried.numpy()))
        if kw.get("seed") is not None and training:
            assert m.state == tuple(int(s) for s in np.asarray(layer.seed_generator.state))  # two draws each
    return out_d, scores_d, grad_d, scale, masks_agree, m, layer


@pytest.mark.parametrize("name, dt", list(_params()))
def test_attention_layer_like_keras(name, dt):
    out, scores, grads, scale, masks_agree, m, layer = _like_keras(name, dt)
    kind = "AdditiveAttention" if CASES[name][0] else "Attention"
    print(f"{kind} {name} {dt}: outputs max abs diff {out:.1e}, scores {scores:.1e}, input and weight gradients "
          f"{grads:.1e} (largest output or gradient {scale:.1f}); {len(layer.get_weights())} weights; output masks "
          f"agree: {masks_agree}")
    assert len(keras_weights(m)) == len(layer.get_weights())
    assert masks_agree
    tol = (1e-15 if dt == "float64" else 5e-7) * max(scale, 1.0)
    assert out <= tol and scores <= tol and grads <= 10 * tol


def test_keras_facts_fully_masked_row_and_dropped_scores():
    """A row with no valid value: Keras's ``score - 1e9`` leaves the softmax of the row's own scores (near uniform,
    all > 0), not zeros; the returned scores are the weights after the dropout (zeros at the dropped entries, the
    kept ones scaled by ``1 / (1 - rate)``); a direct call without ``training`` runs no dropout in Keras."""
    rng = np.random.default_rng(3)
    q, v = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 5, 3))
    with _precision("float64"):
        k_scores = keras.layers.Attention()([q, v], mask=[None, _EMPTY_VM], return_attention_scores=True)[1]
        t_scores = Attention().eval()([torch.tensor(q), torch.tensor(v)], mask=[None, torch.tensor(_EMPTY_VM)],
                                      return_attention_scores=True)[1]
        plain = np.asarray(keras.ops.softmax(np.matmul(q, np.swapaxes(v, -1, -2)), axis=-1))
        row = np.asarray(k_scores)[0]
        print(f"fully masked row: Keras's scores {np.round(row[0], 4).tolist()} (the unmasked softmax "
              f"{np.round(plain[0, 0], 4).tolist()}), the port's {np.abs(t_scores[0].numpy() - row).max():.1e} off")
        assert (row > 0).all() and np.allclose(row.sum(-1), 1) and np.abs(row - plain[0]).max() < 1e-6
        assert np.abs(t_scores.numpy() - np.asarray(k_scores)).max() <= 1e-15
        drop = keras.layers.Attention(dropout=0.5, seed=1)
        undropped = np.asarray(drop([q, v], return_attention_scores=True)[1])  # training defaults to False
        dropped = np.asarray(drop([q, v], training=True, return_attention_scores=True)[1])
        t_drop = Attention(dropout=0.5, seed=1)([torch.tensor(q), torch.tensor(v)], return_attention_scores=True)[1]
    kept = dropped != 0
    print(f"dropout 0.5 on the scores: {int((~kept).sum())} of {kept.size} dropped, kept ones x2: "
          f"{np.allclose(dropped[kept], 2 * undropped[kept])}; the port's scores {np.abs(t_drop.numpy() - dropped).max():.1e} off")
    assert np.allclose(undropped, plain) and 0 < (~kept).sum() < kept.size
    assert np.allclose(dropped[kept], 2 * undropped[kept])
    assert np.abs(t_drop.detach().numpy() - dropped).max() <= 1e-15


def _errors(fn) -> tuple:
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type and message are compared
        return type(e).__name__, str(e)
    return None, ""


@pytest.mark.parametrize("bad", ["one-input", "four-inputs", "tensor", "mask-not-list", "mask-one", "score-mode",
                                 "key-rank-1", "feature-mismatch", "batch-mismatch"])
def test_bad_inputs_raise_like_keras(bad):
    """Keras's ``ValueError`` messages for the list checks (the same text), and a ``ValueError`` where Keras's
    TensorFlow ops fail (``InvalidArgumentError`` for shapes that do not fit, Keras's ``ValueError`` for a rank-1
    key)."""
    rng = np.random.default_rng(0)
    q, v = rng.normal(size=(2, 3, 4)).astype("float32"), rng.normal(size=(2, 5, 4)).astype("float32")
    tq, tv = torch.tensor(q), torch.tensor(v)
    calls = {
        "one-input": (lambda L: L()([q]), lambda L: L()([tq])),
        "four-inputs": (lambda L: L()([q, v, v, v]), lambda L: L()([tq, tv, tv, tv])),
        "tensor": (lambda L: L()(q), lambda L: L()(tq)),
        "mask-not-list": (lambda L: L()([q, v], mask=np.ones((2, 5), bool)),
                          lambda L: L()([tq, tv], mask=torch.ones(2, 5, dtype=torch.bool))),
        "mask-one": (lambda L: L()([q, v], mask=[np.ones((2, 3), bool)]),
                     lambda L: L()([tq, tv], mask=[torch.ones(2, 3, dtype=torch.bool)])),
        "score-mode": (lambda L: L(score_mode="add"), lambda L: L(score_mode="add")),
        "key-rank-1": (lambda L: L()([q, v[0, 0]]), lambda L: L()([tq, tv[0, 0]])),
        "feature-mismatch": (lambda L: L()([q, v[..., :3]]), lambda L: L()([tq, tv[..., :3]])),
        "batch-mismatch": (lambda L: L()([q, np.concatenate([v, v[:1]])]), lambda L: L()([tq, torch.cat([tv, tv[:1]])])),
    }
    k_fn, t_fn = calls[bad]
    k_type, k_msg = _errors(lambda: k_fn(keras.layers.Attention))
    t_type, t_msg = _errors(lambda: t_fn(Attention))
    inner = re.search(r"\x1b\[1m(.*?)\x1b\[0m", k_msg, re.S)
    print(f"{bad}: Keras {k_type}: {(inner.group(1) if inner else k_msg)[:100]!r} | port {t_type}: {t_msg[:100]!r}")
    assert k_type is not None and t_type == "ValueError"
    if k_type == "ValueError":  # the list checks and score_mode: Keras's first sentence
        inner = re.search(r"\x1b\[1m(.*?)\x1b\[0m", k_msg, re.S)  # Keras's call wraps the message
        first = (inner.group(1) if inner else k_msg).split("Received")[0].strip()
        assert first in t_msg, (first, t_msg)
    else:
        assert k_type == "InvalidArgumentError"


def test_weights_init_and_keras_init_seed_replay():
    """Keras's weights and initial values: ``Attention(use_scale=True, score_mode="concat")`` ``[scale,
    concat_score_weight]`` ones; ``AdditiveAttention``'s ``(dim,)`` ``glorot_uniform`` scale; in a model made
    after ``keras.utils.set_random_seed(s)``, ``keras_init_(seed=s)`` gives Keras's initial ``scale`` bit for bit and
    the unseeded dropout generators Keras's seeds (an unseeded ``Attention(dropout=0.2)`` made first, then an
    ``AdditiveAttention(dropout=0.1)``: three draws in Keras's order)."""
    with _precision("float64"):
        keras.utils.set_random_seed(5)
        k_dot = keras.layers.Attention(use_scale=True, score_mode="concat", dropout=0.2)
        k_add = keras.layers.AdditiveAttention(dropout=0.1)
        x = np.ones((1, 2, 6))
        k_dot([x, x])
        k_add([x, x])
        model = torch.nn.Sequential()
        model.add_module("dot", Attention(use_scale=True, score_mode="concat", dropout=0.2))
        model.add_module("add", AdditiveAttention(6, dropout=0.1))
        keras_init_(model, seed=5)
        t_w, k_w = keras_weights(model), k_dot.get_weights() + k_add.get_weights()
        print(f"weights {[w.shape for w in k_w]}: Keras's initial values equal: "
              f"{all(np.array_equal(a, b) for a, b in zip(t_w, k_w))}; dropout seeds Keras "
              f"{[int(np.asarray(k.seed_generator.state)[0]) for k in (k_dot, k_add)]}, port "
              f"{[model.dot.state[0], model.add.state[0]]}")
        assert [w.shape for w in t_w] == [(), (), (6,)]
        assert all(np.array_equal(a, b) for a, b in zip(t_w, k_w, strict=True))
        assert [model.dot.state, model.add.state] == [tuple(int(s) for s in np.asarray(k.seed_generator.state))
                                                      for k in (k_dot, k_add)]
        random.seed(0)
        fresh = AdditiveAttention(6)
        limit = (3 / 6) ** 0.5
        assert fresh.scale.abs().max() <= limit and fresh.scale.abs().max() > limit / 3

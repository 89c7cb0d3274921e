"""The rest of Keras 3.15.1's ``MultiHeadAttention`` in :class:`torch_impl.attention.MultiHeadAttention`, against
the real layer with the same weights: ``attention_axes`` (images ``(B, H, W, C)`` over ``(1, 2)``, one axis of a
rank-4 input, a negative axis, rank 5 over ``(2, 3)``), ``use_gate`` (Keras's sigmoid gate projection of the query,
``(in, heads, value_dim)``, made between the key and the value), a tuple ``output_shape``, ``sliding_window`` with
and without ``use_causal_mask``, the inputs' masks (``query_mask``/``value_mask``/``key_mask``: Keras's
``_keras_mask`` of each input, and-ed with the causal mask), ``training``, ``return_attention_scores``,
``flash_attention`` (values on a rank-4 input, Keras's errors), the initializers (seeded and unseeded, Keras's
per-projection clones and draw order, ``keras_init_(seed=)``), the regularizers' losses and the constraints after
an optimizer step.

Measured (max abs diff against Keras, outputs / scores / gradients of the inputs and every weight, two calls, the
largest output or gradient 2 to 49): float64 within 8.9e-16 / 1.7e-16 / 1.1e-14, float32 within 1.4e-6 / 3.0e-7 /
1.1e-5; initial weights equal (normal draws within an ulp: 2.8e-17 in float64); the 10 weight penalties equal,
the 5 activity ones within 6.9e-18, the weights after a constrained SGD step within 5.3e-16 (float64); a 3-epoch
``fit`` of a gated image attention block with an L2 kernel regularizer and ``MaxNorm`` within 1.9e-16 per epoch
(float64). Bug fixed on the way: a float16 layer gave NaN for a query row with nothing to attend
(``test_attention_float16_fully_masked_row_like_keras``).

Keras facts pinned here (``keras/src/layers/attention/multi_head_attention.py``): ``call`` reads the query's mask
from the query tensor (``query_mask = backend.get_keras_mask(query)``), so an explicit ``query_mask=`` argument is
ignored, and it deletes the inputs' masks (``set_keras_mask(..., None)``): a second call of the same tensors runs
unmasked; ``use_causal_mask`` with two attention axes fails (the ``(1, T, S)`` causal mask expanded at axis -5); a
seeded ``kernel_initializer`` gives projections of the same shape the same kernel (each sublayer gets a clone with
the same seed).
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras.src import backend as keras_backend  # noqa: E402

from parity_tests.test_field_scripts_round2 import _check_history, _precision  # noqa: E402
from torch_impl import constraints as tcons  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import initializers as tinit  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl import regularizers as treg  # noqa: E402
from torch_impl.attention import MultiHeadAttention  # noqa: E402
from torch_impl.nn import keras_init_, keras_weights, load_keras_weights  # noqa: E402

pytestmark = pytest.mark.keras

_MASK_RNG = np.random.default_rng(0)
_QM = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)  # (B, T): the query's Embedding(mask_zero=True) mask
_VM = np.array([[1, 1, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0, 1]], bool)
_KM = np.array([[1, 0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 0]], bool)

#: name: (Keras's arguments, query shape, value shape, key shape, call arguments, input masks, training, scores)
CASES = {
    "image-axes-1-2-scores": (dict(attention_axes=(1, 2)), (2, 3, 4, 5), (2, 3, 4, 5), None, {}, {}, False, True),
    "image-gate-tuple-output-mask": (dict(attention_axes=(1, 2), use_gate=True, output_shape=(2, 3)), (2, 3, 4, 5),
                                     (2, 2, 3, 6), None,
                                     dict(attention_mask=_MASK_RNG.random((2, 3, 4, 2, 3)) > 0.3), {}, False, False),
    "rank4-axis-2-eval": (dict(attention_axes=2, dropout=0.3, seed=1), (2, 3, 4, 5), (2, 3, 6, 5), None, {}, {},
                          False, False),
    "rank4-axis-minus-2-dropout": (dict(attention_axes=-2, dropout=0.3, seed=4), (2, 3, 4, 5), (2, 3, 6, 5), None,
                                   {}, {}, True, True),
    "rank5-axes-2-3-key": (dict(attention_axes=(2, 3)), (2, 2, 3, 4, 5), (2, 2, 2, 3, 5), (2, 2, 2, 3, 4), {}, {},
                           False, False),
    "rank4-axis-1-causal": (dict(attention_axes=1), (2, 5, 3, 6), (2, 5, 3, 6), None, dict(use_causal_mask=True),
                            {}, False, True),
    "gate": (dict(use_gate=True), (2, 5, 6), (2, 7, 4), None, {}, {}, False, False),
    "gate-dropout-scores": (dict(use_gate=True, dropout=0.2, seed=2, use_bias=False), (2, 5, 6), (2, 7, 4), None, {},
                            {}, True, True),
    "tuple-output": (dict(output_shape=(2, 3)), (2, 5, 6), (2, 7, 4), None, {}, {}, False, False),
    "causal-sliding-window": (dict(sliding_window=2), (2, 6, 6), (2, 6, 6), None, dict(use_causal_mask=True), {},
                              False, False),
    "sliding-window-scores": (dict(sliding_window=3), (2, 6, 6), (2, 6, 6), None, {}, {}, False, True),
    "input-masks": (dict(), (2, 5, 6), (2, 7, 4), (2, 7, 3), {}, dict(query=_QM, value=_VM, key=_KM), False, False),
    "input-masks-causal-dropout": (dict(dropout=0.2, seed=3), (2, 5, 6), (2, 7, 4), None,
                                   dict(use_causal_mask=True, attention_mask=_MASK_RNG.random((2, 5, 7)) > 0.2),
                                   dict(query=_QM, value=_VM), True, False),
    "flash-image": (dict(flash_attention=True, attention_axes=(1, 2)), (2, 3, 4, 5), (2, 3, 4, 5), None, {}, {},
                    False, False),
}
_ARGS = ("value_dim", "dropout", "use_bias", "attention_axes", "sliding_window", "flash_attention", "use_gate", "seed",
         "output_shape")


def _params():
    for dt in ("float64", "float32"):
        for name in CASES:
            yield pytest.param(name, dt, marks=[pytest.mark.slow] if dt == "float32" else [], id=f"{name}-{dt}")


def _attention_like_keras(name: str, dt: str) -> tuple[float, float, float, float, torch.nn.Module, keras.layers.Layer]:
    """Max abs diffs of the outputs, scores and gradients over two calls, the largest Keras output or gradient."""
    kw, qs, vs, ks, call, masks, training, scores = CASES[name]
    rng = np.random.default_rng(1)
    with _precision(dt) as tdt:
        q, v = rng.normal(size=qs).astype(dt), rng.normal(size=vs).astype(dt)
        k = None if ks is None else rng.normal(size=ks).astype(dt)
        keras.utils.set_random_seed(7)  # reproducible figures
        layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, **kw)
        tq, tv = tf.constant(q), tf.constant(v)
        tk = None if k is None else tf.constant(k)
        inputs = [t for t in (tq, tv, tk) if t is not None]

        def set_masks():  # Keras's layer deletes its inputs' masks when called: set them before each call
            for t, part in ((tq, "query"), (tv, "value"), (tk, "key")):
                if part in masks:
                    keras_backend.set_keras_mask(t, tf.constant(masks[part]))

        k_call = {a: tf.constant(b) if isinstance(b, np.ndarray) else b for a, b in call.items()}
        layer(tq, tv, key=tk, **k_call)  # built (training off: the Dropout stream does not advance)
        layer.set_weights([w + (0.1 * rng.normal(size=w.shape)).astype(dt) for w in layer.get_weights()])
        m = MultiHeadAttention(qs[-1], value_input_dim=vs[-1], key_input_dim=None if ks is None else ks[-1],
                               num_heads=2, key_dim=3, **{a: b for a, b in kw.items() if a in _ARGS}).to(tdt)
        load_keras_weights(m, layer.get_weights())
        m.train(not training)  # the explicit `training` decides, not the module's mode
        t_inputs = [torch.tensor(a, requires_grad=True) for a in (q, v, k) if a is not None]
        t_call = {a: torch.tensor(b) if isinstance(b, np.ndarray) else b for a, b in call.items()}
        t_call.update({f"{part}_mask": torch.tensor(mask) for part, mask in masks.items()})
        weights = np.linspace(-1, 1, layer.compute_output_shape(qs, vs, ks)[-1]).astype(dt)
        out_diff = scores_diff = grad_diff = scale = 0.0
        for _ in range(2):  # the second call: the Dropout stream advanced
            set_masks()
            with tf.GradientTape() as tape:
                tape.watch(inputs)
                res = layer(tq, tv, key=tk, training=training, return_attention_scores=scores, **k_call)
                loss = tf.reduce_sum((res[0] if scores else res) * weights)
            k_grads = tape.gradient(loss, inputs + layer.trainable_weights)
            m.zero_grad()
            for t in t_inputs:
                t.grad = None
            t_res = m(t_inputs[0], t_inputs[1], t_inputs[2] if len(t_inputs) == 3 else None, training=training,
                      return_attention_scores=scores, **t_call)
            ((t_res[0] if scores else t_res) * torch.tensor(weights)).sum().backward()
            t_grads = [t.grad for t in t_inputs] + [p.grad for p in m.parameters()]
            pairs = [(t_res[0], res[0]), (t_res[1], res[1])] if scores else [(t_res, res)]
            assert tuple(pairs[0][0].shape) == tuple(pairs[0][1].shape)
            out_diff = max(out_diff, float(np.max(np.abs(pairs[0][0].detach().numpy() - pairs[0][1].numpy()))))
            if scores:
                assert tuple(pairs[1][0].shape) == tuple(pairs[1][1].shape)
                scores_diff = max(scores_diff, float(np.max(np.abs(pairs[1][0].detach().numpy() -
                                                                   pairs[1][1].numpy()))))
            grad_diff = max([grad_diff] + [float(np.max(np.abs(a.numpy() - b.numpy())))
                                           for a, b in zip(t_grads, k_grads, strict=True)])
            scale = max([scale, float(np.max(np.abs(pairs[0][1].numpy())))] +
                        [float(np.max(np.abs(g.numpy()))) for g in k_grads])
    return out_diff, scores_diff, grad_diff, scale, m, layer


@pytest.mark.parametrize("name, dt", list(_params()))
def test_attention_option_like_keras(name, dt):
    out, scores, grads, scale, m, layer = _attention_like_keras(name, dt)
    print(f"MultiHeadAttention {name} {dt}: outputs max abs diff {out:.1e}, scores {scores:.1e}, input and weight "
          f"gradients {grads:.1e} (largest output or gradient {scale:.1f}); {len(layer.get_weights())} weights")
    assert len(keras_weights(m)) == len(layer.get_weights())
    tol = (1e-15 if dt == "float64" else 5e-7) * max(scale, 1.0)  # a few units in the last place
    assert out <= tol and scores <= tol and grads <= 10 * tol


def test_attention_mask_facts_of_keras():
    """Keras ignores an explicit ``query_mask=`` argument (it reads the query tensor's own mask) and deletes the
    inputs' masks when called; the port's ``query_mask`` is the query's mask."""
    rng = np.random.default_rng(2)
    q, v = rng.normal(size=(2, 5, 6)).astype("float32"), rng.normal(size=(2, 7, 6)).astype("float32")
    layer = keras.layers.MultiHeadAttention(2, 3)
    plain = np.asarray(layer(q, v))
    explicit = np.asarray(layer(q, v, query_mask=_QM))
    tq = tf.constant(q)
    keras_backend.set_keras_mask(tq, tf.constant(_QM))
    own = np.asarray(layer(tq, v))
    again = np.asarray(layer(tq, v))  # the mask was deleted by the first call
    m = MultiHeadAttention(6, 2, 3).float()
    load_keras_weights(m, layer.get_weights())
    with torch.no_grad():
        ported = m(torch.tensor(q), torch.tensor(v), query_mask=torch.tensor(_QM)).numpy()
    print(f"Keras: explicit query_mask changes nothing ({np.max(np.abs(explicit - plain)):.1e}), the query's own mask "
          f"does ({np.max(np.abs(own - plain)):.2f}), not on a second call ({np.max(np.abs(again - plain)):.1e}); "
          f"port's query_mask vs Keras's own mask {np.max(np.abs(ported - own)):.1e}")
    assert np.array_equal(explicit, plain) and np.array_equal(again, plain) and np.max(np.abs(own - plain)) > 0.1
    assert np.max(np.abs(ported - own)) <= 2e-6


#: (Keras's arguments, torch_impl's initializers): uniform draws bit for bit, normal ones within an ulp
INIT_CASES = {
    "he_normal-random_uniform-gate-dropout": (
        dict(kernel_initializer="he_normal", bias_initializer="random_uniform", use_gate=True, dropout=0.2),
        dict(kernel_initializer="he_normal", bias_initializer="random_uniform")),
    "seeded-glorot-ones-tuple-output": (
        dict(kernel_initializer=keras.initializers.GlorotUniform(seed=3), bias_initializer="ones",
             output_shape=(2, 3)),
        dict(kernel_initializer=tinit.GlorotUniform(seed=3), bias_initializer="ones")),
    "seeded-lecun-seeded-normal-bias-seeded-dropout": (
        dict(kernel_initializer=keras.initializers.LecunUniform(seed=5),
             bias_initializer=keras.initializers.RandomNormal(seed=2), dropout=0.1, seed=9),
        dict(kernel_initializer=tinit.LecunUniform(seed=5), bias_initializer=tinit.RandomNormal(seed=2))),
    "zeros-bias-unseeded-dropout": (dict(bias_initializer="zeros", dropout=0.3), dict(bias_initializer="zeros")),
}


def _max_diff(a, b) -> float:
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_attention_initializers_like_keras(dt):
    """After ``random.seed(s)`` the module holds the initial weights of Keras's layer made and built after
    ``keras.utils.set_random_seed(s)`` (each projection a clone of the layer's initializer: a seed drawn each when
    unseeded, ``EinsumDense``'s fan axes), and the unseeded Dropout's stream; ``keras_init_(seed=s)`` replays the
    same draws at the layer's place in a model."""
    worst = {"made": 0.0, "replayed": 0.0}
    streams = []
    for name, (k_kw, t_kw) in INIT_CASES.items():
        layer_kw = {a: b for a, b in k_kw.items() if a in _ARGS}
        image = "output_shape" in k_kw
        with _precision(dt):
            keras.utils.set_random_seed(11)
            layer = keras.layers.MultiHeadAttention(2, 3, **k_kw)
            layer(np.zeros((1, 4, 5, 6) if image else (1, 4, 6), dt),
                  np.zeros((1, 4, 7, 6) if image else (1, 7, 5), dt))
            random.seed(11)
            m = MultiHeadAttention(6, 2, 3, value_input_dim=6 if image else 5, **layer_kw, **t_kw)
            worst["made"] = max(worst["made"], _max_diff(keras_weights(m), layer.get_weights()))
            if k_kw.get("dropout"):
                streams.append((tuple(int(s) for s in layer._dropout_layer.seed_generator.state.numpy()), m.state))
            keras.utils.set_random_seed(11)  # a model: Dense, the attention, Dense (each made after the last built)
            inp, val = keras.Input((4, 6)), keras.Input((7, 5))
            h = keras.layers.Dense(6)(inp)
            a = keras.layers.MultiHeadAttention(2, 3, **{a: b for a, b in k_kw.items() if a != "output_shape"})(h, val)
            km = keras.Model([inp, val], keras.layers.Dense(2)(a))

            class Net(torch.nn.Module):
                def __init__(self):
                    super().__init__()
                    self.dense = torch.nn.Linear(6, 6)
                    self.attention = MultiHeadAttention(6, 2, 3, value_input_dim=5, **t_kw, **{
                        a: b for a, b in layer_kw.items() if a != "output_shape"})
                    self.head = torch.nn.Linear(6, 2)

            net = keras_init_(Net(), seed=11)
            worst["replayed"] = max(worst["replayed"], _max_diff(keras_weights(net), km.get_weights()))
            if k_kw.get("dropout"):
                streams.append((tuple(int(s) for s in km.layers[3]._dropout_layer.seed_generator.state.numpy()),
                                net.attention.state))
    print(f"MultiHeadAttention initializers, {len(INIT_CASES)} settings, {dt}: initial weights max abs diff "
          f"{worst['made']:.1e} (made after random.seed), {worst['replayed']:.1e} (keras_init_(seed=)); Dropout "
          f"streams (Keras, torch_impl) {streams}")
    assert max(worst.values()) <= np.finfo(dt).eps
    assert all(a == b for a, b in streams)
    # Keras's clones of a seeded initializer: the query and key projections of one width get the same kernel
    m = MultiHeadAttention(6, 2, 3, kernel_initializer=tinit.GlorotUniform(seed=3))
    assert torch.equal(m.query_kernel, m.key_kernel) and not torch.equal(m.query_kernel, m.output_kernel[..., :3])
    before = [p.detach().clone() for p in m.parameters()]
    m.reset_parameters()  # the initializers again: a seeded one's values
    assert all(torch.equal(a, b) for a, b in zip(before, m.parameters()))


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_attention_regularizers_and_constraints_like_keras(dt):
    """``kernel_regularizer``/``bias_regularizer`` on all five projections (the gate's too), ``activity_regularizer``
    on each projection's output: ``Penalties`` gives ``layer.losses`` in Keras's order; a step of SGD on the loss
    plus penalties, then ``MaxNorm``/``NonNeg`` on the kernels/biases, gives Keras's weights."""
    rng = np.random.default_rng(3)
    with _precision(dt):
        q, v = rng.normal(size=(3, 4, 6)).astype(dt), rng.normal(size=(3, 5, 6)).astype(dt)
        layer = keras.layers.MultiHeadAttention(
            2, 3, use_gate=True, kernel_regularizer=keras.regularizers.L2(0.01), bias_regularizer="l1",
            activity_regularizer=keras.regularizers.L1L2(0.01, 0.02), kernel_constraint=keras.constraints.MaxNorm(0.5),
            bias_constraint="non_neg")
        layer(q, v)
        layer.set_weights([w + (0.2 * rng.normal(size=w.shape)).astype(dt) for w in layer.get_weights()])
        m = MultiHeadAttention(6, 2, 3, use_gate=True, kernel_regularizer=treg.L2(0.01), bias_regularizer="l1",
                               activity_regularizer=treg.L1L2(0.01, 0.02), kernel_constraint=tcons.MaxNorm(0.5),
                               bias_constraint="non_neg")
        load_keras_weights(m, layer.get_weights())
        weights = np.linspace(-1, 1, 6).astype(dt)
        with tf.GradientTape() as tape:
            k_loss = tf.reduce_sum(layer(q, v) * weights)
            k_penalties = [float(p) for p in layer.losses]
            k_total = tf.add_n([k_loss] + layer.losses)
        grads = tape.gradient(k_total, layer.trainable_weights)
        keras.optimizers.SGD(0.5).apply_gradients(zip(grads, layer.trainable_weights))
        penalties = treg.Penalties(m)
        t_total = penalties.add((m(torch.tensor(q), torch.tensor(v)) * torch.tensor(weights)).sum())
        # the weights' penalties (Penalties.add read the activity ones)
        t_penalties = [float(p.detach()) for p in treg.regularization_losses(m)]
        t_total.backward()
        optim.SGD(m.parameters(), lr=0.5).step()
    pen = _max_diff(np.array(t_penalties), np.array(k_penalties[5:]))
    total, after = abs(float(t_total.detach()) - float(k_total)), _max_diff(keras_weights(m), layer.get_weights())
    norms = float(np.sqrt((keras_weights(m)[0] ** 2).sum(0)).max())
    print(f"MultiHeadAttention regularized and constrained, {dt}: {len(k_penalties)} Keras penalties (5 activity, 10 "
          f"weight), weight penalties max abs diff {pen:.1e}, loss + penalties {total:.1e}; weights after the "
          f"constrained SGD step {after:.1e} (query kernel's largest norm {norms:.4f})")
    tol = 1e-14 if dt == "float64" else 2e-6
    assert len(k_penalties) == 15 and len(t_penalties) == 10
    assert pen <= tol and total <= 10 * tol and after <= tol and norms <= 0.5 + tol


def test_attention_activity_penalties_in_keras_order():
    """The five activity penalties (query, key, gate, value, output), each over the batch size, as Keras's
    ``layer.losses`` lists them before the weights'."""
    rng = np.random.default_rng(4)
    q, v = rng.normal(size=(3, 4, 6)), rng.normal(size=(3, 5, 6))
    with _precision("float64"):
        layer = keras.layers.MultiHeadAttention(2, 3, use_gate=True, activity_regularizer="l2")
        layer(q, v)
        m = MultiHeadAttention(6, 2, 3, use_gate=True, activity_regularizer="l2")
        load_keras_weights(m, layer.get_weights())
        k_losses = [float(p) for p in layer.losses]
        m(torch.tensor(q), torch.tensor(v))
        t_losses = [float(p.detach()) for p in treg.regularization_losses(m)]
    diff = _max_diff(np.array(t_losses), np.array(k_losses))
    print(f"MultiHeadAttention activity penalties: Keras {np.round(k_losses, 4).tolist()}, max abs diff {diff:.1e}")
    assert len(k_losses) == 5 and diff <= 1e-15


def test_attention_option_errors_like_keras():
    """The errors Keras raises: ``flash_attention`` with dropout or returned scores, a ``sliding_window`` that is not
    a positive integer, ``attention_axes`` of another type, ``use_causal_mask`` over two attention axes."""
    x, image = np.ones((1, 4, 8), "float32"), np.ones((1, 3, 4, 8), "float32")
    checks = [
        ("Dropout is not supported when flash attention", lambda mha: mha(8, 2, 2, flash_attention=True, dropout=0.1)),
        ("Returning attention scores is not supported", lambda mha: mha(8, 2, 2, flash_attention=True)),
        ("sliding_window", lambda mha: mha(8, 2, 4, sliding_window=0)),
        ("sliding_window", lambda mha: mha(8, 2, 4, sliding_window=-3)),
        ("attention_axes", lambda mha: mha(8, 2, 4, attention_axes="1")),
        ("axis -5 is out of bounds", lambda mha: mha(8, 2, 4, attention_axes=(1, 2))),
    ]
    for match, make in checks:
        for side, mha in (("keras", lambda _, *a, **k: keras.layers.MultiHeadAttention(*a, **k)),
                          ("torch_impl", MultiHeadAttention)):
            with pytest.raises(ValueError, match=match):
                layer = make(mha)
                if "scores" in match:
                    layer(x, x, return_attention_scores=True) if side == "keras" else \
                        layer(torch.tensor(x), torch.tensor(x), return_attention_scores=True)
                if "axis -5" in match:
                    layer(image, image, use_causal_mask=True) if side == "keras" else \
                        layer(torch.tensor(image), torch.tensor(image), use_causal_mask=True)
    print(f"{len(checks)} errors raised by both: " + "; ".join(m for m, _ in checks))



def test_attention_float16_fully_masked_row_like_keras():
    """Bug fixed: in float16 the ``dot_product_attention`` path put its logits and the mask's ``-0.7 * 3.38953e38``
    in float16 (-inf), so a query row with nothing to attend gave NaN; Keras's logits are float32 (a uniform
    row)."""
    rng = np.random.default_rng(0)
    q, v = rng.normal(size=(2, 4, 6)).astype("float16"), rng.normal(size=(2, 5, 6)).astype("float16")
    mask = rng.random((2, 4, 5)) > 0.3
    mask[0, 1] = False
    layer = keras.layers.MultiHeadAttention(2, 3, dtype="float16")
    ref = np.asarray(layer(q, v, attention_mask=mask)).astype(np.float64)
    m = MultiHeadAttention(6, 2, 3, dtype=torch.float16)
    load_keras_weights(m, layer.get_weights())
    with torch.no_grad():
        out = m(torch.tensor(q), torch.tensor(v), attention_mask=torch.tensor(mask))
    diff = float(np.max(np.abs(out.double().numpy() - ref)))
    print(f"MultiHeadAttention float16, a fully masked query row: max abs diff {diff:.1e}, NaN "
          f"{bool(out.isnan().any())}")
    assert out.dtype == torch.float16 and not out.isnan().any() and diff <= 4e-3

class _GatedImageBlock(torch.nn.Module):
    """Keras: x (B, 4, 4, 3) -> MultiHeadAttention(2, 4, attention_axes=(1, 2), use_gate=True, kernel_regularizer=
    L2(1e-3), kernel_constraint=MaxNorm(1.0), initializers seeded)(x, x) + x -> GlobalAveragePooling2D -> Dense(3)."""

    def __init__(self):
        super().__init__()
        self.attention = MultiHeadAttention(3, 2, 4, attention_axes=(1, 2), use_gate=True,
                                            kernel_regularizer=treg.L2(1e-3), kernel_constraint=tcons.MaxNorm(1.0),
                                            kernel_initializer=tinit.HeUniform(seed=1),
                                            bias_initializer=tinit.RandomUniform(seed=2))
        self.head = torch.nn.Linear(3, 3)
        self.output_activation = "softmax"

    def forward(self, x):
        return self.head((self.attention(x, x) + x).mean((1, 2)))


@pytest.mark.slow
@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_gated_image_attention_fit_like_keras(dt):
    """``fit`` of a gated image attention block with a kernel regularizer and constraint against ``model.fit``:
    every epoch's loss, accuracy and validation figures."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(64, 4, 4, 3))
    y = np.argmax(x.mean((1, 2)) + 0.3 * rng.normal(size=(64, 3)), 1)
    with _precision(dt):
        keras.utils.set_random_seed(3)
        inp = keras.Input((4, 4, 3))
        h = keras.layers.MultiHeadAttention(
            2, 4, attention_axes=(1, 2), use_gate=True, kernel_regularizer=keras.regularizers.L2(1e-3),
            kernel_constraint=keras.constraints.MaxNorm(1.0), kernel_initializer=keras.initializers.HeUniform(seed=1),
            bias_initializer=keras.initializers.RandomUniform(seed=2))(inp, inp)
        out = keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling2D()(h + inp))
        km = keras.Model(inp, out)
        net = _GatedImageBlock()
        init_diff = _max_diff(keras_weights(net)[:10], km.get_weights()[:10])
        load_keras_weights(net, km.get_weights())
        km.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        kh = km.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0, validation_split=0.25).history
        th = tfit.fit(net, x, y, loss="sparse_categorical_crossentropy", optimizer=optim.Adam(net.parameters(), 0.01),
                      metrics=["accuracy"], batch_size=16, epochs=3, shuffle=False, verbose=0,
                      validation_split=0.25).history
    print(f"gated image attention block (attention_axes=(1, 2), L2 kernels, MaxNorm), {dt}: seeded initial "
          f"attention weights max abs diff {init_diff:.1e}")
    assert init_diff == 0.0
    _check_history(th, kh, dt)

"""Keras's ``MultiHeadAttention`` in torch: ``load_keras_weights`` maps its query/key/value kernels ``(E, heads,
head_dim)``, biases ``(heads, head_dim)`` and output kernel ``(heads, head_dim, E)`` onto
``torch.nn.MultiheadAttention(E, heads, batch_first=True)`` (``key_dim = E // heads``; separate ``kdim``/``vdim``
too), and ``keras_weights`` gives them back bit for bit. Keras's ``attention_mask`` is True where a query may
attend; torch's ``attn_mask`` is True where it may not (pass ``~mask``, one per head). Keras scales the queries by
``float32(1 / sqrt(key_dim))`` even in float64 (``ops.cast`` of a Python float), torch by the exact scale: equal
when ``key_dim`` is a power of 4 (the scale is exact), about 2e-8 relative apart in float64 otherwise (found by an
audit; float32 unaffected). Measured: outputs within 8.9e-16 (float64) of Keras's with ``key_dim=4``; a
transformer-block classifier's ``fit`` against ``model.fit`` every epoch.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from parity_tests.test_field_scripts_round2 import _check_history, _precision  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl.nn import keras_init_, keras_weights, load_keras_weights  # noqa: E402

pytestmark = pytest.mark.keras


@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_attention_scale_of_other_key_dims(dt):
    """``key_dim=3``: Keras's float32 scale ``1 / sqrt(3)`` against torch's exact one, a documented gap in float64
    (about 2e-8 of the outputs), none beyond rounding in float32."""
    x = np.random.default_rng(6).normal(size=(2, 4, 6)).astype(dt)
    with _precision(dt) as tdt:
        layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)
        ref = np.asarray(layer(x, x))
        m = load_keras_weights(torch.nn.MultiheadAttention(6, 2, batch_first=True, dtype=tdt), layer.get_weights())
        t = torch.tensor(x)
        out = m(t, t, t, need_weights=False)[0].detach().numpy()
    rel = float(np.max(np.abs(out - ref)) / np.max(np.abs(ref)))
    print(f"MultiHeadAttention key_dim=3, {dt}: max diff {rel:.1e} of the largest output (Keras's float32 scale)")
    assert (1e-12 < rel <= 1e-7) if dt == "float64" else rel <= 2e-6


@pytest.mark.parametrize("dt", ["float64", "float32"])
@pytest.mark.parametrize("case", ["self", "cross", "no-bias", "masked", "kdim-vdim"])
def test_attention_outputs_like_keras(case, dt):
    rng = np.random.default_rng(4)
    q = rng.normal(size=(3, 5, 8)).astype(dt)
    v = q if case == "self" else rng.normal(size=(3, 6, 8)).astype(dt)
    k = rng.normal(size=(3, 6, 5)).astype(dt) if case == "kdim-vdim" else v
    if case == "kdim-vdim":
        v = rng.normal(size=(3, 6, 7)).astype(dt)
    mask = rng.random((3, 5, v.shape[1])) > 0.3 if case == "masked" else None
    with _precision(dt) as tdt:
        layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, use_bias=case != "no-bias")
        ref = np.asarray(layer(q, v, key=k, attention_mask=mask))
        m = torch.nn.MultiheadAttention(8, 2, batch_first=True, bias=case != "no-bias",
                                        kdim=k.shape[-1], vdim=v.shape[-1], dtype=tdt)
        load_keras_weights(m, layer.get_weights())
        torch_mask = None if mask is None else torch.tensor(~mask).repeat_interleave(2, 0)  # True: blocked
        out = m(torch.tensor(q), torch.tensor(k), torch.tensor(v), need_weights=False,
                attn_mask=torch_mask)[0].detach().numpy()
    diff = float(np.max(np.abs(out - ref)))
    back = all(np.array_equal(a, b) for a, b in zip(keras_weights(m), layer.get_weights(), strict=True))
    print(f"MultiHeadAttention {case} {dt}: outputs max abs diff {diff:.1e}; keras_weights round trip {back}")
    assert back and diff <= (1e-14 if dt == "float64" else 2e-6)


class _Block(torch.nn.Module):
    """Keras: x -> MultiHeadAttention(2, 4)(x, x) + x -> LayerNormalization -> GlobalAveragePooling1D -> Dense(3)."""

    def __init__(self, dtype):
        super().__init__()
        self.attention = torch.nn.MultiheadAttention(8, 2, batch_first=True, dtype=dtype)
        self.norm = torch.nn.LayerNorm(8, eps=1e-3, dtype=dtype)
        self.head = torch.nn.Linear(8, 3, dtype=dtype)
        self.output_activation = "softmax"

    def forward(self, x):
        h = self.norm(self.attention(x, x, x, need_weights=False)[0] + x)
        return self.head(h.mean(1))


@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_transformer_block_fit_like_keras(dt):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(96, 6, 8))
    y = np.argmax(x[:, :, :3].mean(1) + 0.3 * rng.normal(size=(96, 3)), 1)
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(3)
        inp = keras.Input((6, 8))
        h = keras.layers.LayerNormalization()(keras.layers.MultiHeadAttention(2, 4)(inp, inp) + inp)
        out = keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling1D()(h))
        km = keras.Model(inp, out)
        net = load_keras_weights(_Block(tdt), km.get_weights())
        km.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        kh = km.fit(x, y, batch_size=16, epochs=4, shuffle=False, verbose=0, validation_split=0.25).history
        th = tfit.fit(net, x, y, loss="sparse_categorical_crossentropy", optimizer=optim.Adam(net.parameters(), 0.01),
                      metrics=["accuracy"], batch_size=16, epochs=4, shuffle=False, verbose=0,
                      validation_split=0.25).history
    print(f"transformer block (MultiHeadAttention + residual + LayerNormalization), {dt}:")
    _check_history(th, kh, dt)


def test_attention_weight_errors():
    """Options Keras's layer lacks raise; a head split other than ``key_dim = E // heads`` is a shape error."""
    with pytest.raises(ValueError, match="add_bias_kv"):
        load_keras_weights(torch.nn.MultiheadAttention(8, 2, add_bias_kv=True), [])
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)  # 2 x 3 != 8
    layer(np.zeros((1, 2, 8)), np.zeros((1, 2, 8)))
    with pytest.raises(ValueError, match="query.kernel: expected an array of shape"):
        load_keras_weights(torch.nn.MultiheadAttention(8, 2), layer.get_weights())
    print("add_bias_kv refused; key_dim * num_heads != embed_dim is a shape error naming the slot")


class _SeededBlock(torch.nn.Module):
    def __init__(self, dropout: float, kdim: int):
        super().__init__()
        self.inp = torch.nn.Linear(5, 8)
        self.attention = torch.nn.MultiheadAttention(8, 2, batch_first=True, dropout=dropout, kdim=kdim, vdim=kdim)
        self.head = torch.nn.Linear(8, 3)


@pytest.mark.parametrize("dropout,kdim", [(0.0, 8), (0.0, 5), (0.1, 8), (0.1, 5)])
def test_keras_init_seed_gives_keras_attention_weights(dropout, kdim):
    """``keras_init_(seed=s)`` replays Keras's draws for ``MultiHeadAttention``: one for its initializer when
    made, one per projection when built (query, key, value, then, after its attention Dropout's when
    ``dropout`` > 0, the output), each kernel Glorot-uniform over its ``EinsumDense`` fans: bit for bit, and
    the Dense after it too; unseeded, the same distribution."""
    with _precision("float64"):
        keras.utils.set_random_seed(7)
        inp = keras.Input((6, 5))
        h = keras.layers.Dense(8)(inp)
        h = keras.layers.MultiHeadAttention(2, 4, dropout=dropout)(h, inp if kdim == 5 else h)
        km = keras.Model(inp, keras.layers.Dense(3)(h))
        net = keras_init_(_SeededBlock(dropout, kdim), seed=7)
        same = [np.array_equal(a, b) for a, b in zip(keras_weights(net), km.get_weights(), strict=True)]
        fresh = keras_weights(keras_init_(_SeededBlock(dropout, kdim)))
    limits = [float(np.abs(w).max()) for w in fresh[2:9:2]]
    bounds = [np.sqrt(6 / ((8 if i == 0 else kdim) + 8)) for i in range(3)] + [np.sqrt(6 / 16)]
    print(f"keras_init_(seed=7), dropout={dropout}, kdim={kdim}: {sum(same)}/{len(same)} arrays equal to Keras's; "
          f"unseeded kernel maxima {np.round(limits, 3).tolist()} within Glorot bounds {np.round(bounds, 3).tolist()}")
    assert all(same)
    assert all(0.7 * b < m <= b for m, b in zip(limits, bounds))

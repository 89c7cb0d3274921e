"""``torch_impl.nn.LSTM``/``GRU``/``SimpleRNN`` read the Keras mask their input carries and pass it on, as Keras's.

Keras's ``Layer.__call__`` fills a layer's ``mask`` argument from the mask its input carries
(``keras/src/layers/layer.py`` 947-959: ``Embedding(mask_zero=True)``'s, ``Masking``'s, a previous RNN's), and puts
``compute_mask``'s result on the outputs (1031-1036, ``_set_mask_metadata`` 1725-1741): an RNN's sequence output
keeps the mask with ``return_sequences=True``, none with ``False``, and its states none
(``keras/src/layers/rnn/rnn.py`` 257-268; ``Bidirectional`` the same, ``bidirectional.py`` 503-519). An explicit
``mask=`` wins over the carried one (layer.py 950-951, 970-972), and the output then carries the explicit mask.

The torch ports below pass no ``mask=``: the mask travels on the tensors (``set_keras_mask`` on the embedding's
output, ``torch_impl.nn.Masking``, the RNNs' outputs) into the next RNN and ``GlobalAveragePooling1D``. Both sides
from the same weights (``load_keras_weights``), float64: outputs and input gradients within 1e-15 absolute, the
gradients of every weight within 4e-15. Measured (printed by each test): outputs 8.3e-17 / 8.3e-17 / 5.6e-17
(Embedding->LSTM->LSTM, Masking->GRU->GlobalAveragePooling1D, Bidirectional (``slow``)), input gradients 2.8e-17
(Masking->GRU; token inputs have none), weight gradients 8.9e-16 / 4.4e-16 / 8.9e-16; the same ports without the
carried mask 6.3e-2 / 5.7e-2 / 1.8e-1 apart. Two-epoch ``fit`` losses (``slow``): 0.0 / 3.1e-16 / 0.0 relative.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402

from parity_tests.test_field_scripts_round2 import _precision, _rel  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl import losses, optim  # noqa: E402
from torch_impl.nn import load_keras_weights  # noqa: E402
from torch_impl.utils import set_keras_mask  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

V, E, U, U2, T = 12, 4, 5, 3, 7  # vocabulary, embedding, units, second layer's units, steps
TOL, GRAD_TOL = 1e-15, 4e-15  # outputs and input gradients; weight gradients (sums over the batch and steps)


def _tokens(n: int, seed: int) -> np.ndarray:
    """Token rows with 0 (padding, Keras's ``mask_zero``) in front, behind, in the middle, a row all padding."""
    t = np.random.default_rng(seed).integers(1, V, (n, T))
    t[0, :3] = 0  # pre-padded
    t[1, 4:] = 0  # post-padded
    t[2, [2, 4]] = 0  # gaps
    t[3] = 0  # no valid step
    return t


def _series(n: int, seed: int, mask_value: float) -> np.ndarray:
    """Features with whole steps equal to ``mask_value`` (masked) and steps only partly equal to it (kept)."""
    x = np.random.default_rng(seed).normal(size=(n, T, 3))
    x[0, :2] = mask_value
    x[1, 5:] = mask_value
    x[2, 3] = mask_value
    x[3, 1, :2] = mask_value  # one feature differs: a valid step
    return x


# --------------------------------------------------------------------------------------------------------------
# the models: Keras's layers (called one by one, to see the masks) and the torch ports
# --------------------------------------------------------------------------------------------------------------


def _embedding():
    """``Embedding(mask_zero=True)`` with unit-scale vectors (Keras's default ±0.05 leaves the outputs ~1e-3)."""
    return layers.Embedding(V, E, mask_zero=True, embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0))


def _keras_layers(arch: str) -> list:
    if arch == "embedding_lstm":  # Embedding(mask_zero) -> LSTM(return_sequences) -> LSTM -> Dense
        return [_embedding(), layers.LSTM(U, return_sequences=True), layers.LSTM(U2),
                layers.Dense(1)]
    if arch == "masking_gru":  # Masking -> GRU(return_sequences) -> GlobalAveragePooling1D -> Dense
        return [layers.Masking(mask_value=-1.0), layers.GRU(U, return_sequences=True),
                layers.GlobalAveragePooling1D(), layers.Dense(2)]
    if arch == "bidirectional":  # Embedding(mask_zero) -> Bidirectional(LSTM, seq) -> Bidirectional(GRU) -> Dense
        return [_embedding(), layers.Bidirectional(layers.LSTM(U, return_sequences=True)),
                layers.Bidirectional(layers.GRU(U2)), layers.Dense(1)]
    raise ValueError(arch)


class _EmbeddingLSTM(torch.nn.Module):
    """``Embedding(mask_zero=True)`` is ``torch.nn.Embedding`` marked with ``tokens != 0``; no ``mask=`` below."""

    def __init__(self, bidirectional: bool = False):
        super().__init__()
        self.bidirectional = bidirectional
        d = 2 if bidirectional else 1
        self.embedding = torch.nn.Embedding(V, E, sparse=True)  # Keras's per-row (IndexedSlices) Adam step
        self.lstm = tnn.LSTM(E, U, batch_first=True, bidirectional=bidirectional)
        self.rnn2 = (tnn.GRU if bidirectional else tnn.LSTM)(d * U, U2, batch_first=True, bidirectional=bidirectional)
        self.dense = torch.nn.Linear(d * U2, 1)
        self.seen, self.carry = {}, True

    def forward(self, tokens):
        tokens = tokens.long()
        embedded = self.embedding(tokens)
        h = self.lstm(set_keras_mask(embedded, tokens != 0) if self.carry else embedded)[0]
        self.seen["seq"] = getattr(h, "_keras_mask", None)
        out, state = self.rnn2(h)
        self.seen["states"] = [getattr(s, "_keras_mask", None) for s in (state if isinstance(state, tuple) else
                                                                           (state,))]
        # return_sequences=False: the last output (the forward direction's and the backward one's final states)
        last = torch.cat([state[-2], state[-1]], -1) if self.bidirectional else out[:, -1]
        self.seen["last"] = getattr(last, "_keras_mask", None)
        return self.dense(last)


class _MaskingGRU(torch.nn.Module):
    """``Masking(-1)`` -> GRU (the carried mask) -> masked ``GlobalAveragePooling1D`` (the GRU's output's mask)."""

    def __init__(self):
        super().__init__()
        self.masking = tnn.Masking(mask_value=-1.0)
        self.gru = tnn.GRU(3, U, batch_first=True)
        self.pool = tnn.GlobalAveragePooling1D("channels_last")
        self.dense = torch.nn.Linear(U, 2)
        self.seen, self.carry = {}, True

    def forward(self, x):
        h = self.gru(self.masking(x) if self.carry else x)[0]
        self.seen["seq"] = getattr(h, "_keras_mask", None)
        return self.dense(self.pool(h))


_PORTS = {"embedding_lstm": _EmbeddingLSTM, "masking_gru": _MaskingGRU,
          "bidirectional": lambda: _EmbeddingLSTM(bidirectional=True)}


def _data(arch: str, n: int = 6, seed: int = 5) -> np.ndarray:
    return _series(n, seed, -1.0) if arch == "masking_gru" else _tokens(n, seed)


def _keras_run(arch: str, x: np.ndarray):
    """Keras's output, the gradients of ``sum(out * w)`` (inputs and weights), the masks its tensors carry."""
    keras.utils.set_random_seed(3)
    kl = _keras_layers(arch)
    xv = tf.Variable(x) if x.dtype.kind == "f" else tf.constant(x)
    masks = {}
    with tf.GradientTape() as tape:
        h = kl[0](xv)
        masks["in"] = h._keras_mask.numpy()
        h = kl[1](h)
        masks["seq"] = getattr(h, "_keras_mask", None)
        h = kl[2](h)
        masks["after"] = getattr(h, "_keras_mask", None)
        out = kl[3](h)
        target = tf.reduce_sum(out * np.linspace(-1, 1, out.shape[-1]))
    weights = [w for layer in kl for w in layer.trainable_weights]
    grads = tape.gradient(target, ([xv] if x.dtype.kind == "f" else []) + weights)
    grads = [tf.convert_to_tensor(g).numpy() for g in grads]  # the embedding's IndexedSlices made dense
    x_grad = grads.pop(0) if x.dtype.kind == "f" else None
    return out.numpy(), x_grad, grads, [layer.get_weights() for layer in kl], masks


def _torch_grads(net: torch.nn.Module, keras_grads: list) -> float:
    """Max |torch's weight gradient - Keras's|: Keras's gradients loaded into a copy of ``net`` as weights (every
    map of ``load_keras_weights`` is linear), against each parameter's ``.grad``. Keras's one LSTM bias is
    ``bias_ih`` (``bias_hh`` loads 0 and is frozen: no gradient)."""
    ref = load_keras_weights(copy.deepcopy(net), keras_grads)
    worst = 0.0
    params = dict(net.named_parameters())
    for name, p in ref.named_parameters():
        if params[name].grad is None:
            assert "bias_hh" in name and not params[name].requires_grad, name
            continue
        g = params[name].grad
        worst = max(worst, float(((g.to_dense() if g.is_sparse else g) - p.detach()).abs().max()))
    return worst


@pytest.mark.parametrize("arch", ["embedding_lstm", "masking_gru",
                                  pytest.param("bidirectional", marks=pytest.mark.slow)])
def test_carried_mask_like_keras(arch):
    x = _data(arch)
    with _precision("float64") as tdt:
        k_out, k_xgrad, k_grads, k_weights, k_masks = _keras_run(arch, x)
        net = load_keras_weights(_PORTS[arch]().to(tdt), [w for ws in k_weights for w in ws])
        xt = torch.tensor(x, requires_grad=x.dtype.kind == "f")
        out = net(xt)
        (out * torch.linspace(-1, 1, out.shape[-1], dtype=tdt)).sum().backward()
    d_out = float(np.max(np.abs(out.detach().numpy() - k_out)))
    d_x = float(np.max(np.abs(xt.grad.numpy() - k_xgrad))) if k_xgrad is not None else 0.0
    d_w = _torch_grads(net, k_grads)
    print(f"{arch}: outputs {d_out:.1e}, input gradients {d_x:.1e}" + (" (token inputs: none)" if k_xgrad is None
                                                                     else "") + f", weight gradients {d_w:.1e} "
          f"(|out| up to {np.max(np.abs(k_out)):.2f})")
    assert d_out <= TOL and d_x <= TOL and d_w <= GRAD_TOL
    # the masks: Keras's return_sequences=True output keeps its input's mask, the return_sequences=False one none
    np.testing.assert_array_equal(k_masks["seq"].numpy(), k_masks["in"])
    np.testing.assert_array_equal(net.seen["seq"].numpy(), k_masks["in"])
    if arch != "masking_gru":
        assert k_masks["after"] is None and net.seen["last"] is None and net.seen["states"] == [None] * len(
            net.seen["states"])
    # without the carried mask the port is another model (the mask is what made it Keras's)
    net.carry = False
    with _precision("float64"):
        plain = net(torch.tensor(x)).detach().numpy()
    apart = float(np.max(np.abs(plain - k_out)))
    print(f"{arch}: unmasked port {apart:.1e} apart")
    assert apart > 1e-3


def test_explicit_mask_wins_and_states_like_keras():
    """An explicit ``mask=`` wins over the carried one and the output carries it; ``return_state``'s states carry
    none (Keras: ``layer.py`` 950-951/970-972, ``rnn.py`` 263-266)."""
    x = _series(4, 9, 0.0)
    carried = np.abs(x).sum(-1) != 0  # Masking(0)'s mask
    explicit = np.ones_like(carried)
    explicit[:, :2] = False
    with _precision("float64") as tdt:
        keras.utils.set_random_seed(1)
        kmask = layers.Masking(0.0)
        klstm = layers.LSTM(U, return_sequences=True, return_state=True)
        kin = kmask(tf.constant(x))
        k_out, k_h, k_c = klstm(kin, mask=tf.constant(explicit))
        k_out_carried = klstm(kin)[0]
        lstm = load_keras_weights(tnn.LSTM(3, U, batch_first=True).to(tdt), klstm.get_weights())
        tin = tnn.Masking(0.0)(torch.tensor(x))
        t_out, (t_h, t_c) = lstm(tin, mask=torch.tensor(explicit))
        t_out_carried = lstm(tin)[0]
    np.testing.assert_array_equal(kin._keras_mask.numpy(), carried)
    np.testing.assert_array_equal(tin._keras_mask.numpy(), carried)
    np.testing.assert_array_equal(k_out._keras_mask.numpy(), explicit)
    np.testing.assert_array_equal(t_out._keras_mask.numpy(), explicit)
    np.testing.assert_array_equal(t_out_carried._keras_mask.numpy(), carried)
    for s in (k_h, k_c, t_h, t_c):
        assert getattr(s, "_keras_mask", None) is None
    d = max(float(np.max(np.abs(t_out.detach().numpy() - k_out.numpy()))),
            float(np.max(np.abs(t_h[0].detach().numpy() - k_h.numpy()))),
            float(np.max(np.abs(t_c[0].detach().numpy() - k_c.numpy()))),
            float(np.max(np.abs(t_out_carried.detach().numpy() - k_out_carried.numpy()))))
    apart = float(np.max(np.abs(k_out.numpy() - k_out_carried.numpy())))
    print(f"explicit mask / carried mask, outputs and states {d:.1e} (the two masks' outputs {apart:.1e} apart)")
    assert d <= TOL and apart > 1e-3


def test_masking_layer_like_keras():
    """``tnn.Masking`` = ``keras.layers.Masking``: zeros at the masked steps, the mask, a Python ``mask_value``
    rounded to float32 as Keras's ``ops.not_equal`` rounds it (a float64 ``Masking(0.1)`` masks no 0.1 step)."""
    x = _series(4, 2, 0.1)
    with _precision("float64"):
        for v in (0.1, np.float64(0.1), -1.0):
            xv = np.where(x == 0.1, v, x) if not isinstance(v, float) or v != 0.1 else x
            k = layers.Masking(v)(tf.constant(xv))
            t = tnn.Masking(v)(torch.tensor(xv))
            np.testing.assert_array_equal(t.numpy(), k.numpy())
            np.testing.assert_array_equal(t._keras_mask.numpy(), k._keras_mask.numpy())
            print(f"mask_value={v!r}: {int((~k._keras_mask.numpy()).sum())} masked steps, Keras's and torch_impl's")
    xf = x.astype(np.float32)
    k, t = layers.Masking(0.1)(tf.constant(xf)), tnn.Masking(0.1)(torch.tensor(xf))
    np.testing.assert_array_equal(t._keras_mask.numpy(), k._keras_mask.numpy())
    assert int((~t._keras_mask.numpy()).sum()) == 5  # float32: the 0.1 steps are masked


# --------------------------------------------------------------------------------------------------------------
# fit: two epochs of each model through torch_impl.fit.fit against model.fit (float64)
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["embedding_lstm", "masking_gru", "bidirectional"])
def test_carried_mask_fit_like_keras(arch):
    n = 24
    x = _data(arch, n=n, seed=7)
    y = np.random.default_rng(8).integers(0, 2, (n, 1)).astype("float64")
    binary = arch != "masking_gru"
    with _precision("float64") as tdt:
        keras.utils.set_random_seed(4)
        model = keras.Sequential([keras.Input(shape=x.shape[1:], dtype=x.dtype)] + _keras_layers(arch))
        k_loss = keras.losses.BinaryCrossentropy if binary else keras.losses.SparseCategoricalCrossentropy
        model.compile(loss=k_loss(from_logits=True), optimizer="adam")
        w0 = model.get_weights()
        kh = model.fit(x, y, batch_size=8, epochs=2, shuffle=True, verbose=0).history
        net = load_keras_weights(_PORTS[arch]().to(tdt), w0)
        loss = (losses.BinaryCrossentropy if binary else losses.SparseCategoricalCrossentropy)(from_logits=True)
        th = tfit.fit(net, x, y, loss=loss, optimizer=optim.Adam(net.parameters()), batch_size=8, epochs=2,
                      verbose=0, seed=4).history
    r = _rel(th["loss"], kh["loss"])
    print(f"{arch} fit: loss Keras {kh['loss']} torch_impl {th['loss']} max rel {r:.1e}")
    assert r <= 1e-12


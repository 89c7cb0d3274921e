"""``torch_impl.nn.LSTM``/``GRU``/``SimpleRNN``: Keras's ``dropout`` and ``recurrent_dropout`` against Keras.

Each case loads a Keras layer's weights into the torch layer (same seed), calls both in training mode and
compares the outputs, the final states, the gradients of the inputs and of every weight, and the seed
generators' states after the call (the masks are drawn per call, in eval mode too). Then a whole ``fit`` of
Keras's ``imdb_lstm`` recipe (``LSTM(dropout=0.2, recurrent_dropout=0.2)`` unseeded, replayed with
``keras_init_(seed=...)``) against ``model.fit``.

Standards (DESIGN.md): float64 values 1e-12 relative, gradients 1e-10; float32 rtol 1e-5 / atol 1e-6;
histories 1e-8 (float64) and 1e-3 (float32).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402

from parity_tests.test_field_scripts_round2 import _check_history, _precision  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl.nn import keras_init_, keras_weights, load_keras_weights  # noqa: E402

pytestmark = pytest.mark.keras

KINDS = {"lstm": (layers.LSTM, tnn.LSTM), "gru": (layers.GRU, tnn.GRU), "simple": (layers.SimpleRNN, tnn.SimpleRNN)}
RATES = [(0.3, 0.0), (0.0, 0.25), (0.3, 0.25)]


def _worst(a, b) -> float:
    """max |a - b| / max |b|."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def _kstate(layer) -> tuple:
    """A Keras recurrent layer's ``cell.seed_generator.state`` as a tuple."""
    return tuple(int(v) for v in layer.cell.seed_generator.state.numpy())


def _tols(dt: str) -> tuple[float, float]:
    return (1e-12, 1e-10) if dt == "float64" else (1e-5, 1e-5)


def _keras_call(layer, x, training: bool):
    """Keras's outputs, and the gradients of ``sum(outputs * w)`` w.r.t. the inputs and the weights."""
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        out = layer(xt, training=training)
        seq = out[0] if isinstance(out, (list, tuple)) else out
        target = tf.reduce_sum(seq * tf.cast(tf.reshape(tf.range(1, 1 + tf.size(seq)), seq.shape) % 7 - 3,
                                             seq.dtype))
    grads = tape.gradient(target, [xt] + layer.trainable_weights)
    return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])], [np.asarray(g) for g in grads]


def _torch_target(seq: torch.Tensor) -> torch.Tensor:
    w = (torch.arange(1, 1 + seq.numel(), dtype=torch.int64).reshape(seq.shape) % 7 - 3).to(seq.dtype)
    return (seq * w).sum()


def _torch_grads(net, x: torch.Tensor, out: torch.Tensor) -> list[np.ndarray]:
    """The input gradient, then the weights' in Keras's layout (``keras_weights`` of the ``.grad``s)."""
    x.grad = None
    for p in net.parameters():
        p.grad = None
    _torch_target(out).backward()
    saved = [p.detach().clone() for p in net.parameters()]
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.zeros_like(p) if p.grad is None else p.grad)
    grads = keras_weights(net)
    with torch.no_grad():
        for p, s in zip(net.parameters(), saved):
            p.copy_(s)
    return [x.grad.numpy()] + grads


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("rates", RATES, ids=lambda r: f"d{r[0]}-r{r[1]}")
@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_training_call_matches_keras(kind, rates, dt):
    """Two training calls and one eval call: outputs, final state, gradients and the generator's state."""
    dropout, rec = rates
    k_cls, t_cls = KINDS[kind]
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 6, 3)).astype(dt)
    with _precision(dt):
        layer = k_cls(4, dropout=dropout, recurrent_dropout=rec, seed=11, return_sequences=True,
                      return_state=True)
        layer.build((None, 6, 3))
        layer.set_weights([rng.normal(scale=0.5, size=w.shape).astype(dt) for w in layer.get_weights()])
        net = t_cls(3, 4, batch_first=True, dropout=dropout, recurrent_dropout=rec, seed=11).to(getattr(torch, dt))
        load_keras_weights(net, layer.get_weights())
        value_tol, grad_tol = _tols(dt)
        worst_v = worst_g = 0.0
        for training in (True, False, True):
            k_out, k_grads = _keras_call(layer, x, training)
            net.train(training)
            xt = torch.tensor(x, requires_grad=True)
            seq, state = net(xt)
            states = list(state) if isinstance(state, tuple) else [state]
            t_out = [seq.detach().numpy()] + [s[0].detach().numpy() for s in states]
            t_grads = _torch_grads(net, xt, seq)
            assert len(t_out) == len(k_out)
            worst_v = max([worst_v] + [_worst(a, b) for a, b in zip(t_out, k_out)])
            worst_g = max([worst_g] + [_worst(a, b) for a, b in zip(t_grads, k_grads)])
            assert tuple(net.streams[0].state) == _kstate(layer)
        print(f"{kind} dropout={dropout} recurrent_dropout={rec} {dt}: outputs {worst_v:.1e}, gradients "
              f"{worst_g:.1e}, generator state {net.streams[0].state}")
        assert worst_v <= value_tol and worst_g <= grad_tol


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_dropout_changes_the_output(kind):
    """The cases above would pass with dropout ignored only if the masks were all ones: they are not."""
    k_cls, t_cls = KINDS[kind]
    x = torch.randn(4, 5, 3, dtype=torch.float64)
    net = t_cls(3, 4, batch_first=True, dropout=0.5, recurrent_dropout=0.5, seed=1).double()
    plain = torch.nn.LSTM if kind == "lstm" else torch.nn.GRU
    ref = plain(3, 4, batch_first=True).double()
    ref.load_state_dict(net.state_dict())
    assert not torch.allclose(net(x)[0], ref(x)[0])
    net.eval()
    torch.testing.assert_close(net(x)[0], ref(x)[0], rtol=1e-13, atol=1e-14)


def _copy_seeds_of_bidirectional_simple_rnn(net, bi) -> None:
    """Keras 3.15.1's ``SimpleRNN.get_config`` leaves ``seed`` out: its ``Bidirectional`` copies draw new seeds
    (``keras_init_(seed=...)`` replays them, ``test_keras_init_replays_the_dropout_seeds``); here the torch
    streams take them."""
    if isinstance(net, tnn.SimpleRNN):
        assert _kstate(bi.forward_layer)[0] not in (2, 5) and _kstate(bi.forward_layer) != _kstate(bi.backward_layer)
        for stream, layer in zip(net.streams, (bi.forward_layer, bi.backward_layer)):
            stream.state = _kstate(layer)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_bidirectional_and_stacked_match_keras(kind):
    """``Bidirectional(layer(seed=5))`` (both directions draw the same masks: Keras copies the seed), and a
    two-layer torch module against two Keras layers with the same seed."""
    k_cls, t_cls = KINDS[kind]
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 7, 2))
    with _precision("float64"):
        bi = layers.Bidirectional(k_cls(3, dropout=0.2, recurrent_dropout=0.3, seed=5, return_sequences=True))
        bi.build((None, 7, 2))
        bi.set_weights([rng.normal(scale=0.5, size=w.shape) for w in bi.get_weights()])
        net = t_cls(2, 3, batch_first=True, bidirectional=True, dropout=0.2, recurrent_dropout=0.3, seed=5).double()
        load_keras_weights(net, bi.get_weights())
        _copy_seeds_of_bidirectional_simple_rnn(net, bi)
        k_out, k_grads = _keras_call(bi, x, True)
        xt = torch.tensor(x, requires_grad=True)
        seq, _ = net(xt)
        t_grads = _torch_grads(net, xt, seq)
        bi_v = _worst(seq.detach().numpy(), k_out[0])
        bi_g = max(_worst(a, b) for a, b in zip(t_grads, k_grads))
        assert [s.state for s in net.streams] == [_kstate(bi.forward_layer),
                                                  _kstate(bi.backward_layer)]

        first = k_cls(3, dropout=0.25, recurrent_dropout=0.2, seed=9, return_sequences=True)
        second = k_cls(3, dropout=0.25, recurrent_dropout=0.2, seed=9, return_sequences=True)
        stack = keras.Sequential([keras.Input((7, 2)), first, second])
        stack.set_weights([rng.normal(scale=0.5, size=w.shape) for w in stack.get_weights()])
        deep = t_cls(2, 3, num_layers=2, batch_first=True, dropout=0.25, recurrent_dropout=0.2, seed=9).double()
        load_keras_weights(deep, stack.get_weights())
        k_seq = np.asarray(stack(x, training=True))
        st_v = _worst(deep(torch.tensor(x))[0].detach().numpy(), k_seq)
    print(f"{kind}: Bidirectional outputs {bi_v:.1e}, gradients {bi_g:.1e}; two stacked layers {st_v:.1e}")
    assert bi_v <= 1e-12 and bi_g <= 1e-10 and st_v <= 1e-12


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_packed_sequence_is_keras_mask(kind):
    """Right-padded sequences: a ``PackedSequence`` against Keras's ``mask`` (as ``Embedding(mask_zero=True)``
    gives it), bidirectional, with dropout; the padded outputs are zeros on both sides."""
    k_cls, t_cls = KINDS[kind]
    rng = np.random.default_rng(5)
    lengths = np.array([6, 2, 4, 6, 1])
    x = rng.normal(size=(5, 6, 3))
    mask = np.arange(6)[None, :] < lengths[:, None]
    x[~mask] = 0.0
    with _precision("float64"):
        bi = layers.Bidirectional(k_cls(4, dropout=0.3, recurrent_dropout=0.2, seed=2, return_sequences=True))
        bi.build((None, 6, 3))
        bi.set_weights([rng.normal(scale=0.5, size=w.shape) for w in bi.get_weights()])
        net = t_cls(3, 4, batch_first=True, bidirectional=True, dropout=0.3, recurrent_dropout=0.2, seed=2).double()
        load_keras_weights(net, bi.get_weights())
        _copy_seeds_of_bidirectional_simple_rnn(net, bi)
        k_out = np.asarray(bi(x, mask=tf.constant(mask), training=True))
        packed = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), torch.tensor(lengths), batch_first=True,
                                                         enforce_sorted=False)
        out, _ = net(packed)
        t_out, t_len = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=6)
    worst = _worst(t_out.detach().numpy(), k_out)
    print(f"{kind}: packed sequence against Keras's mask, {worst:.1e}")
    assert t_len.tolist() == lengths.tolist()
    assert worst <= 1e-12


class _Tagger(torch.nn.Module):
    """Embedding -> Bidirectional(rnn(dropout, recurrent_dropout[, seed])) -> Dropout -> Dense per step."""

    def __init__(self, kind, seed, vocab=20, dim=4, units=3):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, dim)
        self.rnn = kind(dim, units, batch_first=True, bidirectional=True, dropout=0.2, recurrent_dropout=0.1,
                        seed=seed)
        self.drop = tnn.Dropout(0.1)
        self.out = torch.nn.Linear(2 * units, 5)

    def forward(self, x):
        return self.out(self.drop(self.rnn(self.embed(x))[0]))


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("seed", [None, 8], ids=["unseeded", "seeded"])
def test_keras_init_replays_the_dropout_seeds(kind, seed):
    """After ``keras.utils.set_random_seed(4)`` Keras draws the weights' and the generators' seeds in
    construction order; ``keras_init_(seed=4)`` gives the torch model the same weights and streams (a seeded
    Bidirectional SimpleRNN included, whose copies lose the seed), so the training outputs agree."""
    k_cls, t_cls = KINDS[kind]
    x = np.random.default_rng(7).integers(0, 20, size=(3, 6))
    with _precision("float64"):
        keras.utils.set_random_seed(4)
        model = keras.Sequential([keras.Input((6,), dtype="int32"), layers.Embedding(20, 4),
                                  layers.Bidirectional(k_cls(3, dropout=0.2, recurrent_dropout=0.1, seed=seed,
                                                             return_sequences=True)),
                                  layers.Dropout(0.1), layers.Dense(5)])
        net = keras_init_(_Tagger(t_cls, seed).double(), seed=4)
        bi = model.layers[1]
        assert [s.state for s in net.rnn.streams] == [_kstate(bi.forward_layer), _kstate(bi.backward_layer)]
        assert net.drop.state == tuple(int(v) for v in model.layers[2].seed_generator.state.numpy())
        worst_w = max(_worst(a, b) for a, b in zip(keras_weights(net), model.get_weights()) if np.any(b))
        k_out = np.asarray(model(x, training=True))
        t_out = net(torch.tensor(x)).detach().numpy()
    print(f"{kind} {seed}: streams {[s.state for s in net.rnn.streams]}, weights {worst_w:.1e}, training outputs "
          f"{_worst(t_out, k_out):.1e}")
    assert worst_w <= 1e-13 and _worst(t_out, k_out) <= 1e-12


def test_rates_are_clipped_as_keras():
    """Keras clips the rates to [0, 1] and a rate of 1 drops nothing and draws nothing; reproduced, warned."""
    x = np.random.default_rng(6).normal(size=(2, 3, 2))
    with _precision("float64"):
        for kw in ({"dropout": 1.0}, {"recurrent_dropout": 1.5}, {"dropout": -0.5}):
            layer = layers.LSTM(2, seed=1, return_sequences=True, **kw)
            layer.build((None, 3, 2))
            with pytest.warns(UserWarning, match="clips"):
                net = tnn.LSTM(2, 2, batch_first=True, seed=1, **kw).double()
            load_keras_weights(net, layer.get_weights())
            k_out = np.asarray(layer(x, training=True))
            t_out = net(torch.tensor(x))[0].detach().numpy()
            assert _worst(t_out, k_out) <= 1e-12, kw
            assert net.streams[0].state == _kstate(layer)
            assert (net.dropout, net.recurrent_dropout) == (layer.dropout, layer.recurrent_dropout)
    with pytest.raises(ValueError, match="seed"):
        tnn.GRU(2, 2, dropout=0.1, seed=1.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tnn.GRU(2, 2, dropout=0.1, recurrent_dropout=0.9)  # in range: no warning


def _imdb_like(n: int, t: int, vocab: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, vocab, size=(n, t))
    y = ((x < vocab // 3).sum(1) > t // 3).astype("float64")
    return x, y


class _ImdbLstm(torch.nn.Module):
    """keras/examples imdb_lstm: Embedding(vocab, 16) -> LSTM(16, dropout=0.2, recurrent_dropout=0.2) ->
    Dense(1, sigmoid) (logits out)."""

    def __init__(self, vocab: int, dim: int = 8, units: int = 8, kind=tnn.LSTM):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, dim, sparse=True)  # Keras's row-sparse gradient
        self.rnn = kind(dim, units, batch_first=True, dropout=0.2, recurrent_dropout=0.2)
        self.out = torch.nn.Linear(units, 1)

    def forward(self, x):
        h, _ = self.rnn(self.embed(x))
        return self.out(h[:, -1])


@pytest.mark.parametrize("kind", ["lstm", pytest.param("gru", marks=pytest.mark.slow)])
@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_imdb_lstm_recipe_fit_like_keras(kind, dt):
    """Unseeded dropout on both sides: ``keras.utils.set_random_seed(7)`` then the model, and
    ``keras_init_(net, seed=7)``, which gives the same weights and the same dropout seeds. Validation and
    ``predict`` advance the generators as Keras's do."""
    vocab, t = 30, 10
    x, y = _imdb_like(96, t, vocab, seed=1)
    xv, yv = _imdb_like(40, t, vocab, seed=2)
    k_cls, t_cls = KINDS[kind]
    with _precision(dt):
        keras.utils.set_random_seed(7)
        model = keras.Sequential([keras.Input((t,), dtype="int32"), layers.Embedding(vocab, 8),
                                  k_cls(8, dropout=0.2, recurrent_dropout=0.2), layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        kh = model.fit(x, y, batch_size=16, epochs=4, validation_data=(xv, yv), shuffle=False, verbose=0).history
        k_pred = model.predict(xv, verbose=0)
        net = keras_init_(_ImdbLstm(vocab, kind=t_cls).to(getattr(torch, dt)), seed=7)
        th = tfit.fit(net, torch.tensor(x), y, optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"],
                      output_activation="sigmoid", batch_size=16, epochs=4, validation_data=(torch.tensor(xv), yv),
                      shuffle=False, verbose=0).history
        t_pred = tfit.predict(net, torch.tensor(xv), output_activation="sigmoid")
    state_k = _kstate(model.layers[1])
    print(f"imdb {kind} {dt}: loss Keras {kh['loss']}, torch_impl {th['loss']}; predictions "
          f"{_worst(t_pred, k_pred):.1e}; generator Keras {state_k}, torch_impl {net.rnn.streams[0].state}")
    assert net.rnn.streams[0].state == state_k
    _check_history(th, kh, dt)
    assert _worst(t_pred, k_pred) <= (1e-12 if dt == "float64" else 1e-4)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("layout", ["batch_first", "time_first", "unbatched", "packed"])
def test_python_loop_is_torch_module_without_masks(kind, layout):
    """The stepping loop against torch's own kernels on every input form torch takes (initial states, two
    layers, both directions): a rate of 1 (Keras applies no mask; warned) runs the loop with no mask."""
    _, t_cls = KINDS[kind]
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match="clips"):
        net = t_cls(3, 4, num_layers=2, batch_first=layout == "batch_first", bidirectional=True, dropout=1.0).double()
    plain = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "simple": torch.nn.RNN}[kind](
        3, 4, num_layers=2, batch_first=layout == "batch_first", bidirectional=True).double()
    plain.load_state_dict(net.state_dict())
    x = torch.randn(5, 6, 3, dtype=torch.float64)
    h0 = torch.randn(4, 5, 4, dtype=torch.float64)
    hx = (h0, torch.randn(4, 5, 4, dtype=torch.float64)) if kind == "lstm" else h0
    if layout == "unbatched":
        x, hx = x[0], tuple(t[:, 0] for t in hx) if kind == "lstm" else hx[:, 0]
    elif layout == "packed":
        x = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor([6, 2, 4, 6, 1]), batch_first=True,
                                                    enforce_sorted=False)
    elif layout == "time_first":
        x = x.transpose(0, 1)
    ours, theirs = net(x, hx), plain(x, hx)
    flat = lambda out: [out[0].data if layout == "packed" else out[0]] + list(  # noqa: E731
        out[1] if isinstance(out[1], tuple) else (out[1],))
    worst = max(float((a - b).abs().max()) for a, b in zip(flat(ours), flat(theirs)))
    if layout == "packed":
        assert torch.equal(ours[0].batch_sizes, theirs[0].batch_sizes)
        assert torch.equal(ours[0].sorted_indices, theirs[0].sorted_indices)
    print(f"{kind} {layout}: the loop against torch's kernels, {worst:.1e}")
    assert worst <= 1e-14

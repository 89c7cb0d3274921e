"""``load_keras_weights`` / ``keras_weights`` / ``keras_init_`` for the layers of common Keras scripts, against
Keras 3 on TensorFlow: Conv1D/Conv2D, Embedding, LayerNormalization, LSTM, GRU, SimpleRNN, stacked and
``Bidirectional`` recurrent layers.

Each case builds the Keras layer stack, loads ``get_weights()`` into the torch modules, and compares the
outputs (float64) on the same inputs, and the weights back through ``keras_weights`` (bit for bit). Two
whole training runs (an Embedding + LSTM text classifier and a small CNN with ``Flatten``) compare
``keras.Model.fit`` with ``torch_impl.fit`` epoch by epoch. Every test prints its figures.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
layers = keras.layers

from parity_tests.test_field_scripts_round2 import _precision  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, optim  # noqa: E402
from torch_impl.nn import keras_init_, keras_weights, load_keras_weights  # noqa: E402

pytestmark = pytest.mark.keras


class _Last(torch.nn.Module):
    """An RNN's output as Keras returns it: the sequence (``return_sequences=True``) or its last step."""

    def __init__(self, rnn, sequences=False):
        super().__init__()
        self.rnn, self.sequences = rnn, sequences

    def forward(self, x):
        out = self.rnn(x)[0]
        return out if self.sequences else out[:, -1]


class _ChannelsLast(torch.nn.Module):
    """A torch conv fed Keras's channels-last input, its output returned channels-last."""

    def __init__(self, conv):
        super().__init__()
        self.conv = conv

    def forward(self, x):
        return self.conv(x.movedim(-1, 1)).movedim(1, -1)


def _cases():
    return {
        "Conv1D": ((12, 5), lambda: [layers.Conv1D(7, 3, padding="same")],
                   lambda: _ChannelsLast(torch.nn.Conv1d(5, 7, 3, padding="same"))),
        "Conv2D": ((6, 6, 3), lambda: [layers.Conv2D(4, (3, 2))],
                   lambda: _ChannelsLast(torch.nn.Conv2d(3, 4, (3, 2)))),
        "Conv2D no bias, stride 2": ((8, 8, 2), lambda: [layers.Conv2D(3, 3, strides=2, use_bias=False)],
                                     lambda: _ChannelsLast(torch.nn.Conv2d(2, 3, 3, stride=2, bias=False))),
        "LayerNormalization": ((6,), lambda: [layers.LayerNormalization()],
                               lambda: torch.nn.LayerNorm(6, eps=1e-3)),
        "LSTM": ((7, 5), lambda: [layers.LSTM(4)], lambda: _Last(torch.nn.LSTM(5, 4, batch_first=True))),
        "LSTM sequences": ((7, 5), lambda: [layers.LSTM(4, return_sequences=True)],
                           lambda: _Last(torch.nn.LSTM(5, 4, batch_first=True), sequences=True)),
        "GRU": ((7, 5), lambda: [layers.GRU(4)], lambda: _Last(torch.nn.GRU(5, 4, batch_first=True))),
        "SimpleRNN": ((7, 5), lambda: [layers.SimpleRNN(4)], lambda: _Last(torch.nn.RNN(5, 4, batch_first=True))),
        "stacked LSTM": ((7, 5), lambda: [layers.LSTM(4, return_sequences=True), layers.LSTM(4)],
                         lambda: _Last(torch.nn.LSTM(5, 4, num_layers=2, batch_first=True))),
        "Bidirectional GRU": ((7, 5), lambda: [layers.Bidirectional(layers.GRU(3, return_sequences=True))],
                              lambda: _Last(torch.nn.GRU(5, 3, batch_first=True, bidirectional=True), True)),
    }


@pytest.mark.parametrize("name", list(_cases()))
def test_layer_outputs_equal_keras(name):
    shape, keras_layers, torch_module = _cases()[name]
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    x = rng.normal(size=(3,) + shape)
    with _precision("float64"):
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input(shape)] + keras_layers())
        weights = [w + rng.normal(size=w.shape) * 0.3 for w in model.get_weights()]  # non-zero biases too
        model.set_weights(weights)
        net = torch_module().double()
        load_keras_weights(net, weights)
        k_out = np.asarray(model(x))
        with torch.no_grad():
            t_out = net(torch.from_numpy(x)).numpy()
        back = keras_weights(net)
    err = float(np.max(np.abs(k_out - t_out)))
    exact = all(np.array_equal(a, b) for a, b in zip(back, weights))
    print(f"{name}: {len(weights)} arrays {[w.shape for w in weights]}; outputs {k_out.shape} max |diff| "
          f"{err:.1e}; keras_weights round trip bit-exact {exact}")
    assert k_out.shape == t_out.shape and err <= 1e-13 and exact and len(back) == len(weights)


def test_embedding_weights_and_errors():
    with _precision("float64"):
        model = keras.Sequential([keras.Input((4,), dtype="int32"), layers.Embedding(10, 3)])
        net = torch.nn.Embedding(10, 3).double()
        load_keras_weights(net, model.get_weights())
        tokens = np.array([[1, 2, 9, 0]])
        assert np.array_equal(np.asarray(model(tokens)), net(torch.from_numpy(tokens)).detach().numpy())
        gru = keras.Sequential([keras.Input((3, 2)), layers.GRU(4, reset_after=False)])
    with pytest.raises(ValueError, match="reset_after=False"):
        load_keras_weights(torch.nn.GRU(2, 4), gru.get_weights())
    with pytest.raises(ValueError, match="supports Dense, Conv1D"):
        load_keras_weights(torch.nn.Bilinear(2, 2, 1), [np.zeros((1, 2, 2)), np.zeros(1)])
    with pytest.raises(ValueError, match="proj_size"):
        load_keras_weights(torch.nn.LSTM(2, 4, proj_size=2), [])
    with pytest.warns(UserWarning, match="default eps=1e-5"):
        load_keras_weights(torch.nn.LayerNorm(3), [np.ones(3), np.zeros(3)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a chosen eps (LayerNormalization(epsilon=1e-6) ported) does not warn
        load_keras_weights(torch.nn.LayerNorm(3, eps=1e-6), [np.ones(3), np.zeros(3)])
    print("Embedding equal; GRU(reset_after=False), Bilinear and LSTM(proj_size) raise; LayerNorm's torch default "
          "eps warns, a chosen one does not")


class _TextLSTM(torch.nn.Module):
    """Keras: Embedding(40, 8) -> LSTM(6) -> Dense(1, sigmoid)."""

    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(40, 8, sparse=True)
        self.lstm = torch.nn.LSTM(8, 6, batch_first=True)
        self.out = torch.nn.Linear(6, 1)
        self.output_activation = "sigmoid"

    def forward(self, tokens):
        return self.out(self.lstm(self.embedding(tokens.long()))[0][:, -1])


class _SmallCNN(torch.nn.Module):
    """Keras: Conv2D(4, 3, relu) -> MaxPooling2D -> Flatten -> Dense(3), on channels-last images; the torch
    model flattens in Keras's (H, W, C) order."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 4, 3)
        self.out = torch.nn.Linear(3 * 3 * 4, 3)

    def forward(self, images):
        h = torch.nn.functional.max_pool2d(torch.relu(self.conv(images.movedim(-1, 1))), 2)
        return self.out(h.movedim(1, -1).flatten(1))


@pytest.mark.parametrize("case", ["lstm", pytest.param("cnn", marks=pytest.mark.slow)])
def test_training_runs_like_keras(case):
    """Whole runs from the same weights: the text LSTM (sparse embedding gradient, Adam, binary crossentropy on
    a sigmoid output) and the CNN (Adam, sparse categorical crossentropy from logits)."""
    rng = np.random.default_rng(7)
    with _precision("float64"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras.utils.set_random_seed(0)
        if case == "lstm":
            x = rng.integers(1, 40, size=(48, 9)).astype("int32")
            y = ((x < 12).sum(1) >= 3).astype("float64")
            model = keras.Sequential([keras.Input((9,), dtype="int32"), layers.Embedding(40, 8), layers.LSTM(6),
                                      layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy", metrics=["accuracy"])
            net, loss = _TextLSTM().double(), "binary_crossentropy"
        else:
            x = rng.normal(size=(48, 8, 8, 2))
            y = np.argmax(x.reshape(48, -1)[:, :3] + 0.3 * rng.normal(size=(48, 3)), -1)
            model = keras.Sequential([keras.Input((8, 8, 2)), layers.Conv2D(4, 3, activation="relu"),
                                      layers.MaxPooling2D(), layers.Flatten(), layers.Dense(3)])
            model.compile(optimizer=keras.optimizers.Adam(0.01),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
            net, loss = _SmallCNN().double(), losses.SparseCategoricalCrossentropy(from_logits=True)
        load_keras_weights(net, model.get_weights())
        kh = model.fit(x, y, batch_size=12, epochs=4, validation_split=0.25, shuffle=False, verbose=0).history
        th = tfit.fit(net, x, y, loss=loss, optimizer=optim.Adam(net.parameters(),
                                                                  learning_rate=0.02 if case == "lstm" else 0.01),
                      batch_size=12, epochs=4, validation_split=0.25, shuffle=False, verbose=0,
                      metrics=["accuracy"]).history
        wgap = max(float(np.max(np.abs(a - b))) for a, b in zip(keras_weights(net), model.get_weights()))
    rel = max(float(np.max(np.abs(np.subtract(th[k], kh[k])) / np.maximum(np.abs(kh[k]), 1e-300))) for k in kh)
    print(f"{case}: Keras loss {np.round(kh['loss'], 6).tolist()}, torch_impl {np.round(th['loss'], 6).tolist()}; "
          f"every key max rel {rel:.1e}; final weights max |diff| {wgap:.1e}")
    assert sorted(kh) == sorted(th) and rel <= 1e-10 and wgap <= 1e-10


def test_keras_init_then_keras_weights_round_trip():
    """``keras_init_`` gives an LSTM Keras's distributions; ``keras_weights`` hands them to a Keras model that
    then computes the torch model's outputs."""
    net = _Last(torch.nn.LSTM(5, 4, batch_first=True)).double()
    keras_init_(net, generator=torch.Generator().manual_seed(0))
    x = np.random.default_rng(0).normal(size=(2, 6, 5))
    with _precision("float64"):
        model = keras.Sequential([keras.Input((6, 5)), layers.LSTM(4)])
        model.set_weights(keras_weights(net))
        err = float(np.max(np.abs(np.asarray(model(x)) - net(torch.from_numpy(x)).detach().numpy())))
    print(f"keras_init_ LSTM -> keras_weights -> Keras LSTM: outputs max |diff| {err:.1e}")
    assert err <= 1e-14


def test_fit_warns_for_a_trained_second_rnn_bias():
    """A hand-built ``nn.LSTM`` trains ``bias_hh`` as well: twice Keras's bias step, and ``fit`` says so; after
    ``load_keras_weights`` (or ``keras_init_``) it does not."""
    x = np.random.default_rng(0).normal(size=(8, 4, 3))
    y = np.arange(8) % 2

    def warned(prepare):
        net = _Last(torch.nn.LSTM(3, 2, batch_first=True))
        prepare(net)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tfit.fit(net, x, y, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                     optimizer=optim.SGD(net.parameters()), epochs=1, verbose=0, metrics=())
        return any("second bias" in str(w.message) for w in caught)

    got = {"torch's default": warned(lambda n: None), "keras_init_": warned(keras_init_),
           "load_keras_weights": warned(lambda n: load_keras_weights(n, keras_weights(n)))}
    print(f"warned: {got}")
    assert got == {"torch's default": True, "keras_init_": False, "load_keras_weights": False}


@pytest.mark.parametrize("clip", [{"clipnorm": 0.05}, {"global_clipnorm": 0.05}, {}], ids=["clipnorm", "global", "none"])
def test_gru_bias_is_one_keras_variable_for_clipnorm(clip):
    """Keras's GRU bias is ONE ``(2, 3 units)`` variable, clipped by its joint norm; torch holds it as
    ``bias_ih`` and ``bias_hh``. ``load_keras_weights`` marks the pair and ``clipnorm`` clips them together
    (each clipped alone, the bias step was up to sqrt(2) too long: 1.7e-2 off after one SGD step)."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 5, 3)), rng.integers(0, 4, size=8)
    with _precision("float64"):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((5, 3)), layers.GRU(4)])
        w0 = [w + 0.3 * rng.normal(size=w.shape) for w in model.get_weights()]
        model.set_weights(w0)
        model.compile(optimizer=keras.optimizers.SGD(1.0, **clip),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        net = _Last(torch.nn.GRU(3, 4, batch_first=True))
        load_keras_weights(net, w0)
        tfit.fit(net, x, y, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                 optimizer=optim.SGD(net.parameters(), learning_rate=1.0, **clip), batch_size=8, epochs=2,
                 shuffle=False, verbose=0, metrics=())
        gap = max(float(np.max(np.abs(a - b))) for a, b in zip(model.get_weights(), keras_weights(net)))
    print(f"GRU, SGD {clip}: weights after 2 steps max |diff| {gap:.1e}")
    assert gap <= 1e-14


def test_keras_init_rejects_an_lstm_projection():
    with pytest.raises(ValueError, match="proj_size"):
        keras_init_(torch.nn.LSTM(3, 4, proj_size=2))

"""Real-world Keras scripts, round 17: scripts that need this session's new pieces (``TFSamePadding`` and Keras's
pooling, the noise layers, ``ReLU(max_value=6)``, ``GRU(reset_after=False)``, ``set_keras_mask``,
``loss="crossentropy"``, ``SwapEMAWeights`` with ``use_ema=True``), ported with torch_impl as a user would port
them from the README.

1. The BiLSTM named-entity tagger (Tobias Sterbak's "Guide to sequence tagging with neural networks", the Kaggle
   NER notebooks after it): ``Embedding(mask_zero=True)`` -> unseeded ``Dropout(0.1)`` ->
   ``Bidirectional(LSTM(return_sequences=True, recurrent_dropout=0.1))`` -> ``TimeDistributed(Dense(n_tags,
   "softmax"))``, ``compile("rmsprop", "sparse_categorical_crossentropy", metrics=["accuracy"])``,
   ``fit(validation_split=0.1)`` on post-padded sentences: the Embedding mask reaches the loss and the accuracy
   through the RNN. Port: ``keras_init_(seed=)``, a ``PackedSequence`` through ``torch_impl.nn.LSTM``,
   ``set_keras_mask`` on the output, and the softmax probabilities out (see the findings).
2. A MobileNet-style stem: ``Conv2D(strides=2, padding="same", use_bias=False)`` + ``BatchNormalization`` +
   ``ReLU(6.)`` + ``MaxPooling2D(3, strides=2, padding="same")``, a depthwise-separable block (stride 2, "same"),
   an ``AveragePooling2D(2, padding="same")`` on an odd map, ``GlobalAveragePooling2D``, a softmax ``Dense``;
   ``CategoricalCrossentropy(label_smoothing=0.1)``, ``SGD(momentum=0.9)``, ``"accuracy"``. Port:
   ``TFSamePadding``, ``torch_impl.nn.MaxPooling2D``/``AveragePooling2D``, ``ReLU(max_value=6)``,
   ``BatchNormalization``, ``load_keras_weights`` on NCHW tensors.
3. Keras's ``reuters_mlp_relu_vs_selu.py`` (the self-normalising network): ``Dense(kernel_initializer=
   "lecun_normal")`` -> ``Activation("selu")`` -> ``AlphaDropout(0.1)`` twice, ``Dense`` -> ``Activation("softmax")``,
   ``loss="crossentropy"`` (resolved from the labels: one-hot -> categorical, integer ids -> sparse), ``"sgd"``,
   ``EarlyStopping(monitor="val_loss", patience=1)``, ``validation_split=0.1``. Port: ``initializers.initialize(
   ..., kernel_initializer="lecun_normal")`` and ``keras_init_(seed=)`` (kernels and the unseeded AlphaDropouts).
4. A denoising network: ``GaussianNoise(0.1)`` -> ``Dense(relu)`` -> ``GaussianDropout(0.2)`` -> ``Dense(sigmoid)``,
   ``binary_crossentropy`` on clean targets in [0, 1], ``metrics=["mae"]``, ``Adam(use_ema=True,
   ema_momentum=0.9)`` with ``callbacks=[SwapEMAWeights()]`` and validation data, then ``evaluate``; and keras.io's
   fault-tolerance pattern: ``BackupAndRestore`` + ``SwapEMAWeights``, the run killed inside epoch 2, resumed.
5. Keras 1's IMDB GRU classifier (``GRU(dropout_W=0.2, dropout_U=0.2)``, Keras 3 ``GRU(reset_after=False,
   dropout=0.2, recurrent_dropout=0.2)``): ``Embedding`` -> GRU -> ``Dense(1, "sigmoid")``,
   ``binary_crossentropy``, ``"rmsprop"``, ``"accuracy"``, pre-padded sequences (``pad_sequences``'s default);
   then the same with ``Embedding(mask_zero=True)``.
6. Attention pooling for text classification (the Kaggle/keras.io pattern): scores ``Dense(1, "tanh")`` over the
   steps (of the embeddings; ``slow``: of a Bidirectional ``GRU(reset_after=False)``), ``Softmax(axis=1)`` with the
   padding mask, the weighted sum, ``LayerNormalization``, a softmax ``Dense``; ``Adam(0.01)``.

Measured (max relative error over every history key and epoch; final weights and predictions norm-wise):

=============================  ===========================================  ====================================
script                         float64                                      float32 (``slow``)
=============================  ===========================================  ====================================
1 BiLSTM NER tagger            2.1e-16; weights 2.8e-16, predict 2.2e-16    1.7e-7; weights 1.8e-7, 250/250
                                                                            classes equal
1 TimeDistributed, saturated   probabilities out 1.3e-16; logits out (the   -
                               README's port) 1.8 (32.0 vs 11.4)
2 MobileNet stem               1.5e-16; weights 3.9e-16, predict 4.6e-16;   1.7e-7; weights 5.5e-8, 16/16
                               ``padding=1`` hand port: predict 3.8e-2
3 reuters SELU, crossentropy   2.4e-16 (one-hot), 3.8e-16 (ids, ``slow``);  1.6e-7 (both); same epoch (10)
                               EarlyStopping at the same epoch (7);
                               initial weights 9.9e-17, final 2.0e-16
4 denoiser, EMA swap           2.2e-16; evaluate after fit 0 (= last        1.8e-7; evaluate 0; weights 1.1e-7
                               val_loss); EMA weights 1.4e-15
4 BackupAndRestore resume      3.2e-16; resumed at epoch 2 both; weights    -
                               1.4e-15, seed states equal
5 Keras 1 IMDB GRU             3.2e-16; weights 3.5e-16, evaluate 3.2e-16   1.7e-7; weights 1.4e-7
5 pre-padded, mask_zero        left-aligned then packed: 1.7e-16 (fit,      -
                               ``slow``), predict 2.2e-16; packed as
                               padded: predict 1.9e-2, fit 4.1e-3
6 attention pooling            0 (embeddings), 2.2e-16 (BiGRU, ``slow``);   1.3e-7; weights 1.4e-6, 48/48
                               weights 5.0e-15, predict 2.8e-16
=============================  ===========================================  ====================================

What the ports found:

* README advice incomplete (``test_time_distributed_softmax_trains_on_probabilities``): Keras's
  ``TimeDistributed`` stacks its layer's per-step outputs, so a ``TimeDistributed(Dense(C, "softmax"))`` (or
  sigmoid) output carries no ``_keras_logits`` (nor does a ``Reshape`` after a softmax) and Keras's loss computes
  from the clipped probabilities. The README's port (logits out, ``output_activation="softmax"``) trains on the
  logits: equal while nothing saturates, 1.8x off Keras's loss on saturated outputs. Exact: return
  ``torch.softmax(z, -1)`` with no ``output_activation`` (script 1 does).
* README advice incomplete (``test_pre_padded_*``): "a ``PackedSequence`` is Keras's mask" holds for post-padded
  rows. ``pad_sequences`` pre-pads by default, and ``pack_padded_sequence`` keeps each row's first ``length``
  steps: on pre-padded rows it feeds the padding and drops the last tokens (predict 1.9e-2 off). Moving the tokens
  to the front first (a stable sort on ``tokens == 0`` and ``gather``) is Keras's masked run, dropout included.
* Keras quirk met (script 6): the mask Keras propagates from ``Embedding(mask_zero=True)`` through ``Dense(1)``
  is ``(N, T)`` against ``(N, T, 1)`` scores; Keras 3.15.1's ``Softmax(axis=1)`` passes the symbolic build and
  raises at the first batch ("The `mask` must be broadcastable"); the script passes ``expand_dims(mask, -1)``,
  ``torch_impl.nn.Softmax`` takes the same.
* ``BackupAndRestore`` (script 4): neither Keras's backup nor a ``state_dict`` holds the noise layers' seed
  states; an in-process resume continues both streams from where the killed run left them, equal on both sides.

Small synthetic data shaped like each script's, few epochs; both sides from the same weights
(``load_keras_weights`` / ``keras_init_(seed=)``), Keras's shuffle order (``fit(seed=S)``), the unseeded noise layers'
seed states copied. Standards (DESIGN.md): float64 histories within 1e-8 relative every epoch, float32 within 1e-3
with the same predicted classes (float32 variants ``slow``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402

from parity_tests.test_field_scripts_round2 import (  # noqa: E402
    DTYPES, _check_history, _keras_seed_state as _seed_state, _normwise, _precision, _rel, _tol, _weights_apart)
from torch_impl import callbacks as tcallbacks  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import initializers, losses, optim  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl.nn import keras_init_, load_keras_weights  # noqa: E402
from torch_impl.utils import set_keras_mask  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]


def _same_classes(t_pred, k_pred, axis=-1) -> None:
    t_cls, k_cls = np.argmax(t_pred, axis), np.argmax(k_pred, axis)
    print(f"  predicted classes equal: {int((t_cls == k_cls).sum())}/{t_cls.size}")
    assert np.array_equal(t_cls, k_cls)


# --------------------------------------------------------------------------------------------------------------
# 1. BiLSTM named-entity tagger, Embedding(mask_zero=True), post padding
# --------------------------------------------------------------------------------------------------------------


class BiLstmTagger(torch.nn.Module):
    """The port, modules in the Keras script's construction order (``keras_init_(seed=)`` replays its draws: the
    Embedding, the unseeded Dropout, the LSTM's kernels and dropout seed, the Dense). The padding mask: a
    ``PackedSequence`` through the LSTM (Keras's masked steps) and ``set_keras_mask`` on the logits (Keras's
    mask reaching the loss and the accuracy). The softmax probabilities out, not the logits: Keras's
    ``TimeDistributed`` loses the softmax's logits, its loss computes from the clipped probabilities
    (``test_time_distributed_softmax_trains_on_probabilities``)."""

    def __init__(self, n_words, n_tags, dim, units):
        super().__init__()
        self.embed = torch.nn.Embedding(n_words, dim, sparse=True)  # Keras's row-slice RMSprop step
        self.drop = tnn.Dropout(0.1)
        self.rnn = tnn.LSTM(dim, units, batch_first=True, bidirectional=True, recurrent_dropout=0.1)
        self.out = torch.nn.Linear(2 * units, n_tags)

    def forward(self, tokens):
        tokens = tokens.long()
        mask = tokens != 0
        h = self.drop(self.embed(tokens))
        lengths = mask.sum(1).cpu()
        packed = torch.nn.utils.rnn.pack_padded_sequence(h, lengths, batch_first=True, enforce_sorted=False)
        h, _ = self.rnn(packed)
        h, _ = torch.nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=tokens.shape[1])
        return set_keras_mask(torch.softmax(self.out(h), -1), mask)


def _sentences(n, max_len, n_words, n_tags, rng):
    """Word ids post-padded with 0 (``pad_sequences(..., padding="post", value=0)``); tags post-padded with the
    "O" tag (0), as the script pads ``y``; a tag depends on the word and its left neighbour."""
    x, y = np.zeros((n, max_len), np.int64), np.zeros((n, max_len), np.int64)
    for i in range(n):
        length = int(rng.integers(2, max_len + 1))
        x[i, :length] = rng.integers(1, n_words, length)
        prev = np.concatenate([[0], x[i, :length - 1]])
        y[i, :length] = (x[i, :length] + prev) % n_tags
    return x, y


def _run_tagger(dt, epochs=3):
    V, T, C, E, U = 24, 7, 4, 8, 6
    x, y = _sentences(50, T, V, C, np.random.default_rng(0))
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(5)
        inp = keras.Input(shape=(T,))
        h = layers.Embedding(input_dim=V, output_dim=E, mask_zero=True)(inp)
        h = layers.Dropout(0.1)(h)
        h = layers.Bidirectional(layers.LSTM(units=U, return_sequences=True, recurrent_dropout=0.1))(h)
        out = layers.TimeDistributed(layers.Dense(C, activation="softmax"))(h)
        model = keras.Model(inp, out)
        net = keras_init_(BiLstmTagger(V, C, E, U).to(tdt), seed=5)
        w0 = _weights_apart(net, model.get_weights())
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        kh = model.fit(x, y, batch_size=16, epochs=epochs, validation_split=0.1, verbose=0).history
        th = tfit.fit(net, torch.tensor(x), y, optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"], batch_size=16, epochs=epochs, validation_split=0.1, verbose=0,
                      seed=5).history
        k_pred = model.predict(x, verbose=0)
        net.eval()
        with torch.no_grad():
            t_pred = net(torch.tensor(x)).numpy()
    mask = x != 0
    return kh, th, w0, _weights_apart(net, model.get_weights()), t_pred[mask], k_pred[mask]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.slow  # 6-12 s in the suite: make test-all (make test headroom)
def test_bilstm_ner_tagger_mask_through_rnn_like_keras(dt):
    """The tagger's ``fit``: Keras's loss and accuracy see the Embedding mask (it passes Dropout, the
    Bidirectional LSTM and TimeDistributed); the port's ``set_keras_mask`` gives the same history, the
    ``PackedSequence`` the same masked recurrence."""
    kh, th, w0, weights, t_pred, k_pred = _run_tagger(dt)
    print(f"BiLSTM NER tagger (mask_zero, post padding), {dt}: initial weights {w0:.1e}")
    assert w0 <= (1e-15 if dt == "float64" else 1e-6)  # the orthogonal recurrent kernels: within the QR's rounding
    assert sorted(th) == sorted(kh) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    _check_history(th, kh, dt)
    pred = _normwise(t_pred, k_pred)
    print(f"  final weights {weights:.1e}, predictions on the valid steps {pred:.1e} norm-wise")
    assert weights <= (1e-12 if dt == "float64" else 1e-3) and pred <= (1e-12 if dt == "float64" else 1e-3)
    if dt == "float32":
        _same_classes(t_pred, k_pred)


@pytest.mark.slow
def test_tagger_without_mask_is_not_keras():
    """The test can fail: the same port without ``set_keras_mask`` (the padded steps counted by the loss and the
    accuracy) is far from Keras's history."""
    V, T, C = 24, 7, 4
    x, y = _sentences(40, T, V, C, np.random.default_rng(1))
    with _precision("float64"):
        keras.utils.set_random_seed(5)
        inp = keras.Input(shape=(T,))
        h = layers.Embedding(input_dim=V, output_dim=8, mask_zero=True)(inp)
        h = layers.Dropout(0.1)(h)
        h = layers.Bidirectional(layers.LSTM(units=6, return_sequences=True, recurrent_dropout=0.1))(h)
        model = keras.Model(inp, layers.TimeDistributed(layers.Dense(C, activation="softmax"))(h))
        net = keras_init_(BiLstmTagger(V, C, 8, 6).double(), seed=5)
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        k = model.evaluate(x, y, verbose=0, return_dict=True)
        forward = net.forward
        net.forward = lambda tokens: set_keras_mask(forward(tokens), None)
        t = tfit.evaluate(net, torch.tensor(x), y, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    r = max(_rel(t[key], k[key]) for key in ("loss", "accuracy"))
    print(f"unmasked port: loss {t['loss']:.6f} vs Keras {k['loss']:.6f}, accuracy {t['accuracy']:.4f} vs "
          f"{k['accuracy']:.4f}, max rel {r:.1e}")
    assert r > 0.05


class _TimeDistributedTagger(torch.nn.Module):
    """``Embedding(mask_zero=True) -> TimeDistributed(Dense(C, "softmax"))``: logits out (the README's port of a
    softmax output, ``output_activation="softmax"``), or, ``probabilities=True``, the softmax itself (the loss then
    computes from the clipped probabilities, as Keras's does behind ``TimeDistributed``)."""

    def __init__(self, vocab, dim, classes, probabilities):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, dim, sparse=True)
        self.out = torch.nn.Linear(dim, classes)
        self.probabilities = probabilities

    def forward(self, tokens):
        tokens = tokens.long()
        z = self.out(self.embed(tokens))
        return set_keras_mask(torch.softmax(z, -1) if self.probabilities else z, tokens != 0)


@pytest.mark.parametrize("probabilities", [True, False], ids=["probabilities", "logits (README)"])
def test_time_distributed_softmax_trains_on_probabilities(probabilities):
    """Keras quirk: ``TimeDistributed`` stacks its layer's per-step outputs (``ops.stack`` of ``layer.call``), so
    the softmax's ``_keras_logits`` are lost and Keras's loss computes from the clipped probabilities, unlike a
    plain ``Dense(C, "softmax")`` on the same 3-D input (on saturated outputs: 6.025 against 7.052, float64). The
    README's advice (logits out, ``output_activation="softmax"``) trains on the logits: off Keras's history once
    outputs saturate; the port that returns the probabilities (no ``output_activation``) is Keras's run. Here the
    tagger's Dense starts saturated (the embeddings times 40, its kernel times 30, on both sides) and trains with
    ``rmsprop``."""
    V, T, E, C = 24, 7, 6, 4
    x, y = _sentences(48, T, V, C, np.random.default_rng(4))
    with _precision("float64") as tdt:
        keras.utils.set_random_seed(6)
        inp = keras.Input(shape=(T,))
        h = layers.Embedding(input_dim=V, output_dim=E, mask_zero=True)(inp)
        model = keras.Model(inp, layers.TimeDistributed(layers.Dense(C, activation="softmax"))(h))
        w = model.get_weights()
        w[0], w[1] = w[0] * 40.0, w[1] * 30.0
        model.set_weights(w)
        net = load_keras_weights(_TimeDistributedTagger(V, E, C, probabilities).to(tdt), w)
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        kh = model.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False).history
        th = tfit.fit(net, torch.tensor(x), y, optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"], output_activation=None if probabilities else "softmax",
                      batch_size=16, epochs=3, verbose=0, shuffle=False).history
    print(f"Embedding(mask_zero) -> TimeDistributed(Dense(softmax)), saturated, port with "
          f"{'probabilities out' if probabilities else 'logits out (README)'}:")
    if probabilities:
        _check_history(th, kh, "float64")
    else:
        r = _rel(th["loss"], kh["loss"])
        print(f"  loss Keras {np.round(kh['loss'], 6).tolist()} torch_impl {np.round(th['loss'], 6).tolist()} "
              f"max rel {r:.1e}")
        assert r > 0.05


# --------------------------------------------------------------------------------------------------------------
# 2. MobileNet-style stem, channels-first port
# --------------------------------------------------------------------------------------------------------------


class MobileStem(torch.nn.Module):
    """The port on NCHW images; modules in Keras's ``get_weights()`` order."""

    def __init__(self, classes):
        super().__init__()
        self.pad1 = tnn.TFSamePadding(3, strides=2)
        self.conv1 = torch.nn.Conv2d(3, 8, 3, stride=2, bias=False)
        self.bn1 = tnn.BatchNormalization(8)
        self.relu = tnn.ReLU(max_value=6.0)
        self.pool = tnn.MaxPooling2D(3, strides=2, padding="same")
        self.pad2 = tnn.TFSamePadding(3, strides=2)
        self.dw = torch.nn.Conv2d(8, 8, 3, stride=2, groups=8, bias=False)
        self.bn2 = tnn.BatchNormalization(8)
        self.pw = torch.nn.Conv2d(8, 16, 1, bias=False)
        self.bn3 = tnn.BatchNormalization(16)
        self.avg = tnn.AveragePooling2D(2, padding="same")
        self.out = torch.nn.Linear(16, classes)

    def forward(self, x):
        x = self.pool(self.relu(self.bn1(self.conv1(self.pad1(x)))))
        x = self.relu(self.bn2(self.dw(self.pad2(x))))
        x = self.relu(self.bn3(self.pw(x)))
        return self.out(self.avg(x).mean((2, 3)))


def _keras_stem(size, classes):
    inputs = keras.Input((size, size, 3))
    x = layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(6.0)(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    x = layers.DepthwiseConv2D(3, strides=2, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(6.0)(x)
    x = layers.Conv2D(16, 1, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(6.0)(x)
    x = layers.AveragePooling2D(2, padding="same")(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(classes, activation="softmax")(x))


def _images(n, size, classes, rng):
    """Images whose class is the brightest quadrant-ish channel pattern, one-hot labels."""
    y = rng.integers(0, classes, n)
    x = rng.uniform(0, 1, (n, size, size, 3))
    for i in range(n):
        r = size // 2 * (y[i] % 2)
        x[i, r:r + size // 2, :, y[i] % 3] += 1.0
    return x, np.eye(classes)[y]


def _run_stem(dt, epochs=3, size=18):
    C = 3
    rng = np.random.default_rng(0)
    x, y = _images(48, size, C, rng)
    xv, yv = _images(16, size, C, rng)
    nchw = lambda a: np.ascontiguousarray(a.transpose(0, 3, 1, 2))  # noqa: E731
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(2)
        model = _keras_stem(size, C)
        net = load_keras_weights(MobileStem(C).to(tdt), model.get_weights())
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
                      loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1), metrics=["accuracy"])
        kh = model.fit(x, y, batch_size=16, epochs=epochs, validation_data=(xv, yv), verbose=0).history
        th = tfit.fit(net, nchw(x), y, optimizer=optim.SGD(net.parameters(), learning_rate=0.05, momentum=0.9),
                      loss=losses.CategoricalCrossentropy(label_smoothing=0.1), metrics=["accuracy"],
                      output_activation="softmax", batch_size=16, epochs=epochs, validation_data=(nchw(xv), yv),
                      verbose=0, seed=2).history
        k_pred = model.predict(xv, verbose=0)
        net.eval()
        with torch.no_grad():
            t_pred = torch.softmax(net(torch.tensor(nchw(xv), dtype=tdt)), -1).numpy()
    return kh, th, _weights_apart(net, model.get_weights()), t_pred, k_pred


@pytest.mark.parametrize("dt", DTYPES)
def test_mobilenet_stem_same_padding_pooling_like_keras(dt):
    """An 18x18 input: every stride-2 "same" layer meets an even size (the odd pad at the end) and the
    ``AveragePooling2D(2, padding="same")`` an odd 3x3 map (its last window counts one row/column)."""
    kh, th, weights, t_pred, k_pred = _run_stem(dt)
    print(f"MobileNet-style stem (TFSamePadding, pooling 'same', ReLU(6), label smoothing, SGD momentum), {dt}:")
    _check_history(th, kh, dt)
    pred = _normwise(t_pred, k_pred)
    print(f"  final weights {weights:.1e}, predict {pred:.1e} norm-wise")
    assert weights <= (1e-12 if dt == "float64" else 1e-3) and pred <= (1e-12 if dt == "float64" else 1e-3)
    if dt == "float32":
        _same_classes(t_pred, k_pred)


def test_stem_with_torch_padding_is_not_keras():
    """The test can fail: ``Conv2d(stride=2, padding=1)`` and ``MaxPool2d(3, 2, padding=1)`` (the usual hand
    port) in place of ``TFSamePadding`` and ``MaxPooling2D(padding="same")`` give other outputs."""
    size, C = 18, 3
    x, _ = _images(8, size, C, np.random.default_rng(3))
    with _precision("float64"):
        keras.utils.set_random_seed(2)
        model = _keras_stem(size, C)
        net = load_keras_weights(MobileStem(C).double(), model.get_weights()).eval()
        k_pred = model.predict(x, verbose=0)
        xt = torch.tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        with torch.no_grad():
            ours = torch.softmax(net(xt), -1).numpy()
            net.pad1, net.conv1.padding = torch.nn.Identity(), (1, 1)
            net.pool = torch.nn.MaxPool2d(3, 2, padding=1)
            hand = torch.softmax(net(xt), -1).numpy()
    print(f"stem predict: TFSamePadding + MaxPooling2D {_normwise(ours, k_pred):.1e}, torch padding=1 "
          f"{_normwise(hand, k_pred):.1e} norm-wise")
    assert _normwise(ours, k_pred) <= 1e-13
    assert _normwise(hand, k_pred) > 1e-3


# --------------------------------------------------------------------------------------------------------------
# 3. Keras's reuters_mlp_relu_vs_selu.py: SELU + AlphaDropout, loss="crossentropy", EarlyStopping
# --------------------------------------------------------------------------------------------------------------


class SeluMlp(torch.nn.Module):
    """The port, modules made in the script's order (Dense, AlphaDropout, Dense, AlphaDropout, Dense) so that
    ``keras_init_(seed=)`` replays the kernels' ``lecun_normal`` draws (``initializers.initialize``) and the
    unseeded AlphaDropouts' seeds."""

    def __init__(self, n_in, n_dense, classes, n_layers=2):
        super().__init__()
        blocks = []
        for i in range(n_layers):
            blocks += [initializers.initialize(torch.nn.Linear(n_in if i == 0 else n_dense, n_dense),
                                               kernel_initializer="lecun_normal"), tnn.AlphaDropout(0.1)]
        self.blocks = torch.nn.ModuleList(blocks)
        self.selu = tnn.activation("selu")
        self.out = torch.nn.Linear(n_dense, classes)

    def forward(self, x):
        for dense, drop in zip(self.blocks[::2], self.blocks[1::2]):
            x = drop(self.selu(dense(x)))
        return self.out(x)


def _keras_selu(n_in, n_dense, classes, n_layers=2):
    """The script's ``create_network(activation="selu", dropout=AlphaDropout, kernel_initializer="lecun_normal")``,
    in its Keras 2 Sequential form."""
    model = keras.Sequential([keras.Input((n_in,))])
    drops = []
    for _ in range(n_layers):
        model.add(layers.Dense(n_dense, kernel_initializer="lecun_normal"))
        model.add(layers.Activation("selu"))
        drops.append(layers.AlphaDropout(0.1))
        model.add(drops[-1])
    model.add(layers.Dense(classes))
    model.add(layers.Activation("softmax"))
    return model, drops


def _bag_of_words(n, words, classes, rng):
    """``Tokenizer.sequences_to_matrix(mode="binary")``-like rows: a topic's words more likely."""
    y = rng.integers(0, classes, n)
    p = np.full((classes, words), 0.15)
    for c in range(classes):
        p[c, c * (words // classes):(c + 1) * (words // classes)] = 0.5
    return (rng.uniform(size=(n, words)) < p[y]).astype(np.float64), y


def _run_selu(dt, labels, epochs=12, patience=1):
    W, D, C = 30, 16, 4
    x, y = _bag_of_words(90, W, C, np.random.default_rng(0))
    y_fit = np.eye(C)[y] if labels == "one-hot" else y  # the script: keras.utils.to_categorical
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(11)
        model, drops = _keras_selu(W, D, C)
        net = keras_init_(SeluMlp(W, D, C).to(tdt), seed=11)
        w0 = _weights_apart(net, model.get_weights())
        assert [d.state for d in net.blocks[1::2]] == [_seed_state(d) for d in drops]
        model.compile(loss="crossentropy", optimizer="sgd", metrics=["accuracy"])
        kh = model.fit(x, y_fit, batch_size=16, epochs=epochs, verbose=0, validation_split=0.1,
                       callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience)]).history
        th = tfit.fit(net, x, y_fit, loss="crossentropy", optimizer="sgd", metrics=["accuracy"],
                      output_activation="softmax", batch_size=16, epochs=epochs, verbose=0, validation_split=0.1,
                      callbacks=[tcallbacks.EarlyStopping(monitor="val_loss", patience=patience)], seed=11).history
        k_eval = model.evaluate(x, y_fit, verbose=0)
        t_eval = tfit.evaluate(net, x, y_fit, loss="crossentropy", metrics=["accuracy"],
                               output_activation="softmax")
    return kh, th, w0, _weights_apart(net, model.get_weights()), k_eval, t_eval


@pytest.mark.parametrize("labels", ["one-hot", pytest.param("integer ids", marks=pytest.mark.slow)])
@pytest.mark.parametrize("dt", DTYPES)
def test_reuters_selu_alpha_dropout_crossentropy_like_keras(dt, labels):
    """``loss="crossentropy"`` resolves to categorical (one-hot, the script's ``to_categorical``) or sparse
    crossentropy (integer ids) on both sides; the AlphaDropout masks are Keras's; EarlyStopping stops at the same
    epoch."""
    kh, th, w0, weights, k_eval, t_eval = _run_selu(dt, labels)
    print(f"reuters SELU MLP (AlphaDropout, loss='crossentropy', {labels}, EarlyStopping), {dt}: "
          f"{len(kh['loss'])} epochs (Keras) / {len(th['loss'])} (torch_impl); initial weights from "
          f"keras_init_(seed=11) {w0:.1e}")
    assert w0 <= (1e-15 if dt == "float64" else 1e-6)  # lecun_normal: TensorFlow's Box-Muller, an ulp apart
    assert len(th["loss"]) == len(kh["loss"]) < 12  # stopped early, at the same epoch
    _check_history(th, kh, dt)
    ev = max(_rel(t_eval["loss"], k_eval[0]), _rel(t_eval["accuracy"], k_eval[1]))
    print(f"  evaluate {ev:.1e}; final weights {weights:.1e} norm-wise")
    assert ev <= _tol(dt) and weights <= (1e-12 if dt == "float64" else 1e-3)


# --------------------------------------------------------------------------------------------------------------
# 4. Denoising network: GaussianNoise + GaussianDropout, Adam(use_ema=True) + SwapEMAWeights
# --------------------------------------------------------------------------------------------------------------


class Denoiser(torch.nn.Module):
    def __init__(self, n, hidden):
        super().__init__()
        self.noise = tnn.GaussianNoise(0.1)
        self.enc = torch.nn.Linear(n, hidden)
        self.drop = tnn.GaussianDropout(0.2)
        self.dec = torch.nn.Linear(hidden, n)

    def forward(self, x):
        return self.dec(self.drop(torch.relu(self.enc(self.noise(x)))))


def _signals(n, d, rng):
    t = np.linspace(0, 1, d)
    clean = 0.5 + 0.4 * np.sin(2 * np.pi * (rng.uniform(1, 3, (n, 1)) * t + rng.uniform(0, 1, (n, 1))))
    return np.clip(clean + rng.normal(0, 0.1, clean.shape), 0, 1), clean


def _run_denoiser(dt, epochs=4):
    D, Hd = 12, 16
    rng = np.random.default_rng(0)
    x, y = _signals(64, D, rng)
    xv, yv = _signals(24, D, rng)
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(4)
        noise, drop = layers.GaussianNoise(0.1), layers.GaussianDropout(0.2)
        inp = keras.Input((D,))
        h = layers.Dense(Hd, activation="relu")(noise(inp))
        model = keras.Model(inp, layers.Dense(D, activation="sigmoid")(drop(h)))
        net = load_keras_weights(Denoiser(D, Hd).to(tdt), model.get_weights())
        net.noise.state, net.drop.state = _seed_state(noise), _seed_state(drop)
        model.compile(optimizer=keras.optimizers.Adam(0.01, use_ema=True, ema_momentum=0.9),
                      loss="binary_crossentropy", metrics=["mae"])
        kh = model.fit(x, y, batch_size=16, epochs=epochs, validation_data=(xv, yv), verbose=0,
                       callbacks=[keras.callbacks.SwapEMAWeights()]).history
        k_eval = model.evaluate(xv, yv, verbose=0, return_dict=True)
        opt = optim.Adam(net.parameters(), learning_rate=0.01, use_ema=True, ema_momentum=0.9)
        th = tfit.fit(net, x, y, optimizer=opt, loss="binary_crossentropy", metrics=["mae"],
                      output_activation="sigmoid", batch_size=16, epochs=epochs, validation_data=(xv, yv),
                      verbose=0, seed=4, callbacks=[tcallbacks.SwapEMAWeights()]).history
        t_eval = tfit.evaluate(net, xv, yv, loss="binary_crossentropy", metrics=["mae"],
                               output_activation="sigmoid")
        states = (net.noise.state, _seed_state(noise), net.drop.state, _seed_state(drop))
    return kh, th, k_eval, t_eval, _weights_apart(net, model.get_weights()), states


@pytest.mark.parametrize("dt", DTYPES)
def test_denoiser_noise_layers_ema_swap_like_keras(dt):
    """The validation runs on the EMA weights (SwapEMAWeights), ``fit`` leaves them in the model: the last
    ``val_loss`` equals ``evaluate`` after ``fit``, on both sides."""
    kh, th, k_eval, t_eval, weights, states = _run_denoiser(dt)
    print(f"denoiser (GaussianNoise, GaussianDropout, Adam(use_ema) + SwapEMAWeights), {dt}: seed states {states}")
    assert states[0] == states[1] and states[2] == states[3]
    _check_history(th, kh, dt)
    ev = max(_rel(t_eval[k], k_eval[k]) for k in ("loss", "mae"))
    print(f"  evaluate after fit {ev:.1e} (Keras {k_eval['loss']:.9f}, last val_loss {kh['val_loss'][-1]:.9f}); "
          f"final (EMA) weights {weights:.1e}")
    assert ev <= _tol(dt) and weights <= (1e-12 if dt == "float64" else 1e-3)
    assert _rel(t_eval["loss"], th["val_loss"][-1]) <= (1e-15 if dt == "float64" else 1e-6)


class _Interrupt:
    """keras.io's fault-tolerance pattern: the run dies inside an epoch (here: after batch ``batch`` of ``epoch``);
    mixed into each framework's ``Callback``."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at, self.epoch = (epoch, batch), None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise RuntimeError("Interrupting!")


class _KerasInterrupt(_Interrupt, keras.callbacks.Callback):
    pass


class _TorchInterrupt(_Interrupt, tcallbacks.Callback):
    pass


def test_denoiser_backup_and_restore_with_ema_like_keras(tmp_path):
    """The denoiser's ``fit`` with ``BackupAndRestore`` and ``SwapEMAWeights``, killed inside epoch 2 and run
    again with the same ``backup_dir``: both resume at epoch 1's backup (weights, Adam's slots and EMA averages,
    the step count) with the noise layers' streams where the interrupted run left them (Keras's backup holds no
    seed generator state; a ``state_dict`` none either)."""
    D, Hd = 12, 16
    rng = np.random.default_rng(0)
    x, y = _signals(64, D, rng)
    xv, yv = _signals(24, D, rng)
    with _precision("float64") as tdt:
        keras.utils.set_random_seed(4)
        noise, drop = layers.GaussianNoise(0.1), layers.GaussianDropout(0.2)
        inp = keras.Input((D,))
        h = layers.Dense(Hd, activation="relu")(noise(inp))
        model = keras.Model(inp, layers.Dense(D, activation="sigmoid")(drop(h)))
        net = load_keras_weights(Denoiser(D, Hd).to(tdt), model.get_weights())
        net.noise.state, net.drop.state = _seed_state(noise), _seed_state(drop)
        model.compile(optimizer=keras.optimizers.Adam(0.01, use_ema=True, ema_momentum=0.9),
                      loss="binary_crossentropy")
        k_cbs = [keras.callbacks.BackupAndRestore(str(tmp_path / "keras")), keras.callbacks.SwapEMAWeights()]
        with pytest.raises(RuntimeError, match="Interrupting"):
            model.fit(x, y, batch_size=16, epochs=4, validation_data=(xv, yv), verbose=0,
                      callbacks=k_cbs + [_KerasInterrupt(2, 2)])
        kh = model.fit(x, y, batch_size=16, epochs=4, validation_data=(xv, yv), verbose=0, callbacks=k_cbs)
        opt = optim.Adam(net.parameters(), learning_rate=0.01, use_ema=True, ema_momentum=0.9)
        t_cbs = [tcallbacks.BackupAndRestore(tmp_path / "torch"), tcallbacks.SwapEMAWeights()]
        kw = dict(optimizer=opt, loss="binary_crossentropy", output_activation="sigmoid", batch_size=16, epochs=4,
                  validation_data=(xv, yv), verbose=0, seed=4)
        with pytest.raises(RuntimeError, match="Interrupting"):
            tfit.fit(net, x, y, callbacks=t_cbs + [_TorchInterrupt(2, 2)], **kw)
        th = tfit.fit(net, x, y, callbacks=t_cbs, **kw)
    print(f"denoiser, BackupAndRestore + SwapEMAWeights, interrupted in epoch 2 batch 2: resumed epochs "
          f"{kh.epoch} (Keras) {th.epoch} (torch_impl)")
    assert th.epoch == kh.epoch == [2, 3]
    _check_history(th.history, kh.history, "float64")
    weights = _weights_apart(net, model.get_weights())
    print(f"  final (EMA) weights {weights:.1e} norm-wise; seed states {net.noise.state} {_seed_state(noise)}")
    assert weights <= 1e-12 and net.noise.state == _seed_state(noise) and net.drop.state == _seed_state(drop)
    assert not (tmp_path / "torch").exists() and not (tmp_path / "keras").exists()


# --------------------------------------------------------------------------------------------------------------
# 5. Keras 1 IMDB GRU: GRU(reset_after=False) with dropout and recurrent dropout
# --------------------------------------------------------------------------------------------------------------


class ImdbGru(torch.nn.Module):
    def __init__(self, vocab, dim, units):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, dim, sparse=True)
        self.gru = tnn.GRU(dim, units, batch_first=True, reset_after=False, dropout=0.2, recurrent_dropout=0.2)
        self.out = torch.nn.Linear(units, 1)

    def forward(self, tokens):
        h, _ = self.gru(self.embed(tokens.long()))
        return self.out(h[:, -1])


def _reviews(n, t, vocab, rng):
    """``pad_sequences(maxlen=t)``: pre-padded, pre-truncated; a review is positive when its "good" words win."""
    x = np.zeros((n, t), np.int64)
    lengths = rng.integers(3, t + 1, n)
    for i, length in enumerate(lengths):
        x[i, t - length:] = rng.integers(1, vocab, length)
    good = ((x > 0) & (x < vocab // 2)).sum(1)
    bad = (x >= vocab // 2).sum(1)
    return x, (good > bad).astype(np.float64)


def _run_gru(dt, epochs=3):
    V, T, E, U = 30, 8, 8, 6
    rng = np.random.default_rng(0)
    x, y = _reviews(64, T, V, rng)
    xv, yv = _reviews(24, T, V, rng)
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(7)
        model = keras.Sequential([keras.Input((T,), dtype="int32"), layers.Embedding(V, E),
                                  layers.GRU(U, reset_after=False, dropout=0.2, recurrent_dropout=0.2),
                                  layers.Dense(1, activation="sigmoid")])
        net = keras_init_(ImdbGru(V, E, U).to(tdt), seed=7)
        w0 = _weights_apart(net, model.get_weights())
        model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
        kh = model.fit(x, y, batch_size=16, epochs=epochs, validation_data=(xv, yv), verbose=0).history
        th = tfit.fit(net, torch.tensor(x), y, loss="binary_crossentropy", optimizer="rmsprop",
                      metrics=["accuracy"], output_activation="sigmoid", batch_size=16, epochs=epochs,
                      validation_data=(torch.tensor(xv), yv), verbose=0, seed=7).history
        k_eval = model.evaluate(xv, yv, verbose=0, return_dict=True)
        t_eval = tfit.evaluate(net, torch.tensor(xv), yv, loss="binary_crossentropy", metrics=["accuracy"],
                               output_activation="sigmoid")
    return kh, th, w0, _weights_apart(net, model.get_weights()), k_eval, t_eval


@pytest.mark.parametrize("dt", DTYPES)
def test_keras1_imdb_gru_reset_before_like_keras(dt):
    """``GRU(reset_after=False)`` (one bias, the reset gate before the recurrent product), its input and recurrent
    dropout masks from Keras's stream (also drawn by ``evaluate``), RMSprop's row-slice Embedding step."""
    kh, th, w0, weights, k_eval, t_eval = _run_gru(dt)
    print(f"Keras 1 IMDB GRU(reset_after=False, dropout, recurrent_dropout), {dt}: initial weights {w0:.1e}")
    assert w0 <= (1e-15 if dt == "float64" else 1e-6)  # the orthogonal recurrent kernel: within the QR's rounding
    _check_history(th, kh, dt)
    ev = max(_rel(t_eval[k], k_eval[k]) for k in ("loss", "accuracy"))
    print(f"  evaluate {ev:.1e}; final weights {weights:.1e} norm-wise")
    assert ev <= _tol(dt) and weights <= (1e-12 if dt == "float64" else 1e-3)


class MaskedImdbGru(torch.nn.Module):
    """The IMDB GRU with ``Embedding(mask_zero=True)``: a ``PackedSequence`` of the sequences, ``left_align``
    first moving each pre-padded sequence's tokens to the front (``pack_padded_sequence`` takes the FIRST
    ``length`` steps of each row)."""

    def __init__(self, vocab, dim, units, left_align):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, dim, sparse=True)
        self.gru = tnn.GRU(dim, units, batch_first=True, reset_after=False, dropout=0.2, recurrent_dropout=0.2)
        self.out = torch.nn.Linear(units, 1)
        self.left_align = left_align

    def forward(self, tokens):
        tokens = tokens.long()
        lengths = (tokens != 0).sum(1)
        if self.left_align:  # pre-padded -> post-padded: a stable sort puts the non-zero tokens first, in order
            tokens = torch.gather(tokens, 1, torch.sort((tokens == 0).to(torch.int8), dim=1, stable=True).indices)
        packed = torch.nn.utils.rnn.pack_padded_sequence(self.embed(tokens), lengths.cpu(), batch_first=True,
                                                         enforce_sorted=False)
        _, h = self.gru(packed)
        return self.out(h[-1])


def _run_masked_gru(left_align, epochs=3):
    V, T, E, U = 30, 8, 8, 6
    rng = np.random.default_rng(1)
    x, y = _reviews(64, T, V, rng)
    xv, yv = _reviews(24, T, V, rng)
    with _precision("float64") as tdt:
        keras.utils.set_random_seed(7)
        model = keras.Sequential([keras.Input((T,), dtype="int32"), layers.Embedding(V, E, mask_zero=True),
                                  layers.GRU(U, reset_after=False, dropout=0.2, recurrent_dropout=0.2),
                                  layers.Dense(1, activation="sigmoid")])
        net = keras_init_(MaskedImdbGru(V, E, U, left_align).to(tdt), seed=7)
        model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
        kh = model.fit(x, y, batch_size=16, epochs=epochs, validation_data=(xv, yv), verbose=0).history
        th = tfit.fit(net, torch.tensor(x), y, loss="binary_crossentropy", optimizer="rmsprop",
                      metrics=["accuracy"], output_activation="sigmoid", batch_size=16, epochs=epochs,
                      validation_data=(torch.tensor(xv), yv), verbose=0, seed=7).history
    return kh, th, _weights_apart(net, model.get_weights())


@pytest.mark.slow
def test_pre_padded_mask_zero_gru_left_aligned_like_keras():
    """``pad_sequences``' default pre-padding with ``Embedding(mask_zero=True)``: Keras's masked GRU skips the
    leading padding (its state stays the initial zeros there). ``pack_padded_sequence`` keeps each row's FIRST
    ``length`` steps, so the tokens go to the front first (``left_align``): then the ``fit`` is Keras's."""
    kh, th, weights = _run_masked_gru(left_align=True)
    print("pre-padded IMDB GRU(reset_after=False), mask_zero, PackedSequence after left-aligning:")
    _check_history(th, kh, "float64")
    print(f"  final weights {weights:.1e} norm-wise")
    assert weights <= 1e-12


def test_pre_padded_rows_packed_as_padded_are_not_keras():
    """The README's "a ``PackedSequence`` is Keras's mask" read literally on pre-padded rows: packing them as they
    are feeds the GRU the padding and drops the last tokens (measured: ``fit`` 4.1e-3 off Keras's loss; the
    predictions below)."""
    V, T, E, U = 30, 8, 8, 6
    x, _ = _reviews(24, T, V, np.random.default_rng(1))
    with _precision("float64") as tdt:
        keras.utils.set_random_seed(7)
        model = keras.Sequential([keras.Input((T,), dtype="int32"), layers.Embedding(V, E, mask_zero=True),
                                  layers.GRU(U, reset_after=False), layers.Dense(1, activation="sigmoid")])
        k_pred = model.predict(x, verbose=0)
        preds = {}
        for left_align in (True, False):
            net = load_keras_weights(MaskedImdbGru(V, E, U, left_align).to(tdt), model.get_weights()).eval()
            with torch.no_grad():
                preds[left_align] = torch.sigmoid(net(torch.tensor(x))).numpy()
    good, bad = _normwise(preds[True], k_pred), _normwise(preds[False], k_pred)
    print(f"pre-padded predict: left-aligned then packed {good:.1e}, packed as padded {bad:.1e} norm-wise")
    assert good <= 1e-14 and bad > 1e-3


# --------------------------------------------------------------------------------------------------------------
# 6. Attention-pooling text classifier: masked Softmax over the steps, LayerNormalization
# --------------------------------------------------------------------------------------------------------------


class AttentionPooling(torch.nn.Module):
    def __init__(self, vocab, dim, units, classes, rnn=True):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, dim, sparse=True)
        self.rnn = tnn.GRU(dim, units, batch_first=True, bidirectional=True, reset_after=False) if rnn else None
        width = 2 * units if rnn else dim
        self.score = torch.nn.Linear(width, 1)
        self.softmax = tnn.Softmax(axis=1)
        self.norm = tnn.LayerNormalization(width)
        self.out = torch.nn.Linear(width, classes)

    def forward(self, tokens):
        tokens = tokens.long()
        mask = tokens != 0
        h = self.embed(tokens)
        if self.rnn is not None:
            packed = torch.nn.utils.rnn.pack_padded_sequence(h, mask.sum(1).cpu(), batch_first=True,
                                                             enforce_sorted=False)
            h, _ = torch.nn.utils.rnn.pad_packed_sequence(self.rnn(packed)[0], batch_first=True,
                                                          total_length=tokens.shape[1])
        w = self.softmax(torch.tanh(self.score(h)), mask=mask[..., None])
        return self.out(self.norm((w * h).sum(1)))


def _keras_attention_pooling(T, V, E, U, C, rnn=True):
    """The usual Keras 3 attention pooling: the scores' softmax over the steps with the padding mask passed
    explicitly (the mask Keras propagates by itself, ``(N, T)``, does not broadcast against the ``(N, T, 1)``
    scores: Keras 3.15.1's Softmax raises at the first batch)."""
    tokens = keras.Input((T,), dtype="int32")
    mask = keras.ops.not_equal(tokens, 0)
    h = layers.Embedding(V, E, mask_zero=True)(tokens)
    if rnn:
        h = layers.Bidirectional(layers.GRU(U, return_sequences=True, reset_after=False))(h)
    scores = layers.Dense(1, activation="tanh")(h)
    w = layers.Softmax(axis=1)(scores, mask=keras.ops.expand_dims(mask, -1))
    context = keras.ops.sum(w * h, axis=1)
    context = layers.LayerNormalization()(context)
    return keras.Model(tokens, layers.Dense(C, activation="softmax")(context))


@pytest.mark.parametrize("dt, rnn", [("float64", False), pytest.param("float64", True, marks=pytest.mark.slow),
                                     pytest.param("float32", True, marks=pytest.mark.slow)])
def test_attention_pooling_masked_softmax_layernorm_like_keras(dt, rnn):
    """Scores over the steps (on the embeddings, or on a Bidirectional ``GRU(reset_after=False)``'s outputs:
    ``slow``), ``Softmax(axis=1)`` with the padding mask, the weighted sum, ``LayerNormalization``, a softmax
    ``Dense``; ``Adam(0.01)``, ``validation_split=0.25``."""
    V, T, E, U, C = 24, 7, 8, 5, 3
    rng = np.random.default_rng(2)
    x, tags = _sentences(48, T, V, C, rng)
    y = tags[:, 0]  # the class of the first word
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(9)
        model = _keras_attention_pooling(T, V, E, U, C, rnn)
        net = load_keras_weights(AttentionPooling(V, E, U, C, rnn).to(tdt), model.get_weights())
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        kh = model.fit(x, y, batch_size=16, epochs=2, validation_split=0.25, verbose=0).history
        th = tfit.fit(net, torch.tensor(x), y, optimizer=optim.Adam(net.parameters(), learning_rate=0.01),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"], output_activation="softmax",
                      batch_size=16, epochs=2, validation_split=0.25, verbose=0, seed=9).history
        k_pred = model.predict(x, verbose=0)
        with torch.no_grad():
            t_pred = torch.softmax(net(torch.tensor(x)), -1).numpy()
    rnn_text = ", Bidirectional GRU(reset_after=False)" if rnn else ""
    print(f"attention pooling (masked Softmax, LayerNormalization{rnn_text}), {dt}:")
    _check_history(th, kh, dt)
    weights, pred = _weights_apart(net, model.get_weights()), _normwise(t_pred, k_pred)
    print(f"  final weights {weights:.1e}, predict {pred:.1e} norm-wise")
    assert weights <= (1e-12 if dt == "float64" else 1e-3) and pred <= (1e-12 if dt == "float64" else 1e-3)
    if dt == "float32":
        _same_classes(t_pred, k_pred)

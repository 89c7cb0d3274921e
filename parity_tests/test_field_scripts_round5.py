"""Real-world Keras scripts, round 5, ported to PyTorch with torch_impl as a user would port them.

1. keras.io "Timeseries classification from scratch" (FordA): three ``Conv1D(padding="same")`` +
   ``BatchNormalization`` + ``ReLU`` blocks, ``GlobalAveragePooling1D``, a softmax ``Dense``,
   ``compile("adam", "sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])``,
   ``ModelCheckpoint(save_best_only=True, monitor="val_loss")`` + ``ReduceLROnPlateau(monitor="val_loss",
   factor=0.5, patience, min_lr=1e-4)`` + ``EarlyStopping(monitor="val_loss", patience)``, ``validation_split=0.2``,
   then ``load_model`` of the best checkpoint and ``evaluate``. Its conv biases sit in front of
   BatchNormalization: their exact gradient is 0 and each framework steps them on its own rounding noise
   (``test_conv_bias_before_batchnorm_steps_on_rounding_noise``), so the float32 validation figures drift apart
   after 12 epochs; the training figures keep the standard (over the first 20 epochs: on an AMD EPYC they part
   later, see the test).
2. keras.io "Bidirectional LSTM on IMDB": ``Embedding`` -> ``Bidirectional(LSTM(return_sequences=True))`` ->
   ``Bidirectional(LSTM)`` -> a sigmoid ``Dense``, ``pad_sequences`` input, ``compile("adam",
   "binary_crossentropy", metrics=["accuracy"])``, validation data; the field variants with
   ``SpatialDropout1D(0.2)`` after the embedding and with ``Embedding(mask_zero=True)`` (ported with torch's
   ``pack_padded_sequence``).
3. A character-level next-token GRU: ``Embedding`` -> ``GRU(return_sequences=True)`` -> ``Dense(vocab)`` logits,
   ``SparseCategoricalCrossentropy(from_logits=True)`` over every timestep, the padding weighted out with a
   ``(N, T)`` ``sample_weight``, ``weighted_metrics=["accuracy"]``, the optimizer by name (``"rmsprop"``,
   ``"adam"``, ``"nadam"``), ``validation_split``, ``predict``.
4. A multi-label tagger: ``LeakyReLU(negative_slope=0.1)``, ``PReLU``, a seeded ``Dropout``, sigmoid outputs,
   ``BinaryFocalCrossentropy(apply_class_balancing=True)``, ``AUC(multi_label=True)`` (ROC and PR),
   ``Precision``/``Recall``/``BinaryAccuracy``/``F1Score(average="macro")`` at a 0.4 threshold.
5. keras.io "Image similarity estimation using a Siamese Network with a contrastive loss": a shared tower
   (``BatchNormalization`` on the images, ``Conv2D``/``AveragePooling2D`` with tanh, ``Flatten``,
   ``BatchNormalization``, ``Dense(10, tanh)``) called on two inputs, a ``Lambda`` euclidean distance,
   ``BatchNormalization``, a sigmoid ``Dense(1)``, the tutorial's contrastive loss written with ``keras.ops``
   (ported with torch ops), ``optimizer="RMSprop"``, ``metrics=["accuracy"]``, ``fit([x1, x2], y)``,
   ``evaluate`` and ``predict``.

Both sides start from the same weights (``keras_init_(seed=...)`` after Keras's ``set_random_seed``, or
``load_keras_weights``) and see the same batches. Standards (DESIGN.md): float64 histories within 1e-8 relative
every epoch, float32 within 1e-3 with the same predicted-class histogram. Measured: float64 histories within
3.4e-16 every epoch (the timeseries script's ``val_loss`` 1.3e-12, see above), predictions within 1.5e-15;
float32 within 5.3e-7 (the timeseries script's training figures 5.7e-6, its ``val_loss`` 3.1e-5 over the first
12 epochs).

The tests at the end pin what porting these scripts found torch_impl missing or different from Keras, each fixed:
``Nadam`` on an ``Embedding`` had no row-sparse step (now also Adamax, Adagrad, Lamb, Ftrl and
ScheduleFreeAdamW); ``nn.PReLU`` was rejected by ``load_keras_weights``/``keras_weights``/``keras_init_(seed=...)``;
there was no ``LeakyReLU`` layer (Keras's slope is a float32 attribute: ``torch.nn.LeakyReLU(0.3)`` is off in
float64) and no ``GaussianNoise`` layer with Keras's noise (``torch_impl.nn.LeakyReLU``, ``ELU``,
``GaussianNoise`` now).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers, ops  # noqa: E402

from parity_tests.test_field_scripts_round2 import (  # noqa: E402
    _check_history, DTYPES, _histogram, _normwise, _precision, _rel, _tol)
from torch_impl import callbacks as tcb  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, optim  # noqa: E402
from torch_impl import metrics as tmetrics  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl.nn import keras_init_, keras_weights, load_keras_weights  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]


def _same_initial_weights(net: torch.nn.Module, model, dt: str) -> None:
    """Keras's initial weights and ``keras_init_``'s: uniform draws bit for bit, orthogonal recurrent kernels
    within the QR's rounding."""
    ours, theirs = keras_weights(net), model.get_weights()
    assert len(ours) == len(theirs)
    worst = max(_normwise(a, b) if np.any(b) else float(np.max(np.abs(a))) for a, b in zip(ours, theirs))
    assert worst <= (1e-13 if dt == "float64" else 1e-6), worst


# --------------------------------------------------------------------------------------------------------------
# 1. timeseries classification from scratch
# --------------------------------------------------------------------------------------------------------------


def _ford(n: int = 240, t: int = 64, seed: int = 0):
    """FordA-like z-normalised univariate series ``(N, T, 1)``: a noisy sine of random phase, class 1 with a
    larger amplitude and a faint second tone. Hard enough that ``val_loss`` turns within 30 epochs."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    tt = np.arange(t)
    x = np.sin(2 * np.pi * tt / 16 + rng.uniform(0, 2 * np.pi, (n, 1))) * (1 + 0.5 * y[:, None])
    x = x + rng.normal(0, 0.8, (n, t)) + np.where(y[:, None] == 1, 0.3 * np.sin(2 * np.pi * tt / 5), 0.0)
    x = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    return x[..., None], y


class _FordNet(torch.nn.Module):
    """The port: channels-last series in (as Keras takes them), ``Conv1d`` channels-first, Keras's
    BatchNormalization on the channel axis 1, the mean over time as ``GlobalAveragePooling1D``; logits out."""

    def __init__(self, filters: int = 16, classes: int = 2):
        super().__init__()
        self.blocks = torch.nn.ModuleList()
        for c_in in (1, filters, filters):
            self.blocks.append(torch.nn.Conv1d(c_in, filters, 3, padding=1))  # padding="same", kernel 3
            self.blocks.append(tnn.BatchNormalization(filters))
        self.fc = torch.nn.Linear(filters, classes)

    def forward(self, x):
        h = x.transpose(1, 2)
        for conv, bn in zip(self.blocks[::2], self.blocks[1::2]):
            h = torch.relu(bn(conv(h)))
        return self.fc(h.mean(-1))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.slow  # 6-12 s in the suite: make test-all (make test headroom)
def test_timeseries_classification_from_scratch_like_keras(dt, tmp_path):
    """The script's callbacks with its patience scaled to a 30-epoch run (20 -> 2, 50 -> 5). Its checkpoint is
    ``best_model.keras``; torch_impl's ``ModelCheckpoint`` saves torch files (a ``.keras`` name raises and says
    so): ``best_model.pt``, the whole module, read back with ``torch.load(weights_only=False)``. Keras's ``fit``
    shuffles by default with TensorFlow's generator: both runs here take ``shuffle=False``."""
    x, y = _ford()
    x = x.astype(dt)
    x_train, y_train, x_test, y_test = x[:200], y[:200], x[200:], y[200:]
    epochs = 30
    with _precision(dt):
        keras.utils.set_random_seed(1)
        input_layer = keras.layers.Input((64, 1))
        h = input_layer
        for _ in range(3):
            h = keras.layers.Conv1D(filters=16, kernel_size=3, padding="same")(h)
            h = keras.layers.BatchNormalization()(h)
            h = keras.layers.ReLU()(h)
        h = keras.layers.GlobalAveragePooling1D()(h)
        model = keras.Model(input_layer, keras.layers.Dense(2, activation="softmax")(h))
        net = keras_init_(_FordNet(), seed=1)
        _same_initial_weights(net, model, dt)
        k_cbs = [keras.callbacks.ModelCheckpoint(str(tmp_path / "best_model.keras"), save_best_only=True,
                                                 monitor="val_loss"),
                 keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=0.0001),
                 keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, verbose=0)]
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["sparse_categorical_accuracy"])
        kh = model.fit(x_train, y_train, batch_size=32, epochs=epochs, callbacks=k_cbs, validation_split=0.2,
                       shuffle=False, verbose=0).history
        best = keras.models.load_model(str(tmp_path / "best_model.keras"))
        k_score = best.evaluate(x_test, y_test, verbose=0, return_dict=True)
        k_pred = best.predict(x_test, verbose=0)

        t_cbs = [tcb.ModelCheckpoint(str(tmp_path / "best_model.pt"), save_best_only=True, monitor="val_loss"),
                 tcb.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=0.0001),
                 tcb.EarlyStopping(monitor="val_loss", patience=5, verbose=0)]
        th = tfit.fit(net, x_train, y_train, optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["sparse_categorical_accuracy"], output_activation="softmax", batch_size=32,
                      epochs=epochs, callbacks=t_cbs, validation_split=0.2, shuffle=False, verbose=0).history
        t_best = torch.load(tmp_path / "best_model.pt", weights_only=False)
        t_score = tfit.evaluate(t_best, x_test, y_test, loss="sparse_categorical_crossentropy",
                                metrics=["sparse_categorical_accuracy"], output_activation="softmax")
        t_pred = tfit.predict(t_best, x_test, output_activation="softmax")
    print(f"timeseries classification, {dt}: {len(kh['loss'])} of {epochs} epochs in Keras, {len(th['loss'])} "
          f"here; learning rates Keras {sorted(set(kh['learning_rate']), reverse=True)}")
    assert len(th["loss"]) == len(kh["loss"])
    assert len(set(kh["learning_rate"])) > 1  # ReduceLROnPlateau reduced the rate
    if dt == "float64":  # (float32 draws other initial weights: that run goes the 30 epochs)
        assert len(kh["loss"]) < epochs  # EarlyStopping stopped both at the same epoch
    assert sorted(th) == sorted(kh)
    if dt == "float64":
        _check_history(th, kh, dt)
    else:
        # The conv biases in front of BatchNormalization have an exact gradient of 0: each side steps them on its
        # own rounding noise, which Adam scales to +-lr steps, and the moving means (so val_loss) follow them
        # (test_conv_bias_before_batchnorm_steps_on_rounding_noise). The float32 validation figures therefore
        # drift apart from epoch 13 (1.8e-3 at epoch 30). The training figures see that noise too (float32 rounds
        # conv + bias before the batch mean takes the bias out) and the run amplifies it about tenfold in 5 epochs;
        # how soon it shows depends on torch's CPU rounding in the process: on an AMD EPYC the plain script stays
        # within 7.3e-6 over 30 epochs, the same test under pytest parts at epoch 9 (1e-5), 4.6e-5 by epoch 20, 9e-4 at
        # 26, 8.2e-3 at 30, where ReduceLROnPlateau (on the drifted val_loss) halves the rate an epoch apart. The
        # training figures and rates are therefore held to the standard over the first 20 epochs.
        _check_history({k: v[:20] for k, v in th.items()}, {k: v[:20] for k, v in kh.items()}, dt,
                       keys=["loss", "sparse_categorical_accuracy", "learning_rate"])
        print(f"  loss over all epochs: max rel {_rel(th['loss'], kh['loss']):.1e}")
        first = {k: v[:12] for k, v in th.items()}
        _check_history(first, {k: v[:12] for k, v in kh.items()}, dt,
                       keys=["val_loss", "val_sparse_categorical_accuracy"])
        print(f"  val_loss over all epochs: max rel {_rel(th['val_loss'], kh['val_loss']):.1e}")
    print(f"  evaluate of the best checkpoint: Keras {k_score}, torch_impl {t_score}; "
          f"predict max rel {_rel(t_pred, k_pred):.1e}")
    for k in k_score:
        assert _rel(t_score[k], k_score[k]) <= (_tol(dt) if dt == "float64" else 1e-2), k
    k_hist, t_hist = _histogram(k_pred.argmax(-1), 2), _histogram(t_pred.argmax(-1), 2)
    print(f"  test predictions per class: Keras {k_hist}, torch_impl {t_hist}")
    assert k_hist == t_hist


def test_conv_bias_before_batchnorm_steps_on_rounding_noise():
    """Why the float32 timeseries run drifts in validation, and its float64 ``val_loss`` sits at 1e-12 rather than
    1e-16: a ``Conv1D`` bias right before ``BatchNormalization`` has an exact gradient of 0 (the batch mean removes
    it); both frameworks compute rounding noise there (float64 ~1e-17, float32 ~1e-8 against a kernel gradient of
    ~0.05), each its own, and Adam's ``m / sqrt(v)`` turns either into steps of about ``lr``. The biases part after
    the first step; training outputs do not see them (batch statistics), the moving means do, with a lag. Not a
    torch_impl error, but not reproducible without TensorFlow's exact rounding of the BatchNormalization gradient.
    Measured with ``use_bias=False`` convs: the script's float64 history within 3.6e-16 and predictions 1.2e-15,
    float32 ``val_loss`` 6.5e-5 over 30 epochs."""
    x, y = _ford()
    x, y = x[:32], y[:32]
    with _precision("float64"):
        keras.utils.set_random_seed(1)
        inp = keras.layers.Input((64, 1))
        h = inp
        for _ in range(3):
            h = keras.layers.ReLU()(keras.layers.BatchNormalization()(
                keras.layers.Conv1D(filters=16, kernel_size=3, padding="same")(h)))
        model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling1D()(h)))
        net = keras_init_(_FordNet(), seed=1)
        with tf.GradientTape() as tape:
            k_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, model(x, training=True))
        k_grads = [np.asarray(g) for g in tape.gradient(k_loss, model.trainable_weights)]
        losses.SparseCategoricalCrossentropy(from_logits=True)(torch.as_tensor(y), net(torch.as_tensor(x))).backward()
    t_bias, k_bias = net.blocks[0].bias.grad.numpy(), k_grads[1]
    t_kernel = np.transpose(net.blocks[0].weight.grad.numpy(), (2, 1, 0))  # Keras layout (k, in, out)
    print(f"first conv's gradients, float64: kernel max |g| Keras {np.abs(k_grads[0]).max():.3f}, kernel max rel "
          f"{_normwise(t_kernel, k_grads[0]):.1e}; bias Keras {k_bias[:3]}, torch_impl {t_bias[:3]}")
    assert _normwise(t_kernel, k_grads[0]) <= 1e-13
    assert np.abs(k_bias).max() < 1e-15 and np.abs(t_bias).max() < 1e-15  # both noise
    assert _normwise(t_bias, k_bias) > 0.5  # and not the same noise


# --------------------------------------------------------------------------------------------------------------
# 2. bidirectional LSTM on IMDB
# --------------------------------------------------------------------------------------------------------------


def _imdb(n: int = 200, vocab: int = 300, seed: int = 5):
    """Reviews of 8-39 token ids (``imdb.load_data``'s: 0 padding, 1 start, 2 OOV) with sentiment words
    planted, and their labels."""
    rng = np.random.default_rng(seed)
    pos, neg = (rng.choice(np.arange(3, vocab), 15, replace=False) for _ in range(2))
    y = rng.integers(0, 2, n)
    seqs = []
    for i in range(n):
        length = int(rng.integers(8, 40))
        s = rng.integers(3, vocab, length)
        k = int(rng.integers(2, 6))
        s[rng.choice(length, k, replace=False)] = rng.choice(pos if y[i] else neg, k)
        seqs.append([1] + s.tolist())
    return seqs, y


class _BiLstm(torch.nn.Module):
    """The port: ``Bidirectional(LSTM)`` is ``nn.LSTM(bidirectional=True)``; the last one's output
    (``return_sequences=False``) is the final forward state and the final backward state (``h_n``).
    ``SpatialDropout1D`` is Keras's dropout with ``noise_shape=(batch, 1, features)``: ``tnn.Dropout`` with that
    ``noise_shape``. ``mask_zero=True``: Keras's LSTMs skip the masked steps, torch's packed sequences too
    (the padded steps moved to the end first: ``pad_sequences`` pads in front)."""

    def __init__(self, vocab: int, variant: str, emb: int = 16, units: int = 8):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, emb, sparse=True)  # Keras's Adam steps its row slices
        self.spatial = tnn.Dropout(0.2, noise_shape=(None, 1, None)) if variant == "spatial_dropout" else None
        self.lstm1 = torch.nn.LSTM(emb, units, batch_first=True, bidirectional=True)
        self.lstm2 = torch.nn.LSTM(2 * units, units, batch_first=True, bidirectional=True)
        self.fc = torch.nn.Linear(2 * units, 1)
        self.masked = variant == "mask_zero"

    def forward(self, tokens):
        t = tokens.long()
        if self.masked:
            lengths = (t != 0).sum(1)
            shift = (torch.arange(t.shape[1]) + (t.shape[1] - lengths)[:, None]) % t.shape[1]
            h = torch.nn.utils.rnn.pack_padded_sequence(self.emb(torch.gather(t, 1, shift)), lengths,
                                                        batch_first=True, enforce_sorted=False)
        else:
            h = self.emb(t)
            if self.spatial is not None:
                h = self.spatial(h)
        h, _ = self.lstm1(h)
        _, (h_n, _) = self.lstm2(h)
        return self.fc(torch.cat([h_n[0], h_n[1]], -1))


@pytest.mark.parametrize("variant", ["script"] + [pytest.param(v, marks=pytest.mark.slow)  # make test: the script
                                                   for v in ("spatial_dropout", "mask_zero")])
@pytest.mark.parametrize("dt", DTYPES)
def test_bidirectional_lstm_imdb_like_keras(dt, variant):
    seqs, labels = _imdb()
    x = keras.utils.pad_sequences(seqs, maxlen=30)  # the script's data preparation, on both sides
    y = labels.astype(dt)
    x_train, y_train, x_val, y_val = x[:160], y[:160], x[160:], y[160:]
    with _precision(dt):
        keras.utils.set_random_seed(3)
        inputs = keras.Input(shape=(None,), dtype="int32")
        h = layers.Embedding(300, 16, mask_zero=variant == "mask_zero")(inputs)
        if variant == "spatial_dropout":
            h = layers.SpatialDropout1D(0.2)(h)
        h = layers.Bidirectional(layers.LSTM(8, return_sequences=True))(h)
        h = layers.Bidirectional(layers.LSTM(8))(h)
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))
        net = keras_init_(_BiLstm(300, variant), seed=3)
        _same_initial_weights(net, model, dt)
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        kh = model.fit(x_train, y_train, batch_size=32, epochs=3, validation_data=(x_val, y_val), shuffle=False,
                       verbose=0).history
        k_prob = model.predict(x_val, verbose=0)
        th = tfit.fit(net, x_train, y_train, optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"],
                      output_activation="sigmoid", batch_size=32, epochs=3, validation_data=(x_val, y_val),
                      shuffle=False, verbose=0).history
        t_prob = tfit.predict(net, x_val, output_activation="sigmoid")
    print(f"bidirectional LSTM on IMDB, {variant}, {dt}:")
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt)
    r = _rel(t_prob, k_prob)
    print(f"  predict max rel {r:.1e}; positive reviews predicted: Keras {int((k_prob > 0.5).sum())}, "
          f"torch_impl {int((t_prob > 0.5).sum())} of {len(k_prob)}")
    assert r <= (1e-12 if dt == "float64" else 1e-5)
    assert ((k_prob > 0.5) == (t_prob > 0.5)).all()


# --------------------------------------------------------------------------------------------------------------
# 3. character-level next-token GRU
# --------------------------------------------------------------------------------------------------------------


def _names(n: int = 160, steps: int = 12, seed: int = 2):
    """Names from a 17-letter Markov chain as ids (0 padding, 1 start, 2 end, 3.. letters), inputs and next-char
    targets padded at the end, and the padding mask as the ``(N, T)`` sample weight."""
    rng = np.random.default_rng(seed)
    trans = rng.dirichlet(np.full(17, 0.3), 17)
    x, y = np.zeros((n, steps), "int64"), np.zeros((n, steps), "int64")
    for i in range(n):
        chars = [int(rng.integers(0, 17))]
        for _ in range(int(rng.integers(2, steps - 1))):
            chars.append(int(rng.choice(17, p=trans[chars[-1]])))
        s = [1] + [c + 3 for c in chars] + [2]
        x[i, :len(s) - 1], y[i, :len(s) - 1] = s[:-1], s[1:]
    return x, y, (y != 0).astype("float64")


class _CharGru(torch.nn.Module):
    def __init__(self, vocab: int = 20, sparse: bool = True):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, 8, sparse=sparse)
        self.gru = torch.nn.GRU(8, 16, batch_first=True)  # Keras's GRU(reset_after=True), gates reordered
        self.fc = torch.nn.Linear(16, vocab)

    def forward(self, tokens):
        return self.fc(self.gru(self.emb(tokens.long()))[0])


@pytest.mark.parametrize("optimizer", ["rmsprop", "adam", "nadam"])
@pytest.mark.parametrize("dt", DTYPES)
def test_char_gru_next_token_like_keras(dt, optimizer):
    """Every timestep's next-token loss from the logits, the padding weighted out by ``sample_weight`` (its
    ``sum_over_batch_size`` divides by N*T, padding counted, as Keras's) and ``weighted_metrics=["accuracy"]``
    (the masked accuracy). The optimizer by name, Keras's defaults."""
    x, y, sw = _names()
    sw = sw.astype(dt)
    with _precision(dt):
        keras.utils.set_random_seed(4)
        inp = keras.Input((None,), dtype="int32")
        h = layers.Embedding(20, 8)(inp)
        h = layers.GRU(16, return_sequences=True)(h)
        model = keras.Model(inp, layers.Dense(20)(h))
        net = keras_init_(_CharGru(sparse=True), seed=4)
        _same_initial_weights(net, model, dt)
        model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      weighted_metrics=["accuracy"])
        kh = model.fit(x, y, sample_weight=sw, batch_size=32, epochs=4, validation_split=0.2, shuffle=False,
                       verbose=0).history
        k_logits = model.predict(x[128:], verbose=0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the sparse Embedding port does not warn
            th = tfit.fit(net, x, y, sample_weight=sw, optimizer=optimizer,
                          loss=losses.SparseCategoricalCrossentropy(from_logits=True), weighted_metrics=["accuracy"],
                          batch_size=32, epochs=4, validation_split=0.2, shuffle=False, verbose=0).history
        t_logits = tfit.predict(net, x[128:])
    print(f"character GRU, optimizer={optimizer!r}, {dt}:")
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt)
    r = _normwise(t_logits, k_logits)
    valid = y[128:] != 0
    k_hist = _histogram(k_logits.argmax(-1)[valid], 20)
    t_hist = _histogram(t_logits.argmax(-1)[valid], 20)
    print(f"  predict (logits) norm-wise rel {r:.1e}; predicted next characters equal: {k_hist == t_hist}")
    assert r <= (1e-12 if dt == "float64" else 1e-5)
    assert k_hist == t_hist


def test_nadam_steps_an_embedding_like_keras():
    """Found by this port (fixed: Nadam, Adamax, Adagrad, Lamb, Ftrl and ScheduleFreeAdamW take row slices now):
    one Nadam step of a 4-row ``Embedding`` on the tokens ``[1, 1, 2]`` (row 1 twice). Keras's row 1 is the
    per-occurrence formula's, row 2 (one occurrence) equals the dense step; the dense gradient's step is another
    (row 1: Keras [0.1162, -0.1010], dense [0.0722, -0.0570]), ``nn.Embedding(sparse=True)``'s Keras's."""
    tokens = np.array([[1, 1, 2]])
    with _precision("float64"):
        keras.utils.set_random_seed(0)
        km = keras.Sequential([keras.Input((3,), dtype="int32"), layers.Embedding(4, 2)])
        w0 = km.get_weights()[0]
        km.compile(optimizer=keras.optimizers.Nadam(0.1),
                   loss=lambda y_true, y_pred: ops.sum(y_pred * y_pred * ops.arange(1, 3, dtype="float64")))
        km.train_on_batch(tokens, np.zeros((1, 3, 2)))
        k_rows = km.get_weights()[0]
        dense = load_keras_weights(torch.nn.Embedding(4, 2), [w0])
        opt = optim.Nadam(dense.parameters(), learning_rate=0.1)
        out = dense(torch.as_tensor(tokens))
        (out * out * torch.arange(1, 3, dtype=torch.float64)).sum().backward()
        opt.step()
        d_rows = dense.weight.detach().numpy()
        print(f"Nadam step of an Embedding: row 1 (repeated token) Keras {k_rows[1]}, torch_impl dense gradient "
              f"{d_rows[1]}; row 2 Keras {k_rows[2]}, torch_impl {d_rows[2]}")
        assert _rel(d_rows[2], k_rows[2]) <= 1e-15 and _rel(d_rows[1], k_rows[1]) > 0.1
        sparse = load_keras_weights(torch.nn.Embedding(4, 2, sparse=True), [w0])
        opt = optim.Nadam(sparse.parameters(), learning_rate=0.1)
        out = sparse(torch.as_tensor(tokens))
        (out * out * torch.arange(1, 3, dtype=torch.float64)).sum().backward()
        opt.step()
        s_rows = sparse.weight.detach().numpy()
    assert _rel(s_rows, k_rows) <= 1e-15


# --------------------------------------------------------------------------------------------------------------
# 4. multi-label tagger: focal loss with class balancing, multi-label AUC, thresholds, LeakyReLU, PReLU
# --------------------------------------------------------------------------------------------------------------


def _tags(n: int = 400, features: int = 20, labels: int = 6, seed: int = 8):
    """Multi-hot labels of increasing frequency (about 5% to 60% positive)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features))
    logits = x @ rng.normal(size=(features, labels)) / 3 + np.array([-2.5, -2, -1.5, -1, 0, 0.5])
    return x, (logits + 0.5 * rng.normal(size=(n, labels)) > 0).astype("float64")


class _Tagger(torch.nn.Module):
    """``Dense -> LeakyReLU(0.1) -> Dense -> PReLU -> Dropout(0.3, seed=11) -> Dense(6)`` logits.
    Keras's ``LeakyReLU`` calls ``tf.nn.leaky_relu``, whose ``alpha`` is a float32 attribute: the slope is
    ``float32(0.1)`` even in a float64 model (torch_impl.nn has no LeakyReLU layer; see the xfail below).
    ``torch.nn.PReLU(32)`` is Keras's ``PReLU`` on ``(N, 32)`` features (alpha per feature, zeros)."""

    def __init__(self, slope: float):
        super().__init__()
        self.fc1, self.act1 = torch.nn.Linear(20, 32), torch.nn.LeakyReLU(slope)
        self.fc2, self.act2 = torch.nn.Linear(32, 32), torch.nn.PReLU(32)
        self.drop, self.out = tnn.Dropout(0.3, seed=11), torch.nn.Linear(32, 6)

    def forward(self, x):
        return self.out(self.drop(self.act2(self.fc2(self.act1(self.fc1(x))))))

    def load(self, w) -> "_Tagger":
        """Keras's ``get_weights()``: ``load_keras_weights`` rejects the PReLU (see the xfail below): by hand."""
        with torch.no_grad():
            for lin, kernel, bias in zip((self.fc1, self.fc2, self.out), (w[0], w[2], w[5]), (w[1], w[3], w[6])):
                lin.weight.copy_(torch.from_numpy(kernel.T))
                lin.bias.copy_(torch.from_numpy(bias))
            self.act2.weight.copy_(torch.from_numpy(w[4]))
        return self


def _tagger_metrics(m):
    return [m.AUC(multi_label=True, name="auc"), m.AUC(curve="PR", multi_label=True, num_labels=6, name="pr_auc"),
            m.Precision(thresholds=0.4, name="precision"), m.Recall(thresholds=0.4, name="recall"),
            m.BinaryAccuracy(threshold=0.4, name="binary_accuracy"),
            m.F1Score(average="macro", threshold=0.4, name="f1")]


@pytest.mark.parametrize("dt", DTYPES)
def test_multilabel_focal_tagger_like_keras(dt):
    x, y = _tags()
    x, y = x.astype(dt), y.astype(dt)
    x_train, y_train, x_val, y_val = x[:320], y[:320], x[320:], y[320:]
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(6)
        inp = keras.Input((20,))
        h = layers.LeakyReLU(negative_slope=0.1)(layers.Dense(32)(inp))
        h = layers.PReLU()(layers.Dense(32)(h))
        h = layers.Dropout(0.3, seed=11)(h)
        model = keras.Model(inp, layers.Dense(6, activation="sigmoid")(h))
        model.compile(optimizer=keras.optimizers.Adam(3e-3),
                      loss=keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.25, gamma=2.0),
                      metrics=_tagger_metrics(keras.metrics))
        net = _Tagger(float(np.float32(0.1))).to(tdt).load(model.get_weights())
        kh = model.fit(x_train, y_train, batch_size=32, epochs=5, validation_data=(x_val, y_val), shuffle=False,
                       verbose=0).history
        k_prob = model.predict(x_val, verbose=0)
        th = tfit.fit(net, x_train, y_train, optimizer=optim.Adam(net.parameters(), 3e-3),
                      loss=losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.25, gamma=2.0),
                      metrics=_tagger_metrics(tmetrics), output_activation="sigmoid", batch_size=32, epochs=5,
                      validation_data=(x_val, y_val), shuffle=False, verbose=0).history
        t_prob = tfit.predict(net, x_val, output_activation="sigmoid")
    print(f"multi-label focal tagger, {dt}:")
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt)
    r = _rel(t_prob, k_prob)
    k_pos, t_pos = (k_prob > 0.4).sum(0).tolist(), (t_prob > 0.4).sum(0).tolist()
    print(f"  predict max rel {r:.1e}; predicted positives per label: Keras {k_pos}, torch_impl {t_pos}")
    assert r <= (1e-12 if dt == "float64" else 1e-5)
    assert k_pos == t_pos


# --------------------------------------------------------------------------------------------------------------
# 5. siamese network with a contrastive loss
# --------------------------------------------------------------------------------------------------------------


def _pairs(n: int = 240, size: int = 20, seed: int = 12):
    """Image pairs of 10 noisy prototypes; the tutorial's labels: 0 for a pair of one class, 1 otherwise."""
    rng = np.random.default_rng(seed)
    protos = rng.random((10, size, size))
    first, second, labels = [], [], []
    for i in range(n):
        c = int(rng.integers(0, 10))
        d = c if i % 2 == 0 else (c + int(rng.integers(1, 10))) % 10
        first.append(np.clip(protos[c] + 0.3 * rng.normal(size=(size, size)), 0, 1))
        second.append(np.clip(protos[d] + 0.3 * rng.normal(size=(size, size)), 0, 1))
        labels.append(float(c != d))
    return np.array(first)[..., None], np.array(second)[..., None], np.array(labels)


def _euclidean_distance(vects):
    x, y = vects
    sum_square = ops.sum(ops.square(x - y), axis=1, keepdims=True)
    return ops.sqrt(ops.maximum(sum_square, keras.backend.epsilon()))


def _contrastive(margin=1):
    """The tutorial's loss, ``keras.ops``."""
    def contrastive_loss(y_true, y_pred):
        square_pred = ops.square(y_pred)
        margin_square = ops.square(ops.maximum(margin - (y_pred), 0))
        return ops.mean((1 - y_true) * square_pred + (y_true) * margin_square)
    return contrastive_loss


def _torch_contrastive(margin=1):
    """Its port, torch ops (``fit`` wraps it as Keras wraps a function: ``y_true`` ``(N,)`` aligned with the
    ``(N, 1)`` output first, so nothing broadcasts to ``(N, N)``)."""
    def contrastive_loss(y_true, y_pred):
        square_pred = torch.square(y_pred)
        margin_square = torch.square(torch.clamp_min(margin - y_pred, 0))
        return torch.mean((1 - y_true) * square_pred + y_true * margin_square)
    return contrastive_loss


class _Tower(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.bn_in = tnn.BatchNormalization(1)
        self.conv1, self.conv2 = torch.nn.Conv2d(1, 4, 5), torch.nn.Conv2d(4, 16, 5)
        self.bn_flat = tnn.BatchNormalization(64)
        self.fc = torch.nn.Linear(64, 10)

    def forward(self, x):
        h = self.bn_in(x.permute(0, 3, 1, 2))
        h = torch.nn.functional.avg_pool2d(torch.tanh(self.conv1(h)), 2)
        h = torch.nn.functional.avg_pool2d(torch.tanh(self.conv2(h)), 2)
        return torch.tanh(self.fc(self.bn_flat(h.permute(0, 2, 3, 1).flatten(1))))  # Keras's (H, W, C) Flatten


class _Siamese(torch.nn.Module):
    """One tower called on both inputs (its BatchNormalization's moving statistics updated by each call in turn,
    as Keras's shared layers), the distance, BatchNormalization, ``Dense(1)`` logits."""

    def __init__(self):
        super().__init__()
        self.tower, self.bn, self.out = _Tower(), tnn.BatchNormalization(1), torch.nn.Linear(1, 1)

    def forward(self, x1, x2):
        a, b = self.tower(x1), self.tower(x2)
        d = torch.sqrt(torch.clamp_min(torch.sum(torch.square(a - b), 1, keepdim=True), 1e-7))
        return self.out(self.bn(d))


@pytest.mark.parametrize("dt", DTYPES)
def test_siamese_contrastive_like_keras(dt):
    """The custom loss sees the sigmoid's output (probabilities) on both sides: ``fit`` hands a function the
    activated output, as Keras does."""
    first, second, labels = (a.astype(dt) for a in _pairs())
    train, val = slice(0, 192), slice(192, 240)
    with _precision(dt):
        keras.utils.set_random_seed(42)
        image = layers.Input((20, 20, 1))
        h = layers.BatchNormalization()(image)
        h = layers.Conv2D(4, (5, 5), activation="tanh")(h)
        h = layers.AveragePooling2D(pool_size=(2, 2))(h)
        h = layers.Conv2D(16, (5, 5), activation="tanh")(h)
        h = layers.AveragePooling2D(pool_size=(2, 2))(h)
        h = layers.Flatten()(h)
        h = layers.BatchNormalization()(h)
        h = layers.Dense(10, activation="tanh")(h)
        embedding_network = keras.Model(image, h)
        input_1, input_2 = layers.Input((20, 20, 1)), layers.Input((20, 20, 1))
        merge_layer = layers.Lambda(_euclidean_distance, output_shape=(1,))(
            [embedding_network(input_1), embedding_network(input_2)])
        normal_layer = layers.BatchNormalization()(merge_layer)
        siamese = keras.Model(inputs=[input_1, input_2], outputs=layers.Dense(1, activation="sigmoid")(normal_layer))
        siamese.compile(loss=_contrastive(margin=1), optimizer="RMSprop", metrics=["accuracy"])
        net = load_keras_weights(_Siamese(), siamese.get_weights())
        kh = siamese.fit([first[train], second[train]], labels[train], batch_size=16, epochs=6, shuffle=False,
                         validation_data=([first[val], second[val]], labels[val]), verbose=0).history
        k_score = siamese.evaluate([first[val], second[val]], labels[val], verbose=0, return_dict=True)
        k_pred = siamese.predict([first[val], second[val]], verbose=0)
        th = tfit.fit(net, [first[train], second[train]], labels[train], loss=_torch_contrastive(margin=1),
                      optimizer="RMSprop", metrics=["accuracy"], output_activation="sigmoid", batch_size=16,
                      epochs=6, shuffle=False, validation_data=([first[val], second[val]], labels[val]),
                      verbose=0).history
        t_score = tfit.evaluate(net, [first[val], second[val]], labels[val], loss=_torch_contrastive(margin=1),
                                metrics=["accuracy"], output_activation="sigmoid")
        t_pred = tfit.predict(net, [first[val], second[val]], output_activation="sigmoid")
        moving = [_normwise(a, b) for a, b in zip(keras_weights(net), siamese.get_weights())]
    print(f"siamese contrastive, {dt}:")
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt)
    r = _rel(t_pred, k_pred)
    print(f"  evaluate: Keras {k_score}, torch_impl {t_score}; predict max rel {r:.1e}; final weights and moving "
          f"statistics norm-wise rel {max(moving):.1e}")
    for k in k_score:
        assert _rel(t_score[k], k_score[k]) <= _tol(dt), k
    assert r <= (1e-12 if dt == "float64" else 1e-5)
    assert ((k_pred > 0.5) == (t_pred > 0.5)).all()


# --------------------------------------------------------------------------------------------------------------
# what porting these scripts found missing in torch_impl
# --------------------------------------------------------------------------------------------------------------


def test_prelu_loads_keras_weights():
    """Found by this port (fixed): load_keras_weights, keras_weights and keras_init_(seed=...) rejected
    torch.nn.PReLU, though Keras's PReLU draws no seed and its alpha is torch's weight; with ``shared_axes``
    Keras's ``(1, C)`` alpha loads too."""
    with _precision("float64"):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.PReLU(), layers.Dense(1)])
        model.layers[1].set_weights([np.array([0.1, 0.2, 0.3])])
        x = np.random.default_rng(0).normal(size=(5, 4))
        make = lambda: torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.PReLU(3), torch.nn.Linear(3, 1))  # noqa
        seeded = keras_init_(make(), seed=0)
        assert all(np.array_equal(a, b) for a, b in zip(keras_weights(seeded), [
            *model.get_weights()[:2], np.zeros(3), *model.get_weights()[3:]]))
        net = load_keras_weights(make(), model.get_weights())
        assert _rel(net(torch.as_tensor(x)).detach().numpy(), np.asarray(model(x))) <= 1e-15
        shared = keras.Sequential([keras.Input((6, 3)), layers.PReLU(shared_axes=[1])])
        shared.layers[0].set_weights([np.array([[0.1, 0.2, 0.3]])])
        seq = np.random.default_rng(1).normal(size=(2, 6, 3))
        channels_first = load_keras_weights(torch.nn.PReLU(3), shared.get_weights())
        out = channels_first(torch.as_tensor(seq).transpose(1, 2)).transpose(1, 2).detach().numpy()
        assert _rel(out, np.asarray(shared(seq))) <= 1e-15


def test_leaky_relu_layer_like_keras():
    x = np.linspace(-3, 3, 13)
    with _precision("float64"):
        k_out = np.asarray(layers.LeakyReLU()(x))
        torch_out = torch.nn.LeakyReLU(0.3)(torch.as_tensor(x)).numpy()
        print(f"LeakyReLU() at -3: Keras {k_out[0]!r}, torch.nn.LeakyReLU(0.3) {torch_out[0]!r}; "
              f"max rel {_rel(torch_out, k_out):.1e}")
        assert _rel(torch_out, k_out) > 1e-8
        ours = tnn.LeakyReLU()(torch.as_tensor(x)).numpy()
    assert np.array_equal(ours, k_out)


@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_gaussian_noise_layer_like_keras(dt):
    """``tnn.GaussianNoise(stddev, seed)``: Keras's noise call after call (TensorFlow's stateless normal: within
    an ulp on a few draws), the identity in eval mode; an unseeded one counted by ``keras_init_(seed=...)``, so
    the Dense after it starts from Keras's weights."""
    x = np.random.default_rng(2).normal(size=(40, 6)).astype(dt)
    with _precision(dt):
        k_layer = layers.GaussianNoise(0.1, seed=3)
        k_out = [np.asarray(k_layer(x, training=True)) for _ in range(3)]
        ours = tnn.GaussianNoise(0.1, seed=3)
        t_out = [ours(torch.as_tensor(x)).numpy() for _ in range(3)]
        assert torch.equal(ours.eval()(torch.as_tensor(x)), torch.as_tensor(x)) and ours.state == (3, 3)
        keras.utils.set_random_seed(9)
        km = keras.Sequential([keras.Input((6,)), layers.GaussianNoise(0.2), layers.Dense(3)])
        net = keras_init_(torch.nn.Sequential(tnn.GaussianNoise(0.2), torch.nn.Linear(6, 3)), seed=9)
        same = all(np.array_equal(a, b) for a, b in zip(keras_weights(net), km.get_weights(), strict=True))
        k_noisy = np.asarray(km.layers[0](x, training=True))
        t_noisy = net[0](torch.as_tensor(x)).numpy()
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(t_out, k_out))
    noisy = float(np.max(np.abs(t_noisy - k_noisy)))
    print(f"GaussianNoise(0.1, seed=3), {dt}: 3 calls on inputs up to {np.abs(x).max():.1f}, max abs diff "
          f"{diff:.1e}; unseeded after keras_init_(seed=9): Dense weights equal {same}, noise max abs diff {noisy:.1e}")
    tol = 1e-15 if dt == "float64" else 5e-7  # an ulp or two of the sums
    assert diff <= tol and same and noisy <= tol


@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.0])
def test_elu_layer_like_keras(alpha):
    """``tnn.ELU(alpha)``: Keras's ``ELU`` layer (TensorFlow's ``exp(x) - 1``, ``alpha`` applied where ``x <= 0``),
    values and input gradients bit for bit in float64; ``torch.nn.ELU`` (``expm1``) is printed for comparison."""
    x = np.linspace(-4, 2, 25)
    with _precision("float64"):
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            k_out = layers.ELU(alpha=alpha)(xt)
            k_loss = tf.reduce_sum(k_out * tf.range(25, dtype=tf.float64))
        k_grad = tape.gradient(k_loss, xt).numpy()
        t_in = torch.tensor(x, requires_grad=True)
        t_out = tnn.ELU(alpha)(t_in)
        (t_out * torch.arange(25, dtype=torch.float64)).sum().backward()
        plain = torch.nn.ELU(alpha)(torch.tensor(x)).numpy()
    print(f"ELU(alpha={alpha}): values equal {np.array_equal(t_out.detach().numpy(), k_out.numpy())}, gradients "
          f"equal {np.array_equal(t_in.grad.numpy(), k_grad)}; torch.nn.ELU max abs diff "
          f"{np.abs(plain - k_out.numpy()).max():.1e}")
    assert np.array_equal(t_out.detach().numpy(), k_out.numpy()) and np.array_equal(t_in.grad.numpy(), k_grad)

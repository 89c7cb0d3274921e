"""Real-world Keras scripts, round 42: Keras's ``Attention`` (Luong) and ``AdditiveAttention`` (Bahdanau) layers,
ported with :class:`torch_impl.nn.Attention` / :class:`torch_impl.nn.AdditiveAttention` and by hand (the
``softmax(q @ k^T) @ v`` a porter writes from the layer's description). Each model as written, at tiny seeded
shapes, trained a few epochs by ``keras.Model.fit`` and by :func:`torch_impl.fit.fit` from the same initial weights
(``load_keras_weights``), the histories compared every epoch.

1. The "CNN+Attention network" of the TensorFlow API docs' ``tf.keras.layers.Attention`` (and the same example in
   ``tf.keras.layers.AdditiveAttention``'s page; https://www.tensorflow.org/versions/r2.12/api_docs/python/tf/keras/
   layers/Attention, .../r2.9/api_docs/python/tf/keras/layers/AdditiveAttention): a query and a value token
   sequence through one shared ``Embedding`` and one shared ``Conv1D(filters, 4, padding='same')``,
   ``Attention()([query_seq_encoding, value_seq_encoding])``, ``GlobalAveragePooling1D`` of the query encoding and
   of the attention, ``Concatenate``; the page's "Add DNN layers, and create Model" is a ``Dense(1, sigmoid)``
   here. Here ``Embedding(30, 8)``, ``Conv1D(6, 4)``, queries of 6 tokens, values of 8. The hand port follows the
   page's own steps, ``softmax(matmul(query, key, transpose_b=True))`` then ``matmul(distribution, value)``, and
   for ``AdditiveAttention`` ``reduce_sum(tanh(query + key), axis=-1)``: the page's formula leaves out the
   ``scale`` weight that ``use_scale=True`` (the default) multiplies into the ``tanh``
   (``additive_attention.py`` 96-97; a ``(dim,)`` ``glorot_uniform`` weight, trained).
2. StackOverflow's seq2seq with ``Attention`` (the reproduction in mehilshah/Bug_Reproducibility_DL_Bugs,
   ``Bugs/068/main.py``: "Dimension 1 in both shapes must be equal, but are 12 and 32"): an ``LSTM(UNITS,
   return_state=True)`` encoder whose states start the decoder ``LSTM(UNITS, return_sequences=True,
   return_state=True)``, ``Attention()([encoder_outputs, decoder_outputs])``, ``Concatenate``,
   ``TimeDistributed(Dense(num_decoder_tokens, softmax))``, ``RMSprop``, ``categorical_crossentropy`` on random
   one-hot targets, as the script. The encoder returns its last output ``(B, UNITS)`` only: the query is rank 2 and
   Keras's ``matmul`` broadcasts it against every batch entry, the attention output is ``(B, B, UNITS)``, and the
   ``Concatenate`` with the ``(B, T, UNITS)`` decoder output fails. The port gives the same ``(B, B, UNITS)`` (the
   same broadcast, values equal) and fails at the same place. The fix (the accepted Luong form): the encoder with
   ``return_sequences=True`` and the decoder's outputs as the query, ``Attention()([decoder_outputs,
   encoder_outputs])``; trained here. Here 20 and 15 tokens, ``Embedding(., 8)``, ``UNITS = 8``, 7 encoder and 5
   decoder steps.
3. A GitHub LSTM forecaster with ``Attention(use_scale=True)`` (a script of the code index, "Function to build the
   LSTM model with an attention mechanism", on ``simulation_data.csv``; the index gave no repository name):
   ``LSTM(50, return_state=True, return_sequences=True)``, ``Attention(use_scale=True)([lstm_out, lstm_out])``,
   ``Multiply()([lstm_out, attention])``, ``Flatten``, ``Dense(50, relu)``, ``Dense(6)``, ``adam``, ``mse``, on the
   script's ``create_sequences(time_steps=5)`` windows. Here ``LSTM(8)``, ``Dense(16)``, a smooth random series for
   the CSV. The hand port drops the trained ``scale`` (Keras's starts at 1: the outputs agree at first).

Measured (float64; float32 in brackets; the ``fit`` runs (3 epochs, 3 batches each) and scripts 1 (dot), 2 and 3's
output checks are ``slow``; the default run checks script 1's additive form and script 2's broadcast):

==========================  =====================================  ==============================================
script                      torch_impl port                        hand-written port
==========================  =====================================  ==============================================
1 docs CNN + Attention      outputs 2.2e-16 norm-wise, ``fit``     the page's steps are the layer's without mask
                            1.7e-16 (8.9e-8) rel                   or scale: outputs and ``fit`` equal too
1 docs CNN +                outputs 2.2e-16, ``fit`` 0 (0) rel     the page's formula without ``scale``: outputs
  AdditiveAttention                                                1.4e-3 off, ``fit`` 8.4e-4 (1.1e-4) rel
2 SO seq2seq, as asked      attention ``(B, B, UNITS)`` as         the same broadcast in torch's ``matmul``
                            Keras's, values 6.9e-18; the
                            concatenation fails in both
2 SO seq2seq, fixed         outputs 6.1e-16, ``fit`` 0 (0) rel     outputs and ``fit`` equal (no mask, no scale)
3 LSTM + Attention(         outputs 8.7e-16 (7.3e-16 at a scale    equal at Keras's initial scale 1; at 1.5
  use_scale=True)           of 1.5), ``fit`` 0 (8.9e-8) rel        2.5e-2 off; ``fit`` 2.8e-6 (1.8e-6) rel after 9
                                                                   Adam steps (Keras trains the scale)
==========================  =====================================  ==============================================

torch_impl matched Keras everywhere; no torch_impl change in this round (the layers are new:
``parity_tests/test_attention_layers_keras.py``). Keras facts behind the ports (Keras 3.15.1,
``keras/src/layers/attention/``): ``Attention``'s scores are a plain ``matmul(query, key^T)`` (``attention.py``
121), broadcasting any leading axes (a rank-2 query against rank-3 values gives the ``(B, B, ...)`` of script 2),
while its ``compute_output_shape`` (250-253) declares ``(B, dim)`` for that query: Keras 3 refuses the asker's
``Concatenate`` when the model is made (the asker's TensorFlow 2.13 Keras failed in ``fit``);
``AdditiveAttention(use_scale=True)`` is its default (``additive_attention.py`` 62) and makes a ``(dim,)``
``glorot_uniform`` scale (72-79) multiplied into the sum (96-97); ``Attention(use_scale=True)``'s scalar ``scale``
starts at 1 (``attention.py`` 93-100) and is trained.
"""

from __future__ import annotations


import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402

from parity_tests.test_field_scripts_round2 import _check_history, _precision, _rel  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl.nn import load_keras_weights  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

BATCH, EPOCHS = 16, 3
VOCAB, EMB, FILTERS, TQ, TV = 30, 8, 6, 6, 8  # script 1
ENC_TOKENS, DEC_TOKENS, UNITS, T_ENC, T_DEC = 20, 15, 8, 7, 5  # script 2
STEPS, FEATURES, UNITS3, HIDDEN3, OUT3 = 5, 10, 8, 16, 6  # script 3


def _gap(a, b) -> float:
    """Norm-wise relative distance: max abs difference over max abs value."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def _hand_attention(query, value, key=None, additive=False):
    """The hand-written port of the layers' descriptions: ``softmax(query @ key^T) @ value``, or for the additive
    one ``softmax(sum(tanh(query_i + key_j), -1)) @ value`` (no ``scale``)."""
    key = value if key is None else key
    if additive:
        scores = torch.tanh(query.unsqueeze(-2) + key.unsqueeze(-3)).sum(-1)
    else:
        scores = torch.matmul(query, key.transpose(-2, -1))
    return torch.matmul(torch.softmax(scores, dim=-1), value)


# --------------------------------------------------------------------------------------------------------------
# Script 1: the TensorFlow docs' CNN + Attention
# --------------------------------------------------------------------------------------------------------------


def _docs_keras(additive: bool):
    query_input = keras.Input(shape=(None,), dtype="int32")
    value_input = keras.Input(shape=(None,), dtype="int32")
    token_embedding = layers.Embedding(input_dim=VOCAB, output_dim=EMB)
    query_embeddings = token_embedding(query_input)
    value_embeddings = token_embedding(value_input)
    cnn_layer = layers.Conv1D(filters=FILTERS, kernel_size=4, padding="same")
    query_seq_encoding = cnn_layer(query_embeddings)
    value_seq_encoding = cnn_layer(value_embeddings)
    attention = layers.AdditiveAttention() if additive else layers.Attention()
    query_value_attention_seq = attention([query_seq_encoding, value_seq_encoding])
    query_encoding = layers.GlobalAveragePooling1D()(query_seq_encoding)
    query_value_attention = layers.GlobalAveragePooling1D()(query_value_attention_seq)
    input_layer = layers.Concatenate()([query_encoding, query_value_attention])
    output = layers.Dense(1, activation="sigmoid")(input_layer)  # "Add DNN layers, and create Model."
    return keras.Model([query_input, value_input], output)


class _DocsCNNAttention(torch.nn.Module):
    """Script 1 in torch: the shared ``Embedding`` and ``Conv1d`` (TensorFlow's ``'same'`` padding), the attention,
    the two means over time, ``Linear`` (a logit); ``hand=True``: the hand-written attention."""

    def __init__(self, additive: bool, hand: bool = False):
        super().__init__()
        self.embedding = torch.nn.Embedding(VOCAB, EMB, sparse=True)
        self.conv = torch.nn.Conv1d(EMB, FILTERS, 4)
        self.attention = tnn.AdditiveAttention(FILTERS) if additive else tnn.Attention()
        self.dense = torch.nn.Linear(2 * FILTERS, 1)
        self.additive, self.hand = additive, hand

    def encode(self, tokens):
        x = self.embedding(tokens.long()).movedim(-1, 1)
        return self.conv(tnn.tf_same_padding(x, 4)).movedim(1, -1)

    def forward(self, query_tokens, value_tokens):
        q, v = self.encode(query_tokens), self.encode(value_tokens)
        att = _hand_attention(q, v, additive=self.additive) if self.hand else self.attention([q, v])
        return self.dense(torch.cat([q.mean(1), att.mean(1)], -1))


def _docs_data(dt: str):
    rng = np.random.default_rng(1)
    q = rng.integers(1, VOCAB, (48, TQ)).astype("int32")
    v = rng.integers(1, VOCAB, (48, TV)).astype("int32")
    y = (np.isin(q[:, :2], v).any(1)).astype(dt)  # the query's first tokens appear in the value
    return q, v, y


# --------------------------------------------------------------------------------------------------------------
# Script 2: the StackOverflow seq2seq
# --------------------------------------------------------------------------------------------------------------


def _seq2seq_keras(fixed: bool, upto_attention: bool = False):
    encoder_inputs = keras.Input(shape=(None,), name="encoder_inputs")
    encoder_embs = layers.Embedding(ENC_TOKENS, EMB, name="encoder_embs")(encoder_inputs)
    encoder = layers.LSTM(UNITS, return_state=True, return_sequences=fixed, name="encoder_LSTM")
    encoder_outputs, state_h, state_c = encoder(encoder_embs)
    encoder_states = [state_h, state_c]
    decoder_inputs = keras.Input(shape=(None,), name="decoder_inputs")
    decoder_embs = layers.Embedding(DEC_TOKENS, EMB, name="decoder_embs")(decoder_inputs)
    decoder_lstm = layers.LSTM(UNITS, return_sequences=True, return_state=True, name="decoder_LSTM")
    decoder_outputs, _, _ = decoder_lstm(decoder_embs, initial_state=encoder_states)
    attention = layers.Attention(name="attention_layer")
    attention_out = attention([decoder_outputs, encoder_outputs] if fixed else [encoder_outputs, decoder_outputs])
    if upto_attention:
        return keras.Model([encoder_inputs, decoder_inputs], attention_out)
    decoder_concatenate = layers.Concatenate(axis=-1, name="concat_layer")([decoder_outputs, attention_out])
    decoder_outputs = layers.TimeDistributed(layers.Dense(units=DEC_TOKENS, activation="softmax",
                                                          name="decoder_denseoutput"))(decoder_concatenate)
    return keras.Model([encoder_inputs, decoder_inputs], decoder_outputs, name="s2s_model")


class _Seq2Seq(torch.nn.Module):
    """Script 2 in torch, in Keras's layer order (the embeddings, the encoder and decoder LSTMs, the output Dense);
    ``fixed``: the encoder's sequence is the value and the decoder's outputs the query."""

    def __init__(self, fixed: bool = True, hand: bool = False):
        super().__init__()
        self.encoder_embs = torch.nn.Embedding(ENC_TOKENS, EMB, sparse=True)
        self.decoder_embs = torch.nn.Embedding(DEC_TOKENS, EMB, sparse=True)
        self.encoder = tnn.LSTM(EMB, UNITS, batch_first=True)
        self.decoder = tnn.LSTM(EMB, UNITS, batch_first=True)
        self.attention = tnn.Attention()
        self.dense = torch.nn.Linear(2 * UNITS, DEC_TOKENS)
        self.fixed, self.hand = fixed, hand

    def attend(self, encoder_tokens, decoder_tokens):
        enc_seq, (h, c) = self.encoder(self.encoder_embs(encoder_tokens.long()))
        dec_seq, _ = self.decoder(self.decoder_embs(decoder_tokens.long()), (h, c))
        query, value = (dec_seq, enc_seq) if self.fixed else (enc_seq[:, -1], dec_seq)
        att = _hand_attention(query, value) if self.hand else self.attention([query, value])
        return dec_seq, att

    def forward(self, encoder_tokens, decoder_tokens):
        dec_seq, att = self.attend(encoder_tokens, decoder_tokens)
        return self.dense(torch.cat([dec_seq, att], -1))  # logits: fit(output_activation="softmax")


def _seq2seq_data(dt: str):
    rng = np.random.default_rng(2)
    enc = rng.integers(0, ENC_TOKENS, (48, T_ENC))
    dec = rng.integers(0, DEC_TOKENS, (48, T_DEC))
    target = np.eye(DEC_TOKENS, dtype=dt)[rng.integers(0, DEC_TOKENS, (48, T_DEC))]  # random one-hot, as the script
    return enc.astype(dt), dec.astype(dt), target


# --------------------------------------------------------------------------------------------------------------
# Script 3: the LSTM + Attention(use_scale=True) forecaster
# --------------------------------------------------------------------------------------------------------------


def _forecaster_keras():
    inputs = keras.Input(shape=(STEPS, FEATURES))
    lstm_out, _, _ = layers.LSTM(UNITS3, return_state=True, return_sequences=True)(inputs)
    attention = layers.Attention(use_scale=True)([lstm_out, lstm_out])
    merged = layers.Multiply()([lstm_out, attention])
    flattened = layers.Flatten()(merged)
    dense_layer = layers.Dense(HIDDEN3, activation="relu")(flattened)
    outputs = layers.Dense(OUT3)(dense_layer)
    return keras.Model(inputs, outputs)


class _Forecaster(torch.nn.Module):
    """Script 3 in torch: ``LSTM``, the self-attention with its trained ``scale``, the product, ``Linear`` + ReLU,
    ``Linear``; ``hand=True``: ``softmax(h @ h^T) @ h`` (``scale`` loaded but not used)."""

    def __init__(self, hand: bool = False):
        super().__init__()
        self.lstm = tnn.LSTM(FEATURES, UNITS3, batch_first=True)
        self.attention = tnn.Attention(use_scale=True)
        self.dense = torch.nn.Linear(STEPS * UNITS3, HIDDEN3)
        self.out = torch.nn.Linear(HIDDEN3, OUT3)
        self.hand = hand

    def forward(self, x):
        h, _ = self.lstm(x)
        att = _hand_attention(h, h) if self.hand else self.attention([h, h])
        return self.out(torch.relu(self.dense((h * att).flatten(1))))


def _forecaster_data(dt: str):
    """The script's ``create_sequences(time_steps=5, forecast_horizon=1)`` of min-max scaled columns, on a smooth
    random multivariate series (the script reads ``simulation_data.csv``)."""
    rng = np.random.default_rng(3)
    series = np.cumsum(rng.standard_normal((48 + STEPS, 11)), 0)
    series = (series - series.min(0)) / (series.max(0) - series.min(0))
    input_data, output_data = series[:, 1:11], series[:, 2:8]
    x = np.array([input_data[i:i + STEPS] for i in range(len(input_data) - STEPS)])
    y = np.array([output_data[i + STEPS] for i in range(len(input_data) - STEPS)])
    return x.astype(dt), y.astype(dt)


# --------------------------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------------------------


def _script(name: str, dt: str):
    """``(keras_model, x, y, loss, optimizer, port builder, hand port builder)``."""
    keras.utils.set_random_seed(7)
    if name.startswith("docs"):
        additive = name == "docs-additive"
        q, v, y = _docs_data(dt)
        return (_docs_keras(additive), [q, v], y, "binary_crossentropy", "adam", "sigmoid",
                lambda: _DocsCNNAttention(additive), lambda: _DocsCNNAttention(additive, hand=True))
    if name == "forecaster":
        x, y = _forecaster_data(dt)
        return (_forecaster_keras(), x, y, "mean_squared_error", "adam", None, lambda: _Forecaster(),
                lambda: _Forecaster(hand=True))
    enc, dec, target = _seq2seq_data(dt)
    return (_seq2seq_keras(True), [enc, dec], target, "categorical_crossentropy", "rmsprop", "softmax",
            lambda: _Seq2Seq(), lambda: _Seq2Seq(hand=True))


def _predict(net, x, act):
    with torch.no_grad():
        z = net.eval()(*[torch.as_tensor(a) for a in (x if isinstance(x, list) else [x])])
    return {"sigmoid": torch.sigmoid, "softmax": lambda t: torch.softmax(t, -1), None: lambda t: t}[act](z).numpy()


def _outputs(name: str, dt: str, scale=None):
    """Keras's model at its initial weights (``scale``: the attention's ``scale`` set to it, as trained): the
    port's and the hand port's outputs' norm-wise gaps."""
    model, x, _, _, _, act, port, hand = _script(name, dt)
    if scale is not None:
        next(v for v in model.weights if v.name == "scale").assign(scale)
    k_out = keras.ops.convert_to_numpy(model(x))
    w = model.get_weights()
    net, naive = load_keras_weights(port(), w), load_keras_weights(hand(), w)
    return _gap(_predict(net, x, act), k_out), _gap(_predict(naive, x, act), k_out)


@pytest.mark.parametrize("name", [pytest.param("docs-attention", marks=pytest.mark.slow), "docs-additive",
                                  pytest.param("seq2seq", marks=pytest.mark.slow),
                                  pytest.param("forecaster", marks=pytest.mark.slow)])
def test_ported_outputs_at_initial_weights(name):
    """Each script's outputs (float64; the default run checks script 1's additive form, the fits check the rest):
    Keras's outputs against the port's (within 1e-15
    norm-wise) and the hand port's (equal without a mask or a scale: ``Attention``'s scale starts at 1; the
    additive page's formula is off; script 3 at a trained scale of 1.5 too)."""
    with _precision("float64"):
        port, hand = _outputs(name, "float64")
        print(f"{name}: outputs norm-wise off Keras's: port {port:.1e}, hand-written attention {hand:.1e}")
        assert port <= 1e-15
        if name == "docs-additive":
            assert hand > 1e-4  # the page's formula has no scale
        else:
            assert hand <= 1e-15
        if name == "forecaster":
            port, hand = _outputs(name, "float64", scale=1.5)
            print(f"  at scale 1.5: port {port:.1e}, hand-written attention {hand:.1e}")
            assert port <= 1e-15 and hand > 1e-3


def test_stackoverflow_seq2seq_broadcast_like_keras():
    """Script 2 as asked: the rank-2 query ``(B, UNITS)`` (the encoder's last output) against the decoder's
    ``(B, T, UNITS)``: Keras's ``Attention`` broadcasts it to ``(B, B, UNITS)``, the port too (values equal), and the
    ``Concatenate`` with ``(B, T, UNITS)`` fails in both (Keras 3 already when the model is made: the layer's
    ``compute_output_shape`` says ``(B, UNITS)``, the asker's TensorFlow 2.13 Keras in ``fit``)."""
    with _precision("float64"):
        with pytest.raises(ValueError, match="Concatenate") as k_err:
            _seq2seq_keras(False)
        keras.utils.set_random_seed(7)
        probe = _seq2seq_keras(False, upto_attention=True)  # the model up to the attention output
        enc, dec, _ = _seq2seq_data("float64")
        enc, dec = enc[:BATCH], dec[:BATCH]
        k_att = keras.ops.convert_to_numpy(probe([enc, dec]))
        symbolic = tuple(probe.outputs[0].shape)
        dense = np.zeros((2 * UNITS, DEC_TOKENS)), np.zeros(DEC_TOKENS)  # the Dense the failed model never made
        w = [a for n in ("encoder_embs", "decoder_embs", "encoder_LSTM", "decoder_LSTM")
             for a in probe.get_layer(n).get_weights()]
        net = load_keras_weights(_Seq2Seq(fixed=False), w + list(dense))
        with torch.no_grad():
            _, t_att = net.attend(torch.as_tensor(enc), torch.as_tensor(dec))
            with pytest.raises(RuntimeError) as t_err:
                net(torch.as_tensor(enc), torch.as_tensor(dec))
    diff = float(np.max(np.abs(t_att.numpy() - k_att)))
    print(f"as asked: attention output Keras {k_att.shape} (declared {symbolic}), port {tuple(t_att.shape)}, max abs "
          f"diff {diff:.1e}; Keras: {str(k_err.value)[:100]!r}, port: {str(t_err.value)[:80]!r}")
    assert k_att.shape == tuple(t_att.shape) == (BATCH, BATCH, UNITS) and symbolic == (None, UNITS)
    assert diff <= 1e-15


def _fit_run(name: str, dt: str):
    with _precision(dt):
        model, x, y, loss, opt, act, port, hand = _script(name, dt)
        w = model.get_weights()
        net, naive = load_keras_weights(port(), w), load_keras_weights(hand(), w)
        model.compile(optimizer=opt, loss=loss)
        keras.utils.set_random_seed(11)
        kh = model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, verbose=0).history
        runs = [tfit.fit(m, x, y, loss=loss, output_activation=act, optimizer=opt, batch_size=BATCH, epochs=EPOCHS,
                         seed=11, verbose=0).history for m in (net, naive)]
    print(f"{name} ({dt}):")
    _check_history(runs[0], kh, dt, tol=1e-12 if dt == "float64" else 1e-3)
    naive_rel = _rel(runs[1]["loss"], kh["loss"])
    print(f"  hand-written attention: loss {np.round(runs[1]['loss'], 8).tolist()} (max rel {naive_rel:.1e})")
    return naive_rel


@pytest.mark.slow  # two Keras fits (tracing) per dtype
@pytest.mark.parametrize("dt", ["float64", "float32"])
@pytest.mark.parametrize("name", ["docs-attention", "docs-additive", "seq2seq", "forecaster"])
def test_script_fit_like_keras(name, dt):
    """Each script trained 3 epochs by Keras and by ``torch_impl.fit`` from the same weights: the port's history
    within 1e-12 (float64) / 1e-3 (float32) every epoch; the hand port's equal where the layer has no weight and no
    mask (1e-12 in float64), off for the additive page's formula."""
    naive_rel = _fit_run(name, dt)
    if name == "docs-additive":  # the page's formula leaves the scale out
        assert naive_rel > 1e-4
    elif name == "forecaster":  # the untrained scale: Adam moves Keras's by ~1e-3 a step, 9 steps here
        assert naive_rel > (1e-6 if dt == "float64" else 5e-7)
    elif dt == "float64":
        assert naive_rel <= 1e-12

"""Port a Keras text classifier with ``keras.layers.Attention`` (self-attention over a masked BiLSTM).

Keras:
    inp = keras.Input((T,), dtype="int32")
    e = layers.Embedding(vocab, 8, mask_zero=True)(inp)                   # token 0 is padding: e carries the mask
    h = layers.Bidirectional(layers.LSTM(6, return_sequences=True))(e)    # the mask rides on h too
    a = layers.Attention()([h, h])                                        # padded keys get -1e9, padded queries 0
    p = layers.GlobalAveragePooling1D()(a)                                # the mean over the valid steps only
    out = layers.Dense(1, activation="sigmoid")(p)
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"]); model.fit(x, y, ...)

The carried mask is what a hand-written ``softmax(h @ h.T) @ h`` + ``h.mean(1)`` port misses (this model without it:
2.4e-2 off Keras's losses, relative). In torch the model marks the embedded tokens with
``torch_impl.utils.set_keras_mask(e, tokens != 0)`` (the README's recipe) and the rest follows Keras's ``__call__``:
``torch_impl.nn.LSTM(bidirectional=True)`` reads the mask and its output carries it, ``torch_impl.nn.Attention``
uses it as the query and value masks (``- 1e9`` on the padded keys, zeros on the padded queries) and its output
carries the query's mask, which ``torch_impl.nn.GlobalAveragePooling1D`` averages over. With Keras installed, the
script trains both from the same weights and prints the two histories.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_impl import fit as tfit  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl.nn import keras_init_, load_keras_weights  # noqa: E402
from torch_impl.utils import set_keras_mask  # noqa: E402
from _keras_optional import keras_or_none  # noqa: E402  (examples/_keras_optional.py)

VOCAB, T, UNITS = 20, 8, 6


class AttentionClassifier(torch.nn.Module):
    """The Keras model above; returns the logit (``fit`` applies the sigmoid)."""

    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(VOCAB, 8, sparse=True)  # sparse: Keras's per-row Adam steps
        self.lstm = tnn.LSTM(8, UNITS, batch_first=True, bidirectional=True)  # Keras's Bidirectional(LSTM)
        self.attention = tnn.Attention()
        self.pool = tnn.GlobalAveragePooling1D("channels_last")
        self.dense = torch.nn.Linear(2 * UNITS, 1)

    def forward(self, tokens):
        tokens = tokens.long()  # fit hands the inputs over in floatx
        h = self.lstm(set_keras_mask(self.embedding(tokens), tokens != 0))[0]  # h carries the mask
        return self.dense(self.pool(self.attention([h, h])))  # the masks read from h, as Keras's __call__


def main():
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(0)
    lengths = rng.integers(2, T + 1, 64)
    x = np.where(np.arange(T)[None] >= T - lengths[:, None], rng.integers(1, VOCAB, (64, T)), 0)  # pre-padded
    x = x.astype(np.int32)
    y = (np.isin(x, [1, 2, 3]).sum(1) > 0).astype(np.float64)  # "does a keyword occur?"
    net = keras_init_(AttentionClassifier(), seed=0)  # Keras's initializers (and LSTM's one bias: bias_hh frozen)
    keras = keras_or_none()
    keras_history = None
    if keras is not None:
        keras.config.set_floatx("float64")
        keras.utils.set_random_seed(0)
        layers = keras.layers
        inp = keras.Input((T,), dtype="int32")
        h = layers.Bidirectional(layers.LSTM(UNITS, return_sequences=True))(
            layers.Embedding(VOCAB, 8, mask_zero=True)(inp))
        pooled = layers.GlobalAveragePooling1D()(layers.Attention()([h, h]))
        model = keras.Model(inp, layers.Dense(1, activation="sigmoid")(pooled))
        load_keras_weights(net, model.get_weights())
        # run_eagerly: the same numbers, without the seconds TensorFlow takes to trace the masked BiLSTM
        model.compile(keras.optimizers.Adam(0.02), "binary_crossentropy", metrics=["accuracy"], run_eagerly=True)
        keras_history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    history = tfit.fit(net, x, y, loss="binary_crossentropy",
                       optimizer=optim.Adam(net.parameters(), learning_rate=0.02), metrics=["accuracy"],
                       output_activation="sigmoid", batch_size=16, epochs=2, shuffle=False, verbose=0).history
    for key, values in history.items():
        line = f"{key:9s} torch_impl {np.round(values, 6).tolist()}"
        if keras_history is not None:
            err = np.max(np.abs(np.array(values) - keras_history[key]) / np.abs(keras_history[key]))
            line += f"  Keras {np.round(keras_history[key], 6).tolist()}  (max rel {err:.1e})"
            assert err < 1e-12
        print(line)


if __name__ == "__main__":
    main()

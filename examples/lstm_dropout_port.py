"""Port Keras's ``imdb_lstm`` recipe, recurrent dropout included, and get Keras's numbers.

Keras:
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((10,), dtype="int32"), layers.Embedding(30, 8),
                              layers.LSTM(8, dropout=0.2, recurrent_dropout=0.2),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(tokens, y, batch_size=16, epochs=4, validation_split=0.25)

``torch.nn.LSTM(dropout=0.2)`` drops between stacked layers (with one layer: nothing). ``torch_impl.nn.LSTM``
drops as Keras's LSTM does, the inputs and the recurrent state of every step, with Keras's masks;
``keras_init_(net, seed=7)`` gives the weights *and* the dropout seeds Keras's layers draw after
``set_random_seed(7)``, so even the unseeded dropout of the recipe is replayed. With Keras installed the script
trains the Keras model too and compares the histories.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_impl import fit  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from _keras_optional import keras_or_none  # noqa: E402  (examples/_keras_optional.py)

torch.set_default_dtype(torch.float64)  # Keras's floatx for this run: float64
rng = np.random.default_rng(1)
tokens = rng.integers(1, 30, size=(128, 10))
y = ((tokens < 10).sum(1) > 3).astype("float64")


class ImdbLstm(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(30, 8, sparse=True)  # Keras's row-sparse Embedding gradient
        self.lstm = tnn.LSTM(8, 8, batch_first=True, dropout=0.2, recurrent_dropout=0.2)  # Keras's dropouts
        self.out = torch.nn.Linear(8, 1)
        self.output_activation = "sigmoid"  # Dense(1, activation="sigmoid"): fit trains on the logits

    def forward(self, t):
        seq, _ = self.lstm(self.embedding(t))
        return self.out(seq[:, -1])  # Keras's return_sequences=False output


net = tnn.keras_init_(ImdbLstm(), seed=7)  # weights and dropout seeds as Keras's after set_random_seed(7)
print("dropout streams (seed, counter):", [s.state for s in net.lstm.streams])
history = fit.fit(net, torch.tensor(tokens), y, loss="binary_crossentropy", optimizer="adam",
                  metrics=["accuracy"], batch_size=16, epochs=4, validation_split=0.25, shuffle=False,
                  verbose=0).history
print("torch_impl:", {k: np.round(v, 6).tolist() for k, v in history.items()})
print("after training:", [s.state for s in net.lstm.streams])

keras = keras_or_none()  # Keras on TensorFlow, if installed
if keras is not None:
    from keras import layers

    keras.config.set_floatx("float64")
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((10,), dtype="int32"), layers.Embedding(30, 8),
                              layers.LSTM(8, dropout=0.2, recurrent_dropout=0.2),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    kh = model.fit(tokens, y, batch_size=16, epochs=4, validation_split=0.25, shuffle=False, verbose=0).history
    print("Keras:     ", {k: np.round(v, 6).tolist() for k, v in kh.items()})
    gap = max(float(np.max(np.abs(np.subtract(history[k], kh[k])) / np.abs(kh[k]))) for k in ("loss", "val_loss"))
    print(f"largest relative loss difference: {gap:.1e}; Keras's seed state "
          f"{tuple(int(v) for v in model.layers[1].cell.seed_generator.state.numpy())}")
    assert gap < 1e-8

"""Port a Keras text classifier (Embedding + Adam) to PyTorch and get Keras's numbers.

Keras:
    model = keras.Sequential([keras.Input((12,), dtype="int32"), layers.Embedding(50, 16),
                              layers.GlobalAveragePooling1D(), layers.Dense(16, activation="relu"),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(tokens, y, batch_size=16, epochs=4, validation_split=0.25)

On TensorFlow the Embedding's gradient is one row per token occurrence (IndexedSlices) and Adam's second
moment sums the squares of those rows; ``nn.Embedding(..., sparse=True)`` hands torch_impl.optim the same
rows. The script trains both embeddings from Keras's initial weights; with Keras installed it trains the
Keras model too and prints the three histories: sparse=True matches, the dense gradient does not.
"""

import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_impl import fit, optim  # noqa: E402
from torch_impl.nn import keras_init_  # noqa: E402
from _keras_optional import keras_or_none  # noqa: E402  (examples/_keras_optional.py)

torch.set_default_dtype(torch.float64)  # Keras's floatx for this run: float64
rng = np.random.default_rng(0)
tokens = rng.integers(1, 50, size=(96, 12))  # token ids; every batch repeats tokens
y = ((tokens < 15).sum(1) >= 4).astype("float64")


class TextClassifier(torch.nn.Module):
    def __init__(self, sparse: bool):
        super().__init__()
        self.embedding = torch.nn.Embedding(50, 16, sparse=sparse)
        self.hidden, self.out = torch.nn.Linear(16, 16), torch.nn.Linear(16, 1)
        self.output_activation = "sigmoid"  # Keras's Dense(1, activation="sigmoid"): fit trains on the logits
        keras_init_(self)  # Embedding U(-0.05, 0.05), glorot_uniform kernels, zero biases

    def forward(self, t):
        return self.out(torch.relu(self.hidden(self.embedding(t.long()).mean(1))))


start = TextClassifier(sparse=True).state_dict()
histories = {}
for sparse in (True, False):
    net = TextClassifier(sparse)
    net.load_state_dict(start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fit warns about the dense embedding: that is the point here
        histories[sparse] = fit.fit(net, tokens, y, loss="binary_crossentropy",
                                    optimizer=optim.Adam(net.parameters(), learning_rate=0.01), batch_size=16,
                                    epochs=4, validation_split=0.25, shuffle=False, verbose=0).history
    print(f"torch_impl, nn.Embedding(sparse={sparse}):", {k: np.round(v, 6).tolist() for k, v in histories[sparse].items()})

keras = keras_or_none()  # Keras on TensorFlow, if installed
if keras is not None:
    from keras import layers

    keras.config.set_floatx("float64")
    model = keras.Sequential([keras.Input((12,), dtype="int32"), layers.Embedding(50, 16),
                              layers.GlobalAveragePooling1D(), layers.Dense(16, activation="relu"),
                              layers.Dense(1, activation="sigmoid")])
    model.set_weights([start["embedding.weight"].numpy(), start["hidden.weight"].numpy().T,
                       start["hidden.bias"].numpy(), start["out.weight"].numpy().T, start["out.bias"].numpy()])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    kh = model.fit(tokens.astype("int32"), y, batch_size=16, epochs=4, validation_split=0.25, shuffle=False,
                   verbose=0).history
    print("Keras:                            ", {k: np.round(v, 6).tolist() for k, v in kh.items()})
    gaps = {s: max(float(np.max(np.abs(np.subtract(h[k], kh[k])) / np.abs(kh[k]))) for k in ("loss", "val_loss"))
            for s, h in histories.items()}
    print(f"largest relative loss difference: sparse=True {gaps[True]:.1e}, sparse=False {gaps[False]:.1e}")
    assert gaps[True] < 1e-8 < gaps[False]

"""Port a Keras text classifier with attention (the keras.io "text classification with Transformer" shape) to PyTorch.

Keras:
    inp = keras.Input((12,), dtype="int32")
    h = layers.Embedding(50, 8)(inp)
    h = layers.LayerNormalization()(layers.MultiHeadAttention(2, 4)(h, h) + h)
    h = layers.GaussianNoise(0.05)(layers.GlobalAveragePooling1D()(h))
    model = keras.Model(inp, layers.Dense(2, activation="softmax")(h))
    model.compile(optimizer="adamw", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(keras.utils.pad_sequences(texts, maxlen=12), y, batch_size=16, epochs=4, shuffle=False)

PyTorch with torch_impl: ``utils.pad_sequences`` pads as Keras does (at the front); ``torch.nn.MultiheadAttention``
and ``nn.Embedding(sparse=True)`` start from Keras's initial weights by ``keras_init_(seed=...)`` (the draws of
``set_random_seed``: embedding, attention projections, the noise layer's seed, the head);
``torch_impl.nn.GaussianNoise`` adds Keras's noise; ``fit`` takes ``optimizer="adamw"`` by name (Keras's
defaults), the token ids as a torch integer tensor, and steps the Embedding's row slices as Keras does. With Keras
installed the script trains Keras's model too and prints both histories.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_impl import fit  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl.utils import pad_sequences  # noqa: E402
from _keras_optional import keras_or_none  # noqa: E402  (examples/_keras_optional.py)

torch.set_default_dtype(torch.float64)  # Keras's floatx for this run: float64
rng = np.random.default_rng(0)
texts = [list(rng.integers(1, 50, size=int(rng.integers(3, 16)))) for _ in range(96)]
y = np.array([int(sum(t) % 2) for t in texts])  # a parity of the token ids
tokens = pad_sequences(texts, maxlen=12)  # Keras's default: pad and truncate at the front


class AttentionClassifier(torch.nn.Module):
    """Embedding -> self-attention + residual -> LayerNormalization -> mean over tokens -> noise -> Dense (logits)."""

    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(50, 8, sparse=True)  # Keras hands the optimizer row slices
        self.attention = torch.nn.MultiheadAttention(8, 2, batch_first=True)  # Keras's num_heads=2, key_dim=4
        self.norm = torch.nn.LayerNorm(8, eps=1e-3)  # Keras's LayerNormalization epsilon
        self.noise = tnn.GaussianNoise(0.05)
        self.head = torch.nn.Linear(8, 2)
        self.output_activation = "softmax"  # Keras's output layer; fit trains on the logits as Keras does

    def forward(self, ids):
        h = self.embedding(ids)
        h = self.norm(self.attention(h, h, h, need_weights=False)[0] + h)
        return self.head(self.noise(h.mean(1)))


net = tnn.keras_init_(AttentionClassifier(), seed=3)  # the initial weights of Keras's set_random_seed(3)
ported = fit.fit(net, torch.as_tensor(tokens), y, loss="sparse_categorical_crossentropy", optimizer="adamw",
                 metrics=["accuracy"], batch_size=16, epochs=4, shuffle=False, verbose=0).history
print(f"padded tokens: {tokens.shape}, first row {tokens[0].tolist()}")
print(f"torch_impl fit: loss {np.round(ported['loss'], 6).tolist()}, accuracy {np.round(ported['accuracy'], 4).tolist()}")

keras = keras_or_none()  # Keras on TensorFlow, if installed
if keras is not None:
    from keras import layers

    keras.config.set_floatx("float64")
    keras.utils.set_random_seed(3)
    inp = keras.Input((12,), dtype="int32")
    h = layers.Embedding(50, 8)(inp)
    h = layers.LayerNormalization()(layers.MultiHeadAttention(2, 4)(h, h) + h)
    h = layers.GaussianNoise(0.05)(layers.GlobalAveragePooling1D()(h))
    kmodel = keras.Model(inp, layers.Dense(2, activation="softmax")(h))
    kmodel.compile(optimizer="adamw", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    kh = kmodel.fit(keras.utils.pad_sequences(texts, maxlen=12), y, batch_size=16, epochs=4, shuffle=False,
                    verbose=0).history
    gap = max(abs(a - b) / abs(b) for a, b in zip(ported["loss"], kh["loss"]))
    print(f"Keras fit:      loss {np.round(kh['loss'], 6).tolist()}, accuracy {np.round(kh['accuracy'], 4).tolist()}")
    print(f"largest relative loss difference over the epochs: {gap:.1e}")

"""Port a Keras sequence tagger with ``Embedding(mask_zero=True)``: the padding mask reaches the loss and metrics.

Keras:
    inp = keras.Input((T,), dtype="int32")
    h = layers.Embedding(vocab, 8, mask_zero=True)(inp)      # token 0 is padding: the mask rides on h
    out = layers.Dense(classes, activation="softmax")(h)      # Dense passes the mask on to the output
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], weighted_metrics=["accuracy"])
    model.fit(x, y, sample_weight=per_step_weights, ...)

Keras's loss folds the mask into the sample weight (under ``sum_over_batch_size`` the valid steps weigh
``count / valid``: the mean runs over them) and its mean metrics weigh their values by it. In torch the model
marks its output with ``torch_impl.utils.set_keras_mask(z, tokens != 0)``: ``torch_impl``'s losses, metrics and
``fit`` read it as Keras does. With Keras installed, the script trains both from the same weights and prints the
two histories.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_impl import fit as tfit  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl.nn import load_keras_weights  # noqa: E402
from torch_impl.utils import set_keras_mask  # noqa: E402
from _keras_optional import keras_or_none  # noqa: E402  (examples/_keras_optional.py)

VOCAB, T, CLASSES = 20, 6, 4


class Tagger(torch.nn.Module):
    """The Keras model above; returns the logits, marked with the padding mask."""

    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(VOCAB, 8, sparse=True)  # sparse: Keras's per-row Adam steps
        self.dense = torch.nn.Linear(8, CLASSES)

    def forward(self, tokens):
        tokens = tokens.long()  # fit hands the inputs over in floatx
        return set_keras_mask(self.dense(self.embedding(tokens)), tokens != 0)


def main():
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(0)
    lengths = rng.integers(2, T + 1, 96)
    x = np.where(np.arange(T)[None] < lengths[:, None], rng.integers(1, VOCAB, (96, T)), 0).astype(np.int32)
    y = rng.integers(0, CLASSES, (96, T))
    weights = rng.uniform(0.5, 2.0, (96, T))  # per-step sample weights on top of the mask
    net = Tagger()
    keras = keras_or_none()
    keras_history = None
    if keras is not None:
        keras.config.set_floatx("float64")
        keras.utils.set_random_seed(0)
        inp = keras.Input((T,), dtype="int32")
        h = keras.layers.Embedding(VOCAB, 8, mask_zero=True)(inp)
        model = keras.Model(inp, keras.layers.Dense(CLASSES, activation="softmax")(h))
        load_keras_weights(net, model.get_weights())
        model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy", metrics=["accuracy"],
                      weighted_metrics=["accuracy"])
        keras_history = model.fit(x, y, sample_weight=weights, batch_size=32, epochs=3, shuffle=False,
                                  verbose=0).history
    history = tfit.fit(net, x, y, sample_weight=weights, loss="sparse_categorical_crossentropy",
                       optimizer=optim.Adam(net.parameters(), learning_rate=0.02), metrics=["accuracy"],
                       weighted_metrics=["accuracy"], output_activation="softmax", batch_size=32, epochs=3,
                       shuffle=False, verbose=0).history
    for key, values in history.items():
        line = f"{key:18s} torch_impl {np.round(values, 6).tolist()}"
        if keras_history is not None:
            err = np.max(np.abs(np.array(values) - keras_history[key]) / np.abs(keras_history[key]))
            line += f"  Keras {np.round(keras_history[key], 6).tolist()}  (max rel {err:.1e})"
            assert err < 1e-12
        print(line)


if __name__ == "__main__":
    main()

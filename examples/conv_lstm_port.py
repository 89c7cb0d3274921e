"""Port keras.io's next-frame video prediction model (``ConvLSTM2D``) with ``torch_impl.nn.ConvLSTM2D``.

Keras (keras.io/examples/vision/conv_lstm, at tiny shapes: 4 filters, 8x8 frames, two ConvLSTM2D):
    inp = layers.Input(shape=(None, H, W, 1))
    x = layers.ConvLSTM2D(4, (5, 5), padding="same", return_sequences=True, activation="relu")(inp)
    x = layers.BatchNormalization()(x)
    x = layers.ConvLSTM2D(4, (3, 3), padding="same", return_sequences=True, activation="relu")(x)
    x = layers.Conv3D(1, (3, 3, 3), activation="sigmoid", padding="same")(x)
    model.compile(loss=keras.losses.binary_crossentropy, optimizer=keras.optimizers.Adam())
    model.fit(x_train, y_train, batch_size=4, epochs=2)        # y: the frames shifted by one step

torch has no ConvLSTM, and the cells ports copy (one conv over ``cat([x, h])``, gates ``i, f, o, g``, ``tanh``)
are not Keras's layer. ``torch_impl.nn.ConvLSTM2D`` is: its gates ``i, f, c, o``, its recurrent conv, its
``activation="relu"``. ``data_format="channels_last"`` is chosen here so that the ConvLSTM layers take Keras's
``(N, T, H, W, C)`` frames as they are (``create_shifted_frames``' arrays need no transpose) and BatchNormalization
runs with Keras's ``axis=-1``; torch's ``Conv3d`` wants ``(N, C, T, H, W)``, so the model moves the channels
there and back around it (the default ``"channels_first"`` would take ``(N, T, C, H, W)`` instead; the numbers are
Keras's either way). ``load_keras_weights`` moves Keras's arrays (kernel, recurrent kernel, bias per ConvLSTM2D).
With Keras installed, the script trains both from the same weights and prints the two histories.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_impl import fit as tfit  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl.nn import load_keras_weights  # noqa: E402
from _keras_optional import keras_or_none  # noqa: E402  (examples/_keras_optional.py)

N, FRAMES, SIZE, FILTERS = 8, 5, 8, 4


class NextFrame(torch.nn.Module):
    """The Keras model above on Keras's ``(N, T, H, W, 1)`` frames; returns the logits (``fit`` applies the
    sigmoid)."""

    def __init__(self):
        super().__init__()
        kw = dict(padding="same", return_sequences=True, activation="relu", data_format="channels_last")
        self.lstm1 = tnn.ConvLSTM2D(1, FILTERS, (5, 5), **kw)
        self.bn = tnn.BatchNormalization(FILTERS, axis=-1)
        self.lstm2 = tnn.ConvLSTM2D(FILTERS, FILTERS, (3, 3), **kw)
        self.conv3d = torch.nn.Conv3d(FILTERS, 1, 3, padding=1)  # Keras's Conv3D "same", odd kernel

    def forward(self, frames):
        h = self.lstm2(self.bn(self.lstm1(frames)))  # (N, T, H, W, filters)
        return self.conv3d(h.permute(0, 4, 1, 2, 3)).permute(0, 2, 3, 4, 1)  # (N, T, H, W, 1)


def shifted_frames(seed=0):
    """Moving squares in ``[0, 1]``, ``(N, T, H, W, 1)``; ``(x, y)`` as keras.io's ``create_shifted_frames``."""
    rng = np.random.default_rng(seed)
    movies = 0.05 * rng.random((N, FRAMES, SIZE, SIZE))
    for i in range(N):
        r, c = rng.integers(1, SIZE - 3, 2)
        dr, dc = rng.choice([-1, 1], 2)
        for t in range(FRAMES):
            rr, cc = int(np.clip(r + dr * t, 0, SIZE - 2)), int(np.clip(c + dc * t, 0, SIZE - 2))
            movies[i, t, rr:rr + 2, cc:cc + 2] = 1.0
    movies = movies[..., None]
    return movies[:, :-1], movies[:, 1:]


def main():
    torch.set_default_dtype(torch.float64)
    x, y = shifted_frames()
    net = NextFrame()
    keras = keras_or_none()
    keras_history = None
    if keras is not None:
        keras.config.set_floatx("float64")
        keras.utils.set_random_seed(0)
        layers = keras.layers
        inp = layers.Input(shape=(None, SIZE, SIZE, 1))
        h = layers.ConvLSTM2D(FILTERS, (5, 5), padding="same", return_sequences=True, activation="relu")(inp)
        h = layers.BatchNormalization()(h)
        h = layers.ConvLSTM2D(FILTERS, (3, 3), padding="same", return_sequences=True, activation="relu")(h)
        model = keras.Model(inp, layers.Conv3D(1, (3, 3, 3), activation="sigmoid", padding="same")(h))
        load_keras_weights(net, model.get_weights())
        # run_eagerly: the same numbers, without the seconds TensorFlow takes to trace the two ConvLSTM loops
        model.compile(loss=keras.losses.binary_crossentropy, optimizer=keras.optimizers.Adam(), run_eagerly=True)
        keras_history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history
    history = tfit.fit(net, x, y, loss="binary_crossentropy", optimizer=optim.Adam(net.parameters()),
                       output_activation="sigmoid", batch_size=4, epochs=2, shuffle=False, verbose=0).history
    for key, values in history.items():
        line = f"{key:5s} torch_impl {np.round(values, 8).tolist()}"
        if keras_history is not None:
            err = np.max(np.abs(np.array(values) - keras_history[key]) / np.abs(keras_history[key]))
            line += f"  Keras {np.round(keras_history[key], 8).tolist()}  (max rel {err:.1e})"
            assert err < 1e-12
        print(line)


if __name__ == "__main__":
    main()

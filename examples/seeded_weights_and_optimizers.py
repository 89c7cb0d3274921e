"""Start a PyTorch port from Keras's own initial weights (no export), and train it with Keras's Adagrad / Nadam.

Keras:
    keras.utils.set_random_seed(21)
    model = keras.Sequential([keras.Input((5,)), layers.Dense(16, activation="relu", kernel_initializer="he_uniform"),
                              layers.Dropout(0.2), layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adagrad(0.05), loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=32, epochs=5, shuffle=False)

PyTorch with torch_impl: ``initialize`` gives the layer Keras's ``kernel_initializer``; ``keras_init_(model,
seed=21)`` replays the seeds Keras draws as it builds the layers (the Dropout's too, so its masks match);
``optim.Adagrad`` takes Keras's step. ``torch.optim.Adagrad`` at the same rate starts its accumulator at 0
instead of 0.1 and trains another model. With Keras installed the script trains Keras's model too.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_impl import fit, optim  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl.initializers import initialize  # noqa: E402
from _keras_optional import keras_or_none  # noqa: E402  (examples/_keras_optional.py)

torch.set_default_dtype(torch.float64)  # Keras's floatx for this run: float64
rng = np.random.default_rng(0)
x = rng.normal(size=(160, 5))
y = np.argmax(x[:, :3] + 0.5 * rng.normal(size=(160, 3)), 1)


def port() -> torch.nn.Sequential:
    model = torch.nn.Sequential(initialize(torch.nn.Linear(5, 16), kernel_initializer="he_uniform"), torch.nn.ReLU(),
                                tnn.Dropout(0.2), torch.nn.Linear(16, 3))
    return tnn.keras_init_(model, seed=21)


runs = {}
for name, make in (("optim.Adagrad (Keras's)", lambda ps: optim.Adagrad(ps, learning_rate=0.05)),
                   ("torch.optim.Adagrad", lambda ps: torch.optim.Adagrad(ps, lr=0.05))):
    model = port()
    runs[name] = fit.fit(model, x, y, loss="sparse_categorical_crossentropy", output_activation="softmax",
                         optimizer=make(model.parameters()), batch_size=32, epochs=5, shuffle=False, verbose=0,
                         metrics=()).history["loss"]
    print(f"{name:26s} loss {np.round(runs[name], 5).tolist()}")

keras = keras_or_none()  # Keras on TensorFlow, if installed
if keras is not None:
    from keras import layers

    keras.config.set_floatx("float64")
    keras.utils.set_random_seed(21)
    kmodel = keras.Sequential([keras.Input((5,)), layers.Dense(16, activation="relu", kernel_initializer="he_uniform"),
                               layers.Dropout(0.2), layers.Dense(3, activation="softmax")])
    start = np.abs(kmodel.get_weights()[0] - tnn.keras_weights(port())[0]).max()
    kmodel.compile(optimizer=keras.optimizers.Adagrad(0.05), loss="sparse_categorical_crossentropy")
    kh = kmodel.fit(x, y, batch_size=32, epochs=5, shuffle=False, verbose=0).history["loss"]
    print(f"{'Keras':26s} loss {np.round(kh, 5).tolist()}")
    gap = {k: float(np.max(np.abs(np.subtract(v, kh)) / np.abs(kh))) for k, v in runs.items()}
    print(f"initial kernels: largest difference {start:.1e}; relative difference of the loss from Keras's: "
          + ", ".join(f"{k} {v:.1e}" for k, v in gap.items()))
    assert start == 0.0 and gap["optim.Adagrad (Keras's)"] < 1e-8 < 1e-3 < gap["torch.optim.Adagrad"]

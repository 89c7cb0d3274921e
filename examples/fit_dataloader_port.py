"""Port a Keras script that trains on a generator and validates on a ``PyDataset`` to ``torch.utils.data.DataLoader``s
and get Keras's history.

Keras:
    def batches(x, y, batch_size):                      # the Keras-2 idiom: an endless generator
        while True:
            for i in range(0, len(x), batch_size):
                yield x[i:i + batch_size], y[i:i + batch_size]

    class ValBatches(keras.utils.PyDataset): ...        # __len__, __getitem__(i) -> (x_i, y_i)

    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((8,)), layers.Dense(16, activation="relu"),
                              layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(batches(x, y, 32), steps_per_epoch=ceil(len(x) / 32), epochs=6, validation_data=ValBatches(...))

The port: ``torch_impl.fit.fit`` takes a DataLoader (or the generator itself, or the PyDataset class without Keras) as
Keras's ``fit`` takes its inputs. A ``DataLoader(shuffle=False)`` pass is one sweep of the generator, so one epoch
of ``steps_per_epoch = ceil(N / 32)`` batches is one pass of the loader, and the validation loader gives the
PyDataset's batches. ``keras_init_(net, seed=7)`` gives the weights Keras's layers draw after
``set_random_seed(7)``. With Keras installed the script trains the Keras model too and compares the histories.
"""

import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_impl import fit  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from _keras_optional import keras_or_none  # noqa: E402  (examples/_keras_optional.py)

rng = np.random.default_rng(3)
x = rng.normal(size=(200, 8)).astype("float32")
y = (x[:, 0] + x[:, 1] > 0).astype("int64") + (x[:, 2] > 1)  # 3 classes
x_val, y_val = x[150:], y[150:]
x, y = x[:150], y[:150]


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden, self.out = torch.nn.Linear(8, 16), torch.nn.Linear(16, 3)
        self.output_activation = "softmax"  # Dense(3, activation="softmax"): fit trains on the logits

    def forward(self, t):
        return self.out(torch.relu(self.hidden(t)))


net = tnn.keras_init_(Net(), seed=7)
train = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)), batch_size=32)
val = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x_val), torch.tensor(y_val)),
                                  batch_size=20)
history = fit.fit(net, train, loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"],
                  epochs=6, validation_data=val, shuffle=False, verbose=0).history
print("torch_impl:", {k: np.round(v, 6).tolist() for k, v in history.items()})
print("predict on the validation loader:", fit.predict(net, val).shape)

keras = keras_or_none()  # Keras on TensorFlow, if installed
if keras is not None:
    from keras import layers

    def batches(x, y, batch_size):
        while True:
            for i in range(0, len(x), batch_size):
                yield x[i:i + batch_size], y[i:i + batch_size]

    class ValBatches(keras.utils.PyDataset):
        def __init__(self, x, y, batch_size):
            super().__init__()
            self.x, self.y, self.batch_size = x, y, batch_size

        def __len__(self):
            return math.ceil(len(self.x) / self.batch_size)

        def __getitem__(self, i):
            sl = slice(i * self.batch_size, (i + 1) * self.batch_size)
            return self.x[sl], self.y[sl]

    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((8,)), layers.Dense(16, activation="relu"),
                              layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    kh = model.fit(batches(x, y, 32), steps_per_epoch=math.ceil(len(x) / 32), epochs=6, shuffle=False,
                   validation_data=ValBatches(x_val, y_val, 20), verbose=0).history
    print("Keras:     ", {k: np.round(v, 6).tolist() for k, v in kh.items()})
    gap = max(float(np.max(np.abs(np.subtract(history[k], kh[k])) / np.maximum(np.abs(kh[k]), 1e-12)))
              for k in kh)
    print(f"largest relative difference over {sorted(kh)}: {gap:.1e} (float32)")
    assert gap < 1e-5

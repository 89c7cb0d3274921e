"""Port a Keras model with Dropout and a MaxNorm constraint to PyTorch, and train it step for step like Keras.

Keras (the Dropout + max-norm recipe of Keras tutorials):
    model = keras.Sequential([keras.Input((8,)),
                              layers.Dense(64, activation="relu", kernel_constraint=keras.constraints.MaxNorm(3)),
                              layers.Dropout(0.5, seed=21),
                              layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.5, momentum=0.9), loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=32, epochs=6, validation_split=0.25)

PyTorch with torch_impl: ``torch_impl.nn.Dropout(0.5, seed=21)`` draws Keras's masks for the same seed, and
``constraints.constrain`` gives the kernel Keras's MaxNorm, applied by torch_impl's SGD after each step.
``torch.nn.Dropout`` draws other masks, so that port trains on other numbers. With Keras installed the script
trains all three from the same weights.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_impl import constraints, fit, optim  # noqa: E402
from torch_impl.nn import Dropout, keras_init_  # noqa: E402
from _keras_optional import keras_or_none  # noqa: E402  (examples/_keras_optional.py)

torch.set_default_dtype(torch.float64)  # Keras's floatx for this run: float64
rng = np.random.default_rng(3)
x = rng.normal(size=(192, 8))
y = np.argmax(x[:, :3] + 0.6 * rng.normal(size=(192, 3)), 1)

torch.manual_seed(0)
start_layers = [torch.nn.Linear(8, 64), torch.nn.Linear(64, 3)]
keras_init_(torch.nn.Sequential(*start_layers))  # glorot_uniform kernels, zero biases
start = [p.detach().numpy().T.copy() if p.dim() == 2 else p.detach().numpy().copy()
         for layer in start_layers for p in layer.parameters()]


def ported(dropout: torch.nn.Module) -> dict:
    hidden, out = torch.nn.Linear(8, 64), torch.nn.Linear(64, 3)
    with torch.no_grad():
        for p, w in zip(list(hidden.parameters()) + list(out.parameters()), start):
            p.copy_(torch.as_tensor(w.T if w.ndim == 2 else w))
    constraints.constrain(hidden, kernel_constraint=constraints.MaxNorm(3))
    model = torch.nn.Sequential(hidden, torch.nn.ReLU(), dropout, out)
    return fit.fit(model, x, y, loss="sparse_categorical_crossentropy", output_activation="softmax",
                   optimizer=optim.SGD(model.parameters(), learning_rate=0.5, momentum=0.9), batch_size=32,
                   epochs=6, validation_split=0.25, shuffle=False, verbose=0, metrics=()).history


ours = ported(Dropout(0.5, seed=21))
torch.manual_seed(21)
plain = ported(torch.nn.Dropout(0.5))
print(f"torch_impl Dropout + MaxNorm: loss {np.round(ours['loss'], 5).tolist()}")
print(f"torch.nn.Dropout + MaxNorm:   loss {np.round(plain['loss'], 5).tolist()}")

keras = keras_or_none()  # Keras on TensorFlow, if installed
if keras is not None:
    from keras import layers

    keras.config.set_floatx("float64")
    kmodel = keras.Sequential([keras.Input((8,)),
                               layers.Dense(64, activation="relu", kernel_constraint=keras.constraints.MaxNorm(3)),
                               layers.Dropout(0.5, seed=21),
                               layers.Dense(3, activation="softmax")])
    kmodel.set_weights(start)
    kmodel.compile(optimizer=keras.optimizers.SGD(0.5, momentum=0.9), loss="sparse_categorical_crossentropy")
    kh = kmodel.fit(x, y, batch_size=32, epochs=6, validation_split=0.25, shuffle=False, verbose=0).history
    print(f"Keras:                        loss {np.round(kh['loss'], 5).tolist()}")
    gap = max(float(np.max(np.abs(np.subtract(ours[k], kh[k])) / np.abs(kh[k]))) for k in kh)
    plain_gap = float(np.max(np.abs(np.subtract(plain["loss"], kh["loss"])) / np.abs(kh["loss"])))
    print(f"largest relative difference from Keras: torch_impl {gap:.1e}, torch.nn.Dropout {plain_gap:.1e}")
    assert gap < 1e-8 and plain_gap > 1e-3

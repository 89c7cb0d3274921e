"""Port a Keras model with kernel and bias regularizers to PyTorch, and see what torch's weight_decay does instead.

Keras:
    model = keras.Sequential([keras.Input((6,)),
                              layers.Dense(16, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-2),
                                           bias_regularizer=keras.regularizers.L1(1e-3)),
                              layers.Dense(3, activation="softmax", kernel_regularizer=keras.regularizers.L2(1e-2))])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=32, epochs=6, validation_split=0.25)

PyTorch with torch_impl: the same penalties attached with ``regularizers.regularize``; ``fit`` adds them to the
loss as Keras does. The common hand port, ``torch.optim.Adam(weight_decay=2 * l2)``, is another update and
logs the loss without the penalty. With Keras installed the script trains all three from the same weights.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_impl import fit, optim  # noqa: E402
from torch_impl import regularizers as R  # noqa: E402
from torch_impl.nn import keras_init_  # noqa: E402
from _keras_optional import keras_or_none  # noqa: E402  (examples/_keras_optional.py)

torch.set_default_dtype(torch.float64)  # Keras's floatx for this run: float64
rng = np.random.default_rng(0)
x = rng.normal(size=(200, 6))
y = np.argmax(x[:, :3] + 0.7 * rng.normal(size=(200, 3)), 1)


def torch_model(with_penalties: bool) -> torch.nn.Sequential:
    torch.manual_seed(0)
    hidden, out = torch.nn.Linear(6, 16), torch.nn.Linear(16, 3)
    keras_init_(torch.nn.Sequential(hidden, out))  # glorot_uniform kernels, zero biases
    if with_penalties:
        R.regularize(hidden, kernel_regularizer=R.L2(1e-2), bias_regularizer=R.L1(1e-3))
        R.regularize(out, kernel_regularizer=R.L2(1e-2))
    return torch.nn.Sequential(hidden, torch.nn.ReLU(), out)


model = torch_model(True)
start = [p.detach().numpy().T.copy() if p.dim() == 2 else p.detach().numpy().copy() for p in model.parameters()]
ported = fit.fit(model, x, y, loss="sparse_categorical_crossentropy", output_activation="softmax",
                 optimizer=optim.Adam(model.parameters(), learning_rate=0.02), batch_size=32, epochs=6,
                 validation_split=0.25, shuffle=False, verbose=0, metrics=()).history
trap_model = torch_model(False)
trap = fit.fit(trap_model, x, y, loss="sparse_categorical_crossentropy", output_activation="softmax",
               optimizer=torch.optim.Adam(trap_model.parameters(), lr=0.02, eps=1e-7, weight_decay=2e-2),
               batch_size=32, epochs=6, validation_split=0.25, shuffle=False, verbose=0, metrics=()).history
print(f"torch_impl regularizers:   loss {np.round(ported['loss'], 5).tolist()}")
print(f"torch Adam(weight_decay):  loss {np.round(trap['loss'], 5).tolist()}")

keras = keras_or_none()  # Keras on TensorFlow, if installed
if keras is not None:
    from keras import layers

    keras.config.set_floatx("float64")
    kmodel = keras.Sequential([keras.Input((6,)),
                               layers.Dense(16, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-2),
                                            bias_regularizer=keras.regularizers.L1(1e-3)),
                               layers.Dense(3, activation="softmax", kernel_regularizer=keras.regularizers.L2(1e-2))])
    kmodel.set_weights(start)
    kmodel.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy")
    kh = kmodel.fit(x, y, batch_size=32, epochs=6, validation_split=0.25, shuffle=False, verbose=0).history
    print(f"Keras:                     loss {np.round(kh['loss'], 5).tolist()}")
    gap = max(float(np.max(np.abs(np.subtract(ported[k], kh[k])) / np.abs(kh[k]))) for k in kh)
    trap_gap = float(np.max(np.abs(np.subtract(trap["loss"], kh["loss"])) / np.abs(kh["loss"])))
    print(f"largest relative difference from Keras: torch_impl {gap:.1e}, weight_decay port {trap_gap:.1e}")
    assert gap < 1e-8 and trap_gap > 1e-2

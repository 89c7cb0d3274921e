"""Port a Keras script's EarlyStopping and ReduceLROnPlateau to PyTorch and stop at the same epoch.

Keras:
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"])
    model.fit(x, y, batch_size=16, epochs=40, validation_split=0.25, callbacks=[
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=4, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=2)])

PyTorch with torch_impl: the same callbacks from ``torch_impl.callbacks`` in ``torch_impl.fit``. With Keras
installed the script trains both from the same weights and prints the epoch each stopped at, the
learning rates, and the largest difference over the histories and the restored weights.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_impl import callbacks, fit, losses, optim  # noqa: E402
from torch_impl.nn import keras_init_  # noqa: E402
from _keras_optional import keras_or_none  # noqa: E402  (examples/_keras_optional.py)

torch.set_default_dtype(torch.float64)  # Keras's floatx for this run: float64
rng = np.random.default_rng(0)
x = rng.normal(size=(80, 5))
y = ((x[:, 0] + 1.5 * rng.normal(size=80)) > 0).astype("int64")  # noisy labels: the net overfits

net = torch.nn.Sequential(torch.nn.Linear(5, 64), torch.nn.ReLU(), torch.nn.Linear(64, 2))
keras_init_(net)  # glorot_uniform kernels, zero biases
start = [p.detach().numpy().T.copy() if p.dim() == 2 else p.detach().numpy().copy() for p in net.parameters()]
stop = callbacks.EarlyStopping(monitor="val_loss", patience=4, restore_best_weights=True)
history = fit.fit(net, x, y, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer=optim.Adam(net.parameters(), learning_rate=0.05), batch_size=16, epochs=40,
                  validation_split=0.25, shuffle=False, verbose=0,
                  callbacks=[stop, callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=2)],
                  metrics=["accuracy"])
print(f"torch_impl: stopped after epoch {stop.stopped_epoch + 1}, weights of epoch {stop.best_epoch + 1} restored; "
      f"learning rates {np.round(history.history['learning_rate'], 6).tolist()}")

keras = keras_or_none()  # Keras on TensorFlow, if installed
if keras is not None:
    from keras import layers

    keras.config.set_floatx("float64")
    model = keras.Sequential([keras.Input((5,)), layers.Dense(64, activation="relu"), layers.Dense(2)])
    model.set_weights(start)
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    kstop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=4, restore_best_weights=True)
    kh = model.fit(x, y, batch_size=16, epochs=40, validation_split=0.25, shuffle=False, verbose=0,
                   callbacks=[kstop, keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.3,
                                                                       patience=2)]).history
    print(f"Keras:      stopped after epoch {kstop.stopped_epoch + 1}, weights of epoch {kstop.best_epoch + 1} "
          f"restored; learning rates {np.round(kh['learning_rate'], 6).tolist()}")
    gap = max(float(np.max(np.abs(np.subtract(history.history[k], kh[k])) / np.abs(kh[k]))) for k in kh)
    ours = [p.detach().numpy().T if p.dim() == 2 else p.detach().numpy() for p in net.parameters()]
    wgap = max(float(np.max(np.abs(a - b))) for a, b in zip(ours, model.get_weights()))
    print(f"largest relative difference over the histories: {gap:.1e}; restored weights: {wgap:.1e}")
    assert sorted(kh) == sorted(history.history) and gap < 1e-8 and wgap < 1e-8

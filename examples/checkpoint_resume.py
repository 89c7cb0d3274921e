"""Resume training from a ``ModelCheckpoint`` file as Keras's ``load_model`` + ``fit(initial_epoch=k)`` does.

Keras:
    model.fit(x, y, epochs=2, callbacks=[keras.callbacks.ModelCheckpoint("ckpt.keras")])  # ... interrupted
    model = keras.models.load_model("ckpt.keras")          # the weights and Adam's iterations and moments
    model.fit(x, y, epochs=4, initial_epoch=2)              # epochs 3 and 4: the uninterrupted run's

torch_impl's ``ModelCheckpoint`` writes the whole module (``torch.save(model)``, a ``.pt`` name) with the
optimizer's state beside it, as Keras's ``.keras`` file: the loaded module's ``optimizer_state_dict``. A new
optimizer of the same kind takes it back with ``load_state_dict`` (``torch_impl.optim`` keeps Keras's
``iterations`` and its rate), and ``fit(..., initial_epoch=2)`` goes on: the result equals 4 uninterrupted epochs.
A new Adam (its moments and step count at 0) is not that run: the script prints both differences, and with Keras
installed Keras's own ``.keras`` resume beside them.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tempfile  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_impl import fit as tfit  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl.callbacks import ModelCheckpoint  # noqa: E402
from _keras_optional import keras_or_none  # noqa: E402  (examples/_keras_optional.py)


def make_net():
    """Keras's ``Dense(16, relu)`` -> ``Dense(1, sigmoid)`` (the sigmoid applied by ``fit``)."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))


def train(net, x, y, epochs, initial_epoch=0, opt=None, callbacks=()):
    opt = opt or optim.Adam(net.parameters(), learning_rate=0.01)
    return tfit.fit(net, x, y, loss="binary_crossentropy", optimizer=opt, output_activation="sigmoid",
                    metrics=["accuracy"], batch_size=16, epochs=epochs, initial_epoch=initial_epoch,
                    shuffle=False, verbose=0, callbacks=list(callbacks)).history


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b)) / np.abs(np.asarray(b))))


def main():
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4))
    y = (x[:, 0] - x[:, 1] + 0.5 * rng.normal(size=64) > 0).astype(np.float64)
    w0 = [p.detach().numpy().T.copy() for p in make_net().parameters()]  # Keras's (in, out) kernels and biases
    uninterrupted = train(make_net(), x, y, epochs=4)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ckpt.pt")
        first = train(make_net(), x, y, epochs=2, callbacks=[ModelCheckpoint(path, monitor="loss")])
        net = torch.load(path, weights_only=False)  # the module; the optimizer's state on it
        opt = optim.Adam(net.parameters(), learning_rate=0.01)
        opt.load_state_dict(net.optimizer_state_dict)  # Adam's iterations and moments, as load_model's
        resumed = train(net, x, y, epochs=4, initial_epoch=2, opt=opt)
        fresh = train(torch.load(path, weights_only=False), x, y, epochs=4, initial_epoch=2)  # a new Adam
    print(f"torch_impl 4 epochs   loss {np.round(uninterrupted['loss'], 8).tolist()}")
    print(f"torch_impl 2 + resume loss {np.round(first['loss'] + resumed['loss'], 8).tolist()}")
    gap = max(rel(first[k] + resumed[k], uninterrupted[k]) for k in uninterrupted)
    print(f"  resumed vs uninterrupted: max rel {gap:.1e}; with a new Adam instead: "
          f"{rel(fresh['loss'], uninterrupted['loss'][2:]):.1e}")
    assert gap < 1e-12
    keras = keras_or_none()
    if keras is None:
        return
    keras.config.set_floatx("float64")

    def keras_model():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(1, activation="sigmoid")])
        model.set_weights(w0)
        model.compile(keras.optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"], run_eagerly=True)
        return model

    k_uninterrupted = keras_model().fit(x, y, batch_size=16, epochs=4, shuffle=False, verbose=0).history
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ckpt.keras")
        k_first = keras_model().fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0,
                                    callbacks=[keras.callbacks.ModelCheckpoint(path, monitor="loss")]).history
        k_resumed = keras.models.load_model(path).fit(x, y, batch_size=16, epochs=4, initial_epoch=2,
                                                      shuffle=False, verbose=0).history
    k_gap = max(rel(k_first[k] + k_resumed[k], k_uninterrupted[k]) for k in k_uninterrupted)
    port = max(rel(first[k] + resumed[k], k_first[k] + k_resumed[k]) for k in uninterrupted)
    print(f"Keras      2 + resume loss {np.round(k_first['loss'] + k_resumed['loss'], 8).tolist()}")
    print(f"  Keras's resumed vs uninterrupted: max rel {k_gap:.1e}; torch_impl's resumed run vs Keras's: "
          f"max rel {port:.1e}")
    assert k_gap < 1e-12 and port < 1e-12


if __name__ == "__main__":
    main()

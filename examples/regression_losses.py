"""Port a Keras regression script (``loss="huber"``, ``metrics=["mae"]``, targets of shape ``(N,)``) to PyTorch.

Keras:
    model = keras.Sequential([keras.Input((5,)), layers.Dense(16, activation="relu"), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="huber", metrics=["mae"])
    model.fit(x, y, batch_size=16, epochs=8, shuffle=False)       # y.shape == (N,)

PyTorch with torch_impl: ``fit(loss="huber", metrics=["mae"])`` (or ``losses.Huber()`` in your own loop) aligns
the ``(N, 1)`` output with the ``(N,)`` targets as Keras does. The usual hand port, ``torch.nn.HuberLoss()(out,
y)``, broadcasts them to ``(N, N)`` (torch only warns) and fits every sample to the batch's mean target. The
same trap waits in ``nn.MSELoss`` and ``nn.L1Loss``; ``nn.KLDivLoss`` takes log-probabilities and its default
``"mean"`` divides by the number of classes too. With Keras installed the script trains Keras's model as well.
"""

import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_impl import fit, losses, optim  # noqa: E402
from torch_impl.nn import keras_init_  # noqa: E402
from _keras_optional import keras_or_none  # noqa: E402  (examples/_keras_optional.py)

torch.set_default_dtype(torch.float64)  # Keras's floatx for this run: float64
rng = np.random.default_rng(0)
x = rng.normal(size=(240, 5))
y = x @ rng.normal(size=5) + np.sin(2 * x[:, 0]) + 0.3 * rng.normal(size=240)  # shape (240,), as read from a table


def torch_model() -> torch.nn.Sequential:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    keras_init_(model)  # glorot_uniform kernels, zero biases
    return model


model = torch_model()
start = [p.detach().numpy().T.copy() if p.dim() == 2 else p.detach().numpy().copy() for p in model.parameters()]
ported = fit.fit(model, x, y, loss="huber", metrics=["mae"], optimizer=optim.Adam(model.parameters(), 0.01),
                 batch_size=16, epochs=8, shuffle=False, verbose=0).history

# the hand port: a torch loop with nn.HuberLoss on the (N, 1) output and (N,) targets
trap = torch_model()
opt = optim.Adam(trap.parameters(), 0.01)
xt, yt = torch.from_numpy(x), torch.from_numpy(y)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "Using a target size that is different to the input size"
    for epoch in range(8):
        for i in range(0, len(x), 16):
            opt.zero_grad()
            torch.nn.HuberLoss()(trap(xt[i:i + 16]), yt[i:i + 16]).backward()
            opt.step()
huber = losses.Huber()
with torch.no_grad():
    final = {"torch_impl": float(huber(yt, model(xt))), "nn.HuberLoss port": float(huber(yt, trap(xt)))}
print(f"torch_impl fit:  loss {np.round(ported['loss'], 5).tolist()}")
print(f"                 mae  {np.round(ported['mae'], 5).tolist()}")
for name, value in final.items():
    print(f"Huber loss of the trained model on all data, {name}: {value:.5f}")
print(f"target std {y.std():.3f}: the (N, N) port learns little more than the mean")

p = torch.tensor([[0.1, 0.6, 0.3]])
q = torch.tensor([[0.2, 0.5, 0.3]])
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # torch's note that "mean" divides by the classes too
    torch_kl = float(torch.nn.KLDivLoss()(q.log(), p))
print(f"KL(p || q): losses.KLDivergence {float(losses.KLDivergence()(p, q)):.6f}, "
      f"nn.KLDivLoss() on log q {torch_kl:.6f} (divided by 3 classes)")

keras = keras_or_none()  # Keras on TensorFlow, if installed
if keras is not None:
    from keras import layers

    keras.config.set_floatx("float64")
    kmodel = keras.Sequential([keras.Input((5,)), layers.Dense(16, activation="relu"), layers.Dense(1)])
    kmodel.set_weights(start)
    kmodel.compile(optimizer=keras.optimizers.Adam(0.01), loss="huber", metrics=["mae"])
    kh = kmodel.fit(x, y, batch_size=16, epochs=8, shuffle=False, verbose=0).history
    ke = kmodel.evaluate(x, y, verbose=0)[0]
    print(f"Keras:           loss {np.round(kh['loss'], 5).tolist()}")
    gap = max(float(np.max(np.abs(np.subtract(ported[k], kh[k])) / np.abs(kh[k]))) for k in kh)
    print(f"Keras evaluate: {ke:.5f}; largest relative difference of the history from Keras: {gap:.1e}")
    assert gap < 1e-8 and abs(final["torch_impl"] - ke) < 1e-8 * ke
    assert final["nn.HuberLoss port"] > 2 * ke

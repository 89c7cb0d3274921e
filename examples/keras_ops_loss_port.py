"""Port a Keras 3 custom loss written with ``keras.ops`` by changing its import only.

Keras 3 (a focal loss with a GELU-smoothed margin term, as a Keras 3 user writes it):
    from keras import ops

    def focal_margin_loss(y_true, y_pred, gamma=2.0, alpha=0.25):
        bce = ops.binary_crossentropy(y_true, y_pred)
        p_t = ops.where(ops.equal(y_true, 1), y_pred, 1 - y_pred)
        alpha_t = ops.where(ops.equal(y_true, 1), alpha, 1 - alpha)
        focal = ops.mean(alpha_t * ops.power(1.0 - p_t, gamma) * bce, axis=-1)
        margin = ops.mean(ops.gelu(ops.maximum(0.5 - p_t, 0.0)), axis=-1)
        spread = ops.std(y_pred, axis=-1)
        return focal + margin + 0.1 * spread

The usual torch port swaps each ``ops.x`` for the torch function of that name: ``F.binary_cross_entropy`` (its log
is capped at -100, Keras clips the probability to [1e-7, 1 - 1e-7]: a sure wrong pixel costs 100 instead of
16.1), ``F.gelu`` (exact; ``ops.gelu`` is the tanh approximation), ``torch.std`` (divides by N - 1, ``ops.std`` by
N), ``torch.maximum`` (halves the gradient of a tie, ``ops.maximum`` gives it to the first argument). On the batch
below the naive port gives 1.155 where Keras gives 0.499. ``from torch_impl import keras_ops as ops`` runs
the same source with Keras's numbers (0 relative error). With Keras installed the script computes the Keras loss
and gradient too and trains three Adam steps in both frameworks (``torch_impl.fit`` attaches the logits of its
sigmoid output, as Keras's sigmoid does, so ``ops.binary_crossentropy`` of the model's output uses them in both).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import types  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from torch_impl import fit  # noqa: E402
from torch_impl import keras_ops  # noqa: E402
from torch_impl.nn import keras_init_  # noqa: E402
from _keras_optional import keras_or_none  # noqa: E402  (examples/_keras_optional.py)


def make_focal_margin_loss(ops):
    """The Keras source above, with ``ops`` a parameter: the only thing a port changes."""

    def focal_margin_loss(y_true, y_pred, gamma=2.0, alpha=0.25):
        bce = ops.binary_crossentropy(y_true, y_pred)
        p_t = ops.where(ops.equal(y_true, 1), y_pred, 1 - y_pred)
        alpha_t = ops.where(ops.equal(y_true, 1), alpha, 1 - alpha)
        focal = ops.mean(alpha_t * ops.power(1.0 - p_t, gamma) * bce, axis=-1)
        margin = ops.mean(ops.gelu(ops.maximum(0.5 - p_t, 0.0)), axis=-1)
        spread = ops.std(y_pred, axis=-1)
        return focal + margin + 0.1 * spread

    return focal_margin_loss


def _reduce(f):
    return lambda x, axis=None: f(x) if axis is None else f(x, axis)


# the usual hand port: ops.x -> torch.x
naive_ops = types.SimpleNamespace(
    binary_crossentropy=lambda y, p: F.binary_cross_entropy(p, y, reduction="none"),
    where=torch.where, equal=torch.eq, power=torch.pow, gelu=F.gelu,
    maximum=lambda x, y: torch.maximum(x, torch.as_tensor(y, dtype=x.dtype)),
    mean=_reduce(torch.mean), std=_reduce(torch.std),
)

torch.set_default_dtype(torch.float64)  # Keras's floatx for this run: float64
rng = np.random.default_rng(0)
y = (rng.uniform(size=(8, 16)) < 0.3).astype("float64")  # 8 masks of 16 pixels
p = rng.uniform(0.05, 0.95, size=(8, 16))
p[0, :4] = [1.0, 0.0, 1.0, 0.0]  # saturated pixels (a sigmoid output rounds to exactly 0 or 1)
y[0, :4] = [1.0, 0.0, 0.0, 1.0]  # two right, two sure and wrong
p[1, :2] = [0.5, 0.5]  # p_t = 0.5: the margin term's maximum ties


def value_and_grad(ops):
    pt = torch.tensor(p, requires_grad=True)
    loss = make_focal_margin_loss(ops)(torch.tensor(y), pt).mean()
    loss.backward()
    return loss.item(), pt.grad.numpy()


ours, ours_grad = value_and_grad(keras_ops)
naive, naive_grad = value_and_grad(naive_ops)
print(f"loss: keras_ops port {ours:.10f}, naive torch port {naive:.10f}")
print(f"gradient at the tie p_t = 0.5: keras_ops {ours_grad[1, :2]}, naive {naive_grad[1, :2]}")

keras = keras_or_none()  # Keras on TensorFlow, if installed
if keras is not None:
    import tensorflow as tf

    keras.config.set_floatx("float64")
    ops = keras.ops  # from keras import ops
    pv = tf.Variable(p)
    with tf.GradientTape() as tape:
        k_loss = ops.mean(make_focal_margin_loss(ops)(tf.constant(y), pv))
    k_grad = tape.gradient(k_loss, pv).numpy()
    k_loss = float(k_loss)
    print(f"Keras: {k_loss:.10f}")
    rows = [("keras_ops port", ours, ours_grad), ("naive torch port", naive, naive_grad)]
    for name, v, g in rows:
        print(f"  {name:20s} loss rel. error {abs(v - k_loss) / abs(k_loss):.1e}, gradient max abs error "
              f"{np.max(np.abs(g - k_grad)):.1e}")
    assert abs(ours - k_loss) <= 1e-12 * abs(k_loss) and np.allclose(ours_grad, k_grad, rtol=1e-10, atol=1e-14)
    assert abs(naive - k_loss) > 0.1 * abs(k_loss)

    # three Adam steps, the same initial weights: Dense(8, relu) -> Dense(16, sigmoid) on 32 samples
    x = rng.normal(size=(32, 6))
    masks = (x @ rng.normal(size=(6, 16)) > 0.5).astype("float64")
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(16, activation="sigmoid")])
    model.compile(optimizer="adam", loss=make_focal_margin_loss(ops))
    kh = model.fit(x, masks, batch_size=32, epochs=3, shuffle=False, verbose=0).history["loss"]
    net = keras_init_(torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 16)), seed=5)
    th = fit.fit(net, x, masks, loss=make_focal_margin_loss(keras_ops), optimizer="adam",
                 output_activation="sigmoid", batch_size=32, epochs=3, shuffle=False, verbose=0).history["loss"]
    gap = float(np.max(np.abs(np.subtract(th, kh)) / np.abs(kh)))
    print(f"three Adam steps: Keras {np.round(kh, 8).tolist()}, torch_impl {np.round(th, 8).tolist()}, "
          f"max rel {gap:.1e}")
    assert gap < 1e-8

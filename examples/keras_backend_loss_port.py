"""Port a Keras 2 custom loss written with ``K`` (the legacy backend) by changing its import only.

Keras (a focal + dice loss for segmentation, as pasted from Kaggle kernels):
    from tensorflow.keras import backend as K

    def focal_dice_loss(y_true, y_pred, gamma=2.0, alpha=0.25, smooth=1.0):
        bce = K.binary_crossentropy(y_true, y_pred)
        p_t = y_true * y_pred + (1 - y_true) * (1 - y_pred)
        alpha_t = y_true * alpha + (1 - y_true) * (1 - alpha)
        focal = K.mean(alpha_t * K.pow(1.0 - p_t, gamma) * bce, axis=-1)
        y_true_f, y_pred_f = K.flatten(y_true), K.flatten(y_pred)
        dice = (2.0 * K.sum(y_true_f * y_pred_f) + smooth) / (K.sum(y_true_f) + K.sum(y_pred_f) + smooth)
        return K.mean(focal) + 1 - dice

The usual torch port swaps each ``K.x`` for the torch function of that name: ``F.binary_cross_entropy`` for
``K.binary_crossentropy``. That is another loss: Keras's legacy BCE clips to ``[1e-7, 1 - 1e-7]`` and adds 1e-7
inside both logs (a sure wrong pixel costs 15.4, and the clip stops its gradient), torch's caps the log at -100
(it costs 100, with a gradient of 1/1e-12 clamped: 5.9e9 here). On the batch below the naive port's loss is 66 %
off. ``from torch_impl import keras_backend as K`` runs the same source with Keras's numbers (2.2e-16). With
Keras installed the script computes the Keras loss and gradient too and trains three Adam steps in both
frameworks.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import types  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from torch_impl import fit  # noqa: E402
from torch_impl import keras_backend  # noqa: E402
from torch_impl.nn import keras_init_  # noqa: E402
from _keras_optional import keras_or_none  # noqa: E402  (examples/_keras_optional.py)


def make_focal_dice_loss(K):
    """The Keras source above, with ``K`` a parameter: the only thing a port changes."""

    def focal_dice_loss(y_true, y_pred, gamma=2.0, alpha=0.25, smooth=1.0):
        bce = K.binary_crossentropy(y_true, y_pred)
        p_t = y_true * y_pred + (1 - y_true) * (1 - y_pred)
        alpha_t = y_true * alpha + (1 - y_true) * (1 - alpha)
        focal = K.mean(alpha_t * K.pow(1.0 - p_t, gamma) * bce, axis=-1)
        y_true_f, y_pred_f = K.flatten(y_true), K.flatten(y_pred)
        dice = (2.0 * K.sum(y_true_f * y_pred_f) + smooth) / (K.sum(y_true_f) + K.sum(y_pred_f) + smooth)
        return K.mean(focal) + 1 - dice

    return focal_dice_loss


# the usual hand port: K.x -> torch.x
naive_K = types.SimpleNamespace(
    binary_crossentropy=lambda y, p: F.binary_cross_entropy(p, y, reduction="none"),
    pow=torch.pow, flatten=torch.flatten,
    mean=lambda x, axis=None: x.mean() if axis is None else x.mean(axis),
    sum=lambda x, axis=None: x.sum() if axis is None else x.sum(axis),
)

torch.set_default_dtype(torch.float64)  # Keras's floatx for this run: float64
rng = np.random.default_rng(0)
y = (rng.uniform(size=(8, 16)) < 0.3).astype("float64")  # 8 masks of 16 pixels
p = rng.uniform(0.05, 0.95, size=(8, 16))
p[0, :4] = [1.0, 0.0, 1.0, 0.0]  # saturated pixels (a sigmoid output rounds to exactly 0 or 1)
y[0, :4] = [1.0, 0.0, 0.0, 1.0]  # two right, two sure and wrong


def value_and_grad(K):
    pt = torch.tensor(p, requires_grad=True)
    loss = make_focal_dice_loss(K)(torch.tensor(y), pt)
    loss.backward()
    return loss.item(), pt.grad.numpy()


ours, ours_grad = value_and_grad(keras_backend)
naive, naive_grad = value_and_grad(naive_K)
print(f"loss: keras_backend port {ours:.10f}, naive torch port {naive:.10f}")
print(f"gradient at the sure wrong pixels: keras_backend {ours_grad[0, 2:4]}, naive {naive_grad[0, 2:4]}")

keras = keras_or_none()  # Keras on TensorFlow, if installed
if keras is not None:
    import tensorflow as tf

    keras.config.set_floatx("float64")
    K = tf.keras.backend  # from tensorflow.keras import backend as K
    pv = tf.Variable(p)
    with tf.GradientTape() as tape:
        k_loss = make_focal_dice_loss(K)(tf.constant(y), pv)
    k_grad = tape.gradient(k_loss, pv).numpy()
    k_loss = float(k_loss)
    print(f"Keras: {k_loss:.10f}")
    fin = np.isfinite(naive_grad)
    rows = [("keras_backend port", ours, ours_grad), ("naive torch port", naive, naive_grad)]
    for name, v, g in rows:
        print(f"  {name:20s} loss rel. error {abs(v - k_loss) / abs(k_loss):.1e}, gradient max abs error "
              f"{np.max(np.abs(g - k_grad)):.1e}")
    assert abs(ours - k_loss) <= 1e-12 * abs(k_loss) and np.allclose(ours_grad, k_grad, rtol=1e-10, atol=1e-14)
    assert abs(naive - k_loss) > 0.1 and fin.all() and np.max(np.abs(naive_grad - k_grad)) > 1e6

    # three Adam steps, the same initial weights: Dense(8, relu) -> Dense(16, sigmoid) on 32 samples
    x = rng.normal(size=(32, 6))
    masks = (x @ rng.normal(size=(6, 16)) > 0.5).astype("float64")
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(16, activation="sigmoid")])
    model.compile(optimizer="adam", loss=make_focal_dice_loss(K))
    kh = model.fit(x, masks, batch_size=32, epochs=3, shuffle=False, verbose=0).history["loss"]
    net = keras_init_(torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 16)), seed=5)
    th = fit.fit(net, x, masks, loss=make_focal_dice_loss(keras_backend), optimizer="adam",
                 output_activation="sigmoid", batch_size=32, epochs=3, shuffle=False, verbose=0).history["loss"]
    gap = float(np.max(np.abs(np.subtract(th, kh)) / np.abs(kh)))
    print(f"three Adam steps: Keras {np.round(kh, 8).tolist()}, torch_impl {np.round(th, 8).tolist()}, "
          f"max rel {gap:.1e}")
    assert gap < 1e-8

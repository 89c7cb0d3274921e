"""Port a Keras segmentation script to PyTorch, in the torch layout, and get Keras's numbers.

Keras (channels-last):
    inputs = keras.Input((8, 8, 3))
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    model = keras.Model(inputs, layers.Conv2D(4, 1)(x))            # per-pixel logits (N, H, W, C)
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255),
                  metrics=["accuracy"])
    model.fit(x, y, sample_weight=pixel_weights, batch_size=8, epochs=3, validation_split=0.25)

PyTorch with torch_impl: a Conv2d model returning (N, C, H, W) logits, the loss with ``axis=1``
(void pixels 255 masked out of the mean, per-pixel weights of shape (N, H, W)); ``fit`` reads the
class axis of its accuracy from the loss. With Keras installed the script trains the Keras model from
the same weights and prints both histories (parity_tests/test_field_scripts_round2.py has the rest).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_impl import fit, losses, optim  # noqa: E402
from torch_impl.nn import keras_init_  # noqa: E402
from _keras_optional import keras_or_none  # noqa: E402  (examples/_keras_optional.py)

torch.set_default_dtype(torch.float64)  # Keras's floatx for this run: float64
rng = np.random.default_rng(0)
x = rng.normal(size=(24, 8, 8, 3))  # NHWC images, as the Keras script feeds them
y = np.argmax(x @ rng.normal(size=(3, 4)) + rng.normal(size=(24, 8, 8, 4)), -1)
y[rng.random(y.shape) < 0.15] = 255  # void pixels
pixel_weights = rng.uniform(0.2, 2.0, size=y.shape)


class SegNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.Conv2d(8, 4, 1)
        keras_init_(self)  # glorot_uniform kernels, zero biases

    def forward(self, images):  # NHWC in, (N, C, H, W) logits out
        return self.c2(torch.relu(self.c1(images.permute(0, 3, 1, 2))))


net = SegNet()
keras_start = [np.transpose(t.detach().numpy(), (2, 3, 1, 0)).copy() if t.dim() == 4 else t.detach().numpy().copy()
               for t in (net.c1.weight, net.c1.bias, net.c2.weight, net.c2.bias)]  # Keras's kernel layout
loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255, axis=1)
hist = fit.fit(net, x, y, loss=loss, optimizer=optim.Adam(net.parameters(), learning_rate=0.01),
               sample_weight=pixel_weights, batch_size=8, epochs=3, validation_split=0.25, shuffle=False, verbose=0,
               metrics=["accuracy"])
print("torch_impl:", {k: np.round(v, 6).tolist() for k, v in hist.history.items()})

keras = keras_or_none()  # Keras on TensorFlow, if installed
if keras is not None:
    from keras import layers

    keras.config.set_floatx("float64")
    inputs = keras.Input((8, 8, 3))
    h = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    model = keras.Model(inputs, layers.Conv2D(4, 1)(h))
    model.set_weights(keras_start)
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255),
                  metrics=["accuracy"])
    kh = model.fit(x, y, sample_weight=pixel_weights, batch_size=8, epochs=3, validation_split=0.25, shuffle=False,
                   verbose=0).history
    print("Keras:     ", {k: np.round(v, 6).tolist() for k, v in kh.items()})
    gap = max(float(np.max(np.abs(np.subtract(hist.history[k], kh[k])) / np.abs(kh[k]))) for k in kh)
    print(f"largest relative difference over every epoch and metric: {gap:.1e}")
    assert gap < 1e-8

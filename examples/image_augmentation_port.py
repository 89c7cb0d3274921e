"""Port a Keras image classifier with data augmentation, and get Keras's augmented images.

Keras:
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((16, 16, 3)),
                              layers.RandomFlip("horizontal"), layers.RandomRotation(0.1),
                              layers.RandomZoom(0.2), layers.RandomTranslation(0.1, 0.1),
                              layers.RandomContrast(0.3), layers.RandomBrightness(0.2),
                              layers.Rescaling(1 / 255), layers.Conv2D(8, 3, activation="relu"),
                              layers.GlobalAveragePooling2D(), layers.Dense(3)])

torchvision's transforms draw from torch's generator and resample differently (another rotation centre, other
interpolation and fill rules). ``torch_impl.nn``'s RandomFlip, RandomRotation, RandomZoom, RandomTranslation,
RandomContrast and RandomBrightness are Keras's layers on TensorFlow: the same random transform for the same seed
and TensorFlow's ``ImageProjectiveTransformV3`` resampling replayed in float32, so the augmented images are Keras's
bit for bit. ``keras_init_(net, seed=7)`` gives the weights *and* the unseeded layers' seeds that Keras draws after
``set_random_seed(7)``. The torch model takes NCHW images; with Keras installed the script runs the Keras model on
the same (NHWC) images and compares.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_impl import nn as tnn  # noqa: E402
from _keras_optional import keras_or_none  # noqa: E402  (examples/_keras_optional.py)

torch.set_default_dtype(torch.float32)  # Keras's floatx (its RandomRotation cannot train in float64)
images = np.random.default_rng(0).uniform(0, 255, size=(12, 16, 16, 3)).astype("float32")  # NHWC, as Keras takes


augment = torch.nn.Sequential(tnn.RandomFlip("horizontal"), tnn.RandomRotation(0.1), tnn.RandomZoom(0.2),
                              tnn.RandomTranslation(0.1, 0.1), tnn.RandomContrast(0.3), tnn.RandomBrightness(0.2))
net = torch.nn.Sequential(augment, tnn.Rescaling(1 / 255), torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(),
                          torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 3))
tnn.keras_init_(net, seed=7)  # Keras's weights and the layers' seeds after set_random_seed(7)
print("seeds (seed, counter):", [layer.state for layer in augment])

x = torch.as_tensor(images).permute(0, 3, 1, 2)  # NCHW
torch_augmented, torch_logits = [], []
with torch.no_grad():
    for epoch in range(3):  # each training-mode call draws new transforms
        torch_augmented.append(augment(x).permute(0, 2, 3, 1).numpy())
        torch_logits.append(net[1:](torch.as_tensor(torch_augmented[-1]).permute(0, 3, 1, 2)).numpy())
print("after 3 calls:", [layer.state for layer in augment])
net.eval()
assert torch.equal(augment(x), x)  # eval mode: no augmentation, nothing drawn
print("first image, first pixel over 3 calls:", [[round(float(v), 3) for v in a[0, 0, 0]] for a in torch_augmented])

keras = keras_or_none()  # Keras on TensorFlow, if installed
if keras is not None:
    from keras import layers

    keras.config.set_floatx("float32")
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((16, 16, 3)), layers.RandomFlip("horizontal"), layers.RandomRotation(0.1),
                              layers.RandomZoom(0.2), layers.RandomTranslation(0.1, 0.1), layers.RandomContrast(0.3),
                              layers.RandomBrightness(0.2), layers.Rescaling(1 / 255),
                              layers.Conv2D(8, 3, activation="relu"), layers.GlobalAveragePooling2D(),
                              layers.Dense(3)])
    keras_augment = keras.Sequential(model.layers[:6])
    keras_head = keras.Sequential(model.layers[6:])
    image_gap = logit_gap = 0.0
    for epoch in range(3):
        k_images = np.asarray(keras_augment(images, training=True))
        image_gap = max(image_gap, float(np.max(np.abs(k_images - torch_augmented[epoch]))))
        k_logits = np.asarray(keras_head(k_images))
        logit_gap = max(logit_gap, float(np.max(np.abs(k_logits - torch_logits[epoch]))))
    k_states = [tuple(int(v) for v in layer.generator.state.numpy()) for layer in model.layers[:6]]
    print(f"Keras's states {k_states}")
    print(f"augmented images: max difference {image_gap:.1e} over 3 calls (bit for bit); logits (Conv2D and "
          f"pooling rounding) {logit_gap:.1e}")
    assert image_gap == 0.0 and k_states == [layer.state for layer in augment]
    assert logit_gap < 1e-5

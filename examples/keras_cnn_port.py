"""Port a Keras CNN with strided ``padding="same"`` convolutions and ``"same"`` pooling to channels-first PyTorch.

Keras:
    keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(16, 3, strides=2, padding="same", activation="relu"),     # 16 x 16
        layers.MaxPooling2D(3, strides=2, padding="same"),                      # 8 x 8
        layers.SeparableConv2D(32, 3, strides=2, padding="same", activation="relu"),  # 4 x 4
        layers.AveragePooling2D(3, strides=1, padding="same"),                  # 4 x 4
        layers.UpSampling2D(2, interpolation="bilinear"),                       # 8 x 8
        layers.Flatten(),
        layers.Dense(10),
    ])

TensorFlow's ``"same"`` with stride 2 on an even size pads only at the end (bottom/right): torch's
``Conv2d(3, stride=2, padding=1)`` has the same output shape and other numbers (every window shifted by one).
``torch_impl.nn.TFSamePadding`` pads as TensorFlow does in front of a ``'valid'`` torch conv;
``torch_impl.nn.MaxPooling2D``/``AveragePooling2D`` are Keras's pooling (the padding never wins a max and is left
out of an average's count); Keras's channels-last ``Flatten`` orders the features ``(H, W, C)``. With Keras
installed, the script loads the Keras model's weights with ``load_keras_weights`` and compares the outputs (and
shows how far the usual hand port is).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from torch_impl import nn as tnn  # noqa: E402
from torch_impl.nn import load_keras_weights  # noqa: E402
from _keras_optional import keras_or_none  # noqa: E402  (examples/_keras_optional.py)


class PortedCnn(nn.Module):
    """The Keras model above, channels first; modules declared in Keras's weight order."""

    def __init__(self, hand_port: bool = False):
        super().__init__()
        self.hand_port = hand_port  # True: the usual port with torch's symmetric padding (wrong on even sizes)
        self.pad1 = tnn.TFSamePadding(3, strides=2)
        self.conv = nn.Conv2d(3, 16, 3, stride=2, padding=1 if hand_port else 0)
        self.pool1 = nn.MaxPool2d(3, 2, padding=1) if hand_port else tnn.MaxPooling2D(3, strides=2, padding="same")
        self.pad2 = tnn.TFSamePadding(3, strides=2)
        self.depthwise = nn.Conv2d(16, 16, 3, stride=2, groups=16, bias=False, padding=1 if hand_port else 0)
        self.pointwise = nn.Conv2d(16, 32, 1)
        self.pool2 = nn.AvgPool2d(3, 1, padding=1) if hand_port else tnn.AveragePooling2D(3, strides=1,
                                                                                         padding="same")
        self.dense = nn.Linear(8 * 8 * 32, 10)

    def forward(self, x):  # x: (N, 3, H, W)
        same = (lambda t, pad: t) if self.hand_port else (lambda t, pad: pad(t))
        x = self.pool1(torch.relu(self.conv(same(x, self.pad1))))
        x = torch.relu(self.pointwise(self.depthwise(same(x, self.pad2))))
        x = self.pool2(x)
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)  # UpSampling2D bilinear
        return self.dense(x.movedim(1, -1).flatten(1))  # Keras's Flatten: (H, W, C) order


def main():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    images = rng.normal(size=(8, 32, 32, 3)).astype(np.float32)  # Keras's channels-last batch
    net = PortedCnn()
    keras = keras_or_none()
    if keras is None:
        out = net(torch.from_numpy(images).movedim(-1, 1))
        print("torch output", tuple(out.shape))
        return
    layers = keras.layers
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(16, 3, strides=2, padding="same", activation="relu"),
        layers.MaxPooling2D(3, strides=2, padding="same"),
        layers.SeparableConv2D(32, 3, strides=2, padding="same", activation="relu"),
        layers.AveragePooling2D(3, strides=1, padding="same"),
        layers.UpSampling2D(2, interpolation="bilinear"),
        layers.Flatten(),
        layers.Dense(10),
    ])
    # random biases too, so that a misplaced one shows
    model.set_weights([rng.normal(scale=0.3, size=w.shape).astype(np.float32) for w in model.get_weights()])
    expected = model.predict(images, verbose=0)
    load_keras_weights(net, model.get_weights())
    hand = load_keras_weights(PortedCnn(hand_port=True), model.get_weights())
    x = torch.from_numpy(images).movedim(-1, 1)
    with torch.no_grad():
        ours, theirs = net(x).numpy(), hand(x).numpy()
    scale = np.abs(expected).max()
    err, hand_err = np.abs(ours - expected).max() / scale, np.abs(theirs - expected).max() / scale
    print(f"outputs {ours.shape}: ours {err:.1e} off Keras's; the hand port (padding=1, MaxPool2d/AvgPool2d "
          f"padding=1) {hand_err:.2f} off")
    assert err < 1e-5 and hand_err > 1e-2


if __name__ == "__main__":
    main()

"""``torch_impl.nn.RandomFlip`` and ``Rescaling`` against Keras's layers (TensorFlow backend).

RandomFlip: the same images flipped for the same seed, call after call (Keras's ``SeedGenerator`` stream), in
each mode and layout, nothing drawn in eval mode, an unseeded layer's seed replayed by ``keras_init_(seed=...)``.
Rescaling: Keras casts a Python scale to float32 first, so a float64 model's ``Rescaling(1/255)`` is not
``x * (1/255)``; the layer reproduces it bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402

from parity_tests.test_field_scripts_round2 import _precision  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl.nn import keras_init_, keras_weights  # noqa: E402

pytestmark = pytest.mark.keras


@pytest.mark.parametrize("mode", ["horizontal", "vertical", "horizontal_and_vertical"])
@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_random_flip_draws_keras_flips(mode, dt):
    x = np.random.default_rng(0).normal(size=(9, 5, 6, 2)).astype(dt)  # channels-last, as Keras takes it
    with _precision(dt):
        k = layers.RandomFlip(mode, seed=11)
        t = tnn.RandomFlip(mode, seed=11)
        t_last = tnn.RandomFlip(mode, seed=11, data_format="channels_last")
        flipped = 0
        for call in range(4):
            k_out = np.asarray(k(x, training=True))
            t_out = t(torch.as_tensor(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
            assert np.array_equal(t_out, k_out), call
            assert np.array_equal(t_last(torch.as_tensor(x)).numpy(), k_out), call
            flipped += int(np.sum(np.any(k_out != x, axis=(1, 2, 3))))
        assert np.array_equal(np.asarray(k(x, training=False)), x)
        t.eval()
        assert torch.equal(t(torch.as_tensor(x)), torch.as_tensor(x))
        k_state = tuple(int(v) for v in k.generator.state.numpy())
    print(f"RandomFlip({mode!r}) {dt}: 4 training calls equal to Keras's ({flipped} of 36 images flipped); "
          f"state Keras {k_state}, ours {t.state}")
    assert t.state == k_state == (11, 4)
    assert 0 < flipped < 36


def test_random_flip_unseeded_replayed_by_keras_init():
    x = np.random.default_rng(1).normal(size=(6, 4, 4, 3))
    with _precision("float64"):
        keras.utils.set_random_seed(21)
        model = keras.Sequential([keras.Input((4, 4, 3)), layers.RandomFlip("horizontal"), layers.Conv2D(2, 3),
                                  layers.Flatten(), layers.Dense(2)])
        net = torch.nn.Sequential(tnn.RandomFlip("horizontal"), torch.nn.Conv2d(3, 2, 3), torch.nn.Flatten(),
                                  torch.nn.Linear(8, 2)).double()
        keras_init_(net, seed=21)
        assert net[0].state == tuple(int(v) for v in model.layers[0].generator.state.numpy())
        k_out = np.asarray(model(x, training=True))
        # Keras flattens (H, W, C): the port permutes before flattening
        h = net[1](net[0](torch.as_tensor(x).permute(0, 3, 1, 2))).permute(0, 2, 3, 1)
        t_out = net[3](h.flatten(1)).detach().numpy()
        kw = keras_weights(net)
    worst = float(np.max(np.abs(t_out - k_out)))
    print(f"unseeded RandomFlip + Conv2D + Dense after set_random_seed(21): outputs {worst:.1e}")
    assert all(np.array_equal(a, b) for a, b in zip(kw, model.get_weights()))
    assert worst <= 1e-14


@pytest.mark.parametrize("scale,offset", [(1.0 / 255, 0.0), (1.0 / 127.5, -1.0), ([0.5, 0.25, 0.125], 0.1),
                                          (np.float64(1.0 / 255), 0.0)])
@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_rescaling_like_keras(scale, offset, dt):
    x = np.random.default_rng(2).uniform(0, 255, size=(2, 3, 3, 3)).astype(dt)
    with _precision(dt):
        k_out = np.asarray(layers.Rescaling(scale, offset)(x))
    t_out = tnn.Rescaling(scale, offset, axis=-1)(torch.as_tensor(x)).numpy()
    naive = x * np.asarray(scale, dtype=dt) + offset
    print(f"Rescaling({scale}, {offset}) {dt}: equal to Keras {np.array_equal(t_out, k_out)}; x * scale + offset "
          f"max abs diff {float(np.max(np.abs(naive - k_out))):.1e}")
    assert t_out.dtype == k_out.dtype
    assert np.array_equal(t_out, k_out)
    if dt == "float64" and not isinstance(scale, np.generic):
        assert not np.array_equal(naive, k_out)  # the float32 cast of a Python scale shows in float64

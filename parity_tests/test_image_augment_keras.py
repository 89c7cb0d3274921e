"""``torch_impl.image``'s augmentation layers against Keras 3's on the TensorFlow backend, bit for bit.

RandomRotation, RandomZoom, RandomTranslation: the same images for the same seed, call after call, in every
``fill_mode`` and ``interpolation``, float32 and float64 (Keras's RandomRotation cannot train in float64: it raises,
and so does the port, after the same draw), torch's NCHW images against Keras's NHWC ones, unbatched and integer
images, nothing drawn in eval mode; ``affine_transform`` against ``keras.ops.image.affine_transform`` with general
projective transforms. RandomBrightness and RandomContrast: the same images (the contrast's means summed in
TensorFlow's Eigen order, for either Keras layout), Keras 3's ``RandomContrast(f)`` range ``[1, 1 + f]``. Bad
arguments raise Keras's errors; ``keras_init_(seed=...)`` replays unseeded layers' seeds.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402

from parity_tests.test_field_scripts_round2 import _precision  # noqa: E402
from torch_impl import image as ti  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl.nn import keras_init_, keras_weights  # noqa: E402

pytestmark = pytest.mark.keras

FILL_MODES = ["reflect", "wrap", "constant", "nearest"]
INTERPOLATIONS = ["bilinear", "nearest"]


def _to_torch(x: np.ndarray) -> torch.Tensor:
    """Keras's channels-last images as torch's channels-first ones."""
    t = torch.as_tensor(x)
    return t.permute(2, 0, 1) if t.dim() == 3 else t.permute(0, 3, 1, 2)


def _to_keras(t: torch.Tensor) -> np.ndarray:
    return (t.permute(1, 2, 0) if t.dim() == 3 else t.permute(0, 2, 3, 1)).detach().numpy()


def _state(k) -> tuple:
    return tuple(int(v) for v in k.generator.state.numpy())


def _compare(k, t, t_last, x, calls: int) -> int:
    """``calls`` training calls of the Keras layer ``k`` and the ports ``t`` (NCHW) and ``t_last`` (NHWC) on the
    NHWC images ``x``: equal outputs (values and dtype) and states; then eval mode, the identity with no draw.
    Returns the number of output values that the augmentation changed."""
    changed = 0
    for call in range(calls):
        k_out = np.asarray(k(x, training=True))
        t_out = _to_keras(t(_to_torch(x)))
        assert t_out.dtype == k_out.dtype, call
        assert np.array_equal(t_out, k_out, equal_nan=True), (call, float(np.nanmax(np.abs(t_out - k_out))))
        if t_last is not None:
            assert np.array_equal(t_last(torch.as_tensor(x)).numpy(), k_out, equal_nan=True), call
        changed += int(np.sum(k_out != x))
    assert _state(k) == t.state
    before = t.state
    assert np.array_equal(np.asarray(k(x, training=False)), x)
    t.eval()
    assert torch.equal(t(_to_torch(x)), _to_torch(x))
    t.train()
    assert _state(k) == t.state == before  # eval mode draws nothing, in Keras and here
    return changed


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("fill_mode", FILL_MODES)
def test_random_rotation_like_keras(fill_mode, interpolation):
    # 10 images: Keras's float32 cos/sin are Eigen's polynomial for the first 8 angles and the C library's for 2
    x = np.random.default_rng(0).normal(size=(10, 7, 9, 2)).astype("float32")
    changed = 0
    with _precision("float32"):
        for seed, factor in ((3, 0.3), (11, (-1, 1)), (5, (0.5, -0.2))):
            kw = dict(fill_mode=fill_mode, interpolation=interpolation, seed=seed, fill_value=0.5)
            k = layers.RandomRotation(factor, **kw)
            t = ti.RandomRotation(factor, **kw)
            t_last = ti.RandomRotation(factor, data_format="channels_last", **kw)
            changed += _compare(k, t, t_last, x, calls=3)
            assert t.state == (seed, 3)
    print(f"RandomRotation({fill_mode!r}, {interpolation!r}) float32: 3 seeds x 3 calls of 10 images equal to "
          f"Keras's ({changed} of {3 * 3 * x.size} values moved)")
    assert changed > 0


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_random_zoom_and_translation_like_keras(dt, fill_mode, interpolation):
    x = np.random.default_rng(1).normal(size=(6, 7, 9, 3)).astype(dt)
    kw = dict(fill_mode=fill_mode, interpolation=interpolation, fill_value=-0.25)
    changed = {}
    with _precision(dt):
        for name, args in (("RandomZoom", (0.4,)), ("RandomZoom", ((-0.6, 0.3), (0.5, -0.2))),
                           ("RandomTranslation", (0.3, (-0.6, 0.2))), ("RandomTranslation", ((-1, 1), 0.5))):
            for seed in (2, 13):
                k = getattr(layers, name)(*args, seed=seed, **kw)
                t = getattr(ti, name)(*args, seed=seed, **kw)
                t_last = getattr(ti, name)(*args, seed=seed, data_format="channels_last", **kw)
                changed[name] = changed.get(name, 0) + _compare(k, t, t_last, x, calls=2)
                draws = 1 if name == "RandomZoom" and len(args) == 1 else 2  # one uniform per factor
                assert t.state == (seed, 2 * draws)
    print(f"RandomZoom/RandomTranslation ({fill_mode!r}, {interpolation!r}) {dt}: 2 factor forms x 2 seeds x 2 "
          f"calls equal to Keras's; values moved {changed}")
    assert all(v > 0 for v in changed.values())


def test_random_rotation_float64_fails_like_keras():
    """Keras 3.15's rotation matrix multiplies the float64 angles by a float32 pi / 180: TensorFlow raises after
    the draw. The port raises too, its counter advanced as Keras's; eval mode works in both."""
    x = np.random.default_rng(2).normal(size=(2, 4, 4, 1))
    with _precision("float64"):
        k = layers.RandomRotation(0.2, seed=4)
        t = ti.RandomRotation(0.2, seed=4)
        with pytest.raises(tf.errors.InvalidArgumentError):
            k(x, training=True)
        with pytest.raises(TypeError, match="float32 pi / 180"):
            t(_to_torch(x))
        assert _state(k) == t.state == (4, 1)
        assert np.array_equal(np.asarray(k(x, training=False)), x)
        assert torch.equal(t.eval()(_to_torch(x)), _to_torch(x))
    print(f"RandomRotation float64: Keras raises InvalidArgumentError, the port TypeError; both states {t.state}")


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_affine_transform_like_keras_ops(dt):
    """General projective transforms (``c0``, ``c1`` non-zero, a zero projection), every mode: the kernel's
    float32 coordinate arithmetic and division replayed."""
    rng = np.random.default_rng(3)
    checked = 0
    for trial in range(16):
        n, h, w, c = 3, int(rng.integers(1, 12)), int(rng.integers(1, 12)), 2
        x = (rng.normal(size=(n, h, w, c)) * 5).astype(dt)
        transform = (rng.normal(size=(n if trial % 2 else 1, 8)) * [1, 1, 4, 1, 1, 4, 0.05, 0.05]).astype("float32")
        if trial % 8 == 3:
            transform[:, 6:] = [-1.0, 0.0]  # the projection is 0 at x = 1: the fill value there
        fill_mode, interpolation = FILL_MODES[trial % 4], INTERPOLATIONS[trial // 4 % 2]
        fill = float(rng.normal())
        k_out = np.asarray(keras.ops.image.affine_transform(x, transform, interpolation, fill_mode, fill,
                                                            data_format="channels_last"))
        t_out = ti.affine_transform(torch.as_tensor(x), torch.as_tensor(transform), interpolation, fill_mode, fill,
                                    data_format="channels_last").numpy()
        t_first = _to_keras(ti.affine_transform(_to_torch(x), transform, interpolation, fill_mode, fill))
        assert np.array_equal(t_out, k_out) and np.array_equal(t_first, k_out), (trial, fill_mode, interpolation)
        checked += k_out.size
    print(f"affine_transform {dt}: 16 projective transforms, {checked} values equal to keras.ops.image's")


def test_float64_bilinear_resamples_in_float32():
    """TensorFlow reads a float64 image's neighbours as float32 for bilinear interpolation: the output is a float32
    value widened (nearest keeps the float64 pixels)."""
    x = np.random.default_rng(4).normal(size=(2, 5, 5, 1))
    with _precision("float64"):
        k = layers.RandomTranslation(0.2, 0.2, seed=1, interpolation="bilinear")
        k_out = np.asarray(k(x, training=True))
        t_out = _to_keras(ti.RandomTranslation(0.2, 0.2, seed=1)(_to_torch(x)))
        nearest = _to_keras(ti.RandomTranslation(0.2, 0.2, seed=1, interpolation="nearest")(_to_torch(x)))
    assert np.array_equal(t_out, k_out) and k_out.dtype == np.float64
    assert np.array_equal(k_out.astype(np.float32).astype(np.float64), k_out)
    assert np.isin(nearest, x).all()
    print("float64 RandomTranslation: bilinear output exactly float32 values, as Keras's; nearest keeps pixels")


def test_unbatched_and_integer_images():
    rng = np.random.default_rng(5)
    with _precision("float32"):
        x = rng.normal(size=(6, 5, 3)).astype("float32")  # one image, (H, W, C)
        for name, args in (("RandomRotation", (0.4,)), ("RandomZoom", (0.3, 0.2)), ("RandomTranslation", (0.2, 0.3)),
                           ("RandomBrightness", (0.4,)), ("RandomContrast", (0.4,))):
            k, t = getattr(layers, name)(*args, seed=7), getattr(ti, name)(*args, seed=7)
            for _ in range(2):
                assert np.array_equal(_to_keras(t(_to_torch(x))), np.asarray(k(x, training=True))), name
            assert _state(k) == t.state
        u8 = rng.integers(0, 256, size=(3, 6, 5, 2)).astype("uint8")
        for name, args in (("RandomRotation", (0.3,)), ("RandomZoom", (0.3, 0.3)), ("RandomTranslation", (0.3, 0.3))):
            k, t = getattr(layers, name)(*args, seed=2), getattr(ti, name)(*args, seed=2)
            k_out, t_out = np.asarray(k(u8, training=True)), _to_keras(t(_to_torch(u8)))
            assert t_out.dtype == k_out.dtype == np.float32 and np.array_equal(t_out, k_out), name
    print("unbatched (H, W, C) images: 5 layers x 2 calls equal to Keras's; uint8 images resampled as float32")


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_random_brightness_and_contrast_like_keras(dt):
    rng = np.random.default_rng(6)
    n_checked = 0
    with _precision(dt):
        # heights from 3 to 20 and widths up to 19: Eigen's four-accumulator sums (16+ rows) and its packet/scalar
        # split across the W * C outputs; one channel: the innermost-dimension reduction of the width mean
        # value ranges: Python numbers converted to the image dtype (not through float32), an unsorted one (Keras's
        # contrast clips to maximum(minimum(x, 0.1), 0.3): 0.3; its brightness sorts the range)
        for shape, value_range in (((5, 20, 19, 3), (0, 255)), ((3, 17, 6, 1), (0, 1)), ((9, 3, 4, 2), (-1.0, 1.0)),
                                   ((2, 16, 33, 1), (255, 0)), ((4, 5, 4, 3), (0.1, 0.7)), ((3, 4, 5, 2), (0.3, 0.1))):
            lo, hi = sorted(value_range)
            x = (rng.uniform(-0.1, 1.1, size=shape) * (hi - lo) + lo).astype(dt)
            for seed, (cf, bf) in ((1, (0.5, 0.5)), (8, ((0.2, 0.9), (-0.3, 0.6)))):
                for keras_layout in ("channels_last", "channels_first"):
                    k = layers.RandomContrast(cf, value_range=value_range, seed=seed, data_format=keras_layout)
                    t = ti.RandomContrast(cf, value_range=value_range, seed=seed, keras_data_format=keras_layout)
                    for _ in range(2):
                        kx = x if keras_layout == "channels_last" else np.moveaxis(x, -1, 1)
                        k_out = np.asarray(k(kx, training=True))
                        k_out = k_out if keras_layout == "channels_last" else np.moveaxis(k_out, 1, -1)
                        assert np.array_equal(_to_keras(t(_to_torch(x))), k_out), (shape, keras_layout)
                    assert _state(k) == t.state
                k, t = layers.RandomBrightness(bf, value_range, seed=seed), ti.RandomBrightness(bf, value_range,
                                                                                                  seed=seed)
                n_checked += _compare(k, t, None, x, calls=2) >= 0
    print(f"RandomContrast (Keras channels_last and channels_first) and RandomBrightness {dt}: 6 shapes x 2 seeds "
          "x 2 calls equal to Keras's")


def test_random_contrast_factor_range_like_keras():
    """Keras 3's ``RandomContrast(0.5)``: factor ``(0, 0.5)``, so the contrast is only raised (``c`` in ``[1,
    1.5]``)."""
    x = np.random.default_rng(7).uniform(0, 255, size=(64, 2, 2, 1)).astype("float32")
    with _precision("float32"):
        k = layers.RandomContrast(0.5, seed=3)
        t = ti.RandomContrast(0.5, seed=3)
        c = k.get_random_transformation(x, training=True)["contrast_factor"].numpy().ravel()
    assert k.factor == t.factor == (0, 0.5)
    assert layers.RandomContrast((0.7, 0.2)).factor == ti.RandomContrast((0.7, 0.2)).factor == (0.2, 0.7)
    print(f"RandomContrast(0.5).factor {t.factor}: Keras's 64 draws in [{c.min():.4f}, {c.max():.4f}]")
    assert 1.0 <= c.min() and c.max() < 1.5


BAD_ARGUMENTS = [
    ("RandomRotation", (1.5,), {}), ("RandomRotation", ((0.1, 0.2, 0.3),), {}), ("RandomRotation", ("a",), {}),
    ("RandomRotation", ((1.5, 2.0),), {}), ("RandomRotation", (0.2,), {"fill_mode": "mirror"}),
    ("RandomRotation", (0.2,), {"interpolation": "bicubic"}), ("RandomZoom", (-1.0,), {}),
    ("RandomZoom", ((0.2, 1.5),), {}), ("RandomZoom", (0.2, [0.1]), {}), ("RandomZoom", (None,), {}),
    ("RandomZoom", (0.2,), {"fill_mode": "edge"}), ("RandomTranslation", (0.2, -1.5), {}),
    ("RandomTranslation", ((0.1,), 0.2), {}), ("RandomTranslation", (0.1, 0.2), {"interpolation": "area"}),
    ("RandomContrast", (1.5,), {}), ("RandomContrast", ((-0.5, -0.2),), {}), ("RandomContrast", (None,), {}),
    ("RandomBrightness", (-1.5,), {}), ("RandomBrightness", ((1, 2, 3),), {}),
    ("RandomBrightness", (0.1,), {"value_range": 5}), ("RandomBrightness", (0.1,), {"value_range": (0,)}),
]


@pytest.mark.parametrize("name,args,kwargs", BAD_ARGUMENTS)
def test_bad_arguments_raise_keras_errors(name, args, kwargs):
    with pytest.raises(Exception) as k_err:
        getattr(layers, name)(*args, **kwargs)
    with pytest.raises(Exception) as t_err:
        getattr(ti, name)(*args, **kwargs)
    print(f"{name}{args} {kwargs}: {k_err.type.__name__}: {k_err.value}")
    assert t_err.type is k_err.type
    assert str(t_err.value) == str(k_err.value)


def test_good_factor_forms_like_keras():
    for name, args in (("RandomRotation", (-0.3,)), ("RandomRotation", ((0.3, -0.1),)), ("RandomRotation", (0,)),
                       ("RandomBrightness", (None,)), ("RandomBrightness", ((0.2, 1.2),)),
                       ("RandomContrast", ((0.2, 1.2),)), ("RandomContrast", (0,))):
        assert getattr(layers, name)(*args).factor == getattr(ti, name)(*args).factor, (name, args)
    for name, args in (("RandomZoom", (-0.3, (0.5, -0.9))), ("RandomTranslation", (1, (-1, 0.5)))):
        k, t = getattr(layers, name)(*args), getattr(ti, name)(*args)
        assert (k.height_lower, k.height_upper, k.width_lower, k.width_upper) == (
            t.height_lower, t.height_upper, t.width_lower, t.width_upper), name
    assert ti.RandomBrightness(0.1, value_range=(255, 0)).value_range == [0, 255]


def test_unseeded_layers_replayed_by_keras_init():
    x = np.random.default_rng(8).uniform(0, 255, size=(4, 8, 8, 3)).astype("float32")
    with _precision("float32"):
        keras.utils.set_random_seed(17)
        model = keras.Sequential([keras.Input((8, 8, 3)), layers.RandomRotation(0.1), layers.RandomZoom(0.2, seed=5),
                                  layers.RandomTranslation(0.1, 0.1), layers.RandomContrast(0.3),
                                  layers.RandomBrightness(0.2), layers.Conv2D(2, 3), layers.Flatten(),
                                  layers.Dense(2)])
        net = torch.nn.Sequential(tnn.RandomRotation(0.1), tnn.RandomZoom(0.2, seed=5), tnn.RandomTranslation(0.1, 0.1),
                                  tnn.RandomContrast(0.3), tnn.RandomBrightness(0.2), torch.nn.Conv2d(3, 2, 3))
        head = torch.nn.Linear(72, 2)
        keras_init_(torch.nn.Sequential(net, head), seed=17)
        states = [t.state for t in net[:5]]
        assert states == [_state(k) for k in model.layers[:5]]
        augment = keras.Sequential(model.layers[:5])
        k_aug = np.asarray(augment(x, training=True))
        t_aug = net[:5](_to_torch(x))
        assert np.array_equal(_to_keras(t_aug), k_aug)
        assert all(np.array_equal(a, b) for a, b in zip(keras_weights(torch.nn.Sequential(net, head)),
                                                        model.get_weights()))
    print(f"unseeded augmentation layers after set_random_seed(17): seeds {states}, augmented images equal")


@pytest.mark.slow
def test_fuzz_against_keras():
    """Random layers, shapes (1-pixel sides included), factors, modes, fill values, seeds and layouts."""
    rng = np.random.default_rng(9)
    total = 0
    for trial in range(240):
        dt = "float32" if trial % 5 in (0, 3) else ["float64", "float32"][trial % 2]
        name = ["RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast", "RandomBrightness"][trial % 5]
        n, h, w, c = (int(v) for v in rng.integers(1, [20, 24, 24, 5]))
        f1, f2 = (float(v) for v in rng.uniform(-0.95, 0.95, size=2))
        kw = {"seed": int(rng.integers(0, 2**31 - 1))}
        if name in ("RandomRotation", "RandomZoom", "RandomTranslation"):
            kw.update(fill_mode=FILL_MODES[rng.integers(4)], interpolation=INTERPOLATIONS[rng.integers(2)],
                      fill_value=float(rng.normal()))
        args = {"RandomRotation": ((f1, f2),), "RandomZoom": (f1, (f2, f1)), "RandomTranslation": (f1, f2),
                "RandomContrast": (abs(f1),), "RandomBrightness": ((f1, f2),)}[name]
        with _precision(dt):
            x = (rng.uniform(0, 255, size=(n, h, w, c))).astype(dt)
            x = x[0] if trial % 6 == 0 else x
            k, t = getattr(layers, name)(*args, **kw), getattr(ti, name)(*args, **kw)
            for _ in range(2):
                k_out = np.asarray(k(x, training=True))
                assert np.array_equal(_to_keras(t(_to_torch(x))), k_out), (trial, name, dt, x.shape, args, kw)
                total += 1
            assert _state(k) == t.state
    print(f"fuzz: {total} calls of 5 layers equal to Keras's")

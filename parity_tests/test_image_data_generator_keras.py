"""``torch_impl.image.ImageDataGenerator`` against Keras 3.15.1's legacy ``ImageDataGenerator``
(``keras/src/legacy/preprocessing/image.py``; the public name is ``tf.keras.preprocessing.image.ImageDataGenerator``,
Keras 3's own ``keras.preprocessing.image`` no longer exports it), in the same process: the same batches bit for bit
(float32 and float64) for the same ``seed``, each augmentation argument alone and together, over two epochs
(``on_epoch_end``'s new order drawn from the same NumPy global state), as a Python iterator (``next``), with
``validation_split`` subsets, extra inputs, sample weights, ``.fit`` statistics (feature-wise mean/std, ZCA,
``augment=True``), ``flow_from_directory`` on a small PNG tree; and ``keras.Model.fit(gen)`` against
``torch_impl.fit.fit(model, gen)`` (the iterator read as a PyDataset on both sides): float64 histories within
1e-12 relative.

NumPy's global random state is shared by both generators: each comparison restores it before the other side runs
where the batch does not reseed it (``on_epoch_end``, ``seed=None``).
"""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

from keras.src.legacy.preprocessing.image import ImageDataGenerator as KerasGenerator  # noqa: E402

from parity_tests.test_field_scripts_round2 import _precision, _rel  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, optim  # noqa: E402
from torch_impl.image import ImageDataGenerator  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

_rng = np.random.default_rng(0)
DATA = {"rgb": _rng.uniform(0, 255, (10, 9, 7, 3)), "gray": _rng.uniform(0, 255, (10, 9, 7, 1)),
        "rgba": _rng.uniform(0, 255, (10, 9, 7, 4)), "signed": _rng.uniform(-1, 1, (10, 9, 7, 3))}
Y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
TOL = {"float64": 1e-12, "float32": 3e-7}  # model.fit histories (float32: the same batches, float32 sums)

# each argument alone (with the data it is tried on)
ALONE = [
    ({"rescale": 1 / 255}, "rgb"), ({"rotation_range": 30}, "rgb"), ({"width_shift_range": 0.2}, "rgb"),
    ({"height_shift_range": 0.2}, "gray"), ({"width_shift_range": 3}, "rgb"),  # int: np.random.choice(3) * sign
    ({"height_shift_range": [1, 2]}, "rgb"), ({"width_shift_range": 2.5}, "rgb"),  # a float >= 1: pixels
    ({"shear_range": 20}, "rgb"), ({"zoom_range": 0.3}, "rgb"), ({"zoom_range": [0.8, 1.2]}, "gray"),
    ({"horizontal_flip": True}, "rgb"), ({"vertical_flip": True}, "rgb"),
    ({"brightness_range": (0.5, 1.5)}, "rgb"), ({"brightness_range": (0.5, 1.5)}, "gray"),
    ({"brightness_range": (0.7, 1.3)}, "signed"), ({"brightness_range": [0.7, 1.3]}, "rgba"),
    ({"channel_shift_range": 30.0}, "rgb"), ({"fill_mode": "constant", "cval": 7.0, "rotation_range": 40}, "rgb"),
    ({"fill_mode": "reflect", "rotation_range": 40}, "rgb"), ({"fill_mode": "wrap", "zoom_range": 0.5}, "gray"),
    ({"interpolation_order": 3, "rotation_range": 15}, "rgb"),
    ({"samplewise_center": True}, "rgb"), ({"samplewise_std_normalization": True}, "signed"),
    ({"featurewise_center": True}, "rgb"), ({"featurewise_std_normalization": True}, "rgb"),
    ({"zca_whitening": True}, "gray"), ({"preprocessing_function": lambda a: a * 2.0 - 1.0}, "rgb"),
    ({"data_format": "channels_first", "rotation_range": 30, "width_shift_range": 0.1}, "rgb"),
]
TYPICAL = {"rescale": 1 / 255, "rotation_range": 20, "width_shift_range": 0.1, "height_shift_range": 0.1,
           "shear_range": 10, "zoom_range": 0.2, "horizontal_flip": True, "fill_mode": "nearest",
           "brightness_range": (0.8, 1.2), "channel_shift_range": 10.0}


def _name(kw) -> str:
    return ", ".join(f"{k}={'f' if callable(v) else v}" for k, v in kw.items())


def _images(kind, kw):
    x = DATA[kind]
    return x.transpose(0, 3, 1, 2) if kw.get("data_format") == "channels_first" else x


def _pair(kw, dt, fit_x=None, **fit_kw):
    k, t = KerasGenerator(dtype=dt, **kw), ImageDataGenerator(dtype=dt, **kw)
    if fit_x is not None:
        k.fit(fit_x, **fit_kw)
        t.fit(fit_x, **fit_kw)
    return k, t


def _same_epochs(k_it, t_it, epochs=2) -> tuple:
    """Every batch of ``epochs`` epochs (``it[i]``, then ``on_epoch_end``) equal in values and dtype; returns
    (batches compared, values the augmentation changed against the first epoch's plain images)."""
    n = 0
    for epoch in range(epochs):
        for i in range(len(k_it)):
            kb, tb = k_it[i], t_it[i]
            kb, tb = (kb if isinstance(kb, tuple) else (kb,)), (tb if isinstance(tb, tuple) else (tb,))
            assert len(kb) == len(tb)
            for a, b in zip(kb, tb):
                for u, v in zip(a if isinstance(a, list) else [a], b if isinstance(b, list) else [b]):
                    assert u.dtype == v.dtype and u.shape == v.shape, (epoch, i)
                    assert np.array_equal(u, v), (epoch, i, float(np.max(np.abs(u.astype(float) - v))))
            n += 1
        state = np.random.get_state()
        k_it.on_epoch_end()
        np.random.set_state(state)
        t_it.on_epoch_end()
        assert np.array_equal(k_it.index_array, t_it.index_array)
    return n


@pytest.mark.parametrize("dt", ["float32", pytest.param("float64", marks=pytest.mark.slow)])
def test_each_argument_alone_like_keras(dt):
    """Each argument alone: ``.flow(x, y, batch_size=4, seed=3)`` over 2 epochs (3 batches, the last of 2),
    batches equal bit for bit."""
    for kw, kind in ALONE:
        x = _images(kind, kw)
        needs_fit = any(kw.get(a) for a in ("featurewise_center", "featurewise_std_normalization", "zca_whitening"))
        with warnings.catch_warnings():  # Keras's "overrides setting of `featurewise_center`" (both warn)
            warnings.simplefilter("ignore")
            k, t = _pair(kw, dt, x if needs_fit else None)
        n = _same_epochs(k.flow(x, Y, batch_size=4, seed=3), t.flow(x, Y, batch_size=4, seed=3))
        # not the identity: the augmented/standardized images differ from the plain ones
        plain = np.asarray(x, dt)
        changed = int(np.sum(t.flow(x, Y, batch_size=10, shuffle=False, seed=3)[0][0] != plain))
        assert changed > 0
        print(f"{dt} {kind:6s} {_name(kw)}: {n} batches equal, max abs diff 0 ({changed} values changed)")


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_typical_combination_like_keras(dt):
    """The usual field augmentation (rescale, rotation, shifts, shear, zoom, flip, brightness, channel shift):
    two epochs of ``it[i]`` shuffled with ``seed``; channels-first; extra inputs ``[x, meta]`` and sample weights;
    no ``y``; ``seed=None`` (the global state); and the Python iterator (``next``) over 2.5 passes."""
    with _precision(dt):
        x = DATA["rgb"]
        k, t = _pair(TYPICAL, dt)
        n = _same_epochs(k.flow(x, Y, batch_size=4, seed=11), t.flow(x, Y, batch_size=4, seed=11))
        meta, sw = np.arange(20.0).reshape(10, 2), np.linspace(0.5, 2, 10)
        n += _same_epochs(k.flow([x, meta], Y, batch_size=3, seed=2, sample_weight=sw),
                          t.flow([x, meta], Y, batch_size=3, seed=2, sample_weight=sw))
        n += _same_epochs(k.flow(x, batch_size=6, seed=5, shuffle=False), t.flow(x, batch_size=6, seed=5,
                                                                                  shuffle=False))
        kc, tc = _pair(dict(TYPICAL, data_format="channels_first", brightness_range=None), dt)
        xc = x.transpose(0, 3, 1, 2)
        n += _same_epochs(kc.flow(xc, Y, batch_size=4, seed=1), tc.flow(xc, Y, batch_size=4, seed=1))
        # seed=None: both draw from the same global state
        np.random.seed(8)
        k_it = k.flow(x, Y, batch_size=4)
        kb = [k_it[i] for i in range(3)]
        np.random.seed(8)
        t_it = t.flow(x, Y, batch_size=4)
        tb = [t_it[i] for i in range(3)]
        assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(kb, tb))
        # next(): Keras's _flow_index, reseeded with seed + batches seen, a new order at each pass
        k_it, t_it = k.flow(x, Y, batch_size=4, seed=4), t.flow(x, Y, batch_size=4, seed=4)
        for step in range(8):
            a, b = next(k_it), next(t_it)
            assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]), step
        assert k_it.total_batches_seen == t_it.total_batches_seen == 8
    print(f"{dt}: {n} batches of it[i] + 3 unseeded + 8 next() batches equal bit for bit (max abs diff 0)")


def test_fit_statistics_like_keras():
    """``.fit(x)``: feature-wise mean and std (after ``rescale``), the ZCA matrix, and ``augment=True, rounds=2,
    seed=`` (the statistics of randomly transformed copies), float32 and float64: equal bit for bit, and the
    standardized batches with them."""
    x = DATA["rgb"]
    for dt in ("float32", "float64"):
        for kw, fit_kw in [({"featurewise_center": True, "featurewise_std_normalization": True, "rescale": 1 / 255},
                            {}),
                           ({"zca_whitening": True, "zca_epsilon": 1e-3}, {}),
                           ({"featurewise_center": True, "featurewise_std_normalization": True, "rotation_range": 30,
                             "horizontal_flip": True}, {"augment": True, "rounds": 2, "seed": 6})]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                k, t = _pair(kw, dt, x, **fit_kw)
            for attr in ("mean", "std", "zca_whitening_matrix"):
                a, b = getattr(k, attr), getattr(t, attr)
                assert (a is None) == (b is None), attr
                if a is not None:
                    assert a.dtype == b.dtype and np.array_equal(a, b), attr
            _same_epochs(k.flow(x, Y, batch_size=5, seed=0), t.flow(x, Y, batch_size=5, seed=0), epochs=1)
            print(f"{dt} fit {_name(kw)} {fit_kw}: mean/std/ZCA equal, max abs diff 0")


def test_validation_split_subsets_like_keras():
    """``validation_split=0.3``: ``subset="validation"`` the first ``int(10 * 0.3)`` images, ``"training"`` the
    rest, each with its own order; Keras's error when the classes differ between them, ``ignore_class_split``."""
    x, y = DATA["rgb"], np.array([0, 1, 2, 1, 0, 2, 0, 1, 2, 0])
    k, t = _pair({"validation_split": 0.3, "rotation_range": 10}, "float32")
    for subset in ("training", "validation"):
        k_it = k.flow(x, y, batch_size=4, seed=9, subset=subset)
        t_it = t.flow(x, y, batch_size=4, seed=9, subset=subset)
        assert (k_it.n, len(k_it)) == (t_it.n, len(t_it))
        _same_epochs(k_it, t_it)
        print(f"subset={subset}: {k_it.n} images, {len(k_it)} batches, equal")
    y_sorted = np.sort(y)
    with pytest.raises(ValueError, match="different number of classes") as k_err:
        k.flow(x, y_sorted, subset="training")
    with pytest.raises(ValueError, match="different number of classes") as t_err:
        t.flow(x, y_sorted, subset="training")
    assert str(k_err.value) == str(t_err.value)
    _same_epochs(k.flow(x, y_sorted, subset="validation", seed=1, ignore_class_split=True),
                 t.flow(x, y_sorted, subset="validation", seed=1, ignore_class_split=True), epochs=1)


def _fit_models(dt, seed=0):
    keras.utils.set_random_seed(seed)
    km = keras.Sequential([keras.Input((9, 7, 3), dtype=dt), keras.layers.Flatten(dtype=dt),
                           keras.layers.Dense(3, dtype=dt)])
    tm = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(9 * 7 * 3, 3, dtype=getattr(torch, dt)))
    kernel, bias = km.get_weights()
    with torch.no_grad():
        tm[1].weight.copy_(torch.as_tensor(kernel.T))
        tm[1].bias.copy_(torch.as_tensor(bias))
    km.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
               metrics=["accuracy"])
    return km, tm, optim.Adam(tm.parameters(), learning_rate=0.01)


def _fit_both(dt, flow_kw, fit_kw, val_kw=None):
    x = DATA["rgb"]
    with _precision(dt):
        km, tm, opt = _fit_models(dt)
        histories = []
        for side in ("keras", "torch"):
            gen = (KerasGenerator if side == "keras" else ImageDataGenerator)(validation_split=0.3, **TYPICAL)
            data = gen.flow(x, Y, seed=7, **flow_kw)
            kw = dict(fit_kw)
            if val_kw is not None:
                kw["validation_data"] = gen.flow(x, Y, seed=1, **val_kw)
            random.seed(5)  # the PyDataset's batch order (fit's shuffle=True)
            np.random.seed(21)  # on_epoch_end's orders
            if side == "keras":
                histories.append(km.fit(data, verbose=0, **kw).history)
            else:
                histories.append(tfit.fit(tm, data, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                                          metrics=["accuracy"], optimizer=opt, verbose=0, **kw).history)
    kh, th = histories
    assert sorted(kh) == sorted(th)
    worst = 0.0
    for key in kh:
        r = _rel(th[key], kh[key])
        print(f"  {key}: Keras {np.round(kh[key], 9).tolist()}\n  {' ' * len(key)}  torch_impl "
              f"{np.round(th[key], 9).tolist()}  max rel {r:.1e}")
        assert r <= TOL[dt], key
        worst = max(worst, r)
    return worst


def test_model_fit_on_generator_like_keras():
    """``model.fit(datagen.flow(x, y, batch_size=4, seed=7), epochs=3)`` (the typical augmentation, Keras's
    PyDataset reading: batches 0 and 1 read first, the batch order shuffled by Python's ``random``,
    ``on_epoch_end`` redrawing the image order) against ``torch_impl.fit.fit(model, gen)``: float64 histories."""
    worst = _fit_both("float64", {"batch_size": 4}, {"epochs": 3})
    print(f"float64 model.fit(gen), 3 epochs: history max rel {worst:.1e}")


@pytest.mark.slow
def test_model_fit_steps_sample_weight_validation_like_keras():
    """``steps_per_epoch=len(it)`` (3 batches of the 7-image training subset) with sample weights,
    ``validation_data`` the validation subset's iterator; float64 (within 1e-12) and float32 (within 3e-7: equal
    batches, the float32 loss sums in another order, 1.6e-7 measured).

    A ``steps_per_epoch`` that ends epochs inside a pass is not compared: Keras then calls ``on_epoch_end`` (which
    redraws the image order) while tf.data's prefetch thread reads the pass's next batches, so which of them
    still get the old order differs run to run in Keras itself (measured with a logging PyDataset:
    ``[0, 1, 'E', 0, 1, 2, 'E', 3, 4, 'E', ...]`` one run, ``[0, 1, 'E', 0, 1, 2, 3, 'E', 4, 5, ...]`` the next);
    torch_impl reads no batch ahead."""
    sw = np.linspace(0.5, 2.0, 10)
    for dt in ("float64", "float32"):
        worst = _fit_both(dt, {"batch_size": 3, "subset": "training", "sample_weight": sw},
                          {"epochs": 3, "steps_per_epoch": 3}, {"batch_size": 2, "subset": "validation"})
        print(f"{dt} model.fit(gen, steps_per_epoch=3, validation_data=gen): history max rel {worst:.1e}")


def test_flow_from_directory_like_keras(tmp_path):
    """``flow_from_directory`` on ``tmp_path/<class>/*.png`` (images of several sizes, resized to 6x5; RGB and
    grayscale; ``class_mode`` categorical / sparse / binary / input; ``subset``; ``keep_aspect_ratio``)."""
    from PIL import Image

    rng = np.random.default_rng(1)
    for c, name in enumerate(["cat", "dog"]):
        (tmp_path / name).mkdir()
        for i in range(3 + c):
            h, w = 6 + i, 5 + 2 * i
            Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(tmp_path / name / f"{i}.png")
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    k, t = _pair({"rotation_range": 15, "horizontal_flip": True, "rescale": 1 / 255, "validation_split": 0.4},
                 "float32")
    for kw in [{"class_mode": "categorical"}, {"class_mode": "sparse", "color_mode": "grayscale"},
               {"class_mode": "binary", "subset": "training", "interpolation": "bilinear"},
               {"class_mode": "input", "subset": "validation", "keep_aspect_ratio": True, "interpolation": "bicubic"},
               {"class_mode": None, "color_mode": "rgba"}]:
        k_it = k.flow_from_directory(str(tmp_path), target_size=(6, 5), batch_size=3, seed=2, **kw)
        t_it = t.flow_from_directory(str(tmp_path), target_size=(6, 5), batch_size=3, seed=2, **kw)
        assert k_it.filenames == t_it.filenames and k_it.class_indices == t_it.class_indices
        assert np.array_equal(k_it.classes, t_it.classes)
        _same_epochs(k_it, t_it)
        print(f"flow_from_directory {kw}: {k_it.samples} images, batches equal")


def test_errors_like_keras():
    """Keras's errors, message for message: ``brightness_range`` on channels-first images (Keras's PIL round trip
    reads them with the global channels-last format), rank-3 ``x``, a bad ``subset``, ``zoom_range``,
    ``validation_split``, ``brightness_range``, an index past ``len(it)``, an unknown ``data_format``."""
    x = DATA["rgb"]
    cases = [
        (lambda G: G(data_format="channels_first", brightness_range=(0.5, 1.5)).flow(
            x.transpose(0, 3, 1, 2), batch_size=2, seed=0)[0], "Unsupported channel number: 7"),
        (lambda G: G().flow(x[0]), "should have rank 4"),
        (lambda G: G(validation_split=0.2).flow(x, Y, subset="test"), "Invalid subset name"),
        (lambda G: G(zoom_range=[0.5, 1.0, 2.0]), "zoom_range"),
        (lambda G: G(validation_split=1.5), "strictly between 0 and 1"),
        (lambda G: G(brightness_range=0.2), "brightness_range"),
        (lambda G: G().flow(x, Y, batch_size=4)[3], "has length 3"),
        (lambda G: G(data_format="NHWC"), "data_format"),
    ]
    for make, match in cases:
        with pytest.raises(ValueError, match=match) as k_err:
            make(KerasGenerator)
        with pytest.raises(ValueError, match=match) as t_err:
            make(ImageDataGenerator)
        print(f"both raise: {k_err.value}")
        assert str(t_err.value) == str(k_err.value)

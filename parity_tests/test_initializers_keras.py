"""``torch_impl.initializers`` and ``keras_init_(model, seed=...)`` against Keras 3.15.1 on TensorFlow: the same
initial values from the same seed.

Standards: the uniform initializers (Glorot/He/LeCun uniform, RandomUniform, uniform VarianceScaling) and the
constant ones bit for bit; the normal ones bit for bit too where TensorFlow's Box-Muller calls glibc (Linux:
its ``logf``/``sincosf`` replayed; elsewhere float64 math rounded, within an ulp on at most 3% of the entries);
``Orthogonal`` within 1e-5 (float32) / 1e-13 (float64) of its largest entry (two QR implementations). Each test
prints the figures it asserts.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from parity_tests.test_field_scripts_round2 import _check_history, _precision  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import initializers as I  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl._tf_random import _libm_box_muller  # noqa: E402

pytestmark = pytest.mark.keras

UNIFORM = ["GlorotUniform", "HeUniform", "LecunUniform", "RandomUniform"]
NORMAL = ["GlorotNormal", "HeNormal", "LecunNormal", "RandomNormal", "TruncatedNormal"]
SHAPES = [(7,), (5, 3), (3, 3, 4, 8), (64, 32), (1, 7), (2, 3, 5)]
SEEDS = [1, 42, 123456789, 2**31 + 5]


def _pair(name, kwargs, shape, dt):
    k = np.asarray(getattr(keras.initializers, name)(**kwargs)(shape, dtype=dt), np.float64)
    t = getattr(I, name)(**kwargs)(shape, dtype=getattr(torch, dt)).double().numpy()
    return k, t


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_uniform_and_constant_initializers_bit_for_bit(dt):
    compared = 0
    for name in UNIFORM:
        for shape in SHAPES:
            for seed in SEEDS:
                k, t = _pair(name, {"seed": seed}, shape, dt)
                assert np.array_equal(k, t), (name, shape, seed)
                compared += k.size
    for name, kwargs in (("VarianceScaling", {"scale": 0.5, "mode": "fan_out", "distribution": "uniform", "seed": 4}),
                         ("VarianceScaling", {"scale": 3.0, "mode": "fan_avg", "distribution": "uniform", "seed": 9}),
                         ("RandomUniform", {"minval": -2.0, "maxval": 0.3, "seed": 5}),
                         ("Constant", {"value": 0.1}), ("Constant", {"value": -3}), ("Identity", {"gain": 2.5}),
                         ("Zeros", {}), ("Ones", {})):
        k, t = _pair(name, kwargs, (4, 4), dt)
        assert np.array_equal(k, t), (name, kwargs)
        compared += k.size
    print(f"{dt}: {compared} values of the uniform and constant initializers, all equal bit for bit")


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_normal_initializers_bitwise(dt):
    ulp_rel = 3e-7 if dt == "float32" else 1e-15  # relative to max(|value|, |mean|): a few ulps
    differ = total = 0
    worst = 0.0
    cases = [(name, {"seed": seed}) for name in NORMAL for seed in SEEDS]
    cases += [("VarianceScaling", {"scale": 2.0, "mode": "fan_avg", "distribution": "untruncated_normal", "seed": 6}),
              ("RandomNormal", {"mean": 1.5, "stddev": 0.2, "seed": 8}),
              ("TruncatedNormal", {"mean": -1.0, "stddev": 3.0, "seed": 8})]
    for name, kwargs in cases:
        for shape in SHAPES:
            k, t = _pair(name, kwargs, shape, dt)
            rel = np.abs(k - t) / np.maximum(np.abs(k), max(abs(kwargs.get("mean", 0.0)), 1e-30))
            differ += int((k != t).sum())
            total += k.size
            worst = max(worst, float(rel.max()))
    print(f"{dt}: normal initializers, {differ} of {total} values differ from Keras's (at most {worst:.1e} "
          f"relative)")
    if _libm_box_muller()[dt == "float64"]:  # glibc's functions, as TensorFlow's Box-Muller calls them
        assert differ == 0
    assert worst <= ulp_rel and differ <= 0.03 * total


@pytest.mark.parametrize("dt,tol", [("float32", 1e-5), ("float64", 1e-13)])
def test_orthogonal_within_qr_rounding(dt, tol):
    worst = 0.0
    for shape in [(5, 3), (3, 5), (3, 3, 4, 8), (64, 32), (32, 128), (24, 96)]:
        for seed in SEEDS[:3]:
            for gain in (1.0, 0.5):
                k, t = _pair("Orthogonal", {"gain": gain, "seed": seed}, shape, dt)
                worst = max(worst, float(np.abs(k - t).max() / np.abs(k).max()))
                q = t.reshape(-1, shape[-1]) / gain
                small = min(q.shape)
                gram = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
                assert np.allclose(gram, np.eye(small), atol=1e-5 if dt == "float32" else 1e-12)
    print(f"{dt}: Orthogonal within {worst:.1e} of its largest entry (orthonormal rows or columns)")
    assert worst <= tol


def test_unseeded_initializers_draw_from_pythons_random_as_keras():
    """``seed=None``: both draw ``random.randint(1, 10**9)`` when made, so after the same ``random.seed`` the
    initializers made in the same order give the same values; two unseeded ones differ."""
    random.seed(17)
    ks = [keras.initializers.GlorotUniform(), keras.initializers.RandomUniform(), keras.initializers.HeUniform()]
    random.seed(17)
    ts = [I.GlorotUniform(), I.RandomUniform(), I.HeUniform()]
    for k, t in zip(ks, ts):
        a, b = np.asarray(k((6, 4))), t((6, 4), dtype=torch.float32).numpy()
        assert np.array_equal(a, b)
    assert not np.array_equal(ts[0]((6, 4)).numpy(), I.GlorotUniform()((6, 4)).numpy())
    assert ts[0].get_config() == ks[0].get_config() == {"seed": None, "input_axes": None, "output_axes": None}
    print("unseeded initializers after random.seed(17): the same three draws as Keras's")


def test_names_configs_and_errors():
    for name in ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
                 "random_uniform", "random_normal", "truncated_normal", "orthogonal", "zeros", "ones", "identity",
                 "variance_scaling", "GlorotUniform", "uniform", "normal"):  # Keras cannot get("constant")
        k, t = keras.initializers.get(name), I.get(name)
        assert type(t).__name__ == type(k).__name__, name
        extra = {"gain"} if name == "identity" else set()  # Keras 3.15.1's Identity config drops its gain
        assert t.get_config().keys() == k.get_config().keys() | extra, (name, t.get_config(), k.get_config())
    for cls, kwargs in (("VarianceScaling", {"scale": 2.0, "mode": "fan_out", "distribution": "uniform", "seed": 3}),
                        ("HeUniform", {"seed": 2, "input_axes": [0, 1], "output_axes": [2]}),
                        ("RandomNormal", {"mean": 1.0, "stddev": 2.0, "seed": 1}), ("Orthogonal", {"gain": 2.0}),
                        ("Constant", {"value": 4.0}), ("HeNormal", {"seed": 12})):
        k, t = getattr(keras.initializers, cls)(**kwargs), getattr(I, cls)(**kwargs)
        assert t.get_config() == k.get_config(), cls
        assert type(t).from_config(t.get_config()).get_config() == t.get_config()
        serialized = keras.initializers.serialize(k)
        assert I.get({"class_name": serialized["class_name"], "config": serialized["config"]}).get_config() == \
            t.get_config()
    for bad in (lambda: I.Orthogonal(seed=1)((5,)), lambda: I.Identity()((2, 2, 2)),
                lambda: I.VarianceScaling(scale=0.0), lambda: I.VarianceScaling(mode="fan"),
                lambda: I.VarianceScaling(distribution="gamma"), lambda: I.GlorotUniform(seed=1.5),
                lambda: I.get("glorot"), lambda: I.Zeros()((2,), dtype=torch.int64)):
        with pytest.raises(ValueError):
            bad()
    print("names, configs (and Keras's serialized form) as keras.initializers; bad arguments raise ValueError")


def _max_diff(km, tm) -> float:
    return max(float(np.max(np.abs(a - b))) for a, b in zip(km.get_weights(), tnn.keras_weights(tm)))


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_keras_init_with_a_seed_gives_keras_models_initial_weights(dt):
    """``keras.utils.set_random_seed(s)`` then a Keras model, against ``keras_init_(torch model, seed=s)``: Dense,
    Dropout (its masks too), Conv2D, Embedding, LSTM, GRU, SimpleRNN, stacked and Bidirectional LSTMs."""
    dtype = getattr(torch, dt)
    with _precision(dt):
        for seed in (3, 11):
            keras.utils.set_random_seed(seed)
            km = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="relu"),
                                   keras.layers.Dropout(0.3), keras.layers.Dense(4)])
            tm = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), tnn.Dropout(0.3), torch.nn.Linear(5, 4))
            tnn.keras_init_(tm.to(dtype), seed=seed)
            assert _max_diff(km, tm) == 0.0
            x = np.random.default_rng(seed).normal(size=(8, 6)).astype(dt)
            np.testing.assert_allclose(tm.train()(torch.from_numpy(x)).detach().numpy(), np.asarray(km(x, training=True)),
                                       rtol=1e-12 if dt == "float64" else 1e-5,  # the same masks
                                       atol=0 if dt == "float64" else 1e-6)  # (float32 to DESIGN.md's standard)

            keras.utils.set_random_seed(seed)
            km = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3), keras.layers.Flatten(),
                                   keras.layers.Dense(2)])
            tm = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.Linear(144, 2)).to(dtype)
            tnn.keras_init_(tm, seed=seed)
            assert _max_diff(km, tm) == 0.0

            keras.utils.set_random_seed(seed)
            km = keras.Sequential([keras.Input((5,)), keras.layers.Embedding(20, 4),
                                   keras.layers.LSTM(6, return_sequences=True), keras.layers.GRU(3, return_sequences=True),
                                   keras.layers.SimpleRNN(2)])
            tm = torch.nn.ModuleDict({"e": torch.nn.Embedding(20, 4), "l": torch.nn.LSTM(4, 6, batch_first=True),
                                      "g": torch.nn.GRU(6, 3, batch_first=True),
                                      "r": torch.nn.RNN(3, 2, batch_first=True)}).to(dtype)
            tnn.keras_init_(tm, seed=seed)
            rnn = _max_diff(km, tm)

            keras.utils.set_random_seed(seed)
            km = keras.Sequential([keras.Input((5, 4)), keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True)),
                                   keras.layers.Bidirectional(keras.layers.LSTM(3))])
            tm = torch.nn.LSTM(4, 3, num_layers=2, bidirectional=True, batch_first=True).to(dtype)
            tnn.keras_init_(tm, seed=seed)
            bidirectional = _max_diff(km, tm)
            print(f"{dt} seed {seed}: Dense/Dropout/Conv2D/Embedding kernels equal bit for bit, Dropout masks too; "
                  f"recurrent stacks within {rnn:.1e}, Bidirectional within {bidirectional:.1e} (orthogonal QR)")
            assert max(rnn, bidirectional) <= (1e-6 if dt == "float32" else 1e-14)


def test_fit_from_the_same_seed_without_sharing_weights():
    """A Keras script seeds and builds its model; the torch port builds its own and calls ``keras_init_(seed=)``:
    no weights cross between the two, and the float64 histories agree in every epoch."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 5))
    y = np.argmax(x[:, :3] + 0.5 * rng.normal(size=(150, 3)), 1)
    with _precision("float64"):
        keras.utils.set_random_seed(21)
        km = keras.Sequential([keras.Input((5,)), keras.layers.Dense(16, activation="relu"),
                               keras.layers.Dropout(0.2), keras.layers.Dense(3, activation="softmax")])
        km.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        kh = km.fit(x, y, batch_size=32, epochs=4, shuffle=False, verbose=0).history
        tm = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.ReLU(), tnn.Dropout(0.2), torch.nn.Linear(16, 3))
        tnn.keras_init_(tm, seed=21)
        th = tfit.fit(tm, x, y, loss="sparse_categorical_crossentropy", output_activation="softmax",
                      optimizer=optim.Adam(tm.parameters(), 0.01), batch_size=32, epochs=4, shuffle=False, verbose=0,
                      metrics=["accuracy"]).history
    print("fit from keras.utils.set_random_seed(21) and keras_init_(seed=21), no weights shared:")
    _check_history(th, kh, "float64")


def test_fan_axes_like_keras():
    """``input_axes``/``output_axes`` (Keras 3.15's fans of an einsum kernel): the same values."""
    for name in ("HeUniform", "GlorotUniform", "LecunUniform"):
        for axes in (([0], [1, 2]), ([0, 1], [2])):
            kw = {"seed": 7, "input_axes": axes[0], "output_axes": axes[1]}
            k, t = _pair(name, kw, (4, 3, 5), "float32")
            assert np.array_equal(k, t), (name, axes)
    print("input_axes/output_axes: the uniform presets equal Keras's bit for bit")


def test_initialize_layers_like_keras_layer_arguments():
    """``initialize(module, kernel_initializer=..., bias_initializer=...)`` as Keras's ``Dense(...,
    kernel_initializer=..., bias_initializer=...)`` / ``Embedding(embeddings_initializer=...)``; ``keras_init_``
    keeps them, and with ``seed=`` replays their draws (one per unseeded random initializer, kernel before bias;
    a seeded one draws none)."""
    worst = 0.0
    for seed in (3, 11, 40):
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([
            keras.Input((6,)),
            keras.layers.Dense(5, activation="relu", kernel_initializer="he_normal", bias_initializer="random_uniform"),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(4, kernel_initializer=keras.initializers.LecunUniform(seed=9), bias_initializer="ones"),
            keras.layers.Embedding(7, 3, embeddings_initializer="random_normal")])
        tm = torch.nn.Sequential(
            I.initialize(torch.nn.Linear(6, 5), kernel_initializer="he_normal", bias_initializer="random_uniform"),
            torch.nn.ReLU(), tnn.Dropout(0.3),
            I.initialize(torch.nn.Linear(5, 4), kernel_initializer=I.LecunUniform(seed=9), bias_initializer="ones"),
            I.initialize(torch.nn.Embedding(7, 3), kernel_initializer="random_normal"))
        tnn.keras_init_(tm, seed=seed)
        for k, t in zip(km.get_weights(), tnn.keras_weights(tm)):
            worst = max(worst, float(np.max(np.abs(k - t) / np.maximum(np.abs(k), 1e-30))))
        before = [p.detach().clone() for p in tm.parameters()]
        tnn.keras_init_(tm)  # no seed: the initializers given keep their values (int-seeded or drawn seeds)
        assert all(torch.equal(a, b) for a, b in zip(before, tm.parameters()))
    conv = I.initialize(torch.nn.Conv2d(3, 4, 2), kernel_initializer=I.HeUniform(seed=5))
    k = np.asarray(keras.initializers.HeUniform(seed=5)((2, 2, 3, 4)))
    assert np.array_equal(conv.weight.detach().permute(2, 3, 1, 0).numpy(), k)
    with pytest.raises(ValueError, match="bias"):
        I.initialize(torch.nn.Linear(2, 2, bias=False), bias_initializer="zeros")
    print(f"initialize(): Keras's layer-argument initializers, seeded models within {worst:.1e} relative (the "
          "he_normal/random_normal draws: bit for bit with glibc); keras_init_ keeps them; a conv kernel in Keras's "
          "layout")
    assert worst <= (0.0 if _libm_box_muller()[0] else 3e-7)


def test_spec_models_with_initializers_and_a_seed():
    """A model spec with ``kernel_initializer``/``bias_initializer`` keys, built on both sides after the same seed:
    ``keras_impl``'s model under ``keras.utils.set_random_seed`` and ``torch_impl``'s with ``keras_init_(seed=)``."""
    from keras_impl.models import build_model as keras_build

    spec = {"input_dim": 5, "layers": [
        {"type": "dense", "units": 8, "activation": "relu", "kernel_initializer": "he_uniform",
         "bias_initializer": {"class_name": "Constant", "config": {"value": 0.1}}},
        {"type": "dense", "units": 3, "activation": "softmax", "kernel_initializer": "lecun_uniform"}]}
    keras.utils.set_random_seed(8)
    km = keras_build(spec)
    tm = tnn.build_model(spec)
    tnn.keras_init_(tm, seed=8)
    diffs = [float(np.max(np.abs(k - t))) for k, t in zip(km.get_weights(), tnn.keras_weights(tm))]
    print(f"spec with initializers after seed 8: largest difference per weight {diffs}")
    assert max(diffs) == 0.0


def test_audit_cases_like_keras():
    """What a read-only audit against Keras found (fixed), each against Keras again: zero-size truncated-normal
    draws; Orthogonal in float16; a rate-0 Dropout draws no seed; SpatialDropout (torch's ``Dropout1d``...)
    draws one; a transposed convolution's kernel in Keras's layout; bfloat16 models; an unsupported layer
    raises before anything changes; seeds outside ``set_random_seed``'s range raise."""
    assert I.HeNormal(seed=1)((0, 4)).shape == (0, 4)
    assert tuple(keras.initializers.HeNormal(seed=1)((0, 4)).shape) == (0, 4)
    k = np.asarray(keras.initializers.Orthogonal(seed=3)((5, 3), dtype="float16"), np.float64)
    t = I.Orthogonal(seed=3)((5, 3), dtype=torch.float16).double().numpy()
    assert np.abs(k - t).max() <= 2e-3, np.abs(k - t).max()  # half rounding of two QR implementations
    for seed in (5, 77):
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5), keras.layers.Dropout(0.0),
                               keras.layers.Dense(2)])
        tm = torch.nn.Sequential(torch.nn.Linear(4, 5), tnn.Dropout(0.0), torch.nn.Linear(5, 2))
        tnn.keras_init_(tm, seed=seed)
        assert _max_diff(km, tm) == 0.0
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((6, 3)), keras.layers.Conv1D(4, 2), keras.layers.SpatialDropout1D(0.2),
                               keras.layers.Conv1D(2, 2)])
        tm = torch.nn.Sequential(torch.nn.Conv1d(3, 4, 2), torch.nn.Dropout1d(0.2), torch.nn.Conv1d(4, 2, 2))
        tnn.keras_init_(tm, seed=seed)
        assert _max_diff(km, tm) == 0.0
    conv_t = I.initialize(torch.nn.ConvTranspose2d(2, 3, (4, 5)), kernel_initializer=I.GlorotUniform(seed=4))
    k = np.asarray(keras.initializers.GlorotUniform(seed=4)((4, 5, 3, 2)))
    assert np.array_equal(conv_t.weight.detach().permute(2, 3, 1, 0).numpy(), k)
    keras.utils.set_random_seed(1)
    km = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, dtype="bfloat16")])
    tm = tnn.keras_init_(torch.nn.Sequential(torch.nn.Linear(3, 2)).to(torch.bfloat16), seed=1)
    assert _max_diff(km, tm) == 0.0
    untouched = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Bilinear(2, 2, 1))
    before = [p.detach().clone() for p in untouched.parameters()]
    with pytest.raises(ValueError, match="keras_init_"):
        tnn.keras_init_(untouched, seed=1)
    assert all(torch.equal(a, b) for a, b in zip(before, untouched.parameters()))
    for bad in (-3, 2**32, 1.5):
        with pytest.raises(ValueError, match="seed"):
            tnn.keras_init_(torch.nn.Linear(2, 2), seed=bad)
    print("zero-size, float16 Orthogonal, rate-0 Dropout, SpatialDropout1D, Conv2DTranspose, bfloat16, "
          "raise-before-change and seed range: as Keras")

"""``torch_impl.keras_random`` against ``keras.random`` on TensorFlow (Keras 3.15.1, CPU).

Measured (this file, ``python -m pytest -q -s parity_tests/test_keras_random_keras.py``):

| draw                          | cases                                        | result                                    |
|-------------------------------|----------------------------------------------|-------------------------------------------|
| uniform                       | 4 dtypes x 5 shapes x 6 seeds, bounds cast    | equal bit for bit                         |
| randint                       | 5 int dtypes, ranges up to 2**63, 3 seeds     | equal                                     |
| dropout, shuffle              | rates, noise_shape, axes, float32/float64     | equal                                     |
| SeedGenerator, global (None)  | 6 draws each, the state after                 | equal draws, equal state                  |
| normal, truncated_normal      | float32/float64, 6 shapes, 6 seeds            | equal bit for bit                         |
| gamma, beta                   | 5 alphas, per-column alphas, 2 betas, 4 dtypes| equal (float64 too)                       |
| binomial                      | BTRS and inversion, p > 0.5, edges, broadcast | equal (80 draws, 4 dtypes)                |
| categorical                   | up to 2000 rows (TensorFlow's thread blocks)  | equal                                     |
| errors                        | 9 inputs Keras rejects                        | the same exception type and message       |

The normal draws replay glibc's ``logf``/``sincosf`` (float32) and call its ``log``/``sin``/``cos`` (float64), as
TensorFlow's Box-Muller does (Linux; elsewhere float64 math rounded, an ulp off on ~1% of the values).
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from torch_impl import _tf_random
from torch_impl import keras_random as R

keras = pytest.importorskip("keras")

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

SEEDS = [0, 1, 42, -5, 2**31, 2**40 + 3]
SHAPES = [(3,), (5, 7), (2, 3, 4), (0,), ()]
FLOATS = ["float16", "bfloat16", "float32", "float64"]


def _np(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return (x.float() if x.dtype == torch.bfloat16 else x).numpy()
    x = keras.ops.convert_to_numpy(keras.ops.cast(x, "float32") if "bfloat16" in str(x.dtype) else x)
    return np.asarray(x)


def _equal(ours, theirs, what: str) -> None:
    a, b = _np(ours), _np(theirs)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    assert a.dtype == b.dtype, (what, a.dtype, b.dtype)
    assert np.array_equal(a, b, equal_nan=True), (what, a.ravel()[:6], b.ravel()[:6])


def test_uniform_bit_for_bit():
    n = 0
    for dt in FLOATS:
        for shape in SHAPES:
            for seed in SEEDS:
                for lo, hi in [(0.0, 1.0), (-1.5, 3.0), (0.1, 0.7)]:
                    _equal(R.uniform(shape, lo, hi, dtype=dt, seed=seed),
                           keras.random.uniform(shape, lo, hi, dtype=dt, seed=seed), f"uniform {dt} {shape} {seed}")
                    n += 1
    print(f"uniform: {n} draws equal bit for bit")


def test_uniform_default_dtype_is_floatx():
    old = keras.config.floatx()
    try:
        keras.config.set_floatx("float64")
        with torch.random.fork_rng():
            torch.set_default_dtype(torch.float64)
            try:
                _equal(R.uniform((4,), 0.1, 0.9, seed=3), keras.random.uniform((4,), 0.1, 0.9, seed=3), "floatx")
            finally:
                torch.set_default_dtype(torch.float32)
    finally:
        keras.config.set_floatx(old)


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_normal_and_truncated_normal_bitwise(dt):
    worst, equal, total = 0.0, 0, 0
    for fn in ("normal", "truncated_normal"):
        for shape in SHAPES + [(64, 33)]:
            for seed in SEEDS:
                ours = getattr(R, fn)(shape, mean=0.5, stddev=2.0, dtype=dt, seed=seed)
                theirs = getattr(keras.random, fn)(shape, mean=0.5, stddev=2.0, dtype=dt, seed=seed)
                a, b = _np(ours), _np(theirs)
                assert a.dtype == b.dtype and a.shape == b.shape
                z = np.abs((b - b.dtype.type(0.5)) / b.dtype.type(2.0))  # the standard draw: ulps on its scale
                ulps = np.abs(a - b) / (2 * np.spacing(z) + np.spacing(np.abs(b))) if b.size else np.zeros(0)
                worst = max(worst, float(ulps.max(initial=0.0)))
                equal += int((a.view(f"u{a.itemsize}") == b.view(f"u{b.itemsize}")).sum())
                total += a.size
    print(f"normal/truncated_normal {dt}: {equal}/{total} equal bit for bit, worst {worst:.2f} ulp")
    if _tf_random._libm_box_muller()[dt == "float64"]:  # TensorFlow's libm functions: glibc's (Linux)
        assert equal == total and worst == 0.0
    assert worst <= 2.0  # elsewhere float64 math rounded: one ulp of the standard draw, doubled by stddev 2


def test_half_normals_equal():
    for dt in ("float16", "bfloat16"):
        for seed in SEEDS:
            _equal(R.normal((6, 5), dtype=dt, seed=seed), keras.random.normal((6, 5), dtype=dt, seed=seed), dt)


@pytest.mark.parametrize("dt", ["int32", "int64", "int16", "int8", "uint8"])
def test_randint_equal(dt):
    ranges = [(0, 10), (3, 4), (0, 100)]
    if dt in ("int32", "int64"):
        ranges += [(-5, 5), (0, 2**31 - 1), (-(2**31), 2**31 - 1)]
    if dt == "int64":
        ranges += [(0, 2**40), (-(2**62), 2**62), (7, 2**33 + 5)]
    for lo, hi in ranges:
        for seed in (0, 7, 123456):
            _equal(R.randint((4, 5), lo, hi, dtype=dt, seed=seed),
                   keras.random.randint((4, 5), lo, hi, dtype=dt, seed=seed), f"randint {dt} [{lo}, {hi})")
    print(f"randint {dt}: {len(ranges) * 3} draws equal")


def test_seed_generator_stream_and_state():
    ours, theirs = R.SeedGenerator(1337), keras.random.SeedGenerator(1337)
    draws = [("normal", (3, 2)), ("uniform", (5,)), ("truncated_normal", (4,)), ("randint", (3,))]
    for i in range(6):
        fn, shape = draws[i % len(draws)]
        kw = {"minval": 0, "maxval": 9} if fn == "randint" else {"dtype": "float32"}
        a = getattr(R, fn)(shape, seed=ours, **kw)
        b = getattr(keras.random, fn)(shape, seed=theirs, **kw)
        if fn in ("normal", "truncated_normal"):
            np.testing.assert_allclose(_np(a), _np(b), rtol=2.4e-7)
        else:
            _equal(a, b, f"generator draw {i}")
    assert ours.state == tuple(int(v) for v in theirs.state.numpy()) == (1337, 6)
    assert ours.get_config() == theirs.get_config() | {"name": ours.name} and ours.get_config()["seed"] == 1337
    print("SeedGenerator(1337): 6 draws equal, state", ours.state)


def test_unordered_step_and_global_generator_after_set_random_seed():
    gk = keras.random.SeedGenerator(5)
    go = R.SeedGenerator(5)
    for _ in range(4):
        assert go.next(ordered=False) == tuple(int(v) for v in gk.next(ordered=False).numpy())
    assert go.state == tuple(int(v) for v in gk.state.numpy())
    keras.utils.set_random_seed(11)
    theirs = [_np(keras.random.uniform((3,), dtype="float32")) for _ in range(5)]
    R.set_random_seed(11)
    ours = [_np(R.uniform((3,), dtype="float32")) for _ in range(5)]
    for a, b in zip(ours, theirs):
        assert np.array_equal(a, b)
    print("global generator after set_random_seed(11): 5 draws equal")


def test_seed_generator_without_seed_uses_python_random():
    random.seed(99)
    theirs = keras.random.SeedGenerator()
    random.seed(99)
    ours = R.SeedGenerator()
    assert ours.state == tuple(int(v) for v in theirs.state.numpy())


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_dropout_equal(dt):
    x = np.arange(1, 49, dtype=dt).reshape(4, 12) / 7
    for seed in (1, 2, 3, -8):
        for rate, noise_shape in [(0.3, None), (0.5, (None, 1)), (0.5, (1, None)), (0.9, None), (0.0, None),
                                  (1.0, None)]:
            _equal(R.dropout(torch.tensor(x), rate, noise_shape=noise_shape, seed=seed),
                   keras.random.dropout(x, rate, noise_shape=noise_shape, seed=seed), f"dropout {rate} {seed}")
    gk, go = keras.random.SeedGenerator(4), R.SeedGenerator(4)
    for _ in range(3):
        _equal(R.dropout(torch.tensor(x), 0.25, seed=go), keras.random.dropout(x, 0.25, seed=gk), "dropout stream")


def test_dropout_keeps_gradient_of_kept_entries():
    x = torch.linspace(-1, 1, 20, dtype=torch.float64, requires_grad=True)
    y = R.dropout(x, 0.4, seed=3)
    y.sum().backward()
    mask = np.asarray(keras.random.dropout(np.ones(20), 0.4, seed=3)) != 0
    np.testing.assert_array_equal(x.grad.numpy(), np.where(mask, 1 / 0.6, 0.0))


def test_shuffle_equal():
    x = np.arange(60, dtype="float32").reshape(6, 10)
    for seed in (1, 2, 3, 77):
        for axis in (0, 1, -1):
            _equal(R.shuffle(torch.tensor(x), axis=axis, seed=seed), keras.random.shuffle(x, axis=axis, seed=seed),
                   f"shuffle axis {axis} seed {seed}")


@pytest.mark.parametrize("call", [
    lambda m: m.uniform((2,), dtype="int32", seed=1),
    lambda m: m.randint((2,), 0, 5, dtype="float32", seed=1),
    lambda m: m.normal((2,), seed=1.5),
    lambda m: m.dropout(np.ones(2, dtype="float32") if m is keras.random else torch.ones(2), 1.5, seed=1),
    lambda m: m.dropout(np.ones(2, dtype="float32") if m is keras.random else torch.ones(2), -0.5, seed=1),
    lambda m: m.SeedGenerator(1.5),
    lambda m: m.SeedGenerator(1, foo=2),
    lambda m: m.randint((2,), 5, 5, seed=1),
    lambda m: m.normal((-1, 2), seed=1),
], ids=["uniform-int", "randint-float", "float-seed", "rate>1", "rate<0", "generator-float", "generator-kwarg",
        "randint-empty-range", "negative-dim"])
def test_errors_like_keras(call):
    with pytest.raises(Exception) as theirs:
        call(keras.random)
    with pytest.raises(Exception) as ours:
        call(R)
    if type(theirs.value).__name__ in ("ValueError", "TypeError"):
        assert type(ours.value) is type(theirs.value)
        assert str(ours.value).split(".")[0][:40] == str(theirs.value).split(".")[0][:40], (ours.value, theirs.value)
    else:  # TensorFlow's InvalidArgumentError: a ValueError here, with its message
        assert isinstance(ours.value, ValueError)
        assert str(ours.value).split(" (")[0] in str(theirs.value), (ours.value, theirs.value)
    print(f"{type(theirs.value).__name__}: {str(theirs.value)[:80]}")


def test_vae_sampling_port():
    """keras.io's VAE ``Sampling``: ``z_mean + exp(0.5 z_log_var) * keras.random.normal(shape, seed=gen)``, its
    value and gradient in float64 after three calls of the layer's generator."""
    import tensorflow as tf
    rng = np.random.default_rng(0)
    zm, zv = rng.normal(size=(5, 2)), rng.normal(size=(5, 2)) * 0.3
    gk, go = keras.random.SeedGenerator(1337), R.SeedGenerator(1337)
    for _ in range(3):
        tm, tv = tf.Variable(zm), tf.Variable(zv)
        with tf.GradientTape() as tape:
            zk = tm + tf.exp(0.5 * tv) * keras.random.normal((5, 2), dtype="float64", seed=gk)
            lk = tf.reduce_sum(zk ** 2)
        gm, gv = tape.gradient(lk, [tm, tv])
        om = torch.tensor(zm, requires_grad=True)
        ov = torch.tensor(zv, requires_grad=True)
        zo = om + torch.exp(0.5 * ov) * R.normal((5, 2), dtype="float64", seed=go)
        (zo ** 2).sum().backward()
        rel = max(np.abs(zo.detach().numpy() - zk.numpy()).max() / np.abs(zk.numpy()).max(),
                  np.abs(ov.grad.numpy() - gv.numpy()).max() / np.abs(gv.numpy()).max(),
                  np.abs(om.grad.numpy() - gm.numpy()).max() / np.abs(gm.numpy()).max())
        assert rel <= 1e-15, rel
    print(f"VAE sampling, 3 draws: within {rel:.1e}")


@pytest.mark.parametrize("dt", ["float32", "float64", "float16", "bfloat16"])
def test_gamma_and_beta(dt):
    worst, equal, total = 0.0, 0, 0
    gk, go = keras.random.SeedGenerator(3), R.SeedGenerator(3)
    cases = [("gamma", dict(shape=(40,), alpha=a)) for a in (0.2, 0.5, 1.0, 2.5, 9.0)]
    cases += [("gamma", dict(shape=(8, 3), alpha=np.array([0.3, 1.0, 4.0], dtype="float32")))]
    cases += [("beta", dict(shape=(30,), alpha=0.2, beta=0.2)), ("beta", dict(shape=(4, 5), alpha=2.0, beta=0.7))]
    for fn, kw in cases:
        for seed in (1, 77, "generator"):
            s_k, s_o = (gk, go) if seed == "generator" else (seed, seed)
            kw_o = {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
            a = _np(getattr(R, fn)(dtype=dt, seed=s_o, **kw_o))
            b = _np(getattr(keras.random, fn)(dtype=dt, seed=s_k, **kw))
            assert a.dtype == b.dtype and a.shape == b.shape, (fn, kw, a.dtype, b.dtype)
            np.testing.assert_array_equal(a, b, err_msg=f"{fn} {kw} {seed}")  # float64 too: the C library's log/pow
            worst = max(worst, float(np.abs(a - b).max() / np.abs(b).max()))
            equal += int((a == b).sum())
            total += a.size
    print(f"gamma/beta {dt}: {equal}/{total} equal, worst relative {worst:.1e}")
    assert worst == 0.0 and equal == total


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_gamma_kernel_bit_for_bit_many_draws(dt):
    """``keras.random.gamma`` over many draws per alpha: the kernel's float64 ``log``/``log1p``/``pow`` (the C
    library's), ``1.0 / 3 / sqrt(d)`` a true division (torch's ``scalar / tensor`` is a reciprocal times), and the
    subnormal ``pow(b, 1 / alpha)`` flushed to zero (alpha 0.001: the draw is then Keras's ``tiny``, not above it)."""
    worst, total = 0.0, 0
    for alpha, n in ((0.001, 40000), (0.3, 6000), (1.0, 6000), (2.5, 6000), (3.0, 6000), (-0.5, 6000)):
        a = _np(R.gamma((n,), alpha, dtype=dt, seed=5))
        b = _np(keras.random.gamma((n,), alpha, dtype=dt, seed=5))
        fin = np.isfinite(b)
        worst = max(worst, float(np.max(np.abs(a[fin] - b[fin]) / np.spacing(np.abs(b[fin])))))
        total += n
        np.testing.assert_array_equal(a, b, err_msg=f"gamma alpha {alpha} {dt}")
    print(f"gamma {dt}: {total} draws over 6 alphas, worst {worst:.2g} ulp")


def test_categorical_including_tensorflows_thread_blocks():
    """Small batches read one stream; large ones are split over TensorFlow's thread pool (Eigen's parallelFor
    blocks, each reading from its own offset): matched for this machine's thread count."""
    rng = np.random.default_rng(0)
    n = 0
    for rows, classes, samples in [(1, 10, 5), (4, 7, 3), (32, 10, 1), (64, 50, 8), (256, 100, 4), (37, 200, 17),
                                   (2000, 10, 1)]:
        logits = (rng.normal(size=(rows, classes)) * 2).astype("float32")
        logits[0, 0] = -np.inf  # a masked class is never drawn
        for seed in (1, 5):
            for dt in ("int32", "int64"):
                _equal(R.categorical(torch.tensor(logits), samples, dtype=dt, seed=seed),
                       keras.random.categorical(logits, samples, dtype=dt, seed=seed), f"{rows}x{classes} {seed}")
                n += 1
    g_k, g_o = keras.random.SeedGenerator(9), R.SeedGenerator(9)
    for _ in range(3):
        _equal(R.categorical(torch.tensor([[0.5, -1.0, 2.0]], dtype=torch.float64), 4, seed=g_o),
               keras.random.categorical(np.array([[0.5, -1.0, 2.0]]), 4, seed=g_k), "generator")
    with pytest.raises(ValueError, match="2-D"):
        R.categorical(torch.zeros(3), 2, seed=1)
    print(f"categorical: {n + 3} draws equal (up to 2000 rows, {R._tf_threads()} TensorFlow threads)")


def test_binomial():
    """Both of TensorFlow's algorithms (BTRS where ``count * p >= 10``, inversion below), ``p > 0.5`` mirrored, the
    edge counts and probabilities, broadcast parameters, every float dtype."""
    n = 0
    cases = [(10.0, 0.3), (100.0, 0.4), (50.0, 0.9), (5.0, 0.95), (0.0, 0.5), (7.0, 0.0), (7.0, 1.0), (1000.0, 0.5),
             (np.array([10.0, 20.0], dtype="float32"), np.array([0.8], dtype="float32")),
             (np.array([[30.0], [4.0]], dtype="float32"), np.array([0.1, 0.6, 0.99], dtype="float32"))]
    for counts, probs in cases:
        bshape = np.broadcast_shapes(np.shape(counts), np.shape(probs))
        for dt in ("float32", "float64", "float16", "bfloat16"):
            for seed in (1, 23):
                kw_o = dict(counts=torch.tensor(counts) if isinstance(counts, np.ndarray) else counts,
                            probabilities=torch.tensor(probs) if isinstance(probs, np.ndarray) else probs)
                _equal(R.binomial((12,) + bshape, dtype=dt, seed=seed, **kw_o),
                       keras.random.binomial((12,) + bshape, counts=counts, probabilities=probs, dtype=dt, seed=seed),
                       f"binomial {counts} {probs} {dt}")
                n += 1
    print(f"binomial: {n} draws equal bit for bit")

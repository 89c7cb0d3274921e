"""Keras's Adafactor: every step against Keras 3.15.1's ``apply_gradients`` inside a ``tf.function`` (what
``model.fit`` runs), on the harness of ``test_optim_fuzz_keras.py``; then ``fit`` against ``model.fit``, and
``torch.optim.Adafactor`` against both.

Adafactor's factored second moment takes means along the last and the second-to-last axis of every gradient
of rank >= 2, and RMSs of the weights and of the update. TensorFlow sums them in Eigen's orders, which
``torch_impl._ops.tf_mean`` reproduces (first test: exact against ``tf.reduce_mean`` for every axis of 2-D to
4-D tensors, and for full means up to TensorFlow's threading limit; then rows past Eigen's leaf size, split at
absolute packet-aligned offsets, and full sums split over TensorFlow's threads). The standard is then the fuzz's:
float64 bit for bit; float32 bit for bit except TensorFlow's approximate vectorized ``Rsqrt`` (``fit`` computes
``g / sqrt(v)`` as ``g * rsqrt(v)``), there within 1e-6 of each tensor's largest entry.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras_impl.models import build_model as keras_build  # noqa: E402
from parity_tests.grid import every_nth  # noqa: E402
from parity_tests.test_field_scripts_round2 import _check_history, _precision  # noqa: E402
from parity_tests.test_optim_fuzz_keras import (SCHEDULES, SHAPES, _grads, check, dense_classifier_case,  # noqa: E402
                                                random_rate, random_shared_options)
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl._ops import _tf_sum_axis, tf_mean, tf_sum  # noqa: E402
from torch_impl.nn import build_model, load_keras_weights  # noqa: E402

pytestmark = pytest.mark.keras

# the fuzz's shapes (2-D, 1-D, one element, 0-d) and factored ones of rank 3 and 4 (a Conv2D kernel)
ADA_SHAPES = SHAPES + [(3, 4, 5), (2, 3, 17, 20), (40, 33)]


@tf.function(autograph=False, reduce_retracing=True)
def _tf_reduce_mean(x, axis):
    return tf.reduce_mean(x, axis=axis)


def test_tf_mean_is_tensorflows_reduce_mean():
    """``tf_mean`` against ``tf.reduce_mean`` in a ``tf.function``: every axis and the full mean of 2-D to 4-D
    tensors (packets that cross rows, axes of size 1, reductions of 16 or more rows), float32 and float64."""
    rng = np.random.default_rng(7)
    shapes = [(30, 7), (7, 300), (3, 5, 45), (257, 33), (2, 9000), (9000, 3), (4, 3, 2, 70), (1, 5), (5, 1),
              (3, 1, 20), (3, 20, 1), (3, 3, 16, 32), (5, 5, 3, 8), (2, 17, 9), (16, 16), (3, 17, 5), (2, 33, 12)]
    # random shapes of up to 50k elements (a full sum above about 100k TensorFlow splits over its threads)
    shapes += [tuple(int(v) for v in rng.integers(1, 15, size=rng.integers(2, 5))) for _ in range(20)]
    n = 0
    for dt in (np.float32, np.float64):
        for shape in shapes:
            a = (rng.normal(size=shape) * rng.uniform(0.1, 10, size=shape)).astype(dt)
            for axis in [None] + list(range(-len(shape), 0)):
                ref = _tf_reduce_mean(tf.constant(a), axis).numpy()
                ours = tf_mean(torch.from_numpy(a), axis).numpy()
                assert ours.shape == ref.shape and ours.dtype == ref.dtype, (shape, axis)
                assert np.array_equal(ours, ref), (dt.__name__, shape, axis, int((ours != ref).sum()))
                n += 1
    kept = tf_mean(torch.from_numpy(a), -2, keepdims=True)
    assert tuple(kept.shape) == a.shape[:-2] + (1, a.shape[-1])
    print(f"tf_mean: {n} reductions (every axis and the full mean of {len(shapes)} shapes x 2 dtypes) equal to "
          "tf.reduce_mean bit for bit")


def _check_long_rows(cases, rng) -> tuple:
    """``(rows, n, dtype)`` cases: the row sums (``_tf_sum_axis``), row means (``tf_mean``) and the full sum and mean
    (``tf_sum``/``tf_mean``) against TensorFlow's, bit for bit; returns (reductions, largest abs diff)."""
    count, worst = 0, 0.0
    for rows, n, dt in cases:
        a = (rng.normal(size=(rows, n)) * rng.uniform(0.1, 10, size=(rows, n))).astype(dt)
        t, x, packet = tf.constant(a), torch.from_numpy(a), 8 if dt in (np.float32, np.float16) else 4
        pairs = [(_tf_sum_axis(a, 1, packet), tf.reduce_sum(t, axis=-1).numpy())]
        if dt != np.float16:
            pairs += [(tf_mean(x, -1).numpy(), keras.ops.mean(t, axis=-1).numpy()),
                      (tf_sum(x).numpy(), tf.reduce_sum(t).numpy()), (tf_mean(x).numpy(), tf.reduce_mean(t).numpy())]
        for ours, ref in pairs:
            worst = max(worst, float(np.abs(ours.astype(np.float64) - ref).max()))
            assert ours.dtype == ref.dtype and np.array_equal(ours, ref), (rows, n, dt.__name__, ours - ref)
            count += 1
    return count, worst


def test_long_rows_split_at_absolute_packet_offsets():
    """Rows longer than Eigen's leaf (8,192 float32, 4,096 float64 elements) split at a packet-aligned absolute
    index, so a row whose flat offset ``r * n`` is not packet-aligned splits elsewhere than row 0 (this emulation
    split every row at its own offset before: float32 rows of 8,193 were a last bit off, 6.1e-5)."""
    cases = [(rows, n, dt) for dt in (np.float32, np.float64) for n in (8191, 8193, 16385) for rows in (3, 5)]
    count, worst = _check_long_rows(cases, np.random.default_rng(48))
    # a full sum past Eigen's threading threshold: blocks over TensorFlow's default thread count (one on one CPU)
    a = np.random.default_rng(49).normal(size=333333).astype(np.float32)
    ours, ref = tf_sum(torch.from_numpy(a)).numpy(), tf.reduce_sum(tf.constant(a)).numpy()
    assert ours == ref, (ours, ref)
    print(f"long rows: {count} reductions of (3|5) x (8191|8193|16385) float32/float64 and a full sum of 333,333 "
          f"equal to TensorFlow's, max abs diff {worst:.1e}")


@pytest.mark.slow
def test_long_rows_and_threaded_full_sums_grid():
    """The grid: rows 1-5 x n in {8191, 8192, 8193, 10000, 16385, 40000, 100003}, float32/float64, and float16 rows
    (leaf 1,600); full sums past Eigen's threading threshold (108,387 float32 / 54,194 float64 elements: blocks of
    ``n // threads`` from their absolute offsets, at TensorFlow's default thread count)."""
    rng = np.random.default_rng(4848)
    cases = [(rows, n, dt) for dt in (np.float32, np.float64) for n in (8191, 8192, 8193, 10000, 16385, 40000, 100003)
             for rows in range(1, 6)]
    cases += [(rows, n, np.float16) for n in (1601, 1603, 3207, 12345) for rows in (1, 2, 3, 5, 9)]
    count, worst = _check_long_rows(cases, rng)
    full = 0
    for dt in (np.float32, np.float64):
        for n in (54193, 54194, 54195, 108386, 108387, 150007, 333333, 1000003):
            a = (rng.normal(size=n) * 3).astype(dt)
            assert tf_sum(torch.from_numpy(a)).numpy() == tf.reduce_sum(tf.constant(a)).numpy(), (dt.__name__, n)
            full += 1
    print(f"long rows grid: {count} reductions bit for bit (max abs diff {worst:.1e}); {full} full sums of 54k-1M "
          "elements equal to TensorFlow's")


FIXED = [{}, {"learning_rate": 0.1}, {"learning_rate": 0.5, "clip_threshold": 0.5},
         {"learning_rate": 0.5, "beta_2_decay": -0.5}, {"learning_rate": 0.3, "beta_2_decay": -1.0},
         {"learning_rate": 0.2, "relative_step": False, "epsilon_2": 0.0}, {"learning_rate": 0.1, "epsilon_1": 1e-3},
         {"learning_rate": 0.05, "weight_decay": 0.01}, {"learning_rate": 0.1, "clipnorm": 0.3},
         {"learning_rate": 0.1, "global_clipnorm": 0.5}, {"learning_rate": 0.1, "gradient_accumulation_steps": 2},
         {"learning_rate": 0.1, "use_ema": True, "ema_overwrite_frequency": 3},
         {"learning_rate": 0.1, "loss_scale_factor": 4.0},
         {"learning_rate": ("CosineDecay", {"initial_learning_rate": 0.3, "decay_steps": 10})}]


@pytest.mark.parametrize("dtype", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
@pytest.mark.parametrize("cfg", every_nth(FIXED, 2, ids=[f"adafactor-{i}" for i in range(len(FIXED))]))
def test_adafactor_steps_match_fit(cfg, dtype):
    rng = np.random.default_rng(zlib.crc32(f"adafactor{cfg}{dtype}".encode()))
    w0 = [rng.normal(size=s).astype(dtype) for s in ADA_SHAPES]
    check("adafactor", "adafactor", cfg, w0, _grads(rng, ADA_SHAPES, 10, dtype), dtype, eager=False)


def _random_case(seed: int):
    r = np.random.default_rng(seed)
    dtype = "float64" if r.random() < 0.6 else "float32"
    cfg: dict = {}
    random_rate(r, cfg, rates=(1e-3, 1e-2, 0.1, 1.0), exponents=(-4, 0))
    for key, choices in (("beta_2_decay", [-0.5, -0.8, -0.3, -1.0, -2.0]), ("epsilon_1", [1e-30, 1e-8, 1e-3]),
                         ("epsilon_2", [1e-3, 0.0, 0.1]), ("clip_threshold", [1.0, 0.5, 3.0]),
                         ("relative_step", [True, False])):
        if r.random() < 0.4:
            cfg[key] = choices[r.integers(len(choices))]
            cfg[key] = bool(cfg[key]) if key == "relative_step" else float(cfg[key])
    random_shared_options(r, cfg)
    return cfg, dtype, float(r.choice([1.0, 1e-3, 1e3])), int(r.integers(3, 13))


@pytest.mark.parametrize("seed", every_nth(range(16), 3))
def test_adafactor_random_configurations_match_fit(seed):
    """16 seeded configurations: Adafactor's own arguments with the shared options (schedules, decay, the three
    clippings, accumulation, loss scale, EMA), gradients of three magnitudes, 3 to 12 steps."""
    cfg, dtype, scale, steps = _random_case(seed)
    rng = np.random.default_rng(2000 + seed)
    w0 = [rng.normal(size=s).astype(dtype) for s in ADA_SHAPES]
    check(f"random {seed}", "adafactor", cfg, w0, _grads(rng, ADA_SHAPES, steps, dtype, scale), dtype, eager=False)


@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_fit_with_adafactor_like_keras_and_unlike_torch_optim_adafactor(dt):
    """``fit`` with Adafactor against ``model.fit`` (a Conv1D kernel, two Dense kernels, biases), every history
    key and epoch; the same run with ``torch.optim.Adafactor`` at the same rate (torch >= 2.5; Keras's
    algorithm with torch's reduction orders and ``epsilon_1`` = the dtype's machine epsilon squared) is close:
    within 1e-6 of Keras, not bit for bit."""
    x, y, spec = dense_classifier_case(9, 160)
    cfg = {"learning_rate": 0.05}
    with _precision(dt):
        keras.utils.set_random_seed(1)
        km = keras_build(spec)
        w = km.get_weights()
        km.compile(optimizer=keras.optimizers.Adafactor(**cfg), loss="sparse_categorical_crossentropy",
                   metrics=["accuracy"])
        kh = km.fit(x, y, batch_size=32, epochs=4, shuffle=False, verbose=0, validation_split=0.25).history
        runs = {}
        for side, make in (("torch_impl", lambda ps: optim.Adafactor(ps, **cfg)),
                           ("torch.optim", lambda ps: torch.optim.Adafactor(ps, lr=0.05))):
            tm = build_model(spec)
            load_keras_weights(tm, w)
            runs[side] = tfit.fit(tm, x, y, loss="sparse_categorical_crossentropy", optimizer=make(tm.parameters()),
                                  batch_size=32, epochs=4, shuffle=False, verbose=0, validation_split=0.25,
                                  metrics=["accuracy"]).history
    print(f"fit with Adafactor({cfg}), {dt}:")
    _check_history(runs["torch_impl"], kh, dt)
    gap = float(np.max(np.abs(np.subtract(runs["torch.optim"]["loss"], kh["loss"])) / np.abs(kh["loss"])))
    print(f"  torch.optim.Adafactor(lr=0.05): loss {np.round(runs['torch.optim']['loss'], 6).tolist()} "
          f"(max rel {gap:.1e} from Keras {np.round(kh['loss'], 6).tolist()})")
    assert 0 < gap < 1e-6


def test_adafactor_arguments_name_and_sparse_gradients():
    """Keras's defaults and name; nonsense arguments raise ``ValueError`` (Keras trains on them: a zero
    ``clip_threshold`` stops every weight); a row-sparse gradient is refused with the fix named."""
    k, t = keras.optimizers.Adafactor(), optim.Adafactor([torch.nn.Parameter(torch.zeros(2))])
    assert t.name == k.name.split("_")[0] if "_" in k.name and k.name[-1].isdigit() else t.name == k.name
    for key in ("beta_2_decay", "epsilon_1", "epsilon_2", "clip_threshold", "relative_step"):
        assert t.param_groups[0][key] == getattr(k, key), key
    p = [torch.nn.Parameter(torch.zeros(2))]
    for kwargs in ({"clip_threshold": 0.0}, {"epsilon_1": -1.0}, {"epsilon_2": float("nan")},
                   {"beta_2_decay": float("inf")}, {"clip_threshold": True}):
        with pytest.raises(ValueError):
            optim.Adafactor(p, **kwargs)
    q = torch.nn.Parameter(torch.zeros(5, 2))
    q.grad = torch.sparse_coo_tensor(torch.tensor([[0, 0]]), torch.ones(2, 2), (5, 2))
    with pytest.raises(RuntimeError, match="dense gradients"):
        optim.Adafactor([q]).step()
    print("Adafactor: Keras's defaults and name; nonsense arguments and row-sparse gradients refused")

"""Keras's ScheduleFreeAdamW: every step against Keras 3.15.1's ``apply_gradients`` inside a ``tf.function``
(what ``model.fit`` runs), on the harness of ``test_optim_fuzz_keras.py`` (its standard: float64 and float32 bit
for bit, the usual named exceptions of the shared options); then ``fit`` against ``model.fit``.

What it took (each found by these tests): Keras's ``momentum_old`` is the momentum variable itself, read after
its update, so ``x`` is recovered with the new ``z`` (the paper's algorithm uses the old one: 0.17% of the largest
entry off after 10 steps); the momentum starts as a copy of the weights at Keras's ``build``, before the first
weight decay; and ``fit``'s graph optimizer divides by the constant ``beta_1`` as a product with its reciprocal
and multiplies that reciprocal with ``1 - 1/t`` before the tensor (MinimizeBroadcasts).
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
from torch_impl.nn import build_model, load_keras_weights  # noqa: E402

pytestmark = pytest.mark.keras

NAME = "schedule_free_adamw"
FIXED = [{}, {"learning_rate": 0.02}, {"learning_rate": 0.02, "warmup_steps": 3},
         {"learning_rate": 0.02, "beta_1": 0.7, "beta_2": 0.95, "epsilon": 1e-3}, {"learning_rate": 0.05, "beta_1": 1.0},
         {"learning_rate": 0.02, "weight_decay": 0.1}, {"learning_rate": 0.02, "clipnorm": 0.5},
         {"learning_rate": 0.02, "global_clipnorm": 0.3}, {"learning_rate": 0.02, "gradient_accumulation_steps": 3},
         {"learning_rate": 0.02, "use_ema": True, "ema_overwrite_frequency": 4},
         {"learning_rate": 0.02, "loss_scale_factor": 16.0, "clipvalue": 0.2},
         {"learning_rate": ("PiecewiseConstantDecay", {"boundaries": [3, 6], "values": [0.05, 0.02, 0.01]}),
          "warmup_steps": 2}]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cfg", every_nth(FIXED, 2, ids=[f"sfadamw-{i}" for i in range(len(FIXED))]))
def test_schedule_free_steps_match_fit(cfg, dtype):
    rng = np.random.default_rng(zlib.crc32(f"{NAME}{cfg}{dtype}".encode()))
    w0 = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    check("fixed", NAME, cfg, w0, _grads(rng, SHAPES, 10, dtype), dtype, eager=False)


def _random_case(seed: int):
    r = np.random.default_rng(seed)
    dtype = "float64" if r.random() < 0.6 else "float32"
    cfg: dict = {}
    random_rate(r, cfg)
    for key, choices in (("beta_1", [0.5, 0.95, 1.0]), ("beta_2", [0.9, 0.99]), ("epsilon", [1e-7, 1e-3, 0.0]),
                         ("warmup_steps", [1, 3, 20])):
        if r.random() < 0.35:
            cfg[key] = choices[r.integers(len(choices))]
    random_shared_options(r, cfg)
    return cfg, dtype, float(r.choice([1.0, 1e-3, 1e3])), int(r.integers(3, 13))


@pytest.mark.parametrize("seed", every_nth(range(16), 2))
def test_schedule_free_random_configurations_match_fit(seed):
    """16 seeded configurations: its own arguments with schedules, decay, the three clippings, accumulation,
    loss scale and EMA; gradients of three magnitudes, 3 to 12 steps."""
    cfg, dtype, scale, steps = _random_case(seed)
    rng = np.random.default_rng(3000 + seed)
    w0 = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    check(f"random {seed}", NAME, cfg, w0, _grads(rng, SHAPES, steps, dtype, scale), dtype, eager=False)


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_fit_with_schedule_free_adamw_like_keras(dt):
    """``fit`` with ScheduleFreeAdamW (warm-up, weight decay) against ``model.fit`` with the optimizer built
    before it: every history key, every epoch."""
    x, y, spec = dense_classifier_case(10, 160, "relu")
    cfg = {"learning_rate": 0.01, "warmup_steps": 5, "weight_decay": 0.01}
    with _precision(dt):
        keras.utils.set_random_seed(1)
        km = keras_build(spec)
        w = km.get_weights()
        kopt = keras.optimizers.ScheduleFreeAdamW(**cfg)
        km.compile(optimizer=kopt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        kopt.build(km.trainable_variables)  # else fit's build leaves the momentum at 0 (next test)
        kh = km.fit(x, y, batch_size=32, epochs=4, shuffle=False, verbose=0, validation_split=0.25).history
        tm = build_model(spec)
        load_keras_weights(tm, w)
        th = tfit.fit(tm, x, y, loss="sparse_categorical_crossentropy",
                      optimizer=optim.ScheduleFreeAdamW(tm.parameters(), **cfg), batch_size=32, epochs=4,
                      shuffle=False, verbose=0, validation_split=0.25, metrics=["accuracy"]).history
    print(f"fit with ScheduleFreeAdamW({cfg}), {dt}:")
    _check_history(th, kh, dt)


def test_schedule_free_arguments_and_name():
    """Keras's defaults and name; nonsense arguments raise ``ValueError`` (Keras takes ``beta_1=0``, then
    divides by it: NaN weights)."""
    k = keras.optimizers.ScheduleFreeAdamW()
    t = optim.ScheduleFreeAdamW([torch.nn.Parameter(torch.zeros(2))])
    assert k.name.startswith(t.name) and float(np.float32(t.learning_rate)) == float(np.float32(k.learning_rate))
    for key in ("beta_1", "beta_2", "epsilon", "warmup_steps"):
        assert t.param_groups[0][key] == getattr(k, key), key
    p = [torch.nn.Parameter(torch.zeros(2))]
    for kwargs in ({"beta_1": 0.0}, {"beta_1": 1.5}, {"beta_2": 1.0}, {"epsilon": -1.0}, {"warmup_steps": -1},
                   {"warmup_steps": 2.5}):
        with pytest.raises(ValueError):
            optim.ScheduleFreeAdamW(p, **kwargs)
    print("ScheduleFreeAdamW: Keras's defaults and name; nonsense arguments refused (row slices: "
          "test_optim_more_keras.py::test_row_sparse_gradients_match_fit)")


def test_keras_fit_without_a_built_optimizer_restarts_from_zero():
    """A documented difference (Keras 3.15.1's bug): ``model.fit`` with an unbuilt ScheduleFreeAdamW builds it
    where the copy of the weights into its momentum never runs, so the momentum starts at 0 and the first step
    sets every weight to about ``+-lr``; torch_impl (like Keras's optimizer built eagerly) keeps the weights."""
    x, y, spec = dense_classifier_case(10, 32, "relu")
    with _precision("float64"):
        keras.utils.set_random_seed(1)
        km = keras_build(spec)
        w = km.get_weights()
        km.compile(optimizer=keras.optimizers.ScheduleFreeAdamW(0.01), loss="sparse_categorical_crossentropy")
        km.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
        tm = build_model(spec)
        load_keras_weights(tm, w)
        tfit.fit(tm, x, y, loss="sparse_categorical_crossentropy",
                 optimizer=optim.ScheduleFreeAdamW(tm.parameters(), 0.01), batch_size=32, epochs=1, shuffle=False,
                 verbose=0, metrics=[])
    before, keras_after = np.abs(w[0]).max(), np.abs(km.get_weights()[0]).max()
    ours_after = float(tm[0].weight.abs().max()) if isinstance(tm, torch.nn.Sequential) else None
    print(f"first kernel's largest entry: initial {before:.4f}; after one step Keras fit {keras_after:.4f}, "
          f"torch_impl {ours_after:.4f}")
    assert keras_after == pytest.approx(0.01, rel=1e-6) and abs(ours_after - before) < 0.05

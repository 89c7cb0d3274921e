"""Keras's Adagrad, Adadelta, Adamax, Nadam, Lion, Lamb and Ftrl: every step against Keras 3.15.1's ``apply_gradients``
inside a ``tf.function`` (what ``model.fit`` runs), on the harness of ``test_optim_fuzz_keras.py``.

The standard is that file's: float64 bit for bit; float32 bit for bit except where ``fit`` runs TensorFlow's
approximate vectorized ``Rsqrt`` (Adagrad's and Adadelta's ``x / sqrt(y)``, rewritten by Grappler as
``x * rsqrt(y)``; Nadam's and Lamb's with ``epsilon=0``), there within 1e-6 of each tensor's largest entry.
Ftrl with a ``learning_rate_power`` other than -0.5, -1 or 0 runs TensorFlow's vectorized ``pow`` (Eigen's own
algorithm): an ulp apart on some entries, held to 1e-12 (float64) / 5e-5 (float32: 1.1e-5 measured, the
division by a small ``quadratic`` amplifies an ulp) of the largest entry. Ftrl's ``beta / (2 lr)`` under an
Exponential/Cosine schedule: ``fit`` merges the schedule's last product into it (as for the weight decay, see
``test_optim_fuzz_keras.schedule_in_product``): an ulp apart, held to 1e-15 of the largest entry. Then a ``fit`` with each against
``model.fit``, the hand port with torch's optimizer of the same name, and the argument checks.
"""

from __future__ import annotations

import re
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

NEW = ("adagrad", "adadelta", "adamax", "nadam", "lion", "lamb", "ftrl")

FIXED = [
    ("adagrad", {}), ("adagrad", {"learning_rate": 0.05, "initial_accumulator_value": 0.3, "epsilon": 1e-4}),
    ("adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.0}),
    ("adadelta", {}), ("adadelta", {"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-6}),
    ("adamax", {}), ("adamax", {"learning_rate": 0.02, "beta_1": 0.8, "beta_2": 0.95, "epsilon": 1e-3}),
    ("nadam", {}), ("nadam", {"learning_rate": 0.01, "beta_1": 0.85, "beta_2": 0.99}),
    ("lion", {}), ("lion", {"learning_rate": 0.01, "beta_1": 0.95, "beta_2": 0.98}),
    # the shared machinery: decay, clipping, accumulation, loss scale, EMA, schedules
    ("adagrad", {"learning_rate": 0.05, "weight_decay": 0.01, "clipnorm": 0.5}),
    ("adadelta", {"learning_rate": 1.0, "global_clipnorm": 0.3}),
    ("adamax", {"learning_rate": 0.01, "use_ema": True, "ema_overwrite_frequency": 2}),
    ("nadam", {"learning_rate": 0.01, "gradient_accumulation_steps": 2}),
    ("nadam", {"learning_rate": 0.01, "loss_scale_factor": 8.0, "clipvalue": 0.2}),
    ("lion", {"learning_rate": ("CosineDecay", {"initial_learning_rate": 0.01, "decay_steps": 10})}),
    ("adamax", {"learning_rate": ("ExponentialDecay", {"initial_learning_rate": 0.02, "decay_steps": 3,
                                                        "decay_rate": 0.9}), "weight_decay": 0.05}),
    ("lamb", {}), ("lamb", {"learning_rate": 0.02, "beta_1": 0.8, "weight_decay": 0.01}),
    ("lamb", {"learning_rate": 0.01, "epsilon": 0.0}), ("lamb", {"learning_rate": 0.01, "global_clipnorm": 0.5}),
    ("ftrl", {}), ("ftrl", {"learning_rate": 0.05, "l1_regularization_strength": 0.01,
                            "l2_regularization_strength": 0.1}),
    ("ftrl", {"learning_rate": 0.05, "beta": 0.2, "l2_shrinkage_regularization_strength": 0.05}),
    ("ftrl", {"learning_rate": 0.05, "learning_rate_power": 0.0, "initial_accumulator_value": 0.0}),
    ("ftrl", {"learning_rate": 0.05, "learning_rate_power": -1.0, "clipvalue": 0.3}),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,cfg", every_nth(FIXED, 2, unpack=True,
                                              ids=[f"{n}-{i}" for i, (n, _) in enumerate(FIXED)]))
def test_steps_match_fit(name, cfg, dtype):
    rng = np.random.default_rng(zlib.crc32(f"{name}{cfg}{dtype}".encode()))
    w0 = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    check("more", name, cfg, w0, _grads(rng, SHAPES, 10, dtype), dtype)


def _random_case(seed: int):
    r = np.random.default_rng(seed)
    name = NEW[r.integers(len(NEW))]
    dtype = "float64" if r.random() < 0.6 else "float32"
    cfg: dict = {}
    random_rate(r, cfg, p_schedule=0.15, rates=(1e-3, 1e-2, 0.1, 1.0), exponents=(-4, 0))
    if name in ("adamax", "nadam", "lion", "lamb") and r.random() < 0.5:
        cfg["beta_1"] = float(r.choice([0.5, 0.8, 0.95, 0.99]))
    if name in ("adamax", "nadam", "lion", "lamb") and r.random() < 0.5:
        cfg["beta_2"] = float(r.choice([0.5, 0.9, 0.99, 0.9999]))
    if name not in ("lion", "ftrl") and r.random() < 0.4:
        cfg["epsilon"] = float(r.choice([1e-8, 1e-3, 1.0, 0.0]))
    if name == "adadelta" and r.random() < 0.5:
        cfg["rho"] = float(r.choice([0.0, 0.5, 0.9, 0.99]))
    if name in ("adagrad", "ftrl") and r.random() < 0.5:
        cfg["initial_accumulator_value"] = float(r.choice([0.0, 0.01, 1.0]))
    if name == "ftrl":
        if r.random() < 0.5:
            cfg["learning_rate_power"] = float(r.choice([-0.5, -1.0, 0.0]))  # others: TensorFlow's Eigen pow
        for key in ("l1_regularization_strength", "l2_regularization_strength",
                    "l2_shrinkage_regularization_strength", "beta"):
            if r.random() < 0.3:
                cfg[key] = float(r.choice([0.01, 0.1]))
        lr = cfg.get("learning_rate")
        if isinstance(lr, tuple) and lr[0] in ("ExponentialDecay", "CosineDecay", "CosineDecayRestarts"):
            cfg.pop("beta", None)  # fit merges the schedule's last product into beta / (2 lr): see below
    random_shared_options(r, cfg, decays=(0.01, 0.1, 0.5), ema_p=0.2, ema_momenta=(0.5, 0.9, 0.99),
                          ema_frequency=True)
    scale = float(r.choice([1.0, 1e-3, 1e3]))
    steps = int(r.integers(3, 13))
    return name, cfg, dtype, scale, steps


@pytest.mark.parametrize("seed", every_nth(range(40), 2))
def test_random_configurations_match_fit(seed):
    """40 seeded configurations of the five optimizers with the shared options (schedules, decay, the three
    clippings, accumulation, loss scale, EMA), gradients of three magnitudes, 3 to 12 steps."""
    name, cfg, dtype, scale, steps = _random_case(seed)
    rng = np.random.default_rng(1000 + seed)
    w0 = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    check(f"random {seed}", name, cfg, w0, _grads(rng, SHAPES, steps, dtype, scale), dtype, eager=False)


ROW_SLICE_CASES = [("lion", {"learning_rate": 0.01, "beta_1": 0.7}), ("nadam", {"learning_rate": 0.01}),
                   ("nadam", {"learning_rate": 0.05, "beta_1": 0.7, "clipnorm": 0.5}), ("adamax", {"learning_rate": 0.01}),
                   ("adamax", {"learning_rate": 0.05, "clipvalue": 0.3, "weight_decay": 0.1}),
                   ("adagrad", {"learning_rate": 0.05}), ("adagrad", {"learning_rate": 0.1, "global_clipnorm": 0.5}),
                   ("lamb", {"learning_rate": 0.01}), ("ftrl", {"learning_rate": 0.05, "l2_regularization_strength": 0.1}),
                   ("schedule_free_adamw", {"learning_rate": 0.02}), ("adadelta", {"learning_rate": 1.0}),
                   ("adadelta", {"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-6, "clipnorm": 0.5}),
                   ("schedule_free_adamw", {"learning_rate": 0.02, "beta_1": 0.8, "warmup_steps": 2})]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,cfg", ROW_SLICE_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(ROW_SLICE_CASES)])
def test_row_sparse_gradients_match_fit(name, cfg, dtype):
    """An Embedding's row slices (repeated rows, Keras's ``tf.IndexedSlices``; ``nn.Embedding(sparse=True)``'s
    gradient) stepped as Keras does: the squares, absolute values and scalar products per occurrence, then their
    sum; Adagrad's, Adadelta's and ScheduleFreeAdamW's per-occurrence steps scattered in turn. Bit for bit in both
    dtypes (Adagrad's and Adadelta's divisions by a gathered root are divisions in fit: no approximate Rsqrt)."""
    rng = np.random.default_rng(zlib.crc32(f"slices{name}{cfg}{dtype}".encode()))
    w0 = [rng.normal(size=(6, 3)).astype(dtype), rng.normal(size=(4,)).astype(dtype)]
    grads = [[(np.array([1, 4, 1, 1]), rng.normal(size=(4, 3)).astype(dtype)), rng.normal(size=(4,)).astype(dtype)]
             for _ in range(5)]
    check("sparse", name, cfg, w0, grads, dtype, eager=False)


def test_adafactor_refuses_row_slices():
    p = torch.nn.Parameter(torch.zeros(5, 2))
    p.grad = torch.sparse_coo_tensor(torch.tensor([[0, 0]]), torch.ones(2, 2), (5, 2), check_invariants=True)
    with pytest.raises(RuntimeError, match="dense gradients"):
        optim.Adafactor([p]).step()
    print("Adafactor refuses a row-sparse gradient (RuntimeError naming the fix)")


# (name, Keras arguments, torch's optimizer of the same name, its arguments, whether it logs another history)
FIT_CASES = [("adagrad", {"learning_rate": 0.05}, torch.optim.Adagrad, {"lr": 0.05}, True),
             ("adadelta", {"learning_rate": 1.0}, torch.optim.Adadelta, {"lr": 1.0}, True),
             ("adamax", {"learning_rate": 0.01}, torch.optim.Adamax, {"lr": 0.01}, False),
             ("nadam", {"learning_rate": 0.01}, torch.optim.NAdam, {"lr": 0.01}, True),
             ("lion", {"learning_rate": 0.003}, None, None, None),
             ("lamb", {"learning_rate": 0.01}, None, None, None),
             ("ftrl", {"learning_rate": 0.1, "l2_regularization_strength": 0.01}, None, None, None)]


@pytest.mark.parametrize("name,cfg,torch_cls,torch_cfg,differs",
                         every_nth(FIT_CASES, 2, unpack=True, ids=[c[0] for c in FIT_CASES]))
def test_fit_like_keras_and_the_torch_optimizer_of_the_same_name(name, cfg, torch_cls, torch_cfg, differs):
    """``fit`` with the optimizer against ``model.fit`` (float64, every history key, every epoch); the same
    run with torch's optimizer of the same name and rate: Adagrad (accumulator from 0, eps 1e-10 outside the
    root), Adadelta (eps 1e-6) and NAdam (``momentum_decay`` 0.004, eps 1e-8) log another history; Adamax (eps
    inside the max, 1e-8) stays within 1e-6 here."""
    x, y, spec = dense_classifier_case(8, 160)
    with _precision("float64"):
        keras.utils.set_random_seed(1)
        km = keras_build(spec)
        w = km.get_weights()
        km.compile(optimizer=getattr(keras.optimizers, _class(name))(**cfg), loss="sparse_categorical_crossentropy",
                   metrics=["accuracy"])
        kh = km.fit(x, y, batch_size=32, epochs=4, shuffle=False, verbose=0, validation_split=0.25).history
        runs = {}
        for side, make in (("torch_impl", lambda ps: getattr(optim, _class(name))(ps, **cfg)),
                           ("torch.optim", (lambda ps: torch_cls(ps, **torch_cfg)) if torch_cls else None)):
            if make is None:
                continue
            tm = build_model(spec)
            load_keras_weights(tm, w)
            runs[side] = tfit.fit(tm, x, y, loss="sparse_categorical_crossentropy", optimizer=make(tm.parameters()),
                                  batch_size=32, epochs=4, shuffle=False, verbose=0, validation_split=0.25,
                                  metrics=["accuracy"]).history
    print(f"fit with {_class(name)}({cfg}), float64:")
    _check_history(runs["torch_impl"], kh, "float64")
    if "torch.optim" in runs:
        gap = float(np.max(np.abs(np.subtract(runs["torch.optim"]["loss"], kh["loss"])) / np.abs(kh["loss"])))
        print(f"  torch.optim.{torch_cls.__name__}({torch_cfg}): loss "
              f"{np.round(runs['torch.optim']['loss'], 6).tolist()} (max rel {gap:.1e} from Keras)")
        assert gap > 1e-4 if differs else gap < 1e-6


def _class(name: str) -> str:
    return {"adagrad": "Adagrad", "adadelta": "Adadelta", "adamax": "Adamax", "nadam": "Nadam", "lion": "Lion",
            "lamb": "Lamb", "ftrl": "Ftrl"}[name]


def test_arguments_and_configs():
    """Keras's checks (Lion's ``beta_1`` in (0, 1]) and the stricter ones (rates in [0, 1), a finite epsilon
    >= 0, a finite initial accumulator >= 0: Keras accepts nonsense there); Keras's default names."""
    p = [torch.nn.Parameter(torch.zeros(2))]
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="beta_1"):
            keras.optimizers.Lion(beta_1=bad)
        with pytest.raises(ValueError, match="beta_1"):
            optim.Lion(p, beta_1=bad)
    for kwargs in ({"initial_accumulator_value": -0.1}, {"learning_rate_power": 0.5},
                   {"l1_regularization_strength": -1.0}, {"l2_shrinkage_regularization_strength": -0.1}):
        with pytest.raises(ValueError, match="needs to be"):
            keras.optimizers.Ftrl(**kwargs)
        with pytest.raises(ValueError, match="needs to be"):
            optim.Ftrl(p, **kwargs)
    for cls, kwargs in ((optim.Adagrad, {"initial_accumulator_value": -0.1}), (optim.Adagrad, {"epsilon": -1.0}),
                        (optim.Adadelta, {"rho": 1.5}), (optim.Adamax, {"beta_1": 1.0}),
                        (optim.Nadam, {"beta_2": -0.1}), (optim.Nadam, {"epsilon": float("nan")})):
        keras_cls = getattr(keras.optimizers, cls.__name__)
        keras_cls(**kwargs)  # Keras accepts it
        with pytest.raises(ValueError):
            cls(p, **kwargs)
    for name in NEW:
        k = getattr(keras.optimizers, _class(name))()
        t = getattr(optim, _class(name))(p)
        assert t.name == re.sub(r"_\d+$", "", k.name) and float(np.float32(t.learning_rate)) == float(np.float32(k.learning_rate)), name
    print("Lion's beta_1 check as Keras; stricter checks raise; names and default rates as Keras's")


def test_audit_cases_match_fit():
    """What a read-only audit against Keras found (fixed): Lion's sign of a NaN update is NaN (the weight goes
    NaN as Keras's, not frozen); Nadam keeps one momentum product per parameter group (each group one Keras
    optimizer, with its own ``beta_1``); ``exclude_from_weight_decay`` replaces its list at each call."""
    w0 = [np.array([1.0, 2.0]), np.array([3.0])]
    grads = [[np.array([np.nan, 0.5]), np.array([0.3])], [np.array([0.2, np.inf]), np.array([-0.6])]]
    for cfg in ({"learning_rate": 0.01}, {"learning_rate": 0.01, "clipnorm": 1.0}):
        check("audit-nan", "lion", cfg, w0, grads, "float64", eager=False)
    a, b = torch.nn.Parameter(torch.tensor([1.0, -1.0], dtype=torch.float64)), \
        torch.nn.Parameter(torch.tensor([3.0], dtype=torch.float64))
    opt = optim.Nadam([{"params": [a]}, {"params": [b], "lr": 0.05, "beta_1": 0.5}], learning_rate=0.01)
    kb = keras.Variable(np.array([3.0]), dtype="float64")
    kopt = keras.optimizers.Nadam(0.05, beta_1=0.5)
    for g in (0.3, -0.6, 0.2):
        a.grad, b.grad = torch.tensor([g, g], dtype=torch.float64), torch.tensor([g], dtype=torch.float64)
        opt.step()
        kopt.apply([tf.constant([g], dtype="float64")], [kb])
    print(f"Nadam second group (beta_1 0.5): Keras {kb.numpy().tolist()} torch_impl {b.detach().tolist()}")
    assert b.detach().tolist() == kb.numpy().tolist()
    p, q = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    opt = optim.SGD([p, q], learning_rate=0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay([p])
    opt.exclude_from_weight_decay([q])  # Keras: replaces the first list, so p is decayed again
    p.grad, q.grad = torch.zeros(2), torch.zeros(2)
    opt.step()
    assert p.detach().tolist() == [pytest.approx(0.95)] * 2 and q.detach().tolist() == [1.0, 1.0]
    print("Lion NaN updates and Nadam per-group products as Keras; exclude_from_weight_decay replaces its list")



@pytest.mark.parametrize("dt,tol", [("float64", 1e-12), ("float32", 5e-5)])
def test_ftrl_other_powers_within_pow_rounding(dt, tol):
    from parity_tests.test_optim_fuzz_keras import compare, keras_run, torch_run

    rng = np.random.default_rng(12)
    w0 = [rng.normal(size=s).astype(dt) for s in SHAPES]
    grads = _grads(rng, SHAPES, 8, dt)
    worst = 0.0
    for power in (-0.3, -0.7, -0.25):
        cfg = {"learning_rate": 0.05, "learning_rate_power": power, "beta": 0.1}
        ref, _ = keras_run("ftrl", cfg, w0, grads, dt)
        ours, _ = torch_run("ftrl", cfg, w0, grads, dt)
        worst = max(worst, compare(ours, ref)[2])
    print(f"Ftrl, learning_rate_power -0.3/-0.7/-0.25, {dt}: within {worst:.1e} of each tensor's largest entry")
    assert worst <= tol



def test_ftrl_beta_under_a_product_schedule_within_an_ulp():
    from parity_tests.test_optim_fuzz_keras import compare, keras_run, torch_run

    rng = np.random.default_rng(156)
    w0 = [rng.normal(size=s) for s in SHAPES]
    cfg = {"learning_rate": ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.96}),
           "beta": 0.1, "l2_regularization_strength": 0.01}
    ref, _ = keras_run("ftrl", cfg, w0, _grads(rng, SHAPES, 6, "float64"), "float64")
    rng = np.random.default_rng(156)
    w0 = [rng.normal(size=s) for s in SHAPES]
    ours, _ = torch_run("ftrl", cfg, w0, _grads(rng, SHAPES, 6, "float64"), "float64")
    ndiff, rel, nrel = compare(ours, ref)
    print(f"Ftrl beta under ExponentialDecay, float64: {ndiff} entries an ulp apart, within {nrel:.1e} of the largest")
    assert nrel <= 1e-15


@pytest.mark.parametrize("dt", ["float64", "float32"])
@pytest.mark.parametrize("inner", ["adam", "sgd"])
def test_loss_scale_optimizer_steps_like_keras(inner, dt):
    """``LossScaleOptimizer``: gradients divided by the scale, a step with an inf/NaN gradient skipped (the
    inner optimizer's iterations stay) and the scale halved, doubled after ``dynamic_growth_steps`` finite
    steps; every variable, the scale and ``iterations`` after each step, against Keras's ``apply`` in a
    ``tf.function``."""
    rng = np.random.default_rng(4)
    w0 = [rng.normal(size=(5, 3)).astype(dt), rng.normal(size=(3,)).astype(dt)]
    grads = [[rng.normal(size=w.shape).astype(dt) * 8 for w in w0] for _ in range(14)]
    for step in (2, 6, 7):
        grads[step][step % 2].flat[1] = np.inf if step != 6 else np.nan
    kwargs = {"adam": {"learning_rate": 0.01}, "sgd": {"learning_rate": 0.05, "momentum": 0.9}}[inner]
    cls = {"adam": "Adam", "sgd": "SGD"}[inner]
    with _precision(dt):
        kv = [keras.Variable(w, dtype=dt) for w in w0]
        kopt = keras.optimizers.LossScaleOptimizer(getattr(keras.optimizers, cls)(**kwargs), initial_scale=4.0,
                                                   dynamic_growth_steps=3)
        apply = tf.function(lambda gs: kopt.apply(gs, kv))
        tp = [torch.nn.Parameter(torch.from_numpy(w.copy())) for w in w0]
        topt = optim.LossScaleOptimizer(getattr(optim, cls)(tp, **kwargs), initial_scale=4.0, dynamic_growth_steps=3)
        rows = []
        for gs in grads:
            apply([tf.constant(g) for g in gs])
            for p, g in zip(tp, gs):
                p.grad = torch.from_numpy(g.copy())
            topt.step()
            same = all(np.array_equal(v.numpy(), p.detach().numpy()) for v, p in zip(kv, tp))
            rows.append((float(kopt.dynamic_scale.numpy()), topt.scale, int(kopt.iterations), topt.iterations, same))
    print(f"{inner} {dt}: (Keras scale, torch_impl scale, Keras iterations, torch_impl iterations, weights equal) "
          f"per step: {rows}")
    assert all(k == t and ki == ti and same for k, t, ki, ti, same in rows)
    scales = [r[0] for r in rows]
    assert rows[-1][2] == 11 and min(scales) < 4.0 and any(b > a for a, b in zip(scales, scales[1:]))


def test_loss_scale_optimizer_in_fit_like_keras():
    """``fit`` with ``LossScaleOptimizer(Adam, initial_scale=2**125, dynamic_growth_steps=4)`` in float32: the
    scale doubles every 4 finite steps until the float32 scale overflows to inf (Keras's does too); from then on
    every scaled gradient is NaN and every step is skipped (inf halved stays inf), on both sides; the same
    history and the same 12 steps taken of 18."""
    x, y, spec = dense_classifier_case(6, 96, scale=3, dtype="float32")
    with _precision("float32"):
        keras.utils.set_random_seed(2)
        km = keras_build(spec)
        w = km.get_weights()
        kopt = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.01), initial_scale=2.0**125,
                                                   dynamic_growth_steps=4)
        km.compile(optimizer=kopt, loss="sparse_categorical_crossentropy")
        kh = km.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0).history
        tm = build_model(spec)
        load_keras_weights(tm, w)
        topt = optim.LossScaleOptimizer(optim.Adam(tm.parameters(), 0.01), initial_scale=2.0**125,
                                        dynamic_growth_steps=4)
        th = tfit.fit(tm, x, y, loss="sparse_categorical_crossentropy", optimizer=topt, batch_size=16, epochs=3,
                      shuffle=False, verbose=0, metrics=()).history
    print(f"LossScaleOptimizer in fit: Keras scale {float(kopt.dynamic_scale.numpy()):.4g} iterations "
          f"{int(kopt.iterations)}; torch_impl scale {topt.scale:.4g} iterations {topt.iterations} (18 batches)")
    _check_history(th, kh, "float32")
    assert topt.scale == float(kopt.dynamic_scale.numpy()) and topt.iterations == int(kopt.iterations) < 18

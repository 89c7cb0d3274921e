"""Keras-faithful optimizers: steps equal to Keras's on random parameters and gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from keras_impl.models import floatx, make_optimizer  # noqa: E402
from torch_impl import optim  # noqa: E402

pytestmark = pytest.mark.keras

CONFIGS = [
    ("adam", {}),
    ("adam", {"learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.95, "epsilon": 1e-5}),
    ("adam", {"learning_rate": 0.003, "amsgrad": True}),
    ("adam", {"learning_rate": 0.01, "weight_decay": 0.05}),
    ("adam", {"learning_rate": 0.01, "clipnorm": 0.5}),
    ("adam", {"learning_rate": 0.01, "global_clipnorm": 0.7}),
    ("adam", {"learning_rate": 0.01, "clipvalue": 0.3}),
    ("sgd", {}),
    ("sgd", {"learning_rate": 0.05, "momentum": 0.9}),
    ("sgd", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    ("sgd", {"learning_rate": 0.05, "weight_decay": 0.01}),
    ("rmsprop", {}),
    ("rmsprop", {"learning_rate": 0.01, "rho": 0.8, "momentum": 0.5}),
    ("rmsprop", {"learning_rate": 0.01, "centered": True}),
    # accumulation: Adam's bias correction counts updates, not steps; clipping and decay act on the mean
    ("adam", {"learning_rate": 0.01, "gradient_accumulation_steps": 2}),
    ("adam", {"learning_rate": 0.01, "gradient_accumulation_steps": 2, "weight_decay": 0.05, "clipnorm": 0.5}),
    ("sgd", {"learning_rate": 0.05, "momentum": 0.9, "gradient_accumulation_steps": 3}),
    ("rmsprop", {"learning_rate": 0.01, "loss_scale_factor": 64.0}),
    ("sgd", {"learning_rate": 0.05, "use_ema": True, "ema_momentum": 0.8, "ema_overwrite_frequency": 2}),
    ("adam", {"learning_rate": 0.01, "use_ema": True, "ema_overwrite_frequency": 3, "gradient_accumulation_steps": 2}),
]
TORCH = {"adam": optim.Adam, "sgd": optim.SGD, "rmsprop": optim.RMSprop}


def _run_keras(name, cfg, w0, grads, dtype):
    with floatx(dtype):
        vs = [keras.Variable(w.astype(dtype), dtype=dtype) for w in w0]
        opt = make_optimizer(name, **cfg)
        for gs in grads:
            opt.apply([tf.constant(g.astype(dtype)) for g in gs], vs)
        return [np.asarray(v) for v in vs]


def _run_torch(name, cfg, w0, grads, dtype):
    dt = getattr(torch, dtype)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dt)  # Keras's floatx
    try:
        ps = [torch.nn.Parameter(torch.tensor(w, dtype=dt)) for w in w0]
        opt = TORCH[name](ps, **cfg)
        for gs in grads:
            for p, g in zip(ps, gs):
                p.grad = torch.tensor(g, dtype=dt)
            opt.step()
        return [p.detach().numpy() for p in ps], opt
    finally:
        torch.set_default_dtype(previous)


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-14), ("float32", 1e-6)])
@pytest.mark.parametrize("name,cfg", CONFIGS, ids=[f"{n}-{c}" for n, c in CONFIGS])
def test_steps_match_keras(name, cfg, dtype, tol):
    rng = np.random.default_rng(abs(hash((name, str(cfg)))) % 2**32)
    w0 = [rng.normal(size=(6, 4)), rng.normal(size=(4,))]
    grads = [[rng.normal(size=w.shape) * s for w in w0] for s in (1.0, 0.3, 2.0, 0.01, 1.0)]
    ref = _run_keras(name, cfg, w0, grads, dtype)
    ours, _ = _run_torch(name, cfg, w0, grads, dtype)
    # float64: element-wise relative; float32: relative to each tensor's largest entry (float32
    # rounding of a global norm, amplified by Adam's division, moves entries near zero by more)
    if dtype == "float64":
        err = max(float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-30))) for a, b in zip(ours, ref))
    else:
        err = max(float(np.max(np.abs(a - b)) / np.max(np.abs(b))) for a, b in zip(ours, ref))
    print(f"{name} {cfg} {dtype}: 5 steps, max relative difference {err:.2e}")
    assert err <= tol


def test_torch_adam_does_not_reproduce_keras():
    """The gap that makes torch_impl.optim.Adam necessary, measured."""
    rng = np.random.default_rng(1)
    w0 = [rng.normal(size=(50,))]
    grads = [[rng.normal(size=(50,)) * 1e-3] for _ in range(20)]  # small gradients: eps matters
    ref = _run_keras("adam", {"learning_rate": 0.01}, w0, grads, "float64")[0]
    gaps = {}
    for label, kw in (("eps=1e-7", dict(eps=1e-7)), ("eps=1e-8 (torch default)", dict(eps=1e-8))):
        p = torch.nn.Parameter(torch.tensor(w0[0]))
        opt = torch.optim.Adam([p], lr=0.01, **kw)
        for (g,) in grads:
            p.grad = torch.tensor(g)
            opt.step()
        gaps[label] = float(np.max(np.abs(p.detach().numpy() - ref) / np.abs(ref - w0[0])))
    ours = _run_torch("adam", {"learning_rate": 0.01}, w0, grads, "float64")[0][0]
    ours_gap = float(np.max(np.abs(ours - ref) / np.abs(ref - w0[0])))
    print(f"relative gap in the 20-step displacement: torch.optim.Adam {gaps}, torch_impl.optim.Adam {ours_gap:.1e}")
    assert min(gaps.values()) > 1e-6 and ours_gap < 1e-12


def test_state_dict_round_trip():
    rng = np.random.default_rng(2)
    w0 = [rng.normal(size=(3, 3))]
    grads = [[rng.normal(size=(3, 3))] for _ in range(6)]
    full, _ = _run_torch("adam", {"learning_rate": 0.01, "amsgrad": True}, w0, grads, "float64")
    half, opt = _run_torch("adam", {"learning_rate": 0.01, "amsgrad": True}, w0, grads[:3], "float64")
    state = opt.state_dict()
    assert state["param_groups"][0]["iterations"] == 3
    p = torch.nn.Parameter(torch.tensor(half[0]))
    opt2 = optim.Adam([p], learning_rate=0.01, amsgrad=True)
    opt2.load_state_dict(state)
    for (g,) in grads[3:]:
        p.grad = torch.tensor(g)
        opt2.step()
    np.testing.assert_array_equal(p.detach().numpy(), full[0])
    assert opt2.iterations == 6


def test_bad_hyperparameters():
    p = [torch.nn.Parameter(torch.zeros(2))]
    with pytest.raises(ValueError, match="learning_rate"):
        optim.Adam(p, learning_rate=-1)
    with pytest.raises(ValueError, match="beta"):
        optim.Adam(p, beta_1=1.5)
    with pytest.raises(ValueError, match="momentum"):
        optim.SGD(p, momentum=2)
    with pytest.raises(ValueError, match="Only one of"):
        optim.Adam(p, clipnorm=1.0, clipvalue=1.0)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_ema_averages_iterations_and_finalize_like_keras(dtype):
    """With use_ema and accumulation: the moving averages, ``iterations`` (updates, not steps) and the
    weights after ``finalize_variable_values`` equal Keras's after every step."""
    cfg = {"learning_rate": 0.02, "use_ema": True, "ema_momentum": 0.7, "gradient_accumulation_steps": 2}
    rng = np.random.default_rng(5)
    w0 = [rng.normal(size=(4, 3)), rng.normal(size=(3,))]
    grads = [[rng.normal(size=w.shape) for w in w0] for _ in range(5)]
    dt = getattr(torch, dtype)
    with floatx(dtype):
        vs = [keras.Variable(w.astype(dtype), dtype=dtype) for w in w0]
        kopt = make_optimizer("adam", **cfg)
        previous = torch.get_default_dtype()
        torch.set_default_dtype(dt)
        try:
            ps = [torch.nn.Parameter(torch.tensor(w, dtype=dt)) for w in w0]
            topt = optim.Adam(ps, **cfg)
        finally:
            torch.set_default_dtype(previous)
        for step, gs in enumerate(grads):
            kopt.apply([tf.constant(g.astype(dtype)) for g in gs], vs)
            for p, g in zip(ps, gs):
                p.grad = torch.tensor(g, dtype=dt)
            topt.step()
            assert topt.iterations == int(kopt.iterations), step
            for p, average in zip(ps, kopt._model_variables_moving_average):
                np.testing.assert_allclose(topt.state[p]["average"].numpy(), np.asarray(average), rtol=1e-12
                                           if dtype == "float64" else 1e-6)
        kopt.finalize_variable_values(vs)
    topt.finalize_variable_values(ps)  # Keras passes the variables; fit calls it with none
    err = max(float(np.max(np.abs(p.detach().numpy() - np.asarray(v)))) for p, v in zip(ps, vs))
    print(f"{dtype}: 5 steps with EMA and accumulation, iterations {topt.iterations}, finalized weights "
          f"max |diff| {err:.1e}")
    assert err <= (1e-14 if dtype == "float64" else 1e-6)
    assert topt.name == "adam" and kopt.name.startswith("adam")  # Keras numbers repeats: adam_1
    assert optim.SGD([torch.nn.Parameter(torch.zeros(1))], name="mine").name == "mine"


def test_scale_loss_and_new_hyperparameter_errors():
    p = [torch.nn.Parameter(torch.zeros(2))]
    assert float(optim.SGD(p, loss_scale_factor=8.0).scale_loss(torch.tensor(0.5))) == 4.0
    assert float(optim.SGD(p).scale_loss(torch.tensor(0.5))) == 0.5
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        optim.Adam(p, gradient_accumulation_steps=1)
    with pytest.raises(ValueError, match="ema_momentum"):
        optim.Adam(p, use_ema=True, ema_momentum=1.5)
    with pytest.raises(ValueError, match="loss_scale_factor"):
        optim.Adam(p, loss_scale_factor=0.0)

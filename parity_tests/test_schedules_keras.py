"""Learning-rate schedules: ``torch_impl.schedules`` against ``keras.optimizers.schedules``, value by value
and through an optimizer, in float32 and float64 floatx."""

from __future__ import annotations

import numpy as np
import pytest
import torch

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from keras_impl.models import floatx, make_optimizer  # noqa: E402
from torch_impl import optim, schedules  # noqa: E402

pytestmark = pytest.mark.keras

SCHEDULES = [
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=7, decay_rate=0.96)),
    ("ExponentialDecay", dict(initial_learning_rate=0.03, decay_steps=5, decay_rate=0.5, staircase=True)),
    ("PiecewiseConstantDecay", dict(boundaries=[3, 9, 20], values=[0.1, 0.05, 0.01, 0.001])),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=25)),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=10, end_learning_rate=0.003, power=0.7,
                             cycle=True)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.2, decay_steps=4, decay_rate=0.3)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.2, decay_steps=4, decay_rate=0.3, staircase=True)),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=30, alpha=0.1)),
    ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=20, warmup_target=0.1, warmup_steps=8)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=6)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=5, t_mul=1.0, m_mul=0.8, alpha=0.05)),
]
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULES)]


def _keras_values(name, cfg, steps, dtype):
    with floatx(dtype):
        sched = getattr(keras.optimizers.schedules, name)(**cfg)
        return np.array([float(sched(tf.constant(s, tf.int64))) for s in steps])


def _torch_values(name, cfg, steps, dtype):
    previous = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, dtype))
    try:
        sched = getattr(schedules, name)(**cfg)
        return np.array([float(sched(s)) for s in steps])
    finally:
        torch.set_default_dtype(previous)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,cfg", SCHEDULES, ids=IDS)
def test_schedule_values(name, cfg, dtype):
    steps = list(range(0, 61))
    ours, ref = _torch_values(name, cfg, steps, dtype), _keras_values(name, cfg, steps, dtype)
    err = float(np.max(np.abs(ours - ref) / np.maximum(np.abs(ref), 1e-30)))
    print(f"{name} {cfg} {dtype}: steps 0-60, max relative difference {err:.1e}")
    assert err <= 4e-7  # float32 either way (see torch_impl.schedules); cos differs by an ulp or two


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("opt,kw", [
    ("sgd", {"momentum": 0.9}),
    ("adam", {"gradient_accumulation_steps": 2}),  # the schedule sees every step, the bias correction updates
])
def test_optimizer_with_a_schedule(opt, kw, dtype):
    name, cfg = "CosineDecay", dict(initial_learning_rate=0.0, decay_steps=6, warmup_target=0.05, warmup_steps=3)
    rng = np.random.default_rng(7)
    w0 = [rng.normal(size=(5, 2)), rng.normal(size=(2,))]
    grads = [[rng.normal(size=w.shape) for w in w0] for _ in range(10)]
    with floatx(dtype):
        vs = [keras.Variable(w.astype(dtype), dtype=dtype) for w in w0]
        kopt = make_optimizer(opt, learning_rate=getattr(keras.optimizers.schedules, name)(**cfg), **kw)
        for gs in grads:
            kopt.apply([tf.constant(g.astype(dtype)) for g in gs], vs)
    dt = getattr(torch, dtype)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dt)
    try:
        ps = [torch.nn.Parameter(torch.tensor(w, dtype=dt)) for w in w0]
        topt = {"sgd": optim.SGD, "adam": optim.Adam}[opt](ps, learning_rate=getattr(schedules, name)(**cfg), **kw)
    finally:
        torch.set_default_dtype(previous)
    for gs in grads:
        for p, g in zip(ps, gs):
            p.grad = torch.tensor(g, dtype=dt)
        topt.step()
    err = max(float(np.max(np.abs(p.detach().numpy() - np.asarray(v)) / np.max(np.abs(np.asarray(v)))))
              for p, v in zip(ps, vs))
    print(f"{opt} {kw} with {name} {dtype}: 10 steps, max relative difference {err:.1e}")
    assert err <= (1e-14 if dtype == "float64" else 1e-6)


def test_callable_learning_rate_and_errors():
    rate = {"value": 0.5}
    w = torch.nn.Parameter(torch.zeros(1))
    opt = optim.SGD([w], learning_rate=lambda: rate["value"])  # Keras calls a plain callable with no argument
    w.grad = torch.ones(1)
    opt.step()
    rate["value"] = 0.25
    opt.step()
    assert float(w) == pytest.approx(-0.75)
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, decay_steps=0, decay_rate=0.5)
    with pytest.raises(ValueError, match="boundaries"):
        schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2])
    cfg = schedules.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=2).get_config()
    assert schedules.CosineDecay.from_config(cfg).get_config() == cfg

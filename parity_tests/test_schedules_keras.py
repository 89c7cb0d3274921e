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
    ("PolynomialDecay", dict(initial_learning_rate=0.1663, decay_steps=95, end_learning_rate=0.0, power=0.5,
                             cycle=True)),
    ("PolynomialDecay", dict(initial_learning_rate=0.0118, decay_steps=61, end_learning_rate=1e-5, power=2.0)),
    ("PolynomialDecay", dict(initial_learning_rate=0.4178, decay_steps=105, end_learning_rate=0.0, power=3.0)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.2, decay_steps=4, decay_rate=0.3)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.2, decay_steps=4, decay_rate=0.3, staircase=True)),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=30, alpha=0.1)),
    ("CosineDecay", dict(initial_learning_rate=0.0893, decay_steps=127)),
    ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=20, warmup_target=0.1, warmup_steps=8)),
    ("CosineDecay", dict(initial_learning_rate=1e-4, decay_steps=80, alpha=0.25, warmup_target=0.001,
                         warmup_steps=2)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=6)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=5, t_mul=1.0, m_mul=0.8, alpha=0.05)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.0595, first_decay_steps=30, t_mul=1.5, m_mul=0.5,
                                 alpha=0.2)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.312, first_decay_steps=16, t_mul=1.5, m_mul=0.8)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.3779, first_decay_steps=22, t_mul=3.0, m_mul=0.8)),
]
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULES)]
STEPS = list(range(0, 301))


def _keras_values(name, cfg, steps, dtype, graph: bool):
    """Keras's rates at ``steps``: inside a ``tf.function`` as ``fit`` evaluates them (``graph``), or eagerly."""
    with floatx(dtype):
        sched = getattr(keras.optimizers.schedules, name)(**cfg)
        fn = tf.function(lambda s: sched(s)) if graph else sched
        return np.array([float(fn(tf.constant(s, tf.int64))) for s in steps])


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
    """The rates ``fit`` uses: equal, bit for bit, over steps 0-300 (TensorFlow's graph optimizer divides by a
    constant as a multiplication by its reciprocal, folds constants and rewrites constant powers; eager
    Keras differs from that by an ulp at some steps)."""
    ours = _torch_values(name, cfg, STEPS, dtype)
    graph, eager = (_keras_values(name, cfg, STEPS, dtype, g) for g in (True, False))
    normal = np.abs(graph) >= 1.2e-38  # TensorFlow flushes subnormal float32 rates to zero
    differ = int(np.sum((ours != graph) & normal))
    eager_rel = float(np.max(np.abs(ours - eager)) / max(float(np.max(np.abs(eager))), 1e-30))
    print(f"{name} {cfg} {dtype}: steps 0-300, {differ} differ from Keras in a tf.function; "
          f"against eager Keras max difference {eager_rel:.1e} of the largest rate "
          f"({int(np.sum(graph != eager))} steps where graph and eager Keras differ)")
    assert differ == 0
    # ulps; or, at a restart step, a restart index (restarts, and cycles: 95 * (1 / 95) rounds above 1)
    assert eager_rel <= 1e-6 or name == "CosineDecayRestarts" or cfg.get("cycle")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("opt,kw", [
    ("sgd", {"momentum": 0.9}),
    ("adam", {"gradient_accumulation_steps": 2}),  # the schedule sees every step, the bias correction updates
])
def test_optimizer_with_a_schedule(opt, kw, dtype):
    name, cfg = "CosineDecay", dict(initial_learning_rate=0.0, decay_steps=6, warmup_target=0.05, warmup_steps=3,
                                    alpha=0.1)
    rng = np.random.default_rng(7)
    w0 = [rng.normal(size=(5, 2)), rng.normal(size=(2,))]
    grads = [[rng.normal(size=w.shape) for w in w0] for _ in range(10)]
    with floatx(dtype):
        vs = [keras.Variable(w.astype(dtype), dtype=dtype) for w in w0]
        kopt = make_optimizer(opt, learning_rate=getattr(keras.optimizers.schedules, name)(**cfg), **kw)
        kopt.build(vs)
        step = tf.function(lambda gs: kopt.apply(gs, vs))  # as fit's train step runs it
        for gs in grads:
            step([tf.constant(g.astype(dtype)) for g in gs])
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
    next_rate = float(kopt.learning_rate)  # Keras's property: the rate of the next step
    print(f"{opt} {kw} with {name} {dtype}: 10 steps, max relative difference {err:.1e}; next learning rate "
          f"torch_impl {topt.learning_rate!r}, Keras {next_rate!r}")
    assert err <= (1e-14 if dtype == "float64" else 1e-6)
    assert topt.learning_rate == pytest.approx(next_rate, rel=1e-6)  # Keras evaluates it eagerly: an ulp


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


def test_fit_with_a_schedule_float64_like_keras():
    """40 epochs of ``model.fit`` with Adam on an ExponentialDecay, float64: the loss curve within 1e-8 relative
    every epoch (eager-Keras arithmetic for the schedule drifted to 1.2e-8 here)."""
    from keras_impl.models import build_model as keras_model
    from torch_impl import fit as tfit
    from torch_impl.nn import build_model, load_keras_weights

    rng = np.random.default_rng(8)
    x = rng.normal(size=(320, 10)) * 3 + 1
    y = np.eye(3)[np.argmax(x[:, :3] + rng.normal(size=(320, 3)), -1)]
    spec = {"input_dim": 10, "layers": [{"type": "dense", "units": 32, "activation": "relu"},
                                        {"type": "dense", "units": 3, "activation": "softmax"}]}
    cfg = dict(initial_learning_rate=1e-2, decay_steps=10, decay_rate=0.9)
    previous = torch.get_default_dtype()
    with floatx("float64"):
        torch.set_default_dtype(torch.float64)
        try:
            keras.utils.set_random_seed(8)
            km = keras_model(spec)
            tm = build_model(spec)
            load_keras_weights(tm, km.get_weights())
            km.compile(keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(**cfg)),
                       "categorical_crossentropy")
            kh = km.fit(x, y, batch_size=32, epochs=40, shuffle=False, verbose=0).history["loss"]
            th = tfit.fit(tm, x, y, loss="categorical_crossentropy", metrics=(), batch_size=32, epochs=40,
                          optimizer=optim.Adam(tm.parameters(), learning_rate=schedules.ExponentialDecay(**cfg)),
                          shuffle=False, verbose=0).history["loss"]
        finally:
            torch.set_default_dtype(previous)
    rel = np.abs(np.array(th) - np.array(kh)) / np.array(kh)
    print(f"40 epochs, float64, Adam + ExponentialDecay: max relative loss difference {rel.max():.1e} "
          f"(epoch 40: torch_impl {th[-1]!r}, Keras {kh[-1]!r})")
    assert rel.max() <= 1e-8

"""README's optimizer/training differences table (``| | Keras 3 / torch_impl | torch built-in |``), row by row:
Keras does what the row's middle column says, the torch built-in what its last column says, and torch_impl's
optimizer steps as Keras's (float64, a few steps, within ~1e-15). Rows about ``fit`` itself point at the tests
they name; here each gets a small layer- or step-level check where one exists."""

from __future__ import annotations

import numpy as np
import pytest
import torch

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from keras_impl.models import floatx  # noqa: E402
from torch_impl import optim  # noqa: E402

pytestmark = pytest.mark.keras

TOL = 1e-15


def F32(x):
    """A Python float through ``tf.cast`` (float32 rounding), as Keras's optimizers cast their betas for powers."""
    return np.float32(x).item()


def _case(seed, shapes=((3, 2), (2,)), steps=3, scale=1.0):
    r = np.random.default_rng(seed)
    w0 = [r.normal(size=s) for s in shapes]
    grads = [[r.normal(size=s) * scale for s in shapes] for _ in range(steps)]
    return w0, grads


def _keras(make, w0, grads, graph=False):
    """Keras's steps, eager or (``graph``) inside a ``tf.function``, as ``fit`` runs them."""
    with floatx("float64"):
        opt = make()
        vs = [keras.Variable(w, dtype="float64") for w in w0]
        def step(gs):
            opt.apply(gs, vs)

        step = tf.function(step, autograph=False) if graph else step
        for gs in grads:
            step([tf.constant(g) for g in gs])
        return [np.asarray(v) for v in vs]


def _torch(make, w0, grads):
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # Keras's floatx, for torch_impl's hyper-parameters
    try:
        ps = [torch.nn.Parameter(torch.tensor(w)) for w in w0]
        opt = make(ps)
        for gs in grads:
            for p, g in zip(ps, gs):
                p.grad = torch.tensor(g)
            opt.step()
        return [p.detach().numpy() for p in ps]
    finally:
        torch.set_default_dtype(previous)


def _rel(a, b):
    return max(float(np.max(np.abs(x - y) / np.maximum(np.abs(y), 1e-300))) for x, y in zip(a, b))


def _rel_max(a, b):
    return max(float(np.max(np.abs(x - y)) / np.max(np.abs(y))) for x, y in zip(a, b))


def _manual(w0, grads, update):
    """The row's formula in NumPy float64: ``update(w, g, state, t)`` returns the new ``w``."""
    ws, state = [w.copy() for w in w0], [dict() for _ in w0]
    for t, gs in enumerate(grads, 1):
        ws = [update(w, g, s, t) for w, g, s in zip(ws, gs, state)]
    return ws


def _row(name, keras_make, impl_make, w0, grads, formula=None, torch_make=None, graph=False):
    """Keras against the row's formula, torch_impl against Keras; the torch built-in's run (or None)."""
    k = _keras(keras_make, w0, grads, graph)
    ti = _torch(impl_make, w0, grads)
    f_gap = _rel(k, _manual(w0, grads, formula)) if formula else None
    t_gap = _rel(ti, k)
    tb = _torch(torch_make, w0, grads) if torch_make else None
    tb_gap = _rel(tb, k) if tb is not None else None
    print(f"{name}: Keras vs the row's formula {f_gap if f_gap is None else f'{f_gap:.1e}'}, torch_impl {t_gap:.1e}"
          + ("" if tb_gap is None else f", torch built-in {tb_gap:.1e}"))
    assert t_gap <= TOL
    if f_gap is not None:
        assert f_gap <= 1e-14
    return k, tb_gap


def test_adam():
    w0, grads = _case(1, scale=1e-4)  # small gradients: the epsilon placement shows

    def formula(w, g, s, t, lr=0.001, eps=1e-7):  # the powers of tf.cast(beta) (float32), 1 - beta exact
        s["m"] = s.get("m", 0) + (g - s.get("m", 0)) * (1 - 0.9)
        s["v"] = s.get("v", 0) + (g * g - s.get("v", 0)) * (1 - 0.999)
        alpha = lr * np.sqrt(1 - F32(0.999) ** t) / (1 - F32(0.9) ** t)
        return w - s["m"] * alpha / (np.sqrt(s["v"]) + eps)

    _, gap = _row("Adam", lambda: keras.optimizers.Adam(), lambda ps: optim.Adam(ps), w0, grads, formula,
                  lambda ps: torch.optim.Adam(ps, lr=0.001))
    gaps = [_rel(_torch(lambda ps: torch.optim.Adam(ps, lr=0.001, eps=e), w0, grads),
                 _keras(lambda: keras.optimizers.Adam(), w0, grads)) for e in (1e-7, 1e-7 * np.sqrt(1 - 0.999))]
    print(f"  torch.optim.Adam eps 1e-8 {gap:.1e}, eps 1e-7 {gaps[0]:.1e}, eps 1e-7 sqrt(1-b2) {gaps[1]:.1e}")
    assert min([gap] + gaps) > 1e-9


def test_sgd_momentum():
    w0, grads = _case(2)
    lr, mom = 0.01, np.float32(0.9).item()

    def formula(w, g, s, t):
        s["m"] = s.get("m", 0) * mom - lr * g
        return w + s["m"]

    k, tb_gap = _row("SGD momentum", lambda: keras.optimizers.SGD(0.01, momentum=0.9),
                     lambda ps: optim.SGD(ps, 0.01, momentum=0.9), w0, grads, formula,
                     lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=mom))

    def torch_formula(w, g, s, t):
        s["b"] = mom * s.get("b", 0) + g
        return w - lr * s["b"]

    assert _rel(_torch(lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=mom), w0, grads),
                _manual(w0, grads, torch_formula)) <= 1e-15
    # the two recursions are the same at a constant rate (m = -lr b); they part when the rate changes
    assert tb_gap < 1e-13


def test_rmsprop():
    w0, grads = _case(3, scale=1e-4)
    rho = 0.9

    def formula(w, g, s, t, lr=0.001, eps=1e-7):
        s["v"] = rho * s.get("v", 0) + (1 - rho) * g * g
        return w - lr * g / np.sqrt(s["v"] + eps)

    _, gap = _row("RMSprop", lambda: keras.optimizers.RMSprop(), lambda ps: optim.RMSprop(ps), w0, grads, formula,
                  lambda ps: torch.optim.RMSprop(ps, lr=0.001, alpha=rho, eps=1e-7))

    def torch_formula(w, g, s, t, lr=0.001, eps=1e-7):
        s["v"] = rho * s.get("v", 0) + (1 - rho) * g * g
        return w - lr * g / (np.sqrt(s["v"]) + eps)  # eps outside the square root

    tb = _torch(lambda ps: torch.optim.RMSprop(ps, lr=0.001, alpha=rho, eps=1e-7), w0, grads)
    assert _rel(tb, _manual(w0, grads, torch_formula)) <= 1e-14 and gap > 1e-3


def test_adagrad():
    w0, grads = _case(4)

    def formula(w, g, s, t, lr=0.001, eps=1e-7):
        s["a"] = s.get("a", np.float32(0.1).item()) + g * g
        return w - lr * g / np.sqrt(s["a"] + eps)

    _row("Adagrad", lambda: keras.optimizers.Adagrad(), lambda ps: optim.Adagrad(ps), w0, grads, formula)
    d = torch.optim.Adagrad([torch.nn.Parameter(torch.zeros(1))]).defaults
    assert keras.optimizers.Adagrad().initial_accumulator_value == 0.1
    assert (d["lr"], d["eps"], d["initial_accumulator_value"]) == (0.01, 1e-10, 0)

    def torch_formula(w, g, s, t, lr=0.01, eps=1e-10):
        s["a"] = s.get("a", 0) + g * g
        return w - lr * g / (np.sqrt(s["a"]) + eps)

    assert _rel(_torch(lambda ps: torch.optim.Adagrad(ps), w0, grads), _manual(w0, grads, torch_formula)) <= 1e-14


def test_adadelta_defaults():
    w0, grads = _case(5, steps=1)
    k = _row("Adadelta", lambda: keras.optimizers.Adadelta(), lambda ps: optim.Adadelta(ps), w0, grads)[0]
    kd = keras.optimizers.Adadelta()
    d = torch.optim.Adadelta([torch.nn.Parameter(torch.zeros(1))]).defaults
    assert (float(kd.learning_rate), kd.rho, kd.epsilon) == (pytest.approx(0.001), 0.95, 1e-7)
    assert (d["lr"], d["rho"], d["eps"]) == (1.0, 0.9, 1e-6)
    tb = _torch(lambda ps: torch.optim.Adadelta(ps), w0, grads)
    ratio = [np.abs(b - w) / np.abs(a - w) for a, b, w in zip(k, tb, w0)]
    lo, hi = min(float(r.min()) for r in ratio), max(float(r.max()) for r in ratio)
    tiny = [[g * 1e-6 for g in gs] for gs in grads]  # |g| << sqrt(eps): the rates' ratio alone
    small = [np.abs(b - w) / np.abs(a - w) for a, b, w in zip(_keras(lambda: keras.optimizers.Adadelta(), w0, tiny),
                                                             _torch(lambda ps: torch.optim.Adadelta(ps), w0, tiny), w0)]
    s_lo = min(float(r.min()) for r in small)
    print(f"  first step, torch.optim.Adadelta() / Keras's: {lo:.0f} to {hi:.0f} times (|g| ~ 1), "
          f"{s_lo:.0f} (|g| ~ 1e-6)")
    assert 2200 < lo and hi < 2240 and 990 < s_lo < 1010


def test_nadam():
    w0, grads = _case(6)
    k, gap = _row("Nadam", lambda: keras.optimizers.Nadam(), lambda ps: optim.Nadam(ps), w0, grads, None,
                  lambda ps: torch.optim.NAdam(ps))
    b1, b2, d = F32(0.9), F32(0.999), F32(0.96)

    def formula(w, g, s, t, lr=0.001, eps=1e-7):  # Dozat's schedule with 0.96^t, running product u_prod
        u_t, u_t1 = b1 * (1 - 0.5 * d ** t), b1 * (1 - 0.5 * d ** (t + 1))
        s["p"] = s.get("p", 1.0) * 0.9 * (1 - 0.5 * 0.96 ** t)  # the product with the Python floats
        s["m"] = s.get("m", 0) + (g - s.get("m", 0)) * (1 - b1)
        s["v"] = s.get("v", 0) + (g * g - s.get("v", 0)) * (1 - b2)
        m_hat = u_t1 * s["m"] / (1 - s["p"] * u_t1) + (1 - u_t) * g / (1 - s["p"])
        return w - lr * m_hat / (np.sqrt(s["v"] / (1 - b2 ** t)) + eps)

    f_gap = _rel(k, _manual(w0, grads, formula))
    d = torch.optim.NAdam([torch.nn.Parameter(torch.zeros(1))]).defaults
    print(f"  Keras vs Dozat's 0.96^t formula {f_gap:.1e}; torch.optim.NAdam defaults {d['lr']}, {d['eps']}, "
          f"{d['momentum_decay']}")
    assert f_gap <= 1e-13 and (d["lr"], d["eps"], d["momentum_decay"]) == (0.002, 1e-8, 0.004) and gap > 1e-3


def test_adamax_lion_lamb_ftrl():
    w0, grads = _case(7, scale=1e-3)

    def formula(w, g, s, t, lr=0.001, eps=1e-7):
        s["m"] = s.get("m", 0) + (g - s.get("m", 0)) * (1 - 0.9)
        s["u"] = np.maximum(0.999 * s.get("u", 0), np.abs(g))
        return w - lr * s["m"] / ((1 - F32(0.9) ** t) * (s["u"] + eps))

    _, gap = _row("Adamax", lambda: keras.optimizers.Adamax(), lambda ps: optim.Adamax(ps), w0, grads, formula,
                  lambda ps: torch.optim.Adamax(ps, lr=0.001, eps=1e-7))
    assert 0 < gap < 1e-3
    for name in ("Lion", "Lamb", "Ftrl"):
        # Ftrl as fit runs it (a tf.function: eager Keras orders its ops otherwise, 1.1e-11 off near-zero entries)
        _row(name, lambda: getattr(keras.optimizers, name)(), lambda ps: getattr(optim, name)(ps), w0, grads,
             graph=name == "Ftrl")
        assert not hasattr(torch.optim, name)
    nan_grads = [[np.where(np.arange(g.size).reshape(g.shape) == 0, np.nan, g) for g in gs] for gs in grads[:1]]
    k = _keras(lambda: keras.optimizers.Lion(), w0, nan_grads)
    t = _torch(lambda ps: optim.Lion(ps), w0, nan_grads)
    assert np.isnan(k[0].flat[0]) and np.isnan(t[0].flat[0]) and not np.isnan(k[0].flat[1:]).any()


def test_adafactor_close_not_bitwise():
    w0, grads = _case(8, shapes=((4, 3), (3,)))
    _, gap = _row("Adafactor", lambda: keras.optimizers.Adafactor(learning_rate=0.05),
                  lambda ps: optim.Adafactor(ps, learning_rate=0.05), w0, grads, None,
                  lambda ps: torch.optim.Adafactor(ps, lr=0.05))
    assert 0 < gap < 1e-9


def test_muon():
    w0, grads = _case(9, shapes=((6, 4),), steps=3)
    cfg = {"learning_rate": 0.02, "weight_decay": None}
    k = _row("Muon", lambda: keras.optimizers.Muon(**cfg), lambda ps: optim.Muon(ps, **cfg), w0, grads)[0]
    gap, matched = (_rel_max(_torch(lambda ps: torch.optim.Muon(ps, lr=0.02, **kw), w0, grads), k)
                    for kw in ({}, {"weight_decay": 0.0, "adjust_lr_fn": "match_rms_adamw"}))
    print(f"  relative to the largest entry: torch.optim.Muon defaults {gap:.1e}, with weight_decay=0, "
          f"adjust_lr_fn='match_rms_adamw' {matched:.1e}")
    assert gap > 1e-2 and 1e-5 < matched < 2e-3
    assert keras.optimizers.Muon().weight_decay == 0.004
    assert torch.optim.Muon([torch.nn.Parameter(torch.zeros(2, 2))]).defaults["weight_decay"] == 0.1


def test_schedule_free_adamw():
    w0, grads = _case(10)
    _row("ScheduleFreeAdamW", lambda: keras.optimizers.ScheduleFreeAdamW(learning_rate=0.01, warmup_steps=2),
         lambda ps: optim.ScheduleFreeAdamW(ps, learning_rate=0.01, warmup_steps=2), w0, grads)
    assert not any("schedulefree" in n.lower() for n in dir(torch.optim))


def test_hyper_parameter_rounding():
    w0, grads = _case(11, steps=2)
    for beta, exact in ((0.9, np.float32(0.9).item()), (np.float64(0.9), 0.9)):
        def formula(w, g, s, t, b=exact):
            s["m"] = s.get("m", 0) * b - 0.01 * g
            return w + s["m"]

        _row(f"SGD(momentum={beta!r})", lambda: keras.optimizers.SGD(0.01, momentum=beta),
             lambda ps: optim.SGD(ps, 0.01, momentum=beta), w0, grads, formula)
    with floatx("float64"):
        lr = keras.optimizers.Adam(learning_rate=0.1).learning_rate
    with floatx("float32"):
        lr32 = keras.optimizers.Adam(learning_rate=0.1).learning_rate
    assert str(lr.dtype) == "float64" and float(lr) == 0.1 and float(lr32) == np.float32(0.1).item()
    assert torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9).defaults["momentum"] == 0.9


def test_torch_sqrt_ulp():
    """The ``arithmetic`` row's torch side: ``torch.sqrt`` on the CPU against the correctly rounded float32
    square root (the float64 root rounded once)."""
    x = torch.from_numpy(np.random.default_rng(12).uniform(1e-3, 1e3, 200_000).astype(np.float32))
    exact = torch.sqrt(x.double()).float()
    share = float((torch.sqrt(x) != exact).float().mean())
    print(f"arithmetic: torch.sqrt float32 CPU off the correctly rounded root on {share:.1%} of inputs")
    assert 0.1 < share < 0.3


def test_keras_init():
    """``keras_init_``: glorot_uniform kernel, zero bias (Keras's Dense); torch's Linear: Kaiming-uniform weight
    (bound ``1/sqrt(fan_in)``), a non-zero bias."""
    from torch_impl.nn import keras_init_

    limit = np.sqrt(6 / (20 + 30))
    with floatx("float64"):
        kd = keras.layers.Dense(30)
        kd.build((None, 20))
        kw, kb = (np.asarray(v) for v in kd.weights)
    lin = torch.nn.Linear(20, 30, dtype=torch.float64)
    bound = float(lin.weight.abs().max())
    keras_init_(lin)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    print(f"init: glorot limit {limit:.3f}; Keras max {np.abs(kw).max():.3f}, keras_init_ {np.abs(w).max():.3f}, "
          f"torch default {bound:.3f} (1/sqrt(20) = {1 / np.sqrt(20):.3f})")
    assert max(np.abs(kw).max(), np.abs(w).max()) <= limit
    assert min(np.abs(kw).max(), np.abs(w).max()) > 0.9 * limit
    assert not kb.any() and not b.any() and bound <= 1 / np.sqrt(20) < limit
    assert torch.nn.Linear(20, 30).bias.abs().sum() > 0


def test_lstm_dropout_one_layer():
    """Keras's ``LSTM(dropout=...)`` drops the inputs of every call; ``torch.nn.LSTM(dropout=...)`` with one layer
    drops nothing (only between stacked layers; torch warns); ``torch_impl.rnn.LSTM`` drops as Keras."""
    from torch_impl.rnn import LSTM

    x = np.random.default_rng(13).normal(size=(2, 5, 4))
    with floatx("float64"):
        kl = keras.layers.LSTM(3, dropout=0.5, seed=1)
        k_train, k_infer = (np.asarray(kl(x, training=t)) for t in (True, False))
    with pytest.warns(UserWarning, match="dropout"):
        tl = torch.nn.LSTM(4, 3, batch_first=True, dropout=0.5, dtype=torch.float64)
    xt = torch.tensor(x)
    t_train = tl.train()(xt)[0].detach()
    t_eval = tl.eval()(xt)[0].detach()
    il = LSTM(4, 3, batch_first=True, dropout=0.5, seed=1, dtype=torch.float64)
    i_train = il.train()(xt)[0].detach()
    i_eval = il.eval()(xt)[0].detach()
    print(f"LSTM dropout 0.5, train vs inference: Keras {np.abs(k_train - k_infer).max():.2f}, torch.nn.LSTM "
          f"{float((t_train - t_eval).abs().max()):.1e}, torch_impl {float((i_train - i_eval).abs().max()):.2f}")
    assert np.abs(k_train - k_infer).max() > 1e-3 and torch.equal(t_train, t_eval)
    assert float((i_train - i_eval).abs().max()) > 1e-3


def test_global_average_pooling_mask():
    from torch_impl.nn import GlobalAveragePooling1D

    r = np.random.default_rng(14)
    x = r.normal(size=(2, 4, 3))
    mask = np.array([[1, 1, 0, 0], [1, 0, 0, 0]], bool)
    with floatx("float64"):
        k = np.asarray(keras.layers.GlobalAveragePooling1D()(x, mask=mask))
    t = GlobalAveragePooling1D("channels_last")(torch.tensor(x), mask=torch.tensor(mask)).numpy()
    plain = torch.tensor(x).mean(1).numpy()
    print(f"masked GlobalAveragePooling1D: torch_impl {np.abs(t - k).max():.1e}, "
          f"x.mean(1) {np.abs(plain - k).max():.2f}")
    assert np.abs(t - k).max() <= 1e-15 and np.abs(plain - k).max() > 0.1


def test_batch_normalization():
    """Keras: moving = 0.99 moving + 0.01 batch, biased batch variance, epsilon 1e-3; torch: momentum 0.1 on the
    new batch, unbiased running variance, eps 1e-5; frozen (``trainable = False``): inference mode in training."""
    from torch_impl.nn import BatchNormalization

    x = np.random.default_rng(15).normal(2.0, 3.0, size=(8, 3))
    with floatx("float64"):
        kb = keras.layers.BatchNormalization()
        ky = np.asarray(kb(x, training=True))
        kvar = np.asarray(kb.moving_variance)
        kf = keras.layers.BatchNormalization()
        kf.trainable = False
        kfy = np.asarray(kf(x, training=True))
    assert np.allclose(kvar, 0.99 + 0.01 * x.var(0), rtol=1e-15, atol=0)
    assert np.allclose(ky, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3), rtol=1e-13, atol=1e-13)
    tb = torch.nn.BatchNorm1d(3, dtype=torch.float64)
    ty = tb(torch.tensor(x)).detach().numpy()
    assert np.allclose(tb.running_var.numpy(), 0.9 + 0.1 * x.var(0, ddof=1), rtol=1e-15, atol=0)
    ib = BatchNormalization(3, dtype=torch.float64)
    iy = ib(torch.tensor(x)).detach().numpy()
    fb = BatchNormalization(3, dtype=torch.float64)
    fb.trainable = False
    fy = fb.train()(torch.tensor(x)).detach().numpy()
    tf_ = torch.nn.BatchNorm1d(3, dtype=torch.float64).requires_grad_(False)
    tfy = tf_(torch.tensor(x)).detach().numpy()
    gaps = (np.abs(iy - ky).max(), np.abs(ib.running_var.numpy() - kvar).max(), np.abs(fy - kfy).max())
    print(f"BatchNormalization: torch_impl output {gaps[0]:.1e}, moving variance {gaps[1]:.1e}, frozen {gaps[2]:.1e};"
          f" torch.nn.BatchNorm1d output {np.abs(ty - ky).max():.1e}, "
          f"requires_grad_(False) {np.abs(tfy - kfy).max():.2f}")
    assert max(gaps) <= 1e-14 and np.abs(ty - ky).max() > 1e-4 and np.abs(tfy - kfy).max() > 0.1
    assert not np.array_equal(tf_.running_mean.numpy(), np.zeros(3))  # the frozen torch layer still updates


def test_activations_by_name():
    from torch_impl.nn import activation

    F = torch.nn.functional
    x = np.array([-1.0, 20.25, 0.7, -2.3])
    k = {n: np.asarray(keras.activations.get(n)(tf.constant(x))) for n in ("leaky_relu", "softplus", "gelu")}
    t = {n: activation(n)(torch.tensor(x)).numpy() for n in k}
    builtin = {"leaky_relu": F.leaky_relu(torch.tensor(x)).numpy(), "softplus": F.softplus(torch.tensor(x)).numpy(),
               "gelu": F.gelu(torch.tensor(x)).numpy()}
    gaps = {n: float(np.max(np.abs(t[n] - k[n]) / np.abs(k[n]))) for n in k}
    bgaps = {n: float(np.max(np.abs(builtin[n] - k[n]))) for n in k}
    print("activations (float64): torch_impl relative " + ", ".join(f"{n} {v:.1e}" for n, v in gaps.items())
          + "; torch absolute " + ", ".join(f"{n} {v:.1e}" for n, v in bgaps.items()))
    assert k["leaky_relu"][0] == -np.float32(0.2).item() and builtin["leaky_relu"][0] == -0.01
    assert max(gaps.values()) <= 1e-15 and 1e-9 < bgaps["softplus"] < 2e-9 and 1e-9 < bgaps["gelu"] < 1e-8


def test_batch_normalization_float16():
    """Keras's float16 layer computes the statistics in float32 (finite with deviations past 256, whose float16
    squares overflow); ``torch.nn.BatchNorm1d(...).half()`` on the CPU too (finite); the hand-written float16
    ``((x - mean)**2).mean()`` is ``inf``."""
    from torch_impl.nn import BatchNormalization

    x64 = np.random.default_rng(1).normal(size=(64, 4)) * 300.0
    kl = keras.layers.BatchNormalization(dtype="float16")
    kl(tf.cast(tf.constant(x64), "float16"), training=True)
    kvar = tf.cast(kl.moving_variance, tf.float64).numpy()
    xt = torch.tensor(x64).half()
    tb = torch.nn.BatchNorm1d(4).half()
    tb(xt)
    ib = BatchNormalization(4, dtype=torch.float16)
    ib(xt)
    hand = ((xt - xt.mean(0)) ** 2).mean(0)
    i_gap = float(np.max(np.abs(ib.running_var.double().numpy() - kvar) / kvar))
    t_vs_unbiased = float(np.max(np.abs(tb.running_var.double().numpy() - (0.9 + 0.1 * x64.var(0, ddof=1)))
                                 / (0.9 + 0.1 * x64.var(0, ddof=1))))
    print(f"float16 BatchNormalization, |x - mean| up to {np.abs(x64 - x64.mean(0)).max():.0f}: Keras moving var "
          f"{kvar[:2].round(1).tolist()}, torch_impl rel {i_gap:.1e}; torch.nn.BatchNorm1d.half() "
          f"{tb.running_var[:2].tolist()} (rel {t_vs_unbiased:.1e} from its float64 formula); hand-written float16 "
          f"{hand[:2].tolist()}")
    assert np.isfinite(kvar).all() and i_gap <= 1e-3 and bool(torch.isinf(hand).any())
    assert bool(torch.isfinite(tb.running_var).all()) and t_vs_unbiased < 1e-3

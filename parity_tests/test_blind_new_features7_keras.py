"""Blind audit 7 (helper h28) of this afternoon's features, written from README.md and the docstrings only, against
Keras 3.15.1 on TensorFlow 2.21 run in the same process, or a NumPy restatement of the legacy optimizers' rules:

1. ``R.add_loss(module, value)``: ``fit`` / ``evaluate`` with added losses next to a compiled loss (tensors of
   several shapes, summed; several modules, nested; a module called twice; an integer value) and
   ``regularization_losses(model)`` against a Keras subclassed model whose layers call ``self.add_loss``;
2. a list ``y`` for a model returning a dict: ``fit`` (``validation_split``, ``validation_data``), ``evaluate``,
   their keys and values against Keras's functional model with dict outputs, and the promised ``TypeError``;
3. ``evaluate``'s dict key order against Keras's ``return_dict=True`` (one output and several, metrics and
   weighted metrics);
4. float16 / bfloat16 parameters: six optimizer configurations (clipping, weight decay, EMA, schedules) on a
   Keras-layout dense module against ``Dense(dtype=...)`` trained by Keras's ``fit``: the weights after each step;
5. the "Porting TF2-era code" claims: RMSprop / Adagrad's eps, Nadam's ``0.96^(0.004 t)``, ``decay=``, against a
   NumPy restatement of the legacy rules and Keras 3's.

Values within 1e-12 (relative to the largest reference value) in float64, 1e-5 in float32; half weights bit for bit.

Measured: ``model.losses`` (7 added terms of 4 modules, one called twice, an int32 one, then 2 weight penalties) in
Keras's order, within 5.6e-17; a 3-epoch SGD ``fit`` with them: ``loss``/``val_loss``/``evaluate`` equal, final
weights within 3.3e-17 (float32: losses equal, weights 4.4e-9); list ``y`` for a dict model: the 10 history keys,
values within 4.2e-16, ``evaluate`` keys in Keras's order within 2.5e-16, Keras's ``TypeError``; ``evaluate``'s
keys in Keras's order (one and two outputs, metrics and weighted metrics) within 2.5e-16; 12 half optimizer runs
(6 configurations x float16/bfloat16, 8 fit steps each in the grid) equal bit for bit after every step; the legacy
claims: torch_impl equal to Keras 3.15.1 and to the NumPy Keras 3 rules, the legacy rules 2.2e-4 to 1.5e-2 apart.

Found: ``fit``/``evaluate`` round float32 targets to a half model's dtype before the loss (Keras's loss reads them
in floatx): a float16 model's first step 6 kernel entries an ulp off, ``evaluate`` 1.0e-5 (bfloat16 1.5e-4) off
(strict xfail). Keras facts: a traced bfloat16 ``Dense`` rounds ``x @ kernel + bias`` once (fused), eager and torch
twice (bfloat16 runs here use ``use_bias=False``; a strict xfail pins the difference); Keras's global dtype policy
is cached from floatx at first use (``dtype_policies/dtype_policy.py:577-581``); Nadam's ``ops.cast`` of its Python
constants rounds them through float32 (``optimizers/nadam.py:116-118``), Adagrad's initial accumulator too
(``initializers/constant_initializers.py:36``).

Run: ``.venv/bin/python -m pytest -q -s -p no:cacheprovider parity_tests/test_blind_new_features7_keras.py``
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from torch_impl import fit as tfit  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl import regularizers as R  # noqa: E402
from torch_impl import schedules  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

TOL = 1e-12


def _rel(a, b) -> float:
    """max |a - b| over max |b| (0 for empty or equal arrays)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size == 0 or np.array_equal(a, b):
        return 0.0
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def _set_floatx(name):
    """Keras's floatx and torch's default dtype to ``name``; returns a function restoring them. Keras caches its
    global dtype policy from floatx at its first use (``dtype_policies/dtype_policy.py:577-581``): a later
    ``set_floatx`` leaves new layers in the old dtype, so the cached policy is cleared and restored too."""
    from keras.src.backend.common import global_state

    old, old_t = keras.backend.floatx(), torch.get_default_dtype()
    old_policy = global_state.get_global_attribute("dtype_policy", None)
    keras.backend.set_floatx(name)
    global_state.set_global_attribute("dtype_policy", None)
    torch.set_default_dtype(getattr(torch, name))

    def restore():
        keras.backend.set_floatx(old)
        global_state.set_global_attribute("dtype_policy", old_policy)
        torch.set_default_dtype(old_t)
    return restore


@pytest.fixture
def f64():
    restore = _set_floatx("float64")
    yield
    restore()


def _data(n=10, d=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(n, 1))


# ---------------------------------------------------------------- 1. add_loss
class _TCostsA(torch.nn.Module):
    def forward(self, h):
        R.add_loss(self, 0.1 * h.square())        # (N, 2): summed over every element
        R.add_loss(self, 0.05 * h.mean())         # scalar
        return h


class _TCostsB(torch.nn.Module):
    def forward(self, h):
        R.add_loss(self, torch.tensor(2))         # an integer tensor: cast to floatx
        R.add_loss(self, 0.01 * h[:, :1].abs())   # (N, 1)
        return h


class _TScale(torch.nn.Module):                   # called twice: both calls' losses count
    def forward(self, h):
        R.add_loss(self, 0.02 * h.sum())
        return 0.9 * h


class _TInner(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = torch.nn.Linear(3, 2, dtype=torch.float64)
        self.a = _TCostsA()
        self.b = _TCostsB()

    def forward(self, x):
        return self.b(self.a(torch.tanh(self.dense(x))))


class _TNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = _TInner()
        self.scale = _TScale()
        self.head = torch.nn.Linear(2, 1, dtype=torch.float64)

    def forward(self, x):
        h = self.scale(self.scale(self.inner(x)))
        R.add_loss(self, 0.03 * h.square().mean())   # the model's own
        return self.head(h)


def _keras_net():
    ops = keras.ops

    class CostsA(keras.layers.Layer):
        def call(self, h):
            self.add_loss(0.1 * ops.square(h))
            self.add_loss(0.05 * ops.mean(h))
            return h

    class CostsB(keras.layers.Layer):
        def call(self, h):
            self.add_loss(ops.convert_to_tensor(2, dtype="int32"))
            self.add_loss(0.01 * ops.abs(h[:, :1]))
            return h

    class Scale(keras.layers.Layer):
        def call(self, h):
            self.add_loss(0.02 * ops.sum(h))
            return 0.9 * h

    class Inner(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2, activation="tanh", bias_regularizer=keras.regularizers.L1(0.02))
            self.a = CostsA()
            self.b = CostsB()

        def call(self, x):
            return self.b(self.a(self.dense(x)))

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.inner = Inner()
            self.scale = Scale()
            self.head = keras.layers.Dense(1, kernel_regularizer=keras.regularizers.L2(0.01))

        def call(self, x):
            h = self.scale(self.scale(self.inner(x)))
            self.add_loss(0.03 * ops.mean(ops.square(h)))
            return self.head(h)

    return Net()


def _add_loss_pair():
    """The torch model and Keras's, with weight penalties too (listed after the added losses)."""
    torch.manual_seed(0)
    tm = _TNet()
    R.regularize(tm.inner.dense, bias_regularizer=R.L1(0.02))
    R.regularize(tm.head, kernel_regularizer=R.L2(0.01))
    km = _keras_net()
    km(np.zeros((1, 3)))
    km.inner.dense.set_weights([tm.inner.dense.weight.detach().numpy().T, tm.inner.dense.bias.detach().numpy()])
    km.head.set_weights([tm.head.weight.detach().numpy().T, tm.head.bias.detach().numpy()])
    return tm, km


def test_add_loss_model_losses_order_and_values(f64):
    tm, km = _add_loss_pair()
    x, _ = _data(5)
    km(x)
    klist = [float(keras.ops.convert_to_numpy(keras.ops.sum(v))) for v in km.losses]
    kshapes = [tuple(v.shape) for v in km.losses]
    tm(torch.tensor(x))
    tl = R.regularization_losses(tm)
    tlist = [float(v.detach().sum()) for v in tl]
    tshapes = [tuple(v.shape) for v in tl]
    print("Keras losses", kshapes, klist)
    print("torch losses", tshapes, tlist)
    assert len(tlist) == len(klist) == 9 and tshapes == kshapes
    err = _rel(tlist, klist)
    print(f"add_loss model.losses (7 added terms, 2 weight penalties, in order) rel diff {err:.2e}")
    assert err <= TOL
    # reading cleared the added ones; the weight penalties stay
    assert [float(v.detach()) for v in R.regularization_losses(tm)] == tlist[-2:]
    # a value that is not a tensor: Keras's ValueError
    with pytest.raises(ValueError):
        km.inner.a.add_loss(3)
    with pytest.raises(ValueError):
        R.add_loss(tm.inner.a, 3)


@pytest.fixture(params=["float64", pytest.param("float32", marks=pytest.mark.slow)])
def floatx(request):
    restore = _set_floatx(request.param)
    yield request.param
    restore()


def test_add_loss_fit_evaluate(floatx):
    tm, km = _add_loss_pair()
    tm.to(getattr(torch, floatx))
    tol = TOL if floatx == "float64" else 1e-5
    x, y, xv, yv = (a.astype(floatx) for a in (*_data(10), *_data(6, seed=1)))
    km.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    kh = km.fit(x, y, batch_size=4, epochs=3, shuffle=False, validation_data=(xv, yv), verbose=0).history
    th = tfit.fit(tm, x, y, loss="mse", optimizer=optim.SGD(tm.parameters(), learning_rate=0.05), batch_size=4,
                  epochs=3, shuffle=False, validation_data=(xv, yv), verbose=0).history
    worst = 0.0
    for key in ("loss", "val_loss"):
        e = _rel(th[key], kh[key])
        print(f"add_loss fit {key}: torch {th[key]} keras {kh[key]} rel {e:.2e}")
        worst = max(worst, e)
    ke = km.evaluate(xv, yv, batch_size=4, verbose=0, return_dict=True)
    te = tfit.evaluate(tm, xv, yv, loss="mse", batch_size=4)
    e = _rel(te["loss"], ke["loss"])
    print(f"add_loss evaluate {te} vs {ke} rel {e:.2e}")
    wk = km.head.get_weights()[0]
    ew = _rel(tm.head.weight.detach().numpy().T, wk)
    print(f"add_loss fit ({floatx}) final head kernel rel {ew:.2e}")
    assert max(worst, e, ew) <= tol


# ------------------------------------------------ 2/3. several outputs, evaluate key order
def _multi_data(n=12, seed=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)), rng.integers(0, 3, size=(n,)), rng.normal(size=(n, 1))


class _TDictNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.h = torch.nn.Linear(4, 5, dtype=torch.float64)
        self.r = torch.nn.Linear(5, 1, dtype=torch.float64)
        self.c = torch.nn.Linear(5, 3, dtype=torch.float64)

    def forward(self, x):
        h = torch.tanh(self.h(x))
        return {"reg": self.r(h), "cls": self.c(h)}   # written reg first; the flat order is sorted: cls, reg


def _dict_pair():
    torch.manual_seed(1)
    tm = _TDictNet()
    inp = keras.Input((4,))
    h = keras.layers.Dense(5, activation="tanh")(inp)
    r = keras.layers.Dense(1, name="r_layer")
    c = keras.layers.Dense(3, activation="softmax", name="c_layer")
    km = keras.Model(inp, {"reg": r(h), "cls": c(h)})
    km.layers[1].set_weights([tm.h.weight.detach().numpy().T, tm.h.bias.detach().numpy()])
    r.set_weights([tm.r.weight.detach().numpy().T, tm.r.bias.detach().numpy()])
    c.set_weights([tm.c.weight.detach().numpy().T, tm.c.bias.detach().numpy()])
    return tm, km


_MULTI = dict(loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"}, loss_weights={"cls": 1.0, "reg": 0.3},
              metrics={"cls": ["accuracy"], "reg": ["mae"]})


@pytest.mark.parametrize("validation", ["split", "data"])
def test_list_y_for_dict_model_fit_evaluate(f64, validation):
    tm, km = _dict_pair()
    x, yc, yr = _multi_data()
    xv, ycv, yrv = _multi_data(7, seed=4)
    val = dict(validation_split=0.25) if validation == "split" else dict(validation_data=(xv, [ycv, yrv]))
    km.compile(optimizer=keras.optimizers.SGD(0.1), **_MULTI)
    kh = km.fit(x, [yc, yr], batch_size=4, epochs=2, shuffle=False, verbose=0, **val).history
    th = tfit.fit(tm, x, [yc, yr], optimizer=optim.SGD(tm.parameters(), learning_rate=0.1), batch_size=4,
                  epochs=2, shuffle=False, verbose=0, output_activation={"cls": "softmax", "reg": None},
                  **_MULTI, **val).history
    print("keras keys", sorted(kh), "torch keys", sorted(th))
    assert sorted(th) == sorted(kh)
    worst = max(_rel(th[k], kh[k]) for k in kh)
    print(f"list y / dict model fit ({validation}): worst rel over {len(kh)} keys {worst:.2e}")
    ke = km.evaluate(xv, [ycv, yrv], batch_size=5, verbose=0, return_dict=True)
    te = tfit.evaluate(tm, xv, [ycv, yrv], batch_size=5, output_activation={"cls": "softmax", "reg": None}, **_MULTI)
    print("keras evaluate", ke, "\ntorch evaluate", te)
    assert list(te) == list(ke)
    ee = max(_rel(te[k], ke[k]) for k in ke)
    print(f"list y / dict model evaluate worst rel {ee:.2e}")
    assert max(worst, ee) <= TOL


def test_list_y_for_dict_model_sample_weight_raises(f64):
    tm, km = _dict_pair()
    x, yc, yr = _multi_data()
    w = np.linspace(0.5, 1.5, len(x))
    km.compile(optimizer="sgd", **_MULTI)
    with pytest.raises(Exception) as kerr:
        km.fit(x, [yc, yr], sample_weight=[w, w], batch_size=4, epochs=1, verbose=0)
    print("Keras raises", type(kerr.value).__name__, str(kerr.value)[:200])
    for sw in ([w, w], w):
        with pytest.raises(TypeError) as terr:
            tfit.fit(tm, x, [yc, yr], optimizer=optim.SGD(tm.parameters()), sample_weight=sw, batch_size=4,
                     output_activation={"cls": "softmax", "reg": None}, verbose=0, **_MULTI)
        print("torch_impl raises TypeError:", str(terr.value)[:200])
    # dicts for both work (the README's way out)
    tfit.fit(tm, x, {"cls": yc, "reg": yr}, optimizer=optim.SGD(tm.parameters()),
             sample_weight={"cls": w, "reg": w}, batch_size=4, output_activation={"cls": "softmax", "reg": None},
             verbose=0, **_MULTI)


def test_evaluate_key_order_single_output(f64):
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(9, 3)), rng.integers(0, 2, size=(9, 1)).astype("float64")
    w = np.linspace(0.2, 2.0, 9)
    torch.manual_seed(2)
    tm = torch.nn.Linear(3, 1, dtype=torch.float64)
    km = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    km.set_weights([tm.weight.detach().numpy().T, tm.bias.detach().numpy()])
    kw = dict(metrics=["mae", "accuracy"], weighted_metrics=["mse", "accuracy"])
    km.compile(loss="binary_crossentropy", **kw)
    ke = km.evaluate(x, y, sample_weight=w, batch_size=4, verbose=0, return_dict=True)
    te = tfit.evaluate(tm, x, y, loss="binary_crossentropy", sample_weight=w, batch_size=4,
                       output_activation="sigmoid", **kw)
    print("keras", list(ke), "\ntorch", list(te))
    assert list(te) == list(ke)
    e = max(_rel(te[k], ke[k]) for k in ke)
    print(f"single-output evaluate worst rel {e:.2e}")
    assert e <= TOL


def test_evaluate_key_order_multi_output_list(f64):
    x, yc, yr = _multi_data()
    w = np.linspace(0.2, 2.0, len(x))
    torch.manual_seed(3)

    class TL(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.h = torch.nn.Linear(4, 5, dtype=torch.float64)
            self.r = torch.nn.Linear(5, 1, dtype=torch.float64)
            self.c = torch.nn.Linear(5, 3, dtype=torch.float64)

        def forward(self, x):
            h = torch.tanh(self.h(x))
            return [self.r(h), self.c(h)]

    tm = TL()
    inp = keras.Input((4,))
    h = keras.layers.Dense(5, activation="tanh")(inp)
    km = keras.Model(inp, [keras.layers.Dense(1, name="zreg")(h), keras.layers.Dense(3, "softmax", name="acls")(h)])
    km.set_weights([p for m in (tm.h, tm.r, tm.c) for p in (m.weight.detach().numpy().T, m.bias.detach().numpy())])
    kw = dict(loss=["mse", "sparse_categorical_crossentropy"], metrics=[["mae"], ["accuracy"]],
              weighted_metrics=[["mse"], ["accuracy"]])
    km.compile(**kw)
    ke = km.evaluate(x, [yr, yc], sample_weight=[w, w], batch_size=5, verbose=0, return_dict=True)
    te = tfit.evaluate(tm, x, [yr, yc], sample_weight=[w, w], batch_size=5, output_names=["zreg", "acls"],
                       output_activation=[None, "softmax"], **kw)
    print("keras", list(ke), "\ntorch", list(te))
    assert list(te) == list(ke)
    e = max(_rel(te[k], ke[k]) for k in ke)
    print(f"multi-output evaluate worst rel {e:.2e}")
    assert e <= TOL


# ---------------------------------------------------------------- 4. half-precision optimizers
class _KerasLayoutDense(torch.nn.Module):
    """``x @ kernel + bias`` with the kernel stored (in, out) as Keras's ``Dense``."""

    def __init__(self, kernel, bias, dtype):
        super().__init__()
        self.kernel = torch.nn.Parameter(torch.tensor(kernel, dtype=dtype))
        self.bias = None if bias is None else torch.nn.Parameter(torch.tensor(bias, dtype=dtype))

    def forward(self, x):
        y = x @ self.kernel
        return y if self.bias is None else y + self.bias


def _half_configs():
    """(name, Keras optimizer factory, torch_impl optimizer factory): keyword-for-keyword the same."""
    def both(kname, tname, **kw):
        sched = kw.pop("schedule", None)

        def k():
            lr = keras.optimizers.schedules.ExponentialDecay(**sched) if sched else kw.get("learning_rate")
            return getattr(keras.optimizers, kname)(**{**kw, **({"learning_rate": lr} if sched else {})})

        def t(params):
            lr = schedules.ExponentialDecay(**sched) if sched else kw.get("learning_rate")
            return getattr(optim, tname)(params, **{**kw, **({"learning_rate": lr} if sched else {})})
        return k, t

    exp = dict(initial_learning_rate=0.05, decay_steps=2, decay_rate=0.7)
    return {
        "adam_clipnorm": both("Adam", "Adam", learning_rate=0.02, clipnorm=0.5, beta_2=0.99),
        "sgd_nesterov_wd": both("SGD", "SGD", learning_rate=0.05, momentum=0.9, nesterov=True, weight_decay=0.1),
        "adamw_ema": both("AdamW", "AdamW", learning_rate=0.02, weight_decay=0.05, use_ema=True,
                          ema_momentum=0.8, ema_overwrite_frequency=3, beta_2=0.99),
        "rmsprop_centered_schedule": both("RMSprop", "RMSprop", schedule=exp, centered=True, momentum=0.5),
        "adagrad_clipvalue": both("Adagrad", "Adagrad", learning_rate=0.1, clipvalue=0.05),
        "nadam_global_clipnorm_schedule": both("Nadam", "Nadam", schedule=exp, global_clipnorm=0.3, beta_2=0.99),
    }


_HALF_DEFAULT = [("adam_clipnorm", "float16"), ("adamw_ema", "float16"), ("rmsprop_centered_schedule", "bfloat16")]
_HALF_ALL = [(c, d) for c in _half_configs() for d in ("float16", "bfloat16")]


def _run_half(config, dtype, steps=5, y_in_half=True, use_bias=None):
    """Keras's ``fit`` and torch_impl's one step at a time; the weights compared after each. ``use_bias`` defaults
    to float16 only: Keras's traced bfloat16 Dense adds its bias before rounding (test_half_bfloat16_bias)."""
    use_bias = dtype == "float16" if use_bias is None else use_bias
    kfac, tfac = _half_configs()[config]
    rng = np.random.default_rng(11)
    x = rng.normal(size=(16, 6)).astype("float32")
    y = rng.normal(size=(16, 3)).astype("float32")
    if y_in_half:  # targets the half type holds exactly (see test_half_fit_float32_targets_rounded)
        y = torch.tensor(y).to(getattr(torch, dtype)).float().numpy()
    kernel = rng.normal(scale=0.5, size=(6, 3)).astype("float32")
    bias = rng.normal(scale=0.1, size=(3,)).astype("float32")
    layer = keras.layers.Dense(3, dtype=dtype, use_bias=use_bias)
    km = keras.Sequential([keras.Input((6,)), layer])
    km.set_weights([kernel, bias][:1 + use_bias])
    km.compile(optimizer=kfac(), loss="mse")
    tdt = getattr(torch, dtype)
    kw = [np.asarray(w, dtype=np.float32) for w in km.get_weights()]
    tm = _KerasLayoutDense(kw[0], kw[1] if use_bias else None, tdt)
    opt = tfac(tm.parameters())
    worst_ulps = []
    for step in range(steps):
        km.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        tfit.fit(tm, x, y, loss="mse", optimizer=opt, batch_size=8, epochs=1, shuffle=False, verbose=0)
        kws = [np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(v, "float32"))) for v in layer.weights]
        tws = [p.detach().float().numpy() for p in tm.parameters()]
        kk = kws[0]
        diff = max(float(np.max(np.abs(t - k))) for t, k in zip(tws, kws))
        neq = sum(int(np.sum(t != k)) for t, k in zip(tws, kws))
        worst_ulps.append((step + 1, neq, diff))
    moved = float(np.max(np.abs(kk - kernel)))
    print(f"half {config} {dtype} (bias {use_bias}, y in half {y_in_half}): per step (step, unequal entries, max abs diff) {worst_ulps}; moved {moved:.3g}")
    return worst_ulps, moved


@pytest.mark.parametrize("config,dtype", _HALF_DEFAULT)
def test_half_optimizer_bit_for_bit(config, dtype):
    steps, moved = _run_half(config, dtype, steps=4)
    assert moved > 0
    assert all(n == 0 for _, n, _ in steps)


@pytest.mark.slow
@pytest.mark.parametrize("config,dtype", [c for c in _HALF_ALL if c not in _HALF_DEFAULT])
def test_half_optimizer_bit_for_bit_grid(config, dtype):
    steps, moved = _run_half(config, dtype, steps=8)
    assert all(n == 0 for _, n, _ in steps)


def test_half_fit_float32_targets_rounded():
    """Found by this audit: fit rounded float32 targets to the model's half dtype before the loss, where Keras's
    loss reads them in floatx (the first float16 step had 6 kernel entries an ulp off); fixed in ``fit._labels``."""
    steps, _ = _run_half("adam_clipnorm", "float16", steps=2, y_in_half=False)
    assert all(n == 0 for _, n, _ in steps)


def test_keras_bfloat16_dense_traced_rounds_once():
    """Keras fact behind the next xfail: traced (``predict``/``fit``), TensorFlow fuses a bfloat16 ``Dense``'s
    MatMul and BiasAdd and rounds ``x @ kernel + bias`` once; an eager call (and a torch module) rounds twice."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(16, 6)).astype("float32")
    layer = keras.layers.Dense(3, dtype="bfloat16")
    km = keras.Sequential([keras.Input((6,)), layer])
    km.set_weights([rng.normal(scale=0.5, size=(6, 3)).astype("float32"), rng.normal(scale=0.1, size=(3,))])
    k, b = (torch.tensor(np.asarray(w, dtype=np.float32)).bfloat16() for w in km.get_weights())
    xb = torch.tensor(x).bfloat16()
    twice = (xb @ k + b).float().numpy()
    once = (xb.float() @ k.float() + b.float()).bfloat16().float().numpy()
    traced = np.asarray(km.predict(x, verbose=0), dtype=np.float32)
    eager = np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(km(x), "float32")))
    print(f"bfloat16 Dense: predict vs rounded once {int(np.sum(traced != once))}, vs twice {int(np.sum(traced != twice))}; "
          f"eager call vs twice {int(np.sum(eager != twice))} (of {once.size})")
    assert np.array_equal(traced, once) and np.array_equal(eager, twice) and not np.array_equal(once, twice)


@pytest.mark.xfail(strict=True, reason="h28 note: a bfloat16 Dense with a bias: Keras's traced fit rounds "
                   "x @ kernel + bias once (fused), a torch module twice, and TensorFlow sums the bias gradient in "
                   "bfloat16 row after row (torch: float32, rounded once): the steps differ from the first")
def test_half_bfloat16_bias():
    steps, _ = _run_half("sgd_nesterov_wd", "bfloat16", steps=2, use_bias=True)
    assert all(n == 0 for _, n, _ in steps)


# ---------------------------------------------------------------- 5. TF2-era (legacy) optimizers
_GRADS = np.array([[0.1, -0.02, 0.5], [0.3, 0.01, -0.4], [-0.2, 0.05, 0.2], [0.15, -0.3, 0.0]])
_W0 = np.array([1.0, -2.0, 0.5])


def _rmsprop(lr, rho, eps, legacy):
    w, v = _W0.copy(), np.zeros(3)
    for g in _GRADS:
        v = rho * v + (1 - rho) * g * g
        w = w - (lr * g / (np.sqrt(v) + eps) if legacy else lr * g / np.sqrt(v + eps))
    return w


def _adagrad(lr, eps, legacy, init=float(np.float32(0.1))):
    # Keras's Constant initializer casts the Python 0.1 through float32 (initializers/constant_initializers.py:36)
    w, a = _W0.copy(), np.full(3, init)
    for g in _GRADS:
        a = a + g * g
        w = w - (lr * g / (np.sqrt(a) + eps) if legacy else lr * g / np.sqrt(a + eps))
    return w


def _nadam(lr, b1, b2, eps, exponent, f32=lambda v: v):
    """Nadam; ``exponent(t)`` is the momentum schedule's power of 0.96: ``0.004 t`` legacy, ``t`` Keras 3.
    ``f32``: Keras 3's ``update_step`` takes ``ops.cast(0.96 / beta_1 / beta_2, var_dtype)``, and TensorFlow's
    ``tf.cast`` of a Python float makes a float32 constant first (``optimizers/nadam.py:116-118``); the
    ``u_product`` variable's update uses the Python floats (``nadam.py:95-104``)."""
    w, m, v, uprod = _W0.copy(), np.zeros(3), np.zeros(3), 1.0
    d, c1, c2 = f32(0.96), f32(b1), f32(b2)
    for i, g in enumerate(_GRADS):
        t = i + 1
        uprod = uprod * b1 * (1 - 0.5 * 0.96 ** exponent(t))
        u_t = c1 * (1 - 0.5 * d ** exponent(t))
        u_t1 = c1 * (1 - 0.5 * d ** exponent(t + 1))
        uprod_next = uprod * u_t1
        m = m + (g - m) * (1 - c1)
        v = v + (g * g - v) * (1 - c2)
        m_hat = u_t1 * m / (1 - uprod_next) + (1 - u_t) * g / (1 - uprod)
        v_hat = v / (1 - c2 ** t)
        w = w - m_hat * lr / (np.sqrt(v_hat) + eps)
    return w


def _sgd_decay(lr, decay, legacy):
    w = _W0.copy()
    for it, g in enumerate(_GRADS):
        w = w - (lr / (1 + decay * it) if legacy else lr) * g
    return w


def _torch_steps(make):
    p = torch.nn.Parameter(torch.tensor(_W0, dtype=torch.float64))
    opt = make([p])
    for g in _GRADS:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    return p.detach().numpy()


def _keras_steps(opt):
    v = keras.Variable(_W0.copy(), dtype="float64")
    for g in _GRADS:
        opt.apply_gradients([(keras.ops.convert_to_tensor(g, dtype="float64"), v)])
    return keras.ops.convert_to_numpy(v)


_LEGACY = {
    "rmsprop_eps": (lambda: keras.optimizers.RMSprop(0.01, rho=0.9, epsilon=0.1),
                    lambda ps: optim.RMSprop(ps, learning_rate=0.01, rho=0.9, epsilon=0.1),
                    lambda legacy: _rmsprop(0.01, 0.9, 0.1, legacy)),
    "adagrad_eps": (lambda: keras.optimizers.Adagrad(0.1, epsilon=1e-2),
                    lambda ps: optim.Adagrad(ps, learning_rate=0.1, epsilon=1e-2),
                    lambda legacy: _adagrad(0.1, 1e-2, legacy)),
    "nadam_schedule": (lambda: keras.optimizers.Nadam(0.01, beta_1=0.9, beta_2=0.99, epsilon=1e-7),
                       lambda ps: optim.Nadam(ps, learning_rate=0.01, beta_1=0.9, beta_2=0.99, epsilon=1e-7),
                       lambda legacy: _nadam(0.01, 0.9, 0.99, 1e-7, (lambda t: 0.004 * t) if legacy else (lambda t: t),
                                             f32=lambda v: float(np.float32(v)))),
}


@pytest.mark.parametrize("case", list(_LEGACY))
def test_legacy_pitfalls(f64, case):
    kmake, tmake, numpy_rule = _LEGACY[case]
    tw = _torch_steps(tmake)
    kw = _keras_steps(kmake())
    k3, legacy = numpy_rule(False), numpy_rule(True)
    e_np, e_k = _rel(tw, k3), _rel(tw, kw)
    gap = float(np.max(np.abs(legacy - k3)))
    print(f"legacy {case}: torch_impl vs NumPy Keras 3 rule rel {e_np:.2e}, vs Keras 3.15.1 rel {e_k:.2e}; "
          f"legacy rule - Keras 3 rule after {len(_GRADS)} steps: max abs {gap:.3e}")
    assert e_k <= TOL and e_np <= TOL
    assert gap > 1e-4  # the legacy rule is measurably another one (the pitfall is real)


def test_legacy_decay_warns_and_is_ignored(f64):
    with pytest.warns(UserWarning):
        kopt = keras.optimizers.SGD(0.1, decay=0.5)
    kw = _keras_steps(kopt)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tw = _torch_steps(lambda ps: optim.SGD(ps, learning_rate=0.1, decay=0.5))
    print("torch_impl warnings:", [str(w.message)[:120] for w in caught])
    assert any("decay" in str(w.message) for w in caught)
    k3, legacy = _sgd_decay(0.1, 0.5, False), _sgd_decay(0.1, 0.5, True)
    e_np, e_k = _rel(tw, k3), _rel(tw, kw)
    gap = float(np.max(np.abs(legacy - k3)))
    print(f"legacy decay: torch_impl vs NumPy no-decay rel {e_np:.2e}, vs Keras 3.15.1 rel {e_k:.2e}; "
          f"legacy lr/(1+decay t) rule apart by {gap:.3e}")
    assert e_np <= TOL and e_k <= TOL and gap > 1e-3

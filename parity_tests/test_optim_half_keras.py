"""``torch_impl.optim`` in float16 / bfloat16 against Keras 3.15.1's compiled ``fit`` (TensorFlow, CPU), bit for bit.

Keras's ``fit`` runs with ``jit_compile="auto"``, which is ``False`` on a machine without an accelerator
(``keras/src/trainers/trainer.py:264-267``, asserted here): the step is a ``tf.function`` that TensorFlow's graph
optimizer (Grappler) rewrites. The models here have their variables in the half type (``Dense(dtype="float16")``
or ``"bfloat16"``); the learning rate stays Keras's float32 variable (``floatx``).

Two references:

* ``fit`` itself: a ``Dense(5)`` on 6 features, batch size 1, the loss ``sum(y * y_pred)``, so that the gradients
  (``x^T y`` and ``y``) are exact in either framework and any difference is the optimizer's; the weights are
  read after every batch. The torch model keeps Keras's kernel layout ``(in, out)`` (``x @ kernel + bias``):
  some of TensorFlow's half arithmetic depends on the flat order (below), so ``nn.Linear``'s transposed
  ``weight`` can be an ulp off on a few entries.
* ``optimizer.apply_gradients`` in a ``tf.function`` returning a value, gradients as arguments (as
  ``test_optim_fuzz_keras.py``), on larger parameters: ``(3, 700)`` (2100 elements), ``(37,)``, ``()``.

Found and fixed in ``torch_impl.optim`` (figures before, ``fit`` above, 8 steps, max ulps float16 / bfloat16):

* ``x / sqrt(y) -> x * Rsqrt(y)`` (RMSprop 8/8, with momentum 768/29184, centered 2/192, Adagrad 8/32, Adadelta
  1/0, Adam/Nadam/Lamb with ``epsilon=0``, Adafactor 1/1, ScheduleFreeAdamW in float16, where its epsilon 1e-8
  is 0): TensorFlow's half ``Rsqrt`` rounds ``1/sqrt(x)`` once on packets of 8 elements and twice (``sqrt``,
  then the reciprocal) on the last ``numel % 8`` elements, Eigen's scalar path (measured on x86-64 for every
  length 1..33); torch_impl took the reciprocal of the rounded root everywhere.
* float16 sums (``global_clipnorm`` 32/32 for SGD, ``clipnorm``, Lamb's trust ratio 6/0, Muon's norm): Eigen
  adds float16 in 8 lanes rounded at each addition, the lanes in float32, halves above 1600 elements; torch's sum
  accumulates in float32. bfloat16 sums accumulate in float32 in both. And ``global_clipnorm`` computed the norm
  of half gradients in float32, where Keras's ``ops.stack`` keeps their dtype.
* Python numbers in Keras's ops become tensors of the variable's dtype, rounded to it; torch multiplies a half
  tensor by a Python float in float32: Ftrl's ``2 * l2_shrinkage`` and ``beta`` (1/2), ``global_clipnorm``'s
  ``clip_norm``, Nadam's running product ``u_product * beta_1`` (bfloat16: apart from step 3 on).
* Muon (4/1): Keras's ``learning_rate * update`` is float32 (the float32 rate times a half update promotes), and
  so is the rest of the step until ``assign_sub`` rounds it to the variable's dtype.

Left as is: Muon's float16 Newton-Schulz products on matrices past a few rows (TensorFlow's float16 matmul
rounds in its own order; (40, 33): ~100 ulps after 10 steps; bfloat16 matches); one-element parameters that are
not 0-d (``(1,)``) in a re-associated product (weight decay, SGD's factor, ScheduleFreeAdamW's average), which
Grappler orders by the graph's node names as in float32/64 (``name_ordered`` in ``test_optim_fuzz_keras.py``;
ScheduleFreeAdamW: within 2 ulps over 10 steps). 0-d parameters are exact.
Keras's facts the tests meet on the way: ``beta_2=0.999`` is 1.0 in bfloat16 (Adam's bias correction
``sqrt(1 - beta_2^t)`` is 0: the weights never move; Nadam's are NaN), reproduced; Keras's ``fit`` leaves
ScheduleFreeAdamW's momentum at 0 unless the optimizer is built first, in every dtype (torch_impl starts from the
weights, README), so the test builds it. With the default ``beta_2`` in bfloat16 both sides are NaN from the first
step (``v / (1 - 1^t) = 0 / 0``), and NaN equals NaN in ``ulps``: that case cannot tell where the momentum starts
(``test_schedule_free_momentum_start_in_half_fit``).
"""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest
import torch

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
ml_dtypes = pytest.importorskip("ml_dtypes")

from torch_impl import optim, schedules  # noqa: E402
from torch_impl.optim import _rsqrt, _sum  # noqa: E402

pytestmark = pytest.mark.keras

DTYPES = ("float16", "bfloat16")
NP = {"float16": np.float16, "bfloat16": ml_dtypes.bfloat16}
KERAS = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop", "adagrad": "Adagrad",
         "adadelta": "Adadelta", "adamax": "Adamax", "nadam": "Nadam", "lion": "Lion", "lamb": "Lamb", "ftrl": "Ftrl",
         "adafactor": "Adafactor", "muon": "Muon", "schedule_free_adamw": "ScheduleFreeAdamW"}


def _torch(a, dtype: str) -> torch.Tensor:
    """A NumPy float16 / ml_dtypes bfloat16 array as a torch tensor of that dtype (bit for bit)."""
    a = np.asarray(a, NP[dtype])  # (np.ascontiguousarray would make a 0-d array 1-d)
    return torch.from_numpy(a.reshape(-1).view(np.int16).copy()).view(getattr(torch, dtype)).reshape(a.shape)


def _numpy(t: torch.Tensor, dtype: str) -> np.ndarray:
    return t.detach().contiguous().view(torch.int16).numpy().view(NP[dtype]).copy()


def _ordered(a) -> np.ndarray:
    """The 16-bit patterns as integers ordered as the values: a difference in ulps is a difference of these."""
    i = np.asarray(a).view(np.int16).astype(np.int64)
    return np.where(i < 0, -(i & 0x7FFF), i)


def _moving(name: str, cfg: dict, dtype: str) -> dict:
    """``cfg`` with ``beta_2=0.99`` in bfloat16 for an optimizer whose second moment is bias-corrected, where it has
    the default 0.999 (given or not), which bfloat16 rounds to 1: the correction is then 0/0 and every weight NaN,
    in Keras too, a comparison of NaN with NaN."""
    if dtype == "bfloat16" and name in ("adam", "adamw", "nadam", "lamb", "schedule_free_adamw") and \
            cfg.get("beta_2", 0.999) == 0.999:
        return {**cfg, "beta_2": 0.99}
    return cfg


def _finite_share(rows) -> float:
    """The share of finite entries in the last row of weights (a run whose weights are NaN compares NaN to NaN)."""
    last = [np.asarray(w, np.float64).ravel() for w in rows[-1]]
    return float(np.mean(np.isfinite(np.concatenate(last))))


def ulps(ours, ref):
    """(largest difference in ulps, entries that differ, first step that differs) over rows of tensors; NaN
    equals NaN, -0 differs from +0 (0 ulps apart)."""
    worst, ndiff, first = 0, 0, None
    for step, (row_a, row_b) in enumerate(zip(ours, ref, strict=True)):
        for a, b in zip(row_a, row_b, strict=True):
            fa, fb = np.asarray(a, np.float64), np.asarray(b, np.float64)
            same = ((fa == fb) & (np.signbit(fa) == np.signbit(fb))) | (np.isnan(fa) & np.isnan(fb))
            if same.all():
                continue
            ndiff += int((~same).sum())
            first = step if first is None else first
            d = np.where(np.isnan(fa) ^ np.isnan(fb), 10 ** 9, np.abs(_ordered(a) - _ordered(b)))
            worst = max(worst, int(d[~same].max()))
    return worst, ndiff, first


def _rate(spec, side: str):
    if not isinstance(spec, tuple):
        return spec
    name, kwargs = spec
    return getattr(keras.optimizers.schedules if side == "keras" else schedules, name)(**kwargs)


def _config(cfg: dict, side: str) -> dict:
    cfg = dict(cfg)
    if "learning_rate" in cfg:
        cfg["learning_rate"] = _rate(cfg["learning_rate"], side)
    return cfg


# ------------------------------------------------------------------------------------------ the fit reference


def _data(seed: int, dtype: str, steps: int, units: int = 5, features: int = 6):
    rng = np.random.default_rng(seed)
    x = np.asarray(rng.normal(size=(steps, features)), NP[dtype]).astype(np.float32)
    scale = np.where(np.arange(steps) % 3 == 1, 0.3, 1.0)[:, None]
    y = np.asarray(rng.normal(size=(steps, units)) * scale, NP[dtype]).astype(np.float32)
    kernel = np.asarray(rng.normal(size=(features, units)) * 0.5, NP[dtype])
    bias = np.asarray(rng.normal(size=(units,)) * 0.5, NP[dtype])
    return x, y, kernel, bias


def keras_fit(name, cfg, dtype, steps=8, seed=0, build_first=True):
    """Kernel and bias after every batch of Keras's ``fit`` on a ``Dense(5, dtype=dtype)``; the weights after
    ``fit`` as the last row with ``use_ema`` (``fit`` ends with ``finalize_variable_values``)."""
    x, y, kernel, bias = _data(seed, dtype, steps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inputs = keras.Input((x.shape[1],))
        layer = keras.layers.Dense(y.shape[1], dtype=dtype)
        model = keras.Model(inputs, layer(inputs))
        layer.kernel.assign(kernel)
        layer.bias.assign(bias)
        opt = getattr(keras.optimizers, KERAS[name])(**_config(cfg, "keras"))
        if name == "schedule_free_adamw" and build_first:  # else fit's build leaves its momentum at 0 (any dtype)
            opt.build(model.trainable_variables)
        model.compile(optimizer=opt, loss=lambda y_true, y_pred: keras.ops.sum(y_true * y_pred, axis=-1))
        rows = []
        record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: rows.append(
            [np.asarray(layer.kernel.numpy()).copy(), np.asarray(layer.bias.numpy()).copy()]))
        model.fit(x, y, batch_size=1, epochs=1, shuffle=False, verbose=0, callbacks=[record])
        assert model.jit_compile is False  # "auto" without an accelerator: the graph, not XLA
        assert layer.kernel.dtype == dtype
        if cfg.get("use_ema"):
            rows[-1] = [np.asarray(layer.kernel.numpy()).copy(), np.asarray(layer.bias.numpy()).copy()]
    return rows


class _KerasDense(torch.nn.Module):
    """Keras's Dense in torch with Keras's kernel layout ``(in, out)``."""

    def __init__(self, kernel: torch.Tensor, bias: torch.Tensor):
        super().__init__()
        self.kernel, self.bias = torch.nn.Parameter(kernel), torch.nn.Parameter(bias)

    def forward(self, x):
        return x @ self.kernel + self.bias


def torch_fit(name, cfg, dtype, steps=8, seed=0):
    """The same training with ``torch_impl.optim`` in a manual loop (floatx: torch's default float32)."""
    x, y, kernel, bias = _data(seed, dtype, steps)
    model = _KerasDense(_torch(kernel, dtype), _torch(bias, dtype))
    opt = getattr(optim, KERAS[name])(model.parameters(), **_config(cfg, "torch"))
    rows = []
    for i in range(steps):
        opt.zero_grad()
        loss = (torch.from_numpy(y[i:i + 1]) * model(_torch(x[i:i + 1], dtype)).float()).sum(-1).mean()
        opt.scale_loss(loss).backward()
        opt.step()
        rows.append([_numpy(model.kernel, dtype), _numpy(model.bias, dtype)])
    if cfg.get("use_ema"):
        opt.finalize_variable_values()
        rows[-1] = [_numpy(model.kernel, dtype), _numpy(model.bias, dtype)]
    return rows


EXP = ("ExponentialDecay", {"initial_learning_rate": 0.05, "decay_steps": 3, "decay_rate": 0.5})
FIT_CASES = [  # (name, config, quick: also in the default run)
    ("sgd", {"learning_rate": 0.05}, False),
    ("sgd", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}, False),
    ("sgd", {"learning_rate": 0.05, "momentum": 0.9, "global_clipnorm": 0.7}, True),
    ("sgd", {"learning_rate": 0.05, "clipnorm": 0.5}, False),
    ("sgd", {"learning_rate": 0.05, "clipvalue": 0.3, "loss_scale_factor": 3.0}, False),
    ("sgd", {"learning_rate": 0.05, "gradient_accumulation_steps": 3}, False),
    ("sgd", {"learning_rate": EXP, "weight_decay": 0.1}, False),
    ("sgd", {"learning_rate": ("PolynomialDecay", {"initial_learning_rate": 0.05, "decay_steps": 10,
                                                   "power": 3.0})}, False),
    ("sgd", {"learning_rate": ("PiecewiseConstantDecay", {"boundaries": [2, 5],
                                                          "values": [0.05, 0.02, 0.01]})}, False),
    ("sgd", {"learning_rate": ("InverseTimeDecay", {"initial_learning_rate": 0.05, "decay_steps": 3,
                                                    "decay_rate": 0.5})}, False),
    ("sgd", {"learning_rate": ("CosineDecayRestarts", {"initial_learning_rate": 0.05,
                                                       "first_decay_steps": 3})}, False),
    ("adam", {"learning_rate": 0.01}, False),
    ("adam", {"learning_rate": 0.01, "beta_2": 0.99, "amsgrad": True, "clipnorm": 0.5}, False),
    ("adam", {"learning_rate": 0.01, "beta_2": 0.99, "epsilon": 0.0}, False),
    ("adam", {"learning_rate": 0.01, "beta_2": 0.99, "global_clipnorm": 0.7, "use_ema": True,
              "ema_momentum": 0.9}, False),
    ("adam", {"learning_rate": ("CosineDecay", {"initial_learning_rate": 0.01, "decay_steps": 10,
                                                "warmup_target": 0.02, "warmup_steps": 3}),
              "beta_2": 0.99, "gradient_accumulation_steps": 3}, False),
    ("adamw", {"learning_rate": 0.01, "beta_2": 0.99, "weight_decay": 0.1}, False),
    ("rmsprop", {"learning_rate": 0.01}, False),
    ("rmsprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}, True),
    ("adagrad", {"learning_rate": 0.05}, True),
    ("adadelta", {"learning_rate": 1.0}, False),
    ("adamax", {"learning_rate": 0.01, "weight_decay": 0.1}, False),
    ("nadam", {"learning_rate": 0.01}, False),
    ("nadam", {"learning_rate": 0.01, "beta_2": 0.99}, False),
    ("ftrl", {"learning_rate": 0.05}, False),
    ("ftrl", {"learning_rate": 0.05, "l1_regularization_strength": 0.013, "l2_regularization_strength": 0.021,
              "l2_shrinkage_regularization_strength": 0.033, "beta": 0.1}, True),
    ("ftrl", {"learning_rate": 0.05, "learning_rate_power": -1.0}, False),
    ("ftrl", {"learning_rate": 0.05, "learning_rate_power": 0.0}, False),
    ("ftrl", {"learning_rate": 0.05, "learning_rate_power": -0.3}, False),
    ("lion", {"learning_rate": 0.01, "weight_decay": 0.1}, False),
    ("lamb", {"learning_rate": 0.01, "beta_2": 0.99}, False),
    ("lamb", {"learning_rate": 0.01, "beta_2": 0.99, "epsilon": 0.0}, False),
    ("adafactor", {"learning_rate": 0.01}, False),
    ("adafactor", {"learning_rate": 0.01, "beta_2_decay": -0.5, "clip_threshold": 0.5}, False),
    ("schedule_free_adamw", {"learning_rate": 0.01}, False),
    ("schedule_free_adamw", {"learning_rate": 0.01, "beta_2": 0.99, "warmup_steps": 3, "epsilon": 1e-4}, False),
    ("muon", {"learning_rate": 0.01}, True),
    ("muon", {"learning_rate": 0.013, "rms_rate": None, "weight_decay": None, "nesterov": False}, False),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,cfg", [pytest.param(n, c, marks=() if quick else pytest.mark.slow)
                                      for n, c, quick in FIT_CASES],
                         ids=[f"{n}-{c}" for n, c, _ in FIT_CASES])
def test_fit_steps_bit_for_bit(name, cfg, dtype):
    cfg = _moving(name, cfg, dtype)
    ref = keras_fit(name, cfg, dtype)
    ours = torch_fit(name, cfg, dtype)
    worst, ndiff, first = ulps(ours, ref)
    moved = sum(int(np.sum(np.asarray(a, np.float64) != np.asarray(b, np.float64)))
                for a, b in zip(ref[-1], [np.asarray(w) for w in _data(0, dtype, 8)[2:]]))
    print(f"{name} {cfg} {dtype}: Keras fit vs torch_impl, 8 steps: max {worst} ulps, {ndiff} entries differ "
          f"(first at step {first}); {moved} of 35 weights moved")
    assert (worst, ndiff) == (0, 0)
    finite = _finite_share(ref)
    print(f"  finite share of Keras's weights: {finite:.2f}")
    assert moved > 0 and finite > 0.5  # mostly numbers: not NaN == NaN


@pytest.mark.parametrize("dtype", DTYPES)
def test_schedule_free_momentum_start_in_half_fit(dtype):
    """Keras's ``fit`` with an unbuilt ScheduleFreeAdamW leaves its momentum at 0 in float16 and bfloat16 as in
    float32/64: the build (with ``assign(momentum, ops.copy(var))``, ``keras/src/optimizers/
    schedule_free_adamw.py:114``) runs in the first trace of the train ``tf.function``, which TensorFlow uses
    only to create the variables (lifted out by ``tf.init_scope``, ``keras/src/backend/tensorflow/core.py:66``)
    and then retraces without it (``tensorflow/.../polymorphic_function.py:895-907``): every weight is about
    ``+-lr`` after the first step. Built first, Keras's fit is torch_impl's bit for bit (which starts from the
    weights, README "Where we deliberately differ"). The default ``beta_2`` (1.0 in bfloat16) is NaN in both."""
    cfg = {"learning_rate": 0.01, "beta_2": 0.99}
    unbuilt = keras_fit("schedule_free_adamw", cfg, dtype, steps=2, build_first=False)
    built = keras_fit("schedule_free_adamw", cfg, dtype, steps=2)
    ours = torch_fit("schedule_free_adamw", cfg, dtype, steps=2)
    first = np.abs(np.asarray(unbuilt[0][0], np.float64))
    start = np.abs(np.asarray(_data(0, dtype, 2)[2], np.float64)).max()
    nan = keras_fit("schedule_free_adamw", {"learning_rate": 0.01}, dtype, steps=1, build_first=False)
    nan_ours = torch_fit("schedule_free_adamw", {"learning_rate": 0.01}, dtype, steps=1)
    n_nan = int(np.isnan(np.asarray(nan[0][0], np.float64)).sum())
    print(f"{dtype}: unbuilt Keras fit, kernel after step 1: |w| in [{first.min():.5f}, {first.max():.5f}] "
          f"(start: max {start:.4f}); built vs torch_impl {ulps(ours, built)[:2]} (ulps, entries), unbuilt vs "
          f"torch_impl {ulps(ours, unbuilt)[:2]}; default beta_2: {n_nan} of 30 kernel entries NaN in Keras")
    assert first.max() <= 0.0102 and first.min() >= 0.0098 and start > 0.5
    assert ulps(ours, built)[:2] == (0, 0) and ulps(ours, unbuilt)[1] == 35 * 2  # every weight, both steps
    if dtype == "bfloat16":
        assert n_nan == 30 and ulps(nan_ours, nan)[:2] == (0, 0)


# ------------------------------------------------------------------ apply_gradients in a tf.function, larger

SHAPES = [(3, 700), (37,), ()]  # 2100 elements: past float16 sums' 1600 and Rsqrt's packets, with a tail


def keras_graph(name, cfg, w0, grads, dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vs = [keras.Variable(w, dtype=dtype) for w in w0]
        opt = getattr(keras.optimizers, KERAS[name])(**_config(cfg, "keras"))
        opt.build(vs)
        apply = tf.function(lambda gs: opt.apply_gradients(zip(gs, vs)), jit_compile=False, reduce_retracing=True)
        rows = []
        for gs in grads:
            apply([tf.constant(g) for g in gs])
            rows.append([np.asarray(v.numpy()).copy() for v in vs])
    return rows


def torch_graph(name, cfg, w0, grads, dtype):
    ps = [torch.nn.Parameter(_torch(w, dtype)) for w in w0]
    opt = getattr(optim, KERAS[name])(ps, **_config(cfg, "torch"))
    rows = []
    for gs in grads:
        for p, g in zip(ps, gs):
            p.grad = _torch(g, dtype)
        opt.step()
        rows.append([_numpy(p, dtype) for p in ps])
    return rows


GRAPH_CASES = [  # (name, config, quick)
    ("sgd", {"learning_rate": 0.05, "global_clipnorm": 0.5, "momentum": 0.9}, True),
    ("sgd", {"learning_rate": 0.05, "clipnorm": 0.5}, False),
    ("sgd", {"learning_rate": 0.05, "loss_scale_factor": 10.0, "weight_decay": 0.3}, False),
    ("adam", {"learning_rate": 0.01, "beta_2": 0.99, "epsilon": 0.0}, False),
    ("adam", {"learning_rate": 0.01, "weight_decay": 0.3, "use_ema": True, "ema_momentum": 0.3}, False),
    ("rmsprop", {"learning_rate": 0.01, "centered": True, "momentum": 0.9}, True),
    ("rmsprop", {"learning_rate": 0.01, "gradient_accumulation_steps": 3}, False),
    ("adagrad", {"learning_rate": 0.05}, False),
    ("adadelta", {"learning_rate": 1.0}, False),
    ("adamax", {"learning_rate": 0.01}, False),
    ("nadam", {"learning_rate": 0.01, "beta_2": 0.99, "epsilon": 0.0}, False),
    ("ftrl", {"learning_rate": 0.05, "learning_rate_power": -0.3, "l1_regularization_strength": 0.01}, False),
    ("lion", {"learning_rate": 0.01}, False),
    ("lamb", {"learning_rate": 0.01, "beta_2": 0.99}, True),
    ("lamb", {"learning_rate": 0.01, "beta_2": 0.99, "epsilon": 0.0}, False),
    ("adafactor", {"learning_rate": 0.01}, False),
    ("schedule_free_adamw", {"learning_rate": 0.01, "warmup_steps": 3}, False),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,cfg", [pytest.param(n, c, marks=() if quick else pytest.mark.slow)
                                      for n, c, quick in GRAPH_CASES],
                         ids=[f"{n}-{c}" for n, c, _ in GRAPH_CASES])
def test_graph_steps_bit_for_bit_on_larger_parameters(name, cfg, dtype):
    cfg = _moving(name, cfg, dtype)
    rng = np.random.default_rng(zlib.crc32(f"{name}{cfg}{dtype}".encode()))
    w0 = [np.asarray(rng.normal(size=s), NP[dtype]) for s in SHAPES]
    grads = [[np.asarray(rng.normal(size=s) * (0.05 if k % 4 == 3 else 1.0), NP[dtype]) for s in SHAPES]
             for k in range(10)]
    ref = keras_graph(name, cfg, w0, grads, dtype)
    ours = torch_graph(name, cfg, w0, grads, dtype)
    worst, ndiff, first = ulps(ours, ref)
    line = (f"{name} {cfg} {dtype}: apply_gradients in a tf.function, {SHAPES}, 10 steps: max {worst} ulps, "
            f"{ndiff} entries differ (first at step {first})")
    print(line)
    assert (worst, ndiff) == (0, 0), line
    finite = _finite_share(ref)
    print(f"  finite share of Keras's weights: {finite:.2f}")
    assert finite > 0.5, line  # mostly numbers: not NaN == NaN


# ------------------------------------------------------------------------------- the two primitives, directly


@pytest.mark.parametrize("dtype", DTYPES)
def test_rsqrt_and_sum_as_tensorflow_computes_them(dtype):
    """``_rsqrt`` against ``tf.math.rsqrt`` (every length 1..33, Rsqrt's packets and scalar tail) and ``_sum``
    against ``tf.reduce_sum`` (lengths around the packets, blocks and the 1600-element split)."""
    rng = np.random.default_rng(7)
    bad_rsqrt = bad_sum = naive_rsqrt = naive_sum = 0
    for n in range(1, 34):
        for _ in range(12):
            x = np.asarray(rng.uniform(0.01, 40.0, size=n), NP[dtype])
            ref = tf.math.rsqrt(tf.constant(x)).numpy()
            bad_rsqrt += int(np.sum(_numpy(_rsqrt(_torch(x, dtype)), dtype) != ref))
            naive_rsqrt += int(np.sum(_numpy(torch.reciprocal(torch.sqrt(_torch(x, dtype))), dtype) != ref))
    sizes = [1, 7, 8, 13, 31, 32, 33, 100, 1000, 1600, 1601, 1609, 2100, 5000]
    for n in sizes:
        for _ in range(6):
            x = np.asarray(rng.normal(size=n), NP[dtype])
            ref = tf.reduce_sum(tf.constant(x)).numpy()
            bad_sum += int(_numpy(_sum(_torch(x, dtype)), dtype) != ref)
            naive_sum += int(_numpy(_torch(x, dtype).sum(), dtype) != ref)
    print(f"{dtype}: Rsqrt of lengths 1..33: {bad_rsqrt} entries differ (1/sqrt rounded twice: {naive_rsqrt}); "
          f"sums of {len(sizes) * 6} vectors up to 5000: {bad_sum} differ (torch's sum: {naive_sum})")
    assert bad_rsqrt == 0 and bad_sum == 0
    assert naive_rsqrt > 0  # the double rounding that was here before

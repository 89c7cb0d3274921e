"""torch_impl.nn against real Keras 3 (TensorFlow backend): BatchNormalization, initialisers, activations
and models built from a spec, value for value and gradient for gradient.

Standards (DESIGN.md): float64 values within 1e-12 relative, gradients within 1e-10; float32 within 1e-5
relative (+1e-6 absolute). Activations are compared element-wise with an absolute floor of a few ulps of
``max(1, |x|)`` (TensorFlow's and torch's exp/tanh/sqrt differ in the last bit, which saturated gradients
such as sigmoid's ``y (1 - y)`` turn into large relative, ulp-sized absolute differences); NaN and
infinite entries must be the same.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from keras.src.activations import ALL_OBJECTS_DICT  # noqa: E402
from keras.src.initializers.random_initializers import compute_fans  # noqa: E402

from keras_impl.models import build_model as keras_build_model  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl.nn import (ACTIVATIONS, Activation, BatchNorm2d, BatchNormalization, build_model,  # noqa: E402
                           glorot_uniform_, keras_init_, keras_weights, load_keras_weights)

pytestmark = pytest.mark.keras

TOL = {"float64": (1e-12, 1e-10, 0.0), "float32": (1e-5, 1e-5, 1e-6)}  # value rtol, grad rtol, atol


def _rel(a, b) -> float:
    """max |a - b| / max |b| (the whole array's scale)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


# ------------------------------------------------------------------------------------ BatchNormalization

def _bn_pair(channels, dtype, rng, channels_first=False, rank=2, **kw):
    """keras.layers.BatchNormalization and the torch layer with the same random gamma/beta/moving stats."""
    kl = keras.layers.BatchNormalization(dtype=dtype, **kw)
    kl.build((None,) * (rank - 1) + (channels,))
    weights = [rng.normal(size=channels) for _ in kl.weights]
    weights[-1] = np.abs(weights[-1]) + 0.5  # a positive moving variance
    weights = [w.astype(dtype) for w in weights]
    kl.set_weights(weights)
    if channels_first:
        tl = BatchNorm2d(channels, dtype=getattr(torch, dtype), **kw)
    else:
        tl = BatchNormalization(channels, axis=-1, dtype=getattr(torch, dtype), **kw)
    load_keras_weights(torch.nn.Sequential(tl), weights)
    return kl, tl


def _bn_compare(shape, dtype, steps=3, channels_first=False, const=False, loc=0.0, scale=1.0, seed=0, **kw):
    """Training steps (output, input/gamma/beta gradients), the moving statistics, then inference."""
    rng = np.random.default_rng(seed)
    kl, tl = _bn_pair(shape[-1], dtype, rng, channels_first=channels_first, rank=len(shape), **kw)
    to_t = (lambda a: np.ascontiguousarray(np.moveaxis(a, -1, 1))) if channels_first else (lambda a: a)
    to_k = (lambda a: np.moveaxis(a, 1, -1)) if channels_first else (lambda a: a)
    err = {"out": 0.0, "grad_x": 0.0, "grad_params": 0.0}
    tl.train()
    for _ in range(steps):
        x = (rng.normal(size=shape) * scale + loc).astype(dtype)
        if const:
            x[..., 0] = 3.25  # a zero-variance feature
        w = rng.normal(size=shape).astype(dtype)
        xv = tf.Variable(x)
        with tf.GradientTape() as tape:
            yk = kl(xv, training=True)
            lk = tf.reduce_sum(yk * w)
        gk = tape.gradient(lk, [xv] + kl.trainable_weights)
        xt = torch.tensor(to_t(x), requires_grad=True)
        yt = tl(xt)
        params = [p for p in (tl.weight, tl.bias) if p is not None]
        gt = torch.autograd.grad((yt * torch.tensor(to_t(w))).sum(), [xt] + params)
        err["out"] = max(err["out"], _rel(to_k(yt.detach().numpy()), yk))
        err["grad_x"] = max(err["grad_x"], _rel(to_k(gt[0].numpy()), gk[0]))
        for a, b in zip(gt[1:], gk[1:]):
            err["grad_params"] = max(err["grad_params"], _rel(a, b))
    err["moving_mean"] = _rel(tl.running_mean, kl.moving_mean.numpy())
    err["moving_var"] = _rel(tl.running_var, kl.moving_variance.numpy())
    x = (rng.normal(size=shape) * scale + loc).astype(dtype)
    tl.eval()
    with torch.no_grad():
        err["inference"] = _rel(to_k(tl(torch.tensor(to_t(x))).numpy()), kl(x, training=False))
    return err


BN_CASES = {
    "N,C": dict(shape=(16, 5)),
    "N,H,W,C axis -1": dict(shape=(8, 4, 4, 3)),
    "N,C,H,W BatchNorm2d": dict(shape=(8, 4, 4, 3), channels_first=True),
    "batch of 1": dict(shape=(1, 5)),
    "zero-variance feature": dict(shape=(16, 5), const=True),
    "center=False": dict(shape=(16, 5), center=False),
    "scale=False": dict(shape=(16, 5), scale=False),
    "center=scale=False": dict(shape=(16, 5), center=False, scale=False),
    "momentum 0.5 epsilon 1e-5": dict(shape=(16, 5), momentum=0.5, epsilon=1e-5),
    "mean 3 std 5": dict(shape=(32, 4), loc=3.0, scale=5.0),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", list(BN_CASES))
def test_batchnorm_matches_keras(case, dtype):
    err = _bn_compare(dtype=dtype, **BN_CASES[case])
    print(f"BatchNormalization {case} {dtype}: " + ", ".join(f"{k} {v:.1e}" for k, v in err.items()))
    v_tol, g_tol, _ = TOL[dtype]
    for k in ("out", "moving_mean", "moving_var", "inference"):
        assert err[k] <= v_tol, (k, err[k])
    for k in ("grad_x", "grad_params"):
        assert err[k] <= g_tol, (k, err[k])


@pytest.mark.parametrize("policy, torch_dtype, x_dtype, scale", [
    ("float16", torch.float16, "float16", 300.0),     # torch_impl before: squares in float16, moving var inf
    ("mixed_float16", torch.float32, "float16", 300.0),
    ("mixed_float16", torch.float32, "float16", 1.0),
    ("mixed_bfloat16", torch.float32, "bfloat16", 1.0),
    ("float32", torch.float32, "float64", 1.0),       # Keras casts the input to the layer's dtype
    ("float64", torch.float64, "float32", 1.0),
])
def test_batchnorm_dtypes_match_keras(policy, torch_dtype, x_dtype, scale):
    """Keras computes the statistics in at least float32 and returns its compute dtype."""
    rng = np.random.default_rng(1)
    kl = keras.layers.BatchNormalization(dtype=policy)
    kl.build((None, 4))
    tl = BatchNormalization(4, dtype=torch_dtype)
    x64 = rng.normal(size=(64, 4)) * scale
    xk = tf.cast(tf.constant(x64), x_dtype)
    xt = torch.tensor(x64).to(getattr(torch, x_dtype))
    yk = kl(xk, training=True)
    yt = tl(xt)
    out_err = float(np.abs(tf.cast(yk, tf.float64).numpy() - yt.detach().double().numpy()).max())
    var_err = _rel(tl.running_var.double(), tf.cast(kl.moving_variance, tf.float64).numpy())
    print(f"{policy} layer, {x_dtype} input x{scale}: output {yt.dtype} (Keras {yk.dtype.name}), max |out diff| "
          f"{out_err:.1e}, moving variance rel {var_err:.1e}, torch moving var {tl.running_var[:2].tolist()}")
    assert str(yt.dtype).replace("torch.", "") == yk.dtype.name
    assert tl.running_var.dtype == torch_dtype
    assert bool(torch.isfinite(tl.running_var).all())
    tol = 1e-6 if policy in ("float32", "float64") else 0.0  # half outputs: bit for bit
    assert out_err <= tol and var_err <= 1e-6


def test_batchnorm_large_mean_float32():
    """Keras's float32 batch mean is a sequential float32 sum (TensorFlow's reduce over the batch axis), whose
    error grows with the batch; torch_impl keeps torch's pairwise sum. Both are two-pass (mean, then the
    squared deviations), neither is E[x^2] - E[x]^2. Measured here against the float64 statistics."""
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(16384, 5)) + 1e4).astype(np.float32)
    kl = keras.layers.BatchNormalization(momentum=0.0)
    kl.build((None, 5))
    kl(x, training=True)
    tl = BatchNormalization(5, momentum=0.0)
    tl(torch.from_numpy(x))
    x64 = x.astype(np.float64)
    ulp = float(np.spacing(np.float32(1e4)))
    mean_err = {"keras": float(np.abs(kl.moving_mean.numpy() - x64.mean(0)).max()) / ulp,
                "torch_impl": float(np.abs(tl.running_mean.numpy() - x64.mean(0)).max()) / ulp}
    var_err = {"keras": _rel(kl.moving_variance.numpy(), x64.var(0)),
               "torch_impl": _rel(tl.running_var.numpy(), x64.var(0))}
    seq = np.zeros(5, np.float32)
    for row in x:
        seq = seq + row
    seq_equal = bool(np.array_equal(kl.moving_mean.numpy(), seq / np.float32(len(x))))
    print(f"float32 batch of 16384 around 1e4, std 1: mean error in ulps {mean_err}, variance rel error {var_err}; "
          f"Keras's mean == sequential float32 sum / N: {seq_equal}")
    assert var_err["torch_impl"] < 1e-5 and mean_err["torch_impl"] < 2
    assert var_err["keras"] > 10 * var_err["torch_impl"]  # the difference is Keras's summation order


def test_frozen_batchnorm_matches_keras():
    """trainable=False: Keras runs the layer in inference mode under training=True and trains no gamma/beta."""
    rng = np.random.default_rng(3)
    kl, tl = _bn_pair(4, "float64", rng)
    kl.trainable = False
    tl.trainable = False
    tl.train()
    x = rng.normal(size=(8, 4)) * 2 + 1
    xv = tf.Variable(x)
    with tf.GradientTape() as tape:
        lk = tf.reduce_sum(kl(xv, training=True) ** 2)
    gk = tape.gradient(lk, xv).numpy()
    xt = torch.tensor(x, requires_grad=True)
    lt = (tl(xt) ** 2).sum()
    (gt,) = torch.autograd.grad(lt, xt)
    stats = _rel(tl.running_mean, kl.moving_mean.numpy()), _rel(tl.running_var, kl.moving_variance.numpy())
    print(f"frozen BatchNormalization: loss rel {_rel(lt.item(), lk.numpy()):.1e}, input grad rel "
          f"{_rel(gt, gk):.1e}, moving stats rel {stats}, Keras trainable weights {len(kl.trainable_weights)}, "
          f"torch params requiring grad {sum(p.requires_grad for p in tl.parameters())}")
    assert _rel(lt.item(), lk.numpy()) <= 1e-12 and _rel(gt, gk) <= 1e-10 and max(stats) == 0.0
    assert len(kl.trainable_weights) == 0 and not any(p.requires_grad for p in tl.parameters())


def test_batchnorm_axis_out_of_bounds():
    with pytest.raises(ValueError, match="out of bounds"):  # before: axis 5 wrapped round to axis 1
        BatchNormalization(4, axis=5)(torch.randn(3, 4))
    with pytest.raises(ValueError, match="out of bounds"):
        BatchNormalization(4, axis=-3)(torch.randn(3, 4))


# ------------------------------------------------------------------------------------ initialisers

# (Keras layer and kernel shape, the torch module whose weight Keras's kernel corresponds to)
INIT_CASES = {
    "Dense(300 -> 200)": ((300, 200), lambda: torch.nn.Linear(300, 200)),
    "Conv1D k5 16 -> 32": ((5, 16, 32), lambda: torch.nn.Conv1d(16, 32, 5)),
    "Conv2D 3x3 8 -> 24": ((3, 3, 8, 24), lambda: torch.nn.Conv2d(8, 24, 3)),
    "Conv2D 3x3 8 -> 24 groups 4": ((3, 3, 2, 24), lambda: torch.nn.Conv2d(8, 24, 3, groups=4)),
    "Conv3D 2x2x2 4 -> 6": ((2, 2, 2, 4, 6), lambda: torch.nn.Conv3d(4, 6, 2)),
    "Conv2DTranspose 3x3 8 -> 24": ((3, 3, 24, 8), lambda: torch.nn.ConvTranspose2d(8, 24, 3)),
}


@pytest.mark.parametrize("case", list(INIT_CASES))
def test_glorot_uniform_matches_keras(case):
    """The same U(-l, l) as keras.initializers.GlorotUniform on Keras's kernel shape: the limit exactly, and
    samples of both with the extreme |w| and the variance l^2 / 3."""
    keras_shape, make = INIT_CASES[case]
    fan_in, fan_out = compute_fans(keras_shape)
    keras_limit = math.sqrt(6.0 / (fan_in + fan_out))
    module = keras_init_(make(), generator=torch.Generator().manual_seed(0))
    t_fan_in, t_fan_out = tnn._fans(module.weight)
    torch_limit = math.sqrt(6.0 / (t_fan_in + t_fan_out))
    wk = np.asarray(keras.initializers.GlorotUniform(seed=0)(keras_shape))
    wt = module.weight.detach().numpy()
    n = wt.size
    stats = {"keras": (float(np.abs(wk).max()) / keras_limit, float(wk.var()) / (keras_limit**2 / 3)),
             "torch_impl": (float(np.abs(wt).max()) / torch_limit, float(wt.var()) / (torch_limit**2 / 3))}
    print(f"{case}: limit Keras {keras_limit:.6g} torch_impl {torch_limit:.6g}; (max|w|/l, var/(l^2/3)) {stats}; "
          f"bias all zero {bool((module.bias == 0).all())}")
    assert torch_limit == keras_limit
    assert (t_fan_in, t_fan_out) == (fan_in, fan_out)
    for max_ratio, var_ratio in stats.values():
        assert 1 - 20 / n < max_ratio <= 1.0
        assert abs(var_ratio - 1) < 6 / math.sqrt(n)  # the sample variance's relative sd is ~ sqrt(0.8 / n)
    assert bool((module.bias == 0).all())


def test_glorot_uniform_low_rank_as_keras():
    """Keras's compute_fans takes rank 1 (fan_in = fan_out = n) and rank 0; torch_impl raised before."""
    for shape in [(7,), ()]:
        fans = compute_fans(shape)
        w = glorot_uniform_(torch.empty(shape))
        print(f"glorot_uniform on shape {shape}: fans Keras {fans} torch_impl {tnn._fans(w)}")
        assert tnn._fans(w) == fans and float(w.abs().max()) <= math.sqrt(6 / sum(fans))


def test_keras_init_other_layers_and_unknown_modules():
    model = torch.nn.Sequential(torch.nn.Embedding(1000, 8), torch.nn.LayerNorm(8), torch.nn.PReLU(),
                                torch.nn.BatchNorm1d(8, track_running_stats=False),
                                torch.nn.ConvTranspose1d(8, 4, 3))
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(7.0)
    keras_init_(model, generator=torch.Generator().manual_seed(0))
    emb = model[0].weight.detach().numpy()
    keras_emb = keras.layers.Embedding(1000, 8).embeddings_initializer.get_config()
    print(f"Embedding: max|w| {np.abs(emb).max():.4f} (Keras's default {keras_emb}), LayerNorm "
          f"{model[1].weight[0].item()}/{model[1].bias[0].item()}, PReLU {model[2].weight.item()}, "
          f"ConvTranspose1d bias {model[4].bias.tolist()}")
    assert keras_emb["minval"] == -0.05 and keras_emb["maxval"] == 0.05
    assert 0.049 < np.abs(emb).max() <= 0.05 and abs(emb.var() - 0.05**2 / 3) < 0.05 * 0.05**2 / 3
    assert bool((model[1].weight == 1).all()) and bool((model[1].bias == 0).all())
    assert model[2].weight.item() == 0.0  # Keras PReLU alpha "zeros" (torch: 0.25)
    assert bool((model[3].weight == 1).all()) and bool((model[4].bias == 0).all())
    assert float(model[4].weight.detach().abs().max()) <= math.sqrt(6 / ((8 + 4) * 3))

    # (MultiheadAttention has Keras's defaults since: test_attention_keras.py)
    other = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Bilinear(4, 4, 2))
    before = [p.detach().clone() for p in other.parameters()]
    with pytest.raises(ValueError, match=r"'1' \(Bilinear: weight"):  # before: silently torch's
        keras_init_(other)
    assert all(torch.equal(a, b) for a, b in zip(before, other.parameters()))  # nothing changed on the error
    keras_init_(other, strict=False)
    assert bool((other[0].bias == 0).all()) and torch.equal(before[2], other[1].weight)

    # Keras's LSTM/GRU/SimpleRNN defaults: glorot_uniform kernel, orthogonal recurrent kernel, zero bias,
    # LSTM's forget gate bias 1 (unit_forget_bias)
    rnns = torch.nn.ModuleList([torch.nn.LSTM(5, 4, num_layers=2, bidirectional=True), torch.nn.GRU(5, 4),
                                torch.nn.RNN(5, 4)])
    keras_init_(rnns, generator=torch.Generator().manual_seed(0))
    for m in rnns:
        gates = m.weight_hh_l0.shape[0] // 4
        hh = m.weight_hh_l0.detach()
        assert torch.allclose(hh.T @ hh, torch.eye(4), atol=1e-5)  # Keras (units, gates*units): orthonormal rows
        assert float(m.weight_ih_l0.detach().abs().max()) <= math.sqrt(6 / (5 + 4 * gates))
        forget = torch.zeros(4 * gates)
        if isinstance(m, torch.nn.LSTM):
            forget[4:8] = 1.0
        assert torch.equal(m.bias_ih_l0.detach(), forget) and bool((m.bias_hh_l0 == 0).all())

    class Scaled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gain = torch.nn.Parameter(torch.ones(3))

    with pytest.raises(ValueError, match="Scaled: gain"):
        keras_init_(Scaled())


# ------------------------------------------------------------------------------------ activations

EDGE = np.array([0.0, -0.0, 1e-300, -1e-300, 1e-10, -1e-10, 1e-3, -1e-3, 0.5, -0.5, 1, -1, 2.5, -2.5, 3, -3,
                 6, -6, 10, -10, 17, -17, 20, -20, 20.25, -20.25, 30, -30, 34.5, -34.5, 36.8, -36.8, 50, -50,
                 88.8, -88.8, 100, -100, 700, -700, 710, -710, 1e10, -1e10, 1e300, -1e300, np.inf, -np.inf,
                 np.nan, 2.0, -2.0, 1.0 + 1e-12])
_rng = np.random.default_rng(0)
X_1D = np.concatenate([EDGE, _rng.normal(size=300) * 3, _rng.normal(size=100) * 30])
X_ROWS = np.concatenate([X_1D, _rng.normal(size=(-len(X_1D)) % 6)]).reshape(-1, 6)
ROW_WISE = {"softmax", "log_softmax", "sparsemax", "glu"}
# Not reproduced (documented): gradients at +-inf inputs of hard_silu (TensorFlow: NaN, from inf * 0 in its
# relu6 gradient; torch_impl: 0 / 1.34 - the value is NaN / inf there), and float32 softmax rows holding an
# infinity or NaN (TensorFlow's float32 kernel gives 0 to the row's other entries, torch and float64 NaN).
INF_GRAD_SKIP = {"hard_silu", "hard_swish"}


def _keras_act(name, x, dtype):
    fn = keras.activations.get(name)
    xv = tf.Variable(x.astype(dtype))
    y = fn(xv)
    w = tf.constant(np.random.default_rng(1).uniform(0.5, 1.5, size=y.shape).astype(dtype))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(fn(xv) * w)
    return y.numpy(), tape.gradient(loss, xv).numpy(), w.numpy()


def _torch_act(name, x, w, dtype):
    xt = torch.tensor(x.astype(dtype), requires_grad=True)
    y = ACTIVATIONS[name](xt)
    (g,) = torch.autograd.grad((y * torch.tensor(w)).sum(), xt)
    return y.detach().numpy(), g.numpy()


def _act_errors(name, dtype):
    x = X_ROWS if name in ROW_WISE else X_1D
    ky, kg, w = _keras_act(name, x, dtype)
    ty, tg = _torch_act(name, x, w, dtype)
    v_rtol, g_rtol, atol = TOL[dtype]
    atol = {"float64": 4e-16, "float32": 1e-6}[dtype]
    x32 = x.astype(dtype).astype(np.float64)
    scale = np.maximum(1.0, np.abs(np.where(np.isfinite(x32), x32, 0.0)))
    if name in ROW_WISE:
        scale = np.repeat(scale.max(-1, keepdims=True), 6, -1)
    out = {}
    for what, a, b, rtol in (("value", ty, ky, v_rtol), ("grad", tg, kg, g_rtol)):
        a, b = a.astype(np.float64), b.astype(np.float64)
        sc = scale[:, :a.shape[-1]] if scale.ndim == 2 else scale  # glu's value has half the columns
        skip = np.zeros(a.shape, bool)
        if what == "grad" and name in INF_GRAD_SKIP:
            skip = np.isinf(x32)
        if name == "softmax" and dtype == "float32":
            skip = np.repeat((~np.isfinite(x32)).any(-1, keepdims=True), 6, -1)
        nan_diff = (np.isnan(a) != np.isnan(b)) & ~skip
        fin = np.isfinite(a) & np.isfinite(b) & ~skip
        inf_diff = ~fin & ~skip & ~np.isnan(a) & ~np.isnan(b) & (a != b)
        excess = np.zeros(a.shape)
        excess[fin] = np.abs(a[fin] - b[fin]) / (rtol * np.abs(b[fin]) + atol * sc[fin])
        out[what] = (float(excess.max()), int(nan_diff.sum()), int(inf_diff.sum()))
    return out


ACT_NAMES = sorted(k for k in ACTIVATIONS if k and k != "manual_softmax")


def test_activation_names_are_keras_names():
    keras_names = set(ALL_OBJECTS_DICT) - {"threshold"}  # threshold needs arguments: not usable by name
    print(f"{len(ACT_NAMES)} names; Keras-only: {sorted(keras_names - set(ACT_NAMES))}, "
          f"torch_impl-only: {sorted(set(ACT_NAMES) - keras_names)}")
    assert set(ACT_NAMES) == keras_names
    for bad in ["threshold", "Relu", "swishy", "softmax_v2", 3]:
        with pytest.raises(ValueError, match="Unknown activation"):
            Activation(bad)
    assert Activation(None)(torch.ones(2)).tolist() == [1.0, 1.0]


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")  # +-1e300 in float32: +-inf
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ACT_NAMES)
def test_activation_matches_keras(name, dtype):
    """Values and input gradients on random inputs and on 0, +-tiny, +-huge, +-inf and NaN."""
    err = _act_errors(name, dtype)
    print(f"{name} {dtype}: (worst error / tolerance, NaN-pattern differences, inf differences) {err}")
    for what, (worst, nan_diff, inf_diff) in err.items():
        assert worst <= 1.0 and nan_diff == 0 and inf_diff == 0, (what, err[what])


F = torch.nn.functional
# (name, input, what, torch's own function a port would reach for)
PINNED = [
    ("leaky_relu", -3.0, "value", lambda x: F.leaky_relu(x, 0.2)),  # Keras: slope float32(0.2); torch's default 0.01
    ("softplus", 20.25, "value", F.softplus),             # torch's threshold 20 returns x from 20
    ("softplus", 25.0, "grad", F.softplus),
    ("gelu", 0.5, "value", F.gelu),                       # tf.nn.gelu multiplies by a float32 1/sqrt(2)
    ("relu", np.nan, "grad", torch.relu),                 # TensorFlow: a NaN input takes no gradient
    ("celu", 0.0, "grad", F.celu),                        # TensorFlow's max/min pass the gradient on ties: 2
    ("selu", 0.0, "grad", F.selu),                        # SeluGrad: slope `scale` at 0, not scale * alpha
    ("hard_tanh", 1.0, "grad", F.hardtanh),               # clip_by_value's gradient includes the boundary
    ("hard_shrink", np.nan, "value", F.hardshrink),       # TensorFlow: where(|x| > 0.5, x, 0) gives 0
    ("relu6", np.nan, "grad", F.relu6),
    ("softsign", np.inf, "grad", F.softsign),             # SoftsignGrad 1 / (1 + |x|)^2 = 0
]


def _value_and_grad(fn, x):
    xt = torch.tensor([x], dtype=torch.float64, requires_grad=True)
    y = fn(xt)
    (g,) = torch.autograd.grad(y.sum(), xt)
    return float(y.detach()[0]), float(g[0])


@pytest.mark.parametrize("name, x, what, torch_fn", PINNED, ids=[f"{p[0]}-{p[1]}-{p[2]}" for p in PINNED])
def test_activation_pinned_differences(name, x, what, torch_fn):
    """Entries where torch's own function differs from Keras; torch_impl's equals Keras's."""
    xv = tf.Variable([x], dtype=tf.float64)
    with tf.GradientTape() as tape:
        yk = keras.activations.get(name)(xv)
    keras_vg = float(yk.numpy()[0]), float(tape.gradient(yk, xv).numpy()[0])
    ours_vg = _value_and_grad(ACTIVATIONS[name], x)
    theirs_vg = _value_and_grad(torch_fn, x)
    i = 0 if what == "value" else 1
    ref, ours, theirs = keras_vg[i], ours_vg[i], theirs_vg[i]
    print(f"{name}({x}) {what}: Keras {ref!r}, torch_impl {ours!r}, torch's own {theirs!r}")

    def same(a, b):
        return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-15 * max(1.0, abs(b))

    assert same(ours, ref)
    assert not same(theirs, ref)  # the case pins a real difference


# ------------------------------------------------------------------------------------ models from a spec

SPEC = {"input_dim": 6, "layers": [
    {"type": "dense", "units": 10, "activation": "relu"},
    {"type": "batchnorm"},
    {"type": "dense", "units": 8, "activation": "gelu"},
    {"type": "batchnorm", "momentum": 0.9, "epsilon": 1e-5},
    {"type": "dense", "units": 8, "activation": "selu"},
    {"type": "activation", "activation": "swish"},
    {"type": "dense", "units": 6, "activation": "elu", "use_bias": False},
    {"type": "dense", "units": 3, "activation": "softmax"},
]}


def _keras_and_torch(spec, dtype, seed=0):
    rng = np.random.default_rng(seed)
    km = keras_build_model(spec, dtype=dtype)
    weights = [rng.normal(size=w.shape).astype(dtype) * 0.5 for w in km.get_weights()]
    weights = [np.abs(w) + 0.5 if i in _variance_slots(km) else w for i, w in enumerate(weights)]
    km.set_weights(weights)
    tm = build_model(spec, dtype=getattr(torch, dtype))
    load_keras_weights(tm, km.get_weights())
    return km, tm, weights


def _variance_slots(km):
    return [i for i, v in enumerate(km.weights) if "moving_variance" in v.path]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_build_model_matches_keras(dtype):
    """Forward (training and inference), parameter gradients and moving statistics after 2 steps."""
    km, tm, _ = _keras_and_torch(SPEC, dtype)
    rng = np.random.default_rng(5)
    err = {"out_train": 0.0, "grads": 0.0}
    for _ in range(2):
        x = rng.normal(size=(12, 6)).astype(dtype)
        w = rng.normal(size=(12, 3)).astype(dtype)
        with tf.GradientTape() as tape:
            yk = km(x, training=True)
            lk = tf.reduce_sum(yk * w)
        gk = tape.gradient(lk, km.trainable_weights)
        tm.train()
        yt = tm.predict_proba(torch.tensor(x))
        params = [p for p in tm.parameters()]
        gt = torch.autograd.grad((yt * torch.tensor(w)).sum(), params)
        err["out_train"] = max(err["out_train"], _rel(yt.detach(), yk))
        keras_order = _torch_grads_in_keras_order(tm, gt)
        assert len(keras_order) == len(gk)
        err["grads"] = max(err["grads"], max(_rel(a, b) for a, b in zip(keras_order, gk)))
    err["weights"] = max(_rel(a, b) for a, b in zip(keras_weights(tm), km.get_weights()))
    x = rng.normal(size=(12, 6)).astype(dtype)
    tm.eval()
    with torch.no_grad():
        err["out_inference"] = _rel(tm.predict_proba(torch.tensor(x)), km(x, training=False))
    print(f"build_model vs keras_impl.models.build_model {dtype}: " + ", ".join(f"{k} {v:.1e}" for k, v in err.items()))
    v_tol, g_tol, _ = TOL[dtype]
    assert err["out_train"] <= v_tol and err["out_inference"] <= v_tol and err["weights"] <= v_tol
    assert err["grads"] <= g_tol


def _torch_grads_in_keras_order(tm, grads):
    """torch parameter gradients as Keras's trainable_weights order and layout (kernel transposed)."""
    by_param = {id(p): g for p, g in zip(tm.parameters(), grads)}
    out = []
    for _, tensor, layout in tnn._weight_slots(tm):
        if id(tensor) in by_param:
            g = by_param[id(tensor)].numpy()
            out.append(g.T if layout == "transpose" else g)
    return out


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_keras_weights_round_trip_bit_exact(dtype):
    km, tm, _ = _keras_and_torch(SPEC, dtype, seed=1)
    back = keras_weights(tm)
    given = km.get_weights()
    same = [a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b) for a, b in zip(back, given)]
    print(f"{dtype}: {len(given)} arrays, bit-exact {sum(same)}/{len(same)}")
    assert len(back) == len(given) and all(same)
    km2 = keras_build_model(SPEC, weights=back, dtype=dtype)  # and back into Keras
    assert all(np.array_equal(a, b) for a, b in zip(km2.get_weights(), given))


def test_spec_and_weight_errors_name_the_layer():
    tm = build_model(SPEC)
    weights = keras_weights(tm)
    bad = list(weights)
    bad[6] = np.zeros((9, 8))
    with pytest.raises(ValueError, match=r"3\.kernel: expected an array of shape \(10, 8\)"):
        load_keras_weights(tm, bad)
    bad = list(weights)
    bad[3] = np.zeros(11)
    with pytest.raises(ValueError, match=r"2\.beta: expected an array of shape \(10,\)"):
        load_keras_weights(tm, bad)
    with pytest.raises(ValueError, match="layer 1 \\(batchnorm\\): unknown key\\(s\\) \\['center'\\]"):
        build_model({"input_dim": 3, "layers": [{"type": "dense", "units": 4}, {"type": "batchnorm", "center": False},
                                                {"type": "dense", "units": 2}]})
    with pytest.raises(ValueError, match="layer 0 \\(dense\\): unknown key\\(s\\) \\['kernel_initialiser'\\]"):
        build_model({"input_dim": 3, "layers": [{"type": "dense", "units": 2, "kernel_initialiser": "he_normal"}]})
    with pytest.raises(ValueError, match="layer 0 \\(dense\\): Unknown activation 'softmaxx'"):  # the output layer
        build_model({"input_dim": 3, "layers": [{"type": "dense", "units": 2, "activation": "softmaxx"}]})
    # Keras's glu halves the features while its layers report them unchanged: only usable on the output
    with pytest.raises(ValueError, match="layer 0 \\(dense\\): glu halves"):
        build_model({"input_dim": 3, "layers": [{"type": "dense", "units": 4, "activation": "glu"},
                                                {"type": "dense", "units": 2}]})
    with pytest.raises(ValueError, match="layer 1 \\(activation\\): glu halves"):
        build_model({"input_dim": 3, "layers": [{"type": "dense", "units": 4}, {"type": "activation", "activation": "glu"},
                                                {"type": "dense", "units": 2}]})
    with pytest.raises(ValueError, match="Input 0 .* incompatible"):  # what Keras does with it
        keras_build_model({"input_dim": 3, "layers": [{"type": "dense", "units": 4, "activation": "glu"},
                                                      {"type": "dense", "units": 2}]})(np.ones((2, 3), "float32"))
    out = build_model({"input_dim": 3, "layers": [{"type": "dense", "units": 4, "activation": "glu"}]})
    assert out.predict_proba(torch.ones(2, 3)).shape == (2, 2)

"""Keras conv nets ported to channels-first torch: TensorFlow's ``padding="same"`` (``torch_impl.nn.TFSamePadding``
/ ``tf_same_padding``), Keras's pooling (``torch_impl.nn.MaxPooling1D/2D/3D``, ``AveragePooling1D/2D/3D``), and
the torch calls that already are Keras's layers (``Conv1D(padding="causal")``, ``UpSampling``, ``ZeroPadding``,
``Cropping``, global pooling, ``Flatten``), against the real Keras 3.15.1 layers on TensorFlow 2.21.

Each case builds the Keras layer, gives it random weights, loads ``get_weights()`` into the torch port with
``load_keras_weights`` and compares, on the same input, the outputs and the gradients of ``sum(y * c)`` (``c``
random) with respect to the input and to every weight (torch's brought to Keras's layout by ``keras_weights``).
Figures are ``max |ours - Keras| / max |Keras|`` per tensor. The ``translated_*`` tests run the parameters of
Keras's own correctness tests (``keras/src/layers/pooling/{max,average}_pooling_test.py``,
``convolutional/{conv,depthwise_conv,separable_conv}_test.py``), with the inputs and data formats they use.

| measured (float64 unless said) | cases | values | gradients (input / weights) |
|---|---|---|---|
| Conv1D/2D/3D, Depthwise/SeparableConv1D/2D: same/valid/causal, strides 1-3, dilation, groups, odd/even sizes | 24 | <= 4.3e-16 | <= 3.1e-16 / 5.2e-16 |
| Max/AveragePooling1D/2D same/valid, strides, odd/even sizes; ties (integer inputs) in 2 more | 11 + 2 | 0 | <= 1.6e-16 (ties: 0) |
| Max/AveragePooling3D: Keras raises in float64 (no TensorFlow kernel); ours against a float64 oracle / Keras float32 | 4 | 0 / 0 | - / <= 5.6e-8 |
| UpSampling1D/2D nearest, ZeroPadding1D/2D/3D, Cropping1D/2D/3D, global pooling, Flatten | 14 | <= 3.1e-16 | <= 1.3e-16 |
| UpSampling2D bilinear: ``F.interpolate`` float32 / float64 (TensorFlow computes in float32); ``ops.image.resize`` float64 | 2 | 9.3e-8 / 2.3e-7 off; 0 | 1.1e-7; 0 |
| a small Keras CNN (strided same convs, same pooling, separable conv, Flatten, Dense) | 1 | 4.1e-16 | 3.3e-16 / 3.9e-16 |
| Keras's own pooling correctness tests (float32 as written): against Keras / a float64 oracle | 37 | 0 / 0 | - |
| Keras's own conv/depthwise/separable correctness tests (float64, random weights; the grouped ones but 2 slow) | 29 | <= 5.3e-16 | <= 6.4e-16 / 1.6e-15 |
| float32 (slow): the port cases above | 55 | <= 1.2e-7 | <= 2.0e-7 |
| the hand port on 8x8: ``Conv2d(3, stride=2, padding=1)``, ``MaxPool2d(3, 2, padding=1)``, ``AvgPool2d(3, 2, padding=1)`` | 3 | 2.11, 0.92, 0.70 off | - |

A max window holding NaN or -inf (``test_max_pooling_nan_and_minus_inf_windows_like_keras``: NaN first, last,
all NaN, NaN and -inf, all -inf, ties behind a NaN; valid/same, strides, 1-D/2-D float64 and float32, 3-D float32):
``nn.MaxPooling*D``, ``keras_ops.max_pool`` and ``K.pool2d``/``K.pool3d`` give Keras's values exactly (the lowest
float for a window of NaN and -inf) and its input gradients exactly (3-D: within 1e-6, the summation order).

Found and fixed: ``nn.MaxPooling*D`` (and ``K.pool2d``/``K.pool3d``) ran torch's max pool, where a NaN wins the
window (it was a strict xfail); now TensorFlow's rule, taken only where an output is NaN or -inf.
``K.pool2d``'s shared ``_pool`` (also ``keras_ops.average_pool``) raised ``TypeError`` on a
1-D average pool with ``padding="same"`` (``F.avg_pool1d`` has no ``divisor_override``);
``test_average_pooling1d_same_padding_was_broken``.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402

from parity_tests.test_field_scripts_round2 import DTYPES, _normwise, _precision  # noqa: E402
from torch_impl import keras_ops as tops  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl.nn import keras_weights, load_keras_weights  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

_TOL = {"float64": (1e-12, 1e-10), "float32": (1e-5, 1e-5)}


# ---------------------------------------------------------------------------------------------------------------
# the port a user writes: a channels-first torch module from a Keras layer's configuration
# ---------------------------------------------------------------------------------------------------------------

_CONV = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}


def _pad_module(cfg: dict) -> torch.nn.Module:
    k, s, d = cfg["kernel_size"], cfg["strides"], cfg["dilation_rate"]
    if cfg["padding"] == "same":
        return tnn.TFSamePadding(k, s, d)
    if cfg["padding"] == "causal":  # Conv1D(padding="causal"): (k - 1) d zeros in front, then 'valid'
        return torch.nn.ConstantPad1d(((k[0] - 1) * d[0], 0), 0.0)
    return torch.nn.Identity()


def _port(layer) -> torch.nn.Module:
    """The channels-first torch module for a built Keras conv or pooling layer (weights not loaded)."""
    name, cfg = type(layer).__name__, layer.get_config()
    nd = int(name[-2])
    if name.startswith(("MaxPooling", "AveragePooling")):
        return getattr(tnn, name)(cfg["pool_size"], cfg["strides"], cfg["padding"])
    conv, k, s, d = _CONV[nd], cfg["kernel_size"], cfg["strides"], cfg["dilation_rate"]
    if name.startswith("Conv"):
        groups = cfg["groups"]
        c_in = layer.kernel.shape[-2] * groups
        return torch.nn.Sequential(_pad_module(cfg), conv(c_in, cfg["filters"], k, stride=s, dilation=d,
                                                          groups=groups, bias=cfg["use_bias"]))
    if name.startswith("DepthwiseConv"):
        c, m = layer.kernel.shape[-2], cfg["depth_multiplier"]
        return torch.nn.Sequential(_pad_module(cfg), conv(c, c * m, k, stride=s, dilation=d, groups=c,
                                                          bias=cfg["use_bias"]))
    if name.startswith("SeparableConv"):
        c, m = layer.depthwise_kernel.shape[-2], cfg["depth_multiplier"]
        return torch.nn.Sequential(_pad_module(cfg),
                                   conv(c, c * m, k, stride=s, dilation=d, groups=c, bias=False),
                                   conv(c * m, cfg["filters"], 1, bias=cfg["use_bias"]))
    raise AssertionError(name)


# ---------------------------------------------------------------------------------------------------------------
# the comparison
# ---------------------------------------------------------------------------------------------------------------


def _randomise(layer, rng) -> None:
    """Random weights (a zero bias would hide a misplaced one)."""
    layer.set_weights([rng.normal(size=w.shape).astype(w.dtype) for w in layer.get_weights()])


def _torch_grads_keras_layout(module: torch.nn.Module) -> list:
    """The parameters' gradients as Keras-layout arrays (``keras_weights`` of a copy holding them)."""
    holder = copy.deepcopy(module)
    with torch.no_grad():
        for p, q in zip(module.parameters(), holder.parameters()):
            q.copy_(p.grad)
    return keras_weights(holder)


def _compare(layer, x: np.ndarray, torch_fn, module=None, channels_last: bool = True, rng=None) -> dict:
    """Keras's ``layer`` and ``torch_fn`` (channels-first in and out; ``module`` holds its weights, loaded from
    Keras's) on ``x``: the worst normwise differences of the outputs, the input gradients and the weight
    gradients of ``sum(y * c)``."""
    rng = rng if rng is not None else np.random.default_rng(0)
    xk = tf.constant(x)
    y0 = layer(xk)
    if layer.weights:
        _randomise(layer, rng)
    cot = rng.normal(size=tuple(y0.shape)).astype(x.dtype)
    with tf.GradientTape() as tape:
        tape.watch(xk)
        yk = layer(xk)
        total = tf.reduce_sum(yk * cot)
    grads = tape.gradient(total, [xk] + list(layer.trainable_weights))
    if module is not None:
        load_keras_weights(module, layer.get_weights())
    xt = torch.tensor(x, requires_grad=True)
    yt = torch_fn(xt.movedim(-1, 1) if channels_last else xt)
    yt = yt.movedim(1, -1) if channels_last and yt.dim() > 2 else yt
    assert tuple(yt.shape) == tuple(yk.shape), (tuple(yt.shape), tuple(yk.shape))
    assert yt.dtype == torch.float64 if x.dtype == np.float64 else yt.dtype == torch.float32
    (yt * torch.from_numpy(cot)).sum().backward()
    out = {"value": _normwise(yt.detach().numpy(), yk.numpy()), "input grad": _normwise(xt.grad.numpy(),
                                                                                        grads[0].numpy())}
    if module is not None and layer.trainable_weights:
        ours = _torch_grads_keras_layout(module)
        assert len(ours) == len(grads) - 1
        out["weight grad"] = max(_normwise(a, g.numpy()) for a, g in zip(ours, grads[1:]))
    return out


def _check(name: str, figures: dict, dt: str) -> None:
    value_tol, grad_tol = _TOL[dt]
    print(f"{name} [{dt}]: " + ", ".join(f"{k} {v:.1e}" for k, v in figures.items()))
    assert figures["value"] <= value_tol, (name, figures)
    for key in ("input grad", "weight grad"):
        if key in figures:
            assert figures[key] <= grad_tol, (name, key, figures)


def _run_port(make, shape, dt, integers=False, seed=0):
    rng = np.random.default_rng(seed)
    with _precision(dt):
        layer = make()
        x = (rng.integers(0, 3, size=shape) if integers else rng.normal(size=shape)).astype(dt)
        layer(tf.constant(x))  # build
        module = _port(layer)
        return _compare(layer, x, module, module, rng=rng)


# ---------------------------------------------------------------------------------------------------------------
# convolutions with TensorFlow's "same" padding, and causal ones
# ---------------------------------------------------------------------------------------------------------------

_CONV_CASES = {
    "Conv1D same k3 s2, even 10": (lambda: layers.Conv1D(4, 3, strides=2, padding="same"), (2, 10, 3)),
    "Conv1D same k3 s2, odd 9": (lambda: layers.Conv1D(4, 3, strides=2, padding="same"), (2, 9, 3)),
    "Conv1D same k4 s3, 10 (pads 1 + 2)": (lambda: layers.Conv1D(4, 4, strides=3, padding="same"), (2, 10, 3)),
    "Conv1D same k3 d2": (lambda: layers.Conv1D(4, 3, dilation_rate=2, padding="same"), (2, 9, 3)),
    "Conv1D same k2 (pad at the end only)": (lambda: layers.Conv1D(4, 2, padding="same"), (2, 8, 3)),
    "Conv1D causal k3 d2": (lambda: layers.Conv1D(4, 3, dilation_rate=2, padding="causal"), (2, 9, 3)),
    "Conv1D causal k3 s2": (lambda: layers.Conv1D(4, 3, strides=2, padding="causal"), (2, 10, 3)),
    "Conv1D valid k3 s2": (lambda: layers.Conv1D(4, 3, strides=2), (2, 10, 3)),
    "Conv2D same k3 s2, even 8x8": (lambda: layers.Conv2D(4, 3, strides=2, padding="same"), (2, 8, 8, 3)),
    "Conv2D same k3 s2, odd 7x9": (lambda: layers.Conv2D(4, 3, strides=2, padding="same"), (2, 7, 9, 3)),
    "Conv2D same k(4,2) s2, 8x6": (lambda: layers.Conv2D(3, (4, 2), strides=2, padding="same"), (2, 8, 6, 2)),
    "Conv2D same k5 s3, 10x11": (lambda: layers.Conv2D(3, 5, strides=3, padding="same"), (2, 10, 11, 2)),
    "Conv2D same k3 d(2,3)": (lambda: layers.Conv2D(3, 3, dilation_rate=(2, 3), padding="same"), (2, 9, 8, 2)),
    "Conv2D same k3 s2 groups 2, no bias": (
        lambda: layers.Conv2D(4, 3, strides=2, padding="same", groups=2, use_bias=False), (2, 8, 8, 4)),
    "Conv2D valid k3 s2": (lambda: layers.Conv2D(4, 3, strides=2), (2, 9, 8, 2)),
    "Conv3D same k3 s2, 6x7x5": (lambda: layers.Conv3D(3, 3, strides=2, padding="same"), (1, 6, 7, 5, 2)),
    "Conv3D same k2 d2": (lambda: layers.Conv3D(3, 2, dilation_rate=2, padding="same"), (1, 6, 5, 5, 2)),
    "Conv3D valid k(2,2,3) s(2,1,2)": (lambda: layers.Conv3D(3, (2, 2, 3), strides=(2, 1, 2)), (1, 6, 5, 7, 2)),
    "DepthwiseConv2D same k3 s2 m2, even": (
        lambda: layers.DepthwiseConv2D(3, strides=2, depth_multiplier=2, padding="same"), (2, 8, 8, 3)),
    "DepthwiseConv2D same k3 s2, odd": (lambda: layers.DepthwiseConv2D(3, strides=2, padding="same"),
                                        (2, 7, 9, 3)),
    "DepthwiseConv1D same k3 s2 m2": (
        lambda: layers.DepthwiseConv1D(3, strides=2, depth_multiplier=2, padding="same"), (2, 10, 3)),
    "SeparableConv2D same k3 s2": (lambda: layers.SeparableConv2D(5, 3, strides=2, padding="same"), (2, 8, 8, 3)),
    "SeparableConv2D same k3 s2 m2, odd": (
        lambda: layers.SeparableConv2D(4, 3, strides=2, depth_multiplier=2, padding="same"), (2, 9, 7, 3)),
    "SeparableConv1D same k3 s2": (lambda: layers.SeparableConv1D(4, 3, strides=2, padding="same"), (2, 10, 3)),
}


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("case", list(_CONV_CASES))
def test_conv_ports_match_keras(case, dt):
    make, shape = _CONV_CASES[case]
    _check(case, _run_port(make, shape, dt), dt)


# ---------------------------------------------------------------------------------------------------------------
# pooling: Keras's layers (TensorFlow's "same": never a max, not in an average's count)
# ---------------------------------------------------------------------------------------------------------------

_POOL_CASES = {
    "MaxPooling1D(3, 2, same), even 10": (lambda: layers.MaxPooling1D(3, 2, padding="same"), (2, 10, 3)),
    "MaxPooling1D(3, 2, same), odd 9": (lambda: layers.MaxPooling1D(3, 2, padding="same"), (2, 9, 3)),
    "MaxPooling1D() valid, odd 9": (lambda: layers.MaxPooling1D(), (2, 9, 3)),
    "MaxPooling2D(3, 2, same), even 8x8": (lambda: layers.MaxPooling2D(3, 2, padding="same"), (2, 8, 8, 3)),
    "MaxPooling2D(3, 2, same), odd 7x9": (lambda: layers.MaxPooling2D(3, 2, padding="same"), (2, 7, 9, 3)),
    "MaxPooling2D((2,3), (1,2), same)": (lambda: layers.MaxPooling2D((2, 3), (1, 2), padding="same"),
                                         (2, 6, 7, 2)),
    "MaxPooling2D() valid, 9x8": (lambda: layers.MaxPooling2D(), (2, 9, 8, 2)),
    "MaxPooling3D(3, 2, same), 6x5x7": (lambda: layers.MaxPooling3D(3, 2, padding="same"), (1, 6, 5, 7, 2)),
    "MaxPooling3D() valid": (lambda: layers.MaxPooling3D(), (1, 4, 5, 4, 2)),
    "AveragePooling1D(3, 2, same), even 10": (lambda: layers.AveragePooling1D(3, 2, padding="same"), (2, 10, 3)),
    "AveragePooling1D(2, same), odd 9": (lambda: layers.AveragePooling1D(2, padding="same"), (2, 9, 3)),
    "AveragePooling2D(3, 2, same), even 8x8": (lambda: layers.AveragePooling2D(3, 2, padding="same"),
                                               (2, 8, 8, 3)),
    "AveragePooling2D(3, 2, same), odd 7x9": (lambda: layers.AveragePooling2D(3, 2, padding="same"),
                                              (2, 7, 9, 3)),
    "AveragePooling2D((2,3), (2,1), same)": (lambda: layers.AveragePooling2D((2, 3), (2, 1), padding="same"),
                                             (2, 7, 6, 2)),
    "AveragePooling2D(2) valid": (lambda: layers.AveragePooling2D(2), (2, 9, 8, 2)),
    "AveragePooling3D(3, 2, same)": (lambda: layers.AveragePooling3D(3, 2, padding="same"), (1, 6, 5, 7, 2)),
    "AveragePooling3D(2) valid": (lambda: layers.AveragePooling3D(2), (1, 4, 5, 4, 2)),
}


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("case", list(_POOL_CASES))
def test_pooling_ports_match_keras(case, dt):
    make, shape = _POOL_CASES[case]
    if "3D" in case and dt == "float64":
        _pool3d_float64(case, make, shape)
        return
    _check(case, _run_port(make, shape, dt), dt)


def _pool3d_float64(case, make, shape):
    """TensorFlow's ``MaxPool3D``/``AvgPool3D`` have no float64 kernel: Keras's float64 ``MaxPooling3D`` /
    ``AveragePooling3D`` raise ``InvalidArgumentError`` (a Keras quirk; ours computes in float64). In float64:
    that error, ours against the float64 oracle, and the float32 comparison with Keras."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape)
    with _precision("float64"):
        layer = make()
        with pytest.raises((tf.errors.InvalidArgumentError, tf.errors.NotFoundError), match="(?i)double"):
            layer(tf.constant(x))
    cfg = layer.get_config()
    ours = getattr(tnn, type(layer).__name__)(cfg["pool_size"], cfg["strides"], cfg["padding"])(
        torch.tensor(x).movedim(-1, 1)).movedim(1, -1).numpy()
    oracle = _pool_oracle(x, cfg["pool_size"], cfg["strides"], cfg["padding"], "max" if "Max" in case else "avg")
    figures = _run_port(make, shape, "float32")
    print(f"{case} [float64]: Keras raises (no float64 MaxPool3D/AvgPool3D kernel); ours against the float64 "
          f"oracle {_normwise(ours, oracle):.1e}")
    assert _normwise(ours, oracle) <= 1e-15
    _check(case + " (Keras in float32)", figures, "float32")


@pytest.mark.parametrize("case", ["MaxPooling2D(3, 2, same), even 8x8", "MaxPooling1D(3, 2, same), odd 9"])
def test_max_pooling_gradient_ties_match_keras(case):
    """Integer-valued inputs (0, 1, 2) tie in most windows: TensorFlow and torch both send a window's gradient to
    its first maximum (row-major), so the input gradients are equal exactly."""
    make, shape = _POOL_CASES[case]
    figures = _run_port(make, shape, "float64", integers=True, seed=3)
    _check(case + ", ties", figures, "float64")
    assert figures["input grad"] == 0.0


def test_average_pooling1d_same_padding_was_broken():
    """``F.avg_pool1d`` has no ``divisor_override``: K's shared pooling raised ``TypeError`` on a 1-D average pool
    with ``padding="same"`` (``keras_ops.average_pool`` too). Keras: ``[[2], [5]]``."""
    x = np.array([[[1.0], [3.0], [5.0]]])
    keras_out = layers.AveragePooling1D(2, padding="same", dtype="float64")(x).numpy()
    ours = tops.average_pool(torch.tensor(x), 2, padding="same").numpy()
    module = tnn.AveragePooling1D(2, padding="same")(torch.tensor(x).movedim(-1, 1)).movedim(1, -1).numpy()
    print("AveragePooling1D(2, same) on [1, 3, 5]: Keras", keras_out.ravel(), "ops", ours.ravel(), "module",
          module.ravel())
    np.testing.assert_array_equal(ours, keras_out)
    np.testing.assert_array_equal(module, keras_out)


def test_max_pooling_nan_window_like_keras():
    """A window holding a NaN: Keras (TensorFlow's CPU ``MaxPool``) skips the NaN: ``3`` (torch's ``max_pool2d``
    gives ``nan``); ``torch_impl.nn.MaxPooling2D`` and ``torch_impl.keras_ops.max_pool`` too."""
    x = np.array([[[[np.nan], [1.0]], [[2.0], [3.0]]]])
    keras_out = layers.MaxPooling2D(2, dtype="float64")(x).numpy()
    ops_out = tops.max_pool(torch.tensor(x), 2).numpy()
    ours = tnn.MaxPooling2D(2)(torch.tensor(x).movedim(-1, 1)).movedim(1, -1).numpy()
    print("MaxPooling2D over [nan, 1, 2, 3]: Keras", keras_out.ravel(), "keras_ops.max_pool", ops_out.ravel(),
          "nn.MaxPooling2D", ours.ravel(), "torch", F.max_pool2d(torch.tensor(x).movedim(-1, 1), 2).ravel().numpy())
    np.testing.assert_array_equal(ops_out, keras_out)
    np.testing.assert_array_equal(ours, keras_out)


_NAN, _NINF = np.nan, -np.inf
# windows of 3 along the last axis (valid, stride 3): NaN first, NaN last, all NaN, NaN and -inf, all -inf, a tie
# behind a NaN, a NaN first behind -inf, finite
_NAN_ROW = [_NAN, 1.0, 2.0, 5.0, 4.0, _NAN, _NAN, _NAN, _NAN, _NINF, _NAN, _NINF, _NINF, _NINF, _NINF,
            _NAN, 3.0, 3.0, _NINF, _NAN, -7.0, 0.5, -1.0, 0.25]
_NAN_POOL_CASES = {  # name: (nd, pool, strides, padding, input shape channels-last, dtypes)
    "1D(3) valid": (1, 3, None, "valid", (1, 24, 2), ("float64", "float32")),
    "1D(3, 2) same": (1, 3, 2, "same", (1, 24, 2), ("float64", "float32")),
    "2D(3) valid": (2, 3, None, "valid", (1, 3, 8, 2), ("float64", "float32")),
    "2D(2, 1) same": (2, 2, 1, "same", (1, 3, 8, 2), ("float64", "float32")),
    "2D((3, 2), (2, 3)) same": (2, (3, 2), (2, 3), "same", (2, 4, 6, 1), ("float64", "float32")),
    "3D(2) valid": (3, 2, None, "valid", (1, 2, 2, 6, 2), ["float32"]),
    "3D(3, 2) same": (3, 3, 2, "same", (1, 2, 3, 4, 2), ["float32"]),
}


def _nan_pool_input(shape, dt, nd):
    """The rows above, reshaped; in 3-D (whose TensorFlow gradient goes to every tied maximum) no finite ties."""
    x = np.resize(np.array(_NAN_ROW), int(np.prod(shape))).reshape(shape[::-1]).T.copy()
    if nd == 3:
        finite = np.isfinite(x)
        x[finite] += np.arange(finite.sum()) * 1e-2
    return x.astype(dt)


@pytest.mark.parametrize("case", list(_NAN_POOL_CASES))
def test_max_pooling_nan_and_minus_inf_windows_like_keras(case):
    """TensorFlow's CPU ``MaxPool`` folds ``acc = x if x > acc`` from the dtype's lowest finite value: a NaN never
    wins, a window of NaN and -inf gives ``-3.4028235e38`` (float32) / ``-1.797e308`` (float64). ``MaxPoolGrad``
    (1-D, 2-D) sends the gradient to the window's first entry unless a later one is strictly greater (a NaN first
    entry keeps it: a window ``[nan, 1, 2]`` has the value 2 and its gradient at the NaN); ``MaxPool3DGrad`` to the
    entries equal to the output (none for a window of NaN and -inf). ``nn.MaxPooling*D``, ``keras_ops.max_pool`` and
    ``K.pool2d``/``K.pool3d`` against Keras's layer: values and input gradients of ``sum(y * c)``."""
    from torch_impl import keras_backend as K

    nd, pool, strides, padding, shape, dts = _NAN_POOL_CASES[case]
    for dt in dts:
        x = _nan_pool_input(shape, dt, nd)
        xt = tf.Variable(x)
        with tf.GradientTape() as tape:
            ky = getattr(layers, f"MaxPooling{nd}D")(pool, strides, padding, dtype=dt)(xt)
            c = np.random.default_rng(nd).normal(size=ky.shape).astype(dt)
            loss = tf.reduce_sum(ky * c)
        ky, kg = ky.numpy(), tape.gradient(loss, xt).numpy()
        ports = {"nn": lambda t: getattr(tnn, f"MaxPooling{nd}D")(pool, strides, padding, "channels_last")(t),
                 "keras_ops": lambda t: tops.max_pool(t, pool, strides, padding)}
        if nd > 1:
            k_pool = getattr(K, f"pool{nd}d")
            ports[f"K.pool{nd}d"] = lambda t: k_pool(t, _tuple(pool, nd), _tuple(strides or pool, nd), padding,
                                                     "channels_last")
        for name, fn in ports.items():
            t = torch.tensor(x, requires_grad=True)
            y = fn(t)
            (y * torch.tensor(c)).sum().backward()
            gdiff = float(np.abs(t.grad.numpy() - kg).max())
            print(f"MaxPooling{case} {dt} {name}: values equal {np.array_equal(y.detach().numpy(), ky)}, "
                  f"max |grad diff| {gdiff:.1e} (Keras: {int(np.isnan(x).sum())} NaN, {int(np.isneginf(x).sum())} "
                  f"-inf, {int((ky == np.finfo(dt).min).sum())} outputs at the lowest float)")
            np.testing.assert_array_equal(y.detach().numpy(), ky)
            assert gdiff <= (0.0 if nd < 3 else 1e-6)  # (3-D: TensorFlow sums overlapping windows in its order)
        assert np.isnan(x).any() and not np.isnan(ky).any()


def _tuple(v, nd):
    return (v,) * nd if isinstance(v, int) else tuple(v)


# ---------------------------------------------------------------------------------------------------------------
# layers torch already matches: the calls the README names
# ---------------------------------------------------------------------------------------------------------------

_PLAIN_CASES = {
    "UpSampling1D(3)": (lambda: layers.UpSampling1D(3), (2, 5, 3), lambda x: x.repeat_interleave(3, dim=2)),
    "UpSampling2D((2,3)) nearest": (lambda: layers.UpSampling2D((2, 3)), (2, 4, 5, 3),
                                    lambda x: F.interpolate(x, scale_factor=(2, 3), mode="nearest")),
    "ZeroPadding1D((1,2))": (lambda: layers.ZeroPadding1D((1, 2)), (2, 5, 3), lambda x: F.pad(x, (1, 2))),
    "ZeroPadding2D(((1,2),(3,0)))": (lambda: layers.ZeroPadding2D(((1, 2), (3, 0))), (2, 4, 5, 3),
                                     lambda x: torch.nn.ZeroPad2d((3, 0, 1, 2))(x)),
    "ZeroPadding3D(((1,0),(0,2),(2,1)))": (lambda: layers.ZeroPadding3D(((1, 0), (0, 2), (2, 1))), (1, 3, 4, 5, 2),
                                           lambda x: F.pad(x, (2, 1, 0, 2, 1, 0))),
    "Cropping1D((1,2))": (lambda: layers.Cropping1D((1, 2)), (2, 7, 3), lambda x: x[:, :, 1:-2]),
    "Cropping2D(((1,2),(0,3)))": (lambda: layers.Cropping2D(((1, 2), (0, 3))), (2, 6, 7, 3),
                                  lambda x: x[:, :, 1:x.shape[2] - 2, 0:x.shape[3] - 3]),
    "Cropping3D(((1,1),(2,0),(0,1)))": (lambda: layers.Cropping3D(((1, 1), (2, 0), (0, 1))), (1, 5, 5, 4, 2),
                                        lambda x: x[:, :, 1:-1, 2:, :-1]),
    "GlobalAveragePooling1D": (lambda: layers.GlobalAveragePooling1D(), (2, 7, 3), lambda x: x.mean(2)),
    "GlobalAveragePooling2D": (lambda: layers.GlobalAveragePooling2D(), (2, 5, 6, 3), lambda x: x.mean((2, 3))),
    "GlobalAveragePooling3D": (lambda: layers.GlobalAveragePooling3D(), (1, 3, 4, 5, 2), lambda x: x.mean((2, 3, 4))),
    "GlobalMaxPooling2D": (lambda: layers.GlobalMaxPooling2D(), (2, 5, 6, 3), lambda x: x.amax((2, 3))),
    "GlobalAveragePooling2D(keepdims=True)": (lambda: layers.GlobalAveragePooling2D(keepdims=True), (2, 5, 6, 3),
                                              lambda x: x.mean((2, 3), keepdim=True)),
    "Flatten (channels-last order)": (lambda: layers.Flatten(), (2, 3, 4, 5),
                                      lambda x: x.movedim(1, -1).flatten(1)),
}


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("case", list(_PLAIN_CASES))
def test_layers_torch_already_matches(case, dt):
    make, shape, torch_fn = _PLAIN_CASES[case]
    rng = np.random.default_rng(1)
    with _precision(dt):
        layer = make()
        x = rng.normal(size=shape).astype(dt)
        figures = _compare(layer, x, torch_fn, rng=rng)
    _check(case, figures, dt)


@pytest.mark.parametrize("size", [(2, 2), (3, 2)])
def test_upsampling2d_bilinear(size):
    """``UpSampling2D(size, interpolation="bilinear")`` is TensorFlow's half-pixel resize: in float32 torch's
    ``F.interpolate(scale_factor=size, mode="bilinear", align_corners=False)``, values and gradients. In float64
    TensorFlow's kernel computes in float32 (Keras's float64 output carries float32 rounding): ``F.interpolate``
    is then about 1e-7 off Keras's (and exact), ``torch_impl.keras_ops.image.resize`` is Keras's number."""
    rng = np.random.default_rng(6)
    shape = (2, 4, 5, 3)
    h, w = shape[1] * size[0], shape[2] * size[1]
    with _precision("float32"):
        figures32 = _compare(layers.UpSampling2D(size, interpolation="bilinear"),
                             rng.normal(size=shape).astype("float32"),
                             lambda x: F.interpolate(x, scale_factor=size, mode="bilinear", align_corners=False),
                             rng=rng)
    _check(f"UpSampling2D({size}) bilinear: F.interpolate", figures32, "float32")
    x64 = rng.normal(size=shape)
    with _precision("float64"):
        interp = _compare(layers.UpSampling2D(size, interpolation="bilinear"), x64,
                          lambda x: F.interpolate(x, scale_factor=size, mode="bilinear", align_corners=False), rng=rng)
        resize = _compare(layers.UpSampling2D(size, interpolation="bilinear"), x64,
                          lambda x: tops.image.resize(x, (h, w), data_format="channels_first"), rng=rng)
    print(f"UpSampling2D({size}) bilinear [float64]: F.interpolate {interp['value']:.1e} off Keras (float32 "
          f"inside TensorFlow)")
    assert 1e-9 < interp["value"] < 1e-6
    _check(f"UpSampling2D({size}) bilinear: keras_ops.image.resize", resize, "float64")


def test_flatten_in_torch_order_is_not_keras():
    """The sanity check of the Flatten case: torch's ``(C, H, W)`` order is another vector."""
    x = np.random.default_rng(2).normal(size=(2, 3, 4, 5))
    keras_out = layers.Flatten(dtype="float64")(x).numpy()
    wrong = torch.tensor(x).movedim(-1, 1).flatten(1).numpy()
    print(f"Flatten: torch's channels-first order is {_normwise(wrong, keras_out):.2f} off Keras's")
    assert _normwise(wrong, keras_out) > 0.1


# ---------------------------------------------------------------------------------------------------------------
# what a hand port gets wrong: torch's symmetric padding on an even size
# ---------------------------------------------------------------------------------------------------------------


def test_torch_symmetric_padding_differs_on_even_sizes():
    """``Conv2d(k=3, stride=2, padding=1)``, ``MaxPool2d(3, 2, padding=1)`` and ``AvgPool2d(3, 2, padding=1)``
    (counting the padding) keep Keras's output shape on an even size and compute other numbers: the figures say
    how far off they are; the ports above are Keras's."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 8, 8, 3))
    xt = torch.tensor(x).movedim(-1, 1)
    figures = {}
    conv = layers.Conv2D(4, 3, strides=2, padding="same", dtype="float64")
    conv(x)
    _randomise(conv, rng)
    tconv = torch.nn.Conv2d(3, 4, 3, stride=2, padding=1, dtype=torch.float64)
    load_keras_weights(tconv, conv.get_weights())
    figures["Conv2d(3, stride=2, padding=1)"] = _normwise(tconv(xt).movedim(1, -1).detach().numpy(),
                                                          conv(x).numpy())
    kmax = layers.MaxPooling2D(3, 2, padding="same", dtype="float64")(x).numpy()
    figures["MaxPool2d(3, 2, padding=1)"] = _normwise(
        torch.nn.MaxPool2d(3, 2, padding=1)(xt).movedim(1, -1).numpy(), kmax)
    kavg = layers.AveragePooling2D(3, 2, padding="same", dtype="float64")(x).numpy()
    figures["AvgPool2d(3, 2, padding=1)"] = _normwise(
        torch.nn.AvgPool2d(3, 2, padding=1)(xt).movedim(1, -1).numpy(), kavg)
    print("hand ports on 8x8: " + ", ".join(f"{k} {v:.2f} off" for k, v in figures.items()))
    for name, fig in figures.items():
        assert fig > 0.1, name
    ours = tnn.MaxPooling2D(3, 2, padding="same")(xt).movedim(1, -1).numpy()
    np.testing.assert_array_equal(ours, kmax)


def test_tf_same_padding_amounts():
    """The pads themselves, against TensorFlow's rule ``max((ceil(n / s) - 1) s + (k - 1) d + 1 - n, 0)``, the odd
    one at the end, written out by hand; and the module's value padding."""
    x = torch.zeros(1, 1, 8, 7)
    assert tnn.tf_same_padding(x, 3, 2).shape == (1, 1, 9, 9)  # 8: 1 (0 + 1); 7: 2 (1 + 1)
    y = tnn.tf_same_padding(torch.ones(1, 1, 8), 3, 2, value=-5.0)
    assert y.tolist() == [[[1.0] * 8 + [-5.0]]]
    y = tnn.tf_same_padding(torch.ones(1, 1, 10), 4, 3)  # 3 in all: 1 before, 2 after
    assert y.tolist() == [[[0.0] + [1.0] * 10 + [0.0, 0.0]]]
    y = tnn.tf_same_padding(torch.ones(1, 1, 5), 3, 1, 2)  # effective kernel 5: 2 + 2
    assert y.shape == (1, 1, 9) and y[0, 0, :2].sum() == 0 and y[0, 0, -2:].sum() == 0
    assert tnn.tf_same_padding(x, 1, 2) is x  # nothing to pad
    assert tnn.tf_same_padding(torch.zeros(1, 1, 4, 4, 4), (3, 1, 2), (2, 1, 2)).shape == (1, 1, 5, 4, 4)
    with pytest.raises(ValueError):
        tnn.tf_same_padding(torch.zeros(1, 4), 3)
    with pytest.raises(ValueError):
        tnn.tf_same_padding(x, (3, 3, 3))
    with pytest.raises(ValueError):
        tnn.MaxPooling2D(padding="full")
    with pytest.raises(ValueError):
        tnn.MaxPooling2D()(torch.zeros(1, 2, 4))
    assert tnn.MaxPooling2D(3).strides == (3, 3) and tnn.AveragePooling1D(2, 1, "SAME").padding == "same"
    print("tf_same_padding: pads as TensorFlow's rule for 1-D/2-D/3-D, strides and dilation")


# ---------------------------------------------------------------------------------------------------------------
# a small Keras CNN, ported
# ---------------------------------------------------------------------------------------------------------------


class _PortedCnn(torch.nn.Module):
    """Keras: Conv2D(6, 3, strides=2, same, relu) -> MaxPooling2D(3, 2, same) -> SeparableConv2D(8, 3, strides=2,
    same, relu) -> AveragePooling2D(2, same) -> Flatten -> Dense(3)."""

    def __init__(self):
        super().__init__()
        self.pad1 = tnn.TFSamePadding(3, 2)
        self.conv = torch.nn.Conv2d(3, 6, 3, stride=2)
        self.pool1 = tnn.MaxPooling2D(3, 2, padding="same")
        self.pad2 = tnn.TFSamePadding(3, 2)
        self.depthwise = torch.nn.Conv2d(6, 6, 3, stride=2, groups=6, bias=False)
        self.pointwise = torch.nn.Conv2d(6, 8, 1)
        self.pool2 = tnn.AveragePooling2D(2, padding="same")
        self.dense = torch.nn.Linear(8 * 2, 3)

    def forward(self, x):
        x = self.pool1(torch.relu(self.conv(self.pad1(x))))
        x = torch.relu(self.pointwise(self.depthwise(self.pad2(x))))
        x = self.pool2(x)
        return self.dense(x.movedim(1, -1).flatten(1))  # Keras's channels-last Flatten order


def test_small_cnn_port_matches_keras():
    rng = np.random.default_rng(5)
    with _precision("float64"):
        model = keras.Sequential([
            keras.Input((20, 14, 3)),
            layers.Conv2D(6, 3, strides=2, padding="same", activation="relu"),
            layers.MaxPooling2D(3, 2, padding="same"),
            layers.SeparableConv2D(8, 3, strides=2, padding="same", activation="relu"),
            layers.AveragePooling2D(2, padding="same"),
            layers.Flatten(),
            layers.Dense(3),
        ])
        x = rng.normal(size=(4, 20, 14, 3))
        net = _PortedCnn()
        figures = _compare(model, x, net, net, rng=rng)
    _check("small CNN (20x14 -> 10x7 -> 5x4 -> 3x2 -> 2x1)", figures, "float64")


# ---------------------------------------------------------------------------------------------------------------
# Keras's own correctness tests, translated (their parameters, inputs and data formats)
# ---------------------------------------------------------------------------------------------------------------


def _pool_oracle(x: np.ndarray, pool, strides, padding: str, mode: str) -> np.ndarray:
    """float64 oracle on a channels-last array: TensorFlow's windows (``'same'``: the odd pad at the end), the max
    over the real entries, the mean over the real entries."""
    nd = x.ndim - 2
    sizes = x.shape[1:-1]
    outs, starts = [], []
    for n, k, s in zip(sizes, pool, strides):
        if padding == "same":
            o = -(-n // s)
            before = max((o - 1) * s + k - n, 0) // 2
        else:
            o, before = (n - k) // s + 1, 0
        outs.append(o)
        starts.append([i * s - before for i in range(o)])
    out = np.empty((x.shape[0], *outs, x.shape[-1]))
    for idx in np.ndindex(*outs):
        sl = tuple(slice(max(starts[a][idx[a]], 0), min(starts[a][idx[a]] + pool[a], sizes[a])) for a in range(nd))
        win = x[(slice(None), *sl, slice(None))].astype(np.float64)
        axes = tuple(range(1, nd + 1))
        out[(slice(None), *idx, slice(None))] = win.max(axes) if mode == "max" else win.mean(axes)
    return out


_KERAS_POOL_TESTS = [  # (layer, pool_size, strides, padding, data_format, input) from Keras's correctness tests
    *[("MaxPooling1D", *p, (2, 3, 4)) for p in [
        (2, 1, "valid", "channels_last"), (2, 1, "valid", "channels_first"), (2, 1, "same", "channels_last"),
        (2, 1, "same", "channels_first"), ((2,), (2,), "valid", "channels_last"),
        ((2,), (2,), "valid", "channels_first")]],
    *[("MaxPooling2D", *p, (1, 5, 5, 4)) for p in [
        (2, 1, "valid", "channels_last"), (2, 1, "valid", "channels_first"), ((2, 2), (2, 2), "same", "channels_last"),
        ((2, 2), (2, 2), "same", "channels_first"), ((2, 3), (3, 3), "same", "channels_last")]],
    *[("MaxPooling3D", *p, (2, 3, 4, 5, 2)) for p in [
        (2, 1, "valid", "channels_last"), (2, 1, "same", "channels_first"),
        ((2, 3, 2), (2, 2, 1), "valid", "channels_last"), ((2, 3, 2), (2, 2, 1), "valid", "channels_first")]],
    *[("AveragePooling1D", *p, (2, 3, 4)) for p in [
        (2, 1, "valid", "channels_last"), (2, 1, "valid", "channels_first"), ((2,), (2,), "valid", "channels_last"),
        ((2,), (2,), "valid", "channels_first"), (2, 1, "same", "channels_last"), (2, 1, "same", "channels_first"),
        ((2,), (2,), "same", "channels_last"), ((2,), (2,), "same", "channels_first")]],
    *[("AveragePooling2D", *p, (1, 4, 4, 1)) for p in [
        (2, 1, "valid", "channels_last"), ((2, 3), (2, 2), "valid", "channels_last"),
        (2, (2, 1), "same", "channels_last"), (2, (2, 1), "same", "channels_first"),
        ((2, 2), (2, 2), "same", "channels_last"), ((2, 2), (2, 2), "same", "channels_first")]],
    *[("AveragePooling3D", *p, (2, 3, 4, 5, 2)) for p in [
        (2, 1, "valid", "channels_last"), (2, 1, "valid", "channels_first"),
        ((2, 3, 2), (2, 2, 1), "valid", "channels_last"), ((2, 3, 2), (2, 2, 1), "valid", "channels_first"),
        (2, 1, "same", "channels_last"), (2, 1, "same", "channels_first"),
        ((2, 2, 2), (2, 2, 1), "same", "channels_last"), ((2, 2, 2), (2, 2, 1), "same", "channels_first")]],
]


def test_translated_keras_pooling_correctness():
    """``MaxPoolingCorrectnessTest`` / ``AveragePoolingCorrectnessTest``: ``np.arange`` float32 inputs, every
    parameter set of Keras's; our module (given Keras's ``data_format``) against Keras's layer (equal up to
    float32 rounding) and a float64 oracle of TensorFlow's windows."""
    worst_keras = worst_oracle = 0.0
    for name, pool, strides, padding, data_format, shape in _KERAS_POOL_TESTS:
        x = np.arange(np.prod(shape), dtype="float32").reshape(shape)
        keras_out = getattr(layers, name)(pool_size=pool, strides=strides, padding=padding,
                                          data_format=data_format)(x).numpy()
        ours = getattr(tnn, name)(pool, strides, padding, data_format=data_format)(torch.from_numpy(x)).numpy()
        nd = int(name[-2])
        pool_t = (pool,) * nd if isinstance(pool, int) else tuple(pool)
        strides_t = (strides,) * nd if isinstance(strides, int) else tuple(strides)
        xl = x if data_format == "channels_last" else np.moveaxis(x, 1, -1)
        oracle = _pool_oracle(xl, pool_t, strides_t, padding, "max" if name.startswith("Max") else "avg")
        oracle = oracle if data_format == "channels_last" else np.moveaxis(oracle, -1, 1)
        assert ours.shape == keras_out.shape == oracle.shape, (name, ours.shape, keras_out.shape)
        worst_keras = max(worst_keras, _normwise(ours, keras_out))
        worst_oracle = max(worst_oracle, _normwise(ours, oracle))
        np.testing.assert_allclose(ours, keras_out, rtol=1e-6, atol=1e-6, err_msg=str((name, pool, strides, padding)))
        np.testing.assert_allclose(ours, oracle, rtol=1e-6, atol=1e-6, err_msg=str((name, pool, strides, padding)))
    print(f"{len(_KERAS_POOL_TESTS)} pooling correctness cases of Keras's: against Keras {worst_keras:.1e}, "
          f"against the float64 oracle {worst_oracle:.1e}")


def _conv_params(kind, **kw):
    return kind, kw


_KERAS_CONV_TESTS = [  # ConvCorrectnessTest, DepthwiseConvCorrectnessTest, SeparableConvCorrectnessTest
    *[_conv_params("Conv1D", filters=f, kernel_size=k, strides=s, padding=p, data_format=d, dilation_rate=r, groups=g)
      for f, k, s, p, d, r, g in [
          (5, 2, 1, "valid", "channels_last", 1, 1), (6, 2, 1, "same", "channels_last", (2,), 2),
          (6, 2, 1, "causal", "channels_last", (2,), 2), (6, (2,), (2,), "valid", "channels_last", 1, 2),
          (6, (2,), (2,), "valid", "channels_first", 1, 2)]],
    *[_conv_params("Conv2D", filters=f, kernel_size=k, strides=s, padding=p, data_format=d, dilation_rate=r, groups=g)
      for f, k, s, p, d, r, g in [
          (5, 2, 1, "valid", "channels_last", 1, 1), (4, 3, 2, "same", "channels_last", 1, 1),
          (6, 2, 1, "same", "channels_last", (2, 2), 2), (6, 2, 1, "same", "channels_last", (2, 3), 2),
          (6, (4, 3), (2, 1), "valid", "channels_last", (1, 1), 2),
          (6, (4, 3), (2, 1), "valid", "channels_first", (1, 1), 2)]],
    *[_conv_params("Conv3D", filters=f, kernel_size=k, strides=s, padding=p, data_format=d, dilation_rate=r, groups=g)
      for f, k, s, p, d, r, g in [
          (5, 2, 1, "valid", "channels_last", 1, 1), (6, 2, 1, "same", "channels_last", (2, 2, 2), 2),
          (6, 2, 1, "same", "channels_last", (2, 3, 4), 2),
          (6, (2, 2, 3), (2, 1, 2), "valid", "channels_last", (1, 1, 1), 2),
          (6, (2, 2, 3), (2, 1, 2), "valid", "channels_first", (1, 1, 1), 2)]],
    *[_conv_params("DepthwiseConv1D", depth_multiplier=m, kernel_size=k, strides=s, padding=p, data_format=d,
                   dilation_rate=r)
      for m, k, s, p, d, r in [
          (5, 2, 1, "valid", "channels_last", 1), (6, 2, 1, "same", "channels_last", (2,)),
          (6, (2,), (2,), "valid", "channels_last", 1), (6, 2, 1, "same", "channels_first", (2,))]],
    *[_conv_params("DepthwiseConv2D", depth_multiplier=m, kernel_size=k, strides=s, padding=p, data_format=d,
                   dilation_rate=r)
      for m, k, s, p, d, r in [
          (5, 2, 1, "valid", "channels_last", 1), (6, 2, 1, "same", "channels_last", (2, 2)),
          (6, (2, 2), (2, 2), "valid", "channels_last", (1, 1))]],
    *[_conv_params(kind, depth_multiplier=m, filters=f, kernel_size=k, strides=s, padding=p, data_format=d,
                   dilation_rate=r)
      for kind, m, f, k, s, p, d, r in [
          ("SeparableConv1D", 5, 5, 2, 1, "valid", "channels_last", 1),
          ("SeparableConv1D", 6, 6, 2, 1, "same", "channels_last", (2,)),
          ("SeparableConv1D", 6, 6, (2,), (2,), "valid", "channels_last", 1),
          ("SeparableConv2D", 5, 5, 2, 1, "valid", "channels_last", 1),
          ("SeparableConv2D", 6, 6, 2, 1, "same", "channels_last", (2, 2)),
          ("SeparableConv2D", 6, 6, (2, 2), (2, 2), "valid", "channels_last", (1, 1))]],
]

_KERAS_CONV_INPUTS = {1: (2, 8, 4), 2: (2, 8, 8, 4), 3: (2, 8, 8, 8, 4)}


def _conv_test_params():
    """Keras runs a grouped convolution on the CPU through XLA (a compilation per shape, ~1 s): all but two of
    those cases are ``slow``."""
    params = []
    for i, (kind, kwargs) in enumerate(_KERAS_CONV_TESTS):
        grouped = kwargs.get("groups", 1) > 1 and not (kind == "Conv1D" and kwargs["padding"] == "causal") \
            and not (kind == "Conv2D" and kwargs["dilation_rate"] == (2, 3))
        params.append(pytest.param(kind, kwargs, id=f"{kind}-{i}", marks=[pytest.mark.slow] if grouped else []))
    return params


@pytest.mark.parametrize("kind,kwargs", _conv_test_params())
def test_translated_keras_conv_correctness(kind, kwargs):
    """Keras's conv correctness parameters (its ``np.random.normal`` inputs ``(2, 8, 4)``, ``(2, 8, 8, 4)``,
    ``(2, 8, 8, 8, 4)``, read in the test's ``data_format``; DepthwiseConv1D channels-first takes ``(2, 4, 8)``),
    in float64 with random weights: the torch port against Keras's layer, values and gradients."""
    nd = int(kind[-2])
    shape = _KERAS_CONV_INPUTS[nd]
    channels_first = kwargs["data_format"] == "channels_first"
    if kind == "DepthwiseConv1D" and channels_first:
        shape = (2, 4, 8)
    rng = np.random.default_rng(7)
    with _precision("float64"):
        layer = getattr(layers, kind)(**kwargs)
        x = rng.normal(size=shape)
        layer(tf.constant(x))
        module = _port(layer)
        figures = _compare(layer, x, module, module, channels_last=not channels_first, rng=rng)
    _check(f"{kind} {kwargs}", figures, "float64")

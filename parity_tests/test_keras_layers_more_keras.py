"""Keras layers that change numbers when ported, against real Keras 3.15.1 on TensorFlow 2.21.

``torch_impl.nn``'s ``GaussianDropout``, ``AlphaDropout``, ``ReLU``, ``Softmax`` (with ``mask``),
``LayerNormalization`` (``rms_scaling`` too), ``activation(fn)`` / ``ACTIVATIONS[fn]``, and ``GRU(reset_after=False)``
(with ``load_keras_weights`` / ``keras_weights`` / ``keras_init_``). Each test builds the Keras layer and its port
from the same weights and seeds and compares values and input (and weight) gradients; every figure is printed.

Measured (float64 unless said; float32 cases are ``slow``):

==================================================  ==============================  ============================
case                                                measured max rel, f64 (f32)     asserted f64 (f32)
==================================================  ==============================  ============================
GaussianDropout(rate), 3 rates x 3 calls: values    7.3e-16 (9.6e-8; ulp of normal)  1e-12 (rtol 1e-5, atol 1e-6)
  input gradients                                   6.7e-16 (8.3e-8)                1e-10 (1e-5)
AlphaDropout (noise_shape too): values / grads      0 / 0 (0 / 0)                   1e-12 / 1e-10
AlphaDropout, float64 input under floatx float32    0 (float64 uniforms: 53% off)   1e-12
ReLU, 10 argument sets, ties at 0/threshold/max     0 / 0 (0 / 0), same zero grads  1e-12 / 1e-10
Softmax, 11 mask/axis cases: values / grads         3.9e-16 / 8.6e-13 (2.8e-7/6.2e-6)  1e-12 / 1e-10
Softmax output -> categorical_crossentropy          0 (Keras 20.2038, logits path)  1e-12
LayerNormalization, 8 cases: values / grads         1.6e-14 / 8.3e-15 (1.0e-5 atol / 3.2e-6)  1e-12 / 1e-10
GRU(reset_after=False), 6 forms: outputs            1.5e-14 (3.8e-4 atol 1e-6)      1e-12 (rtol 1e-5 atol 1e-6)
  input and weight gradients (norm-wise)            1.1e-15 (4.0e-7)                1e-10 (1e-5)
GRU(reset_after=False) keras_init_(seed), 2 layers  2.8e-16 abs; stack 5.5e-15; hx 1.8e-14  1e-15 abs / 1e-12
GRU(reset_after=False) + Dense, Adam, 3 epochs      2.1e-16 per epoch; weights 8.1e-16  1e-8 / 1e-10
==================================================  ==============================  ============================

Found: ``torch_impl.losses``' crossentropy *classes* ignored the ``_keras_logits`` a softmax output carries (Keras's
classes use them: 20.2038 vs torch_impl's 8.2629 on saturated logits); fixed, the test now asserts Keras's number.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402

from parity_tests.test_field_scripts_round2 import DTYPES, _check_history, _normwise, _precision, _rel  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, optim  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]


def _tols(dt: str) -> tuple:
    """(values, gradients) tolerance: DESIGN.md's float64 1e-12 / 1e-10, float32 rtol 1e-5."""
    return (1e-12, 1e-10) if dt == "float64" else (1e-5, 1e-5)


def _close(name: str, t, k, tol: float, normwise: bool = False) -> float:
    """Element-wise relative error (``atol`` 1e-6 in float32 besides), or norm-wise; printed and asserted."""
    t, k = np.asarray(t, np.float64), np.asarray(k, np.float64)
    assert t.shape == k.shape, (name, t.shape, k.shape)
    assert np.array_equal(np.isfinite(t), np.isfinite(k)), name
    fin = np.isfinite(k)
    t, k = t[fin], k[fin]
    if t.size == 0:
        return 0.0
    r = _normwise(t, k) if normwise else _rel(t, k)
    atol_ok = tol > 1e-8 and np.all(np.abs(t - k) <= 1e-6 + tol * np.abs(k))
    print(f"  {name}: max {'norm-wise' if normwise else ''} rel {r:.1e} (<= {tol:.0e})")
    assert r <= tol or atol_ok, name
    return r


def _keras_value_grad(fn, x: np.ndarray, w: np.ndarray, variables=()):
    """``fn(x)`` and the gradients of ``sum(fn(x) * w)`` for ``x`` and ``variables``."""
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = fn(xt)
        s = tf.reduce_sum(y * tf.constant(w, dtype=y.dtype))
    grads = tape.gradient(s, [xt] + list(variables))
    return y.numpy(), [None if g is None else np.asarray(tf.convert_to_tensor(g)) for g in grads]


def _torch_value_grad(fn, x: np.ndarray, w: np.ndarray, params=()):
    xt = torch.tensor(x, requires_grad=True)
    y = fn(xt)
    (y * torch.from_numpy(w).to(y.dtype)).sum().backward()
    return y.detach().numpy(), [xt.grad.numpy()] + [None if p.grad is None else p.grad.numpy() for p in params]


def _keras_state(layer) -> tuple:
    return tuple(int(v) for v in np.asarray(layer.seed_generator.state.numpy()))


# ---------------------------------------------------------------------------------------------------------------
# GaussianDropout, AlphaDropout
# ---------------------------------------------------------------------------------------------------------------


def _alpha_dropped(rate: float) -> float:
    """A dropped unit's output: ``a * alpha_p + b`` (Keras's formula, float64)."""
    alpha_p = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946
    a = ((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5
    return a * alpha_p + (-a * alpha_p * rate)


@pytest.mark.parametrize("dt", DTYPES)
def test_gaussian_dropout_like_keras(dt):
    rng = np.random.default_rng(0)
    tv, tg = _tols(dt)
    worst = [0.0, 0.0]
    with _precision(dt):
        for rate, seed in ((0.1, 3), (0.4, 2**31 + 7), (0.75, 0)):
            k = layers.GaussianDropout(rate, seed=seed)
            t = tnn.GaussianDropout(rate, seed=seed)
            for call in range(3):
                x, w = rng.standard_normal((5, 7)).astype(dt), rng.standard_normal((5, 7)).astype(dt)
                kv, (kg,) = _keras_value_grad(lambda a: k(a, training=True), x, w)
                tval, (tgr,) = _torch_value_grad(t, x, w)
                print(f"GaussianDropout({rate}, seed={seed}) call {call}, {dt}:")
                worst[0] = max(worst[0], _close("values", tval, kv, tv))
                worst[1] = max(worst[1], _close("input gradient", tgr, kg, tg))
                assert t.state == _keras_state(k)
            x = rng.standard_normal((2, 3)).astype(dt)
            assert np.array_equal(t.eval()(torch.from_numpy(x)).numpy(), k(x, training=False).numpy())
            assert t.state == _keras_state(k)  # eval draws nothing on either side
    print(f"GaussianDropout {dt}: worst values {worst[0]:.1e}, gradients {worst[1]:.1e}")


def test_gaussian_dropout_edges_like_keras():
    """rate 0 (identity, no generator), the rate check, rate 1 (Keras raises ZeroDivisionError at a training call),
    and an unseeded layer's seed replayed by ``keras_init_(seed=...)``."""
    x = np.ones((2, 3))
    with _precision("float64"):
        assert not hasattr(layers.GaussianDropout(0.0), "seed_generator")
        assert np.array_equal(tnn.GaussianDropout(0.0)(torch.from_numpy(x)).numpy(), x)
        for bad in (-0.1, 1.5):
            with pytest.raises(ValueError, match="rate"):
                layers.GaussianDropout(bad)
            with pytest.raises(ValueError, match="rate"):
                tnn.GaussianDropout(bad)
        with pytest.raises(ZeroDivisionError):
            layers.GaussianDropout(1.0)(x, training=True)
        with pytest.raises(ZeroDivisionError):
            tnn.GaussianDropout(1.0)(torch.from_numpy(x))
        keras.utils.set_random_seed(21)
        k1, k2 = layers.GaussianDropout(0.3), layers.AlphaDropout(0.2)
        t = tnn.keras_init_(torch.nn.Sequential(tnn.GaussianDropout(0.3), tnn.AlphaDropout(0.2)), seed=21)
        print(f"unseeded: Keras states {_keras_state(k1)}, {_keras_state(k2)}; torch_impl {t[0].state}, {t[1].state}")
        assert t[0].state == _keras_state(k1) and t[1].state == _keras_state(k2)
        assert np.array_equal(t(torch.from_numpy(x)).numpy(), k2(k1(x, training=True), training=True).numpy())


@pytest.mark.parametrize("dt", DTYPES)
def test_alpha_dropout_like_keras(dt):
    rng = np.random.default_rng(1)
    tv, tg = _tols(dt)
    worst = [0.0, 0.0]
    with _precision(dt):
        for rate, noise_shape, seed in ((0.1, None, 5), (0.5, None, 123456789), (0.3, (None, 1, 4), 9),
                                        (0.9, (1, 3, None), 0)):
            k = layers.AlphaDropout(rate, noise_shape=noise_shape, seed=seed)
            t = tnn.AlphaDropout(rate, noise_shape=noise_shape, seed=seed)
            for call in range(2):
                x, w = rng.standard_normal((6, 3, 4)).astype(dt), rng.standard_normal((6, 3, 4)).astype(dt)
                kv, (kg,) = _keras_value_grad(lambda a: k(a, training=True), x, w)
                tval, (tgr,) = _torch_value_grad(t, x, w)
                print(f"AlphaDropout({rate}, noise_shape={noise_shape}, seed={seed}) call {call}, {dt}:")
                worst[0] = max(worst[0], _close("values", tval, kv, tv))
                worst[1] = max(worst[1], _close("input gradient", tgr, kg, tg))
                assert t.state == _keras_state(k)
                dropped = np.isclose(kv, _alpha_dropped(rate), rtol=0, atol=1e-6)
                assert dropped.any() and (rate > 0.5 or not dropped.all())  # 0.9 of 12 mask entries: all may go
                for axis, d in enumerate(noise_shape or ()):
                    if d == 1:  # the mask broadcasts along this axis
                        assert np.array_equal(dropped.all(axis), dropped.any(axis))
            assert np.array_equal(t.eval()(torch.from_numpy(x)).numpy(), x)
    print(f"AlphaDropout {dt}: worst values {worst[0]:.1e}, gradients {worst[1]:.1e}")


def test_alpha_dropout_draws_floatx_uniforms():
    """Keras's ``ops.random.uniform`` draws in floatx, not the input's dtype: float64 inputs under floatx float32
    (a float64 layer: no autocast) keep or drop units by float32 uniforms, so a rate at a float32/float64 boundary
    decides the same as Keras's."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64, 8))
    with _precision("float32"):
        k = layers.AlphaDropout(0.5, seed=4, dtype="float64")
        t = tnn.AlphaDropout(0.5, seed=4)
        kv = k(x, training=True).numpy()
        tv = t(torch.from_numpy(x)).numpy()
    r = _rel(tv, kv)
    dropped = np.isclose(kv, _alpha_dropped(0.5), rtol=0, atol=1e-12)
    # the same seed pair's float64 uniforms (the input's dtype) keep other units
    u64 = tnn.stateless_uniform((64, 8), (4, 0), torch.float64).numpy()
    other = np.mean((u64 < 0.5) != dropped)
    print(f"AlphaDropout float64 input, floatx float32: rel {r:.1e}, dropped {dropped.mean():.2f}; float64 uniforms "
          f"would decide {other:.0%} of the units otherwise")
    assert r <= 1e-12 and other > 0.2


# ---------------------------------------------------------------------------------------------------------------
# ReLU, Softmax, activation(fn)
# ---------------------------------------------------------------------------------------------------------------

RELU_CASES = [dict(), dict(max_value=6.0), dict(max_value=5.0), dict(negative_slope=0.3),
              dict(threshold=1.0), dict(max_value=5.0, negative_slope=0.5, threshold=1.0),
              dict(max_value=6.0, negative_slope=0.1), dict(negative_slope=0.25, threshold=0.5),
              dict(max_value=0.0), dict(max_value=6, threshold=2.0)]


@pytest.mark.parametrize("dt", DTYPES)
def test_relu_layer_like_keras(dt):
    """A grid of Keras's arguments on inputs with ties at 0, the thresholds and the maxima (where TensorFlow's
    gradients are one-sided: relu6 0 at 6, clip_by_value 1 at max_value)."""
    tv, tg = _tols(dt)
    rng = np.random.default_rng(3)
    ties = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 5.0, 6.0, 7.0, 0.3, -0.3])
    x = np.concatenate([ties, rng.standard_normal(20) * 4]).reshape(4, 8).astype(dt)
    w = rng.standard_normal(x.shape).astype(dt)
    worst = [0.0, 0.0]
    with _precision(dt):
        for case in RELU_CASES:
            k, t = layers.ReLU(**case), tnn.ReLU(**case)
            kv, (kg,) = _keras_value_grad(k, x, w)
            tval, (tgr,) = _torch_value_grad(t, x, w)
            print(f"ReLU({case}), {dt}:")
            worst[0] = max(worst[0], _close("values", tval, kv, tv))
            worst[1] = max(worst[1], _close("input gradient", tgr, kg, tg))
            assert np.array_equal(tgr == 0, kg == 0), "the same zero-gradient entries"
    print(f"ReLU {dt}: worst values {worst[0]:.1e}, gradients {worst[1]:.1e}")


def test_relu_argument_checks_like_keras():
    for bad in (dict(max_value=-1.0), dict(negative_slope=None), dict(negative_slope=-0.1), dict(threshold=None),
                dict(threshold=-1.0)):
        with pytest.raises(ValueError) as ke:
            layers.ReLU(**bad)
        with pytest.raises(ValueError) as te:
            tnn.ReLU(**bad)
        print(f"ReLU({bad}): Keras {str(ke.value)[:60]!r}, torch_impl {str(te.value)[:60]!r}")
        assert str(ke.value) == str(te.value)


SOFTMAX_CASES = [  # (name, input shape, axis, mask or None)
    ("no mask", (3, 5), -1, None),
    ("bool mask", (3, 5), -1, np.array([[1, 1, 0, 1, 0], [0, 0, 0, 0, 1], [1, 1, 1, 1, 1]], bool)),
    ("float mask (> 0.5)", (3, 5), -1, np.array([[0.9, 0.2, 0.6, 1.0, 0.5], [1, 0, 1, 0, 1], [0.51, 0, 0, 0, 0]])),
    ("a fully masked row", (3, 5), -1, np.array([[1, 1, 0, 0, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]], bool)),
    ("mask (1, 5) broadcast", (2, 3, 5), -1, np.array([[1, 0, 1, 1, 0]], bool)),
    ("mask (5,) fewer dims", (2, 3, 5), -1, np.array([1, 1, 0, 1, 0], bool)),
    ("attention-style (N, 1, 1, K)", (2, 2, 3, 4), -1, np.array([[[[1, 1, 0, 0]]], [[[1, 1, 1, 0]]]], bool)),
    ("axis 1", (3, 4, 2), 1, np.array([[[1], [0], [1], [1]]] * 3, bool)),
    ("axes (-2, -1)", (2, 3, 4), (-2, -1), None),
    ("axes (-2, -1) masked", (2, 3, 4), (-2, -1), np.array([[1, 0, 1, 1], [0, 0, 1, 1], [1, 1, 1, 0]], bool)),
    ("axis [1] (a list of one)", (3, 4), [1], None),
]


@pytest.mark.parametrize("dt", DTYPES)
def test_softmax_layer_with_mask_like_keras(dt):
    tv, tg = _tols(dt)
    rng = np.random.default_rng(4)
    worst = [0.0, 0.0]
    with _precision(dt):
        for name, shape, axis, mask in SOFTMAX_CASES:
            x = (rng.standard_normal(shape) * 3).astype(dt)
            w = rng.standard_normal(shape).astype(dt)
            k, t = layers.Softmax(axis=axis), tnn.Softmax(axis=axis)
            km = None if mask is None else tf.constant(mask.astype(dt) if mask.dtype != bool else mask)
            tm = None if mask is None else torch.from_numpy(mask.astype(dt) if mask.dtype != bool else mask)
            kv, (kg,) = _keras_value_grad(lambda a: k(a, mask=km), x, w)
            tval, (tgr,) = _torch_value_grad(lambda a: t(a, mask=tm), x, w)
            print(f"Softmax(axis={axis}) {name}, {dt}:")
            worst[0] = max(worst[0], _close("values", tval, kv, tv))
            worst[1] = max(worst[1], _close("input gradient", tgr, kg, tg))
            if mask is not None:
                assert np.array_equal(tval == 0, kv == 0), "masked positions are 0"
    print(f"Softmax {dt}: worst values {worst[0]:.1e}, gradients {worst[1]:.1e}")


def test_softmax_mask_errors_and_logits_like_keras():
    x = np.zeros((2, 3, 4))
    for mask in (np.ones((2, 2, 3, 4), bool), np.ones((2, 5, 4), bool), np.ones((3,), bool)):
        with pytest.raises(ValueError) as ke:
            layers.Softmax()(x, mask=tf.constant(mask))
        with pytest.raises(ValueError) as te:
            tnn.Softmax()(torch.from_numpy(x), mask=torch.from_numpy(mask))
        print(f"mask {mask.shape}: Keras {str(ke.value)[:70]!r}; torch_impl {str(te.value)[:70]!r}")
        assert str(te.value).split("Received")[0].strip() in str(ke.value)  # Keras wraps it in its call's error
    # a Softmax output layer hands its crossentropy the logits (Keras's _keras_logits), without a mask only
    logits = np.array([[40.0, 0.0, -3.0], [1.0, 2.0, 3.0]])
    y = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    with _precision("float64"):
        inp = keras.Input((3,))
        model = keras.Model(inp, layers.Softmax()(inp))
        model.compile(loss="categorical_crossentropy")
        k_loss = model.evaluate(logits, y, verbose=0)
        k_clipped = float(np.mean(keras.losses.categorical_crossentropy(y, model.predict(logits, verbose=0))))
        out = tnn.Softmax()(torch.from_numpy(logits))
        t_loss = float(losses.categorical_crossentropy(torch.from_numpy(y), out).mean())
    masked = tnn.Softmax()(torch.from_numpy(logits), mask=torch.ones(2, 3, dtype=torch.bool))
    print(f"Softmax output layer + CCE: Keras evaluate {k_loss!r} (the probabilities' clipped CCE {k_clipped!r}); "
          f"torch_impl categorical_crossentropy {t_loss!r}; masked output carries logits: "
          f"{hasattr(masked, '_keras_logits')}")
    assert abs(t_loss - k_loss) <= 1e-12 * abs(k_loss) and abs(k_loss - k_clipped) > 1.0
    assert not hasattr(masked, "_keras_logits")


def test_crossentropy_class_takes_softmax_logits_like_keras():
    """Found here, fixed in torch_impl/losses.py: ``keras.losses.CategoricalCrossentropy()(y, softmax_out)`` (the
    LossFunctionWrapper of ``categorical_crossentropy``) uses the logits the softmax output carries: 20.2038 on these
    saturated logits; ``torch_impl.losses.CategoricalCrossentropy()`` computed the clipped probabilities' 8.2629
    (its functional ``categorical_crossentropy`` gave Keras's 20.2038). The other classes:
    ``test_keras_mask_keras.py::test_crossentropy_classes_use_the_logits_behind_an_activation``."""
    logits = np.array([[40.0, 0.0, -3.0], [1.0, 2.0, 3.0]])
    y = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    with _precision("float64"):
        k_loss = float(keras.losses.CategoricalCrossentropy()(y, layers.Softmax()(tf.constant(logits))))
        t_loss = float(losses.CategoricalCrossentropy()(torch.from_numpy(y), tnn.Softmax()(torch.from_numpy(logits))))
    print(f"CategoricalCrossentropy() on a Softmax layer's output: Keras {k_loss!r}, torch_impl {t_loss!r}")
    assert abs(t_loss - k_loss) <= 1e-12 * abs(k_loss)


def test_activation_lookup_accepts_callables_like_keras():
    def fn(x):
        return x * 2

    relu = tnn.ReLU(max_value=1.0)
    for ident in (fn, torch.tanh, relu):
        assert tnn.activation(ident) is ident and tnn.ACTIVATIONS[ident] is ident
    assert keras.activations.get(fn) is fn  # Keras's rule: a callable is returned as is
    assert tnn.activation(None) is tnn.ACTIVATIONS["linear"]
    for bad in ("no_such_activation", 3):
        with pytest.raises(ValueError):
            tnn.activation(bad)
        with pytest.raises(ValueError):
            keras.activations.get(bad)
    with pytest.raises(KeyError):
        tnn.ACTIVATIONS["no_such_activation"]
    print("activation(fn) / ACTIVATIONS[fn] return fn (keras.activations.get's rule); unknown names raise")


# ---------------------------------------------------------------------------------------------------------------
# LayerNormalization
# ---------------------------------------------------------------------------------------------------------------

LN_CASES = [  # (name, input shape, normalized_shape, kwargs)
    ("default", (4, 6), 6, {}),
    ("epsilon 1e-6", (3, 5, 6), 6, dict(epsilon=1e-6)),
    ("two axes", (3, 4, 5), (4, 5), {}),
    ("center=False", (4, 6), 6, dict(center=False)),
    ("scale=False", (4, 6), 6, dict(scale=False)),
    ("neither", (4, 6), 6, dict(center=False, scale=False)),
    ("rms_scaling", (4, 6), 6, dict(rms_scaling=True)),
    ("rms_scaling, two axes, center=False", (3, 4, 5), (4, 5), dict(rms_scaling=True, center=False)),
]


@pytest.mark.parametrize("dt", DTYPES)
def test_layer_normalization_like_keras(dt):
    tv, tg = _tols(dt)
    rng = np.random.default_rng(5)
    worst = [0.0, 0.0]
    with _precision(dt), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rms_scaling's deprecation, on both sides
        for name, shape, norm, kw in LN_CASES:
            x = (rng.standard_normal(shape) * 2 + 0.5).astype(dt)
            x[0] = 1.25  # a constant row: variance 0
            w = rng.standard_normal(shape).astype(dt)
            k_axis = -1 if isinstance(norm, int) else list(range(-len(norm), 0))
            k = layers.LayerNormalization(axis=k_axis, **kw)
            k.build(shape)
            k.set_weights([(1 + 0.3 * rng.standard_normal(v.shape)).astype(dt) for v in k.get_weights()])
            t = tnn.load_keras_weights(tnn.LayerNormalization(norm, **kw), k.get_weights())
            params = [p for p in (t.weight, t.bias) if p is not None]
            assert len(params) == len(k.trainable_weights)
            kv, kgs = _keras_value_grad(k, x, w, k.trainable_weights)
            tval, tgs = _torch_value_grad(t, x, w, params)
            print(f"LayerNormalization {name}, {dt}:")
            worst[0] = max(worst[0], _close("values", tval, kv, tv))
            for label, a, b in zip(["x"] + [v.name for v in k.trainable_weights], tgs, kgs):
                worst[1] = max(worst[1], _close(f"gradient {label}", a, b, tg, normwise=label != "x"))
            assert all(np.array_equal(a, b) for a, b in zip(tnn.keras_weights(t), k.get_weights()))
    print(f"LayerNormalization {dt}: worst values {worst[0]:.1e}, gradients {worst[1]:.1e}")


def test_layer_normalization_init_and_warnings():
    with _precision("float64"):
        k = layers.LayerNormalization(epsilon=1e-5)
        k.build((2, 3))
        t = tnn.keras_init_(tnn.LayerNormalization(3, epsilon=1e-5))
        assert all(np.array_equal(a, b) for a, b in zip(tnn.keras_weights(t), k.get_weights()))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # epsilon 1e-5 is asked for: no torch-default-eps warning
            tnn.load_keras_weights(t, k.get_weights())
        with pytest.warns(UserWarning, match="rms_scaling"):
            layers.LayerNormalization(rms_scaling=True)
        with pytest.warns(UserWarning, match="rms_scaling"):
            tnn.LayerNormalization(3, rms_scaling=True)
    # the formulas differ from torch's: LayerNorm's (x - mean) * rstd, RMSNorm's mean of squares
    x = torch.tensor([[1.0, 2.0, 4.0]], dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = tnn.LayerNormalization(3, rms_scaling=True)(x)
    rms = torch.nn.RMSNorm(3, eps=1e-3, dtype=torch.float64)(x)
    print(f"rms_scaling: Keras's formula {ours.tolist()} vs torch.nn.RMSNorm {rms.tolist()}")
    assert not torch.allclose(ours, rms)


# ---------------------------------------------------------------------------------------------------------------
# GRU(reset_after=False)
# ---------------------------------------------------------------------------------------------------------------


def _random_weights(layer, rng, dt):
    layer.set_weights([(0.5 * rng.standard_normal(v.shape)).astype(dt) for v in layer.get_weights()])


def _torch_grads_keras_layout(module: torch.nn.Module) -> list:
    """The parameters' gradients in Keras's layout (a copy holding the gradients as its weights)."""
    shadow = copy.deepcopy(module)
    with torch.no_grad():
        for (_, p), (_, q) in zip(module.named_parameters(), shadow.named_parameters()):
            q.copy_(p.grad if p.grad is not None else torch.zeros_like(p))
    return tnn.keras_weights(shadow)


GRU_FORMS = [  # (name, Keras layer kwargs, torch kwargs, flip the torch input, Bidirectional, layers)
    ("return_sequences", dict(return_sequences=True), {}, False, False),
    ("go_backwards (torch: flipped input)", dict(return_sequences=True, go_backwards=True), {}, True, False),
    ("use_bias=False", dict(return_sequences=True, use_bias=False), dict(bias=False), False, False),
    ("Bidirectional", dict(return_sequences=True), dict(bidirectional=True), False, True),
    ("dropout 0.3 (implementation 2, input mask)", dict(return_sequences=True, dropout=0.3, seed=11),
     dict(dropout=0.3, seed=11), False, False),
    ("dropout 0.2, recurrent_dropout 0.4 (implementation 1, per-gate masks)",
     dict(return_sequences=True, dropout=0.2, recurrent_dropout=0.4, seed=5),
     dict(dropout=0.2, recurrent_dropout=0.4, seed=5), False, False),
]


@pytest.mark.parametrize("dt", DTYPES)
def test_gru_reset_after_false_like_keras(dt):
    tv, tg = _tols(dt)
    rng = np.random.default_rng(6)
    n, steps, feat, units = 3, 5, 4, 6
    worst = [0.0, 0.0]
    with _precision(dt):
        for name, kkw, tkw, flip, bidir in GRU_FORMS:
            x = rng.standard_normal((n, steps, feat)).astype(dt)
            keras_gru = layers.GRU(units, reset_after=False, **kkw)
            k = layers.Bidirectional(keras_gru) if bidir else keras_gru
            k.build((n, steps, feat))
            _random_weights(k, rng, dt)
            t = tnn.GRU(feat, units, batch_first=True, reset_after=False, **tkw)
            tnn.load_keras_weights(t, k.get_weights())
            out_shape = (n, steps, units * (2 if bidir else 1))
            w = rng.standard_normal(out_shape).astype(dt)
            kv, kgs = _keras_value_grad(lambda a: k(a, training=True), x, w, k.trainable_weights)

            def run(a):
                return t(a.flip(1) if flip else a)[0]

            tval, tgs = _torch_value_grad(run, x, w)
            print(f"GRU(reset_after=False) {name}, {dt}:")
            worst[0] = max(worst[0], _close("outputs", tval, kv, tv))
            worst[1] = max(worst[1], _close("input gradient", tgs[0], kgs[0], tg, normwise=True))
            for label, a, b in zip([v.path for v in k.trainable_weights], _torch_grads_keras_layout(t), kgs[1:]):
                worst[1] = max(worst[1], _close(f"gradient {label}", a, b, tg, normwise=True))
            assert all(np.array_equal(a, b) for a, b in zip(tnn.keras_weights(t), k.get_weights()))
            if "dropout" in kkw:
                assert t.streams[0].state == _keras_state(k.cell), "the same masks drawn"
    print(f"GRU(reset_after=False) {dt}: worst outputs {worst[0]:.1e}, gradients {worst[1]:.1e}")


def test_gru_reset_after_false_layout_and_init():
    """The (3 units,) bias loads into ``bias_ih`` (``bias_hh`` 0, frozen); a reset_after=True GRU refuses it with a
    hint; ``keras_init_(seed=)`` gives Keras's initial weights; a 2-layer stack and ``hx`` are Keras's stacked layers
    and ``initial_state``; eval mode is the same computation."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 4, 3))
    with _precision("float64"):
        keras.utils.set_random_seed(13)
        km = keras.Sequential([keras.Input((4, 3)), layers.GRU(5, reset_after=False, return_sequences=True),
                               layers.GRU(5, reset_after=False, return_sequences=True)])
        t = tnn.keras_init_(tnn.GRU(3, 5, num_layers=2, batch_first=True, reset_after=False), seed=13)
        kw = km.get_weights()
        print("keras_init_(seed=13), 2 layers: " + ", ".join(
            f"{a.shape} max abs {np.max(np.abs(a - b)):.1e}" for a, b in zip(tnn.keras_weights(t), kw)))
        for a, b in zip(tnn.keras_weights(t), kw):
            assert a.shape == b.shape and np.max(np.abs(a - b)) <= 1e-15
        assert [p.requires_grad for n_, p in t.named_parameters() if n_.startswith("bias_hh")] == [False, False]
        tnn.load_keras_weights(t, kw)
        t.eval()
        r = _rel(t(torch.from_numpy(x))[0].detach().numpy(), km(x).numpy())
        print(f"2-layer stack outputs (eval): rel {r:.1e}")
        assert r <= 1e-12
        h0 = rng.standard_normal((2, 5))
        one = layers.GRU(5, reset_after=False, return_state=True)
        one.build((2, 4, 3))
        _random_weights(one, rng, "float64")
        k_out, k_h = one(x, initial_state=[h0])
        t1 = tnn.load_keras_weights(tnn.GRU(3, 5, batch_first=True, reset_after=False), one.get_weights())
        t_out, t_h = t1(torch.from_numpy(x), torch.from_numpy(h0)[None])
        r = max(_rel(t_out[:, -1].detach().numpy(), k_out.numpy()), _rel(t_h[0].detach().numpy(), k_h.numpy()))
        print(f"initial_state / hx: rel {r:.1e}")
        assert r <= 1e-12
        with pytest.raises(ValueError, match="reset_after=False"):
            tnn.load_keras_weights(tnn.GRU(3, 5, batch_first=True), one.get_weights())


def test_gru_reset_after_false_fit_like_keras():
    """``GRU(8, reset_after=False)`` + ``Dense(3)``, Adam, 3 epochs of 3 batches: the loss history within 1e-8 of
    Keras's in every epoch (the frozen ``bias_hh`` is not a second bias)."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((48, 6, 4))
    y = (x[:, :, 0].sum(1) > 0).astype("int64") + (x[:, -1, 1] > 0.5)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = tnn.GRU(4, 8, batch_first=True, reset_after=False)
            self.fc = torch.nn.Linear(8, 3)

        def forward(self, a):
            return self.fc(self.gru(a)[0][:, -1])

    with _precision("float64"):
        keras.utils.set_random_seed(3)
        km = keras.Sequential([keras.Input((6, 4)), layers.GRU(8, reset_after=False), layers.Dense(3)])
        net = tnn.load_keras_weights(Net(), km.get_weights())
        km.compile(optimizer=keras.optimizers.Adam(0.01),
                   loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        kh = km.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0).history
        th = tfit.fit(net, x, y, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                      optimizer=optim.Adam([p for p in net.parameters() if p.requires_grad], learning_rate=0.01),
                      batch_size=16, epochs=3,
                      shuffle=False, verbose=0).history
        r = _normwise(np.concatenate([a.ravel() for a in tnn.keras_weights(net)]),
                      np.concatenate([a.ravel() for a in km.get_weights()]))
    print("GRU(reset_after=False) + Dense, Adam(0.01), float64:")
    _check_history(th, kh, "float64")
    print(f"  final weights norm-wise rel {r:.1e}")
    assert r <= 1e-10

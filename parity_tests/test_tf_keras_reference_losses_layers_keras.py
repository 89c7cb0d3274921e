"""The numbers ``test_tf_keras_reference_losses_layers.py`` keeps where Keras 2 and Keras 3 may differ, re-measured
on real Keras 3.15.1 (TensorFlow backend) with the same inputs, next to torch_impl's (max abs diff printed):

* every loss case (tf-keras's numbers hold on Keras 3.15.1; torch_impl against Keras on each), the
  ``test_invalid_sample_weight`` error;
* BatchNormalization: the moving variance without Bessel's correction (0.5, keras2=1.0), ten training calls on 0.5
  (plain calls: 0.0478 / 0.904; inside a ``Model`` whose ``call`` is a ``tf.function``: no update, the quirk the
  translation leaves out), three training calls on ``[-1000, 1000]``, the float16 ("mixed_float16") cases, the
  training-mode statistics;
* LayerNormalization's forward pass (``LayerNormalizationNumericsTest.test_forward``'s shapes, axes, epsilons and
  dtypes) against the NumPy reference and torch_impl;
* the activations (ELU, LeakyReLU, ReLU, Softmax on the same input; ``ELU(alpha=None)`` raising at the call,
  Keras 3's ReLU/LeakyReLU messages, relu6's gradient 0 at 6, ``ThresholdedReLU`` gone, ``robust_masking`` refused);
* ``SpatialDropout1D/2D/3D`` equal to torch_impl's ``Dropout(noise_shape=...)`` bit for bit (same seed), and
  ``Dropout(0.0)`` drawing nothing.

Slow (TensorFlow start-up): ``.venv/bin/python -m pytest -q -s -p no:cacheprovider
parity_tests/test_tf_keras_reference_losses_layers_keras.py``
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import parity_tests.test_tf_keras_reference_losses_layers as ref  # imports torch before TensorFlow
from torch_impl import nn as N

pytestmark = [pytest.mark.keras, pytest.mark.slow]


@pytest.fixture(scope="module")
def keras(keras3):
    return keras3


@pytest.fixture(scope="module")
def tf(keras):
    import tensorflow as tf

    return tf


def _k(x):
    """A tf-keras input as Keras 3 takes it: NumPy (a Python scalar as it is)."""
    return x if x is None or isinstance(x, (int, float)) else np.asarray(x)


def test_loss_cases_keras3(keras):
    worst = 0.0
    for case in ref.LOSS_CASES:
        obj = getattr(keras.losses, case.cls)(**case.kwargs)
        got = np.asarray(obj(_k(case.y_true), _k(case.y_pred), sample_weight=_k(case.sample_weight)))
        ref._check(case, got)  # Keras 3.15.1 against tf-keras's expected number, same tolerance
        mine = ref._np(ref._run(ref.losses, case))
        diff = float(np.max(np.abs(mine - got)))
        worst = max(worst, diff / max(1.0, float(np.max(np.abs(got)))))
        print(f"  {case.id}: Keras 3.15.1 {got} torch_impl {mine} max abs diff {diff}")
        np.testing.assert_allclose(mine, got, rtol=1e-6, atol=1e-6)
    print(f"loss cases: worst relative diff torch_impl vs Keras 3.15.1 {worst}")


@pytest.mark.parametrize("cls", ["MeanSquaredError", "MeanAbsoluteError"])
def test_invalid_sample_weight_keras3(keras, tf, cls):
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError),
                       match=r"Incompatible shapes: \[2,3\] vs. \[2,2\]|Dimensions must be equal") as err:
        getattr(keras.losses, cls)()(ref.Y_231, ref.P_231.astype(np.int32),
                                     sample_weight=np.array([3, 6, 5, 0], np.int32).reshape(2, 2))
    print(f"Keras 3.15.1 {cls}: {type(err.value).__name__}: {str(err.value)[-60:]}")


# ---- BatchNormalization ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [[2, 1, 1, 1], [2, 1, 1, 1, 1]], ids=["4d", "5d"])
def test_bessels_correction_keras3(keras, tf, shape):
    layer = keras.layers.BatchNormalization(momentum=0.5, moving_variance_initializer="zeros")
    layer(tf.constant([0.0, 2.0], shape=shape), training=True)
    print(f"Keras 3.15.1 test_bessels_correction {shape}: {layer.moving_variance.numpy()} (keras2=[1.0])")
    assert layer.moving_variance.numpy().tolist() == [0.5]


def test_moving_statistics_keras3(keras, tf):
    bn = keras.layers.BatchNormalization()
    for _ in range(10):
        bn(tf.constant(0.5, shape=[1, 1]), training=True)
    mine = N.BatchNormalization(1).train()
    for _ in range(10):
        mine(torch.full((1, 1), 0.5))
    print(f"Keras 3.15.1 ten calls: {bn.moving_mean.numpy()} {bn.moving_variance.numpy()}; torch_impl "
          f"{mine.running_mean.numpy()} {mine.running_var.numpy()}")
    np.testing.assert_allclose(mine.running_mean.numpy(), bn.moving_mean.numpy(), rtol=1e-6)
    np.testing.assert_allclose(mine.running_var.numpy(), bn.moving_variance.numpy(), rtol=1e-6)

    class MyModel(keras.Model):  # the tf-keras test's own form: Keras 3.15.1 updates nothing here
        def __init__(self):
            super().__init__()
            self.bn = keras.layers.BatchNormalization()

        @tf.function()
        def call(self, x, training):
            return self.bn(x, training=training)

    model = MyModel()
    for _ in range(10):
        model(tf.constant(0.5, shape=[1, 1]), training=True)
    print(f"  inside a Model with a tf.function call: {model.bn.moving_mean.numpy()} "
          f"{model.bn.moving_variance.numpy()} (tf-keras: 0.047 / 0.9)")
    assert model.bn.moving_mean.numpy().tolist() == [0.0] and model.bn.moving_variance.numpy().tolist() == [1.0]


def test_multiple_calls_and_float16_keras3(keras):
    norm = keras.layers.BatchNormalization(scale=False, center=False)
    x = np.array([-1000.0, 1000.0]).reshape((2, 1, 1, 1))
    y = np.asarray(norm(norm(norm(x, training=True), training=True), training=True))
    ref.tf_all_close("Keras 3.15.1 test_can_be_used_in_multiple_graphs", y, np.array([-0.9995, 0.9995]).reshape(y.shape))
    norm = keras.layers.BatchNormalization(axis=-1, dtype="mixed_float16")
    y = norm(x, training=True)
    assert str(y.dtype) in ("float16", "<dtype: 'float16'>")
    ref.tf_all_close("Keras 3.15.1 test_batchnorm_mixed_precision_does_not_overflow", np.asarray(y),
                     np.array([-1.0, 1.0]).reshape((2, 1, 1, 1)))
    norm = keras.layers.BatchNormalization(axis=-1, momentum=0.8, dtype="mixed_float16")
    y = norm(np.random.RandomState(12).normal(size=(10, 4, 4, 3)))
    print("Keras 3.15.1 test_batchnorm_mixed_precision:", y.dtype, norm.beta.dtype, norm.gamma.dtype)
    assert "float16" in str(y.dtype) and norm.beta.dtype == "float32" and norm.gamma.dtype == "float32"


def test_batchnorm_trainable_keras3(keras):
    val_a = np.expand_dims(np.arange(10.0), axis=1)
    layer = keras.layers.BatchNormalization()
    layer.build((None, 1))
    layer.set_weights([np.array([1.0]), np.array([0.0]), np.array([0.5]), np.array([100.0])])
    got = np.asarray(layer(val_a, training=True))
    mine = N.BatchNormalization(1)
    with torch.no_grad():
        mine.running_mean.fill_(0.5)
        mine.running_var.fill_(100.0)
    mine_out = mine.train()(torch.as_tensor(val_a, dtype=torch.float32)).detach().numpy()
    print(f"Keras 3.15.1 test_batchnorm_trainable: max abs diff vs torch_impl {np.max(np.abs(got - mine_out))}")
    ref.tf_all_close("Keras 3.15.1", (val_a - np.mean(val_a)) / np.std(val_a), got, atol=1e-3)
    np.testing.assert_allclose(mine_out, got, rtol=1e-6, atol=1e-6)


# ---- LayerNormalization ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape,axis,fp16_tol", ref.FORWARD, ids=[f"{s}-{a}" for s, a, _ in ref.FORWARD])
def test_layernorm_forward_keras3(keras, shape, axis, fp16_tol):
    beta, gamma = ref._ln_params(shape, axis)
    x = np.random.RandomState(17).normal(size=shape)
    for epsilon in 1e-12, 1e-3:
        expected = ref._expected_layer_norm(x, beta, gamma, shape, axis, epsilon)
        for dtype, tol in (("float64", 1e-14), ("float32", 1e-6), ("float16", fp16_tol)):
            layer = keras.layers.LayerNormalization(axis=list(axis), epsilon=epsilon, dtype=dtype,
                                                    beta_initializer=keras.initializers.Constant(beta),
                                                    gamma_initializer=keras.initializers.Constant(gamma))
            got = np.asarray(layer(keras.ops.cast(x, dtype))).astype(np.float64)
            dt = getattr(torch, dtype)
            mine = ref._layer_norm_fn(shape, axis, epsilon, dt)(
                torch.as_tensor(x).to(dt), torch.as_tensor(beta).to(dt), torch.as_tensor(gamma).to(dt))
            mine = mine.detach().double().numpy()
            print(f"  {shape} {axis} eps={epsilon} {dtype}: Keras 3.15.1 vs NumPy {np.max(np.abs(got - expected)):.3e}"
                  f", torch_impl vs Keras {np.max(np.abs(mine - got)):.3e}")
            assert np.allclose(expected, got, rtol=tol, atol=tol), (epsilon, dtype)
            assert np.allclose(mine, got, rtol=tol, atol=tol), (epsilon, dtype)


# ---- activations -------------------------------------------------------------------------------------------------


def test_activations_keras3(keras):
    L = keras.layers
    pairs = [(L.ELU(alpha=a), N.ELU(alpha=a), f"ELU({a})") for a in (0.0, 0.5, -1.0)]
    pairs += [(L.LeakyReLU(negative_slope=a), N.LeakyReLU(negative_slope=a), f"LeakyReLU({a})") for a in (0.0, 0.5)]
    pairs += [(L.ReLU(max_value=10), N.ReLU(max_value=10), "ReLU(max_value=10)"),
              (L.ReLU(negative_slope=0.2), N.ReLU(negative_slope=0.2), "ReLU(negative_slope=0.2)"),
              (L.ReLU(threshold=0.5), N.ReLU(threshold=0.5), "ReLU(threshold=0.5)"),
              (L.Softmax(axis=1), N.Softmax(axis=1), "Softmax(axis=1)")]
    for k_layer, t_layer, name in pairs:
        got = np.asarray(k_layer(ref.ACT_X))
        mine = ref._act(t_layer)
        print(f"  {name}: torch_impl vs Keras 3.15.1 max abs diff {np.max(np.abs(mine - got))}")
        np.testing.assert_allclose(mine, got, rtol=1e-6, atol=1e-6)
    assert not hasattr(L, "ThresholdedReLU")


def test_activation_errors_keras3(keras, tf):
    L = keras.layers
    layer = L.ELU(alpha=None)  # made without complaint
    with pytest.raises(ValueError, match="unsupported type"):
        layer(ref.ACT_X)
    with pytest.warns(UserWarning, match="`alpha` is deprecated"), \
            pytest.raises(ValueError, match="The negative_slope value of a Leaky ReLU layer cannot be None or negative"):
        L.LeakyReLU(alpha=None)
    for kwargs in ({"max_value": -10}, {"negative_slope": None}, {"negative_slope": -10}, {"threshold": None},
                   {"threshold": -10}):
        with pytest.raises(ValueError) as k_err:
            L.ReLU(**kwargs)
        with pytest.raises(ValueError) as t_err:
            N.ReLU(**kwargs)
        print(f"  ReLU({kwargs}): Keras 3.15.1 {k_err.value}")
        assert str(k_err.value) == str(t_err.value)
    with pytest.raises(ValueError, match="Unrecognized keyword arguments passed to Softmax") as err:
        L.Softmax(axis=1, robust_masking=True)
    print(f"  Softmax(robust_masking=True): {type(err.value).__name__}: {err.value}")
    for max_value, grad in ((6, 0.0), (10, 1.0)):
        x = tf.Variable([6.0])
        with tf.GradientTape() as tape:
            y = L.ReLU(max_value=max_value)(x)
        g = tape.gradient(y, x).numpy()
        print(f"  Keras 3.15.1 ReLU(max_value={max_value}) gradient at 6: {g}")
        assert g.tolist() == [grad]


# ---- dropout -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape,noise_shape", [s[1:] for s in ref.SPATIAL], ids=[s[0] for s in ref.SPATIAL])
def test_spatial_dropout_keras3(keras, shape, noise_shape):
    name = {3: "SpatialDropout1D", 4: "SpatialDropout2D", 5: "SpatialDropout3D"}[len(shape)]
    kwargs = {} if noise_shape[1] == 1 or len(shape) == 3 else {"data_format": "channels_first"}
    x = np.random.RandomState(21).random_sample(shape).astype(np.float32) + 0.5
    layer = getattr(keras.layers, name)(0.5, seed=11, **kwargs)
    got = np.asarray(layer(x, training=True))
    mine = N.Dropout(0.5, noise_shape=noise_shape, seed=11)(torch.as_tensor(x)).numpy()
    print(f"Keras 3.15.1 {name}{kwargs}: torch_impl Dropout(noise_shape={noise_shape}) max abs diff "
          f"{np.max(np.abs(mine - got))}")
    np.testing.assert_array_equal(mine, got)


def test_dropout_zero_rate_keras3(keras):
    layer = keras.layers.Dropout(0.0)
    x = np.ones((20, 5, 10), np.float32)
    np.testing.assert_array_equal(np.asarray(layer(x, training=True)), x)
    print("Keras 3.15.1 Dropout(0.0): seed_generator", getattr(layer, "seed_generator", None))
    assert getattr(layer, "seed_generator", None) is None

"""torch_impl's random draws, initializers and activations against Keras 3.15.1's OWN tests of them.

An independent reference: no TensorFlow or Keras is imported here. Each test re-states, on torch tensors, the
inputs, the expected figures and the properties of one test method of the Keras sources (tag ``v3.15.1``, the
files installed next to Keras), with that test's tolerance and Keras's seeds:

* ``keras/src/random/{random,seed_generator}_test.py`` -> :mod:`torch_impl.keras_random`
* ``keras/src/initializers/{constant_initializers,random_initializers,initializer}_test.py`` ->
  :mod:`torch_impl.initializers`
* ``keras/src/activations/activations_test.py`` -> :data:`torch_impl.nn.ACTIVATIONS` (the by-name forms) and the
  activations of :mod:`torch_impl.keras_ops` (the forms with arguments: ``ops.softmax(x, axis)``,
  ``ops.gelu(x, approximate)``...; each check runs on every torch_impl form that exists); ``activations.relu`` with
  ``negative_slope``/``max_value``/``threshold`` is ``torch_impl.keras_backend.relu(x, alpha, max_value,
  threshold)`` (Keras 3's ``ReLU.static_call`` is the legacy ``K.relu`` algorithm step for step)
* ``keras/src/layers/activations/{activation,elu,leaky_relu,prelu,relu,softmax}_test.py`` ->
  ``torch_impl.nn.Activation`` / ``ELU`` / ``LeakyReLU`` / ``ReLU`` / ``Softmax`` (with ``mask``); PReLU is
  ``torch.nn.PReLU`` with Keras's alpha loaded by ``torch_impl.nn.load_keras_weights`` (channels first). The
  layers' calls are also checked on their functions (``keras_backend.relu(x, alpha, ...)``, ``keras_ops.softmax``).
  A layer's input is float32 (Keras's layer casts a NumPy float64 array to its float32 compute dtype).

Translation rules: Keras's floatx is float32 (torch's default dtype); a NumPy float64 input stays float64, as
``convert_to_tensor`` keeps it. Upstream draws its inputs from the unseeded ``np.random``; here from
``np.random.default_rng`` with a fixed seed per test. Tolerances: ``assertAllClose`` atol = rtol = 1e-6 unless
the test says otherwise; ``assertAlmostEqual`` decimal 3 (Keras's override). ``run_layer_test`` is translated as
its output shape and weight counts; ``run_class_serialization_test`` as the ``get_config``/``from_config``
round trip (with Keras's config where the figures are known). Every upstream ``test*`` method is in
``TRANSLATED`` or ``SKIPPED`` (checked by ``test_inventory``).

Measured (max |got - expected| over each group's assertions, torch 2.13 CPU, 2026-12-07; upstream's tolerance on
the right; "0" is exact). 148 upstream methods: 139 translated, 9 skipped (``SKIPPED``):

===================================================  ==============================  =====================
upstream                                             measured                        tolerance
===================================================  ==============================  =====================
random_test categorical (4 cases), tf_cast_seed      0 (every sample its own row)    1e-6 / 1e-6
random_test dropout (rate 0 / 0.5 / 1)               0 (max exactly 2.0, 51 zeros)   1e-6 / 1e-6
random_test binomial p-hat vs p (3 cases)            3.7e-03 (float16), 1.5e-03      5e-3 / 5e-3
random_test beta mean (3 cases)                      2.1e-03 (float16), 1.8e-03      decimal 2 ; 5e-3 / 5e-3
random_test beta variance (3 cases)                  6.7e-04 (float16), 4.7e-04      decimal 2 ; 5e-3 / 5e-3
random_test shuffle column / row sums                0                               1e-6 / 1e-6
initializer std: RandomNormal / VarianceScaling      2.2e-02 / 1.4e-02               atol 1e-1
initializer std: VS with axes / MHA query kernel     2.5e-03 / 4.0e-04               atol 1e-1
Orthogonal(gain 2) |norm - 2| / |column dot|         4.1e-07 / 1.8e-06               decimal 3
Zeros, Ones, Constant(6.0), Identity(gain 2)         0                               1e-6 / 1e-6
Constant(float64 array) in float32                   2.8e-08                         1e-6 / 1e-6
SeedGenerator-seeded RandomNormal vs keras_random    0                               exact
get(tensor) / get(ndarray)                           0                               1e-6 / 1e-6
activations_test, 223 comparisons (both forms)       1.2e-07 (float32 inputs: selu,  rtol 1e-5, atol 1e-6
                                                     elu, hard_silu); float64 1.8e-15
layers: Activation, ELU, LeakyReLU, PReLU, ReLU call  0                               1e-6 / 1e-6
layers: Softmax call vs upstream's 8-digit table     1.5e-08 (function), 2.0e-08     1e-6 / 1e-6
                                                     (layer)
Softmax layer masks: axis (1, 0) / boolean, fully    1.2e-07 / 4.3e-07 (upstream's   1e-6 / 1e-6
masked row / broadcast (1, 3) and (3,) masks         6-digit table) / 0
ReLU / ELU config round trips, Keras's configs       exact (equal dicts, same call)  equality
===================================================  ==============================  =====================

(softplus / log_sigmoid on [-100, -10]: upstream's reference ``log(1 + exp(x))`` rounds to 0 below x = -37, where
TensorFlow's (and torch_impl's) softplus returns ``exp(x)``; the difference, <= 8.1e-17, is inside atol.)

Bugs found by this translation (fixed; the tests named fail before the fix):

* ``initializers.RandomNormal(seed=keras_random.SeedGenerator(1337))`` (any random initializer) raised ValueError
  ("torch_impl has no keras.random.SeedGenerator"); Keras draws from the generator, one ``next()`` per call, so
  two calls differ and a ``from_config(get_config())`` clone restarts the stream
  (``test_random_normal_seed_generator``, ``test_serialization_with_seed_generator``).
  Checked in a scratch run of Keras 3.15.1: with ``SeedGenerator(1337)``, three successive calls of
  RandomUniform / GlorotUniform equal Keras's bit for bit, RandomNormal / HeNormal / Orthogonal within 3e-7
  (float32; the Box-Muller ulps :mod:`torch_impl.keras_random` documents); Keras's config loads here and back.
* ``initializers.get(tensor)`` / ``get(ndarray)`` raised "Could not interpret initializer identifier"; Keras
  returns an initializer that gives the array (cast to ``dtype``) and raises "Expected `shape` to be ..." on
  another shape (``test_get_method_with_tensor``).
* ``nn.Activation(fn)`` with a callable raised "Unknown activation"; Keras's ``Activation`` takes a function
  (``test_activation_basics``).

Documented difference (not a parity defect): Keras 3.15.1's ``Identity(gain=2).get_config()`` is ``{}`` (the
gain is dropped, a round trip gives gain 1); torch_impl's keeps ``{"gain": 2}``, which Keras's ``from_config``
also reads.

Every test prints ``name got expected max_abs_diff`` for what it asserts.
"""

from __future__ import annotations

import ast
import os

import numpy as np
import pytest
import torch

from torch_impl import _tf_random, initializers, keras_backend, keras_ops
from torch_impl import keras_random as random
from torch_impl.attention import MultiHeadAttention
from torch_impl.nn import (ACTIVATIONS, ELU, Activation, LeakyReLU, ReLU, Softmax, activation, keras_init_,
                           load_keras_weights)

pytestmark = [pytest.mark.usefixtures("one_torch_thread")]  # no Keras import here: no keras marker

TF_INT32_MAX = 2**31 - 1

# ----------------------------------------------------------------------------------------------- inventory

TRANSLATED = {
    # random/random_test.py
    "random_test.py::RandomCorrectnessTest.test_normal": "test_normal",
    "random_test.py::RandomCorrectnessTest.test_uniform": "test_uniform",
    "random_test.py::RandomCorrectnessTest.test_categorical": "test_categorical",
    "random_test.py::RandomCorrectnessTest.test_randint": "test_randint",
    "random_test.py::RandomCorrectnessTest.test_truncated_normal": "test_truncated_normal",
    "random_test.py::RandomCorrectnessTest.test_dropout": "test_dropout",
    "random_test.py::RandomCorrectnessTest.test_dropout_noise_shape": "test_dropout_noise_shape",
    "random_test.py::RandomCorrectnessTest.test_global_seed_generator": "test_global_seed_generator_draws",
    "random_test.py::RandomCorrectnessTest.test_shuffle": "test_shuffle",
    "random_test.py::RandomCorrectnessTest.test_gamma": "test_gamma",
    "random_test.py::RandomCorrectnessTest.test_binomial": "test_binomial",
    "random_test.py::RandomCorrectnessTest.test_beta": "test_beta",
    "random_test.py::RandomBehaviorTest.test_categorical_errors": "test_categorical_errors",
    "random_test.py::RandomBehaviorTest.test_randint_dtype_validation": "test_randint_dtype_validation",
    "random_test.py::RandomBehaviorTest.test_uniform_dtype_validation": "test_uniform_dtype_validation",
    "random_test.py::RandomBehaviorTest.test_tf_cast_seed": "test_tf_cast_seed",
    "random_test.py::RandomDTypeTest.test_normal": "test_dtype_float_draws",
    "random_test.py::RandomDTypeTest.test_uniform": "test_dtype_float_draws",
    "random_test.py::RandomDTypeTest.test_truncated_normal": "test_dtype_float_draws",
    "random_test.py::RandomDTypeTest.test_dropout": "test_dtype_float_draws",
    "random_test.py::RandomDTypeTest.test_gamma": "test_dtype_float_draws",
    "random_test.py::RandomDTypeTest.test_binomial": "test_dtype_float_draws",
    "random_test.py::RandomDTypeTest.test_beta": "test_dtype_float_draws",
    "random_test.py::RandomDTypeTest.test_categorical": "test_dtype_int_draws",
    "random_test.py::RandomDTypeTest.test_randint": "test_dtype_int_draws",
    # random/seed_generator_test.py
    "seed_generator_test.py::SeedGeneratorTest.test_seed_generator_initialization": "test_seed_generator_initialization",
    "seed_generator_test.py::SeedGeneratorTest.test_seed_generator_next": "test_seed_generator_next",
    "seed_generator_test.py::SeedGeneratorTest.test_global_seed_generator": "test_global_seed_generator_is_one",
    "seed_generator_test.py::SeedGeneratorTest.test_make_default_seed": "test_make_default_seed",
    "seed_generator_test.py::SeedGeneratorTest.test_draw_seed_from_seed_generator": "test_draw_seed_from_seed_generator",
    "seed_generator_test.py::SeedGeneratorTest.test_draw_seed_from_integer": "test_draw_seed_from_integer",
    "seed_generator_test.py::SeedGeneratorTest.test_draw_seed_from_large_integer": "test_draw_seed_from_large_integer",
    "seed_generator_test.py::SeedGeneratorTest.test_draw_seed_from_none": "test_draw_seed_from_none",
    "seed_generator_test.py::SeedGeneratorTest.test_draw_seed_invalid": "test_draw_seed_invalid",
    "seed_generator_test.py::SeedGeneratorTest.test_seed_generator_unexpected_kwargs": "test_seed_generator_unexpected_kwargs",
    "seed_generator_test.py::SeedGeneratorTest.test_seed_generator_serialization": "test_seed_generator_serialization",
    # initializers/constant_initializers_test.py
    "constant_initializers_test.py::ConstantInitializersTest.test_zeros_initializer": "test_constant_initializers",
    "constant_initializers_test.py::ConstantInitializersTest.test_ones_initializer": "test_constant_initializers",
    "constant_initializers_test.py::ConstantInitializersTest.test_constant_initializer": "test_constant_initializers",
    "constant_initializers_test.py::ConstantInitializersTest.test_constant_initializer_array_value":
        "test_constant_initializer_array_value",
    "constant_initializers_test.py::ConstantInitializersTest.test_identity_initializer": "test_identity_initializer",
    # initializers/random_initializers_test.py
    "random_initializers_test.py::RandomInitializersTest.test_random_normal":
        "test_random_normal + test_random_normal_seed_generator",
    "random_initializers_test.py::RandomInitializersTest.test_random_uniform": "test_random_uniform",
    "random_initializers_test.py::RandomInitializersTest.test_variance_scaling": "test_variance_scaling",
    "random_initializers_test.py::RandomInitializersTest.test_orthogonal": "test_orthogonal",
    "random_initializers_test.py::RandomInitializersTest.test_get_method": "test_initializers_get_method",
    "random_initializers_test.py::RandomInitializersTest.test_get_method_with_tensor": "test_get_method_with_tensor",
    "random_initializers_test.py::RandomInitializersTest.test_variance_scaling_invalid_scale":
        "test_variance_scaling_invalid_arguments",
    "random_initializers_test.py::RandomInitializersTest.test_variance_scaling_invalid_mode":
        "test_variance_scaling_invalid_arguments",
    "random_initializers_test.py::RandomInitializersTest.test_variance_scaling_invalid_distribution":
        "test_variance_scaling_invalid_arguments",
    "random_initializers_test.py::RandomInitializersTest.test_serialization_with_seed_generator":
        "test_serialization_with_seed_generator",
    "random_initializers_test.py::RandomInitializersTest.test_compute_fans_with_axes": "test_compute_fans_with_axes",
    "random_initializers_test.py::RandomInitializersTest.test_variance_scaling_with_axes":
        "test_variance_scaling_with_axes",
    "random_initializers_test.py::RandomInitializersTest.test_mha_query_projection_variance":
        "test_mha_query_projection_variance",
    "random_initializers_test.py::RandomInitializersTest.test_variance_scaling_serialization_with_axes":
        "test_variance_scaling_serialization_with_axes",
    # layers/activations/*_test.py
    "activation_test.py::ActivationTest.test_activation_basics": "test_activation_basics",
    "elu_test.py::ELUTest.test_elu": "test_elu_layer",
    "elu_test.py::ELUTest.test_correctness": "test_elu_layer",
    "leaky_relu_test.py::LeakyReLUTest.test_leaky_relu": "test_leaky_relu_layer",
    "leaky_relu_test.py::LeakyReLUTest.test_leaky_relu_correctness": "test_leaky_relu_layer",
    "leaky_relu_test.py::LeakyReLUTest.test_invalid_usage": "test_leaky_relu_layer",
    "prelu_test.py::PReLUTest.test_prelu": "test_prelu_layer",
    "prelu_test.py::PReLUTest.test_prelu_correctness": "test_prelu_correctness",
    "relu_test.py::ReLUTest.test_normal_relu_correctness": "test_relu_layer_call",
    "relu_test.py::ReLUTest.test_leaky_relu_correctness": "test_relu_layer_call",
    "relu_test.py::ReLUTest.test_threshold_relu_correctness": "test_relu_layer_call",
    "relu_test.py::ReLUTest.test_default_relu_no_args": "test_relu_layer_call",
    "relu_test.py::ReLUTest.test_relu_none_max_value_is_unlimited": "test_relu_layer_call",
    "relu_test.py::ReLUTest.test_relu_all_zeros_input": "test_relu_layer_call",
    "relu_test.py::ReLUTest.test_relu_multidimensional_input": "test_relu_layer_call",
    "softmax_test.py::SoftmaxTest.test_softmax": "test_softmax_layer_call",
    "softmax_test.py::SoftmaxTest.test_softmax_correctness": "test_softmax_layer_call",
    "softmax_test.py::SoftmaxTest.test_softmax_correctness_with_axis": "test_softmax_layer_call",
    # the layers torch_impl.nn gained since (ReLU, Softmax with a mask, ELU's config)
    "elu_test.py::ELUTest.test_config": "test_elu_config",
    "relu_test.py::ReLUTest.test_relu": "test_relu_layer_basics",
    "relu_test.py::ReLUTest.test_compute_output_shape": "test_relu_layer_basics",
    "relu_test.py::ReLUTest.test_invalid_usage": "test_relu_invalid_arguments",
    "relu_test.py::ReLUTest.test_negative_slope_none_raises": "test_relu_invalid_arguments",
    "relu_test.py::ReLUTest.test_threshold_none_raises": "test_relu_invalid_arguments",
    "relu_test.py::ReLUTest.test_get_config": "test_relu_config",
    "relu_test.py::ReLUTest.test_get_config_default_params": "test_relu_config",
    "relu_test.py::ReLUTest.test_from_config": "test_relu_config",
    "softmax_test.py::SoftmaxTest.test_softmax_correctness_with_mask": "test_softmax_layer_mask",
    "softmax_test.py::SoftmaxTest.test_softmax_masked_values_are_zero_including_fully_masked":
        "test_softmax_layer_mask",
    "softmax_test.py::SoftmaxTest.test_softmax_mask_broadcastable": "test_softmax_layer_mask",
    "softmax_test.py::SoftmaxTest.test_softmax_mask_broadcastable_fewer_dims": "test_softmax_layer_mask",
    "softmax_test.py::SoftmaxTest.test_softmax_mask_shape_mismatch": "test_softmax_mask_errors",
    "softmax_test.py::SoftmaxTest.test_softmax_mask_too_many_dims": "test_softmax_mask_errors",
}

ACTIVATION_METHODS = (  # activations_test.py::ActivationsTest: all translated (test_activation_<name> below)
    "softmax", "softmax_2d_axis_0", "softmax_3d_axis_tuple", "softmax_1d", "softmax_higher_dim",
    "softmax_higher_dim_multiple_axes", "softmax_negative_axis", "temporal_softmax", "log_softmax_2d_axis_0",
    "log_softmax_3d_axis_tuple", "log_softmax_1d", "log_softmax_higher_dim", "log_softmax_higher_dim_multiple_axes",
    "log_softmax_negative_axis", "temporal_log_softmax", "selu", "softplus", "softsign", "sigmoid", "hard_sigmoid",
    "sparse_sigmoid", "log_sigmoid", "hard_silu", "relu_negative_slope", "relu_max_value", "relu_threshold",
    "relu_combined_threshold_and_max_value", "relu_combined_all_parameters", "relu_to_trigger_relu6",
    "relu_to_trigger_leaky", "relu", "leaky_relu", "relu6", "silu", "gelu", "celu", "glu", "tanh_shrink",
    "hard_tanh", "hard_shrink", "threshold", "squareplus", "soft_shrink", "sparse_plus", "elu", "tanh",
    "exponential", "mish", "linear", "sparsemax", "get_method",
)
TRANSLATED.update({f"activations_test.py::ActivationsTest.test_{m}": "test_activations" for m in ACTIVATION_METHODS})

SKIPPED = {
    "random_test.py::RandomBehaviorTest.test_beta_tf_data_compatibility":
        "tf.data pipeline with Keras's DataLayer (TensorFlow only)",
    "random_test.py::RandomBehaviorTest.test_dropout_jax_jit_stateless": "JAX only (skipped on TensorFlow upstream)",
    "random_test.py::RandomBehaviorTest.test_jax_rngkey_seed": "JAX only (skipped on TensorFlow upstream)",
    "random_test.py::RandomBehaviorTest.test_jax_unseed_disallowed_during_tracing":
        "JAX only (skipped on TensorFlow upstream)",
    "seed_generator_test.py::SeedGeneratorTest.test_seed_generator_dtype":
        "the state's backend dtype (random_seed_dtype); torch_impl's state is a (seed, counter) pair of Python ints",
    "seed_generator_test.py::SeedGeneratorTest.test_jax_tracing_with_global_seed_generator": "JAX only",
    "constant_initializers_test.py::ConstantInitializersTest.test_stft_initializer":
        "missing piece: torch_impl.initializers has no STFT initializer (gap)",
    "initializer_test.py::InitializersLayoutTest.test_initializer_with_data_parallel_layout":
        "JAX only (distribution layouts, multi-device)",
    "initializer_test.py::InitializersLayoutTest.test_initializer_with_model_parallel_layout":
        "JAX only (distribution layouts, >= 4 devices)",
}

PARTLY_SKIPPED = {  # parts of translated methods
    "*::run_layer_test": "supports_masking, assert_built_after_instantiation, symbolic KerasTensor calls and the "
                         "layer's serialization: Keras-layer machinery; translated as output shape and weight counts",
    "*::run_class_serialization_test": "Keras's serialize_keras_object registry; translated as the get_config / "
                                       "from_config round trip",
    "random_test.py::test_global_seed_generator (tf.function jit_compile)": "XLA compilation of the draws",
    "random_test.py::test_randint (uint dtypes)": "torch 2.13 has uint16/uint32 tensors: translated, not skipped",
    "prelu_test.py::test_prelu (alpha_regularizer 'L1', alpha_constraint 'MaxNorm')":
        "torch.nn.PReLU takes neither; run_layer_test asserts nothing about them",
    "activation_test.py::test_activation_basics (activations.gelu callable)":
        "the callable given is torch_impl's gelu (ACTIVATIONS['gelu'])",
}


def test_inventory():
    """Every ``test*`` method of the installed upstream files is translated or skipped."""
    import importlib.util

    spec = importlib.util.find_spec("keras")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("keras is not installed: no upstream test files to inventory")
    src = os.path.join(list(spec.submodule_search_locations)[0], "src")
    files = ["random/random_test.py", "random/seed_generator_test.py", "initializers/constant_initializers_test.py",
             "initializers/random_initializers_test.py", "initializers/initializer_test.py",
             "activations/activations_test.py"] + [f"layers/activations/{n}_test.py" for n in
                                                   ("activation", "elu", "leaky_relu", "prelu", "relu", "softmax")]
    upstream = set()
    for rel in files:
        tree = ast.parse(open(os.path.join(src, rel), encoding="utf-8").read())
        upstream |= {f"{os.path.basename(rel)}::{c.name}.{f.name}" for c in tree.body if isinstance(c, ast.ClassDef)
                     for f in c.body if isinstance(f, ast.FunctionDef) and f.name.startswith("test")}
    print(f"upstream {len(upstream)} methods; translated {len(TRANSLATED)}, skipped {len(SKIPPED)}")
    assert upstream - set(TRANSLATED) - set(SKIPPED) == set()
    assert set(TRANSLATED) | set(SKIPPED) == upstream
    assert not set(TRANSLATED) & set(SKIPPED)
    for name in TRANSLATED.values():  # every named translation exists
        for part in name.split(" + "):
            assert part in globals(), part


# ----------------------------------------------------------------------------------------------- helpers


def _np(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        value = value.to(torch.float64) if value.is_floating_point() else value.to(torch.int64)
        return value.numpy()
    return np.asarray(value)


def close(name, got, expected, atol=1e-6, rtol=1e-6) -> float:
    """Keras's ``assertAllClose`` (``np.testing.assert_allclose``); prints ``name got expected max_abs_diff``."""
    g, e = _np(got).astype(np.float64), np.asarray(_np(expected), dtype=np.float64)
    finite = np.isfinite(g) & np.isfinite(np.broadcast_to(e, g.shape))
    diff = float(np.max(np.abs(g - e)[finite])) if finite.any() else 0.0
    rel = float(np.max((np.abs(g - e) / np.maximum(np.abs(e), 1e-300))[finite])) if finite.any() else 0.0
    fmt = (lambda a: np.round(a, 8).tolist()) if g.size <= 12 else (lambda a: f"<array {a.shape}>")
    print(name, fmt(g), fmt(np.broadcast_to(e, g.shape)), f"max_abs {diff:.2e} max_rel {rel:.2e}")
    np.testing.assert_allclose(g, e, atol=atol, rtol=rtol, err_msg=name)
    return diff


def not_close(name, got, expected, atol=1e-6, rtol=1e-6) -> None:
    """Keras's ``assertNotAllClose``."""
    g, e = _np(got).astype(np.float64), np.asarray(_np(expected), dtype=np.float64)
    print(name, "(must differ) max_abs", float(np.max(np.abs(g - e))))
    assert not np.allclose(g, e, atol=atol, rtol=rtol), name


def almost(name, got, expected, decimal=3) -> None:
    """Keras's ``assertAlmostEqual`` (``np.testing.assert_almost_equal``, decimal 3 by default)."""
    g = float(_np(got))
    print(name, g, float(expected), f"abs {abs(g - float(expected)):.2e} (decimal {decimal})")
    np.testing.assert_almost_equal(g, expected, decimal=decimal, err_msg=name)


def _dtype_name(t: torch.Tensor) -> str:
    return str(t.dtype).replace("torch.", "")


def _show(name, value) -> None:
    print(name, value)


# ======================================================================================= random_test.py


@pytest.mark.parametrize("shape,mean,stddev", [((5,), 0, 1), ((2, 3), 0, 1), ((2, 3, 4), 0, 1), ((2, 3), 10, 1),
                                               ((2, 3), 10, 3)])
def test_normal(shape, mean, stddev):
    res = random.normal(shape, mean=mean, stddev=stddev, seed=10)
    _show(f"normal{shape} mean={mean} std={stddev}: shape", tuple(res.shape))
    assert tuple(res.shape) == shape == np.random.normal(loc=mean, scale=stddev, size=shape).shape


@pytest.mark.parametrize("shape,minval,maxval", [((5,), 0, 1), ((2, 3), 0, 1), ((2, 3, 4), 0, 2), ((2, 3), -1, 1),
                                                 ((2, 3), 1, 3)])
def test_uniform(shape, minval, maxval):
    res = random.uniform(shape, minval=minval, maxval=maxval, seed=10)
    _show(f"uniform{shape} [{minval}, {maxval}): min, max", (res.min().item(), res.max().item()))
    assert tuple(res.shape) == shape
    assert res.max() <= maxval and res.max() >= minval  # upstream checks the max against both bounds
    assert res.min() >= minval  # and so, a fortiori, the whole draw lies in the range


@pytest.mark.parametrize("num_samples,batch_size", [(1, 1), (5, 2), (10, 4), (15, 8)])
def test_categorical(num_samples, batch_size):
    # logits that favour the batch index after a softmax
    logits = np.eye(batch_size) * 1e5 + 1e6
    res = random.categorical(logits, num_samples, seed=10)
    assert tuple(res.shape) == (batch_size, num_samples)
    close(f"categorical b={batch_size} n={num_samples}", res,
          np.tile(np.arange(batch_size)[:, None], (1, num_samples)))


@pytest.mark.parametrize("shape,lo,hi,dtype", [((5,), 0, 10, "uint16"), ((2, 3), 0, 10, "uint32"),
                                               ((2, 3, 4), 0, 2, "int8"), ((2, 3), -1, 1, "int16"),
                                               ((2, 3), 1, 3, "int32")])
def test_randint(shape, lo, hi, dtype):
    res = random.randint(shape, minval=lo, maxval=hi, seed=10, dtype=dtype)
    values = res.to(torch.int64)
    _show(f"randint{shape} [{lo}, {hi}) {dtype}", (values.tolist(), _dtype_name(res)))
    assert tuple(res.shape) == shape
    assert values.max() <= hi and values.max() >= lo
    assert values.min() >= lo and values.max() < hi  # the draw lies in [lo, hi)
    assert _dtype_name(res) == dtype


@pytest.mark.parametrize("shape,mean,stddev", [((5,), 0, 1), ((2, 3), 0, 1), ((2, 3, 4), 0, 1), ((2, 3), 10, 1),
                                               ((2, 3), 10, 3), ([2, 3], 10, 3)])
def test_truncated_normal(shape, mean, stddev):
    res = random.truncated_normal(shape, mean=mean, stddev=stddev, seed=10)
    _show(f"truncated_normal{shape} mean={mean} std={stddev}: min, max", (res.min().item(), res.max().item()))
    assert tuple(res.shape) == tuple(shape)
    assert res.max() <= mean + 2 * stddev and res.max() >= mean - 2 * stddev
    assert res.min() >= mean - 2 * stddev  # the truncation holds for every value


def test_dropout():
    x = torch.ones(10, 10)
    close("dropout rate 0", random.dropout(x, rate=0, seed=0), x)
    x_res = random.dropout(x, rate=0.5, seed=0)
    assert x_res.max() > x.max()
    close("dropout rate 0.5 max", x_res.max(), 2.0)
    zeros = int((x_res == 0).sum())
    _show("dropout rate 0.5 zeros", zeros)
    assert zeros > 2
    close("dropout rate 1", random.dropout(x, rate=1.0, seed=0), torch.zeros(10, 10))


def test_dropout_noise_shape():
    x = random.dropout(torch.ones(2, 3, 5, 7), rate=0.3, noise_shape=[None, 3, 5, None], seed=0)
    _show("dropout noise_shape [None, 3, 5, None]: shape", tuple(x.shape))
    assert tuple(x.shape) == (2, 3, 5, 7)


def test_global_seed_generator_draws():
    """Unseeded draws use and advance the global generator: its state is set to (0, 0) and two draws made, three
    times in a row from the state the last left; every state differs and all six draws differ."""
    random.draw_seed(None)  # makes the global generator
    gen = random._GLOBAL["generator"]
    saved = gen.state

    def random_numbers(state):
        gen.state = state
        x = random.normal((), seed=None)
        y = random.normal((), seed=None)
        return float(x), float(y), gen.state

    try:
        seed0 = (0, 0)
        x1, y1, seed1 = random_numbers(seed0)
        x2, y2, seed2 = random_numbers(seed1)
        x3, y3, seed3 = random_numbers(seed2)
    finally:
        gen.state = saved
    _show("global states", [seed0, seed1, seed2, seed3])
    _show("global draws", [x1, y1, x2, y2, x3, y3])
    assert seed0[1] != seed1[1] and seed1[1] != seed2[1] and seed2[1] != seed3[1]
    for a, b in [(x1, y1), (x2, y2), (x3, y3), (x1, x2), (x1, x3), (x2, x3), (y1, y2), (y1, y3), (y2, y3)]:
        assert abs(a - b) > 1e-4


def test_shuffle():
    x = torch.arange(100).reshape(10, 10)
    y = random.shuffle(x, seed=0)
    _show("shuffle axis 0: first column", y[:, 0].tolist())
    assert not torch.equal(x, y)
    close("shuffle axis 0: column sums", y.sum(0), x.sum(0))
    not_close("shuffle axis 0: row sums", y.sum(1), x.sum(1))
    y = random.shuffle(x, axis=1, seed=0)
    _show("shuffle axis 1: first row", y[0].tolist())
    assert not torch.equal(x, y)
    close("shuffle axis 1: row sums", y.sum(1), x.sum(1))
    not_close("shuffle axis 1: column sums", y.sum(0), x.sum(0))


@pytest.mark.parametrize("shape,alpha,dtype", [((5, 2), 2.0, "float16"), ((2,), 1.5, "float32"),
                                               ((2, 3), 0.5, "float32")])
def test_gamma(shape, alpha, dtype):
    values = random.gamma(shape, alpha=alpha, seed=10, dtype=dtype)
    _show(f"gamma{shape} alpha={alpha} {dtype}", (values.float().tolist(), _dtype_name(values)))
    assert tuple(values.shape) == shape
    assert _dtype_name(values) == dtype
    assert values.float().min() > 0.0


@pytest.mark.parametrize("shape,counts,probabilities,dtype", [
    ((5, 2), 5e4, 0.5, "float16"),
    ((2,), 1e5, 0.5, "float32"),
    ((2, 3), [[1e5, 2e5, 3e5], [4e5, 5e5, 6e5]], [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], "float32"),
])
def test_binomial(shape, counts, probabilities, dtype):
    random.set_random_seed(1337)
    values = random.binomial(shape=shape, counts=counts, probabilities=probabilities, seed=10, dtype=dtype)
    assert tuple(values.shape) == shape
    assert _dtype_name(values) == dtype
    values_np = _np(values)
    assert np.greater_equal(np.array(counts), values_np).all()  # no event counted more often than its trials
    generated = values_np / np.array(counts)
    close(f"binomial{shape} {dtype}: p-hat", generated, np.ones(shape) * np.array(probabilities), rtol=0.005,
          atol=0.005)


@pytest.mark.parametrize("shape,alpha,beta,dtype", [
    ((10000,), 3.0, 2.0, "float16"),
    ((10000, 3), [[7.0, 0.5, 1.5]], [[15.0, 0.9, 4.5]], "float32"),
    ((10000, 30), 1.0, 1.0, "float32"),
])
def test_beta(shape, alpha, beta, dtype):
    random.set_random_seed(1337)
    values = random.beta(shape=shape, alpha=alpha, beta=beta, seed=10, dtype=dtype)
    assert tuple(values.shape) == shape
    assert _dtype_name(values) == dtype
    values_np = _np(values)
    assert values_np.min() >= 0.0 and values_np.max() <= 1.0
    is_array = isinstance(alpha, list)
    if is_array:
        alpha, beta = np.array(alpha), np.array(beta)
    expected_mean = alpha / (alpha + beta)
    expected_variance = (alpha * beta) / (np.square(alpha + beta) * (alpha + beta + 1))
    if is_array:
        close(f"beta{shape} mean", np.mean(values_np, axis=0), expected_mean.flatten(), atol=0.005, rtol=0.005)
        close(f"beta{shape} variance", np.var(values_np, axis=0), expected_variance.flatten(), atol=0.005,
              rtol=0.005)
    else:
        almost(f"beta{shape} {dtype} mean", np.mean(values_np.flatten()), expected_mean, decimal=2)
        almost(f"beta{shape} {dtype} variance", np.var(values_np.flatten()), expected_variance, decimal=2)


def test_categorical_errors():
    for logits in (np.ones((5,)), np.ones((5, 5, 5))):
        with pytest.raises(ValueError) as err:
            random.categorical(logits, 5)
        _show(f"categorical logits {logits.shape}", err.value)


def test_randint_dtype_validation():
    with pytest.raises(ValueError, match="`keras.random.randint` requires an integer `dtype`."):
        random.randint((3, 4), minval=0, maxval=10, dtype="float64")


def test_uniform_dtype_validation():
    with pytest.raises(ValueError, match="`keras.random.uniform` requires a floating point `dtype`."):
        random.uniform((3, 4), minval=0, maxval=10, dtype="int64")


def test_tf_cast_seed():
    """TensorFlow's seed floor-mod: ``int32.max + 1000`` draws what 1001 draws (upstream on TensorFlow only, the
    reference backend here)."""
    inputs = torch.ones(2, 3)
    outputs_mod = random.categorical(inputs, 2, seed=TF_INT32_MAX + 1000)
    outputs_nomod = random.categorical(inputs, 2, seed=1001)
    close("categorical seed int32.max + 1000 vs 1001", outputs_mod, outputs_nomod)
    # the same floor-mod under every draw, not only categorical
    assert torch.equal(random.normal((8,), seed=TF_INT32_MAX + 1000), random.normal((8,), seed=1001))


FLOAT_DTYPES = ("bfloat16", "float16", "float32")  # dtypes.FLOAT_TYPES without float64
INT_DTYPES = ("uint8", "uint16", "uint32", "int8", "int16", "int32")  # dtypes.INT_TYPES without (u)int64


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_dtype_float_draws(dtype):
    """RandomDTypeTest's float methods: normal, uniform, truncated_normal, dropout, gamma, binomial, beta."""
    draws = {
        "normal": random.normal((2, 3), dtype=dtype),
        "uniform": random.uniform((2, 3), dtype=dtype),
        "truncated_normal": random.truncated_normal((2, 3), dtype=dtype),
        "dropout": random.dropout(torch.ones(3, 5, dtype=getattr(torch, dtype)), rate=0.8, seed=0),
        "gamma": random.gamma((2, 3), 2.0, dtype=dtype),
        "binomial": random.binomial((2,), 1e5, 0.5, dtype=dtype),
        "beta": random.beta((2, 3), 2.0, 3.0, dtype=dtype),
    }
    got = {k: _dtype_name(v) for k, v in draws.items()}
    _show(f"float draws in {dtype}", got)
    assert set(got.values()) == {dtype}


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_dtype_int_draws(dtype):
    """RandomDTypeTest's integer methods: categorical, randint."""
    cat = random.categorical(np.eye(4) * 1e5 + 1e6, 10, dtype=dtype)
    ri = random.randint((2, 3), 0, 10, dtype=dtype)
    _show(f"int draws in {dtype}", (_dtype_name(cat), _dtype_name(ri)))
    assert _dtype_name(cat) == _dtype_name(ri) == dtype


# ================================================================================ seed_generator_test.py


def test_seed_generator_initialization():
    assert random.SeedGenerator().state is not None
    gen = random.SeedGenerator(seed=12345)
    _show("SeedGenerator(12345).state", gen.state)
    assert gen.state[0] == 12345
    with pytest.raises(ValueError, match="Argument `seed` must be an integer"):
        random.SeedGenerator(seed="invalid_seed")


def test_seed_generator_next():
    gen = random.SeedGenerator(seed=42)
    seed1, seed2 = gen.next(), gen.next()
    _show("next(), next()", (seed1, seed2))
    assert seed1 != seed2
    # the property the stream rests on: a generator's draws differ, a new generator repeats them
    a, b = random.normal((4,), seed=random.SeedGenerator(42)), random.normal((4,), seed=gen)
    assert not torch.equal(a, b)
    assert torch.equal(a, random.normal((4,), seed=random.SeedGenerator(42)))


def test_global_seed_generator_is_one():
    """``global_seed_generator()`` returns one generator: torch_impl keeps it in the module; successive seedless
    draws read successive states of that one generator (Keras's unordered step ``(v + 1) * 5387 % 933199``)."""
    random.draw_seed(None)
    gen1 = random._GLOBAL["generator"]
    state = gen1.state
    pair = random.draw_seed(None)
    gen2 = random._GLOBAL["generator"]
    _show("global generator state, drawn pair, next state", (state, pair, gen2.state))
    assert gen1 is gen2
    assert pair == (state[0] % _tf_random.SEED_MOD, state[1] % _tf_random.SEED_MOD)
    assert gen2.state == tuple((v + 1) * 5387 % 933199 for v in state)


def test_make_default_seed():
    seed1, seed2 = random.SeedGenerator().state[0], random.SeedGenerator().state[0]
    _show("make_default_seed twice", (seed1, seed2))
    assert seed1 != seed2
    assert 1 <= seed1 <= 10**9 and 1 <= seed2 <= 10**9  # random.randint(1, 1e9)


def test_draw_seed_from_seed_generator():
    gen = random.SeedGenerator(seed=42)
    seed1 = random.draw_seed(gen)
    _show("draw_seed(SeedGenerator(42)), state after", (seed1, gen.state))
    assert seed1 == (42, 0) and gen.state == (42, 1)


def test_draw_seed_from_integer():
    seed2 = random.draw_seed(12345)
    _show("draw_seed(12345)", seed2)
    assert seed2 == (12345, 0) and all(isinstance(v, int) for v in seed2)


def test_draw_seed_from_large_integer():
    for s in [2**31 - 1, 2**31, 2**32 - 1]:
        seed = random.draw_seed(s)
        _show(f"draw_seed({s})", seed)
        assert 0 <= seed[0] < 2**31 - 2  # TensorFlow's floor-mod by 2**31 - 2: no overflow, no sign flip
        res = random.uniform((2, 2), seed=s)
        assert tuple(res.shape) == (2, 2)
        assert torch.equal(res, random.uniform((2, 2), seed=s % (2**31 - 2)))


def test_draw_seed_from_none():
    seed3 = random.draw_seed(None)
    _show("draw_seed(None)", seed3)
    assert len(seed3) == 2 and all(isinstance(v, int) for v in seed3)


def test_draw_seed_invalid():
    with pytest.raises(ValueError, match="Argument `seed` must be either an integer"):
        random.draw_seed("invalid_seed")


def test_seed_generator_unexpected_kwargs():
    with pytest.raises(ValueError, match="Unrecognized keyword arguments"):
        random.SeedGenerator(invalid_arg="unexpected_value")


def test_seed_generator_serialization():
    gen = random.SeedGenerator(seed=42, name="sg")
    config = gen.get_config()
    revived = random.SeedGenerator.from_config(config)
    _show("SeedGenerator config, revived config", (config, revived.get_config()))
    assert config == {"seed": 42, "name": "sg"}  # Keras 3.15.1's get_config
    assert revived.get_config() == config and revived.state == gen.state


# ============================================================================= constant_initializers_test.py


@pytest.mark.parametrize("cls,kwargs,fill,keras_config", [
    (initializers.Zeros, {}, 0.0, {}),
    (initializers.Ones, {}, 1.0, {}),
    (initializers.Constant, {"value": 6.0}, 6.0, {"value": 6.0}),
])
def test_constant_initializers(cls, kwargs, fill, keras_config):
    initializer = cls(**kwargs)
    values = initializer(shape=(3, 3))
    assert tuple(values.shape) == (3, 3)
    close(f"{cls.__name__}({kwargs})", values, np.full((3, 3), fill))
    config = initializer.get_config()
    assert config == keras_config and cls.from_config(config).get_config() == config


def test_constant_initializer_array_value():
    constant_value = np.random.default_rng(0).random((3, 3))
    initializer = initializers.Constant(value=constant_value)
    values = initializer(shape=(3, 3))
    assert tuple(values.shape) == (3, 3)
    close("Constant(array)", values, np.full((3, 3), constant_value))
    revived = initializers.Constant.from_config(initializer.get_config())
    close("Constant(array) revived", revived(shape=(3, 3)), values, atol=0, rtol=0)


def test_identity_initializer():
    initializer = initializers.Identity(gain=2)
    values = initializer(shape=(3, 3))
    assert tuple(values.shape) == (3, 3)
    close("Identity(gain=2)", values, np.eye(3) * 2)
    revived = initializers.Identity.from_config(initializer.get_config())
    close("Identity revived", revived(shape=(3, 3)), values, atol=0, rtol=0)
    _show("Identity config (Keras 3.15.1's: {} -- it drops the gain)", initializer.get_config())
    assert isinstance(initializers.get("IdentityInitializer"), initializers.Identity)


# =============================================================================== random_initializers_test.py


def test_random_normal():
    random.set_random_seed(1337)
    shape = (25, 20)
    initializer = initializers.RandomNormal(mean=0.0, stddev=1.0, seed=1234)
    values = initializer(shape=shape)
    assert (initializer.mean, initializer.stddev, initializer.seed) == (0.0, 1.0, 1234)
    assert tuple(values.shape) == shape
    close("RandomNormal std", np.std(_np(values)), 1.0, atol=1e-1)
    config = initializer.get_config()
    assert config == {"seed": 1234, "mean": 0.0, "stddev": 1.0}  # Keras 3.15.1's
    assert initializers.RandomNormal.from_config(config).get_config() == config

    # a fixed seed yields the same results each call
    initializer = initializers.RandomNormal(mean=0.0, stddev=1.0, seed=1337)
    close("RandomNormal seed 1337 twice", initializer(shape=shape), initializer(shape=shape))

    # an unseeded initializer gets different results after cloning
    initializer = initializers.RandomNormal(mean=0.0, stddev=1.0, seed=None)
    values = initializer(shape=shape)
    cloned = initializers.RandomNormal.from_config(initializer.get_config())
    not_close("RandomNormal unseeded vs its clone", cloned(shape=shape), values)

    # a seeded initializer gets the same results after cloning
    initializer = initializers.RandomNormal(mean=0.0, stddev=1.0, seed=1337)
    values = initializer(shape=shape)
    cloned = initializers.RandomNormal.from_config(initializer.get_config())
    close("RandomNormal seed 1337 vs its clone", cloned(shape=shape), values)


def test_random_normal_seed_generator():
    """The ``SeedGenerator`` part of ``test_random_normal``: a generator seed gives different results each call
    (one ``next()`` per call: the draws of ``keras_random.normal`` with the same generator)."""
    shape = (25, 20)
    gen = random.SeedGenerator(1337)
    initializer = initializers.RandomNormal(mean=0.0, stddev=1.0, seed=gen)
    values = initializer(shape=shape)
    next_values = initializer(shape=shape)
    not_close("RandomNormal(SeedGenerator(1337)) call 1 vs call 2", next_values, values)
    _show("generator state after two calls", gen.state)
    assert gen.state == (1337, 2)
    ref = random.SeedGenerator(1337)
    close("call 1 = keras_random.normal(seed=SeedGenerator(1337)) 1st", values,
          random.normal(shape, 0.0, 1.0, seed=ref), atol=0, rtol=0)
    close("call 2 = 2nd draw", next_values, random.normal(shape, 0.0, 1.0, seed=ref), atol=0, rtol=0)
    # serialization with a SeedGenerator: Keras's config, and a clone restarts the stream
    initializer = initializers.RandomNormal(mean=0.0, stddev=1.0, seed=random.SeedGenerator(1337))
    first = initializer(shape=shape)
    config = initializer.get_config()
    _show("config with a SeedGenerator", config)
    assert config["seed"]["class_name"] == "SeedGenerator" and config["seed"]["config"]["seed"] == 1337
    close("clone's first call = original's first", initializers.RandomNormal.from_config(config)(shape=shape),
          first, atol=0, rtol=0)


def test_random_uniform():
    initializer = initializers.RandomUniform(minval=-1.0, maxval=1.0, seed=1234)
    values = initializer(shape=(5, 5))
    assert (initializer.minval, initializer.maxval, initializer.seed) == (-1.0, 1.0, 1234)
    assert tuple(values.shape) == (5, 5)
    _show("RandomUniform [-1, 1): min, max", (values.min().item(), values.max().item()))
    assert values.min() >= -1.0 and values.max() < 1.0
    config = initializer.get_config()
    assert config == {"seed": 1234, "minval": -1.0, "maxval": 1.0}
    assert initializers.RandomUniform.from_config(config).get_config() == config


def test_variance_scaling():
    random.set_random_seed(1337)
    shape = (25, 20)
    for mode, fan in (("fan_in", 25), ("fan_out", 20)):
        initializer = initializers.VarianceScaling(scale=2.0, seed=1234, mode=mode)
        values = initializer(shape=shape)
        assert (initializer.scale, initializer.seed) == (2.0, 1234)
        assert tuple(values.shape) == shape
        close(f"VarianceScaling({mode}) std", np.std(_np(values)), np.sqrt(2.0 / fan), atol=1e-1)
        config = initializer.get_config()
        assert config == {"seed": 1234, "scale": 2.0, "mode": mode, "distribution": "truncated_normal",
                          "input_axes": None, "output_axes": None}
        assert initializers.VarianceScaling.from_config(config).get_config() == config


def test_orthogonal():
    initializer = initializers.Orthogonal(gain=2.0, seed=1234)
    values = initializer(shape=(5, 5))
    assert (initializer.seed, initializer.gain) == (1234, 2.0)
    assert tuple(values.shape) == (5, 5)
    array = _np(values)
    worst_norm = max(abs(np.linalg.norm(c) - 2.0) for c in array.T)
    worst_dot = max(abs(np.dot(array[..., i], array[..., j])) for i in range(5) for j in range(i + 1, 5))
    for column in array.T:
        np.testing.assert_almost_equal(np.linalg.norm(column), 2.0, decimal=3)
    for i in range(5):
        for j in range(i + 1, 5):
            np.testing.assert_almost_equal(np.dot(array[..., i], array[..., j]), 0.0, decimal=3)
    _show("Orthogonal worst |norm - gain|, worst |dot|", (worst_norm, worst_dot))
    config = initializer.get_config()
    assert config == {"seed": 1234, "gain": 2.0}
    assert initializers.Orthogonal.from_config(config).get_config() == config
    assert isinstance(initializers.get("OrthogonalInitializer"), initializers.Orthogonal)


def test_initializers_get_method():
    assert isinstance(initializers.get("glorot_normal"), initializers.GlorotNormal)
    assert initializers.get(None) is None
    with pytest.raises(ValueError):
        initializers.get("typo")


def test_get_method_with_tensor():
    shape = (5, 5)
    tensor = random.uniform(shape=shape)
    initializer = initializers.get(tensor)
    close("get(tensor)", initializer(shape=shape), tensor)
    array = np.random.default_rng(1).uniform(size=shape).astype("float32")
    initializer = initializers.get(array)
    close("get(ndarray)", initializer(shape=shape), array)
    with pytest.raises(ValueError, match=r"Expected `shape` to be"):
        initializer(shape=(10, 10))


def test_variance_scaling_invalid_arguments():
    with pytest.raises(ValueError, match="Argument `scale` must be positive float."):
        initializers.VarianceScaling(scale=-1.0, seed=1234, mode="fan_in")
    with pytest.raises(ValueError, match="Invalid `mode` argument:"):
        initializers.VarianceScaling(scale=2.0, seed=1234, mode="invalid_mode")
    with pytest.raises(ValueError, match="Invalid `distribution` argument:"):
        initializers.VarianceScaling(scale=2.0, seed=1234, mode="fan_in", distribution="invalid_dist")


@pytest.mark.parametrize("cls", [initializers.Orthogonal, initializers.VarianceScaling, initializers.RandomUniform,
                                 initializers.RandomNormal])
def test_serialization_with_seed_generator(cls):
    initializer = cls(seed=random.SeedGenerator())
    config = initializer.get_config()
    revived = cls.from_config(config)
    _show(f"{cls.__name__}(seed=SeedGenerator()) config", config)
    assert revived.get_config() == config
    # an unseeded generator's config has seed None (Keras's): the clone draws its own seed
    assert config["seed"]["config"]["seed"] is None
    assert revived(shape=(4, 4)).shape == (4, 4)


def test_compute_fans_with_axes():
    shape = (512, 8, 64)
    got = initializers.compute_fans(shape, input_axes=[0], output_axes=[1, 2])
    _show("compute_fans (512, 8, 64) in [0] out [1, 2]", got)
    assert got == (512, 512)
    got = initializers.compute_fans(shape, input_axes=[0, 1], output_axes=[2])
    _show("compute_fans (512, 8, 64) in [0, 1] out [2]", got)
    assert got == (512 * 8, 64)


def test_variance_scaling_with_axes():
    random.set_random_seed(1337)
    shape = (32, 4, 16)
    initializer = initializers.VarianceScaling(scale=2.0, seed=1234, mode="fan_in", input_axes=[0],
                                               output_axes=[1, 2])
    values = initializer(shape=shape)
    assert tuple(values.shape) == shape
    close("VarianceScaling axes std", np.std(_np(values)), np.sqrt(2.0 / 32), atol=1e-1)
    values = initializers.VarianceScaling(scale=2.0, seed=1234, mode="fan_in")(shape=shape)
    close("VarianceScaling no-axes std", np.std(_np(values)), np.sqrt(2.0 / 128), atol=1e-1)


def test_mha_query_projection_variance():
    """kernel_initializer="lecun_normal": the query kernel's fan in is the input width (EinsumDense's axes). After
    the seed the kernel is Keras's own (std 0.17637862 in a scratch run of Keras 3.15.1, the same here)."""
    random.set_random_seed(1337)
    num_heads, key_dim, dim = 8, 16, 32
    mha = MultiHeadAttention(dim, num_heads=num_heads, key_dim=key_dim, kernel_initializer="lecun_normal")
    kernel = mha.query_kernel
    assert tuple(kernel.shape) == (dim, num_heads, key_dim)
    close("MHA query kernel std (lecun_normal, fan in 32)", np.std(_np(kernel)), np.sqrt(1.0 / dim), atol=1e-1)


def test_variance_scaling_serialization_with_axes():
    initializer = initializers.VarianceScaling(input_axes=[0], output_axes=[1, 2])
    config = initializer.get_config()
    assert config == {"seed": None, "scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal",
                      "input_axes": [0], "output_axes": [1, 2]}  # Keras 3.15.1's
    assert initializers.VarianceScaling.from_config(config).get_config() == config


# ====================================================================================== activations_test.py


def _forms(name: str, ops_name: str | None = None):
    """torch_impl's forms of ``keras.activations.<name>``: the by-name function and the ``keras_ops`` one."""
    forms = []
    if name in ACTIVATIONS:
        forms.append((f"ACTIVATIONS[{name!r}]", ACTIVATIONS[name]))
    op = getattr(keras_ops, ops_name or name, None)
    if op is not None:
        forms.append((f"keras_ops.{ops_name or name}", op))
    assert forms, name
    return forms


def _t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a))


def _ref_softmax(values):
    e = np.exp(values - np.max(values))
    return e / np.sum(e)


def _ref_log_softmax(values):
    s = values - np.max(values)
    return s - np.log(np.sum(np.exp(s)))


def _ref_softplus(x):
    return np.log(np.ones_like(x) + np.exp(x))


def _ref_sigmoid(x):
    return 1 / (1 + np.exp(-x)) if x >= 0 else np.exp(x) / (1 + np.exp(x))


def _ref_hard_sigmoid(x):
    x = x / 6.0 + 0.5
    return 0.0 if x <= 0 else (1.0 if x >= 1 else x)


def _ref_sparse_sigmoid(x):
    return np.where(x <= -1, 0, np.where(x >= 1, 1, 0.5 * (x + 1)))


def _ref_hard_silu(x):
    return x * np.minimum(np.maximum(0.0, x + 3.0), 6.0) * (1.0 / 6.0)


def _ref_leaky_relu(x, alpha=0.2):
    return x if x > 0 else alpha * x


def _ref_relu6(x):
    return min(max(0, x), 6)


def _ref_silu(x):
    return x / (1 + np.exp(-x))


def _ref_softsign(x):
    return np.divide(x, np.ones_like(x) + np.absolute(x))


def _ranges(rng, f32=False):
    """The inputs upstream's elementwise tests sweep: (label, array)."""
    cast = (lambda a: a.astype("float32")) if f32 else (lambda a: a)
    return [("(0,1) 2x5", cast(rng.uniform(0, 1, (2, 5)))), ("1d", cast(rng.uniform(-10, 10, 5))),
            ("3d", cast(rng.uniform(-10, 10, (3, 3, 3)))), ("near 0", cast(rng.uniform(-1e-7, 1e-7, (2, 5)))),
            ("large +", cast(rng.uniform(10, 100, (2, 5)))), ("large -", cast(rng.uniform(-100, -10, (2, 5))))]


def _run(method, form_name, fn, x, expected, rtol=1e-5, atol=1e-6, worst=None):
    got = fn(_t(x))
    assert tuple(got.shape) == np.shape(expected), (method, form_name)
    d = close(f"{method} {form_name}", got, expected, atol=atol, rtol=rtol)
    if worst is not None:
        worst.append(d)


def test_activations():
    """Every method of ``activations_test.py::ActivationsTest``, on every torch_impl form of the activation."""
    rng = np.random.default_rng(2026)
    worst: list = []
    run = lambda *a, **k: _run(*a, worst=worst, **k)  # noqa: E731

    # --- softmax / log_softmax, with axes
    for kind, ref in (("softmax", _ref_softmax), ("log_softmax", _ref_log_softmax)):
        fn_axis = getattr(keras_ops, kind)
        x = rng.random((2, 5))
        for form, fn in _forms(kind):
            if kind == "softmax":  # test_softmax: default axis on x[np.newaxis]
                run("test_softmax", form, lambda t: fn(t)[0], x[np.newaxis, :],
                    np.stack([_ref_softmax(x[0]), _ref_softmax(x[1])]))
        exp = np.zeros((2, 5))
        for i in range(5):
            exp[:, i] = ref(x[:, i])
        run(f"test_{kind}_2d_axis_0", f"keras_ops.{kind}(axis=1)", lambda t: fn_axis(t, axis=1)[0], x[np.newaxis],
            exp)
        x3 = rng.random((2, 3, 5))
        run(f"test_{kind}_3d_axis_tuple", f"keras_ops.{kind}(axis=(1, 2))", lambda t: fn_axis(t, axis=(1, 2)), x3,
            np.stack([ref(x3[i]) for i in range(2)]))
        x1 = rng.random(5)
        for form, fn in _forms(kind):
            run(f"test_{kind}_1d", form, fn, x1, ref(x1))
        x4 = rng.random((2, 3, 4, 5))
        run(f"test_{kind}_higher_dim", f"keras_ops.{kind}(axis=(2, 3))", lambda t: fn_axis(t, axis=(2, 3)), x4,
            np.stack([np.stack([ref(x4[i, j]) for j in range(3)]) for i in range(2)]))
        x5 = rng.random((2, 3, 4, 5, 6))
        run(f"test_{kind}_higher_dim_multiple_axes", f"keras_ops.{kind}(axis=(2, 3, 4))",
            lambda t: fn_axis(t, axis=(2, 3, 4)), x5,
            np.stack([np.stack([ref(x5[i, j]) for j in range(3)]) for i in range(2)]))
        xn = rng.random((2, 5))
        run(f"test_{kind}_negative_axis", f"keras_ops.{kind}(axis=-1)", lambda t: fn_axis(t, axis=-1), xn,
            np.stack([ref(xn[i]) for i in range(2)]))
        xt = rng.random((2, 2, 3)) * 10
        for form, fn in _forms(kind):
            got = fn(_t(xt[np.newaxis]))[0]
            worst.append(close(f"test_temporal_{kind} {form}", got[0, 0], ref(xt[0, 0]), rtol=1e-5))

    # --- selu, elu (floatx inputs for the negative part)
    scale, alpha = 1.0507009873554804934193349852946, 1.6732632423543772848170429916717
    pos = np.array([[1, 2]], dtype="float32")
    neg = np.array([[-1, -2]], dtype="float32")
    for form, fn in _forms("selu"):
        run("test_selu +", form, lambda t: fn(t)[0], pos[np.newaxis], pos * scale)
        run("test_selu -", form, lambda t: fn(t)[0], neg[np.newaxis], (np.exp(neg) - 1) * scale * alpha, rtol=1e-6)
    x = rng.random((2, 5))
    for form, fn in _forms("elu"):
        run("test_elu +", form, lambda t: fn(t)[0], x[np.newaxis], x)
        run("test_elu -", form, lambda t: fn(t)[0], neg[np.newaxis], np.exp(neg) - 1, rtol=1e-6)

    # --- elementwise functions over upstream's input ranges
    elementwise = {
        "softplus": np.vectorize(_ref_softplus), "softsign": np.vectorize(_ref_softsign),
        "sigmoid": np.vectorize(_ref_sigmoid), "log_sigmoid": np.vectorize(lambda v: -_ref_softplus(-v)),
        "tanh": np.tanh, "exponential": np.exp, "mish": lambda v: v * np.tanh(_ref_softplus(v)),
    }
    for name, ref in elementwise.items():
        sweep = _ranges(rng)
        if name in ("tanh", "exponential", "mish"):  # these sweep [1e4, 1e5] as their large values
            sweep = sweep[:4] + [("(-10,10) 2x5", rng.uniform(-10, 10, (2, 5))), ("(0,10)", rng.uniform(0, 10, (2, 5))),
                                 ("(-10,0)", rng.uniform(-10, 0, (2, 5))), ("large", rng.uniform(1e4, 1e5, (2, 5)))]
        if name == "log_sigmoid":
            sweep = [s for s in sweep if s[0] != "near 0"]
        with np.errstate(over="ignore"):
            for label, xs in sweep:
                for form, fn in _forms(name, "exp" if name == "exponential" else None):
                    run(f"test_{name} {label}", form, fn, xs, ref(xs))
    for label, xs in [s for s in _ranges(rng) if s[0] in ("(0,1) 2x5", "1d", "3d")] + \
            [("(5,10)", rng.uniform(5, 10, (2, 5)))]:
        for form, fn in _forms("hard_sigmoid"):
            run(f"test_hard_sigmoid {label}", form, fn, xs, np.vectorize(_ref_hard_sigmoid)(xs))
    for label, xs in [s for s in _ranges(rng) if s[0] != "near 0"]:
        for form, fn in _forms("sparse_sigmoid"):
            run(f"test_sparse_sigmoid {label}", form, fn, xs, _ref_sparse_sigmoid(xs))
    for label, xs in [("(-3,3)", rng.uniform(-3, 3, (2, 5))), ("1d", rng.uniform(-10, 10, 5)),
                      ("3d", rng.uniform(-10, 10, (3, 3, 3))), ("(5,10)", rng.uniform(5, 10, (2, 5))),
                      ("(-10,-5)", rng.uniform(-10, -5, (2, 5)))]:
        xs = xs.astype("float32")
        for form, fn in _forms("hard_silu"):
            run(f"test_hard_silu {label}", form, fn, xs, np.vectorize(_ref_hard_silu)(xs))

    # --- relu with arguments (keras.activations.relu = K.relu's algorithm) and the plain forms
    xr = np.array([-10, -5, 0.0, 5, 10])
    relu_cases = [
        ("test_relu_negative_slope", dict(alpha=0.5), [-5.0, -2.5, 0.0, 5.0, 10.0]),
        ("test_relu_max_value", dict(max_value=5.0), [0.0, 0.0, 0.0, 5.0, 5.0]),
        ("test_relu_threshold", dict(threshold=5.0), [-0.0, -0.0, 0.0, 0.0, 10.0]),
        ("test_relu_combined_threshold_and_max_value", dict(threshold=5.0, max_value=5.0), [0.0, 0.0, 0.0, 0.0, 5.0]),
        ("test_relu_combined_all_parameters", dict(alpha=0.5, max_value=5.0, threshold=5.0),
         [-7.5, -5.0, -2.5, 0.0, 5.0]),
        ("test_relu_to_trigger_leaky", dict(alpha=0.5), [-5.0, -2.5, 0.0, 5.0, 10.0]),
    ]
    for method, kw, expected in relu_cases:
        run(method, f"keras_backend.relu({kw})", lambda t: keras_backend.relu(t, **kw), xr, np.array(expected))
    x6 = np.array([-10, -5, 0.0, 5, 10, 12])
    run("test_relu_to_trigger_relu6", "keras_backend.relu(max_value=6.0)",
        lambda t: keras_backend.relu(t, max_value=6.0), x6, np.array([0.0, 0.0, 0.0, 5.0, 6.0, 6.0]))
    relu_inputs = [("(0.1,10)", rng.uniform(0.1, 10, (2, 5))), ("(-10,-0.1)", rng.uniform(-10, -0.1, (2, 5))),
                   ("1d", rng.uniform(-10, 10, 5)), ("3d", rng.uniform(-10, 10, (3, 3, 3))),
                   ("near 0", rng.uniform(-1e-7, 1e-7, (2, 5))), ("large +", rng.uniform(1e4, 1e5, (2, 5))),
                   ("large -", rng.uniform(-1e5, -1e4, (2, 5)))]
    for label, xs in relu_inputs:
        for form, fn in _forms("relu") + [("keras_backend.relu", keras_backend.relu)]:
            run(f"test_relu {label}", form, fn, xs, np.maximum(0, xs))
    for slope in (0.01, 0.3):
        for label, xs in [("(0,1)", rng.random((2, 5))), ("(-1,0)", rng.uniform(-1, 0, (2, 5)))]:
            run(f"test_leaky_relu slope {slope} {label}", f"keras_ops.leaky_relu(negative_slope={slope})",
                lambda t: keras_ops.leaky_relu(t[None], negative_slope=slope)[0], xs,
                np.vectorize(_ref_leaky_relu)(xs, alpha=slope))
    for label, xs in [("(0,5.9)", rng.uniform(0, 5.9, (2, 5))), ("(6.1,10)", rng.uniform(6.1, 10, (2, 5))),
                      ("(-1,0)", rng.uniform(-1, 0, (2, 5)))]:
        for form, fn in _forms("relu6"):
            run(f"test_relu6 {label}", form, fn, xs, np.vectorize(_ref_relu6)(xs))
    for label, xs in [("(0,5.9)", rng.uniform(0, 5.9, (2, 5))), ("(-1,1)", rng.uniform(-1, 1, (2, 5))),
                      ("(-5.9,0)", rng.uniform(-5.9, 0, (2, 5)))]:
        for form, fn in _forms("silu"):
            run(f"test_silu {label}", form, fn, xs, np.vectorize(_ref_silu)(xs))

    # --- gelu, celu, glu and the shrink family (upstream: np.random.random((2, 5)) inputs)
    from scipy.stats import norm

    x = rng.random((2, 5))
    for form, fn in [("ACTIVATIONS['gelu']", ACTIVATIONS["gelu"]),
                     ("keras_ops.gelu(approximate=False)", lambda t: keras_ops.gelu(t, approximate=False))]:
        run("test_gelu exact", form, fn, x, x * norm.cdf(x))
    run("test_gelu approximate", "keras_ops.gelu(approximate=True)", lambda t: keras_ops.gelu(t, approximate=True),
        x, 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * np.power(x, 3)))))
    celu = lambda v, a=1.0: np.maximum(v, 0.0) + a * np.expm1(np.minimum(v, 0.0) / a)  # noqa: E731
    for form, fn in _forms("celu"):
        run("test_celu", form, fn, x, celu(x))
    run("test_celu alpha 0.5", "keras_ops.celu(alpha=0.5)", lambda t: keras_ops.celu(t, alpha=0.5), x, celu(x, 0.5))
    xg = rng.random((2, 4))

    def glu(v, axis=-1):
        a, b = np.split(v, 2, axis)
        return a * (1 / (1 + np.exp(-b)))

    for form, fn in _forms("glu"):
        run("test_glu", form, fn, xg, glu(xg))
    run("test_glu axis -2", "keras_ops.glu(axis=-2)", lambda t: keras_ops.glu(t, axis=-2), xg, glu(xg, axis=-2))
    refs = {
        "tanh_shrink": lambda v: v - np.tanh(v), "hard_tanh": lambda v: np.clip(v, -1.0, 1.0),
        "hard_shrink": lambda v: np.where(np.abs(v) > 0.5, v, 0.0),
        "squareplus": lambda v: (v + np.sqrt(v**2 + 4)) / 2,
        "soft_shrink": lambda v: np.where(v > 0.5, v - 0.5, np.where(v < -0.5, v + 0.5, 0.0)),
        "sparse_plus": lambda v: np.where(v <= -1, np.zeros_like(v), np.where(v < 1, 0.25 * (v + 1) ** 2, v)),
    }
    for name, ref in refs.items():
        xs = rng.random((2, 5))
        for form, fn in _forms(name):
            run(f"test_{name}", form, fn, xs, ref(xs))
    xs = rng.random((2, 5))
    run("test_threshold", "keras_ops.threshold(x, 0, 0)", lambda t: keras_ops.threshold(t, 0, 0), xs,
        np.where(xs > 0, xs, 0.0))

    # --- linear (any dtype, int32 included)
    for label, xs in [("(0,1)", rng.random((10, 5))), ("1d", rng.uniform(-10, 10, 5)),
                      ("3d", rng.uniform(-10, 10, (5, 5, 5))),
                      ("float32", rng.uniform(-10, 10, (10, 5)).astype(np.float32)),
                      ("int32", rng.integers(-10, 10, (10, 5)).astype(np.int32))]:
        got = ACTIVATIONS["linear"](_t(xs))
        assert got.dtype == _t(xs).dtype
        worst.append(close(f"test_linear {label}", got, xs))

    # --- sparsemax
    x1 = np.linspace(1, 12, num=12)
    cases = [("1d", x1, -1, np.eye(12)[-1]), ("2d", x1.reshape(-1, 2), -1, np.tile([0.0, 1.0], (6, 1))),
             ("3d", x1.reshape(-1, 1, 3), -1, np.tile([0.0, 0.0, 1.0], (4, 1, 1)))]
    for label, xs, axis, expected in cases:
        for form, fn in _forms("sparsemax"):
            run(f"test_sparsemax {label}", form, fn, xs, expected)
    e = np.zeros((6, 2))
    e[-1, :] = 1.0
    e3 = np.zeros((4, 1, 3))
    e3[-1] = 1.0
    for label, xs, axis, expected in [("2d axis -2", x1.reshape(-1, 2), -2, e),
                                      ("3d axis -2", x1.reshape(-1, 1, 3), -2, np.ones((4, 1, 3))),
                                      ("3d axis -3", x1.reshape(-1, 1, 3), -3, e3),
                                      ("4d axis -3", x1.reshape(-1, 1, 1, 2), -3, np.ones((6, 1, 1, 2)))]:
        run(f"test_sparsemax {label}", f"keras_ops.sparsemax(axis={axis})",
            lambda t: keras_ops.sparsemax(t, axis=axis), xs, expected)

    # --- get
    assert activation("relu") is ACTIVATIONS["relu"]
    assert activation(None) is ACTIVATIONS["linear"]
    with pytest.raises(ValueError):
        activation("typo")
    print(f"activations_test: {len(worst)} comparisons, worst abs diff {max(worst):.2e}")


# ======================================================================= layers/activations/*_test.py


def _counts(layer: torch.nn.Module) -> tuple:
    trainable = sum(1 for p in layer.parameters() if p.requires_grad)
    non_trainable = sum(1 for p in layer.parameters() if not p.requires_grad) + sum(1 for _ in layer.buffers())
    seeds = sum(1 for m in layer.modules() if isinstance(m, _tf_random.SeedGenerator))
    return trainable, non_trainable, seeds


def test_activation_basics():
    rng = np.random.default_rng(3)
    for arg, shape in (("relu", (2, 3)), (ACTIVATIONS["gelu"], (2, 2))):
        layer = Activation(arg)
        x = torch.as_tensor(rng.standard_normal(shape), dtype=torch.float32)
        out = layer(x)
        _show(f"Activation({getattr(arg, '__name__', arg)}): shape, counts", (tuple(out.shape), _counts(layer)))
        assert tuple(out.shape) == shape and _counts(layer) == (0, 0, 0)
        fn = ACTIVATIONS[arg] if isinstance(arg, str) else arg
        close(f"Activation({getattr(arg, '__name__', arg)}) values", out, fn(x), atol=0, rtol=0)


def test_elu_layer():
    layer = ELU()
    out = layer(torch.randn(2, 3, 4))
    assert tuple(out.shape) == (2, 3, 4) and _counts(layer) == (0, 0, 0)
    x = np.random.default_rng(4).random((2, 2, 5))

    def np_elu(v, alpha=1.0):
        return (v > 0) * v + (v <= 0) * alpha * (np.exp(v) - 1)

    close("ELU()", ELU()(_t(x)), np_elu(x))
    close("ELU(alpha=0.7)", ELU(alpha=0.7)(_t(x)), np_elu(x, alpha=0.7))
    xn = x - 0.5  # beyond upstream: the negative branch too
    close("ELU(alpha=0.7) on x - 0.5", ELU(alpha=0.7)(_t(xn)), np_elu(xn, alpha=0.7))


def test_leaky_relu_layer():
    layer = LeakyReLU(negative_slope=1)
    out = layer(torch.randn(2, 3, 4))
    assert tuple(out.shape) == (2, 3, 4) and _counts(layer) == (0, 0, 0)
    close("LeakyReLU(0.5)", LeakyReLU(negative_slope=0.5)(_t(np.array([-10, -5, 0.0, 5, 10]))),
          [-5.0, -2.5, 0.0, 5.0, 10.0])
    with pytest.raises(ValueError, match="The negative_slope value of a Leaky ReLU layer cannot be None"):
        LeakyReLU(negative_slope=None)


def test_prelu_layer():
    """run_layer_test with alpha_initializer "zeros", shared_axes=1 on (2, 3, 4): one alpha per feature (4), zeros
    (Keras's default, keras_init_'s), the output of the input's shape."""
    prelu = keras_init_(torch.nn.PReLU(4))
    x = torch.randn(2, 3, 4)
    out = prelu(x.transpose(1, 2)).transpose(1, 2)  # torch's PReLU applies along dim 1: channels first
    assert tuple(out.shape) == (2, 3, 4) and _counts(prelu) == (1, 0, 0)
    close("PReLU alpha after keras_init_", prelu.weight, np.zeros(4), atol=0, rtol=0)
    close("PReLU(alpha 0) = relu", out, torch.relu(x), atol=0, rtol=0)


def test_prelu_correctness():
    rng = np.random.default_rng(5)
    inputs = rng.standard_normal((2, 10, 5, 3))
    weights = rng.random((1, 1, 3))  # Keras's alpha with shared_axes=(1, 2)
    prelu = torch.nn.PReLU(3).double()
    load_keras_weights(prelu, [weights])
    got = prelu(_t(inputs).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    ref = (inputs > 0) * inputs + (inputs <= 0) * weights * inputs
    close("PReLU shared_axes (1, 2)", got, ref)


def _f32(a) -> torch.Tensor:
    """A layer's input: Keras's layer casts a NumPy float64 array to its float32 compute dtype."""
    return torch.as_tensor(np.asarray(a), dtype=torch.float32)


RELU_CALLS = [  # (method, ReLU kwargs, input, expected)
    ("test_normal_relu_correctness", dict(max_value=10, negative_slope=0.0, threshold=0), [-10, -5, 0.0, 5, 10],
     [0.0, 0.0, 0.0, 5.0, 10.0]),
    ("test_leaky_relu_correctness", dict(max_value=10, negative_slope=0.5, threshold=0), [-10, -5, 0.0, 5, 10],
     [-5.0, -2.5, 0.0, 5.0, 10.0]),
    ("test_threshold_relu_correctness", dict(max_value=8, negative_slope=0.0, threshold=5), [6.0, 7.0, 0.0, 5, 10],
     [6.0, 7.0, 0.0, 0.0, 8.0]),
    ("test_default_relu_no_args", {}, [-3.0, -1.0, 0.0, 1.0, 3.0], [0.0, 0.0, 0.0, 1.0, 3.0]),
    ("test_relu_none_max_value_is_unlimited", dict(max_value=None), [0.0, 100.0, 1000.0, 99999.0],
     [0.0, 100.0, 1000.0, 99999.0]),
    ("test_relu_all_zeros_input", {}, np.zeros((3, 4)), np.zeros((3, 4))),
    ("test_relu_multidimensional_input 2d", {}, [[-1.0, 2.0], [3.0, -4.0]], [[0.0, 2.0], [3.0, 0.0]]),
    ("test_relu_multidimensional_input 3d", {}, -np.ones((2, 3, 4)), np.zeros((2, 3, 4))),
]


def test_relu_layer_call():
    """relu_test.py's correctness methods on ``torch_impl.nn.ReLU`` (float32, as Keras's layer casts) and on its
    function, ``keras_backend.relu(x, alpha=negative_slope, ...)`` (the input's float64 kept)."""
    for method, kw, x, expected in RELU_CALLS:
        close(f"{method}: ReLU({kw})", ReLU(**kw)(_f32(x)), expected)
        fn_kw = {"alpha": kw.get("negative_slope", 0.0), "max_value": kw.get("max_value"),
                 "threshold": kw.get("threshold", 0.0)}
        close(f"{method}: keras_backend.relu", keras_backend.relu(_t(np.asarray(x, dtype=np.float64)), **fn_kw),
              expected)


def test_relu_layer_basics():
    """relu_test.py::test_relu (run_layer_test: ReLU(max_value=10, negative_slope=1, threshold=0.5) on (2, 3, 4):
    the input's shape, no weights, no seed generator) and test_compute_output_shape (translated on eager calls:
    torch_impl's layers have no symbolic shapes; the output shape equals the input's for (2, 3), (4, 5, 6), (1,))."""
    layer = ReLU(max_value=10, negative_slope=1, threshold=0.5)
    out = layer(torch.randn(2, 3, 4))
    _show("ReLU(10, 1, 0.5) shape, counts", (tuple(out.shape), _counts(layer)))
    assert tuple(out.shape) == (2, 3, 4) and _counts(layer) == (0, 0, 0)
    for shape in ((2, 3), (4, 5, 6), (1,)):
        got = tuple(ReLU()(torch.zeros(shape)).shape)
        _show(f"ReLU() output shape of {shape}", got)
        assert got == shape


def test_relu_invalid_arguments():
    """relu_test.py::test_invalid_usage (max_value -10, negative_slope -10, threshold -10),
    test_negative_slope_none_raises, test_threshold_none_raises: Keras's ValueErrors, raised by the constructor."""
    cases = [
        (dict(max_value=-10, negative_slope=1, threshold=0.5), "max_value of a ReLU layer cannot be a negative value"),
        (dict(max_value=10, negative_slope=-10, threshold=0.5),
         "negative_slope of a ReLU layer cannot be None or a negative value"),
        (dict(max_value=10, negative_slope=1, threshold=-10),
         "threshold of a ReLU layer cannot be None or a negative value"),
        (dict(negative_slope=None), "negative_slope of a ReLU layer cannot be None or a negative value"),
        (dict(threshold=None), "threshold of a ReLU layer cannot be None or a negative value"),
    ]
    for kw, message in cases:
        with pytest.raises(ValueError, match=message) as err:
            ReLU(**kw)
        _show(f"ReLU({kw}) raises", str(err.value))


def test_relu_config():
    """relu_test.py::test_get_config, test_get_config_default_params, test_from_config; and Keras 3.15.1's own
    config of ``ReLU(max_value=5.0, negative_slope=0.2, threshold=1.0)`` (measured in a scratch run of Keras) loads
    (its base-layer keys ``name``/``trainable``/``dtype`` dropped)."""
    layer = ReLU(max_value=5.0, negative_slope=0.2, threshold=1.0)
    config = layer.get_config()
    _show("ReLU(5.0, 0.2, 1.0).get_config()", config)
    assert (config["max_value"], config["negative_slope"], config["threshold"]) == (5.0, 0.2, 1.0)
    default = ReLU().get_config()
    _show("ReLU().get_config()", default)
    assert default["max_value"] is None and default["negative_slope"] == 0.0 and default["threshold"] == 0.0
    restored = ReLU.from_config(config)
    assert (restored.max_value, restored.negative_slope, restored.threshold) == (5.0, 0.2, 1.0)
    keras_config = {"name": "re_lu", "trainable": True,
                    "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                              "registered_name": None},
                    "max_value": 5.0, "negative_slope": 0.2, "threshold": 1.0}
    from_keras = ReLU.from_config(keras_config)
    assert from_keras.get_config() == config
    x = _f32([-2.0, 0.5, 3.0, 9.0])
    close("ReLU.from_config(Keras's config) call", from_keras(x), layer(x), atol=0, rtol=0)
    with pytest.raises(ValueError, match="threshold of a ReLU layer cannot be None"):
        ReLU.from_config({**config, "threshold": -1.0})


def test_elu_config():
    """elu_test.py::test_config (run_class_serialization_test(ELU())): the get_config / from_config round trip
    gives the same config, and Keras's config of ``ELU(alpha=0.7)`` (``{'name': 'elu', 'alpha': 0.7, 'trainable':
    True, 'dtype': ...}``, measured in a scratch run of Keras 3.15.1) loads with its alpha."""
    config = ELU().get_config()
    _show("ELU().get_config()", config)
    assert config == {"alpha": 1.0} and ELU.from_config(config).get_config() == config
    keras_config = {"name": "elu", "alpha": 0.7, "trainable": True,
                    "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                              "registered_name": None}}
    layer = ELU.from_config(keras_config)
    _show("ELU.from_config(Keras's ELU(alpha=0.7) config).get_config()", layer.get_config())
    assert layer.get_config() == {"alpha": 0.7}
    x = _f32([-1.0, 2.0])
    close("ELU.from_config(...) call", layer(x), ELU(alpha=0.7)(x), atol=0, rtol=0)


SOFTMAX_ROWS = [[0.21194157, 0.5761169, 0.21194157], [0.21194157, 0.5761169, 0.21194157]]


def test_softmax_layer_call():
    """softmax_test.py::test_softmax (run_layer_test: the input's shape, no weights), test_softmax_correctness,
    test_softmax_correctness_with_axis on ``torch_impl.nn.Softmax`` (float32, as Keras's layer casts) and on the
    function forms (keras_ops.softmax / ACTIVATIONS, the input's float64 kept)."""
    layer = Softmax()
    out = layer(torch.randn(2, 3, 4))
    _show("Softmax() shape, counts", (tuple(out.shape), _counts(layer)))
    assert tuple(out.shape) == (2, 3, 4) and _counts(layer) == (0, 0, 0)
    x = np.array([[1.0, 2.0, 1.0], [1.0, 2.0, 1.0]])
    close("Softmax() layer", Softmax()(_f32(x)), SOFTMAX_ROWS)
    close("Softmax(axis=1) layer", Softmax(axis=1)(_f32(x)), SOFTMAX_ROWS)
    for form, fn in _forms("softmax"):
        close(f"Softmax() {form}", fn(_t(x)), SOFTMAX_ROWS)
    close("Softmax(axis=1) keras_ops.softmax", keras_ops.softmax(_t(x), axis=1), SOFTMAX_ROWS)


def test_softmax_layer_mask():
    """softmax_test.py::test_softmax_correctness_with_mask (axis (1, 0), a float mask), test_softmax_masked_values_
    are_zero_including_fully_masked (a boolean mask; a fully masked row gives zeros), test_softmax_mask_broadcastable
    ((1, 3) mask on (2, 3)) and test_softmax_mask_broadcastable_fewer_dims ((3,) mask): float32, as Keras's layer."""
    x = np.array([[1.0, 2.0, 1.0], [1.0, 2.0, 1.0]])
    mask = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    close("Softmax(axis=(1, 0)) with mask", Softmax(axis=(1, 0))(_f32(x), mask=_f32(mask)),
          [[0.21194154, 0.0, 0.21194154], [0.0, 0.57611686, 0.0]])
    x = np.array([[1.0, 2.0, 5.0, 1.0], [1.0, 1.0, 1.0, 1.0], [3.0, 1.0, 2.0, 4.0]], dtype=np.float32)
    mask = np.array([[True, True, False, False], [False, False, False, False], [True, True, True, True]])
    close("Softmax() boolean mask, a fully masked row", Softmax()(_f32(x), mask=torch.as_tensor(mask)),
          [[0.268941, 0.731059, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.236883, 0.032059, 0.087144, 0.643914]])
    x = np.array([[1.0, 2.0, 1.0], [3.0, 4.0, 5.0]])
    for label, layer, mask in (("(1, 3) mask", Softmax(), [[1.0, 0.0, 1.0]]),
                               ("(3,) mask, axis -1", Softmax(axis=-1), [1.0, 0.0, 1.0])):
        out = layer(_f32(x), mask=_f32(mask))
        close(f"Softmax() {label}: masked column", out[:, 1], [0.0, 0.0])


def test_softmax_mask_errors():
    """softmax_test.py::test_softmax_mask_shape_mismatch ((2, 3) mask on (1, 3): "broadcastable") and
    test_softmax_mask_too_many_dims ((1, 1, 3) mask: "must not have more dimensions")."""
    x = _f32([[1.0, 2.0, 1.0]])
    for mask, message in (([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]], "broadcastable"),
                          ([[[1.0, 0.0, 1.0]]], "must not have more dimensions")):
        with pytest.raises(ValueError, match=message) as err:
            Softmax()(x, mask=_f32(mask))
        _show(f"Softmax() mask {np.shape(mask)} on (1, 3) raises", str(err.value))

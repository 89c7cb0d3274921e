"""torch_impl.regularizers, torch_impl.constraints and torch_impl.nn.Dropout against the expected numbers
of Keras's own unit tests.

The reference is Keras 3.15.1's test modules (as installed in
``.venv/lib/python3.11/site-packages/keras/src/``):

* ``regularizers/regularizers_test.py``: ``RegularizersTest``, ``ValidateFloatArgTest``;
* ``constraints/constraints_test.py``: ``ConstraintsTest``;
* ``layers/regularization/dropout_test.py``: ``DropoutTest``.

No TensorFlow is imported: the expected values are the literals and NumPy formulas of Keras's tests.
Every test method is translated with the same inputs, expectations and tolerances, except the parts
listed below. Keras's helpers (``keras/src/testing/test_case.py``) mean:

* ``assertAllClose(x, v, atol=1e-6, rtol=1e-6)``: ``np.testing.assert_allclose`` (``tpu_atol``/``tpu_rtol``
  apply only on a TPU and are dropped);
* ``assertAlmostEqual(x, v, places)``: ``np.testing.assert_almost_equal`` with ``decimal=places``;
* ``assertEqual``/``assertDictEqual``: ``first == second``.

Inputs: Keras's ``backend.Variable(value)`` becomes ``torch.as_tensor(value)`` (the objects take tensors
directly; Keras layout = the array as given, no conversion). ``np.random.random`` inputs of the regularizer
tests are unseeded in Keras; here they come from a seeded ``RandomState`` (the asserted values hold for any
draw). The regularizer tests cast to float32 as Keras's do. The constraint tests hand Keras float64 NumPy
arrays (Keras's ``convert_to_tensor`` keeps float64); they run here in float64 (as Keras) and float32 (this
suite's default dtype). Dropout gets its NumPy ``ones`` as float32 (a Keras layer casts its input to its
``compute_dtype``, float32); ``layer(x, training=True)`` is the module in ``train()`` mode.

Keras's ``validate_float_arg`` (``ValidateFloatArgTest``) is ``torch_impl.regularizers._check_factor``, the
function every torch_impl regularizer validates its factors with.

Not translated (Keras-only machinery):

* ``RegularizersTest.test_config``: the ``serialize_keras_object``/``deserialize_keras_object`` half of
  ``run_class_serialization_test`` (``keras.saving``); its ``get_config``/``from_config`` round trip and
  its ``dir()`` comparison are translated;
* ``DropoutTest.test_dropout_basics``: the symbolic-call / build / ``supports_masking`` /
  ``expected_num_seed_generators`` / ``assert_built_after_instantiation`` checks of ``run_layer_test``
  (Keras's ``KerasTensor`` tracing, masking and ``SeedGenerator`` tracking, no torch counterpart); the
  output shape in training mode and the weight and loss counts are translated.

No test in these modules builds a layer with ``kernel_regularizer=`` and checks ``layer.losses``, so
``regularize``/``regularization_losses`` are not exercised here.

Run: ``.venv/bin/python -m pytest -q parity_tests/test_keras_reference_layer_args.py -p no:cacheprovider``
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from parity_tests.test_keras_reference_metrics import _np, all_close, almost_equal, equal, raises  # noqa: F401
from torch_impl import constraints, regularizers
from torch_impl.nn import Dropout
from torch_impl.regularizers import _check_factor as validate_float_arg


def _random(shape, seed=0):
    """``np.random.random(shape).astype(np.float32)`` from a seeded stream (Keras's is unseeded)."""
    return np.random.RandomState(seed).random_sample(shape).astype(np.float32)


def _var(value):
    """Keras's ``backend.Variable(value)``: a tensor of the array's dtype."""
    return torch.as_tensor(value)


def _class_serialization_roundtrip(instance):
    """The ``get_config`` half of Keras's ``run_class_serialization_test``."""
    cls = instance.__class__
    config = instance.get_config()
    config_json = json.dumps(config, sort_keys=True)
    ref_dir = dir(instance)[:]
    revived = cls.from_config(config)
    revived_json = json.dumps(revived.get_config(), sort_keys=True)
    equal(f"{cls.__name__} config roundtrip", revived_json, config_json)
    assert set(ref_dir) == set(dir(revived)), set(ref_dir) ^ set(dir(revived))
    # (the serialize_keras_object/deserialize_keras_object half needs keras.saving: not translated)
    return revived


# ==========================================================================
# regularizers_test.py :: RegularizersTest
# ==========================================================================


# RegularizersTest.test_config (get_config/from_config half; keras.saving half skipped, see docstring)
def test_regularizers_config():
    _class_serialization_roundtrip(regularizers.L1(0.1))
    _class_serialization_roundtrip(regularizers.L2(0.1))
    _class_serialization_roundtrip(regularizers.L1L2(l1=0.1, l2=0.2))
    _class_serialization_roundtrip(regularizers.OrthogonalRegularizer(factor=0.1, mode="rows"))


# RegularizersTest.test_l1
def test_l1():
    value = _random((4, 4))
    y = regularizers.L1(0.1)(_var(value))
    all_close("l1", y, 0.1 * np.sum(np.abs(value)))


# RegularizersTest.test_l2
def test_l2():
    value = _random((4, 4))
    y = regularizers.L2(0.1)(_var(value))
    all_close("l2", y, 0.1 * np.sum(np.square(value)))


# RegularizersTest.test_l1_l2
def test_l1_l2():
    value = _random((4, 4))
    y = regularizers.L1L2(l1=0.1, l2=0.2)(_var(value))
    all_close("l1_l2", y, 0.1 * np.sum(np.abs(value)) + 0.2 * np.sum(np.square(value)))


# RegularizersTest.test_orthogonal_regularizer
def test_orthogonal_regularizer():
    value = _random((4, 4))
    y = regularizers.OrthogonalRegularizer(factor=0.1, mode="rows")(_var(value))
    l2_norm = np.linalg.norm(value, axis=1, keepdims=True)
    inputs = value / l2_norm
    expected = (0.1 * 0.5 * np.sum(np.abs(np.dot(inputs, np.transpose(inputs)) * (1.0 - np.eye(4))))
                / (4.0 * (4.0 - 1.0) / 2.0))
    all_close("orthogonal rows", y, expected)  # (tpu_atol/tpu_rtol=1e-4: TPU only)


# RegularizersTest.test_get_method
def test_regularizers_get_method():
    assert isinstance(regularizers.get("l1l2"), regularizers.L1L2)
    assert isinstance(regularizers.get("l1"), regularizers.L1)
    assert isinstance(regularizers.get("l2"), regularizers.L2)
    assert isinstance(regularizers.get("orthogonal_regularizer"), regularizers.OrthogonalRegularizer)
    equal("get(None)", regularizers.get(None), None)
    with pytest.raises(ValueError):
        regularizers.get("typo")


# RegularizersTest.test_l1l2_get_config
def test_l1l2_get_config():
    l1, l2 = 0.01, 0.02
    reg = regularizers.L1L2(l1=l1, l2=l2)
    config = reg.get_config()
    all_close("config l1", config["l1"], l1)
    all_close("config l2", config["l2"], l2)
    reg_from_config = regularizers.L1L2.from_config(config)
    config_from_config = reg_from_config.get_config()
    equal("config dict", config, config_from_config)
    all_close("from_config l1", reg_from_config.l1, l1)
    all_close("from_config l2", reg_from_config.l2, l2)


# RegularizersTest.test_orthogonal_regularizer_mode_validation
def test_orthogonal_regularizer_mode_validation():
    with pytest.raises(ValueError) as context:
        regularizers.OrthogonalRegularizer(factor=0.01, mode="invalid_mode")
    expected_message = ('Invalid value for argument `mode`. Expected one of {"rows", '
                        '"columns"}. Received: mode=invalid_mode')
    equal("message", str(context.value), expected_message)


# RegularizersTest.test_orthogonal_regularizer_input_rank_validation
def test_orthogonal_regularizer_input_rank_validation():
    with pytest.raises(ValueError) as context:
        value = _random((4, 4, 4))
        regularizers.OrthogonalRegularizer(factor=0.1)(_var(value))
    expected_message = f"Inputs to OrthogonalRegularizer must have rank 2. Received: inputs.shape={(4, 4, 4)}"
    equal("message", str(context.value), expected_message)


# RegularizersTest.test_orthogonal_regularizer_get_config
def test_orthogonal_regularizer_get_config():
    factor, mode = 0.01, "columns"
    regularizer = regularizers.OrthogonalRegularizer(factor=factor, mode=mode)
    config = regularizer.get_config()
    almost_equal("config factor", config["factor"], factor, decimal=7)
    equal("config mode", config["mode"], mode)
    reg_from_config = regularizers.OrthogonalRegularizer.from_config(config)
    config_from_config = reg_from_config.get_config()
    almost_equal("from_config factor", config_from_config["factor"], factor, decimal=7)
    equal("from_config mode", config_from_config["mode"], mode)


# RegularizersTest.test_l1_with_zero_weights
def test_l1_with_zero_weights():
    y = regularizers.L1(0.1)(_var(np.zeros((4, 4), dtype=np.float32)))
    all_close("l1 zeros", y, 0.0)


# RegularizersTest.test_l1_with_negative_weights
def test_l1_with_negative_weights():
    y_pos = regularizers.L1(0.1)(_var(np.ones((4, 4), dtype=np.float32)))
    y_neg = regularizers.L1(0.1)(_var(-np.ones((4, 4), dtype=np.float32)))
    all_close("l1 pos vs neg", y_pos, _np(y_neg))


# RegularizersTest.test_l1_zero_coefficient
def test_l1_zero_coefficient():
    y = regularizers.L1(0.0)(_var(_random((4, 4))))
    all_close("l1(0)", y, 0.0)


# RegularizersTest.test_l2_with_zero_weights
def test_l2_with_zero_weights():
    y = regularizers.L2(0.1)(_var(np.zeros((4, 4), dtype=np.float32)))
    all_close("l2 zeros", y, 0.0)


# RegularizersTest.test_l2_zero_coefficient
def test_l2_zero_coefficient():
    y = regularizers.L2(0.0)(_var(_random((4, 4))))
    all_close("l2(0)", y, 0.0)


# RegularizersTest.test_l2_is_larger_than_l1_for_large_weights
def test_l2_is_larger_than_l1_for_large_weights():
    x = _var(np.ones((4, 4), dtype=np.float32) * 10.0)
    l1_val = float(_np(regularizers.L1(1.0)(x)))
    l2_val = float(_np(regularizers.L2(1.0)(x)))
    print(f"l1={l1_val} l2={l2_val}")
    assert l2_val > l1_val


# RegularizersTest.test_l2_is_smaller_than_l1_for_small_weights
def test_l2_is_smaller_than_l1_for_small_weights():
    x = _var(np.ones((4, 4), dtype=np.float32) * 0.1)
    l1_val = float(_np(regularizers.L1(1.0)(x)))
    l2_val = float(_np(regularizers.L2(1.0)(x)))
    print(f"l1={l1_val} l2={l2_val}")
    assert l2_val < l1_val


# RegularizersTest.test_l1l2_zero_coefficients
def test_l1l2_zero_coefficients():
    y = regularizers.L1L2(l1=0.0, l2=0.0)(_var(_random((4, 4))))
    all_close("l1l2(0, 0)", y, 0.0)


# RegularizersTest.test_l1l2_only_l1
def test_l1l2_only_l1():
    x = _var(_random((4, 4)))
    y_l1l2 = regularizers.L1L2(l1=0.1, l2=0.0)(x)
    y_l1 = regularizers.L1(0.1)(x)
    all_close("l1l2 only l1", y_l1l2, _np(y_l1))


# RegularizersTest.test_l1l2_only_l2
def test_l1l2_only_l2():
    x = _var(_random((4, 4)))
    y_l1l2 = regularizers.L1L2(l1=0.0, l2=0.1)(x)
    y_l2 = regularizers.L2(0.1)(x)
    all_close("l1l2 only l2", y_l1l2, _np(y_l2))


# RegularizersTest.test_l1l2_with_zero_weights
def test_l1l2_with_zero_weights():
    y = regularizers.L1L2(l1=0.1, l2=0.2)(_var(np.zeros((4, 4), dtype=np.float32)))
    all_close("l1l2 zeros", y, 0.0)


# ==========================================================================
# regularizers_test.py :: ValidateFloatArgTest (validate_float_arg = torch_impl's _check_factor)
# ==========================================================================

_NON_NEG = "expected a non-negative float"


# ValidateFloatArgTest.test_validate_float_with_valid_args
def test_validate_float_with_valid_args():
    equal("1", validate_float_arg(1, "test"), 1.0)
    equal("1.0", validate_float_arg(1.0, "test"), 1.0)


# ValidateFloatArgTest.test_validate_float_with_invalid_types
def test_validate_float_with_invalid_types():
    with raises(ValueError, _NON_NEG):
        validate_float_arg("not_a_number", "test")


# ValidateFloatArgTest.test_validate_float_with_nan
def test_validate_float_with_nan():
    with raises(ValueError, _NON_NEG):
        validate_float_arg(float("nan"), "test")


# ValidateFloatArgTest.test_validate_float_with_inf
def test_validate_float_with_inf():
    with raises(ValueError, _NON_NEG):
        validate_float_arg(float("inf"), "test")
    with raises(ValueError, _NON_NEG):
        validate_float_arg(-float("inf"), "test")


# ValidateFloatArgTest.test_validate_float_with_negative_number
def test_validate_float_with_negative_number():
    with raises(ValueError, _NON_NEG):
        validate_float_arg(-1, "test")


# ValidateFloatArgTest.test_validate_float_with_zero
def test_validate_float_with_zero():
    equal("0", validate_float_arg(0, "test"), 0.0)
    equal("0.0", validate_float_arg(0.0, "test"), 0.0)


# ValidateFloatArgTest.test_validate_float_with_very_small_positive
def test_validate_float_with_very_small_positive():
    almost_equal("1e-10", validate_float_arg(1e-10, "test"), 1e-10, decimal=7)


# ValidateFloatArgTest.test_validate_float_returns_float_type
def test_validate_float_returns_float_type():
    assert isinstance(validate_float_arg(1, "test"), float)
    assert isinstance(validate_float_arg(1.0, "test"), float)


# ValidateFloatArgTest.test_validate_float_with_large_positive
def test_validate_float_with_large_positive():
    almost_equal("1e6", validate_float_arg(1e6, "test"), 1e6, decimal=7)


# ValidateFloatArgTest.test_validate_float_with_negative_float
def test_validate_float_with_negative_float():
    with raises(ValueError, _NON_NEG):
        validate_float_arg(-0.001, "test")


# ValidateFloatArgTest.test_validate_float_with_none
def test_validate_float_with_none():
    with raises(ValueError, _NON_NEG):
        validate_float_arg(None, "test")


# ValidateFloatArgTest.test_validate_float_with_list
def test_validate_float_with_list():
    with raises(ValueError, _NON_NEG):
        validate_float_arg([0.1], "test")


# ==========================================================================
# constraints_test.py :: ConstraintsTest
# ==========================================================================

# float64: what Keras computes on the test's float64 NumPy arrays; float32: this suite's default dtype
DTYPES = pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])


def get_example_array():
    np.random.seed(3537)
    example_array = np.random.random((100, 100)) * 100.0 - 50.0
    example_array[0, 0] = 0.0
    return example_array


def _t(x, dtype):
    return torch.as_tensor(np.asarray(x), dtype=dtype)


# ConstraintsTest.test_max_norm
@DTYPES
def test_max_norm(dtype):
    constraint_fn = constraints.MaxNorm(2.0)
    x = np.array([[0, 0, 0], [1.0, 0, 0], [3, 0, 0], [3, 3, 3]]).T
    target = np.array([[0, 0, 0], [1.0, 0, 0], [2.0, 0, 0],
                       [2.0 / np.sqrt(3), 2.0 / np.sqrt(3), 2.0 / np.sqrt(3)]]).T
    output = constraint_fn(_t(x, dtype))
    all_close("max_norm", output, target)


# ConstraintsTest.test_non_neg
@DTYPES
def test_non_neg(dtype):
    output = _np(constraints.NonNeg()(_t(get_example_array(), dtype)))
    assert (np.min(output, axis=1) >= 0.0).all()


# ConstraintsTest.test_unit_norm
@DTYPES
def test_unit_norm(dtype):
    output = _np(constraints.UnitNorm()(_t(get_example_array(), dtype)))
    l2 = np.sqrt(np.sum(np.square(output), axis=0))
    all_close("unit_norm l2", l2, 1.0)


# ConstraintsTest.test_min_max_norm
@DTYPES
def test_min_max_norm(dtype):
    output = _np(constraints.MinMaxNorm(min_value=0.2, max_value=0.5)(_t(get_example_array(), dtype)))
    l2 = np.sqrt(np.sum(np.square(output), axis=0))
    print(f"min_max_norm l2: min={l2.min()!r} max={l2.max()!r}")
    assert np.all(l2 >= 0.2)
    assert np.all(l2 <= 0.5 + 1e-6)


# ConstraintsTest.test_get_method
def test_constraints_get_method():
    obj = constraints.get("unit_norm")
    assert obj  # Keras: assertTrue(obj, constraints.UnitNorm) (the class is only the message)
    assert isinstance(obj, constraints.UnitNorm)  # the evident intent
    equal("get(None)", constraints.get(None), None)
    with pytest.raises(ValueError):
        constraints.get("typo")


# ConstraintsTest.test_default_constraint_call
def test_default_constraint_call():
    x = np.array([1.0, 2.0, 3.0])
    output = constraints.Constraint()(_var(x))
    all_close("Constraint()(x)", x, _np(output))


# ConstraintsTest.test_constraint_get_config
def test_constraint_get_config():
    equal("config", constraints.Constraint().get_config(), {})


# ConstraintsTest.test_constraint_from_config
def test_constraint_from_config():
    config = constraints.Constraint().get_config()
    assert isinstance(constraints.Constraint.from_config(config), constraints.Constraint)


# ConstraintsTest.test_max_norm_get_config
@DTYPES
def test_max_norm_get_config(dtype):
    constraint_fn = constraints.MaxNorm(max_value=3.0, axis=1)
    config = constraint_fn.get_config()
    equal("config", config, {"max_value": 3.0, "axis": 1})
    restored = constraints.MaxNorm.from_config(config)
    equal("max_value", restored.max_value, constraint_fn.max_value)
    equal("axis", restored.axis, constraint_fn.axis)
    x = _t(get_example_array(), dtype)
    all_close("max_norm restored", _np(constraint_fn(x)), _np(restored(x)))


# ConstraintsTest.test_unit_norm_get_config
@DTYPES
def test_unit_norm_get_config(dtype):
    constraint_fn = constraints.UnitNorm(axis=1)
    config = constraint_fn.get_config()
    equal("config", config, {"axis": 1})
    restored = constraints.UnitNorm.from_config(config)
    equal("axis", restored.axis, constraint_fn.axis)
    x = _t(get_example_array(), dtype)
    all_close("unit_norm restored", _np(constraint_fn(x)), _np(restored(x)))


# ConstraintsTest.test_min_max_norm_get_config
@DTYPES
def test_min_max_norm_get_config(dtype):
    constraint_fn = constraints.MinMaxNorm(min_value=0.5, max_value=2.0, rate=0.7, axis=1)
    config = constraint_fn.get_config()
    equal("config", config, {"min_value": 0.5, "max_value": 2.0, "rate": 0.7, "axis": 1})
    restored = constraints.MinMaxNorm.from_config(config)
    equal("min_value", restored.min_value, constraint_fn.min_value)
    equal("max_value", restored.max_value, constraint_fn.max_value)
    equal("rate", restored.rate, constraint_fn.rate)
    equal("axis", restored.axis, constraint_fn.axis)
    x = _t(get_example_array(), dtype)
    all_close("min_max_norm restored", _np(constraint_fn(x)), _np(restored(x)))


# ConstraintsTest.test_non_neg_get_config
def test_non_neg_get_config():
    equal("config", constraints.NonNeg().get_config(), {})


# ConstraintsTest.test_non_neg_from_config
def test_non_neg_from_config():
    config = constraints.NonNeg().get_config()
    assert isinstance(constraints.NonNeg.from_config(config), constraints.NonNeg)


# ConstraintsTest.test_non_neg_serialization_roundtrip (get_config/from_config only: no keras.saving in it)
@DTYPES
def test_non_neg_serialization_roundtrip(dtype):
    original = constraints.NonNeg()
    restored = constraints.NonNeg.from_config(original.get_config())
    x = _t(get_example_array(), dtype)
    all_close("non_neg restored", _np(original(x)), _np(restored(x)))


# ConstraintsTest.test_non_neg_zeroes_negatives
@DTYPES
def test_non_neg_zeroes_negatives(dtype):
    output = _np(constraints.NonNeg()(_t(np.full((5, 5), -3.0), dtype)))
    all_close("non_neg(-3)", output, np.zeros((5, 5)))


# ConstraintsTest.test_non_neg_preserves_positives
@DTYPES
def test_non_neg_preserves_positives(dtype):
    x = np.full((5, 5), 3.0)
    output = _np(constraints.NonNeg()(_t(x, dtype)))
    all_close("non_neg(3)", output, x)


# ConstraintsTest.test_non_neg_all_zeros_input
@DTYPES
def test_non_neg_all_zeros_input(dtype):
    output = _np(constraints.NonNeg()(_t(np.zeros((5, 5)), dtype)))
    all_close("non_neg(0)", output, np.zeros((5, 5)))


# ==========================================================================
# dropout_test.py :: DropoutTest
# ==========================================================================


def _train_call(layer, inputs):
    """Keras's ``layer(inputs, training=True)`` on a NumPy input (cast to the float32 compute dtype)."""
    return layer.train()(torch.as_tensor(np.asarray(inputs), dtype=torch.float32))


# DropoutTest.test_dropout_basics: run_layer_test's checks that have a torch counterpart (output shape in
# training mode, 0 trainable / 0 non-trainable weights, 0 losses). Its symbolic-call, build, masking,
# seed-generator-count and built-after-instantiation checks are Keras-only machinery (not translated).
def test_dropout_basics():
    layer = Dropout(rate=0.2)
    output = _train_call(layer, np.random.RandomState(0).random_sample((2, 3)))
    equal("output shape", tuple(output.shape), (2, 3))
    equal("trainable weights", len([p for p in layer.parameters() if p.requires_grad]), 0)
    equal("non-trainable weights",
          len([p for p in layer.parameters() if not p.requires_grad]) + len(list(layer.buffers())), 0)
    # expected_num_losses=0: no regularizer is attached to a Dropout
    equal("losses", len(regularizers.regularization_losses(layer)), 0)


# DropoutTest.test_dropout_rescaling
def test_dropout_rescaling():
    inputs = np.ones((20, 500))
    layer = Dropout(0.5, seed=1337)
    outputs = _np(_train_call(layer, inputs))
    all_close("mean", np.mean(outputs), 1.0, atol=0.02)
    all_close("max", np.max(outputs), 2.0)


# DropoutTest.test_dropout_partial_noise_shape_dynamic
def test_dropout_partial_noise_shape_dynamic():
    inputs = np.ones((20, 5, 10))
    layer = Dropout(0.5, noise_shape=(None, 1, None))
    outputs = _np(_train_call(layer, inputs))
    all_close("[:, 0, :] vs [:, 1, :]", outputs[:, 0, :], outputs[:, 1, :])


# DropoutTest.test_dropout_partial_noise_shape_static
def test_dropout_partial_noise_shape_static():
    inputs = np.ones((20, 5, 10))
    layer = Dropout(0.5, noise_shape=(20, 1, 10))
    outputs = _np(_train_call(layer, inputs))
    all_close("[:, 0, :] vs [:, 1, :]", outputs[:, 0, :], outputs[:, 1, :])


_RATE_MSG = "Invalid value received for argument `rate`. Expected a float value between 0 and 1."


# DropoutTest.test_dropout_negative_rate
def test_dropout_negative_rate():
    with raises(ValueError, _RATE_MSG):
        _ = Dropout(rate=-0.5)


# DropoutTest.test_dropout_rate_greater_than_one
def test_dropout_rate_greater_than_one():
    with raises(ValueError, _RATE_MSG):
        _ = Dropout(rate=1.5)


# DropoutTest.test_validate_noise_shape_none
def test_validate_noise_shape_none():
    assert Dropout(0.5, noise_shape=None).noise_shape is None


# DropoutTest.test_validate_noise_shape_integer_tuple
def test_validate_noise_shape_integer_tuple():
    equal("noise_shape", Dropout(0.5, noise_shape=(20, 1, 10)).noise_shape, (20, 1, 10))


# DropoutTest.test_validate_noise_shape_none_values
def test_validate_noise_shape_none_values():
    equal("noise_shape", Dropout(0.5, noise_shape=(None, 1, None)).noise_shape, (None, 1, None))


# DropoutTest.test_validate_noise_shape_cast_to_a_tuple
def test_validate_noise_shape_cast_to_a_tuple():
    layer = Dropout(0.5, noise_shape=[20, 1, 10])
    equal("noise_shape", layer.noise_shape, (20, 1, 10))
    assert isinstance(layer.noise_shape, tuple)


# DropoutTest.test_validate_noise_shape_non_iterable
def test_validate_noise_shape_non_iterable():
    with raises(ValueError, "Invalid value received for argument `noise_shape`. "
                            "Expected a tuple or list of integers."):
        Dropout(0.5, noise_shape="Invalid")


# DropoutTest.test_validate_noise_shape_invalid_type
def test_validate_noise_shape_invalid_type():
    with raises(ValueError, "Invalid value received for argument `noise_shape`. "
                            "Expected all elements to be integers or None."):
        Dropout(0.5, noise_shape=(20, 1.5, 10))


# DropoutTest.test_validate_noise_shape_negative_value
def test_validate_noise_shape_negative_value():
    with raises(ValueError, "Invalid value received for argument `noise_shape`. "
                            "Expected all dimensions to be positive integers or None."):
        Dropout(0.5, noise_shape=(20, -1, 10))


# DropoutTest.test_validate_noise_shape_zero_value
def test_validate_noise_shape_zero_value():
    with raises(ValueError, "Invalid value received for argument `noise_shape`. "
                            "Expected all dimensions to be positive integers or None."):
        Dropout(0.5, noise_shape=(20, 0, 10))

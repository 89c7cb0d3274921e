"""torch_impl.keras_backend (Keras 2's ``K``) against tf-keras's (Keras 2's) own ``tf_keras/backend_test.py``.

The reference is keras-team/tf-keras, snapshot dd0a7237 (2026-03-22), ``tf_keras/backend_test.py``: 119 test
methods in 16 classes. Every method whose functions Keras 3.15.1's legacy backend (``keras.src.legacy.backend``,
the reference of ``torch_impl.keras_backend``) has is translated here with the same inputs, the same expected
values (the file's NumPy reference implementations, ``compare_single_input_op_to_numpy``,
``compare_two_inputs_op_to_numpy``, ``_reference_batch_dot`` and the padding ``ref_op``\\ s, are ported as NumPy)
and the same tolerances; the others are listed in ``SKIPPED`` with the reason. ``test_every_method_accounted_for``
checks that the two lists cover the 119 methods exactly.

tf.test.TestCase's helpers, as used there:

* ``assertAllClose(a, b, rtol=1e-6, atol=1e-6)``: equal shapes, ``|a - b| <= atol + rtol * |b|``;
* ``assertArrayNear(a, b, err)``: same length, ``|a_i - b_i| <= err``;
* ``np.testing.assert_allclose(keras, numpy, atol=1e-4)`` (rtol 1e-7) in the two ``compare_*`` helpers.

Inputs: tf-keras draws them from NumPy's global generator unseeded; here each test seeds its own
``np.random.RandomState`` (the asserted relations hold for any draw). ``backend.variable(np_array)`` is a floatx
(float32) tensor, as in Keras; ``tf.convert_to_tensor(list, "float32")`` / ``tf.ones`` become ``K.constant`` /
``K.ones``; ``tf.nn.moments(x, axes)`` becomes ``(K.mean(x, axes), K.var(x, axes))``; ``activations.sigmoid`` /
``activations.softmax`` become ``torch_impl.keras_ops.sigmoid`` / ``softmax``. ``tf.identity(tf.identity(p))``
(which in tf-keras hides the sigmoid/softmax from the logits lookup) is dropped: Keras 3's legacy backend, like
torch_impl, never looks for the logits. Graph-mode-only branches (``if not tf.executing_eagerly()``,
placeholders with ``None`` dimensions, op-name checks such as ``"Relu6" in relu_op.name``) are left out; the
eager branch is translated.

Cross-check with real Keras 3.15.1: every translated test in this file was also run, unchanged, with ``K`` set to
``keras.src.legacy.backend`` (and ``ACT`` to ``keras.activations``, ``BIAS_ADD_ERRORS`` extended with
``tf.errors.InvalidArgumentError`` as tf-keras allows) by ``test_tf_keras_reference_backend_keras.py`` (slow, keras):
all 81 cases pass on Keras 3.15.1, and
the figures they print equal torch_impl's to 2.4e-7 (float32 summation order), the unseeded random draws
included (both take ``np.random.randint(10e6)`` as the op seed and TensorFlow's stateful kernels). Error
types differ once: ``bias_add`` of a 1-D input raises TensorFlow's ``InvalidArgumentError`` in Keras, ``ValueError``
in torch_impl (tf-keras's test accepts both).

tf-keras (Keras 2) -> Keras 3.15.1 legacy backend differences met (the test follows Keras 3.15.1 and says so):

* ``backend.random_binomial`` is gone; Keras 3's name is ``random_bernoulli`` (same draw ``uniform <= p``):
  ``test_random_binomial`` calls ``K.random_bernoulli``.
* ``backend.identity`` is gone (``test_rnn_output_num_dim_larger_than_2_masking``): the step function returns
  ``list(states)`` (tf-keras's comment is about ``tf.Variable.set_shape``; no effect on the asserted outputs).
* ``from_logits=True`` on a sigmoid/softmax output (``test_*_from_logits_with_*``): tf-keras warns ("received
  `from_logits=True`..."); Keras 3.15.1's legacy crossentropies never look at ``_keras_logits`` and do not warn
  (measured: 0 warnings), nor does torch_impl: the tests assert no warning.
* ``stop_gradient(list)``: tf-keras returns a list, Keras 3.15.1 a ``map`` (a one-pass iterator, no ``len``);
  torch_impl returns a list (documented): the test takes ``list(...)`` of it and checks the values.
* ``cast_to_floatx(2)``: Keras 3.15.1 returns a float32 NumPy array (tf-keras a tensor); torch_impl a float32
  tensor (its documented choice); the asserted dtype name is float32 in all three.
* ``batch_normalization`` NCHW with ``axis=1`` (a graph-mode-only branch in tf-keras, which used the fused
  kernel): Keras 3.15.1 ignores ``axis`` (``tf.nn.batch_normalization`` broadcasts a ``(3,)`` mean against the
  last axis) and raises; not translated (the eager branch is).
* ``*_with_unknown_rank_tensor``: placeholders of unknown rank do not exist in eager Keras 3 nor in torch; the
  numbers are checked on tensors of known rank. For the sparse one the ``axis=0`` ``ValueError`` exists only for an
  unknown rank (Keras 3.15.1 and torch_impl transpose a known-rank output), so that part is not translated.

Measured figures (torch_impl, float32 as in tf-keras; max |got - expected| over the method's assertions):

| tf-keras method | tolerance | max abs error |
|---|---|---|
| test_reduction_ops (9 ops, 25 calls) / test_elementwise_ops (11 ops) | atol 1e-4 | 2.4e-7 / 2.4e-7 |
| test_two_tensor_ops (8 ops) / test_batch_dot (6 cases) | atol 1e-4 / atol 1e-5 | 0 / 7.4e-7 |
| test_relu (14 cases) | 1e-6 | 1.9e-7 |
| padding, reshape, permute, flatten, bias_add (15 comparisons) | atol 1e-4 | 0 |
| test_rnn / test_rnn_additional_states (unrolled vs loop) | atol 1e-4 | 0 / 0 |
| the 4 rnn masking tests (against the NumPy expectation) | 1e-6 | 3.3e-7 |
| crossentropy numbers (16 methods) | 1e-3 (``assertArrayNear``) | 8.7e-4 |
| test_sparse_cce_loss_with_ignore_class_for_segmentation | atol 1e-6 | 7.0e-7 (Keras 3.15.1: the same) |
| test_ctc_decode (log probabilities) / test_ctc_batch_cost | 1e-6 / atol 1e-5 | 2.4e-7 / 4.9e-6 |
| random draws: normal, uniform, bernoulli, truncated normal (mean, std, max, min) | atol 0.01 | 9.9e-4 |
| random_uniform_variable / random_normal_variable (30 x 20) | atol 0.1 | 0.013 / 0.022 |
| test_dropout: nonzero entries of 200 x 200 at rate 0.2 | 32000 +- 1000 | 32107 |

Tally: 76 methods translated, 43 skipped (``SKIPPED``). No torch_impl bug found: every translated assertion holds.

Run: ``.venv/bin/python -m pytest -q -s -p no:cacheprovider parity_tests/test_tf_keras_reference_backend.py``
(the same tests on Keras 3.15.1: ``parity_tests/test_tf_keras_reference_backend_keras.py``)
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
import torch

from torch_impl import keras_backend
from torch_impl import keras_ops

pytestmark = [pytest.mark.usefixtures("one_torch_thread")]

# The module under test and the activations; test_tf_keras_reference_backend_keras.py swaps these for
# keras.src.legacy.backend / keras.activations and adds tf.errors.InvalidArgumentError to BIAS_ADD_ERRORS.
K = keras_backend
ACT = keras_ops
BIAS_ADD_ERRORS: tuple = (ValueError,)

SNAPSHOT = "keras-team/tf-keras dd0a7237 tf_keras/backend_test.py"

# --------------------------------------------------------------------------------------------------------------
# bookkeeping: the 119 methods of the snapshot, and the ones not translated
# --------------------------------------------------------------------------------------------------------------

ALL_METHODS = {
    "BackendResetTest": ["test_new_config", "test_new_graph"],
    "BackendUtilsTest": [
        "test_backend", "test_get_reset_uids", "test_learning_phase", "test_get_learning_phase_eager",
        "test_learning_phase_name", "test_learning_phase_scope", "test_learning_phase_scope_in_graph",
        "test_int_shape", "test_in_train_phase", "test_is_keras_tensor", "test_stop_gradient", "test_placeholder",
        "test_is_placeholder", "test_print_tensor", "test_cast_to_floatx"],
    "BackendVariableTest": [
        "test_zeros", "test_ones", "test_eye", "test_zeros_like", "test_ones_like", "test_random_uniform_variable",
        "test_random_normal_variable", "test_count_params", "test_constant", "test_sparse_variable"],
    "BackendLinearAlgebraTest": [
        "test_dot", "test_batch_dot", "test_reduction_ops", "test_elementwise_ops", "test_two_tensor_ops",
        "test_relu"],
    "BackendShapeOpsTest": [
        "test_reshape", "test_concatenate", "test_permute_dimensions", "test_resize_images", "test_resize_volumes",
        "test_repeat_elements", "test_repeat", "test_flatten", "test_batch_flatten", "test_temporal_padding",
        "test_spatial_2d_padding", "test_spatial_3d_padding"],
    "BackendNNOpsTest": [
        "test_bias_add", "test_bias_add_channels_first", "test_pool2d", "test_pool3d", "test_conv1d",
        "test_local_conv_channels_dim", "test_local_conv_1d_and_2d", "test_conv2d", "test_conv2d_transpose",
        "test_separable_conv2d", "test_conv3d", "test_rnn", "test_rnn_additional_states",
        "test_rnn_output_and_state_masking_independent", "test_rnn_output_num_dim_larger_than_2_masking",
        "test_rnn_state_num_dim_larger_than_2_masking", "test_rnn_function_jit_compile_no_unroll_input_length_none",
        "test_batch_normalization", "test_normalize_batch_in_training", "test_dropout"],
    "BackendCrossEntropyLossesTest": [
        "test_binary_crossentropy_with_sigmoid", "test_categorical_crossentropy_loss",
        "test_categorical_crossentropy_loss_with_unknown_rank_tensor", "test_categorical_crossentropy_with_softmax",
        "test_sparse_categorical_crossentropy_loss", "test_sparse_categorical_crossentropy_loss_with_ignore_class",
        "test_sparse_cce_loss_with_ignore_class_for_segmentation",
        "test_sparse_categorical_crossentropy_loss_with_unknown_rank_tensor",
        "test_sparse_categorical_crossentropy_with_softmax", "test_binary_crossentropy_from_logits_no_warnings",
        "test_binary_crossentropy_from_logits_with_sigmoid", "test_categorical_crossentropy_from_logits_with_softmax",
        "test_sparse_categorical_crossentropy_from_logits_with_softmax", "test_binary_focal_crossentropy_with_sigmoid",
        "test_categorical_focal_crossentropy_with_softmax", "test_binary_focal_crossentropy_from_logits",
        "test_categorical_focal_crossentropy_from_logits",
        "test_binary_focal_crossentropy_no_focal_effect_with_zero_gamma",
        "test_categorical_focal_crossentropy_no_focal_effect", "test_binary_weighted_focal_crossentropy_with_sigmoid",
        "test_binary_weighted_focal_crossentropy_from_logits"],
    "TestCTC": ["test_ctc_decode", "test_ctc_batch_cost"],
    "TestRandomOps": ["test_random_normal", "test_random_uniform", "test_random_binomial", "test_truncated_normal"],
    "FunctionTest": [
        "test_function_basics", "test_function_dict_outputs", "test_function_dict_inputs",
        "test_function_variable_inputs", "test_function_composite_variable_inputs",
        "test_function_single_input_output", "test_tuple_updates"],
    "BackendGraphTests": [
        "test_function_placeholder_with_default", "test_function_tf_feed_symbols", "test_function_tf_fetches",
        "test_function_tf_feed_dict", "test_function_tf_run_options_with_run_metadata", "test_function_fetch_callbacks",
        "test_get_session_different_graphs"],
    "ControlOpsTests": ["test_function_switch_basics", "test_unequal_rank"],
    "ContextValueCacheTest": ["test_cache", "test_cache_in_parent_graph"],
    "RandomGeneratorTest": [
        "test_generator_reproducibility", "test_unseeded", "test_implementation",
        "test_unseeded_with_utils_set_random_seed", "test_force_stateless", "test_force_stateless_with_seed",
        "test_stateless_with_seed_delta", "test_unknown_rng_type", "test_prefer_stateless_over_global_generator"],
}

_NO_K3 = "Keras 3.15.1's legacy backend has no "
_GRAPH = "graph mode / sessions (tf.compat.v1), no eager or torch counterpart"

SKIPPED = {
    "BackendResetTest.test_new_config": "sessions and jit config: get_session/clear_session, " + _GRAPH,
    "BackendResetTest.test_new_graph": "get_graph/clear_session, " + _GRAPH,
    "BackendUtilsTest.test_backend": _NO_K3 + "backend()",
    "BackendUtilsTest.test_get_reset_uids": _NO_K3 + "get_uid/reset_uids",
    "BackendUtilsTest.test_learning_phase": _NO_K3 + "learning_phase/set_learning_phase (and a Keras layer)",
    "BackendUtilsTest.test_get_learning_phase_eager": _NO_K3 + "learning_phase/learning_phase_scope",
    "BackendUtilsTest.test_learning_phase_name": _NO_K3 + "symbolic_learning_phase",
    "BackendUtilsTest.test_learning_phase_scope": _NO_K3 + "learning_phase_scope",
    "BackendUtilsTest.test_learning_phase_scope_in_graph": _NO_K3 + "learning_phase_scope/get_graph",
    "BackendUtilsTest.test_in_train_phase": _NO_K3 + "in_train_phase/learning_phase_scope",
    "BackendUtilsTest.test_is_keras_tensor": _NO_K3 + "is_keras_tensor (Keras Input layers)",
    "BackendUtilsTest.test_placeholder": _NO_K3 + "placeholder (graph mode; sparse placeholders)",
    "BackendUtilsTest.test_is_placeholder": _NO_K3 + "placeholder/is_placeholder",
    "BackendUtilsTest.test_print_tensor": _NO_K3 + "print_tensor/placeholder/function",
    "BackendVariableTest.test_sparse_variable": "sparse tensors: variable(scipy.sparse) is a tf.SparseTensor in Keras; "
                                                "torch_impl.keras_backend.variable takes dense values only",
    "BackendNNOpsTest.test_local_conv_channels_dim": _NO_K3 + "local_conv",
    "BackendNNOpsTest.test_local_conv_1d_and_2d": _NO_K3 + "local_conv/local_conv1d/local_conv2d",
    "BackendNNOpsTest.test_normalize_batch_in_training": _NO_K3 + "normalize_batch_in_training",
    "FunctionTest.test_function_basics": _NO_K3 + "function (placeholders, updates; graph mode only)",
    "FunctionTest.test_function_dict_outputs": _NO_K3 + "function/placeholder",
    "FunctionTest.test_function_dict_inputs": _NO_K3 + "function/placeholder",
    "FunctionTest.test_function_variable_inputs": _NO_K3 + "function/placeholder",
    "FunctionTest.test_function_composite_variable_inputs": _NO_K3 + "function (tf CompositeTensor, graph mode)",
    "FunctionTest.test_function_single_input_output": _NO_K3 + "function/placeholder",
    "FunctionTest.test_tuple_updates": _NO_K3 + "function (updates, graph mode only)",
    "BackendGraphTests.test_function_placeholder_with_default": _NO_K3 + "function; " + _GRAPH,
    "BackendGraphTests.test_function_tf_feed_symbols": _NO_K3 + "function; " + _GRAPH,
    "BackendGraphTests.test_function_tf_fetches": _NO_K3 + "function; " + _GRAPH,
    "BackendGraphTests.test_function_tf_feed_dict": _NO_K3 + "function; " + _GRAPH,
    "BackendGraphTests.test_function_tf_run_options_with_run_metadata": _NO_K3 + "function; " + _GRAPH,
    "BackendGraphTests.test_function_fetch_callbacks": _NO_K3 + "function; " + _GRAPH,
    "BackendGraphTests.test_get_session_different_graphs": _NO_K3 + "get_session; " + _GRAPH,
    "ContextValueCacheTest.test_cache": _NO_K3 + "ContextValueCache (tf graphs)",
    "ContextValueCacheTest.test_cache_in_parent_graph": _NO_K3 + "ContextValueCache (tf graphs)",
}
SKIPPED.update({
    f"RandomGeneratorTest.{m}": _NO_K3 + "RandomGenerator (tf-keras's tf.random.Generator/stateless wrapper)"
    for m in ALL_METHODS["RandomGeneratorTest"]
})


def test_every_method_accounted_for():
    """Each of the snapshot's methods is translated (a test function of the same name here) or in SKIPPED."""
    names = [f"{c}.{m}" for c, ms in ALL_METHODS.items() for m in ms]
    assert len(names) == len(set(names)) == 119
    assert set(SKIPPED) <= set(names), set(SKIPPED) - set(names)
    translated = [n for n in names if n not in SKIPPED]
    missing = [n for n in translated if not callable(globals().get(n.split(".")[1]))]
    print(f"{SNAPSHOT}: {len(names)} methods, {len(translated)} translated, {len(SKIPPED)} skipped")
    assert not missing, missing
    assert (len(translated), len(SKIPPED)) == (76, 43)


# --------------------------------------------------------------------------------------------------------------
# helpers: tf.test.TestCase's assertions and the file's NumPy comparisons
# --------------------------------------------------------------------------------------------------------------


def _ev(x) -> np.ndarray:
    """``backend.eval(x)`` as a NumPy array."""
    return np.asarray(K.eval(x))


def _shape(x) -> list:
    """``x.shape.as_list()``."""
    return [None if d is None else int(d) for d in tuple(x.shape)]


def _dtype_name(x) -> str:
    """``x.dtype.name``."""
    if isinstance(x, torch.Tensor):
        return str(x.dtype).replace("torch.", "")
    return x.dtype.name


def all_close(name: str, a, b, rtol: float = 1e-6, atol: float = 1e-6) -> float:
    """``assertAllClose(a, b, rtol, atol)``: equal shapes, ``|a - b| <= atol + rtol * |b|``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (name, a.shape, b.shape)
    err = float(np.max(np.abs(a - b))) if a.size else 0.0
    print(f"{name}: max|a-b|={err:.3g} (rtol={rtol}, atol={atol})")
    assert np.all(np.abs(a - b) <= atol + rtol * np.abs(b)), (name, a, b)
    return err


def array_near(name: str, a, b, err: float) -> float:
    """``assertArrayNear(a, b, err)``: same length, ``|a_i - b_i| <= err``."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    assert len(a) == len(b), (name, a, b)
    worst = float(np.max(np.abs(a - b))) if a.size else 0.0
    print(f"{name}: got={a} expected={b} max|diff|={worst:.3g} (err={err})")
    assert np.all(np.abs(a - b) <= err), (name, a, b)
    return worst


def _np_allclose(name: str, got, expected, atol: float) -> float:
    """``np.testing.assert_allclose(got, expected, atol=atol)`` (rtol 1e-7), printing the figure."""
    got, expected = np.asarray(got), np.asarray(expected)
    err = float(np.max(np.abs(got.astype(np.float64) - expected.astype(np.float64)))) if got.size else 0.0
    print(f"{name}: max|keras-numpy|={err:.3g} (atol={atol})")
    np.testing.assert_allclose(got, expected, atol=atol, err_msg=name)
    return err


def compare_single_input_op_to_numpy(rng, keras_op, np_op, input_shape, dtype="float32", negative_values=True,
                                     keras_args=None, keras_kwargs=None, np_args=None, np_kwargs=None) -> float:
    keras_args, keras_kwargs = keras_args or [], keras_kwargs or {}
    np_args, np_kwargs = np_args or [], np_kwargs or {}
    inputs = 2.0 * rng.random_sample(input_shape)
    if negative_values:
        inputs -= 1.0
    keras_output = _ev(keras_op(K.variable(inputs, dtype=dtype), *keras_args, **keras_kwargs))
    np_output = np_op(inputs.astype(dtype), *np_args, **np_kwargs)
    return _np_allclose(f"{keras_op.__name__}{tuple(keras_args)}{keras_kwargs}", keras_output, np_output, 1e-4)


def compare_two_inputs_op_to_numpy(rng, keras_op, np_op, input_shape_a, input_shape_b, dtype="float32",
                                   keras_args=None, keras_kwargs=None, np_args=None, np_kwargs=None) -> float:
    keras_args, keras_kwargs = keras_args or [], keras_kwargs or {}
    np_args, np_kwargs = np_args or [], np_kwargs or {}
    input_a = rng.random_sample(input_shape_a)
    input_b = rng.random_sample(input_shape_b)
    keras_output = _ev(keras_op(K.variable(input_a, dtype=dtype), K.variable(input_b, dtype=dtype), *keras_args,
                                **keras_kwargs))
    np_output = np_op(input_a.astype(dtype), input_b.astype(dtype), *np_args, **np_kwargs)
    return _np_allclose(f"{keras_op.__name__}{input_shape_a}x{input_shape_b}", keras_output, np_output, 1e-4)


def _raises(errors, fn, *args, match: str | None = None, **kwargs) -> None:
    with pytest.raises(errors, match=match) as info:
        fn(*args, **kwargs)
    print(f"{getattr(fn, '__name__', fn)}: raised {type(info.value).__name__}: {str(info.value)[:90]}")


# --------------------------------------------------------------------------------------------------------------
# BackendUtilsTest
# --------------------------------------------------------------------------------------------------------------


def test_int_shape():
    x = K.ones(shape=(3, 4))
    print("int_shape:", K.int_shape(x))
    assert K.int_shape(x) == (3, 4)
    # graph mode only: int_shape(placeholder(shape=(None, 4))) == (None, 4)


def test_stop_gradient():
    # tf-keras's eager branch only calls stop_gradient (the op-name checks are graph mode); the values and, for
    # torch, the cut gradient are asserted here.
    x = K.variable(1)
    y = K.stop_gradient(x)
    xs = [K.variable(1) for _ in range(3)]
    ys = K.stop_gradient(xs)
    if K is keras_backend:  # tf-keras: a list; Keras 3.15.1: a `map` (one pass); torch_impl keeps tf-keras's list
        assert isinstance(ys, list)
    ys = list(ys)
    print("stop_gradient:", _ev(y), [float(_ev(v)) for v in ys])
    assert float(_ev(y)) == 1.0 and len(ys) == 3 and all(float(_ev(v)) == 1.0 for v in ys)
    if K is keras_backend:
        w = torch.tensor(2.0, requires_grad=True)
        out = K.stop_gradient(w * 3.0) + w
        out.backward()
        print("torch: d(stop_gradient(3w) + w)/dw =", w.grad.item())
        assert w.grad.item() == 1.0


def test_cast_to_floatx():
    x = K.variable(1, dtype="float64")
    x = K.cast_to_floatx(x)
    print("cast_to_floatx(float64 variable):", _dtype_name(x))
    assert _dtype_name(x) == "float32"
    x = K.cast_to_floatx(2)  # Keras 3.15.1: a float32 NumPy array; torch_impl: a float32 tensor
    print("cast_to_floatx(2):", type(x).__name__, _dtype_name(x))
    assert _dtype_name(x) == "float32"


# --------------------------------------------------------------------------------------------------------------
# BackendVariableTest
# --------------------------------------------------------------------------------------------------------------


def test_zeros():
    all_close("zeros", _ev(K.zeros((3, 4))), np.zeros((3, 4)))


def test_ones():
    all_close("ones", _ev(K.ones((3, 4))), np.ones((3, 4)))


def test_eye():
    all_close("eye", _ev(K.eye(4)), np.eye(4))


def test_zeros_like():
    all_close("zeros_like", _ev(K.zeros_like(K.zeros((3, 4)))), np.zeros((3, 4)))


def test_ones_like():
    all_close("ones_like", _ev(K.ones_like(K.zeros((3, 4)))), np.ones((3, 4)))


def test_random_uniform_variable():
    val = _ev(K.random_uniform_variable((30, 20), low=1.0, high=2.0, seed=0))
    all_close("mean", val.mean(), 1.5, atol=1e-1)
    all_close("max", val.max(), 2.0, atol=1e-1)
    all_close("min", val.min(), 1.0, atol=1e-1)


def test_random_normal_variable():
    val = _ev(K.random_normal_variable((30, 20), 1.0, 0.5, seed=0))
    all_close("mean", val.mean(), 1.0, atol=1e-1)
    all_close("std", val.std(), 0.5, atol=1e-1)


def test_count_params():
    val = K.count_params(K.zeros((4, 5)))
    all_close("count_params", val, 20)


def test_constant():
    ref_val = np.random.RandomState(1).random_sample((3, 4)).astype("float32")
    all_close("constant", _ev(K.constant(ref_val)), ref_val)


# --------------------------------------------------------------------------------------------------------------
# BackendLinearAlgebraTest
# --------------------------------------------------------------------------------------------------------------


def test_dot():
    xy = K.dot(K.ones(shape=(2, 3)), K.ones(shape=(3, 4)))
    assert _shape(xy) == [2, 4]
    xy = K.dot(K.ones(shape=(32, 28, 3)), K.ones(shape=(3, 4)))
    assert _shape(xy) == [32, 28, 4]
    print("dot shapes:", _shape(xy), "values (all 3):", np.unique(_ev(xy)))
    assert np.all(_ev(xy) == 3.0)  # added: ones . ones sums 3 ones


def _reference_batch_dot(x, y, axes):
    if isinstance(axes, int):
        axes = [axes, axes]
    elif isinstance(axes, tuple):
        axes = list(axes)
    if axes is None:
        if y.ndim == 2:
            axes = [x.ndim - 1, y.ndim - 1]
        else:
            axes = [x.ndim - 1, y.ndim - 2]
    if axes[0] < 0:
        axes[0] += x.ndim
    if axes[1] < 0:
        axes[1] += y.ndim
    result = []
    axes = [axes[0] - 1, axes[1] - 1]
    for xi, yi in zip(x, y):
        result.append(np.tensordot(xi, yi, axes))
    result = np.array(result)
    if result.ndim == 1:
        result = np.expand_dims(result, -1)
    return result


@pytest.mark.parametrize("x_shape,y_shape,output_shape,axes", [
    ((2, 3, 4, 5), (2, 5, 6, 7), (2, 3, 4, 6, 7), (3, 1)),
    ((2, 20, 1), (2, 30, 20), (2, 1, 30), (1, 2)),
    ((4, 2, 3), (4, 5, 3), (4, 2, 5), (2, 2)),
    ((4, 2), (4, 2, 3), (4, 3), (1, 1)),
    ((4, 2), (4, 2, 3), (4, 3), 1),
    ((4, 2, 3), (4, 3), (4, 2), (2, 1)),
])
def test_batch_dot(x_shape, y_shape, output_shape, axes):
    rng = np.random.RandomState(2)
    x_val = rng.random_sample(x_shape)
    y_val = rng.random_sample(y_shape)
    xy = K.batch_dot(K.variable(x_val), K.variable(y_val), axes=axes)
    assert tuple(_shape(xy)) == output_shape
    all_close(f"batch_dot{x_shape}x{y_shape} axes={axes}", _ev(xy), _reference_batch_dot(x_val, y_val, axes),
              atol=1e-5)


def test_reduction_ops():
    rng = np.random.RandomState(3)
    ops_to_test = [
        (K.max, np.max), (K.min, np.min), (K.sum, np.sum), (K.prod, np.prod), (K.var, np.var), (K.std, np.std),
        (K.mean, np.mean), (K.argmin, np.argmin), (K.argmax, np.argmax),
    ]
    worst = 0.0
    for keras_op, np_op in ops_to_test:
        worst = max(worst, compare_single_input_op_to_numpy(rng, keras_op, np_op, input_shape=(4, 7, 5),
                                                            keras_kwargs={"axis": 1}, np_kwargs={"axis": 1}))
        worst = max(worst, compare_single_input_op_to_numpy(rng, keras_op, np_op, input_shape=(4, 7, 5),
                                                            keras_kwargs={"axis": -1}, np_kwargs={"axis": -1}))
        if "keepdims" in inspect.signature(keras_op).parameters:
            worst = max(worst, compare_single_input_op_to_numpy(
                rng, keras_op, np_op, input_shape=(4, 7, 5), keras_kwargs={"axis": 1, "keepdims": True},
                np_kwargs={"axis": 1, "keepdims": True}))
    print(f"reduction ops: worst max|keras-numpy|={worst:.3g}")


def test_elementwise_ops():
    rng = np.random.RandomState(4)
    worst = 0.0
    for keras_op, np_op in [(K.square, np.square), (K.abs, np.abs), (K.round, np.round), (K.sign, np.sign),
                            (K.sin, np.sin), (K.cos, np.cos), (K.exp, np.exp)]:
        worst = max(worst, compare_single_input_op_to_numpy(rng, keras_op, np_op, input_shape=(4, 7)))
    for keras_op, np_op in [(K.sqrt, np.sqrt), (K.log, np.log)]:
        worst = max(worst, compare_single_input_op_to_numpy(rng, keras_op, np_op, input_shape=(4, 7),
                                                            negative_values=False))
    # tf-keras's bounds differ (2.4 / 1.4) but the inputs lie in [-1, 1): both clip at 0.1 only
    worst = max(worst, compare_single_input_op_to_numpy(
        rng, K.clip, np.clip, input_shape=(6, 4), keras_kwargs={"min_value": 0.1, "max_value": 2.4},
        np_kwargs={"a_min": 0.1, "a_max": 1.4}))
    worst = max(worst, compare_single_input_op_to_numpy(rng, K.pow, np.power, input_shape=(6, 4), keras_args=[3],
                                                        np_args=[3]))
    print(f"elementwise ops: worst max|keras-numpy|={worst:.3g}")


def test_two_tensor_ops():
    rng = np.random.RandomState(5)
    worst = 0.0
    for keras_op, np_op in [(K.equal, np.equal), (K.not_equal, np.not_equal), (K.greater, np.greater),
                            (K.greater_equal, np.greater_equal), (K.less, np.less), (K.less_equal, np.less_equal),
                            (K.maximum, np.maximum), (K.minimum, np.minimum)]:
        worst = max(worst, compare_two_inputs_op_to_numpy(rng, keras_op, np_op, input_shape_a=(4, 7),
                                                          input_shape_b=(4, 7)))
    print(f"two tensor ops: worst max|keras-numpy|={worst:.3g}")


RELU_CASES = [
    ({}, [[0, 0], [2, 7]]),
    ({"alpha": 0.5}, [[-2, 0], [2, 7]]),
    ({"max_value": 5.0}, [[0, 0], [2, 5]]),
    ({"max_value": 6.0}, [[0, 0], [2, 6]]),
    ({"max_value": 10.0}, [[0, 0], [2, 7]]),
    ({"max_value": 4.3}, [[0, 0], [2, 4.3]]),
    ({"max_value": 0.0}, [[0, 0], [0, 0]]),
    ({"alpha": 0.25, "max_value": 3.0}, [[-1, 0], [2, 3]]),
    ({"threshold": 3}, [[0, 0], [0, 7]]),
    ({"threshold": 1.5}, [[0, 0], [2, 7]]),
    ({"threshold": -5}, [[-4, 0], [2, 7]]),
    ({"threshold": 3, "max_value": 5.0}, [[0, 0], [0, 5]]),
    ({"alpha": 0.25, "threshold": 4.0}, [[-2, -1], [-0.5, 7]]),
    ({"alpha": 0.25, "threshold": 4.0, "max_value": 5.0}, [[-2, -1], [-0.5, 5]]),
]


def test_relu():
    # The op-name checks ("LeakyRelu", "Relu6") are graph mode only; the last part (GitHub issue 35430) builds a
    # Keras ReLU layer on an int64 Input, not K, and is not translated.
    x = K.constant([[-4, 0], [2, 7]], dtype="float32")
    worst = 0.0
    for kwargs, expected in RELU_CASES:
        worst = max(worst, all_close(f"relu({kwargs})", _ev(K.relu(x, **kwargs)), expected))
    print(f"relu: {len(RELU_CASES)} cases, worst {worst:.3g}")


# --------------------------------------------------------------------------------------------------------------
# BackendShapeOpsTest
# --------------------------------------------------------------------------------------------------------------


def test_reshape():
    compare_single_input_op_to_numpy(np.random.RandomState(6), K.reshape, np.reshape, input_shape=(4, 7),
                                     keras_args=[(2, 14)], np_args=[(2, 14)])


def test_concatenate():
    a = K.variable(np.ones((1, 2, 3)))
    b = K.variable(np.ones((1, 2, 2)))
    y = K.concatenate([a, b], axis=-1)
    print("concatenate:", _shape(y))
    assert _shape(y) == [1, 2, 5]


def test_permute_dimensions():
    compare_single_input_op_to_numpy(np.random.RandomState(7), K.permute_dimensions, np.transpose,
                                     input_shape=(4, 7), keras_args=[(1, 0)], np_args=[(1, 0)])


def test_resize_images():
    x = K.variable(np.ones((1, 2, 2, 3)))
    y = K.resize_images(x, 2, 2, "channels_last")
    assert _shape(y) == [1, 4, 4, 3]
    x = K.variable(np.ones((1, 3, 2, 2)))
    y = K.resize_images(x, 2, 2, "channels_first")
    print("resize_images:", _shape(y))
    assert _shape(y) == [1, 3, 4, 4]
    all_close("resize_images values (added: ones stay ones)", _ev(y), np.ones((1, 3, 4, 4)))
    # graph mode only: a placeholder with None spatial dimensions
    _raises(ValueError, K.resize_images, x, 2, 2, data_format="unknown")


def test_resize_volumes():
    x = K.variable(np.ones((1, 2, 2, 2, 3)))
    assert _shape(K.resize_volumes(x, 2, 2, 2, "channels_last")) == [1, 4, 4, 4, 3]
    x = K.variable(np.ones((1, 3, 2, 2, 2)))
    y = K.resize_volumes(x, 2, 2, 2, "channels_first")
    print("resize_volumes:", _shape(y))
    assert _shape(y) == [1, 3, 4, 4, 4]
    _raises(ValueError, K.resize_volumes, x, 2, 2, 2, data_format="unknown")


def test_repeat_elements():
    y = K.repeat_elements(K.variable(np.ones((1, 3, 2))), 3, axis=1)
    print("repeat_elements:", _shape(y))
    assert _shape(y) == [1, 9, 2]
    # graph mode only: a placeholder with a None axis


def test_repeat():
    y = K.repeat(K.variable(np.ones((1, 3))), 2)
    print("repeat:", _shape(y))
    assert _shape(y) == [1, 2, 3]


def test_flatten():
    compare_single_input_op_to_numpy(np.random.RandomState(8), K.flatten, np.reshape, input_shape=(4, 7, 6),
                                     np_args=[(4 * 7 * 6,)])


def test_batch_flatten():
    compare_single_input_op_to_numpy(np.random.RandomState(9), K.batch_flatten, np.reshape, input_shape=(4, 7, 6),
                                     np_args=[(4, 7 * 6)])


def test_temporal_padding():
    def ref_op(x, padding):
        shape = list(x.shape)
        shape[1] += padding[0] + padding[1]
        y = np.zeros(tuple(shape))
        y[:, padding[0]:-padding[1], :] = x
        return y

    compare_single_input_op_to_numpy(np.random.RandomState(10), K.temporal_padding, ref_op, input_shape=(4, 7, 6),
                                     keras_args=[(2, 3)], np_args=[(2, 3)])


def test_spatial_2d_padding():
    def ref_op(x, padding, data_format="channels_last"):
        shape = list(x.shape)
        if data_format == "channels_last":
            shape[1] += padding[0][0] + padding[0][1]
            shape[2] += padding[1][0] + padding[1][1]
            y = np.zeros(tuple(shape))
            y[:, padding[0][0]:-padding[0][1], padding[1][0]:-padding[1][1], :] = x
        else:
            shape[2] += padding[0][0] + padding[0][1]
            shape[3] += padding[1][0] + padding[1][1]
            y = np.zeros(tuple(shape))
            y[:, :, padding[0][0]:-padding[0][1], padding[1][0]:-padding[1][1]] = x
        return y

    rng = np.random.RandomState(11)
    for data_format in ("channels_last", "channels_first"):
        compare_single_input_op_to_numpy(rng, K.spatial_2d_padding, ref_op, input_shape=(2, 3, 2, 3),
                                         keras_args=[((2, 3), (1, 2))], keras_kwargs={"data_format": data_format},
                                         np_args=[((2, 3), (1, 2))], np_kwargs={"data_format": data_format})


def test_spatial_3d_padding():
    def ref_op(x, padding, data_format="channels_last"):
        shape = list(x.shape)
        if data_format == "channels_last":
            shape[1] += padding[0][0] + padding[0][1]
            shape[2] += padding[1][0] + padding[1][1]
            shape[3] += padding[2][0] + padding[2][1]
            y = np.zeros(tuple(shape))
            y[:, padding[0][0]:-padding[0][1], padding[1][0]:-padding[1][1], padding[2][0]:-padding[2][1], :] = x
        else:
            shape[2] += padding[0][0] + padding[0][1]
            shape[3] += padding[1][0] + padding[1][1]
            shape[4] += padding[2][0] + padding[2][1]
            y = np.zeros(tuple(shape))
            y[:, :, padding[0][0]:-padding[0][1], padding[1][0]:-padding[1][1], padding[2][0]:-padding[2][1]] = x
        return y

    rng = np.random.RandomState(12)
    for data_format in ("channels_last", "channels_first"):
        compare_single_input_op_to_numpy(rng, K.spatial_3d_padding, ref_op, input_shape=(2, 3, 2, 3, 2),
                                         keras_args=[((2, 3), (1, 2), (2, 3))],
                                         keras_kwargs={"data_format": data_format},
                                         np_args=[((2, 3), (1, 2), (2, 3))], np_kwargs={"data_format": data_format})


# --------------------------------------------------------------------------------------------------------------
# BackendNNOpsTest
# --------------------------------------------------------------------------------------------------------------


def test_bias_add():
    rng = np.random.RandomState(13)
    for shape_a in [(4, 7), (4, 3, 7), (4, 3, 5, 7), (4, 3, 5, 2, 7)]:
        compare_two_inputs_op_to_numpy(rng, K.bias_add, np.add, input_shape_a=shape_a, input_shape_b=(7,))
    # tf-keras: assertRaises((ValueError, tf.errors.InvalidArgumentError)); x and b are the 1-D tensors [3., 4.]
    _raises(BIAS_ADD_ERRORS, K.bias_add, K.variable((3, 4)), K.variable((3, 4)))
    _raises(ValueError, K.bias_add, K.variable((3, 4)), K.variable((4,)), data_format="unknown")


def test_bias_add_channels_first():
    def keras_op(x, b):
        return K.bias_add(x, b, data_format="channels_first")

    def np_op(x, b):
        if x.ndim == 3:
            b = b.reshape((1, b.shape[0], 1))
        if x.ndim == 4:
            b = b.reshape((1, b.shape[0], 1, 1))
        return x + b

    rng = np.random.RandomState(14)
    compare_two_inputs_op_to_numpy(rng, keras_op, np_op, input_shape_a=(4, 3, 7), input_shape_b=(3,))
    compare_two_inputs_op_to_numpy(rng, keras_op, np_op, input_shape_a=(4, 3, 5, 7), input_shape_b=(3,))


def test_pool2d():
    rng = np.random.RandomState(15)
    x = K.variable(rng.random_sample((10, 3, 10, 10)))
    assert _shape(K.pool2d(x, (2, 2), strides=(1, 1), padding="valid", data_format="channels_first",
                           pool_mode="max")) == [10, 3, 9, 9]
    assert _shape(K.pool2d(x, (2, 2), strides=(1, 1), padding="valid", data_format="channels_first",
                           pool_mode="avg")) == [10, 3, 9, 9]
    x = K.variable(rng.random_sample((10, 10, 10, 3)))
    assert _shape(K.pool2d(x, (2, 2), strides=(1, 1), padding="valid", data_format="channels_last")) == [10, 9, 9, 3]
    assert _shape(K.pool2d(x, (2, 2), strides=(1, 1), padding="same", data_format="channels_last")) == [10, 10, 10, 3]
    y = K.pool2d(x, (2, 2), strides=(2, 2), padding="same", data_format="channels_last")
    print("pool2d: last shape", _shape(y))
    assert _shape(y) == [10, 5, 5, 3]
    _raises(ValueError, K.pool2d, x, (2, 2), strides=(2, 2), padding="other", data_format="channels_last")
    _raises(ValueError, K.pool2d, x, (2, 2), strides=(2, 2), data_format="other")
    _raises(ValueError, K.pool2d, x, (2, 2, 2), strides=(2, 2))
    _raises(ValueError, K.pool2d, x, (2, 2), strides=(2, 2, 2))
    _raises(ValueError, K.pool2d, x, (2, 2), strides=(2, 2), pool_mode="other")


def test_pool3d():
    rng = np.random.RandomState(16)
    x = K.variable(rng.random_sample((10, 3, 10, 10, 10)))
    assert _shape(K.pool3d(x, (2, 2, 2), strides=(1, 1, 1), padding="valid", data_format="channels_first",
                           pool_mode="max")) == [10, 3, 9, 9, 9]
    assert _shape(K.pool3d(x, (2, 2, 2), strides=(1, 1, 1), padding="valid", data_format="channels_first",
                           pool_mode="avg")) == [10, 3, 9, 9, 9]
    x = K.variable(rng.random_sample((10, 10, 10, 10, 3)))
    assert _shape(K.pool3d(x, (2, 2, 2), strides=(1, 1, 1), padding="valid",
                           data_format="channels_last")) == [10, 9, 9, 9, 3]
    assert _shape(K.pool3d(x, (2, 2, 2), strides=(1, 1, 1), padding="same",
                           data_format="channels_last")) == [10, 10, 10, 10, 3]
    y = K.pool3d(x, (2, 2, 2), strides=(2, 2, 2), padding="same", data_format="channels_last")
    print("pool3d: last shape", _shape(y))
    assert _shape(y) == [10, 5, 5, 5, 3]


def test_conv1d():
    rng = np.random.RandomState(17)
    x = K.variable(rng.random_sample((10, 4, 10)))
    k = K.variable(rng.random_sample((3, 4, 5)))
    assert _shape(K.conv1d(x, k, strides=(1,), padding="valid", data_format="channels_first")) == [10, 5, 8]
    x = K.variable(rng.random_sample((10, 10, 4)))
    assert _shape(K.conv1d(x, k, strides=(1,), padding="valid", data_format="channels_last")) == [10, 8, 5]
    assert _shape(K.conv1d(x, k, strides=(1,), padding="same", data_format="channels_last")) == [10, 10, 5]
    y = K.conv1d(x, k, strides=(2,), padding="same", data_format="channels_last")
    print("conv1d: last shape", _shape(y))
    assert _shape(y) == [10, 5, 5]


def test_conv2d():
    rng = np.random.RandomState(18)
    k = K.variable(rng.random_sample((3, 3, 4, 5)))
    x = K.variable(rng.random_sample((10, 4, 10, 10)))
    assert _shape(K.conv2d(x, k, padding="valid", data_format="channels_first")) == [10, 5, 8, 8]
    x = K.variable(rng.random_sample((10, 10, 10, 4)))
    assert _shape(K.conv2d(x, k, strides=(1, 1), padding="valid", data_format="channels_last")) == [10, 8, 8, 5]
    assert _shape(K.conv2d(x, k, padding="same", data_format="channels_last")) == [10, 10, 10, 5]
    assert _shape(K.conv2d(x, k, dilation_rate=(2, 2), padding="same",
                           data_format="channels_last")) == [10, 10, 10, 5]
    y = K.conv2d(x, k, strides=(2, 2), padding="same", data_format="channels_last")
    print("conv2d: last shape", _shape(y))
    assert _shape(y) == [10, 5, 5, 5]
    _raises(ValueError, K.conv2d, x, k, (2, 2), padding="other", data_format="channels_last")
    _raises(ValueError, K.conv2d, x, k, (2, 2), data_format="other")
    _raises(ValueError, K.conv2d, x, k, (2, 2, 2))


def test_conv2d_transpose():
    input_size, kernel_size, input_depth, filters, batch_size = (7, 8), (3, 3), 6, 6, 2
    rng = np.random.RandomState(19)
    k = K.variable(rng.random_sample(kernel_size + (input_depth, filters)))
    x = K.variable(rng.random_sample((batch_size, input_depth) + input_size))
    y = K.conv2d_transpose(x, k, (batch_size, filters) + input_size, padding="same", data_format="channels_first")
    assert tuple(_shape(y)) == (batch_size, filters) + input_size
    x = K.variable(rng.random_sample((batch_size,) + input_size + (input_depth,)))
    y = K.conv2d_transpose(x, k, (batch_size,) + input_size + (filters,), padding="same",
                           data_format="channels_last")
    assert tuple(_shape(y)) == (batch_size,) + input_size + (filters,)
    y = K.conv2d_transpose(x, k, (batch_size,) + input_size + (filters,), padding="same",
                           data_format="channels_last", dilation_rate=(2, 2))
    assert tuple(_shape(y)) == (batch_size,) + input_size + (filters,)
    _raises(ValueError, K.conv2d_transpose, x, k, (batch_size,) + input_size + (filters,), padding="same",
            data_format="channels_last", dilation_rate=(1, 2), match="Expected the 2 dimensions")
    y = K.conv2d_transpose(x, k, (None,) + input_size + (filters,), padding="same", data_format="channels_last")
    print("conv2d_transpose: batch None ->", _shape(y))
    assert tuple(_shape(y)) == (batch_size,) + input_size + (filters,)
    _raises(ValueError, K.conv2d_transpose, x, k, (2, 2, 8, 9), padding="other", data_format="channels_last")
    _raises(ValueError, K.conv2d_transpose, x, k, (2, 2, 8, 9), data_format="other")


def test_separable_conv2d():
    rng = np.random.RandomState(20)
    x = K.variable(rng.random_sample((10, 4, 10, 10)))
    dk = K.variable(rng.random_sample((3, 3, 4, 1)))
    pk = K.variable(rng.random_sample((1, 1, 4, 5)))
    assert _shape(K.separable_conv2d(x, dk, pk, padding="valid", data_format="channels_first")) == [10, 5, 8, 8]
    x = K.variable(rng.random_sample((10, 10, 10, 4)))
    assert _shape(K.separable_conv2d(x, dk, pk, strides=(1, 1), padding="valid",
                                     data_format="channels_last")) == [10, 8, 8, 5]
    assert _shape(K.separable_conv2d(x, dk, pk, strides=(1, 1), padding="same",
                                     data_format="channels_last")) == [10, 10, 10, 5]
    y = K.separable_conv2d(x, dk, pk, strides=(2, 2), padding="same", data_format="channels_last")
    print("separable_conv2d: last shape", _shape(y))
    assert _shape(y) == [10, 5, 5, 5]
    _raises(ValueError, K.separable_conv2d, x, dk, pk, (2, 2), padding="other", data_format="channels_last")
    _raises(ValueError, K.separable_conv2d, x, dk, pk, (2, 2), data_format="other")
    _raises(ValueError, K.separable_conv2d, x, dk, pk, (2, 2, 2))


def test_conv3d():
    rng = np.random.RandomState(21)
    x = K.variable(rng.random_sample((10, 4, 10, 10, 10)))
    k = K.variable(rng.random_sample((3, 3, 3, 4, 5)))
    assert _shape(K.conv3d(x, k, padding="valid", data_format="channels_first")) == [10, 5, 8, 8, 8]
    x = K.variable(rng.random_sample((10, 10, 10, 10, 4)))
    assert _shape(K.conv3d(x, k, strides=(1, 1, 1), padding="valid",
                           data_format="channels_last")) == [10, 8, 8, 8, 5]
    assert _shape(K.conv3d(x, k, strides=(1, 1, 1), padding="same",
                           data_format="channels_last")) == [10, 10, 10, 10, 5]
    y = K.conv3d(x, k, strides=(2, 2, 2), padding="same", data_format="channels_last")
    print("conv3d: last shape", _shape(y))
    assert _shape(y) == [10, 5, 5, 5, 5]
    _raises(ValueError, K.conv3d, x, k, (2, 2, 2), padding="other", data_format="channels_last")
    _raises(ValueError, K.conv3d, x, k, (2, 2, 2), data_format="other")
    _raises(ValueError, K.conv3d, x, k, (2, 2))


def _rnn_inputs(rng, num_samples=4, input_dim=5, output_dim=3, timesteps=6):
    input_val = rng.random_sample((num_samples, timesteps, input_dim)).astype(np.float32)
    init_state_val = rng.random_sample((num_samples, output_dim)).astype(np.float32)
    w_i_val = rng.random_sample((input_dim, output_dim)).astype(np.float32)
    w_o_val = rng.random_sample((output_dim, output_dim)).astype(np.float32)
    np_mask = rng.randint(2, size=(num_samples, timesteps))
    return input_val, init_state_val, w_i_val, w_o_val, np_mask


def _rnn_kwargs(mask):
    return [
        {"go_backwards": False, "mask": None},
        {"go_backwards": False, "mask": None, "unroll": True},
        {"go_backwards": True, "mask": None},
        {"go_backwards": True, "mask": None, "unroll": True},
        {"go_backwards": False, "mask": mask},
        {"go_backwards": False, "mask": mask, "unroll": True},
    ]


def _assert_pairs(lists: list, pairs=((0, 1), (2, 3))) -> float:
    """tf-keras's loop of assertAllClose(atol=1e-4) between the unrolled and the looped runs (the lists hold one
    entry each, so its ``assert_list_pairwise`` calls compare nothing)."""
    worst = 0.0
    for name, per_kwargs in lists:
        for i, j in pairs:
            for a, b in zip(per_kwargs[i], per_kwargs[j]):
                worst = max(worst, all_close(f"{name}[{i}] vs [{j}]", a, b, atol=1e-4))
    return worst


def test_rnn():
    num_samples, output_dim, timesteps = 4, 3, 6
    input_val, init_state_val, w_i_val, w_o_val, np_mask = _rnn_inputs(np.random.RandomState(22))
    w_i, w_o = K.variable(w_i_val), K.variable(w_o_val)

    def step_function(x, states):
        assert len(states) == 1
        output = K.dot(x, w_i) + K.dot(states[0], w_o)
        return output, [output]

    inputs = K.variable(input_val)
    initial_states = [K.variable(init_state_val)]
    mask = K.variable(np_mask)
    last_output_list, outputs_list, state_list = [[] for _ in range(6)], [[] for _ in range(6)], [[] for _ in range(6)]
    for i, kwargs in enumerate(_rnn_kwargs(mask)):
        last_output, outputs, new_states = K.rnn(step_function, inputs, initial_states, **kwargs)
        assert _shape(last_output) == [num_samples, output_dim]
        assert _shape(outputs) == [num_samples, timesteps, output_dim]
        for state in new_states:
            assert _shape(state) == [num_samples, output_dim]
        assert len(new_states) == 1
        last_output_list[i].append(_ev(last_output))
        outputs_list[i].append(_ev(outputs))
        state_list[i].append(_ev(new_states[0]))
    worst = _assert_pairs([("last_output", last_output_list), ("outputs", outputs_list), ("state", state_list)])
    print(f"rnn: unrolled vs loop, worst {worst:.3g}")


def test_rnn_additional_states():
    num_samples, output_dim, timesteps = 4, 3, 6
    input_val, init_state_val, w_i_val, w_o_val, np_mask = _rnn_inputs(np.random.RandomState(23))
    w_i, w_o = K.variable(w_i_val), K.variable(w_o_val)

    def step_function(x, states):
        assert len(states) == 2
        output = K.dot(x, w_i) + K.dot(states[0], w_o)
        return output, [output, K.concatenate([output, output], axis=-1)]

    inputs = K.variable(input_val)
    initial_states = [K.variable(init_state_val),
                      K.constant(np.concatenate([init_state_val, init_state_val], axis=-1))]
    mask = K.variable(np_mask)
    lists = [[[] for _ in range(6)] for _ in range(4)]
    for i, kwargs in enumerate(_rnn_kwargs(mask)):
        last_output, outputs, new_states = K.rnn(step_function, inputs, initial_states, **kwargs)
        assert _shape(last_output) == [num_samples, output_dim]
        assert _shape(outputs) == [num_samples, timesteps, output_dim]
        assert _shape(new_states[0]) == [num_samples, output_dim]
        assert _shape(new_states[1]) == [num_samples, 2 * output_dim]
        assert len(new_states) == 2
        for lst, value in zip(lists, (last_output, outputs, new_states[0], new_states[1])):
            lst[i].append(_ev(value))
    worst = _assert_pairs(list(zip(("last_output", "outputs", "state", "additional_state"), lists)))
    print(f"rnn additional states: unrolled vs loop, worst {worst:.3g}")


def test_rnn_output_and_state_masking_independent():
    num_samples, num_timesteps, state_and_io_size, mask_last_num_timesteps = 2, 4, 2, 2

    def step_function(inputs, states):
        return inputs, [s + 1 for s in states]

    rng = np.random.RandomState(24)
    inputs_vals = rng.random_sample((num_samples, num_timesteps, state_and_io_size))
    initial_state_vals = rng.random_sample((num_samples, state_and_io_size))
    mask_vals = np.ones((num_samples, num_timesteps))
    mask_vals[1, -mask_last_num_timesteps:] = 0
    expected_outputs = inputs_vals.copy()
    expected_outputs[1, -mask_last_num_timesteps:] = expected_outputs[1, -(mask_last_num_timesteps + 1)]
    expected_last_state = initial_state_vals.copy()
    expected_last_state[0] += num_timesteps
    expected_last_state[1] += num_timesteps - mask_last_num_timesteps

    inputs = K.variable(inputs_vals)
    initial_states = [K.variable(initial_state_vals)]
    mask = K.variable(mask_vals)
    for unroll in [True, False]:
        _, outputs, last_states = K.rnn(step_function, inputs, initial_states, mask=mask, unroll=unroll,
                                        input_length=num_timesteps if unroll else None)
        all_close(f"outputs unroll={unroll}", _ev(outputs), expected_outputs)
        all_close(f"last state unroll={unroll}", _ev(last_states[0]), expected_last_state)


def test_rnn_output_num_dim_larger_than_2_masking():
    num_samples, num_timesteps, num_features = 3, 4, 5

    def step_function(inputs, states):
        outputs = K.tile(K.expand_dims(inputs), [1, 1, 2])
        return outputs, list(states)  # tf-keras: [backend.identity(s) for s in states]; Keras 3 has no identity

    rng = np.random.RandomState(25)
    inputs_vals = rng.random_sample((num_samples, num_timesteps, num_features))
    initial_state_vals = rng.random_sample((num_samples, 6))
    mask_vals = np.ones((num_samples, num_timesteps))
    mask_vals[-1, -1] = 0
    expected_outputs = np.repeat(inputs_vals[..., None], repeats=2, axis=-1)
    expected_outputs[-1, -1] = expected_outputs[-1, -2]

    inputs = K.variable(inputs_vals)
    initial_states = [K.variable(initial_state_vals)]
    mask = K.variable(mask_vals)
    for unroll in [True, False]:
        _, outputs, _ = K.rnn(step_function, inputs, initial_states, mask=mask, unroll=unroll,
                              input_length=num_timesteps if unroll else None)
        all_close(f"outputs unroll={unroll}", _ev(outputs), expected_outputs)


def _state_rank3_case(rng):
    num_samples, num_timesteps = 3, 4

    def step_function(inputs, states):
        return inputs, [s + 1 for s in states]

    inputs_vals = rng.random_sample((num_samples, num_timesteps, 5))
    initial_state_vals = rng.random_sample((num_samples, 6, 7))
    mask_vals = np.ones((num_samples, num_timesteps))
    mask_vals[0, -2:] = 0
    expected_last_state = initial_state_vals.copy()
    expected_last_state[0] += num_timesteps - 2
    expected_last_state[1:] += num_timesteps
    return (step_function, K.variable(inputs_vals), [K.variable(initial_state_vals)], K.variable(mask_vals),
            expected_last_state, num_timesteps)


def test_rnn_state_num_dim_larger_than_2_masking():
    step_function, inputs, initial_states, mask, expected, num_timesteps = _state_rank3_case(
        np.random.RandomState(26))
    for unroll in [True, False]:
        _, _, last_states = K.rnn(step_function, inputs, initial_states, mask=mask, unroll=unroll,
                                  input_length=num_timesteps if unroll else None)
        all_close(f"last state unroll={unroll}", _ev(last_states[0]), expected)


def test_rnn_function_jit_compile_no_unroll_input_length_none():
    # tf-keras runs this body under tf.function(jit_compile=True) (XLA); the body and its numbers are translated.
    step_function, inputs, initial_states, mask, expected, _ = _state_rank3_case(np.random.RandomState(27))
    _, _, last_states = K.rnn(step_function, inputs, initial_states, mask=mask, unroll=False, input_length=None)
    all_close("last state (loop, input_length=None)", _ev(last_states[0]), expected)


def test_batch_normalization():
    rng = np.random.RandomState(28)
    gamma = K.variable(rng.random_sample((3,)))
    beta = K.variable(rng.random_sample((3,)))
    for shape, axes in [((10, 5, 3), (0, 1)), ((10, 5, 5, 3), (0, 1, 2))]:
        x = K.variable(rng.random_sample(shape))
        mean, var = K.mean(x, axes), K.var(x, axes)  # tf.nn.moments(x, axes)
        normed = K.batch_normalization(x, mean, var, beta, gamma, axis=-1, epsilon=1e-3)
        assert _shape(normed) == list(shape)
        # added: the moments of the result are beta and gamma * sqrt(var / (var + eps))
        got_mean = _ev(K.mean(normed, axes))
        all_close(f"batch_normalization{shape}: mean of the result = beta", got_mean, _ev(beta), atol=1e-5)
    # the NCHW case (axis=1) is graph mode only in tf-keras; Keras 3.15.1 ignores `axis` there (module docstring)


def test_dropout():
    np.random.seed(29)  # dropout's seed=None draws np.random.randint(10e6) (Keras's rule)
    inputs = K.ones((200, 200))
    outputs_val = _ev(K.dropout(inputs, 0.2))
    print(f"dropout: min={np.min(outputs_val)} nonzero={np.count_nonzero(outputs_val)} (32000 +- 1000)")
    assert np.min(outputs_val) == 0
    all_close("count_nonzero", np.count_nonzero(outputs_val), 32000, atol=1000)
    outputs_val = _ev(K.dropout(inputs, 0.2, noise_shape=(200, 1)))
    print(f"dropout noise_shape=(200, 1): row 0 min={np.min(outputs_val[0, :])} max={np.max(outputs_val[0, :])}")
    assert np.min(outputs_val[0, :]) == np.max(outputs_val[0, :])


# --------------------------------------------------------------------------------------------------------------
# BackendCrossEntropyLossesTest
# --------------------------------------------------------------------------------------------------------------

LOGITS_1 = [[8.0, 1.0, 1.0]]
LOGITS_3 = [[8.0, 1.0, 1.0], [0.0, 9.0, 1.0], [2.0, 3.0, 5.0]]
P_3 = [[0.9, 0.05, 0.05], [0.05, 0.89, 0.06], [0.05, 0.01, 0.94]]


def test_binary_crossentropy_with_sigmoid():
    t = K.constant([[0, 1, 0]])
    p = K.sigmoid(K.constant(LOGITS_1))
    array_near("bce(sigmoid)", _ev(K.binary_crossentropy(t, p))[0], [8.0, 0.313, 1.313], 1e-3)


def test_categorical_crossentropy_loss():
    t = K.constant(np.eye(3))
    array_near("cce", _ev(K.categorical_crossentropy(t, K.constant(P_3))), [0.105, 0.116, 0.062], 1e-3)
    p = K.constant([[0.9, 0.05, 0.05], [0.05, 0.89, 0.01], [0.05, 0.06, 0.94]])
    array_near("cce axis=0", _ev(K.categorical_crossentropy(t, p, axis=0)), [0.105, 0.116, 0.062], 1e-3)
    p = K.constant(LOGITS_3)
    array_near("cce logits", _ev(K.categorical_crossentropy(t, p, from_logits=True)), [0.002, 0, 0.17], 1e-3)
    p = K.constant([[8.0, 0.0, 2.0], [1.0, 9.0, 3.0], [1.0, 1.0, 5.0]])
    array_near("cce logits axis=0", _ev(K.categorical_crossentropy(t, p, from_logits=True, axis=0)),
               [0.002, 0, 0.17], 1e-3)


def test_categorical_crossentropy_loss_with_unknown_rank_tensor():
    # placeholders of unknown rank -> tensors of known rank; the numbers are tf-keras's
    t = K.constant(np.eye(3))
    p = K.constant(P_3)
    array_near("cce", _ev(K.categorical_crossentropy(t, p)), [0.105, 0.116, 0.062], 1e-3)
    array_near("cce axis=0", _ev(K.categorical_crossentropy(t, p, axis=0)), [0.105, 0.065, 0.111], 1e-3)
    p = K.constant(LOGITS_3)
    array_near("cce logits", _ev(K.categorical_crossentropy(t, p, from_logits=True)), [0.002, 0, 0.17], 1e-3)
    array_near("cce logits axis=0", _ev(K.categorical_crossentropy(t, p, from_logits=True, axis=0)),
               [0.002, 0.003, 0.036], 1e-3)


def test_categorical_crossentropy_with_softmax():
    t = K.constant(np.eye(3))
    p = K.softmax(K.constant(LOGITS_3))
    array_near("cce(softmax)", _ev(K.categorical_crossentropy(t, p)), [0.002, 0.0005, 0.17], 1e-3)


def test_sparse_categorical_crossentropy_loss():
    t = K.constant([0, 1, 2])
    array_near("scce", _ev(K.sparse_categorical_crossentropy(t, K.constant(P_3))), [0.105, 0.116, 0.062], 1e-3)
    p = K.constant([[0.9, 0.05, 0.05], [0.05, 0.89, 0.01], [0.05, 0.06, 0.94]])
    array_near("scce axis=0", _ev(K.sparse_categorical_crossentropy(t, p, axis=0)), [0.105, 0.116, 0.062], 1e-3)
    p = K.constant(LOGITS_3)
    array_near("scce logits", _ev(K.sparse_categorical_crossentropy(t, p, from_logits=True)), [0.002, 0, 0.17],
               1e-3)
    p = K.constant([[8.0, 0.0, 2.0], [1.0, 9.0, 3.0], [1.0, 1.0, 5.0]])
    array_near("scce logits axis=0", _ev(K.sparse_categorical_crossentropy(t, p, from_logits=True, axis=0)),
               [0.002, 0, 0.17], 1e-3)


def test_sparse_categorical_crossentropy_loss_with_ignore_class():
    p = K.softmax(K.constant([[1.8, 1.2, 0.5], [0.2, 3.8, 0.8], [1.1, 0.4, 3.4], [1.3, 0.7, 3.8]]))
    for t, ignore_class in (([255, 1, 2, 2], 255), ([-1, 1, 2, 2], -1)):
        result = K.sparse_categorical_crossentropy(K.constant(t), p, ignore_class=ignore_class)
        array_near(f"scce ignore_class={ignore_class}", _ev(result), [0.0, 0.07428224, 0.13980183, 0.11967831], 1e-3)


def test_sparse_cce_loss_with_ignore_class_for_segmentation():
    t = K.constant([[[0, 2], [-1, -1]], [[0, 2], [-1, -1]], [[0, 0], [0, 0]]])
    p = K.constant([
        [[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], [[0.2, 0.5, 0.3], [0.0, 1.0, 0.0]]],
        [[[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]], [[0.2, 0.5, 0.3], [0.0, 1.0, 0.0]]],
        [[[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]], [[0.1, 0.9, 0.0], [0.2, 0.8, 0.0]]],
    ])
    expected_result = [[[0.0, 0.0], [0.0, 0.0]], [[0.0, 0.693148], [0.0, 0.0]], [[0.0, 0.0], [2.302585, 1.609438]]]
    # tf-keras's expected_mask is backend.constant(bools): floatx 1.0 / 0.0, compared with assertAllEqual
    expected_mask = np.array([[[True, True], [False, False]], [[True, True], [False, False]],
                              [[True, True], [True, True]]])
    result = K.sparse_categorical_crossentropy(t, p, ignore_class=-1)
    mask = getattr(result, "_keras_mask", None)  # losses_utils.get_mask(result)
    assert mask is not None, "expected the `_keras_mask` attribute when `ignore_class is not None`"
    mask = _ev(mask)
    print("mask:", mask.astype(int).tolist())
    np.testing.assert_array_equal(mask, expected_mask)
    all_close("scce segmentation", _ev(result), expected_result, atol=1e-6)


def test_sparse_categorical_crossentropy_loss_with_unknown_rank_tensor():
    # graph-mode placeholders -> tensors of known rank; the numbers are tf-keras's. The `axis=0` ValueError
    # ("Cannot compute sparse categorical crossentropy with `axis=0`") exists only for an unknown rank.
    t = K.constant([0, 1, 2])
    array_near("scce", _ev(K.sparse_categorical_crossentropy(t, K.constant(P_3))), [0.105, 0.116, 0.062], 1e-3)
    array_near("scce logits", _ev(K.sparse_categorical_crossentropy(t, K.constant(LOGITS_3), from_logits=True)),
               [0.002, 0, 0.17], 1e-3)


def test_sparse_categorical_crossentropy_with_softmax():
    p = K.softmax(K.constant(LOGITS_3))
    array_near("scce(softmax)", _ev(K.sparse_categorical_crossentropy(K.constant([0, 1, 2]), p)),
               [0.002, 0.0005, 0.17], 1e-3)


def _no_warning(name: str, fn) -> None:
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        _ev(fn())
    print(f"{name}: {len(w)} warnings")
    assert not w, [str(x.message) for x in w]


def test_binary_crossentropy_from_logits_no_warnings():
    t, logits = K.constant([[0, 1, 0]]), K.constant(LOGITS_1)
    _no_warning("bce from_logits", lambda: K.binary_crossentropy(t, logits, from_logits=True))


def test_binary_crossentropy_from_logits_with_sigmoid():
    # tf-keras warns "received `from_logits=True`"; Keras 3.15.1's legacy backend (and torch_impl) does not
    t = K.constant([[0, 1, 0]])
    p = ACT.sigmoid(K.constant(LOGITS_1))
    _no_warning("bce(activations.sigmoid) from_logits", lambda: K.binary_crossentropy(t, p, from_logits=True))


def test_categorical_crossentropy_from_logits_with_softmax():
    # tf-keras warns; Keras 3.15.1 (and torch_impl) does not
    t = K.constant(np.eye(3))
    p = ACT.softmax(K.constant(LOGITS_3))
    _no_warning("cce(activations.softmax) from_logits", lambda: K.categorical_crossentropy(t, p, from_logits=True))


def test_sparse_categorical_crossentropy_from_logits_with_softmax():
    # tf-keras warns; Keras 3.15.1 (and torch_impl) does not
    t = K.constant([0, 1, 2])
    p = ACT.softmax(K.constant(LOGITS_3))
    _no_warning("scce(activations.softmax) from_logits",
                lambda: K.sparse_categorical_crossentropy(t, p, from_logits=True))


def test_binary_focal_crossentropy_with_sigmoid():
    t = K.constant([[0, 1, 0]])
    p = K.sigmoid(K.constant(LOGITS_1))
    array_near("bfce(sigmoid)", _ev(K.binary_focal_crossentropy(t, p, gamma=2.0))[0], [7.995, 0.022, 0.701], 1e-3)


def test_categorical_focal_crossentropy_with_softmax():
    t = K.constant([[0, 1, 0]])
    p = K.softmax(K.constant(LOGITS_1))
    array_near("cfce(softmax)", _ev(K.categorical_focal_crossentropy(t, p, gamma=2.0)), [1.747], 1e-3)


def test_binary_focal_crossentropy_from_logits():
    t = K.constant([[0, 1, 0]])
    result = K.binary_focal_crossentropy(target=t, output=K.constant(LOGITS_1), gamma=2.0, from_logits=True)
    array_near("bfce logits", _ev(result)[0], [7.995, 0.022, 0.701], 1e-3)


def test_categorical_focal_crossentropy_from_logits():
    t = K.constant([[0, 1, 0]])
    result = K.categorical_focal_crossentropy(target=t, output=K.constant(LOGITS_1), from_logits=True)
    array_near("cfce logits", _ev(result), [1.7472], 1e-3)


def test_binary_focal_crossentropy_no_focal_effect_with_zero_gamma():
    t = K.constant([[0, 1, 0]])
    p = K.sigmoid(K.constant(LOGITS_1))
    focal = _ev(K.binary_focal_crossentropy(target=t, output=p, gamma=0))
    array_near("bfce gamma=0 vs bce", focal[0], _ev(K.binary_crossentropy(t, p))[0], 1e-3)


def test_categorical_focal_crossentropy_no_focal_effect():
    t = K.constant([[0, 1, 0]])
    p = K.softmax(K.constant(LOGITS_1))
    focal = _ev(K.categorical_focal_crossentropy(target=t, output=p, gamma=0.0, alpha=1.0))
    array_near("cfce gamma=0 alpha=1 vs cce", focal, _ev(K.categorical_crossentropy(t, p)), 1e-3)


def test_binary_weighted_focal_crossentropy_with_sigmoid():
    t = K.constant([[0, 1, 0]])
    p = K.sigmoid(K.constant(LOGITS_1))
    result = K.binary_focal_crossentropy(target=t, output=p, apply_class_balancing=True)
    array_near("bwfce(sigmoid)", _ev(result)[0], [5.996, 0.006, 0.526], 1e-3)


def test_binary_weighted_focal_crossentropy_from_logits():
    t = K.constant([[0, 1, 0]])
    result = K.binary_focal_crossentropy(target=t, output=K.constant(LOGITS_1), apply_class_balancing=True,
                                         from_logits=True)
    array_near("bwfce logits", _ev(result)[0], [5.996, 0.006, 0.526], 1e-3)


# --------------------------------------------------------------------------------------------------------------
# TestCTC
# --------------------------------------------------------------------------------------------------------------


def test_ctc_decode():
    depth, seq_len_0 = 6, 5
    input_prob_matrix_0 = np.asarray([
        [0.30999, 0.309938, 0.0679938, 0.0673362, 0.0708352, 0.173908],
        [0.215136, 0.439699, 0.0370931, 0.0393967, 0.0381581, 0.230517],
        [0.199959, 0.489485, 0.0233221, 0.0251417, 0.0233289, 0.238763],
        [0.279611, 0.452966, 0.0204795, 0.0209126, 0.0194803, 0.20655],
        [0.51286, 0.288951, 0.0243026, 0.0220788, 0.0219297, 0.129878],
        [0.155251, 0.164444, 0.173517, 0.176138, 0.169979, 0.160671],  # random entry added in at time=5
    ], dtype=np.float32)
    inputs = ([input_prob_matrix_0[t, :][np.newaxis, :] for t in range(seq_len_0)]
              + 2 * [np.zeros((1, depth), dtype=np.float32)])  # pad to max_time_steps = 7
    inputs = K.variable(np.asarray(inputs).transpose((1, 0, 2)))
    input_length = K.variable(np.array([seq_len_0], dtype=np.int32))
    log_prob_truth = np.array([-3.5821197, -3.777835], np.float32)[np.newaxis, :]
    decode_truth = [np.array([1, 0, -1, -1, -1, -1, -1]), np.array([0, 1, 0, -1, -1, -1, -1])]
    beam_width, top_paths = 2, 2
    decode_pred, log_prob_pred = K.ctc_decode(inputs, input_length, greedy=False, beam_width=beam_width,
                                              top_paths=top_paths)
    assert len(decode_pred) == top_paths
    for i in range(top_paths):
        print(f"path {i}: {_ev(decode_pred[i]).tolist()} expected {decode_truth[i].tolist()}")
        assert np.all(decode_truth[i] == _ev(decode_pred[i]))
    all_close("log_prob", log_prob_truth, _ev(log_prob_pred))


CTC_INPUTS_0 = [
    [0.633766, 0.221185, 0.0917319, 0.0129757, 0.0142857, 0.0260553],
    [0.111121, 0.588392, 0.278779, 0.0055756, 0.00569609, 0.010436],
    [0.0357786, 0.633813, 0.321418, 0.00249248, 0.00272882, 0.0037688],
    [0.0663296, 0.643849, 0.280111, 0.00283995, 0.0035545, 0.00331533],
    [0.458235, 0.396634, 0.123377, 0.00648837, 0.00903441, 0.00623107],
]
CTC_INPUTS_1 = [
    [0.30176, 0.28562, 0.0831517, 0.0862751, 0.0816851, 0.161508],
    [0.24082, 0.397533, 0.0557226, 0.0546814, 0.0557528, 0.19549],
    [0.230246, 0.450868, 0.0389607, 0.038309, 0.0391602, 0.202456],
    [0.280884, 0.429522, 0.0326593, 0.0339046, 0.0326856, 0.190345],
    [0.423286, 0.315517, 0.0338439, 0.0393744, 0.0339315, 0.154046],
]


def test_ctc_batch_cost():
    label_lens = np.expand_dims(np.asarray([5, 4]), 1)
    input_lens = np.expand_dims(np.asarray([5, 5]), 1)
    loss_log_probs = [3.34211, 5.42262]
    labels = np.asarray([[0, 1, 2, 1, 0], [0, 1, 1, 0, -1]])
    inputs = np.asarray([CTC_INPUTS_0, CTC_INPUTS_1], dtype=np.float32)
    res = _ev(K.ctc_batch_cost(K.variable(labels, dtype="int32"), K.variable(inputs, dtype="float32"),
                               K.variable(input_lens, dtype="int32"), K.variable(label_lens, dtype="int32")))
    all_close("ctc_batch_cost", res[:, 0], loss_log_probs, atol=1e-05)
    # batch_size = 1
    res = _ev(K.ctc_batch_cost(K.variable(np.asarray([[0, 1, 2, 1, 0]]), dtype="int32"),
                               K.variable(np.asarray([CTC_INPUTS_0], dtype=np.float32), dtype="float32"),
                               K.variable(np.expand_dims(np.asarray([5]), 1), dtype="int32"),
                               K.variable(np.expand_dims(np.asarray([5]), 1), dtype="int32")))
    all_close("ctc_batch_cost batch 1", res[:, 0], [3.34211], atol=1e-05)


# --------------------------------------------------------------------------------------------------------------
# TestRandomOps (unseeded draws: seed=None takes np.random.randint(10e6), so np.random.seed(123) fixes them)
# --------------------------------------------------------------------------------------------------------------


def test_random_normal():
    np.random.seed(123)
    val = _ev(K.random_normal((500, 500)))
    all_close("mean", np.mean(val), 0.0, atol=0.01)
    all_close("std", np.std(val), 1.0, atol=0.01)


def test_random_uniform():
    np.random.seed(123)
    val = _ev(K.random_uniform((500, 500)))
    all_close("mean", np.mean(val), 0.5, atol=0.01)
    all_close("max", np.max(val), 1.0, atol=0.01)
    all_close("min", np.min(val), 0.0, atol=0.01)


def test_random_binomial():
    # tf-keras's random_binomial is Keras 3's random_bernoulli
    np.random.seed(123)
    all_close("mean", np.mean(_ev(K.random_bernoulli((500, 500), p=0.5))), 0.5, atol=0.01)


def test_truncated_normal():
    np.random.seed(123)
    K.truncated_normal((500, 500), mean=0.0, stddev=1.0)
    y = _ev(K.truncated_normal((1000, 1000), mean=0.0, stddev=1.0))
    all_close("mean", np.mean(y), 0.0, atol=0.01)
    all_close("std", np.std(y), 0.88, atol=0.01)
    all_close("max", np.max(y), 2.0, atol=0.01)
    all_close("min", np.min(y), -2.0, atol=0.01)


# --------------------------------------------------------------------------------------------------------------
# ControlOpsTests
# --------------------------------------------------------------------------------------------------------------


def test_function_switch_basics():
    x = K.constant(2.0)
    y = K.constant(3.0)

    def xpowy():
        return K.pow(x, y)

    def ypowx():
        return K.pow(y, x)

    got = _ev(K.switch(K.less(x, y), xpowy, ypowx))
    print("switch(x < y):", got)
    assert got == [8.0]
    got = _ev(K.switch(K.greater(x, y), xpowy, ypowx))
    print("switch(x > y):", got)
    assert got == [9.0]


def test_unequal_rank():
    x = K.constant(np.array([[1, 2, 3], [4, 5, 6]]), dtype="float32")
    y = K.constant(np.array([1, 2, 3]), dtype="float32")
    _raises(ValueError, K.switch, K.equal(x, x), lambda: y, lambda: x, match="Rank of `condition` should be less than")

"""torch_impl.losses against the expected numbers of Keras's own unit tests.

The reference is ``keras/src/losses/losses_test.py`` of keras-team/keras (Keras
3.x; the classes below exist unchanged from v3.15.1, plus the tests added after
it: ``test_warning_for_invalid_shape``, ``test_label_smoothing_with_axis`` and
the extended SparseCategoricalCrossentropy ``test_config``). Every test method of
the classes ``BinaryCrossentropyTest``, ``CategoricalCrossentropyTest``,
``SparseCategoricalCrossentropyTest``, ``BinaryFocalCrossentropyTest`` and
``CategoricalFocalCrossentropyTest`` is translated here with the same inputs,
the same expected numbers and the same tolerance. Keras's helpers mean:

* ``assertAlmostEqual(x, v, decimal=3)``: ``|x - v| < 1.5 * 10**-decimal``
  (``np.testing.assert_almost_equal``; decimal defaults to 3);
* ``assertAllClose(x, v)``: ``np.testing.assert_allclose`` with
  ``atol=rtol=1e-6`` unless the test passes others.

Inputs: Keras computes in ``floatx`` (float32) whatever the numpy dtype, so float
inputs become float32 tensors here and integer labels int64 tensors. A Keras
method with several cases (probabilities, then logits) becomes one pytest test
per case. The file imports neither TensorFlow nor Keras; each test prints the
figures it asserts.

Run: ``.venv/bin/python -m pytest -q -s parity_tests/test_keras_reference_values.py -p no:cacheprovider``
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from torch_impl import losses

# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


from parity_tests.keras_reference_helpers import all_close, almost_equal, config_round_trip, exactly_equal  # noqa: F401
from parity_tests.keras_reference_helpers import as_keras_sees as _t  # noqa: F401
from parity_tests.keras_reference_helpers import check_bf16 as _check_bf16  # noqa: F401
from parity_tests.keras_reference_helpers import to_numpy as _np  # noqa: F401


# Shared Keras test inputs.
ONE_HOT_3 = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
PROBS_3 = np.array([[0.9, 0.05, 0.05], [0.5, 0.89, 0.6], [0.05, 0.01, 0.94]], dtype="float32")
LOGITS_3 = np.array([[8.0, 1.0, 1.0], [0.0, 9.0, 1.0], [2.0, 3.0, 5.0]])
ALL_CORRECT_LOGITS_3 = np.array([[10.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 10.0]])
SAMPLE_WEIGHT_3 = np.array([[1.2], [3.4], [5.6]])
SPARSE_3 = [[0], [1], [2]]

BCE_Y_TRUE_2x2 = np.array([1, 0, 1, 0]).reshape([2, 2])
BCE_Y_PRED_2x2 = np.array([1, 1, 1, 0], dtype="float32").reshape([2, 2])
BCE_Y_TRUE_2x3 = np.array([[1, 0, 1], [0, 1, 1]])
BCE_LOGITS_2x3 = np.array([[10.0, -10.0, 10.0], [10.0, 10.0, -10.0]])

BFCE_Y_TRUE = np.array([1, 0, 1, 0]).reshape([2, 2])
BFCE_Y_PRED = np.array([0.9, 0.8, 0.7, 0.2], dtype="float32").reshape([2, 2])
BFCE_Y_TRUE_LOGITS = np.array([[1, 1, 0], [0, 1, 0]], dtype="float32")
BFCE_LOGITS = np.array([[1.5, -2.7, 2.9], [-3.8, 1.2, -4.5]])

# (batch, classes, spatial) inputs of the label_smoothing_with_axis tests
AXIS1_Y_TRUE = np.array([[[1, 0], [0, 1], [0, 0]], [[0, 1], [1, 0], [0, 0]]], dtype="float32")
AXIS1_Y_PRED = np.array(
    [[[0.8, 0.1], [0.1, 0.8], [0.1, 0.1]], [[0.1, 0.8], [0.8, 0.1], [0.1, 0.1]]], dtype="float32"
)

SEG_Y_TRUE_BINARY = np.array([[0, 1, 1, 0], [1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 0, 1]])
SEG_Y_TRUE_MULTI = np.array([[0, 1, 2, 0], [1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 0, 1]])


def _onehot_pixels(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Perfect (one-hot) predictions of shape labels.shape + (num_classes,)."""
    return np.eye(num_classes)[labels]


# Keras's segmentation predictions: the one-hot of the labels except a few pixels.
SEG_PRED_BINARY_CORRECT = _onehot_pixels(SEG_Y_TRUE_BINARY, 2)
SEG_PRED_BINARY_NOISY = SEG_PRED_BINARY_CORRECT.copy()
SEG_PRED_BINARY_NOISY[0, 3] = [0.2, 0.8]  # label 0 -> -log(0.2)
SEG_PRED_BINARY_NOISY[3, 3] = [0.6, 0.4]  # label 1 -> -log(0.4)
SEG_EXPECTED_BINARY = (-np.log(0.2) - np.log(0.4)) / 16.0  # 16 pixels

SEG_PRED_MULTI_CORRECT = _onehot_pixels(SEG_Y_TRUE_MULTI, 3)
SEG_PRED_MULTI_NOISY = SEG_PRED_MULTI_CORRECT.copy()
SEG_PRED_MULTI_NOISY[0, 3] = [0.2, 0.0, 0.8]  # label 0 -> -log(0.2)
SEG_PRED_MULTI_NOISY[1, 0] = [0.7, 0.3, 0.0]  # label 1 -> -log(0.3)
SEG_PRED_MULTI_NOISY[3, 2] = [0.5, 0.5, 0.0]  # label 0 -> -log(0.5)
SEG_EXPECTED_MULTI = (-np.log(0.2) - np.log(0.3) - np.log(0.5)) / 16.0


def test_segmentation_inputs_are_keras_literals():
    """The constructed segmentation predictions equal the literals in Keras's tests."""
    assert SEG_PRED_BINARY_NOISY.tolist() == [
        [[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.2, 0.8]],
        [[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]],
        [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]],
        [[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [0.6, 0.4]],
    ]
    assert SEG_PRED_MULTI_NOISY.tolist() == [
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.2, 0.0, 0.8]],
        [[0.7, 0.3, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]],
        [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]],
        [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 0.0], [0.0, 1.0, 0.0]],
    ]
    print("segmentation literals: binary and multi-class predictions match Keras's")


# --------------------------------------------------------------------------
# BinaryCrossentropyTest
# --------------------------------------------------------------------------


def test_bce_config():
    keras_config = {"name": "bce", "reduction": "sum_over_batch_size", "from_logits": False,
                    "label_smoothing": 0.0, "axis": -1}  # Keras 3.15.1
    config_round_trip("bce config", losses.BinaryCrossentropy(name="bce", axis=-1), keras_config)


def test_bce_all_correct_unweighted_probs():
    y_true = _t(np.array(ONE_HOT_3, dtype="float32"))
    almost_equal("bce all_correct probs", losses.BinaryCrossentropy()(y_true, y_true), 0.0)


def test_bce_all_correct_unweighted_logits():
    y_true = _t(np.array(ONE_HOT_3, dtype="float32"))
    logits = _t([[10.0, -10.0, -10.0], [-10.0, 10.0, -10.0], [-10.0, -10.0, 10.0]])
    almost_equal("bce all_correct logits", losses.BinaryCrossentropy(from_logits=True)(y_true, logits), 0.0)


def test_bce_unweighted_probs():
    y_true = _t(np.array(ONE_HOT_3, dtype="float32"))
    y_pred = _t(np.array([[0.9, 0.1, 0.2], [0.3, 0.8, 0.1], [0.1, 0.2, 0.7]], dtype="float32"))
    all_close("bce unweighted probs", losses.BinaryCrossentropy()(y_true, y_pred), 0.20046903)


def test_bce_unweighted_saturated_probs():
    loss = losses.BinaryCrossentropy()(_t(BCE_Y_TRUE_2x2), _t(BCE_Y_PRED_2x2))
    almost_equal("bce unweighted saturated probs", loss, 3.98559)


def test_bce_unweighted_logits():
    loss = losses.BinaryCrossentropy(from_logits=True)(_t(BCE_Y_TRUE_2x3), _t(BCE_LOGITS_2x3))
    almost_equal("bce unweighted logits", loss, 3.3333)


def test_bce_scalar_weighted_probs():
    loss = losses.BinaryCrossentropy()(_t(BCE_Y_TRUE_2x2), _t(BCE_Y_PRED_2x2), sample_weight=2.3)
    almost_equal("bce scalar_weighted probs", loss, 9.1668)


def test_bce_scalar_weighted_logits():
    loss = losses.BinaryCrossentropy(from_logits=True)(_t(BCE_Y_TRUE_2x3), _t(BCE_LOGITS_2x3), sample_weight=2.3)
    almost_equal("bce scalar_weighted logits", loss, 7.666)


def test_bce_sample_weighted_probs():
    sample_weight = _t(np.array([1.2, 3.4]).reshape((2, 1)))
    loss = losses.BinaryCrossentropy()(_t(BCE_Y_TRUE_2x2), _t(BCE_Y_PRED_2x2), sample_weight=sample_weight)
    almost_equal("bce sample_weighted probs", loss, 4.7827)


def test_bce_sample_weighted_logits():
    weights = _t(np.array([4, 3]))  # integer weights, as in Keras's test
    loss = losses.BinaryCrossentropy(from_logits=True)(_t(BCE_Y_TRUE_2x3), _t(BCE_LOGITS_2x3), sample_weight=weights)
    almost_equal("bce sample_weighted logits", loss, 10.0)


def test_bce_no_reduction():
    loss = losses.BinaryCrossentropy(from_logits=True, reduction=None)(_t(BCE_Y_TRUE_2x3), _t(BCE_LOGITS_2x3))
    all_close("bce no_reduction", loss, [0.0, 6.666], atol=1e-3)


def test_bce_label_smoothing():
    label_smoothing = 0.1
    loss = losses.BinaryCrossentropy(from_logits=True, label_smoothing=label_smoothing)(
        _t([[1, 0, 1]]), _t([[10.0, -10.0, -10.0]])
    )
    almost_equal("bce label_smoothing", loss, (10.0 + 5.0 * label_smoothing) / 3.0)


def test_bce_shape_mismatch():
    y_true = _t([[0], [1], [2]])
    y_pred = _t([[0.9, 0.05, 0.05], [0.5, 0.89, 0.6], [0.05, 0.01, 0.94]])
    with pytest.raises(ValueError, match="must have the same shape") as err:
        losses.BinaryCrossentropy()(y_true, y_pred)
    print("bce shape_mismatch:", err.value)


def test_bce_dtype_arg():
    # Keras skips this on its torch backend only; on TensorFlow the loss is bfloat16.
    y_true = _t(np.array(ONE_HOT_3, dtype="float32"))
    y_pred = _t(np.array([[0.9, 0.1, 0.2], [0.3, 0.8, 0.1], [0.1, 0.2, 0.7]], dtype="float32"))
    loss = losses.BinaryCrossentropy(dtype="bfloat16")(y_true, y_pred)
    _check_bf16("bce", loss, 0.2001953125)


# --------------------------------------------------------------------------
# CategoricalCrossentropyTest
# --------------------------------------------------------------------------


def test_cce_config():
    keras_config = {"name": "cce", "reduction": "sum_over_batch_size", "from_logits": False,
                    "label_smoothing": 0.0, "axis": -1}  # Keras 3.15.1
    config_round_trip("cce config", losses.CategoricalCrossentropy(name="cce", axis=-1), keras_config)


def test_cce_all_correct_unweighted_probs():
    y_true = _t(ONE_HOT_3)
    y_pred = _t(np.eye(3, dtype="float32"))
    almost_equal("cce all_correct probs", losses.CategoricalCrossentropy()(y_true, y_pred), 0.0)


def test_cce_all_correct_unweighted_logits():
    loss = losses.CategoricalCrossentropy(from_logits=True)(_t(ONE_HOT_3), _t(ALL_CORRECT_LOGITS_3))
    almost_equal("cce all_correct logits", loss, 0.0)


def test_cce_unweighted_probs():
    almost_equal("cce unweighted probs", losses.CategoricalCrossentropy()(_t(ONE_HOT_3), _t(PROBS_3)), 0.3239)


def test_cce_unweighted_logits():
    loss = losses.CategoricalCrossentropy(from_logits=True)(_t(ONE_HOT_3), _t(LOGITS_3))
    almost_equal("cce unweighted logits", loss, 0.0573)


def test_cce_scalar_weighted_probs():
    loss = losses.CategoricalCrossentropy()(_t(ONE_HOT_3), _t(PROBS_3), sample_weight=2.3)
    almost_equal("cce scalar_weighted probs", loss, 0.7449)


def test_cce_scalar_weighted_logits():
    loss = losses.CategoricalCrossentropy(from_logits=True)(_t(ONE_HOT_3), _t(LOGITS_3), sample_weight=2.3)
    almost_equal("cce scalar_weighted logits", loss, 0.1317)


def _assert_single_class_warnings(fn, name):
    """Keras's test_warning_for_invalid_shape, for a functional form ``fn``."""
    match = r"expected y_pred.shape to be \(batch_size, num_classes\)"
    y = _t(np.array([[1], [1]], dtype="float32"))
    with pytest.warns(SyntaxWarning, match=match) as rec:
        fn(y, _t(np.array([[0.5], [0.5]], dtype="float32")))
    print(f"{name} (2, 1): warned {rec[0].message}")
    ones = _t(np.ones((2, 1, 4), dtype="float32"))
    with pytest.warns(SyntaxWarning, match=match):
        fn(ones, ones, axis=1)
    print(f"{name} (2, 1, 4) axis=1: warned")
    ones = _t(np.ones((2, 4, 1), dtype="float32"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn(ones, ones, axis=1)
    syntax = [w for w in caught if issubclass(w.category, SyntaxWarning)]
    print(f"{name} (2, 4, 1) axis=1: {len(syntax)} SyntaxWarnings, expected 0")
    assert len(syntax) == 0


def test_cce_warning_for_invalid_shape():
    _assert_single_class_warnings(losses.categorical_crossentropy, "categorical_crossentropy warning")


def test_cce_sample_weighted_probs():
    loss = losses.CategoricalCrossentropy()(_t(ONE_HOT_3), _t(PROBS_3), sample_weight=_t(SAMPLE_WEIGHT_3))
    almost_equal("cce sample_weighted probs", loss, 1.0696)


def test_cce_sample_weighted_logits():
    loss = losses.CategoricalCrossentropy(from_logits=True)(
        _t(ONE_HOT_3), _t(LOGITS_3), sample_weight=_t(SAMPLE_WEIGHT_3)
    )
    almost_equal("cce sample_weighted logits", loss, 0.31829)


def test_cce_no_reduction():
    loss = losses.CategoricalCrossentropy(from_logits=True, reduction=None)(_t(ONE_HOT_3), _t(LOGITS_3))
    all_close("cce no_reduction", loss, (0.001822, 0.000459, 0.169846))


def test_cce_label_smoothing():
    label_smoothing = 0.1
    loss = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=label_smoothing)(
        _t([[1, 0, 0]]), _t([[100.0, -100.0, -100.0]])
    )
    almost_equal("cce label_smoothing", loss, 400.0 * label_smoothing / 3.0)


def test_cce_label_smoothing_ndarray():
    # numpy arrays straight into the loss (Keras's "ndarray" variant)
    label_smoothing = 0.1
    loss = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=label_smoothing)(
        np.asarray([[1, 0, 0]]), np.asarray([[100.0, -100.0, -100.0]])
    )
    almost_equal("cce label_smoothing ndarray", loss, 400.0 * label_smoothing / 3.0)


def test_cce_label_smoothing_with_axis():
    # Added after v3.15.1 (keras-team/keras#23437): Keras 3.15.1 counts the classes
    # along the LAST axis (2 here, not 3) and returns 0.4422449; torch_impl follows
    # the fix (documented in torch_impl.losses._smooth_categorical).
    label_smoothing, axis, num_classes = 0.1, 1, 3
    loss = losses.CategoricalCrossentropy(label_smoothing=label_smoothing, axis=axis)(
        _t(AXIS1_Y_TRUE), _t(AXIS1_Y_PRED)
    )
    smoothed = AXIS1_Y_TRUE * (1.0 - label_smoothing) + label_smoothing / num_classes
    expected = np.mean(-np.sum(smoothed * np.log(AXIS1_Y_PRED), axis=axis))
    almost_equal("cce label_smoothing_with_axis", loss, expected, decimal=5)


def test_cce_shape_mismatch():
    y_true = _t([[0], [1], [2]])
    y_pred = _t([[0.9, 0.05, 0.05], [0.5, 0.89, 0.6], [0.05, 0.01, 0.94]])
    with pytest.raises(ValueError, match="must have the same shape") as err:
        losses.CategoricalCrossentropy()(y_true, y_pred)
    print("cce shape_mismatch:", err.value)


def test_cce_dtype_arg():
    loss = losses.CategoricalCrossentropy(dtype="bfloat16")(_t(ONE_HOT_3), _t(np.eye(3, dtype="float32")))
    _check_bf16("cce", loss, 0.0)


# --------------------------------------------------------------------------
# SparseCategoricalCrossentropyTest
# --------------------------------------------------------------------------


def test_scce_config():
    # Keras 3.15.1's config lacks "axis"; it is there since keras-team/keras#23286,
    # whose test (translated here) asserts config["axis"] == 0. torch_impl has it.
    keras_config = {"name": "scce", "reduction": "sum_over_batch_size", "from_logits": False,
                    "ignore_class": None, "axis": -1}
    config_round_trip("scce config", losses.SparseCategoricalCrossentropy(name="scce"), keras_config)
    scce = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=3, axis=0, name="scce")
    keras_config = {"name": "scce", "reduction": "sum_over_batch_size", "from_logits": True,
                    "ignore_class": 3, "axis": 0}
    config = config_round_trip("scce config (from_logits, ignore_class=3, axis=0)", scce, keras_config)
    assert config["from_logits"] is True
    assert config["ignore_class"] == 3
    assert config["axis"] == 0


def test_scce_all_correct_unweighted_probs():
    loss = losses.SparseCategoricalCrossentropy()(_t(SPARSE_3), _t(np.eye(3, dtype="float32")))
    almost_equal("scce all_correct probs", loss, 0.0, 3)


def test_scce_all_correct_unweighted_logits():
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)(_t(SPARSE_3), _t(ALL_CORRECT_LOGITS_3))
    almost_equal("scce all_correct logits", loss, 0.0, 3)


def test_scce_unweighted_probs():
    loss = losses.SparseCategoricalCrossentropy()(_t([0, 1, 2]), _t(PROBS_3))
    almost_equal("scce unweighted probs", loss, 0.3239, 3)


def test_scce_unweighted_logits():
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)(_t([0, 1, 2]), _t(LOGITS_3))
    almost_equal("scce unweighted logits", loss, 0.0573, 3)


def test_scce_scalar_weighted_probs():
    loss = losses.SparseCategoricalCrossentropy()(_t(SPARSE_3), _t(PROBS_3), sample_weight=2.3)
    almost_equal("scce scalar_weighted probs", loss, 0.7449, 3)


def test_scce_scalar_weighted_logits():
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)(_t(SPARSE_3), _t(LOGITS_3), sample_weight=2.3)
    almost_equal("scce scalar_weighted logits", loss, 0.1317, 3)


def test_scce_sample_weighted_probs():
    loss = losses.SparseCategoricalCrossentropy()(_t(SPARSE_3), _t(PROBS_3), sample_weight=_t(SAMPLE_WEIGHT_3))
    almost_equal("scce sample_weighted probs", loss, 1.0696, 3)


def test_scce_sample_weighted_logits():
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)(
        _t(SPARSE_3), _t(LOGITS_3), sample_weight=_t(SAMPLE_WEIGHT_3)
    )
    almost_equal("scce sample_weighted logits", loss, 0.31829, 3)


def test_scce_no_reduction():
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)(_t(SPARSE_3), _t(LOGITS_3))
    all_close("scce no_reduction", loss, (0.001822, 0.000459, 0.169846))


@pytest.mark.parametrize(
    "y_true", [[[-1, 2]], [[[-1], [2]]]], ids=["labels_2d", "labels_with_trailing_1"]
)
def test_scce_ignore_class(y_true):
    logits = _t([[[0.854, 0.698, 0.598], [0.088, 0.86, 0.018]]])
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1, reduction=None)(_t(y_true), logits)
    all_close(f"scce ignore_class y_true={y_true}", loss, [[0.0, 1.480129]])


# The *_different_axis tests: Keras on TensorFlow raises "Only axis=-1 is currently
# supported"; torch_impl follows Keras's torch backend for a class axis that is not
# last (documented), so the torch-backend branch of Keras's test is translated
# (Keras 3.15.1 on its torch backend gives the same numbers as torch_impl).
SEGMENTATION = {  # Keras's *_segmentation tests: (labels, predictions, expected loss)
    "binary correct": (SEG_Y_TRUE_BINARY, SEG_PRED_BINARY_CORRECT, 0.0),
    "binary noisy": (SEG_Y_TRUE_BINARY, SEG_PRED_BINARY_NOISY, SEG_EXPECTED_BINARY),
    "multi_class correct": (SEG_Y_TRUE_MULTI, SEG_PRED_MULTI_CORRECT, 0.0),
    "multi_class noisy": (SEG_Y_TRUE_MULTI, SEG_PRED_MULTI_NOISY, SEG_EXPECTED_MULTI),
}


@pytest.mark.parametrize("axis", ["last", "different"])
@pytest.mark.parametrize("case", list(SEGMENTATION))
def test_scce_segmentation(case, axis):
    y_true, y_pred, expected = SEGMENTATION[case]
    if axis == "last":
        loss = losses.SparseCategoricalCrossentropy()(_t(y_true), _t(y_pred))
        all_close(f"scce {case} segmentation", loss, expected)
        return
    y_pred = np.moveaxis(y_pred, source=2, destination=0)
    loss = losses.SparseCategoricalCrossentropy(axis=0)(_t(y_true), _t(y_pred))
    all_close(f"scce {case} segmentation axis=0", loss, expected)
    if case.endswith("noisy"):  # Keras's noisy variants also run a batch of 3 with axis=1
        loss = losses.SparseCategoricalCrossentropy(axis=1)(_t(np.array([y_true] * 3)), _t(np.array([y_pred] * 3)))
        all_close(f"scce {case} segmentation axis=1 (batch of 3)", loss, expected)


def test_scce_squeezes_singleton_class_dim_on_user_axis():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 2, size=(2, 1, 4, 4)).astype("float32")
    y_pred = rng.random((2, 2, 4, 4)).astype("float32")
    loss = losses.sparse_categorical_crossentropy(_t(y_true), _t(y_pred), axis=1)
    print("sparse_categorical_crossentropy squeeze axis=1: shape", tuple(loss.shape), "expected (2, 4, 4)")
    assert tuple(loss.shape) == (2, 4, 4)


def test_scce_dtype_arg():
    loss = losses.SparseCategoricalCrossentropy(dtype="bfloat16")(_t(SPARSE_3), _t(np.eye(3, dtype="float32")))
    _check_bf16("scce", loss, 0.0)


# --------------------------------------------------------------------------
# BinaryFocalCrossentropyTest
# --------------------------------------------------------------------------


def test_bfce_config():
    keras_config = {"name": "bfce", "reduction": "sum_over_batch_size", "from_logits": False,
                    "label_smoothing": 0.0, "axis": -1, "apply_class_balancing": False,
                    "alpha": 0.25, "gamma": 2.0}  # Keras 3.15.1
    config_round_trip("bfce config", losses.BinaryFocalCrossentropy(name="bfce"), keras_config)


def test_bfce_all_correct_unweighted_probs():
    y_true = _t(np.array(ONE_HOT_3, dtype="float32"))
    almost_equal("bfce all_correct probs", losses.BinaryFocalCrossentropy(gamma=1.5)(y_true, y_true), 0.0, 3)


def test_bfce_all_correct_unweighted_logits():
    y_true = _t(np.array(ONE_HOT_3, dtype="float32"))
    logits = _t([[100.0, -100.0, -100.0], [-100.0, 100.0, -100.0], [-100.0, -100.0, 100.0]])
    loss = losses.BinaryFocalCrossentropy(gamma=2.0, from_logits=True)(y_true, logits)
    almost_equal("bfce all_correct logits", loss, 0.0, 3)


def test_bfce_unweighted_probs():
    loss = losses.BinaryFocalCrossentropy(gamma=2.0)(_t(BFCE_Y_TRUE), _t(BFCE_Y_PRED))
    almost_equal("bfce unweighted probs", loss, 0.268, 3)


def test_bfce_unweighted_logits():
    loss = losses.BinaryFocalCrossentropy(gamma=3.0, from_logits=True)(_t(BFCE_Y_TRUE_LOGITS), _t(BFCE_LOGITS))
    almost_equal("bfce unweighted logits", loss, 0.799, 3)


def test_bfce_scalar_weighted_probs():
    loss = losses.BinaryFocalCrossentropy(gamma=2.0)(_t(BFCE_Y_TRUE), _t(BFCE_Y_PRED), sample_weight=1.23)
    almost_equal("bfce scalar_weighted probs", loss, 0.3296, 3)


def test_bfce_scalar_weighted_logits():
    loss = losses.BinaryFocalCrossentropy(gamma=3.0, from_logits=True)(
        _t(BFCE_Y_TRUE_LOGITS), _t(BFCE_LOGITS), sample_weight=3.21
    )
    almost_equal("bfce scalar_weighted logits", loss, 2.565, 3)


def test_bfce_sample_weighted_probs():
    sample_weight = _t(np.array([1.2, 3.4]).reshape((2, 1)))
    loss = losses.BinaryFocalCrossentropy(gamma=2.0)(_t(BFCE_Y_TRUE), _t(BFCE_Y_PRED), sample_weight=sample_weight)
    almost_equal("bfce sample_weighted probs", loss, 0.34415, 3)


def test_bfce_sample_weighted_logits():
    sample_weight = _t(np.array([1.2, 3.4]).reshape((2, 1)))
    loss = losses.BinaryFocalCrossentropy(gamma=3.0, from_logits=True)(
        _t(BFCE_Y_TRUE_LOGITS), _t(BFCE_LOGITS), sample_weight=sample_weight
    )
    almost_equal("bfce sample_weighted logits", loss, 0.95977, 3)


def test_bfce_no_reduction():
    loss = losses.BinaryFocalCrossentropy(gamma=2.0, reduction=None)(_t(BFCE_Y_TRUE), _t(BFCE_Y_PRED))
    all_close("bfce no_reduction", loss, (0.515547, 0.020513))


def test_bfce_dtype_arg():
    # Keras skips this on its torch backend only; on TensorFlow the loss is bfloat16.
    loss = losses.BinaryFocalCrossentropy(dtype="bfloat16")(_t(BFCE_Y_TRUE), _t(BFCE_Y_PRED))
    _check_bf16("bfce", loss, 0.26953125)


# --------------------------------------------------------------------------
# CategoricalFocalCrossentropyTest
# --------------------------------------------------------------------------


def test_cfce_config():
    keras_config = {"name": "cfce", "reduction": "sum_over_batch_size", "from_logits": False,
                    "label_smoothing": 0.0, "axis": -1, "alpha": 0.25, "gamma": 2.0}  # Keras 3.15.1
    config_round_trip("cfce config", losses.CategoricalFocalCrossentropy(name="cfce"), keras_config)


def test_cfce_all_correct_unweighted_probs():
    loss = losses.CategoricalFocalCrossentropy(alpha=0.25, gamma=2.0)(_t(ONE_HOT_3), _t(np.eye(3, dtype="float32")))
    almost_equal("cfce all_correct probs", loss, 0.0, 3)


def test_cfce_all_correct_unweighted_logits():
    loss = losses.CategoricalFocalCrossentropy(from_logits=True)(_t(ONE_HOT_3), _t(ALL_CORRECT_LOGITS_3))
    almost_equal("cfce all_correct logits", loss, 0.0, 3)


def test_cfce_unweighted_probs():
    almost_equal("cfce unweighted probs", losses.CategoricalFocalCrossentropy()(_t(ONE_HOT_3), _t(PROBS_3)), 0.02059, 3)


def test_cfce_unweighted_logits():
    loss = losses.CategoricalFocalCrossentropy(from_logits=True)(_t(ONE_HOT_3), _t(LOGITS_3))
    almost_equal("cfce unweighted logits", loss, 0.000345, 3)


def test_cfce_scalar_weighted_probs():
    loss = losses.CategoricalFocalCrossentropy()(_t(ONE_HOT_3), _t(PROBS_3), sample_weight=2.3)
    almost_equal("cfce scalar_weighted probs", loss, 0.047368, 3)


def test_cfce_scalar_weighted_logits():
    loss = losses.CategoricalFocalCrossentropy(from_logits=True)(_t(ONE_HOT_3), _t(LOGITS_3), sample_weight=2.3)
    almost_equal("cfce scalar_weighted logits", loss, 0.000794, 4)


def test_cfce_warning_for_invalid_shape():
    _assert_single_class_warnings(losses.categorical_focal_crossentropy, "categorical_focal_crossentropy warning")


def test_cfce_sample_weighted_probs():
    loss = losses.CategoricalFocalCrossentropy()(_t(ONE_HOT_3), _t(PROBS_3), sample_weight=_t(SAMPLE_WEIGHT_3))
    almost_equal("cfce sample_weighted probs", loss, 0.06987, 3)


def test_cfce_sample_weighted_logits():
    loss = losses.CategoricalFocalCrossentropy(from_logits=True)(
        _t(ONE_HOT_3), _t(LOGITS_3), sample_weight=_t(SAMPLE_WEIGHT_3)
    )
    almost_equal("cfce sample_weighted logits", loss, 0.001933, 3)


def test_cfce_no_reduction():
    loss = losses.CategoricalFocalCrossentropy(from_logits=True, reduction=None)(_t(ONE_HOT_3), _t(LOGITS_3))
    all_close("cfce no_reduction", loss, (1.5096224e-09, 2.4136547e-11, 1.0360638e-03))


def test_cfce_label_smoothing():
    loss = losses.CategoricalFocalCrossentropy(from_logits=True, label_smoothing=0.1)(
        _t([[1, 0, 0]]), _t([[4.9, -0.5, 2.05]])
    )
    almost_equal("cfce label_smoothing", loss, 0.06685, 3)


def test_cfce_label_smoothing_with_axis():
    # Added after v3.15.1 (keras-team/keras#23437), see test_cce_label_smoothing_with_axis;
    # Keras 3.15.1 returns 0.0487472 here.
    label_smoothing, axis, num_classes = 0.1, 1, 3
    alpha, gamma = 0.25, 2.0  # the defaults
    loss = losses.CategoricalFocalCrossentropy(label_smoothing=label_smoothing, axis=axis)(
        _t(AXIS1_Y_TRUE), _t(AXIS1_Y_PRED)
    )
    smoothed = AXIS1_Y_TRUE * (1.0 - label_smoothing) + label_smoothing / num_classes
    focal = alpha * np.power(1 - AXIS1_Y_PRED, gamma) * (-smoothed * np.log(AXIS1_Y_PRED))
    expected = np.mean(np.sum(focal, axis=axis))
    almost_equal("cfce label_smoothing_with_axis", loss, expected, decimal=5)


def test_cfce_dtype_arg():
    loss = losses.CategoricalFocalCrossentropy(from_logits=True, dtype="bfloat16")(
        _t([[1, 0, 0]]), _t([[4.9, -0.5, 2.05]])
    )
    _check_bf16("cfce", loss, 5.1737e-05)


# --------------------------------------------------------------------------
# Functional forms (derived): a Keras class with reduction=None returns its
# functional form's values, so Keras's no_reduction figures hold for them too.
# --------------------------------------------------------------------------


def test_functional_forms_reproduce_no_reduction_figures():
    cases = [
        ("binary_crossentropy", losses.binary_crossentropy(_t(BCE_Y_TRUE_2x3), _t(BCE_LOGITS_2x3), from_logits=True),
         [0.0, 6.666], 1e-3),
        ("categorical_crossentropy", losses.categorical_crossentropy(_t(ONE_HOT_3), _t(LOGITS_3), from_logits=True),
         (0.001822, 0.000459, 0.169846), 1e-6),
        ("sparse_categorical_crossentropy",
         losses.sparse_categorical_crossentropy(_t([0, 1, 2]), _t(LOGITS_3), from_logits=True),
         (0.001822, 0.000459, 0.169846), 1e-6),
        ("binary_focal_crossentropy", losses.binary_focal_crossentropy(_t(BFCE_Y_TRUE), _t(BFCE_Y_PRED), gamma=2.0),
         (0.515547, 0.020513), 1e-6),
        ("categorical_focal_crossentropy",
         losses.categorical_focal_crossentropy(_t(ONE_HOT_3), _t(LOGITS_3), from_logits=True),
         (1.5096224e-09, 2.4136547e-11, 1.0360638e-03), 1e-6),
    ]
    for name, got, expected, atol in cases:
        all_close(f"{name} (functional)", got, expected, atol=atol)

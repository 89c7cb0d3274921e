"""torch_impl.metrics against the expected numbers of Keras's own metric unit tests.

The reference is Keras 3.15.1's ``keras/src/metrics/`` test modules (as installed in
``.venv/lib/python3.11/site-packages/keras/src/metrics/``):

* ``accuracy_metrics_test.py``: ``AccuracyTest``, ``BinaryAccuracyTest``,
  ``CategoricalAccuracyTest``, ``SparseCategoricalAccuracyTest``,
  ``TopKCategoricalAccuracyTest``, ``SparseTopKCategoricalAccuracyTest``;
* ``confusion_metrics_test.py``: ``FalsePositivesTest``, ``FalseNegativesTest``,
  ``TrueNegativesTest``, ``TruePositiveTest``, ``PrecisionTest``, ``RecallTest``,
  ``SensitivityAtSpecificityTest``, ``SpecificityAtSensitivityTest``,
  ``PrecisionAtRecallTest``, ``RecallAtPrecisionTest``, ``AUCTest``, ``MultiAUCTest``;
* ``probabilistic_metrics_test.py``: ``KLDivergenceTest``, ``PoissonTest``,
  ``BinaryCrossentropyTest``, ``CategoricalCrossentropyTest``,
  ``SparseCategoricalCrossentropyTest``;
* ``reduction_metrics_test.py``: ``SumTest``, ``MeanTest``, ``MetricWrapperTest``;
* ``f_score_metrics_test.py``: ``FBetaScoreTest``, ``F1ScoreTest``.

Every test method is translated with the same inputs (Python lists, NumPy arrays and
scalars handed to the metric as Keras's test hands them), the same expected numbers
and the same tolerance, except the ones listed below. Keras's helpers
(``keras/src/testing/test_case.py``) mean:

* ``assertAllClose(x, v, atol=1e-6, rtol=1e-6)``: ``np.testing.assert_allclose`` (a
  positional third argument is ``atol``; scalars broadcast against arrays);
* ``assertAlmostEqual(x, v, decimal=3)``: ``np.testing.assert_almost_equal``;
* ``assertEqual``: ``unittest``'s ``first == second``.

Keras-side attributes map as: ``obj._dtype == "float32"`` -> ``obj.dtype == torch.float32``;
``AUCCurve.PR`` -> ``"PR"``; ``AUCSummationMethod.MAJORING`` -> ``"majoring"``;
``auc._from_logits`` -> ``auc.from_logits``; a Keras variable's ``.name`` -> the metric
attribute of that name. ``ops.transpose``/``ops.one_hot``/``ops.cast``/``ops.log``, used only
to build inputs, become their NumPy equivalents; ``np.random`` inputs use a seeded
``RandomState`` (Keras's tests are unseeded; the asserted values hold for any draw).

Not translated (Keras-only machinery):

* ``MeanTest.test_weighted_dynamic_shapes``, ``MetricWrapperTest.test_weighted_dynamic_shape``
  (``backend.compute_output_spec`` on symbolic ``KerasTensor``s);
* ``FBetaScoreTest.test_undefined_output_dim_raises_value_error`` (a ``None`` output
  dimension exists only for symbolic Keras shapes);
* ``SensitivityAtSpecificityTest.test_handles_sas_metrics``,
  ``RecallAtPrecisionTest.test_end_to_end``, ``MultiAUCTest.test_keras_model_compiles``
  (``keras.models`` compile/fit);
* ``PoissonTest.test_config``, ``BinaryCrossentropyTest.test_config``,
  ``CategoricalCrossentropyTest.test_config``, ``SparseCategoricalCrossentropyTest.test_config``
  (``run_class_serialization_test``).

``MetricWrapperTest.test_binary_accuracy_with_boolean_inputs`` builds a Keras model whose
output is ``inp > 0.5``; its ``predict`` output is computed here with NumPy (``x > 0.5``, a
boolean array), which is what the metric receives.

Run: ``.venv/bin/python -m pytest -q -s parity_tests/test_keras_reference_metrics.py -p no:cacheprovider``
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from torch_impl import metrics

# --------------------------------------------------------------------------
# helpers: Keras's testing.TestCase assertions
# --------------------------------------------------------------------------


def _np(x):
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.dtype in (torch.bfloat16, torch.float16):
            x = x.float()
        return x.numpy()
    return np.asarray(x)


def all_close(name: str, got, expected, atol: float = 1e-6, rtol: float = 1e-6) -> None:
    """Keras's ``assertAllClose`` (``np.testing.assert_allclose``, defaults ``atol=rtol=1e-6``)."""
    got, expected = _np(got), np.asarray(expected)
    print(f"{name}: got={got!r} expected={expected!r} (atol={atol}, rtol={rtol})")
    np.testing.assert_allclose(got, expected, atol=atol, rtol=rtol)


def almost_equal(name: str, got, expected, decimal: int = 3) -> None:
    """Keras's ``assertAlmostEqual`` (``np.testing.assert_almost_equal``, decimal 3)."""
    got = _np(got)
    print(f"{name}: got={got!r} expected={expected!r} (decimal={decimal})")
    np.testing.assert_almost_equal(got, expected, decimal=decimal)


def equal(name: str, got, expected) -> None:
    """``unittest``'s ``assertEqual(got, expected)``: ``got == expected`` is true."""
    print(f"{name}: got={got!r} expected={expected!r}")
    assert bool(got == expected), (got, expected)


def raises(exc, pattern: str):
    """``assertRaisesRegex``: ``re.search(pattern, str(exception))``."""
    return pytest.raises(exc, match=pattern)


# ==========================================================================
# accuracy_metrics_test.py
# ==========================================================================

# (class, name) of the four accuracy classes sharing the same test_config shape
_ACC_CONFIG = [
    (metrics.Accuracy, "accuracy"),
    (metrics.BinaryAccuracy, "binary_accuracy"),
    (metrics.CategoricalAccuracy, "categorical_accuracy"),
    (metrics.SparseCategoricalAccuracy, "sparse_categorical_accuracy"),
]


@pytest.mark.parametrize("cls,name", _ACC_CONFIG, ids=[n for _, n in _ACC_CONFIG])
def test_accuracy_classes_config(cls, name):
    # AccuracyTest / BinaryAccuracyTest / CategoricalAccuracyTest /
    # SparseCategoricalAccuracyTest .test_config
    obj = cls(name=name, dtype="float32")
    assert obj.name == name
    assert len(obj.variables) == 2
    assert obj.dtype == torch.float32
    config = obj.get_config()
    print(f"{name}: config={config}")
    assert config["name"] == name
    assert config["dtype"] == "float32"
    obj2 = cls.from_config(config)
    assert obj2.name == name
    assert len(obj2.variables) == 2
    assert obj2.dtype == torch.float32


def test_accuracy_unweighted():
    # AccuracyTest.test_unweighted
    acc_obj = metrics.Accuracy(name="accuracy", dtype="float32")
    y_true = np.array([[1], [2], [3], [4]])
    y_pred = np.array([[0], [2], [3], [4]])
    acc_obj.update_state(y_true, y_pred)
    all_close("Accuracy unweighted", acc_obj.result(), 0.75, atol=1e-3)


def test_accuracy_weighted():
    # AccuracyTest.test_weighted
    acc_obj = metrics.Accuracy(name="accuracy", dtype="float32")
    y_true = np.array([[1], [2], [3], [4]])
    y_pred = np.array([[0], [2], [3], [4]])
    sample_weight = np.array([1, 1, 0, 0])
    acc_obj.update_state(y_true, y_pred, sample_weight=sample_weight)
    all_close("Accuracy weighted", acc_obj.result(), 0.5, atol=1e-3)


def test_accuracy_weighted_rank_1():
    # AccuracyTest.test_weighted_rank_1
    acc_obj = metrics.Accuracy(name="accuracy", dtype="float32")
    y_true = np.array([1, 2, 3, 4])
    y_pred = np.array([0, 2, 3, 4])
    sample_weight = np.array([1, 1, 0, 0])
    acc_obj.update_state(y_true, y_pred, sample_weight=sample_weight)
    all_close("Accuracy weighted rank 1", acc_obj.result(), 0.5, atol=1e-3)


def test_accuracy_weighted_nd_weights():
    # AccuracyTest.test_weighted_nd_weights
    acc_obj = metrics.Accuracy(name="accuracy", dtype="float32")
    y_true = np.array([[1, 2], [3, 4]])
    y_pred = np.array([[0, 2], [3, 4]])
    sample_weight = np.array([[1, 0], [0, 1]])
    acc_obj.update_state(y_true, y_pred, sample_weight=sample_weight)
    all_close("Accuracy nd weights", acc_obj.result(), 0.5, atol=1e-3)


def test_accuracy_weighted_nd_broadcast_weights():
    # AccuracyTest.test_weighted_nd_broadcast_weights
    acc_obj = metrics.Accuracy(name="accuracy", dtype="float32")
    y_true = np.array([[1, 2], [3, 4]])
    y_pred = np.array([[0, 2], [3, 4]])
    sample_weight = np.array([[1, 0]])
    acc_obj.update_state(y_true, y_pred, sample_weight=sample_weight)
    all_close("Accuracy nd broadcast weights", acc_obj.result(), 0.5, atol=1e-3)


def test_binary_accuracy_unweighted():
    # BinaryAccuracyTest.test_unweighted
    bin_acc_obj = metrics.BinaryAccuracy(name="binary_accuracy", dtype="float32")
    y_true = np.array([[1], [1], [0], [0]])
    y_pred = np.array([[0.98], [1], [0], [0.6]])
    bin_acc_obj.update_state(y_true, y_pred)
    all_close("BinaryAccuracy unweighted", bin_acc_obj.result(), 0.75, atol=1e-3)

    # Test broadcasting case
    bin_acc_obj = metrics.BinaryAccuracy(name="binary_accuracy", dtype="float32")
    y_true = np.array([1, 1, 0, 0])
    y_pred = np.array([[0.98], [1], [0], [0.6]])
    bin_acc_obj.update_state(y_true, y_pred)
    all_close("BinaryAccuracy unweighted broadcast", bin_acc_obj.result(), 0.75, atol=1e-3)


def test_binary_accuracy_weighted():
    # BinaryAccuracyTest.test_weighted
    bin_acc_obj = metrics.BinaryAccuracy(name="binary_accuracy", dtype="float32")
    y_true = np.array([[1], [1], [0], [0]])
    y_pred = np.array([[0.98], [1], [0], [0.6]])
    sample_weight = np.array([1, 0, 0, 1])
    bin_acc_obj.update_state(y_true, y_pred, sample_weight=sample_weight)
    all_close("BinaryAccuracy weighted", bin_acc_obj.result(), 0.5, atol=1e-3)


def test_binary_accuracy_weighted_rank_1():
    # BinaryAccuracyTest.test_weighted_rank_1
    bin_acc_obj = metrics.BinaryAccuracy(name="binary_accuracy", dtype="float32")
    y_true = np.array([1, 1, 0, 0])
    y_pred = np.array([0.98, 1, 0, 0.6])
    sample_weight = np.array([1, 0, 0, 1])
    bin_acc_obj.update_state(y_true, y_pred, sample_weight=sample_weight)
    all_close("BinaryAccuracy weighted rank 1", bin_acc_obj.result(), 0.5, atol=1e-3)


def test_binary_accuracy_weighted_nd_weights():
    # BinaryAccuracyTest.test_weighted_nd_weights
    bin_acc_obj = metrics.BinaryAccuracy(name="binary_accuracy", dtype="float32")
    y_true = np.array([[1, 1], [0, 0]])
    y_pred = np.array([[0.98, 1], [0, 0.6]])
    sample_weight = np.array([[1, 0], [0, 1]])
    bin_acc_obj.update_state(y_true, y_pred, sample_weight=sample_weight)
    all_close("BinaryAccuracy nd weights", bin_acc_obj.result(), 0.5, atol=1e-3)


def test_binary_accuracy_weighted_nd_broadcast_weights():
    # BinaryAccuracyTest.test_weighted_nd_broadcast_weights
    bin_acc_obj = metrics.BinaryAccuracy(name="binary_accuracy", dtype="float32")
    y_true = np.array([[1, 1], [0, 0]])
    y_pred = np.array([[0.98, 1], [0, 0.6]])
    sample_weight = np.array([[1, 0]])
    bin_acc_obj.update_state(y_true, y_pred, sample_weight=sample_weight)
    all_close("BinaryAccuracy nd broadcast weights", bin_acc_obj.result(), 1.0, atol=1e-3)


def test_binary_accuracy_threshold():
    # BinaryAccuracyTest.test_threshold
    bin_acc_obj_1 = metrics.BinaryAccuracy(name="binary_accuracy", dtype="float32", threshold=0.3)
    bin_acc_obj_2 = metrics.BinaryAccuracy(name="binary_accuracy", dtype="float32", threshold=0.9)
    y_true = np.array([[1], [1], [0], [0]])
    y_pred = np.array([[0.98], [0.5], [0.1], [0.2]])
    bin_acc_obj_1.update_state(y_true, y_pred)
    bin_acc_obj_2.update_state(y_true, y_pred)
    # Higher threshold must result in lower measured accuracy.
    all_close("BinaryAccuracy threshold=0.3", bin_acc_obj_1.result(), 1.0)
    all_close("BinaryAccuracy threshold=0.9", bin_acc_obj_2.result(), 0.75)


def test_categorical_accuracy_unweighted():
    # CategoricalAccuracyTest.test_unweighted
    cat_acc_obj = metrics.CategoricalAccuracy(name="categorical_accuracy", dtype="float32")
    y_true = np.array([[0, 0, 1], [0, 1, 0]])
    y_pred = np.array([[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    cat_acc_obj.update_state(y_true, y_pred)
    all_close("CategoricalAccuracy unweighted", cat_acc_obj.result(), 0.5, atol=1e-3)


def test_categorical_accuracy_weighted():
    # CategoricalAccuracyTest.test_weighted
    cat_acc_obj = metrics.CategoricalAccuracy(name="categorical_accuracy", dtype="float32")
    y_true = np.array([[0, 0, 1], [0, 1, 0]])
    y_pred = np.array([[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    sample_weight = np.array([0.7, 0.3])
    cat_acc_obj.update_state(y_true, y_pred, sample_weight=sample_weight)
    all_close("CategoricalAccuracy weighted", cat_acc_obj.result(), 0.3, atol=1e-3)


def _sp_cat_acc():
    return metrics.SparseCategoricalAccuracy(name="sparse_categorical_accuracy", dtype="float32")


def test_sparse_categorical_accuracy_unweighted():
    # SparseCategoricalAccuracyTest.test_unweighted
    obj = _sp_cat_acc()
    y_true = np.array([[2], [1]])
    y_pred = np.array([[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
    obj.update_state(y_true, y_pred)
    all_close("SparseCategoricalAccuracy unweighted", obj.result(), 0.5, atol=1e-3)


def test_sparse_categorical_accuracy_weighted():
    # SparseCategoricalAccuracyTest.test_weighted
    obj = _sp_cat_acc()
    y_true = np.array([[2], [1]])
    y_pred = np.array([[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
    sample_weight = np.array([0.7, 0.3])
    obj.update_state(y_true, y_pred, sample_weight=sample_weight)
    all_close("SparseCategoricalAccuracy weighted", obj.result(), 0.3, atol=1e-3)


def test_sparse_categorical_accuracy_squeeze_y_true():
    # SparseCategoricalAccuracyTest.test_squeeze_y_true
    obj = _sp_cat_acc()
    y_true = np.array([[0], [1], [2]])
    y_pred = np.array([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]])
    obj.update_state(y_true, y_pred)
    all_close("SparseCategoricalAccuracy squeeze_y_true", obj.result(), 1.0, atol=1e-4)


def test_sparse_categorical_accuracy_cast_y_pred_dtype():
    # SparseCategoricalAccuracyTest.test_cast_y_pred_dtype
    obj = _sp_cat_acc()
    y_true = np.array([0, 1], dtype=np.int64)
    y_pred = np.array([[0.9, 0.1], [0.1, 0.9]], dtype=np.float32)
    obj.update_state(y_true, y_pred)
    all_close("SparseCategoricalAccuracy cast_y_pred_dtype", obj.result(), 1.0, atol=1e-4)


def test_sparse_categorical_accuracy_reshape_matches():
    # SparseCategoricalAccuracyTest.test_reshape_matches
    obj = _sp_cat_acc()
    y_true = np.array([[0], [0]], dtype=np.int64)
    y_pred = np.array([[[0.9, 0.1, 0.0], [0.8, 0.15, 0.05]]], dtype=np.float32)
    obj.update_state(y_true, y_pred)
    all_close("SparseCategoricalAccuracy reshape_matches", obj.result(), np.array([1.0, 1.0]))


def test_sparse_categorical_accuracy_squeeze_y_true_shape():
    # SparseCategoricalAccuracyTest.test_squeeze_y_true_shape
    obj = _sp_cat_acc()
    y_true = np.array([[0], [1], [2]])
    y_pred = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    obj.update_state(y_true, y_pred)
    all_close("SparseCategoricalAccuracy squeeze_y_true_shape", obj.result(), 1.0, atol=1e-4)


def test_sparse_categorical_accuracy_cast_y_pred_to_match_y_true_dtype():
    # SparseCategoricalAccuracyTest.test_cast_y_pred_to_match_y_true_dtype
    obj = _sp_cat_acc()
    y_true = np.array([0, 1, 2], dtype=np.int32)
    y_pred = np.array([[0.9, 0.1, 0.0], [0.0, 0.9, 0.1], [0.1, 0.0, 0.9]], dtype=np.float64)
    obj.update_state(y_true, y_pred)
    all_close("SparseCategoricalAccuracy cast_y_pred_to_match_y_true_dtype", obj.result(), 1.0, atol=1e-4)


def test_sparse_categorical_accuracy_reshape_matches_to_original_y_true_shape():
    # SparseCategoricalAccuracyTest.test_reshape_matches_to_original_y_true_shape
    obj = _sp_cat_acc()
    y_true = np.array([[0], [1]])
    y_pred = np.array([[0.9, 0.1], [0.1, 0.9]])
    obj.update_state(y_true, y_pred)
    all_close("SparseCategoricalAccuracy reshape_matches_to_original", obj.result(), 1.0, atol=1e-4)


def test_sparse_categorical_accuracy_matching_shapes_without_squeeze():
    # SparseCategoricalAccuracyTest.test_matching_shapes_without_squeeze
    obj = _sp_cat_acc()
    y_true = np.array([2, 1, 0], dtype=np.int32)
    y_pred = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype=np.float32)
    obj.update_state(y_true, y_pred)
    all_close("SparseCategoricalAccuracy matching_shapes_without_squeeze", obj.result(), 1.0, atol=1e-4)


def test_top_k_categorical_accuracy_config():
    # TopKCategoricalAccuracyTest.test_config
    obj = metrics.TopKCategoricalAccuracy(k=1, name="top_k_categorical_accuracy", dtype="float32")
    assert obj.name == "top_k_categorical_accuracy"
    assert len(obj.variables) == 2
    assert obj.dtype == torch.float32
    config = obj.get_config()
    print(f"TopKCategoricalAccuracy config={config}")
    assert config["name"] == "top_k_categorical_accuracy"
    assert config["dtype"] == "float32"
    assert config["k"] == 1
    obj2 = metrics.TopKCategoricalAccuracy.from_config(config)
    assert obj2.name == "top_k_categorical_accuracy"
    assert len(obj2.variables) == 2
    assert obj2.dtype == torch.float32
    assert obj2.k == 1


def test_top_k_categorical_accuracy_unweighted():
    # TopKCategoricalAccuracyTest.test_unweighted
    obj = metrics.TopKCategoricalAccuracy(k=1, name="top_k_categorical_accuracy", dtype="float32")
    y_true = np.array([[0, 0, 1], [0, 1, 0]])
    y_pred = np.array([[0.1, 0.9, 0.8], [0.05, 0.95, 0]], dtype="float32")
    obj.update_state(y_true, y_pred)
    all_close("TopKCategoricalAccuracy unweighted", obj.result(), 0.5, atol=1e-3)


def test_top_k_categorical_accuracy_weighted():
    # TopKCategoricalAccuracyTest.test_weighted
    obj = metrics.TopKCategoricalAccuracy(k=1, name="top_k_categorical_accuracy", dtype="float32")
    y_true = np.array([[0, 0, 1], [0, 1, 0]])
    y_pred = np.array([[0.1, 0.9, 0.8], [0.05, 0.95, 0]], dtype="float32")
    sample_weight = np.array([0.7, 0.3])
    obj.update_state(y_true, y_pred, sample_weight=sample_weight)
    all_close("TopKCategoricalAccuracy weighted", obj.result(), 0.3, atol=1e-3)


def _sp_top_k(**kwargs):
    return metrics.SparseTopKCategoricalAccuracy(k=1, name="sparse_top_k_categorical_accuracy", dtype="float32",
                                                 **kwargs)


def test_sparse_top_k_categorical_accuracy_config():
    # SparseTopKCategoricalAccuracyTest.test_config
    obj = _sp_top_k()
    assert obj.name == "sparse_top_k_categorical_accuracy"
    assert len(obj.variables) == 2
    assert obj.dtype == torch.float32
    config = obj.get_config()
    print(f"SparseTopKCategoricalAccuracy config={config}")
    assert config["name"] == "sparse_top_k_categorical_accuracy"
    assert config["dtype"] == "float32"
    assert config["k"] == 1
    obj2 = metrics.SparseTopKCategoricalAccuracy.from_config(config)
    assert obj2.name == "sparse_top_k_categorical_accuracy"
    assert len(obj2.variables) == 2
    assert obj2.dtype == torch.float32
    assert obj2.k == 1
    assert not obj2.from_sorted_ids


def test_sparse_top_k_categorical_accuracy_config_from_sorted_ids():
    # SparseTopKCategoricalAccuracyTest.test_config_from_sorted_ids
    obj = _sp_top_k(from_sorted_ids=True)
    config = obj.get_config()
    print(f"SparseTopKCategoricalAccuracy(from_sorted_ids=True) config={config}")
    assert config["from_sorted_ids"]
    obj2 = metrics.SparseTopKCategoricalAccuracy.from_config(config)
    assert obj2.from_sorted_ids


def test_sparse_top_k_categorical_accuracy_unweighted():
    # SparseTopKCategoricalAccuracyTest.test_unweighted
    obj = _sp_top_k()
    y_true = np.array([2, 1])
    y_pred = np.array([[0.1, 0.9, 0.8], [0.05, 0.95, 0]], dtype="float32")
    obj.update_state(y_true, y_pred)
    all_close("SparseTopKCategoricalAccuracy unweighted", obj.result(), 0.5, atol=1e-3)


def test_sparse_top_k_categorical_accuracy_weighted():
    # SparseTopKCategoricalAccuracyTest.test_weighted
    obj = _sp_top_k()
    y_true = np.array([2, 1])
    y_pred = np.array([[0.1, 0.9, 0.8], [0.05, 0.95, 0]], dtype="float32")
    sample_weight = np.array([0.7, 0.3])
    obj.update_state(y_true, y_pred, sample_weight=sample_weight)
    all_close("SparseTopKCategoricalAccuracy weighted", obj.result(), 0.3, atol=1e-3)


def test_sparse_top_k_categorical_accuracy_from_sorted_ids_unweighted():
    # SparseTopKCategoricalAccuracyTest.test_from_sorted_ids_unweighted
    obj = _sp_top_k(from_sorted_ids=True)
    y_true = np.array([2, 1])
    y_pred = np.array([[1, 0, 3], [1, 2, 3]])
    obj.update_state(y_true, y_pred)
    all_close("SparseTopKCategoricalAccuracy from_sorted_ids unweighted", obj.result(), 0.5, atol=1e-3)


def test_sparse_top_k_categorical_accuracy_from_sorted_ids_weighted():
    # SparseTopKCategoricalAccuracyTest.test_from_sorted_ids_weighted
    obj = _sp_top_k(from_sorted_ids=True)
    y_true = np.array([2, 1])
    y_pred = np.array([[1, 0, 3], [1, 2, 3]])
    sample_weight = np.array([0.7, 0.3])
    obj.update_state(y_true, y_pred, sample_weight=sample_weight)
    all_close("SparseTopKCategoricalAccuracy from_sorted_ids weighted", obj.result(), 0.3, atol=1e-3)


# ==========================================================================
# reduction_metrics_test.py
# ==========================================================================


def test_sum_config():
    # SumTest.test_config
    sum_obj = metrics.Sum(name="sum", dtype="float32")
    assert sum_obj.name == "sum"
    assert len(sum_obj.variables) == 1
    assert sum_obj.dtype == torch.float32
    sum_obj2 = metrics.Sum.from_config(sum_obj.get_config())
    assert sum_obj2.name == "sum"
    assert len(sum_obj2.variables) == 1
    assert sum_obj2.dtype == torch.float32


def test_sum_unweighted():
    # SumTest.test_unweighted
    sum_obj = metrics.Sum(name="sum", dtype="float32")
    sum_obj.update_state([1, 3, 5, 7])
    all_close("Sum unweighted", sum_obj.result(), 16.0, atol=1e-3)


def test_sum_weighted():
    # SumTest.test_weighted
    sum_obj = metrics.Sum(name="sum", dtype="float32")
    sum_obj.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    all_close("Sum weighted", sum_obj.result(), 4.0, atol=1e-3)


def test_sum_weighted_nd():
    # SumTest.test_weighted_nd
    sum_obj = metrics.Sum(name="sum", dtype="float32")
    sum_obj.update_state([[1, 3], [5, 7]], sample_weight=[[1, 1], [1, 0]])
    all_close("Sum weighted nd", sum_obj.result(), 9.0, atol=1e-3)


def test_sum_weighted_nd_broadcast():
    # SumTest.test_weighted_nd_broadcast
    sum_obj = metrics.Sum(name="sum", dtype="float32")
    sum_obj.update_state([[1, 3], [5, 7]], sample_weight=[[1, 0]])
    all_close("Sum weighted nd broadcast", sum_obj.result(), 6.0, atol=1e-3)


def test_mean_config():
    # MeanTest.test_config
    mean_obj = metrics.Mean(name="mean", dtype="float32")
    assert mean_obj.name == "mean"
    assert len(mean_obj.variables) == 2
    assert mean_obj.dtype == torch.float32
    mean_obj2 = metrics.Mean.from_config(mean_obj.get_config())
    assert mean_obj2.name == "mean"
    assert len(mean_obj2.variables) == 2
    assert mean_obj2.dtype == torch.float32


def test_mean_unweighted():
    # MeanTest.test_unweighted
    mean_obj = metrics.Mean(name="mean", dtype="float32")
    mean_obj.update_state([1, 3, 5, 7])
    all_close("Mean unweighted", mean_obj.result(), 4.0, atol=1e-3)


def test_mean_weighted():
    # MeanTest.test_weighted
    mean_obj = metrics.Mean(name="mean", dtype="float32")
    mean_obj.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    all_close("Mean weighted", mean_obj.result(), 2.0, atol=1e-3)


def test_mean_weighted_negative_weights():
    # MeanTest.test_weighted_negative_weights
    mean_obj = metrics.Mean(name="mean", dtype="float32")
    mean_obj.update_state([1, 3, 5, 7], sample_weight=[-1, -1, 0, 0])
    all_close("Mean negative weights", mean_obj.result(), 2.0, atol=1e-3)


def test_mean_weighted_nd():
    # MeanTest.test_weighted_nd
    mean_obj = metrics.Mean(name="mean", dtype="float32")
    mean_obj.update_state([[1, 3], [5, 7]], sample_weight=[[1, 1], [1, 0]])
    all_close("Mean weighted nd", mean_obj.result(), 3.0, atol=1e-3)


def test_mean_weighted_nd_broadcast():
    # MeanTest.test_weighted_nd_broadcast
    mean_obj = metrics.Mean(name="mean", dtype="float32")
    mean_obj.update_state([[1, 3], [5, 7]], sample_weight=[[1, 0]])
    all_close("Mean weighted nd broadcast", mean_obj.result(), 3.0, atol=1e-3)


def mse(y_true, y_pred):
    # reduction_metrics_test's custom function (registered there with register_keras_serializable)
    return (y_true - y_pred) ** 2


WRAPPER_Y_TRUE = np.array([[0, 1, 0, 1, 0], [0, 0, 1, 1, 1], [1, 1, 1, 1, 0], [0, 0, 0, 0, 1]])
WRAPPER_Y_PRED = np.array([[0, 0, 1, 1, 0], [1, 1, 1, 1, 1], [0, 1, 0, 1, 0], [1, 1, 1, 1, 1]])


def test_metric_wrapper_config():
    # MetricWrapperTest.test_config
    mse_obj = metrics.MeanMetricWrapper(fn=mse, name="mse", dtype="float32")
    assert mse_obj.name == "mse"
    assert len(mse_obj.variables) == 2
    assert mse_obj.dtype == torch.float32
    config = mse_obj.get_config()
    print(f"MeanMetricWrapper config={config}")
    mse_obj2 = metrics.MeanMetricWrapper.from_config(config)
    assert mse_obj2.name == "mse"
    assert len(mse_obj2.variables) == 2
    assert mse_obj2.dtype == torch.float32
    assert "fn" in mse_obj2.get_config()


def test_metric_wrapper_unweighted():
    # MetricWrapperTest.test_unweighted
    mse_obj = metrics.MeanMetricWrapper(fn=mse, name="mse", dtype="float32")
    mse_obj.update_state(WRAPPER_Y_TRUE, WRAPPER_Y_PRED)
    all_close("MeanMetricWrapper unweighted", mse_obj.result(), 0.5, atol=1e-5)


def test_metric_wrapper_weighted():
    # MetricWrapperTest.test_weighted
    mse_obj = metrics.MeanMetricWrapper(fn=mse, name="mse", dtype="float32")
    sample_weight = np.array([1.0, 1.5, 2.0, 2.5])
    result = mse_obj(WRAPPER_Y_TRUE, WRAPPER_Y_PRED, sample_weight=sample_weight)
    all_close("MeanMetricWrapper weighted", result, 0.54285, atol=1e-5)


def test_metric_wrapper_weighted_broadcast():
    # MetricWrapperTest.test_weighted_broadcast
    mse_obj = metrics.MeanMetricWrapper(fn=mse, name="mse", dtype="float32")
    sample_weight = np.array([[1.0, 0.0, 0.5, 0.0, 1.0]])
    result = mse_obj(WRAPPER_Y_TRUE, WRAPPER_Y_PRED, sample_weight=sample_weight)
    all_close("MeanMetricWrapper weighted broadcast", result, 0.45, atol=1e-5)


def test_metric_wrapper_binary_accuracy_with_boolean_inputs():
    # MetricWrapperTest.test_binary_accuracy_with_boolean_inputs (the Keras model's
    # output ``inp > 0.5`` computed with NumPy: a boolean array)
    x = np.random.RandomState(0).rand(32, 1)
    y = x > 0.5
    res = x > 0.5
    metric = metrics.BinaryAccuracy()
    metric.update_state(y, res)
    equal("BinaryAccuracy boolean inputs", metric.result(), 1.0)


# ==========================================================================
# probabilistic_metrics_test.py
# ==========================================================================


def _kld_setup():
    y_pred = np.asarray([0.4, 0.9, 0.12, 0.36, 0.3, 0.4], dtype=np.float32).reshape((2, 3))
    y_true = np.asarray([0.5, 0.8, 0.12, 0.7, 0.43, 0.8], dtype=np.float32).reshape((2, 3))
    expected_results = np.multiply(y_true, np.log(y_true / y_pred))
    return y_true, y_pred, 2, expected_results


def test_kl_divergence_config():
    # KLDivergenceTest.test_config
    k_obj = metrics.KLDivergence(name="kld", dtype="int32")
    assert k_obj.name == "kld"
    assert k_obj.dtype == torch.int32
    k_obj2 = metrics.KLDivergence.from_config(k_obj.get_config())
    assert k_obj2.name == "kld"
    assert k_obj2.dtype == torch.int32


def test_kl_divergence_unweighted():
    # KLDivergenceTest.test_unweighted
    y_true, y_pred, batch_size, expected_results = _kld_setup()
    k_obj = metrics.KLDivergence()
    k_obj.update_state(y_true, y_pred)
    expected_result = np.sum(expected_results) / batch_size
    all_close("KLDivergence unweighted", k_obj.result(), expected_result, atol=1e-3)


def test_kl_divergence_weighted():
    # KLDivergenceTest.test_weighted
    y_true, y_pred, _, expected_results = _kld_setup()
    k_obj = metrics.KLDivergence()
    sample_weight = np.asarray([1.2, 3.4], dtype=np.float32).reshape((2, 1))
    result = k_obj(y_true, y_pred, sample_weight=sample_weight)
    sample_weight = np.asarray([1.2, 1.2, 1.2, 3.4, 3.4, 3.4], dtype=np.float32).reshape((2, 3))
    expected_result = np.sum(np.multiply(expected_results, sample_weight)) / (1.2 + 3.4)
    all_close("KLDivergence weighted", result, expected_result, atol=1e-3)


def _poisson_setup():
    y_pred = np.asarray([1, 9, 2, 5, 2, 6], dtype=np.float32).reshape((2, 3))
    y_true = np.asarray([4, 8, 12, 8, 1, 3], dtype=np.float32).reshape((2, 3))
    expected_results = y_pred - np.multiply(y_true, np.log(y_pred))
    return y_true, y_pred, 6, expected_results


def test_poisson_unweighted():
    # PoissonTest.test_unweighted
    y_true, y_pred, batch_size, expected_results = _poisson_setup()
    poisson_obj = metrics.Poisson()
    poisson_obj.update_state(y_true, y_pred)
    expected_result = np.sum(expected_results) / batch_size
    all_close("Poisson unweighted", poisson_obj.result(), expected_result, atol=1e-3)


def test_poisson_weighted():
    # PoissonTest.test_weighted
    y_true, y_pred, _, expected_results = _poisson_setup()
    poisson_obj = metrics.Poisson()
    sample_weight = np.asarray([1.2, 3.4], dtype=np.float32).reshape((2, 1))
    result = poisson_obj(y_true, y_pred, sample_weight=sample_weight)
    sample_weight = np.asarray([1.2, 1.2, 1.2, 3.4, 3.4, 3.4], dtype=np.float32).reshape((2, 3))
    expected_result = np.sum(np.multiply(expected_results, sample_weight)) / np.sum(sample_weight)
    all_close("Poisson weighted", result, expected_result, atol=1e-3)


def test_binary_crossentropy_unweighted():
    # BinaryCrossentropyTest.test_unweighted
    bce_obj = metrics.BinaryCrossentropy()
    y_true = np.array([1, 0, 1, 0]).reshape([2, 2])
    y_pred = np.array([1, 1, 1, 0], dtype=np.float32).reshape([2, 2])
    all_close("BinaryCrossentropy unweighted", bce_obj(y_true, y_pred), 3.9855, atol=1e-3)


def test_binary_crossentropy_unweighted_with_logits():
    # BinaryCrossentropyTest.test_unweighted_with_logits
    bce_obj = metrics.BinaryCrossentropy(from_logits=True)
    y_true = np.array([[1, 0, 1], [0, 1, 1]])
    y_pred = np.array([[10.0, -10.0, 10.0], [10.0, 10.0, -10.0]])
    all_close("BinaryCrossentropy unweighted logits", bce_obj(y_true, y_pred), 3.333, atol=1e-3)


def test_binary_crossentropy_weighted():
    # BinaryCrossentropyTest.test_weighted
    bce_obj = metrics.BinaryCrossentropy()
    y_true = np.array([1, 0, 1, 0]).reshape([2, 2])
    y_pred = np.array([1, 1, 1, 0], dtype=np.float32).reshape([2, 2])
    sample_weight = np.array([1.5, 2.0])
    all_close("BinaryCrossentropy weighted", bce_obj(y_true, y_pred, sample_weight=sample_weight), 3.4162,
              atol=1e-3)


def test_binary_crossentropy_weighted_from_logits():
    # BinaryCrossentropyTest.test_weighted_from_logits
    bce_obj = metrics.BinaryCrossentropy(from_logits=True)
    y_true = np.array([[1, 0, 1], [0, 1, 1]])
    y_pred = np.array([[10.0, -10.0, 10.0], [10.0, 10.0, -10.0]])
    sample_weight = np.array([2.0, 2.5])
    all_close("BinaryCrossentropy weighted logits", bce_obj(y_true, y_pred, sample_weight=sample_weight), 3.7037,
              atol=1e-3)


def test_binary_crossentropy_label_smoothing():
    # BinaryCrossentropyTest.test_label_smoothing
    logits = np.array(((10.0, -10.0, -10.0)))
    y_true = np.array(((1, 0, 1)))
    label_smoothing = 0.1
    bce_obj = metrics.BinaryCrossentropy(from_logits=True, label_smoothing=label_smoothing)
    expected_value = (10.0 + 5.0 * label_smoothing) / 3.0
    all_close("BinaryCrossentropy label_smoothing", bce_obj(y_true, logits), expected_value, atol=1e-3)


CCE_Y_TRUE = np.array([[0, 1, 0], [0, 0, 1]])
CCE_Y_PRED = np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
CCE_LOGITS = np.array([[1, 9, 0], [1, 8, 1]], dtype=np.float32)


def test_categorical_crossentropy_unweighted():
    # CategoricalCrossentropyTest.test_unweighted
    cce_obj = metrics.CategoricalCrossentropy()
    all_close("CategoricalCrossentropy unweighted", cce_obj(CCE_Y_TRUE, CCE_Y_PRED), 1.176, atol=1e-3)


def test_categorical_crossentropy_unweighted_from_logits():
    # CategoricalCrossentropyTest.test_unweighted_from_logits
    cce_obj = metrics.CategoricalCrossentropy(from_logits=True)
    all_close("CategoricalCrossentropy unweighted logits", cce_obj(CCE_Y_TRUE, CCE_LOGITS), 3.5011, atol=1e-3)


def test_categorical_crossentropy_weighted():
    # CategoricalCrossentropyTest.test_weighted
    cce_obj = metrics.CategoricalCrossentropy()
    sample_weight = np.array([1.5, 2.0])
    all_close("CategoricalCrossentropy weighted", cce_obj(CCE_Y_TRUE, CCE_Y_PRED, sample_weight=sample_weight),
              1.338, atol=1e-3)


def test_categorical_crossentropy_weighted_from_logits():
    # CategoricalCrossentropyTest.test_weighted_from_logits
    cce_obj = metrics.CategoricalCrossentropy(from_logits=True)
    sample_weight = np.array([1.5, 2.0])
    all_close("CategoricalCrossentropy weighted logits",
              cce_obj(CCE_Y_TRUE, CCE_LOGITS, sample_weight=sample_weight), 4.0012, atol=1e-3)


def test_categorical_crossentropy_label_smoothing():
    # CategoricalCrossentropyTest.test_label_smoothing
    cce_obj = metrics.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    all_close("CategoricalCrossentropy label_smoothing", cce_obj(CCE_Y_TRUE, CCE_LOGITS), 3.667, atol=1e-3)


SCCE_Y_TRUE = np.array([1, 2])


def test_sparse_categorical_crossentropy_unweighted():
    # SparseCategoricalCrossentropyTest.test_unweighted
    scce_obj = metrics.SparseCategoricalCrossentropy()
    all_close("SparseCategoricalCrossentropy unweighted", scce_obj(SCCE_Y_TRUE, CCE_Y_PRED), 1.176, atol=1e-3)


def test_sparse_categorical_crossentropy_unweighted_from_logits():
    # SparseCategoricalCrossentropyTest.test_unweighted_from_logits
    scce_obj = metrics.SparseCategoricalCrossentropy(from_logits=True)
    all_close("SparseCategoricalCrossentropy unweighted logits", scce_obj(SCCE_Y_TRUE, CCE_LOGITS), 3.5011,
              atol=1e-3)


def test_sparse_categorical_crossentropy_weighted():
    # SparseCategoricalCrossentropyTest.test_weighted
    scce_obj = metrics.SparseCategoricalCrossentropy()
    sample_weight = np.array([1.5, 2.0])
    all_close("SparseCategoricalCrossentropy weighted",
              scce_obj(SCCE_Y_TRUE, CCE_Y_PRED, sample_weight=sample_weight), 1.338, atol=1e-3)


def test_sparse_categorical_crossentropy_weighted_from_logits():
    # SparseCategoricalCrossentropyTest.test_weighted_from_logits
    scce_obj = metrics.SparseCategoricalCrossentropy(from_logits=True)
    sample_weight = np.array([1.5, 2.0])
    all_close("SparseCategoricalCrossentropy weighted logits",
              scce_obj(SCCE_Y_TRUE, CCE_LOGITS, sample_weight=sample_weight), 4.0012, atol=1e-3)


SCCE_IGNORE_Y_TRUE = np.array([0, 1, 2])
SCCE_IGNORE_Y_PRED = np.array([[0.8, 0.1, 0.1], [0.05, 0.95, 0], [0.1, 0.8, 0.1]])


def test_sparse_categorical_crossentropy_ignore_class():
    # SparseCategoricalCrossentropyTest.test_ignore_class
    scce_obj = metrics.SparseCategoricalCrossentropy(ignore_class=0)
    all_close("SparseCategoricalCrossentropy ignore_class", scce_obj(SCCE_IGNORE_Y_TRUE, SCCE_IGNORE_Y_PRED),
              0.78462, atol=1e-3)


def test_sparse_categorical_crossentropy_ignore_class_weighted():
    # SparseCategoricalCrossentropyTest.test_ignore_class_weighted
    scce_obj = metrics.SparseCategoricalCrossentropy(ignore_class=0)
    sample_weight = np.array([0.5, 1.5, 2.0])
    all_close("SparseCategoricalCrossentropy ignore_class weighted",
              scce_obj(SCCE_IGNORE_Y_TRUE, SCCE_IGNORE_Y_PRED, sample_weight=sample_weight), 1.33774646, atol=1e-3)


def test_sparse_categorical_crossentropy_ignore_class_from_logits():
    # SparseCategoricalCrossentropyTest.test_ignore_class_from_logits
    scce_obj = metrics.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
    logits = np.array([[10, 1, 1], [1, 9, 0], [1, 8, 1]], dtype=np.float32)
    all_close("SparseCategoricalCrossentropy ignore_class logits", scce_obj(SCCE_IGNORE_Y_TRUE, logits), 2.33409,
              atol=1e-3)


# ==========================================================================
# confusion_metrics_test.py: TP / FP / TN / FN
# ==========================================================================

COUNT_Y_TRUE = np.array(((0, 1, 0, 1, 0), (0, 0, 1, 1, 1), (1, 1, 1, 1, 0), (0, 0, 0, 0, 1)))
COUNT_Y_PRED = np.array(((0, 0, 1, 1, 0), (1, 1, 1, 1, 1), (0, 1, 0, 1, 0), (1, 1, 1, 1, 1)))
COUNT_WEIGHTS = np.array((1.0, 1.5, 2.0, 2.5))
THR_Y_PRED = np.array(((0.9, 0.2, 0.8, 0.1), (0.2, 0.9, 0.7, 0.6), (0.1, 0.2, 0.4, 0.3), (0, 1, 0.7, 0.3)))
THR_Y_TRUE = np.array(((0, 1, 1, 0), (1, 0, 0, 0), (0, 0, 0, 0), (1, 1, 1, 1)))

# (Keras test class, metric class, config name, unweighted, weighted, unweighted with thresholds,
#  sample_weight of test_weighted_with_thresholds, weighted with thresholds)
_COUNTS = {
    "FalsePositivesTest": (metrics.FalsePositives, "my_fp", 7.0, 14.0, [7.0, 4.0, 2.0],
                           ((1.0, 2.0, 3.0, 5.0), (7.0, 11.0, 13.0, 17.0), (19.0, 23.0, 29.0, 31.0),
                            (5.0, 15.0, 10.0, 0)), [125.0, 42.0, 12.0]),
    "FalseNegativesTest": (metrics.FalseNegatives, "my_fn", 3.0, 5.0, [1.0, 4.0, 6.0],
                           ((3.0,), (5.0,), (7.0,), (4.0,)), [4.0, 16.0, 23.0]),
    "TrueNegativesTest": (metrics.TrueNegatives, "my_tn", 3.0, 4.0, [2.0, 5.0, 7.0],
                          ((0.0, 2.0, 3.0, 5.0),), [5.0, 15.0, 23.0]),
    "TruePositiveTest": (metrics.TruePositives, "my_tp", 7.0, 12.0, [6.0, 3.0, 1.0], 37.0, [222.0, 111.0, 37.0]),
}
_COUNT_IDS = list(_COUNTS)


@pytest.mark.parametrize("keras_test", _COUNT_IDS)
def test_counts_config(keras_test):
    # {FalsePositives,FalseNegatives,TrueNegatives,TruePositive}Test.test_config
    cls, name = _COUNTS[keras_test][:2]
    obj = cls(name=name, thresholds=[0.4, 0.9])
    assert obj.name == name
    assert len(obj.variables) == 1
    assert obj.thresholds == [0.4, 0.9]
    config = obj.get_config()
    print(f"{keras_test}: config={config}")
    obj2 = cls.from_config(config)
    assert obj2.name == name
    assert len(obj2.variables) == 1
    assert obj2.thresholds == [0.4, 0.9]


@pytest.mark.parametrize("keras_test", _COUNT_IDS)
def test_counts_unweighted(keras_test):
    # {...}Test.test_unweighted
    cls, _, expected = _COUNTS[keras_test][:3]
    obj = cls()
    obj.update_state(COUNT_Y_TRUE, COUNT_Y_PRED)
    all_close(f"{keras_test} unweighted", obj.result(), expected)


@pytest.mark.parametrize("keras_test", _COUNT_IDS)
def test_counts_weighted(keras_test):
    # {...}Test.test_weighted
    cls, expected = _COUNTS[keras_test][0], _COUNTS[keras_test][3]
    obj = cls()
    result = obj(COUNT_Y_TRUE, COUNT_Y_PRED, sample_weight=COUNT_WEIGHTS)
    all_close(f"{keras_test} weighted", result, expected)


@pytest.mark.parametrize("keras_test", _COUNT_IDS)
def test_counts_unweighted_with_thresholds(keras_test):
    # {...}Test.test_unweighted_with_thresholds
    cls, expected = _COUNTS[keras_test][0], _COUNTS[keras_test][4]
    obj = cls(thresholds=[0.15, 0.5, 0.85])
    obj.update_state(THR_Y_TRUE, THR_Y_PRED)
    all_close(f"{keras_test} unweighted thresholds", obj.result(), expected)


@pytest.mark.parametrize("keras_test", _COUNT_IDS)
def test_counts_weighted_with_thresholds(keras_test):
    # {...}Test.test_weighted_with_thresholds
    cls, sample_weight, expected = _COUNTS[keras_test][0], _COUNTS[keras_test][5], _COUNTS[keras_test][6]
    obj = cls(thresholds=[0.15, 0.5, 0.85])
    result = obj(THR_Y_TRUE, THR_Y_PRED, sample_weight=sample_weight)
    all_close(f"{keras_test} weighted thresholds", result, expected)


@pytest.mark.parametrize("keras_test", _COUNT_IDS)
def test_counts_threshold_limit(keras_test):
    # {...}Test.test_threshold_limit
    cls = _COUNTS[keras_test][0]
    with raises(ValueError, r"Threshold values must be in \[0, 1\]. Received: \[-1, 2\]"):
        cls(thresholds=[-1, 0.5, 2])
    with raises(ValueError, r"Threshold values must be in \[0, 1\]. Received: \[None\]"):
        cls(thresholds=[None])


# ==========================================================================
# confusion_metrics_test.py: Precision / Recall
# ==========================================================================


@pytest.mark.parametrize("cls,name,other", [(metrics.Precision, "my_precision", "false_positives"),
                                            (metrics.Recall, "my_recall", "false_negatives")],
                         ids=["PrecisionTest", "RecallTest"])
def test_precision_recall_config(cls, name, other):
    # PrecisionTest.test_config / RecallTest.test_config
    obj = cls(name=name, thresholds=[0.4, 0.9], top_k=15, class_id=12)
    assert obj.name == name
    assert len(obj.variables) == 2
    # Keras: [v.name for v in obj.variables] == ["true_positives", other]
    assert obj.variables[0] is obj.true_positives and obj.variables[1] is getattr(obj, other)
    assert obj.thresholds == [0.4, 0.9]
    assert obj.top_k == 15
    assert obj.class_id == 12
    config = obj.get_config()
    print(f"{cls.__name__}: config={config}")
    obj2 = cls.from_config(config)
    assert obj2.name == name
    assert len(obj2.variables) == 2
    assert obj2.thresholds == [0.4, 0.9]
    assert obj2.top_k == 15
    assert obj2.class_id == 12


def test_precision_unweighted():
    # PrecisionTest.test_unweighted
    p_obj = metrics.Precision()
    y_pred = np.array([1, 0, 1, 0])
    y_true = np.array([0, 1, 1, 0])
    almost_equal("Precision unweighted", p_obj(y_true, y_pred), 0.5)


def test_precision_unweighted_all_incorrect():
    # PrecisionTest.test_unweighted_all_incorrect
    p_obj = metrics.Precision(thresholds=[0.5])
    inputs = np.random.RandomState(0).randint(0, 2, size=(100, 1))
    y_pred = np.array(inputs)
    y_true = np.array(1 - inputs)
    almost_equal("Precision all incorrect", p_obj(y_true, y_pred), 0)


def test_precision_weighted():
    # PrecisionTest.test_weighted
    p_obj = metrics.Precision()
    y_pred = np.array([[1, 0, 1, 0], [1, 0, 1, 0]])
    y_true = np.array([[0, 1, 1, 0], [1, 0, 0, 1]])
    result = p_obj(y_true, y_pred, sample_weight=np.array([[1, 2, 3, 4], [4, 3, 2, 1]]))
    weighted_tp = 3.0 + 4.0
    weighted_positives = (1.0 + 3.0) + (4.0 + 2.0)
    almost_equal("Precision weighted", result, weighted_tp / weighted_positives)


def test_precision_div_by_zero():
    # PrecisionTest.test_div_by_zero
    p_obj = metrics.Precision()
    y_pred = np.array([0, 0, 0, 0])
    y_true = np.array([0, 0, 0, 0])
    equal("Precision div by zero", p_obj(y_true, y_pred), 0)


def test_precision_unweighted_with_threshold():
    # PrecisionTest.test_unweighted_with_threshold
    p_obj = metrics.Precision(thresholds=[0.5, 0.7])
    y_pred = np.array([1, 0, 0.6, 0])
    y_true = np.array([0, 1, 1, 0])
    almost_equal("Precision thresholds", p_obj(y_true, y_pred), [0.5, 0.0], 0)


def test_precision_weighted_with_threshold():
    # PrecisionTest.test_weighted_with_threshold
    p_obj = metrics.Precision(thresholds=[0.5, 1.0])
    y_true = np.array([[0, 1], [1, 0]])
    y_pred = np.array([[1, 0], [0.6, 0]], dtype="float32")
    weights = np.array([[4, 0], [3, 1]], dtype="float32")
    result = p_obj(y_true, y_pred, sample_weight=weights)
    weighted_tp = 0 + 3.0
    weighted_positives = (0 + 3.0) + (4.0 + 0.0)
    almost_equal("Precision weighted thresholds", result, [weighted_tp / weighted_positives, 0])


def test_precision_multiple_updates():
    # PrecisionTest.test_multiple_updates
    p_obj = metrics.Precision(thresholds=[0.5, 1.0])
    y_true = np.array([[0, 1], [1, 0]])
    y_pred = np.array([[1, 0], [0.6, 0]], dtype="float32")
    weights = np.array([[4, 0], [3, 1]], dtype="float32")
    for _ in range(2):
        p_obj.update_state(y_true, y_pred, sample_weight=weights)
    weighted_tp = (0 + 3.0) + (0 + 3.0)
    weighted_positives = ((0 + 3.0) + (4.0 + 0.0)) + ((0 + 3.0) + (4.0 + 0.0))
    almost_equal("Precision multiple updates", p_obj.result(), [weighted_tp / weighted_positives, 0])


def test_precision_unweighted_top_k():
    # PrecisionTest.test_unweighted_top_k
    p_obj = metrics.Precision(top_k=3)
    y_pred = np.array([0.2, 0.1, 0.5, 0, 0.2])
    y_true = np.array([0, 1, 1, 0, 0])
    almost_equal("Precision top_k", p_obj(y_true, y_pred), 1.0 / 3)


def test_precision_weighted_top_k():
    # PrecisionTest.test_weighted_top_k
    p_obj = metrics.Precision(top_k=3)
    y_pred1 = np.array([[0.2, 0.1, 0.4, 0, 0.2]])
    y_true1 = np.array([[0, 1, 1, 0, 1]])
    p_obj(y_true1, y_pred1, sample_weight=np.array([[1, 4, 2, 3, 5]]))
    y_pred2 = np.array([0.2, 0.6, 0.4, 0.2, 0.2])
    y_true2 = np.array([1, 0, 1, 1, 1])
    result = p_obj(y_true2, y_pred2, sample_weight=np.array(3))
    tp = (2 + 5) + (3 + 3)
    predicted_positives = (1 + 2 + 5) + (3 + 3 + 3)
    almost_equal("Precision weighted top_k", result, tp / predicted_positives)


@pytest.mark.parametrize("cls", [metrics.Precision, metrics.Recall], ids=["PrecisionTest", "RecallTest"])
def test_precision_recall_unweighted_class_id_should_throw_error_1d(cls):
    # PrecisionTest / RecallTest .test_unweighted_class_id_should_throw_error_1d
    obj = cls(class_id=2)
    y_pred = np.array([0.2, 0.1, 0.6, 0, 0.2])
    y_true = np.array([0, 1, 1, 0, 0])
    with raises(ValueError, r"When class_id is provided, y_pred must be a 2D array "
                            r"with shape \(num_samples, num_classes\), found shape:.*"):
        obj(y_true, y_pred)


CLASS_ID_Y_PRED = np.array([[0.1, 0.2, 0.7], [0.5, 0.3, 0.2], [0.2, 0.6, 0.2], [0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
CLASS_ID_Y_TRUE = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


def test_precision_unweighted_class_id_multiclass():
    # PrecisionTest.test_unweighted_class_id_multiclass
    p_obj = metrics.Precision(class_id=1)
    result = p_obj(CLASS_ID_Y_TRUE, CLASS_ID_Y_PRED)
    almost_equal("Precision class_id", result, 1.0)
    almost_equal("Precision class_id tp", p_obj.true_positives, 1.0)
    almost_equal("Precision class_id fp", p_obj.false_positives, 0.0)


def test_precision_unweighted_top_k_and_threshold():
    # PrecisionTest.test_unweighted_top_k_and_threshold
    p_obj = metrics.Precision(thresholds=0.7, top_k=2)
    y_pred = np.array([0.2, 0.8, 0.6, 0, 0.2])
    y_true = np.array([0, 1, 1, 0, 1])
    almost_equal("Precision top_k+threshold", p_obj(y_true, y_pred), 1)
    almost_equal("Precision top_k+threshold tp", p_obj.true_positives, 1)
    almost_equal("Precision top_k+threshold fp", p_obj.false_positives, 0)


def test_recall_unweighted():
    # RecallTest.test_unweighted
    r_obj = metrics.Recall()
    y_pred = np.array([1, 0, 1, 0])
    y_true = np.array([0, 1, 1, 0])
    almost_equal("Recall unweighted", r_obj(y_true, y_pred), 0.5)


def test_recall_unweighted_all_incorrect():
    # RecallTest.test_unweighted_all_incorrect
    r_obj = metrics.Recall(thresholds=[0.5])
    inputs = np.random.RandomState(0).randint(0, 2, size=(100, 1))
    y_pred = np.array(inputs)
    y_true = np.array(1 - inputs)
    almost_equal("Recall all incorrect", r_obj(y_true, y_pred), 0)


def test_recall_weighted():
    # RecallTest.test_weighted
    r_obj = metrics.Recall()
    y_pred = np.array([[1, 0, 1, 0], [0, 1, 0, 1]])
    y_true = np.array([[0, 1, 1, 0], [1, 0, 0, 1]])
    result = r_obj(y_true, y_pred, sample_weight=np.array([[1, 2, 3, 4], [4, 3, 2, 1]]))
    weighted_tp = 3.0 + 1.0
    weighted_t = (2.0 + 3.0) + (4.0 + 1.0)
    almost_equal("Recall weighted", result, weighted_tp / weighted_t)


def test_recall_div_by_zero():
    # RecallTest.test_div_by_zero
    r_obj = metrics.Recall()
    y_pred = np.array([0, 0, 0, 0])
    y_true = np.array([0, 0, 0, 0])
    equal("Recall div by zero", r_obj(y_true, y_pred), 0)


def test_recall_unweighted_with_threshold():
    # RecallTest.test_unweighted_with_threshold
    r_obj = metrics.Recall(thresholds=[0.5, 0.7])
    y_pred = np.array([1, 0, 0.6, 0])
    y_true = np.array([0, 1, 1, 0])
    all_close("Recall thresholds", r_obj(y_true, y_pred), [0.5, 0.0], 0)


def test_recall_weighted_with_threshold():
    # RecallTest.test_weighted_with_threshold
    r_obj = metrics.Recall(thresholds=[0.5, 1.0])
    y_true = np.array([[0, 1], [1, 0]])
    y_pred = np.array([[1, 0], [0.6, 0]], dtype="float32")
    weights = np.array([[1, 4], [3, 2]], dtype="float32")
    result = r_obj(y_true, y_pred, sample_weight=weights)
    weighted_tp = 0 + 3.0
    weighted_positives = (0 + 3.0) + (4.0 + 0.0)
    all_close("Recall weighted thresholds", result, [weighted_tp / weighted_positives, 0], 1e-3)


def test_recall_multiple_updates():
    # RecallTest.test_multiple_updates
    r_obj = metrics.Recall(thresholds=[0.5, 1.0])
    y_true = np.array([[0, 1], [1, 0]])
    y_pred = np.array([[1, 0], [0.6, 0]], dtype="float32")
    weights = np.array([[1, 4], [3, 2]], dtype="float32")
    for _ in range(2):
        r_obj.update_state(y_true, y_pred, sample_weight=weights)
    weighted_tp = (0 + 3.0) + (0 + 3.0)
    weighted_positives = ((0 + 3.0) + (4.0 + 0.0)) + ((0 + 3.0) + (4.0 + 0.0))
    all_close("Recall multiple updates", r_obj.result(), [weighted_tp / weighted_positives, 0], 1e-3)


def test_recall_unweighted_top_k():
    # RecallTest.test_unweighted_top_k
    r_obj = metrics.Recall(top_k=3)
    y_pred = np.array([0.2, 0.1, 0.5, 0, 0.2])
    y_true = np.array([0, 1, 1, 0, 0])
    almost_equal("Recall top_k", r_obj(y_true, y_pred), 0.5)


def test_recall_weighted_top_k():
    # RecallTest.test_weighted_top_k
    r_obj = metrics.Recall(top_k=3)
    y_pred1 = np.array([[0.2, 0.1, 0.4, 0, 0.2]])
    y_true1 = np.array([[0, 1, 1, 0, 1]])
    r_obj(y_true1, y_pred1, sample_weight=np.array([[1, 4, 2, 3, 5]]))
    y_pred2 = np.array([0.2, 0.6, 0.4, 0.2, 0.2])
    y_true2 = np.array([1, 0, 1, 1, 1])
    result = r_obj(y_true2, y_pred2, sample_weight=np.array(3))
    tp = (2 + 5) + (3 + 3)
    positives = (4 + 2 + 5) + (3 + 3 + 3 + 3)
    almost_equal("Recall weighted top_k", result, tp / positives)


def test_recall_unweighted_class_id_multiclass():
    # RecallTest.test_unweighted_class_id_multiclass
    r_obj = metrics.Recall(class_id=1)
    result = r_obj(CLASS_ID_Y_TRUE, CLASS_ID_Y_PRED)
    almost_equal("Recall class_id", result, 1.0)
    almost_equal("Recall class_id tp", r_obj.true_positives, 1.0)
    almost_equal("Recall class_id fn", r_obj.false_negatives, 0.0)


def test_recall_unweighted_top_k_and_threshold():
    # RecallTest.test_unweighted_top_k_and_threshold
    r_obj = metrics.Recall(thresholds=0.7, top_k=2)
    y_pred = np.array([0.2, 0.8, 0.6, 0, 0.2])
    y_true = np.array([1, 1, 1, 0, 1])
    almost_equal("Recall top_k+threshold", r_obj(y_true, y_pred), 0.25)
    almost_equal("Recall top_k+threshold tp", r_obj.true_positives, 1)
    almost_equal("Recall top_k+threshold fn", r_obj.false_negatives, 3)


# ==========================================================================
# confusion_metrics_test.py: SensitivityAtSpecificity and friends
# ==========================================================================

# Keras test class -> (metric class, name of the constrained value attribute, config name)
_SS = {
    "SensitivityAtSpecificityTest": (metrics.SensitivityAtSpecificity, "specificity", "sensitivity_at_specificity_1"),
    "SpecificityAtSensitivityTest": (metrics.SpecificityAtSensitivity, "sensitivity", "specificity_at_sensitivity_1"),
    "PrecisionAtRecallTest": (metrics.PrecisionAtRecall, "recall", "precision_at_recall_1"),
    "RecallAtPrecisionTest": (metrics.RecallAtPrecision, "precision", "recall_at_precision_1"),
}
_SS_IDS = list(_SS)


@pytest.mark.parametrize("keras_test", _SS_IDS)
def test_at_value_config(keras_test):
    # {SensitivityAtSpecificity,SpecificityAtSensitivity,PrecisionAtRecall,RecallAtPrecision}Test.test_config
    cls, attr, name = _SS[keras_test]
    s_obj = cls(0.4, num_thresholds=100, class_id=12, name=name)
    assert s_obj.name == name
    assert len(s_obj.variables) == 4
    assert getattr(s_obj, attr) == 0.4
    assert s_obj.num_thresholds == 100
    assert s_obj.class_id == 12
    config = s_obj.get_config()
    print(f"{keras_test}: config={config}")
    s_obj2 = cls.from_config(config)
    assert s_obj2.name == name
    assert len(s_obj2.variables) == 4
    assert getattr(s_obj2, attr) == 0.4
    assert s_obj2.num_thresholds == 100
    assert s_obj.class_id == 12  # (sic: Keras checks s_obj, not s_obj2)


@pytest.mark.parametrize("keras_test", _SS_IDS)
def test_at_value_unweighted_all_correct(keras_test):
    # {...}Test.test_unweighted_all_correct
    cls = _SS[keras_test][0]
    s_obj = cls(0.7)
    inputs = np.random.RandomState(0).randint(0, 2, size=(100, 1))
    y_pred = np.array(inputs, dtype="float32")
    y_true = np.array(inputs)
    almost_equal(f"{keras_test} all correct", s_obj(y_true, y_pred), 1)


@pytest.mark.parametrize("keras_test,pattern", [
    ("SensitivityAtSpecificityTest", r"`specificity` must be in the range \[0, 1\]."),
    ("SpecificityAtSensitivityTest", r"`sensitivity` must be in the range \[0, 1\]."),
    ("PrecisionAtRecallTest", r"`recall` must be in the range \[0, 1\]."),
    ("RecallAtPrecisionTest", r"`precision` must be in the range \[0, 1\]."),
])
def test_at_value_invalid_value(keras_test, pattern):
    # SensitivityAtSpecificityTest.test_invalid_specificity, SpecificityAtSensitivityTest.test_invalid_sensitivity,
    # PrecisionAtRecallTest.test_invalid_sensitivity, RecallAtPrecisionTest.test_invalid_sensitivity
    with raises(ValueError, pattern):
        _SS[keras_test][0](-1)


@pytest.mark.parametrize("keras_test", _SS_IDS)
def test_at_value_invalid_num_thresholds(keras_test):
    # {...}Test.test_invalid_num_thresholds
    with raises(ValueError, "Argument `num_thresholds` must be an integer > 0"):
        _SS[keras_test][0](0.4, num_thresholds=-1)


SS_PRED = [0.0, 0.1, 0.2, 0.3, 0.4, 0.01, 0.02, 0.25, 0.26, 0.26]
SS_LABELS = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
SS_WEIGHTS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]


def _one_hot(labels, num_classes):
    """``ops.one_hot(np.array(labels), num_classes)``: float32."""
    return np.eye(num_classes, dtype="float32")[np.array(labels)]


def test_sensitivity_at_specificity_unweighted_high_specificity():
    # SensitivityAtSpecificityTest.test_unweighted_high_specificity
    s_obj = metrics.SensitivityAtSpecificity(0.8)
    pred_values = [0.0, 0.1, 0.2, 0.3, 0.4, 0.1, 0.45, 0.5, 0.8, 0.9]
    y_pred = np.array(pred_values, dtype="float32")
    y_true = np.array(SS_LABELS)
    almost_equal("SensitivityAtSpecificity high", s_obj(y_true, y_pred), 0.8)


def test_sensitivity_at_specificity_unweighted_low_specificity():
    # SensitivityAtSpecificityTest.test_unweighted_low_specificity
    s_obj = metrics.SensitivityAtSpecificity(0.4)
    y_pred = np.array(SS_PRED, dtype="float32")
    y_true = np.array(SS_LABELS)
    almost_equal("SensitivityAtSpecificity low", s_obj(y_true, y_pred), 0.6)


def test_sensitivity_at_specificity_unweighted_class_id():
    # SensitivityAtSpecificityTest.test_unweighted_class_id (sic: Keras builds a SpecificityAtSensitivity)
    s_obj = metrics.SpecificityAtSensitivity(0.4, class_id=2)
    label_values = [0, 0, 0, 0, 0, 2, 2, 2, 2, 2]
    y_pred = np.transpose(np.array([SS_PRED] * 3))
    y_true = _one_hot(label_values, 3)
    almost_equal("SensitivityAtSpecificityTest class_id", s_obj(y_true, y_pred), 0.6)


@pytest.mark.parametrize("label_dtype", ["bool", "int32", "float32"])
def test_sensitivity_at_specificity_weighted(label_dtype):
    # SensitivityAtSpecificityTest.test_weighted
    s_obj = metrics.SensitivityAtSpecificity(0.4)
    y_pred = np.array(SS_PRED, dtype="float32")
    y_true = np.array(SS_LABELS, dtype=label_dtype)  # ops.cast(label_values, dtype=label_dtype)
    weights = np.array(SS_WEIGHTS)
    almost_equal(f"SensitivityAtSpecificity weighted {label_dtype}", s_obj(y_true, y_pred, sample_weight=weights),
                 0.675)


def test_specificity_at_sensitivity_unweighted_high_sensitivity():
    # SpecificityAtSensitivityTest.test_unweighted_high_sensitivity
    s_obj = metrics.SpecificityAtSensitivity(1.0)
    y_pred = np.array(SS_PRED, dtype="float32")
    y_true = np.array(SS_LABELS)
    almost_equal("SpecificityAtSensitivity high", s_obj(y_true, y_pred), 0.2)


def test_specificity_at_sensitivity_unweighted_low_sensitivity():
    # SpecificityAtSensitivityTest.test_unweighted_low_sensitivity
    s_obj = metrics.SpecificityAtSensitivity(0.4)
    y_pred = np.array(SS_PRED, dtype="float32")
    y_true = np.array(SS_LABELS)
    almost_equal("SpecificityAtSensitivity low", s_obj(y_true, y_pred), 0.6)


def test_specificity_at_sensitivity_unweighted_class_id():
    # SpecificityAtSensitivityTest.test_unweighted_class_id
    s_obj = metrics.SpecificityAtSensitivity(0.4, class_id=2)
    label_values = [0, 0, 0, 0, 0, 2, 2, 2, 2, 2]
    y_pred = np.transpose(np.array([SS_PRED] * 3))
    y_true = _one_hot(label_values, 3)
    almost_equal("SpecificityAtSensitivity class_id", s_obj(y_true, y_pred), 0.6)


@pytest.mark.parametrize("label_dtype", ["bool", "int32", "float32"])
def test_specificity_at_sensitivity_weighted(label_dtype):
    # SpecificityAtSensitivityTest.test_weighted
    s_obj = metrics.SpecificityAtSensitivity(0.4)
    y_pred = np.array(SS_PRED, dtype="float32")
    y_true = np.array(SS_LABELS, dtype=label_dtype)
    weights = np.array(SS_WEIGHTS)
    almost_equal(f"SpecificityAtSensitivity weighted {label_dtype}", s_obj(y_true, y_pred, sample_weight=weights),
                 0.4)


PAR_PRED = [0.0, 0.1, 0.2, 0.5, 0.6, 0.2, 0.5, 0.6, 0.8, 0.9]


def test_precision_at_recall_unweighted_high_recall():
    # PrecisionAtRecallTest.test_unweighted_high_recall
    s_obj = metrics.PrecisionAtRecall(0.8)
    y_pred = np.array(PAR_PRED, dtype="float32")
    y_true = np.array(SS_LABELS)
    # For 0.5 < decision threshold < 0.6.
    almost_equal("PrecisionAtRecall high", s_obj(y_true, y_pred), 2.0 / 3)


def test_precision_at_recall_unweighted_low_recall():
    # PrecisionAtRecallTest.test_unweighted_low_recall
    s_obj = metrics.PrecisionAtRecall(0.6)
    y_pred = np.array(PAR_PRED, dtype="float32")
    y_true = np.array(SS_LABELS)
    # For 0.2 < decision threshold < 0.5.
    almost_equal("PrecisionAtRecall low", s_obj(y_true, y_pred), 0.75)


def test_precision_at_recall_unweighted_class_id():
    # PrecisionAtRecallTest.test_unweighted_class_id
    s_obj = metrics.PrecisionAtRecall(0.6, class_id=2)
    label_values = [0, 0, 0, 0, 0, 2, 2, 2, 2, 2]
    y_pred = np.transpose(np.array([PAR_PRED] * 3))
    y_true = _one_hot(label_values, 3)
    almost_equal("PrecisionAtRecall class_id", s_obj(y_true, y_pred), 0.75)


@pytest.mark.parametrize("label_dtype", ["bool", "int32", "float32"])
def test_precision_at_recall_weighted(label_dtype):
    # PrecisionAtRecallTest.test_weighted
    s_obj = metrics.PrecisionAtRecall(7.0 / 8)
    weight_values = [2, 1, 2, 1, 2, 1, 2, 2, 1, 2]
    y_pred = np.array(PAR_PRED, dtype="float32")
    y_true = np.array(SS_LABELS, dtype=label_dtype)
    weights = np.array(weight_values)
    # For 0.0 < decision threshold < 0.2.
    almost_equal(f"PrecisionAtRecall weighted {label_dtype}", s_obj(y_true, y_pred, sample_weight=weights), 0.7)


RAP_PRED = [0.05, 0.1, 0.2, 0.3, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.9, 0.95]
RAP_LABELS = [0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 0, 1]


def test_recall_at_precision_unweighted_high_precision():
    # RecallAtPrecisionTest.test_unweighted_high_precision
    s_obj = metrics.RecallAtPrecision(0.75)
    y_pred = np.array(RAP_PRED, dtype="float32")
    y_true = np.array(RAP_LABELS)
    # The precision 0.75 can be reached at thresholds 0.4<=t<0.45.
    almost_equal("RecallAtPrecision high", s_obj(y_true, y_pred), 0.5)


def test_recall_at_precision_unweighted_low_precision():
    # RecallAtPrecisionTest.test_unweighted_low_precision
    s_obj = metrics.RecallAtPrecision(2.0 / 3)
    y_pred = np.array(RAP_PRED, dtype="float32")
    y_true = np.array(RAP_LABELS)
    # The precision 5/7 can be reached at thresholds 00.3<=t<0.35.
    almost_equal("RecallAtPrecision low", s_obj(y_true, y_pred), 5.0 / 6)


def test_recall_at_precision_unweighted_class_id():
    # RecallAtPrecisionTest.test_unweighted_class_id
    s_obj = metrics.RecallAtPrecision(2.0 / 3, class_id=2)
    label_values = [0, 2, 0, 0, 0, 2, 2, 0, 2, 2, 0, 2]
    y_pred = np.transpose(np.array([RAP_PRED] * 3))
    y_true = _one_hot(label_values, 3)
    almost_equal("RecallAtPrecision class_id", s_obj(y_true, y_pred), 5.0 / 6)


@pytest.mark.parametrize("label_dtype", ["bool", "int32", "float32"])
def test_recall_at_precision_weighted(label_dtype):
    # RecallAtPrecisionTest.test_weighted
    s_obj = metrics.RecallAtPrecision(0.75)
    pred_values = [0.1, 0.2, 0.3, 0.5, 0.6, 0.9, 0.9]
    label_values = [0, 1, 0, 0, 0, 1, 1]
    weight_values = [1, 2, 1, 2, 1, 2, 1]
    y_pred = np.array(pred_values, dtype="float32")
    y_true = np.array(label_values, dtype=label_dtype)
    weights = np.array(weight_values)
    almost_equal(f"RecallAtPrecision weighted {label_dtype}", s_obj(y_true, y_pred, sample_weight=weights), 0.6)


def test_recall_at_precision_unachievable_precision():
    # RecallAtPrecisionTest.test_unachievable_precision
    s_obj = metrics.RecallAtPrecision(2.0 / 3)
    y_pred = np.array([0.1, 0.2, 0.3, 0.9], dtype="float32")
    y_true = np.array([1, 1, 0, 0])
    # The highest possible precision is 1/2 which is below the required value, expect 0 recall.
    almost_equal("RecallAtPrecision unachievable", s_obj(y_true, y_pred), 0)


# ==========================================================================
# confusion_metrics_test.py: AUCTest
# ==========================================================================

AUC_NUM_THRESHOLDS = 3
AUC_Y_PRED = np.array([0, 0.5, 0.3, 0.9], dtype="float32")
AUC_Y_PRED_MULTI_LABEL = np.array([[0.0, 0.4], [0.5, 0.7], [0.3, 0.2], [0.9, 0.3]], dtype="float32")
AUC_Y_PRED_LOGITS = -np.log(1.0 / (AUC_Y_PRED + 1e-12) - 1.0)  # -ops.log(...), float32
AUC_Y_TRUE = np.array([0, 0, 1, 1])
AUC_Y_TRUE_MULTI_LABEL = np.array([[0, 0], [1, 1], [1, 1], [1, 0]])
AUC_SAMPLE_WEIGHT = [1, 2, 3, 4]


def test_auc_config():
    # AUCTest.test_config
    auc_obj = metrics.AUC(num_thresholds=100, curve="PR", summation_method="majoring", name="auc_1",
                          dtype="float64", multi_label=True, num_labels=2, from_logits=True)
    auc_obj.update_state(AUC_Y_TRUE_MULTI_LABEL, AUC_Y_PRED_MULTI_LABEL)
    assert auc_obj.name == "auc_1"
    assert auc_obj.dtype == torch.float64
    assert len(auc_obj.variables) == 4
    assert auc_obj.num_thresholds == 100
    assert auc_obj.curve == "PR"  # metrics_utils.AUCCurve.PR
    assert auc_obj.summation_method == "majoring"  # metrics_utils.AUCSummationMethod.MAJORING
    assert auc_obj.multi_label
    assert auc_obj.num_labels == 2
    assert auc_obj.from_logits  # Keras: auc_obj._from_logits
    old_config = auc_obj.get_config()
    print(f"AUC config={old_config}")
    assert "thresholds" not in old_config
    assert old_config == json.loads(json.dumps(old_config))

    auc_obj2 = metrics.AUC.from_config(auc_obj.get_config())
    auc_obj2.update_state(AUC_Y_TRUE_MULTI_LABEL, AUC_Y_PRED_MULTI_LABEL)
    assert auc_obj2.name == "auc_1"
    assert len(auc_obj2.variables) == 4
    assert auc_obj2.num_thresholds == 100
    assert auc_obj2.curve == "PR"
    assert auc_obj2.summation_method == "majoring"
    assert auc_obj2.multi_label
    assert auc_obj2.num_labels == 2
    assert auc_obj2.from_logits
    new_config = auc_obj2.get_config()
    assert "thresholds" not in new_config
    assert old_config == new_config
    all_close("AUC thresholds", auc_obj.thresholds, auc_obj2.thresholds)


def test_auc_config_manual_thresholds():
    # AUCTest.test_config_manual_thresholds
    auc_obj = metrics.AUC(num_thresholds=None, curve="PR", summation_method="majoring", name="auc_1",
                          thresholds=[0.3, 0.5])
    auc_obj.update_state(AUC_Y_TRUE, AUC_Y_PRED)
    assert auc_obj.name == "auc_1"
    assert len(auc_obj.variables) == 4
    assert auc_obj.num_thresholds == 4
    all_close("AUC manual thresholds", auc_obj.thresholds, [0.0, 0.3, 0.5, 1.0])
    assert auc_obj.curve == "PR"
    assert auc_obj.summation_method == "majoring"
    old_config = auc_obj.get_config()
    print(f"AUC config={old_config}")
    assert old_config == json.loads(json.dumps(old_config))

    auc_obj2 = metrics.AUC.from_config(auc_obj.get_config())
    auc_obj2.update_state(AUC_Y_TRUE, AUC_Y_PRED)
    assert auc_obj2.name == "auc_1"
    assert len(auc_obj2.variables) == 4
    assert auc_obj2.num_thresholds == 4
    assert auc_obj2.curve == "PR"
    assert auc_obj2.summation_method == "majoring"
    new_config = auc_obj2.get_config()
    assert old_config == new_config
    all_close("AUC thresholds", auc_obj.thresholds, auc_obj2.thresholds)


def test_auc_unweighted_all_correct():
    # AUCTest.test_unweighted_all_correct
    auc_obj = metrics.AUC()
    equal("AUC all correct", auc_obj(AUC_Y_TRUE, AUC_Y_TRUE), 1)


def test_auc_unweighted():
    # AUCTest.test_unweighted
    auc_obj = metrics.AUC(num_thresholds=AUC_NUM_THRESHOLDS)
    all_close("AUC unweighted", auc_obj(AUC_Y_TRUE, AUC_Y_PRED), 0.75 * 1 + 0.25 * 0, 1e-3)


def test_auc_unweighted_from_logits():
    # AUCTest.test_unweighted_from_logits
    auc_obj = metrics.AUC(num_thresholds=AUC_NUM_THRESHOLDS, from_logits=True)
    all_close("AUC unweighted logits", auc_obj(AUC_Y_TRUE, AUC_Y_PRED_LOGITS), 0.75 * 1 + 0.25 * 0, 1e-3)


def test_auc_manual_thresholds():
    # AUCTest.test_manual_thresholds
    auc_obj = metrics.AUC(num_thresholds=2, thresholds=[0.5])
    assert auc_obj.num_thresholds == 3
    all_close("AUC thresholds", auc_obj.thresholds, [0.0, 0.5, 1.0])
    all_close("AUC manual thresholds", auc_obj(AUC_Y_TRUE, AUC_Y_PRED), 0.75 * 1 + 0.25 * 0, 1e-3)


# (Keras test, AUC kwargs, expected) of the AUCTest methods weighted by [1, 2, 3, 4]
_AUC_WEIGHTED = [
    ("test_weighted_roc_interpolation", {}, 0.7855 * 1 + 0.2855 * 0),
    ("test_weighted_roc_majoring", {"summation_method": "majoring"}, 1 * 1 + 0.571 * 0),
    ("test_weighted_roc_minoring", {"summation_method": "minoring"}, 0.571 * 1 + 0 * 0),
    ("test_weighted_pr_majoring", {"curve": "PR", "summation_method": "majoring"}, 1 * 0.429 + 1 * 0.571),
    ("test_weighted_pr_minoring", {"curve": "PR", "summation_method": "minoring"}, 0.7 * 0.429 + 0 * 0.571),
    ("test_weighted_pr_interpolation", {"curve": "PR"}, 2.416 / 7 + 4 / 7),
    ("test_weighted_prgain_majoring", {"curve": "PRGAIN", "summation_method": "majoring"}, 1 * 1 + 0 * 1),
    ("test_weighted_prgain_minoring", {"curve": "PRGAIN", "summation_method": "minoring"}, 1 * 0 + 0 * 1),
    ("test_weighted_prgain_interpolation", {"curve": "PRGAIN"}, 1 * 0.5 + 0 * 1),
]


@pytest.mark.parametrize("keras_test,kwargs,expected", _AUC_WEIGHTED, ids=[c[0] for c in _AUC_WEIGHTED])
def test_auc_weighted(keras_test, kwargs, expected):
    # AUCTest.<keras_test>
    auc_obj = metrics.AUC(num_thresholds=AUC_NUM_THRESHOLDS, **kwargs)
    result = auc_obj(AUC_Y_TRUE, AUC_Y_PRED, sample_weight=AUC_SAMPLE_WEIGHT)
    all_close(f"AUC {keras_test}", result, expected, 1e-3)


def test_auc_weighted_pr_interpolation_negative_weights():
    # AUCTest.test_weighted_pr_interpolation_negative_weights
    auc_obj = metrics.AUC(num_thresholds=AUC_NUM_THRESHOLDS, curve="PR")
    sample_weight = [-1, -2, -3, -4]
    result = auc_obj(AUC_Y_TRUE, AUC_Y_PRED, sample_weight=sample_weight)
    all_close("AUC PR negative weights", result, 0.0, 1e-3)


def test_auc_prgain_interpolation():
    # AUCTest.test_prgain_interpolation
    auc_obj = metrics.AUC(num_thresholds=AUC_NUM_THRESHOLDS, curve="PRGAIN")
    y_true = np.array([0, 0, 0, 1, 0, 1, 0, 1, 1, 1])
    y_pred = np.array([0.1, 0.2, 0.3, 0.3, 0.4, 0.4, 0.6, 0.6, 0.8, 0.9])
    result = auc_obj(y_true, y_pred)
    expected_result = 0.666666 * 0.333333 + 0.333333 * 0.833333
    all_close("AUC PRGAIN interpolation", result, expected_result, 1e-3)


def test_auc_invalid_num_thresholds():
    # AUCTest.test_invalid_num_thresholds
    with raises(ValueError, "Argument `num_thresholds` must be an integer > 1"):
        metrics.AUC(num_thresholds=-1)
    with raises(ValueError, "Argument `num_thresholds` must be an integer > 1."):
        metrics.AUC(num_thresholds=1)


def test_auc_invalid_curve():
    # AUCTest.test_invalid_curve
    with raises(ValueError, 'Invalid AUC curve value: "Invalid".'):
        metrics.AUC(curve="Invalid")


def test_auc_invalid_summation_method():
    # AUCTest.test_invalid_summation_method
    with raises(ValueError, 'Invalid AUC summation method value: "Invalid".'):
        metrics.AUC(summation_method="Invalid")


def test_auc_extra_dims():
    # AUCTest.test_extra_dims
    from scipy import special

    logits = special.expit(
        -np.array(
            [[[-10.0, 10.0, -10.0], [10.0, -10.0, 10.0]], [[-12.0, 12.0, -12.0], [12.0, -12.0, 12.0]]],
            dtype=np.float32,
        )
    )
    labels = np.array([[[1, 0, 0], [1, 0, 0]], [[0, 1, 1], [0, 1, 1]]], dtype=np.int64)
    auc_obj = metrics.AUC()
    equal("AUC extra dims", auc_obj(labels, logits), 0.5)


# ==========================================================================
# confusion_metrics_test.py: MultiAUCTest
# ==========================================================================

MAUC_NUM_THRESHOLDS = 5
MAUC_Y_PRED = np.array([[0, 0.5, 0.3, 0.9], [0.1, 0.2, 0.3, 0.4]], dtype="float32").T
MAUC_Y_PRED_LOGITS = -np.log(1.0 / (MAUC_Y_PRED + 1e-12) - 1.0)
MAUC_Y_TRUE_GOOD = np.array([[0, 0, 1, 1], [0, 0, 1, 1]]).T
MAUC_Y_TRUE_BAD = np.array([[0, 0, 1, 1], [1, 1, 0, 0]]).T
MAUC_SAMPLE_WEIGHT = [1, 2, 3, 4]


def test_multi_auc_unweighted_all_correct():
    # MultiAUCTest.test_unweighted_all_correct
    auc_obj = metrics.AUC(multi_label=True)
    equal("MultiAUC all correct", auc_obj(MAUC_Y_TRUE_GOOD, MAUC_Y_TRUE_GOOD), 1)


def test_multi_auc_unweighted_all_correct_flat():
    # MultiAUCTest.test_unweighted_all_correct_flat
    auc_obj = metrics.AUC(multi_label=False)
    equal("MultiAUC all correct flat", auc_obj(MAUC_Y_TRUE_GOOD, MAUC_Y_TRUE_GOOD), 1)


def test_multi_auc_unweighted():
    # MultiAUCTest.test_unweighted
    auc_obj = metrics.AUC(num_thresholds=MAUC_NUM_THRESHOLDS, multi_label=True)
    all_close("MultiAUC unweighted", auc_obj(MAUC_Y_TRUE_GOOD, MAUC_Y_PRED), (0.875 + 1.0) / 2.0, 1e-3)


def test_multi_auc_unweighted_from_logits():
    # MultiAUCTest.test_unweighted_from_logits
    auc_obj = metrics.AUC(num_thresholds=MAUC_NUM_THRESHOLDS, multi_label=True, from_logits=True)
    all_close("MultiAUC unweighted logits", auc_obj(MAUC_Y_TRUE_GOOD, MAUC_Y_PRED_LOGITS), (0.875 + 1.0) / 2.0,
              1e-3)


def test_multi_auc_sample_weight_flat():
    # MultiAUCTest.test_sample_weight_flat
    auc_obj = metrics.AUC(num_thresholds=MAUC_NUM_THRESHOLDS, multi_label=False)
    result = auc_obj(MAUC_Y_TRUE_GOOD, MAUC_Y_PRED, sample_weight=[1, 2, 3, 4])
    all_close("MultiAUC sample weight flat", result, 1.0 - (0.3333 * (1.0 - 0.2857) / 2.0), 1e-3)


def test_multi_auc_full_sample_weight_flat():
    # MultiAUCTest.test_full_sample_weight_flat
    auc_obj = metrics.AUC(num_thresholds=MAUC_NUM_THRESHOLDS, multi_label=False)
    sw = np.arange(4 * 2).reshape(4, 2)
    result = auc_obj(MAUC_Y_TRUE_GOOD, MAUC_Y_PRED, sample_weight=sw)
    all_close("MultiAUC full sample weight flat", result, 1.0 - (0.3333 * (1.0 - 0.2727) / 2.0), 1e-3)


def test_multi_auc_label_weights():
    # MultiAUCTest.test_label_weights
    auc_obj = metrics.AUC(num_thresholds=MAUC_NUM_THRESHOLDS, multi_label=True, label_weights=[0.75, 0.25])
    expected_result = (0.875 * 0.75 + 1.0 * 0.25) / (0.75 + 0.25)
    all_close("MultiAUC label weights", auc_obj(MAUC_Y_TRUE_GOOD, MAUC_Y_PRED), expected_result, 1e-3)


def test_multi_auc_label_weights_flat():
    # MultiAUCTest.test_label_weights_flat
    auc_obj = metrics.AUC(num_thresholds=MAUC_NUM_THRESHOLDS, multi_label=False, label_weights=[0.75, 0.25])
    expected_result = 1.0 - ((1.0 - 0.375) * 0.375 / 2.0)
    all_close("MultiAUC label weights flat", auc_obj(MAUC_Y_TRUE_GOOD, MAUC_Y_PRED), expected_result, 1e-2)


def test_multi_auc_unweighted_flat():
    # MultiAUCTest.test_unweighted_flat
    auc_obj = metrics.AUC(num_thresholds=MAUC_NUM_THRESHOLDS, multi_label=False)
    all_close("MultiAUC unweighted flat", auc_obj(MAUC_Y_TRUE_GOOD, MAUC_Y_PRED), 1.0 - (3.0 / 32.0), 1e-3)


def test_multi_auc_unweighted_flat_from_logits():
    # MultiAUCTest.test_unweighted_flat_from_logits
    auc_obj = metrics.AUC(num_thresholds=MAUC_NUM_THRESHOLDS, multi_label=False, from_logits=True)
    all_close("MultiAUC unweighted flat logits", auc_obj(MAUC_Y_TRUE_GOOD, MAUC_Y_PRED_LOGITS),
              1.0 - (3.0 / 32.0), 1e-3)


def test_multi_auc_manual_thresholds():
    # MultiAUCTest.test_manual_thresholds
    auc_obj = metrics.AUC(num_thresholds=2, thresholds=[0.5], multi_label=True)
    assert auc_obj.num_thresholds == 3
    all_close("MultiAUC thresholds", auc_obj.thresholds, [0.0, 0.5, 1.0])
    all_close("MultiAUC manual thresholds", auc_obj(MAUC_Y_TRUE_GOOD, MAUC_Y_PRED), (0.75 + 0.5) / 2.0, 1e-3)


def test_multi_auc_weighted_roc_interpolation():
    # MultiAUCTest.test_weighted_roc_interpolation
    auc_obj = metrics.AUC(num_thresholds=MAUC_NUM_THRESHOLDS, multi_label=True)
    result = auc_obj(MAUC_Y_TRUE_GOOD, MAUC_Y_PRED, sample_weight=MAUC_SAMPLE_WEIGHT)
    all_close("MultiAUC weighted ROC interpolation", result, 1.0 - 0.5 * 0.43 * 0.67, 1e-1)


def test_multi_auc_pr_interpolation_unweighted():
    # MultiAUCTest.test_pr_interpolation_unweighted
    auc_obj = metrics.AUC(num_thresholds=MAUC_NUM_THRESHOLDS, curve="PR", multi_label=True)
    good_result = auc_obj(MAUC_Y_TRUE_GOOD, MAUC_Y_PRED)
    # PR AUCs are 0.917 and 1.0 respectively
    all_close("MultiAUC PR good", good_result, (0.91667 + 1.0) / 2.0, 1e-1)
    bad_result = auc_obj(MAUC_Y_TRUE_BAD, MAUC_Y_PRED)
    # PR AUCs are 0.917 and 0.5 respectively
    all_close("MultiAUC PR bad", bad_result, (0.91667 + 0.5) / 2.0, 1e-1)


def test_multi_auc_pr_interpolation():
    # MultiAUCTest.test_pr_interpolation
    auc_obj = metrics.AUC(num_thresholds=MAUC_NUM_THRESHOLDS, curve="PR", multi_label=True)
    good_result = auc_obj(MAUC_Y_TRUE_GOOD, MAUC_Y_PRED, sample_weight=MAUC_SAMPLE_WEIGHT)
    # PR AUCs are 0.939 and 1.0 respectively
    all_close("MultiAUC PR weighted", good_result, (0.939 + 1.0) / 2.0, 1e-1)


def test_multi_auc_reset_state():
    # MultiAUCTest.test_reset_state
    auc_obj = metrics.AUC(num_thresholds=MAUC_NUM_THRESHOLDS, multi_label=True)
    auc_obj(MAUC_Y_TRUE_GOOD, MAUC_Y_PRED)
    auc_obj.reset_state()
    all_close("MultiAUC reset", auc_obj.true_positives, np.zeros((5, 2)))


# ==========================================================================
# f_score_metrics_test.py
# ==========================================================================


def _run_fbeta(y_true, y_pred, sample_weights, average, beta, threshold, reference_result):
    # FBetaScoreTest._run_test
    fbeta = metrics.FBetaScore(average, beta, threshold, dtype="float32")
    fbeta.update_state(y_true, y_pred, sample_weights)
    all_close(f"FBetaScore average={average} beta={beta} threshold={threshold} sw={sample_weights}",
              fbeta.result(), reference_result, atol=1e-6)


def test_fbeta_config():
    # FBetaScoreTest.test_config
    fbeta_obj = metrics.FBetaScore(beta=0.5, threshold=0.3, average=None, dtype="float32")
    assert fbeta_obj.beta == 0.5
    assert fbeta_obj.average is None
    assert fbeta_obj.threshold == 0.3
    assert fbeta_obj.dtype == torch.float32
    config = fbeta_obj.get_config()
    print(f"FBetaScore config={config}")
    fbeta_obj2 = metrics.FBetaScore.from_config(config)
    assert fbeta_obj2.beta == 0.5
    assert fbeta_obj2.average is None
    assert fbeta_obj2.threshold == 0.3
    assert fbeta_obj2.dtype == torch.float32


_AVG_BETA = [(a, b) for a in ("micro", "macro", "weighted") for b in (0.5, 1.0, 2.0)]


@pytest.mark.parametrize("average,beta", _AVG_BETA)
def test_fbeta_perfect_score(average, beta):
    # FBetaScoreTest.test_fbeta_perfect_score
    y_true = [[1, 1, 1], [1, 0, 0], [1, 1, 0]]
    y_pred = [[0.7, 0.7, 0.7], [1, 0, 0], [0.9, 0.8, 0]]
    _run_fbeta(y_true, y_pred, None, average=average, beta=beta, threshold=0.66, reference_result=1.0)


@pytest.mark.parametrize("average,beta", _AVG_BETA)
def test_fbeta_worst_score(average, beta):
    # FBetaScoreTest.test_fbeta_worst_score
    y_true = [[0, 0, 0], [0, 1, 0], [0, 0, 1]]
    y_pred = [[0.7, 0.7, 0.7], [1, 0, 0], [0.9, 0.8, 0]]
    _run_fbeta(y_true, y_pred, None, average=average, beta=beta, threshold=0.66, reference_result=0.0)


@pytest.mark.parametrize("average,beta,result", [
    (None, 0.5, [0.71428573, 0.5, 0.833334]),
    (None, 1.0, [0.8, 0.5, 0.6666667]),
    (None, 2.0, [0.9090904, 0.5, 0.555556]),
    ("micro", 0.5, 0.6666667),
    ("micro", 1.0, 0.6666667),
    ("micro", 2.0, 0.6666667),
    ("macro", 0.5, 0.6825397),
    ("macro", 1.0, 0.6555555),
    ("macro", 2.0, 0.6548822),
    ("weighted", 0.5, 0.6825397),
    ("weighted", 1.0, 0.6555555),
    ("weighted", 2.0, 0.6548822),
])
def test_fbeta_random_score(average, beta, result):
    # FBetaScoreTest.test_fbeta_random_score
    y_pred = [[0.7, 0.7, 0.7], [1, 0, 0], [0.9, 0.8, 0]]
    y_true = [[0, 0, 1], [1, 1, 0], [1, 1, 1]]
    _run_fbeta(y_true, y_pred, None, average=average, beta=beta, threshold=0.66, reference_result=result)


FBETA_Y_TRUE = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0], [1, 0, 0], [0, 0, 1]]
FBETA_Y_PRED = [[0.9, 0.1, 0], [0.2, 0.6, 0.2], [0, 0, 1], [0.4, 0.3, 0.3], [0, 0.9, 0.1], [0, 0, 1]]


@pytest.mark.parametrize("average,beta,result", [
    (None, 0.5, [0.9090904, 0.555556, 1.0]),
    (None, 1.0, [0.8, 0.6666667, 1.0]),
    (None, 2.0, [0.71428573, 0.833334, 1.0]),
    ("micro", 0.5, 0.833334),
    ("micro", 1.0, 0.833334),
    ("micro", 2.0, 0.833334),
    ("macro", 0.5, 0.821549),
    ("macro", 1.0, 0.822222),
    ("macro", 2.0, 0.849206),
    ("weighted", 0.5, 0.880471),
    ("weighted", 1.0, 0.844445),
    ("weighted", 2.0, 0.829365),
])
def test_fbeta_random_score_none(average, beta, result):
    # FBetaScoreTest.test_fbeta_random_score_none
    _run_fbeta(FBETA_Y_TRUE, FBETA_Y_PRED, None, average=average, beta=beta, threshold=None,
               reference_result=result)


@pytest.mark.parametrize("average,beta,sample_weights,result", [
    (None, 0.5, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [0.909091, 0.555556, 1.0]),
    (None, 0.5, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], [1.0, 0.0, 1.0]),
    (None, 0.5, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], [0.9375, 0.714286, 1.0]),
    (None, 1.0, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [0.8, 0.666667, 1.0]),
    (None, 1.0, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], [1.0, 0.0, 1.0]),
    (None, 1.0, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], [0.857143, 0.8, 1.0]),
    (None, 2.0, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [0.714286, 0.833333, 1.0]),
    (None, 2.0, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], [1.0, 0.0, 1.0]),
    (None, 2.0, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], [0.789474, 0.909091, 1.0]),
    ("micro", 0.5, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 0.833333),
    ("micro", 0.5, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], 1.0),
    ("micro", 0.5, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.9),
    ("micro", 1.0, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 0.833333),
    ("micro", 1.0, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], 1.0),
    ("micro", 1.0, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.9),
    ("micro", 2.0, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 0.833333),
    ("micro", 2.0, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], 1.0),
    ("micro", 2.0, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.9),
    ("macro", 0.5, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 0.821549),
    ("macro", 0.5, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], 0.666667),
    ("macro", 0.5, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.883929),
    ("macro", 1.0, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 0.822222),
    ("macro", 1.0, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], 0.666667),
    ("macro", 1.0, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.885714),
    ("macro", 2.0, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 0.849206),
    ("macro", 2.0, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], 0.666667),
    ("macro", 2.0, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.899522),
    ("weighted", 0.5, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 0.880471),
    ("weighted", 0.5, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], 1.0),
    ("weighted", 0.5, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.917857),
    ("weighted", 1.0, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 0.844444),
    ("weighted", 1.0, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], 1.0),
    ("weighted", 1.0, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.902857),
    ("weighted", 2.0, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 0.829365),
    ("weighted", 2.0, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], 1.0),
    ("weighted", 2.0, [0.5, 1.0, 1.0, 1.0, 0.5, 1.0], 0.897608),
])
def test_fbeta_weighted_random_score_none(average, beta, sample_weights, result):
    # FBetaScoreTest.test_fbeta_weighted_random_score_none
    _run_fbeta(FBETA_Y_TRUE, FBETA_Y_PRED, sample_weights, average=average, beta=beta, threshold=None,
               reference_result=result)


def test_fbeta_invalid_average_raises_value_error():
    # FBetaScoreTest.test_invalid_average_raises_value_error
    expected_message = ("Invalid `average` argument value. Expected one of: "
                        r"\{None, 'micro', 'macro', 'weighted'\}. "
                        "Received: average=invalid_average")
    with raises(ValueError, expected_message):
        metrics.FBetaScore(average="invalid_average", beta=1.0, threshold=None, dtype="float32")


@pytest.mark.parametrize("beta", [1, "1.0", None], ids=["integer", "string", "none"])
def test_fbeta_beta_type_raises_value_error(beta):
    # FBetaScoreTest.test_beta_integer_type_raises_value_error / test_beta_string_type_raises_value_error /
    # test_beta_none_type_raises_value_error
    with raises(ValueError, "Invalid `beta` argument value. It should be a Python float."):
        metrics.FBetaScore(average="macro", beta=beta, threshold=None, dtype="float32")


@pytest.mark.parametrize("beta", [0.0, -1.0, -0.5], ids=["zero", "negative_one", "negative_half"])
def test_fbeta_beta_value_raises_value_error(beta):
    # FBetaScoreTest.test_beta_zero_raises_value_error / test_beta_negative_one_raises_value_error /
    # test_beta_negative_half_raises_value_error
    expected_message = f"Invalid `beta` argument value. It should be > 0. Received: beta={beta}"
    with raises(ValueError, expected_message):
        metrics.FBetaScore(average="macro", beta=beta, threshold=None, dtype="float32")


def test_fbeta_threshold_not_float_raises_value_error():
    # FBetaScoreTest.test_threshold_not_float_raises_value_error
    expected_message_pattern = ("Invalid `threshold` argument value. "
                                "It should be a Python float. "
                                "Received: threshold=1 of type '<class 'int'>'")
    with raises(ValueError, expected_message_pattern):
        metrics.FBetaScore(average="macro", beta=1.0, threshold=1, dtype="float32")


def test_fbeta_threshold_string_raises_value_error():
    # FBetaScoreTest.test_threshold_string_raises_value_error
    expected_message_pattern = ("Invalid `threshold` argument value. "
                                "It should be a Python float. "
                                "Received: threshold=0.5 of type '<class 'str'>'")
    with raises(ValueError, expected_message_pattern):
        metrics.FBetaScore(average="macro", beta=1.0, threshold="0.5", dtype="float32")


@pytest.mark.parametrize("threshold", [1.1, 0.0, -0.5], ids=["above_one", "zero", "negative"])
def test_fbeta_threshold_range_raises_value_error(threshold):
    # FBetaScoreTest.test_threshold_above_one_raises_value_error / test_threshold_zero_raises_value_error /
    # test_threshold_negative_raises_value_error
    expected_message = ("Invalid `threshold` argument value. "
                        "It should verify 0 < threshold <= 1. "
                        f"Received: threshold={threshold}")
    with raises(ValueError, expected_message):
        metrics.FBetaScore(average="macro", beta=1.0, threshold=threshold, dtype="float32")


def test_fbeta_non_2d_input_shapes_raises_value_error():
    # FBetaScoreTest.test_non_2d_input_shapes_raises_value_error
    fbeta = metrics.FBetaScore(beta=1.0, dtype="float32")
    expected_error_message = ("FBetaScore expects 2D inputs with shape "
                              r"\(batch_size, output_dim\)\. Received input "
                              r"shapes: y_pred\.shape=\(2, 3, 4\) and "
                              r"y_true\.shape=\(2, 3, 4\)\.")
    with raises(ValueError, expected_error_message):
        fbeta._build((2, 3, 4), (2, 3, 4))


def test_f1_config():
    # F1ScoreTest.test_config
    f1_obj = metrics.F1Score(dtype="float32")
    config = f1_obj.get_config()
    print(f"F1Score config={config}")
    assert "beta" not in config
    f1_obj = metrics.F1Score.from_config(config)
    assert f1_obj.average is None
    assert f1_obj.dtype == torch.float32


def test_f1_correctness():
    # F1ScoreTest.test_correctness
    f1 = metrics.F1Score()
    fbeta = metrics.FBetaScore(beta=1.0)
    y_true = np.array(FBETA_Y_TRUE)
    y_pred = np.array(FBETA_Y_PRED)
    fbeta.update_state(y_true, y_pred)
    f1.update_state(y_true, y_pred)
    all_close("F1Score vs FBetaScore(beta=1)", fbeta.result(), f1.result(), atol=1e-6)

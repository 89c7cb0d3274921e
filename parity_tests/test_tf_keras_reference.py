"""torch_impl against the expected numbers of tf-keras's (Keras 2's) own unit tests.

An independent check next to ``test_keras_reference_values.py`` (Keras 3's tests): the
reference here is keras-team/tf-keras (Keras 2.x, snapshot dd0a7237, 2026-03-22):

* ``tf_keras/losses_test.py``: ``KerasLossesTest`` (the functional forms), and the classes
  ``BinaryCrossentropyTest``, ``BinaryFocalCrossentropyTest``,
  ``BinaryWeightedFocalCrossentropyTest`` (binary focal with ``apply_class_balancing``),
  ``CategoricalCrossentropyTest``, ``CategoricalFocalCrossentropyTest``,
  ``SparseCategoricalCrossentropyTest``;
* ``tf_keras/metrics/probabilistic_metrics_test.py``: ``BinaryCrossentropyTest``,
  ``CategoricalCrossentropyTest``, ``SparseCategoricalCrossentropyTest``;
* ``tf_keras/metrics/accuracy_metrics_test.py``: ``AccuracyTest``,
  ``TopKCategoricalAccuracyTest``, ``SparseTopKCategoricalAccuracyTest``.

Each test method is translated with the same inputs, expected numbers and tolerance (a
method with a probabilities and a logits part gives one case per part). tf-keras's tests
subclass ``tf.test.TestCase``, whose helpers differ from Keras 3's:

* ``assertAlmostEqual(x, v, places)``: unittest's, ``round(|x - v|, places) == 0``;
* ``assertAllClose(a, b, rtol=1e-6, atol=1e-6)``: the third positional argument is **rtol**,
  the test is ``|a - b| <= atol + rtol * |b|`` (tolerance relative to the second argument);
* ``assertArrayNear(a, b, err)``: ``|a_i - b_i| <= err`` elementwise;
* ``assertEqual``: ``==``.

Inputs: ``tf.constant`` of ints is int32 (int64 tensors here, as for every integer input),
floats are float32; Keras computes in ``floatx`` (float32), so float NumPy inputs become
float32 tensors (``as_keras_sees``); Python lists and scalars are handed over as they are.
``backend.variable(np.random...)`` (unseeded, floatx) becomes a seeded float32 draw: the
asserted relations hold for any draw. ``ReductionV2.SUM``/``NONE`` are ``"sum"``/``"none"``;
``obj._dtype == tf.int32`` -> ``obj.dtype == torch.int32``.

Keras 2 -> Keras 3 changes (Keras 3.15.1 on TensorFlow 2.21 measured on the same inputs; the
test keeps Keras 3's number or behaviour and says so next to the case, ``keras2=``):

* BCE from probabilities: Keras 2 computed ``-log(p + 1e-7)`` / ``-log(1 - p + 1e-7)`` after
  the clip, Keras 3 ``-log(p)`` after the clip, so a saturated wrong prediction costs
  ``-log(1.19e-7) = 15.942`` instead of ``-log(2.19e-7) = 15.334`` (losses 3.833 -> 3.98559,
  8.817 -> 9.16686, 4.6 -> 4.78271; metrics 3.833 -> 3.98559, 3.285 -> 3.41622);
* ``SparseCategoricalCrossentropy`` metric with ``ignore_class`` and no ``sample_weight``: Keras 2
  averaged over the valid entries (2.3026), Keras 3's ``Mean`` ignores the loss's mask and
  counts an ignored entry as a 0 (1.15129);
* ``CategoricalFocalCrossentropy`` with ``(3, 1)`` labels against ``(3, 3)`` scores: Keras 2
  raised "Shapes ... are incompatible"; Keras 3.15.1 broadcasts and returns 1.3366661;
  torch_impl raises ValueError("... must have the same shape ...", Keras 3's message for CCE)
  as for CCE (its bad-input rule, ``test_bad_input.py``);
* error messages: CCE shape mismatch (Keras 3: "must have the same shape"), invalid
  reduction (Keras 3: "Invalid value for argument `reduction`"), ``losses.get(0)``
  ("Could not interpret loss identifier");
* ``LossFunctionWrapper``'s default reduction: ``"auto"`` -> ``"sum_over_batch_size"``;
* ``metrics.get("acc")``: Keras 3.15.1 raises ValueError (only ``"accuracy"`` resolves, to an
  ``Accuracy`` instance, not the ``accuracy`` function);
* ``Metric.stateful`` no longer exists (not asserted);
* Python lists as inputs (``SparseCategoricalCrossentropyTest.test_non_tensor``, GitHub issue
  33394, and ``test_sparse_categorical_crossentropy_with_float16``'s labels): Keras 3.15.1's
  ``Loss.__call__`` maps ``y_true`` and ``y_pred`` as one nested structure and raises
  ValueError ("list arity mismatch" / "Expected an instance of list"); given as arrays it
  gives the Keras 2 figures. torch_impl takes the lists (Keras 2's behaviour), so these
  tests keep Keras 2's call;
* ``MeanSquaredError()`` on float64 inputs: Keras 2 returned float64 (the test's point), Keras
  3 computes in floatx (0.5328996777 float32, 3.2e-7 off); torch_impl keeps float64, a
  documented deliberate difference (README, ``Loss(dtype=None)``), so Keras 2's assertion
  holds for torch_impl.

torch_impl bug found (fixed): ``CategoricalFocalCrossentropy(alpha=[0.25, 0.5, 0.75]).alpha`` was
a torch tensor; Keras 2 and Keras 3.15.1 keep the list (``obj.alpha == [0.25, 0.5, 0.75]``).

Not translated (no counterpart in the torch_impl API):

* every ``test_ragged_tensors*`` (10 loss methods) and ``*_ragged`` accuracy methods (5):
  ``tf.RaggedTensor``;
* ``KerasLossesTest.test_loss_wrapper_autograph``, ``test_loss_not_autographed_in_eager``:
  ``tf.function``/autograph;
* ``KerasLossesTest.test_serialization``: ``losses.serialize``/``deserialize`` internals;
* ``KerasLossesTest.test_binary_crossentropy_uses_cached_logits``: the hidden ``_keras_logits``
  that Keras's ``activations.sigmoid`` attaches (torch_impl's ``fit`` attaches it to a model's
  sigmoid/softmax output, ``test_losses_rest_keras.py``; outside ``fit`` pass the logits with
  ``from_logits=True``);
* ``SparseCategoricalAccuracy``'s ``test_sparse_categorical_accuracy_mismatched_dims_dynamic``
  (``tf.compat.v1`` placeholders in graph mode) and
  ``test_sparse_top_k_categorical_accuracy_mismatched_dims_dynamic`` (a Keras ``Model`` with a
  metric inside a layer).

Tally: 102 test methods translated (69 of losses_test.py, 33 of the metrics tests), 21 not.
Partly translated: the ``*_with_unknown_rank_tensor`` tests keep their numbers (placeholders of
unknown rank do not exist in torch); ``*_uses_cached_logits`` for CCE/sparse CCE keep the
``loss != 0`` check on the logits they pass with ``from_logits=True``.

Run: ``.venv/bin/python -m pytest -q -s parity_tests/test_tf_keras_reference.py -p no:cacheprovider``
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from typing import Any

import numpy as np
import pytest
import torch

from parity_tests.keras_reference_helpers import as_keras_sees as _t
from parity_tests.keras_reference_helpers import to_numpy as _np
from torch_impl import losses, metrics

# --------------------------------------------------------------------------
# helpers: tf.test.TestCase's assertions
# --------------------------------------------------------------------------


def tf_almost_equal(name: str, got, expected, places: int = 7) -> None:
    """unittest's ``assertAlmostEqual(got, expected, places)``: ``round(|got - expected|, places) == 0``."""
    got = float(_np(got))
    print(f"{name}: got={got!r} expected={expected!r} (places={places})")
    assert got == expected or round(abs(got - expected), places) == 0, (got, expected, places)


def tf_all_close(name: str, a, b, rtol: float = 1e-6, atol: float = 1e-6) -> None:
    """``tf.test.TestCase.assertAllClose(a, b, rtol, atol)``: equal shapes, ``|a - b| <= atol + rtol * |b|``."""
    a, b = np.asarray(_np(a)), np.asarray(_np(b))
    print(f"{name}: a={a} b={b} (rtol={rtol}, atol={atol})")
    assert a.shape == b.shape, (a.shape, b.shape)
    assert np.allclose(a, b, rtol=rtol, atol=atol), (a, b)


def tf_array_near(name: str, got, expected, err: float) -> None:
    """``assertArrayNear(got, expected, err)``: same length, ``|got_i - expected_i| <= err``."""
    got = np.asarray(_np(got)).ravel()
    print(f"{name}: got={got} expected={expected} (err={err})")
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert abs(float(g) - e) <= err, (g, e)


def _in(x, as_given: bool):
    if as_given or x is None or isinstance(x, (int, float)):
        return x
    return _t(x)


@dataclasses.dataclass(frozen=True)
class Case:
    """One part of a tf-keras test method: ``cls(**kwargs)(y_true, y_pred, sample_weight)`` against ``expected``.

    ``check``: ``("almost", places)``, ``("allclose", rtol, atol)`` (the result first) or
    ``("allclose_expected_first", rtol, atol)``. ``keras2``: Keras 2's expected number where Keras 3.15.1
    (and torch_impl) give another, ``why`` the change."""

    id: str
    cls: str
    kwargs: dict
    y_true: Any
    y_pred: Any
    sample_weight: Any = None
    expected: Any = 0.0
    check: tuple = ("almost", 3)
    keras2: Any = None
    why: str = ""
    as_given: bool = False  # hand Python lists over unconverted


def _run(module, case: Case):
    obj = getattr(module, case.cls)(**case.kwargs)
    args = (_in(case.y_true, case.as_given), _in(case.y_pred, case.as_given))
    if case.sample_weight is None:
        return obj(*args)
    return obj(*args, sample_weight=_in(case.sample_weight, case.as_given))


def tf_check(name: str, got, case) -> None:
    """``case.check`` applied to ``got`` against ``case.expected`` (``("almost", places)``, ``("allclose", rtol,
    atol)``, ``("allclose_expected_first", rtol, atol)``, ``("near", err)`` or ``("equal",)``), printing Keras 2's number where
    Keras 3.15.1's differs (``case.keras2`` / ``case.why``): the translations' one assertion."""
    if case.keras2 is not None:
        print(f"{case.id}: Keras 2 expected {case.keras2}; Keras 3.15.1 gives {case.expected} ({case.why})")
    kind = case.check[0]
    if kind == "almost":
        tf_almost_equal(name, got, case.expected, case.check[1])
    elif kind == "allclose":
        tf_all_close(name, got, case.expected, rtol=case.check[1], atol=case.check[2])
    elif kind == "allclose_expected_first":
        tf_all_close(name, case.expected, got, rtol=case.check[1], atol=case.check[2])
    elif kind == "near":
        tf_array_near(name, got, case.expected, case.check[1])
    elif kind == "equal":  # assertEqual
        got = np.asarray(got.detach().cpu().numpy() if isinstance(got, torch.Tensor) else got)
        print(f"{name}: got={got} expected={case.expected} (assertEqual)")
        assert got == case.expected, (got, case.expected)
    else:
        raise ValueError(f"{name}: unknown check {case.check!r}")


def _assert(case: Case, got) -> None:
    tf_check(case.id, got, case)


def _params(cases):
    out = []
    for c in cases:
        marks = [pytest.mark.xfail(strict=True, reason=c.why)] if c.cls.startswith("!") else []
        out.append(pytest.param(c, id=c.id, marks=marks))
    return out


# --------------------------------------------------------------------------
# shared inputs of tf-keras's tests
# --------------------------------------------------------------------------

I32 = np.int32  # tf.constant of Python ints
F32 = np.float32

EYE3_F = np.eye(3, dtype=F32)
EYE3_I64 = np.eye(3, dtype=np.int64)
ONE_HOT_3 = np.eye(3, dtype=I32)
LOGITS_100_EYE = np.array([[100.0, -100.0, -100.0], [-100.0, 100.0, -100.0], [-100.0, -100.0, 100.0]], F32)
LOGITS_10_EYE = np.array([[10.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 10.0]], F32)
PROBS_3 = np.array([[0.9, 0.05, 0.05], [0.5, 0.89, 0.6], [0.05, 0.01, 0.94]], F32)
LOGITS_3 = np.array([[8.0, 1.0, 1.0], [0.0, 9.0, 1.0], [2.0, 3.0, 5.0]], F32)
SW_3x1 = np.array([[1.2], [3.4], [5.6]], F32)

Y_2x2 = np.asarray([1, 0, 1, 0]).reshape([2, 2])  # int64 NumPy
BCE_P_2x2 = np.asarray([1, 1, 1, 0], dtype=np.float32).reshape([2, 2])
BCE_Y_2x3 = np.array([[1, 0, 1], [0, 1, 1]], I32)
BCE_LOGITS_2x3 = np.array([[100.0, -100.0, 100.0], [100.0, 100.0, -100.0]], F32)
SW_2x1 = np.array([1.2, 3.4], F32).reshape((2, 1))

FOCAL_P_2x2 = np.asarray([0.9, 0.8, 0.7, 0.2], dtype=np.float32).reshape([2, 2])
FOCAL_Y_2x3 = np.array([[1, 1, 0], [0, 1, 0]], F32)
FOCAL_LOGITS_2x3 = np.array([[1.5, -2.7, 2.9], [-3.8, 1.2, -4.5]], F32)

BCE_CLIP = "Keras 2 took log(p + 1e-7) after the clip, Keras 3 log(p): -log(1.19e-7) = 15.942, not 15.33"

# --------------------------------------------------------------------------
# loss classes: BinaryCrossentropyTest
# --------------------------------------------------------------------------

BCE = "BinaryCrossentropy"
BCE_CASES = [
    Case("BinaryCrossentropyTest.test_all_correct_unweighted[probs]", BCE, {}, EYE3_F, EYE3_F),
    Case("BinaryCrossentropyTest.test_all_correct_unweighted[logits]", BCE, {"from_logits": True}, EYE3_F,
         LOGITS_100_EYE),
    Case("BinaryCrossentropyTest.test_unweighted[probs]", BCE, {}, Y_2x2, BCE_P_2x2, expected=3.98559,
         keras2=3.833, why=BCE_CLIP),
    Case("BinaryCrossentropyTest.test_unweighted[logits]", BCE, {"from_logits": True}, BCE_Y_2x3, BCE_LOGITS_2x3,
         expected=33.333),
    Case("BinaryCrossentropyTest.test_scalar_weighted[probs]", BCE, {}, Y_2x2, BCE_P_2x2, 2.3, expected=9.16686,
         keras2=8.817, why=BCE_CLIP),
    Case("BinaryCrossentropyTest.test_scalar_weighted[logits]", BCE, {"from_logits": True}, BCE_Y_2x3,
         BCE_LOGITS_2x3, 2.3, expected=76.667),
    Case("BinaryCrossentropyTest.test_sample_weighted[probs]", BCE, {}, Y_2x2, BCE_P_2x2, SW_2x1, expected=4.78271,
         keras2=4.6, why=BCE_CLIP),
    Case("BinaryCrossentropyTest.test_sample_weighted[logits]", BCE, {"from_logits": True}, BCE_Y_2x3,
         BCE_LOGITS_2x3, np.array([4, 3], I32), expected=100),
    Case("BinaryCrossentropyTest.test_no_reduction", BCE, {"from_logits": True, "reduction": "none"}, BCE_Y_2x3,
         BCE_LOGITS_2x3, expected=(0.0, 66.6666), check=("allclose_expected_first", 3, 1e-6)),
    Case("BinaryCrossentropyTest.test_label_smoothing", BCE, {"from_logits": True, "label_smoothing": 0.1},
         np.array([[1, 0, 1]], I32), np.array([[100.0, -100.0, -100.0]], F32), expected=(100.0 + 50.0 * 0.1) / 3.0),
    Case("BinaryCrossentropyTest.test_label_smoothing_ndarray", BCE, {"from_logits": True, "label_smoothing": 0.1},
         np.asarray([[1, 0, 1]]), np.asarray([[100.0, -100.0, -100.0]]), expected=(100.0 + 50.0 * 0.1) / 3.0),
]

# --------------------------------------------------------------------------
# BinaryFocalCrossentropyTest, BinaryWeightedFocalCrossentropyTest
# --------------------------------------------------------------------------

BFCE = "BinaryFocalCrossentropy"
BFCE_CASES = [
    Case("BinaryFocalCrossentropyTest.test_all_correct_unweighted[probs]", BFCE, {"gamma": 1.5}, EYE3_F, EYE3_F),
    Case("BinaryFocalCrossentropyTest.test_all_correct_unweighted[logits]", BFCE, {"gamma": 2.0, "from_logits": True},
         EYE3_F, LOGITS_100_EYE),
    Case("BinaryFocalCrossentropyTest.test_unweighted[probs]", BFCE, {"gamma": 2.0}, Y_2x2, FOCAL_P_2x2,
         expected=0.268),
    Case("BinaryFocalCrossentropyTest.test_unweighted[logits]", BFCE, {"gamma": 3.0, "from_logits": True},
         FOCAL_Y_2x3, FOCAL_LOGITS_2x3, expected=0.799),
    Case("BinaryFocalCrossentropyTest.test_scalar_weighted[probs]", BFCE, {"gamma": 2.0}, Y_2x2, FOCAL_P_2x2, 1.23,
         expected=0.3296),
    Case("BinaryFocalCrossentropyTest.test_scalar_weighted[logits]", BFCE, {"gamma": 3.0, "from_logits": True},
         FOCAL_Y_2x3, FOCAL_LOGITS_2x3, 3.21, expected=2.565),
    Case("BinaryFocalCrossentropyTest.test_sample_weighted[probs]", BFCE, {"gamma": 2.0}, Y_2x2, FOCAL_P_2x2, SW_2x1,
         expected=0.34415),
    Case("BinaryFocalCrossentropyTest.test_sample_weighted[logits]", BFCE, {"gamma": 3.0, "from_logits": True},
         FOCAL_Y_2x3, FOCAL_LOGITS_2x3, SW_2x1, expected=0.95977),
    Case("BinaryFocalCrossentropyTest.test_no_reduction", BFCE, {"gamma": 2.0, "reduction": "none"}, Y_2x2,
         FOCAL_P_2x2, expected=(0.5155, 0.0205), check=("allclose", 3, 1e-6)),
    # apply_class_balancing=True
    Case("BinaryWeightedFocalCrossentropyTest.test_all_correct_unweighted[probs]", BFCE,
         {"apply_class_balancing": True, "gamma": 1.5}, EYE3_F, EYE3_F),
    Case("BinaryWeightedFocalCrossentropyTest.test_all_correct_unweighted[logits]", BFCE,
         {"apply_class_balancing": True, "alpha": 0.3, "gamma": 2.0, "from_logits": True}, EYE3_F, LOGITS_100_EYE),
    Case("BinaryWeightedFocalCrossentropyTest.test_unweighted[probs]", BFCE,
         {"apply_class_balancing": True, "alpha": 0.4, "gamma": 2.0}, Y_2x2, FOCAL_P_2x2, expected=0.15915),
    Case("BinaryWeightedFocalCrossentropyTest.test_unweighted[logits]", BFCE,
         {"apply_class_balancing": True, "alpha": 0.3, "gamma": 3.0, "from_logits": True}, FOCAL_Y_2x3,
         FOCAL_LOGITS_2x3, expected=0.40724),
    Case("BinaryWeightedFocalCrossentropyTest.test_scalar_weighted[probs]", BFCE,
         {"apply_class_balancing": True, "alpha": 0.6, "gamma": 2.0}, Y_2x2, FOCAL_P_2x2, 1.23, expected=0.13388),
    Case("BinaryWeightedFocalCrossentropyTest.test_scalar_weighted[logits]", BFCE,
         {"apply_class_balancing": True, "alpha": 0.2, "gamma": 3.0, "from_logits": True}, FOCAL_Y_2x3,
         FOCAL_LOGITS_2x3, 3.21, expected=1.32),
    Case("BinaryWeightedFocalCrossentropyTest.test_sample_weighted[probs]", BFCE,
         {"apply_class_balancing": True, "alpha": 0.1, "gamma": 2.0}, Y_2x2, FOCAL_P_2x2, SW_2x1, expected=0.2877),
    Case("BinaryWeightedFocalCrossentropyTest.test_sample_weighted[logits]", BFCE,
         {"apply_class_balancing": True, "alpha": 0.2, "gamma": 3.0, "from_logits": True}, FOCAL_Y_2x3,
         FOCAL_LOGITS_2x3, SW_2x1, expected=0.49366),
    Case("BinaryWeightedFocalCrossentropyTest.test_no_reduction", BFCE,
         {"apply_class_balancing": True, "alpha": 0.6, "gamma": 2.0, "reduction": "none"}, Y_2x2, FOCAL_P_2x2,
         expected=(0.2063, 0.0114), check=("allclose", 3, 1e-6)),
]

# --------------------------------------------------------------------------
# CategoricalCrossentropyTest, CategoricalFocalCrossentropyTest
# --------------------------------------------------------------------------

CCE, CFCE = "CategoricalCrossentropy", "CategoricalFocalCrossentropy"
CCE_CASES = [
    Case("CategoricalCrossentropyTest.test_all_correct_unweighted[probs]", CCE, {}, EYE3_I64, EYE3_F),
    Case("CategoricalCrossentropyTest.test_all_correct_unweighted[logits]", CCE, {"from_logits": True}, EYE3_I64,
         LOGITS_10_EYE),
    Case("CategoricalCrossentropyTest.test_unweighted[probs]", CCE, {}, ONE_HOT_3, PROBS_3, expected=0.3239),
    Case("CategoricalCrossentropyTest.test_unweighted[logits]", CCE, {"from_logits": True}, ONE_HOT_3, LOGITS_3,
         expected=0.0573),
    Case("CategoricalCrossentropyTest.test_scalar_weighted[probs]", CCE, {}, ONE_HOT_3, PROBS_3, 2.3, expected=0.7449),
    Case("CategoricalCrossentropyTest.test_scalar_weighted[logits]", CCE, {"from_logits": True}, ONE_HOT_3, LOGITS_3,
         2.3, expected=0.1317),
    Case("CategoricalCrossentropyTest.test_sample_weighted[probs]", CCE, {}, ONE_HOT_3, PROBS_3, SW_3x1,
         expected=1.0696),
    Case("CategoricalCrossentropyTest.test_sample_weighted[logits]", CCE, {"from_logits": True}, ONE_HOT_3, LOGITS_3,
         SW_3x1, expected=0.31829),
    Case("CategoricalCrossentropyTest.test_no_reduction", CCE, {"from_logits": True, "reduction": "none"}, ONE_HOT_3,
         LOGITS_3, expected=(0.001822, 0.000459, 0.169846), check=("allclose_expected_first", 3, 1e-6)),
    Case("CategoricalCrossentropyTest.test_label_smoothing", CCE, {"from_logits": True, "label_smoothing": 0.1},
         np.array([[1, 0, 0]], I32), np.array([[100.0, -100.0, -100.0]], F32), expected=400.0 * 0.1 / 3.0),
    Case("CategoricalCrossentropyTest.test_label_smoothing_ndarray", CCE,
         {"from_logits": True, "label_smoothing": 0.1}, np.asarray([[1, 0, 0]]), np.asarray([[100.0, -100.0, -100.0]]),
         expected=400.0 * 0.1 / 3.0),
    Case("CategoricalFocalCrossentropyTest.test_all_correct_unweighted[probs]", CFCE, {"alpha": 0.25, "gamma": 2.0},
         EYE3_I64, EYE3_F),
    Case("CategoricalFocalCrossentropyTest.test_all_correct_unweighted[logits]", CFCE, {"from_logits": True},
         EYE3_I64, LOGITS_10_EYE),
    Case("CategoricalFocalCrossentropyTest.test_unweighted[probs]", CFCE, {}, ONE_HOT_3, PROBS_3, expected=0.02059),
    Case("CategoricalFocalCrossentropyTest.test_unweighted[logits]", CFCE, {"from_logits": True}, ONE_HOT_3, LOGITS_3,
         expected=0.000345),
    Case("CategoricalFocalCrossentropyTest.test_scalar_weighted[probs]", CFCE, {}, ONE_HOT_3, PROBS_3, 2.3,
         expected=0.047368),
    Case("CategoricalFocalCrossentropyTest.test_scalar_weighted[logits]", CFCE, {"from_logits": True}, ONE_HOT_3,
         LOGITS_3, 2.3, expected=0.000794, check=("almost", 4)),
    Case("CategoricalFocalCrossentropyTest.test_sample_weighted[probs]", CFCE, {}, ONE_HOT_3, PROBS_3, SW_3x1,
         expected=0.06987),
    Case("CategoricalFocalCrossentropyTest.test_sample_weighted[logits]", CFCE, {"from_logits": True}, ONE_HOT_3,
         LOGITS_3, SW_3x1, expected=0.001933),
    Case("CategoricalFocalCrossentropyTest.test_no_reduction", CFCE, {"from_logits": True, "reduction": "none"},
         ONE_HOT_3, LOGITS_3, expected=(1.5096224e-09, 2.4136547e-11, 1.0360638e-03),
         check=("allclose_expected_first", 3, 1e-6)),
    Case("CategoricalFocalCrossentropyTest.test_label_smoothing", CFCE, {"from_logits": True, "label_smoothing": 0.1},
         np.array([[1, 0, 0]], I32), np.array([[4.9, -0.5, 2.05]], F32), expected=0.06685),
    Case("CategoricalFocalCrossentropyTest.test_label_smoothing_ndarray", CFCE,
         {"from_logits": True, "label_smoothing": 0.1}, np.asarray([[1, 0, 0]]), np.asarray([[4.9, -0.5, 2.05]]),
         expected=0.06685),
]

# --------------------------------------------------------------------------
# SparseCategoricalCrossentropyTest
# --------------------------------------------------------------------------

SCCE = "SparseCategoricalCrossentropy"
SPARSE_3x1 = np.array([[0], [1], [2]], I32)
PROBS_4 = np.array([[0.9, 0.05, 0.05], [0.5, 0.89, 0.6], [0.05, 0.01, 0.94], [0.85, 0.14, 0.01]], F32)
LOGITS_4 = np.array([[8.0, 1.0, 1.0], [0.0, 9.0, 1.0], [2.0, 3.0, 5.0], [7.8, 2.0, 1.0]], F32)
SEG_Y = np.array([[[0, 2], [-1, -1]], [[0, 2], [-1, -1]], [[0, 0], [0, 0]]], I32)
SEG_P = np.array([
    [[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], [[0.2, 0.5, 0.3], [0.0, 1.0, 0.0]]],
    [[[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]], [[0.2, 0.5, 0.3], [0.0, 1.0, 0.0]]],
    [[[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]], [[0.1, 0.9, 0.0], [0.2, 0.8, 0.0]]],
], F32)
SCCE_CASES = [
    Case("SparseCategoricalCrossentropyTest.test_all_correct_unweighted[probs]", SCCE, {},
         np.array([[0], [1], [2]], np.int64), EYE3_F),
    Case("SparseCategoricalCrossentropyTest.test_all_correct_unweighted[logits]", SCCE, {"from_logits": True},
         np.array([[0], [1], [2]], np.int64), LOGITS_10_EYE),
    Case("SparseCategoricalCrossentropyTest.test_unweighted[probs]", SCCE, {}, np.array([0, 1, 2], I32), PROBS_3,
         expected=0.3239),
    Case("SparseCategoricalCrossentropyTest.test_unweighted[logits]", SCCE, {"from_logits": True},
         np.array([0, 1, 2], I32), LOGITS_3, expected=0.0573),
    Case("SparseCategoricalCrossentropyTest.test_unweighted_ignore_class[probs]", SCCE, {"ignore_class": -1},
         np.array([0, 1, 2, -1], I32), PROBS_4, expected=0.3239),
    Case("SparseCategoricalCrossentropyTest.test_unweighted_ignore_class[logits]", SCCE,
         {"ignore_class": -1, "from_logits": True}, np.array([0, 1, 2, -1], I32), LOGITS_4, expected=0.0573),
    Case("SparseCategoricalCrossentropyTest.test_unweighted_ignore_class_for_segmentation", SCCE,
         {"ignore_class": -1}, SEG_Y, SEG_P, expected=0.575646375),
    Case("SparseCategoricalCrossentropyTest.test_scalar_weighted[probs]", SCCE, {}, SPARSE_3x1, PROBS_3, 2.3,
         expected=0.7449),
    Case("SparseCategoricalCrossentropyTest.test_scalar_weighted[logits]", SCCE, {"from_logits": True}, SPARSE_3x1,
         LOGITS_3, 2.3, expected=0.1317),
    Case("SparseCategoricalCrossentropyTest.test_sample_weighted[probs]", SCCE, {}, SPARSE_3x1, PROBS_3, SW_3x1,
         expected=1.0696),
    Case("SparseCategoricalCrossentropyTest.test_sample_weighted[logits]", SCCE, {"from_logits": True}, SPARSE_3x1,
         LOGITS_3, SW_3x1, expected=0.31829),
    Case("SparseCategoricalCrossentropyTest.test_sample_weighted_ignore_class[probs]", SCCE, {"ignore_class": -1},
         np.array([[0], [1], [2], [-1]], I32), PROBS_4, np.array([[1.2], [3.4], [5.6], [10.4]], F32),
         expected=1.0696),
    Case("SparseCategoricalCrossentropyTest.test_sample_weighted_ignore_class[logits]", SCCE,
         {"ignore_class": -1, "from_logits": True}, np.array([[0], [1], [2], [-1]], I32), LOGITS_4,
         np.array([[1.2], [3.4], [5.6], [10.4]], F32), expected=0.31829),
    Case("SparseCategoricalCrossentropyTest.test_no_reduction", SCCE, {"from_logits": True, "reduction": "none"},
         SPARSE_3x1, LOGITS_3, expected=(0.001822, 0.000459, 0.169846), check=("allclose_expected_first", 3, 1e-6)),
    # Keras 3.15.1 raises ValueError("list arity mismatch") for these nested lists; as arrays: 0.7451267
    Case("SparseCategoricalCrossentropyTest.test_non_tensor", SCCE, {}, [[0], [1], [2]],
         [[0.9, 0.05, 0.05], [0.5, 0.89, 0.6], [0.05, 0.01, 0.94]], 2.3, expected=0.7449, as_given=True),
]

LOSS_CASES = BCE_CASES + BFCE_CASES + CCE_CASES + SCCE_CASES


@pytest.mark.parametrize("case", _params(LOSS_CASES))
def test_loss_class(case: Case):
    _assert(case, _run(losses, case))


# ---- the loss classes' other methods ----------------------------------------


def test_bce_config():
    obj = losses.BinaryCrossentropy(reduction="sum", name="bce_1")
    print("BinaryCrossentropyTest.test_config:", obj.name, obj.reduction)
    assert obj.name == "bce_1" and obj.reduction == "sum"


def test_cce_config():
    obj = losses.CategoricalCrossentropy(reduction="sum", name="bce_1")
    print("CategoricalCrossentropyTest.test_config:", obj.name, obj.reduction)
    assert obj.name == "bce_1" and obj.reduction == "sum"


def test_scce_config():
    obj = losses.SparseCategoricalCrossentropy(reduction="sum", name="scc")
    print("SparseCategoricalCrossentropyTest.test_config:", obj.name, obj.reduction)
    assert obj.name == "scc" and obj.reduction == "sum"


def test_bfce_config():
    obj = losses.BinaryFocalCrossentropy(gamma=1.5, name="bfce_0")
    obj_2 = losses.BinaryFocalCrossentropy.from_config(obj.get_config())
    print("BinaryFocalCrossentropyTest.test_config:", obj.get_config())
    for o in (obj, obj_2):
        assert o.name == "bfce_0"
        tf_almost_equal("gamma", o.gamma, 1.5)


def test_bwfce_config():
    obj = losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.1, gamma=1.5, name="bfce_0")
    obj_2 = losses.BinaryFocalCrossentropy.from_config(obj.get_config())
    print("BinaryWeightedFocalCrossentropyTest.test_config:", obj.get_config())
    for o in (obj, obj_2):
        assert o.apply_class_balancing
        assert o.name == "bfce_0"
        tf_almost_equal("alpha", o.alpha, 0.1)
        tf_almost_equal("gamma", o.gamma, 1.5)


def test_cfce_config():
    obj = losses.CategoricalFocalCrossentropy(name="focal_cce", reduction="sum", alpha=0.25, gamma=2.0)
    print("CategoricalFocalCrossentropyTest.test_config:", obj.name, obj.reduction, obj.alpha, obj.gamma)
    assert obj.name == "focal_cce" and obj.reduction == "sum"
    assert obj.alpha == 0.25 and obj.gamma == 2.0


def test_cfce_config_alpha_list():
    # second half of CategoricalFocalCrossentropyTest.test_config (found by this translation: `alpha` was the
    # float32 tensor the loss computes with; it is now the list as given, as in Keras 2 and Keras 3.15.1)
    obj = losses.CategoricalFocalCrossentropy(alpha=[0.25, 0.5, 0.75])
    print("CategoricalFocalCrossentropyTest.test_config (alpha list):", type(obj.alpha), obj.alpha)
    assert obj.alpha == [0.25, 0.5, 0.75]
    assert obj.get_config()["alpha"] == [0.25, 0.5, 0.75]
    obj.alpha = 0.5  # settable, and the loss follows it
    assert obj.alpha == 0.5 and obj._kwargs()["alpha"] == 0.5


@pytest.mark.parametrize("cls", [losses.CategoricalCrossentropy, losses.CategoricalFocalCrossentropy])
def test_cce_cfce_shape_mismatch(cls):
    # Keras 2: ValueError "Shapes .+ are incompatible". Keras 3.15.1: CCE raises ValueError "Arguments `target` and
    # `output` must have the same shape"; CategoricalFocalCrossentropy raises nothing and returns 1.3366661
    # (broadcasting the (3, 1) labels over the classes). torch_impl raises for both, with Keras 3's CCE wording.
    y_true = _t(np.array([[0], [1], [2]], I32))
    y_pred = _t(PROBS_3)
    with pytest.raises(ValueError, match="must have the same shape") as err:
        cls()(y_true, y_pred)
    print(f"{cls.__name__}Test.test_shape_mismatch: {err.value}")


@pytest.mark.parametrize("cls,name", [(losses.CategoricalCrossentropy, "categorical_crossentropy"),
                                      (losses.CategoricalFocalCrossentropy, "categorical_focal_crossentropy")])
def test_cce_cfce_binary_labels(cls, name):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        cls()(_t(np.array([[1.0], [0.0]], F32)), _t(np.array([[1.0], [1.0]], F32)))
    print(f"{cls.__name__}Test.test_binary_labels: {w[-1].category.__name__}: {w[-1].message}")
    assert w[-1].category is SyntaxWarning
    assert f"In loss {name}, expected " in str(w[-1].message)


# --------------------------------------------------------------------------
# KerasLossesTest: the functional forms
# --------------------------------------------------------------------------

ALL_LOSSES = [
    losses.mean_squared_error, losses.mean_absolute_error, losses.mean_absolute_percentage_error,
    losses.mean_squared_logarithmic_error, losses.squared_hinge, losses.hinge, losses.categorical_crossentropy,
    losses.binary_crossentropy, losses.kl_divergence, losses.poisson, losses.cosine_similarity, losses.log_cosh,
    losses.categorical_hinge,
]


def _variable(x) -> torch.Tensor:
    """``backend.variable(x)``: a floatx (float32) tensor."""
    return torch.as_tensor(np.asarray(x), dtype=torch.float32)


@pytest.mark.parametrize("shape", [(5, 6, 7), (6, 7)], ids=["test_objective_shapes_3d", "test_objective_shapes_2d"])
def test_objective_shapes(shape):
    rng = np.random.RandomState(0)
    y_a, y_b = _variable(rng.random_sample(shape)), _variable(rng.random_sample(shape))
    for obj in ALL_LOSSES:
        out = obj(y_a, y_b)
        print(f"KerasLossesTest {shape}: {obj.__name__} -> {list(out.shape)}")
        assert list(out.shape) == list(shape[:-1])


def test_cce_one_hot():
    rng = np.random.RandomState(1)
    y_a = _variable(rng.randint(0, 7, (5, 6)))
    y_b = _variable(rng.random_sample((5, 6, 7)))
    out = losses.sparse_categorical_crossentropy(y_a, y_b)
    print("KerasLossesTest.test_cce_one_hot:", tuple(out.shape))
    assert _np(out).shape == (5, 6)
    y_a = _variable(rng.randint(0, 7, (6,)))
    y_b = _variable(rng.random_sample((6, 7)))
    out = losses.sparse_categorical_crossentropy(y_a, y_b)
    print("KerasLossesTest.test_cce_one_hot:", tuple(out.shape))
    assert _np(out).shape == (6,)


def test_categorical_crossentropy_loss():
    rng = np.random.RandomState(2)
    target = _variable(rng.randint(0, 1, (5, 1)))
    logits = _variable(rng.random_sample((5, 1)))
    softmax_output = torch.softmax(logits, -1)
    with warnings.catch_warnings():  # Keras 3 (and torch_impl) warn about the single class; Keras 2 did not
        warnings.simplefilter("ignore", SyntaxWarning)
        output_from_logit = losses.categorical_crossentropy(target, logits, from_logits=True)
        output_from_softmax = losses.categorical_crossentropy(target, softmax_output)
        print("KerasLossesTest.test_categorical_crossentropy_loss:", _np(output_from_logit), _np(output_from_softmax))
        np.testing.assert_allclose(_np(output_from_logit), _np(output_from_softmax), atol=1e-5)
        output_from_logit_axis = losses.categorical_crossentropy(target, logits, from_logits=True, axis=0)
        output_from_softmax_axis = losses.categorical_crossentropy(target, softmax_output, axis=0)
    print("  axis=0:", _np(output_from_logit_axis), _np(output_from_softmax_axis))
    np.testing.assert_allclose(_np(output_from_logit_axis), _np(output_from_softmax_axis), atol=1e-5)


def test_categorical_crossentropy_loss_with_unknown_rank_tensor():
    # the placeholders of unknown rank have no torch counterpart; the numbers are kept
    t_val = _t(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], F32))
    p_val = _t(np.array([[0.9, 0.05, 0.05], [0.05, 0.89, 0.06], [0.05, 0.01, 0.94]], F32))
    tf_array_near("KerasLossesTest cce unknown rank (probs)", losses.categorical_crossentropy(t_val, p_val),
                  [0.105, 0.116, 0.062], 1e-3)
    tf_array_near("KerasLossesTest cce unknown rank (logits)",
                  losses.categorical_crossentropy(t_val, _t(LOGITS_3), from_logits=True), [0.002, 0, 0.17], 1e-3)


def test_categorial_crossentropy_loss_different_axis():
    rng = np.random.RandomState(3)
    target = _variable(rng.randint(0, 1, (5, 2, 3)))
    logits = _variable(rng.random_sample((5, 2, 3)))
    softmax_output = torch.softmax(logits, -1)
    output_from_logit_axis = losses.categorical_crossentropy(target, logits, from_logits=True, axis=1)
    output_from_softmax_axis = losses.categorical_crossentropy(target, softmax_output, axis=1)
    print("KerasLossesTest.test_categorial_crossentropy_loss_different_axis:", _np(output_from_logit_axis).ravel(),
          _np(output_from_softmax_axis).ravel())
    np.testing.assert_allclose(_np(output_from_logit_axis), _np(output_from_softmax_axis), atol=1e-5)


def test_sparse_categorical_crossentropy_loss():
    rng = np.random.RandomState(4)
    target = _variable(rng.randint(0, 1, (5, 1)))
    logits = _variable(rng.random_sample((5, 1)))
    softmax_output = torch.softmax(logits, -1)
    output_from_logit = losses.sparse_categorical_crossentropy(target, logits, from_logits=True)
    output_from_softmax = losses.sparse_categorical_crossentropy(target, softmax_output)
    print("KerasLossesTest.test_sparse_categorical_crossentropy_loss:", _np(output_from_logit),
          _np(output_from_softmax))
    np.testing.assert_allclose(_np(output_from_logit), _np(output_from_softmax), atol=1e-5)


def test_sparse_categorical_crossentropy_loss_with_ignore_class():
    rng = np.random.RandomState(5)
    ignore_class = 255
    target = _variable(rng.randint(0, 1, (5, 1)))
    logits = _variable(rng.random_sample((5, 1)))
    softmax_output = torch.softmax(logits, -1)
    valid = torch.tensor([[0], [1], [0], [1], [1]], dtype=target.dtype)
    target = target * valid + (1 - valid) * ignore_class
    output_from_logit = losses.sparse_categorical_crossentropy(target, logits, ignore_class=ignore_class,
                                                               from_logits=True)
    output_from_softmax = losses.sparse_categorical_crossentropy(target, softmax_output, ignore_class=ignore_class)
    print("KerasLossesTest.test_sparse_categorical_crossentropy_loss_with_ignore_class:", _np(output_from_logit),
          _np(output_from_softmax))
    np.testing.assert_allclose(_np(output_from_logit), _np(output_from_softmax), atol=1e-5)


def test_sparse_categorical_crossentropy_loss_with_unknown_rank_tensor():
    t_val = _t(np.array([0, 1, 2], I32))
    p_val = _t(np.array([[0.9, 0.05, 0.05], [0.05, 0.89, 0.06], [0.05, 0.01, 0.94]], F32))
    tf_array_near("KerasLossesTest scce unknown rank (probs)", losses.sparse_categorical_crossentropy(t_val, p_val),
                  [0.105, 0.116, 0.062], 1e-3)
    tf_array_near("KerasLossesTest scce unknown rank (logits)",
                  losses.sparse_categorical_crossentropy(t_val, _t(LOGITS_3), from_logits=True), [0.002, 0, 0.17],
                  1e-3)


def test_sparse_categorical_crossentropy_with_float16():
    # Keras 3.15.1 raises ValueError for this exact call (its Loss maps y_true and y_pred as one structure: a list
    # against a tensor); with y_true as an array it gives 2.0556e-4, torch_impl 2.0603e-4 (the 2049 clipped zeros
    # add 2049 * 1e-7 to the implicit renormalisation)
    y_true = [0, 2049]
    y_pred = np.zeros((2, 2050))
    y_pred[0][0] = 1
    y_pred[1][2049] = 1
    y_pred_16 = torch.as_tensor(y_pred, dtype=torch.float16)
    loss = losses.SparseCategoricalCrossentropy()(y_true, y_pred_16)
    tf_all_close("KerasLossesTest.test_sparse_categorical_crossentropy_with_float16", loss, 0.0, atol=1e-3)


def test_binary_crossentropy_loss():
    rng = np.random.RandomState(6)
    target = _variable(rng.randint(0, 1, (5, 1)))
    logits = _variable(rng.random_sample((5, 1)))
    sigmoid_output = torch.sigmoid(logits)
    output_from_logit = losses.binary_crossentropy(target, logits, from_logits=True)
    output_from_sigmoid = losses.binary_crossentropy(target, sigmoid_output)
    print("KerasLossesTest.test_binary_crossentropy_loss:", _np(output_from_logit), _np(output_from_sigmoid))
    np.testing.assert_allclose(_np(output_from_logit), _np(output_from_sigmoid), atol=1e-5)
    output_from_logit_axis = losses.binary_crossentropy(target, logits, from_logits=True, axis=0)
    output_from_sigmoid_axis = losses.binary_crossentropy(target, sigmoid_output, axis=0)
    print("  axis=0:", _np(output_from_logit_axis), _np(output_from_sigmoid_axis))
    np.testing.assert_allclose(_np(output_from_logit_axis), _np(output_from_sigmoid_axis), atol=1e-5)


def test_get_bce():
    assert losses.get("bce") is losses.binary_crossentropy


def test_categorical_hinge():
    y_pred = _variable(np.array([[0.3, 0.2, 0.1], [0.1, 0.2, 0.7]]))
    y_true = _variable(np.array([[0, 1, 0], [1, 0, 0]]))
    expected_loss = ((0.3 - 0.2 + 1) + (0.7 - 0.1 + 1)) / 2.0
    loss = _np(losses.categorical_hinge(y_true, y_pred))
    tf_all_close("KerasLossesTest.test_categorical_hinge", expected_loss, np.mean(loss))


def test_loss_wrapper():
    loss_fn = losses.get("mse")
    mse_obj = losses.LossFunctionWrapper(loss_fn, name=loss_fn.__name__)
    assert mse_obj.name == "mean_squared_error"
    # Keras 2: ReductionV2.AUTO; Keras 3.15.1 (LossFunctionWrapper's default): "sum_over_batch_size"
    assert mse_obj.reduction == "sum_over_batch_size"
    loss = mse_obj(_t(np.array([[1.0, 9.0], [2.0, 5.0]], F32)), _t(np.array([[4.0, 8.0], [12.0, 3.0]], F32)),
                   sample_weight=_t(np.array([1.2, 0.5], F32)))
    tf_all_close("KerasLossesTest.test_loss_wrapper", loss, 16, 1e-2)


def test_loss_wrapper_dtype():
    # Keras 2's check holds for torch_impl; Keras 3.15.1 returns float32 0.5328996777 (3.2e-7 off): README,
    # "Loss(dtype=None) called directly" (a documented deliberate difference)
    x = torch.tensor([[2.1]], dtype=torch.float64)
    y_true = torch.square(x)
    y_pred = torch.tensor([[3.68]], dtype=torch.float64)
    tf_loss = losses.MeanSquaredError()(y_pred, y_true)
    man_loss64 = torch.square(y_pred - y_true).squeeze()
    assert tf_loss.dtype == torch.float64
    tf_all_close("KerasLossesTest.test_loss_wrapper_dtype", tf_loss.double().numpy(), man_loss64.numpy(), atol=1e-8)


def test_invalid_reduction():
    # Keras 2: "Invalid Reduction Key: Foo."; Keras 3.15.1: "Invalid value for argument `reduction`. ..."
    with pytest.raises(ValueError, match="Invalid value for argument `reduction`.*Foo"):
        losses.MeanSquaredError(reduction="Foo")
    mse_obj = losses.MeanSquaredError()
    y = _t(np.array([1], I32))
    mse_obj.reduction = "Bar"
    with pytest.raises(ValueError, match="Invalid value for argument `reduction`.*Bar") as err:
        mse_obj(y, y)
    print("KerasLossesTest.test_invalid_reduction:", err.value)


def test_deserialization_error():
    # Keras 2: "Could not interpret loss function identifier"; Keras 3.15.1: "Could not interpret loss identifier: 0"
    with pytest.raises(ValueError, match="Could not interpret loss"):
        losses.get(0)


@pytest.mark.parametrize("fn,y_true", [(losses.categorical_crossentropy, np.array([[0.0, 0.0, 1.0]], F32)),
                                       (losses.sparse_categorical_crossentropy, np.array([2], I32))],
                         ids=["test_categorical_crossentropy_uses_cached_logits",
                              "test_sparse_categorical_crossentropy_uses_cached_logits"])
def test_uses_cached_logits(fn, y_true):
    # the `_keras_logits` attribute check has no torch_impl counterpart; the loss is taken on the logits
    logits = _t(np.array([[-5.0, 0.0, 5.0]], F32))
    loss = fn(_t(y_true), logits, from_logits=True)[0]
    print(f"KerasLossesTest {fn.__name__} on logits: {float(loss)!r} (Keras 3.15.1: 0.00676046)")
    assert float(loss) != 0.0


# --------------------------------------------------------------------------
# metrics: probabilistic_metrics_test.py
# --------------------------------------------------------------------------

M_Y_2x3 = np.asarray([[0, 1, 0], [0, 0, 1]])
M_P_2x3 = np.asarray([[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
M_LOGITS_2x3 = np.asarray([[1, 9, 0], [1, 8, 1]], dtype=np.float32)
M_SW = np.array([1.5, 2.0], F32)
ATOL3 = ("allclose", 1e-6, 1e-3)

METRIC_CASES = [
    Case("BinaryCrossentropyTest.test_unweighted", BCE, {}, Y_2x2, BCE_P_2x2, expected=3.98559, check=ATOL3,
         keras2=3.833, why=BCE_CLIP),
    Case("BinaryCrossentropyTest.test_unweighted_with_logits", BCE, {"from_logits": True}, BCE_Y_2x3, BCE_LOGITS_2x3,
         expected=33.333, check=ATOL3),
    Case("BinaryCrossentropyTest.test_weighted", BCE, {}, Y_2x2, BCE_P_2x2, M_SW, expected=3.41622, check=ATOL3,
         keras2=3.285, why=BCE_CLIP),
    Case("BinaryCrossentropyTest.test_weighted_from_logits", BCE, {"from_logits": True}, BCE_Y_2x3, BCE_LOGITS_2x3,
         np.array([2.0, 2.5], F32), expected=37.037, check=ATOL3),
    Case("BinaryCrossentropyTest.test_label_smoothing", BCE, {"from_logits": True, "label_smoothing": 0.1},
         np.array((1, 0, 1), I32), np.array((100.0, -100.0, -100.0), F32), expected=(100.0 + 50.0 * 0.1) / 3.0,
         check=("allclose_expected_first", 1e-6, 1e-3)),
    Case("CategoricalCrossentropyTest.test_unweighted", CCE, {}, M_Y_2x3, M_P_2x3, expected=1.176, check=ATOL3),
    Case("CategoricalCrossentropyTest.test_unweighted_from_logits", CCE, {"from_logits": True}, M_Y_2x3, M_LOGITS_2x3,
         expected=3.5011, check=ATOL3),
    Case("CategoricalCrossentropyTest.test_weighted", CCE, {}, M_Y_2x3, M_P_2x3, M_SW, expected=1.338, check=ATOL3),
    Case("CategoricalCrossentropyTest.test_weighted_from_logits", CCE, {"from_logits": True}, M_Y_2x3, M_LOGITS_2x3,
         M_SW, expected=4.0012, check=ATOL3),
    Case("CategoricalCrossentropyTest.test_label_smoothing", CCE, {"from_logits": True, "label_smoothing": 0.1},
         M_Y_2x3, M_LOGITS_2x3, expected=3.667, check=ATOL3),
    Case("SparseCategoricalCrossentropyTest.test_unweighted", SCCE, {}, np.asarray([1, 2]), M_P_2x3, expected=1.176,
         check=ATOL3),
    Case("SparseCategoricalCrossentropyTest.test_unweighted_ignore_class", SCCE, {"ignore_class": -1},
         np.asarray([-1, 2]), M_P_2x3, expected=1.15129, check=ATOL3, keras2=2.3026,
         why="Keras 2's metric averaged over the valid entries; Keras 3's Mean ignores the loss's mask without a "
             "sample_weight, so the ignored entry counts as a 0 (2.3026 / 2)"),
    Case("SparseCategoricalCrossentropyTest.test_unweighted_from_logits", SCCE, {"from_logits": True},
         np.asarray([1, 2]), M_LOGITS_2x3, expected=3.5011, check=ATOL3),
    Case("SparseCategoricalCrossentropyTest.test_weighted", SCCE, {}, np.asarray([1, 2]), M_P_2x3, M_SW,
         expected=1.338, check=ATOL3),
    Case("SparseCategoricalCrossentropyTest.test_weighted_ignore_class", SCCE, {"ignore_class": -1},
         np.asarray([1, 2, -1]), np.asarray([[0.05, 0.95, 0], [0.1, 0.8, 0.1], [0.1, 0.8, 0.1]]),
         np.array([1.5, 2.0, 1.5], F32), expected=1.338, check=ATOL3),
    Case("SparseCategoricalCrossentropyTest.test_weighted_from_logits", SCCE, {"from_logits": True},
         np.asarray([1, 2]), M_LOGITS_2x3, M_SW, expected=4.0012, check=ATOL3),
    # Keras 3.15.1 on TensorFlow raises ValueError("Only axis=-1 is currently supported"); torch_impl computes it as
    # Keras's torch backend does (README, "sparse CCE with a class axis other than the last")
    Case("SparseCategoricalCrossentropyTest.test_axis", SCCE, {"axis": 0}, np.asarray([1, 2]),
         np.asarray([[0.05, 0.1], [0.95, 0.8], [0, 0.1]]), expected=1.176, check=ATOL3),
]


@pytest.mark.parametrize("case", _params(METRIC_CASES))
def test_metric(case: Case):
    _assert(case, _run(metrics, case))


@pytest.mark.parametrize("cls,kwargs", [
    (metrics.BinaryCrossentropy, {"name": "bce", "dtype": "int32", "label_smoothing": 0.2}),
    (metrics.CategoricalCrossentropy, {"name": "cce", "dtype": "int32", "label_smoothing": 0.2}),
    (metrics.SparseCategoricalCrossentropy, {"name": "scce", "dtype": "int32"}),
], ids=["BinaryCrossentropyTest.test_config", "CategoricalCrossentropyTest.test_config",
        "SparseCategoricalCrossentropyTest.test_config"])
def test_metric_config(cls, kwargs):
    obj = cls(**kwargs)
    assert obj.name == kwargs["name"]
    assert obj.dtype == torch.int32
    old_config = obj.get_config()
    print(f"metrics.{cls.__name__} config: {old_config}")
    if "label_smoothing" in kwargs:
        tf_all_close("label_smoothing", old_config["label_smoothing"], 0.2, 1e-3)
    else:
        assert old_config == json.loads(json.dumps(old_config))
    obj2 = cls.from_config(old_config)
    assert obj2.name == kwargs["name"]
    assert obj2.dtype == torch.int32
    assert obj2.get_config() == old_config


# --------------------------------------------------------------------------
# metrics: accuracy_metrics_test.py (Metric.stateful, a Keras 2 attribute, is not asserted)
# --------------------------------------------------------------------------


def _check_accuracy_object(acc_obj, name="my_acc"):
    assert acc_obj.name == name
    assert len(acc_obj.variables) == 2
    assert acc_obj.dtype == torch.float32


def test_accuracy():
    acc_obj = metrics.Accuracy(name="my_acc")
    _check_accuracy_object(acc_obj)
    acc_obj.update_state([[1], [2], [3], [4]], [[1], [2], [3], [4]])
    assert float(acc_obj.result()) == 1
    a2 = metrics.Accuracy.from_config(acc_obj.get_config())
    _check_accuracy_object(a2)
    result = acc_obj([[2], [1]], [[2], [0]], sample_weight=[[0.5], [0.2]])
    tf_almost_equal("AccuracyTest.test_accuracy", result, 0.96, 2)  # 4.5/4.7


def test_binary_accuracy():
    acc_obj = metrics.BinaryAccuracy(name="my_acc")
    _check_accuracy_object(acc_obj)
    acc_obj.update_state([[1], [0]], [[1], [0]])
    assert float(acc_obj.result()) == 1
    acc_obj.update_state([[1], [1]], [[[1]], [[0]]])  # y_pred squeeze
    tf_almost_equal("AccuracyTest.test_binary_accuracy (y_pred squeeze)", acc_obj.result(), 0.75, 2)
    result = acc_obj([[[1]], [[1]]], [[1], [0]])  # y_true squeeze
    tf_almost_equal("AccuracyTest.test_binary_accuracy (y_true squeeze)", result, 0.67, 2)
    result = acc_obj([[1], [1]], [[1], [0]], [[0.5], [0.2]])
    tf_almost_equal("AccuracyTest.test_binary_accuracy (sample_weight)", result, 0.67, 2)


def test_binary_accuracy_threshold():
    acc_obj = metrics.BinaryAccuracy(threshold=0.7)
    result = acc_obj([[1], [1], [0], [0]], [[0.9], [0.6], [0.4], [0.8]])
    tf_almost_equal("AccuracyTest.test_binary_accuracy_threshold", result, 0.5, 2)


def test_categorical_accuracy():
    acc_obj = metrics.CategoricalAccuracy(name="my_acc")
    _check_accuracy_object(acc_obj)
    acc_obj.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.1, 0.8], [0.05, 0.95, 0]])
    assert float(acc_obj.result()) == 1
    result = acc_obj([[0, 0, 1], [0, 1, 0]], [[0.1, 0.1, 0.8], [0.05, 0, 0.95]], [[0.5], [0.2]])
    tf_almost_equal("AccuracyTest.test_categorical_accuracy", result, 0.93, 2)  # 2.5/2.7


@pytest.mark.parametrize("y_true", [[[2], [1]], [2, 1]],
                         ids=["test_sparse_categorical_accuracy", "test_sparse_categorical_accuracy_mismatched_dims"])
def test_sparse_categorical_accuracy(y_true):
    acc_obj = metrics.SparseCategoricalAccuracy(name="my_acc")
    _check_accuracy_object(acc_obj)
    acc_obj.update_state(y_true, [[0.1, 0.1, 0.8], [0.05, 0.95, 0]])
    assert float(acc_obj.result()) == 1
    result = acc_obj(y_true, [[0.1, 0.1, 0.8], [0.05, 0, 0.95]], [[0.5], [0.2]])
    tf_almost_equal("AccuracyTest.test_sparse_categorical_accuracy", result, 0.93, 2)  # 2.5/2.7


def test_get_acc():
    # Keras 2: metrics.get("acc") is metrics.accuracy. Keras 3.15.1: ValueError("Could not interpret metric
    # identifier: acc"); "accuracy" gives an Accuracy instance. torch_impl follows Keras 3.
    with pytest.raises(ValueError, match="Could not interpret metric identifier: acc"):
        metrics.get("acc")
    assert isinstance(metrics.get("accuracy"), metrics.Accuracy)


@pytest.mark.parametrize("cls,name", [(metrics.TopKCategoricalAccuracy, "topkca"),
                                      (metrics.SparseTopKCategoricalAccuracy, "stopkca")],
                         ids=["TopKCategoricalAccuracyTest.test_config",
                              "SparseTopKCategoricalAccuracyTest.test_config"])
def test_top_k_config(cls, name):
    a_obj = cls(name=name, dtype="int32")
    assert a_obj.name == name and a_obj.dtype == torch.int32
    a_obj2 = cls.from_config(a_obj.get_config())
    print(f"{cls.__name__} config: {a_obj.get_config()}")
    assert a_obj2.name == name and a_obj2.dtype == torch.int32


def test_top_k_correctness():
    y_true = _t(np.array([[0, 0, 1], [0, 1, 0]], I32))
    y_pred = _t(np.array([[0.1, 0.9, 0.8], [0.05, 0.95, 0]], F32))
    assert float(metrics.TopKCategoricalAccuracy()(y_true, y_pred)) == 1
    assert float(metrics.TopKCategoricalAccuracy(k=1)(y_true, y_pred)) == 0.5
    y_true = _t(np.array([[0, 0, 1, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0, 0]], I32))
    y_pred = _t(np.array([[0.5, 0.9, 0.1, 0.7, 0.6, 0.5, 0.4], [0.05, 0.95, 0, 0, 0, 0, 0]], F32))
    assert float(metrics.TopKCategoricalAccuracy(k=6)(y_true, y_pred)) == 0.5


def test_top_k_weighted():
    y_true = _t(np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]], I32))
    y_pred = _t(np.array([[0, 0.9, 0.1], [0, 0.9, 0.1], [0, 0.9, 0.1]], F32))
    result = metrics.TopKCategoricalAccuracy(k=2)(y_true, y_pred, sample_weight=_t(np.array((1.0, 0.0, 1.0), F32)))
    tf_all_close("TopKCategoricalAccuracyTest.test_weighted", 1.0, result, atol=1e-5)


def test_sparse_top_k_correctness():
    y_true = _t(np.array([2, 1], I32))
    y_pred = _t(np.array([[0.1, 0.9, 0.8], [0.05, 0.95, 0]], F32))
    assert float(metrics.SparseTopKCategoricalAccuracy()(y_true, y_pred)) == 1
    assert float(metrics.SparseTopKCategoricalAccuracy(k=1)(y_true, y_pred)) == 0.5
    y_pred = _t(np.array([[0.5, 0.9, 0.1, 0.7, 0.6, 0.5, 0.4], [0.05, 0.95, 0, 0, 0, 0, 0]], F32))
    assert float(metrics.SparseTopKCategoricalAccuracy(k=6)(y_true, y_pred)) == 0.5


def test_sparse_top_k_weighted():
    y_true = _t(np.array([1, 0, 2], I32))
    y_pred = _t(np.array([[0, 0.9, 0.1], [0, 0.9, 0.1], [0, 0.9, 0.1]], F32))
    result = metrics.SparseTopKCategoricalAccuracy(k=2)(y_true, y_pred,
                                                        sample_weight=_t(np.array((1.0, 0.0, 1.0), F32)))
    tf_all_close("SparseTopKCategoricalAccuracyTest.test_weighted", 1.0, result, atol=1e-5)

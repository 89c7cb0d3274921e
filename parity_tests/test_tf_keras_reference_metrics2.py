"""torch_impl against tf-keras's (Keras 2's) F-score, IoU and confusion-matrix metric tests.

Continues ``test_tf_keras_reference.py`` and ``test_tf_keras_reference_more.py`` (their module docstrings fix the
conventions: ``tf.test.TestCase`` assertion semantics, ``tf.constant`` ints -> int64 tensors, floats -> float32, a
Keras 2 -> Keras 3 change keeps Keras 3.15.1's number measured on the same inputs and records ``keras2=``).
Reference: keras-team/tf-keras (snapshot dd0a7237), ``tf_keras/metrics/f_score_metrics_test.py``,
``iou_metrics_test.py`` and ``confusion_metrics_test.py``. No TensorFlow here;
``test_tf_keras_reference_metrics2_keras.py`` (slow) runs every case of ``CASES`` below on Keras 3.15.1 (TensorFlow
2.21, CPU) with the same inputs and asserts the same expected value, so each number kept here is Keras 3.15.1's.

Each case is one part of a test method: ``cls(**kwargs)``, then ``obj(y_true, y_pred, sample_weight)`` once per
update, then the tf-keras assertion on the result (``assertAllClose``: third positional argument is rtol; unittest's
``assertAlmostEqual``: 7 places; ``assertArrayNear``; ``assertEqual``) and on the state variables it names
(``true_positives`` ...). Unseeded random inputs (``tf.random.uniform`` / ``np.random``) are seeded draws: the
asserted relations (idempotent results, all-correct = 1, all-incorrect = 0, bucketed = thresholded counts) hold
for any draw.

``f_score_metrics_test.py`` (all 8 methods, 80 parametrized cases + 2 config/relation tests): every Keras 2 number
holds in Keras 3.15.1 and in torch_impl (1-D sample weights; torch_impl's 2-D weight fix keras-team/keras#23335 is
not exercised by these tests).

``iou_metrics_test.py`` (all 25 methods): one Keras 2 -> 3 change: the IoUs' confusion matrix is ``dtype="int"``
by default (Keras 2: ``floatx``, tf_keras/metrics/iou_metrics.py:84), so the float sample weights 0.1 .. 0.4
truncate to 0 and the 10 weighted cases give 0.0 in Keras 3.15.1 and torch_impl (kept, ``keras2=`` the tf-keras
figure; keras/src/metrics/iou_metrics.py:61 ``dtype or "int"``, the weight cast at :156). Each also runs with
``dtype="float32"`` (``[dtype=float32]``, as Keras 3's own tests do), which gives Keras 2's figure. Unweighted
cases, ``ignore_class`` (255, -1) and the empty matrix (0.0) hold unchanged.

``confusion_metrics_test.py`` (145 of 160 methods):

* ``TruePositives``/``FalsePositives``/``TrueNegatives``/``FalseNegatives`` (21), ``Precision``/``Recall`` (28:
  thresholds, ``top_k``, ``class_id`` with the ``true_positives``/``false_*`` states, several updates),
  ``SensitivityAtSpecificity``/``SpecificityAtSensitivity``/``PrecisionAtRecall``/``RecallAtPrecision`` (37,
  ``test_weighted`` over bool/int32/float32 labels; tf-keras's ``SensitivityAtSpecificityTest.test_unweighted_class_id``
  builds a ``SpecificityAtSensitivity``, kept), ``AUCTest`` (21: ROC/PR/PR-gain x interpolation/majoring/minoring,
  ``from_logits``, manual thresholds, extra dims), ``MultiAUCTest`` (16 of 17: ``multi_label``, flat, ``label_weights``,
  full ``(N, L)`` sample weights), ``ThresholdsTest`` (5 methods: evenly distributed thresholds, and the bucketed
  update against the general one on a seeded draw), ``ResetStatesTest`` (17: two ``evaluate`` passes of
  :func:`torch_impl.fit.evaluate` leave one pass's counts): every Keras 2 number holds in Keras 3.15.1 and torch_impl.
* Keras 3 changes (no number changes): ``curve="PR_GAIN"`` raises ValueError ('Invalid AUC curve value: "PR_GAIN"',
  keras/src/metrics/metrics_utils.py:50-61 takes ``"PRGAIN"``/``"prgain"``), so the 4 PR-gain methods use
  ``"PRGAIN"`` (tf-keras's numbers) and ``test_auc_pr_gain_name`` asserts the error; ``Precision``/``Recall``
  ``test_config``: Keras 3's variable names lack ``:0``; ``auc._from_logits`` is ``from_logits`` here and
  ``_thresholds_distributed_evenly`` is torch_impl's ``_evenly``; graph mode / ``self.evaluate`` are eager calls;
  ``ResetStatesTest``'s models are ``torch.nn.Sequential`` (``run_with_all_model_types`` is Keras's model kinds) and
  ``test_reset_state_recall_float64`` sets torch's default dtype (Keras's ``floatx``) to float64;
  ``test_function_wrapped_reset_state`` runs without ``tf.function``.
* not translated: ``MergeStateTest`` (14 methods: ``Metric.merge_state`` exists in neither Keras 3 nor torch_impl),
  ``MultiAUCTest.test_keras_model_compiles`` (no assertion; it only compiles a model).

Tally: 8 + 25 + 145 = 178 test methods translated (270 pytest cases), 15 not. torch_impl bugs found: none (every
Keras 3.15.1 number and error above is torch_impl's; the slow file runs the 222 ``CASES`` on Keras 3.15.1).

Run: ``.venv/bin/python -m pytest -q -s parity_tests/test_tf_keras_reference_metrics2.py -p no:cacheprovider``
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
from parity_tests.test_tf_keras_reference import tf_all_close, tf_almost_equal, tf_array_near, tf_check
from torch_impl import fit as F
from torch_impl import metrics

I32, I64, F32 = np.int32, np.int64, np.float32


def c(x, dtype=None):
    """``tf.constant(x)``: Python ints -> int32, floats -> float32 (or ``dtype``)."""
    a = np.asarray(x)
    if dtype is not None:
        return a.astype(dtype)
    return a.astype(I32) if a.dtype.kind in "iu" else a.astype(F32) if a.dtype.kind == "f" else a


@dataclasses.dataclass(frozen=True)
class Case:
    """``cls(**kwargs)``, then ``obj(*update)`` for each ``(y_true, y_pred[, sample_weight])`` in ``updates``,
    then the check of the last result: ``("allclose", rtol, atol)`` (``assertAllClose(result, expected, ...)``),
    ``("allclose_expected_first", rtol, atol)``, ``("almost", places)``, ``("near", err)``, ``("equal",)``;
    ``attrs``: ``assertAlmostEqual`` of state variables (``{"true_positives": 1}``) after the last update."""

    id: str
    cls: str
    kwargs: dict
    updates: tuple
    expected: Any
    check: tuple = ("allclose", 1e-6, 1e-6)
    attrs: dict = dataclasses.field(default_factory=dict)
    keras2: Any = None
    why: str = ""


CASES: list[Case] = []


def add(*args, **kwargs) -> None:
    CASES.append(Case(*args, **kwargs))


# --------------------------------------------------------------------------
# f_score_metrics_test.py
# --------------------------------------------------------------------------

FB_T3 = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0], [1, 0, 0], [0, 0, 1]]
FB_P3 = [[0.9, 0.1, 0], [0.2, 0.6, 0.2], [0, 0, 1], [0.4, 0.3, 0.3], [0, 0.9, 0.1], [0, 0, 1]]
FB_P = [[0.7, 0.7, 0.7], [1, 0, 0], [0.9, 0.8, 0]]


def _fb(name, y_true, y_pred, sw, average, beta, threshold, result):
    upd = (c(y_true, F32), c(y_pred, F32)) + ((sw,) if sw is not None else ())
    add(name, "FBetaScore", {"average": average, "beta": beta, "threshold": threshold}, (upd,), result,
        check=("allclose", 1e-6, 1e-6))


for _avg in ["micro", "macro", "weighted"]:
    for _beta in [0.5, 1.0, 2.0]:
        _fb(f"FBetaScoreTest.test_fbeta_perfect_score[{_avg},{_beta}]", [[1, 1, 1], [1, 0, 0], [1, 1, 0]], FB_P,
            None, _avg, _beta, 0.66, 1.0)
        _fb(f"FBetaScoreTest.test_fbeta_worst_score[{_avg},{_beta}]", [[0, 0, 0], [0, 1, 0], [0, 0, 1]], FB_P,
            None, _avg, _beta, 0.66, 0.0)
for _avg, _beta, _res in [(None, 0.5, [0.71428573, 0.5, 0.833334]), (None, 1.0, [0.8, 0.5, 0.6666667]),
                          (None, 2.0, [0.9090904, 0.5, 0.555556]), ("micro", 0.5, 0.6666667),
                          ("micro", 1.0, 0.6666667), ("micro", 2.0, 0.6666667), ("macro", 0.5, 0.6825397),
                          ("macro", 1.0, 0.6555555), ("macro", 2.0, 0.6548822), ("weighted", 0.5, 0.6825397),
                          ("weighted", 1.0, 0.6555555), ("weighted", 2.0, 0.6548822)]:
    _fb(f"FBetaScoreTest.test_fbeta_random_score[{_avg},{_beta}]", [[0, 0, 1], [1, 1, 0], [1, 1, 1]], FB_P, None,
        _avg, _beta, 0.66, _res)
for _avg, _beta, _res in [(None, 0.5, [0.9090904, 0.555556, 1.0]), (None, 1.0, [0.8, 0.6666667, 1.0]),
                          (None, 2.0, [0.71428573, 0.833334, 1.0]), ("micro", 0.5, 0.833334),
                          ("micro", 1.0, 0.833334), ("micro", 2.0, 0.833334), ("macro", 0.5, 0.821549),
                          ("macro", 1.0, 0.822222), ("macro", 2.0, 0.849206), ("weighted", 0.5, 0.880471),
                          ("weighted", 1.0, 0.844445), ("weighted", 2.0, 0.829365)]:
    _fb(f"FBetaScoreTest.test_fbeta_random_score_none[{_avg},{_beta}]", FB_T3, FB_P3, None, _avg, _beta, None,
        _res)
_W1, _W0, _WH = [1.0] * 6, [1.0, 0.0, 1.0, 1.0, 0.0, 1.0], [0.5, 1.0, 1.0, 1.0, 0.5, 1.0]
for _i, (_avg, _beta, _sw, _res) in enumerate([
        (None, 0.5, _W1, [0.909091, 0.555556, 1.0]), (None, 0.5, _W0, [1.0, 0.0, 1.0]),
        (None, 0.5, _WH, [0.9375, 0.714286, 1.0]), (None, 1.0, _W1, [0.8, 0.666667, 1.0]),
        (None, 1.0, _W0, [1.0, 0.0, 1.0]), (None, 1.0, _WH, [0.857143, 0.8, 1.0]),
        (None, 2.0, _W1, [0.714286, 0.833333, 1.0]), (None, 2.0, _W0, [1.0, 0.0, 1.0]),
        (None, 2.0, _WH, [0.789474, 0.909091, 1.0]), ("micro", 0.5, _W1, 0.833333), ("micro", 0.5, _W0, 1.0),
        ("micro", 0.5, _WH, 0.9), ("micro", 1.0, _W1, 0.833333), ("micro", 1.0, _W0, 1.0),
        ("micro", 1.0, _WH, 0.9), ("micro", 2.0, _W1, 0.833333), ("micro", 2.0, _W0, 1.0),
        ("micro", 2.0, _WH, 0.9), ("macro", 0.5, _W1, 0.821549), ("macro", 0.5, _W0, 0.666667),
        ("macro", 0.5, _WH, 0.883929), ("macro", 1.0, _W1, 0.822222), ("macro", 1.0, _W0, 0.666667),
        ("macro", 1.0, _WH, 0.885714), ("macro", 2.0, _W1, 0.849206), ("macro", 2.0, _W0, 0.666667),
        ("macro", 2.0, _WH, 0.899522), ("weighted", 0.5, _W1, 0.880471), ("weighted", 0.5, _W0, 1.0),
        ("weighted", 0.5, _WH, 0.917857), ("weighted", 1.0, _W1, 0.844444), ("weighted", 1.0, _W0, 1.0),
        ("weighted", 1.0, _WH, 0.902857), ("weighted", 2.0, _W1, 0.829365), ("weighted", 2.0, _W0, 1.0),
        ("weighted", 2.0, _WH, 0.897608)]):
    _fb(f"FBetaScoreTest.test_fbeta_weighted_random_score_none[{_i}:{_avg},{_beta}]", FB_T3, FB_P3,
        np.asarray(_sw, F32), _avg, _beta, None, _res)

# --------------------------------------------------------------------------
# iou_metrics_test.py
# --------------------------------------------------------------------------

IOU_INT = ("Keras 3: the confusion matrix is dtype='int' by default (Keras 2: floatx); the float weights "
           "0.1 .. 0.4 truncate to 0")
_IOU = ("allclose", 1e-6, 1e-3)


def _iou(name, cls, kwargs, updates, expected, int_result=None):
    """A tf-keras IoU case; with ``int_result`` (a weighted case) the default-dtype case keeps Keras 3's number
    and a ``dtype="float32"`` twin asserts Keras 2's."""
    if int_result is None:
        add(name, cls, kwargs, updates, expected, check=_IOU)
    else:
        add(name, cls, kwargs, updates, int_result, check=_IOU, keras2=expected, why=IOU_INT)
        add(name + "[dtype=float32]", cls, {**kwargs, "dtype": "float32"}, updates, expected, check=_IOU)


_iou("IoUTest.test_unweighted", "IoU", {"num_classes": 2, "target_class_ids": [0, 1]},
     ((c([0, 0, 1, 1]), c([0, 1, 0, 1])),), (1 / (2 + 2 - 1) + 1 / (2 + 2 - 1)) / 2)
_iou("IoUTest.test_weighted", "IoU", {"num_classes": 2, "target_class_ids": [1, 0]},
     ((c([0, 0, 1, 1]), c([0, 1, 0, 1], F32), c([0.2, 0.3, 0.4, 0.1])),),
     (0.1 / (0.4 + 0.5 - 0.1) + 0.2 / (0.6 + 0.5 - 0.2)) / 2, int_result=0.0)
_iou("IoUTest.test_multi_dim_input", "IoU", {"num_classes": 2, "target_class_ids": [0, 1]},
     ((c([[0, 0], [1, 1]]), c([[0, 1], [0, 1]], F32), c([[0.2, 0.3], [0.4, 0.1]])),),
     (0.2 / (0.6 + 0.5 - 0.2) + 0.1 / (0.4 + 0.5 - 0.1)) / 2, int_result=0.0)
_iou("IoUTest.test_zero_valid_entries", "IoU", {"num_classes": 2, "target_class_ids": [0, 1]}, (), 0.0)
_iou("IoUTest.test_zero_and_non_zero_entries", "IoU", {"num_classes": 2, "target_class_ids": [0, 1]},
     ((c([1]), c([1], F32)),), 1.0)
_BT, _BP = c([0, 1, 0, 1]), c([0.1, 0.2, 0.4, 0.7])
_iou("BinaryIoUTest.test_different_thresholds_weighted[0.3]", "BinaryIoU",
     {"target_class_ids": [0, 1], "threshold": 0.3}, ((_BT, _BP, c([0.2, 0.3, 0.4, 0.1])),),
     (0.2 / (0.6 + 0.5 - 0.2) + 0.1 / (0.4 + 0.5 - 0.1)) / 2, int_result=0.0)
_iou("BinaryIoUTest.test_different_thresholds_weighted[0.5]", "BinaryIoU",
     {"target_class_ids": [0, 1], "threshold": 0.5}, ((_BT, _BP, c([0.1, 0.2, 0.4, 0.3])),),
     (0.5 / (0.5 + 0.7 - 0.5) + 0.3 / (0.5 + 0.3 - 0.3)) / 2, int_result=0.0)
_iou("BinaryIoUTest.test_different_thresholds_unweighted[0.3]", "BinaryIoU",
     {"target_class_ids": [0, 1], "threshold": 0.3}, ((_BT, _BP),), (1 / (2 + 2 - 1) + 1 / (2 + 2 - 1)) / 2)
_iou("BinaryIoUTest.test_different_thresholds_unweighted[0.5]", "BinaryIoU",
     {"target_class_ids": [0, 1], "threshold": 0.5}, ((_BT, _BP),), (2 / (2 + 3 - 2) + 1 / (2 + 1 - 1)) / 2)
_iou("BinaryIoUTest.test_multi_dim_input", "BinaryIoU", {"target_class_ids": [0, 1], "threshold": 0.4},
     ((c([[0, 1], [0, 1]], F32), c([[0.1, 0.7], [0.9, 0.3]]), c([[0.2, 0.3], [0.4, 0.1]])),),
     (0.2 / (0.6 + 0.3 - 0.2) + 0.3 / (0.4 + 0.7 - 0.3)) / 2, int_result=0.0)
_iou("BinaryIoUTest.test_zero_valid_entries", "BinaryIoU", {"target_class_ids": [0, 1]}, (), 0.0)
_iou("BinaryIoUTest.test_zero_and_non_zero_entries", "BinaryIoU", {"target_class_ids": [0, 1], "threshold": 0.5},
     ((c([1]), c([0.6], F32)),), 1.0)
_iou("MeanIoUTest.test_unweighted", "MeanIoU", {"num_classes": 2}, ((c([0, 0, 1, 1]), c([0, 1, 0, 1])),),
     (1 / (2 + 2 - 1) + 1 / (2 + 2 - 1)) / 2)
_iou("MeanIoUTest.test_unweighted_ignore_class_255", "MeanIoU", {"num_classes": 3, "ignore_class": 255},
     ((c([0, 1, 2, 255]), c([0, 1, 1, 1])),), (1 / (1 + 1 - 1) + 1 / (2 + 1 - 1) + 0 / (0 + 1 - 0)) / 3)
_iou("MeanIoUTest.test_unweighted_ignore_class_1", "MeanIoU", {"num_classes": 3, "ignore_class": -1},
     ((c([0, 1, 2, -1]), c([0, 1, 1, 1])),), (1 / (1 + 1 - 1) + 1 / (2 + 1 - 1) + 0 / (0 + 1 - 0)) / 3)
_iou("MeanIoUTest.test_weighted", "MeanIoU", {"num_classes": 2},
     ((c([0, 0, 1, 1]), c([0, 1, 0, 1], F32), c([0.2, 0.3, 0.4, 0.1])),),
     (0.2 / (0.6 + 0.5 - 0.2) + 0.1 / (0.4 + 0.5 - 0.1)) / 2, int_result=0.0)
_iou("MeanIoUTest.test_weighted_ignore_class_1", "MeanIoU", {"num_classes": 2, "ignore_class": -1},
     ((c([0, 0, 1, -1]), c([0, 1, 0, 1], F32), c([0.2, 0.3, 0.4, 0.1])),),
     (0.2 / (0.6 + 0.5 - 0.2) + 0.0 / (0.3 + 0.4 - 0.0)) / 2, int_result=0.0)
_iou("MeanIoUTest.test_multi_dim_input", "MeanIoU", {"num_classes": 2},
     ((c([[0, 0], [1, 1]]), c([[0, 1], [0, 1]], F32), c([[0.2, 0.3], [0.4, 0.1]])),),
     (0.2 / (0.6 + 0.5 - 0.2) + 0.1 / (0.4 + 0.5 - 0.1)) / 2, int_result=0.0)
_iou("MeanIoUTest.test_zero_valid_entries", "MeanIoU", {"num_classes": 2}, (), 0.0)
_iou("MeanIoUTest.test_zero_and_non_zero_entries", "MeanIoU", {"num_classes": 2}, ((c([1]), c([1], F32)),),
     (0 + 1 / (1 + 1 - 1)) / 1)
_OH_T = c([[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]])
_OH_P = c([[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]])
_iou("OneHotIoUTest.test_unweighted", "OneHotIoU", {"num_classes": 3, "target_class_ids": [0, 2]},
     ((_OH_T, _OH_P),), (0 / (1 + 2 - 0) + 1 / (3 + 1 - 1)) / 2)
_iou("OneHotIoUTest.test_weighted", "OneHotIoU", {"num_classes": 3, "target_class_ids": [0, 2]},
     ((_OH_T, _OH_P, c([0.1, 0.2, 0.3, 0.4])),), (0 / (0.3 + 0.6 - 0) + 0.1 / (0.7 + 0.1 - 0.1)) / 2,
     int_result=0.0)
_iou("OneHotMeanIoUTest.test_unweighted", "OneHotMeanIoU", {"num_classes": 3}, ((_OH_T, _OH_P),),
     (0 + 0 + 1 / (3 + 1 - 1)) / 3)
_iou("OneHotMeanIoUTest.test_weighted", "OneHotMeanIoU", {"num_classes": 3},
     ((c([[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0], [1, 0, 0]]),
       c([[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5], [0.6, 0.2, 0.2]]),
       c([0.1, 0.2, 0.3, 0.3, 0.1])),),
     (0.1 / (0.4 + 0.6 - 0.1) + 0 + 0.1 / (0.6 + 0.1 - 0.1)) / 3, int_result=0.0)

# --------------------------------------------------------------------------
# confusion_metrics_test.py: TP / FP / TN / FN
# --------------------------------------------------------------------------

CM_T = c(((0, 1, 0, 1, 0), (0, 0, 1, 1, 1), (1, 1, 1, 1, 0), (0, 0, 0, 0, 1)))
CM_P = c(((0, 0, 1, 1, 0), (1, 1, 1, 1, 1), (0, 1, 0, 1, 0), (1, 1, 1, 1, 1)))
CM_W = c((1.0, 1.5, 2.0, 2.5))
TH_P = c(((0.9, 0.2, 0.8, 0.1), (0.2, 0.9, 0.7, 0.6), (0.1, 0.2, 0.4, 0.3), (0, 1, 0.7, 0.3)))
TH_T = c(((0, 1, 1, 0), (1, 0, 0, 0), (0, 0, 0, 0), (1, 1, 1, 1)))
TH = [0.15, 0.5, 0.85]
_EF = ("allclose_expected_first", 1e-6, 1e-6)
for _cls, _u, _w, _ut, _wt, _sw in [
        ("FalsePositives", 7.0, 14.0, [7.0, 4.0, 2.0], [125.0, 42.0, 12.0],
         c(((1.0, 2.0, 3.0, 5.0), (7.0, 11.0, 13.0, 17.0), (19.0, 23.0, 29.0, 31.0), (5.0, 15.0, 10.0, 0)))),
        ("FalseNegatives", 3.0, 5.0, [1.0, 4.0, 6.0], [4.0, 16.0, 23.0], c(((3.0,), (5.0,), (7.0,), (4.0,)))),
        ("TrueNegatives", 3.0, 4.0, [2.0, 5.0, 7.0], [5.0, 15.0, 23.0], c(((0.0, 2.0, 3.0, 5.0),))),
        ("TruePositives", 7.0, 12.0, [6.0, 3.0, 1.0], [222.0, 111.0, 37.0], 37.0)]:
    add(f"{_cls}Test.test_unweighted", _cls, {}, ((CM_T, CM_P),), _u, check=_EF)
    add(f"{_cls}Test.test_weighted", _cls, {}, ((CM_T, CM_P, CM_W),), _w, check=_EF)
    add(f"{_cls}Test.test_unweighted_with_thresholds", _cls, {"thresholds": TH}, ((TH_T, TH_P),), _ut, check=_EF)
    add(f"{_cls}Test.test_weighted_with_thresholds", _cls, {"thresholds": TH}, ((TH_T, TH_P, _sw),), _wt,
        check=_EF)

# --------------------------------------------------------------------------
# Precision / Recall
# --------------------------------------------------------------------------

_A7 = ("almost", 7)
_P14 = c([[1, 0], [0.6, 0]])
_T22 = c([[0, 1], [1, 0]])
for _cls in ["Precision", "Recall"]:
    _other = "false_positives" if _cls == "Precision" else "false_negatives"
    add(f"{_cls}Test.test_unweighted", _cls, {}, ((c([[0, 1, 1, 0]]), c([[1, 0, 1, 0]])),), 0.5, check=_A7)
    add(f"{_cls}Test.test_div_by_zero", _cls, {}, ((c([0, 0, 0, 0]), c([0, 0, 0, 0])),), 0, check=("equal",))
    add(f"{_cls}Test.test_unweighted_with_threshold", _cls, {"thresholds": [0.5, 0.7]},
        ((c([[0, 1, 1, 0]]), c([[1, 0, 0.6, 0]])),), [0.5, 0.0], check=("near", 0))
    add(f"{_cls}Test.test_unweighted_top_k", _cls, {"top_k": 3},
        ((c([[0, 1, 1, 0, 0]]), c([[0.2, 0.1, 0.5, 0, 0.2]])),),
        1.0 / 3 if _cls == "Precision" else 0.5, check=_A7)
    _tk1 = (c([[0, 1, 1, 0, 1]]), c([[0.2, 0.1, 0.4, 0, 0.2]]), c([[1, 4, 2, 3, 5]]))
    _tk2 = (c([[1, 0, 1, 1, 1]]), c([[0.2, 0.6, 0.4, 0.2, 0.2]]), c(3))
    add(f"{_cls}Test.test_weighted_top_k", _cls, {"top_k": 3}, (_tk1, _tk2),
        ((2 + 5) + (3 + 3)) / ((1 + 2 + 5) + (3 + 3 + 3)) if _cls == "Precision"
        else ((2 + 5) + (3 + 3)) / ((4 + 2 + 5) + (3 + 3 + 3 + 3)), check=_A7)
    _ci = [(c([[0, 1, 1, 0, 0]]), c([[0.2, 0.1, 0.6, 0, 0.2]])), (c([[0, 1, 1, 0, 0]]), c([[0.2, 0.1, 0, 0, 0.2]])),
           (c([[0, 1, 0, 0, 0]]), c([[0.2, 0.1, 0.6, 0, 0.2]]))]
    _cie = [(1, 1, 0), (1, 1, 0), (0.5, 1, 1)] if _cls == "Precision" else [(1, 1, 0), (0.5, 1, 1), (0.5, 1, 1)]
    for _k, (_r, _tp, _o) in enumerate(_cie):
        add(f"{_cls}Test.test_unweighted_class_id[{_k + 1}]", _cls, {"class_id": 2}, tuple(_ci[:_k + 1]), _r,
            check=_A7, attrs={"true_positives": _tp, _other: _o})
    _tkc = [(c([[0, 1, 1, 0, 0]]), c([[0.2, 0.6, 0.3, 0, 0.2]])), (c([[0, 1, 1, 0, 0]]), c([[1, 1, 0.9, 1, 1]]))]
    _tkce = [(1, 1, 0), (1, 1, 0)] if _cls == "Precision" else [(1, 1, 0), (0.5, 1, 1)]
    for _k, (_r, _tp, _o) in enumerate(_tkce):
        add(f"{_cls}Test.test_unweighted_top_k_and_class_id[{_k + 1}]", _cls, {"class_id": 2, "top_k": 2},
            tuple(_tkc[:_k + 1]), _r, check=_A7, attrs={"true_positives": _tp, _other: _o})
add("PrecisionTest.test_weighted", "Precision", {},
    ((c([[0, 1, 1, 0], [1, 0, 0, 1]]), c([[1, 0, 1, 0], [1, 0, 1, 0]]), c([[1, 2, 3, 4], [4, 3, 2, 1]])),),
    (3.0 + 4.0) / ((1.0 + 3.0) + (4.0 + 2.0)), check=_A7)
add("RecallTest.test_weighted", "Recall", {},
    ((c([[0, 1, 1, 0], [1, 0, 0, 1]]), c([[1, 0, 1, 0], [0, 1, 0, 1]]), c([[1, 2, 3, 4], [4, 3, 2, 1]])),),
    (3.0 + 1.0) / ((2.0 + 3.0) + (4.0 + 1.0)), check=_A7)
add("PrecisionTest.test_weighted_with_threshold", "Precision", {"thresholds": [0.5, 1.0]},
    ((_T22, _P14, c([[4, 0], [3, 1]], F32)),), [3.0 / 7.0, 0], check=("near", 1e-3))
add("PrecisionTest.test_multiple_updates", "Precision", {"thresholds": [0.5, 1.0]},
    ((_T22, _P14, c([[4, 0], [3, 1]], F32)),) * 2, [6.0 / 14.0, 0], check=("near", 1e-3))
add("RecallTest.test_weighted_with_threshold", "Recall", {"thresholds": [0.5, 1.0]},
    ((_T22, _P14, c([[1, 4], [3, 2]], F32)),), [3.0 / 7.0, 0], check=("near", 1e-3))
add("RecallTest.test_multiple_updates", "Recall", {"thresholds": [0.5, 1.0]},
    ((_T22, _P14, c([[1, 4], [3, 2]], F32)),) * 2, [6.0 / 14.0, 0], check=("near", 1e-3))
add("PrecisionTest.test_unweighted_top_k_and_threshold", "Precision", {"thresholds": 0.7, "top_k": 2},
    ((c([[0, 1, 1, 0, 1]]), c([[0.2, 0.8, 0.6, 0, 0.2]])),), 1, check=_A7,
    attrs={"true_positives": 1, "false_positives": 0})
add("RecallTest.test_unweighted_top_k_and_threshold", "Recall", {"thresholds": 0.7, "top_k": 2},
    ((c([[1, 1, 1, 0, 1]]), c([[0.2, 0.8, 0.6, 0, 0.2]])),), 0.25, check=_A7,
    attrs={"true_positives": 1, "false_negatives": 3})
_RNG = np.random.default_rng(0)
_INP = _RNG.integers(0, 2, size=(100, 1)).astype(I64)  # np.random.randint: int64
for _cls in ["Precision", "Recall"]:
    add(f"{_cls}Test.test_unweighted_all_incorrect", _cls, {"thresholds": [0.5]}, ((1 - _INP, _INP),), 0,
        check=_A7)

# --------------------------------------------------------------------------
# SensitivityAtSpecificity / SpecificityAtSensitivity / PrecisionAtRecall / RecallAtPrecision
# --------------------------------------------------------------------------

_SP = [0.0, 0.1, 0.2, 0.3, 0.4, 0.01, 0.02, 0.25, 0.26, 0.26]
_PR = [0.0, 0.1, 0.2, 0.5, 0.6, 0.2, 0.5, 0.6, 0.8, 0.9]
_RP = [0.05, 0.1, 0.2, 0.3, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.9, 0.95]
_RPL = [0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 0, 1]
_L5 = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
_INPF = _INP.astype(F32)


def _col3(pred):
    return c(np.asarray([pred] * 3, F32).T)  # tf.transpose([pred] * 3)


def _onehot(labels):
    return np.eye(3, dtype=F32)[labels]  # tf.one_hot(labels, depth=3)


for _cls, _arg in [("SensitivityAtSpecificity", 0.7), ("SpecificityAtSensitivity", 0.7),
                   ("PrecisionAtRecall", 0.7), ("RecallAtPrecision", 0.7)]:
    add(f"{_cls}Test.test_unweighted_all_correct", _cls, {"_": _arg}, ((_INP.astype(I32), _INPF),), 1, check=_A7)
add("SensitivityAtSpecificityTest.test_unweighted_high_specificity", "SensitivityAtSpecificity", {"_": 0.8},
    ((c(_L5), c([0.0, 0.1, 0.2, 0.3, 0.4, 0.1, 0.45, 0.5, 0.8, 0.9], F32)),), 0.8, check=_A7)
add("SensitivityAtSpecificityTest.test_unweighted_low_specificity", "SensitivityAtSpecificity", {"_": 0.4},
    ((c(_L5), c(_SP, F32)),), 0.6, check=_A7)
add("SensitivityAtSpecificityTest.test_unweighted_class_id", "SpecificityAtSensitivity",  # sic, tf-keras's class
    {"_": 0.4, "class_id": 2}, ((_onehot([0] * 5 + [2] * 5), _col3(_SP)),), 0.6, check=_A7)
add("SpecificityAtSensitivityTest.test_unweighted_high_sensitivity", "SpecificityAtSensitivity", {"_": 1.0},
    ((c(_L5), c(_SP, F32)),), 0.2, check=_A7)
add("SpecificityAtSensitivityTest.test_unweighted_low_sensitivity", "SpecificityAtSensitivity", {"_": 0.4},
    ((c(_L5), c(_SP, F32)),), 0.6, check=_A7)
add("SpecificityAtSensitivityTest.test_unweighted_class_id", "SpecificityAtSensitivity",
    {"_": 0.4, "class_id": 2}, ((_onehot([0] * 5 + [2] * 5), _col3(_SP)),), 0.6, check=_A7)
add("PrecisionAtRecallTest.test_unweighted_high_recall", "PrecisionAtRecall", {"_": 0.8},
    ((c(_L5), c(_PR, F32)),), 2.0 / 3, check=_A7)
add("PrecisionAtRecallTest.test_unweighted_low_recall", "PrecisionAtRecall", {"_": 0.6},
    ((c(_L5), c(_PR, F32)),), 0.75, check=_A7)
add("PrecisionAtRecallTest.test_unweighted_class_id", "PrecisionAtRecall", {"_": 0.6, "class_id": 2},
    ((_onehot([0] * 5 + [2] * 5), _col3(_PR)),), 0.75, check=_A7)
add("RecallAtPrecisionTest.test_unweighted_high_precision", "RecallAtPrecision", {"_": 0.75},
    ((c(_RPL), c(_RP, F32)),), 0.5, check=_A7)
add("RecallAtPrecisionTest.test_unweighted_low_precision", "RecallAtPrecision", {"_": 2.0 / 3},
    ((c(_RPL), c(_RP, F32)),), 5.0 / 6, check=_A7)
add("RecallAtPrecisionTest.test_unweighted_class_id", "RecallAtPrecision", {"_": 2.0 / 3, "class_id": 2},
    ((_onehot([2 * v for v in _RPL]), _col3(_RP)),), 5.0 / 6, check=_A7)
add("RecallAtPrecisionTest.test_unachievable_precision", "RecallAtPrecision", {"_": 2.0 / 3},
    ((c([1, 1, 0, 0]), c([0.1, 0.2, 0.3, 0.9], F32)),), 0, check=_A7)
for _ldt in [bool, I32, F32]:
    _n = np.dtype(_ldt).name
    add(f"SensitivityAtSpecificityTest.test_weighted[{_n}]", "SensitivityAtSpecificity", {"_": 0.4},
        ((np.asarray(_L5).astype(_ldt), c(_SP, F32), c([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])),), 0.675, check=_A7)
    add(f"SpecificityAtSensitivityTest.test_weighted[{_n}]", "SpecificityAtSensitivity", {"_": 0.4},
        ((np.asarray(_L5).astype(_ldt), c(_SP, F32), c([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])),), 0.4, check=_A7)
    add(f"PrecisionAtRecallTest.test_weighted[{_n}]", "PrecisionAtRecall", {"_": 7.0 / 8},
        ((np.asarray(_L5).astype(_ldt), c(_PR, F32), c([2, 1, 2, 1, 2, 1, 2, 2, 1, 2])),), 0.7, check=_A7)
    add(f"RecallAtPrecisionTest.test_weighted[{_n}]", "RecallAtPrecision", {"_": 0.75},
        ((np.asarray([0, 1, 0, 0, 0, 1, 1]).astype(_ldt), c([0.1, 0.2, 0.3, 0.5, 0.6, 0.9, 0.9], F32),
          c([1, 2, 1, 2, 1, 2, 1])),), 0.6, check=_A7)

# --------------------------------------------------------------------------
# AUC (AUCTest, MultiAUCTest)
# --------------------------------------------------------------------------


def _logits(p):
    """``-tf.math.log(1.0 / (y_pred + 1e-12) - 1.0)`` in float32."""
    p = np.asarray(p, F32)
    with np.errstate(divide="ignore"):
        return (-np.log(F32(1.0) / (p + F32(1e-12)) - F32(1.0))).astype(F32)


AUC_P = c([0, 0.5, 0.3, 0.9], F32)
AUC_T = c([0, 0, 1, 1])
AUC_W = np.asarray([1, 2, 3, 4], I32)
_R3 = ("allclose", 1e-3, 1e-6)
add("AUCTest.test_unweighted_all_correct", "AUC", {}, ((AUC_T, AUC_T),), 1, check=("equal",))
add("AUCTest.test_unweighted", "AUC", {"num_thresholds": 3}, ((AUC_T, AUC_P),), 0.75, check=_R3)
add("AUCTest.test_unweighted_from_logits", "AUC", {"num_thresholds": 3, "from_logits": True},
    ((AUC_T, _logits(AUC_P)),), 0.75, check=_R3)
add("AUCTest.test_manual_thresholds", "AUC", {"num_thresholds": 2, "thresholds": [0.5]}, ((AUC_T, AUC_P),), 0.75,
    check=_R3)
for _name, _kw, _exp in [("roc_interpolation", {}, 0.7855), ("roc_majoring", {"summation_method": "majoring"}, 1.0),
                         ("roc_minoring", {"summation_method": "minoring"}, 0.571),
                         ("pr_majoring", {"curve": "PR", "summation_method": "majoring"}, 1 * 0.429 + 1 * 0.571),
                         ("pr_minoring", {"curve": "PR", "summation_method": "minoring"}, 0.7 * 0.429),
                         ("pr_interpolation", {"curve": "PR"}, 2.416 / 7 + 4 / 7),
                         ("pr_gain_majoring", {"curve": "PRGAIN", "summation_method": "majoring"}, 1.0),
                         ("pr_gain_minoring", {"curve": "PRGAIN", "summation_method": "minoring"}, 0.0),
                         ("pr_gain_interpolation", {"curve": "PRGAIN"}, 0.5)]:
    add(f"AUCTest.test_weighted_{_name}", "AUC", {"num_thresholds": 3, **_kw}, ((AUC_T, AUC_P, AUC_W),), _exp,
        check=_R3)
add("AUCTest.test_pr_gain_interpolation", "AUC", {"num_thresholds": 3, "curve": "PRGAIN"},
    ((c([0, 0, 0, 1, 0, 1, 0, 1, 1, 1]), c([0.1, 0.2, 0.3, 0.3, 0.4, 0.4, 0.6, 0.6, 0.8, 0.9])),),
    0.666666 * 0.3333333 + 0.3333333 * 0.8333333, check=_R3)
_ED_P = (1 / (1 + np.exp(np.array([[[-10.0, 10.0, -10.0], [10.0, -10.0, 10.0]],
                                    [[-12.0, 12.0, -12.0], [12.0, -12.0, 12.0]]], F32)))).astype(F32)  # expit(-x)
_ED_T = np.array([[[1, 0, 0], [1, 0, 0]], [[0, 1, 1], [0, 1, 1]]], I64)
add("AUCTest.test_extra_dims", "AUC", {}, ((_ED_T, _ED_P),), 0.5, check=("equal",))

M_P = c(np.array([[0, 0.5, 0.3, 0.9], [0.1, 0.2, 0.3, 0.4]]).T, F32)
M_GOOD = np.array([[0, 0, 1, 1], [0, 0, 1, 1]], I64).T.copy()
M_BAD = np.array([[0, 0, 1, 1], [1, 1, 0, 0]], I64).T.copy()
_R1 = ("allclose", 1e-1, 1e-6)
add("MultiAUCTest.test_unweighted_all_correct", "AUC", {"multi_label": True}, ((M_GOOD, M_GOOD),), 1,
    check=("equal",))
add("MultiAUCTest.test_unweighted_all_correct_flat", "AUC", {"multi_label": False}, ((M_GOOD, M_GOOD),), 1,
    check=("equal",))
add("MultiAUCTest.test_unweighted", "AUC", {"num_thresholds": 5, "multi_label": True}, ((M_GOOD, M_P),),
    (0.875 + 1.0) / 2.0, check=_R3)
add("MultiAUCTest.test_unweighted_from_logits", "AUC", {"num_thresholds": 5, "multi_label": True,
                                                         "from_logits": True}, ((M_GOOD, _logits(M_P)),),
    (0.875 + 1.0) / 2.0, check=_R3)
add("MultiAUCTest.test_sample_weight_flat", "AUC", {"num_thresholds": 5, "multi_label": False},
    ((M_GOOD, M_P, AUC_W),), 1.0 - (0.3333 * (1.0 - 0.2857) / 2.0), check=_R3)
add("MultiAUCTest.test_full_sample_weight_flat", "AUC", {"num_thresholds": 5, "multi_label": False},
    ((M_GOOD, M_P, np.arange(4 * 2).reshape(4, 2)),), 1.0 - (0.3333 * (1.0 - 0.2727) / 2.0), check=_R3)
add("MultiAUCTest.test_label_weights", "AUC", {"num_thresholds": 5, "multi_label": True,
                                                "label_weights": [0.75, 0.25]}, ((M_GOOD, M_P),),
    (0.875 * 0.75 + 1.0 * 0.25) / (0.75 + 0.25), check=_R3)
add("MultiAUCTest.test_label_weights_flat", "AUC", {"num_thresholds": 5, "multi_label": False,
                                                     "label_weights": [0.75, 0.25]}, ((M_GOOD, M_P),),
    1.0 - ((1.0 - 0.375) * 0.375 / 2.0), check=("allclose", 1e-2, 1e-6))
add("MultiAUCTest.test_unweighted_flat", "AUC", {"num_thresholds": 5, "multi_label": False}, ((M_GOOD, M_P),),
    1.0 - (3.0 / 32.0), check=_R3)
add("MultiAUCTest.test_unweighted_flat_from_logits", "AUC", {"num_thresholds": 5, "multi_label": False,
                                                              "from_logits": True}, ((M_GOOD, _logits(M_P)),),
    1.0 - (3.0 / 32.0), check=_R3)
add("MultiAUCTest.test_manual_thresholds", "AUC", {"num_thresholds": 2, "thresholds": [0.5], "multi_label": True},
    ((M_GOOD, M_P),), (0.75 + 0.5) / 2.0, check=_R3)
add("MultiAUCTest.test_weighted_roc_interpolation", "AUC", {"num_thresholds": 5, "multi_label": True},
    ((M_GOOD, M_P, AUC_W),), 1.0 - 0.5 * 0.43 * 0.67, check=_R1)
add("MultiAUCTest.test_pr_interpolation_unweighted[good]", "AUC", {"num_thresholds": 5, "curve": "PR",
                                                                    "multi_label": True}, ((M_GOOD, M_P),),
    (0.91667 + 1.0) / 2.0, check=_R1)
add("MultiAUCTest.test_pr_interpolation_unweighted[bad]", "AUC", {"num_thresholds": 5, "curve": "PR",
                                                                   "multi_label": True},
    ((M_GOOD, M_P), (M_BAD, M_P)), (0.91667 + 0.5) / 2.0, check=_R1)
add("MultiAUCTest.test_pr_interpolation", "AUC", {"num_thresholds": 5, "curve": "PR", "multi_label": True},
    ((M_GOOD, M_P, AUC_W),), (0.939 + 1.0) / 2.0, check=_R1)

# --------------------------------------------------------------------------
# running a case
# --------------------------------------------------------------------------

_POSITIONAL = {"SensitivityAtSpecificity", "SpecificityAtSensitivity", "PrecisionAtRecall", "RecallAtPrecision"}


def make(module, case: Case):
    """``cls(**kwargs)``; ``"_"`` is the first positional argument (the ``...At...`` metrics' value)."""
    kw = dict(case.kwargs)
    args = (kw.pop("_"),) if "_" in kw else ()
    return getattr(module, case.cls)(*args, **kw)


def _torch_in(x):
    if isinstance(x, (int, float)):
        return x
    a = np.asarray(x)
    if a.dtype == bool:
        return torch.as_tensor(a)
    return _t(a)


def run_torch(case: Case):
    obj = make(metrics, case)
    result = None if case.updates else obj.result()  # a Keras metric built on its first update
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the IoUs' "You are passing weight as `float`"
        for upd in case.updates:
            result = obj(*[_torch_in(u) for u in upd])
    return obj, result


def check(case: Case, obj, got, who: str = "torch_impl") -> None:
    name = f"{who} {case.id}"
    tf_check(name, _np(got), case)
    for attr, value in case.attrs.items():
        tf_almost_equal(f"{name} .{attr}", getattr(obj, attr), value)


@pytest.mark.parametrize("case", [pytest.param(k, id=k.id) for k in CASES])
def test_case(case: Case):
    obj, got = run_torch(case)
    check(case, obj, got)


# --------------------------------------------------------------------------
# errors, PR_GAIN, configs
# --------------------------------------------------------------------------


def test_auc_pr_gain_name():
    """``AUCTest.test_*pr_gain*``: Keras 3.15.1 (and torch_impl) refuse ``curve="PR_GAIN"``; the cases above use
    ``"PRGAIN"`` and give tf-keras's numbers."""
    with pytest.raises(ValueError, match='Invalid AUC curve value: "PR_GAIN"'):
        metrics.AUC(num_thresholds=3, curve="PR_GAIN")
    print('AUC(curve="PR_GAIN"): ValueError, as Keras 3.15.1 (Keras 2 took it)')


def test_errors():
    """``test_threshold_limit``, ``test_invalid_*`` of FalsePositives, the ``...At...`` metrics and AUC."""
    with pytest.raises(ValueError, match=r"Threshold values must be in \[0, 1\]. Received: \[-1, 2\]"):
        metrics.FalsePositives(thresholds=[-1, 0.5, 2])
    with pytest.raises(ValueError, match=r"Threshold values must be in \[0, 1\]. Received: \[None\]"):
        metrics.FalsePositives(thresholds=[None])
    for cls, arg in [(metrics.SensitivityAtSpecificity, "specificity"), (metrics.SpecificityAtSensitivity,
                     "sensitivity"), (metrics.PrecisionAtRecall, "recall"), (metrics.RecallAtPrecision, "precision")]:
        with pytest.raises(ValueError, match=rf"`{arg}` must be in the range \[0, 1\]."):
            cls(-1)
        with pytest.raises(ValueError, match="Argument `num_thresholds` must be an integer > 0"):
            cls(0.4, num_thresholds=-1)
    with pytest.raises(ValueError, match="Argument `num_thresholds` must be an integer > 1"):
        metrics.AUC(num_thresholds=-1)
    with pytest.raises(ValueError, match="Argument `num_thresholds` must be an integer > 1."):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match='Invalid AUC curve value: "Invalid".'):
        metrics.AUC(curve="Invalid")
    with pytest.raises(ValueError, match='Invalid AUC summation method value: "Invalid".'):
        metrics.AUC(summation_method="Invalid")
    print("threshold / value / num_thresholds / curve / summation errors: ValueError with tf-keras's messages")


def test_configs():
    """The ``test_config`` methods (F-scores, IoUs, counts, Precision/Recall, the ``...At...`` metrics)."""
    fb = metrics.FBetaScore(beta=0.5, threshold=0.3, average=None)
    for o in (fb, metrics.FBetaScore.from_config(fb.get_config())):
        assert (o.beta, o.average, o.threshold, o.dtype) == (0.5, None, 0.3, torch.float32)
    f1_config = metrics.F1Score().get_config()
    assert "beta" not in f1_config
    f1 = metrics.F1Score.from_config(f1_config)
    assert (f1.average, f1.dtype) == (None, torch.float32)
    iou = metrics.IoU(num_classes=2, target_class_ids=[1, 0], name="iou_class_1_0")
    for o in (iou, metrics.IoU.from_config(iou.get_config())):
        assert (o.name, o.num_classes, o.target_class_ids) == ("iou_class_1_0", 2, [1, 0])
    biou = metrics.BinaryIoU(target_class_ids=[1, 0], threshold=0.1, name="iou_class_1_0")
    for o in (biou, metrics.BinaryIoU.from_config(biou.get_config())):
        assert o.name == "iou_class_1_0" and round(abs(o.threshold - 0.1), 7) == 0 and o.target_class_ids == [1, 0]
    miou = metrics.MeanIoU(num_classes=2, name="mean_iou")
    for o in (miou, metrics.MeanIoU.from_config(miou.get_config())):
        assert (o.name, o.num_classes) == ("mean_iou", 2)
    for cls in (metrics.FalsePositives, metrics.FalseNegatives, metrics.TrueNegatives, metrics.TruePositives):
        o = cls(name="my_x", thresholds=[0.4, 0.9])
        for p in (o, cls.from_config(o.get_config())):
            assert (p.name, len(p.variables), p.thresholds) == ("my_x", 1, [0.4, 0.9])
    for cls, names in [(metrics.Precision, ["true_positives", "false_positives"]),
                       (metrics.Recall, ["true_positives", "false_negatives"])]:
        o = cls(name="my_p", thresholds=[0.4, 0.9], top_k=15, class_id=12)
        assert o._variables == names  # Keras 3's variable names (tf-keras's end in ":0")
        for p in (o, cls.from_config(o.get_config())):
            assert (p.name, len(p.variables), p.thresholds, p.top_k, p.class_id) == ("my_p", 2, [0.4, 0.9], 15, 12)
    for cls, arg in [(metrics.SensitivityAtSpecificity, "specificity"), (metrics.SpecificityAtSensitivity,
                     "sensitivity"), (metrics.PrecisionAtRecall, "recall"), (metrics.RecallAtPrecision, "precision")]:
        o = cls(0.4, num_thresholds=100, class_id=12, name="s_1")
        for p in (o, cls.from_config(o.get_config())):
            assert (p.name, len(p.variables), getattr(p, arg), p.num_thresholds, p.class_id) == \
                ("s_1", 4, 0.4, 100, 12)
    print("test_config: names, attributes and from_config round trips as tf-keras asserts")


def test_f1_correctness():
    """``F1ScoreTest.test_correctness``: ``F1Score()`` equals ``FBetaScore(beta=1.0)`` (Python lists in)."""
    f1, fbeta = metrics.F1Score(), metrics.FBetaScore(beta=1.0)
    f1.update_state(_t(FB_T3), _t(FB_P3))
    fbeta.update_state(_t(FB_T3), _t(FB_P3))
    tf_all_close("F1Score vs FBetaScore(beta=1)", fbeta.result(), f1.result(), atol=1e-6)


M_GOOD_T, M_P_T = _t(M_GOOD), _t(M_P)


def test_auc_configs():
    """``AUCTest.test_config`` and ``test_config_manual_thresholds``."""
    auc = metrics.AUC(num_thresholds=100, curve="PR", summation_method="majoring", name="auc_1",
                      dtype="float64", multi_label=True, num_labels=2, from_logits=True)
    auc.update_state(M_GOOD_T[:, :2], M_P_T)
    old = auc.get_config()
    assert "thresholds" not in old and old == json.loads(json.dumps(old))
    auc2 = metrics.AUC.from_config(old)
    auc2.update_state(M_GOOD_T[:, :2], M_P_T)
    assert auc.dtype == torch.float64
    for o in (auc, auc2):
        assert (o.name, len(o.variables), o.num_thresholds, o.curve, o.summation_method, o.multi_label,
                o.num_labels, o.from_logits) == ("auc_1", 4, 100, "PR", "majoring", True, 2, True)
    assert auc2.get_config() == old
    tf_all_close("AUC thresholds round trip", auc.thresholds, auc2.thresholds)
    auc = metrics.AUC(num_thresholds=None, curve="PR", summation_method="majoring", name="auc_1", thresholds=[0.3, 0.5])
    auc.update_state(_t(AUC_T), _t(AUC_P))
    old = auc.get_config()
    assert old == json.loads(json.dumps(old))
    auc2 = metrics.AUC.from_config(old)
    auc2.update_state(_t(AUC_T), _t(AUC_P))
    for o in (auc, auc2):
        assert (o.name, len(o.variables), o.num_thresholds, o.curve, o.summation_method) == \
            ("auc_1", 4, 4, "PR", "majoring")
    tf_all_close("AUC manual thresholds", auc.thresholds, [0.0, 0.3, 0.5, 1.0])
    assert auc2.get_config() == old
    tf_all_close("AUC manual thresholds round trip", auc.thresholds, auc2.thresholds)
    manual = metrics.AUC(num_thresholds=2, thresholds=[0.5])  # AUCTest / MultiAUCTest.test_manual_thresholds
    assert manual.num_thresholds == 3
    tf_all_close("AUC(thresholds=[0.5]).thresholds", manual.thresholds, [0.0, 0.5, 1.0])


# --------------------------------------------------------------------------
# idempotence, reset, ThresholdsTest
# --------------------------------------------------------------------------


def test_value_is_idempotent():
    """The ``test_value_is_idempotent`` methods: 10 updates, then 10 ``result()`` calls give the same value
    (seeded draws for tf-keras's unseeded ``tf.random.uniform``)."""
    g = torch.Generator().manual_seed(0)
    u_pred, u_true = torch.rand(10, 3, generator=g), torch.rand(10, 3, generator=g)
    b_true = torch.randint(0, 2, (10, 3), generator=g)
    cases = [(metrics.Precision(thresholds=[0.3, 0.72]), u_true, u_pred, "near"),
             (metrics.Recall(thresholds=[0.3, 0.72]), u_true, u_pred, "near"),
             (metrics.SensitivityAtSpecificity(0.7), b_true, u_pred, "equal"),
             (metrics.SpecificityAtSensitivity(0.7), b_true, u_pred, "equal"),
             (metrics.PrecisionAtRecall(0.7), b_true, u_pred, "equal"),
             (metrics.RecallAtPrecision(0.7), b_true, u_pred, "equal"),
             (metrics.AUC(num_thresholds=3), _t(AUC_T), _t(AUC_P), "allclose"),
             (metrics.AUC(num_thresholds=5, multi_label=True), M_GOOD_T, M_P_T, "allclose")]
    for obj, y_true, y_pred, kind in cases:
        for _ in range(10):
            obj.update_state(y_true, y_pred)
        first = obj.result().clone()
        for _ in range(10):
            if kind == "near":
                tf_array_near(f"{obj.name} idempotent", obj.result(), first.tolist(), 1e-3)
            elif kind == "equal":  # assertAlmostEqual(a, b, 1e-3): passes only when a == b
                assert float(obj.result()) == float(first)
            else:
                tf_all_close(f"{obj.name} idempotent", first, obj.result(), rtol=1e-3)
        print(f"{type(obj).__name__}: result after 10 updates {first.tolist()}, unchanged by 10 result() calls")


def test_multi_auc_reset_state():
    """``MultiAUCTest.test_reset_state``."""
    auc = metrics.AUC(num_thresholds=5, multi_label=True)
    auc(M_GOOD_T, M_P_T)
    auc.reset_state()
    assert torch.equal(auc.true_positives, torch.zeros(5, 2))
    print("AUC(multi_label=True).reset_state(): true_positives == zeros((5, 2))")


def test_precision_update_state_with_logits():
    """``ResetStatesTest.test_precision_update_state_with_logits``: scores outside (0, 1) do not raise."""
    p = metrics.Precision()
    p.update_state(torch.tensor([-0.5, 0.5]), torch.tensor([-2.0, 2.0]))
    print(f"Precision on logits: {float(p.result())} (no error)")


def test_function_wrapped_reset_state():
    """``ResetStatesTest.test_function_wrapped_reset_state`` without ``tf.function``: reset then update, 5 times."""
    m = metrics.Mean(name="my_mean")
    for _ in range(5):
        m.reset_state()
        m.update_state(100)
    assert float(m.count) == 1
    print("Mean: count == 1 after 5 x (reset_state, update_state)")


THRESHOLD_DEFAULTS = ["TruePositives", "TrueNegatives", "FalsePositives", "FalseNegatives", "Precision", "Recall",
                      "SensitivityAtSpecificity", "SpecificityAtSensitivity", "PrecisionAtRecall",
                      "RecallAtPrecision", "AUC"]
COUNT_CLASSES = ["TruePositives", "TrueNegatives", "FalsePositives", "FalseNegatives", "Precision", "Recall"]
AT_CLASSES = ["SensitivityAtSpecificity", "SpecificityAtSensitivity", "PrecisionAtRecall", "RecallAtPrecision"]


def _default(name):
    cls = getattr(metrics, name)
    return cls(0.5) if name in AT_CLASSES else cls()


@pytest.mark.parametrize("name", THRESHOLD_DEFAULTS)
def test_with_default_thresholds(name):
    """``ThresholdsTest.test_with_default_thresholds``: evenly distributed iff more than 1 threshold
    (``_thresholds_distributed_evenly`` is torch_impl's ``_evenly``)."""
    obj = _default(name)
    print(f"{name}: {len(obj.thresholds)} thresholds, evenly={obj._evenly}")
    assert obj._evenly == (len(obj.thresholds) > 1)


@pytest.mark.parametrize("name", COUNT_CLASSES)
def test_with_manual_thresholds(name):
    cls = getattr(metrics, name)
    assert cls(thresholds=[0.0, 0.25, 0.5, 0.75, 1.0])._evenly
    assert not cls(thresholds=[0.0, 0.45, 1.0])._evenly
    print(f"{name}: [0, .25, .5, .75, 1] evenly, [0, .45, 1] not")


def test_manual_thresholds_auc():
    auc = metrics.AUC(thresholds=[0.25, 0.5, 0.75])
    assert auc._evenly and metrics.AUC.from_config(auc.get_config())._evenly
    auc = metrics.AUC(thresholds=[0.45])
    assert not auc._evenly and not metrics.AUC.from_config(auc.get_config())._evenly
    print("AUC(thresholds=[.25, .5, .75]) evenly (and its from_config), AUC(thresholds=[.45]) not")


def _even_check(name, make_obj):
    """The bucketed (evenly distributed) update against the general thresholded one: results and variables."""
    rng = np.random.default_rng(1)
    y_true, y_pred = torch.as_tensor(rng.integers(2, size=(10,))), torch.as_tensor(rng.random(10), dtype=torch.float32)
    a, b = make_obj(), make_obj()
    b._evenly = False  # "Force to use the old approach"
    a.update_state(y_true, y_pred)
    b.update_state(y_true, y_pred)
    assert a._evenly
    tf_all_close(f"{name} bucketed vs thresholded result", a.result(), b.result())
    for va, vb in zip(a.variables, b.variables):
        tf_all_close(f"{name} variable", va, vb)


@pytest.mark.parametrize("name", COUNT_CLASSES + ["AUC"])
def test_even_thresholds_correctness(name):
    even = [0.25, 0.5, 0.75] if name == "AUC" else [0.0, 0.25, 0.5, 0.75, 1.0]
    _even_check(name, lambda: getattr(metrics, name)(thresholds=even))


@pytest.mark.parametrize("name", AT_CLASSES)
def test_even_thresholds_correctness_2(name):
    _even_check(name, lambda: getattr(metrics, name)(0.5))


# --------------------------------------------------------------------------
# ResetStatesTest: evaluate twice, the counts are one evaluate's
# --------------------------------------------------------------------------


def _model():
    """``Dense(3, relu, kernel "ones")`` -> ``Dense(1, sigmoid, kernel "ones")`` (zero biases) on 4 inputs."""
    torch.manual_seed(0)
    lin1, lin2 = torch.nn.Linear(4, 3), torch.nn.Linear(3, 1)
    for lin in (lin1, lin2):
        torch.nn.init.ones_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
    return torch.nn.Sequential(lin1, torch.nn.ReLU(), lin2, torch.nn.Sigmoid())


_ONES, _ZEROS = np.ones((25, 4), F32), np.zeros((25, 4), F32)
X4 = np.concatenate((_ONES, _ZEROS, _ZEROS, _ONES))
Y4 = np.concatenate((np.ones((25, 1)), np.zeros((25, 1)), np.ones((25, 1)), np.zeros((25, 1)))).astype(F32)
ONE25 = {"true_positives": 25.0, "false_positives": 25.0, "false_negatives": 25.0, "true_negatives": 25.0}
RESET_CASES = [
    ("false_positives", lambda: metrics.FalsePositives(), np.ones((100, 4)), np.zeros((100, 1)),
     {"accumulator": 100.0}),
    ("false_negatives", lambda: metrics.FalseNegatives(), np.zeros((100, 4)), np.ones((100, 1)),
     {"accumulator": 100.0}),
    ("true_negatives", lambda: metrics.TrueNegatives(), np.zeros((100, 4)), np.zeros((100, 1)),
     {"accumulator": 100.0}),
    ("true_positives", lambda: metrics.TruePositives(), np.ones((100, 4)), np.ones((100, 1)),
     {"accumulator": 100.0}),
    ("precision", lambda: metrics.Precision(), np.ones((100, 4)),
     np.concatenate((np.ones((50, 1)), np.zeros((50, 1)))), {"true_positives": 50.0, "false_positives": 50.0}),
    ("recall", lambda: metrics.Recall(), np.concatenate((np.ones((50, 4)), np.zeros((50, 4)))), np.ones((100, 1)),
     {"true_positives": 50.0, "false_negatives": 50.0}),
    ("sensitivity_at_specificity", lambda: metrics.SensitivityAtSpecificity(0.5, num_thresholds=1), X4, Y4, ONE25),
    ("specificity_at_sensitivity", lambda: metrics.SpecificityAtSensitivity(0.5, num_thresholds=1), X4, Y4, ONE25),
    ("precision_at_recall", lambda: metrics.PrecisionAtRecall(recall=0.5, num_thresholds=1), X4, Y4, ONE25),
    ("recall_at_precision", lambda: metrics.RecallAtPrecision(precision=0.5, num_thresholds=1), X4, Y4, ONE25),
    ("auc", lambda: metrics.AUC(num_thresholds=3), X4, Y4, {k: (1, v) for k, v in ONE25.items()}),
    ("auc_manual_thresholds", lambda: metrics.AUC(thresholds=[0.5]), X4, Y4, {k: (1, v) for k, v in ONE25.items()}),
]


def _state(obj, attr, want):
    v = getattr(obj, attr)
    return (float(v[want[0]]), want[1]) if isinstance(want, tuple) else (float(v.reshape(-1)[0]) if v.dim() else
                                                                          float(v), want)


def _evaluate_twice(name, model, obj, x, y, want):
    for i in range(2):
        F.evaluate(model, torch.as_tensor(np.asarray(x, F32)), torch.as_tensor(np.asarray(y, F32)), loss="mae",
                   metrics=[obj], batch_size=32)
        for attr, w in want.items():
            got, expected = _state(obj, attr, w)
            print(f"ResetStatesTest.test_reset_state_{name} evaluate #{i + 1}: {attr}={got} expected={expected}")
            assert got == expected


@pytest.mark.parametrize("name,make_obj,x,y,want", [pytest.param(*r, id=r[0]) for r in RESET_CASES])
def test_reset_state(name, make_obj, x, y, want):
    """``ResetStatesTest.test_reset_state_*``: ``evaluate`` resets the metric (the counts stay one pass's)."""
    _evaluate_twice(name, _model(), make_obj(), x, y, want)


def test_reset_state_auc_from_logits():
    lin = torch.nn.Linear(4, 1, bias=False)
    torch.nn.init.ones_(lin.weight)
    x = np.concatenate((_ONES, -_ONES, -_ONES, _ONES))
    _evaluate_twice("auc_from_logits", lin, metrics.AUC(num_thresholds=3, from_logits=True), x, Y4,
                    {k: (1, v) for k, v in ONE25.items()})


def test_reset_state_mean_iou():
    x = np.asarray([[0, 0, 0, 0], [1, 1, 1, 1], [1, 0, 1, 0], [0, 1, 0, 1]], F32)
    y = np.asarray([[0], [1], [1], [1]], F32)
    m = metrics.MeanIoU(num_classes=2)
    for i in range(2):
        F.evaluate(_model(), torch.as_tensor(x), torch.as_tensor(y), loss="mae", metrics=[m])
        print(f"ResetStatesTest.test_reset_state_mean_iou evaluate #{i + 1}: total_cm={m.total_cm.tolist()}")
        tf_array_near("total_cm[0]", m.total_cm[0], [1, 0], 1e-1)
        tf_array_near("total_cm[1]", m.total_cm[1], [3, 0], 1e-1)


def test_reset_state_recall_float64():
    """GitHub issue 36790: ``floatx`` float64 (torch's default dtype here)."""
    old = torch.get_default_dtype()
    try:
        torch.set_default_dtype(torch.float64)
        r = metrics.Recall()
        model = _model().double()
        x = np.concatenate((np.ones((50, 4)), np.zeros((50, 4))))
        for i in range(2):
            F.evaluate(model, torch.as_tensor(x), torch.ones(100, 1), loss="mae", metrics=[r])
            print(f"recall float64 evaluate #{i + 1}: tp={float(r.true_positives)} fn={float(r.false_negatives)}")
            assert r.true_positives.dtype == torch.float64
            assert float(r.true_positives) == 50.0 and float(r.false_negatives) == 50.0
    finally:
        torch.set_default_dtype(old)

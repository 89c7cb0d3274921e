"""torch_impl against tf-keras's (Keras 2's) own unit tests: the rest of the losses, normalization, dropout-family
and activation layers.

Continues ``test_tf_keras_reference.py`` (its module docstring fixes the conventions: ``tf.test.TestCase``
assertion semantics, ``tf.constant`` ints -> int64 tensors, floats -> float32, Python scalars as given; a Keras 2
-> Keras 3 change keeps Keras 3.15.1's number measured on the same inputs and records ``keras2=``). Reference:
keras-team/tf-keras (snapshot dd0a7237). No TensorFlow here; ``test_tf_keras_reference_losses_layers_keras.py``
(slow) re-measures on Keras 3.15.1 the numbers kept where Keras 2 and 3 may differ. ``np.random`` draws of the
tf-keras tests are seeded draws here (the asserted relations hold for any draw).

``tf_keras/losses_test.py``, the classes not in ``test_tf_keras_reference.py`` (91 methods: 86 translated, 5 not):

* ``MeanSquaredErrorTest`` 10 of 11, ``MeanAbsoluteErrorTest`` 10 of 11, ``MeanAbsolutePercentageErrorTest`` 8 of
  9, ``MeanSquaredLogarithmicErrorTest`` 6 of 7, ``CosineSimilarityTest`` 7, ``HingeTest`` 6, ``SquaredHingeTest``
  6, ``CategoricalHingeTest`` 6, ``LogCoshTest`` 6, ``PoissonTest`` 6, ``KLDivergenceTest`` 6, ``HuberLossTest`` 9;
  every Keras 2 number holds for torch_impl and for Keras 3.15.1 (same tolerance). ``MAPE`` with timestep weights:
  torch_impl 694.44440, Keras 3.15.1 694.44452 (2 float32 ulps: the order of the weighted sum), both within the
  test's 3 places;
* ``test_invalid_sample_weight`` (MSE, MAE): Keras 2 and Keras 3.15.1 raise TensorFlow's ``InvalidArgumentError``
  ("Incompatible shapes: [2,3] vs. [2,2]"), torch_impl a ``ValueError`` naming both shapes (its bad-input
  message, ``test_bad_input.py``); the translation asserts torch_impl's;
* ``HuberLossTest.test_loss_with_non_default_dtype``: ``backend.set_floatx("float64")`` is
  ``torch_impl.keras_backend.set_floatx`` with float64 inputs (the loss stays float64, as README's ``Loss(dtype=None)``);
* not translated: the 4 ``test_ragged_tensor(s)`` (``tf.RaggedTensor``: MSE, MAE, MAPE, MSLE);
  ``KerasLossesTest`` is complete in ``test_tf_keras_reference.py`` (nothing left);
  ``CustomLossTest.test_autograph`` (a ``Loss`` subclass written with Python control flow on tensors under
  ``tf.function``: autograph, no torch_impl counterpart).

``tf_keras/layers/normalization/batch_normalization_test.py`` (27 methods; ``NormalizationLayersGraphModeOnlyTest``'s
3 methods run once each, Keras 3 has one ``BatchNormalization``): 13 translated, 14 not.

* translated: ``test_batchnorm_weights`` (parameters/buffers), ``test_batchnorm_convnet`` (Keras 2 ran it only on a
  GPU; ``axis=1``, CPU here), ``test_batchnorm_convnet_channel_last``, ``test_batchnorm_correctness`` and
  ``test_batchnorm_float16`` (``fit`` 4 epochs with SGD(0.01), ``momentum=0.8``: mean 0, std 1 after removing
  beta/gamma), ``test_batchnorm_mixed_precision`` (first part: a float16 input to a float32 layer stays float16 and
  gamma/beta stay float32, torch_impl's form of ``mixed_float16``; the integer-input part is not: torch_impl has no
  dtype policy, an int input becomes the layer's float32), ``test_batchnorm_mixed_precision_does_not_overflow``
  (float16 ``[-1000, 1000]`` -> ``[-1, 1]``; the ``fused`` parameter has no counterpart: once),
  ``test_batchnorm_non_trainable_with_fit``, ``test_eager_batchnorm_in_custom_model_call_with_tf_function``
  (10 training calls on 0.5: moving mean 0.0478, variance 0.904; Keras 3.15.1 gives these numbers for plain calls,
  but with ``call`` decorated by ``tf.function`` inside a ``Model`` its moving statistics stay 0 and 1: a Keras 3
  quirk, not translated), ``test_can_be_used_in_multiple_graphs`` (three training calls: +-0.9995),
  ``test_that_trainable_disables_updates``, ``test_batchnorm_trainable`` (training-mode statistics);
* Keras 2 -> 3 change, ``test_bessels_correction``: Keras 2's fused kernel (4-D/5-D inputs) updated the moving
  variance with the unbiased batch variance (``[0, 2]``: 2, times ``1 - momentum = 0.5``: 1.0); Keras 3 has no fused
  path and uses the biased one (1 -> 0.5). torch_impl and Keras 3.15.1: 0.5 (keras2=1.0);
* not translated: ``test_basic_batchnorm``/``test_basic_batchnorm_v2`` (``layer_test``: shapes and config, no
  numeric expectation), ``test_batchnorm_regularization`` (gamma/beta regularizers and constraints: not arguments of
  torch_impl's layer), ``test_batchnorm_sync_fused_error``, ``test_batchnorm_convnet_synchronized``,
  ``test_sync_batchnorm_with_mask`` (``synchronized``/``fused``: gone in Keras 3),
  ``test_batchnorm_ignore_masked_values`` and ``test_input_fully_masked`` (Keras's ``mask`` argument: torch_impl's
  ``BatchNormalization`` takes none), ``test_v1_fused_attribute``, ``test_v2_fused_attribute``,
  ``test_updates_in_wrap_function``, ``test_basic_batchnorm_v2_input_shape_and_virtual_batch_size``,
  ``test_fused_batchnorm_empty_batch`` (``fused``, ``virtual_batch_size``, ``tf.compat.v1`` and distribution
  strategies), ``test_shared_batchnorm`` (no assertion).

``tf_keras/layers/normalization/layer_normalization_test.py`` (14 methods): 6 translated, 8 not.

* translated: ``test_layernorm_weights``, ``test_layernorm_convnet_channel_last``, ``test_layernorm_correctness``
  and ``test_layernorm_mixed_precision`` (``fit``, mean 0 / std 1), ``LayerNormalizationNumericsTest.test_forward``
  (every shape/axis, epsilon ``1e-12`` and ``1e-3``, float64/32/16 against the NumPy reference with the test's
  tolerances) and ``test_backward`` (autograd Jacobians of x, beta and gamma against float64 central differences,
  ``tf.test.compute_gradient``'s ``delta = 1/1024``). torch_impl's layer normalises the trailing
  ``normalized_shape``; the axes that are not trailing (``(0,)``, ``(1,)``, ``(0, 2)``, ``(1, 3)``) are moved to the end
  and back (the layer itself computes);
* not translated: ``test_basic_layernorm``, ``test_non_fused_layernorm`` (``layer_test``: shapes and config),
  ``test_layernorm_regularization`` (regularizers/constraints), ``test_layernorm_ragged_tensor``,
  ``testIncorrectAxisType``/``testInvalidAxis``/``testDuplicateAxis`` (torch_impl's layer takes
  ``normalized_shape``, not ``axis``), ``testFusedAttr`` (``_fused``).

``tf_keras/layers/regularization/*_test.py`` (18 methods): 16 translated, 2 not. Random layers: the relations, not
the bit patterns (``test_dropout_keras.py`` matches Keras 3's draws).

* ``dropout_test.py``: ``test_dropout`` (outputs ``0`` or ``2 x``; ``noise_shape=[3, 1]`` drops whole rows; kept
  fraction 0.5 on a large draw), ``test_dropout_partial_noise_shape``, ``test_dropout_with_zero_rate`` (the identity,
  the seed state unchanged), ``test_dropout_with_saving`` (no weights, training output differs from inference; the
  SavedModel / ``.keras`` / checkpoint round trips become a ``state_dict`` round trip); not:
  ``test_dropout_supports_masking`` (Keras's ``supports_masking``), ``test_state_variable_name`` (TensorFlow's
  ``StateVar`` name);
* ``gaussian_noise_test.py``, ``gaussian_dropout_test.py``, ``alpha_dropout_test.py`` (3 each): ``layer_test`` ->
  the layer's relation on a large draw (noise std 1; noise mean 1 and std ``sqrt(rate / (1 - rate))``; AlphaDropout
  keeps a unit normal's mean 0 and variance 1); ``_train_model`` in float32 and float64 (``Dense(8)`` + the layer,
  SGD, one batch of zeros: Keras 2 asserts only that it runs; here the dtype and the loss: the noise's
  ``stddev ** 2`` order, ``0`` for GaussianDropout of zeros, AlphaDropout's two affine values);
* ``spatial_dropout_test.py`` (3 methods, 5 ``layer_test`` calls): torch_impl has no ``SpatialDropout*`` class;
  Keras 3's are ``Dropout`` with ``noise_shape`` ``(N, 1, C)``, ``(N, 1, 1, C)`` / ``(N, C, 1, 1)``, ... (keras/src/
  layers/regularization/spatial_dropout.py), so ``Dropout(noise_shape=...)`` here: each feature map kept whole
  (``2 x``) or dropped.
* ``activity_regularization_test.py``: out of scope (torch_impl has no ActivityRegularization layer).

``tf_keras/layers/activation/*_test.py`` (15 methods): 12 translated, 3 not. Their ``layer_test`` calls have no
expected output: the translation checks the layer against the NumPy formula on a seeded ``(2, 3, 4)`` input.

* ``ELUTest`` 2/2 (``alpha`` 0, 0.5, -1; ``alpha=None``: Keras 2 raised ValueError("Alpha of an ELU layer cannot be
  None, ..."); Keras 3.15.1 accepts it and raises ValueError at the call; torch_impl raised ``TypeError`` from
  ``float(None)``; fixed: it raises Keras 2's ValueError when made); ``LeakyReLUTest`` 2/2 (``alpha`` is Keras 3's
  ``negative_slope``; the message is Keras 3's: "cannot be None or negative value"); ``ReLUTest`` 4 of 5
  (``max_value=10``, and the graph-mode op names become the kernels' observable difference: ``max_value=6`` is
  ``relu6``, gradient 0 at 6; the messages are Keras 3's "cannot be None or a negative value"; not:
  ``test_relu_layer_as_activation``, no assertion); ``SoftmaxTest`` 2/2 (``robust_masking``: a Keras 2 argument
  for masks, the unmasked softmax is the same); ``ThresholdedReLUTest`` 2/2 (``ThresholdedReLU`` is gone in
  Keras 3; ``ReLU(threshold=theta)`` is its replacement: ``x`` above ``theta``, else 0; its messages);
  not: ``PReLUTest`` (2: torch_impl has no PReLU layer, ``torch.nn.PReLU`` is torch's).

Tally: 86 + 13 + 6 + 16 + 12 = 133 test methods translated (162 pytest cases), 5 + 14 + 8 + 2 + 3 = 32 not
(activity_regularization apart). torch_impl bug found (fixed): ``ELU(alpha=None)`` raised ``TypeError``.

Run: ``.venv/bin/python -m pytest -q -s parity_tests/test_tf_keras_reference_losses_layers.py -p no:cacheprovider``
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from parity_tests.keras_reference_helpers import as_keras_sees as _t
from parity_tests.keras_reference_helpers import to_numpy as _np
from parity_tests.test_tf_keras_reference import Case, _assert, _params, _run, tf_all_close, tf_almost_equal
from parity_tests.test_tf_keras_reference import tf_array_near
from torch_impl import fit as F
from torch_impl import keras_backend, losses
from torch_impl import nn as N

I32, F32 = np.int32, np.float32

# --------------------------------------------------------------------------
# losses_test.py: shared inputs
# --------------------------------------------------------------------------

Y_23 = np.array([1, 9, 2, -5, -2, 6], I32).reshape(2, 3)
P_23 = np.array([4, 8, 12, 8, 1, 3], F32).reshape(2, 3)
Y_231, P_231 = Y_23.reshape(2, 3, 1), P_23.reshape(2, 3, 1)
CORRECT_23 = np.array([4, 8, 12, 8, 1, 3], I32).reshape(2, 3)
SW_21 = np.array([1.2, 3.4], F32).reshape(2, 1)
TS_23 = np.array([3, 6, 5, 0, 4, 2], I32).reshape(2, 3)  # timestep weights

H_Y = np.array([[0, 1, 0, 1], [0, 0, 1, 1]], I32)
H_P = np.array([[-0.3, 0.2, -0.1, 1.6], [-0.25, -1.0, 0.5, 0.6]], F32)
H_TS = np.array([3, 6, 5, 0, 4, 2, 1, 3], I32).reshape(2, 4)

ALMOST3 = ("almost", 3)
EXP_FIRST3 = ("allclose_expected_first", 1e-6, 1e-3)  # assertAllClose(0.506, loss, atol=1e-3)
RTOL3 = ("allclose", 1e-3, 1e-6)  # assertAllClose(loss, v, 1e-3): rtol


def _regression_cases(prefix, cls, expected, correct=True, all_correct_float=False):
    """The shared shape of the MSE/MAE/MAPE/MSLE test classes: ``expected`` maps a method to its number."""
    out = []
    if correct:
        y = CORRECT_23.astype(F32) if all_correct_float else CORRECT_23
        out.append(Case(f"{prefix}.test_all_correct_unweighted", cls, {}, y, y, expected=0.0))
    out += [
        Case(f"{prefix}.test_unweighted", cls, {}, Y_23, P_23, expected=expected["unweighted"]),
        Case(f"{prefix}.test_scalar_weighted", cls, {}, Y_23, P_23, 2.3, expected=expected["scalar"]),
        Case(f"{prefix}.test_sample_weighted", cls, {}, Y_23, P_23, SW_21, expected=expected["sample"]),
        Case(f"{prefix}.test_timestep_weighted", cls, {}, Y_231, P_231, TS_23, expected=expected["timestep"]),
        Case(f"{prefix}.test_zero_weighted", cls, {}, Y_23, P_23, 0, expected=0.0),
    ]
    if "none" in expected:
        out.append(Case(f"{prefix}.test_no_reduction", cls, {"reduction": "none"}, Y_23, P_23, 2.3,
                        expected=expected["none"], check=("near", 1e-3)))
    if "sum" in expected:
        out.append(Case(f"{prefix}.test_sum_reduction", cls, {"reduction": "sum"}, Y_23, P_23, 2.3,
                        expected=expected["sum"]))
    return out


MSE, MAE, MAPE, MSLE = "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError", \
    "MeanSquaredLogarithmicError"
REGRESSION_CASES = (
    _regression_cases("MeanSquaredErrorTest", MSE, {"unweighted": 49.5, "scalar": 113.85, "sample": 767.8 / 6,
                                                    "timestep": 587 / 6, "none": [84.3333, 143.3666],
                                                    "sum": 227.69998})
    + _regression_cases("MeanAbsoluteErrorTest", MAE, {"unweighted": 5.5, "scalar": 12.65, "sample": 81.4 / 6,
                                                       "timestep": 83 / 6, "none": [10.7333, 14.5666],
                                                       "sum": 25.29999})
    + _regression_cases("MeanAbsolutePercentageErrorTest", MAPE,
                        {"unweighted": 211.8518, "scalar": 487.259, "sample": 422.8888, "timestep": 694.4445,
                         "none": [621.8518, 352.6666]}, all_correct_float=True)
    + _regression_cases("MeanSquaredLogarithmicErrorTest", MSLE,
                        {"unweighted": 1.4370, "scalar": 3.3051, "sample": 3.7856, "timestep": 2.6473},
                        correct=False)
)

# ---- HingeTest, SquaredHingeTest, CategoricalHingeTest ----------------------------------------------------------

HINGE_CASES = [
    Case("HingeTest.test_unweighted", "Hinge", {}, H_Y, H_P, expected=0.506, check=EXP_FIRST3),
    Case("HingeTest.test_scalar_weighted", "Hinge", {}, H_Y, H_P, 2.3, expected=1.164),
    Case("HingeTest.test_sample_weighted", "Hinge", {}, H_Y, H_P, SW_21, expected=1.061, check=RTOL3),
    Case("HingeTest.test_timestep_weighted", "Hinge", {}, H_Y.reshape(2, 4, 1), H_P.reshape(2, 4, 1), H_TS,
         expected=2.012, check=RTOL3),
    Case("HingeTest.test_zero_weighted", "Hinge", {}, H_Y, H_P, 0, expected=0.0, check=RTOL3),
    Case("SquaredHingeTest.test_unweighted", "SquaredHinge", {}, H_Y, H_P, expected=0.364, check=RTOL3),
    Case("SquaredHingeTest.test_scalar_weighted", "SquaredHinge", {}, H_Y, H_P, 2.3, expected=0.837, check=RTOL3),
    Case("SquaredHingeTest.test_sample_weighted", "SquaredHinge", {}, H_Y, H_P, np.array([1.2, 3.4], F32),
         expected=0.704, check=RTOL3),
    Case("SquaredHingeTest.test_timestep_weighted", "SquaredHinge", {}, H_Y.reshape(2, 4, 1), H_P.reshape(2, 4, 1),
         H_TS, expected=1.542, check=RTOL3),
    Case("SquaredHingeTest.test_zero_weighted", "SquaredHinge", {}, H_Y, H_P, 0, expected=0.0, check=RTOL3),
    Case("CategoricalHingeTest.test_unweighted", "CategoricalHinge", {}, np.array([1, 9, 2, -5], I32).reshape(2, 2),
         np.array([4, 8, 12, 8], F32).reshape(2, 2), expected=32.5),
    Case("CategoricalHingeTest.test_scalar_weighted", "CategoricalHinge", {}, Y_23, P_23, 2.3, expected=83.95),
    Case("CategoricalHingeTest.test_sample_weighted", "CategoricalHinge", {}, Y_23, P_23, SW_21, expected=124.1),
    Case("CategoricalHingeTest.test_timestep_weighted", "CategoricalHinge", {}, Y_231, P_231, TS_23, expected=4.0),
    Case("CategoricalHingeTest.test_zero_weighted", "CategoricalHinge", {}, Y_23, P_23, 0, expected=0.0),
]

# ---- the classes whose expected numbers are NumPy formulas -------------------------------------------------------


def _l2_norm(x, axis):
    square_sum = np.sum(np.square(x), axis=axis, keepdims=True)
    return np.multiply(x, 1 / np.sqrt(np.maximum(square_sum, 1e-12)))


COS_Y = np.asarray([[1, 9, 2], [-5, -2, 6]], dtype=F32)
COS_P = np.asarray([[4, 8, 12], [8, 1, 3]], dtype=F32)
COS_EXP = np.sum(_l2_norm(COS_Y, 1) * _l2_norm(COS_P, 1), axis=(1,))
COS_TS_W = np.asarray([3, 6, 5, 0, 4, 2]).reshape((2, 3))
COS_TS_EXP = -np.mean(np.sum(_l2_norm(COS_Y.reshape(2, 3, 1), 2) * _l2_norm(COS_P.reshape(2, 3, 1), 2), axis=(2,))
                      * COS_TS_W)
COS = "CosineSimilarity"
COSINE_CASES = [
    Case("CosineSimilarityTest.test_unweighted", COS, {}, COS_Y, COS_P, expected=-np.mean(COS_EXP)),
    Case("CosineSimilarityTest.test_scalar_weighted", COS, {}, COS_Y, COS_P, 2.3, expected=-np.mean(COS_EXP * 2.3)),
    Case("CosineSimilarityTest.test_sample_weighted", COS, {}, COS_Y, COS_P, np.asarray([1.2, 3.4]),
         expected=-np.mean(COS_EXP * np.asarray([1.2, 3.4]))),
    Case("CosineSimilarityTest.test_timestep_weighted", COS, {}, COS_Y.reshape(2, 3, 1), COS_P.reshape(2, 3, 1),
         COS_TS_W, expected=COS_TS_EXP),
    Case("CosineSimilarityTest.test_zero_weighted", COS, {}, COS_Y, COS_P, 0, expected=0.0),
    Case("CosineSimilarityTest.test_axis", COS, {"axis": 1}, COS_Y, COS_P, expected=-np.mean(COS_EXP)),
]

ROW_W = np.asarray([1.2, 1.2, 1.2, 3.4, 3.4, 3.4]).reshape((2, 3))
TS_W = np.asarray([3, 6, 5, 0, 4, 2]).reshape((2, 3))


def _weighted_family(prefix, cls, kwargs, y_true, y_pred, per_elem, batch_size, ts_expected, ts_inputs=None):
    """LogCosh/Poisson/KLDivergence/Huber: ``per_elem`` the NumPy losses, ``batch_size`` the test's divisor,
    ``ts_inputs`` the timestep method's ``(y_true, y_pred)`` where they are not the others' reshaped."""
    total = np.sum(per_elem)
    ts_true, ts_pred = (y_true, y_pred) if ts_inputs is None else ts_inputs
    return [
        Case(f"{prefix}.test_unweighted", cls, kwargs, y_true, y_pred, expected=total / batch_size),
        Case(f"{prefix}.test_scalar_weighted", cls, kwargs, y_true, y_pred, 2.3, expected=2.3 * total / batch_size),
        Case(f"{prefix}.test_sample_weighted", cls, kwargs, y_true, y_pred, SW_21,
             expected=np.sum(per_elem * ROW_W) / batch_size),
        Case(f"{prefix}.test_timestep_weighted", cls, kwargs, ts_true.reshape(2, 3, 1), ts_pred.reshape(2, 3, 1),
             TS_W, expected=ts_expected),
        Case(f"{prefix}.test_zero_weighted", cls, kwargs, y_true, y_pred, 0, expected=0.0),
    ]


LC_PRED = np.asarray([1, 9, 2, -5, -2, 6]).reshape((2, 3))
LC_TRUE = np.asarray([4, 8, 12, 8, 1, 3]).reshape((2, 3))
LC_LOSSES = np.log((np.exp(LC_PRED - LC_TRUE) + np.exp(LC_TRUE - LC_PRED)) / 2)
PO_PRED = np.asarray([1, 9, 2, 5, 2, 6]).reshape((2, 3))
PO_TRUE = np.asarray([4, 8, 12, 8, 1, 3]).reshape((2, 3))
PO_LOSSES = PO_PRED - PO_TRUE * np.log(PO_PRED)
KL_PRED = np.asarray([0.4, 0.9, 0.12, 0.36, 0.3, 0.4]).reshape((2, 3))
KL_TRUE = np.asarray([0.5, 0.8, 0.12, 0.7, 0.43, 0.8]).reshape((2, 3))
KL_LOSSES = KL_TRUE * np.log(KL_TRUE / KL_PRED)
HU_PRED = np.asarray([0.9, 0.2, 0.2, 0.8, 0.4, 0.6]).reshape((2, 3))
HU_TRUE = np.asarray([1.0, 0.0, 1.0, 1.0, 0.0, 0.0]).reshape((2, 3))


def _huber_np(y_true, y_pred, delta=1.0):
    abs_error = np.abs(y_pred - y_true)
    quadratic = np.minimum(abs_error, delta)
    return 0.5 * quadratic * quadratic + delta * (abs_error - quadratic)


HU_LOSSES = _huber_np(HU_TRUE, HU_PRED)
FAMILY_CASES = (
    # LogCoshTest.test_timestep_weighted swaps the two arrays (log cosh is even: the same losses)
    _weighted_family("LogCoshTest", "LogCosh", {}, LC_TRUE, LC_PRED.astype(F32), LC_LOSSES, 6,
                     np.sum(LC_LOSSES * TS_W) / 6, ts_inputs=(LC_PRED, LC_TRUE.astype(F32)))
    + _weighted_family("PoissonTest", "Poisson", {}, PO_TRUE, PO_PRED.astype(F32), PO_LOSSES, 6,
                       np.sum(PO_LOSSES * TS_W) / 6)
    # KLDivergence sums over the last axis: the timestep case's (2, 3, 1) inputs have 6 terms over 2 * 3 steps
    + _weighted_family("KLDivergenceTest", "KLDivergence", {}, KL_TRUE, KL_PRED.astype(F32), KL_LOSSES, 2,
                       np.sum(KL_LOSSES * TS_W) / (2 * 3))
    + _weighted_family("HuberLossTest", "Huber", {}, HU_TRUE, HU_PRED, HU_LOSSES, 6, np.sum(HU_LOSSES * TS_W) / 6)
    + [Case("HuberLossTest.test_all_correct", "Huber", {}, HU_TRUE, HU_TRUE, expected=0.0),
       Case("HuberLossTest.test_non_default_delta", "Huber", {"delta": 0.8}, HU_TRUE, HU_PRED, 2.3,
            expected=2.3 * np.sum(_huber_np(HU_TRUE, HU_PRED, 0.8)) / 6)]
)

LOSS_CASES = REGRESSION_CASES + HINGE_CASES + COSINE_CASES + FAMILY_CASES


def _check(case: Case, got) -> None:
    if case.check[0] == "near":
        tf_array_near(case.id, got, case.expected, case.check[1])
    else:
        _assert(case, got)


@pytest.mark.parametrize("case", _params(LOSS_CASES))
def test_loss_class(case: Case):
    _check(case, _run(losses, case))


REPEATED = ["HingeTest.test_scalar_weighted", "SquaredHingeTest.test_scalar_weighted",
            "CategoricalHingeTest.test_scalar_weighted", "LogCoshTest.test_scalar_weighted",
            "PoissonTest.test_scalar_weighted", "KLDivergenceTest.test_scalar_weighted",
            "HuberLossTest.test_scalar_weighted"]


@pytest.mark.parametrize("case", [c for c in LOSS_CASES if c.id in REPEATED], ids=lambda c: c.id)
def test_loss_same_output_twice(case: Case):
    """The scalar-weighted methods' second part: "the same output when the same input is given"."""
    obj = getattr(losses, case.cls)(**case.kwargs)
    a = obj(_t(case.y_true), _t(case.y_pred), sample_weight=case.sample_weight)
    b = obj(_t(case.y_true), _t(case.y_pred), sample_weight=case.sample_weight)
    if case.cls == "Hinge":  # assertAllClose(loss, loss_2, 1e-3)
        tf_all_close(f"{case.id} (twice)", a, b, rtol=1e-3)
    else:  # assertAlmostEqual(loss, loss_2, 3)
        tf_almost_equal(f"{case.id} (twice)", a, float(b), 3)


CONFIGS = [("MeanSquaredErrorTest", MSE, {"name": "mse_1"}), ("MeanAbsoluteErrorTest", MAE, {"name": "mae_1"}),
           ("MeanAbsolutePercentageErrorTest", MAPE, {"name": "mape_1"}),
           ("MeanSquaredLogarithmicErrorTest", MSLE, {"name": "mape_1"}),
           ("CosineSimilarityTest", COS, {"axis": 2, "name": "cosine_loss"}),
           ("HingeTest", "Hinge", {"name": "hinge_loss"}), ("SquaredHingeTest", "SquaredHinge", {"name": "sq_hinge_loss"}),
           ("CategoricalHingeTest", "CategoricalHinge", {"name": "cat_hinge_loss"}),
           ("LogCoshTest", "LogCosh", {"name": "logcosh_loss"}), ("PoissonTest", "Poisson", {"name": "poisson"}),
           ("KLDivergenceTest", "KLDivergence", {"name": "kld"}), ("HuberLossTest", "Huber", {"name": "huber"})]


@pytest.mark.parametrize("prefix,cls,kwargs", CONFIGS, ids=[c[0] + ".test_config" for c in CONFIGS])
def test_loss_config(prefix, cls, kwargs):
    obj = getattr(losses, cls)(reduction="sum", **kwargs)
    print(f"{prefix}.test_config: name={obj.name} reduction={obj.reduction}")
    assert obj.name == kwargs["name"] and obj.reduction == "sum"


@pytest.mark.parametrize("cls", [MSE, MAE], ids=["MeanSquaredErrorTest.test_invalid_sample_weight",
                                                  "MeanAbsoluteErrorTest.test_invalid_sample_weight"])
def test_invalid_sample_weight(cls):
    # Keras 2 and 3.15.1: InvalidArgumentError "Incompatible shapes: [2,3] vs. [2,2]"; torch_impl: ValueError with
    # both shapes (its bad-input message)
    sw = _t(np.array([3, 6, 5, 0], I32).reshape(2, 2))
    with pytest.raises(ValueError, match=r"sample_weight of shape \(2, 2\) cannot be applied to losses of shape "
                                         r"\(2, 3\)") as err:
        getattr(losses, cls)()(_t(Y_231), _t(P_231.astype(I32)), sample_weight=sw)
    print(f"{cls}: {err.value}")


def test_huber_loss_with_non_default_dtype():
    try:
        keras_backend.set_floatx("float64")
        y = torch.as_tensor(HU_TRUE)  # tf.constant of a float64 array
        loss = losses.Huber()(y, y)
        assert loss.dtype == torch.float64
        tf_almost_equal("HuberLossTest.test_loss_with_non_default_dtype", loss, 0.0, 3)
    finally:
        keras_backend.set_floatx("float32")


# --------------------------------------------------------------------------
# batch_normalization_test.py
# --------------------------------------------------------------------------


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no trainable weights" (a frozen model), ...
        return fn(*args, **kwargs)


def _fit(model, x, y, **kwargs):
    kwargs.setdefault("verbose", 0)
    return _quiet(F.fit, model, x, y, loss="mse", **kwargs).history


def _predict(model, x):
    return np.asarray(_quiet(F.predict, model, x, verbose=0), dtype=np.float64)


def _gamma_beta(layer, view):
    return layer.weight.detach().double().numpy().reshape(view), layer.bias.detach().double().numpy().reshape(view)


def test_batchnorm_weights():
    layer = N.BatchNormalization(4, scale=False, center=False, axis=-1)  # build((None, 3, 4))
    n_train, n_all = len(list(layer.parameters())), len(list(layer.parameters())) + len(list(layer.buffers()))
    print(f"BatchNormalizationTest.test_batchnorm_weights: scale/center False: trainable {n_train}, weights {n_all}")
    assert (n_train, n_all) == (0, 2)
    layer = N.BatchNormalization(4, axis=-1)
    n_train, n_all = len(list(layer.parameters())), len(list(layer.parameters())) + len(list(layer.buffers()))
    print(f"  default: trainable {n_train}, weights {n_all}")
    assert (n_train, n_all) == (2, 4)


@pytest.mark.parametrize("axis,shape,view,stat_axes", [
    (1, (1000, 3, 4, 4), (1, 3, 1, 1), (0, 2, 3)),
    (-1, (1000, 4, 4, 3), (1, 1, 1, 3), (0, 1, 2))],
    ids=["test_batchnorm_convnet", "test_batchnorm_convnet_channel_last"])
def test_batchnorm_convnet(axis, shape, view, stat_axes):
    # centered on 5.0, variance 10.0; SGD(0.01) (tf.compat.v1's GradientDescentOptimizer), 4 epochs
    torch.manual_seed(0)
    x = np.random.RandomState(10).normal(loc=5.0, scale=10.0, size=shape)
    norm = N.BatchNormalization(3, axis=axis, momentum=0.8)
    model = torch.nn.Sequential(norm)
    _fit(model, x, x, optimizer="sgd", epochs=4)
    gamma, beta = _gamma_beta(norm, view)
    out = (_predict(model, x) - beta) / gamma
    print(f"BatchNormalizationTest (axis={axis}): mean={np.mean(out, axis=stat_axes)} std={np.std(out, axis=stat_axes)}")
    np.testing.assert_allclose(np.mean(out, axis=stat_axes), 0.0, atol=1e-1)
    np.testing.assert_allclose(np.std(out, axis=stat_axes), 1.0, atol=1e-1)


@pytest.mark.parametrize("dtype", ["float32", "float16"],
                         ids=["test_batchnorm_correctness", "test_batchnorm_float16"])
def test_batchnorm_correctness(dtype):
    # _run_batchnorm_correctness_test: Input((2, 2, 2), dtype) -> BatchNormalization(momentum=0.8) (float32: Keras
    # 2 casts the float16 input to the layer's float32; torch_impl's float32 layer computes a float16 input in
    # float32 and returns float16) -> (float16: a cast to float32)
    torch.manual_seed(0)
    x = np.random.RandomState(11).normal(loc=5.0, scale=10.0, size=(1000, 2, 2, 2)).astype(dtype)
    norm = N.BatchNormalization(2, axis=-1, momentum=0.8)
    model = torch.nn.Sequential(norm)
    _fit(model, x, x, optimizer="sgd", epochs=4)
    gamma, beta = _gamma_beta(norm, (2,))
    out = (_predict(model, x) - beta) / gamma
    print(f"BatchNormalizationTest ({dtype}): mean={out.mean()} std={out.std()}")
    np.testing.assert_allclose(out.mean(), 0.0, atol=2e-1)
    np.testing.assert_allclose(out.std(), 1.0, atol=2e-1)


def test_batchnorm_mixed_precision():
    # dtype="mixed_float16": float32 variables, float16 compute. torch_impl: a float32 layer keeps a float16 input
    norm = N.BatchNormalization(3, axis=-1, momentum=0.8)
    x = torch.as_tensor(np.random.RandomState(12).normal(size=(10, 4, 4, 3)), dtype=torch.float16)
    y = norm.train()(x)
    print("BatchNormalizationTest.test_batchnorm_mixed_precision:", y.dtype, norm.bias.dtype, norm.weight.dtype)
    assert y.dtype == torch.float16
    assert norm.bias.dtype == torch.float32 and norm.weight.dtype == torch.float32


def test_batchnorm_mixed_precision_does_not_overflow():
    norm = N.BatchNormalization(1, axis=-1)
    x = torch.tensor([-1000.0, 1000.0], dtype=torch.float16).reshape(2, 1, 1, 1)
    y = norm.train()(x)
    assert y.dtype == torch.float16
    tf_all_close("BatchNormalizationTest.test_batchnorm_mixed_precision_does_not_overflow", y,
                 np.array([-1.0, 1.0]).reshape((2, 1, 1, 1)))


def test_batchnorm_non_trainable_with_fit():
    torch.manual_seed(0)
    rng = np.random.RandomState(13)
    bn = N.BatchNormalization(3, axis=-1)
    model = torch.nn.Sequential(bn)
    _fit(model, rng.random_sample((100, 3)), rng.random_sample((100, 3)), optimizer="rmsprop", batch_size=32)
    test_data, test_targets = rng.random_sample((100, 3)), rng.random_sample((100, 3))
    test_loss = _quiet(F.evaluate, model, test_data, test_targets, loss="mse")["loss"]
    bn.trainable = False
    train_loss = _fit(model, test_data, test_targets, optimizer="rmsprop", batch_size=100, epochs=1,
                      shuffle=False)["loss"][0]  # train_on_batch
    tf_almost_equal("BatchNormalizationTest.test_batchnorm_non_trainable_with_fit", test_loss, float(train_loss))


def test_eager_batchnorm_in_custom_model_call():
    bn = N.BatchNormalization(1).train()
    for _ in range(10):
        bn(torch.full((1, 1), 0.5))
    print("BatchNormalizationTest.test_eager_batchnorm_in_custom_model_call_with_tf_function:", bn.running_mean,
          bn.running_var)
    tf_all_close("moving_mean", bn.running_mean, [0.047], atol=3e-3)
    tf_all_close("moving_variance", bn.running_var, [0.9], atol=3e-2)


@pytest.mark.parametrize("shape", [[2, 1, 1, 1], [2, 1, 1, 1, 1]], ids=["4d", "5d"])
def test_bessels_correction(shape):
    layer = N.BatchNormalization(1, momentum=0.5)
    with torch.no_grad():
        layer.running_var.zero_()  # moving_variance_initializer="zeros"
    layer.train()(torch.tensor([0.0, 2.0]).reshape(shape))
    print(f"BatchNormalizationTest.test_bessels_correction {shape}: Keras 2 expected [1.0] (fused, Bessel's "
          f"correction); Keras 3.15.1 gives [0.5] (biased variance); torch_impl {bn_list(layer.running_var)}")
    assert bn_list(layer.running_var) == [0.5]


def bn_list(t):
    return [float(v) for v in t]


def test_can_be_used_in_multiple_graphs():
    norm = N.BatchNormalization(1, scale=False, center=False, axis=-1).train()
    x = torch.tensor([-1000.0, 1000.0], dtype=torch.float64).reshape((2, 1, 1, 1))
    y = norm(norm(norm(x)))  # fn1, fn2, then the eager call
    tf_all_close("BatchNormalizationTest.test_can_be_used_in_multiple_graphs", y,
                 np.array([-0.9995, 0.9995]).reshape((2, 1, 1, 1)))


def test_that_trainable_disables_updates():
    # NormalizationLayersGraphModeOnlyTest (V1 and V2: one BatchNormalization in Keras 3); model.trainable = False
    # freezes every layer: here the model's one BatchNormalization
    torch.manual_seed(0)
    rng = np.random.RandomState(14)
    val_a, val_out = rng.random_sample((10, 4)), rng.random_sample((10, 4))
    layer = N.BatchNormalization(4, axis=-1)
    model = torch.nn.Sequential(layer)

    def train_on_batch():
        _fit(model, val_a, val_out, optimizer="sgd", batch_size=10, epochs=1, shuffle=False)

    layer.trainable = False  # model.trainable = False
    x1 = _predict(model, val_a)
    train_on_batch()
    x2 = _predict(model, val_a)
    tf_all_close("NormalizationLayersGraphModeOnlyTest.test_that_trainable_disables_updates (model frozen)", x1, x2,
                 atol=1e-7)
    layer.trainable = True
    train_on_batch()
    x2 = _predict(model, val_a)
    print(f"  trainable again: |sum(x1 - x2)| = {abs(np.sum(x1 - x2))}")
    assert np.abs(np.sum(x1 - x2)) > 1e-5
    layer.trainable = False
    x1 = _predict(model, val_a)
    train_on_batch()
    x2 = _predict(model, val_a)
    tf_all_close("  layer frozen", x1, x2, atol=1e-7)


def test_batchnorm_trainable():
    # learning_phase_scope(1): predict in training mode uses the batch statistics
    val_a = np.expand_dims(np.arange(10.0), axis=1)
    layer = N.BatchNormalization(1, dtype=torch.float64)
    with torch.no_grad():
        layer.running_mean.fill_(0.5)
        layer.running_var.fill_(10.0 ** 2)
    out = layer.train()(torch.as_tensor(val_a))
    tf_all_close("NormalizationLayersGraphModeOnlyTest.test_batchnorm_trainable", (val_a - np.mean(val_a)) / np.std(val_a),
                 out, atol=1e-3)


# --------------------------------------------------------------------------
# layer_normalization_test.py
# --------------------------------------------------------------------------


def test_layernorm_weights():
    layer = N.LayerNormalization(4, scale=False, center=False)  # build((None, 3, 4))
    print("LayerNormalizationTest.test_layernorm_weights:", len(list(layer.parameters())),
          len(list(N.LayerNormalization(4).parameters())))
    assert len(list(layer.parameters())) == 0 and len(list(layer.buffers())) == 0
    assert len(list(N.LayerNormalization(4).parameters())) == 2


class _Cast(torch.nn.Module):
    """``Lambda(lambda x: tf.cast(x, "float16"))``."""

    def forward(self, x):
        return x.to(torch.float16)


@pytest.mark.parametrize("dtype", ["float32", "float16"],
                         ids=["test_layernorm_correctness", "test_layernorm_mixed_precision"])
def test_layernorm_correctness(dtype):
    # _run_layernorm_correctness_test: Lambda(cast float16) -> LayerNormalization(dtype) over the last axis (2);
    # the float32 layer computes the float16 input in float32 (torch_impl returns it as float16)
    torch.manual_seed(0)
    x = np.random.RandomState(15).normal(loc=5.0, scale=10.0, size=(1000, 2, 2, 2)).astype(dtype)
    norm = N.LayerNormalization(2, dtype=getattr(torch, dtype))
    model = torch.nn.Sequential(_Cast(), norm)
    _fit(model, x, x, optimizer="sgd", epochs=4)
    gamma, beta = _gamma_beta(norm, (2,))
    out = (_predict(model, x) - beta) / gamma
    print(f"LayerNormalizationTest ({dtype}): mean={out.mean()} std={out.std()}")
    np.testing.assert_allclose(out.mean(), 0.0, atol=1e-1)
    np.testing.assert_allclose(out.std(), 1.0, atol=1e-1)


def test_layernorm_convnet_channel_last():
    torch.manual_seed(0)
    x = np.random.RandomState(16).normal(loc=5.0, scale=10.0, size=(1000, 4, 4, 3))
    norm = N.LayerNormalization(3)
    model = torch.nn.Sequential(norm)
    _fit(model, x, x, optimizer="sgd", epochs=4)
    gamma, beta = _gamma_beta(norm, (1, 1, 1, 3))
    out = (_predict(model, x) - beta) / gamma
    print(f"LayerNormalizationTest.test_layernorm_convnet_channel_last: mean={np.mean(out, axis=(0, 1, 2))} "
          f"std={np.std(out, axis=(0, 1, 2))}")
    np.testing.assert_allclose(np.mean(out, axis=(0, 1, 2)), 0.0, atol=1e-1)
    np.testing.assert_allclose(np.std(out, axis=(0, 1, 2)), 1.0, atol=1e-1)


def _expected_layer_norm(x, beta, gamma, batch_input_shape, axis, epsilon):
    broadcast_shape = [batch_input_shape[i] if i in axis else 1 for i in range(len(batch_input_shape))]
    mean = np.mean(x, axis=axis, keepdims=True)
    var = np.var(x, axis=axis, keepdims=True)
    expected = (x - mean) / np.sqrt(var + epsilon)
    expected *= np.reshape(gamma, broadcast_shape)
    expected += np.reshape(beta, broadcast_shape)
    return expected


def _layer_norm_fn(batch_input_shape, axis, epsilon, dtype):
    """``LayerNormalization(axis=axis, epsilon=epsilon, dtype=dtype)`` as ``f(x, beta, gamma)``: torch_impl's layer
    normalises the trailing ``normalized_shape``, so the normalised axes are moved to the end (in order) and back."""
    nd = len(batch_input_shape)
    rest = [i for i in range(nd) if i not in axis]
    perm = rest + list(axis)
    inv = list(np.argsort(perm))
    param_shape = [batch_input_shape[i] for i in axis]
    layer = N.LayerNormalization(param_shape, epsilon=epsilon, dtype=dtype)

    def f(x, beta, gamma):
        y = torch.func.functional_call(layer, {"weight": gamma, "bias": beta}, (x.permute(perm),))
        return y.permute(inv)

    return f


def _ln_params(batch_input_shape, axis):
    param_shape = [batch_input_shape[i] for i in axis]
    n = int(np.prod(param_shape))
    beta = np.arange(n, dtype="float64").reshape(param_shape)
    gamma = np.arange(1, n + 1, dtype="float64").reshape(param_shape)
    return beta, gamma


FORWARD = [((4, 3), (0,), 1e-2), ((3, 4), (1,), 1e-2), ((4, 3, 2), (0,), 1e-2), ((2, 4, 2), (1,), 1e-2),
           ((2, 3, 4), (2,), 5e-2), ((2, 3, 2), (0, 2), 1e-2), ((2, 2, 2, 2), (1, 3), 1e-2),
           ((2, 2, 2, 2), (2, 3), 1e-2), ((2, 3, 4, 5), (3,), 1e-2)]


@pytest.mark.parametrize("shape,axis,fp16_tol", FORWARD, ids=[f"{s}-{a}" for s, a, _ in FORWARD])
def test_layernorm_forward(shape, axis, fp16_tol):
    # LayerNormalizationNumericsTest.test_forward
    beta, gamma = _ln_params(shape, axis)
    x = np.random.RandomState(17).normal(size=shape)
    worst = {}
    for epsilon in 1e-12, 1e-3:
        expected = _expected_layer_norm(x, beta, gamma, shape, axis, epsilon)
        for dtype, tol in (("float64", 1e-14), ("float32", 1e-6), ("float16", fp16_tol)):
            dt = getattr(torch, dtype)
            f = _layer_norm_fn(shape, axis, epsilon, dt)
            actual = f(torch.as_tensor(x).to(dt), torch.as_tensor(beta).to(dt), torch.as_tensor(gamma).to(dt))
            assert actual.dtype == dt
            actual = actual.detach().double().numpy()
            worst[(epsilon, dtype)] = float(np.max(np.abs(expected - actual)))
            assert np.allclose(expected, actual, rtol=tol, atol=tol), (epsilon, dtype)
    print(f"LayerNormalizationNumericsTest.test_forward {shape} {axis}: max abs diff {worst}")


def _numeric_jacobians(f, args, delta=1.0 / 1024):
    """``tf.test.compute_gradient``'s numeric Jacobians: central differences, ``d f / d arg`` of shape
    ``(f.numel(), arg.numel())`` for each argument."""
    out = []
    for k, a in enumerate(args):
        flat = a.detach().clone().reshape(-1)
        cols = []
        for i in range(flat.numel()):
            plus, minus = flat.clone(), flat.clone()
            plus[i] += delta
            minus[i] -= delta
            ap = list(args)
            ap[k] = plus.reshape(a.shape)
            am = list(args)
            am[k] = minus.reshape(a.shape)
            cols.append(((f(*ap) - f(*am)) / (2 * delta)).reshape(-1))
        out.append(torch.stack(cols, dim=1).detach())
    return out


BACKWARD = [((4, 3), (0,), 1e-5), ((2, 4, 2), (1,), 1e-5), ((2, 3, 4), (2,), 1e-5), ((2, 3, 2), (0, 2), 5e-4),
            ((2, 2, 2, 2), (1, 3), 1e-5), ((2, 2, 2, 2), (2, 3), 1e-5)]


@pytest.mark.parametrize("shape,axis,tol32", BACKWARD, ids=[f"{s}-{a}" for s, a, _ in BACKWARD])
def test_layernorm_backward(shape, axis, tol32):
    # LayerNormalizationNumericsTest.test_backward: the float64 numeric Jacobians are the reference for the
    # float64, float32 and float16 autograd Jacobians (fp64/fp32 tolerance 1e-5, 5e-4 for (2, 3, 2) over (0, 2);
    # float16 2e-2)
    beta, gamma = _ln_params(shape, axis)
    x = np.random.RandomState(18).normal(size=shape)
    worst = {}
    for epsilon in 1e-12, 1e-3:
        ref = None
        for dtype, tol in (("float64", tol32), ("float32", tol32), ("float16", 2e-2)):
            dt = getattr(torch, dtype)
            f = _layer_norm_fn(shape, axis, epsilon, dt)
            args = tuple(torch.as_tensor(v).to(dt) for v in (x, beta, gamma))
            jac = torch.autograd.functional.jacobian(f, args)
            n_out = int(np.prod(shape))
            jac = [j.reshape(n_out, -1).double() for j in jac]
            if ref is None:
                ref = _numeric_jacobians(f, args)
            for name, t, n in zip(("x", "beta", "gamma"), jac, ref):
                worst[(epsilon, dtype, name)] = float((t - n).abs().max())
                assert torch.allclose(t, n, rtol=tol, atol=tol), (epsilon, dtype, name, worst[(epsilon, dtype, name)])
    print(f"LayerNormalizationNumericsTest.test_backward {shape} {axis}: max abs diff "
          f"{ {k: f'{v:.2e}' for k, v in worst.items()} }")


# --------------------------------------------------------------------------
# regularization: dropout_test.py, gaussian_*_test.py, alpha_dropout_test.py, spatial_dropout_test.py
# --------------------------------------------------------------------------


def _close(name, a, b, rtol=1e-6, atol=1e-6):
    """``assertAllClose(a, b)`` for large arrays: prints the max abs diff instead of the arrays."""
    a, b = np.asarray(_np(a), dtype=np.float64), np.asarray(_np(b), dtype=np.float64)
    print(f"{name}: max abs diff {np.max(np.abs(a - b))} over {a.size} values")
    assert a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=atol)


def test_dropout():
    # layer_test(Dropout, rate=0.5, input (3, 2)) and with noise_shape [3, 1]
    x = torch.as_tensor(np.random.RandomState(19).random_sample((3, 2)) + 0.5, dtype=torch.float32)
    y = N.Dropout(0.5, seed=1)(x)
    assert y.shape == x.shape
    assert bool(((y == 0) | (y == 2 * x)).all())
    y = N.Dropout(0.5, noise_shape=[3, 1], seed=3)(x)
    kept = y != 0
    print("DropoutTest.test_dropout: noise_shape [3, 1] kept", kept.tolist())
    assert bool((kept[:, 0] == kept[:, 1]).all()) and bool(((y == 0) | (y == 2 * x)).all())
    assert 0 < int(kept[:, 0].sum()) < 3  # this seed drops a row and keeps another
    big = N.Dropout(0.5, seed=3)(torch.ones(100_000))
    frac = float((big != 0).float().mean())
    print(f"  kept fraction on 1e5 ones: {frac} (1 - rate = 0.5), values {sorted(set(big.tolist()))}")
    assert abs(frac - 0.5) < 0.01 and sorted(set(big.tolist())) == [0.0, 2.0]


def test_dropout_partial_noise_shape():
    layer = N.Dropout(0.5, noise_shape=(None, 1, None), seed=4)
    out = layer(torch.ones(20, 5, 10, dtype=torch.float64))
    _close("DropoutTest.test_dropout_partial_noise_shape", out[:, 0, :], out[:, 1, :])
    assert 0 < int((out == 0).sum()) < out.numel()  # a draw that drops some and keeps some


def test_dropout_with_zero_rate():
    inputs = torch.ones(20, 5, 10, dtype=torch.float64)
    dropout = N.Dropout(0.0)
    state = dropout.state
    output = dropout(inputs)
    _close("DropoutTest.test_dropout_with_zero_rate", inputs, output)
    print("  seed state before/after:", state, dropout.state)
    assert dropout.state == state


def test_dropout_with_saving():
    layer = N.Dropout(0.5)
    model = torch.nn.Sequential(layer)
    x = torch.ones(20, 5, 10)
    train = model.train()(x)
    predict = model.eval()(x)
    assert len(model.state_dict()) == 0 and len(list(model.parameters())) == 0  # no weights, no checkpoint entry
    print(f"DropoutTest.test_dropout_with_saving: train != predict on {int((train != predict).sum())} of 1000")
    assert not np.allclose(_np(train), _np(predict))
    loaded = torch.nn.Sequential(N.Dropout(0.5))  # the "saved and loaded" model: its state dict round trip
    loaded.load_state_dict(model.state_dict())
    _close("  reloaded predict", predict, loaded.eval()(x))
    train2 = loaded.train()(x)
    assert not np.allclose(_np(train), _np(train2))


def _dense_then(layer, dtype):
    """``_make_model``: ``Dense(8, input_shape=(32,), dtype)`` then the noise layer."""
    torch.manual_seed(0)
    return torch.nn.Sequential(N.keras_init_(torch.nn.Linear(32, 8), seed=0), layer).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_gaussian_noise_train_model(dtype):
    model = _dense_then(N.GaussianNoise(0.0003, seed=5), dtype)
    loss = _fit(model, np.zeros((8, 32)), np.zeros((8, 8)), optimizer="sgd", batch_size=8, shuffle=False)["loss"][0]
    out = model.train()(torch.zeros(8, 32, dtype=dtype))
    print(f"NoiseLayersTest.test_gaussian_noise_{str(dtype)[6:]}: loss {loss} (stddev**2 = 9e-8), out {out.dtype}")
    assert out.dtype == dtype and 0.3 * 9e-8 < loss < 3 * 9e-8


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_gaussian_dropout_train_model(dtype):
    model = _dense_then(N.GaussianDropout(0.1, seed=6), dtype)
    loss = _fit(model, np.zeros((8, 32)), np.zeros((8, 8)), optimizer="sgd", batch_size=8, shuffle=False)["loss"][0]
    out = model.train()(torch.zeros(8, 32, dtype=dtype))
    print(f"NoiseLayersTest.test_gaussian_dropout_{str(dtype)[6:]}: loss {loss}, out {out.dtype}")
    assert out.dtype == dtype and loss == 0.0  # zeros times the noise


ALPHA, SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _alpha_affine(rate):
    alpha_p = -ALPHA * SCALE
    a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5
    return a, -a * alpha_p * rate, alpha_p


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_alpha_dropout_train_model(dtype):
    model = _dense_then(N.AlphaDropout(0.5, seed=7), dtype)
    out = model.train()(torch.zeros(8, 32, dtype=dtype))  # before the step: the Dense gives zeros (zero bias)
    loss = _fit(model, np.zeros((8, 32)), np.zeros((8, 8)), optimizer="sgd", batch_size=8, shuffle=False)["loss"][0]
    a, b, alpha_p = _alpha_affine(0.5)
    values = sorted({round(v, 5) for v in out.flatten().tolist()})
    print(f"AlphaDropoutTest.test_alpha_dropout_{str(dtype)[6:]}: loss {loss}, out {out.dtype} values {values}")
    assert out.dtype == dtype
    assert values == sorted({round(b, 5), round(a * alpha_p + b, 5)})  # kept zeros: b; dropped: a * alpha_p + b
    # rate 0.5: a * alpha_p + b = -b, so every squared output is b ** 2
    tf_all_close("  loss vs b ** 2", loss, b ** 2)


def test_gaussian_noise_layer():
    # layer_test(GaussianNoise, stddev=1.0, input (3, 2, 3)): shape; and the noise's std on a large draw
    layer = N.GaussianNoise(1.0, seed=8)
    assert layer(torch.zeros(3, 2, 3)).shape == (3, 2, 3)
    noise = layer(torch.zeros(100_000)).double()
    print(f"NoiseLayersTest.test_GaussianNoise: noise mean {float(noise.mean()):.4f} std {float(noise.std()):.4f}")
    assert abs(float(noise.mean())) < 0.02 and abs(float(noise.std()) - 1.0) < 0.02
    assert layer.eval()(torch.ones(3)).tolist() == [1.0, 1.0, 1.0]


def test_gaussian_dropout_layer():
    layer = N.GaussianDropout(0.5, seed=9)
    assert layer(torch.ones(3, 2, 3)).shape == (3, 2, 3)
    noise = layer(torch.ones(100_000)).double()
    print(f"NoiseLayersTest.test_GaussianDropout: noise mean {float(noise.mean()):.4f} std {float(noise.std()):.4f} "
          f"(1 and sqrt(rate / (1 - rate)) = 1)")
    assert abs(float(noise.mean()) - 1.0) < 0.02 and abs(float(noise.std()) - 1.0) < 0.02


def test_alpha_dropout_layer():
    layer = N.AlphaDropout(0.2, seed=10)
    assert layer(torch.ones(3, 2, 3)).shape == (3, 2, 3)
    x = torch.as_tensor(np.random.RandomState(20).normal(size=100_000), dtype=torch.float64)
    y = layer(x)
    print(f"AlphaDropoutTest.test_AlphaDropout: mean {float(y.mean()):.4f} var {float(y.var()):.4f} (0 and 1 kept)")
    assert abs(float(y.mean())) < 0.02 and abs(float(y.var()) - 1.0) < 0.02


SPATIAL = [("test_spatial_dropout_1d", (2, 3, 4), (2, 1, 4)),
           ("test_spatial_dropout_2d", (2, 3, 4, 5), (2, 1, 1, 5)),
           ("test_spatial_dropout_2d[channels_first]", (2, 3, 4, 5), (2, 3, 1, 1)),
           ("test_spatial_dropout_3d", (2, 3, 4, 4, 5), (2, 1, 1, 1, 5)),
           ("test_spatial_dropout_3d[channels_first]", (2, 3, 4, 4, 5), (2, 3, 1, 1, 1))]


@pytest.mark.parametrize("shape,noise_shape", [s[1:] for s in SPATIAL], ids=[s[0] for s in SPATIAL])
def test_spatial_dropout(shape, noise_shape):
    x = torch.as_tensor(np.random.RandomState(21).random_sample(shape) + 0.5, dtype=torch.float32)
    y = N.Dropout(0.5, noise_shape=noise_shape, seed=11)(x)
    kept = (y != 0).to(torch.int64)
    per_map = kept.amax(dim=[d for d, n in enumerate(noise_shape) if n == 1], keepdim=True)
    assert bool((kept == per_map).all())  # a feature map is kept or dropped whole
    assert bool(((y == 0) | (y == 2 * x)).all())
    print(f"SpacialDropoutTest {shape} noise {noise_shape}: kept maps {per_map.flatten().tolist()}")


# --------------------------------------------------------------------------
# activation/*_test.py: layer_test (no expected output) -> the NumPy formula on a seeded (2, 3, 4) input
# --------------------------------------------------------------------------

ACT_X = np.random.RandomState(22).normal(scale=3.0, size=(2, 3, 4)).astype(F32)


def _act(layer):
    return layer(torch.as_tensor(ACT_X)).detach().numpy()


@pytest.mark.parametrize("alpha", [0.0, 0.5, -1.0])
def test_elu(alpha):
    expected = np.where(ACT_X > 0, ACT_X, alpha * (np.exp(ACT_X) - 1))
    _close(f"ELUTest.test_elu[alpha={alpha}]", _act(N.ELU(alpha=alpha)), expected)


def test_elu_with_invalid_alpha():
    # Keras 2: ValueError when made; Keras 3.15.1: made, ValueError at the call; torch_impl: Keras 2's ValueError
    with pytest.raises(ValueError, match="Alpha of an ELU layer cannot be None, expecting a float. Received: None"):
        N.ELU(alpha=None)


@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_leaky_relu(alpha):
    _close(f"LeakyReLUTest.test_leaky_relu[alpha={alpha}]", _act(N.LeakyReLU(negative_slope=alpha)),
                 np.where(ACT_X > 0, ACT_X, alpha * ACT_X))


def test_leaky_relu_with_invalid_alpha():
    # Keras 2: "The alpha value of a Leaky ReLU layer cannot be None. Expecting a float. Received: None";
    # Keras 3.15.1 (alpha -> negative_slope): "... cannot be None or negative value. Expected a float. ..."
    with pytest.raises(ValueError, match="The negative_slope value of a Leaky ReLU layer cannot be None or negative"):
        N.LeakyReLU(negative_slope=None)


def test_relu():
    _close("ReLUTest.test_relu[max_value=10]", _act(N.ReLU(max_value=10)), np.clip(ACT_X, 0, 10))
    # the graph-mode op names (LeakyRelu / Relu / Relu6): the kernels' difference visible in torch is relu6's
    # zero gradient at 6 (Relu: the gradient 1 at 6 under max_value=10)
    for max_value, grad in ((6, 0.0), (10, 1.0)):
        x = torch.tensor([6.0], requires_grad=True)
        N.ReLU(max_value=max_value)(x).sum().backward()
        print(f"  ReLU(max_value={max_value}) gradient at 6: {x.grad.item()}")
        assert x.grad.item() == grad
    _close("  ReLU(negative_slope=0.2)", _act(N.ReLU(negative_slope=0.2)),
                 np.where(ACT_X > 0, ACT_X, np.float32(0.2) * ACT_X))


@pytest.mark.parametrize("kwargs,match", [
    ({"max_value": -10}, "max_value of a ReLU layer cannot be a negative value. Received: max_value=-10"),
    ({"negative_slope": None}, "negative_slope of a ReLU layer cannot be None or a negative value. Received: "
                               "negative_slope=None"),
    ({"negative_slope": -10}, "negative_slope of a ReLU layer cannot be None or a negative value. Received: "
                              "negative_slope=-10"),
    ({"threshold": None}, "threshold of a ReLU layer cannot be None or a negative value. Received: threshold=None"),
    ({"threshold": -10}, "threshold of a ReLU layer cannot be None or a negative value. Received: threshold=-10"),
], ids=["test_relu_with_invalid_max_value", "test_relu_with_invalid_negative_slope[None]",
        "test_relu_with_invalid_negative_slope[-10]", "test_relu_with_invalid_threshold[None]",
        "test_relu_with_invalid_threshold[-10]"])
def test_relu_invalid(kwargs, match):
    # Keras 2: "... cannot be a negative value. Received: -10"; Keras 3.15.1's messages (asserted here) add
    # "None or" and the argument's name
    with pytest.raises(ValueError, match=match.replace(".", r"\.")):
        N.ReLU(**kwargs)


@pytest.mark.parametrize("name", ["test_softmax", "test_softmax_robust_masking"])
def test_softmax(name):
    # axis=1 on (2, 3, 4); robust_masking (Keras 2 only) changes the masked path alone
    e = np.exp(ACT_X.astype(np.float64) - ACT_X.max(axis=1, keepdims=True))
    _close(f"SoftmaxTest.{name}", _act(N.Softmax(axis=1)), e / e.sum(axis=1, keepdims=True))


def test_thresholded_relu():
    # ThresholdedReLU(theta=0.5) (gone in Keras 3) = ReLU(threshold=0.5): x above theta, else 0
    _close("ThresholdedReLUTest.test_thresholded_relu", _act(N.ReLU(threshold=0.5)),
                 np.where(ACT_X > 0.5, ACT_X, 0.0))


@pytest.mark.parametrize("theta", [None, -10])
def test_threshold_relu_with_invalid_theta(theta):
    # Keras 2: "Theta of a Thresholded ReLU layer cannot be None ..." / "... should be >=0. Received: -10"
    with pytest.raises(ValueError, match=f"threshold of a ReLU layer cannot be None or a negative value. "
                                         f"Received: threshold={theta}"):
        N.ReLU(threshold=theta)

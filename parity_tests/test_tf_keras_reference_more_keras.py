"""The Keras 3.15.1 numbers that ``test_tf_keras_reference_more.py`` keeps where Keras 2's differ, re-measured on
real Keras (TensorFlow backend) with the same inputs: the per-output losses of the two-output model over batches
of 2, 2, 1 (``sum_over_batch_size`` and ``sum``), the one-output-weighted form, ``test_metrics_masking``'s
ValueError, and R2Score's adjusted scores (Keras 3.15.1 = Keras 2's, torch_impl follows keras-team/keras#23334).

Slow (TensorFlow start-up): ``.venv/bin/python -m pytest -q -s -p no:cacheprovider
parity_tests/test_tf_keras_reference_more_keras.py``
"""

from __future__ import annotations

import numpy as np
import pytest

import parity_tests.test_tf_keras_reference_more as ref  # imports torch before TensorFlow

pytestmark = [pytest.mark.keras, pytest.mark.slow]


@pytest.fixture(scope="module")
def keras(keras3):
    return keras3


def _multi(keras, loss="mse", with_metrics=True):
    L = keras.layers
    i1, i2 = keras.Input((1,), name="input_1"), keras.Input((1,), name="input_2")
    x = L.Dense(3, kernel_initializer="ones", trainable=False)
    o1 = L.Dense(1, kernel_initializer="ones", name="output_1", trainable=False)
    o2 = L.Dense(1, kernel_initializer="ones", name="output_2", trainable=False)
    model = keras.Model([i1, i2], [o1(x(i1)), o2(x(i2))])
    M = keras.metrics.MeanSquaredError
    kw = dict(metrics=[[M(name="mean_squared_error")], [M(name="mean_squared_error")]],
              weighted_metrics=[[M(name=ref.WMSE)], [M(name=ref.WMSE)]]) if with_metrics else {}
    model.compile("rmsprop", loss=loss, **kw)
    return model


@pytest.mark.parametrize("sw,fit_expected,eval_expected", [
    (None, ref.MULTI_FIT_K3, ref.MULTI_BATCH_K3),
    ([ref.SW1, ref.SW2], ref.MULTI_FIT_W_K3, ref.MULTI_BATCH_W_K3),
    ([ref.ONES5, ref.SW2], ref.MULTI_FIT_W2_K3, ref.MULTI_BATCH_W2_K3)])
def test_multi_io_keras3_numbers(keras, sw, fit_expected, eval_expected):
    X, Y = [ref.X5, ref.X5], [ref.Y1, ref.Y2]
    hist = _multi(keras).fit(X, Y, sample_weight=sw, batch_size=2, epochs=2, shuffle=False, verbose=0).history
    ref._check_history("Keras 3.15.1 fit", hist, fit_expected, rtol=1e-6)
    logs = _multi(keras).evaluate(X, Y, sample_weight=sw, batch_size=2, verbose=0)
    ref.tf_all_close("Keras 3.15.1 evaluate", logs, eval_expected, rtol=1e-6)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum"])
def test_reduction_keras3_numbers(keras, reduction):
    model = _multi(keras, keras.losses.MeanSquaredError(reduction=reduction), with_metrics=False)
    logs = model.evaluate([ref.X5, ref.X5], [ref.Y1, ref.Y2], sample_weight=[ref.SW1, ref.SW2], batch_size=2,
                          verbose=0)
    ref.tf_all_close(f"Keras 3.15.1 evaluate [{reduction}]", logs, ref.RED_FIT_K3[reduction], rtol=1e-6)
    with pytest.raises(ValueError, match="Invalid value for argument `reduction`"):
        keras.losses.MeanSquaredError(reduction="auto")


def test_metrics_masking_keras3(keras):
    L = keras.layers
    model = keras.Sequential([keras.Input((2, 1)), L.Masking(mask_value=0),
                              L.TimeDistributed(L.Dense(1, kernel_initializer="ones"))])
    model.compile(keras.optimizers.RMSprop(0.001), loss="mse", weighted_metrics=["accuracy"])
    ref.tf_array_near("Keras 3.15.1 test_on_batch", model.test_on_batch(ref.MASK_X, ref.MASK_Y), [0.25, 0.75], 1e-4)
    with pytest.raises(ValueError):
        model.test_on_batch(ref.MASK_X, ref.MASK_Y, sample_weight=ref.MASK_W)
    ref.tf_array_near("Keras 3.15.1 test_on_batch (w as (3, 1))",
                      model.test_on_batch(ref.MASK_X, ref.MASK_Y, sample_weight=ref.MASK_W[:, None]), [0.5, 0.8], 1e-4)


def test_r2_adjusted_keras3(keras):
    for case in ref.METRIC_CASES:
        if not case.id.startswith("R2ScoreTest.test_r2_tfa") or case.keras2 is None:
            continue
        m = keras.metrics.R2Score(**case.kwargs)
        m.update_state(case.y_true, case.y_pred, case.sample_weight)
        ref.tf_all_close(f"Keras 3.15.1 {case.id} (= Keras 2)", np.asarray(m.result()), case.keras2, rtol=1e-6,
                         atol=1e-5)

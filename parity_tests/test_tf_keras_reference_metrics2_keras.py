"""Every case of ``test_tf_keras_reference_metrics2.py`` re-measured on real Keras 3.15.1 (TensorFlow backend) with
the same inputs and the same assertion, so the numbers kept there (Keras 2's, or Keras 3's where ``keras2=`` is
given: the IoUs' int confusion matrix) are Keras 3.15.1's; plus Keras 3's ``"PR_GAIN"`` ValueError and the
``ResetStatesTest`` counts after two ``evaluate`` calls.

Slow (TensorFlow start-up): ``.venv/bin/python -m pytest -q -s -p no:cacheprovider
parity_tests/test_tf_keras_reference_metrics2_keras.py``
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import parity_tests.test_tf_keras_reference_metrics2 as ref  # imports torch before TensorFlow

pytestmark = [pytest.mark.keras, pytest.mark.slow]


@pytest.fixture(scope="module")
def keras(keras3):
    return keras3


@pytest.mark.parametrize("case", [pytest.param(k, id=k.id) for k in ref.CASES])
def test_case_keras3(keras, case):
    obj = ref.make(keras.metrics, case)
    result = None if case.updates else obj.result()  # a Keras metric built on its first update
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for upd in case.updates:
            result = obj(*upd)
    ref.check(case, obj, np.asarray(result), who="Keras 3.15.1")


def test_pr_gain_keras3(keras):
    with pytest.raises(ValueError, match='Invalid AUC curve value: "PR_GAIN"'):
        keras.metrics.AUC(num_thresholds=3, curve="PR_GAIN")


@pytest.mark.parametrize("name,make_obj,x,y,want", [pytest.param(*r, id=r[0]) for r in ref.RESET_CASES[::3]])
def test_reset_state_keras3(keras, name, make_obj, x, y, want):
    """A few ``ResetStatesTest`` cases on a Keras model (the metric built from ``keras.metrics``)."""
    L = keras.layers
    model = keras.Sequential([keras.Input((4,)), L.Dense(3, activation="relu", kernel_initializer="ones"),
                              L.Dense(1, activation="sigmoid", kernel_initializer="ones")])
    torch_obj = make_obj()  # the same constructor arguments on the Keras class
    cls = getattr(keras.metrics, type(torch_obj).__name__)
    obj = cls(torch_obj.value, num_thresholds=torch_obj.num_thresholds) if hasattr(torch_obj, "value") else cls()
    model.compile(loss="mae", metrics=[obj])
    for i in range(2):
        model.evaluate(np.asarray(x, np.float32), np.asarray(y, np.float32), verbose=0)
        for attr, w in want.items():
            v = np.asarray(getattr(obj, attr))
            got, expected = (float(v[w[0]]), w[1]) if isinstance(w, tuple) else (float(v.reshape(-1)[0]), w)
            print(f"Keras 3.15.1 test_reset_state_{name} evaluate #{i + 1}: {attr}={got} expected={expected}")
            assert got == expected

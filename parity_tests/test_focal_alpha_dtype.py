"""Per-class focal ``alpha``: which precision Keras really uses.

Keras on TensorFlow turns a Python list ``alpha`` into a float32 tensor
(``tf.convert_to_tensor``'s default) whatever ``floatx`` is, so a float64 loss
uses float32-rounded alphas; a float64 NumPy array keeps float64. torch_impl
follows both rules, in any torch default dtype.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torch_impl import losses

pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

ALPHA = [0.1, 0.2, 0.3, 0.15, 0.25]  # none exact in float32


@pytest.fixture
def float64_everywhere():
    old_floatx, old_default = keras.config.floatx(), torch.get_default_dtype()
    keras.config.set_floatx("float64")
    torch.set_default_dtype(torch.float64)
    yield
    keras.config.set_floatx(old_floatx)
    torch.set_default_dtype(old_default)


@pytest.mark.keras
@pytest.mark.parametrize("kind", ["list", "tuple", "float64_array", "float32_array"])
@pytest.mark.parametrize("from_logits", [False, True])
def test_alpha_precision_in_float64(kind, from_logits, float64_everywhere):
    rng = np.random.default_rng(7)
    logits = rng.normal(size=(64, 5)) * 3
    pred = logits if from_logits else np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.eye(5)[rng.integers(0, 5, 64)]
    alpha = {"list": ALPHA, "tuple": tuple(ALPHA), "float64_array": np.array(ALPHA),
             "float32_array": np.array(ALPHA, np.float32)}[kind]
    ref = float(keras.losses.CategoricalFocalCrossentropy(alpha=alpha, gamma=2.0, from_logits=from_logits)(y, pred))
    ours = float(losses.CategoricalFocalCrossentropy(alpha=alpha, gamma=2.0, from_logits=from_logits)(
        torch.tensor(y), torch.tensor(pred)))
    # the float32 and float64 alphas give values 1e-8 apart: a 1e-14 match tells them apart
    rel = abs(ours - ref) / ref
    print(f"alpha={kind} from_logits={from_logits}: keras {ref:.17g} torch_impl {ours:.17g} rel {rel:.1e}")
    assert rel < 1e-14

"""class_weight -> sample_weight exactly as Keras fit, and how it normalises."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torch_impl import losses
from torch_impl.class_weight import class_weight_to_sample_weight, compute_class_weight

LABELS = {
    "int": np.array([0, 1, 2, 1, 0, 3]),
    "col_float": np.array([[0.0], [1.5], [2.5], [0.49], [2.0], [-0.5]]),  # half to even: 2, 2, 0, 0
    "one_hot": np.eye(4)[[3, 1, 2, 1, 0, 0]],
    "soft": np.array([[0.2, 0.7, 0.1], [0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]),
}
WEIGHTS = [{0: 1.0, 1: 10.0, 2: 10.0}, {1: 0.3}, {0: 2, 3: 0.1}, {}]


@pytest.mark.keras
@pytest.mark.parametrize("kind", list(LABELS))
@pytest.mark.parametrize("cw", WEIGHTS, ids=str)
def test_matches_keras_fit_rule(kind, cw):
    pytest.importorskip("keras")
    from keras.src.trainers.data_adapters.data_adapter_utils import class_weight_to_sample_weights

    y = LABELS[kind]
    ref = class_weight_to_sample_weights(y, cw)
    ours = class_weight_to_sample_weight(torch.as_tensor(y), cw)
    print(kind, cw, ref.tolist(), ours.tolist())
    assert ours.dtype == torch.float32 and ref.dtype == np.float32
    np.testing.assert_array_equal(ours.numpy(), ref)


def test_dtype_follows_default_dtype_like_floatx():
    cw = {1: 0.1}
    assert class_weight_to_sample_weight([1], cw)[0].item() == np.float32(0.1)
    w64 = class_weight_to_sample_weight([1], cw, dtype=torch.float64)
    assert w64.dtype == torch.float64 and w64[0].item() == 0.1


def test_balanced_is_scikit_learns():
    from sklearn.utils.class_weight import compute_class_weight as sk

    y = np.array([0] * 90 + [1] * 5 + [2] * 5)
    ours = compute_class_weight(y)
    ref = sk("balanced", classes=np.array([0, 1, 2]), y=y)
    assert ours == {0: ref[0], 1: ref[1], 2: ref[2]}
    assert compute_class_weight(np.eye(3)[y]) == ours  # one-hot labels too
    print("balanced weights for 90/5/5:", ours)


def test_keras_normalisation_differs_from_torch_weighted_ce():
    """sum(w_i l_i) / N (Keras) versus sum(w_i l_i) / sum(w_i) (torch's weight=)."""
    torch.manual_seed(0)
    y = torch.tensor([0] * 9 + [1])
    logits = torch.randn(10, 2)
    cw = {0: 1.0, 1: 9.0}
    sw = class_weight_to_sample_weight(y, cw)
    keras_style = losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits, sample_weight=sw)
    torch_style = torch.nn.functional.cross_entropy(logits, y, weight=torch.tensor([1.0, 9.0]))
    per = torch.nn.functional.cross_entropy(logits, y, reduction="none")
    torch.testing.assert_close(keras_style, (per * sw).sum() / 10)
    torch.testing.assert_close(torch_style, (per * sw).sum() / sw.sum())
    ratio = float(torch_style / keras_style)
    print(f"Keras {float(keras_style):.6f} vs torch weight= {float(torch_style):.6f}: ratio {ratio:.4f} = N/sum(w) = {10 / 18:.4f}")
    assert abs(ratio - 10 / 18) < 1e-6
    # mean_with_sample_weight is the reduction that equals torch's weight= normalisation
    mws = losses.SparseCategoricalCrossentropy(from_logits=True, reduction="mean_with_sample_weight")(y, logits, sw)
    torch.testing.assert_close(mws, torch_style)

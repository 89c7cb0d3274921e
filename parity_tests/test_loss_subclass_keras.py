"""A loss written the Keras way, by subclassing ``Loss`` and implementing ``call``, behaves as in Keras.

Keras's ``Loss.__call__`` converts ``y_true`` and ``y_pred`` to tensors of the
loss dtype, calls ``call`` (which returns one loss per sample) and applies the
sample weights and the reduction. The same subclass body ported to
``torch_impl.losses.Loss`` must give the same numbers, at every batch size
(a ``call`` returning a tensor of 2 losses was once unpacked as ``(values, mask)``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

from torch_impl import losses as L  # noqa: E402

pytestmark = pytest.mark.keras


class TorchWeightedMSE(L.Loss):
    def __init__(self, scale=2.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, y_true, y_pred):
        return self.scale * torch.mean((y_true - y_pred) ** 2, dim=-1)


class KerasWeightedMSE(keras.losses.Loss):
    def __init__(self, scale=2.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, y_true, y_pred):
        return self.scale * keras.ops.mean((y_true - y_pred) ** 2, axis=-1)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n", [1, 2, 5])
def test_subclass_call_like_keras(n, weighted, reduction):
    rng = np.random.default_rng(n)
    y = rng.integers(0, 2, (n, 3))  # integer targets: Keras converts them to the loss dtype first
    p = rng.uniform(size=(n, 3)).astype("float32")
    sw = rng.uniform(size=n).astype("float32") if weighted else None
    ours = TorchWeightedMSE(reduction=reduction)(y, torch.as_tensor(p),
                                                   sample_weight=None if sw is None else torch.as_tensor(sw))
    ref = np.asarray(KerasWeightedMSE(reduction=reduction)(y, p, sample_weight=sw))
    print(f"n={n} weighted={weighted} {reduction}: ours {ours.detach().numpy()} keras {ref}")
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours.detach().numpy(), ref, rtol=1e-6, atol=1e-7)


def test_subclass_default_name_and_mask_form():
    # Keras names a loss after its class in snake case (and numbers repeats: keras_weighted_mse_3); ours has
    # no global counter
    assert TorchWeightedMSE().name == "torch_weighted_mse"
    assert KerasWeightedMSE().name.startswith("keras_weighted_mse")

    class Masked(L.Loss):  # the (values, mask) form: masked entries leave the mean
        def call(self, y_true, y_pred):
            return (y_true - y_pred) ** 2, y_true >= 0

    v = Masked()(torch.tensor([1.0, -1.0, 2.0]), torch.tensor([0.0, 0.0, 0.0]))
    assert float(v) == pytest.approx(5.0 / 2)

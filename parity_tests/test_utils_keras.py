"""``torch_impl.utils.to_categorical`` against ``keras.utils.to_categorical`` (keras 3.15.1)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

from torch_impl.utils import to_categorical  # noqa: E402

pytestmark = pytest.mark.keras


@pytest.mark.parametrize("labels,num_classes", [
    ([0, 2, 1, 2], None), ([[0], [3], [1]], None), (np.array([[1, 2], [0, 0]]), 4), (np.array([1.0, 0.0]), 3),
    (np.array([[[2]], [[0]]]), None), (np.arange(5), 7), ([True, False], None), (np.array([], dtype=int), 3),
])
def test_to_categorical_like_keras(labels, num_classes):
    k = keras.utils.to_categorical(labels, num_classes)
    t = to_categorical(labels, num_classes)
    print(f"{np.asarray(labels).tolist()} (num_classes={num_classes}): Keras {k.shape} {k.dtype}, "
          f"torch_impl {t.shape} {t.dtype}")
    assert t.shape == k.shape and t.dtype == k.dtype and np.array_equal(t, k)


def test_tensor_labels_and_what_keras_gets_wrong():
    t = to_categorical(torch.tensor([[1], [0]]), 3)
    assert t.dtype == torch.get_default_dtype() and t.tolist() == [[0, 1, 0], [1, 0, 0]]
    # Keras's NumPy path: -1 silently becomes the last class, 1.5 becomes class 1
    assert keras.utils.to_categorical([-1], 3).tolist() == [[0, 0, 1]]
    assert keras.utils.to_categorical([1.5], 3).tolist() == [[0, 1, 0]]
    for bad in ([-1], [1.5], [3]):
        with pytest.raises(ValueError):
            to_categorical(bad, 3)

"""``torch_impl.utils.to_categorical`` against ``keras.utils.to_categorical`` (keras 3.15.1)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

from keras_impl.ops import utils_normalize  # noqa: E402
from torch_impl import utils  # noqa: E402
from torch_impl.utils import pad_sequences, to_categorical  # noqa: E402

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


def test_pad_sequences_like_keras():
    """``pad_sequences`` against ``keras.utils.pad_sequences`` on 400 random calls (lists or arrays of token
    ids, empty sequences, ``maxlen`` 0-7 or none, both paddings and truncations, values, dtypes): the same
    arrays (dtype and shape included), or the same exception class; item shapes and strings too."""
    rng = np.random.default_rng(0)
    same = errors = 0
    for _ in range(400):
        seqs = [list(rng.integers(1, 9, size=int(rng.integers(0, 7)))) for _ in range(int(rng.integers(1, 6)))]
        if rng.random() < 0.2:
            seqs = [np.asarray(s) for s in seqs]
        kw = {}
        if rng.random() < 0.6:
            kw["maxlen"] = int(rng.integers(0, 8))
        for key, choices in (("padding", ["pre", "post"]), ("truncating", ["pre", "post"]),
                             ("value", [-1.0, 0.5, 7.0]), ("dtype", ["float32", "int64", "float64"])):
            if rng.random() < 0.4:
                kw[key] = choices[int(rng.integers(len(choices)))]
        try:
            ref, ref_error = keras.utils.pad_sequences(seqs, **kw), None
        except Exception as e:  # noqa: BLE001 - the class is compared
            ref, ref_error = None, type(e)
        try:
            ours, our_error = pad_sequences(seqs, **kw), None
        except Exception as e:  # noqa: BLE001
            ours, our_error = None, type(e)
        assert our_error is ref_error, (kw, seqs, ref_error, our_error)
        if ref_error is None:
            assert ours.dtype == ref.dtype and np.array_equal(ours, ref), (kw, seqs)
            same += 1
        else:
            errors += 1
    items = [np.ones((2, 3)), np.zeros((4, 3))]
    assert np.array_equal(pad_sequences(items, maxlen=3), keras.utils.pad_sequences(items, maxlen=3))
    words = [["a", "b"], ["c"]]
    assert np.array_equal(pad_sequences(words, dtype=object, value="<pad>"),
                          keras.utils.pad_sequences(words, dtype=object, value="<pad>"))
    for bad in ({"padding": "middle"}, {"value": "x"}):
        with pytest.raises(ValueError):
            pad_sequences([[1, 2]], **bad)
    print(f"pad_sequences: {same} arrays equal to Keras's, {errors} calls raising the same exception class")


def test_normalize_like_keras():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(5, 4))
    x[2] = 0.0
    worst = 0.0
    for axis, order in [(-1, 2), (0, 2), (1, 1), (-1, 3), (0, 1)]:
        for arr in (x, x.astype("float32")):
            if axis == 0:  # 3.15.1's `axis = axis or -1` turns axis 0 into -1 for NumPy input: (5,4) / (4,1) raises
                with pytest.raises(ValueError, match="broadcast"):
                    keras.utils.normalize(arr, axis=axis, order=order)
                # fixed upstream (keras-team/keras#23328): the norms along axis 0, which torch_impl follows
                ours, theirs = utils.normalize(arr, axis=axis, order=order), utils_normalize(arr, axis, order)
            else:
                ours, theirs = utils.normalize(arr, axis=axis, order=order), keras.utils.normalize(arr, axis=axis,
                                                                                                    order=order)
            assert isinstance(ours, np.ndarray) and ours.dtype == theirs.dtype
            np.testing.assert_array_equal(ours, theirs)
        t_ours = utils.normalize(torch.tensor(x), axis=axis, order=order).numpy()
        t_theirs = np.asarray(keras.utils.normalize(keras.ops.convert_to_tensor(x), axis=axis, order=order))
        worst = max(worst, float(np.abs(t_ours - t_theirs).max()))
    print(f"utils.normalize: NumPy equal, tensors within {worst:.1e}")
    assert worst <= 1e-15


def test_pack_and_unpack_like_keras():
    x, y, w = np.ones((2, 1)), np.zeros((2, 1)), np.ones(2)
    for data in (x, (x,), (x, y), [x, y], (x, y, w)):
        ours, theirs = utils.unpack_x_y_sample_weight(data), keras.utils.unpack_x_y_sample_weight(data)
        assert len(ours) == 3 and all((a is None) == (b is None) for a, b in zip(ours, theirs))
    for args in ((x,), ([x, x],), (x, y), (x, y, w)):
        ours, theirs = utils.pack_x_y_sample_weight(*args), keras.utils.pack_x_y_sample_weight(*args)
        assert type(ours) is type(theirs) and (len(ours) == len(theirs) if isinstance(ours, tuple) else True)
    with pytest.raises(ValueError, match="Data is expected to be in format"):
        keras.utils.unpack_x_y_sample_weight((x, y, w, w))
    with pytest.raises(ValueError, match="Data is expected to be in format"):
        utils.unpack_x_y_sample_weight((x, y, w, w))

"""Bad input gives a clear error, never a silent wrong number (no TensorFlow needed)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from torch_impl import losses
from torch_impl.class_weight import class_weight_to_sample_weight, compute_class_weight
from torch_impl.reduction import reduce_weighted_values


def test_integer_labels_to_categorical_say_use_sparse():
    y_pred = torch.softmax(torch.randn(4, 3), -1)
    for y_true in (torch.tensor([0, 2, 1, 1]), torch.tensor([[0], [2], [1], [1]])):
        for loss in (losses.CategoricalCrossentropy(), losses.CategoricalFocalCrossentropy()):
            with pytest.raises(ValueError, match="SparseCategoricalCrossentropy") as e:
                loss(y_true, y_pred)
            assert str(tuple(y_true.shape)) in str(e.value) and "(4, 3)" in str(e.value)


def test_one_hot_labels_to_sparse_say_use_categorical():
    y_true = torch.eye(3)[[0, 2, 1, 1]]
    with pytest.raises(ValueError, match="CategoricalCrossentropy") as e:
        losses.SparseCategoricalCrossentropy()(y_true, torch.softmax(torch.randn(4, 3), -1))
    assert "(4, 3)" in str(e.value) and "one-hot" in str(e.value)


@pytest.mark.parametrize("make", [losses.CategoricalCrossentropy, losses.SparseCategoricalCrossentropy,
                                  losses.BinaryCrossentropy, losses.BinaryFocalCrossentropy,
                                  losses.CategoricalFocalCrossentropy])
def test_torch_argument_order_warns_that_the_arguments_look_swapped(make):
    """``loss(logits, labels)``, torch's order, gives integer predictions: a warning that points at the user's
    line (Keras casts and computes, so do we, where the shapes allow it)."""
    logits, labels = torch.randn(4, 3), torch.tensor([0, 2, 1, 1])
    for target in (labels, torch.nn.functional.one_hot(labels, 3)):
        with pytest.warns(UserWarning, match="look swapped") as record:
            try:
                make(from_logits=True)(logits, target)
            except ValueError:
                pass  # the shapes cannot be read the other way round
        assert all(w.filename == __file__ for w in record if "look swapped" in str(w.message))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # integer targets and predictions (Keras's own tests) do not warn
        losses.binary_crossentropy(torch.tensor([[0, 1]]), torch.tensor([[1, 0]]))


def test_binary_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"y_true.shape=\(4,\), y_pred.shape=\(4, 3\)"):
        losses.binary_crossentropy(torch.ones(4), torch.rand(4, 3))
    with pytest.raises(ValueError, match="SparseCategoricalCrossentropy"):
        losses.BinaryCrossentropy()(torch.ones(4), torch.rand(4, 3))


def test_n_vs_n1_never_broadcasts_to_nn():
    y_true = torch.tensor([0.0, 1.0, 1.0, 0.0])
    y_pred = torch.tensor([[0.2], [0.7], [0.9], [0.4]])
    out = losses.BinaryCrossentropy(reduction=None)(y_true, y_pred)
    assert out.shape == (4,)
    expected = -torch.log(torch.tensor([0.8, 0.7, 0.9, 0.6]))
    torch.testing.assert_close(out, expected)
    v = reduce_weighted_values(out, torch.ones(4, 1), reduction=None)
    assert v.shape == (4, 1)  # Keras expands the rank-1 side: (N, 1), never (N, N)


@pytest.mark.parametrize("label", [3, -1, 7])
def test_out_of_range_sparse_labels(label):
    y = torch.tensor([0, 1, label])
    with pytest.raises(ValueError, match=rf"label {label} is outside the valid range \[0, 3\)"):
        losses.SparseCategoricalCrossentropy(from_logits=True)(y, torch.randn(3, 3))


def test_ignore_class_allows_its_out_of_range_value():
    y = torch.tensor([0, 1, -1])
    v = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)(y, torch.zeros(3, 3))
    assert math.isclose(float(v), math.log(3), rel_tol=1e-6)
    with pytest.raises(ValueError, match="outside the valid range"):
        losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)(torch.tensor([0, 5, -1]), torch.zeros(3, 3))


def test_non_integer_sparse_labels():
    with pytest.raises(ValueError, match="non-integer"):
        losses.sparse_categorical_crossentropy(torch.tensor([0.0, 1.5]), torch.rand(2, 3))
    with pytest.raises(ValueError, match="integers"):
        losses.sparse_categorical_crossentropy(torch.tensor([1j, 0j]), torch.rand(2, 3))
    # integral floats and booleans are fine (Keras casts them: True is class 1)
    p = torch.rand(2, 3)
    assert torch.equal(losses.sparse_categorical_crossentropy(torch.tensor([0.0, 2.0]), p),
                       losses.sparse_categorical_crossentropy(torch.tensor([0, 2]), p))
    assert torch.equal(losses.sparse_categorical_crossentropy(torch.tensor([True, False]), p),
                       losses.sparse_categorical_crossentropy(torch.tensor([1, 0]), p))


@pytest.mark.parametrize("reduction", ["avg", "auto", "MEAN", "", 0])
def test_unknown_reduction(reduction):
    with pytest.raises(ValueError, match="reduction"):
        losses.CategoricalCrossentropy(reduction=reduction)


@pytest.mark.parametrize("s", [-0.1, 1.1, float("nan")])
def test_label_smoothing_range(s):
    for cls in (losses.CategoricalCrossentropy, losses.BinaryCrossentropy, losses.BinaryFocalCrossentropy,
                losses.CategoricalFocalCrossentropy):
        with pytest.raises(ValueError, match="label_smoothing"):
            cls(label_smoothing=s)
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.categorical_crossentropy(torch.eye(2), torch.eye(2), label_smoothing=s)


@pytest.mark.parametrize("gamma", [-1.0, -1e-9, float("nan")])
def test_negative_gamma(gamma):
    with pytest.raises(ValueError, match="gamma"):
        losses.BinaryFocalCrossentropy(gamma=gamma)
    with pytest.raises(ValueError, match="gamma"):
        losses.CategoricalFocalCrossentropy(gamma=gamma)
    with pytest.raises(ValueError, match="gamma"):
        losses.focal_loss(gamma=gamma)


def test_per_class_alpha_length():
    with pytest.raises(ValueError, match="3 values but y_pred has 4 classes"):
        losses.CategoricalFocalCrossentropy(alpha=[0.1, 0.2, 0.3])(torch.eye(4), torch.softmax(torch.randn(4, 4), -1))
    with pytest.raises(ValueError, match="alpha"):
        losses.CategoricalFocalCrossentropy(alpha=[[0.1, 0.2], [0.3, 0.4]])
    # a (1, C) alpha broadcasts over the rows as Keras's multiply does: its length is checked at the call
    with pytest.raises(ValueError, match="2 values but y_pred has 4 classes"):
        losses.CategoricalFocalCrossentropy(alpha=[[0.1, 0.2]])(torch.eye(4), torch.softmax(torch.randn(4, 4), -1))


@pytest.mark.parametrize("axis", [True, 1.0, "1", None])
def test_bad_axis_type(axis):
    with pytest.raises(ValueError, match="axis"):
        losses.CategoricalCrossentropy(axis=axis)


def test_axis_out_of_range():
    with pytest.raises(ValueError, match="axis=2 is out of range"):
        losses.CategoricalCrossentropy(axis=2)(torch.eye(3), torch.eye(3))


def test_bad_ignore_class():
    with pytest.raises(ValueError, match="ignore_class"):
        losses.SparseCategoricalCrossentropy(ignore_class=1.5)


def test_sample_weight_that_does_not_broadcast_names_shapes():
    loss = losses.CategoricalCrossentropy()
    y = torch.eye(5)[torch.randint(0, 5, (3, 4))]
    with pytest.raises(ValueError, match=r"sample_weight of shape \(3,\) cannot be applied to losses of shape \(3, 4\)"):
        loss(y, torch.softmax(torch.randn(3, 4, 5), -1), sample_weight=torch.ones(3))
    loss(y, torch.softmax(torch.randn(3, 4, 5), -1), sample_weight=torch.ones(3, 1))  # per-sample: (N, 1)


def test_class_weight_keys():
    y = [0, 1, 1]
    with pytest.raises(ValueError, match="integer keys"):
        class_weight_to_sample_weight(y, {"cat": 1.0})
    with pytest.raises(ValueError, match="integer keys"):
        class_weight_to_sample_weight(y, {1.5: 1.0})
    with pytest.raises(ValueError, match="dict"):
        class_weight_to_sample_weight(y, [1.0, 2.0])
    with pytest.raises(ValueError, match="two keys"):
        class_weight_to_sample_weight(y, {1: 2.0, "1": 3.0})
    with pytest.raises(ValueError, match="finite"):
        class_weight_to_sample_weight(y, {1: float("inf")})
    # keys convertible with int() are fine, like current Keras
    torch.testing.assert_close(class_weight_to_sample_weight(y, {"1": 2.0, 0.0: 3.0}), torch.tensor([3.0, 2.0, 2.0]))


def test_class_weight_label_shapes():
    with pytest.raises(ValueError, match=r"shape \(2, 3, 4\)"):
        class_weight_to_sample_weight(np.zeros((2, 3, 4)), {0: 1.0})
    with pytest.raises(ValueError, match="NaN"):
        class_weight_to_sample_weight(np.array([0.0, np.nan]), {0: 1.0})
    with pytest.raises(ValueError):
        compute_class_weight([0, 1], class_weight="balanced", classes=[0])  # scikit-learn's own check


def test_complex_weights_rejected_bool_weights_are_a_mask():
    with pytest.raises(ValueError, match="real"):
        reduce_weighted_values(torch.ones(3), torch.ones(3, dtype=torch.complex64))
    with pytest.raises(ValueError, match="real"):
        reduce_weighted_values(torch.ones(3), "heavy")
    v = torch.tensor([1.0, 2.0, 4.0])
    # Keras casts a boolean weight to 0/1
    assert float(reduce_weighted_values(v, torch.tensor([True, False, True]))) == float(
        reduce_weighted_values(v, torch.tensor([1.0, 0.0, 1.0]))) == float(torch.tensor(5.0) / 3)
    assert float(reduce_weighted_values(v, [True, False, True], reduction="sum")) == 5.0


def test_make_by_keras_name_class_name_and_alias():
    from torch_impl import losses as L

    cases = {"categorical_crossentropy": L.CategoricalCrossentropy, "CategoricalCrossentropy": L.CategoricalCrossentropy,
             "sparse_categorical_crossentropy": L.SparseCategoricalCrossentropy,
             "binary_crossentropy": L.BinaryCrossentropy, "bce": L.BinaryCrossentropy, "BCE": L.BinaryCrossentropy,
             "binary_focal_crossentropy": L.BinaryFocalCrossentropy,
             "CategoricalFocalCrossentropy": L.CategoricalFocalCrossentropy}
    for name, cls in cases.items():
        got = L.make(name, from_logits=True)
        print(name, "->", got)
        assert type(got) is cls and got.from_logits is True
    with pytest.raises(ValueError, match="Unknown loss 'msee'"):
        L.make("msee")


def test_get_follows_keras_losses_get():
    """``get`` returns what ``keras.losses.get`` returns for the same identifier: the functional form for a
    function name, an instance for a class name or a serialized dict; and the default names and configs
    match Keras's, so ``from_config(get_config())`` round-trips."""
    keras = pytest.importorskip("keras")
    import numpy as np
    from torch_impl import losses as L

    rng = np.random.default_rng(0)
    y = np.eye(3)[rng.integers(0, 3, 6)]
    p = rng.dirichlet(np.ones(3), 6).astype("float32")
    for ident in ["categorical_crossentropy", "CategoricalCrossentropy", "bce", "BCE", "binary_focal_crossentropy",
                  "CategoricalFocalCrossentropy", "sparse_categorical_crossentropy",
                  {"class_name": "BinaryCrossentropy", "config": {"from_logits": True, "label_smoothing": 0.1}},
                  {"class_name": "CategoricalFocalCrossentropy", "config": {"alpha": [0.2, 0.3, 0.5], "gamma": 1.0}}]:
        ours, ref = L.get(ident), keras.losses.get(ident)
        assert callable(ours) and isinstance(ours, L.Loss) == isinstance(ref, keras.losses.Loss), ident
        if isinstance(ref, keras.losses.Loss):
            assert ours.name == ref.name, (ours.name, ref.name)
            ref_cfg = ref.get_config()
            assert {k: v for k, v in ours.get_config().items() if k in ref_cfg} == ref_cfg
            assert type(ours).from_config(ours.get_config()).get_config() == ours.get_config()
        yt = np.argmax(y, -1) if "sparse" in str(ident) else y
        a = np.asarray(ours(torch.as_tensor(yt), torch.as_tensor(p)).detach())
        b = np.asarray(ref(yt, p))
        print(ident, "->", type(ours).__name__, a.shape, "max |diff|", float(np.max(np.abs(a - b))))
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    inst = L.BinaryCrossentropy()
    assert L.get(inst) is inst and L.get(None) is None and isinstance(L.get(L.BinaryCrossentropy), L.BinaryCrossentropy)
    with pytest.raises(ValueError, match="Unknown loss 'msee'"):
        L.get("msee")
    with pytest.raises(ValueError, match="Could not interpret"):
        L.get(3)

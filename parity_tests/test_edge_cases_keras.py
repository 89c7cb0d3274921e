"""Edge cases a differential fuzzer found (35,200 random cases against Keras, 2026-11-23), each against Keras on
TensorFlow: empty batches, ``ignore_class`` through ``LossFunctionWrapper``, Python-number sample weights in
float64, a second backward of a retained graph, the ``dtype=`` argument, and arguments Keras takes that torch_impl
used to refuse (boolean labels and weights, a float ``ignore_class``, ``label_smoothing=None``, ``alpha=None``).
Each test prints the figures it asserts.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from torch_impl import losses as L  # noqa: E402

pytestmark = pytest.mark.keras


def _keras(loss, y, p, sw=None):
    """Keras's value and gradient (float64 predictions)."""
    x = tf.Variable(np.asarray(p, np.float64))
    with tf.GradientTape() as tape:
        v = loss(y, x) if sw is None else loss(y, x, sample_weight=sw)
    return np.asarray(v), np.asarray(tape.gradient(v, x))


def _ours(loss, y, p, sw=None):
    x = torch.tensor(np.asarray(p, np.float64), requires_grad=True)
    v = loss(torch.as_tensor(y), x) if sw is None else loss(torch.as_tensor(y), x, sample_weight=sw)
    v.sum().backward()
    return v.detach().numpy(), x.grad.numpy()


def _rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))) if a.size else 0.0


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "mean", "mean_with_sample_weight", "sum"])
@pytest.mark.parametrize("name,kw,y", [
    ("CategoricalCrossentropy", {"from_logits": True}, np.zeros((0, 4, 3))),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, np.zeros((0, 4), np.int64)),
    ("BinaryCrossentropy", {}, np.zeros((0, 4, 3))),
])
def test_empty_batch_backpropagates_zeros(name, kw, y, reduction):
    """A batch of no sequences: loss 0 with a zero gradient (it used to fall out of the graph)."""
    p = np.full((0, 4, 3), 0.3)
    kv, kg = _keras(getattr(keras.losses, name)(reduction=reduction, dtype="float64", **kw), y, p)
    ov, og = _ours(getattr(L, name)(reduction=reduction, **kw), y, p)
    print(f"{name} {reduction}: Keras {float(kv)} grad {kg.shape}, torch_impl {float(ov)} grad {og.shape}")
    assert float(ov) == float(kv) == 0.0 and og.shape == kg.shape


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "mean_with_sample_weight", "sum", "none"])
def test_wrapped_sparse_function_keeps_the_ignore_class_mask(reduction):
    """``compile(loss=sparse_categorical_crossentropy)`` with ``ignore_class``: the function marks the ignored
    entries and the reduction skips them, as with the class."""
    rng = np.random.default_rng(0)
    z, y = rng.normal(size=(6, 4)), np.array([0, 3, 1, 3, 2, 3])
    from keras.src.losses.losses import LossFunctionWrapper

    kl = LossFunctionWrapper(keras.losses.sparse_categorical_crossentropy, reduction=reduction,
                             dtype="float64", from_logits=True, ignore_class=3)
    kv, kg = _keras(kl, y, z)
    wrapped = L.LossFunctionWrapper(L.sparse_categorical_crossentropy, reduction=reduction, from_logits=True,
                                    ignore_class=3)
    ov, og = _ours(wrapped, y, z)
    cv, _ = _ours(L.SparseCategoricalCrossentropy(from_logits=True, ignore_class=3, reduction=reduction), y, z)
    print(f"{reduction}: Keras {kv}, wrapper {ov}, class {cv}; value rel {_rel(ov, kv):.1e}, grad rel "
          f"{_rel(og, kg):.1e}")
    assert _rel(ov, kv) <= 1e-12 and _rel(cv, kv) <= 1e-12
    np.testing.assert_allclose(og, kg, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("sw", [0.1, [0.1, 0.7, 1.3], np.float32(0.1), True])
def test_python_number_sample_weight_keeps_float64(sw):
    """A Python float weight converts straight to float64, as Keras converts it (it went through float32)."""
    rng = np.random.default_rng(1)
    z, y = rng.normal(size=(3, 4)), np.array([0, 3, 1])
    kv, kg = _keras(keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64"), y, z, sw)
    ov, og = _ours(L.SparseCategoricalCrossentropy(from_logits=True), y, z, sw)
    print(f"sample_weight={sw!r}: Keras {float(kv)!r}, torch_impl {float(ov)!r}, rel {_rel(ov, kv):.1e}")
    assert _rel(ov, kv) <= 1e-15
    np.testing.assert_allclose(og, kg, rtol=1e-12, atol=1e-17)


@pytest.mark.parametrize("name,kw,logits", [
    ("CategoricalCrossentropy", {}, False),
    ("CategoricalFocalCrossentropy", {}, False),
    ("BinaryCrossentropy", {"from_logits": True}, True),
    ("BinaryFocalCrossentropy", {}, False),
    ("BinaryFocalCrossentropy", {"from_logits": True, "apply_class_balancing": True}, True),
])
def test_second_backward_of_a_retained_graph(name, kw, logits):
    """``retain_graph=True`` then a second gradient: the same gradient (Keras's persistent tape gives it twice)."""
    rng = np.random.default_rng(2)
    z = rng.normal(size=(4, 3))
    p = z if logits else np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    y = np.eye(3)[[0, 1, 2, 0]] if name.startswith("Categorical") else (z > 0).astype(float)
    x = torch.tensor(p, requires_grad=True)
    loss = getattr(L, name)(**kw)(torch.tensor(y), x)
    first = torch.autograd.grad(loss, x, retain_graph=True)[0]
    second = torch.autograd.grad(loss, x)[0]
    _, kg = _keras(getattr(keras.losses, name)(dtype="float64", **kw), y, p)
    print(f"{name}{kw}: second gradient equal to the first: {torch.equal(first, second)}, vs Keras rel "
          f"{_rel(second.numpy(), kg):.1e}")
    assert torch.equal(first, second)
    np.testing.assert_allclose(second.numpy(), kg, rtol=1e-10, atol=1e-15)


def test_dtype_argument():
    """Integer dtypes raise (they rounded the predictions to integers: a silent wrong number); Keras's
    mixed-precision policy names compute in their compute dtype, like Keras."""
    for bad in ("int32", torch.int64, "bool", "not_a_dtype"):
        with pytest.raises(ValueError, match="dtype"):
            L.SparseCategoricalCrossentropy(dtype=bad)
    z = np.array([[0.3, -1.2, 2.5], [1.0, 0.1, -0.4]])
    y = np.array([2, 0])
    kv = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="mixed_float16")(y, z))
    ours = L.SparseCategoricalCrossentropy(from_logits=True, dtype="mixed_float16")(torch.tensor(y), torch.tensor(z))
    print(f"mixed_float16: Keras {kv!r}, torch_impl {float(ours)!r} ({ours.dtype})")
    assert ours.dtype == torch.float16 and abs(float(ours) - kv) <= 1e-3 * abs(kv)


def test_arguments_keras_takes():
    """Boolean labels and weights, a float ``ignore_class``, ``label_smoothing=None`` and ``alpha=None`` without
    class balancing: Keras computes with them, so does torch_impl (they used to raise)."""
    rng = np.random.default_rng(3)
    z = rng.normal(size=(4, 3))
    p = 1 / (1 + np.exp(-z))
    cases = [
        ("bool labels", keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64"),
         L.SparseCategoricalCrossentropy(from_logits=True), np.array([True, False, True, True]), z, None),
        ("bool sample_weight", keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64"),
         L.SparseCategoricalCrossentropy(from_logits=True), np.array([0, 2, 1, 1]), z,
         np.array([True, False, True, True])),
        ("ignore_class=1.0", keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=1.0,
                                                                        dtype="float64"),
         L.SparseCategoricalCrossentropy(from_logits=True, ignore_class=1.0), np.array([0, 1, 2, 1]), z, None),
        ("label_smoothing=None", keras.losses.CategoricalCrossentropy(label_smoothing=None, dtype="float64"),
         L.CategoricalCrossentropy(label_smoothing=None), np.eye(3)[[0, 1, 2, 1]], p / p.sum(-1, keepdims=True),
         None),
        ("alpha=None", keras.losses.BinaryFocalCrossentropy(alpha=None, dtype="float64"),
         L.BinaryFocalCrossentropy(alpha=None), (z > 0).astype(float), p, None),
    ]
    for label, kl, ol, y, x, sw in cases:
        kv, kg = _keras(kl, y, x, sw)
        ov, og = _ours(ol, y, x, sw)
        print(f"{label}: Keras {float(kv)!r}, torch_impl {float(ov)!r}, value rel {_rel(ov, kv):.1e}, "
              f"grad rel {_rel(og[kg != 0], kg[kg != 0]):.1e}")
        assert _rel(ov, kv) <= 1e-12, label
        np.testing.assert_allclose(og, kg, rtol=1e-10, atol=1e-15, err_msg=label)
    assert L.BinaryFocalCrossentropy(alpha=None).get_config()["alpha"] is None
    with pytest.raises(ValueError, match="alpha"):
        L.BinaryFocalCrossentropy(alpha=None, apply_class_balancing=True)
    with pytest.raises(ValueError, match="one float"):
        L.BinaryFocalCrossentropy(alpha=np.array([0.2, 0.8]), apply_class_balancing=True)
    with pytest.raises(ValueError, match="ignore_class"):
        L.SparseCategoricalCrossentropy(ignore_class=1.5)


@pytest.mark.parametrize("name,kw", [
    ("SparseCategoricalCrossentropy", {"from_logits": True}),
    ("CategoricalCrossentropy", {"from_logits": True}),
    ("CategoricalCrossentropy", {}),
    ("BinaryCrossentropy", {"from_logits": True}),
    ("BinaryFocalCrossentropy", {"from_logits": True}),
    ("CategoricalFocalCrossentropy", {"from_logits": True}),
])
def test_under_autocast_the_loss_stays_float32(name, kw):
    """Under ``torch.autocast`` (bfloat16) the model's output is bfloat16; the loss computes in float32 as
    Keras's mixed precision computes it (autocast used to run the categorical reductions in bfloat16: CCE 1.7734
    against 1.7709)."""
    torch.manual_seed(0)
    lin = torch.nn.Linear(8, 5)
    x = torch.randn(16, 8)
    labels = torch.randint(0, 5, (16,))
    y = labels if name.startswith("Sparse") else torch.nn.functional.one_hot(labels, 5).float()
    loss = getattr(L, name)(**kw)
    probs = not kw.get("from_logits") and not name.startswith("Binary")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z = lin(x)
        out = torch.softmax(z.float(), -1).to(torch.bfloat16) if probs else z
        value = loss(y, out)
        functional = getattr(L, _snake(name))(y, out, **kw)
    kl = getattr(keras.losses, name)(**kw)
    ref = float(kl(y.numpy(), out.detach().float().numpy()))
    print(f"{name}{kw} under bfloat16 autocast: {value.dtype} {float(value)!r}, Keras (float32 on the same bfloat16 "
          f"outputs) {ref!r}")
    assert value.dtype == torch.float32 and functional.dtype == torch.float32
    assert abs(float(value) - ref) <= 1e-6 * abs(ref)


def _snake(name: str) -> str:
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()

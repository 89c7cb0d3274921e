"""An explicit half-precision loss ``dtype`` ("bfloat16", "float16") against Keras 3.15.1 on TensorFlow.

Keras rounds the inputs to the loss dtype, computes in it and returns the
loss in it. torch_impl rounds the inputs the same way and returns the same
dtype, but computes in float32 in between: the results agree to the half
type's rounding, except where half-precision arithmetic breaks Keras's
formula. The test measures both: the agreement, and that the breakage is
Keras's (BCE from probabilities: the clip ``1 - 1e-7`` rounds to 1 in half
precision, so a probability that rounds to 1 makes Keras's row NaN, as
``0 * log(0)`` or ``log(0)``; torch_impl clips in float32 and stays finite).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torch_impl import losses

pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

# relative tolerance with an absolute floor (a few ulps of the half type)
TOL = {"bfloat16": (2.0 ** -5, 2.0 ** -9), "float16": (2.0 ** -8, 2.0 ** -12)}


def _data():
    rng = np.random.default_rng(0)
    z = (rng.normal(size=(32, 5)) * 3).astype("float32")
    p = rng.dirichlet(np.ones(5), size=32).astype("float32")
    yi = rng.integers(0, 5, 32)
    sig = (1 / (1 + np.exp(-3 * z))).astype("float32")  # many near 0 and 1
    return dict(z=z, p=p, sig=sig, yi=yi, oh=np.eye(5, dtype="float32")[yi],
                yb=(rng.random((32, 5)) < 0.4).astype("float32"), sw=rng.random(32).astype("float32"))


CASES = [  # (class name, kwargs, target key, prediction key)
    ("CategoricalCrossentropy", {}, "oh", "p"),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "oh", "z"),
    ("SparseCategoricalCrossentropy", {}, "yi", "p"),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 0}, "yi", "z"),
    ("BinaryCrossentropy", {"from_logits": True}, "yb", "z"),
    ("BinaryFocalCrossentropy", {"from_logits": True, "apply_class_balancing": True}, "yb", "z"),
    ("CategoricalFocalCrossentropy", {"from_logits": True}, "oh", "z"),
    ("CategoricalFocalCrossentropy", {"alpha": [0.1, 0.2, 0.3, 0.2, 0.2]}, "oh", "p"),
]


@pytest.mark.keras
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "none", "sum"])
def test_half_dtype_matches_keras_to_half_rounding(dtype, reduction):
    import tensorflow as tf

    d = _data()
    rtol, atol = TOL[dtype]
    for name, kw, yk, xk in CASES:
        k = getattr(keras.losses, name)(dtype=dtype, reduction=reduction, **kw)(d[yk], d[xk], d["sw"])
        t = getattr(losses, name)(dtype=dtype, reduction=reduction, **kw)(
            torch.tensor(d[yk]), torch.tensor(d[xk]), torch.tensor(d["sw"]))
        kv = np.asarray(tf.cast(k, tf.float32), dtype=np.float64)
        tv = t.double().numpy()
        # half arithmetic errors scale with the largest terms (e.g. lse - z_t), not only with each loss
        excess = np.max(np.abs(kv - tv) - (rtol * np.maximum(np.abs(kv), np.abs(kv).max() / 4) + atol))
        worst = float(np.max(np.abs(kv - tv) / np.maximum(np.abs(kv), atol)))
        print(f"{dtype} {reduction:20} {name} {kw}: Keras {k.dtype.name}, torch_impl {t.dtype}, "
              f"max rel diff {worst:.1e} (tol {rtol:.1e})")
        assert t.dtype == getattr(torch, dtype) and k.dtype.name == dtype
        assert excess <= 0, (name, kw)


@pytest.mark.keras
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_dtype_bce_from_probabilities_keras_breaks_we_do_not(dtype):
    import tensorflow as tf

    d = _data()
    k = keras.losses.BinaryCrossentropy(dtype=dtype, reduction="none")(d["yb"], d["sig"])
    t = losses.BinaryCrossentropy(dtype=dtype, reduction="none")(torch.tensor(d["yb"]), torch.tensor(d["sig"]))
    kv, tv = np.asarray(tf.cast(k, tf.float32)), t.float().numpy()
    # the float32 loss (Keras's float32 clip) of the inputs rounded to the half type
    ref = losses.BinaryCrossentropy(reduction="none")(torch.tensor(d["yb"]),
                                                       torch.tensor(d["sig"]).to(getattr(torch, dtype)).float())
    ok = np.isfinite(kv)
    print(f"{dtype}: Keras non-finite rows {int((~ok).sum())} of {kv.size}; torch_impl non-finite "
          f"{int((~np.isfinite(tv)).sum())}; max rel diff to float32 on the rounded inputs "
          f"{float(np.max(np.abs(tv - ref.numpy()) / ref.numpy())):.1e}; where Keras is finite, max rel diff to Keras "
          f"{float(np.max(np.abs(kv[ok] - tv[ok]) / np.maximum(np.abs(kv[ok]), 1e-3))):.1e}")
    assert (~ok).any(), "Keras stayed finite: the documented difference is gone, update the README"
    assert np.isfinite(tv).all()
    assert np.allclose(tv, ref.numpy(), rtol=TOL[dtype][0])

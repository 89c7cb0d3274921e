"""Second derivatives (Hessian-vector products) against TensorFlow's nested GradientTape."""

from __future__ import annotations

import numpy as np
import pytest
import torch

tf = pytest.importorskip("tensorflow")

from keras_impl.losses import make_loss  # noqa: E402
from torch_impl.harness import _make  # noqa: E402

pytestmark = pytest.mark.keras

CASES = [
    ("categorical_crossentropy", dict(from_logits=True)),
    ("categorical_crossentropy", dict(from_logits=True, label_smoothing=0.2)),
    ("categorical_crossentropy", dict(from_logits=False)),
    ("sparse_categorical_crossentropy", dict(from_logits=True)),
    ("sparse_categorical_crossentropy", dict(from_logits=False)),
    ("sparse_categorical_crossentropy", dict(from_logits=True, ignore_class=1)),
    ("binary_crossentropy", dict(from_logits=True)),
    ("binary_crossentropy", dict(from_logits=False, label_smoothing=0.1)),
    ("binary_focal_crossentropy", dict(from_logits=True, apply_class_balancing=True)),
    ("binary_focal_crossentropy", dict(from_logits=False, gamma=3.0)),
    ("categorical_focal_crossentropy", dict(from_logits=True)),
    ("categorical_focal_crossentropy", dict(from_logits=False, alpha=[0.1, 0.2, 0.3, 0.4])),
]


def _inputs(name, rng):
    n, c = 5, 4
    if "categorical" in name and name != "sparse_categorical_crossentropy":
        y = np.eye(c)[rng.integers(0, c, n)]
        y[0] = 0.0  # an all-zero target row: TF's gradient is softmax(z), not 0
    elif name == "sparse_categorical_crossentropy":
        y = rng.integers(0, c, n)
    else:
        y = rng.integers(0, 2, (n, c)).astype(float)
    return y, rng.normal(size=(n, c)), rng.uniform(0.05, 1.0, size=(n, c)), rng.normal(size=(n, c))


@pytest.mark.parametrize("name,cfg", CASES, ids=[f"{n}-{c}" for n, c in CASES])
def test_hessian_vector_product(name, cfg):
    rng = np.random.default_rng(7)
    y, logits, probs, v = _inputs(name, rng)
    x0 = logits if cfg.get("from_logits") else probs / (probs.sum(-1, keepdims=True) if "categorical" in name else 1.0)

    xt = torch.tensor(x0, requires_grad=True)
    lt = _make(name, dict(cfg, dtype=torch.float64))(torch.as_tensor(y), xt)
    (gt,) = torch.autograd.grad(lt, xt, create_graph=True)
    (ht,) = torch.autograd.grad((gt * torch.tensor(v)).sum(), xt)

    xk = tf.Variable(x0)
    loss = make_loss(name, dtype="float64", **cfg)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            lk = loss(y, xk)
        gk = inner.gradient(lk, xk)
    hk = outer.gradient(gk, xk, output_gradients=tf.constant(v))

    g_err = np.max(np.abs(gt.detach().numpy() - gk.numpy())) / np.max(np.abs(gk.numpy()))
    h_err = np.max(np.abs(ht.numpy() - hk.numpy())) / max(np.max(np.abs(hk.numpy())), 1e-300)
    print(f"{name} {cfg}: grad rel err {g_err:.2e}, Hessian-vector rel err {h_err:.2e}")
    assert g_err < 1e-10
    assert h_err < 1e-10

"""The losses under ``torch.func`` transforms: ``grad`` equals autograd, ``vmap(grad)`` equals a loop.

Per-sample gradients (``vmap(grad(loss))``, as differential-privacy and
influence-function code computes them) need every op of a loss to be
batchable. Under a transform the losses run Keras's op-for-op computation
(TensorFlow's gradients kept by autograd Functions with vmap rules) instead of
the hand-fused forward/backward, and skip the host-side label checks that vmap
cannot run. Figures are printed; float64, tolerance 1e-12.
"""

from __future__ import annotations

import pytest
import torch

from torch_impl import losses

N, C = 5, 6
EYE = torch.eye(C, dtype=torch.float64)

CASES = [
    ("BinaryCrossentropy", dict(from_logits=True), "binary", False),
    ("BinaryCrossentropy", dict(label_smoothing=0.1), "binary", True),
    ("BinaryFocalCrossentropy", dict(from_logits=True, apply_class_balancing=True), "binary", False),
    ("BinaryFocalCrossentropy", dict(gamma=1.5), "binary", True),
    ("CategoricalCrossentropy", dict(from_logits=True, label_smoothing=0.1), "one_hot", False),
    ("CategoricalCrossentropy", dict(), "one_hot", True),
    ("CategoricalFocalCrossentropy", dict(from_logits=True, alpha=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]), "one_hot", False),
    ("CategoricalFocalCrossentropy", dict(gamma=0.5), "one_hot", True),
    ("SparseCategoricalCrossentropy", dict(from_logits=True), "index", False),
    ("SparseCategoricalCrossentropy", dict(ignore_class=2), "index", True),
]


def _inputs(target: str, probs: bool):
    g = torch.Generator().manual_seed(11)
    z = torch.randn(N, C, generator=g, dtype=torch.float64) * 2
    x = torch.softmax(z, -1) if probs else z
    labels = torch.randint(0, C, (N,), generator=g)
    if target == "index":
        return x, labels
    if target == "one_hot":
        return x, EYE[labels]
    return (torch.sigmoid(z) if probs else z), (torch.rand(N, C, generator=g) < 0.4).double()


@pytest.mark.parametrize("name,kw,target,probs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_func_grad_and_per_sample_grads(name, kw, target, probs):
    loss = getattr(losses, name)(**kw)
    x, t = _inputs(target, probs)
    g = torch.func.grad(lambda xx: loss(t, xx))(x)
    ref = x.clone().requires_grad_(True)
    loss(t, ref).backward()
    per_sample = torch.func.vmap(torch.func.grad(lambda xr, tr: loss(tr[None], xr[None])))(x, t)
    rows = []
    for i in range(N):
        xi = x[i:i + 1].clone().requires_grad_(True)
        loss(t[i:i + 1], xi).backward()
        rows.append(xi.grad[0])
    loop = torch.stack(rows)
    d_grad = float((g - ref.grad).abs().max())
    d_ps = float((per_sample - loop).abs().max())
    print(f"{name} {kw}: func.grad vs autograd {d_grad:.1e}, vmap(grad) vs loop {d_ps:.1e}")
    assert d_grad <= 1e-12 * max(1.0, float(ref.grad.abs().max()))
    assert d_ps <= 1e-12 * max(1.0, float(loop.abs().max()))


def test_vmap_skips_only_the_host_label_check():
    """Under vmap a bad sparse label is not caught on the host, but the ops' own check still stops it."""
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    x, t = _inputs("index", False)
    bad = t.clone()
    bad[1] = C + 3
    with pytest.raises(ValueError, match="outside the valid range"):
        loss(bad, x)
    with pytest.raises((IndexError, RuntimeError)):
        torch.func.vmap(lambda xr, tr: loss(tr[None], xr[None]))(x, bad)

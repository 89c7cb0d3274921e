"""The same losses on CUDA tensors: equal to the CPU results (which the Keras grid pins).

Runs where a CUDA device is present (marker ``cuda``); skipped elsewhere.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scenarios.loss_cases import default_grid
from scenarios.loss_parity import compare
from torch_impl.harness import loss_value_and_grad

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
]

CASES = [c for c in default_grid() if c.dtype in ("float64", "float32")]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_cuda_matches_cpu(case):
    y_true, y_pred, sw = case.arrays()
    kw = dict(dtype=case.compute_dtype, input_dtype=case.dtype, functional=case.functional, cotangent_seed=case.seed)
    cpu = loss_value_and_grad(case.loss, case.full_config(), y_true, y_pred, sw, device="cpu", **kw)
    gpu = loss_value_and_grad(case.loss, case.full_config(), y_true, y_pred, sw, device="cuda", **kw)
    rec = compare(gpu, cpu, case.dtype)
    print(f"{case.id}: value rel {rec['value_rel']:.2e} grad rel {rec['grad_rel']:.2e}")
    assert rec["passed"], rec["reason"]


def test_half_inputs_on_cuda_compute_in_float32():
    from torch_impl import losses

    x = torch.randn(64, 10, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    y = torch.randint(0, 10, (64,), device="cuda")
    out = losses.SparseCategoricalCrossentropy(from_logits=True)(y, x)
    assert out.dtype == torch.float32
    out.backward()
    assert x.grad.dtype == torch.bfloat16
    ref = losses.SparseCategoricalCrossentropy(from_logits=True)(y.cpu(), x.detach().cpu().float())
    np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-5)

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


def _dropout_outputs(device: str) -> list:
    from torch_impl.nn import Dropout

    outs = []
    for dtype in (torch.float32, torch.float64, torch.float16):
        drop = Dropout(0.3, seed=5)
        x = torch.ones(7, 13, dtype=dtype, device=device)
        outs += [drop(x).cpu() for _ in range(3)]
    return outs


def test_dropout_masks_on_cuda_equal_the_cpu_masks():
    """``torch_impl.nn.Dropout``'s Philox stream is integer torch ops on the input's device: the masks on CUDA are
    the CPU's (which test_dropout_keras.py pins to Keras's bit for bit)."""
    cpu, gpu = _dropout_outputs("cpu"), _dropout_outputs("cuda")
    print(f"{len(cpu)} dropout outputs compared")
    assert all(torch.equal(a, b) for a, b in zip(cpu, gpu))


def _metric_results(device: str) -> dict:
    from torch_impl import metrics

    rng = np.random.default_rng(0)
    y = torch.as_tensor((rng.random((200, 4)) < 0.3).astype("float32"), device=device)
    p = torch.as_tensor(rng.random((200, 4)).astype("float32"), device=device)
    w = torch.as_tensor(rng.random(200).astype("float32"), device=device)
    labels = torch.as_tensor(rng.integers(0, 4, 200), device=device)
    made = {"auc": metrics.AUC(), "auc_multi": metrics.AUC(multi_label=True, curve="PR"),
            "precision": metrics.Precision(thresholds=[0.2, 0.5]), "recall_top2": metrics.Recall(top_k=2),
            "f1": metrics.F1Score(average="macro", threshold=0.5), "mean_iou": metrics.MeanIoU(num_classes=4),
            "top2": metrics.SparseTopKCategoricalAccuracy(k=2), "sens": metrics.SensitivityAtSpecificity(0.5)}
    out = {}
    for name, m in made.items():
        if name == "mean_iou":  # integer state: no float weights (Keras truncates them)
            m.update_state(labels, p.argmax(-1))
        elif name == "top2":
            m.update_state(labels, p, w)
        else:
            m.update_state(y, p, w)
        out[name] = m.result().detach().cpu().double().numpy()
    return out


def test_metrics_on_cuda_equal_the_cpu_results():
    """``torch_impl.metrics`` on CUDA tensors: the CPU's results (pinned to Keras by test_metrics_keras.py) within
    float32 rounding (the sums may add in another order)."""
    cpu, gpu = _metric_results("cpu"), _metric_results("cuda")
    for name in cpu:
        print(f"{name}: cpu {np.round(cpu[name], 6).tolist()} cuda {np.round(gpu[name], 6).tolist()}")
        np.testing.assert_allclose(gpu[name], cpu[name], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_rest_of_keras_losses_on_cuda_equal_the_cpu(dtype):
    """The rest of ``keras.losses`` (MSE ... CTC) on CUDA tensors, every reduction and weight shape: the CPU's
    values and gradients (pinned to Keras by test_losses_rest_keras.py) within the dtype's standard."""
    import zlib

    from scenarios.rest_loss_cases import CASES, REDUCTIONS, WEIGHT_KINDS, case_id, weights

    compared = 0
    for case in CASES:
        name, config, make, extra = case
        rng = np.random.default_rng(zlib.crc32(case_id(case).encode()))
        y_true, y_pred = make(rng)
        tol = "float32" if name == "ctc" else dtype  # torch's CTC kernels differ between CPU and CUDA
        for reduction in REDUCTIONS:
            for kind in WEIGHT_KINDS:
                sw = weights(kind, rng, len(y_pred), extra)
                if kind == "per_element" and sw is None:
                    continue
                cfg = dict(config, reduction=reduction)
                cpu = loss_value_and_grad(name, cfg, y_true, y_pred, sw, dtype=dtype, device="cpu")
                gpu = loss_value_and_grad(name, cfg, y_true, y_pred, sw, dtype=dtype, device="cuda")
                rec = compare(gpu, cpu, tol)
                assert rec["passed"], (case_id(case), cfg, kind, rec["reason"])
                compared += 1
    print(f"{dtype}: {compared} cases of the rest of keras.losses equal on CUDA and CPU")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_normal_draws_on_cuda_equal_the_cpu_draws(dtype):
    """TensorFlow's Box-Muller replay (glibc's ``logf``/``sincosf`` as float64 torch arithmetic, Python's ``math``
    in float64) on CUDA: the CPU's values, which ``test_tf_random_glibc.py`` and ``test_keras_random_keras.py`` pin
    to TensorFlow's bit for bit."""
    from torch_impl import _tf_random

    for seed in [(0, 0), (7, 3), (123456, 42)]:
        for draw in (_tf_random.stateless_normal, _tf_random.stateless_truncated_normal):
            cpu = draw((1000, 7), seed, dtype)
            gpu = draw((1000, 7), seed, dtype, device="cuda")
            differ = int((cpu != gpu.cpu()).sum())
            print(f"{draw.__name__} {dtype} seed {seed}: {differ} of {cpu.numel()} differ")
            assert differ == 0

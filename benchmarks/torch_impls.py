"""The PyTorch implementations of each benchmark case, timed in this process.

torch_impl (the default dispatch: fused kernels on CUDA, eager on CPU),
torch_impl's eager path on CUDA, torch_impl under ``torch.compile``, the
nearest torch built-in (``F.cross_entropy``, ``F.binary_cross_entropy_with_logits``,
torchvision's ``sigmoid_focal_loss`` with the same options) and Liger-Kernel's
fused cross entropy where importable.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.cases import Case, bytes_moved, inputs
from benchmarks.timing import cuda_device_ms, cuda_median_ms, median_ms, peak_mb, rotation

Fn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _keras_loss(case: Case):
    from torch_impl import losses

    return losses.make(case.loss, **case.config)


def implementations(case: Case, device: str, with_compile: bool = True) -> dict[str, Fn]:
    from torch_impl import kernels

    loss = _keras_loss(case)
    impls: dict[str, Fn] = {"torch_impl": lambda z, y: loss(y, z)}
    if device == "cuda":
        def eager(z, y):
            with kernels.use_backend("eager"):
                return loss(y, z)
        impls["torch_impl eager"] = eager
    big = device == "cpu" or case.n * case.c >= 2**24  # compile time dominates on GPU below that
    if with_compile and case.mode == "forward_backward" and case.dtype == "float32" and big:
        impls["torch_impl compile"] = torch.compile(lambda z, y: loss(y, z))
    fam = case.family
    if fam in ("sparse", "categorical"):
        impls["F.cross_entropy"] = lambda z, y: F.cross_entropy(z, y)
        if fam == "sparse" and device == "cuda":
            try:
                from liger_kernel.transformers import LigerCrossEntropyLoss

                lce = LigerCrossEntropyLoss()
                impls["Liger fused CE"] = lambda z, y: lce(z, y)
            except Exception:  # noqa: BLE001 - optional
                pass
    elif fam == "binary":
        impls["F.binary_cross_entropy_with_logits"] = lambda z, y: F.binary_cross_entropy_with_logits(z, y)
    elif fam == "binary_focal":
        try:
            from torchvision.ops import sigmoid_focal_loss

            a, g = case.config["alpha"], case.config["gamma"]
            impls["torchvision sigmoid_focal_loss"] = lambda z, y: sigmoid_focal_loss(z, y, a, g, "mean")
        except Exception:  # noqa: BLE001 - optional
            pass
    return impls


def to_torch(case: Case, device: str, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    y, z = inputs(case, seed)  # the cached, read-only draw: torch.tensor copies it (once, to the device)
    dtype = getattr(torch, case.dtype)
    zt = torch.tensor(z, dtype=dtype, device=device)
    yt = torch.tensor(y, dtype=dtype if y.dtype.kind == "f" else None, device=device)
    return yt, zt


def reference_value(case: Case, device: str = "cpu") -> float:
    """torch_impl's eager value in float64 on the (dtype-rounded) inputs: the value every implementation must give."""
    from torch_impl import kernels

    y, z = to_torch(case, device)
    with kernels.use_backend("eager"), torch.no_grad():
        return float(_keras_loss(case)(y.double() if y.is_floating_point() else y, z.double()))


def run_case(case: Case, device: str, copy_gbs: float, quick: bool, with_compile: bool,
             rtol: float, ref: Optional[float], peak_only: bool = False) -> list[dict]:
    """Each implementation's row: checked against ``ref``, timed, peak memory; with ``peak_only``, only the
    peak memory (for rows timed in an earlier run; ``bench.merge`` adds it to them)."""
    y0, z0 = to_torch(case, device)
    nbytes = z0.numel() * z0.element_size()
    k = 1 if peak_only else rotation(nbytes, (256 << 20) if device == "cuda" else (64 << 20))  # timing rotates
    zs = [z0] + [z0.clone() for _ in range(k - 1)]
    rows = []
    for name, fn in implementations(case, device, with_compile).items():
        row = dict(case.to_dict(), case=case.id, impl=name, framework="torch", reference=ref)
        try:
            row.update(_peak_only(fn, zs[0], y0, case, device) if peak_only else
                       _time_one(fn, zs, y0, case, device, quick, rtol, ref))
        except Exception as e:  # noqa: BLE001 - one failure never hides the rest
            row.update(error=f"{type(e).__name__}: {str(e)[:300]}")
        if "ms" in row:
            gbs = bytes_moved(case) / (row["ms"] * 1e-3) / 1e9
            row.update(gbs=gbs, copy_fraction=gbs / copy_gbs, samples_per_s=case.n / (row["ms"] * 1e-3))
        if row.get("device_ms"):
            row["device_copy_fraction"] = bytes_moved(case) / (row["device_ms"] * 1e-3) / 1e9 / copy_gbs
        rows.append(row)
    return rows


def _peak_only(fn: Fn, z: torch.Tensor, y: torch.Tensor, case: Case, device: str) -> dict:
    backward = case.mode == "forward_backward"
    warm = z.clone().requires_grad_(backward)  # compile and autotune outside the measured step
    v = fn(warm, y)
    if backward:
        v.backward()
    del warm, v
    leaf = z.clone().requires_grad_(backward)

    def step():
        if backward:
            fn(leaf, y).backward()
        else:
            with torch.no_grad():
                fn(leaf, y)

    return dict(peak_only=True, peak_extra_mb=peak_mb(step, device))


def _time_one(fn: Fn, zs: list, y: torch.Tensor, case: Case, device: str, quick: bool, rtol: float,
              ref: float) -> dict:
    backward = case.mode == "forward_backward"
    leaves = [z.clone().requires_grad_(backward) for z in zs]
    # a leaf of its own: a clone of leaves[0] would send its gradient into leaves[0].grad, and the
    # peak-memory step below would then free one gradient as it makes the next (measured 0 extra)
    check = zs[0].clone().requires_grad_(backward)
    value = fn(check, y)
    v = float(value.detach())
    if backward:
        value.backward()
    if not np.isclose(v, ref, rtol=rtol, atol=1e-6):
        return dict(value=v, error=f"value {v:.8g} differs from the reference {ref:.8g} (rtol {rtol:g}); not timed")
    state = {"i": 0}

    def step():
        i = state["i"] = (state["i"] + 1) % len(leaves)
        if backward:
            leaves[i].grad = None
            fn(leaves[i], y).backward()
        else:
            with torch.no_grad():
                fn(leaves[i], y)

    peak = peak_mb(step, device)  # the first step: its leaf has no gradient yet
    if device == "cuda":
        ms = cuda_median_ms(step, quick)
        return dict(value=v, ms=ms, peak_extra_mb=peak, device_ms=cuda_device_ms(step, iters=10 if quick else 20))
    ms = median_ms(step, min_time=0.1 if quick else 0.5)
    return dict(value=v, ms=ms, peak_extra_mb=peak)


def copy_bandwidth(device: str) -> float:
    """Copy bandwidth in GB/s (bytes read + written) of a large tensor copy on ``device``."""
    nbytes = (1 << 30) if device == "cuda" else (256 << 20)
    a = torch.empty(nbytes // 4, dtype=torch.float32, device=device).uniform_()
    b = torch.empty_like(a)
    if device == "cuda":
        ms = cuda_median_ms(lambda: b.copy_(a))
    else:
        ms = median_ms(lambda: b.copy_(a), min_time=0.5)
    return 2 * nbytes / (ms * 1e-3) / 1e9

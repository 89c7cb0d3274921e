"""Sweep the launch configurations of the fused kernels on the local GPU.

    python -m benchmarks.tune_cuda_kernels

Prints, per shape, the time of forward+backward (reduced SCCE) for each
(BLOCK, num_warps), then the chunked two-sweep kernel against the single-pass
kernel for rows up to 32k classes (SCCE and CCE); the defaults in
torch_impl/kernels/ops.py come from this sweep.
"""

from __future__ import annotations

import itertools

import torch
from triton.testing import do_bench

from torch_impl import kernels, losses
from torch_impl.kernels import ops


def _time(fn, z, t):
    leaf = z.clone().requires_grad_(True)

    def step():
        leaf.grad = None
        fn(t, leaf).backward()

    return do_bench(step, warmup=20, rep=60, return_mode="median")


def main():
    kernels.set_backend("triton")
    results = []
    scce = losses.SparseCategoricalCrossentropy(from_logits=True)
    cce = losses.CategoricalCrossentropy(from_logits=True)
    original = ops._row_config
    for (n, c), dtype in itertools.product([(8192, 32000), (8192, 131072), (65536, 1000)], [torch.bfloat16]):
        z = torch.randn(n, c, device="cuda").mul_(3).to(dtype)
        y = torch.randint(0, c, (n,), device="cuda")
        configs = ([(b, w) for b in (4096, 8192, 16384) for w in (8, 16, 32)] if c > 10000
                   else [(b, w) for b in (1024, 2048, 4096) for w in (2, 4, 8)])
        for block_c, warps in configs:

            def cfg(n_cols, interpret, block_c=block_c, warps=warps):
                row = ops._next_pow2(n_cols)  # the tile is BLOCK_R rows of min(row, block_c)
                return max(1, block_c // row), min(row, block_c), warps

            ops._row_config = cfg
            try:
                ms = _time(scce, z, y)
            except Exception as e:  # noqa: BLE001
                ms = float("nan")
                print("failed", block_c, warps, type(e).__name__)
            ops._row_config = original
            gbs = 2 * z.numel() * z.element_size() / (ms * 1e-3) / 1e9
            results.append((n, c, str(dtype), block_c, warps, ms, gbs))
            print(f"scce {n}x{c} {dtype} BLOCK_C={block_c:5d} warps={warps:2d}: {ms:.3f} ms {gbs:.0f} GB/s", flush=True)
        del z
        torch.cuda.empty_cache()
    results += single_pass_sweep(scce, cce)
    return results


def single_pass_sweep(scce, cce):
    """Chunked two-sweep kernel vs the single-pass kernel (row kept in registers) on rows up to 32k classes.

    Sets ``LOSSPARITY_SINGLE_PASS_MAX_COLS`` to 0 (chunked) and 65536 (single pass
    wherever the row fits one tile); the default cap in ops.py should be the
    largest row length where the single pass wins.
    """
    import os

    out = []
    for (n, c), dtype in itertools.product([(65536, 1000), (16384, 4096), (16384, 8192), (8192, 16384),
                                            (8192, 32000)], [torch.bfloat16, torch.float32]):
        z = torch.randn(n, c, device="cuda").mul_(3).to(dtype)
        y = torch.randint(0, c, (n,), device="cuda")
        onehot = torch.nn.functional.one_hot(y, c).to(dtype)
        for cap in ("0", "65536"):
            os.environ["LOSSPARITY_SINGLE_PASS_MAX_COLS"] = cap
            for name, fn, t in (("scce", scce, y), ("cce", cce, onehot)):
                ms = _time(fn, z, t)
                gbs = 2 * z.numel() * z.element_size() / (ms * 1e-3) / 1e9
                kind = "chunked" if cap == "0" else "single-pass"
                out.append((name, n, c, str(dtype), kind, ms, gbs))
                print(f"{name} {n}x{c} {dtype} {kind:11s}: {ms:.3f} ms {gbs:.0f} GB/s", flush=True)
        os.environ.pop("LOSSPARITY_SINGLE_PASS_MAX_COLS", None)
        del z, onehot
        torch.cuda.empty_cache()
    return out


if __name__ == "__main__":
    main()

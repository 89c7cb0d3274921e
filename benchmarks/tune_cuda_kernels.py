"""Sweep the launch configurations of the fused kernels on the local GPU.

    python -m benchmarks.tune_cuda_kernels

Prints, per shape, the GPU time of forward+backward (reduced SCCE; kernel
durations, so host launch cost does not blur the comparison) for each
(BLOCK, num_warps), then the chunked two-sweep kernel against the single-pass
kernel for rows up to 32k classes (SCCE and CCE), then the chunked kernel with
and without its L2 eviction hints; the defaults in torch_impl/kernels/ops.py
come from this sweep.
"""

from __future__ import annotations

import itertools

import torch
from torch_impl import kernels, losses
from torch_impl.kernels import ops


def _time(fn, z, t):
    """GPU busy time per forward+backward (kernel durations, launch gaps excluded), in ms."""
    from benchmarks.timing import cuda_device_ms

    leaves = [z.clone().requires_grad_(True) for _ in range(2)]  # alternate: the working set exceeds L2
    state = {"i": 0}

    def step():
        leaf = leaves[state["i"] % 2]
        state["i"] += 1
        leaf.grad = None
        fn(t, leaf).backward()

    return cuda_device_ms(step, iters=10)


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single-pass-only", action="store_true", help="skip the (BLOCK, num_warps) sweep")
    parser.add_argument("--eviction-only", action="store_true", help="only the eviction-hint sweep")
    parser.add_argument("--blocks-only", action="store_true", help="only the (BLOCK, num_warps) sweeps")
    args = parser.parse_args(argv)
    kernels.set_backend("triton")
    results = []
    scce = losses.SparseCategoricalCrossentropy(from_logits=True)
    cce = losses.CategoricalCrossentropy(from_logits=True)
    if args.eviction_only:
        return eviction_sweep(scce, cce)
    if args.single_pass_only:
        return single_pass_sweep(scce, cce) + eviction_sweep(scce, cce)
    results += block_sweep(scce)
    if args.blocks_only:
        return results
    results += single_pass_sweep(scce, cce)
    results += eviction_sweep(scce, cce)
    return results


def block_sweep(scce):
    """(BLOCK_R, BLOCK_C, num_warps) of the chunked kernel (long rows) and of the single-pass kernel (short rows)."""
    import os

    results = []
    chunked, single = ops._row_config, ops._single_pass_config
    plans = [("chunked", (8192, 32000), torch.bfloat16), ("chunked", (8192, 32000), torch.float32),
             ("chunked", (8192, 131072), torch.bfloat16), ("single", (65536, 1000), torch.bfloat16),
             ("single", (65536, 1000), torch.float32), ("single", (16384, 4096), torch.bfloat16)]
    for kind, (n, c), dtype in plans:
        z = torch.randn(n, c, device="cuda").mul_(3).to(dtype)
        y = torch.randint(0, c, (n,), device="cuda")
        row = ops._next_pow2(c)
        if kind == "chunked":
            configs = [(1, b, w) for b in (4096, 8192, 16384, 32768) for w in (8, 16, 32)]
            os.environ["LOSSPARITY_SINGLE_PASS_MAX_COLS"] = "0"
        else:
            configs = [(r, row, w) for r in ((2, 4, 8, 16) if row <= 1024 else (1, 2, 4)) for w in (4, 8, 16, 32)]
        for block_r, block_c, warps in configs:
            def cfg(n_cols, interpret, cfg=(block_r, min(row, block_c), warps)):
                return cfg

            if kind == "chunked":
                ops._row_config = cfg
            else:
                ops._single_pass_config = cfg
            try:
                ms = _time(scce, z, y)
            except Exception as e:  # noqa: BLE001
                ms = float("nan")
                print("failed", block_r, block_c, warps, type(e).__name__)
            ops._row_config, ops._single_pass_config = chunked, single
            gbs = 2 * z.numel() * z.element_size() / (ms * 1e-3) / 1e9
            results.append((kind, n, c, str(dtype), block_r, block_c, warps, ms, gbs))
            print(f"scce {kind:7s} {n}x{c} {dtype} BLOCK_R={block_r:2d} BLOCK_C={min(row, block_c):5d} "
                  f"warps={warps:2d}: {ms:.3f} ms {gbs:.0f} GB/s", flush=True)
        os.environ.pop("LOSSPARITY_SINGLE_PASS_MAX_COLS", None)
        del z
        torch.cuda.empty_cache()
    return results


def eviction_sweep(scce, cce):
    """The chunked kernel (rows of several chunks, read twice) with and without its L2 eviction hints."""
    out = []
    configs = [False, True]
    shapes = [((8192, 32000), torch.bfloat16), ((8192, 32000), torch.float32), ((8192, 65536), torch.bfloat16),
              ((8192, 131072), torch.bfloat16), ((8192, 131072), torch.float32), ((4096, 262144), torch.bfloat16)]
    for (n, c), dtype in shapes:
        z = torch.randn(n, c, device="cuda").mul_(3).to(dtype)
        y = torch.randint(0, c, (n,), device="cuda")
        onehot = torch.nn.functional.one_hot(y, c).to(dtype) if c == 32000 else None
        for hints in configs:
            ops.EVICTION_HINTS = hints
            for name, fn, t in (("scce", scce, y), ("cce", cce, onehot)):
                if t is None:
                    continue
                ms = _time(fn, z, t)
                gbs = (2 * z.numel() * z.element_size() + t.numel() * t.element_size()) / (ms * 1e-3) / 1e9
                label = f"hints={'on' if hints else 'off'}"
                out.append((name, n, c, str(dtype), label, ms, gbs))
                print(f"{name} {n}x{c} {dtype} {label}: {ms:.3f} ms {gbs:.0f} GB/s", flush=True)
        ops.EVICTION_HINTS = True
        del z, onehot
        torch.cuda.empty_cache()
    return out


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

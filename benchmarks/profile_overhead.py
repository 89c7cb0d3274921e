"""Where the host time of one small forward+backward goes (CUDA).

    python -m benchmarks.profile_overhead
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from torch_impl import kernels, losses


def wall(fn, n=200):
    for _ in range(20):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / n * 1e3


def main():
    z0 = torch.randn(4096, 1000, device="cuda", dtype=torch.bfloat16)
    y = torch.randint(0, 1000, (4096,), device="cuda")
    scce = losses.SparseCategoricalCrossentropy(from_logits=True)
    leaf = z0.clone().requires_grad_(True)

    def run(backend):
        def f():
            leaf.grad = None
            with kernels.use_backend(backend):
                scce(y, leaf).backward()
        return f

    def torch_ce():
        leaf.grad = None
        F.cross_entropy(leaf, y).backward()

    for name, f in (("fused", run("triton")), ("eager", run("eager")), ("F.cross_entropy", torch_ce)):
        print(f"{name:16s} {wall(f):.3f} ms per forward+backward (wall, 200 calls)")
    from torch.profiler import ProfilerActivity, profile

    for name, f in (("fused", run("triton")), ("eager", run("eager"))):
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            for _ in range(20):
                f()
            torch.cuda.synchronize()
        print(f"--- {name}")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=18))


if __name__ == "__main__":
    main()

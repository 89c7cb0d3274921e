"""Host cost of the fused path, function by function, and of one Triton launch (CUDA).

    python -m benchmarks.profile_launch

Prints wall time per forward+backward of the fused SCCE (4096x1000 bf16)
against F.cross_entropy, the host time of one launch of a trivial kernel
through ``kernel[grid](...)`` and through the cached compiled kernel, and a
cProfile of the fused call sorted by own time.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import time

import torch
import torch.nn.functional as F

from torch_impl import kernels, losses
from torch_impl.kernels import softmax_xent as _sx


def wall_us(fn, n=300):
    for _ in range(30):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / n * 1e6


def main():
    z0 = torch.randn(4096, 1000, device="cuda", dtype=torch.bfloat16)
    y = torch.randint(0, 1000, (4096,), device="cuda")
    scce = losses.SparseCategoricalCrossentropy(from_logits=True)
    leaf = z0.clone().requires_grad_(True)
    kernels.set_backend("triton")

    def fused():
        leaf.grad = None
        scce(y, leaf).backward()

    def fused_fwd():
        with torch.no_grad():
            scce(y, leaf)

    def torch_ce():
        leaf.grad = None
        F.cross_entropy(leaf, y).backward()

    g = torch.empty(1 << 20, device="cuda")
    one = torch.ones(1, device="cuda")
    n = g.numel()

    def launch_getitem():
        _sx._scale_unless_one[(n // 4096,)](g, one, n, BLOCK=4096)

    ck = _sx._scale_unless_one[(n // 4096,)](g, one, n, BLOCK=4096)
    runner = ck[(n // 4096, 1, 1)]

    def launch_compiled():
        try:
            runner(g, one, n, 4096)
        except TypeError:
            runner(g, one, n)

    def empty_op():
        torch.empty(1, device="cuda")

    def torch_mul():
        g.mul_(1.0)

    for name, f in (("fused fwd+bwd", fused), ("fused forward (no_grad)", fused_fwd),
                    ("F.cross_entropy fwd+bwd", torch_ce), ("kernel[grid](...) launch", launch_getitem),
                    ("compiled-kernel launch", launch_compiled), ("torch.empty", empty_op),
                    ("tensor.mul_ (one launch)", torch_mul)):
        print(f"{name:28s} {wall_us(f):8.1f} us per call (wall)")
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(200):
        fused()
    torch.cuda.synchronize()
    pr.disable()
    s = io.StringIO()
    pstats.Stats(pr, stream=s).sort_stats("tottime").print_stats(30)
    print(s.getvalue())
    s = io.StringIO()
    pstats.Stats(pr, stream=s).sort_stats("cumtime").print_stats(30)
    print(s.getvalue())




class _Trivial(torch.autograd.Function):
    """forward: a preallocated sum; backward: a preallocated gradient (the cost of a Python Function)."""

    @staticmethod
    def forward(ctx, x, out, g):
        ctx.g = g
        return x.new_empty(())

    @staticmethod
    def backward(ctx, grad_out):
        return ctx.g, None, None


def ladder():
    """Wall time of ever fuller pieces of the fused path, to see where the host time goes."""
    from torch_impl.kernels import ops

    z0 = torch.randn(4096, 1000, device="cuda", dtype=torch.bfloat16)
    y = torch.randint(0, 1000, (4096,), device="cuda")
    scce = losses.SparseCategoricalCrossentropy(from_logits=True)
    leaf = z0.clone().requires_grad_(True)
    out, g = torch.zeros((), device="cuda"), torch.zeros_like(z0)
    kernels.set_backend("triton")
    r = 1.0 / 4096

    def step(f):
        def run():
            leaf.grad = None
            f().backward()
        return run

    def nograd(f):
        def run():
            with torch.no_grad():
                f()
        return run

    rows = [
        ("_launch_fwd (kernel + label check)", lambda: ops._launch_fwd(leaf.detach(), y, True, 0.0, None, None, True, r)),
        ("trivial Function fwd+bwd", step(lambda: _Trivial.apply(leaf, out, g))),
        ("leaf.sum() fwd+bwd", step(lambda: leaf.sum())),
        ("ops.softmax_xent_reduced no_grad", nograd(lambda: ops.softmax_xent_reduced(leaf, y, r, True))),
        ("ops.softmax_xent_reduced fwd+bwd", step(lambda: ops.softmax_xent_reduced(leaf, y, r, True))),
        ("SCCE no_grad", nograd(lambda: scce(y, leaf))),
        ("SCCE fwd+bwd", step(lambda: scce(y, leaf))),
        ("F.cross_entropy fwd+bwd", step(lambda: F.cross_entropy(leaf, y))),
    ]
    for name, f in rows:
        print(f"{name:38s} {wall_us(f):8.1f} us per call (wall)")
    cpu = torch.zeros(8, 8, requires_grad=True)
    print(f"{'trivial Function fwd+bwd (CPU)':38s} {wall_us(step_cpu(cpu)):8.1f} us per call (wall)")


def step_cpu(cpu):
    out, g = torch.zeros(()), torch.zeros_like(cpu)

    def run():
        cpu.grad = None
        _Trivial.apply(cpu, out, g).backward()
    return run


if __name__ == "__main__":
    import sys

    ladder() if "--ladder" in sys.argv else main()

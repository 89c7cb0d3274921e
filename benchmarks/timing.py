"""Timing helpers shared by the in-process runner and the Keras workers (no torch import at module level).

* :func:`median_ms` times a synchronising callable on the host clock: warm-up
  calls first, then repetitions until a minimum total time, median reported.
* :func:`cuda_median_ms` uses ``triton.testing.do_bench`` (CUDA events, median):
  the time a caller sees, host launch cost included where the host is the
  bottleneck (small shapes).
* :func:`cuda_device_ms` is the GPU's own busy time per call (the kernels'
  durations from the profiler, launch gaps excluded): the figure to hold
  against the memory bandwidth.
* :func:`peak_mb` is the memory one call allocates beyond what it started
  with: the CUDA allocator's peak, or on the CPU :func:`cpu_peak_mb` from the
  profiler's allocation records.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable


def median_ms(step: Callable[[], object], min_time: float = 0.5, warmup: int = 3, min_reps: int = 5,
              max_reps: int = 1000) -> float:
    """Median wall time of ``step()`` in ms; ``step`` must wait for its own result."""
    for _ in range(warmup):
        step()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_reps or (time.perf_counter() - start < min_time and len(times) < max_reps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def cuda_median_ms(step: Callable[[], object], quick: bool = False) -> float:
    """Median of CUDA-event timings (triton.testing.do_bench), warm-up excluded."""
    from triton.testing import do_bench

    return float(do_bench(step, warmup=10 if quick else 25, rep=30 if quick else 100, return_mode="median"))


def cuda_device_ms(step: Callable[[], object], iters: int = 20, warmup: int = 3) -> float:
    """Mean GPU busy time of ``step()`` in ms: the sum of its kernels' durations (CUPTI), launch gaps excluded."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(iters):
            step()
        torch.cuda.synchronize()
    total_us = 0.0
    for e in prof.key_averages():
        total_us += getattr(e, "self_device_time_total", None) or getattr(e, "self_cuda_time_total", 0.0)
    return total_us / iters / 1e3


def rotation(nbytes: int, cache_bytes: int) -> int:
    """How many input copies to cycle through so the working set exceeds the cache."""
    return max(1, min(8, -(-2 * cache_bytes // max(nbytes, 1))))


def cpu_peak_mb(step: Callable[[], object]) -> float:
    """Peak memory (MB) that one call of ``step()`` allocates on the CPU beyond what it started with.

    The CPU allocator keeps no peak, so this walks PyTorch's profiler records of
    the call (``profile_memory``): each op's own net allocation is counted at its
    start when positive and at its end when negative (allocations come before
    the frees that follow them, e.g. autograd's release of saved tensors once a
    backward node has made its output), plus the stray allocator records
    outside any op. The highest running total is the peak.
    """
    import os
    import sys

    from torch.profiler import ProfilerActivity, profile

    sys.stderr.flush()
    try:  # the profiler's C++ side logs its start and stop to stderr on every call: silenced
        saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
    except OSError:  # no file descriptor 2 to redirect: let it log
        saved = devnull = None
    try:
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            step()
    finally:
        if saved is not None:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)
    changes = []
    for e in prof.events():
        b = e.self_cpu_memory_usage
        if b:
            changes.append((e.time_range.start if b > 0 else e.time_range.end, b))
    total = peak = 0
    for _, b in sorted(changes, key=lambda c: (c[0], -c[1])):
        total += b
        peak = max(peak, total)
    return peak / 2**20


def peak_mb(step: Callable[[], object], device: str) -> float:
    """Peak memory (MB) that one ``step()`` allocates beyond what was allocated before it: the CUDA
    allocator's peak, or :func:`cpu_peak_mb` on the CPU."""
    if device != "cuda":
        return cpu_peak_mb(step)
    import torch

    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    step()
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - before) / 2**20

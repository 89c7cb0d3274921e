"""CUDA forward+backward of the losses: torch_impl's fused kernels against
torch eager built-ins, torch_impl's eager path, Liger-Kernel's fused CE and
torchvision's sigmoid_focal_loss.

    python -m benchmarks.cuda_losses [--quick] [--out DIR] [--only FAMILY:DTYPE:NxC,...]

Byte model (each input read once, each output written once): predictions read
+ gradient written + targets read (int64 labels, or a tensor of the
predictions' shape and dtype). Reports median time
(triton.testing.do_bench: what a caller waits, launches included), the GPU's
own busy time (kernel durations from the profiler, launch gaps excluded),
effective GB/s of each and their fraction of the device copy bandwidth
measured in the same run, and peak extra memory. Every
implementation is checked against torch eager in float64 first.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch
import torch.nn.functional as F


def copy_bandwidth(nbytes: int = 2 << 30) -> float:
    """Device-to-device copy, GB/s counting bytes read plus bytes written."""
    from triton.testing import do_bench

    a = torch.empty(nbytes // 4, dtype=torch.float32, device="cuda").uniform_()
    b = torch.empty_like(a)
    ms = do_bench(lambda: b.copy_(a), warmup=25, rep=200, return_mode="median")
    return 2 * nbytes / (ms * 1e-3) / 1e9


def _ours(loss) -> dict:
    """``loss`` under the fused kernels and under the eager path, as ``fn(z, t)``."""
    from torch_impl import kernels

    def on(backend):
        def fn(z, t):
            with kernels.use_backend(backend):
                return loss(t, z)

        return fn

    return {"torch_impl fused": on("triton"), "torch_impl eager": on("eager")}


def _impls(sparse: bool):
    from torch_impl import losses

    if sparse:
        impls = _ours(losses.SparseCategoricalCrossentropy(from_logits=True))
        impls["F.cross_entropy"] = lambda z, t: F.cross_entropy(z, t)
        try:
            from liger_kernel.transformers import LigerCrossEntropyLoss

            lce = LigerCrossEntropyLoss()
            impls["Liger fused CE"] = lambda z, t: lce(z, t)
        except Exception as e:  # noqa: BLE001
            print("Liger-Kernel not importable:", e)
    else:
        impls = _ours(losses.CategoricalCrossentropy(from_logits=True))
        impls["F.cross_entropy"] = lambda z, t: F.cross_entropy(z, t)
    return impls


def _binary_impls(focal: bool):
    from torch_impl import losses

    impls = _ours(losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.25, gamma=2.0, from_logits=True)
                  if focal else losses.BinaryCrossentropy(from_logits=True))
    if focal:
        try:
            from torchvision.ops import sigmoid_focal_loss

            # the same options (alpha on positives, 1-alpha on negatives, gamma 2, mean over elements);
            # it computes a different crossentropy near saturation, so its value is close, not equal
            impls["torchvision sigmoid_focal_loss"] = lambda z, t: sigmoid_focal_loss(z, t, 0.25, 2.0, "mean")
        except Exception as e:  # noqa: BLE001
            print("torchvision not importable:", e)
    else:
        impls["F.binary_cross_entropy_with_logits"] = lambda z, t: F.binary_cross_entropy_with_logits(z, t)
    return impls


def _cfocal_impls():
    from torch_impl import losses

    return _ours(losses.CategoricalFocalCrossentropy(alpha=0.25, gamma=2.0, from_logits=True))


def _measure(impls: dict, zs: list, ts: list, ref_value: float, ref_grad: torch.Tensor, bytes_moved: int,
             copy_gbs: float, base: dict, keep=None) -> list[dict]:
    """Check each implementation (those named in ``keep``, or all) against the float64 reference, then time
    forward+backward."""
    from triton.testing import do_bench

    from benchmarks.timing import cuda_device_ms

    rotate = len(zs)
    rows = []
    for name, fn in impls.items():
        if keep and name not in keep:
            continue
        # correctness first (Liger writes its gradient into the logits: use a copy)
        z = zs[0].clone().requires_grad_(True)
        v = fn(z, ts[0])
        v.backward()
        grad = z.grad if z.grad is not None else z.detach()
        err_v = abs(float(v.detach()) - ref_value) / max(abs(ref_value), 1e-30)
        err_g = float((grad.double() - ref_grad).abs().max() / ref_grad.abs().max())
        leaves = [zz.clone().requires_grad_(True) for zz in zs]
        state = {"i": 0}

        def step():
            i = state["i"] = (state["i"] + 1) % rotate
            leaves[i].grad = None
            fn(leaves[i], ts[i]).backward()

        torch.cuda.synchronize()
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        step()
        torch.cuda.synchronize()
        peak_extra = torch.cuda.max_memory_allocated() - before
        ms = do_bench(step, warmup=25, rep=100, return_mode="median")
        device_ms = cuda_device_ms(step)
        gbs = bytes_moved / (ms * 1e-3) / 1e9
        n = zs[0].shape[0]
        rows.append(dict(base, impl=name, ms=ms, gbs=gbs, copy_fraction=gbs / copy_gbs, samples_per_s=n / (ms * 1e-3),
                         device_ms=device_ms, device_copy_fraction=bytes_moved / (device_ms * 1e-3) / 1e9 / copy_gbs,
                         peak_extra_mb=peak_extra / 2**20,
                         logits_mb=zs[0].numel() * zs[0].element_size() / 2**20,
                         value_rel_err=err_v, grad_rel_err=err_g))
        del leaves
    return rows


def _inputs(n: int, c: int, dtype: torch.dtype, target: str):
    elem = torch.tensor([], dtype=dtype).element_size()
    rotate = max(1, min(8, (256 << 20) // max(n * c * elem, 1)))  # keep the working set out of L2
    gen = torch.Generator(device="cuda").manual_seed(0)
    zs = [torch.randn(n, c, device="cuda", generator=gen).mul_(3).to(dtype) for _ in range(rotate)]
    if target == "index":
        ts = [torch.randint(0, c, (n,), device="cuda", generator=gen) for _ in range(rotate)]
    elif target == "one_hot":
        ts = [F.one_hot(torch.randint(0, c, (n,), device="cuda", generator=gen), c).to(dtype) for _ in range(rotate)]
    else:
        ts = [(torch.rand(n, c, device="cuda", generator=gen) < 0.3).to(dtype) for _ in range(rotate)]
    target_bytes = n * 8 if target == "index" else n * c * elem
    return zs, ts, 2 * n * c * elem + target_bytes


def _reference(fn, z, t):
    from torch_impl import kernels

    zz = z.double().requires_grad_(True)
    with kernels.use_backend("eager"):
        v = fn(zz, t if not t.is_floating_point() else t.double())
    v.backward()
    return float(v), zz.grad


def bench_binary(n: int, d: int, dtype: torch.dtype, focal, copy_gbs: float, keep=None) -> list[dict]:
    """Binary / binary focal (element-wise targets) or categorical focal (one-hot targets)."""
    categorical = focal == "categorical"
    zs, ts, bytes_moved = _inputs(n, d, dtype, "one_hot" if categorical else "binary")
    impls = _cfocal_impls() if categorical else _binary_impls(focal)
    ref_value, ref_grad = _reference(impls["torch_impl eager"], zs[0], ts[0])
    family = "categorical_focal" if categorical else ("binary_focal" if focal else "binary")
    rows = _measure(impls, zs, ts, ref_value, ref_grad, bytes_moved, copy_gbs,
                    dict(family=family, n=n, c=d, dtype=str(dtype).replace("torch.", "")), keep)
    base_name = {"categorical": "torch_impl eager", True: "torchvision sigmoid_focal_loss",
                 False: "F.binary_cross_entropy_with_logits"}[focal]
    base_ms = {r["impl"]: r["ms"] for r in rows}
    for r in rows:
        r["speedup_vs_torch"] = base_ms.get(base_name, float("nan")) / r["ms"]
    return rows


def bench_shape(n: int, c: int, dtype: torch.dtype, sparse: bool, copy_gbs: float, keep=None) -> list[dict]:
    """Crossentropy from logits with class indices (sparse) or one-hot targets."""
    zs, ts, bytes_moved = _inputs(n, c, dtype, "index" if sparse else "one_hot")
    ref_z = zs[0].double().requires_grad_(True)
    ref = F.cross_entropy(ref_z, ts[0] if sparse else ts[0].double())
    ref.backward()
    rows = _measure(_impls(sparse), zs, ts, float(ref), ref_z.grad, bytes_moved, copy_gbs,
                    dict(family="sparse" if sparse else "categorical", n=n, c=c,
                         dtype=str(dtype).replace("torch.", ""), sparse=sparse), keep)
    base_ms = {r["impl"]: r["ms"] for r in rows}
    for r in rows:
        r["speedup_vs_torch"] = base_ms.get("F.cross_entropy", float("nan")) / r["ms"]
    return rows


def _jobs(quick: bool) -> list[tuple]:
    """(family, dtype, n, c) in the order they run: the element-wise families, then the crossentropies."""
    shapes = [(4096, 32000), (8192, 131072)] if quick else [
        (64, 10), (4096, 1000), (65536, 1000), (4096, 32000), (8192, 32000), (4096, 131072), (8192, 131072)]
    jobs = []
    for family in ("binary", "binary_focal", "categorical_focal"):
        for dtype in (torch.bfloat16, torch.float32):
            bshapes = [(65536, 1000), (8192, 4096)] if quick else [(4096, 1), (65536, 1000), (16384, 4096)]
            if family == "categorical_focal":
                bshapes = [(65536, 1000), (8192, 32000)]
            jobs += [(family, dtype, n, d) for n, d in bshapes]
    for family in ("sparse", "categorical"):
        for dtype in (torch.bfloat16, torch.float32):
            jobs += [(family, dtype, n, c) for n, c in shapes if family == "sparse" or n * c <= 2**28]
    return jobs


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default="benchmarks/results/cuda")
    ap.add_argument("--impls", default="", help="comma-separated implementations to time (default all), "
                    "e.g. 'torch_impl fused'")
    ap.add_argument("--only", default="", help="comma-separated FAMILY:DTYPE:NxC entries of the sweep, "
                    "e.g. categorical:bfloat16:8192x32000")
    args = ap.parse_args(argv)
    jobs = _jobs(args.quick)
    if args.only:
        wanted = set(args.only.split(","))
        named = {f"{f}:{str(dt).replace('torch.', '')}:{n}x{c}": (f, dt, n, c) for f, dt, n, c in jobs}
        if wanted - set(named):
            raise SystemExit(f"--only {sorted(wanted - set(named))}: not in the sweep")
        jobs = [named[w] for w in named if w in wanted]
    keep = set(args.impls.split(",")) if args.impls else None
    copy_gbs = copy_bandwidth()
    info = dict(device=torch.cuda.get_device_name(), copy_gbs=copy_gbs, torch=torch.__version__,
                triton=__import__("triton").__version__, python=platform.python_version())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    for family, dtype, n, c in jobs:
        try:
            if family in ("sparse", "categorical"):
                rows += bench_shape(n, c, dtype, family == "sparse", copy_gbs, keep)
            else:
                focal = {"binary": False, "binary_focal": True, "categorical_focal": "categorical"}[family]
                rows += bench_binary(n, c, dtype, focal, copy_gbs, keep)
        except torch.cuda.OutOfMemoryError:
            print("OOM", family, n, c, dtype)
        torch.cuda.empty_cache()
        _save(out, info, rows)  # after every shape: a run cut short keeps what it measured
    print(_save(out, info, rows))


def _save(out: Path, info: dict, rows: list) -> str:
    copy_gbs = info["copy_gbs"]
    (out / "cuda_losses.json").write_text(json.dumps(dict(info=info, rows=rows), indent=1))
    lines = [f"{info['device']}, copy bandwidth {copy_gbs:.0f} GB/s (read+write), torch {info['torch']}, "
             f"triton {info['triton']}; forward+backward. ms: median of do_bench (launches included); "
             "device ms: the GPU's busy time per call (kernel durations, launch gaps excluded)", "",
             "| loss | dtype | N x C | impl | ms | GB/s | % copy BW | device ms | % copy BW (device) "
             "| vs torch built-in | peak extra MB (input MB) | grad err |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['family']} | {r['dtype']} | {r['n']}x{r['c']} | {r['impl']} | "
                     f"{r['ms']:.3f} | {r['gbs']:.0f} | {100 * r['copy_fraction']:.0f}% | "
                     f"{r['device_ms']:.3f} | {100 * r['device_copy_fraction']:.0f}% | {r['speedup_vs_torch']:.2f}x | "
                     f"{r['peak_extra_mb']:.0f} ({r['logits_mb']:.0f}) | {r['grad_rel_err']:.1e} |")
    md = "\n".join(lines)
    (out / "cuda_losses.md").write_text(md + "\n")
    return md


if __name__ == "__main__":
    main()

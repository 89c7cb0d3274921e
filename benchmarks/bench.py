"""``lossparity bench``: loss throughput across implementations and frameworks.

For every case of the sweep (:mod:`benchmarks.cases`): forward and
forward+backward of every loss, float32 and bfloat16, each implementation
checked for the reference value first, then timed (CUDA events via
``triton.testing.do_bench`` on GPU, the host clock on CPU; medians; inputs
rotated so that caches do not flatter). PyTorch implementations run in this
process; Keras runs in one subprocess per backend (TensorFlow, JAX, torch),
each where importable.

Writes ``bench.json`` (device, driver, library versions, every figure),
``bench.md`` and ``throughput.png`` / ``copy_fraction.png`` under
``benchmarks/results/<device>/`` (or ``--out``).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator, Optional

from benchmarks.cases import FAMILIES, cpu_sweep, cuda_sweep

RTOL = {"float32": 1e-3, "bfloat16": 1e-2}
ROOT = Path(__file__).resolve().parents[1]


def _device_name(device: str) -> str:
    import torch

    if device == "cuda":
        return torch.cuda.get_device_name()
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu} ({os.cpu_count()} cores)"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for mod in ("torch", "triton", "tensorflow", "keras", "jax", "liger_kernel", "torchvision"):
        try:
            m = __import__(mod)
            out[mod] = getattr(m, "__version__", None) or importlib.metadata.version(mod)
        except Exception:  # noqa: BLE001
            pass
    try:
        out["nvidia_driver"] = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True, text=True,
            timeout=20).stdout.strip() or None
    except Exception:  # noqa: BLE001
        pass
    return out


def _backend_importable(backend: str) -> bool:
    probe = {"tensorflow": "import tensorflow, keras", "jax": "import jax, keras", "torch": "import torch, keras"}[backend]
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    r = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, timeout=300, cwd=ROOT)
    return r.returncode == 0


def _keras_rows(backend: str, cases, device: str, quick: bool, refs: dict, log,
                peak_only: bool = False) -> Iterator[dict]:
    """Rows from one Keras worker subprocess, yielded as it prints them (so a run cut short keeps what it
    measured)."""
    spec = {"cases": [dict(c.to_dict(), reference=refs[c.id]) for c in cases], "device": device, "quick": quick,
            "rtol": RTOL, "peak_only": peak_only}
    # JAX would otherwise take 75% of the GPU up front, beside this process's cached blocks
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3", XLA_PYTHON_CLIENT_PREALLOCATE="false",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
        env["JAX_PLATFORMS"] = "cpu"
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-m", "benchmarks.keras_worker"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT, env=env)
        proc.stdin.write(json.dumps(spec))
        proc.stdin.close()
        for line in proc.stdout:
            if line.startswith("{"):
                yield json.loads(line)
        code = proc.wait()
        if code != 0:
            err.seek(0)
            log(f"Keras {backend} worker exited {code}: {err.read()[-500:]}")


def run(device: str = "cpu", quick: bool = False, out: Optional[str] = None,
        keras_backends=("tensorflow", "jax", "torch"), with_compile: Optional[bool] = None, log=print,
        families: Optional[tuple] = None, torch_impls: bool = True, shapes: Optional[tuple] = None,
        peak_only: bool = False) -> dict:
    """Run the sweep (optionally only some loss ``families`` and ``shapes``, "NxC" strings); returns the result dict
    (also written to ``out``). With ``peak_only`` the rows carry only peak memory (nothing checked or timed):
    ``merge`` adds it to the rows of an earlier run."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import triton  # noqa: F401  (before anything loads TensorFlow's LLVM)
    except ImportError:
        pass
    import torch

    from benchmarks.torch_impls import copy_bandwidth, reference_value, run_case

    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device here")
    unknown = set(keras_backends) - {"tensorflow", "jax", "torch"}
    if unknown:
        raise SystemExit(f"unknown Keras backend(s) {sorted(unknown)}: choose from tensorflow, jax, torch")
    cases = cuda_sweep(quick) if device == "cuda" else cpu_sweep(quick)
    if families:
        if set(families) - set(FAMILIES):
            raise SystemExit(f"--families {sorted(set(families) - set(FAMILIES))}: unknown; choose from "
                             f"{', '.join(FAMILIES)}")
        cases = [c for c in cases if c.family in families]
    if shapes:
        available = {f"{c.n}x{c.c}" for c in cases}
        if set(shapes) - available:
            raise SystemExit(f"--shapes {sorted(set(shapes) - available)}: not in this sweep; its shapes are "
                             f"{sorted(available, key=lambda s: [int(v) for v in s.split('x')])}")
        cases = [c for c in cases if f"{c.n}x{c.c}" in shapes]
    with_compile = (not quick) if with_compile is None else with_compile
    t0 = time.perf_counter()
    copy_gbs = copy_bandwidth(device)
    device_name = _device_name(device)
    log(f"{device_name}: copy bandwidth {copy_gbs:.1f} GB/s; {len(cases)} cases")
    rows: list[dict] = []
    refs = {}
    result = dict(device=device, device_name=device_name, copy_gbs=copy_gbs, quick=quick, peak_only=peak_only,
                  versions=_versions(), seconds=0.0,
                  byte_model="each input read once, each output written once: predictions + targets read; "
                             "forward writes one float32 loss per sample, forward+backward writes the gradient",
                  rows=rows)
    out_dir = Path(out) if out else ROOT / "benchmarks" / "results" / _slug(f"{device}-{result['device_name']}")
    out_dir.mkdir(parents=True, exist_ok=True)

    def save(final: bool = False) -> None:  # after every row set, so an interrupted run keeps what it measured
        result["seconds"] = time.perf_counter() - t0
        write(result, out_dir, final)

    for i, case in enumerate(cases):
        refs[case.id] = None if peak_only else reference_value(case, device)
        if not torch_impls:  # Keras only (the torch rows measured in another run; see merge())
            continue
        rows += run_case(case, device, copy_gbs, quick, with_compile, RTOL[case.dtype], refs[case.id], peak_only)
        if device == "cuda":
            torch.cuda.empty_cache()
        log(f"[{i + 1}/{len(cases)}] {case.id}")
        save()
    if device == "cuda":
        torch.cuda.empty_cache()
    for backend in keras_backends:
        if not _backend_importable(backend):
            log(f"Keras on {backend}: not importable here, skipped")
            continue
        log(f"Keras on {backend} ...")
        for r in _keras_rows(backend, cases, device, quick, refs, log, peak_only):
            if "gbs" in r:
                r["copy_fraction"] = r["gbs"] / copy_gbs
            rows.append(r)
            save()
    save(final=True)
    result["out_dir"] = str(out_dir)
    return result


def merge(paths: list, out_dir: str) -> dict:
    """One result from several runs on the same device (e.g. the sweep split over several calls).

    Rows are keyed by (case, impl); a later file wins. A ``peak_only`` row
    (``lossparity bench --peak-only``) only sets the peak memory of the row it
    matches. The copy bandwidth and versions are the first file's; each row
    keeps the GB/s fraction of its own run.
    """
    results = [json.loads(Path(p).read_text()) for p in paths]
    names = {r["device_name"] for r in results}
    if len(names) != 1:
        raise SystemExit(f"merge: results come from different devices: {sorted(names)}")
    sources = []  # a merged input contributes its own sources
    for p, r in zip(paths, results):
        sources += r.get("merged_from") or [str(p)]
    merged = dict(results[0], seconds=sum(r["seconds"] for r in results), merged_from=sources)
    rows: dict = {}
    for r in results:
        for row in r["rows"]:
            key = (row["case"], row["impl"])
            if row.get("peak_only"):
                if key in rows and row.get("peak_extra_mb") is not None:
                    rows[key] = dict(rows[key], peak_extra_mb=row["peak_extra_mb"])
            else:
                rows[key] = row
    merged["rows"] = list(rows.values())
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write(merged, out, final=True)
    return merged


def write(result: dict, out_dir: Path, final: bool = True) -> None:
    """``bench.json``; with ``final`` also ``bench.md`` and the plots."""
    (out_dir / "bench.json").write_text(json.dumps(result, indent=1))
    if final:
        (out_dir / "bench.md").write_text(markdown(result))
        plot(result, out_dir)


def markdown(result: dict) -> str:
    lines = [
        f"# Loss benchmark: {result['device_name']}",
        "",
        f"Copy bandwidth {result['copy_gbs']:.1f} GB/s (read + write, measured in the same run). "
        f"Byte model: {result['byte_model']}. Versions: "
        + ", ".join(f"{k} {v}" for k, v in result["versions"].items() if v) + ".",
        "",
        "ms is the median time per call as a caller sees it (launches included); device ms is the GPU's "
        "busy time per call (kernel durations, launch gaps excluded; torch implementations on CUDA only)."
        if result["device"] == "cuda" else "ms is the median wall time per call.",
        "",
        *([result["note"], ""] if result.get("note") else []),
        "| case | impl | ms | GB/s | % copy BW | device ms | % copy BW (device) | samples/s | peak extra MB | note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in sorted(result["rows"], key=lambda r: (r["family"], r["mode"], r["dtype"], r["n"] * r["c"], r.get("ms", 1e9))):
        if "ms" in r:
            peak = "" if r.get("peak_extra_mb") is None else f"{r['peak_extra_mb']:.0f}"
            dev = (f"{r['device_ms']:.3f} | {100 * r['device_copy_fraction']:.1f}%" if r.get("device_copy_fraction")
                   else " | ")
            lines.append(f"| {r['case']} | {r['impl']} | {r['ms']:.3f} | {r['gbs']:.1f} | "
                         f"{100 * r.get('copy_fraction', 0):.1f}% | {dev} | {r['samples_per_s']:.3g} | {peak} | |")
        elif r.get("peak_only") and r.get("peak_extra_mb") is not None:
            lines.append(f"| {r['case']} | {r['impl']} | | | | | | | {r['peak_extra_mb']:.0f} | peak only |")
        else:
            lines.append(f"| {r['case']} | {r['impl']} | | | | | | | | {r.get('error', '')[:120]} |")
    return "\n".join(lines) + "\n"


def plot(result: dict, out_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in result["rows"] if "ms" in r and r["mode"] == "forward_backward"]
    families = sorted({r["family"] for r in rows})
    impls = sorted({r["impl"] for r in rows})
    colors = {impl: plt.get_cmap("tab10")(i % 10) for i, impl in enumerate(impls)}
    dtype = "bfloat16" if result["device"] == "cuda" else "float32"
    ncols = min(3, max(1, len(families)))
    nrows = -(-len(families) // ncols) if families else 1
    for metric, fname, label in (("gbs", "throughput.png", "effective GB/s"),
                                 ("copy_fraction", "copy_fraction.png", "fraction of copy bandwidth")):
        fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.8 * nrows), squeeze=False)
        for ax, fam in zip(axes.flat, families):
            sub = [r for r in rows if r["family"] == fam and r["dtype"] == dtype]
            for impl in impls:
                pts = sorted((r["n"] * r["c"], r[metric]) for r in sub if r["impl"] == impl)
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=impl, color=colors[impl])
                dev = sorted((r["n"] * r["c"], r["device_copy_fraction"]) for r in sub
                             if r["impl"] == impl and r.get("device_copy_fraction"))
                if metric == "copy_fraction" and dev:  # the GPU's own time, launch gaps excluded
                    ax.plot([p[0] for p in dev], [p[1] for p in dev], marker="x", linestyle="--",
                            label=f"{impl} (device time)", color=colors[impl], alpha=0.7)
            ax.set_xscale("log")
            ax.set_title(f"{fam}, forward+backward, {dtype}", fontsize=10)
            ax.set_xlabel("elements (N x C)")
            ax.set_ylabel(label)
            if metric == "copy_fraction":
                ax.axhline(1.0, color="grey", linestyle="--", linewidth=0.8)
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=6)
        for ax in list(axes.flat)[len(families):]:
            ax.axis("off")
        fig.suptitle(f"{result['device_name']} (copy bandwidth {result['copy_gbs']:.0f} GB/s)")
        fig.tight_layout()
        fig.savefig(out_dir / fname, dpi=100)
        plt.close(fig)


if __name__ == "__main__":  # python -m benchmarks.bench --merge OUT_DIR A.json B.json ...
    if len(sys.argv) >= 4 and sys.argv[1] == "--merge":
        print(markdown(merge(sys.argv[3:], sys.argv[2])))
    else:
        raise SystemExit("usage: python -m benchmarks.bench --merge OUT_DIR A.json B.json ... "
                         "(the sweep itself: lossparity bench)")

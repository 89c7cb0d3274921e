"""`lossparity bench --device cpu --quick` runs end to end (a smoke check: no timing assertions)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.keras
@pytest.mark.slow  # 50 s: the whole quick benchmark (make test-all)
def test_bench_cpu_quick(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TRITON_INTERPRET", None)
    r = subprocess.run([sys.executable, "-m", "scenarios.cli", "bench", "--device", "cpu", "--quick", "--out",
                        str(tmp_path)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    print(r.stdout[-3000:])
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((tmp_path / "bench.json").read_text())
    impls = {row["impl"] for row in res["rows"]}
    assert {"torch_impl", "F.cross_entropy", "F.binary_cross_entropy_with_logits", "Keras TF tf.function",
            "Keras TF XLA"} <= impls
    timed = [row for row in res["rows"] if "ms" in row]
    errors = [row for row in res["rows"] if "error" in row]
    assert timed and not errors, errors[:3]
    for row in timed:  # every timed value matched the reference first
        assert abs(row["value"] - row["reference"]) <= 1e-3 * abs(row["reference"]) + 1e-6
    jax_rows = [row for row in timed if row["impl"] == "Keras JAX jit" and row["mode"] == "forward_backward"]
    assert bool(jax_rows) == (importlib.util.find_spec("jax") is not None), "Keras JAX rows iff jax is installed"
    for row in jax_rows:  # XLA's plan holds at least the gradient, one logits-sized output
        logits_mb = row["n"] * row["c"] * {"float32": 4, "bfloat16": 2}[row["dtype"]] / 2**20
        print(f"{row['case']}: Keras JAX peak extra {row['peak_extra_mb']:.3f} MB, logits {logits_mb:.3f} MB")
        assert row["peak_extra_mb"] >= logits_mb
    for row in timed:  # every torch row, and Keras on its torch backend, carries the profiler's peak
        if row["framework"] == "torch" or row["impl"] == "Keras torch backend":
            logits_mb = row["n"] * row["c"] * 4 / 2**20
            assert row["peak_extra_mb"] is not None, row["case"]
            if row["mode"] == "forward_backward":  # at least the gradient
                assert row["peak_extra_mb"] >= logits_mb * 0.999, (row["case"], row["impl"], row["peak_extra_mb"])
    assert (tmp_path / "bench.md").exists() and (tmp_path / "throughput.png").exists()
    assert res["copy_gbs"] > 0 and res["versions"]["torch"]

    # --peak-only measures only the memory, and --merge puts it into the timed rows
    peak_dir = tmp_path / "peak"
    r = subprocess.run([sys.executable, "-m", "scenarios.cli", "bench", "--device", "cpu", "--quick", "--peak-only",
                        "--families", "sparse", "--keras-backends", "", "--out", str(peak_dir)],
                       capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    peak_run = json.loads((peak_dir / "bench.json").read_text())
    peaks = peak_run["rows"]
    assert peaks and all(p["peak_only"] and "ms" not in p and p["peak_extra_mb"] is not None for p in peaks)
    from benchmarks.bench import merge

    for p in peaks:
        p["peak_extra_mb"] += 1000.0  # marks the rows merge must update
    (peak_dir / "bench.json").write_text(json.dumps(peak_run))
    merged = merge([tmp_path / "bench.json", peak_dir / "bench.json"], str(tmp_path / "merged"))
    by_key = {(m["case"], m["impl"]): m for m in merged["rows"]}
    assert len(merged["rows"]) == len(res["rows"])  # no row added
    for p in peaks:
        m, before = by_key[(p["case"], p["impl"])], next(x for x in res["rows"]
                                                          if (x["case"], x["impl"]) == (p["case"], p["impl"]))
        assert m["peak_extra_mb"] == p["peak_extra_mb"] and m["ms"] == before["ms"]


def test_cpu_peak_of_a_known_step():
    """The profiler-based CPU peak: F.cross_entropy forward+backward holds three logits-sized buffers at once
    (log_softmax's output, NLL's gradient, the logits' gradient); under no_grad one."""
    import torch
    import torch.nn.functional as F

    from benchmarks.timing import cpu_peak_mb

    z = torch.randn(512, 1000)
    y = torch.randint(0, 1000, (512,))
    logits_mb = z.numel() * 4 / 2**20

    def fwd_bwd():
        x = z.clone().requires_grad_(True)
        F.cross_entropy(x, y).backward()
        return x.grad

    with torch.no_grad():
        fwd = cpu_peak_mb(lambda: F.cross_entropy(z, y))
    both = cpu_peak_mb(fwd_bwd)
    print(f"logits {logits_mb:.3f} MB; peak forward {fwd:.3f} MB, forward+backward {both:.3f} MB")
    assert abs(fwd - logits_mb) < 0.01 * logits_mb
    assert abs(both - 4 * logits_mb) < 0.01 * logits_mb  # the clone counts too: 3 + 1


def test_bench_rejects_unknown_families_and_shapes(tmp_path):
    """A misspelt family or shape stops the run with the valid choices (a family used to give 0 rows silently)."""
    from benchmarks import bench

    with pytest.raises(SystemExit, match="families.*choose from sparse"):
        bench.run(device="cpu", quick=True, families=("sparce",), out=str(tmp_path))
    with pytest.raises(SystemExit, match="shapes.*not in this sweep"):
        bench.run(device="cpu", quick=True, shapes=("7x7",), out=str(tmp_path))

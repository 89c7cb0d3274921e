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
    assert (tmp_path / "bench.md").exists() and (tmp_path / "throughput.png").exists()
    assert res["copy_gbs"] > 0 and res["versions"]["torch"]

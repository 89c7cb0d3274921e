"""The fused kernels compile for an H100 (sm_90) through Triton's real compiler, with no spills.

The other kernel tests run the kernels in Triton's interpreter, which executes
the Python directly and never builds them. This test compiles every launch the
losses make at the benchmark's shapes and variants (``benchmarks/ptxas_report.py``,
in a subprocess without ``TRITON_INTERPRET``) for sm_90 with the ptxas that
ships with Triton, and fails on a kernel that does not build, that spills
(more than a few bytes of stack or local memory per thread), or whose rows are
16-byte aligned but whose loads are not vectorized. No GPU needed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _toolchain() -> bool:
    try:
        import triton
    except ImportError:
        return False
    bin_dir = Path(triton.__file__).parent / "backends" / "nvidia" / "bin"
    return (bin_dir / "ptxas").exists() and (bin_dir / "cuobjdump").exists()


@pytest.mark.slow  # 30 s: every launch compiled for sm_90 (make test-all); the interpreter tests check the kernels
@pytest.mark.skipif(not _toolchain(), reason="Triton's NVIDIA toolchain (ptxas, cuobjdump) is not installed")
def test_kernels_compile_for_sm90_without_spills():
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    r = subprocess.run([sys.executable, "-m", "benchmarks.ptxas_report", "--check"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=900)
    print(r.stdout)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    compiled = [line for line in r.stdout.splitlines()[1:] if line and not line.startswith("PROBLEM")]
    assert len(compiled) >= 30, f"only {len(compiled)} launches compiled"

"""Shared set-up of the parity suite.

* Without a GPU, ``TRITON_INTERPRET=1`` is set so the kernel tests run the
  Triton kernels in Triton's interpreter.
* Triton is imported before TensorFlow: both bundle LLVM, and loading
  TensorFlow first makes the later Triton load (also the one torch.compile does)
  abort the process ("Option 'bitcode-mdindex-threshold' registered more than
  once").
* Parity records: tests call ``record_parity(rec)``; every xdist worker appends
  to a JSON-lines file and the controller prints one table per run (and writes
  ``out/parity/latest.md`` and ``latest.json``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import torch  # noqa: E402

if not torch.cuda.is_available():  # the Triton kernels run in Triton's interpreter on CPU
    os.environ.setdefault("TRITON_INTERPRET", "1")

try:  # before any TensorFlow import, see the module docstring
    import triton  # noqa: F401
except ImportError:  # pragma: no cover - triton is a test dependency
    pass

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RECORD_DIR = ROOT / "out" / "parity" / "records"


def _worker_id(config) -> str:
    return getattr(config, "workerinput", {}).get("workerid", "main")


def pytest_configure(config):
    if _worker_id(config) == "main":
        RECORD_DIR.mkdir(parents=True, exist_ok=True)
        for f in RECORD_DIR.glob("*.jsonl"):
            f.unlink()


@pytest.fixture(scope="module")
def keras3():
    """Keras 3.15.1 on TensorFlow, imported for a module's tests; skips them where either is missing."""
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    assert keras.__version__ == "3.15.1", keras.__version__
    return keras


@pytest.fixture
def one_torch_thread():
    """Tiny models on a busy 2-core machine: with two OpenMP threads torch's float64 conv and mean kernels spend
    ~50x their work in thread hand-offs (measured 5 ms against 0.09 ms per conv1d call). Use with
    ``pytest.mark.usefixtures("one_torch_thread")``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def record_parity(request):
    """Append a parity record (a dict with loss, options, dtype, errors...)."""
    path = RECORD_DIR / f"{_worker_id(request.config)}.jsonl"
    RECORD_DIR.mkdir(parents=True, exist_ok=True)
    fh = path.open("a")

    def _record(rec: dict) -> None:
        fh.write(json.dumps(rec, default=str) + "\n")
        fh.flush()

    yield _record
    fh.close()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _worker_id(config) != "main":
        return
    records = []
    for f in sorted(RECORD_DIR.glob("*.jsonl")):
        records += [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    if not records:
        return
    from scenarios.loss_parity import markdown_by_loss, markdown_table, summarise, summarise_by_loss

    rows = summarise(records)
    table = markdown_table(rows)
    by_loss = markdown_by_loss(summarise_by_loss(records))
    out = RECORD_DIR.parent
    (out / "latest.md").write_text(table)
    (out / "latest_by_loss.md").write_text(by_loss)
    (out / "latest.json").write_text(json.dumps(rows, indent=1))
    tr = terminalreporter
    tr.section("loss parity vs Keras 3.15.1 on TensorFlow (max errors per loss and option set)")
    tr.write(table)
    tr.write_line("")
    tr.write(by_loss)
    worst = max((r for r in records if r.get("status") == "ok"), key=lambda r: r.get("grad_rel", 0.0), default=None)
    n_fail = sum(not r["passed"] for r in records)
    tr.write_line(f"{len(records)} parity cases, {n_fail} failed; tables in {out}/latest.md")
    if worst:
        tr.write_line(f"largest relative gradient error: {worst['grad_rel']:.2e} ({worst['id']})")

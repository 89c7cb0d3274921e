"""The ``lossparity`` command line.

    lossparity parity [--grid default|full] [--out DIR]   loss values/gradients vs Keras, as a table
    lossparity bench [--device cpu|cuda] [--quick]       loss throughput across implementations/frameworks
    lossparity demo                                      the main job (for now: the loss-parity table)

Each command prints a summary table (rich) and writes Markdown + JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

__all__ = ["main"]


def _load_frameworks():
    """Import both frameworks in the only safe order (Triton before TensorFlow).

    TensorFlow and Triton both bundle LLVM; if TensorFlow is loaded first, a
    later Triton load (torch.compile, GPU kernels) aborts the process.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    try:
        import triton  # noqa: F401
    except ImportError:
        pass
    import torch  # noqa: F401

    from keras_impl.harness import loss_value_and_grad as keras_eval
    from torch_impl.harness import loss_value_and_grad as torch_eval

    return torch_eval, keras_eval


def cmd_parity(args) -> int:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from scenarios.loss_cases import default_grid, full_grid
    from scenarios.loss_parity import markdown_table, run_case, summarise

    console = Console(width=None if sys.stdout.isatty() else 200)
    torch_eval, keras_eval = _load_frameworks()
    grid = default_grid() if args.grid == "default" else full_grid()
    seen, cases = set(), []
    for c in grid:
        if c.reference in ("tensorflow", "tensorflow_axis_last") and c.id not in seen:
            seen.add(c.id)
            cases.append(c)
    records = []
    t0 = time.perf_counter()
    with warnings.catch_warnings(), Progress(console=console, transient=True) as progress:
        warnings.simplefilter("ignore")
        task = progress.add_task("loss parity vs Keras on TensorFlow", total=len(cases))
        for c in cases:
            try:
                records.append(run_case(c, torch_eval, keras_eval))
            except Exception as e:  # a case that errors is reported, never hides the rest
                records.append(dict(id=c.id, loss=c.loss, options=c.config_key, dtype=c.dtype, passed=False,
                                    status="crashed", reason=f"{type(e).__name__}: {e}",
                                    value_abs=0.0, value_rel=0.0, grad_abs=0.0, grad_rel=0.0))
            progress.advance(task)
    rows = summarise(records)
    table = Table(title=f"torch_impl vs Keras {_keras_version()} on TensorFlow: {len(records)} cases "
                        f"in {time.perf_counter() - t0:.0f} s (max errors per loss and option set)")
    for col in ("loss", "options", "cases", "failed", "f64 value rel", "f64 grad rel", "f32 value abs", "f32 grad abs"):
        table.add_column(col, justify="left" if col in ("loss", "options") else "right")
    for r in rows:
        table.add_row(r["loss"], r["options"], str(r["cases"]), str(r["failed"]),
                      f"{r['f64_value_rel']:.1e}", f"{r['f64_grad_rel']:.1e}",
                      f"{r['f32_value_abs']:.1e}", f"{r['f32_grad_abs']:.1e}")
    console.print(table)
    failed = [r for r in records if not r["passed"]]
    for r in failed[:20]:
        console.print(f"[red]FAILED[/red] {r['id']}: {r['reason']}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "loss_parity.md").write_text(markdown_table(rows))
    (out / "loss_parity.json").write_text(json.dumps({"summary": rows, "cases": records}, indent=1, default=str))
    console.print(f"{len(records)} cases, {len(failed)} failed. Written: {out / 'loss_parity.md'}, {out / 'loss_parity.json'}")
    return 1 if failed else 0


def cmd_bench(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from benchmarks.bench import run

    console = Console(width=None if sys.stdout.isatty() else 200)
    backends = tuple(b for b in args.keras_backends.split(",") if b)
    families = tuple(f for f in args.families.split(",") if f) or None
    res = run(device=args.device, quick=args.quick, out=args.out, keras_backends=backends,
              log=lambda m: console.print(f"[dim]{m}[/dim]"), families=families)
    table = Table(title=f"{res['device_name']}: forward+backward, copy bandwidth {res['copy_gbs']:.0f} GB/s")
    for col in ("case", "impl", "ms", "GB/s", "% copy BW", "samples/s"):
        table.add_column(col, justify="left" if col in ("case", "impl") else "right")
    errors = 0
    for r in sorted(res["rows"], key=lambda r: (r["case"], r.get("ms", 1e9))):
        if r["mode"] != "forward_backward":
            continue
        if "ms" in r:
            table.add_row(r["case"], r["impl"], f"{r['ms']:.3f}", f"{r['gbs']:.1f}",
                          f"{100 * r.get('copy_fraction', 0):.1f}%", f"{r['samples_per_s']:.3g}")
        else:
            errors += 1
            table.add_row(r["case"], r["impl"], "-", "-", "-", r.get("error", "")[:60])
    console.print(table)
    console.print(f"{len(res['rows'])} rows ({errors} not timed) in {res['seconds']:.0f} s; written to {res['out_dir']}")
    return 0


def _keras_version() -> str:
    import keras

    return keras.__version__


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="lossparity", description="Keras-faithful PyTorch losses, and the proof.")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("parity", help="loss values and gradients vs Keras on TensorFlow")
    p.add_argument("--grid", choices=["default", "full"], default="default")
    p.add_argument("--out", default="out/parity")
    p.set_defaults(func=cmd_parity)
    b = sub.add_parser("bench", help="loss throughput across implementations and frameworks")
    b.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    b.add_argument("--quick", action="store_true", help="a small sweep (CPU: under a minute)")
    b.add_argument("--out", default=None, help="default benchmarks/results/<device>/")
    b.add_argument("--keras-backends", default="tensorflow,jax,torch",
                   help="comma-separated Keras backends to run where importable ('' for none)")
    b.add_argument("--families", default="", help="comma-separated loss families (default all): "
                   "sparse,categorical,binary,binary_focal,categorical_focal")
    b.set_defaults(func=cmd_bench)
    d = sub.add_parser("demo", help="the main job (for now: the loss-parity table)")
    d.add_argument("--out", default="out/demo")
    d.set_defaults(func=lambda a: cmd_parity(argparse.Namespace(grid="default", out=a.out)))
    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

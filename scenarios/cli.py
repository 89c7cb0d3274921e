"""The ``lossparity`` command line.

    lossparity list                                      the failure-mode scenarios
    lossparity run NAME [--framework keras|torch|both] [--dtype float32|float64]
                                                         one scenario: checks, per-epoch losses, parity
    lossparity report [--out DIR] [--dtype ...] [--only NAME ...]
                                                         the whole catalogue in both frameworks: HTML,
                                                         Markdown, PNG and JSON (the main job)
    lossparity demo                                      ``report`` into out/report
    lossparity doctor NAME [--framework ...] [--json F]  the training doctor on a scenario
    lossparity doctor --labels y.npy --predictions p.npy --loss NAME [--from-logits] [--json F]
                                                         the training doctor on your own arrays
    lossparity parity [--grid default|full] [--out DIR]   loss values/gradients vs Keras, as a table
    lossparity bench [--device cpu|cuda] [--quick]       loss throughput across implementations/frameworks

Each command prints a summary table (rich) and writes Markdown + JSON.
"""

from __future__ import annotations

import argparse
import json
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
    from scenarios.runner import import_order

    import_order()
    from keras_impl.harness import loss_value_and_grad as keras_eval
    from torch_impl.harness import loss_value_and_grad as torch_eval

    return torch_eval, keras_eval


def cmd_parity(args) -> int:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from scenarios.loss_cases import default_grid, full_grid
    from scenarios.loss_parity import markdown_table, run_cases, summarise, tensorflow_cases

    console = Console(width=None if sys.stdout.isatty() else 200)
    torch_eval, keras_eval = _load_frameworks()
    grid = default_grid() if args.grid == "default" else full_grid()
    cases = tensorflow_cases(grid)
    t0 = time.perf_counter()
    with warnings.catch_warnings(), Progress(console=console, transient=True) as progress:
        warnings.simplefilter("ignore")
        task = progress.add_task("loss parity vs Keras on TensorFlow", total=len(cases))
        records = run_cases(cases, torch_eval, keras_eval, on_case=lambda _: progress.advance(task))
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
    shapes = tuple(s for s in args.shapes.split(",") if s) or None
    out = args.out
    if out is None and args.quick:  # a smoke run: never over the committed full-sweep results
        out = f"out/bench-quick/{args.device}"
    res = run(device=args.device, quick=args.quick, out=out, keras_backends=backends,
              log=lambda m: console.print(f"[dim]{m}[/dim]"), families=families, torch_impls=not args.keras_only,
              shapes=shapes, peak_only=args.peak_only)
    if args.peak_only:
        table = Table(title=f"{res['device_name']}: peak extra memory of one call")
        for col in ("case", "impl", "peak extra MB"):
            table.add_column(col, justify="right" if col == "peak extra MB" else "left")
        table.add_column("note")
        failed = 0
        for r in sorted(res["rows"], key=lambda r: (r["case"], r["impl"])):
            p = r.get("peak_extra_mb")
            failed += "error" in r
            table.add_row(r["case"], r["impl"], "-" if p is None else f"{p:.1f}", r.get("error", "")[:60])
        console.print(table)
        console.print(f"{len(res['rows'])} rows ({failed} failed) in {res['seconds']:.0f} s; written to "
                      f"{res['out_dir']} (merge: python -m benchmarks.bench --merge)")
        return 0
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


def _console():
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160)


def cmd_list(args) -> int:
    from rich.table import Table

    from scenarios.catalogue import SCENARIOS

    table = Table(title=f"{len(SCENARIOS)} failure-mode scenarios (lossparity run NAME)")
    for col in ("name", "kind", "write-up", "what it shows", "checks"):
        table.add_column(col)
    for sc in SCENARIOS:
        checks = "raises ValueError" if sc.expect_error else "; ".join(" ".join(map(str, c)) for c in sc.checks)
        table.add_row(sc.name, sc.kind, sc.source, sc.title, checks)
    _console().print(table)
    return 0


def cmd_run(args) -> int:
    from rich.table import Table

    from scenarios.catalogue import get
    from scenarios.report import run_catalogue

    console = _console()
    try:
        get(args.name)
    except KeyError as e:
        console.print(f"[red]{e.args[0]}[/red]")
        return 2
    frameworks = ("keras", "torch") if args.framework == "both" else (args.framework,)
    with console.status(f"training {args.name} ({args.dtype}) in {' and '.join(frameworks)}"):
        r = run_catalogue(args.dtype, [args.name], frameworks)[0]
    if r.get("error"):
        console.print(f"[red]{r['error']}[/red]")
    fws = list(r["frameworks"])
    table = Table(title=f"{args.name} ({args.dtype})")
    table.add_column("")
    for fw in fws:
        table.add_column(fw, justify="right")
    for fw, e in r["frameworks"].items():
        if e.get("error"):
            console.print(f"{fw} {e['status']}: {e['error'][:500]}")
    summaries = {fw: e.get("summary", {}) for fw, e in r["frameworks"].items()}
    n_epochs = max((len(s.get("loss", [])) for s in summaries.values()), default=0)
    for i in range(n_epochs):
        table.add_row(f"epoch {i + 1} loss", *[f"{summaries[fw]['loss'][i]:.9g}" if summaries[fw].get("loss") else "-"
                                                for fw in fws])
    for key in ("pred_hist_train", "pred_hist_test", "recall_test", "grad_norms", "mean_prediction", "clip_fraction"):
        if any(s.get(key) is not None for s in summaries.values()):
            table.add_row(key.replace("_", " "), *[_short(summaries[fw].get(key)) for fw in fws])
    checks: dict[str, list] = {}
    for fw in fws:
        for c in r["frameworks"][fw].get("checks", []):
            checks.setdefault(c["check"], ["-"] * len(fws))[fws.index(fw)] = (
                f"{_short(c['measured'])} {'[green]ok[/green]' if c['passed'] else '[red]FAIL[/red]'}")
    for name, vals in checks.items():
        table.add_row(f"check: {name}", *vals)
    console.print(table)
    p = r.get("parity")
    if p and "per_metric" in p:
        console.print(f"trajectory parity: loss {p['per_metric'].get('loss', float('nan')):.2e} relative, same predicted "
                      f"classes {p['same_predicted_classes']}, outputs max abs {p['output_max_abs']:.2e}: "
                      + ("[green]ok[/green]" if p["passed"] else "[red]FAIL[/red]") + (f" ({p['note']})" if p.get("note") else ""))
    console.print(("[green]PASS[/green]" if r["passed"] else "[red]FAIL[/red]") + f" in {r['seconds']:.1f} s")
    return 0 if r["passed"] else 1


def _short(v) -> str:
    from scenarios.report import format_value

    return format_value(v, 4)


def cmd_report(args) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from scenarios.report import collect, scenario_row, write

    console = _console()
    dtypes = [d for d in args.dtype.split(",") if d]
    with Progress(TextColumn("{task.description:>22}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[last]}"), console=console) as progress:
        tasks: dict[str, int] = {}

        def on_total(job: str, total: int) -> None:
            label = f"scenarios {job}" if job != "loss parity" else "loss parity grid"
            tasks[job] = progress.add_task(label, total=total, last="")

        def on_event(ev: dict) -> None:
            job = ev["job"]
            if job in tasks:
                last = ev.get("scenario", "")
                if last:
                    last = f"{last} {'ok' if ev.get('passed') else 'FAIL'}"
                progress.update(tasks[job], advance=1, **({"last": last} if last else {}))

        report = collect(dtypes, names=args.only or None, loss_parity=not args.no_loss_parity,
                         workers=args.workers, on_event=on_event, on_total=on_total)
    with console.status("plotting and writing"):
        paths = write(report, args.out)
    main = dtypes[0]
    table = Table(title=f"{len(report['scenarios'][main])} scenarios, Keras (TensorFlow) vs PyTorch (torch_impl)")
    for col in ["scenario", f"keras {main}", f"torch {main}"] + [f"parity {dt}" for dt in dtypes]:
        table.add_column(col, justify="left" if col == "scenario" else "right")
    failed = 0
    for i, r in enumerate(report["scenarios"][main]):
        row = scenario_row(r)
        cells = [row["name"], _colour(row["keras"]), _colour(row["torch"])]
        for dt in dtypes:
            rd = scenario_row(report["scenarios"][dt][i])
            cells.append(_colour(rd["parity"] + ("" if rd["parity_passed"] in (True, None) else " FAIL")))
            failed += not report["scenarios"][dt][i].get("passed")
        table.add_row(*cells)
    console.print(table)
    lp = report.get("loss_parity")
    if lp:
        bad = sum(not r["passed"] for r in lp["records"])
        console.print(f"loss parity: {len(lp['records']) - bad}/{len(lp['records'])} cases match Keras on TensorFlow")
        failed += bad
    console.print(f"{'[green]all passed[/green]' if not failed else f'[red]{failed} failed[/red]'} in "
                  f"{report['seconds']:.0f} s. Written: {paths['html']}, {paths['markdown']}, {paths['json']}")
    return 1 if failed else 0


def cmd_doctor(args) -> int:
    from scenarios import doctor as D

    console = _console()
    if args.name and (args.labels or args.predictions):
        console.print("[red]lossparity doctor: give a scenario NAME or --labels/--predictions, not both[/red]")
        return 2
    if args.name:
        from scenarios.catalogue import get
        from scenarios.report import run_catalogue

        try:
            sc = get(args.name)
        except KeyError as e:
            console.print(f"[red]{e.args[0]}[/red]")
            return 2
        frameworks = ("keras", "torch") if args.framework == "both" else (args.framework,)
        with console.status(f"training {args.name} ({args.dtype}) in {' and '.join(frameworks)} with the doctor"):
            r = run_catalogue(args.dtype, [args.name], frameworks, doctor=True)[0]
        if r.get("error"):
            console.print(f"[red]{r['error']}[/red]")
            return 1
        console.print(f"[bold]{sc.name}[/bold] ({sc.kind}): {sc.title}")
        if sc.expected_findings:
            console.print(f"expected findings: {', '.join(sc.expected_findings)}")
        result = {}
        for fw, e in r["frameworks"].items():
            d = e.get("doctor", {})
            result[fw] = d
            console.print(f"\n[bold]{fw}[/bold] " + ("[green]as expected[/green]" if d.get("passed")
                                                    else "[red]NOT as expected[/red]"))
            console.print(D.render(d), markup=False, highlight=False)
        ok = all(d.get("passed") for d in result.values())
    else:
        if not (args.labels and args.predictions and args.loss):
            console.print("[red]lossparity doctor: give a scenario NAME, or all of --labels, --predictions and "
                          "--loss[/red]")
            return 2
        try:
            y = D.load_array(args.labels, "--labels")
            p = D.load_array(args.predictions, "--predictions")
            cw = None
            if args.class_weight:
                try:
                    cw = {int(k): float(v) for k, v in json.loads(args.class_weight).items()}
                except (ValueError, AttributeError) as e:
                    raise ValueError(f"--class-weight: expected JSON like '{{\"0\": 1, \"1\": 10}}' ({e})") from None
            result = D.diagnose_arrays(y, p, loss=args.loss, from_logits=args.from_logits, class_weight=cw)
        except ValueError as e:
            console.print(f"[red]lossparity doctor: {e}[/red]")
            return 2
        console.print(D.render(result, f"{args.labels} vs {args.predictions} ({args.loss}, "
                                       f"from_logits={args.from_logits})"), markup=False, highlight=False)
        ok = not D.ids(result)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(D.to_json(result))
        console.print(f"written: {args.json}")
    return 0 if ok else 1


def _colour(s: str) -> str:
    if s == "pass":
        return "[green]pass[/green]"
    if s in ("FAIL", "crashed") or s.endswith("FAIL"):
        return f"[red]{s}[/red]"
    return s


def _keras_version() -> str:
    import keras

    return keras.__version__


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="lossparity", description="Keras-faithful PyTorch losses, and the proof.")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("parity", help="loss values and gradients vs Keras on TensorFlow")
    p.add_argument("--grid", choices=["default", "full"], default="default",
                   help="default: the 246 cases of make demo; full: every combination (minutes)")
    p.add_argument("--out", default="out/parity", help="where the Markdown and JSON tables go (default out/parity)")
    p.set_defaults(func=cmd_parity)
    b = sub.add_parser("bench", help="loss throughput across implementations and frameworks")
    b.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    b.add_argument("--quick", action="store_true", help="a small sweep (CPU: under a minute)")
    b.add_argument("--out", default=None, help="default benchmarks/results/<device>-<name>/ (with --quick: "
                   "out/bench-quick/<device>/)")
    b.add_argument("--keras-backends", default="tensorflow,jax,torch",
                   help="comma-separated Keras backends to run where importable ('' for none)")
    b.add_argument("--families", default="", help="comma-separated loss families (default all): "
                   "sparse,categorical,binary,binary_focal,categorical_focal")
    b.add_argument("--shapes", default="", help="comma-separated N x C shapes of the sweep to run (default all), "
                   "e.g. 8192x131072")
    b.add_argument("--peak-only", action="store_true",
                   help="only peak memory, nothing timed (merge into an earlier run: python -m benchmarks.bench --merge)")
    b.add_argument("--keras-only", action="store_true",
                   help="only the Keras rows (merge with a torch run: python -m benchmarks.bench --merge)")
    b.set_defaults(func=cmd_bench)
    sub.add_parser("list", help="the failure-mode scenarios").set_defaults(func=cmd_list)
    r = sub.add_parser("run", help="one scenario in one or both frameworks")
    r.add_argument("name", help="a scenario (lossparity list)")
    r.add_argument("--framework", choices=["keras", "torch", "both"], default="both",
                   help="run it in Keras, PyTorch, or both and compare (default both)")
    r.add_argument("--dtype", choices=["float32", "float64"], default="float32", help="floatx of the run")
    r.set_defaults(func=cmd_run)
    for name, help_, out in (("report", "the whole catalogue in both frameworks: HTML, Markdown, PNG, JSON",
                              "out/report"),
                             ("demo", "the main job: `report` into out/report", "out/report")):
        rp = sub.add_parser(name, help=help_)
        rp.add_argument("--out", default=out)
        rp.add_argument("--dtype", default="float32,float64",
                        help="comma-separated; the first one's runs are plotted (default float32,float64)")
        rp.add_argument("--only", nargs="*", metavar="NAME", help="only these scenarios")
        rp.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
        rp.add_argument("--no-loss-parity", action="store_true", help="skip the loss-parity grid")
        rp.set_defaults(func=cmd_report)
    dr = sub.add_parser("doctor", help="the training doctor: on a scenario, or on your own label/prediction arrays")
    dr.add_argument("name", nargs="?", help="a scenario (lossparity list)")
    dr.add_argument("--framework", choices=["keras", "torch", "both"], default="both")
    dr.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    dr.add_argument("--labels", help="labels file (.npy, .npz, .csv, .txt) as given to the loss")
    dr.add_argument("--predictions", help="model outputs for those labels (same formats)")
    dr.add_argument("--loss", help="the Keras loss name, e.g. categorical_crossentropy")
    dr.add_argument("--from-logits", action="store_true", help="the predictions are logits")
    dr.add_argument("--class-weight", help="JSON class weights, e.g. '{\"0\": 1, \"1\": 10}'")
    dr.add_argument("--json", help="also write the findings as JSON to this file")
    dr.set_defaults(func=cmd_doctor)
    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

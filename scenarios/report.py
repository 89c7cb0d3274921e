"""``lossparity report``: the whole catalogue in both frameworks, written as HTML, Markdown, PNG and JSON.

:func:`collect` runs every scenario of :mod:`scenarios.catalogue` in Keras
(TensorFlow) and PyTorch (torch_impl) in each requested dtype, plus the
default loss-parity grid, in up to two worker processes (one per core), and
returns one plain dictionary with every number. :func:`write` turns that
dictionary into ``report.html`` (self-contained: the plots are embedded),
``report.md`` with ``plots/*.png`` beside it, and ``report.json``.

A scenario that errors is recorded with its error and never stops the rest;
a scenario that is *expected* to raise (wrong label encoding) passes when
both frameworks raise a clear ``ValueError``.

Example (one scenario, one framework; the CLI runs everything):
    >>> from scenarios.report import run_catalogue
    >>> r = run_catalogue("float32", names=["zero_target_rows"], frameworks=("torch",))
    >>> r[0]["frameworks"]["torch"]["summary"]["loss"][:2]
    [0.0, 0.0]
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import multiprocessing
import os
import platform
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import numpy as np

from scenarios.catalogue import SCENARIOS, SEEDS, Scenario, get
from scenarios.training import TRAJECTORY_TOLERANCE

__all__ = ["run_catalogue", "run_loss_parity", "collect", "write", "scenario_row", "format_value", "doctor_rows"]

Event = Callable[[dict], None]


def _frameworks_loaded() -> None:
    from scenarios.runner import import_order

    import_order()


def _run_order(scenarios: list[Scenario]) -> list[Scenario]:
    """Scenarios whose checks compare with another scenario run after it."""
    def refers(s: Scenario) -> bool:
        return any(str(c[0]).endswith("_other") for c in s.checks)
    return [s for s in scenarios if not refers(s)] + [s for s in scenarios if refers(s)]


def run_catalogue(dtype: str = "float32", names: Optional[Iterable[str]] = None,
                  frameworks: tuple = ("keras", "torch"), on_event: Optional[Event] = None,
                  doctor: bool = True) -> list[dict]:
    """Run the catalogue (or ``names``) in ``dtype``; results in the order asked for.

    A scenario whose checks compare with another scenario also runs that one
    (its result is not returned unless asked for).
    """
    _frameworks_loaded()
    from scenarios.execute import run_scenario

    chosen = [get(n) for n in names] if names else list(SCENARIOS)
    asked = {s.name for s in chosen}
    needed = set(asked)
    needed |= {str(c[1]) for s in chosen for c in s.checks if str(c[0]).endswith("_other")}  # compared with
    summaries: dict[str, dict[str, dict]] = {fw: {} for fw in frameworks}
    done: dict[str, dict] = {}
    for sc in _run_order([s for s in SCENARIOS if s.name in needed]):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                r = run_scenario(sc, frameworks=frameworks, dtype=dtype, others=summaries, doctor=doctor)
            except Exception as e:  # noqa: BLE001 - set-up failures are reported, never hide the rest
                r = {"name": sc.name, "dtype": dtype, "passed": False, "frameworks": {},
                     "error": f"{type(e).__name__}: {e}"}
        r["seconds"] = time.perf_counter() - t0
        for fw, e in r["frameworks"].items():
            if e.get("summary"):
                summaries[fw][sc.name] = e["summary"]
        done[sc.name] = r
        if on_event and sc.name in asked:
            on_event({"job": dtype, "scenario": sc.name, "passed": r["passed"]})
    return [done[s.name] for s in chosen]


def run_loss_parity(on_event: Optional[Event] = None) -> dict:
    """The default loss-parity grid against Keras on TensorFlow: per-option-set rows and every record."""
    _frameworks_loaded()
    from keras_impl.harness import loss_value_and_grad as keras_eval
    from scenarios.loss_cases import default_grid
    from scenarios.loss_parity import run_cases, summarise, summarise_by_loss, tensorflow_cases
    from torch_impl.harness import loss_value_and_grad as torch_eval

    cases = tensorflow_cases(default_grid())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        records = run_cases(cases, torch_eval, keras_eval,
                            on_case=(lambda rec: on_event({"job": "loss parity", "case": rec["id"]})) if on_event else None)
    return {"by_loss": summarise_by_loss(records), "by_options": summarise(records), "records": records}


def _single_threaded() -> None:
    """One thread per framework in a worker process: two workers share the cores, and tiny ops on
    oversubscribed threads spend their time waiting for each other."""
    _frameworks_loaded()
    import tensorflow as tf
    import torch

    torch.set_num_threads(1)
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already initialised in this process
        pass


def _job(kind: str, dtype: str, names: Optional[list], queue, doctor: bool = True,
         single_thread: bool = False) -> tuple[str, Any]:
    if single_thread:
        _single_threaded()

    def emit(ev: dict) -> None:
        if queue is not None:
            queue.put(ev)
    if kind == "loss_parity":
        return kind, run_loss_parity(emit)
    return dtype, run_catalogue(dtype, names, on_event=emit, doctor=doctor)


def _environment() -> dict:
    import importlib.metadata as md

    versions = {}
    for pkg in ("torch", "tensorflow-cpu", "tensorflow", "keras", "numpy", "triton", "scikit-learn", "matplotlib"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return {"python": platform.python_version(), "platform": platform.platform(), "processor": platform.processor(),
            "cpus": os.cpu_count(), "versions": versions,
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def collect(dtypes: Iterable[str] = ("float32", "float64"), names: Optional[list] = None, loss_parity: bool = True,
            workers: int = 2, on_event: Optional[Event] = None, on_total: Optional[Callable[[str, int], None]] = None
            ) -> dict:
    """Run everything the report shows; returns the report's JSON-ready dictionary."""
    t0 = time.perf_counter()
    dtypes = list(dtypes)
    n_sc = len(names) if names else len(SCENARIOS)
    jobs = [("scenarios", dt) for dt in dtypes]  # the doctor examines the first dtype's runs
    if loss_parity:
        from scenarios.loss_cases import default_grid
        from scenarios.loss_parity import tensorflow_cases

        jobs.append(("loss_parity", ""))
        if on_total:
            on_total("loss parity", len(tensorflow_cases(default_grid())))
    if on_total:
        for dt in dtypes:
            on_total(dt, n_sc)
    results: dict[str, Any] = {}
    if workers <= 1:
        for kind, dt in jobs:
            key, val = (_job(kind, dt, names, None, dt == dtypes[0]) if on_event is None
                        else _inline(kind, dt, names, on_event, dt == dtypes[0]))
            results[key] = val
    else:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Manager() as manager:
            queue = manager.Queue()
            with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx) as pool:
                # the float64 catalogue and the parity grid together take about as long as the float32 catalogue
                futures = [pool.submit(_job, kind, dt, names, queue, dt == dtypes[0], True) for kind, dt in jobs]
                while not all(f.done() for f in futures):
                    _drain(queue, on_event, timeout=0.2)
                _drain(queue, on_event, timeout=0.0)
                for f in futures:
                    key, val = f.result()
                    results[key] = val
    return {
        "environment": _environment(),
        "dtypes": dtypes,
        "tolerances": {dt: TRAJECTORY_TOLERANCE[dt] for dt in dtypes},
        "scenarios": {dt: results[dt] for dt in dtypes},
        "catalogue": [_describe(get(r["name"])) for r in results[dtypes[0]]] if dtypes else [],
        "loss_parity": results.get("loss_parity"),
        "seconds": time.perf_counter() - t0,
    }


def _inline(kind, dt, names, on_event, doctor):
    class _Q:
        def put(self, ev):
            on_event(ev)
    return _job(kind, dt, names, _Q(), doctor)


def _drain(queue, on_event: Optional[Event], timeout: float) -> None:
    import queue as _queue

    try:
        ev = queue.get(timeout=timeout) if timeout else queue.get_nowait()
        while True:
            if on_event:
                on_event(ev)
            ev = queue.get_nowait()
    except _queue.Empty:
        pass


def _describe(sc: Scenario) -> dict:
    opt, opt_cfg = sc.optimizer
    return {"name": sc.name, "title": sc.title, "group": sc.group, "kind": sc.kind, "source": sc.source,
            "question": SEEDS.get(sc.source, ""), "claim": sc.claim, "finding": sc.finding,
            "model": " - ".join(f"{l.get('type', 'dense')}" + (f"({l['units']}, {l['activation']})" if "units" in l else "")
                                for l in sc.model["layers"]),
            "input_dim": sc.model["input_dim"], "loss": sc.loss[0], "loss_config": sc.loss[1],
            "optimizer": f"{opt}({', '.join(f'{k}={v}' for k, v in opt_cfg.items())})", "epochs": sc.epochs,
            "batch_size": sc.batch_size, "class_weight": sc.class_weight, "labels": sc.labels,
            "checks": [" ".join(str(a) for a in c) for c in sc.checks], "expect_error": sc.expect_error,
            "float32_chaotic": sc.float32_chaotic, "expected_findings": list(sc.expected_findings)}


# ---------------------------------------------------------------------------------------------- writing
def format_value(v: Any, digits: int = 3) -> str:
    """A measured value (number, list, None) for a table cell."""
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(format_value(x, digits) for x in v) + "]"
    return str(v)


def scenario_row(result: dict) -> dict:
    """One line of the summary table for a scenario result."""
    fw = result.get("frameworks", {})
    par = result.get("parity", {})
    status = {k: ("pass" if e.get("passed") else ("crashed" if e.get("status") == "crashed" else "FAIL"))
              for k, e in fw.items()}
    if par.get("both_raised"):
        parity = "both raise"
    elif "loss_curve_rel" in par:
        parity = f"{par['per_metric'].get('loss', float('nan')):.1e}"
    else:
        parity = "-"
    return {"name": result["name"], "keras": status.get("keras", "-"), "torch": status.get("torch", "-"),
            "parity": parity, "same_classes": par.get("same_predicted_classes"),
            "parity_passed": par.get("passed"), "passed": result.get("passed", False),
            "seconds": result.get("seconds", 0.0), "error": result.get("error")}


def _checks_table(result: dict) -> list[dict]:
    rows: dict[str, dict] = {}
    for fw, e in result.get("frameworks", {}).items():
        for c in e.get("checks", []):
            row = rows.setdefault(c["check"], {"check": c["check"]})
            row[fw] = c["measured"]
            row[fw + "_passed"] = c["passed"]
    return list(rows.values())


def _plots(report: dict) -> dict[str, bytes]:
    from scenarios.plots import scenario_figure, trajectory_parity_figure

    out = {}
    main = report["dtypes"][0]
    for r in report["scenarios"][main]:
        png = scenario_figure(r, f"{r['name']} ({main})")
        if png is not None:
            out[f"{r['name']}.png"] = png
    rows = []
    for dt, results in report["scenarios"].items():
        for r in results:
            pm = r.get("parity", {}).get("per_metric")
            if pm is not None:
                rows.append({"name": r["name"], "dtype": dt, "value": pm.get("loss")})
    if rows:
        out["trajectory_parity.png"] = trajectory_parity_figure(rows, report["tolerances"])
    return out


def _trajectory_rows(report: dict) -> list[dict]:
    rows = []
    for i, desc in enumerate(report["catalogue"]):
        row = {"name": desc["name"]}
        for dt in report["dtypes"]:
            r = report["scenarios"][dt][i]
            p = r.get("parity", {})
            if p.get("both_raised"):
                row[dt] = "both raise"
            elif "per_metric" in p:
                row[dt] = (f"{p['per_metric'].get('loss', float('nan')):.1e}"
                           + ("" if p.get("same_predicted_classes") else
                              " (classes differ: chaotic, loss only)" if p.get("note") else " (classes differ)")
                           + (" ok" if p.get("passed") else " FAIL"))
            else:
                row[dt] = "-"
        rows.append(row)
    return rows


def _totals(report: dict) -> dict:
    out = {}
    for dt, results in report["scenarios"].items():
        out[dt] = {"scenarios": len(results), "passed": sum(bool(r.get("passed")) for r in results),
                   "checks_passed": sum(bool(c["passed"]) for r in results for e in r.get("frameworks", {}).values()
                                        for c in e.get("checks", [])),
                   "checks": sum(len(e.get("checks", [])) for r in results for e in r.get("frameworks", {}).values()),
                   "doctor": _doctor_total(results),
                   "errors": [r["name"] for r in results if any(e.get("status") == "crashed"
                                                                  for e in r.get("frameworks", {}).values())
                              or r.get("error")]}
    return out


def _doctor_total(results: list[dict]) -> Optional[dict]:
    judged = [r for r in results if any("doctor" in e for e in r.get("frameworks", {}).values())]
    if not judged:
        return None
    ok = sum(all(e.get("doctor", {}).get("passed") for e in r["frameworks"].values()) for r in judged)
    return {"scenarios": len(judged), "passed": ok}


def doctor_rows(report: dict) -> tuple[list[str], list[dict]]:
    """Finding ids (columns) and one row per scenario: expected ids, ids per framework, verdict."""
    from scenarios.doctor import RULES

    main = report["dtypes"][0]
    rows, seen = [], set()
    for desc, r in zip(report["catalogue"], report["scenarios"][main]):
        docs = {fw: e.get("doctor") for fw, e in r.get("frameworks", {}).items() if e.get("doctor")}
        if not docs:
            continue
        found = {fw: d.get("ids", []) for fw, d in docs.items()}
        expected = list(desc.get("expected_findings") or [])
        seen.update(expected)
        for v in found.values():
            seen.update(v)
        rows.append({"name": desc["name"], "kind": desc["kind"], "expected": expected, "found": found,
                     "passed": all(d.get("passed") for d in docs.values())})
    return [k for k in RULES if k in seen], rows


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, set):
        return sorted(o)
    return str(o)


def write(report: dict, out: Path | str) -> dict[str, Path]:
    """Write report.html, report.md, plots/*.png and report.json into ``out``."""
    out = Path(out)
    (out / "plots").mkdir(parents=True, exist_ok=True)
    report = dict(report, totals=_totals(report))
    plots = _plots(report)
    for name, png in plots.items():
        (out / "plots" / name).write_bytes(png)
    paths = {"json": out / "report.json", "markdown": out / "report.md", "html": out / "report.html"}
    paths["json"].write_text(json.dumps(report, indent=1, default=_json_default))
    paths["markdown"].write_text(_markdown(report, plots))
    paths["html"].write_text(_html(report, plots))
    return paths


def _setup(desc: dict) -> str:
    """Model, loss, optimizer and schedule of a scenario, in one line."""
    return (f"input {desc['input_dim']} -> {desc['model']}; loss {desc['loss']} {desc['loss_config'] or ''}; "
            f"{desc['optimizer']}; {desc['epochs']} epochs, batch {desc['batch_size']}"
            + (f"; class_weight {desc['class_weight']}" if desc["class_weight"] else ""))


# ---- Markdown
def _md_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _summary_rows(report: dict) -> list[list]:
    rows = []
    main = report["dtypes"][0]
    traj = {r["name"]: r for r in _trajectory_rows(report)}
    for desc, r in zip(report["catalogue"], report["scenarios"][main]):
        row = scenario_row(r)
        rows.append([desc["name"], desc["kind"], desc["source"], row["keras"], row["torch"]]
                    + [traj[desc["name"]][dt] for dt in report["dtypes"]])
    return rows


def _markdown(report: dict, plots: dict) -> str:
    env, tot = report["environment"], report["totals"]
    main = report["dtypes"][0]
    s = ["# lossparity report: the failure-mode catalogue in Keras and PyTorch\n",
         f"{env['date']}; Python {env['python']}, " + ", ".join(f"{k} {v}" for k, v in env["versions"].items())
         + f"; {env['cpus']} CPUs; {report['seconds']:.0f} s.\n"]
    for dt, t in tot.items():
        s.append(f"- **{dt}**: {t['passed']}/{t['scenarios']} scenarios pass (checks in both frameworks and "
                 f"trajectory parity); {t['checks_passed']}/{t['checks']} checks; "
                 f"errors: {', '.join(t['errors']) or 'none'}"
                 + (f"; training doctor: {t['doctor']['passed']}/{t['doctor']['scenarios']} verdicts as expected"
                    if t.get("doctor") else "") + ".\n")
    s.append("\nParity standard: float64, every epoch's loss and accuracy within "
             f"{report['tolerances'].get('float64', 1e-8):g} relative; float32, the final loss within "
             f"{report['tolerances'].get('float32', 1e-3):g} and the same predicted classes.\n")
    s.append("\n## Summary\n\n")
    s.append(_md_table(["scenario", "kind", "write-up", f"Keras checks ({main})", f"PyTorch checks ({main})"]
                       + [f"trajectory parity {dt}" for dt in report["dtypes"]], _summary_rows(report)))
    if "trajectory_parity.png" in plots:
        s.append("\n![trajectory parity](plots/trajectory_parity.png)\n")
    lp = report.get("loss_parity")
    if lp:
        from scenarios.loss_parity import markdown_by_loss

        n = len(lp["records"])
        failed = sum(not r["passed"] for r in lp["records"])
        s.append(f"\n## Loss parity (default grid, {n} cases vs Keras on TensorFlow, {failed} failed)\n\n")
        s.append(markdown_by_loss(lp["by_loss"]))
    cols, drows = doctor_rows(report)
    if drows:
        s.append("\n## Training doctor: findings per scenario\n\nK: found in Keras, T: found in PyTorch; "
                 "**bold**: the scenario's expected finding. A symptom must get its expected findings, a fix or "
                 "healthy scenario none.\n\n")
        s.append(_md_table(["scenario", "kind", "verdict"] + cols,
                           [[d["name"], d["kind"], "ok" if d["passed"] else "FAIL"] + [_doctor_cell(d, c, md=True)
                                                                                       for c in cols] for d in drows]))
    s.append("\n## Scenarios\n")
    for desc, r in zip(report["catalogue"], report["scenarios"][main]):
        s.append(f"\n### {desc['name']}: {desc['title']}\n\n")
        s.append(f"*{desc['kind']}*, from write-up {desc['source']} ({desc['question']}).  \n")
        s.append(f"Model: {_setup(desc)}.\n\n")
        if desc["claim"]:
            s.append(f"> The write-up: {desc['claim']}\n\n")
        if desc["finding"]:
            s.append(f"**What we measure:** {desc['finding']}\n\n")
        for fw, e in r.get("frameworks", {}).items():
            if e.get("error"):
                s.append(f"- {fw} {e['status']}: `{e['error'][:300]}`\n")
        for f in _findings_of(r):
            s.append(f"- doctor: **{f['id']}** ({f['severity']}): {f['evidence']}. *Fix:* {f['fix']}\n")
        checks = _checks_table(r)
        if checks:
            s.append(_md_table(["check", "Keras", "PyTorch"],
                               [[c["check"], f"{format_value(c.get('keras'))} {'ok' if c.get('keras_passed') else 'FAIL'}",
                                 f"{format_value(c.get('torch'))} {'ok' if c.get('torch_passed') else 'FAIL'}"] for c in checks]))
        if f"{desc['name']}.png" in plots:
            s.append(f"\n![{desc['name']}](plots/{desc['name']}.png)\n")
    return "".join(s)


def _doctor_cell(row: dict, rule: str, md: bool = False) -> str:
    marks = "".join(fw[0].upper() for fw in ("keras", "torch") if rule in row["found"].get(fw, []))
    if rule in row["expected"]:
        text = marks or "missing"
        return f"**{text}**" if md else text
    return marks


def _findings_of(r: dict) -> list[dict]:
    """The Keras run's findings (the PyTorch run's where Keras has none), with the other's ids noted."""
    docs = {fw: e.get("doctor") for fw, e in r.get("frameworks", {}).items() if e.get("doctor")}
    if not docs:
        return []
    main = docs.get("keras") or next(iter(docs.values()))
    out = [f for f in main.get("findings", [])]
    other = {fw: d.get("ids", []) for fw, d in docs.items() if d is not main}
    for fw, ids_ in other.items():
        for i in ids_:
            if i not in main.get("ids", []):
                out.append({"id": i, "severity": "note", "evidence": f"found in {fw} only", "fix": ""})
    return out


# ---- HTML
_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0 auto;max-width:1280px;padding:24px;
     color:#222;line-height:1.45}
h1{font-size:26px;margin-bottom:4px} h2{margin-top:36px;border-bottom:2px solid #eee;padding-bottom:4px}
h3{margin:0 0 6px 0;font-size:17px} .meta{color:#666;font-size:13px}
table{border-collapse:collapse;font-size:13px;margin:10px 0} th,td{border:1px solid #ddd;padding:4px 8px;text-align:left}
th{background:#f4f4f4} td.num{text-align:right;font-family:Menlo,Consolas,monospace}
.pass{color:#1a7f37;font-weight:600} .fail{color:#cf222e;font-weight:700} .raise{color:#9a6700;font-weight:600}
.card{border:1px solid #ddd;border-radius:8px;padding:14px 16px;margin:18px 0;background:#fff}
.card.bad{border-color:#cf222e} .claim{border-left:4px solid #d0d7de;padding:2px 10px;color:#555;margin:8px 0}
.finding{background:#f6f8fa;padding:6px 10px;border-radius:6px;margin:8px 0}
.badge{display:inline-block;border-radius:10px;padding:1px 9px;font-size:12px;margin-right:6px;color:#fff}
.symptom{background:#cf222e}.fix{background:#1a7f37}.healthy{background:#0969da}
.tiles{display:flex;gap:14px;flex-wrap:wrap;margin:14px 0}.tile{background:#f6f8fa;border-radius:8px;padding:10px 16px}
.tile b{font-size:22px;display:block} img{max-width:100%} code{background:#f6f8fa;padding:1px 4px;border-radius:4px}
.err{font-family:Menlo,Consolas,monospace;font-size:12px;background:#fff8f8;border:1px solid #f3c6c6;padding:6px;
     white-space:pre-wrap}
"""


def _status_html(s: str) -> str:
    cls = {"pass": "pass", "both raise": "raise"}.get(s, "fail" if s in ("FAIL", "crashed") or "FAIL" in s else "")
    return f'<span class="{cls}">{html.escape(s)}</span>'


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _html(report: dict, plots: dict) -> str:
    esc = html.escape
    env, tot = report["environment"], report["totals"]
    main = report["dtypes"][0]
    h = [f"<!doctype html><html><head><meta charset='utf-8'><title>lossparity report</title><style>{_CSS}</style>"
         "</head><body>",
         "<h1>lossparity: the failure-mode catalogue in Keras and PyTorch</h1>",
         f"<div class='meta'>{esc(env['date'])} &middot; Python {esc(env['python'])} &middot; "
         + " &middot; ".join(f"{esc(k)} {esc(v)}" for k, v in env["versions"].items())
         + f" &middot; {env['cpus']} CPUs &middot; {report['seconds']:.0f} s</div>",
         "<p>Every scenario trains the same model from the same data, initial weights and batch order in Keras "
         "(TensorFlow) and in PyTorch with <code>torch_impl</code>. A scenario passes when its symptom (or its fix's "
         "recovery) holds in both frameworks and the two trajectories agree: float64 every epoch within "
         f"{report['tolerances'].get('float64', 1e-8):g}, float32 the final loss within "
         f"{report['tolerances'].get('float32', 1e-3):g} and the same predicted classes.</p>",
         "<div class='tiles'>"]
    for dt, t in tot.items():
        h.append(f"<div class='tile'><b>{t['passed']}/{t['scenarios']}</b>scenarios pass in {esc(dt)}</div>"
                 f"<div class='tile'><b>{t['checks_passed']}/{t['checks']}</b>checks hold ({esc(dt)})</div>")
    lp = report.get("loss_parity")
    if lp:
        failed = sum(not r["passed"] for r in lp["records"])
        h.append(f"<div class='tile'><b>{len(lp['records']) - failed}/{len(lp['records'])}</b>loss-parity cases "
                 "match Keras</div>")
    doc = tot.get(main, {}).get("doctor")
    if doc:
        h.append(f"<div class='tile'><b>{doc['passed']}/{doc['scenarios']}</b>doctor verdicts as expected</div>")
    h.append("</div>")
    errors = sorted({n for t in tot.values() for n in t["errors"]})
    if errors:
        h.append(f"<p class='fail'>Errored: {esc(', '.join(errors))} (details in their sections).</p>")

    h.append("<h2>Summary</h2><table><tr><th>scenario</th><th>kind</th><th>write-up</th>"
             f"<th>Keras checks ({esc(main)})</th><th>PyTorch checks ({esc(main)})</th>"
             + "".join(f"<th>trajectory parity {esc(dt)}</th>" for dt in report["dtypes"]) + "</tr>")
    for row in _summary_rows(report):
        name, kind, src = row[:3]
        h.append(f"<tr><td><a href='#{esc(name)}'>{esc(name)}</a></td><td><span class='badge {esc(kind)}'>"
                 f"{esc(kind)}</span></td><td>{esc(src)}</td>"
                 + "".join(f"<td>{_status_html(c)}</td>" for c in row[3:5])
                 + "".join(f"<td class='num'>{_status_html(c)}</td>" for c in row[5:]) + "</tr>")
    h.append("</table>")
    if "trajectory_parity.png" in plots:
        h.append("<h2>Trajectory parity</h2>" + _img(plots["trajectory_parity.png"], "trajectory parity"))
    if lp:
        h.append(f"<h2>Loss parity: values and gradients vs Keras on TensorFlow ({len(lp['records'])} cases)</h2>"
                 "<table><tr><th>loss</th><th>option sets</th><th>cases</th><th>failed</th><th>both raise</th>"
                 "<th>worst f64 value rel</th><th>worst f64 grad rel</th><th>worst f32 value rel</th>"
                 "<th>worst f32 grad rel</th></tr>")
        for r in lp["by_loss"]:
            h.append(f"<tr><td>{esc(r['loss'])}</td>" + "".join(
                f"<td class='num'>{v}</td>" for v in (r["option_sets"], r["cases"], _status_html(str(r["failed"]))
                                                       if r["failed"] else 0, r["raised"],
                                                       f"{r['f64_value_rel']:.1e}", f"{r['f64_grad_rel']:.1e}",
                                                       f"{r['f32_value_rel']:.1e}", f"{r['f32_grad_rel']:.1e}"))
                     + "</tr>")
        h.append("</table>")

    cols, drows = doctor_rows(report)
    if drows:
        h.append("<h2>Training doctor: findings per scenario</h2><p>K: found in the Keras run, T: found in the "
                 "PyTorch run; shaded: the scenario's expected finding. A symptom must get its expected findings, "
                 "a fix or healthy scenario no warning or error.</p><table><tr><th>scenario</th><th>kind</th>"
                 "<th>verdict</th>" + "".join(f"<th style='writing-mode:vertical-rl;font-size:11px'>{esc(c)}</th>"
                                               for c in cols) + "</tr>")
        for d in drows:
            cells = []
            for c in cols:
                text = _doctor_cell(d, c)
                style = (" style='background:#dafbe1'" if c in d["expected"] and text != "missing" else
                         " style='background:#ffebe9'" if text == "missing" else
                         " style='background:#fff8c5'" if text and d["kind"] != "symptom" else "")
                cells.append(f"<td{style}>{esc(text)}</td>")
            h.append(f"<tr><td><a href='#{esc(d['name'])}'>{esc(d['name'])}</a></td><td><span class='badge "
                     f"{esc(d['kind'])}'>{esc(d['kind'])}</span></td><td>{_status_html('pass' if d['passed'] else 'FAIL')}"
                     "</td>" + "".join(cells) + "</tr>")
        h.append("</table>")
    h.append("<h2>Scenarios</h2>")
    group = None
    for desc, r in zip(report["catalogue"], report["scenarios"][main]):
        if desc["group"] != group:
            group = desc["group"]
            h.append(f"<h3 style='margin-top:28px;color:#555'>{esc(group.replace('_', ' '))}</h3>")
        ok = r.get("passed")
        h.append(f"<div class='card{'' if ok else ' bad'}' id='{esc(desc['name'])}'>"
                 f"<h3><span class='badge {esc(desc['kind'])}'>{esc(desc['kind'])}</span>{esc(desc['name'])}: "
                 f"{esc(desc['title'])} {_status_html('pass' if ok else 'FAIL')}</h3>"
                 f"<div class='meta'>write-up {esc(desc['source'])}: <i>{esc(desc['question'])}</i><br>"
                 f"{esc(_setup(desc))}</div>")
        if desc["claim"]:
            h.append(f"<div class='claim'>The write-up: {esc(desc['claim'])}</div>")
        if desc["finding"]:
            h.append(f"<div class='finding'><b>What we measure:</b> {esc(desc['finding'])}</div>")
        if desc["float32_chaotic"]:
            h.append(f"<div class='meta'>float32 parity asserts the loss only: {esc(desc['float32_chaotic'])}</div>")
        if r.get("error"):
            h.append(f"<div class='err'>{esc(r['error'])}</div>")
        for fw, e in r.get("frameworks", {}).items():
            if e.get("error"):
                label = "raised (expected)" if e["status"] == "raised" else e["status"]
                h.append(f"<div class='err'>{esc(fw)} {esc(label)}: {esc(e['error'][:600])}</div>")
        findings = _findings_of(r)
        if findings:
            h.append("<div class='meta'><b>Training doctor</b></div><ul style='margin-top:2px'>" + "".join(
                f"<li><b>{esc(f['id'])}</b> ({esc(f['severity'])}): {esc(f['evidence'])}"
                + (f"<br><i>fix:</i> {esc(f['fix'])}" if f["fix"] else "") + "</li>" for f in findings) + "</ul>")
        checks = _checks_table(r)
        if checks:
            h.append("<table><tr><th>check</th><th>Keras</th><th>PyTorch</th></tr>")
            for c in checks:
                h.append(f"<tr><td>{esc(c['check'])}</td>" + "".join(
                    f"<td class='num'>{esc(format_value(c.get(fw)))} {_status_html('pass' if c.get(fw + '_passed') else 'FAIL')}"
                    "</td>" for fw in ("keras", "torch")) + "</tr>")
            h.append("</table>")
        if f"{desc['name']}.png" in plots:
            h.append(_img(plots[f"{desc['name']}.png"], desc["name"]))
        h.append("</div>")
    h.append("</body></html>")
    return "\n".join(h)

"""Compare a loss case's results from two frameworks and summarise the grid.

Framework-neutral: the evaluators are passed in (``keras_impl.harness`` and
``torch_impl.harness`` have the matching ``loss_value_and_grad``), results are
NumPy dicts ``{"value", "grad", "error"}``.

Tolerances (the design's parity standards):

* float64: norm-wise relative error ``max|a-b| / max|b|`` <= 1e-12 for values
  and 1e-10 for gradients;
* float32: ``|a-b| <= 1e-5 |b| + 1e-6`` element-wise, values and gradients;
* bfloat16/float16 inputs: values computed in float32 (float32 tolerance),
  gradients rounded to the input dtype (tolerance one unit in its last place);
* always: the same shapes, NaN/inf at the same places, and the same set of
  zero gradient entries (clipped entries). TensorFlow flushes subnormals to
  zero on CPU, so a subnormal counts as zero; a zero facing a value at rounding
  noise (1e-13 of the largest gradient in float64, 1e-7 otherwise) is a
  cancellation, not a clip, and does not count.

Example:
    >>> import numpy as np
    >>> r = compare({"value": np.array(1.0), "grad": np.ones(2), "error": None},
    ...             {"value": np.array(1.0), "grad": np.ones(2), "error": None}, "float64")
    >>> r["passed"]
    True
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

import numpy as np

from scenarios.loss_cases import LossCase, case_meta

__all__ = ["TOLERANCES", "compare", "run_case", "run_cases", "tensorflow_cases", "summarise", "summarise_by_loss", "markdown_table", "markdown_by_loss"]

#: dtype -> (value rtol, value atol, grad rtol, grad atol, norm-wise?)
TOLERANCES = {
    "float64": dict(value_rel=1e-12, grad_rel=1e-10, normwise=True),
    "float32": dict(rtol=1e-5, atol=1e-6, grad_rtol=1e-5, grad_atol=1e-6, normwise=False),
    "bfloat16": dict(rtol=1e-5, atol=1e-6, grad_rtol=2.0**-7, grad_atol=1e-6, normwise=False),
    "float16": dict(rtol=1e-5, atol=1e-6, grad_rtol=2.0**-10, grad_atol=1e-6, normwise=False),
}


def _errors(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(max abs error, norm-wise relative error) over the finite entries."""
    fin = np.isfinite(a) & np.isfinite(b)
    if not fin.any():
        return 0.0, 0.0
    d = np.abs(a[fin] - b[fin])
    ref = np.max(np.abs(b[fin]))
    mx = float(d.max())
    return mx, (mx / ref if ref > 0 else (0.0 if mx == 0 else float("inf")))


def _same_nonfinite(a: np.ndarray, b: np.ndarray) -> bool:
    return (
        np.array_equal(np.isnan(a), np.isnan(b))
        and np.array_equal(np.isposinf(a), np.isposinf(b))
        and np.array_equal(np.isneginf(a), np.isneginf(b))
    )


def _close(a, b, rtol, atol) -> bool:
    fin = np.isfinite(a) & np.isfinite(b)
    return bool(np.all(np.abs(a[fin] - b[fin]) <= rtol * np.abs(b[fin]) + atol))


def compare(ours: dict, ref: dict, dtype: str) -> dict[str, Any]:
    """Compare ``ours`` to ``ref`` (both ``{"value", "grad", "error"}``)."""
    rec: dict[str, Any] = dict(value_abs=0.0, value_rel=0.0, grad_abs=0.0, grad_rel=0.0)
    if ref["error"] is not None or ours["error"] is not None:
        both = ref["error"] is not None and ours["error"] is not None
        rec.update(
            status="both_raise" if both else "error_mismatch",
            passed=both,
            reason="" if both else f"reference error={ref['error']}, ours error={ours['error']}",
        )
        return rec
    v, rv = np.asarray(ours["value"], np.float64), np.asarray(ref["value"], np.float64)
    g = None if ours["grad"] is None else np.asarray(ours["grad"], np.float64)
    rg = None if ref["grad"] is None else np.asarray(ref["grad"], np.float64)
    if g is None and rg is not None:
        g = np.zeros_like(rg)
    if rg is None and g is not None:
        rg = np.zeros_like(g)
    reasons = []
    if v.shape != rv.shape:
        reasons.append(f"value shape {v.shape} != reference {rv.shape}")
    if g is not None and g.shape != rg.shape:
        reasons.append(f"grad shape {g.shape} != reference {rg.shape}")
    if reasons:
        rec.update(status="mismatch", passed=False, reason="; ".join(reasons))
        return rec
    rec["value_abs"], rec["value_rel"] = _errors(v, rv)
    if g is not None:
        rec["grad_abs"], rec["grad_rel"] = _errors(g, rg)
    tol = TOLERANCES[dtype]
    if not _same_nonfinite(v, rv):
        reasons.append("NaN/inf positions of the values differ")
    if g is not None and not _same_nonfinite(g, rg):
        reasons.append("NaN/inf positions of the gradients differ")
    if g is not None:
        # TensorFlow flushes subnormal results to zero on CPU (FTZ/DAZ); PyTorch
        # keeps them. A subnormal gradient counts as zero on both sides.
        # An exact zero facing a value at rounding-noise level (a cancellation
        # that happens to round to 0 on one side) is not a clipping difference.
        tiny = np.finfo(np.float64 if dtype == "float64" else np.float32).tiny
        zero_ours, zero_ref = np.abs(g) < tiny, np.abs(rg) < tiny
        fin = np.isfinite(rg) & np.isfinite(g)
        scale = float(np.max(np.abs(rg[fin]), initial=0.0))
        noise = (1e-13 if dtype == "float64" else 1e-7) * scale
        differ = (zero_ours != zero_ref) & (np.maximum(np.abs(g), np.abs(rg)) > noise)
        rec["zero_grads"] = int(zero_ref.sum())
        if differ.any():
            reasons.append(
                f"zero-gradient sets differ at {int(differ.sum())} entries "
                f"({int(zero_ours.sum())} zeros vs {int(zero_ref.sum())} in the reference)"
            )
    if tol["normwise"]:
        if rec["value_rel"] > tol["value_rel"]:
            reasons.append(f"value rel error {rec['value_rel']:.3g} > {tol['value_rel']:g}")
        if rec["grad_rel"] > tol["grad_rel"]:
            reasons.append(f"grad rel error {rec['grad_rel']:.3g} > {tol['grad_rel']:g}")
    else:
        if not _close(v, rv, tol["rtol"], tol["atol"]):
            reasons.append(f"values differ beyond rtol={tol['rtol']:g}, atol={tol['atol']:g}")
        if g is not None and not _close(g, rg, tol["grad_rtol"], tol["grad_atol"]):
            reasons.append(f"grads differ beyond rtol={tol['grad_rtol']:g}, atol={tol['grad_atol']:g}")
    rec.update(status="ok" if not reasons else "mismatch", passed=not reasons, reason="; ".join(reasons))
    return rec


Evaluator = Callable[..., dict]


def run_case(case: LossCase, ours: Evaluator, reference: Evaluator) -> dict[str, Any]:
    """Evaluate ``case`` with both evaluators and compare; returns a flat record."""
    y_true, y_pred, sw = case.arrays()
    kwargs = dict(
        dtype=case.compute_dtype,
        input_dtype=case.dtype,
        functional=case.functional,
        cotangent_seed=case.seed,
    )
    cfg = case.full_config()
    r_ours = ours(case.loss, cfg, y_true, y_pred, sw, **kwargs)
    if case.reference == "tensorflow_axis_last":
        ax = case.axis % y_pred.ndim
        r_ref = reference(case.loss, dict(cfg, axis=-1), np.moveaxis(y_true, ax, -1),
                          np.moveaxis(y_pred, ax, -1), sw, **kwargs)
        if r_ref["grad"] is not None:
            r_ref["grad"] = np.moveaxis(r_ref["grad"], -1, ax)
    else:
        r_ref = reference(case.loss, cfg, y_true, y_pred, sw, **kwargs)
    rec = compare(r_ours, r_ref, case.dtype)
    rec.update(case_meta(case), id=case.id, reference=case.reference)
    return rec


def tensorflow_cases(grid: Iterable[LossCase]) -> list[LossCase]:
    """The cases whose reference is Keras on TensorFlow, each once."""
    seen: set = set()
    out = []
    for c in grid:
        if c.reference in ("tensorflow", "tensorflow_axis_last") and c.id not in seen:
            seen.add(c.id)
            out.append(c)
    return out


def run_cases(cases: Iterable[LossCase], ours: Evaluator, reference: Evaluator,
              on_case: Optional[Callable[[dict], None]] = None) -> list[dict[str, Any]]:
    """:func:`run_case` for every case; a case that errors is a failed record, never an exception."""
    records = []
    for c in cases:
        try:
            rec = run_case(c, ours, reference)
        except Exception as e:  # noqa: BLE001 - reported, never hides the rest
            rec = dict(case_meta(c), id=c.id, reference=c.reference, passed=False, status="crashed",
                       reason=f"{type(e).__name__}: {e}", value_abs=0.0, value_rel=0.0, grad_abs=0.0, grad_rel=0.0)
        records.append(rec)
        if on_case is not None:
            on_case(rec)
    return records


def summarise(records: Iterable[dict]) -> list[dict[str, Any]]:
    """One row per (loss, option set): case count, failures, worst errors per dtype class."""
    rows: dict[tuple, dict] = {}
    for r in records:
        key = (r["loss"], r["options"])
        row = rows.setdefault(
            key,
            dict(loss=r["loss"], options=r["options"], cases=0, failed=0, raised=0,
                 f64_value_rel=0.0, f64_grad_rel=0.0, f32_value_abs=0.0, f32_grad_abs=0.0,
                 f32_value_rel=0.0, f32_grad_rel=0.0),
        )
        row["cases"] += 1
        row["failed"] += 0 if r["passed"] else 1
        row["raised"] += r["status"] == "both_raise"
        if r["status"] != "ok":
            continue
        if r["dtype"] == "float64":
            row["f64_value_rel"] = max(row["f64_value_rel"], r["value_rel"])
            row["f64_grad_rel"] = max(row["f64_grad_rel"], r["grad_rel"])
        elif r["dtype"] == "float32":
            for k in ("value_abs", "grad_abs", "value_rel", "grad_rel"):
                row["f32_" + k] = max(row["f32_" + k], r[k])
    return sorted(rows.values(), key=lambda x: (x["loss"], x["options"]))


def summarise_by_loss(records: Iterable[dict]) -> list[dict[str, Any]]:
    """One row per loss (and reference): cases, failures, worst errors."""
    rows: dict[tuple, dict] = {}
    for r in records:
        ref = r.get("reference", "tensorflow")
        name = r["loss"] + (" (Keras torch backend, class axis not last)" if ref == "keras_torch_backend" else "")
        row = rows.setdefault(name, dict(loss=name, option_sets=set(), cases=0, failed=0, raised=0,
                                         f64_value_rel=0.0, f64_grad_rel=0.0, f32_value_rel=0.0, f32_grad_rel=0.0))
        row["option_sets"].add(r["options"])
        row["cases"] += 1
        row["failed"] += 0 if r["passed"] else 1
        row["raised"] += r["status"] == "both_raise"
        if r["status"] == "ok" and r["dtype"] in ("float64", "float32"):
            k = "f64" if r["dtype"] == "float64" else "f32"
            row[k + "_value_rel"] = max(row[k + "_value_rel"], r["value_rel"])
            row[k + "_grad_rel"] = max(row[k + "_grad_rel"], r["grad_rel"])
    out = []
    for row in sorted(rows.values(), key=lambda x: x["loss"]):
        row["option_sets"] = len(row["option_sets"])
        out.append(row)
    return out


def markdown_by_loss(rows: list[dict]) -> str:
    head = ("| loss | option sets | cases | failed | both raise | worst f64 value rel | worst f64 grad rel "
            "| worst f32 value rel | worst f32 grad rel |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    return head + "".join(
        f"| {r['loss']} | {r['option_sets']} | {r['cases']} | {r['failed']} | {r['raised']} | "
        f"{r['f64_value_rel']:.1e} | {r['f64_grad_rel']:.1e} | {r['f32_value_rel']:.1e} | {r['f32_grad_rel']:.1e} |\n"
        for r in rows
    )


def markdown_table(rows: list[dict]) -> str:
    head = (
        "| loss | options | cases | failed | both raise | f64 value rel | f64 grad rel "
        "| f32 value abs | f32 grad abs |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    body = "".join(
        f"| {r['loss']} | {r['options']} | {r['cases']} | {r['failed']} | {r['raised']} | "
        f"{r['f64_value_rel']:.1e} | {r['f64_grad_rel']:.1e} | {r['f32_value_abs']:.1e} | {r['f32_grad_abs']:.1e} |\n"
        for r in rows
    )
    return head + body


def failures(records: Iterable[dict]) -> list[dict]:
    return [r for r in records if not r["passed"]]


def cotangent(seed: Optional[int], shape: tuple) -> Optional[np.ndarray]:
    """The incoming gradient both harnesses use for a non-scalar loss."""
    if seed is None:
        return None
    return np.random.default_rng(seed).normal(size=shape)

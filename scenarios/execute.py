"""Run catalogue scenarios in one or both frameworks and compare them.

:func:`run_scenario` trains a scenario in Keras (TensorFlow) and/or PyTorch
(torch_impl) from the same data, initial weights and batch order, summarises
each run (:mod:`scenarios.checks`), evaluates the scenario's checks in each
framework and measures trajectory parity. A scenario that is expected to fail
with a clear error records each framework's error message; an unexpected
exception is recorded as such, never raised, so one scenario never hides the
rest.
"""

from __future__ import annotations

import time
import traceback
import warnings
from typing import Any, Optional

import numpy as np

from scenarios.catalogue import Scenario
from scenarios.checks import _classes, evaluate_checks, summarise
from scenarios.training import TRAJECTORY_TOLERANCE, TrainingRun, _rel, compare_histories

__all__ = ["training_run", "run_scenario"]

FRAMEWORKS = ("keras", "torch")


def training_run(sc: Scenario, dtype: str = "float32", doctor: bool = False) -> tuple[TrainingRun, Any]:
    data = sc.data()
    y = sc.targets(data.y)
    run = TrainingRun(sc.name, sc.model, sc.loss, sc.optimizer, data.x, y, batch_size=sc.batch_size,
                      epochs=sc.epochs, seed=sc.seed, class_weight=sc.resolved_class_weight(data.y), dtype=dtype,
                      shuffle=sc.shuffle, x_test=data.x_test, measure_gradients=True, doctor=doctor)
    if sc.init is not None:
        run.weights = sc.init(run.initial_weights())
    return run, data


def _one(framework: str, run: TrainingRun, sink: dict) -> dict:
    from scenarios.runner import run_keras, run_torch

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_keras(run, sink=sink) if framework == "keras" else run_torch(run, sink=sink)
    res.pop("model", None)
    res["seconds"] = time.perf_counter() - t0
    return res


def run_scenario(sc: Scenario, frameworks=FRAMEWORKS, dtype: str = "float32",
                 others: Optional[dict[str, dict[str, dict]]] = None, doctor: bool = False) -> dict[str, Any]:
    """Run ``sc``; ``others[framework][scenario]`` are summaries that comparison checks refer to.

    With ``doctor``, each framework's run is also measured and diagnosed
    (:mod:`scenarios.doctor`): ``frameworks[fw]["doctor"]`` holds the findings and
    whether they meet the scenario's ``expected_findings`` (a symptom gets at least
    those; a fix or healthy scenario gets no warning or error).
    """
    run, data = training_run(sc, dtype, doctor=doctor)
    out: dict[str, Any] = {"name": sc.name, "dtype": dtype, "frameworks": {}, "expect_error": sc.expect_error}
    raw = {}
    for fw in frameworks:
        entry: dict[str, Any] = {}
        sink: dict[str, Any] = {}
        try:
            res = _one(fw, run, sink)
            raw[fw] = res
            entry["summary"] = summarise(res, run.y, data.y_test)
            entry["seconds"] = res["seconds"]
            if sc.expect_error:
                entry["status"] = "no_error"
                entry["checks"] = [{"check": f"raises ValueError mentioning {sc.expect_error}", "passed": False,
                                    "measured": "trained without an error"}]
            else:
                entry["checks"] = evaluate_checks(sc.checks, entry["summary"], (others or {}).get(fw, {}))
                entry["status"] = "ok"
        except ValueError as e:
            msg = str(e)
            if sc.expect_error:
                # Keras raises its own message; torch_impl's must also say which loss fits the labels
                want = sc.expect_error if fw == "torch" else ""
                ok = want in msg
                label = f"raises ValueError mentioning {want}" if want else "raises ValueError"
                entry.update(status="raised", error=msg, checks=[{"check": label, "passed": ok, "measured": msg[:300]}])
            else:
                entry.update(status="crashed", error=f"ValueError: {msg}", traceback=traceback.format_exc()[-2000:],
                             checks=[])
        except Exception as e:  # noqa: BLE001 - reported, never hides the rest
            entry.update(status="crashed", error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc()[-2000:],
                         checks=[])
        entry["passed"] = entry["status"] in ("ok", "raised") and all(c["passed"] for c in entry["checks"])
        if doctor:
            entry["doctor"] = _diagnose(sc, raw.get(fw), sink, data)
        out["frameworks"][fw] = entry
    if len(raw) == 2:
        cmp = compare_histories(raw["torch"]["history"], raw["keras"]["history"], dtype)
        pk, pt = raw["keras"]["probabilities"], raw["torch"]["probabilities"]
        same = bool(np.array_equal(_classes(np.asarray(pk)), _classes(np.asarray(pt))))
        out["parity"] = {
            "per_metric": cmp["per_metric"],
            "loss_curve_rel": _rel(raw["torch"]["history"]["loss"], raw["keras"]["history"]["loss"]),
            "same_predicted_classes": same,
            "output_max_abs": float(np.max(np.abs(np.asarray(pk, np.float64) - np.asarray(pt, np.float64)))),
            "passed": bool(cmp["passed"] and (same or dtype == "float64")),
        }
        if dtype == "float32" and sc.float32_chaotic:
            k = sc.float32_parity_epochs
            if k:
                rel = _rel(raw["torch"]["history"]["loss"][:k], raw["keras"]["history"]["loss"][:k])
                out["parity"]["per_metric"]["loss"] = rel
                standard = f"loss of the first {k} epochs (float32 chaotic)"
            else:
                rel = cmp["per_metric"].get("loss", float("inf"))
                standard = "final loss only (float32 chaotic)"
            out["parity"].update(passed=bool(rel <= TRAJECTORY_TOLERANCE["float32"]), standard=standard,
                                 note=sc.float32_chaotic)
    elif all(out["frameworks"].get(f, {}).get("status") == "raised" for f in frameworks):
        out["parity"] = {"passed": True, "both_raised": True}
    out["passed"] = all(e["passed"] for e in out["frameworks"].values()) and out.get("parity", {}).get("passed", True)
    return out


def _diagnose(sc: Scenario, res: Optional[dict], sink: dict, data) -> dict:
    """The doctor's findings for one framework's run, judged against the scenario's expectation."""
    from scenarios.doctor import diagnose, ids

    record = (res or {}).get("doctor") or {}
    facts = record.get("facts") or sink.get("doctor_facts")
    if facts is None:
        return {"findings": [], "ids": [], "expected": list(sc.expected_findings), "passed": False,
                "error": "no measurements (the run failed before the doctor could look)"}
    outcome = None
    if res is not None and res.get("test_probabilities") is not None and data.y_test is not None:
        outcome = {"y_true": sc.targets(data.y_test), "probabilities": res["test_probabilities"]}
    d = diagnose(dict(facts), record.get("epochs"), outcome)
    found = ids(d)
    if sc.kind == "symptom":
        passed = bool(sc.expected_findings) and set(sc.expected_findings) <= set(found)
    else:
        passed = not found
    return {**d, "ids": found, "expected": list(sc.expected_findings), "passed": passed}

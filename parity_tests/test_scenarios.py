"""The failure-mode catalogue in both frameworks: symptoms, recoveries and trajectory parity.

Every scenario trains in Keras (TensorFlow) and PyTorch (torch_impl) from the
same data, initial weights and batch order. A scenario passes when its checks
hold in both frameworks and the trajectories agree (float32: final loss within
1e-3 and the same predicted classes; float64: every epoch within 1e-8), and
the training doctor (scenarios.doctor) gives each symptom its expected findings
and each fix or healthy scenario none, in both frameworks. By default float32
runs the catalogue but for the heaviest runs whose failure mode float64 or a
sibling scenario checks (FLOAT32_SLOW), float64 a representative subset;
``-m slow`` runs everything.
"""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("keras")

from scenarios.catalogue import SCENARIOS, get, names  # noqa: E402
from scenarios.execute import run_scenario  # noqa: E402

FLOAT64_DEFAULT = ["zero_target_rows", "imbalance_90_5_5_learnable_class_weight", "relu_batchnorm",
                   "binary_900_100_keras_focal", "bce_labels_0_3", "int_labels_with_cce", "saturated_probabilities"]
#: float32 runs of 7 s or more (2 cores, make test) whose failure mode the default suite checks elsewhere: in
#: float64 (FLOAT64_DEFAULT), or by a sibling scenario in float32 (the learnable / balanced variants)
FLOAT32_SLOW = {"relu_batchnorm", "relu_batchnorm_learnable", "imbalance_90_5_5", "imbalance_90_5_5_learnable",
                "capacity_linear_learnable", "capacity_hidden_learnable", "deep_sigmoid_learnable",
                "bce_binary_labels", "binary_balanced_learnable", "bce_labels_0_3", "binary_900_100_keras_focal",
                "binary_900_100_learnable", "binary_900_100_learnable_balanced", "zero_target_rows",
                # checked by default in float64, or by the literal twin in float32 (adam_lr_1_literal)
                "imbalance_90_5_5_learnable_class_weight", "saturated_probabilities", "int_labels_with_cce",
                "adam_lr_1"}


@lru_cache(maxsize=None)
def _run(name: str, dtype: str) -> dict:
    sc = get(name)
    refs = {str(c[1]) for c in sc.checks if str(c[0]).endswith("_other")}
    others: dict = {"keras": {}, "torch": {}}
    for ref in refs:
        for fw, e in _run(ref, dtype)["frameworks"].items():
            others[fw][ref] = e["summary"]
    return run_scenario(sc, dtype=dtype, others=others, doctor=True)


def _report(r: dict) -> str:
    lines = [f"{r['name']} ({r['dtype']})"]
    for fw, e in r["frameworks"].items():
        lines.append(f"  {fw}: {e['status']}" + (f" [{e['error'][:160]}]" if e.get("error") else ""))
        for c in e.get("checks", []):
            lines.append(f"    {c['check']}: {c['measured']} {'ok' if c['passed'] else 'FAIL'}")
    for fw, e in r["frameworks"].items():
        d = e.get("doctor", {})
        lines.append(f"  doctor {fw}: expected {d.get('expected')} found {d.get('ids')} -> "
                     f"{'ok' if d.get('passed') else 'FAIL'}")
    p = r.get("parity", {})
    if "per_metric" in p:
        lines.append(f"  parity: {p['per_metric']} same classes {p['same_predicted_classes']} "
                     f"outputs max abs {p['output_max_abs']:.2e} -> {'ok' if p['passed'] else 'FAIL'}")
    return "\n".join(lines)


def _assert_scenario(r: dict) -> None:
    print(_report(r))
    sc = get(r["name"])
    for fw, e in r["frameworks"].items():
        assert e["status"] != "crashed", f"{fw} crashed: {e.get('error')}\n{e.get('traceback', '')}"
        if sc.expect_error:
            assert e["status"] == "raised", f"{fw} did not raise"
        assert e["passed"], f"{fw} checks failed:\n{_report(r)}"
        assert e["doctor"]["passed"], f"{fw} doctor verdict not as expected:\n{_report(r)}"
    assert r["passed"], _report(r)


@pytest.mark.keras
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in FLOAT32_SLOW else n
                                  for n in names()])
def test_scenario_float32(name):
    _assert_scenario(_run(name, "float32"))


@pytest.mark.keras
@pytest.mark.parametrize("name", [n if n in FLOAT64_DEFAULT else pytest.param(n, marks=pytest.mark.slow)
                                  for n in names()])
def test_scenario_float64(name):
    r = _run(name, "float64")
    _assert_scenario(r)
    if "per_metric" in r.get("parity", {}):
        assert r["parity"]["per_metric"]["loss"] <= 1e-8


def test_catalogue_covers_the_issue():
    """The scenarios the catalogue promises, each with checks or an expected error."""
    required = {"single_class", "zero_target_rows", "imbalance_90_5_5", "imbalance_90_5_5_class_weight",
                "binary_900_100", "binary_900_100_balanced", "binary_900_100_keras_focal",
                "binary_900_100_community_focal", "deep_sigmoid", "relu_batchnorm", "bce_labels_0_3",
                "bce_binary_labels", "softmax_cce_3class", "int_labels_with_cce", "one_hot_with_scce",
                "int_labels_with_scce", "one_hot_with_cce", "capacity_linear_100", "capacity_hidden_64",
                "adam_lr_1", "adam_lr_0_001", "saturated_probabilities", "saturated_logits"}
    assert required <= set(names())
    assert len(set(names())) == len(SCENARIOS)
    from scenarios.doctor import RULES

    for sc in SCENARIOS:
        assert sc.checks or sc.expect_error, sc.name
        assert sc.kind in ("symptom", "fix", "healthy")
        assert bool(sc.expected_findings) == (sc.kind == "symptom"), sc.name  # every symptom is diagnosable
        assert set(sc.expected_findings) <= set(RULES), sc.name


def test_identical_trajectories_for_equivalent_label_encodings():
    """Integer labels + sparse CCE and one-hot + CCE are the same training, step for step."""
    a, b = _run("int_labels_with_scce", "float64"), _run("one_hot_with_cce", "float64")
    for fw in ("keras", "torch"):
        la, lb = np.array(a["frameworks"][fw]["summary"]["loss"]), np.array(b["frameworks"][fw]["summary"]["loss"])
        print(fw, la[[0, -1]], np.max(np.abs(la - lb)))
        assert np.max(np.abs(la - lb)) <= 1e-12


@pytest.mark.keras
def test_a_crashing_scenario_is_reported_and_the_rest_still_run(monkeypatch):
    from scenarios import report

    broken = get("zero_target_rows")

    def boom():
        raise RuntimeError("data generator failed")

    monkeypatch.setattr(broken, "data", boom)
    results = report.run_catalogue("float32", names=["zero_target_rows", "adam_lr_0_001"])
    assert results[0]["passed"] is False and "data generator failed" in results[0]["error"]
    assert results[1]["passed"] is True
    row = report.scenario_row(results[0])
    assert row["error"] and not row["passed"]


@pytest.mark.keras
def test_report_writes_html_markdown_png_json(tmp_path):
    from scenarios import report

    rep = report.collect(["float32"], names=["zero_target_rows", "int_labels_with_cce", "capacity_hidden_64",
                                             "capacity_linear_100"], loss_parity=False, workers=1)
    paths = report.write(rep, tmp_path)
    html = paths["html"].read_text()
    md = paths["markdown"].read_text()
    data = json.loads(paths["json"].read_text())
    print({k: p.stat().st_size for k, p in paths.items()})
    assert html.count("data:image/png;base64,") == 4  # three scenarios that train + the trajectory-parity plot
    for n in ("zero_target_rows", "int_labels_with_cce", "capacity_linear_100"):
        assert f"id='{n}'" in html and f"### {n}" in md
    assert "raised (expected)" in html and "SparseCategoricalCrossentropy" in html
    assert (tmp_path / "plots" / "capacity_hidden_64.png").read_bytes()[:4] == b"\x89PNG"
    assert data["totals"]["float32"]["passed"] == 4
    assert data["totals"]["float32"]["doctor"] == {"scenarios": 4, "passed": 4}
    assert "Training doctor" in html and "integer_labels_for_categorical" in html
    assert data["scenarios"]["float32"][0]["frameworks"]["torch"]["summary"]["loss"][0] == 0.0


def test_cli_list_and_run(capsys):
    from scenarios.cli import main

    assert main(["list"]) == 0
    assert "saturated_logits" in capsys.readouterr().out
    assert main(["run", "zero_target_rows", "--framework", "torch"]) == 0
    out = capsys.readouterr().out
    assert "loss_exactly 0.0" in out and "PASS" in out
    assert main(["run", "no_such_scenario"]) == 2


@pytest.mark.keras
def test_report_renders_in_headless_chromium(tmp_path):
    """Where Chromium is installed: the page renders to a screenshot of the expected size."""
    import shutil
    import subprocess

    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if exe is None:
        pytest.skip("no Chromium on this machine")
    from PIL import Image

    from scenarios import report

    rep = report.collect(["float32"], names=["single_class"], loss_parity=False, workers=1)
    paths = report.write(rep, tmp_path)
    shot = tmp_path / "shot.png"
    subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1300,1600",
                    f"--screenshot={shot}", paths["html"].as_uri()], check=True, capture_output=True, timeout=120)
    im = Image.open(shot).convert("L")
    px = np.asarray(im)
    print(im.size, "non-white fraction", float(np.mean(px < 250)))
    assert im.size == (1300, 1600)
    assert 0.02 < np.mean(px < 250) < 0.6  # text, tables and a plot on a white page

"""Reproduce a failure mode and its fix in Keras and PyTorch, side by side.

Runs the 90/5/5 imbalanced scenario on learnable data without and with
``class_weight={0: 1, 1: 10, 2: 10}`` in both frameworks (same data, initial
weights and batch order), then prints per-class test recall and how far the
two frameworks' loss curves are apart. The whole catalogue, with plots, is
``lossparity report`` (or ``make demo``); one scenario is ``lossparity run NAME``.

    python examples/failure_modes.py
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from scenarios.catalogue import get  # noqa: E402
from scenarios.report import run_catalogue  # noqa: E402

PAIR = ["imbalance_90_5_5_learnable", "imbalance_90_5_5_learnable_class_weight"]

if __name__ == "__main__":
    for r in run_catalogue("float32", names=PAIR):
        sc = get(r["name"])
        print(f"\n{sc.name}: {sc.title}  ->  {'PASS' if r['passed'] else 'FAIL'}")
        for fw, e in r["frameworks"].items():
            s = e["summary"]
            recall = ", ".join(f"{v:.2f}" for v in s["recall_test"])
            print(f"  {fw:5s}: loss {s['loss'][0]:.4f} -> {s['loss'][-1]:.4f}   test recall per class [{recall}]   "
                  f"predicted classes {s['pred_hist_test']}")
            for c in e["checks"]:
                print(f"         check {c['check']}: measured {c['measured']} -> {'ok' if c['passed'] else 'FAIL'}")
        p = r["parity"]
        print(f"  parity: final loss {p['per_metric']['loss']:.1e} relative apart, same predicted classes "
              f"{p['same_predicted_classes']}")

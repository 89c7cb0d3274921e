"""Sparse crossentropy with a class axis other than the last, against Keras's torch backend.

Keras on TensorFlow raises for these ("Only axis=-1 is currently supported");
Keras's torch backend computes them, so it is the reference (design rule). The
cases run in one subprocess with KERAS_BACKEND=torch.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("keras")

from scenarios.loss_cases import full_grid  # noqa: E402
from scenarios.loss_parity import compare  # noqa: E402
from scenarios.loss_cases import case_meta  # noqa: E402
from torch_impl.harness import loss_value_and_grad as torch_eval  # noqa: E402

pytestmark = pytest.mark.keras

_CASES = []
for _c in full_grid():
    if _c.reference == "keras_torch_backend" and _c.id not in {x.id for x in _CASES}:
        _CASES.append(_c)
_DEFAULT = _CASES[::3]


@pytest.fixture(scope="module")
def torch_backend_results(tmp_path_factory):
    d = tmp_path_factory.mktemp("kt")
    payload = []
    for c in _CASES:
        y_true, y_pred, sw = c.arrays()
        payload.append(dict(id=c.id, loss=c.loss, config=c.full_config(), y_true=y_true, y_pred=y_pred,
                            sample_weight=sw, dtype=c.compute_dtype, input_dtype=c.dtype,
                            functional=c.functional, cotangent_seed=c.seed))
    src, dst = d / "in.pkl", d / "out.pkl"
    src.write_bytes(pickle.dumps(payload))
    env = dict(os.environ, KERAS_BACKEND="torch", CUDA_VISIBLE_DEVICES="")
    worker = Path(__file__).with_name("keras_torch_backend_worker.py")
    proc = subprocess.run([sys.executable, str(worker), str(src), str(dst)], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return pickle.loads(dst.read_bytes())


@pytest.mark.parametrize("case", _DEFAULT, ids=lambda c: c.id)
def test_sparse_axis_not_last(case, torch_backend_results, record_parity):
    y_true, y_pred, sw = case.arrays()
    ours = torch_eval(case.loss, case.full_config(), y_true, y_pred, sw, dtype=case.compute_dtype,
                      input_dtype=case.dtype, functional=case.functional, cotangent_seed=case.seed)
    rec = compare(ours, torch_backend_results[case.id], case.dtype)
    rec.update(case_meta(case), id=case.id, reference="keras_torch_backend")
    record_parity(rec)
    print(f"{case.id}: value rel {rec['value_rel']:.2e} grad rel {rec['grad_rel']:.2e} [{rec['status']}]")
    assert rec["passed"], rec["reason"]


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in _CASES if c not in _DEFAULT], ids=lambda c: c.id)
def test_sparse_axis_not_last_broad(case, torch_backend_results, record_parity):
    test_sparse_axis_not_last(case, torch_backend_results, record_parity)

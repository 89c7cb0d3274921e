"""Values and gradients of every torch_impl loss against Keras on TensorFlow.

The grid (scenarios.loss_cases) spans loss x options x reduction x sample-weight
kind x dtype (float64, float32, bfloat16, float16 inputs) x rank/axis x edge
inputs (probabilities 0 and 1, exactly at the clip, logits +-100, all-zero
target rows, single-class batches, ignore_class everywhere, empty batch).
The default run takes the representative grid plus every 4th case of the
broad grid; `-m slow` runs the rest of the broad grid.
"""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("keras")

from keras_impl.harness import loss_value_and_grad as keras_eval  # noqa: E402
from scenarios.loss_cases import default_grid, full_grid  # noqa: E402
from scenarios.loss_parity import run_case  # noqa: E402
from torch_impl.harness import loss_value_and_grad as torch_eval  # noqa: E402

pytestmark = pytest.mark.keras


def _dedupe(cases):
    seen, out = set(), []
    for c in cases:
        if c.id not in seen and c.reference != "keras_torch_backend":
            seen.add(c.id)
            out.append(c)
    return out


_FULL = _dedupe(full_grid())
_DEFAULT = _dedupe(default_grid() + _FULL[::4])
_DEFAULT_IDS = {c.id for c in _DEFAULT}
_SLOW = [c for c in _FULL if c.id not in _DEFAULT_IDS]


def _check(case, record_parity):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = run_case(case, torch_eval, keras_eval)
    record_parity(rec)
    print(f"{case.id}: value abs {rec['value_abs']:.2e} rel {rec['value_rel']:.2e}; "
          f"grad abs {rec['grad_abs']:.2e} rel {rec['grad_rel']:.2e} [{rec['status']}]")
    assert rec["passed"], rec["reason"]


@pytest.mark.parametrize("case", _DEFAULT, ids=lambda c: c.id)
def test_loss_parity(case, record_parity):
    _check(case, record_parity)


@pytest.mark.slow
@pytest.mark.parametrize("case", _SLOW, ids=lambda c: c.id)
def test_loss_parity_broad(case, record_parity):
    _check(case, record_parity)

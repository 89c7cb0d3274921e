"""NaN and +-inf in predictions propagate exactly as in Keras (values and gradients)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("keras")

from keras_impl.harness import loss_value_and_grad as keras_eval  # noqa: E402
from scenarios.loss_parity import compare  # noqa: E402
from torch_impl.harness import loss_value_and_grad as torch_eval  # noqa: E402

pytestmark = pytest.mark.keras

LOSSES = [
    ("categorical_crossentropy", {}), ("categorical_crossentropy", {"from_logits": True}),
    ("sparse_categorical_crossentropy", {}), ("sparse_categorical_crossentropy", {"from_logits": True}),
    ("sparse_categorical_crossentropy", {"from_logits": True, "ignore_class": 0}),
    ("sparse_categorical_crossentropy", {"ignore_class": 0}),
    ("binary_crossentropy", {}), ("binary_crossentropy", {"from_logits": True}),
    ("binary_focal_crossentropy", {}), ("binary_focal_crossentropy", {"from_logits": True, "gamma": 0.0}),
    ("categorical_focal_crossentropy", {}), ("categorical_focal_crossentropy", {"from_logits": True}),
    ("focal_loss", {}),
]
BAD = {"nan": np.nan, "posinf": np.inf, "neginf": -np.inf}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bad", list(BAD))
@pytest.mark.parametrize("name,cfg", LOSSES, ids=[f"{n}-{c}" for n, c in LOSSES])
@pytest.mark.parametrize("reduction", ["none", "sum_over_batch_size"])
def test_nonfinite_predictions(name, cfg, bad, dtype, reduction):
    rng = np.random.default_rng(3)
    n, c = 4, 3
    if name == "sparse_categorical_crossentropy":
        y = np.array([0, 1, 2, 0])
        p = rng.dirichlet(np.ones(c), n)
    elif name.startswith("categorical"):
        y = np.eye(c)[[0, 1, 2, 0]]
        p = rng.dirichlet(np.ones(c), n)
    else:
        y = rng.integers(0, 2, (n, c)).astype(float)
        p = rng.uniform(0.05, 0.95, (n, c))
    if cfg.get("from_logits"):
        p = rng.normal(size=(n, c))
    p[0, 0] = BAD[bad]
    p[2, 1] = BAD[bad]
    config = dict(cfg, reduction=reduction)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = torch_eval(name, config, y, p, dtype=dtype, cotangent_seed=1)
        ref = keras_eval(name, config, y, p, dtype=dtype, cotangent_seed=1)
    rec = compare(ours, ref, dtype)
    print(f"{name} {cfg} {bad} {dtype}: value {ref['value']} ours {ours['value']}; {rec['status']}")
    assert rec["passed"], rec["reason"]

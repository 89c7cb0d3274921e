"""Shape and rank mistakes: torch_impl raises ValueError exactly where Keras raises, and only there."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("keras")

from keras_impl.harness import loss_value_and_grad as keras_eval  # noqa: E402
from torch_impl.harness import loss_value_and_grad as torch_eval  # noqa: E402

pytestmark = pytest.mark.keras
rng = np.random.default_rng(0)
P = rng.dirichlet(np.ones(4), 6)
INT = rng.integers(0, 4, 6)
ONE_HOT = np.eye(4)[INT]

CASES = [
    # (id, loss, config, y_true, y_pred, sample_weight, functional)
    ("cce_int_labels", "categorical_crossentropy", {}, INT, P, None, False),
    ("cce_int_labels_col", "categorical_crossentropy", {}, INT[:, None], P, None, False),
    ("cce_fn_int_labels", "categorical_crossentropy", {}, INT, P, None, True),
    ("cce_class_count", "categorical_crossentropy", {}, np.eye(5)[INT], P, None, False),
    ("cce_scalar", "categorical_crossentropy", {}, np.array(1.0), np.array(0.5), None, True),
    ("scce_one_hot", "sparse_categorical_crossentropy", {}, ONE_HOT, P, None, False),
    ("scce_fn_one_hot", "sparse_categorical_crossentropy", {}, ONE_HOT, P, None, True),
    ("scce_col_labels_ok", "sparse_categorical_crossentropy", {}, INT[:, None], P, None, False),
    ("scce_wrong_batch", "sparse_categorical_crossentropy", {}, INT[:5], P, None, False),
    ("bce_n_vs_n2", "binary_crossentropy", {}, INT % 2, rng.uniform(size=(6, 2)), None, False),
    ("bce_n_vs_n1_ok", "binary_crossentropy", {}, (INT % 2).astype(float), rng.uniform(size=(6, 1)), None, False),
    ("bce_fn_n_vs_n1", "binary_crossentropy", {}, (INT % 2).astype(float), rng.uniform(size=(6, 1)), None, True),
    ("bfce_shape", "binary_focal_crossentropy", {}, np.ones((6, 3)), rng.uniform(size=(6, 2)), None, False),
    ("cfce_int_labels", "categorical_focal_crossentropy", {}, INT, P, None, False),
    ("sw_per_sample_vs_per_element", "categorical_crossentropy", {},
     np.eye(4)[rng.integers(0, 4, (6, 3))], rng.dirichlet(np.ones(4), (6, 3)), np.ones(6), False),
    ("sw_col_vs_per_element_ok", "categorical_crossentropy", {},
     np.eye(4)[rng.integers(0, 4, (6, 3))], rng.dirichlet(np.ones(4), (6, 3)), np.ones((6, 1)), False),
    ("sw_wrong_length", "binary_crossentropy", {}, np.ones((6, 3)), rng.uniform(size=(6, 3)), np.ones(5), False),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_raises_where_keras_raises(case):
    _, loss, cfg, y_true, y_pred, sw, functional = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = keras_eval(loss, cfg, y_true, y_pred, sw, dtype="float64", functional=functional)
        ours = torch_eval(loss, cfg, y_true, y_pred, sw, dtype="float64", functional=functional)
    print(f"Keras: {ref['error'] and ref['error'][0]}; torch_impl: {ours['error']}")
    assert (ref["error"] is None) == (ours["error"] is None), (ref["error"], ours["error"])
    if ours["error"] is not None:
        assert ours["error"][0] == "ValueError"
        if "shape" in ours["error"][1]:
            assert str(tuple(np.shape(y_pred))) in ours["error"][1] or str(tuple(np.shape(sw))) in ours["error"][1]
    else:
        np.testing.assert_allclose(ours["value"], ref["value"], rtol=1e-12)

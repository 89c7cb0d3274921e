"""Data for the rest of ``keras.losses`` (regression, hinge, KL/Poisson, Dice/Tversky, Circle, generalized
crossentropy, CTC): ``(y_true, y_pred)`` pairs that hit each loss's edges (equal values where ``abs``/``max``
have a kink, Huber's ``|e| == delta``, hinge margins of exactly 0, zero vectors, clipped probabilities,
softplus cut-offs, a query with no positive pair, repeated CTC labels), and the sample weights of every shape.
NumPy only: the parity tests feed the same arrays to Keras and to torch_impl, on the CPU and on CUDA.
"""

from __future__ import annotations

import numpy as np

N = 6
REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)
WEIGHT_KINDS = ("none", "per_sample", "per_sample_col", "zeros", "per_element")


def _regression(rng, shape=(N, 4)):
    y_true = rng.normal(size=shape)
    y_pred = rng.normal(size=shape)
    y_pred.flat[::5] = y_true.flat[::5]  # zero errors: the kink of abs, the centre of log_cosh
    return y_true, y_pred


def _huber_edges(rng, delta):
    y_true, y_pred = _regression(rng)
    y_true[0] = 0.0
    y_pred[0] = [delta, -delta, 3 * delta, 0.25 * delta]  # |e| == delta: the quadratic branch, as Keras's <=
    return y_true, y_pred


def _mape(rng):
    y_true, y_pred = _regression(rng)
    y_true[0, :2] = 0.0  # the max(|y_true|, 1e-7) floor
    y_true[1, 0] = 3e-8
    return y_true, y_pred


def _msle(rng):
    y_true = np.abs(rng.normal(size=(N, 4))) * 3
    y_pred = rng.normal(size=(N, 4)) * 2  # negatives: below the 1e-7 floor, zero gradient
    y_true[0, 0] = -1.0
    y_pred[1, 1] = 0.0
    return y_true, y_pred


def _log_cosh(rng):
    y_true, y_pred = _regression(rng)
    y_pred[0] = y_true[0] + np.array([30.0, -30.0, 8.0, -20.0])  # softplus cut-offs in float32 and float64
    return y_true, y_pred


def _cosine(rng, shape=(N, 4)):
    y_true, y_pred = rng.normal(size=shape), rng.normal(size=shape)
    y_true[0] = 0.0  # a zero vector scores 0
    y_pred[1] = 2.5 * y_true[1]  # the same direction
    return y_true, y_pred


def _hinge01(rng):
    y_true = rng.integers(0, 2, size=(N, 3)).astype(float)
    y_pred = rng.normal(size=(N, 3))
    y_pred[0] = [1.0, -1.0, 0.0]  # margins exactly 0 for labels 1 / 0 (-1)
    y_true[0] = [1.0, 0.0, 1.0]
    return y_true, y_pred


def _hinge_pm1(rng):
    y_true = rng.choice([-1.0, 1.0], size=(N, 3))
    y_pred = rng.normal(size=(N, 3))
    return y_true, y_pred


def _one_hot(rng, classes=4):
    y_true = np.eye(classes)[rng.integers(0, classes, N)]
    y_pred = rng.normal(size=(N, classes))
    y_pred[0] = [0.5, 0.5, 0.5, 0.5]  # ties in the max over the wrong classes
    y_true[0] = [0.0, 0.0, 0.0, 1.0]
    return y_true, y_pred


def _probabilities(rng, classes=4):
    y_true = rng.dirichlet(np.ones(classes), N)
    y_true[0] = [0.0, 1.0, 0.0, 0.0]  # zeros, clipped to 1e-7
    y_pred = rng.dirichlet(np.ones(classes), N)
    y_pred[1] = [0.0, 0.5, 1.2, -0.1]  # outside [1e-7, 1]: clipped, zero gradient
    return y_true, y_pred


def _poisson(rng):
    y_true = rng.poisson(2.0, size=(N, 3)).astype(float)
    y_pred = rng.gamma(2.0, 1.0, size=(N, 3))
    y_pred[0, 0] = 0.0
    return y_true, y_pred


def _masks(rng, shape=(N, 3, 3, 1)):
    y_true = (rng.random(shape) > 0.5).astype(float)
    y_pred = rng.random(shape)
    y_true[0] = 0.0  # an empty mask
    return y_true, y_pred


def _embeddings(rng, n=8, d=4):
    emb = rng.normal(size=(n, d))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    labels = np.array([0, 1, 0, 1, 2, 2, 1, 3])[:n]  # class 3: a query with no positive pair
    return labels, emb


def _generalized(rng, classes=4):
    labels = rng.integers(0, classes, N)
    y_pred = rng.dirichlet(np.ones(classes), N)
    return labels, y_pred


def _ctc(rng, t=7, classes=5, s=3):
    labels = rng.integers(1, classes, size=(N, s))
    labels[0, 2:] = 0  # padding (0 is also the blank)
    labels[1, 1:] = 0
    labels[2, 1] = labels[2, 0]  # a repeated label needs a blank between
    return labels, rng.normal(size=(N, t, classes)) * 2


# (name, config, data maker, the loss values' shape beyond the batch or None for a 0-d loss)
CASES = [
    ("mean_squared_error", {}, _regression, ()),
    ("mean_squared_error", {}, lambda r: _regression(r, (N, 3, 4)), (3,)),
    ("mean_absolute_error", {}, _regression, ()),
    ("mean_absolute_error", {}, lambda r: _regression(r, (N, 3, 4)), (3,)),
    ("mean_absolute_percentage_error", {}, _mape, ()),
    ("mean_squared_logarithmic_error", {}, _msle, ()),
    ("cosine_similarity", {}, _cosine, ()),
    ("cosine_similarity", {"axis": 1}, lambda r: _cosine(r, (N, 4, 3)), (3,)),
    ("huber", {}, lambda r: _huber_edges(r, 1.0), ()),
    ("huber", {"delta": 0.5}, lambda r: _huber_edges(r, 0.5), ()),
    ("huber", {"delta": 2.0}, lambda r: _huber_edges(r, 2.0), ()),
    ("log_cosh", {}, _log_cosh, ()),
    ("hinge", {}, _hinge01, ()),
    ("hinge", {}, _hinge_pm1, ()),
    ("squared_hinge", {}, _hinge01, ()),
    ("squared_hinge", {}, _hinge_pm1, ()),
    ("categorical_hinge", {}, _one_hot, ()),
    ("kl_divergence", {}, _probabilities, ()),
    ("poisson", {}, _poisson, ()),
    ("dice", {}, _masks, None),
    ("dice", {"axis": (1, 2, 3)}, _masks, ()),
    ("dice", {"axis": (1, 2)}, _masks, (1,)),
    ("tversky", {}, _masks, None),
    ("tversky", {"alpha": 0.7, "beta": 0.3, "axis": (1, 2, 3)}, _masks, ()),
    ("tversky", {"alpha": 0.2, "beta": 0.9, "axis": (1, 2)}, _masks, (1,)),
    ("circle", {}, _embeddings, ()),
    ("circle", {"gamma": 32.0, "margin": 0.25}, _embeddings, ()),
    ("circle", {"remove_diagonal": False}, _embeddings, ()),
    ("categorical_generalized_cross_entropy", {}, _generalized, ()),
    ("categorical_generalized_cross_entropy", {"q": 0.2}, _generalized, ()),
    ("categorical_generalized_cross_entropy", {"q": 0.9}, _generalized, ()),
    ("ctc", {}, _ctc, ()),
]


def weights(kind: str, rng, n: int, extra):
    if kind == "none":
        return None
    if kind == "per_sample":
        return rng.random(n) + 0.1
    if kind == "per_sample_col":
        return rng.random((n, 1)) + 0.1
    if kind == "zeros":
        return np.zeros(n)
    if kind == "per_element":
        return rng.random((n,) + tuple(extra)) if extra else None
    raise AssertionError(kind)


def case_id(case) -> str:
    name, config, _, _ = case
    return name + ("" if not config else "-" + "-".join(f"{k}={v}" for k, v in config.items()))

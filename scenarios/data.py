"""Seeded synthetic data for the scenarios (NumPy and scikit-learn only).

Two kinds, as the field write-ups use them and as a fix needs them:

* *literal*: what the write-ups' code does, seeded: uniform or normal random
  features with random or fixed labels (nothing to learn);
* *learnable*: ``sklearn.datasets.make_classification`` with given class
  proportions, separability and informative features, with a held-out test
  set, so a fix can be shown to work and not only a symptom to appear.

Every generator returns ``Data(x, y, x_test, y_test)`` with integer labels;
:func:`one_hot` converts them for the categorical losses.

Example:
    >>> from scenarios.data import learnable
    >>> d = learnable(n=200, n_classes=3, weights=(0.9, 0.05, 0.05), seed=0)
    >>> d.x.shape[1], sorted(set(d.y.tolist()))
    (10, [0, 1, 2])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

__all__ = ["Data", "literal", "learnable", "one_hot", "fixed_counts"]


@dataclass
class Data:
    x: np.ndarray
    y: np.ndarray
    x_test: Optional[np.ndarray] = None
    y_test: Optional[np.ndarray] = None


def one_hot(y: np.ndarray, n_classes: int) -> np.ndarray:
    return np.eye(n_classes)[np.asarray(y, dtype=np.int64)]


def literal(n: int, n_features: int, labels: np.ndarray, seed: int, features: str = "uniform",
            test_fraction: float = 0.0) -> Data:
    """Random features (``uniform`` in [0, 1) or ``normal``) with the given labels; optional test split."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, n_features)) if features == "uniform" else rng.standard_normal((n, n_features))
    y = np.asarray(labels)
    if test_fraction:
        from sklearn.model_selection import train_test_split

        x, x_test, y, y_test = train_test_split(x, y, test_size=test_fraction, random_state=seed)
        return Data(x, y, x_test, y_test)
    return Data(x, y)


def fixed_counts(counts: Sequence[int]) -> np.ndarray:
    """Labels ``0 * counts[0], 1 * counts[1], ...`` in order (the write-ups' construction)."""
    return np.concatenate([np.full(c, k) for k, c in enumerate(counts)]).astype(np.int64)


def learnable(n: int, n_classes: int, weights: Optional[Sequence[float]] = None, seed: int = 0,
              n_features: int = 10, n_informative: int = 5, class_sep: float = 1.0, test_fraction: float = 0.3,
              flip_y: float = 0.0) -> Data:
    """``make_classification`` data with a stratified held-out test set, standardised features."""
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    x, y = make_classification(n_samples=n, n_features=n_features, n_informative=n_informative,
                               n_redundant=0, n_classes=n_classes, n_clusters_per_class=1,
                               weights=list(weights) if weights is not None else None, class_sep=class_sep,
                               flip_y=flip_y, random_state=seed)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    mu, sd = x_tr.mean(0), x_tr.std(0) + 1e-12
    return Data((x_tr - mu) / sd, y_tr.astype(np.int64), (x_te - mu) / sd, y_te.astype(np.int64))

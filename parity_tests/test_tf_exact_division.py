"""TensorFlow-exact paths that torch's ``number / tensor`` would put an ulp off, and ``_eigen_math``'s platform guard.

torch computes ``c / t`` (a Python number over a tensor) as ``t.reciprocal() * c``: two roundings, an ulp off the
true quotient ``x / y`` of TensorFlow's kernels for about 25% of float32 and float64 ``t`` when ``c`` is not a power
of two. TensorFlow's binomial kernel (``random_binomial_op.cc``) computes ``0.92 - 4.2 / b``, ``(2.83 + 5.1 / b)
* stddev`` and the Stirling tail's ``1.0 / 1260 / kp1sq`` in C doubles: the oracle here is the same arithmetic on
Python floats (C doubles, ``math.sqrt``/``math.log``: the C library's).

Measured (``python -m pytest -q -s parity_tests/test_tf_exact_division.py``), max abs diff to the float64 oracle:

| case                                                        | before the fix               | now         |
|-------------------------------------------------------------|------------------------------|-------------|
| BTRS constants, 1649 (count, p) with count p >= 10 (11543)   | 172 off, max 1.42e-14        | 0 (equal)   |
| Stirling tail, k = 0..4009 (0..10**6 measured)              | 0 (the quotient is, 27%)     | 0 (equal)   |
| ``_eigen_math`` on a non-x86-64 / non-glibc platform        | the x86-64 replay ran        | torch's     |
| ``keras.random.binomial``, float64 NumPy parameters (600)   | 23 differ (float64 kernel)   | 0 (equal)   |
| ``stateless_binomial``, float64 tensors (1200)              | 0                            | 0 (equal)   |

(Before: ``4.2 / b`` and ``5.1 / b`` off for 851 of 3298 pairs, ``torch.sqrt`` for ~1% of float64 inputs; the
Stirling tail's ``1.0 / 1260 / kp1sq`` is an ulp off for 27% of k but the ulp never reaches the tail.)
"""

from __future__ import annotations

import math

import pytest
import torch

from torch_impl import _eigen_math as E
from torch_impl import _tf_random as T


def _stirling_oracle(k: float) -> float:
    """``stirling_approx_tail`` of ``random_binomial_op.cc`` on C doubles."""
    if k <= 9:
        return T._STIRLING_TAIL[int(k)]
    kp1sq = (k + 1) * (k + 1)
    return (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1)


def test_stirling_tail_true_division():
    k = torch.arange(0, 4010, dtype=torch.float64)
    ours = T._stirling_tail(k)
    ref = torch.tensor([_stirling_oracle(v) for v in k.tolist()], dtype=torch.float64)
    off = int((ours != ref).sum())
    print(f"stirling tail: {off} of {k.numel()} differ, max abs diff {float((ours - ref).abs().max()):.3g}")
    assert off == 0


def _btrs_oracle(count: float, prob: float) -> tuple:
    """BTRS's constants as ``btrs()`` computes them in C doubles."""
    stddev = math.sqrt(count * prob * (1 - prob))
    b = 1.15 + 2.53 * stddev
    a = -0.0873 + 0.0248 * b + 0.01 * prob
    c = count * prob + 0.5
    v_r = 0.92 - 4.2 / b
    r = prob / (1 - prob)
    alpha = (2.83 + 5.1 / b) * stddev
    m = math.floor((count + 1) * prob)
    return b, a, c, v_r, r, alpha, m


def test_btrs_constants_true_division():
    pairs = [(float(n), p) for n in range(10, 2000, 7) for p in (0.05, 0.1, 0.3, 0.4, 0.5, 0.123456) if n * p >= 10]
    count = torch.tensor([n for n, _ in pairs], dtype=torch.float64)
    prob = torch.tensor([p for _, p in pairs], dtype=torch.float64)
    ours = torch.stack(T._btrs_constants(count, prob), dim=1)
    ref = torch.tensor([_btrs_oracle(n, p) for n, p in pairs], dtype=torch.float64)
    off = int((ours != ref).sum())
    print(f"BTRS constants: {off} of {ref.numel()} differ over {len(pairs)} (count, p), "
          f"max abs diff {float((ours - ref).abs().max()):.3g}")
    assert off == 0


@pytest.fixture
def fresh_guard():
    E.replay_exact.cache_clear()
    yield
    E.replay_exact.cache_clear()


def test_eigen_guard_matches_platform(fresh_guard):
    import platform
    import sys

    from torch_impl import _libm
    expected = (platform.machine() in ("x86_64", "AMD64") and sys.platform.startswith("linux")
                and platform.libc_ver()[0] == "glibc" and _libm.HAVE_LIBM)
    print(f"replay_exact: {E.replay_exact()} ({platform.machine()}, {sys.platform}, {platform.libc_ver()})")
    assert E.replay_exact() == expected


@pytest.mark.parametrize("patch", [("platform", "machine", lambda: "aarch64"),
                                   ("platform", "libc_ver", lambda: ("", "")),
                                   ("sys", "platform", "darwin"),
                                   (None, "HAVE_LIBM", False)])
def test_eigen_guard_falls_back_to_torch(fresh_guard, monkeypatch, patch):
    mod, name, value = patch
    monkeypatch.setattr(getattr(E, mod) if mod else E, name, value)
    assert E.replay_exact() is False

    def _no_replay(*args):
        raise AssertionError("the x86-64 replay ran on another platform")
    monkeypatch.setattr(E, "_packets_and_tail", _no_replay)
    x = torch.linspace(0.01, 3.0, 21)
    for ours, ref in ((E.log(x), torch.log(x)), (E.sigmoid(x), torch.sigmoid(x)),
                      (E.tf_sincos(x, True), torch.sin(x)), (E.tf_sincos(x, False), torch.cos(x))):
        assert torch.equal(ours, ref)


@pytest.mark.keras
def test_binomial_numpy_float64_params_take_float32_like_keras(one_torch_thread):
    """TensorFlow 2.21's eager ``convert_to_tensor(numpy_float64, dtype_hint=float32)`` casts (rounds) to float32:
    ``keras.random.binomial`` with float64 NumPy ``counts``/``probabilities`` runs the float32 kernel."""
    keras = pytest.importorskip("keras")
    import numpy as np

    from torch_impl import keras_random as R
    counts, probs = np.array([1e7, 1e6]), np.array([0.3 + 3e-9, 0.123456789123])
    ours = R.binomial((300, 2), counts, probs, dtype="float64", seed=5).numpy()
    theirs = np.asarray(keras.random.binomial((300, 2), counts, probs, dtype="float64", seed=5))
    off = int((ours != theirs).sum())
    print(f"binomial, float64 NumPy parameters: {off} of {ours.size} differ, max abs diff "
          f"{float(np.abs(ours - theirs).max())}")
    assert off == 0
    # float64 tensors run the float64 kernel (BTRS and inversion, C's log/log1p)
    tf = pytest.importorskip("tensorflow")
    counts, probs = np.array([1e7, 1e6, 40.0, 9.0]), np.array([0.3 + 3e-9, 0.123456789123, 0.9, 0.05])
    theirs = tf.random.stateless_binomial((300, 4), (5, 6), tf.constant(counts), tf.constant(probs),
                                          output_dtype=tf.float64).numpy()
    ours = T.stateless_binomial((300, 4), (5, 6), torch.tensor(counts), torch.tensor(probs), torch.float64).numpy()
    off = int((ours != theirs).sum())
    print(f"stateless_binomial, float64 tensors: {off} of {ours.size} differ")
    assert off == 0

"""``torch_impl._tf_random``'s replay of glibc's ``logf``/``sincosf`` (TensorFlow's float32 Box-Muller on Linux)
against the C library itself, through ``ctypes``; and its float64 ``log``/``sin``/``cos`` against glibc's
``sincos``.

Measured (``python -m pytest -q -s -m "" parity_tests/test_tf_random_glibc.py``, glibc 2.36, x86-64 with FMA):

| inputs                                                          | result                      |
|-----------------------------------------------------------------|-----------------------------|
| every 257th of the 2**23 ``u1`` / ``v1`` a Box-Muller can draw  | equal bit for bit           |
| all 2**23 of each (slow; ``sincosf`` itself called)             | equal bit for bit           |
| 20000 float64 ``v1``: ``sincos`` against ``math.sin``/``cos``   | equal                       |

The slow run gives the same under ``GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-FMA`` (glibc's non-FMA variants).
Skipped where the C library is not glibc's (the replay is then not used: float64 math rounded instead).
"""

from __future__ import annotations

import ctypes
import math

import numpy as np
import pytest
import torch

from torch_impl import _libm
from torch_impl import _tf_random as T

pytestmark = pytest.mark.skipif(not T._libm_box_muller()[0], reason="the C library is not glibc's")


def _inputs(step: int) -> tuple:
    """Box-Muller's ``u1 = max(k 2**-23, 1e-7)`` and ``v1 = float32(2 pi k 2**-23)`` for every ``step``-th ``k``."""
    u = T._unit_float32(torch.arange(0, 2**23, step, dtype=torch.int64))
    return u.clamp_min(np.float32(1e-7)), (2 * math.pi * u.double()).float()


def _glibc_sincosf():
    fn = _libm._LIB.sincosf
    fn.restype, fn.argtypes = None, [ctypes.c_float, ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_float)]
    s, c = ctypes.c_float(), ctypes.c_float()

    def call(x: float) -> tuple:
        fn(x, ctypes.byref(s), ctypes.byref(c))
        return s.value, c.value
    return call


def _check(step: int) -> int:
    u1, v1 = _inputs(step)
    logf, sincosf = _libm.c_function("logf"), _glibc_sincosf()
    ours_l = T._glibc_logf(u1).numpy()
    ours_s, ours_c = (a.numpy() for a in T._glibc_sincosf(v1))
    ref_l = np.array([logf(x) for x in u1.tolist()], dtype=np.float32)
    ref_s, ref_c = (np.array(a, dtype=np.float32) for a in zip(*map(sincosf, v1.tolist())))
    bad = int((ours_l.view(np.uint32) != ref_l.view(np.uint32)).sum() + (ours_s.view(np.uint32) != ref_s.view(
        np.uint32)).sum() + (ours_c.view(np.uint32) != ref_c.view(np.uint32)).sum())
    print(f"logf/sincosf replay against glibc on {u1.numel()} inputs each: {bad} values differ")
    return bad


def test_logf_sincosf_replay_on_a_sample():
    assert _check(257) == 0


@pytest.mark.slow
def test_logf_sincosf_replay_on_every_input():
    assert _check(1) == 0


def test_float64_sincos_is_sin_and_cos():
    fn = _libm._LIB.sincos
    fn.restype, fn.argtypes = None, [ctypes.c_double, ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_double)]
    s, c = ctypes.c_double(), ctypes.c_double()
    v = (2 * math.pi * np.random.default_rng(0).random(20000)).tolist()
    bad = 0
    for x in v:
        fn(x, ctypes.byref(s), ctypes.byref(c))
        bad += (s.value != math.sin(x)) + (c.value != math.cos(x))
    print(f"glibc sincos against math.sin/math.cos on {len(v)} float64 inputs: {bad} differ")
    assert bad == 0

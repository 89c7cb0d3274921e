"""The C library's math functions (glibc's ``logf``, ``expf``, ``sinf``...) for the kernels this package replays.

TensorFlow's CPU kernels call them for a scalar (a schedule's step, a CTC beam's score) and for the elements of a
tensor that do not fill a SIMD packet; torch's and NumPy's functions differ from them in the last bit on a share of
inputs (NumPy's float32 ``exp`` on about 40%), enough to move a tie or a threshold. One loader for every module
that needs them: :func:`c_function` gives the C library's function through ``ctypes``, or where no C math library
loads (no ``libm``), the float64 value rounded (float32 names), off in rare cases.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Callable

import numpy as np
import torch

_FLOAT = ("expf", "logf", "log1pf", "sinf", "cosf", "sqrtf")
_DOUBLE = ("exp", "log", "log1p", "sin", "cos", "sqrt")


def _load():
    try:
        return ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    except OSError:  # pragma: no cover - platforms without a loadable libm
        return None


_LIB = _load()


def _fallback(name: str) -> Callable[[float], float]:
    f64 = getattr(np, name[:-1] if name in _FLOAT else name)

    def fn(v: float) -> float:
        with np.errstate(all="ignore"):
            if name in _FLOAT:  # as ctypes passes it: the argument rounded to float32 first
                return float(np.float32(f64(np.float64(np.float32(v)))))
            return float(f64(np.float64(v)))
    return fn


def c_function(name: str) -> Callable[[float], float]:
    """The C library's ``name`` on a Python float (``"logf"``: float32 in and out; ``"log"``: double), or the
    float64 value rounded where no C math library loads.

    >>> c_function("logf")(2.0)
    0.6931471824645996
    """
    if name not in _FLOAT + _DOUBLE:
        raise ValueError(f"c_function: one of {_FLOAT + _DOUBLE}, got {name!r}")
    fn = getattr(_LIB, name, None) if _LIB is not None else None
    if fn is None:  # pragma: no cover - no libm
        return _fallback(name)
    ctype = ctypes.c_float if name in _FLOAT else ctypes.c_double
    fn.restype, fn.argtypes = ctype, [ctype]
    return fn



def c_map(fn: Callable[[float], float], x: torch.Tensor) -> torch.Tensor:
    """``fn`` (a Python float function calling the C library's double one: ``math.log``, ``math.sin``...) on each
    element of float64 ``x``: TensorFlow's scalar calls bit for bit, where torch's and NumPy's vectorised functions
    are ulps off."""
    return torch.tensor(list(map(fn, x.reshape(-1).tolist())), dtype=torch.float64, device=x.device).reshape(x.shape)


HAVE_LIBM = _LIB is not None

"""Fused Triton kernels for the Keras losses, and the switch that picks them.

The losses in :mod:`torch_impl.losses` use these kernels automatically for
CUDA tensors when Triton can be imported (``backend="auto"``, the default),
and the eager PyTorch path otherwise. One public API either way; the numbers
agree within the design's float32 tolerance.

Force a path for the whole process or for a block of code::

    from torch_impl import kernels
    kernels.set_backend("eager")           # never the kernels
    with kernels.use_backend("triton"):    # always the kernels (error if unusable)
        loss = loss_fn(y, logits)

or with the environment variable ``LOSSPARITY_BACKEND=auto|triton|eager``.
On a machine without a GPU the kernels run under Triton's interpreter when
``TRITON_INTERPRET=1`` is set before Triton is imported (slow; for tests).

Example:
    >>> from torch_impl import kernels
    >>> kernels.get_backend()
    'auto'
"""

from __future__ import annotations

import contextlib
import functools
import os
from typing import Iterator

import torch

from torch_impl._ops import functorch_active

__all__ = ["get_backend", "set_backend", "use_backend", "triton_available", "use_triton", "BACKENDS"]

BACKENDS = ("auto", "triton", "eager")
_state = {"backend": os.environ.get("LOSSPARITY_BACKEND", "auto")}
if _state["backend"] not in BACKENDS:
    raise ValueError(f"LOSSPARITY_BACKEND must be one of {BACKENDS}, got {_state['backend']!r}")


def get_backend() -> str:
    """The current choice: ``"auto"``, ``"triton"`` or ``"eager"``."""
    return _state["backend"]


def set_backend(backend: str) -> None:
    """Choose the loss implementation for this process (see the module docstring)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    _state["backend"] = backend


@contextlib.contextmanager
def use_backend(backend: str) -> Iterator[None]:
    """``with use_backend("eager"): ...`` (restores the previous choice)."""
    previous = get_backend()
    set_backend(backend)
    try:
        yield
    finally:
        set_backend(previous)


def interpreter_mode() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0", "false", "False")


@functools.lru_cache(maxsize=None)
def triton_available() -> bool:
    """Whether ``import triton`` works here."""
    try:
        import triton  # noqa: F401
    except Exception:
        return False
    return True


_KERNEL_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def use_triton(t: torch.Tensor) -> bool:
    """Whether the kernels handle this prediction tensor under the current backend.

    float64 always takes the eager path (the kernels accumulate in float32);
    so does code being traced by ``torch.compile`` or a ``torch.func``
    transform (grad, vmap, ...).
    """
    backend = _state["backend"]
    if backend == "eager" or t.dtype not in _KERNEL_DTYPES or torch.compiler.is_compiling():
        return False
    if functorch_active():  # torch.func transforms take the eager path (plain differentiable ops)
        return False
    if backend == "triton":
        if not triton_available():
            raise RuntimeError("backend 'triton' was requested but Triton cannot be imported")
        if not (t.is_cuda or interpreter_mode()):  # the environment is read only here, off the "auto" path
            raise RuntimeError(
                f"backend 'triton' needs CUDA tensors (got {t.device}); on CPU set TRITON_INTERPRET=1 "
                "before Triton is imported to run the kernels in Triton's interpreter"
            )
        return True
    return t.is_cuda and triton_available()

"""Thinning a parametrized grid for ``make test``: every ``every``-th case runs by default, the others are marked
``slow`` and run under ``make test-all``. The default suite keeps its 15 minutes on 2 cores while each grid still
covers its range (the kept cases are spread over it, not its first few)."""

from __future__ import annotations

from typing import Iterable, Optional, Sequence

import pytest


def every_nth(values: Iterable, every: int, *, unpack: bool = False, ids: Optional[Sequence[str]] = None) -> list:
    """``values`` for ``pytest.mark.parametrize`` with all but every ``every``-th (the 0th, ``every``-th, ...)
    marked ``slow``. ``unpack``: each value is a tuple of several arguments (``parametrize("name,cfg", ...)``).
    ``ids``: the cases' ids, as ``parametrize``'s ``ids`` (kept on the marked cases too).

    >>> [getattr(v, "marks", ()) != () for v in every_nth(range(5), 2)]
    [False, True, False, True, False]
    """
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    out = []
    for i, v in enumerate(values):
        args = tuple(v) if unpack else (v,)
        marks = () if i % every == 0 else (pytest.mark.slow,)
        out.append(pytest.param(*args, marks=marks, id=None if ids is None else ids[i]))
    return out

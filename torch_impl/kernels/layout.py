"""Row layout shared by the kernels: the block of rows a program handles, and alignment hints.

Triton specializes an integer argument only on "divisible by 16"; a row stride
or class count of 1000 (divisible by 8) is then treated as divisible by 1 and
every load and store of the row becomes a scalar access (``ld.global.b16`` for
bfloat16). The launchers pass ``ALIGN``, the largest power of two up to 16
that divides the row strides and the row length, and the kernels rewrite those
integers as ``(x // ALIGN) * ALIGN`` (the same value), from which the compiler
derives the alignment and emits vector accesses (``ld.global.v4.b32``).
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def _aligned(x, ALIGN: tl.constexpr):
    """``x`` (a multiple of ``ALIGN``, which the caller guarantees), written so the compiler sees that."""
    if ALIGN > 1:
        x = (x // ALIGN) * ALIGN
    return x


@triton.jit
def _row_block(block, n_rows, BLOCK_R: tl.constexpr):
    """``(rows, row_ok, rows64)`` of row block ``block``: the row ids, which exist, and the ids as int64
    (for offsets: ``rows * stride`` may pass 2**31)."""
    rows = block * BLOCK_R + tl.arange(0, BLOCK_R)
    return rows, rows < n_rows, rows.to(tl.int64)


def align_of(*ints: int) -> int:
    """The largest power of two up to 16 dividing every one of ``ints`` (host side)."""
    a = 16
    for v in ints:
        while a > 1 and v % a:
            a //= 2
    return a

"""libstdc++'s heap and sort algorithms (``bits/stl_heap.h``, ``bits/stl_algo.h``; TensorFlow's Linux wheels
link libstdc++), step for step on a Python list with a ``comp(a, b)`` ("``a`` goes before ``b``") comparator.

They fix what TensorFlow's kernels do with elements the comparator calls equal (``std::sort`` is an introsort, not
stable; ``gtl::TopN`` keeps a heap): the order of exactly tied CTC beams (``torch_impl._ctc_decode``) and where a
NaN lands in ``top_k``'s sort (``sparsemax``). Functions work on ``v[first:last]`` as the C++ ones on iterators.
"""

from __future__ import annotations


def push_heap_hole(v: list, first: int, hole: int, top: int, value, comp) -> None:
    """``std::__push_heap``: sift ``value`` up from ``hole`` (``push_heap`` is this with the last element)."""
    parent = (hole - 1) // 2
    while hole > top and comp(v[first + parent], value):
        v[first + hole] = v[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    v[first + hole] = value


def adjust_heap(v: list, first: int, hole: int, length: int, value, comp) -> None:
    """``std::__adjust_heap``: move the hole down to a leaf along the larger children, then sift ``value`` up."""
    top = second = hole
    while second < (length - 1) // 2:
        second = 2 * (second + 1)
        if comp(v[first + second], v[first + second - 1]):
            second -= 1
        v[first + hole] = v[first + second]
        hole = second
    if length % 2 == 0 and second == (length - 2) // 2:
        second = 2 * (second + 1)
        v[first + hole] = v[first + second - 1]
        hole = second - 1
    push_heap_hole(v, first, hole, top, value, comp)


def pop_heap_to(v: list, first: int, last: int, result: int, comp) -> None:
    """``std::__pop_heap``: the top of the heap ``v[first:last]`` to ``v[result]``, ``v[result]`` into the heap
    (``pop_heap(first, end)`` is ``pop_heap_to(first, end - 1, end - 1)``)."""
    value = v[result]
    v[result] = v[first]
    adjust_heap(v, first, 0, last - first, value, comp)


def make_heap(v: list, first: int, last: int, comp) -> None:
    """``std::make_heap``: ``comp`` orders a max-heap (a "greater" comparator: a min-heap)."""
    length = last - first
    if length < 2:
        return
    parent = (length - 2) // 2
    while True:
        adjust_heap(v, first, parent, length, v[first + parent], comp)
        if parent == 0:
            return
        parent -= 1


def sort_heap(v: list, first: int, last: int, comp) -> None:
    """``std::sort_heap``."""
    while last - first > 1:
        last -= 1
        pop_heap_to(v, first, last, last, comp)


def _unguarded_linear_insert(v: list, last: int, comp) -> None:
    value = v[last]
    nxt = last - 1
    while comp(value, v[nxt]):
        v[last] = v[nxt]
        last = nxt
        nxt -= 1
    v[last] = value


def _insertion_sort(v: list, first: int, last: int, comp) -> None:
    for i in range(first + 1, last):
        if comp(v[i], v[first]):
            value = v[i]
            v[first + 1:i + 1] = v[first:i]
            v[first] = value
        else:
            _unguarded_linear_insert(v, i, comp)


def _unguarded_partition(v: list, first: int, last: int, pivot: int, comp) -> int:
    while True:
        while comp(v[first], v[pivot]):
            first += 1
        last -= 1
        while comp(v[pivot], v[last]):
            last -= 1
        if not first < last:
            return first
        v[first], v[last] = v[last], v[first]
        first += 1


def _move_median_to_first(v: list, result: int, a: int, b: int, c: int, comp) -> None:
    if comp(v[a], v[b]):
        pick = b if comp(v[b], v[c]) else c if comp(v[a], v[c]) else a
    else:
        pick = a if comp(v[a], v[c]) else c if comp(v[b], v[c]) else b
    v[result], v[pick] = v[pick], v[result]


def _introsort_loop(v: list, first: int, last: int, depth_limit: int, comp) -> None:
    while last - first > 16:
        if depth_limit == 0:  # std::__partial_sort(first, last, last): a heap sort
            make_heap(v, first, last, comp)
            sort_heap(v, first, last, comp)
            return
        depth_limit -= 1
        mid = first + (last - first) // 2
        _move_median_to_first(v, first, first + 1, mid, last - 1, comp)
        cut = _unguarded_partition(v, first + 1, last, first, comp)
        _introsort_loop(v, cut, last, depth_limit, comp)
        last = cut


def sort(v: list, comp) -> None:
    """``std::sort`` of the whole list: introsort (depth limit ``2 floor(log2 n)``, median of three, unguarded
    partition), runs of 16 or fewer left to the final insertion sort."""
    n = len(v)
    if n == 0:
        return
    _introsort_loop(v, 0, n, 2 * (n.bit_length() - 1), comp)
    if n > 16:
        _insertion_sort(v, 0, 16, comp)
        for i in range(16, n):
            _unguarded_linear_insert(v, i, comp)
    else:
        _insertion_sort(v, 0, n, comp)

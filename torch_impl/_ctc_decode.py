"""TensorFlow's CTC decoders on torch tensors: greedy (best path) and TensorFlow's beam search.

The functions take log-space scores ``(N, T, C)`` whose last class is the blank, as TensorFlow's
``CTCGreedyDecoder`` / ``CTCBeamSearchDecoder`` kernels take them (time-major there), and return Python lists of
label sequences with their scores. ``torch_impl.keras_backend.ctc_decode`` turns them into Keras's dense output.

* Greedy: the first maximum of each step (ties go to the lower class), repeats merged, blanks dropped; the score is
  minus the sum of the step maxima (the raw inputs, not normalised).
* Beam search: TensorFlow's algorithm (``tensorflow/core/util/ctc/ctc_beam_search.h``) step for step: each step's
  scores are log-softmax normalised; a beam keeps its blank-ending and label-ending probabilities; the beam list is
  a top-``beam_width`` set refilled in descending order, and a beam that falls out of it loses its probability (a
  parent out of the beam no longer feeds its children); with ``merge_repeated`` a decoded labelling drops a label
  equal to the one before it (TensorFlow's v1 behaviour: ``A B B`` decodes to ``A B``). Scores in float32 (float64
  for float64 inputs, the kernel's double instance), with its order of operations and the C library's
  ``expf``/``log1pf``/``logf`` (``exp``/``log`` in double; its ``LogSumExp`` calls the float ones even there);
  beams of exactly equal probability come out in TensorFlow's order (``gtl::TopN``'s libstdc++ heap and sort
  steps), so that the same float32 log probabilities give TensorFlow's paths and bitwise its scores.
"""

from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

from torch_impl import _stl
from torch_impl._libm import c_function

_LOG_ZERO = -math.inf


def _f32(x: float) -> float:
    return float(np.float32(x))


# the C library's float32 functions, which TensorFlow's kernel calls (NumPy's float32 ``exp`` differs from glibc's in
# the last bit for about 40% of inputs, enough to break or make exact ties between beams)
_EXPF, _LOG1PF, _LOGF = (c_function(name) for name in ("expf", "log1pf", "logf"))


def _same(x: float) -> float:
    return x


def _log_sum_exp(a: float, b: float, rnd=_f32) -> float:
    """TensorFlow's ``ctc::LogSumExp`` of two log probabilities: ``a + log1pf(expf(b - a))``, ``a`` the larger
    (``rnd``: the kernel's type; its double kernel too calls the float ``expf``/``log1pf``)."""
    if a <= _LOG_ZERO:
        return b
    if b <= _LOG_ZERO:
        return a
    hi, lo = (a, b) if a > b else (b, a)
    return rnd(hi + _LOG1PF(_EXPF(_f32(lo - hi))))


def greedy_decode(scores: np.ndarray, lengths: Sequence[int],
                  merge_repeated: bool = True) -> Tuple[List[List[int]], np.ndarray]:
    """Best-path decoding of ``scores`` ``(N, T, C)`` (blank ``C - 1``) over each row's first ``lengths[n]`` steps.

    Returns the label sequences and ``(N, 1)`` scores: minus the sum of each step's maximum, in ``scores``' dtype.
    """
    n, _, c = scores.shape
    blank = c - 1
    paths: List[List[int]] = []
    neg_sum = np.zeros((n, 1), dtype=scores.dtype)
    for b in range(n):
        steps = scores[b, : int(lengths[b])]
        best = steps.argmax(-1) if steps.size else np.zeros(0, dtype=np.int64)
        seq: List[int] = []
        previous = -1
        total = scores.dtype.type(0)
        for t, k in enumerate(best.tolist()):
            total = total - steps[t, k]
            if k != blank and not (merge_repeated and k == previous):
                seq.append(k)
            previous = k
        neg_sum[b, 0] = total
        paths.append(seq)
    return paths, neg_sum


class _Beam:
    """One node of the beam tree: a labelling (its label and parent) with its probabilities at ``t - 1`` (``old``)
    and ``t`` (``new``), each ``[blank-ending, label-ending, total]`` in log space."""

    __slots__ = ("parent", "label", "children", "old", "new")

    def __init__(self, parent: Optional["_Beam"], label: int):
        self.parent = parent
        self.label = label
        self.children: dict = {}
        self.old = [_LOG_ZERO, _LOG_ZERO, _LOG_ZERO]
        self.new = [_LOG_ZERO, _LOG_ZERO, _LOG_ZERO]

    def active(self) -> bool:
        return self.new[2] != _LOG_ZERO

    def child(self, label: int) -> "_Beam":
        node = self.children.get(label)
        if node is None:
            node = self.children[label] = _Beam(self, label)
        return node

    def labels(self, merge_repeated: bool) -> List[int]:
        seq: List[int] = []
        previous = -1
        node = self
        while node.parent is not None:
            if not merge_repeated or node.label != previous:
                seq.append(node.label)
            previous = node.label
            node = node.parent
        return seq[::-1]


def _greater(a: _Beam, b: _Beam) -> bool:
    """TensorFlow's ``BeamComparer``: ``a`` ranks above ``b`` (a strictly larger total probability)."""
    return a.new[2] > b.new[2]


class _TopN:
    """TensorFlow's ``gtl::TopN`` (``tensorflow/core/lib/gtl/top_n.h``) of beams by their current total
    probability, at most ``limit`` of them: an unordered list (its bottom moved to the front once peeked) until
    it overflows, then a min-heap; ``items`` is its element vector, in TensorFlow's order."""

    UNORDERED, BOTTOM_KNOWN, HEAP_SORTED = range(3)

    def __init__(self, limit: int):
        self.limit = limit
        self.items: List[_Beam] = []
        self.state = self.UNORDERED

    def push(self, beam: _Beam) -> None:
        items = self.items
        if self.state != self.HEAP_SORTED:
            items.append(beam)
            if len(items) == self.limit + 1:
                _stl.make_heap(items, 0, len(items), _greater)
                _stl.pop_heap_to(items, 0, len(items) - 1, len(items) - 1, _greater)
                items.pop()
                self.state = self.HEAP_SORTED
            elif self.state != self.UNORDERED and not _greater(items[-1], items[0]):
                items[0], items[-1] = items[-1], items[0]
        elif _greater(beam, items[0]):
            if len(items) > 1:
                _stl.pop_heap_to(items, 0, len(items) - 1, len(items) - 1, _greater)
            items[-1] = beam
            _stl.push_heap_hole(items, 0, len(items) - 1, 0, beam, _greater)

    def bottom(self) -> _Beam:
        """``peek_bottom``: the lowest beam (moved to the front)."""
        items = self.items
        if self.state == self.UNORDERED:
            low = 0
            for i in range(1, len(items)):
                if _greater(items[low], items[i]):
                    low = i
            items[0], items[low] = items[low], items[0]
            self.state = self.BOTTOM_KNOWN
        return items[0]

    def extract(self) -> List[_Beam]:
        """The beams in descending total probability (ties in TensorFlow's order), emptying the set."""
        out, self.items = self.items, []
        if self.state != self.HEAP_SORTED:
            _stl.sort(out, _greater)
        else:
            _stl.sort_heap(out, 0, len(out), _greater)
        self.state = self.UNORDERED
        return out


def _beam_search_one(steps: np.ndarray, beam_width: int, top_paths: int,
                     merge_repeated: bool) -> Tuple[List[List[int]], List[float]]:
    num_classes = steps.shape[-1]
    blank = num_classes - 1
    root = _Beam(None, -1)
    root.new = [0.0, _LOG_ZERO, 0.0]
    leaves = _TopN(beam_width)
    leaves.push(root)
    # TensorFlow's kernel runs in float32, or in float64 for float64 inputs (CTCBeamSearchDecoder<double>)
    double = steps.dtype == np.float64
    rnd, exp, log = (_same, math.exp, math.log) if double else (_f32, _EXPF, _LOGF)
    for raw in steps:
        raw = raw.astype(np.float64 if double else np.float32)
        top = float(raw.max())
        raw = raw.tolist()
        # log-softmax normalisation of the step as TensorFlow's loop: max + log(sum of exp(x - max), in order)
        total = 0.0
        for v in raw:
            total = rnd(total + exp(rnd(v - top)))
        norm = rnd(top + log(total))
        logp = [rnd(v - norm) for v in raw]
        branches = leaves.extract()
        for b in branches:
            b.old = list(b.new)
        for b in branches:
            if b.parent is not None:
                if b.parent.active():
                    previous = b.parent.old[0] if b.label == b.parent.label else b.parent.old[2]
                    b.new[1] = _log_sum_exp(b.new[1], previous, rnd)
                b.new[1] = rnd(b.new[1] + logp[b.label])
            b.new[0] = rnd(rnd(b.old[2] + raw[blank]) - norm)  # (old total + input) - norm, as TensorFlow
            b.new[2] = _log_sum_exp(b.new[0], b.new[1], rnd)
            leaves.push(b)

        def is_candidate(total: float) -> bool:
            return total > _LOG_ZERO and (len(leaves.items) < beam_width or total > leaves.bottom().new[2])

        for b in branches:
            if not is_candidate(b.old[2]):
                continue
            for label in range(num_classes - 1):
                c = b.child(label)
                if c.active():
                    continue
                c.new[0] = _LOG_ZERO
                previous = b.old[0] if c.label == b.label else b.old[2]
                c.new[1] = rnd(logp[label] + previous)
                c.new[2] = c.new[1]
                if is_candidate(c.new[2]):
                    if len(leaves.items) == beam_width:  # the bottom leaves the beam (the push drops it)
                        leaves.bottom().new = [_LOG_ZERO, _LOG_ZERO, _LOG_ZERO]
                    leaves.push(c)
                else:
                    c.old = [_LOG_ZERO, _LOG_ZERO, _LOG_ZERO]
                    c.new = [_LOG_ZERO, _LOG_ZERO, _LOG_ZERO]
    # the op (ctc_decoder_ops.cc) calls TopPaths after the last Step: the top n of the leaves in their heap order
    final = leaves.items
    if top_paths > len(final):
        raise ValueError("ctc_decode: fewer beams survived than `top_paths` asks for (TensorFlow: \"Less leaves in "
                         "the beam search than requested.\")")
    top = _TopN(top_paths)
    for b in final:
        top.push(b)
    best = top.extract()
    return [b.labels(merge_repeated) for b in best], [b.new[2] for b in best]


def beam_search_decode(scores: np.ndarray, lengths: Sequence[int], beam_width: int = 100, top_paths: int = 1,
                       merge_repeated: bool = True) -> Tuple[List[List[List[int]]], np.ndarray]:
    """TensorFlow's CTC beam search over ``scores`` ``(N, T, C)`` (blank ``C - 1``), each row over its first
    ``lengths[n]`` steps.

    Returns ``paths[j][n]`` (the ``j``-th best labelling of row ``n``) and the ``(N, top_paths)`` log
    probabilities, in ``scores``' dtype.
    """
    if beam_width < 1 or top_paths < 1:
        raise ValueError(f"ctc_decode: beam_width and top_paths must be >= 1, got {beam_width} and {top_paths}")
    if top_paths > beam_width:
        raise ValueError("ctc_decode: `top_paths` is larger than `beam_width` (TensorFlow: \"requested more paths "
                         "than the beam width.\")")
    n = scores.shape[0]
    paths: List[List[List[int]]] = [[] for _ in range(top_paths)]
    log_probs = np.zeros((n, top_paths), dtype=scores.dtype)
    for b in range(n):
        seqs, probs = _beam_search_one(scores[b, : int(lengths[b])], beam_width, top_paths, merge_repeated)
        for j in range(top_paths):
            paths[j].append(seqs[j])
            log_probs[b, j] = probs[j]
    return paths, log_probs


def dense_paths(all_paths: List[List[List[int]]], n: int, steps: int) -> torch.Tensor:
    """``(len(all_paths), n, steps)`` int64: each decoded labelling left-aligned, padded with -1 (Keras's dense
    form of TensorFlow's sparse decoder output)."""
    dense = torch.full((len(all_paths), n, steps), -1, dtype=torch.int64)
    for j, paths in enumerate(all_paths):
        for row, seq in enumerate(paths):
            if seq:
                dense[j, row, :len(seq)] = torch.tensor(seq, dtype=torch.int64)
    return dense

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
  equal to the one before it (TensorFlow's v1 behaviour: ``A B B`` decodes to ``A B``). Scores in float32, as the
  kernel's beam probabilities are.
"""

from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

_LOG_ZERO = -math.inf


def _log_sum_exp(a: float, b: float) -> float:
    """TensorFlow's ``ctc::LogSumExp`` of two log probabilities (float32)."""
    if a <= _LOG_ZERO:
        return b
    if b <= _LOG_ZERO:
        return a
    hi, lo = (a, b) if a > b else (b, a)
    return float(np.float32(hi) + np.log1p(np.exp(np.float32(lo) - np.float32(hi))))


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


class _TopN:
    """TensorFlow's ``gtl::TopN`` of beams by their current total probability, at most ``limit`` of them."""

    def __init__(self, limit: int):
        self.limit = limit
        self.items: List[_Beam] = []

    def push(self, beam: _Beam) -> None:
        if len(self.items) < self.limit:
            self.items.append(beam)
            return
        bottom = self.bottom()
        if beam.new[2] > bottom.new[2]:
            self.items.remove(bottom)
            self.items.append(beam)

    def bottom(self) -> _Beam:
        return min(self.items, key=lambda b: b.new[2])

    def extract(self) -> List[_Beam]:
        """The beams in descending total probability (stable for ties), emptying the set."""
        out = sorted(self.items, key=lambda b: -b.new[2])
        self.items = []
        return out


def _beam_search_one(steps: np.ndarray, beam_width: int, top_paths: int,
                     merge_repeated: bool) -> Tuple[List[List[int]], List[float]]:
    num_classes = steps.shape[-1]
    blank = num_classes - 1
    root = _Beam(None, -1)
    root.new = [0.0, _LOG_ZERO, 0.0]
    leaves = _TopN(beam_width)
    leaves.push(root)
    for raw in steps:
        raw = raw.astype(np.float32)
        top = float(raw.max())
        # log-softmax normalisation of the step (TensorFlow subtracts max + log(sum(exp(x - max))))
        norm = top + float(np.log(np.exp(raw - np.float32(top)).sum(dtype=np.float32)))
        logp = (raw - np.float32(norm)).astype(np.float32).tolist()
        branches = leaves.extract()
        for b in branches:
            b.old = list(b.new)
        for b in branches:
            if b.parent is not None:
                if b.parent.active():
                    previous = b.parent.old[0] if b.label == b.parent.label else b.parent.old[2]
                    b.new[1] = _log_sum_exp(b.new[1], previous)
                b.new[1] = float(np.float32(b.new[1]) + np.float32(logp[b.label]))
            b.new[0] = float(np.float32(b.old[2]) + np.float32(logp[blank]))
            b.new[2] = _log_sum_exp(b.new[0], b.new[1])
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
                c.new[1] = float(np.float32(logp[label]) + np.float32(previous))
                c.new[2] = c.new[1]
                if is_candidate(c.new[2]):
                    if len(leaves.items) == beam_width:
                        bottom = leaves.bottom()
                        bottom.new = [_LOG_ZERO, _LOG_ZERO, _LOG_ZERO]
                        leaves.items.remove(bottom)
                    leaves.push(c)
                else:
                    c.old = [_LOG_ZERO, _LOG_ZERO, _LOG_ZERO]
                    c.new = [_LOG_ZERO, _LOG_ZERO, _LOG_ZERO]
    if top_paths > len(leaves.items):
        raise ValueError("ctc_decode: fewer beams survived than `top_paths` asks for (TensorFlow: \"Less leaves in "
                         "the beam search than requested.\")")
    best = sorted(leaves.items, key=lambda b: -b.new[2])[:top_paths]
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

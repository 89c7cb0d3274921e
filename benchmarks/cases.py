"""Benchmark cases: framework-neutral inputs and the byte model (NumPy only).

Every implementation, in any framework or process, builds its inputs with
:func:`inputs` from the same seed, so the values it computes can be compared
before anything is timed.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["FAMILIES", "Case", "inputs", "bytes_moved", "cpu_sweep", "cuda_sweep"]

#: family -> Keras loss name, options, target kind
FAMILIES = {
    "sparse": ("sparse_categorical_crossentropy", {"from_logits": True}, "index"),
    "categorical": ("categorical_crossentropy", {"from_logits": True}, "one_hot"),
    "binary": ("binary_crossentropy", {"from_logits": True}, "binary"),
    "binary_focal": ("binary_focal_crossentropy", {"from_logits": True, "apply_class_balancing": True,
                                                    "alpha": 0.25, "gamma": 2.0}, "binary"),
    "categorical_focal": ("categorical_focal_crossentropy", {"from_logits": True, "alpha": 0.25, "gamma": 2.0},
                          "one_hot"),
}
ELEMENT_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}


@dataclass(frozen=True)
class Case:
    family: str
    n: int
    c: int  # classes (or features D for the binary losses)
    dtype: str  # "float32" | "bfloat16"
    mode: str  # "forward" | "forward_backward"

    @property
    def id(self) -> str:
        return f"{self.family}-{self.n}x{self.c}-{self.dtype}-{self.mode}"

    @property
    def loss(self) -> str:
        return FAMILIES[self.family][0]

    @property
    def config(self) -> dict:
        return dict(FAMILIES[self.family][1])

    @property
    def target_kind(self) -> str:
        return FAMILIES[self.family][2]

    def to_dict(self) -> dict:
        return asdict(self)


def inputs(case: Case, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(y_true, logits) as NumPy; logits float32 (a bfloat16 case rounds them in its framework)."""
    return draw_inputs(case.n, case.c, case.target_kind, seed)


@functools.lru_cache(maxsize=1)
def draw_inputs(n: int, c: int, target_kind: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The inputs of every case of shape (n, c) with this target kind (they do not depend on dtype or mode).

    Read-only, and the last shape's draw is kept: a sweep visits a shape's dtypes and modes in a row, and
    drawing 8192 x 131072 takes seconds. Copy before writing.
    """
    rng = np.random.default_rng(seed)
    z = (rng.standard_normal((n, c), dtype=np.float32) * 3.0).astype(np.float32)
    if target_kind == "index":
        y = rng.integers(0, c, n)
    elif target_kind == "one_hot":
        y = np.zeros((n, c), np.float32)
        y[np.arange(n), rng.integers(0, c, n)] = 1.0
    else:
        y = (rng.random((n, c)) < 0.3).astype(np.float32)
    y.setflags(write=False)
    z.setflags(write=False)
    return y, z


def bytes_moved(case: Case) -> int:
    """Each input read once, each output written once.

    forward: predictions + targets read, one float32 loss per sample written;
    forward_backward: predictions + targets read, the gradient written.
    Targets: int64 labels, or a tensor of the predictions' shape and dtype.
    """
    b = ELEMENT_BYTES[case.dtype]
    preds = case.n * case.c * b
    targets = case.n * 8 if case.target_kind == "index" else case.n * case.c * b
    out = case.n * 4 if case.mode == "forward" else case.n * case.c * b
    return preds + targets + out


def _sweep(shapes_cat, shapes_bin, dtypes, modes) -> list[Case]:
    out = []
    for family in FAMILIES:
        shapes = shapes_bin if family.startswith("binary") else shapes_cat
        for (n, c) in shapes:
            for dt in dtypes:
                for mode in modes:
                    out.append(Case(family, n, c, dt, mode))
    return out


def cpu_sweep(quick: bool = False) -> list[Case]:
    if quick:  # under a minute with the three Keras backends: the forward alone at the small shapes only
        return (_sweep([(64, 10)], [(512, 16)], ["float32"], ["forward"])
                + _sweep([(64, 10), (512, 100)], [(512, 16)], ["float32"], ["forward_backward"]))
    return _sweep([(64, 10), (1024, 100), (4096, 1000), (256, 32000)], [(1024, 1), (4096, 1000)],
                  ["float32", "bfloat16"], ["forward", "forward_backward"])


def cuda_sweep(quick: bool = False) -> list[Case]:
    if quick:
        return _sweep([(4096, 32000)], [(65536, 1000)], ["bfloat16"], ["forward_backward"])
    cat = [(64, 10), (4096, 1000), (65536, 1000), (8192, 32000), (8192, 131072)]
    return [c for c in _sweep(cat, [(4096, 1), (65536, 1000), (16384, 4096)], ["float32", "bfloat16"],
                              ["forward", "forward_backward"])
            if not (c.family == "categorical_focal" and c.n * c.c < 2**20)]

"""torch_impl imports without TensorFlow/Keras; keras_impl imports without torch.

Each check runs in a fresh interpreter whose import system refuses the other
framework, so an accidental import anywhere in the package fails loudly.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

BLOCKER = textwrap.dedent(
    """
    import sys, importlib.abc
    BLOCKED = {blocked!r}
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError("blocked for this test: " + name)
    sys.meta_path.insert(0, Block())
    sys.path.insert(0, {root!r})
    """
)


def _run(blocked: set, code: str) -> subprocess.CompletedProcess:
    src = BLOCKER.format(blocked=blocked, root=str(ROOT)) + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", src], capture_output=True, text=True, timeout=300)


def test_torch_impl_without_tensorflow_or_keras():
    r = _run({"tensorflow", "keras", "tf_keras"}, """
        import torch, torch_impl
        from torch_impl import losses, reduction, class_weight, harness
        from torch_impl.losses import CategoricalCrossentropy
        v = CategoricalCrossentropy(from_logits=True)(torch.eye(3), torch.zeros(3, 3))
        print(round(float(v), 6))
        print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))
    """)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["1.098612", "[]"]


def test_keras_impl_without_torch():
    pytest.importorskip("keras")
    r = _run({"torch", "triton"}, """
        import os; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import keras_impl
        from keras_impl import losses, harness
        import numpy as np
        print(float(losses.focal_loss()(np.array([[0., 1.]], "float32"), np.array([[0.3, 0.8]], "float32"))) > 0)
        print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))
    """)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split()[-2:] == ["True", "[]"]


def test_scenarios_grid_is_numpy_only():
    r = _run({"torch", "tensorflow", "keras", "triton"}, """
        from scenarios import loss_cases, loss_parity
        print(len(loss_cases.default_grid()) > 100)
    """)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["True"]

"""Per-class focal ``alpha``: which precision Keras really uses.

Keras on TensorFlow turns a Python list ``alpha`` into a float32 tensor
(``tf.convert_to_tensor``'s default) whatever ``floatx`` is, so a float64 loss
uses float32-rounded alphas; a float64 NumPy array keeps float64. torch_impl
follows both rules, in any torch default dtype. A list's dtype is its first
element's (a list of NumPy float64 scalars converts at float64), and a float64
alpha makes the functional form on float32 inputs return float64.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torch_impl import losses

pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

ALPHA = [0.1, 0.2, 0.3, 0.15, 0.25]  # none exact in float32


@pytest.fixture
def float64_everywhere():
    old_floatx, old_default = keras.config.floatx(), torch.get_default_dtype()
    keras.config.set_floatx("float64")
    torch.set_default_dtype(torch.float64)
    yield
    keras.config.set_floatx(old_floatx)
    torch.set_default_dtype(old_default)


@pytest.mark.keras
@pytest.mark.parametrize("kind", ["list", "tuple", "float64_array", "float32_array"])
@pytest.mark.parametrize("from_logits", [False, True])
def test_alpha_precision_in_float64(kind, from_logits, float64_everywhere):
    rng = np.random.default_rng(7)
    logits = rng.normal(size=(64, 5)) * 3
    pred = logits if from_logits else np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.eye(5)[rng.integers(0, 5, 64)]
    alpha = {"list": ALPHA, "tuple": tuple(ALPHA), "float64_array": np.array(ALPHA),
             "float32_array": np.array(ALPHA, np.float32)}[kind]
    ref = float(keras.losses.CategoricalFocalCrossentropy(alpha=alpha, gamma=2.0, from_logits=from_logits)(y, pred))
    ours = float(losses.CategoricalFocalCrossentropy(alpha=alpha, gamma=2.0, from_logits=from_logits)(
        torch.tensor(y), torch.tensor(pred)))
    # the float32 and float64 alphas give values 1e-8 apart: a 1e-14 match tells them apart
    rel = abs(ours - ref) / ref
    print(f"alpha={kind} from_logits={from_logits}: keras {ref:.17g} torch_impl {ours:.17g} rel {rel:.1e}")
    assert rel < 1e-14


_KINDS = {  # tf.convert_to_tensor infers a list's dtype from its first element
    "python floats": [0.713, 0.2, 0.479],
    "numpy float64s": list(np.array([0.713, 0.2, 0.479])),
    "python float first, then numpy float64": [0.713, np.float64(0.2), 0.479],
    "numpy float64 first, then python floats": [np.float64(0.713), 0.2, 0.479],
    "numpy float16s then a python float": [np.float16(0.713), np.float16(0.2), 0.479],
    "tuple of numpy float64s": tuple(np.array([0.713, 0.2, 0.479])),
    "0-d float64 arrays": [np.array(0.713), np.array(0.2), np.array(0.479)],
    "numpy float64 scalar": np.float64(0.3),
    "python float": 0.3,
}


@pytest.mark.keras
def test_alpha_kinds_dtype_and_values_like_keras():
    """Each kind of ``alpha`` on float32 and float64 inputs: the functional form returns Keras's dtype (float64
    once ``alpha`` is float64: ``ops.multiply`` promotes) and Keras's values; the class its own dtype."""
    rng = np.random.default_rng(8)
    p = rng.dirichlet(np.ones(3), 6)
    y = np.eye(3)[rng.integers(0, 3, 6)]
    worst = {}
    for name, alpha in _KINDS.items():
        for dt, tol in (("float32", 2e-6), ("float64", 1e-14)):
            yd, pd = y.astype(dt), p.astype(dt)
            k = keras.losses.categorical_focal_crossentropy(yd, pd, alpha=alpha).numpy()
            t = losses.categorical_focal_crossentropy(torch.tensor(yd), torch.tensor(pd), alpha=alpha).numpy()
            kc = keras.losses.CategoricalFocalCrossentropy(alpha=alpha, dtype=dt)(yd, pd).numpy()
            tc = losses.CategoricalFocalCrossentropy(alpha=alpha)(torch.tensor(yd), torch.tensor(pd)).numpy()
            rel = float(np.max(np.abs(t - k) / np.abs(k)))
            worst[(name, dt)] = rel
            assert t.dtype == k.dtype and tc.dtype == kc.dtype == dt, (name, dt, t.dtype, k.dtype, tc.dtype)
            assert rel <= (1e-14 if k.dtype == np.float64 and dt == "float64" else tol), (name, dt, rel)
            assert abs(float(tc) - float(kc)) <= tol * abs(float(kc)), (name, dt)
    print("max rel from Keras: " + "; ".join(f"{n} {d} {v:.1e}" for (n, d), v in worst.items()))
    # binary focal: Keras's `y_true * alpha` converts the alpha to the inputs' dtype (no promotion)
    yb, pb = y[:, :1].astype("float32"), p[:, :1].astype("float32")
    kb = keras.losses.binary_focal_crossentropy(yb, pb, apply_class_balancing=True, alpha=np.float64(0.3)).numpy()
    tb = losses.binary_focal_crossentropy(torch.tensor(yb), torch.tensor(pb), apply_class_balancing=True,
                                          alpha=np.float64(0.3)).numpy()
    assert kb.dtype == tb.dtype == np.float32 and np.max(np.abs(tb - kb) / np.abs(kb)) <= 2e-6


def test_one_value_alpha_on_the_kernel_path():
    """A one-element per-class ``alpha`` (``[0.3]``) broadcasts to every class on the fused-kernel path too (the
    functional form read a stride-0 view there, 1.1 off; the class raised); with a float64 alpha the functional
    form takes the eager path (Keras promotes its result to float64), the class keeps the kernel (float32 values
    within its tolerance of Keras's float64-then-cast ones)."""
    from torch_impl import kernels

    if not (kernels.triton_available() and (kernels.interpreter_mode() or torch.cuda.is_available())):
        pytest.skip("no Triton kernels here")
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    rng = np.random.default_rng(9)
    p = torch.tensor(rng.dirichlet(np.ones(3), 6), dtype=torch.float32, device=dev)
    y = torch.tensor(np.eye(3)[rng.integers(0, 3, 6)], dtype=torch.float32, device=dev)
    for alpha in ([0.3], np.float64(0.3)):
        out = {}
        for backend in ("eager", "triton"):
            with kernels.use_backend(backend):
                out[backend] = (losses.categorical_focal_crossentropy(y, p, alpha=alpha),
                                losses.CategoricalFocalCrossentropy(alpha=alpha)(y, p))
        gaps = [float((a.double() - b.double()).abs().max()) for a, b in zip(out["eager"], out["triton"])]
        print(f"alpha={alpha!r}: triton vs eager, function {gaps[0]:.1e}, class {gaps[1]:.1e}")
        assert max(gaps) <= 1e-6 and out["triton"][0].dtype == out["eager"][0].dtype

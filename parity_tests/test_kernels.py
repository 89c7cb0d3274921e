"""The fused Triton kernels against the eager path (itself pinned to Keras by the grid).

On CUDA the kernels run for real; without a GPU they run in Triton's
interpreter (TRITON_INTERPRET=1, set by conftest) on small shapes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("triton")

from scenarios.loss_cases import default_grid  # noqa: E402
from scenarios.loss_parity import compare  # noqa: E402
from torch_impl import kernels, losses  # noqa: E402
from parity_tests.grid import every_nth  # noqa: E402
from torch_impl.harness import loss_value_and_grad  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
KERNEL_LOSSES = {
    "categorical_crossentropy": lambda cfg: cfg.get("from_logits", False),
    "sparse_categorical_crossentropy": lambda cfg: cfg.get("from_logits", False),
    "binary_crossentropy": lambda cfg: True,
    "binary_focal_crossentropy": lambda cfg: True,
    "categorical_focal_crossentropy": lambda cfg: True,
}
CASES = [c for c in default_grid()
         if c.loss in KERNEL_LOSSES and KERNEL_LOSSES[c.loss](c.config) and c.dtype != "float64"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_kernel_matches_eager_on_the_grid(case):
    y_true, y_pred, sw = case.arrays()
    kw = dict(dtype=case.compute_dtype, input_dtype=case.dtype, functional=case.functional,
              cotangent_seed=case.seed, device=DEVICE)
    # the Keras dtype argument routes to eager; these cases use dtype=None like users do
    cfg = case.full_config()
    with kernels.use_backend("eager"):
        ref = loss_value_and_grad(case.loss, cfg, y_true, y_pred, sw, **kw, loss_dtype=None)
    from torch_impl.kernels import ops

    before = sum(ops.LAUNCHES.values())
    with kernels.use_backend("triton"):
        ours = loss_value_and_grad(case.loss, cfg, y_true, y_pred, sw, **kw, loss_dtype=None)
    if ours["error"] is None and y_pred.size and case.reference != "keras_torch_backend":
        assert sum(ops.LAUNCHES.values()) > before, "the kernels did not run"
    rec = compare(ours, ref, "float32" if case.dtype == "float32" else case.dtype)
    print(f"{case.id}: value rel {rec['value_rel']:.2e} grad rel {rec['grad_rel']:.2e} [{rec['status']}]")
    assert rec["passed"], rec["reason"]


def _rand(n, c, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    z = (torch.randn(n, c, generator=g) * 4).to(DEVICE, dtype)
    y = torch.randint(0, c, (n,), generator=g).to(DEVICE)
    return z, y


def _eager_and_triton(run) -> dict:
    """``run()`` under each backend (the forward picks the path; backward follows it)."""
    out = {}
    for backend in ("eager", "triton"):
        with kernels.use_backend(backend):
            out[backend] = run()
    return out


@pytest.mark.parametrize("single_pass_max", ["default", "0", "1024"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("n,c", [(3, 700), (40, 7)])
@pytest.mark.parametrize("sparse", [True, False])
def test_rows_span_several_class_chunks(n, c, dtype, sparse, single_pass_max, monkeypatch):
    """Both forward kernels: chunked online softmax (two sweeps) and the single pass (whole row in a tile)."""
    from torch_impl.kernels import ops

    if single_pass_max != "default":
        monkeypatch.setenv("LOSSPARITY_SINGLE_PASS_MAX_COLS", single_pass_max)
    expect = "softmax_xent_fwd_single_pass" if c <= ops._single_pass_max_cols() else "softmax_xent_fwd"
    before = ops.LAUNCHES.get(expect, 0)
    z, y = _rand(n, c, dtype)
    target = y if sparse else torch.softmax(torch.randn(n, c, device=DEVICE), -1)
    make = (lambda: losses.SparseCategoricalCrossentropy(from_logits=True)) if sparse else (
        lambda: losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1))

    def run():
        x = z.clone().requires_grad_(True)
        v = make()(target, x, sample_weight=torch.rand(n, generator=torch.Generator().manual_seed(1)).to(DEVICE))
        v.backward()
        return v.detach().float(), x.grad.float()

    out = _eager_and_triton(run)
    assert ops.LAUNCHES.get(expect, 0) > before, f"{expect} did not run"
    print(f"{n}x{c} {dtype} sparse={sparse} single-pass cap {ops._single_pass_max_cols()}: ran {expect}; "
          f"max |value diff| {float((out['triton'][0] - out['eager'][0]).abs()):.1e}, "
          f"max |grad diff| {float((out['triton'][1] - out['eager'][1]).abs().max()):.1e}")
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else dict(rtol=2**-7, atol=1e-6)
    torch.testing.assert_close(out["triton"][0], out["eager"][0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out["triton"][1], out["eager"][1], **tol)


def test_backward_semantics_of_the_reduced_kernel():
    """Non-unit incoming gradient, retain_graph twice, inputs untouched, shared inputs."""
    z, y = _rand(6, 50, torch.float32)
    loss_fn = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=3)

    def run():
        x = z.clone().requires_grad_(True)
        snapshot = x.detach().clone()
        v = loss_fn(y, x)
        other = (x.exp() * 0.01).sum()  # another op that saved x
        total = 2.5 * v + other
        total.backward(retain_graph=True)
        first = x.grad.clone()
        x.grad = None
        (0.5 * v).backward()
        assert torch.equal(x.detach(), snapshot), "the loss wrote into its input"
        return first, x.grad.clone()

    grads = _eager_and_triton(run)
    for a, b in zip(grads["triton"], grads["eager"]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_double_backward_falls_back_to_differentiable_ops():
    z, y = _rand(4, 9, torch.float32)

    def run():
        x = z.clone().requires_grad_(True)
        v = losses.CategoricalCrossentropy(from_logits=True)(torch.eye(9, device=DEVICE)[y], x)
        (g,) = torch.autograd.grad(v, x, create_graph=True)
        (h,) = torch.autograd.grad((g * g).sum(), x)
        return g.detach(), h

    res = _eager_and_triton(run)
    for a, b in zip(res["triton"], res["eager"]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_soft_target_gradient():
    z, y = _rand(5, 8, torch.float32)

    def run():
        t = torch.softmax(torch.randn(5, 8, generator=torch.Generator().manual_seed(3)), -1).to(DEVICE).requires_grad_(True)
        losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2, reduction="sum")(t, z).backward()
        return t.grad

    out = _eager_and_triton(run)
    torch.testing.assert_close(out["triton"], out["eager"], rtol=1e-5, atol=1e-7)


def test_switch():
    assert kernels.get_backend() == "auto"
    with kernels.use_backend("eager"):
        assert not kernels.use_triton(torch.zeros(2, device=DEVICE))
    with pytest.raises(ValueError):
        kernels.set_backend("fast")
    assert not kernels.use_triton(torch.zeros(2, dtype=torch.float64, device=DEVICE))


@pytest.mark.parametrize("label", [5, -1])
def test_kernel_rejects_out_of_range_labels(label):
    from torch_impl import losses as L

    z, y = _rand(4, 5, torch.float32)
    y = y.clone()
    y[2] = label
    L.set_label_check(cuda_sync=True)
    try:
        with kernels.use_backend("triton"), pytest.raises(ValueError, match="outside the valid range"):
            L.SparseCategoricalCrossentropy(from_logits=True)(y, z)
        with kernels.use_backend("triton"), pytest.raises(ValueError, match="outside the valid range"):
            L.sparse_categorical_crossentropy(y, z, from_logits=True)
    finally:
        L.set_label_check(cuda_sync=False)


def test_label_flag_recovers_after_a_bad_label():
    """The label-check flag is kept for the process: a bad label must not poison the next good call."""
    from torch_impl import losses as L

    z, y = _rand(4, 5, torch.float32)
    bad = y.clone()
    bad[1] = 7
    L.set_label_check(cuda_sync=True)
    try:
        with kernels.use_backend("triton"):
            with pytest.raises(ValueError, match="outside the valid range"):
                L.SparseCategoricalCrossentropy(from_logits=True)(bad, z)
            good = L.SparseCategoricalCrossentropy(from_logits=True)(y, z)
        with kernels.use_backend("eager"):
            ref = L.SparseCategoricalCrossentropy(from_logits=True)(y, z)
    finally:
        L.set_label_check(cuda_sync=False)
    print(f"after a bad label: fused {float(good):.7f}, eager {float(ref):.7f}")
    torch.testing.assert_close(good, ref, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name,kw", [
    ("SparseCategoricalCrossentropy", dict(from_logits=True)),
    ("CategoricalCrossentropy", dict(from_logits=True, label_smoothing=0.1)),
    ("BinaryCrossentropy", dict(from_logits=True)),
    ("BinaryFocalCrossentropy", dict(from_logits=True, apply_class_balancing=True)),
    ("CategoricalFocalCrossentropy", dict(from_logits=True)),
])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "none"])
def test_forward_only_writes_no_gradient(name, kw, reduction):
    """Under no_grad (evaluation) the fused path writes no gradient buffer and gives the same loss."""
    from torch_impl.kernels import ops

    z, y = _rand(6, 7, torch.float32)
    target = y if name.startswith("Sparse") else (
        torch.nn.functional.one_hot(y, 7).float() if name.startswith("Categorical") else (z > 0).float())
    loss_fn = getattr(losses, name)(reduction=reduction, **kw)
    with kernels.use_backend("eager"):
        ref = loss_fn(target, z)
    seen = {}
    real = torch.empty_like

    def spy(t, *a, **k):  # the gradient buffer is the only logits-sized empty_like on this path
        seen["logits_sized"] = seen.get("logits_sized", 0) + (t.shape == z.shape)
        return real(t, *a, **k)

    with kernels.use_backend("triton"), torch.no_grad():
        before = sum(ops.LAUNCHES.values())
        torch.empty_like = spy
        try:
            out = loss_fn(target, z)
        finally:
            torch.empty_like = real
        assert sum(ops.LAUNCHES.values()) > before, "the kernels did not run"
    print(f"{name} {reduction}: no_grad fused {out.sum().item():.7f}, eager {ref.sum().item():.7f}, "
          f"logits-sized buffers {seen.get('logits_sized', 0)}")
    assert seen.get("logits_sized", 0) == 0, "a gradient buffer was written under no_grad"
    assert out.grad_fn is None
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)


_FOCAL_GRID = [(s, n, c, fl, a, g, r, sm) for s in ("default", "0") for n, c in ((5, 300), (33, 6))
               for fl in (True, False) for a, g in ((0.25, 2.0), ("per_class", 1.5))
               for r in ("sum_over_batch_size", "none") for sm in (0.0, 0.1)]


@pytest.mark.parametrize("single_pass_max,n,c,from_logits,alpha,gamma,reduction,smoothing",
                         every_nth(_FOCAL_GRID, 3, unpack=True, ids=["-".join(map(str, v)) for v in _FOCAL_GRID]))
def test_categorical_focal_single_pass_and_chunked(n, c, from_logits, alpha, gamma, reduction, smoothing,
                                                   single_pass_max, monkeypatch):
    """Both categorical focal kernels (one read of a row held in registers; three sweeps over chunks)."""
    from torch_impl.kernels import ops

    if single_pass_max != "default":
        monkeypatch.setenv("LOSSPARITY_SINGLE_PASS_MAX_COLS", single_pass_max)
    expect = "categorical_focal_single_pass" if c <= ops._single_pass_max_cols() else "categorical_focal"
    z, y = _rand(n, c, torch.float32, seed=4)
    x = z if from_logits else torch.softmax(z, -1)
    if not from_logits:
        x[0, 0] = 1.0  # one entry beyond the clip: its gradient is blocked
    target = torch.nn.functional.one_hot(y, c).float()
    a = torch.linspace(0.1, 0.9, c).tolist() if alpha == "per_class" else alpha
    loss_fn = losses.CategoricalFocalCrossentropy(alpha=a, gamma=gamma, from_logits=from_logits,
                                                  label_smoothing=smoothing, reduction=reduction)
    sw = torch.rand(n, generator=torch.Generator().manual_seed(2)).to(DEVICE)
    before = ops.LAUNCHES.get(expect, 0)

    def run():
        xx = x.clone().requires_grad_(True)
        v = loss_fn(target, xx, sample_weight=sw)
        v.sum().backward()
        return v.detach(), xx.grad

    out = _eager_and_triton(run)
    assert ops.LAUNCHES.get(expect, 0) > before, f"{expect} did not run"
    print(f"{n}x{c} logits={from_logits} alpha={alpha} gamma={gamma} {reduction}: ran {expect}; "
          f"max |value diff| {float((out['triton'][0] - out['eager'][0]).abs().max()):.1e}, "
          f"max |grad diff| {float((out['triton'][1] - out['eager'][1]).abs().max()):.1e}")
    torch.testing.assert_close(out["triton"][0], out["eager"][0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out["triton"][1], out["eager"][1], rtol=1e-5, atol=1e-6)


def test_small_float32_sparse_problems_use_the_builtin(monkeypatch):
    """On "auto", a small float32 sparse problem with one weight per row goes to F.cross_entropy (same numbers);
    every other configuration keeps the kernel."""
    from torch_impl import losses as L
    from torch_impl.kernels import ops

    monkeypatch.setattr(ops, "_BUILTIN_DEVICES", ("cuda", DEVICE))  # the rule as on CUDA, here
    z, y = _rand(12, 9, torch.float32, seed=6)

    def run(backend, weight, **kw):
        x = z.clone().requires_grad_(True)
        before = sum(ops.LAUNCHES.values())
        with kernels.use_backend(backend):
            v = ops.softmax_xent_reduced(x, kw.pop("labels", y), weight, True, **kw)
        v.backward()
        return v.detach(), x.grad, sum(ops.LAUNCHES.values()) > before

    for weight in (1.0 / 12, 1.0):
        v_auto, g_auto, launched = run("auto", weight)
        v_kernel, g_kernel, _ = run("triton", weight)
        print(f"weight {weight:.4f}: builtin {float(v_auto):.8f}, kernel {float(v_kernel):.8f}, "
              f"max |grad diff| {float((g_auto - g_kernel).abs().max()):.1e}")
        assert not launched, "expected F.cross_entropy, a kernel ran"
        torch.testing.assert_close(v_auto, v_kernel, rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(g_auto, g_kernel, rtol=1e-6, atol=1e-8)
    # everything else stays on the kernel
    assert run("auto", 0.5)[2], "a scale other than 1 or 1/N must use the kernel"
    assert run("auto", torch.rand(12).to(DEVICE))[2], "per-row weights must use the kernel"
    assert run("auto", 1.0 / 12, ignore=3)[2], "ignore_class must use the kernel"
    monkeypatch.setattr(ops, "BUILTIN_MAX_ELEMENTS", 12 * 9 - 1)
    assert run("auto", 1.0 / 12)[2], "a problem over the size limit must use the kernel"
    monkeypatch.setattr(ops, "BUILTIN_MAX_ELEMENTS", 1 << 20)
    L.set_label_check(cuda_sync=True)
    try:
        assert run("auto", 1.0 / 12)[2], "the synchronous label check must use the kernel"
    finally:
        L.set_label_check(cuda_sync=False)
    # F.cross_entropy's default ignore_index (-100) must not hide a bad label
    bad = y.clone()
    bad[0] = -100
    if DEVICE == "cpu":
        with pytest.raises((IndexError, RuntimeError, ValueError)):
            run("auto", 1.0 / 12, labels=bad)
        return
    # on CUDA the check is a device-side assertion, which ends the process's CUDA context: run it in another
    script = (
        "import torch\n"
        "from torch_impl.kernels import ops\n"
        "z = torch.randn(12, 9, device='cuda', requires_grad=True)\n"
        "y = torch.randint(0, 9, (12,), device='cuda'); y[0] = -100\n"
        "assert ops._builtin_reduction(z, y, None, 1.0 / 12, True, None) == 'mean'\n"
        "v = ops.softmax_xent_reduced(z, y, 1.0 / 12, True)\n"
        "torch.cuda.synchronize()\n"
        "print('NO ERROR', float(v))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[1])
    print(f"bad label on the builtin path: exit {proc.returncode}; {proc.stderr.strip().splitlines()[-1:]}")
    assert proc.returncode != 0 and "NO ERROR" not in proc.stdout and "assert" in proc.stderr.lower()


def test_align_of():
    from torch_impl.kernels.layout import align_of

    assert [align_of(v) for v in (1000, 4096, 32000, 999, 10, 0, 12)] == [8, 16, 16, 1, 2, 16, 4]
    assert align_of(1000, 1024) == 8 and align_of(1000, 1002) == 2 and align_of() == 16


@pytest.mark.parametrize("name,kw", [
    ("SparseCategoricalCrossentropy", dict(from_logits=True)),
    ("CategoricalCrossentropy", dict(from_logits=True, label_smoothing=0.1)),
    ("BinaryCrossentropy", dict(from_logits=True)),
    ("BinaryFocalCrossentropy", dict(from_logits=False, apply_class_balancing=True)),
    ("CategoricalFocalCrossentropy", dict(from_logits=True)),
])
@pytest.mark.parametrize("width,stride", [(40, 48), (40, 42), (39, 40), (24, 24)])
def test_row_strides_and_alignment(name, kw, width, stride):
    """Row views of a wider tensor (row stride != row length): the kernels' ALIGN hint must hold or fall back."""
    from torch_impl.kernels import ops

    g = torch.Generator().manual_seed(8)
    base = torch.randn(6, stride, generator=g).to(DEVICE)
    x = base[:, :width] if kw.get("from_logits", True) else torch.sigmoid(base)[:, :width]
    labels = torch.randint(0, width, (6,), generator=g).to(DEVICE)
    if name.startswith("Sparse"):
        target = labels
    elif name.startswith("Categorical"):
        target = torch.zeros(6, stride, device=DEVICE)[:, :width]
        target[torch.arange(6), labels] = 1.0
    else:
        target = (torch.rand(6, stride, generator=g) < 0.4).float().to(DEVICE)[:, :width]
    loss_fn = getattr(losses, name)(**kw)
    print(f"{name} width {width} row stride {stride}: ALIGN {ops._row_align(x, target, None, name.startswith('Sparse'))}")

    def run():
        xx = x.detach().requires_grad_(True)  # still the strided view of `base`
        assert xx.stride(0) == stride
        v = loss_fn(target, xx)
        v.backward()
        return v.detach(), xx.grad

    out = _eager_and_triton(run)
    torch.testing.assert_close(out["triton"][0], out["eager"][0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out["triton"][1], out["eager"][1], rtol=1e-5, atol=1e-6)


NONFINITE = {"nan": np.nan, "posinf": np.inf, "neginf": -np.inf, "zero_row": 0.0}


NONFINITE_LOSSES = [  # (name, config, single-pass cap): the softmax kernels single-pass and chunked (cap 0)
    *[(name, cfg, cap) for name, cfg in [
        ("categorical_crossentropy", {"from_logits": True}), ("sparse_categorical_crossentropy", {"from_logits": True}),
        ("sparse_categorical_crossentropy", {"from_logits": True, "ignore_class": 0}),
        ("categorical_focal_crossentropy", {}), ("categorical_focal_crossentropy", {"from_logits": True}),
    ] for cap in ("default", "0")],
    ("binary_crossentropy", {}, "default"), ("binary_crossentropy", {"from_logits": True}, "default"),
    ("binary_focal_crossentropy", {}, "default"),
    ("binary_focal_crossentropy", {"from_logits": True, "gamma": 0.0}, "default"),
    ("binary_focal_crossentropy", {"gamma": 1.5, "apply_class_balancing": True}, "default"),
]


_NONFINITE_GRID = [(name, cfg, cap, r, bad, dt) for name, cfg, cap in NONFINITE_LOSSES
                   for r in ("none", "sum_over_batch_size") for bad in NONFINITE for dt in ("float32", "bfloat16")]


@pytest.mark.parametrize("name,cfg,single_pass_max,reduction,bad,dtype",
                         every_nth(_NONFINITE_GRID, 3, unpack=True, ids=["-".join(map(str, v)) for v in _NONFINITE_GRID]))
def test_nonfinite_predictions_like_eager(name, cfg, single_pass_max, reduction, bad, dtype, monkeypatch):
    """NaN, +-inf and an all-zero probability row give the eager path's (Keras's, by test_nonfinite_keras)
    NaNs, infinities and zero gradients: a clip must not turn a NaN prediction into a finite loss."""
    if single_pass_max != "default":
        monkeypatch.setenv("LOSSPARITY_SINGLE_PASS_MAX_COLS", single_pass_max)
    rng = np.random.default_rng(3)
    n, c = 4, 3
    if name.startswith("sparse"):
        y, p = np.array([0, 1, 2, 0]), rng.dirichlet(np.ones(c), n)
    elif name.startswith("categorical"):
        y, p = np.eye(c)[[0, 1, 2, 0]], rng.dirichlet(np.ones(c), n)
    else:
        y, p = rng.integers(0, 2, (n, c)).astype(float), rng.uniform(0.05, 0.95, (n, c))
    if cfg.get("from_logits"):
        p = rng.normal(size=(n, c))
    if bad == "zero_row":
        p[1] = 0.0
    else:
        p[0, 0] = p[2, 1] = NONFINITE[bad]
    config = dict(cfg, reduction=reduction)
    kw = dict(dtype="float32", input_dtype=dtype, cotangent_seed=1, device=DEVICE)
    with kernels.use_backend("eager"):
        ref = loss_value_and_grad(name, config, y, p, None, **kw)
    from torch_impl.kernels import ops

    before = sum(ops.LAUNCHES.values())
    with kernels.use_backend("triton"):
        ours = loss_value_and_grad(name, config, y, p, None, **kw)
    assert sum(ops.LAUNCHES.values()) > before, "the kernels did not run"
    rec = compare(ours, ref, dtype)
    print(f"{name} {cfg} {bad} {reduction} {dtype}: eager {ref['value']} kernel {ours['value']} [{rec['status']}]")
    assert rec["passed"], rec["reason"]


def test_categorical_focal_clip_boundary_like_eager():
    """Softmax probabilities within an ulp of the clip bound 1 - 1e-7 are clipped (zero gradient) exactly where
    Keras clips them: the single-pass kernel renormalises by sum(p) as Keras does (taking that sum as 1
    misclassified 2.4% of such entries). The reference is the eager path on CPU, which the Keras grid pins:
    on CUDA, ``torch.softmax`` rounds differently from TensorFlow's ``exp(z - max) * (1 / sum)`` (about 40% of
    these probabilities differ by an ulp on an H100), so the CUDA eager path itself misplaces 0.6% of the
    boundary entries (printed); the kernel follows TensorFlow's form on every device."""
    g = torch.Generator().manual_seed(1)
    n = 5000
    z = torch.randn(n, 4, generator=g)
    z[:, 0] += 14 + 4 * torch.rand(n, generator=g)  # a dominant class: p near 1 - 1e-7
    y = torch.zeros_like(z)
    y[torch.arange(n), torch.randint(0, 4, (n,), generator=g)] = 1.0

    def run(device=DEVICE):
        x = z.to(device).clone().requires_grad_(True)
        losses.CategoricalFocalCrossentropy(from_logits=True, reduction="none")(y.to(device), x).sum().backward()
        return x.grad.cpu()

    out = _eager_and_triton(run)
    reference = out["eager"]
    if DEVICE != "cpu":
        with kernels.use_backend("eager"):
            reference = run("cpu")
    differ = int(((out["triton"] == 0) != (reference == 0)).sum())
    clipped = int((reference == 0).sum())
    print(f"entries clipped by the eager path on CPU: {clipped} of {z.numel()}; zero-gradient sets differ at {differ}"
          f" (the eager path on {DEVICE}: {int(((out['eager'] == 0) != (reference == 0)).sum())})")
    assert clipped > 500 and differ == 0
    torch.testing.assert_close(out["triton"], reference, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("early", ["0", "1"])
@pytest.mark.parametrize("c,single_pass_max", [(100, "default"), (700, "0")], ids=["single_pass", "chunked"])
@pytest.mark.parametrize("options", [{}, {"ignore_class": 3}], ids=str)
def test_early_label_loads_change_no_value(early, c, single_pass_max, options, monkeypatch):
    """``LOSSPARITY_EARLY_LABELS`` (the labels loaded before the row sweep, an A/B for the GPU) gives the eager
    path's values and gradients, weights and ignored rows included, and still rejects a bad label."""
    from torch_impl import losses as L
    from torch_impl.kernels import ops

    monkeypatch.setenv("LOSSPARITY_EARLY_LABELS", early)
    if single_pass_max != "default":
        monkeypatch.setenv("LOSSPARITY_SINGLE_PASS_MAX_COLS", single_pass_max)
    n = 9
    z, y = _rand(n, c, torch.float32, seed=11)
    y[2] = 3
    sw = torch.rand(n, generator=torch.Generator().manual_seed(4)).to(DEVICE)

    def run():
        x = z.clone().requires_grad_(True)
        v = L.SparseCategoricalCrossentropy(from_logits=True, **options)(y, x, sample_weight=sw)
        (v * 1.5).backward()
        return v.detach(), x.grad

    before = sum(ops.LAUNCHES.values())
    out = _eager_and_triton(run)
    assert sum(ops.LAUNCHES.values()) > before
    print(f"c={c} early={early} {options}: fused {float(out['triton'][0]):.7f}, eager {float(out['eager'][0]):.7f}")
    torch.testing.assert_close(out["triton"][0], out["eager"][0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out["triton"][1], out["eager"][1], rtol=1e-5, atol=1e-6)
    bad = y.clone()
    bad[4] = c + 2
    L.set_label_check(cuda_sync=True)
    try:
        with kernels.use_backend("triton"), pytest.raises(ValueError, match="outside the valid range"):
            L.SparseCategoricalCrossentropy(from_logits=True, **options)(bad, z)
    finally:
        L.set_label_check(cuda_sync=False)


@pytest.mark.parametrize("name,kw", [
    ("SparseCategoricalCrossentropy", dict(from_logits=True)),
    ("CategoricalCrossentropy", dict(from_logits=True)),
    ("BinaryCrossentropy", dict(from_logits=True)),
    ("BinaryFocalCrossentropy", dict(from_logits=True, apply_class_balancing=True)),
    ("CategoricalFocalCrossentropy", dict(from_logits=True)),
])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight"])
def test_sample_weight_that_requires_grad_gets_its_gradient(name, kw, reduction):
    """A sample weight that requires a gradient gets the eager path's gradient on the fused path too (the reduced
    kernels have no weight gradient: such a call now takes the unreduced kernel and reduces with torch ops; the
    weight's gradient was silently None)."""
    z, y = _rand(5, 4, torch.float32, seed=7)
    target = y if name.startswith("Sparse") else (
        torch.nn.functional.one_hot(y, 4).float() if name.startswith("Categorical") else (z > 0).float())
    loss_fn = getattr(losses, name)(reduction=reduction, **kw)
    grads = {}
    for backend in ("eager", "triton"):
        sw = torch.tensor([1.0, 2.0, 0.5, 1.0, 0.0], device=DEVICE, requires_grad=True)
        x = z.clone().requires_grad_(True)
        with kernels.use_backend(backend):
            loss_fn(target, x, sample_weight=sw).backward()
        grads[backend] = (sw.grad, x.grad)
    print(f"{name} {reduction}: sample_weight.grad eager {grads['eager'][0].tolist()}, fused "
          f"{None if grads['triton'][0] is None else grads['triton'][0].tolist()}")
    assert grads["triton"][0] is not None
    torch.testing.assert_close(grads["triton"][0], grads["eager"][0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grads["triton"][1], grads["eager"][1], rtol=1e-5, atol=1e-6)

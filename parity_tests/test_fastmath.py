"""The kernels' element-wise functions (``torch_impl.kernels.fastmath``) against float64, in ulps.

Runs on the GPU when there is one, else in Triton's interpreter (float32
NumPy arithmetic without fused multiply-adds: the GPU's FMAs only round less).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

triton = pytest.importorskip("triton")
import triton.language as tl  # noqa: E402

from torch_impl.kernels import fastmath  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


@triton.jit
def _apply(x_ptr, out_ptr, n, FN: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, mask=offs < n, other=0.5)
    if FN == "log1p":
        r = fastmath._log1p(x)
    elif FN == "log_unit":
        r = fastmath._log_unit(x)
    elif FN == "rcp":
        r = fastmath._rcp(x)
    else:
        r = fastmath._exp_ftz(x)
    tl.store(out_ptr + offs, r, mask=offs < n)


def _run(fn: str, x: np.ndarray) -> np.ndarray:
    xt = torch.from_numpy(x).to(DEVICE)
    out = torch.empty_like(xt)
    block = 1024
    _apply[(triton.cdiv(x.size, block),)](xt, out, x.size, FN=fn, BLOCK=block)
    return out.cpu().numpy()


def _ulps(got: np.ndarray, exact: np.ndarray) -> np.ndarray:
    return np.abs(got.astype(np.float64) - exact) / np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)


def _grid(lo: float, hi: float, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.uniform(lo, hi, n), np.exp(rng.uniform(np.log(lo), np.log(hi), n)),
                        1.0 - np.arange(1, 2000) * 2.0**-24, 2.0 ** -np.arange(1, 24), [lo, hi]])
    x = x.astype(np.float32)
    return x[(x >= np.float32(lo)) & (x <= np.float32(hi))]


@pytest.mark.parametrize("fn,lo,hi,max_ulps", [
    ("log1p", 1e-30, 1.0, 2.5),        # log(1 + e) for e = exp(-|x|) in (0, 1]
    ("log_unit", 1e-7, 1.0, 1.5),      # log of a probability clipped to [1e-7, 1 - 1e-7]
    ("rcp", 1e-7, 2.0, 2.5),           # 1 / (1 + e), 1 / o, 1 / (1 - o); div.approx: 2 ulp on a GPU
])
def test_accuracy_in_ulps(fn, lo, hi, max_ulps):
    x = _grid(lo, hi, 200_000, seed=len(fn))
    exact = {"log1p": np.log1p, "log_unit": np.log, "rcp": lambda v: 1.0 / v}[fn](x.astype(np.float64))
    got = _run(fn, x)
    nonzero = exact != 0
    ulps = _ulps(got[nonzero], exact[nonzero])
    print(f"{fn} on {x.size} float32 in [{lo:g}, {hi:g}]: max {ulps.max():.2f} ulp, mean {ulps.mean():.3f} ulp")
    assert ulps.max() <= max_ulps
    if fn == "log_unit":
        assert _run(fn, np.array([1.0], np.float32))[0] == 0.0  # log(1) exactly, as near 1 matters most


def test_exp_ftz_is_exp_above_the_denormals():
    x = np.concatenate([np.linspace(-87.0, 0.0, 100_001), [-1e-30, 0.0]]).astype(np.float32)
    got = _run("exp_ftz", x).astype(np.float64)
    rel = np.abs(got - np.exp(x.astype(np.float64))) / np.exp(x.astype(np.float64))
    print(f"exp_ftz on [-87, 0]: max relative error {rel.max():.2e}")
    assert rel.max() < 2e-5  # ex2.approx of x * log2(e) rounded: grows with |x|, as tl.exp's
    tiny = _run("exp_ftz", np.array([-88.0, -104.0, -120.0, -np.inf], np.float32))
    assert np.all(tiny == 0.0), tiny  # below 2**-126 flushed, on the GPU and in the interpreter alike
    special = _run("exp_ftz", np.array([np.nan, np.inf, -87.0], np.float32))
    assert np.isnan(special[0]) and special[1] == np.inf and special[2] > 0.0


def test_log_constants_are_the_logs_of_the_float32_clip_bounds():
    assert fastmath.LOG_EPS.value == float(np.log(np.float64(np.float32(1e-7))))
    assert fastmath.LOG_ONE_MINUS_EPS.value == float(np.log(np.float64(np.float32(1.0 - 1e-7))))

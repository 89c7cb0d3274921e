"""Compile the fused kernels for an H100 (sm_90) on this machine, no GPU needed, and report their resources.

    python -m benchmarks.ptxas_report

For each loss and shape of the CUDA benchmark, the launch the losses would
make on a GPU is captured (kernel, grid, arguments, launch configuration),
compiled with Triton's own ptxas for sm_90, and ``cuobjdump
--dump-resource-usage`` reports registers per thread, local memory (spills)
and shared memory. A spill or a register count that caps occupancy shows
here before any device time is spent; the same compile also catches kernels
that no longer build (the tests run them only in the interpreter).

``instr/elem`` counts the SASS instructions a thread issues per element of
its tile: the instructions inside the kernel's loops (all sweeps over the
row), or the whole kernel where it has none (the single-pass kernels),
divided by the elements one thread holds per iteration. On an H100 a kernel
that issues more than about 60 per element cannot keep up with memory for
2-byte inputs (132 SMs x 128 lanes x ~1.75 GHz / ~500 G elements/s); see
benchmarks/NOTES.md.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile

os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")

import torch  # noqa: E402
import triton  # noqa: E402
from triton.backends.compiler import GPUTarget  # noqa: E402
from triton.compiler import ASTSource  # noqa: E402

from torch_impl import kernels, losses  # noqa: E402
from torch_impl.kernels import binary as _bk  # noqa: E402
from torch_impl.kernels import categorical_focal as _cf  # noqa: E402
from torch_impl.kernels import ops  # noqa: E402
from torch_impl.kernels import softmax_xent as _sx  # noqa: E402
from torch_impl.kernels.layout import align_of  # noqa: E402

TARGET = GPUTarget("cuda", 90, 32)
#: a stack frame or local memory above this many bytes per thread counts as spilling (a few bytes of stack
#: appear under Triton's ptxas options where `ptxas -v` reports none, e.g. binary focal from bf16
#: probabilities with gamma 1.5: 8 bytes)
SPILL_BYTES = 64
_TYPES = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16", torch.int64: "i64",
          torch.int32: "i32"}


class _Capture:
    """Stands in for a JIT kernel: records ``kernel[grid](*args, **kwargs)`` instead of launching."""

    def __init__(self, fn, log):
        self.fn, self.log = fn, log

    def __getitem__(self, grid):
        def launch(*args, **kwargs):
            self.log.append((self.fn, grid, args, kwargs))
        return launch


def _signature(fn, args, kwargs):
    names = fn.arg_names
    sig, constexprs, attrs = {}, {}, {}
    bound = dict(zip(names, args))
    bound.update({k: v for k, v in kwargs.items() if k in names})
    for i, name in enumerate(names):
        if name not in bound:  # a constexpr with its default
            default = fn.params[i].default
            sig[name], constexprs[(i,)] = "constexpr", default
            continue
        v = bound[name]
        if isinstance(v, torch.Tensor):
            sig[name] = "*" + _TYPES[v.dtype]
            attrs[(i,)] = [["tt.divisibility", 16]]  # CUDA allocations are 256-byte aligned
        elif fn.params[i].is_constexpr:
            sig[name], constexprs[(i,)] = "constexpr", v
        elif isinstance(v, bool):
            sig[name] = "i1"
        elif isinstance(v, int):
            sig[name] = "i64" if abs(v) >= 2**31 else "i32"
            if v % 16 == 0 and v:
                attrs[(i,)] = [["tt.divisibility", 16]]
        else:
            sig[name] = "fp32"
    return sig, constexprs, attrs


def resources(fn, args, kwargs) -> dict:
    """Compile one captured launch for sm_90; registers, spills and shared memory from cuobjdump."""
    opts = {k: kwargs[k] for k in ("num_warps", "num_stages") if k in kwargs}
    sig, constexprs, attrs = _signature(fn, args, {k: v for k, v in kwargs.items() if k not in opts})
    compiled = triton.compile(ASTSource(fn, sig, constexprs, attrs), target=TARGET, options=opts)
    cuobjdump = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", "cuobjdump")
    with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
        f.write(compiled.asm["cubin"])
        f.flush()
        text = subprocess.run([cuobjdump, "--dump-resource-usage", f.name], capture_output=True, text=True).stdout
        sass = subprocess.run([cuobjdump, "-sass", f.name], capture_output=True, text=True).stdout
    fields = dict(re.findall(r"(REG|STACK|SHARED|LOCAL):(\d+)", text))
    ptx = compiled.asm["ptx"]
    vector_loads = len(re.findall(r"ld\.global\S*\.v[248]\.", ptx))
    warps = opts.get("num_warps", 4)
    block = [v for k, v in kwargs.items() if k in ("BLOCK_C", "BLOCK_D")]
    per_thread = kwargs.get("BLOCK_R", 1) * block[0] / (32 * warps) if block else None
    return {k.lower(): int(v) for k, v in fields.items()} | {
        "warps": warps, "vector_loads": vector_loads,
        "instr_per_elem": loop_instructions(sass) / per_thread if per_thread else None}


def loop_instructions(sass: str) -> int:
    """SASS instructions inside the kernel's loops (address ranges closed by a backward branch), or all of
    them when it has no loop."""
    code = []
    for line in sass.splitlines():
        m = re.match(r"\s+/\*([0-9a-f]{4,})\*/\s+(.*?);", line)
        if m:
            code.append((int(m.group(1), 16), m.group(2)))
    loops = []
    for addr, text in code:
        m = re.search(r"\bBRA\b.*?0x([0-9a-f]+)", text)
        if m and int(m.group(1), 16) < addr:
            loops.append((int(m.group(1), 16), addr))
    if not loops:
        return len(code)
    return sum(1 for addr, _ in code if any(lo <= addr <= hi for lo, hi in loops))


CASES = [  # (family, loss options, N, C, dtype, reduction, sample weight): the benchmark's shapes and the variants
    ("sparse", {}, 65536, 1000, torch.bfloat16, None, False),
    ("sparse", {}, 16384, 4096, torch.bfloat16, None, False),
    ("sparse", {}, 8192, 32000, torch.bfloat16, None, False),
    ("sparse", {}, 8192, 131072, torch.float32, None, False),
    ("sparse", {"ignore_class": 0}, 4096, 1000, torch.float16, None, True),
    ("sparse", {}, 4096, 32000, torch.bfloat16, "none", False),
    ("categorical", {}, 8192, 32000, torch.float32, None, False),
    ("categorical", {}, 8192, 32000, torch.bfloat16, None, False),
    ("categorical", {"label_smoothing": 0.1}, 4096, 131072, torch.float16, None, True),
    ("sparse", {"ignore_class": 0}, 4096, 131072, torch.bfloat16, None, True),
    ("categorical", {"label_smoothing": 0.1}, 4096, 1000, torch.bfloat16, None, True),
    ("categorical", {"label_smoothing": 0.1}, 4096, 32000, torch.bfloat16, "none", False),
    ("binary", {}, 16384, 4096, torch.float32, None, False),
    ("binary", {"from_logits": False, "label_smoothing": 0.1}, 4096, 1000, torch.bfloat16, "none", False),
    ("binary_focal", {}, 16384, 4096, torch.float32, None, False),
    ("binary_focal", {}, 16384, 4096, torch.bfloat16, None, False),
    ("binary", {}, 16384, 4096, torch.bfloat16, None, False),
    ("binary_focal", {"from_logits": False, "gamma": 1.5}, 4096, 1000, torch.bfloat16, None, True),
    ("categorical_focal", {}, 65536, 1000, torch.float32, None, False),
    ("categorical_focal", {}, 8192, 8192, torch.bfloat16, None, False),
    ("categorical_focal", {}, 8192, 32000, torch.float32, None, False),
    ("categorical_focal", {"from_logits": False, "alpha": "per_class", "gamma": 0.5}, 4096, 1000, torch.float32,
     "none", True),
    ("categorical_focal", {"from_logits": False, "alpha": "per_class"}, 1024, 32000, torch.bfloat16, None, False),
]


def _loss(family: str, options: dict, n_classes: int, reduction):
    kw = dict(options)
    kw.setdefault("from_logits", True)
    if kw.get("alpha") == "per_class":
        kw["alpha"] = [0.25] * n_classes
    if family == "binary_focal":
        kw.setdefault("apply_class_balancing", True)
    if reduction is not None:
        kw["reduction"] = reduction
    name = {"sparse": "SparseCategoricalCrossentropy", "categorical": "CategoricalCrossentropy",
            "binary": "BinaryCrossentropy", "binary_focal": "BinaryFocalCrossentropy",
            "categorical_focal": "CategoricalFocalCrossentropy"}[family]
    return getattr(losses, name)(**kw)


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.1f}"


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if a kernel fails to compile or spills")
    args = ap.parse_args(argv)
    log: list = []
    originals = {}
    for mod, name in ((_sx, "_softmax_xent_fwd"), (_sx, "_softmax_xent_fwd_single_pass"), (_sx, "_scale_unless_one"),
                      (_sx, "_softmax_xent_bwd"), (_bk, "_binary_xent"), (_cf, "_categorical_focal"),
                      (_cf, "_categorical_focal_single_pass")):
        originals[(mod, name)] = getattr(mod, name)
        setattr(mod, name, _Capture(getattr(mod, name), log))
    saved = ops._INTERPRETED, ops._check_label_flag, kernels.use_triton
    ops._INTERPRETED = False  # the GPU's launch configuration
    ops._check_label_flag = lambda *a: None
    kernels.use_triton = lambda t: True
    problems = []
    print(f"{'case':58s} {'kernel':32s} {'grid':>7s} warps  regs  local  shared  align  vector loads  instr/elem")
    try:
        for family, options, n, c, dtype, reduction, weighted in CASES:
            # the launch needs shapes and strides, not data: untouched pages cost no memory
            x = torch.empty((n, c), dtype=dtype).requires_grad_(True)
            y = torch.zeros(n, dtype=torch.int64) if family == "sparse" else torch.empty((n, c), dtype=dtype)
            sw = torch.ones(n) if weighted else None
            log.clear()
            try:
                out = _loss(family, options, c, reduction)(y, x, sample_weight=sw)
                out.sum().backward()
            except Exception:  # noqa: BLE001 - the stand-ins compute nothing; only the launches matter
                pass
            label = f"{family} {n}x{c} {str(dtype).replace('torch.', '')} {options or ''} {reduction or ''}"
            label += " weighted" if weighted else ""
            if not log:
                problems.append(f"{label}: no kernel launch captured")
            for fn, grid, fargs, kwargs in log:
                try:
                    r = resources(fn, fargs, kwargs)
                except Exception as e:  # noqa: BLE001
                    problems.append(f"{label} {fn.__name__}: does not compile: {type(e).__name__}: {str(e)[:300]}")
                    continue
                if r.get("local", 0) + r.get("stack", 0) > SPILL_BYTES:
                    problems.append(f"{label} {fn.__name__}: spills ({r})")
                wide = align_of(c) * x.element_size() >= 16  # rows 16-byte aligned: vector access expected
                if wide and fn.__name__ != "_scale_unless_one" and not r["vector_loads"]:
                    problems.append(f"{label} {fn.__name__}: rows are 16-byte aligned but no load is a vector "
                                    f"load (ALIGN passed: {kwargs.get('ALIGN', 'none')})")
                print(f"{label:58s} {fn.__name__:32s} {grid[0]:7d} {r['warps']:5d} {r.get('reg', -1):5d} "
                      f"{r.get('local', -1):6d} {r.get('shared', -1):7d} {kwargs.get('ALIGN', '-'):>6} "
                      f"{r['vector_loads']:13d}  {_fmt(r['instr_per_elem']):>10s}", flush=True)
    finally:
        for (mod, name), fn in originals.items():
            setattr(mod, name, fn)
        ops._INTERPRETED, ops._check_label_flag, kernels.use_triton = saved
    for p in problems:
        print("PROBLEM:", p)
    return 1 if (args.check and problems) else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""CPU forward+backward time of every torch_impl loss, beside the nearest torch
built-in and the same Keras loss on TensorFlow (tf.function, and XLA-compiled).

One run, interleaved: each round times every implementation once, in a fresh
order, and the report gives the median over rounds and ratios of medians (the
machine is noisy; interleaving keeps drifts out of the ratios). Every
implementation is checked for the same loss value before it is timed.

    python -m benchmarks.cpu_losses                 # (4096, 1000) float32, 30 rounds
    python -m benchmarks.cpu_losses --n 1024 --c 100 --rounds 10 --no-keras

Prints a Markdown table and writes JSON + Markdown under benchmarks/results/cpu/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import time
from pathlib import Path
from typing import Callable

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from torch_impl import losses  # noqa: E402

EPS = 1e-7


def _torch_cases(n: int, c: int, seed: int = 0):
    """name -> (torch_impl fn, built-in fn or None, inputs, keras (name, config, y_true key, y_pred key))."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, c, generator=g)
    y = torch.randint(0, c, (n,), generator=g)
    yo = F.one_hot(y, c).float()
    p = torch.softmax(z, -1)
    yb = (torch.rand(n, c, generator=g) < 0.5).float()
    pb = torch.sigmoid(z)
    data = dict(z=z, y=y, yo=yo, p=p, yb=yb, pb=pb)

    scce_l = losses.SparseCategoricalCrossentropy(from_logits=True)
    scce_p = losses.SparseCategoricalCrossentropy()
    cce_l = losses.CategoricalCrossentropy(from_logits=True)
    cce_p = losses.CategoricalCrossentropy()
    bce_l = losses.BinaryCrossentropy(from_logits=True)
    bce_p = losses.BinaryCrossentropy()
    bfce_l = losses.BinaryFocalCrossentropy(from_logits=True)
    cfce_l = losses.CategoricalFocalCrossentropy(from_logits=True)
    return data, {
        "SparseCategoricalCrossentropy(from_logits=True)": (
            lambda x: scce_l(y, x), lambda x: F.cross_entropy(x, y), "z",
            ("sparse_categorical_crossentropy", {"from_logits": True}, "y")),
        "SparseCategoricalCrossentropy()": (
            lambda x: scce_p(y, x), lambda x: F.nll_loss(torch.log(x.clamp(EPS, 1 - EPS)), y), "p",
            ("sparse_categorical_crossentropy", {}, "y")),
        "CategoricalCrossentropy(from_logits=True)": (
            lambda x: cce_l(yo, x), lambda x: F.cross_entropy(x, yo), "z",
            ("categorical_crossentropy", {"from_logits": True}, "yo")),
        "CategoricalCrossentropy()": (
            lambda x: cce_p(yo, x), None, "p", ("categorical_crossentropy", {}, "yo")),
        "BinaryCrossentropy(from_logits=True)": (
            lambda x: bce_l(yb, x), lambda x: F.binary_cross_entropy_with_logits(x, yb), "z",
            ("binary_crossentropy", {"from_logits": True}, "yb")),
        "BinaryCrossentropy()": (
            lambda x: bce_p(yb, x), lambda x: F.binary_cross_entropy(x.clamp(EPS, 1 - EPS), yb), "pb",
            ("binary_crossentropy", {}, "yb")),
        "BinaryFocalCrossentropy(from_logits=True)": (
            lambda x: bfce_l(yb, x), None, "z", ("binary_focal_crossentropy", {"from_logits": True}, "yb")),
        "CategoricalFocalCrossentropy(from_logits=True)": (
            lambda x: cfce_l(yo, x), None, "z", ("categorical_focal_crossentropy", {"from_logits": True}, "yo")),
    }


BUILTIN_NAMES = {
    "SparseCategoricalCrossentropy(from_logits=True)": "F.cross_entropy (int targets)",
    "SparseCategoricalCrossentropy()": "F.nll_loss(log(clamp(p)))",
    "CategoricalCrossentropy(from_logits=True)": "F.cross_entropy (prob targets)",
    "BinaryCrossentropy(from_logits=True)": "F.binary_cross_entropy_with_logits",
    "BinaryCrossentropy()": "F.binary_cross_entropy(clamp(p))",
}


def _torch_step(fn: Callable, x0: torch.Tensor) -> Callable[[], float]:
    x = x0.clone().requires_grad_(True)

    def step() -> float:
        x.grad = None
        out = fn(x)
        out.backward()
        return float(out)

    return step


def _keras_steps(name: str, config: dict, y_true: np.ndarray, y_pred: np.ndarray):
    """(tf.function step, XLA step) computing loss + gradient w.r.t. y_pred."""
    import tensorflow as tf

    from keras_impl.losses import make_loss

    loss = make_loss(name, **config)
    yt = tf.constant(y_true)
    xv = tf.Variable(y_pred)

    def body():
        with tf.GradientTape() as tape:
            v = loss(yt, xv)
        return v, tape.gradient(v, xv)

    graph = tf.function(body)
    xla = tf.function(body, jit_compile=True)

    def run(f):
        def step() -> float:
            v, g = f()
            _ = g.numpy()  # force completion
            return float(v)

        return step

    return run(graph), run(xla)


def measure(n: int, c: int, rounds: int, with_keras: bool, threads: int | None) -> dict:
    if threads:
        torch.set_num_threads(threads)
    data, cases = _torch_cases(n, c)
    impls: dict[tuple[str, str], Callable[[], float]] = {}
    for name, (ours, builtin, xkey, keras_spec) in cases.items():
        impls[(name, "torch_impl")] = _torch_step(ours, data[xkey])
        if builtin is not None:
            impls[(name, "torch built-in")] = _torch_step(builtin, data[xkey])
        if with_keras:
            kname, kcfg, ykey = keras_spec
            graph, xla = _keras_steps(kname, kcfg, data[ykey].numpy(), data[xkey].numpy())
            impls[(name, "Keras tf.function")] = graph
            impls[(name, "Keras XLA")] = xla

    # equal values first (float32 tolerance), then warm-up
    values: dict = {}
    for key, step in impls.items():
        for _ in range(3):
            values[key] = step()
    for (name, impl), v in values.items():
        ref = values[(name, "torch_impl")]
        if not np.isclose(v, ref, rtol=2e-5, atol=1e-6):
            raise AssertionError(f"{name}: {impl} computes {v}, torch_impl {ref}")

    times: dict = {k: [] for k in impls}
    keys = list(impls)
    rng = random.Random(0)
    for _ in range(rounds):
        rng.shuffle(keys)
        for k in keys:
            t0 = time.perf_counter()
            impls[k]()
            times[k].append(time.perf_counter() - t0)
    rows = []
    for name in cases:
        med = {impl: statistics.median(times[(nm, impl)]) for (nm, impl) in times if nm == name}
        rows.append(dict(
            loss=name,
            builtin=BUILTIN_NAMES.get(name, ""),
            ms={k: v * 1e3 for k, v in med.items()},
            vs_builtin=med["torch_impl"] / med["torch built-in"] if "torch built-in" in med else None,
            vs_keras=med["torch_impl"] / med["Keras tf.function"] if "Keras tf.function" in med else None,
            vs_keras_xla=med["torch_impl"] / med["Keras XLA"] if "Keras XLA" in med else None,
        ))
    return dict(
        shape=[n, c], dtype="float32", rounds=rounds, threads=torch.get_num_threads(),
        machine=platform.processor() or platform.machine(), cpu_count=os.cpu_count(),
        torch=torch.__version__, rows=rows,
        **({"tensorflow": __import__("tensorflow").__version__, "keras": __import__("keras").__version__}
           if with_keras else {}),
    )


def markdown(res: dict) -> str:
    def f(x):
        return "" if x is None else f"{x:.2f}"

    out = [
        f"Forward+backward, ({res['shape'][0]}, {res['shape'][1]}) float32, CPU ({res['cpu_count']} cores, "
        f"{res['threads']} torch threads), median of {res['rounds']} interleaved rounds; torch {res['torch']}"
        + (f", Keras {res['keras']} / TF {res['tensorflow']}" if "keras" in res else ""),
        "",
        "| loss | torch_impl ms | built-in | built-in ms | ratio | Keras tf.function ms | ratio | Keras XLA ms | ratio |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in res["rows"]:
        ms = r["ms"]
        out.append(
            f"| {r['loss']} | {ms['torch_impl']:.2f} | {r['builtin']} | {f(ms.get('torch built-in'))} | "
            f"{f(r['vs_builtin'])} | {f(ms.get('Keras tf.function'))} | {f(r['vs_keras'])} | "
            f"{f(ms.get('Keras XLA'))} | {f(r['vs_keras_xla'])} |"
        )
    out.append("")
    out.append("ratio = torch_impl time / that implementation's time (below 1: torch_impl is faster).")
    return "\n".join(out)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--c", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--no-keras", action="store_true")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "cpu"))
    args = ap.parse_args(argv)
    res = measure(args.n, args.c, args.rounds, not args.no_keras, args.threads)
    md = markdown(res)
    print(md)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "cpu_losses.json").write_text(json.dumps(res, indent=1))
    (out / "cpu_losses.md").write_text(md + "\n")
    return res


if __name__ == "__main__":
    main()

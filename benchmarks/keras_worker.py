"""Time Keras losses on one Keras backend (a subprocess: Keras picks its backend at import).

    KERAS_BACKEND=jax python -m benchmarks.keras_worker < spec.json > rows.jsonl

The spec: {"cases": [Case dicts with "reference"], "device": "cpu"|"cuda",
"quick": bool, "rtol": {"float32": r, "bfloat16": r}}. One JSON row per case
and implementation: Keras on TensorFlow in ``tf.function`` and XLA-compiled;
Keras on JAX under ``jax.jit`` (XLA); Keras on its torch backend (eager).
Each value is checked against the reference before it is timed.

Peak extra memory (MB beyond the inputs): on TensorFlow, its allocator's
peak over one step (``tf.config.experimental.get_memory_info``, which TF
keeps for the CPU too, but there without allocations under 256 KB nor
XLA's: given for ``tf.function`` on logits of 1 MB or more); on JAX, XLA's own plan for the compiled step
(temporary buffers plus outputs, from ``memory_analysis()``, on every
device); on the torch backend, the allocator's peak over one step on CUDA and
the profiler's allocation records on the CPU, as for the torch
implementations. With ``"peak_only"`` in the spec, rows carry only that
figure (nothing timed).
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

from benchmarks.cases import Case, bytes_moved, draw_inputs
from benchmarks.timing import median_ms, peak_mb

BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")


def inputs(case: Case):
    """The case's inputs (read-only; ``draw_inputs`` keeps the last shape's: a sweep visits its dtypes and modes
    in a row). Every framework copies them to its own tensors."""
    return draw_inputs(case.n, case.c, case.target_kind)


def _tensorflow(case: Case, device: str):
    import tensorflow as tf

    from keras_impl.losses import make_loss

    y, z = inputs(case)
    with tf.device("/GPU:0" if device == "cuda" else "/CPU:0"):
        zt = tf.cast(tf.constant(z), getattr(tf, case.dtype))
        yt = tf.constant(y) if case.target_kind == "index" else tf.cast(tf.constant(y), getattr(tf, case.dtype))
        xv = tf.Variable(zt)
    loss = make_loss(case.loss, **case.config)

    def fwd():
        return loss(yt, xv)

    def fwd_bwd():
        with tf.GradientTape() as tape:
            v = loss(yt, xv)
        return v, tape.gradient(v, xv)

    body = fwd if case.mode == "forward" else fwd_bwd
    tf_device = "GPU:0" if device == "cuda" else "CPU:0"
    out = {}
    for name, fn in (("Keras TF tf.function", tf.function(body)), ("Keras TF XLA", tf.function(body, jit_compile=True))):
        def step(fn=fn):
            r = fn()
            return [t.numpy() for t in (r if isinstance(r, tuple) else (r,))]

        def peak(step=step, xla=name.endswith("XLA")):
            """TensorFlow's allocator peak over one step. On the CPU its statistics leave out allocations
            under 256 KB (measured, TF 2.21), so there the figure is given only where the logits take 1 MB
            or more (what it misses is then a few row-sized vectors), and not for XLA, whose CPU runtime
            allocates its buffers itself (a bfloat16 forward+backward showed 0 MB)."""
            if device != "cuda" and (xla or zt.shape.num_elements() * zt.dtype.size < 2**20):
                return None
            tf.config.experimental.reset_memory_stats(tf_device)
            before = tf.config.experimental.get_memory_info(tf_device)["current"]
            step()
            return (tf.config.experimental.get_memory_info(tf_device)["peak"] - before) / 2**20

        out[name] = (lambda step=step: float(step()[0]), step, peak)
    return out


def _jax(case: Case, device: str):
    import jax
    import jax.numpy as jnp
    import keras

    y, z = inputs(case)
    dev = jax.devices("gpu" if device == "cuda" else "cpu")[0]
    zt = jax.device_put(jnp.asarray(z).astype(getattr(jnp, case.dtype)), dev)
    yt = jax.device_put(jnp.asarray(y) if case.target_kind == "index" else jnp.asarray(y).astype(zt.dtype), dev)
    loss = keras.losses.get({"class_name": _class_name(case.loss), "config": case.config})

    def f(x):
        return loss(yt, x)

    fn = jax.jit(f) if case.mode == "forward" else jax.jit(jax.value_and_grad(f))
    compiled = fn.lower(zt).compile()  # compiled once: timed below, and its memory plan read

    def step():
        r = compiled(zt)
        jax.block_until_ready(r)
        return r

    def value():
        r = step()
        return float(r if case.mode == "forward" else r[0])

    def peak():
        """XLA's plan: the temporaries and outputs of the compiled step (its inputs excluded)."""
        stats = compiled.memory_analysis()
        if stats is None:
            return None
        return (stats.temp_size_in_bytes + stats.output_size_in_bytes - stats.alias_size_in_bytes) / 2**20

    return {"Keras JAX jit": (value, step, peak)}


def _torch(case: Case, device: str):
    import keras
    import torch

    from benchmarks.torch_impls import to_torch

    yt, zt = to_torch(case, device)  # the torch rows' tensors (copies of the draw)
    loss = keras.losses.get({"class_name": _class_name(case.loss), "config": case.config})
    leaf = zt.requires_grad_(case.mode == "forward_backward")

    def step():
        if case.mode == "forward":
            with torch.no_grad():
                v = loss(yt, leaf)
        else:
            leaf.grad = None
            v = loss(yt, leaf)
            v.backward()
        if device == "cuda":
            torch.cuda.synchronize()
        return v

    def peak():
        """One step from a leaf without a gradient (freeing the last one inside the step would hide one
        gradient's worth): the allocator's peak on CUDA, the profiler's records on the CPU."""
        leaf.grad = None
        return peak_mb(step, device)

    return {"Keras torch backend": (lambda: float(step().detach()), step, peak)}


def _class_name(loss: str) -> str:
    return "".join(p.capitalize() for p in loss.split("_"))


def main() -> None:
    spec = json.load(sys.stdin)
    device = spec["device"]
    build = {"tensorflow": _tensorflow, "jax": _jax, "torch": _torch}[BACKEND]
    for cd in spec["cases"]:
        ref = cd.pop("reference")
        case = Case(**cd)
        rtol = spec["rtol"][case.dtype]
        try:
            impls = build(case, device)
        except Exception as e:  # noqa: BLE001
            print(json.dumps(dict(cd, case=case.id, impl=f"Keras {BACKEND}", framework=f"keras-{BACKEND}",
                                  error=f"{type(e).__name__}: {str(e)[:300]}")), flush=True)
            continue
        for name, (value, step, peak) in impls.items():
            row = dict(cd, case=case.id, impl=name, framework=f"keras-{BACKEND}", reference=ref)
            if spec.get("peak_only"):  # only the memory figure, for rows timed in an earlier run
                try:
                    step()  # traced, compiled and warm, as after timing
                    row.update(peak_only=True, peak_extra_mb=peak())
                except Exception as e:  # noqa: BLE001
                    row["error"] = f"{type(e).__name__}: {str(e)[:300]}"
                print(json.dumps(row), flush=True)
                continue
            try:
                v = value()
                row["value"] = v
                if not np.isclose(v, ref, rtol=rtol, atol=1e-6):
                    row["error"] = f"value {v:.8g} differs from the reference {ref:.8g} (rtol {rtol:g}); not timed"
                else:
                    ms = median_ms(step, min_time=0.1 if spec["quick"] else 0.5)
                    gbs = bytes_moved(case) / (ms * 1e-3) / 1e9
                    row.update(ms=ms, gbs=gbs, samples_per_s=case.n / (ms * 1e-3), peak_extra_mb=peak())
            except Exception as e:  # noqa: BLE001
                row["error"] = f"{type(e).__name__}: {str(e)[:300]}"
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()

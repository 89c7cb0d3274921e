"""Blind contract audit of ``torch_impl``'s public loss API against real Keras 3.15.1 (TensorFlow backend).

Written from the public contract only (``DESIGN.md``'s "Public API of torch_impl", the README's tables and
the docstrings), as an outside test suite would probe a drop-in replacement for ``keras.losses``, without
reading the implementation:

* every name DESIGN.md promises is importable from the path it gives, with Keras's argument names, order and
  defaults (checked against Keras's own signatures);
* input kinds: lists, NumPy arrays of every common dtype, torch tensors of every integer dtype for sparse labels,
  float-typed sparse labels, ``(N,)`` / ``(N, 1)`` labels, predictions of rank 1 to 4, non-contiguous and
  ``channels_last`` tensors, ``requires_grad`` labels (their gradient too), empty batches, a single sample;
* sample weights of every shape and kind, ``class_weight`` dicts (missing / extra / float / NumPy keys,
  scikit-learn's ``'balanced'`` output passed on as ``dict(zip(classes, weights))``), Keras's rounding of labels;
* every reduction Keras accepts and its error for the others;
* a seeded random grid (hypothesis) over losses x ``from_logits`` x ``label_smoothing`` x ``axis`` x rank x
  reduction x sample weights x ``ignore_class`` x focal parameters, with probabilities exactly 0 and 1 (the
  clip), values and gradients against ``tf.GradientTape`` and identical zero-gradient sets;
* float16 / bfloat16 predictions, ``get_config`` / ``from_config`` / ``serialize`` with Keras's dicts;
* Keras-faithful optimizer steps (Adam, AdamW, SGD, RMSprop with Keras's defaults and options) over 5 steps with
  the gradients of a real loss, and a ``fit`` run against ``model.fit``.

The oracle for a class axis other than the last is Keras on the inputs with that axis moved last (DESIGN.md:
label smoothing and per-class ``alpha`` along ``axis`` follow the upstream fix; sparse crossentropy along another
axis is what the TensorFlow backend cannot do). Tolerances (DESIGN.md, "Parity standards"): float64 values
1e-12 and gradients 1e-10 relative (norm-wise); float32 1e-6 relative.
"""

from __future__ import annotations

import inspect
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402  (torch and triton before tensorflow)

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

try:
    import triton  # noqa: F401,E402

    del triton  # imported for its LLVM load order only
except ImportError:  # pragma: no cover
    pass

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from torch_impl import losses as L  # noqa: E402
from torch_impl.class_weight import class_weight_to_sample_weight, compute_class_weight  # noqa: E402

pytestmark = pytest.mark.keras

CLASSES = {
    "CategoricalCrossentropy": "categorical_crossentropy",
    "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
    "BinaryCrossentropy": "binary_crossentropy",
    "BinaryFocalCrossentropy": "binary_focal_crossentropy",
    "CategoricalFocalCrossentropy": "categorical_focal_crossentropy",
}
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]
F64_VAL, F64_GRAD, F32_REL = 1e-12, 1e-10, 1e-6
TINY64 = np.finfo(np.float64).tiny


def rel(a, b) -> float:
    """Norm-wise relative error: max |a - b| over max |b| (absolute when b is all zero)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    if a.size == 0:
        return 0.0
    assert np.array_equal(np.isfinite(a), np.isfinite(b)), (a, b)
    fa, fb = a[np.isfinite(b)], b[np.isfinite(b)]
    if fa.size == 0:
        return 0.0
    return float(np.max(np.abs(fa - fb)) / max(float(np.max(np.abs(fb))), 1e-300))


def zero_set(g) -> np.ndarray:
    return np.abs(np.asarray(g, dtype=np.float64)) < TINY64  # TensorFlow flushes subnormals on CPU


# ----------------------------------------------------------------------------------------------------------
# 1. the names DESIGN.md promises, with Keras's arguments and defaults
# ----------------------------------------------------------------------------------------------------------


def test_every_design_name_is_importable_from_its_path():
    import importlib

    import torch_impl
    from torch_impl import optim

    for mod in ("class_weight", "diagnose", "fit", "kernels", "nn", "optim", "reduction", "losses"):
        assert importlib.import_module(f"torch_impl.{mod}") is getattr(torch_impl, mod), mod

    for cls in CLASSES:
        assert issubclass(getattr(L, cls), torch.nn.Module), cls
    for fn in CLASSES.values():
        assert callable(getattr(L, fn)), fn
    assert callable(class_weight_to_sample_weight) and callable(compute_class_weight)
    for opt in ("Adam", "AdamW", "SGD", "RMSprop"):
        assert issubclass(getattr(optim, opt), torch.optim.Optimizer), opt
    assert torch_impl.losses is L
    for mod in ("keras_impl.losses", "keras_impl.trainers", "scenarios.catalogue", "scenarios.data", "scenarios.report"):
        importlib.import_module(mod)
    import scenarios.cli

    assert callable(scenarios.cli.main)
    print("all DESIGN.md names import")


def _params(obj):
    return [p for p in inspect.signature(obj).parameters.values() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]


@pytest.mark.parametrize("name", list(CLASSES) + list(CLASSES.values()))
def test_keras_arguments_order_and_defaults(name):
    """Each of Keras's arguments is accepted, in Keras's order (positional calls port), with Keras's default."""
    kp = _params(getattr(keras.losses, name))
    tp = {p.name: p for p in _params(getattr(L, name))}
    torder = [p.name for p in _params(getattr(L, name))]
    for i, p in enumerate(kp):
        assert p.name in tp, (name, p.name)
        assert torder[i] == p.name, (name, torder, [q.name for q in kp])
        assert tp[p.name].default == p.default or (p.default is None and tp[p.name].default is None), (
            name, p.name, tp[p.name].default, p.default)
    # the names: Keras's default `name`, `reduction` attribute
    if name in CLASSES:
        k, t = getattr(keras.losses, name)(), getattr(L, name)()
        assert t.name == k.name and t.reduction == k.reduction, (t.name, k.name)
    print(name, "arguments:", [p.name for p in kp])


@pytest.mark.parametrize("name", ["Adam", "AdamW", "SGD", "RMSprop"])
def test_optimizer_defaults_are_keras(name):
    kp = {p.name: p.default for p in _params(getattr(keras.optimizers, name))}
    from torch_impl import optim

    tp = {p.name: p.default for p in _params(getattr(optim, name))}
    shared = [k for k in tp if k in kp]
    assert {"learning_rate"} <= set(shared), shared
    for k in shared:
        assert tp[k] == kp[k], (name, k, tp[k], kp[k])
    # the generic Keras options are accepted as keywords
    p = torch.nn.Parameter(torch.zeros(3))
    getattr(optim, name)([p], weight_decay=0.01, clipnorm=1.0, name="x") if name != "AdamW" else None
    getattr(optim, name)([p], clipvalue=0.5, global_clipnorm=None, use_ema=False, ema_momentum=0.99)
    print(name, "defaults", {k: tp[k] for k in shared})


# ----------------------------------------------------------------------------------------------------------
# 2. reductions
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["auto", "SUM", "Sum_Over_Batch_Size", "mean ", "batchmean", "", 0])
def test_bad_reductions_raise_keras_error(bad):
    with pytest.raises(ValueError) as kerr:
        keras.losses.BinaryCrossentropy(reduction=bad)
    for cls in CLASSES:
        with pytest.raises(ValueError, match="Invalid value for argument `reduction`") as terr:
            getattr(L, cls)(reduction=bad)
        # Keras's message ends "Received: reduction=<value>" (no quotes)
        assert str(terr.value).endswith(f"Received: reduction={bad}"), (str(terr.value), str(kerr.value))
    print("bad reduction", repr(bad), "->", str(terr.value)[-40:])


# ----------------------------------------------------------------------------------------------------------
# 3. the oracle: Keras on the same numbers, tf.GradientTape for the gradients
# ----------------------------------------------------------------------------------------------------------


def _moveaxis_tf(x, axis):
    r = len(x.shape)
    axis = axis % r
    perm = [i for i in range(r) if i != axis] + [axis]
    return tf.transpose(x, perm)


def _torch_backend_sparse_from_probabilities(ignore_class):
    """keras/src/backend/torch/nn.py sparse_categorical_crossentropy (from probabilities): p / sum(p), clip,
    log, nll, with losses.py's ignore_class handling, written in TensorFlow ops (class axis last)."""

    def fn(y_true, y_pred):
        y_true = tf.cast(y_true, tf.int64)
        if len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] == 1:
            y_true = tf.squeeze(y_true, -1)
        valid = None
        if ignore_class is not None:
            valid = tf.not_equal(y_true, ignore_class)
            y_true = tf.where(valid, y_true, 0)
            y_pred = tf.where(valid[..., None], y_pred, tf.zeros_like(y_pred))
        p = y_pred / tf.reduce_sum(y_pred, -1, keepdims=True)
        p = tf.clip_by_value(p, 1e-7, 1 - 1e-7)
        res = -tf.reduce_sum(tf.one_hot(y_true, y_pred.shape[-1], dtype=p.dtype) * tf.math.log(p), -1)
        if valid is not None:
            res = tf.where(valid, res, tf.zeros_like(res))
            keras.src.backend.set_keras_mask(res, mask=valid)
        return res

    return fn


def keras_case(name, kw, yt, yp, sw=None, dtype="float64", functional=False, watch_true=False, oracle_moveaxis=False):
    """Keras's value and gradients (w.r.t. y_pred and, optionally, y_true)."""
    kw = dict(kw)
    yp_t = tf.constant(np.asarray(yp), dtype=dtype)
    sparse = name.startswith("Sparse")
    yt_t = tf.constant(np.asarray(yt)) if sparse else tf.constant(np.asarray(yt), dtype=dtype)
    torch_backend = (sparse and oracle_moveaxis and not kw.get("from_logits", False)
                     and kw.get("axis", -1) not in (-1, len(yp_t.shape) - 1))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(yp_t)
        if watch_true:
            tape.watch(yt_t)
        p, t = yp_t, yt_t
        if oracle_moveaxis and kw.get("axis", -1) not in (-1, len(yp_t.shape) - 1):
            p = _moveaxis_tf(p, kw["axis"])
            if not sparse:
                t = _moveaxis_tf(t, kw["axis"])
            kw["axis"] = -1
        if torch_backend:  # p was moved; Keras's torch backend (DESIGN.md) normalises, clips, takes nll
            fn = _torch_backend_sparse_from_probabilities(kw.get("ignore_class"))
            val = fn(t, p) if functional else keras.src.losses.losses.LossFunctionWrapper(
                fn, reduction=kw.get("reduction", "sum_over_batch_size"), dtype=dtype)(t, p, sample_weight=sw)
        elif functional:
            if sparse and kw.get("axis", -1) == -1:
                kw.pop("axis", None)
            val = getattr(keras.losses, CLASSES[name])(t, p, **kw)
        else:
            val = getattr(keras.losses, name)(dtype=dtype, **kw)(t, p, sample_weight=sw)
        s = tf.reduce_sum(val * tf.cast(tf.reshape(tf.range(1, tf.size(val) + 1), tf.shape(val)), val.dtype))
    g = tape.gradient(s, yp_t)
    gt = tape.gradient(s, yt_t) if watch_true else None
    g = np.zeros(yp_t.shape) if g is None else g.numpy()
    return val.numpy(), g, (None if gt is None else gt.numpy())


def torch_case(name, kw, yt, yp, sw=None, functional=False):
    yp = yp.detach().clone().requires_grad_(True)
    if functional:
        val = getattr(L, CLASSES[name])(yt, yp, **kw)
    else:
        val = getattr(L, name)(**kw)(yt, yp, sample_weight=sw)
    s = (val * torch.arange(1, val.numel() + 1, dtype=val.dtype).reshape(val.shape)).sum()
    (gp,) = torch.autograd.grad(s, [yp], allow_unused=True)
    return val, (torch.zeros_like(yp) if gp is None else gp), None


def torch_case_with_true_grad(name, kw, yt, yp, sw=None, functional=False):
    yp = yp.detach().clone().requires_grad_(True)
    yt = yt.detach().clone().requires_grad_(True)
    val = getattr(L, CLASSES[name])(yt, yp, **kw) if functional else getattr(L, name)(**kw)(yt, yp, sample_weight=sw)
    s = (val * torch.arange(1, val.numel() + 1, dtype=val.dtype).reshape(val.shape)).sum()
    gp, gt = torch.autograd.grad(s, [yp, yt], allow_unused=True)
    gp = torch.zeros_like(yp) if gp is None else gp
    gt = torch.zeros_like(yt) if gt is None else gt
    return val, gp, gt


def make_data(name, shape, axis, from_logits, seed, ignore_class=None, saturate=True, dtype=np.float64):
    """y_true / y_pred of `shape` with the class axis `axis`; probabilities include exact 0 and 1 entries."""
    rng = np.random.default_rng(seed)
    c = shape[axis]
    if name.startswith("Binary"):
        yt = rng.integers(0, 2, shape).astype(dtype)
        if from_logits:
            yp = rng.normal(0, 3, shape)
        else:
            yp = rng.uniform(0, 1, shape)
            if saturate:
                m = rng.uniform(size=shape)
                yp[m < 0.1] = 0.0
                yp[m > 0.9] = 1.0
        return yt, yp.astype(dtype)
    moved = list(shape)
    moved.append(moved.pop(axis % len(shape)))  # class axis last
    if from_logits:
        yp = rng.normal(0, 3, moved)
    else:
        yp = rng.dirichlet(np.ones(c), moved[:-1]) if moved[:-1] else rng.dirichlet(np.ones(c), 1)[0]
        yp = yp.reshape(moved)
        if saturate and yp.size:
            flat = yp.reshape(-1, c)
            for i in range(0, flat.shape[0], 3):  # a one-hot row: exact 0s and an exact 1
                flat[i] = np.eye(c)[rng.integers(c)]
            yp = flat.reshape(moved)
    labels = rng.integers(0, c, moved[:-1]) if moved[:-1] else np.asarray(rng.integers(0, c))
    if ignore_class is not None and labels.size:
        labels = labels.copy()
        labels.reshape(-1)[:: 2] = ignore_class
    yp = np.moveaxis(yp, -1, axis % len(shape)) if len(shape) else yp
    if name.startswith("Sparse"):
        return labels, yp.astype(dtype)
    yt = np.eye(c)[np.where(labels == ignore_class, 0, labels) if ignore_class is not None else labels]
    return np.moveaxis(yt, -1, axis % len(shape)).astype(dtype), yp.astype(dtype)


# ----------------------------------------------------------------------------------------------------------
# 4. the random grid
# ----------------------------------------------------------------------------------------------------------


@st.composite
def grid_case(draw):
    name = draw(st.sampled_from(list(CLASSES)))
    rank = draw(st.sampled_from([1, 2, 2, 3, 4]))
    n = draw(st.sampled_from([0, 1, 2, 5])) if rank > 1 else None
    c = draw(st.sampled_from([1, 2, 3, 4])) if not name.startswith("Sparse") else draw(st.sampled_from([2, 3, 5]))
    if name.startswith("Binary"):
        c = draw(st.sampled_from([1, 3]))
    shape = {1: (c,), 2: (n, c), 3: (n, 3, c), 4: (n, 2, 3, c)}[rank]
    axis = -1
    if rank >= 3 and draw(st.booleans()):
        axis = 1
        shape = (shape[0], c) + shape[1:-1]  # channels first
    from_logits = draw(st.booleans())
    kw = {"from_logits": from_logits}
    if axis != -1 or draw(st.booleans()):
        kw["axis"] = axis
    ignore_class = None
    if name.startswith("Sparse"):
        ignore_class = draw(st.sampled_from([None, None, 0, -1, 255]))
        if ignore_class is not None:
            kw["ignore_class"] = ignore_class
    else:
        kw["label_smoothing"] = draw(st.sampled_from([0.0, 0.0, 0.1, 0.37, 1.0]))
    if "Focal" in name:
        kw["gamma"] = draw(st.sampled_from([0.0, 1.0, 1.5, 2.0, 3.0]))
        if name.startswith("Binary"):
            kw["alpha"] = draw(st.sampled_from([0.25, 0.5, 0.9]))
            kw["apply_class_balancing"] = draw(st.booleans())
        else:
            kw["alpha"] = draw(st.sampled_from(["float", "per_class"]))
    reduction = draw(st.sampled_from(REDUCTIONS))
    sw_kind = draw(st.sampled_from(["none", "int", "float", "N", "N1", "full", "list"]))
    functional = draw(st.booleans()) and sw_kind == "none"
    seed = draw(st.integers(0, 2**31 - 1))
    return name, shape, axis, kw, reduction, sw_kind, functional, ignore_class, seed


def _loss_shape(name, shape, axis):
    if len(shape) <= 1:
        return ()
    s = list(shape)
    s.pop(axis % len(shape))
    return tuple(s)


def run_grid_case(case, dtype="float64"):
    name, shape, axis, kw, reduction, sw_kind, functional, ignore_class, seed = case
    kw = dict(kw)
    rng = np.random.default_rng(seed + 1)
    c = shape[axis]
    if kw.get("alpha") == "float":
        kw["alpha"] = 0.4
    elif kw.get("alpha") == "per_class":
        kw["alpha"] = rng.uniform(0.1, 1.0, c)  # a float64 array keeps float64 (README)
    if len(shape) == 1 and name.startswith("Sparse"):
        shape = (1, c)
    ic = ignore_class if ignore_class not in (255,) else 255
    yt, yp = make_data(name, shape, axis, kw["from_logits"], seed, ignore_class=ic, dtype=np.float64)
    ls = _loss_shape(name, shape, axis)
    sw = {"none": None, "int": 3, "float": 0.7}.get(sw_kind)
    if sw_kind == "N" and len(ls) >= 1:
        sw = rng.uniform(0, 2, ls[:1])
    elif sw_kind == "N1" and len(ls) >= 1:
        sw = rng.uniform(0, 2, ls[:1] + (1,))
    elif sw_kind == "full":
        sw = rng.uniform(0, 2, ls)
    elif sw_kind == "list" and len(ls) >= 1:
        sw = rng.uniform(0, 2, ls[:1]).tolist()
    kkw = dict(kw)
    tkw = dict(kw)
    if not functional:
        kkw["reduction"] = tkw["reduction"] = reduction
    if isinstance(kw.get("alpha"), np.ndarray):
        tkw["alpha"] = torch.tensor(kw["alpha"])
    moved = axis != -1 and (name.startswith("Sparse") or kw.get("label_smoothing", 0) or isinstance(kw.get("alpha"), np.ndarray))
    tdt = getattr(torch, dtype)
    ytt = torch.tensor(yt) if name.startswith("Sparse") else torch.tensor(yt, dtype=tdt)
    tsw = torch.tensor(sw, dtype=tdt) if isinstance(sw, np.ndarray) else sw
    try:
        kv, kg, _ = keras_case(name, kkw, yt, yp, sw=None if sw is None else np.asarray(sw), dtype=dtype,
                               functional=functional, oracle_moveaxis=moved)
    except (tf.errors.InvalidArgumentError, ValueError) as e:  # e.g. an (N,) weight on (N, T) losses, N != T
        with pytest.raises((ValueError, RuntimeError)):
            torch_case(name, tkw, ytt, torch.tensor(yp, dtype=tdt), sw=tsw, functional=functional)
        return 0.0, 0.0, 0, f"both raise ({type(e).__name__})"
    tv, tg, _ = torch_case(name, tkw, ytt, torch.tensor(yp, dtype=tdt), sw=tsw, functional=functional)
    # the loss's dtype is the inputs', except Keras's functional categorical focal with a float64 alpha array on
    # float32 inputs: ops.multiply promotes it to float64 (README row "per-class focal `alpha`")
    assert str(tv.dtype).replace("torch.", "") == str(kv.dtype), (tv.dtype, kv.dtype)
    assert tv.dtype == tdt or (functional and name == "CategoricalFocalCrossentropy" and tv.dtype == torch.float64)
    ev, eg = rel(tv.detach().numpy(), kv), rel(tg.numpy(), kg)
    zk, zt = zero_set(kg), zero_set(tg.numpy())
    return ev, eg, int((zk != zt).sum()), kv


def _check_grid(case):
    ev, eg, nz, kv = run_grid_case(case)
    print(case[0], case[1], case[3], case[4], case[5], "func" if case[6] else "class",
          kv if isinstance(kv, str) else f"value {ev:.1e} grad {eg:.1e} zero-set mismatches {nz}")
    assert ev <= F64_VAL and eg <= F64_GRAD and nz == 0, (case, ev, eg, nz)


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(grid_case())
def test_random_grid_float64_values_and_gradients(case):
    _check_grid(case)


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, derandomize=False, suppress_health_check=list(HealthCheck))
@given(grid_case())
def test_random_grid_float64_wide(case):
    _check_grid(case)


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(grid_case())
def test_random_grid_float32(case):
    name, shape, axis, kw, reduction, sw_kind, functional, ignore_class, seed = case
    ev, eg, nz, kv = run_grid_case(case, dtype="float32")
    print(name, shape, kw, reduction, sw_kind, f"float32 value {ev:.1e} grad {eg:.1e}")
    # float32: 1e-6 relative to the largest value (norm-wise); the gradients of clipped entries are exactly 0 both
    assert ev <= F32_REL and eg <= 10 * F32_REL, (case, ev, eg)


# ----------------------------------------------------------------------------------------------------------
# 5. input kinds, layouts, labels requiring grad, half types
# ----------------------------------------------------------------------------------------------------------

_RNG = np.random.default_rng(5)
_LAB = np.array([0, 3, 1, 2, 3, 0])
_P = _RNG.dirichlet(np.ones(4), 6)
_P[1] = np.eye(4)[3]  # an exact 1 and exact 0s


@pytest.mark.parametrize("kind", ["list", "np_int8", "np_uint8", "np_int32", "np_int64", "np_uint64", "np_float32",
                                  "np_float64", "t_int8", "t_int16", "t_int32", "t_int64", "t_uint8", "t_float32",
                                  "t_float64", "t_bfloat16"])
@pytest.mark.parametrize("shape", ["N", "N1"])
def test_sparse_label_kinds(kind, shape):
    lab = _LAB if shape == "N" else _LAB[:, None]
    if kind == "list":
        yt = lab.tolist()
    elif kind.startswith("np_"):
        yt = lab.astype(kind[3:])
    else:
        yt = torch.tensor(lab).to(getattr(torch, kind[2:]))
    for from_logits in (False, True):
        yp = np.log(_P + 1e-3) if from_logits else _P
        kv, kg, _ = keras_case("SparseCategoricalCrossentropy", {"from_logits": from_logits}, _LAB, yp)
        tv, tg, _ = torch_case("SparseCategoricalCrossentropy", {"from_logits": from_logits}, yt, torch.tensor(yp))
        ev, eg = rel(tv.detach().numpy(), kv), rel(tg.numpy(), kg)
        print(kind, shape, from_logits, f"value {ev:.1e} grad {eg:.1e}")
        assert ev <= F64_VAL and eg <= F64_GRAD


@pytest.mark.parametrize("kind", ["list", "np_bool", "np_uint8", "np_int32", "np_int64", "np_float32", "t_bool",
                                  "t_uint8", "t_int8", "t_int64", "t_float16", "t_float32"])
@pytest.mark.parametrize("name", ["CategoricalCrossentropy", "BinaryCrossentropy", "BinaryFocalCrossentropy",
                                  "CategoricalFocalCrossentropy"])
def test_dense_label_kinds(kind, name):
    y = np.eye(4)[_LAB]
    if kind == "list":
        yt = y.astype(int).tolist()
    elif kind.startswith("np_"):
        yt = y.astype(kind[3:])
    else:
        yt = torch.tensor(y).to(getattr(torch, kind[2:]))
    kv, kg, _ = keras_case(name, {"label_smoothing": 0.1}, y, _P)
    tv, tg, _ = torch_case(name, {"label_smoothing": 0.1}, yt, torch.tensor(_P))
    ev, eg = rel(tv.detach().numpy(), kv), rel(tg.numpy(), kg)
    print(name, kind, f"value {ev:.1e} grad {eg:.1e}")
    assert tv.dtype == torch.float64 and ev <= F64_VAL and eg <= F64_GRAD


@pytest.mark.parametrize("name", list(CLASSES))
def test_numpy_and_list_predictions(name):
    """NumPy float64 predictions compute in float64; Python lists as arrays (README: Keras's own call raises on
    lists, torch_impl takes them, Keras 2's figures) in float32, Keras's floatx."""
    yt = _LAB if name.startswith("Sparse") else np.eye(4)[_LAB]
    kv64, _, _ = keras_case(name, {}, yt, _P)
    t64 = getattr(L, name)()(yt, _P)
    kv32, _, _ = keras_case(name, {}, yt, _P.astype(np.float32), dtype="float32")
    t32 = getattr(L, name)()(yt.tolist(), _P.astype(np.float32).tolist())
    print(name, "numpy f64", rel(t64.numpy(), kv64), "lists", t32.dtype, rel(t32.numpy(), kv32))
    assert t64.dtype == torch.float64 and rel(t64.numpy(), kv64) <= F64_VAL
    assert t32.dtype == torch.float32 and rel(t32.numpy(), kv32) <= F32_REL


@pytest.mark.parametrize("name", ["CategoricalCrossentropy", "SparseCategoricalCrossentropy",
                                  "CategoricalFocalCrossentropy", "BinaryCrossentropy"])
@pytest.mark.parametrize("layout", ["channels_last_memory", "transposed_view", "strided_slice"])
def test_segmentation_layouts_axis1(name, layout):
    """(N, C, H, W) maps with axis=1 given as channels_last-strided, transposed or sliced tensors."""
    rng = np.random.default_rng(11)
    n, c, h, w = 2, 3, 4, 5
    logits = rng.normal(0, 2, (n, c, h, w))
    lab = rng.integers(0, c, (n, h, w))
    yt = lab if name.startswith("Sparse") else np.moveaxis(np.eye(c)[lab], -1, 1)
    if name == "BinaryCrossentropy":
        yt = (rng.uniform(size=(n, c, h, w)) > 0.5).astype(np.float64)
    kw = {"from_logits": True, "axis": 1}
    sw = rng.uniform(0, 2, (n, h, w))
    kv, kg, _ = keras_case(name, kw, yt, logits, sw=sw, oracle_moveaxis=True)
    t = torch.tensor(logits)
    if layout == "channels_last_memory":
        t = t.contiguous(memory_format=torch.channels_last)
    elif layout == "transposed_view":
        t = torch.tensor(np.ascontiguousarray(np.moveaxis(logits, 1, -1))).permute(0, 3, 1, 2)
    else:
        big = torch.zeros(n, c, h, 2 * w, dtype=torch.float64)
        big[..., ::2] = t
        t = big[..., ::2]
    assert not t.is_contiguous()
    ytt = torch.tensor(yt)
    if layout == "channels_last_memory" and ytt.dim() == 4:
        ytt = ytt.contiguous(memory_format=torch.channels_last)
    tv, tg, _ = torch_case(name, kw, ytt, t, sw=torch.tensor(sw))
    ev, eg = rel(tv.detach().numpy(), kv), rel(tg.numpy(), kg)
    print(name, layout, f"value {ev:.1e} grad {eg:.1e}")
    assert ev <= F64_VAL and eg <= F64_GRAD


@pytest.mark.parametrize("name", ["CategoricalCrossentropy", "BinaryCrossentropy", "BinaryFocalCrossentropy",
                                  "CategoricalFocalCrossentropy"])
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("functional", [False, True])
def test_gradient_wrt_y_true_requiring_grad(name, from_logits, functional):
    """Soft labels that require grad (distillation): d loss / d y_true against tf.GradientTape."""
    rng = np.random.default_rng(3)
    yt = rng.dirichlet(np.ones(4), 5) if name.startswith("Categorical") else rng.uniform(0, 1, (5, 4))
    yp = rng.normal(0, 2, (5, 4)) if from_logits else _P[:5]
    kw = {"from_logits": from_logits, "label_smoothing": 0.2}
    kv, kg, kgt = keras_case(name, kw, yt, yp, functional=functional, watch_true=True)
    tv, tg, tgt = torch_case_with_true_grad(name, kw, torch.tensor(yt), torch.tensor(yp), functional=functional)
    ev, eg, egt = rel(tv.detach().numpy(), kv), rel(tg.numpy(), kg), rel(tgt.numpy(), kgt)
    print(name, from_logits, functional, f"value {ev:.1e} grad(y_pred) {eg:.1e} grad(y_true) {egt:.1e}")
    assert ev <= F64_VAL and eg <= F64_GRAD and egt <= F64_GRAD


def test_sparse_labels_requiring_grad_are_accepted():
    lab = torch.tensor(_LAB, dtype=torch.float64, requires_grad=True)
    v = L.SparseCategoricalCrossentropy()(lab, torch.tensor(_P))
    kv, _, _ = keras_case("SparseCategoricalCrossentropy", {}, _LAB, _P)
    print("float labels requiring grad:", rel(v.detach().numpy(), kv))
    assert rel(v.detach().numpy(), kv) <= F64_VAL


@pytest.mark.parametrize("name", list(CLASSES))
@pytest.mark.parametrize("half", ["float16", "bfloat16"])
@pytest.mark.parametrize("from_logits", [False, True])
def test_half_predictions_class_compute_in_float32(name, half, from_logits):
    """A class with dtype=None given float16/bfloat16 predictions: Keras's Loss computes in floatx (float32) on
    the same (rounded) numbers and returns float32."""
    yt = _LAB if name.startswith("Sparse") else np.eye(4)[_LAB]
    yp = torch.tensor(np.log(_P + 1e-2) if from_logits else _P).to(getattr(torch, half))
    yp32 = yp.float().numpy()
    kv, kg, _ = keras_case(name, {"from_logits": from_logits}, yt, yp32, dtype="float32")
    tv, tg, _ = torch_case(name, {"from_logits": from_logits}, torch.tensor(yt), yp)
    ev = rel(tv.detach().float().numpy(), kv)
    print(name, half, from_logits, tv.dtype, f"value {ev:.1e}")
    assert tv.dtype == torch.float32 and tg.dtype == yp.dtype and ev <= F32_REL


# ----------------------------------------------------------------------------------------------------------
# 6. sample weights, empty batches, a single sample
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["int", "float", "bool", "np_float32_scalar", "list_int", "np_int32", "np_uint8_N1",
                                  "t_int64", "t_float32_N1", "t_0d", "NT", "NT_list", "full_loss_shape"])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "mean_with_sample_weight", None]
                         + [pytest.param(r, marks=pytest.mark.slow) for r in ("sum", "mean", "none")])
def test_sample_weight_kinds(kind, reduction):
    """Weights on (N, T, C) sequences: every kind a user passes, against Keras given the same numbers."""
    rng = np.random.default_rng(17)
    n, t, c = 4, 3, 5
    lab = rng.integers(0, c, (n, t))
    yp = rng.dirichlet(np.ones(c), (n, t))
    base = {"int": 2, "float": 0.5, "bool": True, "np_float32_scalar": np.float32(1.5),
            "list_int": [1, 0, 2, 3], "np_int32": np.array([1, 0, 2, 3], np.int32),
            "np_uint8_N1": np.array([[1], [0], [2], [3]], np.uint8), "t_int64": torch.tensor([1, 0, 2, 3]),
            "t_float32_N1": torch.tensor([[1.0], [0.0], [2.0], [3.0]]), "t_0d": torch.tensor(2.0),
            "NT": rng.uniform(0, 2, (n, t)), "NT_list": rng.integers(0, 3, (n, t)).tolist(),
            "full_loss_shape": torch.tensor(rng.uniform(0, 2, (n, t)))}[kind]
    ksw = base.numpy() if isinstance(base, torch.Tensor) else np.asarray(base)
    for name in ("SparseCategoricalCrossentropy", "CategoricalCrossentropy"):
        for rank in (2, 3):  # (N, C) and (N, T, C)
            lb, pp = (lab, yp) if rank == 3 else (lab[:, 0], yp[:, 0])
            yt = lb if name.startswith("Sparse") else np.eye(c)[lb]
            try:
                kv, kg, _ = keras_case(name, {"reduction": reduction}, yt, pp, sw=ksw)
            except tf.errors.InvalidArgumentError:  # (N,) on (N, T) losses, (N, T) on (N,): Keras's error
                with pytest.raises(ValueError):
                    torch_case(name, {"reduction": reduction}, torch.tensor(yt), torch.tensor(pp), sw=base)
                print(name, kind, reduction, rank, "both raise")
                continue
            tv, tg, _ = torch_case(name, {"reduction": reduction}, torch.tensor(yt), torch.tensor(pp), sw=base)
            ev, eg = rel(tv.detach().numpy(), kv), rel(tg.numpy(), kg)
            print(name, kind, reduction, rank, f"value {ev:.1e} grad {eg:.1e}")
            assert ev <= F64_VAL and eg <= F64_GRAD


@pytest.mark.parametrize("name", list(CLASSES))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_empty_batch_and_single_sample(name, reduction):
    for n in (0, 1):
        yt = _LAB[:n] if name.startswith("Sparse") else np.eye(4)[_LAB[:n]]
        sw = np.ones(n) * 2
        kv, kg, _ = keras_case(name, {"reduction": reduction}, yt, _P[:n], sw=sw)
        tv, tg, _ = torch_case(name, {"reduction": reduction}, torch.tensor(yt), torch.tensor(_P[:n]),
                               sw=torch.tensor(sw))
        assert tuple(tv.shape) == kv.shape, (n, tv.shape, kv.shape)
        ev, eg = rel(tv.detach().numpy(), kv), rel(tg.numpy(), kg)
        print(name, reduction, n, tuple(tv.shape), f"value {ev:.1e} grad {eg:.1e}")
        assert ev <= F64_VAL and eg <= F64_GRAD


# ----------------------------------------------------------------------------------------------------------
# 7. class weights (Keras's fit conversion: data_adapter_utils.class_weight_to_sample_weights)
# ----------------------------------------------------------------------------------------------------------

_Y_CW = np.array([0, 1, 2, 2, 1, 0, 2, 2, 2, 2])


def _cw_dicts():
    from sklearn.utils.class_weight import compute_class_weight as sk_ccw

    classes = np.unique(_Y_CW)
    sk = sk_ccw("balanced", classes=classes, y=_Y_CW)
    return {
        "missing_class": {0: 2.0, 2: 0.5},
        "extra_classes": {0: 1.0, 1: 3.0, 2: 0.25, 7: 9.0, -1: 4.0},
        "int_values": {0: 1, 1: 10, 2: 10},
        "float_keys": {0.0: 2.0, 1.0: 3.0, 2.0: 0.5},
        "numpy_keys": {np.int64(0): np.float32(2.0), np.int32(1): 3.0},
        "sklearn_zip": dict(zip(classes, sk)),
        "sklearn_enumerate": dict(enumerate(sk)),
        "ours_balanced": compute_class_weight(_Y_CW),
        "empty": {},
    }


@pytest.mark.parametrize("labels", ["N_int", "N1_float", "one_hot", "list", "t_uint8", "t_int64_N1", "np_int8",
                                    "rounding"])
@pytest.mark.parametrize("cw", list(_cw_dicts()))
def test_class_weight_to_sample_weight_equals_keras_fit(labels, cw):
    from keras.src.trainers.data_adapters.data_adapter_utils import class_weight_to_sample_weights

    d = _cw_dicts()[cw]
    y = {"N_int": _Y_CW, "N1_float": _Y_CW[:, None].astype(np.float32), "one_hot": np.eye(3)[_Y_CW],
         "list": _Y_CW.tolist(), "t_uint8": torch.tensor(_Y_CW, dtype=torch.uint8),
         "t_int64_N1": torch.tensor(_Y_CW)[:, None], "np_int8": _Y_CW.astype(np.int8),
         "rounding": np.array([[0.5], [1.5], [2.5], [0.49], [1.51], [-0.4], [2.0], [1.0], [0.0], [2.49]])}[labels]
    ky = y.numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    ref = class_weight_to_sample_weights(ky, d)  # floatx (float32), NumPy's round-half-to-even
    ours = class_weight_to_sample_weight(y, d)
    print(labels, cw, ours.tolist())
    assert ours.dtype == torch.float32 and ours.shape == ref.shape
    np.testing.assert_array_equal(ours.numpy(), ref)


def test_sklearn_balanced_array_is_not_a_class_weight_dict():
    """scikit-learn's compute_class_weight returns an array; Keras's fit cannot use it (AttributeError on .get),
    torch_impl says what to do with a ValueError."""
    from keras.src.trainers.data_adapters.data_adapter_utils import class_weight_to_sample_weights
    from sklearn.utils.class_weight import compute_class_weight as sk_ccw

    arr = sk_ccw("balanced", classes=np.unique(_Y_CW), y=_Y_CW)
    with pytest.raises(AttributeError):
        class_weight_to_sample_weights(_Y_CW, arr)
    with pytest.raises((ValueError, TypeError)) as e:
        class_weight_to_sample_weight(_Y_CW, arr)
    print("array class_weight:", str(e.value)[:90])
    np.testing.assert_allclose(compute_class_weight("balanced", classes=np.unique(_Y_CW), y=_Y_CW), arr, rtol=0,
                               atol=0)


def test_class_weight_into_loss_equals_keras_weighted_loss():
    d = _cw_dicts()["sklearn_zip"]
    from keras.src.trainers.data_adapters.data_adapter_utils import class_weight_to_sample_weights

    yp = np.random.default_rng(2).dirichlet(np.ones(3), len(_Y_CW))
    ksw = class_weight_to_sample_weights(_Y_CW, d)
    for reduction in REDUCTIONS:
        kv = keras.losses.SparseCategoricalCrossentropy(reduction=reduction, dtype="float64")(_Y_CW, yp, ksw)
        tv = L.SparseCategoricalCrossentropy(reduction=reduction)(_Y_CW, yp, class_weight_to_sample_weight(_Y_CW, d))
        print("class_weight -> loss", reduction, rel(tv.numpy(), kv.numpy()))
        assert rel(tv.numpy(), kv.numpy()) <= F64_VAL


# ----------------------------------------------------------------------------------------------------------
# 8. configs, serialization, names
# ----------------------------------------------------------------------------------------------------------

_NONDEFAULT = {
    "CategoricalCrossentropy": {"from_logits": True, "label_smoothing": 0.2, "reduction": "sum", "name": "cce"},
    "SparseCategoricalCrossentropy": {"from_logits": True, "ignore_class": -1, "reduction": "mean_with_sample_weight"},
    "BinaryCrossentropy": {"label_smoothing": 0.1, "axis": -1, "reduction": None, "name": "b"},
    "BinaryFocalCrossentropy": {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5, "from_logits": True,
                                "reduction": "none"},
    "CategoricalFocalCrossentropy": {"alpha": 0.3, "gamma": 3.0, "label_smoothing": 0.05, "reduction": "mean"},
}


@pytest.mark.parametrize("name", list(CLASSES))
@pytest.mark.parametrize("which", ["default", "nondefault"])
def test_config_and_serialize_round_trips_with_keras(name, which):
    kw = {} if which == "default" else _NONDEFAULT[name]
    k, t = getattr(keras.losses, name)(**kw), getattr(L, name)(**kw)
    kc, tc = k.get_config(), t.get_config()
    extra = set(tc) - set(kc)
    assert extra <= {"axis"}, extra  # README: torch_impl's SparseCategoricalCrossentropy config keeps `axis`
    for key in kc:
        assert tc[key] == kc[key], (key, tc[key], kc[key])
    t2 = getattr(L, name).from_config(kc)  # a Keras config in
    k2 = getattr(keras.losses, name).from_config({key: tc[key] for key in kc})  # ours out to Keras
    assert t2.get_config() == tc and k2.get_config() == kc
    ks, ts = keras.losses.serialize(k), L.serialize(t)
    assert ts["class_name"] == ks["class_name"] and ts["config"] == {**ks["config"], **{e: tc[e] for e in extra}}
    t3 = L.deserialize(ks)
    assert type(t3) is getattr(L, name) and t3.get_config() == tc
    assert L.get(name).name == keras.losses.get(name).name == getattr(keras.losses, name)().name
    assert L.get(CLASSES[name]) is getattr(L, CLASSES[name])
    rng = np.random.default_rng(0)
    yt = rng.integers(0, 3, (4,)) if name.startswith("Sparse") else np.eye(3)[rng.integers(0, 3, (4,))]
    yp = rng.normal(size=(4, 3)) if kw.get("from_logits") else rng.dirichlet(np.ones(3), 4)
    kv = getattr(keras.losses, name).from_config({**kc, "dtype": "float64"})(yt, yp)
    tv = t3(torch.tensor(yt), torch.tensor(yp))
    print(name, which, tc, "value after round trip", rel(tv.numpy(), kv.numpy()))
    assert rel(tv.numpy(), kv.numpy()) <= F64_VAL


# ----------------------------------------------------------------------------------------------------------
# 9. optimizers: 5 steps on the gradients of a real loss, each framework's own autograd
# ----------------------------------------------------------------------------------------------------------

OPT_CASES = [
    ("Adam", {}),
    ("Adam", {"learning_rate": 0.05, "amsgrad": True}),
    ("Adam", {"learning_rate": 0.05, "beta_1": 0.8, "beta_2": 0.95, "epsilon": 1e-3, "clipnorm": 0.1}),
    ("Adam", {"learning_rate": 0.05, "clipvalue": 0.02, "weight_decay": 0.1}),
    ("Adam", {"learning_rate": 0.05, "global_clipnorm": 0.05, "amsgrad": True}),
    ("AdamW", {}),
    ("AdamW", {"learning_rate": 0.05, "weight_decay": 0.2, "amsgrad": True, "clipnorm": 0.5}),
    ("SGD", {}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True, "clipvalue": 0.05}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.5, "weight_decay": 0.01, "global_clipnorm": 0.1}),
    ("RMSprop", {}),
    ("RMSprop", {"learning_rate": 0.01, "rho": 0.8, "momentum": 0.5, "centered": True, "clipnorm": 0.3}),
    ("RMSprop", {"learning_rate": 0.01, "epsilon": 1e-3, "weight_decay": 0.05}),
]


class _floatx:
    def __init__(self, dtype):
        self.dtype = dtype

    def __enter__(self):
        self.kprev, self.tprev = keras.config.floatx(), torch.get_default_dtype()
        keras.config.set_floatx(self.dtype)
        torch.set_default_dtype(getattr(torch, self.dtype))

    def __exit__(self, *exc):
        keras.config.set_floatx(self.kprev)
        torch.set_default_dtype(self.tprev)


def _opt_problem(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(8, 4))
    y = rng.integers(0, 3, (8,))
    return x, y, [rng.normal(0, 0.5, (4, 3)), rng.normal(0, 0.1, (3,))]


_OPT_DEFAULT = {1, 3, 6, 8, 11, 12}  # the rest of the grid is slow


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,cfg", [pytest.param(n, c, id=f"{n}-{'-'.join(f'{k}={v}' for k, v in c.items())}",
                                                   marks=() if i in _OPT_DEFAULT else pytest.mark.slow)
                                      for i, (n, c) in enumerate(OPT_CASES)])
def test_optimizer_steps_on_a_real_loss_match_keras(name, cfg, dtype):
    from torch_impl import optim

    x, y, w0 = _opt_problem(len(cfg) + 7)
    with _floatx(dtype):
        kv = [keras.Variable(w.astype(dtype)) for w in w0]
        kopt = getattr(keras.optimizers, name)(**cfg)
        kloss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        tp = [torch.nn.Parameter(torch.tensor(w.astype(dtype))) for w in w0]
        topt = getattr(optim, name)(tp, **cfg)
        tloss = L.SparseCategoricalCrossentropy(from_logits=True)
        xt, xk = torch.tensor(x.astype(dtype)), tf.constant(x.astype(dtype))
        for step in range(5):
            with tf.GradientTape() as tape:
                lk = kloss(y, tf.matmul(xk, kv[0]) + kv[1])
            kopt.apply(tape.gradient(lk, kv), kv)
            topt.zero_grad()
            lt = tloss(torch.tensor(y), xt @ tp[0] + tp[1])
            lt.backward()
            topt.step()
        errs = [rel(p.detach().numpy(), v.numpy()) for p, v in zip(tp, kv)]
    tol = F32_REL if dtype == "float32" else F64_VAL
    print(name, cfg, dtype, "final loss", float(lt), float(lk), "weights rel. error", errs)
    assert max(errs) <= tol and rel(lt.detach().numpy(), lk.numpy()) <= 10 * tol


def test_optimizer_parameter_without_gradient_shares_the_iteration_count():
    """A parameter whose gradient is None for the first steps (frozen, then unfrozen): Keras skips it and still
    counts the iteration; its first Adam step then uses t = 3, not torch's per-parameter t = 1."""
    from torch_impl import optim

    rng = np.random.default_rng(1)
    w0 = [rng.normal(size=(3,)), rng.normal(size=(2,))]
    grads = [[rng.normal(size=(3,)), rng.normal(size=(2,))] for _ in range(5)]
    with _floatx("float64"):
        kv = [keras.Variable(w) for w in w0]
        kopt = keras.optimizers.Adam(learning_rate=0.1)
        kopt.build(kv)
        tp = [torch.nn.Parameter(torch.tensor(w)) for w in w0]
        topt = optim.Adam(tp, learning_rate=0.1)
        for i, (g0, g1) in enumerate(grads):
            second = None if i < 2 else g1
            kopt.apply([tf.constant(g0), None if second is None else tf.constant(second)], kv)
            tp[0].grad = torch.tensor(g0)
            tp[1].grad = None if second is None else torch.tensor(second)
            topt.step()
        errs = [rel(p.detach().numpy(), v.numpy()) for p, v in zip(tp, kv)]
    print("None gradients for 2 steps: weights rel. error", errs)
    assert max(errs) <= F64_VAL


# ----------------------------------------------------------------------------------------------------------
# 10. fit (DESIGN.md's Keras-semantics training loop) against model.fit, class_weight and all
# ----------------------------------------------------------------------------------------------------------


def test_fit_with_class_weight_matches_model_fit():
    from torch_impl import fit, optim
    from torch_impl.nn import build_model, load_keras_weights

    rng = np.random.default_rng(4)
    x = rng.normal(size=(40, 5)).astype(np.float32)
    y = (rng.uniform(size=40) < 0.2).astype(np.int64) + (rng.uniform(size=40) < 0.1)
    cw = dict(enumerate(compute_class_weight("balanced", classes=[0, 1, 2], y=y)))
    keras.utils.set_random_seed(0)
    km = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"),
                           keras.layers.Dense(3, activation="softmax")])
    km.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    w = km.get_weights()
    kh = km.fit(x, y, batch_size=16, epochs=3, shuffle=False, class_weight=cw, verbose=0).history
    spec = {"input_dim": 5, "layers": [{"type": "dense", "units": 8, "activation": "relu"},
                                       {"type": "dense", "units": 3, "activation": "softmax"}]}
    tm = build_model(spec)
    load_keras_weights(tm, w)
    th = fit.fit(tm, x, y, loss="sparse_categorical_crossentropy", optimizer=optim.Adam(tm.parameters(), 0.01),
                 batch_size=16, epochs=3, shuffle=False, class_weight=cw).history
    err = rel(th["loss"], kh["loss"])
    print("fit vs model.fit, class_weight", cw, th["loss"], kh["loss"], f"rel {err:.1e}")
    assert err <= F32_REL

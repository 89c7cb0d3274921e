"""Keras's ``GroupNormalization`` and ``SpectralNormalization`` in torch (``torch_impl.nn.GroupNormalization``,
``group_normalization``, ``SpectralNormalization``) against the real Keras 3.15.1 layers on TensorFlow 2.21, and the
upstream test files ``keras/src/layers/normalization/group_normalization_test.py`` and
``spectral_normalization_test.py`` translated (``test_keras_reference_gapfill2.py`` lists them in its inventory).

GroupNormalization: each case builds the Keras layer and ours with the same random gamma/beta and compares the output
and the gradients of ``sum(y * c)`` (``c`` random; ``tf.GradientTape``) for the input, gamma and beta; figures are
``max |ours - Keras| / max |Keras|``. SpectralNormalization: the Keras wrapper's weights (kernel, ``vector_u``, bias)
are loaded into ours by ``load_keras_weights``; one ``training=True`` call is compared (output, the rescaled kernel,
the new ``vector_u``, the gradients for the input, kernel and bias), then a ``training=False`` call.

Measured (torch 2.13 CPU, Keras 3.15.1 on TensorFlow 2.21, 2026-12-07):

======================================================================  ==================  =====================
case                                                                    values              gradients
======================================================================  ==================  =====================
GroupNormalization, 8 layouts (ranks 3-5, axis -1/1/2/-4, groups 1 / C  <= 4.9e-16 rel      <= 4.2e-16 rel
/ between / -1, center/scale off), float64                                                  (x, gamma, beta)
the same, float32 (1 by default, 4 slow)                                <= 1.0e-07 rel      <= 2.5e-07 rel
float64 input to a float32 layer (Keras computes in float64), float16   0 / 0 (both round   --
input (float32 inside, float16 out)                                     through float16)
torch.nn.GroupNorm(eps=1e-5), channels moved first, on the same data    2.3e-02 abs off     --
torch.nn.GroupNorm(eps=1e-3)                                            4.4e-16 abs         --
SpectralNormalization float64 (Dense, Conv1D, Conv2D, Conv2DTranspose,  <= 3.2e-16 rel      <= 4.2e-16 rel
DepthwiseConv2D; power_iterations 1-3; 5 cases by default, 15 slow):                        (x, kernel, bias)
output, rescaled kernel, vector_u (training call), output (inference)
SpectralNormalization(Embedding(10, 4)) float64                         1.6e-16 rel         --
the same, float32 (Dense; Conv2D slow)                                  <= 2.1e-07 rel      <= 1.7e-07 rel
torch.nn.utils.parametrizations.spectral_norm on Keras's weights (its   0.38 (Dense), 0.11  --
own u, 15 iterations when registered; dim=1 for a transposed conv)      (ConvT) rel off
fit: SpectralNormalization(Conv2D(4, 2, "same"), power_iterations=2)    history <= 1.7e-16  weights 3.8e-15 rel;
-> GroupNormalization(2), RMSprop, mse, 2 epochs, validation split      rel                 float32 (slow):
(upstream's test_end_to_end; without GroupNormalization: slow)                              1.8e-07 / 3.2e-05
fit (slow): Dense -> GroupNormalization(4) -> Dense, Adam, 3 epochs     3.4e-16 rel;        weights 2.7e-15;
                                                                        float32 9.2e-08     float32 2.5e-07
SN twice before backward: D = SN(Conv2D(3, 2)) -> tanh -> SN(Dense(1))  <= 5.5e-16 rel      <= 3.4e-15 rel
on a real and a fake batch (G(z) = z Wg), + a gradient penalty (3rd     (outputs, kernels,  (kernels, biases,
call, inner tape); power_iterations 1, 2; float64 (4 cases)             vector_u after      Wg), penalty's
                                                                        each call)          input grad 5.3e-16
the same, float32 (slow, 2 cases)                                       <= 4.2e-07 rel      <= 9.8e-07 rel
that D trained by Keras's fit with a custom train_step (slow; eager     d_loss 1.1e-16 rel  weights 1.7e-14 rel
and tf.function), SGD(0.5), 4 steps, against a torch loop
keras_init_(seed=21 / 3) vs set_random_seed: README's Sequential        kernels, biases     training call
([SN(Dense(16)), Dropout, SN(Dense(3))]), Sequential with SN(Conv2D),   equal; vector_u    <= 3.4e-07 rel
functional; float32 (float64 slow)                                      equal (glibc)       (float64 4.5e-16)
======================================================================  ==================  =====================

Keras facts pinned here (``keras/src/layers/normalization/``): GroupNormalization does not autocast its input
(``group_normalization.py:90``): a float64 input to a float32 layer is normalised in float64 and the output cast to
float32; half inputs are normalised in float32, cast back to half, then to the layer's compute dtype (``:180-210``,
``:164``); the statistics are ``ops.moments`` (population variance) over each group's channels and every non-batch
axis, ``rsqrt(var + epsilon) * gamma``, ``x * inv + (beta - mean * inv)`` (``:192-209``); its mask passes through,
unused (``supports_masking``, ``:89``); an axis out of range raises ``IndexError`` from ``build`` (``:104``), more
groups than channels / channels not divisible ``ValueError`` (``:116-126``), ``groups`` not a positive int or -1
``ValueError`` at construction (``:82-87``). SpectralNormalization (``spectral_normalization.py``): ``vector_u`` is
``(1, kernel.shape[-1])`` ``TruncatedNormal(stddev=0.02)`` (``:69-75``); a ``training=True`` call overwrites the
kernel with ``kernel / sigma`` and ``vector_u`` (``:78-85``), unless the kernel is all zeros; the gradient is the
wrapped layer's at the rescaled kernel; inference uses the kernel as it is; normalize is ``x * min(rsqrt(sum x^2),
1 / 1e-7)`` over the whole vector (``:104-107``); ``get_weights()`` order: kernel, ``vector_u``, bias. Called twice
inside one tape, each call's layer reads the kernel variable's value at that call (``:84-87``: ``assign`` carries no
gradient), so the kernel's gradient is the sum of each call's at its own rescaled value; torch_impl ran the layer on
the Parameter it rescales in place, and autograd raised "modified by an inplace operation" (no silent wrong gradient:
a Dense whose input needs no gradient was right). ``vector_u``'s initializer is made in ``build``
(``:69-75``), so its unseeded ``TruncatedNormal`` draws its seed from Python's ``random`` when the wrapper is built
(``random_initializers.py:13-14``): a ``Sequential`` makes all its layers first, then builds them.

Run: ``.venv/bin/python -m pytest -q -s -p no:cacheprovider parity_tests/test_group_spectral_norm_keras.py``
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402

from parity_tests.test_field_scripts_round2 import _precision, _rel  # noqa: E402
from torch_impl import constraints as tconstraints  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, optim  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl import regularizers as treg  # noqa: E402
from torch_impl._tf_random import _libm_box_muller  # noqa: E402
from torch_impl.utils import set_keras_mask  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

_TOL = {"float64": (1e-12, 1e-12), "float32": (1e-5, 1e-5)}  # relative to max |Keras|: values, gradients


def _normwise(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)) if b.size else 0.0


def _np(t) -> np.ndarray:
    return t.detach().cpu().double().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


# ==========================================================================
# GroupNormalization vs Keras
# ==========================================================================

#: (input shape, groups, axis, center, scale)
GN_CASES = [
    ((3, 5, 8), 4, -1, True, True),          # rank 3, channels last, between
    ((2, 6, 3, 4), 3, 1, True, True),        # rank 4, channels first (torch's layout)
    ((2, 3, 4, 2, 6), 6, -1, True, True),    # rank 5, groups = channels (instance norm)
    ((2, 4, 3, 5), 1, -1, True, True),       # groups = 1
    ((2, 8, 3), 2, 1, False, True),          # no beta
    ((2, 3, 6, 2), 2, 2, True, False),       # a middle axis, no gamma
    ((2, 3, 8), -1, -1, False, False),       # groups=-1, neither
    ((2, 4, 3, 3, 2), 2, -4, True, True),    # rank 5, negative channels-first axis
]


def _gn_pair(shape, groups, axis, center, scale, dt: str, seed: int = 0):
    """The Keras layer and ours, built on ``shape``, with the same random gamma and beta."""
    rng = np.random.default_rng(seed)
    k = layers.GroupNormalization(groups=groups, axis=axis, center=center, scale=scale, dtype=dt)
    k.build(shape)
    w = [rng.normal(1.0, 0.5, v.shape).astype(dt) if "gamma" in v.path else rng.normal(0.0, 0.5, v.shape).astype(dt)
         for v in k.weights]
    k.set_weights(w)
    ours = tnn.GroupNormalization(groups=groups, axis=axis, center=center, scale=scale, num_channels=shape[axis],
                                  dtype=getattr(torch, dt))
    tnn.load_keras_weights(ours, w)
    return k, ours


def _keras_grads(layer, x: np.ndarray, c: np.ndarray, **call):
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt, **call)
        s = tf.reduce_sum(tf.cast(y, tf.float64) * c)
    grads = tape.gradient(s, [xt] + list(layer.trainable_weights))
    return y.numpy(), [g.numpy() for g in grads]


def _torch_grads(module, x: np.ndarray, c: np.ndarray, dtype):
    xt = torch.tensor(x, requires_grad=True)
    y = module(xt)
    params = [p for p in module.parameters() if p.requires_grad]
    grads = torch.autograd.grad((y.double() * torch.as_tensor(c)).sum(), [xt] + params)
    return y, grads


def _gn_case(case, dt: str, seed: int = 0):
    shape, groups, axis, center, scale = case
    k, ours = _gn_pair(shape, groups, axis, center, scale, dt, seed)
    rng = np.random.default_rng(seed + 1)
    x = rng.normal(2.0, 3.0, shape).astype(dt)
    c = rng.normal(size=shape)
    ky, kg = _keras_grads(k, x, c)
    ty, tg = _torch_grads(ours, x, c, getattr(torch, dt))
    assert str(ty.dtype) == f"torch.{dt}" and ky.dtype == np.dtype(dt)
    ev = _normwise(_np(ty), ky)
    eg = max(_normwise(_np(g), kgi) for g, kgi in zip(tg, kg))
    assert len(tg) == len(kg) == 1 + center + scale
    print(f"GroupNormalization{shape} groups={groups} axis={axis} center={center} scale={scale} {dt}: values "
          f"{ev:.2g}, gradients (x, gamma, beta) {eg:.2g} (rel to max |Keras|)")
    tv, tgr = _TOL[dt]
    assert ev <= tv and eg <= tgr
    return ev, eg


def test_group_normalization_float64_vs_keras():
    worst = np.max([_gn_case(case, "float64", i) for i, case in enumerate(GN_CASES)], axis=0)
    print(f"GroupNormalization float64, {len(GN_CASES)} layouts: worst values {worst[0]:.2g}, gradients "
          f"{worst[1]:.2g}")


@pytest.mark.parametrize("i", [0, pytest.param(1, marks=pytest.mark.slow), pytest.param(2, marks=pytest.mark.slow),
                               pytest.param(5, marks=pytest.mark.slow), pytest.param(7, marks=pytest.mark.slow)])
def test_group_normalization_float32_vs_keras(i):
    _gn_case(GN_CASES[i], "float32", 10 + i)


def test_group_normalization_dtypes_and_mask_vs_keras():
    """Keras's GroupNormalization does not autocast: a float64 input to a float32 layer is normalised in float64
    and the output rounded to float32; a float16 input in float32, rounded to float16, then given as float32
    (Keras's float32 policy; ours keeps float16, Keras's mixed policy's dtype). A mask passes through unused."""
    rng = np.random.default_rng(3)
    x = rng.normal(1.0, 2.0, (2, 5, 4))
    k = layers.GroupNormalization(groups=2)
    ours = tnn.GroupNormalization(groups=2)
    ky = k(x).numpy()
    ty = ours(torch.as_tensor(x))
    e64 = _normwise(_np(ty), ky)
    print(f"float64 input to a float32 layer: Keras {ky.dtype}, ours {ty.dtype}, max rel {e64:.2g}")
    assert ky.dtype == np.float32 and ty.dtype == torch.float32 and e64 == 0.0
    kh = k(x.astype(np.float16)).numpy()
    th = ours(torch.as_tensor(x, dtype=torch.float16))
    e16 = float(np.max(np.abs(_np(th) - kh)))
    print(f"float16 input: Keras {kh.dtype} (rounded through float16), ours {th.dtype}, max abs {e16:.2g}")
    assert kh.dtype == np.float32 and th.dtype == torch.float16
    assert np.array_equal(kh.astype(np.float16).astype(np.float32), kh)  # Keras's output is float16 values
    assert e16 == 0.0  # the same float32 result rounded to float16 once
    # mask: Keras passes it through (compute_mask) and uses it nowhere
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    xk = tf.constant(x)
    xk._keras_mask = tf.constant(mask)
    kym = k(xk)
    assert np.array_equal(kym._keras_mask.numpy(), mask)
    tym = ours(set_keras_mask(torch.as_tensor(x), torch.as_tensor(mask)))
    assert torch.equal(tym._keras_mask, torch.as_tensor(mask))
    assert _normwise(_np(tym), kym.numpy()) == 0.0
    print("mask: passed through by both, the statistics include the masked steps (same output as unmasked)")


def test_group_normalization_vs_torch_group_norm():
    """torch.nn.GroupNorm is channels-first with eps=1e-5: on Keras's numbers it is off by ~1e-2 for unit-scale
    data; with eps=1e-3 and the channels moved first it agrees to rounding."""
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 0.3, (3, 7, 8))  # (N, steps, C): Keras's channels-last
    ours = tnn.GroupNormalization(groups=4, dtype=torch.float64)
    ref = _np(ours(torch.as_tensor(x)))
    xt = torch.as_tensor(x).movedim(-1, 1)
    gn5 = torch.nn.GroupNorm(4, 8, dtype=torch.float64)
    gn3 = torch.nn.GroupNorm(4, 8, eps=1e-3, dtype=torch.float64)
    d5 = float(np.max(np.abs(_np(gn5(xt).movedim(1, -1)) - ref)))
    d3 = float(np.max(np.abs(_np(gn3(xt).movedim(1, -1)) - ref)))
    print(f"torch.nn.GroupNorm(eps=1e-5) vs Keras's GroupNormalization: max abs {d5:.2g}; eps=1e-3: {d3:.2g}")
    assert d5 > 1e-3 and d3 <= 1e-14


def _raises_like_keras(keras_fn, torch_fn, match: str):
    with pytest.raises(Exception) as ke:
        keras_fn()
    with pytest.raises(Exception) as te:
        torch_fn()
    print(f"Keras: {type(ke.value).__name__}: {str(ke.value)[:90]}\n  ours: {type(te.value).__name__}: "
          f"{str(te.value)[:90]}")
    assert type(ke.value) is type(te.value)
    assert match in str(ke.value) and match in str(te.value)


def test_group_normalization_errors_like_keras():
    x = np.ones((2, 3, 4))
    xt = torch.ones(2, 3, 4)
    for g in (0, -2, 1.5, "32"):
        _raises_like_keras(lambda: layers.GroupNormalization(groups=g), lambda: tnn.GroupNormalization(groups=g),
                           f"Received an invalid value for argument `groups`, expected a positive integer (or `-1` "
                           f"for instance normalization). Received: groups={g}")
    _raises_like_keras(lambda: layers.GroupNormalization(groups=5)(x), lambda: tnn.GroupNormalization(groups=5)(xt),
                       "Number of groups (5) cannot be more than the number of channels (4).")
    _raises_like_keras(lambda: layers.GroupNormalization(groups=3)(x), lambda: tnn.GroupNormalization(groups=3)(xt),
                       "Number of groups (3) must be a multiple of the number of channels (4).")
    _raises_like_keras(lambda: layers.GroupNormalization(groups=1, axis=3)(x),
                       lambda: tnn.GroupNormalization(groups=1, axis=3)(xt), "tuple index out of range")
    k, ours = layers.GroupNormalization(groups=2), tnn.GroupNormalization(groups=2)
    k(x), ours(xt)
    _raises_like_keras(lambda: k(np.ones((2, 4))), lambda: ours(torch.ones(2, 4)),
                       "expected ndim=3, found ndim=2. Full shape received: (2, 4)")
    _raises_like_keras(lambda: k(np.ones((2, 3, 6))), lambda: ours(torch.ones(2, 3, 6)),
                       "expected axis -1 of input shape to have value 4, but received input with shape (2, 3, 6)")


# ==========================================================================
# SpectralNormalization vs Keras
# ==========================================================================

def _sn_cases():
    """(name, Keras layer factory, our layer factory from the Keras layer's config, input shape (Keras layout),
    channels-last -> ours, ours -> channels-last)."""
    last = (lambda a: a, lambda a: a)
    c1 = (lambda a: a.movedim(-1, 1), lambda a: a.movedim(1, -1))
    return [
        ("Dense(3) on (4, 2, 5)", lambda: layers.Dense(3), lambda dt: torch.nn.Linear(5, 3, dtype=dt),
         (4, 2, 5)) + last,
        ("Conv1D(4, 3)", lambda: layers.Conv1D(4, 3), lambda dt: torch.nn.Conv1d(2, 4, 3, dtype=dt), (3, 7, 2)) + c1,
        ("Conv2D(3, 2, strides=2)", lambda: layers.Conv2D(3, 2, strides=2),
         lambda dt: torch.nn.Conv2d(2, 3, 2, stride=2, dtype=dt), (2, 6, 6, 2)) + c1,
        ("Conv2DTranspose(3, 2)", lambda: layers.Conv2DTranspose(3, 2),
         lambda dt: torch.nn.ConvTranspose2d(4, 3, 2, dtype=dt), (2, 3, 3, 4)) + c1,
        ("DepthwiseConv2D(2, depth_multiplier=2)", lambda: layers.DepthwiseConv2D(2, depth_multiplier=2),
         lambda dt: torch.nn.Conv2d(3, 6, 2, groups=3, dtype=dt), (2, 4, 4, 3)) + c1,
    ]


def _sn_pair(make_k, make_t, shape, dt: str, power_iterations: int, seed: int):
    keras.utils.set_random_seed(seed)
    with _precision(dt):
        k = layers.SpectralNormalization(make_k(), power_iterations=power_iterations)
    k.build(shape)
    rng = np.random.default_rng(seed)
    w = [a + rng.normal(0.0, 0.2, a.shape).astype(dt) if a.ndim == 1 else a for a in k.get_weights()]
    k.set_weights(w)
    ours = tnn.SpectralNormalization(make_t(getattr(torch, dt)), power_iterations=power_iterations)
    tnn.load_keras_weights(ours, w)
    return k, ours


def _sn_case(case, dt: str, power_iterations: int, seed: int):
    name, make_k, make_t, shape, to_t, from_t = case
    k, ours = _sn_pair(make_k, make_t, shape, dt, power_iterations, seed)
    rng = np.random.default_rng(seed + 1)
    x = rng.normal(size=shape).astype(dt)
    w0 = k.get_weights()[0]
    # training=True: the kernel and vector_u are overwritten, then the layer runs
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        ky = k(xt, training=True)
        c = rng.normal(size=tuple(ky.shape))
        s = tf.reduce_sum(tf.cast(ky, tf.float64) * c)
    kg = [g.numpy() for g in tape.gradient(s, [xt] + list(k.trainable_weights))]
    ours.train()
    xv = torch.tensor(x, requires_grad=True)
    ty = from_t(ours(to_t(xv)))
    tg = torch.autograd.grad((ty.double() * torch.as_tensor(c)).sum(), [xv] + list(ours.parameters()))
    tw = tnn.keras_weights(ours)
    kw = k.get_weights()
    layout = tnn._rules(tnn._weight_slots(ours)[0][2])  # the kernel's gradient in Keras's layout
    tg = [tg[0], layout.to_keras([_np(tg[1])])] + list(tg[2:])
    figures = {"output": _normwise(_np(ty), ky.numpy()),
               "kernel": _normwise(tw[0], kw[0]), "vector_u": _normwise(tw[1], kw[1]),
               "gradients": max(_normwise(_np(g), kgi) for g, kgi in zip(tg, kg))}
    assert len(tg) == len(kg) == 3
    assert _normwise(kw[0], w0) > 1e-3  # the kernel was rescaled
    # training=False: the layer on its (rescaled) kernel, nothing updated
    ours.eval()
    with torch.no_grad():
        ty2 = from_t(ours(to_t(torch.as_tensor(x))))
    ky2 = k(x, training=False).numpy()
    figures["inference"] = _normwise(_np(ty2), ky2)
    assert _normwise(tnn.keras_weights(ours)[1], k.get_weights()[1]) == figures["vector_u"]
    print(f"SpectralNormalization({name}, power_iterations={power_iterations}) {dt}: "
          + ", ".join(f"{n} {v:.2g}" for n, v in figures.items()))
    tv, tgr = _TOL[dt]
    assert max(v for n, v in figures.items() if n != "gradients") <= tv and figures["gradients"] <= tgr
    return figures


@pytest.mark.parametrize("grid", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_spectral_normalization_float64_vs_keras(grid):
    """Each layer once by default (power_iterations 1, 3, 1, 3, 2); ``slow``: each with 1, 2 and 3."""
    worst = {}
    for i, case in enumerate(_sn_cases()):
        for p in ((1, 2, 3) if grid else ((1, 3, 1, 3, 2)[i],)):
            for n, v in _sn_case(case, "float64", p, 10 * i + p).items():
                worst[n] = max(worst.get(n, 0.0), v)
    print("SpectralNormalization float64 worst: " + ", ".join(f"{n} {v:.2g}" for n, v in worst.items()))


def test_spectral_normalization_embedding_vs_keras():
    """``SpectralNormalization(Embedding(10, 4))``: the embeddings' columns (Keras's last axis) carry u. Keras casts
    the output to the input's dtype: float indices here (Keras's own test feeds float32 ones)."""
    keras.utils.set_random_seed(1)
    k = layers.SpectralNormalization(layers.Embedding(10, 4, dtype="float64"), power_iterations=2, dtype="float64")
    idx = np.array([[1, 4, 9], [0, 4, 2]])
    k.build(idx.shape)
    w = k.get_weights()
    ours = tnn.SpectralNormalization(torch.nn.Embedding(10, 4, dtype=torch.float64), power_iterations=2)
    tnn.load_keras_weights(ours, w)
    ky = k(idx.astype("float64"), training=True).numpy()
    ty = ours.train()(torch.as_tensor(idx))
    e = max(_normwise(_np(ty), ky), *(_normwise(a, b) for a, b in zip(tnn.keras_weights(ours), k.get_weights())))
    print(f"SpectralNormalization(Embedding(10, 4)) float64: output, embeddings, vector_u within {e:.2g} rel")
    assert ty.dtype == torch.float64 and e <= 1e-12


@pytest.mark.parametrize("i", [0, pytest.param(2, marks=pytest.mark.slow)])
def test_spectral_normalization_float32_vs_keras(i):
    _sn_case(_sn_cases()[i], "float32", 2, 50 + i)


def test_spectral_normalization_vs_torch_parametrization():
    """``torch.nn.utils.parametrizations.spectral_norm`` on Keras's weights (its own u, 15 power iterations when
    registered; ``dim=1`` for a transposed conv) against Keras's first training call: another number."""
    from torch.nn.utils.parametrizations import spectral_norm

    for name, make_k, make_t, shape, to_t, from_t in (_sn_cases()[0], _sn_cases()[3]):
        k, ours = _sn_pair(make_k, make_t, shape, "float64", 1, 7)
        x = np.random.default_rng(8).normal(size=shape)
        ky = k(x, training=True).numpy()
        torch.manual_seed(0)
        ref = make_t(torch.float64)
        tnn.load_keras_weights(ref, [a for j, a in enumerate(tnn.keras_weights(ours)) if j != 1])
        ref = spectral_norm(ref)
        with torch.no_grad():
            ty = from_t(ref(to_t(torch.as_tensor(x))))
            oy = from_t(ours(to_t(torch.as_tensor(x))))
        d, own = _normwise(_np(ty), ky), _normwise(_np(oy), ky)
        print(f"{name}: torch spectral_norm {d:.2g} off Keras's training call, torch_impl's {own:.2g}")
        assert d > 1e-3 and own <= 1e-12


# ==========================================================================
# SpectralNormalization called twice (three times) before backward: a GAN discriminator
# ==========================================================================

def _sn_discriminator(dt: str, power_iterations: int, seed: int):
    """Keras's ``D(x) = SN(Dense(1))(flatten(tanh(SN(Conv2D(3, 2))(x))))`` on (N, 5, 5, 2) images and ours with the
    same weights (perturbed biases), as ``(keras_layers, torch_modules, torch D)``."""
    keras.utils.set_random_seed(seed)
    with _precision(dt):
        kc = layers.SpectralNormalization(layers.Conv2D(3, 2), power_iterations=power_iterations)
        kd = layers.SpectralNormalization(layers.Dense(1), power_iterations=power_iterations)
    kc.build((None, 5, 5, 2))
    kd.build((None, 48))
    rng = np.random.default_rng(seed)
    for k in (kc, kd):
        k.set_weights([a + rng.normal(0.0, 0.2, a.shape).astype(dt) if a.ndim == 1 else a for a in k.get_weights()])
    td = getattr(torch, dt)
    tc = tnn.SpectralNormalization(torch.nn.Conv2d(2, 3, 2, dtype=td), power_iterations=power_iterations)
    tdn = tnn.SpectralNormalization(torch.nn.Linear(48, 1, dtype=td), power_iterations=power_iterations)
    tnn.load_keras_weights(tc, kc.get_weights())
    tnn.load_keras_weights(tdn, kd.get_weights())
    return (kc, kd), (tc, tdn), lambda x: tdn(torch.tanh(tc(x.reshape(-1, 5, 5, 2).movedim(-1, 1))).movedim(1, -1).flatten(1))


def _sn_twice_case(dt: str, power_iterations: int, penalty: bool, seed: int = 5) -> dict:
    """One discriminator step as a custom ``train_step`` takes it inside one ``tf.GradientTape``: D on a real
    batch, then on a fake one (``G(z) = z @ Wg``, so D's kernels are needed for G's gradient), ``softplus`` GAN
    losses, and (``penalty``) a WGAN-GP gradient penalty from a third call on an interpolation (an inner tape
    / ``create_graph=True``). Compared: each call's output, the stored kernels and ``vector_u`` after each
    call, and the gradients for both layers' kernels and biases and for ``Wg``."""
    (kc, kd), (tc, tdn), t_disc = _sn_discriminator(dt, power_iterations, seed)
    rng = np.random.default_rng(seed + 1)
    real, z, wg = (rng.normal(size=s).astype(dt) for s in ((4, 50), (4, 3), (3, 50)))
    alpha = rng.random((4, 1)).astype(dt)

    def k_disc(x):
        return kd(tf.reshape(tf.tanh(kc(tf.reshape(x, (-1, 5, 5, 2)), training=True)), (-1, 48)), training=True)

    def k_state():
        return [a.copy() for k in (kc, kd) for a in k.get_weights()]

    kwg = tf.Variable(wg)
    kstates = []
    with tf.GradientTape() as tape:
        kr = k_disc(tf.constant(real))
        kstates.append(k_state())
        fake = tf.constant(z) @ kwg
        kf = k_disc(fake)
        kstates.append(k_state())
        kloss = tf.reduce_mean(tf.nn.softplus(-kr)) + tf.reduce_mean(tf.nn.softplus(kf))
        if penalty:
            mix = alpha * real + (1 - alpha) * fake
            with tf.GradientTape() as inner:
                inner.watch(mix)
                kp = k_disc(mix)
            kgx = inner.gradient(kp, mix)
            kstates.append(k_state())
            kloss = kloss + 10 * tf.reduce_mean(tf.square(tf.norm(kgx, axis=1) - 1))
    kvars = list(kc.trainable_weights) + list(kd.trainable_weights) + [kwg]
    kg = [g.numpy() for g in tape.gradient(kloss, kvars)]

    tc.train(), tdn.train()
    twg = torch.tensor(wg, requires_grad=True)
    tstates = []

    def t_state():
        return [a for m in (tc, tdn) for a in tnn.keras_weights(m)]

    tr = t_disc(torch.as_tensor(real))
    tstates.append(t_state())
    tfake = torch.as_tensor(z) @ twg
    tf_ = t_disc(tfake)
    tstates.append(t_state())
    tloss = torch.nn.functional.softplus(-tr).mean() + torch.nn.functional.softplus(tf_).mean()
    if penalty:
        mix = torch.as_tensor(alpha) * torch.as_tensor(real) + (1 - torch.as_tensor(alpha)) * tfake
        tp = t_disc(mix)
        tgx, = torch.autograd.grad(tp.sum(), mix, create_graph=True)
        tstates.append(t_state())
        tloss = tloss + 10 * (tgx.norm(dim=1) - 1).square().mean()
    tvars = list(tc.parameters()) + list(tdn.parameters()) + [twg]
    tg = torch.autograd.grad(tloss, tvars)
    layout = [tnn._rules(tnn._weight_slots(m)[0][2]) for m in (tc, tdn)]
    tg = [layout[0].to_keras([_np(tg[0])]), tg[1], layout[1].to_keras([_np(tg[2])]), tg[3], tg[4]]
    figures = {"outputs": max(_normwise(_np(tr), kr.numpy()), _normwise(_np(tf_), kf.numpy())),
               "kernels, vector_u after each call": max(_normwise(a, b) for ts, ks in zip(tstates, kstates)
                                                        for a, b in zip(ts, ks)),
               "gradients (kernels, biases, Wg)": max(_normwise(_np(a), b) for a, b in zip(tg, kg))}
    if penalty:
        figures["penalty input gradient"] = _normwise(_np(tgx), kgx.numpy())
    assert _normwise(kstates[1][0], kstates[0][0]) > 1e-6  # the second call rescaled the kernel again
    print(f"SpectralNormalization D twice{' + gradient penalty' if penalty else ''} (Conv2D, Dense), "
          f"power_iterations={power_iterations} {dt}: " + ", ".join(f"{n} {v:.2g}" for n, v in figures.items()))
    tv, tgr = _TOL[dt]
    assert figures["outputs"] <= tv and figures["kernels, vector_u after each call"] <= tv
    assert figures["gradients (kernels, biases, Wg)"] <= tgr and figures.get("penalty input gradient", 0) <= tgr
    return figures


@pytest.mark.parametrize("dt, power_iterations, penalty", [
    ("float64", 1, False), ("float64", 2, True), ("float64", 1, True), ("float64", 2, False),
    pytest.param("float32", 1, False, marks=pytest.mark.slow), pytest.param("float32", 2, True, marks=pytest.mark.slow)])
def test_spectral_normalization_called_twice_before_backward_vs_keras(dt, power_iterations, penalty):
    """Keras reads the kernel variable at each call: the first call's graph keeps its rescaled kernel, the second
    rescales it again, and the kernel's gradient is the sum of each call's at its own value. torch_impl ran the
    layer on the Parameter it then rescaled in place: autograd raised "modified by an inplace operation" (a conv,
    or any layer whose input needs a gradient); the layer now runs on a copy."""
    _sn_twice_case(dt, power_iterations, penalty)


@pytest.mark.slow
@pytest.mark.parametrize("run_eagerly", [True, False])
def test_spectral_normalization_gan_train_step_fit_like_keras(run_eagerly):
    """The same discriminator trained by Keras's ``fit`` with a custom ``train_step`` (D on the real and the fake
    batch inside one tape, SGD(0.5), 2 epochs of 2 batches; eager and ``tf.function``, ``jit_compile=False``)
    against a torch loop: the last batch's loss per epoch and the final kernels, biases and ``vector_u``."""
    dt = "float64"
    (kc, kd), (tc, tdn), t_disc = _sn_discriminator(dt, 2, 5)
    rng = np.random.default_rng(9)
    real, z, wg = rng.normal(size=(8, 50)), rng.normal(size=(8, 3)), rng.normal(size=(3, 50))

    class GAN(keras.Model):
        def __init__(self):
            super().__init__()
            self.kc, self.kd = kc, kd

        def disc(self, x):
            h = tf.tanh(self.kc(tf.reshape(x, (-1, 5, 5, 2)), training=True))
            return self.kd(tf.reshape(h, (-1, 48)), training=True)

        def train_step(self, data):
            x, zz = data
            with tf.GradientTape() as tape:
                loss = (tf.reduce_mean(tf.nn.softplus(-self.disc(x)))
                        + tf.reduce_mean(tf.nn.softplus(self.disc(zz @ tf.constant(wg)))))
            vs = list(self.kc.trainable_weights) + list(self.kd.trainable_weights)
            self.optimizer.apply_gradients(zip(tape.gradient(loss, vs), vs))
            return {"d_loss": loss}  # "loss" would be Keras's (unused) loss tracker's 0

    with _precision(dt):
        model = GAN()
        model.compile(optimizer=keras.optimizers.SGD(0.5), run_eagerly=run_eagerly, jit_compile=False)
        kh = model.fit(real, z, batch_size=4, epochs=2, shuffle=False, verbose=0).history["d_loss"]
    opt = torch.optim.SGD(list(tc.parameters()) + list(tdn.parameters()), lr=0.5)
    tc.train(), tdn.train()
    th = []
    for _ in range(2):
        for b in (slice(0, 4), slice(4, 8)):
            fake = torch.as_tensor(z[b]) @ torch.as_tensor(wg)
            loss = (torch.nn.functional.softplus(-t_disc(torch.as_tensor(real[b]))).mean()
                    + torch.nn.functional.softplus(t_disc(fake)).mean())
            opt.zero_grad()
            loss.backward()
            opt.step()
        th.append(loss.item())
    ew = max(_normwise(a, b) for a, b in zip([a for m in (tc, tdn) for a in tnn.keras_weights(m)],
                                             [a for k in (kc, kd) for a in k.get_weights()]))
    eh = _rel(th, kh)
    print(f"GAN train_step fit (run_eagerly={run_eagerly}): d_loss Keras {np.round(kh, 8).tolist()} ours "
          f"{np.round(th, 8).tolist()} rel {eh:.2g}; final weights (incl. vector_u) {ew:.2g}")
    assert eh <= 1e-12 and ew <= 1e-12


class _ChannelsLastFlatten(torch.nn.Module):
    """Keras's ``Flatten`` of channels-last features, on torch's ``(N, C, H, W)``."""

    def forward(self, x):
        return x.movedim(1, -1).flatten(1)


class _SNFunctional(torch.nn.Module):
    """The functional model ``SN(Dense(3))(Dropout(0.2)(SN(Dense(16))(inp)))``, its layers made in that order."""

    def __init__(self):
        super().__init__()
        self.a = tnn.SpectralNormalization(torch.nn.Linear(5, 16))
        self.d = tnn.Dropout(0.2)
        self.b = tnn.SpectralNormalization(torch.nn.Linear(16, 3))

    def forward(self, x):
        return self.b(self.d(self.a(x)))


def _sn_init_cases():
    """(name, Keras model, torch model, input shape (Keras layout), channels-last -> ours)."""
    def functional():
        inp = keras.Input((5,))
        h = layers.SpectralNormalization(layers.Dense(16))(inp)  # made and built before the Dropout is made
        h = layers.Dropout(0.2)(h)
        return keras.Model(inp, layers.SpectralNormalization(layers.Dense(3))(h))

    return [
        ("Sequential([SN(Dense(16)), Dropout(0.2), SN(Dense(3))]) (README's, built at its first call)",
         lambda: keras.Sequential([layers.SpectralNormalization(layers.Dense(16)), layers.Dropout(0.2),
                                   layers.SpectralNormalization(layers.Dense(3))]),
         lambda: torch.nn.Sequential(tnn.SpectralNormalization(torch.nn.Linear(5, 16)), tnn.Dropout(0.2),
                                     tnn.SpectralNormalization(torch.nn.Linear(16, 3))), (4, 5), lambda a: a),
        ("Sequential([Input, SN(Conv2D(4, 3), power_iterations=2), Flatten, SN(Dense(2))])",
         lambda: keras.Sequential([keras.Input((6, 6, 3)), layers.SpectralNormalization(layers.Conv2D(4, 3), 2),
                                   layers.Flatten(), layers.SpectralNormalization(layers.Dense(2))]),
         lambda: torch.nn.Sequential(tnn.SpectralNormalization(torch.nn.Conv2d(3, 4, 3), 2), _ChannelsLastFlatten(),
                                     tnn.SpectralNormalization(torch.nn.Linear(64, 2))),
         (2, 6, 6, 3), lambda a: a.movedim(-1, 1)),
        ("functional: SN(Dense(16)) -> Dropout(0.2) -> SN(Dense(3))", functional, _SNFunctional, (4, 5),
         lambda a: a),
    ]


@pytest.mark.parametrize("dt", ["float32", pytest.param("float64", marks=pytest.mark.slow)])
def test_keras_init_seed_draws_vector_u_like_keras(dt):
    """``keras_init_(model, seed=s)`` against ``keras.utils.set_random_seed(s)`` and Keras's model (seeds 21, 3):
    kernels and biases bit for bit; ``vector_u``'s ``TruncatedNormal(stddev=0.02)`` seed is drawn when the wrapper
    is built (``spectral_normalization.py:69-75``): in a ``Sequential`` after every layer is made (here after the
    Dropout's and the next Dense's draws), in a functional model right after its layer. Its values are Keras's
    bit for bit where TensorFlow's Box-Muller calls glibc (elsewhere a few ulp on ~1.5% of the values). Then one
    training call of each (the Dropout masks equal too)."""
    dtype = getattr(torch, dt)
    with _precision(dt):
        for seed in (21, 3):
            for name, make_k, make_t, shape, to_t in _sn_init_cases():
                keras.utils.set_random_seed(seed)
                km = make_k()
                km.build((None,) + shape[1:])
                kw = km.get_weights()
                tm = tnn.keras_init_(make_t().to(dtype), seed=seed)
                tw = tnn.keras_weights(tm)
                slots = [desc for desc, _, _ in tnn._weight_slots(tm)]
                assert [a.shape for a in tw] == [a.shape for a in kw]
                u = [i for i, desc in enumerate(slots) if desc.endswith("vector_u")]
                assert len(u) == 2 and all(np.array_equal(tw[i], kw[i]) for i in range(len(kw)) if i not in u)
                ulps = max(float(np.max(np.abs(tw[i] - kw[i]) / np.spacing(np.abs(kw[i]).astype(dt)))) for i in u)
                off = sum(int((tw[i] != kw[i]).sum()) for i in u)
                total = sum(kw[i].size for i in u)
                x = np.random.default_rng(seed).normal(size=shape).astype(dt)
                ky = km(x, training=True).numpy()
                ty = tm.train()(to_t(torch.as_tensor(x))).detach()
                e = _normwise(_np(ty), ky)
                print(f"keras_init_(seed={seed}) {dt}, {name}: kernels, biases equal; vector_u {off} of {total} "
                      f"values off, at most {ulps:.0f} ulp; training call {e:.2g} rel")
                assert ulps <= 4 and off <= max(2, total // 10) and e <= _TOL[dt][0]
                assert off == 0 or not _libm_box_muller()[dt == "float64"]  # bit for bit with glibc (Linux)


# ==========================================================================
# fit: tiny models against Keras's fit
# ==========================================================================

class _GNNet(torch.nn.Module):
    """Dense(8) -> GroupNormalization(4) -> Flatten -> Dense(3) on (N, 6, 4), channels last as Keras."""

    def __init__(self, w):
        super().__init__()
        self.d1 = torch.nn.Linear(4, 8)
        self.gn = tnn.GroupNormalization(groups=4, num_channels=8)
        self.d2 = torch.nn.Linear(48, 3)
        tnn.load_keras_weights(self, w)

    def forward(self, x):
        return self.d2(self.gn(self.d1(x)).flatten(1))


class _SNConv(torch.nn.Module):
    """SpectralNormalization(Conv2D(c, (2, 2), padding="same"), power_iterations=2) on channels-last images, then
    (``gn``) GroupNormalization(2) on the channels (axis 1 of the torch layout)."""

    def __init__(self, w, gn: bool = False):
        super().__init__()
        c = w[0].shape[-1]
        self.pad = tnn.TFSamePadding(2)
        self.sn = tnn.SpectralNormalization(torch.nn.Conv2d(3, c, 2), power_iterations=2)
        self.gn = tnn.GroupNormalization(2, axis=1, num_channels=c) if gn else torch.nn.Identity()
        tnn.load_keras_weights(self, w)

    def forward(self, x):
        return self.gn(self.sn(self.pad(x.movedim(-1, 1)))).movedim(1, -1)


def _fit_both(dt, build_keras, build_torch, x, y, keras_loss, torch_loss, keras_opt, torch_opt, what, epochs):
    with _precision(dt), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras.utils.set_random_seed(0)
        model = build_keras()
        w = [a.copy() for a in model.get_weights()]
        model.compile(optimizer=keras_opt(), loss=keras_loss(), run_eagerly=True)  # made under floatx
        kh = model.fit(x, y, batch_size=8, epochs=epochs, validation_split=0.25, shuffle=False, verbose=0).history
        net = build_torch(w)
        th = tfit.fit(net, x, y, loss=torch_loss, optimizer=torch_opt(net.parameters()), batch_size=8, epochs=epochs,
                      validation_split=0.25, shuffle=False, verbose=0).history
        kw = model.get_weights()
        tw = tnn.keras_weights(net)
    worst = 0.0
    for key, values in kh.items():
        err = _rel(th[key], values)
        worst = max(worst, err)
        print(f"{what} {dt} {key}: Keras {np.round(values, 8).tolist()} ours {np.round(th[key], 8).tolist()} "
              f"rel {err:.1e}")
    ew = max(_normwise(a, b) for a, b in zip(tw, kw))
    print(f"{what} {dt}: history worst rel {worst:.2g}, final weights (incl. vector_u) {ew:.2g}")
    tol = 1e-12 if dt == "float64" else 1e-5
    assert worst <= tol and ew <= (1e-12 if dt == "float64" else 1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_group_normalization_fit_like_keras(dt):
    """Dense(8) -> GroupNormalization(4) -> Flatten -> Dense(3), Adam, 3 epochs, a validation split (the default
    suite fits GroupNormalization in ``test_spectral_and_group_normalization_fit_like_keras``)."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(32, 6, 4)).astype(dt)
    y = (x[:, :, 0].sum(1) > 0).astype(np.int64) + (x[:, 0, 1] > 1)

    def build_keras():
        return keras.Sequential([keras.Input((6, 4)), layers.Dense(8), layers.GroupNormalization(4),
                                 layers.Flatten(), layers.Dense(3)])

    _fit_both(dt, build_keras, _GNNet, x, y, lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              losses.SparseCategoricalCrossentropy(from_logits=True), lambda: keras.optimizers.Adam(0.05),
              lambda p: optim.Adam(p, learning_rate=0.05), "Dense -> GroupNormalization(4) -> Dense", 3)


@pytest.mark.parametrize("dt, gn", [("float64", True), pytest.param("float64", False, marks=pytest.mark.slow),
                                    pytest.param("float32", True, marks=pytest.mark.slow),
                                    pytest.param("float32", False, marks=pytest.mark.slow)])
def test_spectral_and_group_normalization_fit_like_keras(dt, gn):
    """Upstream's ``test_end_to_end`` (SpectralNormalization(Conv2D((2, 2), padding="same"), power_iterations=2),
    rmsprop, mse) as a parity fit, by default with a GroupNormalization(2) after it (one Keras fit for both
    layers): 2 epochs (float32: 3), batches of 8, a validation split (inference on the rescaled kernel)."""
    rng = np.random.default_rng(12)
    c = 4 if gn else 3
    x = rng.random((16, 8, 8, 3)).astype(dt)
    y = rng.random((16, 8, 8, c)).astype(dt)

    def build_keras():
        sn = layers.SpectralNormalization(layers.Conv2D(c, (2, 2), padding="same", data_format="channels_last"),
                                          power_iterations=2)
        return keras.Sequential([keras.Input((8, 8, 3)), sn] + ([layers.GroupNormalization(2)] if gn else []))

    _fit_both(dt, build_keras, lambda w: _SNConv(w, gn), x, y, lambda: "mse", losses.MeanSquaredError(),
              lambda: keras.optimizers.RMSprop(), lambda p: optim.RMSprop(p),
              "SpectralNormalization(Conv2D)" + (" -> GroupNormalization(2)" if gn else ""),
              3 if dt == "float32" else 2)


# ==========================================================================
# upstream: group_normalization_test.py (GroupNormalizationTest)
# ==========================================================================

def _close(name, got, expected, atol=1e-6, rtol=1e-6) -> float:
    g, e = _np(got), np.asarray(expected, np.float64)
    d = float(np.max(np.abs(g - e)))
    print(f"{name}: max abs diff {d:.3g} (atol={atol})")
    assert g.shape == e.shape
    np.testing.assert_allclose(g, e, atol=atol, rtol=rtol, err_msg=name)
    return d


def test_groupnorm():
    """run_layer_test's checks: output shape, 2 trainable weights, no non-trainable ones, the regularizers' 2
    losses, constraints applied by the optimizer, the mask passed through."""
    layer = treg.regularize(tnn.GroupNormalization(num_channels=32), kernel_regularizer=treg.L2(0.01),
                            bias_regularizer=treg.L2(0.01))
    x = torch.as_tensor(np.random.default_rng(0).normal(size=(3, 4, 32)), dtype=torch.float32)
    out = layer(x)
    assert tuple(out.shape) == (3, 4, 32)
    assert len([p for p in layer.parameters() if p.requires_grad]) == 2 and len(layer.state_dict()) == 2
    assert len(treg.regularization_losses(layer)) == 2
    mask = torch.ones(3, 4, dtype=torch.bool)
    assert layer(set_keras_mask(x, mask))._keras_mask is mask
    layer = tconstraints.constrain(tnn.GroupNormalization(groups=4), kernel_constraint=tconstraints.UnitNorm(),
                                   bias_constraint=tconstraints.UnitNorm())
    out = layer(torch.ones(3, 4, 4))
    assert tuple(out.shape) == (3, 4, 4) and len(list(layer.parameters())) == 2
    opt = optim.SGD(layer.parameters(), learning_rate=0.1)
    out = layer(torch.as_tensor(np.random.default_rng(1).normal(size=(3, 4, 4)), dtype=torch.float32))
    (out * torch.arange(4.0)).sum().backward()
    opt.step()
    _close("UnitNorm-constrained gamma norm", layer.weight.norm(), 1.0)
    _close("UnitNorm-constrained beta norm", layer.bias.norm(), 1.0)


def test_groups_bigger_than_dim_error():
    with pytest.raises(ValueError, match="cannot be more than the number of channels"):
        tnn.GroupNormalization(groups=5)(torch.ones(2, 2, 2, 4))


def test_groups_not_a_multiple_of_dim_error():
    with pytest.raises(ValueError, match="must be a multiple of the number of channels"):
        tnn.GroupNormalization(groups=3)(torch.ones(2, 2, 2, 4))


def test_groups_rejects_invalid_values():
    for bad in (0, -2, 1.5, "32"):
        with pytest.raises(ValueError, match="argument `groups`"):
            tnn.GroupNormalization(groups=bad)
    tnn.GroupNormalization(groups=-1)


_IN = np.array([[[-1.0, 1.0, 0, 2.0], [1.0, 3.0, -4, -2.0]]])


def test_groups_instance_norm():
    out_1 = tnn.GroupNormalization(groups=-1, axis=-1, scale=False, center=False)(torch.as_tensor(_IN))
    out_2 = tnn.GroupNormalization(groups=4, axis=-1, scale=False, center=False)(torch.as_tensor(_IN))
    _close("groups=-1 vs groups=4", out_1, _np(out_2))


def test_correctness_instance_norm():
    out = tnn.GroupNormalization(groups=4, axis=-1, scale=False, center=False)(torch.as_tensor(_IN))
    _close("instance norm", out, [[[-1.0, -1.0, 1.0, 1.0], [1.0, 1.0, -1.0, -1.0]]], atol=1e-3)


def test_correctness_1d():
    x = torch.as_tensor(np.array([[-1.0, -1.0, 1.0, 1.0, 2.0, 2.0, 0, -2.0]]))
    _close("1d, 1 group", tnn.GroupNormalization(groups=1, axis=-1, scale=False, center=False)(x),
           [[-0.898, -0.898, 0.539, 0.539, 1.257, 1.257, -0.180, -1.616]], atol=1e-3)
    _close("1d, 2 groups", tnn.GroupNormalization(groups=2, axis=1, scale=False, center=False)(x),
           [[-1.0, -1.0, 1.0, 1.0, 0.904, 0.904, -0.301, -1.507]], atol=1e-3)


def test_correctness_2d():
    x = torch.as_tensor(np.array([[[-1.0, -1.0, 2.0, 2.0], [1.0, 1.0, 0, -2.0]]]))
    _close("2d, 1 group", tnn.GroupNormalization(groups=1, axis=-1, scale=False, center=False)(x),
           [[[-0.898, -0.898, 1.257, 1.257], [0.539, 0.539, -0.180, -1.616]]], atol=1e-3)
    _close("2d, 2 groups", tnn.GroupNormalization(groups=2, axis=2, scale=False, center=False)(x),
           [[[-1.0, -1.0, 0.904, 0.904], [1.0, 1.0, -0.301, -1.507]]], atol=1e-3)


def test_broadcasting_2d_channels_first():
    x = torch.arange(16, dtype=torch.float32).reshape(1, 4, 2, 2)
    row = [[[-1.5274, -1.0910], [-0.6546, -0.2182]], [[0.2182, 0.6546], [1.0910, 1.5274]]]
    _close("channels first", tnn.GroupNormalization(groups=2, axis=1)(x), [row + row], atol=1e-3)


def test_large_value_within_autocast_scope():
    """gamma set to 70000 (beyond float16) inside an autocast region keeps its value and dtype (Keras's variables
    are not autocast)."""
    layer = tnn.GroupNormalization(groups=2, num_channels=4)
    large = torch.full(layer.weight.shape, 70000.0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        with torch.no_grad():
            layer.weight.copy_(large)
        _close("gamma", layer.weight, _np(large))
        assert layer.weight.dtype == torch.float32


def test_mixed_precision_large_input_no_nan():
    """Inputs above float16's max to a float16 layer (Keras's mixed_float16): normalised in float32 first, no
    inf/NaN (keras-team/keras#22586)."""
    x = torch.full((2, 4, 8), 70000.0)
    out = tnn.GroupNormalization(groups=2, dtype=torch.float16)(x)
    assert out.dtype == torch.float16 and not torch.isnan(out).any() and not torch.isinf(out).any()
    print(f"float16 layer, float32 input 70000: output {out.unique().tolist()}")


# ==========================================================================
# upstream: spectral_normalization_test.py (SpectralNormalizationTest)
# ==========================================================================

def test_basic_spectralnorm():
    layer = tnn.SpectralNormalization(torch.nn.Linear(4, 2))
    out = layer(torch.rand(10, 3, 4))
    assert tuple(out.shape) == (10, 3, 2)
    assert len([p for p in layer.parameters() if p.requires_grad]) == 2 and len(list(layer.buffers())) == 1
    layer = tnn.SpectralNormalization(torch.nn.Embedding(10, 4))
    out = layer(torch.randint(10, (10,)))
    assert tuple(out.shape) == (10, 4)
    assert len(list(layer.parameters())) == 1 and len(list(layer.buffers())) == 1


def test_spectralnorm_higher_dim():
    layer = tnn.SpectralNormalization(torch.nn.Linear(5, 2))
    assert tuple(layer(torch.rand(10, 3, 4, 5)).shape) == (10, 3, 4, 2)


def test_invalid_power_iterations():
    with pytest.raises(ValueError, match="`power_iterations` should be greater than zero."):
        tnn.SpectralNormalization(torch.nn.Linear(2, 2), power_iterations=0)


def test_invalid_layer():
    with pytest.raises(ValueError, match="object has no attribute 'kernel' nor 'embeddings'"):
        tnn.SpectralNormalization(torch.nn.ReLU())


def test_apply_layer():
    conv = torch.nn.Conv2d(1, 1, (2, 2))
    torch.nn.init.ones_(conv.weight)
    torch.nn.init.zeros_(conv.bias)
    sn_wrapper = tnn.SpectralNormalization(conv, power_iterations=8)
    images = torch.ones(1, 1, 2, 2)
    result = sn_wrapper.eval()(images)
    result_train = sn_wrapper.train()(images)
    _close("inference", result, [[[[4.0]]]])
    _close("training (max singular value of the ones kernel is 2)", result_train, [[[[2.0]]]])


def test_zero_kernel_left_alone():
    """Keras's ``ops.cond``: an all-zero kernel is not normalised and ``vector_u`` is not updated."""
    sn = tnn.SpectralNormalization(torch.nn.Linear(3, 2, bias=False))
    torch.nn.init.zeros_(sn.layer.weight)
    u = sn.vector_u.clone()
    assert torch.equal(sn.train()(torch.ones(1, 3)), torch.zeros(1, 2))
    assert torch.equal(sn.vector_u, u) and torch.equal(sn.layer.weight, torch.zeros(2, 3))


def test_inventory_names_exist():
    """``test_keras_reference_gapfill2.TRANSLATED`` maps the upstream methods to tests of this file: they exist."""
    from parity_tests.test_keras_reference_gapfill2 import TRANSLATED

    mine = [v.split("::")[1].split()[0] for v in TRANSLATED.values()
            if v.startswith("test_group_spectral_norm_keras.py::")]
    print(f"{len(mine)} upstream methods translated here")
    assert len(mine) == 17 and all(callable(globals().get(n)) for n in mine), [n for n in mine if n not in globals()]

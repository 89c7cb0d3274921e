"""``keras_ops.image``'s ``affine_transform``, ``perspective_transform``, ``map_coordinates``,
``elastic_transform``, ``scale_and_translate`` and ``resize``'s ``'bicubic'``/``'area'``/``'lanczos3'``/
``'lanczos5'``/``antialias=True`` (``torch_impl._keras_ops_nn_image``) against Keras 3.15.1's ``keras.ops.image``
on TensorFlow 2.21.

1. Value (dtype and shape included) and the gradient of ``sum(out * c)`` (``compare``/``run_cases`` of
   test_keras_ops_keras; float64 default, float32 ``slow``), 63 cases: affine transforms with both
   interpolations and the four fill modes, projective ``c0``/``c1`` terms, one transform for a batch and one per
   image, channels_first, unbatched, a float64 rotation (TensorFlow's gradient resamples the incoming gradient by
   the inverse transform); perspective transforms batched and unbatched, nearest, channels_first; map_coordinates
   of orders 0 and 1 in the five fill modes on 2-D and 3-D inputs, float32 coordinates of float64 inputs, ties at
   .5, NaN/inf coordinates; elastic transforms (int seeds incl. negative and > 2**32, bilinear/nearest, the four
   fill modes, channels_first, unbatched, ``sigma < 1``); resize's TensorFlow kernels (``ResizeBicubic``,
   ``ResizeArea``, ``ScaleAndTranslate``) up and down, with crop, channels_first; Keras's own
   ``scale_and_translate`` (the four kernels, one or two dimensions, gradients to images, scale, translation).
2. ``elastic_transform`` with a ``SeedGenerator`` (two draws, the state after) and ``seed=None`` after
   ``set_random_seed``: Keras's values.
3. The result dtype for bool/int8/uint8/int32/int64/float16/bfloat16/float32/float64 images (values exact for
   integer results): Keras's, and an error wherever Keras raises; Keras's signatures; the inputs Keras rejects;
   the gradients TensorFlow refuses (``'area'``; ``ScaleAndTranslateGrad`` of non-float32 images).
4. Keras's quirks pinned with Keras's own numbers.

Measured (this machine, CPU; largest relative error against Keras; "0" is equal bit for bit):

=============================================  ==========================  ================================
check                                          float64                     float32 (``slow``)
=============================================  ==========================  ================================
affine (13 cases), perspective (4)             0 / 0                       0 / 0
map_coordinates (16)                           0 / 1.7e-16                 0 / 3.1e-7
elastic_transform (6)                          3.4e-14 / 8.9e-13 (entries  2.8e-5 / 1.6e-4 (entries near
                                               near 0; abs <= 2e-15)       0, within atol 1e-6)
resize bicubic/area/lanczos/antialias (18)     0 / 7.8e-16 (bicubic)       0 / 4.0e-7 (bicubic)
scale_and_translate (6)                        5.2e-15 / 1.4e-14           8.4e-7 / 1.2e-5
elastic, SeedGenerator (2 draws) / None        <= 1.6e-15, state (42, 2)   --
dtype checks                                   108: 0 differences          (same test; 20 raise in both)
20 error inputs, 10 refused gradients          raise in both               (same test)
=============================================  ==========================  ================================

Keras quirks matched: ``affine_transform``/``perspective_transform`` bilinear computes in float32 (float64
images too) and their gradient is TensorFlow's registered one (the incoming gradient resampled by the inverse
transform, not the adjoint of the resampling: 0.15 off torch's autograd on a rotation); perspective's homography
and the gradient's inverse are TensorFlow's float32 ``MatrixSolve``/``MatrixInverse`` (Eigen's partial-pivot LU,
replayed: equal bit for bit); ``map_coordinates``' ``'reflect'``/``'mirror'`` fold ``abs(index)`` (``-1`` reads
index 1, scipy's: 0) and ``'mirror'`` raises where an index reaches ``size`` mod ``2 size``; integer coordinates
with ``order=0`` truncate float inputs; an invalid ``fill_mode`` raises AttributeError; ``elastic_transform``
draws ``dx`` and ``dy`` with the same seed (the displacement is equal along both axes) from Keras's uncast seed;
resize's other methods compute in float32 (bicubic's weights from a 1024-step table); TensorFlow has no gradient
for ``'area'`` and none for float64/half images through ``ScaleAndTranslate``; Keras's ``scale_and_translate``
raises on integer images and on a ``tf.Variable`` (it reads ``images.ndim``).
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

import torch  # noqa: E402

from parity_tests.test_field_scripts_round2 import _precision  # noqa: E402
from parity_tests.test_keras_ops_keras import KO, TO, run_cases  # noqa: E402
from torch_impl import keras_random as TR  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

nan, inf = np.nan, np.inf

NEW = ("affine_transform", "perspective_transform", "map_coordinates", "elastic_transform", "scale_and_translate",
       "resize")


def _img(d, shape=(2, 7, 9, 3), seed=5):
    return np.random.default_rng(seed).uniform(size=shape).astype(d)


_T2 = np.array([[1.2, 0.3, -1.5, -0.2, 0.9, 0.7, 0.01, -0.02], [0.8, 0.0, 1.25, 0.0, 1.1, -0.5, 0.0, 0.0]],
               np.float32)


def _rotation(angle=0.4, h=7, w=9):
    """Keras's rotation about the image centre (RandomRotation's matrix), float64."""
    c, s = np.cos(angle), np.sin(angle)
    x_off = ((w - 1) - (c * (w - 1) - s * (h - 1))) / 2
    y_off = ((h - 1) - (s * (w - 1) + c * (h - 1))) / 2
    return np.array([c, -s, x_off, s, c, y_off, 0.0, 0.0])


_SP = np.array([[[0, 0], [8, 0], [8, 6], [0, 6]], [[1, 0.5], [7, 1], [8, 6], [0.5, 5]]], np.float32)
_EP = np.array([[[0.5, 0.2], [7.5, 1], [8, 5.5], [1, 6]], [[0, 0], [8, 0], [8, 6], [0, 6]]], np.float32)


def _coords(d, shape=(5, 6), out=(4, 5), lo=-3.0, hi=None, seed=9):
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(lo, (n + 3.0) if hi is None else hi(n), size=out) for n in shape]).astype(d)


def _mirror_safe(d):  # indices stay off size (mod 2 size): Keras's 'mirror' gathers out of range there
    return _coords(d, lo=-3.9, hi=lambda n: n - 1.01)


def _ties(d):  # .5 ties (round half to even), whole numbers, -0., NaN, +-inf
    return np.array([[0.5, 1.5, 2.5, -0.5, 3.0, -0.0, nan, inf, 1.0],
                     [2.5, 0.5, -1.5, 4.5, 1.0, 0.0, 1.0, 1.0, -inf]], d)


def _aff(interp, fm, fill=0.3, df=None):
    return lambda o, x, t: o.image.affine_transform(x, t, interp, fm, fill_value=fill, data_format=df)


def _map(order, fm, fill=-2.0):
    return lambda o, x, c: o.image.map_coordinates(x, c, order, fm, fill_value=fill)


def _el(**kw):
    return lambda o, x: o.image.elastic_transform(x, **kw)


IMG = lambda d: [_img(d), _T2]  # noqa: E731
CASES = [
    *[(f"affine {i} {fm}", _aff(i, fm), IMG, (0,)) for i in ("bilinear", "nearest")
      for fm in ("constant", "nearest", "wrap", "reflect")],
    ("affine one transform, float64", _aff("bilinear", "reflect"), lambda d: [_img(d), _rotation()], (0,)),
    ("affine rotation (1, 8), wrap", _aff("bilinear", "wrap"), lambda d: [_img(d), _rotation()[None]], (0,)),
    ("affine channels_first unbatched", _aff("bilinear", "constant", 0.0, "channels_first"),
     lambda d: [_img(d, (3, 7, 9)), _T2[0]], (0,)),
    ("affine nearest channels_first", _aff("nearest", "nearest", 0.0, "channels_first"),
     lambda d: [_img(d, (2, 3, 7, 9)), _T2], (0,)),
    ("affine defaults", lambda o, x, t: o.image.affine_transform(x, t), lambda d: [_img(d), _T2[1]], (0,)),
    ("perspective batched", lambda o, x, s, e: o.image.perspective_transform(x, s, e, fill_value=0.1),
     lambda d: [_img(d), _SP, _EP], (0, 1, 2)),
    ("perspective nearest", lambda o, x, s, e: o.image.perspective_transform(x, s, e, "nearest"),
     lambda d: [_img(d), _SP, _EP], (0,)),
    ("perspective unbatched channels_first",
     lambda o, x, s, e: o.image.perspective_transform(x, s, e, data_format="channels_first"),
     lambda d: [_img(d, (3, 7, 9)), _SP[1], _EP[0]], (0,)),
    ("perspective one pair for a batch", lambda o, x, s, e: o.image.perspective_transform(x, s, e),
     lambda d: [_img(d), _SP[1].astype(np.float64), _EP[0]], (0,)),
    *[(f"map order {k} {fm}", _map(k, fm), lambda d: [_img(d, (5, 6)), _coords(d)], (0, 1))
      for k in (0, 1) for fm in ("constant", "nearest", "wrap", "reflect")],
    *[(f"map order {k} mirror", _map(k, "mirror"), lambda d: [_img(d, (5, 6)), _mirror_safe(d)], (0, 1))
      for k in (0, 1)],
    ("map 3-D order 1 wrap", _map(1, "wrap"), lambda d: [_img(d, (3, 4, 5)), _coords(d, (3, 4, 5), (2, 3))],
     (0, 1)),
    ("map 3-D order 0 constant", _map(0, "constant", 0.5),
     lambda d: [_img(d, (3, 4, 5)), _coords(d, (3, 4, 5), (2, 3))], (0, 1)),
    ("map float32 coordinates", _map(1, "reflect"), lambda d: [_img(d, (5, 6)), _coords("float32")], (0, 1)),
    *[(f"map ties NaN inf order {k} {fm}", _map(k, fm), lambda d: [_img(d, (5, 6)), _ties(d)], (0,))
      for k in (0, 1) for fm in ("constant", "nearest")],
    ("elastic int seed", _el(alpha=3.0, sigma=1.3, seed=3), lambda d: [_img(d)], (0,)),
    ("elastic nearest constant", _el(alpha=3.0, sigma=1.3, interpolation="nearest", fill_mode="constant",
                                     fill_value=0.5, seed=11), lambda d: [_img(d)], (0,)),
    ("elastic wrap", _el(alpha=4.0, sigma=2.0, fill_mode="wrap", seed=12), lambda d: [_img(d)], (0,)),
    ("elastic nearest", _el(alpha=4.0, sigma=0.7, fill_mode="nearest", seed=2 ** 33 + 7), lambda d: [_img(d)],
     (0,)),
    ("elastic channels_first unbatched", _el(alpha=2.0, sigma=1.0, seed=-5, data_format="channels_first"),
     lambda d: [_img(d, (2, 7, 9))], (0,)),
    ("elastic defaults, seed", _el(seed=4), lambda d: [_img(d, (1, 12, 13, 1))], (0,)),
    # resize's TensorFlow kernels (float32 results; ScaleAndTranslateGrad takes float32 images: cast first)
    *[(f"resize bicubic {size}", lambda o, x, size=size: o.image.resize(x, size, "bicubic"), lambda d: [_img(d)],
       (0,)) for size in ((3, 4), (11, 17), (5, 13))],
    ("resize bicubic channels_first unbatched", lambda o, x: o.image.resize(x, (4, 11), "bicubic",
                                                                           data_format="channels_first"),
     lambda d: [_img(d, (3, 7, 9))], ()),
    *[(f"resize area {size}", lambda o, x, size=size: o.image.resize(x, size, "area"), lambda d: [_img(d)], ())
      for size in ((3, 4), (11, 17), (5, 13))],
    *[(f"resize {m} antialias={aa} {size}",
       lambda o, x, m=m, aa=aa, size=size: o.image.resize(o.cast(x, "float32"), size, m, antialias=aa),
       lambda d: [_img(d)], (0,))
      for m, aa in (("bilinear", True), ("bicubic", True), ("lanczos3", False), ("lanczos5", True))
      for size in ((3, 4), (11, 17))],
    ("resize lanczos3 float64 values", lambda o, x: o.image.resize(x, (5, 13), "lanczos3"), lambda d: [_img(d)], ()),
    ("resize lanczos5 crop_to_aspect_ratio", lambda o, x: o.image.resize(
        o.cast(x, "float32"), (4, 8), "lanczos5", crop_to_aspect_ratio=True), lambda d: [_img(d)], (0,)),
    # Keras's own scale_and_translate (o.multiply(x, 1): Keras's reads images.ndim, which a tf.Variable lacks)
    *[(f"scale_and_translate {m} antialias={aa}", lambda o, x, s, t, m=m, aa=aa: o.image.scale_and_translate(
        o.multiply(x, 1), (2, 5, 11, 3), s, t, (1, 2), m, aa), lambda d: [_img(d), np.array([0.5, 1.5], d),
                                                                        np.array([0.1, -0.3], d)], (0, 1, 2))
      for m, aa in (("linear", True), ("bilinear", False), ("cubic", True), ("lanczos3", False),
                    ("lanczos5", True))],
    ("scale_and_translate one dim, float32 scale", lambda o, x, s, t: o.image.scale_and_translate(
        o.multiply(x, 1), (2, 7, 4, 3), s, t, (-2,), "tricubic"),
     lambda d: [_img(d), np.array([0.4], np.float32), np.array([0.25], np.float32)], (0,)),
]


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_image_transforms_like_keras(dt):
    """Every case of CASES: value, dtype, gradients."""
    run_cases(CASES, dt)


def test_elastic_transform_seed_generator_and_global_like_keras():
    """A ``SeedGenerator`` (Keras's ``keras.random.SeedGenerator`` / ``keras_random.SeedGenerator``) advances once
    per call, and ``seed=None`` draws from the global generator (after ``set_random_seed``): Keras's values."""
    x = _img("float64", (1, 8, 9, 2))
    worst = 0.0
    with _precision("float64"):
        kg, tg = keras.random.SeedGenerator(42), TR.SeedGenerator(42)
        for _ in range(2):
            k = KO.image.elastic_transform(tf.constant(x), 5.0, 1.5, seed=kg).numpy()
            t = TO.image.elastic_transform(torch.tensor(x), 5.0, 1.5, seed=tg).numpy()
            np.testing.assert_allclose(t, k, rtol=1e-12, atol=1e-14)
            worst = max(worst, float(np.max(np.abs(t - k))))
        assert tuple(int(v) for v in kg.state.numpy()) == tg.state == (42, 2)
        keras.utils.set_random_seed(123)  # each makes its global generator from Python's random on first use
        k = KO.image.elastic_transform(tf.constant(x), 5.0, 1.5).numpy()
        TR.set_random_seed(123)
        t = TO.image.elastic_transform(torch.tensor(x), 5.0, 1.5).numpy()
        np.testing.assert_allclose(t, k, rtol=1e-12, atol=1e-14)
        worst = max(worst, float(np.max(np.abs(t - k))))
    print(f"elastic_transform with SeedGenerator(42) x2 and seed=None: largest difference {worst:.1e}, state (42, 2)")


_DTYPES = ["bool", "int8", "uint8", "int32", "int64", "float16", "bfloat16", "float32", "float64"]

DTYPE_FNS = {
    "affine_transform": lambda o, x: o.image.affine_transform(x, np.array([1, 0, 0.5, 0, 1, -1, 0, 0], np.float32)),
    "affine_transform nearest": lambda o, x: o.image.affine_transform(
        x, np.array([1, 0, 0.5, 0, 1, -1, 0, 0], np.float32), "nearest", "reflect"),
    "perspective_transform": lambda o, x: o.image.perspective_transform(x, _SP[0], _EP[0] * 0.5),
    "map_coordinates order 1": lambda o, x: o.image.map_coordinates(
        x, np.array([[0.5, 1.25, -1.0], [2.5, 0.75, 1.0], [0, 0, 0]], np.float32), 1),
    "map_coordinates order 0": lambda o, x: o.image.map_coordinates(
        x, np.array([[0.5, 1.5, 2.0], [2.5, 0.75, 1.0], [0, 0, 0]], np.float32), 0, "wrap"),
    "map_coordinates int coordinates": lambda o, x: o.image.map_coordinates(
        x, np.array([[0, 1, 2], [3, 0, 1], [0, 0, 0]], np.int32), 0),
    "elastic_transform": lambda o, x: o.image.elastic_transform(x, 2.0, 1.0, seed=1),
    "resize bicubic": lambda o, x: o.image.resize(x, (5, 3), "bicubic"),
    "resize area": lambda o, x: o.image.resize(x, (2, 3), "area"),
    "resize lanczos3": lambda o, x: o.image.resize(x, (5, 7), "lanczos3"),
    "resize bilinear antialias": lambda o, x: o.image.resize(x, (2, 3), antialias=True),
    "scale_and_translate": lambda o, x: o.image.scale_and_translate(
        x, (5, 3, 2), np.array([1.7, 0.6], np.float32), np.array([0.2, 0.0], np.float32), (0, 1), "cubic"),
}


def _sample(dt: str):
    v = np.array([[1.75, 0, 3.25, 2], [2, 2.5, 0, 1], [0, 1, 1.5, 3]])[..., None] * np.array([1.0, 2.0])
    if dt == "bool":
        return (v > 1.5), None
    if dt == "bfloat16":
        return v.astype(np.float32), "bfloat16"
    return v.astype(dt), None


def _call(fn, module, x, cast):
    try:
        if module is KO:
            t = tf.constant(x)
            out = fn(KO, tf.cast(t, cast) if cast else t)
            return tf.cast(out, "float32").numpy() if cast and out.dtype == tf.bfloat16 else np.asarray(out), \
                str(out.dtype.name)
        t = torch.from_numpy(x)
        out = fn(TO, t.to(torch.bfloat16) if cast else t)
        return out.float().numpy() if out.dtype == torch.bfloat16 else out.numpy(), str(out.dtype)[6:]
    except Exception as e:  # noqa: BLE001 - compared below: both must raise
        return e, None


def test_image_transform_dtypes_like_keras():
    """Each function of DTYPE_FNS on every dtype: Keras's result dtype and value (exact for integer results,
    1e-2 for half types, 2e-6 for float32, 1e-12 for float64), and an error wherever Keras raises."""
    n, raised, failures = 0, 0, []
    with _precision("float32"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fn in DTYPE_FNS.items():
            for dt in _DTYPES:
                x, cast = _sample(dt)
                (kv, kd), (tv, td) = _call(fn, KO, x, cast), _call(fn, TO, x, cast)
                n += 1
                if isinstance(kv, Exception) or isinstance(tv, Exception):
                    if not (isinstance(kv, Exception) and isinstance(tv, Exception)):
                        failures.append(f"{name}({dt}): Keras {kv!r:.150}, ours {tv!r:.150}")
                    raised += 1
                    continue
                # float32 results: TensorFlow's float32 kernels round as the CPU's vector unit allows (a ulp apart
                # on an AMD EPYC where an Intel host gave the same bits)
                tol = (1e-2 if dt in ("float16", "bfloat16") else 2e-6 if kv.dtype == np.float32
                       else 1e-12 if kv.dtype.kind == "f" else 0.0)
                if kd != td or kv.shape != tv.shape or not np.allclose(tv, kv, rtol=tol, atol=tol, equal_nan=True):
                    failures.append(f"{name}({dt}): ours {td} {tv.ravel()[:6]}, Keras {kd} {kv.ravel()[:6]}")
    print(f"{n} dtype checks ({raised} raise in both); {len(failures)} differences")
    assert not failures, "\n".join(failures)


def test_image_transform_signatures_like_keras():
    """Keras's argument names, order and defaults."""
    for name in NEW:
        ks, ts = (inspect.signature(getattr(m.image, name)).parameters.values() for m in (KO, TO))
        assert [(p.name, p.default, p.kind) for p in ts] == [(p.name, p.default, p.kind) for p in ks], name
    print(f"{len(NEW)} functions: keras.ops.image's signatures")


def test_image_transform_errors_like_keras():
    """Inputs Keras rejects: we raise too (the same exception type where Keras's is a Python one)."""
    img, t = np.ones((2, 5, 6, 1)), np.array([1, 0, 0, 0, 1, 0, 0, 0], np.float32)
    pts = _SP[0]
    cases = [
        ("affine interpolation", lambda o: o.image.affine_transform(img, t, "bicubic"), ValueError),
        ("affine fill_mode", lambda o: o.image.affine_transform(img, t, fill_mode="mirror"), ValueError),
        ("affine rank 2 images", lambda o: o.image.affine_transform(img[0, :, :, 0], t), ValueError),
        ("affine rank 3 transform", lambda o: o.image.affine_transform(img, t[None, None]), ValueError),
        ("affine data_format", lambda o: o.image.affine_transform(img, t, data_format="nhwc"), ValueError),
        ("affine 3 transforms for 2 images", lambda o: o.image.affine_transform(img, np.stack([t] * 3)), Exception),
        ("perspective points shape", lambda o: o.image.perspective_transform(img, pts[:3], pts[:3]), ValueError),
        ("perspective shapes differ", lambda o: o.image.perspective_transform(img, pts, _SP), ValueError),
        ("perspective singular", lambda o: o.image.perspective_transform(img, pts, np.zeros((4, 2))), Exception),
        ("map leading dim", lambda o: o.image.map_coordinates(img[0, :, :, 0], np.zeros((3, 2)), 1), ValueError),
        ("map rank 1 coordinates", lambda o: o.image.map_coordinates(np.ones(4), np.zeros(1), 1), ValueError),
        ("map order 3", lambda o: o.image.map_coordinates(np.ones(4), np.zeros((1, 2)), 3), NotImplementedError),
        ("map fill_mode", lambda o: o.image.map_coordinates(np.ones(4), np.zeros((1, 2)), 1, "foo"),
         AttributeError),
        ("map mirror at size", lambda o: o.image.map_coordinates(np.ones(4), np.array([[4.0]]), 0, "mirror"),
         Exception),
        ("map order 1 int coordinates", lambda o: o.image.map_coordinates(np.ones(4), np.array([[1]]), 1),
         Exception),
        ("elastic fill_mode mirror", lambda o: o.image.elastic_transform(img, fill_mode="mirror"), ValueError),
        ("elastic integer images", lambda o: o.image.elastic_transform(img.astype(np.int32), seed=1), Exception),
        ("elastic seed type", lambda o: o.image.elastic_transform(img, seed="a"), ValueError),
        ("scale_and_translate method", lambda o: o.image.scale_and_translate(
            img, (2, 3, 3, 1), np.ones(2), np.zeros(2), (1, 2), "area"), ValueError),
        ("resize interpolation", lambda o: o.image.resize(img, (3, 3), "gaussian"), ValueError),
    ]
    for name, fn, kind in cases:
        with pytest.raises(kind):
            fn(KO)
        with pytest.raises(kind):
            fn(TO)
    print(f"{len(cases)} inputs raise in both")


def _resize_grad(o, x, interpolation, antialias):
    if o is KO:
        v = tf.Variable(x)
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(KO.image.resize(v, (3, 4), interpolation, antialias=antialias))
        return tape.gradient(y, v)
    v = torch.tensor(x, requires_grad=True)
    TO.image.resize(v, (3, 4), interpolation, antialias=antialias).sum().backward()
    return v.grad


def test_resize_gradients_tensorflow_refuses():
    """TensorFlow registers no gradient for ``'area'`` (LookupError) and its ``ScaleAndTranslateGrad`` kernel
    takes float32 images only (``antialias=True``/Lanczos of float64 or float16 images raise): ours raise too;
    bicubic has a gradient in float32/float64 and none (zeros here) for float16."""
    x = _img("float64", (1, 5, 6, 2))
    n = 0
    for interp, aa, dt in (("area", False, "float64"), ("area", True, "float32"), ("lanczos3", False, "float64"),
                           ("bilinear", True, "float16"), ("bicubic", True, "float64")):
        for o in (KO, TO):
            with pytest.raises(Exception):
                _resize_grad(o, x.astype(dt), interp, aa)
            n += 1
    kg = _resize_grad(KO, x.astype(np.float16), "bicubic", False)
    tg = _resize_grad(TO, x.astype(np.float16), "bicubic", False)
    assert kg is None and (tg is None or not torch.any(tg))
    print(f"{n} gradient calls raise in both; float16 bicubic: no gradient in both")


def test_image_transform_quirks_pinned():
    """Keras's quirks with Keras's own numbers: the gradient of an affine transform is TensorFlow's (the inverse
    transform applied to the incoming gradient), not the adjoint that torch's autograd of the same resampling
    gives; map_coordinates' 'reflect' reads index 1 at -1 (scipy's: 0); integer coordinates truncate float
    inputs; elastic_transform's displacement is equal along both axes."""
    from torch_impl.image import affine_transform as plain_affine
    x = _img("float64", (1, 7, 9, 1))
    tr = _rotation()
    xv = tf.Variable(x)
    with tf.GradientTape() as tape:
        s = tf.reduce_sum(KO.image.affine_transform(xv, tr) * np.arange(63.0).reshape(1, 7, 9, 1))
    kg = tape.gradient(s, xv).numpy()
    xt = torch.tensor(x, requires_grad=True)
    (TO.image.affine_transform(xt, tr) * torch.arange(63.0).reshape(1, 7, 9, 1)).sum().backward()
    np.testing.assert_array_equal(xt.grad.numpy(), kg)
    xa = torch.tensor(x, requires_grad=True)
    (plain_affine(xa, tr, data_format="channels_last") * torch.arange(63.0).reshape(1, 7, 9, 1)).sum().backward()
    adjoint_off = float(np.max(np.abs(xa.grad.numpy() - kg)) / np.max(np.abs(kg)))
    assert adjoint_off > 1e-2
    row = np.array([10.0, 20.0, 30.0])
    for o in (KO, TO):
        r = np.asarray(o.image.map_coordinates(row, np.array([[-1.0, 3.0, -2.0]]), 0, "reflect"))
        np.testing.assert_array_equal(r, [20.0, 30.0, 30.0])  # scipy's reflect: [10, 30, 20]
        r = np.asarray(o.image.map_coordinates(row + 0.75, np.array([[0, 2]], np.int32), 0))
        np.testing.assert_array_equal(r, [10.0, 30.0])  # the values truncated to int32
    # one field along both axes: a column ramp moves by alpha * dx, a row ramp by alpha * dy; equal inside
    ramp = np.broadcast_to(np.arange(9.0), (9, 9))
    outs = []
    for o, conv in ((KO, tf.constant), (TO, torch.tensor)):
        pair = [np.asarray(o.image.elastic_transform(conv(r[None, :, :, None].copy()), 2.0, 1.0, "bilinear",
                                                     "nearest", seed=7))[0, :, :, 0] for r in (ramp, ramp.T)]
        outs.append(pair)
    (k1, k2), (t1, t2) = outs
    np.testing.assert_allclose(np.stack([t1, t2]), np.stack([k1, k2]), rtol=1e-12, atol=1e-13)
    inside = (k1 > 0) & (k1 < 8) & (k2 > 0) & (k2 < 8)
    assert inside.sum() > 40
    np.testing.assert_allclose((k1 - ramp)[inside], (k2 - ramp.T)[inside], rtol=0, atol=1e-12)  # dx == dy
    print(f"affine gradient: TensorFlow's inverse resampling, {adjoint_off:.2f} off the adjoint (relative, max); "
          "reflect(-1) reads index 1; int coordinates truncate; elastic dx == dy")

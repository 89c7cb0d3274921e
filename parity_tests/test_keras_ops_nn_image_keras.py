"""keras.ops's nn and image functions of ``torch_impl._keras_ops_nn_image`` (``torch_impl.keras_ops.celu`` ...
``keras_ops.image.ssim``) against Keras 3.15.1's ``keras.ops`` on TensorFlow 2.21.

1. Value (dtype and shape included) and the gradient of ``sum(out * c)`` of one case per edge (the activations at
   0, -0, +-thresholds, +-1, NaN and +-inf; sparsemax with supports of 1 to all entries; normalizations over tuples
   of axes, with and without scale/offset; segment reductions with ties, empty segments, zeros and negative ids;
   convolutions, transposed convolutions and pools with 'same'/'valid', strides, dilation, output_padding,
   channels_first, grouped, ties in a max window; attention with causal/explicit masks, a fully masked row, bias,
   grouped heads; SSIM batched/unbatched, channels_first, max_val 255; bilinear/nearest resize up and down, crop
   and pad to the aspect ratio; HSV with ties and greys), with ``compare`` of test_keras_ops_keras (float64
   default, float32 ``slow``).
2. The result dtype on bool/int8/uint8/int32/int64/float16/float32/float64 under floatx float32 and float64:
   Keras's dtype and value, and an error wherever Keras raises.
3. Keras's signatures (41 functions, ``ops.image.*`` included); Keras's errors for the inputs it rejects; the
   quirks pinned with Keras's own numbers; ``in_top_k`` (float32 only) on ties, NaN/inf rows, ids out of range.

Measured (this machine, CPU; largest relative error against Keras; the float32 worst cases are entries near 0,
within atol 1e-6):

===============================  ===========================  =================================
check                            float64                      float32 (``slow``)
===============================  ===========================  =================================
123 cases, value / gradient      1.0e-13 / 4.7e-12            1.3e-5 / 1.6e-3 (rtol 1e-5 atol
                                 (conv 'same' dilated, SSIM)  1e-6 everywhere)
in_top_k                         --                           20 cases equal
dtype checks (section 2)         672 checks: 0 differences    (same test; 248 raise in both)
14 error inputs                  raise in both                (same test)
conv_transpose dilation 2        adjoint of conv: 1.0e-14     (Keras on CPU raises)
3-D adaptive pools               --                           1.8e-7 / 1.0e-7
===============================  ===========================  =================================

Keras quirks matched (see torch_impl/_keras_ops_nn_image.py): ``sparsemax``'s threshold sums the cumulative sums
over the support (``sparsemax([0.5, 0.4, -1])`` is ``[0.3, 0.2, 0]``); ``in_top_k`` takes float32 predictions
only; unsorted ``segment_max`` of an empty segment is the dtype's lowest finite value (sorted: 0); ``celu``'s
gradient at 0 is 2; ``ssim``/``rms_normalization``/``layer_normalization`` of integer inputs return integers;
bilinear ``resize`` computes in float32 (float64 images too: exact equality with TensorFlow's float32 kernel);
``gaussian_blur`` scrambles a non-square kernel; ``hsv_to_rgb`` has no gradient; ``dot_product_attention``'s
scale is a float32 number; max pools ignore NaN in the value (floor at the lowest finite float) while
``MaxPoolGrad`` keeps a NaN first entry; segment max/min fold NaN in data order; ``resize``'s ``saturate_cast``
turns ``inf`` into 3.4028235e38. TensorFlow's adaptive max pool gradient with NaN inputs reads uninitialized memory
(a different garbage each run): that case checks values only. ``sparsemax`` of a row holding NaN sorts it as
TensorFlow's ``top_k`` does (libstdc++'s ``std::sort``; a strict xfail until h47).
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
from parity_tests.test_keras_backend_keras import _x  # noqa: E402
from parity_tests.test_keras_ops_keras import KO, TO, _dtype_check, compare, run_cases  # noqa: E402
from torch_impl import _keras_ops_nn_image as NI  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

nan, inf = np.nan, np.inf


def _edges(d):
    """(3, 8): 0, -0, +-0.5 (the default shrink thresholds), +-1, +-2.5, then normal values."""
    x = np.random.default_rng(11).normal(size=(3, 8)) * 1.5
    x[0] = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.5, -2.5]
    return [x.astype(d)]


X = lambda d: [_x(d)]  # noqa: E731
NAN = lambda d: [np.array([nan, 0.0, -1.0, 2.0, -0.0, inf, -inf, 3.0], d)]  # noqa: E731
E = _edges


def _sm(d):
    """Rows whose sparsemax support has 1, 2, 3 and all entries (no ties)."""
    return [np.array([[3.0, 0.1, -0.2, 0.4], [0.5, 0.4, -1.0, -2.0], [0.3, 0.2, 0.25, -1.0],
                      [0.01, 0.02, -0.03, 0.04]], d)]


def _seg(d):
    data = np.array([[1.0, 2.0], [3.0, 2.0], [-1.0, 0.0], [5.0, 5.0], [0.0, 4.0], [2.0, -3.0]], d)
    return [data, np.array([0, 0, 1, 3, 3, 3], np.int32)]


def _seg_unsorted(d):
    data = np.array([[1.0, 2.0], [3.0, 2.0], [-1.0, 0.0], [5.0, 5.0], [0.0, 0.0], [2.0, -3.0]], d)
    return [data, np.array([3, 0, -1, 3, 0, 3], np.int32)]


def _seg_nan(d):
    data = np.array([[nan, 1.0], [1.0, nan], [2.0, 3.0], [nan, 3.0], [nan, nan], [nan, 0.5], [3.0, -1.0],
                     [3.0, 2.0], [nan, 4.0]], d)
    return [data, np.array([0, 0, 1, 1, 2, 3, 3, 3, 4], np.int32)]


def _pool_nan(d):
    """Windows of NaN only, -inf only, NaN then -inf, NaN first then numbers, numbers then NaN; +inf."""
    x = np.array([[nan, nan, -inf, -inf, nan, -inf, nan, 1.0], [nan, nan, -inf, -inf, nan, nan, 2.0, nan],
                  [0.5, nan, inf, 0.25, -1.0, 3.0, 0.0, nan], [nan, 0.5, 0.1, 0.2, 2.0, 1.0, -0.0, 0.0]], d)
    return [x.reshape(1, 4, 8, 1)]


def _img(d, shape=(2, 8, 9, 3), seed=5):
    return np.random.default_rng(seed).uniform(size=shape).astype(d)


def _pair_img(d, shape=(2, 13, 12, 3)):
    a = _img(d, shape, 5)
    b = np.clip(a + np.random.default_rng(6).normal(scale=0.1, size=shape), 0, 1).astype(d)
    return [a, b]


def _rgb(d):
    """Pixels with every order of r, g, b, ties (grey, two equal), zeros and ones."""
    x = _img(d, (2, 4, 5, 3), 8)
    x[0, 0] = [[0.5, 0.5, 0.5], [0.0, 0.0, 0.0], [1.0, 0.2, 0.2], [0.2, 1.0, 0.2], [0.2, 0.2, 1.0]]
    x[0, 1] = [[0.7, 0.7, 0.1], [0.1, 0.7, 0.7], [0.7, 0.1, 0.7], [0.9, 0.0, 0.3], [0.0, 0.4, 0.8]]
    return [x]


def _conv_in(d, x_shape=(2, 7, 6, 3), k_shape=(3, 2, 3, 4)):
    rng = np.random.default_rng(9)
    return [rng.normal(size=x_shape).astype(d), rng.normal(size=k_shape).astype(d)]


def _ln(d):
    rng = np.random.default_rng(4)
    return [rng.normal(size=(3, 4, 5)).astype(d), rng.normal(size=(5,)).astype(d), rng.normal(size=(5,)).astype(d)]


def _bn(d):
    rng = np.random.default_rng(4)
    return [rng.normal(size=(3, 4, 5)).astype(d), rng.normal(size=(4,)).astype(d),
            rng.uniform(0.5, 2, size=(4,)).astype(d), rng.normal(size=(4,)).astype(d),
            rng.normal(size=(4,)).astype(d)]


def _attn(d, heads=2, kv_heads=None):
    rng = np.random.default_rng(12)
    kv = heads if kv_heads is None else kv_heads
    return [rng.normal(size=(2, 4, heads, 3)).astype(d), rng.normal(size=(2, 5, kv, 3)).astype(d),
            rng.normal(size=(2, 5, kv, 3)).astype(d)]


def _attn_mask():
    m = np.random.default_rng(13).uniform(size=(2, 1, 4, 5)) < 0.7
    m[0, 0, 1] = False
    return m


CASES = [
    # activations
    ("celu", lambda o, x: o.celu(x), E, (0,)),
    ("celu alpha=0.5", lambda o, x: o.celu(x, alpha=0.5), E, (0,)),
    ("celu nan/inf", lambda o, x: o.celu(x), lambda d: [np.array([nan, inf, -inf, 0.0], d)], (0,)),
    ("glu", lambda o, x: o.glu(x), E, (0,)),
    ("glu axis=0", lambda o, x: o.glu(x, axis=0), lambda d: [_x(d, (4, 3))], (0,)),
    ("hard_shrink", lambda o, x: o.hard_shrink(x), E, (0,)),
    ("hard_shrink threshold=1", lambda o, x: o.hard_shrink(x, threshold=1.0), E, (0,)),
    ("hard_tanh", lambda o, x: o.hard_tanh(x), E, (0,)),
    ("soft_shrink", lambda o, x: o.soft_shrink(x), E, (0,)),
    ("soft_shrink threshold=1", lambda o, x: o.soft_shrink(x, 1.0), E, (0,)),
    ("tanh_shrink", lambda o, x: o.tanh_shrink(x), E, (0,)),
    ("threshold", lambda o, x: o.threshold(x, 0.5, -2.0), E, (0,)),
    ("threshold 0.1 (weak)", lambda o, x: o.threshold(x, 0.1, 0.0), lambda d: [np.array([0.1, 0.10000001, 0.0], d)],
     (0,)),
    ("sparse_plus", lambda o, x: o.sparse_plus(x), E, (0,)),
    ("sparse_sigmoid", lambda o, x: o.sparse_sigmoid(x), E, (0,)),
    ("sparsemax", lambda o, x: o.sparsemax(x), _sm, (0,)),
    ("sparsemax axis=0", lambda o, x: o.sparsemax(x, axis=0), _sm, (0,)),
    ("sparsemax normal", lambda o, x: o.sparsemax(x), X, (0,)),
    ("squareplus", lambda o, x: o.squareplus(x), E, (0,)),
    ("squareplus b=0", lambda o, x: o.squareplus(x, b=0.5), E, (0,)),
    ("hard_tanh nan", lambda o, x: o.hard_tanh(x), NAN, (0,)),
    ("hard_shrink nan", lambda o, x: o.hard_shrink(x), NAN, (0,)),
    ("soft_shrink nan", lambda o, x: o.soft_shrink(x), NAN, (0,)),
    ("tanh_shrink nan", lambda o, x: o.tanh_shrink(x), NAN, (0,)),
    ("sparse_plus nan", lambda o, x: o.sparse_plus(x), NAN, (0,)),
    ("sparse_sigmoid nan", lambda o, x: o.sparse_sigmoid(x), NAN, (0,)),
    ("squareplus nan", lambda o, x: o.squareplus(x), NAN, (0,)),
    ("threshold nan", lambda o, x: o.threshold(x, 0.0, 7.0), NAN, (0,)),
    ("glu nan", lambda o, x: o.glu(x), NAN, (0,)),
    # psnr and the normalizations
    ("psnr identical (inf)", lambda o, a: o.psnr(a, a, 1.0), lambda d: [_img(d, (1, 3, 3, 1))], (0,)),
    ("psnr", lambda o, a, b: o.psnr(a, b, 1.0), _pair_img, (0, 1)),
    ("psnr max_val=255", lambda o, a, b: o.psnr(a, b, 255), _pair_img, (0, 1)),
    ("rms_normalization", lambda o, x: o.rms_normalization(x), X, (0,)),
    ("rms_normalization scale, axis", lambda o, x, s: o.rms_normalization(x, s, axis=1, epsilon=1e-3),
     lambda d: [_x(d), _x(d, (8,), 3)], (0, 1)),
    ("rms_normalization axes (0, 2)", lambda o, x: o.rms_normalization(x, axis=(0, 2)), lambda d: [_x(d, (2, 3, 4))],
     (0,)),
    ("layer_normalization", lambda o, x: o.layer_normalization(x), lambda d: [_ln(d)[0]], (0,)),
    ("layer_normalization gamma beta", lambda o, x, g, b: o.layer_normalization(x, g, b), _ln, (0, 1, 2)),
    ("layer_normalization axes (1, 2)", lambda o, x: o.layer_normalization(x, axis=(1, 2), epsilon=1e-3),
     lambda d: [_ln(d)[0]], (0,)),
    ("layer_normalization constant row", lambda o, x: o.layer_normalization(x),
     lambda d: [np.array([[2.0, 2.0, 2.0], [1.0, -1.0, 3.0]], d)], (0,)),
    ("batch_normalization axis=1", lambda o, x, m, v, b, s: o.batch_normalization(x, m, v, 1, b, s), _bn,
     (0, 1, 2, 3, 4)),
    ("layer_normalization rms_scaling=True (deprecated)", lambda o, x, g: o.layer_normalization(
        x, g, axis=-1, rms_scaling=True), lambda d: _ln(d)[:2], (0, 1)),
    ("batch_normalization scale only", lambda o, x, m, v, sc: o.batch_normalization(x, m, v, -1, scale=sc),
     lambda d: [_ln(d)[0], _ln(d)[1], np.abs(_ln(d)[2]) + 0.5, _ln(d)[2]], (0, 1, 2, 3)),
    ("batch_normalization -1 no offset", lambda o, x, m, v: o.batch_normalization(x, m, v, -1, epsilon=1e-5),
     lambda d: [_ln(d)[0], _ln(d)[1], np.abs(_ln(d)[2]) + 0.5], (0, 1, 2)),
    # segment reductions
    ("segment_max sorted", lambda o, x, i: o.segment_max(x, i, sorted=True), _seg, (0,)),
    ("segment_max", lambda o, x, i: o.segment_max(x, i), _seg, (0,)),
    ("segment_max num_segments=5", lambda o, x, i: o.segment_max(x, i, num_segments=5), _seg_unsorted, (0,)),
    ("segment_min", lambda o, x, i: o.segment_min(x, i), _seg_unsorted, (0,)),
    ("segment_min sorted", lambda o, x, i: o.segment_min(x, i, sorted=True), _seg, (0,)),
    ("segment_max NaN (TensorFlow's fold: a NaN is replaced by the next entry)",
     lambda o, x, i: o.segment_max(x, i), _seg_nan, (0,)),
    ("segment_min NaN sorted", lambda o, x, i: o.segment_min(x, i, sorted=True), _seg_nan, (0,)),
    ("segment_prod NaN", lambda o, x, i: o.segment_prod(x, i), _seg_nan, (0,)),
    ("segment_prod", lambda o, x, i: o.segment_prod(x, i), _seg_unsorted, (0,)),
    ("segment_prod sorted", lambda o, x, i: o.segment_prod(x, i, sorted=True), _seg, (0,)),
    # convolutions and pooling
    ("conv 2-D valid", lambda o, x, k: o.conv(x, k), _conv_in, (0, 1)),
    ("conv 2-D same strides 2", lambda o, x, k: o.conv(x, k, strides=2, padding="same"), _conv_in, (0, 1)),
    ("conv 2-D same dilation 2", lambda o, x, k: o.conv(x, k, padding="same", dilation_rate=2), _conv_in, (0, 1)),
    ("conv 2-D channels_first (Keras: transposed channels_last, its NCHW Conv2D is GPU-only)",
     lambda o, x, k: o.conv(x, k, strides=(1, 2), padding="same", data_format="channels_first") if o is TO else
     o.transpose(o.conv(o.transpose(x, (0, 2, 3, 1)), k, strides=(1, 2), padding="same"), (0, 3, 1, 2)),
     lambda d: _conv_in(d, (2, 3, 7, 6)), (0, 1)),
    ("conv 1-D same", lambda o, x, k: o.conv(x, k, padding="same"), lambda d: _conv_in(d, (2, 9, 3), (4, 3, 2)),
     (0, 1)),
    ("conv 3-D", lambda o, x, k: o.conv(x, k, strides=2, padding="same"),
     lambda d: _conv_in(d, (1, 5, 4, 5, 2), (2, 3, 2, 2, 3)), (0, 1)),
    ("conv grouped (kernel in 1)", lambda o, x, k: o.conv(x, k), lambda d: _conv_in(d, (2, 5, 5, 2), (3, 3, 1, 4)),
     (0, 1)),
    ("depthwise_conv", lambda o, x, k: o.depthwise_conv(x, k, strides=2, padding="same"),
     lambda d: _conv_in(d, (2, 7, 6, 3), (3, 3, 3, 2)), (0, 1)),
    ("depthwise_conv 1-D dilation", lambda o, x, k: o.depthwise_conv(x, k, dilation_rate=2),
     lambda d: _conv_in(d, (2, 9, 3), (3, 3, 2)), (0, 1)),
    ("separable_conv", lambda o, x, k, p: o.separable_conv(x, k, p, padding="same"),
     lambda d: _conv_in(d, (2, 6, 5, 3), (3, 3, 3, 2)) + [_x(d, (1, 1, 6, 4), 2)], (0, 1, 2)),
    ("conv_transpose 2-D valid", lambda o, x, k: o.conv_transpose(x, k), lambda d: _conv_in(d, (2, 4, 5, 3),
                                                                                         (3, 2, 4, 3)), (0, 1)),
    ("conv_transpose 2-D same strides 2", lambda o, x, k: o.conv_transpose(x, k, 2, "same"),
     lambda d: _conv_in(d, (2, 4, 5, 3), (3, 2, 4, 3)), (0, 1)),
    ("conv_transpose valid strides (2, 3) output_padding 1", lambda o, x, k: o.conv_transpose(
        x, k, (2, 3), output_padding=1), lambda d: _conv_in(d, (2, 4, 5, 3), (3, 3, 4, 3)), (0, 1)),
    ("conv_transpose same strides 3 output_padding", lambda o, x, k: o.conv_transpose(
        x, k, 3, "same", output_padding=(1, 2)), lambda d: _conv_in(d, (1, 4, 3, 2), (4, 3, 2, 2)), (0, 1)),
    ("conv_transpose 1-D same", lambda o, x, k: o.conv_transpose(x, k, 2, "same"),
     lambda d: _conv_in(d, (2, 6, 3), (3, 2, 3)), (0, 1)),
    ("conv_transpose 3-D", lambda o, x, k: o.conv_transpose(x, k, 2),
     lambda d: _conv_in(d, (1, 3, 2, 3, 2), (2, 2, 3, 3, 2)), (0, 1)),
    ("adaptive_average_pool 2-D", lambda o, x: o.adaptive_average_pool(x, (3, 4)), lambda d: [_img(d, (2, 7, 9, 2))],
     (0,)),
    ("adaptive_average_pool 1-D grow", lambda o, x: o.adaptive_average_pool(x, 7), lambda d: [_img(d, (2, 5, 2))],
     (0,)),
    ("adaptive_max_pool 2-D", lambda o, x: o.adaptive_max_pool(x, (3, 4)), lambda d: [_img(d, (2, 7, 9, 2))], (0,)),
    # (values only: TensorFlow's gradient of this case reads uninitialized memory, a different garbage each run)
    ("adaptive_max_pool NaN (value)", lambda o, x: o.adaptive_max_pool(x, (1, 3)), _pool_nan, ()),
    ("adaptive_max_pool 1-D", lambda o, x: o.adaptive_max_pool(x, 3), lambda d: [_img(d, (2, 8, 2))], (0,)),
    ("dot_product_attention", lambda o, q, k, v: o.dot_product_attention(q, k, v), _attn, (0, 1, 2)),
    ("dot_product_attention causal scale 0.3", lambda o, q, k, v: o.dot_product_attention(
        q, k, v, scale=0.3, is_causal=True), _attn, (0, 1, 2)),
    ("dot_product_attention mask (a row fully masked), bias",
     lambda o, q, k, v, b: o.dot_product_attention(q, k, v, bias=b, mask=_attn_mask()), lambda d: _attn(d) + [
         np.random.default_rng(3).normal(size=(2, 2, 4, 5)).astype(d)], (0, 1, 2, 3)),
    ("dot_product_attention grouped heads", lambda o, q, k, v: o.dot_product_attention(q, k, v),
     lambda d: _attn(d, kv_heads=2, heads=4), (0, 1, 2)),
    ("max_pool 2 valid", lambda o, x: o.max_pool(x, 2), lambda d: [_img(d, (2, 7, 6, 3))], (0,)),
    ("max_pool 3 same strides 2", lambda o, x: o.max_pool(x, 3, strides=2, padding="same"),
     lambda d: [_img(d, (2, 7, 6, 3)) - 0.5], (0,)),
    ("max_pool ties", lambda o, x: o.max_pool(x, 2, 1, "same"),
     lambda d: [np.round(_img(d, (2, 5, 6, 2)) * 2) / 2], (0,)),
    ("max_pool NaN and -inf windows (TensorFlow: a NaN never wins, floor at the lowest float)",
     lambda o, x: o.max_pool(x, 2), _pool_nan, (0,)),
    ("max_pool NaN same", lambda o, x: o.max_pool(x, 3, 1, "same"), _pool_nan, (0,)),
    ("max_pool 1-D channels_first", lambda o, x: o.max_pool(x, 2, 1, data_format="channels_first"),
     lambda d: [_img(d, (2, 3, 7))], (0,)),
    ("average_pool same", lambda o, x: o.average_pool(x, (3, 2), strides=(2, 2), padding="same"),
     lambda d: [_img(d, (2, 7, 6, 3))], (0,)),
    ("average_pool valid", lambda o, x: o.average_pool(x, 2), lambda d: [_img(d, (2, 7, 6, 3))], (0,)),
    ("depth_to_space", lambda o, x: o.depth_to_space(x, 2), lambda d: [_img(d, (2, 3, 2, 8))], (0,)),
    ("depth_to_space channels_first", lambda o, x: o.depth_to_space(x, 2, data_format="channels_first"),
     lambda d: [_img(d, (2, 8, 3, 2))], (0,)),
    ("space_to_depth", lambda o, x: o.space_to_depth(x, 2), lambda d: [_img(d, (2, 4, 6, 3))], (0,)),
    ("space_to_depth channels_first", lambda o, x: o.space_to_depth(x, 2, data_format="channels_first"),
     lambda d: [_img(d, (2, 3, 4, 6))], (0,)),
    # image
    ("image.ssim batch", lambda o, a, b: o.image.ssim(a, b), _pair_img, (0, 1)),
    ("image.ssim unbatched 255 filter 7", lambda o, a, b: o.image.ssim(a * 255, b * 255, max_val=255.0,
                                                                       filter_size=7, filter_sigma=1.0),
     lambda d: [x[0] for x in _pair_img(d)], (0, 1)),
    ("image.ssim channels_first k1 k2", lambda o, a, b: o.image.ssim(o.add(a, 0), o.add(b, 0), k1=0.02, k2=0.05,
                                                                     data_format="channels_first"),
     lambda d: _pair_img(d, (2, 2, 12, 13)), (0, 1)),
    ("image.ssim identical (value)", lambda o, a: o.image.ssim(a, a), lambda d: [_img(d, (1, 11, 11, 1))], ()),
    ("image.resize bilinear down", lambda o, x: o.image.resize(x, (5, 4)), lambda d: [_img(d, (2, 8, 9, 3))], (0,)),
    ("image.resize bilinear up, 2 channels", lambda o, x: o.image.resize(x, (11, 13)),
     lambda d: [_img(d, (2, 4, 5, 2))], (0,)),
    ("image.resize bilinear same size", lambda o, x: o.image.resize(x, (4, 5)), lambda d: [_img(d, (1, 4, 5, 3))],
     (0,)),
    ("image.resize bilinear unbatched channels_first", lambda o, x: o.image.resize(x, (7, 3),
                                                                                  data_format="channels_first"),
     lambda d: [_img(d, (3, 5, 6))], (0,)),
    ("image.resize bilinear NaN, +-inf (Keras's saturate_cast: inf -> 3.4e38)", lambda o, x: o.image.resize(
        x, (3, 5)), _pool_nan, (0,)),
    ("image.resize nearest", lambda o, x: o.image.resize(x, (7, 3), interpolation="nearest"),
     lambda d: [_img(d, (2, 5, 8, 3))], (0,)),
    ("image.resize nearest up", lambda o, x: o.image.resize(x, (12, 7), interpolation="nearest"),
     lambda d: [_img(d, (2, 5, 3, 1))], (0,)),
    ("image.resize crop_to_aspect_ratio", lambda o, x: o.image.resize(x, (4, 4), crop_to_aspect_ratio=True),
     lambda d: [_img(d, (2, 7, 10, 3))], (0,)),
    ("image.resize pad_to_aspect_ratio", lambda o, x: o.image.resize(x, (6, 3), pad_to_aspect_ratio=True,
                                                                      fill_value=0.5),
     lambda d: [_img(d, (2, 5, 5, 3))], (0,)),
    ("image.gaussian_blur", lambda o, x: o.image.gaussian_blur(x), lambda d: [_img(d, (2, 6, 7, 3))], (0,)),
    ("image.gaussian_blur (5, 3) sigma (2, 0.5) (Keras's scrambled kernel)",
     lambda o, x: o.image.gaussian_blur(x, (5, 3), (2.0, 0.5)), lambda d: [_img(d, (2, 6, 7, 2))], (0,)),
    ("image.gaussian_blur unbatched channels_first", lambda o, x: o.image.gaussian_blur(
        x, (3, 3), (0.8, 0.8), data_format="channels_first"), lambda d: [_img(d, (2, 6, 5))], (0,)),
    ("image.sobel_edges", lambda o, x: o.image.sobel_edges(x), lambda d: [_img(d, (2, 5, 6, 3))], (0,)),
    ("image.sobel_edges channels_first", lambda o, x: o.image.sobel_edges(x, "channels_first"),
     lambda d: [_img(d, (2, 2, 5, 4))], (0,)),
    ("image.crop_images", lambda o, x: o.image.crop_images(x, 1, 2, target_height=3, target_width=4),
     lambda d: [_img(d, (2, 6, 7, 3))], (0,)),
    ("image.crop_images bottom right unbatched", lambda o, x: o.image.crop_images(
        x, bottom_cropping=2, right_cropping=1, target_height=3, target_width=4), lambda d: [_img(d, (6, 7, 3))],
     (0,)),
    ("image.pad_images", lambda o, x: o.image.pad_images(x, 1, 2, target_height=9, target_width=10),
     lambda d: [_img(d, (2, 6, 7, 3))], (0,)),
    ("image.pad_images channels_first", lambda o, x: o.image.pad_images(
        x, bottom_padding=2, right_padding=1, top_padding=0, left_padding=3, data_format="channels_first"),
     lambda d: [_img(d, (2, 3, 4, 5))], (0,)),
    ("image.extract_patches", lambda o, x: o.image.extract_patches(x, (2, 3)), lambda d: [_img(d, (2, 6, 7, 3))],
     (0,)),
    ("image.extract_patches same strides dilation", lambda o, x: o.image.extract_patches(
        x, 3, strides=1, dilation_rate=2, padding="same"), lambda d: [_img(d, (1, 6, 7, 2))], (0,)),
    ("image.extract_patches unbatched", lambda o, x: o.image.extract_patches(x, 2, (1, 2)),
     lambda d: [_img(d, (5, 6, 2))], (0,)),
    ("image.extract_patches 3-D", lambda o, x: o.image.extract_patches(x, (2, 2, 2)),
     lambda d: [_img(d, (1, 4, 5, 4, 2))], (0,)),
    ("image.extract_patches_3d strides 1", lambda o, x: o.image.extract_patches_3d(x, 2, strides=1),
     lambda d: [_img(d, (4, 3, 4, 2))], (0,)),
    ("image.rgb_to_hsv", lambda o, x: o.image.rgb_to_hsv(x), _rgb, (0,)),
    ("image.rgb_to_hsv channels_first", lambda o, x: o.image.rgb_to_hsv(o.transpose(x, (0, 3, 1, 2)),
                                                                       "channels_first"), _rgb, (0,)),
    ("image.hsv_to_rgb (no gradient in TensorFlow)", lambda o, x: o.image.hsv_to_rgb(x),
     lambda d: [_img(d, (2, 4, 5, 3))], (0,)),
    ("image.hsv_to_rgb of rgb_to_hsv", lambda o, x: o.image.hsv_to_rgb(o.image.rgb_to_hsv(x)), _rgb, (0,)),
    ("image.rgb_to_grayscale", lambda o, x: o.image.rgb_to_grayscale(x), lambda d: [_img(d)], (0,)),
    ("image.rgb_to_grayscale channels_first", lambda o, x: o.image.rgb_to_grayscale(x, "channels_first"),
     lambda d: [_img(d, (3, 4, 5))], (0,)),
]


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_nn_image_functions_like_keras(dt):
    """Every case of CASES: value, dtype, gradients."""
    run_cases(CASES, dt)


def test_in_top_k_like_keras():
    """``ops.in_top_k``: ties count in, a non-finite row is False, an id out of range False; float32 only."""
    preds = np.array([[0.1, 0.4, 0.6, 0.9, 0.5], [0.1, 0.7, 0.9, 0.8, 0.3], [0.1, 0.6, 0.9, 0.9, 0.5],
                      [0.1, nan, 0.2, 0.3, 0.4], [0.5, 0.5, 0.5, 0.5, 0.5], [0.1, inf, 0.2, 0.3, 0.4]], np.float32)
    n = 0
    for tdt in (np.int32, np.int64):
        for targets in ([2, 5, 3, 0, 4, 1], [3, 0, 2, 4, 0, 2]):
            for k in (0, 1, 2, 3, 5):
                t = np.array(targets, tdt)
                kv = KO.in_top_k(tf.constant(t), tf.constant(preds), k).numpy()
                tv = TO.in_top_k(torch.tensor(t), torch.tensor(preds), k).numpy()
                np.testing.assert_array_equal(tv, kv, err_msg=f"targets {targets} k={k}")
                n += 1
    print(f"in_top_k: {n} cases equal")


_TENSOR_DTYPES = ["bool", "int8", "uint8", "int32", "int64", "float16", "float32", "float64"]

UNARY = {
    "celu": lambda o, x: o.celu(x), "glu": lambda o, x: o.glu(x), "hard_shrink": lambda o, x: o.hard_shrink(x),
    "hard_tanh": lambda o, x: o.hard_tanh(x), "soft_shrink": lambda o, x: o.soft_shrink(x),
    "tanh_shrink": lambda o, x: o.tanh_shrink(x), "threshold float": lambda o, x: o.threshold(x, 1.5, 0.5),
    "threshold int": lambda o, x: o.threshold(x, 1, 7), "sparse_plus": lambda o, x: o.sparse_plus(x),
    "sparse_sigmoid": lambda o, x: o.sparse_sigmoid(x), "sparsemax": lambda o, x: o.sparsemax(x),
    "squareplus": lambda o, x: o.squareplus(x), "psnr": lambda o, x: o.psnr(x, o.zeros_like(x), 4),
    "rms_normalization": lambda o, x: o.rms_normalization(x),
    "layer_normalization": lambda o, x: o.layer_normalization(x),
    "batch_normalization": lambda o, x: o.batch_normalization(x, x[0], x[1], -1),
    "segment_max": lambda o, x: o.segment_max(x, np.array([0, 0, 1], np.int32)),
    "segment_min": lambda o, x: o.segment_min(x, np.array([0, 1, 1], np.int32)),
    "segment_prod": lambda o, x: o.segment_prod(x, np.array([0, 0, 1], np.int32)),
    "max_pool": lambda o, x: o.max_pool(o.reshape(x, (1, 3, 4)), 2),
    "average_pool": lambda o, x: o.average_pool(o.reshape(x, (1, 3, 4)), 2),
    "depth_to_space": lambda o, x: o.depth_to_space(o.reshape(x, (1, 1, 3, 4)), 2),
    "space_to_depth": lambda o, x: o.space_to_depth(o.reshape(x, (1, 2, 2, 3)), 2),
    "conv": lambda o, x: o.conv(o.reshape(x, (1, 3, 4)), o.reshape(x, (3, 4, 1))),
    "depthwise_conv": lambda o, x: o.depthwise_conv(o.reshape(x, (1, 3, 4)), o.reshape(x, (3, 4, 1))),
    "separable_conv": lambda o, x: o.separable_conv(o.reshape(x, (1, 3, 4)), o.reshape(x, (3, 4, 1)),
                                                    o.reshape(x, (1, 4, 3))),
    "conv_transpose": lambda o, x: o.conv_transpose(o.reshape(x, (1, 3, 4)), o.reshape(x, (3, 1, 4))),
    "adaptive_average_pool": lambda o, x: o.adaptive_average_pool(o.reshape(x, (1, 3, 4)), 2),
    "adaptive_max_pool": lambda o, x: o.adaptive_max_pool(o.reshape(x, (1, 3, 4)), 2),
    "dot_product_attention": lambda o, x: o.dot_product_attention(*[o.reshape(x, (1, 3, 1, 4))] * 3),
    "ssim": lambda o, x: o.image.ssim(o.reshape(x, (3, 4, 1)), o.reshape(x, (3, 4, 1)), filter_size=3),
    "rgb_to_grayscale": lambda o, x: o.image.rgb_to_grayscale(o.reshape(x, (1, 4, 3))),
    "gaussian_blur": lambda o, x: o.image.gaussian_blur(o.reshape(x, (3, 4, 1))),
    "sobel_edges": lambda o, x: o.image.sobel_edges(o.reshape(x, (1, 3, 4, 1))),
    "crop_images": lambda o, x: o.image.crop_images(o.reshape(x, (3, 4, 1)), 1, 1, target_height=2, target_width=2),
    "pad_images": lambda o, x: o.image.pad_images(o.reshape(x, (3, 4, 1)), 1, 1, target_height=5, target_width=6),
    "extract_patches": lambda o, x: o.image.extract_patches(o.reshape(x, (3, 4, 1)), 2),
    "rgb_to_hsv": lambda o, x: o.image.rgb_to_hsv(o.reshape(x, (1, 4, 3))),
    "hsv_to_rgb": lambda o, x: o.image.hsv_to_rgb(o.reshape(x, (1, 4, 3))),
    "resize bilinear": lambda o, x: o.image.resize(o.reshape(x, (3, 4, 1)), (2, 5)),
    "resize bilinear saturated": lambda o, x: o.image.resize(o.reshape(o.multiply(x, 100), (3, 4, 1)), (2, 5)),
    "resize nearest": lambda o, x: o.image.resize(o.reshape(x, (3, 4, 1)), (2, 5), interpolation="nearest"),
}


def _sample(dt: str) -> np.ndarray:
    if dt == "bool":
        return np.array([[1, 0, 1, 1], [0, 1, 0, 1], [1, 1, 0, 0]], bool)
    return np.array([[1, 0, 3, 2], [2, 2, 0, 1], [0, 1, 1, 3]], dt)


def test_nn_image_dtypes_like_keras():
    """Each function of UNARY on every tensor dtype under floatx float32 and float64: Keras's result dtype and
    value, and an error wherever Keras raises."""
    n, raised, failures = 0, 0, []
    for fx in ("float32", "float64"):
        with _precision(fx), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, fn in UNARY.items():
                for dt in _TENSOR_DTYPES:
                    try:
                        r = _dtype_check(fn, [_sample(dt)], f"{name}({dt})", fx)
                    except AssertionError as e:
                        failures.append(str(e).splitlines()[0])
                        continue
                    n += 1
                    raised += r == "both raise"
                    if r.startswith("Keras raises"):
                        failures.append(f"{name}({dt}) floatx={fx}: {r}")
    print(f"{n} dtype checks ({raised} raise in both); {len(failures)} differences")
    assert not failures, "\n".join(failures)


def test_nn_image_signatures_like_keras():
    """Keras's argument names, order and defaults for every function in the module's ``__all__``."""
    n = 0
    for name in NI.__all__:
        if name == "image":
            for sub in vars(NI.image):
                if sub.startswith("_"):
                    continue
                ks, ts = (inspect.signature(getattr(m.image, sub)).parameters.values() for m in (KO, TO))
                assert [(p.name, p.default, p.kind) for p in ts] == [(p.name, p.default, p.kind) for p in ks], sub
                n += 1
            continue
        ks, ts = (inspect.signature(getattr(m, name)).parameters.values() for m in (KO, TO))
        assert [(p.name, p.default, p.kind) for p in ts] == [(p.name, p.default, p.kind) for p in ks], name
        n += 1
    print(f"{n} functions: keras.ops's signatures")


def test_nn_image_errors_like_keras():
    """Inputs Keras rejects: we raise too."""
    x = np.ones((3, 5))
    img = np.ones((2, 6, 6, 3))
    cases = [
        ("glu odd axis", lambda o, a: o.glu(a)),
        ("psnr shapes", lambda o, a: o.psnr(a, a[:2], 1.0)),
        ("in_top_k float64", lambda o, a: o.in_top_k(np.array([0, 1, 2], np.int32), a, 1)),
        ("segment_max 2-D ids", lambda o, a: o.segment_max(a, np.zeros((3, 1), np.int32))),
        ("segment_max ids length", lambda o, a: o.segment_max(a, np.zeros((2,), np.int32))),
        ("segment_max sorted with num_segments", lambda o, a: o.segment_max(a, np.zeros((3,), np.int32), 2, True)),
        ("ssim rank 2", lambda o, a: o.image.ssim(a, a)),
        ("ssim smaller than the filter", lambda o, a: o.image.ssim(o.reshape(a, (1, 3, 5, 1)),
                                                                   o.reshape(a, (1, 3, 5, 1)))),
        ("rgb_to_grayscale 2 channels", lambda o, a: o.image.rgb_to_grayscale(o.reshape(a[:2, :4], (1, 2, 2, 2)))),
        ("conv channel mismatch", lambda o, a: o.conv(o.reshape(a, (1, 3, 5)), np.ones((2, 2, 3)))),
        ("conv empty output", lambda o, a: o.conv(o.reshape(a, (1, 3, 5)), np.ones((4, 5, 2)))),
        ("depth_to_space channels", lambda o, a: o.depth_to_space(np.ones((1, 2, 2, 3)), 2)),
        ("space_to_depth size", lambda o, a: o.space_to_depth(np.ones((1, 3, 2, 1)), 2)),
    ]
    for name, fn in cases:
        with pytest.raises(Exception):
            fn(KO, tf.constant(x))
        with pytest.raises(Exception):
            fn(TO, torch.tensor(x))
    with pytest.raises(Exception):
        KO.image.ssim(tf.constant(img), tf.constant(img), filter_size=7)
    with pytest.raises(Exception):
        TO.image.ssim(torch.tensor(img), torch.tensor(img), filter_size=7)
    print(f"{len(cases) + 1} inputs raise in both")


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_conv_transpose_dilated_is_the_adjoint_of_conv(padding):
    """TensorFlow's CPU ``Conv2DBackpropInput`` has no dilation (Keras on CPU raises; GPUs compute it): ours is
    checked as the adjoint of :func:`conv` (itself equal to Keras's, dilated 'same' included):
    ``<conv_transpose(y, k), x> == <y, conv(x, k)>``."""
    rng = np.random.default_rng(21)
    k = torch.tensor(rng.normal(size=(3, 2, 4, 3)))  # conv: 4 -> 3 channels; conv_transpose: 3 -> 4
    y = torch.tensor(rng.normal(size=(2, 5, 6, 3)))
    out = TO.conv_transpose(y, k, 1, padding, dilation_rate=2)
    x = torch.tensor(rng.normal(size=tuple(out.shape)))
    lhs, rhs = float((out * x).sum()), float((y * TO.conv(x, k, 1, padding, dilation_rate=2)).sum())
    rel = abs(lhs - rhs) / abs(rhs)
    print(f"conv_transpose dilation 2 {padding}: adjoint identity relative error {rel:.1e}")
    assert out.shape[1:3] == ((5, 6) if padding == "same" else (9, 8)) and rel < 1e-12
    with pytest.raises(Exception, match="dilation"):  # Keras on this CPU
        KO.conv_transpose(tf.constant(y.numpy()), tf.constant(k.numpy()), 1, padding, dilation_rate=2)


def test_adaptive_pools_3d_float32_like_keras():
    """3-D adaptive pools in float32 (TensorFlow's CPU has no float64 ``AvgPool3D``/``MaxPool3D``)."""
    x = [_img("float32", (1, 5, 7, 3, 2))]
    with _precision("float32"):
        compare("adaptive_average_pool 3-D", lambda o, v: o.adaptive_average_pool(v, (2, 3, 2)), x, (0,), "float32")
        compare("adaptive_max_pool 3-D", lambda o, v: o.adaptive_max_pool(v, (2, 3, 2)), x, (0,), "float32")


def test_keras_quirks_pinned():
    """The quirks of Keras's TensorFlow backend that torch users would not expect, with Keras's own numbers:
    sparsemax's rows need not sum to 1; unsorted segment_max of an empty segment is the lowest finite float,
    sorted: 0; in_top_k takes float32 only; celu's gradient at 0 is 2."""
    x = np.array([[0.5, 0.4, -1.0]])
    k, t = KO.sparsemax(tf.constant(x)).numpy(), TO.sparsemax(torch.tensor(x)).numpy()
    np.testing.assert_allclose(t, k, rtol=1e-15)
    np.testing.assert_allclose(k, [[0.3, 0.2, 0.0]], rtol=1e-12)  # the paper's: [0.55, 0.45, 0]
    data, ids = np.array([1.0, 2.0, 3.0]), np.array([0, 0, 2], np.int32)
    for sorted_, empty in ((False, np.finfo(np.float64).min), (True, 0.0)):
        k = KO.segment_max(tf.constant(data), tf.constant(ids), sorted=sorted_).numpy()
        t = TO.segment_max(torch.tensor(data), torch.tensor(ids), sorted=sorted_).numpy()
        np.testing.assert_array_equal(t, k)
        assert k[1] == empty
    with pytest.raises(Exception):
        KO.in_top_k(tf.constant([0]), tf.constant([[0.1, 0.2]], tf.float64), 1)
    with pytest.raises(TypeError):
        TO.in_top_k(torch.tensor([0]), torch.tensor([[0.1, 0.2]], dtype=torch.float64), 1)
    z = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    TO.celu(z).sum().backward()
    zt = tf.Variable(np.zeros(1))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(KO.celu(zt))
    assert float(z.grad) == float(tape.gradient(y, zt).numpy()[0]) == 2.0
    print("sparsemax([0.5, 0.4, -1]) = [0.3, 0.2, 0] (Keras and ours); empty segment_max: lowest float / 0 "
          "(sorted); in_top_k float64 raises; celu'(0) = 2")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_nn_image_on_cuda_like_cpu():
    """A sample of the functions on CUDA tensors (NumPy ids, Python scalars, kernels made inside) equal the CPU's."""
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.uniform(size=(2, 8, 9, 3)))
    calls = [lambda o, v: o.celu(v), lambda o, v: o.sparsemax(v), lambda o, v: o.squareplus(v),
             lambda o, v: o.psnr(v, v * 0.9, 1.0), lambda o, v: o.layer_normalization(v),
             lambda o, v: o.segment_max(v, np.array([0, 1], np.int32)), lambda o, v: o.max_pool(v, 2, padding="same"),
             lambda o, v: o.conv(v, v[0, :3, :3, :, None].expand(3, 3, 3, 2).contiguous(), padding="same"),
             lambda o, v: o.dot_product_attention(v, v, v, is_causal=True), lambda o, v: o.image.ssim(v, v * 0.9),
             lambda o, v: o.image.resize(v, (5, 4)), lambda o, v: o.image.gaussian_blur(v),
             lambda o, v: o.image.sobel_edges(v), lambda o, v: o.image.rgb_to_hsv(v),
             lambda o, v: o.image.extract_patches(v, 2)]
    for fn in calls:
        cpu, gpu = fn(TO, x), fn(TO, x.cuda())
        torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-10, atol=1e-12)
    print(f"{len(calls)} functions on CUDA equal the CPU's")


def test_sparsemax_nan_last_row_like_keras():
    """A NaN sorts last here and stays out of the support: equal to Keras where TensorFlow's sort also puts it last
    (and on rows of NaN only)."""
    for row in ([[0.3, 0.9, 0.1, nan]], [[0.5, nan, 2.0, -np.inf, 1.0]], [[nan, nan, nan]]):
        x = np.array(row)
        k, t = KO.sparsemax(tf.constant(x)).numpy(), TO.sparsemax(torch.tensor(x)).numpy()
        print("Keras", k, "ours", t)
        np.testing.assert_array_equal(t, k)


def test_sparsemax_nan_first_row_like_keras():
    """Once a strict xfail (h47): TensorFlow's descending sort (``top_k``, k = n) is libstdc++'s ``std::sort`` of
    the indices, where a NaN (false both ways) stays first in ``[nan, 0.5, 0.2, 0.1]``: Keras gives inf for every
    other entry; torch_impl sorted the NaN last ([nan, 0.1667, 0, 0]) and now replays TensorFlow's sort."""
    x = np.array([[nan, 0.5, 0.2, 0.1]])
    k, t = KO.sparsemax(tf.constant(x)).numpy(), TO.sparsemax(torch.tensor(x)).numpy()
    print("Keras", k, "ours", t)
    np.testing.assert_array_equal(t, k)


def test_sparsemax_rows_with_nan_fuzzed_like_keras():
    """200 random shapes (ranks 1-3, any axis, float32/float64) with NaN, inf and ties: NaN and inf entries where
    Keras has them, the rest within 1e-6 (h47: the NaN-last sort missed 120 of 300 such cases; 0 now)."""
    worst, with_nan = 0.0, 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        shape = tuple(int(v) for v in rng.integers(1, 7, size=int(rng.integers(1, 4))))
        axis = int(rng.integers(-len(shape), len(shape)))
        x = np.round(rng.normal(size=shape) * 2, int(rng.integers(0, 2))).astype(rng.choice(["float32", "float64"]))
        x[rng.random(shape) < 0.15] = nan
        x[rng.random(shape) < 0.05] = np.inf
        with_nan += bool(np.isnan(x).any())
        k = KO.sparsemax(tf.constant(x), axis=axis).numpy()
        t = TO.sparsemax(torch.tensor(x), axis=axis).numpy()
        assert np.array_equal(np.isnan(t), np.isnan(k)) and np.array_equal(np.isinf(t), np.isinf(k)), (x, axis, k, t)
        fin = np.isfinite(k)
        np.testing.assert_allclose(t[fin], k[fin], rtol=1e-6, atol=1e-7)
        worst = max(worst, float(np.abs(t[fin] - k[fin]).max(initial=0.0)))
    print(f"200 sparsemax cases ({with_nan} holding NaN): NaN/inf placement equal, max |ours - Keras| {worst:.1e}")


def test_ctc_decode_like_keras():
    """``ops.ctc_decode``: greedy and beam search, the blank at ``mask_index`` (moved last and back, as Keras
    does), ``merge_repeated``, ``top_paths``; Keras's "fewer leaves than requested" error."""
    rng = np.random.default_rng(0)
    compared = raised = 0
    worst = 0.0
    for _ in range(30):
        n, t, c = (int(v) for v in (rng.integers(1, 4), rng.integers(1, 8), rng.integers(2, 6)))
        x = (rng.normal(size=(n, t, c)) * 2).astype("float32")
        lens = rng.integers(0, t + 1, size=n).astype("int32")
        for kw in [dict(), dict(merge_repeated=False), dict(mask_index=c - 1), dict(mask_index=2 % c),
                   dict(strategy="beam_search", beam_width=4, top_paths=2),
                   dict(strategy="beam_search", mask_index=1 % c, beam_width=8),
                   dict(strategy="beam_search", mask_index=None, beam_width=3, top_paths=3)]:
            try:
                kd, ks = KO.ctc_decode(x, lens, **kw)
            except Exception as e:  # TensorFlow: "Less leaves in the beam search than requested."
                assert "Less leaves" in str(e), e
                with pytest.raises(ValueError, match="Less leaves"):
                    TO.ctc_decode(torch.tensor(x), torch.tensor(lens), **kw)
                raised += 1
                continue
            od, os_ = TO.ctc_decode(torch.tensor(x), torch.tensor(lens), **kw)
            kd, ks = np.asarray(kd), np.asarray(ks)
            assert kd.dtype == od.numpy().dtype and ks.dtype == os_.numpy().dtype, kw
            np.testing.assert_array_equal(od.numpy(), kd, err_msg=str(kw))
            if ks.size:
                worst = max(worst, float(np.abs(os_.numpy() - ks).max() / max(np.abs(ks).max(), 1e-30)))
            compared += 1
    print(f"ctc_decode: {compared} decodings equal (scores within {worst:.1e}), {raised} raise in both")
    assert worst <= 1e-6


def test_jvp_like_keras():
    import tensorflow as tf
    a, b = np.array([1.0, 2.0, -0.5]), np.array([0.5, 1.0, 3.0])
    ta, tb = np.array([1.0, 0.0, 2.0]), np.array([0.5, -1.0, 1.0])
    ko, kt = KO.jvp(lambda u, v: u * tf.sin(v) + u ** 2, (tf.constant(a), tf.constant(b)),
                    (tf.constant(ta), tf.constant(tb)))
    oo, ot = TO.jvp(lambda u, v: u * torch.sin(v) + u ** 2, (torch.tensor(a), torch.tensor(b)),
                    (torch.tensor(ta, dtype=torch.float32), torch.tensor(tb)))  # the tangent cast to float64
    np.testing.assert_allclose(oo.numpy(), np.asarray(ko), rtol=1e-15)
    np.testing.assert_allclose(ot.numpy(), np.asarray(kt), rtol=1e-15)
    _, kt2, kaux = KO.jvp(lambda u: (tf.exp(u), tf.reduce_sum(u)), (tf.constant(a),), (tf.constant(ta),),
                          has_aux=True)
    _, ot2, oaux = TO.jvp(lambda u: (torch.exp(u), u.sum()), (torch.tensor(a),), (torch.tensor(ta),), has_aux=True)
    np.testing.assert_allclose(ot2.numpy(), np.asarray(kt2), rtol=1e-15)
    assert float(oaux) == float(kaux)

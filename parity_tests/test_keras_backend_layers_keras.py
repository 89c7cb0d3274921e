"""``torch_impl.keras_backend``'s layer ops and CTC functions against Keras 3.15.1's legacy backend
(``tf.keras.backend``) on TensorFlow 2.21: ``conv1d/2d/3d``, ``depthwise_conv2d``, ``separable_conv2d``,
``conv2d_transpose``, ``pool2d/3d``, ``bias_add``, ``batch_normalization``, the paddings, ``resize_images/volumes``,
``ctc_batch_cost``, ``ctc_decode`` (greedy and beam search) and ``ctc_label_dense_to_sparse``.

Values (dtype and shape included) and the gradient of ``sum(out * c)`` for a cotangent with exact zeros, with
``parity_tests.test_keras_backend_keras.compare`` (float64 values 1e-12 and gradients 1e-10 relative, float32 rtol
1e-5 atol 1e-6; NaN, inf and the zero-gradient set identical). TensorFlow's CPU kernels have no ``NCHW``
convolution or pooling: a ``channels_first`` case is checked against Keras's ``channels_last`` result, transposed.

Keras quirks pinned here (the figures are Keras's):

* ``'same'`` padding puts the odd pad at the end (bottom/right), also with strides (``torch``'s ``padding='same'``
  refuses strides); an average pool leaves the padding out of its count; a max pool never picks the padding.
* ``K.conv2d_transpose`` with a ``dilation_rate`` ignores ``strides`` (TensorFlow's ``atrous_conv2d_transpose``).
* ``K.ctc_batch_cost``: the blank is the LAST class; ``log(y_pred + 1e-7)`` is renormalised (TensorFlow's CTC takes
  logits); a label ``>= C - 1`` (the blank, or a padding value such as 99) ends the row's labelling
  (``[1, 2, 99, 99]`` costs what ``[1, 2]`` costs); a repeat that needs more steps than ``input_length`` costs
  ``inf``; a zero label length, a label length over the input's (padding counted), a negative label or a label
  after a null one raise.
* ``K.ctc_decode``: greedy scores are minus the sum of the step maxima of ``log(y_pred + 1e-7)`` (positive);
  beam-search scores are log probabilities of the labelling (negative); decoded rows are padded with ``-1`` to the
  number of steps.

Run: ``.venv/bin/python -m pytest -q -s parity_tests/test_keras_backend_layers_keras.py``
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from parity_tests.test_keras_backend_keras import KK, compare  # noqa: E402
from torch_impl import keras_backend as TK  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

DTYPES = ["float64", "float32"]


def _r(shape, dt, seed=0, low=None, high=None):
    rng = np.random.default_rng(seed)
    x = rng.uniform(low, high, size=shape) if low is not None else rng.normal(size=shape)
    return x.astype(dt)


def _ints(shape, dt, seed=0):
    """Small integers: ties inside every pooling window."""
    return np.random.default_rng(seed).integers(-2, 3, size=shape).astype(dt)


# (id, fn(K, *inputs), inputs(dt), indices to differentiate)
CASES = [
    # convolutions (TensorFlow kernels: (*k, in, out))
    ("conv1d valid", lambda K, x, k: K.conv1d(x, k), lambda d: [_r((2, 9, 3), d), _r((3, 3, 4), d, 1)], (0, 1)),
    ("conv1d same stride 2", lambda K, x, k: K.conv1d(x, k, strides=2, padding="same"),
     lambda d: [_r((2, 9, 3), d), _r((4, 3, 4), d, 1)], (0, 1)),
    ("conv1d causal dilation 2", lambda K, x, k: K.conv1d(x, k, padding="causal", dilation_rate=2),
     lambda d: [_r((2, 9, 3), d), _r((3, 3, 2), d, 1)], (0, 1)),
    ("conv2d valid", lambda K, x, k: K.conv2d(x, k), lambda d: [_r((2, 7, 6, 3), d), _r((3, 2, 3, 4), d, 1)], (0, 1)),
    ("conv2d same stride 2 odd sizes", lambda K, x, k: K.conv2d(x, k, strides=(2, 2), padding="same"),
     lambda d: [_r((2, 7, 8, 3), d), _r((4, 3, 3, 2), d, 1)], (0, 1)),
    ("conv2d same strides (3, 1)", lambda K, x, k: K.conv2d(x, k, strides=(3, 1), padding="same"),
     lambda d: [_r((1, 8, 5, 2), d), _r((2, 2, 2, 3), d, 1)], (0, 1)),
    ("conv2d same dilation 2", lambda K, x, k: K.conv2d(x, k, padding="same", dilation_rate=(2, 2)),
     lambda d: [_r((2, 7, 6, 3), d), _r((3, 3, 3, 2), d, 1)], (0, 1)),
    ("conv3d same stride 2", lambda K, x, k: K.conv3d(x, k, strides=(2, 2, 2), padding="same"),
     lambda d: [_r((1, 5, 4, 5, 2), d), _r((2, 3, 2, 2, 3), d, 1)], (0, 1)),
    ("depthwise multiplier 2 same", lambda K, x, k: K.depthwise_conv2d(x, k, padding="same"),
     lambda d: [_r((2, 6, 5, 3), d), _r((3, 3, 3, 2), d, 1)], (0, 1)),
    ("depthwise strides 2 valid", lambda K, x, k: K.depthwise_conv2d(x, k, strides=(2, 2)),
     lambda d: [_r((2, 7, 7, 2), d), _r((3, 3, 2, 1), d, 1)], (0, 1)),
    ("separable same", lambda K, x, dk, pk: K.separable_conv2d(x, dk, pk, padding="same"),
     lambda d: [_r((2, 6, 5, 3), d), _r((3, 3, 3, 2), d, 1), _r((1, 1, 6, 4), d, 2)], (0, 1, 2)),
    ("separable strides 2 dilation 1", lambda K, x, dk, pk: K.separable_conv2d(x, dk, pk, strides=(2, 2)),
     lambda d: [_r((2, 7, 7, 2), d), _r((3, 3, 2, 1), d, 1), _r((1, 1, 2, 3), d, 2)], (0, 1, 2)),
    ("conv2d_transpose same stride 2", lambda K, x, k: K.conv2d_transpose(x, k, (2, 8, 6, 4), (2, 2), "same"),
     lambda d: [_r((2, 4, 3, 3), d), _r((3, 3, 4, 3), d, 1)], (0, 1)),
    ("conv2d_transpose same stride 2 odd out", lambda K, x, k: K.conv2d_transpose(x, k, (2, 7, 5, 2), (2, 2),
                                                                                   "same"),
     lambda d: [_r((2, 4, 3, 3), d), _r((4, 2, 2, 3), d, 1)], (0, 1)),
    ("conv2d_transpose valid stride 2", lambda K, x, k: K.conv2d_transpose(x, k, (1, 9, 7, 2), (2, 2), "valid"),
     lambda d: [_r((1, 4, 3, 3), d), _r((3, 3, 2, 3), d, 1)], (0, 1)),
    ("conv2d_transpose valid stride 2 extra row", lambda K, x, k: K.conv2d_transpose(x, k, (1, 10, 8, 2), (2, 2),
                                                                                      "valid"),
     lambda d: [_r((1, 4, 3, 3), d), _r((3, 3, 2, 3), d, 1)], (0, 1)),
    ("conv2d_transpose batch None", lambda K, x, k: K.conv2d_transpose(x, k, (None, 6, 6, 2), (2, 2), "same"),
     lambda d: [_r((3, 3, 3, 1), d), _r((2, 2, 2, 1), d, 1)], (0, 1)),
    ("conv2d_transpose dilation 2 (strides ignored)",
     lambda K, x, k: K.conv2d_transpose(x, k, (1, 5, 5, 2), (2, 2), "same", dilation_rate=(2, 2)),
     lambda d: [_r((1, 5, 5, 3), d), _r((3, 3, 2, 3), d, 1)], (0, 1)),
    # pooling
    ("pool2d max valid", lambda K, x: K.pool2d(x, (2, 2), (2, 2)), lambda d: [_r((2, 6, 5, 3), d)], (0,)),
    ("pool2d max same odd", lambda K, x: K.pool2d(x, (3, 3), (2, 2), padding="same"),
     lambda d: [_r((2, 7, 6, 2), d)], (0,)),
    ("pool2d max ties", lambda K, x: K.pool2d(x, (2, 2), (1, 1)), lambda d: [_ints((2, 5, 5, 2), d)], (0,)),
    ("pool2d max same, all-negative edge", lambda K, x: K.pool2d(x, (3, 3), (2, 2), padding="same"),
     lambda d: [-np.abs(_r((1, 5, 5, 1), d)) - 1], (0,)),
    ("pool2d avg valid", lambda K, x: K.pool2d(x, (2, 3), (2, 2), pool_mode="avg"),
     lambda d: [_r((2, 6, 7, 3), d)], (0,)),
    ("pool2d avg same (padding not counted)", lambda K, x: K.pool2d(x, (3, 3), (2, 2), padding="same",
                                                                    pool_mode="avg"),
     lambda d: [_r((2, 7, 6, 2), d)], (0,)),
    ("pool3d max same", lambda K, x: K.pool3d(x, (2, 2, 2), (2, 2, 2), padding="same"),
     lambda d: [_r((1, 5, 4, 3, 2), d)], (0,)),
    ("pool3d avg same", lambda K, x: K.pool3d(x, (3, 2, 2), (2, 1, 2), padding="same", pool_mode="avg"),
     lambda d: [_r((1, 5, 4, 3, 2), d)], (0,)),
    # bias, batch normalisation, padding, resizing
    ("bias_add 1-D", lambda K, x, b: K.bias_add(x, b), lambda d: [_r((2, 4, 3), d), _r((3,), d, 1)], (0, 1)),
    ("bias_add 1-D on a matrix", lambda K, x, b: K.bias_add(x, b), lambda d: [_r((4, 3), d), _r((3,), d, 1)],
     (0, 1)),
    ("bias_add full rank", lambda K, x, b: K.bias_add(x, b), lambda d: [_r((2, 4, 5, 3), d), _r((4, 5, 3), d, 1)],
     (0, 1)),
    ("batch_normalization", lambda K, x, m, v, b, g: K.batch_normalization(x, m, v, b, g),
     lambda d: [_r((4, 3), d), _r((3,), d, 1), _r((3,), d, 2, 0.1, 2.0), _r((3,), d, 3), _r((3,), d, 4)],
     (0, 1, 2, 3, 4)),
    ("batch_normalization no beta/gamma", lambda K, x, m, v: K.batch_normalization(x, m, v, None, None, epsilon=1e-5),
     lambda d: [_r((2, 5, 3), d), _r((3,), d, 1), _r((3,), d, 2, 0.0, 0.5)], (0, 1, 2)),
    ("temporal_padding", lambda K, x: K.temporal_padding(x, (2, 1)), lambda d: [_r((2, 4, 3), d)], (0,)),
    ("spatial_2d_padding", lambda K, x: K.spatial_2d_padding(x, ((1, 2), (0, 3))), lambda d: [_r((2, 3, 4, 2), d)],
     (0,)),
    ("spatial_3d_padding", lambda K, x: K.spatial_3d_padding(x, ((1, 0), (0, 2), (1, 1))),
     lambda d: [_r((1, 2, 3, 2, 2), d)], (0,)),
    ("resize_images nearest", lambda K, x: K.resize_images(x, 2, 3, "channels_last"),
     lambda d: [_r((2, 3, 2, 2), d)], (0,)),
    ("resize_images nearest channels_first", lambda K, x: K.resize_images(x, 3, 2, "channels_first"),
     lambda d: [_r((2, 2, 3, 2), d)], (0,)),
    ("resize_volumes", lambda K, x: K.resize_volumes(x, 2, 1, 3, "channels_last"),
     lambda d: [_r((1, 2, 3, 2, 2), d)], (0,)),
]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_layer_ops_like_keras(case, dt):
    name, fn, make, grads = case
    if name.startswith("pool3d") and dt == "float64":  # TensorFlow's 3-D pooling kernels have no float64
        with pytest.raises(tf.errors.OpError):
            fn(KK, tf.constant(make(dt)[0]))
        x = make(dt)[0]
        ours = fn(TK, torch.tensor(x)).numpy()
        ref = fn(KK, tf.constant(x.astype("float32"))).numpy()
        print(f"{name}: float64 here (Keras raises), within {np.max(np.abs(ours - ref)):.1e} of Keras's float32")
        np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-6)
        return
    compare(name, fn, make(dt), grads, dt)


def test_resize_images_bilinear_like_keras():
    """``tf.image.resize`` bilinear returns float32 (a float64 image too); half-pixel centres."""
    compare("resize_images bilinear", lambda K, x: K.resize_images(x, 2, 2, "channels_last", "bilinear"),
            [_r((2, 3, 4, 2), "float32")], (0,), "float32")
    x64 = _r((2, 3, 4, 2), "float64")
    ref = KK.resize_images(tf.constant(x64), 2, 3, "channels_last", "bilinear").numpy()
    ours = TK.resize_images(torch.tensor(x64), 2, 3, "channels_last", "bilinear").numpy()
    assert ours.dtype == ref.dtype == np.float32, (ours.dtype, ref.dtype)
    err = float(np.max(np.abs(ours - ref)))
    print(f"resize_images bilinear of a float64 image: float32 both, max abs {err:.1e}")
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)
    with pytest.raises(NotImplementedError):
        TK.resize_images(torch.tensor(x64), 2, 2, "channels_last", "bicubic")
    with pytest.raises(ValueError, match="interpolation"):
        TK.resize_images(torch.tensor(x64), 2, 2, "channels_last", "cubic")


CHANNELS_FIRST = [
    ("conv2d", lambda K, x, k, df: K.conv2d(x, k, strides=(2, 2), padding="same", data_format=df),
     lambda d: [_r((2, 7, 6, 3), d), _r((3, 3, 3, 2), d, 1)]),
    ("conv1d", lambda K, x, k, df: K.conv1d(x, k, padding="causal", data_format=df),
     lambda d: [_r((2, 7, 3), d), _r((3, 3, 2), d, 1)]),
    ("depthwise", lambda K, x, k, df: K.depthwise_conv2d(x, k, padding="same", data_format=df),
     lambda d: [_r((2, 5, 6, 3), d), _r((3, 3, 3, 2), d, 1)]),
    ("conv2d_transpose", lambda K, x, k, df: K.conv2d_transpose(
        x, k, (2, 8, 6, 4) if df == "channels_last" else (2, 4, 8, 6), (2, 2), "same", data_format=df),
     lambda d: [_r((2, 4, 3, 3), d), _r((3, 3, 4, 3), d, 1)]),
    ("pool2d avg", lambda K, x, k, df: K.pool2d(x, (3, 3), (2, 2), "same", df, "avg"),
     lambda d: [_r((2, 7, 6, 3), d), None]),
    ("pool2d max", lambda K, x, k, df: K.pool2d(x, (3, 3), (2, 2), "same", df, "max"),
     lambda d: [_r((2, 7, 6, 3), d), None]),
    ("bias_add", lambda K, x, k, df: K.bias_add(x, k, df), lambda d: [_r((2, 4, 5, 3), d), _r((3,), d, 1)]),
    ("bias_add full", lambda K, x, k, df: K.bias_add(x, k, df), lambda d: [_r((2, 4, 5, 3), d), _r((4, 5, 3), d, 1)]),
    ("spatial_2d_padding", lambda K, x, k, df: K.spatial_2d_padding(x, ((1, 2), (0, 3)), df),
     lambda d: [_r((2, 3, 4, 2), d), None]),
]


@pytest.mark.parametrize("case", CHANNELS_FIRST, ids=[c[0] for c in CHANNELS_FIRST])
def test_channels_first_equals_keras_channels_last(case):
    """TensorFlow's CPU kernels run no NCHW convolution: ours in ``channels_first`` against Keras's
    ``channels_last`` result moved to NCHW (float64, values and input gradients)."""
    name, fn, make = case
    x, k = make("float64")
    ref = fn(KK, tf.constant(x), None if k is None else tf.constant(k), "channels_last").numpy()
    xt = torch.tensor(np.moveaxis(x, -1, 1).copy(), requires_grad=True)
    out = fn(TK, xt, None if k is None else torch.tensor(k), "channels_first")
    ours = np.moveaxis(out.detach().numpy(), 1, -1)
    err = float(np.max(np.abs(ours - ref)))
    print(f"{name:20s} channels_first vs Keras's channels_last: max abs {err:.1e}")
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-13)
    xv = tf.Variable(x)
    with tf.GradientTape() as tape:
        s = tf.reduce_sum(fn(KK, xv, None if k is None else tf.constant(k), "channels_last") ** 2)
    (out ** 2).sum().backward()
    np.testing.assert_allclose(np.moveaxis(xt.grad.numpy(), 1, -1), tape.gradient(s, xv).numpy(), rtol=1e-10,
                               atol=1e-12)


def test_layer_op_errors_like_keras():
    x = torch.zeros(1, 4, 4, 2)
    for call, match in [
        (lambda: TK.conv2d(x, torch.zeros(3, 3, 2, 1), padding="full"), "Invalid padding"),
        (lambda: TK.conv2d(x, torch.zeros(3, 3, 2, 1), data_format="NHWC"), "Unknown data_format"),
        (lambda: TK.pool2d(x, (2, 2), pool_mode="min"), "Invalid pooling mode"),
        (lambda: TK.pool2d(x, (2, 2, 2)), "pool_size"),
        (lambda: TK.bias_add(x, torch.zeros(2, 2)), "Unexpected bias dimensions"),
        (lambda: TK.temporal_padding(torch.zeros(1, 2, 3), (1, 1, 1)), "tuple of 2 integers"),
        (lambda: TK.spatial_2d_padding(x, ((1, 1),)), "tuple of 2 tuples"),
        (lambda: TK.conv2d_transpose(x, torch.zeros(3, 3, 1, 2), (1, 9, 9, 1), (2, 2), "same"), "output_shape"),
        (lambda: TK.conv2d(x, torch.zeros(3, 3, 3, 1)), "input channels"),
    ]:
        with pytest.raises(ValueError, match=match):
            call()


# --------------------------------------------------------------------------------------------------------------
# CTC
# --------------------------------------------------------------------------------------------------------------


def _ctc_case(dt, n=4, steps=9, classes=6, seed=0):
    rng = np.random.default_rng(seed)
    probs = tf.nn.softmax(rng.normal(scale=2.0, size=(n, steps, classes))).numpy().astype(dt)
    labels = np.array([[1, 2, 3, 0], [4, 4, 1, 2], [0, 0, 0, 0], [2, 1, 2, 1]][:n])
    label_length = np.array([[3], [4], [2], [4]][:n])
    input_length = np.array([[9], [7], [3], [8]][:n])
    return labels, probs, input_length, label_length


def test_ctc_batch_cost_like_keras_float32():
    """Rows with repeats (``4 4`` needs a blank between), a short ``input_length`` (gradient 0 after it), padding
    past ``label_length``; values ``(N, 1)`` and gradients w.r.t. the probabilities, float32 standards."""
    labels, probs, il, ll = _ctc_case("float32")
    compare("ctc_batch_cost", lambda K, y, p, i, l_: K.ctc_batch_cost(y, p, i, l_), [labels, probs, il, ll], (1,),
            "float32")
    # float arrays of labels and lengths (Keras 2 scripts feed them): cast as TensorFlow casts them
    compare("ctc_batch_cost float lengths", lambda K, y, p, i, l_: K.ctc_batch_cost(y, p, i, l_),
            [labels.astype("float32"), probs, il.astype("float32"), ll.astype("float32")], (1,), "float32")


def _ctc_oracle(labels, probs, steps):
    """-log of the summed probability of every alignment that collapses to ``labels`` (all ``C**steps`` paths
    enumerated), on ``log_softmax(log(p + 1e-7))``, float64 autograd."""
    import itertools

    classes = probs.shape[-1]
    logp = torch.log_softmax(torch.log(probs + 1e-7), -1)
    terms = []
    for path in itertools.product(range(classes), repeat=steps):
        seq, previous = [], None
        for k in path:
            if k != previous and k != classes - 1:
                seq.append(k)
            previous = k
        if seq == list(labels):
            terms.append(torch.stack([logp[t, k] for t, k in enumerate(path)]).sum())
    return -torch.logsumexp(torch.stack(terms), 0)


def test_ctc_batch_cost_float64_exact_where_tensorflow_is_not():
    """TensorFlow's CTC kernel works in float32 inside, float64 inputs too. Ours computes in float64: equal to a
    brute-force oracle (every alignment enumerated) to rounding, and within TensorFlow's own error of Keras."""
    rng = np.random.default_rng(3)
    probs = tf.nn.softmax(rng.normal(scale=2.0, size=(2, 6, 4))).numpy()
    labels, il, ll = np.array([[1, 1, 2], [0, 2, 0]]), np.array([[6], [5]]), np.array([[3], [2]])
    pt = torch.tensor(probs, requires_grad=True)
    ours = TK.ctc_batch_cost(torch.tensor(labels), pt, torch.tensor(il), torch.tensor(ll))
    ours.sum().backward()
    pv = tf.Variable(probs)
    with tf.GradientTape() as tape:
        ref = KK.ctc_batch_cost(tf.constant(labels), pv, tf.constant(il), tf.constant(ll))
        total = tf.reduce_sum(ref)
    ref_grad = tape.gradient(total, pv).numpy()
    worst = {"ours value": 0.0, "ours grad": 0.0, "Keras value": 0.0, "Keras grad": 0.0}
    for row in range(2):
        po = torch.tensor(probs[row], requires_grad=True)
        steps = int(il[row, 0])
        oracle = _ctc_oracle(labels[row, : ll[row, 0]], po[:steps], steps)
        oracle.backward()
        o_val, o_grad = oracle.item(), po.grad.numpy()
        worst["ours value"] = max(worst["ours value"], abs(ours[row, 0].item() - o_val) / o_val)
        worst["ours grad"] = max(worst["ours grad"], float(np.max(np.abs(pt.grad.numpy()[row] - o_grad))))
        worst["Keras value"] = max(worst["Keras value"], abs(ref.numpy()[row, 0] - o_val) / o_val)
        worst["Keras grad"] = max(worst["Keras grad"], float(np.max(np.abs(ref_grad[row] - o_grad))))
    print("ctc_batch_cost float64 against the enumerated oracle: " + ", ".join(f"{k} {v:.1e}" for k, v in
                                                                                worst.items()))
    assert worst["ours value"] < 1e-12 and worst["ours grad"] < 1e-10
    assert worst["Keras value"] < 1e-7 and worst["Keras grad"] < 1e-3  # TensorFlow's float32 inside
    np.testing.assert_allclose(ours.detach().numpy(), ref.numpy(), rtol=1e-7)
    np.testing.assert_allclose(pt.grad.numpy(), ref_grad, atol=1e-3)
    assert np.array_equal(pt.grad.numpy() == 0, ref_grad == 0)


def test_ctc_batch_cost_impossible_repeat_is_inf_and_errors():
    p = tf.nn.softmax(np.random.default_rng(1).normal(size=(1, 2, 5))).numpy()
    ref = KK.ctc_batch_cost(tf.constant([[3, 3]]), tf.constant(p), tf.constant([[2]]), tf.constant([[2]])).numpy()
    ours = TK.ctc_batch_cost(torch.tensor([[3, 3]]), torch.tensor(p), torch.tensor([[2]]), torch.tensor([[2]]))
    print(f"repeat without room: Keras {ref.ravel()}, ours {ours.numpy().ravel()}")
    assert np.isinf(ref).all() and torch.isinf(ours).all()
    pt = torch.tensor(p)
    for y, il, ll, match in [([[4, 1]], 2, 2, "after a null"), ([[1, -1]], 2, 2, "negative"), ([[1, 2]], 3, 2, "input_length"),
                             ([[1, 2]], 1, 2, "not enough time"), ([[1, 2]], 2, 0, "zero")]:
        with pytest.raises(tf.errors.InvalidArgumentError):
            KK.ctc_batch_cost(tf.constant(y), tf.constant(p), tf.constant([[il]]), tf.constant([[ll]]))
        with pytest.raises(ValueError, match=match):
            TK.ctc_batch_cost(torch.tensor(y), pt, torch.tensor([[il]]), torch.tensor([[ll]]))
    with pytest.raises(ValueError, match=r"\(batch_size, 1\)"):
        TK.ctc_batch_cost(torch.tensor([[1, 2]]), pt, torch.tensor([2]), torch.tensor([2]))


def test_ctc_label_dense_to_sparse_like_keras():
    labels, lengths = np.array([[1, 2, 0], [3, 0, 0], [5, 6, 7]], np.int32), np.array([2, 1, 3], np.int32)
    ref = KK.ctc_label_dense_to_sparse(tf.constant(labels), tf.constant(lengths))
    ours = TK.ctc_label_dense_to_sparse(torch.tensor(labels), torch.tensor(lengths)).coalesce()
    assert ours.indices().t().tolist() == ref.indices.numpy().tolist()
    assert ours.values().tolist() == ref.values.numpy().tolist()
    assert list(ours.shape) == ref.dense_shape.numpy().tolist()


def _decode_case(dt, n, steps, classes, seed, scale, normalised=True):
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=scale, size=(n, steps, classes))
    p = tf.nn.softmax(z).numpy() if normalised else 1 / (1 + np.exp(-z))  # sigmoid outputs: not normalised
    lengths = rng.integers(max(steps - 3, 0), steps + 1, size=n)
    return p.astype(dt), lengths


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("greedy, beam_width, top_paths", [(True, 100, 1), (False, 100, 1), (False, 4, 3),
                                                           (False, 1, 1), (False, 10, 10)])
def test_ctc_decode_like_keras(dt, greedy, beam_width, top_paths):
    """Decoded paths equal, log probabilities within float32 rounding, over random batches (normalised softmax
    outputs and unnormalised sigmoid ones, peaked and flat)."""
    worst, cases = 0.0, 0
    for seed, (n, steps, classes, scale, normalised) in enumerate([(4, 8, 5, 2.0, True), (3, 12, 4, 0.5, True),
                                                                   (3, 6, 7, 3.0, False), (2, 10, 3, 1.0, True)]):
        p, lengths = _decode_case(dt, n, steps, classes, seed, scale, normalised)
        kd, kl = KK.ctc_decode(tf.constant(p), tf.constant(lengths), greedy=greedy, beam_width=beam_width,
                               top_paths=top_paths)
        td, tl = TK.ctc_decode(torch.tensor(p), torch.tensor(lengths), greedy=greedy, beam_width=beam_width,
                               top_paths=top_paths)
        assert len(td) == len(kd)
        for j, (a, b) in enumerate(zip(td, kd)):
            assert a.dtype == torch.int64 and a.numpy().tolist() == b.numpy().tolist(), (seed, j, a, b)
        assert str(tl.dtype)[6:] == kl.numpy().dtype.name
        rel = float(np.max(np.abs(tl.numpy() - kl.numpy()) / np.abs(kl.numpy())))
        assert rel < (1e-12 if greedy and dt == "float64" else 2e-6), (seed, tl, kl)
        worst, cases = max(worst, rel), cases + 1
    print(f"ctc_decode greedy={greedy} beam={beam_width} top={top_paths} {dt}: {cases} batches, paths equal, "
          f"log_prob rel {worst:.1e}")


def test_ctc_beam_search_fuzz_like_keras():
    """200 random batches, narrow beams (where pruning decides), peaked, flat and unnormalised scores."""
    rng = np.random.default_rng(11)
    worst = 0.0
    for trial in range(200):
        n, steps, classes = int(rng.integers(1, 4)), int(rng.integers(1, 12)), int(rng.integers(2, 7))
        beam = int(rng.integers(1, 6))
        top = int(rng.integers(1, beam + 1))
        p, lengths = _decode_case("float32", n, steps, classes, 100 + trial, float(rng.uniform(0.3, 4.0)),
                                  bool(trial % 3))
        lengths = np.minimum(lengths, steps)
        try:
            kd, kl = KK.ctc_decode(tf.constant(p), tf.constant(lengths), greedy=False, beam_width=beam,
                                   top_paths=top)
        except tf.errors.InvalidArgumentError:  # fewer beams than top_paths survive (e.g. one class, short rows)
            with pytest.raises(ValueError, match="top_paths"):
                TK.ctc_decode(torch.tensor(p), torch.tensor(lengths), greedy=False, beam_width=beam, top_paths=top)
            continue
        td, tl = TK.ctc_decode(torch.tensor(p), torch.tensor(lengths), greedy=False, beam_width=beam,
                               top_paths=top)
        for a, b in zip(td, kd):
            assert a.numpy().tolist() == b.numpy().tolist(), (trial, a, b)
        worst = max(worst, float(np.max(np.abs(tl.numpy() - kl.numpy()) / np.maximum(np.abs(kl.numpy()), 1e-30))))
    print(f"ctc beam search fuzz: 200 batches, paths equal, log_prob rel {worst:.1e}")
    assert worst < 5e-6


def test_ctc_batch_cost_null_labels_end_the_labelling_like_keras():
    """TensorFlow's CTC reads a row's labels up to its first label ``>= C - 1`` (the blank, or keras.io's
    handwriting padding value 99): ``[1, 2, 99, 99]``, ``[1, 2, 7, 7]`` and ``[1, 2]`` cost the same; the label
    length (padding counted) must still fit ``input_length``. A row of null labels only (an empty labelling) is a
    deliberate difference: TensorFlow's kernel then reads outside its path table (17.593 here), ours costs the
    all-blank path (-sum of the blank's log probabilities: 18.946)."""
    p = tf.nn.softmax(np.random.default_rng(0).normal(size=(1, 10, 8))).numpy()
    rows = [([[1, 2, 99, 99]], 10, 4), ([[1, 2, 7, 7]], 10, 4), ([[1, 2]], 10, 2), ([[3, 3, 120]], 10, 3)]
    worst = 0.0
    for y, il, ll in rows:
        pv, pt = tf.Variable(p), torch.tensor(p, requires_grad=True)
        with tf.GradientTape() as tape:
            ref = KK.ctc_batch_cost(tf.constant(y), pv, tf.constant([[il]]), tf.constant([[ll]]))
            total = tf.reduce_sum(ref)
        ref_grad = tape.gradient(total, pv).numpy()
        ours = TK.ctc_batch_cost(torch.tensor(y), pt, torch.tensor([[il]]), torch.tensor([[ll]]))
        ours.sum().backward()
        worst = max(worst, abs(ours.item() - float(ref[0, 0])) / float(ref[0, 0]),
                    float(np.max(np.abs(pt.grad.numpy() - ref_grad))))
    print(f"null labels: {len(rows)} rows like Keras within {worst:.1e} (values and gradients; TensorFlow's float32 "
          "inside)")
    assert worst < 1e-6
    empty = TK.ctc_batch_cost(torch.tensor([[99, 99]]), torch.tensor(p), torch.tensor([[10]]), torch.tensor([[2]]))
    blank_path = -torch.log_softmax(torch.log(torch.tensor(p) + 1e-7), -1)[0, :, 7].sum()
    keras_empty = float(KK.ctc_batch_cost(tf.constant([[99, 99]]), tf.constant(p), tf.constant([[10]]),
                                          tf.constant([[2]]))[0, 0])
    print(f"an all-null row: ours {empty.item():.6f} (the all-blank path {blank_path.item():.6f}), Keras "
          f"{keras_empty:.6f}")
    assert abs(empty.item() - blank_path.item()) < 1e-12
    p2 = p[:, :2]
    for y in ([[1, 99, 99]], [[1, 99, 2]]):
        with pytest.raises(tf.errors.InvalidArgumentError):
            KK.ctc_batch_cost(tf.constant(y), tf.constant(p2 if y[0][2] == 99 else p), tf.constant([[2 if y[0][2] == 99
                              else 10]]), tf.constant([[3]]))
    with pytest.raises(ValueError, match="not enough time"):
        TK.ctc_batch_cost(torch.tensor([[1, 99, 99]]), torch.tensor(p2), torch.tensor([[2]]), torch.tensor([[3]]))
    with pytest.raises(ValueError, match="after a null"):
        TK.ctc_batch_cost(torch.tensor([[1, 99, 2]]), torch.tensor(p), torch.tensor([[10]]), torch.tensor([[3]]))

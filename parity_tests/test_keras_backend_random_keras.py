"""Keras 2's random draws (``K.random_normal``, ``K.random_uniform``, ``K.truncated_normal``, ``K.random_bernoulli``,
``K.random_*_variable``, ``K.dropout``) against Keras 3.15.1's legacy backend on TensorFlow 2.21.

They run TensorFlow's *stateful* kernels: one Philox generator per ``(op, dtype, seed)`` in the eager kernel cache,
keyed by the global seed, advancing ``256 * n`` blocks per call, started over by ``tf.random.set_seed``.

Measured (``python -m pytest -q -s parity_tests/test_keras_backend_random_keras.py``):

| draws                                                  | result                                           |
|--------------------------------------------------------|--------------------------------------------------|
| uniform, bernoulli, uniform_variable, dropout          | equal bit for bit (global seed set and unset)    |
| normal, truncated_normal, normal_variable              | equal bit for bit (glibc; elsewhere within 1 ulp)|
| repeated calls with one seed, mixed ops and dtypes     | the same stream positions as TensorFlow's cache  |
| ``seed=None``                                          | NumPy's ``randint(10e6)`` / ``(10e8)``, equal    |
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torch_impl import _tf_random
from torch_impl import keras_backend as KB
from torch_impl import keras_random as R

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")
from keras.src.legacy import backend as K  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]


def _script(B, x_of):
    """One Keras 2-style sequence of draws, written once for both backends (``B`` is ``K`` or ``KB``)."""
    x = x_of(np.arange(1, 13, dtype="float32").reshape(3, 4) / 5)
    x64 = x_of(np.ones((4, 5), dtype="float64"))
    return [
        ("normal", B.random_normal((5, 3), seed=1)),
        ("normal again", B.random_normal((4,), seed=1)),
        ("normal f64", B.random_normal((5, 3), 0.5, 2.0, seed=2, dtype="float64")),
        ("uniform", B.random_uniform((7,), seed=3)),
        ("uniform bounds", B.random_uniform((7,), -1.0, 2.5, seed=3)),
        ("uniform int bounds", B.random_uniform((2, 3), 0, 1, seed=3)),
        ("uniform f16", B.random_uniform((9,), seed=3, dtype="float16")),
        ("truncated", B.truncated_normal((9, 5), seed=4)),
        ("truncated f64", B.truncated_normal((9,), 1.0, 0.1, seed=4, dtype="float64")),
        ("bernoulli", B.random_bernoulli((10,), 0.3, seed=5)),
        ("normal_variable", B.random_normal_variable((3, 2), 0.0, 1.0, seed=6)),
        ("uniform_variable", B.random_uniform_variable((3, 2), -1.0, 1.0, seed=7)),
        ("dropout", B.dropout(x, 0.4, seed=8)),
        ("dropout noise_shape", B.dropout(x, 0.4, noise_shape=(3, 1), seed=8)),
        ("dropout f64", B.dropout(x64, 0.5, seed=9)),
        ("dropout rate 0", B.dropout(x, 0.0, seed=9)),
        ("normal seedless", B.random_normal((6,))),
        ("dropout seedless", B.dropout(x64, 0.5)),
        ("uniform_variable seedless", B.random_uniform_variable((2, 2), 0.0, 1.0)),
    ]


def _compare(global_seed):
    if global_seed is None:
        tf.random.set_seed(None)
        np.random.seed(3)
    else:
        keras.utils.set_random_seed(global_seed)
    theirs = _script(K, lambda a: a)
    if global_seed is None:
        _tf_random.set_global_seed(None)
        np.random.seed(3)
    else:
        R.set_random_seed(global_seed)
    ours = _script(KB, torch.tensor)
    equal = total = 0
    for (name, a), (_, b) in zip(ours, theirs):
        a = a.numpy()
        b = np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape, (name, a.dtype, b.dtype, a.shape, b.shape)
        if "normal" in name or "truncated" in name:
            equal += int((a == b).sum())
            total += a.size
        if ("normal" in name or "truncated" in name) and not _tf_random._libm_box_muller()[a.dtype == np.float64]:
            rtol = 3e-7 if a.dtype == np.float32 else 1e-15  # float64 math rounded: an ulp off on ~1%
            np.testing.assert_allclose(a, b, rtol=rtol, atol=0, err_msg=name)
        else:
            np.testing.assert_array_equal(a, b, err_msg=name)
    print(f"global seed {global_seed}: {len(ours)} draws; the normal ones {equal}/{total} equal, all bit for bit "
          f"with glibc")


def test_draws_with_a_global_seed():
    _compare(1234)


def test_draws_without_a_global_seed():
    _compare(None)


def test_the_cache_is_per_op_dtype_and_seed_and_restarts_with_set_seed():
    keras.utils.set_random_seed(7)
    theirs = [np.asarray(f()) for f in (lambda: K.random_uniform((3,), seed=1),
                                        lambda: K.random_uniform((3,), seed=1, dtype="float64"),
                                        lambda: K.random_uniform((5,), seed=1),
                                        lambda: K.random_uniform((3,), seed=2))]
    keras.utils.set_random_seed(7)
    again = np.asarray(K.random_uniform((3,), seed=1))
    R.set_random_seed(7)
    ours = [f().numpy() for f in (lambda: KB.random_uniform((3,), seed=1),
                                  lambda: KB.random_uniform((3,), seed=1, dtype="float64"),
                                  lambda: KB.random_uniform((5,), seed=1),
                                  lambda: KB.random_uniform((3,), seed=2))]
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)
    R.set_random_seed(7)
    np.testing.assert_array_equal(KB.random_uniform((3,), seed=1).numpy(), again)
    assert not np.array_equal(theirs[0], theirs[2][:3])  # the same op and seed moved on: TensorFlow's eager cache


def test_vae_keras2_sampling_gradient():
    """Keras 2's VAE ``sampling``: ``z_mean + K.exp(0.5 * z_log_var) * K.random_normal(shape=(batch, dim))`` with
    NumPy's seed; value and gradient in float64."""
    rng = np.random.default_rng(1)
    zm, zv = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)) * 0.2
    keras.utils.set_random_seed(0)
    tm, tv = tf.Variable(zm), tf.Variable(zv)
    with tf.GradientTape() as tape:
        zk = tm + K.exp(0.5 * tv) * K.random_normal(shape=(4, 3), dtype="float64")
        lk = tf.reduce_sum(tf.sin(zk))
    gm, gv = tape.gradient(lk, [tm, tv])
    R.set_random_seed(0)
    om, ov = torch.tensor(zm, requires_grad=True), torch.tensor(zv, requires_grad=True)
    zo = om + KB.exp(0.5 * ov) * KB.random_normal(shape=(4, 3), dtype="float64")
    torch.sin(zo).sum().backward()
    rel = max(float(np.abs(zo.detach().numpy() - zk.numpy()).max() / np.abs(zk.numpy()).max()),
              float(np.abs(ov.grad.numpy() - gv.numpy()).max() / np.abs(gv.numpy()).max()),
              float(np.abs(om.grad.numpy() - gm.numpy()).max() / np.abs(gm.numpy()).max()))
    print(f"Keras 2 VAE sampling: value and gradients within {rel:.1e}")
    assert rel <= 1e-14


def test_dropout_gradient_and_errors():
    R.set_random_seed(2)
    x = torch.linspace(-1, 1, 12, dtype=torch.float64, requires_grad=True)
    KB.dropout(x, 0.25, seed=4).sum().backward()
    keras.utils.set_random_seed(2)
    mask = np.asarray(K.dropout(np.ones(12), 0.25, seed=4)) != 0
    np.testing.assert_array_equal(x.grad.numpy(), np.where(mask, 1 / 0.75, 0.0))
    for level in (1.5, -0.1):
        with pytest.raises(ValueError, match="rate"):
            K.dropout(np.ones(3, dtype="float32"), level, seed=1)
        with pytest.raises(ValueError, match="rate"):
            KB.dropout(torch.ones(3), level, seed=1)
    with pytest.raises(ValueError, match="floating point"):
        K.dropout(np.ones(3, dtype="int32"), 0.5, seed=1)
    with pytest.raises(ValueError, match="floating point"):
        KB.dropout(torch.ones(3, dtype=torch.int32), 0.5, seed=1)

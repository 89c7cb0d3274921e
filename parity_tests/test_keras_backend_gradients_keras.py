"""``K.gradients`` and the variable updates (``K.update``, ``update_add``, ``update_sub``,
``moving_average_update``) against Keras 3.15.1's legacy backend on TensorFlow 2.21.

The field case is Keras 2's WGAN-GP critic loss (keras-contrib's ``improved_wgan.py``):
``gradients = K.gradients(y_pred, averaged_samples)[0]``, ``penalty = K.mean(K.square(1 - K.sqrt(
K.sum(K.square(gradients), axis=[1, 2, 3]))))``, whose own gradient with respect to the critic's weights needs
the gradient kept differentiable. Keras runs it inside a traced step (``tf.gradients`` raises eagerly).

Measured (``python -m pytest -q -s parity_tests/test_keras_backend_gradients_keras.py``), float64: the penalty
within 1.4e-16, its gradient with respect to the critic's weights (second order) within 1.5e-15;
``moving_average_update`` with ``momentum=0.99`` equal to Keras's (the float32-rounded momentum), the updates equal.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torch_impl import keras_backend as KB

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")
from keras.src.legacy import backend as K  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]


def _penalty(B, grads_of, y_pred, averaged):
    gradients = grads_of(y_pred, averaged)
    gradients_sqr = B.square(gradients)
    gradients_sqr_sum = B.sum(gradients_sqr, axis=[1, 2, 3])
    gradient_l2_norm = B.sqrt(gradients_sqr_sum)
    return B.mean(B.square(1 - gradient_l2_norm))


def test_wgan_gp_penalty_and_its_gradient():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(4, 5, 5, 2)), rng.normal(size=(4, 5, 5, 2))
    alpha = rng.uniform(size=(4, 1, 1, 1))
    w1, w2 = rng.normal(size=(50, 8)) * 0.3, rng.normal(size=(8, 1)) * 0.3

    tw1, tw2 = tf.Variable(w1), tf.Variable(w2)

    @tf.function
    def keras_step():
        with tf.GradientTape() as tape:
            averaged = tf.constant(alpha * real + (1 - alpha) * fake)
            y = tf.matmul(tf.tanh(tf.matmul(tf.reshape(averaged, (4, 50)), tw1)), tw2)
            p = _penalty(K, lambda yp, a: K.gradients(yp, a)[0], y, averaged)
        return p, tape.gradient(p, [tw1, tw2])

    pk, gk = keras_step()
    ow1, ow2 = torch.tensor(w1, requires_grad=True), torch.tensor(w2, requires_grad=True)
    averaged = torch.tensor(alpha * real + (1 - alpha) * fake, requires_grad=True)
    y = torch.tanh(averaged.reshape(4, 50) @ ow1) @ ow2
    po = _penalty(KB, lambda yp, a: KB.gradients(yp, a)[0], y, averaged)
    go = torch.autograd.grad(po, [ow1, ow2])
    rel_p = abs(po.item() - float(pk)) / abs(float(pk))
    rel_g = max(float(np.abs(a.numpy() - np.asarray(b)).max() / np.abs(np.asarray(b)).max()) for a, b in zip(go, gk))
    print(f"WGAN-GP penalty: value {rel_p:.1e}, second-order gradient {rel_g:.1e}")
    assert rel_p <= 1e-13 and rel_g <= 1e-12


def test_gradients_of_unconnected_and_vector_losses():
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    z = torch.tensor([3.0], dtype=torch.float64, requires_grad=True)
    g = KB.gradients(x ** 2, [x, z])
    assert g[1] is None and torch.equal(g[0].detach(), torch.tensor([2.0, 4.0], dtype=torch.float64))

    @tf.function
    def keras_grads(xv, zv):
        return K.gradients(xv ** 2, [xv, zv])

    gk = keras_grads(tf.constant([1.0, 2.0], tf.float64), tf.constant([3.0], tf.float64))
    assert gk[1] is None and np.array_equal(np.asarray(gk[0]), [2.0, 4.0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_updates_like_keras(dtype):
    start, value = np.array([1.0, -2.0, 0.5], dtype=dtype), np.array([0.3, 0.7, -1.1], dtype=dtype)
    for name, arg in [("update", value), ("update_add", value), ("update_sub", value),
                      ("moving_average_update", 0.99), ("moving_average_update", 0.9)]:
        tv = tf.Variable(start)
        ov = torch.tensor(start)
        if name == "moving_average_update":
            getattr(K, name)(tv, value, arg)
            out = getattr(KB, name)(ov, torch.tensor(value), arg)
        else:
            getattr(K, name)(tv, arg)
            out = getattr(KB, name)(ov, torch.tensor(arg))
        assert out is ov
        np.testing.assert_array_equal(ov.numpy(), tv.numpy(), err_msg=f"{name} {arg}")
    print(f"updates {dtype}: equal to Keras's")

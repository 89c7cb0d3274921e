"""Port Keras 2's WGAN-GP critic loss (``K.random_uniform`` and ``K.gradients``) by changing its import.

Keras 2 (the "Improved WGAN" scripts: a random interpolation between real and fake samples, and a gradient
penalty on the critic's gradient there):
    def random_weighted_average(real, fake):
        alpha = K.random_uniform((BATCH_SIZE, 1), seed=7)
        return alpha * real + (1 - alpha) * fake

    def gradient_penalty_loss(y_true, y_pred, averaged_samples):
        gradients = K.gradients(y_pred, averaged_samples)[0]
        gradient_l2_norm = K.sqrt(K.sum(K.square(gradients), axis=1))
        return K.mean(K.square(1 - gradient_l2_norm))

``from torch_impl import keras_backend as K`` runs the same source: ``K.random_uniform`` draws TensorFlow's numbers
(its stateful kernel, moving on with each call, started over by ``set_random_seed``) and ``K.gradients`` keeps the
gradient differentiable, so the penalty's own gradient reaches the critic's weights. With Keras installed the
script runs three critic steps in both frameworks and prints the difference.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_impl import keras_backend  # noqa: E402
from torch_impl import keras_random  # noqa: E402
from _keras_optional import keras_or_none  # noqa: E402  (examples/_keras_optional.py)

BATCH, DIM, HIDDEN, LR, STEPS = 8, 4, 16, 0.01, 3


def make_losses(K):
    """The Keras 2 source above, with ``K`` a parameter: the only thing a port changes."""

    def random_weighted_average(real, fake):
        alpha = K.random_uniform((BATCH, 1), seed=7)
        return alpha * real + (1 - alpha) * fake

    def gradient_penalty_loss(y_pred, averaged_samples):
        gradients = K.gradients(y_pred, averaged_samples)[0]
        gradient_l2_norm = K.sqrt(K.sum(K.square(gradients), axis=1))
        return K.mean(K.square(1 - gradient_l2_norm))

    def critic_loss(d_real, d_fake, d_avg, averaged):
        return K.mean(d_fake) - K.mean(d_real) + 10.0 * gradient_penalty_loss(d_avg, averaged)

    return random_weighted_average, critic_loss


rng = np.random.default_rng(0)
W1, W2 = rng.normal(size=(DIM, HIDDEN)) * 0.5, rng.normal(size=(HIDDEN, 1)) * 0.5
REAL = [rng.normal(loc=2.0, size=(BATCH, DIM)) for _ in range(STEPS)]
FAKE = [rng.normal(size=(BATCH, DIM)) for _ in range(STEPS)]


def torch_run():
    K = keras_backend
    keras_random.set_random_seed(1)  # keras.utils.set_random_seed(1): TensorFlow's global seed too
    w1, w2 = torch.tensor(W1, requires_grad=True), torch.tensor(W2, requires_grad=True)
    critic = lambda x: torch.tanh(x @ w1) @ w2  # noqa: E731
    average, critic_loss = make_losses(K)
    losses = []
    for real, fake in zip(REAL, FAKE):
        real, fake = torch.tensor(real), torch.tensor(fake)
        averaged = average(real, fake).detach().requires_grad_(True)
        loss = critic_loss(critic(real), critic(fake), critic(averaged), averaged)
        g1, g2 = torch.autograd.grad(loss, [w1, w2])
        with torch.no_grad():
            w1 -= LR * g1
            w2 -= LR * g2
        losses.append(loss.item())
    return losses


def keras_run(keras):
    import tensorflow as tf
    from keras.src.legacy import backend as K  # Keras 3's home of Keras 2's backend functions

    keras.config.set_floatx("float64")
    keras.utils.set_random_seed(1)
    w1, w2 = tf.Variable(W1), tf.Variable(W2)
    critic = lambda x: tf.matmul(tf.tanh(tf.matmul(x, w1)), w2)  # noqa: E731
    average, critic_loss = make_losses(K)

    @tf.function  # K.gradients (tf.gradients) needs a traced function, as inside Keras's training step
    def step(real, fake):
        with tf.GradientTape() as tape:
            averaged = average(real, fake)
            loss = critic_loss(critic(real), critic(fake), critic(averaged), averaged)
        g1, g2 = tape.gradient(loss, [w1, w2])
        w1.assign_sub(LR * g1)
        w2.assign_sub(LR * g2)
        return loss

    return [float(step(tf.constant(r), tf.constant(f))) for r, f in zip(REAL, FAKE)]


def main():
    torch.set_default_dtype(torch.float64)  # K.floatx(): float64 on both sides (keras.config.set_floatx below)
    ours = torch_run()
    print("torch_impl critic losses:", np.round(ours, 10).tolist())
    keras = keras_or_none()
    if keras is None:
        return
    theirs = keras_run(keras)
    gap = max(abs(a - b) / abs(b) for a, b in zip(ours, theirs))
    print("Keras critic losses:     ", np.round(theirs, 10).tolist())
    print(f"max relative difference over {STEPS} steps: {gap:.1e}")
    assert gap < 1e-12


if __name__ == "__main__":
    main()

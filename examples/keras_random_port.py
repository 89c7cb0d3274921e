"""Port a Keras 3 VAE's sampling with ``keras.random``: the same noise, so the same loss.

Keras 3 (keras.io's "Variational AutoEncoder", its ``Sampling`` layer and loss):
    class Sampling(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = keras.random.SeedGenerator(1337)

        def call(self, inputs):
            z_mean, z_log_var = inputs
            epsilon = keras.random.normal(shape=ops.shape(z_mean), seed=self.seed_generator)
            return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))

The usual torch port draws ``torch.randn_like(z_mean)``: other noise, so another loss on every step, and runs
that cannot be compared with the Keras ones. ``torch_impl.keras_random`` draws TensorFlow's numbers from the same
``SeedGenerator(1337)``. With Keras installed the script draws the Keras values too and prints the difference.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_impl import keras_ops as ops  # noqa: E402
from torch_impl import keras_random  # noqa: E402
from _keras_optional import keras_or_none  # noqa: E402  (examples/_keras_optional.py)


class Sampling(torch.nn.Module):
    """The port of the Keras layer: its own generator, one draw per call."""

    def __init__(self):
        super().__init__()
        self.seed_generator = keras_random.SeedGenerator(1337)

    def forward(self, z_mean, z_log_var):
        epsilon = keras_random.normal(shape=tuple(z_mean.shape), dtype=z_mean.dtype, seed=self.seed_generator)
        return z_mean + torch.exp(0.5 * z_log_var) * epsilon


def vae_terms(z_mean, z_log_var, sampling):
    z = sampling(z_mean, z_log_var)
    kl = ops.mean(ops.sum(-0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var)), axis=1))
    return z, kl


def main():
    rng = np.random.default_rng(0)
    z_mean = rng.normal(size=(4, 2)).astype("float32")
    z_log_var = (0.3 * rng.normal(size=(4, 2))).astype("float32")
    sampling = Sampling()
    zs = [vae_terms(torch.tensor(z_mean), torch.tensor(z_log_var), sampling)[0] for _ in range(3)]
    print("torch_impl z (third call):\n", zs[-1].numpy())
    print("torch.randn_like z would be:\n", (torch.tensor(z_mean) + torch.randn(4, 2)).numpy(), "(other noise)")
    print("generator state after three calls:", sampling.seed_generator.state)

    keras = keras_or_none()
    if keras is None:
        return
    gen = keras.random.SeedGenerator(1337)
    theirs = [z_mean + np.exp(0.5 * z_log_var) * np.asarray(keras.random.normal((4, 2), seed=gen))
              for _ in range(3)]
    worst = max(float(np.abs(a.numpy() - b).max()) for a, b in zip(zs, theirs))
    print(f"Keras z, the same three calls: max abs difference {worst:.1e}")
    assert worst < 1e-6


if __name__ == "__main__":
    main()

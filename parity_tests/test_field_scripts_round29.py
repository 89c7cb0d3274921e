"""Real-world Keras scripts, round 29: training scripts from the field whose models use ``SpectralNormalization``
or ``GroupNormalization``, ported to PyTorch with torch_impl as the README recommends
(``torch_impl.nn.SpectralNormalization`` / ``GroupNormalization``, ``load_keras_weights``, ``torch_impl.fit``,
``torch_impl.optim``).

1. A Keras 2-era conditional GAN for wall shear stress (a GitHub CFD coupling script, found with the ``code``
   search, id 25326375945; ``build_cnn_generator`` / ``load_discriminator``): a ``Sequential`` generator (four
   ``Conv2D(3, "same")``, ``ReLU`` between), a ``Sequential`` discriminator (three
   ``tfa.layers.SpectralNormalization(Conv2D(f, 3, padding="same"))`` + ``ReLU``, ``Flatten``, ``Dense(8, relu)``,
   ``Dense(1, sigmoid)``); ``discriminator.compile(optimizer=Adam(learning_rate=0.00002),
   loss="binary_crossentropy", metrics=["accuracy"])``, then ``discriminator.trainable = False`` and the combined
   ``Model(input, discriminator(generator(input)))`` compiled with ``Adam(learning_rate=0.0001)`` and
   ``"binary_crossentropy"``; per batch ``generator.predict``, ``discriminator.train_on_batch`` on the real batch
   (labels 1) and the generated one (labels 0), ``combined_model.train_on_batch(inputs, ones)`` (here Keras 3's
   ``keras.layers.SpectralNormalization``, the TensorFlow Addons layer's successor; 8x8 fields, 4 input channels,
   filters 4/8/8/2 and 4/8/8, 16 samples, ``batch_size=8``, 2 epochs).
2. keras.io "Denoising Diffusion Probabilistic Model" (https://keras.io/examples/generative/ddpm/): the U-Net
   (``TimeEmbedding`` (float32 sinusoids), ``TimeMLP``, ``ResidualBlock`` (``GroupNormalization(groups)``, swish,
   ``Conv2D``, the time embedding added), ``AttentionBlock`` (``GroupNormalization``, ``Dense`` q/k/v/proj,
   ``tf.einsum`` attention over the map, the normalised input plus the projection), ``DownSample`` (a stride-2
   ``"same"`` conv), ``UpSample`` (nearest), skips by ``Concatenate``; ``kernel_init`` = ``VarianceScaling(fan_avg,
   uniform)``), trained on ``MeanSquaredError`` with ``Adam(2e-4)`` (here ``widths=[4, 8]``, ``has_attention=[False,
   True]``, ``num_res_blocks=1``, ``norm_groups=2``, ``first_conv_channels=4``, 8x8 images, 32 samples, 50 timesteps,
   ``batch_size=8``, 2 epochs, ``validation_split=0.25``; the ``train_step``'s ``tf.random`` draws of ``t`` and the
   noise made ahead in NumPy and the network trained by ``fit([images_t, t], noise)``; no EMA network).

Small synthetic data shaped like each script's, seeded; both sides from the same weights (``load_keras_weights``:
the wrapper's kernel, ``vector_u``, bias; the U-Net layer by layer, each class's layers in the order the example
makes them). Standards: float64 histories within 1e-12 relative (tighter than DESIGN.md's 1e-8), float32 within
1e-3 (float32 runs and the U-Net's fit ``slow``). Measured (max relative error over every logged value):

===================  ===============================================  ============================================
script               float64                                          float32 (``slow``)
===================  ===============================================  ============================================
1 SN GAN             every ``train_on_batch`` value 1.7e-16; final    8.7e-8; weights 3.9e-7 / 1.2e-6
                     weights 7.3e-16 (discriminator), 1.2e-15
                     (generator); ``parametrizations.spectral_norm``:
                     losses 2.4e-3 apart (slow)
2 DDPM U-Net         loss 5.7e-15, val_loss 2.0e-15, weights 2.4e-11   6.0e-8; weights 3.0e-8
                     norm-wise (slow); default run: initial outputs
                     1.6e-13 norm-wise (``torch.nn.GroupNorm``:
                     1.6e-3)
===================  ===============================================  ============================================

What the ports found (each pinned by a test):

* Keras 3 quirk, SN GAN: the Keras 2 GAN recipe (compile the discriminator, set ``discriminator.trainable =
  False``, build and compile the combined model) froze the discriminator only inside the combined model, because
  Keras 2 fixed each model's trainable weights at its ``compile``. Keras 3 reads ``trainable`` at every step: the
  discriminator's own ``train_on_batch`` then has no trainable weights (``"The model does not have any trainable
  weights."``, ``keras/src/backend/tensorflow/trainer.py`` 86) and trains nothing, while every training call of
  the ``SpectralNormalization`` wrappers still overwrites their kernels with ``kernel / sigma`` and their
  ``vector_u`` (``keras/src/layers/normalization/spectral_normalization.py`` 78-85, in a frozen model too): the
  discriminator's convolution kernels move, its ``Dense`` weights and the conv biases do not (asserted). torch_impl's
  ``fit`` gives the same warning, and ``tnn.SpectralNormalization`` rescales in ``train()`` mode whatever
  ``requires_grad`` says; the port: the discriminator's parameters ``requires_grad_(False)``, each
  ``train_on_batch`` a one-batch ``tfit.fit(..., shuffle=False)`` with one persistent optimizer per model.
* Port note, SN GAN: ``torch.nn.utils.parametrizations.spectral_norm`` keeps the raw weight and divides it by
  sigma at every forward (its own ``u``, 15 power iterations when registered), so the frozen discriminator's
  outputs follow another sequence: apart (asserted).
* Script defect, DDPM: ``AttentionBlock``'s ``scale = tf.cast(self.units, tf.float32) ** (-0.5)`` times a float64
  score raises ``TypeError`` (``Mul`` of float64 and float32) under ``floatx="float64"``: cast to the input's dtype
  here. ``TimeEmbedding`` computes in float32 whatever the floatx, and TensorFlow's float32 ``sin``/``cos`` are not
  torch's (one float32 ulp apart on about 15% of the arguments ``t * freq``, ``t < 1000``): the port's embedding,
  computed in float32 with torch, puts the float64 outputs 1.6e-13 and the final weights 2.4e-11 apart, the losses
  within 1e-14 (weights asserted within 1e-9).
* Port notes, DDPM: Keras's ``GroupNormalization`` is ``tnn.GroupNormalization(groups, axis=1, num_channels=C)`` on
  NCHW maps (``torch.nn.GroupNorm``'s ``eps=1e-5`` against Keras's 1e-3: the initial outputs 1.6e-3 apart);
  the stride-2 ``"same"`` convolution on an even map pads one row and column *after* (``F.pad(x, (0, 1, 0, 1))``,
  not ``padding=1``); ``keras.activations.swish`` is ``tnn.activation("swish")``. The weights load per layer class,
  each class's layers sorted by Keras's name suffix (``conv2d``, ``conv2d_1``, ...: the order of making), paired
  with the port's modules in the order it makes them.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers, models, optimizers  # noqa: E402

from parity_tests.test_field_scripts_round2 import DTYPES, _precision, _rel  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl.nn import keras_weights, load_keras_weights  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

F64, F32 = 1e-12, 1e-3  # standards, relative (float64: the task's 1e-12, tighter than DESIGN.md's 1e-8)


# --------------------------------------------------------------------------------------------------------------
# 1. A Keras 2-era GAN with a spectrally normalised discriminator, trained by train_on_batch
# --------------------------------------------------------------------------------------------------------------


def build_cnn_generator(input_shape=(8, 8, 4), f=(4, 8, 8)):
    """The script's generator, as written (filters given; 32/64/64 in the script)."""
    model = models.Sequential(name="Generator")
    model.add(layers.Input(shape=input_shape))
    model.add(layers.Conv2D(f[0], (3, 3), padding="same"))
    model.add(layers.ReLU())
    model.add(layers.Conv2D(f[1], (3, 3), padding="same"))
    model.add(layers.ReLU())
    model.add(layers.Conv2D(f[2], (3, 3), padding="same"))
    model.add(layers.ReLU())
    model.add(layers.Conv2D(2, (3, 3), padding="same"))
    return model


def load_discriminator(shape=(8, 8, 2), f=(4, 8, 8)):
    """The script's discriminator, as written (``keras.layers.SpectralNormalization`` for ``tfa.layers``'; filters
    given: 16/32/64 in the script)."""
    model = models.Sequential(name="Discriminator")
    model.add(layers.Input(shape=shape))
    model.add(layers.SpectralNormalization(layers.Conv2D(f[0], (3, 3), padding="same")))
    model.add(layers.ReLU())
    model.add(layers.SpectralNormalization(layers.Conv2D(f[1], (3, 3), padding="same")))
    model.add(layers.ReLU())
    model.add(layers.SpectralNormalization(layers.Conv2D(f[2], (3, 3), padding="same")))
    model.add(layers.ReLU())
    model.add(layers.Flatten())
    model.add(layers.Dense(8, activation="relu"))
    model.add(layers.Dense(1, activation="sigmoid"))
    return model


class _Generator(torch.nn.Sequential):
    """The port on NCHW fields: ``padding=1`` is Keras's ``"same"`` for a 3x3 kernel at stride 1."""

    def __init__(self, cin=4, f=(4, 8, 8)):
        conv = torch.nn.Conv2d
        super().__init__(conv(cin, f[0], 3, padding=1), torch.nn.ReLU(), conv(f[0], f[1], 3, padding=1),
                         torch.nn.ReLU(), conv(f[1], f[2], 3, padding=1), torch.nn.ReLU(), conv(f[2], 2, 3, padding=1))


class _Discriminator(torch.nn.Module):
    """The port: ``tnn.SpectralNormalization(Conv2d)`` (``naive``: ``parametrizations.spectral_norm``), the
    ``Flatten`` of Keras's channels-last map (``permute(0, 2, 3, 1)`` first), logits out."""

    def __init__(self, size=8, f=(4, 8, 8), naive=False):
        super().__init__()
        sn = torch.nn.utils.parametrizations.spectral_norm if naive else tnn.SpectralNormalization
        conv = torch.nn.Conv2d
        self.convs = torch.nn.ModuleList([sn(conv(2, f[0], 3, padding=1)), sn(conv(f[0], f[1], 3, padding=1)),
                                          sn(conv(f[1], f[2], 3, padding=1))])
        self.dense = torch.nn.Linear(size * size * f[2], 8)
        self.out = torch.nn.Linear(8, 1)

    def forward(self, x):
        for c in self.convs:
            x = torch.relu(c(x))
        return self.out(torch.relu(self.dense(x.permute(0, 2, 3, 1).flatten(1))))


class _Combined(torch.nn.Module):
    def __init__(self, generator, discriminator):
        super().__init__()
        self.generator, self.discriminator = generator, discriminator

    def forward(self, x):
        return self.discriminator(self.generator(x))


def _fields(n: int, size: int, seed: int):
    """Coarse inputs (4 channels) and 'fine' wall shear fields (2 channels), smooth plus noise, channels last."""
    rng = np.random.default_rng(seed)
    grid = np.linspace(0, 2 * np.pi, size)
    base = np.sin(grid)[:, None] * np.cos(grid)[None, :]
    coarse = base[None, :, :, None] * rng.uniform(0.5, 1.5, (n, 1, 1, 4)) + rng.normal(0, 0.2, (n, size, size, 4))
    fine = 0.6 * coarse[..., :2] + rng.normal(0, 0.1, (n, size, size, 2))
    return coarse, fine


def _load_naive(net: _Discriminator, weights: list) -> None:
    """Keras's weights into the parametrised port: kernel into ``weight_orig`` (the parametrisation's raw weight),
    bias; Keras's ``vector_u`` is dropped (the parametrisation has its own ``u``); then the Dense layers."""
    w = list(weights)
    with torch.no_grad():
        for c in net.convs:
            kernel, bias = w.pop(0), w.pop(1)  # w[0] is now vector_u, dropped below
            w.pop(0)
            c.parametrizations.weight.original.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()))
            c.bias.copy_(torch.from_numpy(bias))
    load_keras_weights(torch.nn.ModuleList([net.dense, net.out]), w)


def _run_sn_gan(dt: str, naive: bool = False):
    size, n, batch_size, epochs, seed = 8, 16, 8, 2, 5
    coarse, fine = _fields(n, size, seed=0)
    coarse, fine = coarse.astype(dt), fine.astype(dt)
    nchw = lambda a: np.ascontiguousarray(a.transpose(0, 3, 1, 2))  # noqa: E731
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        generator = build_cnn_generator()
        discriminator = load_discriminator()
        discriminator.compile(optimizer=optimizers.Adam(learning_rate=0.00002), loss="binary_crossentropy",
                              metrics=["accuracy"])
        discriminator.trainable = False
        combined_input = layers.Input(shape=(size, size, 4))
        combined_model = models.Model(combined_input, discriminator(generator(combined_input)))
        combined_model.compile(optimizer=optimizers.Adam(learning_rate=0.0001), loss="binary_crossentropy")

        gen = load_keras_weights(_Generator().to(tdt), generator.get_weights())
        torch.manual_seed(seed)  # the naive port's parametrisation draws its own u
        disc = _Discriminator(naive=naive).to(tdt)
        d_weights0 = [w.copy() for w in discriminator.get_weights()]
        if naive:
            _load_naive(disc, d_weights0)
        else:
            load_keras_weights(disc, d_weights0)
        disc.requires_grad_(False)  # discriminator.trainable = False
        combined = _Combined(gen, disc)
        d_opt = optim.Adam(disc.parameters(), learning_rate=0.00002)  # steps nothing: no parameter trainable
        g_opt = optim.Adam(gen.parameters(), learning_rate=0.0001)

        k_log, t_log = [], []
        real_labels, fake_labels = np.ones((batch_size, 1), dt), np.zeros((batch_size, 1), dt)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "The model does not have any trainable weights", UserWarning)
            for _ in range(epochs):
                for b in range(0, n, batch_size):
                    generated_images = generator.predict(coarse[b:b + batch_size], verbose=0)
                    d_loss_real, d_accuracy_real = discriminator.train_on_batch(fine[b:b + batch_size], real_labels)
                    d_loss_fake, d_accuracy_fake = discriminator.train_on_batch(generated_images, fake_labels)
                    g_loss = combined_model.train_on_batch(coarse[b:b + batch_size], real_labels)
                    k_log.append([d_loss_real, d_accuracy_real, d_loss_fake, d_accuracy_fake, g_loss])

                    t_generated = tfit.predict(gen, nchw(coarse[b:b + batch_size]))
                    row = []
                    for xb, yb in ((nchw(fine[b:b + batch_size]), real_labels), (t_generated, fake_labels)):
                        h = tfit.fit(disc, xb, yb, loss="binary_crossentropy", optimizer=d_opt, metrics=["accuracy"],
                                     output_activation="sigmoid", batch_size=batch_size, shuffle=False,
                                     verbose=0).history
                        row += [h["loss"][0], h["accuracy"][0]]
                    h = tfit.fit(combined, nchw(coarse[b:b + batch_size]), real_labels, loss="binary_crossentropy",
                                 optimizer=g_opt, output_activation="sigmoid", batch_size=batch_size,
                                 shuffle=False, verbose=0).history
                    t_log.append(row + [h["loss"][0]])
        k_disc, t_disc = discriminator.get_weights(), (None if naive else keras_weights(disc))
        k_gen, t_gen = generator.get_weights(), keras_weights(gen)
    return np.array(k_log), np.array(t_log), (d_weights0, k_disc, t_disc), (k_gen, t_gen)


@pytest.mark.parametrize("dt", DTYPES)
def test_sn_gan_train_on_batch_like_keras(dt):
    """The script's loop (2 epochs of 2 batches): every ``train_on_batch`` result (the discriminator's loss and
    accuracy on the real and the generated batch, the combined model's loss) and the final weights of both models;
    the discriminator's ``Dense`` weights and biases unchanged (Keras 3: no trainable weights), its kernels and
    ``vector_u`` moved (the wrappers' training calls)."""
    k_log, t_log, (d0, k_disc, t_disc), (k_gen, t_gen) = _run_sn_gan(dt)
    tol = F64 if dt == "float64" else F32
    print(f"SN GAN train_on_batch, {dt}:")
    print(f"  Keras     {np.round(k_log, 6).tolist()}\n  torch_impl {np.round(t_log, 6).tolist()}")
    r = _rel(t_log, k_log)
    print(f"  every train_on_batch value: max rel {r:.1e}")
    assert r <= tol
    moved = [float(np.max(np.abs(a - b))) for a, b in zip(k_disc, d0)]
    print(f"  discriminator weights moved by (kernel, vector_u, bias x3; Dense x2): {np.round(moved, 6).tolist()}")
    assert all(moved[i] > 1e-4 for i in (0, 1, 3, 4, 6, 7))
    assert all(moved[i] == 0.0 for i in (2, 5, 8, 9, 10, 11, 12))
    rd = max(float(np.max(np.abs(a - b))) / max(float(np.max(np.abs(b))), 1e-300) for a, b in zip(t_disc, k_disc)
             if np.any(b))
    rg = max(float(np.max(np.abs(a - b))) / float(np.max(np.abs(b))) for a, b in zip(t_gen, k_gen) if np.any(b))
    print(f"  final weights norm-wise: discriminator {rd:.1e}, generator {rg:.1e}")
    assert rd <= tol and rg <= tol


@pytest.mark.slow
def test_sn_gan_parametrizations_spectral_norm_apart():
    """The naive port's ``parametrizations.spectral_norm`` (float64): its own ``u`` and 15 power iterations at
    registration, sigma recomputed from the raw weight at every forward: the discriminator's outputs, hence every
    logged loss, follow another sequence."""
    k_log, t_log, *_ = _run_sn_gan("float64", naive=True)
    r = float(np.max(np.abs(t_log[:, [0, 2, 4]] - k_log[:, [0, 2, 4]]) / np.abs(k_log[:, [0, 2, 4]])))
    print(f"SN GAN with parametrizations.spectral_norm: losses max rel {r:.1e} off Keras")
    assert r > 1e-4


# --------------------------------------------------------------------------------------------------------------
# 2. keras.io "Denoising Diffusion Probabilistic Model": the U-Net with GroupNormalization
# --------------------------------------------------------------------------------------------------------------


def kernel_init(scale):
    scale = max(scale, 1e-10)
    return keras.initializers.VarianceScaling(scale, mode="fan_avg", distribution="uniform")


class AttentionBlock(layers.Layer):
    """The example's layer, as written but for ``scale`` cast to the input's dtype (the example's float32 scale
    times a float64 score raises in float64)."""

    def __init__(self, units, groups=8, **kwargs):
        self.units = units
        self.groups = groups
        super().__init__(**kwargs)

        self.norm = layers.GroupNormalization(groups=groups)
        self.query = layers.Dense(units, kernel_initializer=kernel_init(1.0))
        self.key = layers.Dense(units, kernel_initializer=kernel_init(1.0))
        self.value = layers.Dense(units, kernel_initializer=kernel_init(1.0))
        self.proj = layers.Dense(units, kernel_initializer=kernel_init(0.0))

    def call(self, inputs):
        batch_size = tf.shape(inputs)[0]
        height = tf.shape(inputs)[1]
        width = tf.shape(inputs)[2]
        scale = tf.cast(self.units, inputs.dtype) ** (-0.5)  # the example: tf.float32

        inputs = self.norm(inputs)
        q = self.query(inputs)
        k = self.key(inputs)
        v = self.value(inputs)

        attn_score = tf.einsum("bhwc, bHWc->bhwHW", q, k) * scale
        attn_score = tf.reshape(attn_score, [batch_size, height, width, height * width])

        attn_score = tf.nn.softmax(attn_score, -1)
        attn_score = tf.reshape(attn_score, [batch_size, height, width, height, width])

        proj = tf.einsum("bhwHW,bHWc->bhwc", attn_score, v)
        proj = self.proj(proj)
        return inputs + proj


class TimeEmbedding(layers.Layer):
    """The example's layer, as written (float32 whatever the floatx)."""

    def __init__(self, dim, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim
        self.half_dim = dim // 2
        self.emb = math.log(10000) / (self.half_dim - 1)
        self.emb = tf.exp(tf.range(self.half_dim, dtype=tf.float32) * -self.emb)

    def call(self, inputs):
        inputs = tf.cast(inputs, dtype=tf.float32)
        emb = inputs[:, None] * self.emb[None, :]
        emb = tf.concat([tf.sin(emb), tf.cos(emb)], axis=-1)
        return emb


def ResidualBlock(width, groups=8, activation_fn=keras.activations.swish):
    def apply(inputs):
        x, t = inputs
        input_width = x.shape[3]

        if input_width == width:
            residual = x
        else:
            residual = layers.Conv2D(width, kernel_size=1, kernel_initializer=kernel_init(1.0))(x)

        temb = activation_fn(t)
        temb = layers.Dense(width, kernel_initializer=kernel_init(1.0))(temb)[:, None, None, :]

        x = layers.GroupNormalization(groups=groups)(x)
        x = activation_fn(x)
        x = layers.Conv2D(width, kernel_size=3, padding="same", kernel_initializer=kernel_init(1.0))(x)

        x = layers.Add()([x, temb])
        x = layers.GroupNormalization(groups=groups)(x)
        x = activation_fn(x)

        x = layers.Conv2D(width, kernel_size=3, padding="same", kernel_initializer=kernel_init(0.0))(x)
        x = layers.Add()([x, residual])
        return x

    return apply


def DownSample(width):
    def apply(x):
        x = layers.Conv2D(width, kernel_size=3, strides=2, padding="same", kernel_initializer=kernel_init(1.0))(x)
        return x

    return apply


def UpSample(width, interpolation="nearest"):
    def apply(x):
        x = layers.UpSampling2D(size=2, interpolation=interpolation)(x)
        x = layers.Conv2D(width, kernel_size=3, padding="same", kernel_initializer=kernel_init(1.0))(x)
        return x

    return apply


def TimeMLP(units, activation_fn=keras.activations.swish):
    def apply(inputs):
        temb = layers.Dense(units, activation=activation_fn, kernel_initializer=kernel_init(1.0))(inputs)
        temb = layers.Dense(units, kernel_initializer=kernel_init(1.0))(temb)
        return temb

    return apply


def build_model(img_size, img_channels, widths, has_attention, num_res_blocks=2, norm_groups=8,
                interpolation="nearest", activation_fn=keras.activations.swish, first_conv_channels=64):
    """The example's ``build_model``, as written (``first_conv_channels`` a global there)."""
    image_input = layers.Input(shape=(img_size, img_size, img_channels), name="image_input")
    time_input = keras.Input(shape=(), dtype="int64", name="time_input")

    x = layers.Conv2D(first_conv_channels, kernel_size=(3, 3), padding="same",
                      kernel_initializer=kernel_init(1.0))(image_input)

    temb = TimeEmbedding(dim=first_conv_channels * 4)(time_input)
    temb = TimeMLP(units=first_conv_channels * 4, activation_fn=activation_fn)(temb)

    skips = [x]

    # DownBlock
    for i in range(len(widths)):
        for _ in range(num_res_blocks):
            x = ResidualBlock(widths[i], groups=norm_groups, activation_fn=activation_fn)([x, temb])
            if has_attention[i]:
                x = AttentionBlock(widths[i], groups=norm_groups)(x)
            skips.append(x)

        if widths[i] != widths[-1]:
            x = DownSample(widths[i])(x)
            skips.append(x)

    # MiddleBlock
    x = ResidualBlock(widths[-1], groups=norm_groups, activation_fn=activation_fn)([x, temb])
    x = AttentionBlock(widths[-1], groups=norm_groups)(x)
    x = ResidualBlock(widths[-1], groups=norm_groups, activation_fn=activation_fn)([x, temb])

    # UpBlock
    for i in reversed(range(len(widths))):
        for _ in range(num_res_blocks + 1):
            x = layers.Concatenate(axis=-1)([x, skips.pop()])
            x = ResidualBlock(widths[i], groups=norm_groups, activation_fn=activation_fn)([x, temb])
            if has_attention[i]:
                x = AttentionBlock(widths[i], groups=norm_groups)(x)

        if i != 0:
            x = UpSample(widths[i], interpolation=interpolation)(x)

    # End block
    x = layers.GroupNormalization(groups=norm_groups)(x)
    x = activation_fn(x)
    x = layers.Conv2D(3, (3, 3), padding="same", kernel_initializer=kernel_init(0.0))(x)
    return keras.Model([image_input, time_input], x, name="unet")


def _group_norm(groups, channels, naive):
    """``tnn.GroupNormalization(groups, axis=1)`` (NCHW); the naive port's ``torch.nn.GroupNorm`` (``eps=1e-5``)."""
    if naive:
        return torch.nn.GroupNorm(groups, channels)
    return tnn.GroupNormalization(groups, axis=1, num_channels=channels)


class _ResBlock(torch.nn.Module):
    """``ResidualBlock``: modules made in the order the example makes its layers."""

    def __init__(self, cin, width, tdim, groups, naive):
        super().__init__()
        self.residual = torch.nn.Conv2d(cin, width, 1) if cin != width else None
        self.temb = torch.nn.Linear(tdim, width)
        self.norm1, self.conv1 = _group_norm(groups, cin, naive), torch.nn.Conv2d(cin, width, 3, padding=1)
        self.norm2, self.conv2 = _group_norm(groups, width, naive), torch.nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x, t):
        act = tnn.activation("swish")
        residual = x if self.residual is None else self.residual(x)
        h = self.conv1(act(self.norm1(x))) + self.temb(act(t))[:, :, None, None]
        return self.conv2(act(self.norm2(h))) + residual


class _Attention(torch.nn.Module):
    """``AttentionBlock`` on NCHW maps; like the example it returns the *normalised* input plus the projection."""

    def __init__(self, units, groups, naive):
        super().__init__()
        self.units = units
        self.norm = _group_norm(groups, units, naive)
        self.query, self.key, self.value, self.proj = (torch.nn.Linear(units, units) for _ in range(4))

    def forward(self, x):
        h = self.norm(x).permute(0, 2, 3, 1)
        b, hh, ww, _ = h.shape
        q, k, v = self.query(h), self.key(h), self.value(h)
        score = torch.einsum("bhwc,bHWc->bhwHW", q, k) * self.units ** -0.5
        attn = torch.softmax(score.reshape(b, hh, ww, hh * ww), -1).reshape(b, hh, ww, hh, ww)
        return (h + self.proj(torch.einsum("bhwHW,bHWc->bhwc", attn, v))).permute(0, 3, 1, 2)


class _UNet(torch.nn.Module):
    """The port of ``build_model`` on NCHW images; the stride-2 ``"same"`` convolution pads one row and column
    after (TensorFlow's split of an odd padding), the sinusoidal embedding in float32 as the example's."""

    def __init__(self, img_channels, widths, has_attention, num_res_blocks, norm_groups, first_conv_channels,
                 naive=False):
        super().__init__()
        tdim, self.half = first_conv_channels * 4, first_conv_channels * 2
        self.spec = []
        self.stem = torch.nn.Conv2d(img_channels, first_conv_channels, 3, padding=1)
        self.time1, self.time2 = torch.nn.Linear(tdim, tdim), torch.nn.Linear(tdim, tdim)
        self.blocks = torch.nn.ModuleList()
        ch, skips = first_conv_channels, [first_conv_channels]

        def add(kind, module):
            self.spec.append(kind)
            self.blocks.append(module)

        for i in range(len(widths)):
            for _ in range(num_res_blocks):
                add("res", _ResBlock(ch, widths[i], tdim, norm_groups, naive))
                ch = widths[i]
                if has_attention[i]:
                    add("attn", _Attention(ch, norm_groups, naive))
                self.spec.append("skip")
                skips.append(ch)
            if widths[i] != widths[-1]:
                add("down", torch.nn.Conv2d(ch, widths[i], 3, stride=2))
                self.spec.append("skip")
                skips.append(widths[i])
        add("res", _ResBlock(ch, widths[-1], tdim, norm_groups, naive))
        add("attn", _Attention(widths[-1], norm_groups, naive))
        add("res", _ResBlock(widths[-1], widths[-1], tdim, norm_groups, naive))
        ch = widths[-1]
        for i in reversed(range(len(widths))):
            for _ in range(num_res_blocks + 1):
                self.spec.append("cat")
                add("res", _ResBlock(ch + skips.pop(), widths[i], tdim, norm_groups, naive))
                ch = widths[i]
                if has_attention[i]:
                    add("attn", _Attention(ch, norm_groups, naive))
            if i != 0:
                add("up", torch.nn.Conv2d(ch, widths[i], 3, padding=1))
        self.norm = _group_norm(norm_groups, ch, naive)
        self.out = torch.nn.Conv2d(ch, img_channels, 3, padding=1)

    def forward(self, x, t):
        act = tnn.activation("swish")
        freqs = torch.exp(torch.arange(self.half, dtype=torch.float32)
                          * torch.tensor(-math.log(10000) / (self.half - 1), dtype=torch.float32))
        emb = t.to(torch.float32)[:, None] * freqs[None, :]
        temb = torch.cat([torch.sin(emb), torch.cos(emb)], -1).to(x.dtype)
        temb = self.time2(act(self.time1(temb)))
        x = self.stem(x)
        skips, blocks = [x], iter(self.blocks)
        for kind in self.spec:
            if kind in ("cat", "skip"):
                if kind == "cat":
                    x = torch.cat([x, skips.pop()], 1)
                else:
                    skips.append(x)
                continue
            m = next(blocks)
            if kind == "res":
                x = m(x, temb)
            elif kind == "down":
                x = m(torch.nn.functional.pad(x, (0, 1, 0, 1)))
            elif kind == "up":
                x = m(torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest"))
            else:
                x = m(x)
        return self.out(act(self.norm(x)))


_KINDS = ((layers.Conv2D, torch.nn.Conv2d), (layers.Dense, torch.nn.Linear),
          (layers.GroupNormalization, (tnn.GroupNormalization, torch.nn.GroupNorm)), (AttentionBlock, _Attention))


def _creation_order(layer) -> int:
    """A Keras layer's place among its class's: ``conv2d``, ``conv2d_1``, ... (``naming.uniquify``)."""
    m = re.fullmatch(r".*?(?:_(\d+))?", layer.name)
    return int(m.group(1) or 0)


def _load_unet(net: _UNet, model, naive: bool = False) -> list:
    """Keras's weights, layer by layer: the functional model lists its layers in graph order, the port makes its
    modules in the example's order of making layers; each class's layers are paired in that order (an
    ``AttentionBlock`` whole). ``torch.nn.GroupNorm`` takes gamma and beta as they are. Returns the pairs."""
    pairs = []
    for k_cls, t_cls in _KINDS:
        ks = sorted((la for la in model.layers if type(la) is k_cls), key=_creation_order)
        ts, skip = [], set()
        for name, mod in net.named_modules():
            if any(name.startswith(s + ".") for s in skip):
                continue
            if isinstance(mod, _Attention):
                skip.add(name)
            if isinstance(mod, t_cls) and (t_cls is _Attention or not isinstance(mod, _Attention)):
                ts.append(mod)
        assert len(ks) == len(ts), k_cls
        pairs += list(zip(ks, ts))
    for k, t in pairs:
        if naive and isinstance(t, torch.nn.GroupNorm) and not isinstance(t, tnn.GroupNormalization):
            with torch.no_grad():
                gamma, beta = k.get_weights()
                t.weight.copy_(torch.from_numpy(gamma))
                t.bias.copy_(torch.from_numpy(beta))
        elif naive and isinstance(t, _Attention):
            w = k.get_weights()
            with torch.no_grad():
                t.norm.weight.copy_(torch.from_numpy(w[0]))
                t.norm.bias.copy_(torch.from_numpy(w[1]))
            load_keras_weights(torch.nn.ModuleList([t.query, t.key, t.value, t.proj]), w[2:])
        else:
            load_keras_weights(t, k.get_weights())
    return pairs


def _diffusion_batches(n: int, size: int, timesteps: int, seed: int, dt: str):
    """The example's ``train_step`` draws made ahead in NumPy: ``t`` uniform in ``[0, timesteps)``, Gaussian
    ``noise``, ``images_t = q_sample(images, t, noise)`` with the example's linear beta schedule."""
    rng = np.random.default_rng(seed)
    images = np.clip(rng.normal(0, 0.5, (n, size, size, 3)) + np.linspace(-1, 1, size)[None, :, None, None], -1, 1)
    betas = np.linspace(1e-4, 0.02, timesteps, dtype=np.float64)
    alphas_cumprod = np.cumprod(1.0 - betas)
    t = rng.integers(0, timesteps, n)
    noise = rng.normal(size=images.shape)
    images_t = (np.sqrt(alphas_cumprod[t])[:, None, None, None] * images
                + np.sqrt(1.0 - alphas_cumprod[t])[:, None, None, None] * noise)
    return images_t.astype(dt), t.astype("int64"), noise.astype(dt)


def _unet_pair(dt: str, naive: bool = False, network=None):
    """The example's U-Net (built unless given) and the port on its weights."""
    size, widths, has_attention, res_blocks, groups, first, seed = 8, [4, 8], [False, True], 1, 2, 4, 6
    if network is None:
        keras.utils.set_random_seed(seed)
        network = build_model(size, 3, widths, has_attention, num_res_blocks=res_blocks, norm_groups=groups,
                              first_conv_channels=first)
    net = _UNet(3, widths, has_attention, res_blocks, groups, first, naive).to(getattr(torch, dt))
    return network, net, _load_unet(net, network, naive)


def _nchw(a):
    return np.ascontiguousarray(a.transpose(0, 3, 1, 2))


def _normwise(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - b)) / np.max(np.abs(b)))


def _unet_outputs(dt: str):
    """Keras's, the port's and the naive port's outputs at the initial weights (inference) on 8 samples."""
    images_t, t, _ = _diffusion_batches(8, 8, 50, seed=1, dt=dt)
    with _precision(dt):
        network, net, _ = _unet_pair(dt)
        _, naive, _ = _unet_pair(dt, naive=True, network=network)
        k_out = keras.ops.convert_to_numpy(network([images_t, t]))
        t_out, n_out = (tfit.predict(m, [_nchw(images_t), torch.from_numpy(t)]).transpose(0, 2, 3, 1)
                        for m in (net, naive))
    return k_out, t_out, n_out


def _run_ddpm(dt: str):
    seed, epochs = 6, 2
    images_t, t, noise = _diffusion_batches(32, 8, 50, seed=1, dt=dt)
    with _precision(dt):
        network, net, pairs = _unet_pair(dt)
        network.compile(loss=keras.losses.MeanSquaredError(), optimizer=keras.optimizers.Adam(learning_rate=2e-4))
        kh = network.fit([images_t, t], noise, batch_size=8, epochs=epochs, validation_split=0.25, verbose=0).history
        th = tfit.fit(net, [_nchw(images_t), torch.from_numpy(t)], _nchw(noise), loss="mse",
                      optimizer=optim.Adam(net.parameters(), learning_rate=2e-4), batch_size=8, epochs=epochs,
                      validation_split=0.25, seed=seed, verbose=0).history
        ours = [w for _, tm in pairs for w in keras_weights(tm)]
        theirs = [w for k, _ in pairs for w in k.get_weights()]
        apart = max(float(np.max(np.abs(a - b))) for a, b in zip(ours, theirs)) / max(
            float(np.max(np.abs(b))) for b in theirs)
    return kh, th, apart


def test_ddpm_unet_outputs_like_keras():
    """The default run's part of script 2 (the ``fit`` is ``slow``): the U-Net's outputs at its initial weights
    (float64), and the naive port's ``torch.nn.GroupNorm`` (``eps=1e-5``, Keras's 1e-3) on the same weights."""
    k_out, t_out, n_out = _unet_outputs("float64")
    r = _normwise(t_out, k_out)
    rn = _normwise(n_out, k_out)
    print(f"DDPM U-Net, float64: initial outputs {r:.1e} norm-wise; torch.nn.GroupNorm port {rn:.1e}")
    assert r <= 1e-12 and rn > 1e-4


@pytest.mark.slow  # ~20 s: the U-Net's traced training step
@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_ddpm_unet_group_normalization_fit_like_keras(dt):
    """The example's U-Net (``widths=[4, 8]``, ``has_attention=[False, True]``, ``num_res_blocks=1``,
    ``norm_groups=2``, ``first_conv_channels=4``, 8x8 images), ``MeanSquaredError``, ``Adam(2e-4)``, 2 epochs of
    the ``train_step``'s draws made ahead (24 training and 8 validation samples, ``batch_size=8``)."""
    kh, th, apart = _run_ddpm(dt)
    print(f"DDPM U-Net fit, {dt}:")
    assert sorted(th) == sorted(kh) == ["loss", "val_loss"]
    for k in kh:
        r = _rel(th[k], kh[k])
        print(f"  {k}: Keras {np.round(kh[k], 8).tolist()} torch_impl {np.round(th[k], 8).tolist()} max rel {r:.1e}")
        assert r <= (F64 if dt == "float64" else F32), k
    print(f"  final weights {apart:.1e} norm-wise")
    assert apart <= (1e-9 if dt == "float64" else 1e-4)  # the float32 embedding's ulps: module docstring

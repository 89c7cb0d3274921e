"""Real-world Keras scripts, round 18: scripts whose loss is assembled by hand (GAN and VQ-VAE custom
``train_step``s, a similarity-matrix crossentropy through ``compute_loss``, a pinball loss per quantile, a
style-transfer loss optimising an image, an ``add_loss`` endpoint with sample weights), ported to PyTorch with
torch_impl as a user would port them from the README.

1. keras.io "DCGAN to generate face images" (Keras 3 version): ``GAN(keras.Model)`` with two optimizers
   (``Adam(learning_rate=0.0001)`` each), ``keras.random.normal(seed=self.seed_generator)`` latents, noisy labels
   (targets up to 1.05), ``keras.losses.BinaryCrossentropy()`` on a sigmoid discriminator, ``Mean`` trackers,
   ``Conv2D``/``Conv2DTranspose(k=4, s=2, "same")``, ``LeakyReLU(negative_slope=0.2)``, ``Dropout(0.2)``.
2. keras.io "Metric learning for image similarity search": ``EmbeddingModel.train_step`` with
   ``ops.einsum("ae,pe->ap")`` similarities over a temperature, ``self.compute_loss(y=ops.arange(num_classes),
   y_pred=similarities)`` with ``SparseCategoricalCrossentropy(from_logits=True)``, ``UnitNormalization``, an
   ``AnchorPositivePairs`` ``PyDataset``.
3. "Deep Quantile Regression" (Sachin Abeywardana's Keras script on the motorcycle data): ``tilted_loss(q, y,
   f)`` written with ``K.mean``/``K.maximum``, ``compile(loss=lambda y, f: tilted_loss(q, y, f),
   optimizer="adadelta")`` for each quantile, a ``Dense`` regression net.
4. keras.io "Neural style transfer" (Keras 3 version): Gram-matrix style loss, content loss, total variation
   loss (``ops.power(a + b, 1.25)``), ``@tf.function`` loss-and-gradient on an image ``tf.Variable``,
   ``SGD(ExponentialDecay(100.0, 100, 0.96))``; a small VGG-like extractor instead of VGG19.
5. keras.io "Vector-Quantized Variational Autoencoders": ``VectorQuantizer`` (``argmin`` code lookup,
   commitment + codebook losses through ``add_loss``, ``tf.stop_gradient`` straight-through estimator),
   ``VQVAETrainer.train_step`` (reconstruction loss over the data variance plus ``sum(self.vqvae.losses)``),
   ``Conv2D``/``Conv2DTranspose(k=3, s=2, "same")``, ``Adam()``, a shuffled ``fit``.
6. keras.io "Endpoint layer pattern" (Keras 3 version): ``LogisticEndpoint`` computing
   ``BinaryCrossentropy(from_logits=True)(targets, logits, sample_weight)`` from extra ``Input``s and
   ``add_loss``-ing it, ``compile`` without a loss, ``fit`` on a dict with soft targets and a ``(N, 1)`` weight.

Small synthetic data shaped like each script's, few epochs/steps; both sides from the same weights
(``load_keras_weights``), Keras's shuffle order (``fit(seed=S)``, ``keras_shuffle_order``, Python's ``random``
seeded alike for a ``PyDataset``), the same ``SeedGenerator`` draws (``torch_impl.keras_random``). Standards
(DESIGN.md): float64 histories within 1e-8 relative every epoch, float32 within 1e-3 (float32 variants ``slow``).
Measured (max relative error over every history key and epoch; weights, images and embeddings norm-wise):

=======================  ==================================================  ====================================
script                   float64                                             float32 (``slow``)
=======================  ==================================================  ====================================
1 DCGAN                  d_loss 1.6e-16, g_loss 0; weights 1.3e-16; seed     d_loss 0, g_loss 8.3e-8; weights
                         state (1337, 16) equal                              7.0e-8
2 metric learning        loss after training 6.2e-16, embeddings 7.3e-16,    loss after training 2.2e-7,
                         weights 1.8e-16 (Keras's history: 0.0, below)       embeddings 3.6e-7, weights 6.8e-8
3 deep quantile          0 (q=0.9; q=0.1, 0.5 ``slow``: 1.7e-16), predict     9.3e-8, predict 1.7e-7, weights
  regression             2.8e-16, weights 7.7e-17                            2.1e-8
4 neural style transfer  25 losses 2.8e-16, the image 2.3e-16                1.2e-7, the image 6.2e-8
5 VQ-VAE (``slow``)      loss 2.2e-16, vqvae_loss 3.9e-16; weights 1.6e-16   1.8e-7; weights 4.2e-8
6 endpoint layer         3.1e-16; weights 1.2e-17                            0; weights 1.7e-9
=======================  ==================================================  ====================================

What the ports found (no torch_impl defect this round; each pinned by a test):

* Keras quirk, DCGAN (``test_dcgan_custom_train_step_like_keras``): the Keras 3 script calls
  ``self.discriminator(...)`` in its ``train_step`` without ``training=True``; outside an outer layer call Keras
  resolves ``training`` to the call signature's default, ``False`` (``keras/src/layers/layer.py`` 930-935), so the
  discriminator's ``Dropout(0.2)`` never drops (its seed counter stays at 0 through ``fit``). A torch port left
  in training mode (torch's default) trains another GAN: 2.1e-3 off in float64 after one epoch, 1.5e-2 in
  float32. The faithful port puts the Dropout in eval mode (the README's custom-loop note).
* Port note, DCGAN: ``torch.nn.functional.leaky_relu(x, 0.2)`` for Keras's ``LeakyReLU(negative_slope=0.2)``
  left the float64 run 5.4e-10 off from the first step (TensorFlow's slope is a float32 attribute, the README's
  ``tnn.LeakyReLU`` row); with ``tnn.LeakyReLU`` 1.6e-16. The script's label noise is TensorFlow's stateful
  ``tf.random.uniform`` (the global TF generator): no port replays it; here both sides draw it with
  ``keras.random.uniform`` from a ``SeedGenerator`` (the one change to the script).
* Keras quirk, metric learning: Keras 3's ``compute_loss`` no longer updates the ``loss`` tracker (the built-in
  ``train_step`` does, ``keras/src/backend/tensorflow/trainer.py`` 69) and the script's metric loop skips
  ``"loss"``: its history's ``loss`` is 0.0 every epoch. ``fit`` shuffles a ``PyDataset``'s batches with Python's
  ``random.shuffle`` each epoch (``keras/src/trainers/data_adapters/py_dataset_adapter.py`` 259-261).
* Porting pitfall, quantile regression: ``optimizer="adadelta"`` is Keras 3's ``learning_rate=0.001`` (the loss
  moves 3e-6 in 4 epochs), Keras 2's was 1.0; ``torch.optim.Adadelta`` has ``lr=1.0`` but ``eps=1e-6`` (Keras
  1e-7). The tests give both sides ``Adadelta(learning_rate=1.0)``.
* Script defects on Keras 3.15.1 (worked around, noted at the code): the VQ-VAE's codebook is a bare
  ``tf.Variable`` (not among a Keras 3 layer's weights: it would not train; ``add_weight`` here) created float32
  (a float64 model cannot ``tf.matmul`` it); the endpoint recipe's ``add_metric`` is gone in Keras 3.
* Port notes: ``Conv2DTranspose(k=4, s=2, "same")`` is ``ConvTranspose2d(padding=1)``, ``(k=3, s=2, "same")``
  ``padding=0`` cropped to ``2 * in``, ``Conv2D(k=3, s=2, "same")`` needs ``TFSamePadding`` (the README's rules);
  ``UnitNormalization`` is ``keras_ops.normalize(epsilon=1e-12)``; the style-transfer and tilted losses port by
  changing the import only (``torch_impl.keras_ops`` / ``keras_backend``).
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers, ops  # noqa: E402

from parity_tests.test_field_scripts_round2 import (  # noqa: E402
    DTYPES, _check_history, _keras_seed_state as _seed_state, _normwise, _precision, _rel, _tol, _weights_apart)
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import keras_backend as K  # noqa: E402
from torch_impl import keras_ops as tops  # noqa: E402
from torch_impl import keras_random as trandom  # noqa: E402
from torch_impl import losses, optim  # noqa: E402
from torch_impl import metrics as tmetrics  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl import schedules as tschedules  # noqa: E402
from torch_impl.nn import load_keras_weights  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]


# --------------------------------------------------------------------------------------------------------------
# 1. keras.io "DCGAN to generate face images" (Keras 3 version)
# --------------------------------------------------------------------------------------------------------------


class GAN(keras.Model):
    """The script's model, as written but for the label noise: the script draws it with TensorFlow's stateful
    ``tf.random.uniform(tf.shape(labels))`` (the global TF generator, no Keras seed), which no port can replay;
    here ``keras.random.uniform`` from a second ``SeedGenerator`` (``noise_seed``) stands in."""

    def __init__(self, discriminator, generator, latent_dim, noise_seed):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.seed_generator = keras.random.SeedGenerator(1337)
        self.noise_seed = keras.random.SeedGenerator(noise_seed)

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn
        self.d_loss_metric = keras.metrics.Mean(name="d_loss")
        self.g_loss_metric = keras.metrics.Mean(name="g_loss")

    @property
    def metrics(self):
        return [self.d_loss_metric, self.g_loss_metric]

    def train_step(self, real_images):
        batch_size = ops.shape(real_images)[0]
        random_latent_vectors = keras.random.normal(shape=(batch_size, self.latent_dim), seed=self.seed_generator)
        generated_images = self.generator(random_latent_vectors)
        combined_images = ops.concatenate([generated_images, real_images], axis=0)
        labels = ops.concatenate([ops.ones((batch_size, 1)), ops.zeros((batch_size, 1))], axis=0)
        # Add random noise to the labels - important trick!  (script: tf.random.uniform(tf.shape(labels)))
        labels += 0.05 * keras.random.uniform(ops.shape(labels), seed=self.noise_seed)
        with tf.GradientTape() as tape:
            predictions = self.discriminator(combined_images)
            d_loss = self.loss_fn(labels, predictions)
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        random_latent_vectors = keras.random.normal(shape=(batch_size, self.latent_dim), seed=self.seed_generator)
        misleading_labels = ops.zeros((batch_size, 1))
        with tf.GradientTape() as tape:
            predictions = self.discriminator(self.generator(random_latent_vectors))
            g_loss = self.loss_fn(misleading_labels, predictions)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.d_loss_metric.update_state(d_loss)
        self.g_loss_metric.update_state(g_loss)
        return {"d_loss": self.d_loss_metric.result(), "g_loss": self.g_loss_metric.result()}


def _keras_dcgan(size, latent_dim):
    """The script's two ``Sequential`` models, scaled down (64x64x3 faces -> ``size``x``size``x3, filters / 16)."""
    dropout = layers.Dropout(0.2)
    discriminator = keras.Sequential([
        keras.Input(shape=(size, size, 3)),
        layers.Conv2D(4, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(8, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(8, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Flatten(),
        dropout,
        layers.Dense(1, activation="sigmoid"),
    ], name="discriminator")
    s = size // 8
    generator = keras.Sequential([
        keras.Input(shape=(latent_dim,)),
        layers.Dense(s * s * 8),
        layers.Reshape((s, s, 8)),
        layers.Conv2DTranspose(8, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2DTranspose(16, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2DTranspose(32, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(3, kernel_size=5, padding="same", activation="sigmoid"),
    ], name="generator")
    return discriminator, generator, dropout


class _Discriminator(torch.nn.Module):
    """NCHW port; ``Conv2D(k=4, s=2, "same")`` on an even map pads 1 each side (``padding=1``); the Dropout acts on
    the flattened ``(H, W, C)`` features; logits out (the loss takes ``from_logits=True``)."""

    def __init__(self):
        super().__init__()
        self.c1, self.c2, self.c3 = (torch.nn.Conv2d(i, o, 4, stride=2, padding=1) for i, o in ((3, 4), (4, 8), (8, 8)))
        self.leaky_relu = tnn.LeakyReLU(negative_slope=0.2)  # TensorFlow's float32 slope, even in float64
        self.dropout = tnn.Dropout(0.2)
        self.dense = None

    def build(self, flat):
        self.dense = torch.nn.Linear(flat, 1)
        return self

    def forward(self, x):  # x NHWC
        h = x.permute(0, 3, 1, 2)
        for conv in (self.c1, self.c2, self.c3):
            h = self.leaky_relu(conv(h))
        return self.dense(self.dropout(h.permute(0, 2, 3, 1).flatten(1)))


class _Generator(torch.nn.Module):
    """``Conv2DTranspose(k=4, s=2, "same")``: ``k - s`` = 2 pads, even: ``ConvTranspose2d(padding=1)`` (README)."""

    def __init__(self, latent_dim, s):
        super().__init__()
        self.s = s
        self.dense = torch.nn.Linear(latent_dim, s * s * 8)
        self.t1, self.t2, self.t3 = (torch.nn.ConvTranspose2d(i, o, 4, stride=2, padding=1)
                                     for i, o in ((8, 8), (8, 16), (16, 32)))
        self.out = torch.nn.Conv2d(32, 3, 5, padding=2)
        self.leaky_relu = tnn.LeakyReLU(negative_slope=0.2)

    def forward(self, z):
        h = self.dense(z).reshape(-1, self.s, self.s, 8).permute(0, 3, 1, 2)
        for conv in (self.t1, self.t2, self.t3):
            h = self.leaky_relu(conv(h))
        return torch.sigmoid(self.out(h)).permute(0, 2, 3, 1)  # NHWC, as the real images


def _dcgan_port(disc, gen, images, latent_dim, batch, epochs, normal=trandom.normal):
    """The script's ``train_step`` in torch: returns the history and the port's latent ``SeedGenerator``."""
    seed_generator, noise_seed = trandom.SeedGenerator(1337), trandom.SeedGenerator(99)
    loss_fn = losses.BinaryCrossentropy(from_logits=True)
    d_optimizer = optim.Adam(disc.parameters(), learning_rate=0.0001)
    g_optimizer = optim.Adam(gen.parameters(), learning_rate=0.0001)
    d_loss_metric, g_loss_metric = tmetrics.Mean(name="d_loss"), tmetrics.Mean(name="g_loss")
    th = {"d_loss": [], "g_loss": []}
    x = torch.tensor(images, dtype=torch.get_default_dtype())
    for _ in range(epochs):
        d_loss_metric.reset_state()
        g_loss_metric.reset_state()
        for real_images in x.split(batch):
            n = real_images.shape[0]
            z = normal((n, latent_dim), seed=seed_generator)
            with torch.no_grad():
                generated_images = gen(z)
            combined_images = torch.cat([generated_images, real_images])
            labels = torch.cat([torch.ones(n, 1), torch.zeros(n, 1)])
            labels = labels + 0.05 * trandom.uniform((2 * n, 1), seed=noise_seed)
            d_loss = loss_fn(labels, disc(combined_images))
            d_optimizer.zero_grad()
            d_loss.backward()
            d_optimizer.step()
            z = normal((n, latent_dim), seed=seed_generator)
            g_loss = loss_fn(torch.zeros(n, 1), disc(gen(z)))
            g_optimizer.zero_grad()
            g_loss.backward()  # the discriminator's gradients too, cleared by its zero_grad next step
            g_optimizer.step()
            d_loss_metric.update_state(d_loss.detach())
            g_loss_metric.update_state(g_loss.detach())
        th["d_loss"].append(float(d_loss_metric.result()))
        th["g_loss"].append(float(g_loss_metric.result()))
    return th, seed_generator


@pytest.mark.parametrize("dt", DTYPES)
def test_dcgan_custom_train_step_like_keras(dt):
    """The Keras 3 script's ``GAN.train_step``: ``keras.random.normal(seed=self.seed_generator)`` latents twice per
    step, ``ops.concatenate`` fake + real, labels 1 (fake) / 0 (real) plus ``0.05 * uniform`` noise (targets up
    to 1.05), ``keras.losses.BinaryCrossentropy()`` on the discriminator's sigmoid output (Keras uses the logits
    behind it), one ``GradientTape`` and one ``Adam(learning_rate=0.0001)`` per network, ``Mean`` trackers reset
    per epoch; ``fit`` on a ``tf.data`` dataset of images only (``label_mode=None``). Port: two torch modules,
    ``torch_impl.keras_random`` (the same ``SeedGenerator`` draws), ``losses.BinaryCrossentropy(from_logits=True)``
    on the logits, two ``optim.Adam``, ``metrics.Mean``.

    Keras quirk: the script calls ``self.discriminator(...)`` without ``training=True``; outside an outer layer
    call Keras 3 resolves ``training`` to the call signature's default, ``False`` (``keras/src/layers/layer.py``
    930-935), so the discriminator's ``Dropout(0.2)`` never drops (its seed counter stays 0). The torch port
    that leaves the module in training mode (torch's default) trains another GAN (measured 1.8e-3 off in
    ``d_loss`` after one epoch, float64); the faithful port puts the Dropout in eval mode."""
    size, latent_dim, batch, epochs = 16, 8, 8, 2
    images = np.random.default_rng(1).random((32, size, size, 3))
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(5)
        discriminator, generator, dropout = _keras_dcgan(size, latent_dim)
        ports = []
        for dropout_active in (False, True):
            disc = load_keras_weights(_Discriminator().build(2 * 2 * 8).to(tdt), discriminator.get_weights())
            gen = load_keras_weights(_Generator(latent_dim, size // 8).to(tdt), generator.get_weights())
            disc.dropout.state = _seed_state(dropout)
            disc.dropout.train(dropout_active)
            ports.append((disc, gen))
        state0 = _seed_state(dropout)
        gan = GAN(discriminator, generator, latent_dim, noise_seed=99)
        gan.compile(d_optimizer=keras.optimizers.Adam(learning_rate=0.0001),
                    g_optimizer=keras.optimizers.Adam(learning_rate=0.0001),
                    loss_fn=keras.losses.BinaryCrossentropy())
        dataset = tf.data.Dataset.from_tensor_slices(images.astype(dt)).batch(batch)
        kh = gan.fit(dataset, epochs=epochs, verbose=0).history
        th, seed_generator = _dcgan_port(*ports[0], images, latent_dim, batch, epochs)
        th_on, _ = _dcgan_port(*ports[1], images, latent_dim, batch, epochs)
    print(f"DCGAN custom train_step, {dt}:")
    _check_history(th, kh, dt)
    weights = _weights_apart(list(ports[0]), discriminator.get_weights() + generator.get_weights())
    state = _seed_state(gan.seed_generator)
    print(f"  final weights {weights:.1e} norm-wise; latent seed state Keras {state} torch_impl "
          f"{seed_generator.state}; Keras's Dropout state {state0} -> {_seed_state(dropout)} (never drew)")
    assert weights <= (1e-12 if dt == "float64" else 1e-4)
    assert tuple(seed_generator.state) == state
    assert _seed_state(dropout) == state0
    r_on = max(_rel(th_on[k], kh[k]) for k in kh)
    print(f"  the port with its Dropout in training mode: max rel {r_on:.1e} off Keras's history")
    assert r_on > 1e-4


# --------------------------------------------------------------------------------------------------------------
# 2. keras.io "Metric learning for image similarity search" (Keras 3 version)
# --------------------------------------------------------------------------------------------------------------


class EmbeddingModel(keras.Model):
    """The script's model, as written."""

    def train_step(self, data):
        # Note: Workaround for open issue, to be removed.
        if isinstance(data, tuple):
            data = data[0]
        anchors, positives = data[0], data[1]
        with tf.GradientTape() as tape:
            anchor_embeddings = self(anchors, training=True)
            positive_embeddings = self(positives, training=True)
            similarities = keras.ops.einsum("ae,pe->ap", anchor_embeddings, positive_embeddings)
            temperature = 0.2
            similarities /= temperature
            sparse_labels = keras.ops.arange(self.num_classes)
            loss = self.compute_loss(y=sparse_labels, y_pred=similarities)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        for metric in self.metrics:
            if metric.name != "loss":
                metric.update_state(sparse_labels, similarities)
        return {m.name: m.result() for m in self.metrics}


class AnchorPositivePairs(keras.utils.PyDataset):
    """The script's ``PyDataset``, its ``random.choice`` per class replaced by pairs drawn once beforehand."""

    def __init__(self, pairs):
        super().__init__()
        self.pairs = pairs

    def __len__(self):
        return len(self.pairs)

    def __getitem__(self, idx):
        return self.pairs[idx]


class _Embedder(torch.nn.Module):
    """``Conv2D(strides=2, activation="relu")`` x3 ("valid": ``padding=0``), ``GlobalAveragePooling2D``,
    ``Dense(8)``, ``UnitNormalization`` (``ops.normalize(epsilon=1e-12)``: ``keras_ops.normalize``)."""

    def __init__(self):
        super().__init__()
        self.convs = torch.nn.ModuleList(torch.nn.Conv2d(i, o, 3, stride=2) for i, o in ((3, 4), (4, 8), (8, 8)))
        self.dense = torch.nn.Linear(8, 8)

    def forward(self, x):
        h = x.permute(0, 3, 1, 2)
        for conv in self.convs:
            h = torch.relu(conv(h))
        return tops.normalize(self.dense(h.mean((2, 3))), axis=-1, epsilon=1e-12)


@pytest.mark.parametrize("dt", DTYPES)
def test_metric_learning_similarity_crossentropy_like_keras(dt):
    """The script's ``EmbeddingModel.train_step``: anchor and positive embeddings (one image per class each),
    ``ops.einsum("ae,pe->ap")`` similarities over ``temperature = 0.2``, ``self.compute_loss(y=ops.arange(
    num_classes), y_pred=similarities)`` with ``SparseCategoricalCrossentropy(from_logits=True)``, ``Adam(1e-3)``,
    ``fit`` on the ``AnchorPositivePairs`` ``PyDataset``. Port: the same step in torch with
    ``losses.SparseCategoricalCrossentropy(from_logits=True)`` and ``optim.Adam``.

    Keras quirk: Keras 3's ``compute_loss`` no longer updates the ``loss`` tracker (the built-in ``train_step``
    does, ``keras/src/backend/tensorflow/trainer.py`` 69) and the script's loop skips the metric named ``"loss"``:
    the history's ``loss`` is 0.0 every epoch (the script's plotted curve is flat). The port's own figures are
    compared with Keras's loss recomputed from the model after training and with the final embeddings."""
    num_classes, size, steps, epochs = 5, 16, 4, 2
    rng = np.random.default_rng(3)
    centers = rng.random((num_classes, size, size, 3))
    pairs = [centers[None] + 0.3 * rng.random((2, num_classes, size, size, 3)) for _ in range(steps)]
    probe = np.concatenate([p[0] for p in pairs[:2]])
    with _precision(dt) as tdt:
        pairs, probe = [p.astype(dt) for p in pairs], probe.astype(dt)
        keras.utils.set_random_seed(8)
        inputs = layers.Input(shape=(size, size, 3))
        x = layers.Conv2D(filters=4, kernel_size=3, strides=2, activation="relu")(inputs)
        x = layers.Conv2D(filters=8, kernel_size=3, strides=2, activation="relu")(x)
        x = layers.Conv2D(filters=8, kernel_size=3, strides=2, activation="relu")(x)
        x = layers.GlobalAveragePooling2D()(x)
        embeddings = layers.Dense(units=8, activation=None)(x)
        embeddings = layers.UnitNormalization()(embeddings)
        model = EmbeddingModel(inputs, embeddings)
        model.num_classes = num_classes
        net = load_keras_weights(_Embedder().to(tdt), model.get_weights())
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        random.seed(21)  # fit shuffles a PyDataset's batches with Python's random.shuffle, once per epoch
        kh = model.fit(AnchorPositivePairs(pairs), epochs=epochs, verbose=0).history
        k_embed = model.predict(probe, verbose=0)
        # the port
        optimizer = optim.Adam(net.parameters(), learning_rate=1e-3)
        loss_fn = losses.SparseCategoricalCrossentropy(from_logits=True)
        t_losses = []
        random.seed(21)
        for _ in range(epochs):
            indices = list(range(len(pairs)))
            random.shuffle(indices)
            for anchors, positives in (pairs[i] for i in indices):
                a, p = net(torch.tensor(anchors)), net(torch.tensor(positives))
                similarities = torch.einsum("ae,pe->ap", a, p) / 0.2
                loss = loss_fn(torch.arange(num_classes), similarities)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                t_losses.append(float(loss.detach()))
        with torch.no_grad():
            t_embed = net(torch.tensor(probe)).numpy()
            a, p = model(pairs[-1][0]), model(pairs[-1][1])
            k_final = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
                ops.arange(num_classes), ops.einsum("ae,pe->ap", a, p) / 0.2))
            a, p = net(torch.tensor(pairs[-1][0])), net(torch.tensor(pairs[-1][1]))
            t_final = float(loss_fn(torch.arange(num_classes), torch.einsum("ae,pe->ap", a, p) / 0.2))
    print(f"metric learning, {dt}: Keras history {kh}; the port's step losses {np.round(t_losses, 5).tolist()}")
    assert kh["loss"] == [0.0] * epochs
    r_final, r_embed = _rel(t_final, k_final), _normwise(t_embed, k_embed)
    weights = _weights_apart(net, model.get_weights())
    print(f"  loss of the last pair after training: Keras {k_final:.6f} torch_impl {t_final:.6f} rel {r_final:.1e}; "
          f"embeddings {r_embed:.1e}, final weights {weights:.1e} norm-wise")
    assert r_final <= _tol(dt) and r_embed <= _tol(dt)
    assert weights <= (1e-12 if dt == "float64" else 1e-4)


# --------------------------------------------------------------------------------------------------------------
# 3. "Deep Quantile Regression" (Sachin Abeywardana's Keras script): tilted loss per quantile, Adadelta
# --------------------------------------------------------------------------------------------------------------


def tilted_loss(q, y, f):
    """The script's loss, Keras 3 spelling (Keras 3 has no ``K.mean``/``K.maximum``: ``ops``)."""
    e = (y - f)
    return ops.mean(ops.maximum(q * e, (q - 1) * e), axis=-1)


def torch_tilted_loss(q, y, f):
    """The script's Keras 2 loss, unchanged but for the import (``from torch_impl import keras_backend as K``)."""
    e = (y - f)
    return K.mean(K.maximum(q * e, (q - 1) * e), axis=-1)


@pytest.mark.parametrize("dt, quantiles", [("float64", [0.9]),
                                           pytest.param("float64", [0.1, 0.5], marks=pytest.mark.slow),
                                           pytest.param("float32", [0.1, 0.5, 0.9], marks=pytest.mark.slow)])
def test_deep_quantile_regression_like_keras(dt, quantiles):
    """The script: the motorcycle data (standardised times, accelerations), ``for q in [0.1, 0.5, 0.9]``:
    ``Dense(10, relu)``, ``Dense(10, relu)``, ``Dense(1)``, ``compile(loss=lambda y, f: tilted_loss(q, y, f),
    optimizer="adadelta")``, ``fit(x, y, epochs, batch_size=32)`` (shuffled), ``predict``. Port: the same lambda
    given to ``torch_impl.fit`` with ``seed=``. Porting pitfall: ``"adadelta"`` is Keras 3's
    ``learning_rate=0.001`` (the loss moves 3e-6 in 4 epochs here), Keras 2's was 1.0, which the script's 2000
    epochs were tuned for: both sides are given ``Adadelta(learning_rate=1.0)``, the script's run; torch's
    ``torch.optim.Adadelta`` has ``lr=1.0`` but ``eps=1e-6`` (Keras 1e-7)."""
    rng = np.random.default_rng(4)
    n, epochs = 70, 4
    x = np.sort(rng.uniform(2.4, 57.6, n))
    y = -60 * np.sin(x / 8) * np.exp(-x / 30) + (5 + x / 3) * rng.normal(size=n)
    x = ((x - x.mean()) / x.std())[:, None]
    y = y[:, None]
    with _precision(dt) as tdt:
        for q in quantiles:
            keras.utils.set_random_seed(12)
            model = keras.Sequential([keras.Input((1,)), layers.Dense(units=10, activation="relu"),
                                      layers.Dense(units=10, activation="relu"), layers.Dense(1)])
            net = load_keras_weights(torch.nn.Sequential(torch.nn.Linear(1, 10), torch.nn.ReLU(),
                                                         torch.nn.Linear(10, 10), torch.nn.ReLU(),
                                                         torch.nn.Linear(10, 1)).to(tdt), model.get_weights())
            model.compile(loss=lambda y, f: tilted_loss(q, y, f), optimizer=keras.optimizers.Adadelta(1.0))
            kh = model.fit(x, y, epochs=epochs, batch_size=32, verbose=0).history
            th = tfit.fit(net, x, y, loss=lambda y, f: torch_tilted_loss(q, y, f),
                          optimizer=optim.Adadelta(net.parameters(), learning_rate=1.0),
                          epochs=epochs, batch_size=32, verbose=0, seed=12).history
            k_pred = model.predict(x, verbose=0)
            with torch.no_grad():
                t_pred = net(torch.tensor(x, dtype=tdt)).numpy()
            print(f"quantile {q}, {dt}:")
            _check_history(th, kh, dt)
            r = _normwise(t_pred, k_pred)
            weights = _weights_apart(net, model.get_weights())
            print(f"  predict {r:.1e}, final weights {weights:.1e} norm-wise; below the quantile "
                  f"{float(np.mean(y < k_pred)):.2f}")
            assert r <= _tol(dt) and weights <= (1e-12 if dt == "float64" else 1e-4)


# --------------------------------------------------------------------------------------------------------------
# 4. keras.io "Neural style transfer" (Keras 3 version)
# --------------------------------------------------------------------------------------------------------------

IMG_NROWS = IMG_NCOLS = 12


def gram_matrix(x, ops=ops):
    x = ops.transpose(x, (2, 0, 1))
    features = ops.reshape(x, (ops.shape(x)[0], -1))
    gram = ops.matmul(features, ops.transpose(features))
    return gram


def style_loss(style, combination, ops=ops):
    S = gram_matrix(style, ops)
    C = gram_matrix(combination, ops)
    channels = 3
    size = IMG_NROWS * IMG_NCOLS
    return ops.sum(ops.square(S - C)) / (4.0 * (channels**2) * (size**2))


def content_loss(base, combination, ops=ops):
    return ops.sum(ops.square(combination - base))


def total_variation_loss(x, ops=ops):
    a = ops.square(x[:, : IMG_NROWS - 1, : IMG_NCOLS - 1, :] - x[:, 1:, : IMG_NCOLS - 1, :])
    b = ops.square(x[:, : IMG_NROWS - 1, : IMG_NCOLS - 1, :] - x[:, : IMG_NROWS - 1, 1:, :])
    return ops.sum(ops.power(a + b, 1.25))


STYLE_LAYER_NAMES = ["block1_conv1", "block2_conv1", "block3_conv1"]
CONTENT_LAYER_NAME = "block3_conv1"
TOTAL_VARIATION_WEIGHT, STYLE_WEIGHT, CONTENT_WEIGHT = 1e-6, 1e-6, 2.5e-8


def compute_loss(feature_extractor, combination_image, base_image, style_reference_image, ops=ops):
    """The script's ``compute_loss``; ``ops`` is ``keras.ops`` or ``torch_impl.keras_ops`` (the port changes the
    import only)."""
    input_tensor = ops.concatenate([base_image, style_reference_image, combination_image], axis=0)
    features = feature_extractor(input_tensor)
    loss = ops.zeros(shape=())
    layer_features = features[CONTENT_LAYER_NAME]
    base_image_features = layer_features[0, :, :, :]
    combination_features = layer_features[2, :, :, :]
    loss = loss + CONTENT_WEIGHT * content_loss(base_image_features, combination_features, ops)
    for layer_name in STYLE_LAYER_NAMES:
        layer_features = features[layer_name]
        style_reference_features = layer_features[1, :, :, :]
        combination_features = layer_features[2, :, :, :]
        sl = style_loss(style_reference_features, combination_features, ops)
        loss += (STYLE_WEIGHT / len(STYLE_LAYER_NAMES)) * sl
    loss += TOTAL_VARIATION_WEIGHT * total_variation_loss(combination_image, ops)
    return loss


class _Features(torch.nn.Module):
    """A three-block VGG-like extractor (``Conv2D(3, "same", relu)``, ``MaxPooling2D``): a dict of NHWC maps."""

    def __init__(self):
        super().__init__()
        self.c1, self.c2, self.c3 = (torch.nn.Conv2d(i, o, 3, padding=1) for i, o in ((3, 4), (4, 8), (8, 8)))

    def forward(self, x):
        h1 = torch.relu(self.c1(x.permute(0, 3, 1, 2)))
        h2 = torch.relu(self.c2(torch.nn.functional.max_pool2d(h1, 2)))
        h3 = torch.relu(self.c3(torch.nn.functional.max_pool2d(h2, 2)))
        return {name: h.permute(0, 2, 3, 1) for name, h in zip(STYLE_LAYER_NAMES, (h1, h2, h3))}


@pytest.mark.parametrize("dt", DTYPES)
def test_neural_style_transfer_like_keras(dt):
    """The script's loop: ``compute_loss`` (content loss at one layer, Gram-matrix style losses at three, the
    total variation loss with ``ops.power(a + b, 1.25)``), ``@tf.function compute_loss_and_grads`` with a
    ``GradientTape`` on the image ``tf.Variable``, ``SGD(ExponentialDecay(initial_learning_rate=100.0,
    decay_steps=100, decay_rate=0.96))`` applying the image's gradient; a small VGG-like extractor (frozen,
    ``keras.Model(inputs, outputs_dict)``) instead of VGG19, preprocessed-like pixel values. Port: the loss
    functions verbatim on ``torch_impl.keras_ops``, the image a leaf tensor, ``optim.SGD`` with
    ``schedules.ExponentialDecay``."""
    iterations = 25
    rng = np.random.default_rng(6)
    base, style = rng.uniform(-120, 130, (2, 1, IMG_NROWS, IMG_NCOLS, 3))
    base, style = base.astype(dt), style.astype(dt)
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(9)
        inputs = keras.Input((IMG_NROWS, IMG_NCOLS, 3))
        h1 = layers.Conv2D(4, 3, padding="same", activation="relu", name="block1_conv1")(inputs)
        h2 = layers.Conv2D(8, 3, padding="same", activation="relu", name="block2_conv1")(layers.MaxPooling2D()(h1))
        h3 = layers.Conv2D(8, 3, padding="same", activation="relu", name="block3_conv1")(layers.MaxPooling2D()(h2))
        model = keras.Model(inputs, [h1, h2, h3])
        outputs_dict = dict([(layer.name, layer.output) for layer in model.layers])
        feature_extractor = keras.Model(inputs=model.inputs, outputs=outputs_dict)
        extractor = load_keras_weights(_Features().to(tdt), model.get_weights())

        @tf.function
        def compute_loss_and_grads(combination_image, base_image, style_reference_image):
            with tf.GradientTape() as tape:
                loss = compute_loss(feature_extractor, combination_image, base_image, style_reference_image)
            grads = tape.gradient(loss, combination_image)
            return loss, grads

        optimizer = keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(
            initial_learning_rate=100.0, decay_steps=100, decay_rate=0.96))
        base_image, style_reference_image = ops.convert_to_tensor(base), ops.convert_to_tensor(style)
        combination_image = tf.Variable(base)
        k_losses = []
        for i in range(1, iterations + 1):
            loss, grads = compute_loss_and_grads(combination_image, base_image, style_reference_image)
            optimizer.apply_gradients([(grads, combination_image)])
            k_losses.append(float(loss))
        # the port
        t_base, t_style = torch.tensor(base), torch.tensor(style)
        t_combination = torch.tensor(base).requires_grad_()
        t_optimizer = optim.SGD([t_combination], learning_rate=tschedules.ExponentialDecay(
            initial_learning_rate=100.0, decay_steps=100, decay_rate=0.96))
        t_losses = []
        for i in range(1, iterations + 1):
            loss = compute_loss(extractor, t_combination, t_base, t_style, ops=tops)
            t_optimizer.zero_grad()
            loss.backward()
            t_optimizer.step()
            t_losses.append(float(loss.detach()))
    r = _rel(t_losses, k_losses)
    image = _normwise(t_combination.detach().numpy(), combination_image.numpy())
    moved = _normwise(combination_image.numpy(), base)
    print(f"neural style transfer, {dt}: {iterations} losses Keras {np.round(k_losses[:3], 6).tolist()}..."
          f"{k_losses[-1]:.6f} max rel {r:.1e}; the image after the loop {image:.1e} norm-wise (it moved {moved:.1e})")
    assert r <= _tol(dt)
    assert image <= (1e-12 if dt == "float64" else 1e-4) and moved > 1e-3


# --------------------------------------------------------------------------------------------------------------
# 5. keras.io "Vector-Quantized Variational Autoencoders"
# --------------------------------------------------------------------------------------------------------------


class VectorQuantizer(layers.Layer):
    """The script's layer. Two changes for Keras 3: the codebook is ``self.add_weight`` (a bare ``tf.Variable`` on a
    Keras 3 layer is not among its weights: the script's codebook would not train) in floatx (the script's
    ``dtype="float32"`` cannot meet a float64 model in ``tf.matmul``)."""

    def __init__(self, num_embeddings, embedding_dim, beta=0.25, **kwargs):
        super().__init__(**kwargs)
        self.embedding_dim = embedding_dim
        self.num_embeddings = num_embeddings
        self.beta = beta
        w_init = keras.initializers.RandomUniform(-0.05, 0.05)  # tf.random_uniform_initializer()'s range
        self.embeddings = self.add_weight(shape=(self.embedding_dim, self.num_embeddings), initializer=w_init,
                                          trainable=True, name="embeddings_vqvae")

    def call(self, x):
        input_shape = tf.shape(x)
        flattened = tf.reshape(x, [-1, self.embedding_dim])
        encoding_indices = self.get_code_indices(flattened)
        encodings = tf.one_hot(encoding_indices, self.num_embeddings, dtype=x.dtype)
        quantized = tf.matmul(encodings, self.embeddings, transpose_b=True)
        quantized = tf.reshape(quantized, input_shape)
        commitment_loss = tf.reduce_mean((tf.stop_gradient(quantized) - x) ** 2)
        codebook_loss = tf.reduce_mean((quantized - tf.stop_gradient(x)) ** 2)
        self.add_loss(self.beta * commitment_loss + codebook_loss)
        quantized = x + tf.stop_gradient(quantized - x)
        return quantized

    def get_code_indices(self, flattened_inputs):
        similarity = tf.matmul(flattened_inputs, self.embeddings)
        distances = (tf.reduce_sum(flattened_inputs ** 2, axis=1, keepdims=True)
                     + tf.reduce_sum(self.embeddings ** 2, axis=0) - 2 * similarity)
        encoding_indices = tf.argmin(distances, axis=1)
        return encoding_indices


class VQVAETrainer(keras.models.Model):
    """The script's trainer, as written (the sizes passed in)."""

    def __init__(self, vqvae, train_variance, **kwargs):
        super().__init__(**kwargs)
        self.train_variance = train_variance
        self.vqvae = vqvae
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.vq_loss_tracker = keras.metrics.Mean(name="vq_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.vq_loss_tracker]

    def train_step(self, x):
        with tf.GradientTape() as tape:
            reconstructions = self.vqvae(x)
            reconstruction_loss = (tf.reduce_mean((x - reconstructions) ** 2) / self.train_variance)
            total_loss = reconstruction_loss + sum(self.vqvae.losses)
        grads = tape.gradient(total_loss, self.vqvae.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.vqvae.trainable_variables))
        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.vq_loss_tracker.update_state(sum(self.vqvae.losses))
        return {"loss": self.total_loss_tracker.result(),
                "reconstruction_loss": self.reconstruction_loss_tracker.result(),
                "vqvae_loss": self.vq_loss_tracker.result()}


class _VQVAE(torch.nn.Module):
    """NCHW port. ``Conv2D(3, strides=2, "same")`` on an even map pads 0 before, 1 after: ``TFSamePadding`` in front
    of a ``padding=0`` conv; ``Conv2DTranspose(3, strides=2, "same")``: ``padding=0`` and crop to ``2 * in``
    (README). The quantizer as written with torch ops, ``.detach()`` for ``tf.stop_gradient``; it returns the
    reconstruction and the layer's ``add_loss`` term."""

    def __init__(self, latent_dim, num_embeddings):
        super().__init__()
        self.pad = tnn.TFSamePadding(3, 2)
        self.encoder = torch.nn.ModuleList([torch.nn.Conv2d(1, 4, 3, stride=2), torch.nn.Conv2d(4, 8, 3, stride=2),
                                            torch.nn.Conv2d(8, latent_dim, 1)])
        self.embeddings = torch.nn.Parameter(torch.empty(latent_dim, num_embeddings))
        self.decoder = torch.nn.ModuleList([torch.nn.ConvTranspose2d(latent_dim, 8, 3, stride=2),
                                            torch.nn.ConvTranspose2d(8, 4, 3, stride=2),
                                            torch.nn.ConvTranspose2d(4, 1, 3, padding=1)])
        self.beta, self.latent_dim = 0.25, latent_dim

    def load(self, weights):
        """Keras's ``get_weights()``: the encoder's six arrays, the codebook, the decoder's six."""
        load_keras_weights(self.encoder, weights[:6])
        with torch.no_grad():
            self.embeddings.copy_(torch.from_numpy(weights[6]))
        load_keras_weights(self.decoder, weights[7:])
        return self

    def quantize(self, x):  # x NHWC
        flattened = x.reshape(-1, self.latent_dim)
        distances = ((flattened ** 2).sum(1, keepdim=True) + (self.embeddings ** 2).sum(0)
                     - 2 * flattened @ self.embeddings)
        encodings = torch.nn.functional.one_hot(distances.argmin(1), self.embeddings.shape[1]).to(x.dtype)
        quantized = (encodings @ self.embeddings.T).reshape(x.shape)
        commitment_loss = ((quantized.detach() - x) ** 2).mean()
        codebook_loss = ((quantized - x.detach()) ** 2).mean()
        return x + (quantized - x).detach(), self.beta * commitment_loss + codebook_loss

    def forward(self, x):
        e1, e2, e3 = self.encoder
        h = torch.relu(e1(self.pad(x.permute(0, 3, 1, 2))))
        h = e3(torch.relu(e2(self.pad(h))))
        q, vq_loss = self.quantize(h.permute(0, 2, 3, 1))
        h = q.permute(0, 3, 1, 2)
        d1, d2, d3 = self.decoder
        h = torch.relu(d1(h)[..., :2 * h.shape[2], :2 * h.shape[3]])
        h = torch.relu(d2(h)[..., :2 * h.shape[2], :2 * h.shape[3]])
        return d3(h).permute(0, 2, 3, 1), vq_loss


@pytest.mark.slow  # ~4 s: Keras traces the custom train_step
@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_vq_vae_straight_through_like_keras(dt):
    """The script: ``VectorQuantizer`` (nearest code by ``argmin`` of the expanded distances, ``tf.one_hot``, the
    commitment loss ``beta * mean((stop_gradient(q) - x)**2)`` plus the codebook loss through ``self.add_loss``,
    the straight-through ``x + stop_gradient(q - x)``), the encoder/decoder convolutions, ``VQVAETrainer.
    train_step`` (``mean((x - x_hat)**2) / train_variance + sum(self.vqvae.losses)``, three ``Mean`` trackers),
    ``compile(optimizer=keras.optimizers.Adam())``, ``fit(x_train_scaled, epochs, batch_size=128)`` (shuffled);
    MNIST-like 8x8 images, 4 latent channels, 6 codes. Port: ``keras_shuffle_order`` batches, ``optim.Adam``,
    ``metrics.Mean``."""
    latent_dim, num_embeddings, n, batch, epochs = 4, 6, 40, 16, 3
    rng = np.random.default_rng(7)
    x_train = (rng.random((n, 8, 8, 1)) * 255).round()
    x_train_scaled = ((x_train / 255.0) - 0.5).astype(dt)
    data_variance = np.var(x_train / 255.0)
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(10)
        encoder = keras.Sequential([keras.Input((8, 8, 1)),
                                    layers.Conv2D(4, 3, activation="relu", strides=2, padding="same"),
                                    layers.Conv2D(8, 3, activation="relu", strides=2, padding="same"),
                                    layers.Conv2D(latent_dim, 1, padding="same")], name="encoder")
        vq_layer = VectorQuantizer(num_embeddings, latent_dim, name="vector_quantizer")
        decoder = keras.Sequential([keras.Input((2, 2, latent_dim)),
                                    layers.Conv2DTranspose(8, 3, activation="relu", strides=2, padding="same"),
                                    layers.Conv2DTranspose(4, 3, activation="relu", strides=2, padding="same"),
                                    layers.Conv2DTranspose(1, 3, padding="same")], name="decoder")
        inputs = keras.Input(shape=(8, 8, 1))
        vqvae = keras.Model(inputs, decoder(vq_layer(encoder(inputs))), name="vq_vae")
        net = _VQVAE(latent_dim, num_embeddings).to(tdt).load(vqvae.get_weights())
        vqvae_trainer = VQVAETrainer(vqvae, data_variance)
        vqvae_trainer.compile(optimizer=keras.optimizers.Adam())
        kh = vqvae_trainer.fit(x_train_scaled, epochs=epochs, batch_size=batch, verbose=0).history
        # the port
        from torch_impl.utils import keras_shuffle_order
        optimizer = optim.Adam(net.parameters())
        trackers = {k: tmetrics.Mean() for k in ("loss", "reconstruction_loss", "vqvae_loss")}
        th = {k: [] for k in trackers}
        x = torch.tensor(x_train_scaled)
        order = keras_shuffle_order(n, seed=10)
        for _ in range(epochs):
            for m in trackers.values():
                m.reset_state()
            for idx in np.array_split(order, range(batch, n, batch)):
                xb = x[idx]
                reconstructions, vq_loss = net(xb)
                reconstruction_loss = ((xb - reconstructions) ** 2).mean() / data_variance
                total_loss = reconstruction_loss + vq_loss
                optimizer.zero_grad()
                total_loss.backward()
                optimizer.step()
                for k, v in zip(trackers, (total_loss, reconstruction_loss, vq_loss)):
                    trackers[k].update_state(v.detach())
            for k in trackers:
                th[k].append(float(trackers[k].result()))
    print(f"VQ-VAE, {dt}:")
    _check_history(th, kh, dt)
    kw = vqvae.get_weights()
    weights = max(_weights_apart(net.encoder, kw[:6]), _weights_apart(net.decoder, kw[7:]),
                  _normwise(net.embeddings.detach().numpy(), kw[6]))
    print(f"  final weights {weights:.1e} norm-wise")
    assert weights <= (1e-12 if dt == "float64" else 1e-4)


# --------------------------------------------------------------------------------------------------------------
# 6. keras.io "Endpoint layer pattern" (Keras 3 version)
# --------------------------------------------------------------------------------------------------------------


class LogisticEndpoint(keras.layers.Layer):
    """The recipe's layer (Keras 3: no ``add_metric``, so its accuracy line is gone)."""

    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    def call(self, logits, targets=None, sample_weight=None):
        if targets is not None:
            loss = self.loss_fn(targets, logits, sample_weight)
            self.add_loss(loss)
        return ops.softmax(logits)


@pytest.mark.parametrize("dt", DTYPES)
def test_endpoint_layer_add_loss_with_sample_weight_like_keras(dt):
    """The recipe: ``LogisticEndpoint`` computes ``BinaryCrossentropy(from_logits=True)(targets, logits,
    sample_weight)`` from two extra ``Input``s and ``add_loss``-es it; ``model.compile(keras.optimizers.Adam(
    1e-3))`` with no loss; ``model.fit(data)`` on a dict holding the inputs, soft targets in [0, 1) and a ``(N, 1)``
    sample weight. Port: a ``Dense(1)`` giving logits, ``torch_impl.fit(net, x, targets, sample_weight=...)`` with
    ``losses.BinaryCrossentropy(from_logits=True)``: the ``(N, 1)`` weight against the ``(N,)`` per-sample losses
    and the batch-size weighted epoch mean are Keras's in both."""
    rng = np.random.default_rng(11)
    n, d, epochs = 100, 12, 3
    data = {"inputs": rng.random((n, d)), "targets": rng.random((n, 1)), "sample_weight": rng.random((n, 1))}
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(14)
        inputs = keras.Input((d,), name="inputs")
        logits = keras.layers.Dense(1)(inputs)
        targets = keras.Input((1,), name="targets")
        sample_weight = keras.Input((1,), name="sample_weight")
        preds = LogisticEndpoint()(logits, targets, sample_weight)
        model = keras.Model([inputs, targets, sample_weight], preds)
        net = load_keras_weights(torch.nn.Linear(d, 1).to(tdt), model.get_weights())
        model.compile(keras.optimizers.Adam(1e-3))
        kh = model.fit(data, epochs=epochs, verbose=0).history
        th = tfit.fit(net, data["inputs"], data["targets"], sample_weight=data["sample_weight"],
                      loss=losses.BinaryCrossentropy(from_logits=True),
                      optimizer=optim.Adam(net.parameters(), learning_rate=1e-3), epochs=epochs, verbose=0,
                      seed=14).history
    print(f"endpoint layer pattern, {dt}:")
    _check_history(th, kh, dt)
    weights = _weights_apart(net, model.get_weights())
    print(f"  final weights {weights:.1e} norm-wise")
    assert weights <= (1e-12 if dt == "float64" else 1e-4)

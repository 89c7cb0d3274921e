"""Real-world Keras 2-era scripts, round 23: models whose loss is built with ``add_loss`` (a VAE's ``model.add_loss``
with ``compile(optimizer=...)`` and no loss, a two-input CNN CVAE, a custom layer's ``self.add_loss`` next to a
compiled loss, with and without ``sample_weight``, a sparse autoencoder's custom activity regularizer), ported to PyTorch with torch_impl's ``add_loss`` and loss-free ``fit`` as
the README recommends ("Added losses: add_loss", "No compiled loss").

1. The Keras 2 ``examples/variational_autoencoder.py`` VAE as used in wikistat/High-Dimensional-Deep-Learning
   ``AutoEncoder/solutions/train_outlier_vae.py`` (https://github.com/wikistat/High-Dimensional-Deep-Learning):
   ``encoder``/``decoder`` sub-models (784 -> ``Dense(intermediate_dim, relu)`` -> ``z_mean``/``z_log_var``, a
   ``Lambda(sampling)``; ``Dense(relu)`` -> ``Dense(784, sigmoid)``), ``binary_crossentropy(inputs, outputs) *
   784``, ``kl_loss = -0.5 * K.sum(1 + z_log_var - K.square(z_mean) - K.exp(z_log_var), axis=-1)``,
   ``vae.add_loss(K.mean(reconstruction_loss + kl_loss))``, ``vae.compile(optimizer='adam')``, ``vae.fit(x, epochs,
   batch_size, validation_data=(x_test, None))``. Adapted for Keras 3: a functional model cannot ``add_loss`` a
   symbolic tensor, so the same expression sits in a ``VAELoss`` layer called on ``[inputs, outputs, z_mean,
   z_log_var]``; ``K.random_normal`` in ``sampling`` is ``keras.random.normal`` with a seeded ``SeedGenerator``
   (the port draws the same numbers with ``torch_impl.keras_random``); ``intermediate_dim=512``, ``latent_dim=2``
   as the script, 64 samples, ``batch_size=16``, 3 epochs.
2. Louis Tiao, "Implementing Variational Autoencoders in Keras: Beyond the Quickstart Tutorial" (2017,
   https://tiao.io/post/tutorial-on-variational-autoencoders-with-a-concise-keras-implementation/; the copy the
   search found, https://huggingface.co/datasets/nvidia/Nemotron-CC-Math-v1, holds its introduction only: the code
   here is the post's published listing): ``nll(y_true,
   y_pred) = K.sum(K.binary_crossentropy(y_true, y_pred), axis=-1)`` compiled as the loss, the KL term added by
   ``KLDivergenceLayer(Layer)`` (``self.add_loss(K.mean(kl_batch), inputs=inputs)``, identity on ``[mu,
   log_var]``), ``Lambda(exp(.5 t))``, ``Multiply``/``Add`` with ``eps``, a ``Sequential`` decoder, ``compile(
   optimizer='rmsprop', loss=nll)``, ``fit(x, x, shuffle=True, validation_data=(x_test, x_test))``. Adapted for
   Keras 3: ``add_loss`` has no ``inputs=``; ``eps = Input(tensor=K.random_normal(...))`` (no ``tensor=`` in Keras 3)
   is an ``Epsilon`` layer drawing ``keras.random.normal(stddev=epsilon_std, seed=SeedGenerator(1337))``;
   ``K.binary_crossentropy`` is ``keras.ops.binary_crossentropy``. 784 / 256 / 2 as the post, batches of 16.
3. The sparse autoencoder question "Sparse autoencoder KL divergence regularizer in Keras"
   (https://example-a.com/answer/52343138, Andrew Ng's sparsity penalty): ``SparseActivityRegularizer(p=0.1,
   sparsityBeta=3)``, ``p_hat = K.mean(x, axis=0)``, ``sparsityBeta * K.sum(kl_divergence(p, p_hat))`` as the
   ``activity_regularizer`` of the sigmoid coding layer (784 -> 64 -> 784); ``compile(optimizer='adam',
   loss='binary_crossentropy')`` and ``fit(x, x)`` (the question shows no compile: the Keras blog's autoencoder's
   loss, Adam). ``tf.log`` is ``keras.ops.log``.

4. Rowel Atienza, "Advanced Deep Learning with Keras", ``chapter8-vae/cvae-cnn-mnist-8.2.1.py``
   (https://github.com/PacktPublishing/Advanced-Deep-Learning-with-Keras): a CNN conditional VAE with two inputs
   (image, one-hot label: ``Dense(image_size ** 2)`` of the label reshaped and concatenated as a channel), two
   ``Conv2D(strides=2, padding='same')``, ``Dense(16)``, ``Lambda(sampling)``, a decoder of ``Dense``, ``Reshape``
   and ``Conv2DTranspose(strides=2, padding='same')``, ``reconstruction_loss = mse(K.flatten(inputs),
   K.flatten(outputs)) * image_size ** 2`` (one scalar over the whole batch), ``kl_loss *= -0.5 * beta``,
   ``cvae.add_loss(K.mean(reconstruction_loss + kl_loss))``, ``cvae.compile(optimizer='rmsprop')``,
   ``cvae.fit([x_train, to_categorical(y_train)], validation_data=([x_test, to_categorical(y_test)], None))``.
   Adapted: ``VAELoss``-style loss layer and seeded sampling as in 1; ``keras.losses.mse`` is gone in Keras 3
   (``keras.losses.mean_squared_error``; the string ``"mse"`` still resolves, ``keras/src/losses/__init__.py``
   119); ``K.flatten`` is ``ops.reshape(x, (-1,))``; 8x8 images, 32 samples, ``batch_size=16``; beta 3 ``slow``.
5. keras-team/keras#12337 "is add_loss affected by sample weights?" (https://github.com/keras-team/keras/issues/
   12337): a KL term among feature maps added with ``add_loss``, a classification head whose loss is zeroed by
   ``sample_weight`` for the unlabelled half; here two ``Dense(8, softmax)`` feature maps, ``FeatureKL`` adding
   ``mean(keras.losses.kl_divergence(p, q))``, ``Dense(3, softmax)``, ``sparse_categorical_crossentropy``, Adam,
   ``fit(x, y, sample_weight=w)``. Keras 3's answer: no (``compute_loss``, ``keras/src/trainers/trainer.py``
   387-391: ``sample_weight`` goes to the compiled loss only; each added loss is summed as it is).

Standards (DESIGN.md): float64 histories within 1e-8 relative every epoch, float32 within 1e-3 (float32 ``slow``).
Measured (max relative error over every history key and epoch; printed by each test):

==========================  ==============================  ======================  ==================================
script                      float64                         float32 (``slow``)      a naive PyTorch port (float64)
==========================  ==============================  ======================  ==================================
1 Keras example VAE         2.1e-16 / val 4.2e-16;          1.1e-7                  KL as a mean over the latent axis:
                            ``evaluate`` equal                                      3.7e-3 apart
2 Tiao KLDivergenceLayer    2.1e-16 / val 4.2e-16           1.1e-7                  ``nll`` as ``F.binary_cross_entropy``
                                                                                    (a mean over pixels): 1.0 apart
3 sparse KL regularizer     1.2e-16 / val 1.8e-16;          2.1e-7                  the penalty undivided (standalone
                            ``model.losses`` 2.1e-16                                Keras 2): 12 apart
4 Atienza CNN CVAE          1.4e-16 / val 4.1e-16;          1.5e-7; predict 2.4e-7  torch's ``padding=1`` /
                            predict 4.4e-16 (beta 3,                                ``output_padding=1``: 4.4e-3 apart
                            ``slow``: 1.4e-16)
5 keras#12337 weighted      0                               0                       the added KL weighted by
                                                                                    ``sample_weight``: 0.46 apart
==========================  ==============================  ======================  ==================================

Keras facts found:

* Port note: ``fit(model, [x1, x2])`` with no targets is Keras's ``fit([x1, x2])`` (two inputs, no ``y``): the
  port's ``forward`` takes them as positional arguments (the README's multi-input row).
* Keras 3 divides a layer's activity-regularizer loss by the batch size (``keras/src/layers/layer.py`` 1018-1029:
  ``ops.divide_no_nan(loss, batch_size)``), standalone Keras 2.x did not: the question's KL sparsity penalty (a
  mean over the batch already, ``p_hat``) weighs ``1 / batch_size`` as much under Keras 3. ``R.regularize(...,
  activity_regularizer=callable)`` divides as Keras 3 does.

Run: ``.venv/bin/python -m pytest -q -s -p no:cacheprovider parity_tests/test_field_scripts_round23.py``
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers, ops  # noqa: E402

from parity_tests.test_field_scripts_round2 import DTYPES, _check_history, _precision, _rel, _tol  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import keras_ops as tops  # noqa: E402
from torch_impl import keras_random as trandom  # noqa: E402
from torch_impl import losses as tlosses  # noqa: E402
from torch_impl import regularizers as R  # noqa: E402
from torch_impl.nn import load_keras_weights  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]


def _images(n: int, d: int = 784, seed: int = 3):
    """MNIST-like pixels in [0, 1] (10 prototypes plus noise), flattened."""
    rng = np.random.default_rng(seed)
    protos = rng.random((10, d))
    return np.clip(protos[rng.integers(0, 10, n)] + rng.normal(0, 0.2, (n, d)), 0, 1)


def _apart(th: dict, kh: dict) -> float:
    return max(_rel(th[k], kh[k]) for k in kh)


# --------------------------------------------------------------------------------------------------------------
# 1. The Keras 2 example VAE: vae.add_loss(K.mean(reconstruction_loss + kl_loss)), vae.compile(optimizer='adam')
# --------------------------------------------------------------------------------------------------------------

ORIG, INTER, LATENT = 784, 512, 2


class Sampling(layers.Layer):
    """The script's ``sampling`` (``z_mean + K.exp(0.5 * z_log_var) * K.random_normal(shape=(batch, dim))``), its
    draws from a seeded ``SeedGenerator``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, args):
        z_mean, z_log_var = args
        epsilon = keras.random.normal(shape=ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


class VAELoss(layers.Layer):
    """``vae.add_loss(vae_loss)`` of the script, in a layer (Keras 3's functional model takes no symbolic loss)."""

    def call(self, args):
        inputs, outputs, z_mean, z_log_var = args
        reconstruction_loss = keras.losses.binary_crossentropy(inputs, outputs)
        reconstruction_loss *= ORIG
        kl_loss = 1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var)
        kl_loss = ops.sum(kl_loss, axis=-1)
        kl_loss *= -0.5
        self.add_loss(ops.mean(reconstruction_loss + kl_loss))
        return outputs


def _keras_vae():
    inputs = keras.Input(shape=(ORIG,), name="encoder_input")
    x = layers.Dense(INTER, activation="relu")(inputs)
    z_mean = layers.Dense(LATENT, name="z_mean")(x)
    z_log_var = layers.Dense(LATENT, name="z_log_var")(x)
    z = Sampling(name="z")([z_mean, z_log_var])
    encoder = keras.Model(inputs, [z_mean, z_log_var, z], name="encoder")
    latent_inputs = keras.Input(shape=(LATENT,), name="z_sampling")
    x = layers.Dense(INTER, activation="relu")(latent_inputs)
    outputs = layers.Dense(ORIG, activation="sigmoid")(x)
    decoder = keras.Model(latent_inputs, outputs, name="decoder")
    z_mean, z_log_var, z = encoder(inputs)
    outputs = VAELoss()([inputs, decoder(z), z_mean, z_log_var])
    return keras.Model(inputs, outputs, name="vae_mlp"), encoder


class ExampleVAE(torch.nn.Module):
    """The port: the loss added in ``forward`` with ``R.add_loss``; ``naive_kl``: the KL as a mean over the latent
    axis (a common PyTorch port's ``torch.mean``)."""

    def __init__(self, naive_kl: bool = False):
        super().__init__()
        self.h, self.z_mean, self.z_log_var = (torch.nn.Linear(ORIG, INTER), torch.nn.Linear(INTER, LATENT),
                                               torch.nn.Linear(INTER, LATENT))
        self.dec_h, self.dec_out = torch.nn.Linear(LATENT, INTER), torch.nn.Linear(INTER, ORIG)
        self.seed_generator = trandom.SeedGenerator(1337)
        self.naive_kl = naive_kl

    def forward(self, inputs):
        h = torch.relu(self.h(inputs))
        z_mean, z_log_var = self.z_mean(h), self.z_log_var(h)
        z = z_mean + torch.exp(0.5 * z_log_var) * trandom.normal(z_mean.shape, seed=self.seed_generator)
        outputs = tops.sigmoid(self.dec_out(torch.relu(self.dec_h(z))))  # keeps the logits Keras's bce finds
        reconstruction_loss = tlosses.binary_crossentropy(inputs, outputs) * ORIG
        terms = 1 + z_log_var - z_mean.square() - torch.exp(z_log_var)
        kl_loss = -0.5 * (torch.mean(terms, dim=-1) if self.naive_kl else torch.sum(terms, dim=-1))
        R.add_loss(self, torch.mean(reconstruction_loss + kl_loss))
        return outputs


@pytest.mark.parametrize("dt", DTYPES)
def test_keras_example_vae_add_loss_no_compiled_loss(dt):
    x = _images(80).astype(dt)
    xtr, xte = x[:64], x[64:]
    seed = 23
    with _precision(dt):
        keras.utils.set_random_seed(seed)
        vae, encoder = _keras_vae()
        nets = [ExampleVAE(), ExampleVAE(naive_kl=True)]
        for net in nets:
            load_keras_weights(net, vae.get_weights())
        vae.compile(optimizer="adam")
        kh = vae.fit(xtr, epochs=3, batch_size=16, validation_data=(xte, None), verbose=0).history
        runs = [tfit.fit(net, xtr, optimizer="adam", epochs=3, batch_size=16, seed=seed,
                         validation_data=(xte, None), verbose=0).history for net in nets]
        print(f"Keras example VAE ({dt}), no compiled loss:")
        _check_history(runs[0], kh, dt)
        k_state = tuple(int(v) for v in encoder.get_layer("z").seed_generator.state.numpy())
        print(f"  sampling stream: torch_impl {nets[0].seed_generator.state}, Keras {k_state}")
        assert tuple(nets[0].seed_generator.state) == k_state
        k_eval = vae.evaluate(xte, batch_size=16, verbose=0)
        t_eval = tfit.evaluate(nets[0], xte, batch_size=16, return_dict=False)
        print(f"  evaluate(x_test): Keras {k_eval!r} torch_impl {t_eval!r} rel {_rel(t_eval, k_eval):.1e}")
        assert _rel(t_eval, k_eval) <= _tol(dt)
    naive = _apart(runs[1], kh)
    print(f"  naive port (KL as torch.mean over the latent axis): history {naive:.1e} apart")
    assert naive > 1e-3


# --------------------------------------------------------------------------------------------------------------
# 2. Louis Tiao's VAE: KLDivergenceLayer's self.add_loss(K.mean(kl_batch)) + compile(loss=nll), rmsprop
# --------------------------------------------------------------------------------------------------------------

T_INTER, EPS_STD = 256, 1.0


def nll(y_true, y_pred):
    """Negative log likelihood (Bernoulli): the post's ``K.sum(K.binary_crossentropy(y_true, y_pred), axis=-1)``."""
    return ops.sum(ops.binary_crossentropy(y_true, y_pred), axis=-1)


class KLDivergenceLayer(layers.Layer):
    """Identity transform layer that adds KL divergence to the final model loss (the post's, as written but for
    ``add_loss``'s ``inputs=``, gone in Keras 3)."""

    def __init__(self, *args, **kwargs):
        self.is_placeholder = True
        super().__init__(*args, **kwargs)

    def call(self, inputs):
        mu, log_var = inputs
        kl_batch = -.5 * ops.sum(1 + log_var - ops.square(mu) - ops.exp(log_var), axis=-1)
        self.add_loss(ops.mean(kl_batch))
        return inputs


class Epsilon(layers.Layer):
    """The post's ``eps = Input(tensor=K.random_normal(stddev=epsilon_std, shape=(K.shape(x)[0], latent_dim)))``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, x):
        return keras.random.normal(shape=(ops.shape(x)[0], LATENT), stddev=EPS_STD, seed=self.seed_generator)


def _keras_tiao():
    decoder = keras.Sequential([layers.Input((LATENT,)), layers.Dense(T_INTER, activation="relu"),
                                layers.Dense(ORIG, activation="sigmoid")])
    x = keras.Input(shape=(ORIG,))
    h = layers.Dense(T_INTER, activation="relu")(x)
    z_mu = layers.Dense(LATENT)(h)
    z_log_var = layers.Dense(LATENT)(h)
    z_mu, z_log_var = KLDivergenceLayer()([z_mu, z_log_var])
    z_sigma = layers.Lambda(lambda t: ops.exp(.5 * t))(z_log_var)
    eps = Epsilon()(x)
    z_eps = layers.Multiply()([z_sigma, eps])
    z = layers.Add()([z_mu, z_eps])
    x_pred = decoder(z)
    return keras.Model(inputs=x, outputs=x_pred), decoder


class KLDivergence(torch.nn.Module):
    def forward(self, mu, log_var):
        R.add_loss(self, torch.mean(-.5 * torch.sum(1 + log_var - mu.square() - log_var.exp(), dim=-1)))
        return mu, log_var


class TiaoVAE(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.h, self.z_mu, self.z_log_var = (torch.nn.Linear(ORIG, T_INTER), torch.nn.Linear(T_INTER, LATENT),
                                             torch.nn.Linear(T_INTER, LATENT))
        self.kl = KLDivergence()
        self.dec_h, self.dec_out = torch.nn.Linear(LATENT, T_INTER), torch.nn.Linear(T_INTER, ORIG)
        self.seed_generator = trandom.SeedGenerator(1337)

    def forward(self, x):
        h = torch.relu(self.h(x))
        z_mu, z_log_var = self.kl(self.z_mu(h), self.z_log_var(h))
        eps = trandom.normal((x.shape[0], LATENT), stddev=EPS_STD, seed=self.seed_generator)
        z = z_mu + torch.exp(.5 * z_log_var) * eps
        return tops.sigmoid(self.dec_out(torch.relu(self.dec_h(z))))


def t_nll(y_true, y_pred):
    return torch.sum(tops.binary_crossentropy(y_true, y_pred), dim=-1)


def naive_nll(y_true, y_pred):
    """A naive port: torch's ``binary_cross_entropy`` (a mean over the pixels, as ``keras.losses``' one)."""
    return torch.nn.functional.binary_cross_entropy(y_pred, y_true, reduction="none").mean(-1)


@pytest.mark.parametrize("dt", DTYPES)
def test_tiao_kl_divergence_layer_with_compiled_nll(dt):
    x = _images(80, seed=5).astype(dt)
    xtr, xte = x[:64], x[64:]
    seed = 29
    with _precision(dt), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras.utils.set_random_seed(seed)
        vae, _ = _keras_tiao()
        nets = [TiaoVAE(), TiaoVAE()]
        for net in nets:
            load_keras_weights(net, vae.get_weights())
        vae.compile(optimizer="rmsprop", loss=nll)
        kh = vae.fit(xtr, xtr, shuffle=True, epochs=3, batch_size=16, validation_data=(xte, xte), verbose=0).history
        runs = [tfit.fit(net, xtr, xtr, loss=loss, optimizer="rmsprop", epochs=3, batch_size=16, seed=seed,
                         validation_data=(xte, xte), verbose=0).history for net, loss in zip(nets, (t_nll, naive_nll))]
        print(f"Tiao VAE ({dt}), KLDivergenceLayer add_loss + compiled nll:")
        _check_history(runs[0], kh, dt)
    naive = _apart(runs[1], kh)
    print(f"  naive port (nll as F.binary_cross_entropy, a mean over pixels): history {naive:.1e} apart")
    assert naive > 1e-1


# --------------------------------------------------------------------------------------------------------------
# 3. Sparse autoencoder: the KL sparsity penalty as a custom activity_regularizer
# --------------------------------------------------------------------------------------------------------------

ENC = 64


def kl_divergence(rho, rho_hat, log):
    return rho * np.log(rho) - rho * log(rho_hat) + (1 - rho) * np.log(1 - rho) - (1 - rho) * log(1 - rho_hat)


class SparseActivityRegularizer(keras.regularizers.Regularizer):
    """The question's regularizer (``tf.log`` -> ``keras.ops.log``)."""

    def __init__(self, p=0.1, sparsityBeta=3):
        self.p = p
        self.sparsityBeta = sparsityBeta

    def __call__(self, x):
        regularization = 0
        p_hat = ops.mean(x, axis=0)
        regularization += self.sparsityBeta * ops.sum(kl_divergence(self.p, p_hat, ops.log))
        return regularization

    def get_config(self):
        return {"name": self.__class__.__name__}


def t_sparse_kl(x, p=0.1, beta=3):
    return beta * torch.sum(kl_divergence(p, x.mean(0), torch.log))


class SparseAE(torch.nn.Module):
    """``naive``: the penalty added undivided in ``forward`` (standalone Keras 2's activity regularizer)."""

    def __init__(self, naive: bool = False):
        super().__init__()
        self.enc = torch.nn.Sequential(torch.nn.Linear(ORIG, ENC), torch.nn.Sigmoid())
        if not naive:
            R.regularize(self.enc, activity_regularizer=t_sparse_kl)
        self.dec = torch.nn.Linear(ENC, ORIG)
        self.naive = naive

    def forward(self, x):
        code = self.enc(x)
        if self.naive:
            R.add_loss(self, t_sparse_kl(code))
        return tops.sigmoid(self.dec(code))


@pytest.mark.parametrize("dt", DTYPES)
def test_sparse_autoencoder_kl_activity_regularizer(dt):
    x = _images(80, seed=7).astype(dt)
    xtr, xte = x[:64], x[64:]
    seed = 31
    with _precision(dt):
        keras.utils.set_random_seed(seed)
        inp = keras.Input((ORIG,))
        code = layers.Dense(ENC, activation="sigmoid",
                            activity_regularizer=SparseActivityRegularizer(p=0.1, sparsityBeta=3))(inp)
        model = keras.Model(inp, layers.Dense(ORIG, activation="sigmoid")(code))
        nets = [SparseAE(), SparseAE(naive=True)]
        for net in nets:
            load_keras_weights(net, model.get_weights())
        model.compile(optimizer="adam", loss="binary_crossentropy")
        kh = model.fit(xtr, xtr, epochs=3, batch_size=16, validation_data=(xte, xte), verbose=0).history
        runs = [tfit.fit(net, xtr, xtr, loss="binary_crossentropy", optimizer="adam", epochs=3, batch_size=16,
                         seed=seed, validation_data=(xte, xte), verbose=0).history for net in nets]
        print(f"sparse autoencoder ({dt}), KL activity regularizer:")
        _check_history(runs[0], kh, dt)
        model(xte[:16])  # fills model.losses
        k_pen = float(ops.convert_to_numpy(model.losses[0]))
        nets[0](torch.as_tensor(xte[:16]))
        t_pen = float(R.regularization_losses(nets[0])[0].detach())
        print(f"  model.losses after a batch of 16: Keras {k_pen!r} torch_impl {t_pen!r} rel {_rel(t_pen, k_pen):.1e}")
        assert _rel(t_pen, k_pen) <= _tol(dt)
    naive = _apart(runs[1], kh)
    print(f"  naive port (the penalty undivided, standalone Keras 2): history {naive:.1e} apart")
    assert naive > 1e-2


# --------------------------------------------------------------------------------------------------------------
# 4. Atienza's CNN CVAE (cvae-cnn-mnist-8.2.1.py): two inputs, cvae.add_loss, compile(optimizer='rmsprop')
# --------------------------------------------------------------------------------------------------------------

IMG, NUM_LABELS, KSIZE = 8, 10, 3


class LambdaSampling(layers.Layer):
    """The script's ``Lambda(sampling)`` (``K.random_normal(shape=(batch, dim))``), from a seeded generator."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, args):
        z_mean, z_log_var = args
        epsilon = keras.random.normal(shape=(ops.shape(z_mean)[0], LATENT), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


class CVAELoss(layers.Layer):
    """``cvae.add_loss(K.mean(mse(K.flatten(inputs), K.flatten(outputs)) * image_size ** 2 + kl_loss))``."""

    def __init__(self, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.beta = beta

    def call(self, args):
        inputs, outputs, z_mean, z_log_var = args
        reconstruction_loss = keras.losses.mean_squared_error(ops.reshape(inputs, (-1,)), ops.reshape(outputs, (-1,)))
        reconstruction_loss *= IMG * IMG
        kl_loss = 1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var)
        kl_loss = ops.sum(kl_loss, axis=-1)
        kl_loss *= -0.5 * self.beta
        self.add_loss(ops.mean(reconstruction_loss + kl_loss))
        return outputs


def _keras_cvae(beta: float):
    filters = 16
    inputs = keras.Input(shape=(IMG, IMG, 1), name="encoder_input")
    y_labels = keras.Input(shape=(NUM_LABELS,), name="class_labels")
    x = layers.Dense(IMG * IMG)(y_labels)
    x = layers.Reshape((IMG, IMG, 1))(x)
    x = layers.concatenate([inputs, x])
    for _ in range(2):
        filters *= 2
        x = layers.Conv2D(filters=filters, kernel_size=KSIZE, activation="relu", strides=2, padding="same")(x)
    shape = x.shape
    x = layers.Flatten()(x)
    x = layers.Dense(16, activation="relu")(x)
    z_mean = layers.Dense(LATENT, name="z_mean")(x)
    z_log_var = layers.Dense(LATENT, name="z_log_var")(x)
    z = LambdaSampling(name="z")([z_mean, z_log_var])
    encoder = keras.Model([inputs, y_labels], [z_mean, z_log_var, z], name="encoder")
    latent_inputs = keras.Input(shape=(LATENT,), name="z_sampling")
    x = layers.concatenate([latent_inputs, y_labels])
    x = layers.Dense(shape[1] * shape[2] * shape[3], activation="relu")(x)
    x = layers.Reshape((shape[1], shape[2], shape[3]))(x)
    for _ in range(2):
        x = layers.Conv2DTranspose(filters=filters, kernel_size=KSIZE, activation="relu", strides=2,
                                   padding="same")(x)
        filters //= 2
    outputs = layers.Conv2DTranspose(filters=1, kernel_size=KSIZE, activation="sigmoid", padding="same",
                                     name="decoder_output")(x)
    decoder = keras.Model([latent_inputs, y_labels], outputs, name="decoder")
    z_mean, z_log_var, z = encoder([inputs, y_labels])
    outputs = CVAELoss(beta)([inputs, decoder([z, y_labels]), z_mean, z_log_var])
    return keras.Model([inputs, y_labels], outputs, name="cvae"), encoder


class CVAE(torch.nn.Module):
    """The port, channels first inside: Keras's ``padding="same"`` stride-2 ``Conv2D`` pads one row and column at
    the end (``F.pad(x, (0, 1, 0, 1))``), its ``Conv2DTranspose`` is ``ConvTranspose2d(padding=0)`` cropped to
    ``2 * in`` (the README's row); ``naive``: torch's usual ``padding=1`` / ``padding=1, output_padding=1``."""

    def __init__(self, beta: float = 1.0, naive: bool = False):
        super().__init__()
        nn = torch.nn
        self.beta, self.naive = beta, naive
        pad = 1 if naive else 0
        self.label_dense = nn.Linear(NUM_LABELS, IMG * IMG)
        self.conv1, self.conv2 = nn.Conv2d(2, 32, KSIZE, 2, pad), nn.Conv2d(32, 64, KSIZE, 2, pad)
        self.fc = nn.Linear(64 * (IMG // 4) ** 2, 16)
        self.z_mean, self.z_log_var = nn.Linear(16, LATENT), nn.Linear(16, LATENT)
        self.dec_fc = nn.Linear(LATENT + NUM_LABELS, 64 * (IMG // 4) ** 2)
        out_pad = 1 if naive else 0
        self.deconv1 = nn.ConvTranspose2d(64, 64, KSIZE, 2, pad, output_padding=out_pad)
        self.deconv2 = nn.ConvTranspose2d(64, 32, KSIZE, 2, pad, output_padding=out_pad)
        self.out = nn.ConvTranspose2d(32, 1, KSIZE, 1, 1)
        self.seed_generator = trandom.SeedGenerator(1337)

    def _conv(self, conv, x):
        return conv(x if self.naive else torch.nn.functional.pad(x, (0, 1, 0, 1)))

    def _deconv(self, deconv, x):
        n = 2 * x.shape[-1]
        return deconv(x)[..., :n, :n]

    def forward(self, images, y_labels):  # a list of inputs arrives as positional arguments
        x = self.label_dense(y_labels).reshape(-1, IMG, IMG, 1)
        x = torch.cat([images, x], dim=-1).movedim(-1, 1)  # concatenate on channels (last in Keras)
        x = torch.relu(self._conv(self.conv2, torch.relu(self._conv(self.conv1, x))))
        x = torch.relu(self.fc(x.movedim(1, -1).flatten(1)))  # Keras's Flatten: (H, W, C) order
        z_mean, z_log_var = self.z_mean(x), self.z_log_var(x)
        eps = trandom.normal((z_mean.shape[0], LATENT), seed=self.seed_generator)
        z = z_mean + torch.exp(0.5 * z_log_var) * eps
        x = torch.relu(self.dec_fc(torch.cat([z, y_labels], dim=-1))).reshape(-1, IMG // 4, IMG // 4, 64)
        x = torch.relu(self._deconv(self.deconv1, x.movedim(-1, 1)))
        x = torch.relu(self._deconv(self.deconv2, x))
        outputs = torch.sigmoid(self.out(x)).movedim(1, -1)
        reconstruction_loss = torch.mean(torch.square(images.flatten() - outputs.flatten())) * IMG * IMG
        kl_loss = -0.5 * self.beta * torch.sum(1 + z_log_var - z_mean.square() - torch.exp(z_log_var), dim=-1)
        R.add_loss(self, torch.mean(reconstruction_loss + kl_loss))
        return outputs


@pytest.mark.parametrize("beta", [1.0, pytest.param(3.0, marks=pytest.mark.slow)])
@pytest.mark.parametrize("dt", DTYPES)
def test_atienza_cnn_cvae_two_inputs_no_compiled_loss(dt, beta):
    rng = np.random.default_rng(11)
    x = _images(48, IMG * IMG, seed=11).reshape(-1, IMG, IMG, 1).astype(dt)
    onehot = np.eye(NUM_LABELS, dtype=dt)[rng.integers(0, NUM_LABELS, 48)]
    xtr, ytr, xte, yte = x[:32], onehot[:32], x[32:], onehot[32:]
    seed = 37
    with _precision(dt):
        keras.utils.set_random_seed(seed)
        cvae, encoder = _keras_cvae(beta)
        nets = [CVAE(beta), CVAE(beta, naive=True)]
        for net in nets:
            load_keras_weights(net, cvae.get_weights())
        cvae.compile(optimizer="rmsprop")
        kh = cvae.fit([xtr, ytr], epochs=3, batch_size=16, validation_data=([xte, yte], None), verbose=0).history
        runs = [tfit.fit(net, [xtr, ytr], optimizer="rmsprop", epochs=3, batch_size=16, seed=seed,
                         validation_data=([xte, yte], None), verbose=0).history for net in nets]
        print(f"Atienza CNN CVAE ({dt}, beta={beta}), two inputs, no compiled loss:")
        _check_history(runs[0], kh, dt)
        k_state = tuple(int(v) for v in encoder.get_layer("z").seed_generator.state.numpy())
        assert tuple(nets[0].seed_generator.state) == k_state
        k_pred = cvae.predict([xte, yte], batch_size=16, verbose=0)
        t_pred = tfit.predict(nets[0], [xte, yte], batch_size=16)
        r = _rel(np.asarray(t_pred), k_pred)
        print(f"  predict (one more draw each): max rel {r:.1e}")
        assert r <= 1e-12 if dt == "float64" else r <= 1e-4
    naive = _apart(runs[1], kh)
    print(f"  naive port (torch's padding=1 / output_padding=1): history {naive:.1e} apart")
    assert naive > 1e-4


# --------------------------------------------------------------------------------------------------------------
# 5. keras-team/keras#12337 "is add_loss affected by sample weights?": a KL among feature maps via add_loss, a
#    classification head whose loss is zeroed for unlabelled samples by sample_weight
# --------------------------------------------------------------------------------------------------------------


class FeatureKL(layers.Layer):
    def call(self, inputs):
        p, q = inputs
        self.add_loss(ops.mean(keras.losses.kl_divergence(p, q)))
        return ops.concatenate([p, q], axis=-1)


class TFeatureKL(torch.nn.Module):
    def __init__(self, naive: bool = False):
        super().__init__()
        self.naive, self.sample_weight = naive, None

    def forward(self, p, q):
        kl = tlosses.kl_divergence(p, q)
        if self.naive:  # a port that weights the added loss by the sample weights as the head's loss
            kl = kl * self.sample_weight[: kl.shape[0]]
        R.add_loss(self, torch.mean(kl))
        return torch.cat([p, q], dim=-1)


class SemiSupervised(torch.nn.Module):
    def __init__(self, naive: bool = False):
        super().__init__()
        self.p, self.q = torch.nn.Linear(16, 8), torch.nn.Linear(16, 8)
        self.kl = TFeatureKL(naive)
        self.head = torch.nn.Linear(16, 3)

    def forward(self, x):
        return tops.softmax(self.head(self.kl(tops.softmax(self.p(x)), tops.softmax(self.q(x)))))


@pytest.mark.parametrize("dt", DTYPES)
def test_issue_12337_add_loss_not_weighted_by_sample_weight(dt):
    rng = np.random.default_rng(13)
    x = rng.normal(size=(64, 16)).astype(dt)
    y = rng.integers(0, 3, 64)
    w = (rng.random(64) < 0.5).astype(dt)  # labelled half: weight 1, the others 0
    seed = 41
    with _precision(dt):
        keras.utils.set_random_seed(seed)
        inp = keras.Input((16,))
        feats = FeatureKL()([layers.Dense(8, activation="softmax")(inp), layers.Dense(8, activation="softmax")(inp)])
        model = keras.Model(inp, layers.Dense(3, activation="softmax")(feats))
        nets = [SemiSupervised(), SemiSupervised(naive=True)]
        for net in nets:
            load_keras_weights(net, model.get_weights())
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        kh = model.fit(x, y, sample_weight=w, epochs=3, batch_size=64, verbose=0).history
        runs = []
        for net in nets:
            net.kl.sample_weight = torch.as_tensor(w)  # one batch of all 64: the naive port's weights line up
            runs.append(tfit.fit(net, x, y, sample_weight=w, loss="sparse_categorical_crossentropy",
                                 optimizer="adam", epochs=3, batch_size=64, seed=seed, verbose=0).history)
        print(f"issue 12337 ({dt}): add_loss next to a sample-weighted compiled loss:")
        _check_history(runs[0], kh, dt)
    naive = _apart(runs[1], kh)
    print(f"  naive port (the added KL weighted by sample_weight): history {naive:.1e} apart")
    assert naive > 1e-3

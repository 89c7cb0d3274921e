"""Real-world Keras scripts, round 10 (augmentation inside the model, data from generators and PyDatasets, Keras 2
custom losses and metrics written with ``K``, ``shuffle="batch"``), ported to PyTorch with torch_impl as a user
would port them from the README: ``torch_impl.nn``'s augmentation layers (NCHW), ``torch_impl.fit`` given the same
generator or PyDataset-shaped class, the field loss or metric unchanged but for ``from torch_impl import
keras_backend as K``.

1. TensorFlow's "Image classification" tutorial (flowers): ``data_augmentation = keras.Sequential([RandomFlip(
   "horizontal", input_shape=...), RandomRotation(0.1), RandomZoom(0.1)])`` as the model's first layer,
   ``Rescaling(1./255)``, three ``Conv2D(padding="same", activation="relu")`` + ``MaxPooling2D``, ``Dropout(0.2)``,
   ``Flatten``, ``Dense(relu)``, ``Dense(num_classes)`` logits, ``SparseCategoricalCrossentropy(from_logits=True)``,
   ``"accuracy"``, validation data, ``predict``. Float32 only (Keras 3.15.1's ``RandomRotation`` cannot train in
   float64).
2. A Keras 3 CIFAR recipe: ``RandomFlip("horizontal")``, ``RandomTranslation(0.1, 0.1)``, ``RandomZoom(0.1)``,
   ``RandomContrast(0.2)`` in a ``Sequential`` applied to the ``Input`` of a functional model, Conv/
   ``BatchNormalization``/``MaxPooling2D``/``Dropout`` blocks, ``GlobalAveragePooling2D``, a softmax ``Dense``,
   ``Adam(1e-3)``, ``validation_split=0.2``, ``ReduceLROnPlateau``, ``evaluate``.
3. Stanford's "A detailed example of how to use data generators with Keras" (Shervine Amidi): ``class
   DataGenerator(keras.utils.Sequence)`` loading one ``.npy`` file per sample ID, ``np.random.shuffle`` in
   ``on_epoch_end``, ``keras.utils.to_categorical``; ``model.fit(training_generator,
   validation_data=validation_generator)``.
4. The Kaggle Carvana U-Net: ``dice_coeff``, ``dice_loss`` and ``bce_dice_loss`` written with ``K`` around
   ``keras.losses.binary_crossentropy``, endless ``train_generator()`` (a random flip from ``np.random``) and
   ``valid_generator()`` with ``steps_per_epoch`` / ``validation_steps``, ``RMSprop(learning_rate=1e-4)``,
   ``EarlyStopping``, ``ReduceLROnPlateau``; Conv/BatchNormalization/ReLU levels, ``UpSampling2D``,
   ``concatenate``, a sigmoid 1x1 ``Conv2D``.
5. An HDF5-fed binary classifier (Keras 2's ``shuffle="batch"`` advice): datasets read with ``h5py``,
   umbertogriffo's ``binary_focal_loss`` and the StackExchange ``f1_m``/``precision_m``/``recall_m`` written with
   ``K``, two unseeded ``Dropout(0.3)``, ``fit(..., shuffle="batch", validation_split=0.2)``, ``loss, accuracy,
   f1_score, precision, recall = model.evaluate(...)``.
6. An imbalanced 3-class model: wassname's ``weighted_categorical_crossentropy`` (``K.variable``, ``K.clip``,
   ``K.log``), a balanced-batch generator (``np.random.choice`` per class), ``steps_per_epoch``, a validation
   generator with ``validation_steps``, ``predict``.
7. keras.io "Image segmentation with a U-Net-like architecture" (Oxford Pets): ``class OxfordPets(
   keras.utils.Sequence)`` giving uint8 ``(N, H, W, 1)`` trimaps minus 1, the Xception-style U-Net
   (``SeparableConv2D``, strided ``"same"`` convolutions and pooling, ``Conv2DTranspose``, ``UpSampling2D``,
   residual ``add``), ``optimizer="rmsprop"``, ``"sparse_categorical_crossentropy"``, ``ModelCheckpoint(
   save_best_only=True)``, ``model.predict(val_gen)`` and the best checkpoint's.

Small synthetic data, a few epochs; both sides start from the same weights and seed states (``keras_init_(net,
seed=S)`` after Keras's ``keras.utils.set_random_seed(S)``: weights bit for bit, the augmentation layers' and
Dropouts' seeds); arrays in Keras's shuffle order (``fit(seed=S)``); the generators' and PyDatasets' NumPy and Python
streams seeded alike before ``fit`` on both sides. Standards (DESIGN.md): float64 histories within 1e-8 relative
every epoch, float32 within 1e-3 with the same predicted classes. Measured (max relative error over every history
key and epoch):

=====================  =============================================  =========================================
script                 float64                                        float32 (``slow`` but script 1)
=====================  =============================================  =========================================
1 flowers              (RandomRotation: float32 only)                 1.5e-7; logits 7.5e-7 norm-wise, same
                                                                      classes; the 4 seed states equal
2 CIFAR augmentation   3.3e-16; evaluate 4.9e-16; weights 3.1e-15     3.0e-7; evaluate 1.1e-6
3 Sequence generator   1.9e-16; the samples' orders after fit equal   1.5e-7
4 Carvana bce_dice     3.1e-16 (dice metric 2.3e-16)                  1.6e-7
5 HDF5 focal, f1       2.5e-16; evaluate 1.8e-16                      2.2e-7; evaluate equal
6 weighted CCE         2.2e-16; the same predicted classes            1.6e-7; the same predicted classes
7 Oxford Pets U-Net    9.5e-16; predict 2.5e-14 (best checkpoint too) 1.1e-7; predict 9.6e-6 (a wider net: below)
=====================  =============================================  =========================================

What the ports found (each pinned by a test at the end):

* torch_impl error, fixed (``torch_impl/metrics.py``;
  ``test_weighted_metric_of_one_number_per_batch_raises_like_keras``): ``weighted_metrics=[dice_coeff]`` (a
  ``K``-written metric returning one number per batch) with sample weights from a generator raised torch's
  ``RuntimeError`` ("expand(torch.DoubleTensor{[16]}, size=[]): the number of sizes provided (0) must be greater or
  equal to the number of dimensions in the tensor"); Keras raises ``ValueError`` ("Shape must be at most rank 0").
  Now ``ValueError`` naming the shapes and the way out (``metrics``).
* torch_impl false alarm, fixed (``torch_impl/fit.py``; ``test_validation_generator_warning_only_where_keras_varies``):
  scripts 4 and 6 validate on an endless generator with ``validation_steps=2`` and ``fit`` warned that Keras's
  ``val_`` figures vary from run to run. Up to two steps every Keras validation reads only the two replayed
  signature batches: fixed figures (measured: 4 equal ``val_loss``, in both). The warning now comes for
  ``validation_steps`` over two only, where Keras's do vary (0.7576 and 0.7548 in two runs).
* Keras behaviours, reproduced by torch_impl: a metric function returning one number per batch (``f1_m``,
  ``dice_coeff``) counts once per batch in Keras's ``Mean``, a partial last batch as much as a full one
  (``test_metric_function_counts_once_per_batch``: batches 32/32/6 log 23.33 for the batch size, not 29.77);
  with a finite generator and no ``steps_per_epoch`` the step where the data runs out adds that count without a
  value, so the epoch's ``f1_m`` is 3/4 of the batches' mean (``test_finite_generator_ran_out_step_counts_a_
  metric_function``: 0.3412 against 0.4549 for the same batches as arrays; the loss is unaffected).
* Keras behaviours, not reproduced (documented): a metric function gets a generator's labels uncast, so float64
  labels (``np.empty``, ``to_categorical``) against a float32 model make a ``K``-written metric raise
  ``TypeError`` in TensorFlow; torch_impl gives it floatx labels and computes the figures of the arrays run
  (``test_metric_function_gets_the_generator_labels_uncast``; why script 4's float64 run yields float64 batches).
  ``steps_per_epoch=np.ceil(...)`` (a NumPy float, Keras 2's ``fit_generator`` took it) is refused by both: Keras
  ``TypeError`` when the epoch starts (for ``validation_steps``, after a whole epoch of training), torch_impl
  ``ValueError`` before training (``test_float_steps_per_epoch_refused_like_keras``). Keras's ``tf.data`` prefetch
  reads ahead from a training generator (42 batches read for 40 trained on, 41 in another run): the batches trained
  on are the same, but NumPy's global stream ends elsewhere after ``fit`` (script 6; torch_impl reads the 40).
  Keras warns that a ``PyDataset`` subclass should call ``super().__init__()`` (scripts 3 and 7 as written).
* Port notes. A ``Dropout`` after a convolution block draws its mask over Keras's ``(N, H, W, C)`` map: apply
  ``tnn.Dropout`` to ``x.movedim(1, -1)`` (``test_dropout_on_feature_maps_needs_keras_layout``; with the mask drawn
  on the NCHW map script 1's loss is 5.5e-3 off in float32, its accuracy 23%, ``test_flowers_with_nchw_dropout_mask``).
  A PyDataset's batch order comes from Python's global ``random``, which building the Keras model advances (one
  draw per unseeded initializer, Dropout, augmentation layer), while ``keras_init_`` leaves it alone: seed it before
  ``fit`` on both sides, or replay the draws (``test_model_construction_advances_python_random``). Conv biases before
  BatchNormalization get a zero gradient but for rounding, and each side steps them on its own noise (1e-17 in
  float64), without effect on any output: the final-weight figures are taken over the largest weight.
* float32 limit (``test_oxford_pets_wider_unet_float32_drift_is_torch_convolution_rounding``, slow): a wider scaling
  of script 7 (down 8, 16; up 16, 8, 4) misses the float32 standard with torch's default oneDNN convolutions (epoch
  1 within 1.1e-7, then 5.1e-3 on ``val_loss``, 7-13 of 4096 pixels of another class; the final loss within
  4.0e-4). The tutorial feeds raw 0-255 pixels into a ``Conv2D`` before ``BatchNormalization``: from the weights
  after epoch 1, torch's own oneDNN and native convolutions give kernel gradients 15% apart in those layers
  (1.6e-6 in the others; with the pixels scaled to [0, 1], 8.7e-7), and RMSprop's normalised step makes that a
  step of its own size. The same port on torch's native convolutions (``torch.backends.mkldnn.enabled = False``)
  stays within 2.8e-7 of Keras every epoch with Keras's predicted classes: the drift is the convolutions'
  summation order, not torch_impl.
"""

from __future__ import annotations

import random
import warnings
from typing import Optional

import numpy as np
import pytest
import torch
import torch.nn.functional as F

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402
from tensorflow.keras import backend as KK  # noqa: E402  (the scripts' ``K``; Keras 3's legacy backend)

from parity_tests.test_field_scripts_round2 import (  # noqa: E402
    _check_history, DTYPES, F32, F64, _histogram, _normwise, _precision, _rel, _weights_apart)
from parity_tests.test_field_scripts_round7 import SeparableConv2d, _same_pad2d  # noqa: E402
from torch_impl import callbacks as tcb  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import keras_backend as TK  # noqa: E402  (the ports' ``K``)
from torch_impl import losses, optim  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl.nn import keras_init_, keras_weights  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]


def _same_initial_weights(net: torch.nn.Module, model, dt: str) -> float:
    """``keras_init_(seed=...)``'s weights against the Keras model's, array by array (bit for bit: glorot kernels)."""
    ours, theirs = keras_weights(net), model.get_weights()
    assert len(ours) == len(theirs)
    worst = 0.0
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape, (a.shape, b.shape)
        worst = max(worst, float(np.max(np.abs(a - b))))
    assert worst == 0.0, worst
    return worst


def _states(layers_) -> list:
    """The seed states ``(seed, counter)`` of Keras layers (their ``generator`` / ``seed_generator``)."""
    out = []
    for layer in layers_:
        gen = getattr(layer, "generator", None) or getattr(layer, "seed_generator")
        out.append(tuple(int(v) for v in gen.state.numpy()))
    return out


def _nchw(x: np.ndarray) -> np.ndarray:
    """The port's images: NHWC arrays as torch's NCHW (contiguous, as a user's ``x.transpose(0, 3, 1, 2)``)."""
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


# --------------------------------------------------------------------------------------------------------------
# 1. TensorFlow's "Image classification" tutorial (flowers): augmentation inside the model, float32
# --------------------------------------------------------------------------------------------------------------


def _flowers(n: int = 160, size: int = 16, classes: int = 5, seed: int = 0):
    """Flower-like 8-bit RGB images ``(N, H, W, 3)`` in ``[0, 255]``: noise and a blob whose colour and width
    depend on the class, placed anywhere (as ``image_dataset_from_directory`` gives them: floats)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    yy, xx = np.mgrid[:size, :size]
    img = rng.uniform(0, 255, (n, size, size, 3)) * 0.5
    for i in range(n):
        cy, cx = rng.integers(4, size - 4, 2)
        img[i, :, :, y[i] % 3] += 120 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (4.0 + 3 * y[i]))
    return np.clip(img, 0, 255).round(), y


def _keras_flowers(num_classes: int):
    """The tutorial's model, as written (its widths 16/32/64 and 128 scaled down)."""
    data_augmentation = keras.Sequential([
        layers.RandomFlip("horizontal", input_shape=(16, 16, 3)),
        layers.RandomRotation(0.1),
        layers.RandomZoom(0.1),
    ])
    model = keras.Sequential([
        data_augmentation,
        layers.Rescaling(1.0 / 255),
        layers.Conv2D(8, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Dropout(0.2),
        layers.Flatten(),
        layers.Dense(32, activation="relu"),
        layers.Dense(num_classes, name="outputs"),
    ])
    return model, data_augmentation


class _FlowersNet(torch.nn.Module):
    """The port: torch_impl's augmentation layers on NCHW images, modules in Keras's construction order
    (``keras_init_`` replays the weights and the augmentation and Dropout seeds). The Dropout draws its mask on
    the channels-last map, as Keras's (``test_dropout_on_feature_maps_needs_keras_layout``), and the Flatten
    orders the features ``(H, W, C)`` (README)."""

    def __init__(self, num_classes: int, keras_layout_dropout: bool = True):
        super().__init__()
        self.data_augmentation = torch.nn.Sequential(tnn.RandomFlip("horizontal"), tnn.RandomRotation(0.1),
                                                     tnn.RandomZoom(0.1))
        self.rescale = tnn.Rescaling(1.0 / 255)
        self.c1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.c2 = torch.nn.Conv2d(8, 16, 3, padding=1)
        self.c3 = torch.nn.Conv2d(16, 16, 3, padding=1)
        self.drop = tnn.Dropout(0.2)
        self.dense = torch.nn.Linear(2 * 2 * 16, 32)
        self.outputs = torch.nn.Linear(32, num_classes)
        self.keras_layout_dropout = keras_layout_dropout

    def forward(self, x):
        x = self.rescale(self.data_augmentation(x))
        x = F.max_pool2d(torch.relu(self.c1(x)), 2)
        x = F.max_pool2d(torch.relu(self.c2(x)), 2)
        x = F.max_pool2d(torch.relu(self.c3(x)), 2)
        x = self.drop(x.movedim(1, -1)) if self.keras_layout_dropout else self.drop(x).movedim(1, -1)
        return self.outputs(torch.relu(self.dense(x.flatten(1))))


def _run_flowers(keras_layout_dropout: bool = True, epochs: int = 3):
    dt = "float32"  # Keras 3.15.1's RandomRotation cannot train in float64 (test_image_augment_keras.py)
    x, y = _flowers()
    x = x.astype(dt)
    train, val = slice(0, 128), slice(128, 160)
    with _precision(dt):
        keras.utils.set_random_seed(123)
        model, data_augmentation = _keras_flowers(5)
        net = keras_init_(_FlowersNet(5, keras_layout_dropout), seed=123)
        init = _same_initial_weights(net, model, dt)
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        kh = model.fit(x[train], y[train], validation_data=(x[val], y[val]), epochs=epochs, verbose=0).history
        k_logits = model.predict(x[val], verbose=0)
        th = tfit.fit(net, _nchw(x[train]), y[train], validation_data=(_nchw(x[val]), y[val]), epochs=epochs,
                      optimizer="adam", loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"], seed=123, verbose=0).history
        t_logits = tfit.predict(net, _nchw(x[val]))
    states = (_states(list(data_augmentation.layers) + [model.layers[8]]),
              [m.state for m in net.data_augmentation] + [net.drop.state])
    return kh, th, k_logits, t_logits, init, states, _weights_apart(net, model.get_weights())


def test_flowers_augmentation_in_model_like_keras():
    """``model.fit(train_ds, validation_data=val_ds, epochs=3)`` (arrays here, Keras's default shuffle after
    ``keras.utils.set_random_seed(123)``), ``SparseCategoricalCrossentropy(from_logits=True)``, ``"accuracy"``,
    then ``predict``: the augmented batches, the Dropout masks and the seed states are Keras's, so the float32
    history is within a few ulps (float32 only: RandomRotation)."""
    kh, th, k_logits, t_logits, init, (k_states, t_states), weights = _run_flowers()
    print(f"flowers tutorial (RandomFlip, RandomRotation, RandomZoom in the model), float32: initial weights "
          f"{init:.1e}; seed states after fit Keras {k_states} torch_impl {t_states}")
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, "float32")
    r = _normwise(t_logits, k_logits)
    kc, tc = _histogram(k_logits.argmax(1), 5), _histogram(t_logits.argmax(1), 5)
    print(f"  predict (logits) {r:.1e} norm-wise; final weights {weights:.1e}; classes Keras {kc} torch_impl {tc}")
    assert t_states == k_states
    assert max(_rel(th[k], kh[k]) for k in kh) <= 1e-5  # a few float32 ulps, not merely the 1e-3 standard
    assert r <= 1e-5 and kc == tc


# --------------------------------------------------------------------------------------------------------------
# 2. a CIFAR-style CNN with augmentation layers, BatchNormalization and ReduceLROnPlateau (float64 and float32)
# --------------------------------------------------------------------------------------------------------------


def _keras_cifar(num_classes: int):
    """The Keras 3 CIFAR recipe of blog posts: ``data_augmentation`` as a Sequential of preprocessing layers applied
    to the ``Input`` of a functional model, ``Rescaling``, Conv/BatchNormalization/MaxPooling/Dropout blocks,
    ``GlobalAveragePooling2D``, a softmax ``Dense``."""
    data_augmentation = keras.Sequential([
        layers.RandomFlip("horizontal"),
        layers.RandomTranslation(0.1, 0.1),
        layers.RandomZoom(0.1),
        layers.RandomContrast(0.2),
    ], name="data_augmentation")
    inputs = keras.Input(shape=(16, 16, 3))
    x = data_augmentation(inputs)
    x = layers.Rescaling(1.0 / 255)(x)
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Dropout(0.25)(x)
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs), data_augmentation


class _CifarNet(torch.nn.Module):
    """The port, NCHW: ``tnn.BatchNorm2d`` (Keras's momentum and epsilon), the first Dropout on the channels-last
    map; softmax logits out (``output_activation="softmax"``)."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.data_augmentation = torch.nn.Sequential(tnn.RandomFlip("horizontal"), tnn.RandomTranslation(0.1, 0.1),
                                                     tnn.RandomZoom(0.1), tnn.RandomContrast(0.2))
        self.rescale = tnn.Rescaling(1.0 / 255)
        self.c1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = tnn.BatchNorm2d(8)
        self.drop1 = tnn.Dropout(0.25)
        self.c2 = torch.nn.Conv2d(8, 16, 3, padding=1)
        self.bn2 = tnn.BatchNorm2d(16)
        self.drop2 = tnn.Dropout(0.5)
        self.out = torch.nn.Linear(16, num_classes)

    def forward(self, x):
        x = self.rescale(self.data_augmentation(x))
        x = F.max_pool2d(self.bn1(torch.relu(self.c1(x))), 2)
        x = self.drop1(x.movedim(1, -1)).movedim(-1, 1)
        x = self.bn2(torch.relu(self.c2(x))).mean((2, 3))
        return self.out(self.drop2(x))


@pytest.mark.slow  # heavy: run by make test-all
@pytest.mark.parametrize("dt", DTYPES)
def test_cifar_augmentation_batchnorm_reduce_lr_like_keras(dt):
    """``compile(optimizer=Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])``,
    ``fit(x, y, batch_size=32, epochs=5, validation_split=0.2, callbacks=[ReduceLROnPlateau(monitor="val_loss",
    factor=0.5, patience=1, min_lr=1e-5)])``, ``evaluate`` on held-out images. RandomTranslation and RandomZoom
    resample float64 images in float32 as Keras's (README)."""
    x, y = _flowers(n=200, classes=4, seed=3)
    x = x.astype(dt)
    x_train, y_train, x_test, y_test = x[:160], y[:160], x[160:], y[160:]
    with _precision(dt):
        keras.utils.set_random_seed(2024)
        model, data_augmentation = _keras_cifar(4)
        net = keras_init_(_CifarNet(4), seed=2024)
        init = _same_initial_weights(net, model, dt)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        kh = model.fit(x_train, y_train, batch_size=32, epochs=5, validation_split=0.2, verbose=0,
                       callbacks=[keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1,
                                                                    min_lr=1e-5)]).history
        k_eval = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
        th = tfit.fit(net, _nchw(x_train), y_train, batch_size=32, epochs=5, validation_split=0.2, verbose=0,
                      optimizer=optim.Adam(net.parameters(), learning_rate=1e-3),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"], output_activation="softmax",
                      callbacks=[tcb.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_lr=1e-5)],
                      seed=2024).history
        t_eval = tfit.evaluate(net, _nchw(x_test), y_test, loss="sparse_categorical_crossentropy",
                               metrics=["accuracy"], output_activation="softmax")
    k_states, t_states = _states(data_augmentation.layers), [m.state for m in net.data_augmentation]
    print(f"CIFAR-style CNN with 4 augmentation layers, BatchNormalization, ReduceLROnPlateau, {dt}: initial weights "
          f"{init:.1e}; seed states Keras {k_states} torch_impl {t_states}")
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt)
    r = max(_rel(t_eval[k], k_eval[k]) for k in k_eval)
    print(f"  evaluate Keras {k_eval} torch_impl {t_eval}: max rel {r:.1e}; final weights (moving statistics "
          f"included) {_weights_apart(net, model.get_weights()):.1e}")
    assert r <= (1e-12 if dt == "float64" else 1e-5)
    assert t_states == k_states


# --------------------------------------------------------------------------------------------------------------
# 3. "A detailed example of how to use data generators with Keras" (Stanford, Shervine Amidi): keras.utils.Sequence
# --------------------------------------------------------------------------------------------------------------


def _data_generator_class(base, to_categorical):
    """The blog post's ``DataGenerator(keras.utils.Sequence)``, as written (samples saved one ``.npy`` file per ID
    under ``data/``; its ``dim=(32, 32, 32)`` volumes here ``(8, 8)`` images). ``base`` is ``keras.utils.Sequence``
    for Keras (Keras 3's ``PyDataset``) and ``object`` for the port, which changes nothing else but
    ``to_categorical`` (``torch_impl.utils``'s)."""

    class DataGenerator(base):
        'Generates data for Keras'
        def __init__(self, list_IDs, labels, batch_size=32, dim=(32, 32, 32), n_channels=1,
                     n_classes=10, shuffle=True, root="data/"):
            'Initialization'
            self.dim = dim
            self.batch_size = batch_size
            self.labels = labels
            self.list_IDs = list_IDs
            self.n_channels = n_channels
            self.n_classes = n_classes
            self.shuffle = shuffle
            self.root = root
            self.on_epoch_end()

        def __len__(self):
            'Denotes the number of batches per epoch'
            return int(np.floor(len(self.list_IDs) / self.batch_size))

        def __getitem__(self, index):
            'Generate one batch of data'
            # Generate indexes of the batch
            indexes = self.indexes[index * self.batch_size:(index + 1) * self.batch_size]

            # Find list of IDs
            list_IDs_temp = [self.list_IDs[k] for k in indexes]

            # Generate data
            X, y = self.__data_generation(list_IDs_temp)

            return X, y

        def on_epoch_end(self):
            'Updates indexes after each epoch'
            self.indexes = np.arange(len(self.list_IDs))
            if self.shuffle == True:  # noqa: E712  (as written)
                np.random.shuffle(self.indexes)

        def __data_generation(self, list_IDs_temp):
            'Generates data containing batch_size samples'  # X : (n_samples, *dim, n_channels)
            # Initialization
            X = np.empty((self.batch_size, *self.dim, self.n_channels))
            y = np.empty((self.batch_size), dtype=int)

            # Generate data
            for i, ID in enumerate(list_IDs_temp):
                # Store sample
                X[i,] = np.load(self.root + ID + '.npy')

                # Store class
                y[i] = self.labels[ID]

            return X, to_categorical(y, num_classes=self.n_classes)

    return DataGenerator


def _save_samples(root, n: int = 150, classes: int = 3, seed: int = 8):
    """``partition = {"train": [...], "validation": [...]}`` and ``labels = {"id-1": 0, ...}``, one ``(8, 8, 1)``
    sample per ``.npy`` file (class-dependent stripes and noise)."""
    rng = np.random.default_rng(seed)
    labels, ids = {}, []
    for i in range(n):
        ID = f"id-{i + 1}"
        c = int(rng.integers(0, classes))
        img = rng.normal(0, 1, (8, 8, 1))
        img[c * 2:c * 2 + 3, :, 0] += 1.5
        np.save(str(root / f"{ID}.npy"), img)
        labels[ID], ids = c, ids + [ID]
    return {"train": ids[:100], "validation": ids[100:]}, labels


class _SequenceNet(torch.nn.Module):
    """``Conv2D(8, 3, activation="relu")`` -> ``Flatten`` -> ``Dropout(0.3)`` -> ``Dense(3, softmax)``, NCHW in."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 8, 3)
        self.drop = tnn.Dropout(0.3)
        self.out = torch.nn.Linear(6 * 6 * 8, 3)

    def forward(self, x):
        x = x.movedim(-1, 1)  # the generator's NHWC batches: the port moves the channels itself
        return self.out(self.drop(torch.relu(self.conv(x)).movedim(1, -1).flatten(1)))


@pytest.mark.parametrize("dt", DTYPES)
def test_keras_sequence_data_generator_like_keras(dt, tmp_path):
    """``training_generator = DataGenerator(partition['train'], labels, **params)``, the same for validation,
    ``model.fit(training_generator, validation_data=validation_generator, epochs=4)``: Keras's default
    ``shuffle=True`` shuffles the batch order with Python's ``random`` and the class shuffles its samples with
    NumPy's in ``on_epoch_end`` (called by Keras once when ``fit`` starts, after each epoch, and for the
    validation set at each evaluation). ``keras.utils.set_random_seed(S)`` seeds both; the port calls
    ``random.seed(S)`` and ``np.random.seed(S)`` (what it seeds) at the same point."""
    partition, labels = _save_samples(tmp_path)
    params = {"dim": (8, 8), "batch_size": 16, "n_classes": 3, "n_channels": 1, "shuffle": True,
              "root": str(tmp_path) + "/"}
    from torch_impl.utils import to_categorical
    KerasGen = _data_generator_class(keras.utils.Sequence, keras.utils.to_categorical)
    PortGen = _data_generator_class(object, to_categorical)
    with _precision(dt):
        keras.utils.set_random_seed(5)
        model = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(8, 3, activation="relu"), layers.Flatten(),
                                  layers.Dropout(0.3), layers.Dense(3, activation="softmax")])
        net = keras_init_(_SequenceNet(), seed=5)
        init = _same_initial_weights(net, model, dt)
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        # the script seeds here (the model's construction draws from Python's random: see the module docstring)
        keras.utils.set_random_seed(11)
        with warnings.catch_warnings(record=True) as k_warn:
            warnings.simplefilter("always")
            training_generator = KerasGen(partition["train"], labels, **params)
            validation_generator = KerasGen(partition["validation"], labels, **params)
            kh = model.fit(training_generator, validation_data=validation_generator, epochs=4, verbose=0).history
        k_idx = (training_generator.indexes.copy(), validation_generator.indexes.copy())
        random.seed(11)
        np.random.seed(11)
        training_generator = PortGen(partition["train"], labels, **params)
        validation_generator = PortGen(partition["validation"], labels, **params)
        th = tfit.fit(net, training_generator, validation_data=validation_generator, epochs=4, verbose=0,
                      optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"],
                      output_activation="softmax").history
        t_idx = (training_generator.indexes.copy(), validation_generator.indexes.copy())
    print(f"Keras utils.Sequence DataGenerator (np.load per sample, on_epoch_end shuffles), {dt}: initial weights "
          f"{init:.1e}; Keras's warnings {sorted({str(w.message)[:60] for w in k_warn})}")
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt)
    same = all(np.array_equal(a, b) for a, b in zip(k_idx, t_idx))
    print(f"  the generators' sample orders after fit equal: {same}; final weights {_weights_apart(net, model.get_weights()):.1e}")
    assert same


# --------------------------------------------------------------------------------------------------------------
# 4. the Kaggle Carvana U-Net: bce_dice_loss and dice_coeff written with K, trained from Python generators
# --------------------------------------------------------------------------------------------------------------


def _carvana_losses(K, binary_crossentropy):
    """The kernel's ``losses.py``, as written, against the module ``K`` and the function ``binary_crossentropy``
    (``keras.losses.binary_crossentropy`` / ``torch_impl.losses.binary_crossentropy``)."""

    def dice_coeff(y_true, y_pred):
        smooth = 1.
        y_true_f = K.flatten(y_true)
        y_pred_f = K.flatten(y_pred)
        intersection = K.sum(y_true_f * y_pred_f)
        score = (2. * intersection + smooth) / (K.sum(y_true_f) + K.sum(y_pred_f) + smooth)
        return score

    def dice_loss(y_true, y_pred):
        loss = 1 - dice_coeff(y_true, y_pred)
        return loss

    def bce_dice_loss(y_true, y_pred):
        loss = binary_crossentropy(y_true, y_pred) + dice_loss(y_true, y_pred)
        return loss

    return dice_coeff, bce_dice_loss


def _cars(n: int = 80, size: int = 16, seed: int = 4):
    """Car-like images ``(N, H, W, 3)`` in ``[0, 255]`` (uint8, as ``cv2.imread``) and masks ``(N, H, W)`` in
    ``{0, 255}``: a bright rectangle on a noisy background."""
    rng = np.random.default_rng(seed)
    img = rng.uniform(0, 160, (n, size, size, 3))
    mask = np.zeros((n, size, size))
    for i in range(n):
        top, left = rng.integers(1, size // 2, 2)
        h, w = rng.integers(4, size // 2, 2)
        mask[i, top:top + h, left:left + w] = 255
        img[i, top:top + h, left:left + w] += rng.uniform(40, 90, 3)
    return np.clip(img, 0, 255).astype(np.uint8), mask.astype(np.uint8)


def _carvana_generators(images, masks, ids_train_split, ids_valid_split, batch_size, dtype=np.float32):
    """The kernel's ``train_generator`` (its random horizontal flip from NumPy's global stream) and
    ``valid_generator``, endless, ``np.array(..., np.float32) / 255`` as written (``dtype``: the float64 run's
    batches are float64, see ``test_metric_function_gets_the_generator_labels_uncast``)."""

    def randomHorizontalFlip(image, mask, u=0.5):
        if np.random.random() < u:
            image = np.fliplr(image)
            mask = np.fliplr(mask)
        return image, mask

    def train_generator():
        while True:
            for start in range(0, len(ids_train_split), batch_size):
                x_batch = []
                y_batch = []
                end = min(start + batch_size, len(ids_train_split))
                ids_train_batch = ids_train_split[start:end]
                for id in ids_train_batch:
                    img = images[id]
                    mask = masks[id]
                    img, mask = randomHorizontalFlip(img, mask)
                    mask = np.expand_dims(mask, axis=2)
                    x_batch.append(img)
                    y_batch.append(mask)
                x_batch = np.array(x_batch, dtype) / 255
                y_batch = np.array(y_batch, dtype) / 255
                yield x_batch, y_batch

    def valid_generator():
        while True:
            for start in range(0, len(ids_valid_split), batch_size):
                x_batch = []
                y_batch = []
                end = min(start + batch_size, len(ids_valid_split))
                ids_valid_batch = ids_valid_split[start:end]
                for id in ids_valid_batch:
                    x_batch.append(images[id])
                    y_batch.append(np.expand_dims(masks[id], axis=2))
                x_batch = np.array(x_batch, dtype) / 255
                y_batch = np.array(y_batch, dtype) / 255
                yield x_batch, y_batch

    return train_generator, valid_generator


def _keras_unet_small():
    """The kernel's ``get_unet_128`` pattern (Conv2D, BatchNormalization, Activation("relu") twice per level,
    MaxPooling2D, UpSampling2D, concatenate, a sigmoid 1x1 Conv2D), two levels of 8/16 filters and a 32 center."""

    def block(x, filters):
        for _ in range(2):
            x = layers.Conv2D(filters, (3, 3), padding="same")(x)
            x = layers.BatchNormalization()(x)
            x = layers.Activation("relu")(x)
        return x

    inputs = keras.Input(shape=(16, 16, 3))
    down1 = block(inputs, 8)
    down1_pool = layers.MaxPooling2D((2, 2), strides=(2, 2))(down1)
    down2 = block(down1_pool, 16)
    down2_pool = layers.MaxPooling2D((2, 2), strides=(2, 2))(down2)
    center = block(down2_pool, 32)
    up2 = layers.UpSampling2D((2, 2))(center)
    up2 = layers.concatenate([down2, up2], axis=3)
    up2 = block(up2, 16)
    up1 = layers.UpSampling2D((2, 2))(up2)
    up1 = layers.concatenate([down1, up1], axis=3)
    up1 = block(up1, 8)
    classify = layers.Conv2D(1, (1, 1), activation="sigmoid")(up1)
    return keras.Model(inputs=inputs, outputs=classify)


class _Block(torch.nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1, self.bn1 = torch.nn.Conv2d(cin, cout, 3, padding=1), tnn.BatchNorm2d(cout)
        self.conv2, self.bn2 = torch.nn.Conv2d(cout, cout, 3, padding=1), tnn.BatchNorm2d(cout)

    def forward(self, x):
        return torch.relu(self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))


class _UNetSmall(torch.nn.Module):
    """The port: NHWC batches in (the generators' layout), NCHW inside, the logits out channels-last
    ``(N, H, W, 1)`` as the masks (``output_activation="sigmoid"``)."""

    def __init__(self):
        super().__init__()
        self.down1, self.down2, self.center = _Block(3, 8), _Block(8, 16), _Block(16, 32)
        self.up2, self.up1 = _Block(48, 16), _Block(24, 8)
        self.classify = torch.nn.Conv2d(8, 1, 1)

    def forward(self, x):
        x = x.movedim(-1, 1)
        down1 = self.down1(x)
        down2 = self.down2(F.max_pool2d(down1, 2))
        center = self.center(F.max_pool2d(down2, 2))
        up2 = self.up2(torch.cat([down2, F.interpolate(center, scale_factor=2, mode="nearest")], 1))
        up1 = self.up1(torch.cat([down1, F.interpolate(up2, scale_factor=2, mode="nearest")], 1))
        return self.classify(up1).movedim(1, -1)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.slow  # 6-12 s in the suite: make test-all (make test headroom)
def test_carvana_unet_bce_dice_from_generators_like_keras(dt):
    """``model.compile(optimizer=RMSprop(learning_rate=0.0001), loss=bce_dice_loss, metrics=[dice_coeff])``,
    ``model.fit(train_generator(), steps_per_epoch=np.ceil(float(len(ids_train_split)) / float(batch_size)),
    epochs=4, callbacks=[EarlyStopping(monitor="val_loss", patience=8, min_delta=1e-4), ReduceLROnPlateau(
    monitor="val_loss", factor=0.1, patience=4, min_delta=1e-4)], validation_data=valid_generator(),
    validation_steps=np.ceil(...))`` (Keras 3 spellings of the kernel's ``fit_generator``/``lr``/``epsilon``):
    a partial last batch in both generators (60 = 3 x 16 + 12, 20 = 16 + 4), the dice metric averaged per batch
    (not per sample), ``keras.losses.binary_crossentropy`` inside the custom loss taking the logits behind the
    sigmoid (in both). The kernel's float ``np.ceil`` steps are cast with ``int`` (Keras 3 refuses them:
    ``test_float_steps_per_epoch_refused_like_keras``); the float64 run's batches are float64
    (``test_metric_function_gets_the_generator_labels_uncast``)."""
    images, masks = _cars()
    ids_train_split, ids_valid_split = np.arange(60), np.arange(60, 80)
    batch_size = 16
    train_generator, valid_generator = _carvana_generators(images, masks, ids_train_split, ids_valid_split,
                                                           batch_size, np.dtype(dt))
    k_dice, k_loss = _carvana_losses(KK, keras.losses.binary_crossentropy)
    t_dice, t_loss = _carvana_losses(TK, losses.binary_crossentropy)
    steps = int(np.ceil(float(len(ids_train_split)) / float(batch_size)))
    val_steps = int(np.ceil(float(len(ids_valid_split)) / float(batch_size)))
    with _precision(dt):
        keras.utils.set_random_seed(33)
        model = _keras_unet_small()
        net = keras_init_(_UNetSmall(), seed=33)
        init = _same_initial_weights(net, model, dt)
        model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.0001), loss=k_loss, metrics=[k_dice])
        np.random.seed(33)
        kh = model.fit(train_generator(), steps_per_epoch=steps, epochs=4, verbose=0,
                       callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=8, min_delta=1e-4),
                                  keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=4,
                                                                    min_delta=1e-4)],
                       validation_data=valid_generator(), validation_steps=val_steps).history
        np.random.seed(33)
        th = tfit.fit(net, train_generator(), steps_per_epoch=steps, epochs=4, verbose=0,
                      optimizer=optim.RMSprop(net.parameters(), learning_rate=0.0001), loss=t_loss,
                      metrics=[t_dice], output_activation="sigmoid",
                      callbacks=[tcb.EarlyStopping(monitor="val_loss", patience=8, min_delta=1e-4),
                                 tcb.ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=4, min_delta=1e-4)],
                      validation_data=valid_generator(), validation_steps=val_steps).history
    print(f"Carvana U-Net, bce_dice_loss / dice_coeff with K, generators, {dt}: initial weights {init:.1e}")
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt)
    print(f"  final weights {_weights_apart(net, model.get_weights()):.1e} of the largest weight (moving statistics included; the "
          "conv biases before BatchNormalization hold each side's rounding noise, 1e-17)")


# --------------------------------------------------------------------------------------------------------------
# 5. an HDF5-fed binary classifier: focal loss and f1/precision/recall metrics written with K, shuffle="batch"
# --------------------------------------------------------------------------------------------------------------


def _binary_field_functions(K):
    """umbertogriffo's ``binary_focal_loss`` (its ``K.switch`` form) and the ``recall_m`` / ``precision_m`` /
    ``f1_m`` metrics of the StackExchange answer, as pasted, against the module ``K``."""

    def binary_focal_loss(gamma=2., alpha=.25):
        def binary_focal_loss_fixed(y_true, y_pred):
            epsilon = K.epsilon()
            y_pred = K.clip(y_pred, epsilon, 1. - epsilon)
            p_t = K.switch(K.equal(y_true, 1), y_pred, 1 - y_pred)
            alpha_factor = K.ones_like(y_true) * alpha
            alpha_t = K.switch(K.equal(y_true, 1), alpha_factor, 1 - alpha_factor)
            cross_entropy = -K.log(p_t)
            weight = alpha_t * K.pow((1 - p_t), gamma)
            loss = weight * cross_entropy
            loss = K.mean(K.sum(loss, axis=1))
            return loss
        return binary_focal_loss_fixed

    def recall_m(y_true, y_pred):
        true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))
        possible_positives = K.sum(K.round(K.clip(y_true, 0, 1)))
        recall = true_positives / (possible_positives + K.epsilon())
        return recall

    def precision_m(y_true, y_pred):
        true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))
        predicted_positives = K.sum(K.round(K.clip(y_pred, 0, 1)))
        precision = true_positives / (predicted_positives + K.epsilon())
        return precision

    def f1_m(y_true, y_pred):
        precision = precision_m(y_true, y_pred)
        recall = recall_m(y_true, y_pred)
        return 2 * ((precision * recall) / (precision + recall + K.epsilon()))

    return binary_focal_loss, f1_m, precision_m, recall_m


def _write_h5(path, n: int = 330, seed: int = 6) -> None:
    """``data.h5`` with ``X (N, 12)`` and ``y (N, 1)``: 25% positives."""
    import h5py

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 12))
    y = ((x[:, :3] @ [1.0, -0.7, 0.5] + 0.6 * rng.normal(size=n)) > 0.9).astype("float64")[:, None]
    with h5py.File(path, "w") as f:
        f.create_dataset("X", data=x)
        f.create_dataset("y", data=y)


class _H5Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.d1, self.drop1 = torch.nn.Linear(12, 32), tnn.Dropout(0.3)
        self.d2, self.drop2 = torch.nn.Linear(32, 16), tnn.Dropout(0.3)
        self.out = torch.nn.Linear(16, 1)

    def forward(self, x):
        return self.out(self.drop2(torch.relu(self.d2(self.drop1(torch.relu(self.d1(x)))))))


def _run_h5(dt: str, path, shuffle="batch", port_shuffle=None, epochs: int = 5):
    import h5py

    with h5py.File(path, "r") as f:  # Keras 3 has no HDF5Matrix: the script reads the datasets
        X, y = f["X"][:250].astype(dt), f["y"][:250].astype(dt)
        X_test, y_test = f["X"][250:].astype(dt), f["y"][250:].astype(dt)
    k_focal, k_f1, k_prec, k_rec = _binary_field_functions(KK)
    t_focal, t_f1, t_prec, t_rec = _binary_field_functions(TK)
    with _precision(dt):
        keras.utils.set_random_seed(77)
        model = keras.Sequential([keras.Input((12,)), layers.Dense(32, activation="relu"), layers.Dropout(0.3),
                                  layers.Dense(16, activation="relu"), layers.Dropout(0.3),
                                  layers.Dense(1, activation="sigmoid")])
        net = keras_init_(_H5Net(), seed=77)
        init = _same_initial_weights(net, model, dt)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss=[k_focal(alpha=.25, gamma=2)],
                      metrics=["acc", k_f1, k_prec, k_rec])
        kh = model.fit(X, y, batch_size=64, epochs=epochs, shuffle=shuffle, validation_split=0.2, verbose=0).history
        k_eval = model.evaluate(X_test, y_test, verbose=0)
        th = tfit.fit(net, X, y, batch_size=64, epochs=epochs, validation_split=0.2, verbose=0,
                      shuffle=shuffle if port_shuffle is None else port_shuffle, seed=77,
                      optimizer=optim.Adam(net.parameters(), learning_rate=1e-3), loss=t_focal(alpha=.25, gamma=2),
                      metrics=["acc", t_f1, t_prec, t_rec], output_activation="sigmoid").history
        t_eval = tfit.evaluate(net, X_test, y_test, loss=t_focal(alpha=.25, gamma=2),
                               metrics=["acc", t_f1, t_prec, t_rec], output_activation="sigmoid")
    return kh, th, k_eval, t_eval, init


@pytest.mark.slow  # 29 s in float64 on 2 cores; the round's other scripts run by default
@pytest.mark.parametrize("dt", DTYPES)
def test_h5_focal_f1_metrics_shuffle_batch_like_keras(dt, tmp_path):
    """``model.compile(optimizer=Adam(learning_rate=1e-3), loss=[binary_focal_loss(alpha=.25, gamma=2)],
    metrics=["acc", f1_m, precision_m, recall_m])``, ``model.fit(X, y, batch_size=64, epochs=5, shuffle="batch",
    validation_split=0.2)`` (Keras 2's HDF5 advice), then ``loss, accuracy, f1_score, precision, recall =
    model.evaluate(X_test, y_test)``. The metric functions return one number per batch, which Keras's ``Mean``
    counts once (not once per sample): the partial last batches (200 = 3 x 64 + 8, 50, 80) weigh as much as the full
    ones, in both. Two unseeded ``Dropout(0.3)``: the positions inside each batch decide their masks, so
    ``shuffle="batch"`` must be Keras's own within-batch order (``fit(shuffle="batch", seed=77)``)."""
    _write_h5(tmp_path / "data.h5")
    kh, th, k_eval, t_eval, init = _run_h5(dt, tmp_path / "data.h5")
    print(f"HDF5 binary classifier, K focal loss and f1_m/precision_m/recall_m, shuffle='batch', {dt}: initial "
          f"weights {init:.1e}")
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt)
    names = ["loss", "acc", "f1_m", "precision_m", "recall_m"]
    r = max(_rel(t_eval[k], v) for k, v in zip(names, k_eval))
    print(f"  evaluate: Keras {dict(zip(names, np.round(k_eval, 6).tolist()))} torch_impl "
          f"{ {k: round(t_eval[k], 6) for k in names} }: max rel {r:.1e}")
    assert r <= (1e-12 if dt == "float64" else 1e-5)


# --------------------------------------------------------------------------------------------------------------
# 6. an imbalanced 3-class model: wassname's weighted categorical crossentropy, a balanced-batch generator
# --------------------------------------------------------------------------------------------------------------


def _weighted_categorical_crossentropy(K, weights):
    """wassname's gist, as pasted but for its ``y_pred /= ...`` (an in-place write on the model's output in torch,
    which autograd refuses: the README's advice, ``y_pred = y_pred / ...``, on both sides)."""
    weights = K.variable(weights)

    def loss(y_true, y_pred):
        # scale predictions so that the class probas of each sample sum to 1
        y_pred = y_pred / K.sum(y_pred, axis=-1, keepdims=True)
        # clip to prevent NaN's and Inf's
        y_pred = K.clip(y_pred, K.epsilon(), 1 - K.epsilon())
        # calc
        loss = y_true * K.log(y_pred) * weights
        loss = -K.sum(loss, -1)
        return loss

    return loss


def _balanced_batch_generator(X, y, batch_size, reads=None):
    """The imbalanced-data recipe: each batch draws ``batch_size // C`` samples of every class with NumPy's global
    ``np.random.choice`` (with replacement), shuffled. (``reads``: a list the test counts the batches in.)"""
    labels = y.argmax(1)
    classes = np.unique(labels)
    per_class = batch_size // len(classes)
    while True:
        idx = np.concatenate([np.random.choice(np.where(labels == c)[0], per_class) for c in classes])
        np.random.shuffle(idx)
        if reads is not None:
            reads.append(1)
        yield X[idx], y[idx]


def _val_generator(X, y, batch_size):
    while True:
        for start in range(0, len(X), batch_size):
            yield X[start:start + batch_size], y[start:start + batch_size]


def _imbalanced(n: int = 400, seed: int = 13):
    """90/7/3 classes from a linear rule, one-hot (``to_categorical``: float64)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    s = x[:, 0] + 0.5 * x[:, 1] + 0.3 * rng.normal(size=n)
    c = np.where(s > 2.0, 2, np.where(s > 1.3, 1, 0))
    return x, np.eye(3)[c]


@pytest.mark.parametrize("dt", DTYPES)
def test_weighted_cce_balanced_generator_like_keras(dt):
    """``model.compile(loss=weighted_categorical_crossentropy(np.array([0.5, 2, 10])), optimizer="adam",
    metrics=["accuracy"])``, ``model.fit(balanced_batch_generator(X_train, Y_train, 30), steps_per_epoch=10,
    epochs=4, validation_data=val_generator(X_val, Y_val, 64), validation_steps=2)``: the generator's draws come
    from NumPy's global stream (``np.random.seed`` before ``fit`` on both sides; Keras reads its two signature
    batches before training and replays nothing: ``steps_per_epoch`` continues the generator), the validation
    generator's two batches each epoch (100 = 64 + 36). Keras's ``tf.data`` prefetch reads further batches than
    it trains on, a timing-dependent number: the batches trained on are the same, but NumPy's global stream ends
    elsewhere after ``fit`` (a later draw of the script differs from run to run; torch_impl reads exactly the 40)."""
    x, y = _imbalanced()
    x = x.astype(dt)
    X_train, Y_train, X_val, Y_val = x[:300], y[:300], x[300:], y[300:]
    with _precision(dt):
        keras.utils.set_random_seed(9)
        model = keras.Sequential([keras.Input((6,)), layers.Dense(16, activation="relu"),
                                  layers.Dense(3, activation="softmax")])
        net = keras_init_(torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)), seed=9)
        init = _same_initial_weights(net, model, dt)
        weights = np.array([0.5, 2, 10])
        model.compile(loss=_weighted_categorical_crossentropy(KK, weights), optimizer="adam", metrics=["accuracy"])
        k_reads, t_reads = [], []
        np.random.seed(1)
        kh = model.fit(_balanced_batch_generator(X_train, Y_train, 30, k_reads), steps_per_epoch=10, epochs=4,
                       verbose=0, validation_data=_val_generator(X_val, Y_val, 64), validation_steps=2).history
        k_after = np.random.random()
        np.random.seed(1)
        th = tfit.fit(net, _balanced_batch_generator(X_train, Y_train, 30, t_reads), steps_per_epoch=10, epochs=4,
                      verbose=0, loss=_weighted_categorical_crossentropy(TK, weights), optimizer="adam",
                      metrics=["accuracy"], output_activation="softmax",
                      validation_data=_val_generator(X_val, Y_val, 64), validation_steps=2).history
        t_after = np.random.random()
        k_pred = model.predict(X_val, verbose=0).argmax(1)
        t_pred = tfit.predict(net, X_val, output_activation="softmax").argmax(1)
    print(f"weighted categorical crossentropy (K), balanced-batch generator, {dt}: initial weights {init:.1e}; "
          f"training batches read: Keras {len(k_reads)} (tf.data's prefetch reads ahead: timing-dependent), "
          f"torch_impl {len(t_reads)} (the 40 trained on); NumPy's stream after fit: Keras {k_after:.6f} "
          f"torch_impl {t_after:.6f}")
    assert len(t_reads) == 40 <= len(k_reads)
    assert sorted(th) == sorted(kh)
    _check_history(th, kh, dt)
    kc, tc = _histogram(k_pred, 3), _histogram(t_pred, 3)
    print(f"  predicted classes on validation Keras {kc} torch_impl {tc} (true {_histogram(Y_val.argmax(1), 3)})")
    assert kc == tc


# --------------------------------------------------------------------------------------------------------------
# 7. keras.io "Image segmentation with a U-Net-like architecture" (Oxford Pets): a keras.utils.Sequence of
#    uint8 masks, the Xception-style U-Net, sparse crossentropy, ModelCheckpoint, predict on the Sequence
# --------------------------------------------------------------------------------------------------------------


def _oxford_pets_class(base):
    """The tutorial's ``OxfordPets(keras.utils.Sequence)`` (its Keras 2.x form), as written but for the files:
    ``load_img(path, target_size=...)`` reads the images and trimaps from an in-memory ``{path: array}``."""

    class OxfordPets(base):
        """Helper to iterate over the data (as Numpy arrays)."""

        def __init__(self, batch_size, img_size, input_img_paths, target_img_paths, store):
            self.batch_size = batch_size
            self.img_size = img_size
            self.input_img_paths = input_img_paths
            self.target_img_paths = target_img_paths
            self.store = store

        def __len__(self):
            return len(self.target_img_paths) // self.batch_size

        def __getitem__(self, idx):
            """Returns tuple (input, target) correspond to batch #idx."""
            i = idx * self.batch_size
            batch_input_img_paths = self.input_img_paths[i: i + self.batch_size]
            batch_target_img_paths = self.target_img_paths[i: i + self.batch_size]
            x = np.zeros((self.batch_size,) + self.img_size + (3,), dtype="float32")
            for j, path in enumerate(batch_input_img_paths):
                img = self.store[path]  # load_img(path, target_size=self.img_size)
                x[j] = img
            y = np.zeros((self.batch_size,) + self.img_size + (1,), dtype="uint8")
            for j, path in enumerate(batch_target_img_paths):
                img = self.store[path]  # load_img(path, target_size=self.img_size, color_mode="grayscale")
                y[j] = np.expand_dims(img, 2)
                # Ground truth labels are 1, 2, 3. Subtract one to make them 0, 1, 2:
                y[j] -= 1
            return x, y

    return OxfordPets


def _pets(n: int = 56, size: int = 16, seed: int = 17):
    """``{path: array}`` of RGB pet images (uint8 values as float32) and their trimaps (1 pet, 2 background,
    3 border), and the sorted path lists."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    store, inputs, targets = {}, [], []
    for i in range(n):
        cy, cx = rng.integers(5, size - 5, 2)
        r2 = (yy - cy) ** 2 + (xx - cx) ** 2
        radius = rng.uniform(9, 20)
        trimap = np.where(r2 <= radius, 1, np.where(r2 <= radius + 8, 3, 2)).astype("uint8")
        img = rng.uniform(0, 120, (size, size, 3))
        img[trimap == 1] += [90, 60, 20]
        inputs.append(f"images/pet_{i:03d}.jpg")
        targets.append(f"annotations/trimaps/pet_{i:03d}.png")
        store[inputs[-1]], store[targets[-1]] = np.clip(img, 0, 255).round(), trimap
    return store, inputs, targets


def _keras_pets_model(img_size, num_classes, down=(8,), up=(8, 4), entry=8):
    """The tutorial's ``get_model``, its widths (32; 64, 128, 256; 256, 128, 64, 32) scaled down."""
    inputs = keras.Input(shape=img_size + (3,))

    # [First half of the network: downsampling inputs]
    # Entry block
    x = layers.Conv2D(entry, 3, strides=2, padding="same")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)

    previous_block_activation = x  # Set aside residual

    # Blocks 1, 2, 3 are identical apart from the feature depth.
    for filters in down:
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(filters, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(filters, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)

        # Project residual
        residual = layers.Conv2D(filters, 1, strides=2, padding="same")(previous_block_activation)
        x = layers.add([x, residual])  # Add back residual
        previous_block_activation = x  # Set aside next residual

    # [Second half of the network: upsampling inputs]
    for filters in up:
        x = layers.Activation("relu")(x)
        x = layers.Conv2DTranspose(filters, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.Activation("relu")(x)
        x = layers.Conv2DTranspose(filters, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.UpSampling2D(2)(x)

        # Project residual
        residual = layers.UpSampling2D(2)(previous_block_activation)
        residual = layers.Conv2D(filters, 1, padding="same")(residual)
        x = layers.add([x, residual])  # Add back residual
        previous_block_activation = x  # Set aside next residual

    # Add a per-pixel classification layer
    outputs = layers.Conv2D(num_classes, 3, activation="softmax", padding="same")(x)

    # Define the model
    model = keras.Model(inputs, outputs)
    return model


class _PetsUNet(torch.nn.Module):
    """The port, modules in Keras's construction order: NHWC batches in, NCHW inside, the per-pixel logits out
    channels-last ``(N, H, W, 3)`` as the ``(N, H, W, 1)`` masks. ``Conv2DTranspose(f, 3, padding="same")`` with
    stride 1 is ``ConvTranspose2d(padding=1)``; the strided ``"same"`` convolutions and pooling pad at the end
    (``_same_pad2d``, round 7)."""

    def __init__(self, num_classes, down=(8,), up=(8, 4), entry=8):
        super().__init__()
        self.entry = torch.nn.Conv2d(3, entry, 3, stride=2)
        self.entry_bn = tnn.BatchNorm2d(entry)
        self.down, self.up = torch.nn.ModuleList(), torch.nn.ModuleList()
        previous = entry
        for filters in down:
            self.down.append(torch.nn.ModuleDict(dict(
                sep1=SeparableConv2d(previous, filters), bn1=tnn.BatchNorm2d(filters),
                sep2=SeparableConv2d(filters, filters), bn2=tnn.BatchNorm2d(filters),
                residual=torch.nn.Conv2d(previous, filters, 1, stride=2))))
            previous = filters
        for filters in up:
            self.up.append(torch.nn.ModuleDict(dict(
                tconv1=torch.nn.ConvTranspose2d(previous, filters, 3, padding=1), bn1=tnn.BatchNorm2d(filters),
                tconv2=torch.nn.ConvTranspose2d(filters, filters, 3, padding=1), bn2=tnn.BatchNorm2d(filters),
                residual=torch.nn.Conv2d(previous, filters, 1))))
            previous = filters
        self.classify = torch.nn.Conv2d(previous, num_classes, 3, padding=1)

    def forward(self, x):
        x = x.movedim(-1, 1)
        x = torch.relu(self.entry_bn(self.entry(_same_pad2d(x, 3, 2))))
        previous = x
        for block in self.down:
            x = block["bn1"](block["sep1"](torch.relu(x)))
            x = block["bn2"](block["sep2"](torch.relu(x)))
            x = F.max_pool2d(_same_pad2d(x, 3, 2, value=float("-inf")), 3, stride=2)
            x = x + block["residual"](previous)
            previous = x
        for block in self.up:
            x = block["bn1"](block["tconv1"](torch.relu(x)))
            x = block["bn2"](block["tconv2"](torch.relu(x)))
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = x + block["residual"](F.interpolate(previous, scale_factor=2, mode="nearest"))
            previous = x
        return self.classify(x).movedim(1, -1)


def _run_pets(dt: str, tmp_path, epochs: int = 4, widths: Optional[dict] = None, native_conv: bool = False):
    """The tutorial's training part (4 epochs here); returns both histories, both predictions on ``val_gen`` (the
    last model's and the best checkpoint's), the initial and final weight figures. ``widths``: the model's
    ``down``/``up`` filters; ``native_conv``: the port also trains with torch's native CPU convolutions instead of
    oneDNN's (``torch.backends.mkldnn.flags(enabled=False)``), its history last."""
    widths = widths or {}
    store, input_img_paths, target_img_paths = _pets()
    img_size, batch_size = (16, 16), 8
    # Split our img paths into a training and a validation set (the tutorial's random.Random(1337) shuffle)
    random.Random(1337).shuffle(input_img_paths)
    random.Random(1337).shuffle(target_img_paths)
    val_samples = 16
    train_input_img_paths, train_target_img_paths = input_img_paths[:-val_samples], target_img_paths[:-val_samples]
    val_input_img_paths, val_target_img_paths = input_img_paths[-val_samples:], target_img_paths[-val_samples:]
    KerasPets, PortPets = _oxford_pets_class(keras.utils.PyDataset), _oxford_pets_class(object)
    with _precision(dt):
        keras.utils.set_random_seed(1337)
        model = _keras_pets_model(img_size, 3, **widths)
        net = keras_init_(_PetsUNet(3, **widths), seed=1337)
        init = _same_initial_weights(net, model, dt)
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
        callbacks = [keras.callbacks.ModelCheckpoint(str(tmp_path / "oxford_segmentation.keras"), save_best_only=True)]
        random.seed(5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PyDataset's "should call super().__init__(**kwargs)"
            train_gen = KerasPets(batch_size, img_size, train_input_img_paths, train_target_img_paths, store)
            val_gen = KerasPets(batch_size, img_size, val_input_img_paths, val_target_img_paths, store)
            kh = model.fit(train_gen, epochs=epochs, validation_data=val_gen, callbacks=callbacks, verbose=0).history
            k_preds = model.predict(val_gen, verbose=0)
            k_best = keras.models.load_model(str(tmp_path / "oxford_segmentation.keras")).predict(val_gen, verbose=0)
        random.seed(5)
        train_gen = PortPets(batch_size, img_size, train_input_img_paths, train_target_img_paths, store)
        val_gen = PortPets(batch_size, img_size, val_input_img_paths, val_target_img_paths, store)
        th = tfit.fit(net, train_gen, epochs=epochs, validation_data=val_gen, verbose=0, optimizer="rmsprop",
                      loss="sparse_categorical_crossentropy", output_activation="softmax",
                      callbacks=[tcb.ModelCheckpoint(str(tmp_path / "oxford_segmentation.pt"),
                                                     save_best_only=True)]).history
        t_preds = tfit.predict(net, val_gen, output_activation="softmax")
        t_best = tfit.predict(torch.load(tmp_path / "oxford_segmentation.pt", weights_only=False), val_gen,
                              output_activation="softmax")
        native = None
        if native_conv:
            net2 = keras_init_(_PetsUNet(3, **widths), seed=1337)
            random.seed(5)
            torch.backends.mkldnn.enabled = False  # (its flags() context warns about Intel GPUs' TF32)
            try:
                native = tfit.fit(net2, PortPets(batch_size, img_size, train_input_img_paths, train_target_img_paths,
                                                 store), epochs=epochs, validation_data=val_gen, verbose=0,
                                  optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                                  output_activation="softmax").history
                native = (native, tfit.predict(net2, val_gen, output_activation="softmax"))
            finally:
                torch.backends.mkldnn.enabled = True
    out = (kh, th, (k_preds, t_preds, k_best, t_best), init, _weights_apart(net, model.get_weights()))
    return out + (native,) if native_conv else out


def _print_pets(dt, kh, th, preds, init, weights):
    k_preds, t_preds, k_best, t_best = preds
    print(f"Oxford Pets U-Net from a Sequence, uint8 masks, {dt}: initial weights {init:.1e}")
    assert sorted(th) == sorted(kh)
    for k in kh:
        print(f"  {k}: Keras {np.round(kh[k], 6).tolist()} torch_impl {np.round(th[k], 6).tolist()} "
              f"max rel {_rel(th[k], kh[k]):.1e}")
    r, rb = _rel(t_preds, k_preds), _rel(t_best, k_best)
    kc, tc = _histogram(k_preds.argmax(-1), 3), _histogram(t_preds.argmax(-1), 3)
    print(f"  predict(val_gen) max rel {r:.1e}, of the best checkpoint {rb:.1e} (best val_loss at epoch "
          f"{int(np.argmin(kh['val_loss'])) + 1}); pixels per class Keras {kc} torch_impl {tc}; final weights "
          f"{weights:.1e}")
    return r, rb, kc, tc


@pytest.mark.slow  # heavy: run by make test-all
def test_oxford_pets_unet_sequence_like_keras(tmp_path):
    """``model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")``, ``callbacks =
    [keras.callbacks.ModelCheckpoint("oxford_segmentation.keras", save_best_only=True)]``, ``model.fit(train_gen,
    epochs=4, validation_data=val_gen, callbacks=callbacks)``, ``val_preds = model.predict(val_gen)``: uint8
    ``(N, H, W, 1)`` masks against the ``(N, H, W, 3)`` softmax (Keras takes the logits behind it), the Sequence's
    batch order shuffled with Python's ``random`` (``random.seed`` before ``fit`` on both sides), the best
    checkpoint (``.pt`` here: torch_impl saves torch's files). Float64; float32 in the next test."""
    kh, th, preds, init, weights = _run_pets("float64", tmp_path)
    r, rb, kc, tc = _print_pets("float64", kh, th, preds, init, weights)
    assert max(_rel(th[k], kh[k]) for k in kh) <= F64
    assert r <= 1e-10 and rb <= 1e-10 and kc == tc


@pytest.mark.slow
def test_oxford_pets_unet_float32_like_keras(tmp_path):
    # One epoch, not the tutorial's 4: the first step of epoch 2 parts the float32 runs on some CPUs, by the
    # convolutions' summation order (the next test). On an AMD EPYC: epoch 1 within 1.1e-7 (predict 1.9e-5, the
    # same classes), then val_loss 1.4e-4 at epoch 2 (predict 1.1e-2), 3.7e-4 at epoch 4 with 1 of 4096 pixels of
    # another class; on the CPU first measured all 4 epochs stayed within 1.1e-7.
    kh, th, preds, init, weights = _run_pets("float32", tmp_path, epochs=1)
    r, rb, kc, tc = _print_pets("float32", kh, th, preds, init, weights)
    assert max(_rel(th[k], kh[k]) for k in kh) <= 1e-5  # a few float32 ulps, not merely the 1e-3 standard
    assert r <= 1e-4 and rb <= 1e-4 and kc == tc


@pytest.mark.slow
def test_oxford_pets_wider_unet_float32_drift_is_torch_convolution_rounding(tmp_path):
    """A wider scaling of the same U-Net (down 8, 16; up 16, 8, 4) in float32 misses DESIGN.md's float32 standard
    with torch's default (oneDNN) convolutions: after an epoch within 1.1e-7, the first step of epoch 2 parts the
    runs; the final loss stays within 4.0e-4 but the epoch-2 ``val_loss`` is 5.1e-3 off and 7-13 of the 4096
    predicted pixels change class. Not torch_impl's doing: the same port trained on torch's native CPU
    convolutions (``torch.backends.mkldnn.enabled = False``; oneDNN's and TensorFlow's forward and input gradients
    are equal bit for bit, the kernel gradients of all three are summed in their own orders) lands within 2.8e-7
    of Keras every epoch with Keras's predicted classes, and 5.1e-3 from the oneDNN run. From the weights after
    epoch 1, the two torch paths' kernel gradients of the layers before the first BatchNormalizations differ by
    7-15% (the tutorial feeds raw 0-255 pixels: the sums cancel), and RMSprop's normalised step makes that a step
    of its own size: the float32 run is decided by the convolutions' summation order. (Measured on the CPU first
    used. On an AMD EPYC torch's two paths agree to 3.7e-7 and both land 5.1e-3 from Keras: TensorFlow's kernel
    gradients are summed in a third order there; the assertions take either case.)"""
    wide = {"down": (8, 16), "up": (16, 8, 4)}
    kh, th, preds, init, weights, (native, native_preds) = _run_pets("float32", tmp_path, widths=wide,
                                                                      native_conv=True)
    r, rb, kc, tc = _print_pets("float32", kh, th, preds, init, weights)
    first = max(_rel(th[k][0], kh[k][0]) for k in kh)
    final = max(_rel(th[k][-1], kh[k][-1]) for k in kh)
    native_keras, native_onednn = (max(_rel(native[k], ref[k]) for k in kh) for ref in (kh, th))
    nc = _histogram(native_preds.argmax(-1), 3)
    print(f"  oneDNN run: epoch 1 max rel {first:.1e}, final epoch {final:.1e}, every epoch "
          f"{max(_rel(th[k], kh[k]) for k in kh):.1e}; torch's native convolutions: to Keras {native_keras:.1e} "
          f"(predict {_rel(native_preds, preds[0]):.1e}, pixels per class {nc}), to the oneDNN run "
          f"{native_onednn:.1e}")
    assert first <= 1e-6 and final <= F32
    # Which two of the three runs coincide depends on the CPU's kernels: on the CPU first measured, the native run
    # is Keras's (2.8e-7) and 5.1e-3 from the oneDNN run; on an AMD EPYC, torch's two paths coincide (3.7e-7) and
    # both are 5.1e-3 from Keras. Either way the port on one summation order is another's run to the ulps and
    # parts from the third as far as the float32 run parts from Keras.
    assert min(native_keras, native_onednn) <= 1e-5 and max(native_keras, native_onednn) > 1e-3
    assert nc == (kc if native_keras <= 1e-5 else tc)
    early, late = _pets_gradient_orders(wide)
    print(f"  from the weights after epoch 1, the next batch's gradients, oneDNN against native convolutions: "
          f"entry and first block (before their BatchNormalizations) {early:.1e}, the other layers {late:.1e}")
    # where torch's two paths part (first CPU: early 7-15%), it is in the layers fed raw pixels; on an AMD EPYC
    # they sum alike (early 2.7e-6, late 2.9e-6)
    assert (early > 1e-2) == (native_onednn > 1e-3) and late < 1e-4


def _pets_gradient_orders(widths) -> tuple:
    """Train the port one epoch (float32, oneDNN), then take the next batch's gradient with torch's oneDNN and its
    native convolutions: the largest relative difference (of a weight's largest entry) in the entry block and the
    first down block, and in the rest (the conv biases before BatchNormalization, which hold rounding noise only,
    left out)."""
    store, input_img_paths, target_img_paths = _pets()
    random.Random(1337).shuffle(input_img_paths)
    random.Random(1337).shuffle(target_img_paths)
    PortPets = _oxford_pets_class(object)
    train = PortPets(8, (16, 16), input_img_paths[:-16], target_img_paths[:-16], store)
    with _precision("float32"):
        net = keras_init_(_PetsUNet(3, **widths), seed=1337)
        random.seed(5)
        tfit.fit(net, train, epochs=1, verbose=0, optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                 output_activation="softmax")
        x, y = train[2]
        grads = []
        for onednn in (True, False):
            torch.backends.mkldnn.enabled = onednn
            try:
                net.zero_grad()
                z = net(torch.as_tensor(x))
                losses.SparseCategoricalCrossentropy(from_logits=True)(torch.as_tensor(y.astype("int64")), z).backward()
            finally:
                torch.backends.mkldnn.enabled = True
            grads.append({n: p.grad.clone() for n, p in net.named_parameters() if not n.endswith("bias")})
    rel = {n: float((grads[0][n] - grads[1][n]).abs().max() / grads[1][n].abs().max()) for n in grads[0]}
    early = max(v for n, v in rel.items() if n.startswith(("entry", "down.0.sep1", "down.0.bn1")))
    late = max(v for n, v in rel.items() if n.startswith(("up.", "classify", "down.1")))
    return early, late


# --------------------------------------------------------------------------------------------------------------
# what the ports found: port notes, Keras behaviours, the fix
# --------------------------------------------------------------------------------------------------------------


def test_dropout_on_feature_maps_needs_keras_layout():
    """Keras's ``Dropout`` after a convolution block draws its mask over the ``(N, H, W, C)`` map; a port that
    applies ``tnn.Dropout`` to its ``(N, C, H, W)`` map draws the same numbers over another layout, so other units
    drop (script 1, ``_FlowersNet``): apply it to ``x.movedim(1, -1)`` (and move back if the map goes on), which
    gives Keras's masks bit for bit. The full script with the NCHW mask: ``test_flowers_with_nchw_dropout_mask``."""
    x = np.random.default_rng(0).normal(size=(4, 2, 2, 16)).astype("float32")  # NHWC, as Keras sees it
    k_out = np.asarray(layers.Dropout(0.2, seed=7)(x, training=True))
    xt = torch.as_tensor(x).permute(0, 3, 1, 2)  # the port's NCHW map
    keras_layout = tnn.Dropout(0.2, seed=7)(xt.movedim(1, -1)).numpy()
    torch_layout = tnn.Dropout(0.2, seed=7)(xt).movedim(1, -1).numpy()
    same_mask = np.mean((keras_layout == 0) == (k_out == 0))
    other_mask = np.mean((torch_layout == 0) == (k_out == 0))
    print(f"Dropout(0.2, seed=7) on a (4, 2, 2, 16) map: on x.movedim(1, -1) the outputs equal Keras's: "
          f"{np.array_equal(keras_layout, k_out)}; on the NCHW map {other_mask:.0%} of the mask entries agree "
          f"(dropped {int(np.sum(k_out == 0))} and {int(np.sum(torch_layout == 0))} of {k_out.size})")
    assert np.array_equal(keras_layout, k_out) and same_mask == 1.0
    assert other_mask < 0.9


@pytest.mark.slow
def test_flowers_with_nchw_dropout_mask():
    """Script 1 ported with the Dropout on the NCHW map (the augmentation, weights and seeds still Keras's): the
    history leaves the float32 standard in its first epoch (measured 5.5e-3 on the loss, accuracy 23%)."""
    kh, th, *_ = _run_flowers(keras_layout_dropout=False)
    r = {k: _rel(th[k], kh[k]) for k in kh}
    figures = ", ".join(f"{k} {v:.1e}" for k, v in r.items())
    print(f"flowers port with the Dropout mask drawn on NCHW: max rel {figures}")
    assert r["loss"] > F32


def _tiny_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(1, activation="sigmoid")])
    net = keras_init_(torch.nn.Linear(4, 1), seed=0)
    return model, net


def _batches(x, y, bs, forever=True):
    while True:
        for i in range(0, len(x), bs):
            yield x[i:i + bs], y[i:i + bs]
        if not forever:
            return


_X4 = np.random.default_rng(1).normal(size=(70, 4))
_Y4 = (_X4[:, :1] > 0).astype("float64")


def test_float_steps_per_epoch_refused_like_keras():
    """The Carvana kernel writes ``steps_per_epoch=np.ceil(float(len(ids_train_split)) / float(batch_size))``, a
    NumPy float (Keras 2's ``fit_generator`` took it). Keras 3.15.1 refuses it with ``TypeError`` ("'numpy.float64'
    object cannot be interpreted as an integer") when the epoch starts, and a float ``validation_steps`` at the
    first validation, after a whole epoch of training; torch_impl raises ``ValueError`` naming the argument before
    training. The ports (and a Keras 3 script) write ``int(np.ceil(...))``."""
    steps = np.ceil(float(70) / float(32))
    model, net = _tiny_model()
    model.compile("adam", "binary_crossentropy")
    errors = {}
    for what, kw in (("steps_per_epoch", {"steps_per_epoch": steps}),
                     ("validation_steps", {"steps_per_epoch": 3, "validation_data": _batches(_X4, _Y4, 32),
                                           "validation_steps": steps})):
        with pytest.raises(TypeError, match="cannot be interpreted as an integer") as k_err:
            model.fit(_batches(_X4, _Y4, 32), epochs=1, verbose=0, **kw)
        with pytest.raises(ValueError, match=f"`{what}` must be a positive integer") as t_err:
            tfit.fit(net, _batches(_X4, _Y4, 32), epochs=1, verbose=0, optimizer="adam", loss="binary_crossentropy",
                     output_activation="sigmoid", **kw)
        errors[what] = (str(k_err.value), str(t_err.value))
        print(f"{what}={steps!r}: Keras TypeError {errors[what][0]!r}; torch_impl ValueError {errors[what][1]!r}")
    assert int(model.optimizer.iterations) == 3  # Keras trained an epoch before refusing validation_steps


def test_metric_function_gets_the_generator_labels_uncast():
    """Keras casts array data to ``floatx`` and gives the loss its labels in the loss's dtype, but hands a metric
    function the labels of a generator (or PyDataset, DataLoader) as they come: float64 labels (``np.empty``,
    ``to_categorical``) against a float32 model make a ``K``-written metric's ``y_true * y_pred`` fail in
    TensorFlow (``TypeError``: "Input 'y' of 'Mul' Op has type float32 that does not match type float64"), where
    the same arrays passed as arrays train. torch_impl gives every metric floatx labels (torch would promote
    anyway): the port computes, with the figures of the arrays run. (Hence the float64 runs of script 4 yield
    float64 batches: its generators' float32 masks break Keras's float64 run.)"""
    _, f1_m, _, _ = _binary_field_functions(KK)
    _, t_f1, _, _ = _binary_field_functions(TK)
    model, net = _tiny_model()
    model.compile("adam", "binary_crossentropy", metrics=[f1_m])
    w0 = model.get_weights()
    with pytest.raises(TypeError, match="does not match type"):
        model.fit(_batches(_X4, _Y4, 32), steps_per_epoch=3, epochs=1, verbose=0)
    model.set_weights(w0)
    model.compile("adam", "binary_crossentropy", metrics=[f1_m])
    kh = model.fit(_X4, _Y4, batch_size=32, epochs=2, shuffle=False, verbose=0).history
    th = tfit.fit(net, _batches(_X4, _Y4, 32), steps_per_epoch=3, epochs=2, verbose=0, optimizer="adam",
                  loss="binary_crossentropy", metrics=[t_f1], output_activation="sigmoid").history
    print(f"float64 labels from a generator, float32 model, K-written f1_m: Keras TypeError; Keras given the arrays "
          f"{kh['f1_m']}, torch_impl given the generator {th['f1_m']}")
    assert max(_rel(th[k], kh[k]) for k in kh) <= 1e-6


def test_finite_generator_ran_out_step_counts_a_metric_function():
    """A finite generator without ``steps_per_epoch`` (read to its end in epoch 1): Keras's compiled step at which
    the data runs out still runs the updates that need no data, and a metric function's scalar adds its count of
    1 to the ``Mean`` (no value): the epoch's ``f1_m`` is the sum of its 3 batch figures over 4, 25% under the
    mean Keras logs when given the same batches as arrays (the loss and the accuracies, counted per sample, are
    unaffected). torch_impl reproduces it (its ran-out step advances the per-batch means as Keras's does)."""
    _, f1_m, _, _ = _binary_field_functions(KK)
    _, t_f1, _, _ = _binary_field_functions(TK)
    x, y = _X4.astype("float32"), _Y4.astype("float32")
    model, net = _tiny_model()
    model.compile("adam", "binary_crossentropy", metrics=[f1_m, "accuracy"])
    w0 = model.get_weights()
    kh = model.fit(_batches(x, y, 32, forever=False), epochs=1, verbose=0).history
    th = tfit.fit(net, _batches(x, y, 32, forever=False), epochs=1, verbose=0, optimizer="adam",
                  loss="binary_crossentropy", metrics=[t_f1, "accuracy"], output_activation="sigmoid").history
    model.set_weights(w0)
    model.compile("adam", "binary_crossentropy", metrics=[f1_m, "accuracy"])
    k_arrays = model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0).history
    print(f"f1_m over a finite generator of 3 batches: Keras {kh['f1_m'][0]:.6f} torch_impl {th['f1_m'][0]:.6f}; "
          f"Keras given the arrays {k_arrays['f1_m'][0]:.6f} (ratio {kh['f1_m'][0] / k_arrays['f1_m'][0]:.4f}); "
          f"loss {kh['loss'][0]:.6f} / {th['loss'][0]:.6f} / {k_arrays['loss'][0]:.6f}")
    assert max(_rel(th[k], kh[k]) for k in kh) <= 1e-6
    assert kh["f1_m"][0] == pytest.approx(0.75 * k_arrays["f1_m"][0], rel=1e-6)
    assert kh["loss"][0] == pytest.approx(k_arrays["loss"][0], rel=1e-6)


def test_metric_function_counts_once_per_batch():
    """A metric function that returns one number per batch (``f1_m``, ``dice_coeff``: ``K.sum`` over the batch)
    goes into Keras's ``Mean`` as a scalar, which counts 1, not the batch size: the epoch figure is the plain mean
    of the batch figures, a partial last batch weighing as much as a full one (scripts 4 and 5). Shown with a
    metric returning the batch size: 70 samples in batches of 32, 32, 6 log 23.33 (the batch-size-weighted mean
    would be 29.77), in Keras and torch_impl, for ``fit`` and ``evaluate``."""
    def batch_size(K):
        def batch_size(y_true, y_pred):
            return K.cast(K.shape(y_true)[0], K.floatx())
        return batch_size

    model, net = _tiny_model()
    model.compile("adam", "binary_crossentropy", metrics=[batch_size(KK)])
    kh = model.fit(_X4, _Y4, batch_size=32, epochs=1, shuffle=False, verbose=0).history
    k_eval = model.evaluate(_X4, _Y4, batch_size=32, verbose=0, return_dict=True)
    th = tfit.fit(net, _X4, _Y4, batch_size=32, epochs=1, shuffle=False, verbose=0, optimizer="adam",
                  loss="binary_crossentropy", metrics=[batch_size(TK)], output_activation="sigmoid").history
    t_eval = tfit.evaluate(net, _X4, _Y4, batch_size=32, loss="binary_crossentropy", metrics=[batch_size(TK)],
                           output_activation="sigmoid")
    weighted = (32 * 32 + 32 * 32 + 6 * 6) / 70
    print(f"a metric returning the batch size, batches 32/32/6: Keras fit {kh['batch_size'][0]:.4f} evaluate "
          f"{k_eval['batch_size']:.4f}; torch_impl {th['batch_size'][0]:.4f} / {t_eval['batch_size']:.4f} "
          f"(per sample it would be {weighted:.4f})")
    assert kh["batch_size"][0] == pytest.approx(70 / 3) == th["batch_size"][0]
    assert k_eval["batch_size"] == pytest.approx(70 / 3) == t_eval["batch_size"]


def test_weighted_metric_of_one_number_per_batch_raises_like_keras():
    """``weighted_metrics=[dice_coeff]`` with per-pixel (or per-sample) weights from the generator: Keras cannot
    broadcast the weights to the metric's scalar and raises ``ValueError`` ("Shape must be at most rank 0") when
    ``fit`` traces; torch_impl raised torch's ``RuntimeError`` from ``broadcast_to`` ("expand(...): the number of
    sizes provided (0) must be greater or equal to the number of dimensions"), not saying why. Fixed
    (``torch_impl/metrics.py``): a ``ValueError`` naming the shapes and the way out (``metrics``, not
    ``weighted_metrics``)."""
    k_dice, _ = _carvana_losses(KK, keras.losses.binary_crossentropy)
    t_dice, _ = _carvana_losses(TK, losses.binary_crossentropy)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 4)), (rng.uniform(size=(8, 1)) > 0.5).astype("float32")

    def weighted_batches():
        while True:
            yield x.astype("float32"), y, np.linspace(0.5, 2, 8).astype("float32")

    model, net = _tiny_model()
    model.compile("adam", "binary_crossentropy", weighted_metrics=[k_dice])
    with pytest.raises(ValueError, match="Shape must be at most rank 0") as k_err:
        model.fit(weighted_batches(), steps_per_epoch=2, verbose=0)
    with pytest.raises(ValueError, match="cannot be broadcast") as t_err:
        tfit.fit(net, weighted_batches(), steps_per_epoch=2, verbose=0, optimizer="adam", loss="binary_crossentropy",
                 weighted_metrics=[t_dice], output_activation="sigmoid")
    print(f"weighted_metrics=[dice_coeff] with sample weights: Keras ValueError {str(k_err.value)[:70]!r}...; "
          f"torch_impl ValueError {str(t_err.value)[:110]!r}...")
    # the same metric in `metrics` trains on both sides (script 4)


def test_model_construction_advances_python_random():
    """``keras.utils.set_random_seed(S)`` seeds Python's ``random``, and building the model draws one seed from it
    per unseeded random initializer, Dropout and augmentation layer (``keras_init_(seed=S)`` replays those draws on
    a ``random.Random(S)`` of its own and leaves the global stream alone). A PyDataset's batch order in ``fit``
    (``shuffle=True``) comes from that global stream: a port that seeds ``random.seed(S)`` and builds its model
    starts ``fit`` elsewhere in it. Scripts 3 and 7 seed Python's ``random`` right before ``fit`` (on both
    sides); a script seeding only at the top is replayed with ``random.seed(S)`` and one ``random.randint(1,
    10**9)`` per Keras draw (script 3's model: 3)."""
    keras.utils.set_random_seed(5)
    keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(8, 3, activation="relu"), layers.Flatten(),
                      layers.Dropout(0.3), layers.Dense(3, activation="softmax")])
    after_keras = random.random()
    random.seed(5)
    keras_init_(_SequenceNet(), seed=5)  # the port's weights; Python's global random untouched...
    untouched = random.random()
    random.seed(5)
    for _ in range(3):  # ...so replay the model's three draws: two kernels, the Dropout
        random.randint(1, int(1e9))
    replayed = random.random()
    print(f"Python's random after set_random_seed(5) and Keras's model: {after_keras:.6f}; after random.seed(5) and "
          f"the port: {untouched:.6f}; with the 3 draws replayed: {replayed:.6f}")
    assert replayed == after_keras != untouched


def test_validation_generator_warning_only_where_keras_varies():
    """Scripts 4 and 6 validate on an endless generator with ``validation_steps=2``. Keras restarts the validation
    input at each validation: its two signature batches are replayed, then the generator is continued, and
    ``tf.data``'s prefetch drops what it read ahead. Up to two steps every validation reads the replayed batches
    only, so the figures are fixed (Keras read 6 batches for 4 validations here, and used the first two each time);
    torch_impl warned about run-to-run variation anyway. With 3 steps Keras's figures do vary (its last
    ``val_loss`` measured 0.7576 and 0.7548 in two runs) and the warning stays. Fixed (``torch_impl/fit.py``): the
    warning only for ``validation_steps`` over two."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 4)).astype("float32"), (rng.uniform(size=(200, 1)) > 0.5).astype("float32")

    def counting(reads):
        i = 0
        while True:
            reads.append(i)
            yield x[(i % 20) * 10:(i % 20) * 10 + 10], y[(i % 20) * 10:(i % 20) * 10 + 10]
            i += 1

    def train():
        while True:
            yield x[:10], y[:10]

    for steps in (2, 3):
        model, net = _tiny_model()
        model.compile(keras.optimizers.SGD(0.0), "binary_crossentropy")  # fixed weights: val_loss shows the batches
        k_reads, t_reads = [], []
        kh = model.fit(train(), steps_per_epoch=1, epochs=4, validation_data=counting(k_reads),
                       validation_steps=steps, verbose=0).history["val_loss"]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            th = tfit.fit(net, train(), steps_per_epoch=1, epochs=4, validation_data=counting(t_reads),
                          validation_steps=steps, verbose=0, optimizer=optim.SGD(net.parameters(), learning_rate=0.0),
                          loss="binary_crossentropy", output_activation="sigmoid").history["val_loss"]
        warned = any("validation_steps" in str(w.message) for w in caught)
        print(f"validation_steps={steps}: val_loss Keras {np.round(kh, 7).tolist()} torch_impl "
              f"{np.round(th, 7).tolist()}; batches read Keras {len(k_reads)} torch_impl {len(t_reads)}; "
              f"torch_impl warns: {warned}")
        if steps == 2:
            assert not warned and _rel(th, kh) <= 1e-6 and len(set(np.round(kh, 7))) == 1
        else:
            assert warned and _rel(th[0], kh[0]) <= 1e-6

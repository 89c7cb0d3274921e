"""The Keras 3.15.1 figures and behaviours that ``test_tf_keras_reference_engine.py`` quotes, re-measured on real
Keras (TensorFlow backend) with the same inputs: ``RMSprop`` loss correctness (0.5836) and ``clipvalue=0.0``, the
Keras 3 errors (``y`` / ``sample_weight`` with a generator or a PyDataset, ``class_weight`` with ``sample_weight``,
a class missing from ``class_weight``, one loss with two ``loss_weights``), a PyDataset's ``on_epoch_end`` count and
``binary_accuracy``'s per-element shape.

Slow (TensorFlow start-up): ``.venv/bin/python -m pytest -q -s -p no:cacheprovider
parity_tests/test_tf_keras_reference_engine_keras.py``
"""

from __future__ import annotations

import numpy as np
import pytest

import parity_tests.test_tf_keras_reference_engine as ref  # imports torch before TensorFlow

pytestmark = [pytest.mark.keras, pytest.mark.slow]


@pytest.fixture(scope="module")
def keras(keras3):
    return keras3


def _ones_model(keras):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu", kernel_initializer="ones"),
                              keras.layers.Dense(2, activation="softmax", kernel_initializer="ones")])
    return model


@pytest.mark.parametrize("optimizer_kwargs", [{}, {"clipvalue": 999999}, {"clipnorm": 999999}])
def test_loss_correctness_keras3(keras, optimizer_kwargs):
    x, y = ref._correctness_data()
    model = _ones_model(keras)
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.RMSprop(learning_rate=0.001, **optimizer_kwargs))
    hist = model.fit(x, y, epochs=1, batch_size=10, verbose=0).history
    ref.almost("Keras 3 RMSprop loss correctness", f"Keras 3.15.1 {optimizer_kwargs}", hist["loss"][-1], 0.5836, 4)


def test_loss_correctness_with_iterator_keras3(keras):
    import tensorflow as tf
    x, y = ref._correctness_data()
    ds = tf.data.Dataset.from_tensor_slices((x.astype("float32"), y)).repeat(100).batch(10)
    model = _ones_model(keras)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.RMSprop(learning_rate=0.001))
    hist = model.fit(ds, epochs=1, steps_per_epoch=10, verbose=0).history
    ref.almost("Keras 3 RMSprop loss correctness", "Keras 3.15.1 with iterator", hist["loss"][-1], 0.5836, 4)


def test_loss_correctness_clipvalue_zero_keras3(keras):
    x, y = ref._correctness_data()
    model = _ones_model(keras)
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.RMSprop(learning_rate=0.001, clipvalue=0.0))
    hist = model.fit(x, y, epochs=3, batch_size=10, verbose=0).history
    print("Keras 3.15.1 clipvalue=0 losses", hist["loss"])
    for i in range(3):
        ref.almost("Keras 3 clipvalue=0", f"Keras 3.15.1 clipvalue=0 [{i}]", hist["loss"][i], ref.CLIP0_KERAS3[i], 4)
    assert abs(hist["loss"][-1] - 0.6931) > 0.1  # keras2: 0.6931 (no training)
    ours = ref.F.fit(ref._ones_model(), x, y, loss="sparse_categorical_crossentropy", epochs=3, batch_size=10,
                     optimizer=ref._rmsprop(clipvalue=0.0), verbose=0).history["loss"]
    d = float(np.max(np.abs(np.subtract(ours, hist["loss"]))))
    print(f"torch_impl vs Keras 3.15.1 clipvalue=0 losses: max |diff| = {d:.3g}")
    assert d < 1e-6, (ours, hist["loss"])


def _dense(keras, d_in=10, d_out=1):
    model = keras.Sequential([keras.Input((d_in,)), keras.layers.Dense(d_out)])
    model.compile(loss="mse", optimizer="sgd")
    return model


def test_pydataset_and_generator_errors_and_epochs_keras3(keras):
    class Seq(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.epochs = 0

        def __getitem__(self, idx):
            return np.ones([10, 10], np.float32), np.ones([10, 1], np.float32)

        def __len__(self):
            return 2

        def on_epoch_end(self):
            self.epochs += 1

    model = _dense(keras)
    seq = Seq()
    model.fit(seq, epochs=2, verbose=0)
    print("Keras 3.15.1 PyDataset.on_epoch_end calls after fit(epochs=2):", seq.epochs)
    assert seq.epochs == ref.SEQ_EPOCH_END_CALLS, seq.epochs

    def generator():
        while True:
            yield np.zeros((5, 10)), np.ones(5)

    for data, kind in ((Seq(), "PyDataset"), (generator(), "generator")):
        with pytest.raises(ValueError, match=f"When providing `x` as a {kind}, `y` should not be passed"):
            model.fit(data, y=np.ones([10, 1]), verbose=0)
        with pytest.raises(ValueError, match=f"When providing `x` as a {kind}, `sample_weights` should not be passed"):
            model.fit(data, sample_weight=np.ones([10, 1]), verbose=0)


def test_class_weight_errors_keras3(keras):
    model = _dense(keras, 1, 1)
    with pytest.raises(ValueError, match="You cannot `class_weight` and `sample_weight` at the same time"):
        model.fit(np.zeros((2, 1)), np.array([[1.0], [2.0]]), class_weight={c: c + 1 for c in range(5)},
                  sample_weight=np.array([1.0, 2.0]), verbose=0)
    # a class missing from class_weight weighs 1 (keras2: ValueError): a Dense at output 1 on zero inputs against zero
    # targets (class 0) has a per-sample MAE of 1, so the loss is class 0's weight
    const = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, kernel_initializer="zeros",
                                                                    bias_initializer="ones")])
    const.compile(loss="mae", optimizer=keras.optimizers.SGD(0.0))
    y = np.array([[0.0], [0.0], [0.0]])
    hist = const.fit(np.zeros((3, 1)), y, batch_size=3, shuffle=False, class_weight={1: 0.5, 3: 1.5},
                     verbose=0).history
    ref.almost("Keras 3 class weights", "Keras 3.15.1 class 0 missing: weight 1", hist["loss"][0], 1.0, places=6)
    hist = const.fit(np.zeros((3, 1)), y, batch_size=3, shuffle=False, class_weight={0: 0.5, 3: 1.5},
                     verbose=0).history
    ref.almost("Keras 3 class weights", "Keras 3.15.1 class 0 weighs 0.5", hist["loss"][0], 0.5, places=6)
    inp = keras.Input((1,))
    d = keras.layers.Dense(1)
    two = keras.Model(inp, [d(inp), d(inp)])
    two.compile(loss=["mse", "mse"], optimizer="sgd")
    with pytest.raises(ValueError, match="class_weight"):
        two.fit(np.ones((10, 1)), [np.ones((10, 1)), np.zeros((10, 1))], batch_size=2,
                class_weight={0: 0.5, 1: 1.0, 2: 1.5}, verbose=0)


def test_one_loss_two_loss_weights_keras3(keras):
    a, b = keras.Input((3,)), keras.Input((3,))
    dense = keras.layers.Dense(4)
    model = keras.Model([a, b], [dense(a), keras.layers.Dropout(0.5)(dense(b))])
    model.compile(keras.optimizers.RMSprop(0.001), "mse", loss_weights=[1.0, 0.5])
    with pytest.raises(ValueError) as err:
        model.fit([np.zeros((10, 3))] * 2, [np.zeros((10, 4))] * 2, batch_size=5, verbose=0)
    print("Keras 3.15.1:", err.value)


def test_zero_steps_per_epoch_keras3(keras):
    import tensorflow as tf
    model = _dense(keras, 1, 1)
    data = tf.data.Dataset.from_tensor_slices(([[0.0], [1], [2], [3]], [[0.0]] * 4)).batch(1)
    batches = []
    cb = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: batches.append(batch))
    hist = model.fit(data, epochs=2, steps_per_epoch=0, verbose=0, callbacks=[cb]).history
    print("Keras 3.15.1 steps_per_epoch=0 history:", hist, "batches:", batches)
    ref.check_zero_steps(hist)
    assert len(batches) == ref.ZERO_STEPS_BATCHES, batches


def test_binary_accuracy_shape_keras3(keras):
    rng = np.random.default_rng(0)
    y_a, y_b = rng.random((6, 7)).astype("float32"), rng.random((6, 7)).astype("float32")
    assert tuple(keras.metrics.binary_accuracy(y_a, y_b).shape) == (6, 7)  # keras2: (6,)
    assert tuple(keras.metrics.categorical_accuracy(y_a, y_b).shape) == (6,)

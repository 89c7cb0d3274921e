"""Keras's ``fit(shuffle=True)`` order, replayed: ``torch_impl.utils.keras_shuffle_order`` and ``fit(seed=...)``.

Keras 3.15.1 on TensorFlow 2.21 shuffles array inputs with ``tf.random.shuffle`` inside a ``tf.data`` function
seeded by the global seed alone (``keras.utils.set_random_seed``): the order is TensorFlow's ``RandomShuffle``
kernel with op seeds ``(seed, 0)``, and it is the same in every epoch. The orders are compared with the ones
Keras's own epoch iterator yields, and whole ``fit`` runs with ``shuffle=True`` on both sides.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras.src.backend.tensorflow.trainer import TFEpochIterator  # noqa: E402

from torch_impl.utils import keras_shuffle_order  # noqa: E402

pytestmark = pytest.mark.keras


def _keras_orders(n: int, seed: int, batch_size: int, epochs: int, shuffle=True) -> list[list[int]]:
    """The sample indices each epoch of Keras's fit iterator yields, in order."""
    keras.utils.set_random_seed(seed)
    it = TFEpochIterator(x=np.arange(n).astype("float64"), batch_size=batch_size, shuffle=shuffle,
                         distribute_strategy=tf.distribute.get_strategy())
    orders = []
    for _ in range(epochs):
        order = []
        for item in it.enumerate_epoch():
            for batch in item[-1]:
                order += np.asarray(batch[0] if isinstance(batch, tuple) else batch).astype(int).ravel().tolist()
        orders.append(order)
    return orders


CASES = [(2, 0), (3, 1), (10, 1), (10, 2), (7, 0), (33, 5), (100, 42), (257, 2**31 - 2), (1000, 2**31 - 1),
         (1001, 2**32 - 1), (4096, 123456789), (50000, 3)]


@pytest.mark.parametrize("n,seed", CASES)
def test_order_is_keras_fit_order(n, seed):
    keras_order = _keras_orders(n, seed, batch_size=max(1, n // 3), epochs=2)
    ours = keras_shuffle_order(n, seed).tolist()
    print(f"n={n} seed={seed}: first indices Keras {keras_order[0][:6]}, ours {ours[:6]}")
    assert keras_order[0] == ours
    assert keras_order[1] == keras_order[0]  # Keras 3.15.1: the same order in every epoch
    assert sorted(ours) == list(range(n))


BATCH_CASES = [(10, 1, 4), (20, 3, 5), (33, 5, 8), (100, 42, 32), (7, 0, 3), (64, 9, 16), (50, 2, 1), (97, 7, 96),
               (1000, 2**31 - 1, 33), (5000, 11, 2000)]


@pytest.mark.parametrize("n,seed,batch_size", BATCH_CASES)
def test_batch_order_is_keras_fit_order(n, seed, batch_size):
    """``fit(shuffle="batch")``: the batches in order, TensorFlow's shuffle inside each, one stream per epoch."""
    keras_order = _keras_orders(n, seed, batch_size, epochs=2, shuffle="batch")
    ours = keras_shuffle_order(n, seed, shuffle="batch", batch_size=batch_size).tolist()
    print(f"n={n} seed={seed} batch_size={batch_size}: second batch Keras {keras_order[0][batch_size:][:6]}, "
          f"ours {ours[batch_size:][:6]}")
    assert keras_order[0] == ours
    assert keras_order[1] == keras_order[0]  # the same in every epoch, as shuffle=True
    for start in range(0, n, batch_size):  # each batch holds its own slice of the samples
        assert sorted(ours[start:start + batch_size]) == list(range(start, min(n, start + batch_size)))
    if n >= 20 and batch_size > 4:
        assert ours != list(range(n))


def test_order_edge_cases():
    assert keras_shuffle_order(0, 1).tolist() == [] and keras_shuffle_order(1, 1).tolist() == [0]
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match="n must"):
            keras_shuffle_order(bad, 1)
    with pytest.raises(ValueError, match="seed"):
        keras_shuffle_order(5, 1.5)
    for bad in (None, 0, 2.0):
        with pytest.raises(ValueError, match="batch_size"):
            keras_shuffle_order(5, 1, shuffle="batch", batch_size=bad)
    with pytest.raises(ValueError, match="shuffle"):
        keras_shuffle_order(5, 1, shuffle="rows")


@pytest.mark.parametrize("validation_split", [pytest.param(0.0, marks=pytest.mark.slow), 0.25])
def test_fit_with_keras_shuffle_like_keras(validation_split):
    """The everyday script: ``keras.utils.set_random_seed(42)``, build, ``model.fit(x, y)`` with Keras's default
    ``shuffle=True``. Port: ``keras_init_(net, seed=42)`` and ``fit(..., seed=42)``. float64 histories within
    1e-12 every epoch, and a NumPy-shuffled run is not (the order matters)."""
    from parity_tests.test_field_scripts_round2 import _check_history, _precision, _rel
    from torch_impl import fit as tfit
    from torch_impl import optim
    from torch_impl.nn import keras_init_

    rng = np.random.default_rng(3)
    x = rng.normal(size=(100, 5))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int64") + (x[:, 2] > 1)
    with _precision("float64"):
        keras.utils.set_random_seed(42)
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        kh = model.fit(x, y, batch_size=16, epochs=4, validation_split=validation_split, verbose=0).history
        net = keras_init_(torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)), seed=42)
        start = {k: v.clone() for k, v in net.state_dict().items()}
        kw = dict(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  output_activation="softmax", batch_size=16, epochs=4, validation_split=validation_split, verbose=0)
        th = tfit.fit(net, x, y, seed=42, **kw).history
        net.load_state_dict(start)
        kw["optimizer"] = optim.get("adam", net.named_parameters())  # a fresh Adam (the name continues the first)
        other = tfit.fit(net, x, y, generator=42, **kw).history
    print(f"shuffle=True, validation_split={validation_split}: Keras loss {np.round(kh['loss'], 6).tolist()}, "
          f"fit(seed=42) {np.round(th['loss'], 6).tolist()} (max rel {_rel(th['loss'], kh['loss']):.1e}), "
          f"NumPy order {_rel(other['loss'], kh['loss']):.1e}")
    _check_history(th, kh, "float64")
    assert _rel(other["loss"], kh["loss"]) > 1e-6


def test_fit_with_keras_batch_shuffle_like_keras():
    """``model.fit(shuffle="batch")`` after ``keras.utils.set_random_seed(7)``, with a partial last batch and a
    seeded Dropout, whose mask rows go to whichever samples sit at those positions of the batch: so the order
    inside each batch shows. ``fit(shuffle="batch", seed=7)`` is Keras's history within the float64 standard;
    a NumPy within-batch shuffle is not, nor is a whole-set shuffle."""
    from parity_tests.test_field_scripts_round2 import _check_history, _precision, _rel
    from torch_impl import fit as tfit
    from torch_impl import nn as tnn
    from torch_impl.nn import keras_init_

    rng = np.random.default_rng(5)
    x = rng.normal(size=(90, 4))
    y = (x[:, 0] + x[:, 1] > 0).astype("float64")
    with _precision("float64"):
        keras.utils.set_random_seed(7)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="tanh"),
                                  keras.layers.Dropout(0.5, seed=3), keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy")
        kh = model.fit(x, y, batch_size=32, epochs=3, shuffle="batch", verbose=0).history
        runs = {}
        for name, extra in [("seed", dict(shuffle="batch", seed=7)), ("numpy", dict(shuffle="batch", generator=0)),
                            ("whole", dict(shuffle=True, generator=0))]:
            net = keras_init_(torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), tnn.Dropout(0.5, seed=3),
                                                  torch.nn.Linear(6, 1)), seed=7)
            runs[name] = tfit.fit(net, x, y, optimizer="adam", loss="binary_crossentropy", output_activation="sigmoid", batch_size=32,
                epochs=3, verbose=0, **extra).history
    figures = {k: _rel(v["loss"], kh["loss"]) for k, v in runs.items()}
    print(f'shuffle="batch": Keras loss {np.round(kh["loss"], 8).tolist()}; max rel: fit(seed=7) '
          f'{figures["seed"]:.1e}, NumPy within-batch {figures["numpy"]:.1e}, whole-set shuffle {figures["whole"]:.1e}')
    _check_history(runs["seed"], kh, "float64")
    assert figures["numpy"] > 1e-6 and figures["whole"] > 1e-6
    with pytest.raises(ValueError, match="shuffle"):
        tfit.fit(net, x, y, optimizer="adam", loss="mse", shuffle="batches", verbose=0)


def test_fit_seed_and_generator_are_exclusive():
    from torch_impl import fit as tfit

    net = torch.nn.Linear(2, 1)
    with pytest.raises(ValueError, match="not both"):
        tfit.fit(net, np.zeros((4, 2)), np.zeros(4), loss="mse", optimizer="sgd", seed=1, generator=1, verbose=0)

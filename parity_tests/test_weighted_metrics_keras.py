"""``torch_impl.fit``/``evaluate`` with ``weighted_metrics`` against ``keras.Model.fit``/``evaluate``.

Keras passes ``sample_weight`` (class weights included) to ``compile(weighted_metrics=...)`` only; its
``Mean`` averages each sample's values (pixels, timesteps) first, weights them, and divides by the summed
weights. A weighted metric whose name ``metrics`` already took is logged as ``weighted_<name>``. Keras's
plain ``metrics`` honour an ``Embedding(mask_zero=True)`` mask, which the port passes as ``sample_weight``
to ``weighted_metrics``. Histories compared key by key, every epoch: float64 within 1e-8 relative
(measured at the rounding level), float32 within 1e-3. Every test prints its figures.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
layers = keras.layers

from parity_tests.test_field_scripts_round2 import (  # noqa: E402
    _check_history, _dense, _keras_mask_zero_tagger_run, _keras_tagger, _precision, _rel, _Tagger, _tagging_data)
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, optim  # noqa: E402

pytestmark = pytest.mark.keras


def _data(n=96, d=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = np.argmax(x @ rng.normal(size=(d, classes)) + rng.normal(size=(n, classes)), -1)
    return x, y, rng.uniform(0.1, 3.0, size=n)


def _keras_mlp(d, units):
    return keras.Sequential([keras.Input((d,)), layers.Dense(8, activation="relu"), layers.Dense(units)])


def _torch_mlp(w):
    return torch.nn.Sequential(_dense(w[0], w[1]), torch.nn.ReLU(), _dense(w[2], w[3]))


def _both(dt, keras_fit_kwargs, torch_fit_kwargs, loss_k, loss_t, units=3, data=None, metrics=("accuracy",),
          weighted_metrics=("accuracy",), epochs=3):
    """Keras's and torch_impl's histories from the same weights; the losses are made (``loss_k()``,
    ``loss_t()``) under ``dt``: a Keras loss computes in the floatx of its construction."""
    x, y, sw = data if data is not None else _data()
    with _precision(dt):
        keras.utils.set_random_seed(0)
        model = _keras_mlp(x.shape[1], units)
        w = model.get_weights()
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss_k(), metrics=list(metrics),
                      weighted_metrics=list(weighted_metrics))
        kh = model.fit(x, y, batch_size=16, epochs=epochs, shuffle=False, verbose=0,
                       **keras_fit_kwargs(sw)).history
        net = _torch_mlp(w)
        th = tfit.fit(net, x, y, loss=loss_t(), optimizer=optim.SGD(net.parameters(), learning_rate=0.1),
                      batch_size=16, epochs=epochs, shuffle=False, verbose=0, metrics=list(metrics),
                      weighted_metrics=list(weighted_metrics), **torch_fit_kwargs(sw)).history
    return kh, th


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_sample_weight_and_the_weighted_name(dt):
    """``metrics=["accuracy"]`` and ``weighted_metrics=["accuracy"]``: Keras logs ``accuracy`` (unweighted) and
    ``weighted_accuracy``; with ``validation_split`` the split weights weigh the ``val_`` ones."""
    kw = lambda sw: {"sample_weight": sw, "validation_split": 0.25}  # noqa: E731
    kh, th = _both(dt, kw, kw, lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                   lambda: losses.SparseCategoricalCrossentropy(from_logits=True))
    print(f"sample_weight, {dt}: Keras keys {sorted(kh)}; torch_impl keys {sorted(th)}")
    assert sorted(kh) == sorted(th)
    _check_history(th, kh, dt)
    assert _rel(kh["weighted_accuracy"], kh["accuracy"]) > 1e-3  # the weights change the figure


def test_class_weight_weighs_only_the_weighted_metric():
    """``class_weight`` becomes the sample weight: ``weighted_metrics`` see it, ``metrics`` do not, and the
    validation data (no weights) gives the unweighted figure."""
    x, y, _ = _data(seed=1)
    cw = {0: 0.5, 1: 4.0, 2: 1.5}
    kw = lambda sw: {"class_weight": cw, "validation_data": (x[:24], y[:24])}  # noqa: E731
    kh, th = _both("float64", kw, kw, lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                   lambda: losses.SparseCategoricalCrossentropy(from_logits=True), data=(x, y, None),
                   metrics=("acc",), weighted_metrics=("acc",))
    print(f"class_weight {cw}: keys {sorted(kh)}")
    _check_history(th, kh, "float64")
    assert _rel(kh["weighted_acc"], kh["acc"]) > 1e-3 and kh["val_weighted_acc"] == kh["val_acc"]


def test_binary_and_categorical_weighted_only():
    """Only ``weighted_metrics`` (logged under the plain name): a one-unit sigmoid output with ``(N, 1)``
    weights, and one-hot labels with ``categorical_accuracy``."""
    x, y, sw = _data(seed=2)
    yb = (y == 1).astype("float64")
    kh, th = _both("float64", lambda s: {"sample_weight": s[:, None]}, lambda s: {"sample_weight": s[:, None]},
                   lambda: keras.losses.BinaryCrossentropy(from_logits=True),
                   lambda: losses.BinaryCrossentropy(from_logits=True),
                   units=1, data=(x, yb, sw), metrics=(), weighted_metrics=("binary_accuracy",))
    print(f"binary, (N, 1) weights: keys {sorted(kh)}")
    _check_history(th, kh, "float64")
    onehot = np.eye(3)[y]
    kh, th = _both("float64", lambda s: {"sample_weight": s}, lambda s: {"sample_weight": s},
                   lambda: keras.losses.CategoricalCrossentropy(from_logits=True),
                   lambda: losses.CategoricalCrossentropy(from_logits=True), data=(x, onehot, sw), metrics=(),
                   weighted_metrics=("categorical_accuracy", "accuracy"))
    print(f"categorical: keys {sorted(kh)}")
    _check_history(th, kh, "float64")


def test_per_timestep_weights_and_the_mask_zero_port():
    """A tagger: per-timestep ``(N, T)`` weights weigh each timestep's match (Keras averages the weighted
    matches per sequence, then divides by the summed per-sequence mean weights). And the port of
    ``Embedding(mask_zero=True)`` with ``metrics=["accuracy"]`` (masked by Keras): ``sample_weight=mask``,
    ``weighted_metrics=["accuracy"]``, ``mean_with_sample_weight`` loss: every key equal."""
    tokens, tags, mask = _tagging_data()
    rng = np.random.default_rng(4)
    step_w = mask * rng.uniform(0.5, 2.0, size=mask.shape)
    with _precision("float64"):
        keras.utils.set_random_seed(0)
        model = _keras_tagger()
        w = model.get_weights()
        model.compile(optimizer=keras.optimizers.SGD(0.5, momentum=0.9),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"], weighted_metrics=["accuracy"])
        kh = model.fit(tokens, tags, sample_weight=step_w, batch_size=16, epochs=3, validation_split=0.25,
                       shuffle=False, verbose=0).history
        net = _Tagger(w)
        th = tfit.fit(net, tokens, tags, sample_weight=step_w,
                      loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                      optimizer=optim.SGD(net.parameters(), learning_rate=0.5, momentum=0.9), batch_size=16,
                      epochs=3, validation_split=0.25, shuffle=False, verbose=0, metrics=["accuracy"],
                      weighted_metrics=["accuracy"]).history
        print("per-timestep weights:")
        _check_history(th, kh, "float64")

        w, kh = _keras_mask_zero_tagger_run(tokens, tags)
        net = _Tagger(w)
        th = tfit.fit(net, tokens, tags, sample_weight=mask,
                      loss=losses.SparseCategoricalCrossentropy(from_logits=True, reduction="mean_with_sample_weight"),
                      optimizer=optim.SGD(net.parameters(), learning_rate=0.5, momentum=0.9), batch_size=16,
                      epochs=3, validation_split=0.25, shuffle=False, verbose=0, metrics=(),
                      weighted_metrics=["accuracy"]).history
        print("mask_zero=True port:")
        _check_history(th, kh, "float64")


def test_evaluate_weighted_metrics_like_keras():
    x, y, sw = _data(seed=5)
    with _precision("float64"):
        keras.utils.set_random_seed(0)
        model = _keras_mlp(6, 3)
        w = model.get_weights()
        model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"],
                      weighted_metrics=["accuracy"])
        k = model.evaluate(x, y, sample_weight=sw, batch_size=16, verbose=0, return_dict=True)
        t = tfit.evaluate(_torch_mlp(w), x, y, sample_weight=sw, batch_size=16,
                          loss=losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"],
                          weighted_metrics=["accuracy"])
    print(f"evaluate: Keras {k}; torch_impl {t}")
    assert sorted(k) == sorted(t)
    for key in k:
        assert abs(t[key] - k[key]) <= 1e-12 * abs(k[key]), key


def test_repeated_names_as_keras_names_them():
    """``metrics=["accuracy", "accuracy"]``, ``weighted_metrics=["accuracy", "accuracy", "acc"]``: Keras's history
    keys (``accuracy_1``, ``weighted_accuracy``, ``weighted_accuracy_1``, ``acc``) and values."""
    kw = lambda sw: {"sample_weight": sw}  # noqa: E731
    kh, th = _both("float64", kw, kw, lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                   lambda: losses.SparseCategoricalCrossentropy(from_logits=True), epochs=1,
                   metrics=("accuracy", "accuracy"), weighted_metrics=("accuracy", "accuracy", "acc"))
    print(f"Keras keys {sorted(kh)}; torch_impl keys {sorted(th)}")
    assert sorted(kh) == sorted(th)
    _check_history(th, kh, "float64")


def test_weighted_metrics_bad_names_raise():
    x, y, _ = _data(n=8)
    net = torch.nn.Linear(6, 3)
    with pytest.raises(ValueError, match="Could not interpret metric identifier: acuracy"):
        tfit.fit(net, x, y, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                 optimizer=optim.SGD(net.parameters()), verbose=0, metrics=(), weighted_metrics=["acuracy"])
    with pytest.raises(ValueError, match="same shape"):  # AUC needs one-hot labels (Keras fails in TensorFlow)
        tfit.fit(net, x, y, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                 optimizer=optim.SGD(net.parameters()), verbose=0, metrics=(), weighted_metrics=["auc"])


def test_accuracy_of_nan_predictions_like_keras():
    """TensorFlow's argmax never picks a NaN (torch's does): a diverged model's accuracies, as Keras's
    metric functions compute them."""
    nan, inf = float("nan"), float("inf")
    pred = np.array([[0.1, nan, 0.3], [nan, nan, nan], [0.5, 0.2, nan], [nan, 0.1, -inf], [-inf, nan, -inf],
                     [1.0, 2.0, 0.0], [inf, nan, 3.0]])
    labels = np.array([2, 0, 0, 1, 0, 1, 0])
    k_sparse = np.asarray(keras.metrics.sparse_categorical_accuracy(labels, pred)).reshape(-1)
    k_cat = np.asarray(keras.metrics.categorical_accuracy(np.eye(3)[labels], pred)).reshape(-1)
    t_sparse = tfit.accuracy(torch.as_tensor(labels), torch.as_tensor(pred), "sparse").numpy()
    t_cat = tfit.accuracy(torch.as_tensor(np.eye(3)[labels]), torch.as_tensor(pred), "categorical").numpy()
    print(f"sparse: Keras {k_sparse.tolist()} torch_impl {t_sparse.tolist()}; categorical: Keras {k_cat.tolist()} "
          f"torch_impl {t_cat.tolist()}")
    naive = (torch.as_tensor(pred).argmax(-1).numpy() == labels).astype(float)
    print(f"torch's own argmax would give {naive.tolist()}")
    assert np.array_equal(k_sparse, t_sparse) and np.array_equal(k_cat, t_cat) and not np.array_equal(naive, k_sparse)

"""``torch_impl.fit`` against ``keras.Model.fit`` on the arguments a port copies verbatim: ``sample_weight`` with
``validation_split``, metric names, ``batch_size=None``, and Keras's dtype rule for the logits behind a softmax.

Both sides start from the same weights and see the batches in order (``shuffle=False``); each test prints the
figures it asserts.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

from keras_impl.models import build_model as keras_model  # noqa: E402
from keras_impl.models import floatx  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, optim  # noqa: E402
from torch_impl.nn import build_model, load_keras_weights  # noqa: E402

pytestmark = pytest.mark.keras


def _data(n=50, d=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * 2
    y = np.argmax(x[:, :classes] + rng.normal(size=(n, classes)), -1) if classes > 1 else (x[:, 0] > 0.3).astype(int)
    return x, y


def _rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def _pair(spec, dtype="float64", keras_dtype=None):
    km = keras_model(spec, dtype=keras_dtype or dtype)
    tm = build_model(spec, dtype=getattr(torch, keras_dtype or dtype))
    load_keras_weights(tm, km.get_weights())
    return km, tm


class _DefaultDtype:
    """``torch.set_default_dtype`` for the block (Keras's floatx on the torch side)."""

    def __init__(self, dtype: torch.dtype):
        self.dtype = dtype

    def __enter__(self):
        self.previous = torch.get_default_dtype()
        torch.set_default_dtype(self.dtype)

    def __exit__(self, *exc):
        torch.set_default_dtype(self.previous)


def test_sample_weight_with_validation_split_like_keras():
    """Keras splits ``sample_weight`` with x and y; the held-out weights weigh ``val_loss``."""
    x, y = _data()
    sw = np.linspace(0.2, 2.0, len(y))
    spec = {"input_dim": 4, "layers": [{"type": "dense", "units": 8, "activation": "relu"},
                                       {"type": "dense", "units": 3, "activation": "softmax"}]}
    with floatx("float64"), _DefaultDtype(torch.float64):
        keras.utils.set_random_seed(3)
        km, tm = _pair(spec)
        km.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
        kh = km.fit(x, y, sample_weight=sw, validation_split=0.2, batch_size=8, epochs=3, shuffle=False,
                    verbose=0).history
        th = tfit.fit(tm, x, y, loss="sparse_categorical_crossentropy", sample_weight=sw, validation_split=0.2,
                      optimizer=optim.Adam(tm.parameters(), learning_rate=0.01), batch_size=8, epochs=3,
                      shuffle=False, verbose=0, metrics=["accuracy"]).history
    for k in ("loss", "val_loss", "accuracy", "val_accuracy"):
        print(f"{k}: torch_impl {th[k]}, Keras {kh[k]}, max rel {_rel(th[k], kh[k]):.1e}")
        assert _rel(th[k], kh[k]) <= 1e-8, k
    with pytest.raises(ValueError, match="sample_weight has 40 entries for 50"):
        tfit.fit(build_model(spec), x, y, loss="sparse_categorical_crossentropy", sample_weight=sw[:40],
                 optimizer=optim.SGD(tm.parameters()), verbose=0, metrics=())


@pytest.mark.parametrize("units,labels,metrics", [
    (1, "binary", ["acc", "binary_accuracy", "ACC", "accuracy"]),
    (3, "sparse", ["sparse_categorical_accuracy", "acc"]),
    (3, "one_hot", ["categorical_accuracy", "Accuracy"]),
])
def test_metric_names_like_keras(units, labels, metrics):
    """History keys are the names given; the values are Keras's (unweighted) accuracies."""
    x, y = _data(classes=1 if units == 1 else 3)
    y_in = np.eye(3)[y] if labels == "one_hot" else y
    act = "sigmoid" if units == 1 else "softmax"
    loss = {"binary": "binary_crossentropy", "sparse": "sparse_categorical_crossentropy",
            "one_hot": "categorical_crossentropy"}[labels]
    spec = {"input_dim": 4, "layers": [{"type": "dense", "units": units, "activation": act}]}
    with floatx("float64"), _DefaultDtype(torch.float64):
        keras.utils.set_random_seed(1)
        km, tm = _pair(spec)
        km.compile(keras.optimizers.SGD(0.05), loss, metrics=metrics)
        kh = km.fit(x, y_in, batch_size=None, epochs=2, shuffle=False, verbose=0, validation_split=0.2,
                    class_weight={0: 1.0, 1: 3.0, 2: 0.5}).history
        th = tfit.fit(tm, x, y_in, loss=loss, metrics=metrics, optimizer=optim.SGD(tm.parameters(), learning_rate=0.05),
                      batch_size=None, epochs=2, shuffle=False, verbose=0, validation_split=0.2,
                      class_weight={0: 1.0, 1: 3.0, 2: 0.5}).history
    print(f"keys: torch_impl {sorted(th)}, Keras {sorted(kh)}")
    assert sorted(th) == sorted(kh)
    for k in kh:
        print(f"{k}: torch_impl {th[k]}, Keras {kh[k]}")
        assert _rel(th[k], kh[k]) <= 1e-8, k


def test_unknown_metric_names_raise():
    spec = {"input_dim": 4, "layers": [{"type": "dense", "units": 3, "activation": "softmax"}]}
    model = build_model(spec)
    x, y = _data()
    for bad in (["accurcy"], ["rmse"], [3]):
        with pytest.raises(ValueError, match="metrics"):
            tfit.fit(model, x, y, loss="sparse_categorical_crossentropy", metrics=bad,
                     optimizer=optim.SGD(model.parameters()), verbose=0)
    with pytest.raises(ValueError, match="batch_size"):
        tfit.fit(model, x, y, loss="sparse_categorical_crossentropy", batch_size=0,
                 optimizer=optim.SGD(model.parameters()), verbose=0, metrics=["accuracy"])
    assert tfit.evaluate(model, x, y, loss="sparse_categorical_crossentropy", metrics=())  # no metric: loss only


def test_float64_layers_under_float32_floatx_like_keras():
    """Keras uses the logits behind a softmax only when the loss computes in the output's dtype: float64
    layers under float32 floatx train on the clipped float32 probabilities. torch_impl.fit does the same with a
    float64 model under torch's float32 default dtype, and says so."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(96, 6)) * 40  # saturating: the clip decides
    y = np.eye(3)[rng.integers(0, 3, 96)]
    spec = {"input_dim": 6, "layers": [{"type": "dense", "units": 16, "activation": "relu"},
                                       {"type": "dense", "units": 3, "activation": "softmax"}]}
    keras.utils.set_random_seed(2)
    km, tm = _pair(spec, keras_dtype="float64")  # floatx stays float32 on both sides
    w0 = km.get_weights()
    km.compile(keras.optimizers.Adam(0.05), "categorical_crossentropy")
    kh = km.fit(x, y, batch_size=32, epochs=4, shuffle=False, verbose=0).history

    def run():
        model = build_model(spec, dtype=torch.float64)
        load_keras_weights(model, w0)
        return tfit.fit(model, x, y, loss=losses.CategoricalCrossentropy(), metrics=(),
                        optimizer=optim.Adam(model.parameters(), learning_rate=0.05), batch_size=32, epochs=4,
                        shuffle=False, verbose=0).history["loss"]

    with pytest.warns(UserWarning, match="set_default_dtype"):
        ours = run()
    with _DefaultDtype(torch.float64):  # the logits path, in float64: what Keras does under float64 floatx
        on_logits = run()
    print(f"loss: torch_impl {ours}, Keras {kh['loss']}, max rel {_rel(ours, kh['loss']):.1e}; "
          f"on the logits instead: {on_logits}, max rel {_rel(on_logits, kh['loss']):.1e}")
    assert _rel(ours, kh["loss"]) <= 1e-5  # float32 losses
    assert _rel(on_logits, kh["loss"]) > 1e-2


def test_activation_module_at_the_end_warns():
    """The usual hand port (nn.Softmax last, probabilities to the loss) trains differently from Keras on saturated
    outputs: fit says how to port it."""
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Softmax(-1))
    x, y = _data()
    with pytest.warns(UserWarning, match="output_activation='softmax'"):
        tfit.fit(model, x, y, loss=losses.SparseCategoricalCrossentropy(), optimizer=optim.SGD(model.parameters()),
                 verbose=0, metrics=())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tfit.fit(model, x, y, loss=losses.SparseCategoricalCrossentropy(), optimizer=optim.SGD(model.parameters()),
                 verbose=0, metrics=(), output_activation="linear")


def test_mixed_precision_output_rule_like_keras():
    """Keras's mixed precision: a bfloat16 softmax output is cast to the float32 loss and trains on its clipped
    probabilities; a float32 softmax layer (Keras's advice) keeps the logits. torch_impl: bfloat16 logits, or
    float32 logits (``z.float()``)."""
    x = np.array([[40.0, -40.0, 3.0], [1.0, 2.0, -30.0]], np.float32)
    y = np.array([[0, 1, 0], [0, 0, 1]], np.float32)
    kl = keras.losses.CategoricalCrossentropy()
    inp = keras.Input((3,))
    bf16_softmax = keras.Model(inp, keras.layers.Dense(3, activation="softmax", dtype="mixed_bfloat16",
                                                       kernel_initializer="identity")(inp))
    hidden = keras.layers.Dense(3, dtype="mixed_bfloat16", kernel_initializer="identity")(inp)
    f32_softmax = keras.Model(inp, keras.layers.Activation("softmax", dtype="float32")(hidden))
    k_bf16, k_f32 = float(kl(y, bf16_softmax(x))), float(kl(y, f32_softmax(x)))
    fn = tfit.compiled_loss(losses.CategoricalCrossentropy(), "softmax")
    z = torch.tensor(x).to(torch.bfloat16)
    t_bf16, t_f32 = float(fn(torch.tensor(y), z)), float(fn(torch.tensor(y), z.float()))
    print(f"bfloat16 softmax output: Keras {k_bf16}, torch_impl {t_bf16}; float32 softmax layer: Keras {k_f32}, "
          f"torch_impl {t_f32}")
    assert abs(t_bf16 - k_bf16) <= 1e-6 * k_bf16 and abs(t_f32 - k_f32) <= 1e-6 * k_f32
    assert abs(k_bf16 - k_f32) > 1.0  # the two rules give different losses here


@pytest.mark.parametrize("shuffle", [True, "batch"])
def test_shuffle_follows_set_random_seed_like_keras(shuffle):
    """A Keras script seeds once (``keras.utils.set_random_seed``) and calls ``fit`` without more: its shuffle order
    follows the global seed. The port calls ``torch_impl.keras_random.set_random_seed`` and ``fit`` without
    ``seed``/``generator``: Keras's order, every epoch and every ``fit`` call (without the seed the port's
    permutations are NumPy's: the history then differs)."""
    from torch_impl import _tf_random
    from torch_impl import keras_random as R

    x, y = _data(n=37, seed=5)
    spec = {"input_dim": 4, "layers": [{"type": "dense", "units": 6, "activation": "tanh"},
                                       {"type": "dense", "units": 3, "activation": "softmax"}]}
    kw = dict(validation_split=0.2, batch_size=5, epochs=2, shuffle=shuffle, verbose=0)
    saved = _tf_random.global_seed()
    try:
        with floatx("float64"), _DefaultDtype(torch.float64):
            keras.utils.set_random_seed(3)
            km, tm = _pair(spec)
            unseeded = build_model(spec, dtype=torch.float64)
            load_keras_weights(unseeded, km.get_weights())
            km.compile(keras.optimizers.SGD(0.2), "sparse_categorical_crossentropy", metrics=["accuracy"])
            kh = [km.fit(x, y, **kw).history for _ in range(2)]  # two fit calls: the same order again
            R.set_random_seed(3)
            th = [tfit.fit(tm, x, y, loss="sparse_categorical_crossentropy", optimizer=optim.SGD(tm.parameters(),
                           learning_rate=0.2), metrics=["accuracy"], **kw).history for _ in range(2)]
            _tf_random.set_global_seed(None)  # no global seed: NumPy permutations
            uh = tfit.fit(unseeded, x, y, loss="sparse_categorical_crossentropy", generator=1,
                          optimizer=optim.SGD(unseeded.parameters(), learning_rate=0.2), **kw).history
    finally:
        _tf_random.set_global_seed(saved)
    worst = max(_rel(t[k], h[k]) for t, h in zip(th, kh) for k in ("loss", "val_loss", "accuracy"))
    apart = _rel(uh["loss"], kh[0]["loss"])
    print(f"shuffle={shuffle!r}: two fits after set_random_seed, max rel {worst:.1e}; NumPy order {apart:.1e} apart")
    assert worst <= 1e-12
    if shuffle is True:  # ("batch" reorders inside each batch only: a batch's mean loss barely moves)
        assert apart > 1e-6

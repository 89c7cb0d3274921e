"""Keras masks on predictions (``set_keras_mask``) and the logits behind an activation, against Keras.

A Keras layer's output carries the padding mask of ``Embedding(mask_zero=True)`` (or ``Masking``) to the loss and
the metrics: ``Loss.__call__`` folds it into the sample weight (under ``sum_over_batch_size`` / ``mean`` the valid
entries weigh ``count / valid``), the mean metrics weigh their values by it (no rescale). In torch the model's
``forward`` marks its output with ``torch_impl.utils.set_keras_mask(z, mask)``; the losses, the metrics and
``torch_impl.fit`` read it as Keras does. The README's earlier recipe (``sample_weight=mask`` with
``reduction="mean_with_sample_weight"``) is exact only when the mask is the only weight
(``test_field_scripts_round16.py`` pins it 44% off with a sample weight too).

Also here: the crossentropy *classes* given a prediction that carries the logits behind its sigmoid/softmax
(a Keras activation's output; ``torch_impl.nn.Softmax``'s): Keras's classes wrap the functions, which use those
logits, so the classes do too (they ignored them before: 8.26 where Keras gives 20.20).

Measured (float64, max relative error of values, max absolute of gradients):

=====================================================  ===============================
losses x reductions x weights with a prediction mask   values 2.9e-16, grads 1.1e-16
mean metrics with a prediction mask (4 x 2 weights)    equal to 12 digits
crossentropy classes behind an activation (11 x 2)     values 4.3e-16, grads 5.6e-17
fit: Embedding(mask_zero) -> Dense(softmax), 3 epochs  every history key 2.8e-16
=====================================================  ===============================
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from parity_tests.test_field_scripts_round2 import _precision, _rel  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses as L  # noqa: E402
from torch_impl import metrics as M  # noqa: E402
from torch_impl.nn import load_keras_weights  # noqa: E402
from torch_impl.utils import get_keras_mask, set_keras_mask  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

_RNG = np.random.default_rng(7)
_N, _T, _C = 4, 5, 3
_MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [1, 1, 1, 1, 0]], bool)
_Z = _RNG.normal(size=(_N, _T, _C)) * 3
_YI = _RNG.integers(0, _C, (_N, _T))
_Y1H = np.eye(_C)[_YI]
_YB = _RNG.integers(0, 2, (_N, _T, _C)).astype(float)
_YR = _RNG.normal(size=(_N, _T, _C))
_SW = {"none": None, "per_step": _RNG.random((_N, _T)), "per_sample": _RNG.random((_N, 1))}


def _keras_masked(z, mask):
    t = tf.constant(z)
    t._keras_mask = tf.constant(mask)
    return t


_LOSSES = [
    ("SparseCategoricalCrossentropy", {"from_logits": True}, _YI),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 2}, _YI),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, _Y1H),
    ("BinaryCrossentropy", {"from_logits": True}, _YB),
    ("CategoricalFocalCrossentropy", {"from_logits": True}, _Y1H),
    ("MeanSquaredError", {}, _YR),
    ("Huber", {"delta": 0.5}, _YR),
]


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight", "none"])
@pytest.mark.parametrize("weights", list(_SW))
@pytest.mark.parametrize("name,kwargs,y", _LOSSES, ids=[f"{n}-{'-'.join(k)}" for n, k, _ in _LOSSES])
def test_loss_reads_the_prediction_mask(name, kwargs, y, weights, reduction):
    sw = _SW[weights]
    with _precision("float64"):
        zk = _keras_masked(_Z, _MASK)
        with tf.GradientTape() as tape:
            tape.watch(zk)
            kv = getattr(keras.losses, name)(reduction=reduction, **kwargs)(y, zk, sw)
        kg = tape.gradient(kv, zk).numpy()
        zt = torch.tensor(_Z, requires_grad=True)
        tv = getattr(L, name)(reduction=reduction, **kwargs)(torch.tensor(y), set_keras_mask(zt.view_as(zt),
                                                            torch.tensor(_MASK)), None if sw is None else
                                                            torch.tensor(sw))
        tv.sum().backward()
    kv = kv.numpy()
    err, gerr = _rel(tv.detach().numpy(), kv), float(np.abs(zt.grad.numpy() - kg).max())
    print(f"{name} {kwargs} {weights} {reduction}: Keras {np.ravel(kv)[:3]} ours {np.ravel(tv.detach())[:3]}; "
          f"value rel {err:.1e}, grad abs {gerr:.1e}")
    assert err <= 1e-12 and gerr <= 1e-10 * max(1.0, float(np.abs(kg).max()))


def test_mask_rescales_under_sum_over_batch_size():
    """The number itself: 11 valid steps of 20 weigh 20/11 each, so the mean runs over the valid steps."""
    values = L.MeanSquaredError(reduction="none")(torch.tensor(_YR), torch.tensor(_Z))
    masked = L.MeanSquaredError()(torch.tensor(_YR), set_keras_mask(torch.tensor(_Z), torch.tensor(_MASK)))
    expected = values[torch.tensor(_MASK)].mean()
    print(f"masked mean {float(masked):.6f}, mean over the valid steps {float(expected):.6f}")
    torch.testing.assert_close(masked, expected, rtol=1e-14, atol=0)


_METRICS = [("SparseCategoricalAccuracy", _YI), ("CategoricalAccuracy", _Y1H), ("MeanSquaredError", _YR),
            ("SparseCategoricalCrossentropy", _YI)]


@pytest.mark.parametrize("weights", ["none", "per_step"])
@pytest.mark.parametrize("name,y", _METRICS, ids=[m for m, _ in _METRICS])
def test_mean_metrics_read_the_prediction_mask(name, y, weights):
    sw = _SW[weights]
    p = np.exp(_Z) / np.exp(_Z).sum(-1, keepdims=True)
    with _precision("float64"):
        km = getattr(keras.metrics, name)()
        km.update_state(y, _keras_masked(p, _MASK), sw)
        km.update_state(y, _keras_masked(p[::-1].copy(), _MASK[::-1].copy()), sw)
        tm = getattr(M, name)()
        for pp, mm in ((p, _MASK), (p[::-1].copy(), _MASK[::-1].copy())):
            tm.update_state(torch.tensor(y), set_keras_mask(torch.tensor(pp), torch.tensor(mm)),
                            None if sw is None else torch.tensor(sw))
    k, t = float(km.result()), float(tm.result())
    print(f"{name} {weights}: Keras {k:.12f} ours {t:.12f}")
    assert abs(k - t) <= 1e-12 * max(1.0, abs(k))


def test_set_and_get_keras_mask():
    x = torch.zeros(2, 3)
    assert get_keras_mask(x) is None
    assert set_keras_mask(x, [[1, 0, 1], [0, 0, 1]]) is x
    assert get_keras_mask(x).dtype == torch.bool and get_keras_mask(x).tolist() == [[True, False, True],
                                                                                    [False, False, True]]
    set_keras_mask(x, None)
    assert get_keras_mask(x) is None


_BEHIND = [("CategoricalCrossentropy", {}, "softmax"), ("CategoricalCrossentropy", {"label_smoothing": 0.1}, "softmax"),
           ("SparseCategoricalCrossentropy", {}, "softmax"),
           ("SparseCategoricalCrossentropy", {"ignore_class": 1}, "softmax"),
           ("BinaryCrossentropy", {}, "sigmoid"), ("BinaryCrossentropy", {"label_smoothing": 0.2}, "sigmoid"),
           ("BinaryFocalCrossentropy", {}, "sigmoid"),
           ("BinaryFocalCrossentropy", {"apply_class_balancing": True}, "softmax"),
           ("CategoricalFocalCrossentropy", {}, "softmax"), ("CategoricalCrossentropy", {"from_logits": True}, "softmax"),
           ("SparseCategoricalCrossentropy", {"reduction": "sum"}, "softmax")]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name,kwargs,act", _BEHIND, ids=[f"{n}-{'-'.join(k)}-{a}" for n, k, a in _BEHIND])
def test_crossentropy_classes_use_the_logits_behind_an_activation(name, kwargs, act, weighted):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(5, 4)) * 20  # saturated: the clipped probability path would differ by far
    y = {"CategoricalCrossentropy": np.eye(4)[rng.integers(0, 4, 5)],
         "CategoricalFocalCrossentropy": np.eye(4)[rng.integers(0, 4, 5)],
         "SparseCategoricalCrossentropy": rng.integers(0, 4, 5)}.get(name, rng.integers(0, 2, (5, 4)).astype(float))
    sw = rng.random(5) if weighted else None
    with _precision("float64"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zk = tf.constant(z)
        with tf.GradientTape() as tape:
            tape.watch(zk)
            pk = keras.activations.softmax(zk) if act == "softmax" else keras.activations.sigmoid(zk)
            kl = getattr(keras.losses, name)(**kwargs)(y, pk, sw)
        kv, kg = float(kl), tape.gradient(kl, zk).numpy()
        zt = torch.tensor(z, requires_grad=True)
        pt = torch.softmax(zt, -1) if act == "softmax" else torch.sigmoid(zt)
        pt._keras_logits, pt._keras_activation = zt, act  # as a Keras activation (torch_impl.nn.Softmax) marks it
        tv = getattr(L, name)(**kwargs)(torch.tensor(y), pt, None if sw is None else torch.tensor(sw))
        tv.backward()
    err, gerr = abs(float(tv.detach()) - kv) / abs(kv), float(np.abs(zt.grad.numpy() - kg).max())
    print(f"{name} {kwargs} behind {act}, weighted={weighted}: Keras {kv:.10f} ours {float(tv):.10f}; "
          f"value rel {err:.1e}, grad abs {gerr:.1e}")
    assert err <= 1e-12 and gerr <= 1e-10


def _keras_tagger(seed: int):
    inp = keras.Input((_T,), dtype="int32")
    h = keras.layers.Embedding(10, 6, mask_zero=True)(inp)
    out = keras.layers.Dense(_C, activation="softmax")(h)  # Dense passes the mask on to the loss and metrics
    keras.utils.set_random_seed(seed)
    return keras.Model(inp, out)


class _TorchTagger(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding, self.dense = torch.nn.Embedding(10, 6, sparse=True), torch.nn.Linear(6, _C)  # Keras's row steps

    def forward(self, tokens):
        tokens = tokens.long()  # fit hands x over in floatx
        return set_keras_mask(self.dense(self.embedding(tokens)), tokens != 0)  # Keras's Embedding mask


@pytest.mark.parametrize("weighted", ["mask_only", "with_sample_weight"])
def test_fit_with_an_embedding_mask_like_keras(weighted):
    """keras.io's translation and tagging models: ``Embedding(mask_zero=True)`` feeding per-step softmax outputs,
    ``sparse_categorical_crossentropy``, ``metrics=["accuracy"]``, ``weighted_metrics=["accuracy"]``, and a
    per-step sample weight on top of the mask (where the earlier README recipe was 44% off)."""
    rng = np.random.default_rng(3)
    lengths = rng.integers(1, _T + 1, 64)
    x = np.where(np.arange(_T)[None] < lengths[:, None], rng.integers(1, 10, (64, _T)), 0).astype(np.int32)
    y = rng.integers(0, _C, (64, _T))
    sw = rng.random((64, _T)) if weighted == "with_sample_weight" else None
    with _precision("float64"):
        model = _keras_tagger(11)
        weights = [w.copy() for w in model.get_weights()]
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"], weighted_metrics=["accuracy"])
        kh = model.fit(x, y, sample_weight=sw, batch_size=16, epochs=3, shuffle=False, verbose=0).history
        net = _TorchTagger()
        load_keras_weights(net, weights)
        th = tfit.fit(net, x, y, sample_weight=sw, loss="sparse_categorical_crossentropy",
                      optimizer=tfit_adam(net), metrics=["accuracy"], weighted_metrics=["accuracy"],
                      output_activation="softmax", batch_size=16, epochs=3, shuffle=False, verbose=0).history
    worst = 0.0
    for key, values in kh.items():
        err = _rel(th[key], values)
        worst = max(worst, err)
        print(f"{weighted} {key}: Keras {np.round(values, 6).tolist()} ours {np.round(th[key], 6).tolist()} "
              f"rel {err:.1e}")
    assert worst <= 1e-8


def tfit_adam(net):
    from torch_impl import optim

    return optim.Adam(net.parameters(), learning_rate=0.05)

"""Blind audit 15 (helper h76): this session's new features, written from README.md, the public docstrings
(``help(...)``) and Keras 3.15.1's own source only (torch_impl/ and its tests unread), against Keras 3.15.1 on
TensorFlow 2.21 and torch 2.13 run in the same process.

1. RNNs reading the mask their input carries (README "Recurrent dropout" paragraph: "Without ``mask=`` the layer
   reads the mask its input carries (``set_keras_mask``, ``torch_impl.nn.Masking(mask_value)``, a previous RNN's
   output) and its sequence output carries the mask on"): ``Masking`` values and masks against
   ``keras.layers.Masking`` (mask_value 0, -1, 0.1; float32 and float64), a Masking -> LSTM -> GRU -> SimpleRNN ->
   ``GlobalAveragePooling1D`` chain (values, input gradients), an explicit ``mask=`` winning over the carried one,
   a masked per-step loss (and its ``fit``, slow), an Embedding(mask_zero) -> Bidirectional(GRU) -> LSTM -> Dense model (outputs,
   gradients of the embedding table and the Dense kernel) and its ``fit`` (slow).
2. Several-output ``fit`` (README "Several outputs"): a model returning a dict, ``loss`` a dict naming some of
   the outputs, ``y`` for them alone (one array, a list, a dict), no ``output_names``, with ``validation_split``,
   ``loss_weights`` and metrics; a shorter ``y`` list with ``sample_weight``: Keras's error type and whether
   ``on_train_begin`` ran first.
3. Per-class focal ``alpha`` conversions (README row "per-class focal ``alpha``"): Python floats, NumPy float64 /
   float32 scalars, mixed lists, arrays, tensors, scalars; dtypes and values of the function and the class.
4. ``torch_impl.keras_random.binomial`` against ``keras.random.binomial``: bit for bit.
5. The one-unit softmax warning (README row "one-unit ``softmax`` output"): ``keras_ops.softmax``,
   ``torch_impl.nn.Softmax``, ``activation("softmax")``, ``fit(output_activation="softmax")`` and ``predict``
   against Keras's warning (text, when it fires, any axis).

Measured (max |diff| over max |reference|; float64 unless said): Masking equal (values and masks, all 6 cases;
float64 ``Masking(0.1)`` masks no float64 0.1 step, in Keras too); the masked chain: outputs 3.6e-16, input
gradients 2.3e-16; explicit ``mask=`` 4.3e-16 (the carried mask instead: 0.66 to 2.0 off); masked per-step MSE
equal (float32 too); the mixed model: outputs 2.9e-16, gradients 3.8e-16 (float32 2.8e-7 / 2.0e-7); its 3-epoch
``fit`` (slow) within 1.5e-16; a Masking -> LSTM -> GRU -> per-step Dense ``fit`` with ``mae`` (slow, the mask read
from the output by the loss and the metric) within 2.4e-16 per epoch. Several outputs (slow: Keras's first ``fit`` traces for ~2 s): histories within
3.2e-16 of Keras's in every form (keys equal; Keras's metrics zip ``y`` with the outputs in order, so a metrics
dict for ``b`` with ``y`` for ``b`` alone logs nothing, in both); the error cases raise Keras's exception types
(``TypeError``; ``ValueError`` for a ``sample_weight`` list shorter than ``y``, before ``on_train_begin``;
``IndexError`` past the weights) at the same moment. Focal ``alpha``: every form's dtype as Keras's, float64
values within 1.5e-16, float32 1.0e-7. ``binomial``: 255 draws per dtype equal bit for bit (5 dtypes, seed
generators too). Softmax warning: the same text in the same cases on every path (``fit`` warns once per batch
with ``simplefilter("always")``, Keras once per trace; once each under Python's default filter).

Run: ``.venv/bin/python -m pytest -q -s -p no:cacheprovider parity_tests/test_blind_new_features11_keras.py``
(``-m "not slow"`` for the default subset).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from parity_tests.test_field_scripts_round2 import _precision  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import keras_ops, keras_random  # noqa: E402
from torch_impl import losses as L  # noqa: E402
from torch_impl import nn as knn  # noqa: E402
from torch_impl.utils import get_keras_mask, set_keras_mask  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

TOL64 = 5e-15
TOL32 = 2e-6


@pytest.fixture(autouse=True)
def _seeded():
    """Keras's unseeded initializers: the same weights (and printed figures) every run."""
    keras.utils.set_random_seed(0)
    yield


def _rel(a, b) -> float:
    """max |a - b| over max |b| (0 for equal arrays)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    if a.size == 0 or np.array_equal(a, b, equal_nan=True):
        return 0.0
    assert np.array_equal(np.isnan(a), np.isnan(b))
    a, b = np.nan_to_num(a), np.nan_to_num(b)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def _tol(dt) -> float:
    return TOL64 if str(dt).endswith("64") else TOL32


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


# ====================================================================================== 1. RNNs and carried masks


def _masked_x(dt, v, seed=0, shape=(3, 5, 4)):
    x = np.random.default_rng(seed).normal(size=shape).astype(dt)
    x[0, 1] = v
    x[1, 3] = v
    x[2, 0] = v
    x[0, 4] = v
    x[2, 2, 0] = v  # one feature only: not masked
    return x


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("v", [0.0, -1.0, 0.1])
def test_masking_vs_keras(dt, v):
    x = _masked_x(dt, v)
    km = keras.layers.Masking(mask_value=v, dtype=dt)
    ko, kmask = km(x).numpy(), km.compute_mask(x).numpy()
    to = knn.Masking(v)(torch.tensor(x))
    tmask = get_keras_mask(to)
    print(f"Masking({v}) {dt}: values {_rel(to.numpy(), ko):.1e}, masked steps Keras {int((~kmask).sum())}, "
          f"torch_impl {int((~tmask.numpy()).sum())}")
    assert to.dtype == getattr(torch, dt) and ko.dtype == np.dtype(dt)
    assert np.array_equal(to.numpy(), ko)
    assert np.array_equal(tmask.numpy(), kmask)
    if dt == "float64" and v == 0.1:  # the README's note: 0.1 compared as float32, so no float64 0.1 step masked
        assert kmask.all()


def _kvg(model, x, cot):
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        outs = model(xt)
        s = sum(tf.reduce_sum(o * tf.constant(c, o.dtype)) for o, c in zip(outs, cot))
    return [o.numpy() for o in outs], tape.gradient(s, xt).numpy()


def test_carried_mask_chain_float64():
    """Masking -> LSTM(seq) -> GRU(seq) -> SimpleRNN(seq) -> GlobalAveragePooling1D, no ``mask=`` anywhere."""
    dt, v, (N, T, F), H = "float64", -1.0, (3, 5, 4), 3
    x = _masked_x(dt, v)
    inp = keras.Input((T, F), dtype=dt)
    m = keras.layers.Masking(v, dtype=dt)(inp)
    a = keras.layers.LSTM(H, return_sequences=True, dtype=dt, seed=1)(m)
    b = keras.layers.GRU(H, return_sequences=True, dtype=dt, seed=2)(a)
    c = keras.layers.SimpleRNN(H, return_sequences=True, dtype=dt, seed=3)(b)
    p = keras.layers.GlobalAveragePooling1D(dtype=dt)(c)
    km = keras.Model(inp, [a, b, c, p])

    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.mask = knn.Masking(v)
            self.lstm = knn.LSTM(F, H, batch_first=True, dtype=torch.float64)
            self.gru = knn.GRU(H, H, batch_first=True, dtype=torch.float64)
            self.rnn = knn.SimpleRNN(H, H, batch_first=True, dtype=torch.float64)
            self.gap = knn.GlobalAveragePooling1D(data_format="channels_last")

        def forward(self, x):
            a, _ = self.lstm(self.mask(x))
            b, _ = self.gru(a)
            c, _ = self.rnn(b)
            return [a, b, c, self.gap(c)]

    tm = M()
    knn.load_keras_weights(tm, km.get_weights())
    r = np.random.default_rng(5)
    cot = [r.normal(size=s) for s in [(N, T, H)] * 3 + [(N, H)]]
    ko, kg = _kvg(km, x, cot)
    xt = torch.tensor(x, requires_grad=True)
    to = tm(xt)
    (tg,) = torch.autograd.grad(sum((o * torch.tensor(c)).sum() for o, c in zip(to, cot)), xt)
    kmask = (x != v).any(-1)
    for o in to[:3]:
        assert torch.equal(get_keras_mask(o), torch.tensor(kmask))
    ev = max(_rel(_np(t), k) for t, k in zip(to, ko))
    eg = _rel(tg.numpy(), kg)
    print(f"carried-mask chain float64: outputs {ev:.1e}, input gradients {eg:.1e}")
    assert ev <= TOL64 and eg <= TOL64
    # the carried mask is what makes the difference: unmasked the GRU's outputs move by O(1)
    unmasked = tm.gru(set_keras_mask(to[0].detach().clone(), None))[0]
    assert _rel(unmasked.detach().numpy(), ko[1]) > 1e-2


def test_explicit_mask_wins():
    dt, (N, T, F), H = "float64", (3, 5, 4), 3
    r = np.random.default_rng(2)
    x = r.normal(size=(N, T, F))
    carried = np.ones((N, T), bool)
    carried[:, 0] = False
    explicit = np.array([[1, 1, 0, 1, 0], [0, 1, 1, 1, 1], [1, 0, 1, 0, 1]], bool)
    for kcls, tcls in [(keras.layers.LSTM, knn.LSTM), (keras.layers.GRU, knn.GRU),
                       (keras.layers.SimpleRNN, knn.SimpleRNN)]:
        kl = kcls(H, return_sequences=True, dtype=dt, seed=4)
        ko = kl(x, mask=explicit).numpy()
        tl = tcls(F, H, batch_first=True, dtype=torch.float64)
        knn.load_keras_weights(tl, kl.get_weights())
        xt = set_keras_mask(torch.tensor(x), torch.tensor(carried))
        to, _ = tl(xt, mask=torch.tensor(explicit))
        e = _rel(to.detach().numpy(), ko)
        off = _rel(tl(xt)[0].detach().numpy(), ko)  # the carried mask alone: different
        print(f"{kcls.__name__}: explicit mask= {e:.1e} (carried mask instead: {off:.1e})")
        assert e <= TOL64 and off > 1e-2
        assert torch.equal(get_keras_mask(to), torch.tensor(explicit))


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_masked_per_step_loss(dt):
    """A sequence output carrying the mask (marked on the Dense output, as README's recipe) feeds the loss as
    Keras's model output's mask does."""
    (N, T, F), H, v = (3, 5, 4), 3, 0.0
    x = _masked_x(dt, v, seed=3)
    y = np.random.default_rng(4).normal(size=(N, T, 2)).astype(dt)
    with _precision(dt):
        klstm, kdense = keras.layers.LSTM(H, return_sequences=True, seed=1), keras.layers.Dense(2)
        kp = kdense(klstm(keras.layers.Masking(v)(x)))  # eager calls: the mask rides on the outputs
        kloss = keras.losses.MeanSquaredError()(y, kp).numpy()
        lstm, lin = knn.LSTM(F, H, batch_first=True), torch.nn.Linear(H, 2)
        knn.load_keras_weights(torch.nn.Sequential(lstm, lin), klstm.get_weights() + kdense.get_weights())
        a, _ = lstm(knn.Masking(v)(torch.tensor(x)))
        tp = set_keras_mask(lin(a), get_keras_mask(a))
        tloss = L.MeanSquaredError()(torch.tensor(y), tp).detach().numpy()
        unmasked = L.MeanSquaredError()(torch.tensor(y), lin(a)).item()
    e = _rel(tloss, kloss)
    print(f"masked per-step MSE {dt}: {float(tloss):.6f} vs Keras {float(kloss):.6f}, rel {e:.1e} "
          f"(unmasked {unmasked:.6f})")
    assert e <= _tol(dt) and abs(unmasked - float(kloss)) > 1e-3


@pytest.mark.slow
def test_masked_per_step_loss_fit():
    """``fit`` reads the mask the model's output carries: Masking -> LSTM(seq) -> GRU(seq) -> Dense per step."""
    (N, T, F), H, v = (16, 5, 4), 3, 0.0
    x = _masked_x("float64", v, seed=6, shape=(N, T, F))
    x[5:9, 2:] = v
    y = np.random.default_rng(7).normal(size=(N, T, 2))
    with _precision("float64"):
        km = keras.Sequential([keras.Input((T, F)), keras.layers.Masking(v), keras.layers.LSTM(H, return_sequences=True),
                               keras.layers.GRU(H, return_sequences=True), keras.layers.Dense(2)])
        km.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", metrics=["mae"], jit_compile=False)

        class M(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.mask, self.lstm, self.gru = knn.Masking(v), knn.LSTM(F, H, batch_first=True), knn.GRU(
                    H, H, batch_first=True)
                self.out = torch.nn.Linear(H, 2)

            def forward(self, x):
                b, _ = self.gru(self.lstm(self.mask(x))[0])
                return set_keras_mask(self.out(b), get_keras_mask(b))

        tm = M()
        knn.load_keras_weights(tm, km.get_weights())
        kh = km.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0, validation_split=0.25).history
        th = tfit.fit(tm, torch.tensor(x), torch.tensor(y), loss="mse", metrics=["mae"],
                      optimizer=torch.optim.SGD(tm.parameters(), lr=0.1), epochs=3, batch_size=4, shuffle=False,
                      verbose=0, validation_split=0.25).history
    assert sorted(kh) == sorted(th)
    e = max(_rel(th[k], kh[k]) for k in kh)
    print(f"masked per-step fit float64: histories {e:.1e}", kh["loss"])
    assert e <= 1e-14


def _mixed_keras(dt, V=12, E=4, H=3):
    tok = keras.Input((None,), dtype="int32")
    e = keras.layers.Embedding(V, E, mask_zero=True, dtype=dt,
                               embeddings_initializer=keras.initializers.RandomNormal(seed=1))(tok)
    b = keras.layers.Bidirectional(keras.layers.GRU(H, return_sequences=True, dtype=dt, seed=2), dtype=dt)(e)
    h = keras.layers.LSTM(H, dtype=dt, seed=3)(b)
    out = keras.layers.Dense(2, dtype=dt, kernel_initializer=keras.initializers.GlorotUniform(4))(h)
    return keras.Model(tok, out)


class _Mixed(torch.nn.Module):
    def __init__(self, dt, V=12, E=4, H=3):
        super().__init__()
        self.emb = torch.nn.Embedding(V, E, dtype=dt)
        self.gru = knn.GRU(E, H, batch_first=True, bidirectional=True, dtype=dt)
        self.lstm = knn.LSTM(2 * H, H, batch_first=True, dtype=dt)
        self.out = torch.nn.Linear(H, 2, dtype=dt)

    def forward(self, tokens):
        e = set_keras_mask(self.emb(tokens), tokens != 0)
        b, _ = self.gru(e)
        h, _ = self.lstm(b)
        return self.out(h[:, -1])


def _tokens(seed=0, N=6, T=7, V=12):
    r = np.random.default_rng(seed)
    t = r.integers(1, V, (N, T))
    for i in range(N):  # pre- and post-padding, a gap, one full row
        k = int(r.integers(0, 4))
        if i % 2:
            t[i, :k] = 0
        else:
            t[i, T - k:] = 0
    t[1, 4] = 0
    return t


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_mixed_model_outputs_and_gradients(dt):
    """Embedding(mask_zero=True) -> Bidirectional(GRU, return_sequences) -> LSTM -> Dense."""
    km = _mixed_keras(dt)
    tm = _Mixed(getattr(torch, dt))
    knn.load_keras_weights(tm, km.get_weights())
    tok = _tokens()
    cot = np.random.default_rng(9).normal(size=(tok.shape[0], 2)).astype(dt)
    with tf.GradientTape() as tape:
        ko = km(tok)
        s = tf.reduce_sum(ko * cot)
    emb_var, kern_var = km.layers[1].embeddings, km.layers[-1].kernel
    kge, gk = tape.gradient(s, [emb_var, kern_var])
    kge = tf.convert_to_tensor(kge).numpy()
    to = tm(torch.tensor(tok))
    (to * torch.tensor(cot)).sum().backward()
    ev = _rel(to.detach().numpy(), ko.numpy())
    eg = max(_rel(tm.emb.weight.grad.numpy(), kge), _rel(tm.out.weight.grad.numpy().T, gk.numpy()))
    print(f"mixed model {dt}: outputs {ev:.1e}, gradients (embedding table, Dense kernel) {eg:.1e}")
    assert ev <= _tol(dt) and eg <= _tol(dt)
    assert tm.emb.weight.grad[0].abs().max() == 0 and np.abs(kge[0]).max() == 0  # padding: no gradient


@pytest.mark.slow
def test_mixed_model_fit():
    dt = "float64"
    tok = _tokens(seed=1, N=16)
    y = np.random.default_rng(3).normal(size=(16, 2))
    with _precision(dt):
        km = _mixed_keras(dt)
        tm = _Mixed(torch.float64)
        knn.load_keras_weights(tm, km.get_weights())
        km.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", jit_compile=False)
        kh = km.fit(tok, y, epochs=3, batch_size=4, shuffle=False, verbose=0, validation_split=0.25).history
        th = tfit.fit(tm, torch.tensor(tok), torch.tensor(y), loss="mse",
                      optimizer=torch.optim.SGD(tm.parameters(), lr=0.1), epochs=3, batch_size=4, shuffle=False,
                      verbose=0, validation_split=0.25).history
    assert sorted(kh) == sorted(th)
    e = max(_rel(th[k], kh[k]) for k in kh)
    print(f"mixed model fit float64: histories {e:.1e}", kh["loss"])
    assert e <= 1e-14


# ============================================================================================ 2. several outputs


_OUTS = [("a", 2), ("b", 1), ("c", 3)]


def _kmodel_dict():
    inp = keras.Input((4,))
    h = keras.layers.Dense(5, activation="tanh", name="h", kernel_initializer=keras.initializers.GlorotUniform(1))(inp)
    return keras.Model(inp, {n: keras.layers.Dense(d, name=n, kernel_initializer=keras.initializers.GlorotUniform(
        i + 2))(h) for i, (n, d) in enumerate(_OUTS)})


class _TDict(torch.nn.Module):
    """Writes its dict in another order than the sorted keys."""

    def __init__(self, km):
        super().__init__()
        self.h = torch.nn.Linear(4, 5)
        self.o = torch.nn.ModuleDict({n: torch.nn.Linear(5, d) for n, d in _OUTS})
        with torch.no_grad():
            for lin, name in [(self.h, "h")] + [(self.o[n], n) for n, _ in _OUTS]:
                k, b = km.get_layer(name).get_weights()
                lin.weight.copy_(torch.tensor(k.T))
                lin.bias.copy_(torch.tensor(b))

    def forward(self, x):
        h = torch.tanh(self.h(x))
        return {n: self.o[n](h) for n in ["c", "a", "b"]}


def _data(N=16):
    r = np.random.default_rng(0)
    return r.normal(size=(N, 4)), {n: r.normal(size=(N, d)) for n, d in _OUTS}, r.uniform(0.5, 2, N)


def _both_fit(kw, y_k, y_t=None, epochs=2, which="both", **extra):
    x, _, _ = _data()
    kh = th = None
    with _precision("float64"):
        km = _kmodel_dict()
        tm = _TDict(km)
        km.compile(optimizer=keras.optimizers.SGD(0.1), jit_compile=False, **kw)
        if which != "torch":
            kh = km.fit(x, y_k, epochs=epochs, batch_size=4, shuffle=False, verbose=0, validation_split=0.25,
                        **extra).history
        if which != "keras":
            th = tfit.fit(tm, torch.tensor(x), y_k if y_t is None else y_t, optimizer=torch.optim.SGD(
                tm.parameters(), lr=0.1), epochs=epochs, batch_size=4, shuffle=False, verbose=0,
                validation_split=0.25, **kw, **extra).history
    return kh, th


def _check(kh, th, what):
    assert sorted(kh) == sorted(th), (sorted(kh), sorted(th))
    e = max(_rel(th[k], kh[k]) for k in kh)
    print(f"{what}: keys {sorted(kh)}, histories {e:.1e}")
    assert e <= 1e-14


@pytest.mark.slow  # Keras's first fit in a process costs ~2 s (tracing): over the default budget
@pytest.mark.parametrize("form", ["array", "list", "dict"])
def test_dict_model_loss_for_one_output(form):
    """``loss`` naming one output of three, ``y`` for it alone, ``loss_weights`` and metrics dicts."""
    _, ys, _ = _data()
    y = {"array": ys["b"], "list": [ys["b"]], "dict": {"b": ys["b"]}}[form]
    kw = dict(loss={"b": "mse"}, loss_weights={"b": 0.5}, metrics={"b": ["mae"]})
    if form == "dict":
        # Keras's metrics zip y with every output: a dict y without "a" raises KeyError('a') at the first step
        with pytest.raises(KeyError, match="'a'"):
            _both_fit(kw, y, which="keras")
        with pytest.raises(KeyError, match="'a'"):
            _both_fit(kw, y, which="torch")
        kw = {k: v for k, v in kw.items() if k != "metrics"}  # without metrics: trains
    kh, th = _both_fit(kw, y)
    _check(kh, th, f"loss dict naming 'b', y {form}")


@pytest.mark.slow
def test_dict_model_loss_for_two_outputs():
    _, ys, _ = _data()
    kw = dict(loss={"c": "mse", "b": "mse"}, loss_weights={"b": 0.5, "c": 2.0}, metrics={"b": ["mae"], "c": ["mse"]})
    kh, th = _both_fit(kw, [ys["b"], ys["c"]])
    _check(kh, th, "loss dict naming 'b' and 'c', y list")
    kh, th = _both_fit({k: v for k, v in kw.items() if k != "metrics"}, {"b": ys["b"], "c": ys["c"]})
    _check(kh, th, "loss dict naming 'b' and 'c', y dict, no metrics")


class _TList(_TDict):
    def forward(self, x):
        d = super().forward(x)
        return [d[n] for n, _ in _OUTS]


def _kmodel_list():
    km = _kmodel_dict()
    return keras.Model(km.inputs, [km.get_layer(n).output for n, _ in _OUTS])


def _error_and_begun(side, kind, kw, y, sw):
    """The exception ``fit`` raises and whether ``on_train_begin`` ran before it."""
    from torch_impl import callbacks as tcb

    x, _, _ = _data()
    begun = []
    with _precision("float64"):
        km = _kmodel_dict() if kind == "dict" else _kmodel_list()
        try:
            if side == "keras":
                km.compile(optimizer=keras.optimizers.SGD(0.1), jit_compile=False, **kw)
                km.fit(x, y, sample_weight=sw, epochs=1, batch_size=4, shuffle=False, verbose=0,
                       callbacks=[keras.callbacks.LambdaCallback(on_train_begin=lambda logs: begun.append(1))])
            else:
                tm = (_TDict if kind == "dict" else _TList)(km)
                tfit.fit(tm, torch.tensor(x), y, sample_weight=sw, optimizer=torch.optim.SGD(tm.parameters(), lr=0.1),
                         epochs=1, batch_size=4, shuffle=False, verbose=0, **kw,
                         callbacks=[tcb.LambdaCallback(on_train_begin=lambda logs: begun.append(1))])
        except Exception as e:  # noqa: BLE001 -- the type is what is compared
            return e, bool(begun)
    return None, bool(begun)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["dict", "list", "list, weights for y"])
def test_shorter_y_list_with_sample_weight_errors(kind):
    """README: a ``sample_weight`` list with such a list ``y`` raises Keras 3.15.1's error at the first step
    where it fails (``IndexError``, also a ``ValueError``, for a model returning a list; ``TypeError`` for a
    dict)."""
    _, ys, w = _data()
    if kind == "dict":
        kw, y, sw = dict(loss={"b": "mse", "c": "mse"}), [ys["b"], ys["c"]], [w, w]
    elif kind == "list":
        kw, y, sw = dict(loss=[None, "mse", "mse"]), [ys["b"], ys["c"]], [w]
    else:  # as many weights as y arrays: the third output's loss looks past them
        kw, y, sw = dict(loss=[None, "mse", "mse"]), [ys["b"], ys["c"]], [w, w]
        kind = "list"
    ke, kb = _error_and_begun("keras", kind, kw, y, sw)
    te, tb = _error_and_begun("torch", kind, kw, y, sw)
    print(f"{kind} model, shorter y list + sample_weight: Keras {type(ke).__mro__[:3]} (on_train_begin ran: {kb}),"
          f" torch_impl {type(te).__mro__[:3]} ({tb}): {te}")
    assert ke is not None and te is not None
    assert isinstance(te, type(ke)), (type(ke), type(te))
    assert kb == tb


# ===================================================================================== 3. per-class focal alpha


_A = [0.2, 0.3, 0.5]


def _alpha_forms():
    return {
        "python floats": (_A, _A),
        "python ints": ([1, 2, 3], [1, 2, 3]),
        "numpy float64 scalars": (list(np.array(_A)), list(np.array(_A))),
        "numpy float32 scalars": (list(np.array(_A, np.float32)), list(np.array(_A, np.float32))),
        "python float then numpy float64": ([0.2, np.float64(0.3), 0.5],) * 2,
        "numpy float64 then python floats": ([np.float64(0.2), 0.3, 0.5],) * 2,
        "numpy float32 then float64": ([np.float32(0.2), np.float64(0.3), 0.5],) * 2,
        "float64 array": (np.array(_A), np.array(_A)),
        "float32 array": (np.array(_A, np.float32), np.array(_A, np.float32)),
        "float64 tensor": (tf.constant(_A, tf.float64), torch.tensor(_A, dtype=torch.float64)),
        "float32 tensor": (tf.constant(_A, tf.float32), torch.tensor(_A, dtype=torch.float32)),
        "python scalar": (0.3, 0.3),
        "numpy float64 scalar": (np.float64(0.3), np.float64(0.3)),
        "numpy float32 scalar": (np.float32(0.3), np.float32(0.3)),
    }


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_focal_alpha_conversions(dt):
    r = np.random.default_rng(0)
    y = np.eye(3)[r.integers(0, 3, 6)].astype(dt)
    p = r.dirichlet([1, 1, 1], 6).astype(dt)
    worst = {}
    for what, (ka, ta) in _alpha_forms().items():
        kv = keras.losses.categorical_focal_crossentropy(y, p, alpha=ka).numpy()
        tv = L.categorical_focal_crossentropy(torch.tensor(y), torch.tensor(p), alpha=ta).detach().numpy()
        assert tv.dtype == kv.dtype, (what, dt, kv.dtype, tv.dtype)
        worst[what] = _rel(tv, kv)
        for cdt in ["float32", "float64"]:  # the class in its own dtype (Keras's default: floatx, float32)
            kc = keras.losses.CategoricalFocalCrossentropy(alpha=ka, reduction=None, dtype=cdt)(y, p).numpy()
            tc = L.CategoricalFocalCrossentropy(alpha=ta, reduction=None, dtype=getattr(torch, cdt))(
                torch.tensor(y), torch.tensor(p)).detach().numpy()
            assert tc.dtype == kc.dtype == np.dtype(cdt), (what, cdt, kc.dtype, tc.dtype)
            worst[what + " class " + cdt] = _rel(tc, kc)
            assert worst[what + " class " + cdt] <= _tol(cdt), (what, cdt, worst[what + " class " + cdt])
        assert worst[what] <= _tol(dt), (what, worst[what])  # computed in the inputs' dtype
    print(f"focal alpha forms on {dt} inputs: function max {max(v for k, v in worst.items() if 'class' not in k):.1e},"
          f" class float64 max {max(v for k, v in worst.items() if 'class float64' in k):.1e},"
          f" class float32 max {max(v for k, v in worst.items() if 'class float32' in k):.1e}")


# ============================================================================================= 4. binomial


@pytest.mark.parametrize("dt", ["float64"] + [pytest.param(d, marks=pytest.mark.slow)
                                              for d in [None, "float32", "float16", "bfloat16"]])
def test_binomial_bitwise(dt):
    cases = [((5,), 10, 0.3), ((4, 3), np.array([5.0, 20.0, 100.0]), np.array([0.1, 0.5, 0.9])),
             ((6,), np.array(7.0, np.float32), np.float32(0.4)), ((3, 2), "tensor", 0.6), ((40,), 1000, 0.02),
             ((5,), np.array([3, 4, 5, 6, 7]), 0.5), ((4,), 30, np.array(0.7))]
    n = 0
    for shape, c, p in cases:
        kc, tc = (tf.constant([2.0, 30.0]), torch.tensor([2.0, 30.0])) if isinstance(c, str) else (c, c)
        for seed in [0, 7, 123456]:
            k = keras.random.binomial(shape, kc, p, dtype=dt, seed=seed)
            t = keras_random.binomial(shape, tc, p, dtype=dt, seed=seed)
            assert str(t.dtype).split(".")[-1] == k.dtype.name, (k.dtype, t.dtype)
            assert np.array_equal(t.double().numpy(), tf.cast(k, tf.float64).numpy()), (shape, c, p, seed, dt)
            n += int(np.prod(shape))
    gk, gt = keras.random.SeedGenerator(11), keras_random.SeedGenerator(11)
    for _ in range(3):  # a seed generator: the stream advances alike
        k = keras.random.binomial((7,), 9, 0.35, dtype=dt, seed=gk)
        t = keras_random.binomial((7,), 9, 0.35, dtype=dt, seed=gt)
        assert np.array_equal(t.double().numpy(), tf.cast(k, tf.float64).numpy())
        n += 7
    print(f"binomial {dt}: {n} draws equal bit for bit")


# ============================================================================ 5. the one-unit softmax warning


def _softmax_warnings(fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        fn()
    return [str(m.message) for m in w if "softmax" in str(m.message)]


@pytest.mark.parametrize("shape", [(4, 1), (1, 3), (2, 1, 3)])
def test_one_unit_softmax_warning_text(shape):
    x = np.random.default_rng(0).normal(size=shape)
    for ax in [-1, 0, 1, -2]:
        kw = _softmax_warnings(lambda: keras.ops.softmax(x, axis=ax))
        assert _softmax_warnings(lambda: keras.layers.Softmax(axis=ax)(tf.constant(x))) == kw
        assert bool(kw) == (shape[ax] == 1)
        tw_ops = _softmax_warnings(lambda: keras_ops.softmax(torch.tensor(x), axis=ax))
        tw_layer = _softmax_warnings(lambda: knn.Softmax(axis=ax)(torch.tensor(x)))
        assert tw_ops == kw and tw_layer == kw, (shape, ax, kw, tw_ops, tw_layer)
        if ax == -1:
            ka = _softmax_warnings(lambda: keras.activations.get("softmax")(tf.constant(x)))
            ta = _softmax_warnings(lambda: knn.activation("softmax")(torch.tensor(x)))
            assert ta == ka == kw, (ka, ta)
    print(f"softmax warning {shape}: equal texts on every path, e.g. {kw[:1]}")


@pytest.mark.slow
def test_one_unit_softmax_fit_predict_warn():
    """``fit(output_activation="softmax")`` and ``predict`` with a ``Dense(1)`` output warn as Keras's fit and
    predict do (with ``mean_squared_error`` the gradient is 0 and no weight moves, in both)."""
    r = np.random.default_rng(1)
    x, y = r.normal(size=(8, 3)), r.integers(0, 2, (8, 1)).astype("float64")
    with _precision("float64"):
        km = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="softmax")])
        km.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", jit_compile=False)
        w0 = km.get_weights()
        kfit = _softmax_warnings(lambda: km.fit(x, y, epochs=1, batch_size=4, verbose=0))
        kpred = _softmax_warnings(lambda: km.predict(x, verbose=0))
        tm = torch.nn.Linear(3, 1)
        knn.load_keras_weights(tm, w0)
        t0 = [p.detach().clone() for p in tm.parameters()]
        tfitw = _softmax_warnings(lambda: tfit.fit(tm, torch.tensor(x), torch.tensor(y), loss="mse",
                                                   optimizer=torch.optim.SGD(tm.parameters(), lr=0.1), epochs=1,
                                                   batch_size=4, shuffle=False, verbose=0,
                                                   output_activation="softmax"))
        tpred = _softmax_warnings(lambda: tfit.predict(tm, torch.tensor(x), output_activation="softmax", verbose=0))
    print(f"fit warnings Keras {len(kfit)} torch_impl {len(tfitw)}; predict Keras {len(kpred)} torch_impl "
          f"{len(tpred)}: {kfit[:1]} / {tfitw[:1]}")
    assert bool(kfit) and bool(tfitw) and bool(kpred) and bool(tpred)
    assert set(m.split(" of a tensor")[0] for m in tfitw + tpred) == set(m.split(" of a tensor")[0]
                                                                          for m in kfit + kpred)
    assert all(np.array_equal(a, b) for a, b in zip(km.get_weights(), w0))
    assert all(torch.equal(a, b) for a, b in zip(tm.parameters(), t0))

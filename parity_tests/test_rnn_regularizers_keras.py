"""``regularizers.regularize`` and ``constraints.constrain`` on torch RNNs against Keras's ``LSTM``, ``GRU`` and
``SimpleRNN`` layer arguments (keras 3.15.1, TensorFlow).

Keras's ``kernel_*``, ``recurrent_*`` and ``bias_*`` regularizers and constraints sit on the cell's ``kernel``
``(in, gates units)``, ``recurrent_kernel`` ``(units, gates units)`` and bias; torch's are ``weight_ih_l{k}``,
``weight_hh_l{k}`` and Keras's one bias ``bias_ih + bias_hh`` (a GRU's ``reset_after=True`` bias: the ``(2, 3
units)`` variable ``bias_ih`` over ``bias_hh``). Weights move with ``load_keras_weights``; compared: ``model.losses``
(term by term and their sum), the projected weights, and ``fit`` histories.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402

from parity_tests.test_field_scripts_round2 import _precision, _rel  # noqa: E402
from torch_impl import constraints as C  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl import regularizers as R  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl.nn import keras_weights, load_keras_weights  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

T, F, H = 5, 3, 4


class _Last(torch.nn.Module):
    """Keras's ``return_sequences=False`` output of a torch RNN: the last layer's final state (both directions,
    forward first, as ``Bidirectional(merge_mode="concat")``)."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        _, h = self.rnn(x)
        h = h[0] if isinstance(h, tuple) else h
        return torch.cat([h[-2], h[-1]], -1) if self.rnn.bidirectional else h[-1]


def _keras_layer(kind: str, **kw):
    if kind == "lstm":
        return layers.LSTM(H, **kw)
    if kind == "gru":
        return layers.GRU(H, **kw)
    if kind == "gru_reset_before":
        return layers.GRU(H, reset_after=False, **kw)
    return layers.SimpleRNN(H, **kw)


def _torch_rnn(kind: str, num_layers: int = 1, bidirectional: bool = False):
    kw = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=True)
    if kind == "lstm":
        return torch.nn.LSTM(F, H, **kw)
    if kind == "gru":
        return torch.nn.GRU(F, H, **kw)
    if kind == "gru_reset_before":
        return tnn.GRU(F, H, reset_after=False, **kw)
    return tnn.SimpleRNN(F, H, **kw)  # torch_impl's nn.RNN subclass


def _keras_stack(kind: str, num_layers: int, bidirectional: bool, **kw):
    """``num_layers`` Keras layers (``Bidirectional`` ones), each with the arguments ``kw``; the last one's output
    is its final state."""
    seq = [keras.Input((T, F))]
    for i in range(num_layers):
        layer = _keras_layer(kind, return_sequences=i < num_layers - 1, **kw)
        seq.append(layers.Bidirectional(layer) if bidirectional else layer)
    return keras.Sequential(seq)


def _randomize(km, rng):
    """Weights away from Keras's initial ones (zero biases): every penalty and projection has work to do."""
    km.set_weights([rng.normal(size=w.shape) * 0.6 for w in km.get_weights()])


CASES = [("lstm", 1, False), ("gru", 1, False), ("gru_reset_before", 1, False), ("simple_rnn", 1, False),
         ("lstm", 2, True), ("gru", 2, True)]
IDS = [f"{k}-{n}layers{'-bidirectional' if b else ''}" for k, n, b in CASES]


@pytest.mark.parametrize("kind,num_layers,bidirectional", CASES, ids=IDS)
def test_rnn_penalties_like_keras_losses(kind, num_layers, bidirectional):
    """``model.losses`` of a Keras RNN stack with kernel, recurrent, bias (and, one direction, activity)
    regularizers against ``regularization_losses`` of the torch RNN (every layer and direction regularized),
    float64: term by term, in Keras's order, and the sum."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(6, T, F))
    activity = not bidirectional  # Bidirectional's copies would each add one
    # Keras 3.15.1's SimpleRNN takes activity_regularizer and drops it (simple_rnn.py:307, not passed on at 341):
    # no activity penalty, so the port has none
    t_activity = activity and kind != "simple_rnn"
    with _precision("float64"):
        keras.utils.set_random_seed(3)
        km = _keras_stack(kind, num_layers, bidirectional, kernel_regularizer=keras.regularizers.L2(0.003),
                          recurrent_regularizer=keras.regularizers.L1(0.01),
                          bias_regularizer=keras.regularizers.L1L2(0.02, 0.05),
                          **({"activity_regularizer": keras.regularizers.L2(0.01)} if activity else {}))
        _randomize(km, rng)
        k_out = km(x).numpy()
        k_losses = [float(v) for v in km.losses]
        rnn = _torch_rnn(kind, num_layers, bidirectional)
        tm = _Last(rnn)
        load_keras_weights(tm, km.get_weights())
        R.regularize(rnn, kernel_regularizer=R.L2(0.003), recurrent_regularizer="l1",
                     bias_regularizer=R.L1L2(0.02, 0.05))
        if t_activity:
            R.regularize(tm, activity_regularizer=R.L2(0.01))
        with torch.no_grad():
            t_out = tm(torch.as_tensor(x)).numpy()
        t_losses = [float(v.detach()) for v in R.regularization_losses(tm)]
    n_weights = num_layers * (2 if bidirectional else 1) * 3
    out_err = float(np.max(np.abs(t_out - k_out)))
    err = max(abs(a - b) for a, b in zip(t_losses, k_losses))
    sum_err = abs(sum(t_losses) - sum(k_losses))
    print(f"\n  {kind} x{num_layers}{' bidirectional' if bidirectional else ''}: {len(k_losses)} Keras losses, "
          f"sum {sum(k_losses):.12g}; outputs max abs diff {out_err:.1e}; per term max abs diff {err:.1e}, "
          f"sum {sum_err:.1e}")
    assert len(t_losses) == len(k_losses) == n_weights + t_activity
    assert out_err <= 1e-14
    assert err <= 1e-15 * max(1.0, max(k_losses)) and sum_err <= 1e-14


def test_orthogonal_regularizer_reads_keras_layout():
    """``OrthogonalRegularizer`` is layout-sensitive: Keras's GRU kernel ``(in, 3 units)`` (rows) and recurrent
    kernel ``(units, 3 units)`` (columns) against torch's ``weight_ih``/``weight_hh`` read in that layout, float32
    (Keras 3.15.1's OrthogonalRegularizer fails on float64); the torch layout read as is is far off."""
    with _precision("float32"):
        keras.utils.set_random_seed(5)
        km = keras.Sequential([keras.Input((T, F)), layers.GRU(
            H, kernel_regularizer=keras.regularizers.OrthogonalRegularizer(0.3),
            recurrent_regularizer=keras.regularizers.OrthogonalRegularizer(0.2, mode="columns"))])
        k_losses = [float(v) for v in km.losses]
        gru = torch.nn.GRU(F, H, batch_first=True)
        load_keras_weights(gru, km.get_weights())
        R.regularize(gru, kernel_regularizer=R.OrthogonalRegularizer(0.3),
                     recurrent_regularizer=R.OrthogonalRegularizer(0.2, mode="columns"))
        t_losses = [float(v.detach()) for v in R.regularization_losses(gru)]
        as_is = float(R.OrthogonalRegularizer(0.3)(gru.weight_ih_l0.detach()))
    r = _rel(t_losses, k_losses)
    print(f"\n  Keras {k_losses} torch_impl {t_losses} max rel {r:.1e}; torch layout as is {as_is:.6g}")
    assert len(t_losses) == 2 and r <= 1e-5 and _rel(as_is, k_losses[0]) > 1e-2


CONSTRAINED = {
    "lstm": (keras.constraints.MaxNorm(0.7), keras.constraints.UnitNorm(axis=1), keras.constraints.NonNeg(),
             C.MaxNorm(0.7), C.UnitNorm(axis=1), C.NonNeg()),
    # the (2, 3 units) bias as one variable: per-column norms over bias_ih and bias_hh together
    "gru": (keras.constraints.NonNeg(), keras.constraints.MaxNorm(1.1, axis=1), keras.constraints.MaxNorm(0.5),
            C.NonNeg(), C.MaxNorm(1.1, axis=1), C.MaxNorm(0.5)),
    "gru_reset_before": (keras.constraints.UnitNorm(), keras.constraints.MaxNorm(0.8),
                         keras.constraints.UnitNorm(), C.UnitNorm(), C.MaxNorm(0.8), C.UnitNorm()),
    "simple_rnn": (keras.constraints.MaxNorm(0.6), keras.constraints.NonNeg(), keras.constraints.MaxNorm(0.5),
                   C.MaxNorm(0.6), C.NonNeg(), C.MaxNorm(0.5)),
}


@pytest.mark.parametrize("kind,num_layers,bidirectional", CASES, ids=IDS)
def test_rnn_constraints_like_keras(kind, num_layers, bidirectional):
    """Each constrained Keras variable projected by Keras (``v.assign(v.constraint(v))``, what its optimizer does
    after an update) against ``apply_constraints`` on the torch RNN, float64: every weight, Keras layout."""
    rng = np.random.default_rng(9)
    kc, rc, bc, tkc, trc, tbc = CONSTRAINED[kind]
    with _precision("float64"):
        keras.utils.set_random_seed(4)
        km = _keras_stack(kind, num_layers, bidirectional, kernel_constraint=kc, recurrent_constraint=rc,
                          bias_constraint=bc)
        _randomize(km, rng)
        rnn = _torch_rnn(kind, num_layers, bidirectional)
        load_keras_weights(rnn, km.get_weights())
        C.constrain(rnn, kernel_constraint=tkc, recurrent_constraint=trc, bias_constraint=tbc)
        before = km.get_weights()
        constrained = [v for v in km.weights if v.constraint is not None]
        for v in constrained:
            v.assign(v.constraint(v))
        C.apply_constraints(rnn.parameters())
    kw, tw = km.get_weights(), keras_weights(rnn)
    err = max(float(np.max(np.abs(a - b))) for a, b in zip(tw, kw))
    moved = min(float(np.max(np.abs(a - b))) for a, b in zip(kw, before))
    print(f"\n  {kind} x{num_layers}{' bidirectional' if bidirectional else ''}: {len(constrained)} constrained "
          f"variables; projected weights max abs diff {err:.1e} (each moved by at least {moved:.2g})")
    assert len(constrained) == len(kw) == len(tw) and moved > 1e-3
    assert err <= 1e-15


FIT_CASES = ["lstm", "gru"]


@pytest.mark.parametrize("kind", FIT_CASES)
def test_rnn_regularized_constrained_fit_like_keras(kind):
    """Keras's ``LSTM``/``GRU`` with L2 kernel and recurrent regularizers, an L1 bias regularizer, MaxNorm kernels
    and a NonNeg bias, a Dense head, Adam, 3 epochs (shuffled, ``seed=``): torch_impl's RNN given the same
    arguments by ``regularize``/``constrain``, float64: the loss every epoch and the final weights."""
    seed = 8
    rng = np.random.default_rng(2)
    x = rng.normal(size=(48, T, F))
    y = np.tanh(x[:, :, 0].sum(1, keepdims=True))
    with _precision("float64"):
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((T, F)), _keras_layer(
            kind, kernel_regularizer=keras.regularizers.L2(0.01), recurrent_regularizer=keras.regularizers.L2(0.02),
            bias_regularizer=keras.regularizers.L1(0.01), kernel_constraint=keras.constraints.MaxNorm(0.6),
            recurrent_constraint=keras.constraints.MaxNorm(0.8), bias_constraint=keras.constraints.NonNeg()),
            layers.Dense(1)])
        km.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
        initial = km.get_weights()
        kh = km.fit(x, y, batch_size=16, epochs=3, verbose=0).history
        rnn = (tnn.LSTM if kind == "lstm" else tnn.GRU)(F, H, batch_first=True)
        tm = torch.nn.Sequential(_Last(rnn), torch.nn.Linear(H, 1))
        load_keras_weights(tm, initial)
        R.regularize(rnn, kernel_regularizer=R.L2(0.01), recurrent_regularizer=R.L2(0.02), bias_regularizer="l1")
        C.constrain(rnn, kernel_constraint=C.MaxNorm(0.6), recurrent_constraint=C.MaxNorm(0.8),
                    bias_constraint="non_neg")
        th = tfit.fit(tm, x, y, loss="mse", optimizer=optim.Adam(tm.parameters(), learning_rate=0.02),
                      batch_size=16, epochs=3, seed=seed, verbose=0).history
    r = _rel(th["loss"], kh["loss"])
    w_err = max(float(np.max(np.abs(a - b))) for a, b in zip(keras_weights(tm), km.get_weights()))
    bias = km.get_weights()[2]
    print(f"\n  {kind}: Keras loss {np.round(kh['loss'], 8).tolist()} max rel {r:.1e}; final weights max abs diff "
          f"{w_err:.1e}; bias min {bias.min():.3g}")
    assert r <= 1e-12 and w_err <= 1e-12


def test_rnn_arguments_errors():
    with pytest.raises(ValueError, match="no recurrent kernel for its recurrent_regularizer"):
        R.regularize(torch.nn.Linear(2, 3), recurrent_regularizer="l2")
    with pytest.raises(ValueError, match="no recurrent kernel for its recurrent_constraint"):
        C.constrain(torch.nn.Linear(2, 3), recurrent_constraint="non_neg")
    with pytest.raises(ValueError, match=r"no bias \(bias=False\) for its bias_regularizer"):
        R.regularize(torch.nn.LSTM(2, 3, bias=False), bias_regularizer="l2")
    with pytest.raises(ValueError, match="proj_size"):
        R.regularize(torch.nn.LSTM(2, 3, proj_size=2), kernel_regularizer="l2")
    with pytest.raises(ValueError, match=r"activity_regularizer on LSTM\(num_layers=2\)"):
        R.regularize(torch.nn.LSTM(2, 3, num_layers=2), activity_regularizer="l2")
    with pytest.raises(ValueError, match="proj_size"):
        R.regularize(torch.nn.LSTM(2, 3, proj_size=2), activity_regularizer="l2")
    with pytest.raises(ValueError, match="return_sequences and return_state say which outputs"):
        R.regularize(torch.nn.GRU(2, 3), kernel_regularizer="l2", return_sequences=True)
    with pytest.raises(ValueError, match="return_sequences and return_state say which outputs"):
        R.regularize(torch.nn.Linear(2, 3), activity_regularizer="l2", return_state=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.ones(2, 4, 2), torch.tensor([4, 2]), batch_first=True)
    with pytest.raises(ValueError, match="return_sequences=True on GRU called on a PackedSequence"):
        R.regularize(torch.nn.GRU(2, 3, batch_first=True), activity_regularizer="l2", return_sequences=True)(packed)
    with pytest.raises(ValueError, match="activity_regularizer on Sequential"):  # a tuple from another module
        R.regularize(torch.nn.Sequential(torch.nn.LSTM(2, 3)), activity_regularizer="l2")(torch.ones(1, 2))


# --------------------------------------------------------------------------------------------------------------
# activity_regularizer on a torch LSTM/GRU: Keras's layer regularizes every tensor it outputs
# --------------------------------------------------------------------------------------------------------------

# (kind, bidirectional, return_sequences, return_state, batch_first, packed): packed is Keras's Masking
ACTIVITY_CASES = [("lstm", False, False, False, True, False), ("lstm", True, True, True, False, False),
                  ("gru", True, False, True, True, False), ("gru_reset_before", False, True, False, False, False),
                  ("lstm", True, False, True, True, True)]
ACTIVITY_CASES += [pytest.param(k, b, rs, st, bf, pk, marks=pytest.mark.slow)
                   for k in ("lstm", "gru", "gru_reset_before") for b in (False, True) for rs in (False, True)
                   for st in (False, True) for bf, pk in ((True, False), (False, False), (True, True))
                   if (k, b, rs, st, bf, pk) not in ACTIVITY_CASES and not (rs and pk)]


def _activity_id(case) -> str:
    k, b, rs, st, bf, pk = case.values if hasattr(case, "values") else case
    return "-".join([k] + [n for n, on in (("bidirectional", b), ("sequences", rs), ("state", st),
                                            ("time_major", not bf), ("packed", pk)) if on])


@pytest.mark.parametrize("kind,bidirectional,return_sequences,return_state,batch_first,packed", ACTIVITY_CASES,
                         ids=[_activity_id(c) for c in ACTIVITY_CASES])
def test_rnn_activity_regularizer_like_keras_losses(kind, bidirectional, return_sequences, return_state, batch_first,
                                                    packed):
    """Keras's ``LSTM``/``GRU(activity_regularizer=L1L2(0.01, 0.02), return_sequences=, return_state=)`` (in a
    ``Bidirectional``; after ``Masking`` for a packed batch): ``Layer.__call__`` (``layer.py``) adds the penalty of
    every tensor of its outputs (the sequence or the last output, then each final state), each divided by the batch
    size; a ``Bidirectional``'s backward layer's first (``model.losses`` walks its sublayers backward first), its
    sequence in its own reversed step order. Against ``regularize(rnn, activity_regularizer=..., return_sequences=,
    return_state=)`` on the bare torch module, float64: term by term (within 1e-15) and the outputs."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(6, T, F))
    lengths = [5, 3, 2, 5, 1, 4]
    if packed:
        for i, n in enumerate(lengths):
            x[i, n:] = 0.0
    with _precision("float64"):
        keras.utils.set_random_seed(2)
        layer = _keras_layer(kind, activity_regularizer=keras.regularizers.L1L2(0.01, 0.02),
                             return_sequences=return_sequences, return_state=return_state)
        inp = keras.Input((T, F))
        h = layers.Masking(0.0)(inp) if packed else inp
        km = keras.Model(inp, (layers.Bidirectional(layer) if bidirectional else layer)(h))
        _randomize(km, rng)
        k_out = km(x)
        k_first = (k_out[0] if return_state else k_out).numpy()
        k_losses = [float(v) for v in km.losses]
        rnn = _torch_rnn(kind, 1, bidirectional)
        rnn.batch_first = batch_first
        load_keras_weights(rnn, km.get_weights())
        R.regularize(rnn, activity_regularizer=R.L1L2(0.01, 0.02), return_sequences=return_sequences,
                     return_state=return_state)
        xt = torch.as_tensor(x) if batch_first else torch.as_tensor(x).transpose(0, 1)
        if packed:
            xt = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), batch_first=True,
                                                         enforce_sorted=False)
        with torch.no_grad():
            seq, state = rnn(xt)
        t_losses = [float(v) for v in R.regularization_losses(rnn)]
    if return_sequences:
        t_first = (seq if batch_first else seq.transpose(0, 1)).numpy()
    else:
        hn = state[0] if isinstance(state, tuple) else state
        t_first = torch.cat([hn[-2], hn[-1]], -1).numpy() if bidirectional else hn[-1].numpy()
    n_terms = (2 if bidirectional else 1) * (1 + return_state * (2 if kind == "lstm" else 1))
    out_err = float(np.max(np.abs(t_first - k_first)))
    err = max(abs(a - b) for a, b in zip(t_losses, k_losses))
    print(f"\n  {len(k_losses)} Keras activity losses {np.round(k_losses, 8).tolist()}; outputs max abs diff "
          f"{out_err:.1e}; per term max abs diff {err:.1e}")
    assert len(t_losses) == len(k_losses) == n_terms
    assert out_err <= 1e-14 and err <= 1e-15


def test_simple_rnn_activity_regularizer_dropped_like_keras():
    """Keras 3.15.1's (and master's) ``SimpleRNN`` takes ``activity_regularizer`` and drops it (``simple_rnn.py``:
    not passed on to ``RNN.__init__``): no penalty in ``model.losses``. ``regularize`` on an ``nn.RNN`` (and
    torch_impl's ``SimpleRNN``) warns and adds none either."""
    x = np.random.default_rng(3).normal(size=(4, T, F))
    with _precision("float64"):
        km = keras.Sequential([keras.Input((T, F)), layers.SimpleRNN(H, activity_regularizer="l2")])
        km(x)
        k_losses = list(km.losses)
        for rnn in (torch.nn.RNN(F, H, batch_first=True), tnn.SimpleRNN(F, H, batch_first=True)):
            with pytest.warns(UserWarning, match="SimpleRNN drops its activity_regularizer"):
                R.regularize(rnn, activity_regularizer="l2")
            rnn(torch.as_tensor(x))
            assert R.regularization_losses(rnn) == []
    print(f"\n  Keras SimpleRNN(activity_regularizer='l2').losses: {k_losses}")
    assert k_losses == []


@pytest.mark.parametrize("kind", [pytest.param("lstm", marks=pytest.mark.slow), "gru"])
def test_rnn_activity_regularized_fit_like_keras(kind):
    """3 epochs of Adam on a Keras LSTM/GRU with an ``activity_regularizer`` (LSTM: ``return_sequences=True``, time
    steps averaged; GRU: ``Bidirectional``, ``return_state=True``, the last output and the states concatenated)
    before a Dense head, shuffled with ``seed=``: the torch port ``regularize``s the bare module with the Keras
    layer's ``return_sequences``/``return_state``, float64: the loss every epoch (within 1e-8 relative; measured
    far closer) and the final weights."""
    seed = 4
    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, T, F))
    y = np.tanh(x[:, :, 1].sum(1, keepdims=True))
    activity = keras.regularizers.L2(0.05)
    with _precision("float64"):
        keras.utils.set_random_seed(seed)
        inp = keras.Input((T, F))
        if kind == "lstm":
            seq = layers.LSTM(H, activity_regularizer=activity, return_sequences=True)(inp)
            head = layers.Dense(1)(layers.GlobalAveragePooling1D()(seq))
        else:
            out = layers.Bidirectional(layers.GRU(H, activity_regularizer=activity, return_state=True))(inp)
            head = layers.Dense(1)(layers.Concatenate()(list(out)))
        km = keras.Model(inp, head)
        km.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
        initial = km.get_weights()
        kh = km.fit(x, y, batch_size=16, epochs=3, verbose=0).history
        if kind == "lstm":
            rnn = R.regularize(torch.nn.LSTM(F, H), activity_regularizer=R.L2(0.05), return_sequences=True)
            tm = _Pooled(rnn, H)
        else:
            rnn = R.regularize(torch.nn.GRU(F, H, batch_first=True, bidirectional=True),
                               activity_regularizer=R.L2(0.05), return_state=True)
            tm = _LastAndStates(rnn, 4 * H)
        load_keras_weights(tm, initial)
        th = tfit.fit(tm, x, y, loss="mse", optimizer=optim.Adam(tm.parameters(), learning_rate=0.02),
                      batch_size=16, epochs=3, seed=seed, verbose=0).history
    r = _rel(th["loss"], kh["loss"])
    w_err = max(float(np.max(np.abs(a - b))) for a, b in zip(keras_weights(tm), km.get_weights()))
    print(f"\n  {kind}: Keras loss {np.round(kh['loss'], 8).tolist()} max rel {r:.1e}; final weights max abs diff "
          f"{w_err:.1e}")
    assert r <= 1e-8 and w_err <= 1e-12


class _Pooled(torch.nn.Module):
    """A time-major torch LSTM's sequence averaged over the steps (``GlobalAveragePooling1D``), a Dense head."""

    def __init__(self, rnn, units):
        super().__init__()
        self.rnn, self.head = rnn, torch.nn.Linear(units, 1)

    def forward(self, x):
        seq, _ = self.rnn(x.transpose(0, 1))
        return self.head(seq.mean(0))


class _LastAndStates(torch.nn.Module):
    """Keras's ``Concatenate()([output, h_forward, h_backward])`` of a ``Bidirectional(GRU(return_state=True))``
    (the output itself the two final states), a Dense head."""

    def __init__(self, rnn, units):
        super().__init__()
        self.rnn, self.head = rnn, torch.nn.Linear(units, 1)

    def forward(self, x):
        _, h = self.rnn(x)
        return self.head(torch.cat([h[-2], h[-1], h[-2], h[-1]], -1))

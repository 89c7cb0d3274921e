"""Blind audit 20 (helper h92): ``torch_impl.nn.ConvLSTM1D`` and ``ConvLSTM3D`` written from README.md (the
"ConvLSTM1D" paragraph) and the public docstrings (``help(ConvLSTM1D)``, ``help(ConvLSTM3D)``, the module's and
``ConvLSTM2D``'s) alone (torch_impl/conv_lstm.py and the author's tests unread), against Keras 3.15.1's
``keras.layers.ConvLSTM1D`` / ``ConvLSTM3D`` on TensorFlow 2.21, run in the same process.

Every case builds Keras's layer (channels-last), sets its weights to random normal values (x0.4), moves them to
the torch layer with ``load_keras_weights`` and, independently, to a second torch layer by this file's own mapping
(``(*k, in, 4F)`` -> ``(4F, in, *k)``), calls all three and compares the output, the states and the gradients of
``sum(out * g) (+ sum(h * gh) + sum(c * gc))`` with respect to the input, the initial states and every weight.
Figures are max |diff| / max(1, max |Keras|).

Measured (float64 unless said; max over every case and call, printed by each test). Default: 1D kernel 2 "same"
strides 2 with initial state, return_state, go_backwards and a step mask with a fully masked row, both layouts,
``load_keras_weights`` and the own mapping: outputs/states 1.7e-16, gradients (input, h0, c0, kernel, recurrent
kernel, bias) 8.9e-16; 3D (4, 3, 5) volume, kernel (3, 1, 2), a per-position ``(N, T, D, H, W)`` mask, seeded
dropout 0.3 + recurrent 0.2 over train/eval/train calls: 3.9e-16 / 6.8e-16, seed states (11, 24) on both;
Keras's ``Masking`` -> ``ConvLSTM1D(padding="same")`` vs ``torch_impl.nn.Masking`` (carried) and the README's
channels-first ``mask=(x != 0).any(2)``: 1.1e-16, the output's ``(N, T, L)`` mask equal to Keras's, a fully
masked row 0; ``keras_init_(seed=21)`` on two stacked ConvLSTM3D: kernels and biases bit for bit, orthogonal
recurrent kernels 3.9e-16, both dropout streams equal; ``keras_weights`` round trip bit for bit. Slow: 1D grid
(kernels 1-4, same/valid, strides 1-3, dilation 2, both layouts) 2.8e-16 / 1.0e-15; 3D grid (non-cubic volumes,
kernels (3, 1, 2), 2, (2, 3, 1), 3, strides 2 and (2, 1, 2), dilation (2, 1, 1)) 8.2e-16 / 2.0e-15; the 16
return_sequences x return_state x go_backwards x initial_state combinations and use_bias / unit_forget_bias /
activations 4.0e-16 / 2.1e-15; step and per-position masks (fully masked rows and steps, valid and strided
layers' ``(N, T, *S')`` masks) 3.3e-16 / 9.9e-16; Masking -> 2 x ConvLSTM3D (carried per-position mask)
1.7e-16 / 4.8e-16; dropout grid (0.3, 0.4, both, rates 1.0 that Keras clips and ignores, with masks and
go_backwards, 4 train/eval calls) 5.4e-16 / 3.0e-15, seed states equal after every sequence; float32 subset
1.0e-7 / 3.0e-7; a ConvLSTM3D(seeded dropouts) -> Flatten -> Dense model on T=3 4x4x4 volumes, 2 epochs of
``fit`` vs ``model.fit``: loss relative 0.0 and 1.8e-16, final weights 1.4e-15, dropout streams (3, 32) on
both. Errors (wrong rank, channels other than ``in_channels``, strides with dilation, a kernel tuple of the wrong
length, unknown padding): ``ValueError`` in both.

No mismatch found. Differences outside the README's claims, not asserted: a float32 input into a float64 layer
raises torch's dtype ``RuntimeError`` (Keras casts it); Keras broadcasts an initial state of spatial size 1
(``(N, 1, F)``) where the port raises ``ValueError``; ``strides=0`` raises ``ValueError`` in the port, an
``OverflowError`` in Keras's shape inference.

Run: ``.venv/bin/python -m pytest -q -s -p no:cacheprovider parity_tests/test_blind_conv_lstm_1d_3d_keras.py``
(``-m "not slow"`` for the default subset).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402

from parity_tests.test_field_scripts_round2 import _precision  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl.nn import keras_weights, load_keras_weights  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

TOL = {"float64": 5e-15, "float32": 5e-6}

KLAYER = {1: "ConvLSTM1D", 3: "ConvLSTM3D"}


@pytest.fixture(autouse=True)
def _float64_seeded():
    with _precision("float64"):
        keras.utils.set_random_seed(0)
        yield


def _d(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.max(np.abs(a - b)) / max(1.0, np.max(np.abs(b)))) if a.size else 0.0


def _cf(a, rank):
    """channels-last ``(N, [T,] *S, C)`` -> channels-first ``(N, [T,] C, *S)`` (numpy or torch)."""
    nd = a.ndim
    perm = list(range(nd - rank - 1)) + [nd - 1] + list(range(nd - rank - 1, nd - 1))
    return a.permute(*perm) if isinstance(a, torch.Tensor) else np.transpose(a, perm)


def _cl(a, rank):
    """channels-first -> channels-last."""
    nd = a.ndim
    perm = list(range(nd - rank - 1)) + list(range(nd - rank, nd)) + [nd - rank - 1]
    return a.permute(*perm) if isinstance(a, torch.Tensor) else np.transpose(a, perm)


def _own_load(tl, weights, rank):
    """This file's own mapping of Keras's arrays: ``(*k, in, 4F)`` -> torch's conv ``(4F, in, *k)``."""
    perm = (rank + 1, rank) + tuple(range(rank))
    with torch.no_grad():
        tl.weight_ih.copy_(torch.from_numpy(np.transpose(weights[0], perm).copy()))
        tl.weight_hh.copy_(torch.from_numpy(np.transpose(weights[1], perm).copy()))
        if len(weights) > 2:
            tl.bias.copy_(torch.from_numpy(weights[2]))


def _pair(rank, spatial, kernel, c_in=2, filters=3, n=2, t=4, layout="channels_first", dtype="float64",
          init_state=False, mask=None, train=False, calls=1, own=True, **kw):
    """Keras's layer and the torch port(s) on the same weights; per call a dict of figures; the seed states."""
    kl = getattr(layers, KLAYER[rank])(filters, kernel, dtype=dtype, **kw)
    kl.build((None, t) + tuple(spatial) + (c_in,))
    rng = np.random.default_rng(3)
    weights = [(rng.normal(size=w.shape) * 0.4).astype(dtype) for w in kl.get_weights()]
    kl.set_weights(weights)
    cls = getattr(tnn, KLAYER[rank])
    tls = [cls(c_in, filters, kernel, data_format=layout, **kw)]
    load_keras_weights(tls[0], weights)
    if own:
        tls.append(cls(c_in, filters, kernel, data_format=layout, **kw))
        _own_load(tls[1], weights, rank)
    for tl in tls:
        tl.to(getattr(torch, dtype))
    trains = train if isinstance(train, (list, tuple)) else [train] * calls
    figs = []
    for step, tr in enumerate(trains):
        x = rng.normal(size=(n, t) + tuple(spatial) + (c_in,)).astype(dtype)
        state_shape = (n,) + tuple(kl.cell.compute_output_shape((n,) + tuple(spatial) + (c_in,))[0][1:])
        states = [rng.normal(size=state_shape).astype(dtype) * 0.5 for _ in range(2)] if init_state else []
        m = mask(rng, (n, t) + state_shape[1:-1]) if callable(mask) else mask
        kx = tf.constant(x)
        ks = [tf.constant(s) for s in states]
        with tf.GradientTape() as tape:
            tape.watch([kx] + ks)
            kres = kl(kx, initial_state=ks or None, mask=None if m is None else tf.constant(m), training=tr)
            kres = list(kres) if isinstance(kres, (list, tuple)) else [kres]
            gs = [rng.normal(size=tuple(r.shape)).astype(dtype) for r in kres]
            loss = sum(tf.reduce_sum(r * g) for r, g in zip(kres, gs))
        kgrads = tape.gradient(loss, [kx] + ks + list(kl.trainable_variables))
        f = {}
        for j, tl in enumerate(tls):
            tl.train(tr)
            tl.zero_grad()
            tx = torch.tensor(x if layout == "channels_last" else _cf(x, rank), requires_grad=True)
            ts = [torch.tensor(s if layout == "channels_last" else _cf(s, rank), requires_grad=True)
                  for s in states]
            tres = tl(tx, initial_state=tuple(ts) if ts else None,
                      mask=None if m is None else torch.from_numpy(np.asarray(m)))
            tres = list(tres) if isinstance(tres, (list, tuple)) else [tres]
            assert len(tres) == len(kres)
            tres = [r if layout == "channels_last" else _cl(r, rank) for r in tres]
            sum((r * torch.from_numpy(g)).sum() for r, g in zip(tres, gs)).backward()
            tg = [tx.grad if layout == "channels_last" else _cl(tx.grad, rank)]
            tg += [s.grad if layout == "channels_last" else _cl(s.grad, rank) for s in ts]
            perm = tuple(range(2, rank + 2)) + (1, 0)
            tg += [tl.weight_ih.grad.permute(*perm), tl.weight_hh.grad.permute(*perm)]
            if kl.use_bias:
                tg.append(tl.bias.grad)
            names = ["out", "h", "c"][:len(kres)]
            for name, a, b in zip(names, tres, kres):
                f[name] = max(f.get(name, 0.0), _d(a.detach(), b))
            gnames = ["dx"] + ["dh0", "dc0"][:len(ts)] + ["dkernel", "drecurrent", "dbias"][:2 + kl.use_bias]
            for name, a, b in zip(gnames, tg, kgrads):
                b = np.zeros(tuple(a.shape)) if b is None else b
                f[name] = max(f.get(name, 0.0), _d(a, b))
        figs.append(f)
    kstate = tuple(kl.cell.seed_generator.state.numpy().tolist())
    tstate = tuple(tls[0].stream.state)
    if own and kw.get("seed") is not None:
        assert tuple(tls[1].stream.state) == tstate
    return figs, kstate, tstate


def _check(figs, dtype="float64", label=""):
    worst = {}
    for f in figs:
        for k, v in f.items():
            worst[k] = max(worst.get(k, 0.0), v)
    print(label, " ".join(f"{k} {v:.2g}" for k, v in worst.items()))
    assert max(worst.values()) < TOL[dtype], (label, worst)
    return worst


SP = {1: (7,), 3: (4, 3, 5)}  # non-cubic volume
KS = {1: 3, 3: (3, 1, 2)}


def _step_mask(rng, shape):
    """``(N, T)`` step mask, sample 0 fully masked, sample 1 masked at its first step."""
    m = rng.random(shape[:2]) > 0.4
    m[0] = False
    m[1, 0] = False
    return m


def _pos_mask(rng, shape):
    """``(N, T, *S')`` per-position mask, sample 0 fully masked, sample 1 one step fully masked."""
    m = rng.random(shape) > 0.3
    m[0] = False
    m[1, 1] = False
    return m


# --------------------------------------------------------------------------------------------------------------
# default representatives
# --------------------------------------------------------------------------------------------------------------

def test_conv_lstm1d_even_kernel_strided_states_step_mask():
    """1D: even kernel 2 with TensorFlow's "same" (odd pad at the end), strides 2, initial state, return_state,
    go_backwards, a step mask with a fully masked row; both layouts, ``load_keras_weights`` and own mapping."""
    figs = []
    for layout in ("channels_first", "channels_last"):
        f, _, _ = _pair(1, (8,), 2, padding="same", strides=2, layout=layout, init_state=True, return_state=True,
                        return_sequences=True, go_backwards=True, mask=_step_mask, t=3,
                        own=layout == "channels_first")
        figs += f
    _check(figs, label="1d k2 same s2 states step-mask")


def test_conv_lstm3d_states_position_mask_dropout():
    """3D: non-cubic volume, kernel (3, 1, 2), "same", initial state, return_state + return_sequences, a
    per-position ``(N, T, D, H, W)`` mask with a fully masked row, seeded dropout and recurrent dropout over a
    training, an eval and a training call: the seed state equal to Keras's after them."""
    figs, ks, ts = _pair(3, SP[3], KS[3], padding="same", init_state=True, return_state=True, return_sequences=True,
                         mask=_pos_mask, dropout=0.3, recurrent_dropout=0.2, seed=11, train=[True, False, True],
                         t=3, own=False)
    _check(figs, label="3d states pos-mask dropout")
    print("seed states", ks, ts)
    assert ks == ts


def _masking_pair(rs, gb):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, 6, 2))
    x[0, 1] = 0  # a masked step
    x[1, :, 2] = 0  # a masked position at every step
    x[1, 3, :4] = 0
    x[2] = 0  # a fully masked row
    kconv = layers.ConvLSTM1D(3, 3, padding="same", return_sequences=rs, go_backwards=gb)
    kx = layers.Masking()(tf.constant(x))
    kconv.build((None, 4, 6, 2))
    w = [rng.normal(size=a.shape) * 0.4 for a in kconv.get_weights()]
    kconv.set_weights(w)
    ko = kconv(kx)
    tl = tnn.ConvLSTM1D(2, 3, 3, padding="same", return_sequences=rs, go_backwards=gb, data_format="channels_last")
    load_keras_weights(tl, w)
    to = tl(tnn.Masking()(torch.tensor(x)))  # the carried (N, T, L) mask
    tl2 = tnn.ConvLSTM1D(2, 3, 3, padding="same", return_sequences=rs, go_backwards=gb)
    load_keras_weights(tl2, w)
    xc = torch.tensor(x).permute(0, 1, 3, 2)
    to2 = _cl(tl2(xc, mask=(xc != 0).any(2)).detach(), 1)  # the README's channels-first recipe
    d1, d2 = _d(to.detach(), ko), _d(to2, ko)
    kmask = getattr(ko, "_keras_mask", None)
    tmask = getattr(to, "_keras_mask", None)
    print(f"Masking -> ConvLSTM1D rs={rs} gb={gb}: carried {d1:.2g}, explicit channels-first {d2:.2g}, "
          f"masked row max |out| {np.abs(np.asarray(ko)[2]).max():.2g}; output mask Keras "
          f"{None if kmask is None else tuple(kmask.shape)} torch {None if tmask is None else tuple(tmask.shape)}")
    assert d1 < TOL["float64"] and d2 < TOL["float64"]
    assert (kmask is None) == (tmask is None)
    if kmask is not None:
        assert np.array_equal(np.asarray(kmask), tmask.numpy())


def test_keras_masking_into_conv_lstm1d():
    """Keras's ``Masking`` -> ``ConvLSTM1D(padding="same")`` (its ``(N, T, L)`` mask) against
    ``torch_impl.nn.Masking`` -> the port (channels-last, carried mask) and the README's channels-first
    ``mask=(x != v).any(2)``."""
    _masking_pair(True, False)


def _init_pair(rank):
    K, T = getattr(layers, KLAYER[rank]), getattr(tnn, KLAYER[rank])
    keras.utils.set_random_seed(21)
    km = keras.Sequential([keras.Input((3,) + SP[rank] + (2,)),
                           K(3, KS[rank], padding="same", return_sequences=True, dropout=0.2),
                           K(4, 2, recurrent_dropout=0.1, unit_forget_bias=False)])
    net = torch.nn.Sequential(T(2, 3, KS[rank], padding="same", return_sequences=True, dropout=0.2),
                              T(3, 4, 2, recurrent_dropout=0.1, unit_forget_bias=False))
    tnn.keras_init_(net, seed=21)
    d = [_d(a, b) for a, b in zip(keras_weights(net), km.get_weights())]
    streams = [tuple(m.stream.state) for m in net], [tuple(int(v) for v in l.cell.seed_generator.state.numpy())
                                                     for l in km.layers]
    print(f"{rank}d keras_init_(seed=21) vs Keras: weights {['%.2g' % v for v in d]}, streams", streams)
    assert len(keras_weights(net)) == len(km.get_weights()) == 6
    assert max(d[0], d[2], d[3], d[5]) == 0.0  # glorot kernels and biases bit for bit
    assert max(d) < 1e-15  # the orthogonal recurrent kernels within rounding of the QR
    assert streams[0] == streams[1]


def test_keras_init_two_layer_3d():
    _init_pair(3)


def test_errors_as_keras():
    """A wrong input rank, channels that differ from ``in_channels``, strides with dilation, a kernel tuple of
    the wrong length and an unknown padding raise ``ValueError`` in both."""
    for rank in (1, 3):
        K, T = getattr(layers, KLAYER[rank]), getattr(tnn, KLAYER[rank])
        sp = SP[rank]
        kl = K(3, 2)
        kl.build((None, 3) + sp + (2,))
        cases = [
            (lambda: T(2, 3, 2)(torch.zeros((2, 3, 2) + sp[:-1])), lambda: K(3, 2)(np.zeros((2, 3) + sp[:-1] + (2,)))),
            (lambda: T(2, 3, 2)(torch.zeros((2, 3, 2) + sp + (1,))), lambda: K(3, 2)(np.zeros((2, 3) + sp + (1, 2)))),
            (lambda: T(2, 3, 2)(torch.zeros((2, 3, 5) + sp)), lambda: kl(np.zeros((2, 3) + sp + (5,)))),
            (lambda: T(2, 3, 2, strides=2, dilation_rate=2), lambda: K(3, 2, strides=2, dilation_rate=2)),
            (lambda: T(2, 3, 2, strides=(1,) * (rank - 1) + (2,), dilation_rate=(2,) + (1,) * (rank - 1)),
             lambda: K(3, 2, strides=(1,) * (rank - 1) + (2,), dilation_rate=(2,) + (1,) * (rank - 1))),
            (lambda: T(2, 3, (2, 2)), lambda: K(3, (2, 2))),
            (lambda: T(2, 3, 2, padding="causal"), lambda: K(3, 2, padding="causal")),
        ]
        for i, (tf_, kf) in enumerate(cases):
            for side, f in (("torch", tf_), ("keras", kf)):
                with pytest.raises(ValueError) as e:
                    f()
                print(rank, i, side, str(e.value).splitlines()[0][:100])


# --------------------------------------------------------------------------------------------------------------
# slow grids
# --------------------------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
def test_conv_lstm1d_conv_grid(layout):
    """1D kernels 1-4 x same/valid x strides 1/2/3 x dilation 1/2 (not with strides)."""
    figs = []
    for k, pad, st, dil in itertools.product([1, 2, 3, 4], ["same", "valid"], [1, 2, 3], [1, 2]):
        if st > 1 and dil > 1:
            continue
        f, _, _ = _pair(1, (9,), k, padding=pad, strides=st, dilation_rate=dil, layout=layout,
                        return_sequences=True, own=layout == "channels_first", t=3)
        figs += f
    _check(figs, label=f"1d conv grid {layout}")


@pytest.mark.slow
def test_conv_lstm3d_conv_grid():
    """3D non-cubic volumes, kernels (3, 1, 2) / 2 / (2, 3, 1) / 3 x same/valid x strides 1/2/(2, 1, 2) x
    dilation 1/(2, 1, 1)."""
    figs = []
    for (sp, k), pad, st, dil in itertools.product(
            [((5, 4, 3), (3, 1, 2)), ((4, 6, 5), 2), ((6, 5, 4), (2, 3, 1)), ((3, 3, 3), 3)],
            ["same", "valid"], [1, 2, (2, 1, 2)], [1, (2, 1, 1)]):
        if st != 1 and dil != 1 or (pad == "valid" and sp == (3, 3, 3) and dil != 1):
            continue
        f, _, _ = _pair(3, sp, k, padding=pad, strides=st, dilation_rate=dil, return_sequences=True, t=3)
        figs += f
    _check(figs, label="3d conv grid")


@pytest.mark.slow
@pytest.mark.parametrize("rank", [1, 3])
def test_flags_grid(rank):
    """return_sequences x return_state x go_backwards x initial_state, and use_bias / unit_forget_bias /
    activations."""
    figs = []
    for rs, rst, gb, ini in itertools.product([False, True], repeat=4):
        f, _, _ = _pair(rank, SP[rank], KS[rank], padding="same", return_sequences=rs, return_state=rst,
                        go_backwards=gb, init_state=ini, t=3)
        figs += f
    for opts in [dict(use_bias=False), dict(unit_forget_bias=False), dict(activation="relu"),
                 dict(recurrent_activation="hard_sigmoid"), dict(activation="relu", recurrent_activation="tanh")]:
        f, _, _ = _pair(rank, SP[rank], KS[rank], padding="same", return_sequences=True, init_state=True, t=3,
                        **opts)
        figs += f
    _check(figs, label=f"{rank}d flags grid")


@pytest.mark.slow
@pytest.mark.parametrize("rank", [1, 3])
def test_mask_grid(rank):
    """Step and per-position masks (fully masked rows / steps) x flag combinations x layouts; per-position masks
    of a valid / strided layer's ``(N, T, *S')`` states."""
    figs = []
    for mk, (rs, rst, gb, ini), layout in itertools.product(
            [_step_mask, _pos_mask], [(True, False, False, False), (False, True, True, True),
                                      (True, True, True, True), (True, True, False, True)],
            ["channels_first", "channels_last"]):
        f, _, _ = _pair(rank, SP[rank], KS[rank], padding="same", return_sequences=rs, return_state=rst,
                        go_backwards=gb, init_state=ini, mask=mk, layout=layout, t=4, own=False)
        figs += f
    for pad, st in [("valid", 1), ("valid", 2), ("same", 2)]:
        f, _, _ = _pair(rank, SP[rank], KS[rank], padding=pad, strides=st, return_sequences=True, mask=_pos_mask,
                        t=3, own=False)
        figs += f
    _check(figs, label=f"{rank}d mask grid")
    for rs, gb in [(True, True), (False, False), (False, True)]:
        if rank == 1:
            _masking_pair(rs, gb)


@pytest.mark.slow
@pytest.mark.parametrize("rank", [1, 3])
def test_dropout_grid(rank):
    """Seeded dropout / recurrent dropout (rates 0.3, 0.4, both, 1.0 with 0.5) over training, eval, training,
    training calls; with a step mask and go_backwards: outputs, gradients and the seed state after the calls."""
    figs = []
    for (dr, rdr), layout in itertools.product([(0.3, 0), (0, 0.4), (0.3, 0.2), (1.0, 0.5), (0.5, 1.0)],
                                               ["channels_first", "channels_last"]):
        with pytest.warns(UserWarning) if 1.0 in (dr, rdr) else _nullcontext():
            f, ks, ts = _pair(rank, SP[rank], KS[rank], padding="same", return_sequences=True, dropout=dr,
                              recurrent_dropout=rdr, seed=11, train=[True, False, True, True], init_state=True,
                              layout=layout, t=3)
        print(dr, rdr, layout, "seed states", ks, ts)
        assert ks == ts
        figs += f
    f, ks, ts = _pair(rank, SP[rank], KS[rank], padding="same", return_sequences=True, return_state=True,
                      dropout=0.3, recurrent_dropout=0.3, seed=5, train=[True, True], mask=_step_mask,
                      go_backwards=True, t=3)
    assert ks == ts
    _check(figs + f, label=f"{rank}d dropout grid")


def _nullcontext():
    import contextlib
    return contextlib.nullcontext()


@pytest.mark.slow
def test_float32_subset():
    """float32 on both sides: the representatives."""
    with _precision("float32"):
        figs = []
        for rank in (1, 3):
            f, _, _ = _pair(rank, SP[rank], KS[rank], dtype="float32", padding="same", init_state=True,
                            return_state=True, return_sequences=True, go_backwards=True, mask=_step_mask, t=3)
            figs += f
            f, ks, ts = _pair(rank, SP[rank], KS[rank], dtype="float32", padding="valid", strides=2,
                              mask=_pos_mask, dropout=0.3, recurrent_dropout=0.2, seed=11, train=[True, False],
                              t=3)
            assert ks == ts
            figs += f
        _check(figs, dtype="float32", label="float32")


@pytest.mark.slow
def test_keras_init_two_layer_1d():
    _init_pair(1)


class _Net3D(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = tnn.ConvLSTM3D(1, 2, (3, 1, 2), padding="same", data_format="channels_last", dropout=0.2,
                                  recurrent_dropout=0.1, seed=3)
        self.dense = torch.nn.Linear(2 * 64, 1)

    def forward(self, x):  # channels-last states: Keras's Flatten order
        return self.dense(self.rnn(x).flatten(1))


@pytest.mark.slow
def test_conv_lstm3d_model_fit():
    """ConvLSTM3D(2, (3, 1, 2), same, seeded dropouts) -> Flatten -> Dense(sigmoid) on T=3 4x4x4 volumes, Adam,
    2 epochs of ``fit`` against ``model.fit`` (shuffled, seed 13)."""
    rng = np.random.default_rng(8)
    x = rng.normal(size=(16, 3, 4, 4, 4, 1))
    y = (rng.random((16, 1)) > 0.5).astype(np.float64)
    inp = keras.Input((3, 4, 4, 4, 1))
    rl = layers.ConvLSTM3D(2, (3, 1, 2), padding="same", dropout=0.2, recurrent_dropout=0.1, seed=3)
    km = keras.Model(inp, layers.Dense(1, activation="sigmoid")(layers.Flatten()(rl(inp))))
    k0 = [(w + np.random.default_rng(1).normal(size=w.shape) * 0.2).astype(w.dtype) for w in km.get_weights()]
    km.set_weights(k0)
    km.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    keras.utils.set_random_seed(13)
    hk = km.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=True).history
    net = _Net3D()
    load_keras_weights(net, k0)
    ht = tfit.fit(net, torch.tensor(x), torch.tensor(y), loss="binary_crossentropy",
                  optimizer=optim.Adam(net.parameters(), learning_rate=1e-2), batch_size=8, epochs=2, seed=13,
                  output_activation="sigmoid", verbose=0).history
    rel = [abs(a - b) / abs(b) for a, b in zip(ht["loss"], hk["loss"])]
    final = max(_d(a, b) for a, b in zip(keras_weights(net), km.get_weights()))
    streams = tuple(net.rnn.stream.state), tuple(int(v) for v in rl.cell.seed_generator.state.numpy())
    print(f"ConvLSTM3D fit: loss Keras {hk['loss']} torch {ht['loss']} rel {rel}, final weights {final:.2g}, "
          f"streams {streams}")
    assert max(rel) < 1e-14 and final < 1e-13 and streams[0] == streams[1]


def test_keras_weights_round_trip():
    """``keras_weights`` gives Keras's arrays back bit for bit (with and without bias), in Keras's shapes."""
    rng = np.random.default_rng(5)
    for rank, use_bias in itertools.product((1, 3), (True, False)):
        kl = getattr(layers, KLAYER[rank])(3, KS[rank], use_bias=use_bias)
        kl.build((None, 2) + SP[rank] + (2,))
        w = [rng.normal(size=a.shape) for a in kl.get_weights()]
        tl = getattr(tnn, KLAYER[rank])(2, 3, KS[rank], use_bias=use_bias)
        load_keras_weights(tl, w)
        back = keras_weights(tl)
        assert [a.shape for a in back] == [a.shape for a in w]
        assert all(np.array_equal(a, b) for a, b in zip(back, w))
    print("keras_weights round trip: bit for bit")


@pytest.mark.slow
def test_masking_two_layer_3d_stack():
    """Keras's ``Masking`` -> ConvLSTM3D(same, return_sequences) -> ConvLSTM3D(same, go_backwards): the
    per-position ``(N, T, D, H, W)`` mask carried through both layers (``torch_impl.nn.Masking``, channels-last);
    output, input gradient and every weight gradient."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, 3, 4, 2, 2))
    x[0, 1] = 0
    x[1, :, 1, 2] = 0
    x[2] = 0
    inp = keras.Input((4, 3, 4, 2, 2))
    l1 = layers.ConvLSTM3D(3, (3, 1, 2), padding="same", return_sequences=True)
    l2 = layers.ConvLSTM3D(2, 2, padding="same", return_sequences=True, go_backwards=True)
    km = keras.Model(inp, l2(l1(layers.Masking()(inp))))
    w = [rng.normal(size=a.shape) * 0.4 for a in km.get_weights()]
    km.set_weights(w)
    net = torch.nn.Sequential(
        tnn.Masking(),
        tnn.ConvLSTM3D(2, 3, (3, 1, 2), padding="same", return_sequences=True, data_format="channels_last"),
        tnn.ConvLSTM3D(3, 2, 2, padding="same", return_sequences=True, go_backwards=True,
                       data_format="channels_last"))
    load_keras_weights(net, w)
    xt, kx = torch.tensor(x, requires_grad=True), tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(kx)
        ko = km(kx)
        loss = tf.reduce_sum(ko * ko)
    kg = tape.gradient(loss, [kx] + km.trainable_variables)
    to = net(xt)
    (to * to).sum().backward()
    tg = [xt.grad]
    for m in net[1:]:
        tg += [m.weight_ih.grad.permute(2, 3, 4, 1, 0), m.weight_hh.grad.permute(2, 3, 4, 1, 0), m.bias.grad]
    d_out = _d(to.detach(), ko)
    d_grad = max(_d(a, b) for a, b in zip(tg, kg))
    print(f"Masking -> 2 x ConvLSTM3D: out {d_out:.2g}, gradients {d_grad:.2g}")
    assert d_out < TOL["float64"] and d_grad < TOL["float64"]

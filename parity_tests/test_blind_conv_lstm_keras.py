"""Blind audit 17 (helper h86): ``torch_impl.nn.ConvLSTM2D`` written from README.md ("ConvLSTM2D" paragraph) and its
public docstrings (``help(ConvLSTM2D)``, ``help(torch_impl.conv_lstm)``, ``load_keras_weights``, ``keras_init_``,
``Masking``) alone (torch_impl/conv_lstm.py and the author's tests unread), against Keras 3.15.1's
``keras.layers.ConvLSTM2D`` on TensorFlow 2.21, run in the same process.

Every case builds Keras's layer, perturbs its weights, moves them to the torch layer (README's
``load_keras_weights`` and, in the first test, an independent manual mapping: Keras's ``(kh, kw, in, 4 filters)``
kernel transposed to torch's ``(4 filters, in, kh, kw)``), and compares the outputs (sequence, ``h``, ``c``) and the
gradients of ``sum(out * g)`` for a random ``g`` with respect to the input, ``initial_state`` and every weight
(torch's weight gradients mapped back to Keras's layout). Keras's ``channels_first`` ConvLSTM cannot run on
TensorFlow's CPU (``UnimplementedError`` from ``Conv2D``), so a torch ``channels_first`` layer is compared with
Keras's channels-last layer on the transposed input, as the docstring says ("the numbers are those of Keras's
(channels-last) layer").

Measured (max |diff| over max |Keras's value|, printed by each test; float64 unless said): 7 forms (7x5 and 9x7
images, (3, 2) / (2, 2) / (4, 2) / (2, 3) kernels, valid and same with even kernels, strides (2, 1) and 2, dilation
(2, 1) and 2, ``filters != in_channels``, ``T = 1``, ``use_bias=False`` with relu / hard_sigmoid), both data
formats, both weight paths, the 8 ``return_sequences x return_state x go_backwards`` forms with ``initial_state``
(``h0``/``c0`` gradients too) with and without a mask (first step masked, a fully masked row, gaps; int and bool
masks; ``T = 1``), seeded ``dropout`` / ``recurrent_dropout`` (each alone, both, ``dropout=1.0``) over three
training calls: outputs within 6.6e-16, every gradient (input, states, kernel, recurrent kernel, bias) within
1.2e-15; the seed state equal to Keras's after every call (an eval / training sequence: (7, 16) on both, eval calls
draw and apply nothing); float32 subset (slow) within 4.1e-7. A mask carried by ``set_keras_mask`` equal to Keras's
explicit ``mask=`` (outputs 4.6e-16, gradients 1.2e-15, slow), an explicit ``mask=`` winning over a carried one
(4.6e-16), the sequence output carrying the mask unreversed (Keras's ``compute_mask``), the states none.
``keras_init_(layer, seed=5)`` vs ``set_random_seed(5)`` + Keras's layer: kernel and bias equal, recurrent kernel
7.7e-16 (QR rounding), the dropout generator's seed equal; three layers (one seeded, ``use_bias=False``,
``unit_forget_bias=False``, slow) within 8.9e-16, every generator seed equal, a training forward 7.4e-16.
ConvLSTM2D(relu, dropout 0.2, recurrent_dropout 0.1) -> BatchNormalization -> ConvLSTM2D -> Conv3D(sigmoid), 2-epoch
``fit`` with ``seed=11`` shuffling from ``keras_init_(seed=11)`` against ``set_random_seed(11)`` + ``model.fit``
(slow): initial weights 1.2e-15, loss relative difference 0.0 in both epochs, final weights 1.2e-15, dropout stream
(485738844, 32) on both. Errors: wrong rank, channel mismatch (both formats), strides>1 with dilation>1,
``padding="causal"``/``"full"``, a bad ``data_format``, an input smaller than a valid kernel: ``ValueError`` on both
sides.

Finding (``test_masking_layer_to_conv_lstm``, a strict xfail until fixed after this audit): Keras's
``Masking -> ConvLSTM2D(padding="same")`` runs and masks *per pixel*: ``Masking`` computes ``any(x != v, axis=-1)``
of shape ``(N, T, H, W)`` and TensorFlow's ``backend.rnn`` tiles it over the filters (keras/src/backend/tensorflow/rnn.py:116-129 ``_expand_mask``
called with ``fixed_dim=len(mask_t.shape)`` at 302-305), so a pixel whose channels all equal ``mask_value`` keeps
its own ``h``/``c``/output at that step (a per-pixel oracle built from ``T = 1`` torch calls matches Keras within
3.6e-16; the step mask ``any`` over ``(H, W, C)`` instead is 0.53 off). The torch port raised ``ValueError``
("expected a mask of shape (N, T)") on ``torch_impl.nn.Masking``'s output (channels_last ``(N, T, H, W)``;
channels_first ``(N, T, C, H)``), though its docstring says it reads "the mask the input carries". (Keras with
``padding="valid"`` fails on the same mask: ``InvalidArgumentError`` from ``SelectV2``.) Fixed: an ``(N, T, H', W')``
mask masks per pixel (3.6e-16 from Keras; channels-first frames with ``mask=(x != v).any(2)`` and ``go_backwards``
too), and ``Masking``'s mask of channels-first frames raises a ``ValueError`` saying what to pass.

Run: ``.venv/bin/python -m pytest -q -s -p no:cacheprovider parity_tests/test_blind_conv_lstm_keras.py``
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
from torch_impl.utils import get_keras_mask, set_keras_mask  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

TOL = {"float64": 5e-15, "float32": 5e-6}  # max |diff| / max |Keras's|, outputs and every gradient


@pytest.fixture(autouse=True)
def _float64_seeded():
    """float64 on both sides (Keras's floatx, torch's default dtype); Keras's unseeded initializers: the same
    weights (and printed figures) every run."""
    with _precision("float64"):
        keras.utils.set_random_seed(0)
        yield


def _rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)) if a.size else 0.0


def _manual_load(layer, weights) -> None:
    """The independent mapping: Keras's ``(kh, kw, in, 4F)`` / ``(kh, kw, F, 4F)`` kernels to ``(4F, in, kh, kw)``."""
    with torch.no_grad():
        layer.weight_ih.copy_(torch.from_numpy(np.ascontiguousarray(np.transpose(weights[0], (3, 2, 0, 1)))))
        layer.weight_hh.copy_(torch.from_numpy(np.ascontiguousarray(np.transpose(weights[1], (3, 2, 0, 1)))))
        if len(weights) > 2:
            layer.bias.copy_(torch.from_numpy(weights[2]))


def _pair(shape=(3, 4, 5, 4, 2), filters=3, df="channels_first", manual=False, initial=False, mask=None,
          train=False, calls=1, carried=None, dtype="float64", **kw):
    """Keras's layer and the torch port with Keras's (perturbed) weights; ``calls`` calls each on fresh inputs.

    Returns the per-call figures (max |diff| / max |Keras's|: outputs, input, initial-state and weight gradients)
    and both seed states after the calls. ``train`` is a bool or one per call; ``carried`` puts ``mask`` on the
    torch input with ``set_keras_mask`` instead of passing ``mask=``."""
    n, t, h, w, c = shape
    rng = np.random.default_rng(1)
    kl = layers.ConvLSTM2D(filters, **kw)
    kl.build(shape)
    weights = [(v + rng.normal(size=v.shape) * 0.3).astype(v.dtype) for v in kl.get_weights()]
    kl.set_weights(weights)
    tl = tnn.ConvLSTM2D(c, filters, data_format=df, **kw)
    _manual_load(tl, weights) if manual else load_keras_weights(tl, weights)
    cl = df == "channels_last"
    to_k = (lambda a: a) if cl else (lambda a: a.movedim(-3, -1))  # torch layout -> Keras's
    from_k = (lambda a: a) if cl else (lambda a: np.moveaxis(a, -1, -3))
    trains = train if isinstance(train, (list, tuple)) else [train] * calls
    figures = []
    for training in trains:
        x = rng.normal(size=shape).astype(dtype)
        xk, xt = tf.Variable(x), torch.tensor(from_k(x), requires_grad=True)
        kargs, targs, srcs_t = {}, {}, [xt]
        if mask is not None:
            kargs["mask"] = tf.constant(mask)
            if carried:
                xt_in = set_keras_mask(xt, torch.tensor(mask))
            else:
                targs["mask"] = torch.tensor(mask)
        if initial:
            ho, wo = tl.output_size(h, w)
            h0, c0 = (rng.normal(size=(n, ho, wo, filters)).astype(dtype) for _ in range(2))
            hk, ck = tf.Variable(h0), tf.Variable(c0)
            kargs["initial_state"] = [hk, ck]
            ht = torch.tensor(from_k(h0), requires_grad=True)
            ct = torch.tensor(from_k(c0), requires_grad=True)
            targs["initial_state"] = (ht, ct)
            srcs_t += [ht, ct]
        with tf.GradientTape() as tape:
            out = kl(xk, training=training, **kargs)
            outs = list(out) if isinstance(out, (list, tuple)) else [out]
            gs = [rng.normal(size=o.shape).astype(dtype) for o in outs]
            loss = sum(tf.reduce_sum(o * g) for o, g in zip(outs, gs))
        gk = tape.gradient(loss, [xk] + ([hk, ck] if initial else []) + kl.trainable_weights)
        tl.train(training)
        tl.zero_grad()
        tout = tl(xt_in if (mask is not None and carried) else xt, **targs)
        touts = list(tout) if isinstance(tout, (list, tuple)) else [tout]
        assert len(touts) == len(outs)
        sum((to_k(o) * torch.tensor(g)).sum() for o, g in zip(touts, gs)).backward()
        fig = {"out": max(_rel(to_k(o).detach().numpy(), ko.numpy()) for o, ko in zip(touts, outs))}
        for name, a, b in zip(["x", "h0", "c0"], srcs_t, gk):
            fig["g" + name] = _rel(to_k(a.grad).numpy(), b.numpy())  # the channels are axis -3 in 5-D and 4-D
        tw = [tl.weight_ih.grad.permute(2, 3, 1, 0), tl.weight_hh.grad.permute(2, 3, 1, 0)]
        tw += [tl.bias.grad] if tl.bias is not None else []
        for name, a, b in zip(["kernel", "recurrent", "bias"], tw, gk[len(srcs_t):]):
            fig["g_" + name] = _rel(a.numpy(), b.numpy())
        figures.append(fig)
    return figures, tuple(kl.cell.seed_generator.state.numpy().tolist()), tuple(tl.stream.state)


def _check(figures, dtype="float64", label=""):
    worst = max(max(f.values()) for f in figures)
    print(f"{label}: worst {worst:.2g}", {k: f"{v:.1e}" for k, v in figures[-1].items()})
    assert worst < TOL[dtype], figures


# --------------------------------------------------------------------------------------------------------------
# forms: data formats, shapes, kernels, strides, dilation, padding, both weight paths
# --------------------------------------------------------------------------------------------------------------

FORMS = {
    "valid_3x2": dict(shape=(2, 3, 7, 5, 3), filters=4, kernel_size=(3, 2)),
    "same_even_2x2_s21": dict(shape=(2, 3, 7, 5, 3), filters=4, kernel_size=(2, 2), padding="same", strides=(2, 1)),
    "same_4x2_s21": dict(shape=(2, 3, 8, 6, 3), filters=2, kernel_size=(4, 2), padding="same", strides=(2, 1)),
    "same_2x3_dil21": dict(shape=(2, 3, 7, 5, 3), filters=4, kernel_size=(2, 3), padding="same", dilation_rate=(2, 1)),
    "valid_2x3_dil2": dict(shape=(2, 3, 9, 7, 3), filters=4, kernel_size=(2, 3), dilation_rate=2),
    "valid_s2_T1": dict(shape=(2, 1, 7, 5, 3), filters=4, kernel_size=(3, 2), strides=2),
    "same_no_bias_acts": dict(shape=(2, 3, 7, 5, 4), filters=4, kernel_size=(3, 3), padding="same", use_bias=False,
                              activation="relu", recurrent_activation="hard_sigmoid", unit_forget_bias=False),
}


def test_forms_representative():
    """Default: non-square image, (2, 2) kernel with TensorFlow's odd ``same`` pad, strides (2, 1), F != C,
    channels_first, README's ``load_keras_weights``; the manual transposes give the same parameters (both paths
    and both data formats against Keras: ``test_forms_grid``, slow)."""
    figs, _, _ = _pair(return_sequences=True, **FORMS["same_even_2x2_s21"])
    _check(figs, label="same_even_2x2_s21 channels_first")
    weights = [np.random.default_rng(2).normal(size=s) for s in [(2, 3, 3, 16), (2, 3, 4, 16), (16,)]]
    a, b = tnn.ConvLSTM2D(3, 4, (2, 3)), tnn.ConvLSTM2D(3, 4, (2, 3), data_format="channels_last")
    load_keras_weights(a, weights)
    _manual_load(b, weights)
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert torch.equal(p, q), name


@pytest.mark.slow
@pytest.mark.parametrize("manual", [False, True])
@pytest.mark.parametrize("df", ["channels_first", "channels_last"])
@pytest.mark.parametrize("form", sorted(FORMS))
def test_forms_grid(form, df, manual):
    figs, _, _ = _pair(df=df, manual=manual, **FORMS[form])
    _check(figs, label=f"{form} {df} manual={manual}")


def test_keras_weights_round_trip():
    kl = layers.ConvLSTM2D(4, (3, 2), use_bias=True)
    kl.build((1, 2, 7, 5, 3))
    weights = [v + np.random.default_rng(0).normal(size=v.shape) for v in kl.get_weights()]
    tl = load_keras_weights(tnn.ConvLSTM2D(3, 4, (3, 2)), weights)
    back = keras_weights(tl)
    assert [b.shape for b in back] == [(3, 2, 3, 16), (3, 2, 4, 16), (16,)]
    for a, b in zip(back, weights):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------------------------------------------
# return_sequences x return_state x go_backwards, initial_state; masks
# --------------------------------------------------------------------------------------------------------------

FLAGS = list(itertools.product([False, True], repeat=3))


def _mask():
    m = np.ones((3, 4), bool)
    m[0, 0] = False  # the first step masked
    m[1, :] = False  # a fully masked row
    m[2, [1, 3]] = False  # gaps, last step masked
    return m


def test_all_flags_initial_state_mask():
    """Default: every flag at once with ``initial_state`` and a mask (first step, a full row, gaps)."""
    figs, _, _ = _pair(kernel_size=(3, 2), padding="same", return_sequences=True, return_state=True,
                       go_backwards=True, initial=True, mask=_mask())
    _check(figs, label="rs+rst+gb+initial+mask")


@pytest.mark.slow
@pytest.mark.parametrize("df", ["channels_first", "channels_last"])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("rs,rst,gb", FLAGS)
def test_flags_grid(rs, rst, gb, masked, df):
    figs, _, _ = _pair(kernel_size=(2, 2), padding="same", strides=(2, 1) if masked else 1, df=df,
                       return_sequences=rs, return_state=rst, go_backwards=gb, initial=True,
                       mask=_mask() if masked else None, shape=(3, 4, 7, 5, 2))
    _check(figs, label=f"rs={rs} rst={rst} gb={gb} masked={masked} {df}")


@pytest.mark.slow
def test_mask_edge_cases():
    figs, _, _ = _pair(shape=(3, 1, 5, 4, 2), kernel_size=(2, 2), padding="same", go_backwards=True,
                       return_state=True, mask=np.array([[False], [True], [True]]))
    _check(figs, label="T=1 masked row")
    figs, _, _ = _pair(kernel_size=(2, 2), padding="same", return_sequences=True, mask=_mask().astype(np.int64))
    _check(figs, label="int mask")
    figs, _, _ = _pair(shape=(1, 4, 5, 4, 2), kernel_size=(2, 2), padding="same", return_sequences=True,
                       return_state=True, go_backwards=True, mask=np.zeros((1, 4), bool))
    _check(figs, label="the only row fully masked")


@pytest.mark.slow
def test_carried_mask_gradients():
    figs, _, _ = _pair(kernel_size=(3, 2), padding="same", return_sequences=True, mask=_mask(), carried=True,
                       df="channels_last")
    _check(figs, label="carried (N, T) mask")


def test_carried_mask_and_explicit_override():
    """A mask carried by ``set_keras_mask`` is Keras's ``mask=``; an explicit ``mask=`` wins over a carried one;
    the sequence output carries the mask unreversed (Keras's ``compute_mask``, conv_lstm.py:564-571), the states
    and a last-step output none."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, 5, 4, 2))
    m2 = np.ones((3, 4), bool)
    m2[1, 2:] = False
    kl = layers.ConvLSTM2D(3, (3, 2), padding="same", return_sequences=True, return_state=True, go_backwards=True)
    kl.build(x.shape)
    tl = tnn.ConvLSTM2D(2, 3, (3, 2), padding="same", return_sequences=True, return_state=True, go_backwards=True,
                        data_format="channels_last")
    load_keras_weights(tl, kl.get_weights())
    yk = kl(x, mask=tf.constant(m2))
    carried = tl(set_keras_mask(torch.tensor(x), torch.tensor(m2)))
    d = max(_rel(a.detach().numpy(), b.numpy()) for a, b in zip(carried, yk))
    print(f"carried mask: {d:.2g}")
    assert d < TOL["float64"]
    yt = tl(set_keras_mask(torch.tensor(x), torch.tensor(_mask())), mask=torch.tensor(m2))
    d = max(_rel(a.detach().numpy(), b.numpy()) for a, b in zip(yt, yk))
    print(f"explicit mask over a carried one: {d:.2g}")
    assert d < TOL["float64"]
    assert torch.equal(get_keras_mask(yt[0]), torch.tensor(m2))
    assert get_keras_mask(yt[1]) is None and get_keras_mask(yt[2]) is None
    tl.return_sequences = False
    assert get_keras_mask(tl(set_keras_mask(torch.tensor(x), torch.tensor(m2)))[0]) is None


def test_masking_layer_to_conv_lstm():
    """Keras: ``Masking(-1.0) -> ConvLSTM2D(padding="same", return_sequences=True)`` with whole masked steps and
    single masked pixels; the port: ``torch_impl.nn.Masking(-1.0)`` -> ``ConvLSTM2D(data_format="channels_last")``.
    The per-pixel oracle (``T = 1`` torch calls, ``where`` per pixel) is checked against Keras first."""
    rng = np.random.default_rng(0)
    n, t, h, w, c, f = 3, 4, 5, 4, 2, 3
    x = rng.normal(size=(n, t, h, w, c))
    x[0, 0] = x[1, :] = x[2, 2] = -1.0  # whole steps
    x[0, 1, 2, 1] = -1.0  # one pixel
    x[2, 3, 0, :] = -1.0  # a row of pixels
    kl = layers.ConvLSTM2D(f, (3, 2), padding="same", return_sequences=True)
    kl.build(x.shape)
    kl.set_weights([v + rng.normal(size=v.shape) * 0.3 for v in kl.get_weights()])
    yk = kl(layers.Masking(-1.0)(x)).numpy()
    step = tnn.ConvLSTM2D(c, f, (3, 2), padding="same", data_format="channels_last", return_state=True)
    load_keras_weights(step, kl.get_weights())
    keep = torch.tensor((x != -1.0).any(-1))[..., None]  # (N, T, H, W, 1)
    xs = torch.tensor(x) * keep
    hs = cs = prev = torch.zeros(n, h, w, f)
    outs = []
    with torch.no_grad():
        for s in range(t):
            o, h2, c2 = step(xs[:, s:s + 1], initial_state=(hs, cs))
            hs, cs, prev = (torch.where(keep[:, s], a, b) for a, b in ((h2, hs), (c2, cs), (o, prev)))
            outs.append(prev)
    oracle = _rel(torch.stack(outs, 1).numpy(), yk)
    step_mask = _rel(kl(x, mask=tf.constant((x != -1.0).any((2, 3, 4)))).numpy(), yk)
    print(f"Keras Masking->ConvLSTM2D vs per-pixel oracle {oracle:.2g}, vs a step mask {step_mask:.2g}")
    assert oracle < TOL["float64"] and step_mask > 0.1
    tl = tnn.ConvLSTM2D(c, f, (3, 2), padding="same", data_format="channels_last", return_sequences=True)
    load_keras_weights(tl, kl.get_weights())
    d = _rel(tl(tnn.Masking(-1.0)(torch.tensor(x))).detach().numpy(), yk)
    print(f"torch Masking->ConvLSTM2D: {d:.2g}")
    assert d < TOL["float64"]
    # fixed after this audit: channels-first frames take the per-pixel mask given explicitly, go_backwards too;
    # Masking's own mask of channels-first frames (it reduces the last axis, W) raises
    kb = layers.ConvLSTM2D(f, (3, 2), padding="same", return_sequences=True, go_backwards=True)
    kb.build(x.shape)
    kb.set_weights(kl.get_weights())
    ykb = kb(layers.Masking(-1.0)(x)).numpy()
    tb = tnn.ConvLSTM2D(c, f, (3, 2), padding="same", return_sequences=True, go_backwards=True)
    load_keras_weights(tb, kl.get_weights())
    xf = torch.tensor(x).permute(0, 1, 4, 2, 3)
    db = _rel(tb(xf * (xf != -1.0).any(2, keepdim=True), mask=(xf != -1.0).any(2)).detach().permute(
        0, 1, 3, 4, 2).numpy(), ykb)
    print(f"channels-first, explicit per-pixel mask, go_backwards: {db:.2g}")
    assert db < TOL["float64"]
    with pytest.raises(ValueError, match="Masking reduces the last axis"):
        tb(tnn.Masking(-1.0)(xf))


# --------------------------------------------------------------------------------------------------------------
# dropout / recurrent_dropout: Keras's masks and seed stream
# --------------------------------------------------------------------------------------------------------------


def test_dropout_stream_train_eval_train():
    """Default: seeded dropout and recurrent dropout, an eval call then a training call: each call's numbers and
    the seed state (eval advances it, as Keras's ``RNN.call`` draws the masks anyway, so the training call's masks
    are the stream's second set); three training calls per rate: ``test_dropout_grid`` (slow)."""
    figs, ks, ts = _pair(kernel_size=(3, 2), padding="same", dropout=0.3, recurrent_dropout=0.4, seed=7,
                         train=[False, True], return_sequences=True, mask=_mask())
    _check(figs, label="dropout eval/train")
    print("seed states", ks, ts)
    assert ks == ts == (7, 16)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:dropout=1.0")
@pytest.mark.parametrize("df", ["channels_first", "channels_last"])
@pytest.mark.parametrize("rates", [(0.3, 0.0), (0.0, 0.4), (0.3, 0.4), (1.0, 0.2)])
def test_dropout_grid(rates, df):
    last = df == "channels_last"  # there also backwards, strides (2, 1) and a mask
    figs, ks, ts = _pair(kernel_size=(2, 2), padding="same", dropout=rates[0], recurrent_dropout=rates[1], seed=3,
                         train=True, calls=3, df=df, initial=True, return_state=True, go_backwards=last,
                         strides=(2, 1) if last else 1, mask=_mask() if last else None)
    _check(figs, label=f"dropout {rates} {df}")
    print("seed states", ks, ts)
    assert ks == ts


@pytest.mark.slow
def test_float32_subset():
    with _precision("float32"):
        figs, ks, ts = _pair(kernel_size=(3, 2), padding="same", dropout=0.3, recurrent_dropout=0.2, seed=3,
                             train=True, calls=2, return_sequences=True, return_state=True, mask=_mask(),
                             dtype="float32")
        _check(figs, "float32", label="float32 dropout+mask")
        assert ks == ts
        figs, _, _ = _pair(kernel_size=(2, 3), strides=(2, 1), padding="same", go_backwards=True, initial=True,
                           dtype="float32", shape=(3, 4, 7, 5, 2))
        _check(figs, "float32", label="float32 strides+backwards+initial")


# --------------------------------------------------------------------------------------------------------------
# Keras's initial weights and a 2-epoch fit
# --------------------------------------------------------------------------------------------------------------


def test_keras_init_seed_single_layer():
    """``keras_init_(layer, seed=5)`` vs ``set_random_seed(5); ConvLSTM2D(...)`` built: the weights and the
    dropout generator's seed (the cell's generator draws first)."""
    keras.utils.set_random_seed(5)
    kl = layers.ConvLSTM2D(4, (3, 2), padding="same", recurrent_dropout=0.1)
    kl.build((1, 2, 7, 5, 3))
    tl = tnn.keras_init_(tnn.ConvLSTM2D(3, 4, (3, 2), padding="same", recurrent_dropout=0.1), seed=5)
    d = [_rel(a, b) for a, b in zip(keras_weights(tl), kl.get_weights())]
    print("keras_init_ vs Keras (kernel, recurrent, bias):", d, tl.stream, kl.cell.seed_generator.state.numpy())
    assert d[0] == 0.0 and d[2] == 0.0 and d[1] < 1e-6  # orthogonal: QR rounding
    assert tuple(tl.stream.state) == tuple(kl.cell.seed_generator.state.numpy().tolist())


@pytest.mark.slow
def test_keras_init_seed_three_layers():
    """A seeded layer (draws no generator seed), ``use_bias=False``, ``unit_forget_bias=False``; then a training
    forward pass of the stack (the first layer's seeded dropout) against Keras's."""
    keras.utils.set_random_seed(9)
    km = keras.Sequential([
        keras.Input((3, 7, 5, 2)),
        layers.ConvLSTM2D(3, (3, 2), padding="same", return_sequences=True, seed=4, dropout=0.1),
        layers.ConvLSTM2D(2, (2, 2), padding="same", use_bias=False, return_sequences=True),
        layers.ConvLSTM2D(2, (2, 3), unit_forget_bias=False)])
    net = tnn.keras_init_(torch.nn.Sequential(
        tnn.ConvLSTM2D(2, 3, (3, 2), padding="same", return_sequences=True, seed=4, dropout=0.1),
        tnn.ConvLSTM2D(3, 2, (2, 2), padding="same", use_bias=False, return_sequences=True),
        tnn.ConvLSTM2D(2, 2, (2, 3), unit_forget_bias=False)), seed=9)
    d = [_rel(a, b) for a, b in zip(keras_weights(net), km.get_weights())]
    streams = [tuple(t.stream.state) for t in net], [tuple(k.cell.seed_generator.state.numpy().tolist()) for k in km.layers]
    x = np.random.default_rng(0).normal(size=(2, 3, 7, 5, 2))
    out = _rel(net.train()(torch.tensor(x).movedim(-1, 2)).movedim(1, -1).detach().numpy(), km(x, training=True).numpy())
    print("three layers: weights", [f"{v:.1e}" for v in d], "streams", streams, f"training output {out:.2g}")
    assert max(d) < 1e-14 and streams[0] == streams[1] and out < TOL["float64"]


N_FIT, T_FIT, H_FIT, W_FIT, F_FIT, SEED_FIT = 8, 3, 6, 5, 3, 11


class _Stack(torch.nn.Module):
    """ConvLSTM2D(relu, dropout) -> BatchNormalization -> ConvLSTM2D -> Conv3D (sigmoid via ``output_activation``)."""

    def __init__(self):
        super().__init__()
        self.c1 = tnn.ConvLSTM2D(1, F_FIT, (3, 3), padding="same", return_sequences=True, activation="relu",
                                 dropout=0.2, recurrent_dropout=0.1)
        self.bn = tnn.BatchNormalization(F_FIT, axis=2)
        self.c2 = tnn.ConvLSTM2D(F_FIT, F_FIT, (2, 3), padding="same", return_sequences=True)
        self.conv = torch.nn.Conv3d(F_FIT, 1, (3, 3, 3), padding=1)

    def forward(self, x):
        z = self.c2(self.bn(self.c1(x)))
        return self.conv(z.transpose(1, 2)).movedim(1, -1)  # (N, T, H, W, 1), Keras's layout


@pytest.mark.slow
def test_stack_fit_from_seed():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(N_FIT, T_FIT, H_FIT, W_FIT, 1))
    y = (rng.random((N_FIT, T_FIT, H_FIT, W_FIT, 1)) > 0.5).astype(np.float64)
    if True:  # float64: the autouse fixture
        keras.utils.set_random_seed(SEED_FIT)
        km = keras.Sequential([
            keras.Input((T_FIT, H_FIT, W_FIT, 1)),
            layers.ConvLSTM2D(F_FIT, (3, 3), padding="same", return_sequences=True, activation="relu", dropout=0.2,
                              recurrent_dropout=0.1),
            layers.BatchNormalization(),
            layers.ConvLSTM2D(F_FIT, (2, 3), padding="same", return_sequences=True),
            layers.Conv3D(1, (3, 3, 3), padding="same", activation="sigmoid")])
        k0 = km.get_weights()
        km.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
        hk = km.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=True).history
        net = tnn.keras_init_(_Stack(), seed=SEED_FIT)
        init = max(_rel(a, b) for a, b in zip(keras_weights(net), k0))
        ht = tfit.fit(net, torch.tensor(x).movedim(-1, 2), torch.tensor(y), loss="binary_crossentropy",
                      optimizer=optim.Adam(net.parameters(), learning_rate=1e-2), batch_size=4, epochs=2,
                      seed=SEED_FIT, output_activation="sigmoid", verbose=0).history
        rel = [abs(a - b) / abs(b) for a, b in zip(ht["loss"], hk["loss"])]
        final = max(_rel(a, b) for a, b in zip(keras_weights(net), km.get_weights()))
        print(f"initial weights {init:.2g}, loss rel {rel}, final weights {final:.2g}, streams", net.c1.stream,
              km.layers[0].cell.seed_generator.state.numpy())
        assert init < 1e-14 and max(rel) < 1e-14 and final < 1e-13  # init: the orthogonal's QR rounding
        assert tuple(net.c1.stream.state) == tuple(km.layers[0].cell.seed_generator.state.numpy().tolist())


# --------------------------------------------------------------------------------------------------------------
# errors: Keras's types
# --------------------------------------------------------------------------------------------------------------


def _raises(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return type(e)
    return None


def test_errors_as_keras():
    built = layers.ConvLSTM2D(2, 3)
    built(np.zeros((2, 3, 5, 5, 1)))
    cases = {
        "rank 4": (lambda: layers.ConvLSTM2D(2, 3)(np.zeros((2, 3, 5, 5))),
                   lambda: tnn.ConvLSTM2D(1, 2, 3)(torch.zeros(2, 3, 5, 5))),
        "channels": (lambda: built(np.zeros((2, 3, 5, 5, 2))),
                     lambda: tnn.ConvLSTM2D(1, 2, 3)(torch.zeros(2, 3, 2, 5, 5))),
        "channels_last channels": (lambda: built(np.zeros((2, 3, 5, 5, 2))),
                                   lambda: tnn.ConvLSTM2D(1, 2, 3, data_format="channels_last")(
                                       torch.zeros(2, 3, 5, 5, 2))),
        "strides+dilation": (lambda: layers.ConvLSTM2D(2, 3, strides=(2, 1), dilation_rate=(1, 2)),
                             lambda: tnn.ConvLSTM2D(1, 2, 3, strides=(2, 1), dilation_rate=(1, 2))),
        "padding causal": (lambda: layers.ConvLSTM2D(2, 3, padding="causal"),
                           lambda: tnn.ConvLSTM2D(1, 2, 3, padding="causal")),
        "padding full": (lambda: layers.ConvLSTM2D(2, 3, padding="full"),
                         lambda: tnn.ConvLSTM2D(1, 2, 3, padding="full")),
        "data_format": (lambda: layers.ConvLSTM2D(2, 3, data_format="nchw"),
                        lambda: tnn.ConvLSTM2D(1, 2, 3, data_format="nchw")),
        "too small": (lambda: layers.ConvLSTM2D(2, 3)(np.zeros((1, 2, 2, 5, 1))),
                      lambda: tnn.ConvLSTM2D(1, 2, 3)(torch.zeros(1, 2, 1, 2, 5))),
    }
    for name, (k, t) in cases.items():
        kt, tt = _raises(k), _raises(t)
        print(name, kt, tt)
        assert kt is ValueError and tt is ValueError, (name, kt, tt)
    # upper-case padding is accepted by both
    assert tuple(tnn.ConvLSTM2D(1, 2, 3, padding="SAME")(torch.zeros(1, 2, 1, 5, 5)).shape) == (1, 2, 5, 5)

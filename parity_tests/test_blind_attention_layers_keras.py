"""Blind audit 18 (helper h87): ``torch_impl.nn.Attention`` and ``torch_impl.nn.AdditiveAttention`` written from
README.md (the "AdditiveAttention" paragraph) and their public docstrings (``help(Attention)``,
``help(AdditiveAttention)``, ``keras_init_``, ``set_keras_mask``, ``Masking``) alone (torch_impl/attention.py and
the author's tests unread), against Keras 3.15.1's ``keras.layers.Attention`` / ``AdditiveAttention`` on
TensorFlow 2.21, run in the same process.

Every case builds Keras's layer, sets its weights to non-default values (``scale`` 0.7, ``concat_score_weight``
1.3, a random ``(dim,)`` additive scale), moves them to the torch layer with ``load_keras_weights``, calls both
with ``return_attention_scores=True`` and compares the output, the scores and the gradients of
``sum(out * g) + sum(scores * h)`` (random ``g``, ``h``) with respect to the query, the value, the key and every
weight. Figures are max |diff| (absolute; the inputs are O(1)).

Measured (float64 unless said; the max over every case and call, printed by each test): the 36 score forms
(dot / concat / additive, ``use_scale`` on and off, with and without a separate key, Tq < Tv, batch 1 with
Tq > Tv, rank-4 ``(B, X, T, dim)`` inputs), the 54 mask cases (explicit ``[query_mask, value_mask]`` as bool,
int and float, ``None`` in either slot, a third (key) mask ignored, a fully masked value row, ``use_causal_mask``
with Tq < Tv and Tq > Tv, causal + masks, masks carried by ``set_keras_mask`` on query/value/key, an explicit
mask winning over carried ones, rank 4 with a ``(B, X, Tq)`` query mask / a ``(B, Tv)`` value mask / causal) and
seeded dropout (rates 0.1 to 1.0, three training calls; an eval/train/eval/train sequence): outputs within
5.0e-16, scores 2.7e-16, query gradients 1.0e-15, value 5.3e-16, key 6.7e-16, ``scale`` /
``concat_score_weight`` gradients 2.8e-15 relative (a sum over every score); the output's carried mask equal to
Keras's ``compute_mask`` (the query's) in every case; the seed state equal after every sequence (eval calls and
rate 1.0 draw nothing on both sides). float32 subset (slow): 4.7e-7. Keras's ``Embedding(mask_zero=True)`` and
``Masking`` outputs into the layers vs ``torch.nn.Embedding`` + ``set_keras_mask`` and ``torch_impl.nn.Masking``:
outputs, scores and a masked ``GlobalAveragePooling1D`` of the output within 1.1e-16, the output's mask Keras's.
A fully masked value row: 1.4e-17 from Keras, 2.1e-8 from the unmasked softmax (not zeros). ``training=``: an
eval-mode port equals Keras's direct call (0.0), a train-mode one Keras's ``training=True`` (4.2e-17), seed
states (3, 1) on both. ``load_keras_weights`` / ``keras_weights``: Keras's arrays back bit for bit (0-d
``scale``/``concat_score_weight``, ``(dim,)`` additive scale, none without weights); ``keras_init_(seed=21)`` on
AdditiveAttention(dropout) / Attention(concat, dropout) / AdditiveAttention(): weights 0.0 from Keras's, the
unseeded generators' seeds equal. Float32 inputs to a float64 layer: cast as Keras (0.0); a weightless port
without ``dtype`` computes in the query's float32 (5.7e-8), as its docstring says. Embedding(mask_zero) ->
Bidirectional(LSTM, return_sequences) -> Attention([h, h]) (dot, concat, additive; dropout 0.2 seeded) ->
GlobalAveragePooling1D -> Dense(sigmoid), 2-epoch ``fit`` vs ``model.fit`` (slow): loss relative difference
<= 3.3e-16 per epoch, final weights 3.9e-16, the attention seed stream (4, 6) on both. Errors: wrong list lengths,
a tensor instead of a list, a mask that is not a list or of length 1 / 4, a bad ``score_mode``: ``ValueError`` on
both sides; shapes that do not fit (query/key widths for each score, value/key lengths, a value mask's length,
rank 4 with a ``(B, X, Tv)`` value mask): TensorFlow's ``InvalidArgumentError`` / ``ValueError`` or
``RuntimeError``.

Findings: ``test_tuple_inputs_taken_where_keras_raises``: a tuple ``(query, value)`` or a tuple mask runs in
torch_impl (kept, a README "deliberately differ" row), Keras raises ``ValueError`` (keras/src/layers/attention/attention.py:287 and :300 test
``isinstance(..., list)``); ``test_dropout_rate_above_one_raises_as_keras``: ``dropout=1.5`` in a training call
returns zeros (and advances the seed) in torch_impl, Keras raises ``ValueError`` from TensorFlow's
``stateless_dropout`` (keras/src/backend/tensorflow/random.py:86-97: only a rate of exactly 1.0 returns zeros):
fixed, torch_impl raises the same ``ValueError``.

Run: ``.venv/bin/python -m pytest -q -s -p no:cacheprovider parity_tests/test_blind_attention_layers_keras.py``
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
from keras.src import backend as kbackend  # noqa: E402

from parity_tests.test_field_scripts_round2 import _precision  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl.nn import keras_weights, load_keras_weights  # noqa: E402
from torch_impl.utils import get_keras_mask, set_keras_mask  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

TOL = {"float64": 5e-15, "float32": 5e-6}  # max |diff|, outputs, scores and every gradient


@pytest.fixture(autouse=True)
def _float64_seeded():
    """float64 on both sides (Keras's floatx, torch's default dtype); the same random data every run."""
    with _precision("float64"):
        keras.utils.set_random_seed(0)
        yield


def _d(a, b) -> float:
    """max |a - b| / max(1, max |b|): absolute on the O(1) outputs and gradients, relative on the larger
    weight gradients (a sum over every score)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    if np.isnan(a).any() or np.isnan(b).any():
        assert np.array_equal(np.isnan(a), np.isnan(b)), "NaN in other places"
        a, b = np.nan_to_num(a), np.nan_to_num(b)
    return float(np.max(np.abs(a - b)) / max(1.0, np.max(np.abs(b)))) if a.size else 0.0


def _layers(kind, dim, dtype="float64", **kw):
    """Keras's layer built on ``dim``-wide queries, its weights perturbed, and the torch layer holding them."""
    if kind == "additive":
        kl = layers.AdditiveAttention(**kw)
        tl = tnn.AdditiveAttention(dim, **kw)
    else:
        kl = layers.Attention(**kw)
        tl = tnn.Attention(**kw)
    kl.build([(None, None, dim), (None, None, dim)])
    rng = np.random.default_rng(7)
    weights = []
    for w in kl.get_weights():
        if w.shape == ():
            weights.append(np.array(0.7 if not weights else 1.3, dtype=w.dtype))
        else:
            weights.append(rng.normal(size=w.shape).astype(w.dtype))
    kl.set_weights(weights)
    load_keras_weights(tl, weights)
    return kl, tl, weights


def _as_mask(m, dt):
    if m is None:
        return None, None
    m = np.asarray(m)
    return m.astype(dt), torch.from_numpy(m.astype(dt))


def _pair(kind="dot", shapes=((2, 3, 4), (2, 5, 4)), key=False, mask=None, mask_dtype=bool, carried=None,
          causal=False, train=False, calls=1, dtype="float64", scores=True, **kw):
    """One Keras layer and its port, ``calls`` calls on fresh inputs; per call the figures (out, scores, dq, dv,
    dk, weight gradients...) and both seed states at the end.

    ``mask``: ``[query_mask, value_mask]`` passed as ``mask=``; ``carried``: ``(query_mask, value_mask,
    key_mask)`` set on the inputs (Keras's ``set_keras_mask`` on its tensors, torch_impl's on the torch ones)."""
    kwargs = dict(kw)
    if kind in ("dot", "concat"):
        kwargs["score_mode"] = kind
    q_shape, v_shape = shapes
    kl, tl, _ = _layers("additive" if kind == "additive" else "luong", q_shape[-1], **kwargs)
    if dtype == "float32":
        tl.float()
    rng = np.random.default_rng(11)
    trains = train if isinstance(train, (list, tuple)) else [train] * calls
    figs = []
    for step in range(calls):
        arrays = [rng.normal(size=q_shape), rng.normal(size=v_shape)]
        if key:
            arrays.append(rng.normal(size=v_shape[:-1] + (q_shape[-1],)))
        arrays = [a.astype(dtype) for a in arrays]
        k_in = [tf.constant(a) for a in arrays]
        t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
        kmask = tmask = None
        if mask is not None:
            pairs = [_as_mask(m, mask_dtype) for m in mask]
            kmask, tmask = [p[0] for p in pairs], [p[1] for p in pairs]
        if carried is not None:
            for i, m in enumerate(carried[:len(arrays)]):
                if m is not None:
                    kbackend.set_keras_mask(k_in[i], tf.constant(np.asarray(m, bool)))
                    set_keras_mask(t_in[i], torch.tensor(np.asarray(m, bool)))
        with tf.GradientTape() as tape:
            for t in k_in:
                tape.watch(t)
            kres = kl(k_in, mask=kmask, training=trains[step], return_attention_scores=scores,
                      use_causal_mask=causal)
            kout, kscore = kres if scores else (kres, None)
            g = rng.normal(size=tuple(kout.shape)).astype(dtype)
            loss = tf.reduce_sum(kout * g)
            if scores:
                h = rng.normal(size=tuple(kscore.shape)).astype(dtype)
                loss = loss + tf.reduce_sum(kscore * h)
        kgrads = tape.gradient(loss, k_in + list(kl.trainable_variables))
        tl.zero_grad()
        tres = tl(t_in, mask=tmask, training=trains[step], return_attention_scores=scores, use_causal_mask=causal)
        tout, tscore = tres if scores else (tres, None)
        tloss = (tout * torch.from_numpy(g)).sum()
        if scores:
            tloss = tloss + (tscore * torch.from_numpy(h)).sum()
        tloss.backward()
        tgrads = [t.grad for t in t_in] + [getattr(tl, n).grad for n in ("scale", "concat_score_weight")
                                           if getattr(tl, n, None) is not None]
        f = {"out": _d(tout.detach(), kout)}
        if scores:
            f["scores"] = _d(tscore.detach(), kscore)
        for name, a, b in zip(["dq", "dv", "dk"][:len(arrays)] + ["dw"] * 2, tgrads, kgrads):
            if a is None and b is None:  # nothing reaches it on either side (a rate-1 dropout)
                f[name] = f.get(name, 0.0)
                continue
            a = np.zeros(np.shape(b)) if a is None else a  # torch/Keras give None for an unused input
            b = np.zeros(a.shape) if b is None else b
            f[name] = max(f.get(name, 0.0), _d(a, b))
        kcm, tcm = getattr(kout, "_keras_mask", None), get_keras_mask(tout)
        f["carried mask"] = (None if kcm is None else np.asarray(kcm).tolist(),
                             None if tcm is None else tcm.tolist())
        figs.append(f)
    kstate = tuple(kl.seed_generator.state.numpy().tolist()) if getattr(kl, "seed_generator", None) else None
    tstate = tuple(tl.state) if kl.dropout > 0 else None
    return figs, kstate, tstate


def _check(figs, dtype="float64", label=""):
    per_key = {}  # the max over the calls
    for f in figs:
        for k, v in f.items():
            if k != "carried mask":
                per_key[k] = max(per_key.get(k, 0.0), v)
        assert f["carried mask"][0] == f["carried mask"][1], (label, f["carried mask"])
    worst = max(per_key.values())
    print(label, {k: f"{v:.2g}" for k, v in per_key.items()}, f"worst {worst:.2g}",
          "carried mask", figs[-1]["carried mask"][1])
    assert worst < TOL[dtype], (label, figs)
    return worst


QM = np.array([[1, 0, 1], [0, 1, 1]])  # (B, Tq)
VM = np.array([[1, 1, 0, 0, 1], [0, 0, 0, 0, 0]])  # (B, Tv): the second row fully masked
KM = np.array([[0, 1, 1, 1, 1], [1, 1, 1, 0, 0]])  # a key mask: Keras ignores it


# --------------------------------------------------------------------------------------------------------------
# scores: dot / concat / additive, use_scale, key, Tq != Tv, batch 1, rank 4
# --------------------------------------------------------------------------------------------------------------

SHAPES = {"Tq<Tv": ((2, 3, 4), (2, 5, 4)), "batch 1, Tq>Tv": ((1, 4, 3), (1, 2, 3)),
          "rank 4": ((2, 2, 3, 4), (2, 2, 5, 4))}


def test_scores_representative():
    """Default: each score kind with a separate key (Tq != Tv), weights and every gradient."""
    for kind, us in (("dot", True), ("concat", True), ("additive", True), ("concat", False)):
        figs, _, _ = _pair(kind, key=True, use_scale=us)
        _check(figs, label=f"{kind} use_scale={us} key")


@pytest.mark.slow
@pytest.mark.parametrize("kind,use_scale,key,shape", list(itertools.product(
    ["dot", "concat", "additive"], [True, False], [False, True], list(SHAPES))))
def test_scores_grid(kind, use_scale, key, shape):
    figs, _, _ = _pair(kind, shapes=SHAPES[shape], key=key, use_scale=use_scale)
    _check(figs, label=f"{kind} use_scale={use_scale} key={key} {shape}")


@pytest.mark.slow
def test_float32_subset():
    """float32 on both sides (Keras's floatx and the torch layer's dtype)."""
    with _precision("float32"):
        for kind in ("dot", "concat", "additive"):
            figs, ks, ts = _pair(kind, key=True, use_scale=True, mask=[QM, VM], causal=True, dropout=0.3, seed=2,
                                 train=True, calls=2, dtype="float32")
            _check(figs, "float32", label=f"float32 {kind}")
            assert ks == ts


# --------------------------------------------------------------------------------------------------------------
# masks
# --------------------------------------------------------------------------------------------------------------

MASK_CASES = {
    "both bool": dict(mask=[QM, VM]), "both int": dict(mask=[QM, VM], mask_dtype=np.int32),
    "both float": dict(mask=[QM, VM], mask_dtype=np.float64),
    "query only": dict(mask=[QM, None]), "value only": dict(mask=[None, VM]), "None, None": dict(mask=[None, None]),
    "three masks (key's ignored)": dict(mask=[QM, VM, KM], key=True),
    "causal Tq<Tv": dict(causal=True), "causal Tq>Tv": dict(causal=True, shapes=((2, 5, 4), (2, 3, 4))),
    "causal + masks": dict(causal=True, mask=[QM, VM]),
    "carried q, v": dict(carried=(QM, VM)), "carried q, v, k": dict(carried=(QM, VM, KM), key=True),
    "carried k only": dict(carried=(None, None, KM), key=True), "carried v only": dict(carried=(None, VM)),
    "explicit wins over carried": dict(carried=(QM, VM), mask=[None, KM]),
    "rank 4, (B, X, Tq) query mask": dict(shapes=((2, 2, 3, 4), (2, 2, 5, 4)), mask=[np.stack([QM, QM[::-1]], 1),
                                                                                       None]),
    "rank 4, (B, Tv) value mask": dict(shapes=((2, 2, 3, 4), (2, 2, 5, 4)), mask=[None, VM]),
    "rank 4, causal": dict(shapes=((2, 2, 3, 4), (2, 2, 5, 4)), causal=True),
}


def test_masks_representative():
    """Default: int masks with a fully masked value row, causal with Tq > Tv plus masks, carried masks with a key,
    an explicit mask over carried ones; the output's carried mask as Keras's (``compute_mask``: the query's)."""
    for kind, case in (("dot", "both int"), ("additive", "causal + masks"), ("concat", "carried q, v, k"),
                       ("dot", "explicit wins over carried")):
        figs, _, _ = _pair(kind, use_scale=True, **MASK_CASES[case])
        _check(figs, label=f"{kind} {case}")


@pytest.mark.slow
@pytest.mark.parametrize("kind,case", list(itertools.product(["dot", "concat", "additive"], list(MASK_CASES))))
def test_masks_grid(kind, case):
    figs, _, _ = _pair(kind, use_scale=True, **MASK_CASES[case])
    _check(figs, label=f"{kind} {case}")


def test_fully_masked_row_not_zeros():
    """README: "a fully masked row is not zeros": the -1e9 shift leaves the softmax of the row's own scores (in
    float64 within ~1e-7), in both Keras and the port."""
    rng = np.random.default_rng(3)
    q, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4))
    kout, ksc = layers.Attention()([q, v], mask=[None, VM.astype(bool)], return_attention_scores=True)
    tout, tsc = tnn.Attention()([torch.tensor(q), torch.tensor(v)], mask=[None, torch.tensor(VM.astype(bool))],
                                return_attention_scores=True)
    plain = torch.softmax(torch.tensor(q[1] @ v[1].T), -1).numpy()
    print("fully masked row vs Keras", _d(tsc[1].detach(), ksc[1]), "vs the unmasked softmax", _d(tsc[1].detach(),
          plain))
    assert _d(tsc.detach(), ksc) < 1e-15 and _d(tout.detach(), kout) < 1e-15
    assert _d(tsc[1].detach(), plain) < 1e-6 and float(tsc[1].min()) > 0


def test_embedding_masking_propagation():
    """Carried masks from real producers: Keras's ``Embedding(mask_zero=True)`` and ``Masking`` outputs into
    ``Attention([query, value])`` vs ``torch.nn.Embedding`` + ``set_keras_mask`` and ``torch_impl.nn.Masking``;
    the output's mask (Keras: the query's) and its use by ``GlobalAveragePooling1D``."""
    tokens = np.array([[3, 1, 0, 0, 2], [0, 4, 4, 1, 0]])
    ke = layers.Embedding(6, 4, mask_zero=True)
    kx = ke(tokens)
    te = torch.nn.Embedding(6, 4)
    load_keras_weights(te, ke.get_weights())
    tx = set_keras_mask(te(torch.tensor(tokens)), torch.tensor(tokens != 0))
    rng = np.random.default_rng(4)
    qv = rng.normal(size=(2, 3, 4))
    qv[0, 1] = -1.0
    qv[1, :] = np.where(np.arange(3)[:, None] == 2, -1.0, qv[1])
    kq = layers.Masking(-1.0)(qv)
    tq = tnn.Masking(-1.0)(torch.tensor(qv))
    for kind in ("dot", "additive"):
        kl, tl, _ = _layers("additive" if kind == "additive" else "luong", 4, use_scale=True)
        for name, (ki, ti) in {"[masking q, embedded v]": ([kq, kx], [tq, tx]),
                               "[embedded, embedded]": ([kx, kx], [tx, tx])}.items():
            ko, ks = kl(ki, return_attention_scores=True)
            to, ts = tl(ti, return_attention_scores=True)
            km, tm = kbackend.get_keras_mask(ko), get_keras_mask(to)
            kp = layers.GlobalAveragePooling1D()(ko)
            tp = tnn.GlobalAveragePooling1D("channels_last")(to)
            figs = (_d(to.detach(), ko), _d(ts.detach(), ks), _d(tp.detach(), kp))
            print(kind, name, "out, scores, pooled:", figs, "mask", tm.tolist())
            assert max(figs) < 1e-15, (kind, name, figs)
            assert np.array_equal(tm.numpy(), np.asarray(km)), (tm, km)


# --------------------------------------------------------------------------------------------------------------
# dropout, the seed stream, training=
# --------------------------------------------------------------------------------------------------------------


def test_dropout_seed_stream():
    """Default: seeded dropout over an eval / training / eval / training sequence (Keras's eval calls draw
    nothing), masks and causal, the returned scores the dropped ones; the seed state equal after the calls."""
    for kind in ("dot", "additive"):
        figs, ks, ts = _pair(kind, use_scale=True, key=True, mask=[QM, VM], causal=True, dropout=0.4, seed=5,
                             train=[False, True, False, True], calls=4)
        _check(figs, label=f"{kind} dropout 0.4")
        print("   seed states", ks, ts)
        assert ks == ts == (5, 2)


@pytest.mark.slow
@pytest.mark.parametrize("kind,rate", list(itertools.product(["dot", "concat", "additive"], [0.1, 0.5, 0.9, 1.0])))
def test_dropout_grid(kind, rate):
    figs, ks, ts = _pair(kind, use_scale=True, key=True, mask=[QM, VM], dropout=rate, seed=9, train=True, calls=3)
    _check(figs, label=f"{kind} dropout {rate}")
    print("   seed states", ks, ts)
    assert ks == ts  # rate 1.0: Keras returns zeros without a draw (backend/tensorflow/random.py:86-87)


def test_training_semantics():
    """README/docstring: ``training=None`` is the module's mode (Keras's direct call defaults to False, ``fit`` to
    True): an eval-mode port called without ``training`` is Keras's direct call; a train-mode one is Keras's
    ``training=True``; ``training=False`` on a train-mode port draws nothing."""
    rng = np.random.default_rng(5)
    q, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4))
    kl, tl, _ = _layers("luong", 4, dropout=0.5, seed=3)
    tin = [torch.tensor(q), torch.tensor(v)]
    k_plain = kl([q, v]).numpy()
    assert tuple(kl.seed_generator.state.numpy().tolist()) == (3, 0)
    out_eval = tl.eval()(tin)
    out_false = tl.train()(tin, training=False)
    assert tuple(tl.state) == (3, 0)
    k_train = kl([q, v], training=True).numpy()
    out_train = tl.train()(tin)
    figs = (_d(out_eval, k_plain), _d(out_false, k_plain), _d(out_train.detach(), k_train))
    print("eval / training=False / train-mode vs Keras:", figs, "states", tuple(tl.state),
          kl.seed_generator.state.numpy())
    assert max(figs) < 1e-15 and _d(k_train, k_plain) > 1e-3
    assert tuple(tl.state) == tuple(kl.seed_generator.state.numpy().tolist()) == (3, 1)


# --------------------------------------------------------------------------------------------------------------
# keras_init_, load_keras_weights / keras_weights
# --------------------------------------------------------------------------------------------------------------


def test_weights_round_trip():
    """``load_keras_weights`` then ``keras_weights`` gives Keras's arrays back bit for bit (Keras's order: scale,
    concat_score_weight); a layer without weights has none."""
    for kind, kw in (("luong", dict(use_scale=True, score_mode="concat")), ("luong", dict(use_scale=True)),
                     ("luong", dict(score_mode="concat")), ("additive", dict()), ("luong", dict()),
                     ("additive", dict(use_scale=False))):
        kl, tl, weights = _layers(kind, 4, **kw)
        back = keras_weights(tl)
        print(kind, kw, [np.shape(w) for w in weights], [np.asarray(w).tolist() for w in back][:2])
        assert len(back) == len(weights) == len(kl.weights)
        for a, b in zip(back, weights):
            assert np.asarray(a).shape == b.shape and np.array_equal(np.asarray(a), b)


def test_keras_init_seed():
    """``keras_init_(seed=s)`` vs ``set_random_seed(s)`` + Keras's layers made (and built) in the same order: the
    additive ``scale`` draws and the unseeded dropout generators' seeds."""
    keras.utils.set_random_seed(21)
    k1 = layers.AdditiveAttention(dropout=0.2)
    k1.build([(None, None, 5), (None, None, 5)])
    k2 = layers.Attention(use_scale=True, score_mode="concat", dropout=0.3)
    k2.build([(None, None, 5), (None, None, 5)])
    k3 = layers.AdditiveAttention()
    k3.build([(None, None, 3), (None, None, 3)])
    net = tnn.keras_init_(torch.nn.ModuleList([tnn.AdditiveAttention(5, dropout=0.2),
                                               tnn.Attention(use_scale=True, score_mode="concat", dropout=0.3),
                                               tnn.AdditiveAttention(3)]), seed=21)
    kw = k1.get_weights() + k2.get_weights() + k3.get_weights()
    tw = keras_weights(net)
    d = max(_d(a, b) for a, b in zip(tw, kw))
    streams = [tuple(net[0].state), tuple(net[1].state)], [tuple(k.seed_generator.state.numpy().tolist())
                                                           for k in (k1, k2)]
    print("keras_init_ weights vs Keras", d, "streams", streams)
    assert len(tw) == len(kw) == 4 and d == 0.0
    assert streams[0] == streams[1]


# --------------------------------------------------------------------------------------------------------------
# a small model: Embedding(mask_zero) -> Bidirectional LSTM -> Attention([h, h]) -> GlobalAveragePooling1D -> Dense
# --------------------------------------------------------------------------------------------------------------

V_FIT, T_FIT, E_FIT, H_FIT, N_FIT, SEED_FIT = 12, 7, 5, 4, 24, 13


class _AttentionClassifier(torch.nn.Module):
    """The README's path: ``torch.nn.Embedding`` + ``set_keras_mask(tokens != 0)``, ``torch_impl.nn.LSTM``
    (``bidirectional=True``: Keras's ``Bidirectional``; it reads the carried mask and its output carries it),
    ``Attention`` (the carried masks; its output the query's), the masked ``GlobalAveragePooling1D``, a Dense."""

    def __init__(self, kind):
        super().__init__()
        self.emb = torch.nn.Embedding(V_FIT, E_FIT, sparse=True)  # Keras's per-row Embedding step (fit's warning)
        self.rnn = tnn.LSTM(E_FIT, H_FIT, batch_first=True, bidirectional=True)
        self.att = (tnn.AdditiveAttention(2 * H_FIT, dropout=0.2, seed=4) if kind == "additive"
                    else tnn.Attention(use_scale=True, score_mode=kind, dropout=0.2, seed=4))
        self.pool = tnn.GlobalAveragePooling1D("channels_last")
        self.dense = torch.nn.Linear(2 * H_FIT, 1)

    def forward(self, tokens):
        h, _ = self.rnn(set_keras_mask(self.emb(tokens), tokens != 0))
        return self.dense(self.pool(self.att([h, h])))


def _fit_pair(kind):
    rng = np.random.default_rng(8)
    lengths = rng.integers(1, T_FIT + 1, size=N_FIT)
    x = rng.integers(1, V_FIT, size=(N_FIT, T_FIT)) * (np.arange(T_FIT)[None, :] < lengths[:, None])
    y = (rng.random((N_FIT, 1)) > 0.5).astype(np.float64)
    inp = keras.Input((T_FIT,), dtype="int32")
    h = layers.Bidirectional(layers.LSTM(H_FIT, return_sequences=True))(
        layers.Embedding(V_FIT, E_FIT, mask_zero=True)(inp))
    att = (layers.AdditiveAttention(dropout=0.2, seed=4) if kind == "additive"
           else layers.Attention(use_scale=True, score_mode=kind, dropout=0.2, seed=4))
    out = layers.Dense(1, activation="sigmoid")(layers.GlobalAveragePooling1D()(att([h, h])))
    km = keras.Model(inp, out)
    k0 = [(w + np.random.default_rng(1).normal(size=w.shape) * 0.2).astype(w.dtype) for w in km.get_weights()]
    km.set_weights(k0)
    km.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    keras.utils.set_random_seed(SEED_FIT)
    hk = km.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=True).history
    net = _AttentionClassifier(kind)
    load_keras_weights(net, k0)
    ht = tfit.fit(net, torch.tensor(x), torch.tensor(y), loss="binary_crossentropy",
                  optimizer=optim.Adam(net.parameters(), learning_rate=1e-2), batch_size=8, epochs=2,
                  seed=SEED_FIT, output_activation="sigmoid", verbose=0).history
    rel = [abs(a - b) / abs(b) for a, b in zip(ht["loss"], hk["loss"])]
    final = max(_d(a, b) for a, b in zip(keras_weights(net), km.get_weights()))
    streams = tuple(net.att.state), tuple(att.seed_generator.state.numpy().tolist())
    print(f"{kind}: loss Keras {hk['loss']} torch {ht['loss']} rel {rel}, final weights {final:.2g}, streams",
          streams)
    return rel, final, streams


@pytest.mark.slow
def test_attention_model_fit():
    """The dot-score model, 2 epochs of ``fit`` against ``model.fit`` (float64 histories)."""
    rel, final, streams = _fit_pair("dot")
    assert max(rel) < 1e-14 and final < 1e-13 and streams[0] == streams[1]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["concat", "additive"])
def test_attention_model_fit_other_scores(kind):
    rel, final, streams = _fit_pair(kind)
    assert max(rel) < 1e-14 and final < 1e-13 and streams[0] == streams[1]


# --------------------------------------------------------------------------------------------------------------
# errors: Keras's types
# --------------------------------------------------------------------------------------------------------------


def _raises(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return type(e)
    return None


def _error_cases():
    rng = np.random.default_rng(6)
    q, v, v3 = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 3))
    k6 = rng.normal(size=(2, 6, 4))
    t = torch.tensor
    m5, m4 = np.ones((2, 5), bool), np.ones((2, 4), bool)
    q4, v4, m45 = rng.normal(size=(2, 2, 3, 4)), rng.normal(size=(2, 2, 5, 4)), np.ones((2, 2, 5), bool)
    return {
        # Keras's own ValueErrors (attention.py:284-311 _validate_inputs, :82 score_mode)
        "one input": (lambda: layers.Attention()([q]), lambda: tnn.Attention()([t(q)])),
        "four inputs": (lambda: layers.Attention()([q, v, v, v]), lambda: tnn.Attention()([t(q), t(v), t(v), t(v)])),
        "a tensor, not a list": (lambda: layers.Attention()(q), lambda: tnn.Attention()(t(q))),
        "additive, a tensor": (lambda: layers.AdditiveAttention()(q), lambda: tnn.AdditiveAttention(4)(t(q))),
        "mask not a list": (lambda: layers.Attention()([q, v], mask=m5),
                            lambda: tnn.Attention()([t(q), t(v)], mask=t(m5))),
        "mask of length 1": (lambda: layers.Attention()([q, v], mask=[None]),
                             lambda: tnn.Attention()([t(q), t(v)], mask=[None])),
        "mask of length 4": (lambda: layers.Attention()([q, v], mask=[None] * 4),
                             lambda: tnn.Attention()([t(q), t(v)], mask=[None] * 4)),
        "bad score_mode": (lambda: layers.Attention(score_mode="add"), lambda: tnn.Attention(score_mode="add")),
        # TensorFlow's InvalidArgumentError (the project's counterpart: ValueError, or torch's RuntimeError)
        "dot: query/key widths": (lambda: layers.Attention()([q, v3]), lambda: tnn.Attention()([t(q), t(v3)])),
        "concat: query/key widths": (lambda: layers.Attention(score_mode="concat")([q, v3]),
                                     lambda: tnn.Attention(score_mode="concat")([t(q), t(v3)])),
        "additive: query/key widths": (lambda: layers.AdditiveAttention(use_scale=False)([q, v3]),
                                       lambda: tnn.AdditiveAttention(use_scale=False)([t(q), t(v3)])),
        "value/key lengths": (lambda: layers.Attention()([q, v, k6]), lambda: tnn.Attention()([t(q), t(v), t(k6)])),
        "value mask length": (lambda: layers.Attention()([q, v], mask=[None, m4]),
                              lambda: tnn.Attention()([t(q), t(v)], mask=[None, t(m4)])),
        # rank-4 inputs with a (B, X, Tv) value mask: Keras expands only a rank-2 mask (attention.py:178-179)
        "rank 4, (B, X, Tv) value mask": (lambda: layers.Attention()([q4, v4], mask=[None, m45]),
                                          lambda: tnn.Attention()([t(q4), t(v4)], mask=[None, t(m45)])),
    }


def test_errors_as_keras():
    for name, (k, tt) in _error_cases().items():
        ke, te = _raises(k), _raises(tt)
        print(f"{name}: Keras {ke.__name__ if ke else None}, torch_impl {te.__name__ if te else None}")
        if ke is tf.errors.InvalidArgumentError:
            assert te in (ValueError, RuntimeError), (name, ke, te)
        else:
            assert ke is ValueError and te is ValueError, (name, ke, te)
    # the torch-only argument: AdditiveAttention's dim must be the query's width (Keras builds scale from it)
    assert _raises(lambda: tnn.AdditiveAttention(5)([torch.ones(2, 3, 4), torch.ones(2, 5, 4)])) is ValueError
    # a negative rate: no dropout in both (Keras: ``training and self.dropout > 0``), no draw
    tl = tnn.Attention(dropout=-0.1, seed=3)
    rng = np.random.default_rng(6)
    q, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4))
    d = _d(tl([torch.tensor(q), torch.tensor(v)], training=True).detach(),
           layers.Attention(dropout=-0.1, seed=3)([q, v], training=True))
    assert d < 1e-15 and tuple(tl.state) == (3, 0), (d, tl.state)


def test_tuple_inputs_taken_where_keras_raises():
    """Finding (h87), kept as a deliberate difference (README, "Where we deliberately differ"): a tuple
    ``(query, value)`` or a tuple mask runs in torch_impl, as a list would; Keras raises ``ValueError``
    (attention.py:287 and :300 test ``isinstance(..., list)``)."""
    rng = np.random.default_rng(6)
    q, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4))
    m = (None, np.ones((2, 5), bool))
    pairs = {"tuple inputs": (lambda: layers.Attention()((q, v)),
                              lambda: tnn.Attention()((torch.tensor(q), torch.tensor(v)))),
             "tuple mask": (lambda: layers.Attention()([q, v], mask=m),
                            lambda: tnn.Attention()([torch.tensor(q), torch.tensor(v)],
                                                    mask=(None, torch.tensor(m[1]))))}
    for name, (k, tt) in pairs.items():
        ke, te = _raises(k), _raises(tt)
        print(f"{name}: Keras {ke}, torch_impl {te}")
        assert ke is ValueError and te is None, (name, ke, te)
    listed = tnn.Attention()([torch.tensor(q), torch.tensor(v)], mask=[None, torch.tensor(m[1])])
    tupled = tnn.Attention()((torch.tensor(q), torch.tensor(v)), mask=(None, torch.tensor(m[1])))
    assert torch.equal(listed, tupled)


def test_dropout_rate_above_one_raises_as_keras():
    """Finding (h87), fixed: ``dropout=1.5`` in a training call returned zeros; Keras's ``ValueError`` from
    TensorFlow's ``stateless_dropout`` (only a rate of exactly 1.0 returns zeros)."""
    rng = np.random.default_rng(6)
    q, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4))
    ke = _raises(lambda: layers.Attention(dropout=1.5, seed=3)([q, v], training=True))
    te = _raises(lambda: tnn.Attention(dropout=1.5, seed=3)([torch.tensor(q), torch.tensor(v)], training=True))
    print("dropout=1.5 training call: Keras", ke, "torch_impl", te)
    assert ke is ValueError and te is ValueError


def test_autocast_as_documented():
    """Docstring: float inputs are cast to the weights' dtype (Keras's autocast to its compute dtype), a layer
    without weights computes in ``dtype`` if given, else the query's: float32 inputs to a float64 Keras layer."""
    rng = np.random.default_rng(9)
    q, v = rng.normal(size=(2, 3, 4)).astype(np.float32), rng.normal(size=(2, 5, 4)).astype(np.float32)
    tq, tv = torch.tensor(q), torch.tensor(v)
    ko_scaled, ko_plain = layers.Attention(use_scale=True)([q, v]), layers.Attention()([q, v])
    to_scaled = tnn.Attention(use_scale=True)([tq, tv])
    to_dtype = tnn.Attention(dtype=torch.float64)([tq, tv])
    to_query = tnn.Attention()([tq, tv])
    figs = (_d(to_scaled.detach(), ko_scaled), _d(to_dtype, ko_plain), _d(to_query, ko_plain))
    print("float32 inputs, float64 Keras: weighted port, dtype=float64 port, weightless port:", figs,
          to_scaled.dtype, to_dtype.dtype, to_query.dtype)
    assert to_scaled.dtype == to_dtype.dtype == torch.float64 and to_query.dtype == torch.float32
    assert figs[0] < 1e-15 and figs[1] < 1e-15 and 1e-9 < figs[2] < 1e-5  # the documented float32 compute

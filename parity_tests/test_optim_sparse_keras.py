"""Row-sparse gradients (an ``Embedding``'s) in ``torch_impl.optim`` against Keras 3 on TensorFlow.

On TensorFlow an ``Embedding``'s gradient is a ``tf.IndexedSlices``: one row per token occurrence, the
rows of a repeated token not summed. Keras's optimizers run their ops on it row by row until an op
densifies it, so the step is not the dense gradient's: Adam's second moment of a row is the sum of its
occurrences' squares, ``sum(g_i^2)``, not ``(sum g_i)^2``; RMSprop's too; ``clipnorm`` and ``global_clipnorm``
measure the norm of the occurrences; ``clipvalue`` clips each occurrence before they are summed; SGD
scatters each occurrence into the weights in turn. torch gives the same rows as the uncoalesced sparse COO
gradient of ``nn.Embedding(..., sparse=True)``, and ``torch_impl.optim`` follows Keras's rules on it.

Reference: ``optimizer.apply_gradients`` inside a ``tf.function`` (what ``fit`` runs), gradients as
function arguments (runner shared with ``test_optim_fuzz_keras.py``); the end-to-end test trains a text
classifier with ``keras.Model.fit`` against ``torch_impl.fit``. Standards: as the dense fuzz (float64
bit-exact, float32 bit-exact but for TensorFlow's approximate ``Rsqrt``) and the design's 1e-8 relative for
float64 loss curves. Every test prints its figures.
"""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest
import torch

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from parity_tests.test_field_scripts_round2 import _precision  # noqa: E402
from parity_tests.test_optim_fuzz_keras import check, compare, keras_run, torch_run  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, optim  # noqa: E402
from torch_impl.nn import keras_embedding_gradients, load_keras_weights  # noqa: E402

pytestmark = pytest.mark.keras

VOCAB, DIM = 12, 3


def _slices(rng, dtype, occurrences=20, vocab=VOCAB, dim=DIM, scale=1.0):
    """Row slices with repeated rows (every row index drawn from a small vocabulary, some rows absent)."""
    idx = rng.integers(0, vocab - 2, size=occurrences).astype(np.int64)
    return idx, (rng.normal(size=(occurrences, dim)) * scale).astype(dtype)


def _case(seed_text, dtype, steps=8, scale=1.0):
    """Weights: an embedding table (sparse gradient) and a dense matrix and vector (dense gradients)."""
    rng = np.random.default_rng(zlib.crc32(seed_text.encode()))
    shapes = [(VOCAB, DIM), (DIM, 4), (4,)]
    w0 = [rng.normal(size=s).astype(dtype) for s in shapes]
    grads = [[_slices(rng, dtype, scale=scale)] + [(rng.normal(size=s) * scale).astype(dtype) for s in shapes[1:]]
             for _ in range(steps)]
    return w0, grads


CASES = [
    ("adam", {"learning_rate": 0.01}),
    ("adam", {"learning_rate": 0.01, "amsgrad": True, "beta_2": 0.99}),
    ("adam", {"learning_rate": 0.01, "epsilon": 0.0}),
    ("adamw", {"learning_rate": 0.01, "weight_decay": 0.1}),
    ("adam", {"learning_rate": 0.01, "clipnorm": 0.5}),
    ("adam", {"learning_rate": 0.01, "global_clipnorm": 0.5}),
    ("adam", {"learning_rate": 0.01, "clipvalue": 0.3}),
    ("adam", {"learning_rate": 0.01, "gradient_accumulation_steps": 3}),
    ("adam", {"learning_rate": 0.01, "use_ema": True, "ema_momentum": 0.9, "ema_overwrite_frequency": 3}),
    ("sgd", {"learning_rate": 0.1}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True, "clipnorm": 0.5}),
    ("sgd", {"learning_rate": 0.1, "global_clipnorm": 0.5}),
    ("sgd", {"learning_rate": 0.1, "clipvalue": 0.3, "weight_decay": 0.05}),
    ("rmsprop", {"learning_rate": 0.01}),
    ("rmsprop", {"learning_rate": 0.01, "momentum": 0.5}),
    ("rmsprop", {"learning_rate": 0.01, "centered": True}),
    ("rmsprop", {"learning_rate": 0.01, "centered": True, "momentum": 0.5, "clipvalue": 0.3}),
]


def _id(case):
    name, cfg = case
    return name + "".join(f"-{k}" for k in cfg if k != "learning_rate")


@pytest.mark.parametrize("dtype", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
@pytest.mark.parametrize("name,cfg", CASES, ids=[_id(c) for c in CASES])
def test_row_slices_step_like_fit(name, cfg, dtype):
    """Every optimizer and option, 8 steps, an embedding table with repeated rows: equal to Keras's ``fit``
    arithmetic (float64 bit for bit)."""
    w0, grads = _case(f"{name}{cfg}{dtype}", dtype)
    check("slices", name, cfg, w0, grads, dtype, eager=False)


@pytest.mark.parametrize("name,cfg", [("adam", {"learning_rate": 0.01}), ("rmsprop", {"learning_rate": 0.01}),
                                      ("adam", {"learning_rate": 0.01, "clipnorm": 0.5}),
                                      ("sgd", {"learning_rate": 0.1, "clipvalue": 0.3})],
                         ids=["adam", "rmsprop", "adam-clipnorm", "sgd-clipvalue"])
def test_dense_gradient_takes_another_step(name, cfg):
    """The same rows summed into a dense gradient (what ``nn.Embedding(sparse=False)`` gives) take another
    step wherever a row repeats: how far, so that the test above cannot pass by accident."""
    w0, grads = _case(f"dense-{name}{cfg}", "float64")
    ref, _ = keras_run(name, cfg, w0, grads, "float64")
    dense = [[np.zeros_like(w0[0])] + g[1:] for g in grads]
    for d, g in zip(dense, grads):
        np.add.at(d[0], g[0][0], g[0][1])
    ours, _ = torch_run(name, cfg, w0, dense, "float64")
    ndiff, rel, nrel = compare([r[:1] for r in ours], [r[:1] for r in ref])
    print(f"{name} {cfg}: the dense gradient's step vs Keras's IndexedSlices step: {ndiff} embedding entries "
          f"differ, max rel-to-max {nrel:.1e}")
    assert nrel > 1e-4


def test_loss_scale_factor_with_row_slices_raises_like_keras():
    """Keras's ``g / loss_scale_factor`` raises TypeError for ``IndexedSlices``; torch_impl says so."""
    w0, grads = _case("loss-scale", "float64", steps=1)
    with pytest.raises(TypeError, match="IndexedSlices"):
        keras_run("adam", {"loss_scale_factor": 2.0}, w0, grads, "float64")
    with pytest.raises(TypeError, match="loss_scale_factor"):
        torch_run("adam", {"loss_scale_factor": 2.0}, w0, grads, "float64")
    print("loss_scale_factor with row slices: Keras TypeError, torch_impl TypeError (ValueError too)")


def test_other_sparse_layouts_raise():
    p = torch.nn.Parameter(torch.zeros(4, 3, dtype=torch.float64))
    p.grad = torch.sparse_coo_tensor(torch.tensor([[0, 1], [2, 0]]), torch.tensor([1.0, 2.0]), (4, 3),
                                     dtype=torch.float64, check_invariants=True)
    with pytest.raises(RuntimeError, match="row slices"):
        optim.Adam([p]).step()


def test_embedding_sparse_true_gives_keras_rows():
    """``nn.Embedding(sparse=True)``'s gradient holds one row per occurrence, uncoalesced (the layout the
    optimizer reads), also when the table is used twice."""
    emb = torch.nn.Embedding(5, 2, sparse=True)
    tokens = torch.tensor([[1, 1, 3], [3, 1, 0]])
    (emb(tokens).sum() + emb(tokens[:, :1]).pow(2).sum()).backward()
    g = emb.weight.grad
    print(f"rows {g._indices()[0].tolist()}, coalesced {g.is_coalesced()}")
    assert not g.is_coalesced() and g._values().shape == (8, 2)


# ------------------------------------------------------------------------------------- end to end: fit


def _text_data(n=64, t=10, vocab=40, seed=3):
    rng = np.random.default_rng(seed)
    tokens = rng.integers(1, vocab, size=(n, t)).astype("int32")
    y = ((tokens < vocab // 3).sum(1) > t // 3).astype("int64")
    return tokens, y


class _Bag(torch.nn.Module):
    """Embedding -> GlobalAveragePooling1D -> Dense(16, relu) -> Dense(2), from Keras's weights."""

    def __init__(self, w, sparse):
        super().__init__()
        self.embedding = torch.nn.Embedding(*w[0].shape, sparse=sparse)
        self.hidden, self.out = torch.nn.Linear(*w[1].shape), torch.nn.Linear(*w[3].shape)
        with torch.no_grad():
            self.embedding.weight.copy_(torch.from_numpy(w[0]))
            for layer, k, b in ((self.hidden, w[1], w[2]), (self.out, w[3], w[4])):
                layer.weight.copy_(torch.from_numpy(k.T))
                layer.bias.copy_(torch.from_numpy(b))

    def forward(self, tokens):
        return self.out(torch.relu(self.hidden(self.embedding(tokens.long()).mean(1))))


@pytest.mark.parametrize("name,kwargs,dt", [
    ("adam", {"learning_rate": 0.01}, "float64"),
    pytest.param("rmsprop", {"learning_rate": 0.005, "clipnorm": 1.0}, "float64", marks=pytest.mark.slow),
    pytest.param("adam", {"learning_rate": 0.01}, "float32", marks=pytest.mark.slow),
])
def test_text_classifier_fit_like_keras(name, kwargs, dt):
    """A bag-of-embeddings text classifier trained by ``keras.Model.fit`` (Embedding + GlobalAveragePooling1D
    + Dense, Adam) and by ``torch_impl.fit`` with ``nn.Embedding(sparse=True)``: the histories agree; with
    the dense embedding gradient they do not."""
    tokens, y = _text_data()
    with _precision(dt), warnings.catch_warnings():  # floatx, torch's default dtype and Keras's dtype policy
        warnings.simplefilter("ignore")
        keras.utils.set_random_seed(0)
        layers = keras.layers
        model = keras.Sequential([keras.Input((tokens.shape[1],), dtype="int32"), layers.Embedding(40, 8),
                                  layers.GlobalAveragePooling1D(), layers.Dense(16, activation="relu"),
                                  layers.Dense(2)])
        w = model.get_weights()
        opt_cls = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}[name]
        model.compile(optimizer=opt_cls(**kwargs),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        kh = model.fit(tokens, y, batch_size=16, epochs=4, validation_split=0.25, shuffle=False, verbose=0).history
        runs = {}
        for sparse in (True, False):
            net = _Bag(w, sparse)
            t_opt = {"adam": optim.Adam, "rmsprop": optim.RMSprop}[name](net.parameters(), **kwargs)
            runs[sparse] = tfit.fit(net, tokens, y, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                                    optimizer=t_opt, batch_size=16, epochs=4, validation_split=0.25, shuffle=False,
                                    verbose=0, metrics=["accuracy"]).history
    rel = {s: max(float(np.max(np.abs(np.subtract(h[k], kh[k])) / np.abs(kh[k]))) for k in ("loss", "val_loss"))
           for s, h in runs.items()}
    print(f"text classifier, {name} {kwargs}, {dt}: Keras loss {np.round(kh['loss'], 6).tolist()}; torch_impl "
          f"sparse=True max rel {rel[True]:.1e}, sparse=False (dense gradient) {rel[False]:.1e}")
    assert rel[True] <= (1e-12 if dt == "float64" else 1e-5)
    assert runs[True]["accuracy"] == pytest.approx(kh["accuracy"], abs=1e-6)
    assert rel[False] > 1e-4


def test_fit_warns_for_a_dense_embedding_where_the_step_differs():
    """``torch_impl.fit`` says when a dense ``nn.Embedding`` meets an optimizer whose step on Keras's row slices
    differs (Adam, AdamW, RMSprop, any clipping); not for plain SGD, accumulation, or ``sparse=True``."""
    tokens, y = _text_data(n=16)

    def warned(sparse, make_opt):
        keras.utils.set_random_seed(0)
        w = keras.Sequential([keras.Input((10,), dtype="int32"), keras.layers.Embedding(40, 8),
                              keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(16),
                              keras.layers.Dense(2)]).get_weights()
        net = _Bag([a.astype("float32") for a in w], sparse)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tfit.fit(net, tokens, y, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                     optimizer=make_opt(net.parameters()), epochs=1, verbose=0)
        return any("nn.Embedding" in str(w.message) for w in caught)

    cases = {"Adam, dense": (False, optim.Adam, True), "Adam, sparse=True": (True, optim.Adam, False),
             "RMSprop, dense": (False, optim.RMSprop, True), "SGD, dense": (False, optim.SGD, False),
             "SGD clipvalue, dense": (False, lambda p: optim.SGD(p, clipvalue=0.1), True),
             "Adam accumulation, dense": (False, lambda p: optim.Adam(p, gradient_accumulation_steps=2), False)}
    got = {k: warned(sparse, make) for k, (sparse, make, _) in cases.items()}
    print(f"warned: {got}")
    assert got == {k: expect for k, (_, _, expect) in cases.items()}


# ------------------------------------------------------------------------ one table looked up more than once


class _Siamese(torch.nn.Module):
    """One Embedding looked up on both halves of the input (Keras: the same layer called twice)."""

    def __init__(self, w):
        super().__init__()
        self.emb = torch.nn.Embedding(*w[0].shape, sparse=True)
        self.h, self.out = torch.nn.Linear(*w[1].shape), torch.nn.Linear(*w[3].shape)
        self.output_activation = "sigmoid"
        load_keras_weights(self, w)

    def forward(self, t):
        t = t.long()
        a, b = self.emb(t[:, :6]).mean(1), self.emb(t[:, 6:]).amax(1)
        return self.out(torch.tanh(self.h(torch.cat([a, b], -1))))


@pytest.mark.parametrize("name,kwargs", [("adam", {"learning_rate": 0.05}),
                                         pytest.param("rmsprop", {"learning_rate": 0.02, "clipnorm": 0.05},
                                                      marks=pytest.mark.slow)])
def test_table_looked_up_twice_fits_like_keras(name, kwargs):
    """torch sums the sparse gradients of two lookups of one table, merging their rows (a Keras siamese model
    concatenates them): Adam's second moment then squared merged rows, 2.7e-3 relative off Keras's history
    in 3 epochs. ``fit`` keeps each lookup's rows (``torch_impl.nn.keras_embedding_gradients``)."""
    rng = np.random.default_rng(2)
    x = rng.integers(0, 12, size=(48, 12)).astype("int32")
    x[:, :2] = 3
    y = ((x[:, :6] % 3).sum(1) > (x[:, 6:] % 3).sum(1)).astype("float64")
    with _precision("float64"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras.utils.set_random_seed(11)
        inp = keras.Input((12,), dtype="int32")
        emb = keras.layers.Embedding(12, 4)
        a = keras.layers.GlobalAveragePooling1D()(emb(inp[:, :6]))
        b = keras.layers.GlobalMaxPooling1D()(emb(inp[:, 6:]))
        h = keras.layers.Dense(5, activation="tanh")(keras.layers.Concatenate()([a, b]))
        model = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(h))
        w = model.get_weights()
        model.compile(optimizer={"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}[name](**kwargs),
                      loss="binary_crossentropy", metrics=["accuracy"])
        kh = model.fit(x, y, batch_size=12, epochs=3, validation_split=0.25, shuffle=False, verbose=0).history
        net = _Siamese(w)
        th = tfit.fit(net, x, y, loss="binary_crossentropy",
                      optimizer={"adam": optim.Adam, "rmsprop": optim.RMSprop}[name](net.parameters(), **kwargs),
                      batch_size=12, epochs=3, validation_split=0.25, shuffle=False, verbose=0).history
    rel = max(float(np.max(np.abs(np.subtract(th[k], kh[k])) / np.abs(kh[k]))) for k in ("loss", "val_loss"))
    print(f"siamese table, {name} {kwargs}: Keras loss {np.round(kh['loss'], 6).tolist()}, max rel {rel:.1e}")
    assert rel <= 1e-12


def test_keras_embedding_gradients_keeps_every_lookup():
    """The gradient's rows: one per occurrence over both lookups; a second ``backward`` appends its rows;
    a table also used densely (tied output weights) keeps torch's dense gradient, as Keras densifies it."""
    torch.manual_seed(0)
    big = torch.nn.Embedding(10, 2, sparse=True)
    ids = torch.randint(0, 10, (2, 6, 12))
    (big(ids[0]).sum() + big(ids[1]).pow(2).sum()).backward()
    merged, dense_sum = big.weight.grad._nnz(), big.weight.grad.to_dense()
    big.weight.grad = None
    with keras_embedding_gradients(big):
        (big(ids[0]).sum() + big(ids[1]).pow(2).sum()).backward()
    kept = big.weight.grad._nnz()
    torch.testing.assert_close(big.weight.grad.to_dense(), dense_sum, rtol=1e-5, atol=1e-5)  # float32 sum orders
    emb = torch.nn.Embedding(5, 2, sparse=True)
    a, b = torch.tensor([[1, 1, 2]]), torch.tensor([[1, 3, 1]])
    with keras_embedding_gradients(emb):
        (emb(a).sum() + 2 * emb(b).sum()).backward()
        g = emb.weight.grad
        rows = (g._indices()[0].tolist(), g._values()[:, 0].tolist())
        emb(b).sum().backward()
        appended = emb.weight.grad._nnz()
        emb.weight.grad = None
        (emb(a).sum() + emb.weight.sum()).backward()  # a dense use too
        dense = not emb.weight.grad.is_sparse
    print(f"two lookups of 72 ids: torch alone {merged} rows, kept {kept} (same dense sum); rows kept: {rows}; "
          f"after a second backward {appended} rows; with a dense use the gradient is dense: {dense}")
    assert merged < 144 and kept == 144 and sorted(zip(*rows)) == sorted([(1, 1.0), (1, 1.0), (2, 1.0), (1, 2.0), (3, 2.0), (1, 2.0)])
    assert appended == 9 and dense


def test_centered_rmsprop_on_repeated_rows_raises_like_keras():
    """One token 12 times in a batch: centered RMSprop's ``v - avg^2 + eps`` goes negative (v sums the
    occurrences' squares, avg^2 squares their sum). Keras's sparse divide then fails (InvalidArgumentError);
    torch_impl raises too instead of writing NaN."""
    w0 = [np.ones((4, 2))]
    grads = [[(np.zeros(12, dtype=np.int64), np.ones((12, 2)))]]
    with pytest.raises(Exception) as keras_error:
        keras_run("rmsprop", {"centered": True, "learning_rate": 0.01}, w0, grads, "float64")
    with pytest.raises(FloatingPointError, match="centered RMSprop"):
        torch_run("rmsprop", {"centered": True, "learning_rate": 0.01}, w0, grads, "float64")
    print(f"Keras: {type(keras_error.value).__name__}; torch_impl: FloatingPointError")

"""Keras's Muon: every step against Keras 3.15.1's ``apply_gradients`` inside a ``tf.function`` (what
``model.fit`` runs), on the harness of ``test_optim_fuzz_keras.py``; ``fit`` against ``model.fit`` with Keras's
path rules (an Embedding and an excluded output layer take the AdamW step); ``torch.optim.Muon`` against it.

Standards: the parameters that take Keras's AdamW step (not 2-D, embeddings, ``exclude_layers``) are bit for bit
(float64 and float32); the 2-D ones that take Muon's step go through five Newton-Schulz iterations of matrix
products, which TensorFlow multiplies in its own order: within 1e-14 (float64) / 1e-6 (float32) of each
tensor's largest entry, every step (measured: 2.8e-16 / 1.4e-7).
"""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from parity_tests.grid import every_nth  # noqa: E402
from parity_tests.test_field_scripts_round2 import _check_history, _precision  # noqa: E402
from parity_tests.test_optim_fuzz_keras import (SCHEDULES, SHAPES, _Floatx, _grads, compare, keras_run,  # noqa: E402
                                                random_rate, random_shared_options, torch_run)
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import optim  # noqa: E402

pytestmark = pytest.mark.keras

# the fuzz's shapes (one 2-D), a 3-D one, a wide 2-D one and a one-row 2-D one (Muon's step on the 2-D ones)
MUON_SHAPES = SHAPES + [(3, 4, 5), (5, 40), (1, 6)]


def _check_steps(label, cfg, dtype, steps=10, scale=1.0, seed=0):
    rng = np.random.default_rng(zlib.crc32(f"muon{cfg}{dtype}{seed}".encode()))
    w0 = [rng.normal(size=s).astype(dtype) for s in MUON_SHAPES]
    grads = _grads(rng, MUON_SHAPES, steps, dtype, scale)
    ref, it_ref = keras_run("muon", cfg, w0, grads, dtype)
    ours, it_ours = torch_run("muon", cfg, w0, grads, dtype)
    assert it_ours == it_ref
    ema = 2 if cfg.get("use_ema") else 1  # with EMA each row also holds the averages (and a last row)
    cols = lambda rows, keep: [[x for j, x in enumerate(r) if (len(MUON_SHAPES[j % len(MUON_SHAPES)]) == 2) == keep]
                               for r in rows]
    adam = compare(cols(ours, False), cols(ref, False))
    muon = compare(cols(ours, True), cols(ref, True))
    print(f"{label}: muon {dtype} {steps} steps {cfg}: AdamW-step parameters {adam[0]} entries differ; Muon-step "
          f"(2-D) parameters max rel-to-max {muon[2]:.1e} ({muon[0]} entries differ, max rel {muon[1]:.1e})")
    assert ema and adam[0] == 0
    assert muon[2] <= (1e-14 if dtype == "float64" else 1e-6)


FIXED = [{}, {"learning_rate": 0.02}, {"learning_rate": 0.02, "nesterov": False, "rms_rate": None},
         {"learning_rate": 0.02, "weight_decay": None, "adam_weight_decay": None},
         {"learning_rate": 0.02, "adam_lr_ratio": 0.1}, {"learning_rate": 0.02, "ns_steps": 2, "momentum": 0.5},
         {"learning_rate": 0.05, "muon_a": 2.0, "muon_b": -1.5, "muon_c": 0.5, "epsilon": 1e-3},
         {"learning_rate": 0.02, "clipnorm": 0.5}, {"learning_rate": 0.02, "gradient_accumulation_steps": 2},
         {"learning_rate": 0.02, "use_ema": True}, {"learning_rate": 0.02, "loss_scale_factor": 8.0},
         {"learning_rate": ("CosineDecay", {"initial_learning_rate": 0.05, "decay_steps": 10})}]


def _keras_can(cfg, dtype) -> bool:
    """Keras's Muon step multiplies the rate by the update with TensorFlow's ``*``: a schedule's float32 rate
    against a float64 update raises ``TypeError`` (a constant rate is a Keras variable, which casts)."""
    return not (dtype == "float64" and isinstance(cfg.get("learning_rate"), tuple))


@pytest.mark.parametrize("dtype", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
@pytest.mark.parametrize("cfg", every_nth(FIXED, 3, ids=[f"muon-{i}" for i in range(len(FIXED))]))
def test_muon_steps_match_fit(cfg, dtype):
    if not _keras_can(cfg, dtype):
        pytest.skip("Keras raises TypeError here (test_muon_schedule_on_float64_raises_in_keras)")
    _check_steps("fixed", cfg, dtype)


def test_muon_schedule_on_float64_raises_in_keras():
    """A documented difference: Keras's Muon with a learning-rate schedule cannot step a float64 2-D variable
    (``TypeError``: its float32 rate times the float64 update); torch_impl takes the step (the schedule's rate
    cast to float64, as Keras does for the AdamW-step parameters and for a constant rate)."""
    cfg = {"learning_rate": ("CosineDecay", {"initial_learning_rate": 0.05, "decay_steps": 10})}
    w0, grads = [np.ones((3, 2))], [[np.full((3, 2), 0.5)]]
    with pytest.raises(TypeError, match="float64"):
        keras_run("muon", cfg, w0, grads, "float64")
    ours, _ = torch_run("muon", cfg, w0, grads, "float64")
    assert np.isfinite(ours[-1][0]).all() and not np.array_equal(ours[-1][0], w0[0])
    print("Keras's Muon with a schedule on float64 raises TypeError; torch_impl steps")


def _random_case(seed: int):
    r = np.random.default_rng(seed)
    dtype = "float64" if r.random() < 0.6 else "float32"
    cfg: dict = {}
    random_rate(r, cfg)
    for key, choices in (("momentum", [0.9, 0.5, 0.99]), ("nesterov", [False]), ("ns_steps", [1, 3, 6]),
                         ("rms_rate", [None, 0.5]), ("adam_lr_ratio", [0.1, 2.0]), ("adam_beta_1", [0.5, 0.95]),
                         ("weight_decay", [None, 0.1]), ("adam_weight_decay", [None, 0.05])):
        if r.random() < 0.3:
            cfg[key] = choices[r.integers(len(choices))]
    random_shared_options(r, cfg, decay=False, loss_scale=False, ema=False)  # its decays are drawn above
    if not _keras_can(cfg, dtype):
        dtype = "float32"
    return cfg, dtype, float(r.choice([1.0, 1e-3, 1e3])), int(r.integers(3, 11))


@pytest.mark.parametrize("seed", every_nth(range(12), 4))
def test_muon_random_configurations_match_fit(seed):
    """12 seeded configurations: Muon's own arguments with schedules, decay, the three clippings and
    accumulation; gradients of three magnitudes, 3 to 10 steps."""
    cfg, dtype, scale, steps = _random_case(seed)
    _check_steps(f"random {seed}", cfg, dtype, steps, scale, seed)


class _TextNet(torch.nn.Module):
    """Embedding -> mean over the tokens -> Dense(8, tanh) -> Dense(3) (logits); module names as Keras's layer
    names, so that Muon's path rules pick the same parameters."""

    def __init__(self, kmodel):
        super().__init__()
        (emb,), (k1, b1), (k2, b2) = (l.get_weights() for l in kmodel.layers if l.weights)
        # sparse: Keras's row slices (the AdamW step of a repeated token differs from a dense gradient's)
        self.embedding = torch.nn.Embedding(*emb.shape, dtype=torch.from_numpy(emb).dtype, sparse=True)
        self.dense = torch.nn.Linear(*k1.shape, dtype=self.embedding.weight.dtype)
        self.output_dense = torch.nn.Linear(*k2.shape, dtype=self.embedding.weight.dtype)
        with torch.no_grad():
            self.embedding.weight.copy_(torch.from_numpy(emb))
            for lin, k, b in ((self.dense, k1, b1), (self.output_dense, k2, b2)):
                lin.weight.copy_(torch.from_numpy(k.T.copy()))
                lin.bias.copy_(torch.from_numpy(b))
        self.output_activation = "softmax"

    def forward(self, x):
        return self.output_dense(torch.tanh(self.dense(self.embedding(x.long()).mean(1))))


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_fit_with_muon_like_keras(dt):
    """``fit`` with ``Muon(model.named_parameters(), exclude_layers=["output_dense"])`` against ``model.fit``:
    the embedding (by its name) and the output layer (by the regular expression) take the AdamW step, the hidden
    kernel Muon's. Every history key and epoch."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 20, size=(96, 6))
    y = (x[:, 0] % 3).astype(np.int64)
    cfg = {"learning_rate": 0.02, "exclude_layers": ["output_dense"]}
    with _precision(dt):
        keras.utils.set_random_seed(2)
        km = keras.Sequential([keras.Input((6,), dtype="int32"), keras.layers.Embedding(20, 5),
                               keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(8, activation="tanh"),
                               keras.layers.Dense(3, activation="softmax", name="output_dense")])
        tm = _TextNet(km)
        kopt = keras.optimizers.Muon(**cfg)
        km.compile(optimizer=kopt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        kh = km.fit(x, y, batch_size=16, epochs=4, shuffle=False, verbose=0, validation_split=0.25).history
        opt = optim.Muon(tm.named_parameters(), **cfg)
        th = tfit.fit(tm, x, y, loss="sparse_categorical_crossentropy", optimizer=opt, batch_size=16, epochs=4,
                      shuffle=False, verbose=0, validation_split=0.25, metrics=["accuracy"]).history
    keras_adam = sorted(v.path for v in km.trainable_variables if kopt._should_use_adamw(v))
    ours_adam = sorted(n for n, p in tm.named_parameters() if opt.uses_adam(p))
    print(f"AdamW step: Keras {keras_adam}; torch_impl {ours_adam}")
    assert len(keras_adam) == len(ours_adam) == 4 and "dense.weight" not in ours_adam
    print(f"fit with Muon({cfg}), {dt}:")
    _check_history(th, kh, dt)


def test_torch_optim_muon_differs_by_default_and_not_with_keras_settings():
    """``torch.optim.Muon`` (2-D parameters only) against Keras's Muon step on a 2-D weight: with its defaults
    (weight decay 0.1, rate scaled by ``sqrt(max(1, rows / cols))``) another step; with ``weight_decay=0`` and
    ``adjust_lr_fn="match_rms_adamw"`` (Keras's ``0.2 sqrt(max(rows, cols))``) Keras's step to bfloat16
    rounding: torch runs the Newton-Schulz iterations in bfloat16 whatever the parameter's dtype (its momentum
    buffer is Keras's times ``1 - momentum``, which the normalisation removes up to the 1e-7 of the norm)."""
    rng = np.random.default_rng(5)
    w0 = rng.normal(size=(6, 4))
    grads = [[rng.normal(size=(6, 4))] for _ in range(6)]
    ref, _ = keras_run("muon", {"learning_rate": 0.02, "weight_decay": None}, [w0], grads, "float64")
    ours, _ = torch_run("muon", {"learning_rate": 0.02, "weight_decay": None}, [w0], grads, "float64")
    gaps = {}
    for label, kwargs in (("defaults", {}), ("keras settings", {"weight_decay": 0.0,
                                                                "adjust_lr_fn": "match_rms_adamw"})):
        p = torch.nn.Parameter(torch.tensor(w0))
        opt = torch.optim.Muon([p], lr=0.02, **kwargs)
        for (g,) in grads:
            p.grad = torch.tensor(g)
            opt.step()
        gaps[label] = float(np.max(np.abs(p.detach().numpy() - ref[-1][0])) / np.max(np.abs(ref[-1][0])))
    ours_gap = compare([ours[-1]], [ref[-1]])[2]
    print(f"after 6 steps, rel-to-max from Keras: torch_impl.optim.Muon {ours_gap:.1e}; torch.optim.Muon "
          + ", ".join(f"{k} {v:.1e}" for k, v in gaps.items()))
    assert ours_gap <= 1e-14 and gaps["defaults"] > 1e-2 and 1e-5 < gaps["keras settings"] < 2e-3


def test_muon_arguments_names_and_sparse_gradients():
    """Keras's defaults and name; nonsense arguments raise ``ValueError``; ``exclude_layers`` needs named
    parameters; the AdamW/Muon split follows Keras's rules; a row-sparse gradient is refused."""
    k = keras.optimizers.Muon()
    t = optim.Muon([torch.nn.Parameter(torch.zeros(2, 2))])
    assert t.name == "muon" and k.name.startswith("muon")
    for key in ("adam_beta_1", "adam_beta_2", "epsilon", "muon_a", "muon_b", "muon_c", "adam_lr_ratio", "momentum",
                "ns_steps", "nesterov", "rms_rate", "adam_weight_decay"):
        assert t.param_groups[0][key] == getattr(k, key), key
    assert t.param_groups[0]["weight_decay"] == k.weight_decay and t.exclude_embeddings == k.exclude_embeddings
    p = [torch.nn.Parameter(torch.zeros(2, 2))]
    for kwargs in ({"momentum": 1.5}, {"ns_steps": -1}, {"ns_steps": 2.5}, {"adam_beta_1": 1.0},
                   {"muon_a": float("nan")}, {"rms_rate": -0.2}, {"exclude_layers": [3]}):
        with pytest.raises(ValueError):
            optim.Muon(p, **kwargs)
    with pytest.raises(ValueError, match="named_parameters"):
        optim.Muon(p, exclude_layers=["output"])
    emb, hidden, out = torch.nn.Embedding(5, 3), torch.nn.Linear(3, 3), torch.nn.Linear(3, 2)
    named = [("token_embedding.weight", emb.weight), ("hidden.weight", hidden.weight), ("hidden.bias", hidden.bias),
             ("output.weight", out.weight)]
    opt = optim.Muon(named, exclude_layers=["^output"])
    assert [opt.uses_adam(q) for _, q in named] == [True, False, True, True]
    assert not optim.Muon(named, exclude_embeddings=False).uses_adam(emb.weight)
    print("Muon: Keras's defaults and name; nonsense arguments and exclude_layers without names refused; the "
          "AdamW/Muon split by dimension, 'embedding' and exclude_layers")


@pytest.mark.parametrize("exclude_embeddings", [True, False])
def test_muon_embedding_row_slices_like_keras(exclude_embeddings):
    """An Embedding's row slices (repeated tokens; ``nn.Embedding(sparse=True)``'s gradient, Keras's
    ``tf.IndexedSlices``): with ``exclude_embeddings`` Keras's row-sparse AdamW step (bit for bit: the second
    moment from the occurrences' squares); without, Muon's step on the densified rows."""
    rng = np.random.default_rng(6)
    w0 = rng.normal(size=(7, 4))
    steps = [(np.array([1, 4, 1, 1, 6]), rng.normal(size=(5, 4))) for _ in range(5)]
    cfg = {"learning_rate": 0.02, "exclude_embeddings": exclude_embeddings}
    with _Floatx("float64"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kv = keras.Variable(w0, dtype="float64", name="embedding")
        kopt = keras.optimizers.Muon(**cfg)
        kopt.build([kv])

        @tf.function(jit_compile=False, reduce_retracing=True)
        def apply(g):
            return kopt.apply_gradients([(g, kv)])

        p = torch.nn.Parameter(torch.tensor(w0))
        opt = optim.Muon([("embedding.weight", p)], **cfg)
        for idx, vals in steps:
            apply(tf.IndexedSlices(tf.constant(vals), tf.constant(idx), tf.constant(w0.shape, dtype=tf.int64)))
            p.grad = torch.sparse_coo_tensor(torch.tensor(idx)[None], torch.tensor(vals), w0.shape)
            opt.step()
    ref, ours = kv.numpy(), p.detach().numpy()
    gap = float(np.max(np.abs(ours - ref)) / np.max(np.abs(ref)))
    print(f"Embedding row slices, exclude_embeddings={exclude_embeddings}: {int((ours != ref).sum())} entries differ "
          f"after 5 steps, max rel-to-max {gap:.1e}")
    assert gap == 0 if exclude_embeddings else gap <= 1e-14


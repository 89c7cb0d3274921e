"""``torch_impl.fit`` given its data as batches, against ``keras.Model.fit`` (Keras 3.15.1 on TensorFlow) given the
same batches: a Python generator, a ``torch.utils.data.DataLoader``, a ``keras.utils.PyDataset`` (on the torch side
a plain class shaped like one: torch_impl never imports Keras), with ``steps_per_epoch``, ``validation_data`` /
``validation_steps``, ``evaluate(steps=)`` and ``predict(steps=)``.

What Keras does with them (measured here, every figure printed; ``keras/src/trainers/epoch_iterator.py``,
``data_adapters/``):

* a generator without ``steps_per_epoch`` is read to its end in epoch 1; Keras's TensorFlow backend read its
  first two batches ahead (the ``tf.data`` signature) and *replays* them at each new pass, so every later epoch
  trains on those two batches. Keras 3.15.1 warns ``Your input ran out of data`` at each such end; later Keras
  warns only with ``steps_per_epoch`` / ``steps`` (keras-team/keras#23360), as torch_impl does: the Keras runs here
  are made under ``keras_impl.trainers.upstream_epoch_iterator()`` (the fix applied to 3.15.1);
* with ``steps_per_epoch`` a generator is continued across epochs; so is a DataLoader or a PyDataset, restarted
  only when a pass is used up (an epoch can then end early, with the warning); an epoch that gets no batch logs
  ``loss`` 0.0;
* at a step whose input runs out, Keras's compiled train function still advances the optimizer's step count and
  the dropout seed generators (the ops that need no data): Adam's next steps differ from a run without it;
* a DataLoader is read once more before training (two batches, the signature): with ``shuffle=True`` its orders
  are those of torch's RNG one pass later; a PyDataset is shuffled with Python's ``random`` (``fit``'s default
  ``shuffle=True``), and its ``on_epoch_end`` runs once when ``fit``/``evaluate`` starts and after every pass;
* ``class_weight`` is applied per PyDataset batch, and refused for a generator or a DataLoader; ``y``,
  ``sample_weight`` and ``validation_split`` are refused, ``batch_size`` ignored, ``shuffle=True`` ignored with a
  warning.

Standards: float64 histories within 1e-14 relative every epoch, float32 within 3e-7 (a few float32 ulps), the
same history keys and the same warnings.
"""

from __future__ import annotations

import math
import random
import re
import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

from keras_impl.models import build_model as keras_model  # noqa: E402
from keras_impl.trainers import upstream_epoch_iterator  # noqa: E402 - keras-team/keras#23360, followed
from parity_tests.test_field_scripts_round2 import _precision, _rel  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, optim  # noqa: E402
from torch_impl.nn import build_model, load_keras_weights  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

TOL = {"float64": 1e-14, "float32": 3e-7}
SPEC = {"input_dim": 4, "layers": [{"type": "dense", "units": 8, "activation": "relu"},
                                   {"type": "dense", "units": 3, "activation": "softmax"}]}
N = 70
_rng = np.random.default_rng(0)
X = _rng.normal(size=(N, 4)) * 2
Y = np.argmax(X[:, :3] + _rng.normal(size=(N, 3)), -1)
SW = np.linspace(0.2, 2.0, N)


def _gen(n_batches=None, bs=16, sw=False, dt="float64", start=0):
    """Batches ``start, start + 1, ...`` of ``bs`` samples, cycling through the 70 (the last of a pass partial);
    ``n_batches=None``: endless."""
    i = start
    while n_batches is None or i < start + n_batches:
        lo = (i * bs) % N
        hi = min(lo + bs, N)
        yield (X[lo:hi].astype(dt), Y[lo:hi]) + ((SW[lo:hi].astype(dt),) if sw else ())
        i += 1


class _Batches:
    """A PyDataset's body: ``__len__``, ``__getitem__``, the epoch hooks, with a log of the calls."""

    def _setup(self, bs, dt, x_only=False):
        self.bs, self.dt, self.x_only = bs, dt, x_only
        self.reads, self.begins, self.ends = [], 0, 0

    def __len__(self):
        return math.ceil(N / self.bs)

    def __getitem__(self, i):
        self.reads.append(i)
        sl = slice(i * self.bs, (i + 1) * self.bs)
        return X[sl].astype(self.dt) if self.x_only else (X[sl].astype(self.dt), Y[sl])

    def on_epoch_begin(self):
        self.begins += 1

    def on_epoch_end(self):
        self.ends += 1


class PlainDataset(_Batches):
    """torch_impl's side: no Keras."""

    def __init__(self, bs=16, dt="float64", x_only=False):
        self._setup(bs, dt, x_only)


def _keras_dataset(bs=16, dt="float64", x_only=False):
    class KerasDataset(_Batches, keras.utils.PyDataset):
        def __init__(self):
            keras.utils.PyDataset.__init__(self)
            self._setup(bs, dt, x_only)

    return KerasDataset()


def _loader(bs=16, dt="float64", shuffle=False):
    data = torch.utils.data.TensorDataset(torch.tensor(X.astype(dt)), torch.tensor(Y))
    return torch.utils.data.DataLoader(data, batch_size=bs, shuffle=shuffle)


def _pair(dt, spec=SPEC, seed=0):
    keras.utils.set_random_seed(seed)
    km = keras_model(spec, dtype=dt)
    tm = build_model(spec, dtype=getattr(torch, dt))
    load_keras_weights(tm, km.get_weights())
    km.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    opt = optim.Adam(tm.parameters(), learning_rate=0.01)
    return km, tm, opt


def _ran_out(caught) -> int:
    return sum("ran out of data" in str(w.message) for w in caught)


def _both(dt, keras_data, torch_data, spec=SPEC, before=None, keras_kw=None, torch_kw=None, **kw):
    """The same fit on both sides: ``keras_data()`` / ``torch_data()`` make each side's input; ``before()`` runs
    before each (a seed). Returns ``(keras history, torch_impl history, Keras's warnings, ours, km, tm, optimizer)``."""
    with _precision(dt):
        km, tm, opt = _pair(dt, spec)
        if before:
            before()
        with warnings.catch_warnings(record=True) as k_warn, upstream_epoch_iterator():
            warnings.simplefilter("always")
            kh = km.fit(keras_data(), verbose=0, **kw, **(keras_kw or {})).history
        if before:
            before()
        with warnings.catch_warnings(record=True) as t_warn:
            warnings.simplefilter("always")
            th = tfit.fit(tm, torch_data(), loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                          optimizer=opt, verbose=0, **kw, **(torch_kw or {})).history
    return kh, th, k_warn, t_warn, km, tm, opt


def _check(name, dt, kh, th, k_warn=(), t_warn=()):
    tol = TOL[dt]
    print(f"{name}, {dt}: keys {sorted(kh)}; 'ran out of data' warnings: Keras {_ran_out(k_warn)}, "
          f"torch_impl {_ran_out(t_warn)}")
    assert sorted(th) == sorted(kh)
    for k in kh:
        r = _rel(th[k], kh[k])
        print(f"  {k}: Keras {np.round(kh[k], 7).tolist()}\n  {' ' * len(k)}  torch_impl "
              f"{np.round(th[k], 7).tolist()}  max rel {r:.1e}")
        assert r <= tol, k
    assert _ran_out(t_warn) == _ran_out(k_warn)


# --------------------------------------------------------------------------------------------------------------
# generators
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_generator_without_steps_like_keras(dt):
    """5 batches (the last of 6 samples), 3 epochs: epoch 1 reads the generator to its end, epochs 2 and 3 train on
    the two batches Keras read first (no warning: keras-team/keras#23360; 3.15.1 warns each epoch). A Dropout
    layer: its seed stream, like Adam's step count, advances at each step that ran out of data."""
    spec = {"input_dim": 4, "layers": [{"type": "dense", "units": 8, "activation": "relu"},
                                       {"type": "dropout", "rate": 0.25, "seed": 3},
                                       {"type": "dense", "units": 3, "activation": "softmax"}]}
    kh, th, kw, tw, km, tm, opt = _both(dt, lambda: _gen(5, dt=dt), lambda: _gen(5, dt=dt), spec=spec, epochs=3)
    _check("generator, no steps_per_epoch", dt, kh, th, kw, tw)
    assert _ran_out(kw) == 0  # Keras 3.15.1: 3 (keras-team/keras#23360)
    k_seed = tuple(int(v) for v in km.layers[1].seed_generator.state.numpy())
    t_seed = next(m.state for m in tm.modules() if hasattr(m, "seed_generator") or type(m).__name__ == "Dropout")
    print(f"  optimizer steps: Keras {int(km.optimizer.iterations)}, torch_impl {opt.iterations} (5 + 2 + 2 batches "
          f"and 3 steps that ran out); dropout seed state: Keras {k_seed}, torch_impl {t_seed}")
    assert int(km.optimizer.iterations) == opt.iterations == 12
    assert k_seed == t_seed == (3, 12)


def test_generator_with_steps_per_epoch_like_keras():
    """An endless generator yielding sample weights, ``steps_per_epoch=3``: continued across epochs (batches 0-2, 3-5,
    ...), the pass's partial last batch where it falls. Then 5 batches with ``steps_per_epoch=2`` over 5 epochs: 0-1,
    2-3, 4 and out (warning), the two replayed batches, then nothing: an epoch of no batch logs 0.0."""
    dt = "float64"
    kh, th, kw, tw, _, _, _ = _both(dt, lambda: _gen(None, sw=True, dt=dt), lambda: _gen(None, sw=True, dt=dt),
                                    epochs=4, steps_per_epoch=3)
    _check("endless generator with sample weights, steps_per_epoch=3", dt, kh, th, kw, tw)
    assert _ran_out(kw) == 0
    kh, th, kw, tw, km, _, opt = _both(dt, lambda: _gen(5, dt=dt), lambda: _gen(5, dt=dt), epochs=5,
                                       steps_per_epoch=2)
    _check("5 batches, steps_per_epoch=2, 5 epochs", dt, kh, th, kw, tw)
    assert kh["loss"][4] == th["loss"][4] == 0.0 and _ran_out(kw) == 2
    print(f"  optimizer steps: Keras {int(km.optimizer.iterations)}, torch_impl {opt.iterations}")
    assert int(km.optimizer.iterations) == opt.iterations == 9


# --------------------------------------------------------------------------------------------------------------
# DataLoader
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_dataloader_like_keras(dt):
    """A shuffling DataLoader (70 samples, batches of 16: the last of 6) under ``torch.manual_seed(11)``: Keras reads
    it once before training, so its epochs take torch's 2nd, 3rd, 4th orders, and so do torch_impl's. Validation on
    another DataLoader, read whole at each validation."""
    kh, th, kw, tw, _, _, _ = _both(dt, lambda: _loader(dt=dt, shuffle=True), lambda: _loader(dt=dt, shuffle=True),
                                    before=lambda: torch.manual_seed(11), epochs=3,
                                    keras_kw={"validation_data": _loader(bs=32, dt=dt)},
                                    torch_kw={"validation_data": _loader(bs=32, dt=dt)})
    _check("DataLoader(shuffle=True), validation DataLoader", dt, kh, th, kw, tw)


def test_dataloader_with_steps_per_epoch_like_keras():
    """5 batches, ``steps_per_epoch=2``: the pass goes on across epochs (0-1, 2-3), epoch 3 gets batch 4 alone and
    ends early with the warning, epoch 4 starts a new pass."""
    dt = "float64"
    kh, th, kw, tw, km, _, opt = _both(dt, lambda: _loader(dt=dt), lambda: _loader(dt=dt), epochs=5,
                                       steps_per_epoch=2, shuffle=False)
    _check("DataLoader, steps_per_epoch=2", dt, kh, th, kw, tw)
    assert _ran_out(kw) == 1
    print(f"  optimizer steps: Keras {int(km.optimizer.iterations)}, torch_impl {opt.iterations} (no step ran out: "
          "the pass's length is known)")
    assert int(km.optimizer.iterations) == opt.iterations == 9


def test_dataloader_of_unknown_length_like_keras():
    """A DataLoader over an ``IterableDataset`` (no length): each epoch reads a whole new pass and runs out of data at
    its end (no warning since keras-team/keras#23360; the step that ran out advances Adam's step count), as a
    generator's first epoch does."""
    dt = "float64"

    class Stream(torch.utils.data.IterableDataset):
        def __iter__(self):
            for i in range(0, N, 16):
                yield torch.tensor(X[i:i + 16]), torch.tensor(Y[i:i + 16])

    def make():
        return torch.utils.data.DataLoader(Stream(), batch_size=None)

    kh, th, kw, tw, km, _, opt = _both(dt, make, make, epochs=3, shuffle=False)
    _check("DataLoader of an IterableDataset", dt, kh, th, kw, tw)
    print(f"  optimizer steps: Keras {int(km.optimizer.iterations)}, torch_impl {opt.iterations}")
    assert _ran_out(kw) == 0 and int(km.optimizer.iterations) == opt.iterations == 18  # 3.15.1: 3 warnings


# --------------------------------------------------------------------------------------------------------------
# PyDataset
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_pydataset_shuffle_class_weight_and_hooks_like_keras(dt):
    """``fit``'s default ``shuffle=True`` shuffles a PyDataset's batch order with Python's ``random`` (seeded with
    ``random.seed(5)`` on both sides), ``class_weight`` weighs each batch; validation on a PyDataset with
    ``validation_steps=2`` (its first two batches each time). The hooks and reads are Keras's: batches 0 and 1
    read ahead, ``on_epoch_end`` once at the start and after each pass (and twice per validation)."""
    cw = {0: 1.0, 1: 2.5, 2: 0.5}
    sets = {}

    def make(side, what, **kw):
        ds = _keras_dataset(dt=dt, **kw) if side == "keras" else PlainDataset(dt=dt, **kw)
        sets[side, what] = ds
        return ds

    kh, th, kw, tw, _, _, _ = _both(dt, lambda: make("keras", "train"), lambda: make("torch", "train"),
                                    before=lambda: random.seed(5), epochs=3, class_weight=cw, validation_steps=2,
                                    keras_kw={"validation_data": make("keras", "val", bs=20)},
                                    torch_kw={"validation_data": make("torch", "val", bs=20)})
    _check("PyDataset, shuffle, class_weight, validation PyDataset with validation_steps=2", dt, kh, th, kw, tw)
    for what in ("train", "val"):
        k, t = sets["keras", what], sets["torch", what]
        print(f"  {what}: reads Keras {k.reads}\n  {' ' * len(what)}        torch_impl {t.reads}\n"
              f"  {' ' * len(what)}  on_epoch_begin Keras {k.begins} torch_impl {t.begins}, on_epoch_end Keras "
              f"{k.ends} torch_impl {t.ends}")
        assert (t.begins, t.ends) == (k.begins, k.ends)
    # the training reads are Keras's; in validation tf.data's prefetch also reads ahead a batch it never uses
    # (batch 2, timing-dependent), which torch_impl does not
    assert sets["torch", "train"].reads == sets["keras", "train"].reads
    assert sets["keras", "train"].reads[:2] == [0, 1] and sets["keras", "train"].ends == 4
    assert [i for i in sets["keras", "val"].reads if i < 2] == sets["torch", "val"].reads


# --------------------------------------------------------------------------------------------------------------
# validation generators, evaluate, predict
# --------------------------------------------------------------------------------------------------------------


def test_validation_generator_replays_like_keras():
    """``validation_data`` a generator of 3 batches, no ``validation_steps``: the first validation reads it to its end
    (3.15.1 warns; not since keras-team/keras#23360), the later ones get the two batches read ahead."""
    dt = "float64"
    kh, th, kw, tw, _, _, _ = _both(dt, lambda: _loader(dt=dt), lambda: _loader(dt=dt), epochs=3, shuffle=False,
                                    keras_kw={"validation_data": _gen(3, bs=10, dt=dt, start=2)},
                                    torch_kw={"validation_data": _gen(3, bs=10, dt=dt, start=2)})
    _check("validation generator", dt, kh, th, kw, tw)
    assert _ran_out(kw) == 0  # Keras 3.15.1: 3 (keras-team/keras#23360)


def test_evaluate_and_predict_like_keras():
    """``evaluate`` and ``predict`` on a generator (``steps`` or not), a PyDataset and a DataLoader."""
    dt = "float64"
    with _precision(dt):
        km, tm, _ = _pair(dt, seed=4)
        ev = {"generator": (lambda: _gen(5, dt=dt), {}), "generator, steps=2": (lambda: _gen(5, dt=dt), {"steps": 2}),
              "PyDataset, steps=3": (None, {"steps": 3}), "DataLoader": (lambda: _loader(bs=32, dt=dt), {})}
        for name, (make, kw) in ev.items():
            with warnings.catch_warnings(record=True) as k_warn, upstream_epoch_iterator():
                warnings.simplefilter("always")
                k = km.evaluate(make() if make else _keras_dataset(dt=dt), verbose=0, return_dict=True, **kw)
            with warnings.catch_warnings(record=True) as t_warn:
                warnings.simplefilter("always")
                t = tfit.evaluate(tm, make() if make else PlainDataset(dt=dt), loss="sparse_categorical_crossentropy",
                                  metrics=["accuracy"], **kw)
            print(f"evaluate, {name}: Keras {k}, torch_impl {t}; 'ran out' warnings {_ran_out(k_warn)}, "
                  f"{_ran_out(t_warn)}")
            assert sorted(k) == sorted(t) and _ran_out(k_warn) == _ran_out(t_warn)
            for key in k:
                assert _rel(t[key], k[key]) <= TOL[dt], key
        pred = {"generator of (x,)": (lambda: ((b[0],) for b in _gen(5, dt=dt)), {}),
                "generator of (x, y), steps=2": (lambda: _gen(5, dt=dt), {"steps": 2}),
                "PyDataset of x": (None, {}),
                "DataLoader of (x,)": (lambda: torch.utils.data.DataLoader(
                    torch.utils.data.TensorDataset(torch.tensor(X)), batch_size=32), {})}
        for name, (make, kw) in pred.items():
            kdata = make() if make else _keras_dataset(dt=dt, x_only=True)
            tdata = make() if make else PlainDataset(dt=dt, x_only=True)
            with warnings.catch_warnings(record=True) as k_warn, upstream_epoch_iterator():
                warnings.simplefilter("always")
                k = km.predict(kdata, verbose=0, **kw)
            with warnings.catch_warnings(record=True) as t_warn:
                warnings.simplefilter("always")
                t = tfit.predict(tm, tdata, output_activation="softmax", **kw)
            err = float(np.max(np.abs(t - k)))
            print(f"predict, {name}: shapes Keras {k.shape}, torch_impl {t.shape}; max abs difference {err:.1e}; "
                  f"'ran out' warnings {_ran_out(k_warn)}, {_ran_out(t_warn)}")
            assert t.shape == k.shape and err <= 1e-15 and _ran_out(k_warn) == _ran_out(t_warn)


def test_multi_output_generator_like_keras():
    """A two-head model (softmax classes, linear regression) trained on a generator of ``(x, {"cls": ya, "reg": yb},
    sample_weight)`` batches: Keras's per-output logs. Those that count one per batch (the per-output losses, a loss
    object as a metric) count one more at each step that ran out of data, as Keras's compiled step does."""
    dt = "float64"
    yb = (2 * X[:, 2:3] - X[:, 3:4]).astype(dt)

    def gen():
        for i in range(0, N, 16):
            sl = slice(i, i + 16)
            yield X[sl], {"cls": Y[sl], "reg": yb[sl]}, SW[sl]

    class TwoHead(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.shared, self.cls, self.reg = torch.nn.Linear(4, 8), torch.nn.Linear(8, 3), torch.nn.Linear(8, 1)

        def forward(self, x):
            h = torch.relu(self.shared(x))
            return {"cls": self.cls(h), "reg": self.reg(h)}

    args = dict(loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"}, loss_weights={"cls": 1.0, "reg": 0.5})
    with _precision(dt):  # (a loss object takes floatx when made)
        k_metrics = {"cls": ["accuracy"], "reg": ["mae", keras.losses.MeanAbsoluteError()]}
        t_metrics = {"cls": ["accuracy"], "reg": ["mae", losses.MeanAbsoluteError()]}
        keras.utils.set_random_seed(1)
        inp = keras.Input((4,))
        h = keras.layers.Dense(8, activation="relu")(inp)
        km = keras.Model(inp, {"cls": keras.layers.Dense(3, activation="softmax", name="cls")(h),
                               "reg": keras.layers.Dense(1, name="reg")(h)})
        net = load_keras_weights(TwoHead(), km.get_weights())
        km.compile(optimizer=keras.optimizers.Adam(0.01), metrics=k_metrics, **args)
        with warnings.catch_warnings(record=True) as kw, upstream_epoch_iterator():  # keras-team/keras#23360
            warnings.simplefilter("always")
            kh = km.fit(gen(), epochs=3, verbose=0, shuffle=False).history
        with warnings.catch_warnings(record=True) as tw:
            warnings.simplefilter("always")
            th = tfit.fit(net, gen(), optimizer=optim.Adam(net.parameters(), learning_rate=0.01),
                          output_activation={"cls": "softmax"}, epochs=3, verbose=0, shuffle=False,
                          metrics=t_metrics, **args).history
    _check("two heads on a generator", dt, kh, th, kw, tw)
    # the per-output losses and the loss object count one per batch, and one more at the step that ran out: epoch 1
    # is their sum over 6 batches for 5 read, epochs 2 and 3 over 3 for the 2 replayed
    assert kh["reg_mean_absolute_error"][0] != pytest.approx(kh["reg_mae"][0], rel=1e-3)


# --------------------------------------------------------------------------------------------------------------
# errors and warnings
# --------------------------------------------------------------------------------------------------------------


def _keras_error(km, call) -> str:
    try:
        call(km)
    except Exception as e:  # noqa: BLE001 - Keras raises ValueError, TensorFlow its own types
        return f"{type(e).__name__}: {e}"
    return "no error"


def test_arguments_keras_refuses_raise_like_keras():
    """``y``, ``sample_weight``, ``class_weight``, ``validation_split`` beside data given as batches: Keras's errors,
    word for word (the first line); ``shuffle=True`` with a generator or a DataLoader: Keras's warning; ``batch_size``
    ignored."""
    bad = {
        "generator, y": (lambda: _gen(5), dict(y=Y)),
        "generator, sample_weight": (lambda: _gen(5), dict(sample_weight=SW)),
        "generator, class_weight": (lambda: _gen(5), dict(class_weight={0: 2.0})),
        "generator, validation_split": (lambda: _gen(5), dict(validation_split=0.2)),
        "DataLoader, y": (lambda: _loader(), dict(y=Y)),
        "DataLoader, class_weight": (lambda: _loader(), dict(class_weight={0: 2.0})),
        "PyDataset, y": ("pydataset", dict(y=Y)),
        "PyDataset, sample_weight": ("pydataset", dict(sample_weight=SW)),
        "PyDataset, validation_split": ("pydataset", dict(validation_split=0.5)),
    }
    with _precision("float64"):
        km, tm, opt = _pair("float64")
        for name, (make, kw) in bad.items():
            kdata = _keras_dataset() if make == "pydataset" else make()
            tdata = PlainDataset() if make == "pydataset" else make()
            k_msg = _keras_error(km, lambda m: m.fit(kdata, verbose=0, **kw))
            with pytest.raises(ValueError) as ours:
                tfit.fit(tm, tdata, loss="sparse_categorical_crossentropy", optimizer=opt, verbose=0, **kw)
            k_first = k_msg.split("ValueError: ", 1)[-1].split(" Received")[0].split(" You can")[0]
            k_first = k_first.replace("<class '__main__.KerasDataset'>", "").split("[<class")[0]
            print(f"{name}: Keras {k_msg[:110]!r}\n  {' ' * len(name)}torch_impl {str(ours.value)[:110]!r}")
            assert k_msg.startswith("ValueError") and str(ours.value).startswith(k_first)
        for make in (lambda: _gen(5), lambda: _loader()):
            with warnings.catch_warnings(record=True) as k_warn:
                warnings.simplefilter("always")
                km.fit(make(), verbose=0, epochs=1, batch_size=3)
            with warnings.catch_warnings(record=True) as t_warn:
                warnings.simplefilter("always")
                tfit.fit(tm, make(), loss="sparse_categorical_crossentropy", optimizer=opt, verbose=0, batch_size=3)
            k_shuffle = [str(w.message) for w in k_warn if "shuffle=True" in str(w.message)]
            t_shuffle = [str(w.message) for w in t_warn if "shuffle=True" in str(w.message)]
            print(f"shuffle warning: {k_shuffle}")
            assert k_shuffle == t_shuffle and len(k_shuffle) == 1


def test_malformed_batches_raise_like_keras():
    """Batches Keras cannot train on: the error is raised before training or at the batch, saying which batch and
    which array (Keras's messages where it has one; its TensorFlow errors become a ValueError naming the batch)."""
    def batches(n=5):
        return [(X[i:i + 16], Y[i:i + 16]) for i in range(0, 16 * n, 16)]

    four = [b + (SW[:16], SW[:16]) for b in batches()]
    wider = batches()
    wider[3] = (np.zeros((16, 5)), Y[:16])
    ranks = batches()
    ranks[1] = (np.zeros((16, 4, 1)), Y[:16])
    rows = batches()
    rows[2] = (X[:16], Y[:15])
    structure = batches()
    structure[3] = structure[3] + (SW[:16],)
    cases = {
        "a 4-tuple": (lambda: (b for b in four), "Data is expected to be in format `x`, `(x,)`, `(x, y)`"),
        "lists from a generator": (lambda: ([x, y] for x, y in batches()),
                                   "When passing a Python generator to a Keras model, the generator must return a "
                                   "tuple"),
        "an empty generator": (lambda: (b for b in []), "the generator must yield at least one batch"),
        "a wider x at batch 3": (lambda: (b for b in wider), "Batch 3 of the generator holds batch[0] of shape "
                                                             "(16, 5) where an array of shape (None, 4)"),
        "a rank change at batch 1": (lambda: (b for b in ranks), "corresponding arrays in each batch must have the "
                                                                 "same rank"),
        "15 labels for 16 inputs": (lambda: (b for b in rows), "Data cardinality is ambiguous: batch 2"),
        "a 3-tuple at batch 3": (lambda: (b for b in structure), "Batch 3 of the generator is"),
        "no targets": (lambda: ((x,) for x, _ in batches()), "batches hold no targets"),
        "a PyDataset of 4-tuples": (lambda: type("P", (PlainDataset,), {"__getitem__": lambda s, i: four[i]})(),
                                    "PyDataset.__getitem__() must return a tuple or a dict"),
        "an empty PyDataset": (lambda: type("P", (PlainDataset,), {"__len__": lambda s: 0})(),
                               "The PyDataset has length 0"),
        "a torch Dataset": (lambda: _loader().dataset, "Wrap it in a torch.utils.data.DataLoader"),
    }
    with _precision("float64"):
        _, tm, opt = _pair("float64")
        for name, (make, match) in cases.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with pytest.raises(ValueError, match=re.escape(match)) as err:
                    tfit.fit(tm, make(), loss="sparse_categorical_crossentropy", optimizer=opt, verbose=0,
                             shuffle=False, epochs=2)
            print(f"{name}: {str(err.value)[:160]}")
        with pytest.raises(ValueError, match="the generator must return a tuple"):
            tfit.predict(tm, (x for x, _ in batches()))
        with pytest.raises(ValueError, match="`seed` and `generator` order the samples of arrays"):
            tfit.fit(tm, _gen(5), loss="sparse_categorical_crossentropy", optimizer=opt, verbose=0, seed=1)
        with pytest.raises(ValueError, match="When providing `x` as a generator, `y` should not be passed"):
            tfit.fit(tm, X, Y, loss="sparse_categorical_crossentropy", optimizer=opt, verbose=0,
                     validation_data=(_gen(2), Y))

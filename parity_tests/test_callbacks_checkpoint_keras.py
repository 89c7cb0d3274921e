"""``ModelCheckpoint``, ``CSVLogger`` and ``LambdaCallback`` of ``torch_impl.callbacks`` in ``torch_impl.fit``
against the same callbacks in ``keras.Model.fit``.

From identical data and weights, float64, ``shuffle=False`` on both sides:

* ``ModelCheckpoint`` (every epoch, ``save_best_only`` on ``val_loss`` / ``val_accuracy`` / ``mode="max"``,
  ``initial_value_threshold``, an integer ``save_freq`` with and without ``save_best_only``, a monitor missing
  in some epochs, the whole model): the same file names written in the same epochs (Keras's ``.weights.h5`` /
  ``.keras`` suffix against torch_impl's ``.pt``), the same ``verbose=1`` messages and warnings, and every
  checkpoint left holds the weights Keras's holds (``model.load_weights`` / ``keras.models.load_model`` against
  ``torch.load``, within 1e-12); the one saved at the best epoch is not the final model;
* ``CSVLogger``: the file byte for byte Keras's (separator, the ``val_`` columns a ``validation_freq`` run adds,
  ``NA``, the ``learning_rate`` a ``ReduceLROnPlateau`` logs, ``append`` and a reused logger, a ``nan`` row after
  ``TerminateOnNaN``);
* ``LambdaCallback``: the sequence of calls (hook, epoch or batch, logs) Keras makes.

Then Keras's own ``model_checkpoint_test.py``, ``csv_logger_test.py`` and ``lambda_callback_test.py`` translated
(their inputs and assertions, ``torch_impl.fit`` where they run ``model.fit``), and the one difference kept: Keras
3.15.1 fails with ``TypeError`` on a batch-level ``save_best_only`` comparison before the first epoch's end.
Every test prints its figures.

Run: ``.venv/bin/python -m pytest -q -s parity_tests/test_callbacks_checkpoint_keras.py``
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
import re
import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
layers = keras.layers

from parity_tests.test_field_scripts_round2 import _dense, _precision  # noqa: E402
from torch_impl import callbacks as tcb  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, optim  # noqa: E402
from torch_impl import metrics as tmetrics  # noqa: E402

pytestmark = pytest.mark.keras

EPOCHS = 12
KERAS_SUFFIX = {True: ".weights.h5", False: ".keras"}


def _noisy_data(n=80, d=5, seed=0):
    """Few samples, noisy labels: a wide net overfits, so val_loss turns up after a few epochs."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = ((x[:, 0] + 1.5 * rng.normal(size=n)) > 0).astype("int64")
    return x, y


def _keras_net(d, units):
    return keras.Sequential([keras.Input((d,)), layers.Dense(units, activation="relu"), layers.Dense(2)])


class _Pair:
    """A Keras model and its torch port from the same weights (float64), each with its optimizer: ``fit`` runs
    both the same way, again and again as a script calling ``fit`` twice would."""

    def __init__(self, opt=("adam", 0.05), units=64, data=None):
        self.x, self.y = data if data is not None else _noisy_data()
        self.units = units
        name, lr = opt
        with _precision("float64"):
            keras.utils.set_random_seed(0)
            self.model = _keras_net(self.x.shape[1], units)
            w = self.model.get_weights()
            self.model.compile(optimizer={"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD}[name](lr),
                               loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                               metrics=["accuracy"])
            self.net = torch.nn.Sequential(_dense(w[0], w[1]), torch.nn.ReLU(), _dense(w[2], w[3]))
            self.opt = {"adam": optim.Adam, "sgd": optim.SGD}[name](self.net.parameters(), learning_rate=lr)

    def fit(self, keras_cbs, torch_cbs, epochs=EPOCHS, **kwargs):
        """Both fits (a side given ``None`` for its callbacks is skipped); the two histories."""
        kwargs = {"batch_size": 16, "validation_split": 0.25, "shuffle": False, "verbose": 0, **kwargs}
        kh = th = None
        with _precision("float64"):
            if keras_cbs is not None:
                kh = self.model.fit(self.x, self.y, epochs=epochs, callbacks=keras_cbs, **kwargs).history
            if torch_cbs is not None:
                th = tfit.fit(self.net, self.x, self.y, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                              optimizer=self.opt, epochs=epochs, metrics=["accuracy"], callbacks=torch_cbs,
                              **kwargs).history
        return kh, th

    def keras_weights(self, path):
        """The weights in Keras's checkpoint ``path``, loaded as a user would (``load_weights`` into the same
        architecture, or ``keras.models.load_model``)."""
        with _precision("float64"):
            if path.endswith(".weights.h5"):
                fresh = _keras_net(self.x.shape[1], self.units)
                fresh.load_weights(path)
                return fresh.get_weights()
            return keras.models.load_model(path).get_weights()

    @staticmethod
    def torch_weights(path):
        """The weights in torch_impl's checkpoint ``path`` (a ``state_dict`` or the whole module) in Keras's
        layout."""
        saved = torch.load(path, weights_only=False)
        state = saved.state_dict() if isinstance(saved, torch.nn.Module) else saved
        return [t.numpy().T if t.dim() == 2 else t.numpy() for t in state.values()]


def _max_diff(a, b) -> float:
    assert len(a) == len(b)
    return max(float(np.max(np.abs(np.asarray(u, np.float64) - np.asarray(v, np.float64)))) for u, v in zip(a, b))


def _stem(name: str) -> str:
    for suffix in (".weights.h5", ".keras", ".pt"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _written(directory: str, seen: dict) -> list:
    """The checkpoint names (suffix removed) new or rewritten in ``directory`` since ``seen`` (name -> content
    hash), which it updates."""
    now = {}
    for root, _, files in os.walk(directory):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                now[os.path.relpath(os.path.join(root, f), directory)] = hashlib.sha1(fh.read()).hexdigest()
    out = sorted(_stem(f) for f, h in now.items() if seen.get(f) != h)
    seen.clear()
    seen.update(now)
    return out


class _KerasFiles(keras.callbacks.Callback):
    """After the checkpoint callback: what each epoch wrote."""

    def __init__(self, directory):
        super().__init__()
        self.directory, self.seen, self.epochs = directory, {}, []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(_written(self.directory, self.seen))


class _TorchFiles(tcb.Callback):
    def __init__(self, directory):
        super().__init__()
        self.directory, self.seen, self.epochs = directory, {}, []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(_written(self.directory, self.seen))


def _normalise(text: str, directory: str) -> str:
    return re.sub(r"\.(weights\.h5|keras|pt)\b", ".<ext>", text.replace(directory, "<dir>"))


# ----------------------------------------------------------------------------------------------- ModelCheckpoint

CONFIGS = {
    "every-epoch": ({}, "ep{epoch:02d}-{val_loss:.4f}", {}),
    "best-val_loss": ({"save_best_only": True}, "best-{epoch:02d}-{val_loss:.3f}", {}),
    "best-val_accuracy-auto": ({"monitor": "val_accuracy", "save_best_only": True},
                               "acc-{epoch:02d}-{val_accuracy:.4f}", {}),
    "best-val_loss-mode-max": ({"monitor": "val_loss", "mode": "max", "save_best_only": True},
                               "max-{epoch:02d}-{val_loss:.5f}", {}),
    "initial_value_threshold": ({"save_best_only": True, "initial_value_threshold": 1.13},
                                "thr-{epoch:02d}-{val_loss:.4f}", {}),
    "save_freq-3": ({"save_freq": 3}, "b{epoch:02d}-{batch:02d}-{loss:.4f}", {}),
    "save_freq-3-best-loss": ({"save_freq": 3, "monitor": "loss", "save_best_only": True},
                              "bl{epoch:02d}-{batch:02d}-{accuracy:.3f}", {}),
    "missing-monitor": ({"save_best_only": True}, "m{epoch:02d}", {"validation_freq": 3}),
    "whole-model-fixed-path": ({"monitor": "val_accuracy", "mode": "max", "save_best_only": True,
                                "save_weights_only": False}, "sub/dir/model", {}),
}


#: 7-20 s each in a clean-clone run; `make test` keeps best-only with mode auto and a missing monitor (the whole
#: model: test_model_checkpoint_options_keras_reference), `make test-all` the rest
CHECKPOINT_SLOW = {"every-epoch", "best-val_loss", "best-val_loss-mode-max", "initial_value_threshold", "save_freq-3",
                   "save_freq-3-best-loss", "whole-model-fixed-path"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in CHECKPOINT_SLOW else n
                                  for n in CONFIGS])
def test_checkpoint_files_messages_and_weights_like_keras(name, tmp_path):
    kwargs, pattern, fit_kwargs = CONFIGS[name]
    kwargs = {"save_weights_only": True, "verbose": 1, **kwargs}
    kdir, tdir = str(tmp_path / "keras"), str(tmp_path / "torch")
    k_ckpt = keras.callbacks.ModelCheckpoint(
        os.path.join(kdir, pattern + KERAS_SUFFIX[kwargs["save_weights_only"]]), **kwargs)
    t_ckpt = tcb.ModelCheckpoint(os.path.join(tdir, pattern + ".pt"), **kwargs)
    kfiles, tfiles = _KerasFiles(kdir), _TorchFiles(tdir)
    pair = _Pair()
    out = {}
    for side in ("keras", "torch"):
        buf = io.StringIO()
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(buf):
            warnings.simplefilter("always")
            if side == "keras":
                kh = _fit_one(pair, "keras", [k_ckpt, kfiles], fit_kwargs)
            else:
                _fit_one(pair, "torch", [t_ckpt, tfiles], fit_kwargs)
        out[side] = (_normalise(buf.getvalue(), kdir if side == "keras" else tdir),
                     [str(w.message) for w in caught if "save best model" in str(w.message)])
    print(f"{name}: ModelCheckpoint({kwargs}), {pattern!r}")
    print(f"  val_loss  {np.round(kh.get('val_loss', []), 4).tolist()}")
    print(f"  written per epoch: Keras {kfiles.epochs}")
    print(f"                     torch {tfiles.epochs}")
    messages = [line for line in out["keras"][0].splitlines() if line]
    print(f"  best Keras {k_ckpt.best} torch_impl {t_ckpt.best}; {len(messages)} messages, the same, e.g. "
          f"{messages[:2]}; warnings {len(out['keras'][1])} / {len(out['torch'][1])} {sorted(set(out['keras'][1]))}")
    assert kfiles.epochs == tfiles.epochs
    assert sum(map(len, kfiles.epochs)) > 0
    assert out["keras"] == out["torch"], (out["keras"], out["torch"])
    assert (k_ckpt.best is None) == (t_ckpt.best is None)
    if k_ckpt.best is not None:
        assert abs(k_ckpt.best - t_ckpt.best) <= 1e-12 * max(1.0, abs(k_ckpt.best))
    # every checkpoint left holds the same weights
    worst, n = 0.0, 0
    for root, _, files in os.walk(kdir):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), kdir)
            tpath = os.path.join(tdir, _stem(rel) + ".pt")
            worst = max(worst, _max_diff(pair.keras_weights(os.path.join(root, f)), pair.torch_weights(tpath)))
            n += 1
    print(f"  {n} checkpoints, weights max |diff| {worst:.1e}")
    assert worst <= 1e-12


def _fit_one(pair, side, cbs, fit_kwargs):
    """One side of :meth:`_Pair.fit` (to capture its output and warnings apart)."""
    return pair.fit(cbs, None, **fit_kwargs)[0] if side == "keras" else pair.fit(None, cbs, **fit_kwargs)[1]


def test_best_checkpoint_holds_the_best_epochs_weights_like_keras(tmp_path):
    """``save_best_only`` on ``val_loss`` to one path, weights and whole model: after training, the files hold the
    best epoch's weights (Keras's and torch_impl's equal), not the final ones."""
    pair = _Pair()
    k = [keras.callbacks.ModelCheckpoint(str(tmp_path / "k.weights.h5"), save_best_only=True, save_weights_only=True),
         keras.callbacks.ModelCheckpoint(str(tmp_path / "k.keras"), save_best_only=True)]
    t = [tcb.ModelCheckpoint(str(tmp_path / "w.pt"), save_best_only=True, save_weights_only=True),
         tcb.ModelCheckpoint(str(tmp_path / "m.pt"), save_best_only=True)]
    kh, th = pair.fit(k, t)
    best = int(np.argmin(kh["val_loss"]))
    kw_best = pair.keras_weights(str(tmp_path / "k.weights.h5"))
    kw_model = pair.keras_weights(str(tmp_path / "k.keras"))
    tw_best, tw_model = pair.torch_weights(str(tmp_path / "w.pt")), pair.torch_weights(str(tmp_path / "m.pt"))
    final = pair.model.get_weights()
    loaded = torch.load(str(tmp_path / "m.pt"), weights_only=False)
    gaps = (_max_diff(kw_best, tw_best), _max_diff(kw_model, tw_model), _max_diff(kw_best, kw_model))
    print(f"val_loss Keras {np.round(kh['val_loss'], 5).tolist()}\n  best epoch {best + 1} of {len(kh['val_loss'])}; "
          f"best val_loss Keras {k[0].best!r} torch_impl {t[0].best!r}")
    print(f"  weights file max |diff| {gaps[0]:.1e}, whole model {gaps[1]:.1e}; best vs final weights max |diff| "
          f"{_max_diff(kw_best, final):.2e}; torch.load gives a {type(loaded).__name__}")
    assert best < len(kh["val_loss"]) - 1 and k[0].best == kh["val_loss"][best]
    assert abs(t[0].best - k[0].best) <= 1e-12 and gaps[0] <= 1e-12 and gaps[1] <= 1e-12 and gaps[2] == 0.0
    assert _max_diff(kw_best, final) > 1e-6
    assert isinstance(loaded, torch.nn.Sequential)


def test_batch_level_save_best_only_in_the_first_epoch_keras_fails(tmp_path):
    """The difference kept: Keras 3.15.1 resolves the comparison at the first epoch's end, so a second
    ``save_best_only`` batch save in the first epoch fails (``TypeError: 'NoneType' object is not callable``);
    torch_impl resolves it there and saves on an improvement of the running loss."""
    pair = _Pair()
    k = keras.callbacks.ModelCheckpoint(str(tmp_path / "k{epoch}-{batch}.weights.h5"), monitor="loss",
                                        save_best_only=True, save_weights_only=True, save_freq=1)
    t = tcb.ModelCheckpoint(str(tmp_path / "t{epoch}-{batch}.pt"), monitor="loss", save_best_only=True,
                            save_weights_only=True, save_freq=1)
    with pytest.raises(TypeError, match="not callable"):
        pair.fit([k], None, epochs=2)
    _, th = pair.fit(None, [t], epochs=2)
    saved = sorted(f for f in os.listdir(tmp_path) if f.startswith("t"))
    print(f"Keras: TypeError; torch_impl saved {saved}, best running loss {t.best:.5f}, loss {th['loss']}")
    assert saved[0] == "t1-1.pt" and len(saved) > 1 and t.best <= min(th["loss"])


# ---------------------------------------------------------------------------------------------------- CSVLogger

def _read(path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _csv_compare(kb: bytes, tb: bytes, sep: str = ","):
    """Keras's file ``kb`` against torch_impl's ``tb``: the same lines (``\\r\\n``) and cells, every cell byte for
    byte but the floats that differ in their last digits (the losses themselves differ by ~1e-16 relative), which
    must agree within 1e-12 relative. Returns (cells, cells byte-identical, max relative difference)."""
    klines, tlines = kb.split(b"\r\n"), tb.split(b"\r\n")
    assert len(klines) == len(tlines) and klines[0] == tlines[0], (klines[:1], tlines[:1])
    cells = same = 0
    worst = 0.0
    for kl, tl in zip(klines, tlines):
        kc, tc = kl.split(sep.encode()), tl.split(sep.encode())
        assert len(kc) == len(tc), (kl, tl)
        for a, b in zip(kc, tc):
            cells += 1
            if a == b:
                same += 1
                continue
            fa, fb = float(a), float(b)  # only a float may differ
            assert not (np.isnan(fa) or np.isnan(fb)), (a, b)
            worst = max(worst, abs(fa - fb) / max(abs(fa), 1e-300))
    assert worst <= 1e-12, worst
    return cells, same, worst


class _KerasLogs(keras.callbacks.Callback):
    """After the CSVLogger: the logs it got each epoch (ReduceLROnPlateau's additions included)."""

    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append((epoch, dict(logs)))


def _replay(path, epochs, **kwargs) -> bytes:
    """torch_impl's CSVLogger driven with Keras's logs, as ``fit`` drives it."""
    cb = tcb.CSVLogger(path, **kwargs)
    cb.on_train_begin({})
    for epoch, logs in epochs:
        cb.on_epoch_end(epoch, dict(logs))
    cb.on_train_end({})
    return _read(path)


@pytest.mark.filterwarnings("ignore:Learning rate reduction is conditioned")  # no val_loss in odd epochs
@pytest.mark.parametrize("sep,validation_freq", [pytest.param(",", 1, id="comma", marks=pytest.mark.slow),
                                                     pytest.param("\t", 2, id="tab-validation_freq-2")])
def test_csv_logger_file_like_keras(sep, validation_freq, tmp_path):
    """With ``ReduceLROnPlateau`` before it (its ``learning_rate`` is in the logs): Keras's header, values and
    ``NA`` cells (a first epoch without validation adds ``val_`` columns for every key, ``val_learning_rate``
    too). Keras's own logs replayed through torch_impl's logger give Keras's file byte for byte; torch_impl's
    ``fit`` gives it but for the last digits of some floats."""
    pair = _Pair()
    kpath, tpath = str(tmp_path / "keras.csv"), str(tmp_path / "torch.csv")
    rate = {"factor": 0.5, "patience": 1}
    seen = _KerasLogs()
    pair.fit([keras.callbacks.ReduceLROnPlateau(**rate), keras.callbacks.CSVLogger(kpath, separator=sep), seen],
             [tcb.ReduceLROnPlateau(**rate), tcb.CSVLogger(tpath, separator=sep)], epochs=6,
             validation_freq=validation_freq)
    kb, tb = _read(kpath), _read(tpath)
    replayed = _replay(str(tmp_path / "replay.csv"), seen.epochs, separator=sep)
    cells, same, worst = _csv_compare(kb, tb, sep)
    print(f"separator {sep!r}, validation_freq {validation_freq}: Keras's logs replayed byte-identical "
          f"{replayed == kb}; fit: {same} of {cells} cells byte-identical, the rest within {worst:.1e} relative")
    print("  " + kb.decode().replace("\r\n", "\n  ").rstrip())
    assert replayed == kb
    assert kb.count(b"\r\n") == 7 and (b"NA" in kb) == (validation_freq > 1)
    assert (b"val_learning_rate" in kb) == (validation_freq > 1)


def test_csv_logger_formats_values_like_keras(tmp_path):
    """Both loggers driven with the same logs, no ``fit``: floats, ``nan``/``inf``, ints, strings, a missing key
    (``NA``), a key the first epoch lacked (not written), several values (Keras: a NumPy array, written
    ``"[a, b]"`` quoted; torch_impl's ``fit`` logs a list of Python floats: float32 ones print as Keras's
    ``str(np.float32)``)."""
    f32 = np.asarray([0.1, 0.7, 1.0], np.float32)
    epochs = [(0, {"loss": 0.1 + 0.2, "acc": float("nan"), "n": 3, "name": "a,b", "big": float("inf"),
                   "tp": f32}),
              (1, {"loss": 1e-20, "n": 4, "name": "x", "big": -1.5, "tp": f32 * 2, "later": 1.0}),
              (2, {"loss": 2.0, "acc": 0.25, "n": 5, "name": "", "big": 1e300, "tp": np.asarray([0.5, 1 / 3])})]
    files = {}
    with _precision("float32"):
        for side in ("keras", "torch"):
            path = str(tmp_path / f"{side}.csv")
            cb = keras.callbacks.CSVLogger(path) if side == "keras" else tcb.CSVLogger(path)
            cb.on_train_begin({})
            for epoch, logs in epochs:
                logs = dict(logs)
                if side == "torch":  # as torch_impl.fit logs a several-valued metric
                    logs["tp"] = logs["tp"].tolist()
                cb.on_epoch_end(epoch, logs)
            cb.on_train_end({})
            files[side] = _read(path)
    print(files["keras"].decode().replace("\r\n", "\n").rstrip())
    assert files["keras"] == files["torch"]
    assert b'"""[0.1, 0.7, 1.0]"""' in files["torch"] and b"0.30000000000000004" in files["torch"]


def test_csv_logger_append_and_reuse_like_keras(tmp_path):
    """Keras's ``csv_logger_test`` cases 2 and 3 in parity: a file written, then a new ``append=True`` logger
    and that logger reused in a second ``fit``: one header, every row Keras's; then ``append=False`` overwrites,
    and ``append=True`` on a new file writes the header."""
    pair = _Pair()
    kpath, tpath = str(tmp_path / "keras.csv"), str(tmp_path / "torch.csv")
    steps = []
    pair.fit([keras.callbacks.CSVLogger(kpath)], [tcb.CSVLogger(tpath)], epochs=2)
    steps.append(("new", _read(kpath), _read(tpath)))
    kcb, tcb_ = keras.callbacks.CSVLogger(kpath, append=True), tcb.CSVLogger(tpath, append=True)
    pair.fit([kcb], [tcb_], epochs=2)
    steps.append(("append=True", _read(kpath), _read(tpath)))
    pair.fit([kcb], [tcb_], epochs=3)
    steps.append(("reused", _read(kpath), _read(tpath)))
    pair.fit([keras.callbacks.CSVLogger(kpath)], [tcb.CSVLogger(tpath)], epochs=1)
    steps.append(("append=False", _read(kpath), _read(tpath)))
    kpath, tpath = str(tmp_path / "keras2.csv"), str(tmp_path / "torch2.csv")
    pair.fit([keras.callbacks.CSVLogger(kpath, append=True)], [tcb.CSVLogger(tpath, append=True)], epochs=1)
    steps.append(("append=True, no file", _read(kpath), _read(tpath)))
    for label, kb, tb in steps:
        cells, same, worst = _csv_compare(kb, tb)
        print(f"{label}: {kb.count(b'epoch')} header, {len(kb.splitlines())} lines, epochs "
              f"{[line.split(b',')[0].decode() for line in kb.splitlines()[1:]]}; {same} of {cells} cells "
              f"byte-identical, the rest within {worst:.1e}")
    assert [s[1].count(b"\r\n") for s in steps] == [3, 5, 8, 2, 2] and steps[2][1].count(b"epoch") == 1


def test_csv_logger_nan_row_after_terminate_on_nan_like_keras(tmp_path):
    """Keras's ``test_stop_training_csv`` in parity: a blown-up loss stops training after the batch, the row
    written has ``nan`` where Keras's has."""
    x, y = _noisy_data()
    pair = _Pair(opt=("sgd", 1e6), data=(x * 1e3, y))
    kpath, tpath = str(tmp_path / "keras.csv"), str(tmp_path / "torch.csv")
    kh, th = pair.fit([keras.callbacks.TerminateOnNaN(), keras.callbacks.CSVLogger(kpath)],
                      [tcb.TerminateOnNaN(), tcb.CSVLogger(tpath)], epochs=10)
    kb, tb = _read(kpath), _read(tpath)
    cells, same, worst = _csv_compare(kb, tb)
    print(f"{len(kh['loss'])} epochs; last row Keras {kb.splitlines()[-1]!r} torch_impl {tb.splitlines()[-1]!r}; "
          f"{same} of {cells} cells byte-identical, the rest within {worst:.1e}")
    assert len(kh["loss"]) < 10 and b"nan" in kb.splitlines()[-1]


# ----------------------------------------------------------------------------------------------- LambdaCallback

def _recorder(calls, name, indexed):
    if indexed:
        return lambda i, logs: calls.append((name, i, dict(logs)))
    return lambda logs: calls.append((name, None, dict(logs) if logs is not None else None))


_INDEXED = {"on_epoch_begin", "on_epoch_end", "on_train_batch_begin", "on_train_batch_end", "on_batch_begin",
            "on_batch_end", "on_test_batch_begin", "on_test_batch_end"}


def _lambdas(module, calls):
    """Two LambdaCallbacks: the six named hooks, and by keyword the old batch names (which Keras's base class
    routes ``on_train_batch_*`` to) and the validation's ``on_test_*`` hooks."""
    named = ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end", "on_train_batch_begin",
             "on_train_batch_end")
    extra = ("on_batch_begin", "on_batch_end", "on_test_begin", "on_test_end", "on_test_batch_end")
    return [module.LambdaCallback(**{h: _recorder(calls, h, h in _INDEXED) for h in named}),
            module.LambdaCallback(**{h: _recorder(calls, h, h in _INDEXED) for h in extra})]


def test_lambda_callback_calls_like_keras():
    kcalls, tcalls = [], []
    pair = _Pair()
    kh, th = pair.fit(_lambdas(keras.callbacks, kcalls), _lambdas(tcb, tcalls), epochs=3)
    print(f"{len(kcalls)} calls in Keras, {len(tcalls)} in torch_impl; first {[c[:2] for c in kcalls[:6]]}")
    print(f"  last {kcalls[-1][:2]} logs {kcalls[-1][2]}")
    assert [c[:2] for c in kcalls] == [c[:2] for c in tcalls]
    worst = 0.0
    for a, b in zip(kcalls, tcalls):
        assert (a[2] is None) == (b[2] is None) and list(a[2] or {}) == list(b[2] or {}), (a, b)
        for key in a[2] or {}:
            worst = max(worst, abs(a[2][key] - b[2][key]) / max(1.0, abs(a[2][key])))
    print(f"  logs max rel diff {worst:.1e}")
    assert worst <= 1e-12


# ------------------------------------------------------------------- Keras's own tests, translated (torch_impl only)

def _keras_test_data(train=30, test=30, dim=3, classes=3):
    """``test_utils.get_test_data(random_seed=42, ...)`` and ``to_categorical``, as Keras's tests make them."""
    from keras.src.testing import test_utils
    (x, y), (xt, yt) = test_utils.get_test_data(random_seed=42, train_samples=train, test_samples=test,
                                                 input_shape=(dim,), num_classes=classes)
    return x, np.eye(classes)[y], xt, np.eye(classes)[yt]


class _CheckpointCase:
    """``Sequential([Dense(5, relu), Dense(3, softmax)])``, categorical crossentropy, ``"sgd"``,
    ``metrics=[Accuracy("acc")]`` (``model_checkpoint_test``'s ``get_model``)."""

    def __init__(self):
        self.x, self.y, self.xt, self.yt = _keras_test_data()
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
        self.metrics = [tmetrics.Accuracy("acc")]

    def fit(self, cbs, batch_size=5, epochs=1):
        return tfit.fit(self.net, self.x, self.y, loss=losses.CategoricalCrossentropy(), output_activation="softmax",
                        optimizer=optim.SGD(self.net.parameters()), metrics=self.metrics, batch_size=batch_size,
                        validation_data=(self.xt, self.yt), callbacks=cbs, epochs=epochs, verbose=0)


def test_model_checkpoint_options_keras_reference(tmp_path):
    """``model_checkpoint_test.test_model_checkpoint_options``, cases 1-15 (``.pt`` for ``.keras``)."""
    case = _CheckpointCase()
    filepath = str(tmp_path / "subdir" / "checkpoint.pt")  # the folder is made
    results = []
    for n, (monitor, save_best_only, mode) in enumerate([("val_loss", False, "auto"), ("val_loss", False, "min"),
                                                          ("val_acc", False, "max"), ("val_acc", True, "max")], 1):
        case.fit([tcb.ModelCheckpoint(filepath, monitor=monitor, save_best_only=save_best_only, mode=mode)])
        results.append((n, os.path.exists(filepath)))
        assert os.path.exists(filepath)
        os.remove(filepath)
    with pytest.warns(UserWarning, match="Can save best model only with unknown available"):  # case 5
        case.fit([tcb.ModelCheckpoint(filepath, monitor="unknown", save_best_only=True, mode="min")])
    assert os.path.exists(filepath)
    with pytest.warns(UserWarning, match="ModelCheckpoint mode 'unknown' is unknown"):  # case 6
        tcb.ModelCheckpoint(filepath, monitor="val_acc", save_best_only=True, mode="unknown")
    # case 8a/8b: save_freq=15 with 5 batches an epoch saves after epochs 3, 6, 9
    for weights_only in (False, True):
        pattern = str(tmp_path / f"w{int(weights_only)}" / "checkpoint.epoch{epoch:02d}.pt")
        case.fit([tcb.ModelCheckpoint(pattern, monitor="val_acc", mode="max", save_freq=15,
                                      save_weights_only=weights_only)], batch_size=6, epochs=10)
        saved = [e for e in range(1, 11) if os.path.exists(pattern.format(epoch=e))]
        results.append(("8b" if weights_only else "8a", saved))
        assert saved == [3, 6, 9]
    with pytest.raises(ValueError, match="Unrecognized save_freq"):  # case 9
        tcb.ModelCheckpoint(filepath, save_weights_only=True, save_freq="invalid_save_freq")
    tcb.ModelCheckpoint(filepath, save_weights_only=True, save_freq="epoch")
    tcb.ModelCheckpoint(filepath, save_weights_only=True, save_freq=3)
    # case 10a/10b: batch in the file name, save_freq=1, 2 batches an epoch
    for weights_only in (False, True):
        pattern = str(tmp_path / f"b{int(weights_only)}" / "checkpoint.epoch{epoch:02d}batch{batch:02d}.pt")
        with contextlib.redirect_stdout(io.StringIO()):
            case.fit([tcb.ModelCheckpoint(pattern, monitor="val_acc", save_freq=1, save_weights_only=weights_only)],
                     batch_size=15, epochs=5)
        saved = sorted(os.listdir(os.path.dirname(pattern)))
        results.append(("10b" if weights_only else "10a", len(saved)))
        assert saved == [f"checkpoint.epoch{e:02d}batch{b:02d}.pt" for e in range(1, 6) for b in (1, 2)]
    # cases 11-15: initial_value_threshold
    filepath = str(tmp_path / "checkpoint.pt")
    for n, monitor, mode, threshold, expected in [(11, "val_acc", "max", -0.01, True),
                                                  (12, "val_loss", "auto", None, True),
                                                  (13, "val_loss", "min", 0, False),
                                                  (14, "val_loss", "auto", 0, False),
                                                  (15, "val_auc", "auto", 1, False)]:
        if n == 15:
            case.metrics = [tmetrics.AUC()]
        case.fit([tcb.ModelCheckpoint(filepath, monitor=monitor, save_best_only=True,
                                      initial_value_threshold=threshold, mode=mode)])
        results.append((n, os.path.exists(filepath)))
        assert os.path.exists(filepath) == expected
        if expected:
            os.remove(filepath)
    print(f"(case, saved): {results}")


def test_model_checkpoint_loading_keras_reference(tmp_path):
    """``model_checkpoint_test.test_model_checkpoint_loading``: after one epoch with ``save_best_only``, the model
    (``torch.load``) and the weights (``load_state_dict`` into a new model) are the trained ones."""
    gaps = []
    for weights_only in (False, True):
        case = _CheckpointCase()
        filepath = str(tmp_path / ("checkpoint.weights.pt" if weights_only else "checkpoint.model.pt"))
        case.fit([tcb.ModelCheckpoint(filepath, monitor="val_loss", save_best_only=True,
                                      save_weights_only=weights_only)])
        ref = [p.detach().clone() for p in case.net.parameters()]
        if weights_only:
            new = _CheckpointCase().net
            new.load_state_dict(torch.load(filepath))
        else:
            new = torch.load(filepath, weights_only=False)
        got = [p.detach() for p in new.parameters()]
        gaps.append(max(float((a - b).abs().max()) for a, b in zip(ref, got)))  # noqa: E501
        assert len(ref) == len(got) and gaps[-1] == 0.0
    print(f"whole model / weights: max |diff| {gaps}")


def test_model_checkpoint_rejects_keras_formats_and_bad_paths(tmp_path):
    """Keras's suffix rule turned round: a Keras format raises (use ``.pt``); Keras's errors for a path that is
    a folder and for a field missing in the logs."""
    for path, weights_only in (("m.keras", False), ("m.h5", False), ("m.weights.h5", True), ("m.weights.h5", False)):
        with pytest.raises(ValueError, match=r"\.pt"):
            tcb.ModelCheckpoint(str(tmp_path / path), save_weights_only=weights_only)
    for ok in ("m.pt", "m.pth", "m.weights.pt", "m"):
        tcb.ModelCheckpoint(str(tmp_path / ok))
    case = _CheckpointCase()
    os.makedirs(tmp_path / "folder.pt")
    with pytest.raises(IOError, match="non-directory filepath"):
        case.fit([tcb.ModelCheckpoint(str(tmp_path / "folder.pt"))])
    with pytest.raises(KeyError, match="Failed to format this callback filepath"):
        case.fit([tcb.ModelCheckpoint(str(tmp_path / "{val_auc:.2f}.pt"))])
    print("ValueError for .keras/.h5/.weights.h5, OSError for a folder, KeyError for a missing field")


def _mse(y_true, y_pred):
    """Keras's ``loss="mse"`` as a function given to ``fit`` (Keras's ``compile(loss=fn)``)."""
    return ((y_true - y_pred) ** 2).mean(-1)


def _csv_case_data():
    np.random.seed(1337)
    return (np.random.random((10, 3)), np.random.random((10, 1)), np.random.random((10, 3)),
            np.random.random((10, 1)))


def _csv_case_model():
    """``Sequential([Dense(2, relu), Dense(1)])``, ``loss="mse"``, ``"sgd"``, ``metrics=["mse"]``."""
    torch.manual_seed(1337)
    return torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))


def test_csv_logger_keras_reference(tmp_path):
    """``csv_logger_test.test_CSVLogger``: the separator, appending (one header, 5 lines of 4 separators) and
    ``NA`` for ``val_loss`` except at the ``validation_freq=3`` epoch, which holds ``str`` of the history's."""
    x, y, xt, yt = _csv_case_data()
    filepath, sep = str(tmp_path / "log.tsv"), "\t"

    def fit(model, cbs, epochs=1, **kwargs):
        return tfit.fit(model, x, y, loss=_mse, optimizer=optim.SGD(model.parameters()), metrics=["mse"],
                        batch_size=4, validation_data=(xt, yt), callbacks=cbs, epochs=epochs, verbose=0, **kwargs)

    fit(_csv_case_model(), [tcb.CSVLogger(filepath, separator=sep)])
    with open(filepath) as f:
        delimiter = csv.Sniffer().sniff(f.read()).delimiter
    assert delimiter == sep
    model, cbs = _csv_case_model(), [tcb.CSVLogger(filepath, separator=sep, append=True)]
    fit(model, cbs)
    fit(model, cbs, epochs=2)
    with open(filepath) as f:
        lines = f.readlines()
    print(f"delimiter {delimiter!r}; {len(lines)} lines, separators per line {[line.count(sep) for line in lines]}")
    assert all(line.count(sep) == 4 for line in lines) and len(lines) == 5
    assert len(re.findall("epoch", " ".join(lines))) == 1
    os.remove(filepath)
    hist = fit(_csv_case_model(), [tcb.CSVLogger(filepath, separator=sep)], epochs=5, validation_freq=3)
    with open(filepath) as f:
        rows = list(csv.DictReader(f, delimiter=sep))
    print(f"validation_freq=3: val_loss column {[row['val_loss'] for row in rows]}")
    for idx, row in enumerate(rows, 1):
        assert row["val_loss"] == (str(hist.history["val_loss"][0]) if idx == 3 else "NA")


def test_stop_training_csv_keras_reference(tmp_path):
    """``csv_logger_test.test_stop_training_csv``: 5 ``Dense(2, relu)`` layers with kernels of 1e5, mse, sgd:
    ``TerminateOnNaN`` stops in the first epoch and the CSV's last row holds ``nan``."""
    np.random.seed(1337)
    x, xt = np.random.random((10, 3)), None
    y = np.random.choice(np.arange(2), size=10)
    xt = np.random.random((10, 3))
    yt = np.random.choice(np.arange(2), size=10)
    y, yt = np.eye(2)[y], np.eye(2)[yt]
    mods, d = [], 3
    for _ in range(5):
        lin = torch.nn.Linear(d, 2)
        torch.nn.init.constant_(lin.weight, 1e5)
        torch.nn.init.zeros_(lin.bias)
        mods += [lin, torch.nn.ReLU()]
        d = 2
    last = torch.nn.Linear(2, 2)
    torch.nn.init.xavier_uniform_(last.weight)
    torch.nn.init.zeros_(last.bias)
    model = torch.nn.Sequential(*mods, last)
    path = str(tmp_path / "csv_logger.csv")
    with contextlib.redirect_stdout(io.StringIO()):
        history = tfit.fit(model, x, y, loss=_mse, optimizer=optim.SGD(model.parameters()),
                           metrics=(), batch_size=4, validation_data=(xt, yt), epochs=20, verbose=0,
                           callbacks=[tcb.TerminateOnNaN(), tcb.CSVLogger(path)])
    loss = history.history["loss"]
    with open(path) as f:
        values = [row for row in csv.reader(f) if row]
    print(f"loss {loss}; last row {values[-1]}")
    assert len(loss) == 1 and (np.isnan(loss[0]) or np.isinf(loss[0]))
    assert "nan" in values[-1]


def _lambda_case():
    """``Sequential([Input((2,), batch_size=4), Dense(1)])``, SGD, mean squared error, 16 samples."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 2)), rng.normal(size=(16, 1))
    model = torch.nn.Linear(2, 1)

    def fit(cbs, **kwargs):
        kwargs = {"validation_split": 0.2, "epochs": 5, **kwargs}
        return tfit.fit(model, x, y, loss=_mse, optimizer=optim.SGD(model.parameters()),
                        metrics=(), batch_size=4, callbacks=cbs, verbose=0, **kwargs)
    return fit


def test_lambda_callback_keras_reference():
    """``lambda_callback_test``: the epoch and train hooks, the batch hooks, a hook given by keyword
    (``on_test_begin``, run by ``fit``'s validation), no arguments, any other keyword stored as an attribute, and
    ``test_lambda_callback_during_prediction`` (``on_predict_begin`` given to ``predict``'s callbacks)."""
    fit, log = _lambda_case(), []
    fit([tcb.LambdaCallback(on_train_begin=lambda logs: log.append("on_train_begin"),
                            on_epoch_begin=lambda epoch, logs: log.append("on_epoch_begin"),
                            on_epoch_end=lambda epoch, logs: log.append("on_epoch_end"),
                            on_train_end=lambda logs: log.append("on_train_end"))])
    fit([tcb.LambdaCallback(on_train_batch_begin=lambda batch, logs: log.append("on_train_batch_begin"),
                            on_train_batch_end=lambda batch, logs: log.append("on_train_batch_end"))])
    fit([tcb.LambdaCallback(on_test_begin=lambda logs: log.append("custom_on_test_begin_executed"))], epochs=1)
    counts = {name: log.count(name) for name in dict.fromkeys(log)}
    print(f"calls: {counts}")
    assert counts == {"on_train_begin": 1, "on_epoch_begin": 5, "on_epoch_end": 5, "on_train_end": 1,
                      "on_train_batch_begin": 15, "on_train_batch_end": 15, "custom_on_test_begin_executed": 1}
    assert isinstance(tcb.LambdaCallback(), tcb.LambdaCallback)

    def custom_callback(logs):
        pass

    assert tcb.LambdaCallback(custom_method=custom_callback).custom_method is custom_callback

    predicted = []
    model = torch.nn.Linear(2, 1)
    tfit.predict(model, np.random.default_rng(1).normal(size=(16, 2)), batch_size=4, verbose=0,
                 callbacks=[tcb.LambdaCallback(on_predict_begin=lambda logs: predicted.append("on_predict_begin"))])
    print(f"predict: {predicted}")
    assert predicted == ["on_predict_begin"]


class _Bag(torch.nn.Module):
    """A sparse ``nn.Embedding`` (``fit`` hooks it for Keras's row-sparse gradients) and a ``Linear``."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.emb, self.out = torch.nn.Embedding(10, 4, sparse=True), torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.out(self.emb(x.long()).mean(1))


def test_whole_model_checkpoint_of_a_model_fit_hooks(tmp_path):
    """``torch.save`` of the whole module while ``fit`` has its hooks on a sparse ``nn.Embedding``: saved without
    them (a loadable model, as Keras's ``.keras`` holds no training machinery), put back after, so training is
    the same as without the callback."""
    x = np.random.default_rng(0).integers(0, 10, size=(32, 5))
    y = (x[:, 0] > 4).astype(int)
    trained = []
    for cbs in ([], [tcb.ModelCheckpoint(str(tmp_path / "m{epoch}.pt"), monitor="loss")]):
        net = _Bag()
        tfit.fit(net, x, y, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                 optimizer=optim.Adam(net.parameters(), learning_rate=0.1), epochs=3, batch_size=8, verbose=0,
                 shuffle=False, callbacks=cbs)
        trained.append(net)
    loaded = torch.load(str(tmp_path / "m3.pt"), weights_only=False)
    gap = max(float((a - b).abs().max()) for a, b in zip(trained[0].state_dict().values(),
                                                           trained[1].state_dict().values()))
    saved_gap = max(float((a - b).abs().max()) for a, b in zip(loaded.state_dict().values(),
                                                                 trained[1].state_dict().values()))
    print(f"files {sorted(os.listdir(tmp_path))}; with/without the callback max |diff| {gap}; m3.pt vs the trained "
          f"model {saved_gap}; hooks left on the loaded model {len(loaded.emb._forward_hooks)}, on the trained "
          f"{len(trained[1].emb._forward_hooks)}")
    assert gap == 0.0 and saved_gap == 0.0 and not loaded.emb._forward_hooks and not trained[1].emb._forward_hooks


def test_default_checkpoint_optimizer_state_per_file_kind_like_keras(tmp_path):
    """One epoch (Keras eager): Keras's default ``.keras`` checkpoint gives back Adam's ``iterations`` and moments
    (``load_model``), equal to those in torch_impl's default module file (``optimizer_state_dict``); its
    ``.weights.h5`` holds none (a newly compiled model's Adam at iteration 0), as torch_impl's ``state_dict`` file."""
    pair = _Pair(units=8)
    pair.model.run_eagerly = True
    kpath, kwpath, tpath, twpath = (str(tmp_path / n) for n in ("k.keras", "k.weights.h5", "m.pt", "w.pt"))
    pair.fit([keras.callbacks.ModelCheckpoint(kpath), keras.callbacks.ModelCheckpoint(kwpath, save_weights_only=True)],
             [tcb.ModelCheckpoint(tpath), tcb.ModelCheckpoint(twpath, save_weights_only=True)], epochs=1)
    with _precision("float64"):
        resumed = keras.models.load_model(kpath)
        fresh = _keras_net(pair.x.shape[1], pair.units)
        fresh.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
        fresh.load_weights(kwpath)
    module, weights_file = torch.load(tpath, weights_only=False), torch.load(twpath)
    state = module.optimizer_state_dict
    k_moments = [np.array(v) for v in resumed.optimizer.variables if v.path.endswith(("_momentum", "_velocity"))]
    t_moments = [t.numpy().T if t.dim() == 2 else t.numpy() for i in sorted(state["state"])
                 for t in (state["state"][i]["momentum"], state["state"][i]["velocity"])]
    gap = _max_diff(k_moments, t_moments)
    print(f"Keras .keras: iterations {int(resumed.optimizer.iterations.numpy())}, {len(k_moments)} moments; torch_impl "
          f"module file: iterations {state['param_groups'][0]['iterations']}, moments max |diff| {gap:.1e}; Keras "
          f".weights.h5 + a new Adam: iterations {int(fresh.optimizer.iterations.numpy())}; torch_impl state_dict "
          f"file: {sorted(weights_file)}")
    assert int(resumed.optimizer.iterations.numpy()) == state["param_groups"][0]["iterations"] == 4
    assert len(k_moments) == 8 and gap < 1e-15
    assert int(fresh.optimizer.iterations.numpy()) == 0 and sorted(weights_file) == sorted(pair.net.state_dict())
    assert not hasattr(pair.net, "optimizer_state_dict")  # put on the module only while it is saved


@pytest.mark.slow
def test_default_checkpoint_holds_the_optimizer_per_file_kind_like_keras(tmp_path):
    """Keras 3.15.1's default ``ModelCheckpoint``: its ``.keras`` file holds the optimizer (``load_model`` gives
    Adam's ``iterations`` and moments back: the resumed run is the uninterrupted one), its ``.weights.h5`` file
    (``save_weights_only=True``) does not (``load_weights`` into a newly compiled model starts Adam over).
    torch_impl's default files, by kind: the whole module carries ``optimizer.state_dict()`` (the loaded module's
    ``optimizer_state_dict``), the ``state_dict`` file none (``include_optimizer=False`` / ``True`` override)."""
    pair = _Pair(units=8)
    kpath, kwpath, tpath, twpath = (str(tmp_path / n) for n in ("k.keras", "k.weights.h5", "m.pt", "w.pt"))
    pair.fit([keras.callbacks.ModelCheckpoint(kpath), keras.callbacks.ModelCheckpoint(kwpath, save_weights_only=True)],
             [tcb.ModelCheckpoint(tpath), tcb.ModelCheckpoint(twpath, save_weights_only=True)], epochs=2)
    kc, tc = pair.fit([], [], epochs=4, initial_epoch=2)  # the uninterrupted runs
    kwargs = dict(epochs=4, initial_epoch=2, batch_size=16, validation_split=0.25, shuffle=False, verbose=0)
    with _precision("float64"):
        resumed = keras.models.load_model(kpath)
        k_iterations = int(resumed.optimizer.iterations.numpy())
        kr = resumed.fit(pair.x, pair.y, **kwargs).history
        fresh = _keras_net(pair.x.shape[1], pair.units)
        fresh.compile(optimizer=keras.optimizers.Adam(0.05),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        fresh.load_weights(kwpath)
        kw = fresh.fit(pair.x, pair.y, **kwargs).history
        module = torch.load(tpath, weights_only=False)
        opt = optim.Adam(module.parameters(), learning_rate=0.05)
        opt.load_state_dict(module.optimizer_state_dict)
        tr = tfit.fit(module, pair.x, pair.y, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                      optimizer=opt, metrics=["accuracy"], **kwargs).history
        weights_file = torch.load(twpath)
    gaps = {k: float(np.max(np.abs(np.subtract(tr[k], kr[k])))) for k in kr}
    print(f"Keras: .keras resumed at iteration {k_iterations}, vs the uninterrupted run "
          f"{_max_diff(kr['loss'], kc['loss']):.1e}; .weights.h5 + a new Adam {_max_diff(kw['loss'], kc['loss']):.1e} "
          f"off\ntorch_impl's default module file resumed vs Keras's .keras resume: max |diff| {max(gaps.values()):.1e} "
          f"({gaps}); vs its uninterrupted run {_max_diff(tr['loss'], tc['loss']):.1e}; the state_dict file holds "
          f"{sorted(weights_file)}")
    assert k_iterations == 2 * 4 and _max_diff(kr["loss"], kc["loss"]) == 0.0 and _max_diff(kw["loss"], kc["loss"]) > 1e-4
    assert max(gaps.values()) < 1e-12 and _max_diff(tr["loss"], tc["loss"]) < 1e-15
    assert sorted(weights_file) == sorted(pair.net.state_dict()) and not hasattr(pair.net, "optimizer_state_dict")

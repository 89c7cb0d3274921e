"""Blind check of ``torch_impl.fit`` / ``evaluate`` without a compiled ``loss`` (README, "No compiled loss"),
written from the README alone, against Keras 3.15.1 (TensorFlow backend) in the same process, float64.

Models whose layers call ``self.add_loss`` (ported with ``R.add_loss(self, ...)``), compiled with no loss; each
history key, every epoch, within 1e-12 relative of Keras's:

* ``validation_data`` as ``(x_val, None)``, ``(x_val,)`` and ``x_val`` (the same history), batch sizes that do not
  divide N (fit and evaluate);
* ``validation_split`` with a partial last batch;
* a Python generator of ``x`` batches with ``steps_per_epoch``;
* ``metrics=["mae"]`` on ``fit(x, y)`` (the loss is the added one; the metric is on ``y``), ``evaluate`` as a dict;
* an added loss of shape ``(N,)`` (summed, as Keras sums each added tensor) and two modules adding;
* the errors: nothing added (Keras's ``No loss to compute``, no update on either side); ``class_weight`` with
  no loss: with labels both train on the added losses, the class weights unused; with no ``y`` both refuse
  (Keras: ``IndexError: tuple index out of range``, ``data_adapter_utils.py:125``; torch_impl: a ``ValueError``
  that is also an ``IndexError``).

Keras refuses a generator yielding a bare array (it wants ``(x,)``), and so does torch_impl (same message).
Default run: one form of ``validation_data`` and one mix of added losses; the rest is ``slow``.

Run: ``.venv/bin/python -m pytest -q -s -p no:cacheprovider parity_tests/test_blind_loss_free_fit_keras.py``
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers, ops  # noqa: E402

from parity_tests.test_field_scripts_round2 import _precision, _rel  # noqa: E402
from torch_impl import fit as F  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl import regularizers as R  # noqa: E402

pytestmark = pytest.mark.keras

TOL = 1e-12
FEATURES = 5


def _added(y, mode, o):
    """The added loss of one layer: ``o`` is ``keras.ops`` or ``torch``-like (the same formula)."""
    d = (y - 0.25) ** 2
    if mode == "mean":
        return o.mean(d)
    if mode == "rows":  # shape (N,): summed by both
        return o.mean(d, axis=-1) if o is ops else d.mean(dim=-1)
    raise AssertionError(mode)


class KAdd(layers.Layer):
    def __init__(self, units, mode, **kwargs):
        super().__init__(**kwargs)
        self.units, self.mode = units, mode

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform")
        self.bias = self.add_weight(shape=(self.units,), initializer="random_normal")

    def call(self, x):
        y = ops.tanh(ops.matmul(x, self.kernel) + self.bias)
        if self.mode:
            self.add_loss(_added(y, self.mode, ops))
        return y


class TAdd(torch.nn.Module):
    def __init__(self, kernel, bias, mode):
        super().__init__()
        self.kernel = torch.nn.Parameter(torch.from_numpy(np.array(kernel)))
        self.bias = torch.nn.Parameter(torch.from_numpy(np.array(bias)))
        self.mode = mode

    def forward(self, x):
        y = torch.tanh(x @ self.kernel + self.bias)
        if self.mode:
            R.add_loss(self, _added(y, self.mode, torch))
        return y


def _pair(modes, seed=0, units=(4, 3)):
    """A Keras Sequential of ``KAdd`` layers compiled with SGD and no loss, and its torch port (same weights)."""
    keras.utils.set_random_seed(seed)
    km = keras.Sequential([keras.Input((FEATURES,))] + [KAdd(u, m) for u, m in zip(units, modes)])
    w = km.get_weights()
    tm = torch.nn.Sequential(*[TAdd(w[2 * i], w[2 * i + 1], m) for i, m in enumerate(modes)])
    return km, tm


def _data(n, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, FEATURES)), rng.normal(size=(n, 3)) * 0.5


def _compare(th, kh, label):
    assert sorted(th) == sorted(kh), (sorted(th), sorted(kh))
    worst = max(_rel(th[k], kh[k]) for k in kh)
    print(f"{label}: keys {sorted(kh)}, epochs {len(kh['loss'])}; max rel {worst:.1e} "
          f"(Keras loss {np.round(kh['loss'], 6).tolist()})")
    assert len(th["loss"]) == len(kh["loss"]) and worst <= TOL, label
    return worst


def _fit_both(modes, x, kfit, tfit, lr=0.1, metrics=None, seed=0):
    with _precision("float64"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        km, tm = _pair(modes, seed)
        km.compile(optimizer=keras.optimizers.SGD(lr), metrics=metrics)
        kh = kfit(km).history
        th = tfit(tm, optim.SGD(tm.parameters(), learning_rate=lr)).history
    return km, tm, kh, th


@pytest.mark.parametrize("form", ["pair", pytest.param("tuple", marks=pytest.mark.slow),
                                  pytest.param("bare", marks=pytest.mark.slow)])
def test_validation_data_forms_and_odd_batches(form):
    """25 samples in batches of 10 (5 left), 3 epochs, validation on 7 samples in batches of 10 (one partial)."""
    x, _ = _data(25)
    xv, _ = _data(7, seed=2)
    vd = {"pair": (xv, None), "tuple": (xv,), "bare": xv}[form]
    kw = dict(batch_size=10, epochs=3, shuffle=False, verbose=0)
    km, tm, kh, th = _fit_both(("mean", "mean"), x, lambda m: m.fit(x, validation_data=vd, **kw),
                               lambda m, o: F.fit(m, x, optimizer=o, validation_data=vd, **kw))
    _compare(th, kh, f"validation_data={form}")
    with _precision("float64"):
        ke = km.evaluate(xv, batch_size=3, verbose=0)
        te = F.evaluate(tm, xv, batch_size=3, verbose=0, return_dict=False)
    print(f"  evaluate(x_val, batch_size=3): Keras {ke!r} torch_impl {te!r} rel {_rel(te, ke):.1e}")
    assert np.ndim(te) == 0 and _rel(te, ke) <= TOL


def test_validation_split_with_partial_batch():
    x, _ = _data(30)
    kw = dict(batch_size=7, epochs=2, shuffle=False, verbose=0, validation_split=0.2)
    _, _, kh, th = _fit_both(("mean", "rows"), x, lambda m: m.fit(x, **kw),
                             lambda m, o: F.fit(m, x, optimizer=o, **kw))
    _compare(th, kh, "validation_split=0.2, batch_size=7")


def test_generator_of_inputs_only():
    x, _ = _data(24)

    def gen():
        while True:
            for i in range(0, 24, 8):
                yield (x[i:i + 8],)

    kw = dict(steps_per_epoch=3, epochs=2, verbose=0)
    _, _, kh, th = _fit_both(("mean", "mean"), x, lambda m: m.fit(gen(), **kw),
                             lambda m, o: F.fit(m, gen(), optimizer=o, **kw))
    _compare(th, kh, "generator of (x,), steps_per_epoch=3")
    with _precision("float64"), warnings.catch_warnings():  # a bare array per batch: refused by both
        warnings.simplefilter("ignore")
        km, tm = _pair(("mean", "mean"))
        km.compile(optimizer=keras.optimizers.SGD(0.1))
        errors = []
        for run in (lambda: km.fit((b for (b,) in gen()), **kw),
                    lambda: F.fit(tm, (b for (b,) in gen()), optimizer=optim.SGD(tm.parameters(), learning_rate=0.1),
                                  **kw)):
            with pytest.raises(ValueError) as err:
                run()
            errors.append(str(err.value).split(" Received")[0])
    print(f"  bare arrays: Keras {errors[0]!r}; torch_impl the same: {errors[1] == errors[0]}")
    assert errors[1] == errors[0] and "must return a tuple" in errors[0]


def test_metrics_on_targets():
    """``fit(x, y, metrics=["mae"])``: the loss is the added one alone, ``mae`` compares the output with ``y``."""
    x, y = _data(22)
    xv, yv = _data(9, seed=3)
    kw = dict(batch_size=8, epochs=2, shuffle=False, verbose=0, validation_data=(xv, yv))
    km, tm, kh, th = _fit_both(("mean", "mean"), x, lambda m: m.fit(x, y, **kw),
                               lambda m, o: F.fit(m, x, y, optimizer=o, metrics=["mae"], **kw), metrics=["mae"])
    _compare(th, kh, "metrics=['mae'] with y")
    with _precision("float64"):
        ke = km.evaluate(xv, yv, batch_size=4, verbose=0, return_dict=True)
        te = F.evaluate(tm, xv, yv, batch_size=4, verbose=0, return_dict=True, metrics=["mae"])
    print(f"  evaluate: Keras {ke} torch_impl {te}")
    assert sorted(te) == sorted(ke) and max(_rel(te[k], ke[k]) for k in ke) <= TOL


@pytest.mark.parametrize("modes", [pytest.param(("rows", None), marks=pytest.mark.slow), ("mean", "rows"),
                                   pytest.param(("rows", "rows"), marks=pytest.mark.slow)],
                         ids=["rows-only", "two-modules", "two-rows"])
def test_row_shaped_and_two_modules(modes):
    """An added loss of shape (N,) counts its sum; two layers' added losses add up."""
    x, _ = _data(20)
    xv, _ = _data(6, seed=4)
    kw = dict(batch_size=6, epochs=2, shuffle=False, verbose=0, validation_data=(xv, None))
    _, _, kh, th = _fit_both(modes, x, lambda m: m.fit(x, **kw),
                             lambda m, o: F.fit(m, x, optimizer=o, **kw), lr=0.02)
    _compare(th, kh, f"added losses {modes}")


def test_nothing_added_raises_no_loss_to_compute():
    x, _ = _data(8)
    with _precision("float64"):
        km, tm = _pair((None, None))
        km.compile(optimizer=keras.optimizers.SGD(0.1))
        w0 = [w.copy() for w in km.get_weights()]
        with pytest.raises(ValueError) as kerr:
            km.fit(x, batch_size=4, epochs=1, verbose=0)
        before = [p.detach().clone() for p in tm.parameters()]
        with pytest.raises(ValueError) as terr:
            F.fit(tm, x, optimizer=optim.SGD(tm.parameters(), learning_rate=0.1), batch_size=4, epochs=1, verbose=0)
    print(f"nothing added: Keras {str(kerr.value)!r}; torch_impl {str(terr.value)!r}")
    assert "No loss to compute" in str(kerr.value) and "No loss to compute" in str(terr.value)
    assert all(np.array_equal(a, b) for a, b in zip(w0, km.get_weights()))
    assert all(torch.equal(a, b) for a, b in zip(before, tm.parameters()))


@pytest.mark.parametrize("with_y", [True, False], ids=["labels", "no-y"])
def test_class_weight_without_a_loss(with_y):
    """``class_weight`` with no compiled loss, with integer labels and without ``y``: what Keras does with it
    (train, the weights unused, or an error), torch_impl does too."""
    x, y = _data(12)
    yc = (np.arange(12) % 3).astype("int64") if with_y else None
    kw = dict(batch_size=5, epochs=1, shuffle=False, verbose=0, class_weight={0: 1.0, 1: 2.0, 2: 3.0})
    outcome, errors = {}, {}
    with _precision("float64"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for side in ("keras", "torch"):
            km, tm = _pair(("mean", "mean"))
            try:
                if side == "keras":
                    km.compile(optimizer=keras.optimizers.SGD(0.1))
                    outcome[side] = ("ok", km.fit(x, yc, **kw).history)
                else:
                    outcome[side] = ("ok", F.fit(tm, x, yc, optimizer=optim.SGD(tm.parameters(), learning_rate=0.1),
                                                 **kw).history)
            except Exception as e:  # noqa: BLE001 - the type and message are compared below
                outcome[side], errors[side] = (type(e).__name__, str(e)), e
    print(f"class_weight, no loss: Keras {outcome['keras']}; torch_impl {outcome['torch']}")
    if with_y:  # Keras trains on the added losses, the class weights unused: so does torch_impl
        assert outcome["keras"][0] == outcome["torch"][0] == "ok"
        _compare(outcome["torch"][1], outcome["keras"][1], "class_weight, no loss")
    else:  # refused by both before training: Keras with an IndexError from np.ones((y.shape[0],)) on y=None
        # (keras/src/trainers/data_adapters/data_adapter_utils.py:125, a compiled loss or not), torch_impl with
        # a ValueError naming the cause, which is also Keras's IndexError
        assert outcome["keras"] == ("IndexError", "tuple index out of range")
        assert isinstance(errors["torch"], ValueError) and isinstance(errors["torch"], IndexError)
        assert "no y" in outcome["torch"][1]

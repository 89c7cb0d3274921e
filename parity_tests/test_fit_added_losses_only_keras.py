"""``torch_impl.fit`` / ``evaluate`` without a compiled loss, the model's only loss added with ``add_loss``, against
Keras 3.15.1 (TensorFlow backend): the Keras 2-era VAE script ``vae.add_loss(...)``, ``vae.compile(optimizer="adam")``
with no loss, ``vae.fit(x, epochs=..., batch_size=..., validation_data=(x_val, None))`` with no targets.

Keras 3.15.1 (``keras/src/trainers/trainer.py``): ``compile`` makes no ``CompileLoss`` for ``loss=None``
(``trainer.py:190``); ``compute_loss`` (``trainer.py:385-402``) then sums the added losses alone (one as it is,
each summed over its elements) and raises ``ValueError("No loss to compute. Provide a `loss` argument in
`compile()`.")`` when there are none, at the first train (or test) step, after ``on_train_begin``,
``on_epoch_begin`` and ``on_train_batch_begin``, before any update. ``fit(x)`` takes no ``y`` then, and
``validation_data`` as ``(x_val, None)``, ``(x_val,)`` or ``x_val`` (``unpack_x_y_sample_weight``). ``metrics`` with
no loss are computed on ``y`` (both ``loss`` and the metric logged); without ``y`` Keras raises TensorFlow's
``None values not supported.`` at the first step (torch_impl raises its own ``ValueError`` before training).
``evaluate(x_val)`` returns the loss as a float (``return_dict=False``), ``[loss, metric]`` with a metric.

Here, in float64 (each within 1e-12 relative, every epoch):

* the classic VAE (Dense encoder/decoder, reparameterization drawn from ``keras.random.normal(seed=
  SeedGenerator(1337))``, ported with ``torch_impl.keras_random``), ``add_loss(mean(bce * original_dim + kl))``,
  3 epochs shuffled as Keras's (``seed=``), ``validation_data=(x_val, None)``; the port also with ``(x_val,)`` and
  ``x_val`` (the same history), then ``evaluate(x_val)``;
* the same with ``metrics=["mae"]`` on ``fit(x, x)``, then ``evaluate`` as a list and as a dict;
* a model with only a kernel regularizer and no loss (Keras trains on the penalty alone);
* the errors: no loss and nothing added (the same message, the callbacks called so far, no update), metrics or a
  loss without targets;
* two outputs, no loss, per-output metrics (a dict or a list, weighted metrics with a dict ``sample_weight``) on a
  ``y`` per output (a dict or a list; a model returning a dict too), ``validation_data``, ``evaluate`` as a list
  and a dict: Keras's ``CompileMetrics`` alone (``compile_utils.py``), logs ``out1_mae``, ``val_out2_mse``...
  (measured within 4.2e-16);
* two outputs, no loss, a ``y`` of fewer arrays (a shorter list or tuple, one array): Keras's ``CompileMetrics``
  zips it with the outputs, so it labels the first ones and the others' metrics are not logged (histories and
  ``evaluate`` within 1e-12 relative); a dict ``y`` without ``out2``: ``KeyError: 'out2'`` whenever metrics are
  compiled (no update on either side), the model trains without them;
* ``class_weight`` with no ``y`` (Keras's ``IndexError``, ``data_adapter_utils.py:125``) or a ``y`` per output
  (``ValueError``, ``array_data_adapter.py:66-70``), raised before ``on_train_begin``;
* ``fit``'s arguments as Keras's: ``verbose="auto"`` (a progress bar), ``callbacks=`` one callback or nested.

Run: ``.venv/bin/python -m pytest -q -s -p no:cacheprovider parity_tests/test_fit_added_losses_only_keras.py``
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers, ops  # noqa: E402

from parity_tests.test_field_scripts_round2 import _precision, _rel  # noqa: E402
from torch_impl import callbacks as tcb  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import keras_ops as tops  # noqa: E402
from torch_impl import keras_random as trandom  # noqa: E402
from torch_impl import losses as tlosses  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl import regularizers as R  # noqa: E402
from torch_impl.nn import load_keras_weights  # noqa: E402
from torch_impl.regularizers import add_loss  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

TOL = {"float64": 1e-12, "float32": 1e-3}  # relative, per epoch
ORIG, INTER, LATENT = 12, 8, 2


def _compare(name: str, th: dict, kh: dict, dt: str) -> None:
    assert sorted(th) == sorted(kh), (sorted(th), sorted(kh))
    for k in kh:
        r = _rel(th[k], kh[k])
        print(f"{name} {k}: Keras {np.round(kh[k], 8).tolist()} torch_impl {np.round(th[k], 8).tolist()} "
              f"max rel {r:.1e}")
        assert r <= TOL[dt], k


# ---- the classic VAE: one add_loss(mean(reconstruction + kl)), compile(optimizer) with no loss ------------------


class KVAE(keras.Model):
    """The Keras 2 script's VAE as a Keras 3 user writes it (a functional model cannot ``add_loss`` a symbolic
    tensor in Keras 3): ``vae.add_loss(K.mean(binary_crossentropy(inputs, outputs) * original_dim + kl_loss))``."""

    def __init__(self):
        super().__init__()
        self.h = layers.Dense(INTER, activation="relu")
        self.z_mean = layers.Dense(LATENT)
        self.z_log_var = layers.Dense(LATENT)
        self.dec_h = layers.Dense(INTER, activation="relu")
        self.dec_out = layers.Dense(ORIG, activation="sigmoid")
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        h = self.h(inputs)
        z_mean, z_log_var = self.z_mean(h), self.z_log_var(h)
        epsilon = keras.random.normal(shape=ops.shape(z_mean), seed=self.seed_generator)
        z = z_mean + ops.exp(0.5 * z_log_var) * epsilon
        outputs = self.dec_out(self.dec_h(z))
        reconstruction_loss = keras.losses.binary_crossentropy(inputs, outputs) * ORIG
        kl_loss = -0.5 * ops.sum(1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)
        self.add_loss(ops.mean(reconstruction_loss + kl_loss))
        return outputs


class VAE(torch.nn.Module):
    """The port: ``torch_impl.keras_random`` draws Keras's epsilon, ``keras_ops.sigmoid`` keeps the logits Keras's
    ``binary_crossentropy`` finds behind the sigmoid, ``add_loss(self, ...)`` in ``forward``."""

    def __init__(self):
        super().__init__()
        self.h, self.z_mean, self.z_log_var = (torch.nn.Linear(ORIG, INTER), torch.nn.Linear(INTER, LATENT),
                                               torch.nn.Linear(INTER, LATENT))
        self.dec_h, self.dec_out = torch.nn.Linear(LATENT, INTER), torch.nn.Linear(INTER, ORIG)
        self.seed_generator = trandom.SeedGenerator(1337)

    def forward(self, inputs):
        h = torch.relu(self.h(inputs))
        z_mean, z_log_var = self.z_mean(h), self.z_log_var(h)
        epsilon = trandom.normal(shape=z_mean.shape, seed=self.seed_generator)
        z = z_mean + torch.exp(0.5 * z_log_var) * epsilon
        outputs = tops.sigmoid(self.dec_out(torch.relu(self.dec_h(z))))
        reconstruction_loss = tlosses.binary_crossentropy(inputs, outputs) * ORIG
        kl_loss = -0.5 * torch.sum(1 + z_log_var - z_mean.square() - torch.exp(z_log_var), dim=-1)
        add_loss(self, torch.mean(reconstruction_loss + kl_loss))
        return outputs


def _vaes(x, seed: int):
    keras.utils.set_random_seed(seed)
    vae = KVAE()
    vae(x[:2])  # builds it (one draw of the sampling stream)
    net = VAE()
    net(torch.as_tensor(x[:2]))  # the same draw
    load_keras_weights(net, vae.get_weights())
    return vae, net


def _data(dt: str):
    rng = np.random.default_rng(3)
    return rng.random((48, ORIG)).astype(dt), rng.random((16, ORIG)).astype(dt)


def _check_stream(net: VAE, vae: KVAE) -> None:
    states = net.seed_generator.state, tuple(int(v) for v in vae.seed_generator.state.numpy())
    print(f"  sampling stream after: torch_impl {states[0]}, Keras {states[1]}")
    assert tuple(states[0]) == states[1]


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_classic_vae_compiled_without_loss_fit_like_keras(dt):
    x, xv = _data(dt)
    with _precision(dt):
        vae, net = _vaes(x, 21)
        vae.compile(optimizer="adam")  # no loss: the added one is the loss
        kh = vae.fit(x, epochs=3, batch_size=16, validation_data=(xv, None), verbose=0).history
        th = tfit.fit(net, x, epochs=3, batch_size=16, seed=21, validation_data=(xv, None), optimizer="adam",
                      verbose=0).history
        _compare(f"classic VAE, no compiled loss, {dt}:", th, kh, dt)
        _check_stream(net, vae)
        k_eval = vae.evaluate(xv, batch_size=16, verbose=0)
        t_eval = tfit.evaluate(net, xv, batch_size=16, return_dict=False)
        print(f"  evaluate(x_val): Keras {k_eval!r} torch_impl {t_eval!r} rel {_rel(t_eval, k_eval):.1e}")
        assert isinstance(t_eval, float) and isinstance(k_eval, float)
        assert _rel(t_eval, k_eval) <= TOL[dt]
        _check_stream(net, vae)
    # the logged loss is the added loss: reconstruction + KL of the order of ORIG * log(2) here, not 0
    assert kh["loss"][0] > 1.0


def test_validation_data_without_targets_forms():
    """``(x_val, None)``, ``(x_val,)`` and ``x_val`` alone: the same run (Keras's ``unpack_x_y_sample_weight``); data
    given as batches without targets (a generator of ``(x,)``, a ``DataLoader`` of ``x`` alone): the run of the
    arrays."""
    x, xv = _data("float64")
    with _precision("float64"):
        runs = []
        for validation_data in ((xv, None), (xv,), xv):
            _, net = _vaes(x, 21)
            runs.append(tfit.fit(net, x, epochs=2, batch_size=16, seed=21, validation_data=validation_data,
                                 optimizer="adam", verbose=0).history)
        # batches without targets: a generator of (x,) batches, a DataLoader of x alone for validation, evaluate
        _, net = _vaes(x, 21)
        gen = (b for _ in range(2) for b in ((torch.as_tensor(x[i:i + 16]),) for i in range(0, len(x), 16)))
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.as_tensor(xv)), batch_size=16)
        runs.append(tfit.fit(net, gen, epochs=2, steps_per_epoch=3, shuffle=False, validation_data=loader,
                             optimizer="adam", verbose=0).history)
        _, ordered = _vaes(x, 21)
        arrays = tfit.fit(ordered, x, epochs=2, batch_size=16, shuffle=False, validation_data=xv, optimizer="adam",
                          verbose=0).history
        evaluated = tfit.evaluate(net, loader)["loss"], tfit.evaluate(ordered, xv, batch_size=16)["loss"]
    print("val_loss with (x_val, None), (x_val,), x_val:", [r["val_loss"] for r in runs[:3]])
    print("unshuffled arrays / batches without targets:", arrays, runs[3], "evaluate:", evaluated)
    assert runs[0] == runs[1] == runs[2]
    assert sorted(runs[0]) == ["loss", "val_loss"]
    assert runs[3] == arrays and evaluated[0] == evaluated[1]


def test_added_loss_only_with_a_metric_like_keras():
    """``compile(optimizer="adam", metrics=["mae"])`` and ``fit(x, x, validation_data=(x_val, x_val))``: the targets
    feed the metric only; ``evaluate`` returns ``[loss, mae]`` (a dict with ``return_dict=True``)."""
    x, xv = _data("float64")
    with _precision("float64"):
        vae, net = _vaes(x, 22)
        vae.compile(optimizer="adam", metrics=["mae"])
        kh = vae.fit(x, x, epochs=2, batch_size=16, shuffle=False, validation_data=(xv, xv), verbose=0).history
        th = tfit.fit(net, x, x, epochs=2, batch_size=16, shuffle=False, validation_data=(xv, xv),
                      metrics=["mae"], optimizer="adam", verbose=0).history
        _compare("added loss + metric mae, float64:", th, kh, "float64")
        k_list = vae.evaluate(xv, xv, batch_size=16, verbose=0)
        t_list = tfit.evaluate(net, xv, xv, batch_size=16, metrics=["mae"], return_dict=False)
        k_dict = vae.evaluate(xv, xv, batch_size=16, verbose=0, return_dict=True)
        t_dict = tfit.evaluate(net, xv, xv, batch_size=16, metrics=["mae"])
    print(f"evaluate list: Keras {k_list} torch_impl {t_list} rel {_rel(t_list, k_list):.1e}; dict: Keras {k_dict} "
          f"torch_impl {t_dict}")
    assert isinstance(t_list, list) and len(t_list) == len(k_list) == 2
    assert _rel(t_list, k_list) <= TOL["float64"]
    assert sorted(t_dict) == sorted(k_dict) == ["loss", "mae"]
    assert _rel([t_dict[k] for k in sorted(k_dict)], [k_dict[k] for k in sorted(k_dict)]) <= TOL["float64"]


@pytest.mark.filterwarnings("ignore:Gradients do not exist")  # Keras's: the bias has no gradient
def test_weight_penalty_alone_is_the_loss_like_keras():
    """No ``add_loss``, no compiled loss, a kernel regularizer: Keras's ``model.losses`` holds the penalty, which it
    trains on alone (``fit(x)``, no targets; batches of 10, 10 and 4 samples, the loss weighted by the batch
    sizes)."""
    rng = np.random.default_rng(4)
    x = rng.random((24, 3))
    with _precision("float64"):
        keras.utils.set_random_seed(5)
        model = keras.Sequential([layers.Input((3,)), layers.Dense(2, kernel_regularizer=keras.regularizers.L2(0.1))])
        net = R.regularize(torch.nn.Linear(3, 2), kernel_regularizer=R.L2(0.1))
        load_keras_weights(net, model.get_weights())
        model.compile(optimizer=keras.optimizers.SGD(0.5))
        kh = model.fit(x, epochs=3, batch_size=10, shuffle=False, verbose=0).history
        th = tfit.fit(net, x, epochs=3, batch_size=10, shuffle=False, optimizer=optim.SGD(net.parameters(), 0.5),
                      verbose=0).history
    _compare("kernel penalty alone, float64:", th, kh, "float64")
    assert kh["loss"][0] > kh["loss"][-1] > 0
    r = _rel(net.weight.detach().numpy().T, model.weights[0].numpy())
    print(f"  final kernel max rel {r:.1e}")
    assert r <= TOL["float64"]


# ---- errors ---------------------------------------------------------------------------------------------------


class _CallLog:
    """Records the hooks called before a loss-free step fails (one body for the torch_impl and the Keras callback)."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append("on_train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append("on_epoch_begin")

    def on_train_batch_begin(self, batch, logs=None):
        self.calls.append("on_train_batch_begin")

    def on_test_begin(self, logs=None):
        self.calls.append("on_test_begin")

    def on_test_batch_begin(self, batch, logs=None):
        self.calls.append("on_test_batch_begin")


class _Calls(_CallLog, tcb.Callback):
    pass


class _KCalls(_CallLog, keras.callbacks.Callback):
    pass


def test_no_loss_and_nothing_added_raises_as_keras():
    x, y = np.ones((8, 2), np.float32), np.zeros((8, 1), np.float32)
    keras.utils.set_random_seed(6)
    model = keras.Sequential([layers.Input((2,)), layers.Dense(1)])
    model.compile(optimizer="adam")
    before = [w.numpy().copy() for w in model.weights]
    raised = {}
    for method, run in (("fit", lambda cb: model.fit(x, y, batch_size=4, verbose=0, callbacks=[cb])),
                        ("evaluate", lambda cb: model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[cb]))):
        cb = _KCalls()
        with pytest.raises(ValueError) as info:
            run(cb)
        raised[method] = (str(info.value), cb.calls)
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(before, model.weights))
    net = torch.nn.Linear(2, 1)
    start = [p.detach().clone() for p in net.parameters()]
    for method, run in (("fit", lambda cb: tfit.fit(net, x, y, optimizer="adam", batch_size=4, verbose=0,
                                                    callbacks=[cb])),
                        ("evaluate", lambda cb: tfit.evaluate(net, x, y, batch_size=4, callbacks=[cb]))):
        cb = _Calls()
        with pytest.raises(ValueError) as info:
            run(cb)
        print(f"{method}: Keras {raised[method]} torch_impl {(str(info.value), cb.calls)}")
        assert str(info.value).startswith(raised[method][0])  # Keras's message, then torch_impl's hint
        assert cb.calls == raised[method][1]
    assert all(torch.equal(a, p) for a, p in zip(start, net.parameters()))  # no update


def test_metrics_or_loss_without_targets_raise():
    """Keras raises TensorFlow's ``None values not supported.`` at the first step; torch_impl a ``ValueError``
    naming what needs the targets, before training."""
    x = np.ones((8, 2), np.float32)

    class Costs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.dense = torch.nn.Linear(2, 1)

        def forward(self, inputs):
            out = self.dense(inputs)
            add_loss(self, out.square())
            return out

    class KCosts(layers.Layer):
        def call(self, inputs):
            self.add_loss(ops.square(inputs))
            return inputs

    keras.utils.set_random_seed(7)
    kmodel = keras.Sequential([layers.Input((2,)), layers.Dense(1), KCosts()])
    kmodel.compile(optimizer="adam", metrics=["mae"])
    with pytest.raises(ValueError, match="None values not supported"):
        kmodel.fit(x, batch_size=4, verbose=0)
    cases = [("metrics", dict(metrics=["mae"])), ("loss", dict(loss="mse"))]
    for what, kw in cases:
        with pytest.raises(ValueError, match=f"`{what}` need") as info:
            tfit.fit(Costs(), x, optimizer="adam", verbose=0, **kw)
        print(f"fit(x) with {what}: {info.value}")
        with pytest.raises(ValueError, match=f"`{what}` need"):
            tfit.evaluate(Costs(), x, **kw)
    with pytest.raises(ValueError, match="validation_data holds no targets"):
        tfit.fit(Costs(), x, x[:, :1], optimizer="adam", verbose=0, metrics=["mae"], validation_data=(x, None))
    with pytest.raises(ValueError, match="class_weight"):
        tfit.fit(Costs(), x, optimizer="adam", verbose=0, class_weight={0: 1.0})


# ---- several outputs: no loss, per-output metrics on a per-output y ----------------------------------------------


class KPenalty(layers.Layer):
    """``self.add_loss(mean(square(outputs)))`` on each output: the model's only loss."""

    def call(self, inputs):
        self.add_loss(ops.mean(ops.square(inputs)))
        return inputs


def _keras_two_outputs(as_dict: bool = False):
    inp = keras.Input((3,))
    h = layers.Dense(4, activation="tanh")(inp)
    out1, out2 = KPenalty(name="out1")(layers.Dense(2)(h)), KPenalty(name="out2")(layers.Dense(1)(h))
    return keras.Model(inp, {"out1": out1, "out2": out2} if as_dict else [out1, out2])


class TwoOutputs(torch.nn.Module):
    """The port: a list ``[out1, out2]`` (named with ``output_names=``) or a dict keyed by the names."""

    def __init__(self, as_dict: bool = False):
        super().__init__()
        self.dense, self.out1, self.out2 = torch.nn.Linear(3, 4), torch.nn.Linear(4, 2), torch.nn.Linear(4, 1)
        self.as_dict = as_dict

    def forward(self, inputs):
        h = torch.tanh(self.dense(inputs))
        out1, out2 = self.out1(h), self.out2(h)
        add_loss(self, torch.mean(out1.square()))
        add_loss(self, torch.mean(out2.square()))
        return {"out1": out1, "out2": out2} if self.as_dict else [out1, out2]


def _two_output_data():
    rng = np.random.default_rng(8)
    x, y1, y2 = rng.normal(size=(30, 3)), rng.normal(size=(30, 2)), rng.normal(size=(30, 1))
    return x, y1, y2, np.linspace(0.1, 2.0, 30)


def _per_output(y1, y2, form: str):
    return {"out1": y1, "out2": y2} if form == "dict" else [y1, y2]


SEVERAL = {  # compile's metrics / weighted_metrics, the form of y (and of validation_data's y, sample_weight)
    "dict-metrics-dict-y": (dict(metrics={"out1": "mae", "out2": ["mse", "mae"]}), "dict", False),
    "list-metrics-list-y": (dict(metrics=["mae", ["mse"]]), "list", False),
    "one-output-metrics-list-y": (dict(metrics=["mae", None]), "list", False),
    "no-metrics-dict-y": (dict(), "dict", False),
    "weighted-dict-sample-weight": (dict(metrics={"out1": "mae"}, weighted_metrics={"out1": "mae", "out2": "mse"}),
                                    "dict", False),
    "weighted-one-sample-weight": (dict(metrics={"out1": "mae"}, weighted_metrics={"out1": "mae"}), "list", False),
    "dict-model-list-y": (dict(metrics={"out1": "mae", "out2": "mse"}), "list", True),
}
SLOW_SEVERAL = {"list-metrics-list-y", "one-output-metrics-list-y", "no-metrics-dict-y", "weighted-dict-sample-weight",
                "weighted-one-sample-weight", "dict-model-list-y"}


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.slow) if c in SLOW_SEVERAL else c
                                  for c in SEVERAL])
def test_several_outputs_metrics_without_loss_like_keras(case):
    """``compile(optimizer="adam", metrics={...} / [...])`` with no loss on a two-output model whose loss is added:
    Keras's ``CompileMetrics`` alone (``compile_utils.py``), each output's metrics on its own ``y``, logged as
    ``out1_mae``...; ``validation_data`` with a per-output ``y``; ``evaluate`` as a list and as a dict."""
    compile_args, form, as_dict = SEVERAL[case]
    x, y1, y2, sw = _two_output_data()
    y, yv = _per_output(y1[:24], y2[:24], form), _per_output(y1[24:], y2[24:], form)
    one = case == "weighted-one-sample-weight"  # one array weighs every output (Keras's array adapter)
    weights = {"sample_weight": sw[:24] if one else {"out1": sw[:24], "out2": sw[:24]}} if "weighted" in case else {}
    val = (x[24:], yv) + ((sw[24:] if one else _per_output(sw[24:], sw[24:], form),) if weights else ())
    with _precision("float64"):
        keras.utils.set_random_seed(23)
        model = _keras_two_outputs(as_dict)
        net = load_keras_weights(TwoOutputs(as_dict), model.get_weights())
        model.compile(optimizer="adam", **compile_args)
        kh = model.fit(x[:24], y, epochs=3, batch_size=10, shuffle=False, validation_data=val, verbose=0,
                       **weights).history
        names = {} if as_dict else {"output_names": ["out1", "out2"]}
        th = tfit.fit(net, x[:24], y, epochs=3, batch_size=10, shuffle=False, validation_data=val, optimizer="adam",
                      verbose=0, **names, **compile_args, **weights).history
        _compare(f"two outputs, no loss, {case}:", th, kh, "float64")
        ev = dict(batch_size=8, sample_weight=val[2]) if weights else dict(batch_size=8)
        k_list = model.evaluate(x[24:], yv, verbose=0, **ev)
        k_dict = model.evaluate(x[24:], yv, verbose=0, return_dict=True, **ev)
        t_list = tfit.evaluate(net, x[24:], yv, return_dict=False, **names, **compile_args, **ev)
        t_dict = tfit.evaluate(net, x[24:], yv, **names, **compile_args, **ev)
    print(f"  evaluate list: Keras {k_list} torch_impl {t_list} max rel {_rel(t_list, k_list):.1e}")
    assert np.shape(t_list) == np.shape(k_list) and _rel(t_list, k_list) <= TOL["float64"]
    assert list(t_dict) == list(k_dict)  # Keras's keys sorted
    assert _rel(list(t_dict.values()), list(k_dict.values())) <= TOL["float64"]
    expected = {"dict-metrics-dict-y": ["out1_mae", "out2_mae", "out2_mse"], "list-metrics-list-y": ["out1_mae",
                "out2_mse"], "no-metrics-dict-y": []}.get(case)
    if expected is not None:  # the added loss is the loss; each output's metrics named after it
        assert sorted(kh) == sorted(["loss", "val_loss"] + expected + ["val_" + k for k in expected])


def test_several_outputs_without_loss_errors():
    """No loss, several outputs: a metric's output without its ``y`` and ``validation_data`` without targets
    raise before training (Keras: ``KeyError: 'out2'`` from ``CompileMetrics._flatten_y`` at the first step,
    ``None values not supported.`` at the first validation); without metrics the targets are taken and unused."""
    x, y1, y2, _ = _two_output_data()
    kw = dict(optimizer="adam", output_names=["out1", "out2"], verbose=0, epochs=1)
    with pytest.raises(ValueError, match="no labels for outputs"):
        tfit.fit(TwoOutputs(), x, {"out1": y1}, metrics=["mae", "mse"], **kw)
    with pytest.raises(ValueError, match="validation_data holds no targets"):
        tfit.fit(TwoOutputs(), x, [y1, y2], metrics=["mae", "mse"], validation_data=(x, None), **kw)
    with pytest.raises(ValueError, match="has 1 entries for a model of 2 outputs"):
        tfit.fit(TwoOutputs(), x, [y1, y2], metrics=["mae"], **kw)  # Keras: "tuple arity mismatch"
    history = tfit.fit(TwoOutputs(), x, {"out1": y1, "out2": y2}, validation_data=(x, None), **kw).history
    print("no metrics, y per output, validation_data=(x, None):", history)
    assert sorted(history) == ["loss", "val_loss"]


PARTIAL = {  # compile's metrics / weighted_metrics, y (training, validation), sample_weight, a model returning a dict
    "shorter-list-y": (dict(metrics=["mae", "mse"]), lambda y1, y2: [y1], None, False),
    "one-array-y": (dict(metrics={"out1": "mae", "out2": "mse"}), lambda y1, y2: y1, None, False),
    "one-array-y-metrics-on-out2": (dict(metrics=[None, "mse"]), lambda y1, y2: y2, None, False),
    "weighted-list-sample-weight": (dict(weighted_metrics=["mae", "mse"]), lambda y1, y2: [y1], "list", False),
    "dict-model-tuple-y": (dict(metrics={"out1": ["mae", "mse"], "out2": "mse"}), lambda y1, y2: (y1,), "one",
                           True),
}
SLOW_PARTIAL = {"one-array-y", "one-array-y-metrics-on-out2", "weighted-list-sample-weight", "dict-model-tuple-y"}


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.slow) if c in SLOW_PARTIAL else c
                                  for c in PARTIAL])
def test_several_outputs_partial_y_without_loss_like_keras(case):
    """No loss, two outputs, ``y`` of fewer arrays than outputs (a shorter list or tuple, one array): Keras's
    ``CompileMetrics`` alone zips ``tree.flatten(y)`` with the outputs (``compile_utils.py:276-286``,
    ``_build_metrics_set``, and ``update_state``, ``compile_utils.py:344-352``), so the arrays label the first
    outputs in order and the other outputs' metrics are neither built nor logged (one array goes to ``out1`` even
    when only ``out2`` has metrics: nothing logged then); a list ``sample_weight`` pairs the same way. torch_impl
    raised ``ValueError`` ("`y` has 1 entries for a model of 2 outputs", "give y as a list with one array per
    output"). A model returning a dict: named with ``output_names`` here."""
    compile_args, make_y, weights, as_dict = PARTIAL[case]
    x, y1, y2, sw = _two_output_data()
    y, yv = make_y(y1[:24], y2[:24]), make_y(y1[24:], y2[24:])
    sws = {"list": ([sw[:24]], [sw[24:]]), "one": (sw[:24], sw[24:]), None: (None, None)}[weights]
    fit_sw = {} if weights is None else {"sample_weight": sws[0]}
    val = (x[24:], yv) + (() if weights is None else (sws[1],))
    with _precision("float64"):
        keras.utils.set_random_seed(25)
        model = _keras_two_outputs(as_dict)
        net = load_keras_weights(TwoOutputs(as_dict), model.get_weights())
        model.compile(optimizer="adam", **compile_args)
        kh = model.fit(x[:24], y, epochs=2, batch_size=10, shuffle=False, validation_data=val, verbose=0,
                       **fit_sw).history
        names = {"output_names": ["out1", "out2"]}
        th = tfit.fit(net, x[:24], y, epochs=2, batch_size=10, shuffle=False, validation_data=val, optimizer="adam",
                      verbose=0, **names, **compile_args, **fit_sw).history
        _compare(f"two outputs, no loss, {case}:", th, kh, "float64")
        ev = dict(batch_size=8, verbose=0, **({} if weights is None else {"sample_weight": sws[1]}))
        k_list, k_dict = model.evaluate(x[24:], yv, **ev), model.evaluate(x[24:], yv, return_dict=True, **ev)
        t_list = tfit.evaluate(net, x[24:], yv, return_dict=False, **names, **compile_args, **ev)
        t_dict = tfit.evaluate(net, x[24:], yv, **names, **compile_args, **ev)
    print(f"  evaluate: Keras {k_dict} torch_impl {t_dict}; list max rel {_rel(t_list, k_list):.1e}")
    assert np.shape(t_list) == np.shape(k_list) and _rel(t_list, k_list) <= TOL["float64"]
    assert list(t_dict) == list(k_dict) and _rel(list(t_dict.values()), list(k_dict.values())) <= TOL["float64"]
    assert not any(k.startswith("out2") for k in kh)  # the second output, unlabelled, has no metrics


MISSING = {"metrics-on-out1-only": dict(metrics={"out1": "mae"}), "empty-metrics-list": dict(metrics=[]),
           "weighted-metrics-only": dict(weighted_metrics=["mae", None]),
           "dict-model-no-output-names": dict(metrics={"out1": "mae"}), "no-metrics-trains": dict()}


@pytest.mark.parametrize("case", [c if c == "metrics-on-out1-only" else pytest.param(c, marks=pytest.mark.slow)
                                  for c in MISSING])
def test_dict_y_missing_an_output_raises_key_error_like_keras(case):
    """No loss, two outputs, a dict ``y`` without ``out2``'s labels: Keras's ``CompileMetrics._flatten_y``
    (``compile_utils.py:339-342``) looks every output's name up in it, so whenever metrics or weighted metrics are
    compiled (an empty list too: ``trainer.py:196``), whichever outputs they are on, ``fit`` and ``evaluate``
    raise ``KeyError: 'out2'`` at the first step (after ``on_train_begin``, ``on_epoch_begin`` and
    ``on_train_batch_begin``, before any update); without them (no ``CompileMetrics``) ``y`` is unused and the
    model trains. torch_impl trained silently when the missing output had no metrics; now it raises a ``KeyError``
    (``args[0]`` the output's name; also a ``ValueError``) at the first step, before any update, after the same
    callbacks as Keras (it raised it before ``on_train_begin`` for named outputs)."""
    compile_args, as_dict = MISSING[case], case.startswith("dict-model")
    x, y1, _, _ = _two_output_data()
    names = {} if as_dict else {"output_names": ["out1", "out2"]}
    with _precision("float64"):
        keras.utils.set_random_seed(26)
        model = _keras_two_outputs(as_dict)
        net = load_keras_weights(TwoOutputs(as_dict), model.get_weights())
        model.compile(optimizer="adam", **compile_args)
        if case == "no-metrics-trains":
            kh = model.fit(x, {"out1": y1}, epochs=2, batch_size=10, shuffle=False, verbose=0).history
            th = tfit.fit(net, x, {"out1": y1}, epochs=2, batch_size=10, shuffle=False, optimizer="adam", verbose=0,
                          **names).history
            _compare("dict y without out2, no metrics:", th, kh, "float64")
            return
        before = [w.copy() for w in model.get_weights()]
        kc, tc = _KCalls(), _Calls()
        with pytest.raises(KeyError) as kerr:
            model.fit(x, {"out1": y1}, epochs=1, batch_size=10, verbose=0, callbacks=[kc])
        with pytest.raises(KeyError) as kerr_ev:
            model.evaluate(x, {"out1": y1}, verbose=0)
        t_before = [p.detach().clone() for p in net.parameters()]
        with pytest.raises(KeyError) as terr:
            tfit.fit(net, x, {"out1": y1}, epochs=1, batch_size=10, optimizer="adam", verbose=0, callbacks=[tc],
                     **names, **compile_args)
        with pytest.raises(KeyError) as terr_ev:
            tfit.evaluate(net, x, {"out1": y1}, verbose=0, **names, **compile_args)
    print(f"dict y without out2, {case}: Keras {kerr.value!r} (evaluate {kerr_ev.value!r}) after {kc.calls}; "
          f"torch_impl {terr.value.args!r} after {tc.calls}: {terr.value}")
    assert kerr.value.args == kerr_ev.value.args == terr.value.args == terr_ev.value.args == ("out2",)
    assert isinstance(terr.value, ValueError)
    assert all((a == b).all() for a, b in zip(before, model.get_weights()))  # no step taken, on either side
    assert all(torch.equal(a, b) for a, b in zip(t_before, net.parameters()))
    assert kc.calls == ["on_train_begin", "on_epoch_begin", "on_train_batch_begin"]
    assert tc.calls == kc.calls


# ---- class_weight without y, or with a y per output (Keras's array adapter) ----------------------------------


class _TrainBegins:
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append("on_train_begin")


class _TBegins(_TrainBegins, tcb.Callback):
    pass


class _KBegins(_TrainBegins, keras.callbacks.Callback):
    pass


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_class_weight_without_y_or_per_output_raises_as_keras():
    """``fit(..., class_weight=...)``: Keras 3.15.1 converts it in its array adapter, made before
    ``on_train_begin``: ``y=None`` fails in ``class_weight_to_sample_weights`` (``IndexError: tuple index out of
    range``, ``data_adapter_utils.py:125``), a nested ``y`` (dict or list, with a loss or not) raises
    ``ValueError("`class_weight` is only supported for Models with a single output.")``
    (``array_data_adapter.py:66-70``), before the metrics' or the loss's own errors. torch_impl raises the same
    types (its ``y=None`` error is both an ``IndexError`` and a ``ValueError``), no callback called."""
    x, y1, y2, _ = _two_output_data()
    cw = {0: 1.0, 1: 2.0}
    cases = {"no y": (None, {}), "no y, metrics": (None, dict(metrics=["mae"])),
             "dict y": ({"out1": y1, "out2": y2}, dict(metrics={"out1": "mae"})),
             "list y, loss": ([y1, y2], dict(loss="mse"))}
    with _precision("float64"):
        for name, (y, compile_args) in cases.items():
            two = y is not None
            keras.utils.set_random_seed(24)
            model = _keras_two_outputs() if two else keras.Sequential([layers.Input((3,)), layers.Dense(2),
                                                                       KPenalty()])
            model.compile(optimizer="adam", **compile_args)
            kcb, tcbk = _KBegins(), _TBegins()
            with pytest.raises(Exception) as kerr:
                model.fit(x, y, class_weight=cw, verbose=0, callbacks=[kcb])
            net = TwoOutputs() if two else torch.nn.Sequential(torch.nn.Linear(3, 2))
            with pytest.raises(Exception) as terr:
                tfit.fit(net, x, y, class_weight=cw, optimizer="adam", verbose=0, callbacks=[tcbk],
                         **({"output_names": ["out1", "out2"]} if two else {}), **compile_args)
            print(f"class_weight, {name}: Keras {type(kerr.value).__name__}({str(kerr.value)!r}) {kcb.calls}; "
                  f"torch_impl {type(terr.value).__name__}({str(terr.value)!r}) {tcbk.calls}")
            assert isinstance(terr.value, type(kerr.value)) and kcb.calls == tcbk.calls == []
            if two:
                assert str(terr.value).startswith(str(kerr.value))
            else:
                assert isinstance(terr.value, ValueError) and "no y" in str(terr.value)


# ---- fit's arguments against Keras's Model.fit ----------------------------------------------------------------


def test_fit_verbose_auto_shows_the_progress_bar(capsys):
    """``verbose="auto"``, Keras's default: its ``ProgbarLogger`` takes it as 1 (``callbacks/progbar_logger.py:31-33``,
    a progress bar) and the callbacks' ``params["verbose"]`` keep ``"auto"``; torch_impl's ``fit`` printed nothing
    for it (its bar was for ``verbose == 1`` only)."""
    x = np.random.default_rng(9).normal(size=(20, 3))
    outs, params = [], []

    class Params(tcb.Callback):
        def on_train_begin(self, logs=None):
            params.append(self.params["verbose"])

    for verbose in (1, "auto", 0):
        tfit.fit(TwoOutputs(), x, optimizer="adam", epochs=1, batch_size=8, verbose=verbose, callbacks=[Params()])
        outs.append(capsys.readouterr().out)
    with capsys.disabled():
        print(f"\nverbose=1 / 'auto' / 0 wrote {[len(o) for o in outs]} characters; params {params}")
    assert "3/3" in outs[0] and "3/3" in outs[1] and outs[2] == ""
    assert params == [1, "auto", 0]


def test_callbacks_one_or_nested_like_keras():
    """``callbacks=`` one callback, a tuple, nested lists or a dict: Keras's ``CallbackList`` takes
    ``tree.flatten(callbacks)`` (``callbacks/callback_list.py:41``; a dict's values in sorted key order), so
    ``fit(..., callbacks=EarlyStopping(...))`` works; torch_impl raised ``TypeError`` for all but a flat list or
    tuple. ``fit``, ``evaluate`` and ``predict`` alike."""
    x = np.random.default_rng(10).normal(size=(8, 3))

    class Tag(tcb.Callback):
        def __init__(self, tag, seen):
            super().__init__()
            self.tag, self.seen = tag, seen

        def on_train_begin(self, logs=None):
            self.seen.append(self.tag)

        on_test_begin = on_predict_begin = on_train_begin

    forms = {"one": lambda s: Tag("a", s), "nested": lambda s: [[Tag("a", s)], (Tag("b", s), [Tag("c", s)])],
             "dict": lambda s: {"z": Tag("b", s), "a": Tag("a", s)}}
    expected = {"one": ["a"], "nested": ["a", "b", "c"], "dict": ["a", "b"]}
    for form, make in forms.items():
        seen = []
        tfit.fit(TwoOutputs(), x, optimizer="adam", batch_size=4, verbose=0, callbacks=make(seen))
        tfit.evaluate(TwoOutputs(), x, batch_size=4, callbacks=make(seen))
        tfit.predict(TwoOutputs(), x, batch_size=4, callbacks=make(seen))
        print(f"callbacks={form}: hooks called on {seen}")
        assert seen == expected[form] * 3
    with pytest.raises(TypeError, match="Callback instances"):
        tfit.fit(TwoOutputs(), x, optimizer="adam", verbose=0, callbacks=[keras.callbacks.History()])

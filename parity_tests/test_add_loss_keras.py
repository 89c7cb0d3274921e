"""``torch_impl.regularizers.add_loss`` against Keras 3.15.1's ``Layer.add_loss`` (TensorFlow backend).

Keras 3.15.1 (``keras/src/layers/layer.py`` ``add_loss``, ``losses``, ``_clear_losses``, ``_flatten_layers``;
``keras/src/trainers/trainer.py`` ``compute_loss``, ``_aggregate_additional_loss``): a layer's ``call`` adds
tensors to its own list; ``model.losses`` is the model's own, then each layer's in ``_flatten_layers`` order (depth
first, a layer's own layers in reverse order: ``deque.extendleft``), then the weight penalties; the lists are
cleared at the start of each outermost call; ``compute_loss`` sums each added loss (``ops.sum``, an integer one
cast to floatx first) and then ``ops.sum([compiled loss, *those])``. Here the same models, ported with
``add_loss(self, value)`` in ``forward``, train and evaluate with ``torch_impl.fit``:

* the keras.io VAE's KL term added by its encoder, with a compiled MSE: 3-epoch ``fit`` (``loss``, ``val_loss``);
* an ``(N, 1)`` added tensor (summed, as Keras 3: not the batch mean);
* nested layers adding losses (a list of layers too) with an activity and a kernel regularizer: ``model.losses``'
  order and values;
* a layer used twice per forward (both calls' losses, in call order);
* ``evaluate`` (batches of unequal size) including the added loss;
* an ``int32`` added loss cast to floatx; a non-tensor refused with Keras's ``ValueError``.

Run: ``.venv/bin/python -m pytest -q -s -p no:cacheprovider parity_tests/test_add_loss_keras.py``
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers, ops  # noqa: E402

from parity_tests.test_field_scripts_round2 import _precision, _rel  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl import regularizers as R  # noqa: E402
from torch_impl.regularizers import add_loss  # noqa: E402

pytestmark = pytest.mark.keras

F64 = 1e-12  # relative, float64 histories


def _copy(linear: torch.nn.Linear, dense) -> torch.nn.Linear:
    """A Keras ``Dense``'s kernel and bias into a torch ``Linear``."""
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(dense.kernel.numpy().T)))
        linear.bias.copy_(torch.from_numpy(dense.bias.numpy()))
    return linear


def _compare(name: str, th: dict, kh: dict, tol: float = F64) -> None:
    for k in kh:
        r = _rel(th[k], kh[k])
        print(f"{name} {k}: Keras {np.round(kh[k], 8).tolist()} torch_impl {np.round(th[k], 8).tolist()} "
              f"max rel {r:.1e}")
        assert r <= tol, k


# ---- 1. the keras.io VAE: KL divergence added by the encoder, compiled MSE -----------------------------------

ORIG, INTER, LATENT = 12, 8, 3


class KEncoder(layers.Layer):
    """The guide's encoder with its KL term (the model's ``add_loss`` moved into the encoder); a fixed ``epsilon``
    draw instead of ``keras.random.normal`` (the sampling streams are matched in round 12)."""

    def __init__(self, eps, **kwargs):
        super().__init__(**kwargs)
        self.eps = eps
        self.dense_proj = layers.Dense(INTER, activation="relu")
        self.dense_mean = layers.Dense(LATENT)
        self.dense_log_var = layers.Dense(LATENT)

    def call(self, inputs):
        x = self.dense_proj(inputs)
        z_mean, z_log_var = self.dense_mean(x), self.dense_log_var(x)
        self.add_loss(-0.5 * ops.mean(z_log_var - ops.square(z_mean) - ops.exp(z_log_var) + 1))
        return z_mean + ops.exp(0.5 * z_log_var) * ops.cast(self.eps, z_mean.dtype)


class KVAE(keras.Model):
    def __init__(self, eps):
        super().__init__()
        self.encoder = KEncoder(eps)
        self.dec_proj = layers.Dense(INTER, activation="relu")
        self.dec_out = layers.Dense(ORIG, activation="sigmoid")

    def call(self, inputs):
        return self.dec_out(self.dec_proj(self.encoder(inputs)))


class Encoder(torch.nn.Module):
    def __init__(self, k: KEncoder):
        super().__init__()
        self.eps = torch.as_tensor(k.eps)
        self.proj, self.mean, self.log_var = (_copy(torch.nn.Linear(*shape), d) for shape, d in
                                              [((ORIG, INTER), k.dense_proj), ((INTER, LATENT), k.dense_mean),
                                               ((INTER, LATENT), k.dense_log_var)])

    def forward(self, x):
        x = torch.relu(self.proj(x))
        z_mean, z_log_var = self.mean(x), self.log_var(x)
        add_loss(self, -0.5 * torch.mean(z_log_var - z_mean.square() - torch.exp(z_log_var) + 1))
        return z_mean + torch.exp(0.5 * z_log_var) * self.eps.to(z_mean.dtype)


@pytest.mark.slow  # the same VAE port runs by default in test_field_scripts_round12.py (now with add_loss)
def test_vae_kl_add_loss_with_compiled_mse_fit_like_keras():
    rng = np.random.default_rng(0)
    x, xv = rng.random((40, ORIG)), rng.random((16, ORIG))
    eps = rng.normal(size=(LATENT,))
    with _precision("float64"):
        keras.utils.set_random_seed(1)
        vae = KVAE(eps)
        vae(x[:2])
        net = torch.nn.Sequential(Encoder(vae.encoder), _copy(torch.nn.Linear(LATENT, INTER), vae.dec_proj),
                                  torch.nn.ReLU(), _copy(torch.nn.Linear(INTER, ORIG), vae.dec_out))
        vae.compile(keras.optimizers.Adam(learning_rate=1e-2), loss=keras.losses.MeanSquaredError())
        # net has not run: its encoder adds its first loss after fit has found the model's modules
        kh = vae.fit(x, x, epochs=3, batch_size=16, shuffle=False, validation_data=(xv, xv), verbose=0).history
        th = tfit.fit(net, x, x, epochs=3, batch_size=16, shuffle=False, validation_data=(xv, xv),
                      loss="mean_squared_error", output_activation="sigmoid",
                      optimizer=optim.Adam(net.parameters(), learning_rate=1e-2), verbose=0).history
        mse = float(np.mean((tfit.predict(net, xv, output_activation="sigmoid") - xv) ** 2))
    _compare("VAE (encoder add_loss KL + compiled MSE), float64:", th, kh)
    print(f"  val_loss {kh['val_loss'][-1]:.6f}: the MSE {mse:.6f} plus the KL term {kh['val_loss'][-1] - mse:.2e}")
    assert _rel(mse, kh["val_loss"][-1]) > 1e-3  # the KL term is in the logged loss


# ---- 2. an (N, 1) added tensor: summed ------------------------------------------------------------------------


class KCosts(layers.Layer):
    """A ``CTCLayer``-like endpoint: ``add_loss`` of the ``(N, 1)`` per-sample costs ``0.1 * pred ** 2``."""

    def call(self, pred):
        self.add_loss(0.1 * ops.square(pred))
        return pred


class Costs(torch.nn.Module):
    def forward(self, pred):
        add_loss(self, 0.1 * pred.square())
        return pred


def _costs_models(seed=2):
    keras.utils.set_random_seed(seed)
    inp = keras.Input((4,))
    d1, d2 = layers.Dense(6, activation="tanh"), layers.Dense(1)
    kmodel = keras.Model(inp, KCosts()(d2(d1(inp))))
    net = torch.nn.Sequential(_copy(torch.nn.Linear(4, 6), d1), torch.nn.Tanh(), _copy(torch.nn.Linear(6, 1), d2),
                              Costs())
    return kmodel, net


def test_n_by_1_added_loss_is_summed_like_keras():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(20, 4)), rng.normal(size=(20, 1))
    with _precision("float64"):
        kmodel, net = _costs_models()
        kmodel.compile(keras.optimizers.SGD(0.05), loss="mse")
        kh = kmodel.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0).history
        th = tfit.fit(net, x, y, epochs=3, batch_size=8, shuffle=False, loss="mse",
                      optimizer=optim.SGD(net.parameters(), learning_rate=0.05), verbose=0).history
        _compare("(N, 1) add_loss + mse, float64:", th, kh)
        k_eval = kmodel.evaluate(x, y, batch_size=20, verbose=0)
        t_eval = tfit.evaluate(net, x, y, loss="mse", batch_size=20)["loss"]
        pred = tfit.predict(net, x)
    mse, costs = float(np.mean((pred - y) ** 2)), 0.1 * pred ** 2
    print(f"evaluate (one batch): Keras {k_eval:.12f} torch_impl {t_eval:.12f}; mse + sum {mse + costs.sum():.12f}, "
          f"mse + mean {mse + costs.mean():.12f}")
    assert _rel(t_eval, k_eval) <= F64
    assert _rel(k_eval, mse + costs.sum()) <= 1e-12 and _rel(k_eval, mse + costs.mean()) > 1e-3


# ---- 3. nested layers: model.losses order and values ---------------------------------------------------------


class KNested(layers.Layer):
    """Adds ``v * mean(x)`` before calling its list of layers and ``(v + 0.5) * mean(x)`` after."""

    def __init__(self, v, subs=(), **kwargs):
        super().__init__(**kwargs)
        self.v, self.subs = v, list(subs)

    def call(self, x):
        self.add_loss(self.v * ops.mean(x))
        for s in self.subs:
            x = s(x)
        self.add_loss((self.v + 0.5) * ops.mean(x))
        return x + 1.0


class Nested(torch.nn.Module):
    def __init__(self, v, subs=()):
        super().__init__()
        self.v, self.subs = v, torch.nn.ModuleList(subs)

    def forward(self, x):
        add_loss(self, self.v * x.mean())
        for s in self.subs:
            x = s(x)
        add_loss(self, (self.v + 0.5) * x.mean())
        return x + 1.0


class KOuter(keras.Model):
    def __init__(self):
        super().__init__()
        self.a = KNested(10.0, [KNested(11.0), KNested(12.0)])
        self.b = KNested(20.0, [KNested(21.0)])
        self.d = layers.Dense(2, activity_regularizer=keras.regularizers.L2(0.01),
                              kernel_regularizer=keras.regularizers.L2(0.1))

    def call(self, x):
        self.add_loss(ops.sum(x))
        return self.d(self.a(self.b(x)))  # b called before a: the order is the layers', not the calls'


class Outer(torch.nn.Module):
    def __init__(self, k: KOuter):
        super().__init__()
        self.a = Nested(10.0, [Nested(11.0), Nested(12.0)])
        self.b = Nested(20.0, [Nested(21.0)])
        self.d = R.regularize(_copy(torch.nn.Linear(3, 2), k.d), activity_regularizer=R.L2(0.01),
                              kernel_regularizer=R.L2(0.1))

    def forward(self, x):
        add_loss(self, x.sum())
        return self.d(self.a(self.b(x)))


def test_nested_added_losses_order_and_values_like_keras():
    x = np.random.default_rng(4).normal(size=(5, 3))
    with _precision("float64"):
        kmodel = KOuter()
        kmodel(x)
        net = Outer(kmodel)
        kmodel(x)  # the second call: Keras cleared the first call's losses
        k_losses = np.array([float(v) for v in kmodel.losses])
        R.clear_activity_losses(net)  # the rule here: clear before a forward whose losses are read
        net(torch.as_tensor(x))
        t_losses = np.array([float(v.detach()) for v in R.regularization_losses(net)])
    print(f"model.losses Keras {np.round(k_losses, 6).tolist()}\n             torch_impl {np.round(t_losses, 6).tolist()}")
    assert len(k_losses) == 13  # own; a's two, 12's, 11's (reversed), b's, 21's; d's activity; d's kernel
    err = float(np.max(np.abs(t_losses - k_losses) / np.abs(k_losses)))
    print(f"max rel diff {err:.1e}")
    assert err <= 1e-14
    assert len(R.regularization_losses(net)) == 1  # read: the added ones cleared, the kernel penalty left


# ---- 4. a layer used twice per forward -----------------------------------------------------------------------


class KShared(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = layers.Dense(4, activation="tanh")

    def call(self, x):
        y = self.dense(x)
        self.add_loss(0.05 * ops.sum(ops.square(y)))
        return y


class Shared(torch.nn.Module):
    def __init__(self, k: KShared):
        super().__init__()
        self.dense = _copy(torch.nn.Linear(4, 4), k.dense)

    def forward(self, x):
        y = torch.tanh(self.dense(x))
        add_loss(self, 0.05 * y.square().sum())
        return y


def test_module_used_twice_per_forward_like_keras():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(24, 4)), rng.normal(size=(24, 2))
    with _precision("float64"):
        keras.utils.set_random_seed(6)
        inp = keras.Input((4,))
        shared, out = KShared(), layers.Dense(2)
        kmodel = keras.Model(inp, out(shared(shared(inp))))
        s = Shared(shared)
        net = torch.nn.Sequential(s, s, _copy(torch.nn.Linear(4, 2), out))
        kmodel.compile(keras.optimizers.Adam(1e-2), loss="mae")
        kh = kmodel.fit(x, y, epochs=3, batch_size=10, shuffle=False, verbose=0).history
        th = tfit.fit(net, x, y, epochs=3, batch_size=10, shuffle=False, loss="mae",
                      optimizer=optim.Adam(net.parameters(), learning_rate=1e-2), verbose=0).history
        _compare("a module called twice, add_loss + mae, float64:", th, kh)
        kmodel(x[:3])
        net(torch.as_tensor(x[:3]))
        k_losses = [float(v) for v in kmodel.losses]
        t_losses = [float(v.detach()) for v in R.regularization_losses(net)]
    print(f"model.losses after one call: Keras {k_losses} torch_impl {t_losses}")
    assert len(k_losses) == len(t_losses) == 2 and _rel(t_losses, k_losses) <= F64


# ---- 5. evaluate includes the added loss ----------------------------------------------------------------------


def test_evaluate_includes_added_losses_like_keras():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(20, 4)), rng.normal(size=(20, 1))
    with _precision("float64"):
        kmodel, net = _costs_models(seed=8)
        kmodel.compile("sgd", loss="mae")
        k_eval = kmodel.evaluate(x, y, batch_size=7, verbose=0)  # batches of 7, 7, 6: sums of unequal sizes
        t_eval = tfit.evaluate(net, x, y, loss="mae", batch_size=7)["loss"]
        plain = tfit.evaluate(net[:3], x, y, loss="mae", batch_size=7)["loss"]
    print(f"evaluate: Keras {k_eval:.15f} torch_impl {t_eval:.15f} (without the added loss {plain:.6f}); "
          f"rel {_rel(t_eval, k_eval):.1e}")
    assert _rel(t_eval, k_eval) <= F64 and _rel(plain, k_eval) > 1e-3


# ---- 6. an integer added loss, cast to floatx; a non-tensor refused ------------------------------------------


class KCount(layers.Layer):
    def call(self, x):
        self.add_loss(ops.sum(ops.cast(x > 0.5, "int32")))
        return x


class Count(torch.nn.Module):
    def forward(self, x):
        add_loss(self, (x > 0.5).sum(dtype=torch.int32))
        return x


@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_int_added_loss_cast_to_floatx_like_keras(dt):
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(16, 3)).astype(dt), rng.normal(size=(16, 2)).astype(dt)
    with _precision(dt):
        keras.utils.set_random_seed(10)
        inp = keras.Input((3,))
        dense = layers.Dense(2)
        kmodel = keras.Model(inp, dense(KCount()(inp)))
        net = torch.nn.Sequential(Count(), _copy(torch.nn.Linear(3, 2, dtype=getattr(torch, dt)), dense))
        kmodel.compile(keras.optimizers.SGD(0.1), loss="mse")
        kh = kmodel.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history
        th = tfit.fit(net, x, y, epochs=2, batch_size=8, shuffle=False, loss="mse",
                      optimizer=optim.SGD(net.parameters(), learning_rate=0.1), verbose=0).history
        k_eval = kmodel.evaluate(x, y, batch_size=16, verbose=0)
        t_eval = tfit.evaluate(net, x, y, loss="mse", batch_size=16)["loss"]
        net(torch.as_tensor(x))
        term = R.regularization_losses(net)[0]
        left = R.regularization_losses(net)
    _compare(f"int32 add_loss + mse, {dt}:", th, kh, F64 if dt == "float64" else 1e-6)
    print(f"  evaluate Keras {k_eval:.10f} torch_impl {t_eval:.10f}; the term {term} ({int((x > 0.5).sum())} "
          "elements over 0.5)")
    assert term.dtype == torch.int32 and int(term) == int((x > 0.5).sum())
    assert _rel(t_eval, k_eval) <= (F64 if dt == "float64" else 1e-6)
    assert left == []  # read: cleared (and no weight penalty)
    with pytest.raises(ValueError, match="on a tensor input"):
        KCount().add_loss(1.0)
    with pytest.raises(ValueError, match="on a tensor input"):
        add_loss(Count(), 1.0)

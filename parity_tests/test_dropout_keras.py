"""``torch_impl.nn.Dropout`` against ``keras.layers.Dropout`` (TensorFlow backend): the same masks, bit for bit.

Keras's layer draws ``tf.nn.experimental.stateless_dropout`` masks from its ``SeedGenerator`` (``[seed, counter]``,
the counter advancing once per training call); torch_impl's reimplements the stream (Philox4x32-10 with
TensorFlow's seed scrambling and uniform conversions). The tests compare

* the outputs (so the masks and the ``1 / (1 - rate)`` scaling) and the seed states over consecutive calls, for a
  grid of shapes (odd sizes too), rates, seeds (beyond int32 and negative ones, reduced as Keras's ``_cast_seed``
  does), dtypes and ``noise_shape``s; the input gradients; ``rate`` 0 and 1, eval mode and the rate checks;
* a whole ``Model.fit`` with a Dropout layer (float64, Adam, validation data) against ``torch_impl.fit.fit`` on the
  same weights: the loss histories agree within 1e-12 relative, and validation advances neither seed state.
"""

from __future__ import annotations


import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from parity_tests.test_field_scripts_round2 import _dense, _precision  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, optim  # noqa: E402
from torch_impl.nn import Activation, Dropout  # noqa: E402

pytestmark = pytest.mark.keras


def _keras_state(layer) -> tuple:
    return tuple(int(v) for v in np.asarray(layer.seed_generator.state.numpy()))


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


SHAPES = [((1,), None), ((5,), None), ((7, 3), None), ((13, 17), None), ((4, 3, 5), (None, 1, 5)),
          ((4, 3, 5), (1, 3, None)), ((2, 9), (2, 1)), ((3, 2, 2, 3), (None, 1, 1, None))]
RATES = [0.1, 0.3, 0.5, 0.77]
SEEDS = [0, 7, 123456789, 2**31 + 5, -3]
CALLS = 3


@pytest.mark.parametrize("dt", ["float32", "float64", pytest.param("float16", marks=pytest.mark.slow)])
def test_masks_bit_for_bit(dt):
    rng = np.random.default_rng(0)
    compared = 0
    for shape, noise_shape in SHAPES:
        for rate in RATES:
            for seed in SEEDS:
                k = keras.layers.Dropout(rate, noise_shape=noise_shape, seed=seed, dtype=dt)
                t = Dropout(rate, noise_shape=noise_shape, seed=seed)
                assert t.state == _keras_state(k)
                for call in range(CALLS):
                    x = rng.standard_normal(shape).astype(dt)
                    a = np.asarray(k(x, training=True))
                    b = t(torch.from_numpy(x)).numpy()
                    where = f"{dt} shape={shape} noise_shape={noise_shape} rate={rate} seed={seed} call={call}"
                    assert _same_bits(a, b), where
                    assert t.state == _keras_state(k), where
                    compared += 1
    print(f"{dt}: {compared} dropout outputs over {CALLS} consecutive calls each, all equal bit for bit")
    assert compared == len(SHAPES) * len(RATES) * len(SEEDS) * CALLS


def test_input_gradients_bit_for_bit():
    rng = np.random.default_rng(1)
    for dt in ("float32", "float64"):
        k = keras.layers.Dropout(0.4, seed=11, dtype=dt)
        t = Dropout(0.4, seed=11)
        for _ in range(2):
            x, w = rng.standard_normal((6, 7)).astype(dt), rng.standard_normal((6, 7)).astype(dt)
            xv = tf.Variable(x)
            with tf.GradientTape() as tape:
                out = tf.reduce_sum(k(xv, training=True) * w)
            gk = tape.gradient(out, xv).numpy()
            xt = torch.from_numpy(x).requires_grad_()
            (t(xt) * torch.from_numpy(w)).sum().backward()
            assert _same_bits(gk, xt.grad.numpy()), dt
        print(f"{dt}: input gradients equal bit for bit over 2 calls")


def test_edges_eval_and_validation():
    x = np.arange(1, 13, dtype="float32").reshape(3, 4)
    xt = torch.from_numpy(x)
    # rate 0: the input; rate 1: zeros; neither draws a seed
    for rate in (0.0, 1.0):
        k, t = keras.layers.Dropout(rate, seed=3), Dropout(rate, seed=3)
        a, b = np.asarray(k(x, training=True)), t(xt).numpy()
        assert _same_bits(a, b), rate
        assert t.state == (3, 0)
        if rate:
            assert _keras_state(k) == (3, 0)
    # eval mode / training=False: the identity, the counter stays
    k, t = keras.layers.Dropout(0.5, seed=3), Dropout(0.5, seed=3)
    assert _same_bits(np.asarray(k(x, training=False)), t.eval()(xt).numpy())
    assert t.state == _keras_state(k) == (3, 0)
    t.train()
    first = t(xt)
    assert _same_bits(np.asarray(k(x, training=True)), first.numpy())
    assert t.state == _keras_state(k) == (3, 1)
    # state / reset replay the stream
    t.reset()
    assert t.state == (3, 0) and torch.equal(t(xt), first)
    t.state = (3, 5)
    k.seed_generator.state.assign([3, 5])
    assert _same_bits(np.asarray(k(x, training=True)), t(xt).numpy())
    # Keras's checks
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="rate"):
            keras.layers.Dropout(bad)
        with pytest.raises(ValueError, match="rate"):
            Dropout(bad)
    for bad in ("abc", (2, 0), (2, 1.5)):
        with pytest.raises(ValueError, match="noise_shape"):
            keras.layers.Dropout(0.5, noise_shape=bad)
        with pytest.raises(ValueError, match="noise_shape"):
            Dropout(0.5, noise_shape=bad)
    with pytest.raises(ValueError, match="seed"):
        Dropout(0.5, seed=1.5)
    print("rate 0/1, eval mode, state/reset and the argument checks agree with Keras")


def test_fit_with_dropout_float64():
    rng = np.random.default_rng(5)
    n, d, classes, batch, epochs = 203, 8, 3, 32, 6  # 7 steps per epoch, the last one of 11 rows
    x = rng.standard_normal((n, d))
    y = (x[:, 0] + x[:, 1] ** 2 + 0.5 * rng.standard_normal(n) > 0.8).astype("int64") + (x[:, 2] > 1)
    xv = rng.standard_normal((40, d))
    yv = (xv[:, 0] + xv[:, 1] ** 2 > 0.8).astype("int64") + (xv[:, 2] > 1)
    with _precision("float64"):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((d,)), keras.layers.Dense(32, activation="relu"),
                                  keras.layers.Dropout(0.3, seed=7), keras.layers.Dense(classes, activation="softmax")])
        kernel1, bias1, kernel2, bias2 = model.get_weights()
        drop = Dropout(0.3, seed=7)
        net = torch.nn.Sequential(_dense(kernel1, bias1), Activation("relu"), drop, _dense(kernel2, bias2))
        k_drop = model.layers[1]
        assert _keras_state(k_drop) == drop.state == (7, 0)

        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
        kh = model.fit(x, y, batch_size=batch, epochs=epochs, shuffle=False, validation_data=(xv, yv),
                       verbose=0).history
        th = tfit.fit(net, x, y, loss=losses.SparseCategoricalCrossentropy(),
                      optimizer=optim.Adam(net.parameters(), learning_rate=0.01), batch_size=batch, epochs=epochs,
                      shuffle=False, validation_data=(xv, yv), metrics=(), verbose=0,
                      output_activation="softmax").history
        steps = epochs * -(-n // batch)
        # one draw per training step; the validation passes (training=False) draw none
        assert _keras_state(k_drop) == drop.state == (7, steps), (_keras_state(k_drop), drop.state)
        k_eval = model.evaluate(xv, yv, batch_size=batch, verbose=0)
        t_eval = tfit.evaluate(net, xv, yv, loss=losses.SparseCategoricalCrossentropy(), batch_size=batch,
                               metrics=(), output_activation="softmax")
        assert _keras_state(k_drop) == drop.state == (7, steps)
    worst = 0.0
    for key in ("loss", "val_loss"):
        for epoch, (a, b) in enumerate(zip(kh[key], th[key])):
            rel = abs(a - b) / abs(a)
            worst = max(worst, rel)
            print(f"epoch {epoch + 1} {key}: Keras {a:.17g}  torch {b:.17g}  rel {rel:.1e}")
        assert len(kh[key]) == len(th[key]) == epochs
    t_eval_loss = float(t_eval["loss"])
    rel_eval = abs(k_eval - t_eval_loss) / abs(k_eval)
    print(f"evaluate after fit: Keras {k_eval:.17g}  torch {t_eval_loss:.17g}  rel {rel_eval:.1e}")
    print(f"{steps} training steps, seed state (7, {steps}) on both sides; worst relative loss difference {worst:.1e}")
    assert worst <= 1e-12
    assert rel_eval <= 1e-12
    # the masks matter: another seed gives another first epoch
    with _precision("float64"):
        other = torch.nn.Sequential(_dense(kernel1, bias1), Activation("relu"), Dropout(0.3, seed=8),
                                    _dense(kernel2, bias2))
        oh = tfit.fit(other, x, y, loss=losses.SparseCategoricalCrossentropy(),
                      optimizer=optim.Adam(other.parameters(), learning_rate=0.01), batch_size=batch, epochs=1,
                      shuffle=False, metrics=(), verbose=0, output_activation="softmax").history
    print(f"negative control, seed 8: epoch 1 loss {oh['loss'][0]:.17g}")
    assert abs(oh["loss"][0] - kh["loss"][0]) > 1e-6 * abs(kh["loss"][0])


def test_spec_models_with_dropout_train_like_keras():
    """A ``dropout`` layer in a model spec (``rate``, ``seed``) on both sides: the same masks, the same run; a
    spec without its seed is refused (each side would draw its own)."""
    from keras_impl.models import build_model as keras_build
    from parity_tests.test_field_scripts_round2 import _check_history, _precision
    from torch_impl.nn import build_model, load_keras_weights

    rng = np.random.default_rng(9)
    x = rng.normal(size=(150, 5))
    y = np.argmax(x[:, :3] + 0.5 * rng.normal(size=(150, 3)), 1)
    spec = {"input_dim": 5, "layers": [{"type": "dense", "units": 24, "activation": "relu"},
                                       {"type": "dropout", "rate": 0.4, "seed": 3},
                                       {"type": "dense", "units": 3, "activation": "softmax"}]}
    with _precision("float64"):
        km = keras_build(spec)
        w = km.get_weights()
        km.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy", metrics=[])
        kh = km.fit(x, y, batch_size=32, epochs=4, shuffle=False, verbose=0, validation_split=0.2).history
        tm = build_model(spec)
        load_keras_weights(tm, w)
        th = tfit.fit(tm, x, y, loss="sparse_categorical_crossentropy", optimizer=optim.Adam(tm.parameters(), 0.02),
                      batch_size=32, epochs=4, shuffle=False, verbose=0, metrics=(), validation_split=0.2).history
    print("spec model with dropout:")
    _check_history(th, kh, "float64")
    with pytest.raises(ValueError, match="'rate' and 'seed'"):
        build_model({"input_dim": 5, "layers": [{"type": "dropout", "rate": 0.4},
                                                {"type": "dense", "units": 3}]})


def test_predict_like_keras():
    """``torch_impl.fit.predict``: Keras's ``predict`` (evaluation mode: Dropout off, the output activation on,
    batched), and it leaves Dropout's seed counter where it was, as Keras's."""

    rng = np.random.default_rng(11)
    x = rng.normal(size=(70, 5))
    with _precision("float64"):
        km = keras.Sequential([keras.Input((5,)), keras.layers.Dense(16, activation="relu"),
                               keras.layers.Dropout(0.5, seed=4), keras.layers.Dense(3, activation="softmax")])
        w = km.get_weights()
        drop = Dropout(0.5, seed=4)
        tm = torch.nn.Sequential(_dense(w[0], w[1]), torch.nn.ReLU(), drop, _dense(w[2], w[3]))
        kp = km.predict(x, batch_size=16, verbose=0)
        tp = tfit.predict(tm, x, batch_size=16, output_activation="softmax")
    err = float(np.max(np.abs(tp - kp)))
    print(f"predict: shape {tp.shape}, max abs diff {err:.1e}; dropout state {drop.state}")
    assert tp.shape == kp.shape and err <= 1e-15 and drop.state == (4, 0) and tm.training

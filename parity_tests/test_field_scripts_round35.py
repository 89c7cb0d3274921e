"""Real-world Keras 3 scripts, round 35: mixed precision, gradient accumulation and gradient clipping as scripts
use them, ported to PyTorch with torch_impl as the README recommends (``torch_impl.fit``, ``torch_impl.optim``
with its Keras options and ``LossScaleOptimizer``, ``load_keras_weights``; mixed precision as ``torch.autocast``
inside the model's ``forward``, float32 weights, the output cast to float32 where the script's last layer is
float32).

1. keras.io / tensorflow.org "Mixed precision" guide (https://www.tensorflow.org/guide/mixed_precision,
   https://keras.io/api/mixed_precision/): ``keras.mixed_precision.set_global_policy("mixed_float16")``, ``inputs =
   keras.Input(shape=(784,))``, two ``Dense(num_units, activation="relu")``, ``Dense(10)``, ``Activation("softmax",
   dtype="float32")``, ``compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.RMSprop(),
   metrics=["accuracy"])``, MNIST ``reshape(60000, 784).astype("float32") / 255``, ``fit(batch_size=8192,
   epochs=5, validation_split=0.2)``. Keras's ``compile`` wraps the optimizer in a ``LossScaleOptimizer``
   (``keras/src/trainers/trainer.py`` 177-186: ``auto_scale_loss`` and a ``"mixed_float16"`` model policy). Here
   96 "images" of 16 pixels, 32 units, batches of 16, 3 epochs; the guide's ``/ 255`` and the common script defect
   without it (raw 0-255 pixels: the float16 kernel gradients overflow, Keras skips steps and halves its scale).
2. The TPU-style ``mixed_bfloat16`` script (keras.io's mixed precision API page: "on TPU ... use
   'mixed_bfloat16'"): a small CNN, ``Conv2D(4, 3, activation="relu")``, ``MaxPooling2D()``, ``Flatten()``,
   ``Dense(10)`` and ``Activation("softmax", dtype="float32")`` (or the softmax left in bfloat16, as many scripts
   do), ``compile(optimizer="adam", loss="sparse_categorical_crossentropy")`` (no loss scaling: Keras wraps only
   under ``mixed_float16``). Here 64 8x8 images, batches of 16, 3 epochs.
3. Keras 3's gradient accumulation, ``optimizer=keras.optimizers.Adam(learning_rate=0.01,
   gradient_accumulation_steps=4)`` with ``fit(batch_size=8)``: a small batch emulating batches of 32. Keras
   updates with the *mean* of the accumulated gradients (``(g + acc_g) / steps``, clipping and weight decay on that
   mean: ``keras/src/optimizers/base_optimizer.py`` 561-571), every 4th step of its own step counter, which runs on
   across epochs (551-554). Here 40 samples (5 batches an epoch), 3 epochs: 3 updates, the last 3 batches never
   applied.
4. Keras's "Parameters common to all optimizers" and the StackOverflow "exploding gradients" answers (``sgd =
   optimizers.SGD(lr=0.01, clipnorm=1.)``, ``sgd = optimizers.SGD(lr=0.01, clipvalue=0.5)``) on an RNN forecasting
   an unscaled series (MSE of thousands, gradient norms of thousands): ``SimpleRNN(16)``, ``Dense(1)``,
   ``loss="mse"``, windows of 10 steps, 48 windows, batches of 16, 3 epochs.

Measured (max relative difference over every history key and epoch; weights norm-wise, max |a - b| / max |b|;
printed by each test; standards: float64 histories within 1e-12, float32 within 1e-3, the float16/bfloat16 runs
within 1e-3):

========================  ============================================  ============================================
script                    torch_impl port                               naive PyTorch port
========================  ============================================  ============================================
1 mixed_float16,          2.4e-4; the same 7 of 15 steps skipped, the   autocast without loss scaling 0.47;
raw 0-255 pixels          scale 2**15 -> 256 and ``iterations`` 8, as   ``torch.amp.GradScaler`` (starts at 2**16:
                          Keras's                                       one skip more) with torch_impl's RMSprop
                                                                        8.4e-2, with ``torch.optim.RMSprop`` 0.26
1 mixed_float16 ``/255``  2.4e-5, no step skipped (``slow``)
2 mixed_bfloat16 CNN      float32 softmax layer 2.4e-6, bfloat16        ``net.bfloat16()`` (weights too) +
                          softmax 9.3e-5 (``slow``); default run: the   ``torch.optim.Adam``: 1.6e-3 off the loss
                          first batch's loss equal, gradients: kernels  curve, 149 of 410 weights never moved in 12
                          equal, biases an ulp apart (5.7e-3 / 6.2e-3)  steps (``slow``)
3 accumulation            float64 history 0.0, weights 9.7e-17; float32 ``loss / 4``, ``step`` every 4 batches of
                          0.0, 5.0e-7 (``slow``); ``iterations`` 3      an epoch: 3.7e-2 (leftover gradients
                                                                        carried into the next epoch) / 5.6e-2
                                                                        (dropped); 32 samples (epochs of 4 batches):
                                                                        9.7e-17 with torch_impl's Adam, 2.3e-4 with
                                                                        ``torch.optim.Adam`` (``slow``)
3 accumulation under      history 1.8e-16, weights 1.0e-16 (``slow``)   the recipe with the same schedule: 2.9e-2
``ExponentialDecay``                                                    (its optimizer counts updates)
4 SGD(clipvalue=0.5)      history 2.8e-16, weights 5.7e-14 (float32:     ``clip_grad_value_`` + ``torch.optim.SGD``:
                          7.6e-8, 1.4e-5) (``slow``); one step 6.4e-15   the port's figures (Keras's ``clipvalue``)
4 SGD(clipnorm=1.0)       history 0.0, weights 1.8e-16 (float32: 0.0,   ``clip_grad_norm_(params, 1.0)``: 0.13 of
                          3.3e-7) (``slow``); one step 1.1e-17          weights that moved 0.15 (float32: 0.11 of
                                                                        0.13); one step: 1.6e-2 of 1.6e-2
========================  ============================================  ============================================

torch_impl matched Keras everywhere; no torch_impl change. What the ports found (each pinned by a test):

* Keras fact, script 1: ``compile`` wraps the optimizer in ``LossScaleOptimizer(optimizer,
  name="loss_scale_optimizer")`` when the *model's* policy is ``"mixed_float16"`` (``keras/src/trainers/
  trainer.py`` 177-186; ``auto_scale_loss=True`` by default), with Keras's defaults ``initial_scale=2**15``,
  ``dynamic_growth_steps=2000`` (``keras/src/optimizers/loss_scale_optimizer.py`` 49-50); under
  ``"mixed_bfloat16"`` the optimizer stays as given. A PyTorch port has to add it by hand:
  ``optim.LossScaleOptimizer(optim.RMSprop(...))`` (torch_impl's ``fit`` calls its ``scale_loss`` and its
  ``step`` skips and halves as Keras's: ``check_finite`` over all gradients, 298-301; the scale halved, 244).
  The guide's ``/ 255`` keeps every scaled gradient finite; without it the float16 kernel gradients of the raw
  pixels overflow at 2**15 and Keras skips 7 of the 15 steps. ``torch.amp.GradScaler`` is not Keras's:
  ``init_scale=2**16`` (one skip more here).
* Port notes, script 1: ``torch.autocast("cpu", dtype=torch.float16)`` inside ``forward`` on float32 weights is
  Keras's ``mixed_float16`` Dense (float32 variables cast to float16, float16 compute), and ``z.float()`` logits
  with ``fit(output_activation="softmax")`` its float32 softmax layer (Keras's loss finds the float32 logits).
  ``torch.optim.RMSprop``'s defaults are not Keras's (``lr=0.01``, ``alpha=0.99``, ``eps=1e-8`` added to the square
  root; Keras: ``learning_rate=0.001``, ``rho=0.9``, ``epsilon=1e-7`` inside it, ``keras/src/optimizers/
  rmsprop.py`` 55-58, 141-146).
* Script 2: Keras's ``mixed_bfloat16`` Conv2D and Dense on TensorFlow's CPU kernels and torch's CPU autocast give
  the same bfloat16 kernel gradients; the bias gradients (summed over the batch in bfloat16 by TensorFlow) are an
  ulp apart, as the README's bfloat16 ``Dense`` note says. The softmax left in bfloat16 trains on the rounded
  probabilities in Keras (its loss casts the output to float32, dropping the logits); torch_impl's ``fit`` given
  bfloat16 logits does the same. Casting the model to bfloat16 (``net.bfloat16()``, the usual "bfloat16 on TPU"
  port) rounds every Adam update into bfloat16 weights: 149 of the 410 weights never move in 12 steps.
* Keras fact, script 3: with ``gradient_accumulation_steps`` Keras averages, ``(g + acc_g) / steps``, then clips
  and decays that mean (``keras/src/optimizers/base_optimizer.py`` 561-571), on its own step counter's multiples
  (551-554), which runs across epochs; ``iterations`` counts updates (196-200), and a learning-rate schedule reads
  the raw steps (docstring, 1176-1177; pinned: ``ExponentialDecay(0.01, 4, 0.5)``, the port equal, the recipe's
  schedule on the update count 2.9e-2 off). The recipe ``loss / accum`` + ``step()`` is the same mean, so without
  a schedule it only differs where the epochs do not divide into groups of 4 batches (here 5 batches an epoch:
  Keras's 2nd update takes the last batch of epoch 1 and the first three of epoch 2).
* Keras fact, script 4: ``clipnorm`` clips *each* gradient to that norm (``_clip_gradients``,
  ``keras/src/optimizers/base_optimizer.py`` 870-874, ``_clip_by_norm`` 1108-1119); ``torch.nn.utils.
  clip_grad_norm_`` clips all of them together, Keras's ``global_clipnorm``: with the script's 5 variables of
  gradient norms 2909, 186, 48, 486 and 126, Keras's step is ``sqrt(5)`` long, the naive one 1 long: the naive
  first step is 1.6e-2 off, as far as the step itself. ``clipvalue`` is element-wise in both
  (``clip_grad_value_`` + ``torch.optim.SGD`` is Keras's run). The SimpleRNN's bias: ``load_keras_weights`` freezes
  torch's ``bias_hh`` at 0 (Keras has one bias variable), so the naive loop clips Keras's 5 gradients too.
* Script defect on Keras 3: the answer's ``optimizers.SGD(lr=0.01, clipnorm=1.)`` raises ``Argument(s) not
  recognized`` (``keras/src/optimizers/base_optimizer.py`` 89-90): ``learning_rate=``; torch_impl's ``SGD`` takes
  ``lr=`` as torch's optimizers do.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402

from parity_tests.test_field_scripts_round2 import DTYPES, _check_history, _precision, _rel  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, optim  # noqa: E402
from torch_impl.nn import keras_weights, load_keras_weights  # noqa: E402
from torch_impl.utils import keras_shuffle_order  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

F64, F32, HALF = 1e-12, 1e-3, 1e-3  # history standards, relative (float64: tighter than DESIGN.md's 1e-8)


@pytest.fixture(autouse=True)
def _restore_global_policy():
    """Each test may set Keras's global dtype policy (``mixed_float16`` / ``mixed_bfloat16``, as the scripts do): set
    back afterwards to the stored value (``None`` when never set: the policy then follows floatx, ``"float32"``), so
    that no later test builds half-precision layers."""
    from keras.src.backend.common import global_state

    previous = global_state.get_global_attribute("dtype_policy")
    yield
    global_state.set_global_attribute("dtype_policy", previous)


def _check(th: dict, kh: dict, tol: float, keys=None) -> float:
    """Every key of Keras's history (or ``keys``), every epoch, within ``tol`` (relative); the worst figure."""
    return _check_history(th, kh, "", keys, tol=tol, same_keys=True)


def _apart(ours, keras_ws) -> float:
    """Norm-wise: max |a - b| over every weight in Keras's layout, over the largest Keras weight."""
    a = np.concatenate([np.asarray(w, np.float64).ravel() for w in ours])
    b = np.concatenate([np.asarray(w, np.float64).ravel() for w in keras_ws])
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def _naive_epochs(net, opt, x, y, n_train: int, batch_size: int, epochs: int, seed: int, loss_fn, scaler=None,
                  clip=None) -> tuple[list, list]:
    """The usual PyTorch loop over the first ``n_train`` samples in Keras's shuffle order (so that only the port's
    own choices differ): ``zero_grad``, ``loss_fn(net(xb), yb)``, ``backward`` (through ``scaler`` if given),
    ``clip(parameters)`` if given, ``step``. Returns the epochs' mean losses (weighted by batch size, as Keras logs
    them) and the global gradient norms ``clip`` returned."""
    order = keras_shuffle_order(n_train, seed)
    xt, yt = torch.as_tensor(x[:n_train][order]), torch.as_tensor(y[:n_train][order])
    params = [p for p in net.parameters() if p.requires_grad]
    history, norms = [], []
    for _ in range(epochs):
        total = 0.0
        for s in range(0, n_train, batch_size):
            xb, yb = xt[s:s + batch_size], yt[s:s + batch_size]
            opt.zero_grad()
            loss = loss_fn(net(xb), yb)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            else:
                loss.backward()
                if clip is not None:
                    out = clip(params)
                    if out is not None:
                        norms.append(float(out))
                opt.step()
            total += loss.item() * len(xb)
        history.append(total / n_train)
    return history, norms


# --------------------------------------------------------------------------------------------------------------
# 1. the mixed precision guide: set_global_policy("mixed_float16"), a float32 softmax layer, RMSprop
# --------------------------------------------------------------------------------------------------------------

N1, D1, UNITS1, CLASSES1, SEED1 = 96, 16, 32, 10, 1


def _guide_data(raw: bool):
    """MNIST-like: integer "pixels" 0-255 in float32, 10 classes; ``/ 255`` as the guide writes it unless ``raw``."""
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (N1, D1)).astype("float32")
    y_train = rng.integers(0, CLASSES1, N1)
    return (x_train if raw else x_train / 255), y_train


@functools.lru_cache(maxsize=None)
def _keras_guide(raw: bool):
    """The guide's script, as written (small shapes), run once per data variant: its history, initial weights,
    optimizer and final loss scale."""
    from keras.src.backend.common import global_state

    x_train, y_train = _guide_data(raw)
    previous = global_state.get_global_attribute("dtype_policy")
    try:
        keras.mixed_precision.set_global_policy("mixed_float16")
        keras.utils.set_random_seed(SEED1)
        inputs = keras.Input(shape=(D1,), name="digits")
        dense1 = layers.Dense(UNITS1, activation="relu", name="dense_1")
        x = dense1(inputs)
        dense2 = layers.Dense(UNITS1, activation="relu", name="dense_2")
        x = dense2(x)
        x = layers.Dense(CLASSES1, name="dense_logits")(x)
        outputs = layers.Activation("softmax", dtype="float32", name="predictions")(x)
        model = keras.Model(inputs=inputs, outputs=outputs)
        model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.RMSprop(),
                      metrics=["accuracy"])
        policies = (dense1.compute_dtype, dense1.variable_dtype, model.layers[-1].compute_dtype)
        w0 = model.get_weights()
        history = model.fit(x_train, y_train, batch_size=16, epochs=3, validation_split=0.2, verbose=0).history
        opt = model.optimizer
        return dict(history=history, w0=w0, policies=policies, opt=type(opt).__name__,
                    inner=type(getattr(opt, "inner_optimizer", opt)).__name__,
                    scale=float(keras.ops.convert_to_numpy(opt.dynamic_scale)), iterations=int(opt.iterations))
    finally:
        global_state.set_global_attribute("dtype_policy", previous)


class _MixedMLP(torch.nn.Module):
    """The guide's model under a mixed policy: float32 weights (Keras's variables), the layers computing in the half
    type (``torch.autocast``, Keras's compute dtype), the logits cast to float32 for the float32 softmax layer
    (``fit(output_activation="softmax")`` applies it)."""

    def __init__(self, half: torch.dtype = torch.float16):
        super().__init__()
        self.half = half
        self.body = torch.nn.Sequential(torch.nn.Linear(D1, UNITS1), torch.nn.ReLU(), torch.nn.Linear(UNITS1, UNITS1),
                                        torch.nn.ReLU(), torch.nn.Linear(UNITS1, CLASSES1))

    def forward(self, x):
        with torch.autocast("cpu", dtype=self.half):
            z = self.body(x)
        return z.float()


def _fit_guide(raw: bool, optimizer):
    x_train, y_train = _guide_data(raw)
    net = load_keras_weights(_MixedMLP(), _keras_guide(raw)["w0"])
    opt = optimizer(net.parameters())
    th = tfit.fit(net, x_train, y_train, loss="sparse_categorical_crossentropy", output_activation="softmax",
                  optimizer=opt, metrics=["accuracy"], batch_size=16, epochs=3, validation_split=0.2, seed=SEED1,
                  verbose=0).history
    return th, opt


@pytest.mark.parametrize("pixels", ["raw", pytest.param("scaled", marks=pytest.mark.slow)])
def test_mixed_float16_guide_like_keras(pixels):
    """The guide's model under ``mixed_float16`` (float32 variables, float16 compute, the float32 softmax layer);
    Keras's ``compile`` wraps ``RMSprop()`` in ``LossScaleOptimizer`` (initial scale 2**15, growth every 2000 steps).
    The port: ``torch.autocast("cpu", torch.float16)`` in ``forward``, ``z.float()`` logits and
    ``optim.LossScaleOptimizer(optim.RMSprop(...))``. With raw 0-255 pixels the scaled float16 kernel gradients
    overflow: Keras skips those steps and halves its scale; the port skips the same steps, ends at the same scale
    and ``iterations``, and logs the same history to float16 rounding."""
    raw = pixels == "raw"
    k = _keras_guide(raw)
    print(f"mixed precision guide, {pixels} pixels: Keras's optimizer {k['opt']}({k['inner']}), Dense compute / "
          f"variable dtype {k['policies'][:2]}, output layer {k['policies'][2]}; Keras scale {k['scale']:g}, "
          f"iterations {k['iterations']} of 15 steps")
    assert k["opt"] == "LossScaleOptimizer" and k["inner"] == "RMSprop"
    assert k["policies"] == ("float16", "float32", "float32")
    th, opt = _fit_guide(raw, lambda p: optim.LossScaleOptimizer(optim.RMSprop(p)))
    print(f"  torch_impl: scale {opt.scale:g}, iterations {opt.iterations}")
    _check(th, k["history"], HALF)
    assert opt.scale == k["scale"] and opt.iterations == k["iterations"]
    if raw:
        assert k["iterations"] < 15 and k["scale"] < 2.0**15  # steps skipped: the point of the variant
    else:
        assert k["iterations"] == 15 and k["scale"] == 2.0**15


def test_mixed_float16_naive_ports_apart():
    """The raw-pixel guide run (Keras's history from ``test_mixed_float16_guide_like_keras``) against the ports a
    PyTorch user writes: autocast without loss scaling (every step taken where Keras skips 7); ``torch.amp.GradScaler``
    (starts at 2**16, not Keras's 2**15: one more step skipped) with torch_impl's RMSprop, and with
    ``torch.optim.RMSprop`` (torch's defaults: ``lr=0.01``, ``alpha=0.99``, ``eps=1e-8`` inside the square root;
    Keras's ``learning_rate=0.001``, ``rho=0.9``, ``epsilon=1e-7``)."""
    k = _keras_guide(True)
    kh = k["history"]
    th, opt = _fit_guide(True, lambda p: optim.RMSprop(p))
    no_scaling = max(_rel(th[key], kh[key]) for key in ("loss", "val_loss"))
    print(f"mixed_float16, raw pixels: the port without LossScaleOptimizer {no_scaling:.2g} off Keras's history "
          f"(iterations {opt.iterations}, Keras {k['iterations']})")
    assert no_scaling > 0.1 and opt.iterations == 15
    x_train, y_train = _guide_data(True)
    figures = {}
    for name, make in (("torch_impl RMSprop", lambda p: optim.RMSprop(p)),
                       ("torch.optim.RMSprop", lambda p: torch.optim.RMSprop(p))):
        net = load_keras_weights(_MixedMLP(), k["w0"])
        scaler = torch.amp.GradScaler("cpu")
        hist, _ = _naive_epochs(net, make(net.parameters()), x_train, y_train, 76, 16, 3, SEED1,
                                torch.nn.functional.cross_entropy, scaler=scaler)
        figures[name] = _rel(hist, kh["loss"])
        print(f"  GradScaler + {name}: losses {np.round(hist, 4).tolist()} (Keras {np.round(kh['loss'], 4).tolist()}),"
              f" {figures[name]:.2g} off; final scale {scaler.get_scale():g}")
    assert figures["torch_impl RMSprop"] > 1e-2 and figures["torch.optim.RMSprop"] > 0.1


# --------------------------------------------------------------------------------------------------------------
# 2. the TPU-style script: set_global_policy("mixed_bfloat16"), a small CNN, Adam
# --------------------------------------------------------------------------------------------------------------

N2, SEED2 = 64, 1


def _cnn_data():
    rng = np.random.default_rng(0)
    return rng.random((N2, 8, 8, 1)).astype("float32"), rng.integers(0, 10, N2)


def _keras_cnn(float32_softmax: bool):
    """The script's model under ``mixed_bfloat16`` (the caller sets and resets the policy)."""
    keras.utils.set_random_seed(SEED2)
    softmax = layers.Activation("softmax", dtype="float32") if float32_softmax else layers.Activation("softmax")
    model = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(),
                              layers.Flatten(), layers.Dense(10), softmax])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class _MixedCNN(torch.nn.Module):
    """``Conv2D(4, 3, relu)``, ``MaxPooling2D()``, ``Flatten()``, ``Dense(10)`` channels-last in, under
    ``torch.autocast("cpu", torch.bfloat16)``; float32 logits for a float32 softmax layer, else bfloat16 ones (then
    ``fit`` trains on the bfloat16 probabilities, as Keras's bfloat16 softmax layer)."""

    def __init__(self, float32_logits: bool = True, autocast: bool = True):
        super().__init__()
        self.float32_logits, self.autocast = float32_logits, autocast
        self.conv = torch.nn.Conv2d(1, 4, 3)
        self.dense = torch.nn.Linear(36, 10)

    def forward(self, x):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.autocast):
            x = x.to(self.conv.weight.dtype).movedim(-1, 1)
            h = torch.nn.functional.max_pool2d(torch.relu(self.conv(x)), 2)
            z = self.dense(h.movedim(1, -1).flatten(1))  # Keras's Flatten: (H, W, C) order
        return z.float() if self.float32_logits else z


def test_mixed_bfloat16_cnn_compile_and_first_loss_like_keras():
    """The default run's part of script 2 (the ``fit`` is ``slow``): under ``mixed_bfloat16`` Keras's ``compile``
    keeps ``Adam`` (no ``LossScaleOptimizer``: bfloat16 has float32's range), the layers compute in bfloat16 on
    float32 variables; the port's loss and its gradients at the initial weights against Keras's (eager, one batch of
    16, the float32 softmax layer)."""
    x, y = _cnn_data()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = _keras_cnn(float32_softmax=True)
    conv = model.layers[0]
    assert type(model.optimizer).__name__ == "Adam"
    assert (conv.compute_dtype, conv.variable_dtype, model.layers[-1].compute_dtype) == ("bfloat16", "float32",
                                                                                        "float32")
    with tf.GradientTape() as tape:
        k_loss = model.compute_loss(x=x[:16], y=y[:16], y_pred=model(x[:16], training=True))
    k_grads = [g.numpy() for g in tape.gradient(k_loss, model.trainable_weights)]
    keras.mixed_precision.set_global_policy("float32")
    net = load_keras_weights(_MixedCNN(), model.get_weights())
    loss_fn = tfit.compiled_loss(losses.SparseCategoricalCrossentropy(), "softmax")
    t_loss = loss_fn(torch.as_tensor(y[:16]), net(torch.as_tensor(x[:16])))
    t_loss.backward()
    t_grads = keras_weights(_grads_as_weights(net))
    per = [_apart([a], [b]) for a, b in zip(t_grads, k_grads)]
    print(f"mixed_bfloat16 CNN, first batch: loss Keras {float(k_loss)!r} torch_impl {t_loss.item()!r} "
          f"(rel {abs(t_loss.item() - float(k_loss)) / float(k_loss):.1e}); gradients apart (norm-wise) conv kernel "
          f"{per[0]:.1e}, conv bias {per[1]:.1e}, dense kernel {per[2]:.1e}, dense bias {per[3]:.1e}")
    assert abs(t_loss.item() - float(k_loss)) <= HALF * float(k_loss)
    # bfloat16 has 8 bits of mantissa (an ulp is 2**-7 relative at most): the bias gradients are summed over the
    # batch in another order (TensorFlow's BiasAddGrad in bfloat16), an ulp apart here
    assert max(per) <= 1e-2


def _grads_as_weights(net: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``net`` holding its gradients as weights (to read them in Keras's layout with ``keras_weights``)."""
    import copy

    clone = copy.deepcopy(net)
    with torch.no_grad():
        for p, q in zip(clone.parameters(), net.parameters()):
            p.copy_(q.grad if q.grad is not None else torch.zeros_like(q))
    return clone


@pytest.mark.slow  # ~2-4 s: Keras traces the CNN's train step
@pytest.mark.parametrize("output", ["float32 softmax", "bfloat16 softmax"])
def test_mixed_bfloat16_cnn_fit_like_keras(output):
    """The script's ``fit`` (64 images, batches of 16, 3 epochs) against the autocast port; with the softmax left in
    bfloat16 Keras's loss casts the bfloat16 probabilities (no logits: it trains on them) and so does torch_impl's
    ``fit`` on bfloat16 logits. The naive port, the whole model cast to bfloat16 (``net.bfloat16()``: the weights
    too) with ``torch.optim.Adam``, is printed beside it."""
    f32 = output == "float32 softmax"
    x, y = _cnn_data()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = _keras_cnn(float32_softmax=f32)
    w0 = model.get_weights()
    kh = model.fit(x, y, batch_size=16, epochs=3, verbose=0).history
    keras.mixed_precision.set_global_policy("float32")
    net = load_keras_weights(_MixedCNN(float32_logits=f32), w0)
    th = tfit.fit(net, x, y, loss="sparse_categorical_crossentropy", output_activation="softmax",
                  optimizer=optim.Adam(net.parameters()), metrics=["accuracy"], batch_size=16, epochs=3, seed=SEED2,
                  verbose=0).history
    print(f"mixed_bfloat16 CNN, {output}:")
    _check(th, kh, HALF)
    naive = load_keras_weights(_MixedCNN(autocast=False), w0).bfloat16()
    before = [p.detach().clone() for p in naive.parameters()]
    hist, _ = _naive_epochs(naive, torch.optim.Adam(naive.parameters()), x, y, N2, 16, 3, SEED2,
                            lambda z, t: torch.nn.functional.cross_entropy(z.float(), t))
    moved = sum(int((p.detach() != b).sum()) for p, b in zip(naive.parameters(), before))
    total = sum(b.numel() for b in before)
    print(f"  naive net.bfloat16() + torch.optim.Adam: losses {np.round(hist, 5).tolist()} "
          f"({_rel(hist, kh['loss']):.1e} off Keras's); {moved} of {total} weights moved in 12 steps")
    assert _rel(hist, kh["loss"]) > 10 * _rel(th["loss"], kh["loss"]) and moved < total


# --------------------------------------------------------------------------------------------------------------
# 3. Adam(gradient_accumulation_steps=4): batches of 8 emulating batches of 32
# --------------------------------------------------------------------------------------------------------------

SEED3 = 3


def _acc_data(n: int, dt: str):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 6)).astype(dt), rng.integers(0, 3, n)


def _acc_model():
    keras.utils.set_random_seed(SEED3)
    return keras.Sequential([keras.Input((6,)), layers.Dense(16, activation="relu"),
                             layers.Dense(3, activation="softmax")])


def _acc_net(w0, tdt):
    return load_keras_weights(torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(),
                                                  torch.nn.Linear(16, 3)).to(tdt), w0)


def _run_accumulation(dt: str, n: int):
    x, y = _acc_data(n, dt)
    with _precision(dt) as tdt:
        model = _acc_model()
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01, gradient_accumulation_steps=4),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        w0 = model.get_weights()
        kh = model.fit(x, y, batch_size=8, epochs=3, verbose=0).history
        net = _acc_net(w0, tdt)
        opt = optim.Adam(net.parameters(), learning_rate=0.01, gradient_accumulation_steps=4)
        th = tfit.fit(net, x, y, loss="sparse_categorical_crossentropy", output_activation="softmax",
                      optimizer=opt, metrics=["accuracy"], batch_size=8, epochs=3, seed=SEED3, verbose=0).history
        naive = {}
        for name, make in (("torch_impl Adam", lambda p: optim.Adam(p, learning_rate=0.01)),
                           ("torch.optim.Adam", lambda p: torch.optim.Adam(p, lr=0.01))):
            for carry in (True, False):
                port = _acc_net(w0, tdt)
                naive[name, carry] = _apart(keras_weights(_naive_accumulation(port, make(port.parameters()), x, y,
                                                                              carry)), model.get_weights())
    return kh, th, model.get_weights(), net, opt, int(model.optimizer.iterations), naive


def _naive_accumulation(net, opt, x, y, carry: bool, accum: int = 4, batch_size: int = 8, epochs: int = 3):
    """The PyTorch recipe: ``loss = criterion(net(xb), yb) / accum``, ``backward``, ``step`` and ``zero_grad`` when
    ``(i + 1) % accum == 0``, ``i`` the batch index in the epoch; ``carry``: ``zero_grad`` only there (an epoch's
    leftover gradients join the next epoch's first update), else also at every epoch's start (dropped)."""
    order = keras_shuffle_order(len(x), SEED3)
    xt, yt = torch.as_tensor(x[order]), torch.as_tensor(y[order])
    for _ in range(epochs):
        if not carry:
            opt.zero_grad()
        for i, s in enumerate(range(0, len(x), batch_size)):
            loss = torch.nn.functional.cross_entropy(net(xt[s:s + batch_size]), yt[s:s + batch_size]) / accum
            loss.backward()
            if (i + 1) % accum == 0:
                opt.step()
                opt.zero_grad()
    return net


@pytest.mark.parametrize("dt", DTYPES)
def test_gradient_accumulation_like_keras(dt):
    """``Adam(learning_rate=0.01, gradient_accumulation_steps=4)``, ``fit(batch_size=8, epochs=3)`` on 40 samples (5
    batches an epoch): Keras updates with the mean of 4 batches' gradients on its 4th, 8th and 12th step, across the
    epochs (its step counter runs on), and never applies the last 3 batches. torch_impl's ``Adam`` with the same
    option inside ``fit``: the same history and weights, ``iterations`` 3 (updates, not steps). The naive PyTorch
    recipe (``loss / 4``, ``step`` every 4 batches of an epoch) averages as Keras does (Keras: ``(g + acc) /
    steps``) but groups the batches by epoch: 4-6% of the largest weight apart after 3 updates, with torch_impl's
    Adam or torch's, whether it carries the leftover gradients into the next epoch or drops them."""
    kh, th, kw, net, opt, k_iter, naive = _run_accumulation(dt, 40)
    print(f"gradient accumulation, {dt}: Keras iterations {k_iter}, torch_impl {opt.iterations}")
    _check(th, kh, F64 if dt == "float64" else F32)
    w = _apart(keras_weights(net), kw)
    print(f"  final weights {w:.1e} apart (norm-wise)")
    assert w <= (1e-14 if dt == "float64" else 1e-5) and opt.iterations == k_iter == 3
    for (name, carry), figure in naive.items():
        print(f"  naive loss / 4 + step every 4 batches, {name}, leftover gradients "
              f"{'carried' if carry else 'dropped'}: final weights {figure:.1e} apart")
        assert figure > 1e-2


@pytest.mark.slow  # another Keras fit; the default run's test shows the grouping by epoch apart
def test_gradient_accumulation_naive_recipe_equal_when_epochs_divide():
    """The same script on 32 samples (4 batches an epoch, so Keras's updates fall on the epochs' ends): the naive
    recipe with torch_impl's ``Adam`` is then Keras's run (the mean of the 4 gradients either way); with
    ``torch.optim.Adam`` only the Adam step differs (``eps`` inside the bias correction)."""
    kh, th, kw, net, opt, k_iter, naive = _run_accumulation("float64", 32)
    _check(th, kh, F64)
    print(f"32 samples: naive recipe, torch_impl Adam {naive['torch_impl Adam', True]:.1e}, torch.optim.Adam "
          f"{naive['torch.optim.Adam', True]:.1e} apart from Keras's final weights")
    assert naive["torch_impl Adam", True] <= 1e-14 and naive["torch_impl Adam", False] <= 1e-14
    assert naive["torch.optim.Adam", True] > 1e-5


# --------------------------------------------------------------------------------------------------------------
# 4. SGD(clipvalue=0.5) / SGD(clipnorm=1.0) on an RNN forecasting an unscaled series
# --------------------------------------------------------------------------------------------------------------

T4, N4, SEED4 = 10, 48, 4


def _series_windows(dt: str):
    """An unscaled monthly series (level 50, trend, yearly season, noise): windows of ``T4`` steps, the next value."""
    t = np.arange(N4 + T4)
    series = 50 + 0.8 * t + 30 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(0).normal(0, 3, len(t))
    X = np.stack([series[i:i + T4] for i in range(N4)])[..., None]
    return X.astype(dt), series[T4:T4 + N4].astype(dt)


class _RNNNet(torch.nn.Module):
    """``SimpleRNN(16)`` + ``Dense(1)``: ``torch.nn.RNN(batch_first=True)`` (``load_keras_weights`` freezes
    ``bias_hh`` at 0: Keras has one bias), the last step's output."""

    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.RNN(1, 16, batch_first=True)
        self.dense = torch.nn.Linear(16, 1)

    def forward(self, x):
        h, _ = self.rnn(x)
        return self.dense(h[:, -1])


def _rnn_model():
    keras.utils.set_random_seed(SEED4)
    return keras.Sequential([keras.Input((T4, 1)), layers.SimpleRNN(16), layers.Dense(1)])


def _clip_kwargs(clip: str) -> dict:
    return {"clipvalue": 0.5} if clip == "clipvalue" else {"clipnorm": 1.0}


def _naive_clip(clip: str):
    if clip == "clipvalue":
        return lambda ps: torch.nn.utils.clip_grad_value_(ps, 0.5)
    return lambda ps: torch.nn.utils.clip_grad_norm_(ps, 1.0)


def test_rnn_clipping_one_step_like_keras():
    """The default run's part of script 4 (the ``fit`` is ``slow``): one ``SGD(learning_rate=0.01, clipnorm=1.0)``
    and one ``clipvalue=0.5`` step of the script's RNN on its first batch (float64), Keras's eager ``apply`` against
    torch_impl's ``SGD`` with the same option and the naive ``clip_grad_norm_`` / ``clip_grad_value_`` +
    ``torch.optim.SGD``. Keras's ``clipnorm`` clips each variable's gradient to norm 1 (5 variables: up to
    ``sqrt(5)`` in all); ``clip_grad_norm_`` clips them together, Keras's ``global_clipnorm``."""
    X, Y = _series_windows("float64")
    with _precision("float64") as tdt:
        model = _rnn_model()
        w0 = model.get_weights()
        with tf.GradientTape() as tape:
            k_loss = keras.ops.mean(keras.losses.mean_squared_error(Y[:16, None], model(X[:16])))
        k_grads = tape.gradient(k_loss, model.trainable_variables)
        norms = [float(np.linalg.norm(g.numpy())) for g in k_grads]
        print(f"SimpleRNN, first batch: loss {float(k_loss):.6g}, Keras's gradient norms per variable "
              f"{np.round(norms, 1).tolist()}")
        assert min(norms) > 1.0  # every variable clipped
        with pytest.raises(ValueError, match="lr"):
            keras.optimizers.SGD(lr=0.01, clipnorm=1.)  # the answer's optimizer, as written
        assert optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.01, clipnorm=1.).learning_rate == 0.01
        for clip in ("clipnorm", "clipvalue"):
            km = _rnn_model()
            kopt = keras.optimizers.SGD(learning_rate=0.01, **_clip_kwargs(clip))
            kopt.apply(k_grads, km.trainable_variables)
            kw = km.get_weights()
            figures = {}
            for name in ("torch_impl", "naive"):
                net = load_keras_weights(_RNNNet().to(tdt), w0)
                ps = [p for p in net.parameters() if p.requires_grad]
                opt = (optim.SGD(ps, learning_rate=0.01, **_clip_kwargs(clip)) if name == "torch_impl"
                       else torch.optim.SGD(ps, lr=0.01))
                loss = torch.nn.functional.mse_loss(net(torch.as_tensor(X[:16]))[:, 0], torch.as_tensor(Y[:16]))
                loss.backward()
                if name == "naive":
                    _naive_clip(clip)(ps)
                opt.step()
                figures[name] = _apart(keras_weights(net), kw)
            moved = _apart(kw, w0)
            print(f"  SGD({clip}): torch_impl {figures['torch_impl']:.1e}, naive {figures['naive']:.1e} apart from "
                  f"Keras's weights after the step (the step moved them {moved:.1e})")
            # the gradients are thousands (4e-13 apart, float64 rounding): an entry below the clip keeps that noise
            assert figures["torch_impl"] <= 1e-13
            if clip == "clipvalue":
                assert figures["naive"] <= 1e-13  # clip_grad_value_ is Keras's clipvalue
            else:
                assert figures["naive"] > 0.1 * moved  # one global norm: a far shorter step


@pytest.mark.slow  # ~2-4 s each: Keras traces the SimpleRNN's loop
@pytest.mark.parametrize("clip", ["clipvalue", "clipnorm"])
@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_rnn_clipping_fit_like_keras(clip, dt):
    """The answer's ``SGD(learning_rate=0.01, clipvalue=0.5)`` / ``SGD(learning_rate=0.01, clipnorm=1.0)`` (the
    answer's ``lr=`` raises in Keras 3) on the RNN (48 windows, batches of 16, 3 epochs): torch_impl's ``SGD`` with
    the same option inside ``fit`` logs Keras's history; the naive loop (``clip_grad_value_`` /
    ``clip_grad_norm_`` + ``torch.optim.SGD``, ``F.mse_loss`` on the ``(N,)`` output, Keras's batch order) against
    Keras's final weights."""
    X, Y = _series_windows(dt)
    with _precision(dt) as tdt:
        model = _rnn_model()
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01, **_clip_kwargs(clip)), loss="mse")
        w0 = model.get_weights()
        kh = model.fit(X, Y, batch_size=16, epochs=3, verbose=0).history
        kw = model.get_weights()
        net = load_keras_weights(_RNNNet().to(tdt), w0)
        th = tfit.fit(net, X, Y, loss="mse", optimizer=optim.SGD(net.parameters(), learning_rate=0.01,
                                                                  **_clip_kwargs(clip)),
                      batch_size=16, epochs=3, seed=SEED4, verbose=0).history
        naive = load_keras_weights(_RNNNet().to(tdt), w0)
        ps = [p for p in naive.parameters() if p.requires_grad]
        hist, norms = _naive_epochs(naive, torch.optim.SGD(ps, lr=0.01), X, Y, N4, 16, 3, SEED4,
                                    lambda z, t: torch.nn.functional.mse_loss(z[:, 0], t), clip=_naive_clip(clip))
    print(f"SimpleRNN, SGD({clip}), {dt}:")
    _check(th, kh, F64 if dt == "float64" else F32)
    w, n = _apart(keras_weights(net), kw), _apart(keras_weights(naive), kw)
    moved = _apart(kw, w0)
    print(f"  final weights: torch_impl {w:.1e}, naive {n:.1e} apart (training moved them {moved:.1e}); naive "
          f"losses {np.round(hist, 3).tolist()}" + (f", global gradient norms {np.round(norms[:4], 1).tolist()}..."
                                                     if norms else ""))
    assert w <= (1e-12 if dt == "float64" else 1e-4)
    if clip == "clipvalue":
        assert n <= (1e-12 if dt == "float64" else 1e-4)
    else:
        assert n > 0.1 * moved


@pytest.mark.slow  # another Keras fit
def test_gradient_accumulation_with_a_schedule_like_keras():
    """Accumulation under a learning-rate schedule, ``Adam(learning_rate=ExponentialDecay(0.01, decay_steps=4,
    decay_rate=0.5), gradient_accumulation_steps=4)``, on 32 samples (the epochs divide): Keras's schedule reads the
    raw step count (steps 3, 7, 11, ... at the updates), not ``iterations``; torch_impl's ``Adam`` with
    ``torch_impl.schedules.ExponentialDecay`` does the same. The naive recipe's optimizer steps once per update, so
    the same schedule there decays 4 times slower (rates at 0, 1, 2, ...)."""
    from torch_impl import schedules

    x, y = _acc_data(32, "float64")
    with _precision("float64") as tdt:
        model = _acc_model()
        sched = keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=4, decay_rate=0.5)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=sched, gradient_accumulation_steps=4),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        w0 = model.get_weights()
        kh = model.fit(x, y, batch_size=8, epochs=3, verbose=0).history
        kw = model.get_weights()

        def tsched():
            return schedules.ExponentialDecay(0.01, decay_steps=4, decay_rate=0.5)

        net = _acc_net(w0, tdt)
        th = tfit.fit(net, x, y, loss="sparse_categorical_crossentropy", output_activation="softmax",
                      optimizer=optim.Adam(net.parameters(), learning_rate=tsched(), gradient_accumulation_steps=4),
                      metrics=["accuracy"], batch_size=8, epochs=3, seed=SEED3, verbose=0).history
        port = _acc_net(w0, tdt)
        _naive_accumulation(port, optim.Adam(port.parameters(), learning_rate=tsched()), x, y, carry=True)
    print("gradient accumulation under ExponentialDecay(0.01, 4, 0.5), float64:")
    _check(th, kh, F64)
    w, n = _apart(keras_weights(net), kw), _apart(keras_weights(port), kw)
    print(f"  final weights: torch_impl {w:.1e}, naive recipe (the schedule at the update count) {n:.1e} apart")
    assert w <= 1e-14 and n > 1e-3

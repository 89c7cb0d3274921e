"""Real "stuck / one class / NaN / diverges only in PyTorch (or only in Keras)" threads, round 27: each thread's
Keras code (small seeded data of its shapes, real Keras 3.15.1), the naive PyTorch port (plain torch: the failure
mode, measured), and the port with torch_impl as the README recommends (Keras's numbers, and the failure mode
present in both or absent in both, asserted).

The threads were read in the stored public copies (``search`` corpora "pages" and "issues"); where a copy cuts a
line, the test says what stands in for it. Sizes are scaled down and said so at each test.

1. tensorflow/tensorflow#32950, "Tensorflow 2.0 AdaDelta Optimizer"
   (https://github.com/tensorflow/tensorflow/issues/32950): a model trained with ``Adadelta`` reaches a far
   higher loss under TF 2.0 than before; the maintainer: "We changed the default learning rate in 2.0 ... can you
   explicitly change the code to: ``opt = tf.keras.optimizers.Adadelta(learning_rate=1.0, ...)``". The stored
   copy cuts the description (the model): Keras's ``mnist_cnn.py`` example, the ``Adadelta()`` script of that era
   (``Conv2D(32, 3, relu)`` -> ``Conv2D(64, 3, relu)`` -> ``MaxPooling2D`` -> ``Flatten`` -> ``Dense(128, relu)``
   -> ``Dense(10, softmax)``, ``categorical_crossentropy``), stands in: ``(8, 8, 1)`` inputs, 4 and 8 filters,
   ``Dense(16)``, 4 classes, no dropout. The torch port: PyTorch's own MNIST example's ``optim.Adadelta`` (torch's
   default ``lr=1.0``).
2. GeoZcx/A-deeply-supervised-image-fusion-network-for-change-detection-in-remote-sensing-images#1, "About
   Sigmoid" (https://github.com/GeoZcx/A-deeply-supervised-image-fusion-network-for-change-detection-in-remote-sensing-images/issues/1):
   the Keras version's sigmoid output + binary crossentropy ported to torch as ``Sigmoid`` + ``nn.BCELoss``;
   the author: "if y_i gets zero, -log(y_i) will be infinitely great"; the reply: ``BCELoss`` clamps its log at
   -100, "so there is no infinity here". The thread has no model lines: ``Dense(16, relu)`` -> ``Dense(1,
   sigmoid)``, ``adam``, on unscaled inputs (features of size 1e5, so every logit starts beyond +-90: the
   saturated regime raw inputs reach) stands in.
3. pytorch/pytorch#6616, "[Adagrad optimization] adding initial_accumulator_value parameter to Adagrad"
   (https://github.com/pytorch/pytorch/pull/6616): porting the pointer-generator network's TensorFlow
   ``AdagradOptimizer`` (``lr=0.15``, ``initial_accumulator_value=0.1``); "the effective learning rate
   lr/sqrt(G_ii + eps) would be very high in the initial phase of optimization if G_ii starts from 0. So to make
   the loss fluctuation smooth, its better to initialize G_ii with some small value". The pointer-generator (an
   LSTM summariser) is far beyond a test: ``Dense(64, relu)`` x2 -> ``Dense(2, softmax)`` with its optimizer
   settings stands in; the torch port: ``torch.optim.Adagrad(lr=0.15)`` (the accumulator from 0, torch's default).
4. keras-team/keras#9938, "Does Keras update learning rate decay every batch or epoch?"
   (https://github.com/keras-team/keras/issues/9938): "In some other frameworks, always learning rate decay every
   epoch. Like this formula lr = lr_0 * 1/(1+decay_rate * epoch_num)"; one answer "On every epoch", the next
   (after keras-team/keras#2808) "it updates per batch". Keras 2's ``SGD(lr, decay=...)`` is ignored by Keras 3
   (a warning, ``keras/src/optimizers/base_optimizer.py`` 85-88); its Keras 3 spelling,
   ``SGD(learning_rate=InverseTimeDecay(lr, decay_steps=1, decay_rate=decay))``, stands in, with ``lr=0.1``,
   ``decay=1.0`` (the thread names no values) on a ``Dense(16, relu)`` -> ``Dense(2, softmax)`` classifier. The
   torch port: the asker's formula as a ``LambdaLR`` stepped once per epoch, as torch's schedulers are.
5. pytorch/pytorch#10243, "Initialization can be surprisingly important, and under-rated"
   (https://github.com/pytorch/pytorch/issues/10243): reproducing a paper's TensorFlow model in PyTorch
   "Flatlined at 50% eval accuracy. On a two-class problem (binary cross-entropy) ... Used their initialization
   formula in my code. Bingo! 70% accuracy". The issue has no model lines: a deep ``Dense(32, tanh)`` x10 ->
   ``Dense(1, sigmoid)``, ``binary_crossentropy``, ``"sgd"`` stands in (Keras's default ``glorot_uniform``
   kernels, zero biases); the torch port: ``nn.Linear`` x10 with ``nn.Tanh`` and torch's default initialisation,
   ``BCEWithLogitsLoss``, ``SGD(lr=0.01)``.

Measured (float64; float32 in brackets, ``slow``): "naive" is the thread's port, "torch_impl" the README's port,
histories compared every epoch (max relative error over every key).

===  ===========================================================  ==============================================
 #   naive port (the failure mode)                                torch_impl
===  ===========================================================  ==============================================
 1   ``optim.Adadelta()`` (rate 1.0): loss 1.32 -> 0.52 in 4      loss, accuracy 0 apart (8.2e-8): Keras's stall
     epochs; Keras's ``Adadelta()`` (rate 0.001): 1.4003 ->       (weights moved 2.9e-5) in both
     1.4000, weights moved 2.9e-5, accuracy 0.195 throughout:
     stuck only in Keras
 2   loss constant 40.625 = 100 x error rate, weights moved       loss, accuracy 1.8e-16 (0): Keras's falling
     3.3e-66 (float32 0.0): stuck, 52 of 128 wrong for ever;      loss and rising accuracy in both, the same
     Keras's accuracy 0.60 -> 0.69, its loss (14012 -> 10359,     predicted-class histogram
     no clamp) falling
 3   step losses 0.63, 5.23, 4.73, 7.77: the first epoch 2.50,    loss, accuracy 0 apart (6.7e-8): Keras's
     4.8x Keras's 0.52; Keras's step losses within 1.13x of its   smooth start in both
     first
 4   loss 0.643 -> 0.475 (rate 0.025 in the last epoch);          loss, accuracy 1.8e-16 (7.6e-8): Keras's
     Keras's 0.675 -> 0.626, its rate 0.1 / 33 after 32 steps:    stall in both; ``optim.SGD(decay=...)`` warns
     stalls only in Keras                                         and ignores it as Keras does
 5   three torch seeds: loss flat at 0.694-0.696 (falls < 3e-4),  ``keras_init_(seed=10)``: Keras's own initial
     accuracy 0.496-0.504, logits' spread <= 2.2e-3: flatlined    weights (0.0 apart); loss, accuracy 1.7e-16
     at 50%; Keras 0.693 -> 0.618, accuracy 0.53 -> 0.70          (9.3e-8): Keras's training in both
===  ===========================================================  ==============================================

Findings.

* 1) The maintainer's diagnosis is right, and the failure is Keras's alone: Keras's ``Adadelta`` defaults to
  ``learning_rate=0.001`` (``keras/src/optimizers/adadelta.py`` 42), PyTorch's to ``lr=1.0`` (Zeiler's form), so a
  script keeping the defaults steps 1000 times shorter in Keras; Adadelta's first steps are
  ``sqrt(eps) / sqrt(g^2 + eps)``-sized, so Keras's weights move 2.9e-5 in 4 epochs and the loss stays at
  ``log(4)``-ish. torch_impl's ``optim.Adadelta()`` has Keras's defaults (README's optimizer table): the same stall.
* 2) Both sides of the thread are right about the loss value and both miss the gradient. ``BCELoss``'s clamp
  keeps the loss finite (100 per wrong row), but the gradient through a saturated ``torch.sigmoid`` is 0 (``p``
  rounds to 1.0, or ``p (1 - p)`` underflows under BCELoss's ``1e-12`` floor): the naive port's weights do not
  move and its loss is the constant ``100 x`` error rate. Keras 3 on TensorFlow hands ``binary_crossentropy`` the
  logits behind the sigmoid (``output._keras_logits``, ``keras/src/backend/tensorflow/nn.py`` 44, taken by
  ``_get_logits`` 1267-1269), whose gradient ``sigmoid(z) - y`` is +-1 on a wrong saturated row: Keras's loss
  (in the thousands, no clamp) falls and its accuracy rises. torch_impl's ``fit(output_activation="sigmoid")``
  does what Keras does (README row "softmax/sigmoid output + crossentropy").
* 3) The PR's reasoning is measurable: torch's Adagrad starts the accumulator at 0, so the first step is
  ``lr * g / (|g| + 1e-10)`` = 0.15 on every weight whatever its gradient, and the loss jumps from 0.63 to
  5.2 - 7.8 over the next steps; Keras's ``Adagrad`` starts at ``initial_accumulator_value=0.1``
  (``keras/src/optimizers/adagrad.py`` 38), so a small gradient ``g`` moves a weight by about
  ``0.15 g / sqrt(0.1)``: no jump. torch_impl's ``optim.Adagrad`` has Keras's accumulator and epsilon.
* 4) The second answer is right: a Keras ``LearningRateSchedule`` is evaluated at the optimizer's iteration count
  (``_get_current_learning_rate``, ``keras/src/optimizers/base_optimizer.py`` 777-781), every batch, so
  ``1 / (1 + decay * t)`` counts batches (33 after one 32-step run here) where the asker's formula (and torch's
  ``LambdaLR`` stepped per epoch) counts epochs: with the same numbers Keras's run stalls, the port trains. A
  Keras 2 script's ``decay=`` argument does neither in Keras 3: it is dropped with a warning (constant rate).
  torch_impl's schedules count optimizer steps as Keras's do; its optimizers warn on ``decay=`` as Keras's.
* 5) The issue's fix is the mechanism: ``nn.Linear``'s default (``kaiming_uniform_(a=sqrt(5))``: weights
  ``U(+-1/sqrt(fan_in))``, variance ``1/(3 fan_in)``) shrinks a tanh layer's signal by about ``sqrt(32/96)`` =
  0.58 per layer, so after 10 layers the logits are constant (spread ~1e-3) and plain SGD's gradients to the early
  layers vanish: 50% accuracy. Keras's ``glorot_uniform`` (variance ``2/(fan_in + fan_out)`` = 1/32 here) keeps
  the signal. ``torch_impl.nn.keras_init_(model, seed=...)`` draws Keras's own initial weights (bit for bit),
  so the port trains as Keras does.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402

from parity_tests.test_field_scripts_round2 import (  # noqa: E402
    DTYPES, _final_check, _histogram, _precision)
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl.nn import load_keras_weights  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]


def _moved(net: torch.nn.Module, before: list) -> float:
    return max(float((p.detach() - b).abs().max()) for p, b in zip(net.parameters(), before))


def _keras_moved(km, initial: list) -> float:
    return max(float(np.abs(a - b).max()) for a, b in zip(km.get_weights(), initial))


# --------------------------------------------------------------------------------------------------------------
# 1. tensorflow/tensorflow#32950: Adadelta's default rate, 0.001 in Keras, 1.0 in PyTorch
# --------------------------------------------------------------------------------------------------------------


class _MnistCNN(torch.nn.Module):
    """``mnist_cnn.py``'s layers, scaled down, on channels-last ``(N, 8, 8, 1)`` inputs: the logits out."""

    def __init__(self, classes=4):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 4, 3)
        self.conv2 = torch.nn.Conv2d(4, 8, 3)
        self.fc1 = torch.nn.Linear(8 * 2 * 2, 16)
        self.fc2 = torch.nn.Linear(16, classes)

    def forward(self, x):
        x = torch.relu(self.conv2(torch.relu(self.conv1(x.permute(0, 3, 1, 2)))))
        x = torch.nn.functional.max_pool2d(x, 2).permute(0, 2, 3, 1).flatten(1)  # Keras's Flatten order (H, W, C)
        return self.fc2(torch.relu(self.fc1(x)))


def _quadrant_images(n=128, seed=27):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, size=n)
    x = rng.normal(size=(n, 8, 8, 1)) * 0.5
    for i, c in enumerate(labels):  # the class is the bright quadrant
        r, q = divmod(int(c), 2)
        x[i, 4 * r:4 * r + 4, 4 * q:4 * q + 4, 0] += 1.5
    return x, np.eye(4)[labels]


@pytest.mark.parametrize("dt", DTYPES)
def test_adadelta_default_rate_stalls_only_in_keras(dt):
    seed, epochs, bs = 27, 4, 32
    x, y = _quadrant_images()
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(4, 3, activation="relu"),
                               layers.Conv2D(8, 3, activation="relu"), layers.MaxPooling2D(), layers.Flatten(),
                               layers.Dense(16, activation="relu"), layers.Dense(4, activation="softmax")])
        km.compile(optimizer=keras.optimizers.Adadelta(), loss="categorical_crossentropy", metrics=["accuracy"])
        initial = km.get_weights()
        kh = km.fit(x, y, batch_size=bs, epochs=epochs, verbose=0).history
        k_moved = _keras_moved(km, initial)
        print(f"\n  Keras Adadelta() (rate {float(km.optimizer.learning_rate):g}): loss "
              f"{np.round(kh['loss'], 4).tolist()} accuracy {np.round(kh['accuracy'], 4).tolist()}; weights moved "
              f"{k_moved:.1e}")
        # stuck: the loss stays at log(4) to 3 decimals, no weight moves by 1e-4
        assert abs(kh["loss"][-1] - kh["loss"][0]) < 2e-3 and k_moved < 1e-4

        # (b) the naive port: PyTorch's MNIST example's optimizer, optim.Adadelta with torch's defaults (lr=1.0)
        net = _MnistCNN()
        load_keras_weights(net, initial)
        opt = torch.optim.Adadelta(net.parameters())
        xt, lt = torch.as_tensor(x, dtype=tdt), torch.as_tensor(y.argmax(1))
        hist = []
        for _ in range(epochs):
            total = 0.0
            for i in range(0, len(x), bs):
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(net(xt[i:i + bs]), lt[i:i + bs])
                loss.backward()
                opt.step()
                total += loss.item() * len(xt[i:i + bs])
            hist.append(total / len(x))
        print(f"  naive port (torch.optim.Adadelta, lr {opt.defaults['lr']}): loss {np.round(hist, 4).tolist()}")
        assert hist[-1] < kh["loss"][-1] - 0.3  # it trains where Keras stalls

        # (c) torch_impl: Keras's Adadelta (rate 0.001, rho 0.95, eps 1e-7): Keras's stall
        load_keras_weights(net, initial)
        before = [p.detach().clone() for p in net.parameters()]
        th = tfit.fit(net, x, y, loss="categorical_crossentropy", optimizer=optim.Adadelta(net.parameters()),
                      output_activation="softmax", metrics=["accuracy"], batch_size=bs, epochs=epochs, seed=seed,
                      verbose=0).history
        _final_check(th, kh, dt)
        t_moved = _moved(net, before)
        print(f"  torch_impl weights moved {t_moved:.1e} (Keras {k_moved:.1e})")
        assert abs(t_moved - k_moved) <= 1e-3 * k_moved


# --------------------------------------------------------------------------------------------------------------
# 2. "About Sigmoid": a saturated sigmoid + nn.BCELoss (clamped at -100) against Keras's logits crossentropy
# --------------------------------------------------------------------------------------------------------------


def _unscaled_data(n=128, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)) * 1e5  # unscaled: every logit of the initial net beyond +-90
    return x, (x[:, 0] - x[:, 1] > 0).astype("float64")[:, None]


@pytest.mark.parametrize("dt", DTYPES)
def test_saturated_sigmoid_bceloss_stuck_only_in_torch(dt):
    seed, epochs, bs = 3, 5, 32
    x, y = _unscaled_data()
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((6,)), layers.Dense(16, activation="relu"),
                               layers.Dense(1, activation="sigmoid")])
        km.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        initial = km.get_weights()
        kh = km.fit(x, y, batch_size=bs, epochs=epochs, verbose=0).history
        print(f"\n  Keras: loss {np.round(kh['loss'], 1).tolist()} accuracy {np.round(kh['accuracy'], 4).tolist()}")
        # Keras trains: the loss (no clamp, in the thousands) falls every epoch, the accuracy rises
        assert (np.diff(kh["loss"]) < 0).all() and kh["accuracy"][-1] > kh["accuracy"][0] + 0.05

        # (b) the thread's port: torch.sigmoid + nn.BCELoss, torch's Adam
        net = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
        load_keras_weights(net, initial)
        xt, yt = torch.as_tensor(x, dtype=tdt), torch.as_tensor(y, dtype=tdt)
        with torch.no_grad():
            z0 = net(xt)
        before = [p.detach().clone() for p in net.parameters()]
        criterion, opt = torch.nn.BCELoss(), torch.optim.Adam(net.parameters())
        hist = []
        for _ in range(epochs):
            total = 0.0
            for i in range(0, len(x), bs):
                opt.zero_grad()
                loss = criterion(torch.sigmoid(net(xt[i:i + bs])), yt[i:i + bs])
                loss.backward()
                opt.step()
                total += loss.item() * len(xt[i:i + bs])
            hist.append(total / len(x))
        with torch.no_grad():
            wrong = int(((net(xt) > 0).to(tdt) != yt).sum())
        moved = _moved(net, before)
        print(f"  naive port: initial |logit| >= {float(z0.abs().min()):.1f}; loss {np.round(hist, 4).tolist()} = "
              f"100 x error rate {100 * wrong / len(x):.4f}; weights moved {moved:.1e}")
        assert np.allclose(hist, 100 * wrong / len(x), rtol=1e-6) and moved < 1e-20

        # (c) torch_impl: the logits out, the sigmoid named: Keras's falling history
        load_keras_weights(net, initial)
        th = tfit.fit(net, x, y, loss="binary_crossentropy", optimizer=optim.Adam(net.parameters()),
                      output_activation="sigmoid", metrics=["accuracy"], batch_size=bs, epochs=epochs, seed=seed,
                      verbose=0).history
        _final_check(th, kh, dt)
        t_pred = (tfit.predict(net, x, output_activation="sigmoid") > 0.5).astype(int).ravel()
        k_pred = (km.predict(x, verbose=0) > 0.5).astype(int).ravel()
        print(f"  predicted classes: Keras {_histogram(k_pred, 2)}, torch_impl {_histogram(t_pred, 2)}")
        assert _histogram(t_pred, 2) == _histogram(k_pred, 2)


# --------------------------------------------------------------------------------------------------------------
# 3. pytorch/pytorch#6616: Adagrad's accumulator from 0 (torch) or 0.1 (TensorFlow / Keras)
# --------------------------------------------------------------------------------------------------------------


def _sum_sign_data(n=128, seed=4):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 10))
    return x, (x[:, :3].sum(1) > 0).astype(int)


@pytest.mark.parametrize("dt", DTYPES)
def test_adagrad_zero_accumulator_jumps_only_in_torch(dt):
    seed, epochs, bs, lr = 4, 3, 16, 0.15
    x, labels = _sum_sign_data()
    y = np.eye(2)[labels]
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((10,)), layers.Dense(64, activation="relu"),
                               layers.Dense(64, activation="relu"), layers.Dense(2, activation="softmax")])
        km.compile(keras.optimizers.Adagrad(lr, initial_accumulator_value=0.1), loss="categorical_crossentropy",
                   metrics=["accuracy"])
        initial = km.get_weights()
        batch_losses = []
        cb = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: batch_losses.append(logs["loss"]))
        kh = km.fit(x, y, batch_size=bs, epochs=epochs, verbose=0, shuffle=False, callbacks=[cb]).history
        # Keras's batch logs are running means over the epoch: the first epoch's step losses recovered from them
        running = np.asarray(batch_losses[:len(x) // bs])
        k_steps = running * np.arange(1, len(running) + 1) - np.concatenate([[0.0], running[:-1] * np.arange(
            1, len(running))])
        print(f"\n  Keras Adagrad({lr}, initial_accumulator_value=0.1): loss {np.round(kh['loss'], 4).tolist()}; "
              f"first epoch's step losses {np.round(k_steps, 3).tolist()}")
        assert k_steps.max() < 1.25 * k_steps[0]  # batch-to-batch noise only, no jump

        # (b) the naive port: torch.optim.Adagrad at the same rate, its accumulator from 0
        net = torch.nn.Sequential(torch.nn.Linear(10, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(),
                                  torch.nn.Linear(64, 2))
        load_keras_weights(net, initial)
        opt = torch.optim.Adagrad(net.parameters(), lr=lr)
        xt, lt = torch.as_tensor(x, dtype=tdt), torch.as_tensor(labels)
        steps, hist = [], []
        for _ in range(epochs):
            total = 0.0
            for i in range(0, len(x), bs):
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(net(xt[i:i + bs]), lt[i:i + bs])
                loss.backward()
                opt.step()
                steps.append(loss.item())
                total += loss.item() * bs
            hist.append(total / len(x))
        print(f"  naive port: first epoch's step losses {np.round(steps[:len(x) // bs], 3).tolist()}; epoch losses "
              f"{np.round(hist, 4).tolist()} ({hist[0] / kh['loss'][0]:.1f}x Keras's first)")
        assert max(steps[1:4]) > 5 * steps[0] and hist[0] > 3 * kh["loss"][0]

        # (c) torch_impl: Keras's Adagrad (accumulator 0.1, eps 1e-7 inside the root): Keras's smooth start
        load_keras_weights(net, initial)
        th = tfit.fit(net, x, y, loss="categorical_crossentropy",
                      optimizer=optim.Adagrad(net.parameters(), learning_rate=lr, initial_accumulator_value=0.1),
                      output_activation="softmax", metrics=["accuracy"], batch_size=bs, epochs=epochs, seed=seed,
                      shuffle=False, verbose=0).history
        _final_check(th, kh, dt)


# --------------------------------------------------------------------------------------------------------------
# 4. keras-team/keras#9938: Keras's learning-rate decay steps every batch, the port's every epoch
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", DTYPES)
def test_inverse_time_decay_per_batch_stalls_only_in_keras(dt):
    from torch_impl import schedules

    seed, epochs, bs, lr, decay = 9, 4, 16, 0.1, 1.0
    x, labels = _sum_sign_data(seed=9)
    y = np.eye(2)[labels]
    with _precision(dt) as tdt:
        # Keras 2's SGD(lr=0.1, decay=1.0) is ignored by Keras 3 (a warning); its Keras 3 spelling is the schedule
        with pytest.warns(UserWarning, match="`decay` is no longer supported"):
            keras.optimizers.SGD(learning_rate=lr, decay=decay)
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((10,)), layers.Dense(16, activation="relu"),
                               layers.Dense(2, activation="softmax")])
        schedule = keras.optimizers.schedules.InverseTimeDecay(lr, decay_steps=1, decay_rate=decay)
        km.compile(keras.optimizers.SGD(learning_rate=schedule), loss="categorical_crossentropy",
                   metrics=["accuracy"])
        initial = km.get_weights()
        kh = km.fit(x, y, batch_size=bs, epochs=epochs, verbose=0, shuffle=False).history
        k_rate = float(km.optimizer.learning_rate)
        print(f"\n  Keras SGD(InverseTimeDecay({lr}, 1, {decay})): loss {np.round(kh['loss'], 4).tolist()} accuracy "
              f"{np.round(kh['accuracy'], 4).tolist()}; rate after {epochs * len(x) // bs} steps {k_rate:.4f}")

        # (b) the naive port: the asker's lr_0 / (1 + decay * epoch), stepped once per epoch (torch's convention)
        net = torch.nn.Sequential(torch.nn.Linear(10, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
        load_keras_weights(net, initial)
        opt = torch.optim.SGD(net.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 1.0 / (1.0 + decay * epoch))
        xt, lt = torch.as_tensor(x, dtype=tdt), torch.as_tensor(labels)
        hist = []
        for _ in range(epochs):
            total = 0.0
            for i in range(0, len(x), bs):
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(net(xt[i:i + bs]), lt[i:i + bs])
                loss.backward()
                opt.step()
                total += loss.item() * bs
            sched.step()
            hist.append(total / len(x))
        print(f"  naive port (LambdaLR per epoch): loss {np.round(hist, 4).tolist()}; rate in the last epoch "
              f"{lr / (1 + decay * (epochs - 1)):.4f}")
        # Keras's rate is 1/33 of the start by the last step: its loss falls by a fraction of the port's
        assert kh["loss"][0] - kh["loss"][-1] < 0.5 * (hist[0] - hist[-1]) and hist[-1] < kh["loss"][-1] - 0.05

        # (c) torch_impl: Keras's schedule, evaluated at the optimizer's step count: Keras's stall
        load_keras_weights(net, initial)
        opt = optim.SGD(net.parameters(), learning_rate=schedules.InverseTimeDecay(lr, decay_steps=1,
                                                                                   decay_rate=decay))
        th = tfit.fit(net, x, y, loss="categorical_crossentropy", optimizer=opt, output_activation="softmax",
                      metrics=["accuracy"], batch_size=bs, epochs=epochs, seed=seed, shuffle=False,
                      verbose=0).history
        _final_check(th, kh, dt)
        with pytest.warns(UserWarning, match="`decay` is no longer supported"):
            optim.SGD(net.parameters(), learning_rate=lr, decay=decay)


# --------------------------------------------------------------------------------------------------------------
# 5. pytorch/pytorch#10243: a deep net flatlines at 50% with torch's default init, trains with Keras's glorot
# --------------------------------------------------------------------------------------------------------------


def _deep_tanh_torch(depth=10, width=32, n_in=10) -> torch.nn.Sequential:
    mods, d = [], n_in
    for _ in range(depth):
        mods += [torch.nn.Linear(d, width), torch.nn.Tanh()]
        d = width
    return torch.nn.Sequential(*mods, torch.nn.Linear(d, 1))


def _xor_like_data(n=256, seed=10):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 10))
    return x, (x[:, 0] * x[:, 1] + x[:, 2] > 0).astype("float64")[:, None]


@pytest.mark.parametrize("dt", DTYPES)
def test_torch_default_init_flatlines_deep_net(dt):
    from torch_impl.nn import keras_init_

    seed, epochs, bs, depth = 10, 5, 32, 10
    x, y = _xor_like_data()
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((10,))] + [layers.Dense(32, activation="tanh") for _ in range(depth)]
                              + [layers.Dense(1, activation="sigmoid")])
        km.compile("sgd", loss="binary_crossentropy", metrics=["accuracy"])
        initial = km.get_weights()
        kh = km.fit(x, y, batch_size=bs, epochs=epochs, verbose=0).history
        print(f"\n  Keras (glorot_uniform, zero biases): loss {np.round(kh['loss'], 4).tolist()} accuracy "
              f"{np.round(kh['accuracy'], 4).tolist()}")
        assert kh["loss"][0] - kh["loss"][-1] > 0.05 and kh["accuracy"][-1] > 0.65

        # (b) the naive port: nn.Linear's default init (kaiming_uniform(a=sqrt(5)): U(+-1/sqrt(fan_in)), biases
        # too), three torch seeds; SGD(0.01) as Keras's "sgd"
        xt, yt = torch.as_tensor(x, dtype=tdt), torch.as_tensor(y, dtype=tdt)
        for s in range(3):
            torch.manual_seed(s)
            net = _deep_tanh_torch(depth)
            opt, crit = torch.optim.SGD(net.parameters(), lr=0.01), torch.nn.BCEWithLogitsLoss()
            hist = []
            for _ in range(epochs):
                total = 0.0
                for i in range(0, len(x), bs):
                    opt.zero_grad()
                    loss = crit(net(xt[i:i + bs]), yt[i:i + bs])
                    loss.backward()
                    opt.step()
                    total += loss.item() * bs
                hist.append(total / len(x))
            with torch.no_grad():
                out = net(xt)
            acc = float(((out > 0).to(tdt) == yt).to(tdt).mean())
            print(f"  naive port, torch seed {s}: loss {np.round(hist, 4).tolist()} accuracy {acc:.4f}; the logits' "
                  f"spread {float(out.std()):.1e}")
            assert hist[0] - hist[-1] < 0.005 and abs(acc - 0.5) < 0.05 and float(out.std()) < 1e-2  # flat at 50%

        # (c) torch_impl: keras_init_(seed=...) draws Keras's own initial weights; fit: Keras's history
        net = keras_init_(_deep_tanh_torch(depth), seed=seed)
        port = [p.detach().numpy() for p in net.parameters()]
        apart = max(float(np.abs((w.T if w.ndim == 2 else w) - p).max()) for w, p in zip(initial, port))
        print(f"  torch_impl keras_init_(seed={seed}): initial weights {apart:.1e} from Keras's")
        assert apart == 0.0
        th = tfit.fit(net, x, y, loss="binary_crossentropy", optimizer=optim.SGD(net.parameters()),
                      output_activation="sigmoid", metrics=["accuracy"], batch_size=bs, epochs=epochs, seed=seed,
                      verbose=0).history
        _final_check(th, kh, dt)

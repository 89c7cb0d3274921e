"""Real "stuck / one class / NaN / diverges only in PyTorch (or only in Keras)" questions, round 21: each question's
Keras code (small seeded data of its shapes, real Keras 3.15.1), the asker's naive PyTorch port (plain torch: the
failure mode, measured), and the port with torch_impl as the README recommends (Keras's numbers, and the failure
mode present in both or absent in both, asserted).

The threads were read in the stored public copies (``search`` corpora "pages" and "issues"); where a copy cuts a line, the test
says what stands in for it. Sizes are scaled down and said so at each test.

1. StackOverflow "Why does a binary Keras CNN always predict 1?" (copies
   https://whosebug.com/question/2796462/Why-does-a-binary-Keras-CNN-always-predict-1 and
   https://geek-questions.imtqy.com/articles/1270335/index.html): ``Convolution1D(16, 4, "same")`` ->
   ``LeakyReLU`` -> ``Convolution1D(8, 4, "same")`` -> ``LeakyReLU`` -> ``Flatten`` -> ``Dense(64)`` ->
   ``LeakyReLU`` -> ``Dense(1)`` -> ``Activation("softmax")``, ``binary_crossentropy``, ``adam``, ``accuracy``, on
   ``(N, 10, 4)`` inputs; the confusion matrix ``[[0, 362], [0, 608]]``. The question's BatchNormalization and
   Dropout layers are left out (they do not touch the mechanism). The question has no torch code; the port the
   model's lines translate to: ``nn.Conv1d``, ``nn.LeakyReLU()``, ``torch.softmax(x, dim=1)``, ``nn.BCELoss``,
   ``torch.optim.Adam``.
2. PyTorch forums, "400% higher error with PyTorch compared with identical Keras model (with Adam optimizer)"
   (https://discuss.pytorch.org/t/400-higher-error-with-pytorch-compared-with-identical-keras-model-with-adam-optimizer/160720):
   ``Xtrain = np.random.normal(0, 1, size=(7000, 10))``, ``ytrain = np.sum(np.sin(Xtrain), axis=1)`` scaled by
   ``MinMaxScaler``, one hidden layer, Adam, MSE. The stored copy cuts the model lines: ``Dense(64, "relu")`` ->
   ``Dense(1)`` and its ``nn.Linear`` port stand in; 700 samples instead of 7000.
3. PyTorch forums, "How to avoid -inf while implementing binary cross entropy loss?" (zihaog, 2021-09-14; stored
   copy in the ``nvidia/Nemotron-CC-Math-v1`` pages): ``prob = torch.softmax(output, dim=1); loss =
   torch.sum(-torch.log(prob) * gt, dim=1); loss = torch.mean(loss)`` on an ``(N, 2)`` output with one-hot ``gt``,
   "sometimes the BCE loss hits -inf" when the model is over-confident (``[[-100, 100]]``). The Keras model the
   formula stands for: ``Dense(2, "softmax")`` + ``categorical_crossentropy``; over-confident logits come from
   unscaled inputs (features of size 1e3; 150 in float32).
4. StatsExchange 481881, "Convolutional neural network fails even when given answer"
   (https://stats.stackexchange.com/questions/481881): ``Conv2D(30, 3, relu)`` -> ``Conv2D(64, 3, relu)`` ->
   ``Flatten`` -> ``Dense(1, activation="softmax")``, ``compile("adam", loss="categorical_crossentropy",
   metrics=["accuracy"])``, the label copied into an input channel; "predicts true for everything". Inputs
   ``(9, 7, 2)`` instead of ``(99, 25, 2)``, 4 and 8 filters. No torch code in the question: the two ports a torch
   user writes for "categorical crossentropy", ``F.cross_entropy(logits, y)`` and ``-(y * log(softmax)).sum(1)``.
5. StackOverflow 57200621, "Model not training and negative loss when whitening input data" (copies
   https://coderoad.ru/57200621/ and https://www.whosebug.com/question/4528606/Model-not-training-and-negative-loss-when-whitening-input-data):
   the Keras docs' paired ``ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True, ...)``
   for images and masks, ``loss: -2.5572e+00``, "the model is not training". The copy has no model lines: a
   ``Conv2D(4, 3, "same", relu)`` -> ``Conv2D(1, 1, sigmoid)`` net with ``binary_crossentropy`` and
   ``Adam(0.05)`` stands in, the masks standardised over the data set as the generator's ``fit`` does (the
   augmentation left out); the torch port: ``torch.sigmoid`` + ``nn.BCELoss``.
6. pytorch/pytorch#104776, "torch.nn.CrossEntropyLoss: class weighting changes label_smoothing"
   (https://github.com/pytorch/pytorch/issues/104776): a two-layer net whose input is the label one-hot, class
   weights from scikit-learn's "balanced", ``nn.CrossEntropyLoss(weight=..., label_smoothing=...)``: "training
   accuracy drops to 0.0008 because the network always puts 0.9147 probability on the rare class". The stored
   copy cuts the code after the class weights: 200 samples 190/10, ``Dense(16, relu)`` -> ``Dense(2)``,
   smoothing 0.2, ``Adam(0.01)`` stand in. The Keras side (what the asker expected): ``fit(class_weight=...)``
   with ``CategoricalCrossentropy(from_logits=True, label_smoothing=0.2)``.

Measured (float64; float32 in brackets, ``slow``): "naive" is the question's port, "torch_impl" the README's port,
histories compared every epoch (max relative error over every key).

===  ===========================================================  ==============================================
 #   naive port (the failure mode)                                torch_impl
===  ===========================================================  ==============================================
 1   loss constant 46.875 = 100 x negative rate, no weight moves  loss, accuracy 1.6e-16 (9.2e-8); Keras's loss
     (0.0 apart after 3 epochs), all 128 predicted 1; Keras's     falls 0.705 -> 0.638 and all 128 predicted 1 in
     loss falls while its predictions stay 1                      both
 2   real MSE 0.0496, 2.0x Keras's 0.0249 and above the targets'  loss 0 apart (1.2e-7); real MSE 0 apart (1.5e-8)
     variance 0.0306 (worse than predicting the mean); 132
     broadcast warnings
 3   loss NaN at step 0 (``0 * -log(0)``), weights NaN after      loss, accuracy 2.1e-16 (8.9e-8): finite
     step 1; Keras finite (542.4, 522.5, 503.4)                   (Keras's logits crossentropy); the same
                                                                  predicted-class histogram
 4   ``F.cross_entropy``: IndexError (target 1 out of bounds);    loss exactly 0 every epoch as Keras's;
     the formula: loss 0, no weight moves; Keras: loss 0 too,     weights after training 2.8e-17 from Keras's
     but its weights move (1.2e-2), all predicted 1               (float32 2.2e-8), all predicted 1 in both
 5   ``nn.BCELoss`` raises "all elements of target should be      loss 6.1e-16 (2.4e-7): Keras's negative,
     between 0 and 1"; Keras's loss 0.59 -> -8.94 in 10 epochs,   ever-falling loss in both
     falling every epoch (no floor)
 6   all 200 inputs predicted as the rare class, p(rare | a       loss 1.7e-16 (1.8e-7), accuracy 0: all 200
     majority input) 0.678; Keras: 190/10 predicted, accuracy 1   correct in both
===  ===========================================================  ==============================================

Findings.

* 1) The accepted answer ("a softmax over one unit always outputs 1") explains the predictions, not the training:
  Keras 3 on TensorFlow hands ``binary_crossentropy`` the *logits* behind the softmax (``output._keras_logits``,
  ``keras/src/backend/tensorflow/nn.py`` 172, taken by ``_get_logits`` 1267-1269 whatever the activation), so
  Keras trains a sigmoid model on those logits: its loss falls while every prediction stays 1.0 and the accuracy
  stays the positive rate. The naive port's one-unit ``softmax`` has a zero gradient and ``nn.BCELoss`` clamps
  ``log(0)`` at -100: its loss is the constant ``100 * (negative rate)`` and no weight moves (stuck only in
  PyTorch; one class in both). torch_impl's ``fit(output_activation="softmax")`` attaches the logits like Keras.
  Also measured: Keras's ``LeakyReLU`` layer defaults to ``negative_slope=0.3``
  (``keras/src/layers/activations/leaky_relu.py`` 38), torch's ``nn.LeakyReLU()`` to 0.01; a port with
  ``torch.nn.LeakyReLU(0.3)`` is 3.3e-9 off in float64 (TensorFlow's float32 slope), ``torch_impl.nn.LeakyReLU``
  1.6e-16.
* 2) The thread's suspects (Adam, initialisation, epsilon) are not the cause: the ``(N, 1)`` output against
  ``(N,)`` targets makes ``nn.MSELoss`` broadcast to ``(B, B)`` (a warning only), whose minimiser pulls every
  prediction towards the batch's mean target: the naive port ends worse than a constant prediction of the mean.
  torch_impl's ``"mse"`` aligns the ranks as Keras does.
* 3) The forum answer (use the built-in losses) is right, and Keras does it without being asked: the softmax
  output's logits go to a logits crossentropy, so its loss stays finite. The hand-written ``-log(softmax) * gt``
  is NaN before it is ``inf``: the non-label class's probability underflows to 0 first, and ``0 * inf`` is NaN.
* 2, measured one difference at a time) With only the targets reshaped to ``(B, 1)`` and torch's own Adam kept,
  the port's real MSE is within 3.3e-2 (float32 2.7e-2) of Keras's: Adam is not the cause.
* 4) The answer (one-unit softmax is always 1) is right about the predictions; what it does not say: Keras's loss
  is 0 from the first step (the crossentropy over one class), yet its weights keep moving, because TensorFlow's
  softmax-crossentropy gradient is ``softmax(z) - y`` = 1 on every negative row (the README's "target rows not
  summing to 1" row). The hand-written torch formula has an exactly zero gradient (softmax over one unit), so it
  is frozen; ``F.cross_entropy`` refuses class index 1 of a one-column output. torch_impl follows TensorFlow's
  gradient (and warns, as Keras does, that ``num_classes`` is 1).
* 5) The answer (don't standardise the masks) is right; the mechanism: Keras's ``binary_crossentropy`` on a
  sigmoid output runs ``sigmoid_cross_entropy_with_logits``, ``max(x, 0) - x z + log(1 + exp(-|x|))``, which
  for a label ``z > 1`` or ``z < 0`` has no minimum (it falls like ``-(z - 1) x`` or ``z x``): the loss
  diverges to minus infinity while the model learns nothing useful. PyTorch's ``BCELoss`` checks the targets and
  refuses them, so the failure is loud only in PyTorch; torch_impl takes the labels as Keras does (divergence in
  both).
* 6) The issue's diagnosis is right and measurable: torch weighs each *class term* of the smoothed target,
  ``sum_c w_c q_c (-log p_c)``, so a majority sample's smoothing mass on the rare class is multiplied by the
  rare class's weight; its optimum is ``p(rare) = w_1 s/2 / (w_0 (1 - s/2) + w_1 s/2)`` = 0.678 here (the
  trained net: 0.678), above 0.5, so every input is predicted rare. Keras's ``class_weight`` is a per-sample
  weight of the sample's own class times the whole smoothed crossentropy: the optimum stays the smoothed target
  (0.9 / 0.1), every prediction right.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402

from parity_tests.test_field_scripts_round2 import (  # noqa: E402
    DTYPES, _check_history, _final_check, _histogram, _precision, _rel)
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, optim  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl.nn import load_keras_weights  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]



# --------------------------------------------------------------------------------------------------------------
# 1. "Why does a binary Keras CNN always predict 1?": Dense(1) + softmax + binary_crossentropy
# --------------------------------------------------------------------------------------------------------------


class _QuestionCNN(torch.nn.Module):
    """The question's layers in torch on ``(N, 10, 4)`` inputs (channels last, as Keras's): the logits out."""

    def __init__(self, act: torch.nn.Module):
        super().__init__()
        self.conv1 = torch.nn.Conv1d(4, 16, 4, padding="same")
        self.conv2 = torch.nn.Conv1d(16, 8, 4, padding="same")
        self.fc1 = torch.nn.Linear(80, 64)
        self.fc2 = torch.nn.Linear(64, 1)
        self.act = act

    def forward(self, x):
        x = self.act(self.conv1(x.transpose(1, 2)))
        x = self.act(self.conv2(x))
        x = x.transpose(1, 2).flatten(1)  # Keras's Flatten order (steps, channels)
        return self.fc2(self.act(self.fc1(x)))


def _cnn_data(n=128, seed=21):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 10, 4))  # the question's rows are prices near -1.06; standardised here
    y = (x[:, -1, :].mean(1) > x[:, 0, :].mean(1)).astype("float64")[:, None]
    return x, y


@pytest.mark.parametrize("dt", DTYPES)
def test_one_unit_softmax_with_binary_crossentropy(dt):
    seed, epochs, bs = 21, 3, 32
    x, y = _cnn_data()
    pos = float(y.mean())
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((10, 4)), layers.Conv1D(16, 4, padding="same"), layers.LeakyReLU(),
                               layers.Conv1D(8, 4, padding="same"), layers.LeakyReLU(), layers.Flatten(),
                               layers.Dense(64), layers.LeakyReLU(), layers.Dense(1), layers.Activation("softmax")])
        km.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        initial = km.get_weights()
        kh = km.fit(x, y, batch_size=bs, epochs=epochs, verbose=0).history
        k_pred = (km.predict(x, verbose=0) > 0.5).astype(int).ravel()
        print(f"\n  Keras: loss {np.round(kh['loss'], 4).tolist()} accuracy {np.round(kh['accuracy'], 4).tolist()} "
              f"(positive rate {pos:.4f}); predicted classes {_histogram(k_pred, 2)}")
        # Keras trains the logits behind the softmax while every prediction stays 1
        assert kh["loss"][-1] < kh["loss"][0] - 0.03
        assert _histogram(k_pred, 2) == [0, len(x)] and np.allclose(kh["accuracy"], pos)

        # (b) the naive port: nn.LeakyReLU() (slope 0.01), softmax over one unit, nn.BCELoss, torch's Adam
        net = _QuestionCNN(torch.nn.LeakyReLU())
        load_keras_weights(net, initial)
        before = [p.detach().clone() for p in net.parameters()]
        criterion, opt = torch.nn.BCELoss(), torch.optim.Adam(net.parameters())
        xt, yt = torch.as_tensor(x, dtype=tdt), torch.as_tensor(y, dtype=tdt)
        hist = []
        for _ in range(epochs):
            total = 0.0
            for i in range(0, len(x), bs):
                opt.zero_grad()
                loss = criterion(torch.softmax(net(xt[i:i + bs]), dim=1), yt[i:i + bs])
                loss.backward()
                opt.step()
                total += loss.item() * len(xt[i:i + bs])
            hist.append(total / len(x))
        moved = max(float((p.detach() - b).abs().max()) for p, b in zip(net.parameters(), before))
        n_pred = (torch.softmax(net(xt), dim=1) > 0.5).int().numpy().ravel()
        print(f"  naive port: loss {np.round(hist, 4).tolist()} = 100 * negative rate {100 * (1 - pos):.4f}; "
              f"weights moved {moved:.1e}; predicted classes {_histogram(n_pred, 2)}")
        assert np.allclose(hist, 100 * (1 - pos), rtol=1e-6) and moved == 0.0
        assert _histogram(n_pred, 2) == [0, len(x)]

        # (c) torch_impl: the logits out, Keras's activation named; Keras's loss curve, the same stuck predictions
        net = _QuestionCNN(tnn.LeakyReLU())  # Keras's layer: slope 0.3 (TensorFlow's float32 0.3), torch's 0.01
        load_keras_weights(net, initial)
        th = tfit.fit(net, x, y, loss="binary_crossentropy", optimizer=optim.Adam(net.parameters()),
                      output_activation="softmax", metrics=["accuracy"], batch_size=bs, epochs=epochs, seed=seed,
                      verbose=0).history
        _final_check(th, kh, dt)
        t_pred = (tfit.predict(net, x, output_activation="softmax") > 0.5).astype(int).ravel()
        print(f"  torch_impl predicted classes {_histogram(t_pred, 2)}")
        assert _histogram(t_pred, 2) == _histogram(k_pred, 2)


# --------------------------------------------------------------------------------------------------------------
# 2. "400% higher error with PyTorch compared with identical Keras model": (N, 1) outputs, (N,) targets
# --------------------------------------------------------------------------------------------------------------


def _sin_data(n=700, seed=0):
    from sklearn.preprocessing import MinMaxScaler

    rng = np.random.RandomState(seed)  # the question's np.random.seed(0) stream
    x = rng.normal(0, 1, size=(n, 10))
    y = np.sum(np.sin(x), axis=1)
    y = MinMaxScaler().fit_transform(y.reshape(-1, 1)).ravel()  # (N,) targets, as the question's loader gives
    return x, y


@pytest.mark.parametrize("dt", DTYPES)
def test_regression_mse_broadcast_predicts_the_mean(dt):
    seed, epochs, bs = 0, 6, 32
    x, y = _sin_data()
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((10,)), layers.Dense(64, activation="relu"), layers.Dense(1)])
        km.compile(optimizer="adam", loss="mse")
        initial = km.get_weights()
        kh = km.fit(x, y, batch_size=bs, epochs=epochs, verbose=0).history
        k_out = km.predict(x, verbose=0).ravel()
        k_mse = float(np.mean((k_out - y) ** 2))

        # (b) the naive port: nn.MSELoss(output (B, 1), target (B,)), torch's Adam, batches in order
        net = torch.nn.Sequential(torch.nn.Linear(10, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
        load_keras_weights(net, initial)
        criterion, opt = torch.nn.MSELoss(), torch.optim.Adam(net.parameters())
        xt, yt = torch.as_tensor(x, dtype=tdt), torch.as_tensor(y, dtype=tdt)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(epochs):
                for i in range(0, len(x), bs):
                    opt.zero_grad()
                    criterion(net(xt[i:i + bs]), yt[i:i + bs]).backward()
                    opt.step()
        with torch.no_grad():
            n_out = net(xt).numpy().ravel()
        n_mse = float(np.mean((n_out - y) ** 2))
        spread = float(n_out.std() / k_out.std())
        print(f"\n  Keras: loss {np.round(kh['loss'], 5).tolist()}; real MSE Keras {k_mse:.5f}, naive port {n_mse:.5f} "
              f"({n_mse / k_mse:.1f}x); the naive predictions' spread {spread:.2f} of Keras's (targets' std "
              f"{y.std():.4f}, mean {y.mean():.4f}, naive predictions' mean {n_out.mean():.4f}); "
              f"broadcast warnings {sum('target size' in str(w.message) for w in caught)}")
        # worse than predicting the mean (the targets' variance), where Keras is below it
        print(f"  targets' variance {y.var():.5f}")
        assert n_mse > 1.5 * k_mse and n_mse > y.var() > k_mse
        assert any("target size" in str(w.message) for w in caught)
        # one difference fixed: the targets as (B, 1), torch's Adam (eps 1e-8) and all else as before
        load_keras_weights(net, initial)
        opt = torch.optim.Adam(net.parameters())
        for _ in range(epochs):
            for i in range(0, len(x), bs):
                opt.zero_grad()
                criterion(net(xt[i:i + bs]), yt[i:i + bs, None]).backward()
                opt.step()
        with torch.no_grad():
            f_mse = float(np.mean((net(xt).numpy().ravel() - y) ** 2))
        print(f"  the shape fixed, torch's Adam kept: real MSE {f_mse:.5f} ({_rel(f_mse, k_mse):.1e} from Keras's)")
        assert _rel(f_mse, k_mse) < 0.05

        # (c) torch_impl: Keras's rank alignment; Keras's history
        load_keras_weights(net, initial)
        th = tfit.fit(net, x, y, loss="mse", optimizer=optim.Adam(net.parameters()), batch_size=bs,
                      epochs=epochs, seed=seed, verbose=0).history
        _final_check(th, kh, dt)
        t_out = tfit.predict(net, x).ravel()
        t_mse = float(np.mean((t_out - y) ** 2))
        print(f"  torch_impl real MSE {t_mse:.6f} (rel {_rel(t_mse, k_mse):.1e})")
        assert _rel(t_mse, k_mse) <= (1e-8 if dt == "float64" else 1e-3)


# --------------------------------------------------------------------------------------------------------------
# 3. "How to avoid -inf while implementing binary cross entropy loss?": -log(softmax) by hand
# --------------------------------------------------------------------------------------------------------------


def _confident_data(n=96, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)) * 1e3  # unscaled features: logits in the hundreds at the first step
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    return x, np.eye(2)[y]


@pytest.mark.parametrize("dt", DTYPES)
def test_hand_written_log_softmax_goes_inf_then_nan(dt):
    seed, epochs, bs = 3, 3, 32
    x, gt = _confident_data()
    # the logits must overflow the softmax: exp underflows below -745 (float64) / -104 (float32)
    scale = 1.0 if dt == "float64" else 0.15
    x = x * scale
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((6,)), layers.Dense(16, activation="relu"),
                               layers.Dense(2, activation="softmax")])
        km.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        initial = km.get_weights()
        kh = km.fit(x, gt, batch_size=bs, epochs=epochs, verbose=0).history
        k_pred = km.predict(x, verbose=0).argmax(1)
        print(f"\n  Keras: loss {np.round(kh['loss'], 3).tolist()} accuracy {np.round(kh['accuracy'], 4).tolist()}; "
              f"predicted classes {_histogram(k_pred, 2)}")
        assert np.isfinite(kh["loss"]).all()

        # (b) the question's loss in a plain torch loop
        net = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
        load_keras_weights(net, initial)
        opt = torch.optim.Adam(net.parameters())
        xt, gtt = torch.as_tensor(x, dtype=tdt), torch.as_tensor(gt, dtype=tdt)
        first_bad = first_nan = None
        step = 0
        for _ in range(epochs):
            for i in range(0, len(x), bs):
                opt.zero_grad()
                prob = torch.softmax(net(xt[i:i + bs]), dim=1)
                loss = torch.sum(-torch.log(prob) * gtt[i:i + bs], dim=1)
                loss = torch.mean(loss)
                if first_bad is None and not torch.isfinite(loss):
                    first_bad = (step, loss.item())  # inf at the label's 0, NaN (0 * inf) elsewhere
                loss.backward()
                opt.step()
                step += 1
                if first_nan is None and any(torch.isnan(p).any() for p in net.parameters()):
                    first_nan = step
        print(f"  naive port: first non-finite loss (step, value) {first_bad}; weights NaN after step {first_nan}")
        assert first_bad is not None and first_bad[0] == 0 and first_nan == 1

        # (c) torch_impl: the logits out, the softmax named; Keras's finite history
        load_keras_weights(net, initial)
        th = tfit.fit(net, x, gt, loss="categorical_crossentropy", optimizer=optim.Adam(net.parameters()),
                      output_activation="softmax", metrics=["accuracy"], batch_size=bs, epochs=epochs, seed=seed,
                      verbose=0).history
        _final_check(th, kh, dt)
        assert np.isfinite(th["loss"]).all()
        t_pred = tfit.predict(net, x, output_activation="softmax").argmax(1)
        assert _histogram(t_pred, 2) == _histogram(k_pred, 2)


# --------------------------------------------------------------------------------------------------------------
# 4. "Convolutional neural network fails even when given answer": Dense(1, softmax) + categorical_crossentropy
# --------------------------------------------------------------------------------------------------------------


class _QuestionConv2D(torch.nn.Module):
    """The question's ``Conv2D(relu)`` x2 -> ``Flatten`` -> ``Dense(1)`` on channels-last inputs: the logit out."""

    def __init__(self, h=9, w=7):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(2, 4, 3)
        self.conv2 = torch.nn.Conv2d(4, 8, 3)
        self.fc = torch.nn.Linear(8 * (h - 4) * (w - 4), 1)

    def forward(self, x):
        x = torch.relu(self.conv2(torch.relu(self.conv1(x.permute(0, 3, 1, 2)))))
        return self.fc(x.permute(0, 2, 3, 1).flatten(1))  # Keras's Flatten order (H, W, C)


def _given_answer_data(n=64, seed=4):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 9, 7, 2))
    y = (rng.uniform(size=n) > 0.5).astype("float64")
    x[:, :, :, 1] = y[:, None, None]  # "the output boolean is in the input in the 3rd dimension"
    return x, y[:, None]


@pytest.mark.parametrize("dt", DTYPES)
def test_one_unit_softmax_with_categorical_crossentropy(dt):
    seed, epochs, bs = 4, 3, 16
    x, y = _given_answer_data()
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((9, 7, 2)), layers.Conv2D(4, 3, activation="relu"),
                               layers.Conv2D(8, 3, activation="relu"), layers.Flatten(),
                               layers.Dense(1, activation="softmax")])
        km.compile("adam", loss="categorical_crossentropy", metrics=["accuracy"])
        initial = km.get_weights()
        kh = km.fit(x, y, batch_size=bs, epochs=epochs, verbose=0).history
        k_moved = max(float(np.abs(a - b).max()) for a, b in zip(km.get_weights(), initial))
        k_pred = np.round(km.predict(x, verbose=0)).astype(int).ravel()
        print(f"\n  Keras: loss {kh['loss']} accuracy {np.round(kh['accuracy'], 4).tolist()} (positive rate "
              f"{y.mean():.4f}); weights moved {k_moved:.2e}; predicted classes {_histogram(k_pred, 2)}")
        # Keras: loss exactly 0 every epoch, yet TensorFlow's softmax-crossentropy gradient softmax(z) - y = 1 on
        # every negative row moves the weights; every prediction is 1
        assert kh["loss"] == [0.0] * epochs and k_moved > 1e-3 and _histogram(k_pred, 2) == [0, len(x)]

        # (b) the torch ports: F.cross_entropy refuses the labels; the formula by hand trains nothing
        net = _QuestionConv2D()
        load_keras_weights(net, initial)
        xt, yt = torch.as_tensor(x, dtype=tdt), torch.as_tensor(y, dtype=tdt)
        with pytest.raises(IndexError, match="out of bounds"):
            torch.nn.functional.cross_entropy(net(xt), yt.ravel().long())
        before = [p.detach().clone() for p in net.parameters()]
        opt, hist = torch.optim.Adam(net.parameters()), []
        for _ in range(epochs):
            total = 0.0
            for i in range(0, len(x), bs):
                opt.zero_grad()
                loss = -(yt[i:i + bs] * torch.log(torch.softmax(net(xt[i:i + bs]), dim=1))).sum(1).mean()
                loss.backward()
                opt.step()
                total += loss.item() * bs
            hist.append(total / len(x))
        n_moved = max(float((p.detach() - b).abs().max()) for p, b in zip(net.parameters(), before))
        print(f"  naive port: F.cross_entropy raises IndexError; -sum(y log softmax) loss {hist}, weights moved "
              f"{n_moved:.1e}")
        assert hist == [0.0] * epochs and n_moved == 0.0

        # (c) torch_impl: Keras's loss (0), Keras's drifting weights, the same all-1 predictions
        load_keras_weights(net, initial)
        th = tfit.fit(net, x, y, loss="categorical_crossentropy", optimizer=optim.Adam(net.parameters()),
                      output_activation="softmax", metrics=["accuracy"], batch_size=bs, epochs=epochs, seed=seed,
                      verbose=0).history
        assert th["loss"] == [0.0] * epochs
        _check_history(th, kh, dt, ["accuracy"])
        k_final = [w.T if w.ndim == 2 else w for w in km.get_weights()]
        apart = max(float(np.abs(p.detach().numpy() - (np.transpose(k, (3, 2, 0, 1)) if k.ndim == 4 else k)).max())
                    for p, k in zip(net.parameters(), k_final))
        t_pred = np.round(tfit.predict(net, x, output_activation="softmax")).astype(int).ravel()
        print(f"  torch_impl: loss {th['loss']}; weights after training {apart:.1e} apart from Keras's (moved "
              f"{k_moved:.2e}); predicted classes {_histogram(t_pred, 2)}")
        assert apart <= (1e-10 if dt == "float64" else 1e-5) * max(1.0, k_moved)
        assert _histogram(t_pred, 2) == _histogram(k_pred, 2)


# --------------------------------------------------------------------------------------------------------------
# 5. "Model not training and negative loss when whitening input data": standardised masks as BCE targets
# --------------------------------------------------------------------------------------------------------------


class _SegNet(torch.nn.Module):
    """``Conv2D(4, 3, "same", relu)`` -> ``Conv2D(1, 1)`` on channels-last images: the logits out."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(4, 1, 1)

    def forward(self, x):
        return self.conv2(torch.relu(self.conv1(x.permute(0, 3, 1, 2)))).permute(0, 2, 3, 1)


def _whitened_masks(n=32, seed=5):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8, 8, 1))
    m = (x > 0.8).astype("float64")
    # ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True) fitted on the masks
    return x, (m - m.mean()) / m.std()


@pytest.mark.parametrize("dt", DTYPES)
def test_whitened_masks_bce_diverges(dt):
    seed, epochs, bs, lr = 5, 10, 8, 0.05
    x, y = _whitened_masks()
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(4, 3, padding="same", activation="relu"),
                               layers.Conv2D(1, 1, activation="sigmoid")])
        km.compile(keras.optimizers.Adam(lr), loss="binary_crossentropy")
        initial = km.get_weights()
        kh = km.fit(x, y, batch_size=bs, epochs=epochs, verbose=0).history

        print(f"\n  labels {np.unique(y).round(4).tolist()}; Keras loss {np.round(kh['loss'], 3).tolist()}")
        # Keras: the loss goes negative and keeps falling, every epoch (no floor: -(z - 1) x for a label z > 1)
        assert kh["loss"][-1] < -1.0 and (np.diff(kh["loss"][2:]) < 0).all()

        # (b) the naive port: sigmoid + nn.BCELoss checks the targets and refuses them
        net = _SegNet()
        load_keras_weights(net, initial)
        xt, yt = torch.as_tensor(x, dtype=tdt), torch.as_tensor(y, dtype=tdt)
        with pytest.raises(RuntimeError, match="between 0 and 1") as raised:
            torch.nn.BCELoss()(torch.sigmoid(net(xt[:bs])), yt[:bs])
        print(f"  naive port: nn.BCELoss raises {raised.value}")

        # (c) torch_impl: Keras's binary_crossentropy takes the labels as given: Keras's diverging history
        th = tfit.fit(net, x, y, loss="binary_crossentropy", optimizer=optim.Adam(net.parameters(), learning_rate=lr),
                      output_activation="sigmoid", batch_size=bs, epochs=epochs, seed=seed, verbose=0).history
        _final_check(th, kh, dt)
        assert th["loss"][-1] < -1.0


# --------------------------------------------------------------------------------------------------------------
# 6. pytorch/pytorch#104776: class weights with label smoothing collapse onto the rare class
# --------------------------------------------------------------------------------------------------------------


def _one_hot_identity_data(n=200, rare=10):
    y = np.zeros(n, dtype=int)
    y[:rare] = 1
    return np.eye(2)[y], y  # the input is the label itself, one-hot (the toy task)


@pytest.mark.parametrize("dt", DTYPES)
def test_class_weight_with_label_smoothing_collapse(dt):
    from sklearn.utils.class_weight import compute_class_weight

    seed, epochs, bs, smoothing = 6, 8, 32, 0.2
    x, labels = _one_hot_identity_data()
    cw = compute_class_weight("balanced", classes=np.array([0, 1]), y=labels)  # [0.526, 10.0]
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((2,)), layers.Dense(16, activation="relu"), layers.Dense(2)])
        km.compile(keras.optimizers.Adam(0.01),
                   loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=smoothing),
                   metrics=["accuracy"])
        initial = km.get_weights()
        kh = km.fit(x, np.eye(2)[labels], class_weight=dict(enumerate(cw)), batch_size=bs, epochs=epochs,
                    verbose=0).history
        k_pred = km.predict(x, verbose=0).argmax(1)
        print(f"\n  class weights {np.round(cw, 4).tolist()}; Keras accuracy {np.round(kh['accuracy'], 3).tolist()}; "
              f"predicted classes {_histogram(k_pred, 2)} (true {_histogram(labels, 2)})")
        assert _histogram(k_pred, 2) == _histogram(labels, 2)

        # (b) the loss: nn.CrossEntropyLoss(weight=..., label_smoothing=...), class-index targets
        net = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
        load_keras_weights(net, initial)
        crit = torch.nn.CrossEntropyLoss(weight=torch.as_tensor(cw, dtype=tdt), label_smoothing=smoothing)
        opt = torch.optim.Adam(net.parameters(), lr=0.01)
        xt, yt = torch.as_tensor(x, dtype=tdt), torch.as_tensor(labels)
        for _ in range(epochs):
            for i in range(0, len(x), bs):
                opt.zero_grad()
                crit(net(xt[i:i + bs]), yt[i:i + bs]).backward()
                opt.step()
        with torch.no_grad():
            probs = torch.softmax(net(xt), 1).numpy()
        n_pred = probs.argmax(1)
        print(f"  naive port: predicted classes {_histogram(n_pred, 2)}; p(rare | a majority input) "
              f"{probs[labels == 0, 1].mean():.4f}")
        assert _histogram(n_pred, 2) == [0, len(x)]  # every input predicted as the rare class

        # (c) torch_impl: Keras's class_weight (a per-sample weight of the true class) and label smoothing
        load_keras_weights(net, initial)
        th = tfit.fit(net, x, np.eye(2)[labels], class_weight=dict(enumerate(cw)),
                      loss=losses.CategoricalCrossentropy(from_logits=True, label_smoothing=smoothing),
                      optimizer=optim.Adam(net.parameters(), learning_rate=0.01), metrics=["accuracy"],
                      batch_size=bs, epochs=epochs, seed=seed, verbose=0).history
        _final_check(th, kh, dt)
        t_pred = tfit.predict(net, x).argmax(1)
        assert _histogram(t_pred, 2) == _histogram(k_pred, 2)

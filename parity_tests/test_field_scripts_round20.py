"""Real-world "my PyTorch port doesn't match Keras" questions, round 20: each question's Keras code (small seeded
data of its shapes, real Keras 3.15.1), the asker's naive PyTorch port as written in the question (plain torch: the
pitfall, measured), and the port with torch_impl as the README recommends (Keras's numbers, asserted).

The threads were read in the stored public copies (``search`` corpus "pages"/"issues"); where a copy cuts a line,
the test says what stands in for it. Sizes are scaled down and said so at each test.

1. TensorFlow forum, "Model.evaluate() not returning expected loss in certain contexts"
   (https://discuss.tensorflow.org/t/model-evaluate-not-returning-expected-loss-in-certain-contexts/2824, copy
   https://discuss.ai.google.dev/t/model-evaluate-not-returning-expected-loss-in-certain-contexts/27333):
   ``Dense(1000, "linear")`` -> ``Dense(1, "sigmoid")``, ``loss=keras.losses.binary_crossentropy``, inputs
   ``ones((1, 1000)) * 10000``, target 0: ``evaluate`` gives 909.5 where ``binary_crossentropy(y, predict(x))``
   and the asker's NumPy formula give 15.33 (float32). Port: ``nn.Sequential(Linear, Linear, Sigmoid)`` +
   ``nn.BCELoss``.
2. PyTorch forums, "Transfer Conv2D layers from Keras to Pytorch Give a Wrong Result"
   (https://discuss.pytorch.org/t/transfer-conv2d-layers-from-keras-to-pytorch-give-a-wrong-result/184306):
   ``Conv2D(3, (3, 3), relu)`` -> ``Flatten`` -> ``Dense(10, softmax)``; the port ``Net`` (``x.view(-1, 2700)``,
   ``F.softmax(x)``) and its weight-copy loop (kernels transposed ``(3, 2, 0, 1)`` / ``(1, 0)``).
3. StackOverflow "Understanding the softmax output layer of RNN" (copy
   https://whosebug.com/question/3988429/Understanding-the-softmax-output-layer-of-RNN): ``Embedding`` ->
   ``Dropout(0.1)`` -> ``Bidirectional(LSTM(return_sequences=True, recurrent_dropout=0.1))`` ->
   ``Dense(label_dim, softmax)``; the port ends in ``F.softmax(x, dim=1)`` and trains with cross entropy: loss
   stuck at 2.79; "if I remove the softmax it works".
4. Google AI forum, "How does the optimizer tf.keras.optimizers.Adam() work?"
   (https://discuss.ai.google.dev/t/how-does-the-optimizer-tf-keras-optimizers-adam-work/30155): a hand-written
   ``my_adam`` with Keras's formula (``alpha = lr sqrt(1 - b2^t) / (1 - b1^t)``, ``eps=1e-7``) on
   ``x = arange(0, 10, 0.1).reshape(50, 2)``, three steps of MSE, against ``tf.keras.optimizers.Adam(0.01)``.
5. StackOverflow 76495702, "Why tf.keras.losses.CategoricalCrossentropy result different to
   tf.nn.softmax_cross_entropy_with_logits when input changes" (copy https://example-a.com/answer/76495702):
   ``X = [[3, 1, 1], [-1, 2, 5]] * 10``, soft-max'ed into ``CategoricalCrossentropy(from_logits=False)``: 8.059
   against 15.0 from the logits; torch's ``F.cross_entropy(X, Y)`` is the 15.0. (The question's 8.0590477490 is
   its older Keras's; Keras 3.15.1 in float64 gives 8.0590478755, 1.3e-7 more, which the clip to ``[1e-7, 1 -
   1e-7]`` by hand reproduces to the last digit.)
6. StackOverflow 41271952, "Effect of class_weight and sample_weight in Keras" (copy
   https://coderoad.ru/41271952/): the accepted answer's rule, ``score_array *= weights; score_array /=
   K.mean(K.cast(K.not_equal(weights, 0), K.floatx())); return K.mean(score_array)``, written in torch for a
   ``fit(sample_weight=...)`` with zero weights.
7. keras-team/keras#503, "Output of evaluate and fit are not consistent"
   (https://github.com/keras-team/keras/issues/503): fchollet's answer, fit's loss is "the sigma of the loss of
   each batch times the number of samples in the batch divided by the total number of samples"; the usual torch
   loop logs ``running_loss / len(loader)``.
8. StackOverflow "How does mask_zero in Keras Embedding layer work?" (copy https://manongdao.com/q-394137.html):
   ``Embedding(5, 5, mask_zero=True)`` -> ``LSTM(3, return_sequences=True)`` on ``[[1, 0, 2, 0]]`` (the answer) and
   ``[[1, 2, 0, 0]]`` (the question); the usual port ``nn.Embedding(padding_idx=0)`` + ``nn.LSTM``.

Measured (float64 unless said; "naive" is the question's port against Keras, "torch_impl" the README's port;
histories: max relative error over every key and epoch; float32 runs are ``slow``):

===  =====================================================  ===========================================================
 #   naive port (the pitfall)                               torch_impl
===  =====================================================  ===========================================================
 1   ``nn.BCELoss`` 100.0 (log clamp); Keras ``evaluate``   ``evaluate`` 16236.338725, rel 1.1e-16; the loss of a copy
     16236.3 (the logit), ``bce(y, predict(x))`` 16.118,    of the probabilities 16.118096, 0 apart
     the asker's formula 15.42
 2   outputs 0.204 apart (``view`` flattens ``(C, H, W)``)  outputs 2.8e-16 apart
 3   loss 1.609421 ~ log(5); its Dense-kernel gradient      loss 0 apart, gradient 6.5e-19, probabilities 5.6e-17;
     0.053 of Keras's; trained 4 epochs: 1.334 against     ``fit`` (Keras's Dropout, recurrent dropout, sparse
     Keras's 0.889 (float32 1.337 / 0.942)                  Embedding) loss, accuracy 1.5e-16 (float32 9.1e-8)
 4   weights 6.7e-8 off after step 1, 2.6e-3 after 2,      0 apart; ``torch.optim.Adam(eps=1e-7)`` 2.0e-7
     6.2e-3 after 3
 5   ``F.cross_entropy`` 15.0000000021 = ``tf.nn``'s,       8.059047875479163, 0 apart; gradient 0 apart, the same 6
     Keras 8.0590478755                                     zero entries; ``from_logits=True`` 15.0000000021
 6   the answer's rule 1.3187 x Keras's loss (= 1 /         ``evaluate(sample_weight)`` 0 apart; ``fit`` 0 (float32
     mean(w != 0))                                          9.5e-8), same predicted-class histogram
 7   ``running_loss / len(loader)`` 1.5e-1 off (float32    loss 1.2e-16 (float32 1.3e-7)
     1.4e-1); weights after training 1.1e-16 apart
 8   ``padding_idx=0``: 4.7e-3 (interior zero), 7.5e-3    valid steps 2.6e-18 (``PackedSequence``); interior zero
     (padded steps) off                                     2.6e-18 (tokens moved to the front, packed, put back)
===  =====================================================  ===========================================================

Findings.

* 1) The thread's own diagnosis is right that the output saturates, not why ``evaluate`` differs: Keras 3 on
  TensorFlow hands a built-in loss the logits behind a ``sigmoid`` output (``output._keras_logits``,
  ``keras/src/backend/tensorflow/nn.py`` 44 and 1267-1269), so ``evaluate`` computes the unclipped logits
  crossentropy (the logit itself: 909.5 in the thread, 16236.3 here, float64) while
  ``binary_crossentropy(y, predict(x))`` gets a copy without logits and clips to ``-log(1e-7)`` (16.118 in
  float64; the thread's 15.33 is float32's clip) and the asker's formula adds ``eps`` inside the log as well
  (15.42); torch's ``nn.BCELoss`` clamps ``log`` at -100: 100.0, a fourth number.
* 2) The port's ``x.view(-1, 2700)`` flattens ``(C, H, W)`` where Keras's ``Flatten`` flattens ``(H, W, C)``; the
  same copied weights then read the features in another order. ``F.softmax(x)`` without ``dim`` picks ``dim=1``
  for a 2-D input (a deprecation warning only).
* 3) ``F.softmax(x, dim=1)`` on the ``(N, T, C)`` output normalises over the *time* axis, and torch's
  ``CrossEntropyLoss`` then soft-maxes those probabilities again: the loss sits near ``log(C)``.
* 4) ``my_adam`` starts ``m`` and ``v`` at 0 on every call, so every step is a first step with the step count's
  bias correction: equal to Keras after step 1 (6.7e-8: Keras casts the Python ``beta_2`` through float32 in the
  bias correction, ``keras/src/optimizers/adam.py`` 107-117, even for float64 variables), 2.6e-3 off after step
  2 and 6.2e-3 after step 3; the formula itself is Keras's.
* 5) The answer ("values are clipped, using eps") is right: Keras clips probabilities to ``[1e-7, 1 - 1e-7]``
  (``keras/src/backend/tensorflow/nn.py``), so a probability of 9.4e-14 at the label costs ``-log(1e-7)``, and
  both rows being clipped, every entry of the gradient is 0 (6 of 6, torch_impl's too); torch's
  ``F.cross_entropy`` on the logits is TensorFlow's logits number (15.0, gradient ``softmax - y``), not Keras's
  probability one.
* 6) The accepted answer quotes Keras 1/2's ``weighted_masked_objective``; Keras 3 divides the weighted sum by the
  number of samples only (``keras/src/losses/loss.py`` 148-159): the answer's rule is ``1 / mean(w != 0)`` times
  Keras 3's loss whenever a batch holds a zero weight.
* 7) Keras 3 still weighs each batch's loss by its sample count (``keras/src/backend/tensorflow/trainer.py``
  69-74); ``running_loss / len(loader)`` over-weighs a short last batch: the training is identical (weights equal
  to Keras's), only the logged number differs.
* 8) ``padding_idx=0`` only zeroes the pad row's gradient (and the loaded weights overwrite its zero row); Keras's
  mask makes the LSTM skip the step (state kept, the previous output repeated). torch_impl's LSTM takes the mask as
  a ``PackedSequence``, which holds trailing padding only: the question's ``[[1, 2, 0, 0]]`` matches on the valid
  steps (padded steps: zeros, where Keras repeats the last valid output); the answer's interior zero
  ``[[1, 0, 2, 0]]`` matches with the README's recipe for pre-padded rows (valid tokens moved to the front, then
  packed), the outputs put back in place.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402

from parity_tests.test_field_scripts_round2 import (  # noqa: E402
    DTYPES, _final_check, _histogram, _precision, _rel)
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, optim  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl.nn import load_keras_weights  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]



# --------------------------------------------------------------------------------------------------------------
# 1. "Model.evaluate() not returning expected loss": the logits behind a sigmoid output
# --------------------------------------------------------------------------------------------------------------


def test_evaluate_uses_the_logits_behind_the_sigmoid():
    with _precision("float64"):
        keras.utils.set_random_seed(2)  # the thread's tf.random.set_seed(2)
        train_xs = np.ones((1, 1000)) * 10000
        train_ys = np.zeros((1, 1))
        keras_model = keras.Sequential([keras.Input((1000,)), layers.Dense(1000, activation="linear"),
                                        layers.Dense(1, activation="sigmoid")])
        keras_model.compile(loss=keras.losses.binary_crossentropy, metrics=[])
        y = keras_model.predict(train_xs, verbose=0)
        k_eval = keras_model.evaluate(train_xs, train_ys, verbose=0, return_dict=True)["loss"]
        k_pred = float(keras.losses.binary_crossentropy(train_ys, y)[0])

        def binary_cross_entropy(y_hat, y):  # the asker's NumPy formula
            epsilon = 1e-7
            y_hat = np.clip(y_hat, epsilon, 1 - epsilon)
            bce = y * np.log(y_hat + epsilon)
            bce += (1 - y) * np.log(1 - y_hat + epsilon)
            return -np.mean(bce)

        asker = binary_cross_entropy(y, train_ys)
        # (b) the port: Linear, Linear, Sigmoid and nn.BCELoss, Keras's weights
        naive = torch.nn.Sequential(torch.nn.Linear(1000, 1000), torch.nn.Linear(1000, 1), torch.nn.Sigmoid())
        load_keras_weights(naive, keras_model.get_weights())
        xt, yt = torch.as_tensor(train_xs), torch.as_tensor(train_ys)
        with torch.no_grad():
            n_loss = torch.nn.BCELoss()(naive(xt), yt).item()
        print(f"\n  Keras evaluate {k_eval:.6f}; Keras binary_crossentropy(y, predict(x)) {k_pred:.6f}; the asker's "
              f"formula {asker:.6f}; nn.BCELoss {n_loss}")
        assert y[0, 0] == 1.0 and k_eval > 100 * k_pred and n_loss == 100.0
        # (c) torch_impl: logits out, Keras's evaluate (sigmoid output) and the loss on a copy of the probabilities
        net = torch.nn.Sequential(torch.nn.Linear(1000, 1000), torch.nn.Linear(1000, 1))
        load_keras_weights(net, keras_model.get_weights())
        t_eval = tfit.evaluate(net, train_xs, train_ys, loss="binary_crossentropy", output_activation="sigmoid")["loss"]
        with torch.no_grad():
            t_pred = losses.binary_crossentropy(yt, torch.sigmoid(net(xt)))[0].item()
        r_eval, r_pred = _rel(t_eval, k_eval), _rel(t_pred, k_pred)
        print(f"  torch_impl evaluate {t_eval:.6f} (rel {r_eval:.1e}); on the probabilities {t_pred:.6f} "
              f"(rel {r_pred:.1e})")
        assert r_eval <= 1e-12 and r_pred <= 1e-12


# --------------------------------------------------------------------------------------------------------------
# 2. "Transfer Conv2D layers from Keras to Pytorch Give a Wrong Result": the Flatten order
# --------------------------------------------------------------------------------------------------------------


class _QuestionNet(torch.nn.Module):
    """The question's ``Net``, as written (``channels_last`` restores Keras's flatten order: the fix)."""

    def __init__(self, channels_last: bool = False):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 3, kernel_size=3)
        self.fc = torch.nn.Linear(2700, 10)
        self.channels_last = channels_last

    def forward(self, x):
        x = F.relu(self.conv1(x))
        if self.channels_last:
            x = x.permute(0, 2, 3, 1)
        x = x.reshape(-1, 2700)  # the question's x.view(-1, 2700) (a permuted tensor needs reshape)
        x = self.fc(x)
        if self.channels_last:
            return x  # logits: the README's port applies the softmax in the loss / at predict time
        return F.softmax(x)


def test_conv2d_transfer_flatten_order():
    with _precision("float64"):
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.Input((32, 32, 3)), layers.Conv2D(3, (3, 3), activation="relu"),
                                  layers.Flatten(), layers.Dense(10, activation="softmax")])
        keras_weights = model.get_weights()
        rng = np.random.default_rng(0)
        x = np.concatenate([np.ones((1, 32, 32, 3)) / 2, rng.uniform(0, 1, (3, 32, 32, 3))])  # the question's + 3
        k_out = model(x).numpy()
        # (b) the question's copy loop and forward (NCHW input)
        pt_model = _QuestionNet()
        for i, (n, p) in enumerate(pt_model.named_parameters()):
            with torch.no_grad():
                if 'conv' in n and 'weight' in n:
                    p.copy_(torch.from_numpy(np.transpose(keras_weights[i], (3, 2, 0, 1))))
                elif 'weight' in n:
                    p.copy_(torch.from_numpy(np.transpose(keras_weights[i], (1, 0))))
                else:
                    p.copy_(torch.from_numpy(keras_weights[i]))
        pt_model.eval()
        y = torch.as_tensor(x).permute(0, 3, 1, 2)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with torch.no_grad():
                n_out = pt_model(y).numpy()
        implicit = any("Implicit dimension choice for softmax" in str(w.message) for w in caught)
        apart = float(np.abs(n_out - k_out).max())
        print(f"\n  the question's transfer: outputs {apart:.3f} apart (max abs); implicit-dim warning: {implicit}")
        assert apart > 1e-3 and implicit
        # (c) torch_impl: load_keras_weights and a channels-last flatten; the softmax of the logits
        port = _QuestionNet(channels_last=True)
        load_keras_weights(port, keras_weights)
        with torch.no_grad():
            t_out = torch.softmax(port(y), -1).numpy()
        t_apart = float(np.abs(t_out - k_out).max())
        print(f"  load_keras_weights + flatten after permute(0, 2, 3, 1): {t_apart:.1e} apart")
        assert t_apart <= 1e-12 * np.abs(k_out).max()


# --------------------------------------------------------------------------------------------------------------
# 3. "Understanding the softmax output layer of RNN": F.softmax(x, dim=1) on (N, T, C)
# --------------------------------------------------------------------------------------------------------------

VOCAB, EMB, UNITS, TAGS, T3 = 30, 8, 6, 5, 12  # the question's dimensions scaled down


class _QuestionRNN(torch.nn.Module):
    """The question's ``RNN``: ``softmax`` selects its last line (``F.softmax(x, dim=1)``, or the logits: the
    asker's "remove the softmax"); ``lstm`` the recurrent module (``nn.LSTM`` or torch_impl's); ``dropout`` the
    embedding dropout (the question's ``F.dropout``, or torch_impl's Keras ``Dropout``)."""

    def __init__(self, lstm, softmax: bool, dropout=None):
        super().__init__()
        self.embed = torch.nn.Embedding(VOCAB, EMB, sparse=dropout is not None)  # the port: Keras's row updates
        self.dropout = dropout
        self.blstm = lstm
        self.fc = torch.nn.Linear(2 * UNITS, TAGS)
        self.softmax = softmax

    def forward(self, x):
        x = self.embed(x.long())
        x = self.dropout(x) if self.dropout is not None else F.dropout(x, p=0.1, training=self.training)
        x, _ = self.blstm(x)
        x = self.fc(x)
        return F.softmax(x, dim=1) if self.softmax else x


def _rnn_data(n=16, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, VOCAB, (n, T3)).astype(np.int32)
    return x, (x % TAGS).astype(np.int64)


def _keras_rnn():
    inp = keras.Input(shape=(T3,), dtype="int32")
    model = layers.Embedding(input_dim=VOCAB, output_dim=EMB)(inp)
    model = layers.Dropout(0.1)(model)
    model = layers.Bidirectional(layers.LSTM(units=UNITS, return_sequences=True, recurrent_dropout=0.1))(model)
    out = layers.Dense(TAGS, activation="softmax")(model)
    return keras.Model(inp, out)


def test_rnn_softmax_over_the_time_axis():
    x, y = _rnn_data()
    with _precision("float64"):
        keras.utils.set_random_seed(5)
        km = _keras_rnn()
        # the stored copy does not show the compile line ("cross entropy and RMSprop"): Keras's sparse crossentropy
        # on the integer tags stands in; the loss and its gradient of the initial model in inference mode
        kernel = km.layers[-1].kernel
        with tf.GradientTape() as tape:
            k_loss = keras.losses.SparseCategoricalCrossentropy()(y, km(x, training=False))
        k_grad = tape.gradient(k_loss, kernel).numpy()
        k_loss = float(k_loss)
        weights = km.get_weights()
        xt, yt = torch.as_tensor(x).long(), torch.as_tensor(y)

        def loss_of(softmax, lstm, keras_loss=False):
            net = _QuestionRNN(lstm, softmax)
            load_keras_weights(net, weights)
            net.eval()
            out = net(xt)
            if keras_loss:  # torch_impl: Keras's loss from the logits
                loss = losses.SparseCategoricalCrossentropy(from_logits=True)(yt, out)
            else:  # the stored copy cuts the loop: the usual criterion(output.view(-1, C), target.view(-1))
                loss = torch.nn.CrossEntropyLoss()(out.reshape(-1, TAGS), yt.reshape(-1))
            loss.backward()
            return loss.item(), net.fc.weight.grad.T.numpy(), out.detach()

        # (b) as written, and the asker's fix (no softmax) with nn.LSTM
        n_loss, n_grad, n_out = loss_of(True, torch.nn.LSTM(EMB, UNITS, bidirectional=True, batch_first=True))
        f_loss, f_grad, _ = loss_of(False, torch.nn.LSTM(EMB, UNITS, bidirectional=True, batch_first=True))
        time_sums = float(n_out.sum(1).sub(1).abs().max())
        shrink = np.linalg.norm(n_grad) / np.linalg.norm(k_grad)
        print(f"\n  Keras loss {k_loss:.6f}; F.softmax(dim=1) + CrossEntropyLoss {n_loss:.6f} (log(C) = "
              f"{np.log(TAGS):.6f}; the time axis sums to 1 within {time_sums:.1e}); its Dense-kernel gradient is "
              f"{shrink:.3f} of Keras's in norm, {float(np.abs(n_grad - k_grad).max()):.1e} apart; the asker's fix "
              f"(logits) {f_loss:.6f} (rel {_rel(f_loss, k_loss):.1e})")
        assert abs(n_loss - np.log(TAGS)) < 1e-3 and time_sums < 1e-12 and shrink < 0.2
        # (c) torch_impl: its LSTM (Keras's recurrent_dropout), logits out, Keras's loss from the logits
        lstm = tnn.LSTM(EMB, UNITS, bidirectional=True, batch_first=True, recurrent_dropout=0.1)
        t_loss, t_grad, logits = loss_of(False, lstm, keras_loss=True)
        probs = torch.softmax(logits, -1).numpy()
        r, g = _rel(t_loss, k_loss), float(np.abs(t_grad - k_grad).max())
        p_apart = float(np.abs(probs - km(x, training=False).numpy()).max())
        print(f"  torch_impl {t_loss:.15f} vs Keras {k_loss:.15f}: rel {r:.1e}; gradient {g:.1e} apart; "
              f"probabilities {p_apart:.1e} apart")
        assert r <= 1e-12 and g <= 1e-10 * np.abs(k_grad).max() and p_apart <= 1e-12
        assert _rel(f_loss, k_loss) <= 1e-12 and float(np.abs(f_grad - k_grad).max()) <= 1e-10 * np.abs(k_grad).max()


@pytest.mark.slow  # ~12 s: Keras's recurrent-dropout BiLSTM (implementation=1) trained
@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_rnn_softmax_over_the_time_axis_training(dt):
    seed, epochs, bs = 5, 4, 16
    x, y = _rnn_data(64)
    with _precision(dt):
        keras.utils.set_random_seed(seed)
        km = _keras_rnn()
        # RMSprop at 0.01 (the question's rate is not shown) so that 4 short epochs move the loss
        km.compile(optimizer=keras.optimizers.RMSprop(0.01), loss="sparse_categorical_crossentropy",
                   metrics=["accuracy"])
        initial = km.get_weights()
        kh = km.fit(x, y, batch_size=bs, epochs=epochs, verbose=0).history
        k_pred = km.predict(x, verbose=0).argmax(-1).ravel()
        # (b) the question's model, trained with torch's RMSprop and CrossEntropyLoss (Keras's batches)
        naive = _QuestionRNN(torch.nn.LSTM(EMB, UNITS, bidirectional=True, batch_first=True), True)
        load_keras_weights(naive, initial)
        nh = tfit.fit(naive, torch.as_tensor(x).long(), y, verbose=0, batch_size=bs, epochs=epochs, seed=seed,
                      optimizer=torch.optim.RMSprop(naive.parameters(), lr=0.01),
                      loss=lambda t, p: torch.nn.CrossEntropyLoss()(p.reshape(-1, TAGS), t.reshape(-1).long())).history
        floor = np.log(1 + (TAGS - 1) / np.e)  # CrossEntropyLoss of probabilities: at best a one-hot "logit" row
        print(f"\n  Keras loss {np.round(kh['loss'], 5).tolist()}; the question's port {np.round(nh['loss'], 5).tolist()}"
              f" (log(C) = {np.log(TAGS):.5f}; the port's floor log(1 + (C - 1) / e) = {floor:.5f})")
        assert nh["loss"][-1] - kh["loss"][-1] > 0.3 and min(nh["loss"]) > floor
        # (c) torch_impl: Keras's Dropout and recurrent dropout, seeds from Keras's sequence, logits out
        port = _QuestionRNN(tnn.LSTM(EMB, UNITS, bidirectional=True, batch_first=True, recurrent_dropout=0.1),
                            False, tnn.Dropout(0.1))
        tnn.keras_init_(port, seed=seed)
        load_keras_weights(port, initial)
        th = tfit.fit(port, torch.as_tensor(x).long(), y, loss="sparse_categorical_crossentropy",
                      optimizer=optim.RMSprop(port.parameters(), learning_rate=0.01), output_activation="softmax",
                      metrics=["accuracy"],
                      batch_size=bs, epochs=epochs, seed=seed, verbose=0).history
        _final_check(th, kh, dt, keys=("loss", "accuracy"))
        t_pred = tfit.predict(port, torch.as_tensor(x).long(), output_activation="softmax").argmax(-1).ravel()
        assert _histogram(t_pred, TAGS) == _histogram(k_pred, TAGS)


# --------------------------------------------------------------------------------------------------------------
# 4. "How does tf.keras.optimizers.Adam() work?": a hand-written Adam whose state restarts every call
# --------------------------------------------------------------------------------------------------------------


def test_hand_written_adam_restarts_its_moments():
    np.random.seed(1)
    true_w = np.array([[2.0], [1.0]])
    true_b = np.array([2.0])
    x = np.arange(0, 10, 0.1).reshape(50, 2)
    np.random.shuffle(x)
    y = x @ true_w + true_b
    # the question draws w with tf.random.normal([2, 1], stddev=0.1, seed); a NumPy draw of the same law stands in
    w0, b0 = np.random.normal(0, 0.1, (2, 1)), np.zeros(1)
    steps = 3
    # Keras: tf.keras.optimizers.Adam(0.01) on the same loop (the stored copy cuts it after ``loss``); floatx
    # float64 (with float32 floatx Keras keeps the learning rate and the step count in float32: 6.7e-8 off)
    w, b = tf.Variable(w0), tf.Variable(b0)
    with _precision("float64"):
        _adam_case(x, y, w, b, w0, b0, steps)


def _adam_case(x, y, w, b, w0, b0, steps):
    k_path = []
    opt = keras.optimizers.Adam(learning_rate=0.01)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(x @ w + b - y))
        opt.apply_gradients(zip(tape.gradient(loss, [w, b]), [w, b]))
        k_path.append(np.concatenate([w.numpy().ravel(), b.numpy()]))
    k_path = np.array(k_path)

    # (b) the question's my_adam, line for line in torch
    def my_adam(params, lr, grads, globals_step, eps=1e-7):
        beta1 = 0.9
        beta2 = 0.999
        m_w = 0
        m_b = 0
        v_w = 0
        v_b = 0
        alpha = lr * np.sqrt(1 - np.power(beta2, int(globals_step))) / (1 - np.power(beta1, int(globals_step)))
        m_w = m_w * beta1 + (1 - beta1) * grads[0]
        v_w = v_w * beta2 + (1 - beta2) * torch.square(grads[0])
        m_b = m_b * beta1 + (1 - beta1) * grads[1]
        v_b = v_b * beta2 + (1 - beta2) * torch.square(grads[1])
        with torch.no_grad():
            params[0].sub_((m_w * alpha) / (torch.sqrt(v_w) + eps))
            params[1].sub_((m_b * alpha) / (torch.sqrt(v_b) + eps))

    xt, yt = torch.as_tensor(x), torch.as_tensor(y)

    def run(step):
        wt, bt = torch.tensor(w0, requires_grad=True), torch.tensor(b0, requires_grad=True)
        path = []
        for i in range(steps):
            loss = torch.mean(torch.square(xt @ wt + bt - yt))
            grads = torch.autograd.grad(loss, [wt, bt])
            step([wt, bt], grads, i + 1)
            path.append(np.concatenate([wt.detach().numpy().ravel(), bt.detach().numpy()]))
        return np.array(path)

    n_path = run(lambda p, g, t: my_adam(p, 0.01, g, t))
    per_step = np.abs(n_path - k_path).max(1)
    print(f"\n  my_adam against Keras's Adam, max abs per step: {per_step.tolist()} (step 1: Keras's bias correction "
          f"casts the Python beta_2 through float32, 0.999 -> {float(np.float32(0.999))!r})")
    assert per_step[0] <= 1e-7 and per_step[1] > 1e-3 and per_step[2] > per_step[1]

    # (c) torch_impl's Adam, and torch.optim.Adam(eps=1e-7) for the record
    def with_optimizer(make):
        holder = {}

        def step(params, grads, t):
            if "opt" not in holder:
                holder["opt"] = make(params)
            for p, g in zip(params, grads):
                p.grad = g
            holder["opt"].step()
        return run(step)

    t_path = with_optimizer(lambda p: optim.Adam(p, learning_rate=0.01))
    o_path = with_optimizer(lambda p: torch.optim.Adam(p, lr=0.01, eps=1e-7))
    t_apart, o_apart = float(np.abs(t_path - k_path).max()), float(np.abs(o_path - k_path).max())
    print(f"  torch_impl Adam {t_apart:.1e} apart; torch.optim.Adam(eps=1e-7) {o_apart:.1e} apart")
    assert t_apart <= 1e-12 * np.abs(k_path).max()


# --------------------------------------------------------------------------------------------------------------
# 5. CategoricalCrossentropy on softmax probabilities vs softmax_cross_entropy_with_logits (and F.cross_entropy)
# --------------------------------------------------------------------------------------------------------------


def test_clipped_probabilities_vs_logits_crossentropy():
    X = np.array([[3.0, 1.0, 1.0], [-1.0, 2.0, 5.0]]) * 10
    Y = np.array([[1, 0.0, 0.0], [0.0, 1.0, 0.0]])
    p = tf.Variable(tf.math.softmax(X))
    with _precision("float64"), tf.GradientTape() as tape:  # the question's float64 figures (float32 floatx:
        # Keras casts to float32 and gives 8.0590477)
        cce_res = keras.losses.CategoricalCrossentropy(from_logits=False, reduction=None)(Y, p)
        cost1 = tf.reduce_mean(cce_res)
    k_grad = tape.gradient(cost1, p).numpy()
    cost1 = float(cost1)
    cost2 = float(tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=X, labels=Y)))
    # (b) the torch port: F.cross_entropy on the logits with the one-hot (probability) targets
    n_cost = F.cross_entropy(torch.as_tensor(X), torch.as_tensor(Y)).item()
    sm = np.exp(X - X.max(1, keepdims=True))
    sm /= sm.sum(1, keepdims=True)
    clipped = float(np.mean(-(Y * np.log(np.clip(sm, 1e-7, 1 - 1e-7))).sum(1)))  # the answer's explanation
    print(f"\n  Keras CCE(softmax(X)) {cost1:.10f} (the question's, older Keras: 8.0590477490; the clip at [1e-7, "
          f"1 - 1e-7] by hand {clipped:.10f}); tf.nn logits {cost2:.10f}; F.cross_entropy {n_cost:.10f}")
    assert _rel(cost1, clipped) <= 1e-12 and abs(cost2 - 15.0000000020612) < 1e-9
    assert _rel(n_cost, cost2) <= 1e-12 and n_cost - cost1 > 6
    # (c) torch_impl: Keras's probability form (its clip and zero gradients), and its logits form
    pt = torch.tensor(tf.math.softmax(X).numpy(), requires_grad=True)
    t_cost = losses.CategoricalCrossentropy(reduction="none")(torch.as_tensor(Y), pt).mean()
    t_cost.backward()
    t_logits = losses.CategoricalCrossentropy(from_logits=True)(torch.as_tensor(Y), torch.as_tensor(X)).item()
    g = float(np.abs(pt.grad.numpy() - k_grad).max())
    print(f"  torch_impl probabilities {t_cost.item():.15f} (rel {_rel(t_cost.item(), cost1):.1e}), gradient "
          f"{g:.1e} apart, zero-gradient entries {(k_grad == 0).sum()} equal: "
          f"{((pt.grad.numpy() == 0) == (k_grad == 0)).all()}; from_logits {t_logits:.10f}")
    assert _rel(t_cost.item(), cost1) <= 1e-12 and g <= 1e-10 * np.abs(k_grad).max()
    assert ((pt.grad.numpy() == 0) == (k_grad == 0)).all() and (k_grad == 0).sum() > 0
    assert _rel(t_logits, cost2) <= 1e-12


# --------------------------------------------------------------------------------------------------------------
# 6. "Effect of class_weight and sample_weight in Keras": the Keras 1/2 rule, with zero weights
# --------------------------------------------------------------------------------------------------------------


def _mlp_data(n=120, d=6, seed=6):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("float64")[:, None]
    sw = rng.uniform(0.5, 2.0, n) * (rng.uniform(size=n) > 0.3)  # 24 % zero weights here
    return x, y, sw


def _keras_mlp(d, units=1, activation="sigmoid"):
    return keras.Sequential([keras.Input((d,)), layers.Dense(8, activation="relu"),
                             layers.Dense(units, activation=activation)])


def _torch_mlp(d, units=1):
    return torch.nn.Sequential(torch.nn.Linear(d, 8), torch.nn.ReLU(), torch.nn.Linear(8, units))


@pytest.mark.parametrize("dt", DTYPES)
def test_sample_weight_zeros_keras2_rule(dt):
    seed, epochs, bs = 7, 3, 16
    x, y, sw = _mlp_data()
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        km = _keras_mlp(x.shape[1])
        km.compile(optimizer="adam", loss="binary_crossentropy")
        initial = km.get_weights()
        k_eval = km.evaluate(x, y, sample_weight=sw, batch_size=len(x), verbose=0)
        kh = km.fit(x, y, sample_weight=sw, batch_size=bs, epochs=epochs, verbose=0).history

        # (b) the answer's rule in torch, on the same initial predictions
        net = _torch_mlp(x.shape[1])
        load_keras_weights(net, initial)
        xt, yt, wt = (torch.as_tensor(a, dtype=tdt) for a in (x, y, sw))
        with torch.no_grad():
            score_array = F.binary_cross_entropy_with_logits(net(xt), yt, reduction="none").mean(-1)
            score_array = score_array * wt
            score_array = score_array / (wt != 0).to(tdt).mean()
            answer = score_array.mean().item()
        ratio = answer / k_eval
        print(f"\n  Keras 3 evaluate(sample_weight) {k_eval:.6f}; the answer's rule {answer:.6f}: ratio {ratio:.4f}"
              f" = 1 / mean(w != 0) = {1 / (sw != 0).mean():.4f}")
        assert abs(ratio * (sw != 0).mean() - 1) < 1e-6 and ratio > 1.2
        # (c) torch_impl: sample_weight given to evaluate and fit as to Keras's
        t_eval = tfit.evaluate(net, x, y, sample_weight=sw, batch_size=len(x), loss="binary_crossentropy",
                               output_activation="sigmoid")["loss"]
        print(f"  torch_impl evaluate {t_eval:.15f} (rel {_rel(t_eval, k_eval):.1e})")
        assert _rel(t_eval, k_eval) <= (1e-12 if dt == "float64" else 1e-5)
        th = tfit.fit(net, x, y, sample_weight=sw, loss="binary_crossentropy",
                      optimizer=optim.Adam(net.parameters()), output_activation="sigmoid", batch_size=bs,
                      epochs=epochs, seed=seed, verbose=0).history
        _final_check(th, kh, dt)
        if dt == "float32":  # DESIGN.md's float32 standard: the same predicted-class histogram too
            k_pred = (km.predict(x, verbose=0) > 0.5).astype(int).ravel()
            t_pred = (tfit.predict(net, x, output_activation="sigmoid") > 0.5).astype(int).ravel()
            print(f"  predicted classes: Keras {_histogram(k_pred, 2)}, torch_impl {_histogram(t_pred, 2)}")
            assert _histogram(t_pred, 2) == _histogram(k_pred, 2)


# --------------------------------------------------------------------------------------------------------------
# 7. keras-team/keras#503: fit's epoch loss weighs each batch by its size; running_loss / len(loader) does not
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", DTYPES)
def test_epoch_loss_weighs_batches_by_size(dt):
    seed, epochs, bs, n = 9, 3, 32, 100  # 3 batches of 32 and one of 4
    rng = np.random.default_rng(8)
    x = rng.normal(size=(n, 5))
    y = (np.sin(x[:, :1]) + 0.1 * x[:, 1:2]) * 3
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        km = _keras_mlp(5, activation=None)
        km.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="mse")
        initial = km.get_weights()
        kh = km.fit(x, y, batch_size=bs, epochs=epochs, shuffle=False, verbose=0).history

        # (b) the usual torch loop: DataLoader, nn.MSELoss, SGD, running_loss / len(loader)
        model = _torch_mlp(5)
        load_keras_weights(model, initial)
        criterion = torch.nn.MSELoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.as_tensor(x, dtype=tdt),
                                                                            torch.as_tensor(y, dtype=tdt)),
                                             batch_size=bs, shuffle=False)
        hist, weighted = [], []
        for _ in range(epochs):
            running_loss, total = 0.0, 0.0
            for inputs, labels in loader:
                optimizer.zero_grad()
                loss = criterion(model(inputs), labels)
                loss.backward()
                optimizer.step()
                running_loss += loss.item()
                total += loss.item() * len(inputs)
            hist.append(running_loss / len(loader))
            weighted.append(total / n)
        w_apart = max(float(np.abs(p.detach().numpy() - (k.T if k.ndim == 2 else k)).max())
                      for p, k in zip(model.parameters(), km.get_weights()))
        r_naive, r_weighted = _rel(hist, kh["loss"]), _rel(weighted, kh["loss"])
        print(f"\n  Keras loss {np.round(kh['loss'], 6).tolist()}; running_loss / len(loader) "
              f"{np.round(hist, 6).tolist()} (max rel {r_naive:.1e}); batch-size weighted {r_weighted:.1e}; "
              f"weights after training {w_apart:.1e} apart")
        tol = 1e-8 if dt == "float64" else 1e-4
        assert r_naive > 1e-3 and r_weighted <= tol and w_apart <= (1e-12 if dt == "float64" else 1e-5)
        # (c) torch_impl.fit logs Keras's number
        net = _torch_mlp(5)
        load_keras_weights(net, initial)
        th = tfit.fit(net, x, y, loss="mse", optimizer=optim.SGD(net.parameters(), learning_rate=0.05),
                      batch_size=bs, epochs=epochs, shuffle=False, verbose=0).history
        _final_check(th, kh, dt)


# --------------------------------------------------------------------------------------------------------------
# 8. "How does mask_zero in Keras Embedding layer work?": padding_idx is not a mask
# --------------------------------------------------------------------------------------------------------------


class _MaskNet(torch.nn.Module):
    def __init__(self, lstm, padding_idx=None):
        super().__init__()
        self.embed = torch.nn.Embedding(5, 5, padding_idx=padding_idx)
        self.lstm = lstm

    def forward(self, x, lengths=None):
        e = self.embed(x)
        if lengths is None:
            return self.lstm(e)[0]
        packed = torch.nn.utils.rnn.pack_padded_sequence(e, lengths, batch_first=True, enforce_sorted=False)
        return torch.nn.utils.rnn.pad_packed_sequence(self.lstm(packed)[0], batch_first=True,
                                                      total_length=x.shape[1])[0]


def test_mask_zero_vs_padding_idx():
    with _precision("float64"):
        keras.utils.set_random_seed(4)
        x = keras.Input(shape=(4,))
        e = layers.Embedding(5, 5, mask_zero=True)(x)
        rnn = layers.LSTM(3, return_sequences=True)(e)
        m = keras.Model(inputs=x, outputs=rnn)
        answer_in, question_in = np.array([[1, 0, 2, 0]]), np.array([[1, 2, 0, 0]])
        k_answer, k_question = m.predict(answer_in, verbose=0), m.predict(question_in, verbose=0)
        weights = m.get_weights()

        def torch_out(net, data, lengths=None):
            load_keras_weights(net, weights)
            with torch.no_grad():
                return net(torch.as_tensor(data).long(), lengths).numpy()

        # (b) the usual port: padding_idx=0, every step run
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            n_answer = torch_out(_MaskNet(torch.nn.LSTM(5, 3, batch_first=True), padding_idx=0), answer_in)
            n_question = torch_out(_MaskNet(torch.nn.LSTM(5, 3, batch_first=True), padding_idx=0), question_in)
        repeats = float(np.abs(k_answer[0, 1] - k_answer[0, 0]).max())
        a_apart = float(np.abs(n_answer - k_answer)[0, 1:].max())
        q_apart = float(np.abs(n_question - k_question)[0, 2:].max())
        print(f"\n  Keras repeats the output at a masked step ({repeats:.1e} apart); padding_idx port: answer's "
              f"steps 1-3 {a_apart:.1e} apart, question's padded steps {q_apart:.1e} apart")
        assert repeats == 0 and a_apart > 1e-3 and q_apart > 1e-3
        # (c) torch_impl: the mask as a PackedSequence (trailing padding): the valid steps and the final state match
        t_question = torch_out(_MaskNet(tnn.LSTM(5, 3, batch_first=True)), question_in, torch.tensor([2]))
        valid = float(np.abs(t_question[0, :2] - k_question[0, :2]).max())
        print(f"  torch_impl (PackedSequence, lengths [2]): valid steps {valid:.1e} apart; padded steps zeros "
              f"where Keras repeats the last valid output ({float(np.abs(k_question[0, 3] - k_question[0, 1]).max()):.1e})")
        assert valid <= 1e-15 and (t_question[0, 2:] == 0).all() and (k_question[0, 3] == k_question[0, 1]).all()
        # the answer's interior zero: the README's recipe moves the valid tokens to the front (a masked step keeps
        # the state, so the valid steps see the same sequence), packs, and puts the outputs back in place; Keras's
        # masked steps repeat the previous output
        tokens = torch.as_tensor(answer_in).long()
        order = torch.sort((tokens == 0).to(torch.int8), dim=1, stable=True).indices
        packed_out = torch_out(_MaskNet(tnn.LSTM(5, 3, batch_first=True)), tokens.gather(1, order).numpy(),
                               (tokens != 0).sum(1))
        valid_pos = np.flatnonzero(answer_in[0])
        t_answer = np.zeros_like(k_answer)
        t_answer[0, valid_pos] = packed_out[0, :len(valid_pos)]
        for t in range(1, answer_in.shape[1]):  # Keras's masked step: the previous output again
            if answer_in[0, t] == 0:
                t_answer[0, t] = t_answer[0, t - 1]
        moved = float(np.abs(t_answer - k_answer).max())
        print(f"  interior zero [[1, 0, 2, 0]]: valid tokens moved to the front, packed, put back: {moved:.1e} apart")
        assert moved <= 1e-15

"""Real "stuck / one class / NaN / diverges only in PyTorch (or only in Keras)" threads, round 38: each thread's
Keras code (small seeded data of its shapes, real Keras 3.15.1), the naive PyTorch port (plain torch: the failure
mode, measured), and the port with torch_impl as the README recommends (Keras's numbers, and the failure mode
present in both or absent in both, asserted).

The threads were read in the stored public copies (``search`` corpora "pages" and "issues"); where a copy cuts a
line, the test says what stands in for it. Sizes are scaled down and said so at each test.

1. keras-team/keras#126, "MLP example doesn't make progress" (https://github.com/keras-team/keras/issues/126):
   the README's MLP example of the day on a toy set (the thread's eight points ``X`` and ``y = X0 + X1 > 0.5``,
   used as written): ``Dense(64, init='uniform', tanh)`` -> ``Dropout(0.5)`` -> ``Dense(64, tanh)`` ->
   ``Dropout(0.5)`` -> ``Dense(1, softmax)``, ``loss='mean_squared_error'``, ``SGD(lr=0.1, decay=1e-6,
   momentum=0.9, nesterov=True)``: "the loss and validation loss don't improve ... ``predict_proba`` gives all
   ones". Keras 3 spelling: ``kernel_initializer="uniform"`` (``RandomUniform(-0.05, 0.05)``), the dropouts
   seeded (1, 2), ``decay`` dropped (Keras 3 warns and ignores it); 5 epochs of the one batch. The torch port:
   ``nn.Softmax(dim=1)`` + ``nn.MSELoss``, ``optim.SGD(lr=0.1, momentum=0.9, nesterov=True)``.
2. "Cross Entropy loss is not decreasing" (https://discuss.pytorch.org/t/cross-entropy-loss-is-not-decreasing/43814):
   the loss "always stays the same equal to 2.30" (``log(10)``, ten classes) with ``Adam``; the answer: "Check if
   you pass the softmax into the CrossEntropy loss", "Use a smaller learning rate", and its explanation, "the
   parameters ... are almost all negative, and their derivatives are all zero" (dead ReLUs). The stored copy has
   the answer, not the question's model: ``Dense(64, relu)`` x2 -> ``Dense(10, softmax)``,
   ``categorical_crossentropy``, ``Adam(0.1)`` (a high rate: the answer's second fix), 256 rows of 20 features,
   batches of 64, 4 epochs (6 in the slow runs) stands in; the torch port: the same layers with
   ``nn.Softmax(dim=1)`` last, ``nn.CrossEntropyLoss``, ``optim.Adam(lr=0.1)``.
3. keras-team/keras#9939, "good accuracy but bad prediction" (https://github.com/keras-team/keras/issues/9939):
   ``Dense(14, relu)`` -> ``Dropout(0.5)`` -> ``Dense(14, relu)`` -> ``Dropout(0.5)`` -> ``Dense(14, relu)`` ->
   ``Dense(5, sigmoid)``, ``categorical_crossentropy``, ``SGD(lr=0.01, decay=1e-6, momentum=0.001,
   nesterov=True)``, 10 epochs: "the prediction classes should be 0,1,2,3,3,4,0. but I got all zeros". The thread's
   27,134 rows of 14 features stand in as 2,048 (the slow runs; by default one epoch of 128) seeded Gaussian rows
   labelled by a random linear map's argmax, the dropouts seeded (1, 2), ``decay`` dropped. The torch port of a
   5-unit sigmoid classifier: ``torch.sigmoid(z)`` into ``nn.CrossEntropyLoss`` (class ids), ``optim.SGD`` with
   the same settings.
4. keras-team/keras#13006, "Keras training and validation accuracy always converges to 0.5"
   (https://github.com/keras-team/keras/issues/13006): the stored copy has the comments only; the fix given and
   confirmed there: "when using ``gen_train.flow_from_directory(..., class_mode='binary')`` with
   ``activation='sigmoid'`` be sure to add ``class_mode='binary'`` ... The default seems to be categorical".
   ``flow_from_directory``'s default ``class_mode="categorical"`` yields one-hot ``(N, 2)`` labels for a
   ``Dense(1, sigmoid)`` + ``binary_crossentropy`` model. Stand-in: 128 ``(8, 8, 3)`` images (class 1 brighter in
   the top half), ``Conv2D(4, 3, relu)`` -> ``MaxPooling2D`` -> ``Flatten`` -> ``Dense(16, relu)`` -> ``Dense(1,
   sigmoid)``, ``adam``, the labels as the generator yields them; the fixed script (``(N,)`` labels) 1 epoch by
   default, 4 in the slow runs. The torch port: ``nn.BCEWithLogitsLoss``, and the hand-written
   ``-(y log p + (1 - y) log(1 - p)).mean()`` (and ``((p > 0.5) == y).mean()``) of many scripts, ``Adam(0.01)``.

Measured (float64; float32 in brackets, ``slow``): "naive" is the thread's port, "torch_impl" the README's port,
histories compared every epoch (max relative error over every key).

===  ===========================================================  ==============================================
 #   naive port (the failure mode)                                torch_impl
===  ===========================================================  ==============================================
 1   loss 0.5 every epoch (the share of negatives), every         loss 0.0 apart (0.0): the same stall, weights
     gradient exactly 0, weights moved 0.0; Keras the same        moved 0.0 in both; Keras's warning "softmax
     (weights moved 0.0, every prediction 1.0): stuck in both     over axis -1 ... has size 1" now raised by
                                                                  torch_impl too (it was silent: fixed)
 2   6 epochs: loss 2.240 -> 2.183 (near ``log(10)``), accuracy   loss, accuracy 6.5e-15 (4.0e-7): Keras's
     0.27, 25 of 64 second-layer units dead; Keras at the same    training in both
     rate: 2.889 -> 0.411, accuracy 0.87, with 35 dead units:
     stuck only in torch, and not from dead units
 3   loss 1.623 -> 1.585 (``log(5)`` = 1.609), 1,789 of 2,048     loss, accuracy 2.9e-16 (1.5e-7): Keras's
     rows predicted class 0; Keras: 1.746 -> 1.515, accuracy      training and Keras's predicted-class
     0.21 -> 0.32, classes [400, 0, 0, 1081, 567]. [float32       histogram in both (one class for 94% of
     draw: naive 1.630 -> 1.599; Keras 1.713 -> 1.534, class 0    the rows from the float32 draw, as Keras)
     for 1,922 of 2,048: the thread's symptom in Keras itself]
 4   ``BCEWithLogitsLoss`` raises "Target size ... must be the    raises as Keras 3 does ("must have the same
     same as input size"; the hand-written BCE broadcasts         shape"); the ``(N,)`` labels: loss, accuracy
     ``(N, 2)`` against ``(N, 1)`` silently: outputs 0.46 -       0.0 apart (1.0e-7): Keras's training in both
     0.53, loss 0.6934 (``log 2`` = 0.6931), the hand-written
     accuracy exactly 0.5: the thread's stall (Keras 3 raises)
===  ===========================================================  ==============================================

Findings.

* 1) The thread's model is stuck for a reason the thread does not name, and in both frameworks: a softmax over
  one unit is exactly 1 whatever its input (``exp(z - z) / 1``), so its derivative is exactly 0 and with
  ``mean_squared_error`` (a loss on the probabilities: Keras hands logits only to the crossentropies,
  ``keras/src/backend/tensorflow/nn.py`` 1267-1269) no weight ever moves; the loss is the constant share of
  negatives, 0.5 here. (With ``binary_crossentropy`` instead, Keras trains the logits behind the softmax: README
  row "one-unit softmax output", ``test_field_scripts_round21.py``.) Keras 3 warns at every one-unit softmax
  (``keras/src/ops/nn.py`` 954-966); torch_impl's softmax activation did not: it now warns the same words
  (where ``fit`` hands a crossentropy the logits it computes no softmax, so it warns from ``predict`` there).
* 2) The answer's first fix is the cause; its explanation is not. ``nn.CrossEntropyLoss`` soft-maxes the softmax
  output again: the loss cannot go below ``log(e + 9) - 1`` = 1.461, and from ten near-uniform outputs in
  ``[0, 1]`` its gradient is small, so at a rate where Keras trains the port sits near ``log(10)`` = 2.303.
  Dead ReLUs are there, but they are not what stalls it: Keras at the same rate has more of them (35 of 64
  against 25) and trains. torch_impl's ``fit(output_activation="softmax")`` with the logits out is Keras's
  training. (The double softmax is the README row "``from_logits=True`` on a softmax output".)
* 3) ``categorical_crossentropy`` on a sigmoid output is not a bug in Keras: Keras divides the outputs by their
  row sum first (``keras/src/backend/tensorflow/nn.py`` 1372; README row "CCE from probabilities"), so it
  trains a normalised-sigmoid classifier. Whether that classifier ends up predicting one class for most rows
  depends on the initial draw, in Keras itself (class 0 for 94% of the rows from the float32 draw, 20% from the
  float64 one): the thread's "all zeros" can be Keras's own. The naive torch port is another model:
  ``nn.CrossEntropyLoss`` on sigmoid outputs is a softmax of numbers in ``(0, 1)``, whose loss stays near
  ``log(5)`` (it falls 0.04 where Keras's falls 0.23). torch_impl with ``output_activation="sigmoid"`` and
  ``categorical_crossentropy`` is Keras's normalised form: Keras's history and Keras's predicted classes, the
  one-class outcome present in both or absent in both.
* 4) The thread's stall (``log 2``, accuracy 0.5) came from Keras 2 broadcasting ``(N, 2)`` one-hot targets
  against the ``(N, 1)`` sigmoid: the mean of ``bce(1, p)`` and ``bce(0, p)`` for every image is minimised at
  ``p = 0.5`` whatever the image, and an elementwise accuracy over the two columns is exactly 0.5 whatever
  ``p``. Keras 3 refuses it (``binary_crossentropy`` raises "Arguments `target` and `output` must have the same
  shape", ``keras/src/backend/tensorflow/nn.py`` 1466-1471), as torch's ``BCEWithLogitsLoss`` does; only a
  hand-written BCE still broadcasts into the thread's stall. torch_impl raises the same error; with the fix
  (``class_mode="binary"``: ``(N,)`` labels) it trains as Keras.
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
from parity_tests.test_field_scripts_round27 import _keras_moved, _moved  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl.nn import Dropout, load_keras_weights  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]


def _torch_epochs(net, xt, target, loss_fn, opt, epochs, bs):
    """The usual torch loop; the epoch loss weighted by batch size (Keras's history)."""
    hist = []
    for _ in range(epochs):
        net.train()
        total = 0.0
        for i in range(0, len(xt), bs):
            opt.zero_grad()
            loss = loss_fn(net(xt[i:i + bs]), target[i:i + bs])
            loss.backward()
            opt.step()
            total += loss.item() * len(xt[i:i + bs])
        hist.append(total / len(xt))
    net.eval()
    return hist


# --------------------------------------------------------------------------------------------------------------
# 1. keras-team/keras#126: Dense(1, softmax) + mean_squared_error: stuck in both
# --------------------------------------------------------------------------------------------------------------


class _Mlp126(torch.nn.Module):
    """The thread's MLP; the logits of the one-unit output out."""

    def __init__(self, dropout):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = torch.nn.Linear(2, 64), torch.nn.Linear(64, 64), torch.nn.Linear(64, 1)
        self.drop1, self.drop2 = dropout(1), dropout(2)

    def forward(self, x):
        return self.fc3(self.drop2(torch.tanh(self.fc2(self.drop1(torch.tanh(self.fc1(x)))))))


_X126 = np.array([[0.0, 0.1], [0.6, 0.8], [0.1, 0.2], [0.9, 0.8], [0.9, 0.7], [0.3, 0.0], [0.2, 0.2], [0.5, 0.9]])


@pytest.mark.parametrize("dt", DTYPES)
def test_one_unit_softmax_with_mse_stuck_in_both(dt):
    seed, epochs = 126, 5
    x, y = _X126, (_X126[:, 0] + _X126[:, 1] > 0.5).astype("float64")
    size_one = "softmax over axis -1 .* has size 1"
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        with pytest.warns(UserWarning, match="`decay` is no longer supported"):
            sgd = keras.optimizers.SGD(learning_rate=0.1, decay=1e-6, momentum=0.9, nesterov=True)
        km = keras.Sequential([keras.Input((2,)), layers.Dense(64, kernel_initializer="uniform", activation="tanh"),
                               layers.Dropout(0.5, seed=1),
                               layers.Dense(64, kernel_initializer="uniform", activation="tanh"),
                               layers.Dropout(0.5, seed=2),
                               layers.Dense(1, kernel_initializer="uniform", activation="softmax")])
        km.compile(loss="mean_squared_error", optimizer=sgd, run_eagerly=True)  # as traced, faster for 5 steps
        initial = km.get_weights()
        with pytest.warns(UserWarning, match=size_one):
            kh = km.fit(x, y, epochs=epochs, verbose=0).history
            k_pred = km.predict(x, verbose=0).ravel()
        k_moved = _keras_moved(km, initial)
        print(f"\n  Keras: loss {kh['loss']}, weights moved {k_moved}, predictions {k_pred.tolist()}")
        # stuck: the loss is the share of negatives every epoch, no weight moves, every prediction is 1
        assert kh["loss"] == [float(np.mean(y == 0))] * epochs and k_moved == 0.0 and (k_pred == 1.0).all()

        # (b) the naive port: nn.Softmax(dim=1) over the one unit + nn.MSELoss, torch's nesterov SGD
        net = _Mlp126(lambda s: torch.nn.Dropout(0.5))
        load_keras_weights(net, initial)
        before = [p.detach().clone() for p in net.parameters()]
        xt, yt = torch.as_tensor(x, dtype=tdt), torch.as_tensor(y, dtype=tdt)[:, None]
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True)
        hist = _torch_epochs(net, xt, yt, lambda z, t: torch.nn.functional.mse_loss(torch.softmax(z, dim=1), t),
                             opt, epochs, 32)
        grads = max(float(p.grad.abs().max()) for p in net.parameters())
        print(f"  naive port: loss {hist}, largest gradient {grads}, weights moved {_moved(net, before)}")
        assert hist == kh["loss"] and grads == 0.0 and _moved(net, before) == 0.0  # the same stall

        # (c) torch_impl: the logits out, the softmax named: the same stall, and Keras's warning
        net = _Mlp126(lambda s: Dropout(0.5, seed=s))
        load_keras_weights(net, initial)
        with pytest.warns(UserWarning, match=size_one):
            th = tfit.fit(net, x, y, loss="mean_squared_error", output_activation="softmax", epochs=epochs,
                          optimizer=optim.SGD(net.parameters(), learning_rate=0.1, momentum=0.9, nesterov=True),
                          seed=seed, verbose=0).history
        _final_check(th, kh, dt)
        t_moved = _moved(net, before)
        print(f"  torch_impl weights moved {t_moved}")
        assert t_moved == 0.0


# --------------------------------------------------------------------------------------------------------------
# 2. "Cross Entropy loss is not decreasing": nn.Softmax + nn.CrossEntropyLoss stays near log(10)
# --------------------------------------------------------------------------------------------------------------


def _ten_class_data(n=256, d=20, classes=10, seed=43):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    labels = (x @ rng.normal(size=(d, classes))).argmax(1)
    return x, labels


def _dead_units(h) -> int:
    return int((np.asarray(h).max(0) == 0).sum())


@pytest.mark.parametrize("dt, epochs", [("float64", 4), pytest.param("float64", 6, marks=pytest.mark.slow),
                                        pytest.param("float32", 6, marks=pytest.mark.slow)])
def test_double_softmax_stuck_near_log_c_only_in_torch(dt, epochs):
    seed, bs, lr = 43, 64, 0.1
    x, labels = _ten_class_data()
    y = np.eye(10)[labels]
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((20,)), layers.Dense(64, activation="relu"),
                               layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")])
        km.compile(keras.optimizers.Adam(lr), loss="categorical_crossentropy", metrics=["accuracy"], run_eagerly=True)
        initial = km.get_weights()
        kh = km.fit(x, y, batch_size=bs, epochs=epochs, verbose=0).history
        k_dead = _dead_units(km.layers[1](km.layers[0](x)))
        print(f"\n  Keras Adam({lr}): loss {np.round(kh['loss'], 4).tolist()} accuracy "
              f"{np.round(kh['accuracy'], 4).tolist()}; dead second-layer units {k_dead} of 64")
        assert kh["loss"][-1] < kh["loss"][0] - 0.5 and kh["accuracy"][-1] > 0.6  # trains

        # (b) the naive port: nn.Softmax(dim=1) last, nn.CrossEntropyLoss soft-maxes it again; torch's Adam
        net = torch.nn.Sequential(torch.nn.Linear(20, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(),
                                  torch.nn.Linear(64, 10))
        load_keras_weights(net, initial)
        naive = torch.nn.Sequential(net, torch.nn.Softmax(dim=1))
        xt, lt = torch.as_tensor(x, dtype=tdt), torch.as_tensor(labels)
        hist = _torch_epochs(naive, xt, lt, torch.nn.CrossEntropyLoss(), torch.optim.Adam(net.parameters(), lr=lr),
                             epochs, bs)
        with torch.no_grad():
            acc = float((naive(xt).argmax(1) == lt).double().mean())
            n_dead = _dead_units(net[:4](xt))
        floor = np.log(np.e + 9) - 1
        print(f"  naive port: loss {np.round(hist, 4).tolist()} (log 10 = {np.log(10):.4f}, floor {floor:.4f}); "
              f"accuracy {acc:.4f}; dead units {n_dead} of 64")
        # flat near log(10), far above Keras's, at chance-like accuracy, with fewer dead units than Keras's
        assert max(hist) - min(hist) < 0.25 and min(hist) > 2.0 > kh["loss"][-1] + 0.5 and acc < 0.4
        assert n_dead < k_dead

        # (c) torch_impl: the logits out, the softmax named: Keras's training
        load_keras_weights(net, initial)
        th = tfit.fit(net, x, y, loss="categorical_crossentropy", optimizer=optim.Adam(net.parameters(), lr),
                      output_activation="softmax", metrics=["accuracy"], batch_size=bs, epochs=epochs, seed=seed,
                      verbose=0).history
        _final_check(th, kh, dt)


# --------------------------------------------------------------------------------------------------------------
# 3. keras-team/keras#9939: Dense(5, sigmoid) + categorical_crossentropy; CrossEntropyLoss on sigmoids in torch
# --------------------------------------------------------------------------------------------------------------


class _Mlp9939(torch.nn.Module):
    def __init__(self, dropout):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = torch.nn.Linear(14, 14), torch.nn.Linear(14, 14), torch.nn.Linear(14, 14)
        self.out = torch.nn.Linear(14, 5)
        self.drop1, self.drop2 = dropout(1), dropout(2)

    def forward(self, x):
        h = self.drop2(torch.relu(self.fc2(self.drop1(torch.relu(self.fc1(x))))))
        return self.out(torch.relu(self.fc3(h)))


@pytest.mark.parametrize("dt, n, epochs", [("float64", 128, 1), pytest.param("float64", 2048, 10, marks=pytest.mark.slow),
                                           pytest.param("float32", 2048, 10, marks=pytest.mark.slow)])
def test_sigmoid_with_categorical_crossentropy_stalls_only_in_torch(dt, n, epochs):
    seed, bs = 38, 32
    full = n == 2048  # the thread's 10 epochs; by default one epoch of 128 rows: parity, the naive loss at log(5)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2048, 14))
    labels = (x @ rng.normal(size=(14, 5))).argmax(1)
    x, labels = x[:n], labels[:n]
    y = np.eye(5)[labels]
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((14,)), layers.Dense(14, activation="relu"), layers.Dropout(0.5, seed=1),
                               layers.Dense(14, activation="relu"), layers.Dropout(0.5, seed=2),
                               layers.Dense(14, activation="relu"), layers.Dense(5, activation="sigmoid")])
        km.compile(keras.optimizers.SGD(learning_rate=0.01, momentum=0.001, nesterov=True),
                   loss="categorical_crossentropy", metrics=["accuracy"], run_eagerly=not full)
        initial = km.get_weights()
        kh = km.fit(x, y, batch_size=bs, epochs=epochs, verbose=0).history
        k_pred = km.predict(x, verbose=0).argmax(1)
        print(f"\n  Keras: loss {np.round(kh['loss'], 4).tolist()} accuracy {np.round(kh['accuracy'], 4).tolist()}; "
              f"predicted classes {_histogram(k_pred, 5)}")
        if full:
            assert kh["loss"][-1] < kh["loss"][0] - 0.1

        # (b) the naive port: sigmoid outputs into nn.CrossEntropyLoss (a softmax of numbers in (0, 1))
        net = _Mlp9939(lambda s: torch.nn.Dropout(0.5))
        load_keras_weights(net, initial)
        torch.manual_seed(seed)
        xt, lt = torch.as_tensor(x, dtype=tdt), torch.as_tensor(labels)
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.001, nesterov=True)
        hist = _torch_epochs(net, xt, lt, lambda z, t: torch.nn.functional.cross_entropy(torch.sigmoid(z), t), opt,
                             epochs, bs)
        with torch.no_grad():
            n_pred = net(xt).argmax(1).numpy()
        print(f"  naive port: loss {np.round(hist, 4).tolist()} (log 5 = {np.log(5):.4f}); predicted classes "
              f"{_histogram(n_pred, 5)}")
        assert abs(hist[-1] - np.log(5)) < 0.05  # near log(5) from the start
        if full:  # and there it stays, falling less than half as far as Keras's
            assert hist[0] - hist[-1] < 0.5 * (kh["loss"][0] - kh["loss"][-1])

        # (c) torch_impl: the logits out, the sigmoid named: Keras's normalised crossentropy, its training, and
        # its predicted classes (one class for most rows from the float32 draw, spread from the float64 one)
        net = _Mlp9939(lambda s: Dropout(0.5, seed=s))
        load_keras_weights(net, initial)
        th = tfit.fit(net, x, y, loss="categorical_crossentropy", output_activation="sigmoid", metrics=["accuracy"],
                      optimizer=optim.SGD(net.parameters(), learning_rate=0.01, momentum=0.001, nesterov=True),
                      batch_size=bs, epochs=epochs, seed=seed, verbose=0).history
        _final_check(th, kh, dt)
        t_pred = tfit.predict(net, x, output_activation="sigmoid", verbose=0).argmax(1)
        print(f"  torch_impl predicted classes {_histogram(t_pred, 5)}")
        assert _histogram(t_pred, 5) == _histogram(k_pred, 5)


# --------------------------------------------------------------------------------------------------------------
# 4. keras-team/keras#13006: class_mode="categorical" (one-hot (N, 2)) labels for a Dense(1, sigmoid) model
# --------------------------------------------------------------------------------------------------------------


class _Cnn13006(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.fc1, self.fc2 = torch.nn.Linear(36, 16), torch.nn.Linear(16, 1)

    def forward(self, x):
        h = torch.nn.functional.max_pool2d(torch.relu(self.conv(x.permute(0, 3, 1, 2))), 2)
        return self.fc2(torch.relu(self.fc1(h.permute(0, 2, 3, 1).flatten(1))))  # Keras's Flatten order


def _keras_cnn13006():
    return keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(),
                             layers.Flatten(), layers.Dense(16, activation="relu"),
                             layers.Dense(1, activation="sigmoid")])


@pytest.mark.parametrize("dt, epochs", [("float64", 1), pytest.param("float64", 4, marks=pytest.mark.slow),
                                        pytest.param("float32", 4, marks=pytest.mark.slow)])
def test_categorical_labels_for_one_sigmoid_raise_in_both(dt, epochs):
    seed, bs, naive_epochs = 13, 32, 12
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=128)
    x = rng.normal(size=(128, 8, 8, 3)) * 0.5
    x[labels == 1, :4] += 1.0
    y_categorical = np.eye(2)[labels]  # what flow_from_directory's default class_mode="categorical" yields
    same_shape = "must have the same shape"
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        km = _keras_cnn13006()
        km.compile("adam", loss="binary_crossentropy", metrics=["accuracy"], run_eagerly=True)
        initial = km.get_weights()
        with pytest.raises(ValueError, match=same_shape):
            km.fit(x, y_categorical, batch_size=bs, epochs=epochs, verbose=0)
        km = _keras_cnn13006()  # a fresh model: the failed fit leaves its traced step behind
        km.set_weights(initial)
        km.compile("adam", loss="binary_crossentropy", metrics=["accuracy"], run_eagerly=True)
        kh = km.fit(x, labels, batch_size=bs, epochs=epochs, verbose=0).history  # the fix: class_mode="binary"
        print(f"\n  Keras: (N, 2) labels raise; (N,) labels: loss {np.round(kh['loss'], 4).tolist()} accuracy "
              f"{np.round(kh['accuracy'], 4).tolist()}")

        # (b) the naive ports: BCEWithLogitsLoss raises; the hand-written BCE broadcasts (N, 2) against (N, 1)
        net = _Cnn13006()
        load_keras_weights(net, initial)
        xt, yt = torch.as_tensor(x, dtype=tdt), torch.as_tensor(y_categorical, dtype=tdt)
        with pytest.raises(ValueError, match="must be the same as input size"):
            torch.nn.BCEWithLogitsLoss()(net(xt[:bs]), yt[:bs])

        def hand_bce(z, t):
            p = torch.sigmoid(z)
            return -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).mean()

        hist = _torch_epochs(net, xt, yt, hand_bce, torch.optim.Adam(net.parameters(), lr=0.01), naive_epochs, bs)
        with torch.no_grad():
            p = torch.sigmoid(net(xt))
        acc = float(((p > 0.5).to(tdt) == yt).to(tdt).mean())  # the hand-written accuracy broadcasts too
        p = p.numpy().ravel()
        print(f"  naive hand-written BCE (Adam 0.01, {naive_epochs} epochs): loss {np.round(hist, 4).tolist()} "
              f"(log 2 = {np.log(2):.4f}); outputs {p.min():.4f} .. {p.max():.4f}; accuracy {acc} (against the "
              f"(N,) labels {float(((p > 0.5) == labels).mean()):.4f})")
        # the thread's stall: log 2, every output near 0.5, accuracy exactly 0.5 (one of the two columns is right)
        assert abs(hist[-1] - np.log(2)) < 1e-3 and np.abs(p - 0.5).max() < 0.05 and acc == 0.5

        # (c) torch_impl: Keras's error for the (N, 2) labels; the fixed labels train as Keras's
        load_keras_weights(net, initial)
        with pytest.raises(ValueError, match=same_shape):
            tfit.fit(net, x, y_categorical, loss="binary_crossentropy", optimizer=optim.Adam(net.parameters()),
                     output_activation="sigmoid", batch_size=bs, epochs=epochs, seed=seed, verbose=0)
        load_keras_weights(net, initial)
        th = tfit.fit(net, x, labels, loss="binary_crossentropy", optimizer=optim.Adam(net.parameters()),
                      output_activation="sigmoid", metrics=["accuracy"], batch_size=bs, epochs=epochs, seed=seed,
                      verbose=0).history
        _final_check(th, kh, dt)

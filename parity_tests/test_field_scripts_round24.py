"""Real "my loss / class weights differ between Keras and PyTorch" questions, round 24: each question's Keras code
(its numbers, or small seeded data of its shapes, real Keras 3.15.1), the asker's naive PyTorch port as written (plain
torch: the pitfall, measured and asserted to differ), and the port with torch_impl as the README recommends (Keras's
numbers, asserted: float64 1e-12 relative for values, 1e-10 for gradients, histories per DESIGN.md).

The threads were read in the stored public copies (``search`` corpora "pages" and "issues"); where a copy cuts a
line, the test says what stands in for it. Sizes are scaled down and said so at each test.

1. StackOverflow 75394509, "tf.keras.losses.categorical_crossentropy returns wrong value" (Japanese copy
   https://isolution.pro/q/so75394509/tf-keras-losses-categorical-crossentropy-ga-machigatta-ne-o-kaesu):
   ``categorical_crossentropy(to_categorical(16, num_classes=27), y_pred, from_logits=True)`` on the question's
   softmax output (printed in full) gives 2.3575358 where ``-np.sum(y * np.log(y_pred))`` gives 2.1457695e-06;
   "the loss stays at 2.3575 while the accuracy reaches 100%". The copy holds the question, not the model: a
   ``Dense(27, "softmax")`` on 6 clustered features (108 samples) with ``CategoricalCrossentropy(from_logits=True)``
   stands in; its torch port ``nn.Sequential(nn.Linear, nn.Softmax(dim=1))`` + ``nn.CrossEntropyLoss``.
2. StackOverflow 67615051, "Implementing Binary Cross Entropy loss gives different answer than Tensorflow's" (copy
   https://kiwix.lema.org/stackoverflow.com_en_all_2023-11/questions/67615051/implementing-binary-cross-entropy-loss-gives-different-answer-than-tensorflow-):
   ``y_true = [[1, 1, 1]]``, ``y_pred = [[1, 1, 0]]``, ``BinaryCrossentropy()`` gives 5.1416 (the answer, older
   tf.keras), the answer's NumPy formula with ``1e-7`` inside the logs 5.1416 too. The copy keeps the answer only;
   the torch port a torch user writes: ``nn.BCELoss()(y_pred, y_true)``.
3. StackOverflow 75735708, BinaryCrossentropy from probabilities vs ``from_logits=True`` (copy
   https://example-a.com/answer/75735708): ``a = [[0, 0, 1, 1], [0, 1, 0, 1]]``, ``b = [[18, -20, 20, 20], [-18, 0,
   -10, 12]]``; ``BinaryCrossentropy()(a, tf.sigmoid(b))`` 2.0148 against ``BinaryCrossentropy(from_logits=True)(a,
   b)`` 2.3366 (float64); the answer: Keras's epsilon. Port: ``F.binary_cross_entropy(torch.sigmoid(b), a)``.
4. StackOverflow 68427532, "tf.keras.losses.CategoricalCrossentropy gives different values than plain
   implementation" (copy
   https://kiwix.lema.org/stackoverflow.com_en_all_2023-11/questions/68427532/tf-keras-losses-categoricalcrossentropy-gives-different-values-than-plain-impl):
   ``y_true = eye(3)``, ``y_pred = [[.9, .05, .05], [.5, .89, .6], [.05, .01, .94]]``: Keras 0.80467 on the second
   row, ``np.sum(-y_true * np.log(y_pred), axis=1)`` 0.11653. The copy keeps the answer (the question's formula is
   quoted there); the torch port: ``nn.NLLLoss(reduction="none")(torch.log(y_pred), labels)``.
5. pytorch/pytorch#54843, "Inconsistent behaviour with `weight` argument in CrossEntropyLoss and BCEWithLogitsLoss"
   (https://github.com/pytorch/pytorch/issues/54843): ``F.cross_entropy(sm_score, sm_target, weight=[1, 3])``
   0.5471 against ``F.binary_cross_entropy_with_logits(b_score, b_target, weight=[3, 1, 1])`` 0.9118 on the same
   three samples. The Keras side: ``fit(class_weight={0: 1, 1: 3})``; a ``Dense(2)`` logits classifier (96
   samples, 4 features, SGD, batches of 32) for the training part.
6. pytorch/pytorch#50528, "The computation of weighted CrossEntropyLoss is not reasonable"
   (https://github.com/pytorch/pytorch/issues/50528): "if ``batch_size=1``, the ``weight`` argument does not work".
   The copy cuts the second script after ``ce_loss = torch.nn.CrossEntr``: ``CrossEntropyLoss(weight=class_weight)``
   on one sample stands in. The Keras side: ``fit(class_weight={0: 1, 1: 4}, batch_size=1)`` of a ``Dense(2)``
   logits classifier (24 samples, 2 epochs, SGD); the port: the same loop with ``nn.CrossEntropyLoss(weight=...)``.
7. pytorch/pytorch#60928, "Negative loss value of nn.KLDivLoss" (https://github.com/pytorch/pytorch/issues/60928):
   ``nn.KLDivLoss()(output.log(), target)`` with ``output = [[0.1132, 0.5477, 0.3390]]``, ``target = [[0.1541,
   0.0511, 0.0947]]``: -0.0648. The Keras loss the asker's numbers stand for: ``keras.losses.KLDivergence()(target,
   output)``.
8. tensorflow/tensorflow#37896, "tf.keras.losses.cosine_similarity() is not a negative quantity"
   (https://github.com/tensorflow/tensorflow/issues/37896): ``cosine_similarity([[1., 1.]], [[-1., -1.]])`` gives
   0.99999994 where the documentation promised a value in ``[-1, 0]``. Port: ``F.cosine_similarity(y_true,
   y_pred)``.

Measured (float64 unless said; float32 history runs are ``slow``): "naive" is the question's port against Keras,
"torch_impl" the README's port.

===  ==========================================================  ================================================
 #   naive port (the pitfall)                                     torch_impl
===  ==========================================================  ================================================
 1   the question's formula 2.1e-6 against Keras's 2.3575358;     2.3575358390808105 (float32), 0 apart;
     trained: ``nn.Softmax`` + ``nn.CrossEntropyLoss`` stays     ``fit`` loss, accuracy 4.2e-16 (float32 3.4e-7),
     above the floor log(e + 26) - 1 = 2.357534 (2.734 after 8   below the floor like Keras, with Keras's
     epochs, accuracy 0.70) while Keras 3 falls to 0.199          warning
     (accuracy 1.0)
 2   ``nn.BCELoss`` 33.333 (log clamped at -100), gradient        5.37269861698611, 0 apart; gradient 0 apart
     -3.3e11 at the zero prediction; Keras 3 5.372699
     (``-log(1e-7) / 3``, gradient 0 there; the answer's
     5.1416 is Keras 2's ``log(p + 1e-7)``)
 3   ``F.binary_cross_entropy(sigmoid(b))`` 2.3366498 = the       2.1014118468921668, 0 apart; from logits
     logits number (1.1e-10 apart); Keras 3 from probabilities    2.336649845037007, 0 apart
     2.1014118 (the question's older Keras: 2.0148)
 4   ``NLLLoss(log p)`` 0.11653 on the row summing to 1.99        values 1.4e-16 relative; gradient 0 apart
     (Keras 0.80467); its gradient 1.00 apart (the row-sum
     term ``1 / sum(p)``, on every row)
 5   ``CrossEntropyLoss(weight=[1, 3])`` 0.547065 = Keras's       0.9117744986543471, 0 apart; ``fit(class_weight)``
     0.911774 x N / sum(w) (the issue's BCE number is Keras's);   loss 1.2e-16 (float32 0), weights 1.1e-16
     trained: weights 9.5e-2 off Keras's (float32 9.1e-2)         (float32 3.0e-8)
 6   batch of 1: the weighted and the unweighted torch loops      loss 0 apart (float32 2.3e-7), weights 1.1e-16
     train identically (0 apart), 4.1e-1 off Keras's weights      (float32 6.0e-8)
 7   ``nn.KLDivLoss()`` -0.064815 = Keras's -0.194444 / 3         -0.194444, 0 apart; gradient 5.6e-17
     (``"batchmean"`` is Keras's here)
 8   ``F.cosine_similarity`` -0.99999994 where Keras's loss is    float32 0.99999994, 0 apart; float64 rows
     +0.99999994 (float32); the opposite sign on every row        1.1e-16, gradient 1.1e-16
===  ==========================================================  ================================================

Findings.

* 1) The question's ``from_logits=True`` on softmax probabilities soft-maxes them again: a confident prediction
  ``e_16`` costs ``log(e + 26) - 1`` = 2.35753 (the floor of the loss: the question's "stays at 2.3575 with 100%
  accuracy"), the standalone call's value. Keras 3 no longer trains that way: inside ``fit`` a softmax output
  carries its logits (``output._keras_logits``) and ``_get_logits`` hands them to the loss *because*
  ``from_logits=True``, with a warning (``keras/src/backend/tensorflow/nn.py`` 1267-1270 and 1287-1294): Keras
  trains on the right crossentropy (0.199 after 8 epochs, accuracy 1.0), while the torch port ``nn.Softmax`` +
  ``nn.CrossEntropyLoss`` stays above the floor: in PyTorch the question's failure is still there.
* 2) Keras 3 clips the probabilities to ``[1e-7, 1 - 1e-7]`` and takes ``log`` of the clipped value with no
  epsilon added (``keras/src/backend/tensorflow/nn.py`` 1484-1489): ``-log(1e-7) / 3`` = 5.372699; the answer's
  5.1416 (``log(p + 1e-7)``) is Keras 2's formula, now 4.3% off. ``nn.BCELoss`` clamps the log at -100: 33.33,
  with a gradient of -3.3e11 at the zero prediction where Keras's is 0 (clipped).
* 3) The answer (Keras's epsilon) is right; the question's 2.0147683492886337 is Keras 2's clip plus ``log(p +
  1e-7)``, reproduced to the last digit; Keras 3 (clip only) gives 2.1014118468921668. torch's ``binary_cross_entropy`` does not clip at 1e-7 (its log
  clamp is at -100), so on probabilities it gives the *logits* number (2.3366, 1.1e-10 apart): the port of a
  probability model differs from Keras by 0.235 on these saturated outputs.
* 4) The answer is right: Keras divides the probabilities by their row sum first (``keras/src/backend/tensorflow/
  nn.py`` 1372); ``NLLLoss(log(p))`` does not, and its gradient lacks the row-sum term ``1 / sum(p)`` in every entry,
  so it is 1.0 apart even on the rows that sum to 1 (where the values agree).
* 5) torch's weighted ``"mean"`` divides by the sum of the targets' weights, Keras's ``class_weight`` by the number
  of samples (``keras/src/losses/loss.py`` 148-159 through ``sum_over_batch_size``): 0.54706 = 0.91177 x 3 / 5 on
  the issue's numbers, and the issue's ``BCEWithLogitsLoss(weight=...)`` (per sample, divided by N) is Keras's
  number. Trained with SGD, every batch's step is rescaled by ``N / sum(w)`` in torch: the weights end 9.5e-2 off.
* 6) The issue's claim holds exactly: on a batch of one, ``weight[c] l / weight[c] = l``; the weighted and the
  unweighted torch loops give identical weights, so the class weights do nothing with ``batch_size=1``, where
  Keras's ``fit(class_weight=..., batch_size=1)`` scales each step by the sample's class weight.
* 7) The issue's target does not sum to 1, so the KL divergence can be negative in both; Keras sums over the classes
  (``keras/src/losses/losses.py`` 2104-2106, both clipped to ``[1e-7, 1]``), torch's default ``"mean"`` also
  divides by the 3 classes (``"batchmean"`` is Keras's here). torch's order is ``(log q, p)``, Keras's ``(p, q)``.
* 8) Keras's ``cosine_similarity`` is the *negative* cosine (``keras/src/losses/losses.py`` 1956-1958), a loss to
  minimise; the issue is a documentation issue (fixed upstream); ``F.cosine_similarity`` is the cosine itself, so
  a port that uses it as the loss maximises the distance. float32's 0.99999994 comes from the normalisation's
  rounding (Keras's ``x * minimum(rsqrt(sum(x^2)), 1 / 1e-7)``, ``keras/src/ops/nn.py`` 2723-2729), reproduced bit
  for bit by torch_impl (torch's ``F.cosine_similarity`` rounds to the same magnitude).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402

from parity_tests.test_field_scripts_round2 import (  # noqa: E402
    DTYPES, _final_check, _precision, _rel)
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, optim  # noqa: E402
from torch_impl.nn import load_keras_weights  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]


def _weights_apart(net: torch.nn.Module, keras_weights) -> float:
    """max |torch - Keras| over the ``nn.Linear`` stack's weights (Keras kernels transposed)."""
    return max(float(np.abs(p.detach().numpy() - (k.T if k.ndim == 2 else k)).max())
               for p, k in zip(net.parameters(), keras_weights))


# --------------------------------------------------------------------------------------------------------------
# 1. SO 75394509: from_logits=True on softmax probabilities (softmax twice): the floor log(e + C - 1) - 1
# --------------------------------------------------------------------------------------------------------------

_Q_PRED = np.array([1.1868494e-08, 1.8747659e-09, 1.2777099e-11, 3.6140797e-08, 6.5852622e-11, 2.2888577e-10,
                    1.4515833e-09, 2.8392664e-09, 4.7054605e-10, 9.5605066e-11, 9.3647139e-13, 2.6149302e-10,
                    2.5338919e-14, 4.8815413e-10, 3.9381631e-14, 2.1434269e-06, 9.9999785e-01, 3.0857247e-08,
                    1.3536775e-09, 4.6811921e-10, 3.0638234e-10, 2.0818169e-09, 2.9950772e-10, 1.0457132e-10,
                    3.2959850e-11, 3.4232595e-10, 5.1689473e-12], dtype=np.float32)


def test_from_logits_on_softmax_probabilities_values():
    y = keras.utils.to_categorical(16, num_classes=27)
    k = float(keras.losses.categorical_crossentropy(y, _Q_PRED, from_logits=True))  # the question's call (float32)
    formula = float(-np.sum(y * np.log(_Q_PRED)))  # the question's formula
    floor = float(np.log(np.e + 26) - 1)
    # (b) the formula in torch: the port of "categorical crossentropy" from the probabilities
    yt, pt = torch.as_tensor(y)[None], torch.as_tensor(_Q_PRED)[None]
    naive = -(yt * torch.log(pt)).sum().item()
    # (c) torch_impl: Keras's function, the same arguments
    t = losses.categorical_crossentropy(yt, pt, from_logits=True).item()
    print(f"\n  Keras {k!r} (the question's 2.3575358); the formula {formula:.7e} (torch {naive:.7e}); "
          f"floor log(e + 26) - 1 = {floor:.7f}; torch_impl {t!r} ({abs(t - k):.1e} apart)")
    assert abs(k - 2.3575358) < 1e-6 and abs(k - floor) < 1e-5 and abs(formula - 2.1457695e-06) < 1e-12
    assert abs(naive - k) > 2.3
    assert t == k


def _clusters(n_per=4, classes=27, d=6, seed=24):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(classes, d)) * 3
    labels = np.repeat(np.arange(classes), n_per)
    x = centers[labels] + 0.3 * rng.normal(size=(len(labels), d))
    return x, labels


@pytest.mark.parametrize("dt", DTYPES)
def test_from_logits_on_softmax_output_fit(dt):
    seed, epochs, bs, lr = 24, 8, 36, 0.1
    x, labels = _clusters()
    y = np.eye(27)[labels]
    floor = float(np.log(np.e + 26) - 1)
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((6,)), layers.Dense(27, activation="softmax")])
        km.compile(keras.optimizers.Adam(lr), loss=keras.losses.CategoricalCrossentropy(from_logits=True),
                   metrics=["accuracy"])
        initial = km.get_weights()
        kh = km.fit(x, y, batch_size=bs, epochs=epochs, shuffle=False, verbose=0).history

        # (b) the torch port: Linear + Softmax(dim=1), nn.CrossEntropyLoss on the probabilities (softmax twice)
        naive = torch.nn.Sequential(torch.nn.Linear(6, 27), torch.nn.Softmax(dim=1))
        load_keras_weights(naive, initial)
        crit, opt = torch.nn.CrossEntropyLoss(), torch.optim.Adam(naive.parameters(), lr=lr)
        xt, lt = torch.as_tensor(x, dtype=tdt), torch.as_tensor(labels)
        hist = []
        for _ in range(epochs):
            total = 0.0
            for i in range(0, len(x), bs):
                opt.zero_grad()
                loss = crit(naive(xt[i:i + bs]), lt[i:i + bs])
                loss.backward()
                opt.step()
                total += loss.item() * len(xt[i:i + bs])
            hist.append(total / len(x))
        with torch.no_grad():
            n_acc = float((naive(xt).argmax(1) == lt).double().mean())
        print(f"\n  floor log(e + 26) - 1 = {floor:.6f}; Keras loss {np.round(kh['loss'], 4).tolist()} accuracy "
              f"{kh['accuracy'][-1]:.4f}; naive port loss {np.round(hist, 4).tolist()} accuracy {n_acc:.4f}")
        # Keras 3 trains on the logits behind the softmax (from_logits=True takes them, with a warning): below the
        # floor; the torch port cannot go below it
        assert kh["loss"][-1] < 0.5 and min(hist) > floor and hist[-1] - kh["loss"][-1] > 1.5

        # (c) torch_impl: the logits out, the softmax named; Keras's warning and history
        net = torch.nn.Sequential(torch.nn.Linear(6, 27))
        load_keras_weights(net, initial)
        with pytest.warns(UserWarning, match="from_logits=True"):
            th = tfit.fit(net, x, y, loss=losses.CategoricalCrossentropy(from_logits=True),
                          optimizer=optim.Adam(net.parameters(), learning_rate=lr), output_activation="softmax",
                          metrics=["accuracy"], batch_size=bs, epochs=epochs, shuffle=False, verbose=0).history
        _final_check(th, kh, dt)


# --------------------------------------------------------------------------------------------------------------
# 2. SO 67615051: BCE of exact 0/1 predictions: Keras 3's clip against nn.BCELoss's log clamp
# --------------------------------------------------------------------------------------------------------------


def test_bce_of_exact_zero_one_predictions():
    with _precision("float64"):
        y_true = np.array([1., 1., 1.]).reshape(1, 3)
        y_pred = np.array([1., 1., 0.]).reshape(1, 3)
        yp = tf.Variable(y_pred)
        with tf.GradientTape() as tape:
            k = keras.losses.BinaryCrossentropy(from_logits=False)(y_true, yp)
        k_grad = tape.gradient(k, yp).numpy()
        k = float(k)
        eps = 1e-7
        clipped = np.clip(y_pred, eps, 1 - eps)
        answer = float(-np.mean(y_true * np.log(clipped + eps) + (1 - y_true) * np.log(1 - clipped + eps)))
        keras3 = float(-np.mean(y_true * np.log(clipped) + (1 - y_true) * np.log(1 - clipped)))
        # (b) nn.BCELoss
        pn = torch.tensor(y_pred, requires_grad=True)
        n = torch.nn.BCELoss()(pn, torch.as_tensor(y_true))
        n.backward()
        # (c) torch_impl
        pt = torch.tensor(y_pred, requires_grad=True)
        t = losses.BinaryCrossentropy()(torch.as_tensor(y_true), pt)
        t.backward()
        g = float(np.abs(pt.grad.numpy() - k_grad).max())
        print(f"\n  Keras 3 {k!r} (clip, no eps in the log: {keras3!r}); the answer's formula {answer:.7f} (Keras 2's);"
              f" nn.BCELoss {n.item():.6f}, gradient at the 0 {pn.grad[0, 2].item():.2e} (Keras {k_grad[0, 2]}); "
              f"torch_impl {t.item()!r}, gradient {g:.1e} apart")
        assert _rel(k, keras3) <= 1e-15 and abs(answer - 5.141649490132791) < 1e-12 and abs(n.item() - 100 / 3) < 1e-12
        assert _rel(t.item(), k) <= 1e-12 and g <= 1e-10 * np.abs(k_grad).max() and k_grad[0, 2] == 0
        assert abs(pn.grad[0, 2].item()) > 1e10


# --------------------------------------------------------------------------------------------------------------
# 3. SO 75735708: BCE from sigmoid probabilities vs from the logits
# --------------------------------------------------------------------------------------------------------------


def test_bce_probabilities_vs_logits_saturated():
    a = np.array([[0, 0, 1, 1], [0, 1, 0, 1.]])
    b = np.array([[18, -20, 20, 20], [-18, 0., -10, 12]])
    with _precision("float64"):
        b_sigmoid = tf.sigmoid(b)
        k_prob = float(keras.losses.BinaryCrossentropy()(a, b_sigmoid))
        k_logits = float(keras.losses.BinaryCrossentropy(from_logits=True)(a, b))
    at, bt = torch.as_tensor(a), torch.as_tensor(b)
    # (b) the port of the probability model: F.binary_cross_entropy on torch.sigmoid(b)
    n_prob = F.binary_cross_entropy(torch.sigmoid(bt), at).item()
    n_logits = F.binary_cross_entropy_with_logits(bt, at).item()
    # (c) torch_impl: both of Keras's forms
    t_prob = losses.BinaryCrossentropy()(at, torch.sigmoid(bt)).item()
    t_logits = losses.BinaryCrossentropy(from_logits=True)(at, bt).item()
    clipped = np.clip(1 / (1 + np.exp(-b)), 1e-7, 1 - 1e-7)  # Keras 2's formula: the clip, then 1e-7 inside the logs
    keras2 = float(-np.mean(a * np.log(clipped + 1e-7) + (1 - a) * np.log(1 - clipped + 1e-7)))
    print(f"\n  Keras probabilities {k_prob!r} (the question's older Keras 2.0148), logits {k_logits!r} (the "
          f"question's 2.336649845037007); F.binary_cross_entropy(sigmoid(b)) {n_prob!r}, with logits {n_logits!r}; "
          f"torch_impl {t_prob!r} / {t_logits!r}")
    print(f"  Keras 2's formula by hand {keras2!r} (the question's 2.0147683492886337)")
    assert abs(k_logits - 2.336649845037007) < 1e-14 and abs(n_prob - k_logits) < 1e-9 and k_logits - k_prob > 0.2
    assert abs(keras2 - 2.0147683492886337) < 1e-14
    assert _rel(t_prob, k_prob) <= 1e-12 and _rel(t_logits, k_logits) <= 1e-12 and _rel(n_logits, k_logits) <= 1e-12


# --------------------------------------------------------------------------------------------------------------
# 4. SO 68427532: CCE rows not summing to 1
# --------------------------------------------------------------------------------------------------------------


def test_cce_rows_not_summing_to_one():
    y_true = np.array([[1., 0., 0.], [0., 1., 0.], [0., 0., 1.]])
    y_pred = np.array([[.9, .05, .05], [.5, .89, .6], [.05, .01, .94]])
    with _precision("float64"):
        yp = tf.Variable(y_pred)
        with tf.GradientTape() as tape:
            k = keras.losses.categorical_crossentropy(y_true, yp)
        k_grad = tape.gradient(k, yp).numpy()
        k = k.numpy()
    plain = np.sum(-y_true * np.log(y_pred), axis=1)
    # (b) NLLLoss on log(p)
    pn = torch.tensor(y_pred, requires_grad=True)
    n = torch.nn.NLLLoss(reduction="none")(torch.log(pn), torch.tensor([0, 1, 2]))
    n.sum().backward()
    # (c) torch_impl
    pt = torch.tensor(y_pred, requires_grad=True)
    t = losses.categorical_crossentropy(torch.as_tensor(y_true), pt)
    t.sum().backward()
    g = float(np.abs(pt.grad.numpy() - k_grad).max())
    print(f"\n  Keras {np.round(k, 5).tolist()}; the plain formula {np.round(plain, 5).tolist()}; NLLLoss(log p) "
          f"{np.round(n.detach().numpy(), 5).tolist()}, gradient {np.abs(pn.grad.numpy() - k_grad).max():.2f} apart; "
          f"torch_impl {_rel(t.detach().numpy(), k):.1e} rel, gradient {g:.1e} apart")
    assert abs(k[1] - 0.80467) < 1e-5 and _rel(n.detach().numpy(), plain) <= 1e-15 and k[1] - n[1].item() > 0.6
    assert np.abs(pn.grad.numpy() - k_grad).max() > 0.1
    assert _rel(t.detach().numpy(), k) <= 1e-12 and g <= 1e-10 * np.abs(k_grad).max()


# --------------------------------------------------------------------------------------------------------------
# 5. pytorch#54843: CrossEntropyLoss(weight=) divides by the weight sum, Keras's class_weight by N
# --------------------------------------------------------------------------------------------------------------


def _imbalanced(n, d, seed, rate=0.25):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    labels = (x[:, 0] + 0.5 * rng.normal(size=n) > np.quantile(x[:, 0], 1 - rate)).astype(int)
    return x, labels


def test_weighted_crossentropy_issue_numbers():
    sm_score = np.array([[0.3, 0.7], [0.6, 0.4], [0.6, 0.4]])
    sm_target = np.array([1, 0, 0])
    b_score = sm_score[:, 1] - sm_score[:, 0]  # the logit difference (the issue's b_score 0.40005, -0.19986)
    cw = {0: 1.0, 1: 3.0}
    sw = np.array([cw[c] for c in sm_target])
    with _precision("float64"):
        k = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(sm_target, sm_score, sample_weight=sw))
    st, tt = torch.as_tensor(sm_score), torch.as_tensor(sm_target)
    n = F.cross_entropy(st, tt, weight=torch.tensor([1.0, 3.0], dtype=torch.float64)).item()
    n_bce = F.binary_cross_entropy_with_logits(torch.as_tensor(b_score), tt.double(), weight=torch.as_tensor(sw)).item()
    t = losses.SparseCategoricalCrossentropy(from_logits=True)(tt, st, sample_weight=torch.as_tensor(sw)).item()
    print(f"\n  Keras class-weighted {k:.6f} (the issue's BCE 0.9118: {n_bce:.6f}); CrossEntropyLoss(weight) {n:.6f} "
          f"= Keras x N / sum(w) = {k * 3 / sw.sum():.6f}; torch_impl {t!r} ({abs(t - k):.1e} apart)")
    assert abs(k - 0.9117744) < 1e-6 and abs(n - 0.5470647) < 1e-6 and _rel(n, k * 3 / sw.sum()) <= 1e-14
    assert _rel(n_bce, k) <= 1e-12 and _rel(t, k) <= 1e-12


@pytest.mark.parametrize("dt", DTYPES)
def test_weighted_crossentropy_training(dt):
    seed, epochs, bs, lr = 54, 3, 32, 0.1
    x, labels = _imbalanced(96, 4, 54)
    cw = {0: 1.0, 1: 3.0}
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
        km.compile(keras.optimizers.SGD(lr), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        initial = km.get_weights()
        kh = km.fit(x, labels, class_weight=cw, batch_size=bs, epochs=epochs, shuffle=False, verbose=0).history
        # (b) nn.CrossEntropyLoss(weight=[1, 3]), SGD, the same batches
        net = torch.nn.Sequential(torch.nn.Linear(4, 2))
        load_keras_weights(net, initial)
        crit = torch.nn.CrossEntropyLoss(weight=torch.tensor([cw[0], cw[1]], dtype=tdt))
        opt = torch.optim.SGD(net.parameters(), lr=lr)
        xt, lt = torch.as_tensor(x, dtype=tdt), torch.as_tensor(labels)
        for _ in range(epochs):
            for i in range(0, len(x), bs):
                opt.zero_grad()
                crit(net(xt[i:i + bs]), lt[i:i + bs]).backward()
                opt.step()
        n_apart = _weights_apart(net, km.get_weights())
        print(f"\n  positives {labels.sum()} of {len(labels)}; CrossEntropyLoss(weight) loop: weights {n_apart:.1e} "
              f"from Keras's")
        assert n_apart > 1e-2
        # (c) torch_impl: Keras's class_weight
        net = torch.nn.Sequential(torch.nn.Linear(4, 2))
        load_keras_weights(net, initial)
        th = tfit.fit(net, x, labels, class_weight=cw, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                      optimizer=optim.SGD(net.parameters(), learning_rate=lr), batch_size=bs, epochs=epochs,
                      shuffle=False, verbose=0).history
        _final_check(th, kh, dt)
        t_apart = _weights_apart(net, km.get_weights())
        print(f"  torch_impl weights {t_apart:.1e} from Keras's")
        assert t_apart <= (1e-12 if dt == "float64" else 1e-5)


# --------------------------------------------------------------------------------------------------------------
# 6. pytorch#50528: with batch_size=1 CrossEntropyLoss(weight=) has no effect; Keras's class_weight has
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", DTYPES)
def test_class_weight_batch_of_one(dt):
    seed, epochs, lr = 50, 2, 0.05
    x, labels = _imbalanced(24, 3, 50)
    cw = {0: 1.0, 1: 4.0}
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
        km.compile(keras.optimizers.SGD(lr), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        initial = km.get_weights()
        kh = km.fit(x, labels, class_weight=cw, batch_size=1, epochs=epochs, shuffle=False, verbose=0).history
        xt, lt = torch.as_tensor(x, dtype=tdt), torch.as_tensor(labels)

        def loop(weight):  # (b) the issue's loss, one sample per step
            net = torch.nn.Sequential(torch.nn.Linear(3, 2))
            load_keras_weights(net, initial)
            crit = torch.nn.CrossEntropyLoss(weight=weight)
            opt = torch.optim.SGD(net.parameters(), lr=lr)
            for _ in range(epochs):
                for i in range(len(x)):
                    opt.zero_grad()
                    crit(net(xt[i:i + 1]), lt[i:i + 1]).backward()
                    opt.step()
            return net

        weighted = loop(torch.tensor([cw[0], cw[1]], dtype=tdt))
        plain = loop(None)
        same = max(float((a - b).detach().abs().max()) for a, b in zip(weighted.parameters(), plain.parameters()))
        n_apart = _weights_apart(weighted, km.get_weights())
        print(f"\n  positives {labels.sum()} of {len(labels)}; batch of 1: weighted and unweighted torch loops "
              f"{same:.1e} apart; weighted loop {n_apart:.1e} from Keras's weights")
        assert same <= (1e-15 if dt == "float64" else 1e-6) and n_apart > 1e-2
        # (c) torch_impl: class_weight as Keras's, one sample per step
        net = torch.nn.Sequential(torch.nn.Linear(3, 2))
        load_keras_weights(net, initial)
        th = tfit.fit(net, x, labels, class_weight=cw, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                      optimizer=optim.SGD(net.parameters(), learning_rate=lr), batch_size=1, epochs=epochs,
                      shuffle=False, verbose=0).history
        _final_check(th, kh, dt)
        t_apart = _weights_apart(net, km.get_weights())
        print(f"  torch_impl weights {t_apart:.1e} from Keras's")
        assert t_apart <= (1e-12 if dt == "float64" else 1e-5)


# --------------------------------------------------------------------------------------------------------------
# 7. pytorch#60928: a negative KL divergence; nn.KLDivLoss's "mean" divides by the classes
# --------------------------------------------------------------------------------------------------------------


def test_kl_divergence_negative_and_class_mean():
    output = np.array([[0.1132, 0.5477, 0.3390]])
    target = np.array([[0.1541, 0.0511, 0.0947]])
    with _precision("float64"):
        op = tf.Variable(output)
        with tf.GradientTape() as tape:
            k = keras.losses.KLDivergence()(target, op)
        k_grad = tape.gradient(k, op).numpy()
        k = float(k)
    ot, tt = torch.tensor(output, requires_grad=True), torch.as_tensor(target)
    n = torch.nn.KLDivLoss()(ot.log(), tt)  # the issue's line
    n_batch = torch.nn.KLDivLoss(reduction="batchmean")(torch.as_tensor(output).log(), tt).item()
    pt = torch.tensor(output, requires_grad=True)
    t = losses.KLDivergence()(tt, pt)
    t.backward()
    g = float(np.abs(pt.grad.numpy() - k_grad).max())
    print(f"\n  Keras {k:.6f}; nn.KLDivLoss() {n.item():.6f} (the issue's -0.0648) = Keras / 3; batchmean "
          f"{n_batch:.6f}; torch_impl {t.item():.6f} ({abs(t.item() - k):.1e} apart), gradient {g:.1e} apart")
    assert k < 0 and abs(n.item() - (-0.0648)) < 1e-4 and _rel(n.item() * 3, k) <= 1e-12 and _rel(n_batch, k) <= 1e-12
    assert _rel(t.item(), k) <= 1e-12 and g <= 1e-10 * np.abs(k_grad).max()


# --------------------------------------------------------------------------------------------------------------
# 8. tensorflow#37896: Keras's cosine_similarity is the negative cosine
# --------------------------------------------------------------------------------------------------------------


def test_cosine_similarity_sign():
    k32 = keras.losses.cosine_similarity(np.array([[1., 1.]], np.float32), np.array([[-1., -1.]], np.float32))
    t32 = losses.cosine_similarity(torch.tensor([[1., 1.]]), torch.tensor([[-1., -1.]]))
    n32 = F.cosine_similarity(torch.tensor([[1., 1.]]), torch.tensor([[-1., -1.]]))
    rng = np.random.default_rng(37)
    y_true, y_pred = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    y_true[0] = 0.0  # a zero vector: 0 in both
    with _precision("float64"):
        yp = tf.Variable(y_pred)
        with tf.GradientTape() as tape:
            k = keras.losses.cosine_similarity(y_true, yp)
        k_grad = tape.gradient(k, yp).numpy()
        k = k.numpy()
    n = F.cosine_similarity(torch.as_tensor(y_true), torch.as_tensor(y_pred)).numpy()
    pt = torch.tensor(y_pred, requires_grad=True)
    t = losses.cosine_similarity(torch.as_tensor(y_true), pt)
    t.sum().backward()
    g = float(np.abs(pt.grad.numpy() - k_grad).max())
    print(f"\n  the issue's pair: Keras float32 {float(k32[0])!r}, torch_impl {t32.item()!r}, F.cosine_similarity "
          f"{n32.item()!r}; random rows: Keras {np.round(k, 4).tolist()}, F.cosine_similarity "
          f"{np.round(n, 4).tolist()}; torch_impl {np.abs(t.detach().numpy() - k).max():.1e} apart, gradient "
          f"{g:.1e} apart")
    assert float(k32[0]) == float(np.float32(0.99999994)) and t32.item() == float(k32[0]) and n32.item() == -float(k32[0])
    assert np.allclose(n, -k, rtol=1e-12, atol=1e-15) and (np.sign(n[1:]) == -np.sign(k[1:])).all() and k[0] == 0
    assert np.abs(t.detach().numpy() - k).max() <= 1e-12 * np.abs(k).max() and g <= 1e-10 * np.abs(k_grad).max()

"""Real "my loss / class weights / focal differ between Keras and PyTorch" threads, round 25: each thread's Keras code
(its numbers, or small seeded data of its shapes, real Keras 3.15.1), the asker's naive PyTorch port as written (plain
torch: the pitfall, measured and asserted to differ), and the port with torch_impl as the README recommends (Keras's
numbers, asserted: float64 1e-12 relative for values, 1e-10 for gradients, histories per DESIGN.md).

The threads were read in the stored public copies (``search`` corpora "pages" and "issues"); where a copy cuts a
line, the test says what stands in for it. Sizes are scaled down and said so at each test.

1. tensorflow/tensorflow#61519, "BinaryFocalCrossentropy: alpha does not work"
   (https://github.com/tensorflow/tensorflow/issues/61519): ``BinaryFocalCrossentropy(gamma=2, alpha=a,
   from_logits=True)`` on ``y_true = [0, 1, 0, 0]``, ``logits = [-1.6, 0.51, 2.94, -1.8]`` gives 0.6932789 for
   ``a`` = 0.25, 10 and 100; the asker expected 0.51168; the answer: ``apply_class_balancing=True``. The port a
   torch user writes: ``torchvision.ops.sigmoid_focal_loss(logits, y, alpha=0.25, gamma=2, reduction="mean")``
   (torchvision is not installed here: its function is restated line for line). Training: a ``Dense(1)`` logit
   on 96 imbalanced samples (4 features, 25 % positives), SGD, the issue's loss.
2. CoinCheung/pytorch-loss#27, "your focal loss is wrong?"
   (https://github.com/CoinCheung/pytorch-loss/issues/27): the widely copied ``FocalLoss(alpha=1, gamma=2,
   logits=False)`` (``BCE_loss = F.binary_cross_entropy(...)``, ``pt = torch.exp(-BCE_loss)``, ``F_loss =
   self.alpha * (1-pt)**self.gamma * BCE_loss``, ``torch.mean``). The Keras loss it stands for:
   ``BinaryFocalCrossentropy(gamma=2)`` on a sigmoid output's probabilities (and ``from_logits=True`` for
   ``logits=True``); probabilities with saturated entries, ``(4, 3)``.
3. pytorch/pytorch#48595, "[FR] add huber option for smooth_l1_loss"
   (https://github.com/pytorch/pytorch/issues/48595): "``SmoothL1Loss`` is different from huber for just a
   ``beta`` scaling". The Keras side: ``keras.losses.Huber(delta=0.5)``; the port: ``nn.SmoothL1Loss(beta=0.5)``
   (values, gradients, and a ``Dense(1)`` regression with outliers trained with SGD, 64 samples).
4. keras-team/tf-keras#734, "sparse_categorical_crossentropy with ignore_class=-1 makes loss to `nan`"
   (https://github.com/keras-team/tf-keras/issues/734): a two-output model whose targets
   ``y1 = [1, 2, 0, -1, 0, -1, -1, -1, 3, -1]``, ``y2 = [-1, -1, -1, 2, -1, 0, 3, 1, -1, 2]`` each hold a label
   for one head only, ``custom_loss = sparse_categorical_crossentropy(y_true, y_pred, ignore_class=-1)``: NaN in
   Keras 2, works in Keras 3. The copy cuts the script after ``(y1_dummy,``: inputs ``(10, 6, 6, 3)`` instead of
   ``(10, 224, 224, 3)``, ``Flatten`` -> ``Dense(8, relu)`` -> two ``Dense(4, softmax)`` heads, ``Adam``,
   batches of 2 in order stand in. The port: ``F.cross_entropy(logits, y, ignore_index=-1)`` per head.
5. tensorflow/tensorflow#45966, "sparse_categorical_crossentropy and temporal sample weight"
   (https://github.com/tensorflow/tensorflow/issues/45966): a (BERT-like) language model trained with
   ``sparse_categorical_crossentropy``, a ``sample_weight`` of 1 at the tokens and 0 at the padding with
   ``sample_weight_mode="temporal"``, which Keras 2 refused for 2-D labels. Keras 3 takes the ``(N, T)`` weights
   as they are (it has no ``sample_weight_mode``). ``Embedding(12, 8)`` -> ``Dense(16, relu)`` -> ``Dense(12)``
   on 16 padded sequences of 10 tokens stand in for the model (not in the issue); the port a torch user writes:
   ``nn.CrossEntropyLoss(ignore_index=0)`` on the flattened tokens.
6. Data Science StackExchange 40118, "How does exactly class_weight in Keras work?"
   (https://datascience.stackexchange.com/questions/40118/how-does-exactly-class-weight-in-keras-work): a
   multi-label problem, 4 sigmoid outputs, ``binary_crossentropy``, positives per label ``[2000, 500, 1000,
   250]``, ``class_weight = {0: 2.5, 1: 10., 2: 5., 3: 20}``: "how do weighted samples work with multi-label?";
   "what is desirable is to only multiply positive responses". 96 samples with positive rates 0.4 / 0.1 / 0.2 /
   0.05, ``Dense(4, sigmoid)`` and SGD stand in; the port of what the asker wants:
   ``nn.BCEWithLogitsLoss(pos_weight=[2.5, 10, 5, 20])``.
7. StackOverflow "Label smoothing in PyTorch - using BCE loss -> doing it with the data itself" (Chinese copy
   http://xiaobeizi.cn/x/6fucgqqQjW): a binary task with ``BCELoss``, "label smoothing 0.1": the answer replaces 0
   with 0.1 and 1 with 0.9 (``torch.zeros_like(pred) + 0.1``, ``torch.ones_like(pred) - 0.1``), or ``(1 - 2 *
   eps) * y_true + eps``, or ``y_true.clamp(eps, 1 - eps)``. The Keras side: ``BinaryCrossentropy(from_logits=True,
   label_smoothing=0.1)``; a ``Dense(1)`` logit on 96 samples (4 features), SGD, for the training part.

Measured (float64 unless said; float32 history runs are ``slow``, and so are the training runs of 3 and 7): "naive" is the thread's port against Keras,
"torch_impl" the README's port.

===  ==========================================================  ================================================
 #   naive port (the pitfall)                                     torch_impl
===  ==========================================================  ================================================
 1   Keras float32 0.6932790 for alpha 0.25, 10 and 100 (alpha    float32 1.7e-7 relative (1 ulp), balanced
     unused without ``apply_class_balancing``); torchvision       1.2e-7; float64 value 3.2e-16 rel, gradient
     0.5116834 (= Keras balanced: the issue's 0.51168); alpha     1.1e-16; ``fit`` loss 1.1e-16 (float32 1.1e-7),
     10: -5.925 in both; trained: weights 1.6e-1 off Keras's      weights 2.2e-16 (float32 3.0e-8)
     (float32 3.5e-1)
 2   logits=True: Keras's from-logits value (0 apart);            values 1.4e-16 / 0 relative, gradients 0 /
     logits=False: 100 per saturated wrong entry where Keras's    2.8e-17 apart (probabilities / logits)
     clip gives 16.118: 12.234 against 3.254 (3.76x)
 3   ``SmoothL1Loss(beta=0.5)`` = 2.000 x Keras's Huber on every  0 apart, gradient 0 apart; ``fit`` loss 0
     sample, gradient 2.000 x; ``nn.HuberLoss(0.5)`` 0 apart;     (float32 1.2e-7), weights 0 (float32 0)
     trained: weights 1.6e-1 off (float32 2.5e-1)
 4   step loss NaN on the 2 batches (of 5) where one head's       loss 2.9e-16, head losses 6.4e-16 (float32
     labels are all -1, so every epoch's logged loss is NaN;      2.1e-7), weights 1.7e-16 (float32 8.9e-8); the
     the weights stay finite (3.4e-4 from Keras's, torch's Adam)  all-ignored batches cost 0 as in Keras
 5   ``CrossEntropyLoss(ignore_index=0)`` = Keras's x N T /       ``fit`` loss 0 (float32 1.3e-7), weights
     tokens: 1.2308x on the first batch; trained: weights         1.1e-16 (float32 6.0e-8)
     4.8e-2 off (float32 5.6e-2)
 6   ``pos_weight`` loop weights 8.7e-1 off Keras's (float32      ``fit`` loss 2.4e-16 (float32 1.2e-7), weights
     9.0e-1); Keras's rule by hand (the weight of ``argmax(y)``:  1.1e-16 (float32 6.0e-8)
     42 all-zero rows get class 0's 2.5): 1.1e-16
 7   the answer's three forms 0.538713 = Keras's                  0.499375, 2.2e-16 rel, gradient 1.4e-17;
     ``label_smoothing=0.2`` (0 apart), Keras's 0.1 gives         ``fit`` loss 2.0e-16 (float32 6.6e-8), weights
     0.499375; trained: weights 1.2e-1 off (float32 1.2e-1)       2.2e-16 (float32 3.0e-8)
===  ==========================================================  ================================================

Findings.

* 1) The answer is right: Keras multiplies by ``alpha`` (positives) / ``1 - alpha`` (negatives) only with
  ``apply_class_balancing=True`` (``keras/src/losses/losses.py`` 2518-2520); its default is False, so ``alpha`` is
  silently unused. ``torchvision.ops.sigmoid_focal_loss`` applies ``alpha=0.25`` by default (``alpha=-1`` for none):
  the same script ported trains on another loss (positives down-weighted 3:1), its weights 1.6e-1 off Keras's
  after 3 epochs. Neither checks ``alpha`` in ``[0, 1]``: ``alpha=10`` makes the negatives' weight -9 and the loss
  negative (-5.925) in both. Keras 3.15.1's float32 value is 1 ulp above the issue's (TensorFlow 2.13) 0.6932789,
  which torch_impl reproduces; float64 agrees to 3.2e-16.
* 2) From logits the hand-written loss is Keras's ``BinaryFocalCrossentropy(gamma=2, from_logits=True)``
  (``exp(-bce)`` is ``p_t`` for 0/1 labels). From probabilities it is not: ``F.binary_cross_entropy`` clamps
  ``log`` at -100, so a wrong prediction saturated at 0 or 1 costs 100 (``exp(-100)``: focal factor 1), where
  Keras clips the probability to ``[1e-7, 1 - 1e-7]`` first (``keras/src/backend/tensorflow/nn.py`` 1483-1489):
  16.118. Its ``alpha`` (0.25 in many copies) is a constant scale, not Keras's ``alpha_t``.
* 3) The issue's statement holds exactly: ``SmoothL1Loss(beta=d) = Huber(delta=d) / d`` for every element
  (Keras's Huber: ``keras/src/losses/losses.py`` 1998-2007), so the gradients are ``1 / d`` times Keras's: with SGD
  the port trains at twice the learning rate for ``delta=0.5``. ``nn.HuberLoss(delta=d)`` is Keras's Huber.
* 4) Keras 3's ``ignore_class`` marks the ignored entries (``set_keras_mask``, ``keras/src/losses/losses.py``
  2366-2369) and the loss divides by the valid count with ``divide_no_nan`` (``keras/src/losses/loss.py``
  197-224): a batch whose labels are all ignored costs 0. ``F.cross_entropy(ignore_index=-1)`` divides 0 by 0 in
  the value only: the loss is NaN but the ignored entries' gradient is 0, so training goes on and every logged
  epoch loss is NaN (anything that watches the loss, early stopping, a NaN guard, a plateau scheduler, sees NaN).
  Keras 2's NaN (the issue) moved to the logs of the PyTorch port.
* 5) A 0/1 ``(N, T)`` ``sample_weight`` is a weight, not a mask: Keras 3 sums ``w * loss`` and divides by every
  position, ``N * T`` (``keras/src/losses/loss.py`` 140-161), padding included; ``ignore_index`` (like Keras's
  ``ignore_class``) divides by the real tokens only. The ratio is ``N T / tokens`` per batch, so the port's steps
  are larger, more so on batches of short sequences.
* 6) Keras 3 turns ``class_weight`` into one weight per sample from ``argmax(y)`` (``keras/src/trainers/
  data_adapters/data_adapter_utils.py`` 120-135, ``tf_dataset_adapter.py`` 130-140): with multi-hot labels a sample
  gets the weight of its *first* positive label, an all-zero row the weight of class 0 (2.5 here), and the whole
  row's mean crossentropy is multiplied, negatives included. The dictionary is not a per-label positive weight:
  ``BCEWithLogitsLoss(pos_weight=...)`` (what the asker wanted) is another loss. torch_impl's ``fit`` reads
  ``class_weight`` as Keras does.
* 7) Keras's binary smoothing is ``y (1 - s) + s / 2`` (``keras/src/losses/losses.py`` 2411-2412 for
  ``binary_crossentropy``): ``label_smoothing=0.1`` gives targets 0.05 / 0.95. The answer's 0.1 / 0.9 (all three
  of its forms) is Keras's ``label_smoothing=0.2``: twice the smoothing, and another trained model.
"""

from __future__ import annotations

import math

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
    """max |torch - Keras| over the weights (``nn.Linear`` kernels transposed; embeddings as they are)."""
    return max(float(np.abs(p.detach().numpy() - (k.T if k.ndim == 2 and p.shape != k.shape else k)).max())
               for p, k in zip(net.parameters(), keras_weights))


def _sgd_loop(net, x, y, loss_fn, lr, epochs, bs, dtype):
    """The plain torch loop: the same batches in order, ``torch.optim.SGD``; returns the per-step losses."""
    xt, yt = torch.as_tensor(x, dtype=dtype if np.asarray(x).dtype.kind == "f" else None), torch.as_tensor(y)
    if yt.dtype.is_floating_point:
        yt = yt.to(dtype)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    steps = []
    for _ in range(epochs):
        for i in range(0, len(x), bs):
            opt.zero_grad()
            loss = loss_fn(net(xt[i:i + bs]), yt[i:i + bs])
            loss.backward()
            opt.step()
            steps.append(loss.item())
    return steps


# --------------------------------------------------------------------------------------------------------------
# 1. tensorflow#61519: BinaryFocalCrossentropy's alpha is unused without apply_class_balancing; torchvision's is not
# --------------------------------------------------------------------------------------------------------------


def _torchvision_sigmoid_focal_loss(inputs, targets, alpha: float = 0.25, gamma: float = 2, reduction: str = "none"):
    """``torchvision.ops.sigmoid_focal_loss`` restated line for line (torchvision is not installed here)."""
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == "mean":
        loss = loss.mean()
    elif reduction == "sum":
        loss = loss.sum()
    return loss


def test_focal_alpha_without_class_balancing_issue_numbers():
    y_true_list = [0, 1, 0, 0]
    logits_list = [-1.6, 0.51, 2.94, -1.8]
    gamma = 2
    k = {a: float(keras.losses.BinaryFocalCrossentropy(gamma=gamma, alpha=a, from_logits=True)(y_true_list,
                                                                                               logits_list))
         for a in (0.25, 10, 100)}  # the issue's three calls (float32)
    k_bal = float(keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=gamma, alpha=0.25,
                                                       from_logits=True)(y_true_list, logits_list))
    k_bal10 = float(keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=gamma, alpha=10,
                                                         from_logits=True)(y_true_list, logits_list))
    yt, xt = torch.tensor(y_true_list, dtype=torch.float32), torch.tensor(logits_list)
    # (b) torchvision's sigmoid_focal_loss, as a torch user ports "focal loss with alpha=0.25"
    tv = _torchvision_sigmoid_focal_loss(xt, yt, alpha=0.25, gamma=gamma, reduction="mean").item()
    tv10 = _torchvision_sigmoid_focal_loss(xt, yt, alpha=10, gamma=gamma, reduction="mean").item()
    tv_none = _torchvision_sigmoid_focal_loss(xt, yt, alpha=-1, gamma=gamma, reduction="mean").item()
    # (c) torch_impl: Keras's arguments and default
    t = {a: losses.BinaryFocalCrossentropy(gamma=gamma, alpha=a, from_logits=True)(yt, xt).item() for a in k}
    t_bal = losses.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=gamma, alpha=0.25,
                                           from_logits=True)(yt, xt).item()
    print(f"\n  Keras alpha 0.25 / 10 / 100: {[round(v, 7) for v in k.values()]} (the issue's 0.6932789); balanced "
          f"{k_bal:.7f} (the asker's 0.51168), balanced alpha 10 {k_bal10:.4f}")
    print(f"  torchvision alpha=0.25 {tv:.7f}, alpha=10 {tv10:.4f}, alpha=-1 {tv_none:.7f}; torch_impl "
          f"{[round(v, 7) for v in t.values()]} (rel {_rel(t[0.25], k[0.25]):.1e}: float32 rounding), balanced "
          f"{t_bal:.7f} (rel {_rel(t_bal, k_bal):.1e})")
    assert len(set(k.values())) == 1 and abs(k[0.25] - 0.6932789) < 2e-7 and abs(k_bal - 0.51168) < 1e-5
    assert abs(tv - k[0.25]) > 0.15 and abs(tv - k_bal) < 1e-6 and abs(tv_none - k[0.25]) < 1e-6
    assert k_bal10 < 0 and abs(tv10 - k_bal10) < 1e-5
    assert all(_rel(t[a], k[a]) <= 1e-6 for a in k) and _rel(t_bal, k_bal) <= 1e-6  # DESIGN.md: float32 1e-5
    # float64: values and gradients
    with _precision("float64"):
        lv = tf.Variable(np.array(logits_list))
        with tf.GradientTape() as tape:
            k64 = keras.losses.BinaryFocalCrossentropy(gamma=gamma, alpha=0.25, from_logits=True)(
                np.array(y_true_list, "float64"), lv)
        k_grad = tape.gradient(k64, lv).numpy()
    pt = torch.tensor(logits_list, dtype=torch.float64, requires_grad=True)
    t64 = losses.BinaryFocalCrossentropy(gamma=gamma, alpha=0.25, from_logits=True)(yt.double(), pt)
    t64.backward()
    g = float(np.abs(pt.grad.numpy() - k_grad).max())
    print(f"  float64: Keras {float(k64)!r}, torch_impl {t64.item()!r}, gradient {g:.1e} apart")
    assert _rel(t64.item(), float(k64)) <= 1e-12 and g <= 1e-10 * np.abs(k_grad).max()


def _imbalanced(n, d, seed, rate=0.25):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    labels = (x[:, 0] + 0.5 * rng.normal(size=n) > np.quantile(x[:, 0], 1 - rate)).astype("float64")
    return x, labels[:, None]


@pytest.mark.parametrize("dt", DTYPES)
def test_focal_alpha_training(dt):
    seed, epochs, bs, lr = 61, 3, 32, 0.5
    x, y = _imbalanced(96, 4, 61)
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((4,)), layers.Dense(1)])
        km.compile(keras.optimizers.SGD(lr), loss=keras.losses.BinaryFocalCrossentropy(gamma=2, alpha=0.25,
                                                                                       from_logits=True))
        initial = km.get_weights()
        kh = km.fit(x, y, batch_size=bs, epochs=epochs, shuffle=False, verbose=0).history
        # (b) torchvision's sigmoid_focal_loss (alpha=0.25 applied), the same batches
        net = torch.nn.Sequential(torch.nn.Linear(4, 1))
        load_keras_weights(net, initial)
        _sgd_loop(net, x, y, lambda o, t: _torchvision_sigmoid_focal_loss(o, t, 0.25, 2, "mean"), lr, epochs, bs,
                  tdt)
        n_apart = _weights_apart(net, km.get_weights())
        print(f"\n  positives {int(y.sum())} of {len(y)}; torchvision focal loop: weights {n_apart:.1e} from Keras's")
        assert n_apart > 1e-2
        # (c) torch_impl: Keras's loss, Keras's default (no class balancing)
        net = torch.nn.Sequential(torch.nn.Linear(4, 1))
        load_keras_weights(net, initial)
        th = tfit.fit(net, x, y, loss=losses.BinaryFocalCrossentropy(gamma=2, alpha=0.25, from_logits=True),
                      optimizer=optim.SGD(net.parameters(), learning_rate=lr), batch_size=bs, epochs=epochs,
                      shuffle=False, verbose=0).history
        _final_check(th, kh, dt)
        t_apart = _weights_apart(net, km.get_weights())
        print(f"  torch_impl weights {t_apart:.1e} from Keras's")
        assert t_apart <= (1e-12 if dt == "float64" else 1e-5)


# --------------------------------------------------------------------------------------------------------------
# 2. CoinCheung/pytorch-loss#27: the hand-written FocalLoss, pt = exp(-BCE)
# --------------------------------------------------------------------------------------------------------------


class _FocalLoss(torch.nn.Module):
    """The issue's ``FocalLoss``, as written (``reduce=False`` spelled ``reduction="none"``)."""

    def __init__(self, alpha=1, gamma=2, logits=False, reduce=True):
        super().__init__()
        self.alpha = alpha
        self.gamma = gamma
        self.logits = logits
        self.reduce = reduce

    def forward(self, inputs, targets):
        if self.logits:
            BCE_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
        else:
            BCE_loss = F.binary_cross_entropy(inputs, targets, reduction="none")
        pt = torch.exp(-BCE_loss)
        F_loss = self.alpha * (1 - pt) ** self.gamma * BCE_loss
        if self.reduce:
            return torch.mean(F_loss)
        else:
            return F_loss


def test_handwritten_focal_exp_minus_bce():
    rng = np.random.default_rng(27)
    logits = rng.normal(size=(4, 3)) * 2
    logits[0, 0], logits[1, 1] = 40.0, -40.0  # saturated sigmoid outputs: 1.0 and 4e-18
    y = (rng.uniform(size=(4, 3)) > 0.5).astype("float64")
    y[0, 0], y[1, 1] = 0.0, 1.0  # both wrong
    probs = 1 / (1 + np.exp(-logits))
    with _precision("float64"):
        pv, lv = tf.Variable(probs), tf.Variable(logits)
        with tf.GradientTape(persistent=True) as tape:
            k_prob = keras.losses.BinaryFocalCrossentropy(gamma=2)(y, pv)
            k_logit = keras.losses.BinaryFocalCrossentropy(gamma=2, from_logits=True)(y, lv)
        kg_prob, kg_logit = tape.gradient(k_prob, pv).numpy(), tape.gradient(k_logit, lv).numpy()
        k_prob, k_logit = float(k_prob), float(k_logit)
    yt = torch.as_tensor(y)
    # (b) the issue's FocalLoss on the probabilities and on the logits
    n_prob = _FocalLoss(gamma=2)(torch.as_tensor(probs), yt).item()
    n_logit = _FocalLoss(gamma=2, logits=True)(torch.as_tensor(logits), yt).item()
    n_alpha = _FocalLoss(alpha=0.25, gamma=2, logits=True)(torch.as_tensor(logits), yt).item()
    # (c) torch_impl
    pp, pl = torch.tensor(probs, requires_grad=True), torch.tensor(logits, requires_grad=True)
    t_prob = losses.BinaryFocalCrossentropy(gamma=2)(yt, pp)
    t_logit = losses.BinaryFocalCrossentropy(gamma=2, from_logits=True)(yt, pl)
    (t_prob + t_logit).backward()
    g_prob = float(np.abs(pp.grad.numpy() - kg_prob).max())
    g_logit = float(np.abs(pl.grad.numpy() - kg_logit).max())
    print(f"\n  Keras from probabilities {k_prob:.6f}, from logits {k_logit:.6f}; FocalLoss(logits=False) "
          f"{n_prob:.6f} ({n_prob / k_prob:.2f}x), FocalLoss(logits=True) {n_logit:.6f} (rel "
          f"{_rel(n_logit, k_logit):.1e}), alpha=0.25 {n_alpha / n_logit:.2f}x")
    print(f"  torch_impl {_rel(t_prob.item(), k_prob):.1e} / {_rel(t_logit.item(), k_logit):.1e} rel, gradients "
          f"{g_prob:.1e} / {g_logit:.1e} apart")
    assert n_prob / k_prob > 2 and _rel(n_logit, k_logit) <= 1e-12 and abs(n_alpha / n_logit - 0.25) < 1e-12
    assert _rel(t_prob.item(), k_prob) <= 1e-12 and _rel(t_logit.item(), k_logit) <= 1e-12
    assert g_prob <= 1e-10 * np.abs(kg_prob).max() and g_logit <= 1e-10 * np.abs(kg_logit).max()


# --------------------------------------------------------------------------------------------------------------
# 3. pytorch#48595: SmoothL1Loss(beta) is Huber(delta=beta) / beta
# --------------------------------------------------------------------------------------------------------------


def test_smooth_l1_beta_is_huber_over_delta():
    rng = np.random.default_rng(48)
    y_true, y_pred = rng.normal(size=(8, 3)), rng.normal(size=(8, 3))
    delta = 0.5
    with _precision("float64"):
        pv = tf.Variable(y_pred)
        with tf.GradientTape() as tape:
            k = keras.losses.Huber(delta=delta, reduction=None)(y_true, pv)
            k_mean = tf.reduce_mean(k)
        k_grad = tape.gradient(k_mean, pv).numpy()
        k, k_mean = k.numpy(), float(k_mean)
    # (b) nn.SmoothL1Loss(beta=delta): per element, then the mean (Keras: mean over the last axis, then the batch)
    pn = torch.tensor(y_pred, requires_grad=True)
    n = torch.nn.SmoothL1Loss(beta=delta)(pn, torch.as_tensor(y_true))
    n.backward()
    n_el = torch.nn.SmoothL1Loss(beta=delta, reduction="none")(torch.as_tensor(y_pred), torch.as_tensor(y_true))
    h = torch.nn.HuberLoss(delta=delta)(torch.as_tensor(y_pred), torch.as_tensor(y_true)).item()
    # (c) torch_impl
    pt = torch.tensor(y_pred, requires_grad=True)
    t = losses.Huber(delta=delta)(torch.as_tensor(y_true), pt)
    t.backward()
    ratio = n_el.mean(-1).numpy() / k
    g = float(np.abs(pt.grad.numpy() - k_grad).max())
    print(f"\n  Keras Huber(0.5) {k_mean:.6f}; SmoothL1Loss(beta=0.5) {n.item():.6f}, per sample {ratio.min():.6f} to "
          f"{ratio.max():.6f} x Keras's, gradient {float(np.abs(pn.grad.numpy() / k_grad).max()):.3f} x; "
          f"nn.HuberLoss(0.5) {h:.6f}; torch_impl {t.item():.6f} ({_rel(t.item(), k_mean):.1e}), gradient {g:.1e}")
    assert np.allclose(ratio, 1 / delta, rtol=1e-13, atol=0) and np.allclose(pn.grad.numpy(), k_grad / delta,
                                                                            rtol=1e-12, atol=1e-300)
    assert _rel(h, k_mean) <= 1e-12 and _rel(t.item(), k_mean) <= 1e-12 and g <= 1e-10 * np.abs(k_grad).max()


@pytest.mark.slow  # the values test above is the default one (the suite's time budget)
@pytest.mark.parametrize("dt", DTYPES)
def test_smooth_l1_beta_training(dt):
    seed, epochs, bs, lr, delta = 48, 3, 16, 0.05, 0.5
    rng = np.random.default_rng(480)
    x = rng.normal(size=(64, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]]) + 0.1 * rng.normal(size=(64, 1))
    y[::9] += 8.0  # outliers: the linear part of the loss
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
        km.compile(keras.optimizers.SGD(lr), loss=keras.losses.Huber(delta=delta))
        initial = km.get_weights()
        kh = km.fit(x, y, batch_size=bs, epochs=epochs, shuffle=False, verbose=0).history
        net = torch.nn.Sequential(torch.nn.Linear(3, 1))
        load_keras_weights(net, initial)
        _sgd_loop(net, x, y, torch.nn.SmoothL1Loss(beta=delta), lr, epochs, bs, tdt)
        n_apart = _weights_apart(net, km.get_weights())
        print(f"\n  SmoothL1Loss(beta=0.5) loop: weights {n_apart:.1e} from Keras's")
        assert n_apart > 1e-2
        net = torch.nn.Sequential(torch.nn.Linear(3, 1))
        load_keras_weights(net, initial)
        th = tfit.fit(net, x, y, loss=losses.Huber(delta=delta), optimizer=optim.SGD(net.parameters(),
                                                                                    learning_rate=lr),
                      batch_size=bs, epochs=epochs, shuffle=False, verbose=0).history
        _final_check(th, kh, dt)
        t_apart = _weights_apart(net, km.get_weights())
        print(f"  torch_impl weights {t_apart:.1e} from Keras's")
        assert t_apart <= (1e-12 if dt == "float64" else 1e-5)


# --------------------------------------------------------------------------------------------------------------
# 4. tf-keras#734: ignore_class=-1 on two heads; a batch with every label ignored
# --------------------------------------------------------------------------------------------------------------

_Y1 = np.array([1, 2, 0, -1, 0, -1, -1, -1, 3, -1])
_Y2 = np.array([-1, -1, -1, 2, -1, 0, 3, 1, -1, 2])


class _TwoHeads(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.hidden = torch.nn.Linear(d, 8)
        self.head1 = torch.nn.Linear(8, 4)
        self.head2 = torch.nn.Linear(8, 4)

    def forward(self, x):
        h = F.relu(self.hidden(x.flatten(1)))  # Keras's Flatten of (H, W, C) inputs: the same order here
        return [self.head1(h), self.head2(h)]


@pytest.mark.parametrize("dt", DTYPES)
def test_ignore_class_all_ignored_batch(dt):
    seed, epochs, bs = 734, 3, 2
    x = np.random.default_rng(734).uniform(size=(10, 6, 6, 3))
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        inp = keras.Input((6, 6, 3))
        h = layers.Dense(8, activation="relu")(layers.Flatten()(inp))
        km = keras.Model(inp, [layers.Dense(4, activation="softmax", name="out1")(h),
                               layers.Dense(4, activation="softmax", name="out2")(h)])

        def custom_loss(y_true, y_pred):  # the issue's loss
            loss = keras.losses.sparse_categorical_crossentropy(y_true, y_pred, ignore_class=-1)
            return loss

        km.compile(keras.optimizers.Adam(1e-2), loss=[custom_loss, custom_loss])
        initial = km.get_weights()
        kh = km.fit(x, [_Y1, _Y2], batch_size=bs, epochs=epochs, shuffle=False, verbose=0).history
        # (b) the port: F.cross_entropy(ignore_index=-1) per head, torch's Adam (eps=1e-7 as Keras's), the same batches
        net = _TwoHeads(108)
        load_keras_weights(net, initial)
        opt = torch.optim.Adam(net.parameters(), lr=1e-2, eps=1e-7)
        xt, y1, y2 = torch.as_tensor(x, dtype=tdt), torch.as_tensor(_Y1), torch.as_tensor(_Y2)
        steps, history = [], []
        for _ in range(epochs):
            running_loss = 0.0
            for i in range(0, len(x), bs):
                opt.zero_grad()
                o1, o2 = net(xt[i:i + bs])
                loss = F.cross_entropy(o1, y1[i:i + bs], ignore_index=-1) + F.cross_entropy(o2, y2[i:i + bs],
                                                                                             ignore_index=-1)
                loss.backward()
                opt.step()
                steps.append(loss.item())
                running_loss += loss.item()
            history.append(running_loss / (len(x) // bs))
        finite_weights = all(torch.isfinite(p).all().item() for p in net.parameters())
        n_apart = _weights_apart(net, km.get_weights())
        print(f"\n  Keras loss {np.round(kh['loss'], 4).tolist()}; the port's first-epoch step losses "
              f"{np.round(steps[:5], 4).tolist()} (batches 1 and 4: one head's labels all -1), its epoch losses "
              f"{history}; its weights finite: {finite_weights}, {n_apart:.1e} from Keras's (the NaN is in the "
              f"value only: the ignored entries' gradient is 0)")
        assert np.isfinite(kh["loss"]).all() and math.isnan(steps[0]) and math.isnan(steps[3])
        assert all(math.isnan(h) for h in history) and finite_weights
        # (c) torch_impl: the issue's custom loss with torch_impl's function
        net = _TwoHeads(108)
        load_keras_weights(net, initial)

        def t_custom_loss(y_true, y_pred):
            return losses.sparse_categorical_crossentropy(y_true, y_pred, ignore_class=-1)

        th = tfit.fit(net, x, [_Y1, _Y2], loss=[t_custom_loss, t_custom_loss], output_names=["out1", "out2"],
                      output_activation=["softmax", "softmax"], optimizer=optim.Adam(net.parameters(),
                                                                                     learning_rate=1e-2),
                      batch_size=bs, epochs=epochs, shuffle=False, verbose=0).history
        _final_check(th, kh, dt)
        t_apart = _weights_apart(net, km.get_weights())
        print(f"  torch_impl weights {t_apart:.1e} from Keras's")
        assert t_apart <= (1e-12 if dt == "float64" else 1e-5)


# --------------------------------------------------------------------------------------------------------------
# 5. tensorflow#45966: a (N, T) 0/1 sample_weight for padded sequences vs ignore_index
# --------------------------------------------------------------------------------------------------------------


def _padded_tokens(n=16, t=10, vocab=12, seed=45):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, t + 1, size=n)
    x = rng.integers(1, vocab, size=(n, t))
    valid = np.arange(t)[None] < lengths[:, None]
    x = np.where(valid, x, 0)
    y = np.where(valid, (x * 7 + 3) % (vocab - 1) + 1, 0)  # a token-to-token map; 0 at the padding
    return x, y, valid.astype("float64")


class _TokenNet(torch.nn.Module):
    def __init__(self, vocab=12):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, 8)
        self.hidden = torch.nn.Linear(8, 16)
        self.out = torch.nn.Linear(16, vocab)

    def forward(self, x):
        return self.out(F.relu(self.hidden(self.embed(x.long()))))  # fit hands the ids over as floats


@pytest.mark.parametrize("dt", DTYPES)
def test_temporal_sample_weight_vs_ignore_index(dt):
    seed, epochs, bs, lr, vocab = 45, 3, 8, 0.5, 12
    x, y, w = _padded_tokens()
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((10,), dtype="int64"), layers.Embedding(vocab, 8),
                               layers.Dense(16, activation="relu"), layers.Dense(vocab)])
        km.compile(keras.optimizers.SGD(lr), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        initial = km.get_weights()
        k_first = float(km.evaluate(x[:bs], y[:bs], sample_weight=w[:bs], batch_size=bs, verbose=0))
        kh = km.fit(x, y, sample_weight=w, batch_size=bs, epochs=epochs, shuffle=False, verbose=0).history
        # (b) the usual LM port: nn.CrossEntropyLoss(ignore_index=0) on the flattened tokens
        net = _TokenNet(vocab)
        load_keras_weights(net, initial)
        crit = torch.nn.CrossEntropyLoss(ignore_index=0)

        def lm_loss(logits, labels):
            return crit(logits.reshape(-1, vocab), labels.reshape(-1))

        with torch.no_grad():
            n_first = lm_loss(net(torch.as_tensor(x[:bs])), torch.as_tensor(y[:bs])).item()
        ratio, expected = n_first / k_first, w[:bs].size / w[:bs].sum()
        _sgd_loop(net, x, y, lm_loss, lr, epochs, bs, tdt)
        n_apart = _weights_apart(net, km.get_weights())
        print(f"\n  first batch: Keras {k_first:.6f}, ignore_index {n_first:.6f}: {ratio:.4f}x = N T / tokens = "
              f"{expected:.4f}; trained: weights {n_apart:.1e} from Keras's")
        assert abs(ratio - expected) <= (1e-12 if dt == "float64" else 1e-5) * expected and n_apart > 1e-2
        # (c) torch_impl: the (N, T) weights as Keras takes them
        net = _TokenNet(vocab)
        load_keras_weights(net, initial)
        th = tfit.fit(net, x, y, sample_weight=w, loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                      optimizer=optim.SGD(net.parameters(), learning_rate=lr), batch_size=bs, epochs=epochs,
                      shuffle=False, verbose=0).history
        _final_check(th, kh, dt)
        t_apart = _weights_apart(net, km.get_weights())
        print(f"  torch_impl weights {t_apart:.1e} from Keras's")
        assert t_apart <= (1e-12 if dt == "float64" else 1e-5)


# --------------------------------------------------------------------------------------------------------------
# 6. DS.SE 40118: class_weight with multi-hot labels is the weight of argmax(y), not a per-label pos_weight
# --------------------------------------------------------------------------------------------------------------


def _multilabel(n=96, d=5, seed=40):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    scores = x[:, :4] + 0.5 * rng.normal(size=(n, 4))
    y = (scores > np.quantile(scores, [0.6, 0.9, 0.8, 0.95], axis=0)[np.arange(4), np.arange(4)]).astype("float64")
    return x, y


@pytest.mark.parametrize("dt", DTYPES)
def test_class_weight_multilabel(dt):
    seed, epochs, bs, lr = 40, 3, 32, 0.5
    cw = {0: 2.5, 1: 10., 2: 5., 3: 20}  # the question's dictionary
    x, y = _multilabel()
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((5,)), layers.Dense(4, activation="sigmoid")])
        km.compile(keras.optimizers.SGD(lr), loss="binary_crossentropy")
        initial = km.get_weights()
        kh = km.fit(x, y, class_weight=cw, batch_size=bs, epochs=epochs, shuffle=False, verbose=0).history
        # Keras's rule by hand: one weight per sample, cw[argmax(y)] (an all-zero row: class 0), times the row's
        # mean crossentropy, summed over the batch and divided by its size; SGD on it gives Keras's weights
        net = torch.nn.Sequential(torch.nn.Linear(5, 4))
        load_keras_weights(net, initial)
        sw_rule = np.array([cw[int(c)] for c in np.argmax(y, axis=-1)])

        def rule(logits, target_and_w):
            target, sw = target_and_w[:, :4], target_and_w[:, 4]
            return (F.binary_cross_entropy_with_logits(logits, target, reduction="none").mean(-1) * sw).mean()

        _sgd_loop(net, x, np.concatenate([y, sw_rule[:, None]], 1), rule, lr, epochs, bs, tdt)
        r_apart = _weights_apart(net, km.get_weights())
        # (b) what the asker wanted: per-label positive weights, BCEWithLogitsLoss(pos_weight=...)
        net = torch.nn.Sequential(torch.nn.Linear(5, 4))
        load_keras_weights(net, initial)
        crit = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor([cw[c] for c in range(4)], dtype=tdt))
        _sgd_loop(net, x, y, crit, lr, epochs, bs, tdt)
        n_apart = _weights_apart(net, km.get_weights())
        zero_rows = int((y.sum(1) == 0).sum())
        print(f"\n  positives per label {y.sum(0).astype(int).tolist()}, all-zero rows {zero_rows} (weight 2.5 in "
              f"Keras); Keras's rule by hand: weights {r_apart:.1e} from Keras's; pos_weight loop {n_apart:.1e}")
        assert r_apart <= (1e-12 if dt == "float64" else 1e-5) and n_apart > 1e-2 and zero_rows > 0
        # (c) torch_impl: class_weight read as Keras reads it
        net = torch.nn.Sequential(torch.nn.Linear(5, 4))
        load_keras_weights(net, initial)
        th = tfit.fit(net, x, y, class_weight=cw, loss="binary_crossentropy", output_activation="sigmoid",
                      optimizer=optim.SGD(net.parameters(), learning_rate=lr), batch_size=bs, epochs=epochs,
                      shuffle=False, verbose=0).history
        _final_check(th, kh, dt)
        t_apart = _weights_apart(net, km.get_weights())
        print(f"  torch_impl weights {t_apart:.1e} from Keras's")
        assert t_apart <= (1e-12 if dt == "float64" else 1e-5)


# --------------------------------------------------------------------------------------------------------------
# 7. "Label smoothing in PyTorch - using BCE loss": 0 -> 0.1, 1 -> 0.9 is Keras's label_smoothing=0.2
# --------------------------------------------------------------------------------------------------------------


def test_bce_label_smoothing_by_hand_values():
    rng = np.random.default_rng(7)
    logits, y = rng.normal(size=(6, 1)) * 2, (rng.uniform(size=(6, 1)) > 0.5).astype("float64")
    eps = 0.1
    with _precision("float64"):
        lv = tf.Variable(logits)
        with tf.GradientTape() as tape:
            k = keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=eps)(y, lv)
        k_grad = tape.gradient(k, lv).numpy()
        k = float(k)
        k2 = float(keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=2 * eps)(y, logits))
    criterion = torch.nn.BCEWithLogitsLoss()
    lt, yt = torch.as_tensor(logits), torch.as_tensor(y)
    # (b) the answer's three forms of "label smoothing 0.1": 0 -> 0.1 and 1 -> 0.9
    by_hand = criterion(lt, torch.where(yt == 1, torch.ones_like(yt) - 0.1, torch.zeros_like(yt) + 0.1)).item()
    affine = criterion(lt, (1 - 2 * eps) * yt + eps).item()
    clamped = criterion(lt, yt.clamp(eps, 1 - eps)).item()
    # (c) torch_impl: Keras's y (1 - s) + s / 2
    pt = torch.tensor(logits, requires_grad=True)
    t = losses.BinaryCrossentropy(from_logits=True, label_smoothing=eps)(yt, pt)
    t.backward()
    g = float(np.abs(pt.grad.numpy() - k_grad).max())
    print(f"\n  Keras label_smoothing=0.1 {k:.6f} (targets 0.05 / 0.95), 0.2 {k2:.6f}; the answer's forms {by_hand:.6f}, "
          f"{affine:.6f}, {clamped:.6f}; torch_impl {t.item():.6f} ({_rel(t.item(), k):.1e}), gradient {g:.1e}")
    assert max(_rel(v, k2) for v in (by_hand, affine, clamped)) <= 1e-12 and abs(by_hand - k) > 1e-3
    assert _rel(t.item(), k) <= 1e-12 and g <= 1e-10 * np.abs(k_grad).max()


@pytest.mark.slow  # the values test above is the default one (the suite's time budget)
@pytest.mark.parametrize("dt", DTYPES)
def test_bce_label_smoothing_by_hand_training(dt):
    seed, epochs, bs, lr, eps = 7, 3, 32, 0.5, 0.1
    x, y = _imbalanced(96, 4, 70, rate=0.5)
    with _precision(dt) as tdt:
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((4,)), layers.Dense(1)])
        km.compile(keras.optimizers.SGD(lr), loss=keras.losses.BinaryCrossentropy(from_logits=True,
                                                                                  label_smoothing=eps))
        initial = km.get_weights()
        kh = km.fit(x, y, batch_size=bs, epochs=epochs, shuffle=False, verbose=0).history
        net = torch.nn.Sequential(torch.nn.Linear(4, 1))
        load_keras_weights(net, initial)
        criterion = torch.nn.BCEWithLogitsLoss()
        _sgd_loop(net, x, y, lambda o, t: criterion(o, (1 - 2 * eps) * t + eps), lr, epochs, bs, tdt)
        n_apart = _weights_apart(net, km.get_weights())
        print(f"\n  the answer's smoothing (0.1 / 0.9) loop: weights {n_apart:.1e} from Keras's")
        assert n_apart > 1e-3
        net = torch.nn.Sequential(torch.nn.Linear(4, 1))
        load_keras_weights(net, initial)
        th = tfit.fit(net, x, y, loss=losses.BinaryCrossentropy(from_logits=True, label_smoothing=eps),
                      optimizer=optim.SGD(net.parameters(), learning_rate=lr), batch_size=bs, epochs=epochs,
                      shuffle=False, verbose=0).history
        _final_check(th, kh, dt)
        t_apart = _weights_apart(net, km.get_weights())
        print(f"  torch_impl weights {t_apart:.1e} from Keras's")
        assert t_apart <= (1e-12 if dt == "float64" else 1e-5)

"""README's optimizer/training table (``| | Keras 3 / torch_impl | torch built-in |``), the rows about ``fit``'s
mechanics that no test cited (``test_readme_optim_table_keras.py`` checks the optimizer and layer rows), three ways:
real Keras 3.15.1's ``model.fit`` does what the row's middle column says (against the row's formula in NumPy
float64), the torch built-in what its last column says, and ``torch_impl.fit`` as Keras (float64, small seeded
models).

* "epoch loss" (batch losses weighted by batch size, before each update) and "a ``LearningRateSchedule``"
  (evaluated at the optimizer's step count: per batch), one run for both;
* "softmax/sigmoid output + crossentropy" (the logits behind the activation, whatever ``from_logits`` says);
* "frozen BatchNormalization" (``trainable = False``: inference mode in ``fit``, nothing of it moves);
* "``exclude_from_weight_decay([w])``" (the list on the optimizer; its ``fit`` run: ``test_blind_training_keras.py``).

Keras fact found on the way: a ``LearningRateSchedule`` computes the rate in float32 whatever floatx (its Python
floats through ``tf.convert_to_tensor``, ``keras/src/optimizers/schedules/learning_rate_schedule.py`` 547), cast to
the variables' dtype after: a float64 rate puts the formula about 1e-8 off Keras's history; torch_impl's schedules
compute as Keras's.
The rows pointing at a test are checked there (``test_field_scripts_round2x/3x.py``; two outputs of one layer:
``test_fit_multi_output_keras.py``; compiling again: ``test_field_scripts_round32.py``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from parity_tests.test_field_scripts_round2 import _precision  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import losses, optim, schedules  # noqa: E402
from torch_impl.nn import BatchNormalization, load_keras_weights  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]


F32 = np.float32
EAGER = True  # Keras's step run eagerly: the traced step's numbers here, in a fraction of the time


def _rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def _data(seed, n, d):
    r = np.random.default_rng(seed)
    return r.normal(size=(n, d)), r.normal(size=(n, 1))


def test_epoch_loss_and_schedule_per_batch():
    """6 samples in batches of 4 and 2, two epochs, a linear model, MSE, ``SGD(InverseTimeDecay(0.1, 1, 0.5))``:
    Keras's history is ``sum(n_b l_b) / N`` with each ``l_b`` at the weights before its own update, the rate
    ``0.1 / (1 + 0.5 t)`` (float32 arithmetic) at the step count ``t``; the usual torch loop (``LambdaLR`` stepped
    per epoch, ``running_loss / len(loader)``) logs and trains otherwise."""
    x, y = _data(1, 6, 3)
    r = np.random.default_rng(2)
    w0, b0 = r.normal(size=(3, 1)), r.normal(size=(1,))
    lr, decay, bs, epochs = 0.1, 0.5, 4, 2
    with _precision("float64"):
        km = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        km.set_weights([w0, b0])
        schedule = keras.optimizers.schedules.InverseTimeDecay(lr, 1, decay)
        km.compile(keras.optimizers.SGD(schedule), "mse", run_eagerly=EAGER)
        kh = km.fit(x, y, batch_size=bs, epochs=epochs, shuffle=False, verbose=0).history["loss"]
        k_iterations = int(km.optimizer.iterations)

        w, b, t, manual, plain = w0.copy(), b0.copy(), 0, [], []
        for _ in range(epochs):
            losses, sizes = [], []
            for i in range(0, len(x), bs):
                xb, yb = x[i:i + bs], y[i:i + bs]
                e = xb @ w + b - yb
                losses.append(float(np.mean(e ** 2)))
                sizes.append(len(xb))
                rate = float(F32(lr) / (F32(1) + F32(decay) * F32(t)))  # the schedule's float32 arithmetic
                w, b, t = w - rate * 2 * xb.T @ e / len(xb), b - rate * 2 * e.sum(0) / len(xb), t + 1
            manual.append(float(np.dot(losses, sizes) / sum(sizes)))
            plain.append(float(np.mean(losses)))

        net = torch.nn.Linear(3, 1)
        load_keras_weights(net, [w0, b0])
        opt = optim.SGD(net.parameters(), learning_rate=schedules.InverseTimeDecay(lr, decay_steps=1,
                                                                                   decay_rate=decay))
        th = tfit.fit(net, x, y, loss="mse", optimizer=opt, batch_size=bs, epochs=epochs, shuffle=False,
                      verbose=0).history["loss"]

        net = torch.nn.Linear(3, 1)
        load_keras_weights(net, [w0, b0])
        topt = torch.optim.SGD(net.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.LambdaLR(topt, lambda epoch: 1 / (1 + decay * epoch))
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)),
                                             batch_size=bs)
        loop = []
        for _ in range(epochs):
            running = 0.0
            for xb, yb in loader:
                topt.zero_grad()
                loss = torch.nn.functional.mse_loss(net(xb), yb)
                loss.backward()
                topt.step()
                running += loss.item()
            sched.step()
            loop.append(running / len(loader))
    print(f"epoch loss: Keras {np.round(kh, 5).tolist()} ({k_iterations} steps); vs the row's formula "
          f"{_rel(kh, manual):.1e}, torch_impl {_rel(th, kh):.1e}; the unweighted batch mean {_rel(plain, kh):.1e}, "
          f"the usual torch loop {_rel(loop, kh):.1e}")
    assert k_iterations == 4 and _rel(kh, manual) <= 1e-15 and _rel(th, kh) <= 1e-15
    assert _rel(plain, kh) > 1e-2 and _rel(loop, kh) > 1e-2


@pytest.mark.parametrize("activation, from_logits, loss_dtype", [
    ("sigmoid", False, None), pytest.param("sigmoid", True, None, marks=pytest.mark.slow),
    pytest.param("softmax", False, None, marks=pytest.mark.slow),
    pytest.param("sigmoid", False, "float32", marks=pytest.mark.slow)])
def test_logits_behind_the_output_activation(activation, from_logits, loss_dtype):
    """A saturated output (logits 50 (sigmoid) and 800 (softmax) on the wrong side: the probabilities round to 0
    and 1) and ``binary_crossentropy`` / ``categorical_crossentropy``: Keras's ``fit`` steps by the logits' gradient
    (``p - y``, +-1 per row: SGD(0.1) moves the bias by 0.1), where the clipped probabilities would give 0, and
    with ``from_logits=True`` too (it warns: ``_get_logits``, ``keras/src/backend/tensorflow/nn.py`` 1267-1294);
    ``torch.sigmoid`` + ``nn.BCELoss`` (its log clamped at -100) and ``torch.log(torch.softmax(...))`` + ``NLLLoss``
    see only the rounded probabilities: no step, or ``log(0)``'s NaN; ``torch_impl.fit(output_activation=...)``
    trains as Keras. Only a loss computing in the output's dtype finds the logits: a float32 loss on the float64
    output casts it (``LossFunctionWrapper`` converts ``y_pred`` to its dtype) and, in both, trains on the clipped
    probabilities (loss ``-log(1 - float32(1 - 1e-7))`` = 15.94, no step)."""
    import warnings

    units = 1 if activation == "sigmoid" else 2
    r = np.random.default_rng(3)
    x = np.abs(r.normal(size=(8, 2))) + 1.0
    y = np.zeros((8, units)) if activation == "sigmoid" else np.tile([0.0, 1.0], (8, 1))
    kernel = np.full((2, units), 0.0)
    bias = np.array([50.0]) if activation == "sigmoid" else np.array([800.0, 0.0])  # p rounds to 1 / to 0
    with _precision("float64"):  # the loss objects made in float64: a float32 one would cast away the logits
        loss = (keras.losses.BinaryCrossentropy if activation == "sigmoid" else keras.losses.CategoricalCrossentropy)(
            from_logits=from_logits, dtype=loss_dtype)
        t_loss = (losses.BinaryCrossentropy if activation == "sigmoid" else losses.CategoricalCrossentropy)(
            from_logits=from_logits, dtype=loss_dtype and getattr(torch, loss_dtype))
        km = keras.Sequential([keras.Input((2,)), keras.layers.Dense(units, activation=activation)])
        km.set_weights([kernel, bias])
        km.compile(keras.optimizers.SGD(0.1), loss, run_eagerly=EAGER)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            kh = km.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0).history["loss"]
        assert any("received `from_logits=True`" in str(w.message) for w in seen) == from_logits
        kw = [np.asarray(v) for v in km.get_weights()]

        z = x @ kernel + bias  # the row's formula: one step on the logits' gradient (p - y) / N (per row mean)
        p = 1 / (1 + np.exp(-z)) if units == 1 else np.exp(z - z.max(1, keepdims=True))
        p = p if units == 1 else p / p.sum(1, keepdims=True)
        g = (p - y) / len(x)
        manual = [kernel - 0.1 * x.T @ g, bias - 0.1 * g.sum(0)]

        net = torch.nn.Linear(2, units)
        load_keras_weights(net, [kernel, bias])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # from_logits=True on an activated output: Keras's warning
            th = tfit.fit(net, x, y, loss=t_loss, optimizer=optim.SGD(net.parameters(), learning_rate=0.1),
                          batch_size=8, epochs=1, shuffle=False, verbose=0,
                          output_activation=activation).history["loss"]
        tw = [net.weight.detach().numpy().T, net.bias.detach().numpy()]

        net = torch.nn.Linear(2, units)
        load_keras_weights(net, [kernel, bias])
        topt = torch.optim.SGD(net.parameters(), lr=0.1)
        out = net(torch.tensor(x))
        if units == 1:
            builtin = torch.nn.BCELoss()(torch.sigmoid(out), torch.tensor(y))
        else:
            builtin = torch.nn.NLLLoss()(torch.log(torch.softmax(out, 1)), torch.tensor(y).argmax(1))
        builtin.backward()
        topt.step()
        bw = [net.weight.detach().numpy().T, net.bias.detach().numpy()]
    moved = float(np.abs(kw[1] - bias).max())
    b_moved = float(np.nan_to_num(np.abs(bw[1] - bias), nan=np.inf).max())
    print(f"{activation} output, saturated, from_logits={from_logits}: Keras's bias moved {moved:.3f} (loss "
          f"{kh[0]:.3f}); vs the logits' step {max(_rel(a, b) for a, b in zip(kw[1:], manual[1:])):.1e}, "
          f"torch_impl {max(_rel(a, b) for a, b in zip(tw[1:], kw[1:])):.1e} (kernel abs "
          f"{max(np.abs(a - b).max() for a, b in zip(tw[:1], kw[:1])):.1e}); torch built-in loss "
          f"{float(builtin.detach()):.3g}, bias moved {b_moved:.3g}")
    assert max(np.abs(a - b).max() for a, b in zip(tw, kw)) <= 1e-15
    if loss_dtype is not None:  # the cast output: the clipped float32 probabilities, no gradient, in both
        print(f"  {loss_dtype} loss: Keras {kh[0]:.7f}, torch_impl {th[0]:.7f}")
        clipped = -np.log(1 - float(F32(1) - F32(1e-7)))  # -log(1 - p) at p = 1 - 1e-7 in float32: 15.94
        assert moved == 0 and abs(kh[0] - th[0]) <= 1e-6 * kh[0] and abs(kh[0] - clipped) <= 1e-6 * clipped
        return
    assert moved > 0.09 and max(np.abs(a - b).max() for a, b in zip(kw, manual)) <= 1e-15
    assert b_moved == 0 or not np.isfinite(b_moved)


def test_frozen_batch_normalization_in_fit():
    """``Dense(3) -> BatchNormalization (trainable = False, "pretrained" moving statistics) -> Dense(1)``, MSE, Adam,
    two epochs: in Keras's ``fit`` the layer normalises with its moving statistics and none of its four variables
    moves (the history is the inference-mode loss); torch_impl's ``BatchNormalization.trainable = False`` the same;
    ``nn.BatchNorm1d.requires_grad_(False)`` normalises with the batch statistics and moves its running ones."""
    x, y = _data(4, 16, 4)
    r = np.random.default_rng(5)
    with _precision("float64"):
        keras.utils.set_random_seed(5)
        km = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.BatchNormalization(),
                               keras.layers.Dense(1)])
        ws = km.get_weights()
        ws[2:6] = [r.uniform(0.5, 2, 3), r.normal(size=3), r.normal(size=3), r.uniform(0.5, 2, 3)]
        km.set_weights(ws)
        km.layers[1].trainable = False
        km.compile(keras.optimizers.Adam(0.05), "mse", run_eagerly=EAGER)
        kh = km.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history["loss"]
        kw = km.get_weights()

        class Net(torch.nn.Module):
            def __init__(self, bn):
                super().__init__()
                self.d1, self.bn, self.d2 = torch.nn.Linear(4, 3), bn, torch.nn.Linear(3, 1)

            def forward(self, x):
                return self.d2(self.bn(self.d1(x)))

        bn = BatchNormalization(3)
        net = Net(bn)
        load_keras_weights(net, ws)
        bn.trainable = False
        th = tfit.fit(net, x, y, loss="mse", optimizer=optim.Adam(net.parameters(), learning_rate=0.05),
                      batch_size=16, epochs=2, shuffle=False, verbose=0).history["loss"]
        t_bn = [bn.weight, bn.bias, bn.running_mean, bn.running_var]

        tb = torch.nn.BatchNorm1d(3, eps=1e-3, momentum=0.01)
        bnet = Net(tb)
        with torch.no_grad():
            for p, v in zip([bnet.d1.weight, bnet.d1.bias, tb.weight, tb.bias, tb.running_mean, tb.running_var,
                             bnet.d2.weight, bnet.d2.bias], ws):
                p.copy_(torch.tensor(v.T if v.ndim == 2 else v))
        tb.requires_grad_(False)
        topt = torch.optim.Adam([p for p in bnet.parameters() if p.requires_grad], lr=0.05, eps=1e-7)
        loop = []
        for _ in range(2):
            topt.zero_grad()
            loss = torch.nn.functional.mse_loss(bnet(torch.tensor(x)), torch.tensor(y))
            loss.backward()
            topt.step()
            loop.append(loss.item())
    frozen = max(float(np.abs(a - b).max()) for a, b in zip(kw[2:6], ws[2:6]))
    t_frozen = max(float(np.abs(a.detach().numpy() - b).max()) for a, b in zip(t_bn, ws[2:6]))
    b_moved = float(np.abs(tb.running_mean.numpy() - ws[4]).max())
    h = x @ ws[0] + ws[1]  # the first epoch's loss, at the initial weights: inference mode against batch statistics
    infer, batch = ((np.mean(((ws[2] * (h - m) / np.sqrt(v + 1e-3) + ws[3]) @ ws[6] + ws[7] - y) ** 2))
                    for m, v in ((ws[4], ws[5]), (h.mean(0), h.var(0))))
    print(f"frozen BatchNormalization in fit: Keras's gamma/beta/moving statistics moved {frozen:.1e}, torch_impl's "
          f"{t_frozen:.1e}; history torch_impl {_rel(th, kh):.1e}, the torch loop with requires_grad_(False) "
          f"{_rel(loop, kh):.1e} (its running mean moved {b_moved:.2f}); the inference-mode first-epoch loss "
          f"{infer:.4f} (Keras {kh[0]:.4f}, {_rel(kh[0], infer):.1e}; batch statistics {batch:.4f})")
    assert frozen == 0 and t_frozen == 0 and _rel(th, kh) <= 1e-14 and _rel(kh[0], infer) <= 1e-14
    assert _rel(batch, infer) > 1e-2
    assert _rel(loop, kh) > 1e-2 and b_moved > 1e-3


def test_exclude_from_weight_decay_per_optimizer():
    """``exclude_from_weight_decay([w])``: the list lives on the optimizer: AdamW A excluding the bias leaves it
    undecayed, AdamW B on the same variables (no list) decays it, ``w - w (wd lr)`` (zero gradients: decay alone);
    torch_impl's optimizers the same; ``torch.optim.AdamW`` has no such method (a parameter group with
    ``weight_decay=0``: ``w (1 - lr wd)``)."""
    r = np.random.default_rng(6)
    k0, b0 = r.normal(size=(3, 2)), r.normal(size=(2,))
    lr, wd = 0.1, 0.5
    with _precision("float64"):
        kv = [keras.Variable(k0, name="kernel"), keras.Variable(b0, name="bias")]
        ka, kb = keras.optimizers.AdamW(lr, weight_decay=wd), keras.optimizers.AdamW(lr, weight_decay=wd)
        ka.exclude_from_weight_decay([kv[1]])
        zeros = [tf.zeros_like(v) for v in kv]
        ka.apply(zeros, kv)
        after_a = [np.asarray(v) for v in kv]
        kb.apply(zeros, kv)
        after_b = [np.asarray(v) for v in kv]

        ps = [torch.nn.Parameter(torch.tensor(k0.T.copy())), torch.nn.Parameter(torch.tensor(b0))]
        ta, tb = (optim.AdamW(ps, learning_rate=lr, weight_decay=wd) for _ in range(2))
        ta.exclude_from_weight_decay([ps[1]])
        for opt in (ta, tb):
            for p in ps:
                p.grad = torch.zeros_like(p)
            opt.step()
        t_after_b = [ps[0].detach().numpy().T, ps[1].detach().numpy()]
        ps = [torch.nn.Parameter(torch.tensor(k0.T.copy())), torch.nn.Parameter(torch.tensor(b0))]
        ta = optim.AdamW(ps, learning_rate=lr, weight_decay=wd)
        ta.exclude_from_weight_decay([ps[1]])
        for p in ps:
            p.grad = torch.zeros_like(p)
        ta.step()
        t_after_a = [ps[0].detach().numpy().T, ps[1].detach().numpy()]

        qs = [torch.nn.Parameter(torch.tensor(k0.T.copy())), torch.nn.Parameter(torch.tensor(b0))]
        builtin = torch.optim.AdamW([{"params": [qs[0]]}, {"params": [qs[1]], "weight_decay": 0.0}], lr=lr,
                                    weight_decay=wd)
        for q in qs:
            q.grad = torch.zeros_like(q)
        builtin.step()
        q_after = [qs[0].detach().numpy().T, qs[1].detach().numpy()]
    manual_a = [k0 - k0 * (wd * lr), b0]
    manual_b = [manual_a[0] - manual_a[0] * (wd * lr), b0 - b0 * (wd * lr)]
    gaps = (max(np.abs(a - b).max() for a, b in zip(after_a, manual_a)),
            max(np.abs(a - b).max() for a, b in zip(after_b, manual_b)),
            max(np.abs(a - b).max() for a, b in zip(t_after_a, after_a)),
            max(np.abs(a - b).max() for a, b in zip(t_after_b, after_b)))
    q_gap = max(np.abs(a - b).max() for a, b in zip(q_after, [k0 * (1 - lr * wd), b0]))
    print(f"exclude_from_weight_decay: Keras A (bias excluded) vs the formula {gaps[0]:.1e}, then B (no list) "
          f"{gaps[1]:.1e}; torch_impl A {gaps[2]:.1e}, B {gaps[3]:.1e}; torch.optim.AdamW group weight_decay=0 vs "
          f"w (1 - lr wd) {q_gap:.1e}")
    assert max(gaps) <= 1e-15 and q_gap <= 1e-15 and not hasattr(torch.optim.AdamW, "exclude_from_weight_decay")
    assert np.abs(after_b[1] - b0).max() > 1e-3

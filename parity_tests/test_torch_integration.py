"""torch_impl from a PyTorch user's side: finite-difference gradient checks of the hand-written backward passes,
and the integration defects a torch-side audit found (2026-11-23): channels-last input with a class axis not
last, a per-class alpha that requires grad, a schedule with per-group rates, the moving average of a frozen
parameter, and fit given a DataLoader. Each test prints what it checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torch_impl import fit as tfit
from torch_impl import losses as L
from torch_impl import optim, schedules

GRADCHECK_CASES = [
    ("CategoricalCrossentropy", dict(from_logits=True, label_smoothing=0.1), "one_hot"),
    ("CategoricalCrossentropy", dict(), "soft"),
    ("SparseCategoricalCrossentropy", dict(from_logits=True, ignore_class=2), "labels"),
    ("SparseCategoricalCrossentropy", dict(axis=1), "labels"),
    ("BinaryCrossentropy", dict(from_logits=True, label_smoothing=0.2), "binary"),
    ("BinaryCrossentropy", dict(), "binary"),
    ("BinaryFocalCrossentropy", dict(apply_class_balancing=True, gamma=1.5), "binary"),
    ("BinaryFocalCrossentropy", dict(from_logits=True, gamma=2.0), "binary"),
    ("CategoricalFocalCrossentropy", dict(alpha=[0.2, 0.3, 0.5], gamma=0.5), "one_hot"),
    ("CategoricalFocalCrossentropy", dict(from_logits=True), "one_hot"),
]


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "mean_with_sample_weight", "none"])
@pytest.mark.parametrize("name,kw,targets", GRADCHECK_CASES, ids=lambda v: str(v))
def test_gradcheck_and_gradgradcheck_float64(name, kw, targets, reduction):
    """The hand-written backward passes against finite differences (inputs inside the clip interval), and their
    own gradients (double backward), with respect to the predictions and the sample weights."""
    g = torch.Generator().manual_seed(0)
    logits = kw.get("from_logits", False)
    z = torch.randn(4, 3, generator=g, dtype=torch.float64)
    if name.startswith("Binary"):
        x = z if logits else torch.sigmoid(z) * 0.9 + 0.05
    else:
        x = z if logits else torch.softmax(z, -1) * 0.9 + 0.033
    labels = torch.tensor([0, 2, 1, 1])
    y = {"one_hot": torch.nn.functional.one_hot(labels, 3).double(), "labels": labels,
         "soft": torch.softmax(torch.randn(4, 3, generator=g, dtype=torch.float64), -1),
         "binary": (torch.rand(4, 3, generator=g) > 0.5).double()}[targets]
    if kw.get("axis") == 1:
        x, y = x.T.contiguous()[None], y[None]  # (1, C, N): classes on axis 1
    loss = getattr(L, name)(reduction=reduction, **kw)
    sw = torch.tensor([0.5, 1.5, 1.0, 2.0], dtype=torch.float64)[: y.shape[-1] if kw.get("axis") == 1 else 4]
    if kw.get("axis") == 1:
        sw = sw[None]
    xs = x.clone().requires_grad_(True)
    ws = sw.clone().requires_grad_(True)

    def f(a, w):
        return loss(y, a, sample_weight=w)

    ok1 = torch.autograd.gradcheck(f, (xs, ws))
    ok2 = torch.autograd.gradgradcheck(f, (xs, ws))
    print(f"{name}{kw} {reduction}: gradcheck {ok1}, gradgradcheck {ok2}")
    assert ok1 and ok2


def test_channels_last_input_with_the_class_axis_first():
    """A channels-last (N, C, H, W) probability input with axis=1: backward works and equals the contiguous one
    (PyTorch's nll_loss backward refused the layout)."""
    g = torch.Generator().manual_seed(0)
    p = torch.softmax(torch.randn(2, 5, 3, 4, generator=g), 1)
    y = torch.randint(0, 5, (2, 3, 4), generator=g)
    grads = []
    for t in (p.to(memory_format=torch.channels_last), p.contiguous()):
        x = t.clone(memory_format=torch.preserve_format).requires_grad_(True)
        L.SparseCategoricalCrossentropy(axis=1)(y, x).backward()
        grads.append(x.grad)
    print(f"channels-last vs contiguous gradient: max |diff| {float((grads[0] - grads[1]).abs().max()):.1e}")
    torch.testing.assert_close(grads[0], grads[1], rtol=0, atol=0)


def test_alpha_that_requires_grad_is_refused():
    """Keras's alpha is a constant; an alpha tensor that requires grad got no gradient, silently."""
    alpha = torch.tensor([0.2, 0.3, 0.5], requires_grad=True)
    with pytest.raises(ValueError, match="alpha"):
        L.CategoricalFocalCrossentropy(alpha=alpha)
    with pytest.raises(ValueError, match="alpha"):
        L.categorical_focal_crossentropy(torch.eye(3), torch.full((3, 3), 1 / 3), alpha=alpha)
    L.CategoricalFocalCrossentropy(alpha=alpha.detach())  # fine


def test_schedule_with_per_group_rates_is_refused():
    """A schedule sets every group's rate (Keras has one learning rate per optimizer): per-group rates with a
    schedule raise instead of being overwritten silently."""
    a, b = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2))
    sched = schedules.ExponentialDecay(0.001, 10, 0.5)
    with pytest.raises(ValueError, match="schedule"):
        optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.1}], learning_rate=sched)
    opt = optim.Adam([{"params": [a]}, {"params": [b]}], learning_rate=sched)
    print("groups' rates with a schedule:", [g["lr"] for g in opt.param_groups])


def test_moving_average_skips_frozen_parameters():
    """use_ema averages the trainable parameters only (Keras's trainable variables): a frozen one keeps its
    value through finalize_variable_values."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))
    model[0].weight.requires_grad_(False)
    frozen = model[0].weight.detach().clone()
    opt = optim.SGD(model.parameters(), learning_rate=0.1, use_ema=True)
    for _ in range(5):
        opt.zero_grad()
        model(torch.randn(8, 4)).pow(2).sum().backward()
        with torch.no_grad():
            model[0].weight.add_(0.01)  # changed outside the optimizer, as a user may
        opt.step()
    changed = model[0].weight.detach().clone()
    opt.finalize_variable_values()
    print(f"frozen weight moved by {float((changed - frozen).abs().max()):.3f} outside the optimizer; "
          f"finalize changed it by {float((model[0].weight - changed).abs().max()):.1e}")
    assert torch.equal(model[0].weight, changed)
    assert "average" not in opt.state[model[0].weight]


def test_fit_given_a_dataset_or_a_dataloader():
    """A torch Dataset gives samples, not batches: fit says to wrap it in a DataLoader, which it takes as Keras's fit
    does (parity_tests/test_fit_iterables_keras.py)."""
    data = torch.utils.data.TensorDataset(torch.randn(8, 4), torch.randint(0, 3, (8,)))
    model = torch.nn.Linear(4, 3)
    with pytest.raises(ValueError, match="Wrap it in a torch.utils.data.DataLoader"):
        tfit.fit(model, data, None, loss="sparse_categorical_crossentropy", optimizer=optim.SGD(model.parameters()),
                 verbose=0)
    h = tfit.fit(model, torch.utils.data.DataLoader(data, batch_size=4), loss="sparse_categorical_crossentropy",
                 optimizer=optim.SGD(model.parameters()), verbose=0, shuffle=False, output_activation="softmax")
    assert len(h.history["loss"]) == 1
    h = tfit.fit(model, np.asarray(data.tensors[0]), data.tensors[1], loss="sparse_categorical_crossentropy",
                 optimizer=optim.SGD(model.parameters()), verbose=0, output_activation="softmax")
    assert len(h.history["loss"]) == 1


def test_fit_given_a_generator_and_y_or_a_split_leaving_no_data_raises_like_keras():
    model = torch.nn.Linear(4, 3)
    x, y = np.random.default_rng(0).normal(size=(8, 4)), np.arange(8) % 3
    kw = dict(loss="sparse_categorical_crossentropy", optimizer=optim.SGD(model.parameters()), verbose=0)
    for gen in ((xi for xi in x), iter(list(x))):  # Keras's error: the targets belong in the batches
        with pytest.raises(ValueError, match="`y` should not be passed. Instead, the targets should be included"):
            tfit.fit(model, gen, y, **kw)
    # Keras's train_validation_split: floor(N * (1 - split)) must leave both parts non-empty
    for n, split in ((1, 0.5), (8, 1e-17), (8, 0.99)):
        with pytest.raises(ValueError, match=f"Training data contains {n} samples, which is not sufficient"):
            tfit.fit(model, x[:n], y[:n], validation_split=split, **kw)
    h = tfit.fit(model, x, y, validation_split=0.25, **kw)
    print("generator and iterator with y and 3 empty splits raise; split 0.25 of 8 trains:", h.history.keys())
    assert {"loss", "val_loss"} <= set(h.history) and len(h.history["val_loss"]) == 1


@pytest.mark.parametrize("name,kw", [
    ("BinaryCrossentropy", dict(from_logits=True)),
    ("BinaryFocalCrossentropy", dict(from_logits=True, apply_class_balancing=True)),
    ("CategoricalCrossentropy", dict(from_logits=True)),
    ("SparseCategoricalCrossentropy", dict(from_logits=True)),
])
def test_torch_func_vjp_jacrev_and_hessian(name, kw):
    """``torch.func.vjp``, ``jacrev`` and ``jacrev(jacrev)`` equal autograd's gradient and double backward (vjp of
    the sigmoid crossentropy raised: its backward called autograd.grad on functorch's tensors)."""
    g = torch.Generator().manual_seed(1)
    z = torch.randn(4, 3, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 2, 1, 1])
    y = labels if name.startswith("Sparse") else (
        torch.nn.functional.one_hot(labels, 3).double() if name.startswith("Categorical") else (z > 0.3).double())
    loss = getattr(L, name)(**kw)

    def f(a):
        return loss(y, a)

    _, vjp_fn = torch.func.vjp(f, z)
    by_vjp = vjp_fn(torch.ones((), dtype=torch.float64))[0]
    by_jacrev = torch.func.jacrev(f)(z)
    hessian = torch.func.jacrev(torch.func.jacrev(f))(z)
    za = z.clone().requires_grad_(True)
    (ga,) = torch.autograd.grad(f(za), za, create_graph=True)
    rows = [torch.autograd.grad(ga.reshape(-1)[i], za, retain_graph=True)[0] for i in range(ga.numel())]
    h_auto = torch.stack(rows).reshape(4, 3, 4, 3)
    print(f"{name}: vjp vs autograd {float((by_vjp - ga).abs().max()):.1e}, jacrev {float((by_jacrev - ga).abs().max()):.1e}, "
          f"hessian {float((hessian - h_auto).abs().max()):.1e}")
    torch.testing.assert_close(by_vjp, ga.detach(), rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(by_jacrev, ga.detach(), rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(hessian, h_auto, rtol=1e-12, atol=1e-15)


def test_fit_takes_read_only_numpy_views_without_a_warning():
    """A sliding-window view (read-only, as field time-series scripts make) trains as the same array copied;
    Keras takes it silently, so torch's non-writable-array warning must not reach the user."""
    import warnings

    x = np.lib.stride_tricks.sliding_window_view(np.arange(40, dtype="float32") / 40, 5)
    assert not x.flags.writeable
    runs = []
    for data in (x, x.copy()):
        torch.manual_seed(0)
        net = torch.nn.Linear(5, 1)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            h = tfit.fit(net, data, data[:, :1], sample_weight=np.broadcast_to(np.float32(1), (len(data),)), loss="mse", optimizer="sgd",
                         epochs=2, shuffle=False, verbose=0)
        runs.append(h.history["loss"])
    print(f"read-only view: loss {runs[0]}, copy {runs[1]}")
    assert runs[0] == runs[1]

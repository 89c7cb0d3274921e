"""torch_impl.nn (initialisers, BatchNormalization, Keras-layout weights) and torch_impl.fit's contract."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from torch_impl import fit as tfit
from torch_impl import losses, optim
from torch_impl.nn import BatchNormalization, build_model, glorot_uniform_, keras_init_, keras_weights, load_keras_weights

SPEC = {"input_dim": 5, "layers": [{"type": "dense", "units": 7, "activation": "relu"}, {"type": "batchnorm"},
                                   {"type": "dense", "units": 3, "activation": "softmax"}]}


def test_glorot_uniform_limits_and_zero_bias():
    layer = keras_init_(torch.nn.Linear(300, 200), generator=torch.Generator().manual_seed(0))
    limit = math.sqrt(6 / 500)
    w = layer.weight.detach()
    assert float(w.abs().max()) <= limit and float(w.abs().max()) > 0.95 * limit
    assert abs(float(w.var()) - limit**2 / 3) < 0.05 * limit**2 / 3  # U(-l, l) has variance l^2/3
    assert bool((layer.bias == 0).all())
    conv = torch.nn.Conv2d(3, 8, 3)
    glorot_uniform_(conv.weight)
    assert float(conv.weight.abs().max()) <= math.sqrt(6 / (27 + 72))


def test_batchnorm_keras_semantics_vs_torch():
    torch.manual_seed(0)
    x = torch.randn(16, 4, dtype=torch.float64) * 3 + 1
    ours = BatchNormalization(4, dtype=torch.float64)
    ref = torch.nn.BatchNorm1d(4, momentum=0.01, eps=1e-3, dtype=torch.float64)  # torch's closest settings
    ours.train(), ref.train()
    y_ours, y_ref = ours(x), ref(x)
    torch.testing.assert_close(y_ours, y_ref)  # the normalisation itself is the same in training
    torch.testing.assert_close(ours.running_mean, ref.running_mean)
    biased = x.var(0, unbiased=False)
    torch.testing.assert_close(ours.running_var, 0.99 + 0.01 * biased)  # Keras: biased batch variance
    gap = float((ref.running_var - ours.running_var).abs().max())
    print(f"moving variance after one batch of 16: torch.nn.BatchNorm1d differs from Keras by {gap:.2e} (unbiased)")
    assert gap > 1e-4


def test_batchnorm_channels_first_and_errors():
    from torch_impl.nn import BatchNorm2d

    bn = BatchNormalization(3)
    y = bn(torch.randn(2, 3, 5, 5))
    assert y.shape == (2, 3, 5, 5)
    x = torch.randn(4, 3, 5, 5)
    bn2 = BatchNorm2d(3)
    y2 = bn2(x)
    per_channel = x.transpose(0, 1).reshape(3, -1)
    torch.testing.assert_close(bn2.running_var, 0.99 + 0.01 * per_channel.var(1, unbiased=False))
    torch.testing.assert_close(y2.transpose(0, 1).reshape(3, -1).mean(1), torch.zeros(3), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="N, C, H, W"):
        bn2(torch.randn(2, 3))
    with pytest.raises(ValueError, match="features"):
        bn(torch.randn(2, 4))
    with pytest.raises(ValueError, match="momentum"):
        BatchNormalization(3, momentum=1.5)


def test_keras_layout_round_trip_and_errors():
    model = build_model(SPEC)
    weights = keras_weights(model)
    assert [w.shape for w in weights] == [(5, 7), (7,), (7,), (7,), (7,), (7,), (7, 3), (3,)]
    new = [np.random.default_rng(0).normal(size=w.shape) for w in weights]
    load_keras_weights(model, new)
    for a, b in zip(keras_weights(model), new):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    with pytest.raises(ValueError, match="expected 8 weight arrays"):
        load_keras_weights(model, new[:-1])
    bad = list(new)
    bad[0] = np.zeros((7, 5))
    with pytest.raises(ValueError, match=r"0.kernel: expected an array of shape \(5, 7\)"):
        load_keras_weights(model, bad)


def test_build_model_errors():
    with pytest.raises(ValueError, match="input_dim"):
        build_model({"layers": []})
    with pytest.raises(ValueError, match="last layer"):
        build_model({"input_dim": 3, "layers": [{"type": "batchnorm"}]})
    with pytest.raises(ValueError, match="unknown layer type"):
        build_model({"input_dim": 3, "layers": [{"type": "conv"}, {"type": "dense", "units": 2}]})
    with pytest.raises(ValueError, match="Unknown activation"):
        build_model({"input_dim": 3, "layers": [{"type": "dense", "units": 2, "activation": "swishy"},
                                                {"type": "dense", "units": 2}]})


def _data(n=40):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 5))
    return x, (x[:, 0] > 0).astype(int)


def test_fit_contract():
    x, y = _data()
    model = build_model(SPEC)
    opt = optim.Adam(model.parameters())
    loss = losses.SparseCategoricalCrossentropy()
    with pytest.raises(ValueError, match="class_weight"):
        tfit.fit(model, x, y, loss=loss, optimizer=opt, class_weight={0: 1}, sample_weight=np.ones(40), verbose=0,
                 metrics=["accuracy"])
    with pytest.raises(ValueError, match="batch_size"):
        tfit.fit(model, x, y, loss=loss, optimizer=opt, batch_size=0, verbose=0, metrics=["accuracy"])
    with pytest.raises(ValueError, match="cardinality"):
        tfit.fit(model, x, y[:-1], loss=loss, optimizer=opt, verbose=0, metrics=["accuracy"])
    hist = tfit.fit(model, x, y, loss=loss, optimizer=opt, batch_size=16, epochs=2, validation_split=0.25,
                    generator=1, verbose=0, metrics=["accuracy"])
    assert set(hist.history) == {"loss", "accuracy", "val_loss", "val_accuracy"} and hist.epoch == [0, 1]


def test_epoch_loss_is_batch_size_weighted():
    """Keras's epoch loss: batch losses weighted by batch size (the last batch is partial)."""
    x, y = _data(10)
    model = build_model({"input_dim": 5, "layers": [{"type": "dense", "units": 2, "activation": "softmax"}]})
    seen = []
    opt = optim.SGD(model.parameters(), learning_rate=0.0)  # no update: every batch sees the same model
    hist = tfit.fit(model, x, y, loss=losses.SparseCategoricalCrossentropy(), optimizer=opt, batch_size=4,
                    epochs=1, shuffle=False, verbose=0, on_batch_end=lambda e, b, logs: seen.append(logs["loss"]),
                    metrics=["accuracy"])
    expected = (4 * seen[0] + 4 * seen[1] + 2 * seen[2]) / 10
    assert len(seen) == 3 and abs(hist.history["loss"][0] - expected) < 1e-6


def test_softmax_output_trains_on_logits():
    """compiled_loss: what Keras's compiled crossentropy sees for a softmax/sigmoid output layer."""
    z = torch.tensor([[30.0, 0.0, -30.0]], requires_grad=True)
    y = torch.tensor([[0.0, 0.0, 1.0]])
    fn = tfit.compiled_loss(losses.CategoricalCrossentropy(), "softmax")
    (g,) = torch.autograd.grad(fn(y, z), z)
    assert float(g.abs().max()) > 0.5  # the logits path: no clipping dead zone
    # binary focal behind a softmax: Keras's mix, the sigmoid crossentropy of the logits times the factor from
    # the softmax probabilities (test_field_scripts_round8.py checks it against Keras)
    focal = tfit.compiled_loss(losses.BinaryFocalCrossentropy(gamma=2.0), "softmax")
    p, zz = torch.softmax(z.detach(), -1), z.detach()
    bce = torch.clamp(zz, min=0) - zz * y + torch.log1p(torch.exp(-zz.abs()))
    p_t = y * p + (1 - y) * (1 - p)
    expected = ((1 - p_t) ** 2 * bce).mean()
    assert torch.allclose(focal(y, z).detach(), expected, rtol=1e-6)


def test_keras_init_batchnorm_without_center_or_scale():
    from torch_impl.nn import BatchNormalization

    for center, scale in ((False, True), (True, False), (False, False)):
        bn = BatchNormalization(4, center=center, scale=scale)
        keras_init_(torch.nn.Sequential(bn))
        print(f"center={center} scale={scale}: gamma {bn.weight}, beta {bn.bias}")
        assert (bn.weight is None) == (not scale) and (bn.bias is None) == (not center)
        assert bool((bn.running_var == 1).all()) and bool((bn.running_mean == 0).all())


def test_fit_takes_a_loss_as_keras_compile_does():
    """``loss=`` a name, a functional loss or a class instance: the same run (Keras's compile treats them alike,
    the logits behind a softmax included); another callable is wrapped and sees the probabilities."""
    spec = {"input_dim": 4, "layers": [{"type": "dense", "units": 3, "activation": "softmax"}]}
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 4)), np.eye(3)[rng.integers(0, 3, 40)]
    histories = {}
    torch.set_default_dtype(torch.float64)  # Keras's floatx for a float64 run
    try:
        for label, loss in [("class", losses.CategoricalCrossentropy()), ("name", "categorical_crossentropy"),
                            ("functional", losses.categorical_crossentropy),
                            ("own function", lambda t, p: -(t * torch.log(p)).sum(-1))]:
            torch.manual_seed(0)
            model = build_model(spec, dtype=torch.float64)
            h = tfit.fit(model, x, y, loss=loss, optimizer=optim.Adam(model.parameters(), learning_rate=0.01),
                         epochs=3, verbose=0, generator=1, metrics=["accuracy"])
            histories[label] = h.history["loss"]
    finally:
        torch.set_default_dtype(torch.float32)
    print(histories)
    assert histories["name"] == histories["class"] == histories["functional"]
    np.testing.assert_allclose(histories["own function"], histories["class"], rtol=1e-12)  # no clipping reached
    assert isinstance(tfit.as_loss("mse"), losses.MeanSquaredError)  # the rest of keras.losses by name too
    with pytest.raises(ValueError, match="Unknown loss"):
        tfit.as_loss("mean_squared_errors")
    with pytest.raises(ValueError, match="loss must be"):
        tfit.as_loss(3)


def test_loading_into_torch_batchnorm_warns():
    """torch.nn.BatchNorm1d takes Keras's arrays but not its semantics: load_keras_weights says so."""
    import warnings

    arrays = [np.ones((4, 3)), np.zeros(3), np.ones(3), np.zeros(3), np.zeros(3), np.ones(3)]
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    with pytest.warns(UserWarning, match="BatchNormalization"):
        load_keras_weights(theirs, arrays)
    ours = torch.nn.Sequential(torch.nn.Linear(4, 3), BatchNormalization(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_keras_weights(ours, arrays)
    assert torch.equal(ours[1].running_var, torch.ones(3)) and torch.equal(theirs[1].running_var, torch.ones(3))

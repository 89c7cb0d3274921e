"""Keras's MultiOptimizer: ``fit`` with ``torch_impl.optim.MultiOptimizer`` against ``model.fit`` with
``keras.optimizers.MultiOptimizer`` (an ``OptimizerMap`` by variable path: the hidden layer on Adam with
``global_clipnorm`` and EMA, the output layer on SGD with momentum and a schedule), float64 and float32; its
``iterations`` and each sub-optimizer's; the ``loss_scale_factor`` override; Keras's errors.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras.src.optimizers.multi_optimizer import OptimizerMap  # noqa: E402

from keras_impl.models import build_model as keras_build  # noqa: E402
from parity_tests.test_field_scripts_round2 import _check_history, _precision  # noqa: E402
from parity_tests.test_optim_fuzz_keras import dense_classifier_case  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import optim, schedules  # noqa: E402
from torch_impl.nn import build_model, load_keras_weights  # noqa: E402

pytestmark = pytest.mark.keras

@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
@pytest.mark.parametrize("scale", [None, 4.0])
def test_fit_with_multi_optimizer_like_keras(dt, scale):
    x, y, spec = dense_classifier_case(12, 160)
    with _precision(dt):
        keras.utils.set_random_seed(1)
        km = keras_build(spec)
        w = km.get_weights()
        hidden_path = km.layers[0].kernel.path.rsplit("/", 1)[0]
        k_adam = keras.optimizers.Adam(0.01, global_clipnorm=0.5, use_ema=True, ema_overwrite_frequency=3)
        k_sgd = keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 4, 0.5), momentum=0.9)
        k_opt = keras.optimizers.MultiOptimizer(OptimizerMap(k_sgd, {hidden_path + "/.*": k_adam}),
                                                loss_scale_factor=scale)
        km.compile(optimizer=k_opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        kh = km.fit(x, y, batch_size=32, epochs=4, shuffle=False, verbose=0, validation_split=0.25).history
        k_iters = [int(k_opt.iterations), int(k_adam.iterations), int(k_sgd.iterations)]
        tm = build_model(spec)
        load_keras_weights(tm, w)
        hidden, head = [m for m in tm.modules() if isinstance(m, torch.nn.Linear)]
        t_adam = optim.Adam(hidden.parameters(), 0.01, global_clipnorm=0.5, use_ema=True, ema_overwrite_frequency=3)
        t_sgd = optim.SGD(head.parameters(), schedules.ExponentialDecay(0.1, 4, 0.5), momentum=0.9)
        t_opt = optim.MultiOptimizer([t_adam, t_sgd], loss_scale_factor=scale)
        th = tfit.fit(tm, x, y, loss="sparse_categorical_crossentropy", optimizer=t_opt, batch_size=32, epochs=4,
                      shuffle=False, verbose=0, validation_split=0.25, metrics=["accuracy"]).history
        t_iters = [t_opt.iterations, t_adam.iterations, t_sgd.iterations]
    print(f"MultiOptimizer(Adam on the hidden layer, SGD on the head, loss_scale_factor={scale}), {dt}:")
    _check_history(th, kh, dt)
    final = max(float(np.max(np.abs(a - b.detach().numpy().T if b.dim() == 2 else a - b.detach().numpy())))
                for a, b in zip(km.get_weights(), [hidden.weight, hidden.bias, head.weight, head.bias]))
    print(f"  iterations (multi, adam, sgd): Keras {k_iters}, torch_impl {t_iters}; final weights max abs diff "
          f"{final:.1e}")
    assert k_iters == t_iters == [16, 16, 16]
    assert final <= (1e-13 if dt == "float64" else 1e-5)
    assert t_adam.loss_scale_factor == t_sgd.loss_scale_factor == scale


def test_multi_optimizer_errors_like_keras():
    """No ``learning_rate`` (Keras's ``AttributeError``), no nesting, no shared parameter; its state round-trips."""
    a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 1)
    opt = optim.MultiOptimizer([optim.Adam(a.parameters()), optim.SGD(b.parameters())])
    k_opt = keras.optimizers.MultiOptimizer(OptimizerMap(keras.optimizers.Adam()))
    for o in (opt, k_opt):
        with pytest.raises(AttributeError, match="Learning rate cannot be accessed"):
            o.learning_rate
        with pytest.raises(AttributeError, match="Learning rate cannot be set"):
            o.learning_rate = 0.1
    with pytest.raises(ValueError, match="cannot be used inside"):
        optim.MultiOptimizer([opt])
    with pytest.raises(ValueError, match="two of"):
        optim.MultiOptimizer([optim.Adam(a.parameters()), optim.SGD(a.parameters())])
    x = torch.randn(4, 2)
    b(a(x)).sum().backward()
    opt.step()
    state = opt.state_dict()
    again = optim.MultiOptimizer([optim.Adam(a.parameters()), optim.SGD(b.parameters())])
    again.load_state_dict(state)
    assert again.iterations == 1 and again.optimizers[0].iterations == 1
    print("MultiOptimizer: learning_rate raises as Keras's; nesting and shared parameters refused; state round-trips")

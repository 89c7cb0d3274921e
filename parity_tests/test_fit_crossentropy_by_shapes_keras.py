"""``fit(loss="crossentropy")`` (or ``"ce"``) against Keras's ``compile(loss="crossentropy")``.

Keras's ``get_loss`` picks the crossentropy from the first batch's shapes: binary for one output unit, sparse
categorical for labels of a lower rank (or ``(N, 1)`` labels against several units), categorical otherwise; on a
sigmoid/softmax output the picked loss takes the logits behind it. Measured: 4 shape cases x 2 epochs, every
history key within 1.9e-16 (float64).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")

from parity_tests.test_field_scripts_round2 import _precision, _rel  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl.nn import load_keras_weights  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

_RNG = np.random.default_rng(5)
_X = _RNG.normal(size=(48, 4))
_CASES = {  # labels, output units, activation
    "binary": (_RNG.integers(0, 2, (48, 1)).astype(float), 1, "sigmoid"),
    "sparse": (_RNG.integers(0, 3, 48), 3, "softmax"),
    "sparse_n1": (_RNG.integers(0, 3, (48, 1)), 3, "softmax"),
    "categorical": (np.eye(3)[_RNG.integers(0, 3, 48)], 3, "softmax"),
}


@pytest.mark.parametrize("name", list(_CASES))
def test_crossentropy_is_picked_from_the_shapes_like_keras(name):
    y, units, act = _CASES[name]
    with _precision("float64"):
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units, activation=act)])
        weights = [w.copy() for w in model.get_weights()]
        model.compile(optimizer=keras.optimizers.Adam(0.1), loss="crossentropy", metrics=["accuracy"])
        kh = model.fit(_X, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
        net = torch.nn.Linear(4, units)
        load_keras_weights(net, weights)
        th = tfit.fit(net, _X, y, loss="crossentropy", optimizer=optim.Adam(net.parameters(), learning_rate=0.1),
                      metrics=["accuracy"], output_activation=act, batch_size=16, epochs=2, shuffle=False,
                      verbose=0).history
    worst = max(_rel(th[k], v) for k, v in kh.items())
    print(f"{name}: Keras {kh} ours {th}; max rel {worst:.1e}")
    assert set(th) == set(kh) and worst <= 1e-12

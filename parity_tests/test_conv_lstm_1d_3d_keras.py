"""``torch_impl.nn.ConvLSTM1D`` / ``ConvLSTM3D`` against Keras 3.15.1's ``keras.layers.ConvLSTM1D`` / ``ConvLSTM3D``
(the same ``ConvLSTM`` base as ``ConvLSTM2D``, ``keras/src/layers/rnn/conv_lstm.py``, over 1 or 3 spatial axes).

Each case builds Keras's layer, moves its weights off their initial values, loads them into the torch layers
(``load_keras_weights``; channels-last and torch's channels-first layout) and compares the outputs (and states with
``return_state``) and the gradients of the input and of every weight (of ``sum(output * w)`` for a fixed ``w``).
Cases: ``padding`` same with even kernels and strides, valid with strides, dilation with ``go_backwards``, a step
mask, a per-position mask (Keras's ``(N, T, *S')`` mask, as ``Masking`` of channels-last frames gives), seeded
``dropout``/``recurrent_dropout`` over two training calls and an eval call (the generators' states compared);
then ``keras_init_(seed=...)`` against Keras's initial weights, and a 2-epoch fit of a small ConvLSTM1D model
(slow).

Measured over the cases (float64; float32 in brackets), max abs difference: outputs 9.7e-16 (3.3e-7), gradients
3.2e-14 (1.9e-5, gradients up to ~35); over the largest Keras value (asserted: 1e-14 in float64, 1e-6 / 1e-5 in
float32): outputs 1.1e-15 (5.5e-7), gradients 1.5e-15 (6.9e-7). ``keras_init_(seed=4)``: kernels and biases equal,
recurrent kernels within 3.0e-7 (float32 QR), the generators' states equal. The fit: losses 2.2e-16 apart, initial
and final weights 5.0e-16.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402

from parity_tests.test_conv_lstm_keras import _compare  # noqa: E402
from parity_tests.test_field_scripts_round2 import _precision  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl.nn import keras_init_, keras_weights, load_keras_weights  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

SHAPES = {1: (2, 4, 9, 3), 3: (2, 3, 5, 4, 4, 2)}  # (N, T, *S, C)
KERAS = {1: layers.ConvLSTM1D, 3: layers.ConvLSTM3D}
TORCH = {1: tnn.ConvLSTM1D, 3: tnn.ConvLSTM3D}
STEP_MASK = {1: np.array([[True, False, True, True], [False, True, True, False]]),
             3: np.array([[True, False, True], [False, True, True]])}
CASES = {
    "same-even-kernel-strides-state": dict(filters=2, kernel_size=2, padding="same", strides=2,
                                           return_sequences=True, return_state=True),
    "valid-strides-state": dict(filters=3, kernel_size=3, strides=2, return_state=True),
    "dilation-backwards": dict(filters=2, kernel_size=2, padding="same", dilation_rate=2, return_sequences=True,
                               go_backwards=True),
    "mask-backwards-state": dict(filters=2, kernel_size=3, padding="same", return_sequences=True, go_backwards=True,
                                 return_state=True),
    "pixelmask-sequences": dict(filters=2, kernel_size=2, padding="same", return_sequences=True,
                                activation="relu", recurrent_activation="hard_sigmoid"),
    "dropout": dict(filters=2, kernel_size=3, padding="same", return_sequences=True, dropout=0.3,
                    recurrent_dropout=0.25, seed=11),
}
TOLS = {"float64": (1e-14, 1e-14), "float32": (1e-6, 1e-5)}  # outputs, gradients: max abs diff over max |Keras|


def _case(rank: int, name: str, dt: str):
    """Keras's layer (built, weights moved), the torch layers (channels-last, channels-first) with its weights,
    the input and the mask."""
    kw = dict(CASES[name])
    shape = SHAPES[rank]
    rng = np.random.default_rng(10 * rank + sorted(CASES).index(name))
    x = rng.standard_normal(shape).astype(dt)
    keras.utils.set_random_seed(3)
    layer = KERAS[rank](**kw)
    layer.build((None,) + shape[1:])
    layer.set_weights([(w + 0.3 * rng.standard_normal(w.shape)).astype(dt) for w in layer.get_weights()])
    filters, kernel = kw.pop("filters"), kw.pop("kernel_size")
    nets = [load_keras_weights(TORCH[rank](shape[-1], filters, kernel, data_format=f, dtype=getattr(torch, dt),
                                           **kw), layer.get_weights())
            for f in ("channels_last", "channels_first")]
    mask = None
    if name.startswith("mask"):
        mask = STEP_MASK[rank]
    elif name.startswith("pixelmask"):  # Keras's (N, T, *S') mask, as Masking of channels-last frames gives
        mask = rng.random(shape[:-1]) > 0.3
        mask[0, 1] = False  # a whole masked step too
    return layer, nets, x, mask


#: the default run's cases (0.1-0.5 s each); the others and float32 are ``slow``
QUICK = {(1, "dropout", "float64"), (3, "pixelmask-sequences", "float64"),
         (3, "same-even-kernel-strides-state", "float64")}


@pytest.mark.parametrize("rank,name,dt", [
    pytest.param(r, n, d, marks=() if (r, n, d) in QUICK else pytest.mark.slow)
    for r in (1, 3) for n in sorted(CASES) for d in ("float64", "float32")])
def test_conv_lstm_nd_matches_keras(rank, name, dt):
    """Outputs and gradients in both layouts; the dropout case over two training calls and an eval call, with the
    generators' states (Keras's ``cell.seed_generator``)."""
    with _precision(dt):
        layer, nets, x, mask = _case(rank, name, dt)
        worst_out, worst_grad, rel_out, rel_grad, k_outs = _compare(layer, nets, x, mask, name == "dropout")
    print(f"ConvLSTM{rank}D {name} {dt}: outputs {[o.shape for o in k_outs]} max abs diff {worst_out:.1e} "
          f"(relative {rel_out:.1e}), gradients (input, kernel, recurrent kernel, bias) {worst_grad:.1e} "
          f"(relative {rel_grad:.1e})")
    out_tol, grad_tol = TOLS[dt]
    assert rel_out <= out_tol and rel_grad <= grad_tol


def test_dropout_and_masks_change_the_output():
    """The dropout and mask cases above would pass with them ignored only if they changed nothing: they do."""
    for rank in (1, 3):
        x = torch.tensor(np.moveaxis(np.random.default_rng(rank).standard_normal(SHAPES[rank]), -1, 2))
        c = x.shape[2]
        net = TORCH[rank](c, 2, 3, padding="same", return_sequences=True, dropout=0.3, recurrent_dropout=0.3,
                          seed=1, dtype=torch.float64)
        plain = TORCH[rank](c, 2, 3, padding="same", return_sequences=True, dtype=torch.float64)
        plain.load_state_dict(net.state_dict())
        assert not torch.allclose(net(x), plain(x))
        net.eval()
        assert torch.equal(net(x), plain(x))
        step = torch.tensor(STEP_MASK[rank])
        masked = plain(x, mask=step)
        assert torch.equal(masked[1, 0], torch.zeros_like(masked[1, 0])) and torch.equal(masked[0, 1], masked[0, 0])
        assert torch.equal(masked._keras_mask, step)
        pixel = torch.ones(x.shape[:2] + x.shape[3:], dtype=torch.bool)
        pixel[0, 1, 0] = False
        out = plain(x, mask=pixel)
        assert torch.equal(out[0, 1, :, 0], out[0, 0, :, 0]) and not torch.equal(out[0, 1, :, 1], out[0, 0, :, 1])


def test_keras_init_seed_matches_keras():
    """``keras_init_(model, seed=s)`` on a ConvLSTM1D and a ConvLSTM3D model: Keras's initial weights after
    ``keras.utils.set_random_seed(s)`` (each cell draws its dropout generator's seed, then the kernel's and the
    recurrent kernel's): the glorot kernels and biases bit for bit, the orthogonal recurrent kernels within the
    QR's rounding, the generators' states; and the unseeded default init of a ConvLSTM3D: orthogonal
    ``(kd kh kw filters, 4 filters)`` matrix, the glorot limit."""
    with _precision("float32"):
        gaps, states = [], []
        for rank, inp in ((1, (3, 8, 2)), (3, (2, 4, 4, 3, 2))):
            keras.utils.set_random_seed(4)
            model = keras.Sequential([keras.Input(inp),
                                      KERAS[rank](4, 3, padding="same", return_sequences=True, dropout=0.1),
                                      KERAS[rank](2, 2, recurrent_dropout=0.2, seed=5)])
            net = torch.nn.Sequential(TORCH[rank](2, 4, 3, padding="same", return_sequences=True, dropout=0.1),
                                      TORCH[rank](4, 2, 2, recurrent_dropout=0.2, seed=5))
            keras_init_(net, seed=4)
            k_w, t_w = model.get_weights(), keras_weights(net)
            assert [a.shape for a in t_w] == [b.shape for b in k_w]
            gaps.append([float(np.max(np.abs(a - b))) for a, b in zip(t_w, k_w)])
            states.append(([n.stream.state for n in net],
                           [tuple(int(v) for v in lay.cell.seed_generator.state.numpy()) for lay in model.layers]))
    print(f"keras_init_(seed=4) against Keras's initial weights (ConvLSTM1D, ConvLSTM3D), max abs diff per array: "
          f"{gaps}; generator states (torch, Keras) {states}")
    for g in gaps:
        assert g[0] == g[2] == g[3] == g[5] == 0.0 and g[1] <= 1e-6 and g[4] <= 1e-6
    assert all(t == k and k[1] == (5, 0) for t, k in states)
    layer = tnn.ConvLSTM3D(3, 5, (2, 3, 1), dtype=torch.float64)
    q = layer.weight_hh.detach().permute(2, 3, 4, 1, 0).reshape(6 * 5, 20)  # Keras's layout, flattened
    assert float((q.T @ q - torch.eye(20, dtype=torch.float64)).abs().max()) <= 1e-12
    assert float(layer.weight_ih.detach().abs().max()) <= (6 / (3 * 6 + 20 * 6)) ** 0.5
    assert layer.bias.tolist() == [0.0] * 5 + [1.0] * 5 + [0.0] * 10


def test_errors_as_keras():
    """Keras's argument errors (tuple lengths, strides with dilation); a wrong channel count or rank; weights of
    the wrong rank."""
    with pytest.raises(ValueError, match="not compatible with `dilation_rate > 1`"):
        layers.ConvLSTM1D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="not compatible with `dilation_rate > 1`"):
        tnn.ConvLSTM3D(1, 2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="tuple of 1"):
        layers.ConvLSTM1D(2, (3, 3))
    with pytest.raises(ValueError, match="tuple of 1 positive"):
        tnn.ConvLSTM1D(1, 2, (3, 3))
    with pytest.raises(ValueError, match="tuple of 3 positive"):
        tnn.ConvLSTM3D(1, 2, 3, strides=(1, 2))
    with pytest.raises(ValueError, match="3 channels"):
        tnn.ConvLSTM1D(1, 2, 3)(torch.zeros(1, 2, 3, 5))
    with pytest.raises(ValueError, match="6-D input"):
        tnn.ConvLSTM3D(1, 2, 3)(torch.zeros(2, 1, 5, 5, 5))
    with pytest.raises(ValueError, match="expected an array of shape|load_keras_weights"):
        load_keras_weights(tnn.ConvLSTM1D(1, 4, 3), [np.zeros((3, 3, 1, 16)), np.zeros((3, 3, 4, 16)),
                                                     np.zeros(16)])


@pytest.mark.slow
def test_conv_lstm1d_model_fit_matches_keras():
    """A small ConvLSTM1D model (``ConvLSTM1D(relu, dropout, recurrent_dropout)`` -> ``ConvLSTM1D`` (last step)
    -> ``Flatten`` -> ``Dense(1)``), Keras's initial weights (``keras_init_(seed=)``), 2 epochs of Adam on the
    MSE, shuffled batches: the losses per epoch, the final weights, the dropout generator's state."""
    n, t, length, c, f, seed = 16, 4, 7, 2, 3, 9
    rng = np.random.default_rng(5)
    x = rng.standard_normal((n, t, length, c))
    y = rng.standard_normal((n, 1))
    with _precision("float64"):
        keras.utils.set_random_seed(seed)
        km = keras.Sequential([keras.Input((t, length, c)),
                               layers.ConvLSTM1D(f, 3, padding="same", return_sequences=True, activation="relu",
                                                 dropout=0.2, recurrent_dropout=0.1),
                               layers.ConvLSTM1D(f, 2, strides=2),
                               layers.Flatten(), layers.Dense(1)])
        k0 = km.get_weights()
        km.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
        hk = km.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=True).history
        net = torch.nn.Sequential(
            tnn.ConvLSTM1D(c, f, 3, padding="same", return_sequences=True, activation="relu", dropout=0.2,
                           recurrent_dropout=0.1, data_format="channels_last"),
            tnn.ConvLSTM1D(f, f, 2, strides=2, data_format="channels_last"),
            torch.nn.Flatten(), torch.nn.Linear(3 * f, 1))
        keras_init_(net, seed=seed)
        init = max(float(np.max(np.abs(a - b))) for a, b in zip(keras_weights(net), k0))
        ht = tfit.fit(net, torch.tensor(x), torch.tensor(y), loss="mse",
                      optimizer=optim.Adam(net.parameters(), learning_rate=1e-2), batch_size=4, epochs=2,
                      seed=seed, verbose=0).history
        final = max(float(np.max(np.abs(a - b))) for a, b in zip(keras_weights(net), km.get_weights()))
    loss = max(abs(a - b) for a, b in zip(ht["loss"], hk["loss"]))
    print(f"ConvLSTM1D model fit: initial weights max abs diff {init:.1e}, losses {ht['loss']} vs Keras "
          f"{hk['loss']} (max abs diff {loss:.1e}), final weights {final:.1e}")
    assert init < 1e-14 and loss < 1e-13 and final < 1e-12
    assert tuple(net[0].stream.state) == tuple(int(v) for v in km.layers[0].cell.seed_generator.state.numpy())

"""``torch_impl.nn.ConvLSTM2D`` against Keras 3.15.1's ``keras.layers.ConvLSTM2D``.

Each case builds Keras's layer, moves its weights off their initial values (non-zero biases), loads them into the
torch layer (``load_keras_weights``) and compares the outputs (the sequence or last output, and the states with
``return_state``), the gradient of the inputs and of every weight (of ``sum(output * w)`` for fixed ``w``), in
Keras's channels-last layout (``data_format="channels_last"``) and in torch's ``(N, T, C, H, W)`` (the default).
The cases cover ``padding`` same/valid, strides, dilation, ``go_backwards``, ``return_sequences`` and
``return_state``, other activations, ``use_bias=False`` / ``unit_forget_bias=False``, Keras's step ``mask`` and
``dropout``/``recurrent_dropout`` (two training calls and an eval call: the masks are drawn on every call; the
seed generators' states compared). Then ``keras_init_(seed=...)`` against Keras's seeded initial weights.

Measured over the cases (float64; float32 in brackets), max abs difference: outputs 1.3e-15 (4.8e-7), gradients
5.0e-14 (1.9e-5, gradients up to ~40); over the largest Keras value (asserted: 1e-14 in float64, 1e-6 / 1e-5 in
float32): outputs 6.3e-16 (2.7e-7), gradients 1.3e-15 (6.1e-7). ``keras_init_(seed=21)``: the kernels and biases
equal, the recurrent kernels 2.7e-7 apart in float32 (the QR), the generators' states equal.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402

from parity_tests.test_field_scripts_round2 import _precision  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl.nn import keras_init_, keras_weights, load_keras_weights  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

SHAPE = (2, 4, 7, 6, 3)  # (N, T, H, W, C)
MASK = np.array([[True, False, True, True], [False, True, True, False]])
CASES = {
    "valid-last": dict(filters=2, kernel_size=3),
    "same-sequences-state": dict(filters=2, kernel_size=3, padding="same", return_sequences=True,
                                 return_state=True),
    "same-strides2-even-kernel": dict(filters=2, kernel_size=(2, 3), padding="same", strides=2,
                                      return_sequences=True),
    "valid-strides-state": dict(filters=3, kernel_size=(2, 3), strides=(2, 1), return_state=True),
    "dilation-backwards": dict(filters=2, kernel_size=(2, 2), padding="same", dilation_rate=2,
                               return_sequences=True, go_backwards=True),
    "relu-hard_sigmoid-no-bias": dict(filters=2, kernel_size=3, padding="same", activation="relu",
                                      recurrent_activation="hard_sigmoid", use_bias=False, return_sequences=True),
    "no-unit-forget-bias-backwards": dict(filters=2, kernel_size=3, unit_forget_bias=False, go_backwards=True,
                                          return_state=True),
    "mask-backwards-state": dict(filters=2, kernel_size=3, padding="same", return_sequences=True,
                                 go_backwards=True, return_state=True),
    "dropout": dict(filters=2, kernel_size=3, padding="same", return_sequences=True, dropout=0.3,
                    recurrent_dropout=0.25, seed=11),
}
TOLS = {"float64": (1e-14, 1e-14), "float32": (1e-6, 1e-5)}  # outputs, gradients: max abs diff over max |Keras|


def _weights_for(outs: list) -> list[np.ndarray]:
    """Fixed weights ``(i % 7 - 3)`` for each output, in Keras's layout."""
    return [(np.arange(o.size).reshape(o.shape) % 7 - 3).astype(o.dtype) for o in outs]


def _keras_call(layer, x, mask, training: bool):
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        out = layer(xt, mask=None if mask is None else tf.constant(mask), training=training)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        target = sum(tf.reduce_sum(o * w) for o, w in zip(outs, _weights_for([np.asarray(o) for o in outs])))
    grads = tape.gradient(target, [xt] + layer.trainable_weights)
    return [np.asarray(o) for o in outs], [np.asarray(g) for g in grads]


def _torch_call(net, x, mask, first: bool):
    """The torch layer's outputs and gradients (input, then the weights in Keras's layout), all in Keras's
    channels-last layout (``first``: the torch layer takes and returns channels-first tensors)."""
    xt = torch.tensor(np.moveaxis(x, -1, 2) if first else x, requires_grad=True)
    out = net(xt, mask=None if mask is None else torch.tensor(mask))
    outs = list(out) if isinstance(out, tuple) else [out]
    # channels-first outputs: (N, [T,] F, *S'); the channel axis is 1 or 2 (with the steps)
    axes = [2 if (net.return_sequences and i == 0) else 1 for i in range(len(outs))]
    k_outs = [o.detach().movedim(a, -1).numpy() if first else o.detach().numpy() for o, a in zip(outs, axes)]
    ws = [torch.tensor(w).movedim(-1, a) if first else torch.tensor(w) for w, a in zip(_weights_for(k_outs), axes)]
    target = sum((o * w).sum() for o, w in zip(outs, ws))
    for p in net.parameters():
        p.grad = None
    target.backward()
    saved = [p.detach().clone() for p in net.parameters()]
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(p.grad)
    grads = keras_weights(net)
    with torch.no_grad():
        for p, s in zip(net.parameters(), saved):
            p.copy_(s)
    gx = xt.grad.numpy()
    return k_outs, [np.moveaxis(gx, 2, -1) if first else gx] + grads


def _diff(a: list, b: list, relative: bool = False) -> float:
    """max |a - b| over the arrays (``relative``: each over its max |b|)."""
    assert [x.shape for x in a] == [y.shape for y in b]
    return max(float(np.max(np.abs(x - y)) / (np.max(np.abs(y)) if relative else 1.0)) for x, y in zip(a, b))


def _compare(layer, nets, x, mask, dropout: bool) -> tuple:
    """The Keras layer against its two torch twins (channels last, channels first): max abs and relative diffs of
    the outputs and gradients, and Keras's outputs; with ``dropout`` over two training calls and an eval call, the
    generators' states (Keras's ``cell.seed_generator``) compared after each."""
    worst_out = worst_grad = rel_out = rel_grad = 0.0
    for training in ((True, False, True) if dropout else (True,)):
        k_outs, k_grads = _keras_call(layer, x, mask, training)
        for net, first in zip(nets, (False, True)):
            net.train(training)
            t_outs, t_grads = _torch_call(net, x, mask, first)
            worst_out = max(worst_out, _diff(t_outs, k_outs))
            worst_grad = max(worst_grad, _diff(t_grads, k_grads))
            rel_out = max(rel_out, _diff(t_outs, k_outs, relative=True))
            rel_grad = max(rel_grad, _diff(t_grads, k_grads, relative=True))
        if dropout:
            k_state = tuple(int(v) for v in layer.cell.seed_generator.state.numpy())
            assert k_state[1] > 0 and all(net.stream.state == k_state for net in nets), k_state
            nets[1].stream.state = nets[0].stream.state  # the two torch layers each drew once per call
    return worst_out, worst_grad, rel_out, rel_grad, k_outs


def _case(name: str, dt: str):
    """Keras's layer (built, weights moved), the torch layers (channels-last, channels-first) loaded with them."""
    kw = dict(CASES[name])
    rng = np.random.default_rng(sorted(CASES).index(name))
    x = rng.standard_normal(SHAPE).astype(dt)
    keras.utils.set_random_seed(3)
    layer = layers.ConvLSTM2D(**kw)
    layer.build((None,) + SHAPE[1:])
    layer.set_weights([(w + 0.3 * rng.standard_normal(w.shape)).astype(dt) for w in layer.get_weights()])
    filters, kernel = kw.pop("filters"), kw.pop("kernel_size")
    nets = [load_keras_weights(tnn.ConvLSTM2D(SHAPE[-1], filters, kernel, data_format=f, dtype=getattr(torch, dt),
                                              **kw), layer.get_weights())
            for f in ("channels_last", "channels_first")]
    return layer, nets, x, (MASK if name.startswith("mask") else None)


#: the default run's cases (0.1-0.4 s each, the dropout case's three calls 0.4-1 s); the others and float32 are
#: ``slow`` (about 5 s together)
QUICK = {("dropout", "float64"), ("mask-backwards-state", "float64"), ("same-strides2-even-kernel", "float64")}


@pytest.mark.parametrize("name,dt", [pytest.param(n, d, marks=() if (n, d) in QUICK else pytest.mark.slow)
                                     for n in sorted(CASES) for d in ("float64", "float32")])
def test_conv_lstm_matches_keras(name, dt):
    """Outputs and gradients in both layouts; the dropout case over two training calls and an eval call, with the
    generators' states (Keras's ``cell.seed_generator``)."""
    with _precision(dt):
        layer, nets, x, mask = _case(name, dt)
        worst_out, worst_grad, rel_out, rel_grad, k_outs = _compare(layer, nets, x, mask, name == "dropout")
    print(f"ConvLSTM2D {name} {dt}: outputs {[o.shape for o in k_outs]} max abs diff {worst_out:.1e} (relative "
          f"{rel_out:.1e}), gradients (input, kernel, recurrent kernel, bias) {worst_grad:.1e} (relative "
          f"{rel_grad:.1e})")
    out_tol, grad_tol = TOLS[dt]
    assert rel_out <= out_tol and rel_grad <= grad_tol


def test_dropout_and_mask_change_the_output():
    """The dropout and mask cases above would pass with them ignored only if they changed nothing: they do."""
    x = torch.randn(2, 4, 3, 7, 6, dtype=torch.float64)
    net = tnn.ConvLSTM2D(3, 2, 3, padding="same", return_sequences=True, dropout=0.3, recurrent_dropout=0.3,
                         seed=1, dtype=torch.float64)
    plain = tnn.ConvLSTM2D(3, 2, 3, padding="same", return_sequences=True, dtype=torch.float64)
    plain.load_state_dict(net.state_dict())
    assert not torch.allclose(net(x), plain(x))
    net.eval()
    assert torch.equal(net(x), plain(x))
    masked = plain(x, mask=torch.tensor(MASK))
    assert torch.equal(masked[1, 0], torch.zeros_like(masked[1, 0])) and torch.equal(masked[0, 1], masked[0, 0])
    assert torch.equal(masked._keras_mask, torch.tensor(MASK))


def test_keras_init_seed_matches_keras():
    """``keras_init_(model, seed=s)``: Keras's initial weights after ``keras.utils.set_random_seed(s)`` (the cell
    draws its dropout generator's seed, then the kernel's and the recurrent kernel's): the glorot kernel bit for
    bit, the orthogonal recurrent kernel within the QR's rounding, the forget bias 1, the generator's state; and
    the unseeded default init is Keras's: orthogonal ``(kh kw filters, 4 filters)`` matrix, glorot limit."""
    with _precision("float32"):
        keras.utils.set_random_seed(21)
        model = keras.Sequential([keras.Input((3, 8, 8, 2)),
                                  layers.ConvLSTM2D(4, 3, padding="same", return_sequences=True, dropout=0.1),
                                  layers.ConvLSTM2D(2, (1, 2), recurrent_dropout=0.2, seed=5)])
        net = torch.nn.Sequential(tnn.ConvLSTM2D(2, 4, 3, padding="same", return_sequences=True, dropout=0.1),
                                  tnn.ConvLSTM2D(4, 2, (1, 2), recurrent_dropout=0.2, seed=5))
        keras_init_(net, seed=21)
        k_w, t_w = model.get_weights(), keras_weights(net)
        states = [tuple(int(v) for v in lay.cell.seed_generator.state.numpy()) for lay in model.layers]
    gaps = [float(np.max(np.abs(a - b))) for a, b in zip(t_w, k_w)]
    print(f"keras_init_(seed=21) against Keras's initial weights, max abs diff per array: {gaps}; generator "
          f"states {[n.stream.state for n in net]} (Keras {states})")
    assert [a.shape for a in t_w] == [b.shape for b in k_w]
    assert gaps[0] == gaps[2] == gaps[3] == gaps[5] == 0.0 and gaps[1] <= 1e-6 and gaps[4] <= 1e-6
    assert [n.stream.state for n in net] == states and states[1] == (5, 0)
    layer = tnn.ConvLSTM2D(3, 5, (2, 3), dtype=torch.float64)
    q = layer.weight_hh.detach().permute(2, 3, 1, 0).reshape(2 * 3 * 5, 20)  # Keras's layout, flattened
    assert float((q.T @ q - torch.eye(20, dtype=torch.float64)).abs().max()) <= 1e-12
    assert float(layer.weight_ih.detach().abs().max()) <= (6 / (3 * 6 + 20 * 6)) ** 0.5
    assert layer.bias.tolist() == [0.0] * 5 + [1.0] * 5 + [0.0] * 10


def test_errors_as_keras():
    """Keras's argument errors: ``strides > 1`` with ``dilation_rate > 1``; a wrong channel count or rank."""
    with pytest.raises(ValueError, match="not compatible with `dilation_rate > 1`"):
        layers.ConvLSTM2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="not compatible with `dilation_rate > 1`"):
        tnn.ConvLSTM2D(1, 2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="3 channels"):
        tnn.ConvLSTM2D(1, 2, 3)(torch.zeros(1, 2, 3, 5, 5))
    with pytest.raises(ValueError, match="5-D input"):
        tnn.ConvLSTM2D(1, 2, 3)(torch.zeros(2, 1, 5, 5))
    with pytest.raises(ValueError, match="load_keras_weights|expected an array of shape"):
        load_keras_weights(tnn.ConvLSTM2D(2, 4, 3), [np.zeros((3, 3, 1, 16)), np.zeros((3, 3, 4, 16)),
                                                      np.zeros(16)])

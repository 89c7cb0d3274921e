"""Real-world Keras 3 scripts, round 39: keras.io's "Next-Frame Video Prediction with Convolutional LSTMs"
(https://keras.io/examples/vision/conv_lstm/, keras-io ``examples/vision/conv_lstm.py``) ported to PyTorch.

The script: Moving MNIST frames ``/ 255``, ``x`` the frames ``0 .. n - 2`` and ``y`` the frames ``1 .. n - 1``
(``create_shifted_frames``); ``Input((None, H, W, 1))`` -> ``ConvLSTM2D(64, (5, 5), padding="same",
return_sequences=True, activation="relu")`` -> ``BatchNormalization()`` -> ``ConvLSTM2D(64, (3, 3), ...)`` ->
``BatchNormalization()`` -> ``ConvLSTM2D(64, (1, 1), ...)`` -> ``Conv3D(1, (3, 3, 3), activation="sigmoid",
padding="same")``, ``compile(loss=binary_crossentropy, optimizer=Adam())``, ``fit(batch_size=5)``. Here at tiny
seeded shapes: 8 sequences of 5 frames 8x8 (a 2x2 bright square moving one pixel a frame, on a faint noise
background), so 4 input frames; 4 filters; batches of 4; 2 epochs (the slow runs).

Ports:

* torch_impl (the README's): :class:`torch_impl.nn.ConvLSTM2D` (torch's ``(N, T, C, H, W)``),
  :class:`torch_impl.nn.BatchNormalization` ``(axis=2)``, ``torch.nn.Conv3d(4, 1, 3, padding=1)`` on ``(N, C, T, H,
  W)``, the sigmoid left to ``torch_impl.fit`` (``output_activation="sigmoid"``: Keras's logits shortcut);
  ``load_keras_weights`` of Keras's arrays, or ``keras_init_(net, seed=...)`` for Keras's seeded initial ones;
* the hand-written cell that ports copy from GitHub, ndrplz/ConvLSTM_pytorch's ``ConvLSTMCell``
  (https://github.com/ndrplz/ConvLSTM_pytorch, ``convlstm.py``): one ``nn.Conv2d(in + hidden, 4 hidden,
  padding=k // 2)`` over ``cat([x, h])``, split ``i, f, o, g``, ``tanh`` fixed; the ``BatchNormalization`` and the
  Conv3D head as the README's port (the cell alone differs). Keras's weights mapped as well as such a port can:
  ``cat([kernel, recurrent_kernel])`` on the input axis, transposed to torch's layout, Keras's bias as the conv's.
  (a) Keras's gate blocks copied in their order (Keras's ``i, f, c, o`` read as ``i, f, o, g``); (b) the blocks
  reordered: the cell's ``tanh`` where the script asks ``relu``; (c) the blocks reordered and the cell's ``tanh``
  changed to ``relu`` (what it takes to make that cell Keras's: its one conv over ``cat([x, h])`` with ``padding=k
  // 2`` is Keras's two convs for these odd kernels at stride 1).

Measured (float64; float32 in brackets, ``slow``): outputs norm-wise (max abs difference over max abs value) at
Keras's weights moved off their initial values (inference: the moving statistics), the ``fit`` loss history relative
every epoch. The default run checks the outputs in float64 (and ``keras_init_``); the fits (two Keras traces of the
loops, ~15 s each) and float32 are ``slow``.

====================  ================================================  ======================================
port                  outputs (inference, moved weights)                2 epochs of ``fit`` from Keras's
                                                                        initial weights, loss
====================  ================================================  ======================================
torch_impl            6.4e-16 (3.5e-7)                                  0.0 (1.7e-7) relative; final weights
                                                                        1.9e-16 (6.3e-7) max abs
(a) gates in order    0.30 (0.69)                                       1.3e-2 (4.6e-2)
(b) reordered, tanh   0.22 (0.22)                                       6.4e-2 (1.9e-2)
(c) reordered, relu   6.4e-16 (2.9e-7)                                  0.0 (8.4e-8)
====================  ================================================  ======================================

``keras_init_(net, seed=7)`` gives the torch_impl port Keras's initial weights after
``keras.utils.set_random_seed(7)`` (each ConvLSTM2D draws its dropout generator's seed, then its kernel's and its
recurrent kernel's; the Conv3D its kernel's): the glorot kernels bit for bit, the orthogonal recurrent kernels
within 3.9e-16 (2.4e-7 in float32: the QR's rounding).

torch_impl matched Keras; no torch_impl change but the new layer. Keras facts (Keras 3.15.1,
``keras/src/layers/rnn/conv_lstm.py``): the gates are ``i, f, c, o`` along the kernels' last axis (268-281, 293-297);
the recurrent conv is stride 1, ``"same"`` and undilated whatever the layer's ``strides``, ``padding`` and
``dilation_rate`` (``recurrent_conv``, 341-348); the bias is added after the input conv (``input_conv``, 323-339);
``unit_forget_bias`` puts ones in the second quarter of the bias (210-226); four dropout masks per call for the input
and four for the state, the shape of one input step and of the state (``dropout_mask_count = 4``, 160;
``dropout_rnn_cell.py`` 22-35). A fresh ndrplz cell also differs in its initial weights (torch's
``kaiming_uniform_(a=sqrt(5))`` over the concatenated ``in + hidden`` fan-in, a non-zero bias, no forget-gate 1):
random either way, not compared pointwise here.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import layers  # noqa: E402

from parity_tests.test_field_scripts_round2 import _precision, _rel  # noqa: E402
from torch_impl import fit as tfit  # noqa: E402
from torch_impl import nn as tnn  # noqa: E402
from torch_impl import optim  # noqa: E402
from torch_impl.nn import keras_init_, keras_weights, load_keras_weights  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.usefixtures("one_torch_thread")]

N, FRAMES, SIZE, FILTERS, BATCH = 8, 5, 8, 4, 4
KERNELS = ((5, 5), (3, 3), (1, 1))
OUT = {"float64": 1e-15, "float32": 1e-6}  # outputs, norm-wise relative
HIST = {"float64": 1e-12, "float32": 1e-5}  # histories, relative every epoch


def _frames(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Moving squares in ``[0, 1]``: ``(x, y)`` as ``create_shifted_frames`` makes them, ``(N, T, H, W, 1)``."""
    rng = np.random.default_rng(seed)
    movies = 0.05 * rng.random((N, FRAMES, SIZE, SIZE))
    for i in range(N):
        r, c = rng.integers(1, SIZE - 3, 2)
        dr, dc = rng.choice([-1, 1], 2)
        for t in range(FRAMES):
            rr, cc = int(np.clip(r + dr * t, 0, SIZE - 2)), int(np.clip(c + dc * t, 0, SIZE - 2))
            movies[i, t, rr:rr + 2, cc:cc + 2] = 1.0
    movies = movies[..., None]
    return movies[:, :-1], movies[:, 1:]


def _keras_model():
    """keras.io's model, 4 filters."""
    inp = layers.Input(shape=(None, SIZE, SIZE, 1))
    x = inp
    for i, kernel in enumerate(KERNELS):
        x = layers.ConvLSTM2D(filters=FILTERS, kernel_size=kernel, padding="same", return_sequences=True,
                              activation="relu")(x)
        if i < 2:
            x = layers.BatchNormalization()(x)
    x = layers.Conv3D(filters=1, kernel_size=(3, 3, 3), activation="sigmoid", padding="same")(x)
    return keras.models.Model(inp, x)


class _NdrplzCell(torch.nn.Module):
    """ndrplz/ConvLSTM_pytorch's ``ConvLSTMCell`` as written (``act``: its fixed ``tanh``, or the ``relu`` a
    careful port puts in its place)."""

    def __init__(self, input_dim, hidden_dim, kernel_size, bias=True, act=torch.tanh):
        super().__init__()
        self.hidden_dim, self.act = hidden_dim, act
        self.conv = torch.nn.Conv2d(input_dim + hidden_dim, 4 * hidden_dim, kernel_size,
                                    padding=(kernel_size[0] // 2, kernel_size[1] // 2), bias=bias)

    def forward(self, input_tensor, cur_state):
        h_cur, c_cur = cur_state
        combined_conv = self.conv(torch.cat([input_tensor, h_cur], dim=1))
        cc_i, cc_f, cc_o, cc_g = torch.split(combined_conv, self.hidden_dim, dim=1)
        i, f, o = torch.sigmoid(cc_i), torch.sigmoid(cc_f), torch.sigmoid(cc_o)
        c_next = f * c_cur + i * self.act(cc_g)
        return o * self.act(c_next), c_next


class _NdrplzLayer(torch.nn.Module):
    """The repository's ``ConvLSTM`` loop for one layer (``batch_first=True``), all steps returned."""

    def __init__(self, input_dim, hidden_dim, kernel_size, act):
        super().__init__()
        self.cell = _NdrplzCell(input_dim, hidden_dim, kernel_size, act=act)

    def forward(self, x):
        n, steps, _, height, width = x.shape
        h = c = torch.zeros(n, self.cell.hidden_dim, height, width, dtype=x.dtype)
        outputs = []
        for t in range(steps):
            h, c = self.cell(x[:, t], (h, c))
            outputs.append(h)
        return torch.stack(outputs, dim=1)


class NextFrame(torch.nn.Module):
    """The script's model on Keras's ``(N, T, H, W, 1)`` arrays; the logits of Keras's output, same layout.
    ``cell=None``: torch_impl's ``ConvLSTM2D``; else a factory ``(in, filters, kernel) -> module``."""

    def __init__(self, cell=None):
        super().__init__()
        make = cell or (lambda i, f, k: tnn.ConvLSTM2D(i, f, k, padding="same", return_sequences=True,
                                                       activation="relu"))
        self.lstm1 = make(1, FILTERS, KERNELS[0])
        self.bn1 = tnn.BatchNormalization(FILTERS, axis=2)
        self.lstm2 = make(FILTERS, FILTERS, KERNELS[1])
        self.bn2 = tnn.BatchNormalization(FILTERS, axis=2)
        self.lstm3 = make(FILTERS, FILTERS, KERNELS[2])
        self.conv3d = torch.nn.Conv3d(FILTERS, 1, 3, padding=1)

    def forward(self, x):
        h = x.permute(0, 1, 4, 2, 3)  # (N, T, C, H, W)
        h = self.bn2(self.lstm2(self.bn1(self.lstm1(h))))
        h = self.lstm3(h)
        return self.conv3d(h.transpose(1, 2)).permute(0, 2, 3, 4, 1)  # (N, 1, T, H, W) -> (N, T, H, W, 1)


def _ndrplz_port(w: list, reorder: bool, act) -> NextFrame:
    """The hand-written cell port loaded with Keras's arrays: each ConvLSTM2D's ``kernel`` and
    ``recurrent_kernel`` concatenated on the input axis and moved to torch's ``(out, in, kh, kw)``, its bias the
    conv's; ``reorder``: Keras's gate blocks ``i, f, c, o`` put in the cell's ``i, f, o, g`` order."""
    net = NextFrame(lambda i, f, k: _NdrplzLayer(i, f, k, act))
    rest = []
    k = 0
    for name in ("lstm1", "bn1", "lstm2", "bn2", "lstm3", "conv3d"):
        if name.startswith("lstm"):
            kernel, recurrent, bias = w[k:k + 3]
            k += 3
            both = np.concatenate([kernel, recurrent], axis=2)  # (kh, kw, in + hidden, 4 hidden)
            if reorder:
                gi, gf, gc, go = np.split(both, 4, axis=3)
                both = np.concatenate([gi, gf, go, gc], axis=3)
                bi, bf, bc, bo = np.split(bias, 4)
                bias = np.concatenate([bi, bf, bo, bc])
            conv = getattr(net, name).cell.conv
            conv.weight.data = torch.from_numpy(np.ascontiguousarray(both.transpose(3, 2, 0, 1)))
            conv.bias.data = torch.from_numpy(np.array(bias))
        else:
            count = 4 if name.startswith("bn") else 2
            rest.append((getattr(net, name), w[k:k + count]))
            k += count
    for module, arrays in rest:
        load_keras_weights(module, arrays)
    return net


NAIVE = {"(a) gates in order": dict(reorder=False, act=torch.tanh),
         "(b) reordered, tanh": dict(reorder=True, act=torch.tanh),
         "(c) reordered, relu": dict(reorder=True, act=torch.relu)}
_EQUAL = {"(c) reordered, relu"}  # the cell mapped right and given Keras's activation


def _gap(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def _predict(net, x) -> np.ndarray:
    with torch.no_grad():
        return torch.sigmoid(net.eval()(torch.as_tensor(x))).numpy()


@pytest.mark.parametrize("dt", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_next_frame_outputs_at_moved_weights(dt):
    """Keras's model at its initial weights moved (non-zero biases, moving statistics moved): its inference
    outputs against the torch_impl port's and the hand-written cell ports'; and ``keras_init_(seed=7)`` against
    Keras's seeded initial weights."""
    x, _ = _frames()
    x = x.astype(dt)
    with _precision(dt):
        keras.utils.set_random_seed(7)
        model = _keras_model()
        net = NextFrame()
        keras_init_(net, seed=7)
        init_gaps = [float(np.max(np.abs(a - b))) for a, b in zip(keras_weights(net), model.get_weights())]
        rng = np.random.default_rng(1)
        model.set_weights([w + (np.abs(d) if "variance" in v.name else d) for v, w, d in zip(
            model.weights, model.get_weights(), (0.3 * rng.standard_normal(w.shape).astype(dt)
                                                 for w in model.get_weights()))])
        k_out = keras.ops.convert_to_numpy(model(x))
        w = model.get_weights()
        port = _gap(_predict(load_keras_weights(NextFrame(), w), x), k_out)
        naive = {label: _gap(_predict(_ndrplz_port(w, **kw), x), k_out) for label, kw in NAIVE.items()}
    print(f"next-frame ({dt}): keras_init_(seed=7) off Keras's initial weights, max abs per array "
          f"{[f'{g:.1e}' for g in init_gaps]}")
    print(f"  outputs norm-wise off Keras's: torch_impl {port:.1e}; "
          + "; ".join(f"ndrplz cell {label} {g:.1e}" for label, g in naive.items()))
    assert max(init_gaps) <= (1e-15 if dt == "float64" else 1e-6)
    assert port <= OUT[dt]
    for label, g in naive.items():
        assert (g <= 10 * OUT[dt]) if label in _EQUAL else (g > 0.05), label


def _fit_torch(net, x, y, epochs):
    return tfit.fit(net, x, y, loss="binary_crossentropy", output_activation="sigmoid",
                    optimizer=optim.Adam(net.parameters()), batch_size=BATCH, epochs=epochs, seed=13,
                    verbose=0).history


@pytest.mark.slow  # Keras traces the three ConvLSTM2D loops for fit: ~10 s
@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_next_frame_fit_matches_keras(dt):
    """2 epochs of the script's ``fit`` (Adam's defaults, batches of 4, Keras's shuffle of ``set_random_seed(13)``)
    from Keras's initial weights: Keras's against the torch_impl port's (``torch_impl.fit``) and the hand-written
    cell ports'; the final weights."""
    x, y = _frames()
    x, y = x.astype(dt), y.astype(dt)
    epochs = 2
    with _precision(dt):
        keras.utils.set_random_seed(7)
        model = _keras_model()
        model.compile(loss=keras.losses.binary_crossentropy, optimizer=keras.optimizers.Adam())
        w0 = model.get_weights()
        keras.utils.set_random_seed(13)
        kh = model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0).history
        net = load_keras_weights(NextFrame(), w0)
        th = _fit_torch(net, x, y, epochs)
        wgap = max(float(np.max(np.abs(a - b))) for a, b in zip(keras_weights(net), model.get_weights()))
        naive = {label: _rel(_fit_torch(_ndrplz_port(w0, **kw), x, y, epochs)["loss"], kh["loss"])
                 for label, kw in NAIVE.items()}
    worst = _rel(th["loss"], kh["loss"])
    print(f"next-frame fit ({dt}): Keras loss {np.round(kh['loss'], 8).tolist()}, torch_impl "
          f"{np.round(th['loss'], 8).tolist()} (max rel {worst:.1e}), final weights max abs {wgap:.1e}; "
          + "; ".join(f"ndrplz cell {label} {g:.1e}" for label, g in naive.items()))
    assert sorted(th) == sorted(kh) == ["loss"]
    assert worst <= HIST[dt] and wgap <= (1e-12 if dt == "float64" else 1e-4)
    for label, g in naive.items():
        assert (g <= HIST[dt]) if label in _EQUAL else (g > 1e-4), label

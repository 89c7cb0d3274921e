"""Keras's recurrent layers with their dropout: ``LSTM``, ``GRU`` and ``SimpleRNN`` as torch modules.

``keras.layers.LSTM(units, dropout=0.2, recurrent_dropout=0.2)`` is one of the most common lines of a Keras
script, and torch has no counterpart: ``torch.nn.LSTM(dropout=...)`` drops *between* stacked layers, Keras
drops the *inputs* and the *recurrent state* of every step, with the same mask over all the steps of a call.
:class:`LSTM`, :class:`GRU` and :class:`SimpleRNN` are ``torch.nn.LSTM``/``GRU``/``RNN`` (same parameters, same
call, same outputs; :func:`torch_impl.nn.load_keras_weights`, ``keras_weights`` and ``keras_init_`` take them)
whose ``dropout`` and ``recurrent_dropout`` are Keras's, masks included:

* each call draws, per layer and direction, the masks Keras's cell draws from its ``SeedGenerator``
  (TensorFlow's ``stateless_dropout`` of ones, :func:`torch_impl._tf_random.dropout_mask`): with
  ``recurrent_dropout == 0`` one input mask ``(N, input_size)`` (``dropout > 0``); with ``recurrent_dropout >
  0`` Keras switches the cell to ``implementation=1`` and draws one input mask per gate (4 for LSTM, 3 for GRU;
  SimpleRNN one) and then one recurrent mask ``(N, hidden_size)`` per gate. Every step multiplies by them;
* the masks are drawn on every call, in eval mode too: Keras's ``RNN.call`` makes them before it looks at
  ``training`` (``evaluate``/``predict`` advance the stream), and applies them in training mode only;
* Keras clips the rates to ``[0, 1]``; a rate of 1 drops nothing and draws nothing (its cell applies masks
  only for ``0 < rate < 1``), which is reproduced, with a warning;
* the step is Keras's: ``(x @ kernel + h @ recurrent_kernel) + bias`` for LSTM, ``x @ kernel + bias`` and
  ``h @ recurrent_kernel + recurrent_bias`` for GRU (``reset_after=True``, torch's; ``GRU(reset_after=False)``:
  one bias and ``(r * h) @ recurrent_kernel`` for the candidate, always stepped here), ``x @ kernel + bias +
  h @ recurrent_kernel`` for SimpleRNN; the per-gate products of ``implementation=1`` when
  ``recurrent_dropout > 0``. Keras's one LSTM/SimpleRNN bias is ``bias_ih`` (``bias_hh`` is added, 0 after
  ``keras_init_``/``load_keras_weights``);
* a ``PackedSequence`` is Keras's ``mask`` (``Embedding(mask_zero=True)``): a masked step keeps the state;
  ``forward(x, mask=valid)`` takes Keras's ``(N, T)`` mask itself, True on the valid steps, in any positions (a
  ``Masking(mask_value=v)`` layer's ``(x != v).any(-1)``, pre-padded rows): a masked step keeps the state and
  outputs the previous step's output (zeros before the first valid step), as Keras's layer
  (``zero_output_for_mask=False``), or zeros with ``bidirectional=True``, as Keras's ``Bidirectional``. Without
  ``mask=`` the layer reads the mask its input carries (:func:`torch_impl.utils.set_keras_mask`: a
  :class:`torch_impl.nn.Masking` output, an embedding marked with ``tokens != 0``), as Keras's ``__call__`` fills
  ``mask`` from its input's; the sequence output then carries that mask (or the explicit one), as Keras's
  ``return_sequences=True`` output does (``compute_mask``), for the next layer, a masked
  ``GlobalAveragePooling1D`` or the loss; ``h_n``/``c_n`` carry none (Keras's states);
* ``num_layers > 1`` is a stack of Keras layers and ``bidirectional=True`` Keras's ``Bidirectional``: each layer
  and direction has its own stream (``streams``, in the order of torch's parameters: layer 0 forward, layer 0
  backward, layer 1...). Keras's ``Bidirectional`` copies the layer's config, so with a ``seed`` both directions
  draw the same masks; without one each draws its own seed. (Keras 3.15.1's ``SimpleRNN.get_config`` leaves
  ``seed`` out, so its ``Bidirectional`` copies draw new seeds even from a seeded layer: ``keras_init_(seed=...)``
  replays those; built with a ``seed``, both directions of :class:`SimpleRNN` keep it, as LSTM's and GRU's do.)
* a ``PackedSequence``'s padded steps are zeros once unpacked; Keras's unidirectional ``return_sequences``
  output repeats the last valid output there (its ``Bidirectional`` outputs zeros), steps its loss masks anyway.

Without dropout (both rates 0) the module is torch's, its fused kernels included, and draws nothing. ``seed=None``
draws the seeds from Python's ``random`` as Keras's ``make_default_seed`` does (one per layer and direction);
:func:`torch_impl.nn.keras_init_` ``(seed=...)`` replaces them with the ones Keras's layers draw after
``keras.utils.set_random_seed(seed)``, in construction order. The training loop steps in Python: slower than
cuDNN (as Keras's own dropout LSTM is), and only while training with dropout.

Example:
    >>> import torch
    >>> lstm = LSTM(3, 4, batch_first=True, dropout=0.2, recurrent_dropout=0.1, seed=7)
    >>> out, (h, c) = lstm(torch.ones(2, 5, 3))  # keras.layers.LSTM(4, dropout=0.2, recurrent_dropout=0.1,
    >>> out.shape, h.shape                      #                    seed=7, return_sequences=True)
    (torch.Size([2, 5, 4]), torch.Size([1, 2, 4]))
    >>> lstm.streams[0].state  # 4 input masks and 4 recurrent masks drawn (Keras's seed_generator.state)
    (7, 8)
"""

from __future__ import annotations

import warnings
from typing import Optional

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from torch_impl._tf_random import SeedGenerator, dropout_mask
from torch_impl.utils import set_keras_mask


class Stream(SeedGenerator):
    """One Keras cell's ``SeedGenerator``: ``state`` is ``(seed, counter)``, :meth:`reset` restarts it."""

    def __init__(self, seed: Optional[int]):
        self.seed = seed
        self._init_seed(seed, draws=True)  # a Keras cell always makes its generator

    def __repr__(self) -> str:
        return f"Stream(state={self.state})"


def _rate(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"`{name}` must be a float between 0 and 1; got {value!r}")
    clipped = min(1.0, max(0.0, float(value)))  # Keras's min(1.0, max(0.0, rate))
    if clipped != value or clipped == 1.0:
        warnings.warn(f"{name}={value}: Keras clips the rate to {clipped}"
                      + (", and its cell then drops nothing (it applies masks for 0 < rate < 1 only)"
                         if clipped == 1.0 else "") + "; torch_impl does the same.", stacklevel=3)
    return clipped


class _KerasDropoutRNN:
    """The Keras-dropout forward shared by :class:`LSTM`, :class:`GRU` and :class:`SimpleRNN` (mixed into the
    torch module). ``_gates``: gate blocks of the weights; ``_cell``: the step."""

    _gates = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, *,
                 recurrent_dropout: float = 0.0, seed: Optional[int] = None, device=None, dtype=None, **torch_kw):
        super().__init__(input_size, hidden_size, num_layers, bias=bias, batch_first=batch_first,
                         bidirectional=bidirectional, device=device, dtype=dtype, **torch_kw)
        self._init_keras(dropout, recurrent_dropout, seed)

    def _init_keras(self, dropout, recurrent_dropout, seed: Optional[int]) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"Argument `seed` must be an integer. Received: seed={seed!r}")
        self.dropout = _rate(dropout, "dropout")  # Keras's rate (torch's own forward runs only without it)
        self.recurrent_dropout = _rate(recurrent_dropout, "recurrent_dropout")
        self.seed = seed
        self.streams = [Stream(seed) for _ in range(self.num_layers * (2 if self.bidirectional else 1))]

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, recurrent_dropout={self.recurrent_dropout}, seed={self.seed}"

    @property
    def _per_gate(self) -> bool:
        """Keras's ``implementation=1``: on whenever ``recurrent_dropout`` is set (even to 1)."""
        return self.recurrent_dropout != 0.0

    def _masks(self, stream: Stream, n: int, width: int, rate: float, dtype, device) -> Optional[list]:
        """The masks Keras's cell draws for one call: ``None`` for a rate of 0; one per gate with
        ``implementation=1`` (SimpleRNN: one); drawn whatever the mode, applied only when training with
        ``0 < rate < 1``."""
        if rate == 0:
            return None
        count = self._gates if self._per_gate else 1
        masks = [dropout_mask((n, width), rate, stream, dtype, device) for _ in range(count)]
        return masks if self.training and rate < 1 else None

    def forward(self, input, hx=None, mask=None):
        """torch's call; ``mask``: Keras's ``(N, T)`` mask (True where a step is valid, any positions: a
        ``Masking`` layer's, pre-padding), as Keras's layer takes it (see the module docstring); ``None``: the
        mask ``input`` carries (``_keras_mask``), if any. The output carries the mask used (``(N, T)``, even
        with ``batch_first=False``)."""
        if mask is None:  # Keras's Layer.__call__ passes the input's mask (keras/src/layers/layer.py 947-959)
            mask = getattr(input, "_keras_mask", None)
        if mask is None and self.dropout == 0 and self.recurrent_dropout == 0 and getattr(self, "reset_after", True):
            return super().forward(input, hx)  # GRU(reset_after=False) has no torch kernel: the loop below
        packed = isinstance(input, PackedSequence)
        if packed and mask is not None:
            raise ValueError(f"{type(self).__name__}: a PackedSequence carries its own mask; pass `mask` with a "
                             "padded tensor instead")
        if packed:
            x, lengths = pad_packed_sequence(input, batch_first=True)  # the batch in its given order
        else:
            if input.dim() not in (2, 3):
                raise ValueError(f"{type(self).__name__}: expected a 2-D (unbatched) or 3-D input, got "
                                 f"{input.dim()}-D")
            x = input if input.dim() == 2 or self.batch_first else input.transpose(0, 1)
        unbatched = not packed and x.dim() == 2
        if unbatched:
            x = x.unsqueeze(0)
        n, steps = x.shape[0], x.shape[1]
        valid = None
        if packed:
            valid = torch.arange(steps, device=x.device)[None, :] < lengths.to(x.device)[:, None]
        elif mask is not None:
            valid = torch.as_tensor(mask, device=x.device).bool().reshape(n, -1)
            if valid.shape[1] != steps:
                raise ValueError(f"{type(self).__name__}: expected a mask of shape {(n, steps)} (batch, steps), got "
                                 f"{tuple(torch.as_tensor(mask).shape)}")
        # Keras's RNN outputs its previous output at a masked step (zero_output_for_mask=False); its Bidirectional
        # sets zero_output_for_mask=True (zeros), as a PackedSequence's padding
        hold = mask is not None and not self.bidirectional
        h0, c0 = self._initial_states(hx, n, x, unbatched)
        layer_input, h_n, c_n = x, [], []
        directions = 2 if self.bidirectional else 1
        for layer in range(self.num_layers):
            outs = []
            for d in range(directions):
                k = layer * directions + d
                stream = self.streams[k]
                in_masks = self._masks(stream, n, layer_input.shape[-1], self.dropout, x.dtype, x.device)
                rec_masks = self._masks(stream, n, self.hidden_size, self.recurrent_dropout, x.dtype, x.device)
                weights = self._layer_weights(layer, d)
                out, h, c = self._direction(layer_input, valid, h0[k], None if c0 is None else c0[k], weights,
                                            in_masks, rec_masks, reverse=d == 1, hold=hold)
                outs.append(out)
                h_n.append(h)
                c_n.append(c)
            layer_input = outs[0] if directions == 1 else torch.cat(outs, dim=-1)
        output = layer_input
        h_n = torch.stack(h_n)
        c_n = torch.stack(c_n) if c0 is not None else None
        if packed:
            order = input.sorted_indices
            out_sorted = output if order is None else output.index_select(0, order)
            len_sorted = lengths if order is None else lengths.index_select(0, order.cpu())
            p = pack_padded_sequence(out_sorted, len_sorted, batch_first=True, enforce_sorted=True)
            output = PackedSequence(p.data, p.batch_sizes, input.sorted_indices, input.unsorted_indices)
        elif unbatched:
            output, h_n = output.squeeze(0), h_n.squeeze(1)
            c_n = None if c_n is None else c_n.squeeze(1)
        elif not self.batch_first:
            output = output.transpose(0, 1)
        if mask is not None:  # Keras's compute_mask: the sequence output keeps the mask, the states none
            set_keras_mask(output, mask)
        return output, (h_n if c_n is None else (h_n, c_n))

    def _initial_states(self, hx, n: int, x: torch.Tensor, unbatched: bool):
        """``(h0, c0)`` as ``(layers * directions, N, H)`` (``c0`` None but for LSTM); zeros when not given."""
        lstm = self._gates == 4
        shape = (self.num_layers * (2 if self.bidirectional else 1), n, self.hidden_size)
        if hx is None:
            zeros = torch.zeros(shape, dtype=x.dtype, device=x.device)
            return zeros, (zeros if lstm else None)
        parts = hx if lstm else (hx, None)
        if lstm and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise ValueError("LSTM: hx must be a tuple (h0, c0)")
        out = []
        for t in parts:
            if t is None:
                out.append(None)
                continue
            t = t.unsqueeze(1) if unbatched else t
            if tuple(t.shape) != shape:
                raise ValueError(f"{type(self).__name__}: expected an initial state of shape {shape}, got "
                                 f"{tuple(t.shape)}")
            out.append(t)
        return out[0], out[1]

    def _layer_weights(self, layer: int, direction: int) -> tuple:
        tag = f"l{layer}{'_reverse' if direction else ''}"
        w_ih, w_hh = getattr(self, f"weight_ih_{tag}"), getattr(self, f"weight_hh_{tag}")
        b_ih = getattr(self, f"bias_ih_{tag}") if self.bias else None
        b_hh = getattr(self, f"bias_hh_{tag}") if self.bias else None
        return w_ih, w_hh, b_ih, b_hh

    def _direction(self, x, valid, h, c, weights, in_masks, rec_masks, reverse: bool, hold: bool = False):
        """One layer and direction over the sequence: ``(outputs (N, T, H), h_T, c_T)``. With ``valid`` (N, T)
        a masked step keeps ``h``/``c`` and outputs zeros, or with ``hold`` the previous step's output (zeros
        before the first valid step) (Keras's masked ``backend.rnn``)."""
        steps = x.shape[1]
        outputs = [None] * steps
        masked_out = None  # a masked step's output: zeros, or the previous output with `hold`
        for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
            h_new, c_new = self._cell(x[:, t], h, c, weights, in_masks, rec_masks)
            if valid is not None:
                keep = valid[:, t:t + 1]
                if masked_out is None:
                    masked_out = torch.zeros_like(h_new)
                outputs[t] = torch.where(keep, h_new, masked_out)
                if hold:
                    masked_out = outputs[t]
                h = torch.where(keep, h_new, h)
                c = None if c is None else torch.where(keep, c_new, c)
            else:
                outputs[t], h, c = h_new, h_new, c_new
        return torch.stack(outputs, dim=1), h, c


def _masked(x: torch.Tensor, masks: Optional[list], i: int) -> torch.Tensor:
    return x if masks is None else x * masks[i if len(masks) > 1 else 0]


def _plus(a: torch.Tensor, b: Optional[torch.Tensor]) -> torch.Tensor:
    return a if b is None else a + b


class LSTM(_KerasDropoutRNN, nn.LSTM):
    """``torch.nn.LSTM`` with Keras's ``LSTM(dropout, recurrent_dropout, seed)`` (module docstring).

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, bidirectional, device, dtype: torch's.
        dropout: Keras's: the fraction of the inputs dropped, one mask per call (not torch's between-layer
            dropout).
        recurrent_dropout: Keras's: the fraction of the recurrent state dropped, one mask per gate and call.
        seed: the masks' seed (Keras's ``seed``); ``None`` draws one from Python's ``random``.

    Port of ``keras.layers.LSTM(64, dropout=0.2, recurrent_dropout=0.2)`` on ``(N, T, F)`` inputs:
    ``LSTM(F, 64, batch_first=True, dropout=0.2, recurrent_dropout=0.2)``; its last output ``out[:, -1]`` (or
    ``h_n[-1]``) is Keras's ``return_sequences=False`` output. After ``Masking(mask_value=v)`` or
    ``Embedding(mask_zero=True)`` (padding anywhere): ``out, _ = lstm(x, mask=(x != v).any(-1))`` /
    ``lstm(embedded, mask=tokens != 0)`` (or ``lstm(x)`` on an ``x`` carrying the mask: ``tnn.Masking(v)(x)``,
    ``set_keras_mask(embedded, tokens != 0)``); ``h_n`` is then Keras's last output, held over trailing masked
    steps.
    """

    _gates = 4

    def _cell(self, x, h, c, weights, in_masks, rec_masks):
        w_ih, w_hh, b_ih, b_hh = weights
        if self._per_gate:  # Keras's implementation=1: each gate its own masked input and state
            w_x, w_h = w_ih.chunk(4), w_hh.chunk(4)
            b = [None] * 4 if b_ih is None else list(_plus(b_ih, b_hh).chunk(4))
            gates = [_plus(_masked(x, in_masks, g) @ w_x[g].T, b[g]) + _masked(h, rec_masks, g) @ w_h[g].T
                     for g in range(4)]
        else:  # implementation=2: (x @ kernel + h @ recurrent_kernel) + bias
            z = _masked(x, in_masks, 0) @ w_ih.T + h @ w_hh.T
            if b_ih is not None:
                z = z + b_ih + b_hh
            gates = z.chunk(4, dim=1)
        i, f, g, o = torch.sigmoid(gates[0]), torch.sigmoid(gates[1]), gates[2], torch.sigmoid(gates[3])
        c = f * c + i * torch.tanh(g)
        return o * torch.tanh(c), c


class GRU(_KerasDropoutRNN, nn.GRU):
    """``torch.nn.GRU`` with Keras's ``GRU(dropout, recurrent_dropout, seed, reset_after)`` (arguments as
    :class:`LSTM`'s). Keras's gate masks go to its gates ``z, r, h`` in that order (torch stores them ``r, z, n``).

    ``reset_after=True`` (Keras's default) is torch's GRU: ``n = tanh(x W_n + b_in + r * (h U_n + b_hn))``.
    ``reset_after=False`` is the GRU of Keras 1 and early Keras 2 (and of ``GRU(reset_after=False)`` models,
    CuDNN-incompatible ones): the reset gate multiplies the state *before* the recurrent product, ``n = tanh(x W_n +
    b_n + (r * h) U_n)``, and the layer has ONE bias ``(3 units,)`` on the input side. Here that bias is
    ``bias_ih`` (Keras's ``[z, r, h]`` blocks as torch's ``[r, z, n]``, as the kernels); ``bias_hh`` is set to 0
    and stops requiring a gradient (were it changed, it would add to ``bias_ih``).
    :func:`torch_impl.nn.load_keras_weights` / ``keras_weights`` map Keras's ``(in, 3 units)`` kernel, ``(units, 3
    units)`` recurrent kernel and ``(3 units,)`` bias. torch has no kernel for this form: every call steps in
    Python (Keras's ``implementation=2`` products; ``implementation=1``'s per-gate ones with
    ``recurrent_dropout``).

    Example:
        >>> gru = GRU(3, 4, batch_first=True, reset_after=False)  # keras.layers.GRU(4, reset_after=False,
        >>> out, h = gru(torch.ones(2, 5, 3))                     #                  return_sequences=True)
        >>> out.shape, gru.bias_hh_l0.requires_grad
        (torch.Size([2, 5, 4]), False)
    """

    _gates = 3

    def __init__(self, *args, reset_after: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.reset_after = bool(reset_after)
        if not self.reset_after and self.bias:
            with torch.no_grad():
                for name, p in self.named_parameters(recurse=False):
                    if name.startswith("bias_hh"):  # Keras's one bias is bias_ih
                        p.zero_()
                        p.requires_grad_(False)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.reset_after else ", reset_after=False")

    def _cell(self, x, h, c, weights, in_masks, rec_masks):
        if not self.reset_after:
            return self._cell_reset_before(x, h, weights, in_masks, rec_masks), None
        w_ih, w_hh, b_ih, b_hh = weights
        if self._per_gate:  # implementation=1; Keras's mask g for its gate g: z 0, r 1, h 2 (torch rows r, z, n)
            rows = {0: 1, 1: 0, 2: 2}  # Keras gate -> torch block
            w_x, w_h = w_ih.chunk(3), w_hh.chunk(3)
            bx = [None] * 3 if b_ih is None else b_ih.chunk(3)
            bh = [None] * 3 if b_hh is None else b_hh.chunk(3)
            xs = [_plus(_masked(x, in_masks, g) @ w_x[rows[g]].T, bx[rows[g]]) for g in range(3)]
            hs = [_plus(_masked(h, rec_masks, g) @ w_h[rows[g]].T, bh[rows[g]]) for g in range(3)]
            z = torch.sigmoid(xs[0] + hs[0])
            r = torch.sigmoid(xs[1] + hs[1])
            hh = torch.tanh(xs[2] + r * hs[2])
        else:
            mx = _plus(_masked(x, in_masks, 0) @ w_ih.T, b_ih)
            mh = _plus(h @ w_hh.T, b_hh)
            x_r, x_z, x_h = mx.chunk(3, dim=1)
            h_r, h_z, h_h = mh.chunk(3, dim=1)
            z = torch.sigmoid(x_z + h_z)
            r = torch.sigmoid(x_r + h_r)
            hh = torch.tanh(x_h + r * h_h)
        return z * h + (1 - z) * hh, None

    def _cell_reset_before(self, x, h, weights, in_masks, rec_masks):
        """Keras's ``GRUCell(reset_after=False)`` step: ``x @ kernel + bias`` split ``z, r, h``; ``h @
        recurrent_kernel[:, :2 units]`` for ``z, r``; ``(r * h) @ recurrent_kernel[:, 2 units:]`` for the
        candidate (per gate with ``implementation=1``)."""
        w_ih, w_hh, b_ih, b_hh = weights
        bias = None if b_ih is None else _plus(b_ih, b_hh)  # the one Keras bias (bias_hh stays 0)
        u = self.hidden_size
        rows = {0: 1, 1: 0, 2: 2}  # Keras gate z, r, h -> torch block r, z, n
        if self._per_gate:
            w_x, w_h = w_ih.chunk(3), w_hh.chunk(3)
            b = [None] * 3 if bias is None else bias.chunk(3)
            xs = [_plus(_masked(x, in_masks, g) @ w_x[rows[g]].T, b[rows[g]]) for g in range(3)]
            z = torch.sigmoid(xs[0] + _masked(h, rec_masks, 0) @ w_h[rows[0]].T)
            r = torch.sigmoid(xs[1] + _masked(h, rec_masks, 1) @ w_h[rows[1]].T)
            hh = torch.tanh(xs[2] + (r * _masked(h, rec_masks, 2)) @ w_h[2].T)
        else:
            x_r, x_z, x_h = _plus(_masked(x, in_masks, 0) @ w_ih.T, bias).chunk(3, dim=1)
            h_r, h_z = (h @ w_hh[:2 * u].T).chunk(2, dim=1)
            z = torch.sigmoid(x_z + h_z)
            r = torch.sigmoid(x_r + h_r)
            hh = torch.tanh(x_h + (r * h) @ w_hh[2 * u:].T)
        return z * h + (1 - z) * hh


class SimpleRNN(_KerasDropoutRNN, nn.RNN):
    """``torch.nn.RNN`` with Keras's ``SimpleRNN(dropout, recurrent_dropout, seed)`` (arguments as
    :class:`LSTM`'s, ``nonlinearity`` torch's: ``"tanh"``, Keras's default, or ``"relu"``). One input mask and
    one recurrent mask per call."""

    _gates = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 *, recurrent_dropout: float = 0.0, seed: Optional[int] = None, device=None, dtype=None):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         recurrent_dropout=recurrent_dropout, seed=seed, device=device, dtype=dtype,
                         nonlinearity=nonlinearity)

    @property
    def _per_gate(self) -> bool:
        return False  # SimpleRNNCell has no implementation=1: one mask each

    def _cell(self, x, h, c, weights, in_masks, rec_masks):
        w_ih, w_hh, b_ih, b_hh = weights
        out = _plus(_masked(x, in_masks, 0) @ w_ih.T, b_ih) + _masked(h, rec_masks, 0) @ w_hh.T
        if b_hh is not None:
            out = out + b_hh
        return (torch.tanh(out) if self.nonlinearity == "tanh" else torch.relu(out)), None

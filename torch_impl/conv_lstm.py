"""Keras's ``ConvLSTM1D``/``2D``/``3D`` as torch modules: :class:`ConvLSTM1D`, :class:`ConvLSTM2D`,
:class:`ConvLSTM3D` (also in ``torch_impl.nn``).

torch has no convolutional LSTM; ports of ``keras.layers.ConvLSTM2D`` scripts (keras.io's next-frame video
prediction, precipitation nowcasting) write their own cell, and the common ones differ from Keras's: one conv over
``cat([x, h])`` with the same padding for both (Keras's recurrent conv is always stride 1, ``"same"``, undilated),
torch's default init, no forget-gate bias of 1. :class:`ConvLSTM2D` computes Keras 3.15.1's layer
(``keras/src/layers/rnn/conv_lstm.py``, ``ConvLSTMCell.call`` 240-298, on TensorFlow's ``backend.rnn``):

* gates ``i, f, c, o`` in that order along the kernels' last axis (Keras's ``(kh, kw, in, 4 filters)`` kernel and
  ``(kh, kw, filters, 4 filters)`` recurrent kernel; here ``weight_ih`` ``(4 filters, in, kh, kw)`` and
  ``weight_hh`` ``(4 filters, filters, kh, kw)``, torch's conv layout, and ``bias`` ``(4 filters,)``);
  ``z = (conv(x, kernel) + bias) + conv(h, recurrent_kernel)``, ``i, f, o = recurrent_activation(.)``,
  ``c = f * c + i * activation(z_c)``, ``h = o * activation(c)``;
* the input conv takes ``strides``, ``padding`` (TensorFlow's ``"same"``: the odd pad at the end) and
  ``dilation_rate``; the recurrent conv is stride 1, ``"same"``, no dilation (Keras's ``recurrent_conv``, 341-348);
  the states have the input conv's output size;
* Keras's initial weights: ``glorot_uniform`` kernel, ``orthogonal`` recurrent kernel (of Keras's ``(kh kw filters,
  4 filters)`` matrix), zero bias with the forget block 1 (``unit_forget_bias``); drawn from torch's generator,
  or Keras's own values with :func:`torch_impl.nn.keras_init_` ``(model, seed=...)``;
  :func:`torch_impl.nn.load_keras_weights` / ``keras_weights`` take Keras's three arrays;
* ``return_sequences``, ``return_state`` (``(output, h, c)``), ``go_backwards`` (the steps taken last to first,
  the sequence output in that order, as Keras's), ``initial_state=(h, c)``;
* ``mask`` (``(N, T)``, True on the valid steps, or the mask the input carries): a masked step keeps the states
  and outputs the previous step's output (zeros before the first valid one), as Keras's RNN; an ``(N, T, H', W')``
  mask (Keras's ``Masking`` of channels-last frames, ``padding="same"``) does so per pixel, as TensorFlow's
  ``backend.rnn`` tiles it over the filters (``torch_impl.nn.Masking`` reduces the last axis, so with
  channels-first frames give ``mask=(x != v).any(2)``);
* ``dropout`` / ``recurrent_dropout``: Keras's ``DropoutRNNCell`` masks, four per call for the input and four for
  the state (one per gate, ``dropout_mask_count = 4``), drawn from the layer's ``seed`` stream on every call
  (evaluation too) as Keras's ``RNN.call`` does, applied only in training mode with ``0 < rate < 1``. They are
  drawn in the layout of Keras's default channels-last model, ``(N, H, W, C)`` and ``(N, H', W', filters)``.

The same over one or three spatial axes (Keras's ``ConvLSTM`` base of ``conv_lstm1d.py``/``conv_lstm3d.py``):
:class:`ConvLSTM1D` (inputs ``(N, T, C, L)``, Keras's ``(N, T, L, C)``) and :class:`ConvLSTM3D` (``(N, T, C, D, H,
W)``, Keras's ``(N, T, D, H, W, C)``); kernels ``(4 filters, in, *kernel_size)``, Keras's ``(*kernel_size, in,
4 filters)``; a per-position mask is ``(N, T, L')`` / ``(N, T, D', H', W')``, the dropout masks channels-last too.

Layout: torch's, as the project's other ports (``torch.nn.Conv2d``, the pooling layers): ``(N, T, C, H, W)``
(``data_format="channels_first"``, the default), outputs ``(N, T, filters, H', W')`` or ``(N, filters, H', W')``;
``data_format="channels_last"`` takes and returns Keras's ``(N, T, H, W, C)``. Either way the numbers are those
of Keras's (channels-last) layer.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn
from torch.nn import functional as F

from torch_impl import keras_backend as _K
from torch_impl._tf_random import dropout_mask
from torch_impl.rnn import Stream, _rate
from torch_impl.utils import set_keras_mask

__all__ = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]

_CONVS = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def _tuple(value, rank: int, name: str) -> tuple:
    """Keras's ``standardize_tuple(value, rank, name)``: an int or ``rank`` positive ints."""
    values = (value,) * rank if isinstance(value, int) and not isinstance(value, bool) else tuple(value)
    if len(values) != rank or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
        raise ValueError(f"The `{name}` argument must be a tuple of {rank} positive integers. Received: "
                         f"{name}={value!r}")
    return values


class _ConvLSTM(nn.Module):
    """Keras's ``ConvLSTM`` base over ``rank`` spatial axes (module docstring); :class:`ConvLSTM1D`,
    :class:`ConvLSTM2D`, :class:`ConvLSTM3D` set ``rank``."""

    rank = 2

    def __init__(self, in_channels: int, filters: int, kernel_size, strides=1, padding: str = "valid",
                 data_format: str = "channels_first", dilation_rate=1, activation="tanh",
                 recurrent_activation="sigmoid", use_bias: bool = True, unit_forget_bias: bool = True,
                 return_sequences: bool = False, return_state: bool = False, go_backwards: bool = False,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, seed: Optional[int] = None, device=None,
                 dtype=None):
        super().__init__()
        from torch_impl.nn import activation as _activation  # torch_impl.nn imports this module

        name = type(self).__name__
        for arg, v in (("in_channels", in_channels), ("filters", filters)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: `{arg}` must be a positive integer, got {v!r}")
        self.in_channels, self.filters = in_channels, filters
        self.kernel_size = _tuple(kernel_size, self.rank, "kernel_size")
        self.strides = _tuple(strides, self.rank, "strides")
        self.dilation_rate = _tuple(dilation_rate, self.rank, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("Specifying `strides > 1` is not compatible with `dilation_rate > 1`. Please provide "
                             f"`strides=1` or `dilation_rate=1`. Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")
        self.padding = str(padding).lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(f"{name}: `padding` must be 'valid' or 'same', got {padding!r}")
        if data_format not in ("channels_first", "channels_last"):
            raise ValueError(f"data_format must be 'channels_first' or 'channels_last', got {data_format!r}")
        self.data_format = data_format
        self.activation, self.recurrent_activation = activation, recurrent_activation
        self._act, self._rec_act = _activation(activation), _activation(recurrent_activation)
        self.use_bias, self.unit_forget_bias = bool(use_bias), bool(unit_forget_bias)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards = bool(go_backwards)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"Argument `seed` must be an integer. Received: seed={seed!r}")
        self.dropout = _rate(dropout, "dropout")  # Keras's min(1.0, max(0.0, rate)), with a warning
        self.recurrent_dropout = _rate(recurrent_dropout, "recurrent_dropout")
        self.seed = seed
        self.stream = Stream(seed)  # the cell's SeedGenerator
        kw = dict(device=device, dtype=dtype)
        self.weight_ih = nn.Parameter(torch.empty(4 * filters, in_channels, *self.kernel_size, **kw))
        self.weight_hh = nn.Parameter(torch.empty(4 * filters, filters, *self.kernel_size, **kw))
        self.bias = nn.Parameter(torch.empty(4 * filters, **kw)) if self.use_bias else None
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self, generator: Optional[torch.Generator] = None) -> None:
        """Keras's initializers, drawn from torch's generator: ``glorot_uniform`` kernel (fans ``in prod(k)`` and
        ``4 filters prod(k)``), ``orthogonal`` recurrent kernel (Keras's ``(prod(k) filters, 4 filters)`` matrix),
        zeros bias with ones for the forget gate when ``unit_forget_bias``."""
        k = math.prod(self.kernel_size)
        limit = math.sqrt(6.0 / (self.in_channels * k + 4 * self.filters * k))
        self.weight_ih.uniform_(-limit, limit, generator=generator)
        q = torch.empty(k * self.filters, 4 * self.filters, dtype=self.weight_hh.dtype,
                        device=self.weight_hh.device)
        nn.init.orthogonal_(q, generator=generator)
        r = self.rank
        self.weight_hh.copy_(q.reshape(*self.kernel_size, self.filters, 4 * self.filters)
                             .permute(r + 1, r, *range(r)))
        if self.bias is not None:
            self.bias.zero_()
            if self.unit_forget_bias:
                self.bias[self.filters:2 * self.filters] = 1.0

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.filters}, kernel_size={self.kernel_size}, strides={self.strides}, "
             f"padding={self.padding!r}, data_format={self.data_format!r}")
        if self.dilation_rate != (1,) * self.rank:
            s += f", dilation_rate={self.dilation_rate}"
        for name in ("return_sequences", "return_state", "go_backwards"):
            if getattr(self, name):
                s += f", {name}=True"
        if self.dropout or self.recurrent_dropout:
            s += f", dropout={self.dropout}, recurrent_dropout={self.recurrent_dropout}, seed={self.seed}"
        return s

    def output_size(self, *sizes: int) -> tuple:
        """The states' spatial size (``(H', W')`` for ``ConvLSTM2D``) for an input's spatial ``sizes``: Keras's
        ``compute_conv_output_shape``."""
        if len(sizes) != self.rank:
            raise ValueError(f"{type(self).__name__}.output_size takes {self.rank} sizes, got {sizes}")
        out = []
        for size, k, s, d in zip(sizes, self.kernel_size, self.strides, self.dilation_rate):
            out.append(-(-size // s) if self.padding == "same" else (size - (k - 1) * d - 1) // s + 1)
        if min(out) < 1:
            raise ValueError(f"{type(self).__name__}: an input of spatial size {tuple(sizes)} is smaller than the "
                             f"kernel {self.kernel_size} (dilation {self.dilation_rate}) with padding='valid'")
        return tuple(out)

    def _masks(self, n: int, shape: tuple, rate: float, like: torch.Tensor) -> Optional[list]:
        """Keras's four masks of one call (``_create_dropout_mask``), drawn in the channels-last ``(N, *shape)``
        layout Keras's layer draws them in, returned channels-first; ``None`` for a rate of 0, or when not
        training or the rate is 1 (drawn anyway: Keras draws them whatever the mode)."""
        if rate == 0:
            return None
        masks = [dropout_mask((n,) + shape, rate, self.stream, like.dtype, like.device).movedim(-1, 1)
                 for _ in range(4)]
        return masks if self.training and rate < 1 else None

    def _conv(self, x: torch.Tensor, weight: torch.Tensor, masks: Optional[list], strides, dilation,
              pads: list) -> torch.Tensor:
        """``conv(x * mask_g, weight_g)`` for the four gates: one conv, or one grouped conv of the four masked
        copies."""
        if masks is not None:
            x = torch.cat([x * m for m in masks], dim=1)
        if any(pads):
            x = F.pad(x, pads)
        return _CONVS[self.rank](x, weight, None, strides, 0, dilation, 4 if masks is not None else 1)

    def forward(self, input: torch.Tensor, initial_state=None, mask=None):
        if mask is None:  # Keras's Layer.__call__ passes the input's mask
            mask = getattr(input, "_keras_mask", None)
        name, r = type(self).__name__, self.rank
        axes = ("length",) if r == 1 else ("rows", "cols") if r == 2 else ("depth", "rows", "cols")
        if input.dim() != r + 3:
            axes_s = ", ".join(axes + ("channels",) if self.data_format == "channels_last" else ("channels",) + axes)
            raise ValueError(f"{name}: expected a {r + 3}-D input (batch, time, {axes_s}), got {input.dim()}-D of "
                             f"shape {tuple(input.shape)}")
        last = self.data_format == "channels_last"
        x = input.movedim(-1, 2) if last else input  # (N, T, C, *S)
        n, steps, c = x.shape[:3]
        sizes = tuple(x.shape[3:])
        if steps == 0:
            raise ValueError(f"{name}: the input has no time steps (shape {tuple(input.shape)})")
        if c != self.in_channels:
            raise ValueError(f"{name}({self.in_channels}, ...): the input has {c} channels "
                             f"(shape {tuple(input.shape)}, data_format={self.data_format!r})")
        out_sizes = self.output_size(*sizes)
        state_shape = (n, self.filters) + out_sizes
        if initial_state is None:
            h = torch.zeros(state_shape, dtype=x.dtype, device=x.device)
            c_state = h
        else:
            if not (isinstance(initial_state, (tuple, list)) and len(initial_state) == 2):
                raise ValueError(f"{name}: initial_state must be a pair (h, c)")
            h, c_state = (s.movedim(-1, 1) if last else s for s in initial_state)
            if tuple(h.shape) != state_shape or tuple(c_state.shape) != tuple(h.shape):
                raise ValueError(f"{name}: the initial states must have shape "
                                 f"{(n,) + out_sizes + (self.filters,) if last else state_shape}, got "
                                 f"{[tuple(s.shape) for s in initial_state]}")
        valid = None
        if mask is not None:  # (N, T): per step; (N, T, *S'): per position, as Keras's backend.rnn tiles it
            valid = torch.as_tensor(mask, device=x.device).bool()
            if tuple(valid.shape) == (n, steps):
                valid = valid.reshape((n, steps) + (1,) * (r + 1))
            elif tuple(valid.shape) == (n, steps) + out_sizes:
                valid = valid.reshape((n, steps, 1) + out_sizes)
            else:
                raise ValueError(
                    f"{name}: expected a mask of shape {(n, steps)} (batch, steps) or {(n, steps) + out_sizes} "
                    f"(batch, steps, output {', '.join(axes)}: Keras's Masking of channels-last frames with "
                    f"padding='same'), got {tuple(valid.shape)}. torch_impl.nn.Masking reduces the last axis: "
                    f"with channels-first frames pass mask=(x != v).any(2) yourself")
        # Keras's RNN.call draws the cell's masks before the loop, whatever the mode: input's, then the state's
        in_masks = self._masks(n, sizes + (c,), self.dropout, x)
        rec_masks = self._masks(n, out_sizes + (self.filters,), self.recurrent_dropout, x)
        # the input convs of every step at once (the masks are the same at every step), plus the bias
        pads = [0, 0] * r
        if self.padding == "same":
            pads = _K._torch_pad(_K._same_pads(sizes, self.kernel_size, self.strides, self.dilation_rate))
        xs = x.reshape((n * steps, c) + sizes)
        if in_masks is not None:
            in_masks = [m.repeat_interleave(steps, dim=0) for m in in_masks]
        zx = self._conv(xs, self.weight_ih, in_masks, self.strides, self.dilation_rate, pads)
        if self.bias is not None:
            zx = zx + self.bias.reshape((1, -1) + (1,) * r)
        zx = zx.reshape((n, steps, 4 * self.filters) + out_sizes)
        # Keras's recurrent conv: stride 1, "same", undilated
        rec_pads = _K._torch_pad(_K._same_pads(out_sizes, self.kernel_size, (1,) * r, (1,) * r))
        outputs, held = [], None
        for t in (range(steps - 1, -1, -1) if self.go_backwards else range(steps)):
            z = zx[:, t] + self._conv(h, self.weight_hh, rec_masks, 1, 1, rec_pads)
            z_i, z_f, z_c, z_o = z.chunk(4, dim=1)
            i, f = self._rec_act(z_i), self._rec_act(z_f)
            c_new = f * c_state + i * self._act(z_c)
            h_new = self._rec_act(z_o) * self._act(c_new)
            if valid is not None:  # TensorFlow's backend.rnn: keep the states, repeat the previous output
                keep = valid[:, t]
                held = torch.where(keep, h_new, torch.zeros_like(h_new) if held is None else held)
                h, c_state = torch.where(keep, h_new, h), torch.where(keep, c_new, c_state)
                outputs.append(held)
            else:
                h, c_state = h_new, c_new
                outputs.append(h_new)
        if self.return_sequences:
            output = torch.stack(outputs, dim=1)
            if last:
                output = output.movedim(2, -1)
        else:
            output = outputs[-1].movedim(1, -1) if last else outputs[-1]
        if mask is not None and self.return_sequences:  # Keras's compute_mask: the sequence keeps the mask
            set_keras_mask(output, mask)
        if self.return_state:
            return (output,) + tuple(s.movedim(1, -1) if last else s for s in (h, c_state))
        return output


class ConvLSTM2D(_ConvLSTM):
    """Keras's ``ConvLSTM2D`` (module docstring): ``keras.layers.ConvLSTM2D(filters, kernel_size, ...)`` is
    ``ConvLSTM2D(in_channels, filters, kernel_size, ...)`` with Keras's other arguments.

    Args:
        in_channels: the input's channels (Keras reads them from the input).
        filters, kernel_size, strides, padding, dilation_rate, activation, recurrent_activation, use_bias,
            unit_forget_bias, return_sequences, return_state, go_backwards, dropout, recurrent_dropout, seed:
            Keras's (an activation is a Keras name or a callable). ``strides > 1`` with ``dilation_rate > 1``
            raises, as Keras does.
        data_format: ``"channels_first"`` (torch's ``(N, T, C, H, W)``, the default) or ``"channels_last"``
            (Keras's ``(N, T, H, W, C)``).

    Call ``layer(x, initial_state=None, mask=None)``: the output (sequence or last step), or with
    ``return_state`` ``(output, h, c)``.

    Example:
        >>> import torch
        >>> from torch_impl.nn import ConvLSTM2D, keras_weights
        >>> layer = ConvLSTM2D(1, 4, (3, 3), padding="same", return_sequences=True)  # keras.layers.ConvLSTM2D(
        >>> layer(torch.zeros(2, 5, 1, 8, 8)).shape      # 4, (3, 3), padding="same", return_sequences=True)
        torch.Size([2, 5, 4, 8, 8])
        >>> [tuple(w.shape) for w in keras_weights(layer)]  # Keras's kernel, recurrent_kernel, bias
        [(3, 3, 1, 16), (3, 3, 4, 16), (16,)]
        >>> layer.bias[4:8].tolist()  # unit_forget_bias
        [1.0, 1.0, 1.0, 1.0]
    """

    rank = 2


class ConvLSTM1D(_ConvLSTM):
    """Keras's ``ConvLSTM1D`` (module docstring): ``keras.layers.ConvLSTM1D(filters, kernel_size, ...)`` is
    ``ConvLSTM1D(in_channels, filters, kernel_size, ...)`` with Keras's other arguments, as :class:`ConvLSTM2D`
    over one spatial axis: inputs ``(N, T, C, L)`` (``data_format="channels_last"``: Keras's ``(N, T, L, C)``).

    Example:
        >>> import torch
        >>> from torch_impl.nn import ConvLSTM1D, keras_weights
        >>> layer = ConvLSTM1D(3, 4, 2, padding="same", return_sequences=True)  # keras.layers.ConvLSTM1D(
        >>> layer(torch.zeros(2, 5, 3, 9)).shape      # 4, 2, padding="same", return_sequences=True)
        torch.Size([2, 5, 4, 9])
        >>> [tuple(w.shape) for w in keras_weights(layer)]  # Keras's kernel, recurrent_kernel, bias
        [(2, 3, 16), (2, 4, 16), (16,)]
    """

    rank = 1


class ConvLSTM3D(_ConvLSTM):
    """Keras's ``ConvLSTM3D`` (module docstring): ``keras.layers.ConvLSTM3D(filters, kernel_size, ...)`` is
    ``ConvLSTM3D(in_channels, filters, kernel_size, ...)`` with Keras's other arguments, as :class:`ConvLSTM2D`
    over three spatial axes: inputs ``(N, T, C, D, H, W)`` (``data_format="channels_last"``: Keras's
    ``(N, T, D, H, W, C)``).

    Example:
        >>> import torch
        >>> from torch_impl.nn import ConvLSTM3D, keras_weights
        >>> layer = ConvLSTM3D(1, 2, 3, strides=2, return_state=True)  # keras.layers.ConvLSTM3D(2, 3, strides=2,
        >>> [tuple(t.shape) for t in layer(torch.zeros(2, 4, 1, 7, 7, 5))]  # return_state=True): output, h, c
        [(2, 2, 3, 3, 2), (2, 2, 3, 3, 2), (2, 2, 3, 3, 2)]
        >>> [tuple(w.shape) for w in keras_weights(layer)]
        [(3, 3, 3, 1, 8), (3, 3, 3, 2, 8), (8,)]
    """

    rank = 3

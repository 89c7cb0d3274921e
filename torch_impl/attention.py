"""Keras's ``MultiHeadAttention`` layer as a torch module, any ``key_dim``: :class:`MultiHeadAttention`.

``torch.nn.MultiheadAttention`` splits its embedding into the heads (``head_dim = embed_dim // num_heads``), the
case ``keras.layers.MultiHeadAttention(num_heads, key_dim=E // num_heads)`` (which :func:`torch_impl.nn.
load_keras_weights` maps onto it). The keras.io and TensorFlow transformer tutorials write ``key_dim=embed_dim``
(text classification with a Transformer, the time-series Transformer with ``key_dim=256`` on one feature,
TensorFlow's translation Transformer): each head projects to ``key_dim`` and the output projection maps the
``num_heads * value_dim`` features back, which torch's module cannot express. This one holds Keras's weights in
Keras's layout and computes as Keras 3.15.1 on TensorFlow does:

* the query/key/value kernels ``(in, heads, key_dim)`` (the value's ``(in, heads, value_dim)``) with biases
  ``(heads, key_dim)``, the output kernel ``(heads, value_dim, out)`` and bias ``(out,)``, in Keras's
  ``get_weights()`` order (``load_keras_weights``, ``keras_weights`` and ``keras_init_`` take them as they are);
* the scale ``1 / sqrt(key_dim)`` as TensorFlow casts a Python float: rounded to float32 even in float64
  (``key_dim=32``: 1.7e-8 relative off the exact scale);
* ``dropout == 0``: Keras's ``ops.dot_product_attention`` path (the logits ``q . k`` times the scale, masked
  entries set to ``-0.7 * 3.38953e38``, a softmax in at least float32: a fully masked row is uniform);
  ``dropout > 0``: its explicit path (the queries scaled first, masked entries set to ``-1e9``, the softmax, masked
  entries set to 0, then Keras's Dropout mask on the scores from the layer's ``SeedGenerator``, the stream of
  :class:`torch_impl.nn.Dropout`; ``keras_init_(seed=...)`` replays an unseeded layer's seed);
* ``forward(query, value, key=None, attention_mask=None, use_causal_mask=False, return_attention_scores=False)``:
  Keras's call; ``attention_mask`` ``(B, T, S)`` (or broadcastable) is True where a query may attend (Keras's
  convention, torch's ``attn_mask`` is the opposite); Keras's implicit masks from ``Embedding(mask_zero=True)``
  are ``attention_mask = mask[:, None, :]`` (value) and ``& mask[:, :, None]`` (query) here.

``keras_init_(seed=...)`` replays Keras's draws at the module's place in the model: one for the layer's kernel
initializer, one per projection (and the unseeded Dropout's seed between the value and the output projection).
Keras makes the projections when the layer is first called; a layer made inside another layer's ``__init__``
and called later (keras.io's ``TransformerBlock``) draws them after its siblings, an order the replay cannot
know: load that model's weights with ``load_keras_weights``. Keras's ``kernel_regularizer``/``kernel_constraint``
arguments of the layer are not taken (``torch_impl.regularizers.regularize`` raises: the module has no
``weight``).

Example:
    >>> import torch
    >>> mha = MultiHeadAttention(8, num_heads=2, key_dim=8)     # keras.layers.MultiHeadAttention(2, key_dim=8)
    >>> mha.query_kernel.shape, mha.output_kernel.shape
    (torch.Size([8, 2, 8]), torch.Size([2, 8, 8]))
    >>> mha(torch.ones(3, 5, 8), torch.ones(3, 5, 8)).shape
    torch.Size([3, 5, 8])
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

from torch_impl._tf_random import SeedGenerator, stateless_uniform

__all__ = ["MultiHeadAttention"]


def _heads_axis(mask: torch.Tensor) -> torch.Tensor:
    """A ``(B, T, S)`` (or lower-rank) mask expanded at the heads' axis to ``(B, 1, T, S)``, as Keras does."""
    while mask.dim() < 4:
        mask = mask.unsqueeze(-3)
    return mask


class MultiHeadAttention(SeedGenerator, nn.Module):
    """Keras's ``MultiHeadAttention(num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
    output_shape=None, seed=None)`` for ``(B, T, E)`` inputs; torch needs the input widths up front:
    ``query_dim`` (the query's last axis), ``key_input_dim`` and ``value_input_dim`` (default ``query_dim``);
    ``output_dim`` is Keras's ``output_shape`` (default ``query_dim``). See the module docstring.
    """

    def __init__(self, query_dim: int, num_heads: int, key_dim: int, value_dim: Optional[int] = None,
                 dropout: float = 0.0, use_bias: bool = True, output_dim: Optional[int] = None,
                 key_input_dim: Optional[int] = None, value_input_dim: Optional[int] = None,
                 seed: Optional[int] = None, dtype: Optional[torch.dtype] = None, device=None):
        super().__init__()
        for name, v in (("query_dim", query_dim), ("num_heads", num_heads), ("key_dim", key_dim),
                        ("value_dim", value_dim), ("output_dim", output_dim), ("key_input_dim", key_input_dim),
                        ("value_input_dim", value_input_dim)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v <= 0):
                raise ValueError(f"Received an invalid value for argument `{name}`, expected a positive integer. "
                                 f"Received: {name}={v!r}")
        if not 0 <= dropout <= 1:
            raise ValueError(f"Invalid value received for argument `dropout`: expected a float between 0 and 1. "
                             f"Received: dropout={dropout}")
        self.num_heads, self.key_dim = num_heads, key_dim
        self.value_dim = value_dim or key_dim
        self.dropout, self.use_bias, self.seed = float(dropout), bool(use_bias), seed
        self.query_dim = query_dim
        self.value_input_dim = value_input_dim or query_dim
        self.key_input_dim = key_input_dim or self.value_input_dim  # Keras: key = value when not given
        self.output_dim = output_dim or query_dim
        kw = dict(dtype=dtype, device=device)

        def weight(*shape):
            return nn.Parameter(torch.empty(shape, **kw))

        h, k, v = num_heads, key_dim, self.value_dim
        # Keras's order of creation (get_weights()): query, key, value, output; kernel before bias
        self.query_kernel = weight(query_dim, h, k)
        self.query_bias = weight(h, k) if use_bias else None
        self.key_kernel = weight(self.key_input_dim, h, k)
        self.key_bias = weight(h, k) if use_bias else None
        self.value_kernel = weight(self.value_input_dim, h, v)
        self.value_bias = weight(h, v) if use_bias else None
        self.output_kernel = weight(h, v, self.output_dim)
        self.output_bias = weight(self.output_dim) if use_bias else None
        # Keras's Dropout(rate, seed=seed) inside the layer: a generator only for rate > 0
        self._init_seed(seed, draws=self.dropout > 0)
        self.reset_parameters()

    #: (kernel, bias) parameter names in Keras's order, with each kernel's (input axes, output axes)
    PARTS = (("query_kernel", "query_bias", ([0], [1, 2])), ("key_kernel", "key_bias", ([0], [1, 2])),
             ("value_kernel", "value_bias", ([0], [1, 2])), ("output_kernel", "output_bias", ([0, 1], [2])))

    @torch.no_grad()
    def reset_parameters(self, generator: Optional[torch.Generator] = None) -> None:
        """Keras's defaults: ``glorot_uniform`` kernels over ``EinsumDense``'s fans, zero biases."""
        for kernel, bias, (ins, outs) in self.PARTS:
            w = getattr(self, kernel)
            fan_in = math.prod(w.shape[a] for a in ins)
            fan_out = math.prod(w.shape[a] for a in outs)
            limit = math.sqrt(6.0 / (fan_in + fan_out))
            w.copy_(torch.empty(w.shape, dtype=w.dtype).uniform_(-limit, limit, generator=generator))
            if getattr(self, bias) is not None:
                getattr(self, bias).zero_()

    def extra_repr(self) -> str:
        return (f"query_dim={self.query_dim}, num_heads={self.num_heads}, key_dim={self.key_dim}, "
                f"value_dim={self.value_dim}, dropout={self.dropout}, use_bias={self.use_bias}, "
                f"output_dim={self.output_dim}")

    def _scale(self, dtype: torch.dtype) -> torch.Tensor:
        """``tf.cast`` of the Python float ``1 / sqrt(key_dim)``: a float32 constant first, then ``dtype``."""
        return torch.tensor(1.0 / math.sqrt(float(self.key_dim)), dtype=torch.float32).to(dtype)

    def _project(self, x: torch.Tensor, kernel: str, bias: str) -> torch.Tensor:
        out = torch.einsum("abc,cde->abde", x, getattr(self, kernel))  # EinsumDense "abc,cde->abde"
        b = getattr(self, bias)
        return out if b is None else out + b

    def forward(self, query: torch.Tensor, value: torch.Tensor, key: Optional[torch.Tensor] = None,
                attention_mask: Optional[torch.Tensor] = None, use_causal_mask: bool = False,
                return_attention_scores: bool = False):
        if query.dim() != 3 or value.dim() != 3 or (key is not None and key.dim() != 3):
            raise ValueError("MultiHeadAttention takes (batch, steps, features) query, value and key tensors "
                             f"(Keras's default attention_axes); got shapes {tuple(query.shape)}, "
                             f"{tuple(value.shape)}" + ("" if key is None else f", {tuple(key.shape)}"))
        key = value if key is None else key
        if tuple(value.shape[1:-1]) != tuple(key.shape[1:-1]):  # Keras's build check (torch's einsum broadcasts 1)
            raise ValueError("All dimensions of `value` and `key`, except the last one, must be equal. Received: "
                             f"value_shape={tuple(value.shape)} and key_shape={tuple(key.shape)}")
        dtype = self.query_kernel.dtype
        query, value, key = query.to(dtype), value.to(dtype), key.to(dtype)
        mask = None if attention_mask is None else attention_mask.to(query.device).bool()
        if use_causal_mask:
            t, s = query.shape[1], value.shape[1]
            causal = torch.ones(t, s, dtype=torch.bool, device=query.device).tril()[None]
            mask = causal if mask is None else mask & causal
        q = self._project(query, "query_kernel", "query_bias")  # (B, T, N, K)
        k = self._project(key, "key_kernel", "key_bias")  # (B, S, N, K)
        v = self._project(value, "value_kernel", "value_bias")  # (B, S, N, V)
        scale = self._scale(dtype)
        scores = None
        if self.dropout == 0 and not return_attention_scores:
            # Keras's ops.dot_product_attention (TensorFlow backend)
            logits = torch.einsum("btnh,bsnh->bnts", q, k) * scale
            if mask is not None:
                logits = torch.where(_heads_axis(mask), logits, torch.tensor(3.38953e38 * -0.7, dtype=dtype,
                                                                 device=logits.device))
            wide = torch.promote_types(logits.dtype, torch.float32)
            probs = torch.softmax(logits.to(wide), dim=-1).to(dtype)
            attended = torch.einsum("bnts,bsnh->btnh", probs, v)
        else:
            # Keras's explicit path: scaled queries, the Softmax layer's mask, Dropout on the scores
            scores = torch.einsum("aecd,abcd->acbe", k, q * scale)  # (B, N, T, S)
            mask4 = None if mask is None else _heads_axis(mask)
            if mask4 is not None:
                scores = torch.where(mask4, scores, torch.tensor(-1e9, dtype=dtype, device=scores.device))
            scores = torch.softmax(scores, dim=-1)
            if mask4 is not None:
                scores = torch.where(mask4, scores, torch.zeros((), dtype=dtype, device=scores.device))
            dropped = scores
            if self.training and 0 < self.dropout < 1:
                u = stateless_uniform(tuple(scores.shape), self._next_seed(), scores.dtype, scores.device)
                factor = torch.tensor(1 / (1 - self.dropout), dtype=dtype, device=scores.device)
                keep = u >= torch.tensor(self.dropout, dtype=dtype, device=scores.device)
                dropped = torch.where(keep, scores * factor, torch.zeros((), dtype=dtype, device=scores.device))
            elif self.training and self.dropout == 1:
                dropped = torch.zeros_like(scores)
            attended = torch.einsum("acbe,aecd->abcd", dropped, v)  # (B, T, N, V)
        out = torch.einsum("abcd,cde->abe", attended, self.output_kernel)
        if self.output_bias is not None:
            out = out + self.output_bias
        return (out, scores) if return_attention_scores else out

"""Keras's ``MultiHeadAttention`` layer as a torch module, any ``key_dim``: :class:`MultiHeadAttention`; and Keras's
``Attention`` (Luong) and ``AdditiveAttention`` (Bahdanau) layers: :class:`Attention`, :class:`AdditiveAttention`
(their docstrings).

``torch.nn.MultiheadAttention`` splits its embedding into the heads (``head_dim = embed_dim // num_heads``), the
case ``keras.layers.MultiHeadAttention(num_heads, key_dim=E // num_heads)`` (which :func:`torch_impl.nn.
load_keras_weights` maps onto it). The keras.io and TensorFlow transformer tutorials write ``key_dim=embed_dim``
(text classification with a Transformer, the time-series Transformer with ``key_dim=256`` on one feature,
TensorFlow's translation Transformer): each head projects to ``key_dim`` and the output projection maps the
``num_heads * value_dim`` features back, which torch's module cannot express. This one holds Keras's weights in
Keras's layout and computes as Keras 3.15.1 on TensorFlow does:

* the query/key/value kernels ``(in, heads, key_dim)`` (the value's ``(in, heads, value_dim)``) with biases
  ``(heads, key_dim)``, the output kernel ``(heads, value_dim, *output_shape)`` and bias ``output_shape``, in
  Keras's ``get_weights()`` order (``load_keras_weights``, ``keras_weights`` and ``keras_init_`` take them as they
  are); ``use_gate=True`` adds Keras's gate projection ``(in, heads, value_dim)`` of the query between the key and
  the value (``gate_kernel``, ``gate_bias``): ``sigmoid(query . gate_kernel + gate_bias)`` multiplies the attended
  values before the output projection;
* the scale ``1 / sqrt(key_dim)`` as TensorFlow casts a Python float: rounded to float32 even in float64
  (``key_dim=32``: 1.7e-8 relative off the exact scale);
* ``dropout == 0`` with ``(B, T, E)`` inputs: Keras's ``ops.dot_product_attention`` path (the logits ``q . k`` in
  at least float32 times the scale, masked entries set to ``-0.7 * 3.38953e38``, a softmax in at least float32: a
  fully masked row is uniform); ``dropout > 0``, ``return_attention_scores`` or inputs of higher rank: its explicit
  path (the queries scaled first, masked entries set to ``-1e9`` (``-3e4`` in float16), the softmax over the
  attention axes (several: ``exp(x - logsumexp(x))`` as Keras's ``Softmax(axis=tuple)``), masked entries set to
  0, then Keras's Dropout mask on the scores from the layer's ``SeedGenerator``, the stream of
  :class:`torch_impl.nn.Dropout`; ``keras_init_(seed=...)`` replays an unseeded layer's seed);
* ``attention_axes``: inputs ``(B, *dims, E)`` of any rank >= 3 attend over the given axes of ``dims`` (default all
  of them; negative axes count from the feature axis, ``-2`` the last of ``dims``); the other axes are batch axes
  (an image ``(B, H, W, C)`` with ``attention_axes=(1, 2)``: the scores ``(B, heads, H, W, H, W)``, an
  ``attention_mask`` ``(B, H, W, H, W)``);
* ``forward(query, value, key=None, attention_mask=None, use_causal_mask=False, return_attention_scores=False,
  query_mask=None, value_mask=None, key_mask=None, training=None)``: Keras's call; ``attention_mask`` ``(B, T, S)``
  (or broadcastable) is True where a query may attend (Keras's convention, torch's ``attn_mask`` is the
  opposite); ``query_mask`` ``(B, T)``, ``value_mask`` and ``key_mask`` ``(B, S)`` are the masks Keras's layer
  takes from its inputs (``Embedding(mask_zero=True)``): combined as Keras's ``_compute_attention_mask`` does,
  ``query_mask[..., None] & value_mask[..., None, :] & key_mask[..., None, :] & causal & sliding window &
  attention_mask``. (Keras's layer reads the query's mask from the query tensor itself: an explicit
  ``query_mask=`` argument of Keras's call is ignored, here it is the query's mask.) ``use_causal_mask`` and
  ``sliding_window`` mask over axis 1 (``query.shape[1]`` against ``value.shape[1]``, Keras's
  ``_compute_causal_mask``, whatever the attention axes; over two attention axes Keras's expansion of that
  ``(1, T, S)`` mask fails, as here); ``sliding_window=w`` keeps ``|i - j| < w`` (with ``use_causal_mask``: the
  causal band of Mistral/Llama-3); ``training`` (default: the module's mode) switches the dropout;
* ``kernel_initializer`` / ``bias_initializer`` (anything :func:`torch_impl.initializers.get` takes): Keras's
  initial values and draws: the layer's initializer is cloned for each projection (an unseeded one draws a seed
  from Python's ``random`` per projection, as Keras's ``_get_common_kwargs_for_sublayer``; a seeded one gives the
  same values to projections of the same shape, as Keras's), a ``VarianceScaling`` one over ``EinsumDense``'s fan
  axes; after ``random.seed(s)`` the module holds Keras's initial weights after ``keras.utils.set_random_seed(s)``
  (the layer made and built at that point, with the unseeded Dropout's draw between the value and the output
  projection). Without either argument, torch's generator draws Keras's default distribution (``glorot_uniform``
  kernels, zero biases) and no Python ``random`` seed is drawn but the unseeded Dropout's;
* ``kernel_regularizer`` / ``bias_regularizer`` (on every projection's kernel and bias, in Keras's layout),
  ``activity_regularizer`` (on each projection's output: query, key, gate, value, output, each over its batch size,
  as Keras's ``EinsumDense`` sublayers record them) and ``kernel_constraint`` / ``bias_constraint``: as
  :func:`torch_impl.regularizers.regularize` and :func:`torch_impl.constraints.constrain` attach them
  (``regularization_losses``, ``fit`` and :mod:`torch_impl.optim` find them);
* ``flash_attention``: Keras's checks (``dropout > 0`` or ``return_attention_scores`` with it raise Keras's
  ``ValueError``); the values are the same attention (Keras on TensorFlow raises "Flash attention is not supported
  in tensorflow backend" for ``(B, T, E)`` inputs, and runs its explicit path for higher ranks).

``keras_init_(seed=...)`` replays Keras's draws at the module's place in the model: one for the layer's kernel
initializer, one per projection (and the unseeded Dropout's seed between the value and the output projection).
Keras makes the projections when the layer is first called; a layer made inside another layer's ``__init__``
and called later (keras.io's ``TransformerBlock``) draws them after its siblings, an order the replay cannot
know: load that model's weights with ``load_keras_weights``. :func:`torch_impl.regularizers.regularize` and
:func:`torch_impl.constraints.constrain` raise on this module (it has no ``weight``): give the layer's arguments
to the constructor.

Example:
    >>> import torch
    >>> mha = MultiHeadAttention(8, num_heads=2, key_dim=8)     # keras.layers.MultiHeadAttention(2, key_dim=8)
    >>> mha.query_kernel.shape, mha.output_kernel.shape
    (torch.Size([8, 2, 8]), torch.Size([2, 8, 8]))
    >>> mha(torch.ones(3, 5, 8), torch.ones(3, 5, 8)).shape
    torch.Size([3, 5, 8])
    >>> # keras.layers.MultiHeadAttention(2, key_dim=4, attention_axes=(1, 2), use_gate=True) on (B, H, W, C) images
    >>> image = MultiHeadAttention(3, num_heads=2, key_dim=4, attention_axes=(1, 2), use_gate=True)
    >>> out, scores = image(torch.ones(1, 4, 5, 3), torch.ones(1, 4, 5, 3), return_attention_scores=True)
    >>> out.shape, scores.shape
    (torch.Size([1, 4, 5, 3]), torch.Size([1, 2, 4, 5, 4, 5]))
"""

from __future__ import annotations

import math
import random
import string
from typing import Optional, Sequence, Union

import torch
from torch import nn

from torch_impl._tf_random import SeedGenerator, apply_dropout, stateless_uniform
from torch_impl.utils import set_keras_mask

__all__ = ["MultiHeadAttention", "Attention", "AdditiveAttention"]


def _proj_equation(free_dims: int, bound_dims: int, output_dims: int) -> str:
    """Keras's ``_build_proj_equation``: ``"abc,cde->abde"`` for a query projection of a ``(B, T, E)`` input."""
    letters = string.ascii_lowercase
    free = letters[:free_dims]
    bound = letters[free_dims:free_dims + bound_dims]
    out = letters[free_dims + bound_dims:free_dims + bound_dims + output_dims]
    return f"{free}{bound},{bound}{out}->{free}{out}"


def _attention_equations(rank: int, axes: tuple) -> tuple[str, str]:
    """Keras's ``_build_attention_equation`` for projected tensors of ``rank``: the key-query product
    (``"aecd,abcd->acbe"`` for ``(B, T, N, K)``) and the combination of the scores with the values. The scores'
    axes: the batch axes (the heads' last), the query's attention axes, the key's."""
    letters = string.ascii_lowercase
    target = letters[:rank]
    batch = [i for i in range(rank) if i not in axes and i != rank - 1]
    source, offset = "", rank
    for i in range(rank):
        if i in batch or i == rank - 1:
            source += target[i]
        else:
            source += letters[offset]
            offset += 1
    product = "".join([target[i] for i in batch] + [target[i] for i in axes] + [source[i] for i in axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}"


def _expand_mask(mask: torch.Tensor, rank: int, n_axes: int) -> torch.Tensor:
    """Keras's mask expansion: ``expand_dims`` at the heads' axis (``-2 * n_axes - 1``) up to the scores' rank
    (a ``(B, T, S)`` mask to ``(B, 1, T, S)``)."""
    if mask.dim() > rank:
        raise ValueError("The `mask` must be broadcastable to `inputs` and must not have more dimensions. "
                         f"Received: mask.shape={tuple(mask.shape)} for attention scores of rank {rank}")
    axis = -2 * n_axes - 1
    while mask.dim() < rank:
        if axis < -mask.dim() - 1:  # Keras (TensorFlow's expand_dims) fails the same way
            raise ValueError(f"axis {axis} is out of bounds for an array with dimension {mask.dim() + 1}. (Keras's "
                             f"mask expansion: a mask of shape {tuple(mask.shape)} for {n_axes} attention axes)")
        mask = mask.unsqueeze(axis)
    return mask


def _masked_softmax(scores: torch.Tensor, mask: Optional[torch.Tensor], n_axes: int) -> torch.Tensor:
    """Keras's ``Softmax(axis=<the last n_axes>)`` layer with its mask: masked entries ``-1e9`` (``-3e4`` in
    float16) before, 0 after; over several axes ``exp(x - reduce_logsumexp(x))``."""
    if mask is not None:
        big = torch.tensor(-3e4 if scores.dtype == torch.float16 else -1e9, dtype=scores.dtype, device=scores.device)
        scores = torch.where(mask, scores, big)
    if n_axes == 1:
        probs = torch.softmax(scores, dim=-1)
    else:
        dims = tuple(range(-n_axes, 0))
        raw_max = scores.amax(dim=dims, keepdim=True)  # tf.reduce_logsumexp: the finite max, held constant
        top = torch.where(torch.isfinite(raw_max), raw_max, torch.zeros_like(raw_max)).detach()
        probs = torch.exp(scores - (torch.log(torch.exp(scores - top).sum(dim=dims, keepdim=True)) + top))
    if mask is not None:
        probs = torch.where(mask, probs, torch.zeros((), dtype=probs.dtype, device=probs.device))
    return probs


def _positive_int(name: str, v) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise ValueError(f"Received an invalid value for argument `{name}`, expected a positive integer. "
                         f"Received: {name}={v!r}")


def _clone(init, seed=None, axes=None):
    """Keras's clone of an initializer for a sublayer (``from_config(get_config())``): an unseeded random one
    takes ``seed`` (a new draw); a ``VarianceScaling`` one then gets ``EinsumDense``'s fan ``axes`` (with its
    concrete seed) unless it has its own. A plain callable is used as is."""
    from torch_impl import initializers

    if not isinstance(init, initializers.Initializer):
        return init
    config = init.get_config()
    if isinstance(init, initializers._Random) and init._init_seed is None:
        config["seed"] = random.randint(1, int(1e9)) if seed is None else seed  # Keras's make_default_seed
    clone = type(init).from_config(config)
    if axes is not None and isinstance(clone, initializers.VarianceScaling) and (
            clone.input_axes is None or clone.output_axes is None):
        clone = type(clone).from_config({**clone.get_config(), "seed": clone.seed, "input_axes": list(axes[0]),
                                         "output_axes": list(axes[1])})
    return clone


def _unseeded(init) -> bool:
    from torch_impl import initializers

    return isinstance(init, initializers._Random) and init._init_seed is None


_IDENTITY = (lambda w: w)


class MultiHeadAttention(SeedGenerator, nn.Module):
    """Keras's ``MultiHeadAttention(num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
    output_shape=None, attention_axes=None, sliding_window=None, flash_attention=None, kernel_initializer=...,
    bias_initializer=..., kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
    kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None)``; torch needs the input widths up
    front: ``query_dim`` (the query's last axis), ``key_input_dim`` and ``value_input_dim`` (default
    ``query_dim``); ``output_dim`` is Keras's ``output_shape`` (an int or a tuple; default ``query_dim``;
    ``output_shape=`` is taken too). The arguments after ``device`` are keyword-only. See the module docstring.
    """

    #: (kernel, bias) parameter names of a (B, T, E) layer without gate, with each kernel's (input axes, output
    #: axes); an instance's own parts, in Keras's order and with Keras's sublayer names: :attr:`keras_parts`
    PARTS = (("query_kernel", "query_bias", ([0], [1, 2])), ("key_kernel", "key_bias", ([0], [1, 2])),
             ("value_kernel", "value_bias", ([0], [1, 2])), ("output_kernel", "output_bias", ([0, 1], [2])))

    def __init__(self, query_dim: int, num_heads: int, key_dim: int, value_dim: Optional[int] = None,
                 dropout: float = 0.0, use_bias: bool = True, output_dim: Union[int, Sequence[int], None] = None,
                 key_input_dim: Optional[int] = None, value_input_dim: Optional[int] = None,
                 seed: Optional[int] = None, dtype: Optional[torch.dtype] = None, device=None, *,
                 output_shape: Union[int, Sequence[int], None] = None,
                 attention_axes: Union[int, Sequence[int], None] = None, sliding_window: Optional[int] = None,
                 flash_attention: Optional[bool] = None, kernel_initializer=None, bias_initializer=None,
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, use_gate: bool = False):
        super().__init__()
        for name, v in (("query_dim", query_dim), ("num_heads", num_heads), ("key_dim", key_dim),
                        ("value_dim", value_dim), ("key_input_dim", key_input_dim),
                        ("value_input_dim", value_input_dim)):
            if v is not None:
                _positive_int(name, v)
        if output_dim is not None and output_shape is not None:
            raise ValueError("Give `output_dim` or Keras's `output_shape`, not both")
        output_dim = output_shape if output_dim is None else output_dim
        if output_dim is not None:
            if isinstance(output_dim, (list, tuple)):
                if not output_dim:
                    raise ValueError(f"Invalid `output_shape`: {output_dim}: an int or a non-empty tuple")
                for v in output_dim:
                    _positive_int("output_shape", v)
            elif isinstance(output_dim, bool) or not isinstance(output_dim, int):
                raise ValueError(f"Invalid `output_shape`: {output_dim}. When specified, the `output_shape` should be "
                                 "of type tuple, list, or int.")  # Keras's message (output_shape=8.0)
            else:
                _positive_int("output_dim", output_dim)
        if not 0 <= dropout <= 1:
            raise ValueError(f"Invalid value received for argument `dropout`: expected a float between 0 and 1. "
                             f"Received: dropout={dropout}")
        if isinstance(attention_axes, int) and not isinstance(attention_axes, bool):
            attention_axes = (attention_axes,)
        elif attention_axes is not None and not isinstance(attention_axes, (list, tuple)):
            raise ValueError("`attention_axes` must be an int, list, or tuple."
                             f"Received: attention_axes={attention_axes}")  # Keras's message
        if attention_axes is not None and (not attention_axes or any(
                isinstance(a, bool) or not isinstance(a, int) for a in attention_axes)):
            raise ValueError(f"`attention_axes` must hold integer axes. Received: attention_axes={attention_axes}")
        if sliding_window is not None and (not isinstance(sliding_window, int) or sliding_window <= 0):
            raise ValueError("`sliding_window` must be `None` or a positive integer. "
                             f"Received: sliding_window={sliding_window}")
        if flash_attention and dropout > 0.0:
            raise ValueError("Dropout is not supported when flash attention is enabled. Please set dropout to 0.0 to "
                             "use flash attention.")
        self.num_heads, self.key_dim = num_heads, key_dim
        self.value_dim = value_dim or key_dim
        self.dropout, self.use_bias, self.seed = float(dropout), bool(use_bias), seed
        self.use_gate = bool(use_gate)
        self.attention_axes = None if attention_axes is None else tuple(attention_axes)
        self.sliding_window, self.flash_attention = sliding_window, flash_attention
        self.query_dim = query_dim
        self.value_input_dim = value_input_dim or query_dim
        self.key_input_dim = key_input_dim or self.value_input_dim  # Keras: key = value when not given
        self.output_dim = output_dim or query_dim
        self.output_shape = tuple(self.output_dim) if isinstance(self.output_dim, (list, tuple)) else (self.output_dim,)
        kw = dict(dtype=dtype, device=device)

        def weight(*shape):
            return nn.Parameter(torch.empty(shape, **kw))

        h, k, v = num_heads, key_dim, self.value_dim
        # Keras's order of creation (get_weights()): query, key, [gate,] value, output; kernel before bias
        parts = [("query", query_dim, k), ("key", self.key_input_dim, k)]
        parts += [("gate", query_dim, v)] if self.use_gate else []
        parts += [("value", self.value_input_dim, v)]
        #: (Keras's sublayer name, kernel, bias, the kernel's (input axes, output axes)) in Keras's weight order
        self.keras_parts = []
        for name, fan_in, width in parts:
            setattr(self, f"{name}_kernel", weight(fan_in, h, width))
            setattr(self, f"{name}_bias", weight(h, width) if use_bias else None)
            self.keras_parts.append((name, f"{name}_kernel", f"{name}_bias", ([0], [1, 2])))
        self.output_kernel = weight(h, v, *self.output_shape)
        self.output_bias = weight(*self.output_shape) if use_bias else None
        self.keras_parts.append(("attention_output", "output_kernel", "output_bias",
                                 ([0, 1], list(range(2, 2 + len(self.output_shape))))))

        from torch_impl import constraints, initializers, regularizers

        self._keras_initializers = kernel_initializer is not None or bias_initializer is not None
        if self._keras_initializers:
            # Keras's draws: the layer's initializers when made, then (build) a clone of each per projection, the
            # unseeded Dropout's generator between the value and the output projection
            self._kernel_initializer = initializers.get("glorot_uniform" if kernel_initializer is None
                                                        else kernel_initializer)
            self._bias_initializer = initializers.get("zeros" if bias_initializer is None else bias_initializer)
            for name, kernel, bias, axes in self.keras_parts:
                if name == "attention_output":
                    self._init_seed(seed, draws=self.dropout > 0)
                getattr(self, kernel)._keras_initializer = _clone(self._kernel_initializer, axes=axes)
                init = _clone(self._bias_initializer)
                if getattr(self, bias) is not None:
                    getattr(self, bias)._keras_initializer = init
        else:
            # Keras's Dropout(rate, seed=seed) inside the layer: a generator only for rate > 0
            self._init_seed(seed, draws=self.dropout > 0)
        reg_k, reg_b = regularizers.get(kernel_regularizer), regularizers.get(bias_regularizer)
        con_k, con_b = constraints.get(kernel_constraint), constraints.get(bias_constraint)
        for _, kernel, bias, _ in self.keras_parts:
            for name, reg, con in ((kernel, reg_k, con_k), (bias, reg_b, con_b)):
                p = getattr(self, name)
                if p is None or (reg is None and con is None):
                    continue
                if reg is not None:
                    p._keras_regularizer = reg
                if con is not None:
                    p._keras_constraint = con
                p._keras_layout = p._keras_from_layout = _IDENTITY  # held in Keras's layout
        self._activity_regularizer = regularizers.get(activity_regularizer)
        if self._activity_regularizer is not None:
            self._keras_activity_losses = []  # what torch_impl.regularizers.Penalties collects
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self, generator: Optional[torch.Generator] = None) -> None:
        """The initializers given (their values again: a seeded one's are the same); without them Keras's
        defaults from ``generator``: ``glorot_uniform`` kernels over ``EinsumDense``'s fans, zero biases."""
        for _, kernel, bias, (ins, outs) in self.keras_parts:
            w = getattr(self, kernel)
            if self._keras_initializers:
                w.copy_(w._keras_initializer(tuple(w.shape), dtype=w.dtype, device=w.device))
            else:
                fan_in = math.prod(w.shape[a] for a in ins)
                fan_out = math.prod(w.shape[a] for a in outs)
                limit = math.sqrt(6.0 / (fan_in + fan_out))
                w.copy_(torch.empty(w.shape, dtype=w.dtype).uniform_(-limit, limit, generator=generator))
            b = getattr(self, bias)
            if b is not None:
                if self._keras_initializers:
                    b.copy_(b._keras_initializer(tuple(b.shape), dtype=b.dtype, device=b.device))
                else:
                    b.zero_()

    def _keras_replay(self, name: str, draw) -> dict:
        """:func:`torch_impl.nn.keras_init_`'s ``seed=`` replay: Keras's draws for this layer from ``draw()`` (the
        layer's initializers if unseeded, each projection's clones, the unseeded Dropout's generator before the
        output projection); returns ``{"<name>.<part>.kernel" / ".bias": initializer}``."""
        from torch_impl import initializers

        given = self._keras_initializers
        kernel_init = self._kernel_initializer if given else None  # None: Keras's unseeded "glorot_uniform"
        bias_init = self._bias_initializer if given else initializers.Zeros()
        kernel_unseeded = kernel_init is None or _unseeded(kernel_init)
        if kernel_unseeded:
            draw()  # initializers.get(...) in the layer's __init__
        if _unseeded(bias_init):
            draw()
        values = {}
        for part, kernel, bias, axes in self.keras_parts:
            if part == "attention_output" and self.dropout > 0 and self.seed is None:
                self.state = (draw(), 0)  # the unseeded Dropout's generator
                self._initial_seed = self._seed_value
            if kernel_init is None:
                k_init = initializers.GlorotUniform(seed=draw(), input_axes=axes[0], output_axes=axes[1])
            else:
                k_init = _clone(kernel_init, seed=draw() if kernel_unseeded else None, axes=axes)
            b_init = _clone(bias_init, seed=draw() if _unseeded(bias_init) else None)
            values[f"{name}.{part}.kernel"] = k_init
            if getattr(self, bias) is not None:
                values[f"{name}.{part}.bias"] = b_init
            if given:  # later reset_parameters() give these values, as the layer's own
                getattr(self, kernel)._keras_initializer = k_init
                if getattr(self, bias) is not None:
                    getattr(self, bias)._keras_initializer = b_init
        return values

    def extra_repr(self) -> str:
        extra = "".join(f", {k}={getattr(self, k)!r}" for k in ("attention_axes", "sliding_window", "flash_attention")
                        if getattr(self, k) is not None)
        return (f"query_dim={self.query_dim}, num_heads={self.num_heads}, key_dim={self.key_dim}, "
                f"value_dim={self.value_dim}, dropout={self.dropout}, use_bias={self.use_bias}, "
                f"output_dim={self.output_dim}" + (", use_gate=True" if self.use_gate else "") + extra)

    def _scale(self, dtype: torch.dtype) -> torch.Tensor:
        """``tf.cast`` of the Python float ``1 / sqrt(key_dim)``: a float32 constant first, then ``dtype``."""
        return torch.tensor(1.0 / math.sqrt(float(self.key_dim)), dtype=torch.float32).to(dtype)

    def _project(self, x: torch.Tensor, kernel: str, bias: str, bound_dims: int = 1) -> torch.Tensor:
        w = getattr(self, kernel)  # EinsumDense "abc,cde->abde" (rank 3), "abcd,cde->abe" (the output)
        out = torch.einsum(_proj_equation(x.dim() - bound_dims, bound_dims, w.dim() - bound_dims), x, w)
        b = getattr(self, bias)
        return out if b is None else out + b

    def _axes(self, rank: int) -> tuple:
        """The attention axes of inputs of ``rank`` (Keras's ``_build_attention``: default all but the batch and
        the features; a negative axis ``rank + axis``)."""
        if self.attention_axes is None:
            return tuple(range(1, rank - 1))
        axes = tuple(a if a >= 0 else rank + a for a in self.attention_axes)
        if any(not 1 <= a <= rank - 2 for a in axes) or len(set(axes)) != len(axes):
            raise ValueError(f"attention_axes={self.attention_axes} for inputs of rank {rank}: expected distinct "
                             f"axes in [1, {rank - 2}] (or [{1 - rank}, -2])")
        return axes

    def _attention_mask(self, query, value, query_mask, value_mask, key_mask, attention_mask,
                        use_causal_mask) -> Optional[torch.Tensor]:
        """Keras's ``_compute_attention_mask``: the inputs' masks, the causal and sliding-window masks
        ``(1, T, S)`` (over ``query.shape[1]`` and ``value.shape[1]``) and ``attention_mask``, all and-ed."""
        device = query.device

        def as_bool(m):
            return torch.as_tensor(m, device=device).bool()

        auto = None
        for m, axis in ((query_mask, -1), (value_mask, -2), (key_mask, -2)):
            if m is not None:
                m = as_bool(m).unsqueeze(axis)
                auto = m if auto is None else auto & m
        t, s = query.shape[1], value.shape[1]
        if use_causal_mask:
            m = torch.ones(t, s, dtype=torch.bool, device=device).tril()[None]
            auto = m if auto is None else auto & m
        if self.sliding_window is not None:
            rows, cols = torch.arange(t, device=device)[:, None], torch.arange(s, device=device)[None]
            m = ((rows - cols).abs() < self.sliding_window)[None]
            auto = m if auto is None else auto & m
        if attention_mask is not None:
            attention_mask = as_bool(attention_mask)
        if auto is not None:
            attention_mask = auto if attention_mask is None else attention_mask & auto
        return attention_mask

    def _record_activity(self, outputs) -> None:
        """Keras's activity penalty of each sublayer's output over its batch size (``divide_no_nan``), in the
        layer's sublayer order."""
        for out in outputs:
            loss = self._activity_regularizer(out)
            batch = torch.tensor(out.shape[0], dtype=loss.dtype, device=loss.device)
            self._keras_activity_losses.append(loss / batch if out.shape[0] else torch.zeros_like(loss))

    def forward(self, query: torch.Tensor, value: torch.Tensor, key: Optional[torch.Tensor] = None,
                attention_mask: Optional[torch.Tensor] = None, use_causal_mask: bool = False,
                return_attention_scores: bool = False, *, query_mask: Optional[torch.Tensor] = None,
                value_mask: Optional[torch.Tensor] = None, key_mask: Optional[torch.Tensor] = None,
                training: Optional[bool] = None):
        key = value if key is None else key
        if tuple(value.shape[1:-1]) != tuple(key.shape[1:-1]):  # Keras's build check, first (a key of another rank
            # too); torch's einsum would broadcast a size-1 axis
            raise ValueError("All dimensions of `value` and `key`, except the last one, must be equal. Received: "
                             f"value_shape={tuple(value.shape)} and key_shape={tuple(key.shape)}")
        if query.dim() < 3 or value.dim() != query.dim() or key.dim() != query.dim():
            raise ValueError("MultiHeadAttention takes query, value and key tensors (batch, *axes, features) of one "
                             f"rank >= 3; got shapes {tuple(query.shape)}, {tuple(value.shape)}, {tuple(key.shape)}")
        if self.flash_attention and return_attention_scores:
            raise ValueError("Returning attention scores is not supported when flash attention is enabled. Please "
                             "disable flash attention to access attention scores.")
        training = self.training if training is None else bool(training)
        axes = self._axes(query.dim())
        dtype = self.query_kernel.dtype
        query, value, key = query.to(dtype), value.to(dtype), key.to(dtype)
        # Keras's causal-only shortcut (dot_product_attention(is_causal=True)) masks the same entries
        mask = self._attention_mask(query, value, query_mask, value_mask, key_mask, attention_mask,
                                    use_causal_mask)
        gate = torch.sigmoid(self._project(query, "gate_kernel", "gate_bias")) if self.use_gate else None
        q = self._project(query, "query_kernel", "query_bias")  # (B, T, N, K)
        k = self._project(key, "key_kernel", "key_bias")  # (B, S, N, K)
        v = self._project(value, "value_kernel", "value_bias")  # (B, S, N, V)
        scores = None
        if self.dropout == 0 and not return_attention_scores and q.dim() == 4:
            # Keras's ops.dot_product_attention (TensorFlow backend): logits and softmax in at least float32
            logits = torch.einsum("btnh,bsnh->bnts", q, k)
            wide = torch.promote_types(logits.dtype, torch.float32)
            logits = logits.to(wide) * self._scale(wide)
            if mask is not None:
                logits = torch.where(_expand_mask(mask, 4, 1), logits,
                                     torch.tensor(3.38953e38 * -0.7, dtype=wide, device=logits.device))
            probs = torch.softmax(logits, dim=-1).to(dtype)
            attended = torch.einsum("bnts,bsnh->btnh", probs, v)
        else:
            # Keras's explicit path: scaled queries, the Softmax layer's mask, Dropout on the scores
            dot, combine = _attention_equations(q.dim(), axes)
            scores = torch.einsum(dot, k, q * self._scale(dtype))  # (B, <batch axes>, N, <T axes>, <S axes>)
            mask_e = None if mask is None else _expand_mask(mask, scores.dim(), len(axes))
            scores = _masked_softmax(scores, mask_e, len(axes))
            dropped = scores
            if training and 0 < self.dropout < 1:
                u = stateless_uniform(tuple(scores.shape), self._next_seed(), scores.dtype, scores.device)
                factor = torch.tensor(1 / (1 - self.dropout), dtype=dtype, device=scores.device)
                keep = u >= torch.tensor(self.dropout, dtype=dtype, device=scores.device)
                dropped = torch.where(keep, scores * factor, torch.zeros((), dtype=dtype, device=scores.device))
            elif training and self.dropout == 1:
                dropped = torch.zeros_like(scores)
            attended = torch.einsum(combine, dropped, v)  # (B, T, N, V)
        if gate is not None:
            attended = attended * gate
        out = self._project(attended, "output_kernel", "output_bias", bound_dims=2)
        if self._activity_regularizer is not None:
            self._record_activity([q, k] + ([gate] if gate is not None else []) + [v, out])
        return (out, scores) if return_attention_scores else out


# --------------------------------------------------------------------------------------------------------------
# Keras's Attention (Luong) and AdditiveAttention (Bahdanau): keras/src/layers/attention/attention.py,
# additive_attention.py
# --------------------------------------------------------------------------------------------------------------


def _check_attention_inputs(name: str, inputs, mask) -> None:
    """Keras's ``Attention._validate_inputs``: a list of 2 or 3 tensors, a mask list of 2 or 3 (a tuple is taken
    too)."""
    if not isinstance(inputs, (list, tuple)):
        raise ValueError(f"{name} layer must be called on a list of inputs, namely [query, value] or [query, value, "
                         f"key]. Received: inputs={inputs}.")
    if len(inputs) < 2 or len(inputs) > 3:
        raise ValueError(f"{name} layer accepts inputs list of length 2 or 3, namely [query, value] or [query, "
                         f"value, key]. Received length: {len(inputs)}.")
    if mask is not None:
        if not isinstance(mask, (list, tuple)):
            raise ValueError(f"{name} layer mask must be a list, namely [query_mask, value_mask]. Received: "
                             f"mask={mask}.")
        if len(mask) < 2 or len(mask) > 3:
            raise ValueError(f"{name} layer accepts mask list of length 2 or 3. Received: mask of length "
                             f"{len(mask)}.")


def _broadcast(*tensors) -> bool:
    """Whether the tensors' leading (batch) axes, all but the last two, broadcast (Keras's ``matmul``)."""
    try:
        torch.broadcast_shapes(*(t.shape[:-2] for t in tensors))
    except RuntimeError:
        return False
    return True


def _as_mask(m, device) -> Optional[torch.Tensor]:
    """A mask as Keras's ``logical_not`` / ``where`` read it: non-zero is True."""
    return None if m is None else torch.as_tensor(m, device=device).bool()


class Attention(SeedGenerator, nn.Module):
    """Keras's ``Attention(use_scale=False, score_mode="dot", dropout=0.0, seed=None)`` (Luong-style attention), as
    Keras 3.15.1 computes it on TensorFlow.

    ``forward(inputs, mask=None, training=None, return_attention_scores=False, use_causal_mask=False)``: Keras's
    call, ``inputs = [query, value]`` or ``[query, value, key]`` (``(B, Tq, dim)``, ``(B, Tv, dim)``; any leading
    axes that broadcast, as Keras's ``matmul``), ``mask = [query_mask, value_mask]`` (``(B, Tq)``, ``(B, Tv)``; a
    third entry is ignored, as Keras's). Without ``mask`` the masks the inputs carry
    (:func:`torch_impl.utils.set_keras_mask`: ``Embedding(mask_zero=True)``'s, a :class:`torch_impl.nn.Masking`
    output) are used, as Keras's ``__call__`` fills ``mask`` from the inputs' ``_keras_mask``; the output carries
    the query's mask (Keras's ``compute_mask``). Keras's details:

    * the scores: ``"dot"``: ``query @ key^T``, times the scalar ``scale`` (``use_scale=True``, a weight
      initialised to 1); ``"concat"``: ``concat_score_weight * sum(tanh(scale * (query_i + key_j)), -1)`` (a scalar
      weight initialised to 1, always there; ``scale`` inside the ``tanh`` when ``use_scale``);
    * masked scores (``value_mask`` False, and above the diagonal with ``use_causal_mask``) become
      ``score - 1e9`` (``- 65504`` in float16), not ``-inf``: a row with nothing to attend is the softmax of its
      shifted scores, not zeros (in float64 its unmasked softmax to ~1e-7, in float32, where the ulp of ``1e9``
      is 64, close to uniform);
    * the softmax over the value axis; in training (``training=None``: the module's mode; Keras's direct call
      defaults to ``False``, ``fit`` to ``True``) Keras's dropout on those weights (``rate = dropout``) from the
      layer's ``SeedGenerator``, the stream of :class:`torch_impl.nn.Dropout` (one draw per training call;
      ``seed=None`` draws the seed from Python's ``random``, which :func:`torch_impl.nn.keras_init_` ``(seed=...)``
      replays); ``return_attention_scores=True`` returns those weights *after* the dropout, as Keras's;
    * the output ``weights @ value``, zero where ``query_mask`` is False (``where``: no gradient there);
    * float inputs are cast to the layer's dtype (Keras's autocast to its compute dtype): the weights' (``dtype``,
      default torch's default dtype; ``.double()`` moves them), or for a layer without weights ``dtype`` if given,
      else the query's.

    Weights (``keras_init_``, ``load_keras_weights``, ``keras_weights``): Keras's order, ``scale`` then
    ``concat_score_weight``, both shape ``()`` (a layer with neither has none).

    Example:
        >>> import torch
        >>> from torch_impl.utils import set_keras_mask
        >>> layer = Attention(use_scale=True)                  # keras.layers.Attention(use_scale=True)
        >>> query, value = torch.ones(2, 3, 4), torch.arange(40.0).reshape(2, 5, 4) / 40
        >>> _ = set_keras_mask(value, torch.tensor([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1]]))  # Embedding(mask_zero=True)
        >>> out, scores = layer([query, value], return_attention_scores=True)
        >>> out.shape, scores.shape, [round(s, 4) for s in scores[0, 0].tolist()]
        (torch.Size([2, 3, 4]), torch.Size([2, 3, 5]), [0.4013, 0.5987, 0.0, 0.0, 0.0])
    """

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0,
                 seed: Optional[int] = None, dtype: Optional[torch.dtype] = None, device=None):
        super().__init__()
        self.use_scale, self.score_mode, self.dropout, self.seed = bool(use_scale), score_mode, dropout, seed
        self._init_seed(seed, draws=dropout > 0)  # Keras makes its SeedGenerator for dropout > 0 only, first
        if score_mode not in ("dot", "concat"):
            raise ValueError("Invalid value for argument score_mode. Expected one of {'dot', 'concat'}. "
                             f"Received: score_mode={score_mode}")
        self.dtype = dtype  # None: the weights' (torch's default dtype), without weights the query's
        self._device = device
        self._make_weights()
        self.reset_parameters()

    def _make_weights(self) -> None:
        def weight(on: bool, shape: tuple):
            return nn.Parameter(torch.empty(shape, dtype=self.dtype or torch.get_default_dtype(),
                                            device=self._device)) if on else None

        self.scale = weight(self.use_scale, ())
        self.concat_score_weight = weight(self.score_mode == "concat", ())

    @torch.no_grad()
    def reset_parameters(self, generator: Optional[torch.Generator] = None) -> None:
        """Keras's initial values: ``scale`` and ``concat_score_weight`` ``"ones"``."""
        for p in (self.scale, self.concat_score_weight):
            if p is not None:
                p.fill_(1.0)

    def _keras_slots(self, name: str) -> list:
        """(description, tensor, layout) of the layer's weights in Keras's order (:func:`torch_impl.nn.
        load_keras_weights`)."""
        return [(f"{name}.{w}", getattr(self, w), "same") for w in ("scale", "concat_score_weight")
                if getattr(self, w) is not None]

    def _keras_replay(self, name: str, draw) -> dict:
        """:func:`torch_impl.nn.keras_init_`'s ``seed=`` replay: an unseeded layer with ``dropout > 0`` draws its
        generator's seed when made (``"ones"`` draws nothing)."""
        if self.seed is None and self.dropout > 0:
            self.state = (draw(), 0)
            self._initial_seed = self._seed_value
        return {}

    def extra_repr(self) -> str:
        return (f"use_scale={self.use_scale}, score_mode={self.score_mode!r}, dropout={self.dropout}, "
                f"seed={self.seed}")

    def _calculate_scores(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        if self.score_mode == "dot":
            scores = torch.matmul(query, key.transpose(-2, -1))
            return scores if self.scale is None else scores * self.scale
        summed = query.unsqueeze(-2) + key.unsqueeze(-3)  # (B, Tq, 1, dim) + (B, 1, Tv, dim)
        if self.scale is not None:
            summed = self.scale * summed
        return self.concat_score_weight * torch.tanh(summed).sum(-1)

    def forward(self, inputs, mask=None, training: Optional[bool] = None, return_attention_scores: bool = False,
                use_causal_mask: bool = False):
        name = type(self).__name__
        _check_attention_inputs(name, inputs, mask)
        if mask is None:  # Keras's __call__: the masks the inputs carry
            carried = [getattr(x, "_keras_mask", None) for x in inputs]
            mask = carried if any(m is not None for m in carried) else None
        training = self.training if training is None else bool(training)

        weight = self.scale if self.scale is not None else self.concat_score_weight
        dtype = self.dtype if weight is None else weight.dtype  # the weights' (after a .double(), say)
        if dtype is None:  # no weights, no dtype given: the query's (a weightless module has no dtype to follow)
            first = torch.as_tensor(inputs[0])
            dtype = first.dtype if first.is_floating_point() else torch.get_default_dtype()

        def cast(x):
            x = torch.as_tensor(x)
            return x.to(dtype) if x.is_floating_point() else x  # Keras's autocast: floats only

        q, v = cast(inputs[0]), cast(inputs[1])
        k = cast(inputs[2]) if len(inputs) > 2 else v
        if k.dim() < 2 or v.dim() < 2 or q.dim() < 1:  # Keras's swapaxes / expand_dims of the key fail so
            axis, rank = (-2, k.dim()) if self.score_mode == "dot" and name == "Attention" else (-3, k.dim() + 1)
            raise ValueError(f"axis {axis} is out of bounds for an array with dimension {rank}. ({name}: the key "
                             f"and the value must be (batch..., Tv, dim); got shapes {tuple(k.shape)} and "
                             f"{tuple(v.shape)})")
        if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2] or not _broadcast(q, k, v):
            raise ValueError(f"{name}: incompatible shapes (Keras's scores or output fail: TensorFlow's "
                             f"InvalidArgumentError): the query's and the key's last axes must be equal, the key's "
                             f"and the value's steps too, and the leading axes must broadcast. Received: query "
                             f"shape {tuple(q.shape)}, value shape {tuple(v.shape)}, key shape {tuple(k.shape)}")
        device = q.device
        q_mask = _as_mask(mask[0], device) if mask else None
        v_mask = _as_mask(mask[1], device) if mask else None
        scores = self._calculate_scores(q, k)
        scores_mask = v_mask
        if use_causal_mask:  # Keras's (1, Tq, Tv) lower-triangular mask, and-ed with the value mask (B, 1, Tv)
            causal = torch.ones(scores.shape[-2], scores.shape[-1], dtype=torch.bool, device=device).tril()[None]
            scores_mask = causal if v_mask is None else v_mask.unsqueeze(-2) & causal
        if scores_mask is not None:
            padding = ~scores_mask
            if padding.dim() == 2:
                padding = padding.unsqueeze(-2)
            big = torch.tensor(65504.0 if scores.dtype == torch.float16 else 1.0e9, dtype=scores.dtype,
                               device=device)
            scores = torch.where(padding, scores - big, scores)
        weights = torch.softmax(scores, dim=-1)
        if training and self.dropout > 0:
            if self.dropout == 1:
                weights = torch.zeros_like(weights)  # tf.zeros_like: no draw, no gradient
            else:
                seed = self._next_seed()  # Keras's dropout draws the seed, then TensorFlow checks the rate
                if self.dropout > 1:
                    raise ValueError(f"rate must be a scalar tensor or a float in the range [0, 1), got "
                                     f"{self.dropout:g}")
                weights = apply_dropout(weights, stateless_uniform(tuple(weights.shape), seed, weights.dtype, device),
                                        self.dropout)
        out = torch.matmul(weights, v)
        if q_mask is not None:
            out = torch.where(q_mask.unsqueeze(-1), out, torch.zeros((), dtype=out.dtype, device=device))
        set_keras_mask(out, q_mask)  # Keras's compute_mask: the query's mask
        return (out, weights) if return_attention_scores else out


class AdditiveAttention(Attention):
    """Keras's ``AdditiveAttention(use_scale=True, dropout=0.0)`` (Bahdanau-style attention; Keras takes ``seed``
    through its ``**kwargs``): :class:`Attention` with the scores ``sum(scale * tanh(query_i + key_j), -1)``,
    ``scale`` a ``(dim,)`` weight (``use_scale=True``, Keras's default) initialised ``glorot_uniform`` (a rank-1
    shape: ``U(-sqrt(3 / dim), sqrt(3 / dim))``); without it the plain sum. torch needs ``dim`` (the query's last
    axis, from which Keras's ``build`` makes ``scale``) up front when ``use_scale``. The masks, the ``-1e9`` on
    masked scores, the dropout on the weights, the query-mask zeroing and the carried mask are :class:`Attention`'s.
    ``keras_init_(seed=...)`` replays Keras's draws: the unseeded dropout generator's (when made), then
    ``scale``'s initializer's (when built).

    Example:
        >>> import torch
        >>> layer = AdditiveAttention(4)                 # keras.layers.AdditiveAttention(), queries of width 4
        >>> layer.scale.shape, bool(layer.scale.abs().max() <= (3 / 4) ** 0.5)
        (torch.Size([4]), True)
        >>> layer([torch.ones(2, 3, 4), torch.ones(2, 5, 4)]).shape
        torch.Size([2, 3, 4])
    """

    def __init__(self, dim: Optional[int] = None, use_scale: bool = True, dropout: float = 0.0,
                 seed: Optional[int] = None, dtype: Optional[torch.dtype] = None, device=None):
        if use_scale and dim is None:
            raise ValueError("AdditiveAttention(use_scale=True) needs `dim`, the query's last axis (Keras's build "
                             "makes the (dim,) `scale` from the query's shape)")
        if dim is not None:
            _positive_int("dim", dim)
        self.dim = dim
        super().__init__(use_scale=use_scale, dropout=dropout, seed=seed, dtype=dtype, device=device)

    def _make_weights(self) -> None:
        self.scale = nn.Parameter(torch.empty(self.dim, dtype=self.dtype or torch.get_default_dtype(),
                                              device=self._device)) if self.use_scale else None
        self.concat_score_weight = None

    @torch.no_grad()
    def reset_parameters(self, generator: Optional[torch.Generator] = None) -> None:
        """Keras's ``glorot_uniform`` ``scale`` (fans ``dim`` and ``dim``) from ``generator``."""
        if self.scale is not None:
            limit = math.sqrt(6.0 / (2 * self.dim))
            self.scale.copy_(torch.empty(self.scale.shape, dtype=self.scale.dtype).uniform_(
                -limit, limit, generator=generator))

    def _keras_replay(self, name: str, draw) -> dict:
        from torch_impl import initializers

        super()._keras_replay(name, draw)  # the dropout generator, made in __init__
        return {f"{name}.scale": initializers.GlorotUniform(seed=draw())} if self.scale is not None else {}

    def extra_repr(self) -> str:
        return f"dim={self.dim}, use_scale={self.use_scale}, dropout={self.dropout}, seed={self.seed}"

    def _calculate_scores(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        if self.scale is not None and query.shape[-1] != self.dim:
            raise ValueError(f"AdditiveAttention(dim={self.dim}) called on queries of width {query.shape[-1]} "
                             "(Keras builds its (dim,) `scale` from the query's last axis)")
        summed = torch.tanh(query.unsqueeze(-2) + key.unsqueeze(-3))
        return (summed if self.scale is None else self.scale * summed).sum(-1)

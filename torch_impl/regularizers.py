"""Keras's weight and activity regularizers for torch modules, added to the loss as ``keras.Model.fit`` adds
them.

A Keras layer made with ``kernel_regularizer=L2(1e-4)`` (or ``bias_regularizer``, ``activity_regularizer``)
trains on ``loss + penalty``, and the ``loss`` it logs includes the penalty (so does ``val_loss``). A port
that drops the penalty, or moves it into torch's ``weight_decay`` (Adam's is another update: the penalty's
gradient goes through the moment estimates differently, and is not in the loss), trains and logs other
numbers. Here:

* :class:`L1`, :class:`L2`, :class:`L1L2`, :class:`OrthogonalRegularizer` compute Keras's penalties
  (``l2 * sum(square(w))`` with the factor cast to ``w``'s dtype; the sum in TensorFlow's order on the CPU;
  gradients as TensorFlow's);
* :func:`regularize` attaches them to a module as Keras's layer arguments do: the kernel (``weight``, taken in
  Keras's layout: a ``Linear`` weight transposed, a conv weight as ``(*k, in, out)``, which matters for
  :class:`OrthogonalRegularizer`), the bias, and the module's output (``activity_regularizer``: the penalty of
  each forward's output divided by its batch size, as Keras 3 does); on a torch RNN (``nn.LSTM``/``GRU``/``RNN``)
  Keras's ``kernel_regularizer``, ``recurrent_regularizer`` and ``bias_regularizer`` of every layer and direction,
  and an ``LSTM``'s/``GRU``'s ``activity_regularizer`` (with its ``return_sequences``/``return_state``);
* :func:`add_loss` is Keras's ``self.add_loss(value)`` for a module's ``forward`` (the VAE's KL term, a
  ``CTCLayer``'s costs): the value joins the module's losses, each summed (``ops.sum``) when added to the loss;
* :func:`add_regularization` adds a model's penalties to a loss in Keras's order (the compiled loss, each
  module's added and activity losses in call order, module by module in Keras's layer order, then the weight
  penalties in parameter order, summed as one ``ops.sum``); :func:`torch_impl.fit.fit` and ``evaluate`` do it
  for you.

Example:
    >>> import torch
    >>> from torch_impl import regularizers
    >>> _ = torch.manual_seed(0)
    >>> layer = regularizers.regularize(torch.nn.Linear(3, 2), kernel_regularizer=regularizers.L2(0.01))
    >>> out = layer(torch.ones(4, 3))
    >>> loss = out.square().mean()
    >>> total = regularizers.add_regularization(layer, loss)
    >>> bool(torch.isclose(total - loss, 0.01 * layer.weight.square().sum()))
    True
"""

from __future__ import annotations

import collections
import math
import warnings
from typing import Optional

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from torch_impl import _ops
from torch_impl._layer_args import attach_layer, keras_get
from torch_impl._ops import tf_sum

__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "get", "regularize", "add_loss",
           "add_regularization", "regularization_losses", "clear_activity_losses", "Penalties"]


def _sum(x: torch.Tensor) -> torch.Tensor:
    """``ops.sum`` of all of ``x``: the value in TensorFlow's summation order, the gradient of a sum."""
    plain = x.sum()
    exact = tf_sum(x.detach())
    return exact + (plain - plain.detach()) if x.requires_grad else exact


def _check_factor(value, name: str) -> float:
    """Keras's ``validate_float_arg``: a finite, non-negative number."""
    if isinstance(value, bool) or not isinstance(value, (float, int)) or math.isinf(value) or math.isnan(value) \
            or value < 0:
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float.Received: "
                         f"{name}={value}")
    return float(value)


class Regularizer:
    """Keras's ``Regularizer``: ``reg(x)`` is the penalty of tensor ``x`` (0 here)."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros((), dtype=x.dtype, device=x.device)

    def get_config(self) -> dict:
        raise NotImplementedError(f"{self} does not implement get_config()")

    @classmethod
    def from_config(cls, config: dict) -> "Regularizer":
        return cls(**config)

    def __repr__(self) -> str:
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            args = ""
        return f"{type(self).__name__}({args})"


def _cast(factor: float, x: torch.Tensor) -> torch.Tensor:
    """Keras's ``ops.cast(factor, x.dtype)``: the Python float becomes a float32 tensor first, so a float64
    model's penalty carries the factor rounded to float32 (``L2(0.003)`` weighs ``0.0030000000260770321``)."""
    return _ops.tf_cast(factor, x.dtype, x.device)


class L1L2(Regularizer):
    """``l1 * sum(abs(x)) + l2 * sum(square(x))`` (a zero factor's term left out, as Keras does).

    Example:
        >>> float(L1L2(l1=0.5, l2=0.25)(torch.tensor([1.0, -2.0])))
        2.75
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = _check_factor(0.0 if l1 is None else l1, "l1")
        self.l2 = _check_factor(0.0 if l2 is None else l2, "l2")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.zeros((), dtype=x.dtype, device=x.device)
        if self.l1 != 0.0:
            out = out + _cast(self.l1, x) * _sum(x.abs())
        if self.l2 != 0.0:
            out = out + _cast(self.l2, x) * _sum(x.square())
        return out

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """``l1 * sum(abs(x))`` (Keras's default ``l1=0.01``)."""

    def __init__(self, l1: float = 0.01):
        self.l1 = _check_factor(0.01 if l1 is None else l1, "l1")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return _cast(self.l1, x) * _sum(x.abs())

    def get_config(self) -> dict:
        return {"l1": float(torch.tensor(self.l1, dtype=torch.float32))}


class L2(Regularizer):
    """``l2 * sum(square(x))`` (Keras's default ``l2=0.01``). Not torch's ``weight_decay``: the penalty is in the
    loss, and its gradient ``2 * l2 * w`` goes through the optimizer like any other.

    Example:
        >>> float(L2(0.5)(torch.tensor([1.0, -2.0])))
        2.5
    """

    def __init__(self, l2: float = 0.01):
        self.l2 = _check_factor(0.01 if l2 is None else l2, "l2")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return _cast(self.l2, x) * _sum(x.square())

    def get_config(self) -> dict:
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Keras's ``OrthogonalRegularizer``: ``factor * 0.5 * mean |<u_i, u_j>|`` over the pairs of L2-normalised
    rows (``mode="rows"``) or columns of a rank-2 kernel in Keras's ``(in, out)`` layout. Computed for float64
    kernels too, where Keras 3.15.1 fails (float32 factor times float64 sum)."""

    def __init__(self, factor: float = 0.01, mode: str = "rows"):
        _check_factor(factor, "factor")
        self.factor = float(torch.tensor(factor, dtype=torch.float32))
        if mode not in {"rows", "columns"}:
            raise ValueError(f'Invalid value for argument `mode`. Expected one of {{"rows", "columns"}}. '
                             f"Received: mode={mode}")
        self.mode = mode

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        # (Keras 3.15.1 fails on a float64 kernel: its float32 factor tensor times the float64 sum)
        if x.dim() != 2:
            raise ValueError(f"Inputs to OrthogonalRegularizer must have rank 2. Received: inputs.shape={tuple(x.shape)}")
        axis = 1 if self.mode == "rows" else 0
        inv_norm = _ops.tf_rsqrt(x.square().sum(axis, keepdim=True)).clamp(max=1.0 / 1e-7)
        u = x * inv_norm
        product = u @ u.T if self.mode == "rows" else u.T @ u
        size = product.shape[0]
        off_diagonal = product * (1.0 - torch.eye(size, dtype=x.dtype, device=x.device))
        num_pairs = size * (size - 1.0) / 2.0
        return _cast(self.factor, x) * 0.5 * _sum(off_diagonal.abs()) / num_pairs

    def get_config(self) -> dict:
        return {"factor": self.factor, "mode": self.mode}


_BY_NAME = {"Regularizer": Regularizer, "L1": L1, "L2": L2, "L1L2": L1L2, "OrthogonalRegularizer": OrthogonalRegularizer,
            "regularizer": Regularizer, "l1": L1, "l2": L2, "l1l2": L1L2,  # Keras's snake case of "L1L2"
            "orthogonal_regularizer": OrthogonalRegularizer}


def get(identifier) -> Optional[Regularizer]:
    """A regularizer from what a Keras layer argument takes: a name (``"l2"``, ``"L1L2"``, ``"l1l2"``), a dict
    ``{"class_name": "L2", "config": {"l2": 0.001}}``, a class, an instance or a callable; ``None``.

    Example:
        >>> get("l2").l2, get({"class_name": "L1L2", "config": {"l1": 0.1}}).l1
        (0.01, 0.1)
    """
    return keras_get(identifier, _BY_NAME, "regularizer")


def _activity_loss(reg: Regularizer, output: torch.Tensor) -> torch.Tensor:
    """Keras 3's activity penalty of one output tensor: ``reg(output)`` divided by its batch size (its first
    dimension; ``divide_no_nan``), a 0-d output's undivided (``layer.py`` ``Layer.__call__``)."""
    loss = reg(output)
    if output.dim() > 0:
        batch = torch.tensor(output.shape[0], dtype=loss.dtype, device=loss.device)
        loss = loss / batch if output.shape[0] else torch.zeros_like(loss)
    return loss


def _activity_hook(module: nn.Module, inputs, output) -> None:
    if not isinstance(output, torch.Tensor):
        raise ValueError(f"activity_regularizer on {type(module).__name__}, whose forward returns a "
                         f"{type(output).__name__}, not a tensor: regularize a module that returns the tensor the "
                         "Keras layer outputs")
    module._keras_activity_losses.append(_activity_loss(module._keras_activity_regularizer, output))


def _rnn_activity_outputs(module: nn.RNNBase, output) -> list[torch.Tensor]:
    """The tensors Keras's ``LSTM``/``GRU`` (``Bidirectional``: its backward layer, then its forward one, the order
    of ``model.losses``) hands to its activity regularizer, from what the torch RNN returned: each layer's
    outputs, batch first (``Layer.__call__`` regularizes every tensor of ``tree.flatten(outputs)``): the sequence
    (``return_sequences``; the backward layer's in its own, reversed, step order) or the last output (the final
    ``h``), then with ``return_state`` the final states (``h``, then ``c`` for an LSTM)."""
    seq, state = output
    states = list(state) if isinstance(state, (tuple, list)) else [state]
    return_sequences, return_state = module._keras_activity_returns
    if isinstance(seq, PackedSequence):
        if return_sequences:
            raise ValueError(f"activity_regularizer with return_sequences=True on {type(module).__name__} called on "
                             "a PackedSequence: Keras's masked sequence output spans the padded length (repeating "
                             "the last valid output), which a PackedSequence does not carry; call it on the padded "
                             "batch, or regularize a module that returns Keras's output")
    elif seq.dim() == 2:  # an unbatched (steps, features) input: a batch of one
        seq, states = seq.unsqueeze(0), [h.unsqueeze(1) for h in states]
    elif not module.batch_first:
        seq = seq.transpose(0, 1)
    units = module.hidden_size
    out = []
    for d in ((1, 0) if module.bidirectional else (0,)):
        final = [h[h.shape[0] - (2 if module.bidirectional else 1) + d] for h in states]  # last layer, direction d
        if return_sequences:
            y = seq[..., d * units:(d + 1) * units]
            out.append(y.flip(1) if d else y.contiguous())
        else:
            out.append(final[0])
        if return_state:
            out.extend(final)
    return out


def _rnn_activity_hook(module: nn.RNNBase, inputs, output) -> None:
    module._keras_activity_losses.extend(_activity_loss(module._keras_activity_regularizer, y)
                                         for y in _rnn_activity_outputs(module, output))


def _check_rnn_activity(module: nn.RNNBase) -> None:
    if getattr(module, "proj_size", 0):
        raise ValueError(f"{type(module).__name__} with proj_size has no Keras counterpart (Keras's LSTM has no "
                         "projection)")
    if module.num_layers > 1:
        raise ValueError(f"activity_regularizer on {type(module).__name__}(num_layers={module.num_layers}): Keras's "
                         "stack of layers regularizes each layer's output, and torch's module returns only the last "
                         "layer's; make one module per layer (num_layers=1) and regularize those you gave the "
                         "argument in Keras")


def regularize(module: nn.Module, kernel_regularizer=None, bias_regularizer=None,
               activity_regularizer=None, recurrent_regularizer=None, *, return_sequences: bool = False,
               return_state: bool = False) -> nn.Module:
    """Gives ``module`` Keras's ``kernel_regularizer``, ``bias_regularizer``, ``activity_regularizer`` and (for
    a recurrent module) ``recurrent_regularizer`` (anything :func:`get` takes); returns the module.

    The kernel is ``module.weight`` (read in Keras's layout), the bias ``module.bias``; the activity penalty is
    taken on each forward's output. For the output layer of a model that returns logits, Keras's output (and so
    its activity penalty) is the activated one: attach an activity regularizer there to a module that returns
    the activated output.

    A torch RNN (``nn.LSTM``, ``nn.GRU``, ``nn.RNN``: Keras's ``LSTM``, ``GRU``, ``SimpleRNN``; and
    :mod:`torch_impl.rnn`'s) gets them on every layer and direction, as Keras's stack of layers (or its
    ``Bidirectional``, which copies them) has: the kernel is ``weight_ih_l{k}[_reverse]``, the recurrent kernel
    ``weight_hh_l{k}[_reverse]`` (both read in Keras's layout, GRU gates in Keras's order), the bias Keras's one
    ``bias_ih + bias_hh`` (``bias_hh`` 0 after :func:`torch_impl.nn.load_keras_weights`; a GRU's
    ``reset_after=True`` bias is Keras's ``(2, 3 units)`` variable: ``bias_ih`` over ``bias_hh``).

    ``activity_regularizer`` on a torch ``nn.LSTM``/``nn.GRU`` (one layer; ``bidirectional``: Keras's
    ``Bidirectional``, whose two layers each add theirs, the backward one's first) penalizes what Keras's layer
    outputs, as its ``return_sequences`` and ``return_state`` (Keras's defaults: ``False``; pass the Keras layer's)
    say: the sequence, else the last output, and with ``return_state`` each final state too (``h``, ``c``), each
    divided by the batch size, taken from the module's ``(output, h_n)`` (``batch_first`` or not; a
    ``PackedSequence`` input: Keras's masked call, without ``return_sequences``). Keras 3.15.1's ``SimpleRNN``
    drops its ``activity_regularizer`` (``simple_rnn.py``: not passed on to ``RNN``): on an ``nn.RNN`` it warns
    and adds nothing, as Keras; a stacked module (``num_layers > 1``) raises.

    Example:
        >>> layer = regularize(torch.nn.Linear(4, 2), kernel_regularizer="l2", bias_regularizer=L1(0.1))
        >>> layer.weight._keras_regularizer, layer.bias._keras_regularizer
        (L2(l2=0.01), L1(l1=0.10000000149011612))
        >>> lstm = regularize(torch.nn.LSTM(3, 4), kernel_regularizer="l2", recurrent_regularizer=L1(0.1))
        >>> lstm.weight_ih_l0._keras_regularizer, lstm.weight_hh_l0._keras_regularizer
        (L2(l2=0.01), L1(l1=0.10000000149011612))
        >>> gru = regularize(torch.nn.GRU(3, 4, batch_first=True), activity_regularizer="l2",  # keras GRU(4,
        ...                  return_state=True)                 # activity_regularizer="l2", return_state=True)
        >>> _ = gru(torch.ones(2, 5, 3))
        >>> len(regularization_losses(gru))  # the last output's penalty and the final state's
        2
    """
    attach_layer(module, "_keras_regularizer", "regularizer", get(kernel_regularizer), get(bias_regularizer),
                 get(recurrent_regularizer))
    reg = get(activity_regularizer)
    rnn = isinstance(module, nn.RNNBase)
    if (return_sequences or return_state) and not (rnn and reg is not None):
        raise ValueError("return_sequences and return_state say which outputs of an nn.LSTM/nn.GRU its "
                         "activity_regularizer penalizes; give them with one")
    if reg is not None and rnn and not isinstance(module, (nn.LSTM, nn.GRU)):
        warnings.warn(f"activity_regularizer on {type(module).__name__}: Keras 3.15.1's SimpleRNN drops its "
                      "activity_regularizer (simple_rnn.py: not passed on to RNN), so no penalty is added, as "
                      "Keras; to penalize the output anyway, regularize a module that returns it", stacklevel=2)
    elif reg is not None:
        if rnn:
            _check_rnn_activity(module)
            module._keras_activity_returns = (bool(return_sequences), bool(return_state))
        if getattr(module, "_keras_activity_handle", None) is not None:
            module._keras_activity_handle.remove()
        module._keras_activity_regularizer = reg
        if not hasattr(module, "_keras_activity_losses"):
            module._keras_activity_losses = []
            _new_loss_module()
        module._keras_activity_handle = module.register_forward_hook(_rnn_activity_hook if rnn else _activity_hook)
    return module


#: bumped when a module first gets its list of losses (``add_loss``, ``regularize``): a :class:`Penalties` made
#: before looks for its model's modules with losses again (once per new module, not per batch)
_loss_lists = [0]


def _new_loss_module() -> None:
    _loss_lists[0] += 1


def _flatten(value) -> list:
    """``tree.flatten``: a tensor, or the leaves of lists, tuples and dicts (a dict's in the order of its keys)."""
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _flatten(v)]
    if isinstance(value, dict):
        return [x for k in sorted(value) for x in _flatten(value[k])]
    return [value]


def add_loss(module: nn.Module, value) -> None:
    """Keras's ``self.add_loss(value)``, called in ``module``'s ``forward`` (the VAE's KL term, a ``CTCLayer``'s
    costs): ``value`` (a tensor; a list, tuple or dict of them adds each) joins ``module``'s losses, which ``fit``
    and ``evaluate`` add to each batch's loss as Keras's ``compute_loss`` does: each added tensor summed over all its
    elements (``ops.sum``: an ``(N, 1)`` tensor of per-sample costs counts their sum, not their mean; an integer or
    boolean one cast to floatx first), then one sum with the compiled loss and the regularization penalties
    (:meth:`Penalties.add`). A value that is not a tensor raises Keras's ``ValueError``.

    :func:`regularization_losses` lists them as Keras's ``model.losses`` does: each module's added losses (and
    activity penalties) in call order, so a module called twice in a forward gives both calls', module by module
    in Keras's layer order (the model, then its modules depth first, each module's own modules in reverse
    registration order, as ``Layer._flatten_layers`` walks them; a ``ModuleList``'s or ``ModuleDict``'s modules
    count as its owner's), then the weight penalties. ``module`` need not have added a loss before ``fit`` starts.

    Clearing: Keras clears a model's added losses at the start of each outermost call; torch has no call context,
    so ``fit``, ``evaluate`` and ``predict`` clear them before each batch, and reading them
    (:func:`regularization_losses`, :func:`add_regularization`) clears them. In your own loop read them after each
    forward, or call :func:`clear_activity_losses` before a forward whose losses you will read (a validation
    forward's are otherwise still there at the next read; a loop that never reads them must clear them: each
    holds its forward's graph). After ``fit`` they have been read (Keras's ``model.losses`` holds the last
    batch's).

    Example:
        >>> class Costs(torch.nn.Module):   # Keras: def call(self, costs): self.add_loss(costs); return costs
        ...     def forward(self, costs):
        ...         add_loss(self, costs)
        ...         return costs
        >>> model = Costs()
        >>> _ = model(torch.tensor([[1.0], [2.0], [3.0]]))
        >>> float(add_regularization(model, torch.tensor(0.5)))  # 0.5 + (1 + 2 + 3): summed, as Keras 3
        6.5
    """
    values = _flatten(value)
    for x in values:
        if not isinstance(x, torch.Tensor):
            raise ValueError("`add_loss()` can only be called from inside `build()` or `call()`, on a tensor input. "
                             f"Received invalid value: {x}")
    own = getattr(module, "_keras_activity_losses", None)
    if own is None:
        own = module._keras_activity_losses = []
        _new_loss_module()
    own.extend(values)


def _sublayers(module: nn.Module) -> list[nn.Module]:
    """The modules Keras tracks as ``module``'s layers: its children, a ``ModuleList``'s or ``ModuleDict``'s in its
    place (Keras tracks a list or dict of layers as the layers themselves)."""
    out = []
    for child in module.children():
        out.extend(_sublayers(child) if type(child) in (nn.ModuleList, nn.ModuleDict) else [child])
    return out


def _keras_layers(model: nn.Module) -> list[nn.Module]:
    """``model._flatten_layers()`` (``layer.py``): the model, then its layers depth first, each layer's own layers
    put back in front of the queue with ``deque.extendleft`` (so in reverse order), each once."""
    layers, seen = [model], {id(model)}
    queue = collections.deque(_sublayers(model))
    while queue:
        layer = queue.popleft()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        layers.append(layer)
        queue.extendleft(_sublayers(layer))
    return layers


def _aggregate(loss: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Keras's ``_aggregate_additional_loss``: a non-float loss cast to floatx, ``ops.sum`` of all of it; then
    ``dtype`` (the compiled loss's)."""
    if not loss.is_floating_point():
        loss = loss.to(torch.get_default_dtype())
    return (loss if loss.dim() == 0 else _sum(loss)).to(dtype)


class Penalties:
    """What Keras's ``compute_loss`` adds to ``model``'s loss, found once: the modules with added losses
    (:func:`add_loss`) or an activity regularizer and the parameters with a weight regularizer (``fit`` and
    ``evaluate`` make one per run, so no batch walks the model; a module's first :func:`add_loss` after that makes
    it look once more).

    Example:
        >>> net = regularize(torch.nn.Linear(2, 1), bias_regularizer=L2(1.0))
        >>> with torch.no_grad():
        ...     _ = net.bias.fill_(3.0)
        >>> penalties = Penalties(net)
        >>> bool(penalties), float(penalties.add(torch.tensor(0.5)))
        (True, 9.5)
    """

    def __init__(self, model: nn.Module):
        self._layers = _keras_layers(model)
        self._found = _loss_lists[0]
        self._activity = [m for m in self._layers if hasattr(m, "_keras_activity_losses")]
        self._weights = [p for p in model.parameters() if getattr(p, "_keras_regularizer", None) is not None]

    def _modules_with_losses(self) -> list[nn.Module]:
        if self._found != _loss_lists[0]:  # a module got its first loss since: look again (not once per batch)
            self._found = _loss_lists[0]
            self._activity = [m for m in self._layers if hasattr(m, "_keras_activity_losses")]
        return self._activity

    def __bool__(self) -> bool:
        return bool(self._modules_with_losses() or self._weights)

    def clear(self) -> None:
        """Drops the added losses and activity penalties recorded so far (Keras clears them at each call of the
        model)."""
        for m in self._modules_with_losses():
            m._keras_activity_losses.clear()

    def losses(self) -> list[torch.Tensor]:
        """``model.losses`` in Keras's order: the losses added (:func:`add_loss`) and activity penalties of the
        forwards since the last clear, each module's in call order, module by module in Keras's layer order (see
        :func:`add_loss`), then each trainable parameter's weight penalty (in parameter order, Keras's layer
        order). Reading them clears the added losses and activity penalties."""
        out = []
        for m in self._modules_with_losses():
            out.extend(m._keras_activity_losses)
            m._keras_activity_losses.clear()
        out.extend(p._keras_regularizer(p._keras_layout(p)) for p in self._weights if p.requires_grad)
        return out

    def add(self, loss: Optional[torch.Tensor]) -> torch.Tensor:
        """Keras's ``compute_loss``: ``ops.sum([loss, *map(ops.sum, model.losses)])`` (``loss`` as is when there is
        no penalty), each added loss summed over all its elements (an integer one cast to floatx first), a term of
        another dtype cast to ``loss``'s. ``loss`` ``None`` (no compiled loss): the added losses alone (one as it
        is, several summed, in the first's dtype), and Keras's error where there are none."""
        terms = self.losses()
        if loss is None:
            if not terms:
                raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`. (torch_impl: give "
                                 "fit/evaluate a `loss`, or add one in the model's forward with "
                                 "`torch_impl.regularizers.add_loss`.)")
            dtype = terms[0].dtype if terms[0].is_floating_point() else torch.get_default_dtype()
            terms = [_aggregate(t, dtype) for t in terms]
            return terms[0] if len(terms) == 1 else _sum(torch.stack(terms))
        if not terms:
            return loss
        return _sum(torch.stack([loss] + [_aggregate(t, loss.dtype) for t in terms]))


def regularization_losses(model: nn.Module) -> list[torch.Tensor]:
    """:meth:`Penalties.losses` of ``model``."""
    return Penalties(model).losses()


def clear_activity_losses(model: nn.Module) -> None:
    """:meth:`Penalties.clear` of ``model``: drops its modules' added losses (:func:`add_loss`) and activity
    penalties, as Keras does at the start of each call of the model (call it before a forward in your own loop)."""
    Penalties(model).clear()


def add_regularization(model: nn.Module, loss: torch.Tensor) -> torch.Tensor:
    """Keras's ``compute_loss`` for your own loop (:meth:`Penalties.add`; keep a :class:`Penalties` when you
    call it every batch).

    Example:
        >>> net = regularize(torch.nn.Linear(2, 1), bias_regularizer=L2(1.0))
        >>> with torch.no_grad():
        ...     _ = net.bias.fill_(3.0)
        >>> float(add_regularization(net, torch.tensor(0.5)))
        9.5
    """
    return Penalties(model).add(loss)

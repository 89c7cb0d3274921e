"""The plumbing of Keras's layer arguments (regularizers, constraints), private.

``keras_get``, Keras's ``get(identifier)`` rule: a name looks up a class and makes it with its defaults; a dict ``{"class_name": ..., "config": {...}}`` (Keras's
serialized form) makes that class from the config; a class is made with its defaults; an instance or any
other callable is returned as is; ``None`` gives ``None``; anything else raises ``ValueError`` with Keras's
message ("Could not interpret <kind> identifier: ...").

``attach`` puts an argument on a module's kernel (``weight``) and bias parameters, with the kernel's view in
Keras's layout (``kernel_layout``) that Keras's regularizers and constraints see; ``attach_layer`` also on a torch
RNN's kernels, recurrent kernels and Keras's bias (``rnn_weights``).
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn


def keras_get(identifier, by_name: Mapping[str, type], kind: str) -> Any:
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        cls = by_name.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"Could not interpret {kind} identifier: {identifier}")
        return cls.from_config(identifier.get("config") or {})
    if isinstance(identifier, str):
        cls = by_name.get(identifier)
        if cls is None:
            raise ValueError(f"Could not interpret {kind} identifier: {identifier}")
        return cls()
    if isinstance(identifier, type):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret {kind} identifier: {identifier}")


_IDENTITY = (lambda w: w), (lambda k: k)


def kernel_layout(module: nn.Module) -> tuple:
    """``(to_keras, from_keras)``: how ``module.weight`` reads in Keras's kernel layout and back (a ``Linear``
    weight transposed, a conv weight ``(out, in, *k)`` as ``(*k, in, out)``, a transposed conv's ``(in, out, *k)``
    as ``(*k, out, in)``; any other as is)."""
    if isinstance(module, nn.Linear):
        return (lambda w: w.t()), (lambda k: k.t())
    # a transposed convolution's (in, out, *k) reads as Keras's (*k, out, in) with the same permutation
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
                           nn.ConvTranspose3d)):
        n = module.weight.dim()
        to = (*range(2, n), 1, 0)
        back = tuple(to.index(i) for i in range(n))
        return (lambda w: w.permute(*to)), (lambda k: k.permute(*back))
    return _IDENTITY


def attach(module: nn.Module, attribute: str, kind: str, kernel, bias) -> None:
    """Sets ``attribute`` to ``kernel`` on ``module.weight`` and to ``bias`` on ``module.bias`` (``None``: left
    alone), with ``_keras_layout`` / ``_keras_from_layout``: the parameter in Keras's layout and back."""
    for name, value in (("weight", kernel), ("bias", bias)):
        if value is None:
            continue
        param = getattr(module, name, None)
        if not isinstance(param, nn.Parameter):
            raise ValueError(f"{type(module).__name__} has no parameter `{name}` for its "
                             f"{'kernel' if name == 'weight' else 'bias'}_{kind}")
        setattr(param, attribute, value)
        param._keras_layout, param._keras_from_layout = kernel_layout(module) if name == "weight" else _IDENTITY


def _gru_swap(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Keras's GRU gate blocks ``[z, r, h]`` as torch's ``[r, z, n]`` along ``dim`` (the swap is its own
    inverse)."""
    a, b, c = t.chunk(3, dim)
    return torch.cat([b, a, c], dim)


def rnn_weights(module: nn.RNNBase) -> list:
    """``(role, parameter, to_keras, from_keras)`` for the Keras weights of each layer and direction of a torch
    RNN (``num_layers``: a stack of Keras layers; ``bidirectional``: Keras's ``Bidirectional``), in torch's
    parameter order (Keras's: kernel, recurrent kernel, bias; forward, then backward; layer by layer).

    * ``"kernel"``: ``weight_ih`` as Keras's ``(in, gates units)`` (transposed; a GRU's gates ``[r, z, n]`` as
      Keras's ``[z, r, h]``); ``"recurrent"``: ``weight_hh`` as ``(units, gates units)`` likewise;
    * ``"bias"``, on ``bias_ih``: Keras's one LSTM/SimpleRNN (and ``GRU(reset_after=False)``) bias is ``bias_ih
      + bias_hh`` (``bias_hh`` 0 after ``load_keras_weights``/``keras_init_``; written back into ``bias_ih``
      less ``bias_hh``); a GRU's (``reset_after=True``) is Keras's ``(2, 3 units)`` variable, ``bias_ih`` over
      ``bias_hh``, written back into both.
    """
    if getattr(module, "proj_size", 0):
        raise ValueError(f"{type(module).__name__} with proj_size has no Keras counterpart (Keras's LSTM has no "
                         "projection)")
    gru = isinstance(module, nn.GRU)
    gates = _gru_swap if gru else (lambda t, dim: t)
    two_biases = gru and getattr(module, "reset_after", True)
    out = []
    for layer in range(module.num_layers):
        for suffix in ("", "_reverse")[:2 if module.bidirectional else 1]:
            tag = f"l{layer}{suffix}"
            for role, name in (("kernel", "weight_ih"), ("recurrent", "weight_hh")):
                out.append((role, getattr(module, f"{name}_{tag}"), lambda w: gates(w, 0).t(),
                            lambda k: gates(k.t(), 0)))
            if not module.bias:
                continue
            hh = f"bias_hh_{tag}"
            if two_biases:
                def to_keras(w, hh=hh):
                    return torch.stack([gates(w, 0), gates(getattr(module, hh), 0)])

                def from_keras(k, hh=hh):  # under no_grad (apply_constraints): bias_hh set here
                    getattr(module, hh).copy_(gates(k[1], 0))
                    return gates(k[0], 0)
            else:
                def to_keras(w, hh=hh):
                    return gates(w + getattr(module, hh), 0)

                def from_keras(k, hh=hh):
                    return gates(k, 0) - getattr(module, hh)
            out.append(("bias", getattr(module, f"bias_ih_{tag}"), to_keras, from_keras))
    return out


def attach_layer(module: nn.Module, attribute: str, kind: str, kernel, bias, recurrent=None) -> None:
    """:func:`attach`, and for a torch RNN (``nn.LSTM``/``GRU``/``RNN`` and their subclasses) Keras's
    ``kernel_*``, ``recurrent_*`` and ``bias_*`` arguments on every layer and direction (:func:`rnn_weights`)."""
    if not isinstance(module, nn.RNNBase):
        if recurrent is not None:
            raise ValueError(f"{type(module).__name__} has no recurrent kernel for its recurrent_{kind} (an "
                             "nn.LSTM, nn.GRU or nn.RNN has)")
        attach(module, attribute, kind, kernel, bias)
        return
    values = {"kernel": kernel, "recurrent": recurrent, "bias": bias}
    if bias is not None and not module.bias:
        raise ValueError(f"{type(module).__name__} has no bias (bias=False) for its bias_{kind}")
    for role, param, to_keras, from_keras in rnn_weights(module):
        if values[role] is not None:
            setattr(param, attribute, values[role])
            param._keras_layout, param._keras_from_layout = to_keras, from_keras

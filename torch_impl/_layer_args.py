"""The plumbing of Keras's layer arguments (regularizers, constraints), private.

``keras_get``, Keras's ``get(identifier)`` rule: a name looks up a class and makes it with its defaults; a dict ``{"class_name": ..., "config": {...}}`` (Keras's
serialized form) makes that class from the config; a class is made with its defaults; an instance or any
other callable is returned as is; ``None`` gives ``None``; anything else raises ``ValueError`` with Keras's
message ("Could not interpret <kind> identifier: ...").

``attach`` puts an argument on a module's kernel (``weight``) and bias parameters, with the kernel's view in
Keras's layout (``kernel_layout``) that Keras's regularizers and constraints see.
"""

from __future__ import annotations

from typing import Any, Mapping

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

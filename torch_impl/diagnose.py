"""Training diagnostics for torch models (the training doctor's measurements).

Example:
    >>> import torch
    >>> from torch_impl import losses
    >>> from torch_impl.diagnose import layer_gradient_norms
    >>> from torch_impl.nn import build_model
    >>> m = build_model({"input_dim": 3, "layers": [{"type": "dense", "units": 4, "activation": "sigmoid"},
    ...                                             {"type": "dense", "units": 2, "activation": "softmax"}]})
    >>> [name for name, _ in layer_gradient_norms(m, torch.randn(8, 3), torch.randint(0, 2, (8,)),
    ...                                             losses.SparseCategoricalCrossentropy())]
    ['0', '2']
"""

from __future__ import annotations

import copy
from typing import Optional

import numpy as np
import torch

__all__ = ["layer_gradient_norms"]


def layer_gradient_norms(model: torch.nn.Module, x, y, loss, sample_weight=None,
                         output_activation: Optional[str] = None) -> list[tuple[str, float]]:
    """L2 norm of d(loss)/d(kernel) for every Linear layer, on the whole batch, in training mode.

    The loss is the compiled one Keras would use (softmax/sigmoid outputs on
    their logits). The model's state (BatchNormalization statistics) is
    restored afterwards.
    """
    from torch_impl.fit import compiled_loss

    p = next(model.parameters())
    xt = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x, dtype=p.dtype, device=p.device)
    yt = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y, device=p.device)
    if yt.is_floating_point():
        yt = yt.to(p.dtype)
    sw = None if sample_weight is None else torch.as_tensor(np.asarray(sample_weight), dtype=p.dtype, device=p.device)
    act = output_activation if output_activation is not None else getattr(model, "output_activation", None)
    state = copy.deepcopy(model.state_dict())
    was_training = model.training
    model.train()
    linears = [(name, m) for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    try:
        value = compiled_loss(loss, act)(yt, model(xt), sw)
        grads = torch.autograd.grad(value, [m.weight for _, m in linears])
    finally:
        model.load_state_dict(state)
        model.train(was_training)
    return [(name, float(g.norm())) for (name, _), g in zip(linears, grads)]

"""NumPy in, NumPy out: evaluate a torch_impl loss and its gradient w.r.t. ``y_pred``.

The PyTorch side of the loss-parity grid; ``keras_impl.harness`` is its mirror.

Example:
    >>> import numpy as np
    >>> from torch_impl.harness import loss_value_and_grad
    >>> r = loss_value_and_grad("categorical_crossentropy", {"from_logits": True},
    ...                         np.eye(3), np.zeros((3, 3)), dtype="float64")
    >>> round(float(r["value"]), 6), r["grad"].shape
    (1.098612, (3, 3))
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch

from torch_impl import losses

__all__ = ["loss_value_and_grad"]

_FN_KEYS = {"reduction", "name", "dtype"}


def _make(name: str, config: dict) -> losses.Loss:
    if name == "focal_loss":
        fn_kwargs = {k: config[k] for k in ("gamma", "alpha") if k in config}
        rest = {k: v for k, v in config.items() if k not in fn_kwargs}
        return losses.LossFunctionWrapper(losses.focal_loss(**fn_kwargs), **rest)
    return losses.make(name, **config)


def _functional(name: str):
    if name == "focal_loss":
        return lambda y_true, y_pred, **kw: losses.focal_loss(**kw)(y_true, y_pred)
    return getattr(losses, name)


def loss_value_and_grad(
    name: str,
    config: dict,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    sample_weight: Optional[np.ndarray] = None,
    *,
    dtype: str = "float32",
    input_dtype: Optional[str] = None,
    functional: bool = False,
    cotangent_seed: Optional[int] = None,
    device: str = "cpu",
    loss_dtype: Any = "same",
) -> dict[str, Any]:
    """Loss value and d(loss)/d(y_pred) from torch_impl; see ``keras_impl.harness``.

    ``loss_dtype``: the loss's ``dtype=`` argument; default ``dtype`` (as the
    Keras side is given), ``None`` for torch_impl's own default.
    """
    input_dtype = input_dtype or dtype
    # The same rounding as the Keras harness: float16 straight from float64
    # (NumPy), bfloat16 from the float32 rounding.
    arr = np.asarray(y_pred, dtype=np.float64)
    arr = arr.astype(np.float32) if input_dtype == "bfloat16" else arr.astype(input_dtype)
    x = torch.from_numpy(arr).to(device=device, dtype=getattr(torch, input_dtype))
    x.requires_grad_(True)
    yt = torch.as_tensor(np.asarray(y_true), device=device)
    sw = None if sample_weight is None else torch.as_tensor(np.asarray(sample_weight), device=device)
    try:
        if functional:
            kwargs = {k: v for k, v in config.items() if k not in _FN_KEYS}
            value = _functional(name)(yt, x.to(getattr(torch, dtype)), **kwargs)
        else:
            ld = getattr(torch, dtype) if loss_dtype == "same" else loss_dtype
            value = _make(name, dict(config, dtype=ld))(yt, x, sample_weight=sw)
        if value.dim() == 0 or cotangent_seed is None:
            if value.numel() and value.requires_grad:
                value.sum().backward()
        elif value.numel() and value.requires_grad:
            cot = np.random.default_rng(cotangent_seed).normal(size=tuple(value.shape))
            value.backward(torch.as_tensor(cot, dtype=value.dtype, device=device))
    except (ValueError, TypeError) as e:
        return {"value": None, "grad": None, "error": (type(e).__name__, str(e))}
    grad = np.zeros(x.shape, np.float64) if x.grad is None else x.grad.detach().to(torch.float64).cpu().numpy()
    return {"value": value.detach().to(torch.float64).cpu().numpy(), "grad": grad, "error": None}

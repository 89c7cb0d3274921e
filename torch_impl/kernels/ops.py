"""Autograd functions around the Triton kernels (the ``ops`` of this package).

Two shapes of use:

* ``*_rows``: one loss per row (Keras's unreduced functional form and
  ``reduction="none"``). The forward saves two floats per row; the backward
  kernel re-reads the logits and writes ``g_i * (softmax - y)``.
* ``*_reduced``: the reduced loss ``sum_i w_i loss_i`` for a per-row weight
  ``w`` (Keras's reduction and sample weights folded in). The forward kernel
  also writes ``w_i * (softmax - y)`` into one logits-sized buffer; the
  backward scales it in place by the incoming gradient, a kernel that does no
  memory traffic when that gradient is 1 (``loss.backward()``). So forward +
  backward read the logits once and write the gradient once.

Neither writes into its inputs. Under ``create_graph=True`` (double backward)
the backward falls back to differentiable PyTorch ops.
"""

from __future__ import annotations

import torch

from torch_impl.kernels import softmax_xent as _sx

__all__ = ["softmax_xent_rows", "softmax_xent_reduced"]


def _next_pow2(n: int) -> int:
    return 1 << max(0, (int(n) - 1).bit_length())


def _row_config(n_cols: int, interpret: bool) -> tuple[int, int, int]:
    """(BLOCK_R, BLOCK_C, num_warps) for rows of ``n_cols`` classes."""
    max_c = 256 if interpret else 8192
    block_c = min(_next_pow2(max(n_cols, 1)), max_c)
    target = 256 if interpret else 4096
    block_r = max(1, min(64, target // block_c))
    tile = block_r * block_c
    num_warps = 4 if tile <= 2048 else (8 if tile <= 8192 else 16)
    return block_r, block_c, num_warps


def _interpret() -> bool:
    from torch_impl.kernels import interpreter_mode

    return interpreter_mode()


def _launch_fwd(logits, target, is_index, smoothing, ignore, weight, write_grad):
    n_rows, n_cols = logits.shape
    loss = torch.empty(n_rows, dtype=torch.float32, device=logits.device)
    shift = torch.empty_like(loss)
    logd = torch.empty_like(loss)
    grad = torch.empty_like(logits) if write_grad else logits  # dummy pointer when unused
    block_r, block_c, warps = _row_config(n_cols, _interpret())
    grid = (triton_cdiv(n_rows, block_r),)
    if n_rows:
        _sx._softmax_xent_fwd[grid](
            logits, logits.stride(0),
            target, target.stride(0),
            weight if weight is not None else loss,
            loss, shift, logd,
            grad, grad.stride(0),
            n_rows, n_cols,
            float(smoothing), int(ignore if ignore is not None else 0),
            TARGET_IS_INDEX=is_index, HAS_WEIGHT=weight is not None, HAS_IGNORE=ignore is not None,
            WRITE_GRAD=write_grad, BLOCK_R=block_r, BLOCK_C=block_c, num_warps=warps,
        )
    return loss, shift, logd, (grad if write_grad else None)


def _launch_bwd(logits, target, is_index, smoothing, ignore, shift, logd, grad_rows):
    n_rows, n_cols = logits.shape
    grad = torch.empty_like(logits)
    block_r, block_c, warps = _row_config(n_cols, _interpret())
    if n_rows:
        _sx._softmax_xent_bwd[(triton_cdiv(n_rows, block_r),)](
            logits, logits.stride(0),
            target, target.stride(0),
            shift, logd, grad_rows.contiguous(),
            grad, grad.stride(0),
            n_rows, n_cols,
            float(smoothing), int(ignore if ignore is not None else 0),
            TARGET_IS_INDEX=is_index, HAS_IGNORE=ignore is not None,
            BLOCK_R=block_r, BLOCK_C=block_c, num_warps=warps,
        )
    return grad


def triton_cdiv(a: int, b: int) -> int:
    return (a + b - 1) // b


def _eager_grad(logits, target, is_index, smoothing, ignore, g_rows):
    """Differentiable (softmax(z) - y) * g, for double backward."""
    z = logits.float()
    p = torch.softmax(z, -1)
    n_cols = z.shape[-1]
    if is_index:
        if ignore is not None:
            valid = target != ignore
            g_rows = g_rows * valid
            target = torch.where(valid, target, torch.zeros_like(target))
        y = torch.nn.functional.one_hot(target, n_cols).to(z.dtype)
    else:
        y = target.to(z.dtype) * (1.0 - smoothing) + smoothing / n_cols
    return ((p - y) * g_rows.unsqueeze(-1)).to(logits.dtype)


def _target_grad(ctx, logits, grad_rows):
    if ctx.is_index or not ctx.needs_input_grad[1]:
        return None
    logp = torch.log_softmax(logits.float(), -1)
    return (-logp * (1.0 - ctx.smoothing) * grad_rows.unsqueeze(-1)).to(ctx.target_dtype)


class _SoftmaxXentRows(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits, target, is_index, smoothing, ignore):
        loss, shift, logd, _ = _launch_fwd(logits, target, is_index, smoothing, ignore, None, False)
        ctx.is_index, ctx.smoothing, ctx.ignore, ctx.target_dtype = is_index, smoothing, ignore, target.dtype
        ctx.save_for_backward(logits, target, shift, logd)
        return loss

    @staticmethod
    def backward(ctx, grad_rows):
        logits, target, shift, logd = ctx.saved_tensors
        if torch.is_grad_enabled():
            g = _eager_grad(logits, target, ctx.is_index, ctx.smoothing, ctx.ignore, grad_rows)
        else:
            g = _launch_bwd(logits, target, ctx.is_index, ctx.smoothing, ctx.ignore, shift, logd, grad_rows.float())
        return g, _target_grad(ctx, logits, grad_rows), None, None, None


class _SoftmaxXentReduced(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits, target, weight, is_index, smoothing, ignore):
        loss, shift, logd, grad = _launch_fwd(logits, target, is_index, smoothing, ignore, weight, True)
        ctx.is_index, ctx.smoothing, ctx.ignore, ctx.target_dtype = is_index, smoothing, ignore, target.dtype
        ctx.grad_buffer = grad
        ctx.save_for_backward(logits, target, weight, shift, logd)
        return loss.sum()

    @staticmethod
    def backward(ctx, grad_out):
        logits, target, weight, shift, logd = ctx.saved_tensors
        grad_rows = weight * grad_out.float()
        if torch.is_grad_enabled():
            g = _eager_grad(logits, target, ctx.is_index, ctx.smoothing, ctx.ignore, grad_rows)
        elif ctx.grad_buffer is not None:
            g, ctx.grad_buffer = ctx.grad_buffer, None  # a second backward (retain_graph) recomputes
            n = g.numel()
            if n:
                block = 4096 if not _interpret() else 256
                _sx._scale_unless_one[(triton_cdiv(n, block),)](g, grad_out.float().reshape(1), n, BLOCK=block)
        else:
            g = _launch_bwd(logits, target, ctx.is_index, ctx.smoothing, ctx.ignore, shift, logd, grad_rows)
        return g, _target_grad(ctx, logits, grad_rows), None, None, None, None


def _prep(logits: torch.Tensor, target: torch.Tensor, is_index: bool):
    logits = logits if logits.stride(-1) == 1 else logits.contiguous()
    if is_index:
        target = target.reshape(-1)
        target = target if target.stride(0) == 1 else target.contiguous()
    elif target.stride(-1) != 1:
        target = target.contiguous()
    return logits, target


def softmax_xent_rows(logits: torch.Tensor, target: torch.Tensor, is_index: bool,
                      smoothing: float = 0.0, ignore=None) -> torch.Tensor:
    """Per-row softmax crossentropy of 2-D ``logits`` (float32 result)."""
    logits, target = _prep(logits, target, is_index)
    return _SoftmaxXentRows.apply(logits, target, is_index, float(smoothing), ignore)


def softmax_xent_reduced(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, is_index: bool,
                         smoothing: float = 0.0, ignore=None) -> torch.Tensor:
    """``sum_i weight_i * loss_i`` of 2-D ``logits`` (float32 scalar)."""
    logits, target = _prep(logits, target, is_index)
    return _SoftmaxXentReduced.apply(logits, target, weight.float().contiguous(), is_index, float(smoothing), ignore)

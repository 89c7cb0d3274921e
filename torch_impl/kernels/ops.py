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

import os

import torch

from torch_impl import _fused
from torch_impl.kernels import binary as _bk
from torch_impl.kernels import categorical_focal as _cf
from torch_impl.kernels import interpreter_mode
from torch_impl.kernels import softmax_xent as _sx
from torch_impl.kernels.layout import align_of

#: whether the kernels above were built for Triton's interpreter (TRITON_INTERPRET is read when
#: Triton decorates them, at import; read once here, off the launch path)
_INTERPRETED = interpreter_mode()


def _interpret() -> bool:
    return _INTERPRETED

__all__ = ["softmax_xent_rows", "softmax_xent_reduced"]


#: L2 eviction hints in the chunked forward that writes the gradient (the row's
#: first sweep kept in L2 for the second; benchmarks/tune_cuda_kernels.py compares)
EVICTION_HINTS = True

#: kernel launches so far, by kernel name (tests check that the kernels ran)
LAUNCHES: dict[str, int] = {}


def _count(name: str) -> None:
    LAUNCHES[name] = LAUNCHES.get(name, 0) + 1


def _next_pow2(n: int) -> int:
    return 1 << max(0, (int(n) - 1).bit_length())


def _row_config(n_cols: int, interpret: bool) -> tuple[int, int, int]:
    """(BLOCK_R, BLOCK_C, num_warps) for the chunked kernels (from benchmarks/tune_cuda_kernels.py).

    Measured on an H100 (SCCE forward+backward, GPU time): rows of 32k-131k
    classes run best in chunks of 8192 with 32 warps (bf16 8192x131072:
    2.12 ms against 2.43 ms with 16 warps; f32 8192x32000: 0.83 against 0.91).
    """
    if interpret:
        block_c = min(_next_pow2(max(n_cols, 1)), 256)
        return max(1, 256 // block_c), block_c, 4
    row = _next_pow2(max(n_cols, 1))
    if row >= 8192:
        return 1, 8192, 32
    if row >= 2048:
        return 1, row, 8 if row == 2048 else 16
    return max(1, 4096 // row), row, 4


def _single_pass_max_cols(interpret: bool | None = None) -> int:
    """Rows up to this many classes take the single-pass kernels (softmax crossentropy when the
    gradient is written; categorical focal always).

    ``LOSSPARITY_SINGLE_PASS_MAX_COLS`` overrides it (0 turns it off). The
    default keeps the single pass to rows whose tile is already one chunk
    (<= 8192 classes on a GPU, <= 256 under the interpreter); larger tiles
    are for ``benchmarks/tune_cuda_kernels.py`` to decide.
    """
    env = os.environ.get("LOSSPARITY_SINGLE_PASS_MAX_COLS")
    if env is not None:
        return int(env)
    return 256 if (_interpret() if interpret is None else interpret) else 8192


def _single_pass_config(n_cols: int, interpret: bool) -> tuple[int, int, int]:
    """(BLOCK_R, BLOCK_C, num_warps) for the single-pass kernel: the whole row in one tile."""
    row = _next_pow2(max(n_cols, 1))
    if interpret:
        return max(1, 256 // row), row, 4
    # H100, GPU time: 65536x1000 bf16 0.173 ms with 2 rows of 4 warps (0.206 with 4 rows);
    # 16384x4096 bf16 0.138 ms with 8 warps (0.158 with 16)
    if row <= 1024:
        return max(1, 2048 // row), row, 4
    return 1, row, max(4, min(32, row // 512))


def _early_labels() -> bool:
    """Whether the softmax forward kernels load the labels (single pass: weights, labels and target logits)
    before the row sweep instead of after it: ``LOSSPARITY_EARLY_LABELS=1``. Off until measured on a GPU
    (benchmarks/NOTES.md item 22: it hides two dependent round trips per row, and costs the chunked kernel
    registers); the values are the same either way."""
    return os.environ.get("LOSSPARITY_EARLY_LABELS", "0") == "1"


def _launch_fwd(logits, target, is_index, smoothing, ignore, weight, write_grad, scale=1.0):
    n_rows, n_cols = logits.shape
    stats = torch.empty((3, n_rows), dtype=torch.float32, device=logits.device)
    loss, shift, logd = stats[0], stats[1], stats[2]
    grad = torch.empty_like(logits) if write_grad else logits  # dummy pointer when unused
    flag = _label_flag(logits.device) if is_index else loss
    interpret = _interpret()
    if write_grad and 0 < n_cols <= _single_pass_max_cols(interpret):  # the whole row in one tile: one read
        name, kernel, extra = "softmax_xent_fwd_single_pass", _sx._softmax_xent_fwd_single_pass, {}
        block_r, block_c, warps = _single_pass_config(n_cols, interpret)
    else:
        name, kernel, extra = "softmax_xent_fwd", _sx._softmax_xent_fwd, {"WRITE_GRAD": write_grad}
        block_r, block_c, warps = _row_config(n_cols, interpret)
        if write_grad and EVICTION_HINTS and block_c < n_cols:  # a row of several chunks is read twice
            extra.update(FIRST_EVICT="evict_last", SECOND_EVICT="evict_first")
    if n_rows:
        _count(name)
        kernel[(triton_cdiv(n_rows, block_r),)](
            logits, logits.stride(0),
            target, target.stride(0),
            weight if weight is not None else loss,
            loss, shift, logd,
            grad, grad.stride(0),
            flag,
            n_rows, n_cols,
            float(smoothing), int(ignore if ignore is not None else 0), float(scale),
            TARGET_IS_INDEX=is_index, HAS_WEIGHT=weight is not None, HAS_IGNORE=ignore is not None,
            HAS_SMOOTHING=smoothing != 0, BLOCK_R=block_r, BLOCK_C=block_c, ALIGN=_row_align(logits, target, grad, is_index),
            EARLY_LABELS=_early_labels(), num_warps=warps, **extra,
        )
        if is_index:
            _check_label_flag(flag, n_cols, ignore)
    return loss, shift, logd, (grad if write_grad else None)


_LABEL_FLAGS: dict = {}


def _label_flag(device: torch.device) -> torch.Tensor:
    """The device's label-check flag: one int32 that stays 1 until a kernel meets a bad label.

    Kept for the process (no allocation or fill per call). A bad label clears
    it; on CUDA the asynchronous assertion then stops the device, and the
    synchronous check (and the CPU) sets it back before raising.
    """
    flag = _LABEL_FLAGS.get(device)
    if flag is None:
        flag = _LABEL_FLAGS[device] = torch.ones(1, dtype=torch.int32, device=device)
    return flag


def _check_label_flag(flag: torch.Tensor, n_cols: int, ignore) -> None:
    msg = (f"sparse_categorical_crossentropy: a label is outside the valid range [0, {n_cols})"
           + ("" if ignore is None else f" and is not ignore_class={ignore}"))
    if flag.is_cuda:
        from torch_impl.losses import _SYNC_LABEL_CHECK

        if not _SYNC_LABEL_CHECK["cuda"]:
            torch._assert_async(flag, msg)  # no host sync; stops the device on a bad label (flag 0)
            return
    if not int(flag[0]):
        flag.fill_(1)
        raise ValueError(msg)


def _launch_bwd(logits, target, is_index, smoothing, ignore, shift, logd, grad_rows):
    n_rows, n_cols = logits.shape
    grad = torch.empty_like(logits)
    block_r, block_c, warps = _row_config(n_cols, _interpret())
    if n_rows:
        _count("softmax_xent_bwd")
        _sx._softmax_xent_bwd[(triton_cdiv(n_rows, block_r),)](
            logits, logits.stride(0),
            target, target.stride(0),
            shift, logd, grad_rows.contiguous(),
            grad, grad.stride(0),
            n_rows, n_cols,
            float(smoothing), int(ignore if ignore is not None else 0),
            TARGET_IS_INDEX=is_index, HAS_IGNORE=ignore is not None, HAS_SMOOTHING=smoothing != 0,
            BLOCK_R=block_r, BLOCK_C=block_c, ALIGN=_row_align(logits, target, grad, is_index), num_warps=warps,
        )
    return grad


def _row_align(x: torch.Tensor, y: torch.Tensor, grad, target_is_index: bool) -> int:
    """The kernels' ``ALIGN``: a power of two up to 16 dividing the row length and the rows' strides."""
    ints = [x.shape[1], x.stride(0)]
    if not target_is_index:
        ints.append(y.stride(0))
    if grad is not None:
        ints.append(grad.stride(0))
    return align_of(*ints)


def triton_cdiv(a: int, b: int) -> int:
    # not triton.cdiv: a constexpr_function in recent Triton, microseconds per host call
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
    def forward(ctx, logits, target, weight, scale, is_index, smoothing, ignore):
        loss, shift, logd, grad = _launch_fwd(logits, target, is_index, smoothing, ignore, weight, True, scale)
        ctx.is_index, ctx.smoothing, ctx.ignore, ctx.target_dtype = is_index, smoothing, ignore, target.dtype
        ctx.scale = scale
        ctx.grad_buffer = grad
        ctx.save_for_backward(logits, target, weight, shift, logd)
        return loss.sum()

    @staticmethod
    def backward(ctx, grad_out):
        logits, target, weight, shift, logd = ctx.saved_tensors

        def rows():
            return _row_grads(weight, ctx.scale, logits, grad_out)

        if torch.is_grad_enabled():
            g = _eager_grad(logits, target, ctx.is_index, ctx.smoothing, ctx.ignore, rows())
        elif ctx.grad_buffer is not None:
            g, ctx.grad_buffer = ctx.grad_buffer, None  # a second backward (retain_graph) recomputes
            _scale_in_place(g, grad_out)
        else:
            g = _launch_bwd(logits, target, ctx.is_index, ctx.smoothing, ctx.ignore, shift, logd, rows())
        tg = _target_grad(ctx, logits, rows()) if ctx.needs_input_grad[1] and not ctx.is_index else None
        return g, tg, None, None, None, None, None


def _row_grads(weight, scale: float, x: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    """The incoming gradient of each row of a reduced loss: ``weight * grad_out`` (``scale`` when no weight)."""
    w = weight if weight is not None else torch.full((x.shape[0],), scale, dtype=torch.float32, device=x.device)
    return w * grad_out.float()


def _weight_args(weight) -> tuple:
    """``(weight tensor or None, scale)`` for the reduced ops: a tensor, or one float for every row."""
    if isinstance(weight, torch.Tensor):
        return weight.float().contiguous(), 1.0
    return None, float(weight)


def _scale_in_place(g: torch.Tensor, grad_out: torch.Tensor) -> None:
    """g *= grad_out (a scalar tensor), without memory traffic when grad_out == 1."""
    n = g.numel()
    if n:
        _count("scale_unless_one")
        block = 4096 if not _interpret() else 256
        _sx._scale_unless_one[(triton_cdiv(n, block),)](g, grad_out, n, BLOCK=block)  # the kernel reads one element


def _needs_grad(x: torch.Tensor, y: torch.Tensor) -> bool:
    """Whether autograd will ask for a gradient of ``x`` or ``y`` (else the forward writes none)."""
    return torch.is_grad_enabled() and (x.requires_grad or y.requires_grad)


def _rows2d(t: torch.Tensor) -> torch.Tensor:
    return t if t.stride(-1) == 1 else t.contiguous()


def _prep(logits: torch.Tensor, target: torch.Tensor, is_index: bool):
    return _rows2d(logits), _rows2d(target.reshape(-1) if is_index else target)


def softmax_xent_rows(logits: torch.Tensor, target: torch.Tensor, is_index: bool,
                      smoothing: float = 0.0, ignore=None) -> torch.Tensor:
    """Per-row softmax crossentropy of 2-D ``logits`` (float32 result)."""
    logits, target = _prep(logits, target, is_index)
    if not _needs_grad(logits, target):  # no autograd node: the kernel alone
        return _launch_fwd(logits, target, is_index, float(smoothing), ignore, None, False)[0]
    return _SoftmaxXentRows.apply(logits, target, is_index, float(smoothing), ignore)


#: On the "auto" backend, sparse (class-index) float32 problems of up to this many logits with one weight
#: for every row go to ``F.cross_entropy``, which computes Keras's numbers there (the mean or sum of
#: ``lse - z_t``; gradient ``softmax - onehot``): on an H100 host such a call is bound by host time, about
#: 0.2 ms for F.cross_entropy's C++ autograd against 0.4 ms for the Python autograd Function around the
#: kernel, while either's GPU time is under 20 us (benchmarks/NOTES.md, item 1). Not for probability
#: targets: there TensorFlow's gradient is ``softmax - y`` even for rows that do not sum to 1, and
#: autograd's is ``softmax * sum(y) - y``. 0 turns it off.
BUILTIN_MAX_ELEMENTS = 1 << 20
_BUILTIN_DEVICES = ("cuda",)
_NO_IGNORE_INDEX = -(2**63)  # F.cross_entropy's ignore_index (default -100) must not hide a bad label


def _builtin_reduction(logits, target, weight, scale: float, is_index: bool, ignore):
    """``"mean"``/``"sum"`` when ``F.cross_entropy`` computes this reduced sparse loss as Keras does, else None."""
    from torch_impl import kernels
    from torch_impl.losses import _SYNC_LABEL_CHECK

    if (not is_index or weight is not None or ignore is not None or logits.dtype != torch.float32
            or logits.device.type not in _BUILTIN_DEVICES or logits.numel() > BUILTIN_MAX_ELEMENTS
            or kernels.get_backend() != "auto" or _SYNC_LABEL_CHECK["cuda"]):
        return None
    n_rows = logits.shape[0]
    if scale == 1.0:
        return "sum"
    if n_rows and scale == 1.0 / n_rows:
        return "mean"
    return None


def softmax_xent_reduced(logits: torch.Tensor, target: torch.Tensor, weight, is_index: bool,
                         smoothing: float = 0.0, ignore=None) -> torch.Tensor:
    """``sum_i weight_i * loss_i`` of 2-D ``logits`` (float32 scalar); ``weight`` a tensor or one float."""
    logits, target = _prep(logits, target, is_index)
    weight, scale = _weight_args(weight)
    builtin = _builtin_reduction(logits, target, weight, scale, is_index, ignore)
    if builtin is not None:  # a small float32 problem: host time decides, and F.cross_entropy's is lower
        return torch.nn.functional.cross_entropy(logits, target, reduction=builtin, ignore_index=_NO_IGNORE_INDEX)
    if not _needs_grad(logits, target):  # evaluation: no gradient written, no autograd node
        return _launch_fwd(logits, target, is_index, float(smoothing), ignore, weight, False, scale)[0].sum()
    return _SoftmaxXentReduced.apply(logits, target, weight, scale, is_index, float(smoothing), ignore)


# --------------------------------------------------------------------------
# binary crossentropy / binary focal crossentropy (mean over the last axis)
# --------------------------------------------------------------------------


def _binary_config(n_cols: int, interpret: bool) -> tuple[int, int, int]:
    block_d = min(_next_pow2(max(n_cols, 1)), 64 if interpret else 2048)
    block_r = max(1, min(1024, (256 if interpret else 4096) // block_d))
    tile = block_r * block_d
    return block_r, block_d, (4 if tile <= 2048 else 8)


def _gamma_int(gamma: float) -> int:
    return int(gamma) if float(gamma).is_integer() and 0 <= gamma <= 8 else -1


def _binary_launch(x, y, cfg, weight=None, scale=1.0, write_loss=True, write_grad=False):
    from_logits, focal, balance, gamma, alpha, smoothing = cfg
    n_rows, n_cols = x.shape
    loss = torch.empty(n_rows, dtype=torch.float32, device=x.device) if write_loss else None
    grad = torch.empty_like(x) if write_grad else None
    if n_rows and n_cols:
        block_r, block_d, warps = _binary_config(n_cols, _interpret())
        _count("binary_xent")
        _bk._binary_xent[(triton_cdiv(n_rows, block_r),)](
            x, x.stride(0), y, y.stride(0),
            weight if weight is not None else x,
            loss if loss is not None else x,
            grad if grad is not None else x, grad.stride(0) if grad is not None else 0,
            n_rows, n_cols,
            float(smoothing), float(gamma), float(alpha), float(scale),
            FROM_LOGITS=from_logits, FOCAL=focal, BALANCE=balance, GAMMA_INT=_gamma_int(gamma),
            HAS_WEIGHT=weight is not None, HAS_SMOOTHING=smoothing != 0, WRITE_LOSS=write_loss,
            WRITE_GRAD=write_grad, BLOCK_R=block_r, BLOCK_D=block_d, EVEN_D=n_cols % block_d == 0, ALIGN=_row_align(x, y, grad, False),
            num_warps=warps,
        )
    elif write_loss:
        loss.fill_(float("nan") if n_rows else 0.0)  # mean over an empty axis
    return loss, grad


def _binary_reference(x, y, cfg):
    from_logits, focal, balance, gamma, alpha, smoothing = cfg
    x = x.float()
    y = y.float()
    if smoothing:
        y = y * (1.0 - smoothing) + 0.5 * smoothing
    if focal:
        return _fused._BinaryFocal.reference(x, y, -1, gamma, alpha, balance, from_logits)
    return (_fused._BceLogits if from_logits else _fused._BceProbs).reference(x, y, -1)


class _Binary:
    launch = staticmethod(_binary_launch)
    reference = staticmethod(_binary_reference)


def _reference_grads(ctx, x, y, grad_rows):
    create = torch.is_grad_enabled()
    needs = ctx.needs_input_grad[1:3]
    with torch.enable_grad():
        xi = x if (create and x.requires_grad) else x.detach().requires_grad_(bool(needs[0]))
        yi = y if (create and y.requires_grad) else y.detach().requires_grad_(bool(needs[1]))
        out = ctx.spec.reference(xi, yi, ctx.cfg)
        wanted = [t for t, n in zip((xi, yi), needs) if n]
        grads = iter(torch.autograd.grad(out, wanted, grad_rows, create_graph=create))
    return tuple((next(grads).to(t.dtype) if n else None) for t, n in zip((x, y), needs))


class _RowsOp(torch.autograd.Function):
    """One loss per row; the backward kernel takes the incoming per-row gradient as the weight."""

    @staticmethod
    def forward(ctx, spec, x, y, cfg):
        ctx.spec, ctx.cfg = spec, cfg
        ctx.save_for_backward(x, y)
        return spec.launch(x, y, cfg)[0]

    @staticmethod
    def backward(ctx, grad_rows):
        x, y = ctx.saved_tensors
        if torch.is_grad_enabled() or ctx.needs_input_grad[2]:
            return (None, *_reference_grads(ctx, x, y, grad_rows), None)
        _, g = ctx.spec.launch(x, y, ctx.cfg, weight=grad_rows.float().contiguous(), write_loss=False,
                               write_grad=True)
        return None, g, None, None


class _ReducedOp(torch.autograd.Function):
    """``sum_i w_i loss_i``; the forward kernel writes the gradient, the backward scales it in place."""

    @staticmethod
    def forward(ctx, spec, x, y, weight, scale, cfg):
        ctx.spec, ctx.cfg, ctx.scale = spec, cfg, scale
        loss, grad = spec.launch(x, y, cfg, weight=weight, scale=scale, write_grad=True)
        ctx.grad_buffer = grad
        ctx.save_for_backward(x, y, weight)
        return loss.sum()

    @staticmethod
    def backward(ctx, grad_out):
        x, y, weight = ctx.saved_tensors

        def rows():
            return _row_grads(weight, ctx.scale, x, grad_out)

        if torch.is_grad_enabled() or ctx.needs_input_grad[2]:
            gx, gy = _reference_grads(ctx, x, y, rows())
            return None, gx, gy, None, None, None
        if ctx.grad_buffer is not None:
            g, ctx.grad_buffer = ctx.grad_buffer, None  # a second backward (retain_graph) recomputes
            _scale_in_place(g, grad_out)
        else:
            _, g = ctx.spec.launch(x, y, ctx.cfg, weight=rows().contiguous(), write_loss=False, write_grad=True)
        return None, g, None, None, None, None


def _rows_op(spec, x, y, cfg):
    if not _needs_grad(x, y):
        return spec.launch(x, y, cfg)[0]
    return _RowsOp.apply(spec, x, y, cfg)


def _reduced_op(spec, x, y, weight, cfg):
    weight, scale = _weight_args(weight)
    if not _needs_grad(x, y):  # evaluation: no gradient written, no autograd node
        return spec.launch(x, y, cfg, weight=weight, scale=scale)[0].sum()
    return _ReducedOp.apply(spec, x, y, weight, scale, cfg)


def _binary_cfg(from_logits, focal, balance, gamma, alpha, smoothing) -> tuple:
    """The binary kernels' configuration; ``alpha`` is read only with class balancing (it may be None then)."""
    return (bool(from_logits), bool(focal), bool(balance), float(gamma), float(alpha) if balance else 0.0,
            float(smoothing))


def binary_rows(x: torch.Tensor, y: torch.Tensor, from_logits: bool, focal: bool = False, balance: bool = False,
                gamma: float = 2.0, alpha: float = 0.25, smoothing: float = 0.0) -> torch.Tensor:
    """Per-row mean of Keras's (focal) binary crossentropy over the last axis of 2-D ``x``."""
    return _rows_op(_Binary, _rows2d(x), _rows2d(y), _binary_cfg(from_logits, focal, balance, gamma, alpha, smoothing))


def binary_reduced(x: torch.Tensor, y: torch.Tensor, weight, from_logits: bool, focal: bool = False,
                   balance: bool = False, gamma: float = 2.0, alpha: float = 0.25, smoothing: float = 0.0):
    """``sum_i weight_i * rowloss_i`` (``weight`` a tensor or one float)."""
    cfg = _binary_cfg(from_logits, focal, balance, gamma, alpha, smoothing)
    return _reduced_op(_Binary, _rows2d(x), _rows2d(y), weight, cfg)


__all__ += ["binary_rows", "binary_reduced"]


# --------------------------------------------------------------------------
# categorical focal crossentropy (per row)
# --------------------------------------------------------------------------


def _cfocal_launch(x, y, cfg, weight=None, scale=1.0, write_loss=True, write_grad=False):
    from_logits, gamma, alpha, smoothing = cfg
    n_rows, n_cols = x.shape
    loss = torch.empty(n_rows, dtype=torch.float32, device=x.device) if write_loss else None
    grad = torch.empty_like(x) if write_grad else None
    per_class = isinstance(alpha, torch.Tensor)
    if n_rows:
        interpret = _interpret()
        if 0 < n_cols <= _single_pass_max_cols(interpret):  # the whole row in one tile: one read
            name, kernel = "categorical_focal_single_pass", _cf._categorical_focal_single_pass
            block_r, block_c, warps = _single_pass_config(n_cols, interpret)
        else:
            name, kernel = "categorical_focal", _cf._categorical_focal
            block_r, block_c, warps = _row_config(n_cols, interpret)
        _count(name)
        kernel[(triton_cdiv(n_rows, block_r),)](
            x, x.stride(0), y, y.stride(0),
            alpha if per_class else x,
            weight if weight is not None else x,
            loss if loss is not None else x,
            grad if grad is not None else x, grad.stride(0) if grad is not None else 0,
            n_rows, n_cols,
            float(smoothing), float(gamma), 0.0 if per_class else float(alpha), float(scale),
            FROM_LOGITS=from_logits, ALPHA_PER_CLASS=per_class, GAMMA_INT=_gamma_int(gamma),
            HAS_SMOOTHING=smoothing != 0, HAS_WEIGHT=weight is not None, WRITE_LOSS=write_loss, WRITE_GRAD=write_grad,
            BLOCK_R=block_r, BLOCK_C=block_c, ALIGN=_row_align(x, y, grad, False), num_warps=warps,
        )
    return loss, grad


def _cfocal_reference(x, y, cfg):
    from_logits, gamma, alpha, smoothing = cfg
    x, y = x.float(), y.float()
    if smoothing:
        y = y * (1.0 - smoothing) + smoothing / y.shape[-1]
    return _fused._CategoricalFocal.reference(x, y, -1, alpha, gamma, from_logits)


class _CategoricalFocal:
    launch = staticmethod(_cfocal_launch)
    reference = staticmethod(_cfocal_reference)


def categorical_focal_rows(x, y, from_logits: bool, gamma: float, alpha, smoothing: float = 0.0):
    """Per-row categorical focal crossentropy of 2-D ``x`` (``alpha`` a float or a (C,) float32 tensor)."""
    cfg = (bool(from_logits), float(gamma), alpha, float(smoothing))
    return _rows_op(_CategoricalFocal, _rows2d(x), _rows2d(y), cfg)


def categorical_focal_reduced(x, y, weight, from_logits: bool, gamma: float, alpha, smoothing: float = 0.0):
    """``sum_i weight_i * loss_i`` of the categorical focal crossentropy."""
    cfg = (bool(from_logits), float(gamma), alpha, float(smoothing))
    return _reduced_op(_CategoricalFocal, _rows2d(x), _rows2d(y), weight, cfg)


__all__ += ["categorical_focal_rows", "categorical_focal_reduced"]

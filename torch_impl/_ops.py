"""TensorFlow-faithful primitive ops for the losses (private).

Each function computes what the TensorFlow op that Keras calls computes, with
the gradient TensorFlow defines for it, where that differs from what PyTorch's
autograd would give for the obvious composition:

* ``softmax_xent``: ``tf.nn.softmax_cross_entropy_with_logits``. Its gradient is
  ``softmax(z) - y`` even when a target row does not sum to 1 (autograd of
  ``-sum(y * log_softmax(z))`` would give ``sum(y) * softmax(z) - y``). A target
  row of all zeros therefore has loss 0 but gradient ``softmax(z)``.
* ``sigmoid_xent``: ``tf.nn.sigmoid_cross_entropy_with_logits``
  (``where(z>=0, z, 0) - z*y + log1p(exp(where(z>=0, -z, z)))``), with the
  gradient terms summed in TensorFlow's order.
* ``tf_pow``: ``tf.pow`` with a constant exponent, whose gradient is
  ``grad * g * x**(g-1)`` with no special case for ``g == 0`` (PyTorch masks it).
* ``tf_sum``: ``tf.reduce_sum`` of a whole tensor in Eigen's summation order on the CPU.
* ``tf_sqrt``: ``tf.sqrt`` correctly rounded on the CPU (torch's CPU ``sqrt`` is not, always).
* ``clip``: ``tf.clip_by_value`` to ``[EPSILON, 1 - EPSILON]``; the gradient passes
  inside the closed interval and is zero outside, NaN stays NaN.

All of them support double backward.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import platform
import warnings
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

#: ``keras.config.epsilon()``, the clip bound of every probability path.
EPSILON = 1e-7


def _autocast_off(device_type: str, on: bool):
    return torch.autocast(device_type, enabled=False) if on else contextlib.nullcontext()


def without_autocast(fn):
    """Run ``fn`` with ``torch.autocast`` off: Keras's mixed precision keeps losses in float32, and under
    autocast the reductions inside a loss (``vecdot``) would run in bfloat16/float16. Half inputs still compute
    in float32 (the losses' own rule)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        cpu, cuda = torch.is_autocast_enabled("cpu"), torch.is_autocast_enabled("cuda")
        if not (cpu or cuda):
            return fn(*args, **kwargs)
        with _autocast_off("cpu", cpu), _autocast_off("cuda", cuda):
            return fn(*args, **kwargs)

    return wrapper


def functorch_active() -> bool:
    """Whether a ``torch.func`` transform (grad, vmap, jacrev, ...) is tracing this call."""
    try:
        return torch._C._functorch.peek_interpreter_stack() is not None
    except AttributeError:  # pragma: no cover - a PyTorch without functorch's C API
        return False


def _functorch_wrapped(t: torch.Tensor) -> bool:
    """Whether ``t`` is a torch.func transform's tensor (its vjp's saved inputs stay wrapped after the
    transform's call returned, when ``functorch_active()`` no longer sees it)."""
    try:
        return bool(torch._C._functorch.is_functorch_wrapped_tensor(t))
    except AttributeError:  # pragma: no cover - a PyTorch without functorch's C API
        return False


def values_hidden(t: torch.Tensor) -> bool:
    """Whether ``t``'s values cannot be read on the host here: ``torch.compile`` tracing, or a tensor that
    ``torch.func.vmap`` batches (data-dependent checks are skipped; the ops' own checks still apply)."""
    if torch.compiler.is_compiling():
        return True
    try:
        ft = torch._C._functorch
        while ft.is_functorch_wrapped_tensor(t):  # e.g. grad's wrapper around vmap's batched tensor
            if ft.is_batchedtensor(t):
                return True
            t = ft.get_unwrapped(t)
    except AttributeError:  # pragma: no cover - a PyTorch without functorch's C API
        pass
    return False


def clip(x: torch.Tensor) -> torch.Tensor:
    return torch.clamp(x, EPSILON, 1.0 - EPSILON)


class _SoftmaxXent(torch.autograd.Function):
    # Saves only the inputs (no N x C intermediate) and recomputes the softmax
    # in backward: one pass cheaper than reading a saved log-softmax back.
    # forward/setup_context split and generate_vmap_rule: torch.func (grad, vmap) can run it.
    generate_vmap_rule = True

    @staticmethod
    def forward(logits, labels, dim):
        return -torch.linalg.vecdot(labels, torch.log_softmax(logits, dim), dim=dim)

    @staticmethod
    def setup_context(ctx, inputs, output):
        logits, labels, dim = inputs
        ctx.dim = dim
        ctx.save_for_backward(logits, labels)

    @staticmethod
    def backward(ctx, grad):
        logits, labels = ctx.saved_tensors
        dim = ctx.dim
        g = grad.unsqueeze(dim)
        grad_logits = grad_labels = None
        if ctx.needs_input_grad[0]:  # TF's gradient, whatever sum(labels)
            if torch.is_grad_enabled() or functorch_active():  # differentiable / batchable: out of place
                grad_logits = (torch.softmax(logits, dim) - labels) * g
            else:
                grad_logits = torch.softmax(logits, dim).sub_(labels).mul_(g)
        if ctx.needs_input_grad[1]:
            grad_labels = -torch.log_softmax(logits, dim) * g
        return grad_logits, grad_labels, None


def softmax_xent(labels: torch.Tensor, logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``tf.nn.softmax_cross_entropy_with_logits(labels, logits, axis=dim)``."""
    return _SoftmaxXent.apply(logits, labels, dim)


def sigmoid_xent_with_exp(labels: torch.Tensor, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Value of TF's sigmoid crossentropy and ``exp(-|x|)`` (no autograd).

    The selects of TF's formula are written as clamp/abs: the same numbers,
    several times faster than ``torch.where`` on CPU.
    """
    e = torch.abs(logits).neg_().exp_()  # exp(where(x >= 0, -x, x))
    if functorch_active():  # vmap has no batching rule for addcmul_
        return (logits.clamp_min(0) - logits * labels) + torch.log1p(e), e
    out = logits.clamp_min(0).addcmul_(logits, labels, value=-1)  # relu(x) - x*y
    return out.add_(torch.log1p(e)), e


def sigmoid_xent_grad(logits: torch.Tensor, labels: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
    """d/dx of TF's sigmoid crossentropy, summed in TF's order ``(relu' - y) + (-+ s)``.

    Summing in another order turns the tiny last term into an exact 0 when
    ``relu' == y`` (saturated, correct logits).
    """
    s = e / (e + 1.0)
    # where(x >= 0, s, -s) without a select: copysign on x + 0.0 (turns -0.0 into +0.0)
    signed_s = torch.copysign(s, logits + 0.0)
    return (logits >= 0).to(logits.dtype).sub_(labels).sub_(signed_s)


class _SigmoidXent(torch.autograd.Function):
    generate_vmap_rule = True  # with the forward/setup_context split: torch.func can run it

    @staticmethod
    def forward(logits, labels):
        return sigmoid_xent_with_exp(labels, logits)[0]

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs)

    @staticmethod
    def backward(ctx, grad):
        logits, labels = ctx.saved_tensors
        grad_logits = grad_labels = None
        if ctx.needs_input_grad[0]:
            if torch.is_grad_enabled() and not _functorch_wrapped(logits):  # create_graph: the composition
                grad_logits = torch.autograd.grad(
                    _sigmoid_xent_composed(logits, labels), logits, grad, create_graph=True)[0]
            else:  # also under torch.func (vjp, jacrev): functorch differentiates these ops, autograd.grad cannot
                grad_logits = sigmoid_xent_grad(logits, labels, torch.exp(-torch.abs(logits))) * grad
        if ctx.needs_input_grad[1]:
            grad_labels = grad * -logits
        return grad_logits, grad_labels


def _sigmoid_xent_composed(logits, labels):
    zeros = torch.zeros_like(logits)
    cond = logits >= zeros
    relu_logits = torch.where(cond, logits, zeros)
    neg_abs_logits = torch.where(cond, -logits, logits)
    return (relu_logits - logits * labels) + torch.log1p(torch.exp(neg_abs_logits))


def sigmoid_xent(labels: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """``tf.nn.sigmoid_cross_entropy_with_logits``: same value, same gradient sums."""
    return _SigmoidXent.apply(logits, labels)


class _TfPow(torch.autograd.Function):
    generate_vmap_rule = True  # with the forward/setup_context split: torch.func can run it

    @staticmethod
    def forward(x, exponent):
        return torch.pow(x, exponent)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, exponent = inputs
        ctx.exponent = exponent
        ctx.save_for_backward(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        e = ctx.exponent
        return grad * e * torch.pow(x, e - 1.0), None


def tf_pow(x: torch.Tensor, exponent: float) -> torch.Tensor:
    """``tf.pow(x, exponent)`` for a Python-number exponent, with TF's gradient."""
    return _TfPow.apply(x, float(exponent))


class _TfElu(torch.autograd.Function):
    generate_vmap_rule = True  # with the forward/setup_context split: torch.func can run it

    @staticmethod
    def forward(x):
        return torch.where(x < 0, torch.exp(torch.clamp_max(x, 0.0)) - 1.0, x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(output)

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return torch.where(y < 0, grad * (y + 1.0), grad)


def tf_elu(x: torch.Tensor) -> torch.Tensor:
    """``tf.nn.elu``: ``exp(x) - 1`` below 0 (not ``expm1``), ``x`` elsewhere, with TensorFlow's ``EluGrad``:
    ``g (y + 1)`` where the output ``y < 0`` (not ``g exp(x)``, an ulp apart), ``g`` elsewhere (a NaN input
    passes it through)."""
    return _TfElu.apply(x)


class _TfRsqrt(torch.autograd.Function):
    generate_vmap_rule = True  # with the forward/setup_context split: torch.func can run it

    @staticmethod
    def forward(x):
        return torch.rsqrt(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(output)

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        # TensorFlow's RsqrtGrad: 0 where the incoming gradient is 0 (also at y = inf: a zero vector's norm)
        return torch.where(grad == 0, torch.zeros_like(grad), -0.5 * (grad * y) * (y * y))


def tf_rsqrt(x: torch.Tensor) -> torch.Tensor:
    """``tf.math.rsqrt`` with TensorFlow's gradient, which is 0 wherever the incoming gradient is 0 (torch's is
    ``0 * inf = NaN`` at ``x = 0``, e.g. normalising a zero vector behind a clamp)."""
    return _TfRsqrt.apply(x)


class _TfAbs(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x):
        return torch.abs(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        sign = torch.where(torch.isnan(x), x, torch.sign(x))  # TensorFlow's sign(NaN) is NaN (torch's is 0)
        return grad * sign


def tf_abs(x: torch.Tensor) -> torch.Tensor:
    """``tf.abs`` with TensorFlow's gradient ``grad * sign(x)``: NaN at a NaN input (torch's is 0 there)."""
    return _TfAbs.apply(x)


class _TfSoftplus(torch.autograd.Function):
    generate_vmap_rule = True  # with the forward/setup_context split: torch.func can run it

    @staticmethod
    def forward(x):
        # Eigen's softplus: x above -threshold, exp(x) below threshold, log1p(exp(x)) between, with
        # threshold = log(machine epsilon) + 2 (about -13.9 in float32, -34.0 in float64)
        threshold = math.log(torch.finfo(x.dtype).eps) + 2.0
        return torch.where(x > -threshold, x, torch.where(x < threshold, torch.exp(x), torch.log1p(torch.exp(x))))

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (1 + torch.exp(-x))  # TensorFlow's SoftplusGrad


def tf_softplus(x: torch.Tensor) -> torch.Tensor:
    """``tf.math.softplus``: TensorFlow's cut-offs and its gradient ``sigmoid(x)`` (0.5 at 0, where the
    ``max(x, 0) + log1p(exp(-|x|))`` form differentiates to 1)."""
    return _TfSoftplus.apply(x)


class _SparseXent(torch.autograd.Function):
    """F.cross_entropy's value with TensorFlow's gradient ``(softmax(z) - one_hot(y)) * g``: torch's backward
    ``g softmax(z) - g one_hot(y)`` gives NaN at the label where ``g`` is infinite (an infinite sample weight),
    TensorFlow's ``-inf``."""

    generate_vmap_rule = True

    @staticmethod
    def forward(logits, labels):
        return F.cross_entropy(logits, labels, reduction="none")

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs)

    @staticmethod
    def backward(ctx, grad):
        logits, labels = ctx.saved_tensors
        if not ctx.needs_input_grad[0]:
            return None, None
        at = labels.unsqueeze(-1)
        minus_one = torch.full_like(at, -1, dtype=logits.dtype)
        return torch.softmax(logits, -1).scatter_add(-1, at, minus_one) * grad.unsqueeze(-1), None


def sparse_xent(labels: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """``tf.nn.sparse_softmax_cross_entropy_with_logits`` over the last axis.

    ``labels`` has ``logits``'s shape without the last axis. The gradient is TensorFlow's
    ``(softmax(z) - one_hot(y)) * g``.
    """
    c = logits.shape[-1]
    flat = _SparseXent.apply(logits.reshape(-1, c), labels.reshape(-1))
    return flat.reshape(labels.shape)


# Eigen's packet width (elements) in TensorFlow's CPU kernels: AVX on x86-64, NEON on ARM
_PACKET = ({torch.float32: 8, torch.float64: 4} if platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")
           else {torch.float32: 4, torch.float64: 2})


def _eigen_sum(a: np.ndarray, packet: int, first: int = 0) -> np.ndarray:
    """The sums of the rows of the 2-D array ``a`` (along its last axis), each in the order of Eigen's
    single-threaded inner-most reduction (``InnerMostDimReducer``, TensorFlow's full reductions and its
    reductions of the last axis): above ``1024 * packet`` elements (``LeafSize``; float16: ``200 * packet``) the
    tree: the row split at the first packet-aligned absolute index past its middle (``first`` is the flat offset
    of the first row, the others follow it), the halves summed in order; else four packet accumulators over blocks
    of four packets, merged in order, the remaining whole packets added to the first, the horizontal sum of that
    packet (halving) added to the sequential sum of the tail. The rows at once, grouped by their offset modulo
    ``packet`` (rows of one group split alike)."""
    rows, n = a.shape
    period = packet // math.gcd(n, packet)  # rows r and r + period start at the same offset in a packet
    if rows > 1 and period > 1 and n > packet * (200 if a.dtype == np.float16 else 1024):
        out = np.empty(rows, a.dtype)
        for r in range(min(period, rows)):
            out[r::period] = _eigen_tree_sum(a[r::period], packet, first + r * n)
        return out
    return _eigen_tree_sum(a, packet, first)


def _eigen_tree_sum(a: np.ndarray, packet: int, first: int) -> np.ndarray:
    """:func:`_eigen_sum` of rows that all start at ``first`` modulo ``packet``."""
    rows, n = a.shape
    if n > packet * (200 if a.dtype == np.float16 else 1024):
        start = first % packet
        left = min(packet * -(-(start + -(-n // 2)) // packet) - start, n)
        out = _eigen_tree_sum(a[:, :left], packet, start)
        return out if left == n else out + _eigen_tree_sum(a[:, left:], packet, 0)
    block = 4 * packet
    n4, n1 = (n // block) * block, (n // packet) * packet
    if n4:
        # sequential per lane, in a's dtype: NumPy adds pairwise only along the contiguous axis, and here
        # reduces across the blocks (checked equal to np.add.accumulate(...)[..., -1, :], 10x faster)
        acc4 = np.add.reduce(a[:, :n4].reshape(rows, -1, block), axis=1)
        acc = acc4[:, :packet]
        for i in range(1, 4):
            acc = acc + acc4[:, i * packet:(i + 1) * packet]
    else:
        acc = np.zeros((rows, packet), a.dtype)
    for j in range(n4, n1, packet):
        acc = acc + a[:, j:j + packet]
    if a.dtype == np.float16:  # Eigen's predux of a half packet (Packet8h): in float32, rounded once
        acc = acc.astype(np.float32)
    while acc.shape[1] > 1:
        half = acc.shape[1] // 2
        acc = acc[:, :half] + acc[:, half:]
    tail = np.zeros(rows, a.dtype)
    for j in range(n1, n):
        tail = tail + a[:, j]
    return tail + acc[:, 0].astype(a.dtype)


def _tf_threads() -> int:
    """TensorFlow's intra-op thread count by default: ``TF_NUM_INTRAOP_THREADS`` if set, else the CPUs this process
    may run on (``port::MaxParallelism``)."""
    env = os.environ.get("TF_NUM_INTRAOP_THREADS", "")
    if env.strip().isdigit() and int(env) > 0:
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _eigen_full_sum(a: np.ndarray, packet: int, threads: Optional[int] = None):
    """The sum of all of ``a`` as TensorFlow's full ``reduce_sum`` on the CPU (Eigen's ``FullReducer`` on its
    thread pool of ``threads``, default :func:`_tf_threads`): one tree (:func:`_eigen_sum`) up to about 108k
    float32 / 54k float64 elements (Eigen's cost model); above, ``n // threads``-element blocks, each from its
    absolute offset, added in order to the sum of the remainder past the last block."""
    flat = np.ascontiguousarray(a).reshape(-1)
    n = flat.size
    # TensorCostModel::numThreads: per element, the load (bytes * 11 / 64 cycles) and the add (10 / packet cycles)
    cost = n * ((1.0 / 64 * 11) * flat.itemsize + 1.0 * (10.0 / packet))
    most = max(1, int((cost - 100000) / 100000 + 0.9))
    threads = 1 if most == 1 else min(threads or _tf_threads(), most)
    if n == 0 or threads == 1:
        return _eigen_sum(flat.reshape(1, n), packet)[0]
    size = n // threads
    blocks = n // size
    shards = _eigen_sum(flat[:blocks * size].reshape(blocks, size), packet)
    total = _eigen_sum(flat[blocks * size:].reshape(1, -1), packet, blocks * size)[0]
    for shard in shards:
        total = total + shard
    return total


def _eigen_ready(x: torch.Tensor) -> bool:
    return x.device.type == "cpu" and x.dtype in _PACKET and not x.requires_grad


def tf_sum(x: torch.Tensor) -> torch.Tensor:
    """TensorFlow's ``reduce_sum`` of all of ``x`` (a 0-d tensor): Eigen's order on the CPU (a long sum split
    over TensorFlow's default thread count, :func:`_eigen_full_sum`), so float sums round as TensorFlow's do (the
    optimizers' clip norms, the IoU metrics' class sums); torch's sum elsewhere."""
    if not _eigen_ready(x):
        return x.sum()
    a = np.ascontiguousarray(x.numpy()).reshape(1, -1)
    with np.errstate(over="ignore", invalid="ignore"):  # inf / NaN sums as TensorFlow's, without warnings
        return torch.tensor(_eigen_full_sum(a, _PACKET[x.dtype]), dtype=x.dtype)


def _eigen_preserving_sum(a: np.ndarray, packet: int) -> np.ndarray:
    """The sums over the middle axis of the 3-D array ``a`` (kept, reduced, kept) in the order of Eigen's
    reduction that preserves the inner-most axis: the outputs go in packets at multiples of ``packet`` of the
    flat output index; a packet inside one row of the kept inner axis sums in four interleaved accumulators
    (rows ``j % 4``) when at least 16 rows are reduced, merged in order, then the remaining rows in turn
    (``InnerMostDimPreserver``); every other output sums sequentially."""
    b, r, c = a.shape
    out = np.add.reduce(a, axis=1)  # sequential along the reduced axis
    if r < 16:
        return out
    u = (r // 4) * 4
    flat = out.reshape(-1)
    for k0 in range(0, b * c - packet + 1, packet):
        j = k0 % c
        if j + packet > c:  # the packet crosses a row of the kept inner axis: coefficient by coefficient
            continue
        col = a[k0 // c, :, j:j + packet]
        acc = [np.add.reduce(col[i:u:4], axis=0) for i in range(4)]
        total = ((acc[0] + acc[1]) + acc[2]) + acc[3]
        for row in col[u:]:
            total = total + row
        flat[k0:k0 + packet] = total
    return out


def _tf_sum_axis(a: np.ndarray, axis: int, packet: int) -> np.ndarray:
    """TensorFlow's ``reduce_sum`` of ``a`` along ``axis`` (keepdims False): TensorFlow drops the axes of size 1
    and merges neighbours into at most (kept, reduced, kept), then Eigen reduces in the orders above."""
    shape = a.shape[:axis] + a.shape[axis + 1:]
    outer, n, inner = int(np.prod(a.shape[:axis])), a.shape[axis], int(np.prod(a.shape[axis + 1:]))
    if n == 1 or a.size == 0:
        return np.add.reduce(a, axis=axis)
    if inner == 1 and outer == 1:  # nothing kept: a full reduction (over TensorFlow's threads when long)
        return np.asarray(_eigen_full_sum(a, packet), a.dtype).reshape(shape)
    if inner == 1:  # an inner-most reduction per row
        return _eigen_sum(np.ascontiguousarray(a).reshape(outer, n), packet).reshape(shape)
    return _eigen_preserving_sum(np.ascontiguousarray(a).reshape(outer, n, inner), packet).reshape(shape)


def tf_mean(x: torch.Tensor, axis: Optional[int] = None, keepdims: bool = False) -> torch.Tensor:
    """TensorFlow's ``reduce_mean`` of all of ``x`` or along one axis: the sum in Eigen's order on the CPU
    divided by the count (TensorFlow's ``MeanReducer``), as :func:`tf_sum` (a long full sum split over
    TensorFlow's default thread count, :func:`_eigen_full_sum`). torch's mean elsewhere."""
    if not _eigen_ready(x):
        return x.mean() if axis is None else x.mean(axis, keepdim=keepdims)
    a = x.numpy()
    packet = _PACKET[x.dtype]
    with np.errstate(over="ignore", invalid="ignore"):
        if axis is None:
            out = _eigen_full_sum(a, packet) / a.dtype.type(a.size)
            out = np.asarray(out).reshape((1,) * a.ndim if keepdims else ())
        else:
            axis = axis % a.ndim
            out = _tf_sum_axis(a, axis, packet) / a.dtype.type(a.shape[axis])
            if keepdims:
                out = np.expand_dims(out, axis)
    return torch.from_numpy(np.array(out, dtype=a.dtype, order="C"))


def tf_sqrt(x: torch.Tensor) -> torch.Tensor:
    """The correctly rounded square root, as TensorFlow's ``Sqrt`` on the CPU computes it. torch's CPU ``sqrt``
    is not correctly rounded (torch 2.13 on an AVX-512 CPU: an ulp off on about 15% of float32 and 1% of
    float64 inputs); NumPy's is, and writes into the result tensor without a copy. Other devices: torch's."""
    if x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and not x.requires_grad:
        out = torch.empty_like(x)
        with np.errstate(invalid="ignore"):  # NaN for a negative input, silently as TensorFlow's
            np.sqrt(x.numpy(), out=out.numpy())
        return out
    return torch.sqrt(x)


_INT32 = np.iinfo(np.int32)


def tf_convert(value, device=None) -> torch.Tensor:
    """``tf.convert_to_tensor(value)`` without a dtype: a tensor as it is (moved to ``device`` if given); NumPy
    values keep their dtype (``np.float64`` included, though it subclasses ``float``); Python floats, and lists
    holding one, become float32; Python ints int32, or int64 when one does not fit int32; bools bool."""
    if isinstance(value, torch.Tensor):
        return value if device is None else value.to(device)
    if isinstance(value, (np.ndarray, np.generic)):
        return torch.as_tensor(np.asarray(value), device=device)
    a = np.asarray(value)
    if a.dtype == np.float64:
        a = a.astype(np.float32)
    elif a.dtype == np.int64 and a.size and _INT32.min <= a.min() and a.max() <= _INT32.max:
        a = a.astype(np.int32)
    return torch.as_tensor(a, device=device)


def tf_cast(value, dtype: torch.dtype, device=None) -> torch.Tensor:
    """``tf.cast(value, dtype)`` (Keras's ``ops.cast`` on TensorFlow): :func:`tf_convert`, then the cast, so a
    Python float carries float32 rounding even in float64 (``tf.cast(0.1, tf.float64)`` is
    ``0.10000000149011612``) while a NumPy float64 keeps its value."""
    return tf_convert(value).to(dtype=dtype, device=device)


def warn_softmax_of_size_one(x: torch.Tensor, axis, stacklevel: int = 3) -> None:
    """Keras's ``ops.softmax`` warning for an integer ``axis`` of size 1 (every output is 1: a sigmoid was likely
    meant; ``keras/src/ops/nn.py``, ``softmax``), shared by the softmax layer, activation and op."""
    if isinstance(axis, int) and -x.dim() <= axis < x.dim() and x.shape[axis] == 1:
        warnings.warn(f"You are using a softmax over axis {axis} of a tensor of shape {tuple(x.shape)}. This axis "
                      "has size 1. The softmax operation will always return the value 1, which is likely not what "
                      "you intended. Did you mean to use a sigmoid instead?", UserWarning, stacklevel=stacklevel)

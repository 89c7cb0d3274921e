"""Part of :mod:`torch_impl.keras_ops` (import the functions from there): linear algebra and statistics.

``keras.ops``'s linear algebra (``cholesky``, ``cholesky_inverse``, ``det``, ``inv``, ``logdet``, ``slogdet``,
``solve``, ``solve_triangular``, ``lstsq``, ``lu_factor``, ``qr``, ``svd``, ``eigh``, ``eig``, ``pinv``,
``matrix_rank``, and ``jvp``: forward mode, ``torch.func.jvp``), its quantiles (``median``, ``quantile``,
``percentile`` and their ``nan`` versions), the
NaN-ignoring reductions (``nanmean``, ``nansum``, ``nanprod``, ``nanmax``, ``nanmin``, ``nanstd``, ``nanvar``,
``nanargmax``, ``nanargmin``, ``nancumsum``, ``nancumprod``) and ``histogram``, ``corrcoef``, ``cdist``,
``trapezoid``, ``ptp``, ``diff``, with the values, dtypes and gradients of Keras's TensorFlow backend.

Quirks kept (they differ from torch / NumPy):

* ``quantile``/``median`` (``tfp.stats.percentile``): ``q`` is converted to a tensor, then to float64; a Python
  ``q`` becomes a float32 first, so in float64 ``quantile(x, 0.1)`` uses ``float32(0.1)``; ``percentile``
  divides ``q`` (as floatx) by 100 in floatx. "linear" is ``y[hi] * (1 - f) + y[hi - 1] * f`` with
  ``hi = ceil((n - 1) q)`` clipped to ``[1, n - 1]``: at an exact index ``k`` the gradient goes to ``y[k]`` only,
  and an infinite neighbour gives NaN (``median([-inf, 1, 2])`` is NaN; NumPy: 1). A NaN anywhere in a reduced
  slice gives NaN (gradient 0 to that slice). Integers are computed in floatx. A tensor ``q`` gets a gradient.
  ``nanquantile`` of integers along an axis, or with a list ``q`` and an all-NaN slice, raises (as Keras's).
* ``nancumsum``/``nancumprod``: infinities stay, as NumPy's (keras-team/keras#23135/#23134, after 3.15.1,
  followed; Keras 3.15.1's ``nan_to_num`` turns them into the dtype's max/min).
  ``nanmean`` of integers is float32 whatever floatx; ``nanargmax`` of an all-NaN slice is -1.
* ``logdet`` is ``2 * sum(log(diag(cholesky(x))))``: it reads the lower triangle only (a non-symmetric ``x``
  gives the log-determinant of its symmetrised lower part), its gradient is symmetric, and a matrix that is not
  positive definite (a singular one too) gives NaN (torch's ``logdet``: the true value, or -inf). ``cholesky``
  reads the lower triangle too (``upper=True`` is the adjoint of the lower factor: torch's ``upper=True`` reads
  the upper triangle) and raises ``ValueError`` where the factorisation fails. ``eigh`` reads the lower triangle
  and its gradient is lower-triangular (off-diagonal entries counted twice; torch's: symmetric).
* ``solve_triangular`` is upper-triangular by default (``lower=False``).
* ``svd``/``eigh``/``qr``/``eig``: the factors are unique only up to signs (phases for ``eig``, whose order also
  depends on the LAPACK/Eigen routine); the singular values and eigenvalues and every sign-invariant result
  (``lstsq``, ``pinv``, ``|u|``...) match, gradients too (``svd(full_matrices=True)`` with ``|m - n| = 1``
  differentiates the extra column as TensorFlow does; torch ignores it).
* No gradient where TensorFlow has none: ``lu_factor`` and ``svd(full_matrices=True)`` with ``|m - n| > 1``
  raise in the backward pass (TensorFlow: LookupError / NotImplementedError) instead of torch's gradient; so do
  ``det`` and ``slogdet`` of a singular matrix (TensorFlow inverts it; torch: 0 / inf).
* ``lu_factor`` returns Keras's int32 permutation ``p`` with ``(L @ U)[p] == x`` (torch: LAPACK's 1-based swaps);
  a batch raises, as Keras's.
* dtypes: the linear algebra takes float32/float64 only (float16 too for ``inv`` and ``qr``, computed here in
  float32); integers raise where TensorFlow has no kernel, and mixed float32/float64 operands raise (no
  promotion). ``corrcoef`` of int64 is float64 from a mean truncated to an integer.
* ``cdist`` is ``sqrt(sum(square(x - y)))``: the gradient at a zero distance is NaN (TensorFlow's sqrt).
"""

from __future__ import annotations

__all__: list = [
    # linear algebra
    "cholesky", "cholesky_inverse", "det", "inv", "logdet", "slogdet", "solve", "solve_triangular", "lstsq",
    "lu_factor", "qr", "svd", "eigh", "eig", "pinv", "matrix_rank", "jvp",
    # statistics
    "median", "quantile", "percentile", "nanmedian", "nanquantile", "nanpercentile", "histogram", "corrcoef",
    "cdist", "trapezoid", "ptp", "diff",
    # NaN reductions
    "nanmean", "nansum", "nanprod", "nanmax", "nanmin", "nanstd", "nanvar", "nanargmax", "nanargmin",
    "nancumsum", "nancumprod",
]

import builtins  # noqa: E402
import math  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_impl import _ops  # noqa: E402
from torch_impl import keras_ops as _ko  # noqa: E402,F401

_py_any = builtins.any

# --------------------------------------------------------------------------------------------------------------
# linear algebra
# --------------------------------------------------------------------------------------------------------------

_LINALG_DTYPES = (torch.float32, torch.float64, torch.complex64, torch.complex128)


def _assert_2d(*arrays) -> None:
    for a in arrays:
        if a.dim() < 2:
            raise ValueError(f"Expected input to have rank >= 2. Received input with shape {tuple(a.shape)}.")


def _assert_1d(*arrays) -> None:
    for a in arrays:
        if a.dim() < 1:
            raise ValueError(f"Expected input to have rank >= 1. Received scalar input {a}.")


def _assert_square(*arrays) -> None:
    for a in arrays:
        m, n = a.shape[-2:]
        if m != n:
            raise ValueError(f"Expected a square matrix. Received non-square input with shape {tuple(a.shape)}")


def _assert_a_b_compat(a, b) -> None:
    if a.dim() == b.dim():
        if a.shape[-2] != b.shape[-2]:
            raise ValueError("Incompatible shapes between `a` and `b`. Expected `a.shape[-2] == b.shape[-2]`. "
                             f"Received: a.shape={tuple(a.shape)}, b.shape={tuple(b.shape)}")
    elif a.dim() == b.dim() - 1:
        if a.shape[-1] != b.shape[-1]:
            raise ValueError("Incompatible shapes between `a` and `b`. Expected `a.shape[-1] == b.shape[-1]`. "
                             f"Received: a.shape={tuple(a.shape)}, b.shape={tuple(b.shape)}")


def _linalg_dtype(x: torch.Tensor, name: str) -> torch.Tensor:
    """TensorFlow's linear-algebra kernels take float32/float64 (and complex) only: integers, booleans, float16
    and bfloat16 raise (NotFoundError / InvalidArgumentError) where torch would compute or promote."""
    if x.dtype not in _LINALG_DTYPES:
        raise TypeError(f"ops.{name}: no TensorFlow kernel for {_ko._dname(x)} (float32 and float64 only); cast "
                        "first, e.g. ops.cast(x, 'float32')")
    return x


def _same_dtype(a: torch.Tensor, b: torch.Tensor, name: str) -> None:
    if a.dtype != b.dtype:
        raise TypeError(f"ops.{name}: {_ko._dname(a)} and {_ko._dname(b)} (TensorFlow raises on mixed dtypes; "
                        "Keras does not promote here)")


def _chol_lower(x: torch.Tensor, name: str) -> torch.Tensor:
    low, info = torch.linalg.cholesky_ex(x)
    if bool(torch.any(info != 0)) or not bool(torch.all(torch.isfinite(low.detach()))):
        raise ValueError(f"Cholesky decomposition failed: ops.{name}: the input is not positive definite (or holds "
                         "NaN/inf; TensorFlow: InvalidArgumentError)")
    return low


def cholesky(x, upper=False) -> torch.Tensor:
    """``ops.cholesky(x, upper=False)``: the lower factor from ``x``'s lower triangle (``upper=True``: its adjoint;
    torch's ``upper=True`` reads the upper triangle); ``ValueError`` where it fails (not positive definite, NaN)."""
    x = _ko._t(x)
    _assert_2d(x)
    _assert_square(x)
    low = _chol_lower(_linalg_dtype(x, "cholesky"), "cholesky")
    return low.mH if upper else low


def cholesky_inverse(x, upper=False) -> torch.Tensor:
    """``ops.cholesky_inverse(x, upper=False)``: the inverse of ``L L^H`` from its (lower, or upper with
    ``upper=True``) Cholesky factor ``x``, by a triangular solve against the identity."""
    x = _ko._t(x)
    _assert_2d(x)
    _assert_square(x)
    _linalg_dtype(x, "cholesky_inverse")
    eye = torch.eye(x.shape[-1], dtype=x.dtype, device=x.device)
    inv_chol = torch.linalg.solve_triangular(x, eye, upper=bool(upper))
    if upper:
        return inv_chol @ inv_chol.mT
    return inv_chol.mT @ inv_chol


def det(x) -> torch.Tensor:
    """``ops.det(x)``: ``tf.linalg.det`` (LU); TensorFlow's gradient ``g * det * inv(x)^H``, which raises for a
    singular matrix (torch's ``det``: a finite gradient)."""
    x = _ko._t(x)
    _assert_2d(x)
    _assert_square(x)
    return _TfDet.apply(_linalg_dtype(x, "det"))


class _TfDet(torch.autograd.Function):
    """``tf.linalg.det`` with TensorFlow's gradient ``g * det * inv(x)^H``: a singular matrix raises in the
    backward pass (TensorFlow: InvalidArgumentError, not invertible; torch's ``det``: a finite gradient)."""

    @staticmethod
    def forward(x):
        return torch.linalg.det(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0], output)

    @staticmethod
    def backward(ctx, grad):
        x, d = ctx.saved_tensors
        return (grad * d)[..., None, None] * torch.linalg.inv(x.mH)


class _TfLogAbsDet(torch.autograd.Function):
    """``tf.linalg.slogdet``'s ``log|det|`` with TensorFlow's gradient ``g * inv(x)^H`` (singular: raises in the
    backward pass, as TensorFlow; torch's: inf)."""

    @staticmethod
    def forward(x):
        return torch.linalg.slogdet(x)[1]

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad[..., None, None] * torch.linalg.inv(x.mH)


def _half_via_float32(fn, x: torch.Tensor):
    """TensorFlow's float16 kernel (inv, qr) as the float32 result rounded to float16 (torch has no CPU half
    linear algebra): within float16's rounding of TensorFlow's, not bit-equal."""
    if x.dtype != torch.float16:
        return fn(x)
    out = fn(x.to(torch.float32))
    return tuple(o.to(torch.float16) for o in out) if isinstance(out, tuple) else out.to(torch.float16)


def inv(x) -> torch.Tensor:
    """``ops.inv(x)``: ``tf.linalg.inv``; a singular matrix raises; float16 too (computed in float32)."""
    x = _ko._t(x)
    _assert_2d(x)
    _assert_square(x)
    if x.dtype != torch.float16:
        _linalg_dtype(x, "inv")
    return _half_via_float32(torch.linalg.inv, x)


def logdet(x) -> torch.Tensor:
    """``ops.logdet(x)``: ``tf.linalg.logdet``, ``2 * sum(log(diag(cholesky(x))))``: for symmetric positive
    definite ``x`` only: the lower triangle is read (a symmetric gradient), and a matrix that is not positive
    definite gives NaN, a singular one too (torch's ``logdet``: the log of the determinant, -inf if singular).
    Use :func:`slogdet` for general matrices."""
    x = _linalg_dtype(_ko._t(x), "logdet")
    low, info = torch.linalg.cholesky_ex(x)
    bad = (info != 0)[..., None, None]
    if bool(torch.any(bad)):  # TensorFlow's Cholesky fills a failed matrix with NaN (value and gradient NaN)
        low = torch.where(bad, low * math.nan, low)
    return 2.0 * torch.sum(torch.log(torch.diagonal(low, dim1=-2, dim2=-1).real), -1)


def slogdet(x):
    """``ops.slogdet(x)``: ``(sign, log|det|)`` (``tf.linalg.slogdet``); a singular matrix gives ``(0, -inf)``,
    and its gradient raises (TensorFlow inverts ``x``; torch's: inf)."""
    x = _ko._t(x)
    _assert_2d(x)
    _assert_square(x)
    x = _linalg_dtype(x, "slogdet")
    sign = torch.linalg.slogdet(x.detach())[0]  # no gradient (TensorFlow's is None)
    return sign, _TfLogAbsDet.apply(x)


def solve(a, b) -> torch.Tensor:
    """``ops.solve(a, b)``: ``a x = b``; a ``b`` of one rank less than ``a`` is a vector; same dtypes only."""
    a, b = _ko._t(a), _ko._t(b)
    _assert_2d(a)
    _assert_square(a)
    _assert_1d(b)
    _assert_a_b_compat(a, b)
    _linalg_dtype(a, "solve")
    _same_dtype(a, b, "solve")
    a, b = _ko._same_device(a, b)
    if b.dim() == a.dim() - 1:
        return torch.linalg.solve(a, b.unsqueeze(-1)).squeeze(-1)
    return torch.linalg.solve(a, b)


def solve_triangular(a, b, lower=False) -> torch.Tensor:
    """``ops.solve_triangular(a, b, lower=False)``: upper-triangular by default; only that triangle of ``a`` is
    read (and gets a gradient)."""
    a, b = _ko._t(a), _ko._t(b)
    _assert_2d(a)
    _assert_square(a)
    _assert_1d(b)
    _assert_a_b_compat(a, b)
    _linalg_dtype(a, "solve_triangular")
    _same_dtype(a, b, "solve_triangular")
    a, b = _ko._same_device(a, b)
    if b.dim() == a.dim() - 1:
        return torch.linalg.solve_triangular(a, b.unsqueeze(-1), upper=not lower).squeeze(-1)
    return torch.linalg.solve_triangular(a, b, upper=not lower)


def _svd_parts(x: torch.Tensor):
    u, s, vh = torch.linalg.svd(x, full_matrices=False)
    return u, s, vh


def lstsq(a, b, rcond=None) -> torch.Tensor:
    """``ops.lstsq(a, b, rcond=None)``: the least-squares solution only (from the SVD: singular values below
    ``rcond * s[0]`` dropped, ``rcond`` by default ``eps * max(m, n)``); 2-D ``a``, 1-D or 2-D ``b``."""
    a, b = _ko._t(a), _ko._t(b)
    if a.shape[0] != b.shape[0]:
        raise ValueError("Leading dimensions of input arrays must match")
    b_orig_ndim = b.dim()
    if b_orig_ndim == 1:
        b = b[:, None]
    if a.dim() != 2:
        raise TypeError(f"{a.dim()}-dimensional array given. Array must be two-dimensional")
    if b.dim() != 2:
        raise TypeError(f"{b.dim()}-dimensional array given. Array must be one or two-dimensional")
    _linalg_dtype(a, "lstsq")
    _same_dtype(a, b, "lstsq")
    a, b = _ko._same_device(a, b)
    m, n = a.shape
    eps = float(torch.finfo(a.dtype).eps)
    if rcond is None:
        rcond = eps * builtins.max(n, m)
    elif float(rcond) < 0:
        rcond = eps
    u, s, vt = _svd_parts(a)
    cut = torch.as_tensor(float(np.asarray(rcond, dtype=_np_dtype(s.dtype))), dtype=s.dtype, device=s.device)
    mask = s >= cut * s[0]
    safe_s = torch.where(mask, s, torch.ones_like(s)).to(a.dtype)
    s_inv = torch.where(mask, 1 / safe_s, torch.zeros_like(safe_s))[:, None]
    x = vt.mH @ (s_inv * (u.mH @ b))
    return x.reshape(-1) if b_orig_ndim == 1 else x


def _np_dtype(dt: torch.dtype):
    return {torch.float32: np.float32, torch.float64: np.float64}.get(dt, np.float64)


def lu_factor(x):
    """``ops.lu_factor(x)``: ``(lu, p)`` as Keras's TensorFlow backend: the packed LU of partial pivoting and the
    int32 permutation ``p`` with ``(L @ U)[p] == x`` (the inverse of ``tf.linalg.lu``'s; ``torch.linalg.lu_factor``
    gives LAPACK's 1-based swap sequence instead); one square matrix only (a batch raises, as Keras's); no
    gradient (TensorFlow has none: backward raises)."""
    x = _ko._t(x)
    _assert_2d(x)
    _assert_square(x)
    _linalg_dtype(x, "lu_factor")
    if x.dim() > 2:
        raise ValueError("ops.lu_factor: a batch of matrices (Keras's TensorFlow backend raises "
                         "InvalidArgumentError: invert_permutation expects a 1D vector)")
    lu, piv = torch.linalg.lu_factor(x)
    perm = torch.argsort(_swaps_to_perm(piv).long()).to(torch.int32)  # Keras: invert_permutation of tf.linalg.lu's
    if lu.requires_grad:
        lu = _NoGradient.apply(lu, "ops.lu_factor: TensorFlow has no gradient for Lu (LookupError: gradient registry "
                                   "has no entry for: Lu)")
    return lu, perm


class _NoGradient(torch.autograd.Function):
    """The identity, whose backward raises where TensorFlow's gradient raises (no silent torch gradient)."""

    @staticmethod
    def forward(x, message):
        return x.view_as(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.message = inputs[1]

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(ctx.message)


def _swaps_to_perm(piv: torch.Tensor) -> torch.Tensor:
    """LAPACK's 1-based row swaps (``[..., n]``) as the permutation ``perm`` with ``A[perm] = L U``."""
    n = piv.shape[-1]
    flat = piv.reshape(-1, n).cpu().tolist()
    out = []
    for row in flat:
        perm = list(range(n))
        for i, p in enumerate(row):
            j = int(p) - 1
            perm[i], perm[j] = perm[j], perm[i]
        out.append(perm)
    return torch.tensor(out, dtype=torch.int32, device=piv.device).reshape(piv.shape)


def qr(x, mode="reduced"):
    """``ops.qr(x, mode="reduced")``: ``(q, r)``; ``mode`` ``"reduced"`` or ``"complete"`` (anything else
    raises ``ValueError``)."""
    if mode not in {"reduced", "complete"}:
        raise ValueError("`mode` argument value not supported. Expected one of {'reduced', 'complete'}. "
                         f"Received: mode={mode}")
    x = _ko._t(x)
    if x.dtype != torch.float16:
        _linalg_dtype(x, "qr")
    q, r = _half_via_float32(lambda a: tuple(torch.linalg.qr(a, mode=mode)), x)
    return q, r


def svd(x, full_matrices=True, compute_uv=True):
    """``ops.svd(x, full_matrices=True, compute_uv=True)``: ``(u, s, vh)`` (``x = u diag(s) vh``), or the singular
    values with ``compute_uv=False``; singular vectors are unique up to sign only (see the module docstring)."""
    x = _ko._t(x)
    _assert_2d(x)
    _linalg_dtype(x, "svd")
    if compute_uv is False:
        return torch.linalg.svdvals(x)
    m, n = x.shape[-2], x.shape[-1]
    if full_matrices and abs(m - n) == 1 and x.requires_grad:
        # TensorFlow differentiates the extra column of u (m = n + 1) or row of vh (n = m + 1), a unit normal of
        # the other columns; torch ignores it. Its derivative is -U dU^H u_extra: added as a zero-valued term.
        ur, s, vhr = torch.linalg.svd(x, full_matrices=False)
        uf, _, vhf = torch.linalg.svd(x.detach(), full_matrices=True)
        if m > n:
            e = uf[..., :, n:]
            u = torch.cat([ur, e - ur @ (ur.mH @ e)], -1)
            return u, s, vhr
        e = vhf[..., m:, :].mH
        v = vhr.mH
        return ur, s, torch.cat([v, e - v @ (v.mH @ e)], -1).mH
    u, s, vh = torch.linalg.svd(x, full_matrices=bool(full_matrices))
    if full_matrices and abs(m - n) > 1 and x.requires_grad:
        msg = ("ops.svd: TensorFlow's svd gradient is not implemented for abs(m - n) > 1 when full_matrices is True "
               f"(NotImplementedError); received m={x.shape[-2]} and n={x.shape[-1]}")
        u, s, vh = (_NoGradient.apply(t, msg) for t in (u, s, vh))
    return u, s, vh


def eigh(x):
    """``ops.eigh(x)``: ``(eigenvalues ascending, eigenvectors)`` of the Hermitian matrix in ``x``'s lower
    triangle; eigenvectors up to sign."""
    x = _ko._t(x)
    _assert_square(x)
    _assert_2d(x)
    x = _linalg_dtype(x, "eigh")
    # the matrix of x's lower triangle: the same values, and TensorFlow's gradient (lower-triangular, the
    # off-diagonal entries counted twice; torch's is the symmetric one)
    sym = torch.tril(x) + torch.tril(x, -1).mH
    w, v = torch.linalg.eigh(sym)
    return w, v


def eig(x):
    """``ops.eig(x)``: complex ``(eigenvalues, eigenvectors)`` (complex64 for float32, complex128 for float64);
    their order and the eigenvectors' phases are the LAPACK routine's, not necessarily TensorFlow's (Eigen):
    compare eigenvalues as a set."""
    x = _ko._t(x)
    _assert_square(x)
    _assert_2d(x)
    w, v = torch.linalg.eig(_linalg_dtype(x, "eig"))
    return w, v


def pinv(x, rcond=None) -> torch.Tensor:
    """``ops.pinv(x, rcond=None)``: ``tf.linalg.pinv``: singular values ``<= rcond * max(s)`` dropped, ``rcond``
    by default ``10 * max(m, n) * eps`` (NumPy: 1e-15)."""
    x = _ko._t(x)
    _linalg_dtype(x, "pinv")
    if rcond is None:
        rcond = 10.0 * float(builtins.max(x.shape[-2], x.shape[-1])) * float(torch.finfo(x.dtype).eps)
    rc = torch.as_tensor(float(np.asarray(rcond, _np_dtype(x.dtype))), dtype=x.dtype, device=x.device)
    u, s, vh = torch.linalg.svd(x, full_matrices=False)
    cutoff = rc * torch.amax(s, -1)
    s = torch.where(s > cutoff.unsqueeze(-1), s, torch.full_like(s, math.inf))
    return (vh.mH / s.unsqueeze(-2)) @ u.mH


def matrix_rank(x, tol=None) -> torch.Tensor:
    """``ops.matrix_rank(x, tol=None)``: int32 count of the singular values above ``tol`` (by default
    ``eps * max(m, n) * max(s)``)."""
    x = _linalg_dtype(_ko._t(x), "matrix_rank")
    s = torch.linalg.svdvals(x.detach())
    if tol is None:
        eps = torch.finfo(x.dtype).eps
        m = builtins.max(x.shape[-2:])
        tol = eps * torch.tensor(float(m), dtype=s.dtype) * torch.amax(s, -1, keepdim=True)
    else:
        tol = torch.as_tensor(tol, dtype=s.dtype, device=s.device)
    return torch.sum((s > tol).to(torch.int32), -1, dtype=torch.int32)


# --------------------------------------------------------------------------------------------------------------
# quantiles (tfp.stats.percentile, as Keras's TensorFlow backend)
# --------------------------------------------------------------------------------------------------------------


def _axis_list(axis):
    if axis is None:
        return None
    return list(axis) if isinstance(axis, (list, tuple)) else [axis]


def _q64(q) -> torch.Tensor:
    """``convert_to_tensor(q)`` then float64: a Python float becomes a float32 first (``tf.convert_to_tensor``)."""
    return _ops.tf_cast(q, torch.float64)  # a tensor stays differentiable: TensorFlow's fraction has a gradient


def _quantile_impl(x: torch.Tensor, q64: torch.Tensor, axis, method: str, keepdims: bool) -> torch.Tensor:
    nd = x.dim()
    if axis is None:
        y = x.reshape(-1)
    else:
        axis = [int(a) % builtins.max(nd, 1) for a in axis]
        other = sorted(set(range(nd)).difference(axis))
        y = x.permute(other + list(axis))
        y = y.reshape([x.shape[i] for i in other] + [math.prod([x.shape[i] for i in axis])])
    sorted_y = torch.sort(y, dim=-1, stable=True).values
    n = y.shape[-1]
    d = float(n)

    def idx(kind):
        qd = q64.detach()
        if kind == "lower":
            v = torch.floor((d - 1) * qd)
        elif kind == "higher":
            v = torch.ceil((d - 1) * qd)
        else:
            v = torch.round((d - 1) * qd)
        return torch.clamp(v.to(torch.int64), 0, n - 1)

    def gather(i):
        i = i.to(sorted_y.device)
        if i.dim() == 0:
            return sorted_y[..., i]
        return sorted_y[..., i.reshape(-1)].reshape(sorted_y.shape[:-1] + i.shape)

    if method in ("nearest", "lower", "higher"):
        out = gather(idx(method))
    elif method == "midpoint":
        out = 0.5 * (gather(idx("lower")) + gather(idx("higher")))
    elif method == "linear":
        larger = idx("higher")
        exact = (d - 1) * q64
        smaller = torch.clamp(larger - 1, min=0)
        larger = torch.clamp(smaller + 1, max=n - 1)
        frac = (larger.to(torch.float64).to(exact.device) - exact).to(y.dtype).to(y.device)
        out = gather(larger) * (1 - frac) + gather(smaller) * frac
    else:
        raise ValueError(f"Invalid interpolation method. Received: method={method}")
    if x.is_floating_point():
        nan_rows = torch.isnan(x)
        nan_rows = torch.any(nan_rows.reshape(-1)) if axis is None else torch.any(nan_rows, dim=tuple(axis))
        nan_rows = nan_rows.reshape(tuple(nan_rows.shape) + (1,) * q64.dim())
        out = torch.where(nan_rows, torch.full((), math.nan, dtype=out.dtype, device=out.device), out)
    if keepdims:
        if axis is None:
            out = out.reshape((1,) * nd + tuple(out.shape)) if out.dim() <= q64.dim() else out
            out = out.reshape((1,) * (nd + q64.dim() - out.dim()) + tuple(out.shape))
        else:
            for i in sorted(axis):
                out = out.unsqueeze(i)
    k = q64.dim()
    nd_out = out.dim()
    if nd_out < 2 or k % nd_out == 0:
        return out
    shift = k % nd_out
    perm = list(range(nd_out))
    perm = perm[-shift:] + perm[:-shift]
    return out.permute(perm)


def quantile(x, q, axis=None, method="linear", keepdims=False) -> torch.Tensor:
    """``ops.quantile(x, q, axis=None, method="linear", keepdims=False)``: TensorFlow's (``tfp.stats``):
    ``q`` in float64 after its conversion (a Python float is float32 first), ``q``'s dims first; integers in
    floatx; NaN in a slice gives NaN; "linear" interpolates between the sorted ``y[hi - 1]`` and ``y[hi]``,
    ``hi = clip(ceil((n - 1) q), 1, n - 1)``, so an exact index gets the whole gradient and an infinite
    neighbour gives NaN. Ties: the gradient goes to the earlier of equal entries first (stable sort)."""
    x = _ko._t(x)
    q64 = _q64(q)
    x = x.to(_ko._tdt(_ko.result_type(_ko._dname(x), float)))
    return _quantile_impl(x, q64, _axis_list(axis), method, keepdims)


def percentile(x, q, axis=None, method="linear", keepdims=False) -> torch.Tensor:
    """``ops.percentile(x, q, ...)``: :func:`quantile` of ``q / 100`` computed in floatx (in float32 floatx
    ``percentile(x, 10)`` uses ``float32(0.1)``)."""
    x = _ko._t(x)
    q = _percent(q)
    x = x.to(_ko._tdt(_ko.result_type(_ko._dname(x), float)))
    return _quantile_impl(x, q, _axis_list(axis), method, keepdims)


def _percent(q) -> torch.Tensor:
    fx = _ko._tdt(_ko.floatx())
    qt = q if isinstance(q, torch.Tensor) else torch.as_tensor(np.asarray(q, dtype=np.float64))
    return (qt.to(fx) / torch.tensor(100.0, dtype=fx)).to(torch.float64)


def median(x, axis=None, keepdims=False) -> torch.Tensor:
    """``ops.median(x, axis=None, keepdims=False)``: :func:`quantile` at 0.5 ("linear"): of an even count the
    mean of the two middle values, of an odd count the middle one (its whole gradient; an infinite
    lower neighbour gives NaN); integers in floatx."""
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


def _nanquantile_impl(x: torch.Tensor, q64: torch.Tensor, axis, method, keepdims) -> torch.Tensor:
    fx = _ko._tdt(_ko.floatx())

    def one(v):
        valid = v[~torch.isnan(v.to(fx))] if (v.is_floating_point() or fx.is_floating_point) else v
        if valid.numel() > 0:
            return quantile(valid, q64, method=method, keepdims=False)
        return torch.full((), math.nan, dtype=x.dtype, device=x.device)  # Keras's: a scalar whatever q's shape

    if axis is None:
        out = one(x.reshape(-1))
        if keepdims:
            out = out.reshape(tuple(out.shape) + (1,) * x.dim())
        return out
    if not x.is_floating_point():
        raise TypeError(f"ops.nanquantile of {_ko._dname(x)} along an axis (Keras's TensorFlow backend raises "
                        "InvalidArgumentError: its map_fn expects the input dtype back, quantile gives a float)")
    nd = x.dim()
    axis = [int(a) + nd if int(a) < 0 else int(a) for a in axis]
    other = [i for i in range(nd) if i not in axis]
    xt = x.permute(other + axis)
    other_shape = [x.shape[i] for i in other]
    flat = xt.reshape(math.prod(other_shape), -1)
    rows = [one(flat[i]).to(x.dtype) for i in range(flat.shape[0])]
    if _py_any(r.shape != q64.shape for r in rows):  # tf.map_fn's output signature check
        raise ValueError(f"Incompatible shape for value (()), expected ({tuple(q64.shape)}): ops.nanquantile with "
                         "an all-NaN slice and a non-scalar q (Keras's TensorFlow backend raises)")
    res = torch.stack(rows) if rows else torch.zeros((0,) + tuple(q64.shape), dtype=x.dtype, device=x.device)
    if q64.dim() > 0:
        res = res.mT.reshape(tuple(q64.shape) + tuple(other_shape))
    else:
        res = res.reshape(other_shape)
    if keepdims:
        for ax in sorted(axis):
            res = res.unsqueeze(ax + q64.dim())
    return res


def nanquantile(x, q, axis=None, method="linear", keepdims=False) -> torch.Tensor:
    """``ops.nanquantile(x, q, ...)``: :func:`quantile` of each slice's non-NaN values (NaN where there are none);
    ``q`` as floatx, then float64; the result keeps ``x``'s float dtype."""
    x = _ko._t(x)
    fx = _ko._tdt(_ko.floatx())
    q64 = _q_floatx(q, fx)
    return _nanquantile_impl(x, q64, _axis_list(axis), method, keepdims)


def _q_floatx(q, fx) -> torch.Tensor:
    qt = q if isinstance(q, torch.Tensor) else torch.as_tensor(np.asarray(q, dtype=np.float64))
    return qt.to(fx).to(torch.float64)


def nanpercentile(x, q, axis=None, method="linear", keepdims=False) -> torch.Tensor:
    """``ops.nanpercentile(x, q, ...)``: :func:`nanquantile` of ``q / 100`` (in floatx)."""
    x = _ko._t(x)
    return _nanquantile_impl(x, _percent(q), _axis_list(axis), method, keepdims)


def nanmedian(x, axis=None, keepdims=False) -> torch.Tensor:
    """``ops.nanmedian(x, axis=None, keepdims=False)``: :func:`nanquantile` at 0.5; ``axis=()`` returns ``x``."""
    x = _ko._t(x)
    if isinstance(axis, (tuple, list)) and len(axis) == 0:
        return x
    return nanquantile(x, 0.5, axis=axis, keepdims=keepdims)


# --------------------------------------------------------------------------------------------------------------
# NaN reductions
# --------------------------------------------------------------------------------------------------------------


def _isnan_fx(x: torch.Tensor) -> torch.Tensor:
    return torch.isnan(x.to(_ko._tdt(_ko.floatx()))) if not x.is_floating_point() else torch.isnan(x)


def nansum(x, axis=None, keepdims=False) -> torch.Tensor:
    """``ops.nansum(x, axis=None, keepdims=False)``: NaN counted as 0 (gradient 0 there); booleans, int8, int16
    sum as int32, uint8/uint16 as uint32."""
    x = _ko._t(x)
    if x.is_floating_point():
        x = torch.where(torch.isnan(x), torch.zeros((), dtype=x.dtype, device=x.device), x)
    return _ko.sum(x, axis=axis, keepdims=keepdims)


def nanmean(x, axis=None, keepdims=False) -> torch.Tensor:
    """``ops.nanmean(x, axis=None, keepdims=False)``: the mean of the non-NaN entries (NaN where there are none);
    integers and booleans give float32 whatever floatx; ``axis=()`` returns ``x``."""
    x = _ko._t(x)
    if isinstance(axis, (tuple, list)) and len(axis) == 0:
        return x
    if not x.is_floating_point():
        return _ko.mean(x.to(torch.float32), axis=axis, keepdims=keepdims)
    total = nansum(x, axis=axis, keepdims=keepdims)
    count = _ko.sum((~torch.isnan(x)).to(x.dtype), axis=axis, keepdims=keepdims)
    return total / count


def _nan_extreme(x, axis, keepdims, largest: bool) -> torch.Tensor:
    x = _ko._t(x)
    if not x.is_floating_point():
        if x.dtype == torch.bool:
            return (_ko.any if largest else _ko.all)(x, axis=axis, keepdims=keepdims)
        return (_ko.max if largest else _ko.min)(x, axis=axis, keepdims=keepdims)
    nan = torch.isnan(x)
    fill = torch.full((), -math.inf if largest else math.inf, dtype=x.dtype, device=x.device)
    clean = torch.where(nan, fill, x)
    red = (_ko.max if largest else _ko.min)(clean, axis=axis, keepdims=keepdims)
    all_nan = _ko.all(nan, axis=axis, keepdims=keepdims)
    return torch.where(all_nan, torch.full((), math.nan, dtype=x.dtype, device=x.device), red)


def nanmax(x, axis=None, keepdims=False) -> torch.Tensor:
    """``ops.nanmax(x, axis=None, keepdims=False)``: the max ignoring NaN (NaN where all are NaN); ties share
    the gradient; booleans are ``any``."""
    return _nan_extreme(x, axis, keepdims, True)


def nanmin(x, axis=None, keepdims=False) -> torch.Tensor:
    """``ops.nanmin(x, axis=None, keepdims=False)``: as :func:`nanmax`."""
    return _nan_extreme(x, axis, keepdims, False)


def nanprod(x, axis=None, keepdims=False) -> torch.Tensor:
    """``ops.nanprod(x, axis=None, keepdims=False)``: NaN counted as 1; :func:`prod`'s dtypes."""
    x = _ko._t(x)
    if x.is_floating_point():
        x = torch.where(torch.isnan(x), torch.ones((), dtype=x.dtype, device=x.device), x)
    return _ko.prod(x, axis=axis, keepdims=keepdims)


def nanvar(x, axis=None, keepdims=False) -> torch.Tensor:
    """``ops.nanvar(x, axis=None, keepdims=False)``: the population variance of the non-NaN entries (the
    gradient flows through the mean too); integers become floatx."""
    x = _ko._t(x)
    x = x.to(_ko._tdt(_ko.result_type(_ko._dname(x), float)))
    m = nanmean(x, axis=axis, keepdims=True)
    valid = ~torch.isnan(x)
    centered = torch.where(valid, x - m, torch.zeros_like(x))
    centered = torch.square(centered)
    count = _ko.sum(valid.to(centered.dtype), axis=axis, keepdims=keepdims)
    return _ko.sum(centered, axis=axis, keepdims=keepdims) / count


def nanstd(x, axis=None, keepdims=False) -> torch.Tensor:
    """``ops.nanstd(x, axis=None, keepdims=False)``: ``sqrt`` of :func:`nanvar` (TensorFlow's sqrt gradient)."""
    v = nanvar(x, axis=axis, keepdims=keepdims)
    return _ko.sqrt(v)


def _nan_arg(x, axis, keepdims, largest: bool) -> torch.Tensor:
    x = _ko._t(x)
    fn = _ko.argmax if largest else _ko.argmin
    if not x.is_floating_point():
        return fn(x, axis=axis, keepdims=keepdims)
    nan = torch.isnan(x)
    fill = torch.full((), -math.inf if largest else math.inf, dtype=x.dtype, device=x.device)
    idx = fn(torch.where(nan, fill, x), axis=axis, keepdims=keepdims)
    if axis is None:
        all_nan = torch.all(nan)
        if keepdims:
            all_nan = all_nan.reshape((1,) * x.dim())
    else:
        all_nan = torch.all(nan, dim=axis, keepdim=keepdims)
    return torch.where(all_nan, torch.full((), -1, dtype=torch.int32, device=x.device), idx)


def nanargmax(x, axis=None, keepdims=False) -> torch.Tensor:
    """``ops.nanargmax(x, axis=None, keepdims=False)``: int32 index of the max ignoring NaN; -1 where all are
    NaN (NumPy raises)."""
    return _nan_arg(x, axis, keepdims, True)


def nanargmin(x, axis=None, keepdims=False) -> torch.Tensor:
    """``ops.nanargmin(x, axis=None, keepdims=False)``: as :func:`nanargmax`."""
    return _nan_arg(x, axis, keepdims, False)


def nancumsum(x, axis=None, dtype=None) -> torch.Tensor:
    """``ops.nancumsum(x, axis=None, dtype=None)``: ``cumsum(nan_to_num(x, posinf=inf, neginf=-inf))``: NaN
    counts 0, infinities stay (NumPy's; keras-team/keras#23135, after 3.15.1, followed: 3.15.1 turns them into
    the dtype's max/min)."""
    return _ko.cumsum(_ko.nan_to_num(x, posinf=math.inf, neginf=-math.inf), axis=axis, dtype=dtype)


def nancumprod(x, axis=None, dtype=None) -> torch.Tensor:
    """``ops.nancumprod(x, axis=None, dtype=None)``: ``cumprod(nan_to_num(x, nan=1, posinf=inf, neginf=-inf))``
    (infinities stay: keras-team/keras#23134, after 3.15.1, followed; 3.15.1 turns them into the dtype's
    max/min)."""
    return _ko.cumprod(_ko.nan_to_num(x, nan=1.0, posinf=math.inf, neginf=-math.inf), axis=axis, dtype=dtype)


# --------------------------------------------------------------------------------------------------------------
# the rest of the statistics
# --------------------------------------------------------------------------------------------------------------


def ptp(x, axis=None, keepdims=False) -> torch.Tensor:
    """``ops.ptp(x, axis=None, keepdims=False)``: ``max - min`` in ``x``'s dtype (ties share the gradient);
    booleans raise, as TensorFlow's."""
    x = _ko._t(x)
    if x.dtype == torch.bool:
        raise TypeError("ops.ptp does not take booleans (TensorFlow raises)")
    return _ko.max(x, axis=axis, keepdims=keepdims) - _ko.min(x, axis=axis, keepdims=keepdims)


def diff(a, n=1, axis=-1) -> torch.Tensor:
    """``ops.diff(a, n=1, axis=-1)``: ``n``-th differences in ``a``'s dtype (booleans: ``!=``)."""
    a = _ko._t(a)
    if n == 0:
        return a
    if n < 0:
        raise ValueError(f"Order `n` must be non-negative. Received n={n}")
    if a.dim() == 0:
        raise ValueError(f"`diff` requires input that is at least one dimensional. Received: a={a}")
    axis = int(axis) % a.dim()
    for _ in range(n):
        hi = a.narrow(axis, 1, builtins.max(a.shape[axis] - 1, 0))
        lo = a.narrow(axis, 0, builtins.max(a.shape[axis] - 1, 0))
        a = (hi != lo) if a.dtype == torch.bool else hi - lo
    return a


def trapezoid(y, x=None, dx=1.0, axis=-1) -> torch.Tensor:
    """``ops.trapezoid(y, x=None, dx=1.0, axis=-1)``: ``sum(0.5 * (y[1:] + y[:-1]) * dx)``; integers in floatx;
    a Python ``dx`` goes through float32 (``tf.cast``: ``dx=0.1`` is ``float32(0.1)`` in float64 too)."""
    y = _ko._t(y)
    dt = _ko._tdt(_ko.result_type(_ko._dname(y), float))
    y = y.to(dt)
    if x is None:
        dxa = _ko._t(dx).to(dt) if not isinstance(dx, torch.Tensor) else dx.to(dt)
    else:
        xx = _ko._t(x, dt)
        dxa = torch.movedim(diff(xx, axis=axis), axis, -1)
    y = torch.movedim(y, axis, -1)
    avg = 0.5 * (y[..., 1:] + y[..., :-1])
    return torch.sum(avg * dxa, -1)


def cdist(x, y) -> torch.Tensor:
    """``ops.cdist(x, y)``: Euclidean distances ``sqrt(sum(square(x[..., :, None, :] - y[..., None, :, :])))``
    (gradient NaN at a zero distance, as TensorFlow's sqrt) in ``result_type(x, y, float)`` (keras-team/keras#23213,
    after 3.15.1, followed: 3.15.1 raises for mixed dtypes and integers)."""
    x, y = _ko._t(x), _ko._t(y)
    dt = _ko._tdt(_ko.result_type(_ko._dname(x), _ko._dname(y), float))
    x, y = x.to(dt), y.to(dt)
    if x.dim() < 2 or y.dim() < 2:
        raise ValueError("`cdist` inputs must have rank >= 2")
    if x.shape[-1] != y.shape[-1]:
        raise ValueError("Last dimension of inputs to `cdist` must match")
    x, y = _ko._same_device(x, y)
    d = x.unsqueeze(-2) - y.unsqueeze(-3)
    return _ko.sqrt(torch.sum(torch.square(d), -1))


def corrcoef(x) -> torch.Tensor:
    """``ops.corrcoef(x)``: Pearson correlations of the rows, clipped to ``[-1, 1]`` (no gradient where
    clipped); small integers and booleans in floatx; int64 float64, from a mean truncated to an integer (Keras's
    quirk)."""
    x = _ko._t(x)
    if _ko._dname(x) in ("bool", "int8", "int16", "int32", "uint8", "uint16", "uint32"):
        x = x.to(_ko._tdt(_ko.floatx()))
    if x.dim() == 0:
        return torch.tensor(math.nan, dtype=_ko._tdt(_ko.floatx()))
    if not x.is_floating_point():  # int64 (uint64): an integer mean (truncated), then a float64 covariance
        if x.dim() == 0 or x.shape[-1] == 0:
            raise ValueError("ops.corrcoef: an empty integer input")
        m = torch.div(torch.sum(x, -1, keepdim=True), x.shape[-1], rounding_mode="trunc")
        xc = x - m
        cov = (xc @ xc.mT).to(torch.float64) / float(x.shape[-1] - 1)
    else:
        m = torch.mean(x, -1, keepdim=True)
        xc = x - m
        n = torch.tensor(float(x.shape[-1]), dtype=x.dtype, device=x.device)
        cov = (xc @ xc.mH) / (n - 1)
    sd = _ko.sqrt(torch.diagonal(cov, dim1=-2, dim2=-1).real)
    outer = torch.tensordot(sd, sd, dims=0)
    corr = cov / outer
    return _ko.clip(corr, -1.0, 1.0)


def histogram(x, bins=10, range=None):  # noqa: A002 - Keras's name
    """``ops.histogram(x, bins=10, range=None)``: ``(counts, edges)`` of a 1-D ``x``; the counts in ``x``'s
    dtype, the edges ``tf.linspace(min, max, bins + 1)`` (first and last exact, the middle ``start + i * delta``)
    cast to ``x``'s dtype; values outside ``range`` ignored, the last bin closed."""
    if not isinstance(bins, int):
        raise TypeError(f"Argument `bins` must be of type `int`. Received: bins={bins}")
    if bins < 0:
        raise ValueError(f"Argument `bins` should be a non-negative integer. Received: bins={bins}")
    if range:
        if len(range) < 2 or not isinstance(range, tuple):
            raise ValueError(f"Argument `range` must be a tuple of two elements. Received: range={range}")
        if range[1] < range[0]:
            raise ValueError(f"The second element of `range` must be greater than the first. Received: range={range}")
    x = _ko._t(x)
    if x.dim() > 1:
        raise ValueError(f"Input tensor must be 1-dimensional. Received: input.shape={tuple(x.shape)}")
    if range is None:
        lo, hi = torch.amin(x), torch.amax(x)
    else:
        lo, hi = range
        lo, hi = _ko._t(lo), _ko._t(hi)
        lo, hi = lo.to(x.device), hi.to(x.device)
    sel = x[(x >= lo) & (x <= hi)]
    edges = _tf_linspace(lo, hi, bins + 1).to(x.dtype)
    idx = torch.searchsorted(edges[1:-1].detach().contiguous(), sel.detach().contiguous(), right=True)
    counts = torch.zeros(bins, dtype=x.dtype, device=x.device)
    counts = counts.index_add(0, idx, torch.ones(idx.shape, dtype=x.dtype, device=x.device))
    return counts, edges


def _tf_linspace(start: torch.Tensor, stop: torch.Tensor, num: int) -> torch.Tensor:
    """``tf.linspace(start, stop, num)`` for scalars: ``[start, start + delta * i, ..., stop]``; integers give
    float64 (TensorFlow's true division)."""
    if not start.is_floating_point():
        start, stop = start.to(torch.float64), stop.to(torch.float64)
    n_steps = builtins.max(num - 1, 1)
    delta = (stop - start) / torch.tensor(float(n_steps), dtype=start.dtype)
    rng = torch.arange(1, n_steps, dtype=torch.int64, device=start.device).to(start.dtype)
    res = start + delta * rng
    out = torch.cat([start.reshape(1), res, stop.reshape(1)])
    return out[:num]


def jvp(fun, primals, tangents, has_aux: bool = False):
    """``ops.jvp(fun, primals, tangents, has_aux=False)``: the forward-mode product ``(fun(*primals), J @ tangents)``
    (``torch.func.jvp``), the tangents cast to their primals' dtypes as Keras does; with ``has_aux`` ``fun`` returns
    ``(output, aux)`` and the result is ``(output, tangent_out, aux)``."""
    primals = tuple(_ko._t(p) for p in primals)
    tangents = tuple(_ko._t(t).to(p.dtype) for t, p in zip(tangents, primals))
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    out = torch.func.jvp(fun, primals, tangents, has_aux=has_aux)
    return out

"""Reductions over ``dim``/``axis`` with ``keepdim``/``keepdims``: sum, mean, var, std, max, min,
amax, amin, argmax, argmin, logsumexp, prod, norm, cumsum, all, any, count_nonzero.

Subgradients at ties (documented, PyTorch's choices): ``max``/``min`` along a dim send the whole
gradient to the index they return (the first occurrence); ``amax``/``amin`` and the full
``max()``/``min()`` split it evenly among the tied elements.
"""

from __future__ import annotations

import builtins
from typing import NamedTuple
import warnings

from .. import backend as B
from ..autograd.function import Function, apply1
from ..autograd.tensor import Tensor
from ..errors import op_error
from ._util import norm_axis, register_methods, resolve_axis, unwrap
from .arithmetic import abs as _abs
from .arithmetic import maximum, minimum

__all__ = ["sum", "mean", "var", "std", "max", "min", "amax", "amin", "argmax", "argmin",
           "logsumexp", "prod", "norm", "cumsum", "all", "any", "count_nonzero"]

_np = B.np


class ValuesIndices(NamedTuple):
    """``(values, indices)`` as returned by ``max(dim)``, ``min(dim)``, ``topk`` and ``sort``."""

    values: Tensor
    indices: Tensor


def _keep_shape(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _keep(g, shape, axes, keepdims):
    """A reduced gradient reshaped so it broadcasts against the input (reduced dims kept as 1)."""
    return g if keepdims else g.reshape(_keep_shape(shape, axes))


_FRESH_MAX = 4096  # up to this many elements a filled array beats broadcast_to's overhead


def _expand(g, shape, axes, keepdims, xp, size):
    """Broadcast a reduced gradient back to the input shape (``size`` elements). ``axes`` None
    means a full reduction (``g`` already broadcasts). Small results are fresh arrays, large
    ones read-only broadcast views; when nothing repeats it is a reshape."""
    if axes is not None:
        g = _keep(g, shape, axes, keepdims)
    if g.size == size:
        return g.reshape(shape)
    if size <= _FRESH_MAX:
        out = xp.empty(shape, g.dtype)
        out[...] = g
        return out
    return xp.broadcast_to(g, shape)


def _count(shape, axes) -> int:
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def _drop(y, axes, keepdims):
    """Remove the kept reduced dims of ``y`` unless ``keepdims``."""
    return y if keepdims else y.reshape([s for i, s in enumerate(y.shape) if i not in axes])


class Sum(Function):
    grads_fit = True  # backward expands to exactly the input's shape
    axis = None      # defaults, so the common full sum is ``Sum.apply(x)`` with no parameters
    keepdims = False

    def forward(self, x):
        self.shape, self.size = x.shape, x.size
        if self.axis is None:  # the common full reduction: no keyword arguments to parse
            self.axes = None
            if self.keepdims:
                return x.sum(keepdims=True)
            # ndarray.sum is a Python wrapper around add.reduce: call it directly on the host
            return _np.add.reduce(x, None) if self.xp is _np else x.sum()
        self.axes = norm_axis(self.axis, x.ndim)
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        return (_expand(gy, self.shape, self.axes, self.keepdims, self.xp, self.size),)


class Mean(Function):
    grads_fit = True  # backward expands to exactly the input's shape
    axis = None
    keepdims = False

    def forward(self, x):
        self.shape, self.size = x.shape, x.size
        self.axes = None if self.axis is None else norm_axis(self.axis, x.ndim)
        return x.mean(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        n = self.size if self.axes is None else _count(self.shape, self.axes)
        return (_expand(gy / n, self.shape, self.axes, self.keepdims, self.xp, self.size),)


class Var(Function):
    """Variance (``std=True``: standard deviation) with ``correction`` (Bessel's for 1)."""

    def forward(self, x):
        self.axes = norm_axis(self.axis, x.ndim)
        dof = _count(x.shape, self.axes) - self.correction
        if dof > 0:
            self.scale = 1.0 / dof
        else:  # torch divides by max(0, dof): inf, or NaN where the slice is constant
            warnings.warn("var/std: degrees of freedom is <= 0 (correction "
                          f"{self.correction} >= N {dof + self.correction})", UserWarning,
                          stacklevel=4)
            self.scale = float("inf")
        d = x - x.mean(axis=self.axis, keepdims=True)
        with self.xp.errstate(invalid="ignore"):
            y = (d * d).sum(axis=self.axis, keepdims=True) * self.scale
        if self.std:
            y = self.xp.sqrt(y)
            self.saved = (d, y)
        else:
            self.saved = (d,)
        return _drop(y, self.axes, self.keepdims)

    def backward(self, gy):
        d = self.saved[0]
        g = _keep(gy, d.shape, self.axes, self.keepdims)
        if self.std:  # d std = d var / (2 std); subgradient 0 where std == 0 (constant slices)
            y = self.saved[1]
            g = self.xp.where(y > 0, g, 0) / (2 * self.xp.where(y > 0, y, 1))
        with self.xp.errstate(invalid="ignore"):
            return (g * d * (2 * self.scale),)


class MaxDim(Function):
    """``(values, indices)`` of the max (``largest``) or min along one axis; the gradient goes
    to the returned index (the first occurrence at ties), as PyTorch does."""

    def forward(self, x):
        xp, ax = self.xp, self.axis
        idx = (x.argmax if self.largest else x.argmin)(axis=ax, keepdims=True)
        vals = xp.take_along_axis(x, idx, ax)
        self.shape = x.shape
        self.saved = (idx,)
        if not self.keepdims:
            idx, vals = idx.squeeze(ax), vals.squeeze(ax)
        return vals, idx.astype(_np.int64, copy=False)

    def backward(self, gv, gi):
        (idx,) = self.saved
        xp, ax = self.xp, self.axis
        if not self.keepdims:
            gv = xp.expand_dims(gv, ax)
        pos = xp.arange(self.shape[ax]).reshape([-1] + [1] * (len(self.shape) - ax - 1))
        return (xp.where(pos == idx, gv, 0),)


class AMax(Function):
    """Max (``largest``) or min over axes; ties share the gradient evenly (PyTorch's amax)."""

    def forward(self, x):
        self.axes = norm_axis(self.axis, x.ndim)
        y = (x.max if self.largest else x.min)(axis=self.axis, keepdims=True)
        self.saved = (x, y)
        return _drop(y, self.axes, self.keepdims)

    def backward(self, gy):
        x, y = self.saved
        mask = x == y
        cnt = mask.sum(axis=self.axis, keepdims=True).astype(gy.dtype)
        g = _keep(gy, x.shape, self.axes, self.keepdims) / cnt
        return (self.xp.where(mask, g, 0),)


class LogSumExp(Function):
    def forward(self, x):
        xp = self.xp
        self.axes = norm_axis(self.axis, x.ndim)
        m = x.max(axis=self.axis, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)  # all -inf (or +inf) slices stay -inf (+inf), no NaN
        e = xp.exp(x - m)
        s = e.sum(axis=self.axis, keepdims=True)
        with _np.errstate(divide="ignore"):
            y = xp.log(s) + m
        self.saved = (e, s)
        return _drop(y, self.axes, self.keepdims)

    def backward(self, gy):
        e, s = self.saved
        return (_keep(gy, e.shape, self.axes, self.keepdims) * (e / s),)


class Prod(Function):
    """Product; the backward is exact with zeros: one zero in a slice gets the product of the
    others, every other element (and all elements of a slice with two zeros) gets 0."""

    def forward(self, x):
        self.axes = norm_axis(self.axis, x.ndim)
        y = x.prod(axis=self.axis, keepdims=True)
        self.saved = (x, y)
        return _drop(y, self.axes, self.keepdims)

    def backward(self, gy):
        x, y = self.saved
        xp = self.xp
        g = _keep(gy, x.shape, self.axes, self.keepdims)
        z = x == 0
        if not bool(z.any()):
            return (g * (y / x),)
        cnt = z.sum(axis=self.axis, keepdims=True)
        xnz = xp.where(z, 1, x)
        pnz = xnz.prod(axis=self.axis, keepdims=True)  # product of the nonzero elements
        return (g * xp.where(z, (cnt == 1) * pnz, (cnt == 0) * pnz / xnz),)


class Norm2(Function):
    """Euclidean norm; the subgradient at 0 is 0."""

    def forward(self, x):
        self.axes = norm_axis(self.axis, x.ndim)
        y = self.xp.sqrt((x * x).sum(axis=self.axis, keepdims=True))
        self.saved = (x, y)
        return _drop(y, self.axes, self.keepdims)

    def backward(self, gy):
        x, y = self.saved
        g = _keep(gy, x.shape, self.axes, self.keepdims)
        return (x * (g / self.xp.where(y == 0, 1, y)),)  # x == 0 wherever y == 0


class CumSum(Function):
    def forward(self, x):
        self.shape = x.shape
        return self.xp.cumsum(x, axis=self.axis)

    def backward(self, gy):
        xp = self.xp
        ax = 0 if self.axis is None else self.axis
        g = xp.flip(xp.cumsum(xp.flip(gy, ax), axis=ax), ax)
        return (g.reshape(self.shape),)


def sum(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Sum over ``axis``/``dim`` (int, tuple or None for all).

    Args:
        x (Tensor): input. axis/dim (int | tuple | None): dims to reduce; None: all.
        keepdims/keepdim (bool): keep reduced dims with size 1. Default False.

    Returns:
        Tensor: the sums. Shape: ``x.shape`` without (or with size-1) reduced dims.
    """
    if axis is None and dim is None and keepdim is None and not keepdims:
        return apply1(Sum, x)
    axis, keepdims = resolve_axis(axis, dim, keepdims, keepdim)
    return Sum.apply(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Arithmetic mean over ``axis``/``dim``; arguments as :func:`sum`."""
    if axis is None and dim is None and keepdim is None and not keepdims:
        return apply1(Mean, x)
    axis, keepdims = resolve_axis(axis, dim, keepdims, keepdim)
    return Mean.apply(x, axis=axis, keepdims=keepdims)


def _correction(unbiased, correction, ddof) -> float:
    if builtins.sum(a is not None for a in (unbiased, correction, ddof)) > 1:
        raise TypeError("var/std: pass only one of unbiased=, correction= or ddof=")
    if correction is not None:
        return correction
    if ddof is not None:
        return ddof
    return 0 if unbiased is False else 1


def var(x, dim=None, unbiased=None, keepdim=None, *, correction=None, ddof=None, axis=None,
        keepdims=False):
    """Variance ``sum((x - mean)**2) / (N - correction)`` over ``dim`` (PyTorch's defaults).

    Args:
        x (Tensor): input. dim/axis (int | tuple | None): dims to reduce; None: all.
        unbiased (bool): True is ``correction=1``, False ``correction=0``.
        keepdim/keepdims (bool): keep reduced dims. Default False.
        correction (int): subtracted from N (NumPy's ``ddof``). Default 1 (Bessel), as torch.

    Returns:
        Tensor: the variances; where ``N <= correction`` inf (NaN for a constant slice) with
            a UserWarning, as PyTorch.
    """
    axis, keepdims = resolve_axis(axis, dim, keepdims, keepdim)
    c = _correction(unbiased, correction, ddof)
    return Var.apply(x, axis=axis, keepdims=keepdims, correction=c, std=False)


def std(x, dim=None, unbiased=None, keepdim=None, *, correction=None, ddof=None, axis=None,
        keepdims=False):
    """Standard deviation ``sqrt(var(...))``; arguments as :func:`var`. Where it is 0 the
    gradient is 0 (the true one is infinite)."""
    axis, keepdims = resolve_axis(axis, dim, keepdims, keepdim)
    c = _correction(unbiased, correction, ddof)
    return Var.apply(x, axis=axis, keepdims=keepdims, correction=c, std=True)


def _extremum(name, largest, x, dim, keepdim, axis, keepdims):
    if isinstance(dim, (Tensor, *B.ndarray_types)):  # torch.max(a, b): elementwise
        return (maximum if largest else minimum)(x, dim)
    if axis is not None or dim is None:  # full reduction, or NumPy's axis=: values only
        return AMax.apply(x, axis=axis, keepdims=bool(keepdims or keepdim), largest=largest)
    if not isinstance(dim, int):
        raise op_error(name, "dim to be an int (use amax/amin for several dims)", repr(dim))
    nd = unwrap(x).ndim
    if not -nd <= dim < builtins.max(nd, 1):
        raise op_error(name, f"dim in [{-nd}, {nd})", f"dim={dim} for shape {unwrap(x).shape}")
    vals, idx = MaxDim.apply(x, axis=dim % builtins.max(nd, 1), keepdims=bool(keepdim),
                             largest=largest)
    return ValuesIndices(vals, idx)


def max(x, dim=None, keepdim=False, *, axis=None, keepdims=False):
    """Maximum, PyTorch style.

    ``max(x)`` returns the largest value (ties share the gradient evenly). ``max(x, dim)``
    returns ``(values, indices)`` (attributes ``.values``/``.indices``, or unpack); the gradient
    goes to the returned index, the first occurrence at ties. ``max(x, other)`` is
    :func:`maximum`. With NumPy's ``axis=`` only the values are returned (as ``np.max``).

    Args:
        x (Tensor): input. dim (int | Tensor | None): dim to reduce, or the other tensor.
        keepdim (bool): keep the reduced dim with size 1. Default False.

    Returns:
        Tensor, or ``ValuesIndices(values, indices)`` (indices int64) when ``dim`` is an int.
    """
    return _extremum("max", True, x, dim, keepdim, axis, keepdims)


def min(x, dim=None, keepdim=False, *, axis=None, keepdims=False):
    """Minimum; the mirror of :func:`max` (same arguments and return types)."""
    return _extremum("min", False, x, dim, keepdim, axis, keepdims)


def amax(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Max over ``dim`` (int, tuple or None for all); tied elements share the gradient evenly.

    Args:
        x (Tensor): input. dim/axis: dims to reduce. keepdim/keepdims (bool): Default False.

    Returns:
        Tensor: the maxima (values only, no indices).
    """
    axis, keepdims = resolve_axis(axis, dim, keepdims, keepdim)
    return AMax.apply(x, axis=axis, keepdims=keepdims, largest=True)


def amin(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Min over ``dim``; the mirror of :func:`amax`."""
    axis, keepdims = resolve_axis(axis, dim, keepdims, keepdim)
    return AMax.apply(x, axis=axis, keepdims=keepdims, largest=False)


def _arg(x, dim, keepdim, axis, keepdims, largest):
    axis, keepdims = resolve_axis(axis, dim, keepdims, keepdim)
    a = unwrap(x)
    i = (a.argmax if largest else a.argmin)(axis=axis, keepdims=keepdims)
    return Tensor(i.astype(_np.int64, copy=False))


def argmax(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the max along ``dim`` (of the flattened tensor when None); first at ties.

    Args:
        x (Tensor): input. dim/axis (int | None). keepdim/keepdims (bool): Default False.

    Returns:
        Tensor: int64 indices, no gradient.
    """
    return _arg(x, dim, keepdim, axis, keepdims, True)


def argmin(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the min along ``dim``; the mirror of :func:`argmax`."""
    return _arg(x, dim, keepdim, axis, keepdims, False)


def logsumexp(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """``log(sum(exp(x)))`` over ``dim``, computed stably (the max is subtracted first).

    Args:
        x (Tensor): input. dim/axis (int | tuple | None): None reduces all.
        keepdim/keepdims (bool): Default False.

    Returns:
        Tensor: finite for finite inputs of any magnitude; its gradient is ``softmax(x)``.
    """
    axis, keepdims = resolve_axis(axis, dim, keepdims, keepdim)
    return LogSumExp.apply(x, axis=axis, keepdims=keepdims)


def prod(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Product over ``dim``; the gradient is exact where elements are zero.

    Args:
        x (Tensor): input. dim/axis (int | tuple | None). keepdim/keepdims (bool): Default False.

    Returns:
        Tensor: the products.
    """
    axis, keepdims = resolve_axis(axis, dim, keepdims, keepdim)
    return Prod.apply(x, axis=axis, keepdims=keepdims)


def norm(x, p="fro", dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Vector p-norm over ``dim`` (all elements when None), as ``torch.norm``.

    Args:
        x (Tensor): input.
        p (float | str): 2 or ``'fro'`` (default, Euclidean; subgradient 0 at 0), 1, ``inf``
            (max |x|, ties share the gradient), ``-inf``, 0 (count of nonzeros, no gradient),
            or any other positive number.
        dim/axis (int | tuple | None): dims to reduce. keepdim/keepdims (bool): Default False.

    Returns:
        Tensor: the norms.
    """
    axis, keepdims = resolve_axis(axis, dim, keepdims, keepdim)
    if p is None or p == "fro" or p == 2:
        return Norm2.apply(x, axis=axis, keepdims=keepdims)
    if isinstance(p, str):
        raise op_error("norm", "p in (2, 'fro', 1, inf, -inf, 0, float)", repr(p))
    if p == 1:
        return sum(_abs(x), axis=axis, keepdims=keepdims)
    if p == float("inf"):
        return amax(_abs(x), axis=axis, keepdims=keepdims)
    if p == float("-inf"):
        return amin(_abs(x), axis=axis, keepdims=keepdims)
    a = unwrap(x)
    if p == 0:
        return Tensor((a != 0).sum(axis=axis, keepdims=keepdims).astype(a.dtype))
    return sum(_abs(x) ** float(p), axis=axis, keepdims=keepdims) ** (1.0 / p)


def cumsum(x, dim=None, *, axis=None):
    """Cumulative sum along ``dim`` (of the flattened tensor when None, as NumPy).

    Args:
        x (Tensor): input. dim/axis (int | None).

    Returns:
        Tensor: same shape as ``x`` (1-D when ``dim`` is None).
    """
    axis, _ = resolve_axis(axis, dim, False, None)
    return CumSum.apply(x, axis=axis)


def all(x, dim=None, keepdim=False, *, axis=None, keepdims=None, out=None):
    """True where every element along ``dim`` is nonzero (bool Tensor, no gradient)."""
    _no_out("all", out)
    axis, keepdims = resolve_axis(axis, dim, keepdims, keepdim)
    return Tensor(unwrap(x).all(axis=axis, keepdims=keepdims))


def any(x, dim=None, keepdim=False, *, axis=None, keepdims=None, out=None):
    """True where some element along ``dim`` is nonzero (bool Tensor, no gradient)."""
    _no_out("any", out)
    axis, keepdims = resolve_axis(axis, dim, keepdims, keepdim)
    return Tensor(unwrap(x).any(axis=axis, keepdims=keepdims))


def _no_out(op, out):
    # ``np.all(t)`` / ``np.any(t)`` call the method with out=None
    if out is not None:
        raise TypeError(f"{op}: out= is not supported; use the returned tensor")


def count_nonzero(x, dim=None, *, axis=None):
    """Number of nonzero elements along ``dim`` (all when None), as an int64 Tensor."""
    axis, _ = resolve_axis(axis, dim, False, None)
    return Tensor((unwrap(x) != 0).sum(axis=axis).astype(_np.int64))


register_methods(sum=sum, mean=mean, var=var, std=std, max=max, min=min, amax=amax, amin=amin,
                 argmax=argmax, argmin=argmin, logsumexp=logsumexp, prod=prod, norm=norm,
                 cumsum=cumsum, all=all, any=any, count_nonzero=count_nonzero)

# integer inputs reduce in the default float dtype (torch refuses mean/var of an int tensor;
# lamina gives float32, the answer a NumPy user expects, in PyTorch's default dtype)
for _op in (Mean, Var, LogSumExp, Norm2):
    _op.float_op = True

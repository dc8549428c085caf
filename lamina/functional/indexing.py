"""Indexing ops: ``x[key]``, ``x[key] = v`` (no grad), gather/scatter, index_select,
masked_fill, one_hot, nonzero, narrow, topk, sort/argsort.

Backward passes that may meet an index twice (integer-array indexing, gather, index_select)
accumulate with one flat ``add.at`` over precomputed linear positions: repeated indices sum,
with no Python loop over elements.
"""

from __future__ import annotations

from .. import backend as B
from ..autograd.function import Function
from ..autograd.grad_mode import STATE
from ..autograd.tensor import Tensor
from ..errors import DTypeError, check, op_error
from ._util import register_methods, unwrap
from .reduction import ValuesIndices
from .shape import unbind

__all__ = ["getitem", "setitem", "gather", "take_along_dim", "take_along_axis", "index_select",
           "scatter_add", "scatter", "masked_fill", "one_hot", "nonzero", "argwhere", "narrow",
           "topk", "sort", "argsort"]

_np = B.np


def _norm_key(key):
    """Tensors and lists in ``key`` become arrays; returns ``(key, has_integer_array)``."""
    parts = key if isinstance(key, tuple) else (key,)
    out, int_adv = [], False
    for k in parts:
        if isinstance(k, Tensor):
            k = k.array
        elif isinstance(k, list):
            k = _np.asarray(k)
        if isinstance(k, B.ndarray_types):
            kind = k.dtype.kind
            if kind not in "iub":
                raise op_error("getitem", "integer or boolean index arrays",
                               f"an index of dtype {k.dtype}", cls=IndexError)
            if kind != "b":
                if k.ndim == 0 and not B.is_cupy_array(k):
                    k = int(k)
                else:
                    int_adv = True
        out.append(k)
    return tuple(out), int_adv


def _strides(shape):
    st, acc = [0] * len(shape), 1
    for d in range(len(shape) - 1, -1, -1):
        st[d], acc = acc, acc * shape[d]
    return st


def _lin(shape, axis, index, xp):
    """Flat positions, in a C-ordered array of ``shape``, of ``index`` along ``axis`` (every
    other coordinate is the element's own position in ``index``)."""
    st = _strides(shape)
    n = shape[axis]
    index = index.astype(_np.int64, copy=False)
    if index.size and bool((index < 0).any()):
        index = xp.where(index < 0, index + n, index)
    lin = index * st[axis]
    for d, m in enumerate(index.shape):
        if d != axis and m > 1:
            lin = lin + (xp.arange(m) * st[d]).reshape([-1] + [1] * (index.ndim - d - 1))
    return lin


def _scatter_into(g, axis, index, src, xp, accumulate=True):
    """``g[..., index, ...] (+)= src`` along ``axis`` in place (``g`` C-contiguous)."""
    lin = _lin(g.shape, axis, index, xp).reshape(-1)
    if accumulate:
        xp.add.at(g.reshape(-1), lin, src.reshape(-1))
    else:
        g.reshape(-1)[lin] = src.reshape(-1)
    return g


def _take(a, index, axis, xp):
    """PyTorch's gather on arrays: ``a`` cut to ``index``'s extent outside ``axis`` first."""
    if any(m < n for d, (m, n) in enumerate(zip(index.shape, a.shape)) if d != axis):
        a = a[tuple(slice(None) if d == axis else slice(0, m) for d, m in enumerate(index.shape))]
    return xp.take_along_axis(a, index, axis)


class GetItem(Function):
    def forward(self, x):
        self.shape = x.shape
        if self.xp is not _np:
            self.key = tuple(self.xp.asarray(k) if isinstance(k, _np.ndarray) else k
                             for k in self.key)
        return x[self.key]

    def backward(self, gy):
        xp, key, shape = self.xp, self.key, self.shape
        g = xp.zeros(shape, gy.dtype)
        if not self.accumulate:  # basic or boolean indexing: every position at most once
            g[key] = gy
            return (g,)
        k0 = key[0]
        if len(key) == 1 and hasattr(k0, "dtype") and k0.dtype.kind != "b":
            rows = k0.reshape(-1, 1).astype(_np.int64, copy=False)  # x[idx]: whole rows
            if rows.size and bool((rows < 0).any()):
                rows = xp.where(rows < 0, rows + shape[0], rows)
            step = g.size // shape[0] if shape[0] else 0
            lin = rows * step + xp.arange(step)
        else:  # general: positions of the selected elements in a flat arange
            dt = _np.int32 if g.size < 2 ** 31 else _np.int64
            lin = xp.arange(g.size, dtype=dt).reshape(shape)[key]
        xp.add.at(g.reshape(-1), lin.reshape(-1), gy.reshape(-1))
        return (g,)


class Gather(Function):
    """Values of ``x`` at ``index`` along ``axis``; ``torch``: index may be smaller than ``x``
    in the other dims (PyTorch's gather), else NumPy's broadcasting ``take_along_axis``."""

    def forward(self, x, index):
        self.xshape = x.shape
        self.saved = (index,)
        if self.torch:
            return _take(x, index, self.axis, self.xp)
        return self.xp.take_along_axis(x, index, self.axis)

    def backward(self, gy, *_):
        (index,) = self.saved
        xp = self.xp
        gshape = tuple(max(a, b) if d != self.axis else a
                       for d, (a, b) in enumerate(zip(self.xshape, gy.shape)))
        g = xp.zeros(gshape, gy.dtype)
        index = xp.broadcast_to(index, gy.shape)
        return _scatter_into(g, self.axis, index, gy, xp, not self.unique), None


class IndexSelect(Function):
    def forward(self, x, index):
        self.xshape = x.shape
        self.saved = (index,)
        return self.xp.take(x, index, axis=self.axis)

    def backward(self, gy, *_):
        (index,) = self.saved
        ax, xp = self.axis, self.xp
        idx = xp.broadcast_to(index.reshape([-1] + [1] * (gy.ndim - ax - 1)), gy.shape)
        return _scatter_into(xp.zeros(self.xshape, gy.dtype), ax, idx, gy, xp), None


class Scatter(Function):
    """``out = x.copy(); out[index] (+)= src`` along ``axis`` (``accumulate``: scatter_add)."""

    def forward(self, x, index, src):
        out = x.copy()
        if src is None:
            src = self.xp.full(index.shape, self.value, dtype=x.dtype)
        else:
            self.src_shape = src.shape
            src = src[tuple(slice(0, m) for m in index.shape)]
        self.saved = (index,)
        return _scatter_into(out, self.axis, index, src.astype(x.dtype, copy=False), self.xp,
                             self.accumulate)

    def backward(self, gy):
        (index,) = self.saved
        xp, ax, n = self.xp, self.axis, self.needs_input_grad
        gx = gsrc = None
        if n[0]:
            gx = gy
            if not self.accumulate:  # overwritten positions get no gradient
                gx = _scatter_into(gy.copy(), ax, index, xp.zeros(index.shape, gy.dtype), xp,
                                   False)
        if n[2]:
            part = _take(gy, index, ax, xp)
            gsrc = xp.zeros(self.src_shape, gy.dtype)
            gsrc[tuple(slice(0, m) for m in index.shape)] = part
        return gx, None, gsrc


class MaskedFill(Function):
    def forward(self, x, mask, value):
        mask = mask if mask.dtype == bool else mask != 0
        self.saved = (mask,)
        return self.xp.where(mask, self.xp.asarray(value, dtype=x.dtype), x)

    def backward(self, gy):
        (mask,) = self.saved
        n = self.needs_input_grad
        return (self.xp.where(mask, 0, gy) if n[0] else None, None,
                self.xp.where(mask, gy, 0) if n[2] else None)


def getitem(x, key):
    """``x[key]`` with NumPy semantics: ints, slices, ``...``, None, integer arrays/lists/tensors
    and boolean masks. Repeated integer indices accumulate their gradients.

    Args:
        x (Tensor): input. key: any NumPy index (tensors allowed).

    Returns:
        Tensor: a view for basic indexing, a copy for advanced indexing.
    """
    key, int_adv = _norm_key(key)
    split = _torch_order(key) if int_adv else None
    if split is not None:  # PyTorch's order: integer indices first, then the advanced ones
        x = GetItem.apply(x, key=split[0], accumulate=False)
        return GetItem.apply(x, key=split[1], accumulate=True)
    return GetItem.apply(x, key=key, accumulate=int_adv)


def setitem(x, key, value) -> None:
    """``x[key] = value`` in place on ``x.array``: no gradient is recorded.

    Raises:
        RuntimeError: when grad mode is on and ``x`` or ``value`` requires grad (use
            ``lamina.no_grad()``, or build the result out of place with where / masked_fill /
            scatter / cat / stack).
    """
    if STATE.grad_enabled:
        v_grad = isinstance(value, Tensor) and value.requires_grad
        if x.requires_grad or v_grad:
            what = ("a leaf tensor that requires grad" if x.requires_grad and x.is_leaf else
                    "a tensor that is part of an autograd graph" if x.requires_grad else
                    "a tensor from a value that requires grad")
            raise RuntimeError(
                f"setitem: in-place assignment into {what} is not differentiable; wrap it in "
                "`with lamina.no_grad():` (e.g. for initialisation) or build the result out of "
                "place with where, masked_fill, scatter, cat or stack")
    k, int_adv = _norm_key(key)
    split = _torch_order(k) if int_adv else None
    if split is not None:  # as getitem: integer indices select first (a view), then the rest
        x.array[split[0]][split[1]] = unwrap(value)
        return
    x.array[k] = unwrap(value)


def _torch_order(key):
    """``(first, rest)`` when ``key`` mixes Python ints with integer arrays: PyTorch applies
    the ints first (a select), then the advanced indices, so ``x[0, :, [0, 1]]`` of a (4, 3, 5)
    tensor is (3, 2) where NumPy gives (2, 3). None when NumPy's order already agrees."""
    if len(key) < 2 or not any(type(k) is int for k in key) or any(
            isinstance(k, B.ndarray_types) and k.dtype.kind == "b" for k in key):
        return None
    first = tuple(slice(None) if isinstance(k, B.ndarray_types) else k for k in key)
    rest = tuple(k if isinstance(k, B.ndarray_types) else Ellipsis if k is Ellipsis
                 else slice(None) for k in key if type(k) is not int)
    return first, rest


def _check_index(op, x, index, dim):
    a, i = unwrap(x), unwrap(index)
    if not hasattr(i, "dtype"):
        i = _np.asarray(i)
    if i.dtype.kind not in "iu":
        raise op_error(op, "an integer index", f"dtype {i.dtype}", cls=DTypeError)
    nd = a.ndim
    check(-nd <= dim < max(nd, 1), op, f"dim in [{-nd}, {nd})", f"dim={dim}")
    return a, i, dim % max(nd, 1)


def gather(x, dim, index):
    """PyTorch's ``gather``: ``out[i][j] = x[index[i][j]][j]`` for ``dim=0`` (and so on).

    Args:
        x (Tensor): input. dim (int): the indexed dim.
        index (Tensor): integer, same ndim as ``x``; ``index.shape[d] <= x.shape[d]`` for
            ``d != dim``. Repeated indices accumulate gradients.

    Returns:
        Tensor: shape ``index.shape``.
    """
    a, i, d = _check_index("gather", x, index, dim)
    if i.ndim != a.ndim or any(i.shape[k] > a.shape[k] for k in range(a.ndim) if k != d):
        raise op_error("gather", f"index with {a.ndim} dims, no larger than x outside dim {dim}",
                       f"index {i.shape} for x {a.shape}")
    return Gather.apply(x, i, axis=d, torch=True, unique=False)


def take_along_axis(x, indices, axis):
    """NumPy's ``take_along_axis`` (``indices`` broadcast against ``x`` outside ``axis``)."""
    a, i, d = _check_index("take_along_axis", x, indices, axis)
    return Gather.apply(x, i, axis=d, torch=False, unique=False)


def take_along_dim(x, indices, dim=None):
    """PyTorch's ``take_along_dim``: :func:`take_along_axis`, flattened when ``dim`` is None."""
    if dim is None:
        return take_along_axis(x.reshape(-1), unwrap(indices).reshape(-1), 0)
    return take_along_axis(x, indices, dim)


def index_select(x, dim, index):
    """Slices of ``x`` along ``dim`` at the 1-D integer ``index`` (repeats accumulate grads).

    Returns:
        Tensor: ``x.shape`` with ``dim`` of length ``len(index)``.
    """
    a, i, d = _check_index("index_select", x, index, dim)
    check(i.ndim <= 1, "index_select", "a 1-D index", f"shape {i.shape}")
    return IndexSelect.apply(x, i.reshape(-1), axis=d)


def _scatter(op, x, dim, index, src, value, accumulate):
    a, i, d = _check_index(op, x, index, dim)
    s = unwrap(src)
    ok = i.ndim == a.ndim and all(i.shape[k] <= a.shape[k] for k in range(a.ndim) if k != d)
    if s is not None and hasattr(s, "shape"):
        ok = ok and s.ndim == i.ndim and all(m <= n for m, n in zip(i.shape, s.shape))
    if not ok:
        got = f"index {i.shape}, x {a.shape}" + (f", src {s.shape}" if s is not None else "")
        raise op_error(op, f"index no larger than src and than x outside dim {dim}", got)
    return Scatter.apply(x, i, src, axis=d, value=value, accumulate=accumulate)


def scatter_add(x, dim, index, src):
    """Out-of-place ``out = x.clone(); out[index[i][j]][j] += src[i][j]`` (``dim=0``).

    Returns:
        Tensor: shape of ``x``; gradients flow to ``x`` and ``src``.
    """
    return _scatter("scatter_add", x, dim, index, src, None, True)


def scatter(x, dim, index, src=None, value=None):
    """Out-of-place ``out[index[i][j]][j] = src[i][j]`` (or ``value``); duplicates: one wins.

    Overwritten positions of ``x`` get no gradient; ``src`` gets ``gather(grad, dim, index)``.
    """
    if (src is None) == (value is None):
        if isinstance(src, (int, float)):
            src, value = None, src
        else:
            raise TypeError("scatter: pass exactly one of src= or value=")
    return _scatter("scatter", x, dim, index, src, value, False)


def masked_fill(x, mask, value):
    """``value`` where ``mask`` is True, ``x`` elsewhere (mask broadcasts against ``x``).

    Args:
        x (Tensor): input. mask (Tensor): bool. value (float | 0-d Tensor): fill value.

    Returns:
        Tensor: differentiable w.r.t. ``x`` (0 where filled) and a tensor ``value``.
    """
    return MaskedFill.apply(x, mask, value)


def one_hot(labels, num_classes=-1):
    """One-hot encode integer ``labels`` (PyTorch's ``F.one_hot``).

    Args:
        labels (Tensor): integer class indices in ``[0, num_classes)``.
        num_classes (int): -1 (default) infers ``labels.max() + 1``.

    Returns:
        Tensor: int64, shape ``labels.shape + (num_classes,)``.
    """
    a = unwrap(labels)
    if not hasattr(a, "dtype"):
        a = _np.asarray(a)
    if a.dtype.kind not in "iu":
        raise op_error("one_hot", "integer class labels", f"dtype {a.dtype}",
                       "convert with .long()", cls=DTypeError)
    xp = B.get_array_module(a)
    lo, hi = (int(a.min()), int(a.max())) if a.size else (0, -1)
    if num_classes == -1:
        check(a.size > 0, "one_hot", "labels to infer num_classes from", "an empty tensor")
        num_classes = hi + 1
    if lo < 0 or hi >= num_classes:
        raise op_error("one_hot", f"labels in [0, {num_classes})", f"values in [{lo}, {hi}]",
                       cls=ValueError)
    return Tensor((a[..., None] == xp.arange(num_classes)).astype(_np.int64))


def nonzero(x, as_tuple=False):
    """Indices of nonzero elements: an int64 ``(n, ndim)`` tensor, or one 1-D tensor per dim
    when ``as_tuple``."""
    a = unwrap(x)
    xp = B.get_array_module(a)
    if as_tuple:
        return tuple(Tensor(i.astype(_np.int64)) for i in xp.nonzero(a))
    return Tensor(xp.argwhere(a).astype(_np.int64))


def argwhere(x):
    """:func:`nonzero` as one ``(n, ndim)`` tensor."""
    return nonzero(x)


def narrow(x, dim, start, length):
    """The slice ``start:start+length`` of dim ``dim`` (a view; differentiable)."""
    shp = unwrap(x).shape
    check(-len(shp) <= dim < len(shp), "narrow", f"dim in [{-len(shp)}, {len(shp)})",
          f"dim={dim}")
    d = dim % len(shp)
    start = start + shp[d] if start < 0 else start
    if start < 0 or length < 0 or start + length > shp[d]:
        raise op_error("narrow", f"0 <= start <= start + length <= {shp[d]} (dim {dim})",
                       f"start={start}, length={length}")
    return getitem(x, (slice(None),) * d + (slice(start, start + length),))


def _order_key(a, descending):
    if descending and a.dtype.kind not in "ub":
        return -a, False
    return a, descending


def topk(x, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (or smallest) elements along ``dim``.

    Args:
        x (Tensor): input. k (int): how many. dim (int): Default -1.
        largest (bool): Default True. sorted (bool): in order (always done here).

    Returns:
        ``ValuesIndices(values, indices)``: values differentiable, indices int64.
    """
    a = unwrap(x)
    xp = B.get_array_module(a)
    d = dim % max(a.ndim, 1)
    n = a.shape[d] if a.ndim else 1
    check(0 <= k <= n, "topk", f"0 <= k <= {n} (size of dim {dim})", f"k={k}")
    key, flip = _order_key(a, largest)
    if 0 < k < n:
        part = xp.argpartition(key, k - 1, axis=d)
        part = xp.take(part, xp.arange(k), axis=d)
        order = xp.argsort(xp.take_along_axis(key, part, d), axis=d, kind="stable")
        idx = xp.take_along_axis(part, order, d)
    else:
        idx = xp.take(xp.argsort(key, axis=d, kind="stable"), xp.arange(k), axis=d)
    if flip:
        idx = xp.flip(idx, d)
    idx = idx.astype(_np.int64, copy=False)
    return ValuesIndices(Gather.apply(x, idx, axis=d, torch=False, unique=True), Tensor(idx))


def argsort(x, dim=-1, descending=False, stable=False):
    """Indices that sort ``x`` along ``dim`` (int64; a stable sort is always used)."""
    a = unwrap(x)
    xp = B.get_array_module(a)
    if a.ndim == 0:  # torch: the 0-d index 0
        return Tensor(xp.zeros((), _np.int64))
    key, flip = _order_key(a, descending)
    idx = xp.argsort(key, axis=dim, kind="stable")
    return Tensor((xp.flip(idx, dim) if flip else idx).astype(_np.int64, copy=False))


def sort(x, dim=-1, descending=False, stable=False):
    """Sort along ``dim``. Returns ``ValuesIndices(values, indices)``; values differentiable."""
    idx = argsort(x, dim, descending, stable).array
    d = dim % max(unwrap(x).ndim, 1)
    return ValuesIndices(Gather.apply(x, idx, axis=d, torch=False, unique=True), Tensor(idx))


def _iter(x):
    if x.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    return iter(unbind(x, 0))


register_methods(__getitem__=getitem, __setitem__=setitem, __iter__=_iter, gather=gather,
                 take_along_dim=take_along_dim, index_select=index_select,
                 scatter_add=scatter_add, scatter=scatter, masked_fill=masked_fill,
                 nonzero=nonzero, argwhere=argwhere, narrow=narrow, topk=topk, sort=sort,
                 argsort=argsort)

"""Hot array kernels of convolution: im2col, col2im and the GEMMs around them (the window loops
of pooling are in :mod:`.pool_kernels`, re-exported here).

Every convolution lowers to :func:`conv2d_forward`, :func:`conv2d_grad_input` and
:func:`conv2d_grad_weight`, sharing one :func:`im2col` and one :func:`col2im`. Arrays keep
PyTorch's logical layout ``(N, C, H, W)`` in any memory order: a conv output is a channels-last
buffer seen through a transposed view, so ``cols @ W.T`` needs no copy and the next im2col
copies contiguous runs of ``kw * C`` floats; pooling allocates in its input's order. ``cols``
is ``(N*OH*OW, kh*kw*C)`` with columns ordered ``(i, j, c)``: row-major from one strided copy
(many channels) or column-major from ``kh*kw`` slice copies (few channels, a first layer).
Loops run over kernel offsets only, never over pixels or samples.

:data:`CACHE` reuses large buffers no live array refers to (fresh memory costs a page fault per
4 KiB), and :func:`parallel_for` splits copies and window loops over the batch on
:func:`get_num_threads` threads (NumPy releases the GIL there; BLAS has its own threads).
"""

from __future__ import annotations

import os
import sys
import threading
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import fast, get_array_module

__all__ = ["CACHE", "alloc", "parallel_for", "set_num_threads", "get_num_threads", "ConvGeom",
           "conv_geom", "weight_matrix", "weight_from_matrix", "rows_of", "im2col",
           "col2im", "conv2d_forward", "conv2d_grad_input", "conv2d_grad_weight",
           "add_channel_bias", "channel_sums", "layout_order", "empty_in_order", "empty_like",
           "pad_channels_last", "pad_spatial", "window",
           "max_pool2d_forward", "max_pool2d_backward", "max_pool_offsets", "avg_pool2d_forward",
           "avg_pool2d_backward", "avg_pool_scale"]

_NARROW_C = 4   # below this many channels im2col builds the column-major (K, M) layout


# ----------------------------------------------------------------------------- buffer cache
class _BufferCache:
    """Reuses large host buffers that no live array refers to any more.

    First touch of fresh memory costs a page fault per 4 KiB, which on small VMs rivals a conv
    layer's arithmetic, and a training loop asks for the same sizes every step. A buffer is
    handed out again only when its reference count shows that no array (view, saved tensor,
    user variable) still uses it, so reuse never aliases live data. CuPy and small arrays
    bypass it; ``limit`` bounds the bytes held (0 disables it); ``clear()`` drops them all.
    """

    min_bytes = 1 << 18

    def __init__(self, limit: int = 1 << 30):
        self.limit, self.held = limit, 0
        self._bufs: dict = {}
        self._lock = threading.Lock()

    def get(self, shape, dtype):
        dtype = np.dtype(dtype)
        n = dtype.itemsize
        for d in shape:
            n *= d
        if n < self.min_bytes or self.limit <= 0:
            return None
        with self._lock:
            bufs = self._bufs.setdefault(n, [])
            for k in range(len(bufs)):
                if sys.getrefcount(bufs[k]) == 2:     # only the list (and the call) hold it
                    return bufs[k].view(dtype).reshape(shape)
            if self.held + n > self.limit:
                self._evict(self.held + n - self.limit)
                if self.held + n > self.limit:
                    return None
            bufs.append(np.empty(n, np.uint8))
            self.held += n
            return bufs[-1].view(dtype).reshape(shape)

    def _evict(self, need: int) -> None:
        for n, bufs in self._bufs.items():
            for k in range(len(bufs) - 1, -1, -1):
                if need > 0 and sys.getrefcount(bufs[k]) == 2:
                    del bufs[k]
                    self.held -= n
                    need -= n

    def clear(self) -> None:
        with self._lock:
            self._bufs.clear()
            self.held = 0


CACHE = _BufferCache()


def alloc(xp, shape, dtype, fill=None):
    """A new array of ``shape`` (uninitialised, or filled with ``fill``); large NumPy arrays
    reuse a free cached buffer (see :class:`_BufferCache`)."""
    a = CACHE.get(shape, dtype) if xp is np else None
    if a is None:
        return xp.empty(shape, dtype) if fill is None else xp.full(shape, fill, dtype)
    if fill is not None:
        a.fill(fill)
    return a


_PAR_MIN = 1 << 18        # elements below which splitting across threads does not pay
_threads = {"n": 0, "pool": None}


def _after_fork_in_child() -> None:   # the parent's worker threads do not exist in a child
    _threads["pool"] = None
    CACHE._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _default_threads() -> int:
    env = os.environ.get("LAMINA_NUM_THREADS")
    if env:
        return max(1, int(env))
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 4))


def set_num_threads(n: int) -> None:
    """Threads used by the copy and window kernels (default: usable cores, at most 4, or the
    ``LAMINA_NUM_THREADS`` environment variable). BLAS threads are set separately."""
    old = _threads["pool"]
    _threads.update(n=max(1, int(n)), pool=None)
    if old is not None:
        old.shutdown(wait=False)


def get_num_threads() -> int:
    if not _threads["n"]:
        _threads["n"] = _default_threads()
    return _threads["n"]


def parallel_for(n: int, fn, work: int = 0) -> None:
    """Call ``fn(lo, hi)`` on disjoint ranges covering ``range(n)`` (batch rows), on up to
    :func:`get_num_threads` threads when ``work`` (elements touched) is large enough."""
    t = min(get_num_threads(), n)
    if t <= 1 or work < _PAR_MIN:
        fn(0, n)
        return
    pool = _threads["pool"]
    if pool is None or pool._max_workers < t - 1:
        pool = _threads["pool"] = ThreadPoolExecutor(t - 1, thread_name_prefix="lamina")
    cuts = [n * k // t for k in range(t + 1)]
    futs = [pool.submit(fn, cuts[k], cuts[k + 1]) for k in range(1, t)]
    fn(cuts[0], cuts[1])
    for f in futs:
        f.result()


class ConvGeom(namedtuple("ConvGeom", "n c h w kh kw sh sw dh dw pt pb pl pr oh ow")):
    """Geometry of a 2-D sliding window: input ``(n, c, h, w)``, kernel ``(kh, kw)``, stride,
    dilation, padding ``(top, bottom, left, right)`` and output ``(oh, ow)``; ``hp, wp`` are
    the padded input size and ``rows`` the number of windows ``n*oh*ow``."""

    __slots__ = ()
    hp = property(lambda g: g.h + g.pt + g.pb)
    wp = property(lambda g: g.w + g.pl + g.pr)
    rows = property(lambda g: g.n * g.oh * g.ow)


def conv_geom(shape, kernel, stride, pads, dilation) -> ConvGeom:
    """:class:`ConvGeom` of input ``shape`` ``(N, C, H, W)``, ``pads`` ``(top, bottom, left,
    right)``; the output size is the number of whole windows (floor mode)."""
    n, c, h, w = shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    oh = (h + pads[0] + pads[1] - dh * (kh - 1) - 1) // sh + 1
    ow = (w + pads[2] + pads[3] - dw * (kw - 1) - 1) // sw + 1
    return ConvGeom(n, c, h, w, kh, kw, sh, sw, dh, dw, *pads, oh, ow)


def weight_matrix(w):
    """``(O, C, kh, kw)`` weight -> ``(O, kh*kw*C)`` matrix in im2col's column order."""
    o = w.shape[0]
    return w.transpose(0, 2, 3, 1).reshape(o, -1)


def weight_from_matrix(wm, shape):
    """Inverse of :func:`weight_matrix`: a contiguous ``(O, C, kh, kw)`` array (one copy, also
    when ``wm`` is the transpose of a contiguous ``(kh*kw*C, O)`` matrix)."""
    o, c, kh, kw = shape
    xp = get_array_module(wm)
    if wm.T.flags.c_contiguous and not wm.flags.c_contiguous:
        return xp.ascontiguousarray(wm.T.reshape(kh, kw, c, o).transpose(3, 2, 0, 1))
    return xp.ascontiguousarray(wm.reshape(o, kh, kw, c).transpose(0, 3, 1, 2))


def rows_of(y):
    """``(N, O, OH, OW)`` array -> ``(N*OH*OW, O)`` matrix (a view when ``y`` is channels-last,
    as conv outputs and their gradients are)."""
    n, o = y.shape[:2]
    return y.transpose(0, 2, 3, 1).reshape(-1, o)


def layout_order(x) -> tuple:
    """Axes of ``x`` from the largest stride to the smallest (its memory order)."""
    return tuple(sorted(range(x.ndim), key=lambda a: -x.strides[a]))


def empty_in_order(xp, shape, order, dtype, fill=None):
    """A new array of logical ``shape`` laid out in memory in axis ``order`` (see
    :func:`layout_order`), so gradients of channels-last arrays stay channels-last."""
    buf_shape = tuple(shape[a] for a in order)
    buf = alloc(xp, buf_shape, dtype, fill)
    inv = [0] * len(order)
    for pos, a in enumerate(order):
        inv[a] = pos
    return buf.transpose(inv)


def empty_like(x):
    """An uninitialised array with ``x``'s shape, dtype and memory order (cached buffer)."""
    if x.flags.c_contiguous:  # the common case: no axis sort
        xp = get_array_module(x)
        if xp is np and x.nbytes < _BufferCache.min_bytes:
            return np.empty(x.shape, x.dtype)
        return alloc(xp, x.shape, x.dtype)
    return empty_in_order(get_array_module(x), x.shape, layout_order(x), x.dtype)


def pad_spatial(x, pads, value=0.0):
    """Pad the last two axes of ``x`` by ``(top, bottom, left, right)`` with ``value``, in
    ``x``'s memory order. Returns ``x`` itself when every pad is 0."""
    pt, pb, pl, pr = pads
    if not (pt or pb or pl or pr):
        return x
    h, w = x.shape[-2:]
    out = empty_in_order(get_array_module(x), x.shape[:-2] + (h + pt + pb, w + pl + pr),
                         layout_order(x), x.dtype, fill=value)
    out[..., pt:pt + h, pl:pl + w] = x
    return out


def window(xp_, i: int, j: int, g: ConvGeom):
    """The strided view of padded ``xp_`` (last two axes spatial) that kernel offset ``(i, j)``
    sees: element ``[.., oh, ow]`` is ``xp_[.., oh*sh + i*dh, ow*sw + j*dw]``."""
    h0, w0 = i * g.dh, j * g.dw
    return xp_[..., h0:h0 + g.sh * (g.oh - 1) + 1:g.sh, w0:w0 + g.sw * (g.ow - 1) + 1:g.sw]


def pad_channels_last(x, g: ConvGeom):
    """Contiguous channels-last ``(N, Hp, Wp, C)`` zero-padded copy of ``x`` ``(N, C, H, W)``
    (no copy when ``x`` already is a channels-last view and ``g`` has no padding)."""
    return _pad_to(x.transpose(0, 2, 3, 1), g, 1, 0)


def _pad_to(xt, g: ConvGeom, ax: int, bax: int):
    """Contiguous copy of ``xt`` zero-padded on axes ``ax``, ``ax+1`` (H, W); the copy is split
    over the batch axis ``bax``. Returns ``xt`` itself when it needs neither."""
    xp = get_array_module(xt)
    pads = g.pt or g.pb or g.pl or g.pr
    if not pads and xt.flags.c_contiguous:
        return xt
    shape = list(xt.shape)
    shape[ax], shape[ax + 1] = g.hp, g.wp
    out = alloc(xp, shape, xt.dtype)
    lead = (slice(None),) * ax
    inner = lead + (slice(g.pt, g.pt + g.h), slice(g.pl, g.pl + g.w))
    if pads:  # zero only the border; the interior is written once
        out[lead + (slice(0, g.pt),)] = 0
        out[lead + (slice(g.pt + g.h, None),)] = 0
        out[lead + (slice(g.pt, g.pt + g.h), slice(0, g.pl))] = 0
        out[lead + (slice(g.pt, g.pt + g.h), slice(g.pl + g.w, None))] = 0

    def copy(lo, hi):
        b = (slice(None),) * bax + (slice(lo, hi),)
        out[inner][b] = xt[b]
    parallel_for(xt.shape[bax], copy, xt.size)
    return out


def _is_pointwise(g: ConvGeom) -> bool:
    return (g.kh == g.kw == g.sh == g.sw == 1
            and not (g.pt or g.pb or g.pl or g.pr))


def im2col(x, g: ConvGeom):
    """Unfold ``x`` ``(N, C, H, W)`` (any memory order) into ``cols`` ``(N*OH*OW, kh*kw*C)``.

    Row ``(n, oh, ow)``, column ``(i, j, c)`` holds the padded input at
    ``[n, c, oh*sh + i*dh, ow*sw + j*dw]``. Many channels: one strided copy from a
    channels-last padded buffer (row-major result). Few channels: ``kh*kw`` slice copies into a
    ``(K, M)`` buffer (the result is its transpose, column-major); both feed BLAS directly.
    """
    xp = get_array_module(x)
    k = g.kh * g.kw * g.c
    if g.c >= _NARROW_C:
        xpd = _pad_to(x.transpose(0, 2, 3, 1), g, 1, 0)         # (N, Hp, Wp, C)
        if _is_pointwise(g):
            return xpd.reshape(g.rows, g.c)
        s0, s1, s2, s3 = xpd.strides
        shape = (g.n, g.oh, g.ow, g.kh, g.kw, g.c)
        v = xp.lib.stride_tricks.as_strided(
            xpd, shape, (s0, s1 * g.sh, s2 * g.sw, s1 * g.dh, s2 * g.dw, s3))
        cols = alloc(xp, shape, x.dtype)

        def copy(lo, hi):
            cols[lo:hi] = v[lo:hi]
        parallel_for(g.n, copy, g.rows * k)
        return cols.reshape(g.rows, k)
    xpd = _pad_to(x.transpose(1, 0, 2, 3), g, 2, 1)             # (C, N, Hp, Wp)
    cols = alloc(xp, (g.kh, g.kw, g.c, g.n, g.oh, g.ow), x.dtype)

    def copy_offsets(lo, hi):
        part = xpd[:, lo:hi]
        for i in range(g.kh):
            for j in range(g.kw):
                cols[i, j, :, lo:hi] = window(part, i, j, g)
    parallel_for(g.n, copy_offsets, g.rows * k)
    return cols.reshape(k, g.rows).T


def col2im(view, blocks, g: ConvGeom, rows, zero: bool) -> None:
    """Fold gradient blocks of kernel rows ``rows`` into ``view`` ``(N, C, Hp, Wp)`` (zeroed
    first when ``zero``): the adjoint of :func:`im2col`, one strided add per kernel offset,
    split over the batch. ``blocks[r, j]`` is ``(N, C, OH, OW)`` for offset ``(rows[r], j)``."""
    def fold(lo, hi):
        part = view[lo:hi]
        if zero:
            part[...] = 0
        for r, i in enumerate(rows):
            for j in range(g.kw):
                window(part, i, j, g)[...] += blocks[r, j, lo:hi]
    parallel_for(g.n, fold, g.n * g.c * g.hp * g.wp + blocks.size)


def conv2d_forward(x, wm, bias, g: ConvGeom):
    """``y = conv2d(x, w) + bias`` as one GEMM on ``im2col(x)``; ``wm`` is
    :func:`weight_matrix` of the weight, ``bias`` ``(O,)`` or None. Returns ``(y, cols)``:
    ``y`` ``(N, O, OH, OW)`` in channels-last memory and ``cols`` (for the weight gradient)."""
    cols = im2col(x, g)
    y = _matmul(cols, wm.T)                                       # (M, O)
    y = y.reshape(g.n, g.oh, g.ow, -1).transpose(0, 3, 1, 2)
    if bias is not None:
        add_channel_bias(y, bias)
    return y, cols


def add_channel_bias(y, bias) -> None:
    """``y += bias[:, None, None]`` in place; a channels-last ``y`` is added as rows of
    ``W*C`` floats (long inner loops instead of ``C``-long ones)."""
    xp = get_array_module(y)
    t = y.transpose(0, 2, 3, 1)
    if not t.flags.c_contiguous:
        y += bias[:, None, None]
        return
    n, h, w, c = t.shape
    rows, tiled = t.reshape(n * h, w * c), xp.tile(bias, w)

    def add(lo, hi):
        rows[lo:hi] += tiled
    parallel_for(n * h, add, y.size)


def channel_sums(gy):
    """``gy.sum(axis=(0, 2, 3))`` (a bias gradient); a GEMV for channels-last ``gy``."""
    xp = get_array_module(gy)
    t = gy.transpose(0, 2, 3, 1)
    if not t.flags.c_contiguous:
        return gy.sum(axis=(0, 2, 3))
    rows = t.reshape(-1, gy.shape[1])
    return xp.ones(rows.shape[0], gy.dtype) @ rows


def conv2d_grad_weight(gy2, cols):
    """Weight gradient as an ``(O, kh*kw*C)`` matrix: ``gy2.T @ cols`` (``gy2`` from
    :func:`rows_of`), computed as the transpose of ``cols.T @ gy2``: BLAS runs the long
    ``N*OH*OW`` reduction faster with the small ``O`` as the output's inner dimension."""
    return (cols.T @ gy2).T


def _matmul(a, b):
    """``a @ b`` (2-D) written into a cached buffer."""
    xp = get_array_module(a, b)
    out = alloc(xp, (a.shape[0], b.shape[1]), xp.result_type(a, b))
    return xp.matmul(a, b, out=out)


def conv2d_grad_input(gy2, wm, g: ConvGeom):
    """Input gradient ``(N, C, H, W)`` of a convolution: GEMMs into per-offset blocks, then
    :func:`col2im`. Many channels: one kernel row at a time (blocks stay ``1/kh`` of ``cols``),
    channels-last result; few channels: one GEMM, channel-major result.

    Args:
        gy2: ``(N*OH*OW, O)`` output gradient (:func:`rows_of`). wm: ``(O, kh*kw*C)``.
    """
    xp = get_array_module(gy2)
    o = wm.shape[0]
    dtype = xp.result_type(gy2, wm)
    if _is_pointwise(g):
        return _matmul(gy2, wm).reshape(g.n, g.h, g.w, g.c).transpose(0, 3, 1, 2)
    if g.c >= _NARROW_C and xp is np and fast.enabled():
        # one GEMM into an im2col-shaped block matrix, one fused fold (numba)
        b6 = _matmul(gy2, wm).reshape(g.n, g.oh, g.ow, g.kh, g.kw, g.c)
        buf = alloc(xp, (g.n, g.hp, g.wp, g.c), dtype)
        parallel_for(g.n, lambda lo, hi: fast.fold_rows(b6, buf, g, lo, hi), b6.size)
        return buf.transpose(0, 3, 1, 2)[..., g.pt:g.pt + g.h, g.pl:g.pl + g.w]
    if g.c >= _NARROW_C:
        view = alloc(xp, (g.n, g.hp, g.wp, g.c), dtype).transpose(0, 3, 1, 2)
        wb = xp.ascontiguousarray(wm.reshape(o, g.kh * g.kw, g.c).transpose(1, 0, 2))
        for i in range(g.kh):
            blk = alloc(xp, (g.kw, g.rows, g.c), dtype)
            xp.matmul(gy2, wb[i * g.kw:(i + 1) * g.kw], out=blk)   # (kw, M, C)
            blk = blk.reshape(1, g.kw, g.n, g.oh, g.ow, g.c).transpose(0, 1, 2, 5, 3, 4)
            col2im(view, blk, g, (i,), zero=i == 0)
            del blk                       # lets the next row reuse the same cached buffer
    else:
        view = alloc(xp, (g.c, g.n, g.hp, g.wp), dtype).transpose(1, 0, 2, 3)
        blocks = _matmul(wm.T, gy2.T).reshape(g.kh, g.kw, g.c, g.n, g.oh, g.ow)
        col2im(view, blocks.transpose(0, 1, 3, 2, 4, 5), g, range(g.kh), zero=True)
    return view[..., g.pt:g.pt + g.h, g.pl:g.pl + g.w]


# pooling kernels live in pool_kernels.py (they build on the geometry and helpers above)
from .pool_kernels import (avg_pool2d_backward, avg_pool2d_forward, avg_pool_scale,  # noqa: E402
                           max_pool2d_backward, max_pool2d_forward, max_pool_offsets)

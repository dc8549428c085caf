"""Window loops of max and average pooling over ``(N, C, H, W)`` arrays in any memory order.

Loops run over kernel offsets only (each a strided :func:`~.kernels.window` view), split over
the batch by :func:`~.kernels.parallel_for`; outputs are allocated in the input's memory order.
"""

from __future__ import annotations

import numpy as np

from . import fast, get_array_module
from .kernels import (ConvGeom, alloc, empty_in_order, layout_order, pad_spatial, parallel_for,
                      window)

__all__ = ["max_pool2d_forward", "max_pool2d_backward", "max_pool_offsets", "avg_pool2d_forward",
           "avg_pool2d_backward", "avg_pool_scale"]


def _offsets(g: ConvGeom):
    return [(i, j) for i in range(g.kh) for j in range(g.kw)]


def _is_2x2(g: ConvGeom) -> bool:
    return (g.kh == g.kw == g.sh == g.sw == 2 and g.dh == g.dw == 1
            and not (g.pt or g.pb or g.pl or g.pr))


def max_pool2d_forward(x, g: ConvGeom, need_idx: bool):
    """Max over each window of ``x`` ``(N, C, H, W)`` (``g`` carries the padding, ceil-mode
    extension included). Returns ``(y, arg)`` where ``arg`` (None unless ``need_idx``) locates
    the first maximum of each window in row-major order (PyTorch's tie rule): the offset
    ``i*kw + j`` as uint8/int32, or for the 2x2 fast path three bool masks ``(b > a, d > c,
    max(c, d) > max(a, b))`` over the window ``[[a, b], [c, d]]``; see :func:`max_pool_offsets`.
    """
    xp = get_array_module(x)
    if fast.enabled() and xp is np:
        return _max_pool_fast(x, g)
    order = layout_order(x)
    oshape = (g.n, g.c, g.oh, g.ow)
    y = empty_in_order(xp, oshape, order, x.dtype)
    if _is_2x2(g):  # non-overlapping 2x2: no padding, no copy, six passes with the masks
        arg = tuple(empty_in_order(xp, oshape, order, xp.bool_) for _ in range(3)) \
            if need_idx else None
        m2 = empty_in_order(xp, oshape, order, x.dtype) if need_idx else None

        def run(lo, hi):
            a, b, c, d = (window(x[lo:hi], i, j, g) for i, j in _offsets(g))
            ys = y[lo:hi]
            xp.maximum(a, b, out=ys)
            if arg is None:
                xp.maximum(ys, c, out=ys)
                xp.maximum(ys, d, out=ys)
                return
            tb, td, s = (m[lo:hi] for m in arg)
            xp.greater(b, a, out=tb)                 # strict '>': at a tie the first one wins
            xp.greater(d, c, out=td)
            xp.maximum(c, d, out=m2[lo:hi])
            xp.greater(m2[lo:hi], ys, out=s)
            xp.maximum(ys, m2[lo:hi], out=ys)
    else:
        xpd = pad_spatial(x, (g.pt, g.pb, g.pl, g.pr), -float("inf"))
        arg = empty_in_order(xp, oshape, order, xp.uint8 if g.kh * g.kw < 256 else xp.int32) \
            if need_idx else None

        def run(lo, hi):
            views = [window(xpd[lo:hi], i, j, g) for i, j in _offsets(g)]
            ys = y[lo:hi]
            ys[...] = views[0]
            if arg is not None:
                arg[lo:hi] = 0
            for k, v in enumerate(views[1:], 1):
                if arg is not None:
                    xp.copyto(arg[lo:hi], k, where=v > ys)
                xp.maximum(ys, v, out=ys)
    parallel_for(g.n, run, x.size)
    return y, arg


def _as_nhwc(a, channels_last: bool):
    """The 4-D view the numba kernels loop over: ``(N, H, W, C)`` of a channels-last array,
    else ``(N*C, H, W, 1)`` (a reshape, which copies only a non-contiguous array)."""
    if channels_last:
        return a.transpose(0, 2, 3, 1)
    n, c, h, w = a.shape
    return a.reshape(n * c, h, w, 1)


def _nhwc_alloc(shape, dtype, channels_last: bool):
    """A new ``(N, C, H, W)`` array in the given layout and its kernel view."""
    n, c, h, w = shape
    if channels_last:
        buf = alloc(np, (n, h, w, c), dtype)
        return buf.transpose(0, 3, 1, 2), buf
    a = alloc(np, shape, dtype)
    return a, a.reshape(n * c, h, w, 1)


def _max_pool_fast(x, g: ConvGeom):
    """One pass per window with the numba kernel; ``arg`` holds window offsets."""
    cl = x.transpose(0, 2, 3, 1).flags.c_contiguous and not x.flags.c_contiguous
    xpd = pad_spatial(x, (g.pt, g.pb, g.pl, g.pr), -float("inf"))
    x4 = _as_nhwc(xpd, cl)
    oshape = (g.n, g.c, g.oh, g.ow)
    y, y4 = _nhwc_alloc(oshape, x.dtype, cl)
    arg, a4 = _nhwc_alloc(oshape, np.uint8 if g.kh * g.kw < 256 else np.int32, cl)
    rows = x4.shape[0]
    parallel_for(rows, lambda lo, hi: fast.max_pool_fwd(x4, y4, a4, g, lo, hi),
                 x.size * (1 + (g.kh * g.kw) // 4))
    return y, arg


def max_pool_offsets(arg):
    """The window offset ``i*kw + j`` of each maximum from :func:`max_pool2d_forward`'s
    ``arg``."""
    if not isinstance(arg, tuple):
        return arg
    xp = get_array_module(arg[0])
    tb, td, s = (m.view(xp.uint8) for m in arg)
    return xp.where(s, td + xp.uint8(2), tb)


def _scatter_windows(gy, g: ConvGeom, order, piece):
    """``dx`` of a window op: ``piece(lo, hi, k, out)`` gives offset ``k``'s share of batch
    rows ``lo:hi`` (written into ``out`` when windows are disjoint, else returned and added)."""
    xp = get_array_module(gy)
    covered = (g.sh == g.kh and g.sw == g.kw and g.dh == g.dw == 1 and g.oh * g.sh == g.h
               and g.ow * g.sw == g.w and not (g.pt or g.pb or g.pl or g.pr))
    dxp = empty_in_order(xp, (g.n, g.c, g.hp, g.wp), order, gy.dtype)
    overlap = g.sh < g.dh * (g.kh - 1) + 1 or g.sw < g.dw * (g.kw - 1) + 1

    def run(lo, hi):
        part = dxp[lo:hi]
        if not covered:
            part[...] = 0
        if piece is None:       # 2x2 masks: fill all four offsets at once
            return
        for k, (i, j) in enumerate(_offsets(g)):
            v = window(part, i, j, g)
            if overlap:
                v += piece(lo, hi, k, None)
            else:
                piece(lo, hi, k, v)
    parallel_for(g.n, run, dxp.size)
    return dxp


def max_pool2d_backward(gy, arg, g: ConvGeom, order):
    """Gradient of :func:`max_pool2d_forward`: ``gy`` goes to each window's first maximum.
    ``order`` is the input's :func:`layout_order` (the gradient keeps it)."""
    xp = get_array_module(gy)
    if fast.enabled() and xp is np and not isinstance(arg, tuple):
        cl = arg.transpose(0, 2, 3, 1).flags.c_contiguous and not arg.flags.c_contiguous
        dxp, d4 = _nhwc_alloc((g.n, g.c, g.hp, g.wp), gy.dtype, cl)
        gy4, a4 = _as_nhwc(gy, cl), _as_nhwc(arg, cl)
        parallel_for(a4.shape[0], lambda lo, hi: fast.max_pool_bwd(gy4, a4, d4, g, lo, hi),
                     dxp.size + gy.size)
        return dxp[..., g.pt:g.pt + g.h, g.pl:g.pl + g.w]
    if isinstance(arg, tuple):
        dxp = _scatter_windows(gy, g, order, None)

        def run(lo, hi):
            gs = gy[lo:hi]
            tb, td, s = (m[lo:hi] for m in arg)
            a, b, c, d = (window(dxp[lo:hi], i, j, g) for i, j in _offsets(g))
            xp.multiply(gs, s, out=c)              # bottom row's share, split below
            xp.subtract(gs, c, out=a)              # top row's share
            xp.multiply(a, tb, out=b)
            xp.subtract(a, b, out=a)
            xp.multiply(c, td, out=d)
            xp.subtract(c, d, out=c)
        parallel_for(g.n, run, gy.size * 4)
    else:
        def piece(lo, hi, k, out):
            if out is None:
                return gy[lo:hi] * (arg[lo:hi] == k)
            xp.multiply(gy[lo:hi], arg[lo:hi] == k, out=out)
        dxp = _scatter_windows(gy, g, order, piece)
    return dxp[..., g.pt:g.pt + g.h, g.pl:g.pl + g.w]


def avg_pool2d_forward(x, g: ConvGeom, scale):
    """Window sums of zero-padded ``x`` times ``scale`` (a float or an ``(OH, OW)`` array)."""
    xp = get_array_module(x)
    order = layout_order(x)
    y = empty_in_order(xp, (g.n, g.c, g.oh, g.ow), order, x.dtype)
    xpd = pad_spatial(x, (g.pt, g.pb, g.pl, g.pr), 0.0)

    def run(lo, hi):
        views = [window(xpd[lo:hi], i, j, g) for i, j in _offsets(g)]
        ys = y[lo:hi]
        ys[...] = views[0]
        for v in views[1:]:
            ys += v
        ys *= scale
    parallel_for(g.n, run, x.size)
    return y


def avg_pool2d_backward(gy, g: ConvGeom, scale, order):
    """Gradient of :func:`avg_pool2d_forward` (``order``: the input's layout)."""
    gs = gy * scale

    def piece(lo, hi, k, out):
        if out is None:
            return gs[lo:hi]
        out[...] = gs[lo:hi]
    dxp = _scatter_windows(gy, g, order, piece)
    return dxp[..., g.pt:g.pt + g.h, g.pl:g.pl + g.w]


# ----------------------------------------------------------------------------- pooling helpers
def avg_pool_scale(xp, g: ConvGeom, include_pad: bool, dtype):
    """``1 / divisor`` of average pooling: a Python float when every window has ``kh*kw``
    taps, else an ``(OH, OW)`` array. PyTorch's rule: windows are clipped to the padded input
    (``count_include_pad``) or to the input itself."""
    def axis(size, k, s, p, o):
        start = xp.arange(o) * s - p
        end = xp.minimum(start + k, size + p)
        if include_pad:
            return end - start
        return xp.minimum(end, size) - xp.maximum(start, 0)
    div = axis(g.h, g.kh, g.sh, g.pt, g.oh)[:, None] * axis(g.w, g.kw, g.sw, g.pl, g.ow)
    if bool((div == g.kh * g.kw).all()):
        return 1.0 / (g.kh * g.kw)
    return (1.0 / xp.maximum(div, 1)).astype(dtype)

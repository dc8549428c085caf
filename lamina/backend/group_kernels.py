"""Grouped convolution (``1 < groups < C``) as batched GEMMs: one im2col for every group, one
``matmul`` over the group axis per product, one fold. No Python loop runs over the groups.

Layouts: ``cols`` is ``(G, N*OH*OW, kh*kw*c)`` (``c`` channels per group, columns ordered
``(i, j, ci)`` as :func:`.kernels.im2col`'s); the weight of group ``k`` is the ``(K, o)``
matrix :func:`grouped_weight` builds; outputs and input gradients are channels-last buffers
seen as ``(N, C, H, W)``, as the ungrouped kernels return them.
"""

from __future__ import annotations

import numpy as np

from . import fast, get_array_module
from .kernels import _pad_to, add_channel_bias, alloc, col2im, parallel_for

__all__ = ["grouped_weight", "grouped_weight_from", "im2col_grouped", "grouped_forward",
           "grouped_grad_weight", "grouped_grad_input"]


def grouped_weight(w, groups: int):
    """``(G*o, c, kh, kw)`` weight -> ``(G, kh*kw*c, o)`` per-group GEMM operands (a copy)."""
    go, c, kh, kw = w.shape
    o = go // groups
    xp = get_array_module(w)
    return xp.ascontiguousarray(
        w.reshape(groups, o, c, kh, kw).transpose(0, 3, 4, 2, 1)).reshape(groups, -1, o)


def grouped_weight_from(gk, shape):
    """Inverse of :func:`grouped_weight`: ``(G, K, o)`` -> a contiguous ``shape`` weight."""
    go, c, kh, kw = shape
    groups, _, o = gk.shape
    xp = get_array_module(gk)
    return xp.ascontiguousarray(
        gk.reshape(groups, kh, kw, c, o).transpose(0, 4, 3, 1, 2)).reshape(shape)


def im2col_grouped(x, g, groups: int):
    """Unfold ``x`` ``(N, G*c, H, W)`` (any memory order) into ``(G, N*OH*OW, kh*kw*c)``;
    ``g`` is the per-group geometry (``g.c == c``). One strided copy, split over the batch."""
    xp = get_array_module(x)
    xpd = _pad_to(x.transpose(0, 2, 3, 1), g, 1, 0)          # (N, Hp, Wp, G*c)
    s0, s1, s2, s3 = xpd.strides
    shape = (groups, g.n, g.oh, g.ow, g.kh, g.kw, g.c)
    v = xp.lib.stride_tricks.as_strided(
        xpd, shape, (s3 * g.c, s0, s1 * g.sh, s2 * g.sw, s1 * g.dh, s2 * g.dw, s3))
    cols = alloc(xp, shape, x.dtype)

    def copy(lo, hi):
        cols[:, lo:hi] = v[:, lo:hi]
    parallel_for(g.n, copy, cols.size)
    return cols.reshape(groups, g.rows, -1)


def _by_group(rows2, groups: int):
    """``(M, G*o)`` matrix -> the ``(G, M, o)`` view BLAS reads per group (no copy)."""
    m, go = rows2.shape
    return rows2.reshape(m, groups, go // groups).transpose(1, 0, 2)


def grouped_forward(x, wg, bias, g, groups: int):
    """Grouped ``conv2d``: ``(y, cols)`` with ``y`` ``(N, G*o, OH, OW)`` channels-last and
    ``cols`` from :func:`im2col_grouped`; ``wg`` is :func:`grouped_weight` of the weight."""
    xp = get_array_module(x, wg)
    cols = im2col_grouped(x, g, groups)
    o = wg.shape[2]
    rows = alloc(xp, (g.rows, groups * o), xp.result_type(cols, wg))
    xp.matmul(cols, wg, out=_by_group(rows, groups))            # (G, M, o) into (M, G*o)
    y = rows.reshape(g.n, g.oh, g.ow, -1).transpose(0, 3, 1, 2)
    if bias is not None:
        add_channel_bias(y, bias)
    return y, cols


def grouped_grad_weight(gy2, cols, groups: int):
    """``(G, K, o)`` weight gradient from ``gy2`` ``(M, G*o)`` and ``cols`` ``(G, M, K)``."""
    return cols.transpose(0, 2, 1) @ _by_group(gy2, groups)


def grouped_grad_input(gy2, wg, g, groups: int):
    """Input gradient ``(N, G*c, H, W)`` (channels-last) of a grouped convolution: one batched
    GEMM into im2col-shaped blocks, then one fold (numba, or strided adds without it)."""
    xp = get_array_module(gy2, wg)
    dtype = xp.result_type(gy2, wg)
    blocks = xp.matmul(_by_group(gy2, groups), wg.transpose(0, 2, 1))   # (G, M, K)
    b7 = blocks.reshape(groups, g.n, g.oh, g.ow, g.kh, g.kw, g.c)
    ct = groups * g.c
    buf = alloc(xp, (g.n, g.hp, g.wp, ct), dtype)
    if xp is np and fast.enabled():
        parallel_for(g.n, lambda lo, hi: fast.fold_rows_grouped(b7, buf, g, lo, hi), b7.size)
    else:
        # (kh, kw, N, G*c, OH, OW) blocks for the generic col2im (one copy)
        blk = xp.ascontiguousarray(b7.transpose(4, 5, 1, 0, 6, 2, 3)).reshape(
            g.kh, g.kw, g.n, ct, g.oh, g.ow)
        col2im(buf.transpose(0, 3, 1, 2), blk, g._replace(c=ct), range(g.kh), zero=True)
    return buf.transpose(0, 3, 1, 2)[..., g.pt:g.pt + g.h, g.pl:g.pl + g.w]

"""Hot array kernels of convolution and pooling: im2col, col2im and the GEMMs around them.

Every convolution (conv1d, conv2d, grouped, transposed) lowers to the three functions
:func:`conv2d_forward`, :func:`conv2d_grad_input` and :func:`conv2d_grad_weight`, which share one
:func:`im2col` and one :func:`col2im`. Arrays keep PyTorch's logical layout ``(N, C, H, W)`` but
any memory order: the conv output is a channels-last (NHWC) buffer seen through a transposed
view, so ``cols @ W.T`` needs no copy afterwards and the next layer's im2col copies contiguous
runs of ``kw * C`` floats. Elementwise ops on such views keep the layout (NumPy's K order).

``cols`` is an ``(N*OH*OW, kh*kw*C)`` matrix whose columns run over ``(i, j, c)`` (kernel row,
kernel column, channel). Inputs with many channels get it row-major from one strided copy;
inputs with few channels (a network's first layer) get it column-major from ``kh*kw`` slice
copies, each a long contiguous run. col2im adds ``kh*kw`` strided blocks (a Python loop over
kernel offsets only, never over pixels or samples).
"""

from __future__ import annotations

from typing import NamedTuple

from . import get_array_module

__all__ = ["ConvGeom", "conv_geom", "out_size", "weight_matrix", "weight_from_matrix",
           "rows_of", "im2col", "col2im", "conv2d_forward", "conv2d_grad_input",
           "conv2d_grad_weight", "depthwise_forward", "depthwise_grad_input",
           "depthwise_grad_weight", "layout_order", "empty_in_order", "pad_channels_last",
           "pad_spatial", "window", "avg_pool_scale", "adaptive_bins", "adaptive_avg_matrix",
           "adaptive_taps", "nearest_index"]

_NARROW_C = 4   # below this many channels im2col builds the column-major (K, M) layout


class ConvGeom(NamedTuple):
    """Geometry of a 2-D sliding window: input ``(n, c, h, w)``, kernel ``(kh, kw)``, stride,
    dilation, padding ``(top, bottom, left, right)`` and output ``(oh, ow)``."""

    n: int
    c: int
    h: int
    w: int
    kh: int
    kw: int
    sh: int
    sw: int
    dh: int
    dw: int
    pt: int
    pb: int
    pl: int
    pr: int
    oh: int
    ow: int

    @property
    def hp(self) -> int:
        return self.h + self.pt + self.pb

    @property
    def wp(self) -> int:
        return self.w + self.pl + self.pr

    @property
    def rows(self) -> int:
        return self.n * self.oh * self.ow


def out_size(size: int, k: int, s: int, lo: int, hi: int, d: int = 1) -> int:
    """Number of windows of a dilated kernel along one padded axis (floor mode)."""
    return (size + lo + hi - d * (k - 1) - 1) // s + 1


def conv_geom(shape, kernel, stride, pads, dilation) -> ConvGeom:
    """Build a :class:`ConvGeom` for input ``shape`` ``(N, C, H, W)``; ``pads`` is
    ``(top, bottom, left, right)``."""
    n, c, h, w = shape
    kh, kw = kernel
    oh = out_size(h, kh, stride[0], pads[0], pads[1], dilation[0])
    ow = out_size(w, kw, stride[1], pads[2], pads[3], dilation[1])
    return ConvGeom(n, c, h, w, kh, kw, stride[0], stride[1], dilation[0], dilation[1],
                    *pads, oh, ow)


def weight_matrix(w):
    """``(O, C, kh, kw)`` weight -> ``(O, kh*kw*C)`` matrix in im2col's column order."""
    o = w.shape[0]
    return w.transpose(0, 2, 3, 1).reshape(o, -1)


def weight_from_matrix(wm, shape):
    """Inverse of :func:`weight_matrix`: a contiguous ``(O, C, kh, kw)`` array."""
    o, c, kh, kw = shape
    xp = get_array_module(wm)
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
    buf = xp.empty(buf_shape, dtype) if fill is None else xp.full(buf_shape, fill, dtype)
    inv = [0] * len(order)
    for pos, a in enumerate(order):
        inv[a] = pos
    return buf.transpose(inv)


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
    return _pad_to(x.transpose(0, 2, 3, 1), g, 1)


def _pad_to(xt, g: ConvGeom, ax: int):
    """Contiguous copy of ``xt`` padded with zeros on axes ``ax``, ``ax+1`` (H, W)."""
    xp = get_array_module(xt)
    if not (g.pt or g.pb or g.pl or g.pr):
        return xp.ascontiguousarray(xt)
    shape = list(xt.shape)
    shape[ax], shape[ax + 1] = g.hp, g.wp
    out = xp.empty(shape, xt.dtype)
    lead = (slice(None),) * ax
    # zero only the border; the interior is written once
    out[lead + (slice(0, g.pt),)] = 0
    out[lead + (slice(g.pt + g.h, None),)] = 0
    out[lead + (slice(g.pt, g.pt + g.h), slice(0, g.pl))] = 0
    out[lead + (slice(g.pt, g.pt + g.h), slice(g.pl + g.w, None))] = 0
    out[lead + (slice(g.pt, g.pt + g.h), slice(g.pl, g.pl + g.w))] = xt
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
    if g.c >= _NARROW_C:
        xpd = _pad_to(x.transpose(0, 2, 3, 1), g, 1)            # (N, Hp, Wp, C)
        if _is_pointwise(g):
            return xpd.reshape(g.rows, g.c)
        s0, s1, s2, s3 = xpd.strides
        v = xp.lib.stride_tricks.as_strided(
            xpd, (g.n, g.oh, g.ow, g.kh, g.kw, g.c),
            (s0, s1 * g.sh, s2 * g.sw, s1 * g.dh, s2 * g.dw, s3))
        return v.reshape(g.rows, g.kh * g.kw * g.c)
    xpd = _pad_to(x.transpose(1, 0, 2, 3), g, 2)                # (C, N, Hp, Wp)
    cols = xp.empty((g.kh, g.kw, g.c, g.n, g.oh, g.ow), x.dtype)
    for i in range(g.kh):
        for j in range(g.kw):
            cols[i, j] = window(xpd, i, j, g)
    return cols.reshape(g.kh * g.kw * g.c, g.rows).T


def col2im(blocks, g: ConvGeom):
    """Fold per-offset gradient blocks back onto the input: the adjoint of :func:`im2col`.

    Args:
        blocks: ``(kh, kw, N, OH, OW, C)`` when ``g.c >= 4`` (channels-last result), else
            ``(kh, kw, C, N, OH, OW)``.
    Returns:
        ``(N, C, H, W)`` gradient (a view of a channels-last or channel-major buffer).
    """
    xp = get_array_module(blocks)
    wide = g.c >= _NARROW_C
    if wide:
        dxp = xp.zeros((g.n, g.hp, g.wp, g.c), blocks.dtype)
        view = dxp.transpose(0, 3, 1, 2)                          # (N, C, Hp, Wp) view
        blocks = blocks.transpose(0, 1, 2, 5, 3, 4)               # -> (kh, kw, N, C, OH, OW)
    else:
        dxp = xp.zeros((g.c, g.n, g.hp, g.wp), blocks.dtype)
        view = dxp
    non_overlap = g.sh >= g.dh * (g.kh - 1) + 1 and g.sw >= g.dw * (g.kw - 1) + 1
    for i in range(g.kh):
        for j in range(g.kw):
            if non_overlap:  # every input pixel is hit at most once: plain copies
                window(view, i, j, g)[...] = blocks[i, j]
            else:
                window(view, i, j, g)[...] += blocks[i, j]
    crop = view[..., g.pt:g.pt + g.h, g.pl:g.pl + g.w]
    return crop if wide else crop.transpose(1, 0, 2, 3)


def conv2d_forward(x, wm, bias, g: ConvGeom):
    """``y = conv2d(x, w) + bias`` as one GEMM on ``im2col(x)``.

    Args:
        x: ``(N, C, H, W)``. wm: :func:`weight_matrix` of the weight, ``(O, kh*kw*C)``.
        bias: ``(O,)`` or None.
    Returns:
        ``(y, cols)``: ``y`` ``(N, O, OH, OW)`` (channels-last memory) and the ``cols`` matrix
        (kept by callers that need the weight gradient).
    """
    cols = im2col(x, g)
    y = cols @ wm.T                                               # (M, O)
    if bias is not None:
        y += bias
    return y.reshape(g.n, g.oh, g.ow, -1).transpose(0, 3, 1, 2), cols


def conv2d_grad_weight(gy2, cols):
    """Weight gradient as an ``(O, kh*kw*C)`` matrix: ``gy2.T @ cols`` (``gy2`` from
    :func:`rows_of`)."""
    return gy2.T @ cols


def conv2d_grad_input(gy2, wm, g: ConvGeom):
    """Input gradient ``(N, C, H, W)`` of a convolution: GEMM into per-offset blocks, then
    :func:`col2im`.

    Args:
        gy2: ``(N*OH*OW, O)`` output gradient (:func:`rows_of`). wm: ``(O, kh*kw*C)``.
    """
    xp = get_array_module(gy2)
    o = wm.shape[0]
    if _is_pointwise(g):
        return (gy2 @ wm).reshape(g.n, g.h, g.w, g.c).transpose(0, 3, 1, 2)
    if g.c >= _NARROW_C:
        wb = xp.ascontiguousarray(wm.reshape(o, g.kh * g.kw, g.c).transpose(1, 0, 2))
        blocks = xp.matmul(gy2, wb)                               # (kh*kw, M, C)
        blocks = blocks.reshape(g.kh, g.kw, g.n, g.oh, g.ow, g.c)
    else:
        blocks = (wm.T @ gy2.T).reshape(g.kh, g.kw, g.c, g.n, g.oh, g.ow)
    return col2im(blocks, g)


def depthwise_forward(x, w, bias, g: ConvGeom):
    """Depthwise convolution (``groups == C == g.c``; ``w`` ``(C*m, 1, kh, kw)``): ``kh*kw``
    broadcast multiply-adds on channels-last views; no im2col. Returns ``(y, xpd)`` with ``xpd``
    the padded channels-last input (kept for the weight gradient)."""
    xp = get_array_module(x)
    m = w.shape[0] // g.c
    xpd = pad_channels_last(x, g)
    xv = xpd.transpose(0, 3, 1, 2)                                # (N, C, Hp, Wp) view
    buf = xp.zeros((g.n, g.oh, g.ow, g.c, m), x.dtype)
    y5 = buf.transpose(0, 3, 4, 1, 2)                             # (N, C, m, OH, OW) view
    wr = w.reshape(g.c, m, g.kh, g.kw)
    tmp = xp.empty_like(y5)
    for i in range(g.kh):
        for j in range(g.kw):
            xp.multiply(window(xv, i, j, g)[:, :, None], wr[:, :, i, j, None, None], out=tmp)
            y5 += tmp
    y = buf.reshape(g.n, g.oh, g.ow, g.c * m)
    if bias is not None:
        y += bias
    return y.transpose(0, 3, 1, 2), xpd


def depthwise_grad_input(gy, w, g: ConvGeom):
    """Input gradient of :func:`depthwise_forward` (``gy`` ``(N, C*m, OH, OW)``)."""
    xp = get_array_module(gy)
    m = w.shape[0] // g.c
    gy5 = gy.reshape(g.n, g.c, m, g.oh, g.ow)
    wr = w.reshape(g.c, m, g.kh, g.kw)
    dxp = xp.zeros((g.n, g.hp, g.wp, g.c), gy.dtype)
    view = dxp.transpose(0, 3, 1, 2)
    for i in range(g.kh):
        for j in range(g.kw):
            t = gy5 * wr[:, :, i, j, None, None]
            window(view, i, j, g)[...] += t[:, :, 0] if m == 1 else t.sum(2)
    return view[..., g.pt:g.pt + g.h, g.pl:g.pl + g.w]


def depthwise_grad_weight(gy, xpd, g: ConvGeom):
    """Weight gradient ``(C*m, 1, kh, kw)`` of :func:`depthwise_forward` (``xpd`` as returned
    by it)."""
    xp = get_array_module(gy)
    m = gy.shape[1] // g.c
    gy5 = gy.reshape(g.n, g.c, m, g.oh, g.ow)
    xv = xpd.transpose(0, 3, 1, 2)
    dw = xp.empty((g.c, m, g.kh, g.kw), gy.dtype)
    for i in range(g.kh):
        for j in range(g.kw):
            dw[:, :, i, j] = xp.einsum("nchw,ncmhw->cm", window(xv, i, j, g), gy5)
    return dw.reshape(g.c * m, 1, g.kh, g.kw)


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


def adaptive_bins(xp, size: int, out: int):
    """PyTorch's adaptive bins ``[floor(i*size/out), ceil((i+1)*size/out))`` as two arrays."""
    i = xp.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def adaptive_avg_matrix(xp, size: int, out: int, dtype):
    """``(out, size)`` matrix averaging each adaptive bin (rows sum to 1)."""
    start, end = adaptive_bins(xp, size, out)
    j = xp.arange(size)
    inside = (j >= start[:, None]) & (j < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def adaptive_taps(xp, size: int, out: int):
    """``(out, k_max)`` input indices of each adaptive bin, the last one repeated to fill."""
    start, end = adaptive_bins(xp, size, out)
    km = int((end - start).max())
    return xp.minimum(start[:, None] + xp.arange(km), end[:, None] - 1)


def nearest_index(xp, size: int, out: int, scale):
    """PyTorch's ``nearest`` source indices: ``min(floor(o * s), size - 1)`` with the float32
    ``s = 1/scale`` (or ``size/out`` when ``scale`` is None); exact for 1x and 2x."""
    if out == size:
        return xp.arange(out)
    if out == 2 * size:
        return xp.arange(out) // 2
    s = xp.float32(1.0 / scale if scale else size / out)
    src = xp.floor(xp.arange(out).astype(xp.float32) * s).astype(xp.int64)
    return xp.minimum(src, size - 1)

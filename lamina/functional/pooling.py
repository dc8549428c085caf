"""Pooling with PyTorch's semantics: max / average / Lp pooling (1-D and 2-D), adaptive and
global pooling, and nearest-neighbour upsampling (``interpolate``).

Windows are strided views of the (padded) input, one per kernel offset, combined elementwise:
no im2col and no Python loop over pixels. Max pooling sends the gradient to the first maximum
of each window in row-major order (PyTorch's tie rule); the common 2x2 / stride-2 case has its
own path. Outputs and gradients keep the input's memory order (channels-last stays so).
"""

from __future__ import annotations

import math

from .. import backend as B
from ..autograd.function import Function
from ..backend import kernels as K
from ..errors import check, op_error
from ._util import unwrap

__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "lp_pool1d", "lp_pool2d",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d",
           "adaptive_max_pool2d", "global_avg_pool2d", "global_max_pool2d", "interpolate",
           "upsample_nearest"]


# ----------------------------------------------------------------------------- helpers
def _to4(a, dims: int, batched: bool):
    """View a pooling input as ``(N, C, H, W)`` (1-D: ``H = 1``; unbatched: ``N = 1``)."""
    if dims == 1:
        a = a[:, :, None, :] if batched else a[None, :, None, :]
    elif not batched:
        a = a[None]
    return a


def _from4(a, dims: int, batched: bool):
    if dims == 1:
        return a[:, :, 0, :] if batched else a[0, :, 0, :]
    return a if batched else a[0]


def _ints(v, n: int, op: str, name: str) -> tuple:
    t = tuple(int(a) for a in v) if isinstance(v, (tuple, list)) else (int(v),) * n
    check(len(t) == n, op, f"{name} as an int or {n} ints", repr(v))
    return t


def _input(op: str, x, dims: int):
    shape = tuple(unwrap(x).shape)
    want = "(N, C, L) or (C, L)" if dims == 1 else "(N, C, H, W) or (C, H, W)"
    if len(shape) not in (dims + 1, dims + 2):
        raise op_error(op, f"input with {dims + 2} dims {want}", repr(shape))
    batched = len(shape) == dims + 2
    s4 = shape if batched else (1,) + shape
    if dims == 1:
        s4 = s4[:2] + (1,) + s4[2:]
    return s4, batched


def _pool_geom(op, s4, dims, kernel, stride, padding, dilation, ceil_mode) -> K.ConvGeom:
    k = _ints(kernel, dims, op, "kernel_size")
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) \
        else _ints(stride, dims, op, "stride")
    p = _ints(padding, dims, op, "padding")
    d = _ints(dilation, dims, op, "dilation")
    check(all(a >= 1 for a in k + s + d), op, "kernel_size, stride and dilation >= 1",
          f"kernel_size {k}, stride {s}, dilation {d}")
    check(all(0 <= pp <= kk // 2 for pp, kk in zip(p, k)), op,
          "0 <= padding <= kernel_size / 2", f"padding {p} with kernel_size {k}")
    if dims == 1:
        k, s, p, d = (1,) + k, (1,) + s, (0,) + p, (1,) + d
    outs, his = [], []
    for size, kk, ss, pp, dd in zip(s4[2:], k, s, p, d):
        eff = dd * (kk - 1) + 1
        num = size + 2 * pp - eff
        o = (-(-num // ss) if ceil_mode else num // ss) + 1
        if ceil_mode and (o - 1) * ss >= size + pp:
            o -= 1                    # the last window may not start in the right padding
        if o < 1:
            raise op_error(op, f"input size {size} + 2*padding >= kernel extent {eff}",
                           f"input {tuple(s4)}")
        outs.append(o)
        his.append(max(0, (o - 1) * ss + eff - size - pp))
    return K.ConvGeom(s4[0], s4[1], s4[2], s4[3], k[0], k[1], s[0], s[1], d[0], d[1],
                      p[0], his[0], p[1], his[1], outs[0], outs[1])


def _recording(fn) -> bool:
    return getattr(fn, "needs_input_grad", None) is not None


# ----------------------------------------------------------------------------- max pooling
class MaxPool2dFn(Function):
    """Max over each window; the offset of each window's first maximum drives backward."""

    def forward(self, x):
        x4 = _to4(x, self.dims, self.batched)
        self.order = K.layout_order(x4)
        need = _recording(self) or self.return_indices
        y, idx = K.max_pool2d_forward(x4, self.g, need)
        self.saved = (idx,)
        y = _from4(y, self.dims, self.batched)
        if not self.return_indices:
            return y
        return y, _from4(self._flat_indices(idx), self.dims, self.batched)

    def _flat_indices(self, idx):
        """PyTorch's indices: position ``h * W + w`` in each unpadded input plane (int64)."""
        xp, g = self.xp, self.g
        idx = K.max_pool_offsets(idx).astype(xp.int64)
        hh = (xp.arange(g.oh)[:, None] * g.sh - g.pt) + (idx // g.kw) * g.dh
        ww = (xp.arange(g.ow) * g.sw - g.pl) + (idx % g.kw) * g.dw
        return hh * g.w + ww

    def backward(self, gy, gind=None):
        gy = _to4(gy, self.dims, self.batched)
        dx = K.max_pool2d_backward(gy, self.saved[0], self.g, self.order)
        return (_from4(dx, self.dims, self.batched),)


def _max_pool(op, dims, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    s4, batched = _input(op, x, dims)
    g = _pool_geom(op, s4, dims, kernel_size, stride, padding, dilation, ceil_mode)
    return MaxPool2dFn.apply(x, g=g, dims=dims, batched=batched,
                             return_indices=bool(return_indices))


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling, as ``torch.nn.functional.max_pool2d``.

    Args:
        x (Tensor): ``(N, C, H, W)`` or ``(C, H, W)``.
        kernel_size (int or tuple): window size.
        stride (int, tuple or None): window step; None means ``kernel_size``. Default None.
        padding (int or tuple): implicit ``-inf`` padding, at most half the kernel. Default 0.
        dilation (int or tuple): spacing of window taps. Default 1.
        ceil_mode (bool): round the output size up (the last window may be partial).
            Default False.
        return_indices (bool): also return the flat ``h * W + w`` index of each maximum.
            Default False.

    Returns:
        Tensor ``(N, C, OH, OW)``, ``OH = (H + 2*padding - dilation*(k-1) - 1) // stride + 1``
        (or the pair ``(output, indices)``). The gradient goes to the first maximum of each
        window in row-major order (PyTorch's rule at ties).

    Example:
        >>> F.max_pool2d(lamina.randn(8, 16, 28, 28), 2).shape
        (8, 16, 14, 14)
    """
    return _max_pool("max_pool2d", 2, x, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-D max pooling of ``(N, C, L)`` (or ``(C, L)``), as ``torch.nn.functional.max_pool1d``.

    Args:
        x (Tensor): ``(N, C, L)`` or ``(C, L)``. kernel_size, stride (None: ``kernel_size``),
            padding, dilation, ceil_mode, return_indices: as :func:`max_pool2d` (ints).

    Returns:
        Tensor ``(N, C, OL)`` (and int64 indices into ``L`` with ``return_indices``).
    """
    return _max_pool("max_pool1d", 1, x, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


# ----------------------------------------------------------------------------- average pooling
class AvgPool2dFn(Function):
    def forward(self, x):
        x4 = _to4(x, self.dims, self.batched)
        self.order = K.layout_order(x4)
        if self.divisor_override:
            self.scale = 1.0 / self.divisor_override
        else:
            self.scale = K.avg_pool_scale(self.xp, self.g, self.count_include_pad, x.dtype)
        return _from4(K.avg_pool2d_forward(x4, self.g, self.scale), self.dims, self.batched)

    def backward(self, gy):
        gy = _to4(gy, self.dims, self.batched)
        dx = K.avg_pool2d_backward(gy, self.g, self.scale, self.order)
        return (_from4(dx, self.dims, self.batched),)


def _avg_pool(op, dims, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override=None):
    s4, batched = _input(op, x, dims)
    g = _pool_geom(op, s4, dims, kernel_size, stride, padding, 1, ceil_mode)
    return AvgPool2dFn.apply(x, g=g, dims=dims, batched=batched,
                             count_include_pad=bool(count_include_pad),
                             divisor_override=divisor_override)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``.

    Args:
        x (Tensor): ``(N, C, H, W)`` or ``(C, H, W)``.
        kernel_size (int or tuple): window size. stride (int, tuple or None): None means
            ``kernel_size``. Default None. padding (int or tuple): zero padding, at most half
            the kernel. Default 0.
        ceil_mode (bool): round the output size up. Default False.
        count_include_pad (bool): the divisor counts padded zeros (PyTorch's default). With
            False, only real input pixels. Default True.
        divisor_override (int or None): fixed divisor. Default None.

    Returns:
        Tensor ``(N, C, OH, OW)``.

    Example:
        >>> F.avg_pool2d(lamina.randn(2, 3, 8, 8), 3, stride=2, padding=1).shape
        (2, 3, 4, 4)
    """
    return _avg_pool("avg_pool2d", 2, x, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-D average pooling of ``(N, C, L)``, as ``torch.nn.functional.avg_pool1d``.

    Args:
        x (Tensor): ``(N, C, L)`` or ``(C, L)``. kernel_size, stride, padding, ceil_mode,
            count_include_pad: as :func:`avg_pool2d` (ints).

    Returns:
        Tensor ``(N, C, OL)``.
    """
    return _avg_pool("avg_pool1d", 1, x, kernel_size, stride, padding, ceil_mode,
                     count_include_pad)


def lp_pool2d(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling ``(sum over window of x**p) ** (1/p)``; ``norm_type=2`` is L2-norm
    pooling. As ``torch.nn.functional.lp_pool2d`` (no padding).

    Args:
        x (Tensor): ``(N, C, H, W)``. norm_type (float): ``p``.
        kernel_size, stride (None: ``kernel_size``), ceil_mode: as :func:`avg_pool2d`.

    Returns:
        Tensor ``(N, C, OH, OW)``. The gradient is infinite where a window sums to 0 (as in
        PyTorch).

    Example:
        >>> F.lp_pool2d(lamina.randn(2, 3, 8, 8), 2, 2).shape
        (2, 3, 4, 4)
    """
    kh, kw = _ints(kernel_size, 2, "lp_pool2d", "kernel_size")
    out = avg_pool2d(x ** norm_type, (kh, kw), stride, 0, ceil_mode)
    return (out * float(kh * kw)) ** (1.0 / norm_type)


def lp_pool1d(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    """1-D power-average pooling of ``(N, C, L)``; see :func:`lp_pool2d`.

    Returns:
        Tensor ``(N, C, OL)``.
    """
    (k,) = _ints(kernel_size, 1, "lp_pool1d", "kernel_size")
    out = avg_pool1d(x ** norm_type, k, stride, 0, ceil_mode)
    return (out * float(k)) ** (1.0 / norm_type)




# ----------------------------------------------------------------------------- adaptive pooling
def _out_sizes(op, output_size, s4, dims):
    o = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * dims
    check(len(o) == dims, op, f"output_size as an int or {dims} values", repr(output_size))
    o = tuple(s4[4 - dims + a] if v is None else int(v) for a, v in enumerate(o))
    check(all(v >= 1 for v in o), op, "output_size >= 1", repr(output_size))
    return (1,) + o if dims == 1 else o


def _adaptive_bins(xp, size: int, out: int):
    """PyTorch's adaptive bins ``[floor(i*size/out), ceil((i+1)*size/out))`` as two arrays."""
    i = xp.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def _adaptive_avg_matrix(xp, size: int, out: int, dtype):
    """``(out, size)`` matrix averaging each adaptive bin (rows sum to 1)."""
    start, end = _adaptive_bins(xp, size, out)
    j = xp.arange(size)
    inside = (j >= start[:, None]) & (j < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _adaptive_taps(xp, size: int, out: int):
    """``(out, k_max)`` input indices of each adaptive bin, the last one repeated to fill."""
    start, end = _adaptive_bins(xp, size, out)
    km = int((end - start).max())
    return xp.minimum(start[:, None] + xp.arange(km), end[:, None] - 1)


def _nearest_index(xp, size: int, out: int, scale):
    """PyTorch's ``nearest`` source indices: ``min(floor(o * s), size - 1)`` with the float32
    ``s = 1/scale`` (or ``size/out`` when ``scale`` is None); exact for 1x and 2x."""
    if out == size:
        return xp.arange(out)
    if out == 2 * size:
        return xp.arange(out) // 2
    s = xp.float32(1.0 / scale if scale else size / out)
    src = xp.floor(xp.arange(out).astype(xp.float32) * s).astype(xp.int64)
    return xp.minimum(src, size - 1)


class AdaptiveAvgPool2dFn(Function):
    """``y = A_h @ x @ A_w.T`` with bin-averaging matrices (exact PyTorch bins, any sizes)."""

    def forward(self, x):
        x4 = _to4(x, self.dims, self.batched)
        h, w = x4.shape[2:]
        self.ah = _adaptive_avg_matrix(self.xp, h, self.out[0], x.dtype)
        self.aw = _adaptive_avg_matrix(self.xp, w, self.out[1], x.dtype)
        return _from4(self.ah @ (x4 @ self.aw.T), self.dims, self.batched)

    def backward(self, gy):
        gy = _to4(gy, self.dims, self.batched)
        return (_from4((self.ah.T @ gy) @ self.aw, self.dims, self.batched),)


class AdaptiveMaxPool2dFn(Function):
    """Gathers every (clipped) bin as ``(..., kh_max*kw_max)``; argmax is the first maximum."""

    def forward(self, x):
        xp = self.xp
        x4 = _to4(x, self.dims, self.batched)
        n, c, h, w = x4.shape
        rows = _adaptive_taps(xp, h, self.out[0])                 # (OH, kh_max)
        cols = _adaptive_taps(xp, w, self.out[1])
        khm, kwm = rows.shape[1], cols.shape[1]
        oh, ow = self.out
        win = x4[:, :, rows[:, :, None, None], cols[None, None]]    # (N, C, OH, kh, OW, kw)
        win = win.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, oh, ow, khm * kwm)
        a = win.argmax(-1)
        y = xp.take_along_axis(win, a[..., None], -1)[..., 0]
        flat = rows[xp.arange(oh)[:, None], a // kwm] * w + cols[xp.arange(ow), a % kwm]
        self.saved = (flat, x4.shape)
        y = _from4(y, self.dims, self.batched)
        if self.return_indices:
            return y, _from4(flat, self.dims, self.batched)
        return y

    def backward(self, gy, gind=None):
        xp = self.xp
        flat, (n, c, h, w) = self.saved
        gy = _to4(gy, self.dims, self.batched)
        dx = xp.zeros((n * c, h * w), gy.dtype)
        xp.add.at(dx, (xp.arange(n * c)[:, None], flat.reshape(n * c, -1)),
                  gy.reshape(n * c, -1))
        return (_from4(dx.reshape(n, c, h, w), self.dims, self.batched),)


def _adaptive(op, dims, x, output_size, kind, return_indices=False):
    s4, batched = _input(op, x, dims)
    out = _out_sizes(op, output_size, s4, dims)
    if kind == "max":
        return AdaptiveMaxPool2dFn.apply(x, out=out, dims=dims, batched=batched,
                                         return_indices=bool(return_indices))
    h, w = s4[2:]
    if h % out[0] == 0 and w % out[1] == 0:     # equal bins: a plain average pool
        k = (h // out[0], w // out[1])
        return _avg_pool(op, dims, x, k[1:] if dims == 1 else k, None, 0, False, True)
    return AdaptiveAvgPool2dFn.apply(x, out=out, dims=dims, batched=batched)


def adaptive_avg_pool2d(x, output_size):
    """Average over PyTorch's adaptive bins so the output is ``output_size``, for any input
    size (bins ``[floor(i*H/OH), ceil((i+1)*H/OH))`` may overlap).

    Args:
        x (Tensor): ``(N, C, H, W)`` or ``(C, H, W)``.
        output_size (int or tuple): ``(OH, OW)``; None in a tuple keeps that input size.

    Returns:
        Tensor ``(N, C, OH, OW)``.

    Example:
        >>> F.adaptive_avg_pool2d(lamina.randn(2, 3, 7, 10), (3, 4)).shape
        (2, 3, 3, 4)
    """
    return _adaptive("adaptive_avg_pool2d", 2, x, output_size, "avg")


def adaptive_avg_pool1d(x, output_size):
    """1-D :func:`adaptive_avg_pool2d` of ``(N, C, L)``; returns ``(N, C, output_size)``."""
    return _adaptive("adaptive_avg_pool1d", 1, x, output_size, "avg")


def adaptive_max_pool2d(x, output_size, return_indices=False):
    """Max over PyTorch's adaptive bins (see :func:`adaptive_avg_pool2d`).

    Args:
        x (Tensor): ``(N, C, H, W)`` or ``(C, H, W)``. output_size (int or tuple): ``(OH, OW)``.
        return_indices (bool): also return flat ``h * W + w`` indices. Default False.

    Returns:
        Tensor ``(N, C, OH, OW)`` (or ``(output, indices)``); gradient to the first maximum.
    """
    return _adaptive("adaptive_max_pool2d", 2, x, output_size, "max", return_indices)


def adaptive_max_pool1d(x, output_size, return_indices=False):
    """1-D :func:`adaptive_max_pool2d` of ``(N, C, L)``."""
    return _adaptive("adaptive_max_pool1d", 1, x, output_size, "max", return_indices)


# ----------------------------------------------------------------------------- global pooling
class GlobalPoolFn(Function):
    """Mean or max over ``H, W`` of ``(N, C, H, W)``; ``(N, C)`` or ``(N, C, 1, 1)`` out."""

    def forward(self, x):
        xp = self.xp
        n, c, h, w = x.shape
        self.shape, self.order = x.shape, K.layout_order(x)
        if self.kind == "avg":
            y = x.mean(axis=(2, 3))
        else:
            x3 = x.reshape(n, c, h * w)
            self.arg = x3.argmax(-1)
            y = xp.take_along_axis(x3, self.arg[..., None], -1)[..., 0]
        return y[:, :, None, None] if self.keepdim else y

    def backward(self, gy):
        xp = self.xp
        n, c, h, w = self.shape
        gy = gy.reshape(n, c, 1, 1)
        if self.kind == "avg":
            dx = K.empty_in_order(xp, self.shape, self.order, gy.dtype)
            dx[...] = gy * (1.0 / (h * w))
            return (dx,)
        dx = xp.zeros((n, c, h * w), gy.dtype)
        xp.put_along_axis(dx, self.arg[..., None], gy.reshape(n, c, 1), -1)
        return (dx.reshape(self.shape),)


def _global(op, x, kind, keepdim):
    shape = tuple(unwrap(x).shape)
    check(len(shape) == 4, op, "input with 4 dims (N, C, H, W)", repr(shape))
    return GlobalPoolFn.apply(x, kind=kind, keepdim=bool(keepdim))


def global_avg_pool2d(x, keepdim=False):
    """Mean of each channel over ``H, W`` (Keras' ``GlobalAveragePooling2D``).

    Args:
        x (Tensor): ``(N, C, H, W)``. keepdim (bool): return ``(N, C, 1, 1)``. Default False.

    Returns:
        Tensor ``(N, C)`` (or ``(N, C, 1, 1)``).
    """
    return _global("global_avg_pool2d", x, "avg", keepdim)


def global_max_pool2d(x, keepdim=False):
    """Max of each channel over ``H, W``; the gradient goes to the first maximum.

    Args:
        x (Tensor): ``(N, C, H, W)``. keepdim (bool): return ``(N, C, 1, 1)``. Default False.

    Returns:
        Tensor ``(N, C)`` (or ``(N, C, 1, 1)``).
    """
    return _global("global_max_pool2d", x, "max", keepdim)


# ----------------------------------------------------------------------------- upsampling
class NearestFn(Function):
    """Nearest upsampling: integer factors ``reps`` by broadcast (backward: reshape-sum), other
    sizes by index arrays ``hi``, ``wi`` (backward: one-hot matrices)."""

    def forward(self, x):
        xp = self.xp
        x4 = _to4(x, self.dims, True)
        n, c, h, w = x4.shape
        self.hw = (h, w)
        if self.reps is not None:
            rh, rw = self.reps
            y = xp.broadcast_to(x4[:, :, :, None, :, None], (n, c, h, rh, w, rw))
            y = y.reshape(n, c, h * rh, w * rw)
        else:
            y = x4[:, :, self.hi[:, None], self.wi[None, :]]
        return _from4(y, self.dims, True)

    def backward(self, gy):
        xp = self.xp
        gy = _to4(gy, self.dims, True)
        n, c = gy.shape[:2]
        h, w = self.hw
        if self.reps is not None:
            rh, rw = self.reps
            dx = gy.reshape(n, c, h, rh, w, rw).sum(axis=(3, 5))
        else:
            sh = (self.hi[:, None] == xp.arange(h)).astype(gy.dtype)   # (OH, H) one-hot
            sw = (self.wi[:, None] == xp.arange(w)).astype(gy.dtype)
            dx = (sh.T @ gy) @ sw
        return (_from4(dx, self.dims, True),)


def interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None):
    """Resize ``(N, C, L)`` or ``(N, C, H, W)`` by nearest-neighbour sampling, as
    ``torch.nn.functional.interpolate(mode='nearest')``.

    Args:
        x (Tensor): ``(N, C, L)`` or ``(N, C, H, W)``.
        size (int or tuple or None): output spatial size. Default None.
        scale_factor (float or tuple or None): multiplier of the spatial size (exactly one
            of ``size`` and ``scale_factor``). Default None.
        mode (str): only ``'nearest'``. Default ``'nearest'``.
        align_corners: must be None for ``'nearest'``.
        recompute_scale_factor (bool or None): use ``in/out`` instead of ``1/scale_factor``
            to map output to input indices. Default None (False).

    Returns:
        Tensor ``(N, C, *out)`` with ``out = floor(in * scale_factor)`` or ``size``.

    Example:
        >>> F.interpolate(lamina.randn(1, 3, 4, 4), scale_factor=2).shape
        (1, 3, 8, 8)
    """
    op = "interpolate"
    shape = tuple(unwrap(x).shape)
    check(len(shape) in (3, 4), op, "input with 3 or 4 dims (N, C, L) / (N, C, H, W)",
          repr(shape))
    check(mode == "nearest", op, "mode='nearest'", repr(mode),
          "bilinear and other modes are not implemented")
    check(align_corners is None, op, "align_corners=None with mode='nearest'",
          repr(align_corners))
    check((size is None) != (scale_factor is None), op, "exactly one of size and scale_factor",
          f"size={size!r}, scale_factor={scale_factor!r}")
    dims = len(shape) - 2
    ins = shape[2:]
    if size is not None:
        outs = _ints(size, dims, op, "size")
        scales = (None,) * dims
    else:
        sf = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) \
            else (scale_factor,) * dims
        check(len(sf) == dims and all(float(f) > 0 for f in sf), op,
              f"{dims} positive scale factors", repr(scale_factor))
        outs = tuple(int(math.floor(i * float(f))) for i, f in zip(ins, sf))
        scales = (None,) * dims if recompute_scale_factor else tuple(float(f) for f in sf)
    check(all(o >= 1 for o in outs), op, "an output size >= 1", repr(outs))
    xp = B.get_array_module(unwrap(x))
    ins4, outs4, sc4 = ((1,) + ins, (1,) + outs, (None,) + scales) if dims == 1 \
        else (ins, outs, scales)
    hi, wi = (_nearest_index(xp, i, o, s) for i, o, s in zip(ins4, outs4, sc4))
    reps = None
    if all(o % i == 0 for i, o in zip(ins4, outs4)):
        r = tuple(o // i for i, o in zip(ins4, outs4))
        if all(bool((ix == xp.arange(o) // rr).all()) for ix, o, rr in zip((hi, wi), outs4, r)):
            reps = r
    return NearestFn.apply(x, dims=dims, reps=reps, hi=hi, wi=wi)


def upsample_nearest(x, size=None, scale_factor=None):
    """Nearest-neighbour upsampling: ``interpolate(x, size, scale_factor, mode='nearest')``."""
    return interpolate(x, size=size, scale_factor=scale_factor, mode="nearest")

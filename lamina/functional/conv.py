"""Convolutions with PyTorch's layouts: conv1d, conv2d, conv_transpose1d, conv_transpose2d.

All of them lower to the im2col + GEMM kernels of :mod:`lamina.backend.kernels` (conv1d is
conv2d with ``H = 1``; a transposed convolution's forward is a convolution's input gradient).
Depthwise convolutions (``groups == in_channels``) skip im2col; other groups run batched GEMMs
over the group axis (:mod:`lamina.backend.group_kernels`), with no loop over groups.
Outputs are channels-last buffers seen as ``(N, C, H, W)``: values and shapes are PyTorch's.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..backend import group_kernels as GK
from ..backend import kernels as K
from ..errors import check, op_error
from ._util import unwrap

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]


def _tuple(v, n: int, op: str, name: str) -> tuple:
    t = tuple(int(a) for a in v) if isinstance(v, (tuple, list)) else (int(v),) * n
    check(len(t) == n, op, f"{name} as an int or {n} ints", repr(v))
    return t


def _pads(padding, kernel, stride, dilation, op: str) -> tuple:
    """``(top, bottom, left, right)`` from an int, a tuple, ``'valid'`` or ``'same'``."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        check(padding == "same", op, "padding an int, a tuple, 'same' or 'valid'",
              repr(padding))
        check(all(s == 1 for s in stride), op, "stride 1 with padding='same'",
              f"stride {stride}")
        out = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)        # PyTorch puts the odd extra pixel at the end
            out += [total // 2, total - total // 2]
        return tuple(out)
    p = _tuple(padding, len(kernel), op, "padding")
    check(all(a >= 0 for a in p), op, "non-negative padding", repr(padding))
    return tuple(a for a in p for _ in range(2))


def _geom(op, xs, ws, groups, stride, pads, dilation) -> K.ConvGeom:
    n, c, h, w = xs
    g = K.conv_geom((n, c // groups, h, w), ws[2:], stride, pads, dilation)
    ekh, ekw = dilation[0] * (ws[2] - 1) + 1, dilation[1] * (ws[3] - 1) + 1
    if g.hp < ekh or g.wp < ekw:
        raise op_error(op, f"padded input size >= dilated kernel size ({ekh}, {ekw})",
                       f"padded input ({g.hp}, {g.wp}) from input {tuple(xs)}")
    return g


def _check_common(op, stride, dilation, groups, ws, bias, o: int):
    check(all(s >= 1 for s in stride), op, "stride >= 1", repr(stride))
    check(all(d >= 1 for d in dilation), op, "dilation >= 1", repr(dilation))
    check(groups >= 1 and ws[0] % groups == 0, op,
          f"weight.shape[0] divisible by groups ({groups})", repr(tuple(ws)))
    if bias is not None:
        bs = tuple(unwrap(bias).shape)
        check(bs == (o,), op, f"bias of shape ({o},)", repr(bs))


def _as4d(a):
    return a[:, :, None, :] if a.ndim == 3 else a


def _as4d_and_bias_grad(fn, gy):
    """A conv op's output gradient as 4-D and its bias gradient (None unless asked)."""
    gy = _as4d(gy)
    return gy, (K.channel_sums(gy) if fn.needs_input_grad[2] else None)


# ----------------------------------------------------------------------------- depthwise
def _depthwise_forward(xp, x, w, bias, g):
    """Depthwise convolution (``groups == C == g.c``, ``w`` ``(C*m, 1, kh, kw)``): ``kh*kw``
    broadcast multiply-adds on channels-last views, no im2col. Returns ``(y, xpd)`` with ``xpd``
    the padded channels-last input (kept for the weight gradient)."""
    m = w.shape[0] // g.c
    xv = K.pad_channels_last(x, g).transpose(0, 3, 1, 2)        # (N, C, Hp, Wp) view
    buf = K.alloc(xp, (g.n, g.oh, g.ow, g.c, m), x.dtype)
    y5 = buf.transpose(0, 3, 4, 1, 2)                           # (N, C, m, OH, OW) view
    wr = w.reshape(g.c, m, g.kh, g.kw)

    def run(lo, hi):
        ys, xs = y5[lo:hi], xv[lo:hi]
        ys[...] = 0
        for i in range(g.kh):
            for j in range(g.kw):
                ys += K.window(xs, i, j, g)[:, :, None] * wr[:, :, i, j, None, None]
    K.parallel_for(g.n, run, buf.size * g.kh * g.kw)
    y = buf.reshape(g.n, g.oh, g.ow, g.c * m).transpose(0, 3, 1, 2)
    if bias is not None:
        K.add_channel_bias(y, bias)
    return y, xv


def _depthwise_grad_input(xp, gy, w, g):
    m = w.shape[0] // g.c
    gy5 = gy.reshape(g.n, g.c, m, g.oh, g.ow)
    wr = w.reshape(g.c, m, g.kh, g.kw)
    view = K.alloc(xp, (g.n, g.hp, g.wp, g.c), gy.dtype).transpose(0, 3, 1, 2)

    def run(lo, hi):
        part, gs = view[lo:hi], gy5[lo:hi]
        part[...] = 0
        for i in range(g.kh):
            for j in range(g.kw):
                t = gs * wr[:, :, i, j, None, None]
                K.window(part, i, j, g)[...] += t[:, :, 0] if m == 1 else t.sum(2)
    K.parallel_for(g.n, run, gy.size * g.kh * g.kw)
    return view[..., g.pt:g.pt + g.h, g.pl:g.pl + g.w]


def _depthwise_grad_weight(xp, gy, xv, g):
    m = gy.shape[1] // g.c
    gy5 = gy.reshape(g.n, g.c, m, g.oh, g.ow)
    dw = xp.empty((g.c, m, g.kh, g.kw), gy.dtype)
    for i in range(g.kh):
        for j in range(g.kw):
            dw[:, :, i, j] = xp.einsum("nchw,ncmhw->cm", K.window(xv, i, j, g), gy5)
    return dw.reshape(g.c * m, 1, g.kh, g.kw)


class Conv2dFn(Function):
    """Grouped 2-D convolution; attributes ``g`` (per-group :class:`ConvGeom`), ``groups``."""

    def forward(self, x, w, b):
        x, w = _as4d(x), _as4d(w)
        need = getattr(self, "needs_input_grad", (False, False, False))
        g, G = self.g, self.groups
        if G == 1:
            wm = K.weight_matrix(w)
            y, cols = K.conv2d_forward(x, wm, b, g)
            self.saved = (cols if need[1] else None, wm if need[0] else None, w.shape)
        elif g.c == 1:  # depthwise
            y, xpd = _depthwise_forward(self.xp, x, w, b, g._replace(c=G))
            self.saved = (xpd if need[1] else None, w if need[0] else None, w.shape)
        else:  # grouped: batched GEMMs over the group axis
            wg = GK.grouped_weight(w, G)
            y, cols = GK.grouped_forward(x, wg, b, g, G)
            self.saved = (cols if need[1] else None, wg if need[0] else None, w.shape)
        return y[:, :, 0, :] if self.one_d else y

    def backward(self, gy):
        xp = self.xp
        saved, wsaved, wshape = self.saved
        nx, nw, _ = self.needs_input_grad
        g, G = self.g, self.groups
        gy, gb = _as4d_and_bias_grad(self, gy)
        gx = gw = None
        if G == 1:
            gy2 = K.rows_of(gy)
            if nw:
                gw = K.weight_from_matrix(K.conv2d_grad_weight(gy2, saved), wshape)
            if nx:
                gx = K.conv2d_grad_input(gy2, wsaved, g)
        elif g.c == 1:
            gd = g._replace(c=G)      # the depthwise kernels see all channels
            if nw:
                gw = _depthwise_grad_weight(xp, gy, saved, gd)
            if nx:
                gx = _depthwise_grad_input(xp, gy, wsaved, gd)
        else:
            gy2 = K.rows_of(gy)
            if nw:
                gw = GK.grouped_weight_from(GK.grouped_grad_weight(gy2, saved, G), wshape)
            if nx:
                gx = GK.grouped_grad_input(gy2, wsaved, g, G)
        if self.one_d:
            gx = None if gx is None else gx[:, :, 0, :]
            gw = None if gw is None else gw[:, :, 0, :]
        return gx, gw, gb


class ConvTranspose2dFn(Function):
    """Transposed convolution: forward is the input gradient of the convolution ``g``
    describes (from the output's shape to the input's); ``groups`` as in PyTorch."""

    def forward(self, x, w, b):
        x, w = _as4d(x), _as4d(w)
        need = getattr(self, "needs_input_grad", (False, False, False))
        g, G = self.g, self.groups
        x2 = K.rows_of(x)                                          # (N*H*W, Cin)
        if G == 1:
            wm = K.weight_matrix(w)
            y = K.conv2d_grad_input(x2, wm, g)
        else:  # the weight seen as a grouped conv's (G*Cin/G, Cout/G, kh, kw) weight
            wm = GK.grouped_weight(w, G)
            y = GK.grouped_grad_input(x2, wm, g, G)
        if b is not None:
            K.add_channel_bias(y, b)       # y is a fresh buffer
        self.saved = (x2 if need[1] else None, wm if need[0] else None, w.shape)
        return y[:, :, 0, :] if self.one_d else y

    def backward(self, gy):
        xp = self.xp
        x2, wms, wshape = self.saved
        nx, nw, _ = self.needs_input_grad
        g, G = self.g, self.groups
        gy, gb = _as4d_and_bias_grad(self, gy)
        gx = gw = None
        if G == 1:
            cols = K.im2col(gy, g)
            if nx:
                gx = (cols @ wms.T).reshape(g.n, g.oh, g.ow, -1).transpose(0, 3, 1, 2)
            if nw:
                gw = K.weight_from_matrix(K.conv2d_grad_weight(x2, cols), wshape)
        else:
            cols = GK.im2col_grouped(gy, g, G)
            if nx:
                rows = K.alloc(xp, (g.rows, wshape[0]), gy.dtype)
                xp.matmul(cols, wms, out=GK._by_group(rows, G))
                gx = rows.reshape(g.n, g.oh, g.ow, -1).transpose(0, 3, 1, 2)
            if nw:
                gw = GK.grouped_weight_from(GK.grouped_grad_weight(x2, cols, G), wshape)
        if self.one_d:
            gx = None if gx is None else gx[:, :, 0, :]
            gw = None if gw is None else gw[:, :, 0, :]
        return gx, gw, gb


def _conv(op, dims, x, weight, bias, stride, padding, dilation, groups):
    xs, ws = tuple(unwrap(x).shape), tuple(unwrap(weight).shape)
    spatial = "(N, C, L)" if dims == 1 else "(N, C, H, W)"
    kdims = "kL" if dims == 1 else "kH, kW"
    check(len(ws) == dims + 2, op,
          f"weight with {dims + 2} dims (out_channels, in_channels/groups, {kdims})", repr(ws))
    if len(xs) != dims + 2 or xs[1] != ws[1] * groups:
        c = ws[1] * groups
        raise op_error(op, f"input with {dims + 2} dims {spatial} and C == "
                       f"weight.shape[1]*groups ({c})", repr(xs))
    stride = _tuple(stride, dims, op, "stride")
    dilation = _tuple(dilation, dims, op, "dilation")
    _check_common(op, stride, dilation, groups, ws, bias, ws[0])
    pads = _pads(padding, ws[2:], stride, dilation, op)
    if dims == 1:
        stride, dilation, pads = (1,) + stride, (1,) + dilation, (0, 0) + pads
        xs, ws = xs[:2] + (1,) + xs[2:], ws[:2] + (1,) + ws[2:]
    g = _geom(op, xs, ws, groups, stride, pads, dilation)
    return Conv2dFn.apply(x, weight, bias, g=g, groups=groups, one_d=dims == 1)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation, as ``torch.nn.functional.conv2d``.

    Args:
        x (Tensor): input ``(N, C, H, W)``.
        weight (Tensor): ``(out_channels, C / groups, kH, kW)``.
        bias (Tensor or None): ``(out_channels,)``. Default None.
        stride (int or tuple): window step. Default 1.
        padding (int, tuple, 'same' or 'valid'): zero padding on both sides; ``'same'``
            (stride 1 only) keeps ``H, W`` and puts an odd extra pixel at the end. Default 0.
        dilation (int or tuple): spacing of kernel taps. Default 1.
        groups (int): channel groups; ``groups == C`` is depthwise. Default 1.

    Returns:
        Tensor: ``(N, out_channels, OH, OW)`` with
        ``OH = (H + 2*pad - dilation*(kH - 1) - 1) // stride + 1``.

    Shape:
        ``(N, C, H, W)`` x ``(O, C/groups, kH, kW)`` -> ``(N, O, OH, OW)``.

    Example:
        >>> y = F.conv2d(lamina.randn(8, 3, 32, 32), lamina.randn(16, 3, 3, 3), padding=1)
        >>> y.shape
        (8, 16, 32, 32)
    """
    return _conv("conv2d", 2, x, weight, bias, stride, padding, dilation, groups)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation, as ``torch.nn.functional.conv1d`` (conv2d with ``H = 1``).

    Args:
        x (Tensor): ``(N, C, L)``. weight (Tensor): ``(out_channels, C / groups, kL)``.
        bias (Tensor or None): ``(out_channels,)``. Default None.
        stride, padding, dilation, groups: as :func:`conv2d` (ints). Defaults 1, 0, 1, 1.

    Returns:
        Tensor: ``(N, out_channels, OL)``, ``OL = (L + 2*pad - dilation*(kL-1) - 1)//stride + 1``.

    Example:
        >>> F.conv1d(lamina.randn(4, 2, 50), lamina.randn(8, 2, 5), padding="same").shape
        (4, 8, 50)
    """
    return _conv("conv1d", 1, x, weight, bias, stride, padding, dilation, groups)


def _conv_t(op, dims, x, weight, bias, stride, padding, output_padding, groups, dilation):
    xs, ws = tuple(unwrap(x).shape), tuple(unwrap(weight).shape)
    spatial = "(N, C, L)" if dims == 1 else "(N, C, H, W)"
    check(len(ws) == dims + 2, op, f"weight with {dims + 2} dims (in_channels, "
          "out_channels/groups, kernel...)", repr(ws))
    if len(xs) != dims + 2 or xs[1] != ws[0]:
        raise op_error(op, f"input with {dims + 2} dims {spatial} and C == weight.shape[0] "
                       f"({ws[0]})", repr(xs))
    stride = _tuple(stride, dims, op, "stride")
    dilation = _tuple(dilation, dims, op, "dilation")
    pad = _tuple(padding, dims, op, "padding")
    opad = _tuple(output_padding, dims, op, "output_padding")
    _check_common(op, stride, dilation, groups, ws, bias, ws[1] * groups)
    check(all(0 <= a < max(s, d) for a, s, d in zip(opad, stride, dilation)), op,
          "0 <= output_padding < max(stride, dilation)", f"output_padding {opad}")
    if dims == 1:
        stride, dilation, pad, opad = ((1,) + stride, (1,) + dilation, (0,) + pad, (0,) + opad)
        xs, ws = xs[:2] + (1,) + xs[2:], ws[:2] + (1,) + ws[2:]
    out = [(i - 1) * s - 2 * p + d * (k - 1) + a + 1
           for i, s, p, d, k, a in zip(xs[2:], stride, pad, dilation, ws[2:], opad)]
    check(all(o > 0 for o in out), op, "a positive output size", f"{tuple(out)}")
    pads = (pad[0], pad[0], pad[1], pad[1])
    g = K.conv_geom((xs[0], ws[1], out[0], out[1]), ws[2:], stride, pads, dilation)
    g = g._replace(oh=xs[2], ow=xs[3])  # output_padding >= stride: rows no window reaches
    return ConvTranspose2dFn.apply(x, weight, bias, g=g, groups=groups, one_d=dims == 1)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution (the gradient of conv2d w.r.t. its input), as
    ``torch.nn.functional.conv_transpose2d``.

    Args:
        x (Tensor): ``(N, C_in, H, W)``.
        weight (Tensor): ``(C_in, out_channels / groups, kH, kW)`` (PyTorch's layout).
        bias (Tensor or None): ``(out_channels,)``. Default None.
        stride (int or tuple): Default 1. padding (int or tuple): removed from both sides of
            the output. Default 0.
        output_padding (int or tuple): extra rows/columns at the end of the output (to pick
            among the sizes a strided conv maps to the same size). Default 0.
        groups (int): Default 1. dilation (int or tuple): Default 1.

    Returns:
        Tensor: ``(N, out_channels, OH, OW)``,
        ``OH = (H - 1)*stride - 2*padding + dilation*(kH - 1) + output_padding + 1``.

    Example:
        >>> F.conv_transpose2d(lamina.randn(2, 8, 7, 7), lamina.randn(8, 4, 4, 4),
        ...                    stride=2, padding=1).shape
        (2, 4, 14, 14)
    """
    return _conv_t("conv_transpose2d", 2, x, weight, bias, stride, padding, output_padding,
                   groups, dilation)


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transposed convolution, as ``torch.nn.functional.conv_transpose1d``.

    Args:
        x (Tensor): ``(N, C_in, L)``. weight (Tensor): ``(C_in, out_channels / groups, kL)``.
        bias, stride, padding, output_padding, groups, dilation: as :func:`conv_transpose2d`.

    Returns:
        Tensor: ``(N, out_channels, (L-1)*stride - 2*padding + dilation*(kL-1)
        + output_padding + 1)``.
    """
    return _conv_t("conv_transpose1d", 1, x, weight, bias, stride, padding, output_padding,
                   groups, dilation)

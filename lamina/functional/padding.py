"""``pad`` (``torch.nn.functional.pad``): constant (negative widths crop), reflect, replicate
and circular modes, with PyTorch's last-dim-first ``pad`` tuple."""

from __future__ import annotations

from ..autograd.function import Function
from ..errors import check, op_error
from ._util import unwrap

__all__ = ["pad"]


class Pad(Function):
    """``pad`` is ``((before, after), ...)`` per dim (negative crops, constant mode only)."""

    def forward(self, x):
        xp = self.xp
        self.in_shape = x.shape
        if self.mode != "constant":
            np_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[self.mode]
            return xp.pad(x, self.pad, mode=np_mode)
        out_shape = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, self.pad))
        out = xp.full(out_shape, self.value, dtype=x.dtype)
        self.dst = tuple(slice(max(lo, 0), m - max(hi, 0)) for m, (lo, hi) in
                         zip(out_shape, self.pad))
        self.src = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in
                         zip(x.shape, self.pad))
        out[self.dst] = x[self.src]
        return out

    def backward(self, gy):
        if self.mode == "constant":
            if all(lo >= 0 and hi >= 0 for lo, hi in self.pad):
                return (gy[self.dst],)
            g = self.xp.zeros(self.in_shape, gy.dtype)
            g[self.src] = gy[self.dst]
            return (g,)
        g = gy
        for d, (lo, hi) in enumerate(self.pad):  # fold the padding of one dim at a time
            if lo == 0 and hi == 0:
                continue
            n = self.in_shape[d]
            g = self.xp.moveaxis(g, d, 0)
            core = g[lo:lo + n].copy()
            left, right = g[:lo], g[lo + n:]
            if self.mode == "reflect":  # out[i<lo] = x[lo-i]; out[lo+n+j] = x[n-2-j]
                core[1:lo + 1] += left[::-1]
                core[n - 1 - hi:n - 1] += right[::-1]
            elif self.mode == "replicate":
                core[0] += left.sum(axis=0)
                core[n - 1] += right.sum(axis=0)
            else:  # circular: out[i<lo] = x[n-lo+i]; out[lo+n+j] = x[j]
                core[n - lo:] += left
                core[:hi] += right
            g = self.xp.moveaxis(core, 0, d)
        return (g,)



def pad(x, pad, mode="constant", value=0.0):
    """PyTorch's ``F.pad``: ``pad = (left, right)`` for the last dim, then
    ``(left, right, top, bottom)`` for the last two, and so on.

    Args:
        x (Tensor): input. pad (tuple of ints): even length <= 2 * x.ndim.
        mode (str): ``'constant'`` (negative pads crop), ``'reflect'`` (mirror without the
            edge; pads < dim size), ``'replicate'`` or ``'circular'``. Default 'constant'.
        value (float): fill of constant mode. Default 0.

    Returns:
        Tensor: the padded tensor.
    """
    shp = unwrap(x).shape
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) > 2 * len(shp):
        raise op_error("pad", f"an even number of pads, at most {2 * len(shp)}", f"{pad}")
    check(mode in ("constant", "reflect", "replicate", "circular"), "pad",
          "mode in constant/reflect/replicate/circular", repr(mode))
    widths = [(0, 0)] * len(shp)
    for i in range(len(pad) // 2):
        widths[len(shp) - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if mode == "constant":
        return Pad.apply(x, pad=tuple(widths), mode=mode, value=value)
    grow = tuple((max(lo, 0), max(hi, 0)) for lo, hi in widths)
    crop = all(lo >= 0 and hi >= 0 for lo, hi in widths)
    if mode == "circular" and not crop:  # torch: circular crops first, then wraps what is left
        x = x[tuple(slice(-min(lo, 0), n + min(hi, 0)) for (lo, hi), n in zip(widths, shp))]
        shp, widths, crop = tuple(unwrap(x).shape), grow, True
    # torch: reflect/replicate pad by the positive parts, then crop by the negative ones
    for n, (lo, hi) in zip(shp, widths):
        lim = n - 1 if mode == "reflect" else n
        if max(lo, hi) > lim or n + lo + hi <= 0:
            raise op_error("pad", f"{mode} pads <= {lim} leaving a non-empty dim for a dim of "
                           f"size {n}", f"pad {pad} for shape {shp}")
    y = Pad.apply(x, pad=grow, mode=mode, value=value)
    if crop:
        return y
    return y[tuple(slice(-min(lo, 0), (g + n) - (-min(hi, 0)))
                   for (lo, hi), n, g in zip(widths, shp, (a + b for a, b in grow)))]

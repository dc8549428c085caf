"""Affine maps with PyTorch's weight layout: ``linear`` (one GEMM) and ``bilinear``."""

from __future__ import annotations

from .. import backend as B
from ..autograd.function import Function
from ..errors import check
from ._util import unwrap

__all__ = ["linear", "bilinear"]

_np = B.np


class Linear(Function):
    """``y = x @ W.T + b`` on ``x`` folded to 2-D, so any leading dims cost one GEMM."""

    def forward(self, x, w, b):
        flat = x.ndim != 2  # (N, in) needs no folding
        x2 = x.reshape(-1, x.shape[-1]) if flat else x
        y = x2 @ w.T
        if b is not None:
            y += b
        self.saved = (x2, w)
        self.x_shape = x.shape if flat else None
        return y.reshape(x.shape[:-1] + (w.shape[0],)) if flat else y

    def backward(self, gy):
        x2, w = self.saved
        n = self.needs_input_grad
        xs = self.x_shape
        gy2 = gy if xs is None else gy.reshape(-1, w.shape[0])
        gx = None
        if n[0]:
            gx = gy2 @ w if xs is None else (gy2 @ w).reshape(xs)
        gw = gy2.T @ x2 if n[1] else None
        gb = None
        if n[2]:  # on the host, skip ndarray.sum's Python wrapper
            gb = _np.add.reduce(gy2, 0) if self.xp is _np else gy2.sum(axis=0)
        return gx, gw, gb


class Bilinear(Function):
    """``y[b, k] = x1[b] @ W[k] @ x2[b] + bias[k]`` with matmuls on folded leading dims."""

    def forward(self, x1, x2, w, b):
        k, i, j = w.shape
        a = x1.reshape(-1, i)
        c = x2.reshape(-1, j)
        u = (a @ w.transpose(1, 0, 2).reshape(i, k * j)).reshape(-1, k, j)  # x1 W_k
        y = (u @ c[:, :, None])[..., 0]
        if b is not None:
            y += b
        self.saved = (a, c, w, u)
        self.shapes = (x1.shape, x2.shape)
        return y.reshape(x1.shape[:-1] + (k,))

    def backward(self, gy):
        a, c, w, u = self.saved
        k, i, j = w.shape
        n = self.needs_input_grad
        g = gy.reshape(-1, 1, k)
        g1 = g2 = gw = gb = None
        if n[0]:
            v = (c @ w.transpose(2, 0, 1).reshape(j, k * i)).reshape(-1, k, i)  # W_k x2
            g1 = (g @ v)[:, 0].reshape(self.shapes[0])
        if n[1]:
            g2 = (g @ u)[:, 0].reshape(self.shapes[1])
        if n[2]:
            outer = (a[:, :, None] * c[:, None, :]).reshape(-1, i * j)
            gw = (g[:, 0].T @ outer).reshape(k, i, j)
        if n[3]:
            gb = g[:, 0].sum(axis=0)
        return g1, g2, gw, gb


def linear(x, weight, bias=None):
    """Affine map ``x @ weight.T + bias`` (PyTorch's layout), one GEMM for any leading dims.

    Args:
        x (Tensor): ``(..., in_features)``.
        weight (Tensor): ``(out_features, in_features)``.
        bias (Tensor, optional): ``(out_features,)``. Default None.
    Returns:
        Tensor: ``(..., out_features)``.
    Example:
        >>> y = F.linear(lamina.randn(32, 784), lamina.randn(10, 784))   # (32, 10)
    """
    xs, ws = unwrap(x).shape, unwrap(weight).shape
    bs = None if bias is None else unwrap(bias).shape
    if len(ws) != 2 or not xs or xs[-1] != ws[1] or bs is not None and bs != ws[:1]:
        _linear_error(xs, ws, bs)
    return Linear.apply(x, weight, bias)


def _linear_error(xs, ws, bs):
    """Raise the ShapeError that names what :func:`linear` got (built only on failure)."""
    check(len(ws) == 2, "linear", "weight of shape (out_features, in_features)",
          f"weight {ws}")
    check(len(xs) >= 1 and xs[-1] == ws[1], "linear",
          "x.shape[-1] == weight.shape[1] (in_features)", f"x {xs} and weight {ws}")
    check(bs is None or bs == (ws[0],), "linear", f"bias of shape (out_features,) = ({ws[0]},)",
          f"weight {ws} and bias {bs}")


def bilinear(input1, input2, weight, bias=None):
    """Bilinear map ``y[..., k] = input1 @ weight[k] @ input2 + bias[k]`` (PyTorch's layout).

    Args:
        input1 (Tensor): ``(..., in1_features)``.
        input2 (Tensor): ``(..., in2_features)``, same leading dims as ``input1``.
        weight (Tensor): ``(out_features, in1_features, in2_features)``.
        bias (Tensor, optional): ``(out_features,)``. Default None.
    Returns:
        Tensor: ``(..., out_features)``.
    """
    s1, s2, ws = unwrap(input1).shape, unwrap(input2).shape, unwrap(weight).shape
    check(len(ws) == 3, "bilinear", "weight (out_features, in1_features, in2_features)",
          f"weight {ws}")
    check(len(s1) >= 1 and s1[:-1] == s2[:-1] and s1[-1] == ws[1] and s2[-1] == ws[2],
          "bilinear", "input1 (..., in1), input2 (..., in2) with equal leading dims and "
          "weight (out, in1, in2)", f"input1 {s1}, input2 {s2} and weight {ws}")
    if bias is not None:
        bs = unwrap(bias).shape
        check(bs == (ws[0],), "bilinear", f"bias of shape ({ws[0]},)", f"bias {bs}")
    return Bilinear.apply(input1, input2, weight, bias)

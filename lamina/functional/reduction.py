"""Reductions over ``axis``/``dim`` with ``keepdims``/``keepdim``."""

from __future__ import annotations

from ..autograd.function import Function
from ._util import norm_axis, register_methods, resolve_axis

__all__ = ["sum", "mean"]


def _expand(g, shape, axes, keepdims, xp):
    """Broadcast a reduced gradient back to the input shape."""
    if not keepdims:
        for a in sorted(axes):
            g = xp.expand_dims(g, a)
    return xp.broadcast_to(g, shape)


class Sum(Function):
    def forward(self, x):
        self.shape = x.shape
        self.axes = norm_axis(self.axis, x.ndim)
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        return (_expand(gy, self.shape, self.axes, self.keepdims, self.xp),)


class Mean(Function):
    def forward(self, x):
        self.shape = x.shape
        self.axes = norm_axis(self.axis, x.ndim)
        return x.mean(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        n = 1
        for a in self.axes:
            n *= self.shape[a]
        return (_expand(gy / n, self.shape, self.axes, self.keepdims, self.xp),)


def sum(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Sum over ``axis`` (int, tuple or None for all). PyTorch's ``dim``/``keepdim`` accepted."""
    axis, keepdims = resolve_axis(axis, dim, keepdims, keepdim)
    return Sum.apply(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Arithmetic mean over ``axis``."""
    axis, keepdims = resolve_axis(axis, dim, keepdims, keepdim)
    return Mean.apply(x, axis=axis, keepdims=keepdims)


register_methods(sum=sum, mean=mean)

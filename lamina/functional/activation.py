"""Activations, each one fused ``Function`` with a hand-written backward (PyTorch's names).

Subgradients at kinks follow PyTorch: ``relu'(0) = 0``; ``leaky_relu'(0) = negative_slope``;
``hardtanh``, ``relu6``, ``hardsigmoid`` and ``hardswish`` pass gradient only strictly inside
their linear ranges (0 at the corners); ``prelu'(0)`` uses the weight. Nothing here overflows:
exponentials only ever see non-positive arguments (or are guarded by a threshold).
"""

from __future__ import annotations

import math

from .. import backend as B
from ..autograd.function import Function, apply1
from ..backend import fast
from ..backend.kernels import empty_like
from ..errors import check
from ._util import register_methods, unwrap
from .arithmetic import tanh

__all__ = ["sigmoid", "tanh", "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu",
           "softplus", "silu", "swish", "mish", "hardtanh", "hardsigmoid", "hard_sigmoid",
           "hardswish", "step", "prelu", "softmax", "log_softmax", "softmin", "masked_softmax"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_K = math.sqrt(2.0 / math.pi)


_EXPIT = {}  # array module -> SciPy's / CuPy's ``expit`` ufunc (imported on first use)


def _expit(xp):
    if xp is B.np:
        from scipy.special import expit
    else:  # pragma: no cover - GPU only
        from cupyx.scipy.special import expit
    _EXPIT[xp] = expit
    return expit


def _sigmoid(xp, x):
    """No overflow for any x. float32/float64 take ``expit`` (one ufunc, no temporaries);
    other dtypes exponentiate only -|x|."""
    if x.dtype.char in "fd":
        f = _EXPIT.get(xp)
        return (f or _expit(xp))(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(xp, x):
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): no overflow for any x."""
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


def _erf(xp):
    if xp is B.np:
        from scipy.special import erf
    else:  # pragma: no cover - GPU only
        from cupyx.scipy.special import erf
    return erf


class Sigmoid(Function):
    grads_fit = True

    def forward(self, x):
        y = _sigmoid(self.xp, x)
        self.saved = (y,)
        return y

    def backward(self, gy):
        (y,) = self.saved
        return (gy * y * (1.0 - y),)


class ReLU(Function):
    def forward(self, x):
        y = self.xp.maximum(x, 0, out=empty_like(x))  # cached buffer: no fresh page faults
        self.saved = (y,)  # the output alone gives the mask (y > 0 <=> x > 0)
        return y

    def backward(self, gy):
        out = empty_like(gy)
        if gy.size > 32768 and fast.enabled() and fast.relu_grad(gy, self.saved[0], out):
            return (out,)
        return (self.xp.multiply(gy, self.saved[0] > 0, out=out),)


class LeakyReLU(Function):
    def forward(self, x):
        self.saved = (x,)
        return self.xp.where(x > 0, x, x * self.slope)

    def backward(self, gy):
        (x,) = self.saved
        return (self.xp.where(x > 0, gy, gy * self.slope),)


class ELU(Function):
    """scale * (x if x > 0 else alpha * (exp(x * input_scale) - 1)): ELU, SELU and CELU."""

    def forward(self, x):
        xp = self.xp
        neg = xp.expm1(xp.minimum(x, 0) * self.input_scale)
        self.saved = (x, neg)
        return xp.where(x > 0, x * self.scale, neg * (self.alpha * self.scale))

    def backward(self, gy):
        x, neg = self.saved
        k = self.alpha * self.scale * self.input_scale
        return (gy * self.xp.where(x > 0, self.scale, (neg + 1.0) * k),)


class GELU(Function):
    def forward(self, x):
        xp = self.xp
        if self.approximate == "tanh":
            t = xp.tanh(_TANH_K * (x + 0.044715 * x * x * x))
            self.saved = (x, t)
            return 0.5 * x * (1.0 + t)
        cdf = 0.5 * (1.0 + _erf(xp)(x * _SQRT_HALF))
        self.saved = (x, cdf)
        return x * cdf

    def backward(self, gy):
        x, c = self.saved
        if self.approximate == "tanh":
            dt = (1.0 - c * c) * _TANH_K * (1.0 + 3 * 0.044715 * x * x)
            return (gy * (0.5 * (1.0 + c) + 0.5 * x * dt),)
        pdf = self.xp.exp(-0.5 * x * x) * _INV_SQRT_2PI
        return (gy * (c + x * pdf),)


class Softplus(Function):
    def forward(self, x):
        xp = self.xp
        bx = x * self.beta
        self.saved = (bx,)
        return xp.where(bx > self.threshold, x, _softplus(xp, bx) / self.beta)

    def backward(self, gy):
        (bx,) = self.saved
        return (gy * self.xp.where(bx > self.threshold, 1.0, _sigmoid(self.xp, bx)),)


class SiLU(Function):
    def forward(self, x):
        s = _sigmoid(self.xp, x)
        self.saved = (x, s)
        return x * s

    def backward(self, gy):
        x, s = self.saved
        return (gy * s * (1.0 + x * (1.0 - s)),)


class Mish(Function):
    def forward(self, x):
        xp = self.xp
        t = xp.tanh(_softplus(xp, x))
        self.saved = (x, t)
        return x * t

    def backward(self, gy):
        x, t = self.saved
        return (gy * (t + x * _sigmoid(self.xp, x) * (1.0 - t * t)),)


class Hardtanh(Function):
    """clip(x, lo, hi) * scale + shift: hardtanh, relu6 and hardsigmoid."""

    def forward(self, x):
        self.saved = (x,)
        lo, hi = self.lo, self.hi
        if x.dtype.kind in "iu" and not self.shift and self.scale == 1:
            lo, hi = int(lo), int(hi)  # hardtanh / relu6 keep an integer dtype, as torch
        y = self.xp.clip(x + self.shift if self.shift else x, lo, hi)
        return y * self.scale if self.scale != 1 else y

    def backward(self, gy):
        x = self.saved[0] + self.shift if self.shift else self.saved[0]
        return (gy * ((x > self.lo) & (x < self.hi)) * self.scale,)


class Hardswish(Function):
    def forward(self, x):
        self.saved = (x,)
        return x * self.xp.clip(x + 3.0, 0, 6) / 6.0

    def backward(self, gy):
        (x,) = self.saved
        xp = self.xp
        return (gy * xp.where(x >= 3, 1.0, xp.where(x > -3, x / 3.0 + 0.5, 0.0)),)


class Step(Function):
    differentiable = False

    def forward(self, x):
        return (x > 0).astype(x.dtype if x.dtype.kind == "f" else B.get_default_dtype())


class PReLU(Function):
    def forward(self, x, w):
        # one slope per channel (dim 1), or a single slope for every element
        w = w.reshape((1, -1) + (1,) * (x.ndim - 2)) if w.size > 1 else w.reshape(())
        self.saved = (x, w)
        return self.xp.where(x > 0, x, w * x)

    def backward(self, gy):
        x, w = self.saved
        xp = self.xp
        pos = x > 0
        gx = xp.where(pos, gy, gy * w) if self.needs_input_grad[0] else None
        gw = None
        if self.needs_input_grad[1]:
            full = xp.where(pos, 0, gy * x)
            axes = tuple(i for i in range(x.ndim) if i != 1 or w.size == 1)
            gw = full.sum(axis=axes).reshape(self.w_shape)
        return gx, gw


class Softmax(Function):
    """softmax(sign * x) along ``axis``; sign = -1 gives softmin."""

    def forward(self, x):
        xp = self.xp
        z = x * self.sign if self.sign != 1 else x
        e = xp.exp(z - z.max(axis=self.axis, keepdims=True))
        e *= 1.0 / e.sum(axis=self.axis, keepdims=True)
        self.saved = (e,)
        return e

    def backward(self, gy):
        (y,) = self.saved
        g = y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))
        return (-g if self.sign != 1 else g,)


class LogSoftmax(Function):
    def forward(self, x):
        xp = self.xp
        z = x - x.max(axis=self.axis, keepdims=True)
        z -= xp.log(xp.exp(z).sum(axis=self.axis, keepdims=True))
        self.saved = (z,)
        return z

    def backward(self, gy):
        (y,) = self.saved
        return (gy - self.xp.exp(y) * gy.sum(axis=self.axis, keepdims=True),)


class MaskedSoftmax(Function):
    def forward(self, x, mask):
        xp = self.xp
        mask = mask if mask.dtype == bool else mask != 0
        z = xp.where(mask, x, -xp.inf).astype(x.dtype, copy=False)
        m = z.max(axis=self.axis, keepdims=True)
        m = xp.where(m == -xp.inf, 0, m)  # fully masked row: any finite shift will do
        e = xp.exp(z - m)                 # exp(-inf) = 0 at masked places
        s = e.sum(axis=self.axis, keepdims=True)
        e /= xp.where(s == 0, 1, s)       # fully masked row: 0 / 1 = zeros, not NaN
        self.saved = (e,)
        return e

    def backward(self, gy):
        (y,) = self.saved
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True)), None


def sigmoid(x):
    """Logistic function ``1 / (1 + exp(-x))``, stable for any ``|x|``.

    Args:
        x (Tensor): any shape, floating.
    Returns:
        Tensor: same shape and dtype, in (0, 1).
    """
    return apply1(Sigmoid, x)


def relu(x):
    """``max(x, 0)``; the subgradient at 0 is 0 (as PyTorch).

    Args:
        x (Tensor): any shape.
    Returns:
        Tensor: same shape and dtype.
    """
    return apply1(ReLU, x)


def relu6(x):
    """``min(max(x, 0), 6)``; gradient 1 strictly inside (0, 6), else 0.

    Args:
        x (Tensor): any shape.
    Returns:
        Tensor: same shape and dtype.
    """
    return Hardtanh.apply(x, lo=0.0, hi=6.0, scale=1.0, shift=0.0)


def hardtanh(x, min_val=-1.0, max_val=1.0):
    """``clip(x, min_val, max_val)``; gradient 1 strictly inside, 0 at and beyond the corners.

    Args:
        x (Tensor): any shape.
        min_val, max_val (float): the range. Defaults -1.0 and 1.0.
    """
    return Hardtanh.apply(x, lo=float(min_val), hi=float(max_val), scale=1.0, shift=0.0)


def hardsigmoid(x):
    """``relu6(x + 3) / 6`` (PyTorch's piecewise-linear sigmoid); gradient 1/6 on (-3, 3).

    Args:
        x (Tensor): any shape.
    Returns:
        Tensor: same shape and dtype.
    """
    return Hardtanh.apply(x, lo=0.0, hi=6.0, scale=1.0 / 6.0, shift=3.0)


hard_sigmoid = hardsigmoid


def hardswish(x):
    """``x * relu6(x + 3) / 6`` (MobileNetV3); gradient as PyTorch: 0 for x <= -3, 1 for x >= 3.

    Args:
        x (Tensor): any shape.
    Returns:
        Tensor: same shape and dtype.
    """
    return apply1(Hardswish, x)


def leaky_relu(x, negative_slope=0.01):
    """``x if x > 0 else negative_slope * x``; the subgradient at 0 is ``negative_slope``.

    Args:
        x (Tensor): any shape.
        negative_slope (float): slope for x <= 0. Default 0.01.
    """
    return LeakyReLU.apply(x, slope=float(negative_slope))


def elu(x, alpha=1.0):
    """``x if x > 0 else alpha * (exp(x) - 1)``.

    Args:
        x (Tensor): any shape.
        alpha (float): saturation value for large negative x is ``-alpha``. Default 1.0.
    """
    return ELU.apply(x, alpha=float(alpha), scale=1.0, input_scale=1.0)


def selu(x):
    """Self-normalising ELU: ``scale * elu(x, alpha)`` with the constants of Klambauer et al.

    Args:
        x (Tensor): any shape.
    Returns:
        Tensor: same shape and dtype.
    """
    return ELU.apply(x, alpha=_SELU_ALPHA, scale=_SELU_SCALE, input_scale=1.0)


def celu(x, alpha=1.0):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`` (continuously differentiable ELU).

    Args:
        x (Tensor): any shape.
        alpha (float): must be non-zero. Default 1.0.
    """
    if alpha == 0:
        raise ValueError("celu: expected alpha != 0, got 0")
    return ELU.apply(x, alpha=float(alpha), scale=1.0, input_scale=1.0 / alpha)


def gelu(x, approximate="none"):
    """Gaussian error linear unit ``x * Phi(x)``.

    Args:
        x (Tensor): any shape.
        approximate (str): ``'none'`` (exact, with erf) or ``'tanh'``
            (``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``). Default ``'none'``.
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: expected approximate 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(x, approximate=approximate)


def softplus(x, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta * x)) / beta``, linear (``x``) where ``beta * x > threshold``.

    Args:
        x (Tensor): any shape.
        beta (float): sharpness. Default 1.0.
        threshold (float): above this ``beta * x`` the identity is used. Default 20.0.
    """
    return Softplus.apply(x, beta=float(beta), threshold=float(threshold))


def silu(x):
    """``x * sigmoid(x)`` (also called swish).

    Args:
        x (Tensor): any shape.
    Returns:
        Tensor: same shape and dtype.
    """
    return apply1(SiLU, x)


swish = silu


def mish(x):
    """``x * tanh(softplus(x))`` (Misra, 2019).

    Args:
        x (Tensor): any shape.
    Returns:
        Tensor: same shape and dtype.
    """
    return apply1(Mish, x)


def step(x):
    """Heaviside step ``1 if x > 0 else 0`` (``step(0) = 0``), in ``x``'s float dtype; no gradient.

    Args:
        x (Tensor): any shape.
    Returns:
        Tensor: same shape, values in {0, 1}, never requires grad.
    """
    return apply1(Step, x)


def prelu(x, weight):
    """``x if x > 0 else weight * x`` with a learnable slope per channel (dim 1), as PyTorch.

    Args:
        x (Tensor): ``(N, C, *)``, or any shape when ``weight`` has one element.
        weight (Tensor): ``(C,)`` or ``(1,)``; differentiable.
    Returns:
        Tensor: same shape as ``x``.
    """
    xs, ws = unwrap(x).shape, unwrap(weight).shape
    n = 1
    for s in ws:
        n *= s
    ch = xs[1] if len(xs) >= 2 else 1
    check(n == 1 or n == ch, "prelu", "weight with 1 element or one per channel (x.shape[1])",
          f"x {xs} and weight {ws}")
    return PReLU.apply(x, weight, w_shape=ws)


def softmax(x, dim=-1, *, axis=None):
    """``exp(x) / sum(exp(x))`` along ``dim`` (max subtracted first, so it never overflows).

    Args:
        x (Tensor): any shape.
        dim (int): the axis that sums to 1 (``axis`` accepted too). Default -1.
    Returns:
        Tensor: same shape and dtype.
    """
    return Softmax.apply(x, axis=dim if axis is None else axis, sign=1)


def softmin(x, dim=-1, *, axis=None):
    """``softmax(-x, dim)``: small values get large probabilities.

    Args:
        x (Tensor): any shape.
        dim (int): the axis that sums to 1 (``axis`` accepted too). Default -1.
    Returns:
        Tensor: same shape and dtype.
    """
    return Softmax.apply(x, axis=dim if axis is None else axis, sign=-1)


def log_softmax(x, dim=-1, *, axis=None):
    """``x - logsumexp(x)`` along ``dim``, stable (finite for logits of +-1e30 in float32).

    Args:
        x (Tensor): any shape.
        dim (int): the normalised axis. Default -1.
    Returns:
        Tensor: log-probabilities, same shape and dtype.
    """
    return LogSoftmax.apply(x, axis=dim if axis is None else axis)


def masked_softmax(x, mask, dim=-1, *, axis=None):
    """Softmax over the entries where ``mask`` is True; masked entries get probability 0.

    A fully masked row returns zeros (not NaN) and passes zero gradient.

    Args:
        x (Tensor): scores, any shape.
        mask (Tensor or array): bool, broadcastable to ``x``; True keeps an entry.
        dim (int): the normalised axis. Default -1.
    Returns:
        Tensor: same shape and dtype as ``x``.
    """
    xs, ms = unwrap(x).shape, B.np.shape(unwrap(mask))
    try:
        ok = B.np.broadcast_shapes(xs, ms) == xs
    except ValueError:
        ok = False
    check(ok, "masked_softmax", "mask broadcastable to x", f"x {xs} and mask {ms}")
    return MaskedSoftmax.apply(x, mask, axis=dim if axis is None else axis)


register_methods(sigmoid=sigmoid, relu=relu, softmax=softmax, log_softmax=log_softmax,
                 prelu=prelu)

# integer inputs compute in the default float dtype, as torch.sigmoid(int tensor) does
for _op in (Sigmoid, ELU, GELU, Softplus, SiLU, Mish, Softmax, LogSoftmax):
    _op.float_op = True

"""Elementwise arithmetic with NumPy broadcasting, matmul, and comparisons (no grad).

Gradients may keep broadcast dimensions; the engine sums them back (``sum_to``) in one place.
"""

from __future__ import annotations

from .. import backend as B
from ..autograd.function import Function, apply1, apply2
from ..autograd.tensor import Tensor
from ..errors import op_error
from ._util import register_methods, unwrap

__all__ = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "pow",
           "neg", "negative", "abs", "sign", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt",
           "square", "sin", "cos", "tanh", "clip", "clamp", "maximum", "minimum", "where",
           "matmul", "astype", "reciprocal"]


class Add(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        return gy, gy


class Sub(Function):
    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        return gy, (-gy if self.needs_input_grad[1] else None)


class Mul(Function):
    def forward(self, a, b):
        self.saved = (a, b)
        return a * b

    def backward(self, gy):
        a, b = self.saved
        n = self.needs_input_grad
        if a is b and n[1] and self.inputs[0] is self.inputs[1]:
            return gy * (a + a), None  # x * x: the whole gradient once (bit-identical)
        return (gy * b if n[0] else None), (gy * a if n[1] else None)


class Div(Function):
    def forward(self, a, b):
        self.saved = (a, b)
        return a / b

    def backward(self, gy):
        a, b = self.saved
        n = self.needs_input_grad
        ga = gy / b if n[0] else None
        gb = -gy * (a / b) / b if n[1] else None  # torch's order: no b*b overflow
        return ga, gb


class Pow(Function):
    def forward(self, a, b):
        with self.xp.errstate(divide="ignore", invalid="ignore"):  # 0 ** -1 is inf, as torch
            y = a ** b
        self.saved = (a, b, y)
        return y

    def backward(self, gy):
        a, b, y = self.saved
        xp = self.xp
        n = self.needs_input_grad
        ga = gb = None
        with xp.errstate(divide="ignore", invalid="ignore"):
            if n[0]:  # torch: d/da a^0 is 0 everywhere, also at a == 0
                ga = gy * xp.where(b == 0, 0, b * a ** (b - 1))
            if n[1]:  # torch: a^b log a, 0 where a == 0 and b >= 0 (-inf for b < 0, NaN for a < 0)
                gb = gy * xp.where((a == 0) & (b >= 0), 0, y * xp.log(a))
        return ga, gb


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, gy):
        return (-gy,)


class Abs(Function):
    """|x|; subgradient 0 at x == 0 (as PyTorch)."""

    def forward(self, a):
        self.saved = (a,)
        return self.xp.abs(a)

    def backward(self, gy):
        (a,) = self.saved
        return (gy * _sign(self.xp, a),)


class Exp(Function):
    def forward(self, a):
        y = self.xp.exp(a)
        self.saved = (y,)
        return y

    def backward(self, gy):
        return (gy * self.saved[0],)


class Log(Function):
    def forward(self, a):
        self.saved = (a,)
        return self.xp.log(a)

    def backward(self, gy):
        return (gy / self.saved[0],)


class Log1p(Function):
    def forward(self, a):
        self.saved = (a,)
        return self.xp.log1p(a)

    def backward(self, gy):
        return (gy / (1 + self.saved[0]),)


class Expm1(Function):
    def forward(self, a):
        y = self.xp.expm1(a)
        self.saved = (y,)
        return y

    def backward(self, gy):
        return (gy * (self.saved[0] + 1),)


class Sqrt(Function):
    def forward(self, a):
        y = self.xp.sqrt(a)
        self.saved = (y,)
        return y

    def backward(self, gy):
        return (gy / (2 * self.saved[0]),)


class Rsqrt(Function):
    def forward(self, a):
        y = 1 / self.xp.sqrt(a)
        self.saved = (y,)
        return y

    def backward(self, gy):
        y = self.saved[0]
        return (-0.5 * gy * y * y * y,)


class Square(Function):
    def forward(self, a):
        self.saved = (a,)
        return a * a

    def backward(self, gy):
        return (2 * gy * self.saved[0],)


class Sin(Function):
    def forward(self, a):
        self.saved = (a,)
        return self.xp.sin(a)

    def backward(self, gy):
        return (gy * self.xp.cos(self.saved[0]),)


class Cos(Function):
    def forward(self, a):
        self.saved = (a,)
        return self.xp.cos(a)

    def backward(self, gy):
        return (-gy * self.xp.sin(self.saved[0]),)


class Tanh(Function):
    def forward(self, a):
        y = self.xp.tanh(a)
        self.saved = (y,)
        return y

    def backward(self, gy):
        y = self.saved[0]
        return (gy * (1 - y * y),)


class Clip(Function):
    """Clamp to [lo, hi]; gradient passes where lo <= x <= hi (PyTorch's convention)."""

    def forward(self, a):
        self.saved = (a,)
        return self.xp.clip(a, self.lo, self.hi)

    def backward(self, gy):
        (a,) = self.saved
        m = True
        if self.lo is not None:
            m = a >= self.lo
        if self.hi is not None:
            m = m & (a <= self.hi)
        return (gy * m,)


class Maximum(Function):
    """Elementwise max; at ties the gradient is split evenly (PyTorch's convention)."""

    def forward(self, a, b):
        self.saved = (a, b)
        return self.xp.maximum(a, b)

    def backward(self, gy):
        a, b = self.saved
        w = (a > b) + 0.5 * (a == b)
        w = w.astype(gy.dtype)
        return gy * w, gy * (1 - w)


class Minimum(Function):
    """Elementwise min; at ties the gradient is split evenly."""

    def forward(self, a, b):
        self.saved = (a, b)
        return self.xp.minimum(a, b)

    def backward(self, gy):
        a, b = self.saved
        w = (a < b) + 0.5 * (a == b)
        w = w.astype(gy.dtype)
        return gy * w, gy * (1 - w)


class Where(Function):
    def forward(self, cond, a, b):
        self.saved = (cond,)
        return self.xp.where(cond, a, b)

    def backward(self, gy):
        (c,) = self.saved
        z = self.xp.zeros((), gy.dtype)
        return None, self.xp.where(c, gy, z), self.xp.where(c, z, gy)


class MatMul(Function):
    def forward(self, a, b):
        self.saved = (a, b)
        return a @ b

    def backward(self, gy):
        a, b = self.saved
        xp = self.xp
        n = self.needs_input_grad
        # promote vectors to matrices so one rule serves; the engine sums batch dims away
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = gy
        if b.ndim == 1:
            g2 = g2[..., None]
        if a.ndim == 1:
            g2 = g2[..., None, :]
        ga = gb = None
        if n[0]:
            ga = g2 @ xp.swapaxes(b2, -1, -2)
            if a.ndim == 1:
                ga = ga[..., 0, :]
        if n[1]:
            if b2.ndim == 2 and a2.ndim > 2:  # (B,m,k) @ (k,n): one GEMM over the folded batch
                gb = a2.reshape(-1, a2.shape[-1]).T @ g2.reshape(-1, g2.shape[-1])
            else:
                gb = xp.swapaxes(a2, -1, -2) @ g2
            if b.ndim == 1:
                gb = gb[..., 0]
        return ga, gb


class Cast(Function):
    def forward(self, a):
        self.src = a.dtype
        return a.astype(self.dtype)

    def backward(self, gy):
        if self.src.kind != "f":
            return (None,)
        return (gy.astype(self.src),)


# Gradients that always fit their inputs' shape and dtype, so the engine skips its check:
# unary elementwise ops; elementwise arithmetic when the other operand is a Python scalar.
for _op in (Neg, Abs, Exp, Log, Log1p, Expm1, Sqrt, Rsqrt, Square, Sin, Cos, Tanh):
    _op.grads_fit = True
for _op in (Add, Sub, Mul, Div):
    _op.scalar_grads_fit = True
# PyTorch's type promotion (see Function.promote / float_op)
for _op in (Add, Sub, Mul, Div, Pow, Maximum, Minimum):
    _op.promote = "all"
Where.promote = (1, 2)
for _op in (Div, Exp, Log, Log1p, Expm1, Sqrt, Rsqrt, Sin, Cos, Tanh):
    _op.float_op = True


def add(a, b, *, alpha=1):
    """``a + alpha * b`` with broadcasting (``alpha`` as in ``torch.add``, default 1)."""
    return apply2(Add, a, b if alpha == 1 else mul(b, alpha))


def sub(a, b, *, alpha=1):
    """``a - alpha * b`` with broadcasting (``alpha`` as in ``torch.sub``, default 1)."""
    return apply2(Sub, a, b if alpha == 1 else mul(b, alpha))


def mul(a, b):
    """``a * b`` with broadcasting."""
    return apply2(Mul, a, b)


def div(a, b, *, rounding_mode=None):
    """``a / b`` with broadcasting: true division, or with ``rounding_mode`` ``'trunc'`` /
    ``'floor'`` rounded toward zero / down (integer inputs stay integer; no gradient, as the
    rounded quotient is piecewise constant)."""
    if rounding_mode is None:
        return apply2(Div, a, b)
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div: expected rounding_mode None, 'trunc' or 'floor', got "
                         f"{rounding_mode!r}")
    x, y = unwrap(a), unwrap(b)
    xp = B.get_array_module(x, y)
    x, y = xp.asarray(x), xp.asarray(y)
    if x.dtype.kind in "iub" and y.dtype.kind in "iub":
        q = xp.floor_divide(x, y)
        if rounding_mode == "trunc":
            q = q + ((q < 0) & (q * y != x))
        return Tensor(q)
    with xp.errstate(divide="ignore", invalid="ignore"):
        out = (xp.trunc if rounding_mode == "trunc" else xp.floor)(x / y)
    return Tensor(out)


def pow(a, b):
    """``a ** b``; gradients as PyTorch: w.r.t. ``a`` 0 where ``b == 0``; w.r.t. ``b``
    ``a^b log a``, 0 where ``a == 0`` and ``b >= 0``."""
    return apply2(Pow, a, b)


subtract, multiply, divide, true_divide = sub, mul, div, div


def neg(a):
    """``-a``."""
    return apply1(Neg, a)


negative = neg


def abs(a):
    """``|a|``; the subgradient at 0 is 0."""
    return apply1(Abs, a)


def _sign(xp, x):
    """``sign`` with PyTorch's ``sign(nan) == 0`` (NumPy gives nan)."""
    y = xp.sign(x)
    if y.dtype.kind == "f":
        if y.ndim == 0:
            return xp.asarray(y if y == y else y.dtype.type(0))
        xp.nan_to_num(y, copy=False, nan=0.0)
    return y


class Sign(Function):
    def forward(self, x):
        return _sign(self.xp, x)

    def backward(self, gy):
        return (self.xp.zeros_like(gy),)  # piecewise constant: zero gradient, as in PyTorch


def sign(a):
    """-1, 0 or 1 elementwise; its gradient is 0 everywhere (PyTorch's convention); a bool
    tensor is its own sign."""
    if isinstance(a, Tensor) and a.array.dtype.kind == "b":
        return Tensor(a.array.copy())
    return apply1(Sign, a)


def exp(a):
    """``e**a``."""
    return apply1(Exp, a)


def log(a):
    """Natural logarithm."""
    return apply1(Log, a)


def log1p(a):
    """``log(1 + a)``, accurate for small ``a``."""
    return apply1(Log1p, a)


def expm1(a):
    """``exp(a) - 1``, accurate for small ``a``."""
    return apply1(Expm1, a)


def sqrt(a):
    """Square root."""
    return apply1(Sqrt, a)


def rsqrt(a):
    """``1 / sqrt(a)``."""
    return apply1(Rsqrt, a)


def square(a):
    """``a * a`` (a bool tensor squares to int64, as in torch)."""
    if isinstance(a, Tensor) and a.array.dtype.kind == "b":
        return Tensor(a.array.astype(B.np.int64))
    return apply1(Square, a)


def reciprocal(a):
    """``1 / a``."""
    return apply2(Div, 1.0, a)


def sin(a):
    """Sine."""
    return apply1(Sin, a)


def cos(a):
    """Cosine."""
    return apply1(Cos, a)


def tanh(a):
    """Hyperbolic tangent; range (-1, 1)."""
    return apply1(Tanh, a)


def clip(a, min=None, max=None):
    """Clamp ``a`` to ``[min, max]`` (either may be None). Gradient 1 inside, 0 outside."""
    if min is None and max is None:
        raise ValueError("clip: expected at least one of min= or max=, got neither")
    return Clip.apply(a, lo=min, hi=max)


clamp = clip


def maximum(a, b):
    """Elementwise maximum with broadcasting; ties split the gradient evenly."""
    return apply2(Maximum, a, b)


def minimum(a, b):
    """Elementwise minimum with broadcasting; ties split the gradient evenly."""
    return apply2(Minimum, a, b)


def where(cond, a, b):
    """``a`` where ``cond`` else ``b`` (broadcast); no gradient flows to ``cond``."""
    return Where.apply(cond, a, b)


def matmul(a, b):
    """Matrix product with NumPy's batching rules.

    Shape:
        ``(..., m, k) @ (..., k, n) -> (..., m, n)``; 1-D operands are vectors.
    """
    sa, sb = unwrap(a).shape, unwrap(b).shape
    if len(sa) == 0 or len(sb) == 0:
        raise op_error("matmul", "operands with at least 1 dimension", f"{sa} @ {sb}",
                       "use * for scalar multiplication")
    ka = sa[-1]
    kb = sb[-2] if len(sb) > 1 else sb[0]
    if ka != kb:
        raise op_error("matmul", "a.shape[-1] == b.shape[-2]", f"{sa} @ {sb}")
    return apply2(MatMul, a, b)


def astype(a, dtype):
    """Cast to ``dtype``; casting back to float carries the gradient, integer casts do not."""
    dtype = B.np.dtype(dtype)
    if a.dtype == dtype:
        return a
    return Cast.apply(a, dtype=dtype)


def _r(fn):
    return lambda self, other: fn(other, self)


register_methods(
    __add__=add, __radd__=_r(add), __sub__=sub, __rsub__=_r(sub), __mul__=mul,
    __rmul__=_r(mul), __truediv__=div, __rtruediv__=_r(div), __pow__=pow, __rpow__=_r(pow),
    __matmul__=matmul, __rmatmul__=_r(matmul), __neg__=neg, __abs__=abs,
    add=add, sub=sub, mul=mul, div=div, pow=pow, neg=neg, abs=abs, sign=sign, exp=exp, log=log,
    log1p=log1p, expm1=expm1, sqrt=sqrt, rsqrt=rsqrt, square=square, sin=sin, cos=cos,
    tanh=tanh, clip=clip, clamp=clamp, maximum=maximum, minimum=minimum, matmul=matmul,
    astype=astype, reciprocal=reciprocal,
    float=lambda self: astype(self, B.get_default_dtype()),
    double=lambda self: astype(self, B.np.float64),
    half=lambda self: astype(self, B.np.float16),
    long=lambda self: astype(self, B.np.int64),
    int=lambda self: astype(self, B.np.int32),
    bool=lambda self: astype(self, B.np.bool_),
    type=lambda self, dtype: astype(self, dtype),
)
Tensor.__hash__ = lambda self: id(self)  # __eq__ is elementwise, so hashing stays by identity

"""Comparisons, logical ops, rounding and integer division: results carry no gradient.

Comparisons promote their operands as PyTorch does before comparing, so a float32 tensor
against a float64 0-d tensor compares in float32 (no false ties from the wider type).
"""

from __future__ import annotations

from .. import backend as B
from ..autograd.function import result_type
from ..autograd.tensor import Tensor
from ._util import register_methods, unwrap

__all__ = ["eq", "ne", "lt", "le", "gt", "ge", "equal", "logical_and", "logical_or",
           "logical_not", "logical_xor", "isnan", "isinf", "isfinite", "floor", "ceil", "round",
           "trunc", "floor_divide", "remainder", "fmod", "bitwise_and", "bitwise_or",
           "bitwise_xor", "bitwise_not"]


def _pair(a, b):
    """Raw operands cast to their torch result type (Python scalars stay weak)."""
    x, y = unwrap(a), unwrap(b)
    dt = result_type(a, b)
    if dt is not None:
        if hasattr(x, "astype") and x.dtype != dt:
            x = x.astype(dt)
        if hasattr(y, "astype") and y.dtype != dt:
            y = y.astype(dt)
    return x, y


def _cmp(name, ufunc_name, doc=None):
    """A no-gradient binary op: operands promoted as torch does, then NumPy's ``ufunc_name``
    (division by zero gives inf/nan without a warning, as in torch)."""
    def op(a, b):
        x, y = _pair(a, b)
        xp = B.get_array_module(x, y)
        with xp.errstate(divide="ignore", invalid="ignore"):
            return Tensor(xp.asarray(getattr(xp, ufunc_name)(x, y)))
    op.__name__ = name
    op.__doc__ = doc or f"Elementwise ``{ufunc_name}`` (bool result, no gradient)."
    return op


eq = _cmp("eq", "equal")
ne = _cmp("ne", "not_equal")
lt = _cmp("lt", "less")
le = _cmp("le", "less_equal")
gt = _cmp("gt", "greater")
ge = _cmp("ge", "greater_equal")
logical_and = _cmp("logical_and", "logical_and")
logical_or = _cmp("logical_or", "logical_or")
logical_xor = _cmp("logical_xor", "logical_xor")


def equal(a, b) -> bool:
    """True when ``a`` and ``b`` have the same shape and values (PyTorch's ``torch.equal``)."""
    x, y = unwrap(a), unwrap(b)
    return x.shape == y.shape and bool((x == y).all())


def _unary_nograd(name, ufunc_name):
    def op(a):
        x = unwrap(a)
        return Tensor(getattr(B.get_array_module(x), ufunc_name)(x))
    op.__name__ = name
    op.__doc__ = f"Elementwise ``{ufunc_name}`` (no gradient)."
    return op


logical_not = _unary_nograd("logical_not", "logical_not")
isnan = _unary_nograd("isnan", "isnan")
isinf = _unary_nograd("isinf", "isinf")
isfinite = _unary_nograd("isfinite", "isfinite")
floor = _unary_nograd("floor", "floor")
ceil = _unary_nograd("ceil", "ceil")
round = _unary_nograd("round", "round")


trunc = _unary_nograd("trunc", "trunc")
bitwise_and = _cmp("bitwise_and", "bitwise_and", "Elementwise bitwise and (integers, bools).")
bitwise_or = _cmp("bitwise_or", "bitwise_or", "Elementwise bitwise or (integers, bools).")
bitwise_xor = _cmp("bitwise_xor", "bitwise_xor", "Elementwise bitwise xor (integers, bools).")
bitwise_not = _unary_nograd("bitwise_not", "invert")
floor_divide = _cmp("floor_divide", "floor_divide", "``a // b`` rounded down "
                    "(``torch.floor_divide``; integers stay integer, no gradient).")
remainder = _cmp("remainder", "remainder", "``a % b`` with the sign of ``b`` (Python's and "
                 "``torch.remainder``'s rule; no gradient).")
fmod = _cmp("fmod", "fmod", "C's ``fmod``: the remainder with the sign of ``a`` "
            "(``torch.fmod``; no gradient).")


def _logic_or_bits(logical, bitwise):
    """``&``, ``|``, ``^`` as PyTorch: logical on bool tensors, bitwise on integers."""
    def op(a, b):
        x = unwrap(a)
        return (logical if getattr(x, "dtype", None) is None or x.dtype.kind == "b"
                else bitwise)(a, b)
    return op


def _invert(a):
    x = unwrap(a)
    return logical_not(a) if x.dtype.kind == "b" else bitwise_not(a)


def _r(fn):
    return lambda self, other: fn(other, self)


register_methods(
    __eq__=eq, __ne__=ne, __lt__=lt, __le__=le, __gt__=gt, __ge__=ge,
    __and__=_logic_or_bits(logical_and, bitwise_and), __or__=_logic_or_bits(logical_or, bitwise_or),
    __xor__=_logic_or_bits(logical_xor, bitwise_xor), __invert__=_invert,
    __floordiv__=floor_divide, __rfloordiv__=_r(floor_divide), __mod__=remainder,
    __rmod__=_r(remainder),
    eq=eq, ne=ne, lt=lt, le=le, gt=gt, ge=ge, equal=equal, isnan=isnan, isinf=isinf,
    isfinite=isfinite, floor=floor, ceil=ceil, round=round, trunc=trunc,
    logical_not=logical_not, logical_and=logical_and, logical_or=logical_or,
    logical_xor=logical_xor, floor_divide=floor_divide, remainder=remainder, fmod=fmod,
    bitwise_and=bitwise_and, bitwise_or=bitwise_or, bitwise_xor=bitwise_xor,
    bitwise_not=bitwise_not,
)

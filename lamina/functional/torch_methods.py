"""Small Tensor methods and functions with PyTorch's names: ``new_zeros`` / ``new_ones`` /
``new_full`` / ``new_empty`` / ``new_tensor``, ``type_as``, ``is_floating_point``, ``nelement``,
``element_size``, and ``lamina.numel`` / ``allclose`` / ``empty_like``.

The ``new_*`` methods take the source tensor's dtype unless ``dtype=`` says otherwise, as in
torch; ``device=`` is accepted (arrays stay in the source's array module).
"""

from __future__ import annotations

from .. import backend as B
from ..autograd.tensor import Tensor
from ._util import register_methods

__all__ = ["numel", "allclose", "empty_like"]


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def _new(self, fill, size, dtype, requires_grad):
    xp = B.get_array_module(self.array)
    arr = xp.full(_shape(size), fill, dtype=dtype if dtype is not None else self.dtype)
    return Tensor(arr, requires_grad=requires_grad)


def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
    """Zeros of ``size`` in this tensor's dtype (or ``dtype``)."""
    return _new(self, 0, size, dtype, requires_grad)


def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
    """Ones of ``size`` in this tensor's dtype (or ``dtype``)."""
    return _new(self, 1, size, dtype, requires_grad)


def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
    """Uninitialised in torch; zeros here (deterministic) of ``size``."""
    return _new(self, 0, size, dtype, requires_grad)


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    """``fill_value`` everywhere, shape ``size``, this tensor's dtype (or ``dtype``)."""
    return _new(self, fill_value, (size,), dtype, requires_grad)


def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    """A copy of ``data`` as a new leaf tensor in this tensor's dtype (or ``dtype``)."""
    xp = B.get_array_module(self.array)
    raw = data.array if isinstance(data, Tensor) else data
    arr = xp.array(raw, dtype=dtype if dtype is not None else self.dtype)
    return Tensor(arr, requires_grad=requires_grad)


def type_as(self, other):
    """This tensor cast to ``other``'s dtype (differentiable through ``to``)."""
    return self.to(other.dtype)


def is_floating_point(self) -> bool:
    """True when the dtype is a floating type."""
    return self.dtype.kind == "f"


def nelement(self) -> int:
    """Number of elements (same as ``numel``)."""
    return int(self.array.size)


def element_size(self) -> int:
    """Bytes per element."""
    return int(self.array.itemsize)


def numel(input) -> int:
    """Number of elements of ``input``."""
    return int(input.array.size)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """True when ``|input - other| <= atol + rtol * |other|`` everywhere (torch's defaults)."""
    a = input.array if isinstance(input, Tensor) else input
    b = other.array if isinstance(other, Tensor) else other
    return bool(B.np.allclose(B.to_host(a), B.to_host(b), rtol=rtol, atol=atol,
                              equal_nan=equal_nan))


def empty_like(input, *, dtype=None, device=None, requires_grad=False):
    """Uninitialised in torch; zeros here, same shape and dtype as ``input``."""
    return _new(input, 0, input.shape, dtype, requires_grad)


register_methods(new_zeros=new_zeros, new_ones=new_ones, new_empty=new_empty, new_full=new_full,
                 new_tensor=new_tensor, type_as=type_as, is_floating_point=is_floating_point,
                 nelement=nelement, element_size=element_size)

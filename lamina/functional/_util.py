"""Small helpers every op file uses: argument spellings, tensor-method registration."""

from __future__ import annotations

from ..autograd.tensor import Tensor

__all__ = ["register_methods", "resolve_axis", "unwrap", "norm_axis", "Tensor"]


def register_methods(**methods) -> None:
    """Attach functions to :class:`Tensor` as methods (each op family registers its own)."""
    for name, fn in methods.items():
        setattr(Tensor, name, fn)


def resolve_axis(axis, dim, keepdims, keepdim):
    """Accept NumPy's ``axis``/``keepdims`` and PyTorch's ``dim``/``keepdim`` spellings."""
    if dim is not None:
        if axis is not None:
            raise TypeError("pass either axis= or dim=, not both")
        axis = dim
    # either spelling may say True: a ``keepdim=False`` default never overrides keepdims=True
    keepdims = bool(keepdims) or bool(keepdim)
    if isinstance(axis, list):
        axis = tuple(axis)
    return axis, bool(keepdims)


def norm_axis(axis, ndim):
    """Normalise an axis (int, tuple or None) to a tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(a % ndim if ndim else 0 for a in axis)


def unwrap(x):
    """The array inside a Tensor, or ``x`` itself."""
    return x.array if isinstance(x, Tensor) else x

"""BLAS-style products with PyTorch's names: ``mm``, ``bmm``, ``mv``, ``dot``, ``outer``,
``addmm``, ``addmv``, ``baddbmm``.

Each is a shape-checked composition of :func:`matmul`, ``*`` and ``+``, so gradients come from
those ops (no new backward to get wrong). Unlike :func:`matmul`, each checks the exact ranks
PyTorch demands, so a wrong rank fails with a message instead of broadcasting.
"""

from __future__ import annotations

from ..autograd.tensor import Tensor
from ..errors import check
from ._util import register_methods
from .arithmetic import matmul

__all__ = ["mm", "bmm", "mv", "dot", "vdot", "inner", "outer", "ger", "addmm", "addmv",
           "baddbmm"]


def _t(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def _ranks(op: str, a, b, ra: int, rb: int) -> None:
    check(a.ndim == ra and b.ndim == rb, op, f"a {ra}-D and a {rb}-D tensor",
          f"shapes {tuple(a.shape)} and {tuple(b.shape)}")


def _scaled(out, beta, inp, alpha):
    # torch: beta * input + alpha * (product); beta == 0 ignores input (even NaN in it)
    prod = out if alpha == 1 else out * alpha
    if beta == 0:
        return prod
    return prod + (inp if beta == 1 else inp * beta)


def mm(input, mat2):
    """Matrix product of two 2-D tensors (no broadcasting).

    Args:
        input (Tensor): ``(n, m)``.
        mat2 (Tensor): ``(m, p)``.

    Returns:
        Tensor: ``(n, p)``.

    Example:
        >>> lamina.ones(2, 3).mm(lamina.ones(3, 4)).shape
        (2, 4)
    """
    input, mat2 = _t(input), _t(mat2)
    _ranks("mm", input, mat2, 2, 2)
    return matmul(input, mat2)


def bmm(input, mat2):
    """Batched matrix product of two 3-D tensors.

    Args:
        input (Tensor): ``(b, n, m)``.
        mat2 (Tensor): ``(b, m, p)``.

    Returns:
        Tensor: ``(b, n, p)``.
    """
    input, mat2 = _t(input), _t(mat2)
    _ranks("bmm", input, mat2, 3, 3)
    check(input.shape[0] == mat2.shape[0], "bmm", "equal batch sizes",
          f"{tuple(input.shape)} and {tuple(mat2.shape)}")
    return matmul(input, mat2)


def mv(input, vec):
    """Matrix-vector product.

    Args:
        input (Tensor): ``(n, m)``.
        vec (Tensor): ``(m,)``.

    Returns:
        Tensor: ``(n,)``.
    """
    input, vec = _t(input), _t(vec)
    _ranks("mv", input, vec, 2, 1)
    return matmul(input, vec)


def dot(input, other):
    """Inner product of two 1-D tensors of equal length (0-d result)."""
    input, other = _t(input), _t(other)
    _ranks("dot", input, other, 1, 1)
    check(input.shape == other.shape, "dot", "1-D tensors of equal length",
          f"{tuple(input.shape)} and {tuple(other.shape)}")
    return matmul(input, other)


vdot = dot  # real tensors only: conjugation is the identity


def inner(input, other):
    """Sum over the last axes of both tensors (``dot`` for 1-D; 0-d inputs multiply)."""
    input, other = _t(input), _t(other)
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if other.ndim == 1:
        return matmul(input, other)
    return matmul(input, other.transpose(-1, -2))


def outer(input, vec2):
    """Outer product of two 1-D tensors.

    Args:
        input (Tensor): ``(n,)``.
        vec2 (Tensor): ``(m,)``.

    Returns:
        Tensor: ``(n, m)``, ``out[i, j] = input[i] * vec2[j]``.
    """
    input, vec2 = _t(input), _t(vec2)
    _ranks("outer", input, vec2, 1, 1)
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


ger = outer


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)``; ``input`` broadcasts to ``(n, p)``.

    Args:
        input (Tensor): broadcastable to ``(n, p)``.
        mat1 (Tensor): ``(n, m)``.
        mat2 (Tensor): ``(m, p)``.
        beta (float): scale of ``input`` (default 1; 0 ignores it).
        alpha (float): scale of the product (default 1).
    """
    return _scaled(mm(mat1, mat2), beta, _t(input), alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat @ vec)`` (defaults 1, 1)."""
    return _scaled(mv(mat, vec), beta, _t(input), alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * bmm(batch1, batch2)`` (defaults 1, 1)."""
    return _scaled(bmm(batch1, batch2), beta, _t(input), alpha)


register_methods(mm=mm, bmm=bmm, mv=mv, dot=dot, vdot=vdot, inner=inner, outer=outer, ger=ger,
                 addmm=addmm, addmv=addmv, baddbmm=baddbmm)

"""Error types and the one helper that builds every shape/dtype message.

Messages name the op, what was expected and what came, e.g.
``matmul: expected a.shape[-1] == b.shape[-2], got (32, 784) @ (512, 10)``.
"""

from __future__ import annotations

__all__ = ["ShapeError", "DTypeError", "op_error", "check"]


class ShapeError(ValueError):
    """An op received arrays whose shapes do not fit together."""


class DTypeError(TypeError):
    """An op received an array of a dtype it cannot use."""


def op_error(op: str, expected: str, got: str, fix: str | None = None, cls=ShapeError):
    """Build (not raise) an error ``"{op}: expected {expected}, got {got}[; {fix}]"``."""
    msg = f"{op}: expected {expected}, got {got}"
    if fix:
        msg += f"; {fix}"
    return cls(msg)


def check(cond: bool, op: str, expected: str, got: str, fix: str | None = None, cls=ShapeError):
    """Raise :func:`op_error` unless ``cond`` holds."""
    if not cond:
        raise op_error(op, expected, got, fix, cls)

"""Schedules of training progress: constants, linear decay, and RL Zoo's ``"lin_0.001"``.

A schedule is a function of ``progress_remaining`` (1 at the start of training, 0 at the end),
as in Stable-Baselines3, or for the exploration rate a function of the fraction done.
"""

from __future__ import annotations

from ..errors import op_error

__all__ = ["constant", "linear", "parse_schedule", "linear_epsilon"]


def constant(value: float):
    """``f(progress_remaining) = value``."""
    value = float(value)
    return lambda progress_remaining: value


def linear(start: float, end: float = 0.0):
    """``f(p) = end + p * (start - end)``: ``start`` at the beginning, ``end`` at the end."""
    start, end = float(start), float(end)
    return lambda progress_remaining: end + progress_remaining * (start - end)


def parse_schedule(value, name: str = "schedule"):
    """A schedule from a number, a callable, or a string ``"lin_<start>"`` (RL Zoo syntax).

    Args:
        value (float | str | callable): e.g. ``3e-4``, ``"lin_0.001"``, ``lambda p: ...``.
        name (str): the hyper-parameter's name, for errors.

    Returns:
        callable: ``progress_remaining -> float``.

    Raises:
        ValueError: a string that is neither a number nor ``lin_<number>``.
    """
    if callable(value):
        return value
    if isinstance(value, str):
        try:
            if value.startswith("lin_"):
                return linear(float(value[4:]), 0.0)
            return constant(float(value))
        except ValueError:
            raise op_error(name, "a number, a callable or 'lin_<number>'", repr(value),
                           cls=ValueError) from None
    return constant(value)


def linear_epsilon(start: float, end: float, fraction: float):
    """Exploration rate: ``start`` decays linearly to ``end`` over the first ``fraction`` of
    training, then stays (SB3's ``exploration_fraction``). Takes the fraction *done*."""
    start, end, fraction = float(start), float(end), max(float(fraction), 1e-12)
    return lambda done: end if done >= fraction else start + (end - start) * done / fraction

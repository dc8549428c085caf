"""Global switches of the autograd engine: gradient recording and anomaly detection."""

from __future__ import annotations

import contextlib
import threading

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "detect_anomaly",
           "is_anomaly_enabled"]


# How many threads are not in the default mode (grad on, anomaly off). While it is 0, ops skip
# the thread-local reads below (they cost more than a list read on the per-op hot path).
NOT_DEFAULT = [0]
_COUNT_LOCK = threading.Lock()


class _State(threading.local):
    """This thread's switches; assigning either keeps ``NOT_DEFAULT`` up to date."""

    def __init__(self):
        self._grad = True
        self._anomaly = False

    @property
    def grad_enabled(self) -> bool:
        return self._grad

    @grad_enabled.setter
    def grad_enabled(self, flag) -> None:
        self._set(bool(flag), self._anomaly)

    @property
    def anomaly(self) -> bool:
        return self._anomaly

    @anomaly.setter
    def anomaly(self, flag) -> None:
        self._set(self._grad, bool(flag))

    def _set(self, grad: bool, anomaly: bool) -> None:
        was = self._grad and not self._anomaly
        self._grad, self._anomaly = grad, anomaly
        now = grad and not anomaly
        if was != now:
            with _COUNT_LOCK:
                NOT_DEFAULT[0] += 1 if was else -1


STATE = _State()


class _Hooks:
    """Set once any tensor registers a hook or retains its grad, so the engine can skip the
    per-output hook scan in the common case."""

    active = False


HOOKS = _Hooks()


def is_grad_enabled() -> bool:
    """True when ops record the graph for backward."""
    return STATE.grad_enabled


class set_grad_enabled(contextlib.ContextDecorator):
    """Context manager / decorator that turns graph recording on or off.

    Example:
        >>> with lamina.no_grad():
        ...     y = model(x)          # no graph is recorded
    """

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self.prev = True

    def __enter__(self):
        self.prev = STATE.grad_enabled
        STATE.grad_enabled = self.mode
        return self

    def __exit__(self, *exc):
        STATE.grad_enabled = self.prev
        return False


class no_grad(set_grad_enabled):
    """Disable graph recording inside the block (or the decorated function)."""

    def __init__(self):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Re-enable graph recording inside a ``no_grad`` block."""

    def __init__(self):
        super().__init__(True)


def is_anomaly_enabled() -> bool:
    """True inside :class:`detect_anomaly`."""
    return STATE.anomaly


class detect_anomaly(contextlib.ContextDecorator):
    """Raise at the first op whose forward or backward produces NaN or Inf.

    The error names the op, the shapes of its inputs and outputs, and whether forward or backward
    produced the bad values. It costs one ``isfinite`` check per op, so use it for debugging.
    """

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.prev = False

    def __enter__(self):
        self.prev = STATE.anomaly
        STATE.anomaly = self.enabled
        return self

    def __exit__(self, *exc):
        STATE.anomaly = self.prev
        return False

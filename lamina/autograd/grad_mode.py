"""Global switches of the autograd engine: gradient recording and anomaly detection."""

from __future__ import annotations

import contextlib
import threading

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "detect_anomaly",
           "is_anomaly_enabled"]


# One entry per thread that is not in the default mode (grad on, anomaly off); a list, so
# append/pop are atomic. While it is empty, ops skip reading their thread's mode.
NOT_DEFAULT: list = []


class Mode:
    """One thread's switches, a plain object so the engine reads them cheaply. Change them only
    through :func:`set_mode` (or ``STATE``), which keeps ``NOT_DEFAULT`` up to date."""

    __slots__ = ("grad", "anomaly")

    def __init__(self):
        self.grad = True
        self.anomaly = False


class _Local(threading.local):
    def __init__(self):
        self.mode = Mode()


_LOCAL = _Local()


def current_mode() -> Mode:
    """This thread's :class:`Mode`."""
    return _LOCAL.mode


def set_mode(m: Mode, grad: bool, anomaly: bool) -> None:
    """Set this thread's mode ``m`` (from :func:`current_mode`)."""
    was = m.grad and not m.anomaly
    m.grad, m.anomaly = grad, anomaly
    now = grad and not anomaly
    if was and not now:
        NOT_DEFAULT.append(None)
    elif now and not was:
        NOT_DEFAULT.pop()


class _State:
    """This thread's switches, readable and assignable: ``STATE.grad_enabled``,
    ``STATE.anomaly``."""

    __slots__ = ()

    @property
    def grad_enabled(self) -> bool:
        return _LOCAL.mode.grad

    @grad_enabled.setter
    def grad_enabled(self, flag) -> None:
        m = _LOCAL.mode
        set_mode(m, bool(flag), m.anomaly)

    @property
    def anomaly(self) -> bool:
        return _LOCAL.mode.anomaly

    @anomaly.setter
    def anomaly(self, flag) -> None:
        m = _LOCAL.mode
        set_mode(m, m.grad, bool(flag))


STATE = _State()


class _Hooks:
    """``active`` is True while some live Function carries output hooks (a non-leaf tensor
    registered a hook or retains its grad), so the engine skips the per-output hook scan in
    the common case. ``live`` counts those Functions; each one's finalizer decrements it when
    its graph is dropped, so one hook does not slow every later backward of the process."""

    active = False
    live = 0

    def track(self, fn) -> None:
        """Count ``fn`` (a Function that just got its first output hook) until it is freed."""
        import weakref
        self.live += 1
        self.active = True
        weakref.finalize(fn, self._release)

    def _release(self) -> None:
        self.live -= 1
        self.active = self.live > 0


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

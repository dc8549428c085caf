"""Version counters for in-place ops, PyTorch's rule: backward raises when an array it saved
was changed in place, and routes gradients through the producer each input had when it was used.

Every tensor starts at version 0 (a class default) and every in-place op bumps it. Until the
first in-place op of the process ``USED[0]`` is False: then every version is still 0, so ops
record no snapshot and backward checks nothing (no cost for code without in-place ops).
"""

from __future__ import annotations

from .function import _FREED, _new
from .tensor import INPLACE_USED as USED
from .tensor import Tensor

__all__ = ["USED", "BUMPS", "bump", "check_versions", "mark_output_modified"]

BUMPS = [0]  # in-place ops so far (lamina.compile refuses to capture a function that runs one)


def bump(t: Tensor) -> None:
    """Record that ``t`` is about to change in place (call it before changing ``t``'s creator):
    keeps the creator of the old version for the functions that consumed it."""
    USED[0] = True
    BUMPS[0] += 1
    v = t._version
    if t._creator is not None or "_history" in t.__dict__:
        t.__dict__.setdefault("_history", {})[v] = (t._creator, t._out_idx)
    t._version = v + 1


def _describe(a, fn, v_now, v_then) -> str:
    return (f"backward: one of the variables needed for gradient computation has been modified "
            f"by an inplace operation: [{a.dtype} {list(a.shape)}], used by "
            f"{fn.name}Backward, is at version {v_now}; expected version {v_then} instead. "
            f"Clone it (.clone()) before changing it in place, or change it after backward")


def check_versions(fn) -> None:
    """Before ``fn.backward``: raise when an input array it saved changed in place since the op
    ran; swap in a stand-in for inputs that an in-place op has since given a new producer."""
    vers = fn.__dict__.get("_versions")
    inputs = fn.inputs
    saved = fn.saved if fn.saved is not _FREED and fn.saved is not None else ()
    if not isinstance(saved, tuple):
        saved = (saved,)
    swapped = None
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            continue
        then = vers[i] if vers is not None else 0
        now = x._version
        if now == then:
            continue
        a = x.array
        if any(s is a for s in saved):
            raise RuntimeError(_describe(a, fn, now, then))
        hist = x.__dict__.get("_history")
        if hist is None or then not in hist:
            continue
        creator, idx = hist[then]
        if creator is x._creator and idx == x._out_idx:
            continue
        proxy = _new(Tensor)
        proxy.array = a
        proxy._version = then
        if creator is not None:
            proxy._creator, proxy._out_idx, proxy._requires_grad = creator, idx, True
        if swapped is None:
            swapped = list(inputs)
        swapped[i] = proxy
    if fn.__dict__.get("_out_modified"):
        raise RuntimeError(fn._out_modified)
    if swapped is not None:
        fn.inputs = tuple(swapped)


def mark_output_modified(t: Tensor) -> None:
    """``t`` (an op's output) changes in place outside autograd: if its producer saved it,
    that producer's backward must raise."""
    c = t._creator
    if c is None or c.saved is None or c.saved is _FREED:
        return
    saved = c.saved if isinstance(c.saved, tuple) else (c.saved,)
    if any(s is t.array for s in saved):
        c._out_modified = _describe(t.array, c, t._version + 1, t._version)

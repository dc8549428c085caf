"""Collectives over mpi4py: buffer-protocol calls on host arrays, with a single-process fallback.

Every collective is issued non-blocking and waited for with a deadline (``timeout`` seconds,
default ``LAMINA_DIST_TIMEOUT`` or 300): when a peer rank died or hangs, the waiting rank prints
one line naming the operation and calls ``MPI_Abort``, so the whole job ends non-zero in bounded
time instead of hanging. Outside ``mpiexec``/``srun`` (no PMI environment) nothing imports mpi4py:
``world_size()`` is 1 and every collective returns its input.
"""

from __future__ import annotations

import os
import sys
import time

from .. import backend as B
from ..autograd.tensor import Tensor
from ..errors import check

__all__ = ["init", "is_initialized", "world_size", "rank", "barrier", "all_reduce",
           "iall_reduce", "broadcast", "all_gather", "send", "recv", "under_launcher",
           "set_timeout", "get_timeout", "Work", "abort"]

np = B.np

_ENV_KEYS = ("PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS")
_STATE = {"comm": None, "mpi": None, "init": False,
          "timeout": float(os.environ.get("LAMINA_DIST_TIMEOUT", "300"))}
_OPS = ("sum", "mean", "max", "min")


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("lamina.distributed needs mpi4py and an MPI library: "
                          "pip install 'lamina[distributed]' (mpi4py + the mpich wheel)") from e
    return MPI


def under_launcher() -> bool:
    """True when this process was started by ``mpiexec``/``mpirun``/``srun`` (a PMI env)."""
    return any(k in os.environ for k in _ENV_KEYS)


def init(timeout: float | None = None) -> int:
    """Join the MPI world (idempotent); the single-process fallback outside a launcher.

    Args:
        timeout (float, optional): seconds any collective may wait before the job is aborted
            (see :func:`set_timeout`). Default None (keep ``LAMINA_DIST_TIMEOUT`` or 300).

    Returns:
        int: the world size.

    Raises:
        ImportError: under a launcher without mpi4py (``pip install 'lamina[distributed]'``).
    """
    if timeout is not None:
        set_timeout(timeout)
    if not _STATE["init"]:
        if under_launcher():
            mpi = _import_mpi()
            _STATE["mpi"], _STATE["comm"] = mpi, mpi.COMM_WORLD
        _STATE["init"] = True
    return world_size()


def is_initialized() -> bool:
    """Whether :func:`init` ran."""
    return _STATE["init"]


def _comm():
    if not _STATE["init"]:
        init()
    return _STATE["comm"]


def world_size() -> int:
    """Number of ranks (1 outside a launcher)."""
    c = _comm()
    return 1 if c is None else c.Get_size()


def rank() -> int:
    """This process's rank in ``[0, world_size())`` (0 outside a launcher)."""
    c = _comm()
    return 0 if c is None else c.Get_rank()


def set_timeout(seconds: float) -> None:
    """Seconds a collective or point-to-point wait may take before the job is aborted.

    Args:
        seconds (float): > 0; ``float('inf')`` waits forever.
    """
    check(seconds > 0, "distributed.set_timeout", "seconds > 0", repr(seconds), cls=ValueError)
    _STATE["timeout"] = float(seconds)


def get_timeout() -> float:
    """The current collective timeout in seconds."""
    return _STATE["timeout"]


def abort(message: str, code: int = 1):
    """Print ``message`` on stderr and end every rank of the job with exit ``code``."""
    print(f"lamina.distributed: rank {rank()}: {message}", file=sys.stderr, flush=True)
    c = _comm()
    if c is not None:
        c.Abort(code)
    raise SystemExit(code)  # pragma: no cover - Abort does not return


class Work:
    """A started non-blocking operation; :meth:`wait` completes it (with the timeout).

    Args:
        request: an mpi4py ``Request`` (None for the single-process fallback).
        what (str): the operation's name, for the timeout message.
        done (callable, optional): called once after completion (e.g. to divide a sum).
    """

    def __init__(self, request, what: str, done=None):
        self.request, self.what, self._done, self.finished = request, what, done, False

    def test(self) -> bool:
        """True when complete (runs ``done`` then); never blocks."""
        if self.finished:
            return True
        if self.request is None or self.request.Test():
            self._finish()
        return self.finished

    def wait(self):
        """Block until complete, or abort the job after the timeout."""
        if self.finished:
            return
        if self.request is not None:
            _wait(self.request, self.what)
        self._finish()

    def _finish(self):
        self.finished = True
        if self._done is not None:
            self._done()


def _wait(req, what: str, status=None) -> None:
    limit = _STATE["timeout"]
    if limit == float("inf"):
        req.Wait(status)
        return
    deadline = time.monotonic() + limit
    spins, pause = 0, 0.0
    while not req.Test(status):
        spins += 1
        if spins > 200:  # poll fast first (small messages), then back off up to 10 ms
            pause = min(0.01, pause * 2 or 1e-5)
            time.sleep(pause)
        if time.monotonic() > deadline:
            abort(f"{what} did not complete within {limit:g} s (a peer rank died or hangs); "
                  "aborting the job (set LAMINA_DIST_TIMEOUT or distributed.set_timeout to "
                  "wait longer)")


def _buffer(x, op: str):
    """The host array behind ``x`` (Tensor or array), checked contiguous."""
    a = x.array if isinstance(x, Tensor) else x
    check(hasattr(a, "dtype") and hasattr(a, "flags"), op, "a Tensor or NumPy array",
          type(x).__name__, cls=TypeError)
    check(a.flags.c_contiguous and a.flags.writeable, op, "a C-contiguous writeable array",
          "a non-contiguous or read-only array", "pass a copy (np.ascontiguousarray)",
          cls=ValueError)
    return a


def iall_reduce(x, op: str = "sum") -> Work:
    """Start an in-place all-reduce of ``x`` (a Tensor or host array); ``wait()`` finishes it.

    Args:
        x (Tensor | array): C-contiguous; overwritten with the reduction over ranks.
        op (str): ``"sum"``, ``"mean"``, ``"max"`` or ``"min"``. Default ``"sum"``.

    Returns:
        Work: the pending operation.
    """
    check(op in _OPS, "all_reduce", f"op in {_OPS}", repr(op), cls=ValueError)
    a = _buffer(x, "all_reduce")
    c = _comm()
    n = world_size()

    def done():
        a[...] = a / n

    if c is None or n == 1:
        return Work(None, "all_reduce")
    mpi = _STATE["mpi"]
    mop = {"sum": mpi.SUM, "mean": mpi.SUM, "max": mpi.MAX, "min": mpi.MIN}[op]
    return Work(c.Iallreduce(mpi.IN_PLACE, a, op=mop), f"all_reduce({a.size} values)",
                done if op == "mean" else None)


def all_reduce(x, op: str = "sum"):
    """In-place all-reduce (see :func:`iall_reduce`); returns ``x``.

    Example:
        >>> g = np.ones(3); all_reduce(g, "mean")      # the same on every rank
    """
    iall_reduce(x, op).wait()
    return x


def broadcast(x, root: int = 0):
    """Overwrite ``x`` (Tensor or array) on every rank with ``root``'s values; returns ``x``.

    Args:
        x (Tensor | array): same shape and dtype on every rank.
        root (int): the sending rank. Default 0.
    """
    a = _buffer(x, "broadcast")
    c = _comm()
    if c is not None and c.Get_size() > 1:
        _wait(c.Ibcast(a, root=root), f"broadcast({a.size} values)")
    return x


def all_gather(x):
    """Every rank's ``x`` stacked along a new first axis.

    Args:
        x (Tensor | array): same shape and dtype on every rank.

    Returns:
        array: ``(world_size, *x.shape)``.
    """
    a = np.ascontiguousarray(x.array if isinstance(x, Tensor) else x)
    c = _comm()
    if c is None or c.Get_size() == 1:
        return a[None].copy()
    out = np.empty((c.Get_size(),) + a.shape, a.dtype)
    _wait(c.Iallgather(a, out), f"all_gather({a.size} values)")
    return out


def barrier() -> None:
    """Wait until every rank arrives (with the timeout)."""
    c = _comm()
    if c is not None and c.Get_size() > 1:
        _wait(c.Ibarrier(), "barrier")


def send(x, dest: int, tag: int = 0) -> Work:
    """Start sending array ``x`` to rank ``dest`` (point-to-point); returns the pending send
    (it keeps the buffer alive until ``wait()``)."""
    a = np.ascontiguousarray(x.array if isinstance(x, Tensor) else x)
    w = Work(_comm().Isend(a, dest=dest, tag=tag), f"send to rank {dest}")
    w.buffer = a
    return w


def recv(shape, dtype, source: int | None, tag: int = 0, return_source: bool = False):
    """Receive an array of ``shape``/``dtype`` from rank ``source`` (waits with the timeout).

    Args:
        shape (tuple): the array's shape. dtype: its dtype.
        source (int | None): the sending rank; None accepts any rank.
        tag (int): message tag. Default 0.
        return_source (bool): also return the sender's rank. Default False.

    Returns:
        array, or ``(array, source)`` with ``return_source``.
    """
    out = np.empty(tuple(shape), dtype)
    mpi = _STATE["mpi"]
    src = mpi.ANY_SOURCE if source is None else source
    status = mpi.Status()
    _wait(_comm().Irecv(out, source=src, tag=tag), f"recv from rank {source}", status)
    return (out, status.Get_source()) if return_source else out

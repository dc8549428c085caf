"""BLAS thread policy for sequential loops of small GEMMs (the recurrent layers' time steps).

A GEMM of a few million multiply-adds finishes in tens of microseconds. Split over two
threads, its time is dominated by handing work to OpenBLAS's second thread and waiting for it,
and when the other core is busy (another process, or lamina's own worker) the hand-off waits
for the scheduler: measured inside an LSTM time loop (N=64, H=128) on the 2-core machine, one
step's hidden GEMM took about 90 us on one thread and up to 400 us on two. :func:`small_gemms`
runs such a loop on one BLAS thread; large GEMMs keep every thread.
"""

from __future__ import annotations

import contextlib

__all__ = ["SMALL_GEMM", "small_gemms"]

SMALL_GEMM = 1 << 23   # multiply-adds per GEMM below which a loop runs on one BLAS thread
_CTL: list = [None]


def small_gemms(work: int):
    """A context manager: BLAS on one thread while it is open when each GEMM of the loop it
    wraps does fewer than :data:`SMALL_GEMM` multiply-adds (``work``); otherwise a no-op. The
    previous thread counts come back on exit (threadpoolctl; a no-op without it)."""
    if work >= SMALL_GEMM:
        return contextlib.nullcontext()
    ctl = _CTL[0]
    if ctl is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
            return contextlib.nullcontext()
        ctl = _CTL[0] = ThreadpoolController()
    if all(lib.num_threads <= 1 for lib in ctl.select(user_api="blas").lib_controllers):
        return contextlib.nullcontext()
    return ctl.limit(limits=1, user_api="blas")

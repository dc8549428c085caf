"""lamina.backend.blas: the BLAS thread policy of loops of small GEMMs."""

import pytest


def test_small_gemm_loops_run_on_one_blas_thread_and_restore():
    """The recurrent time loop's BLAS policy: one thread inside for small per-step GEMMs, the
    caller's thread count back afterwards, no change for large GEMMs."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from lamina.backend.blas import SMALL_GEMM, small_gemms

    def blas_threads():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info()
                if i["user_api"] == "blas"]
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        before = blas_threads()
        with small_gemms(64 * 128 * 512):
            inside = blas_threads()
        with small_gemms(SMALL_GEMM):
            large = blas_threads()
        assert blas_threads() == before
    assert all(n == 1 for n in inside)
    assert large == before

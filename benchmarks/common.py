"""Shared timing helpers: alternating rounds, medians, ratios, and which BLAS kernel ran."""

from __future__ import annotations

import os
import statistics
import time


def blas_info() -> str:
    """A one-line description of the BLAS in use (threadpoolctl) and OPENBLAS_CORETYPE."""
    try:
        from threadpoolctl import threadpool_info
        libs = [f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, "
                f"{i.get('num_threads')} threads)" for i in threadpool_info()
                if i.get("user_api") == "blas"]
        desc = "; ".join(libs) or "unknown BLAS"
    except Exception:  # pragma: no cover - threadpoolctl missing
        desc = "threadpoolctl not installed"
    core = os.environ.get("OPENBLAS_CORETYPE")
    return desc + (f"; OPENBLAS_CORETYPE={core}" if core else "")


SETTLE_S = 0.25  # pause before each peer's block: the previous peer's threads stop spinning


def alternate_samples(fns: dict, rounds: int = 7, repeat: int = 20, warmup: int = 3,
                      clock=time.perf_counter, settle: float = SETTLE_S) -> dict:
    """Time each callable in ``fns`` in alternating rounds; return name -> list of seconds per
    call, one per round.

    Alternating (A, B, C, A, B, C, ...) spreads machine noise evenly over the peers. Each
    block starts ``settle`` seconds after the previous one: OpenBLAS and OpenMP worker threads
    busy-wait for up to ~0.2 s after their last job, and on a 2-core machine that spinning
    steals the next peer's CPU (PyTorch's pool slowed the NumPy peer that followed it by
    1.7x). ``clock`` may be ``time.process_time`` (CPU time: on a loaded machine wall time
    measures the neighbours, single-threaded CPU time measures the code).
    """
    for f in fns.values():
        for _ in range(warmup):
            f()
    samples = {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            if settle:
                time.sleep(settle)
            t0 = clock()
            for _ in range(repeat):
                f()
            samples[k].append((clock() - t0) / repeat)
    return samples


def alternate(fns: dict, rounds: int = 7, repeat: int = 20, warmup: int = 3,
              clock=time.perf_counter, settle: float = SETTLE_S) -> dict:
    """Median seconds per call of each callable (see :func:`alternate_samples`)."""
    samples = alternate_samples(fns, rounds, repeat, warmup, clock, settle)
    return {k: statistics.median(v) for k, v in samples.items()}


def table(title: str, times: dict, base: str, per: int | None = None, unit: str = "samples/s",
          best: dict | None = None):
    """Print one row per peer: time per call, throughput (when ``per`` is given), ratio to base,
    and the ratio of the best rounds when ``best`` (name -> fastest round) is given."""
    print(f"\n{title}")
    for k, t in times.items():
        thr = f"{per / t:12,.0f} {unit}" if per else ""
        extra = f"  best-round x{best[base] / best[k]:5.2f}" if best else ""
        print(f"  {k:<28} {t * 1e3:9.3f} ms  {thr}  x{times[base] / t:5.2f} vs {base}{extra}")


def torch_or_none():
    """PyTorch (2 threads) when installed, else None."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    return torch

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


def alternate(fns: dict, rounds: int = 7, repeat: int = 20, warmup: int = 3) -> dict:
    """Time each callable in ``fns`` in alternating rounds; return name -> median seconds/call.

    Alternating (A, B, C, A, B, C, ...) spreads machine noise evenly over the peers.
    """
    for f in fns.values():
        for _ in range(warmup):
            f()
    samples = {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            t0 = time.perf_counter()
            for _ in range(repeat):
                f()
            samples[k].append((time.perf_counter() - t0) / repeat)
    return {k: statistics.median(v) for k, v in samples.items()}


def table(title: str, times: dict, base: str, per: int | None = None, unit: str = "samples/s"):
    """Print one row per peer: time per call, throughput (when ``per`` is given), ratio to base."""
    print(f"\n{title}")
    for k, t in times.items():
        thr = f"{per / t:12,.0f} {unit}" if per else ""
        print(f"  {k:<28} {t * 1e3:9.3f} ms  {thr}  x{times[base] / t:5.2f} vs {base}")


def torch_or_none():
    """PyTorch (2 threads) when installed, else None."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    return torch

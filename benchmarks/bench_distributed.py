"""MPI data parallelism: all-reduce cost (alpha-beta fit), DDP buckets vs raw mpi4py, 1 vs 2 ranks.

``python -m benchmarks distributed`` starts ``mpiexec -n 2`` (and ``-n 1``) on this module's
worker and prints:

- all-reduce time vs message size, lamina's bucket path (``iall_reduce`` + the timed wait DDP
  uses) next to a raw ``comm.Allreduce`` of the same float32 bytes, and their bandwidth ratio;
- the alpha-beta fit ``t(n) = alpha + beta * bytes`` of the raw times;
- step throughput (samples/s) of the digits MLP and the small CNN at 1 and 2 ranks (DDP, the
  same per-rank batch), and the efficiency ``throughput_2 / (2 * throughput_1)``;
- the projection of efficiency to 8-256 ranks (ring all-reduce ``2 (p-1) alpha + 2 (p-1)/p n
  beta``, no overlap) from the measured compute time per step and the gradient bytes.

``--overlap`` instead measures how much of DDP's gradient all-reduce hides behind the backward
compute at 2 ranks (:func:`_overlap_times`): a deep MLP's forward + backward step under four
schedules, alternated round by round: local only (``no_sync``, the compute alone); every bucket
launched after the graph pass (the schedule before post-accumulate hooks); buckets launched during
backward from the hooks with no ``MPI_Test`` calls, one per hook, and up to
``ddp.PROGRESS_TESTS`` per hook (the default).

``--plot DIR`` also writes ``allreduce.png`` and ``scaling.png`` (the figures of
``docs/distributed.md``). On a 2-core machine two ranks share the cores that one rank's BLAS
used, so the 2-rank figures measure contention as much as communication; they are reported as
measured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

SIZES = [2**k for k in range(8, 23, 2)]  # float32 elements: 1 KiB .. 16 MiB
RANKS = [8, 16, 32, 64, 128, 256]


def _allreduce_times(reps: int):
    import numpy as np
    from mpi4py import MPI

    from lamina.distributed import comm
    c = MPI.COMM_WORLD
    rows = []
    for n in SIZES:
        buf = np.ones(n, np.float32)
        r = max(3, min(reps, int(reps * 2**16 / n)))
        best = {"raw": float("inf"), "lamina": float("inf")}
        for _ in range(3):  # alternate the peers; keep each one's best round
            c.Barrier()
            t = time.perf_counter()
            for _ in range(r):
                c.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
            best["raw"] = min(best["raw"], (time.perf_counter() - t) / r)
            c.Barrier()
            t = time.perf_counter()
            for _ in range(r):
                comm.iall_reduce(buf, "sum").wait()
            best["lamina"] = min(best["lamina"], (time.perf_counter() - t) / r)
        rows.append({"elements": n, "bytes": 4 * n, **best})
    return rows


def _step_rate(kind: str, batch: int, steps: int) -> dict:
    import lamina
    from lamina import distributed as dist
    from lamina import functional as F
    from lamina import nn, optim
    from lamina.models import MLP
    lamina.manual_seed(0)
    if kind == "mlp":
        model, shape = MLP(64, [256, 128], 10), (64,)
    else:
        model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.Flatten(),
                              nn.Linear(32 * 4 * 4, 10))
        shape = (1, 8, 8)
    ddp = dist.DDP(model)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x, y = lamina.randn(batch, *shape), lamina.randint(0, 10, (batch,))
    nparams = sum(p.array.size for p in model.parameters())

    def step():
        opt.zero_grad()
        F.cross_entropy(ddp(x), y).backward()
        opt.step()
    for _ in range(3):
        step()
    dist.barrier()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    secs = (time.perf_counter() - t) / steps
    rate = dist.all_reduce(__import__("numpy").array([batch / secs]), "sum")[0]
    return {"model": kind, "ranks": dist.world_size(), "step_s": secs,
            "samples_per_s": float(rate), "params": int(nparams)}


OVERLAP_MODEL = (256, [1024] * 4, 10)  # MLP: 3.4 M float32 parameters, about 1 layer a bucket
OVERLAP_BATCH, OVERLAP_BUCKET_MB = 64, 4.0


def _overlap_times(rounds: int, steps: int) -> dict:
    """Seconds per forward + backward step under each schedule (the median over ``rounds`` of
    the slower rank's mean over ``steps``), and the time backward spent blocked in the final
    wait for the buckets (``wait_s``)."""
    import numpy as np

    import lamina
    from lamina import distributed as dist
    from lamina import functional as F
    from lamina.distributed.ddp import PROGRESS_TESTS
    from lamina.models import MLP
    lamina.manual_seed(0)
    model = MLP(*OVERLAP_MODEL)
    ddp = dist.DDP(model, bucket_cap_mb=OVERLAP_BUCKET_MB)
    x = lamina.randn(OVERLAP_BATCH, OVERLAP_MODEL[0])
    y = lamina.randint(0, OVERLAP_MODEL[2], (OVERLAP_BATCH,))

    def backward():
        F.cross_entropy(ddp(x), y).backward()

    def local():
        with ddp.no_sync():
            backward()
        object.__setattr__(ddp, "_count", 0)

    def after_pass():  # graph pass first, then every bucket launched, as before the hooks
        with ddp.no_sync():
            backward()
        for b in ddp.buckets:
            for p in b.params:
                ddp._ready(p)

    def during(tests):
        def run():
            object.__setattr__(ddp, "_progress", tests)
            backward()
            object.__setattr__(ddp, "_progress", PROGRESS_TESTS)
        return run

    schedules = {"local only (compute)": local, "all-reduce after backward": after_pass,
                 "during backward, no MPI_Test": during(0),
                 "during, 1 MPI_Test per hook": during(1),
                 f"during, <= {PROGRESS_TESTS} MPI_Test per hook (default)":
                     during(PROGRESS_TESTS)}
    got = {k: {"step_s": [], "wait_s": []} for k in schedules}
    for _ in range(rounds + 1):  # the first round warms up
        for name, fn in schedules.items():
            waits = 0.0
            dist.barrier()
            t = time.perf_counter()
            for _ in range(steps):
                model.zero_grad()
                object.__setattr__(ddp, "_wait_s", 0.0)
                fn()
                waits += ddp._wait_s
            v = np.array([(time.perf_counter() - t) / steps, waits / steps])
            dist.all_reduce(v, "max")
            got[name]["step_s"].append(float(v[0]))
            got[name]["wait_s"].append(float(v[1]))
    nbytes = sum(p.array.nbytes for p in model.parameters())
    return {"params": int(nbytes // 4), "buckets": len(ddp.buckets), "rounds": rounds,
            "steps": steps, "schedules": {k: {m: float(np.median(v[m][1:])) for m in v}
                                          for k, v in got.items()}}


def print_overlap(res: dict) -> None:
    """The overlap table: step time per schedule and the share of the communication hidden."""
    s = res["schedules"]
    base = s["local only (compute)"]["step_s"]
    exposed_after = s["all-reduce after backward"]["step_s"] - base
    print(f"DDP overlap, 2 ranks: MLP {OVERLAP_MODEL[0]}-{'-'.join(map(str, OVERLAP_MODEL[1]))}-"
          f"{OVERLAP_MODEL[2]} ({res['params']:,} params, {res['buckets']} buckets), batch "
          f"{OVERLAP_BATCH} per rank; median of {res['rounds']} rounds x {res['steps']} steps")
    print(f"{'schedule':>44} {'step ms':>8} {'+comm ms':>9} {'final wait ms':>14} {'hidden':>7}")
    for name, v in s.items():
        extra = v["step_s"] - base
        hidden = "" if name.startswith("local") else f"{1 - extra / exposed_after:>7.0%}"
        print(f"{name:>44} {v['step_s'] * 1e3:>8.1f} {extra * 1e3:>9.1f} "
              f"{v['wait_s'] * 1e3:>14.1f} {hidden}")


def worker(out: str, quick: bool, overlap: bool = False) -> None:
    from lamina import distributed as dist
    dist.init()
    if overlap:
        res = _overlap_times(3 if quick else 7, 3 if quick else 6)
        if dist.rank() == 0:
            with open(out, "w") as f:
                json.dump(res, f)
        return
    res = {"ranks": dist.world_size(), "steps": []}
    if dist.world_size() > 1:
        res["allreduce"] = _allreduce_times(20 if quick else 100)
    for kind in ("mlp", "cnn"):
        res["steps"].append(_step_rate(kind, 64, 10 if quick else 40))
    if dist.rank() == 0:
        with open(out, "w") as f:
            json.dump(res, f)


# Interconnects for the projection besides this host's fit: (name, alpha s, beta s/byte)
NETWORKS = [("10 GbE", 30e-6, 1 / 1.25e9), ("InfiniBand HDR", 2e-6, 1 / 20e9)]


def alpha_beta(rows) -> tuple:
    """Least-squares ``t = alpha + beta * bytes`` on the raw all-reduce times, each row
    weighted by ``1 / t`` (relative errors), so small messages decide alpha."""
    import numpy as np
    b = np.array([r["bytes"] for r in rows], float)
    t = np.array([r["raw"] for r in rows], float)
    A = np.stack([np.ones_like(b), b], 1) / t[:, None]
    (alpha, beta), *_ = np.linalg.lstsq(A, np.ones_like(t), rcond=None)
    return float(max(alpha, 0.0)), float(max(beta, 1e-15))


def project(step_s: float, grad_bytes: int, alpha: float, beta: float) -> list:
    """Ring all-reduce projection: efficiency and speed-up at each of :data:`RANKS`."""
    out = []
    for p in RANKS:
        comm_s = 2 * (p - 1) * alpha + 2 * (p - 1) / p * grad_bytes * beta
        eff = step_s / (step_s + comm_s)
        out.append({"ranks": p, "comm_s": comm_s, "efficiency": eff, "speedup": p * eff})
    return out


def _run(n: int, quick: bool, overlap: bool = False) -> dict:
    from lamina.distributed.launch import mpiexec_command
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "res.json")
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "PYTHONPATH": root}
        cmd = mpiexec_command(n, ["-m", "benchmarks.bench_distributed", "--worker", out]
                              + (["--quick"] if quick else [])
                              + (["--overlap"] if overlap else []))
        subprocess.run(cmd, check=True, env=env, timeout=900, cwd=root)
        with open(out) as f:
            return json.load(f)


def plot(one: dict, two: dict, directory: str) -> None:
    """Write ``allreduce.png`` and ``scaling.png`` into ``directory``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(directory, exist_ok=True)
    rows = two["allreduce"]
    alpha, beta = alpha_beta(rows)
    b = [r["bytes"] for r in rows]
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    ax.loglog(b, [r["raw"] * 1e6 for r in rows], "o", label="raw mpi4py Allreduce")
    ax.loglog(b, [r["lamina"] * 1e6 for r in rows], "x", label="lamina DDP bucket path")
    ax.loglog(b, [(alpha + beta * x) * 1e6 for x in b], "-",
              label=f"fit: {alpha * 1e6:.1f} us + bytes / {1 / beta / 1e9:.2f} GB/s")
    ax.set(xlabel="message (bytes)", ylabel="time (us)", title="2-rank all-reduce (this host)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(directory, "allreduce.png"), dpi=90)
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    nets = [("this host", alpha, beta)] + NETWORKS
    for s, color in zip(one["steps"], ("C0", "C1")):
        for (name, a, bb), style in zip(nets, (":", "-", "--")):
            proj = project(s["step_s"], 4 * s["params"], a, bb)
            ax.semilogx([p["ranks"] for p in proj], [p["efficiency"] for p in proj],
                        style, marker="o", ms=3, color=color, base=2,
                        label=f"{s['model']} ({s['params']:,} params), {name}")
    ax.set(xlabel="ranks", ylabel="projected efficiency", ylim=(0, 1.05),
           title="ring all-reduce projection, batch 64 per rank")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(directory, "scaling.png"), dpi=90)
    plt.close("all")


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    quick = "--quick" in argv
    if "--overlap" in argv:
        res = _run(2, quick, overlap=True)
        print_overlap(res)
        if "--json" in argv:
            with open(argv[argv.index("--json") + 1], "w") as f:
                json.dump(res, f, indent=1)
        return
    one, two = _run(1, quick), _run(2, quick)
    print(f"{'bytes':>10} {'raw us':>9} {'lamina us':>10} {'bw ratio':>9}")
    for r in two["allreduce"]:
        print(f"{r['bytes']:>10} {r['raw'] * 1e6:>9.1f} {r['lamina'] * 1e6:>10.1f} "
              f"{r['raw'] / r['lamina']:>9.2f}")
    alpha, beta = alpha_beta(two["allreduce"])
    print(f"alpha-beta fit: alpha = {alpha * 1e6:.1f} us, 1/beta = {1 / beta / 1e9:.2f} GB/s")
    for s1, s2 in zip(one["steps"], two["steps"]):
        eff = s2["samples_per_s"] / (2 * s1["samples_per_s"])
        print(f"{s1['model']}: 1 rank {s1['samples_per_s']:.0f} samples/s, 2 ranks "
              f"{s2['samples_per_s']:.0f} samples/s (efficiency {eff:.2f}, 2 cores shared)")
        for name, a, bb in [("this host", alpha, beta)] + NETWORKS:
            proj = project(s1["step_s"], 4 * s1["params"], a, bb)
            print(f"   {name:>15}: efficiency at " + ", ".join(
                f"{p['ranks']}: {p['efficiency']:.2f}" for p in proj))
    if "--plot" in argv:
        plot(one, two, argv[argv.index("--plot") + 1])
    if "--json" in argv:
        with open(argv[argv.index("--json") + 1], "w") as f:
            json.dump({"one": one, "two": two}, f, indent=1)


if __name__ == "__main__":
    if "--worker" in sys.argv:
        worker(sys.argv[sys.argv.index("--worker") + 1], "--quick" in sys.argv,
               "--overlap" in sys.argv)
    else:
        main()

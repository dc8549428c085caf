"""PGD-10 (L-inf, eps 0.3, alpha 0.01, no random start) on a batch of 256 mnist5k images
through LeNet-5: lamina.robust.PGD vs torchattacks 3.5.1's PGD on a PyTorch copy of the same
weights (float32, CPU eager, 2 threads each), alternating rounds, medians.

The adversarial images of the two agree (checked once before timing); the target of issue 15
is lamina >= 1.0x torchattacks' throughput.

Run: ``python -m benchmarks robust`` (or ``python -m benchmarks.bench_robust --rounds N``).
"""

from __future__ import annotations

import statistics
import sys

import numpy as np

import lamina
from lamina import datasets
from lamina import robust as R
from lamina.models import LeNet5

from .common import alternate_samples, blas_info, table, torch_or_none

BATCH, EPS, ALPHA, STEPS = 256, 0.3, 0.01, 10


def _torch_lenet(torch, lam):
    tnn = torch.nn
    tm = tnn.Module()
    tm.features = tnn.Sequential(tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
                                 tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2))
    tm.classifier = tnn.Sequential(tnn.Flatten(), tnn.Linear(400, 120), tnn.ReLU(),
                                   tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, 10))
    tm.forward = lambda x: tm.classifier(tm.features(x))
    tm.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in lam.state_dict().items()})
    return tm.eval()


def main(rounds: int = 5):
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(2)
    except ImportError:  # pragma: no cover
        pass
    print(blas_info())
    lamina.manual_seed(0)
    d = datasets.load("mnist5k")
    x, y = d.x_test[:BATCH], d.y_test[:BATCH].astype(np.int64)
    model = LeNet5().eval()
    lam_atk = R.PGD(model, eps=EPS, alpha=ALPHA, steps=STEPS, random_start=False)
    fns = {"lamina.robust.PGD": lambda: lam_atk(x, y)}
    torch = torch_or_none()
    try:
        import torchattacks
    except ImportError:
        torchattacks = None
    if torch is not None and torchattacks is not None:
        tm = _torch_lenet(torch, model)
        ta = torchattacks.PGD(tm, eps=EPS, alpha=ALPHA, steps=STEPS, random_start=False)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        diff = np.abs(ta(xt, yt).numpy() - lam_atk(x, y))
        # float32 and an untrained net: gradients near 0 may flip sign between the libraries
        print(f"pixels equal to 1e-5 between lamina and torchattacks: "
              f"{(diff <= 1e-5).mean():.2%} (float32; exact parity is tests/robust, float64)")
        fns["torchattacks.PGD"] = lambda: ta(xt, yt)
    else:
        print("torch/torchattacks not installed: lamina only")
    samples = alternate_samples(fns, rounds=rounds, repeat=1, warmup=1)
    med = {k: statistics.median(v) for k, v in samples.items()}
    best = {k: min(v) for k, v in samples.items()}
    base = "torchattacks.PGD" if "torchattacks.PGD" in med else "lamina.robust.PGD"
    table(f"PGD-{STEPS}, batch {BATCH}, LeNet-5, mnist5k (median of {rounds} rounds)", med,
          base, per=BATCH, unit="images/s", best=best)


if __name__ == "__main__":
    main(int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 5)

"""Interpretability cost (seed Q35): Integrated Gradients, 50 gausslegendre steps, on a batch of
32 mnist5k images through LeNet-5, lamina.explain vs Captum on the PyTorch copy (weights copied
by state_dict name, float32, the same 1600-row forward/backward in one pass each).

Target (issue 14): lamina <= 1.2x Captum's time; measured 0.86-0.90x on the idle CI-class
machine (docs/explain.md; it was about 2x before the fused convolution input gradient).
Alternating rounds, medians;
CPU time per call is printed too (wall time on a shared machine measures the neighbours).

Run: ``python -m benchmarks explain`` (or ``python -m benchmarks.bench_explain --rounds N``).
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

import lamina
from lamina import datasets
from lamina.explain import IntegratedGradients
from lamina.models import LeNet5

from .common import alternate_samples, table

N, STEPS = 32, 50


def _torch_lenet(model):
    import torch
    tn = torch.nn
    t = tn.Module()
    t.features = tn.Sequential(tn.Conv2d(1, 6, 5, padding=2), tn.ReLU(), tn.MaxPool2d(2),
                               tn.Conv2d(6, 16, 5), tn.ReLU(), tn.MaxPool2d(2))
    t.classifier = tn.Sequential(tn.Flatten(), tn.Linear(400, 120), tn.ReLU(),
                                 tn.Linear(120, 84), tn.ReLU(), tn.Linear(84, 10))
    t.forward = lambda x: t.classifier(t.features(x))
    t.load_state_dict({k: torch.from_numpy(np.array(getattr(v, "array", v)))
                       for k, v in model.state_dict().items()})
    return t.eval()


def main(argv=()):
    rounds = int(argv[argv.index("--rounds") + 1]) if "--rounds" in argv else 5
    lamina.manual_seed(0)
    d = datasets.load("mnist5k")
    x, y = d.x_test[:N].astype(np.float32), d.y_test[:N]
    model = LeNet5().eval()
    fns = {"lamina IG": lambda: IntegratedGradients(model).attribute(x, target=y,
                                                                     n_steps=STEPS)}
    try:
        import torch
        from captum.attr import IntegratedGradients as CIG
        torch.set_num_threads(2)
        tm = _torch_lenet(model)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        fns["captum IG (torch)"] = lambda: CIG(tm).attribute(tx, target=ty, n_steps=STEPS)
        a = fns["lamina IG"]().numpy()
        b = fns["captum IG (torch)"]().detach().numpy()
        print(f"max |lamina - captum| = {np.abs(a - b).max():.2e} (float32)")
    except ImportError:
        print("torch/captum not installed: lamina only")
    wall = alternate_samples(fns, rounds=rounds, repeat=1, warmup=1)
    cpu = alternate_samples(fns, rounds=rounds, repeat=1, warmup=0, clock=time.process_time)
    med = {k: statistics.median(v) for k, v in wall.items()}
    best = {k: min(v) for k, v in wall.items()}
    base = "captum IG (torch)" if "captum IG (torch)" in med else "lamina IG"
    table(f"IG, {STEPS} steps, batch {N}, LeNet-5 (wall, median of {rounds})", med, base,
          per=N, unit="images/s", best=best)
    table("same, CPU time", {k: statistics.median(v) for k, v in cpu.items()}, base, per=N,
          unit="images/s")


if __name__ == "__main__":
    main(sys.argv[1:])

"""DP-SGD step cost: MLP 784-256-10 on a batch of 256, float32, SGD.

Peers: lamina non-private step, lamina DP-SGD step (GradSampleModule + DPOptimizer: per-example
gradients, clipping, noise), PyTorch non-private and Opacus 1.6 DP-SGD on a PyTorch copy (2
threads). Targets (docs/responsible.md): lamina DP <= 2x lamina non-private, and lamina DP at
least as fast as Opacus.
"""

from __future__ import annotations

import numpy as np

import lamina
import lamina.functional as F
from lamina import nn, optim, privacy

from .common import alternate, blas_info, table, torch_or_none

B, D, H, C = 256, 784, 256, 10


def _data():
    rs = np.random.default_rng(0)
    return rs.standard_normal((B, D)).astype(np.float32), rs.integers(0, C, B)


def lamina_step(private: bool, ghost: bool = True):
    X, y = _data()
    lamina.manual_seed(0)
    model = nn.Sequential(nn.Linear(D, H), nn.ReLU(), nn.Linear(H, C))
    opt = optim.SGD(model.parameters(), lr=0.05)
    if private:
        model = privacy.GradSampleModule(model, ghost=ghost)
        opt = privacy.DPOptimizer(opt, noise_multiplier=1.0, max_grad_norm=1.0,
                                  expected_batch_size=B)
    xt, yt = lamina.tensor(X), lamina.tensor(y)

    def step():
        opt.zero_grad()
        F.cross_entropy(model(xt), yt).backward()
        opt.step()
    return step


def torch_step(torch, private: bool):
    X, y = _data()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(D, H), torch.nn.ReLU(), torch.nn.Linear(H, C))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    if private:
        from opacus import GradSampleModule
        from opacus.optimizers import DPOptimizer
        model = GradSampleModule(model)
        opt = DPOptimizer(opt, noise_multiplier=1.0, max_grad_norm=1.0, expected_batch_size=B)
    xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(xt), yt).backward()
        opt.step()
    return step


def main():
    torch = torch_or_none()
    print(f"BLAS: {blas_info()}")
    fns = {"lamina": lamina_step(False), "lamina DP-SGD": lamina_step(True),
           "lamina DP-SGD (no ghost)": lamina_step(True, ghost=False)}
    if torch is not None:
        fns["pytorch (2 threads)"] = torch_step(torch, False)
        try:
            fns["opacus DP-SGD"] = torch_step(torch, True)
        except ImportError:
            print("opacus not installed: no Opacus peer")
    times = alternate(fns, rounds=5, repeat=5, warmup=2)
    table(f"MLP {D}-{H}-{C} training step, batch {B}", times, "lamina DP-SGD", per=B)
    print(f"\n  DP overhead: lamina DP / lamina = {times['lamina DP-SGD'] / times['lamina']:.2f}x"
          " (target <= 2x)")
    if "opacus DP-SGD" in times:
        print(f"  lamina DP vs Opacus: x{times['opacus DP-SGD'] / times['lamina DP-SGD']:.2f} "
              "(> 1 means lamina is faster)")

"""Adversarial robustness on mnist5k: a standard MLP, a PGD-trained one, a TRADES one and an
IBP-trained one, each put through lamina.robust's attack ladder (FGSM, PGD-20, PGD-20 x3,
APGD-CE/DLR, Square) at several L-inf budgets; IBP's certified accuracy beside its attacked
accuracy. Prints the table of docs/robustness.md and writes its figures into ``--out``:
``accuracy_vs_eps.png`` (worst-case accuracy per model) and ``adversarial_grid.png``.

    python examples/adversarial_mnist.py --out docs/figures/robustness   # ~15 min on 1 core
    python examples/adversarial_mnist.py --quick                          # digits, ~2 min
"""

import argparse
import os
import time

import numpy as np

import lamina
from lamina import datasets, nn
from lamina import robust as R
from lamina.optim import Adam
from lamina.train import Trainer

try:  # one BLAS thread: small matrices, and spinning threads hurt on a shared machine
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)
except ImportError:  # pragma: no cover
    pass


def mlp(n_in):
    return nn.Sequential(nn.Flatten(), nn.Linear(n_in, 256), nn.ReLU(), nn.Linear(256, 10))


def train(model, data, step=None, epochs=10):
    t = time.time()
    Trainer(model, Adam(model.parameters(), 1e-3), "cross_entropy", step_fn=step).fit(
        data, epochs=epochs, batch_size=64, verbose=0)
    return model.eval(), time.time() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/robustness")
    ap.add_argument("--quick", action="store_true", help="digits instead of mnist5k")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--test", type=int, default=500, help="test samples attacked")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    lamina.manual_seed(0)
    d = datasets.load("digits" if args.quick else "mnist5k")
    n_in = int(np.prod(d.x_train.shape[1:]))
    epochs = args.epochs or (20 if args.quick else 10)
    data = (d.x_train, d.y_train)
    x, y = d.x_test[:args.test], d.y_test[:args.test]
    eps_list = [0.05, 0.1, 0.2, 0.3]
    steps = {
        "standard": None,
        "PGD-trained (eps 0.1)": R.adversarial_training("pgd", eps=0.1, steps=7),
        "TRADES (eps 0.1, beta 6)": R.adversarial_training("trades", eps=0.1, steps=7),
        "IBP (eps 0.1)": R.ibp_training(R.IBPSchedule(0.11, warmup=60 * epochs // 10,
                                                      ramp=300 * epochs // 10)),
    }
    curves, models = {}, {}
    print(f"| model | train s | clean | {' | '.join(f'worst @{e:g}' for e in eps_list)} |"
          " certified @0.1 | warnings |")
    print("|---" * (len(eps_list) + 5) + "|")
    for name, step in steps.items():
        model, secs = train(mlp(n_in), data, step, epochs)
        models[name] = model
        rep = R.robustness_report(model, (x, y), eps_list, square_queries=200)
        cert = R.certified_accuracy(model, x, y, 0.1)
        curves[name] = ([0.0] + eps_list, [rep.clean] + rep.worst)
        print(f"| {name} | {secs:.0f} | {rep.clean:.3f} | "
              f"{' | '.join(f'{w:.3f}' for w in rep.worst)} | {cert:.3f} | "
              f"{len(rep.warnings)} |", flush=True)
        for w in rep.warnings:
            print(f"  warning: {w}")
    R.plot_accuracy_curves(curves, os.path.join(args.out, "accuracy_vs_eps.png"),
                           title="Worst-case accuracy under the attack ladder")
    std = models["standard"]
    adv = R.PGD(std, eps=0.1, alpha=0.0125, steps=20)(x[:8], y[:8])
    pred = std(lamina.tensor(adv)).numpy().argmax(1)
    R.plot_adversarial_grid(x[:8], adv, os.path.join(args.out, "adversarial_grid.png"),
                            labels=y[:8], preds=pred)
    print(f"wrote {args.out}/accuracy_vs_eps.png and adversarial_grid.png")


if __name__ == "__main__":
    main()

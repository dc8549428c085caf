"""Self-supervised pretraining on mnist5k (seed Q39): rotation prediction vs SimCLR.

An encoder (LeNet-5's conv features, then a 128-unit embedding with BatchNorm) is pretrained on
the 4,000 training images without their labels, by

* ``rotation``: predicting which of 0/90/180/270 degrees each image was rotated by;
* ``simclr``: the NT-Xent contrastive loss between two augmentations (shift, rotation, noise)
  of each image;

and compared with the same encoder left at its random initial weights. Each is measured by a
linear probe (logistic regression on the frozen features) trained on 1%, 10% and 100% of the
labels and tested on the 1,000 test images. Writes ``ssl_probe.png`` and ``ssl_results.json``
to ``--out``.

Run:
    python examples/self_supervised.py                 # ~5 min on a laptop CPU
    python examples/self_supervised.py --epochs 1 --fractions 0.1
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

import lamina as L
import lamina.nn as nn
from lamina.applications.selfsupervised import (linear_probe, pretrain_rotation,
                                                pretrain_simclr)
from lamina.data import Compose, GaussianNoise, RandomRotation, RandomShift
from lamina.datasets import load
from lamina.models import LeNet5


def make_encoder():
    features = LeNet5(batch_norm=True).features
    return nn.Sequential(features, nn.Flatten(), nn.Linear(400, 128), nn.BatchNorm1d(128),
                         nn.ReLU())


def pretrained(kind: str, x, epochs: int):
    L.manual_seed(0)
    enc = make_encoder()
    t0 = time.time()
    if kind == "rotation":
        hist = pretrain_rotation(enc, x, 128, epochs=epochs, batch_size=64, lr=2e-3)
    elif kind == "simclr":
        aug = Compose([RandomShift(3), RandomRotation(20), GaussianNoise(0.1)])
        hist = pretrain_simclr(enc, x, 128, augment=aug, epochs=epochs, batch_size=64,
                               lr=2e-3, temperature=0.2)
    else:
        return enc, 0.0, None
    return enc, time.time() - t0, hist.history


def plot(results, fractions, epochs, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    width = 0.27
    pos = np.arange(len(fractions))
    for i, kind in enumerate(results):
        vals = [results[kind]["probe_accuracy"][str(f)] for f in fractions]
        ax.bar(pos + (i - 1) * width, vals, width, label=kind)
    ax.set_xticks(pos, [f"{f:.0%} labels" for f in fractions])
    ax.set_ylim(0.4, 1.0)
    ax.set_ylabel("linear probe test accuracy")
    ax.set_title(f"mnist5k: frozen encoder features ({epochs} pretraining epochs)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=4, help="pretraining epochs")
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.01, 0.1, 1.0])
    ap.add_argument("--out", default=os.path.join("docs", "figures"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    d = load("mnist5k")
    g = np.random.default_rng(0)
    labelled = {}  # the same labelled subsets for every encoder
    for frac in args.fractions:
        per_class = max(1, int(round(frac * len(d.y_train) / 10)))
        labelled[frac] = np.concatenate([g.choice(np.flatnonzero(d.y_train == c), per_class,
                                                  replace=False) for c in range(10)])
    results = {}
    for kind in ("random", "rotation", "simclr"):
        enc, secs, hist = pretrained(kind, d.x_train, args.epochs)
        accs = {}
        for frac, idx in labelled.items():
            accs[str(frac)] = linear_probe(enc, d.x_train[idx], d.y_train[idx], d.x_test,
                                           d.y_test)
        results[kind] = {"probe_accuracy": accs, "pretrain_seconds": secs, "history": hist}
        line = "  ".join(f"{float(f):.0%}: {a:.3f}" for f, a in accs.items())
        print(f"{kind:9s} pretrain {secs:5.0f} s  linear probe  {line}", flush=True)
    with open(os.path.join(args.out, "ssl_results.json"), "w") as f:
        json.dump({"epochs": args.epochs, "results": results}, f, indent=1)

    plot(results, args.fractions, args.epochs, os.path.join(args.out, "ssl_probe.png"))
    print("wrote", os.path.join(args.out, "ssl_probe.png"))


if __name__ == "__main__":
    main()

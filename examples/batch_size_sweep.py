"""Seed Q49: the impact of batch size. Trains the same MLP on digits with batch sizes 8...1024
for the same number of epochs (learning rate scaled with sqrt(batch)), and reports throughput
(samples/s) and final test accuracy, plotted side by side.

    python examples/batch_size_sweep.py [--epochs 10] [--out out]
"""

import argparse
import os
import time

import numpy as np

import lamina
from lamina import data, datasets, optim
from lamina.models import MLP
from lamina.train import Trainer


def run(batch, epochs, d):
    lamina.manual_seed(0)
    model = MLP(64, (128, 64), 10)
    opt = optim.Adam(model.parameters(), lr=1e-3 * np.sqrt(batch / 32))
    loader = data.DataLoader(data.ArrayDataset(d.x_train, d.y_train), batch_size=batch,
                             shuffle=True, seed=0)
    trainer = Trainer(model, opt, "cross_entropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    trainer.fit(loader, epochs=epochs, verbose=0)
    dt = time.perf_counter() - t0
    acc = trainer.evaluate((d.x_test, d.y_test), batch_size=512)["accuracy"]
    return epochs * len(d.x_train) / dt, acc


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--out", default="out")
    args = ap.parse_args(argv)
    d = datasets.load("digits", flatten=True)
    sizes = [8, 16, 32, 64, 128, 256, 512, 1024]
    rows = []
    print(f"{'batch':>6} {'samples/s':>12} {'test acc':>9}")
    for b in sizes:
        thr, acc = run(b, args.epochs, d)
        rows.append((b, thr, acc))
        print(f"{b:>6} {thr:>12,.0f} {acc:>9.3f}")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(args.out, exist_ok=True)
    fig, ax1 = plt.subplots(figsize=(6, 3.5))
    ax1.semilogx([r[0] for r in rows], [r[1] for r in rows], "o-", base=2, label="samples/s")
    ax1.set_xlabel("batch size")
    ax1.set_ylabel("samples / s")
    ax2 = ax1.twinx()
    ax2.plot([r[0] for r in rows], [r[2] for r in rows], "s--", color="C1", label="test acc")
    ax2.set_ylabel(f"test accuracy after {args.epochs} epochs")
    fig.tight_layout()
    path = os.path.join(args.out, "batch_size_sweep.png")
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")
    return rows


if __name__ == "__main__":
    main()

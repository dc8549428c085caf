"""Calibration and OOD detection, the figures of docs/uncertainty.md.

1. An over-fitted MLP on mnist5k (512-512, BatchNorm, 40 epochs, ~100% train accuracy) is
   calibrated with temperature scaling on a validation split: test ECE/NLL before and after,
   and both reliability diagrams (``reliability_before.png``, ``reliability_after.png``).
2. An MLP trained on digits 0-4 meets the test images of digits 5-9 (out of distribution):
   the AUROC of every OOD score and a histogram of max-softmax and energy scores
   (``ood_hist.png``); the risk-coverage curve of the in-distribution test set.

    python examples/calibration.py --out docs/figures/uncertainty   # ~1 min CPU
    python examples/calibration.py --quick                           # digits only, seconds
"""

import argparse
import os

import numpy as np

import lamina
from lamina import datasets
from lamina import metrics as M
from lamina.data import train_test_split
from lamina.models import MLP
from lamina.nn.utils import batched_eval
from lamina.train import Trainer
from lamina.uncertainty import (TemperatureScaling, energy_score, max_softmax_score,
                                ood_report, risk_coverage_curve, softmax)


def calibration(out, quick):
    name, hidden, epochs = ("digits", (128,), 60) if quick else ("mnist5k", (512, 512), 40)
    d = datasets.load(name, flatten=True, test_size=0.5 if quick else 0.3)
    xtr, xva, ytr, yva = train_test_split(d.x_train, d.y_train, test_size=0.4, seed=1)
    lamina.manual_seed(0)
    model = MLP(xtr.shape[1], hidden, 10, batch_norm=not quick)
    tr = Trainer(model, lamina.optim.Adam(model.parameters(), 3e-3 if quick else 1e-3),
                 "cross_entropy")
    tr.fit((xtr, ytr), epochs=epochs, batch_size=32, verbose=0)
    print(f"{name}: train accuracy {tr.evaluate((xtr, ytr))['accuracy']:.4f}")
    ts = TemperatureScaling().fit(batched_eval(model, xva), yva)
    zt = batched_eval(model, d.x_test)
    p0, p1 = softmax(zt.astype(np.float64)), ts.transform(zt)
    print(f"temperature {ts.temperature:.3f}")
    for label, p in (("before", p0), ("after", p1)):
        print(f"  {label:6s} ECE {M.expected_calibration_error(p, d.y_test):.4f}  MCE "
              f"{M.maximum_calibration_error(p, d.y_test):.4f}  NLL "
              f"{M.negative_log_likelihood(p, d.y_test):.4f}  Brier "
              f"{M.brier_score(p, d.y_test):.4f}  accuracy {M.accuracy(d.y_test, p):.4f}")
        M.reliability_diagram(p, d.y_test, os.path.join(out, f"reliability_{label}.png"),
                              title=f"{name} MLP, {label} T-scaling")


def ood(out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = datasets.load("digits", flatten=True)
    mi, mo = d.y_train < 5, d.y_test < 5
    lamina.manual_seed(0)
    model = MLP(64, (128,), 5)
    Trainer(model, lamina.optim.Adam(model.parameters(), 1e-3), "cross_entropy").fit(
        (d.x_train[mi], d.y_train[mi]), epochs=20, batch_size=32, verbose=0)
    rep = ood_report(model, d.x_test[mo], d.x_test[~mo], train_data=(d.x_train[mi],
                                                                     d.y_train[mi]))
    print("OOD (in: digits 0-4 test, out: digits 5-9 test)")
    for k, v in rep.items():
        print(f"  {k:12s} AUROC {v['auroc']:.3f}  AUPR-In {v['aupr']:.3f}  FPR@95 "
              f"{v['fpr95']:.3f}")
    zin, zout = batched_eval(model, d.x_test[mo]), batched_eval(model, d.x_test[~mo])
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    for ax, (label, fn) in zip(axes, (("max softmax", max_softmax_score),
                                      ("energy (T logsumexp z/T)", energy_score))):
        ax.hist(fn(zin), bins=30, alpha=0.6, label="in: digits 0-4", density=True)
        ax.hist(fn(zout), bins=30, alpha=0.6, label="out: digits 5-9", density=True)
        key = "msp" if label.startswith("max") else "energy"
        ax.set_title(f"{label}: AUROC {rep[key]['auroc']:.3f}", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "ood_hist.png"), dpi=80)
    plt.close(fig)
    rc = risk_coverage_curve(softmax(zin), d.y_test[mo])
    k = int(0.8 * len(rc["risk"])) - 1
    print(f"selective: accuracy {rc['accuracy'][-1]:.3f} at full coverage, "
          f"{rc['accuracy'][k]:.3f} at 80% coverage, AURC {rc['aurc']:.4f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/uncertainty")
    ap.add_argument("--quick", action="store_true", help="digits instead of mnist5k")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    calibration(args.out, args.quick)
    ood(args.out)


if __name__ == "__main__":
    main()

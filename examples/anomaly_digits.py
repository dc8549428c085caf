"""Anomaly detection: digits with one class held out as the anomaly (train on the other nine)
and spikes injected into the co2 series. Writes ``anomaly_scores.png`` (score histograms) and
``anomaly_co2.png`` (the series with flagged steps) into ``--out``.

    python examples/anomaly_digits.py --out out/ [--digit 0]
    python examples/anomaly_digits.py --all        # every class and detector (~15 min): the
                                                   # ROC-AUC table of docs/generative.md
"""

import argparse
import os
import time

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.svm import OneClassSVM

import lamina
from lamina import datasets
from lamina.applications import (AutoencoderDetector, DeepSVDD, GANDiscriminatorDetector,
                                 LSTMForecastDetector, VAEDetector, evaluate_detector)
from lamina.datasets.sources import raw


class _Sk:
    """scikit-learn baseline with lamina's sign convention (higher = more anomalous)."""

    def __init__(self, est):
        self.est = est

    def fit(self, X):
        self.est.fit(X)
        return self

    def score_samples(self, X):
        return -self.est.score_samples(X)


DETECTORS = {
    "AE": lambda: AutoencoderDetector(),
    "VAE (-ELBO)": lambda: VAEDetector(),
    "DeepSVDD": lambda: DeepSVDD(epochs=30),
    "GAN D": lambda: GANDiscriminatorDetector(epochs=20),
    "IsolationForest": lambda: _Sk(IsolationForest(random_state=0)),
    "OneClassSVM": lambda: _Sk(OneClassSVM(gamma="scale", nu=0.1)),
}


def digits_table(d, names, classes):
    aucs = {n: [] for n in names}
    for k in classes:
        normal, y = d.x_train[d.y_train != k], (d.y_test == k).astype(int)
        for n in names:
            lamina.manual_seed(0)
            t = time.time()
            det = DETECTORS[n]().fit(normal)
            r = evaluate_detector(y, det.score_samples(d.x_test), print_fn=None)
            aucs[n].append(r["roc_auc"])
            print(f"held-out {k}  {n:16s} ROC-AUC {r['roc_auc']:.3f}  PR-AUC {r['pr_auc']:.3f}"
                  f"  ({time.time() - t:.0f} s)", flush=True)
    print("\n| detector | " + " | ".join(str(k) for k in classes) + " | mean |")
    print("|---" * (len(classes) + 2) + "|")
    for n, v in aucs.items():
        print(f"| {n} | " + " | ".join(f"{a:.3f}" for a in v) + f" | **{np.mean(v):.3f}** |")


def histogram(d, digit, out):
    normal, y = d.x_train[d.y_train != digit], (d.y_test == digit).astype(int)
    det = AutoencoderDetector().fit(normal)
    scores, pred = det.score_samples(d.x_test), det.predict(d.x_test)
    evaluate_detector(y, scores, pred, name=f"AE, held-out digit {digit}")
    for n in ("IsolationForest", "OneClassSVM"):
        evaluate_detector(y, DETECTORS[n]().fit(normal).score_samples(d.x_test),
                          name=f"{n}, held-out digit {digit}")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6, 3.2))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    bins = np.linspace(0, np.quantile(scores, 0.995), 40)
    ax.hist(scores[y == 0], bins, alpha=0.6, density=True, label="other digits (normal)")
    ax.hist(scores[y == 1], bins, alpha=0.6, density=True, label=f"digit {digit} (anomaly)")
    ax.axvline(det.threshold_, color="k", ls="--", label="threshold_ (contamination 5%)")
    ax.set_xlabel("reconstruction error (held-out digits)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(out, "anomaly_scores.png")
    fig.savefig(path, dpi=100)
    print("wrote", path)


def co2(out, size=3.0, n_spikes=20):
    s = np.array(raw("co2")["series"], dtype=np.float32)
    n_train = int(0.7 * len(s))
    train, test = s[:n_train], s[n_train:].copy()
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(np.arange(60, len(test)), n_spikes, replace=False))
    test[idx] += rng.choice([-1.0, 1.0], n_spikes) * size
    y = np.zeros(len(test), np.int64)
    y[idx] = 1
    det = LSTMForecastDetector(window=26, epochs=10, contamination=0.005).fit(train)
    pred = det.predict(test)
    evaluate_detector(y, det.score_samples(test), pred, name=f"LSTM forecast, co2 +-{size} ppm")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(9, 3))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    t = np.arange(n_train, len(s))
    ax.plot(t, test, lw=0.7, color="gray", label="co2 test part with injected spikes")
    ax.scatter(t[idx], test[idx], s=40, facecolors="none", edgecolors="C0", label="injected")
    f = np.flatnonzero(pred)
    ax.scatter(t[f], test[f], s=12, color="C3", label="flagged (predict = 1)")
    ax.set_xlabel("week")
    ax.set_ylabel("ppm")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(out, "anomaly_co2.png")
    fig.savefig(path, dpi=100)
    print("wrote", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/")
    ap.add_argument("--digit", type=int, default=0)
    ap.add_argument("--all", action="store_true", help="ROC-AUC of every detector, all classes")
    ap.add_argument("--detectors", default=",".join(DETECTORS))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    lamina.manual_seed(args.seed)
    d = datasets.load("digits", flatten=True)
    if args.all:
        digits_table(d, args.detectors.split(","), range(10))
        return
    histogram(d, args.digit, args.out)
    co2(args.out)


if __name__ == "__main__":
    main()

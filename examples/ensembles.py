"""Seed Q37: ensembles of networks on digits: five independently trained MLPs against their
mean member (accuracy, NLL, disagreement, Q-statistic), a snapshot ensemble and SWA from one
run each, and stacking/boosting through scikit-learn's meta-estimators.

    python examples/ensembles.py
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.ensemble import StackingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from lamina.ensemble import SWA, BaggingNets, SnapshotEnsemble
from lamina.metrics import log_loss
from lamina.sklearn import NeuralNetClassifier


def main():
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.5, stratify=y, random_state=0)
    base = NeuralNetClassifier(module__hidden=(64,), lr=0.01, max_epochs=15)
    ens = BaggingNets(base, n_estimators=5, random_state=0).fit(Xtr, ytr)
    P = ens.member_proba(Xte)
    rows = [("mean member", np.mean([np.mean(p.argmax(1) == yte) for p in P]),
             np.mean([log_loss(yte, p) for p in P])),
            ("5-member ensemble", ens.score(Xte, yte), log_loss(yte, ens.predict_proba(Xte)))]
    snap = SnapshotEnsemble(NeuralNetClassifier(module__hidden=(64,), lr=0.01), n_snapshots=5,
                            epochs_per_cycle=4, random_state=0).fit(Xtr, ytr)
    rows.append(("snapshot (1 run)", snap.score(Xte, yte), log_loss(yte, snap.predict_proba(Xte))))
    swa = SWA(NeuralNetClassifier(module__hidden=(64,), module__batch_norm=True, lr=3e-3,
                                  max_epochs=20), swa_lr=3e-3, random_state=0).fit(Xtr, ytr)
    rows.append(("SWA + BN update", swa.score(Xte, yte), log_loss(yte, swa.predict_proba(Xte))))
    stack = StackingClassifier([("a", NeuralNetClassifier(max_epochs=15, random_state=1)),
                                ("b", NeuralNetClassifier(module__hidden=(32,), max_epochs=15,
                                                          random_state=2))],
                               final_estimator=LogisticRegression(max_iter=1000), cv=3)
    stack.fit(Xtr, ytr)
    rows.append(("stacking (sklearn)", stack.score(Xte, yte),
                 log_loss(yte, stack.predict_proba(Xte))))
    print(f"{'model':20s} {'accuracy':>9s} {'NLL':>7s}")
    for name, acc, nll in rows:
        print(f"{name:20s} {acc:9.4f} {nll:7.4f}")
    print("diversity:", {k: round(v, 4) for k, v in ens.diversity(Xte, yte).items()})


if __name__ == "__main__":
    main()

"""Seed Q40: a digit class cut to 5% of its training examples, plain cross-entropy against
the imbalance-aware recipes (class weights, balanced batches, focal, LDAM, logit adjustment,
SMOTE through imbalanced-learn), compared in PR-AUC and recall of the rare class and macro F1.
Writes docs/figures/tabular/confusion_rare_digit.png.

    python examples/imbalanced.py
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from lamina import metrics
from lamina.sklearn import NeuralNetClassifier

MINOR = 8
FIGURE = "docs/figures/tabular/confusion_rare_digit.png"


def data():
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.4, stratify=y, random_state=0)
    idx = np.flatnonzero(ytr == MINOR)
    drop = idx[np.random.default_rng(0).permutation(len(idx))[int(0.05 * len(idx)):]]
    keep = np.setdiff1d(np.arange(len(ytr)), drop)
    return Xtr[keep], ytr[keep], Xte, yte


def main():
    Xtr, ytr, Xte, yte = data()
    print("training counts per class:", np.bincount(ytr).tolist())
    kw = {"max_epochs": 30, "module__hidden": (64,), "lr": 3e-3, "random_state": 0}
    recipes = {"cross-entropy": {}, "class_weight=balanced": {"class_weight": "balanced"},
               "balanced batches": {"sampling": "balanced"}, "focal (gamma 2)": {
                   "criterion": "focal"}, "LDAM (s=5)": {"criterion": "ldam",
                                                         "criterion__s": 5.0},
               "logit adjustment": {"criterion": "logit_adjusted"}}
    models = {name: NeuralNetClassifier(**kw, **extra) for name, extra in recipes.items()}
    try:
        from imblearn.over_sampling import SMOTE
        from imblearn.pipeline import make_pipeline
        models["SMOTE (imblearn)"] = make_pipeline(SMOTE(k_neighbors=3, random_state=0),
                                                   NeuralNetClassifier(**kw))
    except ImportError:
        print("(pip install 'lamina[imbalanced]' for the SMOTE row)")
    print(f"{'recipe':24s} {'PR-AUC':>7s} {'recall':>7s} {'macro F1':>9s}")
    for name, model in models.items():
        p = model.fit(Xtr, ytr).predict_proba(Xte)
        pred = p.argmax(1)
        ap = metrics.average_precision((yte == MINOR).astype(int), p[:, MINOR])
        rec = np.mean(pred[yte == MINOR] == MINOR)
        f1 = metrics.f1_score(yte, pred, average="macro")
        print(f"{name:24s} {ap:7.3f} {rec:7.3f} {f1:9.3f}")
        if name == "balanced batches":
            metrics.plot_confusion_matrix(yte, pred, FIGURE, title="balanced batches, rare 8")
    print(metrics.classification_report(yte, pred)[1])


if __name__ == "__main__":
    main()

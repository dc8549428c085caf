"""Seed Q43: imputation on breast cancer with 30% of the values missing completely at random:
mean, KNN, Iterative (scikit-learn) and lamina's learned imputers (denoising autoencoder,
VAE), by imputation RMSE (standardized units) and the accuracy of a network trained after
each; plus a network that takes the NaNs itself (nn.MissingIndicator).

    python examples/missing_data.py
"""

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import lamina
from lamina import nn
from lamina.sklearn import NeuralNetClassifier
from lamina.sklearn.impute import DenoisingAutoencoderImputer, VAEImputer
from lamina.train import Trainer


def main():
    X, y = load_breast_cancer(return_X_y=True)
    rs = np.random.default_rng(0)
    m = rs.random(X.shape) < 0.3
    Xm = X.copy()
    Xm[m] = np.nan
    sd = X.std(0)
    tr, te = train_test_split(np.arange(len(X)), test_size=0.3, stratify=y, random_state=0)
    imputers = {"mean": SimpleImputer(), "knn": KNNImputer(),
                "iterative": IterativeImputer(max_iter=5, random_state=0),
                "denoising AE": DenoisingAutoencoderImputer(max_epochs=60, random_state=0),
                "VAE": VAEImputer(max_epochs=60, random_state=0)}
    print(f"{'imputer':14s} {'RMSE':>6s} {'accuracy':>9s}")
    for name, imp in imputers.items():
        rmse = np.sqrt(np.mean(((imp.fit_transform(Xm) - X) / sd)[m] ** 2))
        clf = make_pipeline(imp, StandardScaler(), NeuralNetClassifier(max_epochs=20,
                                                                       random_state=0))
        acc = clf.fit(Xm[tr], y[tr]).score(Xm[te], y[te])
        print(f"{name:14s} {rmse:6.3f} {acc:9.3f}")
    # the network imputes itself: learned fill values plus the missingness mask
    mu, s = np.nanmean(Xm[tr], 0), np.nanstd(Xm[tr], 0)
    Z = ((Xm - mu) / s).astype(np.float32)
    lamina.manual_seed(0)
    model = nn.Sequential(nn.MissingIndicator(30), nn.Linear(60, 64), nn.ReLU(),
                          nn.Linear(64, 2))
    trainer = Trainer(model, lamina.optim.Adam(model.parameters(), 3e-3), "cross_entropy")
    trainer.fit((Z[tr], y[tr]), epochs=20, batch_size=32, verbose=0)
    print(f"{'MissingIndicator':14s} {'-':>6s} "
          f"{trainer.evaluate((Z[te], y[te]))['accuracy']:9.3f}")


if __name__ == "__main__":
    main()

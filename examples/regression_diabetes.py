"""Seed Q20, Q22: MLP regression on the diabetes data, 5-fold cross-validated against
scikit-learn's LinearRegression on the same folds (MSE, MAE, R²).

    python examples/regression_diabetes.py
"""

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression

from threadpoolctl import threadpool_limits

import lamina
from lamina import functional as F
from lamina import metrics as M
from lamina import optim
from lamina.data import KFold
from lamina.models import MLP
from lamina.train import Trainer


def main():
    X, y = load_diabetes(return_X_y=True)
    rows = []
    for k, (tr, te) in enumerate(KFold(5, shuffle=True, seed=0).split(X)):
        # standardize features and target with the training fold's statistics only
        mu, sd, ym, ys = X[tr].mean(0), X[tr].std(0), y[tr].mean(), y[tr].std()
        xtr, xte = ((X[tr] - mu) / sd).astype(np.float32), ((X[te] - mu) / sd).astype(np.float32)
        lamina.manual_seed(k)
        model = MLP(10, (16,), 1)
        trainer = Trainer(model, optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01),
                          F.mse_loss, metrics=("r2",))
        trainer.fit((xtr, ((y[tr] - ym) / ys).astype(np.float32)[:, None]), epochs=60,
                    batch_size=32, verbose=0)
        pred = trainer.predict(xte)[:, 0] * ys + ym
        lin = LinearRegression().fit(X[tr], y[tr]).predict(X[te])
        rows.append([M.r2(y[te], pred), M.mse(y[te], pred), M.mae(y[te], pred),
                     M.r2(y[te], lin), M.mse(y[te], lin), M.mae(y[te], lin)])
        print(f"fold {k + 1}: MLP R2 {rows[-1][0]:.3f}  LinearRegression R2 {rows[-1][3]:.3f}")
    r = np.mean(rows, axis=0)
    print(f"mean over 5 folds   R2      MSE     MAE\n"
          f"MLP (10-16-1)      {r[0]:.3f}  {r[1]:7.1f}  {r[2]:.2f}\n"
          f"LinearRegression   {r[3]:.3f}  {r[4]:7.1f}  {r[5]:.2f}")


if __name__ == "__main__":
    with threadpool_limits(1):  # small matrices: one BLAS thread is fastest
        main()

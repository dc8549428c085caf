"""Learned imputation against mean imputation where the difference can show (seed Q43).

With one mask and one 3-fold split, breast cancer's accuracy moves by about a point between
imputers of equal quality (tests/sklearn/test_missing_data_study.py), which hides the effect.
Diabetes is a better probe: 10 features, some
strongly correlated (s1/s2 0.90, s3/s4 -0.74), and a regression target whose R^2 drops as
information is lost. Protocol: inject MCAR or MAR missingness (MAR: rows whose first feature
is above its median lose values four times as often; the first feature is never missing) with
a seed, impute the whole table without its labels, then score a ridge regression by
3x-repeated 5-fold R^2 (folds seeded); the imputers see the same mask and the same folds, so
the comparison is paired. RMSE is over the masked entries in standardized units. The slow
grid adds breast cancer (logistic-regression accuracy) and averages over three masks.
"""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import (RepeatedKFold, RepeatedStratifiedKFold,
                                     cross_val_score)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from lamina.sklearn.impute import DenoisingAutoencoderImputer, VAEImputer


def inject(X, rate, kind, seed):
    rs = np.random.default_rng(seed)
    if kind == "mcar":
        m = rs.random(X.shape) < rate
    else:
        high = X[:, :1] > np.median(X[:, 0])
        m = rs.random(X.shape) < np.where(high, 1.6 * rate, 0.4 * rate)
        m[:, 0] = False
    out = X.copy()
    out[m] = np.nan
    return out, m


def evaluate(imputer, X, y, Xm, m, seed, task="regression"):
    """(RMSE on the masked entries in standardized units, repeated-CV downstream score)."""
    Xi = imputer.fit_transform(Xm)
    rmse = float(np.sqrt(np.mean(((Xi - X) / X.std(0))[m] ** 2)))
    if task == "regression":
        cv = RepeatedKFold(n_splits=5, n_repeats=3, random_state=seed)
        score = cross_val_score(make_pipeline(StandardScaler(), Ridge()), Xi, y, cv=cv,
                                scoring="r2").mean()
    else:
        cv = RepeatedStratifiedKFold(n_splits=5, n_repeats=3, random_state=seed)
        score = cross_val_score(make_pipeline(StandardScaler(),
                                              LogisticRegression(max_iter=1000)), Xi, y,
                                cv=cv).mean()
    return rmse, float(score)


@pytest.mark.parametrize("kind,rate,seed", [("mcar", 0.2, 0), ("mar", 0.4, 1)])
def test_denoising_imputer_beats_mean_in_rmse_and_downstream_r2(kind, rate, seed):
    """Measured (RMSE / R^2; ridge on the complete table reaches R^2 about 0.48): MCAR 20%
    seed 0: mean 0.994 / 0.425, denoising AE 0.734 / 0.444; MAR 40% seed 1: mean
    0.981 / 0.334, denoising AE 0.827 / 0.388. The R^2 gain was positive in all 20 runs of
    seeds 0-4 at MCAR/MAR 20/40% (smallest +0.005, typical +0.03)."""
    X, y = load_diabetes(return_X_y=True)
    Xm, m = inject(X, rate, kind, seed)
    rmse0, r2_0 = evaluate(SimpleImputer(), X, y, Xm, m, seed)
    rmse1, r2_1 = evaluate(DenoisingAutoencoderImputer(max_epochs=60, random_state=seed),
                           X, y, Xm, m, seed)
    assert rmse1 < 0.9 * rmse0, (rmse1, rmse0)
    assert r2_1 > r2_0 + 0.01, (r2_1, r2_0)


@pytest.mark.slow
def test_imputer_grid_diabetes_and_breast_cancer():
    """MCAR/MAR at 20% and 40%, seeds 0-2, mean / Iterative (5 rounds, 10 nearest features) /
    denoising AE / VAE on diabetes (ridge R^2) and breast cancer (logistic-regression
    accuracy); the table is in docs/tabular.md. Asserts: both learned imputers beat mean
    imputation in RMSE in every run (by 10% at least), and their downstream score averaged
    over the seeds beats mean imputation's in every setting of both tables (measured margins:
    diabetes R^2 +0.025 to +0.045, breast cancer accuracy +0.005 to +0.016; the gain was
    positive on each of the 24 masks). 390 s and 722 s in two runs on the shared 2-core
    machine at load averages near 20 (IterativeImputer dominates)."""
    failures = []
    for name, loader, task in (("diabetes", load_diabetes, "regression"),
                               ("breast cancer", load_breast_cancer, "classification")):
        X, y = loader(return_X_y=True)
        for kind in ("mcar", "mar"):
            for rate in (0.2, 0.4):
                res = {}
                for seed in range(3):
                    Xm, m = inject(X, rate, kind, seed)
                    imps = {"mean": SimpleImputer(),
                            "iterative": IterativeImputer(max_iter=5, n_nearest_features=10,
                                                          random_state=seed),
                            "dae": DenoisingAutoencoderImputer(max_epochs=60,
                                                               random_state=seed),
                            "vae": VAEImputer(max_epochs=60, random_state=seed)}
                    for k, imp in imps.items():
                        res.setdefault(k, []).append(evaluate(imp, X, y, Xm, m, seed, task))
                avg = {k: np.mean(v, axis=0) for k, v in res.items()}
                gain = {k: [round(a[1] - b[1], 4) for a, b in zip(res[k], res["mean"])]
                        for k in ("iterative", "dae", "vae")}
                print(name, kind, rate, {k: np.round(v, 3).tolist() for k, v in avg.items()},
                      "per-seed downstream gain over mean:", gain, flush=True)
                for k in ("dae", "vae"):
                    if any(r >= 0.9 * r0 for (r, _), (r0, _) in zip(res[k], res["mean"])):
                        failures.append((name, kind, rate, k, "rmse"))
                    if not avg[k][1] > avg["mean"][1]:
                        failures.append((name, kind, rate, k, "downstream"))
    assert not failures, failures

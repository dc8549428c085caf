"""Splits and model selection: stratification, folds, cross_validate with a duck-typed model."""

import numpy as np
import pytest

from lamina import datasets
from lamina.data import (ArrayDataset, DataLoader, KFold, StratifiedKFold, cross_validate,
                         labels_of, train_test_split)


def _imbalanced(n=200):
    y = np.r_[np.zeros(int(n * 0.8), np.int64), np.ones(n - int(n * 0.8), np.int64)]
    return np.arange(n, dtype=np.float32)[:, None], y


def test_train_test_split_is_stratified_and_seeded():
    X, y = _imbalanced()
    x_tr, x_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, seed=0)
    assert len(x_te) == 50 and y_te.mean() == pytest.approx(0.2)
    assert y_tr.mean() == pytest.approx(0.2)
    assert not set(x_tr[:, 0]) & set(x_te[:, 0])
    again = train_test_split(X, y, test_size=0.25, seed=0)
    np.testing.assert_array_equal(again[1], x_te)
    reg = train_test_split(X, X[:, 0] * 0.5, test_size=0.25, seed=0)  # float target: no strata
    assert len(reg) == 4
    tail = train_test_split(X, test_size=0.25, shuffle=False)
    np.testing.assert_array_equal(tail[1][:, 0], np.arange(150, 200))


def test_train_test_split_of_a_dataset():
    X, y = _imbalanced()
    tr, te = train_test_split(ArrayDataset(X, y), test_size=0.25, seed=1)
    assert len(tr) == 150 and labels_of(te).mean() == pytest.approx(0.2)
    assert DataLoader(te, batch_size=50).dataset is te


def test_kfold_and_stratified_kfold_partition():
    X, y = _imbalanced(100)
    for splitter in (KFold(5, seed=0), StratifiedKFold(5, seed=0)):
        vals = [va for _, va in splitter.split(X, y)]
        assert len(vals) == 5 and sorted(np.concatenate(vals).tolist()) == list(range(100))
    for tr, va in StratifiedKFold(5, seed=0).split(X, y):
        assert y[va].mean() == pytest.approx(0.2) and len(np.intersect1d(tr, va)) == 0
    ds = ArrayDataset(X, y)
    (tr_ds, va_ds), *_ = list(StratifiedKFold(4, seed=0).split_dataset(ds))
    assert len(tr_ds) == 75 and len(va_ds) == 25
    with pytest.raises(ValueError, match="n_splits >= 2"):
        KFold(1)


class NearestCentroid:
    """A duck-typed model: fit(train, validation=None, **kw) / evaluate(ds) -> dict."""

    built = 0

    def __init__(self):
        NearestCentroid.built += 1
        self.centroids = None

    def fit(self, train, validation=None, shrink=0.0):
        assert validation is None
        X, y = train.get_batch(np.arange(len(train)))
        self.centroids = np.stack([X[y == c].mean(0) for c in range(3)]) * (1 - shrink)
        return self

    def evaluate(self, ds):
        X, y = ds.get_batch(np.arange(len(ds)))
        pred = np.argmin(((X[:, None] - self.centroids[None]) ** 2).sum(-1), axis=1)
        return {"accuracy": float((pred == y).mean()), "n": len(y)}


def test_cross_validate_iris_with_fake_model():
    d = datasets.load("iris", normalize=False)
    X = np.concatenate([d.x_train, d.x_test])
    y = np.concatenate([d.y_train, d.y_test])
    NearestCentroid.built = 0
    res = cross_validate(NearestCentroid, (X, y), k=5, seed=0, fit_kwargs={"shrink": 0.0})
    assert NearestCentroid.built == 5 and len(res["folds"]) == 5
    assert all(f["n"] == 30 for f in res["folds"])  # stratified: 150 / 5 in every fold
    accs = [f["accuracy"] for f in res["folds"]]
    assert res["mean"]["accuracy"] == pytest.approx(np.mean(accs))
    assert res["std"]["accuracy"] == pytest.approx(np.std(accs))
    assert 0.85 < res["mean"]["accuracy"] <= 1.0
    again = cross_validate(NearestCentroid, ArrayDataset(X, y), k=5, seed=0)
    assert again["folds"] == res["folds"]


def test_cross_validate_rejects_non_dict_metrics():
    class Bad(NearestCentroid):
        def evaluate(self, ds):
            return 0.9

    X, y = np.random.default_rng(0).random((30, 2)), np.arange(30) % 3
    with pytest.raises(TypeError, match="dict of metric"):
        cross_validate(Bad, (X, y), k=3)

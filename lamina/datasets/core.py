"""``load(name)``: a bundled dataset split into train and test arrays, with its metadata."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import backend as B
from ..data.dataset import ArrayDataset
from ..data.split import train_test_split
from ..data.transforms import Standardize
from ..errors import check
from .sources import SPECS, raw, require

__all__ = ["DatasetSplit", "load", "list_datasets", "make_windows"]

np = B.np


@dataclass(eq=False, repr=False)
class DatasetSplit:
    """A dataset split into train and test parts (NumPy arrays) plus what describes it.

    Attributes:
        x_train, y_train, x_test, y_test: features in the default float dtype; labels int64
            (classification) or float32 (regression, forecasting).
        name (str), task (str): 'classification', 'regression' or 'forecasting'.
        n_classes (int or None), feature_names (list or None), class_names (list or None).
        input_shape (tuple): shape of one sample, ``x_train.shape[1:]``.
        description (str): one line about the data and its source.
        scaler: the fitted :class:`~lamina.data.Standardize` used on the features (fitted on
            the training part only), or None; ``scaler.inverse_transform`` undoes it.
        series, time, split_index: forecasting only: the whole (normalized) series, its time
            stamps, and the index where the test part starts.
    """

    x_train: object
    y_train: object
    x_test: object
    y_test: object
    name: str
    task: str
    n_classes: int | None
    feature_names: list | None
    class_names: list | None
    input_shape: tuple
    description: str
    scaler: object = None
    series: object = None
    time: object = None
    split_index: int | None = None
    extras: dict = field(default_factory=dict)

    def train_dataset(self, transform=None) -> ArrayDataset:
        """The training part as an :class:`~lamina.data.ArrayDataset`."""
        return ArrayDataset(self.x_train, self.y_train, transform=transform)

    def test_dataset(self, transform=None) -> ArrayDataset:
        """The test part as an :class:`~lamina.data.ArrayDataset`."""
        return ArrayDataset(self.x_test, self.y_test, transform=transform)

    def __repr__(self) -> str:
        return (f"DatasetSplit({self.name!r}, task={self.task!r}, x_train={self.x_train.shape}, "
                f"x_test={self.x_test.shape}, n_classes={self.n_classes})")


def make_windows(series, window: int, horizon: int = 1):
    """Supervised pairs from a time series: ``window`` past values -> the next ``horizon`` ones.

    Args:
        series: array of shape (T,) or (T, F).
        window (int): input length, >= 1.
        horizon (int): number of future steps to predict, >= 1. Default 1.

    Returns:
        ``(X, y)`` copies, in time order (no shuffling): ``X[i] = series[i:i+window]`` and
        ``y[i] = series[i+window:i+window+horizon]``.

    Shape:
        X: (T - window - horizon + 1, window[, F]); y: (N,) [or (N, F)] when ``horizon == 1``,
        else (N, horizon[, F]).

    Example:
        >>> X, y = make_windows(np.arange(6.0), window=3)
        >>> X[0], y[0]
        (array([0., 1., 2.]), 3.0)
    """
    s = np.asarray(series)
    check(s.ndim in (1, 2), "make_windows", "a series of shape (T,) or (T, F)", f"{s.shape}")
    check(window >= 1 and horizon >= 1, "make_windows", "window >= 1 and horizon >= 1",
          f"window={window}, horizon={horizon}")
    check(len(s) >= window + horizon, "make_windows",
          f"a series of at least window + horizon = {window + horizon} steps", f"{len(s)}")
    v = np.lib.stride_tricks.sliding_window_view(s, window + horizon, axis=0)
    if s.ndim == 2:
        v = v.transpose(0, 2, 1)  # (N, window + horizon, F)
    X, y = np.ascontiguousarray(v[:, :window]), np.ascontiguousarray(v[:, window:])
    return X, (y[:, 0] if horizon == 1 else y)


def _split_classification(name, d, test_size, seed):
    X = np.asarray(d["X"])
    y = np.asarray(d["y"])
    stratify = SPECS[name]["task"] == "classification"
    return train_test_split(X, y, test_size=test_size, stratify=stratify, seed=seed)


def _load_forecasting(name, d, test_size, normalize, flatten, window, horizon):
    s = np.array(d["series"], dtype=B.get_default_dtype())
    window = SPECS[name]["window"] if window is None else int(window)
    n_test = max(horizon, int(round(len(s) * test_size)))
    n_train = len(s) - n_test
    check(n_train >= window + horizon, f"load({name!r})", "a training part of at least "
          f"window + horizon = {window + horizon} steps", f"{n_train} (test_size={test_size})")
    scaler = None
    if normalize:  # statistics of the training part only
        scaler = Standardize().fit(s[:n_train, None])
        s = scaler(s[:, None])[:, 0]
    x_tr, y_tr = make_windows(s[:n_train], window, horizon)
    x_te, y_te = make_windows(s[n_train - window:], window, horizon)  # targets start at n_train
    if flatten is False:  # (N, T, 1): the layout of recurrent layers
        x_tr, x_te = x_tr[..., None], x_te[..., None]
    return x_tr, y_tr, x_te, y_te, scaler, s, n_train, window


def load(name: str, test_size=0.2, seed=0, flatten=None, normalize=True, window=None,
         horizon=1) -> DatasetSplit:
    """Load a dataset that ships inside a Python package (nothing is downloaded).

    Classification data is split with stratification (same class proportions in both parts);
    forecasting data is split chronologically (the last ``test_size`` of the series is the test
    part, never shuffled). See :func:`list_datasets` for the names.

    Args:
        name (str): 'digits', 'iris', 'wine', 'breast_cancer', 'diabetes', 'mnist5k', 'mnist1d',
            'sunspots', 'co2' or 'nile'.
        test_size (float): fraction of samples (or of the series) in the test part. Default 0.2.
        seed (int): seed of the train/test split. Default 0.
        flatten (bool or None): None keeps each dataset's natural sample shape (images
            (1, H, W), mnist1d (40,), windows (window,)); True flattens images to vectors;
            False adds a channel/feature axis to 1-D samples (mnist1d (1, 40), windows
            (window, 1)).
        normalize (bool): images scaled to 0..1; tabular features and series standardized with
            statistics of the training part only (``result.scaler``). Default True.
        window (int): forecasting input length; default per dataset (sunspots 11, co2 52,
            nile 10).
        horizon (int): forecasting steps to predict. Default 1.

    Returns:
        DatasetSplit.

    Example:
        >>> d = load("digits", flatten=True)
        >>> d.x_train.shape, d.y_train.dtype, d.n_classes
        ((1437, 64), dtype('int64'), 10)
    """
    if name not in SPECS:
        raise ValueError(f"lamina.datasets.load: expected one of {sorted(SPECS)}, got {name!r}")
    check(0 < test_size < 1, f"load({name!r})", "0 < test_size < 1", repr(test_size))
    spec = SPECS[name]
    require(name)  # a clear ImportError even when an earlier call cached the data
    if spec.get("loader") == "hmda":  # its own documented preprocessing (lamina/datasets/hmda.py)
        from .hmda import load_hmda
        return load_hmda(test_size=test_size, seed=seed, normalize=normalize)
    d = raw(name)
    scaler, series, time, split_index, feature_names = None, None, None, None, None
    if spec["task"] == "forecasting":
        x_tr, y_tr, x_te, y_te, scaler, series, split_index, window = _load_forecasting(
            name, d, test_size, normalize, flatten, window, horizon)
        time = np.array(d["time"])
        feature_names = [f"t-{window - i}" for i in range(window)]
    else:
        x_tr, x_te, y_tr, y_te = _split_classification(name, d, test_size, seed)
        x_tr, x_te = x_tr.astype(B.get_default_dtype()), x_te.astype(B.get_default_dtype())
        feature_names = d["feature_names"]
        image = len(spec["shape"]) == 3
        if image:
            if normalize:
                scale = 16.0 if name == "digits" else 255.0
                x_tr, x_te = x_tr / scale, x_te / scale
            shape = (int(np.prod(spec["shape"])),) if flatten else spec["shape"]
            x_tr, x_te = x_tr.reshape(-1, *shape), x_te.reshape(-1, *shape)
        elif name == "mnist1d":  # already standardized by its generator
            if flatten is False:
                x_tr, x_te = x_tr[:, None], x_te[:, None]
        elif normalize:
            scaler = Standardize().fit(x_tr)
            x_tr, x_te = scaler(x_tr), scaler(x_te)
    return DatasetSplit(
        x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te, name=name, task=spec["task"],
        n_classes=spec["n_classes"], feature_names=None if feature_names is None
        else list(feature_names), class_names=None if d.get("class_names") is None
        else list(d["class_names"]), input_shape=tuple(x_tr.shape[1:]),
        description=spec["description"], scaler=scaler, series=series, time=time,
        split_index=split_index)


def list_datasets() -> list:
    """Describe every bundled dataset (exposed as ``lamina.datasets.list()``).

    Returns:
        list of dict with ``name``, ``task``, ``n_samples``, ``shape`` (one sample, as loaded
        with defaults; forecasting: the default window), ``n_classes``, ``source`` (the package),
        ``pip`` (what to install) and ``description``.
    """
    return [dict(name=n, task=s["task"], n_samples=s["n_samples"], shape=s["shape"],
                 n_classes=s["n_classes"], source=s["source"][0].split(".")[0],
                 pip=s["source"][1], description=s["description"]) for n, s in SPECS.items()]

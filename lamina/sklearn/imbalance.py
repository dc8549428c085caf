"""Imbalanced data beside the losses (seed Q40): class-balanced batches and threshold tuning.

Resampling (SMOTE, ADASYN, random under-sampling) is imbalanced-learn's: put its samplers in an
``imblearn.pipeline.Pipeline`` before a lamina estimator (``pip install 'lamina[imbalanced]'``).
"""

from __future__ import annotations

from .. import backend as B
from ..data.sampler import draw_seed
from ..errors import check, op_error

__all__ = ["BalancedBatchSampler", "tune_threshold"]

np = B.np


class BalancedBatchSampler:
    """Batches with the same number of samples from every class (minority classes are drawn
    with replacement), ``ceil(n / batch_size)`` batches per epoch.

    Pass it as ``DataLoader(dataset, batch_sampler=...)``; ``NeuralNetClassifier(
    sampling="balanced")`` does. Reproducible: epoch ``e`` draws from ``(seed, e)``.

    Args:
        labels: class index per sample ``(n,)``.
        batch_size (int): samples per batch (rounded down to a multiple of the class count,
            at least one per class).
        seed (int, optional): base seed; None draws one from ``lamina.backend.rng()``.

    Example:
        >>> loader = DataLoader(ds, batch_sampler=BalancedBatchSampler(y, 64))
    """

    def __init__(self, labels, batch_size: int, seed=None):
        labels = np.asarray(getattr(labels, "array", labels)).reshape(-1)
        check(isinstance(batch_size, (int, np.integer)) and batch_size >= 1,
              "BalancedBatchSampler", "an integer batch_size >= 1", repr(batch_size))
        check(labels.size > 0, "BalancedBatchSampler", "at least one label", "none")
        _, inv = np.unique(labels, return_inverse=True)
        order = np.argsort(inv, kind="stable")
        self._groups = np.split(order, np.cumsum(np.bincount(inv))[:-1])
        self.per_class = max(int(batch_size) // len(self._groups), 1)
        self.n = labels.size
        self.batch_size = int(batch_size)
        self.seed = draw_seed() if seed is None else int(seed)
        self.epoch = 0

    def __len__(self) -> int:
        return -(-self.n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration draw epoch ``epoch``."""
        self.epoch = int(epoch)

    def sample(self):
        """``(batches, per_class * n_classes)`` indices of one epoch (advances the epoch)."""
        g = np.random.default_rng([self.seed, self.epoch])
        self.epoch += 1
        nb = len(self)
        cols = [grp[g.integers(0, len(grp), size=(nb, self.per_class))] for grp in self._groups]
        idx = np.concatenate(cols, axis=1)
        return g.permuted(idx, axis=1).astype(np.int64)

    def __iter__(self):
        return iter(self.sample())

    def state_dict(self) -> dict:
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        self.seed, self.epoch = int(state["seed"]), int(state["epoch"])


def tune_threshold(y_true, proba, metric="f1", cost_matrix=None, grid=None):
    """The decision threshold on ``P(positive)`` that is best on validation data.

    Args:
        y_true: ``(n,)`` 0/1 labels (1 = positive).
        proba: ``(n,)`` probabilities of the positive class (or ``(n, 2)``).
        metric (str or callable): ``"f1"`` (default), ``"balanced_accuracy"``, ``"mcc"`` or
            ``f(y_true, y_pred) -> float`` to maximize; ignored when ``cost_matrix`` is given.
        cost_matrix: 2x2 costs ``C[true, predicted]`` to minimize (e.g. ``[[0, 1], [10, 0]]``:
            a missed positive costs 10 false alarms). Default None.
        grid: candidate thresholds; default the distinct probabilities (and 0.5).

    Returns:
        tuple ``(threshold, score)``: the best threshold and its metric (or mean cost).

    Example:
        >>> t, f1 = tune_threshold(y_val, clf.predict_proba(X_val)[:, 1])
        >>> clf.set_params(threshold=t)
    """
    from ..metrics import f1_score
    from ..metrics.imbalanced import balanced_accuracy, matthews_corrcoef
    y = np.asarray(y_true).reshape(-1).astype(np.int64)
    p = np.asarray(proba, dtype=np.float64)
    p = p[:, 1] if p.ndim == 2 else p.reshape(-1)
    check(len(p) == len(y) and len(y) > 0, "tune_threshold", "y_true and proba of one length",
          f"{len(y)} and {len(p)}")
    cand = np.unique(np.concatenate([p, [0.5]])) if grid is None else np.asarray(grid, float)
    pred = (p[None, :] >= cand[:, None]).astype(np.int64)  # (thresholds, n)
    if cost_matrix is not None:
        c = np.asarray(cost_matrix, dtype=np.float64)
        check(c.shape == (2, 2), "tune_threshold", "a 2x2 cost_matrix", str(c.shape))
        cost = c[y[None, :], pred].mean(axis=1)
        best = int(np.argmin(cost))
        return float(cand[best]), float(cost[best])
    if metric == "f1":
        tp = (pred * y).sum(1)
        fp = (pred * (1 - y)).sum(1)
        fn = ((1 - pred) * y).sum(1)
        score = np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
    else:
        fn_ = {"balanced_accuracy": balanced_accuracy, "mcc": matthews_corrcoef,
               "f1_binary": f1_score}.get(metric, metric)
        if not callable(fn_):
            raise op_error("tune_threshold", "metric 'f1', 'balanced_accuracy', 'mcc' or a "
                           "callable", repr(metric))
        score = np.array([fn_(y, row) for row in pred])
    best = int(np.argmax(score))
    return float(cand[best]), float(score[best])

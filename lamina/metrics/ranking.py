"""Threshold-free metrics on scores: ROC AUC and average precision (area under the PR curve).

Binary problems take one score per sample; multiclass problems take ``(N, C)`` probabilities
and average one-vs-rest values over classes, as scikit-learn does.
"""

from __future__ import annotations

from .. import backend as B
from ..errors import check
from ._util import pair, to_labels

np = B.np

__all__ = ["roc_auc", "average_precision", "pr_auc", "rankdata"]


def rankdata(a):
    """1-based ranks of ``a`` with ties given their average rank (``scipy.stats.rankdata``)."""
    a = np.asarray(a).reshape(-1)
    n = a.size
    order = np.argsort(a, kind="mergesort")
    s = a[order]
    new = np.r_[True, s[1:] != s[:-1]] if n else np.zeros(0, bool)
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], n]
    avg = (starts + ends - 1) / 2.0 + 1.0
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = avg[np.cumsum(new) - 1]
    return ranks


def _binary_auc(pos, score) -> float:
    n_pos = int(pos.sum())
    n_neg = pos.size - n_pos
    check(n_pos > 0 and n_neg > 0, "roc_auc", "both classes present in y_true",
          f"{n_pos} positive and {n_neg} negative samples", "ROC AUC is undefined",
          cls=ValueError)
    r = rankdata(score)
    # Mann-Whitney U: the probability that a random positive outranks a random negative.
    return float((r[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _binary_ap(pos, score) -> float:
    order = np.argsort(-score, kind="mergesort")
    s, y = score[order], pos[order].astype(np.float64)
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]   # last index of each distinct score
    tps = np.cumsum(y)[last]
    fps = last + 1 - tps
    if tps[-1] == 0:
        return 0.0
    prec = tps / (tps + fps)
    rec = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, rec]) * prec))


def _scores(op, y_true, y_score, pos_label):
    """Yield ``(positive_mask, score, support)`` per one-vs-rest problem."""
    t, s = pair(op, y_true, y_score)
    t = to_labels(t)
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if s.ndim == 2 and s.shape[1] == 2:
        s = s[:, 1]
    if s.ndim == 1:
        labs = np.unique(t)
        check(len(labs) <= 2, op, "2 classes in y_true for 1-D scores",
              f"{len(labs)} classes", "pass (N, C) probabilities", cls=ValueError)
        pl = pos_label if (pos_label in labs or len(labs) < 2) else labs.max()
        return [(t == pl, s.astype(np.float64), 1.0)]
    check(s.ndim == 2, op, "scores of shape (N,) or (N, C)", f"shape {s.shape}")
    return [(t == c, s[:, c].astype(np.float64), float(np.sum(t == c)))
            for c in range(s.shape[1])]


def _average(vals, weights, average):
    check(average in ("macro", "weighted", None), "average",
          "'macro', 'weighted' or None", repr(average), cls=ValueError)
    v = np.asarray(vals)
    if average is None:
        return v if v.size > 1 else float(v[0])
    if average == "weighted":
        w = np.asarray(weights)
        return float(np.sum(v * w) / w.sum())
    return float(v.mean())


def roc_auc(y_true, y_score, average: str | None = "macro", pos_label=1):
    """Area under the ROC curve.

    Binary: ``y_score`` is the positive class's score ``(N,)`` (or ``(N, 2)`` probabilities).
    Multiclass: ``y_score`` is ``(N, C)`` and the one-vs-rest AUCs are averaged (scikit-learn's
    ``multi_class="ovr"``). Ties in scores count one half, as under the trapezoidal curve.

    Args:
        y_true: labels ``(N,)``; multiclass labels are ``0 .. C-1``.
        y_score: scores or probabilities, ``(N,)`` or ``(N, C)``.
        average (str or None): ``"macro"`` (default), ``"weighted"`` (by class support) or None
            (per-class array) for multiclass.
        pos_label: the positive class of a binary problem. Default 1 (else the larger label).

    Returns:
        float in [0, 1] (array when ``average`` is None and multiclass).

    Raises:
        ValueError: a class has no positive or no negative sample.
    """
    parts = _scores("roc_auc", y_true, y_score, pos_label)
    return _average([_binary_auc(p, s) for p, s, _ in parts], [w for *_, w in parts], average)


def average_precision(y_true, y_score, average: str | None = "macro", pos_label=1):
    """Average precision: ``sum_n (R_n - R_{n-1}) P_n`` over decreasing score thresholds, the
    step-wise (non-interpolated) area under the precision-recall curve.

    Args:
        y_true: labels ``(N,)``.
        y_score: scores ``(N,)`` (binary) or ``(N, C)`` (one-vs-rest per class, averaged).
        average (str or None): ``"macro"`` (default), ``"weighted"`` or None, for multiclass.
        pos_label: the positive class of a binary problem. Default 1 (else the larger label).

    Returns:
        float in [0, 1]; 0 when there is no positive sample.
    """
    parts = _scores("average_precision", y_true, y_score, pos_label)
    return _average([_binary_ap(p, s) for p, s, _ in parts], [w for *_, w in parts], average)


def pr_auc(y_true, y_score, average: str | None = "macro", pos_label=1):
    """Area under the precision-recall curve, computed as :func:`average_precision` (the
    step-wise estimate; trapezoids over PR points are optimistic)."""
    return average_precision(y_true, y_score, average=average, pos_label=pos_label)


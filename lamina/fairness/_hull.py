"""ROC-style trade-off curves of one group, their upper convex hull and its interpolation.

The pieces of :class:`~lamina.fairness.ThresholdOptimizer`, written after fairlearn 0.15's
``postprocessing/_tradeoff_curve_utilities.py`` so that the same scores give the same numbers:
every threshold between two distinct scores is a point ``(x, y)`` (e.g. false-positive rate,
true-positive rate); the upper convex hull of those points is what a *randomized* choice between
two thresholds can reach; the hull is read off at a grid of ``x`` as a mixture ``p0`` of one
threshold rule and ``p1 = 1 - p0`` of the next.
"""

from __future__ import annotations

from .. import backend as B

__all__ = ["RATES", "tradeoff_points", "upper_hull", "interpolate_hull"]

np = B.np


def _sel(tp, fp, tn, fn):
    return (tp + fp) / (tp + fp + tn + fn)


RATES = {  # (tp, fp, tn, fn) -> rate, fairlearn's METRIC_DICT
    "selection_rate": _sel,
    "false_positive_rate": lambda tp, fp, tn, fn: fp / (fp + tn),
    "false_negative_rate": lambda tp, fp, tn, fn: fn / (tp + fn),
    "true_positive_rate": lambda tp, fp, tn, fn: tp / (tp + fn),
    "true_negative_rate": lambda tp, fp, tn, fn: tn / (fp + tn),
    "accuracy_score": lambda tp, fp, tn, fn: (tp + tn) / (tp + fp + tn + fn),
    "balanced_accuracy_score": lambda tp, fp, tn, fn: 0.5 * tp / (tp + fn) + 0.5 * tn / (fp + tn),
}


def tradeoff_points(scores, labels, x_metric: str, y_metric: str, flip: bool = False):
    """All threshold rules of one group and their ``(x, y)`` rates, sorted by ``(x, y)``.

    Args:
        scores: float64 ``(n,)``.
        labels: ``(n,)`` in {0, 1} with both classes present.
        x_metric: a key of :data:`RATES`.
        y_metric: a key of :data:`RATES`.
        flip: also the rules ``score < threshold``. Default False.

    Returns:
        tuple ``(x, y, op, thr)``: arrays ``(m,)``; ``op`` is +1 for ``score > thr`` and -1 for
        ``score < thr``; thresholds are midpoints between distinct scores, ``+inf`` first and
        ``-inf`` last.
    """
    order = np.argsort(-scores, kind="stable")
    s, t = scores[order], labels[order].astype(np.int64)
    n_pos = float(t.sum())
    n_neg = len(t) - n_pos
    distinct, start = np.unique(-s, return_index=True)  # descending score values
    ends = np.r_[0, start[1:], len(s)]  # a threshold below each distinct score takes all ties
    pos = np.r_[0.0, np.cumsum(t)][ends]
    neg = ends - pos
    desc = -distinct
    thr = np.r_[np.inf, (desc + np.r_[desc[1:], -np.inf]) / 2]
    cols = [(pos, neg, n_neg - neg, n_pos - pos, np.ones_like(thr))]
    if flip:
        cols.append((n_pos - pos, n_neg - neg, neg, pos, -np.ones_like(thr)))
    # fairlearn appends the '>' and '<' rule of a threshold one after the other
    tp, fp, tn, fn, op = (np.stack([c[i] for c in cols], 1).reshape(-1) for i in range(5))
    thr = np.repeat(thr, len(cols))
    x, y = RATES[x_metric](tp, fp, tn, fn), RATES[y_metric](tp, fp, tn, fn)
    order = np.lexsort((y, x))  # stable, as fairlearn's sort by ["x", "y"]
    return x[order], y[order], op[order], thr[order]


def upper_hull(x, y):
    """Indices of the upper convex hull of points sorted by ``(x, y)`` (Andrew's monotone
    chain; of equal points the last one stays, as in fairlearn)."""
    keep = []
    for k in range(len(x)):
        while len(keep) >= 2:
            i, j = keep[-2], keep[-1]
            if (y[j] - y[i]) * (x[k] - x[i]) <= (y[k] - y[i]) * (x[j] - x[i]):
                keep.pop()
            else:
                break
        keep.append(k)
    return np.array(keep, dtype=np.int64)


def interpolate_hull(hx, hy, grid):
    """The hull read at ``grid``: for each grid value the two hull points around it.

    Args:
        hx: hull x ``(h,)``, increasing from 0 to 1.
        hy: hull y ``(h,)``.
        grid: ``(G,)`` in [0, 1].

    Returns:
        tuple ``(y, p0, i0)``: interpolated y ``(G,)``, the weight ``p0`` of hull point ``i0``
        and ``1 - p0`` of ``i0 + 1``.
    """
    idx = np.searchsorted(hx, grid, side="right") - 1
    idx[1:] = np.where(grid[1:] == hx[idx[1:]], idx[1:] - 1, idx[1:])
    idx = np.minimum(idx, len(hx) - 2)
    p0 = (hx[idx + 1] - grid) / (hx[idx + 1] - hx[idx])
    return p0 * hy[idx] + (1 - p0) * hy[idx + 1], p0, idx

"""Post-processing: group-specific thresholds (Hardt, Price & Srebro 2016), and the trade-off.

:class:`ThresholdOptimizer` keeps the model and picks one score threshold per group on the
data it is fitted on, maximising accuracy subject to the constraint:

* ``"demographic_parity"``: every group selects the same fraction ``r``; ``r`` is searched on
  a grid (each group's threshold is its top-``r`` cut), which meets the constraint exactly up
  to one sample per group;
* ``"equalized_odds"``: each group's operating point ``(FPR, TPR)`` is matched to the largest
  group's within ``tolerance`` (all cut points of every group are tried at once as a matrix).

Unlike fairlearn's ThresholdOptimizer the thresholds are deterministic (no randomisation
between two cuts), so equalized odds holds within ``tolerance`` rather than exactly; the
decision stays an ordinary per-group threshold that can be audited.
"""

from __future__ import annotations

from .. import backend as B
from ..errors import check
from ..metrics._util import as_array
from .metrics import group_codes

__all__ = ["ThresholdOptimizer", "tradeoff_curve"]

np = B.np
_CONSTRAINTS = ("demographic_parity", "equalized_odds")


def _scores(estimator, X):
    if estimator is None:
        return as_array(X).astype(np.float64).reshape(-1)
    from ..autograd.grad_mode import no_grad
    from ..autograd.tensor import Tensor
    with no_grad():
        out = estimator(Tensor(as_array(X)))
    z = as_array(out).astype(np.float64)
    if z.ndim == 2 and z.shape[1] == 2:
        z = z[:, 1] - z[:, 0]
    return 1.0 / (1.0 + np.exp(-z.reshape(-1)))


def _curves(s, t):
    """One group: scores sorted descending, and cumulative positives/negatives of top-k."""
    order = np.argsort(-s, kind="stable")
    ss, tt = s[order], t[order]
    pos = np.concatenate([[0], np.cumsum(tt)])
    neg = np.concatenate([[0], np.cumsum(1 - tt)])
    return ss, pos, neg


def _cut(ss, k):
    """Threshold selecting the top ``k`` of descending scores ``ss`` (select score > cut)."""
    if k <= 0:
        return np.inf
    if k >= len(ss):
        return -np.inf
    return (ss[k - 1] + ss[k]) / 2


class ThresholdOptimizer:
    """Group-specific decision thresholds meeting a fairness constraint.

    Args:
        estimator (optional): a lamina Module (logits ``(N, 2)`` or ``(N,)``) or callable;
            None means ``fit``/``predict`` receive positive-class scores directly.
        constraints (str): ``"demographic_parity"`` (default) or ``"equalized_odds"``.
        tolerance (float): largest allowed TPR/FPR gap to the reference group for equalized
            odds (on the fitting data). Default 0.02.
        grid_size (int): selection rates tried for demographic parity. Default 1001.

    Attributes:
        thresholds_ (dict): group -> score threshold (predict 1 where score > threshold).

    Example:
        >>> to = ThresholdOptimizer(model, constraints="equalized_odds")
        >>> to.fit(x_val, y_val, sensitive_features=a_val)
        >>> pred = to.predict(x_test, sensitive_features=a_test)
    """

    def __init__(self, estimator=None, constraints: str = "demographic_parity",
                 tolerance: float = 0.02, grid_size: int = 1001):
        check(constraints in _CONSTRAINTS, "ThresholdOptimizer", f"constraints in "
              f"{_CONSTRAINTS}", repr(constraints), cls=ValueError)
        self.estimator, self.constraints = estimator, constraints
        self.tolerance, self.grid_size = float(tolerance), int(grid_size)
        self.thresholds_ = None

    def fit(self, X, y, *, sensitive_features):
        """Choose the thresholds on ``(X, y)`` (or scores and labels).

        Args:
            X: inputs of ``estimator`` (or scores ``(N,)``). y: labels ``(N,)`` in {0, 1}.
            sensitive_features: group per sample.

        Returns:
            self.
        """
        s = _scores(self.estimator, X)
        t = as_array(y).reshape(-1).astype(np.float64)
        check(len(t) == len(s), "ThresholdOptimizer.fit", "y with one label per sample",
              f"{len(t)} labels for {len(s)} samples")
        codes, labels, _ = group_codes(sensitive_features, len(s), "ThresholdOptimizer.fit")
        curves = [_curves(s[codes == g], t[codes == g]) for g in range(len(labels))]
        ks = (self._fit_dp if self.constraints == "demographic_parity" else self._fit_eo)(
            curves)
        self.thresholds_ = {lab: _cut(c[0], k) for lab, c, k in zip(labels, curves, ks)}
        return self

    def _fit_dp(self, curves):
        r = np.linspace(0, 1, self.grid_size)
        correct = np.zeros_like(r)
        for ss, pos, neg in curves:
            k = np.rint(r * len(ss)).astype(np.int64)
            correct += pos[k] + (neg[-1] - neg[k])
        best = r[int(np.argmax(correct))]
        return [int(np.rint(best * len(c[0]))) for c in curves]

    def _fit_eo(self, curves):
        ref = int(np.argmax([len(c[0]) for c in curves]))
        rates = [(pos / max(pos[-1], 1), neg / max(neg[-1], 1)) for _, pos, neg in curves]
        tr, fr = rates[ref]
        kr = np.arange(len(tr))
        choice = {ref: kr}
        gap = np.zeros(len(kr))
        for g, (tg, fg) in enumerate(rates):
            if g == ref:
                continue
            d = np.maximum(np.abs(tg[None] - tr[:, None]), np.abs(fg[None] - fr[:, None]))
            choice[g] = d.argmin(1)
            gap = np.maximum(gap, d.min(1))
        correct = np.zeros(len(kr))
        for g, (_, pos, neg) in enumerate(curves):
            k = choice[g]
            correct += pos[k] + (neg[-1] - neg[k])
        ok = gap <= max(self.tolerance, gap.min())
        i = int(np.flatnonzero(ok)[np.argmax(correct[ok])])
        return [int(choice[g][i]) for g in range(len(curves))]

    def predict(self, X, *, sensitive_features):
        """Labels ``(N,)`` int64: 1 where the score exceeds its group's threshold.

        Raises:
            KeyError: a group that was not present in ``fit``.
        """
        check(self.thresholds_ is not None, "ThresholdOptimizer.predict", "a fitted optimizer",
              "predict before fit", cls=ValueError)
        s = _scores(self.estimator, X)
        codes, labels, _ = group_codes(sensitive_features, len(s), "ThresholdOptimizer.predict")
        unknown = [g for g in labels if g not in self.thresholds_]
        if unknown:
            raise KeyError(f"ThresholdOptimizer.predict: expected groups seen in fit "
                           f"{list(self.thresholds_)}, got {unknown}")
        cut = np.array([self.thresholds_[g] for g in labels])[codes]
        return (s > cut).astype(np.int64)


def tradeoff_curve(y_score, y_true, sensitive_features, strengths=None,
                   constraints: str = "demographic_parity"):
    """Accuracy against fairness as group thresholds move from 0.5 (strength 0) to the
    :class:`ThresholdOptimizer`'s (strength 1), linearly in score space.

    Args:
        y_score: positive-class probabilities ``(N,)``. y_true: labels ``(N,)``.
        sensitive_features: group per sample.
        strengths (sequence, optional): mitigation strengths in [0, 1]; default 11 steps.
        constraints (str): passed to ThresholdOptimizer. Default ``"demographic_parity"``.

    Returns:
        list of dict: ``strength``, ``accuracy``, ``demographic_parity_difference``,
        ``equalized_odds_difference``.
    """
    from .metrics import demographic_parity_difference, equalized_odds_difference
    s = as_array(y_score).astype(np.float64).reshape(-1)
    t = as_array(y_true).reshape(-1)
    strengths = np.linspace(0, 1, 11) if strengths is None else strengths
    fair = ThresholdOptimizer(constraints=constraints).fit(s, t,
                                                           sensitive_features=sensitive_features)
    codes, labels, _ = group_codes(sensitive_features, len(s), "tradeoff_curve")
    cuts = np.array([np.clip(fair.thresholds_[g], 0.0, 1.0) for g in labels])
    rows = []
    for lam in strengths:
        pred = (s > ((1 - lam) * 0.5 + lam * cuts)[codes]).astype(np.int64)
        rows.append({"strength": float(lam), "accuracy": float((pred == t).mean()),
                     "demographic_parity_difference": demographic_parity_difference(
                         t, pred, sensitive_features=sensitive_features),
                     "equalized_odds_difference": equalized_odds_difference(
                         t, pred, sensitive_features=sensitive_features)})
    return rows

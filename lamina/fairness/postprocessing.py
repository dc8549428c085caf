"""Post-processing: group-specific randomized thresholds (Hardt, Price & Srebro 2016).

:class:`ThresholdOptimizer` keeps the model and chooses, per group, a mixture of two score
thresholds on the data it is fitted on, maximising accuracy subject to the constraint; its
semantics and numbers are fairlearn 0.15's ``ThresholdOptimizer`` (tested to 1e-12 on the same
scores):

* ``"demographic_parity"``: each group's (selection rate, accuracy) curve over all thresholds is
  replaced by its upper convex hull (what a coin flip between two thresholds reaches); the
  common selection rate on a grid of ``grid_size + 1`` values that maximises the groups'
  size-weighted accuracy is picked, and each group mixes the two thresholds around it;
* ``"equalized_odds"``: the groups' ROC convex hulls are intersected (the lowest TPR at each
  FPR of the grid); the best point ``(FPR, TPR)`` of the overlap is picked; a group whose hull
  lies above it mixes its two thresholds and, with probability ``p_ignore``, a constant
  prediction (the ROC diagonal), which lowers its TPR onto the common point.

Predictions are therefore randomized: :meth:`ThresholdOptimizer.predict_proba` gives the
exact probability of a positive decision, :meth:`ThresholdOptimizer.predict` draws it.
Equalized odds then holds *in expectation* on the fitting data, exactly up to the grid.
"""

from __future__ import annotations

from .. import backend as B
from ..errors import check
from ..metrics._util import as_array
from ._hull import RATES, interpolate_hull, tradeoff_points, upper_hull
from .metrics import group_codes

__all__ = ["ThresholdOptimizer", "tradeoff_curve"]

np = B.np
_CONSTRAINTS = ("demographic_parity", "equalized_odds")
_METHODS = ("auto", "predict_proba", "decision_function")


def _scores(estimator, X, predict_method="auto"):
    if estimator is None:
        return as_array(X).astype(np.float64).reshape(-1)
    from ..autograd.grad_mode import no_grad
    from ..autograd.tensor import Tensor
    with no_grad():
        out = estimator(Tensor(as_array(X)))
    z = as_array(out).astype(np.float64)
    if z.ndim == 2 and z.shape[1] == 2:
        z = z[:, 1] - z[:, 0]
    z = z.reshape(-1)
    return z if predict_method == "decision_function" else 1.0 / (1.0 + np.exp(-z))


class ThresholdOptimizer:
    """Group-specific randomized decision thresholds meeting a fairness constraint.

    Args:
        estimator (optional): a lamina Module (logits ``(N, 2)`` or ``(N,)``) or callable;
            None means ``fit``/``predict`` receive scores ``(N,)`` directly.
        constraints (str): ``"demographic_parity"`` (default) or ``"equalized_odds"``.
        objective (str): ``"accuracy_score"`` (default) or ``"balanced_accuracy_score"``.
        grid_size (int): the common rate is searched on ``grid_size + 1`` points of [0, 1].
            Default 1000 (fairlearn's).
        flip (bool): also allow rules ``score < threshold``. Default False.
        predict_method (str): scores of ``estimator``: ``"auto"``/``"predict_proba"`` (the
            positive-class probability, default) or ``"decision_function"`` (the logit
            margin). Thresholds compare the same scores, so both give the same decisions.

    Attributes:
        interpolation_ (dict): group -> dict ``p0``, ``op0``, ``threshold0``, ``p1``, ``op1``,
            ``threshold1``, ``p_ignore``, ``prediction_constant`` (``op`` +1: ``score >
            threshold``, -1: ``score < threshold``).
        x_best_ (float): the common selection rate (DP) or false-positive rate (EO).

    Example:
        >>> to = ThresholdOptimizer(model, constraints="equalized_odds")
        >>> to.fit(x_val, y_val, sensitive_features=a_val)
        >>> pred = to.predict(x_test, sensitive_features=a_test, random_state=0)
    """

    def __init__(self, estimator=None, constraints: str = "demographic_parity",
                 objective: str = "accuracy_score", grid_size: int = 1000, flip: bool = False,
                 predict_method: str = "auto"):
        check(constraints in _CONSTRAINTS, "ThresholdOptimizer", f"constraints in "
              f"{_CONSTRAINTS}", repr(constraints), cls=ValueError)
        check(objective in ("accuracy_score", "balanced_accuracy_score"), "ThresholdOptimizer",
              "objective 'accuracy_score' or 'balanced_accuracy_score'", repr(objective),
              cls=ValueError)
        check(predict_method in _METHODS, "ThresholdOptimizer", f"predict_method in {_METHODS}",
              repr(predict_method), cls=ValueError)
        check(int(grid_size) >= 1, "ThresholdOptimizer", "grid_size >= 1", repr(grid_size),
              cls=ValueError)
        self.estimator, self.constraints, self.objective = estimator, constraints, objective
        self.grid_size, self.flip, self.predict_method = int(grid_size), bool(flip), predict_method
        self.interpolation_ = None

    def fit(self, X, y, *, sensitive_features):
        """Choose each group's threshold mixture on ``(X, y)`` (or scores and labels).

        Args:
            X: inputs of ``estimator`` (or scores ``(N,)``).
            y: labels ``(N,)`` in {0, 1}; every group needs both labels.
            sensitive_features: group per sample.

        Returns:
            self.
        """
        s = self._scores_of(X)
        t = as_array(y).reshape(-1).astype(np.int64)
        check(len(t) == len(s), "ThresholdOptimizer.fit", "y with one label per sample",
              f"{len(t)} labels for {len(s)} samples")
        check(bool(np.isin(t, (0, 1)).all()), "ThresholdOptimizer.fit", "labels in {0, 1}",
              f"values {np.unique(t)[:5].tolist()}", cls=ValueError)
        codes, labels, _ = group_codes(sensitive_features, len(s), "ThresholdOptimizer.fit")
        eo = self.constraints == "equalized_odds"
        xm, ym = (("false_positive_rate", "true_positive_rate") if eo
                  else ("selection_rate", self.objective))
        grid = np.linspace(0, 1, self.grid_size + 1)
        curves = []
        for g, lab in enumerate(labels):
            tg = t[codes == g]
            check(0 < tg.sum() < len(tg), "ThresholdOptimizer.fit", f"both labels in group "
                  f"{lab!r}", f"{int(tg.sum())} positives of {len(tg)}", cls=ValueError)
            x, yv, op, thr = tradeoff_points(s[codes == g], tg, xm, ym, self.flip)
            h = upper_hull(x, yv)
            yi, p0, i0 = interpolate_hull(x[h], yv[h], grid)
            curves.append(dict(x=x[h], y=yi, p0=p0, i0=i0, op=op[h], thr=thr[h]))
        if eo:
            y_min = np.min([c["y"] for c in curves], 0)
            n_pos = float(t.sum())
            n_neg = len(t) - n_pos
            obj = RATES[self.objective](n_pos * y_min, n_neg * grid, n_neg * (1 - grid),
                                        n_pos * (1 - y_min))
            best = int(np.argmax(np.around(obj, 15)))
        else:
            share = np.bincount(codes, minlength=len(labels)) / len(codes)
            best = int(np.argmax(sum(w * c["y"] for w, c in zip(share, curves))))
        self.x_best_ = float(grid[best])
        self.interpolation_ = {}
        for lab, c in zip(labels, curves):
            i, p0 = int(c["i0"][best]), float(c["p0"][best])
            rule = dict(p0=p0, op0=int(c["op"][i]), threshold0=float(c["thr"][i]), p1=1.0 - p0,
                        op1=int(c["op"][i + 1]), threshold1=float(c["thr"][i + 1]),
                        p_ignore=0.0, prediction_constant=self.x_best_)
            if eo and c["y"][best] != grid[best]:  # mix in the diagonal down to the common TPR
                rule["p_ignore"] = float((c["y"][best] - y_min[best])
                                         / (c["y"][best] - grid[best]))
            self.interpolation_[lab] = rule
        return self

    def _scores_of(self, X):
        """The float64 scores ``(N,)`` the thresholds compare (see ``predict_method``)."""
        return _scores(self.estimator, X, self.predict_method)

    def predict_proba(self, X, *, sensitive_features):
        """Probability of each decision, fairlearn's ``_pmf_predict``.

        Args:
            X: inputs of ``estimator`` (or scores ``(N,)``).
            sensitive_features: group per sample (groups seen in ``fit``).

        Returns:
            float64 array ``(N, 2)``: P(decision 0), P(decision 1).

        Raises:
            KeyError: a group that was not present in ``fit``.
        """
        check(self.interpolation_ is not None, "ThresholdOptimizer.predict", "a fitted "
              "optimizer", "predict before fit", cls=ValueError)
        s = self._scores_of(X)
        codes, labels, _ = group_codes(sensitive_features, len(s), "ThresholdOptimizer.predict")
        unknown = [g for g in labels if g not in self.interpolation_]
        if unknown:
            raise KeyError(f"ThresholdOptimizer.predict: expected groups seen in fit "
                           f"{list(self.interpolation_)}, got {unknown}")
        p = np.zeros(len(s))
        for g, lab in enumerate(labels):
            r, m = self.interpolation_[lab], codes == g
            sg = s[m]
            mix = sum(r[f"p{k}"] * (sg * r[f"op{k}"] > r[f"threshold{k}"] * r[f"op{k}"])
                      for k in (0, 1))
            p[m] = r["p_ignore"] * r["prediction_constant"] + (1 - r["p_ignore"]) * mix
        return np.stack([1.0 - p, p], 1)

    def predict(self, X, *, sensitive_features, random_state=None):
        """Randomized labels ``(N,)`` int64: 1 with the probability of :meth:`predict_proba`.

        Args:
            X: inputs of ``estimator`` (or scores ``(N,)``).
            sensitive_features: group per sample (groups seen in ``fit``).
            random_state (int, optional): seed of a private generator; default None draws
                from ``lamina.backend.rng()`` (seeded by ``lamina.manual_seed``).

        Returns:
            int64 array ``(N,)``.
        """
        p = self.predict_proba(X, sensitive_features=sensitive_features)[:, 1]
        gen = B.rng() if random_state is None else np.random.default_rng(random_state)
        return (p >= gen.random(len(p))).astype(np.int64)


def tradeoff_curve(y_score, y_true, sensitive_features, strengths=None,
                   constraints: str = "demographic_parity"):
    """Accuracy against fairness as decisions move from the plain 0.5 threshold (strength 0)
    to the :class:`ThresholdOptimizer`'s randomized rule (strength 1).

    At strength ``lam`` a sample is accepted with probability ``(1 - lam) [score > 0.5] +
    lam * p_fair``; the figures are the *expected* accuracy and gaps of that rule (each sample
    counted once as accepted with weight ``p`` and once as rejected with ``1 - p``). Groups
    without both labels cannot be post-processed: then only strength 0 is returned.

    Args:
        y_score: positive-class probabilities ``(N,)``.
        y_true: labels ``(N,)``.
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
    codes, _, _ = group_codes(sensitive_features, len(s), "tradeoff_curve")
    try:
        fair = ThresholdOptimizer(constraints=constraints).fit(s, t, sensitive_features=codes)
        p_fair = fair.predict_proba(s, sensitive_features=codes)[:, 1]
    except ValueError:  # a group with one label only
        strengths, p_fair = [0.0], None
    plain = (s > 0.5).astype(np.float64)
    tt, gg = np.r_[t, t], np.r_[codes, codes]
    both = np.r_[np.ones(len(s), np.int64), np.zeros(len(s), np.int64)]
    rows = []
    for lam in strengths:
        p = plain if p_fair is None else (1 - lam) * plain + lam * p_fair
        w = np.r_[p, 1 - p]
        rows.append({"strength": float(lam),
                     "accuracy": float(np.mean(np.where(t == 1, p, 1 - p))),
                     "demographic_parity_difference": demographic_parity_difference(
                         tt, both, sensitive_features=gg, sample_weight=w),
                     "equalized_odds_difference": equalized_odds_difference(
                         tt, both, sensitive_features=gg, sample_weight=w)})
    return rows

"""Group fairness metrics: a ``MetricFrame`` analogue and fairlearn's summaries, same names.

:func:`group_metrics` splits the samples by the values of one or more sensitive columns
(several columns give intersectional groups, labelled by tuples) and evaluates every metric on
each group and on everything. The summaries (:func:`demographic_parity_difference`,
:func:`equalized_odds_ratio`...) take fairlearn 0.15's arguments and return its numbers: rates
of a group with an empty denominator are 0 (as scikit-learn's normalised confusion matrix, which
fairlearn uses), and a ratio whose largest rate is 0 is NaN.
"""

from __future__ import annotations

import inspect

from .. import backend as B
from ..errors import check
from ..metrics._util import as_array

__all__ = ["GroupMetrics", "group_metrics", "selection_rate", "true_positive_rate",
           "false_positive_rate", "true_negative_rate", "false_negative_rate",
           "positive_predictive_value", "count", "demographic_parity_difference",
           "demographic_parity_ratio", "equalized_odds_difference", "equalized_odds_ratio",
           "equal_opportunity_difference", "equal_opportunity_ratio",
           "predictive_parity_difference", "auc_by_group", "group_codes"]

np = B.np
_METHODS = ("between_groups", "to_overall")


# ---------------------------------------------------------------- per-sample rate metrics
def _weights(n, sample_weight):
    if sample_weight is None:
        return np.ones(n)
    return as_array(sample_weight).astype(np.float64).reshape(-1)


def _rate(num_mask, den_mask, w) -> float:
    den = float(np.dot(den_mask, w))
    return float(np.dot(num_mask & den_mask, w)) / den if den > 0 else 0.0


def selection_rate(y_true, y_pred, *, pos_label=1, sample_weight=None) -> float:
    """Fraction of samples predicted ``pos_label`` (weighted): ``P[h(X) = 1]``.

    Args:
        y_true: ignored (kept for a uniform metric signature).
        y_pred: predicted labels ``(N,)``.
        pos_label: the positive label. Default 1.
        sample_weight: ``(N,)`` weights. Default None (all 1).

    Returns:
        float.
    """
    p = as_array(y_pred).reshape(-1) == pos_label
    check(p.size > 0, "selection_rate", "at least one prediction", "none")
    w = _weights(p.size, sample_weight)
    return float(np.dot(p, w) / w.sum())


def true_positive_rate(y_true, y_pred, *, pos_label=1, sample_weight=None) -> float:
    """``P[h(X) = 1 | Y = 1]`` (recall); 0 when there is no positive sample. Args as
    :func:`selection_rate`."""
    t, p = as_array(y_true).reshape(-1) == pos_label, as_array(y_pred).reshape(-1) == pos_label
    return _rate(p, t, _weights(t.size, sample_weight))


def false_positive_rate(y_true, y_pred, *, pos_label=1, sample_weight=None) -> float:
    """``P[h(X) = 1 | Y = 0]``; 0 when there is no negative sample."""
    t, p = as_array(y_true).reshape(-1) == pos_label, as_array(y_pred).reshape(-1) == pos_label
    return _rate(p, ~t, _weights(t.size, sample_weight))


def true_negative_rate(y_true, y_pred, *, pos_label=1, sample_weight=None) -> float:
    """``P[h(X) = 0 | Y = 0]``; 0 when there is no negative sample."""
    t, p = as_array(y_true).reshape(-1) == pos_label, as_array(y_pred).reshape(-1) == pos_label
    return _rate(~p, ~t, _weights(t.size, sample_weight))


def false_negative_rate(y_true, y_pred, *, pos_label=1, sample_weight=None) -> float:
    """``P[h(X) = 0 | Y = 1]``; 0 when there is no positive sample."""
    t, p = as_array(y_true).reshape(-1) == pos_label, as_array(y_pred).reshape(-1) == pos_label
    return _rate(~p, t, _weights(t.size, sample_weight))


def positive_predictive_value(y_true, y_pred, *, pos_label=1, sample_weight=None) -> float:
    """``P[Y = 1 | h(X) = 1]`` (precision, the rate predictive parity equalises); 0 when
    nothing is predicted positive."""
    t, p = as_array(y_true).reshape(-1) == pos_label, as_array(y_pred).reshape(-1) == pos_label
    return _rate(t, p, _weights(t.size, sample_weight))


def count(y_true, y_pred, *, sample_weight=None) -> float:
    """Number of samples (sum of weights when given)."""
    return float(_weights(as_array(y_true).reshape(-1).size, sample_weight).sum())


# ---------------------------------------------------------------- groups
def _columns(sensitive_features):
    """Sensitive features as (names, list of 1-D host arrays)."""
    sf = sensitive_features
    if isinstance(sf, dict):
        return list(sf), [as_array(v).reshape(-1) for v in sf.values()]
    if hasattr(sf, "columns") and hasattr(sf, "to_numpy"):  # a pandas DataFrame
        return [str(c) for c in sf.columns], [sf[c].to_numpy() for c in sf.columns]
    if isinstance(sf, (list, tuple)) and sf and all(hasattr(c, "__len__") and
                                                    not isinstance(c, str) for c in sf):
        return [f"sf{i}" for i in range(len(sf))], [as_array(c).reshape(-1) for c in sf]
    a = as_array(sf) if not isinstance(sf, (list, tuple)) else np.asarray(sf)
    if a.ndim == 2:
        return [f"sf{i}" for i in range(a.shape[1])], [a[:, i] for i in range(a.shape[1])]
    return [getattr(sf, "name", None) or "sensitive_feature_0"], [a.reshape(-1)]


def group_codes(sensitive_features, n=None, op="group_metrics"):
    """Integer group code per sample and the sorted group labels.

    Args:
        sensitive_features: ``(N,)`` values (numbers or strings), ``(N, k)`` array, a list of
            ``k`` columns, a dict name -> column or a DataFrame; ``k > 1`` columns form
            intersectional groups labelled by tuples.
        n (int, optional): the expected number of samples (checked).
        op (str): name used in error messages.

    Returns:
        ``(codes, labels, names)``: codes ``(N,)`` int64 into ``labels`` (sorted, only the
        groups present), and the column names.
    """
    names, cols = _columns(sensitive_features)
    for name, c in zip(names, cols):
        check(n is None or len(c) == n, op, f"sensitive feature {name!r} with {n} values (one "
              "per sample)", f"{len(c)}")
    uniq, inv = zip(*(np.unique(c, return_inverse=True) for c in cols))
    if len(cols) == 1:
        return inv[0].astype(np.int64), [_py(v) for v in uniq[0]], names
    sizes = [len(u) for u in uniq]
    flat = np.ravel_multi_index([i.reshape(-1) for i in inv], sizes)
    present, codes = np.unique(flat, return_inverse=True)
    idx = np.unravel_index(present, sizes)
    labels = [tuple(_py(uniq[j][idx[j][g]]) for j in range(len(cols)))
              for g in range(len(present))]
    return codes.astype(np.int64), labels, names


def _py(v):
    return v.item() if hasattr(v, "item") else v


def _call(fn, t, p, w):
    if w is None:
        return float(fn(t, p))
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        params = {"sample_weight": None}
    if "sample_weight" not in params and not any(v.kind == v.VAR_KEYWORD
                                                 for v in params.values()):
        raise TypeError(f"group_metrics: metric {getattr(fn, '__name__', fn)!r} takes no "
                        "sample_weight; drop sample_weight or wrap the metric")
    return float(fn(t, p, sample_weight=w))


class GroupMetrics:
    """Metrics evaluated on every group and overall (fairlearn's ``MetricFrame``).

    Built by :func:`group_metrics`. With one metric (a callable), ``by_group`` maps group ->
    value and ``overall``/``difference()``/``ratio()`` are floats; with a dict of metrics they
    map metric name -> those, so ``frame.by_group["tpr"]["A"]`` reads as in fairlearn.

    Attributes:
        by_group (dict): group -> value (or metric name -> that).
        overall (float or dict): the metric on all samples.
        group_sizes (dict): group -> sample count.
        sensitive_levels (list): the sensitive column names.
        groups (list): the group labels.
    """

    def __init__(self, table, overall, sizes, names, single):
        self._table, self._overall, self._single = table, overall, single
        self.group_sizes, self.sensitive_levels = sizes, names
        self.groups = list(sizes)

    def _shape(self, per_metric: dict):
        return next(iter(per_metric.values())) if self._single else per_metric

    @property
    def by_group(self):
        return self._shape(self._table)

    @property
    def overall(self):
        return self._shape(self._overall)

    def group_min(self):
        """Smallest group value of each metric."""
        return self._shape({m: min(v.values()) for m, v in self._table.items()})

    def group_max(self):
        """Largest group value of each metric."""
        return self._shape({m: max(v.values()) for m, v in self._table.items()})

    def difference(self, method: str = "between_groups"):
        """``max - min`` over groups (``"between_groups"``, default) or the largest
        ``|group - overall|`` (``"to_overall"``)."""
        check(method in _METHODS, "GroupMetrics.difference", f"method in {_METHODS}",
              repr(method), cls=ValueError)
        out = {}
        for m, v in self._table.items():
            vals = np.array(list(v.values()), dtype=np.float64)
            ref = np.nanmin(vals) if method == "between_groups" else self._overall[m]
            out[m] = float(np.nanmax(np.abs(vals - ref)))  # pandas skips NaN, as fairlearn
        return self._shape(out)

    def ratio(self, method: str = "between_groups"):
        """``min / max`` over groups (``"between_groups"``, default; NaN when max is 0) or the
        smallest of ``group/overall`` folded below 1 (``"to_overall"``)."""
        check(method in _METHODS, "GroupMetrics.ratio", f"method in {_METHODS}", repr(method),
              cls=ValueError)
        out = {}
        for m, v in self._table.items():
            vals = np.array(list(v.values()), dtype=np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                if method == "between_groups":
                    lo, hi = np.nanmin(vals), np.nanmax(vals)
                    out[m] = float(lo / hi) if hi != 0 else float("nan")
                else:
                    r = vals / self._overall[m]
                    r = np.where(r > 1, 1.0 / r, r)
                    out[m] = float(np.nanmin(r)) if not np.isnan(r).all() else float("nan")
        return self._shape(out)

    def to_rows(self) -> list:
        """Table rows: ``[group, n, metric values...]`` with an ``overall`` row last."""
        rows = [[str(g), self.group_sizes[g]] + [self._table[m][g] for m in self._table]
                for g in self.groups]
        rows.append(["overall", sum(self.group_sizes.values())]
                    + [self._overall[m] for m in self._table])
        return rows

    def to_markdown(self, digits: int = 3) -> str:
        """The table as Markdown (groups, sizes, metrics, then difference and ratio rows)."""
        names = list(self._table)
        head = "| group | n | " + " | ".join(names) + " |"
        lines = [head, "|" + "---|" * (len(names) + 2)]
        for r in self.to_rows():
            lines.append(f"| {r[0]} | {r[1]:g} | " + " | ".join(f"{v:.{digits}f}" for v in r[2:])
                         + " |")
        diff, rat = self.difference(), self.ratio()
        diff = diff if isinstance(diff, dict) else {names[0]: diff}
        rat = rat if isinstance(rat, dict) else {names[0]: rat}
        lines.append("| difference | | " + " | ".join(f"{diff[m]:.{digits}f}" for m in names)
                     + " |")
        lines.append("| ratio | | " + " | ".join(f"{rat[m]:.{digits}f}" for m in names) + " |")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"GroupMetrics(metrics={list(self._table)}, groups={self.groups})"


def group_metrics(y_true, y_pred, *, sensitive_features, metrics=None,
                  sample_weight=None) -> GroupMetrics:
    """Evaluate metrics on each group of ``sensitive_features`` and overall.

    Args:
        y_true: labels ``(N,)`` (or anything a metric takes as its first argument).
        y_pred: predictions ``(N,)`` (labels, or scores for AUC-like metrics).
        sensitive_features: one column ``(N,)`` (numbers or strings) or several (``(N, k)``
            array, list of columns, dict, DataFrame) for intersectional groups.
        metrics (callable or dict): ``f(y_true, y_pred[, sample_weight=])`` or a dict
            name -> such a function. Default None: selection rate, TPR, FPR, PPV, accuracy.
        sample_weight: ``(N,)`` weights, passed to every metric. Default None.

    Returns:
        GroupMetrics: ``by_group``, ``overall``, ``difference()``, ``ratio()``,
        ``group_sizes``.

    Raises:
        ShapeError: lengths of ``y_true``, ``y_pred``, the sensitive columns or the weights
            differ.

    Example:
        >>> gm = group_metrics(y, pred, sensitive_features=race,
        ...                    metrics={"sel": selection_rate, "tpr": true_positive_rate})
        >>> gm.by_group["sel"], gm.difference()["sel"]
    """
    t, p = as_array(y_true), as_array(y_pred)
    n = len(t)
    check(len(p) == n, "group_metrics", "y_true and y_pred with the same number of samples",
          f"y_true {len(t)} and y_pred {len(p)}")
    w = None if sample_weight is None else _weights(n, sample_weight)
    check(w is None or len(w) == n, "group_metrics", f"sample_weight with {n} values",
          f"{0 if w is None else len(w)}")
    if metrics is None:
        from ..metrics import accuracy
        metrics = {"selection_rate": selection_rate, "tpr": true_positive_rate,
                   "fpr": false_positive_rate, "ppv": positive_predictive_value,
                   "accuracy": _weighted_accuracy if w is not None else accuracy}
    single = callable(metrics)
    fns = {getattr(metrics, "__name__", "metric"): metrics} if single else dict(metrics)
    codes, labels, names = group_codes(sensitive_features, n)
    table = {m: {} for m in fns}
    sizes = {}
    for g, label in enumerate(labels):
        idx = np.flatnonzero(codes == g)
        sizes[label] = int(idx.size)
        for m, fn in fns.items():
            table[m][label] = _call(fn, t[idx], p[idx], None if w is None else w[idx])
    overall = {m: _call(fn, t, p, w) for m, fn in fns.items()}
    return GroupMetrics(table, overall, sizes, names, single)


def _weighted_accuracy(y_true, y_pred, sample_weight=None) -> float:
    w = _weights(len(y_true), sample_weight)
    return float(np.dot(as_array(y_true) == as_array(y_pred), w) / w.sum())


# ---------------------------------------------------------------- fairlearn's summaries
def _frame(fn, y_true, y_pred, sensitive_features, sample_weight):
    return group_metrics(y_true, y_pred, sensitive_features=sensitive_features, metrics=fn,
                         sample_weight=sample_weight)


def demographic_parity_difference(y_true, y_pred, *, sensitive_features,
                                  method="between_groups", sample_weight=None) -> float:
    """Largest gap in selection rate ``P[h(X)=1 | A=a]`` between groups (fairlearn's
    definition; 0 is parity).

    Args:
        y_true: labels ``(N,)`` (unused by the rate, checked for length).
        y_pred: predicted labels ``(N,)``.
        sensitive_features: group column(s), as :func:`group_metrics`.
        method (str): ``"between_groups"`` (default, max - min) or ``"to_overall"``.
        sample_weight: ``(N,)`` weights. Default None.

    Returns:
        float.
    """
    return _frame(selection_rate, y_true, y_pred, sensitive_features,
                  sample_weight).difference(method)


def demographic_parity_ratio(y_true, y_pred, *, sensitive_features, method="between_groups",
                             sample_weight=None) -> float:
    """Smallest over largest group selection rate (1 is parity). Args as
    :func:`demographic_parity_difference`."""
    return _frame(selection_rate, y_true, y_pred, sensitive_features,
                  sample_weight).ratio(method)


def _eo(y_true, y_pred, sensitive_features, sample_weight):
    return _frame({"tpr": true_positive_rate, "fpr": false_positive_rate}, y_true, y_pred,
                  sensitive_features, sample_weight)


def _agg(agg, op):
    check(agg in ("worst_case", "mean"), op, "agg 'worst_case' or 'mean'", repr(agg),
          cls=ValueError)


def equalized_odds_difference(y_true, y_pred, *, sensitive_features, method="between_groups",
                              sample_weight=None, agg="worst_case") -> float:
    """The larger (``agg="worst_case"``, default) or the mean (``"mean"``) of the TPR and FPR
    differences between groups. Other args as :func:`demographic_parity_difference`."""
    _agg(agg, "equalized_odds_difference")
    d = _eo(y_true, y_pred, sensitive_features, sample_weight).difference(method)
    return max(d.values()) if agg == "worst_case" else (d["tpr"] + d["fpr"]) / 2


def equalized_odds_ratio(y_true, y_pred, *, sensitive_features, method="between_groups",
                         sample_weight=None, agg="worst_case") -> float:
    """The smaller (``agg="worst_case"``) or the mean of the TPR and FPR ratios."""
    _agg(agg, "equalized_odds_ratio")
    r = _eo(y_true, y_pred, sensitive_features, sample_weight).ratio(method)
    if agg == "mean":
        return (r["tpr"] + r["fpr"]) / 2
    vals = [v for v in r.values() if v == v]
    return min(vals) if len(vals) == 2 else float("nan")


def equal_opportunity_difference(y_true, y_pred, *, sensitive_features,
                                 method="between_groups", sample_weight=None) -> float:
    """Gap in true positive rate between groups (Hardt et al.'s equal opportunity)."""
    return _frame(true_positive_rate, y_true, y_pred, sensitive_features,
                  sample_weight).difference(method)


def equal_opportunity_ratio(y_true, y_pred, *, sensitive_features, method="between_groups",
                            sample_weight=None) -> float:
    """Smallest over largest group true positive rate."""
    return _frame(true_positive_rate, y_true, y_pred, sensitive_features,
                  sample_weight).ratio(method)


def predictive_parity_difference(y_true, y_pred, *, sensitive_features,
                                 method="between_groups", sample_weight=None) -> float:
    """Gap in positive predictive value ``P[Y=1 | h(X)=1]`` between groups."""
    return _frame(positive_predictive_value, y_true, y_pred, sensitive_features,
                  sample_weight).difference(method)


def auc_by_group(y_true, y_score, *, sensitive_features) -> GroupMetrics:
    """ROC-AUC of scores within each group (NaN for a group holding one class only).

    Args:
        y_true: binary labels ``(N,)``.
        y_score: positive-class scores ``(N,)``.
        sensitive_features: group column(s), as :func:`group_metrics`.

    Returns:
        GroupMetrics with the single metric ``roc_auc``.
    """
    from ..metrics import roc_auc

    def _auc(t, s):
        return float(roc_auc(t, s)) if len(np.unique(t)) == 2 else float("nan")
    _auc.__name__ = "roc_auc"
    return group_metrics(y_true, y_score, sensitive_features=sensitive_features, metrics=_auc)

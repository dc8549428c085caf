"""Group metrics: hand-computed values, edge cases, and fairlearn 0.15 parity to 1e-12."""

import numpy as np
import pytest

from lamina import fairness as fz

Y = np.array([1, 1, 0, 0, 1, 0, 1, 0, 0, 1])
P = np.array([1, 0, 0, 1, 1, 0, 1, 1, 0, 0])
A = np.array(["a", "a", "a", "a", "b", "b", "b", "b", "b", "b"])


def test_hand_computed_rates():
    gm = fz.group_metrics(Y, P, sensitive_features=A, metrics={
        "sel": fz.selection_rate, "tpr": fz.true_positive_rate, "fpr": fz.false_positive_rate})
    # group a: preds 1,0,0,1 -> sel 0.5; positives (1,1) -> tpr 0.5; negatives (0,0) -> fpr .5
    # group b: preds 1,0,1,1,0,0 -> sel 0.5; positives idx 4,6,9 -> 1,1,0 -> 2/3; neg 5,7,8 -> 1/3
    assert gm.by_group["sel"] == {"a": 0.5, "b": 0.5}
    assert gm.by_group["tpr"]["b"] == pytest.approx(2 / 3, abs=1e-15)
    assert gm.by_group["fpr"]["b"] == pytest.approx(1 / 3, abs=1e-15)
    assert gm.group_sizes == {"a": 4, "b": 6}
    assert gm.difference()["tpr"] == pytest.approx(1 / 6, abs=1e-15)
    assert gm.ratio()["fpr"] == pytest.approx((1 / 3) / 0.5, abs=1e-15)
    assert fz.equalized_odds_difference(Y, P, sensitive_features=A) == pytest.approx(1 / 6)
    assert fz.demographic_parity_difference(Y, P, sensitive_features=A) == 0.0
    assert "| a | 4 |" in gm.to_markdown()


def test_edge_cases_and_errors():
    y = np.array([0, 0, 1, 1])
    p = np.array([1, 0, 1, 0])
    g = np.array([0, 0, 1, 1])  # group 0 has no positives: its TPR is 0 (as fairlearn)
    assert fz.true_positive_rate(y[:2], p[:2]) == 0.0
    assert fz.equal_opportunity_difference(y, p, sensitive_features=g) == 0.5
    single = fz.group_metrics(y, p, sensitive_features=np.zeros(4), metrics=fz.selection_rate)
    assert single.difference() == 0.0 and single.ratio() == 1.0
    with pytest.raises(ValueError, match="sensitive feature"):
        fz.demographic_parity_difference(y, p, sensitive_features=g[:3])
    with pytest.raises(ValueError, match="same number of samples"):
        fz.group_metrics(y, p[:3], sensitive_features=g)
    with pytest.raises(ValueError, match="agg"):
        fz.equalized_odds_difference(y, p, sensitive_features=g, agg="max")


def test_intersectional_groups_are_tuples():
    b = np.array([0, 1] * 5)
    gm = fz.group_metrics(Y, P, sensitive_features={"A": A, "B": b}, metrics=fz.selection_rate)
    assert set(gm.by_group) == {("a", 0), ("a", 1), ("b", 0), ("b", 1)}
    assert sum(gm.group_sizes.values()) == 10


def _random_case(seed, n=400, groups=("x", "y", "z")):
    rs = np.random.default_rng(seed)
    y = rs.integers(0, 2, n)
    p = (rs.random(n) < 0.3 + 0.4 * y).astype(int)
    a = rs.choice(groups, n)
    w = rs.random(n) + 0.1
    return y, p, a, w


SUMMARIES = ["demographic_parity_difference", "demographic_parity_ratio",
             "equalized_odds_difference", "equalized_odds_ratio",
             "equal_opportunity_difference", "equal_opportunity_ratio"]


@pytest.mark.parametrize("name", SUMMARIES)
@pytest.mark.parametrize("method", ["between_groups", "to_overall"])
def test_fairlearn_parity(name, method):
    fm = pytest.importorskip("fairlearn.metrics")  # matched against fairlearn 0.15
    for seed, weighted in ((0, False), (1, True)):
        y, p, a, w = _random_case(seed)
        for sw in ((w,) if weighted else (None,)):
            ours = getattr(fz, name)(y, p, sensitive_features=a, method=method, sample_weight=sw)
            ref = getattr(fm, name)(y, p, sensitive_features=a, method=method, sample_weight=sw)
            assert abs(ours - ref) <= 1e-12, (name, method, seed)
    y, p, a, _ = _random_case(7)
    b = (np.arange(len(y)) % 2).astype(str)
    ours = getattr(fz, name)(y, p, sensitive_features={"a": a, "b": b}, method=method)
    ref = getattr(fm, name)(y, p, sensitive_features={"a": a, "b": b}, method=method)
    assert abs(ours - ref) <= 1e-12


def test_metricframe_parity_with_no_positive_group():
    fm = pytest.importorskip("fairlearn.metrics")
    y, p, a, w = _random_case(3)
    y[a == "z"] = 0  # a group without positives
    ours = fz.group_metrics(y, p, sensitive_features=a, sample_weight=w, metrics={
        "tpr": fz.true_positive_rate, "fpr": fz.false_positive_rate, "sel": fz.selection_rate})
    ref = fm.MetricFrame(metrics={"tpr": fm.true_positive_rate, "fpr": fm.false_positive_rate,
                                  "sel": fm.selection_rate}, y_true=y, y_pred=p,
                         sensitive_features=a,
                         sample_params={k: {"sample_weight": w} for k in ("tpr", "fpr", "sel")})
    for m in ("tpr", "fpr", "sel"):
        for g in ("x", "y", "z"):
            assert abs(ours.by_group[m][g] - ref.by_group[m][g]) <= 1e-12
        assert abs(ours.overall[m] - ref.overall[m]) <= 1e-12
        assert abs(ours.difference()[m] - ref.difference()[m]) <= 1e-12
        assert abs(ours.ratio()[m] - ref.ratio()[m]) <= 1e-12 or np.isnan(ref.ratio()[m])
    assert fz.equalized_odds_ratio(y, p, sensitive_features=a) == pytest.approx(
        fm.equalized_odds_ratio(y, p, sensitive_features=a), abs=1e-12, nan_ok=True)

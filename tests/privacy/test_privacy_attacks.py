"""Membership-inference machinery: ROC/AUC against scikit-learn, and attack outputs."""

import numpy as np
import pytest

import lamina
from lamina import nn
from lamina.privacy import membership_inference, roc_curve_scores


def test_roc_auc_matches_sklearn_with_ties():
    sk = pytest.importorskip("sklearn.metrics")
    rs = np.random.default_rng(0)
    m, n = np.round(rs.normal(0.3, 1, 200), 1), np.round(rs.normal(0, 1, 300), 1)
    fpr, tpr, auc = roc_curve_scores(m, n)
    y = np.r_[np.ones(200), np.zeros(300)]
    assert auc == pytest.approx(sk.roc_auc_score(y, np.r_[m, n]), abs=1e-12)
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1
    assert roc_curve_scores(np.array([2.0, 3.0]), np.array([0.0, 1.0]))[2] == 1.0


def test_attack_on_a_memorising_model_and_errors():
    lamina.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4))
    x = np.random.default_rng(0).standard_normal((40, 3)).astype(np.float32)
    y = np.arange(40) % 4
    r = membership_inference(model, (x[:20], y[:20]), (x[20:], y[20:]))
    assert set(r) == {"loss", "lira", "train_loss", "test_loss"}
    assert 0.0 <= r["loss"]["auc"] <= 1.0 and set(r["lira"]["tpr_at_fpr"]) == {0.01, 0.001}
    with pytest.raises(ValueError, match="attacks"):
        membership_inference(model, (x, y), (x, y), attacks=("shadow",))
    with pytest.raises(ValueError, match="one label per example"):
        membership_inference(model, (x, y[:5]), (x, y))

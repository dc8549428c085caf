"""Calibration metrics: hand-checked cases, scikit-learn's Brier score, torchmetrics' ECE/MCE."""

import numpy as np
import pytest

import lamina
from lamina import metrics as M


def _probs(rs, n, c):
    z = rs.standard_normal((n, c)) * 2.0
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_ece_mce_hand_checked():
    p = [[0.9, 0.1], [0.6, 0.4]]
    # confidences 0.9 (right) and 0.6 (wrong): gaps 0.1 and 0.6, half the samples each
    assert M.expected_calibration_error(p, [0, 1], n_bins=10) == pytest.approx(0.35)
    assert M.maximum_calibration_error(p, [0, 1], n_bins=10) == pytest.approx(0.6)
    # perfectly calibrated: every sample at confidence 0.5 and half of them right
    p2 = np.full((4, 2), 0.5)
    assert M.expected_calibration_error(p2, [0, 0, 1, 1]) == pytest.approx(0.0, abs=1e-12)


def test_ece_is_zero_when_calibrated_and_classwise_matches_binary_mean():
    # argmax is class 0 for all rows with confidence 0.75 and 3 of 4 right -> ECE 0
    p = np.array([[0.75, 0.25]] * 4)
    assert M.expected_calibration_error(p, [0, 0, 0, 1]) == pytest.approx(0.0)
    rs = np.random.default_rng(0)
    p = _probs(rs, 200, 3)
    y = rs.integers(0, 3, 200)
    cw = M.expected_calibration_error(p, y, kind="classwise")
    ref = np.mean([M.expected_calibration_error(p[:, k], (y == k).astype(int)) for k in range(3)])
    assert cw == pytest.approx(ref)


def test_quantile_bins_have_equal_counts():
    rs = np.random.default_rng(1)
    p = _probs(rs, 300, 4)
    y = rs.integers(0, 4, 300)
    b = M.calibration_bins(p, y, n_bins=10, strategy="quantile")
    counts = b["count"][b["count"] > 0]
    assert counts.sum() == 300 and counts.max() - counts.min() <= 2
    assert M.expected_calibration_error(p, y, strategy="quantile") > 0


def test_brier_and_nll_definitions():
    assert M.brier_score([0.9, 0.2], [1, 0]) == pytest.approx(0.025)
    assert M.brier_score([[1.0, 0.0], [0.5, 0.5]], [0, 1]) == pytest.approx(0.25)
    assert M.negative_log_likelihood([[0.5, 0.5], [0.25, 0.75]], [0, 1]) == pytest.approx(
        -(np.log(0.5) + np.log(0.75)) / 2)
    assert M.negative_log_likelihood([0.8, 0.3], [1, 0]) == pytest.approx(
        -(np.log(0.8) + np.log(0.7)) / 2)


def test_brier_matches_sklearn_binary():
    sk = pytest.importorskip("sklearn.metrics")
    rs = np.random.default_rng(2)
    p, y = rs.random(500), rs.integers(0, 2, 500)
    assert M.brier_score(p, y) == pytest.approx(sk.brier_score_loss(y, p), abs=1e-12)
    assert M.negative_log_likelihood(p, y) == pytest.approx(sk.log_loss(y, p), abs=1e-9)


def test_errors_name_the_op():
    with pytest.raises(ValueError, match="expected_calibration_error: expected probabilities"):
        M.expected_calibration_error([[3.0, -1.0]], [0])
    with pytest.raises(ValueError, match="same number of samples"):
        M.brier_score([[0.5, 0.5]], [0, 1])
    with pytest.raises(ValueError, match="strategy"):
        M.expected_calibration_error([[0.5, 0.5]], [0], strategy="equal")


def test_registered_for_trainer():
    for name in ("ece", "mce", "nll", "brier"):
        spec = M.get_metric(name)
        assert spec.needs == "proba" and not spec.higher_is_better
    logits = np.array([[2.0, 0.0], [0.0, 1.0]])
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert M.get_metric("nll")([0, 1], logits) == pytest.approx(
        M.negative_log_likelihood(p, [0, 1]))
    lamina.manual_seed(0)
    model = lamina.nn.Linear(4, 3)
    tr = lamina.train.Trainer(model, lamina.optim.SGD(model.parameters(), 0.1), "cross_entropy",
                              metrics=["accuracy", "ece", "nll", "brier"])
    x = np.random.default_rng(0).standard_normal((32, 4)).astype(np.float32)
    res = tr.evaluate((x, np.arange(32) % 3), batch_size=16)
    assert set(res) >= {"ece", "nll", "brier"} and 0 <= res["ece"] <= 1
    assert res["nll"] == pytest.approx(res["loss"], rel=1e-5)


def test_reliability_diagram_writes_png(tmp_path):
    rs = np.random.default_rng(3)
    p = _probs(rs, 100, 3)
    path = tmp_path / "rel.png"
    M.reliability_diagram(p, rs.integers(0, 3, 100), path, title="test")
    assert path.stat().st_size > 1000


@pytest.mark.torch
@pytest.mark.parametrize("norm", ["l1", "max"])
@pytest.mark.parametrize("n_bins", [5, 15])
def test_matches_torchmetrics(norm, n_bins):
    torch = pytest.importorskip("torch")
    tmf = pytest.importorskip("torchmetrics.functional.classification")
    rs = np.random.default_rng(4)
    p = _probs(rs, 400, 5).astype(np.float32)
    p[:3] = np.eye(5, dtype=np.float32)[:3]  # confidences of exactly 1.0 (their own bin)
    y = rs.integers(0, 5, 400)
    ours = (M.expected_calibration_error if norm == "l1" else M.maximum_calibration_error)
    ref = tmf.multiclass_calibration_error(torch.tensor(p), torch.tensor(y), num_classes=5,
                                           n_bins=n_bins, norm=norm).item()
    assert ours(p, y, n_bins=n_bins) == pytest.approx(ref, abs=1e-6)
    pb, yb = rs.random(300).astype(np.float32), rs.integers(0, 2, 300)
    refb = tmf.binary_calibration_error(torch.tensor(pb), torch.tensor(yb), n_bins=n_bins,
                                        norm=norm).item()
    assert ours(pb, yb, n_bins=n_bins) == pytest.approx(refb, abs=1e-6)

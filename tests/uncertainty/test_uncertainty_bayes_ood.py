"""MC dropout, deep ensembles, the entropy decomposition, OOD scores, Gaussian-NLL regression
and risk-coverage."""

import numpy as np
import pytest

import lamina
from lamina import metrics as M
from lamina import nn
from lamina.models import MLP
from lamina.uncertainty import (DeepEnsemble, GaussianHead, energy_score, gaussian_head_loss,
                                gaussian_mixture, gaussian_nll_loss, interval_coverage,
                                max_softmax_score, mc_dropout_predict, ood_metrics, ood_report,
                                predict_gaussian, prediction_interval, risk_coverage_curve,
                                uncertainty_decomposition, variance_scale)


def _digits():
    return lamina.datasets.load("digits", flatten=True)


def test_mc_dropout_seeded_bn_kept_in_eval_and_mi_zero_without_dropout():
    lamina.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(16, 3))
    model.train()
    x = np.random.default_rng(0).standard_normal((20, 8)).astype(np.float32)
    stats = model[1].running_mean.numpy().copy()
    lamina.manual_seed(1)
    a = mc_dropout_predict(model, x, n_samples=8)
    lamina.manual_seed(1)
    b = mc_dropout_predict(model, x, n_samples=8)
    assert a.shape == (8, 20, 3) and np.array_equal(a, b)
    assert np.array_equal(model[1].running_mean.numpy(), stats)  # BatchNorm stayed in eval
    assert model.training and model[3].training  # modes restored
    u = uncertainty_decomposition(a)
    assert (u["mutual_information"] >= 0).all() and u["mutual_information"].max() > 1e-3
    assert np.allclose(u["predictive_entropy"], u["expected_entropy"] + u["mutual_information"])
    model[3].p = 0.0  # dropout off: every pass is the same, nothing epistemic
    assert np.allclose(uncertainty_decomposition(mc_dropout_predict(model, x, 5))[
        "mutual_information"], 0.0, atol=1e-7)


def test_decomposition_hand_checked():
    s = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])  # two confident members that disagree
    u = uncertainty_decomposition(s)
    assert u["expected_entropy"][0] == pytest.approx(0.0)
    assert u["mutual_information"][0] == pytest.approx(np.log(2))


def test_deep_ensemble_beats_its_mean_member_on_digits():
    """Measured: NLL 0.098 vs mean member 0.107, ECE 0.0135 vs 0.0199, accuracy 0.972."""
    d = _digits()
    ens = DeepEnsemble(lambda: MLP(64, (64,), 10), n_members=5, seed=0, lr=1e-2)
    ens.fit((d.x_train, d.y_train), epochs=60, batch_size=128)
    members = ens.predict_member_proba(d.x_test)
    p = members.mean(0)
    score = {k: f(p, d.y_test) for k, f in (("nll", M.negative_log_likelihood),
                                           ("ece", M.expected_calibration_error))}
    mean_member = {k: np.mean([f(m, d.y_test) for m in members]) for k, f in
                   (("nll", M.negative_log_likelihood), ("ece", M.expected_calibration_error))}
    acc = M.accuracy(d.y_test, p)
    assert score["nll"] < mean_member["nll"] and score["ece"] < mean_member["ece"]
    assert acc >= np.mean([M.accuracy(d.y_test, m) for m in members])
    assert acc > 0.95


def test_ood_metrics_and_scores_definitions():
    r = ood_metrics([3, 4, 5, 6], [0, 1, 2, 3.5])
    assert r["auroc"] == pytest.approx(15 / 16) and r["fpr95"] == pytest.approx(0.25)
    z = np.array([[2.0, 0.0], [0.0, 0.0]])
    assert max_softmax_score(z) == pytest.approx([np.exp(2) / (1 + np.exp(2)), 0.5])
    assert energy_score(z) == pytest.approx(np.log(np.exp(z).sum(1)))


def test_ood_on_held_out_digit_classes():
    """Trained on digits 0-4; the OOD set is the test images of 5-9 (sklearn's digits).
    Measured: MSP AUROC 0.916, energy 0.941, ODIN 0.944, Mahalanobis 0.944."""
    d = _digits()
    mi, mo = d.y_train < 5, d.y_test < 5
    lamina.manual_seed(0)
    model = MLP(64, (128,), 5)
    lamina.train.Trainer(model, lamina.optim.Adam(model.parameters(), 1e-3),
                         "cross_entropy").fit((d.x_train[mi], d.y_train[mi]), epochs=20,
                                              batch_size=32, verbose=0)
    r = ood_report(model, d.x_test[mo], d.x_test[~mo], train_data=(d.x_train[mi], d.y_train[mi]))
    assert set(r) == {"msp", "energy", "odin", "mahalanobis"}
    assert r["energy"]["auroc"] > r["msp"]["auroc"] > 0.85
    assert min(v["auroc"] for v in r.values()) > 0.85


@pytest.mark.torch
def test_gaussian_nll_matches_torch():
    torch = pytest.importorskip("torch")
    rs = np.random.default_rng(0)
    mu, y, v = rs.standard_normal((3, 16, 2))
    v = np.abs(v) + 0.1
    for full in (False, True):
        m, t, s = (lamina.tensor(a, requires_grad=True) for a in (mu, y, v))
        ours = gaussian_nll_loss(m, t, s, full=full)
        ours.backward()
        tm, tt, ts = (torch.tensor(a, requires_grad=True) for a in (mu, y, v))
        ref = torch.nn.functional.gaussian_nll_loss(tm, tt, ts, full=full)
        ref.backward()
        assert ours.item() == pytest.approx(ref.item(), rel=1e-10)
        assert np.allclose(m.grad.numpy(), tm.grad.numpy()) and np.allclose(
            s.grad.numpy(), ts.grad.numpy())


def test_gaussian_mixture_and_interval_math():
    mu = np.array([[[0.0]], [[2.0]]])
    var = np.array([[[1.0]], [[1.0]]])
    m, v = gaussian_mixture(mu, var)
    assert m[0, 0] == pytest.approx(1.0) and v[0, 0] == pytest.approx(2.0)  # 1 + spread 1
    lo, hi = prediction_interval(np.zeros(1), np.ones(1), 0.9)
    assert hi[0] == pytest.approx(1.644854, abs=1e-5) and lo[0] == -hi[0]
    assert interval_coverage([0, 1, 5], [-1, -1, -1], [1, 1, 1]) == pytest.approx(2 / 3)


def test_diabetes_gaussian_nll_intervals_cover_90_percent():
    """Measured over seeds 0-3: test coverage 0.888-0.910 after variance_scale (0.81-0.84
    before: the NLL network shrinks its variances on the points it fits)."""
    from lamina.data import train_test_split
    d = lamina.datasets.load("diabetes")
    xtr, xva, ytr, yva = train_test_split(d.x_train, d.y_train, test_size=0.25,
                                          stratify=False, seed=1)
    ym, ys = ytr.mean(), ytr.std()
    lamina.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), GaussianHead(16, 1))
    tr = lamina.train.Trainer(model, lamina.optim.AdamW(model.parameters(), 3e-3,
                                                        weight_decay=1e-2),
                              gaussian_head_loss, metrics=())
    tr.fit((xtr, ((ytr - ym) / ys).astype(np.float32)[:, None]), epochs=20, batch_size=32,
           verbose=0)
    mv, vv = predict_gaussian(model, xva)
    s2 = variance_scale(mv, vv, (yva - ym) / ys)
    mu, var = predict_gaussian(model, d.x_test)
    lo, hi = prediction_interval(mu[:, 0] * ys + ym, var[:, 0] * s2 * ys ** 2, 0.9)
    assert 0.85 <= interval_coverage(d.y_test, lo, hi) <= 0.95


def test_risk_coverage_hand_checked():
    p = np.array([[0.9, 0.1], [0.8, 0.2], [0.4, 0.6], [0.55, 0.45]])
    y = np.array([0, 1, 1, 0])  # ranked by confidence: right, wrong, right, right
    rc = risk_coverage_curve(p, y)
    assert np.allclose(rc["risk"], [0, 0.5, 1 / 3, 0.25])
    assert rc["aurc"] == pytest.approx(np.mean([0, 0.5, 1 / 3, 0.25]))
    assert rc["coverage"][-1] == 1.0


def test_ood_report_of_an_ensemble_includes_disagreement():
    d = _digits()
    mi, mo = d.y_train < 5, d.y_test < 5
    ens = DeepEnsemble(lambda: MLP(64, (32,), 5), n_members=3, seed=0, lr=1e-2)
    ens.fit((d.x_train[mi], d.y_train[mi]), epochs=5, batch_size=64)
    r = ood_report(ens, d.x_test[mo], d.x_test[~mo])
    assert set(r) == {"msp", "energy", "disagreement"}  # ODIN/Mahalanobis need one network
    assert r["disagreement"]["auroc"] > 0.7 and r["energy"]["auroc"] > 0.7
    assert ens(lamina.tensor(d.x_test[:4])).shape == (4, 5)

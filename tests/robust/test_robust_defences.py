"""Defences: the training steps plug into Trainer, transforms keep shape/range, BPDA gives a
gradient where the true derivative is zero, feature squeezing's ROC, and the report's
gradient-masking warnings fire on a masked model and stay quiet on a plain one."""

import numpy as np
import pytest

import lamina
from lamina import nn
from lamina import robust as R
from lamina.optim import Adam
from lamina.train import Trainer


def _data(n=64):
    rs = np.random.default_rng(0)
    x = rs.random((n, 1, 8, 8)).astype(np.float32)
    return x, (x[:, 0, :4].mean((1, 2)) > x[:, 0, 4:].mean((1, 2))).astype(np.int64)


def _mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 2))


@pytest.mark.parametrize("method", ["pgd", "fast", "trades"])
def test_adversarial_training_step_runs_in_trainer(method):
    x, y = _data()
    model = _mlp()
    before = model[1].weight.numpy().copy()
    step = R.adversarial_training(method, eps=0.1, steps=3)
    tr = Trainer(model, Adam(model.parameters(), 1e-2), "cross_entropy", step_fn=step)
    hist = tr.fit((x, y), epochs=2, batch_size=32, verbose=0)
    assert np.isfinite(hist.history["loss"]).all() and "accuracy" in hist.history
    assert not np.allclose(before, model[1].weight.numpy())
    assert model.training  # the attack inside the step left the mode alone
    with pytest.raises(ValueError, match="method"):
        R.adversarial_training("madry")


def test_ibp_and_noise_steps_run_in_trainer():
    x, y = _data()
    for step in (R.ibp_training(R.IBPSchedule(0.05, warmup=1, ramp=2)),
                 R.gaussian_augmentation(0.25)):
        model = _mlp()
        tr = Trainer(model, Adam(model.parameters(), 1e-2), "cross_entropy", step_fn=step)
        assert np.isfinite(tr.fit((x, y), epochs=2, batch_size=16, verbose=0)
                           .history["loss"]).all()


def test_transforms_shape_range_and_bpda():
    rs = np.random.default_rng(0)
    x = rs.random((3, 1, 12, 12)).astype(np.float32)
    for t in (R.BitDepthReduction(2), R.JPEGQuantization(30), R.GaussianNoise(0.2),
              R.RandomResizePad(0.7), R.MedianSmoothing(3)):
        out = t(x)
        assert out.shape == x.shape and out.dtype == np.float32
        assert out.min() >= 0 and out.max() <= 1
    q = R.BitDepthReduction(1)(x)
    assert set(np.unique(q)) <= {0.0, 1.0}
    np.testing.assert_allclose(R.JPEGQuantization(100)(x), x, atol=0.03)
    model = nn.Sequential(nn.Flatten(), nn.Linear(144, 3))
    y = np.zeros(3, dtype=np.int64)
    masked = R.Defended(model, R.BitDepthReduction(3))
    adaptive = R.Defended(model, R.BitDepthReduction(3), bpda=True)
    assert np.abs(R.FGSM(masked, eps=0.1)(x, y) - np.clip(x, 0, 1)).max() == 0  # zero grad
    assert np.abs(R.FGSM(adaptive, eps=0.1)(x, y) - x).max() > 0.05


def test_feature_squeezing_roc_separates_noise_from_clean():
    rs = np.random.default_rng(0)
    x, y = _data(200)
    model = _mlp()
    Trainer(model, Adam(model.parameters(), 1e-2), "cross_entropy").fit(
        (x, y), epochs=5, batch_size=32, verbose=0)
    fs = R.FeatureSqueezing(model).fit(x, fpr=0.1)
    assert abs(fs.detect(x).mean() - 0.1) < 0.03
    fpr, tpr, thr, auc = R.roc_curve(np.array([0.1, 0.2, 0.3]), np.array([0.25, 0.9]))
    assert auc == pytest.approx(5 / 6) and fpr[0] == 0 and tpr[-1] == 1
    assert fs.roc(x, x)[3] == pytest.approx(0.5)
    _ = rs


def test_report_flags_masking_and_not_a_plain_model():
    x, y = _data(96)
    model = _mlp()
    Trainer(model, Adam(model.parameters(), 1e-2), "cross_entropy").fit(
        (x, y), epochs=10, batch_size=32, verbose=0)
    rep = R.robustness_report(model, (x, y), [0.05, 0.2], steps=5, square_queries=30)
    assert rep.warnings == [], rep.warnings
    assert rep.worst[1] <= rep.worst[0] <= rep.clean
    assert "| eps |" in rep.table() and "worst" in rep.rows[0]
    masked = R.Defended(model, R.BitDepthReduction(4))  # zero gradient everywhere
    rep2 = R.robustness_report(masked, (x, y), [0.05, 0.2], steps=5, square_queries=30)
    text = " ".join(rep2.warnings)
    assert "zero" in text and "whole input range" in text
    assert R.robust_accuracy(model, None, (x, y)) == pytest.approx(rep.clean)


def test_distillation_masks_gradients_and_temperature_unmasks_them():
    x, y = _data(128)
    teacher = _mlp()
    Trainer(teacher, Adam(teacher.parameters(), 1e-2), "cross_entropy").fit(
        (x, y), epochs=5, batch_size=32, verbose=0)
    student = R.defensive_distillation(teacher, _mlp(), x, T=50, epochs=5, lr=1e-2)
    assert isinstance(R.TemperatureScaled(student, 50)(lamina.tensor(x)), lamina.Tensor)
    with pytest.raises(ValueError, match="T > 0"):
        R.TemperatureScaled(student, 0)

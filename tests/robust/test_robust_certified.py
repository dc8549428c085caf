"""IBP bounds are sound and tight where they must be; certify never contradicts an attack;
randomized smoothing's certificate matches its closed form."""

import math

import numpy as np
import pytest

import lamina
from lamina import nn
from lamina import robust as R


def _net():
    return nn.Sequential(nn.Conv2d(1, 3, 3, stride=2, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                         nn.AvgPool2d(2), nn.Flatten(), nn.Linear(12, 8), nn.Tanh(),
                         nn.Linear(8, 4)).eval()


def test_interval_bounds_contain_every_sampled_output():
    model = _net()
    model[1]._buffers["running_var"][:] = np.array([0.5, 2.0, 1.0], dtype=np.float32)
    rs = np.random.default_rng(0)
    x = rs.uniform(0.2, 0.8, (3, 1, 8, 8)).astype(np.float32)
    lo, hi = R.interval_bounds(model, x, 0.05)
    assert (lo.numpy() <= hi.numpy()).all()
    for _ in range(20):
        xs = x + rs.uniform(-0.05, 0.05, x.shape).astype(np.float32)
        out = model(lamina.tensor(xs)).numpy()
        assert (out >= lo.numpy() - 1e-5).all() and (out <= hi.numpy() + 1e-5).all()
    lo0, hi0 = R.interval_bounds(model, x, 0.0)  # eps = 0: the bounds are the output
    np.testing.assert_allclose(lo0.numpy(), model(lamina.tensor(x)).numpy(), atol=1e-5)
    np.testing.assert_allclose(hi0.numpy(), lo0.numpy(), atol=1e-5)


def test_elided_margins_are_tighter_and_sound():
    model = _net()
    rs = np.random.default_rng(1)
    x = rs.uniform(0.2, 0.8, (5, 1, 8, 8)).astype(np.float32)
    y = np.arange(5) % 4
    lo, hi = R.interval_bounds(model, x, 0.03)
    naive = hi.numpy() - lo.numpy()[np.arange(5), y][:, None]
    m = R.ibp_margins(model, x, y, 0.03).numpy()
    assert (m <= naive + 1e-5).all()
    np.testing.assert_allclose(m[np.arange(5), y], 0, atol=1e-6)
    adv = R.PGD(model, eps=0.03, alpha=0.01, steps=10)(x, y)
    z = model(lamina.tensor(adv)).numpy()
    assert ((z - z[np.arange(5), y][:, None]) <= m + 1e-5).all()


def test_certify_is_sound_on_a_linear_model():
    # linear 2-class: the exact certified radius is margin / ||w1 - w0||_1 (no clipping)
    lin = nn.Linear(4, 2)
    rs = np.random.default_rng(2)
    x = rs.uniform(0.4, 0.6, (50, 4)).astype(np.float32)
    z = lin(lamina.tensor(x)).numpy()
    y = z.argmax(1)
    wd = np.abs(lin.weight.numpy()[1] - lin.weight.numpy()[0]).sum()
    radius = np.abs(z[:, 1] - z[:, 0]) / wd
    flags = R.certify(lin, x, y, 0.05, clip_min=-10, clip_max=10)
    np.testing.assert_array_equal(flags, radius > 0.05)


def test_ibp_schedule_ramps_eps_and_kappa():
    s = R.IBPSchedule(0.2, warmup=10, ramp=100, kappa_end=0.5)
    assert s(0) == (0.0, 1.0) and s(10) == (0.0, 1.0)
    assert s(60) == pytest.approx((0.1, 0.75))
    assert s(1000) == pytest.approx((0.2, 0.5))
    with pytest.raises(ValueError, match="ibp"):
        R.interval_bounds(nn.Sequential(nn.Linear(2, 2), nn.Softmax(dim=1)), np.zeros((1, 2),
                          dtype=np.float32), 0.1)


class _Const(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.k = k

    def forward(self, x):
        out = np.zeros((x.shape[0], 3), dtype=np.float32)
        out[:, self.k] = 1.0
        return lamina.tensor(out)


def test_smoothing_certificate_closed_form_and_abstain():
    rs_ = R.RandomizedSmoothing(_Const(2), sigma=0.5, batch_size=64)
    x = np.zeros((4, 1, 2, 2), dtype=np.float32)
    pred, radius = rs_.certify(x, n0=10, n=100, alpha=0.001)
    from scipy.stats import norm
    want = 0.5 * norm.ppf(0.001 ** (1 / 100))  # Clopper-Pearson lower bound with nA = n
    np.testing.assert_array_equal(pred, [2, 2, 2, 2])
    np.testing.assert_allclose(radius, want, rtol=1e-9)
    assert math.isclose(R.RandomizedSmoothing.certified_accuracy(pred, radius, [2] * 4,
                                                                 [0.5, 2.0])[0], 1.0)
    # a 50/50 base classifier (sign of one pixel of pure noise) must abstain
    lin = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    lin[1].weight.data[:] = np.array([[1, 0, 0, 0], [-1, 0, 0, 0]], dtype=np.float32)
    lin[1].bias.data[:] = 0
    rs2 = R.RandomizedSmoothing(lin, sigma=1.0, batch_size=256)
    assert (rs2.predict(x, n=200, alpha=0.001) == R.ABSTAIN).mean() >= 0.75

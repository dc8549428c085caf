"""DP-SGD: clipping and noise arithmetic, Poisson sampling, reproducibility, the Trainer."""

import numpy as np
import pytest

import lamina
from lamina import functional as F
from lamina import nn, optim
from lamina.data import ArrayDataset, DataLoader
from lamina.privacy import (DPOptimizer, GradSampleModule, PoissonSampler, PrivacyMeter,
                            dp_step, make_private, per_sample_grads)
from lamina.train import Trainer


def _data(n=16, d=5, seed=0):
    rs = np.random.default_rng(seed)
    return rs.standard_normal((n, d)).astype(np.float32), rs.integers(0, 3, n)


def test_tiny_clip_and_no_noise_step_is_the_mean_of_clipped_grads():
    lamina.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3)).double()
    x, y = _data()
    x = x.astype(np.float64)
    g = per_sample_grads(model, F.cross_entropy, x, y)
    c = 1e-3
    norms = np.sqrt(sum((v.reshape(len(x), -1) ** 2).sum(1) for v in g.values()))
    want = {k: (v * (c / (norms + 1e-6)).reshape(-1, *[1] * (v.ndim - 1))).mean(0)
            for k, v in g.items()}
    before = {k: p.numpy().copy() for k, p in model.named_parameters()}
    gsm = GradSampleModule(model)
    dp = DPOptimizer(optim.SGD(model.parameters(), lr=1.0), noise_multiplier=0.0,
                     max_grad_norm=c)
    dp.zero_grad()
    F.cross_entropy(gsm(lamina.tensor(x)), lamina.tensor(y)).backward()
    dp.step()
    for k, p in model.named_parameters():
        np.testing.assert_allclose(before[k] - p.numpy(), want[k], atol=1e-14, rtol=0)
    np.testing.assert_allclose(dp.last_norms, norms, rtol=1e-10)


def test_noise_has_the_stated_scale_and_empty_batches_are_noise_only():
    lamina.manual_seed(0)
    lin = nn.Linear(200, 50)
    dp = DPOptimizer(optim.SGD(lin.parameters(), lr=1.0), noise_multiplier=2.0,
                     max_grad_norm=0.5, expected_batch_size=10)
    dp.pre_step(batch_size=0)  # no grad_sample: pure noise / expected batch size
    std = float(np.std(lin.weight.grad.numpy()))
    assert std == pytest.approx(2.0 * 0.5 / 10, rel=0.03)
    assert lin.weight.grad.dtype == np.float32


def test_poisson_sampler_rate_and_seed():
    s = PoissonSampler(1000, 0.05, seed=3)
    batches = list(s)
    assert len(batches) == 20 == len(s)
    sizes = np.array([len(b) for b in batches])
    assert abs(sizes.mean() - 50) < 8 and sizes.std() > 0
    s2 = PoissonSampler(1000, 0.05, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(batches, s2))
    assert not all(np.array_equal(a, b) for a, b in zip(list(s), batches))  # next epoch differs


def _dp_run(seed):
    lamina.manual_seed(seed)
    x, y = _data(64)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    loader = DataLoader(ArrayDataset(x, y), batch_size=16)
    model, opt, loader = make_private(model, optim.SGD(model.parameters(), lr=0.2), loader,
                                      noise_multiplier=1.0, max_grad_norm=1.0)
    hist = Trainer(model, opt, F.cross_entropy, step_fn=dp_step).fit(
        loader, epochs=3, verbose=0, callbacks=[PrivacyMeter(delta=1e-5)])
    return [p.numpy().copy() for p in model.parameters()], hist, opt


def test_dp_training_is_reproducible_and_reports_epsilon():
    w1, hist, opt = _dp_run(7)
    w2, _, _ = _dp_run(7)
    w3, _, _ = _dp_run(8)
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2))
    assert not all(np.array_equal(a, b) for a, b in zip(w1, w3))
    eps = hist.history["epsilon"]
    assert len(eps) == 3 and eps[0] < eps[1] < eps[2]
    assert eps[-1] == pytest.approx(opt.accountant.get_epsilon(1e-5))
    assert opt.accountant.history == [(1.0, 0.25, 12)]


def test_make_private_picks_sigma_for_the_target():
    x, y = _data(100)
    model = nn.Sequential(nn.Linear(5, 3))
    loader = DataLoader(ArrayDataset(x, y), batch_size=10)
    _, opt, new = make_private(model, optim.SGD(model.parameters(), lr=0.1), loader,
                               target_epsilon=2.0, target_delta=1e-5, epochs=4)
    assert isinstance(new.batch_sampler, PoissonSampler) and len(new) == 10
    opt.accountant.history = [(opt.noise_multiplier, 0.1, 40)]
    assert 1.98 <= opt.accountant.get_epsilon(1e-5) <= 2.0
    with pytest.raises(ValueError, match="exactly one of"):
        make_private(model, opt, loader)


class _SeqLin(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(4, 5), nn.Linear(5, 3), nn.Linear(3, 3)

    def forward(self, x):  # (N, T, 4): a and b see sequences, c is used twice
        h = self.b(self.a(x).tanh()).mean(1)
        return self.c(self.c(h).tanh())


def test_ghost_clipping_gives_the_same_update():
    x = np.random.default_rng(2).standard_normal((6, 7, 4))
    y = np.arange(6) % 3
    steps = []
    for ghost in (False, True):
        lamina.manual_seed(3)
        model = _SeqLin().double()
        gsm = GradSampleModule(model, ghost=ghost)
        dp = DPOptimizer(optim.SGD(model.parameters(), lr=1.0), noise_multiplier=0.0,
                         max_grad_norm=0.05)
        dp.zero_grad()
        F.cross_entropy(gsm(lamina.tensor(x)), lamina.tensor(y)).backward()
        if ghost:
            assert model.a.weight.grad_sample is None and model.a.weight.ghost_parts
        dp.step()
        steps.append(([p.numpy().copy() for p in model.parameters()], dp.last_norms))
    for a, b in zip(steps[0][0], steps[1][0]):
        np.testing.assert_allclose(a, b, atol=1e-13)
    np.testing.assert_allclose(steps[0][1], steps[1][1], rtol=1e-10)

"""Learning-rate schedules against torch.optim.lr_scheduler, step by step (60+ steps)."""

import math
import warnings

import numpy as np
import pytest

from lamina import optim
from lamina.autograd import Parameter
from lamina.optim import lr_scheduler as ls

STEPS = 60


def make_opts(torch, opt_name="SGD", groups=2, **kw):
    kw = dict(lr=0.1, momentum=0.9) if opt_name == "SGD" and not kw else kw
    lw = [Parameter(np.zeros(2)) for _ in range(groups)]
    tw = [torch.zeros(2, requires_grad=True) for _ in range(groups)]
    lrs = [kw.get("lr", 1e-3) * (i + 1) for i in range(groups)]
    lo = getattr(optim, opt_name)([{"params": [p], "lr": lr} for p, lr in zip(lw, lrs)], **kw)
    to = getattr(torch.optim, opt_name)([{"params": [p], "lr": lr} for p, lr in zip(tw, lrs)],
                                        **kw)
    return lo, to


def build(mod, opt, name):
    """The same schedule built from lamina's or torch's module."""
    if name == "step":
        return mod.StepLR(opt, step_size=7, gamma=0.5)
    if name == "multistep":
        return mod.MultiStepLR(opt, milestones=[5, 20, 20, 41], gamma=0.3)
    if name == "exponential":
        return mod.ExponentialLR(opt, gamma=0.95)
    if name == "cosine":
        return mod.CosineAnnealingLR(opt, T_max=20, eta_min=0.001)
    if name == "warm_restarts":
        return mod.CosineAnnealingWarmRestarts(opt, T_0=5, T_mult=2, eta_min=0.002)
    if name == "warm_restarts1":
        return mod.CosineAnnealingWarmRestarts(opt, T_0=7)
    if name == "linear":
        return mod.LinearLR(opt, start_factor=0.05, end_factor=0.9, total_iters=12)
    if name == "constant":
        return mod.ConstantLR(opt, factor=0.25, total_iters=8)
    if name == "polynomial":
        return mod.PolynomialLR(opt, total_iters=40, power=2.0)
    if name == "lambda":
        return mod.LambdaLR(opt, [lambda e: 1 / (1 + e), lambda e: 0.9 ** e])
    if name == "multiplicative":
        return mod.MultiplicativeLR(opt, lambda e: 0.97)
    if name == "onecycle_cos":
        return mod.OneCycleLR(opt, max_lr=[0.5, 1.0], total_steps=STEPS)
    if name == "onecycle_linear":
        return mod.OneCycleLR(opt, max_lr=0.4, epochs=6, steps_per_epoch=10, pct_start=0.25,
                              anneal_strategy="linear", base_momentum=0.8, max_momentum=0.9)
    if name == "onecycle_3phase":
        return mod.OneCycleLR(opt, max_lr=0.3, total_steps=STEPS, three_phase=True,
                              div_factor=10.0, final_div_factor=100.0)
    if name == "sequential":
        warm = mod.LinearLR(opt, start_factor=0.1, total_iters=5)
        cos = mod.CosineAnnealingLR(opt, T_max=STEPS - 5, eta_min=1e-4)
        return mod.SequentialLR(opt, [warm, cos], milestones=[5])
    if name == "sequential3":
        a = mod.ConstantLR(opt, factor=0.5, total_iters=3)
        b = mod.ExponentialLR(opt, gamma=0.9)
        c = mod.StepLR(opt, step_size=4, gamma=0.5)
        return mod.SequentialLR(opt, [a, b, c], milestones=[10, 30])
    if name == "chained":
        return mod.ChainedScheduler([mod.ConstantLR(opt, factor=0.1, total_iters=4),
                                     mod.ExponentialLR(opt, gamma=0.9),
                                     mod.CosineAnnealingLR(opt, T_max=25)])
    raise KeyError(name)


NAMES = ["step", "multistep", "exponential", "cosine", "warm_restarts", "warm_restarts1",
         "linear", "constant", "polynomial", "lambda", "multiplicative", "onecycle_cos",
         "onecycle_linear", "onecycle_3phase", "sequential", "sequential3", "chained"]


def momenta(opt):
    return [g.get("momentum", g.get("betas", (None,))[0]) for g in opt.param_groups]


def assert_lrs(a, b, tol=1e-12):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert math.isclose(x, y, rel_tol=tol, abs_tol=1e-15), (a, b)


@pytest.mark.torch
@pytest.mark.parametrize("opt_name,name", [("SGD", n) for n in NAMES] +
                         [("Adam", n) for n in NAMES if n.startswith("onecycle")])
def test_schedule_matches_torch(opt_name, name):
    torch = pytest.importorskip("torch")
    lo, to = make_opts(torch, opt_name)
    ls_, ts = build(ls, lo, name), build(torch.optim.lr_scheduler, to, name)
    assert_lrs(ls_.get_last_lr(), ts.get_last_lr())
    seen = {tuple(ls_.get_last_lr())}
    for _ in range(STEPS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            to.step()
            ts.step()
        lo.step()
        ls_.step()
        assert_lrs(ls_.get_last_lr(), ts.get_last_lr())
        assert_lrs([g["lr"] for g in lo.param_groups], [g["lr"] for g in to.param_groups])
        if name.startswith("onecycle"):
            assert_lrs(momenta(lo), momenta(to))
        seen.add(tuple(ls_.get_last_lr()))
    assert len(seen) >= 2  # the schedule did change the lr
    assert getattr(ls_, "last_epoch", None) == getattr(ts, "last_epoch", None)


@pytest.mark.torch
@pytest.mark.parametrize("kw", [
    dict(),
    dict(mode="max", factor=0.5, patience=2, threshold=0.05, cooldown=2, min_lr=[0.01, 0.05]),
    dict(factor=0.3, patience=1, threshold=0.1, threshold_mode="abs", cooldown=1, min_lr=1e-3),
    dict(mode="max", factor=0.7, patience=0, threshold_mode="abs", threshold=0.0),
])
def test_reduce_on_plateau_matches_torch(kw):
    torch = pytest.importorskip("torch")
    rs = np.random.default_rng(3)
    # decreasing with noise, then flat, then a rise: exercises patience and cooldown
    metric = np.concatenate([np.linspace(2.0, 1.0, 20) + 0.05 * rs.standard_normal(20),
                             np.full(25, 1.0) + 0.02 * rs.standard_normal(25),
                             np.linspace(1.0, 1.5, 15)])
    lo, to = make_opts(torch)
    a, b = ls.ReduceLROnPlateau(lo, **kw), torch.optim.lr_scheduler.ReduceLROnPlateau(to, **kw)
    changes = 0
    for m in metric:
        before = lo.param_groups[0]["lr"]
        a.step(float(m))
        b.step(float(m))
        assert_lrs(a.get_last_lr(), b.get_last_lr())
        assert (a.best, a.num_bad_epochs, a.cooldown_counter) == \
            (b.best, b.num_bad_epochs, b.cooldown_counter)
        changes += lo.param_groups[0]["lr"] != before
    assert changes >= 1


@pytest.mark.parametrize("name", ["cosine", "sequential", "chained", "onecycle_cos",
                                  "warm_restarts", "multistep"])
def test_scheduler_state_dict_resumes(name):
    def sgd():
        return optim.SGD([{"params": [Parameter(np.zeros(2))]} for _ in range(2)], lr=0.1,
                         momentum=0.9)

    lo = sgd()
    s = build(ls, lo, name)
    for _ in range(17):
        s.step()
    sd, opt_sd = s.state_dict(), lo.state_dict()
    lo2 = sgd()
    s2 = build(ls, lo2, name)
    lo2.load_state_dict(opt_sd)
    s2.load_state_dict(sd)
    for _ in range(20):
        s.step()
        s2.step()
        assert s.get_last_lr() == s2.get_last_lr()


def test_scheduler_errors():
    lo = optim.SGD([Parameter(np.zeros(2))], lr=0.1)
    with pytest.raises(TypeError, match="expected an Optimizer"):
        ls.StepLR("not an optimizer", 3)
    with pytest.raises(ValueError, match="OneCycleLR: expected at most total_steps=3"):
        s = ls.OneCycleLR(lo, max_lr=1.0, total_steps=3)
        for _ in range(4):
            s.step()
    with pytest.raises(ValueError, match="ReduceLROnPlateau: expected factor < 1"):
        ls.ReduceLROnPlateau(lo, factor=2.0)
    with pytest.raises(ValueError, match="2 milestones"):
        ls.SequentialLR(lo, [ls.ConstantLR(lo), ls.ConstantLR(lo), ls.ConstantLR(lo)], [3])
    with pytest.raises(ValueError, match="momentum or betas"):
        ls.OneCycleLR(optim.Adagrad([Parameter(np.zeros(2))]), max_lr=1.0, total_steps=5)
    other = optim.SGD([Parameter(np.zeros(2))], lr=0.1)
    with pytest.raises(ValueError, match="same optimizer"):
        ls.ChainedScheduler([ls.ConstantLR(lo), ls.ConstantLR(other)])
    with pytest.raises(KeyError, match="initial_lr"):
        ls.StepLR(optim.SGD([Parameter(np.zeros(2))]), 3, last_epoch=5)

"""Every optimizer and option combination against torch.optim: same float64 weights, the same
gradient sequence (from a fixed nonconvex function, computed in NumPy), 100 steps."""

import numpy as np
import pytest

from lamina.autograd import Parameter
from lamina import optim

SHAPES = [(3, 4), (5,), (2, 3, 2)]
STEPS = 100

CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.1, nesterov=True, maximize=True)),
    ("SGD", dict(lr=0.05, weight_decay=0.01)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6)),
    ("Adam", dict(lr=0.02, amsgrad=True)),
    ("Adam", dict(lr=0.02, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.02, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.005, momentum=0.9)),
    ("RMSprop", dict(lr=0.005, centered=True)),
    ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5, weight_decay=0.1, alpha=0.9)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, eps=1e-6, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.95, eps=1e-5, weight_decay=0.1)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, momentum_decay=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
]


def make_weights(seed=0):
    rs = np.random.default_rng(seed)
    return [rs.standard_normal(s) for s in SHAPES]


def grad_fn(ws, t):
    """Gradient of sum(a w^2 / 2 + sin(3 w + 0.1 t) / 3) plus a coupling term: nonconvex."""
    return [(0.5 + 0.1 * i) * w + np.cos(3.0 * w + 0.1 * t) + 0.05 * np.tanh(w.sum())
            for i, w in enumerate(ws)]


@pytest.fixture
def torch64():
    torch = pytest.importorskip("torch")
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # torch keeps step / mu_product in this dtype
    yield torch
    torch.set_default_dtype(old)


def run_pair(torch, name, kw, groups=None, steps=STEPS):
    w0 = make_weights()
    lp = [Parameter(w.copy()) for w in w0]
    tp = [torch.tensor(w.copy(), requires_grad=True) for w in w0]
    if groups is None:
        lo, to = getattr(optim, name)(lp, **kw), getattr(torch.optim, name)(tp, **kw)
    else:
        lo = getattr(optim, name)([{"params": [lp[i] for i in g[0]], **g[1]} for g in groups],
                                  **kw)
        to = getattr(torch.optim, name)(
            [{"params": [tp[i] for i in g[0]], **g[1]} for g in groups], **kw)
    for t in range(steps):
        gs = grad_fn([p.array for p in lp], t)
        for i, (a, b, g) in enumerate(zip(lp, tp, gs)):
            if i == 2 and t % 3 == 1:  # skipped steps: grad None
                a.grad = b.grad = None
            else:
                a.grad, b.grad = g.copy(), torch.tensor(g.copy())
        lo.step()
        to.step()
    return lp, tp


def assert_close(lp, tp, tol=1e-6):
    for a, b in zip(lp, tp):
        ref = b.detach().numpy()
        assert a.array.dtype == np.float64
        rel = np.linalg.norm(a.array - ref) / np.linalg.norm(ref)
        assert rel <= tol, rel
        np.testing.assert_allclose(a.array, ref, rtol=tol, atol=1e-9)


@pytest.mark.torch
@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_optimizer_matches_torch(torch64, name, kw):
    lp, tp = run_pair(torch64, name, kw)
    start = make_weights()
    assert any(np.abs(p.array - w).max() > 1e-3 for p, w in zip(lp, start))  # it did move
    assert_close(lp, tp)


@pytest.mark.torch
@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "NAdam"])
def test_param_groups_match_torch(torch64, name):
    kw = dict(lr=0.01) if name != "SGD" else dict(lr=0.05, momentum=0.9)
    groups = [([0, 2], {}), ([1], {"lr": 0.003, "weight_decay": 0.2})]
    lp, tp = run_pair(torch64, name, kw, groups=groups)
    assert_close(lp, tp)


@pytest.mark.torch
def test_defaults_match_torch(torch64):
    torch = torch64
    w = [torch.zeros(2, requires_grad=True)]
    for name in ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "NAdam"]:
        ours = getattr(optim, name)([Parameter(np.zeros(2))]).defaults
        theirs = getattr(torch.optim, name)(w).defaults
        for k, v in ours.items():
            if k == "decoupled_weight_decay" and k not in theirs:
                continue
            assert theirs[k] == v, (name, k, v, theirs[k])

"""LBFGS follows torch.optim.LBFGS (2.13) iterate for iterate."""

import numpy as np
import pytest

import lamina
from lamina import optim


def _problem(rs):
    A = rs.standard_normal((20, 5))
    b = rs.standard_normal(20)
    return A, b


def _run(lib, A, b, w0, steps, **kw):
    """LBFGS on one problem, written once for lamina and torch (the same API)."""
    w = lib.tensor(w0.copy(), requires_grad=True)
    At, bt = lib.tensor(A), lib.tensor(b)
    opt = lib.optim.LBFGS([w], **kw)

    def closure():
        opt.zero_grad()
        r = At @ w - bt
        loss = (r * r).mean() + 0.1 * (w ** 4).sum()
        loss.backward()
        return loss

    out = []
    for _ in range(steps):
        opt.step(closure)
        out.append(w.detach().numpy().copy())
    return np.array(out)


@pytest.mark.parametrize("ls", [None, "strong_wolfe"])
def test_lbfgs_reaches_the_minimum(ls):
    rs = np.random.default_rng(0)
    A, b = _problem(rs)
    ws = _run(lamina, A, b, np.zeros(5), 5, line_search_fn=ls, lr=1 if ls else 0.5)
    w = lamina.Parameter(lamina.tensor(ws[-1]))
    r = lamina.tensor(A) @ w - lamina.tensor(b)
    loss = (r * r).mean() + 0.1 * (w ** 4).sum()
    loss.backward()
    assert np.abs(w.grad.array).max() < 1e-4


def test_lbfgs_validates():
    w = lamina.Parameter(lamina.zeros(2))
    with pytest.raises(ValueError, match="line_search_fn"):
        optim.LBFGS([w], line_search_fn="armijo")
    assert optim.LBFGS([w]).defaults["max_eval"] == 25


@pytest.mark.torch
@pytest.mark.parametrize("ls", [None, "strong_wolfe"])
def test_lbfgs_matches_torch(ls):
    torch = pytest.importorskip("torch")
    rs = np.random.default_rng(1)
    A, b = _problem(rs)
    w0 = rs.standard_normal(5)
    kw = dict(line_search_fn=ls, history_size=3, max_iter=7, lr=1 if ls else 0.3)
    ours = _run(lamina, A, b, w0, 3, **kw)
    ref = _run(torch, A, b, w0, 3, **kw)
    np.testing.assert_allclose(ours, ref, atol=1e-8, rtol=0)

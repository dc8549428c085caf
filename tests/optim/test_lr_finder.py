"""The lr range test on a small least-squares problem built from lamina tensors."""

import numpy as np
import pytest

import lamina
from lamina import optim
from lamina.autograd import Parameter


def problem(seed=0):
    rs = np.random.default_rng(seed)
    X = rs.standard_normal((64, 5)).astype(np.float32)
    w_true = rs.standard_normal((5, 1)).astype(np.float32)
    y = X @ w_true + 0.01 * rs.standard_normal((64, 1)).astype(np.float32)
    w = Parameter(np.zeros((5, 1), np.float32))
    b = Parameter(np.zeros((1,), np.float32))
    Xt, yt = lamina.tensor(X), lamina.tensor(y)

    def model_step():
        loss = ((Xt @ w + b - yt) ** 2).mean()
        loss.backward()
        return loss.item()

    return w, b, model_step


def test_lr_finder_on_least_squares():
    w, b, model_step = problem()
    opt = optim.SGD([w, b], lr=0.123, momentum=0.9)
    res = optim.lr_finder(model_step, opt, start_lr=1e-5, end_lr=10.0, num_iter=100)
    assert res.diverged and 10 < len(res.lrs) < 100  # SGD on this problem blows up for lr>~1
    lrs = np.array(res.lrs)
    np.testing.assert_allclose(np.diff(np.log(lrs)), np.log(1e6) / 99, rtol=1e-9)
    assert res.losses[-1] > 5 * min(res.losses[:-1])  # stopped at the divergence
    lr = res.suggestion()
    assert 1e-3 < lr < 1.0
    # the model and the optimizer are back as they were
    np.testing.assert_array_equal(w.array, 0.0)
    np.testing.assert_array_equal(b.array, 0.0)
    assert opt.param_groups[0]["lr"] == 0.123 and opt.state == {} and w.grad is None
    # and the suggestion trains well: a few steps from it reduce the loss a lot
    opt = optim.SGD([w, b], lr=lr, momentum=0.9)
    first = model_step()
    for _ in range(100):
        opt.zero_grad()
        model_step()
        opt.step()
    assert model_step() < 1e-3 * first


def test_lr_finder_keeps_existing_state_and_validates():
    w, b, model_step = problem(1)
    opt = optim.Adam([w, b], lr=0.01)
    for _ in range(3):
        opt.zero_grad()
        model_step()
        opt.step()
    w0, sd = w.array.copy(), opt.state_dict()
    res = optim.lr_finder(model_step, opt, num_iter=20, end_lr=1e-2)
    assert len(res.lrs) == 20 and not res.diverged
    np.testing.assert_array_equal(w.array, w0)
    np.testing.assert_array_equal(opt.state[w]["exp_avg"], sd["state"][0]["exp_avg"])
    assert opt.state[w]["step"] == 3
    with pytest.raises(ValueError, match="lr_finder: expected 0 < start_lr < end_lr"):
        optim.lr_finder(model_step, opt, start_lr=1.0, end_lr=0.1)
    with pytest.raises(ValueError, match="at least 3"):
        optim.LRFinderResult(lrs=[1e-3, 1e-2], losses=[1.0, 0.5]).suggestion()

"""CyclicLR step by step against torch.optim.lr_scheduler.CyclicLR."""

import numpy as np
import pytest

import lamina
from lamina import nn, optim


@pytest.mark.torch
@pytest.mark.parametrize("kw", [
    dict(mode="triangular", step_size_up=4),
    dict(mode="triangular2", step_size_up=3, step_size_down=5),
    dict(mode="exp_range", gamma=0.95, step_size_up=4),
])
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_cyclic_lr_matches_torch(kw, opt):
    torch = pytest.importorskip("torch")
    m = nn.Linear(2, 1)
    t = torch.nn.Linear(2, 1)
    if opt == "sgd":
        o, to = optim.SGD(m.parameters(), lr=0.1, momentum=0.9), \
            torch.optim.SGD(t.parameters(), lr=0.1, momentum=0.9)
    else:
        o, to = optim.Adam(m.parameters(), lr=0.1), torch.optim.Adam(t.parameters(), lr=0.1)
    s = optim.lr_scheduler.CyclicLR(o, 0.01, 0.1, **kw)
    ts = torch.optim.lr_scheduler.CyclicLR(to, 0.01, 0.1, **kw)
    for _ in range(25):
        g, tg = o.param_groups[0], to.param_groups[0]
        assert g["lr"] == pytest.approx(tg["lr"], rel=1e-12)
        key = "betas" if opt == "adam" else "momentum"
        np.testing.assert_allclose(g[key], tg[key], rtol=1e-12)
        o.step()
        to.step()
        s.step()
        ts.step()
    assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)


def test_cyclic_lr_rejects_optimizer_without_momentum():
    m = nn.Linear(2, 1)
    with pytest.raises(ValueError, match="momentum"):
        optim.lr_scheduler.CyclicLR(optim.Adagrad(m.parameters(), lr=0.1), 0.01, 0.1)
    assert lamina.optim.CyclicLR is optim.lr_scheduler.CyclicLR

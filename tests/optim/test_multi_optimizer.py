"""MultiOptimizer: several optimizers stepped, zeroed and checkpointed as one."""

import numpy as np
import pytest

import lamina
from lamina import nn, optim


def _nets():
    lamina.manual_seed(0)
    return nn.Linear(3, 2), nn.Linear(2, 1)


def test_steps_zeroes_and_round_trips_every_optimizer():
    a, b = _nets()
    opt = optim.MultiOptimizer(first=optim.Adam(a.parameters(), 1e-2),
                               second=optim.SGD(b.parameters(), 0.1, momentum=0.9))
    assert len(opt.param_groups) == 2 and opt.param_groups[1]["lr"] == 0.1
    x = lamina.randn(4, 3)
    before = [p.array.copy() for p in (*a.parameters(), *b.parameters())]
    b(a(x)).sum().backward()
    opt.step()
    after = [p.array for p in (*a.parameters(), *b.parameters())]
    assert all(not np.array_equal(u, v) for u, v in zip(before, after))
    opt.zero_grad()
    assert all(p.grad is None for p in (*a.parameters(), *b.parameters()))

    sd = opt.state_dict()
    assert set(sd) == {"first", "second"} and sd["first"]["state"][0]["step"] == 1
    a2, b2 = _nets()
    opt2 = optim.MultiOptimizer(first=optim.Adam(a2.parameters(), 1e-2),
                                second=optim.SGD(b2.parameters(), 0.1, momentum=0.9))
    opt2.load_state_dict(sd)
    np.testing.assert_array_equal(opt2["second"].state_dict()["state"][0]["momentum_buffer"],
                                  sd["second"]["state"][0]["momentum_buffer"])


def test_errors_name_what_was_expected():
    a, _ = _nets()
    with pytest.raises(ValueError, match="at least one"):
        optim.MultiOptimizer()
    with pytest.raises(TypeError, match="expected an Optimizer for 'g'"):
        optim.MultiOptimizer(g=object())
    opt = optim.MultiOptimizer(g=optim.SGD(a.parameters(), 0.1))
    with pytest.raises(ValueError, match=r"expected states for \['g'\], got \['d'\]"):
        opt.load_state_dict({"d": {}})

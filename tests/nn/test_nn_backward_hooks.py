"""Module.register_full_backward_hook against PyTorch's semantics."""

import numpy as np
import pytest

import lamina
from lamina import nn


def _mlp():
    lamina.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))


def test_hook_sees_grad_input_and_grad_output():
    m = _mlp()
    seen = []
    m[2].register_full_backward_hook(lambda mod, gi, go: seen.append((gi, go)))
    x = lamina.tensor(np.random.default_rng(0).standard_normal((2, 4)), requires_grad=True)
    out = m(x)
    out.sum().backward()
    (gi, go), = seen
    assert len(gi) == 1 and len(go) == 1
    np.testing.assert_allclose(go[0].numpy(), np.ones((2, 3)))
    # grad wrt the last Linear's input = ones @ W
    np.testing.assert_allclose(gi[0].numpy(), np.ones((2, 3)) @ m[2].weight.numpy(), rtol=1e-6)


def test_hook_replaces_grad_input():
    m = _mlp()
    m[1].register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0,))
    x = lamina.tensor(np.ones((2, 4)), requires_grad=True)
    m(x).sum().backward()
    assert np.all(x.grad.numpy() == 0)
    assert np.all(m[0].weight.grad.numpy() == 0)
    assert np.any(m[2].weight.grad.numpy() != 0)


def test_hook_without_input_grad_fires_at_outputs_and_handle_removes():
    m = _mlp()
    calls = []
    h = m[0].register_full_backward_hook(lambda mod, gi, go: calls.append(gi))
    m(lamina.ones(2, 4)).sum().backward()
    assert calls == [(None,)]
    h.remove()
    m(lamina.ones(2, 4)).sum().backward()
    assert len(calls) == 1


def test_bad_replacement_names_the_module():
    m = _mlp()
    m[2].register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    x = lamina.tensor(np.ones((2, 4)), requires_grad=True)
    with pytest.raises(ValueError, match="Linear"):
        m(x).sum().backward()


@pytest.mark.torch
def test_matches_torch_grad_input_and_output():
    torch = pytest.importorskip("torch")
    m = _mlp()
    t = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3)).double()
    with torch.no_grad():
        for i in (0, 2):
            t[i].weight.copy_(torch.tensor(m[i].weight.numpy()))
            t[i].bias.copy_(torch.tensor(m[i].bias.numpy()))
    m = m.to(lamina.float64) if hasattr(m, "to") else m
    got_l, got_t = [], []
    for mod, store in ((m[1], got_l), (t[1], got_t)):
        mod.register_full_backward_hook(lambda md, gi, go, s=store: s.append(
            (gi[0].detach().numpy().copy(), go[0].detach().numpy().copy())))
    xn = np.random.default_rng(1).standard_normal((3, 4))
    x = lamina.tensor(xn, requires_grad=True)
    (m(x) ** 2).sum().backward()
    xt = torch.tensor(xn, requires_grad=True)
    (t(xt) ** 2).sum().backward()
    np.testing.assert_allclose(got_l[0][0], got_t[0][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_l[0][1], got_t[0][1], rtol=1e-5, atol=1e-6)

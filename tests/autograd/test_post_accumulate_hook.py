"""Tensor.register_post_accumulate_grad_hook: fires once per backward, during the pass, with the
leaf's final ``.grad`` (PyTorch's semantics)."""

import numpy as np
import pytest

import lamina
from lamina.autograd import Function


class _Mark(Function):
    """Identity whose backward logs ``tag``, to see when hooks fire relative to the pass."""

    def forward(self, x):
        return x

    def backward(self, gy):
        self.log.append(self.tag)
        return (gy,)


def _param(*shape, seed=0):
    rs = np.random.default_rng(seed)
    return lamina.tensor(rs.standard_normal(shape), requires_grad=True)


def _recorder(log, name, grads=None):
    def hook(t):
        log.append(name)
        if grads is not None:
            grads.append(t.grad.numpy().copy())
    return hook


def test_early_leaf_fires_late_and_later_leaves_fire_before_the_pass_ends():
    log = []
    w1, w2 = _param(4, 3, seed=1), _param(3, 2, seed=2)
    x = lamina.tensor(np.ones((5, 4)))
    w1.register_post_accumulate_grad_hook(_recorder(log, "w1"))
    w2.register_post_accumulate_grad_hook(_recorder(log, "w2"))
    h = _Mark.apply(x @ w1, tag="layer1 backward", log=log)
    loss = (h.tanh() @ w2).sum()
    loss.backward()
    # w2 (used last) is final before layer 1's backward runs; w1 (used first) fires last
    assert log == ["w2", "layer1 backward", "w1"]


def test_fires_once_with_the_final_grad_when_the_leaf_is_used_several_times():
    log, seen = [], []
    w = _param(3, seed=3)
    w.register_post_accumulate_grad_hook(_recorder(log, "w", seen))
    # four consumers, one of which (w * w) has two edges into w
    y = ((w * 2.0).sum() + (w.exp() * w).sum() + _Mark.apply(w, tag="mark", log=log).sum()
         + (w * w).sum())
    y.backward()
    assert log.count("w") == 1 and log[-1] == "w"
    wa = w.detach().numpy()
    np.testing.assert_allclose(seen[0], 2.0 + np.exp(wa) * (1 + wa) + 1.0 + 2 * wa, rtol=1e-12)
    np.testing.assert_array_equal(seen[0], w.grad.numpy())


def test_retain_graph_and_accumulation_across_two_backwards():
    seen = []
    w = _param(2, 2, seed=4)
    w.register_post_accumulate_grad_hook(_recorder([], "w", seen))
    y = (w * w).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert len(seen) == 2
    g = 2 * w.detach().numpy()
    np.testing.assert_allclose(seen[0], g, rtol=1e-12)
    np.testing.assert_allclose(seen[1], 2 * g, rtol=1e-12)  # the accumulated total
    np.testing.assert_allclose(w.grad.numpy(), 2 * g, rtol=1e-12)


def test_grad_hooks_run_before_and_handle_removes():
    seen = []
    w = _param(3, seed=5)
    w.register_hook(lambda g: g * 10.0)
    handle = w.register_post_accumulate_grad_hook(_recorder([], "w", seen))
    (w * 1.0).sum().backward()
    np.testing.assert_allclose(seen[0], np.full(3, 10.0))
    handle.remove()
    (w * 1.0).sum().backward()
    assert len(seen) == 1
    np.testing.assert_allclose(w.grad.numpy(), np.full(3, 20.0))


def test_hook_may_clear_grad_without_corrupting_other_gradients():
    # optimizer-in-backward style: the hook zeroes/drops .grad while the same gradient array
    # (x + w passes gy through to both inputs) is still pending for w's other consumer
    a = _param(3, seed=6)
    w = _param(3, seed=7)
    b = _param(3, seed=8)
    w.register_post_accumulate_grad_hook(lambda t: t.grad.array.fill(0.0))
    h = a * 3.0 + w  # w's gradient is the same array as (a * 3.0)'s
    (h * b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 3.0 * b.detach().numpy(), rtol=1e-12)
    assert np.all(w.grad.numpy() == 0)


def test_leaf_with_no_gradient_does_not_fire_and_root_leaf_fires():
    log = []
    w, u = _param(3, seed=9), _param(3, seed=10)
    w.register_post_accumulate_grad_hook(_recorder(log, "w"))
    u.register_post_accumulate_grad_hook(_recorder(log, "u"))
    (u * 2.0).sum().backward()
    assert log == ["u"]
    s = _param(seed=11).sum()
    r = lamina.tensor(1.5, requires_grad=True)
    r.register_post_accumulate_grad_hook(_recorder(log, "root"))
    r.backward()
    assert log[-1] == "root" and s.requires_grad


def test_rejects_non_leaf_and_no_grad_tensors():
    w = _param(2, seed=12)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2.0).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="does not require grad"):
        lamina.zeros(2).register_post_accumulate_grad_hook(lambda t: None)


@pytest.mark.torch
def test_matches_pytorch_order_and_values():
    torch = pytest.importorskip("torch")
    rs = np.random.default_rng(13)
    arrays = [rs.standard_normal(s) for s in ((4, 3), (3,), (3, 2), (2,))]
    x = rs.standard_normal((5, 4))

    def run(lib, tensor):
        ps = [tensor(a) for a in arrays]
        order, vals = [], {}
        for i, p in enumerate(ps):
            def hook(t, i=i):
                order.append(i)
                vals[i] = np.array(t.grad.detach().numpy() if lib == "torch" else t.grad.numpy())
            p.register_post_accumulate_grad_hook(hook)
        xt = tensor(x, grad=False)
        h = (xt @ ps[0] + ps[1]).tanh()
        ((h @ ps[2] + ps[3]) * (h @ ps[2])).sum().backward()
        return order, vals

    lo, lv = run("lamina", lambda a, grad=True: lamina.tensor(a, requires_grad=grad))
    to, tv = run("torch", lambda a, grad=True: torch.tensor(a, requires_grad=grad))
    assert sorted(lo) == sorted(to) == [0, 1, 2, 3]
    assert lo.index(0) > lo.index(2) and lo.index(1) > lo.index(3)  # earlier layer fires later
    assert to.index(0) > to.index(2) and to.index(1) > to.index(3)
    for i in range(4):
        np.testing.assert_allclose(lv[i], tv[i], rtol=1e-10, atol=1e-12)

"""lamina.compile: bit-identical replay, re-tracing on new signatures, eager fallbacks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lamina
import lamina.functional as F
from lamina import nn, optim
from lamina.train import Trainer


def _mlp(dtype, seed=0, d_in=12, d_out=4):
    lamina.manual_seed(seed)
    m = nn.Sequential(nn.Linear(d_in, 16), nn.BatchNorm1d(16), nn.Tanh(), nn.Dropout(0.2),
                      nn.Linear(16, d_out))
    for p in m.parameters():
        p.array = p.array.astype(dtype)
    for mod in m.modules():
        for k, b in mod._buffers.items():
            if b is not None and b.dtype.kind == "f":
                mod._buffers[k] = b.astype(dtype)
    return m


def _train(dtype, compiled: bool, steps=6):
    m = _mlp(dtype)
    opt = optim.Adam(m.parameters(), lr=1e-2)
    rs = np.random.default_rng(1)
    X, y = rs.standard_normal((32, 12)).astype(dtype), rs.integers(0, 4, 32)
    f = lambda x, t: F.cross_entropy(m(x), t)  # noqa: E731
    if compiled:
        f = lamina.compile(f, modules=[m])
    losses = []
    lamina.manual_seed(7)           # dropout masks
    for _ in range(steps):
        opt.zero_grad()
        loss = f(lamina.tensor(X), lamina.tensor(y))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    state = [p.numpy().copy() for p in m.parameters()] + [
        b.copy() for mod in m.modules() for b in mod._buffers.values() if b is not None]
    return losses, state, f


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_replay_is_bit_identical_to_eager(dtype):
    la, sa, _ = _train(dtype, False)
    lb, sb, f = _train(dtype, True)
    assert f.traces == 1 and f.replays == 5 and f.fallback_reason is None
    assert la == lb
    for a, b in zip(sa, sb):
        np.testing.assert_array_equal(a, b)


def test_gradients_of_a_replayed_call_equal_eager_and_pass_gradcheck():
    rs = np.random.default_rng(2)
    w = lamina.tensor(rs.standard_normal((5, 3)), requires_grad=True)

    def f(x):
        return (F.softplus(x @ w) * x.sum(1, keepdim=True)).tanh().sum()
    cf = lamina.compile(f)
    for k in range(3):              # trace, then replays with new values
        x = lamina.tensor(rs.standard_normal((4, 5)), requires_grad=True)
        w.grad = None
        cf(x).backward()
        gx, gw = x.grad.numpy(), w.grad.numpy()
        x2 = lamina.tensor(x.numpy(), requires_grad=True)
        w.grad = None
        f(x2).backward()
        np.testing.assert_array_equal(gx, x2.grad.numpy())
        np.testing.assert_array_equal(gw, w.grad.numpy())
    assert cf.replays == 2
    from lamina.testing import gradcheck
    assert gradcheck(lambda x: cf(x), rs.standard_normal((4, 5)))


def test_new_shape_or_dtype_traces_again_and_keeps_both():
    cf = lamina.compile(lambda x: (x * 2).exp().sum(0))
    a = cf(lamina.ones(3, 2))
    b = cf(lamina.ones(5, 2))
    c = cf(lamina.ones(3, 2, dtype=lamina.float64))
    d = cf(lamina.ones(3, 2))
    assert cf.traces == 3 and cf.replays == 1
    assert a.shape == (2,) and b.shape == (2,) and c.dtype == np.float64
    np.testing.assert_allclose(b.numpy(), 5 * np.exp(2.0))
    np.testing.assert_array_equal(a.numpy(), d.numpy())


def test_outputs_are_fresh_handles():
    cf = lamina.compile(lambda x: x + 1)
    a = cf(lamina.tensor([1.0]))
    b = cf(lamina.tensor([5.0]))
    assert a is not b and b.item() == 6.0


def test_training_flag_is_part_of_the_signature():
    m = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    cf = lamina.compile(m)
    x = lamina.ones(8, 4)
    cf(x)
    m.eval()
    y1, y2 = cf(x), cf(x)
    assert cf.traces == 2
    np.testing.assert_array_equal(y1.numpy(), y2.numpy())     # eval: no dropout


@pytest.mark.parametrize("body,reason", [
    (lambda x: x * 2 if (x.sum() > 0) else x, "bool()"),
    (lambda x: x * x.sum().item(), "item()"),
    (lambda x: x + lamina.randn(*x.shape), "created inside the function"),
    (lambda x: x * x.detach(), "created inside the function"),
    (lambda x: x.clone().mul_(2), "in-place"),
])
def test_uncapturable_functions_fall_back_to_eager_with_the_reason(body, reason):
    cf = lamina.compile(body)
    x = lamina.tensor([1.0, 2.0])
    with pytest.warns(RuntimeWarning, match="lamina.compile: running eagerly"):
        y = cf(x)
    assert reason in cf.fallback_reason
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # warned once per reason
        y2 = cf(x)
    assert y2.shape == y.shape and cf.replays == 0 and cf.traces == 1


def test_backward_inside_the_function_is_refused():
    w = lamina.tensor([1.0], requires_grad=True)

    def step(x):
        loss = (w * x).sum()
        loss.backward()
        return loss
    cf = lamina.compile(step)
    with pytest.warns(RuntimeWarning, match="calls backward"):
        cf(lamina.tensor([2.0]))


def test_trainer_compile_reproduces_the_eager_history_in_float64():
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    X, y = X[:600] / 16.0, y[:600]

    def run(compile_):
        m = _mlp(np.float64, d_in=64, d_out=10)
        t = Trainer(m, optim.Adam(m.parameters(), 1e-2), "cross_entropy", compile=compile_)
        lamina.manual_seed(3)
        h = t.fit((X, y), epochs=3, batch_size=64, verbose=0)
        return h, t
    ha, _ = run(False)
    hb, tb = run(True)
    assert dict(ha.history) == dict(hb.history)
    cf = tb._compiled[1]
    assert cf.fallback_reason is None and cf.replays > 20
    assert ha.history["accuracy"][-1] > 0.8


def _plans(cf):
    return [p for p in cf._plans.values() if p]


@pytest.mark.parametrize("body,exact", [
    (lambda x: (((x * 1.5).exp() * x - 0.2).tanh() * x).sum(), True),  # x at 3 depths
    (lambda x: (x.exp() + x.sin() + x.cos()).sum(), False),   # 3 same-generation uses of x
])
def test_captured_backward_matches_eager(body, exact):
    rs = np.random.default_rng(4)
    cf = lamina.compile(body)
    for _ in range(3):
        a = rs.standard_normal((3, 4))
        x1, x2 = lamina.tensor(a, requires_grad=True), lamina.tensor(a, requires_grad=True)
        cf(x1).backward()
        body(x2).backward()
        if exact:
            np.testing.assert_array_equal(x1.grad.numpy(), x2.grad.numpy())
        else:       # the engine orders same-generation contributions by scheduling
            np.testing.assert_allclose(x1.grad.numpy(), x2.grad.numpy(), rtol=1e-14)
    (plan,) = _plans(cf)
    assert plan.flat[2] is exact and cf.replays == 2


def test_an_earlier_calls_output_cannot_backward_after_a_new_call():
    w = lamina.tensor(np.ones(2), requires_grad=True)
    cf = lamina.compile(lambda x: (x * w).sum())
    cf(lamina.ones(2))
    y1 = cf(lamina.ones(2))
    y2 = cf(lamina.ones(2) * 3)
    with pytest.raises(RuntimeError, match="earlier call"):
        y1.backward()
    y2.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 3.0])


def test_module_backward_hooks_or_anomaly_run_eagerly():
    m = nn.Linear(3, 2)
    cf = lamina.compile(m)
    x = lamina.ones(4, 3)
    cf(x)
    seen = []
    h = m.register_full_backward_hook(lambda mod, gi, go: seen.append(go[0].shape))
    cf(x).sum().backward()
    h.remove()
    assert seen == [(4, 2)] and cf.replays == 0
    with lamina.autograd.detect_anomaly():
        cf(x).sum().backward()
    assert cf.replays == 0
    cf(x).sum().backward()
    assert cf.replays == 1


def test_captured_backward_keeps_retain_graph_and_accumulation_semantics():
    w = lamina.tensor(np.ones(3), requires_grad=True)
    cf = lamina.compile(lambda x: (x * w).sum())
    cf(lamina.tensor(np.arange(3.0)))              # trace
    y = cf(lamina.tensor(np.arange(3.0)))          # replay: the captured backward
    assert type(y._creator).__name__ == "CompiledBackward"
    y.backward(retain_graph=True)
    y.backward()                                   # allowed once more, accumulates
    np.testing.assert_array_equal(w.grad.numpy(), 2 * np.arange(3.0))
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()
    seen = []
    w.register_hook(lambda g: seen.append(g.numpy().copy()))
    cf(lamina.tensor(np.ones(3))).backward()       # leaf hooks still run (engine's leaf step)
    assert len(seen) == 1

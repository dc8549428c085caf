"""The engine's contract: chain rule, accumulation, graph lifetime, hooks, modes, anomalies."""

import numpy as np
import pytest

import lamina as L
from lamina.autograd import Function
from lamina.testing import check_op, gradcheck


def test_chain_rule_matches_hand_derivative():
    x = L.tensor([0.3, -1.2, 2.0], requires_grad=True)
    y = (x * x + 2 * x).exp().sum()
    y.backward()
    xv = np.array([0.3, -1.2, 2.0], dtype=np.float32)
    np.testing.assert_allclose(x.grad, np.exp(xv * xv + 2 * xv) * (2 * xv + 2), rtol=1e-5)


def test_diamond_and_reuse_sum_gradients():
    x = L.tensor([1.5, -0.5], requires_grad=True)
    a = x * 2
    b = x.exp()
    y = (a * b + a + x).sum()  # x reaches y along four paths
    y.backward()
    xv = np.array([1.5, -0.5], dtype=np.float32)
    np.testing.assert_allclose(x.grad, 2 * np.exp(xv) + 2 * xv * np.exp(xv) + 2 + 1, rtol=1e-5)


def test_grads_accumulate_across_backward_calls():
    x = L.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad, [6.0, 6.0])


def test_two_leaves_never_share_a_grad_array():
    a = L.tensor([1.0, 2.0], requires_grad=True)
    b = L.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad *= 10  # an in-place edit of one gradient (e.g. clipping) must not touch the other
    np.testing.assert_allclose(b.grad, [1.0, 1.0])


def test_non_scalar_root_needs_grad():
    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="only for one-element outputs"):
        y.backward()
    y.backward(L.tensor([1.0, 0.5]))
    np.testing.assert_allclose(x.grad, [2.0, 1.0])
    with pytest.raises(RuntimeError, match="expected grad of shape"):
        (x * 2).backward(L.ones(3))


def test_second_backward_over_freed_graph_raises_and_retain_graph_allows_it():
    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()
    x.grad = None
    z = (x * x).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(x.grad, [4.0, 8.0])


def test_backward_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        L.tensor([1.0]).sum().backward()


def test_long_chain_and_wide_graph_are_iterative():
    x = L.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(10000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0001 ** 10000], rtol=1e-3)


def test_rnn_like_unroll_2000_steps():
    L.manual_seed(0)
    W = L.randn(8, 8) * 0.1
    W.requires_grad_()
    h = L.zeros(1, 8)
    x = L.randn(2000, 1, 8)
    for t in range(2000):
        h = (h @ W + x[t]).tanh()
    h.sum().backward()
    assert W.grad.shape == (8, 8) and np.isfinite(W.grad).all()


def test_no_grad_context_and_decorator_and_enable_grad():
    x = L.tensor([1.0], requires_grad=True)
    with L.no_grad():
        y = x * 2
        with L.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @L.no_grad()
    def f(t):
        return t * 3

    assert not f(x).requires_grad
    assert L.is_grad_enabled()


def test_detach_and_requires_grad_rules():
    x = L.tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    with pytest.raises(TypeError, match="only floating"):
        L.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="leaf"):
        (x * 2).requires_grad = False
    labels = L.tensor([0, 1])
    assert labels.dtype == np.int64 and not labels.requires_grad


def test_hooks_modify_and_observe_gradients():
    x = L.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    h = x.register_hook(lambda g: seen.append(g.numpy().copy()))
    y = x * 3
    y.register_hook(lambda g: g * 2)  # doubles the gradient flowing back from y
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [6.0, 6.0])
    np.testing.assert_allclose(seen[0], [6.0, 6.0])
    h.remove()
    x.grad = None
    (x * 1).sum().backward()
    assert len(seen) == 1


def test_retain_grad_keeps_non_leaf_grads():
    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    y.retain_grad()
    (y * 3).sum().backward()
    np.testing.assert_allclose(y.grad, [3.0, 3.0])
    assert (x * 2).grad is None


def test_autograd_grad_function():
    x = L.tensor([1.0, 2.0], requires_grad=True)
    (g,) = L.grad((x * x).sum(), [x])
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])
    assert x.grad is None


def test_detect_anomaly_names_the_op():
    x = L.tensor([-1.0, 1.0], requires_grad=True)
    with L.detect_anomaly():
        with pytest.raises(FloatingPointError, match="Log.*shape"):
            x.log()
    y = L.tensor([0.0, 1.0], requires_grad=True)
    with L.detect_anomaly():
        z = y.sqrt()  # forward finite, backward divides by zero
        with pytest.raises(FloatingPointError, match="backward of Sqrt"):
            z.sum().backward()


def test_float32_stays_float32():
    x = L.randn(3, 4, requires_grad=True)
    y = ((x * 2.0 + 1) ** 2 / 3.0 - x.exp()).sum()
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32
    assert (L.arange(3) * 1.5).dtype == np.float32  # int tensor meets a python float


def test_creation_functions_and_seed():
    assert L.zeros(2, 3).shape == (2, 3) and L.zeros(2, 3).dtype == np.float32
    assert L.ones((2,)).numpy().tolist() == [1.0, 1.0]
    assert L.full((2,), 7).dtype == np.int64
    assert L.arange(5).dtype == np.int64 and L.arange(0, 1, 0.5).dtype == np.float32
    assert L.linspace(0, 1, 5).shape == (5,)
    assert L.eye(3).numpy().trace() == 3
    assert L.zeros_like(L.ones(2, 2)).shape == (2, 2)
    a = np.arange(4.0)
    t = L.from_numpy(a)
    a[0] = 9
    assert t.numpy()[0] == 9 and t.dtype == np.float64
    L.manual_seed(3)
    r1 = (L.rand(4), L.randn(4), L.randint(0, 10, (4,)))
    L.manual_seed(3)
    r2 = (L.rand(4), L.randn(4), L.randint(0, 10, (4,)))
    for u, v in zip(r1, r2):
        np.testing.assert_array_equal(u.numpy(), v.numpy())


def test_tensor_basics_and_repr():
    x = L.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert x.shape == (2, 2) and x.ndim == 2 and x.size() == (2, 2) and x.size(1) == 2
    assert len(x) == 2 and x.numel() == 4 and x.dim() == 2
    assert "requires_grad=True" in repr(x)
    assert "grad_fn" in repr(x * 2)
    assert np.asarray(x).shape == (2, 2)
    assert L.tensor([2.5]).item() == 2.5
    assert str(x.device) == "cpu" and x.device == L.device("cpu")
    assert x.to("cpu") is x
    assert x.to(L.float64).dtype == np.float64


def test_to_cuda_without_gpu_is_a_clear_error():
    from lamina.backend import cuda_available
    if cuda_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="CuPy"):
        L.ones(2).to("cuda")


def test_custom_function_and_needs_input_grad():
    calls = []

    class Scale(Function):
        def forward(self, x, s):
            self.saved = (s,)
            return x * s

        def backward(self, gy):
            calls.append(self.needs_input_grad)
            (s,) = self.saved
            return gy * s, None

    x = L.tensor([1.0, 2.0], requires_grad=True)
    Scale.apply(x, L.tensor([3.0, 3.0])).sum().backward()
    assert tuple(calls[0]) == (True, False)
    np.testing.assert_allclose(x.grad, [3.0, 3.0])


@pytest.mark.parametrize("shape_a,shape_b", [((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((1,), (5, 2))])
def test_broadcast_gradients_are_summed(shape_a, shape_b):
    rs = np.random.default_rng(0)
    check_op(lambda a, b: a * b - b / (a * a + 1), [rs.standard_normal(shape_a),
                                                    rs.standard_normal(shape_b)],
             ref=lambda a, b: a * b - b / (a * a + 1))


@pytest.mark.torch
def test_arithmetic_parity_with_torch():
    import torch
    rs = np.random.default_rng(1)
    a = rs.uniform(0.5, 2.0, (3, 4))
    b = rs.uniform(0.5, 2.0, (4,))
    ops = [
        (lambda x, y: x + y, lambda x, y: x + y), (lambda x, y: x - y, lambda x, y: x - y),
        (lambda x, y: x * y, lambda x, y: x * y), (lambda x, y: x / y, lambda x, y: x / y),
        (lambda x, y: x ** y, lambda x, y: x ** y),
        (lambda x, y: L.maximum(x, y), torch.maximum),
        (lambda x, y: L.minimum(x, y), torch.minimum),
        (lambda x, y: L.where(x > 1, x, y), lambda x, y: torch.where(x > 1, x, y)),
    ]
    for f, tf in ops:
        check_op(f, [a, b], torch_fn=tf)
    unary = [(L.exp, torch.exp), (L.log, torch.log), (L.log1p, torch.log1p),
             (L.expm1, torch.expm1), (L.sqrt, torch.sqrt), (L.rsqrt, torch.rsqrt),
             (L.sin, torch.sin), (L.cos, torch.cos), (L.tanh, torch.tanh), (L.abs, torch.abs),
             (lambda x: -x, lambda x: -x), (L.square, torch.square),
             (lambda x: L.clip(x, 0.8, 1.5), lambda x: torch.clamp(x, 0.8, 1.5))]
    for f, tf in unary:
        check_op(f, [a], torch_fn=tf)
    for sa, sb in [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)),
                   ((2, 3, 4), (2, 4, 5)), ((4,), (4,)), ((1, 3, 4), (2, 4, 2))]:
        check_op(lambda x, y: x @ y, [rs.standard_normal(sa), rs.standard_normal(sb)],
                 ref=np.matmul, torch_fn=torch.matmul)


def test_matmul_shape_error_names_op_and_shapes():
    with pytest.raises(L.ShapeError, match=r"matmul: expected a.shape\[-1\] == b.shape\[-2\], "
                                           r"got \(32, 784\) @ \(512, 10\)"):
        L.zeros(32, 784) @ L.zeros(512, 10)


def test_gradcheck_reports_input_and_element():
    class Bad(Function):
        def forward(self, x):
            return x * x

        def backward(self, gy):
            return (gy,)

    with pytest.raises(AssertionError, match="input 0.*analytic.*numeric"):
        gradcheck(lambda x: Bad.apply(x), np.ones(3))
    with pytest.raises(AssertionError, match="direction"):
        gradcheck(lambda x: Bad.apply(x), np.ones(400))


def test_hook_flag_lasts_only_while_a_hooked_graph_lives():
    """A non-leaf hook turns the engine's hook scan on for its graph only: once that graph is
    dropped, later backward passes take the fast path again (the flag used to stick for the
    whole process); a leaf hook never needs the scan and still runs."""
    import gc

    from lamina.autograd.grad_mode import HOOKS
    gc.collect()
    base = HOOKS.live
    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.register_hook(lambda g: g * 2)
    assert HOOKS.active and HOOKS.live == base + 1
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])
    del y
    gc.collect()
    assert HOOKS.live == base and HOOKS.active == (base > 0)
    seen = []
    x.grad = None
    x.register_hook(lambda g: seen.append(g.numpy().copy()))   # leaf hook: no engine flag
    assert HOOKS.live == base
    (x * 3).sum().backward()
    np.testing.assert_allclose(seen[0], [3.0, 3.0])
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])

"""Tensors a PyTorch user updates by hand: ``.grad`` / ``.data`` are Tensors, in-place ops with
a trailing underscore and ``+=``, PyTorch's leaf error and the version counter."""

import numpy as np
import pytest

import lamina as L


def test_grad_and_data_are_tensors_and_data_shares_storage():
    w = L.randn(3, requires_grad=True)
    (w * 2).sum().backward()
    assert isinstance(w.grad, L.Tensor) and isinstance(w.data, L.Tensor)
    assert w.grad is w.grad                      # one gradient object, as in torch
    np.testing.assert_array_equal(w.grad.numpy(), [2, 2, 2])
    assert float(w.grad.norm()) == pytest.approx(np.sqrt(12))
    before = w.numpy().copy()
    w.data.add_(1.0)                             # .data shares storage, records nothing
    np.testing.assert_allclose(w.numpy(), before + 1)
    assert w.is_leaf and w.requires_grad
    w.grad.zero_()
    np.testing.assert_array_equal(w.grad.numpy(), 0)


def test_manual_sgd_update_under_no_grad_changes_the_weights():
    w = L.tensor([1.0, -2.0], requires_grad=True)
    (w * w).sum().backward()
    with L.no_grad():
        w -= 0.1 * w.grad
    np.testing.assert_allclose(w.numpy(), [0.8, -1.6], rtol=1e-6)
    assert w.is_leaf and w.requires_grad


def test_backward_accumulates_into_the_same_grad_tensor():
    w = L.tensor([1.0, 2.0], requires_grad=True)
    (w * 3).sum().backward()
    g = w.grad
    (w * 3).sum().backward()
    np.testing.assert_array_equal(g.numpy(), [6, 6])   # in place, as torch accumulates


def test_inplace_on_leaf_requiring_grad_raises_like_torch():
    w = L.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.add_(1)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w += 1


def test_aliases_see_inplace_changes_and_dtype_rules():
    a = L.tensor([1.0, 2.0])
    b = a
    b += 1
    np.testing.assert_array_equal(a.numpy(), [2, 3])
    i = L.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        i += 0.5
    i.mul_(3)
    assert i.dtype == np.int64 and i.tolist() == [3, 6]
    with pytest.raises(RuntimeError, match="shape"):
        L.zeros(3).add_(L.ones(2, 3))


@pytest.mark.torch
def test_inplace_methods_match_torch():
    torch = pytest.importorskip("torch")
    rs = np.random.default_rng(0)
    x0 = rs.standard_normal((3, 4))
    y0 = rs.standard_normal((3, 4))
    cases = [("add_", (y0,), {"alpha": 2.0}), ("sub_", (y0,), {}), ("mul_", (y0,), {}),
             ("div_", (y0,), {}), ("clamp_", (), {"min": -0.5, "max": 0.5}),
             ("copy_", (y0[0],), {}), ("fill_", (1.5,), {}), ("zero_", (), {}),
             ("neg_", (), {}), ("abs_", (), {}), ("exp_", (), {}), ("relu_", (), {}),
             ("clamp_min_", (0.1,), {}), ("lerp_", (y0, 0.3), {}),
             ("addcmul_", (y0, y0), {"value": 0.5}), ("pow_", (2,), {})]
    for name, args, kw in cases:
        a, t = L.tensor(x0.copy()), torch.tensor(x0.copy())
        la = [L.tensor(v) if isinstance(v, np.ndarray) else v for v in args]
        ta = [torch.tensor(v) if isinstance(v, np.ndarray) else v for v in args]
        r = getattr(a, name)(*la, **kw)
        getattr(t, name)(*ta, **kw)
        assert r is a, name
        np.testing.assert_allclose(a.numpy(), t.numpy(), rtol=1e-12, err_msg=name)


@pytest.mark.torch
def test_inplace_inside_graph_is_recorded_like_torch():
    torch = pytest.importorskip("torch")
    x0 = np.array([0.5, -1.0, 2.0])

    def run(lib, t):
        z = t(x0.copy(), requires_grad=True) if lib is L else t(x0.copy(), requires_grad=True)
        h = z * 2
        u = h * 3                   # consumes h before it changes
        h.add_(1)
        h.mul_(z)
        h.relu_()
        (u + h).sum().backward()
        return z.grad.numpy() if lib is L else z.grad.numpy()

    got = run(L, lambda a, requires_grad: L.tensor(a, requires_grad=requires_grad))
    want = run(torch, lambda a, requires_grad: torch.tensor(a, requires_grad=requires_grad))
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_backward_raises_when_a_saved_tensor_changed_in_place():
    w = L.randn(3, requires_grad=True)
    x = L.randn(3)
    y = (w * x).sum()               # Mul saved x and w
    with L.no_grad():
        x.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
    # an op that saved nothing of x (add) is unaffected, as in torch
    w2 = L.randn(3, requires_grad=True)
    x2 = L.randn(3)
    y2 = (w2 + x2).sum()
    x2.add_(1)
    y2.backward()
    np.testing.assert_array_equal(w2.grad.numpy(), 1)


def test_output_changed_in_place_under_no_grad_raises():
    z = L.randn(3, requires_grad=True)
    y = z.exp()                     # Exp saved its output
    with L.no_grad():
        y.add_(1)
    with pytest.raises(RuntimeError, match="inplace"):
        y.sum().backward()


def test_grad_setter_checks_shape_and_dtype():
    w = L.zeros(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="shape"):
        w.grad = L.zeros(3)
    with pytest.raises(TypeError, match="dtype"):
        w.grad = L.zeros(2, 3, dtype=L.float64)
    g = L.ones(2, 3)
    w.grad = g
    assert w.grad is g
    w.grad = None
    assert w.grad is None


def test_legacy_constructor_and_zero_d_arrays():
    t = L.Tensor(2, 3)
    assert t.shape == (2, 3) and t.dtype == np.float32 and float(t.sum()) == 0
    assert L.Tensor([1.0, 2.0]).dtype == np.float32
    with pytest.raises(TypeError, match="lamina.tensor"):
        L.Tensor(2, 3.5)
    s = L.tensor([1.0, 2.0], requires_grad=True).sum()
    assert isinstance(s.array, np.ndarray) and s.array.ndim == 0
    assert isinstance(s.data.array, np.ndarray)


def test_sign_has_zero_gradient():
    x = L.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    (x.sign() * 3 + x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 1, 1])


def test_random_fills_are_seeded():
    L.manual_seed(3)
    a = L.zeros(4).normal_(0, 2)
    L.manual_seed(3)
    b = L.empty(4).normal_(0, 2)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    u = L.zeros(1000).uniform_(-1, 1)
    assert -1 <= float(u.min()) and float(u.max()) < 1


def test_broadcasting_errors_name_the_op_and_shapes():
    with pytest.raises(L.ShapeError, match=r"add: .*\(2, 3\), \(4,\)"):
        L.ones(2, 3) + L.ones(4)
    with pytest.raises(L.ShapeError, match=r"mul: .*\(2, 3\), \(4,\)"):
        L.ones(2, 3, requires_grad=True) * L.ones(4)

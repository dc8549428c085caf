"""Focused PyTorch-2.x semantics checks for ops whose behaviour once differed from torch."""

import numpy as np
import pytest

import lamina as L
import lamina.functional as F

pytestmark = pytest.mark.torch


@pytest.mark.parametrize("op", ["logsumexp", "amax", "amin", "argmax", "argmin", "norm"])
def test_keepdims_true_survives_default_keepdim(op):
    torch = pytest.importorskip("torch")
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    got = getattr(F, op)(L.tensor(x), axis=None, keepdims=True).shape
    tx = torch.tensor(x)
    fn = getattr(torch, op)
    want = fn(tx, dim=(), keepdim=True) if op in ("logsumexp", "amax", "amin") else (
        fn(tx, dim=None, keepdim=True) if op == "norm" else fn(tx, keepdim=True))
    assert tuple(got) == tuple(want.shape)


def test_pow_gradients_at_zero_match_torch():
    torch = pytest.importorskip("torch")
    a = np.array([0.0, 0.0, 0.0, 2.0, -1.0])
    b = np.array([0.0, -1.0, 0.5, 0.0, 2.0])
    la, lb = L.tensor(a, requires_grad=True), L.tensor(b, requires_grad=True)
    (la ** lb).sum().backward()
    ta = torch.tensor(a, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    (ta ** tb).sum().backward()
    np.testing.assert_array_equal(la.grad.numpy(), ta.grad.numpy())
    np.testing.assert_array_equal(lb.grad.numpy(), tb.grad.numpy())


def test_sign_has_zero_gradient():
    x = L.tensor([0.5, -1.0, 0.0], requires_grad=True)
    x.sign().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])


def test_zero_d_results_are_arrays():
    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = x.sum()
    y.backward()
    assert isinstance(y.array, np.ndarray) and y.array.shape == ()
    assert isinstance(x.grad.array, np.ndarray)


@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_integer_linspace_truncates_toward_zero(dtype):
    torch = pytest.importorskip("torch")
    got = L.linspace(-1.5, 3, 4, dtype=dtype).numpy()
    want = torch.linspace(-1.5, 3, 4, dtype=getattr(torch, dtype)).numpy()
    np.testing.assert_array_equal(got, want)
    assert got.dtype == want.dtype


def test_linspace_bool_raises():
    with pytest.raises(TypeError, match="linspace"):
        L.linspace(0, 1, 3, dtype="bool")


def test_squeeze_out_of_range_raises():
    x = L.zeros(2, 1, 4, 5)
    with pytest.raises(ValueError, match="squeeze"):
        x.squeeze(5)
    assert x.squeeze(-3).shape == (2, 4, 5)
    assert L.tensor(3.0).squeeze(0).shape == ()


def test_roll_tuple_of_shifts_needs_dims():
    torch = pytest.importorskip("torch")
    a = np.array([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="roll"):
        F.roll(L.tensor(a), (1, 1))
    got = F.roll(L.tensor(a), (1,)).numpy()
    np.testing.assert_array_equal(got, torch.roll(torch.tensor(a), (1,)).numpy())
    got = F.roll(L.tensor(a), (1, 1), (0, 1)).numpy()
    np.testing.assert_array_equal(got, torch.roll(torch.tensor(a), (1, 1), (0, 1)).numpy())


def test_var_std_too_few_dof_match_torch():
    torch = pytest.importorskip("torch")
    for vals, c in (([1.0, 3.0], 2), ([1.0, 3.0], 3), ([2.0, 2.0], 2), ([1.0], 1)):
        for name in ("var", "std"):
            with pytest.warns(UserWarning, match="degrees of freedom"):
                got = getattr(F, name)(L.tensor(vals), correction=c).item()
            with pytest.warns(UserWarning):
                want = getattr(torch, name)(torch.tensor(vals), correction=c).item()
            np.testing.assert_equal(got, want)


@pytest.mark.parametrize("op", ["nll_loss", "cross_entropy"])
def test_weighted_mean_with_negative_weight_sum_matches_torch(op):
    torch = pytest.importorskip("torch")
    x = np.log(np.array([[0.2, 0.3, 0.5], [0.1, 0.6, 0.3]]))
    t = np.array([0, 1])
    w = np.array([1.0, -3.0, 1.0])
    got = getattr(F, op)(L.tensor(x), L.tensor(t), weight=L.tensor(w)).item()
    tf = getattr(torch.nn.functional, op)
    want = tf(torch.tensor(x), torch.tensor(t), weight=torch.tensor(w)).item()
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert np.isfinite(got)


@pytest.mark.parametrize("mode,pad", [("reflect", (-2, 3)), ("reflect", (-3, 2)),
                                      ("replicate", (-2, -1)), ("circular", (1, -3)),
                                      ("circular", (2, -1)), ("replicate", (-3, 2))])
def test_negative_pads_crop_as_torch(mode, pad):
    torch = pytest.importorskip("torch")
    a = np.arange(4.0).reshape(1, 1, 4)
    x = L.tensor(a, requires_grad=True)
    y = F.pad(x, pad, mode=mode)
    (y * L.tensor(np.arange(y.shape[-1], dtype=float))).sum().backward()
    tx = torch.tensor(a, requires_grad=True)
    ty = torch.nn.functional.pad(tx, pad, mode=mode)
    (ty * torch.arange(ty.shape[-1], dtype=torch.float64)).sum().backward()
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_attention_mask_with_is_causal_raises():
    q = L.zeros(1, 2, 3)
    with pytest.raises(ValueError, match="is_causal"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=L.ones(2, 2).bool(), is_causal=True)

"""Reductions: forward vs NumPy, gradcheck, float32 and PyTorch parity; ties and zeros."""

import numpy as np
import pytest

import lamina as L
import lamina.functional as F
from lamina.testing import check_op

rs = np.random.default_rng(0)
X = rs.standard_normal((3, 4, 5))
M = rs.standard_normal((4, 6))
Z = np.array([[1.5, 0.0, 2.0, -1.0], [0.0, 3.0, 0.0, 2.0], [1.2, -0.7, 0.9, 1.1]])


def _np_lse(a, axis):
    m = a.max(axis=axis, keepdims=True)
    return np.log(np.exp(a - m).sum(axis=axis, keepdims=True)).squeeze(axis) + m.squeeze(axis)


# (id, lamina fn, inputs, NumPy ref, torch fn)
CASES = [
    ("sum_dim_keep", lambda x: x.sum(dim=1, keepdim=True), [X],
     lambda x: x.sum(1, keepdims=True), lambda x: x.sum(dim=1, keepdim=True)),
    ("sum_axes", lambda x: F.sum(x, axis=(0, 2)), [X], lambda x: x.sum((0, 2)),
     lambda x: x.sum(dim=(0, 2))),
    ("sum_all", lambda x: x.sum(), [X], lambda x: x.sum(), lambda x: x.sum()),
    ("mean", lambda x: x.mean(dim=(0, 2)), [X], lambda x: x.mean((0, 2)),
     lambda x: x.mean(dim=(0, 2))),
    ("var_dim", lambda x: x.var(1), [X], lambda x: x.var(1, ddof=1), lambda x: x.var(1)),
    ("var_biased", lambda x: x.var(dim=2, unbiased=False, keepdim=True), [X],
     lambda x: x.var(2, keepdims=True), lambda x: x.var(dim=2, unbiased=False, keepdim=True)),
    ("var_corr", lambda x: F.var(x, axis=0, ddof=2), [X], lambda x: x.var(0, ddof=2),
     lambda x: x.var(dim=0, correction=2)),
    ("var_all", lambda x: x.var(), [X], lambda x: x.var(ddof=1), lambda x: x.var()),
    ("std", lambda x: x.std(0, keepdim=True), [X], lambda x: x.std(0, ddof=1, keepdims=True),
     lambda x: x.std(0, keepdim=True)),
    ("std_corr0", lambda x: x.std(dim=(1, 2), correction=0), [X], lambda x: x.std((1, 2)),
     lambda x: x.std(dim=(1, 2), correction=0)),
    ("max_all", lambda x: x.max(), [X], lambda x: x.max(), lambda x: x.max()),
    ("max_dim", lambda x: tuple(x.max(dim=1)), [M],
     lambda x: [x.max(1), x.argmax(1)], lambda x: tuple(x.max(dim=1))),
    ("min_dim_keep", lambda x: tuple(F.min(x, 0, keepdim=True)), [M],
     lambda x: [x.min(0, keepdims=True), x.argmin(0)[None]],
     lambda x: tuple(x.min(0, keepdim=True))),
    ("max_values", lambda x: x.max(dim=-1).values, [X], lambda x: x.max(-1),
     lambda x: x.max(dim=-1).values),
    ("amax", lambda x: x.amax(dim=(0, 2)), [X], lambda x: x.max((0, 2)),
     lambda x: x.amax(dim=(0, 2))),
    ("amin_keep", lambda x: F.amin(x, 1, keepdim=True), [X], lambda x: x.min(1, keepdims=True),
     lambda x: x.amin(1, keepdim=True)),
    ("logsumexp", lambda x: x.logsumexp(dim=1), [X], lambda x: _np_lse(x, 1),
     lambda x: x.logsumexp(dim=1)),
    ("logsumexp_all", lambda x: F.logsumexp(x), [M], lambda x: _np_lse(x.reshape(-1), 0),
     lambda x: x.logsumexp(dim=(0, 1))),
    ("prod", lambda x: x.prod(dim=1), [M], lambda x: x.prod(1), lambda x: x.prod(dim=1)),
    ("prod_zeros", lambda x: x.prod(1, keepdim=True), [Z], lambda x: x.prod(1, keepdims=True),
     lambda x: x.prod(1, keepdim=True)),
    ("prod_all_zeros", lambda x: x.prod(), [Z[[0, 2]]], lambda x: x.prod(), lambda x: x.prod()),
    ("norm", lambda x: x.norm(), [X], lambda x: np.sqrt((x * x).sum()), lambda x: x.norm()),
    ("norm_dim", lambda x: x.norm(dim=1, keepdim=True), [M],
     lambda x: np.linalg.norm(x, axis=1, keepdims=True), lambda x: x.norm(dim=1, keepdim=True)),
    ("norm_p1", lambda x: x.norm(p=1, dim=0), [M], lambda x: np.abs(x).sum(0),
     lambda x: x.norm(p=1, dim=0)),
    ("norm_inf", lambda x: F.norm(x, float("inf"), dim=1), [M], lambda x: np.abs(x).max(1),
     lambda x: x.norm(p=float("inf"), dim=1)),
    ("norm_p3", lambda x: x.norm(p=3, dim=1), [M], lambda x: (np.abs(x) ** 3).sum(1) ** (1 / 3),
     lambda x: x.norm(p=3, dim=1)),
    ("norm_fro", lambda x: F.norm(x, "fro"), [M], lambda x: np.linalg.norm(x),
     lambda x: x.norm(p="fro")),
    ("cumsum", lambda x: x.cumsum(dim=1), [X], lambda x: x.cumsum(1), lambda x: x.cumsum(dim=1)),
    ("cumsum_neg", lambda x: F.cumsum(x, -1), [M], lambda x: x.cumsum(-1),
     lambda x: x.cumsum(-1)),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_reduction_op(case):
    _, fn, inputs, ref, _ = case
    check_op(fn, inputs, ref=ref, torch_fn=None)


@pytest.mark.torch
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_reduction_torch_parity(case):
    _, fn, inputs, ref, tfn = case
    check_op(fn, inputs, ref=ref, torch_fn=tfn)


def test_max_dim_namedtuple_and_first_occurrence_at_ties():
    x = L.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], requires_grad=True)
    out = x.max(dim=1)
    values, indices = out
    assert out.values is values and out.indices is indices
    assert indices.tolist() == [1, 0] and indices.dtype == np.int64
    values.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1, 0], [1, 0, 0]])
    assert x.max(1, keepdim=True).values.shape == (2, 1)


def test_amax_and_full_max_split_ties_evenly():
    for f in (lambda t: t.amax(dim=1), lambda t: t.max(), lambda t: t.norm(p=float("inf"))):
        x = L.tensor([[1.0, 3.0, 3.0], [3.0, 0.0, 0.5]], requires_grad=True)
        f(x).sum().backward()
        want = [[0, .5, .5], [1, 0, 0]] if x.grad[1, 0] == 1 else [[0, 1 / 3, 1 / 3], [1 / 3, 0, 0]]
        np.testing.assert_allclose(x.grad, want)
    x = L.tensor([2.0, -1.0, -1.0], requires_grad=True)
    x.amin().backward()
    np.testing.assert_allclose(x.grad, [0, .5, .5])


@pytest.mark.torch
def test_ties_match_torch():
    torch = pytest.importorskip("torch")
    a = np.array([[1.0, 3.0, 3.0, -2.0], [0.5, 0.5, 0.5, 0.0]])
    for name, fn in [("max", lambda t: t.max()), ("amax", lambda t: t.amax(1)),
                     ("maxdim", lambda t: t.max(1).values), ("mindim", lambda t: t.min(0)[0])]:
        x, tx = L.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        fn(x).sum().backward()
        fn(tx).sum().backward()
        np.testing.assert_allclose(x.grad, tx.grad.numpy(), err_msg=name)


def test_prod_gradient_with_zeros_is_exact():
    x = L.tensor([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.0, 2.0, 4.0]], requires_grad=True)
    x.prod(1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 6, 0], [0, 0, 0], [8, 4, 2]])
    assert np.isfinite(x.grad).all()


def test_norm_subgradient_zero_at_zero_and_std_of_constant():
    x = L.zeros(2, 3, requires_grad=True)
    x.norm(dim=1).sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros((2, 3)))
    y = L.ones(4, requires_grad=True)
    y.std().backward()
    np.testing.assert_array_equal(y.grad, np.zeros(4))
    assert F.norm(L.tensor([0.0, 2.0, 0.0]), p=0).item() == 1.0


def test_logsumexp_is_stable_in_float32():
    x = L.tensor([[1000.0, -1000.0, 999.0], [-1e30, -1e30, -1e30]], requires_grad=True)
    y = x.logsumexp(dim=1)
    assert y.dtype == np.float32 and np.isfinite(y.array).all()
    np.testing.assert_allclose(y.array[0], 1000 + np.log1p(np.exp(-1.0)), rtol=1e-6)
    y.sum().backward()
    assert np.isfinite(x.grad).all()
    np.testing.assert_allclose(x.grad.sum(1), [1, 1], rtol=1e-6)
    z = L.tensor([-np.inf, -np.inf]).logsumexp(0)
    assert z.item() == -np.inf


def test_var_std_spellings_and_dtype():
    x = L.tensor(M.astype(np.float32))
    np.testing.assert_allclose(x.var(1, False).array, M.var(1), rtol=1e-5)
    np.testing.assert_allclose(x.std(axis=0, keepdims=True).array, M.std(0, ddof=1, keepdims=True),
                               rtol=1e-5)
    assert x.var().dtype == np.float32 and x.std(0).dtype == np.float32
    with pytest.raises(TypeError):
        x.var(unbiased=True, correction=0)


def test_no_grad_reductions_and_numpy_spellings():
    a = rs.standard_normal((3, 5))
    x = L.tensor(a)
    i = x.argmax(dim=1, keepdim=True)
    assert i.shape == (3, 1) and i.dtype == np.int64
    np.testing.assert_array_equal(i.array[:, 0], a.argmax(1))
    np.testing.assert_array_equal(F.argmin(x, axis=0).array, a.argmin(0))
    assert x.argmax().item() == a.argmax()
    np.testing.assert_array_equal(x.max(axis=1).array, a.max(1))  # NumPy spelling: values
    np.testing.assert_array_equal(x.sum(axis=1, keepdims=True).array, a.sum(1, keepdims=True))
    b = L.tensor([[0, 1, 2], [0, 0, 3]])
    assert b.all().item() is False and b.any(dim=1).tolist() == [True, True]
    assert b.all(1, keepdim=True).shape == (2, 1)
    assert b.count_nonzero().item() == 3 and b.count_nonzero(dim=0).tolist() == [0, 1, 2]
    assert b.count_nonzero().dtype == np.int64
    np.testing.assert_array_equal(L.max(x, L.zeros(3, 5)).array, np.maximum(a, 0))


def test_max_dim_out_of_range_names_op():
    with pytest.raises(ValueError, match=r"max: expected dim in \[-2, 2\), got dim=2"):
        L.zeros(2, 3).max(dim=2)

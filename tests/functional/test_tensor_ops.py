"""einsum, tril/triu, diag/diagonal, meshgrid, repeat_interleave, bernoulli, multinomial:
finite differences (float64) and PyTorch's forward and backward."""

import numpy as np
import pytest

import lamina as L
import lamina.functional as F
from lamina.testing import check_op

rs = np.random.default_rng(0)


def _torch():
    return pytest.importorskip("torch")


EINSUMS = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij->ji", [(3, 4)]),
    ("ij->i", [(3, 4)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
    ("ij,jk", [(3, 4), (4, 2)]),                  # implicit output
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),  # bilinear, three operands
]


@pytest.mark.torch
@pytest.mark.parametrize("eq,shapes", EINSUMS)
def test_einsum_matches_torch(eq, shapes):
    torch = _torch()
    arrs = [rs.standard_normal(s) for s in shapes]
    check_op(lambda *xs: F.einsum(eq, *xs), arrs, ref=lambda *xs: np.einsum(eq, *xs),
             torch_fn=lambda *xs: torch.einsum(eq, *xs))


def test_einsum_errors_name_the_problem():
    with pytest.raises(ValueError, match="einsum"):
        F.einsum("ij,jk->ik", L.ones(2, 3))
    x = L.tensor(rs.standard_normal((3, 3)), requires_grad=True)
    with pytest.raises(ValueError, match="diagonal"):
        F.einsum("ii->i", x).sum().backward()


@pytest.mark.torch
@pytest.mark.parametrize("k", [-1, 0, 2])
def test_tril_triu_diag_match_torch(k):
    torch = _torch()
    x = [rs.standard_normal((2, 4, 5))]
    check_op(lambda a: F.tril(a, k), x, ref=lambda a: np.tril(a, k),
             torch_fn=lambda a: torch.tril(a, k))
    check_op(lambda a: F.triu(a, k), x, ref=lambda a: np.triu(a, k),
             torch_fn=lambda a: torch.triu(a, k))
    m = [rs.standard_normal((4, 5))]
    check_op(lambda a: F.diag(a, k), m, ref=lambda a: np.diag(a, k),
             torch_fn=lambda a: torch.diag(a, k))
    v = [rs.standard_normal(4)]
    check_op(lambda a: F.diag(a, k), v, ref=lambda a: np.diag(a, k),
             torch_fn=lambda a: torch.diag(a, k))
    check_op(lambda a: F.diagonal(a, k, 0, 2), x,
             ref=lambda a: np.diagonal(a, k, 0, 2),
             torch_fn=lambda a: torch.diagonal(a, k, 0, 2))


@pytest.mark.torch
@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_matches_torch(indexing):
    torch = _torch()
    a, b, c = rs.standard_normal(3), rs.standard_normal(4), rs.standard_normal(2)
    got = F.meshgrid(L.tensor(a), L.tensor(b), L.tensor(c), indexing=indexing)
    want = torch.meshgrid(torch.tensor(a), torch.tensor(b), torch.tensor(c), indexing=indexing)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), w.numpy())
    check_op(lambda x, y: sum(t * (i + 1) for i, t in enumerate(F.meshgrid(x, y))),
             [a, b], torch_fn=lambda x, y: sum(
                 t * (i + 1) for i, t in enumerate(torch.meshgrid(x, y, indexing="ij"))))


@pytest.mark.torch
def test_repeat_interleave_matches_torch():
    torch = _torch()
    x = [rs.standard_normal((3, 2))]
    check_op(lambda a: F.repeat_interleave(a, 2), x,
             ref=lambda a: np.repeat(a.reshape(-1), 2),
             torch_fn=lambda a: torch.repeat_interleave(a, 2))
    r = np.array([1, 0, 3])
    check_op(lambda a: F.repeat_interleave(a, L.tensor(r), dim=0), x,
             ref=lambda a: np.repeat(a, r, axis=0),
             torch_fn=lambda a: torch.repeat_interleave(a, torch.tensor(r), dim=0))
    with pytest.raises(ValueError, match="repeat_interleave"):
        F.repeat_interleave(L.ones(3), L.tensor([1, 2]))


def test_bernoulli_and_multinomial_are_seeded_and_distributed():
    L.manual_seed(3)
    p = L.full((20000,), 0.3)
    a = L.bernoulli(p).numpy()
    L.manual_seed(3)
    assert np.array_equal(a, L.bernoulli(p).numpy())
    assert set(np.unique(a)) <= {0.0, 1.0} and abs(a.mean() - 0.3) < 0.015
    w = L.tensor([[1.0, 0.0, 3.0], [1.0, 1.0, 2.0]])
    s = L.multinomial(w, 40000, replacement=True).numpy()
    assert s.shape == (2, 40000) and s.dtype == np.int64
    np.testing.assert_allclose(np.bincount(s[0], minlength=3) / 40000, [0.25, 0, 0.75],
                               atol=0.01)
    nr = L.multinomial(w, 2).numpy()  # without replacement: distinct, never a zero weight
    assert (nr[:, 0] != nr[:, 1]).all() and 1 not in nr[0]
    with pytest.raises(ValueError, match="num_samples"):
        L.multinomial(w, 3)
    with pytest.raises(ValueError, match="bernoulli"):
        L.bernoulli(L.tensor([1.5]))


def test_multinomial_without_replacement_first_draw_follows_weights():
    L.manual_seed(0)
    w = L.tensor(np.tile([1.0, 2.0, 7.0], (20000, 1)))
    first = L.multinomial(w, 1).numpy()[:, 0]
    np.testing.assert_allclose(np.bincount(first, minlength=3) / 20000, [0.1, 0.2, 0.7],
                               atol=0.015)

"""Indexing ops: getitem/setitem, gather/scatter, masked_fill, one_hot, topk, sort, ..."""

import numpy as np
import pytest

import lamina as L
import lamina.functional as F
from lamina.testing import check_op

rs = np.random.default_rng(0)
X = rs.standard_normal((4, 5, 3))
M = rs.standard_normal((4, 6))
MASK = M > 0.2
IDX = np.array([2, 0, 2, 3, 2])           # repeated on purpose: gradients must accumulate
G_IDX = rs.integers(0, 6, (3, 4))          # gather along dim 1, smaller than M outside dim 1
SRC = rs.standard_normal((4, 5))


def _np_take_t(x, idx, axis):
    return np.take_along_axis(x[:idx.shape[0]], idx, axis)


def _np_scatter_add(x, idx, src):
    out = x.copy()
    for i in range(idx.shape[0]):
        for j in range(idx.shape[1]):
            out[i, idx[i, j]] += src[i, j]
    return out


def _np_scatter(x, idx, src):
    out = x.copy()
    for i in range(idx.shape[0]):
        for j in range(idx.shape[1]):
            out[i, idx[i, j]] = src[i, j]
    return out


SC_IDX = np.array([[0, 3, 5], [2, 1, 4], [5, 0, 1]])  # unique per row (scatter is then defined)
CASES = [
    ("int", lambda x: x[1], [X], lambda x: x[1], lambda x: x[1]),
    ("neg_int_slice", lambda x: x[-1, 1:4:2], [X], lambda x: x[-1, 1:4:2],
     lambda x: x[-1, 1:4:2]),
    ("ellipsis_none", lambda x: x[..., None, 1], [X], lambda x: x[..., None, 1],
     lambda x: x[..., None, 1]),
    ("list_repeats", lambda x: x[[0, 0, 3, 0]], [X], lambda x: x[[0, 0, 3, 0]],
     lambda x: x[[0, 0, 3, 0]]),
    ("int_array_2d", lambda x, i: x[i], [M, np.array([[1, 1], [3, -1]])], lambda x, i: x[i],
     lambda x, i: x[i]),
    ("adv_mid", lambda x, i: x[:, i], [X, IDX], lambda x, i: x[:, i], lambda x, i: x[:, i]),
    ("adv_pair", lambda x: x[[0, 2, 0], :, [1, 2, 1]], [X], lambda x: x[[0, 2, 0], :, [1, 2, 1]],
     lambda x: x[[0, 2, 0], :, [1, 2, 1]]),
    ("bool_mask", lambda x, m: x[m], [M, MASK], lambda x, m: x[m], lambda x, m: x[m]),
    ("bool_rows", lambda x: x[np.array([True, False, True, True])], [M],
     lambda x: x[[0, 2, 3]], lambda x: x[[0, 2, 3]]),
    ("narrow", lambda x: x.narrow(1, 1, 3), [X], lambda x: x[:, 1:4], lambda x: x.narrow(1, 1, 3)),
    ("gather", lambda x, i: x.gather(1, i), [M, G_IDX], lambda x, i: _np_take_t(x, i, 1),
     lambda x, i: x.gather(1, i)),
    ("gather_dim0", lambda x, i: F.gather(x, 0, i), [M, np.array([[3, 0, 0, 1, 2, 3]])],
     lambda x, i: np.take_along_axis(x, i, 0), lambda x, i: x.gather(0, i)),
    ("take_along_axis", lambda x, i: F.take_along_axis(x, i, 1), [M, np.array([[5, 0, 5]])],
     lambda x, i: np.take_along_axis(x, i, 1), lambda x, i: x.take_along_dim(i, 1)),
    ("index_select", lambda x, i: x.index_select(1, i), [X, IDX],
     lambda x, i: x[:, i], lambda x, i: x.index_select(1, i)),
    ("index_select0", lambda x, i: F.index_select(x, 0, i), [M, np.array([3, 3, 1])],
     lambda x, i: x[[3, 3, 1]], lambda x, i: x.index_select(0, i)),
    ("scatter_add", lambda x, i, s: x.scatter_add(1, i, s), [M, G_IDX, SRC[:3, :4]],
     lambda x, i, s: _np_scatter_add(x, i, s), lambda x, i, s: x.scatter_add(1, i, s)),
    ("scatter_add_big_src", lambda x, i, s: F.scatter_add(x, 1, i, s), [M, G_IDX, SRC],
     lambda x, i, s: _np_scatter_add(x, i, s), None),  # torch's backward rejects this shape
    ("scatter", lambda x, i, s: x.scatter(1, i, s), [M, SC_IDX, SRC[:3, :3]],
     lambda x, i, s: _np_scatter(x, i, s), lambda x, i, s: x.scatter(1, i, s)),
    ("scatter_big_src", lambda x, i, s: x.scatter(1, i, s), [M, SC_IDX, SRC],
     lambda x, i, s: _np_scatter(x, i, s), None),
    ("scatter_value", lambda x, i: F.scatter(x, 1, i, value=0.5), [M, SC_IDX],
     lambda x, i: _np_scatter(x, i, np.full(i.shape, 0.5)), lambda x, i: x.scatter(1, i, 0.5)),
    ("masked_fill", lambda x, m: x.masked_fill(m, -2.0), [M, MASK],
     lambda x, m: np.where(m, -2.0, x), lambda x, m: x.masked_fill(m, -2.0)),
    ("masked_fill_bcast_tensor", lambda x, m, v: x.masked_fill(m, v), [M, MASK[:1], np.array(1.5)],
     lambda x, m, v: np.where(m, v, x), lambda x, m, v: x.masked_fill(m, v)),
    ("topk", lambda x: tuple(x.topk(3, dim=1)), [M],
     lambda x: [-np.sort(-x, 1)[:, :3], np.argsort(-x, 1)[:, :3]], lambda x: tuple(x.topk(3, 1))),
    ("topk_smallest", lambda x: x.topk(2, dim=0, largest=False).values, [M],
     lambda x: np.sort(x, 0)[:2], lambda x: x.topk(2, dim=0, largest=False).values),
    ("topk_all", lambda x: tuple(F.topk(x, 6)), [M],
     lambda x: [-np.sort(-x, 1), np.argsort(-x, 1)], lambda x: tuple(x.topk(6))),
    ("sort", lambda x: tuple(x.sort(dim=0)), [M], lambda x: [np.sort(x, 0), np.argsort(x, 0)],
     lambda x: tuple(x.sort(dim=0))),
    ("sort_desc", lambda x: tuple(F.sort(x, descending=True)), [X],
     lambda x: [-np.sort(-x, -1), np.argsort(-x, -1)], lambda x: tuple(x.sort(descending=True))),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_indexing_op(case):
    _, fn, inputs, ref, _ = case
    check_op(fn, inputs, ref=ref, torch_fn=None)


@pytest.mark.torch
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_indexing_torch_parity(case):
    _, fn, inputs, ref, tfn = case
    if tfn is None:
        pytest.skip("no PyTorch counterpart")
    check_op(fn, inputs, ref=ref, torch_fn=tfn)


@pytest.mark.parametrize("index", [
    lambda i: i, lambda i: i.tolist(), lambda i: L.tensor(i),
    lambda i: (i, slice(None)), lambda i: (i, Ellipsis),
])
def test_repeated_index_gradient_accumulates(index):
    x = L.tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
    idx = np.array([1, 1, 1, -1, 0, 1])
    x[index(idx)].sum().backward()
    np.testing.assert_array_equal(x.grad, np.repeat([[1.0], [4.0], [0.0], [1.0]], 3, axis=1))


def test_repeated_index_gradient_other_ops():
    x = L.ones(5, requires_grad=True)
    (x.index_select(0, L.tensor([4, 4, 0])) * L.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [3, 0, 0, 0, 3])
    y = L.ones(2, 3, requires_grad=True)
    y.gather(1, L.tensor([[2, 2, 2, 2], [0, 1, 0, 0]])).sum().backward()
    np.testing.assert_array_equal(y.grad, [[0, 0, 4], [3, 1, 0]])
    z = L.ones(2, 4, requires_grad=True)
    z[:, [1, 1, 3]][:, [0, 0]].sum().backward()
    np.testing.assert_array_equal(z.grad, [[0, 2, 0, 0], [0, 2, 0, 0]])


def test_getitem_views_and_dtypes():
    x = L.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3), requires_grad=True)
    assert x[0].dtype == np.float32 and x[0, 1].shape == () and x[None].shape == (1, 2, 3)
    assert x[L.tensor(1)].tolist() == [3.0, 4.0, 5.0]  # 0-d integer tensor acts as an int
    assert x[x > 2].tolist() == [3.0, 4.0, 5.0]
    assert [r.tolist() for r in x] == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(IndexError, match="getitem: expected integer or boolean index"):
        x[L.tensor([0.0, 1.0])]


def test_setitem_rules():
    x = L.zeros(2, 3)
    x[0, 1] = 5.0
    x[1] = L.tensor([1.0, 2.0, 3.0])
    x[x == 2.0] = -1.0
    np.testing.assert_array_equal(x.array, [[0, 5, 0], [1, -1, 3]])
    w = L.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad.*no_grad"):
        w[0] = 1.0
    with L.no_grad():
        w[0] = 1.0
    assert w.array[0] == 1.0 and w.requires_grad
    with pytest.raises(RuntimeError, match="part of an autograd graph"):
        (w * 2)[1] = 0.0
    with pytest.raises(RuntimeError, match="value that requires grad"):
        x[0, 0] = w[0]


def test_masked_fill_gradients():
    x = L.tensor(M, requires_grad=True)
    v = L.tensor(0.0, requires_grad=True)
    x.masked_fill(L.tensor(MASK), v).sum().backward()
    np.testing.assert_array_equal(x.grad, (~MASK).astype(float))
    assert v.grad == MASK.sum()
    y = L.tensor(M.astype(np.float32))
    assert y.masked_fill(MASK, float("-inf")).dtype == np.float32


def test_one_hot():
    oh = F.one_hot(L.tensor([[0, 2], [1, 2]]))
    assert oh.dtype == np.int64 and oh.shape == (2, 2, 3)
    np.testing.assert_array_equal(oh.array[0], [[1, 0, 0], [0, 0, 1]])
    assert F.one_hot(L.tensor([1]), num_classes=4).tolist() == [[0, 1, 0, 0]]
    with pytest.raises(ValueError, match=r"one_hot: expected labels in \[0, 3\), got values in "
                                         r"\[0, 3\]"):
        F.one_hot(L.tensor([0, 3]), 3)
    with pytest.raises(TypeError, match="one_hot: expected integer class labels"):
        F.one_hot(L.tensor([0.0, 1.0]))


def test_nonzero_argsort_and_errors():
    a = np.array([[0, 1.5, 0], [2.0, 0, 3.0]])
    x = L.tensor(a)
    nz = x.nonzero()
    assert nz.dtype == np.int64 and nz.tolist() == [[0, 1], [1, 0], [1, 2]]
    rows, cols = x.nonzero(as_tuple=True)
    assert rows.tolist() == [0, 1, 1] and cols.tolist() == [1, 0, 2]
    s = L.tensor([3, 1, 2, 1])
    assert s.argsort().tolist() == [1, 3, 2, 0]
    assert s.argsort(descending=True).tolist() == [0, 2, 1, 3]  # stable among ties, as torch
    vals, idx = L.tensor([True, False, True]).sort(descending=True)
    assert vals.tolist() == [True, True, False]
    with pytest.raises(ValueError, match=r"topk: expected 0 <= k <= 3"):
        x.topk(4)
    with pytest.raises(ValueError, match=r"gather: expected index with 2 dims.*index \(3, 3\) "
                                         r"for x \(2, 3\)"):
        x.gather(1, L.tensor(np.zeros((3, 3), dtype=np.int64)))
    with pytest.raises(TypeError, match="index_select: expected an integer index"):
        x.index_select(0, L.tensor([0.0]))
    with pytest.raises(ValueError, match=r"narrow: expected 0 <= start <= start \+ length <= 3"):
        x.narrow(1, 2, 2)
    with pytest.raises(ValueError, match="scatter_add: expected index no larger than src"):
        x.scatter_add(1, L.tensor([[0, 1]]), L.zeros(1, 1))


@pytest.mark.torch
def test_large_index_backward_matches_torch():
    torch = pytest.importorskip("torch")
    emb = rs.standard_normal((50, 8))
    idx = rs.integers(0, 50, (16, 7))
    x, tx = L.tensor(emb, requires_grad=True), torch.tensor(emb, requires_grad=True)
    w = rs.standard_normal((16, 7, 8))
    (x[idx] * L.tensor(w)).sum().backward()
    (tx[torch.tensor(idx)] * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), atol=1e-12)

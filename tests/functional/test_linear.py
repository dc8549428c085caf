import numpy as np
import pytest

import lamina as L
import lamina.functional as F
from lamina.testing import check_op

CASES = [((5, 4), True), ((4,), True), ((2, 3, 4), False), ((2, 1, 3, 4), True), ((0, 4), True)]


def _case(xshape, bias, seed=0):
    rs = np.random.default_rng(seed)
    ins = [rs.standard_normal(xshape), rs.standard_normal((3, 4))]
    return ins + [rs.standard_normal(3)] if bias else ins


def _ref(x, w, b=None):
    return x @ w.T + (0 if b is None else b)


@pytest.mark.parametrize("xshape,bias", CASES)
def test_linear(xshape, bias):
    check_op(F.linear, _case(xshape, bias), ref=_ref)


@pytest.mark.torch
@pytest.mark.parametrize("xshape,bias", CASES[:4])
def test_linear_torch(xshape, bias):
    import torch.nn.functional as tF
    check_op(F.linear, _case(xshape, bias), torch_fn=tF.linear)


def test_linear_computes_only_needed_grads():
    x = L.tensor(np.ones((2, 3, 4), np.float32))
    w = L.tensor(np.ones((5, 4), np.float32), requires_grad=True)
    b = L.tensor(np.ones(5, np.float32))
    y = F.linear(x, w, b)
    assert y.shape == (2, 3, 5) and y.dtype == np.float32
    y.sum().backward()
    np.testing.assert_array_equal(w.grad, np.full((5, 4), 6.0))
    assert x.grad is None and b.grad is None
    fn = y._creator
    assert tuple(fn.needs_input_grad) == (False, True, False)


def test_linear_shape_errors():
    x, w = L.tensor(np.zeros((32, 784))), L.tensor(np.zeros((10, 512)))
    msg = ("linear: expected x.shape[-1] == weight.shape[1] (in_features), "
           "got x (32, 784) and weight (10, 512)")
    with pytest.raises(L.ShapeError) as e:
        F.linear(x, w)
    assert str(e.value) == msg
    with pytest.raises(L.ShapeError, match=r"linear: .*bias.*\(10,\).*\(5,\)"):
        F.linear(x, L.tensor(np.zeros((10, 784))), L.tensor(np.zeros(5)))
    with pytest.raises(L.ShapeError, match=r"linear: .*\(out_features, in_features\)"):
        F.linear(x, L.tensor(np.zeros(784)))


BI = [((5, 3), (5, 2), True), ((2, 3, 3), (2, 3, 2), False), ((3,), (2,), True)]


def _bi_case(s1, s2, bias):
    rs = np.random.default_rng(1)
    ins = [rs.standard_normal(s1), rs.standard_normal(s2), rs.standard_normal((4, 3, 2))]
    return ins + [rs.standard_normal(4)] if bias else ins


def _bi_ref(a, c, w, b=None):
    return np.einsum("...i,kij,...j->...k", a, w, c) + (0 if b is None else b)


@pytest.mark.parametrize("s1,s2,bias", BI)
def test_bilinear(s1, s2, bias):
    check_op(F.bilinear, _bi_case(s1, s2, bias), ref=_bi_ref)


@pytest.mark.torch
@pytest.mark.parametrize("s1,s2,bias", BI[:2])
def test_bilinear_torch(s1, s2, bias):
    import torch.nn.functional as tF
    check_op(F.bilinear, _bi_case(s1, s2, bias), torch_fn=tF.bilinear)


def test_bilinear_shape_error():
    with pytest.raises(L.ShapeError, match=r"bilinear: .*\(5, 3\).*\(4, 2\).*\(4, 3, 2\)"):
        F.bilinear(np.zeros((5, 3)), np.zeros((4, 2)), np.zeros((4, 3, 2)))

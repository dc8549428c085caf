import numpy as np

import lamina as L
from lamina.testing import check_op, gradcheck


def test_add_mul_matmul_gradcheck():
    rs = np.random.default_rng(0)
    check_op(lambda a, b: a * b + a, [rs.standard_normal((3, 4)), rs.standard_normal((4,))],
             ref=lambda a, b: a * b + a,
             torch_fn=lambda a, b: a * b + a)
    check_op(lambda a, b: a @ b, [rs.standard_normal((2, 3, 4)), rs.standard_normal((4, 5))],
             ref=lambda a, b: a @ b, torch_fn=lambda a, b: a @ b)


def test_gradcheck_catches_wrong_backward():
    from lamina.autograd import Function

    class Bad(Function):
        def forward(self, x):
            return x * x

        def backward(self, gy):
            return (gy,)  # wrong: should be 2x gy

    try:
        gradcheck(lambda x: Bad.apply(x), np.ones(3))
    except AssertionError as e:
        assert "input 0" in str(e)
    else:
        raise AssertionError("gradcheck accepted a wrong gradient")


def test_long_chain_no_recursion():
    x = L.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(10000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad[0] == 1.0

import numpy as np
import pytest
from scipy.special import erf

import lamina as L
import lamina.functional as F
from lamina.testing import check_op

KINKS = (0.0, 1.0, -1.0, 3.0, -3.0, 6.0, 2.5, -2.0)


def _x(shape=(4, 5), scale=4.0, seed=0):
    """Random inputs spread over every piece of the piecewise ops, kept away from the kinks."""
    x = np.random.default_rng(seed).uniform(-scale, scale, shape) * 2
    for k in KINKS:
        x[np.abs(x - k) < 0.05] += 0.1
    return x


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _softplus(x, beta=1.0, th=20.0):
    return np.where(beta * x > th, x, np.log1p(np.exp(np.minimum(beta * x, th))) / beta)


def _elu(x, a=1.0):
    return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0)))


def _softmax(x, d):
    e = np.exp(x - x.max(axis=d, keepdims=True))
    return e / e.sum(axis=d, keepdims=True)


_SA, _SS = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

# name -> (lamina fn, NumPy reference, torch fn taking (torch.nn.functional, x))
CASES = {
    "sigmoid": (F.sigmoid, _sig, lambda t, x: t.sigmoid(x)),
    "tanh": (F.tanh, np.tanh, lambda t, x: t.tanh(x)),
    "relu": (F.relu, lambda x: np.maximum(x, 0), lambda t, x: t.relu(x)),
    "relu6": (F.relu6, lambda x: np.clip(x, 0, 6), lambda t, x: t.relu6(x)),
    "leaky_relu": (F.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x),
                   lambda t, x: t.leaky_relu(x)),
    "leaky_relu_0.2": (lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x),
                       lambda t, x: t.leaky_relu(x, 0.2)),
    "elu": (F.elu, _elu, lambda t, x: t.elu(x)),
    "elu_0.5": (lambda x: F.elu(x, alpha=0.5), lambda x: _elu(x, 0.5),
                lambda t, x: t.elu(x, alpha=0.5)),
    "selu": (F.selu, lambda x: _SS * _elu(x, _SA), lambda t, x: t.selu(x)),
    "celu_2": (lambda x: F.celu(x, 2.0), lambda x: np.where(x > 0, x, 2 * np.expm1(x / 2)),
               lambda t, x: t.celu(x, 2.0)),
    "gelu": (F.gelu, lambda x: 0.5 * x * (1 + erf(x / np.sqrt(2))), lambda t, x: t.gelu(x)),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
                  lambda t, x: t.gelu(x, approximate="tanh")),
    "softplus": (F.softplus, _softplus, lambda t, x: t.softplus(x)),
    "softplus_b2_t5": (lambda x: F.softplus(x, beta=2, threshold=5),
                       lambda x: _softplus(x, 2.0, 5.0),
                       lambda t, x: t.softplus(x, beta=2, threshold=5)),
    "silu": (F.silu, lambda x: x * _sig(x), lambda t, x: t.silu(x)),
    "swish": (F.swish, lambda x: x * _sig(x), lambda t, x: t.silu(x)),
    "mish": (F.mish, lambda x: x * np.tanh(_softplus(x)), lambda t, x: t.mish(x)),
    "hardtanh": (F.hardtanh, lambda x: np.clip(x, -1, 1), lambda t, x: t.hardtanh(x)),
    "hardtanh_-2_2.5": (lambda x: F.hardtanh(x, -2.0, 2.5), lambda x: np.clip(x, -2, 2.5),
                        lambda t, x: t.hardtanh(x, -2.0, 2.5)),
    "hardsigmoid": (F.hardsigmoid, lambda x: np.clip(x + 3, 0, 6) / 6,
                    lambda t, x: t.hardsigmoid(x)),
    "hard_sigmoid": (F.hard_sigmoid, lambda x: np.clip(x + 3, 0, 6) / 6,
                     lambda t, x: t.hardsigmoid(x)),
    "hardswish": (F.hardswish, lambda x: x * np.clip(x + 3, 0, 6) / 6,
                  lambda t, x: t.hardswish(x)),
    "softmax": (F.softmax, lambda x: _softmax(x, -1), lambda t, x: t.softmax(x, dim=-1)),
    "softmax_dim0": (lambda x: F.softmax(x, dim=0), lambda x: _softmax(x, 0),
                     lambda t, x: t.softmax(x, dim=0)),
    "softmin_axis0": (lambda x: F.softmin(x, axis=0), lambda x: _softmax(-x, 0),
                      lambda t, x: t.softmin(x, dim=0)),
    "log_softmax": (F.log_softmax, lambda x: np.log(_softmax(x, -1)),
                    lambda t, x: t.log_softmax(x, dim=-1)),
    "log_softmax_dim0": (lambda x: F.log_softmax(x, 0), lambda x: np.log(_softmax(x, 0)),
                         lambda t, x: t.log_softmax(x, dim=0)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_activation(name):
    fn, ref, _ = CASES[name]
    check_op(fn, [_x()], ref=ref, torch_fn=None)


@pytest.mark.torch
@pytest.mark.parametrize("name", list(CASES))
def test_activation_torch(name):
    import torch.nn.functional as tF
    fn, ref, tfn = CASES[name]
    check_op(fn, [_x()], ref=ref, torch_fn=lambda x: tfn(tF, x))


@pytest.mark.parametrize("name", ["sigmoid", "softplus", "silu", "mish", "elu", "selu",
                                  "gelu", "log_softmax", "softmax", "softmin_axis0"])
def test_extreme_inputs_float32(name):
    fn = CASES[name][0]
    x = L.tensor(np.array([[-1000.0, -50.0, 0.5, 50.0, 1000.0]], np.float32), requires_grad=True)
    y = fn(x)
    (y * L.tensor(np.arange(5, dtype=np.float32))).sum().backward()
    assert y.dtype == np.float32 and np.isfinite(y.array).all()
    assert np.isfinite(x.grad).all()


def test_sigmoid_saturates_exactly():
    y = F.sigmoid(L.tensor(np.array([-1000.0, 1000.0], np.float32)))
    np.testing.assert_array_equal(y.array, [0.0, 1.0])


def test_kink_subgradients_match_torch_convention():
    x = L.tensor(np.array([0.0, 6.0, -3.0, 3.0, 1.0, -1.0]), requires_grad=True)
    for fn, want in [(F.relu, [0, 1, 0, 1, 1, 0]), (F.relu6, [0, 0, 0, 1, 1, 0]),
                     (F.hardtanh, [1, 0, 0, 0, 0, 0]),
                     (F.leaky_relu, [0.01, 1, 0.01, 1, 1, 0.01]),
                     (F.hardsigmoid, [1 / 6, 0, 0, 0, 1 / 6, 1 / 6]),
                     (F.hardswish, [0.5, 1, 0, 1, 5 / 6, 1 / 6])]:
        x.grad = None
        fn(x).sum().backward()
        np.testing.assert_allclose(x.grad, want, err_msg=fn.__name__)


def test_step_has_no_gradient():
    x = L.tensor(np.array([-1.0, 0.0, 2.0], np.float32), requires_grad=True)
    y = F.step(x)
    np.testing.assert_array_equal(y.array, [0, 0, 1])
    assert y.dtype == np.float32 and not y.requires_grad
    check_op(F.step, [_x()], ref=lambda x: (x > 0).astype(x.dtype), grad=False)


@pytest.mark.parametrize("wshape", [(3,), (1,)])
def test_prelu(wshape):
    rs = np.random.default_rng(3)
    x, w = _x((2, 3, 4)), rs.uniform(0.05, 0.5, wshape)

    def ref(x, w):
        return np.where(x > 0, x, (w.reshape(1, -1, 1) if w.size > 1 else w) * x)
    check_op(F.prelu, [x, w], ref=ref, torch_fn=None)


@pytest.mark.torch
@pytest.mark.parametrize("shape,wshape", [((2, 3, 4), (3,)), ((2, 3, 4), (1,)), ((5, 3), (3,)),
                                          ((6,), (1,))])
def test_prelu_torch(shape, wshape):
    import torch.nn.functional as tF
    w = np.random.default_rng(3).uniform(0.05, 0.5, wshape)
    check_op(F.prelu, [_x(shape), w], torch_fn=tF.prelu)


def test_prelu_shape_error():
    with pytest.raises(L.ShapeError, match=r"prelu.*\(2, 3, 4\).*\(4,\)"):
        F.prelu(L.tensor(_x((2, 3, 4))), L.tensor(np.ones(4)))


def _mask(shape=(4, 5), seed=1, full_row=None):
    m = np.random.default_rng(seed).random(shape) > 0.4
    m[..., 0] = True
    if full_row is not None:
        m[full_row] = False
    return m


def _masked_ref(x, m):
    e = np.where(m, np.exp(x - np.where(m, x, -np.inf).max(-1, keepdims=True)), 0)
    with np.errstate(invalid="ignore"):
        return e / e.sum(-1, keepdims=True)


def test_masked_softmax():
    m = _mask()
    check_op(lambda x: F.masked_softmax(x, m), [_x()], ref=lambda x: _masked_ref(x, m))


@pytest.mark.torch
def test_masked_softmax_torch():
    import torch
    m = _mask((2, 3, 5))
    check_op(lambda x: F.masked_softmax(x, L.tensor(m), dim=-1), [_x((2, 3, 5))],
             torch_fn=lambda x: torch.softmax(x.masked_fill(~torch.tensor(m), -np.inf), -1))


def test_masked_softmax_fully_masked_row_is_zero_with_zero_grad():
    m = _mask(full_row=2)
    x = L.tensor(_x().astype(np.float32), requires_grad=True)
    y = F.masked_softmax(x, m)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.array[2], 0.0)
    np.testing.assert_allclose(y.array.sum(-1)[[0, 1, 3]], 1.0, rtol=1e-6)
    assert (y.array[~m] == 0).all()
    (y * L.tensor(np.arange(20, dtype=np.float32).reshape(4, 5))).sum().backward()
    assert np.isfinite(x.grad).all()
    np.testing.assert_array_equal(x.grad[2], 0.0)
    np.testing.assert_array_equal(x.grad[~m], 0.0)
    # gradcheck with the empty row present (float64) and a broadcast (1, 5) mask on dim 0
    check_op(lambda x: F.masked_softmax(x, m), [_x()], ref=lambda x: np.nan_to_num(
        _masked_ref(x, m)))
    m0 = _mask((4, 1))
    check_op(lambda x: F.masked_softmax(x, m0, dim=0), [_x()],
             ref=lambda x: _masked_ref(x.T, m0.T).T)


def test_masked_softmax_shape_error():
    with pytest.raises(L.ShapeError, match=r"masked_softmax.*\(4, 5\).*\(4, 3\)"):
        F.masked_softmax(L.tensor(_x()), np.ones((4, 3), bool))


def test_tensor_methods():
    x = L.tensor(_x(), requires_grad=True)
    np.testing.assert_allclose(x.relu().array, F.relu(x).array)
    np.testing.assert_allclose(x.sigmoid().array, _sig(x.array))
    np.testing.assert_allclose(x.softmax(0).array, _softmax(x.array, 0), rtol=1e-6)
    np.testing.assert_allclose(x.log_softmax(-1).array, np.log(_softmax(x.array, -1)), rtol=1e-6)
    np.testing.assert_allclose(x.tanh().array, np.tanh(x.array))
    w = L.tensor(np.array([0.1]))
    np.testing.assert_allclose(x.prelu(w).array, np.where(x.array > 0, x.array, 0.1 * x.array))


def test_bad_arguments():
    with pytest.raises(ValueError, match="gelu"):
        F.gelu(L.tensor(_x()), approximate="fast")
    with pytest.raises(ValueError, match="celu"):
        F.celu(L.tensor(_x()), alpha=0.0)

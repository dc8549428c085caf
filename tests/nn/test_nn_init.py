"""nn.init: gains, fans (linear and conv weights), statistics of every initialiser, dtype,
determinism."""

import math

import numpy as np
import pytest

import lamina as L
import lamina.nn as nn
from lamina.nn import init


def _t(shape, dtype=np.float32):
    return L.Parameter(np.zeros(shape, dtype=dtype))


@pytest.mark.torch
def test_gain_and_fans_match_torch():
    import torch
    for nl, p in [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                  ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None), ("conv2d", None)]:
        assert init.calculate_gain(nl, p) == pytest.approx(torch.nn.init.calculate_gain(nl, p))
    for shape in [(10, 20), (8, 3, 5, 5), (4, 6, 3), (2, 3, 2, 2, 2)]:
        got = init._calculate_fan_in_and_fan_out(_t(shape))
        want = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
        assert got == want
    with pytest.raises(ValueError, match="calculate_gain"):
        init.calculate_gain("softmax")


def test_fan_needs_2d():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.xavier_uniform_(_t((5,)))


# (initialiser, expected mean, expected variance) on a conv weight: fan_in = 64*9, fan_out = 128*9
FI, FO = 64 * 9, 128 * 9
CASES = [
    (lambda t: init.uniform_(t, -2.0, 1.0), -0.5, 9 / 12),
    (lambda t: init.normal_(t, 0.3, 0.5), 0.3, 0.25),
    (lambda t: init.xavier_uniform_(t), 0.0, 2 / (FI + FO)),
    (lambda t: init.xavier_normal_(t, gain=2.0), 0.0, 4 * 2 / (FI + FO)),
    (lambda t: init.kaiming_uniform_(t, nonlinearity="relu"), 0.0, 2 / FI),
    (lambda t: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"), 0.0, 2 / FO),
    (lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)), 0.0, 1 / (3 * FI)),
    (lambda t: init.kaiming_normal_(t, a=0.1), 0.0, 2 / (1.01 * FI)),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_init_statistics(case):
    fn, mean, var = CASES[case]
    t = _t((128, 64, 3, 3))
    out = fn(t)
    assert out is t and t.dtype == np.float32
    a = t.numpy()
    assert abs(a.mean() - mean) < 0.01 * max(1.0, math.sqrt(var) * 10)
    np.testing.assert_allclose(a.var(), var, rtol=0.03)


def test_uniform_bounds_and_dtype_kept():
    t = _t((200, 100), np.float64)
    init.xavier_uniform_(t)
    bound = math.sqrt(6 / 300)
    assert t.dtype == np.float64 and np.abs(t.numpy()).max() <= bound
    assert np.abs(t.numpy()).max() > 0.99 * bound


def test_constants_eye_trunc_orthogonal():
    t = _t((3, 4))
    np.testing.assert_array_equal(init.ones_(t).numpy(), 1)
    np.testing.assert_array_equal(init.zeros_(t).numpy(), 0)
    np.testing.assert_array_equal(init.constant_(t, 2.5).numpy(), 2.5)
    np.testing.assert_array_equal(init.eye_(t).numpy(), np.eye(3, 4))
    big = _t((300, 300))
    init.trunc_normal_(big, std=1.0, a=-1.0, b=1.5)
    a = big.numpy()
    assert a.min() >= -1.0 and a.max() <= 1.5 and a.min() < -0.99 and a.max() > 1.49
    for shape in [(5, 8), (8, 5), (6, 2, 2, 2)]:
        w = init.orthogonal_(_t(shape), gain=2.0).numpy().reshape(shape[0], -1)
        small = min(w.shape)
        gram = w @ w.T if w.shape[0] == small else w.T @ w
        np.testing.assert_allclose(gram, 4 * np.eye(small), atol=1e-5)


def test_init_is_seeded():
    L.manual_seed(11)
    a = init.kaiming_normal_(_t((10, 10))).numpy().copy()
    L.manual_seed(11)
    np.testing.assert_array_equal(init.kaiming_normal_(_t((10, 10))).numpy(), a)
    b = init.kaiming_normal_(_t((10, 10))).numpy()
    assert not np.array_equal(a, b)


def test_init_via_module_apply():
    model = nn.Sequential(nn.Linear(20, 30), nn.Tanh(), nn.Linear(30, 5))

    def xavier(m):
        if isinstance(m, nn.Linear):
            init.xavier_normal_(m.weight, gain=init.calculate_gain("tanh"))
            init.zeros_(m.bias)

    model.apply(xavier)
    assert not model[0].bias.numpy().any() and not model[2].bias.numpy().any()


def test_vanishing_gradients_sigmoid_vs_relu_kaiming():
    """Seed Q12: through 20 sigmoid layers the first layer's gradient all but vanishes; ReLU
    with Kaiming init keeps it within an order of magnitude of the last layer's."""
    def grad_ratio(act, init_name):
        L.manual_seed(0)
        layers = []
        for _ in range(20):
            layers += [nn.Linear(64, 64, init=init_name), act()]
        model = nn.Sequential(*layers)
        x = L.randn(128, 64)
        model(x).pow(2).mean().backward()
        first = np.abs(model[0].weight.grad).mean()
        last = np.abs(model[len(layers) - 2].weight.grad).mean()
        return first / last

    assert grad_ratio(nn.Sigmoid, "xavier_uniform") < 1e-4
    assert 0.1 < grad_ratio(nn.ReLU, "kaiming_normal") < 10

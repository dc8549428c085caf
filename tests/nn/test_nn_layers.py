"""Layers: Linear, Neuron, shape helpers, Dropout family, Residual, activation modules."""

import math

import numpy as np
import pytest

import lamina as L
import lamina.functional as F
import lamina.nn as nn


# ----------------------------------------------------------------------------- Linear
@pytest.mark.torch
def test_linear_torch_parity_via_state_dict(rs):
    import torch
    tl = torch.nn.Linear(7, 5)
    ll = nn.Linear(7, 5)
    assert list(ll.state_dict()) == list(tl.state_dict()) == ["weight", "bias"]
    ll.load_state_dict({k: v.detach().numpy() for k, v in tl.state_dict().items()})
    x = rs.standard_normal((3, 4, 7)).astype(np.float32)
    xt, xl = torch.tensor(x, requires_grad=True), L.tensor(x, requires_grad=True)
    yt, yl = tl(xt), ll(xl)
    assert yl.shape == (3, 4, 5) and yl.dtype == np.float32
    np.testing.assert_allclose(yl.numpy(), yt.detach().numpy(), atol=1e-5)
    g = rs.standard_normal((3, 4, 5)).astype(np.float32)
    (yt * torch.tensor(g)).sum().backward()
    (yl * L.tensor(g)).sum().backward()
    np.testing.assert_allclose(xl.grad, xt.grad.numpy(), atol=1e-5)
    np.testing.assert_allclose(ll.weight.grad, tl.weight.grad.numpy(), atol=1e-4)
    np.testing.assert_allclose(ll.bias.grad, tl.bias.grad.numpy(), atol=1e-4)


def test_linear_default_init_matches_torch_bounds():
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = layer.weight.numpy(), layer.bias.numpy()
    assert w.dtype == np.float32 and np.abs(w).max() <= bound and np.abs(b).max() <= bound
    np.testing.assert_allclose(w.var(), bound ** 2 / 3, rtol=0.03)  # U(-a, a): a^2 / 3
    assert np.abs(b).max() > 0.9 * bound


@pytest.mark.parametrize("init,var", [("xavier_uniform", 2 / (300 + 200)),
                                      ("xavier_normal", 2 / (300 + 200)),
                                      ("kaiming_uniform", 2 / 300),
                                      ("kaiming_normal", 2 / 300)])
def test_linear_named_inits(init, var):
    layer = nn.Linear(300, 200, init=init)
    np.testing.assert_allclose(layer.weight.numpy().var(), var, rtol=0.05)
    np.testing.assert_array_equal(layer.bias.numpy(), 0)


def test_linear_zeros_callable_no_bias_and_errors():
    assert not nn.Linear(3, 2, init="zeros").weight.numpy().any()
    layer = nn.Linear(3, 2, bias=False, init=lambda w: nn.init.constant_(w, 0.5))
    assert layer.bias is None and list(layer.state_dict()) == ["weight"]
    np.testing.assert_allclose(layer(L.ones(1, 3)).numpy(), [[1.5, 1.5]])
    assert "bias=False" in repr(layer)
    with pytest.raises(ValueError, match="init"):
        nn.Linear(3, 2, init="glorot")
    with pytest.raises(ValueError, match="linear"):
        nn.Linear(3, 2)(L.randn(4, 5))


def test_linear_manual_seed_reproducible():
    L.manual_seed(3)
    a = nn.Linear(4, 4).weight.numpy().copy()
    L.manual_seed(3)
    np.testing.assert_array_equal(a, nn.Linear(4, 4).weight.numpy())


# ----------------------------------------------------------------------------- Neuron
def test_neuron_summation_and_activation_exposed(rs):
    n = nn.Neuron(3, activation="sigmoid")
    assert [k for k, _ in n.named_parameters()] == ["weights", "bias"]
    assert n.weights.shape == (3,) and n.bias.shape == ()
    x = L.tensor(rs.standard_normal((5, 3)).astype(np.float32), requires_grad=True)
    z = n.summation(x)
    np.testing.assert_allclose(z.numpy(), x.numpy() @ n.weights.numpy() + n.bias.numpy(),
                               rtol=1e-6)
    y = n(x)
    np.testing.assert_allclose(y.numpy(), 1 / (1 + np.exp(-z.numpy())), rtol=1e-6)
    y.sum().backward()
    s = y.numpy()
    np.testing.assert_allclose(n.bias.grad, (s * (1 - s)).sum(), rtol=1e-5)
    with pytest.raises(ValueError, match="Neuron: expected input with 3 features"):
        n(L.randn(5, 4))


def test_neuron_step_and_other_activations():
    n = nn.Neuron(2, activation="step")
    n.weights.array[...] = [1.0, 1.0]
    n.bias.array[...] = -1.5  # AND gate
    x = L.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_array_equal(n(x).numpy(), [0, 0, 0, 1])
    assert isinstance(nn.Neuron(2, "relu").activation, nn.ReLU)
    assert isinstance(nn.Neuron(2, "tanh").activation, nn.Tanh)
    custom = nn.Neuron(2, activation=lambda z: z * 2)
    np.testing.assert_allclose(custom(x).numpy(), 2 * custom.summation(x).numpy())
    with pytest.raises(ValueError, match="activation"):
        nn.Neuron(2, activation="sigmoidd")


# ----------------------------------------------------------------------------- shape helpers
def test_identity_flatten_unflatten_residual():
    x = L.randn(2, 3, 4, 5, requires_grad=True)
    assert nn.Identity(54, foo=1)(x) is x
    f = nn.Flatten()
    y = f(x)
    assert y.shape == (2, 60) and "start_dim=1" in repr(f)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Unflatten(1, (3, 4, 5))(y).shape == (2, 3, 4, 5)
    r = nn.Residual(nn.Linear(5, 5))
    h = L.randn(4, 5, requires_grad=True)
    out = r(h)
    np.testing.assert_allclose(out.numpy(), h.numpy() + r.module(h).numpy(), rtol=1e-6)
    out.sum().backward()
    assert h.grad.shape == (4, 5) and r.module.weight.grad is not None
    assert list(r.state_dict()) == ["module.weight", "module.bias"]
    with pytest.raises(ValueError, match="Residual"):
        nn.Residual(nn.Linear(5, 3))(h)


# ----------------------------------------------------------------------------- dropout
def test_dropout_statistics_and_eval_identity():
    x = L.ones(200, 500)
    d = nn.Dropout(0.3)
    y = d(x).numpy()
    assert abs((y == 0).mean() - 0.3) < 0.01
    np.testing.assert_allclose(y[y != 0], 1 / 0.7, rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.01  # inverted scaling preserves the mean
    assert y.dtype == np.float32
    d.eval()
    assert d(x) is x
    assert F.dropout(x, 0.0, training=True) is x
    assert not F.dropout(x, 1.0).numpy().any()
    with pytest.raises(ValueError, match=r"p in \[0, 1\]"):
        nn.Dropout(1.5)


def test_dropout_gradient_and_seed():
    x = L.randn(50, 40, requires_grad=True)
    L.manual_seed(7)
    y = F.dropout(x, 0.5)
    y.sum().backward()
    kept = y.numpy() != 0
    np.testing.assert_allclose(x.grad, kept * 2.0)
    L.manual_seed(7)
    np.testing.assert_array_equal(F.dropout(x, 0.5).numpy(), y.numpy())


def test_dropout2d_channelwise():
    x = L.ones(64, 32, 4, 4)
    y = nn.Dropout2d(0.5)(x).numpy()
    per_map = y.reshape(64, 32, -1)
    assert (per_map.min(-1) == per_map.max(-1)).all()  # whole feature maps dropped or kept
    assert abs((per_map[..., 0] == 0).mean() - 0.5) < 0.05
    assert set(np.unique(y)) == {0.0, 2.0}
    with pytest.warns(UserWarning, match="3D input"):  # read as (N, C, L), as torch 2.13
        y3 = F.dropout2d(L.ones(8, 4, 40), 0.5).numpy()
    assert (y3.min(-1) == y3.max(-1)).all()  # whole (n, c) rows dropped or kept
    assert 0 < (y3[..., 0] == 0).mean() < 1
    with pytest.warns(UserWarning, match="2-D input"):  # torch 2.13: whole rows of (C, L)
        y2 = F.dropout2d(L.ones(6, 50), 0.5).numpy()
    assert (y2.min(-1) == y2.max(-1)).all()
    with pytest.raises(ValueError, match="dropout2d"):
        F.dropout2d(L.ones(4), 0.5)
    y1 = nn.Dropout1d(0.5)(L.ones(4, 16, 10)).numpy()
    assert (y1.min(-1) == y1.max(-1)).all()


def test_alpha_dropout_keeps_selu_statistics():
    x = F.selu(L.randn(400, 500) * 1.0)
    m0, s0 = x.numpy().mean(), x.numpy().std()
    y = nn.AlphaDropout(0.2)(x).numpy()
    assert abs(y.mean() - m0) < 0.05 and abs(y.std() - s0) < 0.05


# ----------------------------------------------------------------------------- activations
ACTS = [("Sigmoid", {}), ("Tanh", {}), ("ReLU", {}), ("ReLU6", {}), ("LeakyReLU", {}),
        ("LeakyReLU", {"negative_slope": 0.2}), ("ELU", {"alpha": 0.7}), ("SELU", {}),
        ("CELU", {"alpha": 1.5}), ("GELU", {}), ("GELU", {"approximate": "tanh"}),
        ("SiLU", {}), ("Mish", {}), ("Softplus", {"beta": 2.0}), ("Hardtanh", {}),
        ("Hardsigmoid", {}), ("Hardswish", {}), ("Softmax", {"dim": 1}),
        ("Softmin", {"dim": 1}), ("LogSoftmax", {"dim": 1})]


@pytest.mark.torch
@pytest.mark.parametrize("name,kw", ACTS)
def test_activation_modules_torch_parity(rs, name, kw):
    import torch
    x = rs.uniform(-4, 4, (4, 6)).astype(np.float32)
    for k in (0.0, 1.0, -1.0, 3.0, -3.0, 6.0):
        x[np.abs(x - k) < 0.05] += 0.1
    tm, lm = getattr(torch.nn, name)(**kw), getattr(nn, name)(**kw)
    xt, xl = torch.tensor(x, requires_grad=True), L.tensor(x, requires_grad=True)
    yt, yl = tm(xt), lm(xl)
    np.testing.assert_allclose(yl.numpy(), yt.detach().numpy(), atol=1e-5, rtol=1e-5)
    g = rs.standard_normal(x.shape).astype(np.float32)
    (yt * torch.tensor(g)).sum().backward()
    (yl * L.tensor(g)).sum().backward()
    np.testing.assert_allclose(xl.grad, xt.grad.numpy(), atol=1e-5, rtol=1e-4)
    assert yl.dtype == np.float32
    for key, val in kw.items():
        assert str(val) in repr(lm) or key == "approximate" and val in repr(lm)


@pytest.mark.torch
@pytest.mark.parametrize("num", [1, 3])
def test_prelu_torch_parity(rs, num):
    import torch
    tm, lm = torch.nn.PReLU(num), nn.PReLU(num)
    assert list(lm.state_dict()) == ["weight"]
    np.testing.assert_allclose(lm.weight.numpy(), 0.25)
    with torch.no_grad():
        tm.weight.uniform_(0.1, 0.5)
    lm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    x = rs.standard_normal((4, 3, 5)).astype(np.float32)
    xt, xl = torch.tensor(x, requires_grad=True), L.tensor(x, requires_grad=True)
    yt, yl = tm(xt), lm(xl)
    np.testing.assert_allclose(yl.numpy(), yt.detach().numpy(), atol=1e-6)
    yt.pow(2).sum().backward()
    (yl * yl).sum().backward()
    np.testing.assert_allclose(xl.grad, xt.grad.numpy(), atol=1e-5)
    np.testing.assert_allclose(lm.weight.grad, tm.weight.grad.numpy(), rtol=1e-4)
    assert f"num_parameters={num}" in repr(lm)


def test_step_module_and_get_activation():
    y = nn.Step()(L.tensor([-1.0, 0.0, 2.0], requires_grad=True))
    np.testing.assert_array_equal(y.numpy(), [0, 0, 1])
    assert not y.requires_grad
    assert isinstance(nn.get_activation("gelu"), nn.GELU)
    assert isinstance(nn.get_activation(None), nn.Identity)
    assert isinstance(nn.get_activation(nn.Tanh), nn.Tanh)
    relu = nn.ReLU(inplace=True)
    assert nn.get_activation(relu) is relu
    assert "negative_slope=0.2" in repr(nn.LeakyReLU(0.2))
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")

"""Perceptron (seed Q3: learning rule, convergence on separable data, failure on XOR) and the
MLP (seed Q4: a hidden layer solves XOR)."""

import numpy as np
import pytest

import lamina as L
import lamina.functional as F
from lamina.models import MLP, Perceptron
from lamina.models.perceptron import ConvergenceWarning

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([0, 1, 1, 0])


def test_perceptron_iris_setosa_vs_rest():
    from sklearn.datasets import load_iris
    X, y = load_iris(return_X_y=True)
    y = (y == 0).astype(np.int64)  # setosa is linearly separable from the other two
    p = Perceptron(4, lr=1.0, max_epochs=100).fit(X, y)
    assert p.converged_ and p.errors_[-1] == 0 and p.errors_[0] > 0
    assert p.n_epochs_ == len(p.errors_) < 100
    assert (p.predict(X) == y).mean() == 1.0 and p.score(X, y) == 1.0
    assert p.predict(X).dtype == np.int64
    assert not p.weight.requires_grad  # trained by the perceptron rule, not backprop
    np.testing.assert_array_equal(p(L.tensor(X)).numpy(), y)
    assert list(p.state_dict()) == ["weight", "bias"]


def test_perceptron_rule_single_update():
    p = Perceptron(2, lr=0.5, max_epochs=1)
    with pytest.warns(ConvergenceWarning):
        p.fit(np.array([[1.0, 2.0]]), np.array([1]))  # step(0) = 0: one update, no clean epoch
    np.testing.assert_allclose(p.weight.numpy(), [0.5, 1.0])
    assert p.bias.item() == 0.5 and p.errors_ == [1]


def test_perceptron_xor_does_not_converge():
    p = Perceptron(2, max_epochs=50)
    with pytest.warns(ConvergenceWarning, match="not linearly separable"):
        p.fit(XOR_X, XOR_Y)
    assert not p.converged_ and len(p.errors_) == 50 and min(p.errors_) > 0
    assert (p.predict(XOR_X) == XOR_Y).mean() < 1.0


def test_perceptron_input_errors():
    with pytest.raises(ValueError, match=r"Perceptron: expected X of shape \(N, 3\)"):
        Perceptron(3).fit(XOR_X, XOR_Y)
    with pytest.raises(ValueError, match=r"values in \{0, 1\}"):
        Perceptron(2).fit(XOR_X, XOR_Y * 2 - 1)


def test_mlp_solves_xor():
    L.manual_seed(0)
    model = MLP(2, (8,), 1, activation="tanh")
    x, y = L.tensor(XOR_X), L.tensor(XOR_Y.astype(np.float32))
    lr = 0.5
    for _ in range(1000):
        loss = F.binary_cross_entropy_with_logits(model(x).reshape(-1), y)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.array -= lr * p.grad.array
    pred = (model(x).numpy().ravel() > 0).astype(int)
    assert (pred == XOR_Y).all() and loss.item() < 0.1


def test_mlp_structure_and_torch_keys():
    m = MLP(10, (16, 8), 3, activation="gelu", dropout=0.2, batch_norm=True,
            init="kaiming_normal")
    kinds = [type(layer).__name__ for layer in m]
    assert kinds == ["Linear", "BatchNorm1d", "GELU", "Dropout"] * 2 + ["Linear"]
    assert list(m.state_dict())[:2] == ["0.weight", "0.bias"]
    assert "8.weight" in m.state_dict()
    assert m(L.randn(4, 10)).shape == (4, 3)
    assert [type(x).__name__ for x in MLP(5, (), 2)] == ["Linear"]
    with pytest.raises(TypeError, match="out_features"):
        MLP(5, (4,))


@pytest.mark.torch
def test_mlp_loads_torch_sequential():
    import torch
    t = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 5),
                            torch.nn.ReLU(), torch.nn.Linear(5, 2))
    m = MLP(6, (5, 5), 2)
    m.load_state_dict(t.state_dict())
    x = np.random.default_rng(0).standard_normal((3, 6)).astype(np.float32)
    np.testing.assert_allclose(m(L.tensor(x)).numpy(), t(torch.tensor(x)).detach().numpy(),
                               atol=1e-6)

"""L1/L2 penalties and the proximal L1 step (seed Q13/Q19), on toy modules and on real data
(scikit-learn's breast cancer set)."""

import functools

import numpy as np
import pytest

import lamina as L
import lamina.functional as F
import lamina.nn as nn


def _model():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2),
                         nn.LayerNorm(2))


def test_penalties_cover_weights_only():
    m = _model()
    names = [n for n, _ in nn.regularized_parameters(m)]
    assert names == ["0.weight", "3.weight"]
    all_names = [n for n, _ in nn.regularized_parameters(m, include_bias=True)]
    assert all_names == [n for n, _ in m.named_parameters()]
    w0, w3 = m[0].weight.numpy(), m[3].weight.numpy()
    l1 = nn.l1_penalty(m)
    l2 = nn.l2_penalty(m)
    np.testing.assert_allclose(l1.item(), np.abs(w0).sum() + np.abs(w3).sum(), rtol=1e-6)
    np.testing.assert_allclose(l2.item(), (w0 ** 2).sum() + (w3 ** 2).sum(), rtol=1e-6)
    assert l1.dtype == np.float32
    (l1 + 0.5 * l2).backward()
    np.testing.assert_allclose(m[0].weight.grad, np.sign(w0) + w0, rtol=1e-6)
    assert m[0].bias.grad is None and m[1].weight.grad is None and m[4].bias.grad is None
    m[3].weight.requires_grad = False  # frozen parameters are not penalised
    assert [n for n, _ in nn.regularized_parameters(m)] == ["0.weight"]


def test_l1l2_regularizer_and_empty_module():
    m = _model()
    reg = nn.L1L2Regularizer(l1=0.1, l2=0.01)
    want = 0.1 * nn.l1_penalty(m).item() + 0.01 * nn.l2_penalty(m).item()
    np.testing.assert_allclose(reg(m).item(), want, rtol=1e-6)
    assert "l1=0.1" in repr(reg)
    assert nn.l1_penalty(nn.ReLU()).item() == 0.0
    with pytest.raises(ValueError, match="l1 >= 0"):
        nn.L1L2Regularizer(l1=-1.0)


def test_prox_l1_soft_threshold_exact():
    lin = nn.Linear(4, 1)
    lin.weight.array[...] = [[0.5, -0.05, 0.1, -0.3]]
    lin.bias.array[...] = 0.01
    zeros = nn.prox_l1_(lin, lr=0.5, l1=0.2)  # threshold 0.1
    np.testing.assert_allclose(lin.weight.numpy(), [[0.4, 0.0, 0.0, -0.2]], atol=1e-7)
    assert zeros == 2 and (lin.weight.numpy() == 0).sum() == 2
    assert lin.bias.numpy()[0] == pytest.approx(0.01)  # biases untouched


@functools.lru_cache(maxsize=1)
def _breast_cancer():
    from sklearn.datasets import load_breast_cancer
    X, y = load_breast_cancer(return_X_y=True)
    rs = np.random.default_rng(0)
    idx = rs.permutation(len(X))
    X, y = X[idx], y[idx]
    X = (X - X[:400].mean(0)) / X[:400].std(0)
    X, y = X.astype(np.float32), y.astype(np.float32)
    return (L.tensor(X[:400]), L.tensor(y[:400])), (L.tensor(X[400:]), y[400:])


def _train(mode, lam, steps=300, lr=0.1):
    (Xtr, ytr), (Xte, yte) = _breast_cancer()
    L.manual_seed(0)
    model = nn.Sequential(nn.Linear(30, 16), nn.ReLU(), nn.Linear(16, 1))
    for _ in range(steps):
        loss = F.binary_cross_entropy_with_logits(model(Xtr).reshape(-1), ytr)
        if mode == "l2":
            loss = loss + lam * nn.l2_penalty(model)
        elif mode == "subgrad_l1":
            loss = loss + lam * nn.l1_penalty(model)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.array -= lr * p.grad.array
        if mode == "prox_l1":
            nn.prox_l1_(model, lr, lam)
    weights = np.concatenate([p.numpy().ravel() for _, p in nn.regularized_parameters(model)])
    acc = ((model(Xte).numpy().ravel() > 0) == yte).mean()
    return weights, acc


def test_proximal_l1_gives_exact_zeros_l2_does_not():
    w_prox, acc_prox = _train("prox_l1", 0.02)
    w_sub, acc_sub = _train("subgrad_l1", 0.02)
    w_l2, acc_l2 = _train("l2", 0.02)
    w_none, acc_none = _train("none", 0.0)
    frac_zero = (w_prox == 0).mean()
    assert frac_zero > 0.5, frac_zero              # proximal L1: truly sparse
    assert (w_sub == 0).mean() < 0.05              # subgradient L1 only hovers near zero
    assert (np.abs(w_sub) < 1e-3).mean() > 0.2
    assert (w_l2 == 0).sum() == 0                  # L2 shrinks, never zeroes
    assert np.linalg.norm(w_l2) < 0.8 * np.linalg.norm(w_none)
    for acc in (acc_prox, acc_l2, acc_none):
        assert acc >= 0.93, acc

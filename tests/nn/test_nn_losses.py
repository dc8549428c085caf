"""Loss modules against torch.nn losses: forward and input gradient, every reduction."""

import numpy as np
import pytest

import lamina as L
import lamina.nn as nn


def _data(rs, kind):
    x = rs.standard_normal((6, 4))
    if kind == "reg":
        return x, rs.standard_normal((6, 4))
    if kind == "prob":
        return 1 / (1 + np.exp(-x)), rs.uniform(0, 1, (6, 4))
    if kind == "binary":
        return x, rs.integers(0, 2, (6, 4)).astype(np.float64)
    if kind == "class":
        return x, rs.integers(0, 4, 6)
    if kind == "pm1":
        return x, rs.choice([-1.0, 1.0], (6, 4))
    if kind == "kl":
        lp = x - np.log(np.exp(x).sum(1, keepdims=True))
        q = rs.uniform(0.1, 1, (6, 4))
        return lp, q / q.sum(1, keepdims=True)
    raise AssertionError(kind)


W = np.array([1.0, 2.0, 0.5, 1.5])
# (lamina class, torch name, kwargs, data kind)
CASES = [
    ("MSELoss", "MSELoss", {}, "reg"),
    ("L1Loss", "L1Loss", {}, "reg"),
    ("HuberLoss", "HuberLoss", {"delta": 0.5}, "reg"),
    ("SmoothL1Loss", "SmoothL1Loss", {"beta": 0.5}, "reg"),
    ("BCELoss", "BCELoss", {}, "prob"),
    ("BCEWithLogitsLoss", "BCEWithLogitsLoss", {"pos_weight": W}, "binary"),
    ("CrossEntropyLoss", "CrossEntropyLoss", {"weight": W, "label_smoothing": 0.1}, "class"),
    ("CrossEntropyLoss", "CrossEntropyLoss", {"ignore_index": 2}, "class"),
    ("NLLLoss", "NLLLoss", {"weight": W}, "class"),
    ("HingeEmbeddingLoss", "HingeEmbeddingLoss", {"margin": 0.5}, "pm1"),
    ("MultiMarginLoss", "MultiMarginLoss", {"p": 2, "margin": 0.7}, "class"),
    ("HingeLoss", "MultiMarginLoss", {}, "class"),
    ("KLDivLoss", "KLDivLoss", {}, "kl"),
    ("SoftMarginLoss", "SoftMarginLoss", {}, "pm1"),
]


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_loss_modules_match_torch(rs, case, reduction):
    import torch
    name, tname, kw, kind = CASES[case]
    x, t = _data(rs, kind)
    lkw = {k: (L.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    tkw = {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    lm = getattr(nn, name)(**lkw, reduction=reduction)
    tm = getattr(torch.nn, tname)(**tkw, reduction=reduction)
    xl, xt = L.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yl, yt = lm(xl, L.tensor(t)), tm(xt, torch.tensor(t))
    np.testing.assert_allclose(yl.numpy(), yt.detach().numpy(), rtol=1e-7, atol=1e-10)
    g = rs.standard_normal(yl.shape)
    (yl * L.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(xl.grad, xt.grad.numpy(), rtol=1e-6, atol=1e-10)


@pytest.mark.torch
def test_kl_batchmean_matches_torch(rs):
    import torch
    lp, q = _data(rs, "kl")
    got = nn.KLDivLoss(reduction="batchmean")(L.tensor(lp), L.tensor(q)).item()
    want = torch.nn.KLDivLoss(reduction="batchmean")(torch.tensor(lp), torch.tensor(q)).item()
    assert got == pytest.approx(want, rel=1e-10)
    assert got == pytest.approx((q * (np.log(q) - lp)).sum() / 6, rel=1e-10)


def test_loss_buffers_repr_and_errors():
    ce = nn.CrossEntropyLoss(weight=L.tensor([1.0, 2.0]))
    assert list(ce.state_dict()) == ["weight"]
    assert list(nn.MSELoss().state_dict()) == []
    assert "reduction='sum'" in repr(nn.MSELoss(reduction="sum"))
    bce = nn.BCEWithLogitsLoss(pos_weight=L.tensor([3.0]))
    assert list(bce.state_dict()) == ["pos_weight"]
    with pytest.raises(ValueError, match="reduction"):
        nn.L1Loss(reduction="avg")
    nn.KLDivLoss(reduction="batchmean")
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="batchmean")
    assert nn.HingeLoss is nn.MultiMarginLoss


def test_loss_float32_stays_float32():
    x = L.randn(8, 5, requires_grad=True)
    y = L.randint(0, 5, (8,))
    loss = nn.CrossEntropyLoss()(x, y)
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32
    loss = nn.BCEWithLogitsLoss()(x, (x.detach() > 0).float())
    assert loss.dtype == np.float32

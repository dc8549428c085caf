"""Focal, LDAM and logit-adjusted losses: forward, gradients (gradcheck, float32) and PyTorch
parity of the reference formulas (Lin et al.; Cao et al.'s LDAM code; Menon et al.)."""

import numpy as np
import pytest

import lamina
from lamina import nn
from lamina.testing import check_op

COUNTS = [50, 10, 3]
ALPHA = np.array([0.2, 0.5, 1.0])


@pytest.fixture
def data(rs):
    return rs.standard_normal((6, 3)), np.array([0, 1, 2, 2, 1, 0])


def _np_logsoftmax(x):
    z = x - x.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def test_focal_loss_reference_and_gradients(data):
    x, t = data

    def ref(x):
        lp = _np_logsoftmax(x)[np.arange(6), t]
        return np.mean(-ALPHA[t] * (1 - np.exp(lp)) ** 2 * lp)

    check_op(lambda a: nn.focal_loss(a, lamina.tensor(t), alpha=ALPHA, gamma=2.0), [x],
             ref=ref, torch_fn=None)
    # gamma = 0 and no alpha is plain cross-entropy
    xt = lamina.tensor(x.astype(np.float32))
    np.testing.assert_allclose(nn.focal_loss(xt, lamina.tensor(t), gamma=0).item(),
                               lamina.functional.cross_entropy(xt, lamina.tensor(t)).item(),
                               rtol=1e-6)


def test_ldam_and_logit_adjustment_reference(data):
    x, t = data
    m = np.asarray(COUNTS, float) ** -0.25
    m = m * 0.5 / m.max()

    def ldam_ref(x):
        z = x.copy()
        z[np.arange(6), t] -= m[t]
        return -np.mean(_np_logsoftmax(2.0 * z)[np.arange(6), t])

    check_op(lambda a: nn.ldam_loss(a, lamina.tensor(t), COUNTS, s=2.0), [x], ref=ldam_ref,
             torch_fn=None)
    prior = np.log(np.asarray(COUNTS, float) / sum(COUNTS))

    def la_ref(x):
        return -np.mean(_np_logsoftmax(x + prior)[np.arange(6), t])

    check_op(lambda a: nn.logit_adjusted_loss(a, lamina.tensor(t), COUNTS), [x], ref=la_ref,
             torch_fn=None)


def test_modules_reduction_and_errors(data):
    x, t = data
    xt, tt = lamina.tensor(x.astype(np.float32)), lamina.tensor(t)
    assert nn.FocalLoss(reduction="none")(xt, tt).shape == (6,)
    assert nn.LDAMLoss(COUNTS, s=1.0, reduction="sum")(xt, tt).shape == ()
    assert nn.LogitAdjustedLoss(COUNTS)(xt, tt).dtype == np.float32
    with pytest.raises(ValueError, match="class indices in"):
        nn.focal_loss(xt, lamina.tensor(np.array([0, 1, 2, 3, 0, 0])))
    with pytest.raises(ValueError, match="class_counts for 3 classes|3 positive class counts"):
        nn.logit_adjusted_loss(xt, tt, [1, 2])


@pytest.mark.torch
def test_torch_parity(data):
    """PyTorch 2.13: the same formulas written with torch ops give the same losses and
    input gradients (torchvision's sigmoid_focal_loss formula for the binary form)."""
    torch = pytest.importorskip("torch")
    x, t = data
    tt = torch.tensor(t)
    m = torch.tensor(np.asarray(COUNTS, float) ** -0.25)
    m = m * 0.5 / m.max()

    def t_focal(a):
        ce = torch.nn.functional.cross_entropy(a, tt, reduction="none")
        return (torch.tensor(ALPHA)[tt] * (1 - torch.exp(-ce)) ** 2 * ce).mean()

    def t_ldam(a):
        idx = torch.nn.functional.one_hot(tt, 3).bool()
        return torch.nn.functional.cross_entropy(30.0 * torch.where(idx, a - m[tt, None], a), tt)

    prior = torch.log(torch.tensor(COUNTS, dtype=torch.float64) / sum(COUNTS))
    check_op(lambda a: nn.focal_loss(a, lamina.tensor(t), alpha=ALPHA), [x], torch_fn=t_focal)
    check_op(lambda a: nn.ldam_loss(a, lamina.tensor(t), COUNTS), [x], torch_fn=t_ldam,
             grad_atol=1e-4)
    check_op(lambda a: nn.logit_adjusted_loss(a, lamina.tensor(t), COUNTS), [x],
             torch_fn=lambda a: torch.nn.functional.cross_entropy(a + prior, tt))
    yb = (t > 0).astype(np.float64)

    def t_sig(a):
        ce = torch.nn.functional.binary_cross_entropy_with_logits(a, torch.tensor(yb),
                                                                  reduction="none")
        p = torch.sigmoid(a)
        p_t = p * torch.tensor(yb) + (1 - p) * (1 - torch.tensor(yb))
        a_t = 0.25 * torch.tensor(yb) + 0.75 * (1 - torch.tensor(yb))
        return (a_t * ce * (1 - p_t) ** 2).mean()

    check_op(lambda a: nn.sigmoid_focal_loss(a, lamina.tensor(yb).astype(a.dtype)), [x[:, 0]],
             torch_fn=t_sig)

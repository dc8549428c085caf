"""Attack properties: budgets and range, FGSM's closed form, the linear-model optimum of PGD,
determinism under manual_seed, and the model's state left exactly as it was."""

import numpy as np
import pytest

import lamina
from lamina import functional as F
from lamina import nn
from lamina import robust as R


def _cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.3), nn.Linear(64, 5))


def _data(n=16):
    rs = np.random.default_rng(0)
    return rs.random((n, 1, 8, 8)).astype(np.float32), rs.integers(0, 5, n)


ALL = [
    (R.FGSM, dict(eps=0.1), "linf"),
    (R.BIM, dict(eps=0.1, alpha=0.03, steps=5), "linf"),
    (R.PGD, dict(eps=0.1, alpha=0.03, steps=5), "linf"),
    (R.PGD, dict(eps=0.1, alpha=0.03, steps=3, restarts=3), "linf"),
    (R.PGDL2, dict(eps=0.5, alpha=0.2, steps=5), "l2"),
    (R.MIFGSM, dict(eps=0.1, alpha=0.03, steps=5), "linf"),
    (R.EOTPGD, dict(eps=0.1, alpha=0.03, steps=3), "linf"),
    (R.APGD, dict(eps=0.1, steps=8), "linf"),
    (R.APGD, dict(eps=0.1, steps=8, loss="dlr"), "linf"),
    (R.APGD, dict(eps=0.5, steps=8, norm="L2"), "l2"),
    (R.Square, dict(eps=0.1, n_queries=30), "linf"),
]


@pytest.mark.parametrize("cls,kw,norm", ALL, ids=[f"{c[0].__name__}-{i}" for i, c in
                                                   enumerate(ALL)])
def test_budget_range_dtype_and_state(cls, kw, norm):
    model = _cnn()
    model.train()
    model[1].eval()  # a mixed mode must come back exactly
    model[6].weight.requires_grad = False
    x, y = _data()
    out = model(lamina.tensor(x))
    F.cross_entropy(out, lamina.tensor(y)).backward()
    grads = {k: (None if p.grad is None else p.grad.numpy().copy())
             for k, p in model.named_parameters()}
    modes = [m.training for m in model.modules()]
    flags = [p.requires_grad for p in model.parameters()]
    adv = cls(model, **kw)(lamina.tensor(x), lamina.tensor(y))
    assert isinstance(adv, lamina.Tensor) and adv.dtype == np.float32
    d = (adv.numpy() - x).reshape(len(x), -1)
    size = np.abs(d).max(1) if norm == "linf" else np.sqrt((d ** 2).sum(1))
    assert size.max() <= kw["eps"] + 1e-6
    assert adv.numpy().min() >= 0 and adv.numpy().max() <= 1
    assert [m.training for m in model.modules()] == modes
    assert [p.requires_grad for p in model.parameters()] == flags
    for k, p in model.named_parameters():
        if grads[k] is None:
            assert p.grad is None
        else:
            np.testing.assert_array_equal(p.grad.numpy(), grads[k])


def test_fgsm_equals_closed_form():
    model = _cnn().eval()
    x, y = _data()
    xt = lamina.tensor(x, requires_grad=True)
    F.cross_entropy(model(xt), lamina.tensor(y)).backward()
    want = np.clip(x + 0.1 * np.sign(xt.grad.numpy()), 0, 1)
    np.testing.assert_array_equal(R.FGSM(model, eps=0.1)(x, y), want)


def test_pgd_reaches_the_linear_optimum_linf_and_l2():
    # logit margin of a 2-class linear model is linear in x: the L-inf optimum is
    # x - eps*sign(w1 - w0) (class 1 true) and the L2 optimum x - eps*(w1-w0)/||w1-w0||
    lin = nn.Linear(6, 2)
    rs = np.random.default_rng(3)
    x = rs.uniform(0.3, 0.7, (5, 6)).astype(np.float32)
    y = np.ones(5, dtype=np.int64)
    wd = (lin.weight.numpy()[1] - lin.weight.numpy()[0])
    adv = R.PGD(lin, eps=0.1, alpha=0.02, steps=20)(x, y)
    np.testing.assert_allclose(adv, x - 0.1 * np.sign(wd), atol=1e-6)
    adv2 = R.PGDL2(lin, eps=0.2, alpha=0.05, steps=30, random_start=False)(x, y)
    np.testing.assert_allclose(adv2, x - 0.2 * wd / np.linalg.norm(wd), atol=1e-5)


@pytest.mark.parametrize("cls,kw", [(R.PGD, dict(eps=0.1, steps=3)),
                                    (R.PGDL2, dict(eps=0.5, steps=3)),
                                    (R.APGD, dict(eps=0.1, steps=4)),
                                    (R.Square, dict(eps=0.1, n_queries=20))])
def test_attacks_are_deterministic_under_manual_seed(cls, kw):
    model = _cnn().eval()
    x, y = _data()
    lamina.manual_seed(5)
    a = cls(model, **kw)(x, y)
    lamina.manual_seed(5)
    b = cls(model, **kw)(x, y)
    np.testing.assert_array_equal(a, b)


def test_targeted_modes_and_errors():
    model = _cnn().eval()
    x, y = _data()
    atk = R.PGD(model, eps=0.3, alpha=0.05, steps=20, random_start=False)
    tgt = np.full(len(x), 2)
    adv = atk.set_mode_targeted_by_label()(x, tgt)
    hit = (model(lamina.tensor(adv)).numpy().argmax(1) == 2).mean()
    assert hit >= 0.8
    ll = R.FGSM(model).set_mode_targeted_least_likely()
    assert ll.get_target_label(x, y).shape == (16,)
    with pytest.raises(ValueError, match="targeted"):
        R.DeepFool(model).set_mode_targeted_random()
    with pytest.raises(ValueError, match="labels of shape"):
        R.FGSM(model)(x, y[:3])
    with pytest.raises(ValueError, match="clip_min < clip_max"):
        R.FGSM(model, clip_min=1, clip_max=0)


def test_cw_and_deepfool_find_small_successful_perturbations():
    # seeded: the model was drawn from whatever state earlier tests left. Fooled fractions
    # over seeds 0-4: CW(c=5) 0.75-1.0, DeepFool 0.625-0.81, CW(c=0.5) 1.0
    lamina.manual_seed(0)
    model = _cnn().eval()
    x, _ = _data()
    y = model(lamina.tensor(x)).numpy().argmax(1)
    for atk, bar in ((R.CW(model, c=5.0, steps=60, lr=0.05), 0.7),
                     (R.DeepFool(model, steps=30), 0.6),
                     (R.CW(model, c=0.5, steps=30, lr=0.05, binary_search_steps=3), 0.7)):
        adv = atk(x, y)
        fooled = model(lamina.tensor(adv)).numpy().argmax(1) != y
        assert fooled.mean() >= bar, type(atk).__name__
        assert 0 <= adv.min() and adv.max() <= 1


def test_square_counts_queries_and_transfer_uses_the_surrogate():
    model = _cnn().eval()
    x, y = _data()
    sq = R.Square(model, eps=0.2, n_queries=40)
    sq(x, y)
    assert sq.queries.shape == (16,) and sq.queries.max() <= 41
    other = _cnn().eval()
    tr = R.TransferAttack(other, R.PGD, eps=0.1, steps=3)
    assert np.abs(tr(x, y) - R.PGD(other, eps=0.1, steps=3)(x, y)).max() < 1.0
    with pytest.raises(ValueError, match="surrogate"):
        R.TransferAttack(other, R.FGSM(model))

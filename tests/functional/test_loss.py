import itertools

import numpy as np
import pytest

import lamina as L
import lamina.functional as F
from lamina.testing import check_op

RS = np.random.default_rng(7)
W4 = RS.uniform(0.3, 2.0, 4)


def _log_softmax(x, axis):
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _red(l, reduction, denom=None):
    if reduction == "none":
        return l
    return l.sum() if reduction == "sum" else l.sum() / (l.size if denom is None else denom)


def ce_ref(x, t, w=None, ignore_index=-100, reduction="mean", ls=0.0):
    """Straight from PyTorch's documented formula (class dim 1, or 0 for 1-D input)."""
    d = 0 if x.ndim == 1 else 1
    c = x.shape[d]
    logp = _log_softmax(x, d)
    wb = np.ones(c) if w is None else w
    wb = wb.reshape((-1,) + (1,) * (x.ndim - 2)) if x.ndim > 1 else wb
    if t.dtype.kind == "f":
        q = t * (1 - ls) + ls / c
        return _red(-(q * wb * logp).sum(d), reduction, t.size // c)
    valid = t != ignore_index
    tt = np.where(valid, t, 0)
    lp_t = np.take_along_axis(logp, np.expand_dims(tt, d), d).squeeze(d)
    w_t = (np.ones(c) if w is None else w)[tt] * valid
    l = (1 - ls) * -lp_t * w_t + ls / c * -(logp * wb).sum(d) * valid
    return _red(l, reduction, w_t.sum())


def _ce_inputs(shape=(6, 4), ignore=None, probs=False, seed=0):
    rs = np.random.default_rng(seed)
    x = rs.standard_normal(shape) * 2
    c = shape[1] if len(shape) > 1 else shape[0]
    if probs:
        t = rs.random(shape)
        return x, t / t.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)
    t = np.asarray(rs.integers(0, c, shape[:1] + shape[2:] if len(shape) > 1 else ()))
    if ignore is not None:
        t.reshape(-1)[::3] = ignore
    return x, t


CE_INDEX = list(itertools.product([None, "w"], [None, -100, 1], [0.0, 0.1],
                                  ["mean", "sum", "none"]))


def _ce_case(weight, ignore, ls, red, shape=(6, 4), probs=False):
    x, t = _ce_inputs(shape, ignore, probs)
    w = W4 if weight else None
    kw = dict(ignore_index=-100 if ignore is None else ignore, reduction=red,
              label_smoothing=ls)
    return x, t, w, kw


@pytest.mark.parametrize("weight,ignore,ls,red", CE_INDEX)
def test_cross_entropy_index(weight, ignore, ls, red):
    x, t, w, kw = _ce_case(weight, ignore, ls, red)
    check_op(lambda x, t: F.cross_entropy(x, t, w, **kw), [x, t],
             ref=lambda x, t: ce_ref(x, t, w, kw["ignore_index"], red, ls))


@pytest.mark.torch
@pytest.mark.parametrize("weight,ignore,ls,red", CE_INDEX)
def test_cross_entropy_index_torch(weight, ignore, ls, red):
    import torch
    x, t, w, kw = _ce_case(weight, ignore, ls, red)
    check_op(lambda x, t: F.cross_entropy(x, t, None if w is None else L.tensor(w), **kw), [x, t],
             torch_fn=lambda x, t: torch.nn.functional.cross_entropy(
                 x, t, None if w is None else torch.tensor(w), **kw))


CE_MORE = [((3, 4, 2, 3), w, ig, ls, red, False) for w, ig, ls, red in
           [(None, None, 0.0, "mean"), ("w", -100, 0.2, "mean"), ("w", 2, 0.0, "none"),
            (None, -100, 0.1, "sum")]]
CE_MORE += [((4,), w, None, ls, red, False) for w, ls, red in
            [(None, 0.0, "mean"), ("w", 0.1, "none")]]
CE_MORE += [(s, w, None, ls, red, True) for s, w, ls, red in
            itertools.product([(5, 4), (2, 4, 3)], [None, "w"], [0.0, 0.15], ["mean", "none"])]
CE_MORE += [((5, 4), "w", None, 0.1, "sum", True), ((4,), None, None, 0.0, "mean", True)]


@pytest.mark.parametrize("shape,weight,ignore,ls,red,probs", CE_MORE)
def test_cross_entropy_nd_and_probabilities(shape, weight, ignore, ls, red, probs):
    x, t, w, kw = _ce_case(weight, ignore, ls, red, shape, probs)
    check_op(lambda x, t: F.cross_entropy(x, t, w, **kw), [x, t],
             ref=lambda x, t: ce_ref(x, t, w, kw["ignore_index"], red, ls))


@pytest.mark.torch
@pytest.mark.parametrize("shape,weight,ignore,ls,red,probs", CE_MORE)
def test_cross_entropy_nd_and_probabilities_torch(shape, weight, ignore, ls, red, probs):
    import torch
    x, t, w, kw = _ce_case(weight, ignore, ls, red, shape, probs)
    # probability targets get a gradient too: check_op compares it with torch's
    check_op(lambda x, t: F.cross_entropy(x, t, w, **kw), [x, t],
             torch_fn=lambda x, t: torch.nn.functional.cross_entropy(
                 x, t, None if w is None else torch.tensor(w), **kw))


@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.1, "weight": W4},
                                {"reduction": "none"}, {"ignore_index": 0}])
def test_cross_entropy_extreme_logits_float32(kw):
    x = np.array([[1000, -1000, 0, 1000], [-1000, -1000, 1000, -1000],
                  [1000, 1000, 1000, 1000]], np.float32)
    t = np.array([1, 2, 0])
    xt = L.tensor(x, requires_grad=True)
    loss = F.cross_entropy(xt, L.tensor(t), **kw)
    loss.sum().backward()
    assert loss.dtype == np.float32 and np.isfinite(loss.array).all()
    assert xt.grad.dtype == np.float32 and np.isfinite(xt.grad).all()
    want = ce_ref(x.astype(np.float64), t, kw.get("weight"), kw.get("ignore_index", -100),
                  kw.get("reduction", "mean"), kw.get("label_smoothing", 0.0))
    np.testing.assert_allclose(loss.array, want, rtol=1e-5)
    # probability targets at the same logits
    xp = L.tensor(x, requires_grad=True)
    q = np.full((3, 4), 0.25, np.float32)
    F.cross_entropy(xp, L.tensor(q), **{k: v for k, v in kw.items() if k != "ignore_index"}
                    ).sum().backward()
    assert np.isfinite(xp.grad).all()


def test_cross_entropy_fast_path_gradient_is_softmax_minus_onehot():
    x, t = _ce_inputs((8, 5))
    xt = L.tensor(x.astype(np.float32), requires_grad=True)
    F.cross_entropy(xt, L.tensor(t)).backward()
    p = np.exp(_log_softmax(x, 1))
    p[np.arange(8), t] -= 1
    np.testing.assert_allclose(xt.grad, p / 8, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_plain_path_matches_general_bit_for_bit(dtype):
    from lamina.functional.loss_class import CrossEntropy, PlainCrossEntropy

    x, t = _ce_inputs((16, 7), seed=3)
    a = L.tensor(x.astype(dtype), requires_grad=True)
    b = L.tensor(x.astype(dtype), requires_grad=True)
    la = F.cross_entropy(a, L.tensor(t))
    assert isinstance(la._creator, PlainCrossEntropy)
    lb = CrossEntropy.apply(b, L.tensor(t), None, op="cross_entropy", probs=False,
                            ignore_index=-100, reduction="mean", label_smoothing=0.0)
    assert la.dtype == dtype and la.item() == lb.item()
    (la * 3.0).backward()
    (lb * 3.0).backward()
    np.testing.assert_array_equal(a.grad, b.grad)


@pytest.mark.parametrize("t, ignore", [([0, 1, -100], -100), ([0, 1, 2], 1), ([0, 1, 2], None)])
def test_cross_entropy_targets_the_plain_path_must_not_take(t, ignore):
    from lamina.functional.loss_class import PlainCrossEntropy

    x = L.tensor(np.zeros((3, 3), np.float32), requires_grad=True)
    loss = F.cross_entropy(x, L.tensor(np.array(t)), ignore_index=ignore)
    plain = ignore is None
    assert isinstance(loss._creator, PlainCrossEntropy) == plain
    np.testing.assert_allclose(loss.item(), np.log(3.0), rtol=1e-6)  # mean over kept rows
    with pytest.raises(ValueError, match=r"cross_entropy: expected target class indices"):
        F.cross_entropy(x, L.tensor(np.array([0, 3, 1])))
    with pytest.raises(ValueError, match=r"cross_entropy: expected target class indices"):
        F.cross_entropy(x, L.tensor(np.array([0, -2, 1])))


def test_cross_entropy_all_ignored_mean_is_nan_like_torch():
    x = L.tensor(np.zeros((2, 3), np.float32), requires_grad=True)
    loss = F.cross_entropy(x, L.tensor(np.array([-100, -100])))
    assert np.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(x.grad, 0.0)


def test_cross_entropy_errors():
    x = L.tensor(np.zeros((32, 10), np.float32))
    with pytest.raises(L.ShapeError, match=r"cross_entropy.*\(32,\).*\(32, 10\).*\(16,\)"):
        F.cross_entropy(x, L.tensor(np.zeros(16, np.int64)))
    with pytest.raises(L.ShapeError, match=r"cross_entropy.*weight.*\(3,\)"):
        F.cross_entropy(x, L.tensor(np.zeros(32, np.int64)), weight=L.tensor(np.ones(3)))
    with pytest.raises(ValueError, match=r"cross_entropy.*\[0, 10\).*got 10"):
        F.cross_entropy(x, L.tensor(np.full(32, 10)))
    with pytest.raises(ValueError, match=r"got -1"):
        F.cross_entropy(x, L.tensor(np.full(32, -1)))
    with pytest.raises(L.DTypeError, match=r"cross_entropy.*long"):
        F.cross_entropy(x, L.tensor(np.zeros(32, np.float32)))
    with pytest.raises(L.ShapeError, match=r"cross_entropy.*probabilities.*\(32, 10\).*\(32, 9\)"):
        F.cross_entropy(x, L.tensor(np.zeros((32, 9), np.float32)))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(x, L.tensor(np.zeros(32, np.int64)), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, L.tensor(np.zeros(32, np.int64)), label_smoothing=1.5)


def nll_ref(x, t, w=None, ignore_index=-100, reduction="mean"):
    valid = t != ignore_index
    tt = np.where(valid, t, 0)
    w_t = (np.ones(x.shape[1]) if w is None else w)[tt] * valid
    lp = np.take_along_axis(x, np.expand_dims(tt, 1), 1).squeeze(1)
    return _red(-lp * w_t, reduction, w_t.sum())


NLL = [((6, 4), w, ig, red) for w, ig, red in
       itertools.product([None, "w"], [None, 2], ["mean", "sum", "none"])]
NLL += [((3, 4, 5), "w", -100, "mean"), ((3, 4, 5), None, 1, "none")]


def _nll_case(shape, weight, ignore, red):
    x, t = _ce_inputs(shape, ignore)
    kw = dict(ignore_index=-100 if ignore is None else ignore, reduction=red)
    return _log_softmax(x, 1), t, (W4 if weight else None), kw


@pytest.mark.parametrize("shape,weight,ignore,red", NLL)
def test_nll_loss(shape, weight, ignore, red):
    x, t, w, kw = _nll_case(shape, weight, ignore, red)
    check_op(lambda x, t: F.nll_loss(x, t, w, **kw), [x, t],
             ref=lambda x, t: nll_ref(x, t, w, **kw))


@pytest.mark.torch
@pytest.mark.parametrize("shape,weight,ignore,red", NLL)
def test_nll_loss_torch(shape, weight, ignore, red):
    import torch
    x, t, w, kw = _nll_case(shape, weight, ignore, red)
    check_op(lambda x, t: F.nll_loss(x, t, w, **kw), [x, t],
             torch_fn=lambda x, t: torch.nn.functional.nll_loss(
                 x, t, None if w is None else torch.tensor(w), **kw))


def test_nll_loss_errors():
    with pytest.raises(L.ShapeError, match=r"nll_loss.*\(4, 3\).*\(5,\)"):
        F.nll_loss(L.tensor(np.zeros((4, 3))), L.tensor(np.zeros(5, np.int64)))
    with pytest.raises(ValueError, match=r"nll_loss.*\[0, 3\)"):
        F.nll_loss(L.tensor(np.zeros((4, 3))), L.tensor(np.array([0, 1, 2, 3])))


def _softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def bcel_ref(x, z, w=None, pw=None, reduction="mean"):
    lw = 1 if pw is None else (pw - 1) * z + 1
    l = (1 - z) * x + lw * _softplus(-x)
    return _red(l if w is None else l * w, reduction)


def bce_ref(x, z, w=None, reduction="mean"):
    l = -(z * np.maximum(np.log(x), -100) + (1 - z) * np.maximum(np.log1p(-x), -100))
    return _red(l if w is None else l * w, reduction)


BIN = list(itertools.product([None, "w"], [None, "pw"], ["mean", "sum", "none"]))


def _bin_case(weight, pw, shape=(5, 3)):
    rs = np.random.default_rng(11)
    x, z = rs.standard_normal(shape) * 3, rs.random(shape)
    w = rs.uniform(0.5, 2, shape[-1:]) if weight else None
    p = rs.uniform(0.5, 3, shape[-1:]) if pw else None
    return x, z, w, p


@pytest.mark.parametrize("weight,pw,red", BIN)
def test_bce_with_logits(weight, pw, red):
    x, z, w, p = _bin_case(weight, pw)
    check_op(lambda x, z: F.binary_cross_entropy_with_logits(x, z, w, p, red), [x, z],
             ref=lambda x, z: bcel_ref(x, z, w, p, red))


@pytest.mark.torch
@pytest.mark.parametrize("weight,pw,red", BIN)
def test_bce_with_logits_torch(weight, pw, red):
    import torch
    x, z, w, p = _bin_case(weight, pw)
    tw, tp = (None if a is None else torch.tensor(a) for a in (w, p))
    check_op(lambda x, z: F.binary_cross_entropy_with_logits(x, z, w, p, red), [x, z],
             torch_fn=lambda x, z: torch.nn.functional.binary_cross_entropy_with_logits(
                 x, z, tw, reduction=red, pos_weight=tp))


def test_bce_with_logits_extreme_float32():
    x = L.tensor(np.array([-1000, -100, 0, 100, 1000], np.float32), requires_grad=True)
    z = np.array([1, 0, 1, 1, 0], np.float32)
    for pw in (None, np.array([3.0], np.float32)):
        x.grad = None
        loss = F.binary_cross_entropy_with_logits(x, z, pos_weight=pw, reduction="none")
        loss.sum().backward()
        assert loss.dtype == np.float32 and np.isfinite(loss.array).all()
        assert np.isfinite(x.grad).all()
        want = bcel_ref(x.array.astype(np.float64), z, None, pw, "none")
        np.testing.assert_allclose(loss.array, want, rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(x.grad, [-3, 0, -1.5, 0, 1], atol=1e-6)  # pos_weight 3


@pytest.mark.parametrize("weight,red",
                         list(itertools.product([None, "w"], ["mean", "sum", "none"])))
def test_bce(weight, red):
    rs = np.random.default_rng(5)
    x, z = rs.uniform(0.05, 0.95, (4, 3)), rs.random((4, 3))
    w = rs.uniform(0.5, 2, 3) if weight else None
    check_op(lambda x, z: F.binary_cross_entropy(x, z, w, red), [x, z],
             ref=lambda x, z: bce_ref(x, z, w, red))


@pytest.mark.torch
@pytest.mark.parametrize("weight,red", list(itertools.product([None, "w"], ["mean", "none"])))
def test_bce_torch(weight, red):
    import torch
    rs = np.random.default_rng(5)
    x, z = rs.uniform(0.05, 0.95, (4, 3)), rs.random((4, 3))
    w = rs.uniform(0.5, 2, 3) if weight else None
    check_op(lambda x, z: F.binary_cross_entropy(x, z, w, red), [x, z],
             torch_fn=lambda x, z: torch.nn.functional.binary_cross_entropy(
                 x, z, None if w is None else torch.tensor(w), reduction=red))


def test_bce_clamps_log_and_checks_range():
    x = L.tensor(np.array([0.0, 1.0, 0.5], np.float32), requires_grad=True)
    loss = F.binary_cross_entropy(x, np.array([1.0, 0.0, 1.0], np.float32), reduction="none")
    np.testing.assert_allclose(loss.array, [100, 100, np.log(2)], rtol=1e-6)
    loss.sum().backward()
    assert np.isfinite(x.grad).all()
    with pytest.raises(ValueError, match=r"binary_cross_entropy.*\[0, 1\]"):
        F.binary_cross_entropy(L.tensor(np.array([1.5])), L.tensor(np.array([1.0])))


def _reg_ref(kind, b):
    def ref(x, y, red):
        d = x - y
        a = np.abs(d)
        l = {"mse": d * d, "l1": a,
             "huber": np.where(a <= b, 0.5 * d * d, b * (a - 0.5 * b)),
             "smooth_l1": np.where(a < b, 0.5 * d * d / (b or 1), a - 0.5 * b)}[kind]
        return _red(l, red)
    return ref


REG = [("mse", F.mse_loss, {}), ("l1", F.l1_loss, {}),
       ("huber", F.huber_loss, {"delta": 0.5}), ("huber", F.huber_loss, {"delta": 1.0}),
       ("smooth_l1", F.smooth_l1_loss, {"beta": 0.7}), ("smooth_l1", F.smooth_l1_loss, {}),
       ("smooth_l1", F.smooth_l1_loss, {"beta": 0.0})]
REG_CASES = [(k, f, kw, red) for (k, f, kw), red in
             itertools.product(REG, ["mean", "sum", "none"])]


@pytest.mark.parametrize("kind,fn,kw,red", REG_CASES)
def test_regression_losses(kind, fn, kw, red):
    rs = np.random.default_rng(2)
    x, y = rs.standard_normal((4, 5)), rs.standard_normal((4, 5))
    b = kw.get("delta", kw.get("beta", 1.0))
    check_op(lambda x, y: fn(x, y, reduction=red, **kw), [x, y],
             ref=lambda x, y: _reg_ref(kind, b)(x, y, red))


@pytest.mark.torch
@pytest.mark.parametrize("kind,fn,kw,red", REG_CASES)
def test_regression_losses_torch(kind, fn, kw, red):
    import torch.nn.functional as tF
    rs = np.random.default_rng(2)
    x, y = rs.standard_normal((4, 5)), rs.standard_normal((4, 5))
    tfn = getattr(tF, fn.__name__)
    check_op(lambda x, y: fn(x, y, reduction=red, **kw), [x, y],
             torch_fn=lambda x, y: tfn(x, y, reduction=red, **kw))


def _hinge_case(margin):
    rs = np.random.default_rng(4)
    x = rs.uniform(-2, 3, (4, 5))
    x[np.abs(margin - x) < 0.05] += 0.1
    return x, rs.choice([-1, 1], (4, 5))


@pytest.mark.parametrize("margin,red", [(1.0, "mean"), (0.5, "sum"), (2.0, "none")])
def test_hinge_embedding_loss(margin, red):
    x, y = _hinge_case(margin)

    def ref(x, y):
        return _red(np.where(y == 1, x, np.maximum(0, margin - x)), red)
    check_op(lambda x, y: F.hinge_embedding_loss(x, y, margin, red), [x, y], ref=ref)


@pytest.mark.torch
@pytest.mark.parametrize("margin,red", [(1.0, "mean"), (0.5, "sum"), (2.0, "none")])
def test_hinge_embedding_loss_torch(margin, red):
    import torch.nn.functional as tF
    x, y = _hinge_case(margin)
    check_op(lambda x, y: F.hinge_embedding_loss(x, y, margin, red), [x, y],
             torch_fn=lambda x, y: tF.hinge_embedding_loss(x, y, margin, reduction=red))


MM = [((5, 4), p, m, w, red) for p, m, w, red in
      [(1, 1.0, None, "mean"), (2, 1.0, None, "sum"), (1, 0.5, "w", "none"),
       (2, 2.0, "w", "mean")]] + [((4,), 1, 1.0, "w", "mean")]


def mm_ref(x, t, p, margin, w, red):
    x2, t2 = np.atleast_2d(x), np.atleast_1d(t)
    h = np.maximum(0, margin - np.take_along_axis(x2, t2[:, None], 1) + x2) ** p
    h[np.arange(len(t2)), t2] = 0
    l = h.sum(1) / x2.shape[1] * (1 if w is None else w[t2])
    return _red(l.reshape(np.shape(t)), red)


@pytest.mark.parametrize("shape,p,margin,weight,red", MM)
def test_multi_margin_loss(shape, p, margin, weight, red):
    x, t = _ce_inputs(shape, seed=3)
    w = W4 if weight else None
    check_op(lambda x, t: F.multi_margin_loss(x, t, p, margin, w, red), [x, t],
             ref=lambda x, t: mm_ref(x, t, p, margin, w, red))


@pytest.mark.torch
@pytest.mark.parametrize("shape,p,margin,weight,red", MM)
def test_multi_margin_loss_torch(shape, p, margin, weight, red):
    import torch
    x, t = _ce_inputs(shape, seed=3)
    w = W4 if weight else None
    check_op(lambda x, t: F.multi_margin_loss(x, t, p, margin, w, red), [x, t],
             torch_fn=lambda x, t: torch.nn.functional.multi_margin_loss(
                 x, t, p, margin, None if w is None else torch.tensor(w), reduction=red))


KL = list(itertools.product(["mean", "batchmean", "sum", "none"], [False, True]))


def _kl_case():
    rs = np.random.default_rng(6)
    x = _log_softmax(rs.standard_normal((3, 4)), 1)
    t = np.exp(_log_softmax(rs.standard_normal((3, 4)), 1))
    return x, t


@pytest.mark.parametrize("red,log_target", KL)
def test_kl_div(red, log_target):
    x, t = _kl_case()
    t = np.log(t) if log_target else t

    def ref(x, t):
        p = np.exp(t) if log_target else t
        l = p * (np.log(p) - x)
        return l.sum() / 3 if red == "batchmean" else _red(l, red)
    check_op(lambda x, t: F.kl_div(x, t, red, log_target), [x, t], ref=ref)


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
@pytest.mark.parametrize("red,log_target", KL)
def test_kl_div_torch(red, log_target):
    import torch.nn.functional as tF
    x, t = _kl_case()
    t = np.log(t) if log_target else t
    check_op(lambda x, t: F.kl_div(x, t, red, log_target), [x, t],
             torch_fn=lambda x, t: tF.kl_div(x, t, reduction=red, log_target=log_target))


def test_kl_div_zero_target_is_finite():
    x = L.tensor(np.log(np.full((2, 3), 1 / 3, np.float32)), requires_grad=True)
    t = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]], np.float32)
    loss = F.kl_div(x, t, "batchmean")
    np.testing.assert_allclose(loss.item(), (np.log(3) + np.log(1.5)) / 2, rtol=1e-6)
    loss.backward()
    np.testing.assert_allclose(x.grad, -t / 2)


@pytest.mark.parametrize("red", ["mean", "sum", "none"])
def test_soft_margin_loss(red):
    rs = np.random.default_rng(8)
    x, y = rs.standard_normal((4, 3)) * 3, rs.choice([-1.0, 1.0], (4, 3))
    check_op(lambda x: F.soft_margin_loss(x, y, red), [x],
             ref=lambda x: _red(_softplus(-y * x), red))


@pytest.mark.torch
@pytest.mark.parametrize("red", ["mean", "none"])
def test_soft_margin_loss_torch(red):
    import torch
    rs = np.random.default_rng(8)
    x, y = rs.standard_normal((4, 3)) * 3, rs.choice([-1, 1], (4, 3))
    check_op(lambda x, y: F.soft_margin_loss(x, y, red), [x, y],
             torch_fn=lambda x, y: torch.nn.functional.soft_margin_loss(x, y, reduction=red))
    x = L.tensor(np.array([-1000.0, 1000.0], np.float32), requires_grad=True)
    F.soft_margin_loss(x, np.array([1, 1])).backward()
    assert np.isfinite(x.grad).all()


def _cos_ref(a, b, d):
    return (a * b).sum(d) / np.maximum(np.linalg.norm(a, axis=d) * np.linalg.norm(b, axis=d),
                                      1e-8)


@pytest.mark.parametrize("dim", [1, 0, -1])
def test_cosine_similarity(dim):
    rs = np.random.default_rng(9)
    a, b = rs.standard_normal((3, 4)), rs.standard_normal((3, 4))
    check_op(lambda a, b: F.cosine_similarity(a, b, dim), [a, b],
             ref=lambda a, b: _cos_ref(a, b, dim))


@pytest.mark.torch
@pytest.mark.parametrize("dim", [1, 0])
def test_cosine_similarity_torch(dim):
    import torch.nn.functional as tF
    rs = np.random.default_rng(9)
    a, b = rs.standard_normal((3, 4, 2)), rs.standard_normal((3, 4, 2))
    check_op(lambda a, b: F.cosine_similarity(a, b, dim), [a, b],
             torch_fn=lambda a, b: tF.cosine_similarity(a, b, dim))


@pytest.mark.parametrize("fn", [F.mse_loss, F.l1_loss, F.huber_loss, F.smooth_l1_loss,
                                F.binary_cross_entropy_with_logits, F.binary_cross_entropy,
                                F.kl_div, F.hinge_embedding_loss, F.soft_margin_loss])
def test_shape_mismatch_names_loss_and_both_shapes(fn):
    x, y = L.tensor(np.full((8, 1), 0.5)), L.tensor(np.full((8,), 0.5))
    with pytest.raises(L.ShapeError, match=rf"{fn.__name__}: .*\(8, 1\).*\(8,\)"):
        fn(x, y)
    with pytest.raises(ValueError, match="reduction"):
        fn(x, L.tensor(np.full((8, 1), 0.5)), reduction="avg")


def test_float32_preserved_with_float64_or_int_extras():
    x = L.tensor(np.zeros((4, 3), np.float32), requires_grad=True)
    t64 = np.full((4, 3), 0.5)
    for loss in (F.mse_loss(x, t64), F.binary_cross_entropy_with_logits(x, t64, t64[0], t64[0]),
                 F.kl_div(x, t64), F.cross_entropy(x, np.array([0, 1, 2, 0]), t64[0]),
                 F.hinge_embedding_loss(x, np.ones((4, 3), np.int64)),
                 F.soft_margin_loss(x, np.ones((4, 3), np.int64))):
        assert loss.dtype == np.float32, loss

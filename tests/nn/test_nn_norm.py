"""Normalization: fused F.batch_norm / F.layer_norm / F.group_norm / F.normalize (gradcheck,
torch parity) and the BatchNorm/LayerNorm/GroupNorm modules (train/eval, running stats)."""

import numpy as np
import pytest

import lamina as L
import lamina.functional as F
import lamina.nn as nn
from lamina.testing import check_op


def _bn_ref(x, w, b, eps=1e-5):
    axes = (0,) + tuple(range(2, x.ndim))
    cs = (1, -1) + (1,) * (x.ndim - 2)
    m = x.mean(axis=axes, keepdims=True)
    v = x.var(axis=axes, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * w.reshape(cs) + b.reshape(cs)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (3, 2, 4, 3)])
def test_batch_norm_train_gradcheck(rs, shape):
    C = shape[1]
    x = rs.standard_normal(shape) * 2 + 1
    w, b = rs.standard_normal(C), rs.standard_normal(C)
    check_op(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [x, w, b],
             ref=_bn_ref, torch_fn=None)


def test_batch_norm_eval_gradcheck(rs):
    x = rs.standard_normal((5, 4, 3))
    rm, rv = rs.standard_normal(4), rs.uniform(0.5, 2, 4)
    w, b = rs.standard_normal(4), rs.standard_normal(4)

    def ref(x, w, b):
        return (x - rm[:, None]) / np.sqrt(rv[:, None] + 1e-5) * w[:, None] + b[:, None]

    check_op(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False), [x, w, b],
             ref=ref, torch_fn=None)


@pytest.mark.torch
def test_batch_norm_torch_parity_and_running_stats(rs):
    import torch
    x = rs.standard_normal((8, 3, 4, 4))
    w, b = rs.standard_normal(3), rs.standard_normal(3)
    check_op(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [x, w, b],
             torch_fn=lambda x, w, b: torch.nn.functional.batch_norm(x, None, None, w, b,
                                                                     training=True))
    rm, rv = np.zeros(3), np.ones(3)
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for momentum in (0.1, 0.3, 0.5):
        xi = rs.standard_normal((8, 3, 4, 4)) * 3 + 2
        F.batch_norm(L.tensor(xi), rm, rv, training=True, momentum=momentum)
        torch.nn.functional.batch_norm(torch.tensor(xi), trm, trv, training=True,
                                       momentum=momentum)
    np.testing.assert_allclose(rm, trm.numpy(), rtol=1e-10)
    np.testing.assert_allclose(rv, trv.numpy(), rtol=1e-10)  # unbiased running variance


def test_batch_norm_errors():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(L.randn(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match="running_mean and running_var"):
        F.batch_norm(L.randn(4, 3), None, None, training=False)
    with pytest.raises(ValueError, match=r"weight of shape \(3,\)"):
        F.batch_norm(L.randn(4, 3), None, None, L.ones(4), training=True)


@pytest.mark.torch
@pytest.mark.parametrize("ns", [(5,), (4, 5)])
def test_layer_norm_gradcheck_and_torch(rs, ns):
    import torch
    x = rs.standard_normal((3, 4, 5)) * 2 + 0.5
    w, b = rs.standard_normal(ns), rs.standard_normal(ns)
    axes = tuple(range(3 - len(ns), 3))

    def ref(x, w, b):
        m, v = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
        return (x - m) / np.sqrt(v + 1e-5) * w + b

    check_op(lambda x, w, b: F.layer_norm(x, ns, w, b), [x, w, b], ref=ref,
             torch_fn=lambda x, w, b: torch.nn.functional.layer_norm(x, ns, w, b))
    check_op(lambda x: F.layer_norm(x, ns), [x], torch_fn=lambda x: torch.nn.functional
             .layer_norm(x, ns))


def test_layer_group_norm_normalize_gradcheck(rs):
    x = rs.standard_normal((3, 4, 5)) * 2 + 0.5
    w, b = rs.standard_normal(5), rs.standard_normal(5)

    def ln_ref(x, w, b):
        m, v = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - m) / np.sqrt(v + 1e-5) * w + b

    check_op(lambda x, w, b: F.layer_norm(x, 5, w, b), [x, w, b], ref=ln_ref, torch_fn=None)
    g, c = rs.standard_normal(4), rs.standard_normal(4)

    def gn_ref(x, g, c):
        xg = x.reshape(3, 2, -1)
        xh = ((xg - xg.mean(-1, keepdims=True)) / np.sqrt(xg.var(-1, keepdims=True) + 1e-5))
        return xh.reshape(x.shape) * g[:, None] + c[:, None]

    check_op(lambda x, g, c: F.group_norm(x, 2, g, c), [x, g, c], ref=gn_ref, torch_fn=None)
    check_op(lambda x: F.normalize(x, dim=-1), [x],
             ref=lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True), torch_fn=None)


def test_layer_norm_shape_error():
    with pytest.raises(ValueError, match=r"layer_norm: expected input whose trailing"):
        F.layer_norm(L.randn(3, 4), (5,))


@pytest.mark.torch
def test_group_norm_and_normalize_torch(rs):
    import torch
    x = rs.standard_normal((2, 6, 3, 2))
    w, b = rs.standard_normal(6), rs.standard_normal(6)
    check_op(lambda x, w, b: F.group_norm(x, 3, w, b), [x, w, b],
             torch_fn=lambda x, w, b: torch.nn.functional.group_norm(x, 3, w, b))
    v = rs.standard_normal((4, 5))
    for p in (2.0, 1.0, 3.0):
        check_op(lambda x, p=p: F.normalize(x, p=p, dim=1), [v],
                 torch_fn=lambda x, p=p: torch.nn.functional.normalize(x, p=p, dim=1))
    z = np.zeros((2, 3))
    z[1] = [1.0, -2.0, 2.0]
    out = F.normalize(L.tensor(z, requires_grad=True))
    np.testing.assert_allclose(out.numpy()[1], [1 / 3, -2 / 3, 2 / 3])
    assert np.isfinite(out.numpy()).all()


def _torch_bn(cls, C, **kw):
    import torch
    return getattr(torch.nn, cls)(C, **kw).double()


@pytest.mark.torch
@pytest.mark.parametrize("cls,shape,momentum", [("BatchNorm1d", (16, 4), 0.1),
                                                ("BatchNorm1d", (8, 4, 5), None),
                                                ("BatchNorm2d", (6, 4, 3, 3), 0.2)])
def test_batchnorm_module_torch_parity(rs, cls, shape, momentum):
    import torch
    C = shape[1]
    tm = _torch_bn(cls, C, momentum=momentum)
    with torch.no_grad():
        tm.weight.uniform_(0.5, 1.5)
        tm.bias.uniform_(-0.5, 0.5)
    lm = getattr(nn, cls)(C, momentum=momentum, dtype="float64")
    lm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    for step in range(4):
        x = rs.standard_normal(shape) * (step + 1) + step
        xt = torch.tensor(x, requires_grad=True)
        xl = L.tensor(x, requires_grad=True)
        yt, yl = tm(xt), lm(xl)
        np.testing.assert_allclose(yl.numpy(), yt.detach().numpy(), atol=1e-10)
        gw = rs.standard_normal(shape)
        (yt * torch.tensor(gw)).sum().backward()
        (yl * L.tensor(gw)).sum().backward()
        np.testing.assert_allclose(xl.grad, xt.grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(lm.weight.grad, tm.weight.grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(lm.bias.grad, tm.bias.grad.numpy(), atol=1e-10)
        tm.zero_grad()
        lm.zero_grad()
    sd = tm.state_dict()
    np.testing.assert_allclose(lm.running_mean.numpy(), sd["running_mean"].numpy(), atol=1e-12)
    np.testing.assert_allclose(lm.running_var.numpy(), sd["running_var"].numpy(), atol=1e-12)
    assert int(lm.num_batches_tracked.item()) == int(sd["num_batches_tracked"]) == 4
    tm.eval()
    lm.eval()
    x = rs.standard_normal(shape)
    xt, xl = torch.tensor(x, requires_grad=True), L.tensor(x, requires_grad=True)
    yt, yl = tm(xt), lm(xl)
    np.testing.assert_allclose(yl.numpy(), yt.detach().numpy(), atol=1e-10)
    yt.sum().backward()
    yl.sum().backward()
    np.testing.assert_allclose(xl.grad, xt.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(lm.weight.grad, tm.weight.grad.numpy(), atol=1e-10)
    rm_before = lm.running_mean.numpy().copy()
    lm(xl)
    np.testing.assert_array_equal(lm.running_mean.numpy(), rm_before)  # eval: no update


def test_batchnorm_float32_and_state_keys():
    bn = nn.BatchNorm2d(3)
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                     "num_batches_tracked"]
    x = L.randn(4, 3, 2, 2, requires_grad=True)
    y = bn(x)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    assert bn.running_mean.dtype == np.float32
    # training output is normalized per channel
    np.testing.assert_allclose(y.numpy().mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.numpy().var(axis=(0, 2, 3)), 1, atol=1e-3)


def test_batchnorm_shape_errors_name_layer():
    with pytest.raises(ValueError, match=r"BatchNorm1d\(64\): expected input of shape "
                                         r"\(N, 64\) or \(N, 64, L\), got \(32, 128\)"):
        nn.BatchNorm1d(64)(L.randn(32, 128))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\).*\(N, 3, H, W\)"):
        nn.BatchNorm2d(3)(L.randn(4, 3, 5))
    with pytest.raises(ValueError, match=r"LayerNorm\(\(8,\)\)"):
        nn.LayerNorm(8)(L.randn(4, 7))


def test_batchnorm_no_tracking_and_no_affine(rs):
    bn = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    assert list(bn.state_dict()) == [] and list(bn.parameters()) == []
    bn.eval()
    x = rs.standard_normal((10, 3)) * 5 + 3
    y = bn(L.tensor(x.astype(np.float32))).numpy()
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)  # eval still uses batch statistics
    bn2 = nn.BatchNorm1d(3)
    bn2(L.tensor(x.astype(np.float32)))
    bn2.reset_running_stats()
    np.testing.assert_array_equal(bn2.running_var.numpy(), 1)
    assert int(bn2.num_batches_tracked.item()) == 0


@pytest.mark.torch
def test_layernorm_groupnorm_module_torch(rs):
    import torch
    for tm, lm, shape in [(torch.nn.LayerNorm((4, 5)), nn.LayerNorm((4, 5)), (3, 4, 5)),
                          (torch.nn.GroupNorm(2, 4), nn.GroupNorm(2, 4), (3, 4, 5))]:
        with torch.no_grad():
            tm.weight.normal_()
            tm.bias.normal_()
        lm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
        x = rs.standard_normal(shape).astype(np.float32)
        xt, xl = torch.tensor(x, requires_grad=True), L.tensor(x, requires_grad=True)
        yt, yl = tm(xt), lm(xl)
        np.testing.assert_allclose(yl.numpy(), yt.detach().numpy(), atol=1e-5)
        yt.pow(2).sum().backward()
        (yl * yl).sum().backward()
        np.testing.assert_allclose(xl.grad, xt.grad.numpy(), atol=1e-4)
        np.testing.assert_allclose(lm.weight.grad, tm.weight.grad.numpy(), atol=1e-4)
        np.testing.assert_allclose(lm.bias.grad, tm.bias.grad.numpy(), atol=1e-4)
        assert yl.dtype == np.float32

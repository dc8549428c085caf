"""Pooling and nearest upsampling: NumPy references, gradcheck, float32, PyTorch parity of the
forward, the indices and every gradient (ties included), errors."""

import numpy as np
import pytest

import lamina.functional as F
from lamina import Tensor
from lamina.testing import check_op


# ----------------------------------------------------------------------------- references
def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _out(size, k, s, p, d, ceil):
    num = size + 2 * p - d * (k - 1) - 1
    o = (-(-num // s) if ceil else num // s) + 1
    if ceil and (o - 1) * s >= size + p:
        o -= 1
    return o


def ref_max_pool2d(x, k, s=None, p=0, d=1, ceil=False):
    k, p, d = _pair(k), _pair(p), _pair(d)
    s = k if s is None else _pair(s)
    n, c, h, w = x.shape
    oh, ow = (_out(a, *z, ceil) for a, z in zip((h, w), zip(k, s, p, d)))
    y = np.full((n, c, oh, ow), -np.inf)
    for a in range(oh):
        for b in range(ow):
            for i in range(k[0]):
                for j in range(k[1]):
                    r, q = a * s[0] - p[0] + i * d[0], b * s[1] - p[1] + j * d[1]
                    if 0 <= r < h and 0 <= q < w:
                        y[:, :, a, b] = np.maximum(y[:, :, a, b], x[:, :, r, q])
    return y


def ref_avg_pool2d(x, k, s=None, p=0, ceil=False, include_pad=True):
    k, p = _pair(k), _pair(p)
    s = k if s is None else _pair(s)
    n, c, h, w = x.shape
    oh, ow = (_out(a, *z, 1, ceil) for a, z in zip((h, w), zip(k, s, p)))
    y = np.zeros((n, c, oh, ow))
    for a in range(oh):
        for b in range(ow):
            r0, q0 = a * s[0] - p[0], b * s[1] - p[1]
            r1, q1 = min(r0 + k[0], h + p[0]), min(q0 + k[1], w + p[1])
            area = (r1 - r0) * (q1 - q0)
            r0, q0, r1, q1 = max(r0, 0), max(q0, 0), min(r1, h), min(q1, w)
            div = area if include_pad else (r1 - r0) * (q1 - q0)
            y[:, :, a, b] = x[:, :, r0:r1, q0:q1].sum(axis=(2, 3)) / div
    return y


def ref_adaptive_avg(x, out):
    n, c, h, w = x.shape
    oh, ow = _pair(out)
    y = np.zeros((n, c, oh, ow))
    for a in range(oh):
        for b in range(ow):
            r0, r1 = a * h // oh, -(-(a + 1) * h // oh)
            q0, q1 = b * w // ow, -(-(b + 1) * w // ow)
            y[:, :, a, b] = x[:, :, r0:r1, q0:q1].mean(axis=(2, 3))
    return y


def _torch_grads(fn, torch_fn, x, n_out=1):
    """Forward (and indices) plus the input gradient against PyTorch, without gradcheck (valid
    at ties, where finite differences are not)."""
    import torch
    xl, xt = Tensor(x.copy(), requires_grad=True), torch.tensor(x.copy(), requires_grad=True)
    yl, yt = fn(xl), torch_fn(xt)
    if n_out == 2:
        (yl, il), (yt, it) = yl, yt
        np.testing.assert_array_equal(il.numpy(), it.numpy())
    np.testing.assert_allclose(yl.numpy(), yt.detach().numpy(), rtol=1e-7, atol=1e-12)
    g = np.random.default_rng(3).standard_normal(yl.shape)
    (yl * Tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(xl.grad, xt.grad.numpy(), rtol=1e-7, atol=1e-12)


# ----------------------------------------------------------------------------- max pooling
MAX_GRID = [dict(kernel_size=2), dict(kernel_size=2, stride=1), dict(kernel_size=3, stride=2,
            padding=1), dict(kernel_size=(2, 3), stride=(1, 2), ceil_mode=True),
            dict(kernel_size=3, stride=1, padding=1, dilation=2),
            dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)]


def _ref_max(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return ref_max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode)


@pytest.mark.parametrize("kw", MAX_GRID)
def test_max_pool2d_reference_and_gradcheck(rs, kw):
    x = rs.standard_normal((2, 2, 5, 6))
    check_op(lambda t: F.max_pool2d(t, **kw), [x], ref=lambda a: _ref_max(a, **kw))


@pytest.mark.torch
@pytest.mark.parametrize("kw", MAX_GRID)
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool2d_torch(rs, kw, ties):
    import torch
    x = rs.standard_normal((2, 3, 6, 7))
    if ties:   # many equal values: the gradient must go to the first maximum, as in PyTorch
        x = np.round(x)
    _torch_grads(lambda t: F.max_pool2d(t, return_indices=True, **kw),
                 lambda t: torch.nn.functional.max_pool2d(t, return_indices=True, **kw), x, 2)
    _torch_grads(lambda t: F.max_pool2d(t, **kw),
                 lambda t: torch.nn.functional.max_pool2d(t, **kw), x)


def test_max_pool2d_fast_path_ties_first_max():
    x = np.array([[[[1.0, 1.0], [1.0, 1.0]]]], dtype=np.float32)
    t = Tensor(x, requires_grad=True)
    y, idx = F.max_pool2d(t, 2, return_indices=True)
    y.sum().backward()
    np.testing.assert_array_equal(t.grad, [[[[1, 0], [0, 0]]]])
    assert idx.numpy().item() == 0 and y.dtype == np.float32


def test_max_pool2d_channels_last_input(rs):
    """A conv output is a channels-last view: pooling and its gradient keep values right."""
    buf = rs.standard_normal((2, 6, 6, 3))
    x = buf.transpose(0, 3, 1, 2)
    check_op(lambda t: F.max_pool2d(t, 2), [x], ref=lambda a: ref_max_pool2d(a, 2))


@pytest.mark.torch
def test_max_pool1d_torch(rs):
    import torch
    x = np.round(rs.standard_normal((2, 3, 11)))
    for kw in (dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)):
        _torch_grads(lambda t: F.max_pool1d(t, return_indices=True, **kw),
                     lambda t: torch.nn.functional.max_pool1d(t, return_indices=True, **kw), x, 2)
    check_op(lambda t: F.max_pool1d(t, 3, 2, 1), [rs.standard_normal((2, 2, 9))],
             torch_fn=lambda t: torch.nn.functional.max_pool1d(t, 3, 2, 1))


# ----------------------------------------------------------------------------- average pooling
AVG_GRID = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
            dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
            dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
            dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
            dict(kernel_size=(2, 3), stride=1)]


def _ref_avg(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    return ref_avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad)


@pytest.mark.parametrize("kw", AVG_GRID)
def test_avg_pool2d_reference_and_gradcheck(rs, kw):
    x = rs.standard_normal((2, 2, 5, 6))
    check_op(lambda t: F.avg_pool2d(t, **kw), [x], ref=lambda a: _ref_avg(a, **kw))


@pytest.mark.torch
@pytest.mark.parametrize("kw", AVG_GRID + [dict(kernel_size=2, divisor_override=3)])
def test_avg_pool2d_torch(rs, kw):
    import torch
    _torch_grads(lambda t: F.avg_pool2d(t, **kw),
                 lambda t: torch.nn.functional.avg_pool2d(t, **kw),
                 rs.standard_normal((2, 3, 7, 8)))


@pytest.mark.torch
def test_avg_pool1d_torch(rs):
    import torch
    kw = dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
    check_op(lambda t: F.avg_pool1d(t, **kw), [rs.standard_normal((2, 2, 9))],
             torch_fn=lambda t: torch.nn.functional.avg_pool1d(t, **kw))


@pytest.mark.torch
def test_lp_pool_torch(rs):
    import torch
    x = rs.standard_normal((2, 2, 6, 6))
    check_op(lambda t: F.lp_pool2d(t, 2, 2), [x],
             torch_fn=lambda t: torch.nn.functional.lp_pool2d(t, 2, 2))
    check_op(lambda t: F.lp_pool2d(t, 3, (2, 3), stride=2, ceil_mode=True), [np.abs(x) + 0.1],
             torch_fn=lambda t: torch.nn.functional.lp_pool2d(t, 3, (2, 3), 2, True))
    check_op(lambda t: F.lp_pool1d(t, 2, 3), [rs.standard_normal((2, 2, 9))],
             torch_fn=lambda t: torch.nn.functional.lp_pool1d(t, 2, 3))


def test_lp_pool2d_is_l2_norm_of_windows(rs):
    x = rs.standard_normal((2, 2, 4, 4))
    ref = np.sqrt(ref_avg_pool2d(x * x, 2) * 4)
    check_op(lambda t: F.lp_pool2d(t, 2, 2), [x],
             ref=lambda a: np.sqrt(ref_avg_pool2d(a * a, 2) * 4))
    np.testing.assert_allclose(F.lp_pool2d(Tensor(x), 2, 2).numpy(), ref)


# ----------------------------------------------------------------------------- adaptive / global
@pytest.mark.parametrize("out", [(3, 4), (2, 2), 5, 1, (5, 6)])
def test_adaptive_avg_pool2d_reference_and_gradcheck(rs, out):
    x = rs.standard_normal((2, 2, 5, 6))
    check_op(lambda t: F.adaptive_avg_pool2d(t, out), [x], ref=lambda a: ref_adaptive_avg(a, out))


@pytest.mark.torch
@pytest.mark.parametrize("out", [(3, 4), (2, 2), 5, (None, 3), 1, (4, 6)])
def test_adaptive_pools_torch(rs, out):
    import torch
    tf = torch.nn.functional
    x = rs.standard_normal((2, 3, 7, 10))
    _torch_grads(lambda t: F.adaptive_avg_pool2d(t, out),
                 lambda t: tf.adaptive_avg_pool2d(t, out), x)
    xr = np.round(x)   # ties inside (overlapping) bins
    _torch_grads(lambda t: F.adaptive_max_pool2d(t, out, return_indices=True),
                 lambda t: tf.adaptive_max_pool2d(t, out, return_indices=True), xr, 2)


@pytest.mark.torch
def test_adaptive_1d_and_global_torch(rs):
    import torch
    tf = torch.nn.functional
    x1 = rs.standard_normal((2, 3, 11))
    check_op(lambda t: F.adaptive_avg_pool1d(t, 4), [x1],
             torch_fn=lambda t: tf.adaptive_avg_pool1d(t, 4))
    check_op(lambda t: F.adaptive_max_pool1d(t, 4), [x1],
             torch_fn=lambda t: tf.adaptive_max_pool1d(t, 4))
    x = rs.standard_normal((2, 3, 4, 5))
    check_op(lambda t: F.global_avg_pool2d(t), [x], ref=lambda a: a.mean(axis=(2, 3)),
             torch_fn=lambda t: t.mean((2, 3)))
    check_op(lambda t: F.global_max_pool2d(t, keepdim=True), [x],
             ref=lambda a: a.max(axis=(2, 3), keepdims=True),
             torch_fn=lambda t: tf.adaptive_max_pool2d(t, 1))
    _torch_grads(lambda t: F.global_max_pool2d(t),
                 lambda t: tf.adaptive_max_pool2d(t, 1)[:, :, 0, 0], np.round(x))


# ----------------------------------------------------------------------------- upsampling
INTERP = [dict(scale_factor=2), dict(scale_factor=3), dict(scale_factor=(2, 3)), dict(size=(5, 11)),
          dict(scale_factor=1.7), dict(scale_factor=1.7, recompute_scale_factor=True),
          dict(size=(8, 10))]


def test_interpolate_nearest_reference(rs):
    x = rs.standard_normal((2, 2, 3, 4))
    check_op(lambda t: F.interpolate(t, scale_factor=2), [x],
             ref=lambda a: a.repeat(2, axis=2).repeat(2, axis=3))
    check_op(lambda t: F.interpolate(t, size=(5, 7)), [x],
             ref=lambda a: a[:, :, (np.arange(5) * 3) // 5][:, :, :, (np.arange(7) * 4) // 7])


@pytest.mark.torch
@pytest.mark.parametrize("kw", INTERP)
def test_interpolate_nearest_torch(rs, kw):
    import torch
    x = rs.standard_normal((2, 2, 4, 5))
    check_op(lambda t: F.interpolate(t, **kw), [x],
             torch_fn=lambda t: torch.nn.functional.interpolate(t, mode="nearest", **kw))
    x1 = rs.standard_normal((2, 2, 5))
    check_op(lambda t: F.interpolate(t, size=7), [x1],
             torch_fn=lambda t: torch.nn.functional.interpolate(t, size=7))


# ----------------------------------------------------------------------------- errors
def test_pool_errors():
    x = Tensor(np.zeros((1, 1, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"max_pool2d: expected 0 <= padding <= kernel_size / 2"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match=r"avg_pool2d: expected input with 4 dims"):
        F.avg_pool2d(Tensor(np.zeros((4, 4))), 2)
    with pytest.raises(ValueError, match="kernel extent"):
        F.max_pool2d(x, 5)
    with pytest.raises(ValueError, match="interpolate: expected mode='nearest'"):
        F.interpolate(x, scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(x)

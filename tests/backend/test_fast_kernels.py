"""The numba kernels (lamina.backend.fast) against the pure-NumPy path they replace.

Each case runs the public op twice, kernels on and off, and compares: bit-identical where the
two paths do the same float operations in the same order (pooling, the ReLU gradient, Adam),
within float32 rounding where the summation order differs (the col2im fold).
"""

from __future__ import annotations

import numpy as np
import pytest

import lamina
import lamina.functional as F
from lamina import optim
from lamina.backend import fast

pytestmark = pytest.mark.skipif(not fast.available(), reason="numba not installed")


def _both(fn):
    """``fn()`` with the kernels on, then off (restoring the setting)."""
    old = fast.set_enabled(True)
    try:
        a = fn()
        fast.set_enabled(False)
        b = fn()
    finally:
        fast.set_enabled(old)
    return a, b


def _grads(op, x_np, channels_last: bool, seed=0):
    def run():
        xa = np.ascontiguousarray(x_np.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2) \
            if channels_last else x_np.copy()
        x = lamina.tensor(xa, requires_grad=True)
        y = op(x)
        gy = np.random.default_rng(seed).standard_normal(y.shape).astype(x_np.dtype)
        (y * lamina.tensor(gy)).sum().backward()
        return y.numpy(), x.grad.numpy()
    return _both(run)


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("kw", [
    dict(kernel_size=2), dict(kernel_size=3, stride=2), dict(kernel_size=3, stride=1, padding=1),
    dict(kernel_size=2, stride=1, dilation=2), dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=(1, 2))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_bitwise(channels_last, kw, dtype):
    rs = np.random.default_rng(1)
    x = rs.standard_normal((3, 5, 9, 8)).astype(dtype)
    x[0, 0, :2, :2] = 0.5            # ties: the first maximum (row-major) takes the gradient
    (ya, ga), (yb, gb) = _grads(lambda t: F.max_pool2d(t, **kw), x, channels_last)
    np.testing.assert_array_equal(ya, yb)
    k = kw["kernel_size"]
    disjoint = kw.get("stride", k) == k and "dilation" not in kw
    if disjoint:
        np.testing.assert_array_equal(ga, gb)
    else:   # overlapping windows: the kernel adds a pixel's shares in another order
        np.testing.assert_allclose(ga, gb, rtol=1e-6, atol=1e-6 if dtype == np.float32 else 0)


def test_max_pool_nan_propagates_like_torch():
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = np.nan
    (ya, ga), (yb, _) = _grads(lambda t: F.max_pool2d(t, 2), x, False)
    assert np.isnan(ya[0, 0, 0, 0]) and np.isnan(yb[0, 0, 0, 0])
    # the NaN is its window's maximum and takes the gradient (PyTorch's rule; the NumPy 2x2
    # path gives it to the window's first element instead)
    np.testing.assert_array_equal(ga[0, 0] != 0, [[0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0],
                                             [0, 1, 0, 1]])


def test_max_pool_return_indices_equal():
    x = np.random.default_rng(2).standard_normal((2, 3, 6, 6)).astype(np.float32)
    a, b = _both(lambda: F.max_pool2d(lamina.tensor(x), 3, 2, return_indices=True)[1].numpy())
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("channels_last", [False, True])
def test_relu_grad_bitwise(channels_last):
    x = np.random.default_rng(3).standard_normal((4, 8, 32, 40)).astype(np.float32)
    (ya, ga), (yb, gb) = _grads(F.relu, x, channels_last)
    np.testing.assert_array_equal(ga, gb)
    assert (ga[x <= 0] == 0).all()


@pytest.mark.parametrize("kw", [dict(), dict(padding=2), dict(stride=2), dict(dilation=2),
                                dict(padding=1, stride=2)])
def test_conv_input_grad_fold(kw):
    rs = np.random.default_rng(4)
    x = rs.standard_normal((3, 6, 11, 10)).astype(np.float32)
    w = lamina.tensor(rs.standard_normal((5, 6, 3, 3)).astype(np.float32))
    (ya, ga), (yb, gb) = _grads(lambda t: F.conv2d(t, w, **kw), x, True)
    np.testing.assert_array_equal(ya, yb)
    np.testing.assert_allclose(ga, gb, rtol=1e-5, atol=1e-5)
    x64 = x.astype(np.float64)
    w64 = lamina.tensor(w.numpy().astype(np.float64))
    (_, ga), (_, gb) = _grads(lambda t: F.conv2d(t, w64, **kw), x64, False)
    np.testing.assert_allclose(ga, gb, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls,kw", [(optim.Adam, {}), (optim.AdamW, dict(weight_decay=0.1)),
                                    (optim.SGD, dict(momentum=0.9))])
def test_optimizer_update_bitwise(cls, kw):
    rs = np.random.default_rng(5)
    w0 = rs.standard_normal((7, 300)).astype(np.float32)
    grads = [rs.standard_normal(w0.shape).astype(np.float32) for _ in range(4)]

    def run():
        p = lamina.nn.Parameter(w0.copy())
        opt = cls([p], lr=1e-2, **kw)
        for g in grads:
            p.grad = lamina.tensor(g)
            opt.step()
        return p.numpy()
    a, b = _both(run)
    np.testing.assert_array_equal(a, b)


def test_set_enabled_reports_and_restores():
    old = fast.set_enabled(False)
    assert not fast.enabled()
    fast.set_enabled(old)
    assert fast.enabled() == old


@pytest.mark.parametrize("mode", ["gru", "lstm"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_recurrent_kernels_match_the_numpy_path(mode, dtype):
    rs = np.random.default_rng(6)
    T, N, I, H = 7, 5, 3, 4
    G = {"gru": 3, "lstm": 4}[mode]
    x0 = rs.standard_normal((T, N, I)).astype(dtype)
    ws = [rs.standard_normal(s).astype(dtype) * 0.5
          for s in ((G * H, I), (G * H, H), (G * H,), (G * H,))]

    def run():
        x = lamina.tensor(x0, requires_grad=True)
        w = [lamina.tensor(a, requires_grad=True) for a in ws]
        out = F.rnn_layer(x, *w, mode=mode)
        (out[0].sum() + (out[1] * out[1]).sum()).backward()
        return [out[0].numpy(), x.grad.numpy()] + [t.grad.numpy() for t in w]
    a, b = _both(run)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for u, v in zip(a, b):
        if mode == "gru":      # the same operations in the same order: the same bits
            np.testing.assert_array_equal(u, v)
        else:                  # sigmoid as (1 + tanh(a/2)) / 2: within rounding
            np.testing.assert_allclose(u, v, rtol=tol, atol=tol)

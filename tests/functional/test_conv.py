"""conv1d / conv2d / conv_transpose1d / conv_transpose2d: NumPy reference, gradcheck, float32,
PyTorch parity of the forward and of every gradient, errors."""

import numpy as np
import pytest

import lamina
import lamina.functional as F
from lamina import Tensor
from lamina.errors import ShapeError
from lamina.testing import check_op


# ----------------------------------------------------------------------------- references
def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def ref_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Direct definition: for each kernel tap, a channel contraction of a strided patch."""
    s, d = _pair(stride), _pair(dilation)
    kh, kw = w.shape[2:]
    if padding == "same":
        tot = [d[0] * (kh - 1), d[1] * (kw - 1)]
        pads = [(t // 2, t - t // 2) for t in tot]
    else:
        pads = [(p, p) for p in _pair(0 if padding == "valid" else padding)]
    xp = np.pad(x, ((0, 0), (0, 0), pads[0], pads[1]))
    n, c, hp, wp = xp.shape
    o, cg = w.shape[:2]
    og = o // groups
    oh = (hp - d[0] * (kh - 1) - 1) // s[0] + 1
    ow = (wp - d[1] * (kw - 1) - 1) // s[1] + 1
    out = np.zeros((n, o, oh, ow))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i * d[0]:i * d[0] + s[0] * (oh - 1) + 1:s[0],
                       j * d[1]:j * d[1] + s[1] * (ow - 1) + 1:s[1]]
            for g in range(groups):
                out[:, g * og:(g + 1) * og] += np.einsum(
                    "nchw,oc->nohw", patch[:, g * cg:(g + 1) * cg], w[g * og:(g + 1) * og, :, i, j])
    if b is not None:
        out += b[:, None, None]
    return out


def ref_conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1,
                         dilation=1):
    """Scatter definition: each input pixel adds ``x * w`` onto the (uncropped) output."""
    s, p, a, d = _pair(stride), _pair(padding), _pair(output_padding), _pair(dilation)
    n, cin, h, wd = x.shape
    kh, kw = w.shape[2:]
    og = w.shape[1]
    cg = cin // groups
    full = ((h - 1) * s[0] + d[0] * (kh - 1) + 1 + a[0],
            (wd - 1) * s[1] + d[1] * (kw - 1) + 1 + a[1])
    y = np.zeros((n, og * groups) + full)
    for i in range(kh):
        for j in range(kw):
            for g in range(groups):
                y[:, g * og:(g + 1) * og, i * d[0]:i * d[0] + s[0] * (h - 1) + 1:s[0],
                  j * d[1]:j * d[1] + s[1] * (wd - 1) + 1:s[1]] += np.einsum(
                    "nchw,co->nohw", x[:, g * cg:(g + 1) * cg], w[g * cg:(g + 1) * cg, :, i, j])
    y = y[:, :, p[0]:full[0] - p[0], p[1]:full[1] - p[1]]
    if b is not None:
        y = y + b[:, None, None]
    return y


def _conv1d_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    pad = padding if padding == "same" else (0, padding)
    return ref_conv2d(x[:, :, None], w[:, :, None], b, (1, stride), pad, (1, dilation),
                      groups)[:, :, 0]


def _torch_grads(fn, torch_fn, arrays):
    """Forward and every input gradient against PyTorch (float64), without gradcheck."""
    import torch
    rs = np.random.default_rng(7)
    tl = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    tt = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    yl, yt = fn(*tl), torch_fn(*tt)
    np.testing.assert_allclose(yl.numpy(), yt.detach().numpy(), rtol=1e-7, atol=1e-10)
    g = rs.standard_normal(yl.shape)
    (yl * Tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    for i, (a, b) in enumerate(zip(tl, tt)):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-7, atol=1e-10,
                                   err_msg=f"gradient of input {i}")


# (C, O, groups, stride, padding, dilation, bias)
CONV2D_GRID = [
    (2, 3, 1, 1, 0, 1, True),
    (2, 3, 1, 2, 1, 1, False),
    (2, 2, 1, (2, 1), (1, 0), 1, True),
    (2, 3, 1, 1, "same", 1, True),
    (2, 2, 1, 1, "same", 2, False),
    (2, 3, 1, 1, "valid", 1, True),
    (2, 4, 2, 1, 1, 1, True),              # grouped
    (2, 2, 2, 1, 1, 1, False),             # depthwise
    (2, 4, 2, 2, 1, (1, 2), True),         # depthwise, multiplier 2, dilated
    (4, 4, 1, 1, 1, 1, True),              # channels-last im2col path (C >= 4)
    (4, 4, 2, 2, 1, 2, False),             # grouped, C/groups = 2
    (4, 8, 4, 1, "same", 1, True),         # depthwise on 4 channels
    (12, 6, 3, 1, 1, 1, True),             # 3 groups of 4 channels (batched group GEMMs)
    (15, 9, 3, 2, 1, 2, False),            # 3 groups of 5, strided and dilated
]


def _conv2d_case(rs, c, o, groups, stride, padding, dilation, bias, k=(3, 3)):
    x = rs.standard_normal((2, c, 5, 5))
    w = rs.standard_normal((o, c // groups) + k)
    args = [x, w] + ([rs.standard_normal(o)] if bias else [])
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return args, kw


@pytest.mark.parametrize("c,o,groups,stride,padding,dilation,bias", CONV2D_GRID)
def test_conv2d_reference_and_gradcheck(rs, c, o, groups, stride, padding, dilation, bias):
    args, kw = _conv2d_case(rs, c, o, groups, stride, padding, dilation, bias)
    check_op(lambda *t: F.conv2d(*t, **kw), args, ref=lambda *a: ref_conv2d(*a, **kw))


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:Using padding='same'")   # torch's note on even kernels
@pytest.mark.parametrize("c,o,groups,stride,padding,dilation,bias", CONV2D_GRID)
def test_conv2d_torch(rs, c, o, groups, stride, padding, dilation, bias):
    import torch
    args, kw = _conv2d_case(rs, c, o, groups, stride, padding, dilation, bias, k=(3, 2))
    _torch_grads(lambda *t: F.conv2d(*t, **kw), lambda *t: torch.nn.functional.conv2d(*t, **kw),
                 args)


CONV1D_GRID = [(2, 3, 1, 1, 0, 1, True), (2, 2, 1, 2, 1, 2, False), (2, 3, 1, 1, "same", 1, True),
               (2, 4, 2, 1, 1, 1, True), (4, 4, 4, 1, 1, 1, False), (4, 2, 1, 3, 2, 1, True)]


@pytest.mark.torch
@pytest.mark.parametrize("c,o,groups,stride,padding,dilation,bias", CONV1D_GRID)
def test_conv1d(rs, c, o, groups, stride, padding, dilation, bias):
    import torch
    x = rs.standard_normal((2, c, 9))
    w = rs.standard_normal((o, c // groups, 3))
    args = [x, w] + ([rs.standard_normal(o)] if bias else [])
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    check_op(lambda *t: F.conv1d(*t, **kw), args, ref=lambda *a: _conv1d_ref(*a, **kw),
             torch_fn=lambda *t: torch.nn.functional.conv1d(*t, **kw))


def test_conv1d_without_torch(rs):
    args = [rs.standard_normal((2, 2, 9)), rs.standard_normal((3, 2, 3)), rs.standard_normal(3)]
    check_op(lambda *t: F.conv1d(*t, stride=2, padding=1), args,
             ref=lambda *a: _conv1d_ref(*a, stride=2, padding=1))


# (C_in, C_out, groups, stride, padding, output_padding, dilation, bias)
CONVT_GRID = [
    (2, 3, 1, 1, 0, 0, 1, True),
    (2, 2, 1, 2, 0, 1, 1, False),
    (2, 3, 1, 2, 1, 1, 1, True),
    (2, 2, 1, (3, 2), (1, 0), (2, 1), 1, True),
    (2, 2, 1, 1, 1, 0, 2, False),
    (4, 4, 2, 2, 1, 0, 1, True),
    (4, 6, 1, 2, 1, 1, 1, False),
    (12, 9, 3, 2, 1, 1, 1, True),          # 3 groups of 4 input channels
    (2, 2, 1, 1, 0, 1, 2, True),           # output_padding >= stride (allowed: < dilation)
]


def _convt_case(rs, cin, cout, groups, stride, padding, opad, dilation, bias):
    x = rs.standard_normal((2, cin, 3, 4))
    w = rs.standard_normal((cin, cout // groups, 3, 3))
    args = [x, w] + ([rs.standard_normal(cout)] if bias else [])
    kw = dict(stride=stride, padding=padding, output_padding=opad, groups=groups,
              dilation=dilation)
    return args, kw


@pytest.mark.parametrize("cin,cout,groups,stride,padding,opad,dilation,bias", CONVT_GRID)
def test_conv_transpose2d_reference_and_gradcheck(rs, cin, cout, groups, stride, padding, opad,
                                                  dilation, bias):
    args, kw = _convt_case(rs, cin, cout, groups, stride, padding, opad, dilation, bias)
    check_op(lambda *t: F.conv_transpose2d(*t, **kw), args,
             ref=lambda *a: ref_conv_transpose2d(*a, **kw))


@pytest.mark.torch
@pytest.mark.parametrize("cin,cout,groups,stride,padding,opad,dilation,bias", CONVT_GRID)
def test_conv_transpose2d_torch(rs, cin, cout, groups, stride, padding, opad, dilation, bias):
    import torch
    args, kw = _convt_case(rs, cin, cout, groups, stride, padding, opad, dilation, bias)
    check_op(lambda *t: F.conv_transpose2d(*t, **kw), args, grad=False,
             torch_fn=lambda *t: torch.nn.functional.conv_transpose2d(*t, **kw))
    _torch_grads(lambda *t: F.conv_transpose2d(*t, **kw),
                 lambda *t: torch.nn.functional.conv_transpose2d(*t, **kw), args)


@pytest.mark.torch
def test_conv_transpose1d_torch(rs):
    import torch
    args = [rs.standard_normal((2, 2, 5)), rs.standard_normal((2, 3, 3)), rs.standard_normal(3)]
    kw = dict(stride=2, padding=1, output_padding=1)
    check_op(lambda *t: F.conv_transpose1d(*t, **kw), args,
             torch_fn=lambda *t: torch.nn.functional.conv_transpose1d(*t, **kw))


def test_pointwise_conv_and_transpose_are_adjoint(rs):
    """1x1 convolutions take the pointwise shortcut; <conv(x), y> == <x, conv_t(y)>."""
    x, y = rs.standard_normal((2, 8, 4, 5)), rs.standard_normal((2, 6, 4, 5))
    w = rs.standard_normal((6, 8, 1, 1))
    check_op(lambda a, b: F.conv2d(a, b), [x, w], ref=lambda a, b: ref_conv2d(a, b))
    lhs = (F.conv2d(Tensor(x), Tensor(w)).numpy() * y).sum()
    rhs = (x * F.conv_transpose2d(Tensor(y), Tensor(w)).numpy()).sum()
    assert abs(lhs - rhs) < 1e-9 * abs(lhs) + 1e-9


def test_only_needed_gradients_are_computed(rs):
    x = Tensor(rs.standard_normal((2, 4, 6, 6)).astype(np.float32))
    w = Tensor(rs.standard_normal((5, 4, 3, 3)).astype(np.float32), requires_grad=True)
    y = F.conv2d(x, w)
    assert y.requires_grad
    y.sum().backward()
    assert x.grad is None and w.grad.shape == (5, 4, 3, 3) and w.grad.dtype == np.float32
    with lamina.no_grad():
        z = F.conv2d(x, w)
    assert not z.requires_grad


def test_float32_training_shapes_stay_float32(rs):
    x = Tensor(rs.standard_normal((4, 1, 28, 28)).astype(np.float32))
    w1 = Tensor(rs.standard_normal((8, 1, 5, 5)).astype(np.float32), requires_grad=True)
    w2 = Tensor(rs.standard_normal((6, 8, 5, 5)).astype(np.float32), requires_grad=True)
    y = F.conv2d(F.max_pool2d(F.conv2d(x, w1), 2), w2)   # C=1 and C=8 im2col layouts chained
    assert y.shape == (4, 6, 8, 8) and y.dtype == np.float32
    (y * y).sum().backward()
    assert w1.grad.dtype == np.float32 and w2.grad.dtype == np.float32
    ref = ref_conv2d(F.max_pool2d(F.conv2d(x, w1), 2).numpy().astype(np.float64),
                     w2.numpy().astype(np.float64))
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-4, atol=1e-3)


def test_error_messages():
    x = Tensor(np.zeros((8, 1, 28, 28), np.float32))
    w = Tensor(np.zeros((32, 3, 5, 5), np.float32))
    with pytest.raises(ShapeError) as e:
        F.conv2d(x, w)
    assert str(e.value) == ("conv2d: expected input with 4 dims (N, C, H, W) and "
                            "C == weight.shape[1]*groups (3), got (8, 1, 28, 28)")
    with pytest.raises(ValueError, match="stride 1 with padding='same'"):
        F.conv2d(x, Tensor(np.zeros((4, 1, 3, 3), np.float32)), stride=2, padding="same")
    with pytest.raises(ValueError, match="dilated kernel"):
        F.conv2d(Tensor(np.zeros((1, 1, 3, 3), np.float32)), Tensor(np.zeros((1, 1, 5, 5))))
    with pytest.raises(ValueError, match="divisible by groups"):
        F.conv2d(Tensor(np.zeros((1, 4, 5, 5))), Tensor(np.zeros((3, 2, 3, 3))), groups=2)
    with pytest.raises(ValueError, match=r"bias of shape \(4,\)"):
        F.conv2d(Tensor(np.zeros((1, 1, 5, 5))), Tensor(np.zeros((4, 1, 3, 3))),
                 Tensor(np.zeros(3)))
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose2d(Tensor(np.zeros((1, 2, 3, 3))), Tensor(np.zeros((2, 2, 3, 3))),
                           stride=2, output_padding=2)
    with pytest.raises(ValueError, match=r"conv1d: expected input with 3 dims \(N, C, L\)"):
        F.conv1d(Tensor(np.zeros((2, 3, 4, 4))), Tensor(np.zeros((2, 3, 3))))


def test_buffer_cache_never_aliases_live_arrays(rs):
    x = Tensor(rs.standard_normal((8, 8, 20, 20)).astype(np.float32))
    w = Tensor(rs.standard_normal((16, 8, 3, 3)).astype(np.float32))
    y1 = F.conv2d(x, w)
    v1 = y1.numpy().copy()
    y2 = F.conv2d(x, w * 2.0)
    assert not np.shares_memory(y1.array, y2.array)
    del y1                                  # its buffer may now be reused ...
    y3 = F.conv2d(x, w)
    np.testing.assert_allclose(y2.numpy(), 2 * v1, rtol=1e-5, atol=1e-5)   # ... never y2's
    np.testing.assert_array_equal(y3.numpy(), v1)


@pytest.mark.parametrize("c", [1, 8])
def test_kernel_threads_give_identical_results(rs, c):
    from lamina.backend import kernels as K
    x = rs.standard_normal((16, c, 34, 34)).astype(np.float32)
    w = rs.standard_normal((8, c, 3, 3)).astype(np.float32)
    b = rs.standard_normal(8).astype(np.float32)
    old, out = K.get_num_threads(), []
    try:
        for n in (1, 2):
            K.set_num_threads(n)
            ts = [Tensor(a, requires_grad=True) for a in (x, w, b)]
            y = F.max_pool2d(F.conv2d(*ts, padding=1), 2)
            (y * y).sum().backward()
            out.append([y.numpy()] + [t.grad for t in ts])
    finally:
        K.set_num_threads(old)
    for a, b2 in zip(*out):
        np.testing.assert_array_equal(a, b2)


@pytest.mark.parametrize("transpose", [False, True])
def test_grouped_conv_numba_and_numpy_paths_agree(transpose):
    """The grouped kernels' numba fold and their pure-NumPy fold give the same float32
    gradients (and outputs) on a batch large enough to split over threads."""
    from lamina.backend import fast
    if not fast.available():
        pytest.skip("numba is not installed")
    rs = np.random.default_rng(3)
    x = rs.standard_normal((16, 12, 20, 20)).astype(np.float32)
    wshape = (12, 2, 3, 3) if transpose else (9, 4, 3, 3)
    w = rs.standard_normal(wshape).astype(np.float32)
    op = F.conv_transpose2d if transpose else F.conv2d
    res = []
    for on in (True, False):
        old = fast.set_enabled(on)
        try:
            xt, wt = lamina.tensor(x, requires_grad=True), lamina.tensor(w, requires_grad=True)
            y = op(xt, wt, stride=2, padding=1, groups=3)
            (y * y).sum().backward()
            res.append((y.numpy(), xt.grad.numpy(), wt.grad.numpy()))
        finally:
            fast.set_enabled(old)
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)

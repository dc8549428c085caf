"""Convolution, pooling and upsampling layers: parameters, default init, repr, and PyTorch parity
of outputs and of input and parameter gradients with copied weights."""

import math

import numpy as np
import pytest

import lamina
from lamina import Tensor, nn


def test_conv2d_parameters_and_default_init():
    lamina.manual_seed(0)
    conv = nn.Conv2d(32, 64, 5)
    assert [n for n, _ in conv.named_parameters()] == ["weight", "bias"]
    assert conv.weight.shape == (64, 32, 5, 5) and conv.weight.dtype == np.float32
    bound = 1 / math.sqrt(32 * 25)          # kaiming_uniform(a=sqrt(5)) == U(+-1/sqrt(fan_in))
    w = conv.weight.numpy()
    assert np.abs(w).max() <= bound and abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    assert np.abs(conv.bias.numpy()).max() <= bound
    t = nn.ConvTranspose2d(16, 8, 4, groups=2, bias=False)
    assert t.weight.shape == (16, 4, 4, 4) and t.bias is None
    assert np.abs(t.weight.numpy()).max() <= 1 / math.sqrt(4 * 16)
    lamina.manual_seed(0)
    again = nn.Conv2d(32, 64, 5)
    np.testing.assert_array_equal(again.weight.numpy(), w)   # seeded through lamina.backend.rng


def test_conv_layer_errors():
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 6, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode='zeros'"):
        nn.Conv2d(3, 6, 3, padding_mode="reflect")
    conv = nn.Conv2d(3, 32, 5)
    with pytest.raises(ValueError, match=r"C == weight.shape\[1\]\*groups \(3\), got \(8, 1, 28"):
        conv(Tensor(np.zeros((8, 1, 28, 28), np.float32)))


def _pair_modules(torch):
    tnn = torch.nn
    return [
        (nn.Conv2d(3, 4, 3), tnn.Conv2d(3, 4, 3), (2, 3, 7, 6)),
        (nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, dilation=(1, 2), groups=2, bias=False),
         tnn.Conv2d(4, 6, (3, 2), stride=2, padding=1, dilation=(1, 2), groups=2, bias=False),
         (2, 4, 7, 8)),
        (nn.Conv2d(4, 8, 3, padding="same", groups=4), tnn.Conv2d(4, 8, 3, padding="same",
                                                                  groups=4), (2, 4, 5, 5)),
        (nn.Conv1d(2, 3, 3, stride=2, padding=1), tnn.Conv1d(2, 3, 3, stride=2, padding=1),
         (2, 2, 9)),
        (nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1),
         tnn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1), (2, 4, 3, 4)),
        (nn.ConvTranspose1d(2, 4, 4, stride=2, groups=2), tnn.ConvTranspose1d(2, 4, 4, stride=2,
                                                                             groups=2), (2, 2, 5)),
        (nn.MaxPool2d(2), tnn.MaxPool2d(2), (2, 3, 6, 7)),
        (nn.MaxPool2d(3, 2, 1, ceil_mode=True), tnn.MaxPool2d(3, 2, 1, ceil_mode=True),
         (2, 3, 6, 7)),
        (nn.MaxPool1d(3, 2), tnn.MaxPool1d(3, 2), (2, 3, 9)),
        (nn.AvgPool2d(3, 2, 1, count_include_pad=False),
         tnn.AvgPool2d(3, 2, 1, count_include_pad=False), (2, 3, 6, 7)),
        (nn.AvgPool1d(2), tnn.AvgPool1d(2), (2, 3, 9)),
        (nn.LPPool2d(2, 2), tnn.LPPool2d(2, 2), (2, 3, 6, 6)),
        (nn.LPPool1d(2, 3), tnn.LPPool1d(2, 3), (2, 3, 9)),
        (nn.AdaptiveAvgPool2d((3, 4)), tnn.AdaptiveAvgPool2d((3, 4)), (2, 3, 7, 10)),
        (nn.AdaptiveAvgPool1d(4), tnn.AdaptiveAvgPool1d(4), (2, 3, 10)),
        (nn.AdaptiveMaxPool2d(3), tnn.AdaptiveMaxPool2d(3), (2, 3, 7, 8)),
        (nn.AdaptiveMaxPool1d(3), tnn.AdaptiveMaxPool1d(3), (2, 3, 7)),
        (nn.Upsample(scale_factor=2), tnn.Upsample(scale_factor=2), (2, 3, 3, 4)),
        (nn.Upsample(size=(5, 7)), tnn.Upsample(size=(5, 7)), (2, 3, 3, 4)),
        (nn.UpsamplingNearest2d(scale_factor=3), tnn.UpsamplingNearest2d(scale_factor=3),
         (1, 2, 2, 3)),
    ]


@pytest.mark.torch
def test_modules_match_torch_with_copied_weights(rs):
    torch = pytest.importorskip("torch")
    for ours, theirs, shape in _pair_modules(torch):
        assert repr(ours) == repr(theirs)
        ours.to(np.float64)
        theirs.double()
        for name, p in theirs.named_parameters():
            getattr(ours, name).array = p.detach().numpy().copy()
        x = rs.standard_normal(shape)
        xl, xt = Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
        yl, yt = ours(xl), theirs(xt)
        np.testing.assert_allclose(yl.numpy(), yt.detach().numpy(), rtol=1e-7, atol=1e-10,
                                   err_msg=repr(ours))
        g = rs.standard_normal(yl.shape)
        (yl * Tensor(g)).sum().backward()
        (yt * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(xl.grad, xt.grad.numpy(), rtol=1e-7, atol=1e-10,
                                   err_msg=repr(ours))
        for name, p in theirs.named_parameters():
            np.testing.assert_allclose(getattr(ours, name).grad, p.grad.numpy(), rtol=1e-7,
                                       atol=1e-10, err_msg=f"{ours!r}.{name}")


@pytest.mark.torch
def test_conv_transpose_output_size_and_global_pools(rs):
    torch = pytest.importorskip("torch")
    ours = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1)
    theirs = torch.nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = rs.standard_normal((1, 4, 5, 5)).astype(np.float32)
    y = ours(Tensor(x), output_size=(10, 10))
    yt = theirs(torch.tensor(x), output_size=(10, 10))
    assert y.shape == (1, 2, 10, 10)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    x4 = rs.standard_normal((2, 3, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(nn.GlobalAvgPool2d()(Tensor(x4)).numpy(), x4.mean((2, 3)),
                               rtol=1e-6)
    assert nn.GlobalMaxPool2d(keepdim=True)(Tensor(x4)).shape == (2, 3, 1, 1)
    assert repr(nn.GlobalAvgPool2d()) == "GlobalAvgPool2d()"


def test_small_cnn_trains_float32(rs):
    """conv -> relu -> pool -> conv -> global pool: loss falls on a learnable toy target."""
    lamina.manual_seed(0)
    c1, c2 = nn.Conv2d(1, 4, 3, padding=1), nn.Conv2d(4, 2, 3, padding="same")
    pool, gap = nn.MaxPool2d(2), nn.GlobalAvgPool2d()
    x = rs.standard_normal((16, 1, 8, 8)).astype(np.float32)
    target = np.stack([x.mean((1, 2, 3)), -x.mean((1, 2, 3))], 1).astype(np.float32)
    params = list(c1.parameters()) + list(c2.parameters())
    losses = []
    for _ in range(60):
        out = gap(c2(pool(c1(Tensor(x)).clip(min=0.0))))
        loss = ((out - Tensor(target)) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        for p in params:
            p.array -= 0.5 * p.grad.array
        losses.append(loss.item())
    assert out.dtype == np.float32 and all(p.grad.dtype == np.float32 for p in params)
    assert losses[-1] < 0.3 * losses[0]

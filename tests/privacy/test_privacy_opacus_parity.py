"""Per-example gradients and one DP-SGD step against Opacus 1.6 on a PyTorch twin (float64)."""

import numpy as np
import pytest

import lamina
from lamina import functional as F
from lamina import nn
from lamina.privacy import per_sample_grads


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.norm = nn.LayerNorm(3 * 6 * 6)
        self.fc = nn.Linear(3 * 6 * 6, 4)

    def forward(self, x):
        h = self.conv(x).tanh().reshape(x.shape[0], -1)
        return self.fc(self.norm(h))


@pytest.mark.torch
def test_per_sample_grads_match_opacus_grad_sample_module():
    torch = pytest.importorskip("torch")
    opacus = pytest.importorskip("opacus")
    lamina.manual_seed(0)
    net = _Net().double()
    tnet = torch.nn.Module()
    tnet.conv = torch.nn.Conv2d(1, 3, 3, padding=1)
    tnet.norm = torch.nn.LayerNorm(3 * 6 * 6)
    tnet.fc = torch.nn.Linear(3 * 6 * 6, 4)
    tnet = tnet.double()
    tnet.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in net.state_dict().items()})

    def fwd(x):
        h = torch.tanh(tnet.conv(x)).reshape(x.shape[0], -1)
        return tnet.fc(tnet.norm(h))
    tnet.forward = fwd
    gsm = opacus.GradSampleModule(tnet)
    x = np.random.default_rng(0).standard_normal((5, 1, 6, 6))
    y = np.arange(5) % 4
    torch.nn.functional.cross_entropy(gsm(torch.from_numpy(x)), torch.from_numpy(y)).backward()
    ours = per_sample_grads(net, F.cross_entropy, x, y)
    for name, p in tnet.named_parameters():
        np.testing.assert_allclose(ours[name], p.grad_sample.detach().numpy(), atol=1e-10,
                                   err_msg=name)

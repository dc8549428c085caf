"""Per-example gradients equal per-example backward (float64, 1e-10) for every layer."""

import numpy as np
import pytest

import lamina
from lamina import functional as F
from lamina import nn
from lamina.privacy import GradSampleModule, per_sample_grads


def _loop_grads(model, loss_fn, x, y):
    out = {k: [] for k, p in model.named_parameters() if p.requires_grad}
    for i in range(len(x)):
        model.zero_grad()
        loss_fn(model(lamina.tensor(x[i:i + 1])), lamina.tensor(y[i:i + 1])).backward()
        for k, p in model.named_parameters():
            if p.requires_grad:
                out[k].append(p.grad.numpy().copy())
    return {k: np.stack(v) for k, v in out.items()}


class _Seq(nn.Module):
    def __init__(self, rnn, head):
        super().__init__()
        self.rnn, self.head = rnn, head

    def forward(self, x):
        out = self.rnn(x)[0]
        return self.head(out[:, -1])


class _Emb(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(7, 4, padding_idx=0)
        self.norm = nn.LayerNorm(4)
        self.fc = nn.Linear(4, 3)

    def forward(self, ids):
        return self.fc(self.norm(self.emb(ids)).mean(1))


def _models():
    rs = np.random.default_rng(0)
    yield "mlp", nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.Linear(6, 3)), \
        rs.standard_normal((6, 5)), rs.integers(0, 3, 6)
    yield "conv2d", nn.Sequential(nn.Conv2d(2, 4, 3, stride=2, padding=1), nn.Tanh(),
                                  nn.Conv2d(4, 4, 3, padding="same", dilation=2, groups=2),
                                  nn.Flatten(), nn.Linear(4 * 16, 3)), \
        rs.standard_normal((4, 2, 8, 8)), rs.integers(0, 3, 4)
    yield "conv1d", nn.Sequential(nn.Conv1d(3, 4, 3, padding=1), nn.Tanh(), nn.Flatten(),
                                  nn.Linear(4 * 10, 3)), \
        rs.standard_normal((5, 3, 10)), rs.integers(0, 3, 5)
    yield "embedding+layernorm", _Emb(), rs.integers(0, 7, (5, 6)), rs.integers(0, 3, 5)
    for cls in (nn.RNN, nn.GRU, nn.LSTM):
        yield cls.__name__, _Seq(cls(3, 4, num_layers=2, batch_first=True,
                                     bidirectional=True), nn.Linear(8, 3)), \
            rs.standard_normal((4, 5, 3)), rs.integers(0, 3, 4)


@pytest.mark.parametrize("case", list(_models()), ids=lambda c: c[0])
def test_per_sample_grads_equal_loop(case):
    lamina.manual_seed(0)
    _, model, x, y = case
    model.double()
    x = x if x.dtype.kind == "i" else x.astype(np.float64)
    ref = _loop_grads(model, F.cross_entropy, x, y)
    model.zero_grad()
    got = per_sample_grads(model, F.cross_entropy, lamina.tensor(x), lamina.tensor(y))
    assert set(got) == set(ref)
    for k in ref:
        assert got[k].shape == ref[k].shape, k
        np.testing.assert_allclose(got[k], ref[k], atol=1e-10, rtol=0, err_msg=k)
    assert all(p.grad is None for p in model.parameters())  # .grad left as it was


def test_sum_of_per_sample_grads_is_the_batch_gradient():
    lamina.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 3)).double()
    x, y = np.random.default_rng(1).standard_normal((8, 4)), np.arange(8) % 3
    g = per_sample_grads(model, F.cross_entropy, x, y)
    F.cross_entropy(model(lamina.tensor(x)), lamina.tensor(y)).backward()
    np.testing.assert_allclose(g["0.weight"].mean(0), model[0].weight.grad.numpy(), atol=1e-12)


def test_unsupported_layers_raise_clearly():
    with pytest.raises(TypeError, match="BatchNorm1d"):
        GradSampleModule(nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3)))
    with pytest.raises(TypeError, match="supported layers"):
        GradSampleModule(nn.Sequential(nn.ConvTranspose2d(1, 1, 2)))


def test_hooks_are_removed_and_frozen_layers_skipped():
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2))
    model[0].requires_grad_(False)
    g = per_sample_grads(model, F.cross_entropy, np.ones((2, 3), np.float32), np.array([0, 1]))
    assert set(g) == {"1.weight", "1.bias"} and g["1.weight"].dtype == np.float32
    assert not model[1]._forward_hooks and model.training

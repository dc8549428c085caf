"""Module and containers: registration, traversal, state dicts (torch key parity and errors),
modes, apply, freezing, hooks, dtype casts, copying."""

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import lamina as L
import lamina.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU())
        self.head = nn.Linear(8, 3)
        self.scale = nn.Parameter(np.ones(3, dtype=np.float32))
        self.register_buffer("steps", np.zeros((), dtype=np.int64))
        self.register_buffer("cache", np.zeros(2, dtype=np.float32), persistent=False)

    def forward(self, x):
        return self.head(self.features(x)) * self.scale


KEYS = ["scale", "steps", "features.0.weight", "features.0.bias", "features.1.weight",
        "features.1.bias", "features.1.running_mean", "features.1.running_var",
        "features.1.num_batches_tracked", "head.weight", "head.bias"]


def test_registration_and_traversal():
    net = Net()
    assert list(net.state_dict()) == KEYS
    assert [n for n, _ in net.named_parameters()] == [
        "scale", "features.0.weight", "features.0.bias", "features.1.weight",
        "features.1.bias", "head.weight", "head.bias"]
    assert [n for n, _ in net.named_modules()] == ["", "features", "features.0", "features.1",
                                                   "features.2", "head"]
    assert [n for n, _ in net.named_buffers()][:2] == ["steps", "cache"]  # cache: not saved
    assert isinstance(net.steps, L.Tensor) and net.get_submodule("features.1") is \
        net.features[1]
    with pytest.raises(TypeError, match="cannot assign Tensor as parameter 'scale'"):
        net.scale = L.ones(3)
    net.scale = None
    assert "scale" not in net.state_dict()
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        net.nope
    with pytest.raises(AttributeError, match=r"call super\(\).__init__\(\) before"):
        class Bad(nn.Module):
            def __init__(self):
                self.x = nn.Linear(1, 1)
        Bad()


def test_shared_parameters_listed_once():
    lin = nn.Linear(3, 3)
    tied = nn.Sequential(lin, nn.Tanh(), lin)
    assert len(list(tied.parameters())) == 2
    assert list(tied.state_dict()) == ["0.weight", "0.bias"]


@pytest.mark.torch
def test_state_dict_keys_and_values_load_from_torch():
    import torch

    class TNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.features = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8),
                                                torch.nn.ReLU())
            self.head = torch.nn.Linear(8, 3)
            self.scale = torch.nn.Parameter(torch.rand(3))
            self.register_buffer("steps", torch.tensor(0))
            self.register_buffer("cache", torch.zeros(2), persistent=False)

        def forward(self, x):
            return self.head(self.features(x)) * self.scale

    tnet, net = TNet(), Net()
    assert list(tnet.state_dict()) == list(net.state_dict())
    tnet.train()
    tnet(torch.randn(16, 4))  # non-trivial running stats
    tnet.eval()
    net.load_state_dict(tnet.state_dict())  # torch tensors accepted directly
    net.eval()
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(net(L.tensor(x)).numpy(),
                               tnet(torch.tensor(x)).detach().numpy(), atol=1e-5)
    assert net.features[1].running_var.dtype == np.float32


def test_load_state_dict_lists_every_problem_at_once():
    net = Net()
    sd = dict(net.state_dict())
    del sd["head.bias"], sd["scale"]
    sd["extra.weight"] = np.zeros(2)
    sd["head.weight"] = np.zeros((4, 8))
    with pytest.raises(KeyError) as e:
        net.load_state_dict(sd)
    msg = str(e.value)
    for part in ("head.weight: checkpoint (4, 8) vs model (3, 8)", "missing keys: scale",
                 "head.bias", "unexpected keys: extra.weight", "strict=False"):
        assert part in msg, part
    sd["head.weight"] = np.full((3, 8), 2.0)
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert missing == ["scale", "head.bias"] and unexpected == ["extra.weight"]
    assert (net.head.weight.numpy() == 2).all() and net.head.weight.dtype == np.float32


def test_load_state_dict_prefix_and_copy_semantics():
    src = {"features." + k: v for k, v in nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8),
                                                        nn.ReLU()).state_dict().items()}
    sub = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU())
    sub.load_state_dict(src, prefix="features.")
    np.testing.assert_array_equal(sub[0].weight.numpy(), src["features.0.weight"])
    src["features.0.weight"][...] = 7  # the model holds a copy
    assert not (sub[0].weight.numpy() == 7).any()


def test_train_eval_recursion_respects_overrides():
    calls = []

    class Custom(nn.Module):
        def train(self, mode=True):
            calls.append(mode)
            return super().train(mode)

    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(Custom(), nn.Dropout()))
    assert model.eval() is model
    assert not any(m.training for m in model.modules()) and calls == [False]
    model.train()
    assert all(m.training for m in model.modules()) and calls == [False, True]
    with pytest.raises(ValueError, match="train"):
        model.train("no")


def test_apply_freeze_zero_grad():
    net = Net()
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "BatchNorm1d", "ReLU", "Sequential", "Linear", "Net"]
    net.features.freeze()
    assert not any(p.requires_grad for p in net.features.parameters())
    assert net.head.weight.requires_grad
    net(L.randn(4, 4)).sum().backward()
    assert net.features[0].weight.grad is None and net.head.weight.grad is not None
    net.zero_grad(set_to_none=False)
    assert (net.head.weight.grad == 0).all()
    net.zero_grad()
    assert net.head.weight.grad is None
    net.unfreeze()
    assert all(p.requires_grad for p in net.parameters())
    assert net.requires_grad_(False) is net
    assert not any(p.requires_grad for p in net.parameters())


def test_forward_hooks_and_pre_hooks():
    lin = nn.Linear(3, 2)
    seen = []
    h1 = lin.register_forward_hook(lambda m, args, out: seen.append((m, args[0].shape,
                                                                     out.shape)))
    h2 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    out = lin(L.ones(4, 3))
    assert seen == [(lin, (4, 3), (4, 2))]
    np.testing.assert_allclose(out.numpy(), np.broadcast_to(lin.bias.numpy(), (4, 2)))
    h2.remove()
    h3 = lin.register_forward_hook(lambda m, args, out: out * 0)
    assert not lin(L.ones(1, 3)).numpy().any()
    h1.remove()
    h3.remove()
    lin(L.ones(1, 3))
    assert len(seen) == 2 and not lin._forward_hooks


def test_to_double_and_copies():
    net = Net()
    net.double()
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert net.features[1].running_mean.dtype == np.float64
    assert net.steps.dtype == np.int64  # integer buffers are not cast
    assert net(L.randn(3, 4).double()).dtype == np.float64
    for clone in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert list(clone.state_dict()) == KEYS
        assert clone.head.weight is not net.head.weight
        np.testing.assert_array_equal(clone.head.weight.numpy(), net.head.weight.numpy())


def test_containers():
    seq = nn.Sequential(OrderedDict(fc=nn.Linear(2, 3), act=nn.ReLU()))
    assert list(seq.state_dict()) == ["fc.weight", "fc.bias"] and seq["act"] is seq[1]
    seq.append(nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[1:], nn.Sequential) and len(seq[1:]) == 2
    assert seq(L.randn(5, 2)).shape == (5, 1)
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml.extend([nn.Linear(1, 1), nn.Tanh()])
    ml[2] = nn.ReLU()
    assert len(ml) == 3 and isinstance(ml[2], nn.ReLU)
    assert list(ml.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    md = nn.ModuleDict({"a": nn.Linear(1, 2)})
    md["b"] = nn.Linear(2, 1)
    assert "b" in md and list(md) == ["a", "b"] and len(md) == 2
    assert list(md.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias"]
    text = repr(nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU())))
    assert "(0): Linear(in_features=2, out_features=3, bias=True)" in text
    assert "(1): Sequential(\n    (0): ReLU()\n  )" in text

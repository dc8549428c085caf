"""Vision model zoo: LeNet-5 and CIFAR-style ResNet build, shape, summarise, train a step,
come out of the CLI builder, and match the same torch module tree weight for weight."""

import numpy as np
import pytest

import lamina as L
import lamina.functional as F
from lamina.cli.build import build_model
from lamina.cli.config import ConfigError
from lamina.models import LeNet5, ResNet


def _x(rs, *shape):
    return L.tensor(rs.standard_normal(shape).astype(np.float32))


@pytest.mark.parametrize("kw, shape", [({}, (1, 28, 28)), ({"batch_norm": True}, (1, 28, 28)),
                                       ({"activation": "tanh", "pool": "avg"}, (1, 28, 28)),
                                       ({"in_channels": 3, "input_size": 32}, (3, 32, 32))])
def test_lenet5_shapes_and_parameter_count(rs, kw, shape):
    model = LeNet5(num_classes=10, **kw)
    assert model(_x(rs, 4, *shape)).shape == (4, 10)
    n = sum(p.numel() for p in model.parameters())
    side = (shape[1] // 2 - 4) // 2
    conv = 6 * shape[0] * 25 + 16 * 6 * 25
    bias = 0 if kw.get("batch_norm") else 6 + 16
    bn = 2 * (6 + 16) if kw.get("batch_norm") else 0
    fc = 16 * side * side * 120 + 120 + 120 * 84 + 84 + 84 * 10 + 10
    assert n == conv + bias + bn + fc  # 61,706 for the classic 1x28x28 net


def test_lenet5_state_dict_names():
    keys = list(LeNet5(batch_norm=True).state_dict())
    assert keys[:6] == ["features.0.weight", "features.1.weight", "features.1.bias",
                        "features.1.running_mean", "features.1.running_var",
                        "features.1.num_batches_tracked"]
    assert keys[-2:] == ["classifier.5.weight", "classifier.5.bias"]


def test_lenet5_rejects_small_images():
    with pytest.raises(ValueError, match="LeNet5: expected input height and width >= 12"):
        LeNet5(input_size=8)


@pytest.mark.parametrize("depth, blocks", [(8, 1), (20, 3)])
@pytest.mark.parametrize("side", [8, 28])
def test_resnet_depth_and_inputs(rs, depth, blocks, side):
    model = ResNet(depth=depth, num_classes=7, in_channels=1, width=8)
    assert [len(getattr(model, f"layer{i}")) for i in (1, 2, 3)] == [blocks] * 3
    convs = [n for n, _ in model.named_parameters() if "conv" in n and "downsample" not in n]
    assert len(convs) + 1 == depth  # 6n conv layers in the blocks + stem + fc = 6n + 2
    assert model(_x(rs, 2, 1, side, side)).shape == (2, 7)
    assert model.layer1[0].downsample is None and model.layer2[0].downsample is not None


def test_resnet_rejects_bad_depth():
    with pytest.raises(ValueError, match=r"ResNet: expected depth = 6n \+ 2"):
        ResNet(depth=10)


def test_every_parameter_gets_a_gradient(rs):
    for model, shape in ((LeNet5(batch_norm=True), (1, 28, 28)), (ResNet(8, 10, 1), (1, 8, 8))):
        F.cross_entropy(model(_x(rs, 4, *shape)), L.tensor(np.arange(4))).backward()
        for name, p in model.named_parameters():
            assert p.grad is not None and np.abs(np.asarray(p.grad)).sum() > 0, name


def test_summary_lists_every_layer():
    text = L.summary(LeNet5(), (1, 28, 28), print_fn=None)
    assert "features.4" in text and "(1, 16, 10, 10)" in text and "(1, 16, 5, 5)" in text
    assert "Total params: 61,706" in text
    text = L.summary(ResNet(20, 10, 1), (1, 28, 28), print_fn=None)
    assert "layer3.2.conv2" in text and "(1, 64, 7, 7)" in text and "layer2.0.downsample.0" in text
    assert "Total params: 272,186" in text


def test_cli_builder_makes_zoo_models():
    lenet = build_model({"name": "lenet5", "batch_norm": True, "activation": "tanh"},
                        (1, 28, 28), 10)
    assert isinstance(lenet, LeNet5) and "features.1.running_mean" in lenet.state_dict()
    resnet = build_model({"name": "resnet", "depth": 8, "width": 8}, (1, 8, 8), 10)
    assert isinstance(resnet, ResNet) and resnet.fc.weight.shape == (10, 32)
    with pytest.raises(ConfigError, match="model LeNet5"):
        build_model({"name": "lenet5", "hidden_size": 3}, (1, 28, 28), 10)
    with pytest.raises(ValueError, match="image samples"):
        build_model({"name": "lenet5"}, (64,), 10)


# ---------------------------------------------------------------- PyTorch parity
def _torch_lenet(nn, bn, act, in_ch=1, side=5):
    def block(cin, cout, pad):
        layers = [nn.Conv2d(cin, cout, 5, padding=pad, bias=not bn)]
        return layers + ([nn.BatchNorm2d(cout)] if bn else []) + [act(), nn.MaxPool2d(2)]

    m = nn.Module()
    m.features = nn.Sequential(*block(in_ch, 6, 2), *block(6, 16, 0))
    m.classifier = nn.Sequential(nn.Flatten(), nn.Linear(16 * side * side, 120), act(),
                                 nn.Linear(120, 84), act(), nn.Linear(84, 10))
    m.forward = lambda x: m.classifier(m.features(x))
    return m


def _torch_resnet(torch, depth, width, in_ch, n_out):
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                                nn.BatchNorm2d(cout))

        def forward(self, x):
            out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            return torch.relu(out + (x if self.downsample is None else self.downsample(x)))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            n = (depth - 2) // 6
            self.conv1 = nn.Conv2d(in_ch, width, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            cin = width
            for i, (cout, s) in enumerate(((width, 1), (2 * width, 2), (4 * width, 2))):
                setattr(self, f"layer{i + 1}", nn.Sequential(
                    *[Block(cin if b == 0 else cout, cout, s if b == 0 else 1) for b in range(n)]))
                cin = cout
            self.avgpool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(4 * width, n_out)

        def forward(self, x):
            x = torch.relu(self.bn1(self.conv1(x)))
            x = self.layer3(self.layer2(self.layer1(x)))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return Net()


def _copy_into_torch(torch, lam, tm):
    state = {k: torch.from_numpy(np.array(v)) for k, v in lam.state_dict().items()}
    tm.load_state_dict(state, strict=True)  # strict: the two trees have exactly the same names


def _compare(torch, lam, tm, x, train):
    lam.train(train)
    tm.train(train)
    xt = torch.from_numpy(x).requires_grad_(True)
    out_t = tm(xt)
    (out_t ** 2).sum().backward()
    xl = L.tensor(x, requires_grad=True)
    out_l = lam(xl)
    (out_l ** 2).sum().backward()
    np.testing.assert_allclose(out_l.numpy(), out_t.detach().numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(xl.grad), xt.grad.numpy(), rtol=1e-3, atol=1e-4)
    grads = dict(tm.named_parameters())
    for name, p in lam.named_parameters():
        np.testing.assert_allclose(np.asarray(p.grad), grads[name].grad.numpy(), rtol=1e-3,
                                   atol=1e-3, err_msg=name)


@pytest.mark.torch
@pytest.mark.parametrize("bn, act", [(False, "relu"), (True, "tanh")])
def test_lenet5_matches_torch(rs, bn, act):
    torch = pytest.importorskip("torch")
    lam = LeNet5(batch_norm=bn, activation=act)
    tm = _torch_lenet(torch.nn, bn, {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[act])
    _copy_into_torch(torch, lam, tm)
    x = rs.random((4, 1, 28, 28)).astype(np.float32)
    _compare(torch, lam, tm, x, train=True)
    _compare(torch, lam, tm, x, train=False)


@pytest.mark.torch
@pytest.mark.parametrize("depth, side", [(8, 8), (20, 28)])
def test_resnet_matches_torch(rs, depth, side):
    torch = pytest.importorskip("torch")
    lam = ResNet(depth=depth, num_classes=10, in_channels=1, width=8)
    tm = _torch_resnet(torch, depth, 8, 1, 10)
    _copy_into_torch(torch, lam, tm)
    x = rs.standard_normal((3, 1, side, side)).astype(np.float32)
    _compare(torch, lam, tm, x, train=True)
    # running statistics were updated identically by the training-mode pass
    tstate = tm.state_dict()
    for k, v in lam.state_dict().items():
        np.testing.assert_allclose(np.asarray(v), tstate[k].numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=k)
    _compare(torch, lam, tm, x, train=False)

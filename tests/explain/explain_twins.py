"""Helpers of the explain tests: twins (a small lamina CNN and the same net in PyTorch with
the weights copied by state_dict name, float64) and a plain training loop."""

import numpy as np
import pytest

import lamina
from lamina import nn


def lamina_cnn(pool=True):
    layers = [nn.Conv2d(1, 4, 3, padding=1), nn.ReLU()]
    layers += [nn.MaxPool2d(2)] if pool else []
    side = 4 if pool else 8
    layers += [nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.Flatten(),
               nn.Linear(6 * side * side, 16), nn.ReLU(), nn.Linear(16, 10)]
    return nn.Sequential(*layers)


def torch_twin(model):
    """The same Sequential built from torch.nn, weights copied, float64, eval mode."""
    torch = pytest.importorskip("torch")
    tn = torch.nn
    mods = []
    for m in model:
        name = type(m).__name__
        if name == "Conv2d":
            mods.append(tn.Conv2d(m.in_channels, m.out_channels, m.kernel_size,
                                  padding=m.padding, bias=m.bias is not None))
        elif name == "Linear":
            mods.append(tn.Linear(m.in_features, m.out_features, bias=m.bias is not None))
        elif name == "MaxPool2d":
            mods.append(tn.MaxPool2d(2))
        elif name == "AvgPool2d":
            mods.append(tn.AvgPool2d(2))
        else:
            mods.append(getattr(tn, name)())
    tm = tn.Sequential(*mods).double().eval()
    sd = {k: torch.from_numpy(np.asarray(getattr(v, "array", v), dtype=np.float64).copy())
          for k, v in model.state_dict().items()}
    tm.load_state_dict(sd)
    return tm


def train(model, x, y, epochs=10, lr=3e-3, batch=64, seed=0):
    """A plain Adam loop (the tests' models are small; Trainer is tested elsewhere)."""
    import lamina.functional as F
    from lamina.optim import Adam
    lamina.manual_seed(seed)
    opt = Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    model.train()
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for s in range(0, len(x), batch):
            idx = order[s:s + batch]
            opt.zero_grad()
            loss = F.cross_entropy(model(lamina.tensor(x[idx])), lamina.tensor(y[idx]))
            loss.backward()
            opt.step()
    return model.eval()


def accuracy(model, x, y):
    with lamina.no_grad():
        return float((model(lamina.tensor(x)).numpy().argmax(1) == y).mean())

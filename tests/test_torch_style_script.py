"""A typical PyTorch training script runs on lamina with only its imports changed.

The same script text runs under both libraries (PyTorch only when installed), on the same split
of scikit-learn's digits; lamina must learn, and land near PyTorch.
"""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

IMPORTS_LAMINA = """
import lamina as torch
import lamina.nn as nn
import lamina.nn.functional as F
import lamina.optim as optim
from lamina.data import DataLoader, TensorDataset
"""

IMPORTS_TORCH = """
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset
"""

SCRIPT = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 128)
        self.bn1 = nn.BatchNorm1d(128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = x.view(-1, 64)
        x = F.relu(self.bn1(self.fc1(x)))
        x = F.dropout(x, p=0.2, training=self.training)
        return F.log_softmax(self.fc2(x), dim=1)


def run(x_train, y_train, x_test, y_test, epochs=15):
    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = Net().to(device)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)
    train_loader = DataLoader(TensorDataset(torch.tensor(x_train), torch.tensor(y_train)),
                              batch_size=32, shuffle=True)
    for epoch in range(epochs):
        model.train()
        for batch_idx, (data, target) in enumerate(train_loader):
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
        scheduler.step()
    model.eval()
    test_loss, correct = 0.0, 0
    with torch.no_grad():
        data = torch.tensor(x_test).to(device)
        target = torch.tensor(y_test).to(device)
        output = model(data)
        test_loss += F.nll_loss(output, target, reduction="sum").item()
        pred = output.argmax(dim=1, keepdim=True)
        correct += pred.eq(target.view_as(pred)).sum().item()
    return correct / len(y_test), test_loss / len(y_test)
"""


def _data():
    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    return train_test_split(x, d.target.astype(np.int64), test_size=0.2, stratify=d.target,
                            random_state=0)


def _run(imports):
    ns = {}
    exec(compile(imports + SCRIPT, "<torch-style script>", "exec"), ns)
    x_tr, x_te, y_tr, y_te = _data()
    return ns["run"](x_tr, y_tr, x_te, y_te)


def test_pytorch_script_runs_unchanged_on_lamina():
    acc, loss = _run(IMPORTS_LAMINA)
    assert acc >= 0.95, f"lamina reached only {acc:.3f}"
    assert np.isfinite(loss)


@pytest.mark.torch
def test_same_script_lands_near_pytorch():
    acc_l, _ = _run(IMPORTS_LAMINA)
    acc_t, _ = _run(IMPORTS_TORCH)
    assert abs(acc_l - acc_t) <= 0.03, (acc_l, acc_t)

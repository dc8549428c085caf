# A PyTorch tutorial-style script: logistic regression on iris with LBFGS, then Adam.
import torch
from sklearn.datasets import load_iris

torch.manual_seed(0)
X, y = load_iris(return_X_y=True)
X = torch.tensor((X - X.mean(0)) / X.std(0), dtype=torch.float32)
y = torch.tensor(y, dtype=torch.long)

model = torch.nn.Linear(4, 3)
loss_fn = torch.nn.CrossEntropyLoss()
opt = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=50,
                        line_search_fn="strong_wolfe")


def closure():
    opt.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    return loss


for _ in range(3):
    opt.step(closure)

mlp = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
adam = torch.optim.Adam(mlp.parameters(), lr=0.05)
for step in range(100):
    adam.zero_grad()
    loss2 = loss_fn(mlp(X), y)
    loss2.backward()
    adam.step()

with torch.no_grad():
    acc = (model(X).argmax(1) == y).float().mean().item()
    acc2 = (mlp(X).argmax(1) == y).float().mean().item()
print(f"LBFGS accuracy {acc:.3f}, loss {closure():.4f}; Adam MLP accuracy {acc2:.3f}")
assert acc > 0.95 and acc2 > 0.95, (acc, acc2)

# A PyTorch tutorial-style script: an MLP on sklearn's digits, weights updated by hand.
import torch
from sklearn.datasets import load_digits

torch.manual_seed(0)
X, y = load_digits(return_X_y=True)
X = torch.tensor(X / 16.0, dtype=torch.float32)
y = torch.tensor(y, dtype=torch.long)
perm = torch.randperm(len(X))
X, y = X[perm], y[perm]
Xtr, ytr, Xte, yte = X[:1400], y[:1400], X[1400:], y[1400:]

w1 = (torch.randn(64, 64) * 0.1).requires_grad_()
b1 = torch.zeros(64, requires_grad=True)
w2 = (torch.randn(64, 10) * 0.1).requires_grad_()
b2 = torch.zeros(10, requires_grad=True)
params = [w1, b1, w2, b2]

lr = 0.5
for epoch in range(30):
    for i in range(0, len(Xtr), 100):
        xb, yb = Xtr[i:i + 100], ytr[i:i + 100]
        h = torch.tanh(xb.mm(w1) + b1)
        loss = torch.nn.functional.cross_entropy(h @ w2 + b2, yb)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad.zero_()
    with torch.no_grad():
        w2.data.mul_(1.0)  # .data shares storage

with torch.no_grad():
    pred = (torch.tanh(Xte @ w1 + b1) @ w2 + b2).argmax(dim=1)
    acc = (pred == yte).float().mean()
print("test accuracy: {:.3f}, last loss {:.4f}".format(acc, loss))
assert acc.item() > 0.9, acc

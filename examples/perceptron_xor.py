"""Seed Q3-Q4: the perceptron learning rule separates a linearly separable real task (iris setosa
vs the rest) but never converges on XOR, which a two-layer MLP trained by backprop solves.

    python examples/perceptron_xor.py
"""

import warnings

import numpy as np
from sklearn.datasets import load_iris

import lamina
import lamina.nn.functional as F
from lamina import optim
from lamina.models import MLP, Perceptron


def main():
    iris = load_iris()
    x, y = iris.data, (iris.target == 0).astype(int)
    p = Perceptron(n_features=4).fit(x, y)
    print(f"iris setosa-vs-rest: accuracy {p.score(x, y):.3f}, converged={p.converged_} "
          f"after {p.n_epochs_} epochs")

    xor_x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    xor_y = np.array([0, 1, 1, 0])
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        p = Perceptron(n_features=2, max_epochs=50).fit(xor_x, xor_y)
    print(f"XOR perceptron: accuracy {p.score(xor_x, xor_y):.2f}, converged={p.converged_}"
          + (f" ({w[0].message})" if w else ""))

    lamina.manual_seed(0)
    mlp = MLP(2, (8,), 1, activation="tanh")
    opt = optim.Adam(mlp.parameters(), lr=0.05)
    xt, yt = lamina.tensor(xor_x.astype(np.float32)), lamina.tensor(xor_y[:, None] * 1.0)
    for _ in range(500):
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(mlp(xt), yt)
        loss.backward()
        opt.step()
    pred = (mlp(xt).numpy()[:, 0] > 0).astype(int)
    print(f"XOR 2-layer MLP: accuracy {(pred == xor_y).mean():.2f} (loss {loss.item():.4f})")


if __name__ == "__main__":
    main()

"""Issue-3/4 workloads: per-op overhead and a 784-256-256-10 MLP training step.

1. A 10-op elementwise chain on a (1,)-tensor, forward + backward: lamina (eager and
   ``lamina.compile``) vs the raw NumPy calls of the same math (targets: eager within 2x,
   compiled within 1.5x).
2. MLP 784-256-256-10, batch 128, SGD with momentum, float32, one training step: lamina vs a
   hand-written NumPy step vs PyTorch CPU vs scikit-learn's MLPClassifier.partial_fit
   (target: lamina <= 1.15x the NumPy step and no slower than PyTorch).
"""

from __future__ import annotations

import numpy as np

import lamina
import lamina.functional as F
from lamina import nn, optim

from .common import alternate, blas_info, table, torch_or_none


def _chain(x):
    """The 10-op chain, forward and backward, on a lamina or a PyTorch tensor (same methods)."""
    y = _chain_forward(x)
    x.grad = None
    y.backward()


def _chain_forward(x):
    y = x * 1.5
    y = y + 0.1
    y = y.exp()
    y = y * x
    y = y - 0.2
    y = y.tanh()
    y = y * y
    y = y + x
    y = y.sigmoid()
    return y.sum()


def overhead():
    x = lamina.tensor([0.5], requires_grad=True)

    def lam():
        _chain(x)

    a = np.array([0.5], dtype=np.float32)

    def ref():  # the same math by hand: 10 forward ufuncs + their backward
        y1 = a * 1.5
        y2 = y1 + 0.1
        y3 = np.exp(y2)
        y4 = y3 * a
        y5 = y4 - 0.2
        y6 = np.tanh(y5)
        y7 = y6 * y6
        y8 = y7 + a
        y9 = 1.0 / (1.0 + np.exp(-y8))
        g = np.ones_like(y9)
        g8 = g * y9 * (1 - y9)
        ga = g8.copy()
        g7 = g8
        g6 = 2 * g7 * y6
        g5 = g6 * (1 - y6 * y6)
        g4 = g5
        g3 = g4 * a
        ga = ga + g4 * y3
        g2 = g3 * y3
        ga = ga + g2 * 1.5
        return ga

    chain_c = lamina.compile(_chain_forward)

    def lam_c():
        x.grad = None
        chain_c(x).backward()

    fns = {"numpy (raw calls)": ref, "lamina": lam, "lamina.compile": lam_c}
    torch = torch_or_none()
    if torch is not None:
        tx = torch.tensor([0.5], requires_grad=True)

        def tch():
            _chain(tx)
        fns["pytorch cpu (context)"] = tch
    t = alternate(fns, rounds=7, repeat=2000)
    table("10-op elementwise chain on a (1,) tensor, forward + backward", t,
          base="numpy (raw calls)")
    print(f"  -> lamina / numpy = {t['lamina'] / t['numpy (raw calls)']:.2f}x (target <= 2x); "
          f"compiled {t['lamina.compile'] / t['numpy (raw calls)']:.2f}x (target <= 1.5x)")
    if "pytorch cpu (context)" in t:
        print(f"  -> pytorch / numpy = {t['pytorch cpu (context)'] / t['numpy (raw calls)']:.2f}x"
              " (the same chain in PyTorch eager, for context)")


def mlp():
    B, D, H, C = 128, 784, 256, 10
    rs = np.random.default_rng(0)
    X = rs.standard_normal((B, D)).astype(np.float32)
    y = rs.integers(0, C, B)
    lamina.manual_seed(0)
    model = nn.Sequential(nn.Linear(D, H), nn.ReLU(), nn.Linear(H, H), nn.ReLU(),
                          nn.Linear(H, C))
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    xt, yt = lamina.tensor(X), lamina.tensor(y)

    def lam():
        opt.zero_grad()
        loss = F.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()

    loss_c = lamina.compile(lambda a, b: F.cross_entropy(model(a), b), modules=[model])

    def lam_c():
        opt.zero_grad()
        loss_c(xt, yt).backward()
        opt.step()

    Ws = [p.array.copy() for p in model.parameters()]
    vel = [np.zeros_like(w) for w in Ws]

    def ref():  # hand-written NumPy step of the same math
        W1, b1, W2, b2, W3, b3 = Ws
        h1 = X @ W1.T + b1
        a1 = np.maximum(h1, 0)
        h2 = a1 @ W2.T + b2
        a2 = np.maximum(h2, 0)
        z = a2 @ W3.T + b3
        z = z - z.max(1, keepdims=True)
        e = np.exp(z)
        s = e.sum(1, keepdims=True)
        p = e / s
        loss = (np.log(s[:, 0]) - z[np.arange(B), y]).mean()  # the value a step reports
        p[np.arange(B), y] -= 1
        g = p / B
        gW3 = g.T @ a2
        gb3 = g.sum(0)
        g = g @ W3
        g *= h2 > 0
        gW2 = g.T @ a1
        gb2 = g.sum(0)
        g = g @ W2
        g *= h1 > 0
        gW1 = g.T @ X
        gb1 = g.sum(0)
        for w, v, gw in zip(Ws, vel, (gW1, gb1, gW2, gb2, gW3, gb3)):
            v *= 0.9
            v += gw
            w -= 0.01 * v
        return loss

    fns = {"numpy (hand-written)": ref, "lamina": lam, "lamina.compile": lam_c}
    torch = torch_or_none()
    if torch is not None:
        tm = torch.nn.Sequential(torch.nn.Linear(D, H), torch.nn.ReLU(), torch.nn.Linear(H, H),
                                 torch.nn.ReLU(), torch.nn.Linear(H, C))
        topt = torch.optim.SGD(tm.parameters(), lr=0.01, momentum=0.9)
        tx, ty = torch.from_numpy(X), torch.from_numpy(y)

        def tstep():
            topt.zero_grad()
            torch.nn.functional.cross_entropy(tm(tx), ty).backward()
            topt.step()
        fns["pytorch cpu"] = tstep
    try:
        import warnings

        from sklearn.neural_network import MLPClassifier
        sk = MLPClassifier(hidden_layer_sizes=(H, H), solver="sgd", momentum=0.9,
                           learning_rate_init=0.01, batch_size=B, nesterovs_momentum=False)
        classes = np.arange(C)
        sk.partial_fit(X, y, classes=classes)

        def skstep():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sk.partial_fit(X, y)
        fns["sklearn MLPClassifier"] = skstep
    except ImportError:  # pragma: no cover
        pass
    t = alternate(fns, rounds=15, repeat=20)
    table("MLP 784-256-256-10 training step, batch 128, SGD momentum, float32", t,
          base="numpy (hand-written)", per=B)
    print(f"  -> lamina / numpy = {t['lamina'] / t['numpy (hand-written)']:.3f}x (target <= 1.15x)")
    if "pytorch cpu" in t:
        for k in ("lamina", "lamina.compile"):
            print(f"  -> {k}: {t['pytorch cpu'] / t[k]:.2f}x PyTorch's throughput "
                  "(target >= 1.5x)")


def main():
    print("BLAS:", blas_info())
    overhead()
    mlp()


if __name__ == "__main__":
    main()

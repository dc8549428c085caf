"""LSTM training step: T=50, input 32, hidden 128, batch 64, last state -> linear 10, Adam,
cross-entropy, float32.

Peers: lamina (nn.LSTM + nn.Linear + optim.Adam), PyTorch CPU eager (2 threads) and a
hand-written NumPy fused-gate LSTM of the same math (one input GEMM, one gate GEMM per step,
backward-through-time, weight gradients as one GEMM over all steps, Adam by hand).
Target: lamina >= 0.6x PyTorch.
"""

from __future__ import annotations

import time

import numpy as np

import lamina
import lamina.functional as F
from lamina import nn, optim

from .common import alternate, blas_info, table, torch_or_none

T, B, I, H, C = 50, 64, 32, 128, 10


def _data():
    rs = np.random.default_rng(0)
    return (rs.standard_normal((T, B, I)).astype(np.float32), rs.integers(0, C, B))


def lamina_step():
    X, y = _data()
    lamina.manual_seed(0)
    lstm, head = nn.LSTM(I, H), nn.Linear(H, C)
    opt = optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=1e-3)
    xt, yt = lamina.tensor(X), lamina.tensor(y)

    def step():
        opt.zero_grad()
        _, (h_n, _) = lstm(xt)
        loss = F.cross_entropy(head(h_n[0]), yt)
        loss.backward()
        opt.step()
    return step


def torch_step(torch):
    X, y = _data()
    torch.manual_seed(0)
    lstm, head = torch.nn.LSTM(I, H), torch.nn.Linear(H, C)
    opt = torch.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=1e-3)
    xt, yt = torch.tensor(X), torch.tensor(y)

    def step():
        opt.zero_grad()
        _, (h_n, _) = lstm(xt)
        loss = torch.nn.functional.cross_entropy(head(h_n[0]), yt)
        loss.backward()
        opt.step()
    return step


def _sigmoid(a):
    return 0.5 * np.tanh(0.5 * a) + 0.5


def numpy_step():
    """The same training step written by hand in NumPy (fused gates i, f, g, o)."""
    X, y = _data()
    rs = np.random.default_rng(0)
    k = 1 / np.sqrt(H)
    f32 = np.float32
    P = {"w_ih": rs.uniform(-k, k, (4 * H, I)).astype(f32),
         "w_hh": rs.uniform(-k, k, (4 * H, H)).astype(f32),
         "b": rs.uniform(-k, k, 4 * H).astype(f32),
         "w_o": rs.uniform(-k, k, (C, H)).astype(f32), "b_o": np.zeros(C, f32)}
    M = {n: np.zeros_like(p) for n, p in P.items()}
    V = {n: np.zeros_like(p) for n, p in P.items()}
    state = {"t": 0}
    onehot = np.eye(C, dtype=f32)[y]

    def step():
        w_ih, w_hh = P["w_ih"], P["w_hh"]
        gates = (X.reshape(T * B, I) @ w_ih.T + P["b"]).reshape(T, B, 4 * H)
        hs = np.zeros((T + 1, B, H), f32)
        cs = np.zeros((T + 1, B, H), f32)
        tcs = np.empty((T, B, H), f32)
        w_hhT = np.ascontiguousarray(w_hh.T)
        for t in range(T):
            g = gates[t]
            g += hs[t] @ w_hhT
            g[:, :2 * H] = _sigmoid(g[:, :2 * H])
            g[:, 2 * H:3 * H] = np.tanh(g[:, 2 * H:3 * H])
            g[:, 3 * H:] = _sigmoid(g[:, 3 * H:])
            cs[t + 1] = g[:, H:2 * H] * cs[t] + g[:, :H] * g[:, 2 * H:3 * H]
            tcs[t] = np.tanh(cs[t + 1])
            hs[t + 1] = g[:, 3 * H:] * tcs[t]
        logits = hs[T] @ P["w_o"].T + P["b_o"]
        e = np.exp(logits - logits.max(1, keepdims=True))
        p = e / e.sum(1, keepdims=True)
        dlog = (p - onehot) / B
        grads = {"w_o": dlog.T @ hs[T], "b_o": dlog.sum(0)}
        dh = dlog @ P["w_o"]
        dc = np.zeros((B, H), f32)
        dG = np.empty_like(gates)
        for t in range(T - 1, -1, -1):
            i, f, g, o = (gates[t][:, j * H:(j + 1) * H] for j in range(4))
            tc = tcs[t]
            dc += dh * o * (1 - tc * tc)
            d = dG[t]
            d[:, :H] = dc * g * i * (1 - i)
            d[:, H:2 * H] = dc * cs[t] * f * (1 - f)
            d[:, 2 * H:3 * H] = dc * i * (1 - g * g)
            d[:, 3 * H:] = dh * tc * o * (1 - o)
            dc *= f
            dh = d @ w_hh
        dG2 = dG.reshape(T * B, 4 * H)
        grads["w_ih"] = dG2.T @ X.reshape(T * B, I)
        grads["w_hh"] = dG2.T @ hs[:T].reshape(T * B, H)
        grads["b"] = dG2.sum(0)
        state["t"] += 1
        t = state["t"]
        b1, b2, lr, eps = 0.9, 0.999, 1e-3, 1e-8
        for n, p_ in P.items():
            gr = grads[n]
            M[n] *= b1
            M[n] += (1 - b1) * gr
            V[n] *= b2
            V[n] += (1 - b2) * gr * gr
            p_ -= (lr / (1 - b1 ** t)) * M[n] / (np.sqrt(V[n] / (1 - b2 ** t)) + eps)
    return step


def main():
    torch = torch_or_none()
    print(f"BLAS: {blas_info()}")
    fns = {"lamina": lamina_step(), "numpy (hand-written)": numpy_step()}
    if torch is not None:
        fns["pytorch (2 threads)"] = torch_step(torch)
    times = alternate(fns, rounds=7, repeat=5, warmup=2)
    base = "pytorch (2 threads)" if torch is not None else "numpy (hand-written)"
    title = f"LSTM training step (T={T}, N={B}, I={I}, H={H}, linear {C}, Adam, float32)"
    table(title + ", wall time", times, base=base, per=B)
    if torch is not None:
        r = times[base] / times["lamina"]
        print(f"  -> lamina / pytorch throughput = {r:.2f}x (target >= 0.6x)")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return
    if torch is not None:
        torch.set_num_threads(1)
        fns["pytorch (1 thread)"] = fns.pop("pytorch (2 threads)")
    with threadpool_limits(1, user_api="blas"):
        cpu = alternate(fns, rounds=9, repeat=3, warmup=1, clock=time.process_time)
    base = "pytorch (1 thread)" if torch is not None else "numpy (hand-written)"
    table(title + ", 1 thread each, process CPU time", cpu, base=base, per=B)
    if torch is not None:
        torch.set_num_threads(2)


if __name__ == "__main__":
    main()

"""Sequence models of the zoo, one training step each (Adam, float32), lamina vs PyTorch CPU.

1. ``GRUClassifier`` at the ``mnist1d_gru`` config's size: T=40 steps of 1 feature, hidden 64,
   10 classes, batch 64.
2. ``TinyTransformerLM`` at its default size: vocabulary 96, d_model 64, 4 heads, 2 pre-norm
   GELU blocks, feed-forward 256, context 128, batch 16, causal, dropout 0.1.

PyTorch runs the same architectures (``torch.nn.GRU`` + ``Linear``; ``TransformerEncoder`` with
``norm_first=True``, GELU, a causal mask, learned positions, a final LayerNorm and a linear
head), 2 threads each, in alternating rounds. Target: lamina >= 1.0x PyTorch (issue 13).

Run: ``python -m benchmarks seq``.
"""

from __future__ import annotations

import numpy as np

import lamina
import lamina.functional as F
from lamina import optim
from lamina.models import GRUClassifier, TinyTransformerLM

from .common import alternate, blas_info, table, torch_or_none

N_GRU, T_GRU, H_GRU = 64, 40, 64
V, N_LM, T_LM = 96, 16, 128


def _gru_data():
    rs = np.random.default_rng(0)
    return rs.standard_normal((N_GRU, T_GRU)).astype(np.float32), rs.integers(0, 10, N_GRU)


def _lm_data():
    rs = np.random.default_rng(1)
    return rs.integers(0, V, (N_LM, T_LM + 1))


def lamina_gru():
    x, y = _gru_data()
    lamina.manual_seed(0)
    m = GRUClassifier(hidden_size=H_GRU, num_classes=10)
    opt = optim.Adam(m.parameters(), lr=1e-3)
    xt, yt = lamina.tensor(x), lamina.tensor(y)

    def step():
        opt.zero_grad()
        F.cross_entropy(m(xt), yt).backward()
        opt.step()
    return step


def torch_gru(torch):
    x, y = _gru_data()
    torch.manual_seed(0)
    gru, head = torch.nn.GRU(1, H_GRU, batch_first=True), torch.nn.Linear(H_GRU, 10)
    opt = torch.optim.Adam(list(gru.parameters()) + list(head.parameters()), lr=1e-3)
    xt, yt = torch.from_numpy(x)[..., None], torch.from_numpy(y)

    def step():
        opt.zero_grad()
        _, h = gru(xt)
        torch.nn.functional.cross_entropy(head(h[-1]), yt).backward()
        opt.step()
    return step


def lamina_lm():
    ids = _lm_data()
    lamina.manual_seed(0)
    m = TinyTransformerLM(V)
    opt = optim.Adam(m.parameters(), lr=1e-3)
    xt, yt = lamina.tensor(ids[:, :-1]), lamina.tensor(ids[:, 1:].reshape(-1))

    def step():
        opt.zero_grad()
        logits, _ = m(xt)
        F.cross_entropy(logits.reshape(-1, V), yt).backward()
        opt.step()
    return step


def torch_lm(torch):
    ids = _lm_data()
    torch.manual_seed(0)
    tnn = torch.nn

    class LM(tnn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.pos = tnn.Embedding(V, 64), tnn.Embedding(T_LM, 64)
            self.drop = tnn.Dropout(0.1)
            layer = tnn.TransformerEncoderLayer(64, 4, 256, 0.1, activation="gelu",
                                                batch_first=True, norm_first=True)
            self.enc = tnn.TransformerEncoder(layer, 2, norm=tnn.LayerNorm(64),
                                              enable_nested_tensor=False)
            self.head = tnn.Linear(64, V)
            self.register_buffer("mask", tnn.Transformer.generate_square_subsequent_mask(T_LM))

        def forward(self, x):
            h = self.drop(self.emb(x) + self.pos.weight[: x.shape[1]])
            return self.head(self.enc(h, mask=self.mask, is_causal=True))
    m = LM()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(ids[:, :-1]), torch.from_numpy(ids[:, 1:].reshape(-1))

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(m(xt).reshape(-1, V), yt).backward()
        opt.step()
    return step


def main():
    from threadpoolctl import threadpool_limits
    from lamina.backend import kernels as K
    print(f"BLAS: {blas_info()}")
    torch = torch_or_none()
    with threadpool_limits(2):
        K.set_num_threads(2)
        for title, lam, tch, per in (
                (f"GRUClassifier step (T={T_GRU}, N={N_GRU}, H={H_GRU}), Adam", lamina_gru,
                 torch_gru, N_GRU),
                (f"TinyTransformerLM step (T={T_LM}, N={N_LM}, d=64, 2 blocks), Adam",
                 lamina_lm, torch_lm, N_LM)):
            fns = {"lamina": lam()}
            if torch is not None:
                fns["pytorch (2 threads)"] = tch(torch)
            t = alternate(fns, rounds=5, repeat=5)
            base = "pytorch (2 threads)" if torch is not None else "lamina"
            table(title, t, base=base, per=per)
            if torch is not None:
                print(f"  -> lamina / pytorch throughput = {t[base] / t['lamina']:.2f}x "
                      "(target >= 1.0x)")


if __name__ == "__main__":
    main()

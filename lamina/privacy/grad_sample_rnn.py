"""Per-example gradients of RNN, GRU and LSTM layers.

lamina's recurrent layers are fused Functions (one node per layer and direction), so the
backward signal of each step's gates is not visible from outside. While a
:class:`~lamina.privacy.GradSampleModule` is attached, a forward hook replaces a recurrent
layer's output by the same recurrence written with step-wise ops (same gate layouts and GRU
variant as :mod:`lamina.functional.recurrent`): the input projection of all steps is one GEMM
``u = x W_ih^T + b_ih`` and each step's hidden projection ``v_t = h_{t-1} W_hh^T + b_hh``.
Hooks on ``u`` and ``v_t`` receive ``dL/du`` and ``dL/dv_t``, so

``grad W_ih[n] = sum_t du[t, n]^T x[t, n]``, ``grad W_hh[n] = sum_t dv_t[n]^T h_{t-1}[n]``,

one batched matmul per step (a loop over time, never over examples). Outputs equal the fused
layer's to rounding; the fused forward still runs once (the hook sees its output first).
"""

from __future__ import annotations

from .. import backend as B
from .. import functional as F
from .. import nn
from ..autograd.tensor import Tensor
from ..errors import check

__all__ = ["RECURRENT", "recurrent_hook"]

np = B.np
RECURRENT = (nn.RNN, nn.GRU, nn.LSTM)


def _watch(gsm, module, names, x_arr, which):
    """Hook for a projection's output: per-example grads of (weight, bias) names."""
    def on_grad(g):
        d = g.array  # (T, N, G) or (N, G)
        if d.ndim == 3:
            gw = np.einsum("tng,tni->ngi", d, x_arr, optimize=True)
            gb = d.sum(0)
        else:
            gw = np.matmul(d[:, :, None], x_arr[:, None, :])
            gb = d
        grads = {names[which]: gw}
        if len(names) > 2:
            grads[names[which + 2]] = gb
        gsm.accumulate(module, grads, d.shape[-2])
    return on_grad


def _direction(gsm, m, x, names, h0, c0, reverse):
    """One layer and direction over ``x`` ``(T, N, I)``: returns (outputs (T, N, H), h, c)."""
    ps = [getattr(m, n) for n in names]
    w_ih, w_hh = ps[0], ps[1]
    b_ih, b_hh = (ps[2], ps[3]) if len(ps) > 2 else (None, None)
    T, N = x.shape[0], x.shape[1]
    H = m.hidden_size
    u = F.linear(x, w_ih, b_ih)
    if u.requires_grad and w_ih.requires_grad:
        u.register_hook(_watch(gsm, m, names, B.to_host(x.array), 0))
    h = h0 if h0 is not None else Tensor(np.zeros((N, H), x.dtype))
    c = c0 if c0 is not None else Tensor(np.zeros((N, H), x.dtype))
    outs = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        v = F.linear(h, w_hh, b_hh)
        if v.requires_grad and w_hh.requires_grad:
            v.register_hook(_watch(gsm, m, names, B.to_host(h.array), 1))
        a = u[t]
        if m.mode == "lstm":
            s = a + v
            i, f = F.sigmoid(s[:, :H]), F.sigmoid(s[:, H:2 * H])
            g, o = F.tanh(s[:, 2 * H:3 * H]), F.sigmoid(s[:, 3 * H:])
            c = f * c + i * g
            h = o * F.tanh(c)
        elif m.mode == "gru":
            r = F.sigmoid(a[:, :H] + v[:, :H])
            z = F.sigmoid(a[:, H:2 * H] + v[:, H:2 * H])
            n = F.tanh(a[:, 2 * H:] + r * v[:, 2 * H:])
            h = (1 - z) * n + z * h
        else:
            h = F.relu(a + v) if m.mode == "rnn_relu" else F.tanh(a + v)
        outs[t] = h
    return F.stack(outs, 0), h, c


def recurrent_hook(gsm):
    """A forward hook for RNN/GRU/LSTM modules that re-runs them with observable gates."""
    def hook(module, inputs, output):
        if not output[0].requires_grad:  # eval under no_grad: nothing to observe
            return None
        x = inputs[0]
        name = type(module).__name__
        check(x.ndim == 3, f"per-example gradients of {name}", "a batched 3-D input",
              f"shape {tuple(x.shape)}")
        check(len(inputs) <= 2, f"per-example gradients of {name}", "(input[, hx]) without "
              "lengths or mask", f"{len(inputs)} positional inputs")
        lstm = module.mode == "lstm"
        hx = inputs[1] if len(inputs) > 1 else None
        h0, c0 = (hx if lstm else (hx, None)) if hx is not None else (None, None)
        D = 2 if module.bidirectional else 1
        h0s = [None] * (module.num_layers * D) if h0 is None else F.unbind(h0, 0)
        c0s = [None] * (module.num_layers * D) if c0 is None else F.unbind(c0, 0)
        seq = F.swapaxes(x, 0, 1) if module.batch_first else x
        h_n, c_n = [], []
        for layer in range(module.num_layers):
            ys = []
            for d in range(D):
                idx = layer * D + d
                y, h, c = _direction(gsm, module, seq, module._names[idx], h0s[idx], c0s[idx],
                                     d == 1)
                ys.append(y)
                h_n.append(h)
                c_n.append(c)
            seq = ys[0] if D == 1 else F.cat(ys, dim=-1)
            if module.dropout > 0 and module.training and layer < module.num_layers - 1:
                seq = F.dropout(seq, module.dropout, training=True)
        out = F.swapaxes(seq, 0, 1) if module.batch_first else seq
        hn = F.stack(h_n, 0)
        return (out, (hn, F.stack(c_n, 0))) if lstm else (out, hn)
    return hook

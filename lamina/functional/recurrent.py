"""Recurrent layers as fused Functions: one Function per layer and direction, whole sequence.

The input projection of every time step is one GEMM (``x`` as ``(T*N, I) @ W_ih.T``); each step
then costs one gate GEMM (``h @ W_hh.T``) and a few in-place array ops; backward-through-time is
a hand-written loop in the same Function, and ``dW_ih``, ``dW_hh``, ``dx`` are one GEMM each over
all steps at the end. The autograd graph holds one node per layer-direction, not one per step.

Gate layouts are PyTorch's (rows of ``W_ih``/``W_hh``):

* LSTM ``(i, f, g, o)``: ``c' = f*c + i*g``, ``h' = o*tanh(c')``.
* GRU ``(r, z, n)``, PyTorch's variant (reset applied *after* the hidden matmul):
  ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z)*n + z*h``.
* RNN: ``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`` (or relu).

Gate rows are pre-scaled once per forward (by -1 for sigmoid gates, -2 for the LSTM's tanh gate,
exact in binary floating point), so one ``1 / (1 + exp(.))`` pass evaluates every gate of a step:
``sigmoid(a)`` directly and ``tanh(a) = 2 sigmoid(2a) - 1``; ``exp`` overflowing to ``inf`` gives
the exact limit 0.

Variable-length batches use a ``(T, N)`` mask: a masked step keeps the previous state (no update,
no gradient into its gates), its output is zero, the final state is the state at each
sequence's last valid step and the reverse direction starts there, exactly like PyTorch's packed
sequences.
"""

from __future__ import annotations

import contextlib

from .. import backend as B
from ..autograd.function import Function
from ..backend import fast
from ..backend.blas import small_gemms
from ..errors import check
from ._util import unwrap

__all__ = ["rnn_layer", "lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell",
           "lengths_to_mask"]

_GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}


def _time_views(a, reverse):
    """States ``a`` (T+1, N, H) stored in processing order -> (previous, new) in time order."""
    if reverse:
        return a[-2::-1], a[:0:-1]
    return a[:-1], a[1:]


def _step_threads(xp, work: int):
    """The time loop's BLAS threads (:func:`lamina.backend.blas.small_gemms`; NumPy only)."""
    return small_gemms(work) if xp is B.np else contextlib.nullcontext()


def _quiet(xp):
    """exp overflowing to inf is expected in the gate math: silence NumPy's warning."""
    return B.np.errstate(over="ignore") if xp is B.np else contextlib.nullcontext()


def _sigmoid_of_negated(a, xp):
    """In place: ``a <- 1 / (1 + exp(a))``, i.e. sigmoid of ``-a`` (exp may overflow to inf)."""
    xp.exp(a, out=a)
    a += 1
    xp.reciprocal(a, out=a)


def _seq_forward(xp, mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, mask, reverse):
    """Run one layer-direction over ``x`` (T, N, I). Returns (y, h_n, c_n, cache)."""
    T, N, _ = x.shape
    H = w_hh.shape[1]
    G = w_ih.shape[0]
    dt = xp.result_type(x.dtype, w_ih.dtype)
    lstm, gru = mode == "lstm", mode == "gru"
    scale = None
    fused = lstm and mask is None and xp is B.np and fast.enabled()
    if fused:  # numba path: one tanh pass, sigmoid(a) = (1 + tanh(a/2)) / 2
        scale = xp.full(G, 0.5, dt)
        scale[2 * H:3 * H] = 1
    elif lstm or gru:  # sigmoid(a) = 1 / (1 + exp(-a)), tanh(a) = 2 sigmoid(2a) - 1
        scale = xp.ones(G, dt)
        scale[:2 * H] = -1
        if lstm:
            scale[2 * H:3 * H] = -2
            scale[3 * H:] = -1
    w_x = w_ih if scale is None else w_ih * scale[:, None]
    w_hT = xp.ascontiguousarray((w_hh if scale is None else w_hh * scale[:, None]).T)
    x2 = x.reshape(T * N, -1)
    xw = (x2 @ w_x.T).reshape(T, N, G)
    b_hn = None
    if b_ih is not None:
        if gru:
            bias = b_ih.copy()
            bias[:2 * H] += b_hh[:2 * H]
            b_hn = b_hh[2 * H:]
        else:
            bias = b_ih + b_hh
        xw += bias if scale is None else bias * scale
    hs = xp.empty((T + 1, N, H), dt)
    hs[0] = 0 if h0 is None else h0
    keep = None if mask is None else ~mask[:, :, None]   # True where the state is carried over
    order = range(T - 1, -1, -1) if reverse else range(T)
    cache = {"x2": x2, "hs": hs, "xw": xw, "shape": x.shape}
    with _step_threads(xp, N * H * G):   # small per-step GEMMs: one BLAS thread
        cs = None
        if lstm:
            cs = xp.empty((T + 1, N, H), dt)
            cs[0] = 0 if c0 is None else c0
            tcs = xp.empty((T, N, H), dt)
            tmp, tmp_h = xp.empty((N, G), dt), xp.empty((N, H), dt)
            for k, t in enumerate(order):
                g = xw[t]
                xp.matmul(hs[k], w_hT, out=tmp)
                if fused:   # NumPy's SIMD tanh passes around one numba pass
                    g += tmp
                    xp.tanh(g, out=g)
                    fast.lstm_gates(g, cs[k], cs[k + 1])
                    xp.tanh(cs[k + 1], out=tcs[t])
                    xp.multiply(g[:, 3 * H:], tcs[t], out=hs[k + 1])
                    continue
                g += tmp
                _sigmoid_of_negated(g, xp)
                gg = g[:, 2 * H:3 * H]
                gg *= 2
                gg -= 1
                c = cs[k + 1]
                xp.multiply(g[:, H:2 * H], cs[k], out=c)
                xp.multiply(g[:, :H], g[:, 2 * H:3 * H], out=tmp_h)
                c += tmp_h
                xp.tanh(c, out=tcs[t])
                xp.multiply(g[:, 3 * H:], tcs[t], out=hs[k + 1])
                if keep is not None:
                    xp.copyto(hs[k + 1], hs[k], where=keep[t])
                    xp.copyto(c, cs[k], where=keep[t])
            cache.update(cs=cs, tcs=tcs)
        elif gru:
            hns = xp.empty((T, N, H), dt)
            hg = xp.empty((N, G), dt)
            for k, t in enumerate(order):
                a, h = xw[t], hs[k]
                xp.matmul(h, w_hT, out=hg)
                rz = a[:, :2 * H]
                rz += hg[:, :2 * H]
                _sigmoid_of_negated(rz, xp)
                hn = hns[t]
                if b_hn is None:
                    hn[...] = hg[:, 2 * H:]
                else:
                    xp.add(hg[:, 2 * H:], b_hn, out=hn)
                n = a[:, 2 * H:]
                n += a[:, :H] * hn
                xp.tanh(n, out=n)
                hnew = hs[k + 1]
                xp.subtract(h, n, out=hnew)
                hnew *= a[:, H:2 * H]
                hnew += n
                if keep is not None:
                    xp.copyto(hnew, h, where=keep[t])
            cache["hns"] = hns
        else:
            tmp = xp.empty((N, H), dt)
            relu = mode == "rnn_relu"
            for k, t in enumerate(order):
                g = xw[t]
                xp.matmul(hs[k], w_hT, out=tmp)
                g += tmp
                if relu:
                    xp.maximum(g, 0, out=hs[k + 1])
                else:
                    xp.tanh(g, out=hs[k + 1])
                if keep is not None:
                    xp.copyto(hs[k + 1], hs[k], where=keep[t])
    y = _time_views(hs, reverse)[1]
    if mask is not None:
        y = y * mask[:, :, None]
    return y, hs[T], (cs[T] if lstm else None), cache


def _seq_backward(xp, mode, cache, w_ih, w_hh, dy, dh_n, dc_n, mask, reverse, need):
    """Backward through time. ``need`` = needs_input_grad of (x, h0, c0, w_ih, w_hh, b_ih,
    b_hh). Returns the seven gradients (None where not needed)."""
    T, N, I = cache["shape"]
    xw, hs = cache["xw"], cache["hs"]
    H = w_hh.shape[1]
    dt = xw.dtype
    h_prev, h_out = _time_views(hs, reverse)
    mf = None if mask is None else mask[:, :, None].astype(dt)
    if dy is not None and mf is not None:
        dy = dy * mf
    dh = xp.zeros((N, H), dt) if dh_n is None else dh_n.astype(dt, copy=True)
    order = range(T) if reverse else range(T - 1, -1, -1)
    tmp_h = xp.empty((N, H), dt)
    with _step_threads(xp, N * H * w_hh.shape[0]):
        if mode == "lstm":
            c_prev = _time_views(cache["cs"], reverse)[0]
            tcs = cache["tcs"]
            dG = xp.empty_like(xw)
            dc = xp.zeros((N, H), dt) if dc_n is None else dc_n.astype(dt, copy=True)
            fused = mf is None and xp is B.np and fast.enabled()
            for t in order:  # per step, so every operand stays in cache
                if fused:
                    fast.lstm_bwd_step(xw[t], tcs[t], c_prev[t], dh, dc,
                                       None if dy is None else dy[t], dG[t])
                    xp.matmul(dG[t], w_hh, out=dh)
                    continue
                if dy is not None:
                    dh += dy[t]
                if mf is not None:
                    skip_h, skip_c = dh * (1 - mf[t]), dc * (1 - mf[t])
                    dh *= mf[t]
                    dc *= mf[t]
                a, d, tc = xw[t], dG[t], tcs[t]
                i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
                di, df, dg, do = d[:, :H], d[:, H:2 * H], d[:, 2 * H:3 * H], d[:, 3 * H:]
                xp.multiply(tc, tc, out=tmp_h)        # dc += dh * o * (1 - tanh(c)^2)
                xp.subtract(1, tmp_h, out=tmp_h)
                tmp_h *= o
                tmp_h *= dh
                dc += tmp_h
                xp.subtract(1, a, out=d)              # sigmoid' = s (1 - s), all gates at once
                d *= a
                xp.multiply(g, g, out=dg)             # g gate: i * (1 - g^2)
                xp.subtract(1, dg, out=dg)
                dg *= i
                di *= g
                df *= c_prev[t]
                do *= tc
                do *= dh
                di *= dc
                df *= dc
                dg *= dc
                dc *= f
                xp.matmul(d, w_hh, out=dh)
                if mf is not None:
                    dh += skip_h
                    dc += skip_c
            dGx = dGh = dG
            dc0 = dc
        elif mode == "gru":
            r, z, n = (xw[..., j * H:(j + 1) * H] for j in range(3))
            hn = cache["hns"]
            q_n = (1 - z) * (1 - n * n)
            q_z = (h_prev - n) * z * (1 - z)
            q_r = hn * r * (1 - r)
            dGh = xp.empty((T, N, 3 * H), dt)
            dn = xp.empty((T, N, H), dt)
            fused = mf is None and xp is B.np and fast.enabled()
            for t in order:
                if fused:   # one numba pass, then the hidden GEMM
                    fast.gru_bwd_step(dh, None if dy is None else dy[t], q_n[t], q_r[t], q_z[t],
                                      r[t], z[t], dn[t], dGh[t])
                    xp.matmul(dGh[t], w_hh, out=tmp_h)
                    dh += tmp_h
                    continue
                if dy is not None:
                    dh += dy[t]
                if mf is not None:
                    skip_h = dh * (1 - mf[t])
                    dh *= mf[t]
                d = dGh[t]
                xp.multiply(dh, q_n[t], out=dn[t])
                xp.multiply(dn[t], q_r[t], out=d[:, :H])
                xp.multiply(dh, q_z[t], out=d[:, H:2 * H])
                xp.multiply(dn[t], r[t], out=d[:, 2 * H:])
                dh *= z[t]
                xp.matmul(d, w_hh, out=tmp_h)
                dh += tmp_h
                if mf is not None:
                    dh += skip_h
            dGx = xp.concatenate([dGh[..., :2 * H], dn], axis=-1)
            dc0 = None
        else:
            dG = (h_out > 0).astype(dt) if mode == "rnn_relu" else 1 - h_out * h_out
            for t in order:
                if dy is not None:
                    dh += dy[t]
                if mf is not None:
                    skip_h = dh * (1 - mf[t])
                    dh *= mf[t]
                dG[t] *= dh
                xp.matmul(dG[t], w_hh, out=dh)
                if mf is not None:
                    dh += skip_h
            dGx = dGh = dG
            dc0 = None
    gx = gw_ih = gw_hh = gb_ih = gb_hh = None
    dGx2 = dGx.reshape(T * N, -1)
    if need[0]:
        gx = (dGx2 @ w_ih).reshape(T, N, I)
    if need[3]:
        gw_ih = dGx2.T @ cache["x2"]
    if need[4]:
        gw_hh = dGh.reshape(T * N, -1).T @ h_prev.reshape(T * N, H)
    if need[5]:
        gb_ih = dGx2.sum(0)
    if need[6]:
        gb_hh = gb_ih if dGh is dGx and gb_ih is not None else dGh.reshape(T * N, -1).sum(0)
    return gx, dh, dc0, gw_ih, gw_hh, gb_ih, gb_hh


class RecurrentLayer(Function):
    """One layer, one direction, whole sequence. Attributes: mode, mask, reverse, batch_first."""

    def forward(self, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        if self.batch_first:
            x = x.swapaxes(0, 1)
        with _quiet(self.xp):
            y, h_n, c_n, cache = _seq_forward(self.xp, self.mode, x, h0, c0, w_ih, w_hh, b_ih,
                                              b_hh, self.mask, self.reverse)
        self.saved = (cache, w_ih, w_hh)
        if self.batch_first:
            y = y.swapaxes(0, 1)
        return (y, h_n) if c_n is None else (y, h_n, c_n)

    def backward(self, dy, dh_n, dc_n=None):
        cache, w_ih, w_hh = self.saved
        if self.batch_first and dy is not None:  # dy is None when only h_n was used
            dy = dy.swapaxes(0, 1)
        g = _seq_backward(self.xp, self.mode, cache, w_ih, w_hh, dy, dh_n, dc_n, self.mask,
                          self.reverse, self.needs_input_grad)
        if self.batch_first and g[0] is not None:
            g = (g[0].swapaxes(0, 1),) + g[1:]
        return tuple(gi if n else None for gi, n in zip(g, self.needs_input_grad))


class RecurrentCell(Function):
    """One time step (the sequence kernel with T = 1). Attribute: mode."""

    def forward(self, x, h, c, w_ih, w_hh, b_ih, b_hh):
        with _quiet(self.xp):
            _, h_n, c_n, cache = _seq_forward(self.xp, self.mode, x[None], h, c, w_ih, w_hh,
                                              b_ih, b_hh, None, False)
        self.saved = (cache, w_ih, w_hh)
        return h_n if c_n is None else (h_n, c_n)

    def backward(self, dh, dc=None):
        cache, w_ih, w_hh = self.saved
        g = _seq_backward(self.xp, self.mode, cache, w_ih, w_hh, None, dh, dc, None, False,
                          self.needs_input_grad)
        gx = None if g[0] is None else g[0][0]
        return tuple(gi if n else None
                     for gi, n in zip((gx,) + g[1:], self.needs_input_grad))


def lengths_to_mask(lengths, max_len, batch_first=False):
    """Boolean validity mask from sequence lengths (True = a real step, False = padding).

    Args:
        lengths (sequence of int, array or Tensor): length of each sequence, ``(N,)``.
        max_len (int): number of time steps ``T``.
        batch_first (bool): return ``(N, T)`` instead of ``(T, N)``. Default False.

    Returns:
        array of bool, ``(T, N)`` (or ``(N, T)``).
    """
    np = B.np
    lens = np.asarray(B.to_host(unwrap(lengths))).reshape(-1)
    m = np.arange(max_len)[:, None] < lens[None, :]
    return m.T if batch_first else m


def _prepare_mask(op, x, lengths, mask, batch_first):
    T, N = (x.shape[1], x.shape[0]) if batch_first else (x.shape[0], x.shape[1])
    if lengths is None and mask is None:
        return None
    if lengths is not None:
        lens = B.np.asarray(B.to_host(unwrap(lengths))).reshape(-1)
        check(lens.shape[0] == N and (lens.size == 0 or (lens.min() >= 0 and lens.max() <= T)),
              op, f"{N} lengths in [0, {T}] (one per sequence)", f"lengths {lens.tolist()}")
        m = lengths_to_mask(lens, T)
    else:
        m = B.to_host(unwrap(mask)).astype(bool)
        m = m.T if batch_first else m
        check(m.shape == (T, N), op, f"mask of shape {(N, T) if batch_first else (T, N)}",
              f"{tuple(unwrap(mask).shape)}")
    if m.all():
        return None
    return B.get_array_module(x).asarray(m)


def rnn_layer(input, weight_ih, weight_hh, bias_ih=None, bias_hh=None, h0=None, c0=None, *,
              mode="lstm", lengths=None, mask=None, reverse=False, batch_first=False):
    """One recurrent layer in one direction over a whole sequence (one fused op).

    Args:
        input (Tensor): ``(T, N, I)`` (``(N, T, I)`` with ``batch_first``).
        weight_ih (Tensor): ``(G*H, I)``, G = 4 (lstm, gates i,f,g,o), 3 (gru, r,z,n), 1 (rnn).
        weight_hh (Tensor): ``(G*H, H)``.
        bias_ih, bias_hh (Tensor, optional): ``(G*H,)`` each; both or neither. Default None.
        h0 (Tensor, optional): initial hidden state ``(N, H)``; zeros when None.
        c0 (Tensor, optional): initial cell state ``(N, H)`` (lstm only); zeros when None.
        mode (str): ``"lstm"``, ``"gru"`` (PyTorch's variant, see the module docstring),
            ``"rnn_tanh"`` or ``"rnn_relu"``. Default ``"lstm"``.
        lengths (sequence of int, optional): valid length of each sequence (any order).
        mask (array of bool, optional): ``(T, N)`` (``(N, T)`` with ``batch_first``), True = a
            real step. Masked steps keep the state, output zeros and get no gradient.
        reverse (bool): run from the last step to the first. Default False.
        batch_first (bool): input and output are ``(N, T, .)``. Default False.

    Returns:
        tuple: ``(output, h_n)`` or, for lstm, ``(output, h_n, c_n)``; output ``(T, N, H)``
        (``(N, T, H)`` with ``batch_first``), states ``(N, H)``.

    Example:
        >>> x = lamina.randn(5, 2, 3)
        >>> w_ih, w_hh = lamina.randn(16, 3), lamina.randn(16, 4)
        >>> y, h, c = F.rnn_layer(x, w_ih, w_hh, mode="lstm", lengths=[5, 3])
    """
    op = f"rnn_layer({mode})"
    check(mode in _GATES, op, f"mode in {sorted(_GATES)}", repr(mode))
    xs, wi, wh = unwrap(input).shape, unwrap(weight_ih).shape, unwrap(weight_hh).shape
    check(len(xs) == 3, op, "a 3-D input (T, N, I) or (N, T, I) with batch_first", f"{xs}")
    H = wh[-1]
    G = _GATES[mode]
    check(wi == (G * H, xs[-1]) and wh == (G * H, H), op,
          f"weight_ih ({G}*H, I={xs[-1]}) and weight_hh ({G}*H, H)", f"{wi} and {wh}")
    check((bias_ih is None) == (bias_hh is None), op, "both biases or neither",
          "only one of bias_ih, bias_hh")
    if mode != "lstm":
        check(c0 is None, op, "c0=None (only lstm has a cell state)", "a c0")
    n = xs[0] if batch_first else xs[1]
    for name, s in (("h0", h0), ("c0", c0)):
        check(s is None or tuple(unwrap(s).shape) == (n, H), op, f"{name} of shape {(n, H)}",
              f"{tuple(unwrap(s).shape) if s is not None else None}")
    m = _prepare_mask(op, unwrap(input), lengths, mask, batch_first)
    return RecurrentLayer.apply(input, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh,
                                mode=mode, mask=m, reverse=bool(reverse),
                                batch_first=bool(batch_first))


def _cell(mode, input, h, c, w_ih, w_hh, b_ih, b_hh):
    op = f"{mode}_cell"
    xs, hs_ = unwrap(input).shape, unwrap(w_hh).shape
    G = _GATES[mode]
    check(len(xs) == 2 and unwrap(w_ih).shape == (hs_[0], xs[-1]) and hs_[0] == G * hs_[1],
          op, f"input (N, I) with weight_ih ({G}*H, I) and weight_hh ({G}*H, H)",
          f"input {xs}, weight_ih {unwrap(w_ih).shape}, weight_hh {hs_}")
    return RecurrentCell.apply(input, h, c, w_ih, w_hh, b_ih, b_hh, mode=mode)


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step (gates i, f, g, o as PyTorch): ``c' = f*c + i*g``, ``h' = o*tanh(c')``.

    Args:
        input (Tensor): ``(N, I)``.
        hx (tuple or None): ``(h, c)``, each ``(N, H)``; zeros when None.
        w_ih (Tensor): ``(4H, I)``; w_hh (Tensor): ``(4H, H)``.
        b_ih, b_hh (Tensor, optional): ``(4H,)``. Default None.

    Returns:
        tuple: ``(h', c')``, each ``(N, H)``.
    """
    h, c = (None, None) if hx is None else hx
    return _cell("lstm", input, h, c, w_ih, w_hh, b_ih, b_hh)


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step, PyTorch's variant: ``n = tanh(W_in x + b_in + r*(W_hn h + b_hn))``,
    ``h' = (1 - z)*n + z*h`` (gates r, z, n).

    Args:
        input (Tensor): ``(N, I)``; hx (Tensor or None): ``(N, H)``, zeros when None.
        w_ih (Tensor): ``(3H, I)``; w_hh (Tensor): ``(3H, H)``; b_ih, b_hh: ``(3H,)`` or None.

    Returns:
        Tensor: ``h'``, ``(N, H)``.
    """
    return _cell("gru", input, hx, None, w_ih, w_hh, b_ih, b_hh)


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One Elman step ``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)``; shapes as :func:`gru_cell`
    with ``H`` rows instead of ``3H``. Returns ``h'`` ``(N, H)``."""
    return _cell("rnn_tanh", input, hx, None, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One Elman step with relu: ``h' = relu(W_ih x + b_ih + W_hh h + b_hh)``. Returns
    ``h'`` ``(N, H)``."""
    return _cell("rnn_relu", input, hx, None, w_ih, w_hh, b_ih, b_hh)

"""Fused CPU kernels compiled with numba (the optional ``fast`` extra).

Each kernel does in one pass over memory what the NumPy path does in several (a max-pool
window loop with its argmax, the ReLU gradient, the col2im fold of a convolution's input
gradient, the Adam update). The NumPy path is always there and is what runs when numba is not
installed, when ``LAMINA_FAST=0`` is set, or after :func:`set_enabled` ``(False)``; both paths
give the same bits (no ``fastmath``: every float32 operation is rounded as NumPy rounds it)
and the test suite runs the kernels' callers on both.

Kernels release the GIL (``nogil``) and take a batch range ``lo:hi``, so
:func:`~lamina.backend.kernels.parallel_for` splits them over lamina's kernel threads; numba's
own threading layer is never started (one thread pool besides BLAS's, not two). Compiled code
is cached on disk next to this file (``cache=True``), so only the first run on a machine
compiles.
"""

from __future__ import annotations

import os

import numpy as np

try:  # pragma: no cover - depends on the install
    if os.environ.get("LAMINA_FAST", "1") == "0":
        raise ImportError("LAMINA_FAST=0")
    import numba
except ImportError:  # pragma: no cover - depends on the install
    numba = None

__all__ = ["available", "enabled", "set_enabled", "flat_pair", "relu_grad", "max_pool_fwd",
           "max_pool_bwd", "fold_rows", "fold_rows_grouped", "adam_update", "lstm_gates",
           "lstm_bwd_step", "sgd_momentum",
           "gru_bwd_step"]

_state = {"on": numba is not None}


def available() -> bool:
    """Whether numba imported (the ``fast`` extra is installed and ``LAMINA_FAST`` is not 0)."""
    return numba is not None


def enabled() -> bool:
    """Whether lamina's kernels take the numba path now."""
    return _state["on"]


def set_enabled(flag: bool) -> bool:
    """Turn the numba kernels on or off (off: the pure-NumPy path). Returns the old setting.
    Turning them on without numba installed raises ``RuntimeError``."""
    if flag and numba is None:
        raise RuntimeError("lamina.backend.fast: numba is not installed (pip install "
                           "'lamina[fast]') or LAMINA_FAST=0 is set")
    old, _state["on"] = _state["on"], bool(flag)
    return old


def flat_pair(a, b):
    """1-D views of ``a`` and ``b`` over the same element order, or None: both must be NumPy
    arrays with equal shapes and strides laid out contiguously in some axis order (a
    channels-last view of an ``(N, C, H, W)`` array qualifies)."""
    if type(a) is not np.ndarray or type(b) is not np.ndarray:
        return None
    if a.shape != b.shape or a.strides != b.strides or a.dtype != b.dtype:
        return None
    if a.flags.c_contiguous:
        return a.reshape(-1), b.reshape(-1)
    order = sorted(range(a.ndim), key=lambda ax: -a.strides[ax])
    at = a.transpose(order)
    if not at.flags.c_contiguous:
        return None
    return at.reshape(-1), b.transpose(order).reshape(-1)


if numba is not None:  # pragma: no branch
    _jit = numba.njit(cache=True, nogil=True)

    @_jit
    def _relu_grad(gy, y, out):  # pragma: no cover - compiled
        for k in range(gy.shape[0]):
            g = gy[k]
            out[k] = g if y[k] > 0 else g * 0

    @_jit
    def _max_pool_fwd(x, y, arg, kh, kw, sh, sw, dh, dw, lo, hi):  # pragma: no cover
        _, oh_, ow_, c_ = y.shape
        for n in range(lo, hi):
            for oh in range(oh_):
                for ow in range(ow_):
                    h0, w0 = oh * sh, ow * sw
                    for c in range(c_):
                        y[n, oh, ow, c] = x[n, h0, w0, c]
                        arg[n, oh, ow, c] = 0
                    for i in range(kh):
                        for j in range(kw):
                            if i == 0 and j == 0:
                                continue
                            k = i * kw + j
                            h, w = h0 + i * dh, w0 + j * dw
                            for c in range(c_):
                                v = x[n, h, w, c]
                                if v > y[n, oh, ow, c] or v != v:   # PyTorch: NaN wins
                                    y[n, oh, ow, c] = v
                                    arg[n, oh, ow, c] = k

    @_jit
    def _max_pool_bwd(gy, arg, dx, kh, kw, sh, sw, dh, dw, covered, lo, hi):  # pragma: no cover
        _, oh_, ow_, c_ = gy.shape
        for n in range(lo, hi):
            if covered:   # disjoint windows tile dx: every element written once, in order
                for oh in range(oh_):
                    for i in range(kh):
                        for ow in range(ow_):
                            for j in range(kw):
                                k = i * kw + j
                                h, w = oh * sh + i, ow * sw + j
                                for c in range(c_):
                                    g = gy[n, oh, ow, c]
                                    dx[n, h, w, c] = g if arg[n, oh, ow, c] == k else g * 0
                continue
            dx[n] = 0
            for oh in range(oh_):
                for ow in range(ow_):
                    for i in range(kh):
                        for j in range(kw):
                            k = i * kw + j
                            h, w = oh * sh + i * dh, ow * sw + j * dw
                            for c in range(c_):
                                if arg[n, oh, ow, c] == k:
                                    dx[n, h, w, c] += gy[n, oh, ow, c]

    @_jit
    def _fold_rows_grouped(blocks, view, kh, kw, sh, sw, dh, dw, lo, hi):  # pragma: no cover
        # blocks (G, N, OH, OW, kh, kw, c) -> view (N, Hp, Wp, G*c), channel k*c + ci.
        g_, _, oh_, ow_, _, _, c_ = blocks.shape
        for n in range(lo, hi):
            view[n] = 0
            for k in range(g_):
                base = k * c_
                for oh in range(oh_):
                    for ow in range(ow_):
                        for i in range(kh):
                            h = oh * sh + i * dh
                            for j in range(kw):
                                w = ow * sw + j * dw
                                for c in range(c_):
                                    view[n, h, w, base + c] += blocks[k, n, oh, ow, i, j, c]

    @_jit
    def _adam(p, g, m, v, one_m_b1, b2, one_m_b2, step_size, bc2, eps):  # pragma: no cover
        for k in range(p.shape[0]):
            gk = g[k]
            mk = m[k] + (gk - m[k]) * one_m_b1
            vk = v[k] * b2 + one_m_b2 * (gk * gk)
            m[k] = mk
            v[k] = vk
            p[k] -= step_size * (mk / (np.sqrt(vk) / bc2 + eps))

    @_jit
    def _lstm_gates(t, c_prev, c, half):  # pragma: no cover - compiled
        # t: (N, 4H) = tanh of the gate inputs scaled by (1/2, 1/2, 1, 1/2), replaced by the
        # activated gates (sigmoid(a) = (1 + tanh(a/2)) / 2); c = f * c_prev + i * g
        n_, g4 = t.shape
        hh = g4 // 4
        for n in range(n_):
            for j in range(hh):
                gi = half * t[n, j] + half
                gf = half * t[n, hh + j] + half
                t[n, j] = gi
                t[n, hh + j] = gf
                t[n, 3 * hh + j] = half * t[n, 3 * hh + j] + half
                c[n, j] = gf * c_prev[n, j] + gi * t[n, 2 * hh + j]

    @_jit
    def _lstm_bwd_step(a, tc, c_prev, dh, dc, dy, has_dy, d, one):  # pragma: no cover
        # a: activated gates (N, 4H); dh, dc (N, H) in/out (dh += dy first); d: (N, 4H) out
        n_, g4 = a.shape
        hh = g4 // 4
        for n in range(n_):
            for j in range(hh):
                dhn = dh[n, j] + dy[n, j] if has_dy else dh[n, j]
                gi, gf, gg, go = a[n, j], a[n, hh + j], a[n, 2 * hh + j], a[n, 3 * hh + j]
                t = tc[n, j]
                dcn = dc[n, j] + (one - t * t) * go * dhn
                d[n, j] = (one - gi) * gi * gg * dcn
                d[n, hh + j] = (one - gf) * gf * c_prev[n, j] * dcn
                d[n, 2 * hh + j] = (one - gg * gg) * gi * dcn
                d[n, 3 * hh + j] = (one - go) * go * t * dhn
                dc[n, j] = dcn * gf
    @_jit
    def _sgd_momentum(p, g, b, momentum, lr):  # pragma: no cover - compiled
        for k in range(p.shape[0]):
            bk = b[k] * momentum + g[k]
            b[k] = bk
            p[k] -= lr * bk

    @_jit
    def _gru_bwd_step(dh, dy, has_dy, qn, qr, qz, r, z, dn, d):  # pragma: no cover
        n_, hh = dh.shape
        for n in range(n_):
            for j in range(hh):
                g = dh[n, j] + dy[n, j] if has_dy else dh[n, j]
                e = g * qn[n, j]
                dn[n, j] = e
                d[n, j] = e * qr[n, j]
                d[n, hh + j] = g * qz[n, j]
                d[n, 2 * hh + j] = e * r[n, j]
                dh[n, j] = g * z[n, j]


def relu_grad(gy, y, out) -> bool:
    """``out = gy * (y > 0)`` in one pass when the three arrays share one layout; returns
    False (nothing written) when they do not."""
    pair, pout = flat_pair(gy, y), flat_pair(gy, out)
    if pair is None or pout is None:
        return False
    _relu_grad(pair[0], pair[1], pout[1])
    return True


def max_pool_fwd(x4, y4, arg4, g, lo, hi) -> None:
    """Max pooling of ``x4`` ``(N, Hp, Wp, C)`` (padded, any strides) into ``y4`` and the
    window offsets ``arg4`` ``(N, OH, OW, C)``, batch rows ``lo:hi``."""
    _max_pool_fwd(x4, y4, arg4, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, lo, hi)


def max_pool_bwd(gy4, arg4, dx4, g, lo, hi) -> None:
    """Scatter ``gy4`` to each window's maximum in ``dx4`` (zeroed first), rows ``lo:hi``."""
    covered = (g.sh == g.kh and g.sw == g.kw and g.dh == g.dw == 1
               and g.oh * g.sh == dx4.shape[1] and g.ow * g.sw == dx4.shape[2])
    _max_pool_bwd(gy4, arg4, dx4, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, covered, lo, hi)


def fold_rows(blocks6, view4, g, lo, hi) -> None:
    """col2im: ``view4`` ``(N, Hp, Wp, C)`` = the sum of ``blocks6`` ``(N, OH, OW, kh, kw, C)``
    over every window that covers each pixel, rows ``lo:hi`` (zeroed first)."""
    _fold_rows_grouped(blocks6[None], view4, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, lo, hi)


def fold_rows_grouped(blocks7, view4, g, lo, hi) -> None:
    """Grouped col2im: ``view4`` ``(N, Hp, Wp, G*c)`` from ``blocks7``
    ``(G, N, OH, OW, kh, kw, c)`` (group ``k`` fills channels ``k*c:(k+1)*c``), rows ``lo:hi``."""
    _fold_rows_grouped(blocks7, view4, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, lo, hi)


def adam_update(p, g, m, v, *, beta1, beta2, step_size, bc2, eps, decay=None) -> bool:
    """Adam's moment and parameter update in one pass (PyTorch's rounding: every constant in
    the parameter's dtype); ``decay`` (AdamW) first scales ``p`` in place. Returns False
    (nothing done) unless all four arrays are contiguous in one layout."""
    pairs = [flat_pair(p, a) for a in (g, m, v)]
    if any(q is None for q in pairs):
        return False
    if decay is not None:
        p *= decay
    t = p.dtype.type
    _adam(pairs[0][0], pairs[0][1], pairs[1][1], pairs[2][1], t(1.0 - beta1), t(beta2),
          t(1.0 - beta2), t(step_size), t(bc2), t(eps))
    return True


def lstm_gates(t, c_prev, c) -> None:
    """One LSTM step's gate math after NumPy's SIMD ``tanh`` pass: ``t`` ``(N, 4H)`` holds
    ``tanh`` of the gate inputs scaled by ``(1/2, 1/2, 1, 1/2)`` (see
    :mod:`lamina.functional.recurrent`) and becomes the activated gates ``(i, f, g, o)``
    (``sigmoid(a) = (1 + tanh(a/2)) / 2``); writes ``c = f * c_prev + i * g`` ``(N, H)``."""
    _lstm_gates(t, c_prev, c, t.dtype.type(0.5))


def lstm_bwd_step(a, tc, c_prev, dh, dc, dy, d) -> None:
    """One LSTM step back: ``dh += dy`` (when given), the gate gradients into ``d``
    ``(N, 4H)``, and ``dc`` carried to the previous step (``dh`` itself is the caller's next
    GEMM, ``d @ W_hh``)."""
    _lstm_bwd_step(a, tc, c_prev, dh, dc, dh if dy is None else dy, dy is not None, d,
                   a.dtype.type(1))


def sgd_momentum(p, g, b, *, momentum, lr) -> bool:
    """SGD with momentum (no dampening, not Nesterov) in one pass: ``b = momentum * b + g``,
    ``p -= lr * b``, PyTorch's rounding. Returns False (nothing done) unless the three
    arrays share one contiguous layout."""
    pg, pb = flat_pair(p, g), flat_pair(p, b)
    if pg is None or pb is None:
        return False
    t = p.dtype.type
    _sgd_momentum(pg[0], pg[1], pb[1], t(momentum), t(lr))
    return True


def gru_bwd_step(dh, dy, qn, qr, qz, r, z, dn, d) -> None:
    """One GRU step back (PyTorch's gates r, z, n): ``dh += dy`` (when given), ``dn = dh *
    qn``, the gate gradients ``(dn * qr, dh * qz, dn * r)`` into ``d`` ``(N, 3H)``, then
    ``dh *= z`` (the caller adds ``d @ W_hh``). The same operations, in the same order, as
    the NumPy path of :mod:`lamina.functional.recurrent`."""
    _gru_bwd_step(dh, dh if dy is None else dy, dy is not None, qn, qr, qz, r, z, dn, d)

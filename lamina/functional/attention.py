"""Scaled dot-product attention as one fused op (seed Q30): ``softmax(q k^T * scale + mask) v``.

Forward and backward are written on raw arrays, so attention costs one graph node: scores,
masking, softmax, dropout on the weights and the weighted sum are never separate tensors. Rows
whose every key is masked give zero weights and a zero output (not NaN as ``0/0`` would), and
no gradient flows through them.
"""

from __future__ import annotations

import math

from .. import backend as B
from ..autograd.function import Function
from ..errors import check
from ._util import unwrap

__all__ = ["scaled_dot_product_attention", "attention_weights"]


def _softmax_allowed(s, allowed, xp):
    """Softmax over the last axis of ``s`` (modified in place) where ``allowed`` (bool, or
    None for all); entries at ``-inf`` and disallowed ones get 0, empty rows give zeros."""
    if allowed is not None:
        s = xp.where(allowed, s, -xp.inf).astype(s.dtype, copy=False)
    m = s.max(axis=-1, keepdims=True)
    m = xp.where(m == -xp.inf, 0, m).astype(s.dtype, copy=False)
    s -= m
    xp.exp(s, out=s)
    d = s.sum(axis=-1, keepdims=True)
    s /= xp.where(d == 0, 1, d)
    return s


class ScaledDotProductAttention(Function):
    """Attributes: scale, causal, dropout_p, return_weights."""

    def forward(self, q, k, v, mask):
        xp = self.xp
        s = q @ xp.swapaxes(k, -1, -2)
        s *= s.dtype.type(self.scale)
        allowed = None
        if mask is not None:
            if mask.dtype == bool:
                allowed = mask
            else:
                s = s + mask.astype(s.dtype, copy=False)
        if self.causal:
            L, S = s.shape[-2:]
            tril = xp.tri(L, S, dtype=bool)
            allowed = tril if allowed is None else allowed & tril
        p = _softmax_allowed(s, allowed, xp)
        keep = None
        pd = p
        if self.dropout_p > 0:
            dev = "cuda" if B.is_cupy_array(p) else "cpu"
            keep = B.rng(dev).random(p.shape, dtype=B.np.float32) >= self.dropout_p
            scale = 0.0 if self.dropout_p >= 1 else 1.0 / (1.0 - self.dropout_p)
            keep = keep.astype(p.dtype) * p.dtype.type(scale)
            pd = p * keep
        out = pd @ v
        self.saved = (q, k, v, p, pd, keep)
        return (out, pd) if self.return_weights else out

    def backward(self, dout, dw=None):
        q, k, v, p, pd, keep = self.saved
        xp = self.xp
        n = self.needs_input_grad
        dv = xp.swapaxes(pd, -1, -2) @ dout if n[2] else None
        dp = dout @ xp.swapaxes(v, -1, -2)
        if dw is not None:
            dp += dw
        if keep is not None:
            dp *= keep
        ds = dp
        ds -= (dp * p).sum(axis=-1, keepdims=True)
        ds *= p
        dmask = ds if n[3] else None
        sc = ds.dtype.type(self.scale)
        dq = (ds @ k) * sc if n[0] else None
        dk = (xp.swapaxes(ds, -1, -2) @ q) * sc if n[1] else None
        return dq, dk, dv, dmask


def _attention(op, query, key, value, attn_mask, dropout_p, is_causal, scale, weights):
    q, k, v = unwrap(query), unwrap(key), unwrap(value)
    check(q.ndim >= 2 and k.ndim >= 2 and v.ndim >= 2 and q.shape[-1] == k.shape[-1]
          and k.shape[-2] == v.shape[-2], op,
          "query (..., L, E), key (..., S, E), value (..., S, Ev)",
          f"query {tuple(q.shape)}, key {tuple(k.shape)}, value {tuple(v.shape)}")
    check(0.0 <= dropout_p <= 1.0, op, "dropout_p in [0, 1]", f"dropout_p={dropout_p}",
          cls=ValueError)
    check(attn_mask is None or not is_causal, op, "attn_mask=None when is_causal=True (as torch)",
          "both an attn_mask and is_causal=True", cls=ValueError)
    if attn_mask is not None:
        m = unwrap(attn_mask)
        try:
            B.np.broadcast_shapes(m.shape, q.shape[:-1] + (k.shape[-2],))
        except ValueError:
            check(False, op, f"attn_mask broadcastable to {q.shape[:-1] + (k.shape[-2],)} "
                  "(..., L, S)", f"attn_mask of shape {tuple(m.shape)}")
        if m.dtype.kind not in "bf":
            attn_mask = m != 0
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    return ScaledDotProductAttention.apply(query, key, value, attn_mask, scale=scale,
                                           causal=bool(is_causal), dropout_p=float(dropout_p),
                                           return_weights=weights)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, need_weights=False):
    """Attention ``softmax(query @ key^T * scale + mask) @ value`` as one fused op.

    Args:
        query (Tensor): ``(..., L, E)``.
        key (Tensor): ``(..., S, E)``.
        value (Tensor): ``(..., S, Ev)``. Leading dims broadcast (e.g. ``(N, heads)``).
        attn_mask (Tensor or array, optional): broadcastable to ``(..., L, S)``; bool with
            True = may attend (PyTorch's ``F.scaled_dot_product_attention`` convention), or
            float added to the scores (``-inf`` blocks; a float mask that requires grad gets
            one). Default None.
        dropout_p (float): dropout on the attention weights (pass 0 in evaluation).
            Default 0.
        is_causal (bool): position ``i`` attends to keys ``j <= i`` (top-left aligned, as
            PyTorch); combined with ``attn_mask`` if both are given. Default False.
        scale (float, optional): score scale; default ``1 / sqrt(E)``.
        need_weights (bool): also return the attention weights. Default False.

    Returns:
        Tensor ``(..., L, Ev)``, or ``(output, weights)`` with weights ``(..., L, S)`` (after
        dropout) when ``need_weights``. A query row with no allowed key gives zeros.

    Example:
        >>> q = k = v = lamina.randn(2, 4, 10, 16)         # (N, heads, T, head_dim)
        >>> out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    """
    return _attention("scaled_dot_product_attention", query, key, value, attn_mask, dropout_p,
                      is_causal, scale, bool(need_weights))


def attention_weights(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                      scale=None):
    """:func:`scaled_dot_product_attention` that always returns ``(output, weights)``.

    Args: as :func:`scaled_dot_product_attention`.

    Returns:
        tuple: output ``(..., L, Ev)`` and weights ``(..., L, S)``.
    """
    return _attention("attention_weights", query, key, value, attn_mask, dropout_p, is_causal,
                      scale, True)

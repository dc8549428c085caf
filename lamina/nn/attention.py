"""Attention modules (seed Q30): ``MultiheadAttention``, Transformer encoder/decoder layers and
stacks with PyTorch's parameter names and mask conventions, and Bahdanau's
``AdditiveAttention`` for seq2seq.

Mask conventions follow PyTorch's modules: in ``attn_mask`` and ``key_padding_mask`` a bool
``True`` marks a position that may NOT be attended (float masks are added to the scores).
A query whose every key is masked gets zero weights and output, not NaN.
"""

from __future__ import annotations

import copy

from .. import backend as B
from .. import functional as F
from ..autograd.tensor import Tensor
from ..errors import check
from . import init as _init
from .containers import ModuleList
from .layers import Dropout, Linear
from .module import Module, Parameter
from .normalization import LayerNorm

__all__ = ["MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder",
           "TransformerDecoderLayer", "TransformerDecoder", "AdditiveAttention"]


def _dtype(dtype):
    return B.get_default_dtype() if dtype is None else B.np.dtype(dtype)


def _raw(m):
    """The array inside a mask given as a Tensor, array or nested list."""
    if m is None or isinstance(m, B.ndarray_types):
        return m
    return m.array if isinstance(m, Tensor) else B.np.asarray(m)


def _additive(m, dtype, xp):
    """A bool 'blocked' mask as an additive float mask (-inf where blocked)."""
    return xp.where(m, -xp.inf, 0).astype(dtype) if m.dtype == bool else m.astype(dtype)


def _merge_masks(attn_mask, key_padding_mask, N, h, L, S, dtype, xp, op):
    """Torch-convention masks (True = blocked, or float added) -> one SDPA mask (True = attend,
    or float) broadcastable to (N, h, L, S), or None."""
    am, kpm = _raw(attn_mask), _raw(key_padding_mask)
    if am is not None:
        check(am.shape in ((L, S), (N * h, L, S)), op, f"attn_mask of shape {(L, S)} or "
              f"{(N * h, L, S)}", f"{tuple(am.shape)}")
        am = am.reshape(N, h, L, S) if am.ndim == 3 else am
    if kpm is not None:
        check(kpm.shape == (N, S), op, f"key_padding_mask of shape {(N, S)} (N, S)",
              f"{tuple(kpm.shape)}")
        kpm = kpm[:, None, None, :]
    masks = [m for m in (am, kpm) if m is not None]
    if not masks:
        return None
    if all(m.dtype == bool for m in masks):
        out = ~masks[0]
        for m in masks[1:]:
            out = out & ~m
        return out
    out = _additive(masks[0], dtype, xp)
    for m in masks[1:]:
        out = out + _additive(m, dtype, xp)
    return out


class MultiheadAttention(Module):
    """Multi-head attention, PyTorch's layout: ``in_proj_weight`` ``(3E, E)`` (q, k, v rows),
    ``in_proj_bias`` ``(3E,)``, ``out_proj.weight`` ``(E, E)``, ``out_proj.bias`` ``(E,)``;
    with ``kdim``/``vdim`` != ``embed_dim``: ``q_proj_weight``, ``k_proj_weight``,
    ``v_proj_weight`` instead of ``in_proj_weight``.

    Args:
        embed_dim (int): model size ``E`` (divisible by ``num_heads``).
        num_heads (int): parallel heads, each of size ``E / num_heads``.
        dropout (float): dropout on the attention weights in training. Default 0.
        bias (bool): projection biases. Default True.
        kdim, vdim (int, optional): key/value feature sizes; default ``embed_dim``.
        batch_first (bool): tensors are ``(N, L, E)`` instead of ``(L, N, E)``. Default False.
        dtype: parameter dtype. Default: the default dtype.

    Init (PyTorch's): Xavier-uniform input projections, zero biases.

    Example:
        >>> mha = nn.MultiheadAttention(64, 8, batch_first=True)
        >>> out, w = mha(x, x, x, key_padding_mask=pad)     # w: (N, L, S), head-averaged
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, kdim=None, vdim=None,
                 batch_first=False, dtype=None):
        super().__init__()
        check(embed_dim % num_heads == 0, "MultiheadAttention",
              "embed_dim divisible by num_heads", f"embed_dim={embed_dim}, num_heads={num_heads}")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, float(dropout)
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self.head_dim, self.batch_first = embed_dim // num_heads, batch_first
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        dt = _dtype(dtype)
        E = embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(B.np.empty((3 * E, E), dt))
            for n in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(n, None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = Parameter(B.np.empty((E, E), dt))
            self.k_proj_weight = Parameter(B.np.empty((E, self.kdim), dt))
            self.v_proj_weight = Parameter(B.np.empty((E, self.vdim), dt))
        if bias:
            self.in_proj_bias = Parameter(B.np.zeros(3 * E, dt))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(E, E, bias=bias, dtype=dt)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        for w in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight,
                  self.v_proj_weight):
            if w is not None:
                _init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            _init.zeros_(self.in_proj_bias)
            _init.zeros_(self.out_proj.bias)

    def _project(self, query, key, value):
        b = self.in_proj_bias
        if self._qkv_same_embed_dim and query is key and key is value:  # one packed GEMM
            return F.chunk(F.linear(query, self.in_proj_weight, b), 3, dim=-1)
        bq, bk, bv = (None, None, None) if b is None else F.chunk(b, 3)
        if self._qkv_same_embed_dim:
            wq, wk, wv = F.chunk(self.in_proj_weight, 3)
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        """Attend from ``query`` to ``key``/``value``.

        Args:
            query (Tensor): ``(L, N, E)`` (``(N, L, E)`` with ``batch_first``) or ``(L, E)``.
            key (Tensor): ``(S, N, kdim)``; value (Tensor): ``(S, N, vdim)`` (same layout).
            key_padding_mask (optional): ``(N, S)``; bool True = ignore this key, or float
                added to the scores. Default None.
            need_weights (bool): also return the attention weights. Default True.
            attn_mask (optional): ``(L, S)`` or ``(N*num_heads, L, S)``; bool True = blocked,
                or float added. Default None.
            average_attn_weights (bool): average the weights over heads. Default True.
            is_causal (bool): block keys after each query position. Default False.

        Returns:
            tuple: ``(output, weights)``; output like ``query`` with ``E`` features, weights
            ``(N, L, S)`` (``(N, num_heads, L, S)`` if not averaged) or None.
        """
        op = "MultiheadAttention"
        batched = query.ndim == 3
        check(query.ndim in (2, 3) and query.shape[-1] == self.embed_dim, op,
              f"query (L, N, {self.embed_dim}) or (L, {self.embed_dim})",
              f"{tuple(query.shape)}")
        same = query is key and key is value
        ins = (query,) if same else (query, key, value)
        if not batched:
            ins = tuple(F.unsqueeze(t, 1) for t in ins)
            if key_padding_mask is not None:
                key_padding_mask = _raw(key_padding_mask)[None]
        if not self.batch_first or not batched:  # work batch-first: (N, L, E)
            ins = tuple(F.transpose(t, 0, 1) for t in ins)
        query, key, value = ins * 3 if same else ins
        N, L, _ = query.shape
        S = key.shape[1]
        h, d = self.num_heads, self.head_dim
        q, k, v = self._project(query, key, value)
        q, k, v = (F.transpose(F.reshape(t, (N, -1, h, d)), 1, 2) for t in (q, k, v))
        xp = B.get_array_module(q.array)
        mask = _merge_masks(attn_mask, key_padding_mask, N, h, L, S, q.dtype, xp, op)
        p = self.dropout if self.training else 0.0
        res = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p,
                                             is_causal=is_causal, need_weights=need_weights)
        out, w = res if need_weights else (res, None)
        out = self.out_proj(F.reshape(F.transpose(out, 1, 2), (N, L, self.embed_dim)))
        if not batched:
            out = F.squeeze(out, 0)
            w = None if w is None else F.squeeze(w, 0)
        elif not self.batch_first:
            out = F.transpose(out, 0, 1)
        if w is not None and average_attn_weights:
            w = F.mean(w, dim=-3)
        return out, w

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}"


def _activation(activation):
    if callable(activation):
        return activation
    acts = {"relu": F.relu, "gelu": F.gelu}
    check(activation in acts, "Transformer layer", "activation 'relu', 'gelu' or a callable",
          repr(activation), cls=ValueError)
    return acts[activation]


class TransformerEncoderLayer(Module):
    """Self-attention + feed-forward block (Vaswani et al.), PyTorch's names: ``self_attn``,
    ``linear1``, ``linear2``, ``norm1``, ``norm2`` (and ``dropout``, ``dropout1``, ``dropout2``).

    Post-norm (default): ``x = norm1(x + sa(x))``, ``x = norm2(x + ff(x))``; pre-norm
    (``norm_first=True``): ``x = x + sa(norm1(x))``, ``x = x + ff(norm2(x))``.

    Args:
        d_model (int): model size. nhead (int): attention heads.
        dim_feedforward (int): hidden size of the feed-forward block. Default 2048.
        dropout (float): dropout on attention weights and both residual branches. Default 0.1.
        activation (str or callable): ``"relu"`` (default) or ``"gelu"``.
        layer_norm_eps (float): Default 1e-5.
        batch_first (bool): ``(N, T, E)`` instead of ``(T, N, E)``. Default False.
        norm_first (bool): pre-norm. Default False.
        bias (bool): biases in linear and norm layers. Default True.

    Shape:
        src ``(T, N, E)`` -> same.
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 dtype=None):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1, self.dropout2 = Dropout(dropout), Dropout(dropout)
        self.activation = _activation(activation)

    def _sa(self, x, mask, kpm, causal):
        x = self.self_attn(x, x, x, attn_mask=mask, key_padding_mask=kpm, need_weights=False,
                           is_causal=causal)[0]
        return self.dropout1(x)

    def _ff(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        """Args: src; src_mask ``(T, T)`` (True = blocked, or float); src_key_padding_mask
        ``(N, T)`` (True = padding); is_causal. Returns a tensor shaped like ``src``."""
        x = src
        if self.norm_first:
            x = x + self._sa(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff(self.norm2(x))
        x = self.norm1(x + self._sa(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff(x))


class TransformerEncoder(Module):
    """``num_layers`` deep copies of ``encoder_layer`` (``layers.0``, ``layers.1``...), then
    ``norm`` if given.

    Args:
        encoder_layer (TransformerEncoderLayer): the template (copied, not shared).
        num_layers (int): depth. norm (Module, optional): final norm. Default None.
    """

    def __init__(self, encoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=is_causal)
        return x if self.norm is None else self.norm(x)


class TransformerDecoderLayer(Module):
    """Self-attention, cross-attention over ``memory``, feed-forward; PyTorch's names
    (``self_attn``, ``multihead_attn``, ``linear1``, ``linear2``, ``norm1..3``).

    Args: as :class:`TransformerEncoderLayer`.

    Shape:
        tgt ``(T, N, E)``, memory ``(S, N, E)`` -> ``(T, N, E)``.
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 dtype=None):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dtype)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        for i in (1, 2, 3):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias,
                                                dtype=dtype))
        for i in (1, 2, 3):
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation = _activation(activation)

    def _sa(self, x, mask, kpm, causal):
        x = self.self_attn(x, x, x, attn_mask=mask, key_padding_mask=kpm, need_weights=False,
                           is_causal=causal)[0]
        return self.dropout1(x)

    def _mha(self, x, mem, mask, kpm, causal):
        x = self.multihead_attn(x, mem, mem, attn_mask=mask, key_padding_mask=kpm,
                                need_weights=False, is_causal=causal)[0]
        return self.dropout2(x)

    def _ff(self, x):
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        """Masks as :meth:`MultiheadAttention.forward` (True = blocked). Returns ``(T, N, E)``."""
        x = tgt
        if self.norm_first:
            x = x + self._sa(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha(self.norm2(x), memory, memory_mask, memory_key_padding_mask,
                              memory_is_causal)
            return x + self._ff(self.norm3(x))
        x = self.norm1(x + self._sa(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha(x, memory, memory_mask, memory_key_padding_mask,
                                     memory_is_causal))
        return self.norm3(x + self._ff(x))


class TransformerDecoder(Module):
    """``num_layers`` deep copies of ``decoder_layer``, then ``norm`` if given."""

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(decoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask, memory_mask, tgt_key_padding_mask,
                      memory_key_padding_mask, tgt_is_causal, memory_is_causal)
        return x if self.norm is None else self.norm(x)


class AdditiveAttention(Module):
    """Bahdanau attention: ``score(q, k_s) = v^T tanh(W_q q + W_k k_s)``, weights = softmax over
    the keys, context = weighted sum of the values (seq2seq decoders).

    Args:
        query_dim (int): size of a query (decoder state).
        key_dim (int, optional): size of a key (encoder output). Default ``query_dim``.
        hidden_dim (int, optional): size of the scoring layer. Default ``query_dim``.
        dtype: parameter dtype.

    Parameters: ``W_q.weight`` ``(hidden, query_dim)``, ``W_k.weight`` ``(hidden, key_dim)``,
    ``v.weight`` ``(1, hidden)`` (no biases).

    Shape:
        query ``(N, Eq)`` (or ``(N, L, Eq)``), keys ``(N, S, Ek)``, values ``(N, S, Ev)``
        (default: keys), mask ``(N, S)`` bool, True = a real key -> context ``(N, Ev)`` (or
        ``(N, L, Ev)``), weights ``(N, S)`` (or ``(N, L, S)``).

    Example:
        >>> att = nn.AdditiveAttention(128, 256)
        >>> context, weights = att(dec_h, enc_out, mask=src_mask)
    """

    def __init__(self, query_dim, key_dim=None, hidden_dim=None, dtype=None):
        super().__init__()
        key_dim = query_dim if key_dim is None else key_dim
        hidden_dim = query_dim if hidden_dim is None else hidden_dim
        self.W_q = Linear(query_dim, hidden_dim, bias=False, dtype=dtype)
        self.W_k = Linear(key_dim, hidden_dim, bias=False, dtype=dtype)
        self.v = Linear(hidden_dim, 1, bias=False, dtype=dtype)

    def forward(self, query, keys, values=None, mask=None):
        check(keys.ndim == 3 and query.ndim in (2, 3) and query.shape[0] == keys.shape[0],
              "AdditiveAttention", "query (N, Eq) or (N, L, Eq) and keys (N, S, Ek)",
              f"query {tuple(query.shape)}, keys {tuple(keys.shape)}")
        values = keys if values is None else values
        single = query.ndim == 2
        q = self.W_q(F.unsqueeze(query, 1) if single else query)      # (N, L, h)
        k = self.W_k(keys)                                               # (N, S, h)
        e = F.tanh(F.unsqueeze(q, 2) + F.unsqueeze(k, 1))              # (N, L, S, h)
        scores = F.squeeze(self.v(e), -1)                                # (N, L, S)
        if mask is None:
            w = F.softmax(scores, dim=-1)
        else:
            w = F.masked_softmax(scores, _raw(mask).astype(bool)[:, None, :], dim=-1)
        context = F.matmul(w, values)                                    # (N, L, Ev)
        if single:
            return F.squeeze(context, 1), F.squeeze(w, 1)
        return context, w

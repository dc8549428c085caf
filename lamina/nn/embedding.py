"""Embedding tables and positional encodings.

``Embedding`` is PyTorch's (``N(0, 1)`` init, zeroed padding row that never learns).
``SinusoidalPositionalEncoding`` adds the fixed sin/cos table of Vaswani et al. (2017);
``LearnedPositionalEncoding`` adds a trained table of one vector per position.
"""

from __future__ import annotations

import math

from .. import backend as B
from .. import functional as F
from ..autograd.tensor import Tensor
from ..errors import check
from . import init as _init
from .layers import Dropout
from .module import Module, Parameter

__all__ = ["Embedding", "SinusoidalPositionalEncoding", "LearnedPositionalEncoding"]


def _dtype(dtype):
    return B.get_default_dtype() if dtype is None else B.np.dtype(dtype)


class Embedding(Module):
    """A lookup table of ``num_embeddings`` vectors of size ``embedding_dim``.

    Args:
        num_embeddings (int): vocabulary size ``V``.
        embedding_dim (int): vector size ``D``.
        padding_idx (int, optional): this row starts at zero and gets no gradient. Default None.
        dtype: parameter dtype. Default: the default dtype (float32).

    Attributes:
        weight (Parameter): ``(V, D)``, drawn from ``N(0, 1)`` (PyTorch's init).

    Shape:
        integer ids ``(*)`` -> ``(*, D)``.

    Example:
        >>> emb = nn.Embedding(1000, 64, padding_idx=0)
        >>> emb(lamina.tensor([[5, 7, 0]])).shape
        (1, 3, 64)
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, dtype=None):
        super().__init__()
        check(num_embeddings > 0 and embedding_dim > 0, "Embedding",
              "num_embeddings > 0 and embedding_dim > 0", f"{num_embeddings}, {embedding_dim}")
        if padding_idx is not None:
            check(-num_embeddings <= padding_idx < num_embeddings, "Embedding",
                  f"padding_idx in [-{num_embeddings}, {num_embeddings})",
                  f"padding_idx={padding_idx}")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx
        self.weight = Parameter(B.np.empty((num_embeddings, embedding_dim), _dtype(dtype)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Redraw from ``N(0, 1)`` and zero the padding row."""
        _init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.array[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None):
        """An Embedding holding a copy of ``embeddings`` ``(V, D)``; frozen unless
        ``freeze=False``."""
        arr = embeddings.array if isinstance(embeddings, Tensor) else B.np.asarray(embeddings)
        check(arr.ndim == 2, "Embedding.from_pretrained", "a 2-D table (V, D)",
              f"shape {tuple(arr.shape)}")
        m = cls(arr.shape[0], arr.shape[1], padding_idx=padding_idx, dtype=arr.dtype)
        m.weight.array = arr.copy()
        m.weight.requires_grad = not freeze
        return m

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")


def _positions_axis(x, batch_first, op):
    check(x.ndim == 3, op, "input (T, N, E) (or (N, T, E) with batch_first)",
          f"shape {tuple(x.shape)}")
    return 1 if batch_first else 0


class SinusoidalPositionalEncoding(Module):
    """Adds ``PE[t, 2i] = sin(t / 10000^(2i/E))``, ``PE[t, 2i+1] = cos(...)`` then dropout.

    Args:
        d_model (int): embedding size ``E``.
        max_len (int): longest sequence supported. Default 5000.
        dropout (float): dropout after the addition. Default 0.
        batch_first (bool): input ``(N, T, E)`` instead of ``(T, N, E)``. Default False.
        dtype: table dtype. Default: the default dtype.

    Shape:
        ``(T, N, E)`` (or ``(N, T, E)``) -> same.

    Example:
        >>> pe = nn.SinusoidalPositionalEncoding(64, batch_first=True)
        >>> y = pe(lamina.randn(2, 10, 64))
    """

    def __init__(self, d_model, max_len=5000, dropout=0.0, batch_first=False, dtype=None):
        super().__init__()
        np = B.np
        pos = np.arange(max_len, dtype=np.float64)[:, None]
        div = np.exp(np.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = np.zeros((max_len, d_model))
        pe[:, 0::2] = np.sin(pos * div)
        pe[:, 1::2] = np.cos(pos * div)[:, :d_model // 2]
        self.register_buffer("pe", pe.astype(_dtype(dtype)), persistent=False)
        self.d_model, self.max_len, self.batch_first = d_model, max_len, batch_first
        self.dropout = Dropout(dropout)

    def forward(self, x):
        ax = _positions_axis(x, self.batch_first, "SinusoidalPositionalEncoding")
        T = x.shape[ax]
        check(T <= self.max_len and x.shape[-1] == self.d_model, "SinusoidalPositionalEncoding",
              f"at most {self.max_len} steps of size {self.d_model}", f"{tuple(x.shape)}")
        pe = self._buffers["pe"][:T]
        pe = pe[None] if self.batch_first else pe[:, None]
        return self.dropout(x + Tensor(pe.astype(x.dtype, copy=False)))

    def extra_repr(self) -> str:
        return f"{self.d_model}, max_len={self.max_len}"


class LearnedPositionalEncoding(Module):
    """Adds a trained vector per position (BERT/GPT style) then dropout.

    Args:
        max_len (int): number of positions.
        d_model (int): embedding size ``E``.
        dropout (float): dropout after the addition. Default 0.
        batch_first (bool): input ``(N, T, E)`` instead of ``(T, N, E)``. Default False.
        dtype: parameter dtype. Default: the default dtype.

    Attributes:
        weight (Parameter): ``(max_len, E)``, drawn from ``N(0, 0.02^2)``.

    Shape:
        ``(T, N, E)`` (or ``(N, T, E)``) -> same.
    """

    def __init__(self, max_len, d_model, dropout=0.0, batch_first=False, dtype=None):
        super().__init__()
        self.max_len, self.d_model, self.batch_first = max_len, d_model, batch_first
        self.weight = Parameter(B.np.empty((max_len, d_model), _dtype(dtype)))
        _init.normal_(self.weight, 0.0, 0.02)
        self.dropout = Dropout(dropout)

    def forward(self, x):
        ax = _positions_axis(x, self.batch_first, "LearnedPositionalEncoding")
        T = x.shape[ax]
        check(T <= self.max_len and x.shape[-1] == self.d_model, "LearnedPositionalEncoding",
              f"at most {self.max_len} steps of size {self.d_model}", f"{tuple(x.shape)}")
        xp = B.get_array_module(self.weight.array)
        pe = F.embedding(xp.arange(T), self.weight)
        pe = F.unsqueeze(pe, 0 if self.batch_first else 1)
        return self.dropout(x + pe)

    def extra_repr(self) -> str:
        return f"{self.max_len}, {self.d_model}"

"""Text classifiers and taggers over token ids (seed Q37, Q38): :class:`TextCNN` (Kim, 2014),
:class:`BiLSTMClassifier` and :class:`BiLSTMTagger` (Huang et al., 2015, without the CRF).

Every model takes padded ``(N, T)`` int ids (``pad_id`` 0 by default, as
:class:`lamina.data.Vocabulary` makes them) and optional ``lengths`` ``(N,)``, and returns logits
(the losses take logits).
"""

from __future__ import annotations

from .. import backend as B
from .. import functional as F
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..errors import check
from ..nn import init as _init
from ..nn.containers import ModuleList
from ..nn.conv import Conv1d
from ..nn.embedding import Embedding
from ..nn.layers import Dropout, Linear
from ..nn.module import Module
from ..nn.recurrent import LSTM

__all__ = ["TextCNN", "BiLSTMClassifier", "BiLSTMTagger", "padding_mask"]

np = B.np


def _ids(x):
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.int64))


def _host(a):
    return B.to_host(a.array if isinstance(a, Tensor) else a)


def padding_mask(ids, lengths=None, pad_id: int = 0):
    """True at real tokens, False at padding: from ``lengths`` when given, else ``ids != pad_id``.

    Args:
        ids (Tensor or array): ``(N, T)`` token ids.
        lengths (sequence of int, optional): ``(N,)`` valid lengths. Default None.
        pad_id (int): the padding id. Default 0.

    Returns:
        host bool array ``(N, T)``.
    """
    a = _host(ids)
    if lengths is None:
        return a != pad_id
    return np.arange(a.shape[1])[None, :] < np.asarray(_host(lengths)).reshape(-1, 1)


def _embedding(vocab_size, embed_dim, padding_idx, a):
    emb = Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
    _init.uniform_(emb.weight, -a, a)
    emb.weight.array[padding_idx] = 0
    return emb


def _check_ids(op, ids):
    check(ids.ndim == 2, op, "token ids of shape (N, T)", f"shape {tuple(ids.shape)}")


class TextCNN(Module):
    """Convolutional sentence classifier (Kim, 2014): embeddings, parallel ``Conv1d`` of several
    widths with ReLU, max over time (padding excluded), dropout, a linear layer.

    Args:
        vocab_size (int): number of token ids ``V``.
        num_classes (int): output classes ``C``.
        embed_dim (int): embedding size. Default 128.
        kernel_sizes (sequence of int): convolution widths (n-gram sizes). Default (3, 4, 5).
        num_filters (int): feature maps per width. Default 100.
        dropout (float): dropout before the classifier (and on the embeddings, halved).
            Default 0.5.
        padding_idx (int): id of ``<pad>`` (its embedding stays zero). Default 0.
        embed_init (float): embeddings drawn from ``U(-a, a)``, Kim's ``a = 0.25`` (the spread
            of word2vec vectors); PyTorch's ``N(0, 1)`` default trains much slower here.
            Default 0.25.

    Shape:
        ids ``(N, T)`` int, lengths ``(N,)`` (optional) -> logits ``(N, C)``.

    Example:
        >>> model = TextCNN(len(vocab), 2)
        >>> ids, lengths = vocab.encode_batch(["great coffee", "stale and bitter"])
        >>> model(ids, lengths).shape
        (2, 2)
    """

    def __init__(self, vocab_size: int, num_classes: int, embed_dim: int = 128,
                 kernel_sizes=(3, 4, 5), num_filters: int = 100, dropout: float = 0.5,
                 padding_idx: int = 0, embed_init: float = 0.25):
        super().__init__()
        self.kernel_sizes = tuple(int(k) for k in kernel_sizes)
        check(len(self.kernel_sizes) > 0 and min(self.kernel_sizes) >= 1, "TextCNN",
              "at least one kernel size >= 1", repr(kernel_sizes), cls=ValueError)
        self.padding_idx = padding_idx
        self.embedding = _embedding(vocab_size, embed_dim, padding_idx, embed_init)
        self.convs = ModuleList([Conv1d(embed_dim, num_filters, k) for k in self.kernel_sizes])
        self.embed_dropout = Dropout(dropout / 2)
        self.dropout = Dropout(dropout)
        self.fc = Linear(num_filters * len(self.kernel_sizes), num_classes)

    def features(self, ids, lengths=None):
        """The pooled n-gram features ``(N, num_filters * len(kernel_sizes))`` before dropout."""
        ids = _ids(ids)
        _check_ids("TextCNN", ids)
        kmax = max(self.kernel_sizes)
        valid = padding_mask(ids, lengths, self.padding_idx)
        if ids.shape[1] < kmax:  # too short for the widest filter: pad with <pad>
            pad = np.full((ids.shape[0], kmax - ids.shape[1]), self.padding_idx, np.int64)
            ids = Tensor(np.concatenate([_host(ids), pad], axis=1))
        n_valid = valid.sum(axis=1)
        x = self.embed_dropout(self.embedding(ids))             # (N, T, E)
        x = F.transpose(x, 1, 2)                                  # (N, E, T)
        pooled = []
        for k, conv in zip(self.kernel_sizes, self.convs):
            h = F.relu(conv(x))                                   # (N, F, T - k + 1)
            L = h.shape[-1]
            # windows that start past the last real token see only padding; keep >= 1 window
            keep = np.arange(L)[None, :] < np.maximum(n_valid - k + 1, 1)[:, None]
            h = F.masked_fill(h, Tensor(~keep[:, None, :]), 0.0)  # relu >= 0: 0 never wins
            pooled.append(F.amax(h, dim=-1))
        return F.cat(pooled, dim=-1)

    def forward(self, ids, lengths=None):
        return self.fc(self.dropout(self.features(ids, lengths)))


class _BiLSTMEncoder(Module):
    def __init__(self, vocab_size, embed_dim, hidden_size, num_layers, dropout, padding_idx):
        super().__init__()
        self.padding_idx = padding_idx
        self.embedding = Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.lstm = LSTM(embed_dim, hidden_size, num_layers=num_layers, batch_first=True,
                         bidirectional=True, dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = Dropout(dropout)

    def encode(self, op, ids, lengths):
        ids = _ids(ids)
        _check_ids(op, ids)
        if lengths is None:
            lengths = padding_mask(ids, None, self.padding_idx).sum(axis=1)
        lengths = np.maximum(np.asarray(_host(lengths)).reshape(-1), 1)
        out, _ = self.lstm(self.dropout(self.embedding(ids)), lengths=lengths)  # (N, T, 2H)
        return self.dropout(out), lengths


class BiLSTMClassifier(_BiLSTMEncoder):
    """Bidirectional LSTM text classifier: embeddings, BiLSTM over the real tokens, max and mean
    pooling over time (padding excluded), a linear layer.

    Args:
        vocab_size (int): number of token ids. num_classes (int): output classes.
        embed_dim (int): embedding size. Default 100.
        hidden_size (int): LSTM units per direction. Default 64.
        num_layers (int): stacked BiLSTM layers. Default 1.
        dropout (float): dropout on embeddings and LSTM outputs. Default 0.3.
        padding_idx (int): id of ``<pad>``. Default 0.

    Shape:
        ids ``(N, T)``, lengths ``(N,)`` (optional; default: count of non-pad ids) ->
        logits ``(N, num_classes)``.
    """

    def __init__(self, vocab_size: int, num_classes: int, embed_dim: int = 100,
                 hidden_size: int = 64, num_layers: int = 1, dropout: float = 0.3,
                 padding_idx: int = 0):
        super().__init__(vocab_size, embed_dim, hidden_size, num_layers, dropout, padding_idx)
        self.fc = Linear(4 * hidden_size, num_classes)

    def forward(self, ids, lengths=None):
        out, lengths = self.encode("BiLSTMClassifier", ids, lengths)
        valid = np.arange(out.shape[1])[None, :] < lengths[:, None]
        maxed = F.amax(F.masked_fill(out, Tensor(~valid[..., None]), -1e4), dim=1)
        w = (valid / lengths[:, None]).astype(out.dtype)[..., None]   # mean over real steps
        mean = F.sum(out * Tensor(w), dim=1)
        return self.fc(F.cat([maxed, mean], dim=-1))


class BiLSTMTagger(_BiLSTMEncoder):
    """Bidirectional LSTM sequence tagger: one tag distribution per token (NER, POS...).

    Train with ``F.cross_entropy(logits.reshape(-1, num_tags), tags.reshape(-1),
    ignore_index=-100)`` with padded tag slots set to -100 (see :meth:`loss`).

    Args:
        vocab_size (int): number of token ids. num_tags (int): number of tags.
        embed_dim (int): embedding size. Default 64.
        hidden_size (int): LSTM units per direction. Default 64.
        num_layers (int): stacked BiLSTM layers. Default 1.
        dropout (float): dropout on embeddings and LSTM outputs. Default 0.2.
        padding_idx (int): id of ``<pad>``. Default 0.

    Shape:
        ids ``(N, T)``, lengths ``(N,)`` (optional) -> logits ``(N, T, num_tags)``
        (rows past a sequence's length are meaningless and must be ignored).

    Example:
        >>> tagger = BiLSTMTagger(len(vocab), len(tag_names))
        >>> loss = tagger.loss(ids, tags, lengths); loss.backward()
        >>> pred = tagger.predict(ids, lengths)      # int array (N, T), -1 at padding
    """

    def __init__(self, vocab_size: int, num_tags: int, embed_dim: int = 64,
                 hidden_size: int = 64, num_layers: int = 1, dropout: float = 0.2,
                 padding_idx: int = 0):
        super().__init__(vocab_size, embed_dim, hidden_size, num_layers, dropout, padding_idx)
        self.num_tags = num_tags
        self.fc = Linear(2 * hidden_size, num_tags)

    def forward(self, ids, lengths=None):
        out, _ = self.encode("BiLSTMTagger", ids, lengths)
        return self.fc(out)

    def loss(self, ids, tags, lengths=None, ignore_index: int = -100):
        """Mean token cross-entropy over the real (unpadded) tokens.

        Args:
            ids: ``(N, T)`` token ids. tags: ``(N, T)`` int tag ids.
            lengths (optional): ``(N,)``; default: count of non-pad ids.
            ignore_index (int): tag value never scored. Default -100.

        Returns:
            scalar Tensor.
        """
        tags = np.array(_host(tags), dtype=np.int64)
        tags[~padding_mask(ids, lengths, self.padding_idx)] = ignore_index
        logits = self(ids, lengths)
        return F.cross_entropy(F.reshape(logits, (-1, self.num_tags)), Tensor(tags.reshape(-1)),
                               ignore_index=ignore_index)

    def predict(self, ids, lengths=None):
        """Most likely tag of each token (eval mode, no gradients): int64 ``(N, T)``, -1 at
        padding."""
        was = self.training
        self.eval()
        with no_grad():
            logits = _host(self(ids, lengths))
        self.train(was)
        pred = logits.argmax(-1).astype(np.int64)
        pred[~padding_mask(ids, lengths, self.padding_idx)] = -1
        return pred

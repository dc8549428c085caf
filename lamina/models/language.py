"""Language models and a small Transformer classifier (seed Q37 and text generation).

* :class:`CharRNN` / :class:`CharLSTM`: embedding -> LSTM (GRU, RNN) -> linear over the
  vocabulary (Karpathy's char-rnn); the state carries across calls for truncated BPTT.
* :class:`TinyTransformerLM`: decoder-only (GPT-style) causal Transformer.
* :class:`TinyTransformerClassifier`: Transformer encoder, mean pooling over real tokens.

Both LMs share ``forward(ids, state=None) -> (logits, state)``, :meth:`LanguageModel.generate`
(temperature and top-k sampling, every draw from ``lamina.backend.rng()``) and
:func:`bits_per_token` for held-out evaluation.
"""

from __future__ import annotations

import math

from .. import backend as B
from .. import functional as F
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..errors import check
from ..nn import init as _init
from ..nn.attention import TransformerEncoder, TransformerEncoderLayer
from ..nn.embedding import Embedding, LearnedPositionalEncoding
from ..nn.layers import Dropout, Linear
from ..nn.module import Module
from ..nn.normalization import LayerNorm
from ..nn.recurrent import GRU, LSTM, RNN
from .text import padding_mask

__all__ = ["LanguageModel", "CharRNN", "CharLSTM", "TinyTransformerLM",
           "TinyTransformerClassifier", "sample_logits", "bits_per_token"]

np = B.np


def _ids(x):
    if isinstance(x, Tensor):
        return x
    return Tensor(np.asarray(x, dtype=np.int64).reshape(1, -1) if np.ndim(x) < 2 else
                  np.asarray(x, dtype=np.int64))


def sample_logits(logits, temperature: float = 1.0, top_k: int | None = None):
    """Draw one id per row from ``softmax(logits / temperature)``, optionally restricted to the
    ``top_k`` most likely ids (``lamina.backend.rng()`` draws, so ``manual_seed`` repeats them).

    Args:
        logits (Tensor or array): ``(N, V)``.
        temperature (float): > 0; below 1 sharpens, above 1 flattens; 0 means greedy (argmax).
            Default 1.0.
        top_k (int, optional): keep only the k largest logits. Default None (all).

    Returns:
        int64 array ``(N,)``.
    """
    z = np.array(B.to_host(logits.array if isinstance(logits, Tensor) else logits),
                 dtype=np.float64)
    check(z.ndim == 2, "sample_logits", "logits of shape (N, V)", f"{z.shape}")
    check(temperature >= 0, "sample_logits", "temperature >= 0", f"{temperature}",
          cls=ValueError)
    if temperature == 0:
        return z.argmax(-1).astype(np.int64)
    z = z / temperature
    if top_k is not None and top_k < z.shape[-1]:
        check(top_k >= 1, "sample_logits", "top_k >= 1", f"{top_k}", cls=ValueError)
        kth = np.partition(z, -top_k, axis=-1)[:, -top_k][:, None]
        z = np.where(z < kth, -np.inf, z)
    p = np.exp(z - z.max(-1, keepdims=True))
    cdf = np.cumsum(p / p.sum(-1, keepdims=True), axis=-1)
    u = B.rng().random((z.shape[0], 1))
    return np.minimum((cdf < u).sum(-1), z.shape[-1] - 1).astype(np.int64)


class LanguageModel(Module):
    """Base of the LMs: ``forward(ids, state=None) -> (logits (N, T, V), state)``."""

    def generate(self, prompt_ids, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, eos_id: int | None = None):
        """Continue ``prompt_ids`` by sampling one token at a time (eval mode, no gradients).

        Args:
            prompt_ids (sequence of int or array ``(N, T)``): at least one id per row (e.g.
                ``vocab.encode("The ")`` or ``[vocab.bos_id]``).
            max_new_tokens (int): tokens to add.
            temperature (float): see :func:`sample_logits`; 0 = greedy. Default 1.0.
            top_k (int, optional): see :func:`sample_logits`. Default None.
            eos_id (int, optional): stop a (single-row) generation at this id. Default None.

        Returns:
            int64 array ``(N, T + new)``: the prompt followed by the generated ids.
        """
        ids = _ids(prompt_ids).array
        check(ids.shape[1] >= 1, "generate", "a prompt of at least one id", f"{ids.shape}")
        was = self.training
        self.eval()
        out = [ids]
        with no_grad():
            logits, state = self(ids)
            for _ in range(max_new_tokens):
                nxt = sample_logits(logits[:, -1], temperature, top_k)[:, None]
                out.append(nxt)
                if eos_id is not None and ids.shape[0] == 1 and int(nxt[0, 0]) == eos_id:
                    break
                logits, state = self(nxt, state)
        self.train(was)
        return np.concatenate(out, axis=1)


class CharRNN(LanguageModel):
    """Recurrent language model over token ids (characters with a char-level vocabulary).

    Args:
        vocab_size (int): number of ids ``V``.
        embed_dim (int): embedding size. Default 32.
        hidden_size (int): recurrent units. Default 256.
        num_layers (int): stacked layers. Default 1.
        cell (str): ``'lstm'`` (default), ``'gru'`` or ``'rnn'``.
        dropout (float): dropout on the recurrent outputs (and between layers). Default 0.

    Shape:
        ids ``(N, T)`` -> logits ``(N, T, V)``; state: the recurrent layer's final state
        (``(h, c)`` for LSTM), detached before it is returned so that it can seed the next
        chunk (truncated backpropagation through time).

    Example:
        >>> lm = CharLSTM(len(vocab))
        >>> logits, state = lm(ids[:, :100]); logits, state = lm(ids[:, 100:200], state)
        >>> vocab.decode(lm.generate(vocab.encode("The "), 200, temperature=0.8)[0])
    """

    _CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}

    def __init__(self, vocab_size: int, embed_dim: int = 32, hidden_size: int = 256,
                 num_layers: int = 1, cell: str = "lstm", dropout: float = 0.0):
        super().__init__()
        check(cell in self._CELLS, "CharRNN", f"cell in {sorted(self._CELLS)}", repr(cell),
              cls=ValueError)
        self.vocab_size, self.cell = vocab_size, cell
        self.embedding = Embedding(vocab_size, embed_dim)
        self.rnn = self._CELLS[cell](embed_dim, hidden_size, num_layers=num_layers,
                                     batch_first=True, dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = Dropout(dropout)
        self.head = Linear(hidden_size, vocab_size)

    def forward(self, ids, state=None):
        ids = _ids(ids)
        check(ids.ndim == 2, "CharRNN", "ids of shape (N, T)", f"{tuple(ids.shape)}")
        out, state = self.rnn(self.embedding(ids), state)
        state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        return self.head(self.dropout(out)), state


class CharLSTM(CharRNN):
    """:class:`CharRNN` with an LSTM (arguments as :class:`CharRNN`, without ``cell``)."""

    def __init__(self, vocab_size: int, embed_dim: int = 32, hidden_size: int = 256,
                 num_layers: int = 1, dropout: float = 0.0):
        super().__init__(vocab_size, embed_dim, hidden_size, num_layers, "lstm", dropout)


def _encoder(d_model, nhead, num_layers, dim_feedforward, dropout):
    layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, activation="gelu",
                                    batch_first=True, norm_first=True)
    return TransformerEncoder(layer, num_layers, norm=LayerNorm(d_model))


class _TinyTransformer(Module):
    def __init__(self, vocab_size, d_model, nhead, num_layers, dim_feedforward, max_len,
                 dropout, padding_idx):
        super().__init__()
        self.vocab_size, self.d_model, self.max_len = vocab_size, d_model, max_len
        self.padding_idx = padding_idx
        self.embedding = Embedding(vocab_size, d_model, padding_idx=padding_idx)
        _init.normal_(self.embedding.weight, 0.0, 0.02)            # GPT-2's init
        if padding_idx is not None:
            self.embedding.weight.array[padding_idx] = 0
        self.pos = LearnedPositionalEncoding(max_len, d_model, dropout, batch_first=True)
        self.encoder = _encoder(d_model, nhead, num_layers, dim_feedforward, dropout)

    def _embed(self, ids, op):
        check(ids.ndim == 2 and ids.shape[1] <= self.max_len, op,
              f"ids of shape (N, T) with T <= max_len = {self.max_len}", f"{tuple(ids.shape)}")
        return self.pos(self.embedding(ids))


class TinyTransformerLM(_TinyTransformer, LanguageModel):
    """Decoder-only (GPT-style) Transformer language model: token + learned position
    embeddings, pre-norm causal self-attention blocks, a final LayerNorm, a linear head.

    Args:
        vocab_size (int): number of ids ``V``.
        d_model (int): model size. Default 64.
        nhead (int): attention heads. Default 4.
        num_layers (int): blocks. Default 2.
        dim_feedforward (int): feed-forward size. Default 256.
        max_len (int): longest context. Default 128.
        dropout (float): Default 0.1.

    Shape:
        ids ``(N, T)`` -> logits ``(N, T, V)``; the state is the context (ids of the last
        ``max_len - 1`` positions), so :meth:`generate` can feed one new id at a time.
    """

    def __init__(self, vocab_size: int, d_model: int = 64, nhead: int = 4, num_layers: int = 2,
                 dim_feedforward: int = 256, max_len: int = 128, dropout: float = 0.1):
        super().__init__(vocab_size, d_model, nhead, num_layers, dim_feedforward, max_len,
                         dropout, None)
        self.head = Linear(d_model, vocab_size)

    def forward(self, ids, state=None):
        new = _ids(ids).array
        check(new.shape[1] <= self.max_len, "TinyTransformerLM",
              f"at most max_len = {self.max_len} new ids per call", f"{new.shape}")
        ctx = new if state is None else np.concatenate([state, new], axis=1)[:, -self.max_len:]
        h = self.encoder(self._embed(Tensor(ctx), "TinyTransformerLM"), is_causal=True)
        logits = self.head(h[:, ctx.shape[1] - min(new.shape[1], ctx.shape[1]):])
        return logits, ctx[:, -(self.max_len - 1):]


class TinyTransformerClassifier(_TinyTransformer):
    """Transformer-encoder text classifier: embeddings + learned positions, pre-norm
    self-attention blocks (padding masked), mean pooling over the real tokens, a linear layer.

    Args:
        vocab_size (int): number of ids. num_classes (int): output classes.
        d_model (int): model size. Default 64.
        nhead (int): attention heads. Default 4.
        num_layers (int): blocks. Default 2.
        dim_feedforward (int): feed-forward size. Default 128.
        max_len (int): longest input (longer inputs must be cut first). Default 256.
        dropout (float): Default 0.1.
        padding_idx (int): id of ``<pad>``. Default 0.

    Shape:
        ids ``(N, T)``, lengths ``(N,)`` (optional) -> logits ``(N, num_classes)``.
    """

    def __init__(self, vocab_size: int, num_classes: int, d_model: int = 64, nhead: int = 4,
                 num_layers: int = 2, dim_feedforward: int = 128, max_len: int = 256,
                 dropout: float = 0.1, padding_idx: int = 0):
        super().__init__(vocab_size, d_model, nhead, num_layers, dim_feedforward, max_len,
                         dropout, padding_idx)
        self.dropout = Dropout(dropout)
        self.fc = Linear(d_model, num_classes)

    def forward(self, ids, lengths=None):
        ids = _ids(ids)
        valid = padding_mask(ids, lengths, self.padding_idx)
        valid[:, 0] = True                                      # never an empty row
        h = self.encoder(self._embed(ids, "TinyTransformerClassifier"),
                         src_key_padding_mask=~valid)
        w = (valid / valid.sum(1, keepdims=True)).astype(h.dtype)[..., None]
        return self.fc(self.dropout(F.sum(h * Tensor(w), dim=1)))


def bits_per_token(model, ids, seq_len: int = 128, batch_size: int = 16) -> float:
    """Held-out cross-entropy of a language model in bits per token (bits per character for a
    char vocabulary): ``mean(-log2 p(x_t | x_<t))`` over ``ids[1:]``.

    The sequence is cut into ``batch_size`` contiguous streams read ``seq_len`` tokens at a time;
    the state carries from chunk to chunk (a recurrent model sees all the past of its stream, a
    Transformer its last ``max_len`` tokens).

    Args:
        model (LanguageModel): the model. ids (sequence of int): the held-out token ids.
        seq_len (int): tokens per chunk. Default 128.
        batch_size (int): parallel streams. Default 16.

    Returns:
        float.
    """
    a = np.asarray(ids, dtype=np.int64).reshape(-1)
    n = (len(a) - 1) // batch_size
    check(n >= 1, "bits_per_token", f"at least batch_size + 1 = {batch_size + 1} ids",
          f"{len(a)}")
    x = a[:n * batch_size].reshape(batch_size, n)
    y = a[1:n * batch_size + 1].reshape(batch_size, n)
    was = model.training
    model.eval()
    total, state = 0.0, None
    with no_grad():
        for s in range(0, n, seq_len):
            logits, state = model(x[:, s:s + seq_len], state)
            V = logits.shape[-1]
            loss = F.cross_entropy(F.reshape(logits, (-1, V)),
                                   Tensor(y[:, s:s + seq_len].reshape(-1)), reduction="sum")
            total += float(loss.item())
    model.train(was)
    return total / (n * batch_size) / math.log(2.0)

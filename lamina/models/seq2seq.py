"""Encoder-decoder with Bahdanau (additive) attention (Bahdanau, Cho & Bengio, 2015).

The encoder is a bidirectional GRU over the source ids; the decoder is a GRU cell that, at each
step ``t``, attends from its previous state ``s_{t-1}`` over the encoder outputs
(:class:`lamina.nn.AdditiveAttention`, padding masked), reads the context ``c_t`` together with
the embedding of the previous target token, and predicts the next token from
``[s_t; c_t; e_{t-1}]``. Training uses teacher forcing (:meth:`Seq2Seq.forward`); decoding is
greedy (:meth:`Seq2Seq.greedy_decode`) or beam search (:meth:`Seq2Seq.beam_search`); both return
the attention weights, ready for a heat map.
"""

from __future__ import annotations

from .. import backend as B
from .. import functional as F
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..errors import check
from ..nn.attention import AdditiveAttention
from ..nn.embedding import Embedding
from ..nn.layers import Dropout, Linear
from ..nn.module import Module
from ..nn.recurrent import GRU, GRUCell
from .text import padding_mask

__all__ = ["Seq2Seq"]

np = B.np


def _arr(x):
    a = x.array if isinstance(x, Tensor) else x
    return np.asarray(B.to_host(a), dtype=np.int64)


class Seq2Seq(Module):
    """Attention-based encoder-decoder for sequence transduction (translation, reversal...).

    Args:
        src_vocab_size (int): source ids. tgt_vocab_size (int): target ids.
        embed_dim (int): embedding size (both sides). Default 32.
        hidden_size (int): encoder GRU units per direction and decoder units. Default 64.
        attn_dim (int, optional): size of the attention scoring layer. Default ``hidden_size``.
        dropout (float): dropout on embeddings and the output layer's input. Default 0.
        pad_id, bos_id, eos_id (int): special target ids (those of
            :class:`lamina.data.Vocabulary`). Defaults 0, 2, 3; sources are padded with
            ``pad_id`` too.

    Shape:
        src ``(N, S)`` ids, src_lengths ``(N,)`` (optional: count of non-pad ids),
        tgt_in ``(N, T)`` (``<bos> y_1 .. y_{T-1}``) -> logits ``(N, T, tgt_vocab_size)`` and
        attention ``(N, T, S)``.

    Example:
        >>> model = Seq2Seq(len(src_vocab), len(tgt_vocab))
        >>> logits, _ = model(src, src_len, tgt[:, :-1])
        >>> loss = F.cross_entropy(logits.reshape(-1, V), tgt[:, 1:].reshape(-1), ignore_index=0)
        >>> ids, attn = model.greedy_decode(src, src_len, max_len=12)
    """

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, embed_dim: int = 32,
                 hidden_size: int = 64, attn_dim: int | None = None, dropout: float = 0.0,
                 pad_id: int = 0, bos_id: int = 2, eos_id: int = 3):
        super().__init__()
        self.tgt_vocab_size, self.hidden_size = tgt_vocab_size, hidden_size
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        H = hidden_size
        self.src_embedding = Embedding(src_vocab_size, embed_dim, padding_idx=pad_id)
        self.tgt_embedding = Embedding(tgt_vocab_size, embed_dim, padding_idx=pad_id)
        self.encoder = GRU(embed_dim, H, batch_first=True, bidirectional=True)
        self.bridge = Linear(2 * H, H)                 # s_0 = tanh(W [h_fwd; h_bwd])
        self.attention = AdditiveAttention(H, 2 * H, attn_dim or H)
        self.decoder = GRUCell(embed_dim + 2 * H, H)
        self.dropout = Dropout(dropout)
        self.out = Linear(H + 2 * H + embed_dim, tgt_vocab_size)

    # ------------------------------------------------------------------ building blocks
    def encode(self, src, src_lengths=None):
        """Run the encoder.

        Returns:
            tuple: ``(enc_out (N, S, 2H), mask (N, S) host bool, s_0 (N, H))``.
        """
        src = Tensor(_arr(src))
        check(src.ndim == 2, "Seq2Seq", "src ids of shape (N, S)", f"{tuple(src.shape)}")
        mask = padding_mask(src, src_lengths, self.pad_id)
        lengths = np.maximum(mask.sum(1), 1)
        mask[:, 0] = True
        enc_out, h_n = self.encoder(self.dropout(self.src_embedding(src)), lengths=lengths)
        s0 = F.tanh(self.bridge(F.cat([h_n[0], h_n[1]], dim=-1)))
        return enc_out, mask, s0

    def step(self, prev_ids, state, enc_out, mask):
        """One decoder step: attend with ``state``, update it, score the next token.

        Args:
            prev_ids: ``(N,)`` previous target ids. state: ``(N, H)`` decoder state.
            enc_out: ``(N, S, 2H)``. mask: ``(N, S)`` bool, True = a real source position.

        Returns:
            tuple: ``(logits (N, V), new_state (N, H), weights (N, S))``.
        """
        e = self.dropout(self.tgt_embedding(Tensor(_arr(prev_ids))))          # (N, E)
        context, weights = self.attention(state, enc_out, mask=mask)           # (N, 2H), (N, S)
        state = self.decoder(F.cat([e, context], dim=-1), state)
        logits = self.out(self.dropout(F.cat([state, context, e], dim=-1)))
        return logits, state, weights

    # ------------------------------------------------------------------ training
    def forward(self, src, src_lengths, tgt_in):
        """Teacher-forced decoding of ``tgt_in``; returns ``(logits (N, T, V), attn (N, T, S))``."""
        tgt_in = _arr(tgt_in)
        enc_out, mask, state = self.encode(src, src_lengths)
        logits, attn = [], []
        for t in range(tgt_in.shape[1]):
            lg, state, w = self.step(tgt_in[:, t], state, enc_out, mask)
            logits.append(lg)
            attn.append(w)
        return F.stack(logits, dim=1), F.stack(attn, dim=1)

    def loss(self, src, src_lengths, tgt):
        """Mean cross-entropy of ``tgt[:, 1:]`` given ``tgt[:, :-1]`` (``tgt`` starts with
        ``<bos>``, ends with ``<eos>``, padded with ``pad_id``, which is not scored)."""
        tgt = _arr(tgt)
        logits, _ = self(src, src_lengths, tgt[:, :-1])
        return F.cross_entropy(F.reshape(logits, (-1, self.tgt_vocab_size)),
                               Tensor(tgt[:, 1:].reshape(-1)), ignore_index=self.pad_id)

    # ------------------------------------------------------------------ decoding
    def _eval(self):
        was = self.training
        self.eval()
        return was

    def greedy_decode(self, src, src_lengths=None, max_len: int = 50):
        """Pick the most likely token at each step until every row has produced ``<eos>``.

        Args:
            src: ``(N, S)`` ids. src_lengths (optional): ``(N,)``.
            max_len (int): most tokens generated per row (``<eos>`` included). Default 50.

        Returns:
            tuple: ``(ids, attn)``: int64 ``(N, T)`` (without ``<bos>``, ``<eos>`` kept, then
            ``pad_id``) and float ``(N, T, S)`` attention weights (zeros after ``<eos>``).
        """
        was = self._eval()
        with no_grad():
            enc_out, mask, state = self.encode(src, src_lengths)
            N = enc_out.shape[0]
            prev = np.full(N, self.bos_id, np.int64)
            done = np.zeros(N, bool)
            ids, attn = [], []
            for _ in range(max_len):
                logits, state, w = self.step(prev, state, enc_out, mask)
                prev = np.where(done, self.pad_id, B.to_host(logits.array).argmax(-1))
                ids.append(prev)
                attn.append(np.where(done[:, None], 0.0, B.to_host(w.array)))
                done |= prev == self.eos_id
                if done.all():
                    break
        self.train(was)
        return np.stack(ids, 1).astype(np.int64), np.stack(attn, 1).astype(enc_out.dtype)

    def beam_search(self, src, src_lengths=None, beam_size: int = 4, max_len: int = 50,
                    length_penalty: float = 1.0):
        """Beam search, one source at a time; the best finished hypothesis per row.

        Hypotheses are ranked by ``sum log p / len ** length_penalty`` (0: raw log-probability,
        which favours short outputs; 1: mean per-token log-probability).

        Args:
            src: ``(N, S)`` ids. src_lengths (optional): ``(N,)``.
            beam_size (int): hypotheses kept per step. Default 4.
            max_len (int): most tokens per hypothesis (``<eos>`` included). Default 50.
            length_penalty (float): Default 1.0.

        Returns:
            tuple: ``(ids, attn)`` as :meth:`greedy_decode`.
        """
        check(beam_size >= 1, "Seq2Seq.beam_search", "beam_size >= 1", f"{beam_size}",
              cls=ValueError)
        src = _arr(src)
        lens = padding_mask(src, src_lengths, self.pad_id).sum(1)
        outs = [self._beam_one(src[i:i + 1], lens[i:i + 1], beam_size, max_len, length_penalty)
                for i in range(src.shape[0])]
        T = max(len(o[0]) for o in outs)
        ids = np.full((len(outs), T), self.pad_id, np.int64)
        attn = np.zeros((len(outs), T, src.shape[1]), outs[0][1].dtype)
        for i, (seq, w) in enumerate(outs):
            ids[i, :len(seq)] = seq
            attn[i, :len(seq)] = w
        return ids, attn

    def _beam_one(self, src, lens, k, max_len, alpha):
        was = self._eval()
        with no_grad():
            enc_out, mask, state = self.encode(src, lens)
            seqs = np.full((1, 0), self.pad_id, np.int64)
            attn = np.zeros((1, 0, src.shape[1]), enc_out.dtype)
            scores = np.zeros(1)
            finished = []                                   # (rank score, ids, attn)
            for t in range(max_len):
                n = seqs.shape[0]
                prev = np.full(n, self.bos_id) if t == 0 else seqs[:, -1]
                logits, st, w = self.step(prev, state, enc_out[np.zeros(n, np.int64)],
                                          np.repeat(mask, n, 0))
                logp = B.to_host(F.log_softmax(logits, dim=-1).array).astype(np.float64)
                cand = (scores[:, None] + logp).reshape(-1)
                top = np.argsort(-cand, kind="stable")[:2 * k]
                beam, tok = top // logp.shape[1], top % logp.shape[1]
                seqs = np.concatenate([seqs[beam], tok[:, None]], 1)
                attn = np.concatenate([attn[beam], B.to_host(w.array)[beam][:, None]], 1)
                scores, state = cand[top], st[beam]
                # an <eos> among the k best finishes a hypothesis; the k best others live on
                ended = (tok == self.eos_id) | (t == max_len - 1)
                for j in np.flatnonzero(ended[:k]):
                    finished.append((scores[j] / (t + 1) ** alpha, seqs[j], attn[j]))
                keep = np.flatnonzero(~ended)[:k]
                if len(keep) == 0:
                    break
                seqs, attn, scores, state = seqs[keep], attn[keep], scores[keep], state[keep]
                # log-probabilities only fall: stop once no live beam can overtake (HF's rule)
                if len(finished) >= k and max(f[0] for f in finished) >= \
                        scores.max() / (t + 1) ** alpha:
                    break
        self.train(was)
        best = max(finished, key=lambda f: f[0])
        return best[1], best[2]

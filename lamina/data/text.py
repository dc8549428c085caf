"""Text to integer ids and back: a regex tokenizer, a :class:`Vocabulary` (word or character
level) and :func:`pad_sequences` (seed Q37, Q38).

Example:
    >>> vocab = Vocabulary.build(["the cat sat", "the dog"], min_freq=1)
    >>> ids, lengths = vocab.encode_batch(["the cat", "a dog sat"])
    >>> ids                       # 0 = <pad>, 1 = <unk> (the unknown "a")
    array([[4, 5, 0],
           [1, 6, 7]])
    >>> vocab.decode(ids[1])
    '<unk> dog sat'
"""

from __future__ import annotations

import re
from collections import Counter

from .. import backend as B
from ..autograd.tensor import Tensor
from ..errors import check

__all__ = ["tokenize", "Vocabulary", "pad_sequences", "PAD", "UNK", "BOS", "EOS", "SPECIALS"]

np = B.np

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)

# a word (letters/digits/underscore, with inner apostrophes: "don't") or one punctuation mark
_WORD_RE = re.compile(r"\w+(?:['\u2019]\w+)*|[^\w\s]")
_LEVELS = ("word", "char")


def tokenize(text: str, level: str = "word", lower: bool = True) -> list:
    """Split ``text`` into tokens.

    Word level keeps runs of letters/digits (with inner apostrophes, ``"don't"``) and makes every
    other non-space character its own token; HTML line breaks (``<br />``) are dropped. Character
    level keeps every character, spaces and newlines included.

    Args:
        text (str): the text.
        level (str): ``'word'`` (default) or ``'char'``.
        lower (bool): lower-case first. Default True.

    Returns:
        list of str.

    Example:
        >>> tokenize("Don't panic, Arthur!")
        ["don't", 'panic', ',', 'arthur', '!']
    """
    check(level in _LEVELS, "tokenize", f"level in {_LEVELS}", repr(level), cls=ValueError)
    check(isinstance(text, str), "tokenize", "a str", type(text).__name__, cls=TypeError)
    if lower:
        text = text.lower()
    if level == "char":
        return list(text)
    return _WORD_RE.findall(text.replace("<br />", " ").replace("<br/>", " "))


def pad_sequences(sequences, max_len: int | None = None, pad_value: int = 0,
                  padding: str = "post", truncating: str = "post", dtype="int64"):
    """Stack sequences of ids of different lengths into one padded array.

    Args:
        sequences (iterable of sequences of int): the id sequences.
        max_len (int, optional): length ``T`` of the output; longer sequences are cut.
            Default: the longest sequence (at least 1).
        pad_value (int): id written in the padded slots. Default 0 (``<pad>``).
        padding (str): ``'post'`` (pad at the end, default) or ``'pre'``.
        truncating (str): ``'post'`` (drop the end, default) or ``'pre'`` (keep the end).
        dtype: array dtype. Default int64.

    Returns:
        tuple: ``(ids, lengths)``; ``ids`` ``(N, T)``, ``lengths`` ``(N,)`` int64, the number of
        real (unpadded) ids of each row after truncation.

    Example:
        >>> pad_sequences([[5, 6, 7], [8]])
        (array([[5, 6, 7],
               [8, 0, 0]]), array([3, 1]))
    """
    for name, v in (("padding", padding), ("truncating", truncating)):
        check(v in ("pre", "post"), "pad_sequences", f"{name} in ('pre', 'post')", repr(v),
              cls=ValueError)
    seqs = [list(s) for s in sequences]
    longest = max((len(s) for s in seqs), default=0)
    T = max(1, longest) if max_len is None else int(max_len)
    check(T >= 1, "pad_sequences", "max_len >= 1", f"max_len={max_len}", cls=ValueError)
    ids = np.full((len(seqs), T), pad_value, dtype=dtype)
    lengths = np.zeros(len(seqs), dtype=np.int64)
    for i, s in enumerate(seqs):
        s = s[:T] if truncating == "post" else s[max(0, len(s) - T):]
        n = len(s)
        lengths[i] = n
        if n:
            if padding == "post":
                ids[i, :n] = s
            else:
                ids[i, T - n:] = s
    return ids, lengths


class Vocabulary:
    """A token <-> id mapping, built from texts, with ``<pad>``, ``<unk>``, ``<bos>``, ``<eos>``.

    The special tokens take ids 0..3 (``pad_id = 0``, so zero-padding is ``<pad>``); the other
    tokens follow by decreasing frequency (ties in alphabetical order, so a vocabulary is the same
    whatever the order of the texts with equal counts). Unknown tokens encode to ``unk_id``.

    Args:
        tokens (iterable of str): the non-special tokens, most frequent first.
        level (str): ``'word'`` (tokens joined by spaces in :meth:`decode`) or ``'char'``
            (joined by nothing). Default ``'word'``.
        lower (bool): lower-case texts before tokenizing. Default True.
        specials (sequence of str): the special tokens. Default
            ``('<pad>', '<unk>', '<bos>', '<eos>')``; it must contain ``'<pad>'`` and
            ``'<unk>'``.

    Attributes:
        itos (list of str): id -> token. stoi (dict): token -> id. counts (Counter or None):
        token frequencies seen by :meth:`build`. pad_id, unk_id, bos_id, eos_id (int or None).

    Example:
        >>> v = Vocabulary.build(texts, level="char", min_freq=2)
        >>> v.decode(v.encode("hello"))
        'hello'
    """

    def __init__(self, tokens=(), level: str = "word", lower: bool = True, specials=SPECIALS):
        check(level in _LEVELS, "Vocabulary", f"level in {_LEVELS}", repr(level),
              cls=ValueError)
        check(PAD in specials and UNK in specials, "Vocabulary",
              f"specials containing {PAD!r} and {UNK!r}", repr(tuple(specials)), cls=ValueError)
        self.level, self.lower = level, bool(lower)
        self.specials = tuple(specials)
        self.itos = list(self.specials)
        for t in tokens:
            if t not in self.specials:
                self.itos.append(t)
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        check(len(self.stoi) == len(self.itos), "Vocabulary", "distinct tokens",
              f"{len(self.itos) - len(self.stoi)} duplicates", cls=ValueError)
        self.counts = None
        self.pad_id, self.unk_id = self.stoi[PAD], self.stoi[UNK]
        self.bos_id, self.eos_id = self.stoi.get(BOS), self.stoi.get(EOS)

    @classmethod
    def build(cls, texts, level: str = "word", min_freq: int = 1, max_size: int | None = None,
              lower: bool = True, specials=SPECIALS) -> Vocabulary:
        """Count the tokens of ``texts`` and keep the frequent ones.

        Args:
            texts (iterable of str): the corpus (training texts only, so that test words stay
                unknown as they would be in use).
            level (str): ``'word'`` or ``'char'``. Default ``'word'``.
            min_freq (int): keep tokens seen at least this often. Default 1.
            max_size (int, optional): keep at most this many tokens, specials included.
                Default None (no limit).
            lower (bool): lower-case first. Default True.
            specials (sequence of str): see the class. Default the four specials.

        Returns:
            Vocabulary.
        """
        check(min_freq >= 1, "Vocabulary.build", "min_freq >= 1", f"min_freq={min_freq}",
              cls=ValueError)
        check(max_size is None or max_size >= len(specials), "Vocabulary.build",
              f"max_size >= {len(specials)} (the specials)", f"max_size={max_size}",
              cls=ValueError)
        counts = Counter()
        for text in texts:
            counts.update(tokenize(text, level, lower))
        kept = sorted((t for t, c in counts.items() if c >= min_freq and t not in specials),
                      key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[:max_size - len(specials)]
        vocab = cls(kept, level=level, lower=lower, specials=specials)
        vocab.counts = counts
        return vocab

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        return self.stoi.get(token, self.unk_id)

    def __repr__(self) -> str:
        return f"Vocabulary(size={len(self)}, level={self.level!r}, lower={self.lower})"

    def tokenize(self, text: str) -> list:
        """Tokens of ``text`` at this vocabulary's level and casing."""
        return tokenize(text, self.level, self.lower)

    def encode(self, text, add_bos: bool = False, add_eos: bool = False) -> list:
        """Ids of a text (or of an already tokenized list of tokens).

        Args:
            text (str or list of str): the text, or its tokens.
            add_bos, add_eos (bool): put ``<bos>`` first / ``<eos>`` last. Default False.

        Returns:
            list of int.
        """
        tokens = self.tokenize(text) if isinstance(text, str) else text
        ids = [self.stoi.get(t, self.unk_id) for t in tokens]
        for flag, name, tid in ((add_bos, BOS, self.bos_id), (add_eos, EOS, self.eos_id)):
            check(not flag or tid is not None, "Vocabulary.encode",
                  f"{name} among the specials", repr(self.specials), cls=ValueError)
        return ([self.bos_id] if add_bos else []) + ids + ([self.eos_id] if add_eos else [])

    def decode(self, ids, skip_special: bool = True, stop_at_eos: bool = True) -> str:
        """Text of a sequence of ids (inverse of :meth:`encode` up to casing and spacing).

        Args:
            ids (sequence of int, array or Tensor): the ids; ``<pad>`` is always skipped.
            skip_special (bool): drop ``<bos>``/``<eos>`` (``<unk>`` is kept). Default True.
            stop_at_eos (bool): ignore everything after the first ``<eos>``. Default True.

        Returns:
            str: word tokens joined by spaces, characters joined by nothing.
        """
        ids = ids.array if isinstance(ids, Tensor) else ids
        out = []
        for i in np.asarray(B.to_host(ids)).reshape(-1).tolist():
            if stop_at_eos and i == self.eos_id:
                break
            if i == self.pad_id or (skip_special and i in (self.bos_id, self.eos_id)):
                continue
            out.append(self.itos[i] if 0 <= i < len(self.itos) else UNK)
        return ("" if self.level == "char" else " ").join(out)

    def encode_batch(self, texts, max_len: int | None = None, add_bos: bool = False,
                     add_eos: bool = False, truncating: str = "post"):
        """Encode texts and pad them with ``<pad>`` into one array.

        Args:
            texts (iterable of str): the texts.
            max_len (int, optional): cut/pad to this length. Default: the longest.
            add_bos, add_eos (bool): as :meth:`encode`. Default False.
            truncating (str): ``'post'`` (keep the start, default) or ``'pre'`` (keep the end).

        Returns:
            tuple: ``(ids, lengths)`` as :func:`pad_sequences`: int64 ``(N, T)`` and ``(N,)``.
        """
        seqs = [self.encode(t, add_bos, add_eos) for t in texts]
        return pad_sequences(seqs, max_len, pad_value=self.pad_id, truncating=truncating)

    def to_dict(self) -> dict:
        """A JSON-serializable description (``Vocabulary.from_dict`` rebuilds it)."""
        return {"itos": list(self.itos), "level": self.level, "lower": self.lower,
                "specials": list(self.specials)}

    @classmethod
    def from_dict(cls, d: dict) -> Vocabulary:
        """Rebuild a vocabulary from :meth:`to_dict`'s output."""
        specials = tuple(d["specials"])
        return cls(d["itos"][len(specials):], level=d["level"], lower=d["lower"],
                   specials=specials)

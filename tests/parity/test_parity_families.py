"""Randomized PyTorch parity for the op families beyond elementwise math: shape, indexing,
activation, loss, pooling, linear/conv, normalization, attention and Tensor methods.

Every case draws several random shapes and argument combinations (NumPy seeds, fixed so CI
sees the same draws), runs lamina and torch 2.13 on the same float64 values and compares the
forward value, shape, dtype and the gradient of every floating input (backward of a random
cotangent). Float32 is compared on the forward too. All mismatches of a case are reported
together.
"""

import numpy as np
import pytest

import lamina as L
import lamina.functional as F

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")
TF = torch.nn.functional
DRAWS = 6


def _compare(name, fl, ft, arrays, rs, out, float32=True):
    """Run both and append mismatches (forward, dtype, shape, grads) to ``out``."""
    for dt in ("float64", "float32") if float32 else ("float64",):
        lx = [L.tensor(a.astype(dt) if a.dtype.kind == "f" else a,
                       requires_grad=a.dtype.kind == "f") for a in arrays]
        tx = [torch.tensor(a.astype(dt) if a.dtype.kind == "f" else a,
                           requires_grad=a.dtype.kind == "f") for a in arrays]
        try:
            tr = ft(*tx)
        except Exception as e:
            try:
                fl(*lx)
                out.append(f"{name}: torch raised {type(e).__name__}: {e}; lamina did not")
            except Exception:
                pass
            continue
        lr = fl(*lx)
        lv, tv = lr.numpy(), tr.detach().numpy()
        if lv.shape != tv.shape:
            out.append(f"{name} [{dt}]: shape {lv.shape} vs {tv.shape}")
            continue
        if str(lv.dtype) != str(tv.dtype):
            out.append(f"{name} [{dt}]: dtype {lv.dtype} vs {tv.dtype}")
        tol = 1e-9 if dt == "float64" else 2e-4
        if not np.allclose(lv, tv, rtol=tol, atol=tol, equal_nan=True):
            out.append(f"{name} [{dt}]: value max diff {np.nanmax(np.abs(lv - tv))}")
        if dt != "float64" or not tr.requires_grad or tr.numel() == 0:
            continue
        cot = rs.standard_normal(tv.shape)
        tr.backward(torch.tensor(cot))
        lr.backward(L.tensor(cot))
        for i, (a, b) in enumerate(zip(lx, tx)):
            if b.grad is None:
                continue
            if a.grad is None:
                out.append(f"{name}: grad{i} missing in lamina")
            elif not np.allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-7, atol=1e-9):
                out.append(f"{name}: grad{i} max diff "
                           f"{np.abs(a.grad.numpy() - b.grad.numpy()).max()}")


def _shape(rs, lo=1, hi=4, nd=None):
    nd = rs.integers(1, 4) if nd is None else nd
    return tuple(int(v) for v in rs.integers(lo, hi + 1, nd))


def _cases_shape(rs):
    s = _shape(rs, nd=3)
    x = rs.standard_normal(s)
    perm = tuple(int(v) for v in rs.permutation(3))
    d = int(rs.integers(-3, 3))
    k = int(rs.integers(-2, 3))
    yield "reshape", lambda a: a.reshape(-1, s[-1]), lambda a: a.reshape(-1, s[-1]), [x]
    yield "permute", lambda a: a.permute(*perm), lambda a: a.permute(*perm), [x]
    yield "transpose", lambda a: a.transpose(0, 2), lambda a: a.transpose(0, 2), [x]
    yield "flatten", lambda a: a.flatten(1), lambda a: a.flatten(1), [x]
    yield "unsqueeze", lambda a: a.unsqueeze(d), lambda a: a.unsqueeze(d), [x]
    yield "squeeze", lambda a: a.unsqueeze(1).squeeze(1), lambda a: a.unsqueeze(1).squeeze(1), [x]
    yield "flip", lambda a: a.flip(d), lambda a: a.flip(d), [x]
    yield "roll", lambda a: a.roll(k, d), lambda a: a.roll(k, d), [x]
    yield "repeat", lambda a: a.repeat(2, 1, 3), lambda a: a.repeat(2, 1, 3), [x]
    yield "expand", lambda a: a[:, :1].expand(-1, 4, -1), lambda a: a[:, :1].expand(-1, 4, -1), [x]
    yield "narrow", lambda a: a.narrow(-1, 0, 1), lambda a: a.narrow(-1, 0, 1), [x]
    yield ("cat", lambda a, b: L.cat([a, b], dim=d), lambda a, b: torch.cat([a, b], dim=d),
           [x, rs.standard_normal(s)])
    yield ("stack", lambda a, b: L.stack([a, b], dim=d), lambda a, b: torch.stack([a, b], dim=d),
           [x, rs.standard_normal(s)])
    yield ("chunk", lambda a: L.cat(a.chunk(2, dim=-1), dim=0),
           lambda a: torch.cat(a.chunk(2, dim=-1), dim=0), [x])
    yield ("split", lambda a: a.split(1, dim=0)[-1], lambda a: a.split(1, dim=0)[-1], [x])
    yield "tril", lambda a: a.tril(k), lambda a: a.tril(k), [x]
    yield ("einsum", lambda a, b: L.einsum("bij,bkj->bik", a, b),
           lambda a, b: torch.einsum("bij,bkj->bik", a, b), [x, rs.standard_normal(s)])


def _cases_indexing(rs):
    s = _shape(rs, 2, 4, nd=3)
    x = rs.standard_normal(s)
    i0 = int(rs.integers(-s[0], s[0]))
    idx = rs.integers(0, s[2], size=int(rs.integers(1, 4)))
    idx_l = idx.tolist()
    keys = [(i0,), (slice(None), i0 % s[1]), (i0, slice(None), idx_l), (idx_l,),
            (Ellipsis, idx_l), (slice(None, None, -1) if False else slice(1, None), None, 0),
            (x[..., 0] > 0,)]
    for j, key in enumerate(keys):
        yield f"getitem{j}", lambda a, key=key: a[key], lambda a, key=key: a[key], [x]
    index = rs.integers(0, s[1], size=(s[0], 2, s[2]))
    yield ("gather", lambda a: a.gather(1, L.tensor(index)),
           lambda a: a.gather(1, torch.tensor(index)), [x])
    yield ("index_select", lambda a: a.index_select(2, L.tensor(idx)),
           lambda a: a.index_select(2, torch.tensor(idx)), [x])
    m = rs.random(s) > 0.5
    yield ("masked_fill", lambda a: a.masked_fill(L.tensor(m), 0.5),
           lambda a: a.masked_fill(torch.tensor(m), 0.5), [x])
    yield ("where", lambda a, b: L.where(L.tensor(m), a, b),
           lambda a, b: torch.where(torch.tensor(m), a, b), [x, rs.standard_normal(s)])
    yield ("topk", lambda a: a.topk(2, dim=1).values, lambda a: a.topk(2, dim=1).values, [x])
    yield ("sort", lambda a: a.sort(dim=-1).values, lambda a: a.sort(dim=-1).values, [x])
    yield ("max_dim", lambda a: a.max(dim=0).values, lambda a: a.max(dim=0).values, [x])


def _cases_activation(rs):
    x = rs.standard_normal(_shape(rs, 1, 5, nd=2)) * 3
    d = int(rs.integers(-2, 2))
    for name, kw in [("relu", {}), ("gelu", {}), ("silu", {}), ("elu", {"alpha": 0.7}),
                     ("leaky_relu", {"negative_slope": 0.2}), ("softplus", {"beta": 2.0}),
                     ("mish", {}), ("hardtanh", {}), ("relu6", {}), ("selu", {}),
                     ("hardswish", {}), ("hardsigmoid", {})]:
        yield (name, lambda a, n=name, kw=kw: getattr(F, n)(a, **kw),
               lambda a, n=name, kw=kw: getattr(TF, n)(a, **kw), [x])
    yield ("gelu_tanh", lambda a: F.gelu(a, approximate="tanh"),
           lambda a: TF.gelu(a, approximate="tanh"), [x])
    for name in ("softmax", "log_softmax", "softmin"):
        yield (name, lambda a, n=name: getattr(F, n)(a, dim=d),
               lambda a, n=name: getattr(TF, n)(a, dim=d), [x])


def _l(arr, like):
    return L.tensor(arr, dtype=like.dtype)


def _t(arr, like):
    return torch.tensor(arr, dtype=like.dtype)


def _cases_loss(rs):
    n, c = int(rs.integers(1, 6)), int(rs.integers(2, 5))
    logits = rs.standard_normal((n, c))
    y = rs.integers(0, c, n)
    red = ["mean", "sum", "none"][int(rs.integers(0, 3))]
    ls = float(rs.choice([0.0, 0.1]))
    w = rs.random(c) + 0.5
    yield ("cross_entropy", lambda a: F.cross_entropy(a, L.tensor(y), reduction=red,
                                                      label_smoothing=ls),
           lambda a: TF.cross_entropy(a, torch.tensor(y), reduction=red, label_smoothing=ls),
           [logits])
    # side tensors (weights, targets) take the input's dtype, as a user's would
    yield ("cross_entropy_w", lambda a: F.cross_entropy(a, L.tensor(y), weight=_l(w, a)),
           lambda a: TF.cross_entropy(a, torch.tensor(y), weight=_t(w, a)), [logits])
    yield ("nll_loss", lambda a: F.nll_loss(F.log_softmax(a, dim=1), L.tensor(y), reduction=red),
           lambda a: TF.nll_loss(TF.log_softmax(a, dim=1), torch.tensor(y), reduction=red),
           [logits])
    t = rs.standard_normal((n, c))
    p = rs.random((n, c)) * 0.98 + 0.01
    for name, kw in [("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {"beta": 0.5}),
                     ("huber_loss", {"delta": 0.7})]:
        yield (name, lambda a, b, n=name, kw=kw: getattr(F, n)(a, b, reduction=red, **kw),
               lambda a, b, n=name, kw=kw: getattr(TF, n)(a, b, reduction=red, **kw),
               [logits, t])
    tb = (rs.random((n, c)) > 0.5).astype(float)
    yield ("binary_cross_entropy", lambda a: F.binary_cross_entropy(a, _l(tb, a),
                                                                    reduction=red),
           lambda a: TF.binary_cross_entropy(a, _t(tb, a), reduction=red), [p])
    pw = rs.random(c) + 0.5
    yield ("bce_with_logits", lambda a: F.binary_cross_entropy_with_logits(
        a, _l(tb, a), pos_weight=_l(pw, a), reduction=red),
        lambda a: TF.binary_cross_entropy_with_logits(
            a, _t(tb, a), pos_weight=_t(pw, a), reduction=red), [logits])
    pt = rs.random((n, c)) + 0.1
    yield ("kl_div", lambda a: F.kl_div(F.log_softmax(a, dim=1), _l(pt, a),
                                        reduction="batchmean"),
           lambda a: TF.kl_div(TF.log_softmax(a, dim=1), _t(pt, a),
                               reduction="batchmean"), [logits])


def _cases_spatial(rs):
    n, c = int(rs.integers(1, 3)), int(rs.integers(1, 4))
    h, w = int(rs.integers(5, 9)), int(rs.integers(5, 9))
    x = rs.standard_normal((n, c, h, w))
    k, s, p = int(rs.integers(2, 4)), int(rs.integers(1, 3)), int(rs.integers(0, 2))
    ceil = bool(rs.integers(0, 2))
    yield ("max_pool2d", lambda a: F.max_pool2d(a, k, s, p, ceil_mode=ceil),
           lambda a: TF.max_pool2d(a, k, s, p, ceil_mode=ceil), [x])
    yield ("avg_pool2d", lambda a: F.avg_pool2d(a, k, s, p, ceil_mode=ceil),
           lambda a: TF.avg_pool2d(a, k, s, p, ceil_mode=ceil), [x])
    o = (int(rs.integers(1, 4)), int(rs.integers(1, 4)))
    yield ("adaptive_avg_pool2d", lambda a: F.adaptive_avg_pool2d(a, o),
           lambda a: TF.adaptive_avg_pool2d(a, o), [x])
    g = int(rs.choice([1, c]))
    co = g * int(rs.integers(1, 3))
    wt = rs.standard_normal((co, c // g, k, k))
    b = rs.standard_normal(co)
    dil = int(rs.integers(1, 3))
    yield ("conv2d", lambda a, ww, bb: F.conv2d(a, ww, bb, stride=s, padding=p, dilation=dil,
                                                 groups=g),
           lambda a, ww, bb: TF.conv2d(a, ww, bb, stride=s, padding=p, dilation=dil, groups=g),
           [x, wt, b])
    w1 = rs.standard_normal((co, c // g, k))
    yield ("conv1d", lambda a, ww: F.conv1d(a, ww, stride=s, padding=p, groups=g),
           lambda a, ww: TF.conv1d(a, ww, stride=s, padding=p, groups=g),
           [x[:, :, 0], w1])
    wl = rs.standard_normal((3, w))
    yield ("linear", lambda a, ww, bb: F.linear(a, ww, bb),
           lambda a, ww, bb: TF.linear(a, ww, bb), [x, wl, rs.standard_normal(3)])
    yield ("layer_norm", lambda a, ww, bb: F.layer_norm(a, (h, w), ww, bb),
           lambda a, ww, bb: TF.layer_norm(a, (h, w), ww, bb),
           [x, rs.standard_normal((h, w)), rs.standard_normal((h, w))])
    yield ("batch_norm", lambda a, ww, bb: F.batch_norm(a, None, None, ww, bb, training=True),
           lambda a, ww, bb: TF.batch_norm(a, None, None, ww, bb, training=True),
           [x + 1, rs.standard_normal(c), rs.standard_normal(c)])
    if c > 1 and c % 1 == 0:
        yield ("group_norm", lambda a: F.group_norm(a, 1), lambda a: TF.group_norm(a, 1), [x])


def _cases_attention(rs):
    b, hd, lq, lk, e = 2, int(rs.integers(1, 3)), int(rs.integers(1, 5)), int(rs.integers(1, 5)), 4
    q, k, v = (rs.standard_normal((b, hd, n, e)) for n in (lq, lk, lk))
    causal = bool(rs.integers(0, 2)) and lq == lk
    yield ("sdpa", lambda a, bb, cc: F.scaled_dot_product_attention(a, bb, cc, is_causal=causal),
           lambda a, bb, cc: TF.scaled_dot_product_attention(a, bb, cc, is_causal=causal),
           [q, k, v])
    mask = rs.random((lq, lk)) > 0.3
    mask[:, 0] = True
    yield ("sdpa_mask", lambda a, bb, cc: F.scaled_dot_product_attention(
        a, bb, cc, attn_mask=L.tensor(mask)), lambda a, bb, cc: TF.scaled_dot_product_attention(
        a, bb, cc, attn_mask=torch.tensor(mask)), [q, k, v])


def _cases_methods(rs):
    x = rs.standard_normal(_shape(rs, 2, 4, nd=2))
    yield "t", lambda a: a.t(), lambda a: a.t(), [x]
    yield "T", lambda a: a.T, lambda a: a.T, [x]
    yield "mT", lambda a: a.mT, lambda a: a.mT, [x]
    yield "norm", lambda a: a.norm(), lambda a: a.norm(), [x]
    yield "norm_dim", lambda a: a.norm(dim=1), lambda a: a.norm(dim=1), [x]
    yield "std", lambda a: a.std(dim=0), lambda a: a.std(dim=0), [x]
    yield "var_u", lambda a: a.var(unbiased=False), lambda a: a.var(unbiased=False), [x]
    yield "cumsum", lambda a: a.cumsum(1), lambda a: a.cumsum(1), [x]
    yield "clamp", lambda a: a.clamp(-0.5, 0.5), lambda a: a.clamp(-0.5, 0.5), [x]
    yield "pow", lambda a: a.abs().pow(1.5), lambda a: a.abs().pow(1.5), [x]
    yield "matmul", lambda a: a @ a.t(), lambda a: a @ a.t(), [x]
    yield "mean_keep", lambda a: a.mean(1, keepdim=True), lambda a: a.mean(1, keepdim=True), [x]
    yield "int_div", lambda a: a.long() / 2, lambda a: a.long() / 2, [x * 3]
    yield "floordiv", lambda a: a.long() // 2, lambda a: a.long() // 2, [x * 3]


FAMILIES = {"shape": _cases_shape, "indexing": _cases_indexing,
            "activation": _cases_activation, "loss": _cases_loss, "spatial": _cases_spatial,
            "attention": _cases_attention, "methods": _cases_methods}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_parity(family):
    out = []
    for draw in range(DRAWS):
        rs = np.random.default_rng(1000 * draw + len(family))
        for name, fl, ft, arrays in FAMILIES[family](rs):
            _compare(f"{name}#{draw}", fl, ft, arrays, rs, out)
    assert not out, "\n".join(out)

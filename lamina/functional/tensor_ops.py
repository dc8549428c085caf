"""PyTorch tensor ops that need their own backward or none: ``einsum``, ``tril``/``triu``,
``diag``/``diagonal``, ``meshgrid``, ``repeat_interleave``, ``bernoulli``, ``multinomial``.

Differentiable ones are checked against finite differences and torch
(tests/functional/test_tensor_ops.py).
"""

from __future__ import annotations

import string

from .. import backend as B
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..errors import op_error
from ._util import register_methods, unwrap
from .indexing import index_select
from .shape import broadcast_to, reshape

__all__ = ["einsum", "tril", "triu", "diag", "diagonal", "meshgrid", "repeat_interleave",
           "bernoulli", "multinomial"]

_np = B.np


# ---------------------------------------------------------------- einsum
def _parse(eq, shapes):
    """Explicit subscripts for every operand and the output, ``...`` expanded to letters."""
    eq = eq.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise op_error("einsum", f"{len(ins)} operand(s) for equation {eq!r}",
                       f"{len(shapes)} operand(s)")
    used = set(eq) - set(".,->")
    free = [c for c in string.ascii_letters if c not in used]
    n_ell = max((len(s) - (len(sub) - 3) for sub, s in zip(ins, shapes) if "..." in sub),
                default=0)
    ell = "".join(free[:n_ell])
    out_ins = []
    for sub, s in zip(ins, shapes):
        if "..." in sub:
            k = len(s) - (len(sub) - 3)
            sub = sub.replace("...", ell[n_ell - k:] if k else "")
        if len(sub) != len(s):
            raise op_error("einsum", f"operand subscripts {sub!r} to match its {len(s)} dims",
                           f"shape {tuple(s)}")
        out_ins.append(sub)
    if arrow:
        out = rhs.replace("...", ell)
    else:  # implicit mode: broadcast dims first, then letters seen once, sorted
        joined = "".join(out_ins)
        out = ell + "".join(sorted(c for c in set(joined) if joined.count(c) == 1 and
                                   c not in ell))
    return out_ins, out


class Einsum(Function):
    def forward(self, *ops):
        self.saved = ops
        spec = ",".join(self.subs) + "->" + self.out
        return self.xp.einsum(spec, *ops, optimize=len(ops) > 2)

    def backward(self, gy):
        ops, xp = self.saved, self.xp
        grads = []
        for i, need in enumerate(self.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            sub = self.subs[i]
            if len(set(sub)) != len(sub):
                raise op_error("einsum", "no repeated subscript in an operand that needs a "
                               "gradient", f"{sub!r}", "take the diagonal first "
                               "(torch.diagonal) and einsum that")
            others = [self.out] + [s for j, s in enumerate(self.subs) if j != i]
            arrs = [gy] + [o for j, o in enumerate(ops) if j != i]
            seen = set("".join(others))
            tgt = "".join(c for c in sub if c in seen)
            g = xp.einsum(",".join(others) + "->" + tgt, *arrs, optimize=len(arrs) > 2)
            if tgt != sub:  # letters summed within this operand alone: broadcast back
                shape = [ops[i].shape[k] if c in seen else 1 for k, c in enumerate(sub)]
                g = xp.broadcast_to(g.reshape(shape), ops[i].shape)
            grads.append(g)
        return tuple(grads)


def einsum(equation, *operands):
    """``torch.einsum``: Einstein summation, e.g. ``einsum("bij,bjk->bik", a, b)``.

    Args:
        equation (str): subscripts per operand, ``->`` and the output's (implicit mode and
            ``...`` broadcasting as in torch).
        *operands (Tensor): the operands (or one list of them).

    Returns:
        Tensor: the contraction. Gradients flow to every operand (an operand with a repeated
        subscript, a diagonal, takes none: take ``diagonal`` first).
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    subs, out = _parse(equation, [unwrap(o).shape for o in operands])
    return Einsum.apply(*operands, subs=tuple(subs), out=out)


# ---------------------------------------------------------------- triangles, diagonals
class _Tri(Function):
    def forward(self, x):
        if x.ndim < 2:
            raise op_error(self.name, "an input with at least 2 dims", f"shape {x.shape}")
        self.mask = (self.xp.tril if self.lower else self.xp.triu)(
            self.xp.ones(x.shape[-2:], bool), self.k)
        return self.xp.where(self.mask, x, x.dtype.type(0))

    def backward(self, gy):
        return (self.xp.where(self.mask, gy, gy.dtype.type(0)),)


def tril(x, diagonal=0):
    """Lower triangle of the last two dims (``torch.tril``); ``diagonal`` shifts the edge
    (Default 0; > 0 keeps diagonals above the main one). Shape: (*, M, N) -> same."""
    return _Tri.apply(x, k=diagonal, lower=True, name="tril")


def triu(x, diagonal=0):
    """Upper triangle of the last two dims (``torch.triu``), as :func:`tril`."""
    return _Tri.apply(x, k=diagonal, lower=False, name="triu")


class _Diagonal(Function):
    def forward(self, x):
        self.shape = x.shape
        return self.xp.diagonal(x, self.offset, self.dim1, self.dim2).copy()

    def backward(self, gy):
        xp = self.xp
        g = xp.zeros(self.shape, gy.dtype)
        idx = xp.arange(gy.shape[-1])
        r, c = (idx, idx + self.offset) if self.offset >= 0 else (idx - self.offset, idx)
        gm = xp.moveaxis(g, (self.dim1, self.dim2), (-2, -1))  # a view: writes land in g
        gm[..., r, c] = gy
        return (g,)


def diagonal(x, offset=0, dim1=0, dim2=1):
    """``torch.diagonal``: the diagonal of dims ``dim1``/``dim2`` moved to the last dim.

    Args:
        x (Tensor): at least 2-D. offset (int): Default 0 (> 0 above the main diagonal).
        dim1, dim2 (int): Default 0, 1.

    Returns:
        Tensor: (*other dims, L).
    """
    nd = unwrap(x).ndim
    if nd < 2:
        raise op_error("diagonal", "an input with at least 2 dims", f"{nd} dim(s)")
    return _Diagonal.apply(x, offset=offset, dim1=dim1 % nd, dim2=dim2 % nd)


class _DiagEmbed(Function):
    def forward(self, v):
        n = v.shape[0] + abs(self.offset)
        out = self.xp.zeros((n, n), v.dtype)
        idx = self.xp.arange(v.shape[0])
        r, c = (idx, idx + self.offset) if self.offset >= 0 else (idx - self.offset, idx)
        out[r, c] = v
        self.rc = (r, c)
        return out

    def backward(self, gy):
        return (gy[self.rc],)


def diag(x, diagonal=0):
    """``torch.diag``: a 1-D input becomes a square matrix with it on diagonal ``diagonal``;
    a 2-D input gives that diagonal as 1-D. Default ``diagonal`` 0."""
    nd = unwrap(x).ndim
    if nd == 1:
        return _DiagEmbed.apply(x, offset=diagonal)
    if nd == 2:
        return _Diagonal.apply(x, offset=diagonal, dim1=0, dim2=1)
    raise op_error("diag", "a 1-D or 2-D input", f"{nd} dims", "use diagonal() for more dims")


# ---------------------------------------------------------------- grids, repeats
def meshgrid(*tensors, indexing="ij"):
    """``torch.meshgrid``: coordinate grids from 1-D tensors (differentiable views).

    Args:
        *tensors (Tensor): 1-D (or one list of them).
        indexing (str): ``"ij"`` (matrix, torch's default) or ``"xy"`` (Cartesian).

    Returns:
        tuple of Tensor: each of shape (len(t0), len(t1), ...) (first two swapped for "xy").
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise op_error("meshgrid", "indexing 'ij' or 'xy'", repr(indexing))
    ts = [t if isinstance(t, Tensor) else Tensor(_np.asarray(t)) for t in tensors]
    for t in ts:
        if t.ndim > 1:
            raise op_error("meshgrid", "1-D or 0-D tensors", f"shape {tuple(t.shape)}")
    sizes = [int(t.array.size) for t in ts]
    if indexing == "xy" and len(ts) >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for i, t in enumerate(ts):
        pos = i
        if indexing == "xy" and len(ts) >= 2 and i < 2:
            pos = 1 - i
        shape = [1] * len(ts)
        shape[pos] = sizes[pos]
        out.append(broadcast_to(reshape(t, *shape), *sizes))
    return tuple(out)


def repeat_interleave(x, repeats=None, dim=None, *, output_size=None):
    """``torch.repeat_interleave``: repeat each element ``repeats`` times along ``dim``.

    Args:
        x (Tensor): input. repeats (int or 1-D integer Tensor): per element counts; None
            (torch's one-argument form) reads ``x`` itself as the counts of 0, 1, 2...
        dim (int or None): Default None (the flattened input).

    Returns:
        Tensor: gradients summed back over the copies.
    """
    if repeats is None:
        counts = _np.asarray(unwrap(x))
        if counts.ndim > 1 or counts.dtype.kind not in "iu":
            raise op_error("repeat_interleave", "a 1-D integer tensor of counts when repeats "
                           "is not given", f"{counts.dtype} of shape {counts.shape}")
        return Tensor(_np.repeat(_np.arange(counts.size), counts.reshape(-1)).astype(counts.dtype))
    if dim is None:
        x, dim = reshape(x, -1), 0
    n = unwrap(x).shape[dim]
    r = unwrap(repeats)
    r = _np.asarray(r)
    if r.ndim == 0:
        r = _np.full(n, int(r))
    if r.shape != (n,):
        raise op_error("repeat_interleave", f"repeats of shape ({n},) or a scalar",
                       f"shape {r.shape}")
    if (r < 0).any():
        raise op_error("repeat_interleave", "non-negative repeats", f"{r.min()}")
    return index_select(x, dim, Tensor(_np.repeat(_np.arange(n), r)))


# ---------------------------------------------------------------- random sampling
def bernoulli(probs, p=None, *, generator=None):
    """``torch.bernoulli``: 1 with probability ``probs`` (elementwise), else 0; no gradient.

    Args:
        probs (Tensor): probabilities in [0, 1]. p (float, optional): one probability for
            every element instead (``torch.bernoulli(x, p)``).

    Returns:
        Tensor: same shape and dtype as ``probs``.
    """
    a = unwrap(probs)
    prob = a if p is None else _np.full(a.shape, p, a.dtype)
    if prob.size and (prob.min() < 0 or prob.max() > 1):
        raise op_error("bernoulli", "probabilities in [0, 1]",
                       f"values in [{prob.min()}, {prob.max()}]")
    u = B.rng().random(a.shape)
    return Tensor((u < prob).astype(a.dtype if a.dtype.kind == "f" else
                                    B.get_default_dtype()))


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """``torch.multinomial``: indices drawn from each row's (unnormalized) weights.

    Args:
        input (Tensor): (C,) or (N, C) non-negative weights.
        num_samples (int): draws per row. replacement (bool): Default False (each index at
            most once per row: Gumbel top-k, so ``num_samples`` <= positive weights).

    Returns:
        Tensor: int64 indices, (num_samples,) or (N, num_samples).
    """
    w = _np.asarray(unwrap(input), dtype=_np.float64)
    one = w.ndim == 1
    w2 = w[None] if one else w
    if w2.ndim != 2:
        raise op_error("multinomial", "1-D or 2-D weights", f"shape {w.shape}")
    if (w2 < 0).any() or not _np.isfinite(w2).all():
        raise op_error("multinomial", "finite, non-negative weights", "negative, inf or nan")
    tot = w2.sum(1, keepdims=True)
    if (tot <= 0).any():
        raise op_error("multinomial", "each row with a positive weight", "a row of zeros")
    g = B.rng()
    if replacement:
        cdf = _np.cumsum(w2 / tot, axis=1)
        u = g.random((w2.shape[0], num_samples))
        idx = (u[:, :, None] >= cdf[:, None, :-1]).sum(-1)
    else:
        if num_samples > int((w2 > 0).sum(1).min()):
            raise op_error("multinomial", "num_samples <= the number of positive weights "
                           "(without replacement)", f"num_samples={num_samples}")
        with _np.errstate(divide="ignore"):
            keys = _np.log(w2) - _np.log(-_np.log(g.random(w2.shape)))
        idx = _np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    idx = idx.astype(_np.int64)
    return Tensor(idx[0] if one else idx)


register_methods(tril=tril, triu=triu, diag=diag, diagonal=diagonal,
                 repeat_interleave=repeat_interleave, bernoulli=bernoulli,
                 multinomial=multinomial)

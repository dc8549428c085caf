"""Class-index losses: fused ``cross_entropy``, ``nll_loss`` and ``multi_margin_loss``.

Targets are class indices ``(N, d1, ...)`` (or, for cross-entropy, class probabilities of the
input's shape); inputs ``(N, C, d1, ...)`` are folded to ``(M, C)`` rows. Cross-entropy takes
logits and never forms ``log(softmax)`` naively: values and gradients stay finite for logits of
+-1000 in float32.
"""

from __future__ import annotations

from .. import backend as B
from ..autograd.function import Function, apply2
from ..autograd.tensor import Tensor
from ..errors import DTypeError, check, op_error
from ._util import unwrap
from .loss import _check_reduction, _col, _scale

__all__ = ["cross_entropy", "nll_loss", "multi_margin_loss"]

_np = B.np


def _all_classes(t, n_classes, ignore_index) -> bool:
    """True when every entry of int array ``t`` is in ``[0, n_classes)`` and none can equal
    ``ignore_index``, in one reduction: viewed unsigned, a negative index is huge."""
    k = t.dtype.kind
    if not t.size or k not in "iu" or ignore_index is not None and 0 <= ignore_index < n_classes:
        return False
    tu = t.view(t.dtype.str.replace("i", "u")) if k == "i" else t
    return int(tu.max()) < n_classes


class _ClassLoss(Function):
    """Shared plumbing of the class-index losses: ``(N, C, d1...)`` <-> ``(M, C)`` and targets."""

    def _to2d(self, x):
        self.in_shape = s = x.shape
        if x.ndim == 1:
            return x[None]
        return x if x.ndim == 2 else self.xp.moveaxis(x, 1, -1).reshape(-1, s[1])

    def _from2d(self, g):
        s = self.in_shape
        if len(s) <= 2:
            return g.reshape(s)
        return self.xp.moveaxis(g.reshape((s[0],) + s[2:] + (s[1],)), -1, 1)

    def _targets(self, t, w, n_classes, dtype):
        """Flat targets safe to index with, validity mask and weight x validity per target
        (None where all ones)."""
        xp = self.xp
        t = t.reshape(-1)
        ign = self.ignore_index
        if _all_classes(t, n_classes, ign):  # the common case: every target valid, none ignored
            return t, None, (None if w is None else w.astype(dtype, copy=False)[t])
        valid = None if ign is None else t != ign
        bad = (t < 0) | (t >= n_classes)
        if valid is not None:
            bad &= valid
        if bool(bad.any()):
            also = "" if ign is None else f" or ignore_index={ign}"
            raise ValueError(f"{self.op}: expected target class indices in [0, {n_classes})"
                             f"{also}, got {int(t[bad][0])}")
        v = None
        if valid is not None and not bool(valid.all()):
            t = xp.where(valid, t, 0)
            v = valid.astype(dtype)
        a = None if w is None else w.astype(dtype, copy=False)[t]
        if v is not None:
            a = v if a is None else a * v
        return t, v, a

    def _finish(self, loss, denom):
        """Reduce per-row losses; a weighted mean divides by ``denom`` (NaN when it is 0)."""
        xp = self.xp
        r = self.reduction
        if r == "none":
            s = self.in_shape
            return loss.reshape(s[:1] + s[2:] if len(s) > 1 else ())
        total = loss.sum()
        if r == "sum":
            return total
        if isinstance(denom, int):
            self.n = denom
            return total / denom
        # torch: only a weight sum of exactly 0 gives NaN; a negative sum still divides
        self.n = xp.where(denom != 0, denom, 1)
        return xp.where(denom != 0, total / self.n, xp.nan).astype(loss.dtype)

    def _rows(self, gy):
        return gy.reshape(-1) if self.reduction == "none" else _scale(self, gy)


class CrossEntropy(_ClassLoss):
    """Fused log-softmax + NLL; backward is ``(softmax - smoothed one-hot) * weights / norm``."""

    def forward(self, x, t, w):
        xp = self.xp
        x2 = self._to2d(x)
        m, c = x2.shape
        eps = self.label_smoothing
        if w is not None:
            w = w.astype(x.dtype, copy=False)
        z = x2 - x2.max(axis=1, keepdims=True)  # the one (M, C) temporary: z -> exp -> softmax
        if self.probs:
            q = self._to2d(t).astype(x.dtype, copy=False)
            if eps:
                q = q * (1.0 - eps) + eps / c
            if w is not None:
                q = q * w
            z -= xp.log(xp.exp(z).sum(axis=1, keepdims=True))  # log-softmax
            self.saved = (z, q, w)
            return self._finish(-(q * z).sum(axis=1), m)
        t, v, a = self._targets(t, w, c, x.dtype)
        rows = xp.arange(m)
        zt = z[rows, t]
        zw = (z.sum(axis=1) if w is None else z @ w) if eps else None
        p = xp.exp(z, out=z)
        s = p.sum(axis=1)
        lse = xp.log(s)
        p *= (1.0 / s)[:, None]  # one multiply per element is cheaper than a divide
        # per row: loss = c1 * (-log p_t) + c2 * sum_c w_c (-log p_c)
        c1 = 1.0 - eps if a is None else (1.0 - eps) * a
        c2 = eps / c if v is None else (eps / c) * v
        loss = lse - zt if a is None and not eps else c1 * (lse - zt)
        if eps:
            loss = loss + c2 * (lse * (c if w is None else w.sum()) - zw)
        self.saved = (p, t, w, c1, c2)
        return self._finish(loss, m if a is None else a.sum())

    def backward(self, gy):
        r = self._rows(gy)
        eps = self.label_smoothing
        if self.probs:
            logp, q, w = self.saved
            gx = gt = None
            if self.needs_input_grad[0]:
                gx = self._from2d(self.xp.exp(logp) * _col(r * q.sum(axis=1)) - _col(r) * q)
            if self.needs_input_grad[1]:
                k = (1.0 - eps) if w is None else (1.0 - eps) * w
                gt = self._from2d(-(_col(r) * k) * logp)
            return gx, gt, None
        p, t, w, c1, c2 = self.saved
        c = p.shape[1]
        k = c1 + c2 * (c if w is None else w.sum()) if eps else c1
        g = p * _col(r * k)
        g[self.xp.arange(p.shape[0]), t] -= r * c1
        if eps:
            g -= _col(r * c2) * (1.0 if w is None else w)
        return self._from2d(g), None, None


class PlainCrossEntropy(Function):
    """``cross_entropy``'s common case in the fewest array passes: ``(N, C)`` logits, ``N``
    valid class indices, no weight or smoothing, mean reduction. The same math, bit for bit,
    as :class:`CrossEntropy` (which handles everything else)."""

    def forward(self, x, t):
        xp = self.xp
        host = xp is _np
        n = x.shape[0]
        z = x - (_np.maximum.reduce(x, 1, keepdims=True) if host else x.max(axis=1, keepdims=True))
        rows = xp.arange(n)
        zt = z[rows, t]
        p = xp.exp(z, out=z)
        s = _np.add.reduce(p, 1) if host else p.sum(axis=1)
        p *= (1.0 / s)[:, None]
        self.saved = (p, rows, t)
        d = xp.log(s)
        d -= zt  # per-row -log p_t
        return (_np.add.reduce(d) if host else d.sum()) / n

    def backward(self, gy):
        p, rows, t = self.saved
        r = gy / p.shape[0]
        g = p * r
        g[rows, t] -= r
        return g, None


class NLLLoss(_ClassLoss):
    def forward(self, x, t, w):
        x2 = self._to2d(x)
        m, self.c = x2.shape
        t, _, a = self._targets(t, w, self.c, x.dtype)
        picked = -x2[self.xp.arange(m), t]
        self.saved = (t, a)
        return self._finish(picked if a is None else picked * a,
                            m if a is None else a.sum())

    def backward(self, gy):
        t, a = self.saved
        r = self._rows(gy)
        m = t.shape[0]
        g = self.xp.zeros((m, self.c), gy.dtype)
        g[self.xp.arange(m), t] = -(r if a is None else r * a)
        return self._from2d(g), None, None


class MultiMargin(_ClassLoss):
    def forward(self, x, t, w):
        xp = self.xp
        x2 = x[None] if x.ndim == 1 else x
        self.in_shape = x.shape
        m, c = x2.shape
        t, _, wt = self._targets(t, w, c, x.dtype)
        rows = xp.arange(m)
        h = (self.margin - x2[rows, t])[:, None] + x2
        h[rows, t] = 0  # the target class itself is not a violation
        hp = xp.maximum(h, 0)
        loss = (hp if self.p == 1 else hp * hp).sum(axis=1) / c
        if wt is not None:
            loss = loss * wt
        self.saved = (hp, t, wt)
        return self._finish(loss, m)

    def backward(self, gy):
        hp, t, wt = self.saved
        k = self._rows(gy) / hp.shape[1]
        if wt is not None:
            k = k * wt
        g = ((hp > 0) if self.p == 1 else 2.0 * hp) * _col(k)
        g[self.xp.arange(hp.shape[0]), t] -= g.sum(axis=1)
        return g.reshape(self.in_shape), None, None


def _class_args(op, x, t, weight, probs_ok=False):
    """Validate the shapes of a class-index loss; True when ``t`` holds probabilities."""
    xs, ts = unwrap(x).shape, unwrap(t).shape
    check(len(xs) >= 1, op, "input (C,), (N, C) or (N, C, d1, ...)", f"input {xs}")
    c = xs[1] if len(xs) >= 2 else xs[0]
    if weight is not None:
        ws = unwrap(weight).shape
        check(ws == (c,), op, f"weight of shape (C,) = ({c},)", f"input {xs} and weight {ws}")
    dt = unwrap(t).dtype
    want = xs[:1] + xs[2:] if len(xs) >= 2 else ()
    if probs_ok and dt.kind == "f" and ts != want:
        check(ts == xs, op, f"float class probabilities of input's shape {xs}",
              f"input {xs} and target {ts}")
        return True
    if dt.kind not in "iu":
        raise op_error(op, f"integer class indices of shape {want}", f"a {dt} target {ts}",
                       "convert with target.long()", cls=DTypeError)
    check(ts == want, op, f"target shape {want} (input's batch and spatial dims)",
          f"input {xs} and target {ts}")
    return False


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Cross-entropy between logits and class indices (or class probabilities), fused and stable.

    ``loss_i = (1 - e) * w[t_i] * (-log p_i[t_i]) + (e / C) * sum_c w[c] * (-log p_i[c])`` with
    ``p_i = softmax(input_i)`` and ``e = label_smoothing``. A weighted ``'mean'`` divides by the
    sum of the target weights of non-ignored samples (NaN when every sample is ignored), as PyTorch.

    Args:
        input (Tensor): logits (not probabilities).
        target (Tensor): int class indices, or float probabilities of ``input``'s shape.
        weight (Tensor, optional): per-class weights ``(C,)``. Default None.
        ignore_index (int): index targets equal to it add nothing. Default -100.
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'``. Default ``'mean'``.
        label_smoothing (float): in [0, 1]. Default 0.0.
    Returns:
        Tensor: scalar, or per-sample losses ``(N, d1, ...)`` for ``'none'``.
    Shape:
        input ``(N, C)`` / ``(N, C, d1, ...)`` / ``(C,)``; target ``(N,)`` / ``(N, d1, ...)`` /
        ``()``, or input's shape for probabilities.
    Example:
        >>> loss = F.cross_entropy(logits, labels)   # logits (32, 10), labels (32,) int64
    """
    if (weight is None and reduction == "mean" and not label_smoothing
            and isinstance(input, Tensor) and isinstance(target, Tensor)):
        xa, ta = input.array, target.array
        if (xa.ndim == 2 and ta.ndim == 1 and ta.shape[0] == xa.shape[0]
                and xa.dtype.kind == "f" and _all_classes(ta, xa.shape[1], ignore_index)):
            return apply2(PlainCrossEntropy, input, target)
    _check_reduction("cross_entropy", reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: expected label_smoothing in [0, 1], got "
                         f"{label_smoothing}")
    probs = _class_args("cross_entropy", input, target, weight, probs_ok=True)
    return CrossEntropy.apply(input, target, weight, op="cross_entropy", probs=probs,
                              ignore_index=ignore_index, reduction=reduction,
                              label_smoothing=float(label_smoothing))


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood ``-w[t_i] * input_i[t_i]`` of log-probabilities (``log_softmax``).

    Args, Returns and Shape as :func:`cross_entropy` (index targets only, no smoothing).
    """
    _check_reduction("nll_loss", reduction)
    _class_args("nll_loss", input, target, weight)
    return NLLLoss.apply(input, target, weight, op="nll_loss", ignore_index=ignore_index,
                         reduction=reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, reduction="mean"):
    """Multi-class hinge: ``sum_{j != y} max(0, margin - x[y] + x[j])^p / C`` per sample.

    Args:
        input (Tensor): scores ``(N, C)`` or ``(C,)``. target (Tensor): int ``(N,)`` or ``()``.
        p (int): 1 or 2. Default 1. margin (float): default 1.0.
        weight (Tensor, optional): per-class weights ``(C,)``, applied by target class.
        reduction (str): default ``'mean'`` (over samples).
    """
    _check_reduction("multi_margin_loss", reduction)
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: expected p of 1 or 2, got {p}")
    xs = unwrap(input).shape
    check(len(xs) in (1, 2), "multi_margin_loss", "input (N, C) or (C,)", f"input {xs}")
    _class_args("multi_margin_loss", input, target, weight)
    return MultiMargin.apply(input, target, weight, op="multi_margin_loss", p=p,
                             margin=float(margin), ignore_index=None, reduction=reduction)

"""Losses, each one fused ``Function``; the class-index ones (cross-entropy, NLL, multi-margin)
live in :mod:`.loss_class` (PyTorch's names, arguments and reductions).

Classification losses take logits and never form ``log(softmax)`` or ``log(sigmoid)`` naively:
values and gradients stay finite for logits of +-1000 in float32. ``reduction`` is ``'mean'``
(default), ``'sum'`` or ``'none'``. Unlike PyTorch, elementwise losses refuse input/target shapes
that differ instead of broadcasting them (``(N, 1)`` against ``(N,)`` silently gives ``(N, N)``).
"""

from __future__ import annotations

from ..autograd.function import Function
from ..errors import check
from ._util import unwrap
from .activation import _sigmoid, _softplus

__all__ = ["binary_cross_entropy_with_logits", "binary_cross_entropy", "mse_loss", "l1_loss",
           "huber_loss", "smooth_l1_loss", "hinge_embedding_loss", "kl_div", "soft_margin_loss",
           "cosine_similarity"]

_RED = ("mean", "sum", "none")


def _check_reduction(op, reduction, allowed=_RED):
    if reduction not in allowed:
        raise ValueError(f"{op}: expected reduction in {allowed}, got {reduction!r}")


def _check_same(op, x, y, a="input", b="target"):
    xs, ys = unwrap(x).shape, unwrap(y).shape
    check(xs == ys, op, f"{b}.shape == {a}.shape", f"{a} {xs} and {b} {ys}")


def _reduce(fn, loss):
    """Apply ``fn.reduction``; remember the mean's divisor for backward."""
    if fn.reduction == "none":
        return loss
    if fn.reduction == "sum":
        return loss.sum()
    fn.n = loss.size
    return loss.sum() / fn.n


def _scale(fn, gy):
    """Per-element factor that the reduction puts on the elementwise gradient."""
    return gy / fn.n if fn.reduction in ("mean", "batchmean") else gy


def _col(a):
    return a[:, None] if getattr(a, "ndim", 0) == 1 else a


class BCEWithLogits(Function):
    def forward(self, x, z, w, pw):
        xp = self.xp
        z = z.astype(x.dtype, copy=False)
        sp = _softplus(xp, -x)  # -log(sigmoid(x)), stable
        if pw is not None:
            pw = pw.astype(x.dtype, copy=False)
            loss = (1.0 - z) * x + ((pw - 1.0) * z + 1.0) * sp
        else:
            loss = (1.0 - z) * x + sp
        if w is not None:
            w = w.astype(x.dtype, copy=False)
            loss = loss * w
        self.saved = (x, z, w, pw)
        return _reduce(self, loss)

    def backward(self, gy):
        x, z, w, pw = self.saved
        xp = self.xp
        k = _scale(self, gy) if w is None else _scale(self, gy) * w
        gx = gz = None
        if self.needs_input_grad[0]:
            s = _sigmoid(xp, x)
            gx = k * (s - z if pw is None else (1.0 - z) - ((pw - 1.0) * z + 1.0) * (1.0 - s))
        if self.needs_input_grad[1]:
            gz = k * (-x if pw is None else (pw - 1.0) * _softplus(xp, -x) - x)
        return gx, gz, None, None


def _clamped_log(xp, a):
    """log(a) clamped to >= -100 (PyTorch's BCE), without a log(0) warning."""
    return xp.maximum(xp.where(a > 0, xp.log(xp.where(a > 0, a, 1)), -100.0), -100.0)


class BCE(Function):
    def forward(self, x, z, w):
        xp = self.xp
        z = z.astype(x.dtype, copy=False)
        if bool(((x < 0) | (x > 1)).any()):
            raise ValueError("binary_cross_entropy: expected input probabilities in [0, 1], got "
                             f"values in [{float(x.min())}, {float(x.max())}]; for logits use "
                             "binary_cross_entropy_with_logits")
        lx, l1x = _clamped_log(xp, x), _clamped_log(xp, 1.0 - x)
        loss = -(z * lx + (1.0 - z) * l1x)
        if w is not None:
            w = w.astype(x.dtype, copy=False)
            loss = loss * w
        self.saved = (x, z, w, lx, l1x)
        return _reduce(self, loss)

    def backward(self, gy):
        x, z, w, lx, l1x = self.saved
        k = _scale(self, gy) if w is None else _scale(self, gy) * w
        gx = k * (x - z) / self.xp.maximum(x * (1.0 - x), 1e-12) if self.needs_input_grad[0] \
            else None
        gz = k * (l1x - lx) if self.needs_input_grad[1] else None
        return gx, gz, None


class Pointwise(Function):
    """Losses of ``d = input - target``: mse, l1, huber, smooth_l1 (and their gradients)."""

    def forward(self, x, y):
        xp = self.xp
        d = x - y.astype(x.dtype, copy=False)
        self.saved = (d,)
        k, b = self.kind, self.b
        if k == "mse":
            loss = d * d
        elif k == "l1":
            loss = xp.abs(d)
        elif k == "huber":
            a = xp.abs(d)
            loss = xp.where(a <= b, 0.5 * d * d, b * (a - 0.5 * b))
        else:
            a = xp.abs(d)
            loss = xp.where(a < b, (0.5 / b) * d * d, a - 0.5 * b)
        return _reduce(self, loss)

    def backward(self, gy):
        (d,) = self.saved
        xp = self.xp
        k, b = self.kind, self.b
        if k == "mse":
            g = 2.0 * d
        elif k == "l1":
            g = xp.sign(d)  # subgradient 0 at d == 0
        elif k == "huber":
            g = xp.clip(d, -b, b)
        else:
            g = xp.clip(d * (1.0 / b), -1.0, 1.0)
        g = g * _scale(self, gy)
        return g, (-g if self.needs_input_grad[1] else None)


class HingeEmbedding(Function):
    def forward(self, x, y):
        h = self.margin - x
        self.saved = (h, y)
        xp = self.xp
        loss = xp.where(y != 1, xp.maximum(h, 0), 0) + xp.where(y != -1, x, 0)
        return _reduce(self, loss)

    def backward(self, gy):
        h, y = self.saved
        g = (y != -1).astype(h.dtype) - ((y != 1) & (h >= 0))
        return g * _scale(self, gy), None


class KLDiv(Function):
    def forward(self, x, t):
        xp = self.xp
        t = t.astype(x.dtype, copy=False)
        if self.log_target:
            pt = xp.exp(t)
            loss = pt * (t - x)
            lt = None
        else:
            pos = t > 0
            pt = t
            lt = xp.where(pos, xp.log(xp.where(pos, t, 1)), 0)  # xlogy(t, t) = 0 at t == 0
            loss = t * lt - t * x
        self.saved = (x, t, pt, lt)
        if self.reduction == "batchmean":
            self.n = x.shape[0] if x.ndim else 1
            return loss.sum() / self.n
        return _reduce(self, loss)

    def backward(self, gy):
        x, t, pt, lt = self.saved
        k = _scale(self, gy)
        gx = -pt * k if self.needs_input_grad[0] else None
        gt = None
        if self.needs_input_grad[1]:
            gt = k * (pt * (t - x + 1.0) if self.log_target else lt + 1.0 - x)
        return gx, gt


class CosineSimilarity(Function):
    def forward(self, a, b):
        xp, d = self.xp, self.dim
        na = xp.sqrt((a * a).sum(axis=d, keepdims=True))
        nb = xp.sqrt((b * b).sum(axis=d, keepdims=True))
        da, db = xp.maximum(na, self.eps), xp.maximum(nb, self.eps)
        cos = ((a / da) * (b / db)).sum(axis=d, keepdims=True)
        self.saved = (a, b, na, nb, da, db, cos)
        return cos.squeeze(d)

    def backward(self, gy):
        a, b, na, nb, da, db, cos = self.saved
        g = self.xp.expand_dims(gy, self.dim)
        n = self.needs_input_grad
        # d cos / d a = b / (|a| |b|) - cos * a / |a|^2 (norms clamped to eps have no gradient)
        ga = g * (b / (da * db) - cos * a * ((na > self.eps) / (da * da))) if n[0] else None
        gb = g * (a / (da * db) - cos * b * ((nb > self.eps) / (db * db))) if n[1] else None
        return ga, gb


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None,
                                     reduction="mean"):
    """Binary cross-entropy on logits: ``max(x, 0) - x z + log1p(exp(-|x|))``, stable for any x.

    With ``pos_weight`` (PyTorch's formula):
    ``(1 - z) x + (1 + (pos_weight - 1) z) * (log1p(exp(-|x|)) + max(-x, 0))``.

    Args:
        input (Tensor): logits, any shape.
        target (Tensor): same shape, values in [0, 1] (differentiable).
        weight (Tensor, optional): broadcastable rescaling of each element. Default None.
        pos_weight (Tensor, optional): weight of positives, broadcast along the last dim
            (one per class). Default None.
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'``. Default ``'mean'``.
    Returns:
        Tensor: scalar, or input's shape for ``'none'``.
    """
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    _check_same("binary_cross_entropy_with_logits", input, target)
    return BCEWithLogits.apply(input, target, weight, pos_weight, reduction=reduction)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """Binary cross-entropy of probabilities; logs clamped to >= -100 as PyTorch.

    Prefer :func:`binary_cross_entropy_with_logits` (stable); this one needs input in [0, 1].

    Args:
        input (Tensor): probabilities, any shape. target (Tensor): same shape.
        weight (Tensor, optional): broadcastable rescaling. Default None.
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'``. Default ``'mean'``.
    """
    _check_reduction("binary_cross_entropy", reduction)
    _check_same("binary_cross_entropy", input, target)
    return BCE.apply(input, target, weight, reduction=reduction)


def _pointwise(op, kind, b, input, target, reduction):
    _check_reduction(op, reduction)
    _check_same(op, input, target)
    return Pointwise.apply(input, target, kind=kind, b=b, reduction=reduction)


def mse_loss(input, target, reduction="mean"):
    """Mean squared error ``(input - target)^2``.

    Args:
        input, target (Tensor): same shape. reduction (str): default ``'mean'``.
    Returns:
        Tensor: scalar, or input's shape for ``'none'``.
    """
    return _pointwise("mse_loss", "mse", None, input, target, reduction)


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error ``|input - target|``; subgradient 0 where they are equal.

    Args:
        input, target (Tensor): same shape. reduction (str): default ``'mean'``.
    """
    return _pointwise("l1_loss", "l1", None, input, target, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """Huber loss: ``0.5 d^2`` for ``|d| <= delta``, else ``delta (|d| - 0.5 delta)``.

    Args:
        input, target (Tensor): same shape. reduction (str): default ``'mean'``.
        delta (float): > 0, where the quadratic turns linear. Default 1.0.
    """
    if delta <= 0:
        raise ValueError(f"huber_loss: expected delta > 0, got {delta}")
    return _pointwise("huber_loss", "huber", float(delta), input, target, reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """Smooth L1: ``0.5 d^2 / beta`` for ``|d| < beta``, else ``|d| - 0.5 beta`` (l1 if beta=0).

    Args:
        input, target (Tensor): same shape. reduction (str): default ``'mean'``.
        beta (float): >= 0. Default 1.0.
    """
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: expected beta >= 0, got {beta}")
    kind = "smooth_l1" if beta > 0 else "l1"
    return _pointwise("smooth_l1_loss", kind, float(beta), input, target, reduction)


def hinge_embedding_loss(input, target, margin=1.0, reduction="mean"):
    """``input`` where ``target == 1``, ``max(0, margin - input)`` where ``target == -1``.

    Args:
        input (Tensor): distances, any shape. target (Tensor): same shape, values +-1.
        margin (float): default 1.0. reduction (str): default ``'mean'``.
    """
    _check_reduction("hinge_embedding_loss", reduction)
    _check_same("hinge_embedding_loss", input, target)
    return HingeEmbedding.apply(input, target, margin=float(margin), reduction=reduction)


def kl_div(input, target, reduction="mean", log_target=False):
    """Kullback-Leibler divergence ``target * (log target - input)``; ``input`` is log-probs.

    Args:
        input (Tensor): log-probabilities. target (Tensor): same shape; probabilities, or
            log-probabilities when ``log_target``.
        reduction (str): ``'mean'`` (over elements), ``'batchmean'`` (sum / N, the true KL),
            ``'sum'`` or ``'none'``. Default ``'mean'``.
        log_target (bool): default False.
    The target gradient at ``target == 0`` is taken as ``1 - input`` (PyTorch gives NaN).
    """
    _check_reduction("kl_div", reduction, _RED + ("batchmean",))
    _check_same("kl_div", input, target)
    return KLDiv.apply(input, target, reduction=reduction, log_target=bool(log_target))


def soft_margin_loss(input, target, reduction="mean"):
    """Logistic loss ``log(1 + exp(-y x))`` for targets +-1, stable.

    Args:
        input (Tensor): scores. target (Tensor): same shape, +-1. reduction (str): ``'mean'``.

    Computed as ``binary_cross_entropy_with_logits(input, (target + 1) / 2)``.
    """
    _check_reduction("soft_margin_loss", reduction)
    _check_same("soft_margin_loss", input, target)
    return BCEWithLogits.apply(input, (target + 1) * 0.5, None, None, reduction=reduction)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """``x1 . x2 / (max(|x1|, eps) * max(|x2|, eps))`` along ``dim`` (broadcasting).

    Args:
        x1, x2 (Tensor): broadcastable. dim (int): default 1. eps (float): default 1e-8.
    Returns:
        Tensor: the broadcast shape without ``dim``.
    """
    return CosineSimilarity.apply(x1, x2, dim=dim, eps=float(eps))

"""Losses for imbalanced classes (seed Q40), built from differentiable ``lamina.functional`` ops.

- focal loss (Lin et al. 2017): ``-alpha_t (1 - p_t)^gamma log p_t``, down-weighting easy
  examples; ``sigmoid_focal_loss`` is the one-logit form (torchvision's).
- LDAM (Cao et al. 2019): the true class's logit is lowered by a margin ``m_c ~ n_c^(-1/4)``
  (larger for rare classes) before a scaled cross-entropy.
- logit adjustment (Menon et al. 2021): cross-entropy of ``logits + tau * log(prior)``, so the
  trained logits, used as they are, estimate the balanced-error classifier.

The class modules take ``class_counts`` (training counts per class); the scikit-learn wrappers
fill it in from ``y`` at ``fit``.
"""

from __future__ import annotations

from .. import backend as B
from .. import functional as F
from ..autograd.tensor import Tensor
from ..errors import check
from .module import Module

__all__ = ["focal_loss", "sigmoid_focal_loss", "ldam_loss", "logit_adjusted_loss", "FocalLoss",
           "LDAMLoss", "LogitAdjustedLoss", "ldam_margins"]

_RED = ("mean", "sum", "none")


def _reduce(op, loss, reduction):
    check(reduction in _RED, op, f"reduction in {_RED}", repr(reduction))
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _onehot(op, input, target):
    check(input.ndim == 2, op, "input logits of shape (N, C)", f"shape {tuple(input.shape)}")
    t = B.to_host(target.array if isinstance(target, Tensor) else B.np.asarray(target))
    check(t.shape == (input.shape[0],) and t.dtype.kind in "iu", op,
          f"integer class indices of shape ({input.shape[0]},)", f"{t.dtype} {t.shape}")
    n, c = input.shape
    check(t.size == 0 or (t.min() >= 0 and t.max() < c), op, f"class indices in [0, {c})",
          f"values in [{t.min()}, {t.max()}]")
    oh = B.np.zeros((n, c), dtype=input.dtype)
    oh[B.np.arange(n), t] = 1.0
    return Tensor(oh).to(input.device), t


def _per_class(op, values, c, dtype, name):
    if values is None:
        return None
    a = B.np.asarray(getattr(values, "array", values), dtype=dtype).reshape(-1)
    if a.size == 1:
        return None if name == "alpha" else a
    check(a.size == c, op, f"{name} with one value per class ({c})", f"{a.size} values")
    return a


def focal_loss(input, target, alpha=None, gamma: float = 2.0, reduction: str = "mean"):
    """Multi-class focal loss on logits: ``-alpha[t] (1 - p_t)^gamma log p_t``.

    Args:
        input (Tensor): logits ``(N, C)``.
        target (Tensor): int class indices ``(N,)``.
        alpha: per-class weights ``(C,)`` (e.g. inverse frequency), or None (all 1). Default
            None.
        gamma (float): focusing parameter; 0 gives cross-entropy. Default 2.0.
        reduction (str): ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
        Tensor: scalar, or ``(N,)`` for ``"none"``.

    Shape:
        input ``(N, C)``, target ``(N,)``.

    Example:
        >>> loss = focal_loss(logits, labels, gamma=2.0)
    """
    check(gamma >= 0, "focal_loss", "gamma >= 0", repr(gamma))
    oh, t = _onehot("focal_loss", input, target)
    logp_t = (F.log_softmax(input, dim=1) * oh).sum(axis=1)
    p_t = F.exp(logp_t)
    loss = -((1.0 - p_t) ** float(gamma)) * logp_t if gamma else -logp_t
    a = _per_class("focal_loss", alpha, input.shape[1], input.dtype, "alpha")
    if a is not None:
        loss = loss * Tensor(a[t]).to(input.device)
    return _reduce("focal_loss", loss, reduction)


def sigmoid_focal_loss(input, target, alpha: float = 0.25, gamma: float = 2.0,
                       reduction: str = "mean"):
    """Binary focal loss on logits (torchvision's ``sigmoid_focal_loss``).

    ``loss = alpha_t * (1 - p_t)^gamma * BCE(input, target)`` with ``p_t = p`` for positives
    and ``1 - p`` for negatives, ``alpha_t = alpha`` for positives and ``1 - alpha`` for
    negatives (``alpha < 0`` disables the weighting).

    Args:
        input (Tensor): logits, any shape.
        target (Tensor): 0/1 floats of ``input``'s shape.
        alpha (float): Default 0.25.
        gamma (float): Default 2.0.
        reduction (str): Default ``"mean"``.

    Returns:
        Tensor: scalar, or ``input``'s shape for ``"none"``.
    """
    ce = F.binary_cross_entropy_with_logits(input, target, reduction="none")
    p = F.sigmoid(input)
    p_t = p * target + (1.0 - p) * (1.0 - target)
    loss = ce * (1.0 - p_t) ** float(gamma)
    if alpha >= 0:
        loss = loss * (float(alpha) * target + (1.0 - float(alpha)) * (1.0 - target))
    return _reduce("sigmoid_focal_loss", loss, reduction)


def ldam_margins(class_counts, max_m: float = 0.5):
    """LDAM's per-class margins ``m_c = max_m * n_c^(-1/4) / max_c n_c^(-1/4)``.

    Args:
        class_counts: training samples per class ``(C,)``, all > 0.
        max_m (float): the rarest class's margin. Default 0.5.

    Returns:
        host array ``(C,)`` in the default float dtype.
    """
    n = B.np.asarray(class_counts, dtype=B.np.float64).reshape(-1)
    check(n.size > 0 and bool(B.np.all(n > 0)), "ldam_margins", "positive class counts",
          str(n.tolist()))
    m = n ** -0.25
    return (m * (max_m / m.max())).astype(B.get_default_dtype())


def ldam_loss(input, target, class_counts, max_m: float = 0.5, s: float = 30.0, weight=None,
              reduction: str = "mean"):
    """Label-distribution-aware margin loss: ``CE(s * (z - m_t e_t), t)``.

    Args:
        input (Tensor): logits ``(N, C)`` (LDAM's reference normalizes features and weights;
            with plain logits keep ``s`` modest, e.g. 1-5).
        target (Tensor): int class indices ``(N,)``.
        class_counts: training samples per class ``(C,)``.
        max_m (float): the rarest class's margin. Default 0.5.
        s (float): logit scale. Default 30.0 (the paper's, for normalized logits).
        weight: per-class weights ``(C,)`` (the paper's deferred re-weighting). Default None.
        reduction (str): Default ``"mean"``.

    Returns:
        Tensor: scalar, or ``(N,)`` for ``"none"``.
    """
    oh, t = _onehot("ldam_loss", input, target)
    m = ldam_margins(class_counts, max_m)
    check(m.size == input.shape[1], "ldam_loss", f"class_counts for {input.shape[1]} classes",
          f"{m.size} counts")
    z = (input - oh * Tensor(m.astype(input.dtype)).to(input.device)) * float(s)
    w = None if weight is None else Tensor(B.np.asarray(getattr(weight, "array", weight),
                                                        dtype=input.dtype))
    per = F.cross_entropy(z, target, weight=w, reduction="none")
    return _reduce("ldam_loss", per, reduction)


def logit_adjusted_loss(input, target, class_counts, tau: float = 1.0,
                        reduction: str = "mean"):
    """Logit-adjusted cross-entropy: ``CE(z + tau * log(prior), t)`` (Menon et al. 2021).

    Args:
        input (Tensor): logits ``(N, C)``.
        target (Tensor): int class indices ``(N,)``.
        class_counts: training samples (or prior weights) per class ``(C,)``.
        tau (float): temperature of the adjustment. Default 1.0.
        reduction (str): Default ``"mean"``.

    Returns:
        Tensor: scalar, or ``(N,)`` for ``"none"``.
    """
    prior = B.np.asarray(class_counts, dtype=B.np.float64).reshape(-1)
    check(prior.size == input.shape[1] and bool(B.np.all(prior > 0)), "logit_adjusted_loss",
          f"{input.shape[1]} positive class counts", str(prior.tolist()))
    adj = (float(tau) * B.np.log(prior / prior.sum())).astype(input.dtype)
    per = F.cross_entropy(input + Tensor(adj).to(input.device), target, reduction="none")
    return _reduce("logit_adjusted_loss", per, reduction)


class FocalLoss(Module):
    """Module form of :func:`focal_loss`.

    Args:
        alpha: per-class weights ``(C,)`` or None. Default None.
        gamma (float): Default 2.0.
        reduction (str): Default ``"mean"``.

    Shape:
        input ``(N, C)`` logits, target ``(N,)`` int.
    """

    def __init__(self, alpha=None, gamma: float = 2.0, reduction: str = "mean"):
        super().__init__()
        self.alpha, self.gamma, self.reduction = alpha, float(gamma), reduction

    def forward(self, input, target):
        return focal_loss(input, target, self.alpha, self.gamma, self.reduction)


class LDAMLoss(Module):
    """Module form of :func:`ldam_loss`.

    Args:
        class_counts: training samples per class (filled in by the sklearn wrappers).
        max_m (float): Default 0.5.
        s (float): logit scale. Default 30.0.
        weight: per-class weights or None. Default None.
        reduction (str): Default ``"mean"``.
    """

    def __init__(self, class_counts, max_m: float = 0.5, s: float = 30.0, weight=None,
                 reduction: str = "mean"):
        super().__init__()
        self.class_counts, self.max_m, self.s = list(class_counts), float(max_m), float(s)
        self.weight, self.reduction = weight, reduction

    def forward(self, input, target):
        return ldam_loss(input, target, self.class_counts, self.max_m, self.s, self.weight,
                         self.reduction)


class LogitAdjustedLoss(Module):
    """Module form of :func:`logit_adjusted_loss`.

    Args:
        class_counts: training samples per class (filled in by the sklearn wrappers).
        tau (float): Default 1.0.
        reduction (str): Default ``"mean"``.
    """

    def __init__(self, class_counts, tau: float = 1.0, reduction: str = "mean"):
        super().__init__()
        self.class_counts, self.tau, self.reduction = list(class_counts), float(tau), reduction

    def forward(self, input, target):
        return logit_adjusted_loss(input, target, self.class_counts, self.tau, self.reduction)

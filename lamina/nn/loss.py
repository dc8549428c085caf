"""Loss modules over ``lamina.functional`` losses (PyTorch's names and arguments).

Class weights (``weight``, ``pos_weight``) are registered as buffers, as in PyTorch, so they
follow ``.to()`` and appear in state dicts. Options other than ``weight`` are keyword-only
(PyTorch's deprecated ``size_average``/``reduce`` are not accepted).
"""

from __future__ import annotations

from .. import functional as F
from ..autograd.tensor import Tensor
from .module import Module

__all__ = ["MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "BCELoss", "BCEWithLogitsLoss",
           "CrossEntropyLoss", "NLLLoss", "HingeEmbeddingLoss", "MultiMarginLoss", "HingeLoss",
           "KLDivLoss", "SoftMarginLoss"]

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    """Base: stores and validates ``reduction``."""

    _allowed = _REDUCTIONS

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in self._allowed:
            raise ValueError(f"{type(self).__name__}: expected reduction in "
                             f"{self._allowed}, got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        self.register_buffer("weight", weight.array if isinstance(weight, Tensor) else weight)


class MSELoss(_Loss):
    """Mean squared error ``(input - target)^2``.

    Args:
        reduction (str): 'mean' (default), 'sum' or 'none'.

    Shape:
        input and target of the same shape; scalar unless reduction='none'.
    """

    def __init__(self, *, reduction: str = "mean"):
        super().__init__(reduction)

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error ``|input - target|``.

    Args:
        reduction (str): 'mean' (default), 'sum' or 'none'.
    """

    def __init__(self, *, reduction: str = "mean"):
        super().__init__(reduction)

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    """Quadratic for ``|d| < delta``, linear beyond: ``0.5 d^2`` or ``delta (|d| - delta/2)``.

    Args:
        reduction (str): Default 'mean'.
        delta (float): switch point. Default 1.0.
    """

    def __init__(self, *, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class SmoothL1Loss(_Loss):
    """Huber loss divided by ``beta``: ``0.5 d^2 / beta`` or ``|d| - beta/2``.

    Args:
        reduction (str): Default 'mean'.
        beta (float): Default 1.0.
    """

    def __init__(self, *, reduction: str = "mean", beta: float = 1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities (prefer :class:`BCEWithLogitsLoss` on logits).

    Args:
        weight (Tensor | None): elementwise rescaling. Default None.
        reduction (str): Default 'mean'.
    """

    def __init__(self, weight=None, *, reduction: str = "mean"):
        super().__init__(weight, reduction)

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight,
                                      reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Sigmoid + binary cross-entropy fused, stable for any logit.

    Args:
        weight (Tensor | None): elementwise rescaling. Default None.
        reduction (str): Default 'mean'.
        pos_weight (Tensor | None): weight of positive examples per class (last dim), e.g.
            ``n_negative / n_positive`` for imbalanced data. Default None.

    Shape:
        input (logits) and target of the same shape.
    """

    def __init__(self, weight=None, *, reduction: str = "mean", pos_weight=None):
        super().__init__(weight, reduction)
        pw = pos_weight.array if isinstance(pos_weight, Tensor) else pos_weight
        self.register_buffer("pos_weight", pw)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight,
                                                  pos_weight=self.pos_weight,
                                                  reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """Log-softmax + negative log-likelihood fused, on logits.

    Args:
        weight (Tensor | None): per-class weights (C,). Default None.
        ignore_index (int): targets equal to it contribute nothing. Default -100.
        reduction (str): Default 'mean'.
        label_smoothing (float): in [0, 1]. Default 0.0.

    Shape:
        input (N, C) or (N, C, d1, ...) logits; target (N,) / (N, d1, ...) int class indices,
        or class probabilities of input's shape.

    Example:
        >>> loss = nn.CrossEntropyLoss()(logits, labels)
    """

    def __init__(self, weight=None, *, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__(weight, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=self.weight,
                               ignore_index=self.ignore_index, reduction=self.reduction,
                               label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (after ``LogSoftmax``).

    Args:
        weight (Tensor | None): per-class weights (C,). Default None.
        ignore_index (int): Default -100.
        reduction (str): Default 'mean'.
    """

    def __init__(self, weight=None, *, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    """``x`` where target is 1, ``max(0, margin - x)`` where target is -1.

    Args:
        margin (float): Default 1.0.
        reduction (str): Default 'mean'.
    """

    def __init__(self, *, margin: float = 1.0, reduction: str = "mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input, target):
        return F.hinge_embedding_loss(input, target, margin=self.margin,
                                      reduction=self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge loss (SVM): ``sum_{j != y} max(0, margin - x_y + x_j)^p / C``.

    Args:
        p (int): 1 or 2. Default 1.
        margin (float): Default 1.0.
        weight (Tensor | None): per-class weights (C,). Default None.
        reduction (str): Default 'mean'.

    Shape:
        input (N, C) scores, target (N,) class indices.
    """

    def __init__(self, p: int = 1, margin: float = 1.0, weight=None, *,
                 reduction: str = "mean"):
        super().__init__(weight, reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: expected p 1 or 2, got {p}")
        self.p, self.margin = p, margin

    def forward(self, input, target):
        return F.multi_margin_loss(input, target, p=self.p, margin=self.margin,
                                   weight=self.weight, reduction=self.reduction)


HingeLoss = MultiMarginLoss


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence; ``input`` holds log-probabilities.

    Args:
        reduction (str): 'mean' (over elements, PyTorch's default), 'batchmean' (the true
            KL divergence per sample), 'sum' or 'none'.
        log_target (bool): target given as log-probabilities. Default False.
    """

    _allowed = _REDUCTIONS + ("batchmean",)

    def __init__(self, *, reduction: str = "mean", log_target: bool = False):
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class SoftMarginLoss(_Loss):
    """Logistic loss ``log(1 + exp(-y x))`` for targets +-1.

    Args:
        reduction (str): Default 'mean'.
    """

    def __init__(self, *, reduction: str = "mean"):
        super().__init__(reduction)

    def forward(self, input, target):
        return F.soft_margin_loss(input, target, reduction=self.reduction)

"""Pre- and in-processing bias mitigation: reweighing, a fairness penalty, a fair Trainer step.

* :func:`reweighing` (Kamiran & Calders 2012): weight ``P(A=a) P(Y=y) / P(A=a, Y=y)`` per
  sample, so that label and group are independent in the weighted data; use the weights in the
  loss (:func:`fair_step` with ``weighted=True``) or in a ``WeightedRandomSampler``.
* :func:`fairness_penalty`: a differentiable gap between group means of the predicted positive
  probability, added to the loss with a strength ``lambda``: demographic parity
  ``sum_g |E_g[p] - E[p]|``, equalized odds the same within each true label.
* :func:`fair_step`: a ``Trainer`` step for targets packed as ``(y, group[, weight])`` columns
  (:func:`pack_targets`), so the sensitive attribute travels through the ordinary loader.
"""

from __future__ import annotations

from .. import backend as B
from .. import functional as F
from ..autograd.tensor import Tensor
from ..errors import check
from ..metrics._util import as_array
from ..train.step import split_batch
from .metrics import group_codes

__all__ = ["reweighing", "fairness_penalty", "positive_proba", "pack_targets", "fair_step",
           "CONSTRAINTS"]

np = B.np
CONSTRAINTS = ("demographic_parity", "equalized_odds")


def reweighing(y, sensitive_features):
    """Kamiran & Calders' weights: ``w = P(A=a) P(Y=y) / P(A=a, Y=y)`` for each sample.

    Args:
        y: labels ``(N,)``.
        sensitive_features: group column(s), as
            :func:`~lamina.fairness.group_metrics`.

    Returns:
        float32 array ``(N,)`` with mean 1; the weighted data has ``P_w(Y=y | A=a) = P(Y=y)``.

    Note:
        The weights change the label distribution, not the group information other features
        carry: on HMDA (``afam`` not a feature) they move the mean predicted probabilities but
        cut the demographic-parity gap of 0.5-threshold decisions by only 4-11% over seeds
        (docs/responsible.md); :func:`fair_step` with a penalty acts on the decisions.

    Example:
        >>> w = reweighing(y_train, afam_train)
        >>> sampler = lamina.data.WeightedRandomSampler(w, num_samples=len(w))
    """
    t = as_array(y).reshape(-1)
    codes, _, _ = group_codes(sensitive_features, len(t), "reweighing")
    _, yc = np.unique(t, return_inverse=True)
    n = len(t)
    joint = np.zeros((codes.max() + 1, yc.max() + 1))
    np.add.at(joint, (codes, yc), 1.0)
    pa, py = joint.sum(1) / n, joint.sum(0) / n
    w = pa[codes] * py[yc] / (joint[codes, yc] / n)
    return w.astype(np.float32)


def positive_proba(outputs):
    """Probability of the positive class from logits ``(N, 2)`` (softmax) or ``(N,)``/
    ``(N, 1)`` (sigmoid), as a differentiable ``(N,)`` Tensor."""
    if outputs.ndim == 2 and outputs.shape[1] == 2:
        return F.sigmoid(outputs[:, 1] - outputs[:, 0])
    return F.sigmoid(outputs.reshape(-1))


def _group_mean_gaps(p, codes, mask=None):
    """sum_g |mean_g(p) - mean(p)| over the groups present (within ``mask``): one matmul with
    a constant (N, G) matrix of group-averaging weights."""
    m = np.ones(len(codes), bool) if mask is None else mask
    if not m.any():
        return None
    present = np.unique(codes[m])
    onehot = (codes[:, None] == present[None]) & m[:, None]
    avg = onehot / onehot.sum(0, keepdims=True) - (m / m.sum())[:, None]
    return (p @ Tensor(avg.astype(p.dtype))).abs().sum()


def fairness_penalty(outputs, sensitive_features, targets=None,
                     constraint: str = "demographic_parity"):
    """A differentiable group-gap regularizer on the predicted positive probability.

    Args:
        outputs (Tensor): logits ``(N, 2)`` or ``(N,)``.
        sensitive_features: group per sample ``(N,)`` (or several columns).
        targets: true labels ``(N,)``; needed for ``"equalized_odds"``.
        constraint (str): ``"demographic_parity"`` (default): ``sum_g |E_g[p] - E[p]|``;
            ``"equalized_odds"``: that sum within each true label, added over labels.

    Returns:
        Tensor: scalar penalty (0 when only one group is present).

    Example:
        >>> loss = F.cross_entropy(out, y) + 2.0 * fairness_penalty(out, a)
    """
    check(constraint in CONSTRAINTS, "fairness_penalty", f"constraint in {CONSTRAINTS}",
          repr(constraint), cls=ValueError)
    p = positive_proba(outputs)
    codes, _, _ = group_codes(sensitive_features, p.shape[0], "fairness_penalty")
    if constraint == "demographic_parity":
        out = _group_mean_gaps(p, codes)
    else:
        check(targets is not None, "fairness_penalty", "targets for equalized_odds", "None",
              cls=ValueError)
        t = as_array(targets).reshape(-1)
        out = None
        for label in np.unique(t):
            term = _group_mean_gaps(p, codes, t == label)
            out = term if out is None else (out if term is None else out + term)
    return out if out is not None else (p * 0.0).sum()


def pack_targets(y, sensitive, weights=None):
    """Targets ``(N, 2)`` int64 ``[y, group code]`` (or ``(N, 3)`` float32 with weights) for
    :func:`fair_step`, so an ordinary ``(X, targets)`` loader carries the groups."""
    t = as_array(y).reshape(-1)
    codes, _, _ = group_codes(sensitive, len(t), "pack_targets")
    if weights is None:
        return np.stack([t.astype(np.int64), codes], 1)
    return np.stack([t, codes, as_array(weights).reshape(-1)], 1).astype(np.float32)


def fair_step(strength: float = 0.0, constraint: str = "demographic_parity",
              weighted: bool = False):
    """A ``Trainer`` step: cross-entropy (optionally sample-weighted) plus
    ``strength * fairness_penalty``, for targets from :func:`pack_targets`.

    Args:
        strength (float): penalty weight ``lambda`` >= 0. Default 0 (plain training).
        constraint (str): see :func:`fairness_penalty`. Default ``"demographic_parity"``.
        weighted (bool): targets carry a third column of loss weights (e.g.
            :func:`reweighing`). Default False.

    Returns:
        callable ``step(trainer, batch) -> dict`` (logs ``loss`` and ``penalty``).
    """
    check(strength >= 0, "fair_step", "strength >= 0", repr(strength), cls=ValueError)

    def step(trainer, batch):
        x, packed = split_batch(batch)
        arr = packed.array
        y = Tensor(arr[:, 0].astype(np.int64))
        a = arr[:, 1].astype(np.int64)
        opt = trainer.optimizer
        opt.zero_grad()
        out = trainer.model(x)
        if weighted:
            w = Tensor(arr[:, 2].astype(out.dtype))
            loss = (F.cross_entropy(out, y, reduction="none") * w).sum() / float(arr[:, 2].sum())
        else:
            loss = F.cross_entropy(out, y)
        pen = fairness_penalty(out, a, arr[:, 0], constraint) if strength > 0 else None
        total = loss + strength * pen if pen is not None else loss
        total.backward()
        opt.step()
        logs = {"loss": loss.item(), "y_pred": out.array, "y_true": arr[:, 0].astype(np.int64)}
        if pen is not None:
            logs["penalty"] = pen.item()
        return logs
    return step

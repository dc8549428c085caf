"""Membership inference: does a trained model reveal which examples it was trained on?

Two attacks that need no shadow models (ML Privacy Meter's population setting):

* ``"loss"`` (Yeom et al. 2018): members tend to have lower loss; the score is ``-loss``.
* ``"lira"``, a shadow-free likelihood ratio (after Carlini et al. 2022's offline LiRA): the
  true-class confidence is logit-scaled, ``phi = log(p / (1 - p))``, which is close to Gaussian;
  without shadow models the "out" distribution of each example is estimated from the
  non-members *of its class*, ``N(mu_c, s_c^2)``, and the example scores
  ``(phi - mu_c) / s_c`` (the one-sided Gaussian likelihood ratio's ranking). The per-class
  calibration is what makes it differ from the loss attack: an easy class no longer hides a
  memorised hard example of another class, which shows at low false-positive rates.

Both report the ROC curve, its AUC (0.5 = no leakage) and the TPR at FPR 1% and 0.1%.
"""

from __future__ import annotations

from .. import backend as B
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..errors import check
from ..metrics._util import as_array

__all__ = ["membership_inference", "per_example_loss", "roc_curve_scores"]

np = B.np


def per_example_loss(model, x, y, batch_size: int = 512):
    """Cross-entropy of every example and its true-class probability, in eval mode.

    Args:
        model (Module): classifier returning logits ``(N, C)``.
        x: inputs ``(N, ...)``. y: labels ``(N,)``. batch_size (int): Default 512.

    Returns:
        ``(loss, p_true)``: float64 arrays ``(N,)``.
    """
    xa, ya = as_array(x), as_array(y).astype(np.int64).reshape(-1)
    check(len(xa) == len(ya), "membership_inference", "one label per example",
          f"{len(ya)} labels for {len(xa)} examples")
    was = model.training
    model.eval()
    outs = []
    try:
        with no_grad():
            for i in range(0, len(xa), batch_size):
                outs.append(as_array(model(Tensor(xa[i:i + batch_size]))).astype(np.float64))
    finally:
        model.train(was)
    z = np.concatenate(outs)
    z = z - z.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    lt = logp[np.arange(len(ya)), ya]
    return -lt, np.exp(lt)


def roc_curve_scores(member_scores, non_member_scores):
    """ROC of "member" scores against non-member scores (higher = more likely member).

    Returns:
        ``(fpr, tpr, auc)``: arrays over all thresholds (from (0, 0) to (1, 1)) and the area
        (ties count one half).
    """
    s = np.concatenate([member_scores, non_member_scores])
    lab = np.concatenate([np.ones(len(member_scores)), np.zeros(len(non_member_scores))])
    order = np.argsort(-s, kind="stable")
    s, lab = s[order], lab[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # end of each run of tied scores
    tp, fp = np.cumsum(lab)[last], np.cumsum(1 - lab)[last]
    tpr = np.r_[0.0, tp / max(lab.sum(), 1)]
    fpr = np.r_[0.0, fp / max((1 - lab).sum(), 1)]
    auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    return fpr, tpr, auc


def _summary(mem, non, fprs):
    fpr, tpr, auc = roc_curve_scores(mem, non)
    at = {f: float(tpr[np.searchsorted(fpr, f, side="right") - 1]) for f in fprs}
    return {"auc": auc, "tpr_at_fpr": at, "fpr": fpr, "tpr": tpr}


def membership_inference(model, members, non_members, attacks=("loss", "lira"),
                         fprs=(0.01, 0.001), batch_size: int = 512) -> dict:
    """Run membership-inference attacks on a classifier.

    Args:
        model (Module): the attacked classifier (logits out).
        members: ``(x, y)`` of training examples. non_members: ``(x, y)`` never trained on
            (same distribution).
        attacks (sequence): ``"loss"`` and/or ``"lira"``. Default both.
        fprs (sequence): false-positive rates at which the TPR is reported.
            Default (0.01, 0.001).
        batch_size (int): evaluation batch. Default 512.

    Returns:
        dict attack -> ``{"auc", "tpr_at_fpr": {fpr: tpr}, "fpr", "tpr"}``, plus
        ``"train_loss"`` and ``"test_loss"`` (mean losses).

    Example:
        >>> r = membership_inference(model, (x_train, y_train), (x_test, y_test))
        >>> r["loss"]["auc"], r["lira"]["tpr_at_fpr"][0.01]
    """
    bad = [a for a in attacks if a not in ("loss", "lira")]
    check(not bad, "membership_inference", "attacks among ('loss', 'lira')", repr(bad),
          cls=ValueError)
    lm, pm = per_example_loss(model, members[0], members[1], batch_size)
    ln, pn = per_example_loss(model, non_members[0], non_members[1], batch_size)
    out = {"train_loss": float(lm.mean()), "test_loss": float(ln.mean())}
    if "loss" in attacks:
        out["loss"] = _summary(-lm, -ln, fprs)
    if "lira" in attacks:
        eps = 1e-12
        phi_m = np.log(pm + eps) - np.log1p(-pm + eps)
        phi_n = np.log(pn + eps) - np.log1p(-pn + eps)
        ym = as_array(members[1]).astype(np.int64).reshape(-1)
        yn = as_array(non_members[1]).astype(np.int64).reshape(-1)
        k = int(max(ym.max(), yn.max())) + 1
        cnt = np.bincount(yn, minlength=k).astype(np.float64)
        mu = np.where(cnt > 0, np.bincount(yn, phi_n, k) / np.maximum(cnt, 1), phi_n.mean())
        var = np.bincount(yn, (phi_n - mu[yn]) ** 2, k) / np.maximum(cnt, 1)
        sd = np.sqrt(np.where(cnt > 1, var, phi_n.var())) + 1e-6
        out["lira"] = _summary((phi_m - mu[ym]) / sd[ym], (phi_n - mu[yn]) / sd[yn], fprs)
    return out

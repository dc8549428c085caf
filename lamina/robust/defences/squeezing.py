"""Feature-squeezing detection (Xu, Evans & Qi 2018): an input whose prediction moves a lot
when it is squeezed (bit depth, median smoothing) is flagged as adversarial."""

from __future__ import annotations

from ... import backend as B
from ...errors import check
from .._util import as_array, frozen, logits_of
from .transforms import BitDepthReduction, MedianSmoothing

np = B.np

__all__ = ["FeatureSqueezing", "roc_curve"]


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def roc_curve(scores_clean, scores_adv):
    """ROC of a detector that flags scores above a threshold.

    Args:
        scores_clean (array): detector scores of clean inputs ``(n0,)`` (negatives).
        scores_adv (array): scores of adversarial inputs ``(n1,)`` (positives).

    Returns:
        tuple: ``(fpr, tpr, thresholds, auc)``; fpr/tpr rise from 0 to 1.
    """
    s = np.concatenate([B.to_host(scores_clean), B.to_host(scores_adv)])
    lab = np.concatenate([np.zeros(len(scores_clean)), np.ones(len(scores_adv))])
    order = np.argsort(-s, kind="stable")
    s, lab = s[order], lab[order]
    tp, fp = np.cumsum(lab), np.cumsum(1 - lab)
    keep = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tpr = np.r_[0.0, tp[keep] / max(lab.sum(), 1)]
    fpr = np.r_[0.0, fp[keep] / max((1 - lab).sum(), 1)]
    thr = np.r_[np.inf, s[keep]]
    return fpr, tpr, thr, float(np.trapezoid(tpr, fpr))


class FeatureSqueezing:
    """Score = max over squeezers of ``||softmax(f(x)) - softmax(f(squeeze(x)))||_1``.

    Args:
        model (Module): the classifier.
        squeezers (sequence): array transforms. Default ``(BitDepthReduction(1),
            MedianSmoothing(2))`` (the paper's MNIST pair).
        batch_size (int): evaluation batch size. Default 512.

    Example:
        >>> fs = FeatureSqueezing(model).fit(x_clean, fpr=0.05)
        >>> fs.detect(x_adv).mean()       # detection rate
    """

    def __init__(self, model, squeezers=None, batch_size: int = 512):
        self.model = model
        self.squeezers = list(squeezers) if squeezers is not None else [
            BitDepthReduction(1), MedianSmoothing(2)]
        self.batch_size = int(batch_size)
        self.threshold = None

    def score(self, x):
        """Detector scores ``(N,)`` (host array) for inputs ``(N, C, H, W)``."""
        xa = as_array(x)
        with frozen(self.model):
            p = _softmax(B.to_host(logits_of(self.model, xa, self.batch_size)))
            out = np.zeros(len(xa), dtype=p.dtype)
            for sq in self.squeezers:
                q = _softmax(B.to_host(logits_of(self.model, sq(xa), self.batch_size)))
                out = np.maximum(out, np.abs(p - q).sum(axis=1))
        return out

    def fit(self, x_clean, fpr: float = 0.05):
        """Set the threshold so that a fraction ``fpr`` of clean inputs is flagged."""
        check(0 < fpr < 1, "FeatureSqueezing.fit", "0 < fpr < 1", f"fpr={fpr}")
        self.threshold = float(np.quantile(self.score(x_clean), 1 - fpr))
        return self

    def detect(self, x):
        """Boolean flags ``(N,)``: score above the fitted threshold."""
        check(self.threshold is not None, "FeatureSqueezing.detect", "a fitted threshold",
              "none", "call fit(x_clean) first")
        return self.score(x) > self.threshold

    def roc(self, x_clean, x_adv):
        """:func:`roc_curve` of the scores of clean vs adversarial inputs."""
        return roc_curve(self.score(x_clean), self.score(x_adv))

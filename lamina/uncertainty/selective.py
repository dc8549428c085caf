"""Selective prediction: answer only the most confident fraction of inputs (Geifman &
El-Yaniv 2017). The risk-coverage curve gives the error rate among the accepted inputs at each
coverage; its area (AURC) is lower for a confidence that ranks mistakes last.
"""

from __future__ import annotations

from .. import backend as B
from ..errors import check
from ..metrics._util import as_array, to_labels

np = B.np

__all__ = ["risk_coverage_curve", "aurc"]


def risk_coverage_curve(probs, y_true, confidence=None) -> dict:
    """Risk (error rate) and accuracy of the k most confident predictions, k = 1..N.

    Args:
        probs: ``(N, C)`` probabilities (or logits: only the argmax and, by default, the max
            are used) of a classifier.
        y_true: labels ``(N,)``.
        confidence: ``(N,)`` scores to rank by (e.g. minus the predictive entropy, an OOD
            score). Default: the max of ``probs``.

    Returns:
        dict of ``(N,)`` arrays: ``coverage`` (k / N), ``risk``, ``accuracy`` and
        ``threshold`` (the k-th confidence), plus ``aurc`` (float, mean risk over coverages).

    Example:
        >>> rc = risk_coverage_curve(p_test, y_test)
        >>> rc["accuracy"][int(0.8 * len(y_test)) - 1]      # accuracy at 80% coverage
    """
    p, t = as_array(probs), to_labels(as_array(y_true)).reshape(-1)
    check(p.ndim == 2 and len(p) == len(t) and len(t) > 0, "risk_coverage_curve",
          "probs (N, C) and labels (N,) with N > 0", f"probs {p.shape} and labels {t.shape}")
    conf = p.max(axis=1) if confidence is None else as_array(confidence).reshape(-1)
    check(len(conf) == len(t), "risk_coverage_curve", "one confidence per sample",
          f"{len(conf)} for {len(t)} samples")
    order = np.argsort(-conf.astype(np.float64), kind="stable")
    wrong = (p.argmax(axis=1) != t)[order].astype(np.float64)
    k = np.arange(1, len(t) + 1)
    risk = np.cumsum(wrong) / k
    return {"coverage": k / len(t), "risk": risk, "accuracy": 1.0 - risk,
            "threshold": conf[order], "aurc": float(risk.mean())}


def aurc(probs, y_true, confidence=None) -> float:
    """Area under the risk-coverage curve (lower is better); see
    :func:`risk_coverage_curve`."""
    return risk_coverage_curve(probs, y_true, confidence)["aurc"]

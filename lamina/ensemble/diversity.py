"""Diversity of ensemble members (seed Q37): how often two classifiers disagree, and Yule's
Q-statistic of their errors (Kuncheva & Whitaker 2003)."""

from __future__ import annotations

from .. import backend as B
from ..errors import check

__all__ = ["disagreement", "q_statistic", "pairwise_diversity"]

np = B.np


def _labels(op, *arrays):
    out = [np.asarray(a).reshape(-1) for a in arrays]
    check(len({len(a) for a in out}) == 1, op, "label arrays of one length",
          str([len(a) for a in out]))
    return out


def disagreement(pred_a, pred_b) -> float:
    """Fraction of samples on which two classifiers predict different labels.

    Args:
        pred_a: one member's predicted labels ``(N,)``.
        pred_b: the other's ``(N,)``.

    Returns:
        float in [0, 1] (0: identical members).
    """
    a, b = _labels("disagreement", pred_a, pred_b)
    return float(np.mean(a != b)) if a.size else 0.0


def q_statistic(pred_a, pred_b, y_true) -> float:
    """Yule's Q of two classifiers' correctness:
    ``(N11 N00 - N01 N10) / (N11 N00 + N01 N10)``, with ``N11`` both right, ``N00`` both wrong.

    Args:
        pred_a: one member's predicted labels ``(N,)``.
        pred_b: the other's ``(N,)``.
        y_true: true labels ``(N,)``.

    Returns:
        float in [-1, 1]: 1 when the members err together, near 0 for independent errors,
        negative when one is right where the other is wrong; 1.0 when undefined (no errors).
    """
    a, b, y = _labels("q_statistic", pred_a, pred_b, y_true)
    ca, cb = a == y, b == y
    n11, n00 = np.sum(ca & cb), np.sum(~ca & ~cb)
    n10, n01 = np.sum(ca & ~cb), np.sum(~ca & cb)
    den = float(n11 * n00 + n01 * n10)
    return float((n11 * n00 - n01 * n10) / den) if den > 0 else 1.0


def pairwise_diversity(preds, y_true) -> dict:
    """Mean disagreement and Q-statistic over every pair of members.

    Args:
        preds: ``(M, N)`` predicted labels of ``M >= 2`` members.
        y_true: ``(N,)`` true labels.

    Returns:
        dict: ``disagreement``, ``q_statistic`` (pair means) and ``member_accuracy`` (mean).
    """
    p = np.asarray(preds)
    check(p.ndim == 2 and p.shape[0] >= 2, "pairwise_diversity", "(M, N) labels, M >= 2",
          f"shape {p.shape}")
    pairs = [(i, j) for i in range(len(p)) for j in range(i + 1, len(p))]
    return {"disagreement": float(np.mean([disagreement(p[i], p[j]) for i, j in pairs])),
            "q_statistic": float(np.mean([q_statistic(p[i], p[j], y_true) for i, j in pairs])),
            "member_accuracy": float(np.mean(p == np.asarray(y_true)[None, :]))}

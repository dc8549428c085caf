"""Calibration metrics: ECE, MCE, Brier score, NLL and the reliability diagram (seed Q50).

Every function takes probabilities first and labels second: ``probs`` is ``(N, C)`` (rows sum to
1) or ``(N,)`` holding P(y = 1) of a binary problem. Binning follows torchmetrics'
``calibration_error`` (the test oracle): bin edges ``linspace(0, 1, n_bins + 1)``, bins closed on
the left, and a confidence of exactly 1.0 in a bin of its own. In binary mode the confidence is
P(y = 1) and the "accuracy" is the label itself, as in torchmetrics' binary task; ``(N, C)``
input measures the top label (confidence = max probability, accuracy = argmax == y).
"""

from __future__ import annotations

from .. import backend as B
from ..errors import check
from ._util import as_array, to_labels

np = B.np

__all__ = ["calibration_bins", "expected_calibration_error", "maximum_calibration_error",
           "brier_score", "negative_log_likelihood", "reliability_diagram"]

_STRATEGIES = ("uniform", "quantile")
_KINDS = ("top_label", "classwise")


def _inputs(op, probs, y_true):
    p, t = as_array(probs), to_labels(as_array(y_true)).reshape(-1)
    if p.ndim == 2 and p.shape[1] == 1:
        p = p[:, 0]
    check(p.ndim in (1, 2), op, "probs of shape (N, C) or (N,) (binary P(y = 1))", f"{p.shape}")
    check(len(p) == len(t), op, "probs and y_true with the same number of samples",
          f"probs {p.shape} and y_true {t.shape}")
    check(p.size == 0 or (float(p.min()) >= 0.0 and float(p.max()) <= 1.0), op,
          "probabilities in [0, 1] (apply softmax/sigmoid to logits first)",
          f"values in [{float(p.min()):.4g}, {float(p.max()):.4g}]" if p.size else "")
    if p.ndim == 2:
        check(t.size == 0 or (int(t.min()) >= 0 and int(t.max()) < p.shape[1]), op,
              f"labels in [0, {p.shape[1]})", f"labels in [{t.min()}, {t.max()}]")
    return p, t


def _edges(conf, n_bins, strategy, op):
    check(isinstance(n_bins, int) and n_bins >= 1, op, "n_bins an integer >= 1", repr(n_bins))
    check(strategy in _STRATEGIES, op, f"strategy in {_STRATEGIES}", repr(strategy))
    if strategy == "uniform" or conf.size == 0:
        return np.linspace(0.0, 1.0, n_bins + 1)
    q = np.quantile(conf.astype(np.float64), np.linspace(0.0, 1.0, n_bins + 1))
    q[0], q[-1] = 0.0, 1.0
    return np.unique(q)


def _confidences(p, t, kind, op):
    """(confidences, hits) pairs to bin: one pair per sample (top label, binary) or one set
    per class (classwise)."""
    check(kind in _KINDS, op, f"kind in {_KINDS}", repr(kind))
    if p.ndim == 1:
        return [(p, (t == 1).astype(p.dtype))]
    if kind == "classwise":
        return [(p[:, k], (t == k).astype(p.dtype)) for k in range(p.shape[1])]
    return [(p.max(axis=1), (p.argmax(axis=1) == t).astype(p.dtype))]


def _bin(conf, hits, edges):
    """Per-bin mean accuracy, mean confidence and count; slot ``len(edges) - 1`` holds the
    confidences equal to 1.0 (torchmetrics' convention)."""
    nb = len(edges)
    idx = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, nb - 1)
    count = np.bincount(idx, minlength=nb).astype(np.float64)
    csum = np.bincount(idx, weights=conf.astype(np.float64), minlength=nb)
    asum = np.bincount(idx, weights=hits.astype(np.float64), minlength=nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.nan_to_num(asum / count)
        mconf = np.nan_to_num(csum / count)
    return acc, mconf, count


def calibration_bins(probs, y_true, n_bins: int = 15, strategy: str = "uniform") -> dict:
    """Top-label (or binary) reliability bins: what the ECE and the diagram are made of.

    Args:
        probs: ``(N, C)`` probabilities or ``(N,)`` P(y = 1).
        y_true: labels ``(N,)``.
        n_bins (int): number of bins. Default 15.
        strategy (str): ``"uniform"`` (equal width, default) or ``"quantile"`` (equal count).

    Returns:
        dict: ``edges`` (B + 1,), and per bin ``accuracy``, ``confidence``, ``count`` (B + 1,
        the last slot holds confidences equal to 1.0).
    """
    p, t = _inputs("calibration_bins", probs, y_true)
    ((conf, hits),) = _confidences(p, t, "top_label", "calibration_bins")
    edges = _edges(conf, n_bins, strategy, "calibration_bins")
    acc, mconf, count = _bin(conf, hits, edges)
    return {"edges": edges, "accuracy": acc, "confidence": mconf, "count": count}


def _calibration_error(op, probs, y_true, n_bins, strategy, kind, norm):
    p, t = _inputs(op, probs, y_true)
    if p.size == 0:
        return 0.0
    errs = []
    for conf, hits in _confidences(p, t, kind, op):
        acc, mconf, count = _bin(conf, hits, _edges(conf, n_bins, strategy, op))
        gap = np.abs(acc - mconf)
        errs.append(float(np.sum(gap * count / count.sum())) if norm == "l1"
                    else float(gap[count > 0].max()))
    return float(np.mean(errs))


def expected_calibration_error(probs, y_true, n_bins: int = 15, strategy: str = "uniform",
                               kind: str = "top_label") -> float:
    """Expected calibration error: ``sum_b (n_b / N) |accuracy_b - confidence_b|``.

    Args:
        probs: ``(N, C)`` probabilities or ``(N,)`` P(y = 1) for a binary problem.
        y_true: labels ``(N,)`` (integers in ``[0, C)``; 0/1 for binary).
        n_bins (int): number of bins. Default 15.
        strategy (str): ``"uniform"`` equal-width bins (default; torchmetrics') or
            ``"quantile"`` equal-count bins.
        kind (str): ``"top_label"`` (default; the confidence of the argmax) or ``"classwise"``
            (the mean over classes of each class's one-vs-rest ECE, Kull et al. 2019).

    Returns:
        float in [0, 1].

    Shape:
        probs (N, C) or (N,); y_true (N,).

    Example:
        >>> expected_calibration_error([[0.9, 0.1], [0.6, 0.4]], [0, 1], n_bins=10)  # 0.35
    """
    return _calibration_error("expected_calibration_error", probs, y_true, n_bins, strategy,
                              kind, "l1")


def maximum_calibration_error(probs, y_true, n_bins: int = 15, strategy: str = "uniform",
                              kind: str = "top_label") -> float:
    """Maximum calibration error: ``max_b |accuracy_b - confidence_b|`` over bins.

    Empty bins count as a gap of 0 (torchmetrics' ``norm="max"``). Arguments as
    :func:`expected_calibration_error`.

    Returns:
        float in [0, 1].
    """
    return _calibration_error("maximum_calibration_error", probs, y_true, n_bins, strategy,
                              kind, "max")


def brier_score(probs, y_true) -> float:
    """Brier score: ``mean_i sum_c (p_ic - [y_i = c])^2``.

    For ``(N,)`` binary input it is ``mean_i (p_i - y_i)^2``, scikit-learn's
    ``brier_score_loss``; ``(N, 2)`` input gives twice that (both columns count).

    Args:
        probs: ``(N, C)`` probabilities or ``(N,)`` P(y = 1).
        y_true: labels ``(N,)``.

    Returns:
        float in [0, 2].

    Example:
        >>> brier_score([0.9, 0.2], [1, 0])   # (0.01 + 0.04) / 2 = 0.025
    """
    p, t = _inputs("brier_score", probs, y_true)
    if p.size == 0:
        return 0.0
    p = p.astype(np.float64)
    if p.ndim == 1:
        return float(np.mean((p - (t == 1)) ** 2))
    onehot = np.zeros_like(p)
    onehot[np.arange(len(t)), t] = 1.0
    return float(np.mean(np.sum((p - onehot) ** 2, axis=1)))


def negative_log_likelihood(probs, y_true, eps: float = 1e-12) -> float:
    """Mean negative log-probability of the true class.

    Args:
        probs: ``(N, C)`` probabilities or ``(N,)`` P(y = 1).
        y_true: labels ``(N,)``.
        eps (float): probabilities are clipped to ``[eps, 1]`` so a confident mistake costs
            ``-log(eps)`` rather than infinity. Default 1e-12.

    Returns:
        float >= 0.
    """
    p, t = _inputs("negative_log_likelihood", probs, y_true)
    if p.size == 0:
        return 0.0
    p = p.astype(np.float64)
    pt = np.where(t == 1, p, 1.0 - p) if p.ndim == 1 else p[np.arange(len(t)), t]
    return float(-np.mean(np.log(np.clip(pt, eps, 1.0))))


def reliability_diagram(probs, y_true, path=None, n_bins: int = 15, strategy: str = "uniform",
                        title: str | None = None):
    """Reliability diagram: accuracy per confidence bin with the gap to the diagonal, and a
    histogram of the confidences below it (matplotlib, Agg backend).

    Args:
        probs: ``(N, C)`` probabilities or ``(N,)`` P(y = 1).
        y_true: labels ``(N,)``.
        path (str or Path, optional): write the figure here as PNG. Default None.
        n_bins (int): number of bins. Default 15.
        strategy (str): ``"uniform"`` (default) or ``"quantile"``.
        title (str, optional): figure title; the ECE is appended.

    Returns:
        matplotlib Figure (closed after saving when ``path`` is given).
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins = calibration_bins(probs, y_true, n_bins, strategy)
    ece = expected_calibration_error(probs, y_true, n_bins, strategy)
    edges, acc, conf, count = bins["edges"], bins["accuracy"], bins["confidence"], bins["count"]
    # the 1.0 slot is drawn inside the last bin
    acc, conf, count = _fold_last(acc, conf, count)
    lo, width = edges[:-1], np.diff(edges)
    fig, (ax, axh) = plt.subplots(2, 1, figsize=(4.2, 5.0), sharex=True,
                                  gridspec_kw={"height_ratios": [3, 1]})
    filled = count > 0
    ax.bar(lo[filled], acc[filled], width[filled], align="edge", color="tab:blue",
           edgecolor="black", linewidth=0.5, label="accuracy")
    ax.bar(lo[filled], conf[filled] - acc[filled], width[filled], bottom=acc[filled],
           align="edge", color="tab:red", alpha=0.35, edgecolor="tab:red", hatch="//",
           linewidth=0.5, label="gap")
    ax.plot([0, 1], [0, 1], "k--", linewidth=1)
    ax.set(ylabel="accuracy", xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(f"{title + ': ' if title else ''}ECE {100 * ece:.2f}%", fontsize=10)
    axh.bar(lo, count / max(count.sum(), 1.0), width, align="edge", color="gray",
            edgecolor="black", linewidth=0.5)
    axh.set(xlabel="confidence", ylabel="fraction")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=80)
        plt.close(fig)
    return fig


def _fold_last(acc, conf, count):
    n = count[-2] + count[-1]
    if n > 0:
        acc = acc.copy()
        conf = conf.copy()
        acc[-2] = (acc[-2] * count[-2] + acc[-1] * count[-1]) / n
        conf[-2] = (conf[-2] * count[-2] + conf[-1] * count[-1]) / n
    c = count[:-1].copy()
    c[-1] = n
    return acc[:-1], conf[:-1], c

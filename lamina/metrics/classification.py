"""Classification metrics on labels or scores: accuracy, top-k, precision/recall/F1, confusion
matrix, log loss. Same definitions (and zero-division conventions) as scikit-learn."""

from __future__ import annotations

from .. import backend as B
from ..errors import check
from ._util import class_labels, pair, to_labels

np = B.np

__all__ = ["accuracy", "top_k_accuracy", "confusion_matrix", "precision", "recall", "f1_score",
           "fbeta_score", "precision_recall_fscore", "log_loss"]

_AVERAGES = ("binary", "macro", "micro", "weighted", None)


def accuracy(y_true, y_pred) -> float:
    """Fraction of samples whose predicted label equals the true one.

    Args:
        y_true: labels ``(N,)`` (or one-hot ``(N, C)``).
        y_pred: labels ``(N,)``, scores/logits ``(N, C)`` (argmax is taken) or binary
            probabilities ``(N,)`` (thresholded at 0.5).

    Returns:
        float in [0, 1].

    Example:
        >>> accuracy([0, 1, 2], [[.9, .1, 0], [.2, .8, 0], [.5, .4, .1]])   # 0.666...
    """
    t, p = pair("accuracy", y_true, y_pred)
    t, p = to_labels(t), to_labels(p)
    return float(np.mean(t == p)) if t.size else 0.0


def top_k_accuracy(y_true, y_score, k: int = 5) -> float:
    """Fraction of samples whose true label is among the ``k`` highest scores.

    Args:
        y_true: integer labels ``(N,)`` in ``[0, C)``.
        y_score: scores, logits or probabilities ``(N, C)``.
        k (int): how many top classes count as a hit. Default 5.

    Returns:
        float in [0, 1].
    """
    t, s = pair("top_k_accuracy", y_true, y_score)
    check(s.ndim == 2, "top_k_accuracy", "y_score of shape (N, C)", f"shape {s.shape}")
    k = min(int(k), s.shape[1])
    top = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(top == to_labels(t).reshape(-1, 1), axis=1)))


def confusion_matrix(y_true, y_pred, labels=None, num_classes: int | None = None,
                     normalize: str | None = None):
    """Counts ``C[i, j]`` of samples with true label ``labels[i]`` predicted as ``labels[j]``.

    Args:
        y_true: labels ``(N,)``.
        y_pred: labels ``(N,)`` or scores ``(N, C)``.
        labels (sequence, optional): the classes, in order. Default: the sorted union of both
            arrays' labels (``range(num_classes)`` when ``num_classes`` is given). Samples whose
            labels are not listed are ignored.
        num_classes (int, optional): use labels ``0 .. num_classes - 1``.
        normalize (str, optional): ``"true"`` (rows sum to 1), ``"pred"`` (columns) or ``"all"``.
            Default None (counts).

    Returns:
        array ``(L, L)``: int64 counts, or float64 fractions when ``normalize`` is set.
    """
    t, p = pair("confusion_matrix", y_true, y_pred)
    t, p = to_labels(t), to_labels(p)
    if labels is None and num_classes is not None:
        labels = np.arange(num_classes)
    labs = class_labels(t, p, labels=labels)
    n = len(labs)
    order = np.argsort(labs, kind="stable")
    sorted_labs = labs[order]
    ti, tok = _index(sorted_labs, order, t)
    pi, pok = _index(sorted_labs, order, p)
    keep = tok & pok
    cm = np.bincount(ti[keep] * n + pi[keep], minlength=n * n).reshape(n, n).astype(np.int64)
    if normalize is None:
        return cm
    check(normalize in ("true", "pred", "all"), "confusion_matrix",
          "normalize in ('true', 'pred', 'all', None)", repr(normalize), cls=ValueError)
    axis = {"true": 1, "pred": 0, "all": None}[normalize]
    denom = cm.sum(axis=axis, keepdims=axis is not None)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = cm / denom
    return np.nan_to_num(out)


def _index(sorted_labs, order, values):
    """Positions of ``values`` in the (unsorted) label list and a mask of known values."""
    pos = np.clip(np.searchsorted(sorted_labs, values), 0, max(len(sorted_labs) - 1, 0))
    ok = sorted_labs[pos] == values if len(sorted_labs) else np.zeros(len(values), bool)
    return order[pos], ok


def _counts(y_true, y_pred, labels, op):
    t, p = pair(op, y_true, y_pred)
    t, p = to_labels(t), to_labels(p)
    labs = class_labels(t, p, labels=labels)
    tp = np.array([np.sum((t == c) & (p == c)) for c in labs], dtype=np.float64)
    pred = np.array([np.sum(p == c) for c in labs], dtype=np.float64)
    true = np.array([np.sum(t == c) for c in labs], dtype=np.float64)
    return labs, tp, pred, true


def _divide(num, den, zero_division):
    num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
    out = np.full(np.broadcast(num, den).shape, float(zero_division))
    np.divide(num, den, out=out, where=den != 0)
    return out


def precision_recall_fscore(y_true, y_pred, average: str | None = "binary", labels=None,
                            pos_label=1, beta: float = 1.0, zero_division: float = 0.0):
    """Precision, recall and F-beta together (scikit-learn's ``precision_recall_fscore_support``).

    Args:
        y_true: labels ``(N,)``.
        y_pred: labels ``(N,)``, scores ``(N, C)`` or binary probabilities ``(N,)``.
        average (str or None): ``"binary"`` (the ``pos_label`` class only; default),
            ``"macro"`` (unweighted mean over classes), ``"micro"`` (global counts),
            ``"weighted"`` (mean weighted by each class's support) or None (per class).
        labels (sequence, optional): classes to include. Default: all seen.
        pos_label: the positive class for ``"binary"``. Default 1.
        beta (float): recall's weight in the F-score. Default 1.
        zero_division (float): value of a ratio whose denominator is 0. Default 0.

    Returns:
        ``(precision, recall, fscore)``: floats, or arrays ``(L,)`` when ``average`` is None.
    """
    check(average in _AVERAGES, "precision_recall_fscore",
          "average in ('binary', 'macro', 'micro', 'weighted', None)", repr(average),
          cls=ValueError)
    if average == "binary":
        labs, *_ = _counts(y_true, y_pred, None, "precision_recall_fscore")
        check(len(labs) <= 2, "precision_recall_fscore",
              "at most 2 classes for average='binary'", f"{len(labs)} classes {labs.tolist()}",
              "pass average='macro', 'micro' or 'weighted'", cls=ValueError)
        labels = [pos_label]
    labs, tp, pred, true = _counts(y_true, y_pred, labels, "precision_recall_fscore")
    b2 = float(beta) ** 2
    if average == "micro":
        tp, pred, true = tp.sum(), pred.sum(), true.sum()
    prec = _divide(tp, pred, zero_division)
    rec = _divide(tp, true, zero_division)
    f = _divide((1 + b2) * tp, b2 * true + pred, zero_division)
    if average is None:
        return prec, rec, f
    if average == "weighted":
        if true.sum() == 0:
            return (float(zero_division),) * 3
        w = true / true.sum()
        return tuple(float(np.sum(v * w)) for v in (prec, rec, f))
    return tuple(float(np.mean(v)) for v in (prec, rec, f))


def precision(y_true, y_pred, average: str | None = "binary", **kw):
    """Precision ``tp / (tp + fp)``; arguments as :func:`precision_recall_fscore`."""
    return precision_recall_fscore(y_true, y_pred, average=average, **kw)[0]


def recall(y_true, y_pred, average: str | None = "binary", **kw):
    """Recall ``tp / (tp + fn)``; arguments as :func:`precision_recall_fscore`."""
    return precision_recall_fscore(y_true, y_pred, average=average, **kw)[1]


def f1_score(y_true, y_pred, average: str | None = "binary", **kw):
    """F1 ``2 tp / (2 tp + fp + fn)``; arguments as :func:`precision_recall_fscore`."""
    return precision_recall_fscore(y_true, y_pred, average=average, beta=1.0, **kw)[2]


def fbeta_score(y_true, y_pred, beta: float, average: str | None = "binary", **kw):
    """F-beta score; arguments as :func:`precision_recall_fscore`."""
    return precision_recall_fscore(y_true, y_pred, average=average, beta=beta, **kw)[2]


def log_loss(y_true, y_proba, labels=None, eps: float | None = None) -> float:
    """Mean negative log-likelihood of the true class (cross-entropy of probabilities).

    Args:
        y_true: labels ``(N,)``.
        y_proba: probabilities ``(N, C)`` (columns in sorted label order) or the positive
            class's probability ``(N,)`` for binary problems.
        labels (sequence, optional): the classes of the columns. Default: sorted ``y_true``.
        eps (float, optional): probabilities are clipped to ``[eps, 1 - eps]``. Default: the
            machine epsilon of ``y_proba``'s dtype (scikit-learn's ``"auto"``).

    Returns:
        float >= 0.
    """
    t, p = pair("log_loss", y_true, y_proba)
    t = to_labels(t)
    labs = np.sort(class_labels(t, labels=labels))
    if p.ndim == 1 or p.shape[1] == 1:
        p = p.reshape(-1)
        p = np.stack([1.0 - p, p], axis=1)
        if len(labs) == 1:
            labs = np.array([0, 1]) if labs[0] in (0, 1) else labs
    check(p.shape[1] == len(labs), "log_loss", f"{len(labs)} probability columns (one per "
          "class)", f"{p.shape[1]}", "pass labels=... listing every class", cls=ValueError)
    eps = np.finfo(p.dtype if p.dtype.kind == "f" else np.float64).eps if eps is None else eps
    p = np.clip(p.astype(np.float64), eps, 1 - eps)
    idx = np.searchsorted(labs, t)
    return float(-np.mean(np.log(p[np.arange(len(t)), idx])))

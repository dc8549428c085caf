"""Metrics for imbalanced classes (seed Q40): balanced accuracy, Matthews correlation, a
per-class report and a confusion-matrix figure. Definitions as scikit-learn's (the tests
compare). PR-AUC is :func:`lamina.metrics.pr_auc`; macro/weighted F1 are ``f1_score``'s
``average=``."""

from __future__ import annotations

from .. import backend as B
from ._util import class_labels, pair, to_labels
from .classification import confusion_matrix, precision_recall_fscore
from .registry import register_metric

np = B.np

__all__ = ["balanced_accuracy", "matthews_corrcoef", "mcc", "classification_report",
           "plot_confusion_matrix"]


def _labels_pair(op, y_true, y_pred):
    t, p = pair(op, y_true, y_pred)
    return to_labels(t), to_labels(p)


def balanced_accuracy(y_true, y_pred) -> float:
    """Mean recall over the classes present in ``y_true`` (chance level: ``1 / C``).

    Args:
        y_true: labels ``(N,)``.
        y_pred: labels ``(N,)`` or scores ``(N, C)`` (argmax).

    Returns:
        float in [0, 1].

    Example:
        >>> balanced_accuracy([0, 0, 0, 1], [0, 0, 0, 0])   # 0.5, where accuracy is 0.75
    """
    t, p = _labels_pair("balanced_accuracy", y_true, y_pred)
    labs = np.unique(t)
    cm = confusion_matrix(t, p, labels=class_labels(t, p))
    all_labs = class_labels(t, p)
    rows = np.searchsorted(all_labs, labs)
    recall = cm[rows, rows] / np.maximum(cm[rows].sum(axis=1), 1)
    return float(recall.mean()) if labs.size else 0.0


def matthews_corrcoef(y_true, y_pred) -> float:
    """Matthews correlation coefficient (multi-class ``R_K`` of Gorodkin), in [-1, 1].

    Args:
        y_true: labels ``(N,)``.
        y_pred: labels ``(N,)`` or scores ``(N, C)``.

    Returns:
        float: 1 perfect, 0 chance, -1 inverse; 0 when undefined (a constant prediction).
    """
    t, p = _labels_pair("matthews_corrcoef", y_true, y_pred)
    cm = confusion_matrix(t, p, labels=class_labels(t, p)).astype(np.float64)
    tk, pk = cm.sum(axis=1), cm.sum(axis=0)
    c, s = np.trace(cm), cm.sum()
    cov_tp = c * s - tk @ pk
    cov_pp, cov_tt = s * s - pk @ pk, s * s - tk @ tk
    den = np.sqrt(cov_pp * cov_tt)
    return float(cov_tp / den) if den > 0 else 0.0


mcc = matthews_corrcoef


def classification_report(y_true, y_pred, labels=None, target_names=None, digits: int = 3):
    """Precision, recall, F1 and support per class, plus macro and weighted averages.

    Args:
        y_true, y_pred: labels ``(N,)`` (``y_pred`` may be scores ``(N, C)``).
        labels: the classes to report; default every label seen.
        target_names: display names, one per label. Default the labels.
        digits (int): decimals in the text. Default 3.

    Returns:
        tuple ``(report, text)``: ``report`` maps each name (and ``"macro avg"``,
        ``"weighted avg"``) to ``{"precision", "recall", "f1", "support"}``, plus
        ``"accuracy"``, ``"balanced_accuracy"`` and ``"mcc"``; ``text`` is a printable table.
    """
    t, p = _labels_pair("classification_report", y_true, y_pred)
    labs = class_labels(t, p, labels=labels)
    prec, rec, f1 = precision_recall_fscore(t, p, average=None, labels=labs)
    sup = (t.reshape(-1, 1) == labs.reshape(1, -1)).sum(axis=0)
    names = [str(n) for n in (target_names if target_names is not None else labs.tolist())]
    report = {n: {"precision": float(a), "recall": float(b), "f1": float(c), "support": int(d)}
              for n, a, b, c, d in zip(names, prec, rec, f1, sup)}
    total = max(int(sup.sum()), 1)
    for key, w in (("macro avg", np.full(len(labs), 1.0 / max(len(labs), 1))),
                   ("weighted avg", sup / total)):
        report[key] = {"precision": float(prec @ w), "recall": float(rec @ w),
                       "f1": float(f1 @ w), "support": int(sup.sum())}
    report["accuracy"] = float(np.mean(t == p)) if t.size else 0.0
    report["balanced_accuracy"] = balanced_accuracy(t, p)
    report["mcc"] = matthews_corrcoef(t, p)
    width = max([len(n) for n in names] + [len("balanced_accuracy")])
    lines = [f"{'':>{width}} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>9}"]
    for n in [*names, "macro avg", "weighted avg"]:
        r = report[n]
        lines.append(f"{n:>{width}} {r['precision']:>9.{digits}f} {r['recall']:>9.{digits}f} "
                     f"{r['f1']:>9.{digits}f} {r['support']:>9d}")
    for k in ("accuracy", "balanced_accuracy", "mcc"):
        lines.append(f"{k:>{width}} {report[k]:>9.{digits}f}")
    return report, "\n".join(lines)


def plot_confusion_matrix(y_true, y_pred, path, labels=None, target_names=None,
                          normalize: str | None = "true", title: str = "confusion matrix"):
    """Write the confusion matrix as a PNG (rows: true class, columns: predicted).

    Args:
        y_true, y_pred: labels ``(N,)``.
        path (str or PathLike): the ``.png`` to write.
        labels, target_names: as :func:`classification_report`.
        normalize (str, optional): ``"true"`` (rows sum to 1, default), ``"pred"``, ``"all"``
            or None (counts).
        title (str): figure title.

    Returns:
        array: the matrix drawn.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    t, p = _labels_pair("plot_confusion_matrix", y_true, y_pred)
    labs = class_labels(t, p, labels=labels)
    cm = confusion_matrix(t, p, labels=labs, normalize=normalize)
    names = [str(n) for n in (target_names if target_names is not None else labs.tolist())]
    size = 2.5 + 0.35 * len(names)
    fig, ax = plt.subplots(figsize=(size, size), dpi=90)
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(names)), names, rotation=45 if len(names) > 6 else 0)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    top = float(cm.max()) if cm.size else 1.0
    for (i, j), v in np.ndenumerate(cm):
        txt = f"{v:.2f}" if normalize else f"{int(v)}"
        ax.text(j, i, txt, ha="center", va="center", fontsize=7,
                color="white" if v > 0.6 * top else "black")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return cm


register_metric("balanced_accuracy", balanced_accuracy, "label")
register_metric("mcc", matthews_corrcoef, "label")

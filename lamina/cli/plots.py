"""Figures a run writes: learning curves and a confusion matrix (matplotlib, Agg backend)."""

from __future__ import annotations

from .. import backend as B

__all__ = ["plot_curves", "plot_confusion"]


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _spans_decades(values) -> bool:
    v = B.np.asarray([x for x in values if x is not None], dtype=float)
    v = v[B.np.isfinite(v)]
    return v.size > 1 and bool((v > 0).all()) and v.max() / v.min() >= 10.0


def plot_curves(history: dict, path) -> None:
    """Loss and each metric per epoch (train vs validation), plus the learning rate.

    Epochs are counted from 1 on integer ticks, as the console prints them; a loss or learning
    rate spanning a decade or more is drawn on a log scale.

    Args:
        history (dict): name -> per-epoch list (``loss``, metrics, ``val_*``, ``lr``).
        path: where the PNG goes.
    """
    plt = _plt()
    from matplotlib.ticker import MaxNLocator
    names = [k for k in history if not k.startswith("val_") and k not in ("lr", "epoch")]
    if history.get("lr"):
        names.append("lr")
    k = max(1, len(names))
    fig, axes = plt.subplots(1, k, figsize=(4.2 * k, 3.4))
    axes = axes if hasattr(axes, "__len__") else [axes]
    for ax, name in zip(axes, names):
        ep = range(1, len(history[name]) + 1)
        ax.plot(ep, history[name], marker="." if len(ep) < 30 else None,
                label="train" if name != "lr" else None)
        series = [history[name]]
        if "val_" + name in history:
            val = history["val_" + name]
            ax.plot(range(1, len(val) + 1), val, marker="." if len(val) < 30 else None,
                    label="validation")
            series.append(val)
        if (name in ("loss", "lr")) and _spans_decades([x for s in series for x in s]):
            ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_title("learning rate" if name == "lr" else name)
        ax.grid(alpha=0.3)
        if name != "lr":
            ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_confusion(cm, class_names, path, split: str = "test") -> None:
    """A confusion matrix with counts in the cells (rows: true class, columns: predicted).

    Args:
        cm (array): ``(n, n)`` counts.
        class_names (list or None): tick labels; default ``0..n-1``.
        path: where the PNG goes.
        split (str): which data it was computed on, shown in the title. Default ``"test"``.
    """
    plt = _plt()
    cm = B.np.asarray(cm)
    n = cm.shape[0]
    fig, ax = plt.subplots(figsize=(max(3.2, 1.6 + 0.45 * n), max(3.0, 1.4 + 0.45 * n)))
    ax.imshow(cm, cmap="Blues")
    labels = [str(c) for c in (class_names or range(n))]
    ax.set_xticks(range(n), labels, rotation=45 if n > 6 else 0)
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    total = int(cm.sum())
    acc = f", accuracy {B.np.trace(cm) / total:.3f}" if total else ""
    ax.set_title(f"confusion matrix, {split} split\n(n={total}{acc})", fontsize=9)
    hi = cm.max() if cm.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if cm[i, j] > hi / 2 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

"""Figures a run writes: learning curves and a confusion matrix (matplotlib, Agg backend)."""

from __future__ import annotations

from .. import backend as B

__all__ = ["plot_curves", "plot_confusion"]


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_curves(history: dict, path) -> None:
    """Loss and each metric per epoch, train vs validation, one panel each."""
    plt = _plt()
    names = [k for k in history if not k.startswith("val_") and k not in ("lr", "epoch")]
    fig, axes = plt.subplots(1, max(1, len(names)), figsize=(4.5 * max(1, len(names)), 3.4))
    axes = axes if hasattr(axes, "__len__") else [axes]
    for ax, name in zip(axes, names):
        ep = range(1, len(history[name]) + 1)
        ax.plot(ep, history[name], label="train")
        if "val_" + name in history:
            ax.plot(range(1, len(history["val_" + name]) + 1), history["val_" + name],
                    label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_confusion(cm, class_names, path) -> None:
    """A confusion matrix with counts in the cells (rows: true class, columns: predicted)."""
    plt = _plt()
    cm = B.np.asarray(cm)
    n = cm.shape[0]
    fig, ax = plt.subplots(figsize=(1.0 + 0.45 * n, 0.8 + 0.45 * n))
    ax.imshow(cm, cmap="Blues")
    labels = [str(c) for c in (class_names or range(n))]
    ax.set_xticks(range(n), labels, rotation=45 if n > 6 else 0)
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    hi = cm.max() if cm.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if cm[i, j] > hi / 2 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

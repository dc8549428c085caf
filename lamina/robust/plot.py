"""Figures: accuracy vs eps curves and a grid of clean / adversarial / perturbation images
(matplotlib, imported lazily, Agg backend)."""

from __future__ import annotations

from .. import backend as B
from ._util import as_array

np = B.np

__all__ = ["plot_accuracy_curves", "plot_adversarial_grid"]


def _plt():
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - matplotlib is a test/docs dependency
        raise ImportError("lamina.robust.plot needs matplotlib: pip install matplotlib") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_accuracy_curves(curves, path, title="Accuracy under attack", xlabel="eps (L-inf)"):
    """Plot accuracy against eps and save a PNG.

    Args:
        curves (dict or RobustnessReport): ``{label: (eps_list, accuracies)}``, or a report
            (one curve per attack plus the worst case).
        path (str or Path): output PNG.
        title (str): figure title. Default ``"Accuracy under attack"``.
        xlabel (str): x-axis label. Default ``"eps (L-inf)"``.

    Returns:
        str: ``path``.
    """
    if not isinstance(curves, dict):
        rep = curves
        names = [k for k in rep.rows[0] if k != "eps"]
        curves = {k: ([0.0] + rep.eps, [rep.clean] + [r[k] for r in rep.rows]) for k in names}
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.4), dpi=90)
    for label, (e, a) in curves.items():
        ax.plot(e, a, marker="o", ms=3, label=label, lw=2.2 if label == "worst" else 1.2)
    ax.set(xlabel=xlabel, ylabel="accuracy", title=title, ylim=(-0.02, 1.02))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return str(path)


def plot_adversarial_grid(clean, adv, path, n: int = 8, labels=None, preds=None):
    """Rows: clean images, adversarial images, perturbations (scaled to their max).

    Args:
        clean, adv (Tensor or array): ``(N, C, H, W)`` with C in (1, 3).
        path (str or Path): output PNG.
        n (int): columns. Default 8.
        labels, preds (array, optional): true labels and predictions on ``adv`` as titles.

    Returns:
        str: ``path``.
    """
    c, a = B.to_host(as_array(clean))[:n], B.to_host(as_array(adv))[:n]
    n = len(c)
    plt = _plt()
    fig, axes = plt.subplots(3, n, figsize=(1.1 * n, 3.6), dpi=80, squeeze=False)
    d = a - c
    scale = max(float(np.abs(d).max()), 1e-12)
    for j in range(n):
        for i, (img, cmap) in enumerate(((c[j], "gray"), (a[j], "gray"),
                                         (d[j] / (2 * scale) + 0.5, "RdBu_r"))):
            im = img.transpose(1, 2, 0) if img.shape[0] == 3 else img[0]
            axes[i, j].imshow(np.clip(im, 0, 1), cmap=cmap, vmin=0, vmax=1)
            axes[i, j].axis("off")
        if labels is not None and preds is not None:
            axes[1, j].set_title(f"{int(labels[j])}->{int(preds[j])}", fontsize=7)
    for i, t in enumerate(("clean", "adversarial", "perturbation")):
        axes[i, 0].text(-0.1, 0.5, t, transform=axes[i, 0].transAxes, ha="right",
                        va="center", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return str(path)

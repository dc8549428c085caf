"""Pictures of explanations (matplotlib, Agg backend, imported on use): heat-map overlays on
images, tokens coloured by attribution (HTML), SHAP-style bar / beeswarm summaries and a
waterfall for one prediction, deletion curves and sanity-check bars. Each function returns
the matplotlib Figure and writes a PNG when ``path`` is given.
"""

from __future__ import annotations

import html

from .. import backend as B
from ._core import as_array

np = B.np

__all__ = ["overlay", "image_grid", "text_html", "summary_bar", "beeswarm", "waterfall",
           "deletion_plot", "sanity_plot"]


def _plt():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - matplotlib ships with the dev env
        raise ImportError("lamina.explain.plot needs matplotlib: pip install matplotlib") from e
    return plt


def _save(fig, path):
    if path is not None:
        fig.savefig(path, dpi=100, bbox_inches="tight")
    return fig


def _image(a):
    a = as_array(a)
    if a.ndim == 3:
        a = a[0] if a.shape[0] == 1 else np.moveaxis(a, 0, -1)
    return a


def _signed(ax, attr, image=None, alpha=0.6):
    m = _image(attr)
    if m.ndim == 3:
        m = m.sum(-1)
    lim = float(np.abs(m).max()) or 1.0
    if image is not None:
        ax.imshow(_image(image), cmap="gray")
    h = ax.imshow(m, cmap="bwr", vmin=-lim, vmax=lim, alpha=alpha if image is not None else 1)
    ax.set_xticks([])
    ax.set_yticks([])
    return h


def overlay(image, attribution, title=None, path=None, alpha=0.6):
    """One image with its signed attribution on top (diverging colormap: red positive, blue
    negative, white zero, symmetric limits).

    Args:
        image (array): ``(C, H, W)`` or ``(H, W)``.
        attribution (array): same spatial size.
        title (str or None): Default None.
        path (str or None): write a PNG there. Default None.
        alpha (float): opacity of the heat map. Default 0.6.

    Returns:
        matplotlib Figure.
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(3, 3))
    h = _signed(ax, attribution, image, alpha)
    fig.colorbar(h, ax=ax, fraction=0.046)
    if title:
        ax.set_title(title)
    return _save(fig, path)


def image_grid(images, attributions, titles=None, path=None, ncols=8, alpha=0.6):
    """A grid of overlays (one per row of ``images``), as the CLI writes them; each cell
    has its own symmetric colour limits.

    Args:
        images (array): ``(N, C, H, W)`` or ``(N, H, W)``.
        attributions (array): shaped as ``images``.
        titles (sequence or None): one per image. Default None.
        path (str or None): PNG path. Default None.
        ncols (int): cells per row (fewer when ``N`` is smaller). Default 8.
        alpha (float): opacity of the heat maps. Default 0.6.

    Returns:
        matplotlib Figure.
    """
    plt = _plt()
    images, attributions = as_array(images), as_array(attributions)
    n = len(images)
    ncols = min(ncols, n)
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.6 * ncols, 1.7 * nrows), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        if i >= n:
            ax.axis("off")
            continue
        _signed(ax, attributions[i], images[i], alpha)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def text_html(tokens, attributions, path=None) -> str:
    """Tokens coloured by attribution (red positive, blue negative) as an HTML snippet.

    Args:
        tokens (sequence of str): the words.
        attributions (sequence of float): one per token.
        path (str or None): write the HTML there. Default None.

    Returns:
        str: the HTML.
    """
    a = np.asarray(as_array(attributions), dtype=np.float64).reshape(-1)
    lim = float(np.abs(a).max()) or 1.0
    spans = []
    for tok, v in zip(tokens, a):
        s = abs(v) / lim
        rgb = (255, int(255 * (1 - s)), int(255 * (1 - s))) if v >= 0 else \
            (int(255 * (1 - s)), int(255 * (1 - s)), 255)
        spans.append(f'<span style="background: rgb{rgb}; padding: 1px 3px" '
                     f'title="{v:.4g}">{html.escape(str(tok))}</span>')
    out = "<p>" + " ".join(spans) + "</p>\n"
    if path is not None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(out)
    return out


def _names(names, d):
    return list(names) if names is not None else [f"x[{j}]" for j in range(d)]


def summary_bar(values, feature_names=None, max_display=10, path=None):
    """SHAP's bar summary: mean ``|value|`` per feature, largest on top.

    Args:
        values (array): ``(N, D)`` attributions.
        feature_names (sequence or None): Default None (``x[j]``).
        max_display (int): features shown. Default 10.
        path (str or None): PNG path. Default None.

    Returns:
        matplotlib Figure.
    """
    plt = _plt()
    v = as_array(values).reshape(len(values), -1)
    imp = np.abs(v).mean(0)
    order = np.argsort(-imp)[:max_display][::-1]
    names = _names(feature_names, v.shape[1])
    fig, ax = plt.subplots(figsize=(5, 0.35 * len(order) + 1))
    ax.barh([names[j] for j in order], imp[order], color="#1f77b4")
    ax.set_xlabel("mean |attribution|")
    return _save(fig, path)


def beeswarm(values, features, feature_names=None, max_display=10, path=None):
    """SHAP's beeswarm: one dot per row and feature at its attribution, coloured by the
    feature's value (blue low, red high), features by mean ``|value|``.

    Args:
        values (array): ``(N, D)`` attributions.
        features (array): ``(N, D)`` the explained rows.
        feature_names (sequence or None): Default None (``x[j]``).
        max_display (int): features shown. Default 10.
        path (str or None): PNG path. Default None.

    Returns:
        matplotlib Figure.
    """
    plt = _plt()
    v = as_array(values).reshape(len(values), -1)
    f = as_array(features).reshape(len(features), -1).astype(np.float64)
    order = np.argsort(-np.abs(v).mean(0))[:max_display][::-1]
    names = _names(feature_names, v.shape[1])
    fig, ax = plt.subplots(figsize=(6, 0.4 * len(order) + 1))
    rng = np.random.default_rng(0)
    for row, j in enumerate(order):
        col = f[:, j]
        span = np.ptp(col) or 1.0
        ax.scatter(v[:, j], row + rng.uniform(-0.25, 0.25, len(v)), s=8, cmap="coolwarm",
                   c=(col - col.min()) / span, vmin=0, vmax=1)
    ax.set_yticks(range(len(order)))
    ax.set_yticklabels([names[j] for j in order])
    ax.axvline(0, color="gray", lw=0.5)
    ax.set_xlabel("attribution (colour: feature value, blue low, red high)")
    return _save(fig, path)


def waterfall(values, base_value, feature_names=None, max_display=10, path=None):
    """SHAP's waterfall for one prediction: from ``E f`` (``base_value``) to ``f(x)``, one
    bar per feature (red up, blue down), the rest summed in one bar.

    Args:
        values (array): ``(D,)`` attributions of one row.
        base_value (float): the expected output (or ``f(baseline)``).
        feature_names (sequence or None): Default None (``x[j]``).
        max_display (int): features shown. Default 10.
        path (str or None): PNG path. Default None.

    Returns:
        matplotlib Figure.
    """
    plt = _plt()
    v = np.asarray(as_array(values), dtype=np.float64).reshape(-1)
    names = _names(feature_names, len(v))
    order = list(np.argsort(-np.abs(v))[:max_display])
    rest = [j for j in range(len(v)) if j not in order]
    items = [(names[j], v[j]) for j in order]
    if rest:
        items.append((f"{len(rest)} other features", float(v[rest].sum())))
    items = items[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.4 * len(items) + 1))
    start = base_value  # from E f at the bottom to f(x) at the top, as SHAP draws it
    for row, (name, val) in enumerate(items):
        ax.barh(row, val, left=start, color="#d62728" if val >= 0 else "#1f77b4")
        start += val
    ax.set_yticks(range(len(items)))
    ax.set_yticklabels([n for n, _ in items])
    ax.axvline(base_value, color="gray", lw=0.5, ls="--")
    ax.set_xlabel(f"output (E f = {base_value:.3g}, f(x) = {base_value + v.sum():.3g})")
    return _save(fig, path)


def deletion_plot(fractions, curves, path=None, ylabel="class probability"):
    """Mean deletion (or insertion) curves with their AOPC in the legend.

    Args:
        fractions (array): ``(S+1,)`` from :func:`deletion_curve`.
        curves (dict): ``{label: scores (N, S+1)}``.
        path (str or None): PNG path. Default None.

    Returns:
        matplotlib Figure.
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for label, s in curves.items():
        s = as_array(s)
        a = float((s[:, :1] - s).mean())
        ax.plot(fractions, s.mean(0), label=f"{label} (AOPC {a:.3f})")
    ax.set_xlabel("fraction of features removed")
    ax.set_ylabel(ylabel)
    ax.legend()
    return _save(fig, path)


def sanity_plot(scores, path=None):
    """Bars of the sanity check's Spearman correlation after each randomization step; a
    ``randomized_labels`` entry (the data-randomization check) is drawn in red.

    Args:
        scores (dict): ``{layer: correlation}`` from :func:`sanity_check`, optionally merged
            with its ``{"randomized_labels": correlation}``.
        path (str or None): PNG path. Default None.

    Returns:
        matplotlib Figure.
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3))
    colors = ["#d62728" if k == "randomized_labels" else "#7f7f7f" for k in scores]
    ax.bar([str(k) for k in scores], list(scores.values()), color=colors)
    ax.axhline(1.0, color="gray", lw=0.5, ls="--")
    ax.set_ylim(-0.2, 1.05)
    ax.set_ylabel("Spearman vs trained")
    xlabel = "layers randomized from the top (cumulative)"
    if "randomized_labels" in scores:
        xlabel += "; red: trained on permuted labels"
    ax.set_xlabel(xlabel)
    return _save(fig, path)

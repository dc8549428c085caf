"""``fairness_report``: the group table, a bar chart of group rates, the trade-off curve."""

from __future__ import annotations

from pathlib import Path

from .. import backend as B
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..errors import check
from ..metrics._util import as_array
from .metrics import (auc_by_group, demographic_parity_difference, demographic_parity_ratio,
                      equal_opportunity_difference, equalized_odds_difference,
                      equalized_odds_ratio, false_positive_rate, group_metrics,
                      positive_predictive_value, predictive_parity_difference, selection_rate,
                      true_positive_rate)
from .postprocessing import tradeoff_curve

__all__ = ["fairness_report", "plot_group_rates", "plot_tradeoff"]

np = B.np


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _scores(model, x, batch_size=512):
    was = model.training
    model.eval()
    outs = []
    try:
        with no_grad():
            for i in range(0, len(x), batch_size):
                outs.append(as_array(model(Tensor(x[i:i + batch_size]))).astype(np.float64))
    finally:
        model.train(was)
    z = np.concatenate(outs)
    if z.ndim == 2 and z.shape[1] == 2:
        z = z[:, 1] - z[:, 0]
    return 1.0 / (1.0 + np.exp(-z.reshape(-1)))


def plot_group_rates(frame, path, title="Rates by group") -> None:
    """Grouped bars: each metric of a :class:`GroupMetrics` for every group (PNG)."""
    plt = _plt()
    metrics = list(frame._table)
    groups = frame.groups
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    width = 0.8 / len(groups)
    for j, g in enumerate(groups):
        vals = [frame._table[m][g] for m in metrics]
        ax.bar(np.arange(len(metrics)) + (j - (len(groups) - 1) / 2) * width, vals, width,
               label=f"{g} (n={frame.group_sizes[g]})")
    ax.set_xticks(np.arange(len(metrics)), metrics)
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_tradeoff(rows, path, title="Accuracy vs fairness (group thresholds)") -> None:
    """Accuracy and the two gaps against the mitigation strength (PNG)."""
    plt = _plt()
    lam = [r["strength"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    ax.plot(lam, [r["accuracy"] for r in rows], "o-", label="accuracy")
    ax.plot(lam, [r["demographic_parity_difference"] for r in rows], "s-",
            label="demographic parity difference")
    ax.plot(lam, [r["equalized_odds_difference"] for r in rows], "^-",
            label="equalized odds difference")
    ax.set_xlabel("mitigation strength (0: one threshold, 1: parity thresholds)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def fairness_report(model, data, sensitive, out_dir=None, sensitive_name: str = "group",
                    strengths=None) -> dict:
    """Audit a binary classifier: group table, summaries, bar chart and trade-off curve.

    Args:
        model (Module): logits ``(N, 2)`` (or one logit ``(N,)``).
        data: ``(x, y)`` to audit (e.g. the test split).
        sensitive: group per sample ``(N,)`` (or several columns).
        out_dir (str or Path, optional): where ``group_rates.png``, ``tradeoff.png`` and
            ``fairness.md`` are written. Default None (nothing written).
        sensitive_name (str): the attribute's name in titles. Default ``"group"``.
        strengths (sequence, optional): trade-off curve points in [0, 1] (post-processing
            strength, see :func:`~lamina.fairness.tradeoff_curve`). Default 11 steps.

    Returns:
        dict: ``frame`` (GroupMetrics), ``summary`` (dict of fairlearn-named gaps),
        ``auc_by_group``, ``tradeoff`` (rows), ``markdown`` (str), ``figures`` (paths).

    Example:
        >>> r = fairness_report(model, (d.x_test, d.y_test), afam_test, out_dir="audit")
        >>> r["summary"]["demographic_parity_difference"]
    """
    x, y = as_array(data[0]), as_array(data[1]).reshape(-1)
    check(len(x) == len(y), "fairness_report", "one label per sample",
          f"{len(y)} labels for {len(x)} samples")
    s = _scores(model, x)
    pred = (s >= 0.5).astype(np.int64)
    kw = {"sensitive_features": sensitive}
    frame = group_metrics(y, pred, metrics={"selection_rate": selection_rate,
                                            "tpr": true_positive_rate,
                                            "fpr": false_positive_rate,
                                            "ppv": positive_predictive_value}, **kw)
    acc = group_metrics(y, pred, metrics=lambda t, p: float((t == p).mean()), **kw)
    summary = {
        "accuracy": float((pred == y).mean()),
        "demographic_parity_difference": demographic_parity_difference(y, pred, **kw),
        "demographic_parity_ratio": demographic_parity_ratio(y, pred, **kw),
        "equalized_odds_difference": equalized_odds_difference(y, pred, **kw),
        "equalized_odds_ratio": equalized_odds_ratio(y, pred, **kw),
        "equal_opportunity_difference": equal_opportunity_difference(y, pred, **kw),
        "predictive_parity_difference": predictive_parity_difference(y, pred, **kw)}
    aucs = auc_by_group(y, s, **kw).by_group
    rows = tradeoff_curve(s, y, sensitive, strengths)
    md = [f"## Fairness by {sensitive_name}", "", frame.to_markdown(), "",
          "| summary | value |", "|---|---|"]
    md += [f"| {k} | {v:.4f} |" for k, v in summary.items()]
    md += ["", "| group | accuracy | ROC-AUC |", "|---|---|---|"]
    md += [f"| {g} | {acc.by_group[g]:.4f} | {aucs[g]:.4f} |" for g in frame.groups]
    out = {"frame": frame, "summary": summary, "auc_by_group": aucs, "tradeoff": rows,
           "markdown": "\n".join(md) + "\n", "figures": []}
    if out_dir is not None:
        d = Path(out_dir)
        d.mkdir(parents=True, exist_ok=True)
        plot_group_rates(frame, d / "group_rates.png", f"Rates by {sensitive_name}")
        plot_tradeoff(rows, d / "tradeoff.png")
        (d / "fairness.md").write_text(out["markdown"], encoding="utf-8")
        out["figures"] = [str(d / "group_rates.png"), str(d / "tradeoff.png")]
    return out

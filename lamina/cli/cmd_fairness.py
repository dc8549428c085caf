"""``lamina audit RUN_DIR --sensitive COL``, and the ``[fairness]``/``[privacy]`` train sections.

``audit`` reloads a finished run, evaluates it on its test split by the groups of ``COL`` (a
dataset's protected attribute such as HMDA's ``afam``, or a feature column with few values),
and writes ``RUN_DIR/audit/``: ``fairness.md``/``fairness.json`` (group table and fairlearn-named
gaps), ``group_rates.png``, ``tradeoff.png``, ``membership.png``/``membership.json`` (loss and
likelihood-ratio membership-inference attacks, train vs test), then refreshes
``RUN_DIR/MODEL_CARD.md``.

In ``lamina train``: ``[privacy] epsilon, delta, max_grad_norm, accountant`` trains with DP-SGD
(:func:`lamina.privacy.make_private`; epsilon per epoch in the history, ``privacy.json``);
``[fairness] sensitive`` audits the run when it ends and writes its model card;
``[fairness] mitigation`` trains with reweighing or a fairness penalty (``fair_train.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

from .config import ConfigError

__all__ = ["register", "run", "audit", "privatize", "after_train", "check_sections"]

def register(subparsers) -> None:
    p = subparsers.add_parser("audit", help="fairness report, membership inference and model "
                              "card of a finished run")
    p.add_argument("run_dir")
    p.add_argument("--sensitive", required=True, metavar="COL",
                   help="protected attribute (e.g. afam for hmda) or a feature column")
    p.add_argument("--out", help="output folder (default RUN_DIR/audit)")
    p.set_defaults(func=run)


def run(args) -> int:
    _print(audit(args.run_dir, args.sensitive, args.out))
    return 0


def _print(res) -> None:
    s = res["summary"]
    print(f"accuracy {s['accuracy']:.3f}; demographic parity difference "
          f"{s['demographic_parity_difference']:.3f}; equalized odds difference "
          f"{s['equalized_odds_difference']:.3f}")
    print(f"membership inference AUC {res['membership']['loss']['auc']:.3f} (loss), "
          f"{res['membership']['lira']['auc']:.3f} (likelihood ratio)")
    print(f"audit written to {res['out_dir']}; model card {res['card']}")


def check_sections(cfg) -> None:
    """Values of ``[fairness]`` and ``[privacy]`` (types are checked by the schema)."""
    from .fair_train import check_mitigation
    check_mitigation(cfg)  # [fairness] mitigation, strength, constraint
    p = cfg.get("privacy") or {}
    if p:
        if ("epsilon" in p) == ("noise_multiplier" in p):
            raise ConfigError("config: [privacy] needs exactly one of epsilon = E or "
                              "noise_multiplier = S")
        if not 0 < p.get("delta", 1e-5) < 1 or p.get("max_grad_norm", 1.0) <= 0:
            raise ConfigError(f"config: [privacy] needs 0 < delta < 1 and max_grad_norm > 0, "
                              f"got delta={p.get('delta')}, max_grad_norm="
                              f"{p.get('max_grad_norm')}")
        if p.get("epsilon", 1.0) <= 0:
            raise ConfigError(f"config: privacy.epsilon must be > 0, got {p['epsilon']}")
        from ..privacy import ACCOUNTANTS
        if p.get("accountant", "rdp") not in ACCOUNTANTS:
            raise ConfigError(f"config: privacy.accountant {p['accountant']!r} is not one of "
                              f"{ACCOUNTANTS}")
        if cfg.get("adversarial"):  # both replace the training step: one would be dropped
            raise ConfigError("config: [privacy] and [adversarial] cannot be combined (DP-SGD "
                              "and adversarial training each replace the training step)")


def privatize(cfg, trainer, loader, callbacks):
    """Turn a ``lamina train`` Trainer into a DP-SGD one when ``[privacy]`` is set.

    Returns:
        the loader to fit (Poisson-sampled when private).
    """
    check_sections(cfg)
    p = cfg.get("privacy")
    if not p:
        return loader
    from ..privacy import PrivacyMeter, dp_step, make_private
    try:
        gsm, opt, loader = make_private(
            trainer.model, trainer.optimizer, loader, target_epsilon=p.get("epsilon"),
            noise_multiplier=p.get("noise_multiplier"), target_delta=p.get("delta", 1e-5),
            epochs=cfg["train"]["epochs"], max_grad_norm=p.get("max_grad_norm", 1.0),
            seed=cfg["train"]["seed"], accountant=p.get("accountant", "rdp"))
    except (TypeError, ValueError) as e:  # unsupported layers, an unreachable budget
        raise ConfigError(f"config: [privacy]: {e}") from None
    trainer.model, trainer.optimizer, trainer.step_fn = gsm, opt, dp_step
    callbacks.append(PrivacyMeter(delta=p.get("delta", 1e-5)))
    return loader


def after_train(run_dir, cfg, trainer) -> None:
    """``privacy.json`` for DP runs; audit and model card when ``[fairness] sensitive``."""
    from ..io import atomic_write, model_card
    opt, run_dir = trainer.optimizer, Path(run_dir)
    if getattr(opt, "accountant", None) is not None:
        delta = cfg["privacy"].get("delta", 1e-5)
        info = {"epsilon": opt.accountant.get_epsilon(delta), "delta": delta,
                "noise_multiplier": opt.noise_multiplier, "max_grad_norm": opt.max_grad_norm,
                "sample_rate": opt.sample_rate, "accountant": opt.accountant.mechanism(),
                "steps": sum(h[2] for h in opt.accountant.history)}
        atomic_write(run_dir / "privacy.json", json.dumps(info, indent=2))
        print(f"privacy: epsilon {info['epsilon']:.3f} at delta {delta:g}")
    col = (cfg.get("fairness") or {}).get("sensitive")
    if col:
        _print(audit(run_dir, col))
    elif cfg.get("privacy"):
        model_card(run_dir)


def _sensitive(cfg, arch, col, n_test):
    """The test split's values of column ``col``."""
    from .. import backend as B
    from .. import datasets
    from .data import prepare_data
    np = B.np
    d = cfg["data"]
    if d.get("dataset") == "hmda":
        split = datasets.load("hmda", test_size=d.get("test_size", 0.2), seed=cfg["train"]["seed"])
        extras = split.extras["sensitive_test"]
        if col in extras:
            return np.asarray(extras[col])
    names = ((arch.get("data") or {}).get("inputs") or {}).get("columns") or []
    rd = prepare_data(cfg)
    if col not in names:
        raise ConfigError(f"audit: expected --sensitive to name a protected attribute or a "
                          f"feature column ({', '.join(map(str, names)) or 'none'}), got {col!r}")
    x = np.asarray(rd.x_test).reshape(n_test, -1)
    vals = x[:, names.index(col)]
    if len(np.unique(vals)) > 20:
        raise ConfigError(f"audit: column {col!r} has {len(np.unique(vals))} distinct values; "
                          "expected a categorical attribute (<= 20 groups)")
    return vals


def audit(run_dir, sensitive: str, out=None) -> dict:
    """The ``lamina audit`` work; returns the fairness report plus ``membership``,
    ``out_dir`` and ``card``."""
    from ..fairness import fairness_report
    from ..io import atomic_write, model_card
    from ..privacy import membership_inference
    from .data import prepare_data
    from .runs import load_run
    model, cfg, arch = load_run(run_dir)
    if arch.get("task") != "classification" or arch.get("n_out") != 2:
        raise ConfigError(f"audit: expected a binary classification run, got task "
                          f"{arch.get('task')!r} with {arch.get('n_out')} outputs")
    rd = prepare_data(cfg)
    a = _sensitive(cfg, arch, sensitive, len(rd.x_test))
    out_dir = Path(out) if out else Path(run_dir) / "audit"
    rep = fairness_report(model, (rd.x_test, rd.y_test), a, out_dir=out_dir,
                          sensitive_name=sensitive)
    mia = membership_inference(model, (rd.x_train, rd.y_train), (rd.x_test, rd.y_test))
    _plot_roc(mia, out_dir / "membership.png")
    frame = rep["frame"]
    atomic_write(out_dir / "fairness.json", json.dumps({
        "sensitive": sensitive, "summary": rep["summary"], "markdown": rep["markdown"],
        "by_group": {m: {str(g): v for g, v in t.items()} for m, t in frame._table.items()},
        "group_sizes": {str(g): n for g, n in frame.group_sizes.items()},
        "tradeoff": rep["tradeoff"]}, indent=2))
    atomic_write(out_dir / "membership.json", json.dumps({
        k: ({"auc": v["auc"], "tpr_at_fpr": {str(f): t for f, t in v["tpr_at_fpr"].items()}}
            if isinstance(v, dict) else v) for k, v in mia.items()}, indent=2))
    card = model_card(run_dir)
    rep.update(membership=mia, out_dir=out_dir, card=card)
    return rep


def _plot_roc(mia, path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(4.8, 4.2), dpi=100)
    for k in ("loss", "lira"):
        ax.plot(mia[k]["fpr"], mia[k]["tpr"], label=f"{k} (AUC {mia[k]['auc']:.3f})")
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("Membership inference (train vs test)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)

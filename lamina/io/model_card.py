"""Model cards (Mitchell et al. 2019): a Markdown record of what a run is and is not for.

``model_card(run_dir)`` reads the files a ``lamina train`` run directory holds (``config.toml``,
``model.json``, ``metrics.json``, ``history.csv``) and, when present, what ``lamina audit``
and DP training add (``audit/fairness.json``, ``audit/membership.json``, ``privacy.json``),
and writes ``MODEL_CARD.md``: model details, intended use, data, metrics overall and by group,
calibration, privacy budget, and limitations. Sections without evidence say so instead of
being left out, so a missing audit is visible.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from .atomic import atomic_write

__all__ = ["model_card"]


def _read_json(path: Path):
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return None


def _fmt(v) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def _metrics_rows(metrics: dict) -> list:
    rows = ["| metric | value |", "|---|---|"]
    for k, v in metrics.items():
        if isinstance(v, (int, float)):
            rows.append(f"| {k} | {_fmt(v)} |")
    return rows


def model_card(run_dir, intended_use: str | None = None, limitations=(),
               out: str | None = None) -> Path:
    """Write ``MODEL_CARD.md`` for a finished run directory.

    Args:
        run_dir (str or Path): a ``lamina train`` run directory.
        intended_use (str, optional): who should use the model for what; default: the
            config's ``[fairness] intended_use``, else a placeholder that asks for it.
        limitations (sequence of str): extra limitations to list. Default ().
        out (str, optional): output path. Default ``RUN_DIR/MODEL_CARD.md``.

    Returns:
        Path: the card's path.

    Raises:
        FileNotFoundError: ``run_dir`` has no ``config.toml``.

    Example:
        >>> lamina.io.model_card("runs/hmda-mlp-20260101-120000")
    """
    run = Path(run_dir)
    cfg_path = run / "config.toml"
    if not cfg_path.exists():
        raise FileNotFoundError(f"model_card: expected a run directory with config.toml, got "
                                f"{run}")
    cfg = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
    arch = _read_json(run / "model.json") or {}
    metrics = _read_json(run / "metrics.json") or {}
    fair = _read_json(run / "audit" / "fairness.json")
    mia = _read_json(run / "audit" / "membership.json")
    priv = _read_json(run / "privacy.json")
    fsec = cfg.get("fairness", {})
    data = cfg.get("data", {})
    source = data.get("dataset") or data.get("csv", "?")
    desc = (arch.get("data") or {}).get("description", "")
    use = intended_use or fsec.get("intended_use") or (
        "_Not stated: say who may use this model, for which decisions, and who reviews them._")
    tr = cfg.get("train", {})
    lines = [f"# Model card: {cfg.get('name', run.name)}", "",
             "## Model details", "",
             f"- Architecture: `{json.dumps(cfg.get('model', {}))}`; input shape "
             f"{arch.get('input_shape')}, {arch.get('n_out')} outputs ({arch.get('task')}).",
             f"- Optimizer: `{json.dumps(cfg.get('optim', {}))}`; "
             f"{tr.get('epochs')} epochs, seed {tr.get('seed')}.",
             f"- Trained with lamina; run directory `{run.name}`.", "",
             "## Intended use", "", use, "",
             "## Data", "", f"- Source: `{source}`. {desc}",
             f"- Test fraction {data.get('test_size', 0.2)}, validation fraction "
             f"{data.get('val_size', 0.0)}; class names {arch.get('class_names')}.", "",
             "## Metrics (test split)", ""]
    lines += _metrics_rows(metrics) if metrics else ["_No metrics.json in the run._"]
    lines += ["", "## Metrics by group", ""]
    if fair:
        md = fair.get("markdown", "").replace("\n## ", "\n### ")
        lines += [("#" + md) if md.startswith("## ") else md, ""]
    elif fsec.get("sensitive"):
        lines += [f"_Sensitive column `{fsec['sensitive']}` named but not audited yet: run "
                  f"`lamina audit {run} --sensitive {fsec['sensitive']}`._", ""]
    else:
        lines += ["_No group audit: no sensitive column was named._", ""]
    lines += ["## Calibration", ""]
    ece = {k: v for k, v in metrics.items() if "ece" in k.lower() or "calibration" in k}
    lines += (_metrics_rows(ece) if ece else ["_Not measured._"]) + [""]
    lines += ["## Privacy", ""]
    if priv:
        lines += [f"- Trained with DP-SGD: epsilon = {_fmt(priv.get('epsilon'))} at delta = "
                  f"{priv.get('delta')} ({priv.get('accountant', 'rdp')} accountant), noise "
                  f"multiplier {_fmt(priv.get('noise_multiplier'))}, per-example clipping norm "
                  f"{priv.get('max_grad_norm')}, sampling rate {_fmt(priv.get('sample_rate'))}."]
    else:
        lines += ["- Not trained with differential privacy: training examples may be "
                  "memorised."]
    if mia:
        for k in ("loss", "lira"):
            if k in mia:
                lines.append(f"- Membership inference ({k} attack): AUC {_fmt(mia[k]['auc'])}, "
                             f"TPR at 1% FPR {_fmt(mia[k]['tpr_at_fpr'].get('0.01', 0.0))}.")
    lines += ["", "## Limitations", "",
              "- Metrics come from one test split; small groups have wide sampling error.",
              "- Group metrics describe associations in this data, not causes; a model that "
              "meets one fairness criterion generally violates others.",
              "- The data reflects the period and place it was collected in; decisions about "
              "people need human review and a way to contest them."]
    lines += [f"- {item}" for item in limitations]
    path = Path(out) if out else run / "MODEL_CARD.md"
    atomic_write(path, "\n".join(lines) + "\n")
    return path

"""What a study leaves behind: the best config (TOML), a trials CSV and Optuna's plots."""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path

from ..io.toml import dumps_toml
from .space import apply_params

__all__ = ["write_outputs", "to_toml", "trials_table", "pruned_epoch_savings"]


def to_toml(cfg: dict) -> str:
    """A run config (scalars, lists, one level of tables, arrays of tables) as TOML text
    (:func:`lamina.io.toml.dumps_toml`)."""
    return dumps_toml(cfg)


def trials_table(study) -> list[dict]:
    """One row per trial: number, state, value, epochs run, seconds, each parameter."""
    names = sorted({k for t in study.trials for k in t.params})
    rows = []
    for t in study.trials:
        secs = (t.datetime_complete - t.datetime_start).total_seconds() \
            if t.datetime_complete and t.datetime_start else None
        row = {"number": t.number, "state": t.state.name, "value": t.value,
               "epochs": t.user_attrs.get("epochs"), "seconds": secs}
        row.update({f"param_{k}": t.params.get(k) for k in names})
        rows.append(row)
    return rows


def pruned_epoch_savings(study, max_epochs: int) -> float:
    """Fraction of the epoch budget (``max_epochs`` per finished trial) the pruner saved."""
    done = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    if not done:
        return 0.0
    used = sum(int(t.user_attrs.get("epochs", max_epochs)) for t in done)
    return 1.0 - used / (max_epochs * len(done))


def _plot(fn, study, path, **kw) -> bool:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ax = fn(study, **kw)
    except (ValueError, RuntimeError, ZeroDivisionError):  # too few finished trials
        plt.close("all")
        return False
    fig = (ax.flat[0] if hasattr(ax, "flat") else ax).figure
    fig.set_size_inches(6.4, 4.2)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return True


def write_outputs(study, base_config: dict, out_dir) -> dict:
    """Write ``best_config.toml``, ``trials.csv`` and ``history.png``, ``importances.png``,
    ``parallel.png`` (each plot when the study has enough finished trials).

    Args:
        study (optuna.Study): the finished study.
        base_config (dict): the config the trials modified.
        out_dir (str | PathLike): created when missing.

    Returns:
        dict: name -> written path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    rows = trials_table(study)
    if rows:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
        (out / "trials.csv").write_text(buf.getvalue(), encoding="utf-8")
        written["trials"] = out / "trials.csv"
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    if not complete:
        return written
    dists = study.best_trial.distributions
    params = {k: (_decode_json(v) if hasattr(dists.get(k), "choices") else v)
              for k, v in study.best_params.items()}
    best = apply_params(base_config, params)
    (out / "best_config.toml").write_text(to_toml(best), encoding="utf-8")
    written["best_config"] = out / "best_config.toml"
    from optuna.visualization import matplotlib as vis
    for name, fn in (("history", vis.plot_optimization_history),
                     ("importances", vis.plot_param_importances),
                     ("parallel", vis.plot_parallel_coordinate),
                     ("intermediate", vis.plot_intermediate_values)):
        if _plot(fn, study, out / f"{name}.png"):
            written[name] = out / f"{name}.png"
    return written


def _decode_json(v):
    import json
    if isinstance(v, str) and v[:1] in "[{":
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v

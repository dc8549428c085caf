"""``lamina tune CONFIG --space SPACE.toml``: Optuna search whose trials are ``lamina train`` runs.

Writes ``OUT/trials/trial-NNNN-*/`` (one ordinary run directory per trial), ``OUT/trials.csv``,
``OUT/best_config.toml`` and Optuna's plots as PNGs. ``--storage sqlite:///study.db --study NAME``
shares the study between ``--workers`` processes (or machines, with a server RDB) and lets a
killed search continue where it stopped.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

__all__ = ["register", "run", "train_config"]


def register(subparsers) -> None:
    """Add the ``tune`` subcommand to the ``lamina`` parser."""
    p = subparsers.add_parser("tune", help="hyper-parameter search (Optuna) over lamina train "
                              "runs")
    p.add_argument("config", nargs="?", help="TOML run config (the search's starting point)")
    p.add_argument("--space", required=True, help="SPACE.toml: a table per dotted config key")
    p.add_argument("--trials", type=int, default=30, help="finished trials wanted (default 30)")
    p.add_argument("--sampler", default="tpe", choices=("tpe", "random", "grid", "cmaes"))
    p.add_argument("--pruner", default="median", choices=("median", "hyperband", "none"))
    p.add_argument("--storage", help="sqlite:///study.db, an RDB URL or journal:///file.log")
    p.add_argument("--study", default="lamina", help="study name in the storage")
    p.add_argument("--workers", type=int, default=1, help="processes sharing the study")
    p.add_argument("--metric", default="val_accuracy", help="epoch log key to optimise")
    p.add_argument("--direction", default="maximize", choices=("maximize", "minimize"))
    p.add_argument("--seed", type=int, default=0, help="sampler seed")
    p.add_argument("--out", default="tune", help="output directory (default ./tune)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value before the search (repeatable)")
    p.set_defaults(func=run)


def train_config(cfg: dict, callbacks, name: str):
    """One trial: write ``cfg`` as a run config and train it as ``lamina train`` does.

    Args:
        cfg (dict): the trial's full config (``train.out_dir`` decides where the run goes).
        callbacks (list): extra Trainer callbacks (the trial reporter).
        name (str): the run's name prefix.

    Returns:
        Path: the run directory.
    """
    from .commands import train
    from .config import dumps_toml, validate
    cfg = validate({**cfg, "name": name})
    out = Path(cfg["train"].get("out_dir", "runs"))
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.toml"
    path.write_text(dumps_toml(cfg), encoding="utf-8")
    with contextlib.redirect_stdout(io.StringIO()):
        return train(str(path), (), verbose=0, extra_callbacks=list(callbacks))


def run(args) -> int:
    """Run the search; prints the best value and where the outputs went."""
    from ..tune import load_space, pruned_epoch_savings, tune
    from .config import apply_overrides, load_config, validate
    if args.trials < 1 or args.workers < 1:
        raise ValueError(f"lamina tune: expected --trials >= 1 and --workers >= 1, got "
                         f"{args.trials} and {args.workers}")
    cfg = validate(apply_overrides(load_config(args.config), args.set))
    out = Path(args.out)
    cfg["train"]["out_dir"] = str((out / "trials").resolve())
    space = load_space(args.space)
    study = tune(cfg, space, args.trials, "lamina.cli.cmd_tune:train_config",
                 sampler=args.sampler, pruner=args.pruner, storage=args.storage,
                 study_name=args.study, metric=args.metric, direction=args.direction,
                 seed=args.seed, workers=args.workers, out_dir=out)
    states = [t.state.name for t in study.trials]
    saved = pruned_epoch_savings(study, cfg["train"]["epochs"])
    print(f"{len(states)} trials: {states.count('COMPLETE')} complete, "
          f"{states.count('PRUNED')} pruned ({saved:.0%} of the epoch budget saved)")
    if states.count("COMPLETE"):
        from ..tune.output import _decode_json
        best = {k: _decode_json(v) for k, v in study.best_params.items()}
        print(f"best {args.metric} {study.best_value:.4f} with {best}")
        print(f"best config written to {out / 'best_config.toml'}")
    return 0
